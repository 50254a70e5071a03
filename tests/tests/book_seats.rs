//! The book as the makers' ledger (docs/seats.md): takers name no makers, no lots are lost
//! past any batch, one take reaches 64 makers within Solana's limits, pending fills settle
//! to the native unit across funding, `perpetual`'s view of a maker with unsettled fills is
//! never healthier than the truth, and neither a full side nor a full seat table keeps an
//! honest maker out.
//!
//! Markets are the harness's `market_with_book`: $1 per lot (100 ticks of 10_000), band 25%,
//! 10% initial / 5% maintenance, taker fee 500 ppm (rounded up), maker rebate 100 ppm
//! (rounded down).
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::decode;
use orderbook::error::BookError;
use orderbook::instructions::OrderType;
use orderbook::state::{BookRef, Side};
use perpetual::error::PerpError;
use perpetual::math::{funding, I80F48};
use perpetual::sdk;
use solana_signer::Signer;

const TICK: u64 = 10_000;

fn ioc(side: Side, price: u64, lots: u64) -> orderbook::instructions::PlaceOrderArgs {
    order(side, price, lots, OrderType::ImmediateOrCancel)
}

async fn makers(env: &mut TestEnv, n: usize, deposit: u64) -> Vec<UserCookie> {
    let mut v = vec![];
    for _ in 0..n {
        v.push(env.funded_user(deposit).await);
    }
    v
}

/// A $1 market (band 25%) whose book has room for `seats` accounts.
async fn book_with_seats(env: &mut TestEnv, side_capacity: u32, seats: u32) -> BookCookie {
    let mut args = market_args("SOL", perpetual::OracleKind::SetPrice);
    args.price_band_bps = 2_500;
    let market = env.create_market_with(args, 1_000_000).await;
    let mut bargs = book_args(side_capacity, 16);
    bargs.seat_capacity = seats;
    env.create_book(&market, bargs).await
}

async fn finish(env: &mut TestEnv, book: &BookCookie) {
    check_book(env, book).await;
    invariants::check(env).await;
    env.settle_seats(book).await;
    check_book(env, book).await;
    invariants::check(env).await;
}

/// Anyone may put one tiny order at the top of the book from each of 200 accounts; a taker
/// that names no maker still fills through all of them and then the deep liquidity behind
/// them, in one transaction.
#[tokio::test]
async fn a_taker_fills_through_200_tiny_top_orders_and_the_depth_behind() {
    let mut env = TestEnv::new().await;
    let book = book_with_seats(&mut env, 256, 256).await;
    let griefers = makers(&mut env, 200, 10 * ONE_USDC).await;
    let deep = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&deep, &book, Side::Ask, 101, 1_000).await;
    for g in &griefers {
        env.rest(g, &book, Side::Ask, 100, 1).await;
    }
    let p = env.place(&taker, &book, ioc(Side::Bid, 101, 300)).await.expect("one market order");
    assert_eq!(p.filled, 300, "200 tiny orders and 100 lots of the deep one");
    let data = env.book_data(&book).await;
    assert_eq!(decode::best(&BookRef::parse(&data).unwrap(), Side::Ask), Some((101, 900)));
    assert_eq!(env.position(&taker.margin_account, &book.market.market).await.base_lots, 300);
    finish(&mut env, &book).await;
    for g in &griefers {
        assert_eq!(env.position(&g.margin_account, &book.market.market).await.base_lots, -1);
    }
    assert_eq!(env.position(&deep.margin_account, &book.market.market).await.base_lots, -100);
}

