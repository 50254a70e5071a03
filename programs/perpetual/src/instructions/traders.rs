//! The admin approves and revokes trader programs.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::events::TraderApprovalChanged;
use crate::state::{Exchange, TraderApproval, TRADER_APPROVAL_SEED, TRADER_SEED};

#[derive(Accounts)]
pub struct ApproveTrader<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: any executable program may be approved; the admin vouches for it.
    #[account(executable)]
    pub trader_program: UncheckedAccount<'info>,
    #[account(
        init, payer = admin, space = TraderApproval::SPACE,
        seeds = [TRADER_APPROVAL_SEED, exchange.key().as_ref(), trader_program.key().as_ref()], bump,
    )]
    pub approval: AccountLoader<'info, TraderApproval>,
    pub system_program: Program<'info, System>,
}

pub fn approve(ctx: Context<ApproveTrader>) -> Result<()> {
    let program = ctx.accounts.trader_program.key();
    let (authority, authority_bump) = Pubkey::find_program_address(&[TRADER_SEED], &program);
    let mut a = ctx.accounts.approval.load_init()?;
    a.exchange = ctx.accounts.exchange.key();
    a.trader_program = program;
    a.trader_authority = authority;
    a.active = 1;
    a.bump = ctx.bumps.approval;
    a.authority_bump = authority_bump;
    emit!(TraderApprovalChanged { exchange: a.exchange, trader_program: program, active: true });
    Ok(())
}

#[derive(Accounts)]
pub struct RevokeTrader<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = admin, has_one = exchange @ PerpError::WrongExchange)]
    pub approval: AccountLoader<'info, TraderApproval>,
}

/// Closes the approval; settlement from that program is refused from now on.
pub fn revoke(ctx: Context<RevokeTrader>) -> Result<()> {
    let a = ctx.accounts.approval.load()?;
    emit!(TraderApprovalChanged { exchange: a.exchange, trader_program: a.trader_program, active: false });
    Ok(())
}
