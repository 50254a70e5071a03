//! Oracle guard rails, for Pyth legacy price accounts (real layout) and the settable oracle.
use integration_tests::adversarial::{assert_refused, index_of, with_account};
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::OracleKind;
use pyth_sdk_solana::state::PriceStatus;

const PRICE: i64 = 25_000_000; // $25 at expo -6

async fn pyth_market(env: &mut TestEnv) -> MarketCookie {
    env.create_market_with(market_args("PYTH", OracleKind::PythLegacy), PRICE).await
}

#[tokio::test]
async fn pyth_price_is_read_in_real_layout() {
    let mut env = TestEnv::new().await;
    let m = pyth_market(&mut env).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
    // $25 per whole unit, one unit per lot, 6 quote decimals.
    assert_eq!(env.market_state(&m.market).await.index_price.get(), I80F48::from_num(25_000_000));
}

#[tokio::test]
async fn pyth_guard_rails() {
    let mut env = TestEnv::new().await;
    let m = pyth_market(&mut env).await;
    let update = sdk::update_funding(&m.market, &m.oracle);
    let now = env.now().await;

    // Older than the market's 60 s.
    env.write_pyth(&m.oracle, PRICE, 0, -6, now - 61, PriceStatus::Trading);
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::StaleOracle), "stale").await;
    // Confidence wider than 2%.
    env.write_pyth(&m.oracle, PRICE, PRICE as u64 / 49, -6, now, PriceStatus::Trading);
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::OracleConfidenceTooWide), "uncertain")
        .await;
    // Zero and negative prices.
    env.write_pyth(&m.oracle, 0, 0, -6, now, PriceStatus::Trading);
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::NonPositiveOraclePrice), "zero").await;
    env.write_pyth(&m.oracle, -5, 0, -6, now, PriceStatus::Trading);
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::NonPositiveOraclePrice), "negative")
        .await;
    // Not trading (halted feed).
    env.write_pyth(&m.oracle, PRICE, 0, -6, now, PriceStatus::Halted);
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::OracleNotTrading), "halted").await;
    // Right layout, wrong account.
    let other = anchor_lang::prelude::Pubkey::new_unique();
    env.write_pyth(&other, PRICE, 0, -6, now, PriceStatus::Trading);
    let wrong = with_account(&update, index_of(&update, &m.oracle), other);
    assert_refused(&mut env, &[wrong], &[], code(PerpError::WrongOracle), "wrong oracle").await;
    // Fresh again: accepted.
    env.write_pyth(&m.oracle, PRICE, 1, -6, now, PriceStatus::Trading);
    env.process(&[update], &[]).await.expect("fresh price");
}

#[tokio::test]
async fn settable_oracle_guard_rails() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SET", PRICE).await;
    let update = sdk::update_funding(&m.market, &m.oracle);
    env.warp(61).await;
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::StaleOracle), "stale").await;
    env.set_price(&m, -1).await;
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::NonPositiveOraclePrice), "negative")
        .await;
    let auth = env.oracle_authority.insecure_clone();
    env.process(
        &[sdk::set_oracle_price(&solana_signer::Signer::pubkey(&auth), &m.oracle, PRICE, PRICE as u64 / 10)],
        &[&auth],
    )
    .await
    .unwrap();
    assert_refused(&mut env, std::slice::from_ref(&update), &[], code(PerpError::OracleConfidenceTooWide), "uncertain")
        .await;
    // Only its authority writes it.
    let stranger = solana_keypair::Keypair::new();
    let ix = sdk::set_oracle_price(&solana_signer::Signer::pubkey(&stranger), &m.oracle, 1, 0);
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotOracleAuthority), "stranger writes").await;
    env.set_price(&m, PRICE).await;
    env.process(&[update], &[]).await.expect("fresh");
}

#[tokio::test]
async fn a_market_refuses_an_oracle_of_another_kind() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SET", PRICE).await;
    // A Pyth market whose oracle slot gets the settable oracle: wrong owner for its kind.
    let args = market_args("BAD", OracleKind::PythLegacy);
    let admin = env.admin.insecure_clone();
    let ix = sdk::create_market(&solana_signer::Signer::pubkey(&admin), &env.exchange, &m.oracle, args);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::WrongOwner), "kind mismatch").await;
}
