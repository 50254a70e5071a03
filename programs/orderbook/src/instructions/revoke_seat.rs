//! `revoke_seat` and `reclaim_seat`: anyone frees a seat, voiding its orders.
use anchor_lang::prelude::*;
use perpetual::trader_api::AllowanceChange;

use crate::controller::seat::{find_seat, release};
use crate::error::BookError;
use crate::order_accounts::OrderAccounts;
use crate::state::BookMut;

/// Frees the seat of `margin_account` (at `seat_hint`, or found by a scan) after
/// `perpetual` zeroes its allowance for `change`.
fn free<'info>(ctx: Context<'info, OrderAccounts<'info>>, seat_hint: u32, change: AllowanceChange) -> Result<()> {
    let accounts = &*ctx.accounts;
    accounts.position()?;
    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let perp = accounts.perp(parts.header.trader_bump);
    let key = accounts.margin_account.key();
    let i = find_seat(parts.seats, seat_hint, &key).ok_or_else(|| error!(BookError::SeatUnavailable))?;
    if change == AllowanceChange::Reclaim {
        let seat = &parts.seats[i as usize];
        let idle = seat.order_count == 0 && seat.pending().is_empty();
        require!(idle && parts.seats.iter().all(|s| !s.is_free()), BookError::SeatNotReclaimable);
    }
    release(&perp, ctx.remaining_accounts, &mut parts.seats[i as usize], change, &book_info.key())
}

/// Anyone, once the account is below maintenance with its orders at their worst (or the
/// market is settled): settles the seat, zeroes its allowance and voids its orders, so that
/// liquidation, deleveraging or final settlement may act on the account. Remaining
/// accounts: the account's health accounts.
pub fn revoke<'info>(ctx: Context<'info, OrderAccounts<'info>>, seat_hint: u32) -> Result<()> {
    free(ctx, seat_hint, AllowanceChange::Revoke)
}

/// Anyone, when no seat is free: takes an idle seat (no orders, nothing pending) from its
/// account, whose allowance goes to zero.
pub fn reclaim<'info>(ctx: Context<'info, OrderAccounts<'info>>, seat_hint: u32) -> Result<()> {
    free(ctx, seat_hint, AllowanceChange::Reclaim)
}
