//! Table-driven adversarial account matrix.
//!
//! For every perpetual instruction one valid instruction is built in a prepared
//! environment (and checked valid by simulation). Each row of `rows()` names an
//! (instruction, account slot, case) and the exact error expected; the mutated instruction
//! is derived mechanically from the valid one and sent with `assert_refused`, which also
//! requires every account the instruction names to be byte-for-byte unchanged.
//!
//! Which cases a slot needs is derived from the chain, not from the table: a slot that
//! signs needs "missing signer" and "impostor" rows; a program- or token-owned account
//! needs "wrong owner" and "wrong type"; an account that does not exist yet (an `init`
//! target) needs "wrong seeds"; an executable account needs "wrong program"; a writable
//! account needs "read-only". Instructions with two writable accounts of one kind need a
//! duplicate row, instructions with health accounts the full set of health mutations, and
//! every `init` instruction a re-initialisation row. The test fails if a required row is
//! missing and is not listed in `EXEMPT` with its reason.
//!
//! Rows marked `.issue(..)` document a known program issue (a refusal with a generic or
//! misleading error): they must still be refused with no account changed, but the error is
//! printed under "known issues" instead of failing the test.
//!
//! Set `MATRIX_PROBE=1` to run every row without stopping at the first mismatch and print
//! a table of mismatches instead.
#![allow(deprecated)] // solana-program-test 3.x marks ProgramTestContext's fields "unstable"
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::instructions::{InitializeExchangeArgs, SetAuthoritiesArgs, SettleFillsArgs, UpdateMarketArgs};
use perpetual::sdk;
use perpetual::state::{HEADER_LEN, POSITION_LEN};
use perpetual::{Fill, FillResult, MarketStatus, OracleKind, Side};
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

const PRICE: i64 = 1_000_000; // $1 per lot

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Guardian,
    Risk,
    Delegate,
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
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// A custom error code (perpetual, Anchor or a called program).
    Code(u32),
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
    Expect::Code(code(e))
}
fn a(e: AnchorError) -> Expect {
    Expect::Code(anchor_code(e))
}
fn ix_err(e: InstructionError) -> Expect {
    Expect::Ix(e)
}
fn token_err(e: spl_token_interface::error::TokenError) -> Expect {
    Expect::Code(e as u32)
}

fn r(base: &'static str, slot: &'static str, case: Case, expect: Expect) -> Row {
    Row { base, slot, case, expect, note: "", issue: None }
}

impl Row {
    fn note(mut self, note: &'static str) -> Self {
        self.note = note;
        self
    }
    #[allow(dead_code)] // for documenting a refusal with a dubious error while it is fixed
    fn issue(mut self, issue: &'static str) -> Self {
        self.issue = Some(issue);
        self
    }
}

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
        if base == "withdraw" && h == IncludeOwnMarket {
            continue; // withdraw takes no market of its own
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
];

/// Notes printed with the coverage.
const NOT_APPLICABLE: &[&str] = &[
    "non-canonical bump: n/a for every `init` PDA (exchange, vault, approval, oracle, market, margin account): \
     no instruction takes a bump from the user; Anchor derives the canonical bump with find_program_address \
     and the program stores it (the vault-signing bump is read back from the exchange account, never from input)",
    "wrong owner / wrong type for `init` slots: n/a (the account does not exist yet); covered by wrong seeds and re-init",
    "read-only `init` targets: not required (the system-program CPI refuses them, as it does a read-only payer)",
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
    let mut env = TestEnv::new().await;
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
    }
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
    Base { key, ix, slots, valid: true, health: None, own_market: None }
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

    for b in &v {
        assert_eq!(b.slots.len(), b.ix.accounts.len(), "{}: slot names vs accounts", b.key);
    }
    v
}

