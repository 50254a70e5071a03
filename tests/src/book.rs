//! Order-book fixtures: creating books, placing and cancelling through the real program.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use orderbook::instructions::{CreateBookArgs, OrderType, PlaceOrderArgs};
use orderbook::sdk::{self, Venue};
use orderbook::state::{BookRef, Side};
use orderbook::SelfTradeBehavior;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

use crate::env::{MarketCookie, TestEnv, UserCookie};

/// One tick is 10_000 quote native per lot: $0.01 on a $1-per-lot market.
pub const TICK: u64 = 10_000;

#[derive(Clone, Copy, Debug)]
pub struct BookCookie {
    pub venue: Venue,
    pub market: MarketCookie,
}

pub fn book_args(side_capacity: u32, max_orders_per_account: u16) -> CreateBookArgs {
    CreateBookArgs { tick_size: TICK, min_base_lots: 1, side_capacity, seat_capacity: 64, max_orders_per_account }
}

/// A limit order, decrement-take self-trade behaviour, no expiry.
pub fn order(side: Side, price_ticks: u64, base_lots: u64, order_type: OrderType) -> PlaceOrderArgs {
    PlaceOrderArgs {
        side,
        price_ticks,
        base_lots,
        order_type,
        reduce_only: false,
        self_trade: SelfTradeBehavior::DecrementTake,
        client_order_id: 0,
        expiry_ts: 0,
        seat_hint: 0,
    }
}

/// What a placed order returned: its resting key (0 if none) and the lots it filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub key: u128,
    pub filled: u64,
}

impl TestEnv {
    pub async fn create_book(&mut self, market: &MarketCookie, args: CreateBookArgs) -> BookCookie {
        let book = Keypair::new();
        let space = orderbook::state::Book::space(args.side_capacity, args.seat_capacity);
        let rent = self.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
        let admin = self.admin.insecure_clone();
        let payer = self.ctx.payer.pubkey();
        let ixs = sdk::create_book(&payer, &admin.pubkey(), &self.exchange, &market.market, &book.pubkey(), rent, args);
        self.process(&ixs, &[&admin, &book]).await.expect("create book");
        let cookie = BookCookie {
            venue: Venue { book: book.pubkey(), market: market.market, oracle: market.oracle, exchange: self.exchange },
            market: *market,
        };
        self.books.push(cookie);
        cookie
    }

    /// A $1 market (price band 25%: 75..125 ticks) with a book of the given capacity.
    pub async fn market_with_book(&mut self, symbol: &str, side_capacity: u32) -> BookCookie {
        let mut args = crate::env::market_args(symbol, perpetual::OracleKind::SetPrice);
        args.price_band_bps = 2_500;
        let m = self.create_market_with(args, 1_000_000).await;
        self.create_book(&m, book_args(side_capacity, 64)).await
    }

    pub async fn book_data(&mut self, book: &BookCookie) -> Vec<u8> {
        self.account_data(&book.venue.book).await
    }

    /// The account's seat, or the first free one.
    pub async fn seat_for(&mut self, book: &BookCookie, margin_account: &Pubkey) -> u32 {
        let data = self.book_data(book).await;
        let b = BookRef::parse(&data).expect("book");
        orderbook::decode::seat_hint(&b, margin_account).expect("a free seat")
    }

    /// `place_order` for `user` with the user's health accounts.
    pub async fn place_ix(&mut self, user: &UserCookie, book: &BookCookie, mut args: PlaceOrderArgs) -> Instruction {
        args.seat_hint = self.seat_for(book, &user.margin_account).await;
        let health = self.health_metas(&user.margin_account, &[book.market.market]).await;
        sdk::place_order(&book.venue, &user.key(), &user.margin_account, args, health)
    }

    pub async fn place(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        args: PlaceOrderArgs,
    ) -> Result<Placed, TransactionError> {
        let ix = self.place_ix(user, book, args).await;
        let out = self.process(&[ix], &[&user.owner]).await?;
        Ok(placed(&out.return_data))
    }

    /// Rests a maker order (post-only) and returns its key.
    pub async fn rest(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        side: Side,
        price_ticks: u64,
        lots: u64,
    ) -> u128 {
        let placed =
            self.place(user, book, order(side, price_ticks, lots, OrderType::PostOnly)).await.expect("resting order");
        assert_ne!(placed.key, 0, "order rests");
        placed.key
    }

    pub async fn cancel(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        side: Side,
        key: u128,
    ) -> Result<(), TransactionError> {
        let ix = sdk::cancel_order(&book.venue, &user.key(), &user.margin_account, side, key);
        self.process(&[ix], &[&user.owner]).await.map(|_| ())
    }

    /// Settles every seat of `book` holding pending fills (the keeper's crank), so that makers'
    /// positions show in their margin accounts.
    pub async fn settle_seats(&mut self, book: &BookCookie) {
        let data = self.book_data(book).await;
        let b = BookRef::parse(&data).expect("book");
        let pending = orderbook::decode::seats_with_pending(&b);
        for batch in pending.chunks(16) {
            let seats = batch.iter().map(|(i, _)| *i).collect();
            let accounts: Vec<Pubkey> = batch.iter().map(|(_, k)| *k).collect();
            let ix = sdk::settle_seats(&book.venue, seats, &accounts);
            self.process(&[ix], &[]).await.expect("settle seats");
        }
    }

    /// The account's seat in `book`, if it holds one.
    pub async fn seat_of(&mut self, book: &BookCookie, margin_account: &Pubkey) -> Option<orderbook::state::Seat> {
        let data = self.book_data(book).await;
        let b = BookRef::parse(&data).expect("book");
        b.seats.iter().find(|s| s.margin_account == *margin_account).copied()
    }

