//! Cancelling an account's own orders. A cancel only shrinks a reservation, so it needs no
//! other markets.
use anchor_lang::prelude::*;

use crate::error::BookError;
use crate::events::{CancelReason, OrderCancelled};
use crate::matching::remove_order;
use crate::order_accounts::OrderAccounts;
use crate::perp_cpi::ReservationDelta;
use crate::state::{BookMut, BookParts, Side};

/// Reservation the book gave back by removing orders, in lots per side.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Released {
    pub bids: u64,
    pub asks: u64,
}

impl Released {
    pub const NONE: Released = Released { bids: 0, asks: 0 };

    pub fn add(&mut self, side: Side, lots: u64) {
        match side {
            Side::Bid => self.bids += lots,
            Side::Ask => self.asks += lots,
        }
    }

    /// The reservation change that gives it back in `perpetual`.
    pub fn delta(self) -> ReservationDelta {
        ReservationDelta { bids: -(self.bids as i64), asks: -(self.asks as i64) }
    }
}

/// One of the account's resting orders.
#[derive(Clone, Copy, Debug)]
pub struct OwnOrder {
    pub side: Side,
    pub key: u128,
    pub client_order_id: u64,
}

/// Removes the account's order `key` on `side`; returns the reservation it held: its size,
/// or 0 for an order from before the account's reservations were cleared (`epoch`).
fn cancel_one(
    parts: &mut BookParts,
    side: Side,
    key: u128,
    margin_account: &Pubkey,
    epoch: u32,
    book: &Pubkey,
) -> Result<u64> {
    let handle = parts.side(side).find(key).ok_or_else(|| error!(BookError::OrderNotFound))?;
    let order = *parts.side(side).get(handle).ok_or_else(|| error!(BookError::InvalidBookData))?;
    let owner = parts.seats.get(order.seat as usize).map(|s| s.margin_account);
    require!(owner == Some(*margin_account), BookError::OrderNotFound);
    remove_order(parts, side, key)?;
    emit!(OrderCancelled::new(*book, key, *margin_account, order.base_lots, CancelReason::Owner));
    Ok(if order.epoch == epoch { order.base_lots } else { 0 })
}

/// The account's orders, best first per side, up to `limit`, after checking the book.
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
            if parts.seats.get(order.seat as usize).is_some_and(|s| s.margin_account == *margin_account) {
                out.push(OwnOrder { side, key, client_order_id: order.client_order_id });
            }
        }
    }
    Ok(out)
}

/// Removes the given orders of the account (its reservation epoch is `epoch`) from the
/// book; returns the reservation they held and the book's trader bump.
fn remove_own<'info>(
    accounts: &'info OrderAccounts<'info>,
    epoch: u32,
    targets: &[(Side, u128)],
) -> Result<(Released, u8)> {
    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let margin = accounts.margin_account.key();
    let mut released = Released::NONE;
    for (side, key) in targets {
        released.add(*side, cancel_one(&mut parts, *side, *key, &margin, epoch, &book_info.key())?);
    }
    Ok((released, parts.header.trader_bump))
}

/// Cancels the given orders of the account (checked by the caller: `epoch` is its
/// reservation epoch) and shrinks the reservation in one CPI.
pub fn cancel_orders<'info>(accounts: &'info OrderAccounts<'info>, epoch: u32, targets: &[(Side, u128)]) -> Result<()> {
    let (released, trader_bump) = remove_own(accounts, epoch, targets)?;
    let delta = released.delta();
    if !delta.is_zero() {
        accounts.perp(trader_bump).reserve(&[], delta)?;
    }
    Ok(())
}

/// Removes one order of the account for a replace; the reservation it held is given back
/// by the replacing order's own change.
pub fn cancel_for_replace<'info>(
    accounts: &'info OrderAccounts<'info>,
    epoch: u32,
    side: Side,
    key: u128,
) -> Result<Released> {
    Ok(remove_own(accounts, epoch, &[(side, key)])?.0)
}
