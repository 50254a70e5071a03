//! Per-market, per-side margins set by the risk authority: the 10% floor, maintenance at
//! half the initial, 90% and more disabling a side (only reducing trades), at most one
//! update a day, and nobody but the risk authority.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::instructions::OrderType;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::{Fill, FillResult, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot

fn fill(maker_index: u8, taker_side: Side, base_lots: u64) -> Fill {
    Fill { maker_index, taker_side, base_lots, price_per_lot: PRICE }
}

/// (init long, maint long, init short, maint short) of a market.
async fn margins(env: &mut TestEnv, m: &MarketCookie) -> (u16, u16, u16, u16) {
    let s = env.market_state(&m.market).await;
    (s.init_margin_long_bps, s.maint_margin_long_bps, s.init_margin_short_bps, s.maint_margin_short_bps)
}

fn set_margins(
    env: &TestEnv,
    signer: &Keypair,
    m: &MarketCookie,
    long: u16,
    short: u16,
) -> anchor_lang::solana_program::instruction::Instruction {
    sdk::set_margins(&signer.pubkey(), &env.exchange, &m.market, long, short)
}

#[tokio::test]
async fn margin_bounds_daily_updates_and_a_disabled_long_side() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    assert_eq!(env.market_state(&m.market).await.margins_updated_ts, 0, "admin-created: never updated");
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let short = env.funded_user(1_000 * ONE_USDC).await;
    let bidder = env.funded_user(1_000 * ONE_USDC).await;
    let newbie = env.funded_user(1_000 * ONE_USDC).await;
    // Before the change: long +10 / short -10 at $1, and a resting bid of 5 lots.
    env.trade(&long, &short, &m, Side::Bid, 10, PRICE).await.unwrap();
    env.reserve(&bidder, &m, 5, 0).await.unwrap();

    // Refusals, each leaving the market untouched.
    let risk = env.risk_authority.insecure_clone();
    let admin = env.admin.insecure_clone();
    let stranger = Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    for (long_bps, short_bps, what) in [
        (500, 4_000, "5% long"),
        (4_000, 500, "5% short"),
        (999, 2_000, "just under 10%"),
        (10_001, 2_000, "over 100%"),
    ] {
        let ix = set_margins(&env, &risk, &m, long_bps, short_bps);
        assert_refused(&mut env, &[ix], &[&risk], code(PerpError::InvalidMargins), what).await;
    }
    for (who, what) in [(&admin, "admin"), (&stranger, "stranger")] {
        let ix = set_margins(&env, who, &m, 2_000, 2_000);
        assert_refused(&mut env, &[ix], &[who], code(PerpError::NotRiskAuthority), what).await;
    }
    assert_eq!(margins(&mut env, &m).await, (1_000, 500, 1_000, 500));

    // 95% long (maintenance 47.5%), 20% short (10%). The first update is allowed at once.
    env.process(&[set_margins(&env, &risk, &m, 9_500, 2_000)], &[&risk]).await.unwrap();
    let now = env.now().await;
    assert_eq!(margins(&mut env, &m).await, (9_500, 4_750, 2_000, 1_000), "maintenance is half the initial");
    assert_eq!(env.market_state(&m.market).await.margins_updated_ts, now);

    // The long side is disabled: nothing may grow a long.
    // - a taker buying (the short side may still grow: the short adds asks),
    env.reserve(&short, &m, 0, 5).await.expect("shorts may still grow at 20%");
    let ix = env.settle_ix(&newbie, &m, &[short.margin_account], vec![fill(0, Side::Bid, 5)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&newbie.owner], code(PerpError::SideDisabled), "new long").await;
    let ix = env.settle_ix(&long, &m, &[short.margin_account], vec![fill(0, Side::Bid, 1)], vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&long.owner], code(PerpError::SideDisabled), "existing long grows").await;
    // - a reservation growing bids (for a flat account, or beyond closing a short),
    let ix = env.reserve_ix(&newbie, &m, 5, 0).await;
    assert_refused(&mut env, &[ix], &[&newbie.owner], code(PerpError::SideDisabled), "new bid").await;
    let ix = env.reserve_ix(&short, &m, 11, 0).await;
    assert_refused(&mut env, &[ix], &[&short.owner], code(PerpError::SideDisabled), "bid beyond the short").await;
    // - a taker resting the remainder of a bid,
    let ix = env.settle_ix(&newbie, &m, &[], vec![], vec![], 3, 0).await;
    assert_refused(&mut env, &[ix], &[&newbie.owner], code(PerpError::SideDisabled), "taker's resting bid").await;
    // - a maker whose old bid would now make it long: the fill is refused, not applied.
    let ix = env.settle_ix(&newbie, &m, &[bidder.margin_account], vec![fill(0, Side::Ask, 2)], vec![], 0, 0).await;
    let out = env.process(&[ix], &[&newbie.owner]).await.unwrap();
    assert_eq!(out.return_data, vec![FillResult::MakerWouldIncrease as u8]);
    assert_eq!(env.position(&bidder.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.position(&newbie.margin_account, &m.market).await.base_lots, 0);

    // Reducing a long still works: the short bids 4 (closing part of its short is allowed)
    // and the long sells 4 into it: long 10 -> 6, short -10 -> -6.
    env.reserve(&short, &m, 4, 0).await.expect("a bid that closes a short");
    let ix = env.settle_ix(&long, &m, &[short.margin_account], vec![fill(0, Side::Ask, 4)], vec![], 0, 0).await;
    env.process(&[ix], &[&long.owner]).await.expect("a long reduces");
    assert_eq!(env.position(&long.margin_account, &m.market).await.base_lots, 6);
    assert_eq!(env.position(&short.margin_account, &m.market).await.base_lots, -6);

    // A second update within a day is refused, also one second before the day is over.
    let ix = set_margins(&env, &risk, &m, 2_000, 2_000);
    assert_refused(&mut env, &[ix], &[&risk], code(PerpError::MarginsUpdatedTooRecently), "same day").await;
    env.warp(86_399).await;
    let ix = set_margins(&env, &risk, &m, 2_000, 2_000);
    assert_refused(&mut env, &[ix], &[&risk], code(PerpError::MarginsUpdatedTooRecently), "a second early").await;
    env.warp(1).await;
    env.process(&[set_margins(&env, &risk, &m, 2_000, 3_000)], &[&risk]).await.expect("a day later");
    assert_eq!(margins(&mut env, &m).await, (2_000, 1_000, 3_000, 1_500));

    // Longs may grow again.
    env.set_price(&m, PRICE as i64).await;
    env.trade(&newbie, &short, &m, Side::Bid, 5, PRICE).await.expect("longs grow at 20%");
    assert_eq!(env.position(&newbie.margin_account, &m.market).await.base_lots, 5);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn ninety_percent_disables_a_side_and_just_below_does_not() {
    let mut env = TestEnv::new().await;
    let at = env.create_market("AT90", PRICE as i64).await;
    let below = env.create_market("BELOW90", PRICE as i64).await;
    let risk = env.risk_authority.insecure_clone();
    // Short side at 90% on one market, 89.99% on the other; odd values round maintenance up.
    env.process(&[set_margins(&env, &risk, &at, 2_000, 9_000)], &[&risk]).await.unwrap();
    env.process(&[set_margins(&env, &risk, &below, 2_000, 8_999)], &[&risk]).await.unwrap();
    assert_eq!(margins(&mut env, &at).await, (2_000, 1_000, 9_000, 4_500));
    assert_eq!(margins(&mut env, &below).await, (2_000, 1_000, 8_999, 4_500), "8_999 / 2 rounded up");
    let user = env.funded_user(10_000 * ONE_USDC).await;
    let ix = env.reserve_ix(&user, &at, 0, 5).await;
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::SideDisabled), "ask at 90%").await;
    env.reserve(&user, &below, 0, 5).await.expect("ask at 89.99%");
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn a_disabled_side_through_the_order_book() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let newbie = env.funded_user(1_000 * ONE_USDC).await;
    let bidder = env.funded_user(1_000 * ONE_USDC).await;
    // Before: long buys 5 at 101 ticks from the maker; a flat bidder rests a bid at 99.
    env.rest(&maker, &book, BookSide::Ask, 101, 20).await;
    env.rest(&bidder, &book, BookSide::Bid, 99, 10).await;
    env.place(&long, &book, order(BookSide::Bid, 101, 5, OrderType::ImmediateOrCancel)).await.unwrap();
    let risk = env.risk_authority.insecure_clone();
    env.process(&[set_margins(&env, &risk, &m, 9_500, 2_000)], &[&risk]).await.unwrap();

    // Buying is refused, whether it takes or rests.
    let ix = env.place_ix(&newbie, &book, order(BookSide::Bid, 101, 1, OrderType::ImmediateOrCancel)).await;
    assert_refused(&mut env, &[ix], &[&newbie.owner], code(PerpError::SideDisabled), "buy").await;
    let ix = env.place_ix(&newbie, &book, order(BookSide::Bid, 98, 1, OrderType::PostOnly)).await;
    assert_refused(&mut env, &[ix], &[&newbie.owner], code(PerpError::SideDisabled), "resting bid").await;
    // Selling into the bidder's old bid would make the bidder long: the book cancels the
    // bidder's order instead (the seller fills nothing and is not left short).
    let p = env.place(&newbie, &book, order(BookSide::Ask, 99, 2, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 0);
    let seat = env.seat_of(&book, &bidder.margin_account).await.unwrap();
    assert_eq!((seat.order_count, seat.open_bid_lots), (0, 0), "the bidder's bid is gone");
    assert!(env.position(&newbie.margin_account, &m.market).await.is_free(), "the seller is not short");
    // The maker (short 5) may still bid to close, and the long sells into it: 5 -> 2.
    env.rest(&maker, &book, BookSide::Bid, 100, 3).await;
    let p = env.place(&long, &book, order(BookSide::Ask, 100, 3, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 3);
    assert_eq!(env.position(&long.margin_account, &m.market).await.base_lots, 2);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -2);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}
