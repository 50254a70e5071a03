//! `prune_stale_orders`: anyone removes void orders (their seat was revoked or given up)
//! and expired ones, so they stop showing as depth and free their slots.
use anchor_lang::prelude::*;
use perpetual::runtime::return_data::set_return_data;

use crate::events::{CancelReason, OrderCancelled, OrderExpired};
use crate::matching::{is_live, remove_order};
use crate::state::{BookMut, Side};

#[derive(Accounts)]
pub struct PruneStaleOrders<'info> {
    /// CHECK: loaded by `BookMut` (owner, type).
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
}

/// Removes up to `limit` void or expired orders, worst first on each side. Return data: the
/// number removed (u16); 0 when there is nothing to prune.
pub fn handler<'info>(ctx: Context<'info, PruneStaleOrders<'info>>, limit: u16) -> Result<()> {
    let book_info: &'info AccountInfo<'info> = ctx.accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let mut parts = book.parts()?;
    let now = Clock::get()?.unix_timestamp;
    let mut stale = vec![];
    for side in [Side::Bid, Side::Ask] {
        let tree = match side {
            Side::Bid => parts.bids.as_ref(),
            Side::Ask => parts.asks.as_ref(),
        };
        let room = (limit as usize).saturating_sub(stale.len());
        stale.extend(
            tree.iter()
                .filter(|(_, _, o)| !is_live(parts.seats, o) || (o.expiry_ts != 0 && now >= o.expiry_ts))
                .take(room)
                .map(|(_, key, o)| (side, key, *o)),
        );
    }
    for (side, key, order) in &stale {
        let owner =
            parts.seats.get(order.seat as usize).filter(|_| is_live(parts.seats, order)).map(|s| s.margin_account);
        remove_order(&mut parts, *side, *key)?;
        match owner {
            Some(margin_account) => emit!(OrderExpired {
                book: book_info.key(),
                order_key: *key,
                margin_account,
                base_lots: order.base_lots
            }),
            None => emit!(OrderCancelled::new(
                book_info.key(),
                *key,
                Pubkey::default(),
                order.base_lots,
                CancelReason::SeatRevoked
            )),
        }
    }
    set_return_data(&(stale.len() as u16).to_le_bytes());
    Ok(())
}