/// 36 resting orders (more than the old batch of 32) from 12 makers, three each, at 36
/// prices: a limit order fills all of them and rests its remainder where it no longer
/// crosses; an immediate-or-cancel fills all of them; a fill-or-kill fills exactly the
/// liquidity within its price, and is refused (nothing changes) one lot beyond it.
#[tokio::test]
async fn an_order_meeting_36_resting_orders_loses_no_lots() {
    for kind in [OrderType::Limit, OrderType::ImmediateOrCancel, OrderType::FillOrKill] {
        let mut env = TestEnv::new().await;
        let book = env.market_with_book("SOL", 64).await;
        let ms = makers(&mut env, 12, 1_000 * ONE_USDC).await;
        for i in 0..36u64 {
            env.rest(&ms[(i % 12) as usize], &book, Side::Ask, 100 + i / 4, 2).await;
        }
        let taker = env.funded_user(10_000 * ONE_USDC).await;
        // 72 lots rest up to 108 ticks.
        if kind == OrderType::FillOrKill {
            let ix = env.place_ix(&taker, &book, order(Side::Bid, 108, 73, kind)).await;
            assert_refused(&mut env, &[ix], &[&taker.owner], u32::from(BookError::FillOrKillNotFilled), "73 of 72")
                .await;
        }
        let lots = if kind == OrderType::FillOrKill { 72 } else { 80 };
        let p = env.place(&taker, &book, order(Side::Bid, 108, lots, kind)).await.expect("take");
        assert_eq!(p.filled, 72, "{kind:?}: every resting order filled");
        let data = env.book_data(&book).await;
        let b = BookRef::parse(&data).unwrap();
        assert_eq!(decode::best(&b, Side::Ask), None, "{kind:?}");
        match kind {
            OrderType::Limit => {
                assert_ne!(p.key, 0);
                assert_eq!(decode::best(&b, Side::Bid), Some((108, 8)), "the remainder rests, no longer crossing");
            }
            _ => assert_eq!((p.key, decode::best(&b, Side::Bid)), (0, None), "{kind:?}"),
        }
        finish(&mut env, &book).await;
        for m in &ms {
            assert_eq!(env.position(&m.margin_account, &book.market.market).await.base_lots, -6, "{kind:?}");
        }
    }
}

/// One take fills 64 orders of 64 makers, in a transaction within 1,232 bytes and 64
/// accounts (the taker names no maker), and every account's settled balance matches the
/// model: maker i sold 1 lot at (100 + i % 8) ticks and earned the rebate, rounded down;
/// the taker paid the sum and the taker fee on it, rounded up.
#[tokio::test]
async fn one_take_fills_64_makers_and_every_balance_matches_the_model() {
    let mut env = TestEnv::new().await;
    let book = book_with_seats(&mut env, 128, 128).await;
    let deposit = 100 * ONE_USDC;
    let ms = makers(&mut env, 64, deposit).await;
    for (i, m) in ms.iter().enumerate() {
        env.rest(m, &book, Side::Ask, 100 + (i % 8) as u64, 1).await;
    }
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let ix = env.place_ix(&taker, &book, ioc(Side::Bid, 107, 64)).await;
    let (size, locked) = env.measure(std::slice::from_ref(&ix), &taker.owner).await;
    println!("64-maker take: {size} bytes, {locked} accounts");
    assert!(size <= 1_232 && locked <= 64, "{size} bytes, {locked} accounts");
    let out = env.process(&[ix], &[&taker.owner]).await.expect("take 64");
    assert_eq!(placed(&out.return_data).filled, 64);
    env.settle_seats(&book).await;

    let mut quote = 0i64;
    for (i, m) in ms.iter().enumerate() {
        let price = ((100 + i % 8) as u64 * TICK) as i64;
        quote += price;
        let rebate = price * 100 / 1_000_000; // rounded down
        assert_eq!(env.collateral(&m.margin_account).await, deposit as i64 + price + rebate, "maker {i}");
        assert_eq!(env.position(&m.margin_account, &book.market.market).await.base_lots, -1);
    }
    let fee = (quote * 500 + 999_999) / 1_000_000;
    assert_eq!(env.collateral(&taker.margin_account).await, 1_000 * ONE_USDC as i64 - quote - fee);
    assert_eq!(env.position(&taker.margin_account, &book.market.market).await.base_lots, 64);
    finish(&mut env, &book).await;
}

