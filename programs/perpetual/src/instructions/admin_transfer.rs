//! Two-step admin change: the admin proposes, the proposed key accepts by signing.
use anchor_lang::prelude::*;

use crate::controller::governance::authorize_exchange_change;
use crate::error::PerpError;
use crate::events::{AdminAccepted, AdminProposed};
use crate::shared_accounts::AdminOnly;
use crate::state::Exchange;
use crate::state::GovAction;

pub fn propose(ctx: Context<AdminOnly>, new_admin: Pubkey) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let mut exchange =
        authorize_exchange_change(&ctx.accounts.exchange, ctx.remaining_accounts, GovAction::ProposeAdmin, &new_admin)?;
    exchange.pending_admin = new_admin;
    emit!(AdminProposed { exchange: exchange_key, proposed: new_admin });
    Ok(())
}

#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(
        mut,
        constraint = exchange.load()?.pending_admin == new_admin.key() @ PerpError::NotPendingAdmin,
    )]
    pub exchange: AccountLoader<'info, Exchange>,
}

pub fn accept(ctx: Context<AcceptAdmin>) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    exchange.admin = ctx.accounts.new_admin.key();
    exchange.pending_admin = Pubkey::default();
    emit!(AdminAccepted { exchange: ctx.accounts.exchange.key(), admin: exchange.admin });
    Ok(())
}
