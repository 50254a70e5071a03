//! Pruning: anyone may remove an account's orders that its liquidation or deleveraging left
//! without a reservation (an older `reservation_epoch`), so they stop showing as depth.
use anchor_lang::prelude::*;
use perpetual::controller::return_data::set_return_data;
use perpetual::state::parse_margin_account;

use crate::error::BookError;
use crate::events::OrderCancelled;
use crate::matching::{remove_order, CancelReason};
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
    require_keys_eq!(*info.owner, perpetual::ID, BookError::WrongOwner);
    let (exchange, epoch) = {
        let data = info.try_borrow_data()?;
        let (header, _) = parse_margin_account(&data).map_err(|_| error!(BookError::NotMarginAccount))?;
        (header.exchange, header.reservation_epoch)
    };
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
        stale.extend(tree.iter().filter(|(_, _, o)| o.seat as usize == seat && o.epoch != epoch).take(room).map(|(_, key, o)| (side, key, o.base_lots)));
    }
    for (side, key, lots) in &stale {
        remove_order(&mut parts, *side, *key)?;
        emit!(OrderCancelled { book: book_info.key(), order_key: *key, margin_account: *info.key, base_lots: *lots, reason: CancelReason::ReservationCleared as u8 });
    }
    set_return_data(&(stale.len() as u16).to_le_bytes());
    Ok(())
}
