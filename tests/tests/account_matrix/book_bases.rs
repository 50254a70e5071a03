//! The order book's valid instructions, and the accounts that hold seats for them.
//!
//! Since the book keeps makers' fills in seats (`docs/seats.md`), an account that rests an
//! order holds a seat allowance in `perpetual`, which the risk paths refuse
//! (`SeatAllowanceOpen`); so the accounts the risk rows act on (`lq`, `uw`, `fl`) never
//! rest orders, and the seats the new instructions act on belong to accounts of their own.
use super::world::*;
use super::*;

/// The accounts of the seat instructions.
pub(super) struct SeatWorld {
    /// FIN's book (paid by `creator`), created before FIN's final settlement: `fs` still holds
    /// its seat (the book cannot close), `fv`'s seat was revoked after the settlement, so its
    /// bid is void (pruned by `prune_stale_orders`).
    pub(super) fin_book: BookCookie,
    pub(super) fs: UserCookie,
    pub(super) fv: UserCookie,
    /// Long 150 RSK like `lq`, with an ask resting in RSK's book: below maintenance after the
    /// fall, so anyone may revoke its seat.
    pub(super) rv: UserCookie,
    /// RCL's book has a single seat, which `rc` holds with an allowance and no orders: idle,
    /// and no seat is free, so anyone may reclaim it.
    pub(super) rcl: BookCookie,
    pub(super) rc: UserCookie,
    /// IDLE's book (paid by `creator`): no seat, its market active.
    pub(super) idle: BookCookie,
}

/// FIN's book, `fs`'s and `fv`'s bids, FIN's final settlement at $1, and `fv`'s seat revoked.
pub(super) async fn settle_fin(
    env: &mut TestEnv,
    fin: &MarketCookie,
    creator: &Keypair,
) -> (BookCookie, UserCookie, UserCookie) {
    let admin = env.admin.insecure_clone();
    let p = PRICE as u64;
    let book = book_paid_by(env, fin, &admin, creator).await;
    let fs = env.funded_user(100 * ONE_USDC).await;
    let fv = env.funded_user(100 * ONE_USDC).await;
    env.rest(&fs, &book, BookSide::Bid, 99, 1).await;
    env.rest(&fv, &book, BookSide::Bid, 98, 1).await;
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &fin.market, &fin.oracle, p, p);
    env.process(&[ix], &[&admin]).await.expect("settle FIN");
    let seat = env.seat_for(&book, &fv.margin_account).await;
    let payer = env.ctx.payer.pubkey();
    let ix = orderbook::sdk::revoke_seat(&book.venue, &payer, &fv.margin_account, seat, vec![]);
    env.process(&[ix], &[]).await.expect("revoke fv's seat in the settled market");
    (book, fs, fv)
}

/// `rv`: small SOL and ETH positions, long 150 RSK against `cp` at $1, and an ask of one lot
/// at $1.20 resting in RSK's book (before the fall).
pub(super) async fn risky_seat(
    env: &mut TestEnv,
    rsk: &BookCookie,
    mk: &UserCookie,
    cp: &UserCookie,
    others: [MarketCookie; 2],
) -> UserCookie {
    let p = PRICE as u64;
    let rv = env.funded_user(25 * ONE_USDC).await;
    for market in others {
        env.trade(&rv, mk, &market, Side::Bid, 1, p).await.expect("rv's small positions");
    }
    env.trade(&rv, cp, &rsk.market, Side::Bid, 150, p).await.expect("rv long");
    env.rest(&rv, rsk, BookSide::Ask, 120, 1).await;
    rv
}

