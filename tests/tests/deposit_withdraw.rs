//! Deposits and withdrawals through the real SPL Token program.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::Side;

const PRICE: u64 = 1_000_000;

#[tokio::test]
async fn deposit_and_withdraw_round_trip_creates_no_value() {
    let mut env = TestEnv::new().await;
    let user = env.create_user(500 * ONE_USDC).await;
    let before = invariants::check(&mut env).await;
    for amount in [1, 7, 123_456_789, 500 * ONE_USDC - 123_456_797] {
        env.deposit(&user, amount).await.unwrap();
        env.withdraw(&user, amount).await.unwrap();
    }
    env.deposit(&user, 250 * ONE_USDC).await.unwrap();
    assert_eq!(env.collateral(&user.margin_account).await, 250_000_000);
    assert_eq!(env.token_balance(&user.token_account).await, 250 * ONE_USDC);
    env.withdraw(&user, 250 * ONE_USDC).await.unwrap();
    assert_eq!(env.token_balance(&user.token_account).await, 500 * ONE_USDC, "every token came back");
    assert_eq!(env.collateral(&user.margin_account).await, 0);
    let after = invariants::check(&mut env).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn withdraw_is_refused_below_initial_margin() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let user = env.funded_user(100 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&user, &maker, &m, Side::Bid, 500, PRICE).await.unwrap();
    // Collateral 100 - 500 - 0.25 fee = -400.25; value 500; initial requirement 50.
    // Free: -400.25 + 500 - 50 = 49.75 USDC.
    let health = env.health_metas(&user.margin_account, &[]).await;
    let too_much = sdk::withdraw(
        &user.key(),
        &env.exchange,
        &env.mint,
        &user.margin_account,
        &user.token_account,
        49_750_001,
        health.clone(),
    );
    assert_refused(&mut env, &[too_much], &[&user.owner], code(PerpError::InsufficientInitialMargin), "over-withdraw")
        .await;
    // Without its market's health accounts the check cannot run.
    let blind =
        sdk::withdraw(&user.key(), &env.exchange, &env.mint, &user.margin_account, &user.token_account, 1, vec![]);
    assert_refused(&mut env, &[blind], &[&user.owner], code(PerpError::HealthAccountsMismatch), "no health accounts")
        .await;
    env.withdraw(&user, 49_750_000).await.expect("exactly the free collateral");
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn deposits_are_refused_for_wrong_mints_and_zero() {
    let mut env = TestEnv::new().await;
    let user = env.create_user(10 * ONE_USDC).await;
    let ix = sdk::deposit(&user.key(), &env.exchange, &env.mint, &user.margin_account, &user.token_account, 0);
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::ZeroAmount), "zero").await;
    // More than the wallet holds: the token program refuses, nothing moves.
    let ix =
        sdk::deposit(&user.key(), &env.exchange, &env.mint, &user.margin_account, &user.token_account, 11 * ONE_USDC);
    let before = env.account_data(&user.margin_account).await;
    assert!(env.process(&[ix], &[&user.owner]).await.is_err());
    assert_eq!(env.account_data(&user.margin_account).await, before);
    invariants::check(&mut env).await;
}
