//! Placing an order: match what crosses, settle every fill into `perpetual` in one batch
//! per round, and rest the remainder with its reservation.
use anchor_lang::prelude::*;
use perpetual::controller::return_data::set_return_data;
use perpetual::state::Market;

use crate::error::{from_perp, BookError};
use crate::events::{OrderFilled, OrderPlaced};
use crate::instructions::accounts::{maker_epoch, OrderAccounts};
use crate::matching::{self, Band, MatchResult, SelfTradeBehavior, Taker};
use crate::state::{crosses, opposite, order_key, price_of, BookMut, BookParts, Order, Seat, Side};

/// Rounds of matching when fills come back refused; each round is one settlement CPI.
pub const MAX_ROUNDS: usize = 3;
/// Fills per settlement batch.
pub const MAX_FILLS: u8 = 32;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrderType {
    /// Matches what crosses, rests the rest.
    Limit,
    /// Refused if it would cross.
    PostOnly,
    /// If it would cross, rests one tick behind the best opposite price instead.
    PostOnlySlide,
    /// Matches what crosses, drops the rest.
    ImmediateOrCancel,
    /// Fills in full or fails.
    FillOrKill,
    /// Immediate-or-cancel up to a worst price (`price_ticks`).
    Market,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct PlaceOrderArgs {
    pub side: Side,
    /// Limit price in ticks (the worst price for a market order).
    pub price_ticks: u64,
    pub base_lots: u64,
    pub order_type: OrderType,
    /// Clamp the size to what closes the position; never rests.
    pub reduce_only: bool,
    pub self_trade: SelfTradeBehavior,
    pub client_order_id: u64,
    /// Unix time after which the order is void; 0 never expires.
    pub expiry_ts: i64,
    /// Seat to use if the order rests: the account's seat, or a free one.
    pub seat_hint: u32,
    /// Remaining accounts `[0, maker_count)` are makers' margin accounts; the rest are
    /// the placer's health accounts.
    pub maker_count: u8,
}

impl OrderType {
    fn matches(self) -> bool {
        !matches!(self, OrderType::PostOnly | OrderType::PostOnlySlide)
    }
    fn rests(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::PostOnly | OrderType::PostOnlySlide)
    }
}

pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, args: PlaceOrderArgs) -> Result<()> {
    place(&*ctx.accounts, ctx.remaining_accounts, args, 0, 0, false)
}

/// Anyone: an immediate-or-cancel order that closes up to `max_base_lots` of a position of
/// an account below maintenance, crossing the book down (or up) to `limit_price_ticks`.
/// `perpetual` checks the account is liquidatable, shrinks it without flipping, and charges
/// the liquidation fee for the insurance fund. Remaining accounts: makers, then the
/// liquidated account's health accounts.
pub fn liquidate_order<'info>(ctx: Context<'info, OrderAccounts<'info>>, max_base_lots: u64, limit_price_ticks: u64, maker_count: u8) -> Result<()> {
    ctx.accounts.check_book_account()?;
    let position = ctx.accounts.position()?.base_lots;
    require!(position != 0, BookError::InvalidSize);
    let args = PlaceOrderArgs {
        side: if position > 0 { Side::Ask } else { Side::Bid },
        price_ticks: limit_price_ticks,
        base_lots: max_base_lots.min(position.unsigned_abs()),
        order_type: OrderType::ImmediateOrCancel,
        reduce_only: false,
        self_trade: SelfTradeBehavior::CancelResting,
        client_order_id: 0,
        expiry_ts: 0,
        seat_hint: 0,
        maker_count,
    };
    place(&*ctx.accounts, ctx.remaining_accounts, args, 0, 0, true)
}

/// The place flow; `offset_*` are reservation changes already made in the book (a replace's
/// cancel) that must reach `perpetual` with this order's own.
pub fn place<'info>(
    accounts: &'info OrderAccounts<'info>,
    remaining: &'info [AccountInfo<'info>],
    args: PlaceOrderArgs,
    offset_bid: i64,
    offset_ask: i64,
    liquidation: bool,
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
    let placer = if liquidation { accounts.position()? } else { accounts.check_authority()? };
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
        (OrderType::PostOnly, Some(best)) if crosses(args.side, price, best) => return err!(BookError::PostOnlyWouldCross),
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
        max_fills: MAX_FILLS as usize,
    };
    let book_key = book_info.key();
    let perp = accounts.perp(parts.header.trader_bump);
    let (mut unfilled, mut filled, mut reserved, mut rest_lots) = (size, 0u64, 0i64, 0u64);
    let mut carried = vec![];
    let mut offsets = (offset_bid, offset_ask);
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
        if !liquidation {
            offsets.0 -= round.own_removed.0 as i64;
            offsets.1 -= round.own_removed.1 as i64;
        }
        // A remainder rests only where it no longer crosses the book.
        let still_crosses = parts.side(opposite(args.side)).min().is_some_and(|(_, k)| crosses(args.side, price, price_of(opposite(args.side), k)));
        rest_lots = if rests && unfilled > 0 && !still_crosses { unfilled } else { 0 };
        let delta = rest_lots as i64 - reserved;
        let (bid_delta, ask_delta) = match args.side {
            Side::Bid => (delta + offsets.0, offsets.1),
            Side::Ask => (offsets.0, delta + offsets.1),
        };
        let mut releases = std::mem::take(&mut carried);
        releases.extend(round.releases.iter().copied());
        // A liquidation that removed the account's own orders settles anyway: perpetual
        // clears the liquidated account's reservations in liquidation mode.
        let own_removed = liquidation && (round.own_removed.0 > 0 || round.own_removed.1 > 0);
        if round.fills.is_empty() && releases.is_empty() && !own_removed {
            if bid_delta != 0 || ask_delta != 0 {
                perp.reserve(health, bid_delta, ask_delta)?;
            }
            break;
        }
        let fills = round.fills.iter().map(|p| p.fill).collect();
        let results = perp.settle(makers, health, fills, releases, bid_delta, ask_delta, liquidation)?;
        reserved += delta;
        offsets = (0, 0);
        for (pending, result) in round.fills.iter().zip(&results) {
            if *result == perpetual::FillResult::Applied as u8 {
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
        parts.header.fills += results.iter().filter(|r| **r == perpetual::FillResult::Applied as u8).count() as u64;
        let (refunded, refused_releases) = matching::refund_refused(&mut parts, args.side, &round.fills, &results, &maker_keys, &book_key)?;
        if refunded == 0 {
            break;
        }
        unfilled += refunded;
        carried = refused_releases;
    }
    if !carried.is_empty() {
        // The last round's refusals still owe their makers a release.
        perp.settle(makers, health, vec![], carried, 0, 0, liquidation)?;
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
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(&key.to_le_bytes());
    out[16..].copy_from_slice(&filled.to_le_bytes());
    set_return_data(&out);
    Ok(())
}

/// Puts the remainder in the book under the account's seat.
fn rest(parts: &mut BookParts, args: &PlaceOrderArgs, price: u64, lots: u64, margin_account: Pubkey, epoch: u32) -> Result<u128> {
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
    let order = Order { seat: args.seat_hint, epoch, base_lots: lots, client_order_id: args.client_order_id, expiry_ts: args.expiry_ts };
    parts.side(args.side).insert(key, order).map_err(|e| match e {
        critbit::CritbitError::Full => error!(BookError::BookFull),
        _ => error!(BookError::InvalidBookData),
    })?;
    Ok(key)
}