/// RCL (a book of one seat, held idle by `rc`) and IDLE (a book with no seat).
pub(super) async fn idle_books(env: &mut TestEnv, creator: &Keypair) -> (BookCookie, UserCookie, BookCookie) {
    let admin = env.admin.insecure_clone();
    let rcl_market = env.create_market("RCL", PRICE).await;
    let args = CreateBookArgs { seat_capacity: 1, ..book_args(16, 16) };
    let rcl = env.create_book(&rcl_market, args).await;
    let rc = env.funded_user(100 * ONE_USDC).await;
    env.set_allowance(&rc, &rcl, 1, 0, 99, 0).await.expect("rc's allowance, no orders");
    let idle_market = env.create_market("IDLE", PRICE).await;
    let idle = book_paid_by(env, &idle_market, &admin, creator).await;
    (rcl, rc, idle)
}

pub(super) const ORDER_SLOTS: [&str; 9] = [
    "book",
    "authority",
    "margin_account",
    "market",
    "oracle",
    "exchange",
    "approval",
    "trader_authority",
    "perpetual_program",
];

/// The order accounts, then four health accounts (two positions besides the book's market).
fn order_health_slots() -> Vec<String> {
    health_names(&ORDER_SLOTS, 4)
}

/// The order book's bases.
pub(super) async fn book_bases(w: &mut World) -> Vec<Base> {
    let x = &w.x;
    let s = &x.s;
    let env = &mut w.env;
    let exchange = env.exchange;
    let admin = env.admin.pubkey();
    let da = env.deleverage_authority.pubkey();
    let sol = w.sol;
    let (rsk, bk) = (x.rsk.market, x.bk.market);
    let own = Some((rsk.market, rsk.oracle));
    let lq_health = env.health_metas(&x.lq.margin_account, &[rsk.market]).await;
    let keeper = x.keeper.pubkey();
    let mut v = Vec::new();

    let create_slots = names(&[
        "authority",
        "payer",
        "exchange",
        "market",
        "book",
        "approval",
        "trader_authority",
        "perpetual_program",
    ]);
    let creator = x.creator.pubkey();
    let [_, ix] =
        orderbook::sdk::create_book(&creator, &admin, &exchange, &sol.market, &x.zero_book, 0, ZERO_BOOK_ARGS);
    v.push(base("book.create_book", ix, create_slots.clone()));
    let [_, ix] =
        orderbook::sdk::create_book(&creator, &admin, &exchange, &rsk.market, &x.zero_book, 0, ZERO_BOOK_ARGS);
    v.push(Base { valid: false, ..base("book.create_book:registered", ix, create_slots) });

    // `b` holds a seat in BOOK (its bid of 2 lots at 95 covered by its allowance). Its orders
    // name a free seat as the hint: `b`'s own seat is found by a scan, and a fabricated copy
    // of its account (another key) claims the free seat, so that perpetual prices it.
    let (b, venue) = (&x.b, x.bk.venue);
    let bk_own = Some((bk.market, bk.oracle));
    let free = env.seat_for(&x.bk, &Pubkey::new_unique()).await;
    assert_ne!(free, env.seat_for(&x.bk, &b.margin_account).await, "b holds a seat");
    let b_health = env.health_for(b, &x.bk).await;
    // A bid of 3 beyond the seat's allowance (2 lots at 95): it grows to 5 (set_seat_allowance,
    // priced). The fabricated copies carry `b`'s allowance of 2 in perpetual, and claim a fresh
    // seat: 3 lots are a growth for them too, so perpetual prices them (1 lot would shrink
    // their allowance, which needs no health check).
    let args = PlaceOrderArgs { seat_hint: free, ..order(BookSide::Bid, 90, 3, OrderType::PostOnly) };
    let ix = orderbook::sdk::place_order(&venue, &b.key(), &b.margin_account, args, b_health.clone());
    let order_base = |key, ix| Base {
        health: Some((9, "margin_account")),
        own_market: bk_own,
        ..base(key, ix, order_health_slots())
    };
    v.push(order_base("book.place_order", ix));
    // A take of one lot of `bm`'s ask (settle_book_take, health).
    let args = PlaceOrderArgs { seat_hint: free, ..order(BookSide::Bid, 105, 1, OrderType::FillOrKill) };
    let ix = orderbook::sdk::place_order(&venue, &b.key(), &b.margin_account, args, b_health.clone());
    v.push(Base { cover: true, ..order_base("book.place_order:taker", ix) });
    let ix = orderbook::sdk::cancel_order(&venue, &b.key(), &b.margin_account, BookSide::Bid, x.b_key);
    v.push(base("book.cancel_order", ix, names(&ORDER_SLOTS)));
    let ix = orderbook::sdk::cancel_order_by_client_id(&venue, &b.key(), &b.margin_account, 7);
    v.push(base("book.cancel_order_by_client_id", ix, names(&ORDER_SLOTS)));
    let ix = orderbook::sdk::cancel_all_orders(&venue, &b.key(), &b.margin_account, 10);
    v.push(base("book.cancel_all_orders", ix, names(&ORDER_SLOTS)));
    // FIN's book holds `fv`'s void bid (and `fs`'s live one): one order to prune.
    let data = env.book_data(&s.fin_book).await;
    let fin_bids = orderbook::decode::l3(&orderbook::state::BookRef::parse(&data).expect("FIN's book"), BookSide::Bid);
    assert_eq!(fin_bids.iter().map(|o| o.live).collect::<Vec<_>>(), [true, false], "fs's bid live, fv's void");
    let ix = orderbook::sdk::prune_stale_orders(&s.fin_book.venue.book, 10);
    v.push(base("book.prune_stale_orders", ix, names(&["book"])));
    // The bid of 2 at 95 replaced by 3 at 93: beyond the allowance, which grows.
    let args = PlaceOrderArgs { seat_hint: free, ..order(BookSide::Bid, 93, 3, OrderType::PostOnly) };
    let ix = orderbook::sdk::replace_order(
        &venue,
        &b.key(),
        &b.margin_account,
        BookSide::Bid,
        x.b_key,
        args,
        b_health.clone(),
    );
    v.push(order_base("book.replace_order", ix));
    let ix = orderbook::sdk::liquidate_order(&x.rsk.venue, &keeper, &x.lq.margin_account, 1, 85, lq_health.clone());
    v.push(Base {
        health: Some((9, "margin_account")),
        own_market: own,
        ..base("book.liquidate_order", ix, order_health_slots())
    });
    let slots = names(&["book", "market", "oracle", "exchange", "approval", "trader_authority", "perpetual_program"]);
    v.push(base("book.sample_mark", orderbook::sdk::sample_mark(&venue), slots));
    let ix =
        orderbook::sdk::early_deleverage(&x.rsk.venue, &x.lq.margin_account, &x.cp.margin_account, &da, 100, lq_health);
    let slots = health_names(
        &[
            "book",
            "market",
            "oracle",
            "exchange",
            "approval",
            "trader_authority",
            "margin_account",
            "counterparty",
            "authority",
            "perpetual_program",
        ],
        4,
    );
    v.push(Base { health: Some((10, "margin_account")), own_market: own, ..base("book.early_deleverage", ix, slots) });
    let close_slots = names(&["creator", "book", "market"]);
    let ix = orderbook::sdk::close_book(&creator, &x.clos.venue.book, &x.clos.market.market);
    v.push(base("book.close_book", ix, close_slots.clone()));
    // A book with no seat whose market is active.
    let ix = orderbook::sdk::close_book(&creator, &s.idle.venue.book, &s.idle.market.market);
    v.push(Base { valid: false, ..base("book.close_book:active", ix, close_slots.clone()) });
    // A book of a settled market where `fs` still holds a seat.
    let ix = orderbook::sdk::close_book(&creator, &s.fin_book.venue.book, &s.fin_book.market.market);
    v.push(Base { valid: false, ..base("book.close_book:seats", ix, close_slots) });

    // ---- seats ----
    // set_allowance: `b` may bid 4 lots at 95 (its bid of 2 rests): a growth, priced.
    let allowance =
        AllowanceArgs { seat_hint: free, bid_lots: 4, ask_lots: 0, bid_limit_ticks: 95, ask_limit_ticks: 0 };
    let ix = orderbook::sdk::set_allowance(&venue, &b.key(), &b.margin_account, allowance, b_health.clone());
    v.push(order_base("book.set_allowance", ix));
    // Below the 2 lots resting.
    let below = AllowanceArgs { bid_lots: 1, ..allowance };
    let ix = orderbook::sdk::set_allowance(&venue, &b.key(), &b.margin_account, below, b_health);
    v.push(Base { valid: false, ..order_base("book.set_allowance:below_orders", ix) });

    // settle_seats: `bm`'s seat, which sold one lot to `bt`.
    let bm_seat = env.seat_for(&x.bk, &x.bm.margin_account).await;
    let pending = env.seat_of(&x.bk, &x.bm.margin_account).await.expect("bm's seat").pending();
    assert_eq!((pending.bid_lots, pending.ask_lots), (0, 1), "bm's seat holds the lot it sold");
    let seats_slots =
        names(&["book", "market", "exchange", "approval", "trader_authority", "perpetual_program", "seat[0]"]);
    let ix = orderbook::sdk::settle_seats(&venue, vec![bm_seat], &[x.bm.margin_account]);
    v.push(base("book.settle_seats", ix, seats_slots.clone()));
    // A seat named without its account, and a seat index beyond the table.
    let ix = orderbook::sdk::settle_seats(&venue, vec![bm_seat], &[]);
    v.push(Base { valid: false, ..base("book.settle_seats:no_account", ix, seats_slots[..6].to_vec()) });
    let ix = orderbook::sdk::settle_seats(&venue, vec![64], &[x.bm.margin_account]);
    v.push(Base { valid: false, ..base("book.settle_seats:out_of_range", ix, seats_slots) });

    // revoke_seat: anyone revokes `rv`'s seat in RSK (below maintenance).
    let rv_seat = env.seat_for(&x.rsk, &s.rv.margin_account).await;
    let rv_health = env.health_metas(&s.rv.margin_account, &[rsk.market]).await;
    assert_eq!(rv_health.len(), 4, "rv holds SOL and ETH besides RSK");
    let ix = orderbook::sdk::revoke_seat(&x.rsk.venue, &keeper, &s.rv.margin_account, rv_seat, rv_health);
    v.push(Base {
        health: Some((9, "margin_account")),
        own_market: own,
        ..base("book.revoke_seat", ix, order_health_slots())
    });
    // `b` is healthy and BOOK active: its seat is not revocable.
    let b_seat = env.seat_for(&x.bk, &b.margin_account).await;
    let health = env.health_for(b, &x.bk).await;
    let ix = orderbook::sdk::revoke_seat(&venue, &keeper, &b.margin_account, b_seat, health);
    v.push(Base { valid: false, ..base("book.revoke_seat:healthy", ix, order_health_slots()) });
    // In a settled market anyone revokes without health accounts: `fs`'s seat in FIN.
    let fs_seat = env.seat_for(&s.fin_book, &s.fs.margin_account).await;
    let ix = orderbook::sdk::revoke_seat(&s.fin_book.venue, &keeper, &s.fs.margin_account, fs_seat, vec![]);
    v.push(base("book.revoke_seat:settled", ix, names(&ORDER_SLOTS)));

    // reclaim_seat: anyone takes RCL's only seat, idle, from `rc`.
    let ix = orderbook::sdk::reclaim_seat(&s.rcl.venue, &keeper, &s.rc.margin_account, 0);
    v.push(base("book.reclaim_seat", ix, names(&ORDER_SLOTS)));
    // `bm`'s seat holds orders, and BOOK has free seats.
    let ix = orderbook::sdk::reclaim_seat(&venue, &keeper, &x.bm.margin_account, bm_seat);
    v.push(Base { valid: false, ..base("book.reclaim_seat:busy", ix, names(&ORDER_SLOTS)) });
    v
}
