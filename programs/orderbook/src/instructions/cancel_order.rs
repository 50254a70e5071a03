//! `cancel_order`: cancels one of the account's orders by its key.
use anchor_lang::prelude::*;

use crate::controller::cancel::cancel_orders;
use crate::order_accounts::OrderAccounts;
use crate::state::Side;

pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, side: Side, order_key: u128) -> Result<()> {
    ctx.accounts.check_authority()?;
    cancel_orders(&*ctx.accounts, &[(side, order_key)])
}
