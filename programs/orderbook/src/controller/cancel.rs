//! Cancelling an account's own orders. The lots return to its seat, whose allowance stays
//! for the next quote: a cancel touches only the book.
use anchor_lang::prelude::*;

use crate::error::BookError;
use crate::events::{CancelReason, OrderCancelled};
use crate::matching::{is_live, remove_order};
use crate::order_accounts::OrderAccounts;
use crate::state::{BookMut, BookParts, Side};

/// One of the account's resting orders.
#[derive(Clone, Copy, Debug)]
pub struct OwnOrder {
    pub side: Side,
    pub key: u128,
    pub client_order_id: u64,
}

/// Removes the account's order `key` on `side`.
fn cancel_one(parts: &mut BookParts, side: Side, key: u128, margin_account: &Pubkey, book: &Pubkey) -> Result<()> {
    let handle = parts.side(side).find(key).ok_or_else(|| error!(BookError::OrderNotFound))?;
    let order = *parts.side(side).get(handle).ok_or_else(|| error!(BookError::InvalidBookData))?;
    // A void order (its seat was revoked or given up) belongs to no one any more.
    let owner = parts.seats.get(order.seat as usize).filter(|_| is_live(parts.seats, &order)).map(|s| s.margin_account);
    require!(owner == Some(*margin_account), BookError::OrderNotFound);
    remove_order(parts, side, key)?;
    emit!(OrderCancelled::new(*book, key, *margin_account, order.base_lots, CancelReason::Owner));
    Ok(())
}

/// The account's live orders, best first per side, up to `limit`, after checking the book.
pub fn own_orders<'info>(accounts: &'info OrderAccounts<'info>, limit: usize) -> Result<Vec<OwnOrder>> {
    let mut book = BookMut::load(accounts.book.as_ref())?;
    let parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let margin_account = accounts.margin_account.key;
    let mut out = vec![];
    for side in [Side::Bid, Side::Ask] {
        let tree = match side {
            Side::Bid => parts.bids.as_ref(),
            Side::Ask => parts.asks.as_ref(),
        };
        for (_, key, order) in tree.iter() {
            if out.len() >= limit {
                return Ok(out);
            }
            let mine = parts.seats.get(order.seat as usize).is_some_and(|s| s.margin_account == *margin_account);
            if mine && is_live(parts.seats, order) {
                out.push(OwnOrder { side, key, client_order_id: order.client_order_id });
            }
        }
    }
    Ok(out)
}

/// Cancels the given orders of the account (whose signer the caller checked).
pub fn cancel_orders<'info>(accounts: &'info OrderAccounts<'info>, targets: &[(Side, u128)]) -> Result<()> {
    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let margin = accounts.margin_account.key();
    for (side, key) in targets {
        cancel_one(&mut parts, *side, *key, &margin, &book_info.key())?;
    }
    Ok(())
}
