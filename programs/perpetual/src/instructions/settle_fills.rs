//! Batch settlement of fills from an approved trader program.
use anchor_lang::prelude::*;

use crate::controller::funding::{settle_position, update_index};
use crate::controller::health::{account_health, PricedMarket};
use crate::controller::liquidation::clear_reservations;
use crate::controller::margin_rule::{require_margin_rule, TakerChange};
use crate::controller::seat::require_no_seat;
use crate::controller::trade::{self, apply_fill, consume_reservation, require_reservation_allowed};
use crate::controller::trader_auth::check_trader;
use crate::error::{checked, PerpError};
use crate::events::{FillRefused, FillSettled};
use crate::math::lots::{change_reservation, reduces};
use crate::math::price::within_band;
use crate::runtime::return_data::set_return_data;
use crate::state::{find_or_open_position, find_position, release_if_empty, Exchange, MarginAccountMut, Market};
use crate::trader_api::{FillResult, SettleFillsArgs, Side, MAX_FILLS};

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
    require!(!market.is_final_settled(), PerpError::MarketInFinalSettlement);
    require!(!(args.liquidation && market.oracles_down()), PerpError::OraclesDown);
    // A pause (of the market or the whole exchange) stops opening risk only: no new
    // reservations, and fills only where both sides shrink, as in reduce-only.
    let shrink_only = trade::shrink_only_reason(&market, accounts.exchange.load()?.paused != 0)?;
    let paused = matches!(shrink_only, Some(PerpError::ExchangePaused | PerpError::MarketNotActive));
    let reduce_only = shrink_only.is_some();
    let reduce_only_error = shrink_only.unwrap_or(PerpError::MarketReduceOnly);
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
    // A position with a seat allowance trades only through the market's book.
    require_no_seat(&taker_positions[ti])?;
    settle_position(taker_info.key, &mut taker_header.collateral, &mut taker_positions[ti], &market_key, &mut market)?;
    let lots_before = taker_positions[ti].base_lots;
    let collateral_before = taker_header.collateral;
    if args.liquidation {
        require!(!increases, PerpError::LiquidationMustReduce);
    }
    // A liquidation call that fills nothing and finds no reservation to clear leaves the
    // account as it is (it only releases makers' refused fills), so it needs no gate.
    let gated = args.liquidation
        && !(args.fills.is_empty()
            && taker_positions.iter().all(|p| p.is_free() || (p.open_bid_lots == 0 && p.open_ask_lots == 0)));
    let liquidation_start = if gated {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let before = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        require!(before.maintenance < 0, PerpError::NotLiquidatable);
        clear_reservations(taker_info.key, taker_header, taker_positions)?;
        Some(before)
    } else {
        None
    };

    let mut results = Vec::with_capacity(args.fills.len());
    for fill in &args.fills {
        trade::require_positive(fill.base_lots)?;
        require!(
            fill.price_per_lot > 0 && within_band(fill.price_per_lot, band_reference, market.band_bps()),
            PerpError::FillPriceOutsideBand
        );
        let maker_info =
            makers.get(fill.maker_index as usize).ok_or_else(|| error!(PerpError::MakerIndexOutOfRange))?;
        require_keys_neq!(*maker_info.key, *taker_info.key, PerpError::SelfTrade);
        let lots = checked(i64::try_from(fill.base_lots).ok())?;
        let taker_delta = match fill.taker_side {
            Side::Bid => lots,
            Side::Ask => -lots,
        };
        if reduce_only && !reduces(taker_positions[ti].base_lots, taker_delta) {
            return Err(error!(reduce_only_error));
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
                if maker_pos.has_seat_allowance() {
                    FillResult::MakerSeatOpen
                } else if (reduce_only && !reduces(maker_pos.base_lots, -taker_delta))
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
            emit!(FillRefused { market: market_key, maker: *maker_info.key, reason: outcome });
        }
        results.push(outcome as u8);
    }

    for release in &args.releases {
        let maker_info =
            makers.get(release.maker_index as usize).ok_or_else(|| error!(PerpError::MakerIndexOutOfRange))?;
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
            require_reservation_allowed(&market, pos.base_lots, args.taker_bid_delta, args.taker_ask_delta)?;
        }
        change_reservation(&mut pos.open_bid_lots, args.taker_bid_delta)?;
        change_reservation(&mut pos.open_ask_lots, args.taker_ask_delta)?;
    }
    let lots_after = taker_positions[ti].base_lots;
    let collateral_after = taker_header.collateral;
    require!(!market.grows_disabled_side(lots_before, lots_after), PerpError::SideDisabled);

    // Only an applied fill moves the taker's lots or collateral.
    let traded = results.contains(&(FillResult::Applied as u8));

    if let Some(before) = liquidation_start {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let after = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        require!(after.equity >= 0, PerpError::LiquidationWouldBankrupt);
        require!(after.ratio_not_worse_than(&before), PerpError::LiquidationWorsensRatio);
    } else if traded || increases {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let health = account_health(taker_header, taker_positions, &[priced], health_accounts, now)?;
        let change = TakerChange { lots_before, lots_after, collateral_before, collateral_after, increases };
        require_margin_rule(&health, &priced, &change)?;
    }
    release_if_empty(&mut taker_positions[ti], &mut market);
    set_return_data(&results);
    Ok(())
}
