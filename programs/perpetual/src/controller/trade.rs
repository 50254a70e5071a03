//! Fills and reservations: what a trade moves between two accounts.
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fees;
use crate::math::lots::long_part;
use crate::state::{Market, Position};
use crate::trader_api::{Fill, Side};

/// What one side of a fill pays, for events.
pub struct FillAmounts {
    pub taker_fee: i64,
    pub maker_fee: i64,
}

/// Moves position and collateral for one fill and charges fees into the market.
/// Funding of both positions must already be settled.
pub fn apply_fill(
    market: &mut Market,
    fill: &Fill,
    liquidation: bool,
    taker_collateral: &mut i64,
    taker_pos: &mut Position,
    maker_collateral: &mut i64,
    maker_pos: &mut Position,
    now: i64,
) -> Result<FillAmounts> {
    let notional = fees::notional(fill.base_lots, fill.price_per_lot)?;
    let lots = checked(i64::try_from(fill.base_lots).ok())?;
    let (taker_lots, taker_cash) = match fill.taker_side {
        Side::Bid => (lots, checked(notional.checked_neg())?),
        Side::Ask => (checked(lots.checked_neg())?, notional),
    };
    // A liquidated taker pays the liquidation fee, for the insurance fund, not the taker fee.
    let taker_fee = if liquidation {
        fees::fee(notional, market.liquidation_insurance_fee_bps as i32 * 100)?
    } else {
        fees::fee(notional, market.taker_fee_ppm)?
    };
    let maker_fee = fees::fee(notional, market.maker_fee_ppm)?;

    let oi_before = long_part(taker_pos.base_lots) + long_part(maker_pos.base_lots);
    taker_pos.base_lots = checked(taker_pos.base_lots.checked_add(taker_lots))?;
    maker_pos.base_lots = checked(maker_pos.base_lots.checked_sub(taker_lots))?;
    *taker_collateral = checked(taker_collateral.checked_add(taker_cash).and_then(|c| c.checked_sub(taker_fee)))?;
    *maker_collateral = checked(maker_collateral.checked_sub(taker_cash).and_then(|c| c.checked_sub(maker_fee)))?;
    let oi_after = long_part(taker_pos.base_lots) + long_part(maker_pos.base_lots);

    if liquidation {
        market.insurance_accrued = checked(market.insurance_accrued.checked_add(taker_fee))?;
        market.fees_accrued = checked(market.fees_accrued.checked_add(maker_fee))?;
    } else {
        market.fees_accrued =
            checked(market.fees_accrued.checked_add(taker_fee).and_then(|f| f.checked_add(maker_fee)))?;
    }
    market.open_interest_lots =
        checked(market.open_interest_lots.checked_add(oi_after).and_then(|v| v.checked_sub(oi_before)))?;
    require!(
        oi_after <= oi_before || market.open_interest_lots <= market.open_interest_cap_lots,
        PerpError::OpenInterestCapExceeded
    );
    market.last_trade_price = fill.price_per_lot;
    market.last_trade_ts = now;
    market.total_fills = market.total_fills.saturating_add(1);
    Ok(FillAmounts { taker_fee, maker_fee })
}

/// Consumes `fill.base_lots` of the maker's reservation on the side it trades.
pub fn consume_reservation(maker_pos: &mut Position, fill: &Fill) -> bool {
    let slot = match fill.taker_side {
        Side::Bid => &mut maker_pos.open_ask_lots,
        Side::Ask => &mut maker_pos.open_bid_lots,
    };
    match slot.checked_sub(fill.base_lots) {
        Some(left) => {
            *slot = left;
            true
        }
        None => false,
    }
}

pub fn require_positive(v: u64) -> Result<()> {
    require!(v > 0, PerpError::ZeroFillSize);
    Ok(())
}
