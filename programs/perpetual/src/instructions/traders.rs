//! The admin approves and revokes trader programs.
use anchor_lang::prelude::*;

use crate::controller::governance::authorize_change;
use crate::error::PerpError;
use crate::events::TraderApprovalChanged;
use crate::runtime::create_account::create_zero_copy;
use crate::state::GovAction;
use crate::state::{Exchange, TraderApproval, DISCRIMINATOR_LEN, TRADER_APPROVAL_SEED};
use crate::trader_api::TRADER_SEED;

#[derive(Accounts)]
pub struct ApproveTrader<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: any executable program may be approved; the admin vouches for it.
    #[account(executable)]
    pub trader_program: UncheckedAccount<'info>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [TRADER_APPROVAL_SEED, exchange.key().as_ref(), trader_program.key().as_ref()], bump)]
    pub approval: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn approve(ctx: Context<ApproveTrader>) -> Result<()> {
    let program = ctx.accounts.trader_program.key();
    authorize_change(&ctx.accounts.exchange, ctx.remaining_accounts, GovAction::ApproveTrader, &program, &())?;
    let (authority, authority_bump) = Pubkey::find_program_address(&[TRADER_SEED], &program);
    let accounts = &ctx.accounts;
    let exchange = accounts.exchange.key();
    let seeds: &[&[u8]] = &[TRADER_APPROVAL_SEED, exchange.as_ref(), program.as_ref(), &[ctx.bumps.approval]];
    create_zero_copy::<TraderApproval>(
        accounts.admin.as_ref(),
        accounts.approval.as_ref(),
        accounts.system_program.as_ref(),
        TraderApproval::SPACE,
        seeds,
    )?;
    let mut data = accounts.approval.try_borrow_mut_data()?;
    let a: &mut TraderApproval = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..TraderApproval::SPACE]);
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
    authorize_change(
        &ctx.accounts.exchange,
        ctx.remaining_accounts,
        GovAction::RevokeTrader,
        &ctx.accounts.approval.key(),
        &(),
    )?;
    let a = ctx.accounts.approval.load()?;
    emit!(TraderApprovalChanged { exchange: a.exchange, trader_program: a.trader_program, active: false });
    Ok(())
}
