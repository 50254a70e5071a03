//! `cancel_order_by_client_id`: cancels every order of the account with a client order id.
use anchor_lang::prelude::*;

use crate::controller::cancel::{cancel_orders, own_orders};
use crate::error::BookError;
use crate::order_accounts::OrderAccounts;

pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, client_order_id: u64) -> Result<()> {
    ctx.accounts.check_authority()?;
    let targets: Vec<_> = own_orders(&*ctx.accounts, usize::MAX)?
        .into_iter()
        .filter(|o| o.client_order_id == client_order_id)
        .map(|o| (o.side, o.key))
        .collect();
    require!(!targets.is_empty(), BookError::OrderNotFound);
    cancel_orders(&*ctx.accounts, &targets)
}
