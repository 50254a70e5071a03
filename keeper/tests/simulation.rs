//! A short simulation in the test suite: every path runs and the chain's own bytes satisfy
//! the invariants; the same seed gives the same report.
#[tokio::test]
async fn a_short_simulation_exercises_every_path_and_keeps_the_invariants() {
    // The README's main command runs exactly this (the default seed and length).
    let cfg = keeper::sim::SimConfig::default();
    let r = keeper::sim::run(&cfg).await.expect("simulation runs");
    assert!(r.invariants_ok, "{:#?}", r.invariant_failures);
    for m in &r.markets {
        assert!(m.fills > 0 && m.funding_updates > 0 && m.mark_samples > 0, "{m:?}");
        assert_eq!(m.sum_positions, 0, "{m:?}");
    }
    assert!(r.markets.iter().any(|m| m.final_settled), "one market ends in final settlement");
    assert!(
        r.liquidations > 0 && r.early_deleverages > 0 && r.deleverages > 0,
        "{:?}",
        (r.liquidations, r.early_deleverages, r.deleverages)
    );
    assert!(r.insurance_fund.end != r.insurance_fund.start, "the insurance fund was used");

    let again = keeper::sim::run(&cfg).await.expect("simulation runs");
    assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap(), "same seed, same report");
}
