//! The simulation's report: what happened, and the invariants read from the chain.
use anchor_lang::prelude::Pubkey;
use client::chain::{Chain, ChainError};
use client::{discovery, Liabilities};
use perpetual::state::Market;
use serde::Serialize;

use super::world::World;
use super::Counts;

/// Per-minute values of one market, for the chart and the counts.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub symbol: String,
    pub index: Vec<f64>,
    pub mark: Vec<f64>,
    pub last: Vec<f64>,
    /// Funding rate, percent per hour.
    pub funding: Vec<f64>,
    /// Open interest, base units.
    pub open_interest: Vec<f64>,
    /// (minute index, kind) of each liquidation and deleveraging in this market.
    pub events: Vec<(usize, crate::cranks::RiskEventKind)>,
    /// The minute index at which the market was final-settled.
    pub final_settlement: Option<usize>,
    #[serde(skip)]
    funding_ts: Vec<i64>,
    #[serde(skip)]
    sample_ts: Vec<i64>,
    #[serde(skip)]
    fills: u64,
    #[serde(skip)]
    settled: bool,
}

impl Series {
    pub fn new(symbol: &str) -> Self {
        Self {
            symbol: symbol.into(),
            index: vec![],
            mark: vec![],
            last: vec![],
            funding: vec![],
            open_interest: vec![],
            events: vec![],
            final_settlement: None,
            funding_ts: vec![],
            sample_ts: vec![],
            fills: 0,
            settled: false,
        }
    }

    /// Records a market's state; `scale` converts quote native per lot into dollars of base price.
    pub fn push(&mut self, m: &Market, scale: f64, lot_base: f64) {
        let dollars = |v: f64| v / scale;
        let index =
            if m.has_index() { m.index_price.get().to_num::<f64>() } else { m.mark_price.get().to_num::<f64>() };
        self.index.push(dollars(index));
        self.mark.push(dollars(m.mark_price.get().to_num::<f64>()));
        self.last.push(dollars(m.last_trade_price as f64));
        self.funding.push(m.funding_rate_ppbh as f64 / 1e7);
        self.open_interest.push(m.open_interest_lots as f64 * lot_base);
        if m.is_final_settled() && self.final_settlement.is_none() {
            self.final_settlement = Some(self.index.len() - 1);
        }
        self.funding_ts.push(m.funding_last_update_ts);
        self.sample_ts.push(m.mark_last_sample_ts);
        self.fills = m.total_fills;
        self.settled |= m.is_final_settled();
    }

    /// Funding-index updates seen (a market without an index pays a zero rate, but its
    /// index is still brought up to date).
    pub fn funding_updates(&self) -> usize {
        self.funding_ts.windows(2).filter(|w| w[0] != w[1]).count()
    }

