//! Fallback oracles and markets whose oracles are down (`docs/oracles.md`): the fallback
//! takes over when the primary fails, under its own guard rails, without a missed funding
//! or mark update; changing oracles is time-locked; and when every oracle fails, the market
//! traps no collateral: cancelling, reducing, closing and conservative withdrawals work,
//! nothing that adds risk there does.
use anchor_lang::prelude::Pubkey;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::error::BookError;
use orderbook::instructions::OrderType;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::sdk::SetOracleArgs;
use perpetual::state::{payload, GovAction, OracleSource};
use perpetual::{OracleKind, OracleSlot, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A settable price oracle for `symbol`, priced now.
async fn second_oracle(env: &mut TestEnv, m: &MarketCookie, symbol: &str, price: i64) -> MarketCookie {
    let auth = env.oracle_authority.insecure_clone();
    let symbol = sdk::symbol(symbol);
    env.process(&[sdk::create_price_oracle(&auth.pubkey(), symbol, m.expo)], &[&auth]).await.expect("oracle");
    // A cookie whose oracle is the fallback, to price it with `set_price`.
    let fallback = MarketCookie { oracle: sdk::price_oracle_address(&auth.pubkey(), &symbol), ..*m };
    env.set_price(&fallback, price).await;
    fallback
}

fn fallback_args(oracle: Pubkey) -> SetOracleArgs {
    SetOracleArgs {
        slot: OracleSlot::Fallback,
        oracle,
        kind: OracleKind::SetPrice,
        feed_id: None,
        max_age_secs: 120,
        max_conf_bps: 300,
    }
}

async fn set_fallback(env: &mut TestEnv, m: &MarketCookie, oracle: Pubkey) {
    let admin = env.admin.insecure_clone();
    let ix = sdk::set_oracle(&admin.pubkey(), &env.exchange, &m.market, fallback_args(oracle));
    env.process(&[ix], &[&admin]).await.expect("set the fallback");
}

async fn refresh(env: &mut TestEnv, m: &MarketCookie) -> OracleSource {
    let fallback = env.market_state(&m.market).await.fallback_oracle().map(|f| f.key).unwrap_or_default();
    env.process(&[sdk::refresh_oracle_source(&m.market, &m.oracle, &fallback)], &[]).await.expect("refresh");
    env.market_state(&m.market).await.oracle_source()
}

/// Points the harness's cookies (health accounts, the test trader, the book's venue) at the
/// oracle the market reads now.
async fn follow_active_oracle(env: &mut TestEnv, book: &mut BookCookie) {
    let active = env.market_state(&book.market.market).await.active_oracle();
    for m in env.markets.iter_mut().filter(|m| m.market == book.market.market) {
        m.oracle = active;
    }
    for b in env.books.iter_mut().filter(|b| b.market.market == book.market.market) {
        b.venue.oracle = active;
        b.market.oracle = active;
    }
    book.venue.oracle = active;
    book.market.oracle = active;
}

#[tokio::test]
async fn the_fallback_takes_over_when_the_primary_goes_stale_without_a_missed_update() {
    let mut env = TestEnv::new().await;
    let mut book = env.market_with_book("SOL", 64).await;
    let primary = book.market;
    let fallback = second_oracle(&mut env, &primary, "SOL-FB", 1_000_000).await;
    set_fallback(&mut env, &primary, fallback.oracle).await;
    let mm = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&mm, &book, BookSide::Bid, 99, 5).await;
    env.rest(&mm, &book, BookSide::Ask, 101, 5).await;
    env.align_to_minute().await;
    env.set_price(&primary, 1_000_000).await;
    env.set_price(&fallback, 1_000_000).await;

    // A refresh while the primary passes its rails keeps it: nobody can move a healthy
    // market to its fallback.
    assert_eq!(refresh(&mut env, &primary).await, OracleSource::Primary);

    // Ten minutes of cranks, one a minute: the primary stops publishing after minute 3, the
    // fallback publishes throughout (at +2% from minute 3, so the index shows its source).
    let mut sources = vec![];
    for minute in 0..10 {
        if minute > 0 {
            env.warp(60).await;
        }
        let now = env.now().await;
        if minute <= 3 {
            env.set_price(&primary, 1_000_000).await;
        }
        env.set_price(&fallback, if minute >= 3 { 1_020_000 } else { 1_000_000 }).await;
        let source = refresh(&mut env, &primary).await;
        follow_active_oracle(&mut env, &mut book).await;
        let active = env.market_state(&primary.market).await.active_oracle();
        env.process(&[sdk::update_funding(&primary.market, &active)], &[]).await.expect("funding every minute");
        env.sample_mark(&book).await.expect("a mark sample every minute");
        let m = env.market_state(&primary.market).await;
        assert_eq!((m.funding_last_update_ts, m.mark_last_sample_ts, m.index_ts), (now, now, now), "minute {minute}");
        sources.push(source);
    }
    // The primary is stale once its last price is over 60 s old (minute 5): the fallback's
    // price is the index from then on.
    use OracleSource::{Fallback, Primary};
    assert_eq!(
        sources,
        [Primary, Primary, Primary, Primary, Primary, Fallback, Fallback, Fallback, Fallback, Fallback]
    );
    let m = env.market_state(&primary.market).await;
    assert_eq!(m.index_price.get(), 1_020_000);
    assert_eq!(m.active_oracle(), fallback.oracle);

    // While the market reads its fallback, the primary is the wrong oracle.
    let ix = sdk::update_funding(&primary.market, &primary.oracle);
    assert_refused(&mut env, &[ix], &[], code(PerpError::WrongOracle), "the primary while on the fallback").await;

    // The primary publishes again: the next refresh returns to it.
    env.warp(60).await;
    env.set_price(&primary, 1_010_000).await;
    env.set_price(&fallback, 1_020_000).await;
    assert_eq!(refresh(&mut env, &primary).await, OracleSource::Primary);
    env.process(&[sdk::update_funding(&primary.market, &primary.oracle)], &[]).await.expect("back on the primary");
    assert_eq!(env.market_state(&primary.market).await.index_price.get(), 1_010_000);
}

