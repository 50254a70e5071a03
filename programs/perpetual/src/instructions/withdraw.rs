use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::controller::health::{account_health, require_initial};
use crate::controller::vault::pay_out;
use crate::error::{checked, PerpError};
use crate::events::Withdrew;
use crate::state::{Exchange, MarginAccountMut};

#[derive(Accounts)]
pub struct Withdraw<'info> {
    /// Only the owner; a delegate may never withdraw.
    pub owner: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    #[account(mut, address = exchange.load()?.vault @ PerpError::WrongAccount)]
    pub vault: Account<'info, TokenAccount>,
    /// Any token account of the collateral mint.
    #[account(mut, constraint = destination.mint == collateral_mint.key() @ PerpError::WrongMint)]
    pub destination: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint @ PerpError::WrongMint)]
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
}

/// Remaining accounts: health accounts (see `controller::health`).
pub fn handler<'info>(ctx: Context<'info, Withdraw<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let accounts = &*ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    let info: &'info AccountInfo<'info> = accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &accounts.exchange.key())?;
    require_keys_eq!(account.header().owner, accounts.owner.key(), PerpError::NotOwner);
    let delta = checked(i64::try_from(amount).ok())?;
    {
        let header = account.header_mut();
        // Bounded by initial margin below, not by the signed balance: in the dYdX model a
        // long's balance already paid for its position.
        header.collateral = checked(header.collateral.checked_sub(delta))?;
    }
    let health = account_health(account.header(), account.positions(), &[], ctx.remaining_accounts, now)?;
    require_initial(&health)?;
    let collateral_after = account.header().collateral;
    drop(account);

    pay_out(
        &accounts.exchange,
        accounts.vault.as_ref(),
        accounts.destination.as_ref(),
        &accounts.collateral_mint,
        amount,
    )?;
    emit!(Withdrew { margin_account: info.key(), destination: accounts.destination.key(), amount, collateral_after });
    Ok(())
}