/// The 24 perpetual instructions, in `lib.rs` order.
const INSTRUCTIONS: [&str; 24] = [
    "initialize_exchange",
    "set_authorities",
    "propose_admin",
    "accept_admin",
    "set_exchange_paused",
    "approve_trader",
    "revoke_trader",
    "create_price_oracle",
    "set_oracle_price",
    "create_market",
    "update_market",
    "set_margins",
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
    "settle_fills",
    "update_reservation",
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
            Case::Reinit | Case::Health(_) => {}
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

/// Sends without asserting: the error (if any) and whether a named account changed.
async fn probe(env: &mut TestEnv, ix: &Instruction, signers: &[Keypair]) -> (Result<(), TransactionError>, bool) {
    let before = snapshot(env, ix).await;
    let refs: Vec<&Keypair> = signers.iter().collect();
    let res = env.process(std::slice::from_ref(ix), &refs).await.map(|_| ());
    let after = snapshot(env, ix).await;
    (res, before != after)
}

fn is_expected(expect: &Expect, err: &TransactionError) -> bool {
    match (expect, err) {
        (Expect::Code(c), e) => custom_code(e) == Some(*c),
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
            Some(acc) if acc.owner == perpetual::ID || acc.owner == spl_token_interface::ID => {
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
            let tag = if acc.owner == perpetual::ID { acc.data[..8].to_vec() } else { acc.data.len().to_le_bytes().to_vec() };
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

    // Every base is well-formed, and every valid one succeeds as is.
    for b in bases.iter().filter(|b| b.valid) {
        let res = simulate(&mut w, &b.ix).await;
        assert!(res.is_ok(), "base {} must succeed unmutated: {res:?}", b.key);
    }
    let by_key: HashMap<&str, &Base> = bases.iter().map(|b| (b.key, b)).collect();

    // Coverage: per slot from the chain, per instruction for duplicates, health and re-init.
    let mut missing = Vec::new();
    let covered = |ix: &str, slot: &str, kind: Kind| rows.iter().any(|r| r.base.split(':').next() == Some(ix) && r.slot == slot && r.case.kind() == kind);
    for name in INSTRUCTIONS {
        let b = by_key.get(name).unwrap_or_else(|| panic!("no base for {name}"));
        assert!(rows.iter().any(|r| r.base.split(':').next() == Some(name)), "{name}: no rows");
        for (slot, kind) in required_kinds(&mut w, b).await {
            let exempt = EXEMPT.iter().any(|(i, s, k, _)| *i == name && *s == slot && *k == kind);
            if !exempt && !covered(name, &slot, kind) {
                missing.push(format!("{name} {slot} {kind:?}"));
            }
        }
        if has_same_kind_writables(&mut w, b).await && !rows.iter().any(|r| r.base == name && r.case.kind() == Kind::Duplicate) {
            missing.push(format!("{name} Duplicate"));
        }
        if b.health.is_some() {
            for h in HEALTH_MUTS {
                if h == HealthMut::IncludeOwnMarket && b.own_market.is_none() {
                    continue;
                }
                if !rows.iter().any(|r| r.base == name && matches!(r.case, Case::Health(x) if x == h)) {
                    missing.push(format!("{name} health {h:?}"));
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
        if creates && !rows.iter().any(|r| r.base.split(':').next() == Some(name) && r.case.kind() == Kind::Reinit) {
            missing.push(format!("{name} Reinit"));
        }
    }
    assert!(missing.is_empty(), "matrix rows missing for:\n  {}", missing.join("\n  "));

    // Run every row.
    let mut mismatches = Vec::new();
    let mut known = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let b = by_key.get(row.base).unwrap_or_else(|| panic!("row {n}: no base {}", row.base));
        let ix = w.mutate(b, row).await;
        let signers = w.signers(&ix);
        let what = format!("#{n} {} {} {:?}", row.base, row.slot, row.case);
        let custom = match &row.expect {
            Expect::Code(c) => Some(*c),
            Expect::Ix(_) => None,
        };
        if row.issue.is_none() && !probe_all && custom.is_some() {
            let refs: Vec<&Keypair> = signers.iter().collect();
            assert_refused(&mut w.env, &[ix], &refs, custom.unwrap(), &what).await;
            continue;
        }
        let (res, changed) = probe(&mut w.env, &ix, &signers).await;
        let ok = matches!(&res, Err(e) if is_expected(&row.expect, e)) && !changed;
        let observed = format!("{res:?}{}", if changed { " (STATE CHANGED)" } else { "" });
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

    // Coverage report.
    let mut per_ix: BTreeMap<usize, (usize, BTreeSet<&str>, BTreeSet<Kind>)> = BTreeMap::new();
    for row in &rows {
        let name = row.base.split(':').next().unwrap();
        let i = INSTRUCTIONS.iter().position(|x| *x == name).unwrap();
        let e = per_ix.entry(i).or_default();
        e.0 += 1;
        e.1.insert(row.slot);
        e.2.insert(row.case.kind());
    }
    let slots: usize = per_ix.values().map(|e| e.1.len()).sum();
    println!("matrix: {} instructions, {} slots, {} cases", per_ix.len(), slots, rows.len());
    for (i, (n, s, k)) in &per_ix {
        println!("  {:<22} {:>3} rows, {:>2} slots, kinds {:?}", INSTRUCTIONS[*i], n, s.len(), k);
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
        let (res, _) = probe(&mut env, &ix, &[signer]).await;
        assert!(res.is_ok(), "{name}: a prefunded PDA must still be created: {res:?}");
        let account = env.account(&pda).await.expect("created");
        assert_eq!(account.owner, perpetual::ID, "{name}");
    }
}
