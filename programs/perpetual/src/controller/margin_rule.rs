//! The dYdX margin rule after a trade: the account meets initial margin, or its margin ratio
//! improved while its position shrank without changing sign.
use anchor_lang::prelude::*;

use crate::controller::health::{AccountHealth, PricedMarket};
use crate::error::{checked, PerpError};
use crate::math::health::{ratio_improved, requirement, shrank_without_flip, HealthKind};
use crate::math::I80F48;

/// What a batch of fills did to the taker in the traded market.
#[derive(Clone, Copy)]
pub struct TakerChange {
    pub lots_before: i64,
    pub lots_after: i64,
    pub collateral_before: i64,
    pub collateral_after: i64,
    /// The taker's reservation grew (a resting remainder).
    pub increases: bool,
}

/// Refuses a trade that leaves `health` below initial margin unless the ratio of equity to
/// maintenance requirement improved while the position shrank without flipping. The ratio
/// before the trade is rebuilt from `health` by undoing the trade at the mark.
pub fn require_margin_rule(health: &AccountHealth, priced: &PricedMarket, change: &TakerChange) -> Result<()> {
    if health.initial >= 0 {
        return Ok(());
    }
    let TakerChange { lots_before, lots_after, collateral_before, collateral_after, increases } = *change;
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
    let req_before =
        checked(health.maint_requirement.checked_sub(req_after_here).and_then(|v| v.checked_add(req_before_here)))?;
    require!(
        ratio_improved(equity_before, req_before, health.equity, health.maint_requirement),
        PerpError::MarginRuleViolated
    );
    Ok(())
}
