//! Fills and reservations: what a trade moves between two accounts.
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fees;
use crate::math::lots::{long_part, reservation_reduces};
use crate::state::{Market, MarketStatus, Position};
use crate::trader_api::{Fill, Side};

/// Why only position-shrinking trades go through now, if so: the exchange is paused, the
/// market is paused, the market is reduce-only, or its oracles are down (in that order of
/// precedence).
pub fn shrink_only_reason(market: &Market, exchange_paused: bool) -> Result<Option<PerpError>> {
    Ok(match market.status()? {
        _ if exchange_paused => Some(PerpError::ExchangePaused),
        MarketStatus::Paused => Some(PerpError::MarketNotActive),
        MarketStatus::ReduceOnly => Some(PerpError::MarketReduceOnly),
        _ if market.oracles_down() => Some(PerpError::OraclesDown),
        _ => None,
    })
}

/// Refuses a reservation growth the market's state forbids: any while paused or settled,
/// and one that could grow the position while reduce-only or with its oracles down.
pub fn require_reservation_allowed(market: &Market, base_lots: i64, bid_delta: i64, ask_delta: i64) -> Result<()> {
    let shrinks = reservation_reduces(base_lots, bid_delta, ask_delta);
    match market.status()? {
        MarketStatus::Active if market.oracles_down() => require!(shrinks, PerpError::OraclesDown),
        MarketStatus::Active => {}
        MarketStatus::ReduceOnly => require!(shrinks, PerpError::MarketReduceOnly),
        MarketStatus::Paused => return err!(PerpError::MarketNotActive),
        MarketStatus::FinalSettlement => return err!(PerpError::MarketInFinalSettlement),
    }
    require!(!market.reservation_grows_disabled_side(base_lots, bid_delta, ask_delta), PerpError::SideDisabled);
    Ok(())
}

/// The taker's signed change of lots and cash for `lots` at `notional` on `side`.
pub fn taker_amounts(side: Side, lots: i64, notional: i64) -> Result<(i64, i64)> {
    Ok(match side {
        Side::Bid => (lots, checked(notional.checked_neg())?),
        Side::Ask => (checked(lots.checked_neg())?, notional),
    })
}

/// The taker's fee on `notional`: a liquidated taker pays the liquidation fee, for the
/// insurance fund, not the taker fee.
pub fn taker_fee(market: &Market, notional: i64, liquidation: bool) -> Result<i64> {
    if liquidation {
        fees::fee(notional, market.liquidation_insurance_fee_bps as i32 * 100)
    } else {
        fees::fee(notional, market.taker_fee_ppm)
    }
}

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
    let (taker_lots, taker_cash) = taker_amounts(fill.taker_side, lots, notional)?;
    let taker_fee = taker_fee(market, notional, liquidation)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn market() -> Market {
        let mut m = Market::zeroed();
        m.taker_fee_ppm = 500; // 0.05%
        m.maker_fee_ppm = -100; // 0.01% rebate
        m.liquidation_insurance_fee_bps = 100; // 1%
        m.open_interest_cap_lots = 1_000;
        m
    }

    fn fill(taker_side: Side, base_lots: u64) -> Fill {
        Fill { maker_index: 0, taker_side, base_lots, price_per_lot: 10_000 }
    }

    #[test]
    fn a_fill_moves_lots_cash_fees_and_open_interest() {
        let mut m = market();
        let (mut tc, mut mc) = (0i64, 0i64);
        let (mut tp, mut mp) = (Position::zeroed(), Position::zeroed());
        let paid = apply_fill(&mut m, &fill(Side::Bid, 100), false, &mut tc, &mut tp, &mut mc, &mut mp, 7).unwrap();
        // Notional 1,000,000: taker fee 500, maker rebate 100.
        assert_eq!((paid.taker_fee, paid.maker_fee), (500, -100));
        assert_eq!((tp.base_lots, mp.base_lots), (100, -100));
        assert_eq!((tc, mc), (-1_000_000 - 500, 1_000_000 + 100));
        assert_eq!((m.fees_accrued, m.insurance_accrued, m.open_interest_lots), (400, 0, 100));
        assert_eq!((m.last_trade_price, m.last_trade_ts, m.total_fills), (10_000, 7, 1));

        // The maker buys back 40 from a second taker who was long: open interest falls by 40.
        let mut t2 = Position::zeroed();
        t2.base_lots = 60;
        let mut c2 = 0i64;
        apply_fill(&mut m, &fill(Side::Ask, 40), false, &mut c2, &mut t2, &mut mc, &mut mp, 8).unwrap();
        assert_eq!((t2.base_lots, mp.base_lots, m.open_interest_lots), (20, -60, 60));

        // Two longs trade: a long of 30 sells 10 to a long of 20, open interest stays 50.
        let (mut a, mut b) = (Position::zeroed(), Position::zeroed());
        (a.base_lots, b.base_lots) = (30, 20);
        m.open_interest_lots = 50;
        apply_fill(&mut m, &fill(Side::Ask, 10), false, &mut c2, &mut a, &mut mc, &mut b, 9).unwrap();
        assert_eq!((a.base_lots, b.base_lots, m.open_interest_lots), (20, 30, 50));
    }

    #[test]
    fn a_liquidation_fill_pays_the_insurance_fee() {
        let mut m = market();
        let (mut tc, mut mc) = (0i64, 0i64);
        let (mut tp, mut mp) = (Position::zeroed(), Position::zeroed());
        tp.base_lots = 100;
        m.open_interest_lots = 100;
        let paid = apply_fill(&mut m, &fill(Side::Ask, 100), true, &mut tc, &mut tp, &mut mc, &mut mp, 7).unwrap();
        // 1% of 1,000,000 for the insurance fund; the maker's rebate comes out of fees.
        assert_eq!(paid.taker_fee, 10_000);
        assert_eq!((m.insurance_accrued, m.fees_accrued), (10_000, -100));
        assert_eq!((tp.base_lots, mp.base_lots, m.open_interest_lots), (0, 100, 100));
    }

    #[test]
    fn open_interest_cap_binds_only_growth() {
        let mut m = market();
        m.open_interest_cap_lots = 100;
        let (mut tc, mut mc) = (0i64, 0i64);
        let (mut tp, mut mp) = (Position::zeroed(), Position::zeroed());
        assert!(apply_fill(&mut m, &fill(Side::Bid, 100), false, &mut tc, &mut tp, &mut mc, &mut mp, 7).is_ok());
        let grown = apply_fill(&mut m, &fill(Side::Bid, 1), false, &mut tc, &mut tp, &mut mc, &mut mp, 7);
        assert_eq!(grown.err(), Some(PerpError::OpenInterestCapExceeded.into()));
    }

    #[test]
    fn reservations_are_consumed_on_the_side_that_trades() {
        let mut p = Position::zeroed();
        p.open_ask_lots = 5;
        p.open_bid_lots = 3;
        // A taker bid meets the maker's asks.
        assert!(consume_reservation(&mut p, &fill(Side::Bid, 5)));
        assert_eq!((p.open_bid_lots, p.open_ask_lots), (3, 0));
        assert!(!consume_reservation(&mut p, &fill(Side::Bid, 1)));
        assert!(!consume_reservation(&mut p, &fill(Side::Ask, 4)));
        assert_eq!((p.open_bid_lots, p.open_ask_lots), (3, 0));
        assert!(require_positive(1).is_ok());
        assert_eq!(require_positive(0).unwrap_err(), PerpError::ZeroFillSize.into());
    }
}
