//! `cancel_order`: the manager cancels one of the vault's orders.
use anchor_lang::prelude::*;
use orderbook::Side;

use crate::manager_order::ManagerOrder;

pub fn handler<'info>(ctx: Context<'info, ManagerOrder<'info>>, side: Side, order_key: u128) -> Result<()> {
    ctx.accounts.call_book(&[], |cpi| orderbook::cpi::cancel_order(cpi, side, order_key))
}
