//! Matching a taker against the opposite side of the book, fully on-chain.
//!
//! A fill touches only the book and the taker: the maker's side goes into its seat (lots,
//! quote, fee; its funding weight once `perpetual` has moved the index), and the taker's
//! side goes to `perpetual` in one `settle_book_take` per order (`docs/seats.md`). Every
//! resting order is covered by its seat's allowance, so no fill can be refused.
use anchor_lang::prelude::*;
use perpetual::math::fees;
use perpetual::math::price::{band_bounds, in_bounds};
use perpetual::math::I80F48;
use perpetual::trader_api::{BookTakeArgs, SeatPending};
use perpetual::Side as PerpSide;

use crate::error::BookError;
pub use crate::events::CancelReason;
use crate::events::{OrderCancelled, OrderExpired};
use crate::state::{crosses, opposite, price_of, BookParts, Order, Seat, Side};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum SelfTradeBehavior {
    /// Shrink both orders by the overlap without a trade.
    DecrementTake,
    /// Cancel the resting order and keep matching.
    CancelResting,
    /// Fail the whole instruction.
    AbortTransaction,
}

/// The oracle price and band that every fill must respect (the same test `perpetual` applies).
#[derive(Clone, Copy)]
pub struct Band {
    pub oracle_price_per_lot: I80F48,
    pub tick_size: u64,
    /// `band_bounds` of the oracle price, computed once per instruction.
    bounds: Option<(I80F48, I80F48)>,
}

impl Band {
    pub fn new(oracle_price_per_lot: I80F48, band_bps: u16, tick_size: u64) -> Self {
        Band { oracle_price_per_lot, tick_size, bounds: band_bounds(oracle_price_per_lot, band_bps) }
    }

    pub fn contains(&self, price_ticks: u64) -> bool {
        match price_ticks.checked_mul(self.tick_size) {
            Some(p) => in_bounds(p, self.bounds),
            None => false,
        }
    }

    /// True when `price_ticks` is outside the band on the side that favours a taker on `taker`.
    pub fn stale_for(&self, taker: Side, price_ticks: u64) -> bool {
        if self.contains(price_ticks) {
            return false;
        }
        let p = I80F48::from_num(price_ticks) * I80F48::from_num(self.tick_size);
        match taker {
            Side::Bid => p < self.oracle_price_per_lot,
            Side::Ask => p > self.oracle_price_per_lot,
        }
    }
}

pub struct Taker {
    pub side: Side,
    pub limit_ticks: u64,
    pub margin_account: Pubkey,
    pub self_trade: SelfTradeBehavior,
    pub now: i64,
    pub max_fills: usize,
    /// The market's maker fee (parts per million; negative: a rebate), charged per fill.
    pub maker_fee_ppm: i32,
    /// Whether a maker's fill may grow its position long, and short: not while the market
    /// is reduce-only or paused (or the exchange is), nor on a side whose leverage is
    /// disabled; such a fill may only bring the position toward zero.
    pub makers_grow: MakersGrow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MakersGrow {
    pub long: bool,
    pub short: bool,
}

impl MakersGrow {
    /// Lots of a fill on `resting` a maker at effective position `position` may take.
    fn room(self, resting: Side, position: i64) -> u64 {
        match resting {
            // A resting bid buys: it grows a long, or reduces a short.
            Side::Bid if !self.long => (-position).max(0) as u64,
            Side::Ask if !self.short => position.max(0) as u64,
            _ => u64::MAX,
        }
    }
}

/// A fill of a resting order: the maker's side is already in its seat.
#[derive(Clone, Copy, Debug)]
pub struct BookFill {
    pub key: u128,
    pub seat: u32,
    pub maker: Pubkey,
    pub price_ticks: u64,
    pub base_lots: u64,
    pub client_order_id: u64,
}

/// What a take did to the book, and what `perpetual` needs of it.
#[derive(Default)]
pub struct MatchResult {
    pub fills: Vec<BookFill>,
    /// Lots filled against other accounts, and their quote (`sum(lots * price)`).
    pub filled: u64,
    pub quote: u64,
    pub maker_fees: i64,
    pub min_price: u64,
    pub max_price: u64,
    pub last_price: u64,
    /// The change of `sum(long part of effective position)` over the makers' seats.
    pub makers_long_change: i64,
    /// Lots filled plus lots removed by decrement-take.
    pub consumed: u64,
    /// True when matching stopped at the band: the book may still cross the taker's price.
    pub blocked: bool,
}

impl MatchResult {
    /// The taker's side of the take, for `perpetual::settle_book_take`.
    pub fn take_args(&self, taker_side: Side, taker_pending: SeatPending, liquidation: bool) -> BookTakeArgs {
        BookTakeArgs {
            taker_side: match taker_side {
                Side::Bid => PerpSide::Bid,
                Side::Ask => PerpSide::Ask,
            },
            base_lots: self.filled,
            quote: self.quote,
            maker_fees: self.maker_fees,
            fills: self.fills.len() as u32,
            min_price: self.min_price,
            max_price: self.max_price,
            last_price: self.last_price,
            makers_long_change: self.makers_long_change,
            liquidation,
            taker_pending,
        }
    }
}

/// What became of a resting order whose lots leave its seat.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrderOutcome {
    /// It stays in the book with fewer lots.
    Shrunk,
    /// It left the book: the seat holds one order fewer.
    Removed,
}

