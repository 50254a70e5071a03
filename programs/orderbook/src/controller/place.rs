//! The place flow shared by `place_order`, `liquidate_order` and `replace_order`: match
//! what crosses into the makers' seats, settle the taker's side into `perpetual` in one CPI,
//! and rest the remainder within the account's seat allowance.
use anchor_lang::prelude::*;
use perpetual::runtime::return_data::set_return_data;
use perpetual::trader_api::AllowanceChange;

use crate::controller::seat::{claim_seat, find_seat, free_if_spent, grant, release, settled, Allowance};
use crate::error::BookError;
use crate::events::{CancelReason, DropReason, OrderCancelled, OrderFilled, OrderPlaced, RemainderDropped};
use crate::matching::{self, remove_order, MatchResult, Taker};
use crate::order_accounts::OrderAccounts;
use crate::order_args::{OrderType, PlaceOrderArgs};
use crate::state::{crosses, opposite, order_key, price_of, BookMut, BookParts, Order, Side};

/// Fills one take may make: each costs the book a few hundred instructions and `perpetual`
/// nothing (it sees the take's totals). An order that meets more stops there: what it
/// filled stands, an immediate order drops the rest as usual, and a resting order whose
/// remainder still crosses drops it too, reported by `RemainderDropped` (never rested
/// crossing, never dropped silently).
pub const MAX_FILLS_PER_TAKE: usize = 256;

/// Whose order is placed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PlaceMode {
    /// The margin account's owner or delegate signs.
    Normal,
    /// Anyone closes a position of an account below maintenance; the account's seat is
    /// revoked first, and `perpetual` checks it is liquidatable, clears its reservations and
    /// charges the liquidation fee.
    Liquidation,
}

/// The return data of an order: the resting order's key (0 if none rests) and the lots
/// filled, little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PlaceOutcome {
    pub order_key: u128,
    pub filled_lots: u64,
}

impl PlaceOutcome {
    pub const LEN: usize = 24;

    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..16].copy_from_slice(&self.order_key.to_le_bytes());
        out[16..].copy_from_slice(&self.filled_lots.to_le_bytes());
        out
    }

    /// Reads an order instruction's return data.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        let data: &[u8; Self::LEN] = data.try_into().ok()?;
        let (key, filled) = data.split_at(16);
        Some(Self {
            order_key: u128::from_le_bytes(key.try_into().ok()?),
            filled_lots: u64::from_le_bytes(filled.try_into().ok()?),
        })
    }
}

