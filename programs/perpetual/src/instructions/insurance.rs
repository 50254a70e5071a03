//! The insurance fund: anyone deposits, only the admin withdraws.
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::error::{checked, PerpError};
use crate::events::InsuranceChanged;
use crate::instructions::governance::{authorize, GovAction};
use crate::state::{Exchange, EXCHANGE_SEED};

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
    token::transfer_checked(
        CpiContext::new(
            token::ID,
            TransferChecked {
                from: a.token_account.to_account_info(),
                mint: a.collateral_mint.to_account_info(),
                to: a.vault.to_account_info(),
                authority: a.authority.to_account_info(),
            },
        ),
        amount,
        a.collateral_mint.decimals,
    )?;
    let mut exchange = a.exchange.load_mut()?;
    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add(amount))?;
    emit!(InsuranceChanged { exchange: a.exchange.key(), delta: amount as i64, balance: exchange.insurance_fund, reason: 0 });
    Ok(())
}

pub fn withdraw(ctx: Context<InsuranceTransfer>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let a = &ctx.accounts;
    let (mint, bump) = {
        let mut exchange = a.exchange.load_mut()?;
        require_keys_eq!(exchange.admin, a.authority.key(), PerpError::NotAdmin);
        authorize(&a.exchange.key(), exchange.timelock_delay_secs, ctx.remaining_accounts, GovAction::WithdrawInsurance, &a.token_account.key(), &amount)?;
        exchange.insurance_fund = exchange.insurance_fund.checked_sub(amount).ok_or_else(|| error!(PerpError::InsufficientInsurance))?;
        emit!(InsuranceChanged { exchange: a.exchange.key(), delta: -(amount as i64), balance: exchange.insurance_fund, reason: 1 });
        (exchange.collateral_mint, exchange.bump)
    };
    let seeds: &[&[u8]] = &[EXCHANGE_SEED, mint.as_ref(), &[bump]];
    token::transfer_checked(
        CpiContext::new_with_signer(
            token::ID,
            TransferChecked {
                from: a.vault.to_account_info(),
                mint: a.collateral_mint.to_account_info(),
                to: a.token_account.to_account_info(),
                authority: a.exchange.to_account_info(),
            },
            &[seeds],
        ),
        amount,
        a.collateral_mint.decimals,
    )
}
