//! Manifest's table from a callgrind profile of `manifest-bench run` (full collection;
//! inclusive costs of the per-phase wrappers, as `bench/src/report.rs` does for ours).
//!
//! Per operation kind X with K operations (callgrind Ir / K):
//! - with its log events = incl(`X::manifest`) − incl(`X::cpi`) − incl(`X::syscall`)
//!   (the framework's CPI and sysvar / return-data stubs; the native log stub stays in, as in
//!   bench/README.md's "with its log events" column of Manifest's figures);
//! - events excluded = that − incl(`X::log_data`) (the native `sol_log_data` stub: base64 +
//!   `println!`) − events × the cost of building each event in `emit_stack` (zeroing its
//!   3,000-byte buffer and copying the event in), from the `ref_emit_*` reference functions.
use std::collections::HashMap;
use std::fmt::Write as _;

use crate::callgrind::Profile;
use crate::probe::{Phase, PHASES};

fn strip_hash(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &name[..i],
        _ => name,
    }
}

pub fn fmt(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn report(callgrind_path: &str, summary_path: &str, tsv: Option<&str>) {
    let text = std::fs::read_to_string(callgrind_path).unwrap_or_else(|e| panic!("{callgrind_path}: {e}"));
    let profile = Profile::parse(&text).expect("callgrind file");
    let mut index: HashMap<String, Vec<String>> = HashMap::new();
    for name in profile.functions.keys() {
        index.entry(strip_hash(name).to_string()).or_default().push(name.clone());
    }
    let incl = |path: &str| -> f64 { index.get(path).map(|v| v.iter().map(|n| profile.inclusive(n)).sum::<u64>()).unwrap_or(0) as f64 };
    let calls = |path: &str| -> f64 { index.get(path).map(|v| v.iter().map(|n| profile.calls(n)).sum::<u64>()).unwrap_or(0) as f64 };
    let summary = std::fs::read_to_string(summary_path).unwrap_or_else(|e| panic!("{summary_path}: {e}"));
    let mut kv: HashMap<String, u64> = HashMap::new();
    for line in summary.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["ops", phase, k] => {
                kv.insert(format!("ops {phase}"), k.parse().unwrap());
            }
            [key, v] => {
                kv.insert(key.to_string(), v.parse().unwrap());
            }
            _ => {}
        }
    }
    let ref_n = kv["ref_n"] as f64;
    let p = |s: &str| format!("manifest_bench::probe::{s}");
    let loop_cost = incl(&p("ref_empty_loop"));
    let reference = |f: &str| {
        let v = incl(&p(f));
        assert!(v > 0.0, "reference function {f} not in the profile");
        (v - loop_cost) / ref_n
    };
    let (ev_place, ev_cancel, ev_fill) = (reference("ref_emit_place_order"), reference("ref_emit_cancel_order"), reference("ref_emit_fill"));

    let mut out = String::new();
    let mut rows = String::new();
    writeln!(out, "| operation | K | Manifest Ir, log events excluded | with its log events | log events per op | of which native log stub | of which building the events | CPI stub | sysvar / return-data stubs | whole entry, inclusive |").unwrap();
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |").unwrap();
    for &(phase, name, label) in PHASES.iter().filter(|(ph, _, _)| *ph != Phase::setup) {
        let k = kv[&format!("ops {name}")] as f64;
        let w = |part: &str| incl(&p(&format!("{name}::{part}"))) / k;
        let entries = calls(&p(&format!("{name}::manifest"))) / k;
        assert_eq!(entries, 1.0, "{name}: one Manifest entry per operation");
        let events = calls(&p(&format!("{name}::log_data"))) / k;
        let build = match phase {
            Phase::place => ev_place * events,
            Phase::cancel => ev_cancel * events,
            _ => {
                let fills = match phase {
                    Phase::take1 => 1.0,
                    Phase::take5 => 5.0,
                    _ => 10.0,
                };
                ev_fill * fills + ev_place * (events - fills)
            }
        };
        let with = w("manifest") - w("cpi") - w("syscall");
        let excl = with - w("log_data") - build;
        writeln!(
            out,
            "| {label} | {k} | **{}** | {} | {events} | {} | {} | {} | {} | {} |",
            fmt(excl),
            fmt(with),
            fmt(w("log_data")),
            fmt(build),
            fmt(w("cpi")),
            fmt(w("syscall")),
            fmt(w("manifest"))
        )
        .unwrap();
        writeln!(rows, "manifest\t{name}\t{k}\t{excl:.0}\t{with:.0}\t{events}\t{:.0}\t{build:.0}\t{:.0}", w("log_data"), w("manifest")).unwrap();
    }
    writeln!(out, "\nEvent building per event (reference functions, log stub excluded): PlaceOrderLog {}, CancelOrderLog {}, FillLog {} Ir.", fmt(ev_place), fmt(ev_cancel), fmt(ev_fill)).unwrap();
    if let (Some(bytes), Some(orders)) = (kv.get("market_bytes"), kv.get("resting_orders")) {
        writeln!(out, "Market account with {orders} resting orders (and 11 seats, free blocks): {} bytes = {:.1} bytes per resting order.", fmt(*bytes as f64), *bytes as f64 / *orders as f64).unwrap();
        writeln!(rows, "manifest_market_bytes\t{bytes}\t{orders}").unwrap();
    }
    print!("{out}");
    if let Some(path) = tsv {
        std::fs::write(path, rows).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

/// Manifest's space, from its own constants: one block per resting order.
pub fn space() {
    use manifest::state::{MarketFixed, MARKET_BLOCK_SIZE, MARKET_FIXED_SIZE};
    let rent = solana_program::rent::Rent::default();
    let orders = 2 * 1_024usize;
    let bytes = MARKET_FIXED_SIZE + orders * MARKET_BLOCK_SIZE;
    assert_eq!(std::mem::size_of::<MarketFixed>(), MARKET_FIXED_SIZE);
    use solana_program::program_pack::Pack;
    // Listing also creates the base and quote vaults (SPL token accounts).
    println!("manifest_space\t{MARKET_BLOCK_SIZE}\t{MARKET_FIXED_SIZE}\t{bytes}\t{}\t{}", rent.minimum_balance(bytes), 2 * rent.minimum_balance(spl_token::state::Account::LEN));
}
