//! `keeper simulate`: the whole exchange on the embedded chain. A seeded price path with a
//! crash runs over simulated minutes while market makers quote, takers trade, leveraged
//! accounts fail, and every keeper loop runs; the invariants are then checked against the
//! chain's own account data.
pub mod chart;
pub mod report;
pub mod stdout;
pub mod world;

use client::chain::{Chain, ChainError};
use client::discovery;
use indicatif::{ProgressBar, ProgressStyle};
use orderbook::instructions::OrderType;
use orderbook::Side;
use perpetual::sdk;
use rand::Rng;
use solana_signer::Signer;

use crate::cranks::{self, RiskEventKind, RiskKeeper, ScanResult};
pub use report::{InsuranceSeries, LeveragedReport, MarketReport, Report, Series};
use world::{Group, World};

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Simulated minutes.
    pub minutes: u32,
    pub progress: bool,
    pub scenario: Scenario,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self { seed: 7, minutes: 180, progress: false, scenario: Scenario::Default }
    }
}

/// What SOL's price does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A slide of 8% over 8 minutes, then a 10% gap: every risk path, with leveraged longs.
    #[default]
    Default,
    /// A genuine crash: SOL falls 35% over 5 minutes and stays there; leveraged longs.
    Crash,
    /// The mirror: SOL rises 35% over 5 minutes and stays there; leveraged shorts.
    Rally,
    /// A flash spike: SOL's oracle reads 60% higher for one minute, then returns; leveraged
    /// shorts, healthy at the true price throughout.
    Spike,
}

impl Scenario {
    /// The insurance fund the admin deposits. The default run's is thin on purpose, so the
    /// gap's shortfall exhausts it and deleveraging takes the rest; the crash and the rally
    /// show what a funded exchange pays.
    pub fn insurance_usdc(self) -> u64 {
        match self {
            Scenario::Default => 100,
            Scenario::Crash | Scenario::Rally | Scenario::Spike => 10_000,
        }
    }
}

/// Minutes the crash or rally lasts, and its size.
const MOVE_MINUTES: u32 = 5;
const MOVE: f64 = 0.35;
/// The flash spike's size.
const SPIKE: f64 = 0.60;

/// When things happen, as fractions of the run: SOL slides 1% a minute for 8 minutes from a
/// third of the way in, then gaps 10% four minutes later; ETH settles at five sixths.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    scenario: Scenario,
    slide_start: u32,
    gap: u32,
    settle: u32,
}

const SLIDE_MINUTES: u32 = 8;

impl Schedule {
    fn new(minutes: u32, scenario: Scenario) -> Self {
        let slide_start = (minutes / 3).max(10);
        Self {
            scenario,
            slide_start,
            gap: slide_start + SLIDE_MINUTES + 4,
            settle: (minutes * 5 / 6).max(slide_start + SLIDE_MINUTES + 10),
        }
    }
}

