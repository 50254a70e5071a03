//! The place flow shared by `place_order`, `liquidate_order` and `replace_order`: match
//! what crosses, settle every fill into `perpetual` in one batch per round, and rest the
//! remainder with its reservation.
use anchor_lang::prelude::*;
use perpetual::runtime::return_data::set_return_data;
use perpetual::state::Market;

use crate::controller::cancel::Released;
use crate::error::{from_perp, BookError};
use crate::events::{OrderFilled, OrderPlaced};
use crate::matching::{self, Band, MatchResult, Taker};
use crate::order_accounts::{maker_epoch, OrderAccounts};
use crate::order_args::{OrderType, PlaceOrderArgs};
use crate::perp_cpi::{applied, ReservationDelta};
use crate::state::{crosses, opposite, order_key, price_of, BookMut, BookParts, Order, Seat, Side};

/// Rounds of matching when fills come back refused; each round is one settlement CPI.
pub const MAX_ROUNDS: usize = 3;
/// Fills per settlement batch the book sends.
pub const BOOK_BATCH_FILLS: u8 = 32;
// A batch must fit what `perpetual` settles at once.
const _: () = assert!(BOOK_BATCH_FILLS as usize <= perpetual::trader_api::MAX_FILLS);

/// Whose order is placed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PlaceMode {
    /// The margin account's owner or delegate signs.
    Normal,
    /// Anyone closes a position of an account below maintenance; `perpetual` checks it is
    /// liquidatable, clears its reservations and charges the liquidation fee.
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

