//! Rows of the order book's seat instructions: `set_allowance`, `settle_seats`,
//! `revoke_seat` and `reclaim_seat` (the bases are in `book_bases.rs`).
use super::book_rows::order_account_rows;
use super::table::*;
use super::*;

/// The fabricated health rows replace the margin account with a copy under another key,
/// which holds no seat: the book refuses it before perpetual prices it.
fn no_seat_for_fabricated(base: &'static str, v: &mut [Row]) {
    for row in v.iter_mut().filter(|r| r.base == base) {
        if let Case::Health(
            HealthMut::FabricatedOtherExchange | HealthMut::FabricatedForeignOwned | HealthMut::FabricatedNotMarket,
        ) = row.case
        {
            row.expect = ob(BookError::SeatUnavailable);
            row.note = "the book: the fabricated account (another key) holds no seat to revoke";
        }
    }
}

pub(super) fn book_seat_rows() -> Vec<Row> {
    use AnchorError as A;
    use BookError as B;
    use Case::*;
    use Kind as K;
    use PerpError as P;
    use Sub as S;
    let mut v = Vec::new();
    // ---- set_allowance (the owner or delegate; rows shared with place_order in book_rows) ----
    // Perpetual reads the oracle (the book prices nothing itself here).
    for base in ["book.set_allowance", "book.revoke_seat", "book.reclaim_seat"] {
        v.extend([
            r(base, "oracle", ForeignOwner, p(P::WrongOracle)),
            r(base, "oracle", Swap(K::WrongType, S::OtherMarket), p(P::WrongOracle)),
            r(base, "oracle", Swap(K::WrongAddress, S::OtherOracle), p(P::WrongOracle)),
        ]);
    }
    health_rows("book.set_allowance", &mut v);
    // The allowance must cover the 2 lots resting.
    v.push(r(
        "book.set_allowance:below_orders",
        "margin_account",
        Variant(K::WrongAddress),
        ob(B::AllowanceBelowOrders),
    ));

    // ---- revoke_seat / reclaim_seat (anyone): the account is read first, then the book ----
    for base in ["book.revoke_seat", "book.reclaim_seat"] {
        v.extend(order_account_rows(base, ob(B::WrongExchange), true));
        v.extend([
            // Neither is BOOK's book, where the account holds no seat.
            r(base, "book", Swap(K::WrongAddress, S::Book), ob(B::WrongBook)),
            r(base, "market", ForeignOwner, ob(B::WrongBook)),
            r(base, "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
            r(base, "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
            r(base, "margin_account", Swap(K::WrongAddress, S::EmptyMargin), ob(B::SeatUnavailable)),
            r(base, "margin_account", Swap(K::WrongAddress, S::OtherMargin), ob(B::SeatUnavailable)),
            r(base, "margin_account", DupOf("market"), ob(B::NotMarginAccount)),
        ]);
    }
    health_rows("book.revoke_seat", &mut v);
    no_seat_for_fabricated("book.revoke_seat", &mut v);
    v.extend([
        // A healthy account in an active market.
        r("book.revoke_seat:healthy", "margin_account", Variant(K::WrongAddress), p(P::SeatNotRevocable)),
        // A seat with orders, in a book with free seats.
        r("book.reclaim_seat:busy", "margin_account", Variant(K::WrongAddress), ob(B::SeatNotReclaimable)),
    ]);

    // ---- settle_seats (anyone): the book checks each seat's account, perpetual the rest ----
    let base = "book.settle_seats";
    v.extend([
        r(base, "book", ForeignOwner, ob(B::WrongOwner)),
        r(base, "book", Swap(K::WrongOwner, S::SystemWallet), ob(B::WrongOwner)),
        r(base, "book", Swap(K::WrongType, S::ZeroBook), ob(B::InvalidBookData)),
        r(base, "book", Swap(K::WrongType, S::Market), ob(B::WrongOwner)),
        r(base, "book", Swap(K::WrongAddress, S::OtherBook), ob(B::WrongBook)),
        r(base, "book", ReadOnly, a(A::ConstraintMut)),
        r(base, "market", ForeignOwner, ob(B::WrongBook)),
        r(base, "market", Swap(K::WrongType, S::Exchange), ob(B::WrongBook)),
        r(base, "market", Swap(K::WrongExchange, S::Market2), ob(B::WrongBook)),
        r(base, "market", ReadOnly, a(A::ConstraintMut)),
        r(base, "exchange", ForeignOwner, ob(B::WrongBook)),
        r(base, "exchange", Swap(K::WrongType, S::Market), ob(B::WrongBook)),
        r(base, "exchange", Swap(K::WrongExchange, S::Exchange2), ob(B::WrongBook)),
        r(base, "approval", ForeignOwner, p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongOwner, S::Missing), p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongType, S::Market), p(P::TraderNotApproved)),
        r(base, "approval", Swap(K::WrongExchange, S::Approval2), p(P::WrongExchange)),
        r(base, "approval", Swap(K::WrongAddress, S::TraderApproval), p(P::WrongTraderAuthority)),
        r(base, "perpetual_program", Swap(K::WrongProgram, S::TokenProgram), a(A::ConstraintAddress)),
        // Any account but the seat's own is refused by the book.
        r(base, "seat[0]", ForeignOwner, ob(B::SeatUnavailable)),
        r(base, "seat[0]", Swap(K::WrongOwner, S::Missing), ob(B::SeatUnavailable)),
        r(base, "seat[0]", Swap(K::WrongType, S::OtherOracle), ob(B::SeatUnavailable)),
        r(base, "seat[0]", Swap(K::WrongExchange, S::Margin2), ob(B::SeatUnavailable)),
        r(base, "seat[0]", Swap(K::WrongAddress, S::EmptyMargin), ob(B::SeatUnavailable)),
        r(base, "seat[0]", DupOf("market"), ob(B::SeatUnavailable)),
        // The book passes the account on with its own flags: perpetual needs it writable.
        r(base, "seat[0]", ReadOnly, p(P::AccountNotWritable)),
        // A seat named without its account; a seat beyond the table.
        r("book.settle_seats:no_account", "seat[0]", Variant(K::Remaining), ob(B::SeatAccountsMismatch)),
        r("book.settle_seats:out_of_range", "seat[0]", Variant(K::WrongAddress), ob(B::SeatOutOfRange)),
    ]);
    v
}