/// The place flow: match what crosses (makers' sides into their seats), send the taker's
/// side to `perpetual` in one CPI, then rest the remainder in the account's seat, growing
/// its allowance by one more CPI only when the seat does not cover it. `health`: the
/// placer's health accounts (needed when the take or the allowance grows its risk).
pub fn place<'info>(
    accounts: &'info OrderAccounts<'info>,
    health: &'info [AccountInfo<'info>],
    args: PlaceOrderArgs,
    mode: PlaceMode,
) -> Result<()> {
    require!(args.price_ticks > 0, BookError::InvalidPrice);
    require!(args.base_lots > 0, BookError::InvalidSize);
    let now = Clock::get()?.unix_timestamp;
    require!(args.expiry_ts == 0 || args.expiry_ts > now, BookError::AlreadyExpired);
    let placer = match mode {
        PlaceMode::Normal => accounts.check_authority()?,
        PlaceMode::Liquidation => accounts.position()?,
    };

    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let book_key = book_info.key();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    accounts.check_book(parts.header)?;
    require!(args.base_lots >= parts.header.min_base_lots, BookError::InvalidSize);
    let tick_size = parts.header.tick_size;
    let venue = accounts.venue(now, tick_size)?;
    let perp = accounts.perp(parts.header.trader_bump);
    let taker_key = accounts.margin_account.key();

    // A liquidated account's seat goes first: its orders are voided and its pending fills
    // settle, so `perpetual` sees the whole account.
    // The placer's position with its seat's pending fills (what `perpetual` holds once they
    // settle, as they do with a take or a revoke).
    let mut own_seat = find_seat(parts.seats, args.seat_hint, &taker_key);
    let position = own_seat.map_or(placer.base_lots, |i| parts.seats[i as usize].effective_position());
    if let (PlaceMode::Liquidation, Some(i)) = (mode, own_seat) {
        release(&perp, health, &mut parts.seats[i as usize], AllowanceChange::Revoke, &book_key)?;
        own_seat = None;
    }
    let closable = match args.side {
        Side::Bid => (-position).max(0) as u64,
        Side::Ask => position.max(0) as u64,
    };

    let mut size = args.base_lots;
    if args.reduce_only {
        size = size.min(closable);
        require!(size > 0, BookError::ReduceOnlyWouldIncrease);
    }

    // A market that is not active takes only orders that shrink the placer's position
    // (none at all once settled): refused before anything changes.
    if let Some(gate) = venue.gate {
        if matches!(gate, BookError::MarketInFinalSettlement) || size > closable {
            return Err(error!(gate));
        }
    }

    let mut price = args.price_ticks;
    let best_opposite = parts.side(opposite(args.side)).min().map(|(_, k)| price_of(opposite(args.side), k));
    match (args.order_type, best_opposite) {
        (OrderType::PostOnly, Some(best)) if crosses(args.side, price, best) => {
            return err!(BookError::PostOnlyWouldCross)
        }
        (OrderType::PostOnlySlide, Some(best)) if crosses(args.side, price, best) => {
            price = match args.side {
                Side::Bid => best.checked_sub(1).filter(|p| *p > 0).ok_or_else(|| error!(BookError::InvalidPrice))?,
                Side::Ask => best.checked_add(1).ok_or_else(|| error!(BookError::InvalidPrice))?,
            };
        }
        _ => {}
    }
    let rests = args.order_type.rests() && !args.reduce_only;
    if rests {
        require!(venue.band.contains(price), BookError::PriceOutsideBand);
    }

    let taker = Taker {
        side: args.side,
        limit_ticks: price,
        margin_account: taker_key,
        self_trade: args.self_trade,
        now,
        max_fills: MAX_FILLS_PER_TAKE,
        maker_fee_ppm: venue.maker_fee_ppm,
        makers_grow: venue.makers_grow,
    };
    let round = if args.order_type.matches() {
        matching::match_order(&mut parts, &taker, &venue.band, size, &book_key)?
    } else {
        MatchResult::default()
    };
    let unfilled = size - round.consumed;
    let taker_lots = match args.side {
        Side::Bid => round.filled as i64,
        Side::Ask => -(round.filled as i64),
    };
    // The placer's settled position once the take is in `perpetual` (a seat to claim for the
    // remainder starts from it).
    let settled_position = position.checked_add(taker_lots).ok_or_else(|| error!(BookError::MathOverflow))?;
    if round.filled > 0 {
        let taker_pending = own_seat.map(|i| parts.seats[i as usize].pending()).unwrap_or_default();
        let liquidation = mode == PlaceMode::Liquidation;
        perp.take(health, round.take_args(args.side, taker_pending, liquidation))?;
        if let Some(i) = own_seat {
            let seat = &mut parts.seats[i as usize];
            settled(seat, &taker_pending);
            seat.position = settled_position;
            free_if_spent(seat, &book_key);
        }
        // Each maker's fill owes funding from the index `perpetual` just moved to.
        let index = accounts.funding_index()?;
        matching::weigh_fills(parts.seats, &round.fills, opposite(args.side), index)?;
        for fill in &round.fills {
            emit!(OrderFilled {
                book: book_key,
                order_key: fill.key,
                maker: fill.maker,
                taker: taker_key,
                taker_is_bid: args.side == Side::Bid,
                price_ticks: fill.price_ticks,
                base_lots: fill.base_lots,
                maker_client_order_id: fill.client_order_id,
            });
        }
        parts.header.fills += round.fills.len() as u64;
    }
    if args.order_type == OrderType::FillOrKill {
        require!(round.filled == size, BookError::FillOrKillNotFilled);
    }

    // A remainder rests only where it no longer crosses the book.
    let still_crosses = parts
        .side(opposite(args.side))
        .min()
        .is_some_and(|(_, k)| crosses(args.side, price, price_of(opposite(args.side), k)));
    let rest_lots = if rests && unfilled > 0 && !still_crosses { unfilled } else { 0 };
    if rests && unfilled > 0 && still_crosses {
        let reason = if round.fills.len() >= MAX_FILLS_PER_TAKE { DropReason::FillLimit } else { DropReason::Band };
        emit!(RemainderDropped { book: book_key, margin_account: taker_key, base_lots: unfilled, reason });
    }
    let mut key = 0u128;
    if rest_lots > 0 {
        let i = claim_seat(parts.seats, args.seat_hint, &taker_key, settled_position)?;
        let price_per_lot = price.checked_mul(tick_size).ok_or_else(|| error!(BookError::MathOverflow))?;
        let seat = &mut parts.seats[i as usize];
        if seat.room(args.side) < rest_lots || !seat.within_limit(args.side, price_per_lot) {
            let open = match args.side {
                Side::Bid => seat.open_bid_lots,
                Side::Ask => seat.open_ask_lots,
            };
            // The grant settles pending fills, which then need no room.
            let mut allowance = Allowance::of(seat);
            allowance.bid_lots = allowance.bid_lots.saturating_sub(seat.pending_bid_lots);
            allowance.ask_lots = allowance.ask_lots.saturating_sub(seat.pending_ask_lots);
            grant(&perp, health, seat, allowance.covering(args.side, open, rest_lots, price_per_lot)?)?;
        }
        key = rest(&mut parts, &args, price, rest_lots, i, &book_key)?;
        emit!(OrderPlaced {
            book: book_key,
            order_key: key,
            margin_account: taker_key,
            is_bid: args.side == Side::Bid,
            price_ticks: price,
            base_lots: rest_lots,
            client_order_id: args.client_order_id,
        });
    }
    set_return_data(&PlaceOutcome { order_key: key, filled_lots: round.filled }.to_bytes());
    Ok(())
}

