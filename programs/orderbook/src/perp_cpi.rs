//! Calls into `perpetual`, signed by this program's `trader` PDA.
use anchor_lang::prelude::*;
use perpetual::controller::return_data::get_return_data;
use perpetual::cpi::accounts::{RecordMarkSample, RegisterBook, ReleaseReservations, SettleFills, UpdateReservation};
use perpetual::instructions::SettleFillsArgs;
use perpetual::{Fill, Release};

use crate::error::BookError;

pub const TRADER_SEED: &[u8] = b"trader";

/// The perpetual accounts every trading instruction passes.
pub struct PerpAccounts<'a, 'info> {
    pub perpetual_program: &'a AccountInfo<'info>,
    pub exchange: &'a AccountInfo<'info>,
    pub approval: &'a AccountInfo<'info>,
    pub trader_authority: &'a AccountInfo<'info>,
    pub market: &'a AccountInfo<'info>,
    pub oracle: &'a AccountInfo<'info>,
    pub margin_account: &'a AccountInfo<'info>,
    pub authority: &'a AccountInfo<'info>,
    pub trader_bump: u8,
}

impl<'a, 'info> PerpAccounts<'a, 'info> {
    /// Settles `fills` (makers are `makers`), applies `releases` and the taker's reservation
    /// change, and returns one `FillResult` byte per fill.
    pub fn settle(
        &self,
        makers: &[AccountInfo<'info>],
        health: &[AccountInfo<'info>],
        fills: Vec<Fill>,
        releases: Vec<Release>,
        taker_bid_delta: i64,
        taker_ask_delta: i64,
        liquidation: bool,
    ) -> Result<Vec<u8>> {
        let expected = fills.len();
        let bump = [self.trader_bump];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let signer = &[seeds];
        let mut remaining = Vec::with_capacity(makers.len() + health.len());
        remaining.extend_from_slice(makers);
        remaining.extend_from_slice(health);
        let ctx = CpiContext::new_with_signer(
            perpetual::ID,
            SettleFills {
                exchange: self.exchange.clone(),
                approval: self.approval.clone(),
                trader_authority: self.trader_authority.clone(),
                market: self.market.clone(),
                oracle: self.oracle.clone(),
                taker: self.margin_account.clone(),
                taker_authority: self.authority.clone(),
            },
            signer,
        )
        .with_remaining_accounts(remaining);
        let args = SettleFillsArgs { maker_count: makers.len() as u8, fills, releases, taker_bid_delta, taker_ask_delta, liquidation };
        perpetual::cpi::settle_fills(ctx, args)?;
        if expected == 0 {
            return Ok(vec![]);
        }
        match get_return_data() {
            Some((program, data)) if program == perpetual::ID && data.len() == expected => Ok(data),
            _ => err!(BookError::MissingFillResults),
        }
    }

    /// Changes the account's reservation without fills (health accounts for growth).
    pub fn reserve(&self, health: &[AccountInfo<'info>], bid_delta: i64, ask_delta: i64) -> Result<()> {
        let bump = [self.trader_bump];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let signer = &[seeds];
        let ctx = CpiContext::new_with_signer(
            perpetual::ID,
            UpdateReservation {
                exchange: self.exchange.clone(),
                approval: self.approval.clone(),
                trader_authority: self.trader_authority.clone(),
                market: self.market.clone(),
                oracle: self.oracle.clone(),
                margin_account: self.margin_account.clone(),
                account_authority: self.authority.clone(),
            },
            signer,
        )
        .with_remaining_accounts(health.to_vec());
        perpetual::cpi::update_reservation(ctx, bid_delta, ask_delta)
    }
}

/// Releases reservations of `accounts` without their signatures.
pub fn release<'info>(
    exchange: &AccountInfo<'info>,
    approval: &AccountInfo<'info>,
    trader_authority: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    trader_bump: u8,
    accounts: &[AccountInfo<'info>],
    releases: Vec<Release>,
) -> Result<()> {
    if releases.is_empty() {
        return Ok(());
    }
    let bump = [trader_bump];
    let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
    let signer = &[seeds];
    let ctx = CpiContext::new_with_signer(
        perpetual::ID,
        ReleaseReservations {
            exchange: exchange.clone(),
            approval: approval.clone(),
            trader_authority: trader_authority.clone(),
            market: market.clone(),
        },
        signer,
    )
    .with_remaining_accounts(accounts.to_vec());
    perpetual::cpi::release_reservations(ctx, releases)
}

/// The perpetual accounts of trader-only calls that name no margin account.
pub struct TraderCall<'a, 'info> {
    pub exchange: &'a AccountInfo<'info>,
    pub approval: &'a AccountInfo<'info>,
    pub trader_authority: &'a AccountInfo<'info>,
    pub market: &'a AccountInfo<'info>,
    pub trader_bump: u8,
}

impl<'a, 'info> TraderCall<'a, 'info> {
    pub fn register_book(&self, book: Pubkey) -> Result<()> {
        let bump = [self.trader_bump];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let accounts = RegisterBook {
            exchange: self.exchange.clone(),
            approval: self.approval.clone(),
            trader_authority: self.trader_authority.clone(),
            market: self.market.clone(),
        };
        perpetual::cpi::register_book(CpiContext::new_with_signer(perpetual::ID, accounts, &[seeds]), book)
    }

    pub fn record_mark_sample(&self, oracle: &AccountInfo<'info>, mid_per_lot: Option<u64>) -> Result<()> {
        let bump = [self.trader_bump];
        let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
        let accounts = RecordMarkSample {
            exchange: self.exchange.clone(),
            approval: self.approval.clone(),
            trader_authority: self.trader_authority.clone(),
            market: self.market.clone(),
            oracle: oracle.clone(),
        };
        perpetual::cpi::record_mark_sample(CpiContext::new_with_signer(perpetual::ID, accounts, &[seeds]), mid_per_lot)
    }
}
