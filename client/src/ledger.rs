//! The vault equation, on decoded accounts:
//!
//! vault tokens = sum of collateral + insurance fund + swept fees
//!              + sum over markets of (fees accrued + funding pool + listing deposit
//!                                     + liquidation fees accrued for the insurance fund
//!                                     + cash the book's seats hold for makers).
//!
//! Rounding of funding and fees lands in the pools and fees, so it is on the protocol's
//! side by construction. The simulation report, the integration tests' invariants and the
//! fuzzer all check this one equation.
use perpetual::state::{Exchange, Market};

/// The right-hand side of the vault equation, term by term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Liabilities {
    pub sum_collateral: i128,
    pub insurance_fund: u64,
    /// Fees swept from the markets into the exchange.
    pub fee_balance: u64,
    pub market_fees: i128,
    pub funding_pools: i128,
    pub listing_deposits: i128,
    pub insurance_accrued: i128,
    /// Cash from fills the book's seats hold for makers until `settle_seats`.
    pub pending_seat_cash: i128,
    /// Positions still open in final-settled markets, at their locked value: while such a
    /// market closes position by position, a closed long may be paid before the shorts that
    /// owe it have paid.
    pub settled_open: i128,
}

impl Liabilities {
    /// The terms of `exchange`, the margin accounts' `collateral` and `markets`.
    pub fn of<'a>(
        exchange: &Exchange,
        collateral: impl IntoIterator<Item = i64>,
        markets: impl IntoIterator<Item = &'a Market>,
    ) -> Self {
        let mut l = Liabilities {
            insurance_fund: exchange.insurance_fund,
            fee_balance: exchange.fee_balance,
            ..Default::default()
        };
        l.sum_collateral = collateral.into_iter().map(i128::from).sum();
        for m in markets {
            l.add_market(m);
        }
        l
    }

    /// Adds one market's terms.
    pub fn add_market(&mut self, m: &Market) {
        self.market_fees += m.fees_accrued as i128;
        self.funding_pools += m.funding_pool as i128;
        self.listing_deposits += m.listing_deposit as i128;
        self.insurance_accrued += m.insurance_accrued as i128;
        self.pending_seat_cash += m.pending_seat_cash as i128;
    }

    /// A position still open in a final-settled market, valued at the locked price.
    pub fn add_settled_position(&mut self, base_lots: i64, settlement_price_per_lot: i128) {
        self.settled_open += base_lots as i128 * settlement_price_per_lot;
    }

    /// One market's terms alone.
    pub fn market_terms(m: &Market) -> i128 {
        m.fees_accrued as i128
            + m.funding_pool as i128
            + m.listing_deposit as i128
            + m.insurance_accrued as i128
            + m.pending_seat_cash as i128
    }

    /// The sum: what the vault must hold.
    pub fn total(&self) -> i128 {
        self.sum_collateral
            + self.insurance_fund as i128
            + self.fee_balance as i128
            + self.market_fees
            + self.funding_pools
            + self.listing_deposits
            + self.insurance_accrued
            + self.pending_seat_cash
            + self.settled_open
    }

    /// Whether `vault` tokens balance these liabilities exactly.
    pub fn balances(&self, vault: u64) -> bool {
        vault as i128 == self.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_counts_once() {
        let exchange = Exchange { insurance_fund: 1, fee_balance: 2, ..bytemuck::Zeroable::zeroed() };
        let market = Market {
            fees_accrued: 3,
            funding_pool: 4,
            listing_deposit: 5,
            insurance_accrued: 6,
            pending_seat_cash: 7,
            ..bytemuck::Zeroable::zeroed()
        };
        let l = Liabilities::of(&exchange, [10, -1], [&market, &market]);
        assert_eq!(l.total(), 9 + 1 + 2 + 2 * (3 + 4 + 5 + 6 + 7));
        assert_eq!(Liabilities::market_terms(&market), 25);
        assert!(l.balances(62) && !l.balances(61));
    }
}
