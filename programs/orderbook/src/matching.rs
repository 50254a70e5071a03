//! Matching a taker against the opposite side of the book, fully on-chain.
//!
//! Matching is tentative: fills are taken out of the book here and sent to `perpetual` in
//! one batch; a fill `perpetual` refuses (its maker's reservation is gone) comes back to
//! `refund_refused`, which cancels that maker's order and returns the size to the taker.
use anchor_lang::prelude::*;
use perpetual::math::price::within_band;
use perpetual::math::I80F48;
use perpetual::{Fill, Release};

use crate::error::BookError;
pub use crate::events::CancelReason;
use crate::events::{OrderCancelled, OrderExpired};
use crate::perp_cpi::applied;
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
    pub band_bps: u16,
    pub tick_size: u64,
}

impl Band {
    pub fn contains(&self, price_ticks: u64) -> bool {
        match price_ticks.checked_mul(self.tick_size) {
            Some(p) => within_band(p, self.oracle_price_per_lot, self.band_bps),
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

pub struct Taker<'k> {
    pub side: Side,
    pub limit_ticks: u64,
    pub margin_account: Pubkey,
    /// The taker's reservation epoch, for its own resting orders.
    pub epoch: u32,
    /// Keys of the maker margin accounts the transaction passed, in order.
    pub makers: &'k [Pubkey],
    /// Each maker's reservation epoch, in the same order.
    pub maker_epochs: &'k [u32],
    pub self_trade: SelfTradeBehavior,
    pub now: i64,
    pub max_fills: usize,
}

/// A fill sent to `perpetual`, with what is needed to undo it.
#[derive(Clone, Copy, Debug)]
pub struct PendingFill {
    pub fill: Fill,
    pub key: u128,
    pub seat: u32,
    pub lots_before: u64,
    pub client_order_id: u64,
}

#[derive(Default)]
pub struct MatchResult {
    pub fills: Vec<PendingFill>,
    /// Makers' reservations to give back (expired, stale or self-traded orders).
    pub releases: Vec<Release>,
    /// The taker's own resting lots removed (self-trade, expiry, stale): (bids, asks).
    pub own_removed: (u64, u64),
    /// Lots filled (tentatively) plus lots removed by decrement-take.
    pub consumed: u64,
    /// True when matching stopped at a maker whose account was not passed, or at the band:
    /// the book may still cross the taker's price.
    pub blocked: bool,
}

impl MatchResult {
    /// Records `lots` of a removed resting order to release: the maker's, or the taker's own.
    fn give_back(&mut self, maker_index: Option<u8>, resting: Side, lots: u64) {
        match (maker_index, resting) {
            (Some(i), _) => self.releases.push(release_for(i, resting, lots)),
            (None, Side::Bid) => self.own_removed.0 += lots,
            (None, Side::Ask) => self.own_removed.1 += lots,
        }
    }
}

fn release_for(maker_index: u8, resting: Side, lots: u64) -> Release {
    match resting {
        Side::Bid => Release { maker_index, bid_lots: lots, ask_lots: 0 },
        Side::Ask => Release { maker_index, bid_lots: 0, ask_lots: lots },
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

/// Takes `lots` off the order's seat; frees the seat once it holds nothing.
pub fn seat_remove(seats: &mut [Seat], seat: u32, side: Side, lots: u64, outcome: OrderOutcome) -> Result<()> {
    let s = seats.get_mut(seat as usize).ok_or_else(|| error!(BookError::InvalidBookData))?;
    let open = s.open_lots_mut(side);
    *open = open.saturating_sub(lots);
    if outcome == OrderOutcome::Removed {
        s.order_count = s.order_count.saturating_sub(1);
        if s.order_count == 0 {
            *s = Seat::default();
        }
    }
    Ok(())
}

/// Removes a whole resting order, keeping its seat's totals.
pub fn remove_order(parts: &mut BookParts, side: Side, key: u128) -> Result<Option<Order>> {
    let removed = parts.side(side).remove(key).map_err(|_| error!(BookError::InvalidBookData))?;
    if let Some(order) = removed {
        seat_remove(parts.seats, order.seat, side, order.base_lots, OrderOutcome::Removed)?;
    }
    Ok(removed)
}

/// Matches up to `max_lots` of the taker against the opposite side.
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
        let maker =
            parts.seats.get(order.seat as usize).ok_or_else(|| error!(BookError::InvalidBookData))?.margin_account;
        let own = maker == taker.margin_account;
        // The taker's own orders need no maker account; anyone else's must be passed, and
        // matching stops, without error, at the first maker that is not.
        let maker_index = if own {
            None
        } else {
            match taker.makers.iter().position(|k| *k == maker) {
                Some(i) => Some(i as u8),
                None => {
                    out.blocked = true;
                    break;
                }
            }
        };

        // An order from before its owner's reservations were cleared goes without a
        // release: its reservation is already gone, and a release would eat a newer one's.
        let epoch = maker_index.map_or(taker.epoch, |i| taker.maker_epochs[i as usize]);
        if order.epoch != epoch {
            remove_order(parts, resting, key)?;
            emit!(OrderCancelled::new(*book_key, key, maker, order.base_lots, CancelReason::ReservationCleared));
            continue;
        }

        let expired = order.expiry_ts != 0 && taker.now >= order.expiry_ts;
        let stale = !expired && !band.contains(price) && band.stale_for(taker.side, price);
        if !expired && !stale && !band.contains(price) {
            out.blocked = true;
            break;
        }
        if expired || stale || (own && taker.self_trade == SelfTradeBehavior::CancelResting) {
            remove_order(parts, resting, key)?;
            out.give_back(maker_index, resting, order.base_lots);
            if expired {
                emit!(OrderExpired {
                    book: *book_key,
                    order_key: key,
                    margin_account: maker,
                    base_lots: order.base_lots
                });
            } else {
                let reason = if stale { CancelReason::StalePrice } else { CancelReason::SelfTrade };
                emit!(OrderCancelled::new(*book_key, key, maker, order.base_lots, reason));
            }
            continue;
        }
        let Some(maker_index) = maker_index else {
            // Our own order, not cancelled above.
            if taker.self_trade == SelfTradeBehavior::AbortTransaction {
                return err!(BookError::SelfTradeAborted);
            }
            // Decrement-take: both shrink by the overlap, no trade.
            let lots = remaining.min(order.base_lots);
            take_from_order(parts, resting, handle, key, &order, lots)?;
            out.give_back(None, resting, lots);
            out.consumed += lots;
            remaining -= lots;
            continue;
        };

        let lots = remaining.min(order.base_lots);
        let price_per_lot = price.checked_mul(band.tick_size).ok_or_else(|| error!(BookError::MathOverflow))?;
        take_from_order(parts, resting, handle, key, &order, lots)?;
        out.fills.push(PendingFill {
            fill: Fill { maker_index, taker_side: taker.side, base_lots: lots, price_per_lot },
            key,
            seat: order.seat,
            lots_before: order.base_lots,
            client_order_id: order.client_order_id,
        });
        out.consumed += lots;
        remaining -= lots;
    }
    Ok(out)
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

/// Undoes refused fills: cancels each refused maker's order and returns its size to the
/// taker. Returns (lots given back to the taker, releases of the whole refused orders).
pub fn refund_refused(
    parts: &mut BookParts,
    taker: Side,
    fills: &[PendingFill],
    results: &[u8],
    makers: &[Pubkey],
    book_key: &Pubkey,
) -> Result<(u64, Vec<Release>)> {
    let resting = opposite(taker);
    let mut refunded = 0u64;
    let mut releases = vec![];
    for (pending, result) in fills.iter().zip(results) {
        if applied(result) {
            continue;
        }
        refunded += pending.fill.base_lots;
        // Whatever is left of the order goes too; its whole original size is released.
        remove_order(parts, resting, pending.key)?;
        releases.push(release_for(pending.fill.maker_index, resting, pending.lots_before));
        emit!(OrderCancelled::new(
            *book_key,
            pending.key,
            makers[pending.fill.maker_index as usize],
            pending.lots_before,
            CancelReason::FillRefused
        ));
    }
    Ok((refunded, releases))
}

/// The book's estimate of closing `lots` of a position against one side: walks `side` best
/// first and returns (lots the book can take, their total price in ticks). Works on-chain
/// and off-chain (no allocation).
pub fn estimate_fill(tree: &critbit::CritbitRef<Order>, side: Side, lots: u64) -> (u64, u128) {
    let mut filled = 0u64;
    let mut total_ticks = 0u128;
    for (_, key, order) in tree.iter() {
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
    closing: Closing,
    lots: u64,
    tick_size: u64,
) -> u64 {
    let (side, tree) = match closing {
        Closing::Long => (Side::Bid, bids),
        Closing::Short => (Side::Ask, asks),
    };
    let (filled, total_ticks) = estimate_fill(tree, side, lots);
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
