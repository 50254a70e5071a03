//! `set_allowance`: the manager sets the vault seat's allowance in the book (to give it up
//! before withdrawals, or to quote without a CPI per order).
use anchor_lang::prelude::*;
use orderbook::instructions::AllowanceArgs;

use crate::manager_order::ManagerOrder;

/// Remaining accounts pass through: the margin account's health accounts.
pub fn handler<'info>(ctx: Context<'info, ManagerOrder<'info>>, args: AllowanceArgs) -> Result<()> {
    ctx.accounts.call_book(ctx.remaining_accounts, |cpi| orderbook::cpi::set_allowance(cpi, args))
}
