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
}

impl FillResult {
    /// The result a return-data byte stands for; `None` for an unknown byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        [Self::Applied, Self::MakerReservationMissing, Self::MakerWouldIncrease].get(v as usize).copied()
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
