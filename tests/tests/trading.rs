//! Settlement from approved traders, the dYdX margin rule, cross margin and reservations.
use anchor_lang::prelude::Pubkey;
use integration_tests::adversarial::{assert_refused, index_of, unsigned, with_account};
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::{Fill, FillResult, Side};
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot

fn fill(maker_index: u8, taker_side: Side, base_lots: u64, price_per_lot: u64) -> Fill {
    Fill { maker_index, taker_side, base_lots, price_per_lot }
}

#[tokio::test]
async fn revoked_and_unapproved_traders_cannot_settle() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&taker, &maker, &m, Side::Bid, 10, PRICE).await.expect("approved trader settles");
    env.reserve(&maker, &m, 0, 10).await.unwrap();

    // Unapproved: the approval slot names an account that is not an approval.
    let ix =
        env.settle_ix(&taker, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 10, PRICE)], vec![], 0, 0).await;
    let approval = sdk::approval_address(&env.exchange, &test_trader::ID);
    let bogus = with_account(&ix, index_of(&ix, &approval), env.vault);
    assert_refused(&mut env, &[bogus], &[&taker.owner], code(PerpError::TraderNotApproved), "unapproved").await;

    // A direct call cannot sign for the trader PDA.
    let direct = sdk::settle_fills(
        &sdk::SettleAccounts {
            exchange: env.exchange,
            trader_program: test_trader::ID,
            market: m.market,
            oracle: m.oracle,
            taker: taker.margin_account,
            taker_authority: taker.key(),
        },
        perpetual::sdk::SettleFillsArgs {
            maker_count: 1,
            fills: vec![fill(0, Side::Bid, 10, PRICE)],
            releases: vec![],
            taker_bid_delta: 0,
            taker_ask_delta: 0,
            liquidation: false,
        },
        &[maker.margin_account],
        vec![],
    );
    let direct = unsigned(&direct, 2);
    assert_refused(
        &mut env,
        &[direct],
        &[&taker.owner],
        anchor_code(anchor_lang::error::ErrorCode::AccountNotSigner),
        "direct call",
    )
    .await;

    // Revoked.
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::revoke_trader(&admin.pubkey(), &env.exchange, &test_trader::ID)], &[&admin]).await.unwrap();
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::TraderNotApproved), "revoked").await;
    invariants::check(&mut env).await;
}

/// A user long 150 lots at $1 with $20: below initial margin once the price is $0.90.
async fn under_margined_long(env: &mut TestEnv) -> (MarketCookie, UserCookie, UserCookie) {
    let m = env.create_market("SOL", PRICE as i64).await;
    let user = env.funded_user(20 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&user, &maker, &m, Side::Bid, 150, PRICE).await.unwrap();
    env.set_price(&m, 900_000).await;
    (m, user, maker)
}

