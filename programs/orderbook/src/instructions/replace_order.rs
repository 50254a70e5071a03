//! `replace_order`: cancels an order and places another atomically.
use anchor_lang::prelude::*;

use crate::controller::cancel::cancel_orders;
use crate::controller::place::{place, PlaceMode};
use crate::order_accounts::OrderAccounts;
use crate::order_args::PlaceOrderArgs;
use crate::state::Side;

/// The cancelled order's lots return to the seat first, so a replace within the seat's
/// allowance needs no CPI. Remaining accounts as `place_order`'s.
pub fn handler<'info>(
    ctx: Context<'info, OrderAccounts<'info>>,
    side: Side,
    order_key: u128,
    args: PlaceOrderArgs,
) -> Result<()> {
    let accounts = &*ctx.accounts;
    accounts.check_authority()?;
    cancel_orders(accounts, &[(side, order_key)])?;
    place(accounts, ctx.remaining_accounts, args, PlaceMode::Normal)
}
