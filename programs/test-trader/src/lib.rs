//! A minimal approved-trader program for tests: it checks nothing itself and relays
//! settlements and reservations to `perpetual`, signing with its own `trader` PDA.
//! Tests use it to show that only approved programs can settle. It also stands in for a
//! governance program: `govern` relays any `perpetual` instruction signed by its
//! `governor` PDA, which tests make the exchange's admin.
//!
//! Layout: `instructions/` holds one file per instruction; `relay` the accounts `settle`
//! and `reserve` share and their signing. This file only dispatches.

use anchor_lang::prelude::*;
use perpetual::trader_api::{SettleFillsArgs, TRADER_SEED};

pub mod instructions;
pub mod relay;

// `#[program]` finds the accounts structs (and Anchor's generated client modules) at the
// crate root.
use instructions::*;
use relay::*;

declare_id!("AUH6c4QLMr2qQr9N5Kkpz5astDM9gBNroXCSxQiFTGQv");

pub const GOVERNOR_SEED: &[u8] = b"governor";

pub fn governor() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[GOVERNOR_SEED], &ID)
}

pub fn trader_authority() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[TRADER_SEED], &ID)
}

#[program]
pub mod test_trader {
    use super::*;

    /// Relays `perpetual::settle_fills`; remaining accounts pass through.
    pub fn settle<'info>(ctx: Context<'info, Relay<'info>>, args: SettleFillsArgs) -> Result<()> {
        instructions::settle::handler(ctx, args)
    }

    /// Sends `perpetual` the instruction `data` with the remaining accounts, as they are
    /// passed, signed by the `governor` PDA (as a DAO's executed vote would).
    pub fn govern<'info>(ctx: Context<'info, Govern<'info>>, data: Vec<u8>) -> Result<()> {
        instructions::govern::handler(ctx, data)
    }

    /// Sends `perpetual` the instruction `data` with the remaining accounts, as they are
    /// passed, signed by the `trader` PDA (a book's seat calls, for direct tests).
    pub fn act<'info>(ctx: Context<'info, Act<'info>>, data: Vec<u8>) -> Result<()> {
        instructions::act::handler(ctx, data)
    }

    /// Relays `perpetual::update_reservation`; remaining accounts pass through.
    pub fn reserve<'info>(ctx: Context<'info, Relay<'info>>, bid_delta: i64, ask_delta: i64) -> Result<()> {
        instructions::reserve::handler(ctx, bid_delta, ask_delta)
    }
}
