//! Turns a callgrind profile of `book run` into the table.
//!
//! Per operation kind X, with K operations (all figures are callgrind `Ir` divided by K):
//! - orderbook = incl(`book::probe::X::orderbook`) − incl(`X::orderbook_cpi`)
//!   − incl(`X::orderbook_syscall`) − the instruction-name log line;
//! - perpetual = incl(`X::perpetual`) − incl(`X::perpetual_cpi`) − incl(`X::perpetual_syscall`)
//!   − its instruction-name log line;
//!
//! where `X::orderbook_cpi` is the framework's `sol_invoke_signed` stub (it contains
//! `X::perpetual`, added back on its own line), the `*_syscall` wrappers hold the
//! framework's other syscall stubs (clock sysvar, return data), and the log line is
//! Anchor's `msg!("Instruction: ...")`, natively a `println!` (on SBF a `sol_log`
//! syscall), measured by a reference function in the same process. "Events excluded"
//! further subtracts each `emit!` (building and serializing the event; the native log
//! call itself is a black-boxed no-op), also measured by reference functions.
use std::collections::HashMap;
use std::fmt::Write as _;

use crate::callgrind::Profile;
use crate::probe::{Phase, PHASES};
use crate::scenario::{LEVELS, PER_LEVEL, SEAT_CAPACITY};

/// Manifest's figures from bench/README.md ("Peer figures"): (events excluded, with its log events).
fn manifest(phase: Phase) -> (u64, u64) {
    match phase {
        Phase::place => (2_544, 8_846),
        Phase::cancel => (2_120, 7_874),
        Phase::take1 => (2_710, 16_424),
        Phase::take5 => (5_070, 48_528),
        Phase::take10 => (7_924, 88_526),
        // Manifest has no settlement step: its seats are the makers' balances.
        Phase::settle1 | Phase::settle10 | Phase::setup => (0, 0),
    }
}

fn goal(phase: Phase) -> Option<u64> {
    match phase {
        Phase::place => Some(2_000),
        Phase::cancel => Some(1_700),
        Phase::take10 => Some(7_924),
        _ => None,
    }
}

/// Reference functions and how often one operation calls them: `(ref fn, count)`.
type RefCounts = Vec<(&'static str, u64)>;

/// What one operation logs and emits natively: (orderbook log fn, perpetual log fn,
/// orderbook events, perpetual events). Place and cancel within the allowance make no
/// CPI; the perpetual log line is counted per perpetual entry, so it is 0 for them.
fn composition(phase: Phase) -> (&'static str, &'static str, RefCounts, RefCounts) {
    match phase {
        Phase::place => ("ref_log_place_order", "ref_log_settle_seats", vec![("ref_event_order_placed", 1)], vec![]),
        Phase::cancel => {
            ("ref_log_cancel_order", "ref_log_settle_seats", vec![("ref_event_order_cancelled", 1)], vec![])
        }
        Phase::take1 | Phase::take5 | Phase::take10 => (
            "ref_log_place_order",
            "ref_log_settle_book_take",
            vec![("ref_event_order_filled", fills(phase))],
            vec![("ref_event_book_take_settled", 1)],
        ),
        Phase::settle1 | Phase::settle10 => {
            ("ref_log_settle_seats", "ref_log_settle_seats", vec![], vec![("ref_event_seat_settled", seats(phase))])
        }
        Phase::setup => unreachable!(),
    }
}

fn fills(phase: Phase) -> u64 {
    match phase {
        Phase::take1 => 1,
        Phase::take5 => 5,
        Phase::take10 => 10,
        _ => 0,
    }
}

fn seats(phase: Phase) -> u64 {
    match phase {
        Phase::settle1 => 1,
        Phase::settle10 => 10,
        _ => 0,
    }
}

struct Names<'a> {
    profile: &'a Profile,
    /// Demangled name without a trailing `::h<hash>` -> names as they appear.
    index: HashMap<String, Vec<String>>,
}

impl<'a> Names<'a> {
    fn new(profile: &'a Profile) -> Self {
        let mut index: HashMap<String, Vec<String>> = HashMap::new();
        for name in profile.functions.keys() {
            index.entry(strip_hash(name).to_string()).or_default().push(name.clone());
        }
        Names { profile, index }
    }
    fn names(&self, path: &str) -> &[String] {
        self.index.get(path).map(Vec::as_slice).unwrap_or(&[])
    }
    fn incl(&self, path: &str) -> u64 {
        self.names(path).iter().map(|n| self.profile.inclusive(n)).sum()
    }
    fn calls(&self, path: &str) -> u64 {
        self.names(path).iter().map(|n| self.profile.calls(n)).sum()
    }
}

fn strip_hash(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &name[..i],
        _ => name,
    }
}

