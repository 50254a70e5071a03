//! Every call into `perpetual`, signed by this program's `trader` PDA.
//!
//! The per-order calls (`update_reservation`, `settle_fills`, `release_reservations`) are
//! built by hand: Anchor's CPI client collects account infos through one `Vec` per account,
//! about 2,400 native instructions a call, more than the rest of a cancel. The metas follow
//! perpetual's account structs (`account_metas_match_perpetuals_structs` checks them). The
//! rarer calls (`register_book`, `record_mark_sample`, `early_deleverage`) use Anchor's
//! CPI client.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::InstructionData;
use perpetual::cpi::accounts::{EarlyDeleverage, RecordMarkSample, RegisterBook};
use perpetual::runtime::return_data::get_return_data;
use perpetual::trader_api::SettleFillsArgs;
use perpetual::trader_api::TRADER_SEED;
use perpetual::{Fill, FillResult, Release};

use crate::controller::place::PlaceMode;
use crate::error::BookError;

/// Runs `f` with the signer seeds of this program's `trader` PDA.
fn as_trader<T>(trader_bump: u8, f: impl FnOnce(&[&[&[u8]]]) -> T) -> T {
    let bump = [trader_bump];
    let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
    f(&[seeds])
}

/// How `perpetual`'s account struct declares one of its named accounts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Access {
    ReadOnly,
    Writable,
    Signer,
}

impl Access {
    fn is_writable(self) -> bool {
        self == Access::Writable
    }
    fn is_signer(self) -> bool {
        self == Access::Signer
    }
}

/// `SettleFills` and `UpdateReservation` take the same seven accounts in the same order:
/// exchange, approval, trader authority (signs), market (writable), oracle, margin
/// account (writable), its owner or delegate (signs).
const TRADING_ACCESS: [Access; 7] = [
    Access::ReadOnly,
    Access::ReadOnly,
    Access::Signer,
    Access::Writable,
    Access::ReadOnly,
    Access::Writable,
    Access::Signer,
];
/// `ReleaseReservations`: exchange, approval, trader authority (signs), market (writable).
const RELEASE_ACCESS: [Access; 4] = [Access::ReadOnly, Access::ReadOnly, Access::Signer, Access::Writable];

