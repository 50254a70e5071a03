//! `book`: native instruction counts of the order book's place, cancel and take.
//!
//! `book run` builds a chain with the programs loaded natively, a book of 1,000 resting
//! orders per side, and runs the measured operations, each inside a phase whose name
//! callgrind sees (see `probe.rs`). `book report` reads the callgrind output and prints
//! the table. `bench/run.sh` does both under valgrind; see `bench/README.md`.

mod callgrind;
mod probe;
mod report;
mod scenario;

fn usage() -> ! {
    eprintln!("usage:\n  book run [--ops K] [--sweeps S] [--summary FILE]\n  book report --callgrind FILE --summary FILE [--results FILE] [--tsv FILE]\n  book profile --callgrind FILE --summary FILE --phase PHASE [--top N]\n  book space [--tsv]");
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
                sweeps: arg(&args, "--sweeps").unwrap_or(20),
                summary: arg(&args, "--summary").unwrap_or_else(|| "book-summary.txt".into()),
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(scenario::run(cfg));
        }
        Some("report") => {
            let callgrind: String = arg(&args, "--callgrind").unwrap_or_else(|| usage());
            let summary: String = arg(&args, "--summary").unwrap_or_else(|| usage());
            let results: Option<String> = arg(&args, "--results");
            let tsv: Option<String> = arg(&args, "--tsv");
            report::report(&callgrind, &summary, results.as_deref(), tsv.as_deref());
        }
        Some("profile") => {
            let callgrind: String = arg(&args, "--callgrind").unwrap_or_else(|| usage());
            let summary: String = arg(&args, "--summary").unwrap_or_else(|| usage());
            let phase: String = arg(&args, "--phase").unwrap_or_else(|| usage());
            report::profile(&callgrind, &summary, &phase, arg(&args, "--top").unwrap_or(60));
        }
        Some("space") if args.iter().any(|a| a == "--tsv") => print!("{}", report::space_tsv()),
        Some("space") => print!("{}", report::space_table()),
        _ => usage(),
    }
}
