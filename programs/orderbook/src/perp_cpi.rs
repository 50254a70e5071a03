//! Every call into `perpetual`, signed by this program's `trader` PDA.
//!
//! The per-order and per-seat calls (`settle_book_take`, `set_seat_allowance`,
//! `settle_seats`) are built by hand: Anchor's CPI client collects account infos through one `Vec` per account,
//! about 2,400 native instructions a call, more than the rest of a cancel. The metas follow
//! perpetual's account structs (`account_metas_match_perpetuals_structs` checks them). The
//! rarer calls (`register_book`, `record_mark_sample`, `early_deleverage`) use Anchor's
//! CPI client.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::InstructionData;
use perpetual::cpi::accounts::{EarlyDeleverage, RecordMarkSample, RegisterBook};
use perpetual::trader_api::{BookTakeArgs, SeatAllowanceArgs, SeatPending, TRADER_SEED};

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

/// `SettleBookTake` and `SetSeatAllowance` take the same seven accounts in the same order:
/// exchange, approval, trader authority (signs), market (writable), oracle, margin
/// account (writable), its owner or delegate (signs; anyone for a revoke).
const TRADING_ACCESS: [Access; 7] = [
    Access::ReadOnly,
    Access::ReadOnly,
    Access::Signer,
    Access::Writable,
    Access::ReadOnly,
    Access::Writable,
    Access::Signer,
];
/// `SettleSeats`: exchange, approval, trader authority (signs), market (writable).
const SEATS_ACCESS: [Access; 4] = [Access::ReadOnly, Access::ReadOnly, Access::Signer, Access::Writable];

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

/// The perpetual accounts every order instruction passes.
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
    /// The taker's side of a take (`settle_book_take`); `health`: the taker's.
    pub fn take(&self, health: &[AccountInfo<'info>], args: BookTakeArgs) -> Result<()> {
        let data = perpetual::instruction::SettleBookTake { args }.data();
        invoke_perp(&self.trading_accounts(), &TRADING_ACCESS, &[health], data, self.trader_bump)
    }

    /// Settles the account's seat and sets its allowance (`set_seat_allowance`).
    pub fn set_allowance(&self, health: &[AccountInfo<'info>], args: SeatAllowanceArgs) -> Result<()> {
        let data = perpetual::instruction::SetSeatAllowance { args }.data();
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
    /// Settles the seats' pending fills into `accounts` (one per record).
    pub fn settle_seats(&self, accounts: &[AccountInfo<'info>], pending: Vec<SeatPending>) -> Result<()> {
        let named = [self.exchange, self.approval, self.trader_authority, self.market];
        let data = perpetual::instruction::SettleSeats { pending }.data();
        invoke_perp(&named, &SEATS_ACCESS, &[accounts], data, self.trader_bump)
    }

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
        let take = perpetual::accounts::SettleBookTake {
            exchange: k(),
            approval: k(),
            trader_authority: k(),
            market: k(),
            oracle: k(),
            taker: k(),
            taker_authority: k(),
        };
        assert_eq!(flags(take.to_account_metas(None)), ours);
        let allowance = perpetual::accounts::SetSeatAllowance {
            exchange: k(),
            approval: k(),
            trader_authority: k(),
            market: k(),
            oracle: k(),
            margin_account: k(),
            authority: k(),
        };
        assert_eq!(flags(allowance.to_account_metas(None)), ours);
        let seats =
            perpetual::accounts::SettleSeats { exchange: k(), approval: k(), trader_authority: k(), market: k() };
        let seats_access: Vec<(bool, bool)> = SEATS_ACCESS.iter().map(|a| (a.is_writable(), a.is_signer())).collect();
        assert_eq!(flags(seats.to_account_metas(None)), seats_access);
    }
}
