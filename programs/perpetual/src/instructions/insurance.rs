//! The insurance fund: anyone deposits, only the admin withdraws.
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::controller::governance::authorize;
use crate::controller::vault::{pay_in, pay_out};
use crate::error::{checked, PerpError};
use crate::events::{InsuranceChanged, InsuranceReason};
use crate::state::Exchange;
use crate::state::GovAction;

#[derive(Accounts)]
pub struct InsuranceTransfer<'info> {
    /// Depositor (anyone) or the admin for a withdrawal.
    pub authority: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, address = exchange.load()?.vault @ PerpError::WrongAccount)]
    pub vault: Account<'info, TokenAccount>,
    /// Source of a deposit or destination of a withdrawal.
    #[account(mut, constraint = token_account.mint == collateral_mint.key() @ PerpError::WrongMint)]
    pub token_account: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint @ PerpError::WrongMint)]
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
}

pub fn deposit(ctx: Context<InsuranceTransfer>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let a = &ctx.accounts;
    pay_in(a.token_account.as_ref(), a.authority.as_ref(), a.vault.as_ref(), &a.collateral_mint, amount)?;
    let mut exchange = a.exchange.load_mut()?;
    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add(amount))?;
    emit!(InsuranceChanged {
        exchange: a.exchange.key(),
        delta: amount as i64,
        balance: exchange.insurance_fund,
        reason: InsuranceReason::Deposit
    });
    Ok(())
}

pub fn withdraw(ctx: Context<InsuranceTransfer>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let a = &ctx.accounts;
    {
        let mut exchange = a.exchange.load_mut()?;
        require_keys_eq!(exchange.admin, a.authority.key(), PerpError::NotAdmin);
        authorize(
            &a.exchange.key(),
            exchange.timelock_delay_secs,
            ctx.remaining_accounts,
            GovAction::WithdrawInsurance,
            &a.token_account.key(),
            &amount,
        )?;
        exchange.insurance_fund =
            exchange.insurance_fund.checked_sub(amount).ok_or_else(|| error!(PerpError::InsufficientInsurance))?;
        emit!(InsuranceChanged {
            exchange: a.exchange.key(),
            delta: -(amount as i64),
            balance: exchange.insurance_fund,
            reason: InsuranceReason::AdminWithdrawal
        });
    }
    pay_out(&a.exchange, a.vault.as_ref(), a.token_account.as_ref(), &a.collateral_mint, amount)
}
