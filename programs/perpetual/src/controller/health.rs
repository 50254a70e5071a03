//! Health of a margin account from the accounts an instruction was given.
//!
//! Order of health accounts: for every non-free position slot, in slot order, its market,
//! optionally followed by that market's oracle, skipping markets the instruction already
//! takes. Without its oracle a market is priced from the index it cached at its last oracle
//! read, which must be within the oracle's staleness limit; the program tells the two
//! layouts apart by whether the next account is that market's oracle.
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fixed_point::mul_bps;
use crate::math::health::{self, HealthKind, MarketPrice, RiskParams};
use crate::math::mark::conservative_price;
use crate::math::I80F48;
use crate::state::{MarginAccount, Market, Position};

/// A market the instruction has already loaded and priced.
#[derive(Clone, Copy)]
pub struct PricedMarket {
    pub key: Pubkey,
    /// The spot index (after its guard rails; the last good one if it jumped).
    pub index: I80F48,
    /// The dual-price mark.
    pub mark: I80F48,
    /// The slow price, which opening risk also respects.
    pub stable: I80F48,
    /// The funding index and funding variation projected to now.
    pub funding_index: I80F48,
    pub funding_variation: I80F48,
    pub risk: RiskParams,
    /// The market's oracles are down: opening risk and withdrawals value a long at the
    /// first price and a short at the second (the last good index moved against the
    /// position by the side's initial margin).
    pub down_prices: Option<(I80F48, I80F48)>,
}

impl PricedMarket {
    /// Prices a loaded market: its settlement price once settled, else index and mark from
    /// the oracle, or from the cached index when no oracle account is given.
    pub fn new(key: Pubkey, market: &Market, oracle: Option<&AccountInfo>, now: i64) -> Result<Self> {
        let (index, mark, stable, down) = if market.is_final_settled() {
            let p = market.settlement_price.get();
            (p, p, p, false)
        } else {
            let prices = match oracle {
                Some(oracle) => market.prices(oracle, now)?,
                None => market.cached_prices(now)?,
            };
            (prices.index, prices.mark, prices.stable, prices.down)
        };
        let down_prices = if down {
            let low = mul_bps(index, market.init_margin_long_bps)?;
            let high = mul_bps(index, market.init_margin_short_bps)?;
            // Rounded against the position: one more unit of the last bit either way.
            let low = checked(index.checked_sub(low).and_then(|v| v.checked_sub(I80F48::DELTA)))?;
            let high = checked(index.checked_add(high).and_then(|v| v.checked_add(I80F48::DELTA)))?;
            Some((low.max(I80F48::ZERO), high))
        } else {
            None
        };
        Ok(Self {
            key,
            index,
            mark,
            stable,
            funding_index: market.projected_funding_index(index, now)?,
            funding_variation: market.projected_funding_variation(index, now)?,
            risk: market.risk_params(),
            down_prices,
        })
    }

    /// Maintenance, liquidation and the margin ratio value positions at the mark.
    pub fn at_mark(&self) -> MarketPrice {
        MarketPrice {
            price_per_lot: self.mark,
            funding_index: self.funding_index,
            funding_variation: self.funding_variation,
        }
    }