/// Takes `lots` of a resting order off its seat. The seat keeps its allowance and pending
/// fills: it is freed only by an allowance change, a revoke or a reclaim.
pub fn seat_remove(seats: &mut [Seat], seat: u32, side: Side, lots: u64, outcome: OrderOutcome) -> Result<()> {
    let s = seats.get_mut(seat as usize).ok_or_else(|| error!(BookError::InvalidBookData))?;
    let open = s.open_lots_mut(side);
    *open = open.saturating_sub(lots);
    if outcome == OrderOutcome::Removed {
        s.order_count = s.order_count.saturating_sub(1);
    }
    Ok(())
}

/// True when the order belongs to its seat's current generation (a revoked or reassigned
/// seat voids its older orders).
pub fn is_live(seats: &[Seat], order: &Order) -> bool {
    seats.get(order.seat as usize).is_some_and(|s| s.generation == order.generation && !s.is_free())
}

/// Removes a whole resting order, keeping its seat's totals (a void order's seat has
/// nothing of it any more).
pub fn remove_order(parts: &mut BookParts, side: Side, key: u128) -> Result<Option<Order>> {
    let removed = parts.side(side).remove(key).map_err(|_| error!(BookError::InvalidBookData))?;
    if let Some(order) = removed {
        if is_live(parts.seats, &order) {
            seat_remove(parts.seats, order.seat, side, order.base_lots, OrderOutcome::Removed)?;
        }
    }
    Ok(removed)
}

fn long_part(lots: i64) -> i64 {
    lots.max(0)
}

/// Puts a fill of `lots` at `price_per_lot` into the maker's seat; returns its fee and the
/// change of the seat's long part.
fn book_into_seat(seat: &mut Seat, resting: Side, lots: u64, price_per_lot: u64, fee_ppm: i32) -> Result<(i64, i64)> {
    let overflow = || error!(BookError::MathOverflow);
    let quote = lots.checked_mul(price_per_lot).and_then(|q| i64::try_from(q).ok()).ok_or_else(overflow)?;
    let fee = fees::fee(quote, fee_ppm).map_err(|_| overflow())?;
    let before = seat.effective_position();
    match resting {
        Side::Bid => {
            seat.pending_bid_lots = seat.pending_bid_lots.checked_add(lots).ok_or_else(overflow)?;
            seat.pending_quote = seat.pending_quote.checked_sub(quote).ok_or_else(overflow)?;
        }
        Side::Ask => {
            seat.pending_ask_lots = seat.pending_ask_lots.checked_add(lots).ok_or_else(overflow)?;
            seat.pending_quote = seat.pending_quote.checked_add(quote).ok_or_else(overflow)?;
        }
    }
    seat.pending_fees = seat.pending_fees.checked_add(fee).ok_or_else(overflow)?;
    let after = seat.effective_position();
    Ok((fee, long_part(after) - long_part(before)))
}

