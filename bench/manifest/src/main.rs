//! `manifest-bench`: the peer of `bench` (our `book`), Manifest (`manifest-dex` 2.0.1) run
//! natively in `solana-program-test` 1.18.26 with `processor!`, on the workload of
//! `bench/README.md`:
//!
//! - a book of 1,000 resting orders per side: ten makers each rest one post-only order of
//!   10 lots at each of 100 ticks per side (bids 900..=999, asks 1001..=1100), maker by
//!   maker, so every tick holds 10 orders of 10 makers (200 ticks in all);
//! - `place`: maker 0 posts a post-only order at an existing tick (bids and asks
//!   alternately, spread over the ticks); `cancel` removes it by sequence number with the
//!   order's index as hint (from the place's return data);
//! - `takeN` (N = 1, 5, 10): a taker's immediate-or-cancel buy of N × 10 lots at the best ask,
//!   from deposited balances (no token transfer): N full fills from N makers; the filled
//!   makers re-post (setup, not measured) so every take meets the same book.
//!
//! Attribution is the same as in our bench (`bench/src/probe.rs`): the `processor!` entry
//! dispatches on the current phase to `#[inline(never)]` wrappers named per phase
//! (`manifest_bench::probe::place::manifest`, ...), and the framework's syscall stubs are
//! wrapped per phase too (`..::log_data` for `sol_log_data`, `..::cpi` for
//! `sol_invoke_signed`, `..::syscall` for sysvars and return data). Callgrind's inclusive
//! cost of a wrapper divided by the number of operations is the cost of one operation.
//!
//! Manifest's log events (`manifest::logs::emit_stack`: zero a 3,000-byte stack buffer, copy
//! the event in, `sol_log_data`; natively the stub base64-encodes and `println!`s it) are
//! separated the way ours are: the `log_data` wrappers hold the native log stub, and
//! reference functions (`ref_emit_*`) call `emit_stack` with the same event types while
//! the stub is a no-op, giving the cost of building each event. Manifest has no feature that
//! turns its logs off (only the undeclared `certora` cfg), so this subtraction is the way.
//!
//! `manifest-bench run [--ops K] [--sweeps S] [--summary FILE]` runs the scenario;
//! `manifest-bench report --callgrind FILE --summary FILE [--tsv FILE]` prints the table.
mod probe;
mod scenario;
#[path = "../../src/callgrind.rs"]
#[allow(dead_code)]
mod callgrind;
mod report;

fn usage() -> ! {
    eprintln!("usage:\n  manifest-bench run [--ops K] [--sweeps S] [--summary FILE]\n  manifest-bench report --callgrind FILE --summary FILE [--tsv FILE]\n  manifest-bench space");
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).map(|i| args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            let cfg = scenario::Config {
                ops: arg(&args, "--ops").unwrap_or(100),
                sweeps: arg(&args, "--sweeps").unwrap_or(100),
                summary: arg(&args, "--summary").unwrap_or_else(|| "manifest-summary.txt".into()),
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(scenario::run(cfg));
        }
        Some("report") => {
            let cg: String = arg(&args, "--callgrind").unwrap_or_else(|| usage());
            let summary: String = arg(&args, "--summary").unwrap_or_else(|| usage());
            let tsv: Option<String> = arg(&args, "--tsv");
            report::report(&cg, &summary, tsv.as_deref());
        }
        Some("space") => report::space(),
        _ => usage(),
    }
}
