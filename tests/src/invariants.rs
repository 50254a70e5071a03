//! The exchange's invariants, checked from account bytes on the chain.
//!
//! - Per market: positions and the lots pending in the book's seats sum to zero, and longs
//!   sum to the recorded open interest, each account's position counted with the lots its
//!   seat holds pending (as the program counts them).
//! - The vault equation, exactly ([`client::ledger`]): vault tokens = sum of collateral +
//!   insurance fund + swept fees + fees accrued in markets + funding pools + listing
//!   deposits + liquidation fees accrued in markets for the insurance fund + cash pending
//!   in seats. Rounding of
//!   funding and fees lands in the pools and fees, so it is on the protocol's side by
//!   construction.
use anchor_lang::prelude::Pubkey;
use client::Liabilities;
use orderbook::state::BookRef;

use crate::env::TestEnv;

/// The vault's balance and the terms of the vault equation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub vault: u64,
    pub ledger: Liabilities,
}

impl Totals {
    /// What the vault must hold.
    pub fn liabilities(&self) -> i128 {
        self.ledger.total()
    }
}

/// (margin account, net lots) pending in the seats of `market`'s books.
async fn pending_by_account(env: &mut TestEnv, market: &Pubkey) -> Vec<(Pubkey, i128)> {
    let mut out = vec![];
    for book in env.books.clone().iter().filter(|b| b.market.market == *market) {
        let Some(account) = env.account(&book.venue.book).await else { continue };
        let Ok(b) = BookRef::parse(&account.data) else { continue };
        for seat in b.seats.iter().filter(|s| !s.is_free()) {
            if seat.pending_lots() != 0 {
                out.push((seat.margin_account, seat.pending_lots() as i128));
            }
        }
    }
    out
}

/// Asserts every invariant and returns the totals.
pub async fn check(env: &mut TestEnv) -> Totals {
    let vault = env.token_balance(&env.vault.clone()).await;
    let exchange = env.exchange_state().await;

    let accounts = env.margin_accounts.clone();
    let mut all = Vec::new();
    let mut collateral = Vec::new();
    for a in &accounts {
        let (header, positions) = env.margin(a).await;
        collateral.push(header.collateral);
        all.push(positions);
    }
    let mut l = Liabilities::of(&exchange, collateral, []);
    for m in env.markets.clone() {
        let market = env.market_state(&m.market).await;
        l.add_market(&market);
        let positions = all.iter().flatten().filter(|p| p.market == m.market);
        let (sum, longs) =
            positions.fold((0i128, 0u128), |(s, l), p| (s + p.base_lots as i128, l + p.base_lots.max(0) as u128));
        let pending = market.pending_seat_lots as i128;
        assert_eq!(
            sum + pending,
            0,
            "positions in {} sum to {sum} with {pending} pending in seats",
            market.symbol_str()
        );
        // Open interest counts each seat's pending fills as settled (the book's seats know
        // them; the margin accounts do not yet). Pending lots of different seats may net to
        // zero in the market's total, so they are read seat by seat.
        let seats = pending_by_account(env, &m.market).await;
        let longs = if seats.is_empty() {
            longs
        } else {
            accounts
                .iter()
                .zip(&all)
                .map(|(key, positions)| {
                    let held: i128 =
                        positions.iter().filter(|p| p.market == m.market).map(|p| p.base_lots as i128).sum();
                    let seat: i128 = seats.iter().filter(|(k, _)| k == key).map(|(_, n)| *n).sum();
                    (held + seat).max(0) as u128
                })
                .sum()
        };
        assert_eq!(longs, market.open_interest_lots as u128, "open interest of {}", market.symbol_str());
        // Every slot naming the market is counted, so it closes only when none is left. (A
        // slot may be empty for a while: liquidation clears reservations in markets it does
        // not load, and the slot is released the next time the account touches that market.)
        let slots = all.iter().flatten().filter(|p| p.market == m.market).count() as u64;
        assert_eq!(slots, market.open_slots, "open slots of {}", market.symbol_str());
    }
    assert!(l.balances(vault), "vault equation: vault {vault} != {l:?}");
    Totals { vault, ledger: l }
}
