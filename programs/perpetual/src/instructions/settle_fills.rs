//! Batch settlement of fills from an approved trader program.
use anchor_lang::prelude::*;
use crate::controller::return_data::set_return_data;

use crate::controller::funding::settle_position;
use crate::controller::liquidation::clear_reservations;
use crate::events::ReservationsCleared;
use crate::instructions::liquidate::ratio_not_worse;
use crate::controller::health::{account_health, PricedMarket};
use crate::controller::trade::{self, apply_fill, consume_reservation, reduces, Fill, FillResult, Release, Side};
use crate::error::{checked, PerpError};
use crate::events::{FillRefused, FillSettled};
use crate::instructions::funding::update_index;
use crate::instructions::trader_auth::check_trader;
use crate::math::health::{ratio_improved, requirement, shrank_without_flip, HealthKind};
use crate::math::price::within_band;
use crate::math::I80F48;
use crate::state::{find_or_open_position, find_position, release_if_empty, Exchange, MarginAccountMut, Market, MarketStatus};

pub const MAX_FILLS: usize = 64;

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

#[derive(Accounts)]
pub struct SettleFills<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    /// The approved trader program's `trader` PDA.
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub taker: UncheckedAccount<'info>,
    /// The taker's owner or delegate.
    pub taker_authority: Signer<'info>,
}

