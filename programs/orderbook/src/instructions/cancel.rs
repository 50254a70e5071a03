//! Cancelling: by order id, by client order id, all of an account's orders (bounded), and
//! replace. A cancel only shrinks a reservation, so it needs no other markets.
use anchor_lang::prelude::*;

use crate::error::BookError;
use crate::events::OrderCancelled;
use crate::instructions::accounts::OrderAccounts;
use crate::instructions::place_order::{place, PlaceOrderArgs};
use crate::matching::{remove_order, CancelReason};
use crate::state::{BookMut, BookParts, Side};

/// Removes the account's order `key` on `side`; returns the reservation it held: its size,
/// or 0 for an order from before the account's reservations were cleared (`epoch`).
fn cancel_one(parts: &mut BookParts, side: Side, key: u128, margin_account: &Pubkey, epoch: u32, book: &Pubkey) -> Result<u64> {
    let handle = parts.side(side).find(key).ok_or_else(|| error!(BookError::OrderNotFound))?;
    let order = *parts.side(side).get(handle).ok_or_else(|| error!(BookError::InvalidBookData))?;
    let owner = parts.seats.get(order.seat as usize).map(|s| s.margin_account);
    require!(owner == Some(*margin_account), BookError::OrderNotFound);
    remove_order(parts, side, key)?;
    emit!(OrderCancelled { book: *book, order_key: key, margin_account: *margin_account, base_lots: order.base_lots, reason: CancelReason::Owner as u8 });
    Ok(if order.epoch == epoch { order.base_lots } else { 0 })
}

/// The account's orders, best first per side, up to `limit`: (side, key, client id).
fn orders_of(parts: &BookParts, margin_account: &Pubkey, limit: usize) -> Vec<(Side, u128, u64)> {
    let mut out = vec![];
    for side in [Side::Bid, Side::Ask] {
        let tree = match side {
            Side::Bid => parts.bids.as_ref(),
            Side::Ask => parts.asks.as_ref(),
        };
        for (_, key, order) in tree.iter() {
            if out.len() >= limit {
                return out;
            }
            if parts.seats.get(order.seat as usize).is_some_and(|s| s.margin_account == *margin_account) {
                out.push((side, key, order.client_order_id));
            }
        }
    }
    out
}

fn split(side: Side, lots: u64) -> (i64, i64) {
    match side {
        Side::Bid => (-(lots as i64), 0),
        Side::Ask => (0, -(lots as i64)),
    }
}

/// Cancels the given orders of the account (checked by the caller: `epoch` is its
/// reservation epoch) and shrinks the reservation in one CPI.
fn cancel_keys<'info>(accounts: &'info OrderAccounts<'info>, epoch: u32, targets: &[(Side, u128)]) -> Result<()> {
    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let margin = accounts.margin_account.key();
    let (mut bids, mut asks) = (0i64, 0i64);
    for (side, key) in targets {
        let (b, a) = split(*side, cancel_one(&mut parts, *side, *key, &margin, epoch, &book_info.key())?);
        bids += b;
        asks += a;
    }
    if bids != 0 || asks != 0 {
        accounts.perp(parts.header.trader_bump).reserve(&[], bids, asks)?;
    }
    Ok(())
}

pub fn cancel_order<'info>(ctx: Context<'info, OrderAccounts<'info>>, side: Side, order_key: u128) -> Result<()> {
    let epoch = ctx.accounts.check_authority()?.epoch;
    cancel_keys(&*ctx.accounts, epoch, &[(side, order_key)])
}

pub fn cancel_by_client_id<'info>(ctx: Context<'info, OrderAccounts<'info>>, client_order_id: u64) -> Result<()> {
    let epoch = ctx.accounts.check_authority()?.epoch;
    let targets: Vec<(Side, u128)> = {
        let mut book = BookMut::load(ctx.accounts.book.as_ref())?;
        let parts = book.parts()?;
        ctx.accounts.check_book(parts.header)?;
        orders_of(&parts, ctx.accounts.margin_account.key, usize::MAX)
            .into_iter()
            .filter(|(_, _, id)| *id == client_order_id)
            .map(|(s, k, _)| (s, k))
            .collect()
    };
    require!(!targets.is_empty(), BookError::OrderNotFound);
    cancel_keys(&*ctx.accounts, epoch, &targets)
}

/// Cancels up to `limit` of the account's orders (work bounded per instruction).
pub fn cancel_all<'info>(ctx: Context<'info, OrderAccounts<'info>>, limit: u16) -> Result<()> {
    let epoch = ctx.accounts.check_authority()?.epoch;
    let targets: Vec<(Side, u128)> = {
        let mut book = BookMut::load(ctx.accounts.book.as_ref())?;
        let parts = book.parts()?;
        ctx.accounts.check_book(parts.header)?;
        orders_of(&parts, ctx.accounts.margin_account.key, limit as usize).into_iter().map(|(s, k, _)| (s, k)).collect()
    };
    cancel_keys(&*ctx.accounts, epoch, &targets)
}

/// Cancels one order and places another atomically; the reservation changes once, by the
/// difference, so a replace that does not grow needs no other markets.
pub fn replace<'info>(ctx: Context<'info, OrderAccounts<'info>>, side: Side, order_key: u128, args: PlaceOrderArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    let epoch = accounts.check_authority()?.epoch;
    let (bids, asks) = {
        let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
        let mut book = BookMut::load(book_info)?;
        let mut parts = book.parts()?;
        accounts.check_book(parts.header)?;
        let lots = cancel_one(&mut parts, side, order_key, &accounts.margin_account.key(), epoch, &book_info.key())?;
        split(side, lots)
    };
    place(accounts, ctx.remaining_accounts, args, bids, asks, false)
}
