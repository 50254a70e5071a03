//! The on-chain order book: priority, partial fills, order types, self-trade prevention,
//! refused makers, expiry, limits, and a ten-maker sweep within Solana's limits.
use integration_tests::adversarial::{assert_refused, with_account, with_extra};
use integration_tests::*;
use orderbook::decode;
use orderbook::error::BookError;
use orderbook::instructions::OrderType;
use orderbook::state::{BookRef, Side};
use orderbook::SelfTradeBehavior;
use perpetual::sdk as perp_sdk;
use solana_signer::Signer;

fn bcode(e: BookError) -> u32 {
    u32::from(e)
}

async fn setup(makers: usize) -> (TestEnv, BookCookie, Vec<UserCookie>) {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let mut users = vec![];
    for _ in 0..makers {
        users.push(env.funded_user(10_000 * ONE_USDC).await);
    }
    (env, book, users)
}

async fn finish(env: &mut TestEnv) {
    for b in env.books.clone() {
        check_book(env, &b).await;
    }
    invariants::check(env).await;
}

#[tokio::test]
async fn price_time_priority_across_and_within_levels() {
    let (mut env, book, u) = setup(4).await;
    let (a, b, c, taker) = (&u[0], &u[1], &u[2], &u[3]);
    env.rest(a, &book, Side::Ask, 101, 1).await;
    env.rest(b, &book, Side::Ask, 100, 1).await;
    env.rest(c, &book, Side::Ask, 100, 1).await;
    // Two lots: both at 100, the earlier (b) first.
    let p = env.place(taker, &book, order(Side::Bid, 101, 2, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 2);
    // The makers' sides wait in their seats until settled.
    assert_eq!(env.seat_of(&book, &b.margin_account).await.unwrap().pending_ask_lots, 1);
    assert_eq!(env.position(&b.margin_account, &book.market.market).await.base_lots, 0);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&b.margin_account, &book.market.market).await.base_lots, -1);
    assert_eq!(env.position(&c.margin_account, &book.market.market).await.base_lots, -1);
    assert_eq!(env.position(&a.margin_account, &book.market.market).await.base_lots, 0);
    // Fill prices: 100 ticks * 10_000 = $1.00 per lot each; the taker paid 2 + fees.
    assert_eq!(env.collateral(&taker.margin_account).await, 10_000 * ONE_USDC as i64 - 2_000_000 - 1_000);
    // Bids: the higher price first, then time.
    env.rest(a, &book, Side::Bid, 95, 1).await;
    env.rest(b, &book, Side::Bid, 96, 1).await;
    env.rest(c, &book, Side::Bid, 96, 1).await;
    let data = env.book_data(&book).await;
    let l3 = decode::l3(&BookRef::parse(&data).unwrap(), Side::Bid);
    let owners: Vec<_> = l3.iter().map(|o| (o.price_ticks, o.margin_account)).collect();
    assert_eq!(owners, vec![(96, b.margin_account), (96, c.margin_account), (95, a.margin_account)]);
    finish(&mut env).await;
}

