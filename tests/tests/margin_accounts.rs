//! Margin accounts: PDA per (owner, number), capacity chosen at creation and grown later.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::state::MarginAccount;
use perpetual::Side;
use solana_signer::Signer;

#[tokio::test]
async fn capacity_is_chosen_and_grows() {
    let mut env = TestEnv::new().await;
    let user = env.create_user(0).await;
    let (h, p) = env.margin(&user.margin_account).await;
    assert_eq!((h.owner, h.position_capacity, p.len()), (user.key(), 16, 16));
    assert_eq!(env.account_data(&user.margin_account).await.len(), MarginAccount::space(16));

    let ix = sdk::create_margin_account(&user.key(), &env.exchange, 1, 15);
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::InvalidCapacity), "capacity below 16").await;

    let ix = sdk::resize_margin_account(&user.key(), &env.exchange, &user.margin_account, 40);
    env.process(&[ix], &[&user.owner]).await.unwrap();
    let (h, p) = env.margin(&user.margin_account).await;
    assert_eq!((h.position_capacity, p.len()), (40, 40));
    let ix = sdk::resize_margin_account(&user.key(), &env.exchange, &user.margin_account, 40);
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::InvalidCapacity), "no growth").await;
    let stranger = solana_keypair::Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let ix = sdk::resize_margin_account(&stranger.pubkey(), &env.exchange, &user.margin_account, 50);
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotOwner), "stranger grows").await;
}

#[tokio::test]
async fn a_full_account_refuses_a_new_market_until_it_grows() {
    let mut env = TestEnv::new().await;
    let user = env.funded_user(10_000 * ONE_USDC).await;
    let maker = env.funded_user(100_000 * ONE_USDC).await;
    let maker_big = sdk::resize_margin_account(&maker.key(), &env.exchange, &maker.margin_account, 32);
    env.process(&[maker_big], &[&maker.owner]).await.unwrap();
    let mut markets = vec![];
    for i in 0..17 {
        markets.push(env.create_market(&format!("M{i}"), 1_000_000).await);
    }
    for m in &markets[..16] {
        env.trade(&user, &maker, m, Side::Bid, 1, 1_000_000).await.unwrap();
    }
    let seventeenth = markets[16];
    env.reserve(&maker, &seventeenth, 0, 1).await.unwrap();
    let ix = env
        .settle_ix(
            &user,
            &seventeenth,
            &[maker.margin_account],
            vec![perpetual::Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 1, price_per_lot: 1_000_000 }],
            vec![],
            0,
            0,
        )
        .await;
    assert_refused(
        &mut env,
        std::slice::from_ref(&ix),
        &[&user.owner],
        code(PerpError::PositionCapacityReached),
        "17th market",
    )
    .await;
    env.process(&[sdk::resize_margin_account(&user.key(), &env.exchange, &user.margin_account, 17)], &[&user.owner])
        .await
        .unwrap();
    env.process(&[ix], &[&user.owner]).await.expect("fits after growing");
    assert_eq!(env.margin(&user.margin_account).await.1.iter().filter(|p| !p.is_free()).count(), 17);
    // Health over 17 markets in one instruction (34 health accounts).
    env.withdraw(&user, ONE_USDC).await.expect("withdraw checks all 17 markets");
    invariants::check(&mut env).await;
}
