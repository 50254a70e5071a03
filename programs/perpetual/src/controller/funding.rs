use anchor_lang::prelude::*;

use crate::error::checked;
use crate::events::{FundingIndexUpdated, FundingSettled};
use crate::math::funding;
use crate::state::{Market, Position, Prices};

/// Settles what one position owes or is owed since its cached index, through the
/// market's funding pool, and caches the current index.
pub fn settle_position(
    account: &Pubkey,
    collateral: &mut i64,
    pos: &mut Position,
    market_key: &Pubkey,
    market: &mut Market,
) -> Result<i64> {
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

/// Reads index and mark, remembers an index that passed every check, and moves the funding
/// index to now at the index price. Idempotent within one second.
pub fn update_index(market_key: Pubkey, market: &mut Market, oracle: &AccountInfo, now: i64) -> Result<Prices> {
    if market.is_final_settled() {
        let p = market.settlement_price.get();
        return Ok(Prices {
            index: p,
            raw_index: None,
            jump: crate::state::Jump::None,
            mark: p,
            stable: p,
            down: false,
        });
    }
    let prices = market.prices(oracle, now)?;
    if prices.raw_index.is_some() {
        market.track_index_jump(prices.jump, now);
    }
    if prices.raw_index.is_some() && !prices.jumped() {
        market.index_price.set(prices.index);
        market.index_ts = now;
        if market.stable_price.get() <= 0 {
            market.stable_price.set(prices.index);
        }
    }
    let delta = market.update_funding_index(prices.index, now)?;
    if delta != 0 {
        emit!(FundingIndexUpdated {
            market: market_key,
            index_bits: market.funding_index.get().to_bits(),
            delta_bits: delta.to_bits(),
            rate_ppbh: market.funding_rate_ppbh,
            ts: now,
        });
    }
    Ok(prices)
}
