//! Table-driven adversarial account matrix.
//!
//! For every instruction of both programs (perpetual and the order book, whose
//! instructions are named `book.*`) one valid instruction is built in a prepared
//! environment (and checked valid by simulation). Each row of `rows()` names an
//! (instruction, account slot, case) and the exact error expected; the mutated instruction
//! is derived mechanically from the valid one and sent with `assert_refused`, which also
//! requires every account the instruction names to be byte-for-byte unchanged. Perpetual
//! and the order book both number their errors from 6000, so a program-defined error is
//! also checked to come from the right program (`assert_refused_by`: a simulation first,
//! whose logs name the first program to fail).
//!
//! Which cases a slot needs is derived from the chain, not from the table: a slot that
//! signs needs "missing signer" and "impostor" rows; a program- or token-owned account
//! (perpetual, order book or SPL token) needs "wrong owner" and "wrong type"; an account
//! that does not exist yet (an `init` target or a PDA) needs "wrong seeds"; an executable
//! account needs "wrong program"; a writable account needs "read-only". Instructions with
//! two writable accounts of one kind need a duplicate row, instructions with health
//! accounts the full set of health mutations, and every `init` instruction a
//! re-initialisation row. The test fails if a required row is missing and is not listed in
//! `EXEMPT` with its reason, and if `INSTRUCTIONS` differs from the `pub fn`s of the two
//! programs' `#[program]` modules.
//!
//! Trader-only perpetual instructions are reached the way a trader reaches them:
//! `settle_fills` / `update_reservation` through the test trader; `record_mark_sample`,
//! `register_book` and `early_deleverage` through the order book instructions that call
//! them (`VIA`: the book instruction's rows cover them); `release_reservations`, which no
//! program of the workspace calls, through a native relay trader defined here. Each also
//! has `:direct` rows for the trader signature the caller supplies.
//!
//! Rows run in phases (`Base::phase`): deleveraging needs an empty insurance fund, which
//! covering with insurance and withdrawing from it need full, so its rows run last, after
//! the fund is emptied.
//!
//! Rows marked `.issue(..)` document a known program issue (a refusal with a generic or
//! misleading error): they must still be refused with no account changed, but the error is
//! printed under "known issues" instead of failing the test.
//!
//! Set `MATRIX_PROBE=1` to run every row without stopping at the first mismatch and print
//! a table of mismatches instead (rows that unexpectedly succeed are committed then, so
//! later rows may cascade).
#![allow(deprecated)] // solana-program-test 3.x marks ProgramTestContext's fields "unstable"
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountInfo, AccountMeta, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use integration_tests::adversarial::{assert_refused, assert_refused_by};
use integration_tests::*;
use orderbook::error::BookError;
use orderbook::instructions::{CreateBookArgs, OrderType};
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::instructions::governance;
use perpetual::instructions::{InitializeExchangeArgs, ListMarketArgs, SetAuthoritiesArgs, SettleFillsArgs, UpdateMarketArgs};
use perpetual::sdk;
use perpetual::state::{HEADER_LEN, POSITION_LEN};
use perpetual::{Fill, FillResult, MarketStatus, OracleKind, Release, Side};
use pyth_sdk_solana::state::PriceStatus;
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

const PRICE: i64 = 1_000_000; // $1 per lot

// ---------------------------------------------------------------------------------------
// A relay trader program, native, approved on the exchange: it reaches trader-only
// instructions no program of the workspace calls (`release_reservations`: the order book
// releases reservations through `settle_fills`' `releases`, and its `perp_cpi::release` is
// never called), and perpetual's own checks of accounts the order book checks first.
// ---------------------------------------------------------------------------------------

/// The relay's program id (approved on the exchange in `world`).
const RELAY_ID: Pubkey = Pubkey::new_from_array([0x5e; 32]);

/// Accounts: `[target program, ..accounts of the target instruction]`; data: the target
/// instruction's data. The relay's `trader` PDA is marked as a signer and signs by seeds.
fn relay_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (pda, bump) = Pubkey::find_program_address(&[b"trader"], program_id);
    let metas = accounts[1..]
        .iter()
        .map(|a| AccountMeta { pubkey: *a.key, is_signer: a.is_signer || *a.key == pda, is_writable: a.is_writable })
        .collect();
    let ix = Instruction { program_id: *accounts[0].key, accounts: metas, data: data.to_vec() };
    anchor_lang::solana_program::program::invoke_signed(&ix, accounts, &[&[b"trader", &[bump]]])
}

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

/// What kind of attack a row is; the coverage check is in these terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    MissingSigner,
    Impostor,
    WrongOwner,
    WrongType,
    WrongSeeds,
    WrongExchange,
    WrongAddress,
    WrongProgram,
    ReadOnly,
    Duplicate,
    Remaining,
    Reinit,
}

/// Prepared accounts a slot can be replaced with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Sub {
    /// A funded system wallet.
    SystemWallet,
    /// An address that holds nothing.
    Missing,
    /// A fresh address (for PDA slots).
    Unique,
    Exchange,
    /// The exchange of a second collateral mint, with another admin and authorities.
    Exchange2,
    Market,
    OtherMarket,
    /// A market of `Exchange2` (its oracle is `Oracle`).
    Market2,
    Oracle,
    OtherOracle,
    /// The maker's margin account.
    OtherMargin,
    /// A margin account of `Exchange2`.
    Margin2,
    /// A margin account with no position.
    EmptyMargin,
    /// The test trader's approval on `Exchange2`.
    Approval2,
    /// The approval of another (executable) program on the exchange.
    ApprovalOther,
    /// Another user's collateral token account.
    TokenAccount,
    /// A token account of the second mint.
    Token2,
    Mint,
    Mint2,
    Vault2,
    TokenProgram,
    SystemProgram,
    /// The maker's margin account PDA for another account number (never created).
    OtherMarginPda,
    /// The order book of the BOOK market (the book the order instructions trade on).
    Book,
    /// The order book of the RSK market (created by the same payer as the settled book).
    OtherBook,
    /// An account owned by the order book, allocated for a book and still zeroed.
    ZeroBook,
    /// A market in final settlement (FIN) where `fl` still holds a position.
    SettledMarket,
    /// The order book's approval on the exchange.
    BookApproval,
    /// The test trader's approval on the exchange.
    TraderApproval,
    /// An account owned by the Pyth program that is no price account.
    PythGarbage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Guardian,
    Risk,
    Delegate,
    Deleverage,
}

/// Mutations of the trailing health accounts (one (market, oracle) pair per position).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum HealthMut {
    /// An unexpected account appended.
    Extra,
    /// The last pair left out.
    DropLastPair,
    /// No health accounts at all.
    DropAll,
    /// Oracle before market in the first pair.
    SwapWithinPair,
    /// First and second pairs exchanged (not in position order).
    SwapPairs,
    /// The first pair passed twice.
    DuplicatePair,
    /// The first pair's oracle is another market's oracle.
    WrongOracle,
    /// The first pair's oracle is its clone owned by another program.
    ForeignOwnedOracle,
    /// The pair of the market the instruction already takes, in front.
    IncludeOwnMarket,
    /// The first pair's market is a market of another exchange.
    OtherExchangeMarket,
    /// The first pair's market is its clone owned by another program.
    ForeignOwnedMarket,
    /// A (fabricated) margin account whose position names a market of another exchange.
    FabricatedOtherExchange,
    /// A (fabricated) margin account whose position names an account owned by another program.
    FabricatedForeignOwned,
    /// A (fabricated) margin account whose position names a perpetual account that is no market.
    FabricatedNotMarket,
}

const HEALTH_MUTS: [HealthMut; 14] = [
    HealthMut::Extra,
    HealthMut::DropLastPair,
    HealthMut::DropAll,
    HealthMut::SwapWithinPair,
    HealthMut::SwapPairs,
    HealthMut::DuplicatePair,
    HealthMut::WrongOracle,
    HealthMut::ForeignOwnedOracle,
    HealthMut::IncludeOwnMarket,
    HealthMut::OtherExchangeMarket,
    HealthMut::ForeignOwnedMarket,
    HealthMut::FabricatedOtherExchange,
    HealthMut::FabricatedForeignOwned,
    HealthMut::FabricatedNotMarket,
];

/// Mutations that need more than one slot changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Multi {
    /// approve_trader: a non-executable trader program, with the approval PDA derived for it.
    TraderProgramNotExecutable,
    /// create_market on another exchange, with the market PDA derived for it.
    CreateMarketOnOtherExchange,
}

