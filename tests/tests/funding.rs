//! Funding: `I += T*R*P`, each account settles `-(I1 - I0) * position`, zero-sum up to
//! protocol-favouring dust held in the market's funding pool.
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::math::funding;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::Side;
use solana_signer::Signer;

const PRICE: i64 = 1_000_000; // $1.00 per lot (expo -6, lot = one whole base unit)

async fn set_rate(
    env: &mut TestEnv,
    m: &MarketCookie,
    rate: i64,
) -> Result<TxOutput, solana_transaction_error::TransactionError> {
    let auth = env.funding_authority.insecure_clone();
    let ix = sdk::set_funding_rate(&auth.pubkey(), &env.exchange, &m.market, &m.oracle, rate);
    env.process(&[ix], &[&auth]).await
}

async fn settle(env: &mut TestEnv, m: &MarketCookie, account: &anchor_lang::prelude::Pubkey) {
    let ix = sdk::settle_funding(&m.market, &m.oracle, account);
    env.process(&[ix], &[]).await.expect("settle funding");
}

#[tokio::test]
async fn funding_moves_exactly_t_r_p_times_position() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE).await;
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let short = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 100, PRICE as u64).await.unwrap();

    // 36_000 ppb/h = 1e-8 per second.
    set_rate(&mut env, &m, 36_000).await.unwrap();
    let index0 = env.market_state(&m.market).await.funding_index.get();
    let (c_long0, c_short0) = (env.collateral(&long.margin_account).await, env.collateral(&short.margin_account).await);

    env.warp(3_600).await;
    env.set_price(&m, PRICE).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
    let index1 = env.market_state(&m.market).await.funding_index.get();
    // T * R * P = 3600 s * 1e-8 /s * 1_000_000 per lot = 36 per lot.
    assert_eq!(index1 - index0, I80F48::from_num(36));

    settle(&mut env, &m, &long.margin_account).await;
    settle(&mut env, &m, &short.margin_account).await;
    let c_long1 = env.collateral(&long.margin_account).await;
    let c_short1 = env.collateral(&short.margin_account).await;
    assert_eq!(c_long1 - c_long0, -3_600, "the long pays 36 * 100");
    assert_eq!(c_short1 - c_short0, 3_600, "the short receives 36 * 100");
    assert_eq!(env.market_state(&m.market).await.funding_pool, 0);
    for a in [long.margin_account, short.margin_account] {
        assert_eq!(env.position(&a, &m.market).await.cached_funding_index.get(), index1);
    }

    // Settling again at the same index moves nothing (idempotent cranks).
    settle(&mut env, &m, &long.margin_account).await;
    assert_eq!(env.collateral(&long.margin_account).await, c_long1);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn fractional_funding_rounds_for_the_protocol() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE).await;
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let short = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 100, PRICE as u64).await.unwrap();
    set_rate(&mut env, &m, -10_000).await.unwrap(); // shorts pay longs
    let i0 = env.market_state(&m.market).await.funding_index.get();
    let (c_long0, c_short0) = (env.collateral(&long.margin_account).await, env.collateral(&short.margin_account).await);

    env.warp(7).await;
    settle(&mut env, &m, &short.margin_account).await;
    settle(&mut env, &m, &long.margin_account).await;
    let i1 = env.market_state(&m.market).await.funding_index.get();
    let expected_delta = funding::index_delta(7, -10_000, I80F48::from_num(PRICE)).unwrap();
    assert_eq!(i1 - i0, expected_delta);
    // 1e6 * 7 * -1e4 / 3.6e12 = -0.01944.. per lot; times 100 lots = 1.944.. exact
    let owed_short = funding::owed(i1, i0, -100).unwrap();
    assert!(owed_short > I80F48::from_num(1.94) && owed_short < I80F48::from_num(1.95));
    let d_short = env.collateral(&short.margin_account).await - c_short0;
    let d_long = env.collateral(&long.margin_account).await - c_long0;
    assert_eq!(d_short, -2, "the payer pays the exact amount rounded up");
    assert_eq!(d_long, 1, "the receiver gets the exact amount rounded down");
    let pool = env.market_state(&m.market).await.funding_pool;
    assert_eq!(pool, 1, "the pool keeps the dust");
    assert_eq!(d_short + d_long + pool, 0, "paid equals received plus dust");
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn funding_rate_bounds_and_authority() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE).await;
    // max |R| is 1_000_000 ppb/h; max change 500_000 per window.
    let code_too_large = set_rate(&mut env, &m, 1_000_001).await.unwrap_err();
    assert_eq!(custom_code(&code_too_large), Some(code(PerpError::FundingRateTooLarge)));
    let too_fast = set_rate(&mut env, &m, 600_000).await.unwrap_err();
    assert_eq!(custom_code(&too_fast), Some(code(PerpError::FundingRateChangeTooLarge)));
    set_rate(&mut env, &m, 500_000).await.unwrap();
    // Within a window the change is measured from the rate at the window's start (0 here):
    // -400_000 is allowed, -600_000 is not.
    set_rate(&mut env, &m, -400_000).await.unwrap();
    let again = set_rate(&mut env, &m, -600_000).await.unwrap_err();
    assert_eq!(custom_code(&again), Some(code(PerpError::FundingRateChangeTooLarge)));
    env.warp(3_600).await;
    env.set_price(&m, PRICE).await;
    set_rate(&mut env, &m, 0).await.unwrap();

    let stranger = solana_keypair::Keypair::new();
    let ix = sdk::set_funding_rate(&stranger.pubkey(), &env.exchange, &m.market, &m.oracle, 10);
    adversarial::assert_refused(
        &mut env,
        &[ix],
        &[&stranger],
        code(PerpError::NotFundingAuthority),
        "stranger sets rate",
    )
    .await;
    invariants::check(&mut env).await;
}
