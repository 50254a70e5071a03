//! `liquidate_order`: anyone closes a position of an account below maintenance through the
//! book.
use anchor_lang::prelude::*;

use crate::controller::place::{place, PlaceMode};
use crate::error::BookError;
use crate::matching::SelfTradeBehavior;
use crate::order_accounts::OrderAccounts;
use crate::order_args::{OrderType, PlaceOrderArgs};
use crate::state::Side;

/// An immediate-or-cancel order that closes up to `max_base_lots` of a position of an
/// account below maintenance, crossing the book down (or up) to `limit_price_ticks`.
/// `perpetual` checks the account is liquidatable, shrinks it without flipping, and charges
/// the liquidation fee for the insurance fund. The account's seat here is revoked first;
/// its seats in other books must be revoked before (`revoke_seat`). Remaining accounts: the
/// liquidated account's health accounts.
pub fn handler<'info>(
    ctx: Context<'info, OrderAccounts<'info>>,
    max_base_lots: u64,
    limit_price_ticks: u64,
) -> Result<()> {
    ctx.accounts.check_book_account()?;
    let position = ctx.accounts.position()?.base_lots;
    require!(position != 0, BookError::InvalidSize);
    let args = PlaceOrderArgs {
        side: if position > 0 { Side::Ask } else { Side::Bid },
        price_ticks: limit_price_ticks,
        base_lots: max_base_lots.min(position.unsigned_abs()),
        order_type: OrderType::ImmediateOrCancel,
        reduce_only: false,
        self_trade: SelfTradeBehavior::CancelResting,
        client_order_id: 0,
        expiry_ts: 0,
        seat_hint: 0,
    };
    place(&*ctx.accounts, ctx.remaining_accounts, args, PlaceMode::Liquidation)
}
