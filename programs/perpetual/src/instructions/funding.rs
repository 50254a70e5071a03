//! Funding: the permissionless index update and the funding authority's rate.
use anchor_lang::prelude::*;

use crate::controller::funding::{settle_position, update_index};
use crate::error::PerpError;
use crate::events::FundingRateSet;
use crate::state::{find_position, Exchange, MarginAccountMut, Market};

#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
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
    require!(!m.is_final_settled(), PerpError::MarketInFinalSettlement);
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
