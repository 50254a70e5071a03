//! Rows of the seat instructions, reached through the relay (SEAT's registered book).
use super::table::*;
use super::*;

/// The accounts every seat instruction starts with.
fn prefix_rows(base: &'static str, with_oracle: bool) -> Vec<Row> {
    use AnchorError as A;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = vec![
        r(base, "exchange", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r(base, "exchange", Swap(K::WrongType, S::OtherMarket), a(A::AccountDiscriminatorMismatch)),
        r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), p(P::WrongExchange)),
        r(base, "approval", ForeignOwner, p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r(base, "approval", Swap(K::WrongAddress, S::BookApproval), p(P::WrongTraderAuthority)),
        r(base, "market", ForeignOwner, a(A::AccountOwnedByWrongProgram)),
        r(base, "market", Swap(K::WrongType, S::Exchange), a(A::AccountDiscriminatorMismatch)),
        r(base, "market", Swap(K::WrongExchange, S::Market2), p(P::WrongExchange)),
        // SOL has no registered book; BOOK's is the order book's.
        r(base, "market", Swap(K::WrongAddress, S::Market), p(P::NotTheMarketsBook)),
        r(base, "market", ReadOnly, a(A::ConstraintMut)),
    ];
    if with_oracle {
        v.extend([
            r(base, "oracle", ForeignOwner, p(P::WrongOracle)),
            r(base, "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
            r(base, "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        ]);
    }
    v
}

/// Rows for a margin account slot the seat instruction loads and writes (`read_only`: an
/// Anchor `mut` slot, or a remaining account perpetual checks itself).
fn margin_rows(base: &'static str, slot: &'static str, wrong_address: Expect, read_only: Expect) -> Vec<Row> {
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    vec![
        r(base, slot, ForeignOwner, p(P::WrongOwner)),
        r(base, slot, Swap(K::WrongOwner, S::Missing), p(P::WrongOwner)),
        r(base, slot, Swap(K::WrongType, S::OtherOracle), p(P::NotMarginAccount)),
        r(base, slot, Swap(K::WrongExchange, S::Margin2), p(P::WrongExchange)),
        r(base, slot, Swap(K::WrongAddress, S::EmptyMargin), wrong_address),
        r(base, slot, ReadOnly, read_only),
        r(base, slot, DupOf("market"), p(P::DuplicateAccount)),
    ]
}

pub(super) fn seat_rows() -> Vec<Row> {
    use AnchorError as A;
    use Case::*;
    use PerpError as P;
    let mut v = Vec::new();
    for direct in ["settle_book_take:direct", "set_seat_allowance:direct", "settle_seats:direct"] {
        v.push(r(direct, "trader_authority", Unsigned, a(A::AccountNotSigner)));
        v.push(r(direct, "trader_authority", Impostor, p(P::WrongTraderAuthority)));
    }
    v.extend(prefix_rows("settle_book_take", true));
    v.extend(margin_rows("settle_book_take", "taker", p(P::NotOwnerOrDelegate), a(A::ConstraintMut)));
    v.extend([
        r("settle_book_take", "taker_authority", Unsigned, a(A::AccountNotSigner)),
        r("settle_book_take", "taker_authority", Impostor, p(P::NotOwnerOrDelegate)),
    ]);
    health_rows("settle_book_take", &mut v);

    v.extend(prefix_rows("set_seat_allowance", true));
    v.extend(margin_rows("set_seat_allowance", "margin_account", p(P::NotOwnerOrDelegate), a(A::ConstraintMut)));
    v.extend([
        r("set_seat_allowance", "authority", Unsigned, a(A::AccountNotSigner)),
        r("set_seat_allowance", "authority", Impostor, p(P::NotOwnerOrDelegate)),
    ]);
    health_rows("set_seat_allowance", &mut v);

    v.extend(prefix_rows("settle_seats", false));
    v.extend(margin_rows("settle_seats", "seat[0]", p(P::NoPositionInMarket), p(P::AccountNotWritable)));
    v
}
