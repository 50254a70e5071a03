//! Runs the keeper's loops against a cluster (or any `Chain`): each enabled loop on its own
//! interval, or every enabled loop once. Results go to the metrics.
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::config::{Config, LoopsConfig};
use crate::cranks::{self, CrankResult, RiskKeeper};
use crate::metrics::Metrics;
use client::chain::{Chain, ChainError};
use client::discovery;

/// The loops, by the name the metrics use.
pub const LOOPS: [&str; 6] = ["funding", "mark", "margins", "risk", "final_settlement", "listing"];

fn interval(loops: &LoopsConfig, name: &str) -> Option<Duration> {
    LoopsConfig::interval(match name {
        "funding" => loops.funding_secs,
        "mark" => loops.mark_secs,
        "margins" => loops.margins_secs,
        "risk" => loops.risk_secs,
        "listing" => loops.listing_secs,
        _ => loops.final_settlement_secs,
    })
}

fn record(metrics: &Metrics, name: &str, r: &Result<CrankResult, ChainError>) {
    match r {
        Ok(c) => {
            for _ in 0..c.sent {
                metrics.crank_succeeded(name);
            }
            for _ in 0..c.failed {
                metrics.crank_failed(name);
            }
        }
        Err(_) => metrics.crank_failed(name),
    }
}

/// One run of the loop `name`.
pub async fn run_loop<C: Chain>(
    chain: &mut C,
    cfg: &Config,
    exchange: &Pubkey,
    keeper: &Keypair,
    metrics: &Metrics,
    name: &str,
) -> Result<CrankResult, ChainError> {
    let limits = cfg.loops.limits();
    let r = match name {
        "funding" => {
            let mut r = cranks::update_funding(chain, exchange, limits).await?;
            r.add(cranks::set_funding_rates(chain, exchange, keeper, limits).await?);
            Ok(r)
        }
        "mark" => cranks::sample_marks(chain, exchange, limits).await,
        "margins" => {
            let markets = discovery::markets(chain, exchange).await?;
            let mut histories = vec![];
            for entry in &cfg.margins.markets {
                let Some((key, _)) = markets.iter().find(|(_, m)| m.symbol_str() == entry.symbol) else { continue };
                let source = entry
                    .csv
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .or_else(|| entry.coingecko.clone())
                    .unwrap_or_default();
                let closes = crate::prices::load(&source).await.map_err(|e| ChainError::Rpc(e.to_string()))?;
                let keep = cfg.margins.lookback_days as usize;
                histories.push((*key, closes[closes.len().saturating_sub(keep)..].to_vec()));
            }
            let histories: Vec<(Pubkey, &[u64])> = histories.iter().map(|(k, c)| (*k, c.as_slice())).collect();
            cranks::update_margins(chain, exchange, keeper, &histories, limits).await
        }
        "listing" if cfg.listing.assets.is_empty() => Ok(CrankResult::default()),
        "listing" => {
            let mut inputs = vec![];
            for a in &cfg.listing.assets {
                let source = a.csv.as_ref().map(|p| p.display().to_string()).or_else(|| a.coingecko.clone());
                let closes = match source {
                    Some(s) => crate::prices::load(&s).await.map_err(|e| ChainError::Rpc(e.to_string()))?,
                    None => vec![],
                };
                let keep = cfg.margins.lookback_days as usize;
                inputs.push(cranks::ListingInput {
                    symbol: a.symbol.clone(),
                    pyth_oracle: a.pyth_oracle,
                    base_decimals: a.base_decimals,
                    base_lot_size: a.base_lot_size,
                    initial_price_per_lot: a.initial_price_per_lot.unwrap_or(0),
                    closes: closes[closes.len().saturating_sub(keep)..].to_vec(),
                });
            }
            let mint = cfg.exchange.collateral_mint.unwrap_or_default();
            let lister_token = match cfg.listing.lister_token {
                Some(t) => t,
                None => match discovery::token_accounts(chain, &mint, &keeper.pubkey()).await?.first() {
                    Some((t, _)) => *t,
                    None => {
                        return Err(ChainError::Rpc(format!(
                            "listing: the keeper {} holds no token account of {mint}; set listing.lister_token",
                            keeper.pubkey()
                        )))
                    }
                },
            };
            cranks::list_assets(chain, exchange, &mint, keeper, &lister_token, keeper, &inputs).await
        }
        "risk" => {
            let liquidator_account = perpetual::sdk::margin_account_address(exchange, &keeper.pubkey(), 0);
            let k =
                RiskKeeper { exchange: *exchange, authority: keeper, liquidator: keeper, liquidator_account, limits };
            let s = cranks::risk_rounds(chain, &k, cranks::MAX_RISK_ROUNDS).await?;
            let mut r = CrankResult {
                sent: s.liquidations + s.early_deleverages + s.deleverages + s.seat_revokes + s.index_refreshes,
                skipped: 0,
                failed: s.failed,
                transactions: s.transactions,
            };
            let (settled, pruned) = cranks::book_upkeep(chain, exchange, limits, cranks::Upkeep::Both).await?;
            r.add(settled);
            r.add(pruned);
            Ok(r)
        }
        _ => {
            let mut total = CrankResult::default();
            let mint = cfg.exchange.collateral_mint.unwrap_or_default();
            for (key, m) in discovery::markets(chain, exchange).await? {
                if m.status == perpetual::MarketStatus::FinalSettlement as u8 {
                    total.add(cranks::final_settlement(chain, exchange, &key, &mint).await?);
                }
            }
            Ok(total)
        }
    };
    record(metrics, name, &r);
    if let Ok((markets, insurance)) = gauges(chain, exchange).await {
        let now = chain.unix_time().await.unwrap_or_default();
        for (_, m) in &markets {
            metrics.set_open_interest(m.symbol_str(), m.open_interest_lots);
            if m.has_index() {
                metrics.set_oracle_age(m.symbol_str(), now.saturating_sub(m.index_ts) as f64);
            }
        }
        metrics.set_insurance_fund(insurance);
    }
    r
}

