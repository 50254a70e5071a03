//! `prune_stale_orders`: anyone may remove an account's orders that its liquidation or deleveraging left
//! without a reservation (an older `reservation_epoch`), so they stop showing as depth.
use anchor_lang::prelude::*;
use perpetual::runtime::return_data::set_return_data;

use crate::error::BookError;
use crate::events::{CancelReason, OrderCancelled};
use crate::matching::remove_order;
use crate::order_accounts::read_margin_account;
use crate::state::{BookMut, Side};

#[derive(Accounts)]
pub struct PruneStaleOrders<'info> {
    /// CHECK: loaded by `BookMut` (owner, type).
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
    /// CHECK: a perpetual margin account of the book's exchange; only read.
    pub margin_account: UncheckedAccount<'info>,
}

/// Removes up to `limit` of the account's orders from before its current reservation epoch.
/// Nothing is released: `perpetual` already cleared their reservation. Return data: the
/// number removed (u16); 0 when there is nothing to prune.
pub fn handler<'info>(ctx: Context<'info, PruneStaleOrders<'info>>, limit: u16) -> Result<()> {
    let info: &AccountInfo = ctx.accounts.margin_account.as_ref();
    let (exchange, epoch) = read_margin_account(info, |header, _| Ok((header.exchange, header.reservation_epoch)))?;
    let book_info: &'info AccountInfo<'info> = ctx.accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    require_keys_eq!(parts.header.exchange, exchange, BookError::WrongExchange);
    let Some(seat) = parts.seats.iter().position(|s| s.margin_account == *info.key) else {
        set_return_data(&0u16.to_le_bytes());
        return Ok(());
    };
    let mut stale = vec![];
    for side in [Side::Bid, Side::Ask] {
        let tree = match side {
            Side::Bid => parts.bids.as_ref(),
            Side::Ask => parts.asks.as_ref(),
        };
        let room = (limit as usize).saturating_sub(stale.len());
        stale.extend(
            tree.iter()
                .filter(|(_, _, o)| o.seat as usize == seat && o.epoch != epoch)
                .take(room)
                .map(|(_, key, o)| (side, key, o.base_lots)),
        );
    }
    for (side, key, lots) in &stale {
        remove_order(&mut parts, *side, *key)?;
        emit!(OrderCancelled::new(book_info.key(), *key, *info.key, *lots, CancelReason::ReservationCleared));
    }
    set_return_data(&(stale.len() as u16).to_le_bytes());
    Ok(())
}
