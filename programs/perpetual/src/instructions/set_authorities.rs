use anchor_lang::prelude::*;

use crate::controller::governance::authorize_exchange_change;
use crate::error::PerpError;
use crate::events::{AuthoritiesSet, ListingDepositSet};
use crate::params::MAX_LISTING_DEPOSIT;
use crate::shared_accounts::AdminOnly;
use crate::state::GovAction;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct SetAuthoritiesArgs {
    pub funding_authority: Option<Pubkey>,
    pub risk_authority: Option<Pubkey>,
    pub pause_guardian: Option<Pubkey>,
    pub deleverage_authority: Option<Pubkey>,
}

pub fn handler(ctx: Context<AdminOnly>, args: SetAuthoritiesArgs) -> Result<()> {
    let mut exchange =
        authorize_exchange_change(&ctx.accounts.exchange, ctx.remaining_accounts, GovAction::SetAuthorities, &args)?;
    if let Some(k) = args.funding_authority {
        exchange.funding_authority = k;
    }
    if let Some(k) = args.risk_authority {
        exchange.risk_authority = k;
    }
    if let Some(k) = args.pause_guardian {
        exchange.pause_guardian = k;
    }
    if let Some(k) = args.deleverage_authority {
        exchange.deleverage_authority = k;
    }
    emit!(AuthoritiesSet {
        exchange: ctx.accounts.exchange.key(),
        funding_authority: exchange.funding_authority,
        risk_authority: exchange.risk_authority,
        pause_guardian: exchange.pause_guardian,
        deleverage_authority: exchange.deleverage_authority,
    });
    Ok(())
}

/// Admin: the collateral a permissionless lister deposits (returned when the market closes).
pub fn set_listing_deposit(ctx: Context<AdminOnly>, amount: u64) -> Result<()> {
    require!(amount <= MAX_LISTING_DEPOSIT, PerpError::ParameterOutOfRange);
    let exchange_key = ctx.accounts.exchange.key();
    let mut exchange = authorize_exchange_change(
        &ctx.accounts.exchange,
        ctx.remaining_accounts,
        GovAction::SetListingDeposit,
        &amount,
    )?;
    exchange.listing_deposit = amount;
    emit!(ListingDepositSet { exchange: exchange_key, amount });
    Ok(())
}