/// Matches up to `max_lots` of the taker against the opposite side. Makers' fills go into
/// their seats at once; the taker's side is returned for `perpetual`.
pub fn match_order(
    parts: &mut BookParts,
    taker: &Taker,
    band: &Band,
    max_lots: u64,
    book_key: &Pubkey,
) -> Result<MatchResult> {
    let resting = opposite(taker.side);
    let mut out = MatchResult { fills: Vec::with_capacity(taker.max_fills.min(16)), ..MatchResult::default() };
    let mut remaining = max_lots;
    while remaining > 0 && out.fills.len() < taker.max_fills {
        let Some((handle, key)) = parts.side(resting).min() else { break };
        let price = price_of(resting, key);
        if !crosses(taker.side, taker.limit_ticks, price) {
            break;
        }
        let order = *parts.side(resting).get(handle).ok_or_else(|| error!(BookError::InvalidBookData))?;
        if !is_live(parts.seats, &order) {
            // Its seat was revoked or given up after it rested: nothing backs it.
            parts.side(resting).remove(key).map_err(|_| error!(BookError::InvalidBookData))?;
            emit!(OrderCancelled::new(*book_key, key, Pubkey::default(), order.base_lots, CancelReason::SeatRevoked));
            continue;
        }
        let seat = parts.seats[order.seat as usize];
        let maker = seat.margin_account;
        let own = maker == taker.margin_account;
        let price_per_lot = price.checked_mul(band.tick_size).ok_or_else(|| error!(BookError::MathOverflow))?;

        let expired = order.expiry_ts != 0 && taker.now >= order.expiry_ts;
        let stale = !expired && !band.contains(price) && band.stale_for(taker.side, price);
        if !expired && !stale && !band.contains(price) {
            out.blocked = true;
            break;
        }
        let beyond_limit = !seat.within_limit(resting, price_per_lot);
        let room = if own { u64::MAX } else { taker.makers_grow.room(resting, seat.effective_position()) };
        let reason = if expired {
            None
        } else if stale {
            Some(CancelReason::StalePrice)
        } else if own && taker.self_trade == SelfTradeBehavior::CancelResting {
            Some(CancelReason::SelfTrade)
        } else if !own && beyond_limit {
            Some(CancelReason::SeatRevoked)
        } else if room == 0 {
            Some(CancelReason::MakerCannotGrow)
        } else {
            Some(CancelReason::Owner) // not removed: see below
        };
        if expired || reason != Some(CancelReason::Owner) {
            remove_order(parts, resting, key)?;
            match reason {
                None => emit!(OrderExpired {
                    book: *book_key,
                    order_key: key,
                    margin_account: maker,
                    base_lots: order.base_lots
                }),
                Some(reason) => emit!(OrderCancelled::new(*book_key, key, maker, order.base_lots, reason)),
            }
            continue;
        }
        if own {
            if taker.self_trade == SelfTradeBehavior::AbortTransaction {
                return err!(BookError::SelfTradeAborted);
            }
            // Decrement-take: both shrink by the overlap, no trade.
            let lots = remaining.min(order.base_lots);
            take_from_order(parts, resting, handle, key, &order, lots)?;
            out.consumed += lots;
            remaining -= lots;
            continue;
        }

        let lots = remaining.min(order.base_lots).min(room);
        take_from_order(parts, resting, handle, key, &order, lots)?;
        let seat = &mut parts.seats[order.seat as usize];
        let (fee, long_change) = book_into_seat(seat, resting, lots, price_per_lot, taker.maker_fee_ppm)?;
        let overflow = || error!(BookError::MathOverflow);
        out.maker_fees = out.maker_fees.checked_add(fee).ok_or_else(overflow)?;
        out.makers_long_change = out.makers_long_change.checked_add(long_change).ok_or_else(overflow)?;
        out.quote = lots.checked_mul(price_per_lot).and_then(|q| out.quote.checked_add(q)).ok_or_else(overflow)?;
        out.filled += lots;
        out.min_price = if out.fills.is_empty() { price_per_lot } else { out.min_price.min(price_per_lot) };
        out.max_price = out.max_price.max(price_per_lot);
        out.last_price = price_per_lot;
        out.fills.push(BookFill {
            key,
            seat: order.seat,
            maker,
            price_ticks: price,
            base_lots: lots,
            client_order_id: order.client_order_id,
        });
        out.consumed += lots;
        remaining -= lots;
    }
    Ok(out)
}