#[tokio::test]
async fn a_fallback_is_read_only_within_its_own_guard_rails() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let fallback = second_oracle(&mut env, &m, "SOL-FB", 1_000_000).await;
    set_fallback(&mut env, &m, fallback.oracle).await;
    env.warp(61).await;
    // The primary is stale; the fallback's confidence is 5%, past its 3% rail: both fail.
    let auth = env.oracle_authority.insecure_clone();
    let wide = sdk::set_oracle_price(&auth.pubkey(), &fallback.oracle, 1_000_000, 50_000);
    env.process(&[wide], &[&auth]).await.expect("wide fallback");
    assert_eq!(refresh(&mut env, &m).await, OracleSource::Down);
    // Within its rails (3% exactly) it takes over.
    let ok = sdk::set_oracle_price(&auth.pubkey(), &fallback.oracle, 1_000_000, 30_000);
    env.process(&[ok], &[&auth]).await.expect("fallback within its rails");
    assert_eq!(refresh(&mut env, &m).await, OracleSource::Fallback);
    // Its own age limit (120 s) is longer than the primary's (60 s).
    env.warp(120).await;
    assert_eq!(refresh(&mut env, &m).await, OracleSource::Fallback);
    env.warp(1).await;
    assert_eq!(refresh(&mut env, &m).await, OracleSource::Down);

    // A refresh names the market's oracles exactly.
    let ix = sdk::refresh_oracle_source(&m.market, &m.oracle, &Pubkey::new_unique());
    assert_refused(&mut env, &[ix], &[], code(PerpError::WrongOracle), "another account as the fallback").await;
    let ix = sdk::refresh_oracle_source(&m.market, &fallback.oracle, &fallback.oracle);
    assert_refused(&mut env, &[ix], &[], code(PerpError::WrongOracle), "the fallback as the primary").await;

    // Bad settings are refused by name, the market unchanged.
    let admin = env.admin.insecure_clone();
    let set = |args: SetOracleArgs, env: &TestEnv| sdk::set_oracle(&admin.pubkey(), &env.exchange, &m.market, args);
    let same = set(fallback_args(m.oracle), &env);
    assert_refused(&mut env, &[same], &[&admin], code(PerpError::InvalidFallbackOracle), "fallback = primary").await;
    let rails = set(SetOracleArgs { max_age_secs: 0, ..fallback_args(fallback.oracle) }, &env);
    assert_refused(&mut env, &[rails], &[&admin], code(PerpError::ParameterOutOfRange), "zero max age").await;
    let kind = set(SetOracleArgs { kind: OracleKind::PythLegacy, ..fallback_args(fallback.oracle) }, &env);
    assert_refused(&mut env, &[kind], &[&admin], code(PerpError::WrongOwner), "not a Pyth account").await;
    let stranger = Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let ix = sdk::set_oracle(&stranger.pubkey(), &env.exchange, &m.market, fallback_args(fallback.oracle));
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotAdmin), "a stranger").await;

    // Removing the fallback: the market reads its primary again (and goes down with it).
    let remove =
        SetOracleArgs { oracle: Pubkey::default(), kind: OracleKind::None, ..fallback_args(Pubkey::default()) };
    env.process(&[set(remove, &env)], &[&admin]).await.expect("remove the fallback");
    let state = env.market_state(&m.market).await;
    assert_eq!((state.fallback_oracle(), state.oracle_source()), (None, OracleSource::Primary));
    assert_eq!(refresh(&mut env, &m).await, OracleSource::Down);
}

