//! Margin health of positions. Health = equity minus requirement; an account is
//! healthy under a kind when the sum over its positions plus collateral is >= 0.
use anchor_lang::prelude::*;

use crate::error::checked;
use crate::math::fixed_point::{mul_bps, I80F48};
use crate::math::funding;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HealthKind {
    Initial,
    Maintenance,
}

/// Margin requirements of one market, in basis points of position value.
#[derive(Clone, Copy, Debug, Default)]
pub struct RiskParams {
    pub init_long_bps: u16,
    pub maint_long_bps: u16,
    pub init_short_bps: u16,
    pub maint_short_bps: u16,
    /// Orders fill at most this far from the price; open orders count this loss.
    pub band_bps: u16,
    /// The maker fee, parts per million of notional (negative: a rebate); a seat's pending
    /// fills may owe it.
    pub maker_fee_ppm: i32,
}

impl RiskParams {
    pub fn margin_bps(&self, base_lots: i64, kind: HealthKind) -> u16 {
        match (base_lots >= 0, kind) {
            (true, HealthKind::Initial) => self.init_long_bps,
            (true, HealthKind::Maintenance) => self.maint_long_bps,
            (false, HealthKind::Initial) => self.init_short_bps,
            (false, HealthKind::Maintenance) => self.maint_short_bps,
        }
    }
}

/// What the market's book may fill for a position without `perpetual` seeing it: up to
/// `bid_lots` bought at most at `bid_limit` and `ask_lots` sold at least at `ask_limit`
/// (quote native per lot), since the grant, when the market's funding variation was
/// `funding_variation`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeatAllowance {
    pub bid_lots: u64,
    pub ask_lots: u64,
    pub bid_limit: u64,
    pub ask_limit: u64,
    pub funding_variation: I80F48,
}

/// A position as health sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PositionInput {
    pub base_lots: i64,
    /// Reservations of generic trader programs: lots that may fill anywhere in the band.
    pub open_bid_lots: u64,
    pub open_ask_lots: u64,
    pub cached_index: I80F48,
    pub seat: SeatAllowance,
}

/// A market's price (quote native per lot), funding index and funding variation (the sum
/// of `|delta I|` over every index move), both projected to now.
#[derive(Clone, Copy, Debug)]
pub struct MarketPrice {
    pub price_per_lot: I80F48,
    pub funding_index: I80F48,
    pub funding_variation: I80F48,
}

/// `|lots| * price * margin`.
pub fn requirement(base_lots: i64, risk: &RiskParams, price: &MarketPrice, kind: HealthKind) -> Result<I80F48> {
    let value = checked(price.price_per_lot.checked_mul(I80F48::from_num(base_lots.unsigned_abs())))?;
    mul_bps(value, risk.margin_bps(base_lots, kind))
}

/// Position value less unsettled funding.
pub fn equity(pos: &PositionInput, price: &MarketPrice) -> Result<I80F48> {
    let value = checked(price.price_per_lot.checked_mul(I80F48::from_num(pos.base_lots)))?;
    let unsettled = funding::owed(price.funding_index, pos.cached_index, pos.base_lots)?;
    checked(value.checked_sub(unsettled))
}

/// One kind of open order that may fill: up to `lots`, each moving the position by
/// `direction`.
#[derive(Clone, Copy)]
struct OpenSide {
    lots: u64,
    direction: i64,
    cost: FillCost,
}

/// What filling a kind of open order is worth against holding the position at the price.
#[derive(Clone, Copy)]
enum FillCost {
    /// A reservation fills anywhere in the band: it loses up to the band on its notional.
    Band,
    /// A seat fill is worth this per lot (negative: a loss), its limit, fee and funding
    /// counted.
    PerLot(I80F48),
}

impl OpenSide {
    /// The value of filling all of it.
    fn value(&self, risk: &RiskParams, price: &MarketPrice) -> Result<I80F48> {
        let lots = I80F48::from_num(self.lots);
        match self.cost {
            FillCost::Band => {
                let notional = checked(price.price_per_lot.checked_mul(lots))?;
                checked(mul_bps(notional, risk.band_bps)?.checked_neg())
            }
            FillCost::PerLot(v) => checked(v.checked_mul(lots)),
        }
    }
}

