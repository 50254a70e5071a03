//! The invariants checked after every step.
use super::state::*;
use super::*;
use client::Liabilities;

// ---------------------------------------------------------------------------------------
// Invariants after every step
// ---------------------------------------------------------------------------------------

pub(super) async fn check_all(env: &mut TestEnv, st: &mut State) {
    let vault_key = env.vault;
    let vault = env.token_balance(&vault_key).await as i128;
    let ex = env.exchange_state().await;
    let mut accounts: Vec<(Pubkey, i64, Vec<Position>)> = vec![];
    for a in env.margin_accounts.clone() {
        let (h, ps) = env.margin(&a).await;
        // A slot may stay allocated and empty only where a risk op cleared the account's
        // reservations in markets it did not load (see `invariants::check`); elsewhere an
        // emptied slot must be released at once.
        for p in &ps {
            assert!(
                p.is_free() || !p.is_empty() || st.cleared.contains(&a),
                "account {a} keeps an empty position slot"
            );
        }
        accounts.push((a, h.collateral, ps));
    }
    // The vault equation (`client::ledger`), plus what open positions in settled markets
    // still owe at the locked price.
    let mut liabilities = Liabilities::of(&ex, accounts.iter().map(|(_, collateral, _)| *collateral), []);
    let mut every_market_sums_to_zero = true;
    // Each op settles at most a handful of positions per market, each rounding by < 1 unit.
    let dust_bound = 16 * (st.steps_done as i128 + 1);
    for m in st.markets.iter().filter(|m| !m.closed) {
        let s = env.market_state(&m.cookie.market).await;
        let sym = s.symbol_str().to_string();
        liabilities.add_market(&s);
        let positions: Vec<&Position> = accounts
            .iter()
            .flat_map(|(_, _, ps)| ps.iter())
            .filter(|p| !p.is_free() && p.market == m.cookie.market)
            .collect();
        // The book's held seats, read once: their pending lots and funding count below.
        let mut seats = vec![];
        if let Some(book) = m.book {
            if env.account(&book.venue.book).await.is_some() {
                let data = env.book_data(&book).await;
                let b = BookRef::parse(&data).expect("book");
                seats.extend(b.seats.iter().filter(|s| !s.is_free()).copied());
            }
        }
        // Lots pending in the book's seats count with the positions; open interest counts
        // each seat's account at its effective position (settled plus pending).
        let sum: i128 = positions.iter().map(|p| p.base_lots as i128).sum::<i128>() + s.pending_seat_lots as i128;
        let mut effective: BTreeMap<Pubkey, i64> = accounts
            .iter()
            .flat_map(|(a, _, ps)| {
                ps.iter().filter(|p| !p.is_free() && p.market == m.cookie.market).map(|p| (*a, p.base_lots))
            })
            .collect();
        for seat in &seats {
            *effective.entry(seat.margin_account).or_default() += seat.pending_lots();
        }
        let longs: u128 = effective.values().map(|l| (*l).max(0) as u128).sum();
        assert_eq!(longs, s.open_interest_lots as u128, "open interest of {sym}");
        assert_eq!(positions.len() as u64, s.open_slots, "open position slots of {sym}");
        if s.is_final_settled() {
            // Closed positions were paid at the locked price; the open ones still owe it.
            let price = s.settlement_price.get().to_num::<i128>();
            for p in &positions {
                liabilities.add_settled_position(p.base_lots, price);
            }
            // So do the lots still pending in seats (their cash is already counted).
            liabilities.add_settled_position(s.pending_seat_lots, price);
        } else {
            assert_eq!(sum, 0, "positions in {sym} sum to {sum}");
        }
        every_market_sums_to_zero &= sum == 0;
        // Funding: settle everyone at the stored index, read-only.
        // A seat's pending fills owe from their own fills' index (its funding weight), and
        // settle with the position in one rounding.
        let index = s.funding_index.get();
        let seat_owed: BTreeMap<Pubkey, perpetual::math::I80F48> = seats
            .iter()
            .map(|seat| {
                let weight = seat.pending_funding_weight.get();
                let owed = funding::pending_owed(index, seat.pending_lots(), weight).expect("pending owed");
                (seat.margin_account, owed)
            })
            .collect();
        let mut pending = 0i128;
        for (a, p) in accounts
            .iter()
            .flat_map(|(a, _, ps)| ps.iter().map(move |p| (*a, p)))
            .filter(|(_, p)| !p.is_free() && p.market == m.cookie.market)
        {
            let owed = funding::owed(index, p.cached_funding_index.get(), p.base_lots).expect("owed")
                + seat_owed.get(&a).copied().unwrap_or_default();
            pending += funding::collateral_change(owed).expect("funding change") as i128;
        }
        let pool_after = s.funding_pool as i128 - pending;
        assert!(
            pool_after >= 0,
            "funding of {sym} is not zero-sum: pool {} - pending {pending} = {pool_after} < 0",
            s.funding_pool
        );
        assert!(
            pool_after <= dust_bound,
            "funding pool of {sym} keeps {pool_after} after settling everyone, more than rounding dust ({dust_bound})"
        );
    }
    let liabilities = liabilities.total();
    assert_eq!(vault, liabilities, "vault equation: vault {vault} != liabilities {liabilities}");
    if every_market_sums_to_zero {
        invariants::check(env).await;
    }
    check_books(env, st).await;
}

pub(super) async fn check_books(env: &mut TestEnv, st: &mut State) {
    for mi in 0..st.markets.len() {
        let Some(book) = st.markets[mi].book else { continue };
        if st.markets[mi].closed || env.account(&book.venue.book).await.is_none() {
            continue;
        }
        // Trees, seats against their orders, allowances against `perpetual`, pending lots.
        check_book(env, &book).await;
    }
}
