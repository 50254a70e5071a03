//! Underwater accounts (negative equity): anyone marks one, starting the time lock after
//! which anyone may deleverage it; the deleveraging authority has the insurance fund cover
//! its deficit first.
use anchor_lang::prelude::*;

use crate::controller::health::{account_health, AccountHealth};
use crate::error::{checked, PerpError};
use crate::events::{InsuranceChanged, InsuranceReason, UnderwaterMarked};
use crate::math::fixed_point::ceil_to_i64;
use crate::state::{Exchange, MarginAccountMut};

#[derive(Accounts)]
pub struct CheckAccount<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The deleveraging authority for `cover_with_insurance`; anyone for `mark_underwater`.
    pub authority: Signer<'info>,
}

fn health_of<'info>(
    info: &'info AccountInfo<'info>,
    exchange: &Pubkey,
    health: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<(MarginAccountMut<'info>, AccountHealth)> {
    let account = MarginAccountMut::load(info, exchange)?;
    let h = account_health(account.header(), account.positions(), &[], health, now)?;
    Ok((account, h))
}

/// Anyone: marks an underwater account (starting the time lock after which anyone may
/// deleverage it), or clears the mark of one that has recovered.
/// Remaining accounts: the account's health accounts.
pub fn mark_underwater<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let info: &'info AccountInfo<'info> = ctx.accounts.margin_account.as_ref();
    let (mut account, h) = health_of(info, &ctx.accounts.exchange.key(), ctx.remaining_accounts, now)?;
    let header = account.header_mut();
    if h.equity < 0 {
        if header.underwater_since == 0 {
            header.underwater_since = now;
            emit!(UnderwaterMarked { margin_account: info.key(), since: now });
        }
        return Ok(());
    }
    require!(header.underwater_since != 0, PerpError::NotUnderwater);
    header.underwater_since = 0;
    emit!(UnderwaterMarked { margin_account: info.key(), since: 0 });
    Ok(())
}

/// Deleveraging authority: the insurance fund pays an underwater account's deficit, as far
/// as it can. Remaining accounts: the account's health accounts.
pub fn cover_with_insurance<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &*ctx.accounts;
    let mut exchange = a.exchange.load_mut()?;
    require_keys_eq!(exchange.deleverage_authority, a.authority.key(), PerpError::DeleverageNotAllowed);
    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let (mut account, h) = health_of(info, &a.exchange.key(), ctx.remaining_accounts, now)?;
    require!(h.equity < 0, PerpError::NotUnderwater);
    let deficit = ceil_to_i64(-h.equity)? as u64;
    let paid = deficit.min(exchange.insurance_fund);
    require!(paid > 0, PerpError::InsufficientInsurance);
    exchange.insurance_fund -= paid;
    let header = account.header_mut();
    header.collateral = checked(header.collateral.checked_add(paid as i64))?;
    if paid == deficit {
        header.underwater_since = 0;
    }
    emit!(InsuranceChanged {
        exchange: a.exchange.key(),
        delta: -(paid as i64),
        balance: exchange.insurance_fund,
        reason: InsuranceReason::Shortfall
    });
    Ok(())
}
