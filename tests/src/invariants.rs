//! The exchange's invariants, checked from account bytes on the chain.
//!
//! - Per market: positions and the lots pending in the book's seats sum to zero, and longs
//!   sum to the recorded open interest (once nothing is pending).
//! - The vault equation, exactly ([`client::ledger`]): vault tokens = sum of collateral +
//!   insurance fund + swept fees + fees accrued in markets + funding pools + listing
//!   deposits + liquidation fees accrued in markets for the insurance fund + cash pending
//!   in seats. Rounding of
//!   funding and fees lands in the pools and fees, so it is on the protocol's side by
//!   construction.
use client::Liabilities;

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
        // With fills pending in seats, open interest counts each seat's position as settled
        // (the book's seats know it; the margin accounts do not yet).
        if pending == 0 {
            assert_eq!(longs, market.open_interest_lots as u128, "open interest of {}", market.symbol_str());
        }
        // Every slot naming the market is counted, so it closes only when none is left. (A
        // slot may be empty for a while: liquidation clears reservations in markets it does
        // not load, and the slot is released the next time the account touches that market.)
        let slots = all.iter().flatten().filter(|p| p.market == m.market).count() as u64;
        assert_eq!(slots, market.open_slots, "open slots of {}", market.symbol_str());
    }
    assert!(l.balances(vault), "vault equation: vault {vault} != {l:?}");
    Totals { vault, ledger: l }
}
