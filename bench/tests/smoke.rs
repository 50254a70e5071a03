//! Smoke run of the order-book benchmark (`book run`, natively, no valgrind): the scenario
//! builds the full book and runs a couple of each measured operation with all its checks
//! (predicted keys, full fills, book invariants), and `book space --tsv` reports the sizes.
//! `bench/compare.sh` runs the real measurement; this only keeps it from rotting.
use std::process::Command;

#[test]
fn book_scenario_runs_natively() {
    let dir = std::env::temp_dir().join(format!("bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("summary.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_book"))
        .args(["run", "--ops", "2", "--sweeps", "1", "--summary"])
        .arg(&summary)
        .env("RUST_LOG", "error")
        .output()
        .expect("book runs");
    assert!(out.status.success(), "book run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let s = std::fs::read_to_string(&summary).expect("summary written");
    for phase in ["place", "cancel", "take1", "take5", "take10"] {
        assert!(s.lines().any(|l| l.starts_with(&format!("ops {phase} "))), "summary lists {phase}:\n{s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn space_figures_come_from_the_real_sizes() {
    let out = Command::new(env!("CARGO_BIN_EXE_book")).args(["space", "--tsv"]).output().expect("book space");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| -> usize {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}\t")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} in\n{text}"))
    };
    assert!(get("book_bytes") > get("side_bytes") && get("market_bytes") > 0 && get("book_rent") > 0);
}
