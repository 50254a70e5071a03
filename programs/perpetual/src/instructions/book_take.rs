//! The taker's side of fills against the market's book seats. The makers' side stays in
//! their seats until `settle_seats`; here it only moves the market's pending totals.
use anchor_lang::prelude::*;

use crate::controller::funding::{settle_position, update_index};
use crate::controller::health::{account_health, PricedMarket};
use crate::controller::liquidation::clear_reservations;
use crate::controller::margin_rule::{require_margin_rule, TakerChange};
use crate::controller::seat::{require_book_trader, settle_seat};
use crate::controller::trade;
use crate::controller::trader_auth::check_trader;
use crate::error::{checked, PerpError};
use crate::events::BookTakeSettled;
use crate::math::lots::{long_part, reduces};
use crate::math::price::within_band;
use crate::state::{find_or_open_position, release_if_empty, Exchange, MarginAccountMut, Market};
use crate::trader_api::{BookTakeArgs, Side};

#[derive(Accounts)]
pub struct SettleBookTake<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    /// The `trader` PDA of the program that registered the market's book.
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub taker: UncheckedAccount<'info>,
    /// The taker's owner or delegate (anyone for a liquidation).
    pub taker_authority: Signer<'info>,
}

pub fn handler<'info>(ctx: Context<'info, SettleBookTake<'info>>, args: BookTakeArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let market_key = accounts.market.key();
    check_trader(&accounts.approval, &exchange_key, &accounts.trader_authority)?;
    trade::require_positive(args.base_lots)?;
    let now = Clock::get()?.unix_timestamp;

    let mut market = accounts.market.load_mut()?;
    require_book_trader(&market, accounts.trader_authority.key)?;
    require!(!market.is_final_settled(), PerpError::MarketInFinalSettlement);
    // Liquidation needs a price: none while the oracles are down.
    require!(!(args.liquidation && market.oracles_down()), PerpError::OraclesDown);
    let reduce_only_error = trade::shrink_only_reason(&market, accounts.exchange.load()?.paused != 0)?;
    let prices = update_index(market_key, &mut market, &accounts.oracle, now)?;
    let band_bps = market.band_bps();
    let in_band = |p: u64| p > 0 && within_band(p, prices.index, band_bps);
    require!(
        args.min_price <= args.last_price
            && args.last_price <= args.max_price
            && in_band(args.min_price)
            && in_band(args.max_price),
        PerpError::FillPriceOutsideBand
    );

    let taker_info: &'info AccountInfo<'info> = accounts.taker.as_ref();
    let mut taker = MarginAccountMut::load(taker_info, &exchange_key)?;
    require!(args.liquidation || taker.header().may_trade(accounts.taker_authority.key), PerpError::NotOwnerOrDelegate);
    let (header, positions) = taker.split_mut();
    let ti = find_or_open_position(positions, &market_key, &mut market)?;
    if positions[ti].has_seat_allowance() {
        let pending = &args.taker_pending;
        settle_seat(taker_info.key, &mut header.collateral, &mut positions[ti], &market_key, &mut market, pending)?;
    } else {
        require!(args.taker_pending.is_empty(), PerpError::SeatAllowanceExceeded);
        settle_position(taker_info.key, &mut header.collateral, &mut positions[ti], &market_key, &mut market)?;
    }
    let (lots_before, collateral_before) = (positions[ti].base_lots, header.collateral);
    let lots = checked(i64::try_from(args.base_lots).ok())?;
    let quote = checked(i64::try_from(args.quote).ok())?;
    let (taker_lots, taker_cash) = trade::taker_amounts(args.taker_side, lots, quote)?;
    if let Some(error) = reduce_only_error {
        if !reduces(lots_before, taker_lots) {
            return Err(error!(error));
        }
    }

    let liquidation_start = if args.liquidation {
        require!(reduces(lots_before, taker_lots), PerpError::LiquidationMustReduce);
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let before = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
        require!(before.maintenance < 0, PerpError::NotLiquidatable);
        clear_reservations(taker_info.key, header, positions)?;
        Some(before)
    } else {
        None
    };

    let taker_fee = trade::taker_fee(&market, quote, args.liquidation)?;
    let pos = &mut positions[ti];
    pos.base_lots = checked(pos.base_lots.checked_add(taker_lots))?;
    header.collateral = checked(header.collateral.checked_add(taker_cash).and_then(|c| c.checked_sub(taker_fee)))?;
    let makers_cash = checked(taker_cash.checked_neg().and_then(|c| c.checked_sub(args.maker_fees)))?;
    market.pending_seat_lots = checked(market.pending_seat_lots.checked_sub(taker_lots))?;
    market.pending_seat_cash = checked(market.pending_seat_cash.checked_add(makers_cash))?;
    if args.liquidation {
        market.insurance_accrued = checked(market.insurance_accrued.checked_add(taker_fee))?;
    } else {
        market.fees_accrued = checked(market.fees_accrued.checked_add(taker_fee))?;
    }
    market.fees_accrued = checked(market.fees_accrued.checked_add(args.maker_fees))?;

    let lots_after = pos.base_lots;
    let taker_long_change = long_part(lots_after) as i64 - long_part(lots_before) as i64;
    let oi_change = checked(taker_long_change.checked_add(args.makers_long_change))?;
    market.open_interest_lots = checked(market.open_interest_lots.checked_add_signed(oi_change))?;
    require!(
        oi_change <= 0 || market.open_interest_lots <= market.open_interest_cap_lots,
        PerpError::OpenInterestCapExceeded
    );
    require!(!market.grows_disabled_side(lots_before, lots_after), PerpError::SideDisabled);
    market.last_trade_price = args.last_price;
    market.last_trade_ts = now;
    market.total_fills = market.total_fills.saturating_add(args.fills as u64);

    let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
    let health = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
    if let Some(before) = liquidation_start {
        require!(health.equity >= 0, PerpError::LiquidationWouldBankrupt);
        require!(health.ratio_not_worse_than(&before), PerpError::LiquidationWorsensRatio);
    } else {
        let change = TakerChange {
            lots_before,
            lots_after,
            collateral_before,
            collateral_after: header.collateral,
            increases: false,
        };
        require_margin_rule(&health, &priced, &change)?;
    }
    release_if_empty(&mut positions[ti], &mut market);
    emit!(BookTakeSettled {
        market: market_key,
        taker: *taker_info.key,
        taker_is_bid: args.taker_side == Side::Bid,
        base_lots: args.base_lots,
        quote: args.quote,
        taker_fee,
        maker_fees: args.maker_fees,
        fills: args.fills,
    });
    Ok(())
}
