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

/// A position as health sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PositionInput {
    pub base_lots: i64,
    pub open_bid_lots: u64,
    pub open_ask_lots: u64,
    pub cached_index: I80F48,
}

/// A market's price (quote native per lot) and funding index projected to now.
#[derive(Clone, Copy, Debug)]
pub struct MarketPrice {
    pub price_per_lot: I80F48,
    pub funding_index: I80F48,
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

/// Health of a position of `lots_now` after `filled_lots` of open orders fill and move it
/// to `lots_after`. Each filled lot is paid for at the price plus at most the band, so the
/// value is that of `lots_now` less the band loss, and the requirement that of `lots_after`.
fn scenario(
    lots_now: i64,
    lots_after: i64,
    filled_lots: u64,
    risk: &RiskParams,
    price: &MarketPrice,
    kind: HealthKind,
) -> Result<I80F48> {
    let value = checked(price.price_per_lot.checked_mul(I80F48::from_num(lots_now)))?;
    let band_loss = mul_bps(checked(price.price_per_lot.checked_mul(I80F48::from_num(filled_lots)))?, risk.band_bps)?;
    let req = requirement(lots_after, risk, price, kind)?;
    checked(value.checked_sub(band_loss).and_then(|v| v.checked_sub(req)))
}

/// Health of one position with open orders at their worst case: the least of
/// no order filling, every bid filling, and every ask filling. Unsettled funding is owed.
pub fn position_health(
    pos: &PositionInput,
    risk: &RiskParams,
    price: &MarketPrice,
    kind: HealthKind,
) -> Result<I80F48> {
    let mut worst = scenario(pos.base_lots, pos.base_lots, 0, risk, price, kind)?;
    if pos.open_bid_lots > 0 {
        let after = checked(i64::try_from(pos.open_bid_lots).ok().and_then(|b| pos.base_lots.checked_add(b)))?;
        worst = worst.min(scenario(pos.base_lots, after, pos.open_bid_lots, risk, price, kind)?);
    }
    if pos.open_ask_lots > 0 {
        let after = checked(i64::try_from(pos.open_ask_lots).ok().and_then(|a| pos.base_lots.checked_sub(a)))?;
        worst = worst.min(scenario(pos.base_lots, after, pos.open_ask_lots, risk, price, kind)?);
    }
    let unsettled = funding::owed(price.funding_index, pos.cached_index, pos.base_lots)?;
    checked(worst.checked_sub(unsettled))
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
        }
    }
    fn price(p: i64) -> MarketPrice {
        MarketPrice { price_per_lot: I80F48::from_num(p), funding_index: I80F48::ZERO }
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
        let p = MarketPrice { price_per_lot: I80F48::from_num(100), funding_index: I80F48::from_num(2) };
        assert_eq!(equity(&pos, &p).unwrap(), I80F48::from_num(1000 - 20));
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
