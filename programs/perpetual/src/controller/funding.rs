use anchor_lang::prelude::*;

use crate::error::checked;
use crate::events::FundingSettled;
use crate::math::funding;
use crate::state::{Market, Position};

/// Settles what one position owes or is owed since its cached index, through the
/// market's funding pool, and caches the current index.
pub fn settle_position(account: &Pubkey, collateral: &mut i64, pos: &mut Position, market_key: &Pubkey, market: &mut Market) -> Result<i64> {
    let index = market.funding_index.get();
    let owed = funding::owed(index, pos.cached_funding_index.get(), pos.base_lots)?;
    let change = funding::collateral_change(owed)?;
    if change != 0 {
        *collateral = checked(collateral.checked_add(change))?;
        market.funding_pool = checked(market.funding_pool.checked_sub(change))?;
        emit!(FundingSettled { margin_account: *account, market: *market_key, amount: change });
    }
    pos.cached_funding_index.set(index);
    Ok(change)
}