#[tokio::test]
async fn partial_fills_on_both_sides() {
    let (mut env, book, u) = setup(2).await;
    let (maker, taker) = (&u[0], &u[1]);
    env.rest(maker, &book, Side::Ask, 100, 10).await;
    let p = env.place(taker, &book, order(Side::Bid, 100, 4, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p, Placed { key: 0, filled: 4 });
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert_eq!(decode::best(&b, Side::Ask), Some((100, 6)), "the maker's order is partly filled");
    // A larger taker limit order takes the rest and rests its own remainder.
    let p = env.place(taker, &book, order(Side::Bid, 100, 10, OrderType::Limit)).await.unwrap();
    assert_eq!(p.filled, 6);
    assert_ne!(p.key, 0);
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert_eq!(decode::best(&b, Side::Ask), None);
    assert_eq!(decode::best(&b, Side::Bid), Some((100, 4)));
    assert_eq!(decode::l2(&b, Side::Bid, 5), vec![decode::Level { price_ticks: 100, base_lots: 4, orders: 1 }]);
    let taker_pos = env.position(&taker.margin_account, &book.market.market).await;
    let taker_seat = env.seat_of(&book, &taker.margin_account).await.unwrap();
    assert_eq!((taker_pos.base_lots, taker_seat.open_bid_lots, taker_seat.position), (10, 4, 10));
    assert_eq!((taker_pos.seat_bid_lots, taker_pos.seat_bid_limit), (4, 1_000_000), "the remainder's allowance");
    let market = env.market_state(&book.market.market).await;
    assert_eq!(decode::last_trade_price_per_lot(&market), 1_000_000);
    finish(&mut env).await;
}

#[tokio::test]
async fn order_types_behave_distinctly() {
    let (mut env, book, u) = setup(2).await;
    let (maker, taker) = (&u[0], &u[1]);
    env.rest(maker, &book, Side::Ask, 100, 5).await;

    // Post-only refuses to cross; slide rests one tick behind the best ask.
    let ix = env.place_ix(taker, &book, order(Side::Bid, 100, 1, OrderType::PostOnly)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::PostOnlyWouldCross), "post-only crosses").await;
    let p = env.place(taker, &book, order(Side::Bid, 104, 1, OrderType::PostOnlySlide)).await.unwrap();
    assert_eq!(orderbook::state::price_of(Side::Bid, p.key), 99);
    assert_eq!(p.filled, 0);
    env.cancel(taker, &book, Side::Bid, p.key).await.unwrap();

    // Fill-or-kill: 6 lots cannot fill against 5; 5 can.
    let ix = env.place_ix(taker, &book, order(Side::Bid, 100, 6, OrderType::FillOrKill)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::FillOrKillNotFilled), "fok").await;
    env.rest(maker, &book, Side::Ask, 102, 5).await;
    // Immediate-or-cancel takes what crosses (5 at 100) and drops the rest.
    let p = env.place(taker, &book, order(Side::Bid, 101, 8, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p, Placed { key: 0, filled: 5 });
    // Market: IOC up to a worst price; the 102 level is within it.
    let p = env.place(taker, &book, order(Side::Bid, 102, 3, OrderType::Market)).await.unwrap();
    assert_eq!(p, Placed { key: 0, filled: 3 });
    let p = env.place(taker, &book, order(Side::Bid, 102, 2, OrderType::FillOrKill)).await.unwrap();
    assert_eq!(p.filled, 2);
    assert_eq!(env.position(&taker.margin_account, &book.market.market).await.base_lots, 10);

    // Reduce-only: clamps to the position and never rests; refused when flat.
    env.rest(maker, &book, Side::Bid, 98, 50).await;
    let mut ro = order(Side::Ask, 98, 25, OrderType::Limit);
    ro.reduce_only = true;
    let p = env.place(taker, &book, ro).await.unwrap();
    assert_eq!(p, Placed { key: 0, filled: 10 });
    let ix = env.place_ix(taker, &book, ro).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&taker.owner],
        bcode(BookError::ReduceOnlyWouldIncrease),
        "reduce-only when flat",
    )
    .await;
    finish(&mut env).await;
}