/// The most a seat fill can cost beyond its limit price, per lot: a positive maker fee at
/// its rate on the limit, plus one native unit for the fee's rounding up (a fill is at
/// least one lot).
fn seat_fee_per_lot(limit: u64, maker_fee_ppm: i32) -> Result<I80F48> {
    if maker_fee_ppm <= 0 {
        return Ok(I80F48::ZERO);
    }
    let at_rate = checked(
        I80F48::from_num(limit)
            .checked_mul(I80F48::from_num(maker_fee_ppm))
            .and_then(|v| v.checked_div(I80F48::from_num(1_000_000))),
    )?;
    checked(at_rate.checked_add(I80F48::ONE))
}

/// The open orders of a position, by kind; empty kinds are left out.
fn open_sides(pos: &PositionInput, risk: &RiskParams, price: &MarketPrice) -> Result<([OpenSide; 4], usize)> {
    let p = price.price_per_lot;
    let seat = &pos.seat;
    // Funding a pending lot may owe: |I - I_fill| <= V - V_fill <= V - V_grant.
    let slack = checked(price.funding_variation.checked_sub(seat.funding_variation))?.max(I80F48::ZERO);
    let (bid_limit, ask_limit) = (I80F48::from_num(seat.bid_limit), I80F48::from_num(seat.ask_limit));
    let bid_fee = seat_fee_per_lot(seat.bid_limit, risk.maker_fee_ppm)?;
    let ask_fee = seat_fee_per_lot(seat.ask_limit, risk.maker_fee_ppm)?;
    let bid_value =
        checked(p.checked_sub(bid_limit).and_then(|v| v.checked_sub(bid_fee)).and_then(|v| v.checked_sub(slack)))?;
    let ask_value =
        checked(ask_limit.checked_sub(p).and_then(|v| v.checked_sub(ask_fee)).and_then(|v| v.checked_sub(slack)))?;
    let all = [
        OpenSide { lots: pos.open_bid_lots, direction: 1, cost: FillCost::Band },
        OpenSide { lots: pos.open_ask_lots, direction: -1, cost: FillCost::Band },
        OpenSide { lots: seat.bid_lots, direction: 1, cost: FillCost::PerLot(bid_value) },
        OpenSide { lots: seat.ask_lots, direction: -1, cost: FillCost::PerLot(ask_value) },
    ];
    let mut out = all;
    let mut n = 0;
    for side in all.into_iter().filter(|s| s.lots > 0) {
        out[n] = side;
        n += 1;
    }
    Ok((out, n))
}

/// Health of one position with open orders at their worst case, less unsettled funding.
///
/// Each kind of open order may fill anywhere from nothing to all of it. Health is linear in
/// the filled lots except for the requirement, which is convex, so it is concave and its
/// least value over all fills is at a corner: every kind filled entirely or not at all.
/// Every corner is evaluated (at most 16, only over kinds that are not empty).
pub fn position_health(
    pos: &PositionInput,
    risk: &RiskParams,
    price: &MarketPrice,
    kind: HealthKind,
) -> Result<I80F48> {
    let held = checked(price.price_per_lot.checked_mul(I80F48::from_num(pos.base_lots)))?;
    let (sides, n) = open_sides(pos, risk, price)?;
    let mut worst: Option<I80F48> = None;
    for corner in 0u32..(1 << n) {
        let (mut lots_after, mut value) = (pos.base_lots as i128, held);
        for (i, side) in sides[..n].iter().enumerate() {
            if corner & (1 << i) != 0 {
                lots_after += side.direction as i128 * side.lots as i128;
                value = checked(value.checked_add(side.value(risk, price)?))?;
            }
        }
        let lots_after = checked(i64::try_from(lots_after).ok())?;
        let health = checked(value.checked_sub(requirement(lots_after, risk, price, kind)?))?;
        worst = Some(worst.map_or(health, |w| w.min(health)));
    }
    let unsettled = funding::owed(price.funding_index, pos.cached_index, pos.base_lots)?;
    checked(checked(worst)?.checked_sub(unsettled))
}

/// Ordering key for equity / requirement, with a zero requirement meaning +/- infinity.
fn ratio_key(equity: I80F48, requirement: I80F48) -> (u8, I80F48) {
    if requirement <= 0 {
        if equity >= 0 {
            (2, I80F48::ZERO)
        } else {
            (0, I80F48::ZERO)
        }
    } else {
        (1, equity.saturating_div(requirement))
    }
}