#[tokio::test]
async fn changing_oracles_goes_through_the_time_lock() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let fallback = second_oracle(&mut env, &m, "SOL-FB", 1_000_000).await;
    let admin = env.admin.insecure_clone();
    let delay = 2 * 86_400;
    env.process(&[sdk::set_timelock(&admin.pubkey(), &env.exchange, delay)], &[&admin]).await.expect("lock");
    let args = fallback_args(fallback.oracle);
    let change = sdk::set_oracle(&admin.pubkey(), &env.exchange, &m.market, args);
    let what = "a fallback without a proposal";
    assert_refused(&mut env, std::slice::from_ref(&change), &[&admin], code(PerpError::ProposalRequired), what).await;

    let id = env.exchange_state().await.proposal_count;
    let queued = payload(GovAction::SetOracle, &m.market, &args);
    env.process(&[sdk::queue_proposal(&admin.pubkey(), &env.exchange, id, queued)], &[&admin]).await.expect("queue");
    let with = sdk::with_proposal(change, &env.exchange, id);
    let early = code(PerpError::TimelockNotElapsed);
    assert_refused(&mut env, std::slice::from_ref(&with), &[&admin], early, "before the delay").await;
    // The proposal names the oracle account: another account cannot ride on it.
    let other = second_oracle(&mut env, &m, "SOL-FB2", 1_000_000).await;
    env.warp(delay).await;
    let swapped = integration_tests::adversarial::with_account(&with, 3, other.oracle);
    assert_refused(&mut env, &[swapped], &[&admin], code(PerpError::WrongOracle), "another oracle account").await;
    env.set_price(&fallback, 1_000_000).await;
    env.process(&[with], &[&admin]).await.expect("runs after the delay");
    assert_eq!(env.market_state(&m.market).await.fallback_oracle().map(|f| f.key), Some(fallback.oracle));
}