#[tokio::test]
async fn self_trade_prevention_modes() {
    let (mut env, book, u) = setup(2).await;
    let (me, other) = (&u[0], &u[1]);
    env.rest(me, &book, Side::Ask, 100, 5).await;
    env.rest(other, &book, Side::Ask, 101, 5).await;
    let mut abort = order(Side::Bid, 101, 3, OrderType::ImmediateOrCancel);
    abort.self_trade = SelfTradeBehavior::AbortTransaction;
    let ix = env.place_ix(me, &book, abort).await;
    assert_refused(&mut env, &[ix], &[&me.owner], bcode(BookError::SelfTradeAborted), "abort").await;

    // Decrement-take: 3 of my own 5 vanish without a trade.
    let p = env.place(me, &book, order(Side::Bid, 101, 3, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 0);
    let data = env.book_data(&book).await;
    assert_eq!(decode::best(&BookRef::parse(&data).unwrap(), Side::Ask), Some((100, 2)));
    assert_eq!(env.seat_of(&book, &me.margin_account).await.unwrap().open_ask_lots, 2);

    // Cancel-resting: my order goes and I fill against the other maker.
    let mut cancel = order(Side::Bid, 101, 4, OrderType::ImmediateOrCancel);
    cancel.self_trade = SelfTradeBehavior::CancelResting;
    let p = env.place(me, &book, cancel).await.unwrap();
    assert_eq!(p.filled, 4);
    let pos = env.position(&me.margin_account, &book.market.market).await;
    let seat = env.seat_of(&book, &me.margin_account).await.unwrap();
    assert_eq!((pos.base_lots, seat.open_ask_lots, seat.position), (4, 0, 4));
    env.settle_seats(&book).await;
    finish(&mut env).await;
}

#[tokio::test]
async fn a_revoked_seats_orders_are_void_and_the_taker_fills_the_next_maker() {
    let (mut env, book, u) = setup(2).await;
    let (next, taker) = (&u[0], &u[1]);
    // `weak` quotes 5 lots at $1 on $1 of collateral: initial margin holds with the asks
    // filled at their limit (1 - 10% of 5 = 0.5).
    let weak = env.funded_user(ONE_USDC).await;
    env.rest(&weak, &book, Side::Ask, 100, 5).await;
    env.rest(next, &book, Side::Ask, 101, 5).await;
    let seat = env.seat_for(&book, &weak.margin_account).await;
    let revoke = orderbook::sdk::revoke_seat(&book.venue, &taker.key(), &weak.margin_account, seat, vec![]);
    let ix = revoke.clone();
    assert_refused(&mut env, &[ix], &[&taker.owner], code(perpetual::error::PerpError::SeatNotRevocable), "healthy")
        .await;
    // At $1.15 the worst case (all 5 sold at $1) loses 0.75 against a maintenance
    // requirement of 5% of 5.75: below maintenance, so anyone may revoke.
    env.set_price(&book.market, 1_150_000).await;
    env.process(&[revoke], &[&taker.owner]).await.expect("revoke below maintenance");
    assert!(env.seat_of(&book, &weak.margin_account).await.is_none(), "the seat is free");
    assert!(env.position(&weak.margin_account, &book.market.market).await.is_free(), "no allowance left");
    let data = env.book_data(&book).await;
    let asks = decode::l3(&BookRef::parse(&data).unwrap(), Side::Ask);
    assert!(asks.iter().any(|o| !o.live), "the void order stays until met");
    assert_eq!(decode::best(&BookRef::parse(&data).unwrap(), Side::Ask), Some((101, 5)), "and shows in no depth");

    let p = env.place(taker, &book, order(Side::Bid, 101, 4, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 4, "the taker fills against the next maker");
    env.settle_seats(&book).await;
    assert_eq!(env.position(&next.margin_account, &book.market.market).await.base_lots, -4);
    let data = env.book_data(&book).await;
    let asks = decode::l3(&BookRef::parse(&data).unwrap(), Side::Ask);
    assert!(asks.iter().all(|o| o.live), "the void order was removed when met");
    finish(&mut env).await;
}

#[tokio::test]
async fn cancel_by_key_by_client_id_and_all() {
    let (mut env, book, u) = setup(1).await;
    let maker = &u[0];
    let k1 = env.rest(maker, &book, Side::Bid, 90, 2).await;
    let mut tagged = order(Side::Ask, 110, 3, OrderType::PostOnly);
    tagged.client_order_id = 42;
    env.place(maker, &book, tagged).await.unwrap();
    env.rest(maker, &book, Side::Ask, 111, 4).await;
    env.rest(maker, &book, Side::Ask, 112, 5).await;
    let seat = env.seat_of(&book, &maker.margin_account).await.unwrap();
    assert_eq!((seat.open_bid_lots, seat.open_ask_lots, seat.order_count), (2, 12, 4));

    env.cancel(maker, &book, Side::Bid, k1).await.unwrap();
    let ix = orderbook::sdk::cancel_order_by_client_id(&book.venue, &maker.key(), &maker.margin_account, 42);
    env.process(&[ix], &[&maker.owner]).await.unwrap();
    let seat = env.seat_of(&book, &maker.margin_account).await.unwrap();
    assert_eq!((seat.open_bid_lots, seat.open_ask_lots), (0, 9));
    let ix = orderbook::sdk::cancel_order_by_client_id(&book.venue, &maker.key(), &maker.margin_account, 42);
    assert_refused(&mut env, &[ix], &[&maker.owner], bcode(BookError::OrderNotFound), "client id gone").await;
    // Cancel-all is bounded: one per call here.
    let ix = orderbook::sdk::cancel_all_orders(&book.venue, &maker.key(), &maker.margin_account, 1);
    env.process(&[ix], &[&maker.owner]).await.unwrap();
    assert_eq!(env.seat_of(&book, &maker.margin_account).await.unwrap().open_ask_lots, 5);
    let ix = orderbook::sdk::cancel_all_orders(&book.venue, &maker.key(), &maker.margin_account, 10);
    env.process(&[ix], &[&maker.owner]).await.unwrap();
    // Cancels keep the allowance for the next quote; giving it up frees seat and slot.
    let seat = env.seat_of(&book, &maker.margin_account).await.unwrap();
    assert_eq!((seat.open_ask_lots, seat.order_count, seat.allowed_ask_lots), (0, 0, 12));
    env.set_allowance(maker, &book, 0, 0, 0, 0).await.expect("give the seat up");
    assert!(env.seat_of(&book, &maker.margin_account).await.is_none());
    assert!(env.position(&maker.margin_account, &book.market.market).await.is_free(), "slot released");
    finish(&mut env).await;
}

#[tokio::test]
async fn expired_orders_are_removed_when_met() {
    let (mut env, book, u) = setup(3).await;
    let (old, fresh, taker) = (&u[0], &u[1], &u[2]);
    let now = env.now().await;
    let mut expiring = order(Side::Ask, 100, 5, OrderType::PostOnly);
    expiring.expiry_ts = now + 10;
    env.place(old, &book, expiring).await.unwrap();
    env.rest(fresh, &book, Side::Ask, 101, 5).await;
    env.warp(11).await;
    env.set_price(&book.market, 1_000_000).await;
    let p = env.place(taker, &book, order(Side::Bid, 101, 3, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 3);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&fresh.margin_account, &book.market.market).await.base_lots, -3);
    let old_seat = env.seat_of(&book, &old.margin_account).await.unwrap();
    assert_eq!((old_seat.open_ask_lots, old_seat.order_count), (0, 0), "the expired order left its seat");
    let mut past = order(Side::Ask, 100, 1, OrderType::PostOnly);
    past.expiry_ts = now;
    let ix = env.place_ix(old, &book, past).await;
    assert_refused(&mut env, &[ix], &[&old.owner], bcode(BookError::AlreadyExpired), "expired on arrival").await;
    finish(&mut env).await;
}

#[tokio::test]
async fn order_limit_and_full_book() {
    let mut env = TestEnv::new().await;
    let mut args = market_args("SOL", perpetual::OracleKind::SetPrice);
    args.price_band_bps = 2_500;
    let m = env.create_market_with(args, 1_000_000).await;
    let book = env.create_book(&m, book_args(16, 3)).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    for i in 0..3 {
        env.rest(&maker, &book, Side::Bid, 90 + i, 1).await;
    }
    let ix = env.place_ix(&maker, &book, order(Side::Bid, 95, 1, OrderType::PostOnly)).await;
    assert_refused(&mut env, &[ix], &[&maker.owner], bcode(BookError::TooManyOrders), "fourth order").await;

    // 16 orders from 6 accounts fill the side; the 17th finds it full.
    let mut users = vec![];
    for _ in 0..6 {
        users.push(env.funded_user(10_000 * ONE_USDC).await);
    }
    for i in 0..13 {
        let u = &users[i / 3];
        env.rest(u, &book, Side::Bid, 80 + i as u64, 1).await;
    }
    let ix = env.place_ix(&users[5], &book, order(Side::Bid, 79, 1, OrderType::PostOnly)).await;
    assert_refused(&mut env, &[ix], &[&users[5].owner], bcode(BookError::BookFull), "full side, worst price").await;
    // A more aggressive order takes the place of the least aggressive one (80, users[0]'s).
    let placed = env.place(&users[5], &book, order(Side::Bid, 97, 1, OrderType::PostOnly)).await.unwrap();
    assert_ne!(placed.key, 0);
    let data = env.book_data(&book).await;
    let bids = decode::l3(&BookRef::parse(&data).unwrap(), Side::Bid);
    assert_eq!(bids.len(), 16);
    assert!(bids.iter().all(|o| o.price_ticks != 80), "the 80 bid was evicted");
    assert_eq!(env.seat_of(&book, &users[0].margin_account).await.unwrap().open_bid_lots, 2);
    finish(&mut env).await;
}

#[tokio::test]
async fn ten_makers_swept_in_one_transaction_within_limits() {
    let (mut env, book, u) = setup(11).await;
    let taker = &u[10];
    for (i, maker) in u[..10].iter().enumerate() {
        env.rest(maker, &book, Side::Ask, 100 + i as u64, 2).await;
    }
    let ix = env.place_ix(taker, &book, order(Side::Bid, 109, 20, OrderType::ImmediateOrCancel)).await;
    let (size, locked) = env.measure(std::slice::from_ref(&ix), &taker.owner).await;
    println!("10-maker sweep: {size} bytes, {locked} accounts");
    assert!(size <= 1_232, "transaction is {size} bytes");
    assert!(locked <= 64, "{locked} accounts");
    let out = env.process(&[ix], &[&taker.owner]).await.unwrap();
    assert_eq!(placed(&out.return_data).filled, 20);
    assert_eq!(env.position(&taker.margin_account, &book.market.market).await.base_lots, 20);
    env.settle_seats(&book).await;
    for maker in &u[..10] {
        assert_eq!(env.position(&maker.margin_account, &book.market.market).await.base_lots, -2);
    }
    finish(&mut env).await;
}

#[tokio::test]
async fn a_market_maker_requotes_eight_markets_without_passing_the_others() {
    let mut env = TestEnv::new().await;
    let mm = env.funded_user(100_000 * ONE_USDC).await;
    let taker = env.funded_user(100_000 * ONE_USDC).await;
    let mut books = vec![];
    for i in 0..8 {
        let m = env.create_market(&format!("MM{i}"), 1_000_000).await;
        books.push(env.create_book(&m, book_args(64, 8)).await);
    }
    // Quote and trade in every market, so the account holds 8 positions.
    let mut keys = vec![];
    for b in &books {
        env.rest(&mm, b, Side::Ask, 101, 10).await;
        env.place(&taker, b, order(Side::Bid, 101, 1, OrderType::ImmediateOrCancel)).await.unwrap();
        keys.push(env.rest(&mm, b, Side::Bid, 99, 10).await);
    }
    assert_eq!(env.margin(&mm.margin_account).await.1.iter().filter(|p| !p.is_free()).count(), 8);
    // An allowance wide enough for the quoting range (once, with health accounts)...
    for b in &books {
        env.set_allowance(&mm, b, 10, 10, 102, 98).await.expect("allowance");
    }
    // ...then every re-quote within it touches only the book: replace the bid one tick up at
    // the same size, no health accounts.
    for (b, key) in books.iter().zip(&keys) {
        let mut args = order(Side::Bid, 100, 10, OrderType::PostOnly);
        args.seat_hint = env.seat_for(b, &mm.margin_account).await;
        let ix = orderbook::sdk::replace_order(&b.venue, &mm.key(), &mm.margin_account, Side::Bid, *key, args, vec![]);
        assert_eq!(ix.accounts.len(), 9, "only the order accounts, no other market");
        env.process(&[ix], &[&mm.owner]).await.expect("re-quote without other markets");
    }
    // Growing beyond the allowance does need them.
    let mut grow = order(Side::Bid, 95, 5, OrderType::PostOnly);
    grow.seat_hint = env.seat_for(&books[0], &mm.margin_account).await;
    let ix = orderbook::sdk::place_order(&books[0].venue, &mm.key(), &mm.margin_account, grow, vec![]);
    assert_refused(
        &mut env,
        &[ix],
        &[&mm.owner],
        code(perpetual::error::PerpError::HealthAccountsMismatch),
        "growth without health",
    )
    .await;
    finish(&mut env).await;
}

#[tokio::test]
async fn bad_order_input_is_refused_untouched() {
    let (mut env, book, u) = setup(3).await;
    let (maker, taker, stranger) = (&u[0], &u[1], &u[2]);
    env.rest(maker, &book, Side::Ask, 100, 5).await;
    let other = env.market_with_book("ETH", 16).await;
    let good = env.place_ix(taker, &book, order(Side::Bid, 100, 1, OrderType::ImmediateOrCancel)).await;

    let wrong_book = with_account(&good, 0, other.venue.book);
    assert_refused(&mut env, &[wrong_book], &[&taker.owner], bcode(BookError::WrongBook), "book of another market")
        .await;
    // A signer who is neither owner nor delegate.
    let not_delegate = with_account(&good, 1, stranger.key());
    assert_refused(&mut env, &[not_delegate], &[&stranger.owner], bcode(BookError::NotOwnerOrDelegate), "non-delegate")
        .await;
    // The margin account slot holds an account perpetual does not own.
    let wrong_owner = with_account(&good, 2, taker.token_account);
    assert_refused(&mut env, &[wrong_owner], &[&taker.owner], bcode(BookError::WrongOwner), "wrong margin owner").await;
    let ix = env.place_ix(taker, &book, order(Side::Bid, 0, 1, OrderType::Limit)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::InvalidPrice), "zero price").await;
    let ix = env.place_ix(taker, &book, order(Side::Bid, 100, 0, OrderType::Limit)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::InvalidSize), "zero size").await;
    let ix = env.place_ix(taker, &book, order(Side::Bid, 130, 1, OrderType::Limit)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::PriceOutsideBand), "outside band").await;
    // A stray account where health accounts go (the resting bid's allowance needs them):
    // perpetual refuses the health list.
    let mut args = order(Side::Bid, 99, 1, OrderType::Limit);
    args.seat_hint = env.seat_for(&book, &taker.margin_account).await;
    let misplaced = orderbook::sdk::place_order(&book.venue, &taker.key(), &taker.margin_account, args, vec![]);
    let misplaced = with_extra(&misplaced, vec![anchor_lang::prelude::AccountMeta::new(maker.margin_account, false)]);
    assert_refused(
        &mut env,
        &[misplaced],
        &[&taker.owner],
        code(perpetual::error::PerpError::HealthAccountsMismatch),
        "maker in the health slot",
    )
    .await;
    // Somebody else's order cannot be cancelled.
    let data = env.book_data(&book).await;
    let key = decode::l3(&BookRef::parse(&data).unwrap(), Side::Ask)[0].key;
    let ix = orderbook::sdk::cancel_order(&book.venue, &taker.key(), &taker.margin_account, Side::Ask, key);
    assert_refused(&mut env, &[ix], &[&taker.owner], bcode(BookError::OrderNotFound), "cancel another's order").await;
    let _ = perp_sdk::symbol("unused");
    finish(&mut env).await;
}