pub async fn run(cfg: &SimConfig) -> Result<Report, ChainError> {
    let mut w = World::build_with_insurance(cfg.seed, cfg.scenario.insurance_usdc()).await?;
    let mut series: Vec<Series> = w.markets.iter().map(|m| Series::new(&m.symbol)).collect();
    let mut counts = Counts::default();
    let mut insurance = InsuranceSeries::default();
    let insurance_start = discovery::exchange(&mut w.chain, &w.exchange).await?.insurance_fund;
    let bar = if cfg.progress { ProgressBar::new(cfg.minutes as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} simulated minutes {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // The keeper's default packing: several cranks of a kind per transaction.
    let limits = client::batch::Limits::default();
    // MEME has no spot index: after its first trading the risk authority lets longs lever.
    let meme = w.markets[2].market;
    let keeper = w.keeper.insecure_clone();
    w.chain.send(&[sdk::set_margins(&keeper.pubkey(), &w.exchange, &meme, 5_000, 8_000)], &[&keeper]).await?;
    // ETH margins from a year of daily closes (CoinGecko's market_chart format).
    let eth_closes = crate::prices::load(&crate::prices::sample_path("eth_usd_market_chart.json"))
        .await
        .map_err(|e| ChainError::Rpc(e.to_string()))?;
    let eth = w.markets[1].market;
    cranks::update_margins(&mut w.chain, &w.exchange.clone(), &keeper, &[(eth, &eth_closes)], limits).await?;

    let schedule = Schedule::new(cfg.minutes, cfg.scenario);
    // When each leveraged account became insolvent at the true price, and when the keeper
    // first acted on it.
    let mut leveraged: Vec<(anchor_lang::prelude::Pubkey, LeveragedReport)> =
        w.leveraged.iter().map(|a| (a.margin, LeveragedReport::default())).collect();
    // The leveraged accounts buy (sell, in the rally and the spike) a block offered once at
    // minute 2.
    let leveraged_side = if matches!(cfg.scenario, Scenario::Rally | Scenario::Spike) { Side::Ask } else { Side::Bid };
    for minute in 0..cfg.minutes {
        w.chain.warp(60).await?;
        move_prices(&mut w, minute, &schedule);
        // The spike is the oracle's alone: the makers keep quoting the true price.
        let true_price = w.markets[0].price;
        if cfg.scenario == Scenario::Spike && minute == schedule.slide_start {
            w.markets[0].price *= 1.0 + SPIKE;
        }
        w.publish_prices().await?;
        w.markets[0].price = true_price;
        let exchange = w.exchange;
        counts.funding_updates += cranks::update_funding(&mut w.chain, &exchange, limits).await?.sent;

        if minute == schedule.settle {
            settle_eth(&mut w).await?;
        }
        if minute % 5 == 0 || minute == 2 {
            quote(&mut w, (minute == 2).then_some(orderbook::state::opposite(leveraged_side))).await?;
        }
        if minute == 3 {
            open_leveraged(&mut w, leveraged_side).await?;
        }
        take(&mut w).await?;

        counts.mark_samples += cranks::sample_marks(&mut w.chain, &exchange, limits).await?.sent;
        if minute % 10 == 9 {
            cranks::set_funding_rates(&mut w.chain, &exchange, &keeper, limits).await?;
        }
        let liquidator = w.liquidator.wallet.insecure_clone();
        let k = RiskKeeper {
            exchange,
            authority: &keeper,
            liquidator: &liquidator,
            liquidator_account: w.liquidator.margin,
            limits,
        };
        let scan = cranks::risk_rounds(&mut w.chain, &k, cranks::MAX_RISK_ROUNDS).await?;
        for (kind, market) in &scan.events {
            if *kind == RiskEventKind::InsuranceCover {
                insurance.covers.push(insurance.usdc.len());
            } else if let Some(i) = w.markets.iter().position(|m| m.market == *market) {
                let at = series[i].index.len();
                series[i].events.push((at, *kind));
            }
        }
        for (account, watch) in leveraged.iter_mut() {
            let equity = equity_at_true_prices(&mut w, account).await?;
            if equity < 0.0 {
                watch.insolvent_minute.get_or_insert(minute);
                watch.last_insolvent_minute = Some(minute);
                watch.worst_equity = watch.worst_equity.min(equity);
            }
            if scan.acted_on.contains(account) {
                watch.first_action_minute.get_or_insert(minute);
            }
        }
        counts.add(scan);
        let (settled, pruned) = cranks::book_upkeep(&mut w.chain, &exchange, limits, cranks::Upkeep::Both).await?;
        counts.seat_settlements += settled.sent;
        counts.stale_orders_pruned += pruned.sent;
        if minute > schedule.settle {
            let mint = w.mint;
            cranks::final_settlement(&mut w.chain, &exchange, &eth, &mint).await?;
        }
        record(&mut w, &mut series).await?;
        insurance.usdc.push(discovery::exchange(&mut w.chain, &exchange).await?.insurance_fund as f64 / 1e6);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut r = report::build(&mut w, cfg.seed, series, insurance, counts, insurance_start).await?;
    r.scenario = cfg.scenario;
    r.leveraged = leveraged.into_iter().map(|(_, l)| l).collect();
    match cfg.scenario {
        Scenario::Default => {}
        Scenario::Spike => r.move_minutes = Some((schedule.slide_start, schedule.slide_start)),
        Scenario::Crash | Scenario::Rally => {
            r.move_minutes = Some((schedule.slide_start, schedule.slide_start + MOVE_MINUTES - 1))
        }
    }
    Ok(r)
}

/// An account's equity in USDC at the simulation's own (true) prices: collateral plus each
/// position at its market's true price, whatever the chain's index says.
async fn equity_at_true_prices(w: &mut World, account: &anchor_lang::prelude::Pubkey) -> Result<f64, ChainError> {
    let data = w.chain.account_data(account).await?;
    let Some(view) = client::decode_margin(*account, &data) else { return Ok(0.0) };
    let mut equity = view.header.collateral as f64;
    for p in view.positions.iter().filter(|p| !p.is_free()) {
        if let Some(m) = w.markets.iter().find(|m| m.market == p.market) {
            equity += p.base_lots as f64 * m.price * m.lots_per_dollar_scale;
        }
    }
    Ok(equity / 1e6)
}

/// What the keeper did, counted over the run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Takeovers and liquidations through the book.
    pub liquidations: u32,
    /// Of which through the book.
    pub book_liquidations: u32,
    pub early_deleverages: u32,
    pub deleverages: u32,
    pub funding_updates: u32,
    pub mark_samples: u32,
    pub risk_failures: u32,
    /// Prune instructions for void (revoked seats') and expired orders.
    pub stale_orders_pruned: u32,
    /// `settle_seats` instructions (makers' fills into their margin accounts).
    pub seat_settlements: u32,
    /// Seat allowances revoked before a risk action.
    pub seat_revokes: u32,
}

impl Counts {
    fn add(&mut self, s: ScanResult) {
        self.liquidations += s.liquidations;
        self.book_liquidations += s.book_liquidations;
        self.early_deleverages += s.early_deleverages;
        self.deleverages += s.deleverages;
        self.seat_revokes += s.seat_revokes;
        self.risk_failures += s.failed;
    }
}

/// Seeded price paths: small random walks, and SOL's crash.
fn move_prices(w: &mut World, minute: u32, s: &Schedule) {
    let shocks: Vec<f64> = (0..w.markets.len()).map(|_| w.rng.gen_range(-1.0..1.0)).collect();
    for (m, shock) in w.markets.iter_mut().zip(shocks) {
        let moving = (s.slide_start..s.slide_start + MOVE_MINUTES).contains(&minute);
        let drift = match (m.symbol.as_str(), s.scenario) {
            ("SOL-PERP", Scenario::Crash) if moving => (1.0 - MOVE).powf(1.0 / MOVE_MINUTES as f64) - 1.0,
            ("SOL-PERP", Scenario::Rally) if moving => (1.0 + MOVE).powf(1.0 / MOVE_MINUTES as f64) - 1.0,
            ("SOL-PERP", Scenario::Crash | Scenario::Rally | Scenario::Spike) => 0.0,
            ("SOL-PERP", _) if (s.slide_start..s.slide_start + SLIDE_MINUTES).contains(&minute) => -0.01,
            ("SOL-PERP", _) if minute == s.gap => -0.10,
            ("SOL-PERP", _) if minute > s.gap + 20 => 0.0005,
            _ => 0.0,
        };
        let vol = if m.symbol == "MEME-PERP" { 0.002 } else { 0.0008 };
        m.price *= 1.0 + drift + vol * shock;
    }
}

/// Market makers re-quote three levels a side around each live market's price. A thin book
/// on purpose: the leveraged accounts' closes will not fit in it. `block`: the side of a
/// 60 SOL block the first maker also offers.
async fn quote(w: &mut World, block: Option<Side>) -> Result<(), ChainError> {
    for i in 0..w.markets.len() {
        let m = w.markets[i].clone();
        let data = w.chain.account_data(&m.market).await?;
        if client::decode_market(&data).is_none_or(|s| s.is_final_settled()) {
            continue;
        }
        for mm in 0..w.makers.len() {
            let (wallet, margin) = (w.makers[mm].wallet.insecure_clone(), w.makers[mm].margin);
            let cancel = orderbook::sdk::cancel_all_orders(&m.venue(&w.exchange), &wallet.pubkey(), &margin, 32);
            let _ = w.chain.send(&[cancel], &[&wallet]).await;
            let size = m.lots(match m.symbol.as_str() {
                "SOL-PERP" => 1.0,
                "ETH-PERP" => 0.05,
                _ => 100.0,
            });
            for level in 1..=3u64 {
                let offset = (level + mm as u64) as f64 * 0.001;
                for (side, sign) in [(Side::Bid, -1.0), (Side::Ask, 1.0)] {
                    let ticks = m.ticks(m.price * (1.0 + sign * offset));
                    let (ix, wallet) =
                        w.order_ix(mm, Group::Maker, i, side, ticks, size, OrderType::PostOnlySlide).await?;
                    let _ = w.chain.send(&[ix], &[&wallet]).await;
                }
            }
            if let (Some(side), true) = (block, m.symbol == "SOL-PERP" && mm == 0) {
                // A block offered once for the leveraged accounts to take.
                let ticks = m.ticks(m.price * if side == Side::Ask { 1.0005 } else { 0.9995 });
                let (ix, wallet) =
                    w.order_ix(mm, Group::Maker, i, side, ticks, m.lots(60.0), OrderType::PostOnlySlide).await?;
                w.chain.send(&[ix], &[&wallet]).await?;
            }
        }
    }
    Ok(())
}

/// The leveraged longs lift the block: 5, 30 and 20 SOL.
async fn open_leveraged(w: &mut World, side: Side) -> Result<(), ChainError> {
    let sol = w.markets[0].clone();
    for (i, size) in [5.0, 30.0, 20.0].into_iter().enumerate() {
        let limit = sol.ticks(sol.price * if side == Side::Bid { 1.01 } else { 0.99 });
        let (ix, wallet) =
            w.order_ix(i, Group::Leveraged, 0, side, limit, sol.lots(size), OrderType::ImmediateOrCancel).await?;
        w.chain.send(&[ix], &[&wallet]).await?;
    }
    Ok(())
}

/// One random taker order a minute, most minutes.
async fn take(w: &mut World) -> Result<(), ChainError> {
    if !w.rng.gen_bool(0.7) {
        return Ok(());
    }
    let i = w.rng.gen_range(0..w.markets.len());
    let t = w.rng.gen_range(0..w.takers.len());
    let side = if w.rng.gen_bool(0.5) { Side::Bid } else { Side::Ask };
    let m = w.markets[i].clone();
    let base = match m.symbol.as_str() {
        "SOL-PERP" => w.rng.gen_range(1.0..3.0),
        "ETH-PERP" => w.rng.gen_range(0.05..0.15),
        _ => w.rng.gen_range(50.0..200.0),
    };
    let limit = m.ticks(m.price * if side == Side::Bid { 1.01 } else { 0.99 });
    let (ix, wallet) = w.order_ix(t, Group::Taker, i, side, limit, m.lots(base), OrderType::ImmediateOrCancel).await?;
    // A taker may be refused (margin, a settled market): that is part of the run.
    let _ = w.chain.send(&[ix], &[&wallet]).await;
    Ok(())
}

/// The admin settles ETH within 2% of its price.
async fn settle_eth(w: &mut World) -> Result<(), ChainError> {
    let eth = w.markets[1].clone();
    let per_lot = eth.price * eth.lots_per_dollar_scale;
    let admin = w.admin.insecure_clone();
    let ix = sdk::final_settle_market(
        &admin.pubkey(),
        &w.exchange,
        &eth.market,
        &eth.oracle,
        (per_lot * 0.98) as u64,
        (per_lot * 1.02) as u64,
    );
    w.chain.send(&[ix], &[&admin]).await?;
    Ok(())
}

async fn record(w: &mut World, series: &mut [Series]) -> Result<(), ChainError> {
    for (i, m) in w.markets.clone().iter().enumerate() {
        let data = w.chain.account_data(&m.market).await?;
        if let Some(state) = client::decode_market(&data) {
            series[i].push(&state, m.lots_per_dollar_scale, m.lot_base);
        }
    }
    Ok(())
}