/// The place flow; `released` is reservation already given back in the book (a replace's
/// cancel) that must reach `perpetual` with this order's own change.
pub fn place<'info>(
    accounts: &'info OrderAccounts<'info>,
    remaining: &'info [AccountInfo<'info>],
    args: PlaceOrderArgs,
    mode: PlaceMode,
    released: Released,
) -> Result<()> {
    require!(args.price_ticks > 0, BookError::InvalidPrice);
    require!(args.base_lots > 0, BookError::InvalidSize);
    require!((args.maker_count as usize) <= remaining.len(), BookError::MakerCountOutOfRange);
    let (makers, health) = remaining.split_at(args.maker_count as usize);
    for m in makers {
        require!(*m.owner == perpetual::ID && m.is_writable, BookError::InvalidMakerAccount);
    }
    let now = Clock::get()?.unix_timestamp;
    require!(args.expiry_ts == 0 || args.expiry_ts > now, BookError::AlreadyExpired);
    let placer = match mode {
        PlaceMode::Normal => accounts.check_authority()?,
        PlaceMode::Liquidation => accounts.position()?,
    };
    let position = placer.base_lots;

    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    accounts.check_book(parts.header)?;
    require!(args.base_lots >= parts.header.min_base_lots, BookError::InvalidSize);

    let band = {
        let loader = AccountLoader::<Market>::try_from(accounts.market.as_ref())?;
        let market = loader.load()?;
        Band {
            oracle_price_per_lot: market.band_reference(&accounts.oracle, now).map_err(from_perp)?,
            band_bps: market.price_band_bps,
            tick_size: parts.header.tick_size,
        }
    };

    let mut size = args.base_lots;
    if args.reduce_only {
        let closable = match args.side {
            Side::Bid => (-position).max(0) as u64,
            Side::Ask => position.max(0) as u64,
        };
        size = size.min(closable);
        require!(size > 0, BookError::ReduceOnlyWouldIncrease);
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
        require!(band.contains(price), BookError::PriceOutsideBand);
    }

    let maker_keys: Vec<Pubkey> = makers.iter().map(|m| *m.key).collect();
    let exchange_key = accounts.exchange.key();
    let maker_epochs = makers.iter().map(|m| maker_epoch(m, &exchange_key)).collect::<Result<Vec<u32>>>()?;
    let taker = Taker {
        side: args.side,
        limit_ticks: price,
        margin_account: accounts.margin_account.key(),
        epoch: placer.epoch,
        makers: &maker_keys,
        maker_epochs: &maker_epochs,
        self_trade: args.self_trade,
        now,
        max_fills: BOOK_BATCH_FILLS as usize,
    };
    let book_key = book_info.key();
    let perp = accounts.perp(parts.header.trader_bump);
    let (mut unfilled, mut filled, mut reserved, mut rest_lots) = (size, 0u64, 0i64, 0u64);
    let mut carried = vec![];
    let mut offsets = released.delta();
    for _ in 0..MAX_ROUNDS {
        let round = if args.order_type.matches() && unfilled > 0 {
            matching::match_order(&mut parts, &taker, &band, unfilled, &book_key)?
        } else {
            MatchResult::default()
        };
        unfilled -= round.consumed;
        // The taker's own orders removed while matching shrink its own reservation; a
        // liquidated account's reservations are cleared by the settlement anyway (and no
        // owner signs a liquidation order, so a reservation change could not be made).
        if mode == PlaceMode::Normal {
            offsets.bids -= round.own_removed.0 as i64;
            offsets.asks -= round.own_removed.1 as i64;
        }
        // A remainder rests only where it no longer crosses the book.
        let still_crosses = parts
            .side(opposite(args.side))
            .min()
            .is_some_and(|(_, k)| crosses(args.side, price, price_of(opposite(args.side), k)));
        rest_lots = if rests && unfilled > 0 && !still_crosses { unfilled } else { 0 };
        let delta = rest_lots as i64 - reserved;
        let taker_delta = match args.side {
            Side::Bid => ReservationDelta { bids: delta + offsets.bids, asks: offsets.asks },
            Side::Ask => ReservationDelta { bids: offsets.bids, asks: delta + offsets.asks },
        };
        let mut releases = std::mem::take(&mut carried);
        releases.extend(round.releases.iter().copied());
        // A liquidation that removed the account's own orders settles anyway: perpetual
        // clears the liquidated account's reservations in liquidation mode.
        let own_removed = mode == PlaceMode::Liquidation && (round.own_removed.0 > 0 || round.own_removed.1 > 0);
        if round.fills.is_empty() && releases.is_empty() && !own_removed {
            if !taker_delta.is_zero() {
                perp.reserve(health, taker_delta)?;
            }
            break;
        }
        let fills = round.fills.iter().map(|p| p.fill).collect();
        let results = perp.settle(makers, health, fills, releases, taker_delta, mode)?;
        reserved += delta;
        offsets = ReservationDelta::default();
        for (pending, result) in round.fills.iter().zip(&results) {
            if applied(result) {
                filled += pending.fill.base_lots;
                emit!(OrderFilled {
                    book: book_key,
                    order_key: pending.key,
                    maker: maker_keys[pending.fill.maker_index as usize],
                    taker: taker.margin_account,
                    taker_is_bid: args.side == Side::Bid,
                    price_ticks: price_of(opposite(args.side), pending.key),
                    base_lots: pending.fill.base_lots,
                    maker_client_order_id: pending.client_order_id,
                });
            }
        }
        parts.header.fills += results.iter().filter(|r| applied(r)).count() as u64;
        let (refunded, refused_releases) =
            matching::refund_refused(&mut parts, args.side, &round.fills, &results, &maker_keys, &book_key)?;
        // A liquidation runs one round: the first settlement may leave the account above
        // maintenance, and perpetual refuses fills against a healthy account. Lots a maker
        // refused are not retried (the order is immediate-or-cancel; call again).
        if refunded == 0 {
            break;
        }
        if mode == PlaceMode::Liquidation {
            carried = refused_releases;
            break;
        }
        unfilled += refunded;
        carried = refused_releases;
    }
    if !carried.is_empty() {
        // The last round's refusals still owe their makers a release.
        perp.settle(makers, health, vec![], carried, ReservationDelta::default(), mode)?;
    }
    if args.order_type == OrderType::FillOrKill {
        require!(filled == size, BookError::FillOrKillNotFilled);
    }

    let mut key = 0u128;
    if rest_lots > 0 {
        key = rest(&mut parts, &args, price, rest_lots, accounts.margin_account.key(), placer.epoch)?;
        emit!(OrderPlaced {
            book: book_key,
            order_key: key,
            margin_account: accounts.margin_account.key(),
            is_bid: args.side == Side::Bid,
            price_ticks: price,
            base_lots: rest_lots,
            client_order_id: args.client_order_id,
        });
    }
    set_return_data(&PlaceOutcome { order_key: key, filled_lots: filled }.to_bytes());
    Ok(())
}

/// Puts the remainder in the book under the account's seat.
fn rest(
    parts: &mut BookParts,
    args: &PlaceOrderArgs,
    price: u64,
    lots: u64,
    margin_account: Pubkey,
    epoch: u32,
) -> Result<u128> {
    let max_orders = parts.header.max_orders_per_account;
    let seat = parts.seats.get_mut(args.seat_hint as usize).ok_or_else(|| error!(BookError::SeatUnavailable))?;
    if seat.is_free() {
        *seat = Seat { margin_account, ..Seat::default() };
    }
    require_keys_eq!(seat.margin_account, margin_account, BookError::SeatUnavailable);
    require!(seat.order_count < max_orders, BookError::TooManyOrders);
    seat.order_count += 1;
    *seat.open_lots_mut(args.side) += lots;
    let seq = parts.header.seq_num;
    parts.header.seq_num += 1;
    let key = order_key(args.side, price, seq);
    let order = Order {
        seat: args.seat_hint,
        epoch,
        base_lots: lots,
        client_order_id: args.client_order_id,
        expiry_ts: args.expiry_ts,
    };
    parts.side(args.side).insert(key, order).map_err(|e| match e {
        critbit::CritbitError::Full => error!(BookError::BookFull),
        _ => error!(BookError::InvalidBookData),
    })?;
    Ok(key)
}
