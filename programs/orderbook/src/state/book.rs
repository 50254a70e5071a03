use core::cell::RefMut;

use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use critbit::{Critbit, CritbitRef};
use perpetual::math::PodI80F48;
use perpetual::state::DISCRIMINATOR_LEN;
use perpetual::trader_api::SeatPending;

use crate::error::BookError;
use crate::state::keys::Side;

/// Book header; the bids tree, the asks tree and the seat table follow it.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Book {
    pub exchange: Pubkey,
    /// The perpetual market this book trades.
    pub market: Pubkey,
    pub oracle: Pubkey,
    /// Quote native units per base lot per tick.
    pub tick_size: u64,
    pub min_base_lots: u64,
    /// Next order sequence number.
    pub seq_num: u64,
    pub fills: u64,
    pub side_capacity: u32,
    pub seat_capacity: u32,
    pub max_orders_per_account: u16,
    pub trader_bump: u8,
    pub _padding: [u8; 5],
    /// Who paid the book's rent; it returns to them when the book closes.
    pub creator: Pubkey,
    pub reserved: [u8; 96],
}
const _: () = assert!(core::mem::size_of::<Book>() == 3 * 32 + 4 * 8 + 2 * 4 + 8 + 32 + 96);
const _: () = assert!(HEADER_LEN.is_multiple_of(8));

/// A resting order: the critbit payload.
#[zero_copy]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Order {
    /// Index into the seat table: whose order this is.
    pub seat: u32,
    /// The seat's generation when the order rested. A revoked or reassigned seat moves to
    /// the next generation, and an order of an older one is void: removed when met.
    pub generation: u32,
    pub base_lots: u64,
    pub client_order_id: u64,
    /// Unix time after which the order is void; 0 never expires.
    pub expiry_ts: i64,
}
const _: () = assert!(core::mem::size_of::<Order>() == 32);

/// A margin account's place at the book, and its ledger there (`docs/seats.md`): its
/// resting orders, the allowance `perpetual` granted it, and the fills it made that
/// `perpetual` has not applied yet.
#[zero_copy]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seat {
    /// The default pubkey: a free seat.
    pub margin_account: Pubkey,
    /// The account's settled position in the market: a position with a seat allowance
    /// changes only through this book, which keeps this in step.
    pub position: i64,
    /// Lots of the seat's resting orders, per side.
    pub open_bid_lots: u64,
    pub open_ask_lots: u64,
    /// The allowance, as `perpetual` holds it: lots that may fill per side before the next
    /// settlement, bids at most at `bid_limit`, asks at least at `ask_limit` (quote native
    /// per lot). Open plus pending lots never exceed it.
    pub allowed_bid_lots: u64,
    pub allowed_ask_lots: u64,
    pub bid_limit: u64,
    pub ask_limit: u64,
    /// Fills not yet settled into the margin account (`perpetual::trader_api::SeatPending`).
    pub pending_bid_lots: u64,
    pub pending_ask_lots: u64,
    pub pending_quote: i64,
    pub pending_fees: i64,
    pub pending_funding_weight: PodI80F48,
    pub generation: u32,
    pub order_count: u16,
    pub _padding: [u8; 2],
    pub reserved: [u8; 8],
}
const _: () = assert!(core::mem::size_of::<Seat>() == 152);

pub const HEADER_LEN: usize = DISCRIMINATOR_LEN + core::mem::size_of::<Book>();
pub const MIN_SIDE_CAPACITY: u32 = 16;
pub const MAX_SIDE_CAPACITY: u32 = 8_192;
/// Most seats (distinct margin accounts with resting orders) a book may have.
pub const MAX_SEAT_CAPACITY: u32 = 65_536;

impl Book {
    pub fn side_space(capacity: u32) -> usize {
        critbit::space::<Order>(capacity)
    }

    pub fn space(side_capacity: u32, seat_capacity: u32) -> usize {
        HEADER_LEN + 2 * Self::side_space(side_capacity) + seat_capacity as usize * core::mem::size_of::<Seat>()
    }

    /// The book must trade `market` on `exchange`.
    pub fn check_venue(&self, market: &Pubkey, exchange: &Pubkey) -> Result<()> {
        require_keys_eq!(self.market, *market, BookError::WrongBook);
        require_keys_eq!(self.exchange, *exchange, BookError::WrongBook);
        Ok(())
    }
}

impl Seat {
    pub fn is_free(&self) -> bool {
        self.margin_account == Pubkey::default()
    }

    pub fn open_lots_mut(&mut self, side: Side) -> &mut u64 {
        match side {
            Side::Bid => &mut self.open_bid_lots,
            Side::Ask => &mut self.open_ask_lots,
        }
    }

    /// The fills held for `perpetual`.
    pub fn pending(&self) -> SeatPending {
        SeatPending {
            bid_lots: self.pending_bid_lots,
            ask_lots: self.pending_ask_lots,
            quote: self.pending_quote,
            fees: self.pending_fees,
            funding_weight_bits: self.pending_funding_weight.get().to_bits(),
        }
    }

    pub fn clear_pending(&mut self) {
        self.pending_bid_lots = 0;
        self.pending_ask_lots = 0;
        self.pending_quote = 0;
        self.pending_fees = 0;
        self.pending_funding_weight = PodI80F48::default();
    }

    /// Net lots bought and not settled.
    pub fn pending_lots(&self) -> i64 {
        self.pending_bid_lots as i64 - self.pending_ask_lots as i64
    }

