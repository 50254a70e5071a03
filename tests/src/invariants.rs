//! The exchange's invariants, checked from account bytes on the chain.
//!
//! - Per market: positions sum to zero, and longs sum to the recorded open interest.
//! - The vault equation, exactly: vault tokens = sum of collateral + insurance fund +
//!   swept fees + fees accrued in markets + funding pools + listing deposits + liquidation
//!   fees accrued in markets for the insurance fund. Rounding of funding and fees
//!   lands in the pools and fees, so it is on the protocol's side by construction.
use crate::env::TestEnv;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub vault: u64,
    pub sum_collateral: i128,
    pub insurance_fund: u64,
    pub fee_balance: u64,
    pub market_fees: i128,
    pub funding_pools: i128,
    pub listing_deposits: i128,
    pub insurance_accrued: i128,
}

impl Totals {
    pub fn liabilities(&self) -> i128 {
        self.sum_collateral + self.insurance_fund as i128 + self.fee_balance as i128 + self.market_fees + self.funding_pools + self.listing_deposits + self.insurance_accrued
    }
}

/// Asserts every invariant and returns the totals.
pub async fn check(env: &mut TestEnv) -> Totals {
    let mut t = Totals { vault: env.token_balance(&env.vault.clone()).await, ..Default::default() };
    let exchange = env.exchange_state().await;
    t.insurance_fund = exchange.insurance_fund;
    t.fee_balance = exchange.fee_balance;

    let accounts = env.margin_accounts.clone();
    let mut all = Vec::new();
    for a in &accounts {
        let (header, positions) = env.margin(a).await;
        t.sum_collateral += header.collateral as i128;
        all.push(positions);
    }
    for m in env.markets.clone() {
        let market = env.market_state(&m.market).await;
        t.market_fees += market.fees_accrued as i128;
        t.funding_pools += market.funding_pool as i128;
        t.listing_deposits += market.listing_deposit as i128;
        t.insurance_accrued += market.insurance_accrued as i128;
        let positions = all.iter().flatten().filter(|p| p.market == m.market);
        let (sum, longs) = positions.fold((0i128, 0u128), |(s, l), p| (s + p.base_lots as i128, l + p.base_lots.max(0) as u128));
        assert_eq!(sum, 0, "positions in {} sum to {sum}", market.symbol_str());
        assert_eq!(longs, market.open_interest_lots as u128, "open interest of {}", market.symbol_str());
        // Every slot naming the market is counted, so it closes only when none is left. (A
        // slot may be empty for a while: liquidation clears reservations in markets it does
        // not load, and the slot is released the next time the account touches that market.)
        let slots = all.iter().flatten().filter(|p| p.market == m.market).count() as u64;
        assert_eq!(slots, market.open_slots, "open slots of {}", market.symbol_str());
    }
    assert_eq!(
        t.vault as i128,
        t.liabilities(),
        "vault equation: vault {} != collateral {} + insurance {} + fees {} + market fees {} + funding pools {} + listing deposits {} + insurance accrued {}",
        t.vault, t.sum_collateral, t.insurance_fund, t.fee_balance, t.market_fees, t.funding_pools, t.listing_deposits, t.insurance_accrued
    );
    t
}