    /// Sets `user`'s seat allowance in `book` (lots per side, limits in ticks).
    pub async fn set_allowance(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        bid_lots: u64,
        ask_lots: u64,
        bid_limit_ticks: u64,
        ask_limit_ticks: u64,
    ) -> Result<(), TransactionError> {
        let seat_hint = self.seat_for(book, &user.margin_account).await;
        let args =
            orderbook::instructions::AllowanceArgs { seat_hint, bid_lots, ask_lots, bid_limit_ticks, ask_limit_ticks };
        let health = self.health_metas(&user.margin_account, &[book.market.market]).await;
        let ix = sdk::set_allowance(&book.venue, &user.key(), &user.margin_account, args, health);
        self.process(&[ix], &[&user.owner]).await.map(|_| ())
    }

    /// Health metas, re-exported for building custom order instructions.
    pub async fn health_for(&mut self, user: &UserCookie, book: &BookCookie) -> Vec<AccountMeta> {
        self.health_metas(&user.margin_account, &[book.market.market]).await
    }
}

/// Decodes `place_order`'s return data.
pub fn placed(return_data: &[u8]) -> Placed {
    if return_data.len() != 24 {
        return Placed { key: 0, filled: 0 };
    }
    Placed {
        key: u128::from_le_bytes(return_data[..16].try_into().unwrap()),
        filled: u64::from_le_bytes(return_data[16..].try_into().unwrap()),
    }
}

/// Checks the book against the margin accounts (`docs/seats.md`): both trees are sound;
/// every live seat's open lots and order count equal its live orders, which its allowance
/// covers (open plus pending lots per side, each order within the side's limit); the seat
/// mirrors its account's position and allowance in `perpetual`; and the seats' pending lots
/// sum to the market's `pending_seat_lots`.
pub async fn check_book(env: &mut TestEnv, book: &BookCookie) {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    b.bids.check_invariants().expect("bids tree");
    b.asks.check_invariants().expect("asks tree");
    let tick = b.header.tick_size;
    let mut pending_lots = 0i64;
    for (i, seat) in b.seats.iter().enumerate() {
        if seat.is_free() {
            assert!(seat.pending().is_empty() && seat.order_count == 0, "free seat {i} holds nothing");
            continue;
        }
        let orders: Vec<_> = [Side::Bid, Side::Ask]
            .into_iter()
            .flat_map(|side| orderbook::decode::l3(&b, side))
            .filter(|o| o.live && o.margin_account == seat.margin_account)
            .collect();
        let bids: u64 = orders.iter().filter(|o| o.side == Side::Bid).map(|o| o.base_lots).sum();
        let asks: u64 = orders.iter().filter(|o| o.side == Side::Ask).map(|o| o.base_lots).sum();
        assert_eq!(
            (seat.open_bid_lots, seat.open_ask_lots, seat.order_count as usize),
            (bids, asks, orders.len()),
            "seat {i}"
        );
        assert!(seat.open_bid_lots + seat.pending_bid_lots <= seat.allowed_bid_lots, "seat {i} bids covered");
        assert!(seat.open_ask_lots + seat.pending_ask_lots <= seat.allowed_ask_lots, "seat {i} asks covered");
        for o in &orders {
            let p = o.price_ticks * tick;
            match o.side {
                Side::Bid => assert!(p <= seat.bid_limit, "seat {i}: a bid above its limit"),
                Side::Ask => assert!(p >= seat.ask_limit, "seat {i}: an ask below its limit"),
            }
        }
        let pos = env.position(&seat.margin_account, &book.market.market).await;
        assert_eq!(pos.base_lots, seat.position, "seat {i} mirrors the settled position");
        assert_eq!(
            (pos.seat_bid_lots, pos.seat_ask_lots, pos.seat_bid_limit, pos.seat_ask_limit),
            (seat.allowed_bid_lots, seat.allowed_ask_lots, seat.bid_limit, seat.ask_limit),
            "seat {i} mirrors the allowance"
        );
        pending_lots += seat.pending_lots();
    }
    let market = env.market_state(&book.market.market).await;
    assert_eq!(market.pending_seat_lots, pending_lots, "the seats' pending lots are the market's");
}

// ---- risk-mechanics helpers ----

impl TestEnv {
    /// Creates `market`'s book signed by `authority` (the market's lister or the admin).
    pub async fn create_book_as(
        &mut self,
        market: &MarketCookie,
        args: CreateBookArgs,
        authority: &Keypair,
    ) -> Result<BookCookie, TransactionError> {
        let book = Keypair::new();
        let space = orderbook::state::Book::space(args.side_capacity, args.seat_capacity);
        let rent = self.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
        let payer = self.ctx.payer.pubkey();
        let ixs =
            sdk::create_book(&payer, &authority.pubkey(), &self.exchange, &market.market, &book.pubkey(), rent, args);
        self.process(&ixs, &[authority, &book]).await?;
        let cookie = BookCookie {
            venue: Venue { book: book.pubkey(), market: market.market, oracle: market.oracle, exchange: self.exchange },
            market: *market,
        };
        self.books.push(cookie);
        Ok(cookie)
    }

    /// The permissionless mark crank on `book`.
    pub async fn sample_mark(&mut self, book: &BookCookie) -> Result<crate::env::TxOutput, TransactionError> {
        let ix = sdk::sample_mark(&book.venue);
        self.process(&[ix], &[]).await
    }
}
