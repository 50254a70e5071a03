//! Depositing: the user's tokens pass through the vault's token account into its margin
//! account (`perpetual::cpi::deposit`, the authority PDA signing as depositor), and the
//! user's share record is credited.
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};
use perpetual::runtime::create_account::create_pda;

use crate::equity::{ceil_units, margin_equity, shares_for_deposit};
use crate::error::VaultError;
use crate::events::VaultDeposited;
use crate::state::{as_authority, init_account, ShareRecord, Vault, SHARES_SEED};

#[derive(Accounts)]
pub struct Deposit<'info> {
    /// The shareholder; pays its share record's rent on the first deposit.
    #[account(mut)]
    pub user: Signer<'info>,
    #[account(
        mut,
        has_one = exchange @ VaultError::WrongExchange,
        has_one = authority @ VaultError::WrongAuthority,
        has_one = margin_account @ VaultError::WrongMarginAccount,
        has_one = vault_token @ VaultError::WrongTokenAccount,
        has_one = collateral_mint @ VaultError::WrongMint,
    )]
    pub vault: AccountLoader<'info, Vault>,
    /// CHECK: the vault's authority PDA (checked against the vault); signs the CPI.
    pub authority: UncheckedAccount<'info>,
    /// CHECK: the user's share record at this PDA, created here if it does not exist.
    #[account(mut, seeds = [SHARES_SEED, vault.key().as_ref(), user.key().as_ref()], bump)]
    pub share_record: UncheckedAccount<'info>,
    /// The user's tokens (the user signs the transfer).
    #[account(mut, constraint = user_token.mint == collateral_mint.key() @ VaultError::WrongMint)]
    pub user_token: Account<'info, TokenAccount>,
    #[account(mut)]
    pub vault_token: Account<'info, TokenAccount>,
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
    pub system_program: Program<'info, System>,
}

/// Remaining accounts: the margin account's health accounts (they price its positions).
pub fn handler<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, VaultError::ZeroAmount);
    let a = &*ctx.accounts;
    let vault_key = a.vault.key();
    let (total_shares, authority_bump) = {
        let v = a.vault.load()?;
        (v.total_shares, v.authority_bump)
    };
    // Shares are priced before the deposit, at the equity rounded up.
    let equity = ceil_units(margin_equity(a.margin_account.as_ref(), ctx.remaining_accounts)?)?
        .ok_or_else(|| error!(VaultError::VaultUnderwater))?;
    let shares = shares_for_deposit(amount, total_shares, equity).ok_or_else(|| error!(VaultError::MathOverflow))?;
    require!(shares > 0, VaultError::ZeroShares);

    let record = load_or_create_record(a, ctx.bumps.share_record)?;

    token::transfer_checked(
        CpiContext::new(
            token::ID,
            TransferChecked {
                from: a.user_token.to_account_info(),
                mint: a.collateral_mint.to_account_info(),
                to: a.vault_token.to_account_info(),
                authority: a.user.to_account_info(),
            },
        ),
        amount,
        a.collateral_mint.decimals,
    )?;
    let accounts = perpetual::cpi::accounts::Deposit {
        depositor: a.authority.to_account_info(),
        exchange: a.exchange.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        depositor_token: a.vault_token.to_account_info(),
        vault: a.collateral_vault.to_account_info(),
        collateral_mint: a.collateral_mint.to_account_info(),
        token_program: a.token_program.to_account_info(),
    };
    as_authority(&vault_key, authority_bump, |signer| {
        perpetual::cpi::deposit(CpiContext::new_with_signer(perpetual::ID, accounts, signer), amount)
    })?;

    let overflow = || error!(VaultError::MathOverflow);
    let mut r = record.load_mut()?;
    r.shares = r.shares.checked_add(shares).ok_or_else(overflow)?;
    let mut v = a.vault.load_mut()?;
    v.total_shares = v.total_shares.checked_add(shares).ok_or_else(overflow)?;
    v.total_deposited = v.total_deposited.checked_add(amount).ok_or_else(overflow)?;
    emit!(VaultDeposited {
        vault: vault_key,
        user: a.user.key(),
        amount,
        shares,
        equity_before: equity,
        total_shares_after: v.total_shares
    });
    Ok(())
}

/// The user's share record, created (rent paid by the user) when the address is empty.
fn load_or_create_record<'info>(a: &'info Deposit<'info>, bump: u8) -> Result<AccountLoader<'info, ShareRecord>> {
    let info: &'info AccountInfo<'info> = a.share_record.as_ref();
    if *info.owner != crate::ID {
        let (vault, user) = (a.vault.key(), a.user.key());
        let bump_bytes = [bump];
        let seeds: &[&[u8]] = &[SHARES_SEED, vault.as_ref(), user.as_ref(), &bump_bytes];
        create_pda(a.user.as_ref(), info, a.system_program.as_ref(), &crate::ID, ShareRecord::SPACE, seeds)?;
        init_account(info, |r: &mut ShareRecord| {
            r.vault = vault;
            r.owner = user;
            r.bump = bump;
        })?;
    }
    let loader = AccountLoader::<ShareRecord>::try_from(info)?;
    {
        let r = loader.load()?;
        require!(r.vault == a.vault.key() && r.owner == a.user.key(), VaultError::WrongShareRecord);
    }
    Ok(loader)
}