/// Sends `data` to `perpetual` with the `named` accounts (declared as `access`) followed by
/// `remaining` (their own flags), signed by the trader PDA.
fn invoke_perp<'info>(
    named: &[&AccountInfo<'info>],
    access: &[Access],
    remaining: &[&[AccountInfo<'info>]],
    data: Vec<u8>,
    trader_bump: u8,
) -> Result<()> {
    let total = named.len() + remaining.iter().map(|r| r.len()).sum::<usize>();
    let mut metas = Vec::with_capacity(total);
    let mut infos = Vec::with_capacity(total);
    for (info, access) in named.iter().zip(access) {
        metas.push(AccountMeta { pubkey: *info.key, is_signer: access.is_signer(), is_writable: access.is_writable() });
        infos.push((*info).clone());
    }
    for info in remaining.iter().flat_map(|r| r.iter()) {
        metas.push(AccountMeta { pubkey: *info.key, is_signer: info.is_signer, is_writable: info.is_writable });
        infos.push(info.clone());
    }
    let ix = Instruction { program_id: perpetual::ID, accounts: metas, data };
    as_trader(trader_bump, |signer| invoke_signed(&ix, &infos, signer)).map_err(Into::into)
}

/// True when `settle_fills` applied the fill whose result byte is `result`.
pub fn applied(result: &u8) -> bool {
    *result == FillResult::Applied as u8
}

/// A change of an account's reservation in the book's market, in lots per side.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct ReservationDelta {
    pub bids: i64,
    pub asks: i64,
}

impl ReservationDelta {
    pub fn is_zero(&self) -> bool {
        self.bids == 0 && self.asks == 0
    }
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
        taker: ReservationDelta,
        mode: PlaceMode,
    ) -> Result<Vec<u8>> {
        let expected = fills.len();
        let args = SettleFillsArgs {
            maker_count: makers.len() as u8,
            fills,
            releases,
            taker_bid_delta: taker.bids,
            taker_ask_delta: taker.asks,
            liquidation: mode == PlaceMode::Liquidation,
        };
        let data = perpetual::instruction::SettleFills { args }.data();
        invoke_perp(&self.trading_accounts(), &TRADING_ACCESS, &[makers, health], data, self.trader_bump)?;
        if expected == 0 {
            return Ok(vec![]);
        }
        match get_return_data() {
            Some((program, data)) if program == perpetual::ID && data.len() == expected => Ok(data),
            _ => err!(BookError::MissingFillResults),
        }
    }

    /// Changes the account's reservation without fills (health accounts for growth).
    pub fn reserve(&self, health: &[AccountInfo<'info>], delta: ReservationDelta) -> Result<()> {
        let data = perpetual::instruction::UpdateReservation { bid_delta: delta.bids, ask_delta: delta.asks }.data();
        invoke_perp(&self.trading_accounts(), &TRADING_ACCESS, &[health], data, self.trader_bump)
    }

    /// The accounts of `TRADING_ACCESS`, in its order.
    fn trading_accounts(&self) -> [&'a AccountInfo<'info>; 7] {
        [
            self.exchange,
            self.approval,
            self.trader_authority,
            self.market,
            self.oracle,
            self.margin_account,
            self.authority,
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
    invoke_perp(&[exchange, approval, trader_authority, market], &RELEASE_ACCESS, &[accounts], data, trader_bump)
}

/// The perpetual accounts of trader-only calls that name no margin account.
pub struct TraderCall<'a, 'info> {
    pub exchange: &'a AccountInfo<'info>,
    pub approval: &'a AccountInfo<'info>,
    pub trader_authority: &'a AccountInfo<'info>,
    pub market: &'a AccountInfo<'info>,
    pub trader_bump: u8,
}

/// The accounts of an early deleveraging besides a `TraderCall`'s.
pub struct DeleverageAccounts<'a, 'info> {
    pub oracle: &'a AccountInfo<'info>,
    /// The liquidatable margin account.
    pub margin_account: &'a AccountInfo<'info>,
    /// The absorbing margin account.
    pub counterparty: &'a AccountInfo<'info>,
    /// The deleveraging authority.
    pub authority: &'a AccountInfo<'info>,
}

impl<'a, 'info> TraderCall<'a, 'info> {
    pub fn register_book(&self, book: Pubkey) -> Result<()> {
        let accounts = RegisterBook {
            exchange: self.exchange.clone(),
            approval: self.approval.clone(),
            trader_authority: self.trader_authority.clone(),
            market: self.market.clone(),
        };
        as_trader(self.trader_bump, |signer| {
            perpetual::cpi::register_book(CpiContext::new_with_signer(perpetual::ID, accounts, signer), book)
        })
    }

    pub fn record_mark_sample(&self, oracle: &AccountInfo<'info>, mid_per_lot: Option<u64>) -> Result<()> {
        let accounts = RecordMarkSample {
            exchange: self.exchange.clone(),
            approval: self.approval.clone(),
            trader_authority: self.trader_authority.clone(),
            market: self.market.clone(),
            oracle: oracle.clone(),
        };
        as_trader(self.trader_bump, |signer| {
            perpetual::cpi::record_mark_sample(
                CpiContext::new_with_signer(perpetual::ID, accounts, signer),
                mid_per_lot,
            )
        })
    }

    /// Asks perpetual to offset `lots` of the account's position against the counterparty
    /// at the mark, given the book's price of closing them; `health`: the account's.
    pub fn early_deleverage(
        &self,
        d: DeleverageAccounts<'_, 'info>,
        health: &[AccountInfo<'info>],
        lots: u64,
        book_price_per_lot: u64,
    ) -> Result<()> {
        let accounts = EarlyDeleverage {
            exchange: self.exchange.clone(),
            approval: self.approval.clone(),
            trader_authority: self.trader_authority.clone(),
            market: self.market.clone(),
            oracle: d.oracle.clone(),
            margin_account: d.margin_account.clone(),
            counterparty: d.counterparty.clone(),
            authority: d.authority.clone(),
        };
        as_trader(self.trader_bump, |signer| {
            let cpi =
                CpiContext::new_with_signer(perpetual::ID, accounts, signer).with_remaining_accounts(health.to_vec());
            perpetual::cpi::early_deleverage(cpi, lots, book_price_per_lot)
        })
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
        let ours: Vec<(bool, bool)> = TRADING_ACCESS.iter().map(|a| (a.is_writable(), a.is_signer())).collect();
        let settle = perpetual::accounts::SettleFills {
            exchange: k(),
            approval: k(),
            trader_authority: k(),
            market: k(),
            oracle: k(),
            taker: k(),
            taker_authority: k(),
        };
        assert_eq!(flags(settle.to_account_metas(None)), ours);
        let reserve = perpetual::accounts::UpdateReservation {
            exchange: k(),
            approval: k(),
            trader_authority: k(),
            market: k(),
            oracle: k(),
            margin_account: k(),
            account_authority: k(),
        };
        assert_eq!(flags(reserve.to_account_metas(None)), ours);
        let release = perpetual::accounts::ReleaseReservations {
            exchange: k(),
            approval: k(),
            trader_authority: k(),
            market: k(),
        };
        let release_access: Vec<(bool, bool)> =
            RELEASE_ACCESS.iter().map(|a| (a.is_writable(), a.is_signer())).collect();
        assert_eq!(flags(release.to_account_metas(None)), release_access);
    }
}
