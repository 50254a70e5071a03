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
        maker_count: 0,
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

    /// `place_order` for `user` with `makers` and the user's health accounts.
    pub async fn place_ix(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        mut args: PlaceOrderArgs,
        makers: &[Pubkey],
    ) -> Instruction {
        args.seat_hint = self.seat_for(book, &user.margin_account).await;
        let health = self.health_metas(&user.margin_account, &[book.market.market]).await;
        sdk::place_order(&book.venue, &user.key(), &user.margin_account, args, makers, health)
    }

    pub async fn place(
        &mut self,
        user: &UserCookie,
        book: &BookCookie,
        args: PlaceOrderArgs,
        makers: &[Pubkey],
    ) -> Result<Placed, TransactionError> {
        let ix = self.place_ix(user, book, args, makers).await;
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
        let placed = self
            .place(user, book, order(side, price_ticks, lots, OrderType::PostOnly), &[])
            .await
            .expect("resting order");
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

/// Checks the book against the margin accounts: every seat's open size equals its orders,
/// every position's reservation equals its orders of the account's current reservation
/// epoch (older ones lost theirs to a liquidation), and both trees are sound.
pub async fn check_book(env: &mut TestEnv, book: &BookCookie) {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    b.bids.check_invariants().expect("bids tree");
    b.asks.check_invariants().expect("asks tree");
    for (i, seat) in b.seats.iter().enumerate() {
        let orders: Vec<_> = [Side::Bid, Side::Ask]
            .into_iter()
            .flat_map(|side| orderbook::decode::l3(&b, side))
            .filter(|o| o.margin_account == seat.margin_account && !seat.is_free())
            .collect();
        let bids: u64 = orders.iter().filter(|o| o.side == Side::Bid).map(|o| o.base_lots).sum();
        let asks: u64 = orders.iter().filter(|o| o.side == Side::Ask).map(|o| o.base_lots).sum();
        if seat.is_free() {
            continue;
        }
        assert_eq!(
            (seat.open_bid_lots, seat.open_ask_lots, seat.order_count as usize),
            (bids, asks, orders.len()),
            "seat {i}"
        );
        let epoch = env.margin(&seat.margin_account).await.0.reservation_epoch;
        let live =
            |side| orders.iter().filter(|o| o.side == side && o.epoch == epoch).map(|o| o.base_lots).sum::<u64>();
        let pos = env.position(&seat.margin_account, &book.market.market).await;
        assert_eq!(
            (pos.open_bid_lots, pos.open_ask_lots),
            (live(Side::Bid), live(Side::Ask)),
            "reservation of seat {i} matches its live orders"
        );
    }
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
