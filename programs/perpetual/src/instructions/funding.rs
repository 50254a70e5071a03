//! Funding: the permissionless index update and the funding authority's rate.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::events::{FundingIndexUpdated, FundingRateSet};
use crate::controller::funding::settle_position;
use crate::controller::mark::Prices;
use crate::state::{find_position, Exchange, MarginAccountMut, Market, MarketStatus};

#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
}

/// Reads index and mark, remembers an index that passed every check, and moves the funding
/// index to now at the index price. Idempotent within one second.
pub fn update_index(market_key: Pubkey, market: &mut Market, oracle: &AccountInfo, now: i64) -> Result<Prices> {
    if market.status == MarketStatus::FinalSettlement as u8 {
        let p = market.settlement_price.get();
        return Ok(Prices { index: p, raw_index: None, jumped: false, mark: p, stable: p });
    }
    let prices = market.prices(oracle, now)?;
    if prices.raw_index.is_some() && !prices.jumped {
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

pub fn update_funding(ctx: Context<UpdateFunding>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut market = ctx.accounts.market.load_mut()?;
    update_index(ctx.accounts.market.key(), &mut market, &ctx.accounts.oracle, now)?;
    Ok(())
}

#[derive(Accounts)]
pub struct SetFundingRate<'info> {
    pub funding_authority: Signer<'info>,
    #[account(constraint = exchange.load()?.funding_authority == funding_authority.key() @ PerpError::NotFundingAuthority)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; the index accrues at the old rate first.
    pub oracle: UncheckedAccount<'info>,
}

/// Sets R within `|R| <= max` and `|R - R_window_start| <= max_change` per window.
pub fn set_funding_rate(ctx: Context<SetFundingRate>, rate_ppbh: i64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(m.status != MarketStatus::FinalSettlement as u8, PerpError::MarketInFinalSettlement);
    require!(rate_ppbh.unsigned_abs() <= m.max_funding_rate_ppbh.unsigned_abs(), PerpError::FundingRateTooLarge);
    if now >= m.funding_window_start_ts.saturating_add(m.funding_window_secs) {
        m.funding_window_start_ts = now;
        m.funding_window_start_rate_ppbh = m.funding_rate_ppbh;
    }
    let change = rate_ppbh.abs_diff(m.funding_window_start_rate_ppbh);
    require!(change <= m.max_funding_rate_change_ppbh.unsigned_abs(), PerpError::FundingRateChangeTooLarge);
    update_index(ctx.accounts.market.key(), &mut m, &ctx.accounts.oracle, now)?;
    m.funding_rate_ppbh = rate_ppbh;
    emit!(FundingRateSet { market: ctx.accounts.market.key(), rate_ppbh });
    Ok(())
}

#[derive(Accounts)]
pub struct SettleFunding<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
}

/// Permissionless: updates the index and settles one account's funding in this market.
/// Idempotent: settling twice at the same index moves nothing.
pub fn settle_funding<'info>(ctx: Context<'info, SettleFunding<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market_key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    update_index(market_key, &mut market, &ctx.accounts.oracle, now)?;
    let info: &'info AccountInfo<'info> = ctx.accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &market.exchange)?;
    let (header, positions) = account.split_mut();
    let i = find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
    settle_position(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut market)?;
    Ok(())
}
