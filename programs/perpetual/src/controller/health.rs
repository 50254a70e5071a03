//! Health of a margin account from the accounts an instruction was given.
//!
//! Order of health accounts: for every non-free position slot, in slot order, its market
//! then that market's oracle, skipping markets the instruction already takes.
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::health::{self, HealthKind, MarketPrice, RiskParams};
use crate::math::I80F48;
use crate::state::{oracle_price_per_lot, MarginAccount, Market, MarketStatus, Position};

/// A market the instruction has already loaded and priced.
#[derive(Clone, Copy)]
pub struct PricedMarket {
    pub key: Pubkey,
    pub price: MarketPrice,
    pub risk: RiskParams,
}

impl PricedMarket {
    /// Prices a loaded market: its settlement price once settled, else the oracle.
    pub fn new(key: Pubkey, market: &Market, oracle: &AccountInfo, now: i64) -> Result<Self> {
        let price_per_lot = if market.status == MarketStatus::FinalSettlement as u8 {
            market.settlement_price.get()
        } else {
            oracle_price_per_lot(market, oracle, now)?
        };
        Ok(Self {
            key,
            price: MarketPrice { price_per_lot, funding_index: market.projected_funding_index(price_per_lot, now)? },
            risk: market.risk_params(),
        })
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

/// Walks the positions, pricing each from `loaded` or from the next (market, oracle) pair.
pub fn account_health<'info>(
    header: &MarginAccount,
    positions: &[Position],
    loaded: &[PricedMarket],
    health_accounts: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<AccountHealth> {
    let collateral = I80F48::from_num(header.collateral);
    let mut out = AccountHealth { initial: collateral, maintenance: collateral, equity: collateral, maint_requirement: I80F48::ZERO };
    let mut next = 0usize;
    for pos in positions.iter().filter(|p| !p.is_free()) {
        let priced = match loaded.iter().find(|m| m.key == pos.market) {
            Some(m) => *m,
            None => {
                let pair = health_accounts.get(next..next + 2).ok_or(error!(PerpError::HealthAccountsMismatch))?;
                next += 2;
                price_from_accounts(&pair[0], &pair[1], &pos.market, &header.exchange, now)?
            }
        };
        add_position(&mut out, pos, &priced)?;
    }
    require!(next == health_accounts.len(), PerpError::HealthAccountsMismatch);
    Ok(out)
}

fn add_position(out: &mut AccountHealth, pos: &Position, m: &PricedMarket) -> Result<()> {
    let input = pos.as_health_input();
    let init = health::position_health(&input, &m.risk, &m.price, HealthKind::Initial)?;
    let maint = health::position_health(&input, &m.risk, &m.price, HealthKind::Maintenance)?;
    let equity = health::equity(&input, &m.price)?;
    let req = health::requirement(input.base_lots, &m.risk, &m.price, HealthKind::Maintenance)?;
    out.initial = checked(out.initial.checked_add(init))?;
    out.maintenance = checked(out.maintenance.checked_add(maint))?;
    out.equity = checked(out.equity.checked_add(equity))?;
    out.maint_requirement = checked(out.maint_requirement.checked_add(req))?;
    Ok(())
}

fn price_from_accounts<'info>(
    market_info: &'info AccountInfo<'info>,
    oracle_info: &'info AccountInfo<'info>,
    expected: &Pubkey,
    exchange: &Pubkey,
    now: i64,
) -> Result<PricedMarket> {
    require_keys_eq!(*market_info.key, *expected, PerpError::HealthAccountsMismatch);
    let loader = AccountLoader::<Market>::try_from(market_info)?;
    let market = loader.load()?;
    require_keys_eq!(market.exchange, *exchange, PerpError::WrongExchange);
    PricedMarket::new(*expected, &market, oracle_info, now)
}

/// Refuses unless initial health is non-negative.
pub fn require_initial(health: &AccountHealth) -> Result<()> {
    require!(health.initial >= 0, PerpError::InsufficientInitialMargin);
    Ok(())
}
