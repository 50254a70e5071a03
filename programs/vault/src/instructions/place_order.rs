//! `place_order`: the manager places an order for the vault's margin account.
use anchor_lang::prelude::*;
use orderbook::instructions::PlaceOrderArgs;
use perpetual::runtime::return_data::{get_return_data, set_return_data};

use crate::error::VaultError;
use crate::manager_order::ManagerOrder;

/// Remaining accounts pass through: the margin account's health accounts.
pub fn handler<'info>(ctx: Context<'info, ManagerOrder<'info>>, args: PlaceOrderArgs) -> Result<()> {
    ctx.accounts.call_book(ctx.remaining_accounts, |cpi| orderbook::cpi::place_order(cpi, args))?;
    // Relay the book's (resting key, filled lots) as this program's return data.
    match get_return_data() {
        Some((program, data)) if program == orderbook::ID => set_return_data(&data),
        _ => return err!(VaultError::MissingOrderResult),
    }
    Ok(())
}
