//! Withdrawing: burn shares, and `perpetual::cpi::withdraw` pays their worth from the
//! vault's margin account (the authority PDA signing as owner) to any token account of the
//! collateral mint. Perpetual's initial-margin check applies to the vault's account as to
//! any other, so a withdrawal that would leave the vault's positions under-margined fails
//! with perpetual's error.
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::equity::{amount_for_shares, floor_units, margin_equity};
use crate::error::VaultError;
use crate::events::VaultWithdrew;
use crate::state::{as_authority, ShareRecord, Vault, SHARES_SEED};

#[derive(Accounts)]
pub struct Withdraw<'info> {
    /// The shareholder.
    pub user: Signer<'info>,
    #[account(
        mut,
        has_one = exchange @ VaultError::WrongExchange,
        has_one = authority @ VaultError::WrongAuthority,
        has_one = margin_account @ VaultError::WrongMarginAccount,
        has_one = collateral_mint @ VaultError::WrongMint,
    )]
    pub vault: AccountLoader<'info, Vault>,
    /// CHECK: the vault's authority PDA (checked against the vault); signs the CPI.
    pub authority: UncheckedAccount<'info>,
    #[account(
        mut,
        seeds = [SHARES_SEED, vault.key().as_ref(), user.key().as_ref()],
        bump = share_record.load()?.bump,
    )]
    pub share_record: AccountLoader<'info, ShareRecord>,
    /// Any token account of the collateral mint.
    #[account(mut, constraint = destination.mint == collateral_mint.key() @ VaultError::WrongMint)]
    pub destination: Account<'info, TokenAccount>,
    /// CHECK: the vault's exchange; perpetual loads it.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: the vault's margin account; perpetual loads it.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: perpetual's collateral vault; perpetual checks it.
    #[account(mut)]
    pub collateral_vault: UncheckedAccount<'info>,
    pub collateral_mint: Account<'info, Mint>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Remaining accounts: the margin account's health accounts, passed on to perpetual.
pub fn handler<'info>(ctx: Context<'info, Withdraw<'info>>, shares: u64) -> Result<()> {
    require!(shares > 0, VaultError::ZeroAmount);
    let a = &*ctx.accounts;
    let vault_key = a.vault.key();
    require!(a.share_record.load()?.shares >= shares, VaultError::InsufficientShares);
    let (total_shares, authority_bump) = {
        let v = a.vault.load()?;
        (v.total_shares, v.authority_bump)
    };
    // Priced at the equity rounded down; the amount is rounded down too.
    let equity = floor_units(margin_equity(a.margin_account.as_ref(), ctx.remaining_accounts)?)?;
    let amount = amount_for_shares(shares, total_shares, equity).ok_or_else(|| error!(VaultError::MathOverflow))?;
    require!(amount > 0, VaultError::WithdrawalRoundsToZero);

    {
        let overflow = || error!(VaultError::MathOverflow);
        let mut r = a.share_record.load_mut()?;
        r.shares = r.shares.checked_sub(shares).ok_or_else(overflow)?;
        let mut v = a.vault.load_mut()?;
        v.total_shares = v.total_shares.checked_sub(shares).ok_or_else(overflow)?;
        v.total_withdrawn = v.total_withdrawn.checked_add(amount).ok_or_else(overflow)?;
        emit!(VaultWithdrew {
            vault: vault_key,
            user: a.user.key(),
            amount,
            shares,
            equity_before: equity,
            total_shares_after: v.total_shares
        });
    }

    let accounts = perpetual::cpi::accounts::Withdraw {
        owner: a.authority.to_account_info(),
        exchange: a.exchange.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        vault: a.collateral_vault.to_account_info(),
        destination: a.destination.to_account_info(),
        collateral_mint: a.collateral_mint.to_account_info(),
        token_program: a.token_program.to_account_info(),
    };
    as_authority(&vault_key, authority_bump, |signer| {
        let cpi = CpiContext::new_with_signer(perpetual::ID, accounts, signer)
            .with_remaining_accounts(ctx.remaining_accounts.to_vec());
        perpetual::cpi::withdraw(cpi, amount)
    })
}