/// Puts the remainder in the book under seat `seat`. When the side is full, the order takes
/// the place of the least aggressive one if it is more aggressive (`BookFull` otherwise).
fn rest(parts: &mut BookParts, args: &PlaceOrderArgs, price: u64, lots: u64, seat: u32, book: &Pubkey) -> Result<u128> {
    let max_orders = parts.header.max_orders_per_account;
    let s = &mut parts.seats[seat as usize];
    require!(s.order_count < max_orders, BookError::TooManyOrders);
    let generation = s.generation;
    let key = order_key(args.side, price, parts.header.seq_num);
    parts.header.seq_num += 1;
    let side = parts.side(args.side);
    if side.len() >= side.capacity() {
        let (_, worst) = side.max().ok_or_else(|| error!(BookError::BookFull))?;
        require!(key < worst, BookError::BookFull);
        let order = remove_order(parts, args.side, worst)?.ok_or_else(|| error!(BookError::InvalidBookData))?;
        let owner = parts.seats.get(order.seat as usize).map(|s| s.margin_account).unwrap_or_default();
        emit!(OrderCancelled::new(*book, worst, owner, order.base_lots, CancelReason::Evicted));
    }
    let s = &mut parts.seats[seat as usize];
    s.order_count += 1;
    *s.open_lots_mut(args.side) += lots;
    let order =
        Order { seat, generation, base_lots: lots, client_order_id: args.client_order_id, expiry_ts: args.expiry_ts };
    parts.side(args.side).insert(key, order).map_err(|e| match e {
        critbit::CritbitError::Full => error!(BookError::BookFull),
        _ => error!(BookError::InvalidBookData),
    })?;
    Ok(key)
}