/// Fills left pending across a funding-rate change and index moves settle hours later to
/// the native unit: a pending lot owes from its own fill's index, `I_now - I_fill`, rounded
/// once with the position against the maker; the funding pool keeps only that dust.
#[tokio::test]
async fn pending_fills_settle_exactly_across_funding() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let funding_authority = env.funding_authority.insecure_clone();
    let rate = |env: &TestEnv, ppbh: i64| {
        sdk::set_funding_rate(&funding_authority.pubkey(), &env.exchange, &m.market, &m.oracle, ppbh)
    };
    env.rest(&maker, &book, Side::Ask, 100, 30).await;

    // Fill 1: 10 lots at index I1.
    env.place(&taker, &book, ioc(Side::Bid, 100, 10)).await.unwrap();
    let i1 = env.market_state(&m.market).await.funding_index.get();
    // A funding rate, an hour, an index move and fill 2: 20 lots at I2.
    let ix = rate(&env, 200_000);
    env.process(&[ix], &[&funding_authority]).await.expect("rate");
    env.warp(3_600).await;
    env.set_price(&m, 1_040_000).await;
    env.place(&taker, &book, ioc(Side::Bid, 100, 20)).await.unwrap();
    let i2 = env.market_state(&m.market).await.funding_index.get();
    assert_ne!(i1, i2, "funding moved between the fills");
    // The rate turns, hours pass, the index moves again.
    env.warp(3_600).await;
    env.set_price(&m, 1_040_000).await;
    let ix = rate(&env, -150_000);
    env.process(&[ix], &[&funding_authority]).await.expect("rate");
    env.warp(7_200).await;
    env.set_price(&m, 990_000).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.expect("index");
    let i3 = env.market_state(&m.market).await.funding_index.get();

    let before = env.collateral(&maker.margin_account).await;
    env.settle_seats(&book).await;
    // The maker sold 10 at I1 and 20 at I2 (short: it receives funding when I rises).
    let owed = I80F48::from_num(-10) * (i3 - i1) + I80F48::from_num(-20) * (i3 - i2);
    let change = (-owed).floor().to_num::<i64>();
    let quote = 30 * 1_000_000i64;
    let rebate = 10 * 1_000_000 * 100 / 1_000_000 + 20 * 1_000_000 * 100 / 1_000_000;
    assert_eq!(env.collateral(&maker.margin_account).await - before, quote + rebate + change);
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -30);

    // The taker settles too; the pool keeps at most one unit per settlement, never less than 0.
    let ix = sdk::settle_funding(&m.market, &m.oracle, &taker.margin_account);
    env.process(&[ix], &[]).await.expect("settle the taker");
    let pool = env.market_state(&m.market).await.funding_pool;
    assert!((0..=3).contains(&pool), "funding pool {pool}");
    let _ = funding::collateral_change(owed).unwrap();
    finish(&mut env, &book).await;
}

/// A maker whose unsettled fills lost money: `perpetual` counts its allowance at its worst
/// corner, so it refuses a withdrawal the settled state would refuse and lets anyone revoke
/// and liquidate an account the settled state would liquidate.
#[tokio::test]
async fn unsettled_losses_are_never_invisible_to_perpetual() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(15 * ONE_USDC).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    // The maker bids 100 lots at $1 and is filled; nothing is settled.
    env.rest(&maker, &book, Side::Bid, 100, 100).await;
    env.place(&taker, &book, ioc(Side::Ask, 100, 100)).await.unwrap();
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, 0, "nothing settled yet");
    // At $0.92 the settled truth is long 100 bought at $1: equity 15 - 8 + rebate = 7.01,
    // initial requirement 9.2, maintenance requirement 4.6.
    env.set_price(&m, 920_000).await;
    let ix = {
        let health = env.health_metas(&maker.margin_account, &[]).await;
        sdk::withdraw(
            &maker.key(),
            &env.exchange,
            &env.mint,
            &maker.margin_account,
            &maker.token_account,
            ONE_USDC,
            health,
        )
    };
    assert_refused(&mut env, &[ix], &[&maker.owner], code(PerpError::InsufficientInitialMargin), "withdraw").await;
    // At $0.88: equity 15 - 12 + 0.01 = 3.01 < maintenance 4.4: liquidatable once revoked.
    env.set_price(&m, 880_000).await;
    let seat = env.seat_for(&book, &maker.margin_account).await;
    let health = env.health_metas(&maker.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::revoke_seat(&book.venue, &liquidator.key(), &maker.margin_account, seat, health);
    env.process(&[ix], &[&liquidator.owner]).await.expect("revoke: below maintenance with the fills counted");
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, 100, "the revoke settled the fills");
    let lq = env.health_metas(&maker.margin_account, &[m.market]).await;
    let lr = env.health_metas(&liquidator.margin_account, &[m.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &m.market,
        &m.oracle,
        &maker.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        u64::MAX,
        lq,
        lr,
    );
    env.process(&[ix], &[&liquidator.owner]).await.expect("liquidation");
    assert!(env.position(&maker.margin_account, &m.market).await.base_lots < 100);
    finish(&mut env, &book).await;
}

