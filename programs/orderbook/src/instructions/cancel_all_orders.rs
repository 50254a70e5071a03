//! `cancel_all_orders`: cancels up to `limit` of the account's orders (work bounded per
//! instruction).
use anchor_lang::prelude::*;

use crate::controller::cancel::{cancel_orders, own_orders};
use crate::order_accounts::OrderAccounts;

pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, limit: u16) -> Result<()> {
    ctx.accounts.check_authority()?;
    let targets: Vec<_> = own_orders(&*ctx.accounts, limit as usize)?.into_iter().map(|o| (o.side, o.key)).collect();
    cancel_orders(&*ctx.accounts, &targets)
}