/// Both of SOL's oracles stop: after a refresh the market is down. One assertion per action.
#[tokio::test]
async fn a_market_whose_oracles_are_down_traps_no_collateral() {
    let mut env = TestEnv::new().await;
    let mut sol = env.market_with_book("SOL", 64).await;
    let eth = env.market_with_book("ETH", 64).await;
    let fallback = second_oracle(&mut env, &sol.market, "SOL-FB", 1_000_000).await;
    set_fallback(&mut env, &sol.market, fallback.oracle).await;
    let a = env.funded_user(20 * ONE_USDC).await;
    let b = env.funded_user(1_000 * ONE_USDC).await;
    let mm = env.funded_user(1_000 * ONE_USDC).await;
    let c = env.funded_user(1_000 * ONE_USDC).await;
    // A: long 10 SOL and 2 ETH at $1. B: the shorts,
    // bidding to buy them back. MM quotes both sides of SOL and bids ETH.
    env.trade(&a, &b, &sol.market, Side::Bid, 10, 1_000_000).await.expect("A long SOL");
    env.trade(&a, &b, &eth.market, Side::Bid, 2, 1_000_000).await.expect("A long ETH");
    env.rest(&b, &sol, BookSide::Bid, 99, 5).await;
    env.rest(&b, &sol, BookSide::Bid, 98, 5).await;
    env.rest(&b, &eth, BookSide::Bid, 99, 2).await;
    let mm_ask = env.rest(&mm, &sol, BookSide::Ask, 101, 5).await;
    env.rest(&mm, &sol, BookSide::Bid, 97, 5).await;
    let mm_eth = env.rest(&mm, &eth, BookSide::Ask, 102, 5).await;

    // SOL's primary and fallback go stale (no price for 121 s); ETH's stays fresh.
    env.warp(121).await;
    env.set_price(&eth.market, 1_000_000).await;
    env.process(&[sdk::update_funding(&eth.market.market, &eth.market.oracle)], &[]).await.expect("ETH index");
    assert_eq!(refresh(&mut env, &sol.market).await, OracleSource::Down);
    follow_active_oracle(&mut env, &mut sol).await;
    let down = code(PerpError::OraclesDown);
    let book_down = u32::from(BookError::OraclesDown);
    let mut rows: Vec<(&str, &str)> = vec![];

    // Nothing that adds risk in SOL.
    let ix = env.place_ix(&c, &sol, order(BookSide::Bid, 95, 5, OrderType::Limit)).await;
    assert_refused(&mut env, &[ix], &[&c.owner], book_down, "new resting order in SOL").await;
    rows.push(("new resting order in the down market", "refused"));
    let ix = env.place_ix(&c, &sol, order(BookSide::Bid, 101, 5, OrderType::ImmediateOrCancel)).await;
    assert_refused(&mut env, &[ix], &[&c.owner], book_down, "position-increasing fill in SOL").await;
    rows.push(("position-increasing fill", "refused"));
    let ix = env.reserve_ix(&c, &sol.market, 3, 0).await;
    assert_refused(&mut env, &[ix], &[&c.owner], down, "reservation growth by another trader").await;
    rows.push(("reservation growth (any trader)", "refused"));
    let lq = env.health_metas(&a.margin_account, &[sol.market.market]).await;
    let lr = env.health_metas(&c.margin_account, &[sol.market.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &sol.market.market,
        &sol.market.oracle,
        &a.margin_account,
        &c.margin_account,
        &c.key(),
        1,
        lq,
        lr,
    );
    assert_refused(&mut env, &[ix], &[&c.owner], down, "a takeover in SOL").await;
    rows.push(("liquidation takeover", "refused"));
    assert_refused(&mut env, &[orderbook::sdk::sample_mark(&sol.venue)], &[], down, "a mark sample").await;
    rows.push(("mark sample", "refused"));

    // Cancelling, in the down market and in another.
    env.cancel(&mm, &sol, BookSide::Ask, mm_ask).await.expect("cancel in SOL");
    assert_eq!(env.seat_of(&sol, &mm.margin_account).await.unwrap().open_ask_lots, 0);
    rows.push(("cancel in the down market", "allowed"));
    env.cancel(&mm, &eth, BookSide::Ask, mm_eth).await.expect("cancel in ETH");
    assert_eq!(env.seat_of(&eth, &mm.margin_account).await.unwrap().open_ask_lots, 0);
    rows.push(("cancel in another market", "allowed"));

    // Withdrawing: SOL valued at its last good index ($1) less its 10% initial margin, with
    // 10% initial margin on that. A's collateral is 20 - 12 lots * 1.0005 = 7.994, so its
    // initial health is 7.994 + 10 * 0.9 * 0.9 (SOL) + 2 * 0.9 (ETH) = 17.894 USDC, less
    // the last bit of rounding against the account. On a live SOL it would be 18.794.
    let limit = 17_894_000;
    let ix = env.withdraw_ix(&a, limit).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "beyond the rule").await;
    rows.push(("withdrawal beyond the conservative rule", "refused"));
    env.withdraw(&a, limit - 1).await.expect("a withdrawal the conservative rule allows");
    rows.push(("withdrawal within the conservative rule", "allowed"));
    env.deposit(&a, 5 * ONE_USDC).await.expect("deposit");
    rows.push(("deposit", "allowed"));

    // Funding keeps accruing at the last rate on the last good index.
    let ix = sdk::update_funding(&sol.market.market, &sol.market.oracle);
    env.process(&[ix], &[]).await.expect("funding accrues");
    rows.push(("funding update", "allowed"));

    // Reducing and closing, in the down market (against bids that shrink B) and in another.
    let mut reduce = order(BookSide::Ask, 99, 5, OrderType::ImmediateOrCancel);
    reduce.reduce_only = true;
    let p = env.place(&a, &sol, reduce).await.expect("reduce in SOL");
    assert_eq!((p.filled, env.position(&a.margin_account, &sol.market.market).await.base_lots), (5, 5));
    rows.push(("reducing fill in the down market", "allowed"));
    let close = order(BookSide::Ask, 98, 5, OrderType::ImmediateOrCancel);
    let p = env.place(&a, &sol, close).await.expect("close in SOL");
    assert_eq!((p.filled, env.position(&a.margin_account, &sol.market.market).await.base_lots), (5, 0));
    env.settle_seats(&sol).await;
    assert_eq!(env.position(&b.margin_account, &sol.market.market).await.base_lots, 0, "B closed its short too");
    rows.push(("closing fill in the down market", "allowed"));
    let close = order(BookSide::Ask, 99, 2, OrderType::ImmediateOrCancel);
    let p = env.place(&a, &eth, close).await.expect("close in ETH");
    assert_eq!((p.filled, env.position(&a.margin_account, &eth.market.market).await.base_lots), (2, 0));
    rows.push(("closing fill in another market", "allowed"));
    env.rest(&c, &eth, BookSide::Bid, 95, 5).await;
    rows.push(("new resting order in another market", "allowed"));
    check_book(&mut env, &sol).await;
    invariants::check(&mut env).await;

    // The primary publishes again: the next refresh lifts the restrictions.
    // While down the market takes its primary, so the cookie names the primary again.
    env.set_price(&sol.market, 1_000_000).await;
    assert_eq!(refresh(&mut env, &sol.market).await, OracleSource::Primary);
    follow_active_oracle(&mut env, &mut sol).await;
    env.rest(&c, &sol, BookSide::Bid, 95, 5).await;
    rows.push(("new resting order after recovery", "allowed"));
    invariants::check(&mut env).await;

    println!("oracles down in SOL:");
    for (action, outcome) in rows {
        println!("  {action:<44} {outcome}");
    }
}
