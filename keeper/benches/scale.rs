//! Keeper scale: wall-clock seconds of the keeper's heavy paths, each against a lower bound
//! measured in the same run.
//!
//! - **health scan**: `accounts` margin accounts over `markets` markets, from account bytes
//!   in memory (one contiguous buffer, as `getProgramAccounts` hands them over): the
//!   keeper's `discovery::decode_margin` then the programs' `health_from_priced` for each.
//!   Lower bound: the bytes scanned divided by the memory bandwidth of a sum pass over the
//!   same buffer.
//! - **VaR**: `perpetual::math::var::margins_from_history` for `var_markets` markets of 365
//!   daily closes each. Lower bound: a minimal reference doing the irreducible work per
//!   market: the 355 ten-day returns in `f64` and two `select_nth_unstable` quantiles.
//! - **simulation**: `keeper::sim::run` (`keeper simulate`) for `sim_minutes` simulated
//!   minutes: transactions per second on the embedded chain. Lower bound on the time: the
//!   same number of plain SOL transfers sent through a fresh `EmbeddedChain` (the same send
//!   path; the framework's floor per transaction), measured in the same run.
//!
//! `cargo bench --locked -p keeper --bench scale -- [accounts] [markets] [var_markets]
//! [sim_minutes]` (defaults 100000 100 1000 60) prints `key<TAB>value` lines for
//! `bench/compare.sh`. `keeper/tests/scale_smoke.rs` runs the same code at tiny sizes.
#![allow(dead_code)]
use std::hint::black_box;

#[path = "support/floor.rs"]
mod floor;
use floor::transfer_floor;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use perpetual::health::{health_from_priced, PricedMarket};
use perpetual::math::health::RiskParams;
use perpetual::math::I80F48;
use perpetual::state::{MarginAccount, Position, HEADER_LEN, POSITION_LEN};

/// Positions per account (capacity) and how many are open.
pub const CAPACITY: u16 = 8;
pub const OPEN: usize = 4;

pub struct Timed {
    pub seconds: f64,
    pub bound_seconds: f64,
    pub detail: String,
}

fn rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

pub fn markets(n: usize) -> Vec<PricedMarket> {
    (0..n)
        .map(|i| {
            let px = I80F48::from_num(1_000 + i as u64);
            PricedMarket {
                key: Pubkey::new_from_array([
                    (i % 251) as u8 + 1,
                    (i / 251) as u8,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                ]),
                index: px,
                mark: px,
                stable: px,
                funding_index: I80F48::ZERO,
                funding_variation: I80F48::ZERO,
                risk: RiskParams {
                    init_long_bps: 1_000,
                    maint_long_bps: 500,
                    init_short_bps: 1_000,
                    maint_short_bps: 500,
                    band_bps: 2_500,
                    maker_fee_ppm: 0,
                },
                down_prices: None,
            }
        })
        .collect()
}

/// `n` margin accounts' bytes, back to back (each `MarginAccount::space(CAPACITY)` bytes).
pub fn account_bytes(n: usize, markets: &[PricedMarket]) -> (Vec<u8>, usize) {
    let stride = HEADER_LEN + CAPACITY as usize * POSITION_LEN;
    let mut buf = Vec::with_capacity(n * stride);
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        let mut header: MarginAccount = bytemuck::Zeroable::zeroed();
        header.owner = Pubkey::new_from_array([(i % 256) as u8; 32]);
        header.collateral = 1_000_000_000 + (rng(&mut s) % 1_000_000_000) as i64;
        header.position_capacity = CAPACITY;
        buf.extend_from_slice(MarginAccount::DISCRIMINATOR);
        buf.extend_from_slice(bytemuck::bytes_of(&header));
        for p in 0..CAPACITY as usize {
            let mut pos: Position = bytemuck::Zeroable::zeroed();
            if p < OPEN {
                pos.market = markets[(rng(&mut s) % markets.len() as u64) as usize].key;
                pos.base_lots = (rng(&mut s) % 2_000) as i64 - 1_000;
                pos.open_bid_lots = rng(&mut s) % 50;
                pos.open_ask_lots = rng(&mut s) % 50;
            }
            buf.extend_from_slice(bytemuck::bytes_of(&pos));
        }
    }
    assert_eq!(buf.len(), n * stride);
    (buf, stride)
}

#[inline(never)]
fn sum_pass(buf: &[u8]) -> u64 {
    let words: &[u64] = bytemuck::cast_slice(&buf[..buf.len() / 8 * 8]);
    words.iter().fold(0u64, |a, &w| a.wrapping_add(w))
}