#[derive(Clone, Copy, Debug)]
enum Case {
    /// The slot's signer flag cleared.
    Unsigned,
    /// A funded keypair with no role signs in the slot.
    Impostor,
    /// A keypair with another role signs in the slot.
    SignAs(Who),
    /// A copy of the account (same bytes and lamports) owned by another program.
    ForeignOwner,
    /// The slot holds a prepared account.
    Swap(Kind, Sub),
    /// The slot's writable flag cleared.
    ReadOnly,
    /// The slot holds the account of another slot.
    DupOf(&'static str),
    Health(HealthMut),
    Special(Kind, Multi),
    /// The variant instruction is sent as is (it initialises an existing account).
    Reinit,
    /// The variant instruction is sent as is (it differs from the base in several slots).
    Variant(Kind),
}

impl Case {
    fn kind(&self) -> Kind {
        match self {
            Case::Unsigned => Kind::MissingSigner,
            Case::Impostor | Case::SignAs(_) => Kind::Impostor,
            Case::ForeignOwner => Kind::WrongOwner,
            Case::Swap(k, _) | Case::Special(k, _) => *k,
            Case::ReadOnly => Kind::ReadOnly,
            Case::DupOf(_) => Kind::Duplicate,
            Case::Health(_) => Kind::Remaining,
            Case::Reinit => Kind::Reinit,
            Case::Variant(k) => *k,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// A custom error code (perpetual, the order book, Anchor or a called program) and, for
    /// program-defined errors, the program that must have raised it (the first to fail in
    /// the logs): perpetual and the order book both number their errors from 6000, so the
    /// code alone is ambiguous. Anchor's framework errors (2000-4999) need no program.
    Code(u32, Option<Pubkey>),
    /// A runtime / program error without a custom code.
    Ix(InstructionError),
}

struct Row {
    /// Instruction, optionally `instruction:variant`.
    base: &'static str,
    slot: &'static str,
    case: Case,
    expect: Expect,
    /// Where the refusal comes from when it is not perpetual itself.
    note: &'static str,
    /// A known program issue: the row runs and must still be refused with every account
    /// unchanged, but a different error is tolerated and printed instead of failing the test.
    issue: Option<&'static str>,
}

fn p(e: PerpError) -> Expect {
    Expect::Code(code(e), Some(perpetual::ID))
}
fn a(e: AnchorError) -> Expect {
    Expect::Code(anchor_code(e), None)
}
fn ix_err(e: InstructionError) -> Expect {
    Expect::Ix(e)
}
fn token_err(e: spl_token_interface::error::TokenError) -> Expect {
    Expect::Code(e as u32, Some(spl_token_interface::ID))
}
fn ob(e: BookError) -> Expect {
    Expect::Code(e.into(), Some(orderbook::ID))
}

fn r(base: &'static str, slot: &'static str, case: Case, expect: Expect) -> Row {
    Row { base, slot, case, expect, note: "", issue: None }
}

impl Row {
    fn note(mut self, note: &'static str) -> Self {
        self.note = note;
        self
    }
}

/// Health-taking instructions that take no market of their own (full health accounts).
const NO_OWN_MARKET: &[&str] = &["withdraw", "mark_underwater", "cover_with_insurance"];

/// The case every health-taking instruction gets for each health mutation.
fn health_rows(base: &'static str, rows: &mut Vec<Row>) {
    use HealthMut::*;
    for h in HEALTH_MUTS {
        let expect = match h {
            Extra | DropLastPair | DropAll | SwapWithinPair | SwapPairs | DuplicatePair | IncludeOwnMarket
            | OtherExchangeMarket | ForeignOwnedMarket => p(PerpError::HealthAccountsMismatch),
            // An account after a market that is not its oracle is read as the next market.
            WrongOracle | ForeignOwnedOracle => p(PerpError::HealthAccountsMismatch),
            FabricatedOtherExchange => p(PerpError::WrongExchange),
            FabricatedForeignOwned => a(AnchorError::AccountOwnedByWrongProgram),
            FabricatedNotMarket => a(AnchorError::AccountDiscriminatorMismatch),
        };
        if NO_OWN_MARKET.contains(&base) && h == IncludeOwnMarket {
            continue; // the instruction takes no market of its own
        }
        rows.push(r(base, "health", Case::Health(h), expect));
    }
}

/// Every row of the matrix.
fn rows() -> Vec<Row> {
    use AnchorError as A;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = vec![
        // ---- initialize_exchange: anyone may create the exchange of a new mint ----
        r("initialize_exchange", "admin", Unsigned, a(A::AccountNotSigner)),
        r("initialize_exchange", "exchange", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("initialize_exchange", "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("initialize_exchange", "collateral_mint", Swap(K::WrongOwner, S::Missing), a(A::AccountNotInitialized)),
        r("initialize_exchange", "collateral_mint", Swap(K::WrongOwner, S::SystemWallet), a(A::AccountOwnedByWrongProgram)),
        // A token account under the token program: SPL unpack fails (Anchor maps it to InvalidAccountData).
        r("initialize_exchange", "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        // The exchange PDA is bound to the mint.
        r("initialize_exchange", "collateral_mint", Swap(K::WrongAddress, S::Mint2), a(A::ConstraintSeeds)),
        r("initialize_exchange", "vault", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("initialize_exchange", "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
        r("initialize_exchange", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("initialize_exchange:reinit", "exchange", Reinit, p(P::AccountAlreadyInitialized)),
        // ---- set_authorities / propose_admin (AdminOnly) ----
        r("set_authorities", "admin", Unsigned, a(A::AccountNotSigner)),
        r("set_authorities", "admin", Impostor, p(P::NotAdmin)),
        r("set_authorities", "admin", SignAs(Who::Guardian), p(P::NotAdmin)),
        r("set_authorities", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_authorities", "exchange", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("set_authorities", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("set_authorities", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("set_authorities", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("propose_admin", "admin", Unsigned, a(A::AccountNotSigner)),
        r("propose_admin", "admin", Impostor, p(P::NotAdmin)),
        r("propose_admin", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("propose_admin", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("propose_admin", "exchange", Swap(K::WrongType, S::Oracle), a(A::AccountDiscriminatorMismatch)),
        r("propose_admin", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("propose_admin", "exchange", ReadOnly, a(A::ConstraintMut)),
        // ---- accept_admin ----
        r("accept_admin", "new_admin", Unsigned, a(A::AccountNotSigner)),
        r("accept_admin", "new_admin", Impostor, p(P::NotPendingAdmin)),
        r("accept_admin", "new_admin", SignAs(Who::Admin), p(P::NotPendingAdmin)),
        r("accept_admin", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("accept_admin", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("accept_admin", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotPendingAdmin)),
        r("accept_admin", "exchange", ReadOnly, a(A::ConstraintMut)),
        // ---- set_exchange_paused: the guardian pauses, only the admin unpauses ----
        r("set_exchange_paused", "authority", Unsigned, a(A::AccountNotSigner)),
        r("set_exchange_paused", "authority", Impostor, p(P::NotPauseGuardian)),
        r("set_exchange_paused", "authority", SignAs(Who::Risk), p(P::NotPauseGuardian)),
        r("set_exchange_paused", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_exchange_paused", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("set_exchange_paused", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotPauseGuardian)),
        r("set_exchange_paused", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("set_exchange_paused:unpause", "authority", SignAs(Who::Guardian), p(P::NotAdmin)),
        r("set_exchange_paused:unpause", "authority", Impostor, p(P::NotAdmin)),
        // ---- approve_trader: `init` of the approval runs before the admin check ----
        r("approve_trader", "admin", Unsigned, a(A::AccountNotSigner)),
        r("approve_trader", "admin", Impostor, p(P::NotAdmin)),
        r("approve_trader", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("approve_trader", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("approve_trader", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        // The approval PDA is bound to the exchange.
        r("approve_trader", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("approve_trader", "trader_program", Special(K::WrongProgram, Multi::TraderProgramNotExecutable), a(A::ConstraintExecutable)),
        r("approve_trader", "trader_program", Swap(K::WrongAddress, S::TokenProgram), a(A::ConstraintSeeds)),
        r("approve_trader", "approval", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("approve_trader", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("approve_trader:reinit", "approval", Reinit, p(P::AccountAlreadyInitialized)),
        // ---- revoke_trader ----
        r("revoke_trader", "admin", Unsigned, a(A::AccountNotSigner)),
        r("revoke_trader", "admin", Impostor, p(P::NotAdmin)),
        r("revoke_trader", "admin", ReadOnly, a(A::ConstraintMut)),
        r("revoke_trader", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("revoke_trader", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("revoke_trader", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("revoke_trader", "approval", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("revoke_trader", "approval", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("revoke_trader", "approval", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("revoke_trader", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("revoke_trader", "approval", ReadOnly, a(A::ConstraintMut)),
        // ---- create_price_oracle: the PDA is bound to its authority ----
        r("create_price_oracle", "authority", Unsigned, a(A::AccountNotSigner)),
        r("create_price_oracle", "authority", Impostor, a(A::ConstraintSeeds)),
        r("create_price_oracle", "oracle", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("create_price_oracle", "oracle", Swap(K::WrongSeeds, S::Oracle), a(A::ConstraintSeeds)),
        r("create_price_oracle", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("create_price_oracle:reinit", "oracle", Reinit, p(P::AccountAlreadyInitialized)),
        // ---- set_oracle_price ----
        r("set_oracle_price", "authority", Unsigned, a(A::AccountNotSigner)),
        r("set_oracle_price", "authority", Impostor, p(P::NotOracleAuthority)),
        r("set_oracle_price", "authority", SignAs(Who::Admin), p(P::NotOracleAuthority)),
        r("set_oracle_price", "oracle", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_oracle_price", "oracle", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("set_oracle_price", "oracle", ReadOnly, a(A::ConstraintMut)),
        // ---- create_market: `init` of the market runs before the admin check ----
        r("create_market", "admin", Unsigned, a(A::AccountNotSigner)),
        r("create_market", "admin", Impostor, p(P::NotAdmin)),
        // The market is created (paid by the signer) before the admin check runs.
        r("create_market", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("create_market", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("create_market", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("create_market", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("create_market", "exchange", Special(K::WrongExchange, Multi::CreateMarketOnOtherExchange), p(P::NotAdmin)),
        r("create_market", "market", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("create_market", "market", Swap(K::WrongSeeds, S::Market), a(A::ConstraintSeeds)),
        r("create_market", "oracle", ForeignOwner, p(P::WrongOwner)),
        r("create_market", "oracle", Swap(K::WrongOwner, S::SystemWallet), p(P::WrongOwner)),
        r("create_market", "oracle", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("create_market", "oracle", Swap(K::WrongType, S::Market), p(P::InvalidOracleAccount)),
        r("create_market", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("create_market:reinit", "market", Reinit, p(P::AccountAlreadyInitialized)),
        // ---- update_market ----
        r("update_market", "admin", Unsigned, a(A::AccountNotSigner)),
        r("update_market", "admin", Impostor, p(P::NotAdmin)),
        r("update_market", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("update_market", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("update_market", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("update_market", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("update_market", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("update_market", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("update_market", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("update_market", "market", ReadOnly, a(A::ConstraintMut)),
        // ---- set_margins ----
        r("set_margins", "risk_authority", Unsigned, a(A::AccountNotSigner)),
        r("set_margins", "risk_authority", Impostor, p(P::NotRiskAuthority)),
        r("set_margins", "risk_authority", SignAs(Who::Admin), p(P::NotRiskAuthority)),
        r("set_margins", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_margins", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("set_margins", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotRiskAuthority)),
        r("set_margins", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_margins", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("set_margins", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("set_margins", "market", ReadOnly, a(A::ConstraintMut)),
        // ---- set_market_status: the guardian pauses, only the admin reactivates ----
        r("set_market_status", "authority", Unsigned, a(A::AccountNotSigner)),
        r("set_market_status", "authority", Impostor, p(P::NotPauseGuardian)),
        r("set_market_status", "authority", SignAs(Who::Risk), p(P::NotPauseGuardian)),
        r("set_market_status", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_market_status", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("set_market_status", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("set_market_status", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_market_status", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("set_market_status", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("set_market_status", "market", ReadOnly, a(A::ConstraintMut)),
        r("set_market_status:activate", "authority", SignAs(Who::Guardian), p(P::NotAdmin)),
        r("set_market_status:activate", "authority", Impostor, p(P::NotAdmin)),
        // ---- update_funding (permissionless) ----
        r("update_funding", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("update_funding", "market", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("update_funding", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("update_funding", "market", ReadOnly, a(A::ConstraintMut)),
        r("update_funding", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("update_funding", "oracle", Swap(K::WrongOwner, S::SystemWallet), p(P::WrongOracle)),
        r("update_funding", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("update_funding", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        // ---- set_funding_rate ----
        r("set_funding_rate", "funding_authority", Unsigned, a(A::AccountNotSigner)),
        r("set_funding_rate", "funding_authority", Impostor, p(P::NotFundingAuthority)),
        r("set_funding_rate", "funding_authority", SignAs(Who::Admin), p(P::NotFundingAuthority)),
        r("set_funding_rate", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_funding_rate", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("set_funding_rate", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotFundingAuthority)),
        r("set_funding_rate", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_funding_rate", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("set_funding_rate", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("set_funding_rate", "market", ReadOnly, a(A::ConstraintMut)),
        r("set_funding_rate", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("set_funding_rate", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("set_funding_rate", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        // ---- settle_funding (permissionless) ----
        r("settle_funding", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("settle_funding", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        // Market2 shares the oracle, so the index updates; the margin account's exchange differs.
        r("settle_funding", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("settle_funding", "market", ReadOnly, a(A::ConstraintMut)),
        r("settle_funding", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("settle_funding", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("settle_funding", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("settle_funding", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("settle_funding", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("settle_funding", "margin_account", Swap(K::WrongType, S::OtherMarket), p(P::NotMarginAccount)),
        r("settle_funding", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("settle_funding", "margin_account", Swap(K::WrongAddress, S::EmptyMargin), p(P::NoPositionInMarket)),
        r("settle_funding", "margin_account", ReadOnly, a(A::ConstraintMut)),
        // The market, borrowed mutably, passed again as the margin account.
        r("settle_funding", "margin_account", DupOf("market"), p(P::DuplicateAccount)),
        // ---- sweep_fees (permissionless) ----
        r("sweep_fees", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("sweep_fees", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("sweep_fees", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("sweep_fees", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("sweep_fees", "exchange", DupOf("market"), a(A::AccountDiscriminatorMismatch)),
        r("sweep_fees", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("sweep_fees", "market", Swap(K::WrongType, S::Oracle), a(A::AccountDiscriminatorMismatch)),
        r("sweep_fees", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("sweep_fees", "market", ReadOnly, a(A::ConstraintMut)),
        r("sweep_fees", "market", DupOf("exchange"), a(A::AccountDiscriminatorMismatch)),
        // ---- create_margin_account: the PDA is bound to exchange, owner and number ----
        r("create_margin_account", "owner", Unsigned, a(A::AccountNotSigner)),
        r("create_margin_account", "owner", Impostor, a(A::ConstraintSeeds)),
        r("create_margin_account", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("create_margin_account", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("create_margin_account", "exchange", Swap(K::WrongExchange, S::Exchange2), a(A::ConstraintSeeds)),
        r("create_margin_account", "margin_account", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("create_margin_account", "margin_account", Swap(K::WrongSeeds, S::OtherMarginPda), a(A::ConstraintSeeds)),
        r("create_margin_account", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("create_margin_account:reinit", "margin_account", Reinit, p(P::AccountAlreadyInitialized)),
    ];
    // ---- resize_margin_account / set_delegate (OwnerAction) ----
    for base in ["resize_margin_account", "set_delegate"] {
        v.extend([
            r(base, "owner", Unsigned, a(A::AccountNotSigner)),
            r(base, "owner", Impostor, p(P::NotOwner)),
            r(base, "owner", SignAs(Who::Delegate), p(P::NotOwner)),
            r(base, "owner", ReadOnly, a(A::ConstraintMut)),
            r(base, "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
            r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
            r(base, "margin_account", ForeignOwner, p(P::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongType, S::Market), p(P::NotMarginAccount)),
            r(base, "margin_account", Swap(K::WrongType, S::Exchange), p(P::NotMarginAccount)),
            r(base, "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
            r(base, "margin_account", Swap(K::WrongAddress, S::OtherMargin), p(P::NotOwner)),
            r(base, "margin_account", ReadOnly, a(A::ConstraintMut)),
            r(base, "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        ]);
    }
    v.extend([
        // ---- deposit: anyone may deposit into any margin account, from a token account they own ----
        r("deposit", "depositor", Unsigned, a(A::AccountNotSigner)),
        r("deposit", "depositor", Impostor, token_err(spl_token_interface::error::TokenError::OwnerMismatch)).note("SPL token transfer authority"),
        r("deposit", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deposit", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("deposit", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongAccount)),
        r("deposit", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("deposit", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("deposit", "margin_account", Swap(K::WrongType, S::Market), p(P::NotMarginAccount)),
        r("deposit", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("deposit", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("deposit", "depositor_token", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deposit", "depositor_token", Swap(K::WrongOwner, S::Missing), a(A::AccountNotInitialized)),
        r("deposit", "depositor_token", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("deposit", "depositor_token", Swap(K::WrongAddress, S::Token2), p(P::WrongMint)),
        r("deposit", "depositor_token", ReadOnly, a(A::ConstraintMut)),
        r("deposit", "depositor_token", DupOf("vault"), a(A::ConstraintDuplicateMutableAccount)),
        r("deposit", "vault", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deposit", "vault", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("deposit", "vault", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
        r("deposit", "vault", Swap(K::WrongExchange, S::Vault2), p(P::WrongAccount)),
        r("deposit", "vault", ReadOnly, a(A::ConstraintMut)),
        r("deposit", "vault", DupOf("depositor_token"), a(A::ConstraintDuplicateMutableAccount)),
        r("deposit", "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deposit", "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("deposit", "collateral_mint", Swap(K::WrongAddress, S::Mint2), p(P::WrongMint)),
        r("deposit", "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
        // ---- withdraw: only the owner, to any token account of the mint ----
        r("withdraw", "owner", Unsigned, a(A::AccountNotSigner)),
        r("withdraw", "owner", Impostor, p(P::NotOwner)),
        r("withdraw", "owner", SignAs(Who::Delegate), p(P::NotOwner)),
        r("withdraw", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("withdraw", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("withdraw", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongAccount)),
        r("withdraw", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("withdraw", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("withdraw", "margin_account", Swap(K::WrongType, S::Market), p(P::NotMarginAccount)),
        r("withdraw", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("withdraw", "margin_account", Swap(K::WrongAddress, S::OtherMargin), p(P::NotOwner)),
        r("withdraw", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("withdraw", "vault", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("withdraw", "vault", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("withdraw", "vault", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
        r("withdraw", "vault", Swap(K::WrongExchange, S::Vault2), p(P::WrongAccount)),
        r("withdraw", "vault", ReadOnly, a(A::ConstraintMut)),
        r("withdraw", "vault", DupOf("destination"), a(A::ConstraintDuplicateMutableAccount)),
        r("withdraw", "destination", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("withdraw", "destination", Swap(K::WrongOwner, S::SystemWallet), a(A::AccountOwnedByWrongProgram)),
        r("withdraw", "destination", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("withdraw", "destination", Swap(K::WrongAddress, S::Token2), p(P::WrongMint)),
        r("withdraw", "destination", ReadOnly, a(A::ConstraintMut)),
        r("withdraw", "destination", DupOf("vault"), a(A::ConstraintDuplicateMutableAccount)),
        r("withdraw", "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("withdraw", "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("withdraw", "collateral_mint", Swap(K::WrongAddress, S::Mint2), p(P::WrongMint)),
        r("withdraw", "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
    ]);
    health_rows("withdraw", &mut v);
    // ---- settle_fills, through the test trader ----
    v.extend([
        r("settle_fills", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("settle_fills", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("settle_fills", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("settle_fills", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("settle_fills", "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r("settle_fills", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("settle_fills", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("settle_fills", "approval", Swap(K::WrongAddress, S::ApprovalOther), p(P::WrongTraderAuthority)),
        r("settle_fills", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("settle_fills", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("settle_fills", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("settle_fills", "market", ReadOnly, a(A::ConstraintMut)).note("test trader's own mut check"),
        r("settle_fills", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("settle_fills", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("settle_fills", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("settle_fills", "taker", ForeignOwner, p(P::WrongOwner)),
        r("settle_fills", "taker", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("settle_fills", "taker", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("settle_fills", "taker", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("settle_fills", "taker", ReadOnly, a(A::ConstraintMut)).note("test trader's own mut check"),
        r("settle_fills", "taker", DupOf("market"), p(P::DuplicateAccount)),
        r("settle_fills", "taker_authority", Unsigned, a(A::AccountNotSigner)).note("test trader's own Signer check"),
        r("settle_fills", "taker_authority", Impostor, p(P::NotOwnerOrDelegate)),
        r("settle_fills", "maker[0]", ForeignOwner, p(P::WrongOwner)),
        r("settle_fills", "maker[0]", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("settle_fills", "maker[0]", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("settle_fills", "maker[0]", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        // MarginAccountMut::load refuses a read-only account with WrongAccount.
        r("settle_fills", "maker[0]", ReadOnly, p(P::AccountNotWritable)),
        r("settle_fills", "maker[0]", DupOf("taker"), p(P::SelfTrade)),
        r("settle_fills", "maker[0]", DupOf("market"), p(P::DuplicateAccount)),
        r("settle_fills:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("settle_fills:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
    ]);
    health_rows("settle_fills", &mut v);
    // ---- update_reservation, through the test trader ----
    v.extend([
        r("update_reservation", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("update_reservation", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("update_reservation", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("update_reservation", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("update_reservation", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("update_reservation", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("update_reservation", "approval", Swap(K::WrongAddress, S::ApprovalOther), p(P::WrongTraderAuthority)),
        r("update_reservation", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("update_reservation", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("update_reservation", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("update_reservation", "market", ReadOnly, a(A::ConstraintMut)).note("test trader's own mut check (perpetual takes the market writable too)"),
        r("update_reservation", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("update_reservation", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("update_reservation", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("update_reservation", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("update_reservation", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("update_reservation", "margin_account", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("update_reservation", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("update_reservation", "margin_account", Swap(K::WrongAddress, S::OtherMargin), p(P::NotOwnerOrDelegate)),
        r("update_reservation", "margin_account", ReadOnly, a(A::ConstraintMut)).note("test trader's own mut check"),
        r("update_reservation", "margin_account", DupOf("market"), p(P::DuplicateAccount)),
        r("update_reservation", "account_authority", Unsigned, a(A::AccountNotSigner)).note("test trader's own Signer check"),
        r("update_reservation", "account_authority", Impostor, p(P::NotOwnerOrDelegate)),
        r("update_reservation:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("update_reservation:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
    ]);
    health_rows("update_reservation", &mut v);
    v.extend(more_rows());
    v
}

/// Rows of the instructions added after the first 24: the rest of perpetual, and the order book.
fn more_rows() -> Vec<Row> {
    use spl_token_interface::error::TokenError;
    use AnchorError as A;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = vec![
        // ---- queue_proposal: the proposal PDA is the exchange's next id ----
        r("queue_proposal", "admin", Unsigned, a(A::AccountNotSigner)),
        r("queue_proposal", "admin", Impostor, p(P::NotAdmin)),
        r("queue_proposal", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("queue_proposal", "admin", ReadOnly, a(A::ConstraintMut)),
        r("queue_proposal", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("queue_proposal", "exchange", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("queue_proposal", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("queue_proposal", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("queue_proposal", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("queue_proposal", "proposal", Swap(K::WrongSeeds, S::Unique), p(P::WrongProposalAddress)),
        r("queue_proposal", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("queue_proposal:reinit", "proposal", Reinit, p(P::WrongProposalAddress)),
        // ---- cancel_proposal ----
        r("cancel_proposal", "admin", Unsigned, a(A::AccountNotSigner)),
        r("cancel_proposal", "admin", Impostor, p(P::NotAdmin)),
        r("cancel_proposal", "admin", SignAs(Who::Guardian), p(P::NotAdmin)),
        r("cancel_proposal", "admin", ReadOnly, a(A::ConstraintMut)),
        r("cancel_proposal", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("cancel_proposal", "exchange", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("cancel_proposal", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("cancel_proposal", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("cancel_proposal", "proposal", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("cancel_proposal", "proposal", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("cancel_proposal", "proposal", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("cancel_proposal", "proposal", ReadOnly, a(A::ConstraintMut)),
        // ---- set_timelock (AdminOnly) ----
        r("set_timelock", "admin", Unsigned, a(A::AccountNotSigner)),
        r("set_timelock", "admin", Impostor, p(P::NotAdmin)),
        r("set_timelock", "admin", SignAs(Who::Guardian), p(P::NotAdmin)),
        r("set_timelock", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_timelock", "exchange", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("set_timelock", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("set_timelock", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("set_timelock", "exchange", ReadOnly, a(A::ConstraintMut)),
        // ---- set_listing_deposit (AdminOnly) ----
        r("set_listing_deposit", "admin", Unsigned, a(A::AccountNotSigner)),
        r("set_listing_deposit", "admin", Impostor, p(P::NotAdmin)),
        r("set_listing_deposit", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("set_listing_deposit", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("set_listing_deposit", "exchange", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("set_listing_deposit", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("set_listing_deposit", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("set_listing_deposit", "exchange", ReadOnly, a(A::ConstraintMut)),
        // ---- list_market: anyone lists, paying the deposit from its own tokens ----
        r("list_market", "lister", Unsigned, a(A::AccountNotSigner)),
        r("list_market", "lister", Impostor, token_err(TokenError::OwnerMismatch)).note("SPL token transfer authority: the deposit comes from the signer's own tokens"),
        r("list_market", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("list_market", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        // The market PDA is bound to the exchange.
        r("list_market", "exchange", Swap(K::WrongExchange, S::Exchange2), a(A::ConstraintSeeds)),
        r("list_market", "market", Swap(K::WrongSeeds, S::Unique), a(A::ConstraintSeeds)),
        r("list_market", "market", Swap(K::WrongSeeds, S::Market), a(A::ConstraintSeeds)),
        r("list_market", "oracle", ForeignOwner, p(P::WrongOwner)),
        r("list_market", "oracle", Swap(K::WrongOwner, S::SystemWallet), p(P::WrongOwner)),
        r("list_market", "oracle", Swap(K::WrongOwner, S::Oracle), p(P::WrongOwner)),
        r("list_market", "oracle", Swap(K::WrongType, S::PythGarbage), p(P::InvalidOracleAccount)),
        r("list_market", "lister_token", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("list_market", "lister_token", Swap(K::WrongOwner, S::Missing), a(A::AccountNotInitialized)),
        r("list_market", "lister_token", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("list_market", "lister_token", Swap(K::WrongAddress, S::Token2), p(P::WrongMint)),
        r("list_market", "lister_token", ReadOnly, a(A::ConstraintMut)),
        r("list_market", "lister_token", DupOf("vault"), a(A::ConstraintDuplicateMutableAccount)),
        r("list_market", "vault", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("list_market", "vault", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("list_market", "vault", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
        r("list_market", "vault", Swap(K::WrongExchange, S::Vault2), p(P::WrongAccount)),
        r("list_market", "vault", ReadOnly, a(A::ConstraintMut)),
        r("list_market", "vault", DupOf("lister_token"), a(A::ConstraintDuplicateMutableAccount)),
        r("list_market", "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("list_market", "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("list_market", "collateral_mint", Swap(K::WrongAddress, S::Mint2), p(P::WrongMint)),
        r("list_market", "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
        r("list_market", "system_program", Swap(K::WrongProgram, S::TokenProgram), a(A::InvalidProgramId)),
        r("list_market:reinit", "market", Reinit, p(P::AccountAlreadyInitialized)),
    ];
    // ---- set_open_interest_cap / set_index_jump (SetMargins) ----
    for base in ["set_open_interest_cap", "set_index_jump"] {
        v.extend([
            r(base, "risk_authority", Unsigned, a(A::AccountNotSigner)),
            r(base, "risk_authority", Impostor, p(P::NotRiskAuthority)),
            r(base, "risk_authority", SignAs(Who::Admin), p(P::NotRiskAuthority)),
            r(base, "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
            r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotRiskAuthority)),
            r(base, "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "market", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
            r(base, "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
            r(base, "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
            r(base, "market", ReadOnly, a(A::ConstraintMut)),
        ]);
    }
    // ---- deposit_insurance (anyone) / withdraw_insurance (admin): InsuranceTransfer ----
    for base in ["deposit_insurance", "withdraw_insurance"] {
        v.extend([
            r(base, "authority", Unsigned, a(A::AccountNotSigner)),
            r(base, "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
            r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongAccount)),
            r(base, "exchange", ReadOnly, a(A::ConstraintMut)),
            r(base, "vault", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "vault", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
            r(base, "vault", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
            r(base, "vault", Swap(K::WrongExchange, S::Vault2), p(P::WrongAccount)),
            r(base, "vault", ReadOnly, a(A::ConstraintMut)),
            r(base, "vault", DupOf("token_account"), a(A::ConstraintDuplicateMutableAccount)),
            r(base, "token_account", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "token_account", Swap(K::WrongOwner, S::Missing), a(A::AccountNotInitialized)),
            r(base, "token_account", Swap(K::WrongOwner, S::SystemWallet), a(A::AccountOwnedByWrongProgram)),
            r(base, "token_account", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
            r(base, "token_account", Swap(K::WrongAddress, S::Token2), p(P::WrongMint)),
            r(base, "token_account", ReadOnly, a(A::ConstraintMut)),
            r(base, "token_account", DupOf("vault"), a(A::ConstraintDuplicateMutableAccount)),
            r(base, "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
            r(base, "collateral_mint", Swap(K::WrongAddress, S::Mint2), p(P::WrongMint)),
            r(base, "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
        ]);
    }
    v.extend([
        r("deposit_insurance", "authority", Impostor, token_err(TokenError::OwnerMismatch)).note("SPL token transfer authority"),
        r("withdraw_insurance", "authority", Impostor, p(P::NotAdmin)),
        r("withdraw_insurance", "authority", SignAs(Who::Deleverage), p(P::NotAdmin)),
        r("withdraw_insurance", "authority", SignAs(Who::Guardian), p(P::NotAdmin)),
        // ---- liquidate (takeover): lq is below maintenance, lr takes over ----
        r("liquidate", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("liquidate", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("liquidate", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("liquidate", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("liquidate", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("liquidate", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("liquidate", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("liquidate", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::MarketInFinalSettlement)),
        r("liquidate", "market", ReadOnly, a(A::ConstraintMut)),
        r("liquidate", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("liquidate", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("liquidate", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("liquidate", "liquidatee", ForeignOwner, p(P::WrongOwner)),
        r("liquidate", "liquidatee", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("liquidate", "liquidatee", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("liquidate", "liquidatee", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("liquidate", "liquidatee", ReadOnly, a(A::ConstraintMut)),
        r("liquidate", "liquidatee", DupOf("market"), p(P::DuplicateAccount)),
        r("liquidate", "liquidator", ForeignOwner, p(P::WrongOwner)),
        r("liquidate", "liquidator", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("liquidate", "liquidator", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("liquidate", "liquidator", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("liquidate", "liquidator", Swap(K::WrongAddress, S::OtherMargin), p(P::NotOwnerOrDelegate)),
        r("liquidate", "liquidator", ReadOnly, a(A::ConstraintMut)),
        r("liquidate", "liquidator", DupOf("liquidatee"), p(P::SelfLiquidation)),
        r("liquidate", "liquidator", DupOf("market"), p(P::DuplicateAccount)),
        r("liquidate", "liquidator_authority", Unsigned, a(A::AccountNotSigner)),
        r("liquidate", "liquidator_authority", Impostor, p(P::NotOwnerOrDelegate)),
        r("liquidate", "liquidator_authority", SignAs(Who::Delegate), p(P::NotOwnerOrDelegate)),
    ]);
    health_rows("liquidate", &mut v);
    // ---- mark_underwater (anyone) / cover_with_insurance (deleveraging authority): CheckAccount ----
    for base in ["mark_underwater", "cover_with_insurance"] {
        v.extend([
            r(base, "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
            r(base, "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
            r(base, "exchange", ReadOnly, a(A::ConstraintMut)),
            r(base, "margin_account", ForeignOwner, p(P::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
            r(base, "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
            r(base, "margin_account", ReadOnly, a(A::ConstraintMut)),
            r(base, "authority", Unsigned, a(A::AccountNotSigner)),
        ]);
        health_rows(base, &mut v);
    }
    v.extend([
        // cover_with_insurance checks the authority against the exchange before the account.
        r("mark_underwater", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("cover_with_insurance", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::DeleverageNotAllowed)),
        // The exchange is read (not borrowed) when mark_underwater loads the account.
        r("mark_underwater", "margin_account", DupOf("exchange"), p(P::NotMarginAccount)),
        r("cover_with_insurance", "margin_account", DupOf("exchange"), p(P::DuplicateAccount)),
        r("cover_with_insurance", "authority", Impostor, p(P::DeleverageNotAllowed)),
        r("cover_with_insurance", "authority", SignAs(Who::Admin), p(P::DeleverageNotAllowed)),
        // ---- deleverage (phase 1: the insurance fund is empty) ----
        r("deleverage", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deleverage", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("deleverage", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("deleverage", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("deleverage", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("deleverage", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("deleverage", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::MarketInFinalSettlement)),
        r("deleverage", "market", ReadOnly, a(A::ConstraintMut)),
        r("deleverage", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("deleverage", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("deleverage", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("deleverage", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("deleverage", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("deleverage", "margin_account", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("deleverage", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("deleverage", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("deleverage", "margin_account", DupOf("market"), p(P::DuplicateAccount)),
        r("deleverage", "counterparty", ForeignOwner, p(P::WrongOwner)),
        r("deleverage", "counterparty", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("deleverage", "counterparty", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("deleverage", "counterparty", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("deleverage", "counterparty", Swap(K::WrongAddress, S::EmptyMargin), p(P::InvalidCounterparty)),
        r("deleverage", "counterparty", ReadOnly, a(A::ConstraintMut)),
        r("deleverage", "counterparty", DupOf("margin_account"), p(P::SelfLiquidation)),
        r("deleverage", "counterparty", DupOf("market"), p(P::DuplicateAccount)),
        r("deleverage", "authority", Unsigned, a(A::AccountNotSigner)),
        r("deleverage", "authority", Impostor, p(P::DeleverageNotAllowed)),
        r("deleverage", "authority", SignAs(Who::Admin), p(P::DeleverageNotAllowed)),
    ]);
    health_rows("deleverage", &mut v);
    v.extend([
        // ---- early_deleverage: trader only; the book's early_deleverage reaches it (rows
        // under book.early_deleverage); a direct call cannot carry the trader PDA's signature ----
        r("early_deleverage:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("early_deleverage:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
        // ---- final_settle_market ----
        r("final_settle_market", "admin", Unsigned, a(A::AccountNotSigner)),
        r("final_settle_market", "admin", Impostor, p(P::NotAdmin)),
        r("final_settle_market", "admin", SignAs(Who::Risk), p(P::NotAdmin)),
        r("final_settle_market", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("final_settle_market", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("final_settle_market", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::NotAdmin)),
        r("final_settle_market", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("final_settle_market", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("final_settle_market", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("final_settle_market", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::MarketInFinalSettlement)),
        r("final_settle_market", "market", ReadOnly, a(A::ConstraintMut)),
        r("final_settle_market", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("final_settle_market", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("final_settle_market", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        // ---- settle_final_position (anyone) ----
        r("settle_final_position", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("settle_final_position", "market", Swap(K::WrongOwner, S::Missing), a(A::AccountOwnedByWrongProgram)),
        r("settle_final_position", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("settle_final_position", "market", Swap(K::WrongAddress, S::Market), p(P::MarketNotSettled)),
        r("settle_final_position", "market", ReadOnly, a(A::ConstraintMut)),
        r("settle_final_position", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("settle_final_position", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("settle_final_position", "margin_account", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("settle_final_position", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("settle_final_position", "margin_account", Swap(K::WrongAddress, S::EmptyMargin), p(P::NoPositionInMarket)),
        r("settle_final_position", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("settle_final_position", "margin_account", DupOf("market"), p(P::DuplicateAccount)),
        // ---- close_market (anyone): rent and deposit go to the lister ----
        r("close_market", "lister", Swap(K::WrongAddress, S::SystemWallet), p(P::WrongAccount)),
        r("close_market", "lister", ReadOnly, a(A::ConstraintMut)),
        r("close_market", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("close_market", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("close_market", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("close_market", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("close_market", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("close_market", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        // FIN is settled but still has a position; its lister (the admin) differs first.
        r("close_market", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::WrongAccount)),
        r("close_market", "market", ReadOnly, a(A::ConstraintMut)),
        r("close_market", "book", ForeignOwner, p(P::WrongAccount)),
        r("close_market", "book", Swap(K::WrongType, S::Market), p(P::WrongAccount)),
        r("close_market", "vault", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("close_market", "vault", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("close_market", "vault", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
        r("close_market", "vault", Swap(K::WrongExchange, S::Vault2), p(P::WrongAccount)),
        r("close_market", "vault", ReadOnly, a(A::ConstraintMut)),
        r("close_market", "vault", DupOf("lister_token"), a(A::ConstraintDuplicateMutableAccount)),
        r("close_market", "lister_token", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("close_market", "lister_token", Swap(K::WrongType, S::Mint), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("close_market", "lister_token", Swap(K::WrongAddress, S::Token2), p(P::WrongMint)),
        r("close_market", "lister_token", Swap(K::WrongAddress, S::TokenAccount), p(P::WrongAccount)),
        r("close_market", "lister_token", ReadOnly, a(A::ConstraintMut)),
        r("close_market", "lister_token", DupOf("vault"), a(A::ConstraintDuplicateMutableAccount)),
        r("close_market", "collateral_mint", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("close_market", "collateral_mint", Swap(K::WrongType, S::TokenAccount), ix_err(InstructionError::InvalidAccountData)).note("spl unpack"),
        r("close_market", "collateral_mint", Swap(K::WrongAddress, S::Mint2), p(P::WrongMint)),
        r("close_market", "token_program", Swap(K::WrongProgram, S::SystemProgram), a(A::InvalidProgramId)),
        // ---- record_mark_sample / register_book: trader only, through the book (rows under
        // book.sample_mark / book.create_book); direct calls cannot carry the PDA's signature ----
        r("record_mark_sample:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("record_mark_sample:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
        r("register_book:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("register_book:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
        // ---- record_mark_sample / register_book through the relay: perpetual's own checks of
        // the accounts the book checks first ----
        r("record_mark_sample:relay", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("record_mark_sample:relay", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("record_mark_sample:relay", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("record_mark_sample:relay", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("record_mark_sample:relay", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("record_mark_sample:relay", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("record_mark_sample:relay", "approval", Swap(K::WrongAddress, S::BookApproval), p(P::WrongTraderAuthority)),
        r("record_mark_sample:relay", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("record_mark_sample:relay", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("record_mark_sample:relay", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("record_mark_sample:relay", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::MarketInFinalSettlement)),
        r("record_mark_sample:relay", "market", ReadOnly, a(A::ConstraintMut)),
        r("record_mark_sample:relay", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("record_mark_sample:relay", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("record_mark_sample:relay", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("register_book:relay", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("register_book:relay", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("register_book:relay", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("register_book:relay", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("register_book:relay", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("register_book:relay", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("register_book:relay", "approval", Swap(K::WrongAddress, S::BookApproval), p(P::WrongTraderAuthority)),
        r("register_book:relay", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("register_book:relay", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("register_book:relay", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("register_book:relay", "market", ReadOnly, a(A::ConstraintMut)),
        // ---- early_deleverage through the relay ----
        r("early_deleverage:relay", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("early_deleverage:relay", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("early_deleverage:relay", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("early_deleverage:relay", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("early_deleverage:relay", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("early_deleverage:relay", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("early_deleverage:relay", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("early_deleverage:relay", "approval", Swap(K::WrongAddress, S::BookApproval), p(P::WrongTraderAuthority)),
        r("early_deleverage:relay", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("early_deleverage:relay", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("early_deleverage:relay", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("early_deleverage:relay", "market", Swap(K::WrongAddress, S::SettledMarket), p(P::MarketInFinalSettlement)),
        r("early_deleverage:relay", "market", ReadOnly, a(A::ConstraintMut)),
        r("early_deleverage:relay", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("early_deleverage:relay", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("early_deleverage:relay", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("early_deleverage:relay", "margin_account", ForeignOwner, p(P::WrongOwner)),
        r("early_deleverage:relay", "margin_account", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("early_deleverage:relay", "margin_account", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("early_deleverage:relay", "margin_account", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("early_deleverage:relay", "margin_account", Swap(K::WrongAddress, S::EmptyMargin), p(P::NoPositionInMarket)),
        r("early_deleverage:relay", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("early_deleverage:relay", "margin_account", DupOf("market"), p(P::DuplicateAccount)),
        r("early_deleverage:relay", "counterparty", ForeignOwner, p(P::WrongOwner)),
        r("early_deleverage:relay", "counterparty", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("early_deleverage:relay", "counterparty", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("early_deleverage:relay", "counterparty", Swap(K::WrongAddress, S::EmptyMargin), p(P::InvalidCounterparty)),
        r("early_deleverage:relay", "counterparty", ReadOnly, a(A::ConstraintMut)),
        r("early_deleverage:relay", "counterparty", DupOf("margin_account"), p(P::SelfLiquidation)),
        r("early_deleverage:relay", "authority", Unsigned, a(A::AccountNotSigner)),
        r("early_deleverage:relay", "authority", Impostor, p(P::DeleverageNotAllowed)),
        r("early_deleverage:relay", "authority", SignAs(Who::Admin), p(P::DeleverageNotAllowed)),
    ]);
    health_rows("early_deleverage:relay", &mut v);
    v.extend([
        // ---- release_reservations: trader only, through the relay (no workspace program calls it) ----
        r("release_reservations", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("release_reservations", "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r("release_reservations", "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r("release_reservations", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("release_reservations", "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r("release_reservations", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("release_reservations", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("release_reservations", "approval", Swap(K::WrongAddress, S::BookApproval), p(P::WrongTraderAuthority)),
        r("release_reservations", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("release_reservations", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("release_reservations", "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        r("release_reservations", "market", ReadOnly, a(A::ConstraintMut)),
        r("release_reservations", "account[0]", ForeignOwner, p(P::WrongOwner)),
        r("release_reservations", "account[0]", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("release_reservations", "account[0]", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("release_reservations", "account[0]", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("release_reservations", "account[0]", ReadOnly, p(P::AccountNotWritable)),
        r("release_reservations", "account[0]", DupOf("market"), p(P::DuplicateAccount)),
        // A release whose maker index names no remaining account.
        r("release_reservations:no_account", "account[0]", Variant(K::Remaining), p(P::MakerIndexOutOfRange)),
        r("release_reservations:direct", "trader_authority", Unsigned, a(A::AccountNotSigner)),
        r("release_reservations:direct", "trader_authority", Impostor, p(P::WrongTraderAuthority)),
    ]);
    v.extend(book_rows());
    v
}


/// The order book's rows.
fn book_rows() -> Vec<Row> {
    use AnchorError as A;
    use BookError as B;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = vec![
        // ---- create_book: the market's lister or the admin; registers the book in perpetual ----
        r("book.create_book", "authority", Unsigned, a(A::AccountNotSigner)),
        r("book.create_book", "authority", Impostor, ob(B::NotAdmin)),
        r("book.create_book", "authority", SignAs(Who::Risk), ob(B::NotAdmin)),
        r("book.create_book", "payer", Unsigned, a(A::AccountNotSigner)),
        r("book.create_book", "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("book.create_book", "exchange", Swap(K::WrongType, S::Market), a(A::AccountDiscriminatorMismatch)),
        r("book.create_book", "exchange", Swap(K::WrongExchange, S::Exchange2), ob(B::WrongExchange)),
        r("book.create_book", "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("book.create_book", "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r("book.create_book", "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongExchange)),
        r("book.create_book", "book", DupOf("market"), a(A::ConstraintZero)),
        r("book.create_book", "market", ReadOnly, a(A::ConstraintMut)),
        r("book.create_book", "book", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        // Anchor's `zero` reads the discriminator before it checks the owner.
        r("book.create_book", "book", Swap(K::WrongOwner, S::SystemWallet), a(A::AccountDidNotDeserialize)),
        r("book.create_book", "book", Swap(K::WrongType, S::Market), a(A::ConstraintZero)),
        r("book.create_book", "book", Swap(K::WrongType, S::Book), a(A::ConstraintZero)),
        r("book.create_book", "book", ReadOnly, a(A::ConstraintMut)),
        r("book.create_book", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("book.create_book", "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r("book.create_book", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("book.create_book", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("book.create_book", "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
        r("book.create_book", "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        // A market that already has a book: perpetual's register_book refuses a second.
        r("book.create_book:registered", "market", Reinit, p(P::BookAlreadyRegistered)),
    ];
    // ---- the order instructions (OrderAccounts) ----
    for base in ["book.place_order", "book.cancel_order", "book.cancel_order_by_client_id", "book.cancel_all_orders", "book.replace_order", "book.liquidate_order"] {
        v.extend([
            r(base, "book", ForeignOwner, ob(B::WrongOwner)),
            r(base, "book", Swap(K::WrongOwner, S::SystemWallet), ob(B::WrongOwner)),
            r(base, "book", Swap(K::WrongType, S::ZeroBook), ob(B::InvalidBookData)),
            r(base, "book", Swap(K::WrongType, S::Market), ob(B::WrongOwner)),
            r(base, "book", ReadOnly, a(A::ConstraintMut)),
            r(base, "authority", Unsigned, a(A::AccountNotSigner)),
            r(base, "margin_account", ForeignOwner, ob(B::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongOwner, S::Missing), ob(B::WrongOwner)),
            r(base, "margin_account", Swap(K::WrongType, S::OtherOracle), ob(B::NotMarginAccount)),
            r(base, "margin_account", Swap(K::WrongExchange, S::Margin2), ob(B::WrongExchange)),
            r(base, "margin_account", ReadOnly, a(A::ConstraintMut)),
            r(base, "market", ReadOnly, a(A::ConstraintMut)),
            r(base, "approval", ForeignOwner, p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
            r(base, "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
            r(base, "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        ]);
        // The book checks the exchange against the margin account's (liquidate_order checks
        // the book's first).
        let exchange_err = if base == "book.liquidate_order" { ob(B::WrongBook) } else { ob(B::WrongExchange) };
        v.extend([
            r(base, "exchange", ForeignOwner, exchange_err.clone()),
            r(base, "exchange", Swap(K::WrongType, S::Market), exchange_err.clone()),
            r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), exchange_err),
        ]);
        if !base.starts_with("book.cancel") {
            // A cancel only shrinks the reservation; perpetual reads the oracle only for a
            // growth. The book maps perpetual's pricing errors to its own (`from_perp`).
            v.extend([
                r(base, "oracle", ForeignOwner, ob(B::WrongOracle)),
                r(base, "oracle", Swap(K::WrongType, S::OtherMarket), ob(B::WrongOracle)),
                r(base, "oracle", Swap(K::WrongAddress, S::OtherOracle), ob(B::WrongOracle)),
            ]);
        }
        if base != "book.liquidate_order" {
            v.extend([
                r(base, "book", Swap(K::WrongAddress, S::OtherBook), ob(B::WrongBook)),
                r(base, "market", ForeignOwner, ob(B::WrongBook)),
                r(base, "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
                r(base, "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
                r(base, "authority", Impostor, ob(B::NotOwnerOrDelegate)),
                r(base, "authority", SignAs(Who::Admin), ob(B::NotOwnerOrDelegate)),
                r(base, "margin_account", Swap(K::WrongAddress, S::OtherMargin), ob(B::NotOwnerOrDelegate)),
                r(base, "margin_account", DupOf("market"), ob(B::NotMarginAccount)),
            ]);
        }
    }
    health_rows("book.place_order", &mut v);
    health_rows("book.replace_order", &mut v);
    // A fabricated copy of the placer's account has another key, so it owns no order to replace.
    for row in v.iter_mut().filter(|r| r.base == "book.replace_order") {
        if let Case::Health(HealthMut::FabricatedOtherExchange | HealthMut::FabricatedForeignOwned | HealthMut::FabricatedNotMarket) = row.case {
            row.expect = ob(B::OrderNotFound);
            row.note = "the book: the fabricated account (another key) owns no order to replace";
        }
    }
    health_rows("book.liquidate_order", &mut v);
    v.extend([
        // A taker's fill-or-kill against one maker. The book reads every maker's reservation
        // epoch first, so anything but a margin account of this exchange is named; an
        // account that is not the resting order's owner is never matched, so the order
        // cannot fill.
        r("book.place_order:taker", "maker[0]", ForeignOwner, ob(B::InvalidMakerAccount)),
        r("book.place_order:taker", "maker[0]", Swap(K::WrongOwner, S::SystemWallet), ob(B::InvalidMakerAccount)),
        r("book.place_order:taker", "maker[0]", Swap(K::WrongType, S::OtherMarket), ob(B::InvalidMakerAccount)),
        r("book.place_order:taker", "maker[0]", Swap(K::WrongExchange, S::Margin2), ob(B::InvalidMakerAccount)),
        r("book.place_order:taker", "maker[0]", ReadOnly, ob(B::InvalidMakerAccount)),
        r("book.place_order:taker", "maker[0]", DupOf("margin_account"), ob(B::FillOrKillNotFilled)),
        // The liquidated account must hold a position in the book's market.
        r("book.liquidate_order", "margin_account", Swap(K::WrongAddress, S::EmptyMargin), ob(B::InvalidSize)),
        r("book.liquidate_order", "book", Swap(K::WrongAddress, S::Book), ob(B::WrongBook)),
        r("book.liquidate_order", "market", ForeignOwner, ob(B::WrongBook)),
        r("book.liquidate_order", "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r("book.liquidate_order", "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
        r("book.liquidate_order", "margin_account", DupOf("market"), ob(B::NotMarginAccount)),
        r("book.liquidate_order", "maker[0]", ForeignOwner, ob(B::InvalidMakerAccount)),
        r("book.liquidate_order", "maker[0]", ReadOnly, ob(B::InvalidMakerAccount)),
        // ---- sample_mark (anyone): perpetual's record_mark_sample through the book ----
        r("book.sample_mark", "book", ForeignOwner, ob(B::WrongOwner)),
        r("book.sample_mark", "book", Swap(K::WrongOwner, S::SystemWallet), ob(B::WrongOwner)),
        r("book.sample_mark", "book", Swap(K::WrongType, S::ZeroBook), ob(B::InvalidBookData)),
        r("book.sample_mark", "book", Swap(K::WrongAddress, S::OtherBook), ob(B::WrongBook)),
        r("book.sample_mark", "market", ForeignOwner, ob(B::WrongBook)),
        r("book.sample_mark", "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r("book.sample_mark", "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
        r("book.sample_mark", "market", ReadOnly, a(A::ConstraintMut)),
        r("book.sample_mark", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("book.sample_mark", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("book.sample_mark", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("book.sample_mark", "exchange", ForeignOwner, ob(B::WrongBook)),
        r("book.sample_mark", "exchange", Swap(K::WrongType, S::Market), ob(B::WrongBook)),
        r("book.sample_mark", "exchange", Swap(K::WrongExchange, S::Exchange2), ob(B::WrongBook)),
        r("book.sample_mark", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("book.sample_mark", "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r("book.sample_mark", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("book.sample_mark", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("book.sample_mark", "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
        r("book.sample_mark", "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        // ---- early_deleverage: the deleveraging authority, through the book ----
        r("book.early_deleverage", "book", ForeignOwner, ob(B::WrongOwner)),
        r("book.early_deleverage", "book", Swap(K::WrongOwner, S::SystemWallet), ob(B::WrongOwner)),
        r("book.early_deleverage", "book", Swap(K::WrongType, S::ZeroBook), ob(B::InvalidBookData)),
        r("book.early_deleverage", "book", Swap(K::WrongAddress, S::Book), ob(B::WrongBook)),
        r("book.early_deleverage", "market", ForeignOwner, ob(B::WrongBook)),
        r("book.early_deleverage", "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r("book.early_deleverage", "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
        r("book.early_deleverage", "market", ReadOnly, a(A::ConstraintMut)),
        r("book.early_deleverage", "oracle", ForeignOwner, p(P::WrongOracle)),
        r("book.early_deleverage", "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
        r("book.early_deleverage", "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        r("book.early_deleverage", "exchange", ForeignOwner, ob(B::WrongBook)),
        r("book.early_deleverage", "exchange", Swap(K::WrongType, S::Market), ob(B::WrongBook)),
        r("book.early_deleverage", "exchange", Swap(K::WrongExchange, S::Exchange2), ob(B::WrongBook)),
        r("book.early_deleverage", "exchange", ReadOnly, a(A::ConstraintMut)),
        r("book.early_deleverage", "approval", ForeignOwner, p(P::TraderNotApproved)),
        r("book.early_deleverage", "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r("book.early_deleverage", "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r("book.early_deleverage", "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r("book.early_deleverage", "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
        r("book.early_deleverage", "margin_account", ForeignOwner, ob(B::WrongOwner)),
        r("book.early_deleverage", "margin_account", Swap(K::WrongOwner, S::Missing), ob(B::WrongOwner)),
        r("book.early_deleverage", "margin_account", Swap(K::WrongType, S::OtherOracle), ob(B::NotMarginAccount)),
        r("book.early_deleverage", "margin_account", Swap(K::WrongExchange, S::Margin2), ob(B::WrongExchange)),
        r("book.early_deleverage", "margin_account", ReadOnly, a(A::ConstraintMut)),
        r("book.early_deleverage", "counterparty", ForeignOwner, p(P::WrongOwner)),
        r("book.early_deleverage", "counterparty", Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r("book.early_deleverage", "counterparty", Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r("book.early_deleverage", "counterparty", Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r("book.early_deleverage", "counterparty", Swap(K::WrongAddress, S::EmptyMargin), p(P::InvalidCounterparty)),
        r("book.early_deleverage", "counterparty", ReadOnly, a(A::ConstraintMut)),
        r("book.early_deleverage", "counterparty", DupOf("margin_account"), p(P::SelfLiquidation)),
        r("book.early_deleverage", "counterparty", DupOf("market"), p(P::DuplicateAccount)),
        r("book.early_deleverage", "authority", Unsigned, a(A::AccountNotSigner)),
        r("book.early_deleverage", "authority", Impostor, p(P::DeleverageNotAllowed)),
        r("book.early_deleverage", "authority", SignAs(Who::Admin), p(P::DeleverageNotAllowed)),
        r("book.early_deleverage", "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        // ---- close_book (anyone, after final settlement): rent to the creator ----
        r("book.close_book", "creator", Swap(K::WrongAddress, S::SystemWallet), ob(B::NotBookCreator)),
        r("book.close_book", "creator", DupOf("book"), a(A::AccountNotSystemOwned)),
        r("book.close_book", "creator", ReadOnly, a(A::ConstraintMut)),
        r("book.close_book", "book", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r("book.close_book", "book", Swap(K::WrongOwner, S::SystemWallet), a(A::AccountOwnedByWrongProgram)),
        r("book.close_book", "book", Swap(K::WrongType, S::ZeroBook), a(A::AccountDiscriminatorMismatch)),
        r("book.close_book", "book", Swap(K::WrongAddress, S::OtherBook), ob(B::WrongBook)),
        r("book.close_book", "book", ReadOnly, a(A::ConstraintMut)),
        r("book.close_book", "market", ForeignOwner, ob(B::WrongBook)),
        r("book.close_book", "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r("book.close_book", "market", Swap(K::WrongAddress, S::Market), ob(B::WrongBook)),
        // A book whose market is still active.
        r("book.close_book:active", "market", Variant(K::WrongAddress), ob(B::MarketNotSettled)),
    ]);
    health_rows("book.early_deleverage", &mut v);
    v
}

const READ_ONLY_PAYER: &str = "a read-only payer of `init`: refused by the runtime inside the system-program \
    CPI (PrivilegeEscalation on-chain); natively solana-program-test panics in its CPI stub \
    (ProgramFailedToComplete), so the row is not run";

/// Required (instruction, slot, kind) cells that have no row, and why.
const EXEMPT: &[(&str, &str, Kind, &str)] = &[
    ("initialize_exchange", "admin", Kind::Impostor, "anyone may initialize the exchange of a new mint; there is no authority to impersonate"),
    ("initialize_exchange", "admin", Kind::ReadOnly, READ_ONLY_PAYER),
    ("approve_trader", "admin", Kind::ReadOnly, READ_ONLY_PAYER),
    ("create_price_oracle", "authority", Kind::ReadOnly, READ_ONLY_PAYER),
    ("create_market", "admin", Kind::ReadOnly, READ_ONLY_PAYER),
    ("create_margin_account", "owner", Kind::ReadOnly, READ_ONLY_PAYER),
    ("settle_fills", "perpetual_program", Kind::WrongProgram, "the test trader's own account (address-checked by the relay)"),
    ("settle_fills", "trader_authority", Kind::WrongSeeds, "the test trader's PDA (seeds-checked by the relay); perpetual's checks are covered by settle_fills:direct"),
    ("update_reservation", "perpetual_program", Kind::WrongProgram, "the test trader's own account (address-checked by the relay)"),
    ("update_reservation", "trader_authority", Kind::WrongSeeds, "the test trader's PDA (seeds-checked by the relay); perpetual's checks are covered by update_reservation:direct"),
    ("list_market", "lister", Kind::ReadOnly, READ_ONLY_PAYER),
    ("mark_underwater", "authority", Kind::Impostor, "anyone may mark an account underwater (or clear the mark); there is no authority to impersonate"),
    ("release_reservations", "perpetual_program", Kind::WrongProgram, "the relay's own account (the program it calls)"),
    ("release_reservations", "trader_authority", Kind::WrongSeeds, "the relay's PDA (the relay signs for it by seeds); perpetual's checks are covered by release_reservations:direct"),
    ("book.create_book", "payer", Kind::Impostor, "any co-signer the authority chooses pays and is recorded as the rent recipient; there is no role to impersonate"),
    ("book.liquidate_order", "authority", Kind::Impostor, "anyone may send a liquidation order; there is no authority to impersonate"),
    ("book.liquidate_order", "maker[0]", Kind::WrongType, "the book matches makers by key: an account that owns no resting order is never \
     matched, so the immediate-or-cancel liquidation fills nothing and changes nothing (no refusal, by design); \
     book.place_order:taker covers the same slot with a fill-or-kill, which is refused"),
    ("book.cancel_order", "oracle", Kind::WrongOwner, CANCEL_ORACLE),
    ("book.cancel_order", "oracle", Kind::WrongType, CANCEL_ORACLE),
    ("book.cancel_order_by_client_id", "oracle", Kind::WrongOwner, CANCEL_ORACLE),
    ("book.cancel_order_by_client_id", "oracle", Kind::WrongType, CANCEL_ORACLE),
    ("book.cancel_all_orders", "oracle", Kind::WrongOwner, CANCEL_ORACLE),
    ("book.cancel_all_orders", "oracle", Kind::WrongType, CANCEL_ORACLE),
    ("book.create_book", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.place_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.cancel_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.cancel_order_by_client_id", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.cancel_all_orders", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.replace_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.sample_mark", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.liquidate_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.early_deleverage", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
];

const CANCEL_ORACLE: &str = "not read: a cancel only shrinks the reservation, and perpetual's update_reservation \
    reads the oracle only when a reservation grows (documented on UpdateReservation::oracle); any account in the \
    slot is accepted and nothing is read from it (see the report)";

const BOOK_PDA: &str = "the book's `trader` PDA, which it does not check itself: it signs the perpetual CPI with \
    its own seeds, so any other account in the slot is an unsigned signer of the CPI, refused by the runtime \
    (PrivilegeEscalation on-chain); natively solana-program-test panics in its CPI stub, so the row is not run. \
    Perpetual's own check of the signature is covered by the `:direct` rows";

/// Perpetual's trader-only instructions that the order book calls: they are covered by the
/// rows of the book instruction (every row of which reaches, or is refused before, the CPI),
/// plus `:direct` rows for the trader signature the book supplies.
const VIA: &[(&str, &str)] = &[
    ("record_mark_sample", "book.sample_mark"),
    ("register_book", "book.create_book"),
    ("early_deleverage", "book.early_deleverage"),
];

/// Notes printed with the coverage.
const NOT_APPLICABLE: &[&str] = &[
    "non-canonical bump: n/a for every `init` PDA (exchange, vault, approval, oracle, market, margin account): \
     no instruction takes a bump from the user; Anchor derives the canonical bump with find_program_address \
     and the program stores it (the vault-signing bump is read back from the exchange account, never from input)",
    "wrong owner / wrong type for `init` slots: n/a (the account does not exist yet); covered by wrong seeds and re-init",
    "read-only `init` targets: not required (the system-program CPI refuses them, as it does a read-only payer)",
    "non-canonical bump, order book: n/a; the book's only PDA is its `trader` signer, whose bump create_book derives \
     with find_program_address and stores in the book; no instruction takes a bump from the user",
    "release_reservations: no program of the workspace calls it (the book releases reservations through \
     settle_fills' `releases`; orderbook::perp_cpi::release is dead code), so it is reached through a native relay \
     trader defined in this test and approved on the exchange",
    "a foreign account among the remaining accounts: instructions that read no remaining accounts ignore extras \
     by design; the rows cover every instruction that reads them (health accounts, makers, released accounts)",
];

// ---------------------------------------------------------------------------------------
// The prepared world
// ---------------------------------------------------------------------------------------

struct Base {
    key: &'static str,
    ix: Instruction,
    slots: Vec<String>,
    /// Whether the unmutated instruction must succeed (checked by simulation). Variants that
    /// re-initialise, and direct calls that need a CPI signature, are not.
    valid: bool,
    /// Index of the first health account, and the slot of the margin account they price.
    health: Option<(usize, &'static str)>,
    /// (market, oracle) the instruction itself takes, for `IncludeOwnMarket`.
    own_market: Option<(Pubkey, Pubkey)>,
    /// Rows run in phases; between them the world changes (phase 1: the insurance fund is
    /// emptied, which deleveraging requires).
    phase: u8,
    /// A variant whose own slots the coverage check also requires rows for.
    cover: bool,
}

impl Base {
    fn index(&self, slot: &str) -> usize {
        self.slots.iter().position(|s| s == slot).unwrap_or_else(|| panic!("{}: no slot {slot} in {:?}", self.key, self.slots))
    }
}

struct World {
    env: TestEnv,
    sol: MarketCookie,
    eth: MarketCookie,
    a: UserCookie,
    m: UserCookie,
    empty: UserCookie,
    delegate: Keypair,
    pending: Keypair,
    mallory: Keypair,
    wallet: Keypair,
    admin2: Keypair,
    mint2: Pubkey,
    mint3: Pubkey,
    exchange2: Pubkey,
    market2: Pubkey,
    margin2: Pubkey,
    approval2: Pubkey,
    approval_other: Pubkey,
    token2: Pubkey,
    missing: Pubkey,
    /// Clones owned by another program, by original key.
    clones: HashMap<Pubkey, Pubkey>,
    /// Fabricated margin accounts, by (original, market replaced, replacement).
    fabricated: HashMap<(Pubkey, Pubkey, Pubkey), Pubkey>,
    x: Extra,
}

/// The accounts of the instructions added after the first 24.
struct Extra {
    /// Maker of the small positions everyone below holds in SOL and ETH.
    mk: UserCookie,
    /// The BOOK market's book: `b` rests a bid (key `b_key`, client id 7), `bm` an ask.
    bk: BookCookie,
    b: UserCookie,
    b_key: u128,
    bm: UserCookie,
    /// The RSK market ($0.85 after a fall from $1) and its book (`bd` bids 1 lot at 0.85).
    rsk: BookCookie,
    /// Long 150 RSK: below maintenance, not underwater.
    lq: UserCookie,
    /// Long 100 RSK: underwater.
    uw: UserCookie,
    /// Short both: the counterparty.
    cp: UserCookie,
    /// A liquidator without positions.
    lr: UserCookie,
    bd: UserCookie,
    keeper: Keypair,
    /// FIN: in final settlement; `fl` is still long.
    fin: MarketCookie,
    fl: UserCookie,
    /// CLOS: listed by `lister`, settled, empty; its book was paid by `creator`.
    clos: BookCookie,
    lister: Keypair,
    lister_token: Pubkey,
    creator: Keypair,
    pyth: Pubkey,
    pyth_garbage: Pubkey,
    admin_token: Pubkey,
    /// A zeroed account the size of a (16, 16) book, owned by the order book.
    zero_book: Pubkey,
}

/// The owner of the foreign-owned clones: another program.
const FOREIGN_OWNER: Pubkey = test_trader::ID;

async fn create_mint(env: &mut TestEnv) -> Pubkey {
    let mint = Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let rent = env.ctx.banks_client.get_rent().await.unwrap();
    let space = spl_token_interface::state::Mint::LEN;
    let ixs = [
        solana_system_interface::instruction::create_account(&payer, &mint.pubkey(), rent.minimum_balance(space), space as u64, &spl_token_interface::ID),
        spl_token_interface::instruction::initialize_mint2(&spl_token_interface::ID, &mint.pubkey(), &env.mint_authority.pubkey(), None, COLLATERAL_DECIMALS).unwrap(),
    ];
    env.process(&ixs, &[&mint]).await.expect("create mint");
    mint.pubkey()
}

async fn create_token_account(env: &mut TestEnv, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
    let account = Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let rent = env.ctx.banks_client.get_rent().await.unwrap();
    let space = spl_token_interface::state::Account::LEN;
    let ixs = [
        solana_system_interface::instruction::create_account(&payer, &account.pubkey(), rent.minimum_balance(space), space as u64, &spl_token_interface::ID),
        spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, &account.pubkey(), mint, owner).unwrap(),
    ];
    env.process(&ixs, &[&account]).await.expect("token account");
    account.pubkey()
}

async fn funded(env: &mut TestEnv) -> Keypair {
    let k = Keypair::new();
    env.airdrop(&k.pubkey(), 100_000_000_000).await;
    k
}

async fn world() -> World {
    let mut pt = TestEnv::program_test();
    pt.add_program("relay", RELAY_ID, solana_program_test::processor!(relay_entry));
    let mut env = TestEnv::with_program_test(pt).await;
    let sol = env.create_market("SOL", PRICE).await;
    let eth = env.create_market("ETH", PRICE).await;
    let btc = env.create_market("BTC", PRICE).await;
    let a = env.funded_user(1_000 * ONE_USDC).await;
    let m = env.funded_user(10_000 * ONE_USDC).await;
    let empty = env.create_user(0).await;
    // `a` holds positions in SOL, ETH and BTC (slots 0, 1, 2); the maker rests asks in SOL.
    for market in [sol, eth, btc] {
        env.trade(&a, &m, &market, Side::Bid, 10, PRICE as u64).await.expect("trade");
    }
    env.reserve(&m, &sol, 0, 10).await.expect("maker asks");

    // Tokens left in `a`'s wallet for the deposit.
    let mint_authority = env.mint_authority.insecure_clone();
    let ix = spl_token_interface::instruction::mint_to(&spl_token_interface::ID, &env.mint, &a.token_account, &mint_authority.pubkey(), &[], 10 * ONE_USDC).unwrap();
    env.process(&[ix], &[&mint_authority]).await.expect("mint to a");

    let delegate = Keypair::new();
    let ix = sdk::set_delegate(&a.key(), &env.exchange, &a.margin_account, delegate.pubkey());
    env.process(&[ix], &[&a.owner]).await.expect("delegate");
    let pending = Keypair::new();
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::propose_admin(&admin.pubkey(), &env.exchange, pending.pubkey())], &[&admin]).await.expect("propose");
    let mallory = funded(&mut env).await;
    let wallet = funded(&mut env).await;

    // A second exchange (its own mint, admin and authorities) with a market on the same
    // oracle as SOL, a margin account of `a` and the test trader approved.
    let admin2 = funded(&mut env).await;
    let mint2 = create_mint(&mut env).await;
    let args = InitializeExchangeArgs { funding_authority: Pubkey::new_unique(), risk_authority: Pubkey::new_unique(), pause_guardian: Pubkey::new_unique(), deleverage_authority: Pubkey::new_unique() };
    env.process(&[sdk::initialize_exchange(&admin2.pubkey(), &mint2, args)], &[&admin2]).await.expect("exchange 2");
    let exchange2 = sdk::exchange_address(&mint2);
    env.process(&[sdk::approve_trader(&admin2.pubkey(), &exchange2, &test_trader::ID)], &[&admin2]).await.expect("approve 2");
    let approval2 = sdk::approval_address(&exchange2, &test_trader::ID);
    env.process(&[sdk::create_market(&admin2.pubkey(), &exchange2, &sol.oracle, market_args("SOL", OracleKind::SetPrice))], &[&admin2])
        .await
        .expect("market 2");
    let market2 = sdk::market_address(&exchange2, &sdk::symbol("SOL"));
    env.process(&[sdk::create_margin_account(&a.key(), &exchange2, 0, 16)], &[&a.owner]).await.expect("margin 2");
    let margin2 = sdk::margin_account_address(&exchange2, &a.key(), 0);
    let token2 = create_token_account(&mut env, &mint2, &a.key()).await;
    // Another executable program approved on the main exchange.
    env.process(&[sdk::approve_trader(&admin.pubkey(), &env.exchange, &spl_token_interface::ID)], &[&admin]).await.expect("approve other");
    let approval_other = sdk::approval_address(&env.exchange, &spl_token_interface::ID);
    let mint3 = create_mint(&mut env).await;
    // Fresh prices for every market (and, through SOL's oracle, for market 2).
    for market in [sol, eth, btc] {
        env.set_price(&market, PRICE).await;
    }
    let x = extra_world(&mut env, sol, eth).await;
    World {
        env,
        sol,
        eth,
        a,
        m,
        empty,
        delegate,
        pending,
        mallory,
        wallet,
        admin2,
        mint2,
        mint3,
        exchange2,
        market2,
        margin2,
        approval2,
        approval_other,
        token2,
        missing: Pubkey::new_unique(),
        clones: HashMap::new(),
        fabricated: HashMap::new(),
        x,
    }
}

const ZERO_BOOK_ARGS: CreateBookArgs = CreateBookArgs { tick_size: TICK, min_base_lots: 1, side_capacity: 16, seat_capacity: 16, max_orders_per_account: 16 };
const LISTING_DEPOSIT: u64 = 5 * ONE_USDC;

/// A book for `market` signed by `authority`, its account paid for by `payer`.
async fn book_paid_by(env: &mut TestEnv, market: &MarketCookie, authority: &Keypair, payer: &Keypair) -> BookCookie {
    let book = Keypair::new();
    let args = book_args(64, 64);
    let space = orderbook::state::Book::space(args.side_capacity, args.seat_capacity);
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
    let ixs = orderbook::sdk::create_book(&payer.pubkey(), &authority.pubkey(), &env.exchange, &market.market, &book.pubkey(), rent, args);
    env.process(&ixs, &[authority, payer, &book]).await.expect("create book");
    let cookie = BookCookie { venue: orderbook::sdk::Venue { book: book.pubkey(), market: market.market, oracle: market.oracle, exchange: env.exchange }, market: *market };
    env.books.push(cookie);
    cookie
}

async fn extra_world(env: &mut TestEnv, sol: MarketCookie, eth: MarketCookie) -> Extra {
    let admin = env.admin.insecure_clone();
    let p = PRICE as u64;
    env.process(&[sdk::approve_trader(&admin.pubkey(), &env.exchange, &RELAY_ID)], &[&admin]).await.expect("approve the relay");
    let mk = env.funded_user(100_000 * ONE_USDC).await;

    // BOOK: b rests a bid (client id 7), bm an ask.
    let bk = env.market_with_book("BOOK", 64).await;
    let b = env.funded_user(1_000 * ONE_USDC).await;
    for market in [sol, eth] {
        env.trade(&b, &mk, &market, Side::Bid, 1, p).await.expect("b's small positions");
    }
    let mut args = order(BookSide::Bid, 95, 2, OrderType::PostOnly);
    args.client_order_id = 7;
    let b_key = env.place(&b, &bk, args, &[]).await.expect("b rests a bid").key;
    assert_ne!(b_key, 0);
    let bm = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&bm, &bk, BookSide::Ask, 105, 5).await;

    // RSK: lq and uw long against cp at $1, then the price falls to $0.85.
    let creator = funded(env).await;
    let mut margs = market_args("RSK", OracleKind::SetPrice);
    margs.price_band_bps = 2_500;
    let rsk_market = env.create_market_with(margs, PRICE).await;
    let rsk = book_paid_by(env, &rsk_market, &admin, &creator).await;
    let cp = env.funded_user(10_000 * ONE_USDC).await;
    let lq = env.funded_user(25 * ONE_USDC).await;
    let uw = env.funded_user(12 * ONE_USDC).await;
    for u in [&lq, &uw] {
        for market in [sol, eth] {
            env.trade(u, &mk, &market, Side::Bid, 1, p).await.expect("small positions");
        }
    }
    env.trade(&lq, &cp, &rsk_market, Side::Bid, 150, p).await.expect("lq long");
    env.trade(&uw, &cp, &rsk_market, Side::Bid, 100, p).await.expect("uw long");
    let lr = env.funded_user(1_000 * ONE_USDC).await;
    let bd = env.funded_user(1_000 * ONE_USDC).await;
    let keeper = funded(env).await;

    // Insurance: 100 USDC; the admin's token account for withdrawals.
    let insurer = env.create_user(100 * ONE_USDC).await;
    let ix = sdk::deposit_insurance(&insurer.key(), &env.exchange, &env.mint, &insurer.token_account, 100 * ONE_USDC);
    env.process(&[ix], &[&insurer.owner]).await.expect("insurance");
    let admin_token = env.create_token_account(&admin.pubkey(), 0).await;

    // FIN: fl long 1 lot, then final settlement at $1.
    let fin = env.create_market("FIN", PRICE).await;
    let fl = env.funded_user(100 * ONE_USDC).await;
    env.trade(&fl, &mk, &fin, Side::Bid, 1, p).await.expect("fl long");
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &fin.market, &fin.oracle, p, p);
    env.process(&[ix], &[&admin]).await.expect("settle FIN");

    // CLOS: listed on a Pyth feed, its book paid by `creator`, settled with nothing open.
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, LISTING_DEPOSIT)], &[&admin]).await.expect("deposit");
    // Proposal 0, for cancel_proposal (the exchange stays in bootstrap: no time lock).
    let proposal = governance::payload(governance::GovAction::SetListingDeposit, &env.exchange, &LISTING_DEPOSIT);
    env.process(&[sdk::queue_proposal(&admin.pubkey(), &env.exchange, 0, proposal)], &[&admin]).await.expect("proposal 0");
    let lister = funded(env).await;
    let lister_token = env.create_token_account(&lister.pubkey(), 2 * LISTING_DEPOSIT).await;
    let pyth = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&pyth, PRICE, 0, -6, now, PriceStatus::Trading);
    let largs = ListMarketArgs { symbol: sdk::symbol("CLOS"), oracle_kind: OracleKind::PythLegacy, base_decimals: 6, base_lot_size: 1_000_000, initial_price_per_lot: p };
    let clos_market = env.list_market(&lister, &lister_token, pyth, largs).await.expect("listing");
    let clos = book_paid_by(env, &clos_market, &lister, &creator).await;
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &clos_market.market, &pyth, p, p);
    env.process(&[ix], &[&admin]).await.expect("settle CLOS");
    let pyth_garbage = Pubkey::new_unique();
    let garbage = Account { lamports: 1_000_000_000, data: vec![7; 3_312], owner: integration_tests::pyth::PYTH_PROGRAM, executable: false, rent_epoch: 0 };
    env.ctx.set_account(&pyth_garbage, &garbage.into());

    // A zeroed account for create_book.
    let zero = Keypair::new();
    let space = orderbook::state::Book::space(ZERO_BOOK_ARGS.side_capacity, ZERO_BOOK_ARGS.seat_capacity);
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
    let payer = env.ctx.payer.pubkey();
    let ix = solana_system_interface::instruction::create_account(&payer, &zero.pubkey(), rent, space as u64, &orderbook::ID);
    env.process(&[ix], &[&zero]).await.expect("zeroed book account");

    // The fall, then a thin bid in RSK's book.
    env.set_price(&rsk_market, 850_000).await;
    env.rest(&bd, &rsk, BookSide::Bid, 85, 1).await;
    Extra { mk, bk, b, b_key, bm, rsk, lq, uw, cp, lr, bd, keeper, fin, fl, clos, lister, lister_token, creator, pyth, pyth_garbage, admin_token, zero_book: zero.pubkey() }
}

fn names(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn health_names(prefix: &[&str], n: usize) -> Vec<String> {
    let mut v = names(prefix);
    v.extend((0..n).map(|i| format!("health[{i}]")));
    v
}

fn base(key: &'static str, ix: Instruction, slots: Vec<String>) -> Base {
    Base { key, ix, slots, valid: true, health: None, own_market: None, phase: 0, cover: false }
}

async fn bases(w: &mut World) -> Vec<Base> {
    let env = &mut w.env;
    let (exchange, mint) = (env.exchange, env.mint);
    let admin = env.admin.pubkey();
    let guardian = env.guardian.pubkey();
    let risk = env.risk_authority.pubkey();
    let funding = env.funding_authority.pubkey();
    let oracle_auth = env.oracle_authority.pubkey();
    let (sol, a, m) = (w.sol, &w.a, &w.m);
    let owner = a.key();
    let mut v = Vec::new();

    let init_args = InitializeExchangeArgs { funding_authority: funding, risk_authority: risk, pause_guardian: guardian, deleverage_authority: Pubkey::new_unique() };
    let init_slots = names(&["admin", "exchange", "collateral_mint", "vault", "token_program", "system_program"]);
    v.push(base("initialize_exchange", sdk::initialize_exchange(&w.admin2.pubkey(), &w.mint3, init_args), init_slots.clone()));
    v.push(Base { valid: false, ..base("initialize_exchange:reinit", sdk::initialize_exchange(&w.admin2.pubkey(), &mint, init_args), init_slots) });

    let auth_args = SetAuthoritiesArgs { funding_authority: Some(Pubkey::new_unique()), risk_authority: None, pause_guardian: None, deleverage_authority: None };
    let proposal = governance::payload(governance::GovAction::SetListingDeposit, &exchange, &7u64);
    let queue_slots = names(&["admin", "exchange", "proposal", "system_program"]);
    v.push(base("queue_proposal", sdk::queue_proposal(&admin, &exchange, 1, proposal.clone()), queue_slots.clone()));
    // Proposal 0 exists: its address is no longer the next one.
    v.push(Base { valid: false, ..base("queue_proposal:reinit", sdk::queue_proposal(&admin, &exchange, 0, proposal), queue_slots) });
    v.push(base("cancel_proposal", sdk::cancel_proposal(&admin, &exchange, 0), names(&["admin", "exchange", "proposal"])));
    v.push(base("set_timelock", sdk::set_timelock(&admin, &exchange, governance::MIN_TIMELOCK_SECS), names(&["admin", "exchange"])));
    v.push(base("set_authorities", sdk::set_authorities(&admin, &exchange, auth_args), names(&["admin", "exchange"])));
    v.push(base("propose_admin", sdk::propose_admin(&admin, &exchange, Pubkey::new_unique()), names(&["admin", "exchange"])));
    v.push(base("accept_admin", sdk::accept_admin(&w.pending.pubkey(), &exchange), names(&["new_admin", "exchange"])));
    v.push(base("set_exchange_paused", sdk::set_exchange_paused(&guardian, &exchange, true), names(&["authority", "exchange"])));
    v.push(base("set_exchange_paused:unpause", sdk::set_exchange_paused(&admin, &exchange, false), names(&["authority", "exchange"])));

    let approve_slots = names(&["admin", "exchange", "trader_program", "approval", "system_program"]);
    v.push(base("approve_trader", sdk::approve_trader(&admin, &exchange, &perpetual::ID), approve_slots.clone()));
    v.push(Base { valid: false, ..base("approve_trader:reinit", sdk::approve_trader(&admin, &exchange, &test_trader::ID), approve_slots) });
    v.push(base("revoke_trader", sdk::revoke_trader(&admin, &exchange, &test_trader::ID), names(&["admin", "exchange", "approval"])));

    let oracle_slots = names(&["authority", "oracle", "system_program"]);
    v.push(base("create_price_oracle", sdk::create_price_oracle(&oracle_auth, sdk::symbol("NEWO"), -6), oracle_slots.clone()));
    v.push(Base { valid: false, ..base("create_price_oracle:reinit", sdk::create_price_oracle(&oracle_auth, sol.symbol, -6), oracle_slots) });
    v.push(base("set_oracle_price", sdk::set_oracle_price(&oracle_auth, &sol.oracle, PRICE, 0), names(&["authority", "oracle"])));

    let market_slots = names(&["admin", "exchange", "market", "oracle", "system_program"]);
    v.push(base("create_market", sdk::create_market(&admin, &exchange, &sol.oracle, market_args("NEWM", OracleKind::SetPrice)), market_slots.clone()));
    v.push(Base { valid: false, ..base("create_market:reinit", sdk::create_market(&admin, &exchange, &sol.oracle, market_args("SOL", OracleKind::SetPrice)), market_slots) });
    let update = UpdateMarketArgs { maker_fee_ppm: Some(-50), ..Default::default() };
    v.push(base("update_market", sdk::update_market(&admin, &exchange, &sol.market, update), names(&["admin", "exchange", "market"])));
    v.push(base("set_margins", sdk::set_margins(&risk, &exchange, &sol.market, 2_000, 2_000), names(&["risk_authority", "exchange", "market"])));
    v.push(base("set_market_status", sdk::set_market_status(&guardian, &exchange, &sol.market, MarketStatus::Paused), names(&["authority", "exchange", "market"])));
    v.push(base("set_market_status:activate", sdk::set_market_status(&admin, &exchange, &sol.market, MarketStatus::Active), names(&["authority", "exchange", "market"])));

    v.push(base("update_funding", sdk::update_funding(&sol.market, &sol.oracle), names(&["market", "oracle"])));
    v.push(base("set_funding_rate", sdk::set_funding_rate(&funding, &exchange, &sol.market, &sol.oracle, 1_000), names(&["funding_authority", "exchange", "market", "oracle"])));
    v.push(base("settle_funding", sdk::settle_funding(&sol.market, &sol.oracle, &a.margin_account), names(&["market", "oracle", "margin_account"])));
    v.push(base("sweep_fees", sdk::sweep_fees(&exchange, &sol.market), names(&["exchange", "market"])));

    let margin_slots = names(&["owner", "exchange", "margin_account", "system_program"]);
    v.push(base("create_margin_account", sdk::create_margin_account(&owner, &exchange, 1, 16), margin_slots.clone()));
    v.push(Base { valid: false, ..base("create_margin_account:reinit", sdk::create_margin_account(&owner, &exchange, 0, 16), margin_slots.clone()) });
    v.push(base("resize_margin_account", sdk::resize_margin_account(&owner, &exchange, &a.margin_account, 32), margin_slots.clone()));
    v.push(base("set_delegate", sdk::set_delegate(&owner, &exchange, &a.margin_account, Pubkey::new_unique()), margin_slots));

    let deposit = sdk::deposit(&owner, &exchange, &mint, &a.margin_account, &a.token_account, ONE_USDC);
    v.push(base("deposit", deposit, names(&["depositor", "exchange", "margin_account", "depositor_token", "vault", "collateral_mint", "token_program"])));
    let health = env.health_metas(&a.margin_account, &[]).await;
    assert_eq!(health.len(), 6, "a holds three positions");
    let withdraw = sdk::withdraw(&owner, &exchange, &mint, &a.margin_account, &a.token_account, ONE_USDC, health);
    let slots = health_names(&["owner", "exchange", "margin_account", "vault", "destination", "collateral_mint", "token_program"], 6);
    v.push(Base { health: Some((7, "margin_account")), ..base("withdraw", withdraw, slots) });

    // settle_fills: `a` takes 2 lots of the maker's asks in SOL; health skips SOL.
    let fills = vec![Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 }];
    let relay = env.settle_ix(a, &sol, &[m.margin_account], fills.clone(), vec![], 0, 0).await;
    let relay_prefix = ["perpetual_program", "exchange", "approval", "trader_authority", "market", "oracle"];
    let mut slots = names(&relay_prefix);
    slots.extend(names(&["taker", "taker_authority", "maker[0]"]));
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base { health: Some((9, "taker")), own_market: Some((sol.market, sol.oracle)), ..base("settle_fills", relay, slots) });
    let health = env.health_metas(&a.margin_account, &[sol.market]).await;
    let direct = sdk::settle_fills(
        &sdk::SettleAccounts { exchange, trader_program: test_trader::ID, market: sol.market, oracle: sol.oracle, taker: a.margin_account, taker_authority: owner },
        SettleFillsArgs { maker_count: 1, fills, releases: vec![], taker_bid_delta: 0, taker_ask_delta: 0, liquidation: false },
        &[m.margin_account],
        health.clone(),
    );
    let slots = health_names(&["exchange", "approval", "trader_authority", "market", "oracle", "taker", "taker_authority", "maker[0]"], 4);
    v.push(Base { valid: false, ..base("settle_fills:direct", direct, slots) });

    // update_reservation: `a` rests one more bid lot in SOL (a growth: health needed).
    let relay = env.reserve_ix(a, &sol, 1, 0).await;
    let mut slots = names(&relay_prefix);
    slots.extend(names(&["margin_account", "account_authority"]));
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base { health: Some((8, "margin_account")), own_market: Some((sol.market, sol.oracle)), ..base("update_reservation", relay, slots) });
    let mut accounts = perpetual::accounts::UpdateReservation {
        exchange,
        approval: sdk::approval_address(&exchange, &test_trader::ID),
        trader_authority: sdk::trader_authority_address(&test_trader::ID),
        market: sol.market,
        oracle: sol.oracle,
        margin_account: a.margin_account,
        account_authority: owner,
    }
    .to_account_metas(None);
    accounts.extend(health);
    let data = perpetual::instruction::UpdateReservation { bid_delta: 1, ask_delta: 0 }.data();
    let direct = Instruction { program_id: perpetual::ID, accounts, data };
    let slots = health_names(&["exchange", "approval", "trader_authority", "market", "oracle", "margin_account", "account_authority"], 4);
    v.push(Base { valid: false, ..base("update_reservation:direct", direct, slots) });

    v.extend(more_bases(w).await);
    for b in &v {
        assert_eq!(b.slots.len(), b.ix.accounts.len(), "{}: slot names vs accounts", b.key);
    }
    v
}

/// `ix` (a perpetual instruction naming the relay's PDA as its trader authority) sent
/// through the relay, and its slot names.
fn via_relay(ix: Instruction, slots: &[&str]) -> (Instruction, Vec<String>) {
    let pda = Pubkey::find_program_address(&[b"trader"], &RELAY_ID).0;
    let mut accounts = vec![AccountMeta::new_readonly(ix.program_id, false)];
    accounts.extend(ix.accounts.into_iter().map(|m| AccountMeta { is_signer: m.is_signer && m.pubkey != pda, ..m }));
    let mut names = vec!["perpetual_program".to_string()];
    names.extend(slots.iter().map(|s| s.to_string()));
    (Instruction { program_id: RELAY_ID, accounts, data: ix.data }, names)
}

const ORDER_SLOTS: [&str; 9] = ["book", "authority", "margin_account", "market", "oracle", "exchange", "approval", "trader_authority", "perpetual_program"];

fn with_maker(prefix: &[&str], makers: usize, health: usize) -> Vec<String> {
    let mut v = names(prefix);
    v.extend((0..makers).map(|i| format!("maker[{i}]")));
    v.extend((0..health).map(|i| format!("health[{i}]")));
    v
}

async fn more_bases(w: &mut World) -> Vec<Base> {
    let x = &w.x;
    let env = &mut w.env;
    let (exchange, mint) = (env.exchange, env.mint);
    let admin = env.admin.pubkey();
    let risk = env.risk_authority.pubkey();
    let da = env.deleverage_authority.pubkey();
    let (sol, a, m) = (w.sol, &w.a, &w.m);
    let p = PRICE as u64;
    let mut v = Vec::new();

    v.push(base("set_listing_deposit", sdk::set_listing_deposit(&admin, &exchange, ONE_USDC), names(&["admin", "exchange"])));
    let list = |symbol: &str| ListMarketArgs { symbol: sdk::symbol(symbol), oracle_kind: OracleKind::PythLegacy, base_decimals: 6, base_lot_size: 1_000_000, initial_price_per_lot: p };
    let list_slots = names(&["lister", "exchange", "market", "oracle", "lister_token", "vault", "collateral_mint", "token_program", "system_program"]);
    let lister = x.lister.pubkey();
    v.push(base("list_market", sdk::list_market(&lister, &exchange, &mint, &x.lister_token, &x.pyth, list("LIST")), list_slots.clone()));
    v.push(Base { valid: false, ..base("list_market:reinit", sdk::list_market(&lister, &exchange, &mint, &x.lister_token, &x.pyth, list("CLOS")), list_slots) });
    let margin_slots = names(&["risk_authority", "exchange", "market"]);
    v.push(base("set_open_interest_cap", sdk::set_open_interest_cap(&risk, &exchange, &sol.market, 1_000_000), margin_slots.clone()));
    v.push(base("set_index_jump", sdk::set_index_jump(&risk, &exchange, &sol.market, 1_000), margin_slots));

    let insurance_slots = names(&["authority", "exchange", "vault", "token_account", "collateral_mint", "token_program"]);
    v.push(base("deposit_insurance", sdk::deposit_insurance(&a.key(), &exchange, &mint, &a.token_account, ONE_USDC), insurance_slots.clone()));
    v.push(base("withdraw_insurance", sdk::withdraw_insurance(&admin, &exchange, &mint, &x.admin_token, ONE_USDC), insurance_slots));

    // Liquidation and deleveraging in RSK ($0.85): lq below maintenance, uw underwater.
    let rsk = x.rsk.market;
    let own = Some((rsk.market, rsk.oracle));
    let lq_health = env.health_metas(&x.lq.margin_account, &[rsk.market]).await;
    assert_eq!(lq_health.len(), 4, "lq holds SOL and ETH besides RSK");
    let ix = sdk::liquidate(&exchange, &rsk.market, &rsk.oracle, &x.lq.margin_account, &x.lr.margin_account, &x.lr.key(), u64::MAX, lq_health.clone(), vec![]);
    let slots = health_names(&["exchange", "market", "oracle", "liquidatee", "liquidator", "liquidator_authority"], 4);
    v.push(Base { health: Some((6, "liquidatee")), own_market: own, ..base("liquidate", ix, slots) });
    let uw_full = env.health_metas(&x.uw.margin_account, &[]).await;
    assert_eq!(uw_full.len(), 6);
    let check_slots = health_names(&["exchange", "margin_account", "authority"], 6);
    let ix = sdk::mark_underwater(&exchange, &x.uw.margin_account, &x.keeper.pubkey(), uw_full.clone());
    v.push(Base { health: Some((3, "margin_account")), ..base("mark_underwater", ix, check_slots.clone()) });
    let ix = sdk::cover_with_insurance(&exchange, &x.uw.margin_account, &da, uw_full);
    v.push(Base { health: Some((3, "margin_account")), ..base("cover_with_insurance", ix, check_slots) });
    let uw_health = env.health_metas(&x.uw.margin_account, &[rsk.market]).await;
    let ix = sdk::deleverage(&exchange, &rsk.market, &rsk.oracle, &x.uw.margin_account, &x.cp.margin_account, &da, 100, uw_health);
    let slots = health_names(&["exchange", "market", "oracle", "margin_account", "counterparty", "authority"], 4);
    v.push(Base { health: Some((6, "margin_account")), own_market: own, phase: 1, ..base("deleverage", ix, slots) });

    let book_approval = sdk::approval_address(&exchange, &orderbook::ID);
    let book_pda = orderbook::sdk::trader_authority();
    let mut accounts = perpetual::accounts::EarlyDeleverage {
        exchange,
        approval: book_approval,
        trader_authority: book_pda,
        market: rsk.market,
        oracle: rsk.oracle,
        margin_account: x.lq.margin_account,
        counterparty: x.cp.margin_account,
        authority: da,
    }
    .to_account_metas(None);
    accounts.extend(lq_health.clone());
    let data = perpetual::instruction::EarlyDeleverage { lots: 100, book_price_per_lot: 0 }.data();
    let slots = health_names(&["exchange", "approval", "trader_authority", "market", "oracle", "margin_account", "counterparty", "authority"], 4);
    v.push(Base { valid: false, ..base("early_deleverage:direct", Instruction { program_id: perpetual::ID, accounts, data }, slots) });

    v.push(base("final_settle_market", sdk::final_settle_market(&admin, &exchange, &sol.market, &sol.oracle, 0, u64::MAX), names(&["admin", "exchange", "market", "oracle"])));
    v.push(base("settle_final_position", sdk::settle_final_position(&x.fin.market, &x.fl.margin_account), names(&["market", "margin_account"])));
    let ix = sdk::close_market(&lister, &exchange, &x.clos.market.market, &x.clos.venue.book, &mint, &x.lister_token);
    // CLOS's book stays open for close_book's rows, so this base is itself refused
    // (MarketNotEmpty, checked in the handler); every row below is refused earlier, by
    // account validation.
    let slots = names(&["lister", "exchange", "market", "book", "vault", "lister_token", "collateral_mint", "token_program"]);
    v.push(Base { valid: false, ..base("close_market", ix, slots) });

    // Trader-only calls, directly (refused: only the trader program can sign for its PDA).
    let bk = x.bk.market;
    let accounts = perpetual::accounts::RecordMarkSample { exchange, approval: book_approval, trader_authority: book_pda, market: bk.market, oracle: bk.oracle }.to_account_metas(None);
    let data = perpetual::instruction::RecordMarkSample { mid_per_lot: None }.data();
    v.push(Base { valid: false, ..base("record_mark_sample:direct", Instruction { program_id: perpetual::ID, accounts, data }, names(&["exchange", "approval", "trader_authority", "market", "oracle"])) });
    let accounts = perpetual::accounts::RegisterBook { exchange, approval: book_approval, trader_authority: book_pda, market: sol.market }.to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: x.zero_book }.data();
    v.push(Base { valid: false, ..base("register_book:direct", Instruction { program_id: perpetual::ID, accounts, data }, names(&["exchange", "approval", "trader_authority", "market"])) });

    // The book's trader-only calls again through the relay, so that perpetual's own checks of
    // the accounts the book checks first are reached too.
    let relay_pda = Pubkey::find_program_address(&[b"trader"], &RELAY_ID).0;
    let relay_approval = sdk::approval_address(&exchange, &RELAY_ID);
    let accounts = perpetual::accounts::RecordMarkSample { exchange, approval: relay_approval, trader_authority: relay_pda, market: bk.market, oracle: bk.oracle }.to_account_metas(None);
    let data = perpetual::instruction::RecordMarkSample { mid_per_lot: Some(p) }.data();
    let (ix, slots) = via_relay(Instruction { program_id: perpetual::ID, accounts, data }, &["exchange", "approval", "trader_authority", "market", "oracle"]);
    v.push(base("record_mark_sample:relay", ix, slots));
    let accounts = perpetual::accounts::RegisterBook { exchange, approval: relay_approval, trader_authority: relay_pda, market: sol.market }.to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: x.zero_book }.data();
    let (ix, slots) = via_relay(Instruction { program_id: perpetual::ID, accounts, data }, &["exchange", "approval", "trader_authority", "market"]);
    v.push(base("register_book:relay", ix, slots));
    let mut accounts = perpetual::accounts::EarlyDeleverage {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: rsk.market,
        oracle: rsk.oracle,
        margin_account: x.lq.margin_account,
        counterparty: x.cp.margin_account,
        authority: da,
    }
    .to_account_metas(None);
    accounts.extend(lq_health.clone());
    // Book price 0: closing the long through the book would fill nothing.
    let data = perpetual::instruction::EarlyDeleverage { lots: 100, book_price_per_lot: 0 }.data();
    let prefix = ["exchange", "approval", "trader_authority", "market", "oracle", "margin_account", "counterparty", "authority"];
    let (ix, mut slots) = via_relay(Instruction { program_id: perpetual::ID, accounts, data }, &prefix);
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base { health: Some((9, "margin_account")), own_market: own, ..base("early_deleverage:relay", ix, slots) });

    // release_reservations through the relay: one ask lot of the maker's SOL reservation.
    let data = perpetual::instruction::ReleaseReservations { releases: vec![Release { maker_index: 0, bid_lots: 0, ask_lots: 1 }] }.data();
    let mut accounts = perpetual::accounts::ReleaseReservations { exchange, approval: relay_approval, trader_authority: relay_pda, market: sol.market }.to_account_metas(None);
    accounts.push(AccountMeta::new(m.margin_account, false));
    let (relay, slots) = via_relay(Instruction { program_id: perpetual::ID, accounts, data: data.clone() }, &["exchange", "approval", "trader_authority", "market", "account[0]"]);
    let mut no_account = relay.clone();
    no_account.accounts.pop();
    v.push(base("release_reservations", relay, slots.clone()));
    v.push(Base { valid: false, ..base("release_reservations:no_account", no_account, slots[..5].to_vec()) });
    let mut accounts = perpetual::accounts::ReleaseReservations { exchange, approval: relay_approval, trader_authority: relay_pda, market: sol.market }.to_account_metas(None);
    accounts.push(AccountMeta::new(m.margin_account, false));
    v.push(Base { valid: false, ..base("release_reservations:direct", Instruction { program_id: perpetual::ID, accounts, data }, names(&["exchange", "approval", "trader_authority", "market", "account[0]"])) });

    // ---- the order book ----
    let create_slots = names(&["authority", "payer", "exchange", "market", "book", "approval", "trader_authority", "perpetual_program"]);
    let creator = x.creator.pubkey();
    let [_, ix] = orderbook::sdk::create_book(&creator, &admin, &exchange, &sol.market, &x.zero_book, 0, ZERO_BOOK_ARGS);
    v.push(base("book.create_book", ix, create_slots.clone()));
    let [_, ix] = orderbook::sdk::create_book(&creator, &admin, &exchange, &rsk.market, &x.zero_book, 0, ZERO_BOOK_ARGS);
    v.push(Base { valid: false, ..base("book.create_book:registered", ix, create_slots) });

    let (b, venue) = (&x.b, x.bk.venue);
    let bk_own = Some((bk.market, bk.oracle));
    let ix = env.place_ix(b, &x.bk, order(BookSide::Bid, 90, 1, OrderType::PostOnly), &[]).await;
    v.push(Base { health: Some((9, "margin_account")), own_market: bk_own, ..base("book.place_order", ix, with_maker(&ORDER_SLOTS, 0, 4)) });
    let ix = env.place_ix(b, &x.bk, order(BookSide::Bid, 105, 1, OrderType::FillOrKill), &[x.bm.margin_account]).await;
    v.push(Base { health: Some((10, "margin_account")), own_market: bk_own, cover: true, ..base("book.place_order:taker", ix, with_maker(&ORDER_SLOTS, 1, 4)) });
    let ix = orderbook::sdk::cancel_order(&venue, &b.key(), &b.margin_account, BookSide::Bid, x.b_key);
    v.push(base("book.cancel_order", ix, names(&ORDER_SLOTS)));
    let ix = orderbook::sdk::cancel_order_by_client_id(&venue, &b.key(), &b.margin_account, 7);
    v.push(base("book.cancel_order_by_client_id", ix, names(&ORDER_SLOTS)));
    let ix = orderbook::sdk::cancel_all_orders(&venue, &b.key(), &b.margin_account, 10);
    v.push(base("book.cancel_all_orders", ix, names(&ORDER_SLOTS)));
    let mut args = order(BookSide::Bid, 93, 3, OrderType::PostOnly);
    args.seat_hint = env.seat_for(&x.bk, &b.margin_account).await;
    let health = env.health_for(b, &x.bk).await;
    let ix = orderbook::sdk::replace_order(&venue, &b.key(), &b.margin_account, BookSide::Bid, x.b_key, args, &[], health);
    v.push(Base { health: Some((9, "margin_account")), own_market: bk_own, ..base("book.replace_order", ix, with_maker(&ORDER_SLOTS, 0, 4)) });
    let ix = orderbook::sdk::liquidate_order(&x.rsk.venue, &x.keeper.pubkey(), &x.lq.margin_account, 1, 85, &[x.bd.margin_account], lq_health.clone());
    v.push(Base { health: Some((10, "margin_account")), own_market: own, ..base("book.liquidate_order", ix, with_maker(&ORDER_SLOTS, 1, 4)) });
    let slots = names(&["book", "market", "oracle", "exchange", "approval", "trader_authority", "perpetual_program"]);
    v.push(base("book.sample_mark", orderbook::sdk::sample_mark(&venue), slots));
    let ix = orderbook::sdk::early_deleverage(&x.rsk.venue, &x.lq.margin_account, &x.cp.margin_account, &da, 100, lq_health);
    let slots = health_names(&["book", "market", "oracle", "exchange", "approval", "trader_authority", "margin_account", "counterparty", "authority", "perpetual_program"], 4);
    v.push(Base { health: Some((10, "margin_account")), own_market: own, ..base("book.early_deleverage", ix, slots) });
    let ix = orderbook::sdk::close_book(&creator, &x.clos.venue.book, &x.clos.market.market);
    v.push(base("book.close_book", ix, names(&["creator", "book", "market"])));
    let ix = orderbook::sdk::close_book(&creator, &x.rsk.venue.book, &rsk.market);
    v.push(Base { valid: false, ..base("book.close_book:active", ix, names(&["creator", "book", "market"])) });
    v
}

/// Every instruction of both programs: perpetual's in `lib.rs` order, then the order
/// book's (prefixed `book.`) in its `lib.rs` order.
const INSTRUCTIONS: [&str; 54] = [
    "initialize_exchange",
    "queue_proposal",
    "cancel_proposal",
    "set_timelock",
    "set_authorities",
    "propose_admin",
    "accept_admin",
    "set_exchange_paused",
    "approve_trader",
    "revoke_trader",
    "create_price_oracle",
    "set_oracle_price",
    "create_market",
    "list_market",
    "set_listing_deposit",
    "update_market",
    "set_margins",
    "set_open_interest_cap",
    "set_index_jump",
    "set_market_status",
    "update_funding",
    "set_funding_rate",
    "settle_funding",
    "sweep_fees",
    "create_margin_account",
    "resize_margin_account",
    "set_delegate",
    "deposit",
    "withdraw",
    "deposit_insurance",
    "withdraw_insurance",
    "liquidate",
    "mark_underwater",
    "cover_with_insurance",
    "deleverage",
    "early_deleverage",
    "final_settle_market",
    "settle_final_position",
    "close_market",
    "settle_fills",
    "update_reservation",
    "record_mark_sample",
    "register_book",
    "release_reservations",
    "book.create_book",
    "book.place_order",
    "book.sample_mark",
    "book.liquidate_order",
    "book.early_deleverage",
    "book.close_book",
    "book.cancel_order",
    "book.cancel_order_by_client_id",
    "book.cancel_all_orders",
    "book.replace_order",
];

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

impl World {
    fn keypairs(&self) -> Vec<&Keypair> {
        let e = &self.env;
        vec![
            &e.admin,
            &e.funding_authority,
            &e.risk_authority,
            &e.guardian,
            &e.oracle_authority,
            &self.a.owner,
            &self.m.owner,
            &self.empty.owner,
            &self.delegate,
            &self.pending,
            &self.mallory,
            &self.wallet,
            &self.admin2,
            &e.deleverage_authority,
            &self.x.mk.owner,
            &self.x.b.owner,
            &self.x.bm.owner,
            &self.x.lq.owner,
            &self.x.uw.owner,
            &self.x.cp.owner,
            &self.x.lr.owner,
            &self.x.bd.owner,
            &self.x.keeper,
            &self.x.fl.owner,
            &self.x.lister,
            &self.x.creator,
        ]
    }

    /// The keypairs that sign `ix` (the fee payer signs anyway).
    fn signers(&self, ix: &Instruction) -> Vec<Keypair> {
        let payer = self.env.ctx.payer.pubkey();
        let keys = self.keypairs();
        let mut out: Vec<Keypair> = Vec::new();
        for meta in ix.accounts.iter().filter(|m| m.is_signer && m.pubkey != payer) {
            if out.iter().any(|k| k.pubkey() == meta.pubkey) {
                continue;
            }
            let k = keys.iter().find(|k| k.pubkey() == meta.pubkey).unwrap_or_else(|| panic!("no keypair signs for {}", meta.pubkey));
            out.push(k.insecure_clone());
        }
        out
    }

    fn who(&self, who: Who) -> Pubkey {
        match who {
            Who::Admin => self.env.admin.pubkey(),
            Who::Guardian => self.env.guardian.pubkey(),
            Who::Risk => self.env.risk_authority.pubkey(),
            Who::Delegate => self.delegate.pubkey(),
            Who::Deleverage => self.env.deleverage_authority.pubkey(),
        }
    }

    fn sub(&self, sub: Sub) -> Pubkey {
        match sub {
            Sub::SystemWallet => self.wallet.pubkey(),
            Sub::Missing => self.missing,
            Sub::Unique => Pubkey::new_unique(),
            Sub::Exchange => self.env.exchange,
            Sub::Exchange2 => self.exchange2,
            Sub::Market => self.sol.market,
            Sub::OtherMarket => self.eth.market,
            Sub::Market2 => self.market2,
            Sub::Oracle => self.sol.oracle,
            Sub::OtherOracle => self.eth.oracle,
            Sub::OtherMargin => self.m.margin_account,
            Sub::Margin2 => self.margin2,
            Sub::EmptyMargin => self.empty.margin_account,
            Sub::Approval2 => self.approval2,
            Sub::ApprovalOther => self.approval_other,
            Sub::TokenAccount => self.m.token_account,
            Sub::Token2 => self.token2,
            Sub::Mint => self.env.mint,
            Sub::Mint2 => self.mint2,
            Sub::Vault2 => sdk::vault_address(&self.exchange2),
            Sub::TokenProgram => spl_token_interface::ID,
            Sub::SystemProgram => anchor_lang::system_program::ID,
            Sub::OtherMarginPda => sdk::margin_account_address(&self.env.exchange, &self.m.key(), 7),
            Sub::Book => self.x.bk.venue.book,
            Sub::OtherBook => self.x.rsk.venue.book,
            Sub::ZeroBook => self.x.zero_book,
            Sub::SettledMarket => self.x.fin.market,
            Sub::BookApproval => sdk::approval_address(&self.env.exchange, &orderbook::ID),
            Sub::TraderApproval => sdk::approval_address(&self.env.exchange, &test_trader::ID),
            Sub::PythGarbage => self.x.pyth_garbage,
        }
    }

    /// A copy of `key` (bytes and lamports) owned by another program.
    async fn foreign_clone(&mut self, key: &Pubkey) -> Pubkey {
        if let Some(c) = self.clones.get(key) {
            return *c;
        }
        let original = self.env.account(key).await.unwrap_or_else(|| panic!("clone of missing {key}"));
        let clone = Pubkey::new_unique();
        let account = Account { lamports: original.lamports, data: original.data, owner: FOREIGN_OWNER, executable: false, rent_epoch: 0 };
        self.env.ctx.set_account(&clone, &account.into());
        self.clones.insert(*key, clone);
        clone
    }

    /// A perpetual-owned copy of `margin` whose position in `market` names `replacement`.
    async fn fabricate(&mut self, margin: &Pubkey, market: &Pubkey, replacement: &Pubkey) -> Pubkey {
        if let Some(f) = self.fabricated.get(&(*margin, *market, *replacement)) {
            return *f;
        }
        let original = self.env.account(margin).await.expect("margin account");
        let mut data = original.data.clone();
        let (_, positions) = self.env.margin(margin).await;
        let i = positions.iter().position(|p| p.market == *market).expect("position in market");
        let at = HEADER_LEN + i * POSITION_LEN;
        data[at..at + 32].copy_from_slice(replacement.as_ref());
        let key = Pubkey::new_unique();
        let account = Account { lamports: original.lamports, data, owner: perpetual::ID, executable: false, rent_epoch: 0 };
        self.env.ctx.set_account(&key, &account.into());
        self.fabricated.insert((*margin, *market, *replacement), key);
        key
    }

    /// The instruction of `row`, mechanically derived from the valid one.
    async fn mutate(&mut self, b: &Base, row: &Row) -> Instruction {
        let mut ix = b.ix.clone();
        if matches!(row.case, Case::Health(_)) {
            let h = match row.case {
                Case::Health(h) => h,
                _ => unreachable!(),
            };
            self.mutate_health(b, &mut ix, h).await;
            return ix;
        }
        if matches!(row.case, Case::Reinit | Case::Variant(_)) {
            return ix;
        }
        let i = b.index(row.slot);
        match row.case {
            Case::Unsigned => {
                assert!(ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].is_signer = false;
            }
            Case::Impostor => {
                assert!(b.ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].pubkey = self.mallory.pubkey();
            }
            Case::SignAs(who) => {
                assert!(b.ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].pubkey = self.who(who);
            }
            Case::ForeignOwner => {
                let original = ix.accounts[i].pubkey;
                ix.accounts[i].pubkey = self.foreign_clone(&original).await;
            }
            Case::Swap(_, sub) => ix.accounts[i].pubkey = self.sub(sub),
            Case::ReadOnly => {
                assert!(ix.accounts[i].is_writable, "{} {}: not writable", b.key, row.slot);
                ix.accounts[i].is_writable = false;
            }
            Case::DupOf(other) => ix.accounts[i].pubkey = ix.accounts[b.index(other)].pubkey,
            Case::Special(_, Multi::TraderProgramNotExecutable) => {
                let wallet = self.wallet.pubkey();
                ix.accounts[i].pubkey = wallet;
                ix.accounts[b.index("approval")].pubkey = sdk::approval_address(&self.env.exchange, &wallet);
            }
            Case::Special(_, Multi::CreateMarketOnOtherExchange) => {
                ix.accounts[i].pubkey = self.exchange2;
                ix.accounts[b.index("market")].pubkey = sdk::market_address(&self.exchange2, &sdk::symbol("NEWM"));
            }
            Case::Reinit | Case::Variant(_) | Case::Health(_) => {}
        }
        ix
    }

    async fn mutate_health(&mut self, b: &Base, ix: &mut Instruction, h: HealthMut) {
        let (start, owner_slot) = b.health.unwrap_or_else(|| panic!("{}: takes no health accounts", b.key));
        let mut health: Vec<AccountMeta> = ix.accounts.split_off(start);
        assert!(health.len() >= 4, "{}: health mutations need two pairs", b.key);
        let first_market = health[0].pubkey;
        match h {
            HealthMut::Extra => health.push(AccountMeta::new_readonly(self.wallet.pubkey(), false)),
            HealthMut::DropLastPair => health.truncate(health.len() - 2),
            HealthMut::DropAll => health.clear(),
            HealthMut::SwapWithinPair => health.swap(0, 1),
            HealthMut::SwapPairs => {
                health.swap(0, 2);
                health.swap(1, 3);
            }
            HealthMut::DuplicatePair => {
                let pair = health[..2].to_vec();
                health.splice(2..2, pair);
            }
            HealthMut::WrongOracle => health[1].pubkey = if health[1].pubkey == self.eth.oracle { self.sol.oracle } else { self.eth.oracle },
            HealthMut::ForeignOwnedOracle => health[1].pubkey = self.foreign_clone(&health[1].pubkey.clone()).await,
            HealthMut::IncludeOwnMarket => {
                let (market, oracle) = b.own_market.unwrap_or_else(|| panic!("{}: takes no market", b.key));
                health.splice(0..0, [AccountMeta::new_readonly(market, false), AccountMeta::new_readonly(oracle, false)]);
            }
            HealthMut::OtherExchangeMarket => health[0].pubkey = self.market2,
            HealthMut::ForeignOwnedMarket => health[0].pubkey = self.foreign_clone(&first_market).await,
            HealthMut::FabricatedOtherExchange | HealthMut::FabricatedForeignOwned | HealthMut::FabricatedNotMarket => {
                let replacement = match h {
                    HealthMut::FabricatedOtherExchange => self.market2,
                    HealthMut::FabricatedForeignOwned => self.foreign_clone(&first_market).await,
                    _ => self.eth.oracle,
                };
                let slot = b.index(owner_slot);
                let margin = ix.accounts[slot].pubkey;
                ix.accounts[slot].pubkey = self.fabricate(&margin, &first_market, &replacement).await;
                health[0].pubkey = replacement;
            }
        }
        ix.accounts.extend(health);
    }
}

// ---------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------

type Snapshot = Vec<(Pubkey, Option<(u64, Pubkey, Vec<u8>)>)>;

/// The same snapshot `assert_refused` takes: every named account except the fee payer.
async fn snapshot(env: &mut TestEnv, ix: &Instruction) -> Snapshot {
    let payer = env.ctx.payer.pubkey();
    let mut keys: Vec<Pubkey> = ix.accounts.iter().map(|m| m.pubkey).filter(|k| *k != payer).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let a = env.account(&k).await.map(|a| (a.lamports, a.owner, a.data));
        out.push((k, a));
    }
    out
}

/// Sends without asserting: the error (if any), whether a named account changed, and the
/// logs of a simulation sent first.
async fn probe(env: &mut TestEnv, ix: &Instruction, signers: &[Keypair]) -> (Result<(), TransactionError>, bool, Vec<String>) {
    let refs: Vec<&Keypair> = signers.iter().collect();
    let (_, logs) = env.simulate_with_logs(std::slice::from_ref(ix), &refs).await;
    let before = snapshot(env, ix).await;
    let res = env.process(std::slice::from_ref(ix), &refs).await.map(|_| ());
    let after = snapshot(env, ix).await;
    (res, before != after, logs)
}

fn program_name(p: &Pubkey) -> String {
    let known = [(perpetual::ID, "perpetual"), (orderbook::ID, "orderbook"), (test_trader::ID, "test_trader"), (spl_token_interface::ID, "spl_token"), (RELAY_ID, "relay")];
    known.iter().find(|(id, _)| id == p).map(|(_, n)| n.to_string()).unwrap_or_else(|| p.to_string())
}

fn is_expected(expect: &Expect, err: &TransactionError, logs: &[String]) -> bool {
    match (expect, err) {
        (Expect::Code(c, program), e) => custom_code(e) == Some(*c) && program.is_none_or(|p| failing_program(logs) == Some(p)),
        (Expect::Ix(want), TransactionError::InstructionError(_, got)) => want == got,
        _ => false,
    }
}

/// Simulates `ix` and returns its result (state is not committed).
async fn simulate(w: &mut World, ix: &Instruction) -> Result<(), TransactionError> {
    let signers = w.signers(ix);
    let payer = w.env.ctx.payer.insecure_clone();
    let mut keys: Vec<&Keypair> = vec![&payer];
    keys.extend(signers.iter());
    let blockhash = w.env.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(std::slice::from_ref(ix), Some(&payer.pubkey()), &keys, blockhash);
    let sim = w.env.ctx.banks_client.simulate_transaction(tx).await.expect("simulate");
    sim.result.expect("simulation result")
}

/// Per-slot cases the chain says are required.
async fn required_kinds(w: &mut World, b: &Base) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    let health_start = b.health.map(|(s, _)| s).unwrap_or(usize::MAX);
    for (i, meta) in b.ix.accounts.iter().enumerate() {
        if i >= health_start {
            continue; // health accounts: instruction-level health mutations
        }
        let slot = &b.slots[i];
        let account = w.env.account(&meta.pubkey).await.filter(|a| a.lamports > 0);
        if meta.is_signer {
            out.push((slot.clone(), Kind::MissingSigner));
            out.push((slot.clone(), Kind::Impostor));
        }
        match &account {
            // A signer need not exist (an authority that never paid for anything).
            None if meta.is_signer => {}
            None => out.push((slot.clone(), Kind::WrongSeeds)),
            Some(acc) if acc.executable => out.push((slot.clone(), Kind::WrongProgram)),
            Some(acc) if acc.owner == perpetual::ID || acc.owner == spl_token_interface::ID || acc.owner == orderbook::ID => {
                out.push((slot.clone(), Kind::WrongOwner));
                out.push((slot.clone(), Kind::WrongType));
            }
            Some(_) => {}
        }
        if meta.is_writable && account.is_some() {
            out.push((slot.clone(), Kind::ReadOnly));
        }
    }
    out
}

/// Whether the instruction takes two writable, non-signing accounts of one kind.
async fn has_same_kind_writables(w: &mut World, b: &Base) -> bool {
    let health_start = b.health.map(|(s, _)| s).unwrap_or(usize::MAX);
    let mut seen = BTreeSet::new();
    for (i, meta) in b.ix.accounts.iter().enumerate() {
        if i >= health_start || !meta.is_writable || meta.is_signer {
            continue;
        }
        if let Some(acc) = w.env.account(&meta.pubkey).await {
            let tag = if acc.owner == perpetual::ID || acc.owner == orderbook::ID { acc.data[..8].to_vec() } else { acc.data.len().to_le_bytes().to_vec() };
            if !seen.insert((acc.owner, tag)) {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn account_matrix() {
    let probe_all = std::env::var("MATRIX_PROBE").is_ok();
    let mut w = world().await;
    let bases = bases(&mut w).await;
    let rows = rows();
    let by_key: HashMap<&str, &Base> = bases.iter().map(|b| (b.key, b)).collect();
    let prefix = |key: &str| key.split(':').next().unwrap().to_string();

    // The table names every instruction of both programs, and nothing else.
    let mut declared: Vec<String> = program_instructions();
    declared.sort();
    let mut listed: Vec<String> = INSTRUCTIONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(declared, listed, "INSTRUCTIONS must list every instruction of perpetual and the order book");

    // Coverage: per slot from the chain, per instruction for duplicates, health and re-init.
    // A perpetual instruction in `VIA` is covered by the rows of the book instruction that
    // calls it, plus `:direct` rows for the trader signature.
    let mut missing = Vec::new();
    let covered = |ix: &str, slot: &str, kind: Kind| rows.iter().any(|r| prefix(r.base) == ix && r.slot == slot && r.case.kind() == kind);
    for name in INSTRUCTIONS {
        let group = VIA.iter().find(|(n, _)| *n == name).map(|(_, g)| *g).unwrap_or(name);
        assert!(by_key.contains_key(group), "no base for {group}");
        assert!(rows.iter().any(|r| prefix(r.base) == name), "{name}: no rows");
        if group != name {
            for kind in [Kind::MissingSigner, Kind::Impostor] {
                if !covered(name, "trader_authority", kind) {
                    missing.push(format!("{name} trader_authority {kind:?} (direct)"));
                }
            }
        }
        let checked: Vec<&Base> = bases.iter().filter(|b| prefix(b.key) == group && (b.key == group || b.cover)).collect();
        for b in checked {
            for (slot, kind) in required_kinds(&mut w, b).await {
                let exempt = EXEMPT.iter().any(|(i, s, k, _)| *i == group && *s == slot && *k == kind);
                if !exempt && !covered(group, &slot, kind) {
                    missing.push(format!("{} {slot} {kind:?}", b.key));
                }
            }
            if has_same_kind_writables(&mut w, b).await && !rows.iter().any(|r| prefix(r.base) == group && r.case.kind() == Kind::Duplicate) {
                missing.push(format!("{} Duplicate", b.key));
            }
            if b.health.is_some() {
                for h in HEALTH_MUTS {
                    if h == HealthMut::IncludeOwnMarket && b.own_market.is_none() {
                        continue;
                    }
                    if !rows.iter().any(|r| prefix(r.base) == group && matches!(r.case, Case::Health(x) if x == h)) {
                        missing.push(format!("{} health {h:?}", b.key));
                    }
                }
            }
            // An instruction that creates an account (a writable slot that does not exist yet)
            // needs a re-initialisation row.
            let mut creates = false;
            for (i, meta) in b.ix.accounts.iter().enumerate() {
                if meta.is_writable && !meta.is_signer && w.env.account(&meta.pubkey).await.is_none() {
                    creates |= !b.slots[i].contains("trader_authority");
                }
            }
            if creates && !rows.iter().any(|r| prefix(r.base) == group && r.case.kind() == Kind::Reinit) {
                missing.push(format!("{} Reinit", b.key));
            }
        }
    }
    assert!(missing.is_empty(), "matrix rows missing for:\n  {}", missing.join("\n  "));

    // Run every row, phase by phase; every valid base of a phase must succeed as is first.
    let mut mismatches = Vec::new();
    let mut known = Vec::new();
    let last_phase = bases.iter().map(|b| b.phase).max().unwrap_or(0);
    for phase in 0..=last_phase {
        w.enter_phase(phase).await;
        for b in bases.iter().filter(|b| b.valid && b.phase == phase) {
            let res = simulate(&mut w, &b.ix).await;
            assert!(res.is_ok(), "base {} must succeed unmutated: {res:?}", b.key);
        }
        for (n, row) in rows.iter().enumerate() {
            let b = by_key.get(row.base).unwrap_or_else(|| panic!("row {n}: no base {}", row.base));
            if b.phase != phase {
                continue;
            }
            let ix = w.mutate(b, row).await;
            let signers = w.signers(&ix);
            let what = format!("#{n} {} {} {:?}", row.base, row.slot, row.case);
            if let (Expect::Code(c, program), None, false) = (&row.expect, row.issue, probe_all) {
                let refs: Vec<&Keypair> = signers.iter().collect();
                match program {
                    Some(program) => assert_refused_by(&mut w.env, &[ix], &refs, *c, program, &what).await,
                    None => assert_refused(&mut w.env, &[ix], &refs, *c, &what).await,
                }
                continue;
            }
            let (res, changed, logs) = probe(&mut w.env, &ix, &signers).await;
            let ok = matches!(&res, Err(e) if is_expected(&row.expect, e, &logs)) && !changed;
            let raised_by = failing_program(&logs).map(|p| program_name(&p)).unwrap_or_default();
            let observed = format!("{res:?} [{raised_by}]{}", if changed { " (STATE CHANGED)" } else { "" });
            if let Some(issue) = row.issue {
                assert!(res.is_err() && !changed, "{what} (known issue): must still be refused with no state change: {observed}");
                known.push(format!("{what}: {issue}; expected {:?}, observed {observed}", row.expect));
            } else if !ok {
                if probe_all {
                    mismatches.push(format!("{what}: expected {:?}, observed {observed}", row.expect));
                } else {
                    panic!("{what}: expected {:?}, observed {observed}", row.expect);
                }
            }
        }
    }

    // Coverage report.
    let mut per_ix: BTreeMap<usize, (usize, BTreeSet<&str>, BTreeSet<Kind>)> = BTreeMap::new();
    for row in &rows {
        let name = prefix(row.base);
        let i = INSTRUCTIONS.iter().position(|x| *x == name).unwrap_or_else(|| panic!("row base {} names no instruction", row.base));
        let e = per_ix.entry(i).or_default();
        e.0 += 1;
        e.1.insert(row.slot);
        e.2.insert(row.case.kind());
    }
    let slots: usize = per_ix.values().map(|e| e.1.len()).sum();
    let perp = per_ix.keys().filter(|i| !INSTRUCTIONS[**i].starts_with("book.")).count();
    println!(
        "matrix: {} instructions, {} slots, {} cases ({} perpetual + {} order book instructions)",
        per_ix.len(),
        slots,
        rows.len(),
        perp,
        per_ix.len() - perp
    );
    for (i, (n, s, k)) in &per_ix {
        let via = VIA.iter().find(|(name, _)| name == &INSTRUCTIONS[*i]).map(|(_, g)| {
            let shared = rows.iter().filter(|r| prefix(r.base) == *g).count();
            format!(" (+{shared} rows through {g})")
        });
        println!("  {:<30} {:>3} rows, {:>2} slots, kinds {:?}{}", INSTRUCTIONS[*i], n, s.len(), k, via.unwrap_or_default());
    }
    let noted: Vec<String> = rows.iter().filter(|r| !r.note.is_empty()).map(|r| format!("{} {} {:?}: {}", r.base, r.slot, r.case, r.note)).collect();
    println!("rows refused outside perpetual or with a non-custom error ({}):", noted.len());
    for n in &noted {
        println!("  {n}");
    }
    println!("exempt:");
    for (i, s, k, why) in EXEMPT {
        println!("  {i} {s} {k:?}: {why}");
    }
    println!("not applicable:");
    for n in NOT_APPLICABLE {
        println!("  {n}");
    }
    println!("known issues ({}):", known.len());
    for k in &known {
        println!("  {k}");
    }
    assert_eq!(per_ix.len(), INSTRUCTIONS.len(), "every instruction has rows");
    assert!(mismatches.is_empty(), "{} mismatches:\n  {}", mismatches.len(), mismatches.join("\n  "));
}

/// The instruction names declared in both programs' `lib.rs` (`pub fn` inside `#[program]`),
/// the order book's prefixed `book.`.
fn program_instructions() -> Vec<String> {
    let parse = |src: &str, prefix: &str| -> Vec<String> {
        let body = &src[src.find("#[program]").expect("#[program]")..];
        body.lines()
            .filter_map(|l| l.trim_start().strip_prefix("pub fn "))
            .map(|rest| format!("{prefix}{}", rest.split(['(', '<']).next().unwrap()))
            .collect()
    };
    let mut v = parse(include_str!("../../programs/perpetual/src/lib.rs"), "");
    v.extend(parse(include_str!("../../programs/orderbook/src/lib.rs"), "book."));
    v
}

impl World {
    /// Changes the world between phases of rows.
    async fn enter_phase(&mut self, phase: u8) {
        if phase == 1 {
            // Deleveraging requires an empty insurance fund.
            let fund = self.env.insurance_fund().await;
            let admin = self.env.admin.insecure_clone();
            let ix = sdk::withdraw_insurance(&admin.pubkey(), &self.env.exchange, &self.env.mint, &self.x.admin_token, fund);
            self.env.process(&[ix], &[&admin]).await.expect("empty the insurance fund");
        }
    }
}

/// A maker passed twice (two fills against the same account at different indices) is
/// accepted and applied as two fills against one account.
#[tokio::test]
async fn maker_passed_twice_is_two_fills_against_one_account() {
    let mut env = TestEnv::new().await;
    let sol = env.create_market("SOL", PRICE).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&maker, &sol, 0, 10).await.unwrap();
    let fills = vec![
        Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 3, price_per_lot: PRICE as u64 },
        Fill { maker_index: 1, taker_side: Side::Bid, base_lots: 4, price_per_lot: PRICE as u64 },
    ];
    let ix = env.settle_ix(&taker, &sol, &[maker.margin_account, maker.margin_account], fills, vec![], 0, 0).await;
    let out = env.process(&[ix], &[&taker.owner]).await.expect("same maker twice");
    assert_eq!(out.return_data, vec![FillResult::Applied as u8; 2]);
    let mp = env.position(&maker.margin_account, &sol.market).await;
    assert_eq!((mp.base_lots, mp.open_ask_lots), (-7, 3));
    assert_eq!(env.position(&taker.margin_account, &sol.market).await.base_lots, 7);
    // Two fills beyond the reservation: the second is refused per fill, the first applies.
    let fills = vec![
        Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 },
        Fill { maker_index: 1, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 },
    ];
    let ix = env.settle_ix(&taker, &sol, &[maker.margin_account, maker.margin_account], fills, vec![], 0, 0).await;
    let out = env.process(&[ix], &[&taker.owner]).await.expect("second fill refused per fill");
    assert_eq!(out.return_data, vec![FillResult::Applied as u8, FillResult::MakerReservationMissing as u8]);
    let mp = env.position(&maker.margin_account, &sol.market).await;
    assert_eq!((mp.base_lots, mp.open_ask_lots), (-9, 1));
    invariants::check(&mut env).await;
}

/// Regression: Anchor 1.2's `init` creates a PDA that already holds lamports with the
/// system program's `CreateAccountAllowPrefund` (SIMD-0312), which this runtime lacks, so
/// anyone could block a predictable PDA (a user's margin account, a market symbol) by sending
/// it the rent minimum first. The program now creates PDAs itself (`create_pda`).
#[tokio::test]
async fn a_prefunded_pda_is_still_created() {
    let mut env = TestEnv::new().await;
    let user = env.create_user(0).await;
    let admin = env.admin.insecure_clone();
    let oracle = env.create_market("SOL", PRICE).await.oracle;
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(0);
    let cases = [
        ("create_margin_account", sdk::margin_account_address(&env.exchange, &user.key(), 1), sdk::create_margin_account(&user.key(), &env.exchange, 1, 16), user.owner.insecure_clone()),
        ("create_market", sdk::market_address(&env.exchange, &sdk::symbol("GRIEF")), sdk::create_market(&admin.pubkey(), &env.exchange, &oracle, market_args("GRIEF", OracleKind::SetPrice)), admin.insecure_clone()),
    ];
    for (name, pda, ix, signer) in cases {
        env.airdrop(&pda, rent).await; // the grief: one transfer of ~0.0009 SOL
        let (res, _, _) = probe(&mut env, &ix, &[signer]).await;
        assert!(res.is_ok(), "{name}: a prefunded PDA must still be created: {res:?}");
        let account = env.account(&pda).await.expect("created");
        assert_eq!(account.owner, perpetual::ID, "{name}");
    }
}

/// Program issue found by the matrix (the `book` slot of the order instructions): a market
/// that is closed and listed again under the same symbol gets the same address, and the
/// book of the old market, if nobody closed it, still names that address. Nothing ties an
/// order-book instruction to the market's registered book (`Market::book` is written by
/// `register_book` and never read): perpetual's `record_mark_sample`, `settle_fills` and
/// `update_reservation` accept any book of the approved program, and the book checks only
/// its own `market` field. So the stale book's resting orders (whose reservations final
/// settlement cleared) set the new market's mark through `sample_mark`, and new orders rest
/// on it with real reservations, beside the new market's registered book.
#[tokio::test]
// Regression: the market can no longer close while its book is open, so no orphan book can
// name a re-listed market.
async fn a_stale_book_of_a_relisted_market_is_refused() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let p = PRICE as u64;
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, LISTING_DEPOSIT)], &[&admin]).await.unwrap();
    let lister = funded(&mut env).await;
    let lister_token = env.create_token_account(&lister.pubkey(), 2 * LISTING_DEPOSIT).await;
    let pyth = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&pyth, PRICE, 0, -6, now, PriceStatus::Trading);
    let args = ListMarketArgs { symbol: sdk::symbol("GHST"), oracle_kind: OracleKind::PythLegacy, base_decimals: 6, base_lot_size: 1_000_000, initial_price_per_lot: p };
    let m = env.list_market(&lister, &lister_token, pyth, args).await.expect("listing");
    let stale = env.create_book_as(&m, book_args(64, 16), &lister).await.expect("book");
    let u = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&u, &stale, BookSide::Bid, 97, 1).await;
    env.rest(&u, &stale, BookSide::Ask, 103, 1).await;
    // Final settlement, the last position slot settled, the market closed, listed again.
    env.process(&[sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &pyth, p, p)], &[&admin]).await.expect("settle");
    env.process(&[sdk::settle_final_position(&m.market, &u.margin_account)], &[]).await.expect("settle position");
    let close = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &stale.venue.book, &env.mint, &lister_token);
    assert_refused(&mut env, &[close], &[], code(PerpError::MarketNotEmpty), "closing with its book open").await;
}
