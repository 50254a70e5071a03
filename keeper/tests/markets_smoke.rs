//! Smoke run of the thousands-of-markets benchmark (`keeper/benches/markets.rs`) at tiny
//! sizes, so it keeps building and running under `cargo test`; `bench/compare.sh` runs it
//! at full size in release. What it checks holds at any size: discovery finds every market
//! and account, the exchange account does not grow with the markets, every crank lands,
//! and the loop packs its cranks.
#[path = "../benches/markets.rs"]
mod markets;

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_markets_runs_at_tiny_sizes() {
    let lines = markets::run(24, 40, 2).await;
    let field = |key: &str| -> Vec<String> {
        let line =
            lines.iter().find(|l| l.starts_with(&format!("{key}\t"))).unwrap_or_else(|| panic!("{key}: {lines:?}"));
        line.split('\t').skip(1).map(str::to_string).collect()
    };
    let setup = field("markets_setup");
    assert_eq!(setup[..3], ["24", "40", "2"], "{lines:?}");
    // loop: seconds, bound seconds, transactions, bound transactions, cranks.
    let lp = field("loop");
    let (transactions, bound, cranks): (u32, u32, u32) =
        (lp[2].parse().unwrap(), lp[3].parse().unwrap(), lp[4].parse().unwrap());
    // 24 funding updates and 24 mark samples at least, in fewer transactions than cranks.
    assert!(cranks >= 48, "{lines:?}");
    assert!(transactions < cranks && transactions >= bound, "{lines:?}");
    let marks: Vec<String> = lines.iter().filter(|l| l.starts_with("loop_part\tmarks\t")).cloned().collect();
    assert_eq!(marks.len(), 1, "{lines:?}");
    let m: Vec<&str> = marks[0].split('\t').collect();
    assert_eq!(m[3], "24", "every book sampled: {lines:?}");
}
