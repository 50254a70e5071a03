//! `replace_order`: cancels an order and places another atomically.
use anchor_lang::prelude::*;

use crate::controller::cancel::cancel_for_replace;
use crate::controller::place::{place, PlaceMode};
use crate::order_accounts::OrderAccounts;
use crate::order_args::PlaceOrderArgs;
use crate::state::Side;

/// The reservation changes once, by the difference, so a replace that does not grow needs
/// no other markets. Remaining accounts as `place_order`'s.
pub fn handler<'info>(
    ctx: Context<'info, OrderAccounts<'info>>,
    side: Side,
    order_key: u128,
    args: PlaceOrderArgs,
) -> Result<()> {
    let accounts = &*ctx.accounts;
    let epoch = accounts.check_authority()?.epoch;
    let released = cancel_for_replace(accounts, epoch, side, order_key)?;
    place(accounts, ctx.remaining_accounts, args, PlaceMode::Normal, released)
}
