use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::controller::vault::pay_in;
use crate::error::{checked, PerpError};
use crate::events::Deposited;
use crate::state::{Exchange, MarginAccountMut};

#[derive(Accounts)]
pub struct Deposit<'info> {
    /// Anyone may deposit into any margin account.
    pub depositor: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    #[account(mut, constraint = depositor_token.mint == collateral_mint.key() @ PerpError::WrongMint)]
    pub depositor_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.vault @ PerpError::WrongAccount)]
    pub vault: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint @ PerpError::WrongMint)]
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
}

pub fn handler<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let accounts = &*ctx.accounts;
    let info: &'info AccountInfo<'info> = accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &accounts.exchange.key())?;
    let delta = checked(i64::try_from(amount).ok())?;
    let header = account.header_mut();
    header.collateral = checked(header.collateral.checked_add(delta))?;
    let collateral_after = header.collateral;
    drop(account);

    pay_in(
        accounts.depositor_token.as_ref(),
        accounts.depositor.as_ref(),
        accounts.vault.as_ref(),
        &accounts.collateral_mint,
        amount,
    )?;
    emit!(Deposited { margin_account: info.key(), depositor: accounts.depositor.key(), amount, collateral_after });
    Ok(())
}