async fn gauges<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
) -> Result<(Vec<(Pubkey, perpetual::state::Market)>, u64), ChainError> {
    let markets = discovery::markets(chain, exchange).await?;
    let insurance = client::decode_exchange(&chain.account_data(exchange).await?).map_or(0, |e| e.insurance_fund);
    Ok((markets, insurance))
}

/// Runs every enabled loop on its interval until the process ends; with `once`, each
/// enabled loop once.
pub async fn run<C: Chain>(
    chain: &mut C,
    cfg: &Config,
    keeper: &Keypair,
    metrics: &Metrics,
    once: bool,
) -> Result<(), ChainError> {
    run_until(chain, cfg, keeper, metrics, once, std::future::pending()).await
}

/// [`run`] until `stop` resolves. A crank in flight finishes first (a send is never cut
/// between signing and confirmation), so stopping never leaves a transaction unaccounted.
pub async fn run_until<C: Chain>(
    chain: &mut C,
    cfg: &Config,
    keeper: &Keypair,
    metrics: &Metrics,
    once: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), ChainError> {
    let mut stop = std::pin::pin!(stop);
    let exchange = cfg
        .exchange
        .exchange_address()
        .ok_or(ChainError::Rpc("set exchange.collateral_mint or exchange.exchange".into()))?;
    let enabled: Vec<(&str, Duration)> =
        LOOPS.iter().filter_map(|n| interval(&cfg.loops, n).map(|d| (*n, d))).collect();
    let mut next: Vec<Instant> = enabled.iter().map(|_| Instant::now()).collect();
    loop {
        for (i, (name, every)) in enabled.iter().enumerate() {
            let now = Instant::now();
            if now < next[i] {
                continue;
            }
            metrics.set_lag(name, now.duration_since(next[i]).as_secs_f64());
            match run_loop(chain, cfg, &exchange, keeper, metrics, name).await {
                Ok(r) => {
                    tracing::info!(crank = name, sent = r.sent, skipped = r.skipped, failed = r.failed, "crank ran")
                }
                Err(e) => tracing::warn!(crank = name, error = %e, "crank failed"),
            }
            next[i] = now + *every;
        }
        if once {
            return Ok(());
        }
        tokio::select! {
            _ = &mut stop => {
                tracing::info!("stopping: every crank in flight has finished");
                return Ok(());
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
