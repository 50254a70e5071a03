//! The README's main command runs end to end and the chain's own bytes satisfy the invariants.
#[tokio::test]
async fn demo_runs_and_invariants_hold() {
    let report = keeper::demo::run().await.expect("demo runs");
    assert!(report.invariants_ok, "{:#?}", report.lines);
    assert!(report.lines.iter().any(|l| l.contains("bob (long) -0.120000 USDC, alice (short) +0.120000 USDC")), "{:#?}", report.lines);
}
