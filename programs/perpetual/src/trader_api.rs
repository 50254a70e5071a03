//! The contract a trader program sees: how it proves itself, what it sends to
//! `settle_fills` and what comes back.
//!
//! - A trader program is approved by the admin (`approve_trader`) and signs with its PDA
//!   at seed [`TRADER_SEED`] through `invoke_signed`.
//! - `settle_fills` takes [`SettleFillsArgs`]: at most [`MAX_FILLS`] fills, each naming a
//!   maker among the instruction's first `maker_count` remaining accounts.
//! - Its return data is one [`FillResult`] byte per fill, in order ([`FillResult::from_u8`] reads one). A
//!   refused maker fill is reported, not applied; every other fill applies.
use anchor_lang::prelude::*;

/// Seed of the PDA with which an approved trader program signs settlements.
pub const TRADER_SEED: &[u8] = b"trader";

/// Most fills one `settle_fills` batch may carry.
pub const MAX_FILLS: usize = 64;

/// Which way the taker trades.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// The taker buys from a resting ask.
    Bid,
    /// The taker sells into a resting bid.
    Ask,
}

/// One fill of a batch. Makers are the instruction's remaining accounts `[0, maker_count)`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct Fill {
    pub maker_index: u8,
    pub taker_side: Side,
    pub base_lots: u64,
    /// Quote native units per base lot.
    pub price_per_lot: u64,
}

/// Gives back a maker's reserved lots (an order cancelled or expired during matching).
/// Decreases saturate at zero: liquidation may already have cleared the reservation.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct Release {
    pub maker_index: u8,
    pub bid_lots: u64,
    pub ask_lots: u64,
}

/// Per-fill outcome, one byte each in the instruction's return data (its variant index).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FillResult {
    Applied,
    /// The maker holds no position slot or too small a reservation for this fill.
    MakerReservationMissing,
    /// The market is reduce-only and this fill would grow the maker's position.
    MakerWouldIncrease,
    /// The maker's position holds a seat allowance: it trades only through the market's book.
    MakerSeatOpen,
}

impl FillResult {
    /// The result a return-data byte stands for; `None` for an unknown byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        [Self::Applied, Self::MakerReservationMissing, Self::MakerWouldIncrease, Self::MakerSeatOpen]
            .get(v as usize)
            .copied()
    }
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SettleFillsArgs {
    /// Remaining accounts `[0, maker_count)` are makers; the rest are the taker's health accounts.
    pub maker_count: u8,
    pub fills: Vec<Fill>,
    pub releases: Vec<Release>,
    /// Change of the taker's own reservation in this market (a resting remainder).
    pub taker_bid_delta: i64,
    pub taker_ask_delta: i64,
    /// A liquidation through the book: the taker is an account below maintenance, anyone
    /// may sign as `taker_authority`, its reservations are cleared, every fill must shrink
    /// its position without flipping it, and it pays the liquidation fee to the insurance
    /// fund instead of the taker fee.
    pub liquidation: bool,
}

// ---- The market's book: seats that keep makers' fills until they settle ----
//
// The trader program that registered a market's book (`register_book`) keeps, for every
// margin account quoting there, a seat: its allowance (mirrored in the account's `Position`
// for that market) and the fills it made that `perpetual` has not applied yet. Only that
// program may change a seat allowance or settle seats. `docs/seats.md` has the design.

/// A seat's fills not yet applied: lots bought and sold, the quote (`- sum(bought * price)
/// + sum(sold * price)`), the maker fees (each fill's `math::fees::fee`, summed; negative:
/// rebates) and the funding weight `sum(signed lots * I_fill)` in I80F48 bits, where
/// `I_fill` is the market's funding index after the fill's own settlement.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeatPending {
    pub bid_lots: u64,
    pub ask_lots: u64,
    pub quote: i64,
    pub fees: i64,
    pub funding_weight_bits: i128,
}

impl SeatPending {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Who changes a seat allowance, and why.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum AllowanceChange {
    /// The account's owner or delegate signs; a larger allowance (more lots, or a limit
    /// worse for the account) needs initial health >= 0 with orders at their worst case.
    Owner,
    /// Anyone: the allowance goes to zero because the account is below maintenance (orders
    /// at their worst case) or the market is settled, before a risk path acts on it.
    Revoke,
    /// Anyone, through the book only when the seat holds no order and no pending fill: the
    /// allowance goes to zero so the seat can serve another account.
    Reclaim,
}

/// `set_seat_allowance`: settles the seat's pending fills, then sets the allowance.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct SeatAllowanceArgs {
    pub pending: SeatPending,
    pub change: AllowanceChange,
    pub bid_lots: u64,
    pub ask_lots: u64,
    /// Quote native per lot: bids fill at most at `bid_limit`, asks at least at `ask_limit`.
    pub bid_limit: u64,
    pub ask_limit: u64,
}

/// `settle_book_take`: the taker's side of fills against seats, summed over the take.
/// The makers' side is in their seats; `perpetual` moves it into the market's pending
/// totals.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct BookTakeArgs {
    pub taker_side: Side,
    /// Lots filled, and their quote `sum(lots * price)`.
    pub base_lots: u64,
    pub quote: u64,
    /// The makers' fees of these fills, as their seats recorded them.
    pub maker_fees: i64,
    pub fills: u32,
    /// Lowest and highest fill price (each must lie in the band), and the last one.
    pub min_price: u64,
    pub max_price: u64,
    pub last_price: u64,
    /// The change of `sum(long part of position)` over the makers' seats: each seat holds
    /// its account's settled position, so open interest stays exact.
    pub makers_long_change: i64,
    /// A liquidation through the book (see `SettleFillsArgs::liquidation`).
    pub liquidation: bool,
    /// The taker's own seat in the book, when it has one: its pending fills settle first,
    /// so the take is judged on the position they make.
    pub taker_pending: SeatPending,
}
