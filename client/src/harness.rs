//! The embedded harness: the programs' native entry shims and the one `ProgramTest`
//! builder that the keeper's embedded chain, the integration tests and the migrations
//! tests start from.
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::bpf_loader_upgradeable::{self, UpgradeableLoaderState};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_test::{processor, ProgramTest};

/// Native entry points for `processor!`.
///
/// Anchor's `entry` ties its three arguments to one lifetime; `processor!` wants them
/// independent. Widening is sound here: the runtime keeps them alive for the call.
pub mod entry {
    use super::*;

    pub fn perpetual(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
        perpetual::entry(program_id, accounts, data)
    }

    pub fn orderbook(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
        orderbook::entry(program_id, accounts, data)
    }

    pub fn test_trader(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
        test_trader::entry(program_id, accounts, data)
    }

    pub fn vault(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
        vault::entry(program_id, accounts, data)
    }
}

/// A program the harness can load natively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Perpetual,
    Orderbook,
    /// The test trader (`programs/test-trader`), a minimal trader program for the tests.
    TestTrader,
    /// The integrator example (`programs/vault`), composing both by CPI.
    Vault,
}

impl Program {
    pub fn name(self) -> &'static str {
        match self {
            Program::Perpetual => "perpetual",
            Program::Orderbook => "orderbook",
            Program::TestTrader => "test_trader",
            Program::Vault => "vault",
        }
    }

    pub fn id(self) -> Pubkey {
        match self {
            Program::Perpetual => perpetual::ID,
            Program::Orderbook => orderbook::ID,
            Program::TestTrader => test_trader::ID,
            Program::Vault => vault::ID,
        }
    }

    /// Adds the program, loaded natively through its [`entry`] shim.
    pub fn add_to(self, pt: &mut ProgramTest) {
        // One `processor!` per arm: each expands to its own closure type.
        let (name, id) = (self.name(), self.id());
        match self {
            Program::Perpetual => pt.add_program(name, id, processor!(entry::perpetual)),
            Program::Orderbook => pt.add_program(name, id, processor!(entry::orderbook)),
            Program::TestTrader => pt.add_program(name, id, processor!(entry::test_trader)),
            Program::Vault => pt.add_program(name, id, processor!(entry::vault)),
        }
    }
}

/// What the keeper's embedded chain loads: the exchange and its order book.
pub const EXCHANGE: &[Program] = &[Program::Perpetual, Program::Orderbook];

/// What the integration tests load, in this order.
pub const ALL: &[Program] = &[Program::Perpetual, Program::TestTrader, Program::Orderbook, Program::Vault];

/// The key every embedded chain deploys `perpetual` with: its upgrade authority, the one
/// key that may initialise an exchange. Published, so for local chains only.
pub fn deployer() -> Keypair {
    Keypair::new_from_array([0x5e; 32])
}

/// `program`'s ProgramData account as the upgradeable loader writes it at deployment,
/// naming `authority` (`None`: an immutable program), and its address.
pub fn program_data_account(program: &Pubkey, authority: Option<Pubkey>) -> (Pubkey, Account) {
    let state = UpgradeableLoaderState::ProgramData { slot: 0, upgrade_authority_address: authority };
    let data = bincode::serialize(&state).expect("the loader state serialises");
    let account =
        Account { lamports: 1_000_000_000, data, owner: bpf_loader_upgradeable::ID, executable: false, rent_epoch: 0 };
    (Pubkey::find_program_address(&[program.as_ref()], &bpf_loader_upgradeable::ID).0, account)
}

/// A `ProgramTest` with `programs` loaded natively (in that order) next to the real SPL
/// Token, never their SBF builds; `perpetual` as deployed by [`deployer`].
pub fn program_test(programs: &[Program]) -> ProgramTest {
    let mut pt = ProgramTest::default();
    for p in programs {
        p.add_to(&mut pt);
    }
    if programs.contains(&Program::Perpetual) {
        add_perpetual_deployment(&mut pt);
    }
    pt.prefer_bpf(false);
    pt
}

/// `perpetual`'s ProgramData account naming [`deployer`] as its upgrade authority, for a
/// `ProgramTest` that loads perpetual its own way (the benchmark's probes).
pub fn add_perpetual_deployment(pt: &mut ProgramTest) {
    use solana_signer::Signer;
    let (key, account) = program_data_account(&perpetual::ID, Some(deployer().pubkey()));
    pt.add_account(key, account);
}
