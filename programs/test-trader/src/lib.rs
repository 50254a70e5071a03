//! A minimal approved-trader program for tests: it checks nothing itself and relays
//! settlements and reservations to `perpetual`, signing with its own `trader` PDA.
//! Tests use it to show that only approved programs can settle.
#![allow(unexpected_cfgs)]
#![allow(clippy::result_large_err)]

use anchor_lang::prelude::*;
use perpetual::cpi::accounts::{SettleFills, UpdateReservation};
use perpetual::instructions::SettleFillsArgs;

declare_id!("AUH6c4QLMr2qQr9N5Kkpz5astDM9gBNroXCSxQiFTGQv");

pub const TRADER_SEED: &[u8] = b"trader";

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