#[tokio::test]
async fn a_delegate_places_and_cancels_but_a_stranger_cannot() {
    let (mut env, book, u) = setup(2).await;
    let (owner, stranger) = (&u[0], &u[1]);
    let hot = solana_keypair::Keypair::new();
    env.airdrop(&hot.pubkey(), 1_000_000_000).await;
    let ix = perp_sdk::set_delegate(&owner.key(), &env.exchange, &owner.margin_account, hot.pubkey());
    env.process(&[ix], &[&owner.owner]).await.unwrap();
    let as_delegate = UserCookie {
        owner: hot.insecure_clone(),
        token_account: owner.token_account,
        margin_account: owner.margin_account,
    };
    let key = env.rest(&as_delegate, &book, Side::Bid, 95, 3).await;
    assert_eq!(env.seat_of(&book, &owner.margin_account).await.unwrap().open_bid_lots, 3);
    let as_stranger = UserCookie {
        owner: stranger.owner.insecure_clone(),
        token_account: owner.token_account,
        margin_account: owner.margin_account,
    };
    let ix = orderbook::sdk::cancel_order(&book.venue, &as_stranger.key(), &owner.margin_account, Side::Bid, key);
    assert_refused(&mut env, &[ix], &[&as_stranger.owner], bcode(BookError::NotOwnerOrDelegate), "stranger cancels")
        .await;
    env.cancel(&as_delegate, &book, Side::Bid, key).await.expect("delegate cancels");
    assert_eq!(env.seat_of(&book, &owner.margin_account).await.unwrap().order_count, 0);
    finish(&mut env).await;
}
