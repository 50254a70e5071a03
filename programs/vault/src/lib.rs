//! # vault
//!
//! An integrator example: a program that composes `perpetual` and `orderbook` by CPI
//! through their `cpi` features, the way a third-party program would.
//!
//! A vault pools users' collateral in one perpetual margin account owned by the vault's
//! `authority` PDA, and its manager trades that account on the order book:
//!
//! - `create_vault`: the vault state, its token account and its margin account (created by
//!   `perpetual::cpi::create_margin_account`, the authority PDA signing as owner and payer).
//! - `deposit`: the user's tokens go to the vault's token account and on into the margin
//!   account by `perpetual::cpi::deposit`; the user's share record is credited, shares
//!   rounded down.
//! - `withdraw`: shares burn and `perpetual::cpi::withdraw` pays the user, amount rounded
//!   down; perpetual's own initial-margin check applies to the vault's account.
//! - `place_order` / `cancel_order` / `set_allowance`: manager only; `orderbook::cpi::place_order` and
//!   `orderbook::cpi::cancel_order`, the authority PDA signing as the margin account's owner.
//!
//! Shares are priced from the margin account's equity as perpetual itself values it
//! (`perpetual::health::account_health`: collateral, plus positions at the
//! mark, less unsettled funding), see [`equity`]. Deposit and withdraw therefore take the
//! margin account's health accounts (perpetual's documented order) as remaining accounts.
//!
//! This is an example, not a product: see [`equity`] and [`manager_order`] for what a
//! production vault would add.
//!
//! Layout: `instructions/` holds one file per instruction (its accounts and handler);
//! `manager_order` the accounts the manager's order instructions share; `state` the
//! accounts, seeds and the authority's signing; `equity` share pricing. This file only
//! dispatches.

use anchor_lang::prelude::*;

pub mod equity;
pub mod error;
pub mod events;
pub mod instructions;
pub mod manager_order;
pub mod state;

// `#[program]` finds every accounts struct (and Anchor's generated client modules) at the
// crate root.
use instructions::*;
use manager_order::*;
use orderbook::instructions::{AllowanceArgs, PlaceOrderArgs};
use orderbook::Side;

declare_id!("2pGhwKLBCpRS5rEpMgBPhpgWVhxMbFMuL6WLyLj2i6xD");

#[program]
pub mod vault {
    use super::*;

    /// Creates vault number `vault_id` of `manager` on `exchange`: the vault state, its token
    /// account, and margin account 0 of its authority PDA with room for `position_capacity`
    /// positions. The manager pays every rent.
    pub fn create_vault<'info>(
        ctx: Context<'info, CreateVault<'info>>,
        vault_id: u16,
        position_capacity: u16,
    ) -> Result<()> {
        instructions::create_vault::handler(ctx, vault_id, position_capacity)
    }

    /// Anyone: deposits `amount` for shares (rounded down); creates the user's share record
    /// on the first deposit. Remaining accounts: the margin account's health accounts.
    pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
        instructions::deposit::handler(ctx, amount)
    }

    /// A shareholder: burns `shares` for collateral (rounded down) paid to `destination`.
    /// Remaining accounts: the margin account's health accounts.
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, shares: u64) -> Result<()> {
        instructions::withdraw::handler(ctx, shares)
    }

    /// Manager only: places an order for the vault's margin account. Remaining accounts as
    /// `orderbook::place_order`'s: the margin account's health accounts
    /// skipping the book's market. Return data: the order book's (resting key, filled lots).
    pub fn place_order<'info>(ctx: Context<'info, ManagerOrder<'info>>, args: PlaceOrderArgs) -> Result<()> {
        instructions::place_order::handler(ctx, args)
    }

    /// Manager only: cancels one of the vault's orders.
    pub fn cancel_order<'info>(ctx: Context<'info, ManagerOrder<'info>>, side: Side, order_key: u128) -> Result<()> {
        instructions::cancel_order::handler(ctx, side, order_key)
    }

    /// Manager only: sets the vault seat's allowance in the book (zero gives the seat up).
    /// Remaining accounts: the margin account's health accounts skipping the book's market.
    pub fn set_allowance<'info>(ctx: Context<'info, ManagerOrder<'info>>, args: AllowanceArgs) -> Result<()> {
        instructions::set_allowance::handler(ctx, args)
    }
}

#[cfg(not(target_os = "solana"))]
pub mod sdk;
