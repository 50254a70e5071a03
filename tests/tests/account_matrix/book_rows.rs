//! The order book's rows, and the exemptions, trader routes and non-applicable cases.
use super::table::*;
use super::*;

/// The order book's rows.
pub(super) fn book_rows() -> Vec<Row> {
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
    // ---- the order instructions (OrderAccounts) of the account's owner or delegate ----
    for base in [
        "book.place_order",
        "book.cancel_order",
        "book.cancel_order_by_client_id",
        "book.cancel_all_orders",
        "book.replace_order",
        "book.set_allowance",
    ] {
        // A cancel touches only the book: no CPI, so nothing reads the perpetual accounts.
        let cpi = !base.starts_with("book.cancel");
        // The book checks the exchange against the margin account's.
        v.extend(order_account_rows(base, ob(B::WrongExchange), cpi));
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
    for base in ["book.place_order", "book.replace_order", "book.liquidate_order"] {
        // The book prices the band before matching; it maps perpetual's pricing errors to
        // its own (`from_perp`).
        v.extend([
            r(base, "oracle", ForeignOwner, ob(B::WrongOracle)),
            r(base, "oracle", Swap(K::WrongType, S::OtherMarket), ob(B::WrongOracle)),
            r(base, "oracle", Swap(K::WrongAddress, S::OtherOracle), ob(B::WrongOracle)),
        ]);
    }
    health_rows("book.place_order", &mut v);
    health_rows("book.replace_order", &mut v);
    // A fabricated copy of the placer's account has another key, so it owns no order to replace.
    for row in v.iter_mut().filter(|r| r.base == "book.replace_order") {
        if let Case::Health(
            HealthMut::FabricatedOtherExchange | HealthMut::FabricatedForeignOwned | HealthMut::FabricatedNotMarket,
        ) = row.case
        {
            row.expect = ob(B::OrderNotFound);
            row.note = "the book: the fabricated account (another key) owns no order to replace";
        }
    }
    // ---- liquidate_order (anyone): the book is checked first ----
    v.extend(order_account_rows("book.liquidate_order", ob(B::WrongBook), true));
    health_rows("book.liquidate_order", &mut v);
    v.extend([
        // The liquidated account must hold a position in the book's market.
        r("book.liquidate_order", "margin_account", Swap(K::WrongAddress, S::EmptyMargin), ob(B::InvalidSize)),
        r("book.liquidate_order", "book", Swap(K::WrongAddress, S::Book), ob(B::WrongBook)),
        r("book.liquidate_order", "market", ForeignOwner, ob(B::WrongBook)),
        r("book.liquidate_order", "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r("book.liquidate_order", "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
        r("book.liquidate_order", "margin_account", DupOf("market"), ob(B::NotMarginAccount)),
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
        r(
            "book.early_deleverage",
            "perpetual_program",
            Swap(K::WrongProgram, S::TokenProgram),
            a(A::ConstraintAddress),
        ),
        // ---- close_book (anyone, after final settlement): rent to the creator ----
        // ---- prune_stale_orders (anyone): writes the book ----
        r("book.prune_stale_orders", "book", ForeignOwner, ob(B::WrongOwner)),
        r("book.prune_stale_orders", "book", Swap(K::WrongOwner, S::SystemWallet), ob(B::WrongOwner)),
        r("book.prune_stale_orders", "book", Swap(K::WrongType, S::ZeroBook), ob(B::InvalidBookData)),
        r("book.prune_stale_orders", "book", Swap(K::WrongType, S::Market), ob(B::WrongOwner)),
        r("book.prune_stale_orders", "book", ReadOnly, a(A::ConstraintMut)),
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
        // A book with no seat whose market is still active.
        r("book.close_book:active", "market", Variant(K::WrongAddress), ob(B::MarketNotSettled)),
        // A book of a settled market where a seat is still held (its fills could be lost).
        r("book.close_book:seats", "book", Variant(K::WrongAddress), ob(B::SeatsStillOpen)),
    ]);
    health_rows("book.early_deleverage", &mut v);
    v.extend(super::book_seat_rows::book_seat_rows());
    v
}

/// The rows every `OrderAccounts` instruction shares: the book, the signer's flag, the
/// margin account, the market's flag, the exchange (`exchange_err`: what the first check
/// of it raises), and, when the instruction calls perpetual (`cpi`), the approval.
pub(super) fn order_account_rows(base: &'static str, exchange_err: Expect, cpi: bool) -> Vec<Row> {
    use AnchorError as A;
    use BookError as B;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = vec![
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
        r(base, "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        r(base, "exchange", ForeignOwner, exchange_err.clone()),
        r(base, "exchange", Swap(K::WrongType, S::Market), exchange_err.clone()),
        r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), exchange_err),
    ];
    if cpi {
        v.extend([
            r(base, "approval", ForeignOwner, p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
            r(base, "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
            r(base, "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
        ]);
    }
    v
}

pub(super) const READ_ONLY_PAYER: &str =
    "a read-only payer of `init`: refused by the runtime inside the system-program \
    CPI (PrivilegeEscalation on-chain); natively solana-program-test panics in its CPI stub \
    (ProgramFailedToComplete), so the row is not run";

/// Required (instruction, slot, kind) cells that have no row, and why.
pub(super) const EXEMPT: &[(&str, &str, Kind, &str)] = &[
    ("initialize_exchange", "admin", Kind::Impostor, "the admin is any key the upgrade authority names; who may create is the upgrade_authority slot's rows"),
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
    ("settle_book_take", "perpetual_program", Kind::WrongProgram, "the relay's own account (the program it calls)"),
    ("settle_book_take", "trader_authority", Kind::WrongSeeds, "the relay's PDA (the relay signs for it by seeds); perpetual's checks are covered by settle_book_take:direct"),
    ("set_seat_allowance", "perpetual_program", Kind::WrongProgram, "the relay's own account (the program it calls)"),
    ("set_seat_allowance", "trader_authority", Kind::WrongSeeds, "the relay's PDA (the relay signs for it by seeds); perpetual's checks are covered by set_seat_allowance:direct"),
    ("settle_seats", "perpetual_program", Kind::WrongProgram, "the relay's own account (the program it calls)"),
    ("settle_seats", "trader_authority", Kind::WrongSeeds, "the relay's PDA (the relay signs for it by seeds); perpetual's checks are covered by settle_seats:direct"),
    ("book.create_book", "payer", Kind::Impostor, "any co-signer the authority chooses pays and is recorded as the rent recipient; there is no role to impersonate"),
    ("book.liquidate_order", "authority", Kind::Impostor, "anyone may send a liquidation order; there is no authority to impersonate"),
    ("book.revoke_seat", "authority", Kind::Impostor, "anyone may revoke the seat of an account below maintenance (or in a settled market); there is no authority to impersonate"),
    ("book.reclaim_seat", "authority", Kind::Impostor, "anyone may reclaim an idle seat when no seat is free; there is no authority to impersonate"),
    ("book.cancel_order", "oracle", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_order", "oracle", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_order", "approval", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_order", "approval", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_order", "trader_authority", Kind::WrongSeeds, CANCEL_UNREAD),
    ("book.cancel_order_by_client_id", "oracle", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_order_by_client_id", "oracle", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_order_by_client_id", "approval", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_order_by_client_id", "approval", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_order_by_client_id", "trader_authority", Kind::WrongSeeds, CANCEL_UNREAD),
    ("book.cancel_all_orders", "oracle", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_all_orders", "oracle", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_all_orders", "approval", Kind::WrongOwner, CANCEL_UNREAD),
    ("book.cancel_all_orders", "approval", Kind::WrongType, CANCEL_UNREAD),
    ("book.cancel_all_orders", "trader_authority", Kind::WrongSeeds, CANCEL_UNREAD),
    ("book.create_book", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.place_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.replace_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.set_allowance", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.settle_seats", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.revoke_seat", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.reclaim_seat", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.sample_mark", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.liquidate_order", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
    ("book.early_deleverage", "trader_authority", Kind::WrongSeeds, BOOK_PDA),
];

pub(super) const CANCEL_UNREAD: &str =
    "not read: a cancel touches only the book (the cancelled lots return to the seat, whose \
    allowance stays; no CPI into perpetual since seats), so the perpetual accounts of OrderAccounts that only the \
    CPI would check (oracle, approval, trader PDA) are not read, and any account in the slot is accepted \
    (see the report)";

pub(super) const BOOK_PDA: &str =
    "the book's `trader` PDA, which it does not check itself: it signs the perpetual CPI with \
    its own seeds, so any other account in the slot is an unsigned signer of the CPI, refused by the runtime \
    (PrivilegeEscalation on-chain); natively solana-program-test panics in its CPI stub, so the row is not run. \
    Perpetual's own check of the signature is covered by the `:direct` rows";

/// Perpetual's trader-only instructions that the order book calls: they are covered by the
/// rows of the book instruction (every row of which reaches, or is refused before, the CPI),
/// plus `:direct` rows for the trader signature the book supplies.
pub(super) const VIA: &[(&str, &str)] = &[
    ("record_mark_sample", "book.sample_mark"),
    ("register_book", "book.create_book"),
    ("early_deleverage", "book.early_deleverage"),
];

/// Notes printed with the coverage.
pub(super) const NOT_APPLICABLE: &[&str] = &[
    "non-canonical bump: n/a for every `init` PDA (exchange, vault, approval, oracle, market, margin account): \
     no instruction takes a bump from the user; Anchor derives the canonical bump with find_program_address \
     and the program stores it (the vault-signing bump is read back from the exchange account, never from input)",
    "wrong owner / wrong type for `init` slots: n/a (the account does not exist yet); covered by wrong seeds and re-init",
    "read-only `init` targets: not required (the system-program CPI refuses them, as it does a read-only payer)",
    "non-canonical bump, order book: n/a; the book's only PDA is its `trader` signer, whose bump create_book derives \
     with find_program_address and stores in the book; no instruction takes a bump from the user",
    "release_reservations: no program of the workspace calls it (the order book keeps its makers' allowances \
     in seats and holds no reservations), so it is reached through a native relay trader defined in this test and \
     approved on the exchange",
    "a foreign account among the remaining accounts: instructions that read no remaining accounts ignore extras \
     by design; the rows cover every instruction that reads them (health accounts, makers, released accounts, \
     seats' margin accounts)",
];
