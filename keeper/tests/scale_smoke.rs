//! Smoke run of the keeper-scale benchmark (`keeper/benches/scale.rs`) at tiny sizes, so the
//! benchmark keeps building and running under `cargo test`; `bench/compare.sh` runs it at
//! full size in release.
#[path = "../benches/scale.rs"]
mod scale;

#[test]
fn health_scan_and_var_run_at_tiny_sizes() {
    let h = scale::health_scan(200, 10);
    assert!(h.seconds > 0.0 && h.bound_seconds > 0.0, "{}", scale::line("health_scan", &h));
    let v = scale::var(3);
    assert!(v.seconds > 0.0 && v.bound_seconds > 0.0, "{}", scale::line("var", &v));
}

#[tokio::test(flavor = "multi_thread")]
async fn simulation_tps_runs_briefly() {
    let (sim, txs) = scale::simulation(2).await;
    assert!(txs > 0 && sim.seconds > 0.0 && sim.bound_seconds > 0.0, "{}", scale::line("simulation", &sim));
}
