//! `place_order`: an order of any type for the signer's margin account.
use anchor_lang::prelude::*;

use crate::controller::place::{place, PlaceMode};
use crate::order_accounts::OrderAccounts;
use crate::order_args::PlaceOrderArgs;

/// Remaining accounts: the placer's health accounts (for a take, or an allowance that grows).
pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, args: PlaceOrderArgs) -> Result<()> {
    place(&*ctx.accounts, ctx.remaining_accounts, args, PlaceMode::Normal)
}
