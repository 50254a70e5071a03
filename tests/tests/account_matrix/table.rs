//! The table's vocabulary: attack kinds, prepared substitutes, cases, expectations, rows.
use super::*;

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

/// What kind of attack a row is; the coverage check is in these terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
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
pub(super) enum Sub {
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
    /// Another program's ProgramData account, naming mallory as its upgrade authority.
    OtherProgramData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Who {
    Admin,
    Guardian,
    Risk,
    Delegate,
    Deleverage,
}

/// Mutations of the trailing health accounts (one (market, oracle) pair per position).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum HealthMut {
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

pub(super) const HEALTH_MUTS: [HealthMut; 14] = [
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
pub(super) enum Multi {
    /// approve_trader: a non-executable trader program, with the approval PDA derived for it.
    TraderProgramNotExecutable,
    /// create_market on another exchange, with the market PDA derived for it.
    CreateMarketOnOtherExchange,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Case {
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
    pub(super) fn kind(&self) -> Kind {
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
pub(super) enum Expect {
    /// A custom error code (perpetual, the order book, Anchor or a called program) and, for
    /// program-defined errors, the program that must have raised it (the first to fail in
    /// the logs): perpetual and the order book both number their errors from 6000, so the
    /// code alone is ambiguous. Anchor's framework errors (2000-4999) need no program.
    Code(u32, Option<Pubkey>),
    /// A runtime / program error without a custom code.
    Ix(InstructionError),
}

pub(super) struct Row {
    /// Instruction, optionally `instruction:variant`.
    pub(super) base: &'static str,
    pub(super) slot: &'static str,
    pub(super) case: Case,
    pub(super) expect: Expect,
    /// Where the refusal comes from when it is not perpetual itself.
    pub(super) note: &'static str,
    /// A known program issue: the row runs and must still be refused with every account
    /// unchanged, but a different error is tolerated and printed instead of failing the test.
    pub(super) issue: Option<&'static str>,
}

pub(super) fn p(e: PerpError) -> Expect {
    Expect::Code(code(e), Some(perpetual::ID))
}
pub(super) fn a(e: AnchorError) -> Expect {
    Expect::Code(anchor_code(e), None)
}
pub(super) fn ix_err(e: InstructionError) -> Expect {
    Expect::Ix(e)
}
pub(super) fn token_err(e: spl_token_interface::error::TokenError) -> Expect {
    Expect::Code(e as u32, Some(spl_token_interface::ID))
}
pub(super) fn ob(e: BookError) -> Expect {
    Expect::Code(e.into(), Some(orderbook::ID))
}

pub(super) fn r(base: &'static str, slot: &'static str, case: Case, expect: Expect) -> Row {
    Row { base, slot, case, expect, note: "", issue: None }
}

impl Row {
    pub(super) fn note(mut self, note: &'static str) -> Self {
        self.note = note;
        self
    }
}

/// Health-taking instructions that take no market of their own (full health accounts).
pub(super) const NO_OWN_MARKET: &[&str] = &["withdraw", "mark_underwater", "cover_with_insurance"];

/// The case every health-taking instruction gets for each health mutation.
pub(super) fn health_rows(base: &'static str, rows: &mut Vec<Row>) {
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

/// Every instruction of both programs: perpetual's in `lib.rs` order, then the order
/// book's (prefixed `book.`) in its `lib.rs` order.
pub(super) const INSTRUCTIONS: [&str; 64] = [
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
    "set_oracle",
    "refresh_oracle_source",
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
    "settle_book_take",
    "set_seat_allowance",
    "settle_seats",
    "book.create_book",
    "book.place_order",
    "book.sample_mark",
    "book.liquidate_order",
    "book.early_deleverage",
    "book.close_book",
    "book.cancel_order",
    "book.cancel_order_by_client_id",
    "book.cancel_all_orders",
    "book.prune_stale_orders",
    "book.replace_order",
    "book.set_allowance",
    "book.settle_seats",
    "book.revoke_seat",
    "book.reclaim_seat",
];
