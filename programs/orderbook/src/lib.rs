//! # orderbook
//!
//! One critbit order book per perpetual market, matched fully on-chain in the taker's
//! transaction. The program is an approved trader of `perpetual` and the registered book
//! of its market: each account trades from a seat in the book, which holds its orders, the
//! allowance `perpetual` granted it, and its fills until they settle (`docs/seats.md`). A
//! take touches only the book and the taker (one CPI, `settle_book_take`); places and
//! cancels within the allowance touch only the book.
//!
//! Accounts of every order instruction: see [`order_accounts::OrderAccounts`].
//! Remaining accounts of `place_order` / `replace_order` / `set_allowance`: the placer's
//! health accounts (perpetual's documented order).
//!
//! Layout: `instructions/` holds one file per instruction (its accounts and handler);
//! `controller/` the logic several share (the place flow, cancelling own orders);
//! `order_accounts` and `order_args` the accounts and arguments of the order instructions;
//! `matching` the matching engine; `perp_cpi` every call into `perpetual`; `state` the book
//! account. This file only dispatches.

use anchor_lang::prelude::*;

pub mod controller;
pub mod error;
pub mod events;
pub mod instructions;
pub mod matching;
pub mod order_accounts;
pub mod order_args;
pub mod perp_cpi;
pub mod state;

// `#[program]` finds every accounts struct (and Anchor's generated client modules) at the
// crate root.
use instructions::*;
pub use matching::SelfTradeBehavior;
use order_accounts::*;
pub use state::Side;

declare_id!("Borqy3dEjw9az7Uj9nW69A9ZDansFGHWEggUx7tkv44f");

#[program]
pub mod orderbook {
    use super::*;

    /// The market's lister or the exchange admin: initialises the market's one book (an
    /// account the client created) and registers it with perpetual.
    pub fn create_book<'info>(ctx: Context<'info, CreateBook<'info>>, args: CreateBookArgs) -> Result<()> {
        instructions::create_book::handler(ctx, args)
    }

    /// Places an order of any type; return data is the resting order's key (u128, 0 if
    /// none rests) then the filled lots (u64), little-endian.
    pub fn place_order<'info>(ctx: Context<'info, OrderAccounts<'info>>, args: PlaceOrderArgs) -> Result<()> {
        instructions::place_order::handler(ctx, args)
    }

    /// Permissionless, once a minute: reports the book's mid for the mark's moving average.
    pub fn sample_mark<'info>(ctx: Context<'info, SampleMark<'info>>) -> Result<()> {
        instructions::sample_mark::handler(ctx)
    }

    /// Anyone: an immediate-or-cancel order closing a position of an account below
    /// maintenance; perpetual charges the liquidation fee for the insurance fund.
    /// Remaining accounts: makers, then the liquidated account's health accounts.
    pub fn liquidate_order<'info>(
        ctx: Context<'info, OrderAccounts<'info>>,
        max_base_lots: u64,
        limit_price_ticks: u64,
    ) -> Result<()> {
        instructions::liquidate_order::handler(ctx, max_base_lots, limit_price_ticks)
    }

    /// Deleveraging authority: offsets a liquidatable position at the mark when this book
    /// is too thin to close it without the insurance fund paying.
    pub fn early_deleverage<'info>(ctx: Context<'info, EarlyDeleverageOrder<'info>>, lots: u64) -> Result<()> {
        instructions::early_deleverage::handler(ctx, lots)
    }

    /// Anyone, after final settlement: closes the book; the rent returns to its creator.
    pub fn close_book<'info>(ctx: Context<'info, CloseBook<'info>>) -> Result<()> {
        instructions::close_book::handler(ctx)
    }

    /// Cancels one of the account's orders by its key.
    pub fn cancel_order<'info>(ctx: Context<'info, OrderAccounts<'info>>, side: Side, order_key: u128) -> Result<()> {
        instructions::cancel_order::handler(ctx, side, order_key)
    }

    /// Cancels every order of the account with this client order id.
    pub fn cancel_order_by_client_id<'info>(
        ctx: Context<'info, OrderAccounts<'info>>,
        client_order_id: u64,
    ) -> Result<()> {
        instructions::cancel_order_by_client_id::handler(ctx, client_order_id)
    }

    /// Cancels up to `limit` of the account's orders.
    pub fn cancel_all_orders<'info>(ctx: Context<'info, OrderAccounts<'info>>, limit: u16) -> Result<()> {
        instructions::cancel_all_orders::handler(ctx, limit)
    }

    /// Anyone: removes up to `limit` void orders (of revoked or given-up seats) and expired
    /// ones; return data: how many (u16).
    pub fn prune_stale_orders<'info>(ctx: Context<'info, PruneStaleOrders<'info>>, limit: u16) -> Result<()> {
        instructions::prune_stale_orders::handler(ctx, limit)
    }

    /// Cancels an order and places another atomically.
    pub fn replace_order<'info>(
        ctx: Context<'info, OrderAccounts<'info>>,
        side: Side,
        order_key: u128,
        args: PlaceOrderArgs,
    ) -> Result<()> {
        instructions::replace_order::handler(ctx, side, order_key, args)
    }

    /// The owner or delegate: settles the seat and sets its allowance (lots per side and
    /// limit prices), so that places and cancels within it need no CPI. Remaining
    /// accounts: the account's health accounts.
    pub fn set_allowance<'info>(ctx: Context<'info, OrderAccounts<'info>>, args: AllowanceArgs) -> Result<()> {
        instructions::set_allowance::handler(ctx, args)
    }

    /// Anyone: settles seats' pending fills into their margin accounts. Remaining
    /// accounts: each seat's margin account.
    pub fn settle_seats<'info>(ctx: Context<'info, SettleSeats<'info>>, seats: Vec<u32>) -> Result<()> {
        instructions::settle_seats::handler(ctx, seats)
    }

    /// Anyone, once the account is below maintenance or the market is settled: revokes its
    /// seat (its orders become void). Remaining accounts: the account's health accounts.
    pub fn revoke_seat<'info>(ctx: Context<'info, OrderAccounts<'info>>, seat_hint: u32) -> Result<()> {
        instructions::revoke_seat::revoke(ctx, seat_hint)
    }

    /// Anyone, when no seat is free: reclaims an idle seat from its account.
    pub fn reclaim_seat<'info>(ctx: Context<'info, OrderAccounts<'info>>, seat_hint: u32) -> Result<()> {
        instructions::revoke_seat::reclaim(ctx, seat_hint)
    }
}

#[cfg(not(target_os = "solana"))]
pub mod decode;
#[cfg(not(target_os = "solana"))]
pub mod sdk;