/// The dYdX rule's "margin ratio increased": equity / maintenance requirement strictly grew.
pub fn ratio_improved(equity_before: I80F48, req_before: I80F48, equity_after: I80F48, req_after: I80F48) -> bool {
    ratio_key(equity_after, req_after) > ratio_key(equity_before, req_before)
}

/// The dYdX rule's other half: the position shrank and did not change sign.
pub fn shrank_without_flip(before: i64, after: i64) -> bool {
    after.unsigned_abs() < before.unsigned_abs() && (after == 0 || (after > 0) == (before > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk() -> RiskParams {
        RiskParams {
            init_long_bps: 1000,
            maint_long_bps: 500,
            init_short_bps: 2000,
            maint_short_bps: 1000,
            band_bps: 500,
            maker_fee_ppm: 0,
        }
    }
    fn price(p: i64) -> MarketPrice {
        MarketPrice { price_per_lot: I80F48::from_num(p), funding_index: I80F48::ZERO, funding_variation: I80F48::ZERO }
    }
    fn fx(v: f64) -> I80F48 {
        I80F48::from_num(v)
    }

    #[test]
    fn requirement_per_side() {
        let r = risk();
        assert_eq!(requirement(10, &r, &price(100), HealthKind::Initial).unwrap(), I80F48::from_num(100));
        assert_eq!(requirement(-10, &r, &price(100), HealthKind::Initial).unwrap(), I80F48::from_num(200));
        assert_eq!(requirement(-10, &r, &price(100), HealthKind::Maintenance).unwrap(), I80F48::from_num(100));
    }

    #[test]
    fn open_orders_count_at_worst_case() {
        let r = risk();
        let flat = PositionInput::default();
        assert_eq!(position_health(&flat, &r, &price(100), HealthKind::Initial).unwrap(), I80F48::ZERO);
        // 10 bids at 100: bought value equals cash paid; band loss 50, long requirement 100
        let bids = PositionInput { open_bid_lots: 10, ..flat };
        assert_eq!(position_health(&bids, &r, &price(100), HealthKind::Initial).unwrap(), I80F48::from_num(-50 - 100));
        // 10 asks go short: band loss 50, short requirement 200
        let asks = PositionInput { open_ask_lots: 10, ..flat };
        assert_eq!(position_health(&asks, &r, &price(100), HealthKind::Initial).unwrap(), I80F48::from_num(-50 - 200));
        // long 10 with 10 asks: selling flattens, costing only the band; the worst case is holding
        let hedged = PositionInput { base_lots: 10, open_ask_lots: 10, ..flat };
        assert_eq!(
            position_health(&hedged, &r, &price(100), HealthKind::Initial).unwrap(),
            I80F48::from_num(1000 - 100)
        );
    }

    #[test]
    fn unsettled_funding_is_owed() {
        let pos = PositionInput { base_lots: 10, cached_index: I80F48::ZERO, ..Default::default() };
        let p = MarketPrice { funding_index: I80F48::from_num(2), ..price(100) };
        assert_eq!(equity(&pos, &p).unwrap(), I80F48::from_num(1000 - 20));
    }

    #[test]
    fn reservations_on_both_sides_count_the_round_trip() {
        // A band wider than the margin: buying 10 and selling 10 loses the band twice and
        // leaves the account flat, which is worse than either side alone.
        let r = RiskParams { band_bps: 2_500, ..risk() };
        let both = PositionInput { open_bid_lots: 10, open_ask_lots: 10, ..Default::default() };
        // Bids alone: -250 - 100 = -350; asks alone: -250 - 200 = -450; both: -500 - 0.
        assert_eq!(position_health(&both, &r, &price(100), HealthKind::Initial).unwrap(), fx(-500.0));
        // Asks alone are the worst when the band is narrower than the margin.
        assert_eq!(position_health(&both, &risk(), &price(100), HealthKind::Initial).unwrap(), fx(-50.0 - 200.0));
    }

    #[test]
    fn a_seat_allowance_counts_its_limits_fee_and_funding() {
        let seat = SeatAllowance { bid_lots: 10, ask_lots: 0, bid_limit: 104, ask_limit: 0, ..Default::default() };
        let pos = PositionInput { seat, ..Default::default() };
        // Bought 10 at 104 while the price is 100: -40, requirement of a long 10 is 100.
        assert_eq!(position_health(&pos, &risk(), &price(100), HealthKind::Initial).unwrap(), fx(-140.0));
        // A bid limit below the price is a gain if filled; the requirement still counts.
        let low = PositionInput { seat: SeatAllowance { bid_limit: 90, ..seat }, ..pos };
        assert_eq!(position_health(&low, &risk(), &price(100), HealthKind::Initial).unwrap(), fx(100.0 - 100.0));
        // A maker fee of 0.1% on the limit, plus a native unit a lot for its rounding:
        // 10 * (104 * 0.001 + 1) = 11.04.
        let charged = RiskParams { maker_fee_ppm: 1_000, ..risk() };
        assert_eq!(position_health(&pos, &charged, &price(100), HealthKind::Initial).unwrap(), fx(-140.0 - 11.04));
        // A rebate is never counted in the account's favour.
        let rebate = RiskParams { maker_fee_ppm: -1_000, ..risk() };
        assert_eq!(position_health(&pos, &rebate, &price(100), HealthKind::Initial).unwrap(), fx(-140.0));
        // Funding moved 3 per lot since the grant: each pending lot may owe all of it.
        let moved = MarketPrice { funding_variation: fx(5.0), ..price(100) };
        let granted = PositionInput { seat: SeatAllowance { funding_variation: fx(2.0), ..seat }, ..pos };
        assert_eq!(position_health(&granted, &risk(), &moved, HealthKind::Initial).unwrap(), fx(-140.0 - 30.0));
    }

    #[test]
    fn a_seat_allowance_on_both_sides_takes_the_worst_corner() {
        // Short 10 at 100; the seat may buy 10 at up to 101 and sell 10 at down to 99.
        let seat = SeatAllowance { bid_lots: 10, ask_lots: 10, bid_limit: 101, ask_limit: 99, ..Default::default() };
        let pos = PositionInput { base_lots: -10, seat, ..Default::default() };
        let h = |p| position_health(&pos, &risk(), &price(p), HealthKind::Maintenance).unwrap();
        // Corners at 100 (value -1000, short margin 10%): none -1000 - 100 = -1100; bids:
        // -1000 - 10, flat; asks: -1000 - 10 - 200 = -1210; both: -1000 - 20 - 100 = -1120.
        assert_eq!(h(100), fx(-1210.0));
        // A reservation of 5 asks adds its own dimension: the worst corner now also sells
        // those 5 in the band (5% of 500 = 25) while the seat sells: short 25, -1035 - 250.
        let with_res = PositionInput { open_ask_lots: 5, ..pos };
        assert_eq!(position_health(&with_res, &risk(), &price(100), HealthKind::Maintenance).unwrap(), fx(-1285.0));
        // No open orders: one corner.
        let bare = PositionInput { base_lots: -10, ..Default::default() };
        assert_eq!(position_health(&bare, &risk(), &price(100), HealthKind::Maintenance).unwrap(), fx(-1100.0));
    }

    #[test]
    fn margin_rule_helpers() {
        assert!(shrank_without_flip(10, 5));
        assert!(shrank_without_flip(-10, 0));
        assert!(!shrank_without_flip(10, -5));
        assert!(!shrank_without_flip(5, 10));
        assert!(!shrank_without_flip(10, 10));
        assert!(!shrank_without_flip(-10, -10));
        let (e0, r0) = (I80F48::from_num(10), I80F48::from_num(100));
        assert!(ratio_improved(e0, r0, I80F48::from_num(10), I80F48::from_num(50)));
        assert!(!ratio_improved(e0, r0, I80F48::from_num(5), I80F48::from_num(100)));
        assert!(ratio_improved(e0, r0, I80F48::from_num(1), I80F48::ZERO));
        // "Improved" is strict: the same ratio at another size is not an improvement.
        assert!(!ratio_improved(e0, r0, e0, r0));
        assert!(!ratio_improved(e0, r0, I80F48::from_num(5), I80F48::from_num(50)));
    }
}