    /// Opening risk and withdrawing value a position at the least favourable of index,
    /// mark and stable price (a flat position at the mark).
    /// While the market's oracles are down: the last good index moved against the position
    /// by its side's initial margin.
    pub fn conservative(&self, base_lots: i64) -> MarketPrice {
        let index_or_mark = conservative_price(base_lots, self.index, self.mark);
        let mut price = conservative_price(base_lots, self.stable, index_or_mark);
        if let (Some((low, high)), true) = (self.down_prices, base_lots != 0) {
            price = conservative_price(base_lots, price, if base_lots > 0 { low } else { high });
        }
        MarketPrice {
            price_per_lot: price,
            funding_index: self.funding_index,
            funding_variation: self.funding_variation,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct AccountHealth {
    /// Collateral plus position health at initial margin, open orders at worst case.
    pub initial: I80F48,
    /// The same at maintenance margin.
    pub maintenance: I80F48,
    /// Collateral plus position values less unsettled funding (no open orders).
    pub equity: I80F48,
    /// Maintenance requirement of the positions alone.
    pub maint_requirement: I80F48,
}

impl AccountHealth {
    /// An account holding only `collateral`: every measure equals it, nothing is required.
    pub fn of_collateral(collateral: i64) -> Self {
        let c = I80F48::from_num(collateral);
        AccountHealth { initial: c, maintenance: c, equity: c, maint_requirement: I80F48::ZERO }
    }

    /// True when the ratio of equity to maintenance requirement is no worse than `before`'s.
    pub fn ratio_not_worse_than(&self, before: &AccountHealth) -> bool {
        !health::ratio_improved(self.equity, self.maint_requirement, before.equity, before.maint_requirement)
    }
}

/// Walks the positions, pricing each from `loaded` or from the next (market, oracle) pair.
pub fn account_health<'info>(
    header: &MarginAccount,
    positions: &[Position],
    loaded: &[PricedMarket],
    health_accounts: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<AccountHealth> {
    let mut out = AccountHealth::of_collateral(header.collateral);
    let mut next = 0usize;
    for pos in positions.iter().filter(|p| !p.is_free()) {
        let priced = match loaded.iter().find(|m| m.key == pos.market) {
            Some(m) => *m,
            None => {
                let market_info = health_accounts.get(next).ok_or_else(|| error!(PerpError::HealthAccountsMismatch))?;
                let (priced, used) = price_from_accounts(
                    market_info,
                    health_accounts.get(next + 1),
                    &pos.market,
                    &header.exchange,
                    now,
                )?;
                next += used;
                priced
            }
        };
        add_position(&mut out, pos, &priced)?;
    }
    require!(next == health_accounts.len(), PerpError::HealthAccountsMismatch);
    Ok(out)
}

/// Health from markets already priced, in any order: the same sum the program computes,
/// for the keeper (which prices markets from their cached index with `PricedMarket::new`).
pub fn health_from_priced(
    header: &MarginAccount,
    positions: &[Position],
    priced: &[PricedMarket],
) -> Result<AccountHealth> {
    let mut out = AccountHealth::of_collateral(header.collateral);
    for pos in positions.iter().filter(|p| !p.is_free()) {
        let m = priced.iter().find(|m| m.key == pos.market).ok_or_else(|| error!(PerpError::HealthAccountsMismatch))?;
        add_position(&mut out, pos, m)?;
    }
    Ok(out)
}

fn add_position(out: &mut AccountHealth, pos: &Position, m: &PricedMarket) -> Result<()> {
    let input = pos.as_health_input();
    let (mark, conservative) = (m.at_mark(), m.conservative(input.base_lots));
    let init = health::position_health(&input, &m.risk, &conservative, HealthKind::Initial)?;
    let maint = health::position_health(&input, &m.risk, &mark, HealthKind::Maintenance)?;
    let equity = health::equity(&input, &mark)?;
    let req = health::requirement(input.base_lots, &m.risk, &mark, HealthKind::Maintenance)?;
    out.initial = checked(out.initial.checked_add(init))?;
    out.maintenance = checked(out.maintenance.checked_add(maint))?;
    out.equity = checked(out.equity.checked_add(equity))?;
    out.maint_requirement = checked(out.maint_requirement.checked_add(req))?;
    Ok(())
}

/// Prices the market at `market_info`, reading `next` as its oracle when it is one.
/// Returns the price and how many accounts it used.
fn price_from_accounts<'info>(
    market_info: &'info AccountInfo<'info>,
    next: Option<&'info AccountInfo<'info>>,
    expected: &Pubkey,
    exchange: &Pubkey,
    now: i64,
) -> Result<(PricedMarket, usize)> {
    require_keys_eq!(*market_info.key, *expected, PerpError::HealthAccountsMismatch);
    let loader = AccountLoader::<Market>::try_from(market_info)?;
    let market = loader.load()?;
    require_keys_eq!(market.exchange, *exchange, PerpError::WrongExchange);
    // Either oracle is taken here: pricing then checks it is the one the market reads.
    let oracle = next.filter(|n| market.is_oracle_account(n.key));
    let used = 1 + oracle.is_some() as usize;
    Ok((PricedMarket::new(*expected, &market, oracle, now)?, used))
}

/// Refuses unless initial health is non-negative.
pub fn require_initial(health: &AccountHealth) -> Result<()> {
    require!(health.initial >= 0, PerpError::InsufficientInitialMargin);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;
    use bytemuck::Zeroable;

    fn fx(v: i64) -> I80F48 {
        I80F48::from_num(v)
    }

    fn priced(key: Pubkey, index: i64, mark: i64, stable: i64) -> PricedMarket {
        let risk = RiskParams {
            init_long_bps: 1000,
            maint_long_bps: 500,
            init_short_bps: 1000,
            maint_short_bps: 500,
            band_bps: 500,
            maker_fee_ppm: 0,
        };
        PricedMarket {
            key,
            index: fx(index),
            mark: fx(mark),
            stable: fx(stable),
            funding_index: I80F48::ZERO,
            funding_variation: I80F48::ZERO,
            risk,
            down_prices: None,
        }
    }

    #[test]
    fn health_from_priced_sums_positions_at_their_prices() {
        let (sol, eth) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut header = MarginAccount::zeroed();
        header.collateral = 1_000;
        let mut long = Position::zeroed();
        long.market = sol;
        long.base_lots = 10;
        // A free slot between positions is skipped, and a market without a position is unused.
        let positions = [Position::zeroed(), long];
        let markets = [priced(eth, 50, 50, 50), priced(sol, 100, 110, 105)];
        let h = health_from_priced(&header, &positions, &markets).unwrap();
        // Initial at the least of index, mark and stable (100); maintenance and equity at the mark.
        assert_eq!(h.initial, fx(1_000 + 1_000 - 100));
        assert_eq!(h.maintenance, fx(1_000 + 1_100 - 55));
        assert_eq!(h.equity, fx(2_100));
        assert_eq!(h.maint_requirement, fx(55));
        // A position whose market is not priced is an error, not a free pass.
        assert!(health_from_priced(&header, &positions, &markets[..1]).is_err());
    }

    #[test]
    fn ratio_and_initial_gates() {
        let h = |equity: i64, req: i64| AccountHealth {
            equity: fx(equity),
            maint_requirement: fx(req),
            ..AccountHealth::of_collateral(0)
        };
        assert!(h(10, 100).ratio_not_worse_than(&h(10, 100)));
        assert!(h(20, 100).ratio_not_worse_than(&h(10, 100)));
        assert!(!h(9, 100).ratio_not_worse_than(&h(10, 100)));
        let c = AccountHealth::of_collateral(7);
        assert_eq!((c.initial, c.maintenance, c.equity, c.maint_requirement), (fx(7), fx(7), fx(7), I80F48::ZERO));
        assert!(require_initial(&AccountHealth::of_collateral(0)).is_ok());
        assert_eq!(
            require_initial(&AccountHealth { initial: -I80F48::DELTA, ..AccountHealth::of_collateral(0) }).unwrap_err(),
            PerpError::InsufficientInitialMargin.into()
        );
    }
}
