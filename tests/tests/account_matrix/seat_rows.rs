//! Perpetual's seat instructions reached through the relay (SEAT's registered book): the
//! accounts, the valid instructions and the rows.
use super::table::*;
use super::world::*;
use super::*;

/// The relay's accounts for the seat instructions of `market`.
pub(super) fn relay_seat_accounts(exchange: Pubkey, market: &MarketCookie) -> sdk::SeatAccounts {
    sdk::SeatAccounts { exchange, trader_program: RELAY_ID, market: market.market, oracle: market.oracle }
}

/// The take `tk` makes in SEAT: `lots` bought at $1 from seats whose makers start flat.
pub(super) fn seat_take(lots: u64) -> BookTakeArgs {
    let p = PRICE as u64;
    BookTakeArgs {
        taker_side: Side::Bid,
        base_lots: lots,
        quote: lots * p,
        maker_fees: -((lots * p / 10_000) as i64),
        fills: 1,
        min_price: p,
        max_price: p,
        last_price: p,
        makers_long_change: 0,
        liquidation: false,
        taker_pending: SeatPending::default(),
    }
}

/// What `st`'s seat holds after `tk` took 2 lots at a funding index of `index`.
pub(super) fn st_pending(index: perpetual::math::I80F48) -> SeatPending {
    let weight = perpetual::math::I80F48::from_num(-2) * index;
    SeatPending { bid_lots: 0, ask_lots: 2, quote: 2 * PRICE, fees: -200, funding_weight_bits: weight.to_bits() }
}

/// SEAT, kept by the relay (its registered book): `st` may sell 5 lots at $1 from its seat
/// and has sold 2 of them to `tk`; both hold small positions in `others` against `mk`.
pub(super) async fn relay_seat_world(
    env: &mut TestEnv,
    mk: &UserCookie,
    others: [MarketCookie; 2],
) -> (MarketCookie, UserCookie, UserCookie) {
    let p = PRICE as u64;
    let seat = env.create_market("SEAT", PRICE).await;
    let relay_pda = Pubkey::find_program_address(&[b"trader"], &RELAY_ID).0;
    let accounts = perpetual::accounts::RegisterBook {
        exchange: env.exchange,
        approval: sdk::approval_address(&env.exchange, &RELAY_ID),
        trader_authority: relay_pda,
        market: seat.market,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: Pubkey::new_unique() }.data();
    let (ix, _) = via_relay(Instruction { program_id: perpetual::ID, accounts, data }, &[]);
    env.process(&[ix], &[]).await.expect("the relay registers SEAT's book");
    let st = env.funded_user(1_000 * ONE_USDC).await;
    let tk = env.funded_user(1_000 * ONE_USDC).await;
    for u in [&st, &tk] {
        for market in others {
            env.trade(u, mk, &market, Side::Bid, 1, p).await.expect("small positions");
        }
    }
    let relay_accounts = relay_seat_accounts(env.exchange, &seat);
    let grant = SeatAllowanceArgs {
        pending: SeatPending::default(),
        change: AllowanceChange::Owner,
        bid_lots: 0,
        ask_lots: 5,
        bid_limit: 0,
        ask_limit: p,
    };
    let health = env.health_metas(&st.margin_account, &[seat.market]).await;
    let ix = sdk::set_seat_allowance(&relay_accounts, &st.margin_account, &st.key(), grant, health);
    env.process(&[via_relay(ix, &[]).0], &[&st.owner]).await.expect("st's allowance");
    let health = env.health_metas(&tk.margin_account, &[seat.market]).await;
    let ix = sdk::settle_book_take(&relay_accounts, &tk.margin_account, &tk.key(), seat_take(2), health);
    env.process(&[via_relay(ix, &[]).0], &[&tk.owner]).await.expect("tk takes 2 lots from st's seat");
    (seat, st, tk)
}

/// Perpetual's seat instructions through the relay, and each directly.
pub(super) async fn seat_bases(w: &mut World) -> Vec<Base> {
    let x = &w.x;
    let env = &mut w.env;
    let exchange = env.exchange;
    let mut v = Vec::new();
    // The seat instructions through the relay, SEAT's registered book, and each directly
    // (refused: only the relay can sign for its PDA).
    let seat = x.seat;
    let seat_accounts = relay_seat_accounts(exchange, &seat);
    let own_seat = Some((seat.market, seat.oracle));
    let seat_prefix = ["exchange", "approval", "trader_authority", "market", "oracle"];
    // `priced`: the slot whose four health accounts follow the named ones.
    let mut push =
        |key: &'static str, direct: &'static str, ix: Instruction, slots: &[&str], priced: Option<&'static str>| {
            let (relay, mut relay_slots) = via_relay(ix.clone(), slots);
            let mut direct_slots = names(slots);
            let health = if priced.is_some() { 4 } else { 0 };
            for s in [&mut relay_slots, &mut direct_slots] {
                s.extend((0..health).map(|i| format!("health[{i}]")));
            }
            let health_at = priced.map(|slot| (slots.len() + 1, slot));
            v.push(Base {
                health: health_at,
                own_market: own_seat.filter(|_| health > 0),
                ..base(key, relay, relay_slots)
            });
            v.push(Base { valid: false, ..base(direct, ix, direct_slots) });
        };
    // settle_book_take: tk buys one more lot.
    let health = env.health_metas(&x.tk.margin_account, &[seat.market]).await;
    let ix = sdk::settle_book_take(&seat_accounts, &x.tk.margin_account, &x.tk.key(), seat_take(1), health);
    let slots = [&seat_prefix[..], &["taker", "taker_authority"]].concat();
    push("settle_book_take", "settle_book_take:direct", ix, &slots, Some("taker"));
    // set_seat_allowance: st settles its pending sale and may sell 6 lots.
    let pending = st_pending(env.market_state(&seat.market).await.funding_index.get());
    let grant = SeatAllowanceArgs {
        pending,
        change: AllowanceChange::Owner,
        bid_lots: 0,
        ask_lots: 6,
        bid_limit: 0,
        ask_limit: PRICE as u64,
    };
    let health = env.health_metas(&x.st.margin_account, &[seat.market]).await;
    let ix = sdk::set_seat_allowance(&seat_accounts, &x.st.margin_account, &x.st.key(), grant, health);
    let slots = [&seat_prefix[..], &["margin_account", "authority"]].concat();
    push("set_seat_allowance", "set_seat_allowance:direct", ix, &slots, Some("margin_account"));
    // settle_seats: st's pending sale.
    let ix = sdk::settle_seats(&seat_accounts, &[x.st.margin_account], vec![pending]);
    let slots = ["exchange", "approval", "trader_authority", "market", "seat[0]"];
    push("settle_seats", "settle_seats:direct", ix, &slots, None);
    v
}

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