pub fn handler<'info>(ctx: Context<'info, SettleFills<'info>>, args: SettleFillsArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let market_key = accounts.market.key();
    check_trader(&accounts.approval, &exchange_key, &accounts.trader_authority)?;
    require!(args.fills.len() <= MAX_FILLS, PerpError::TooManyFills);
    let maker_count = args.maker_count as usize;
    require!(maker_count <= ctx.remaining_accounts.len(), PerpError::MakerIndexOutOfRange);
    let (makers, health_accounts) = ctx.remaining_accounts.split_at(maker_count);
    let increases = args.taker_bid_delta > 0 || args.taker_ask_delta > 0;
    let now = Clock::get()?.unix_timestamp;

    let mut market = accounts.market.load_mut()?;
    let status = market.status()?;
    require!(status != MarketStatus::FinalSettlement, PerpError::MarketInFinalSettlement);
    // A pause (of the market or the whole exchange) stops opening risk only: no new
    // reservations, and fills only where both sides shrink, as in reduce-only.
    let exchange_paused = accounts.exchange.load()?.paused != 0;
    let paused = status == MarketStatus::Paused || exchange_paused;
    let reduce_only = paused || status == MarketStatus::ReduceOnly;
    let reduce_only_error = if exchange_paused {
        PerpError::ExchangePaused
    } else if paused {
        PerpError::MarketNotActive
    } else {
        PerpError::MarketReduceOnly
    };
    if increases && paused {
        return Err(error!(reduce_only_error));
    }
    let prices = update_index(market_key, &mut market, &accounts.oracle, now)?;
    // Fills must lie within the band around the index (the mark without an index).
    let band_reference = prices.index;

    let taker_info: &'info AccountInfo<'info> = accounts.taker.as_ref();
    let mut taker = MarginAccountMut::load(taker_info, &exchange_key)?;
    require!(args.liquidation || taker.header().may_trade(accounts.taker_authority.key), PerpError::NotOwnerOrDelegate);
    let (taker_header, taker_positions) = taker.split_mut();
    let ti = find_or_open_position(taker_positions, &market_key, &mut market)?;
    settle_position(taker_info.key, &mut taker_header.collateral, &mut taker_positions[ti], &market_key, &mut market)?;
    let lots_before = taker_positions[ti].base_lots;
    let collateral_before = taker_header.collateral;
    let liquidation_start = if args.liquidation {
        require!(!increases, PerpError::LiquidationMustReduce);
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let before = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        require!(before.maintenance < 0, PerpError::NotLiquidatable);
        let cleared = clear_reservations(taker_header, taker_positions);
        if cleared > 0 {
            emit!(ReservationsCleared { margin_account: taker_info.key(), lots: cleared });
        }
        Some(before)
    } else {
        None
    };

    let mut results = Vec::with_capacity(args.fills.len());
    for fill in &args.fills {
        trade::require_positive(fill.base_lots)?;
        require!(
            fill.price_per_lot > 0 && within_band(fill.price_per_lot, band_reference, market.price_band_bps),
            PerpError::FillPriceOutsideBand
        );
        let maker_info = makers.get(fill.maker_index as usize).ok_or_else(|| error!(PerpError::MakerIndexOutOfRange))?;
        require_keys_neq!(*maker_info.key, *taker_info.key, PerpError::SelfTrade);
        let lots = checked(i64::try_from(fill.base_lots).ok())?;
        let taker_delta = match fill.taker_side {
            Side::Bid => lots,
            Side::Ask => -lots,
        };
        if reduce_only {
            if !reduces(taker_positions[ti].base_lots, taker_delta) {
                return Err(error!(reduce_only_error));
            }
        }
        if args.liquidation {
            require!(reduces(taker_positions[ti].base_lots, taker_delta), PerpError::LiquidationMustReduce);
        }

        let mut maker = MarginAccountMut::load(maker_info, &exchange_key)?;
        let (maker_header, maker_positions) = maker.split_mut();
        let outcome = match find_position(maker_positions, &market_key) {
            None => FillResult::MakerReservationMissing,
            Some(mi) => {
                let maker_pos = &mut maker_positions[mi];
                let maker_after = maker_pos.base_lots.saturating_sub(taker_delta);
                if (reduce_only && !reduces(maker_pos.base_lots, -taker_delta))
                    || market.grows_disabled_side(maker_pos.base_lots, maker_after)
                {
                    FillResult::MakerWouldIncrease
                } else if !consume_reservation(maker_pos, fill) {
                    FillResult::MakerReservationMissing
                } else {
                    settle_position(maker_info.key, &mut maker_header.collateral, maker_pos, &market_key, &mut market)?;
                    let amounts = apply_fill(
                        &mut market,
                        fill,
                        args.liquidation,
                        &mut taker_header.collateral,
                        &mut taker_positions[ti],
                        &mut maker_header.collateral,
                        maker_pos,
                        now,
                    )?;
                    release_if_empty(maker_pos, &mut market);
                    emit!(FillSettled {
                        market: market_key,
                        taker: *taker_info.key,
                        maker: *maker_info.key,
                        taker_is_bid: fill.taker_side == Side::Bid,
                        base_lots: fill.base_lots,
                        price_per_lot: fill.price_per_lot,
                        taker_fee: amounts.taker_fee,
                        maker_fee: amounts.maker_fee,
                    });
                    FillResult::Applied
                }
            }
        };
        if outcome != FillResult::Applied {
            emit!(FillRefused { market: market_key, maker: *maker_info.key, reason: outcome as u8 });
        }
        results.push(outcome as u8);
    }

    for release in &args.releases {
        let maker_info = makers.get(release.maker_index as usize).ok_or_else(|| error!(PerpError::MakerIndexOutOfRange))?;
        require_keys_neq!(*maker_info.key, *taker_info.key, PerpError::SelfTrade);
        let mut maker = MarginAccountMut::load(maker_info, &exchange_key)?;
        let (_, maker_positions) = maker.split_mut();
        if let Some(mi) = find_position(maker_positions, &market_key) {
            let pos = &mut maker_positions[mi];
            pos.open_bid_lots = pos.open_bid_lots.saturating_sub(release.bid_lots);
            pos.open_ask_lots = pos.open_ask_lots.saturating_sub(release.ask_lots);
            release_if_empty(pos, &mut market);
        }
    }

    {
        let pos = &mut taker_positions[ti];
        if increases {
            require!(status == MarketStatus::Active || reservation_reduces(pos.base_lots, args.taker_bid_delta, args.taker_ask_delta), PerpError::MarketReduceOnly);
        }
        trade::change_reservation(&mut pos.open_bid_lots, args.taker_bid_delta)?;
        trade::change_reservation(&mut pos.open_ask_lots, args.taker_ask_delta)?;
    }
    let lots_after = taker_positions[ti].base_lots;
    let collateral_after = taker_header.collateral;
    require!(!market.grows_disabled_side(lots_before, lots_after), PerpError::SideDisabled);
    if increases {
        let pos = &taker_positions[ti];
        require!(!reservation_grows_disabled_side(&market, pos.base_lots, args.taker_bid_delta, args.taker_ask_delta), PerpError::SideDisabled);
    }
    let traded = lots_after != lots_before || collateral_after != collateral_before;

    if let Some(before) = liquidation_start {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let after = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        require!(after.equity >= 0, PerpError::LiquidationWouldBankrupt);
        require!(ratio_not_worse(&before, &after), PerpError::LiquidationWorsensRatio);
    } else if traded || increases {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let health = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        if health.initial < 0 {
            // The dYdX rule: otherwise the ratio must improve while the position shrinks.
            require!(!increases && shrank_without_flip(lots_before, lots_after), PerpError::MarginRuleViolated);
            let p = priced.mark;
            let trade_equity = checked(
                lots_after
                    .checked_sub(lots_before)
                    .and_then(|d| p.checked_mul(I80F48::from_num(d)))
                    .zip(collateral_after.checked_sub(collateral_before))
                    .and_then(|(v, c)| v.checked_add(I80F48::from_num(c))),
            )?;
            let equity_before = checked(health.equity.checked_sub(trade_equity))?;
            let req_after_here = requirement(lots_after, &priced.risk, &priced.at_mark(), HealthKind::Maintenance)?;
            let req_before_here = requirement(lots_before, &priced.risk, &priced.at_mark(), HealthKind::Maintenance)?;
            let req_before = checked(
                health.maint_requirement.checked_sub(req_after_here).and_then(|v| v.checked_add(req_before_here)),
            )?;
            require!(
                ratio_improved(equity_before, req_before, health.equity, health.maint_requirement),
                PerpError::MarginRuleViolated
            );
        }
    }
    release_if_empty(&mut taker_positions[ti], &mut market);
    set_return_data(&results);
    Ok(())
}

/// True when a larger reservation could grow a side whose leverage is disabled: a bid
/// may only close a short there, an ask only close a long.
pub fn reservation_grows_disabled_side(market: &Market, base_lots: i64, bid_delta: i64, ask_delta: i64) -> bool {
    let long_off = market.init_margin_long_bps >= crate::instructions::params::NO_LEVERAGE_BPS;
    let short_off = market.init_margin_short_bps >= crate::instructions::params::NO_LEVERAGE_BPS;
    (long_off && bid_delta > 0 && !reservation_reduces(base_lots, bid_delta, 0))
        || (short_off && ask_delta > 0 && !reservation_reduces(base_lots, 0, ask_delta))
}

/// In a reduce-only market, a larger reservation is allowed only on the side that
/// closes the position, and no further than closing it.
pub fn reservation_reduces(base_lots: i64, bid_delta: i64, ask_delta: i64) -> bool {
    (bid_delta <= 0 || (base_lots < 0 && bid_delta <= -base_lots)) && (ask_delta <= 0 || (base_lots > 0 && ask_delta <= base_lots))
}