/// A side full of far orders from one account does not keep an honest maker from the
/// touch: a more aggressive order takes the place of the least aggressive one. A full seat
/// table does not keep a new maker out: anyone reclaims an idle seat for it.
#[tokio::test]
async fn a_full_side_or_seat_table_does_not_keep_an_honest_maker_out() {
    let mut env = TestEnv::new().await;
    let book = book_with_seats(&mut env, 16, 4).await;
    let market = book.market;
    let spammer = env.funded_user(10_000 * ONE_USDC).await;
    for i in 0..16 {
        env.rest(&spammer, &book, Side::Bid, 76 + i % 4, 1).await;
    }
    let honest = env.funded_user(1_000 * ONE_USDC).await;
    let key = env.rest(&honest, &book, Side::Bid, 99, 5).await;
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert_eq!(decode::best(&b, Side::Bid), Some((99, 5)), "the honest bid rests at the touch");
    assert_eq!(b.bids.len(), 16);
    assert_eq!(env.seat_of(&book, &spammer.margin_account).await.unwrap().order_count, 15, "one far bid evicted");
    env.cancel(&honest, &book, Side::Bid, key).await.unwrap();

    // Two more accounts quote and cancel: with the spammer and the honest maker, every seat
    // is taken, two of them idle (an allowance, nothing resting, nothing pending).
    for _ in 0..2 {
        let u = env.funded_user(1_000 * ONE_USDC).await;
        let k = env.rest(&u, &book, Side::Ask, 120, 1).await;
        env.cancel(&u, &book, Side::Ask, k).await.unwrap();
    }
    let newcomer = env.funded_user(1_000 * ONE_USDC).await;
    let health = env.health_metas(&newcomer.margin_account, &[market.market]).await;
    let args = order(Side::Ask, 110, 1, OrderType::PostOnly); // seat hint 0: taken
    let ix = orderbook::sdk::place_order(&book.venue, &newcomer.key(), &newcomer.margin_account, args, health);
    assert_refused(&mut env, &[ix], &[&newcomer.owner], u32::from(BookError::SeatUnavailable), "no free seat").await;
    // The spammer's seat is not idle (its orders rest): it cannot be reclaimed.
    let seat = env.seat_for(&book, &spammer.margin_account).await;
    let ix = orderbook::sdk::reclaim_seat(&book.venue, &newcomer.key(), &spammer.margin_account, seat);
    assert_refused(&mut env, &[ix], &[&newcomer.owner], u32::from(BookError::SeatNotReclaimable), "busy seat").await;
    // The honest maker's idle seat can; the newcomer then rests.
    let seat = env.seat_for(&book, &honest.margin_account).await;
    let ix = orderbook::sdk::reclaim_seat(&book.venue, &newcomer.key(), &honest.margin_account, seat);
    env.process(&[ix], &[&newcomer.owner]).await.expect("reclaim an idle seat");
    assert!(env.position(&honest.margin_account, &market.market).await.is_free(), "its allowance is released");
    env.rest(&newcomer, &book, Side::Ask, 110, 1).await;
    finish(&mut env, &book).await;
}