/// Seconds of the fastest of `reps` runs of `f`.
fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Health of every account, from bytes: returns (healthy-for-maintenance count, seconds).
pub fn health_scan(n: usize, m: usize) -> Timed {
    let priced = markets(m);
    let (buf, stride) = account_bytes(n, &priced);
    // Aligned copy for the bandwidth pass (the scan reads the unaligned original).
    let aligned: Vec<u64> = buf.chunks(8).map(|c| c.iter().rev().fold(0u64, |a, &b| a << 8 | b as u64)).collect();
    let bytes: &[u8] = bytemuck::cast_slice(&aligned);
    let scan = || {
        let mut ok = 0usize;
        for (i, data) in buf.chunks_exact(stride).enumerate() {
            let view =
                client::decode_margin(Pubkey::new_from_array([(i % 256) as u8; 32]), data).expect("a margin account");
            let h = health_from_priced(&view.header, &view.positions, &priced).expect("priced");
            if h.maintenance >= I80F48::ZERO {
                ok += 1;
            }
        }
        ok
    };
    let ok = scan();
    assert_eq!(ok, n, "every generated account is healthy");
    let reps = if n >= 10_000 { 3 } else { 1 };
    let seconds = best(reps, scan);
    let bw_seconds = best(reps.max(3), || sum_pass(bytes));
    let bandwidth = bytes.len() as f64 / bw_seconds;
    Timed {
        seconds,
        bound_seconds: buf.len() as f64 / bandwidth,
        detail: format!(
            "{} accounts of {} bytes ({} of {} positions open) = {:.1} MB; sum-pass bandwidth {:.2} GB/s",
            n,
            stride,
            OPEN,
            CAPACITY,
            buf.len() as f64 / 1e6,
            bandwidth / 1e9
        ),
    }
}

pub fn closes(markets: usize) -> Vec<Vec<u64>> {
    let mut s = 0x1234_5678_9ABC_DEF1u64;
    (0..markets)
        .map(|_| {
            let mut p = 1_000_000_000u64;
            (0..365)
                .map(|_| {
                    // ±3% a day
                    let r = (rng(&mut s) % 6_001) as i64 - 3_000;
                    p = (p as i128 * (100_000 + r as i128) / 100_000) as u64;
                    p.max(1)
                })
                .collect()
        })
        .collect()
}

#[inline(never)]
fn reference_var(closes: &[u64]) -> (f64, f64) {
    let mut r: Vec<f64> = closes.windows(11).map(|w| w[10] as f64 / w[0] as f64 - 1.0).collect();
    let n = r.len() - 1;
    let (lo, hi) = (n / 100, n * 99 / 100);
    let lo_v = *r.select_nth_unstable_by(lo, f64::total_cmp).1;
    let hi_v = *r.select_nth_unstable_by(hi, f64::total_cmp).1;
    (lo_v, hi_v)
}

pub fn var(markets: usize) -> Timed {
    let c = closes(markets);
    let run = || {
        c.iter()
            .map(|h| perpetual::math::var::margins_from_history(h, true).expect("VaR").init_long_bps as u64)
            .sum::<u64>()
    };
    let reps = if markets >= 100 { 3 } else { 1 };
    let seconds = best(reps, run);
    let bound_seconds = best(reps, || c.iter().map(|h| reference_var(h).0).sum::<f64>());
    Timed {
        seconds,
        bound_seconds,
        detail: format!(
            "{markets} markets × 365 daily closes; bound: f64 returns + two select_nth_unstable per market"
        ),
    }
}

/// Transactions of `keeper simulate` for `minutes`, and the framework floor.
pub async fn simulation(minutes: u32) -> (Timed, u64) {
    let cfg = keeper::sim::SimConfig { seed: 7, minutes, ..Default::default() };
    let t = Instant::now();
    let report = keeper::sim::run(&cfg).await.expect("simulation runs");
    let seconds = t.elapsed().as_secs_f64();
    assert!(report.invariants_ok, "simulation invariants: {:?}", report.invariant_failures);
    let txs = report.transactions;
    let bound_seconds = fresh_transfer_floor(txs.min(2_000)).await * txs as f64;
    (
        Timed {
            seconds,
            bound_seconds,
            detail: format!("{minutes} simulated minutes, {txs} transactions ({} failed)", report.failed_transactions),
        },
        txs,
    )
}

/// Seconds per plain SOL transfer on a fresh embedded chain.
async fn fresh_transfer_floor(n: u64) -> f64 {
    transfer_floor(&mut client::chain::embedded::EmbeddedChain::start().await, n).await
}

pub fn line(key: &str, t: &Timed) -> String {
    format!("{key}\t{:.6}\t{:.6}\t{:.2}\t{}", t.seconds, t.bound_seconds, t.seconds / t.bound_seconds, t.detail)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let accounts = args.first().copied().unwrap_or(100_000);
    let markets = args.get(1).copied().unwrap_or(100);
    let var_markets = args.get(2).copied().unwrap_or(1_000);
    let minutes = args.get(3).copied().unwrap_or(60) as u32;
    println!("{}", line("health_scan", &health_scan(accounts, markets)));
    println!("{}", line("var", &var(var_markets)));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (sim, txs) = rt.block_on(simulation(minutes));
    println!("{}", line("simulation", &sim));
    println!("simulation_tps\t{:.1}\t{:.1}", txs as f64 / sim.seconds, txs as f64 / sim.bound_seconds);
}