struct Row {
    phase: Phase,
    label: &'static str,
    ops: u64,
    orderbook: f64,
    perpetual: f64,
    ob_events: f64,
    pp_events: f64,
    logs: f64,
    syscalls: f64,
    cpi_stub: f64,
    entry_incl: f64,
    perp_calls: f64,
}

fn fmt(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
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

fn cmd(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Space of one market as listing creates it, from the real sizes: `key<TAB>value` lines.
pub fn space_tsv() -> String {
    use orderbook::state::{Book, HEADER_LEN};
    let cap = 1_024u32;
    let rent = anchor_lang::prelude::Rent::default();
    let book = Book::space(cap, SEAT_CAPACITY);
    let market = perpetual::state::Market::SPACE;
    let oracle = perpetual::state::PriceOracle::SPACE;
    let mut s = String::new();
    for (k, v) in [
        ("side_capacity", cap as usize),
        ("seat_capacity", SEAT_CAPACITY as usize),
        ("book_header", HEADER_LEN),
        ("side_bytes", Book::side_space(cap)),
        ("book_bytes_no_seats", Book::space(cap, 0)),
        ("book_bytes", book),
        ("seat_bytes", std::mem::size_of::<orderbook::state::Seat>()),
        ("market_bytes", market),
        ("oracle_bytes", oracle),
        ("book_rent", rent.minimum_balance(book) as usize),
        ("market_rent", rent.minimum_balance(market) as usize),
        ("oracle_rent", rent.minimum_balance(oracle) as usize),
    ] {
        writeln!(s, "{k}\t{v}").unwrap();
    }
    s
}

pub fn space_table() -> String {
    use orderbook::state::{Book, HEADER_LEN};
    let cap = 1_024u32;
    let orders = 2 * cap as usize;
    let no_seats = Book::space(cap, 0);
    let with_seats = Book::space(cap, SEAT_CAPACITY);
    let side = Book::side_space(cap);
    let rent = anchor_lang::prelude::Rent::default();
    let mut s = String::new();
    writeln!(s, "| book of {cap} orders per side | bytes | bytes per resting order |").unwrap();
    writeln!(s, "| --- | --- | --- |").unwrap();
    writeln!(s, "| header (`HEADER_LEN`) | {} | |", fmt(HEADER_LEN as f64)).unwrap();
    writeln!(s, "| one side (`Book::side_space({cap})`) | {} | {:.2} |", fmt(side as f64), side as f64 / cap as f64)
        .unwrap();
    writeln!(
        s,
        "| `Book::space({cap}, 0)`, no seat table | {} | {:.2} |",
        fmt(no_seats as f64),
        no_seats as f64 / orders as f64
    )
    .unwrap();
    writeln!(
        s,
        "| `Book::space({cap}, {SEAT_CAPACITY})`, {SEAT_CAPACITY} seats of {} bytes | {} | {:.2} |",
        std::mem::size_of::<orderbook::state::Seat>(),
        fmt(with_seats as f64),
        with_seats as f64 / orders as f64
    )
    .unwrap();
    let lamports = rent.minimum_balance(with_seats);
    writeln!(s).unwrap();
    writeln!(
        s,
        "Rent-exempt minimum of that book ({} bytes, default rent): {} lamports = {:.4} SOL (without the seat table: {:.4} SOL). Manifest: 80 bytes per resting order plus a 256-byte header; goal ≤ 80 bytes per order.",
        fmt(with_seats as f64),
        fmt(lamports as f64),
        lamports as f64 / 1e9,
        rent.minimum_balance(no_seats) as f64 / 1e9
    )
    .unwrap();
    s
}

pub fn report(callgrind_path: &str, summary_path: &str, results: Option<&str>, tsv: Option<&str>) {
    let text = std::fs::read_to_string(callgrind_path).unwrap_or_else(|e| panic!("{callgrind_path}: {e}"));
    let profile = Profile::parse(&text).expect("callgrind file");
    let names = Names::new(&profile);
    let summary = std::fs::read_to_string(summary_path).unwrap_or_else(|e| panic!("{summary_path}: {e}"));
    let mut ops: HashMap<String, u64> = HashMap::new();
    let mut ref_n = 0u64;
    for line in summary.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["ops", phase, k] => {
                ops.insert(phase.to_string(), k.parse().unwrap());
            }
            ["ref_n", n] => ref_n = n.parse().unwrap(),
            _ => {}
        }
    }
    let p = |s: &str| format!("book::probe::{s}");
    let loop_cost = names.incl(&p("ref_empty_loop")) as f64;
    let reference = |f: &str| {
        let incl = names.incl(&p(f)) as f64;
        assert!(incl > 0.0, "reference function {f} not in the profile");
        (incl - loop_cost) / ref_n as f64
    };

    let mut rows = vec![];
    for &(phase, name, label) in PHASES.iter().filter(|(ph, _, _)| *ph != Phase::setup) {
        let k = *ops.get(name).unwrap_or_else(|| panic!("no op count for {name}"));
        let f = |w: &str| names.incl(&format!("book::probe::{name}::{w}")) as f64 / k as f64;
        let calls = names.calls(&format!("book::probe::{name}::orderbook"));
        assert_eq!(calls, k, "{name}: the orderbook wrapper ran once per operation");
        let perp_calls = names.calls(&format!("book::probe::{name}::perpetual")) as f64 / k as f64;
        let (ob_log, pp_log, ob_ev, pp_ev) = composition(phase);
        let ob_log = reference(ob_log);
        let pp_log = reference(pp_log) * perp_calls;
        let ob_events: f64 = ob_ev.iter().map(|(r, n)| reference(r) * *n as f64).sum();
        let pp_events: f64 = pp_ev.iter().map(|(r, n)| reference(r) * *n as f64).sum();
        let perp_entry = f("perpetual");
        let orderbook = f("orderbook") - f("orderbook_cpi") - f("orderbook_syscall") - ob_log;
        let perpetual = perp_entry - f("perpetual_cpi") - f("perpetual_syscall") - pp_log;
        rows.push(Row {
            phase,
            label,
            ops: k,
            orderbook,
            perpetual,
            ob_events,
            pp_events,
            logs: ob_log + pp_log,
            syscalls: f("orderbook_syscall") + f("perpetual_syscall"),
            cpi_stub: f("orderbook_cpi") - perp_entry,
            entry_incl: f("orderbook"),
            perp_calls,
        });
    }

    let mut out = String::new();
    writeln!(out, "### Program work per operation, events excluded (compare with the goals)\n").unwrap();
    writeln!(out, "| operation | K | orderbook Ir | perpetual Ir | total program Ir | goal (bench/README.md) | Manifest, events excluded |").unwrap();
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |").unwrap();
    for r in &rows {
        let total = r.orderbook - r.ob_events + r.perpetual - r.pp_events;
        let goal = match goal(r.phase) {
            Some(g) => format!("≤ {} ({})", fmt(g as f64), if total <= g as f64 { "met" } else { "not met" }),
            None => "—".into(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | **{}** | {} | {} |",
            r.label,
            r.ops,
            fmt(r.orderbook - r.ob_events),
            fmt(r.perpetual - r.pp_events),
            fmt(total),
            goal,
            match manifest(r.phase).0 {
                0 => "—".to_string(),
                v => fmt(v as f64),
            }
        )
        .unwrap();
    }
    if let Some(path) = tsv {
        // Machine-readable rows for bench/compare.sh: ours, phase, K, events excluded, with events.
        let mut t = String::new();
        for r in &rows {
            let name = PHASES.iter().find(|(ph, _, _)| *ph == r.phase).map(|(_, n, _)| *n).unwrap_or("?");
            writeln!(
                t,
                "ours\t{name}\t{}\t{:.0}\t{:.0}\t{:.0}\t{:.0}",
                r.ops,
                r.orderbook - r.ob_events + r.perpetual - r.pp_events,
                r.orderbook + r.perpetual,
                r.orderbook - r.ob_events,
                r.perpetual - r.pp_events
            )
            .unwrap();
        }
        std::fs::write(path, t).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let take = |ph: Phase| {
        rows.iter()
            .find(|r| r.phase == ph)
            .map(|r| r.orderbook - r.ob_events + r.perpetual - r.pp_events)
            .unwrap_or(0.0)
    };
    writeln!(
        out,
        "\nPer extra fill (10-fill take − 1-fill take) / 9: {} Ir (Manifest: about 580).\n",
        fmt((take(Phase::take10) - take(Phase::take1)) / 9.0)
    )
    .unwrap();
    writeln!(
        out,
        "`settle_seats` per seat (10 seats − 1 seat) / 9: {} Ir; fixed part of a call: {} Ir.\n",
        fmt((take(Phase::settle10) - take(Phase::settle1)) / 9.0),
        fmt(take(Phase::settle1) - (take(Phase::settle10) - take(Phase::settle1)) / 9.0)
    )
    .unwrap();

    writeln!(out, "### With events (each `emit!` natively builds and serializes the event; the log call is a no-op)\n")
        .unwrap();
    writeln!(out, "| operation | orderbook Ir | perpetual Ir | total program Ir | of which events |").unwrap();
    writeln!(out, "| --- | --- | --- | --- | --- |").unwrap();
    for r in &rows {
        writeln!(
            out,
            "| {} | {} | {} | **{}** | {} |",
            r.label,
            fmt(r.orderbook),
            fmt(r.perpetual),
            fmt(r.orderbook + r.perpetual),
            fmt(r.ob_events + r.pp_events)
        )
        .unwrap();
    }
    writeln!(out, "\nManifest's \"with its log events\" figures (8,846 place … 88,526 10-fill take) include the native log stub (~6k Ir per event) and are not comparable with these.\n").unwrap();

    writeln!(out, "### Excluded: framework stand-ins for syscalls, per operation\n").unwrap();
    writeln!(out, "| operation | whole orderbook entry, inclusive | CPI stub (`sol_invoke_signed`, without perpetual) | other syscall stubs (clock, return data) | `msg!` instruction-name lines (`println!`) | perpetual entries per operation |").unwrap();
    writeln!(out, "| --- | --- | --- | --- | --- | --- |").unwrap();
    for r in &rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt(r.entry_incl),
            fmt(r.cpi_stub),
            fmt(r.syscalls),
            fmt(r.logs),
            r.perp_calls
        )
        .unwrap();
    }
    writeln!(out, "\n### Book space\n").unwrap();
    out.push_str(&space_table());

    print!("{out}");
    if let Some(path) = results {
        let mut md = String::new();
        writeln!(md, "# Order-book benchmark results\n").unwrap();
        writeln!(md, "Generated by `bench/run.sh` (see `bench/README.md` for the method). Do not edit by hand.\n")
            .unwrap();
        let dirty = cmd("git", &["status", "--porcelain", "--", "programs", "tests"]);
        writeln!(md, "- date: {}", cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap();
        writeln!(md, "- machine: `{}`, {}", cmd("uname", &["-m"]), cmd("valgrind", &["--version"])).unwrap();
        writeln!(md, "- compiler: `{}`, release profile (`overflow-checks = true`)", cmd("rustc", &["--version"]))
            .unwrap();
        writeln!(
            md,
            "- commit: `{}`{}",
            cmd("git", &["rev-parse", "--short=12", "HEAD"]),
            if dirty.is_empty() || dirty == "unknown" {
                String::new()
            } else {
                " with uncommitted changes in programs/ or tests/".into()
            }
        )
        .unwrap();
        writeln!(md, "- book: {} resting orders per side ({} per tick over {} ticks, 10 lots each, every order within its maker's seat allowance), capacity 1,024 per side\n", fmt((LEVELS as usize * PER_LEVEL) as f64), PER_LEVEL, LEVELS).unwrap();
        md.push_str(&out);
        std::fs::write(path, md).unwrap_or_else(|e| panic!("{path}: {e}"));
        eprintln!("wrote {path}");
    }
}

/// Functions that are the driver, the runtime or the framework, not program work (they
/// appear in a toggled profile only as callers of the collected code).
const NOT_PROGRAM: &[&str] = &[
    "book::",
    "<book::",
    "tokio::",
    "<tokio::",
    "std::rt::",
    "std::sys::backtrace",
    "std::thread::local",
    "solana_",
    "<solana_",
    "tarpc",
    "<tarpc",
    "tracing",
    "<tracing",
    "main",
    "(below main)",
    "__libc_start",
    "0x",
    "core::ops::function",
    "<core::future",
    "futures",
    "<futures",
    "<alloc::boxed::Box<F,A> as core::ops::function",
];

/// Top functions of a program-only profile (`bench/run.sh --profile PHASE`), aggregated by
/// function name: inclusive and self Ir per operation.
pub fn profile(callgrind_path: &str, summary_path: &str, phase: &str, top: usize) {
    let text = std::fs::read_to_string(callgrind_path).unwrap_or_else(|e| panic!("{callgrind_path}: {e}"));
    let profile = Profile::parse(&text).expect("callgrind file");
    let summary = std::fs::read_to_string(summary_path).unwrap_or_else(|e| panic!("{summary_path}: {e}"));
    let k: u64 = summary
        .lines()
        .find_map(|l| l.strip_prefix(&format!("ops {phase} ")).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no op count for {phase}"));
    let mut rows: Vec<(u64, u64, &str)> = profile
        .functions
        .iter()
        .filter(|(name, _)| !NOT_PROGRAM.iter().any(|p| name.starts_with(p)))
        .map(|(name, f)| (profile.inclusive(name), f.self_ir, name.as_str()))
        .filter(|(incl, _, _)| *incl > 0)
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    println!("Program-only profile of `{phase}`, per operation (K = {k}); the total includes the instruction-name");
    println!("println! lines (`std::io::stdio::_print`) that the main table removes.\n");
    println!("| inclusive Ir | self Ir | function |");
    println!("| ---: | ---: | --- |");
    for (incl, own, name) in rows.into_iter().take(top) {
        println!("| {} | {} | `{}` |", fmt(incl as f64 / k as f64), fmt(own as f64 / k as f64), name);
    }
}