    /// Distinct mark samples seen.
    pub fn mark_samples(&self) -> usize {
        let mut ts: Vec<i64> = self.sample_ts.iter().copied().filter(|t| *t > 0).collect();
        ts.dedup();
        ts.len()
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MarketReport {
    pub symbol: String,
    pub fills: u64,
    pub funding_updates: u64,
    pub mark_samples: u64,
    pub final_settled: bool,
    pub sum_positions: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Insurance {
    pub start: u64,
    pub end: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub scenario: super::Scenario,
    /// The minutes SOL crashed or rallied over (first and last), in those scenarios.
    pub move_minutes: Option<(u32, u32)>,
    /// The leveraged accounts, in the order they were opened.
    pub leveraged: Vec<LeveragedReport>,
    pub minutes: usize,
    pub markets: Vec<MarketReport>,
    /// Takeovers and liquidations through the book.
    pub liquidations: u32,
    /// Of which through the book (`liquidate_order`): the makers took the position.
    pub book_liquidations: u32,
    pub early_deleverages: u32,
    pub deleverages: u32,
    /// Prune instructions sent for void (revoked seats') and expired orders.
    pub stale_order_prunes: u32,
    /// `settle_seats` instructions: makers' fills moved from their seats into their accounts.
    pub seat_settlements: u32,
    /// Seat allowances revoked before a risk action.
    pub seat_revokes: u32,
    pub insurance_fund: Insurance,
    pub vault_balance: u64,
    pub sum_collateral: i64,
    pub fees: i64,
    pub invariants_ok: bool,
    /// What broke, when `invariants_ok` is false.
    pub invariant_failures: Vec<String>,
    pub transactions: u64,
    pub failed_transactions: u64,
    /// Refused transactions by reason (the scenario expects them: takers over their margin,
    /// crank races, orders into a settled market).
    pub refusals: std::collections::BTreeMap<String, u64>,
    #[serde(skip)]
    pub series: Vec<Series>,
    #[serde(skip)]
    pub insurance: InsuranceSeries,
}

/// One leveraged account through the run: the minutes its equity at the simulation's true
/// prices was negative (first and last, checked after each minute's risk scan), its lowest
/// equity there (USDC), and when the keeper first acted on it (a risk action or a seat
/// revoke).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LeveragedReport {
    pub insolvent_minute: Option<u32>,
    pub last_insolvent_minute: Option<u32>,
    pub worst_equity: f64,
    pub first_action_minute: Option<u32>,
}

/// The insurance fund each minute, and when it covered a deficit.
#[derive(Clone, Debug, Default)]
pub struct InsuranceSeries {
    /// USDC, one value per minute.
    pub usdc: Vec<f64>,
    /// The minutes (indexes into `usdc`) at which the fund covered a deficit.
    pub covers: Vec<usize>,
}

/// Reads every account back from the chain and checks the invariants on those bytes.
pub async fn build(
    w: &mut World,
    seed: u64,
    series: Vec<Series>,
    insurance: InsuranceSeries,
    counts: Counts,
    insurance_start: u64,
) -> Result<Report, ChainError> {
    let exchange = w.exchange;
    let vault_data = w.chain.account_data(&perpetual::sdk::vault_address(&exchange)).await?;
    let vault = client::decode_token_amount(&vault_data).unwrap_or_default();
    let ex = discovery::exchange(&mut w.chain, &exchange).await?;
    let accounts = discovery::margin_accounts(&mut w.chain, &exchange).await?;
    let markets = discovery::markets(&mut w.chain, &exchange).await?;
    let sum_collateral: i64 = accounts.iter().map(|a| a.header.collateral).sum();
    let mut failures = vec![];
    // The vault equation over the reported markets (each found by its symbol).
    let mut liabilities = Liabilities::of(&ex, accounts.iter().map(|a| a.header.collateral), []);
    let mut fees = ex.fee_balance as i64;
    let mut reports = vec![];
    for s in &series {
        let found: Option<&(Pubkey, Market)> = markets.iter().find(|(_, m)| m.symbol_str() == s.symbol);
        // Lots the book's seats hold until settled count with the positions.
        let sum_positions: i64 = found
            .map(|(key, m)| {
                let settled: i64 = accounts
                    .iter()
                    .flat_map(|a| a.positions.iter())
                    .filter(|p| p.market == *key)
                    .map(|p| p.base_lots)
                    .sum();
                settled + m.pending_seat_lots
            })
            .unwrap_or(0);
        if let Some((key, m)) = found {
            liabilities.add_market(m);
            fees += m.fees_accrued;
            let longs: i64 = accounts
                .iter()
                .flat_map(|a| a.positions.iter())
                .filter(|p| p.market == *key)
                .map(|p| p.base_lots.max(0))
                .sum();
            // Open interest counts pending fills at their seats' positions: exact once settled.
            if m.pending_seat_lots == 0 && longs as u64 != m.open_interest_lots {
                failures.push(format!("{}: open interest {} but longs sum to {longs}", s.symbol, m.open_interest_lots));
            }
        }
        if sum_positions != 0 {
            failures.push(format!("{}: positions sum to {sum_positions}", s.symbol));
        }
        reports.push(MarketReport {
            symbol: s.symbol.clone(),
            fills: s.fills,
            funding_updates: s.funding_updates() as u64,
            mark_samples: s.mark_samples() as u64,
            final_settled: s.settled,
            sum_positions,
        });
    }
    if !liabilities.balances(vault) {
        failures.push(format!("vault {vault} != liabilities {}", liabilities.total()));
    }
    Ok(Report {
        seed,
        scenario: super::Scenario::Default,
        move_minutes: None,
        leveraged: vec![],
        minutes: series.first().map(|s| s.index.len()).unwrap_or(0),
        markets: reports,
        liquidations: counts.liquidations,
        book_liquidations: counts.book_liquidations,
        early_deleverages: counts.early_deleverages,
        deleverages: counts.deleverages,
        stale_order_prunes: counts.stale_orders_pruned,
        seat_settlements: counts.seat_settlements,
        seat_revokes: counts.seat_revokes,
        insurance_fund: Insurance { start: insurance_start, end: ex.insurance_fund },
        vault_balance: vault,
        sum_collateral,
        fees,
        invariants_ok: failures.is_empty(),
        invariant_failures: failures,
        transactions: w.chain.transactions,
        failed_transactions: w.chain.failed_transactions,
        refusals: w.chain.refusals.clone(),
        series,
        insurance,
    })
}

impl Report {
    /// A readable summary for the terminal.
    pub fn summary(&self) -> String {
        let usdc = |v: i128| format!("{:.2}", v as f64 / 1e6);
        let mut out = format!("simulation: seed {}, {} simulated minutes\n", self.seed, self.minutes);
        out += &format!(
            "{:<10} {:>7} {:>9} {:>8} {:>8} {:>6}\n",
            "market", "fills", "funding", "samples", "settled", "sum"
        );
        for m in &self.markets {
            out += &format!(
                "{:<10} {:>7} {:>9} {:>8} {:>8} {:>6}\n",
                m.symbol, m.fills, m.funding_updates, m.mark_samples, m.final_settled, m.sum_positions
            );
        }
        out += &format!(
            "liquidations {} ({} through the book), early deleverages {}, deleverages {}, stale-order prunes {}\n",
            self.liquidations,
            self.book_liquidations,
            self.early_deleverages,
            self.deleverages,
            self.stale_order_prunes
        );
        out += &format!("seat settlements {}, seat revokes {}\n", self.seat_settlements, self.seat_revokes);
        out += &format!(
            "insurance fund {} -> {} USDC\n",
            usdc(self.insurance_fund.start as i128),
            usdc(self.insurance_fund.end as i128)
        );
        out += &format!(
            "vault {} USDC, collateral {} USDC, fees {} USDC\n",
            usdc(self.vault_balance as i128),
            usdc(self.sum_collateral as i128),
            usdc(self.fees as i128)
        );
        if let Some((first, last)) = self.move_minutes {
            out += &match self.scenario {
                super::Scenario::Spike => {
                    format!("Spike: SOL read 60% higher for minute {first} only; leveraged accounts:\n")
                }
                super::Scenario::Rally => {
                    format!("Rally: SOL rose 35% over minutes {first} to {last}; leveraged accounts:\n")
                }
                _ => format!("Crash: SOL fell 35% over minutes {first} to {last}; leveraged accounts:\n"),
            };
            for (i, l) in self.leveraged.iter().enumerate() {
                let action = l.first_action_minute.map_or("none".to_string(), |m| format!("minute {m}"));
                let insolvent = match (l.insolvent_minute, l.last_insolvent_minute) {
                    (Some(a), Some(b)) => format!(
                        "insolvent at the true price from minute {a} to {b} ({} min after the move ended), lowest equity {:.2} USDC",
                        b as i64 - last as i64,
                        l.worst_equity
                    ),
                    _ => "never insolvent at the true price".to_string(),
                };
                out += &format!("  #{i}: {insolvent}; first keeper action {action}\n");
            }
        }
        out += &format!("transactions {} ({} refused)\n", self.transactions, self.failed_transactions);
        if !self.refusals.is_empty() {
            let mut by: Vec<_> = self.refusals.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by.iter().map(|(k, n)| format!("{k} {n}")).collect();
            out += &format!("refused, by reason: {}\n", list.join(", "));
        }
        out += &format!("invariants_ok: {}\n", self.invariants_ok);
        for f in &self.invariant_failures {
            out += &format!("  BROKEN: {f}\n");
        }
        out
    }
}