    /// The position the account holds once its pending fills settle.
    pub fn effective_position(&self) -> i64 {
        self.position.saturating_add(self.pending_lots())
    }

    /// Lots the allowance still covers on `side` beyond open orders and pending fills.
    pub fn room(&self, side: Side) -> u64 {
        match side {
            Side::Bid => self.allowed_bid_lots.saturating_sub(self.open_bid_lots + self.pending_bid_lots),
            Side::Ask => self.allowed_ask_lots.saturating_sub(self.open_ask_lots + self.pending_ask_lots),
        }
    }

    /// True when `price_per_lot` is within the allowance's limit on `side`.
    pub fn within_limit(&self, side: Side, price_per_lot: u64) -> bool {
        match side {
            Side::Bid => price_per_lot <= self.bid_limit,
            Side::Ask => price_per_lot >= self.ask_limit,
        }
    }

    /// Nothing rests and nothing is pending: the seat can be given up or reassigned.
    pub fn is_idle(&self) -> bool {
        self.order_count == 0 && self.open_bid_lots == 0 && self.open_ask_lots == 0 && self.pending().is_empty()
    }
}

/// The book borrowed mutably from its account and split into its parts.
pub struct BookMut<'a> {
    data: RefMut<'a, &'a mut [u8]>,
}

pub struct BookParts<'b> {
    pub header: &'b mut Book,
    pub bids: Critbit<'b, Order>,
    pub asks: Critbit<'b, Order>,
    pub seats: &'b mut [Seat],
}

impl<'b> BookParts<'b> {
    pub fn side(&mut self, side: Side) -> &mut Critbit<'b, Order> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }
}

fn bad<E>(_: E) -> Error {
    error!(BookError::InvalidBookData)
}

impl<'a> BookMut<'a> {
    pub fn load(info: &'a AccountInfo<'a>) -> Result<Self> {
        require_keys_eq!(*info.owner, crate::ID, BookError::WrongOwner);
        let data = info.try_borrow_mut_data()?;
        require!(
            data.len() >= HEADER_LEN && &data[..DISCRIMINATOR_LEN] == Book::DISCRIMINATOR,
            BookError::InvalidBookData
        );
        Ok(Self { data })
    }

    /// Wraps data whose discriminator is not written yet (`create_book` only).
    pub fn unchecked(data: RefMut<'a, &'a mut [u8]>) -> Self {
        Self { data }
    }

    pub fn header(&self) -> Result<&Book> {
        bytemuck::try_from_bytes(&self.data[DISCRIMINATOR_LEN..HEADER_LEN]).map_err(bad)
    }

    pub fn parts(&mut self) -> Result<BookParts<'_>> {
        let (head, rest) = self.data.split_at_mut(HEADER_LEN);
        let header: &mut Book = bytemuck::try_from_bytes_mut(&mut head[DISCRIMINATOR_LEN..]).map_err(bad)?;
        let side_len = Book::side_space(header.side_capacity);
        let seats_len = header.seat_capacity as usize * core::mem::size_of::<Seat>();
        require!(rest.len() >= 2 * side_len + seats_len, BookError::InvalidBookData);
        let (bids, rest) = rest.split_at_mut(side_len);
        let (asks, rest) = rest.split_at_mut(side_len);
        Ok(BookParts {
            header,
            bids: Critbit::load(bids).map_err(bad)?,
            asks: Critbit::load(asks).map_err(bad)?,
            seats: bytemuck::try_cast_slice_mut(&mut rest[..seats_len]).map_err(bad)?,
        })
    }

    /// Lays out empty trees and seats in a zeroed account.
    pub fn init(&mut self, side_capacity: u32, seat_capacity: u32) -> Result<()> {
        let side_len = Book::side_space(side_capacity);
        let needed = Book::space(side_capacity, seat_capacity);
        require!(self.data.len() >= needed, BookError::InvalidBookParams);
        let rest = &mut self.data[HEADER_LEN..];
        let (bids, rest) = rest.split_at_mut(side_len);
        critbit::init::<Order>(bids, side_capacity).map_err(bad)?;
        critbit::init::<Order>(&mut rest[..side_len], side_capacity).map_err(bad)?;
        Ok(())
    }
}

/// Read-only view of a book's bytes, for the keeper and tests.
pub struct BookRef<'a> {
    pub header: &'a Book,
    pub bids: CritbitRef<'a, Order>,
    pub asks: CritbitRef<'a, Order>,
    pub seats: &'a [Seat],
}

impl<'a> BookRef<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        require!(
            data.len() >= HEADER_LEN && &data[..DISCRIMINATOR_LEN] == Book::DISCRIMINATOR,
            BookError::InvalidBookData
        );
        let header: &Book = bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..HEADER_LEN]).map_err(bad)?;
        let side_len = Book::side_space(header.side_capacity);
        let seats_len = header.seat_capacity as usize * core::mem::size_of::<Seat>();
        let rest = &data[HEADER_LEN..];
        require!(rest.len() >= 2 * side_len + seats_len, BookError::InvalidBookData);
        Ok(Self {
            header,
            bids: CritbitRef::load(&rest[..side_len]).map_err(bad)?,
            asks: CritbitRef::load(&rest[side_len..2 * side_len]).map_err(bad)?,
            seats: bytemuck::try_cast_slice(&rest[2 * side_len..2 * side_len + seats_len]).map_err(bad)?,
        })
    }

    pub fn side(&self, side: Side) -> &CritbitRef<'a, Order> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }
}