/// After `perpetual` settled the take (and moved the funding index to `index`): each
/// maker's fill owes funding from this index on.
pub fn weigh_fills(seats: &mut [Seat], fills: &[BookFill], resting: Side, index: I80F48) -> Result<()> {
    for fill in fills {
        let seat = seats.get_mut(fill.seat as usize).ok_or_else(|| error!(BookError::InvalidBookData))?;
        let lots = I80F48::from_num(fill.base_lots);
        let signed = match resting {
            Side::Bid => lots,
            Side::Ask => -lots,
        };
        let weight = signed
            .checked_mul(index)
            .and_then(|w| seat.pending_funding_weight.get().checked_add(w))
            .ok_or_else(|| error!(BookError::MathOverflow))?;
        seat.pending_funding_weight.set(weight);
    }
    Ok(())
}

/// Shrinks a resting order by `lots`, removing it when nothing is left.
fn take_from_order(parts: &mut BookParts, side: Side, handle: u32, key: u128, order: &Order, lots: u64) -> Result<()> {
    if lots >= order.base_lots {
        parts.side(side).remove(key).map_err(|_| error!(BookError::InvalidBookData))?;
        seat_remove(parts.seats, order.seat, side, order.base_lots, OrderOutcome::Removed)
    } else {
        let o = parts.side(side).get_mut(handle).ok_or_else(|| error!(BookError::InvalidBookData))?;
        o.base_lots -= lots;
        seat_remove(parts.seats, order.seat, side, lots, OrderOutcome::Shrunk)
    }
}

/// The book's estimate of closing `lots` of a position against one side: walks `side` best
/// first and returns (lots the book can take, their total price in ticks). Works on-chain
/// and off-chain (no allocation).
pub fn estimate_fill(tree: &critbit::CritbitRef<Order>, seats: &[Seat], side: Side, lots: u64) -> (u64, u128) {
    let mut filled = 0u64;
    let mut total_ticks = 0u128;
    // Void orders (of revoked seats) are removed when met: they are no depth.
    for (_, key, order) in tree.iter().filter(|(_, _, o)| is_live(seats, o)) {
        if filled >= lots {
            break;
        }
        let take = order.base_lots.min(lots - filled);
        filled += take;
        total_ticks += take as u128 * price_of(side, key) as u128;
    }
    (filled, total_ticks)
}

/// Which position is being closed: a long sells into the bids, a short buys the asks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Closing {
    Long,
    Short,
}

impl Closing {
    /// The direction of closing a position of `base_lots` (signed); `None` when flat.
    pub fn of(base_lots: i64) -> Option<Self> {
        match base_lots.signum() {
            1 => Some(Self::Long),
            -1 => Some(Self::Short),
            _ => None,
        }
    }
}

/// The average price, in quote native per lot, of closing `lots` of a position through the
/// book (a long sells into the bids, a short buys the asks), rounded against the account.
/// When the book cannot take all of it: 0 for a long, `u64::MAX` for a short.
pub fn close_price(
    bids: &critbit::CritbitRef<Order>,
    asks: &critbit::CritbitRef<Order>,
    seats: &[Seat],
    closing: Closing,
    lots: u64,
    tick_size: u64,
) -> u64 {
    let (side, tree) = match closing {
        Closing::Long => (Side::Bid, bids),
        Closing::Short => (Side::Ask, asks),
    };
    let (filled, total_ticks) = estimate_fill(tree, seats, side, lots);
    if filled < lots || lots == 0 {
        return match closing {
            Closing::Long => 0,
            Closing::Short => u64::MAX,
        };
    }
    let total = total_ticks.saturating_mul(tick_size as u128);
    let avg = match closing {
        Closing::Long => total / lots as u128,
        Closing::Short => total.div_ceil(lots as u128),
    };
    u64::try_from(avg).unwrap_or(u64::MAX)
}
