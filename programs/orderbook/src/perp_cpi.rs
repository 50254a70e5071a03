//! Calls into `perpetual`, signed by this program's `trader` PDA.
//!
//! The per-order calls (`update_reservation`, `settle_fills`, `release_reservations`) are
//! built by hand: Anchor's CPI client collects account infos through one `Vec` per account,
//! about 2,400 native instructions a call, more than the rest of a cancel. The metas follow
//! perpetual's account structs (`account_metas_match_perpetuals_structs` checks them).
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::InstructionData;
use perpetual::controller::return_data::get_return_data;
use perpetual::cpi::accounts::{RecordMarkSample, RegisterBook};
use perpetual::instructions::SettleFillsArgs;
use perpetual::{Fill, Release};

use crate::error::BookError;

pub const TRADER_SEED: &[u8] = b"trader";

/// Sends `data` to `perpetual` with the `named` accounts (meta flags in `flags`: writable,
/// signer) followed by `remaining` (their own flags), signed by the trader PDA.
fn invoke_perp<'info>(named: &[(&AccountInfo<'info>, bool, bool)], remaining: &[&[AccountInfo<'info>]], data: Vec<u8>, trader_bump: u8) -> Result<()> {
    let total = named.len() + remaining.iter().map(|r| r.len()).sum::<usize>();
    let mut metas = Vec::with_capacity(total);
    let mut infos = Vec::with_capacity(total);
    for (info, writable, signer) in named {
        metas.push(AccountMeta { pubkey: *info.key, is_signer: *signer, is_writable: *writable });
        infos.push((*info).clone());
    }
    for info in remaining.iter().flat_map(|r| r.iter()) {
        metas.push(AccountMeta { pubkey: *info.key, is_signer: info.is_signer, is_writable: info.is_writable });
        infos.push(info.clone());
    }
    let ix = Instruction { program_id: perpetual::ID, accounts: metas, data };
    invoke_signed(&ix, &infos, &[&[TRADER_SEED, &[trader_bump]]]).map_err(Into::into)
}

/// The accounts of `perpetual`'s `ReleaseReservations`, in order, with (writable, signer).
fn release_accounts<'a, 'info>(exchange: &'a AccountInfo<'info>, approval: &'a AccountInfo<'info>, trader_authority: &'a AccountInfo<'info>, market: &'a AccountInfo<'info>) -> [(&'a AccountInfo<'info>, bool, bool); 4] {
    [(exchange, false, false), (approval, false, false), (trader_authority, false, true), (market, true, false)]
}

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
        let args = SettleFillsArgs { maker_count: makers.len() as u8, fills, releases, taker_bid_delta, taker_ask_delta, liquidation };
        let data = perpetual::instruction::SettleFills { args }.data();
        invoke_perp(&self.trading_accounts(), &[makers, health], data, self.trader_bump)?;
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
        let data = perpetual::instruction::UpdateReservation { bid_delta, ask_delta }.data();
        invoke_perp(&self.trading_accounts(), &[health], data, self.trader_bump)
    }

    /// `SettleFills` and `UpdateReservation` take the same seven accounts in the same order:
    /// exchange, approval, trader authority (signs), market (writable), oracle, margin
    /// account (writable), its owner or delegate (signs).
    fn trading_accounts(&self) -> [(&'a AccountInfo<'info>, bool, bool); 7] {
        [
            (self.exchange, false, false),
            (self.approval, false, false),
            (self.trader_authority, false, true),
            (self.market, true, false),
            (self.oracle, false, false),
            (self.margin_account, true, false),
            (self.authority, false, true),
        ]
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
    let data = perpetual::instruction::ReleaseReservations { releases }.data();
    invoke_perp(&release_accounts(exchange, approval, trader_authority, market), &[accounts], data, trader_bump)
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

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::ToAccountMetas;

    fn flags(metas: Vec<AccountMeta>) -> Vec<(bool, bool)> {
        metas.into_iter().map(|m| (m.is_writable, m.is_signer)).collect()
    }

    #[test]
    fn account_metas_match_perpetuals_structs() {
        let k = Pubkey::default;
        let ours: Vec<(bool, bool)> = [(false, false), (false, false), (false, true), (true, false), (false, false), (true, false), (false, true)].to_vec();
        let settle = perpetual::accounts::SettleFills { exchange: k(), approval: k(), trader_authority: k(), market: k(), oracle: k(), taker: k(), taker_authority: k() };
        assert_eq!(flags(settle.to_account_metas(None)), ours);
        let reserve = perpetual::accounts::UpdateReservation { exchange: k(), approval: k(), trader_authority: k(), market: k(), oracle: k(), margin_account: k(), account_authority: k() };
        assert_eq!(flags(reserve.to_account_metas(None)), ours);
        let release = perpetual::accounts::ReleaseReservations { exchange: k(), approval: k(), trader_authority: k(), market: k() };
        assert_eq!(flags(release.to_account_metas(None)), vec![(false, false), (false, false), (false, true), (true, false)]);
    }
}
