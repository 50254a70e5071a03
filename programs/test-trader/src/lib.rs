//! A minimal approved-trader program for tests: it checks nothing itself and relays
//! settlements and reservations to `perpetual`, signing with its own `trader` PDA.
//! Tests use it to show that only approved programs can settle. It also stands in for a
//! governance program: `govern` relays any `perpetual` instruction signed by its
//! `governor` PDA, which tests make the exchange's admin.
#![allow(unexpected_cfgs)]
#![allow(clippy::result_large_err)]

use anchor_lang::prelude::*;
use perpetual::cpi::accounts::{SettleFills, UpdateReservation};
use perpetual::instructions::SettleFillsArgs;

declare_id!("AUH6c4QLMr2qQr9N5Kkpz5astDM9gBNroXCSxQiFTGQv");

pub const TRADER_SEED: &[u8] = b"trader";
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
        let a = &*ctx.accounts;
        let bump = [ctx.bumps.trader_authority];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let signer = &[seeds];
        let cpi = CpiContext::new_with_signer(
            perpetual::ID,
            SettleFills {
                exchange: a.exchange.to_account_info(),
                approval: a.approval.to_account_info(),
                trader_authority: a.trader_authority.to_account_info(),
                market: a.market.to_account_info(),
                oracle: a.oracle.to_account_info(),
                taker: a.margin_account.to_account_info(),
                taker_authority: a.user.to_account_info(),
            },
            signer,
        )
        .with_remaining_accounts(ctx.remaining_accounts.to_vec());
        perpetual::cpi::settle_fills(cpi, args)
    }

    /// Sends `perpetual` the instruction `data` with the remaining accounts, as they are
    /// passed, signed by the `governor` PDA (as a DAO's executed vote would).
    pub fn govern<'info>(ctx: Context<'info, Govern<'info>>, data: Vec<u8>) -> Result<()> {
        let governor = ctx.accounts.governor.key();
        let accounts = ctx
            .remaining_accounts
            .iter()
            .map(|a| AccountMeta { pubkey: a.key(), is_signer: a.is_signer || a.key() == governor, is_writable: a.is_writable })
            .collect();
        let ix = anchor_lang::solana_program::instruction::Instruction { program_id: perpetual::ID, accounts, data };
        let mut infos = ctx.remaining_accounts.to_vec();
        infos.push(ctx.accounts.governor.to_account_info());
        let bump = [ctx.bumps.governor];
        let seeds: &[&[u8]] = &[GOVERNOR_SEED, &bump];
        anchor_lang::solana_program::program::invoke_signed(&ix, &infos, &[seeds])?;
        Ok(())
    }

    /// Relays `perpetual::update_reservation`; remaining accounts pass through.
    pub fn reserve<'info>(ctx: Context<'info, Relay<'info>>, bid_delta: i64, ask_delta: i64) -> Result<()> {
        let a = &*ctx.accounts;
        let bump = [ctx.bumps.trader_authority];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let signer = &[seeds];
        let cpi = CpiContext::new_with_signer(
            perpetual::ID,
            UpdateReservation {
                exchange: a.exchange.to_account_info(),
                approval: a.approval.to_account_info(),
                trader_authority: a.trader_authority.to_account_info(),
                market: a.market.to_account_info(),
                oracle: a.oracle.to_account_info(),
                margin_account: a.margin_account.to_account_info(),
                account_authority: a.user.to_account_info(),
            },
            signer,
        )
        .with_remaining_accounts(ctx.remaining_accounts.to_vec());
        perpetual::cpi::update_reservation(cpi, bid_delta, ask_delta)
    }
}

#[derive(Accounts)]
pub struct Govern<'info> {
    /// CHECK: the program called.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    /// CHECK: this program's PDA; it signs the CPI as the admin.
    #[account(mut, seeds = [GOVERNOR_SEED], bump)]
    pub governor: UncheckedAccount<'info>,
}

#[derive(Accounts)]
pub struct Relay<'info> {
    /// CHECK: passed through to perpetual.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's PDA; it signs the CPI.
    #[account(seeds = [TRADER_SEED], bump)]
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: passed through (the taker, or the account whose reservation changes).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The user who signs for the margin account (owner or delegate).
    pub user: Signer<'info>,
}