#[tokio::test]
async fn margin_rule_refuses_worsening_and_allows_shrinking() {
    let mut env = TestEnv::new().await;
    let (m, user, maker) = under_margined_long(&mut env).await;

    // Growing the position of an under-margined account fails.
    env.reserve(&maker, &m, 0, 10).await.unwrap();
    let grow =
        env.settle_ix(&user, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 10, 900_000)], vec![], 0, 0).await;
    assert_refused(&mut env, &[grow], &[&user.owner], code(PerpError::MarginRuleViolated), "grow").await;

    // Flipping to short is not a shrink.
    // Selling 300 at $0.90 leaves short 150 with 139.79 collateral: below initial margin.
    env.reserve(&maker, &m, 300, 0).await.unwrap();
    let flip =
        env.settle_ix(&user, &m, &[maker.margin_account], vec![fill(0, Side::Ask, 300, 900_000)], vec![], 0, 0).await;
    assert_refused(&mut env, &[flip], &[&user.owner], code(PerpError::MarginRuleViolated), "flip").await;

    // Shrinking without flipping improves the ratio and passes although still under initial.
    let shrink =
        env.settle_ix(&user, &m, &[maker.margin_account], vec![fill(0, Side::Ask, 50, 900_000)], vec![], 0, 0).await;
    env.process(&[shrink], &[&user.owner]).await.expect("shrink passes");
    assert_eq!(env.position(&user.margin_account, &m.market).await.base_lots, 100);
    // $20 - 150 (bought) - 0.075 fee + 45 (sold) - 0.0225 fee = -85.0975
    assert_eq!(env.collateral(&user.margin_account).await, 20_000_000 - 150_000_000 - 75_000 + 45_000_000 - 22_500);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn cross_margin_one_deposit_two_markets() {
    let mut env = TestEnv::new().await;
    let x = env.create_market("XXX", PRICE as i64).await;
    let y = env.create_market("YYY", PRICE as i64).await;
    let user = env.funded_user(100 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&user, &maker, &x, Side::Bid, 300, PRICE).await.unwrap();
    env.trade(&user, &maker, &y, Side::Bid, 400, PRICE).await.unwrap();
    // Health now: 100 - 0.35 fees - 30 - 40 = 29.65. Bids of 150 in Y need 15 + 7.5 band.
    env.reserve(&user, &y, 150, 0).await.expect("bids backed by the shared deposit");
    env.reserve(&user, &y, -150, 0).await.unwrap();

    // A 10% loss on X (30) less its smaller requirement (3) leaves 2.65: the same bids fail.
    env.set_price(&x, 900_000).await;
    env.set_price(&y, PRICE as i64).await;
    let ix = env.reserve_ix(&user, &y, 150, 0).await;
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::InsufficientInitialMargin), "bids after loss")
        .await;
    // Smaller bids still fit: 10 lots need 1 + 0.5.
    env.reserve(&user, &y, 10, 0).await.expect("small bids fit");
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn reservations_back_maker_fills() {
    let mut env = TestEnv::new().await;
    let x = env.create_market("XXX", PRICE as i64).await;
    let y = env.create_market("YYY", PRICE as i64).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    let other = env.funded_user(1_000 * ONE_USDC).await;
    let poor = env.funded_user(10 * ONE_USDC).await;

    // A reservation the account cannot back is refused.
    let ix = env.reserve_ix(&poor, &x, 1_000, 0).await;
    assert_refused(&mut env, &[ix], &[&poor.owner], code(PerpError::InsufficientInitialMargin), "unbacked reservation")
        .await;

    // The maker holds positions in two markets and rests asks in X.
    env.trade(&maker, &other, &y, Side::Bid, 50, PRICE).await.unwrap();
    env.trade(&maker, &other, &x, Side::Bid, 20, PRICE).await.unwrap();
    env.reserve(&maker, &x, 0, 30).await.unwrap();
    assert_eq!(env.position(&maker.margin_account, &x.market).await.open_ask_lots, 30);

    // A reserved maker fill settles with only the maker's margin account passed, while an
    // unreserved maker (no asks) is refused per fill and the rest of the batch settles.
    let ix = env
        .settle_ix(
            &taker,
            &x,
            &[maker.margin_account, other.margin_account],
            vec![fill(0, Side::Bid, 25, PRICE), fill(1, Side::Bid, 5, PRICE)],
            vec![],
            0,
            0,
        )
        .await;
    let maker_metas: Vec<&Pubkey> = ix.accounts.iter().map(|m| &m.pubkey).filter(|k| **k == y.market).collect();
    assert!(maker_metas.is_empty(), "the maker's other market is not passed");
    let other_before = env.account_data(&other.margin_account).await;
    let out = env.process(&[ix], &[&taker.owner]).await.unwrap();
    assert_eq!(out.return_data, vec![FillResult::Applied as u8, FillResult::MakerReservationMissing as u8]);
    assert_eq!(env.account_data(&other.margin_account).await, other_before, "refused maker untouched");
    assert_eq!(env.position(&taker.margin_account, &x.market).await.base_lots, 25);
    let maker_pos = env.position(&maker.margin_account, &x.market).await;
    assert_eq!((maker_pos.base_lots, maker_pos.open_ask_lots), (-5, 5));

    // Cancelling a reservation needs no other markets: no health accounts at all.
    let ix = env.reserve_ix(&maker, &x, 0, -5).await;
    assert_eq!(ix.accounts.len(), 8);
    env.process(&[ix], &[&maker.owner]).await.expect("cancel without other markets");
    assert_eq!(env.position(&maker.margin_account, &x.market).await.open_ask_lots, 0);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn delegate_trades_but_cannot_withdraw() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let owner = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    let hot = solana_keypair::Keypair::new();
    env.airdrop(&hot.pubkey(), 1_000_000_000).await;
    let ix = sdk::set_delegate(&owner.key(), &env.exchange, &owner.margin_account, hot.pubkey());
    env.process(&[ix], &[&owner.owner]).await.unwrap();

    let as_delegate = UserCookie {
        owner: hot.insecure_clone(),
        token_account: owner.token_account,
        margin_account: owner.margin_account,
    };
    env.trade(&as_delegate, &maker, &m, Side::Bid, 10, PRICE).await.expect("delegate trades");
    assert_eq!(env.position(&owner.margin_account, &m.market).await.base_lots, 10);

    let health = env.health_metas(&owner.margin_account, &[]).await;
    let ix =
        sdk::withdraw(&hot.pubkey(), &env.exchange, &env.mint, &owner.margin_account, &owner.token_account, 1, health);
    assert_refused(&mut env, &[ix], &[&hot], code(PerpError::NotOwner), "delegate withdraws").await;

    // A stranger can neither trade nor reserve.
    let stranger = solana_keypair::Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let as_stranger =
        UserCookie { owner: stranger, token_account: owner.token_account, margin_account: owner.margin_account };
    let ix = env.reserve_ix(&as_stranger, &m, 1, 0).await;
    assert_refused(&mut env, &[ix], &[&as_stranger.owner], code(PerpError::NotOwnerOrDelegate), "stranger reserves")
        .await;
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn fills_outside_the_band_or_self_trades_are_refused() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&maker, &m, 0, 10).await.unwrap();
    let ix =
        env.settle_ix(&taker, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 10, 1_050_001)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::FillPriceOutsideBand), "band").await;
    let ix = env.settle_ix(&taker, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 0, PRICE)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::ZeroFillSize), "zero size").await;
    let ix = env.settle_ix(&taker, &m, &[maker.margin_account], vec![fill(1, Side::Bid, 1, PRICE)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::MakerIndexOutOfRange), "maker index").await;
    let ix = env.settle_ix(&maker, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 1, PRICE)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&maker.owner], code(PerpError::SelfTrade), "self trade").await;

    // Fees: taker pays 500 ppm rounded up, maker earns 100 ppm rounded down.
    let ix =
        env.settle_ix(&taker, &m, &[maker.margin_account], vec![fill(0, Side::Bid, 3, 1_000_001)], vec![], 0, 0).await;
    env.process(&[ix], &[&taker.owner]).await.unwrap();
    // notional 3_000_003: taker fee ceil(1500.0015) = 1501, maker rebate floor(300.0003) = 300
    assert_eq!(env.collateral(&taker.margin_account).await, 1_000 * ONE_USDC as i64 - 3_000_003 - 1_501);
    assert_eq!(env.collateral(&maker.margin_account).await, 1_000 * ONE_USDC as i64 + 3_000_003 + 300);
    assert_eq!(env.market_state(&m.market).await.fees_accrued, 1_201);
    invariants::check(&mut env).await;
}
