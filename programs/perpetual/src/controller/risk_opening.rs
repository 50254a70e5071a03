//! The opening shared by the risk handlers (liquidation, deleveraging, early deleveraging):
//! refuse a settled market, move its index to now and price it, load the two accounts
//! involved, and settle their funding in the market.
use anchor_lang::prelude::*;

use crate::controller::funding::{settle_position, update_index};
use crate::controller::health::PricedMarket;
use crate::error::PerpError;
use crate::state::{find_position, MarginAccount, MarginAccountMut, Market, Position};

/// Refuses a market in final settlement or whose oracles are down, updates its funding index and prices it.
pub fn price_live_market(
    market_key: Pubkey,
    market: &mut Market,
    oracle: &AccountInfo,
    now: i64,
) -> Result<PricedMarket> {
    require!(!market.is_final_settled(), PerpError::MarketInFinalSettlement);
    require!(!market.oracles_down(), PerpError::OraclesDown);
    update_index(market_key, market, oracle, now)?;
    PricedMarket::new(market_key, market, Some(oracle), now)
}

/// Loads the account acted on and the account on the other side, both of `exchange`.
pub fn load_pair<'info>(
    account: &'info AccountInfo<'info>,
    other: &'info AccountInfo<'info>,
    exchange: &Pubkey,
) -> Result<(MarginAccountMut<'info>, MarginAccountMut<'info>)> {
    Ok((MarginAccountMut::load(account, exchange)?, MarginAccountMut::load(other, exchange)?))
}

/// Finds the account's position in the market (refusing an account without one) and
/// settles its funding there. Returns the position's slot.
pub fn settle_existing_position(
    account: &Pubkey,
    header: &mut MarginAccount,
    positions: &mut [Position],
    market_key: &Pubkey,
    market: &mut Market,
) -> Result<usize> {
    let i = find_position(positions, market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
    settle_position(account, &mut header.collateral, &mut positions[i], market_key, market)?;
    Ok(i)
}
