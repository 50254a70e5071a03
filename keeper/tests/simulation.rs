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
    assert!(
        r.book_liquidations > 0 && r.liquidations > r.book_liquidations,
        "liquidations through the book and by takeover: {:?}",
        (r.liquidations, r.book_liquidations)
    );
    assert!(r.insurance_fund.end != r.insurance_fund.start, "the insurance fund was used");
    // The keeper predicts the programs' risk gates: none of its actions is refused.
    for gate in ["EarlyDeleverageNotNeeded", "InvalidCounterparty", "LiquidationWouldBankrupt", "NotLiquidatable"] {
        assert!(!r.refusals.contains_key(gate), "{gate} refused: {:?}", r.refusals);
    }

    let again = keeper::sim::run(&cfg).await.expect("simulation runs");
    assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap(), "same seed, same report");
}

/// `keeper simulate` as a newcomer runs it: standard output is the summary and nothing else
/// (the programs' native log lines and the keeper's warnings about expected refusals go to
/// the log file), and the summary counts the refusals by reason.
#[test]
fn the_simulate_command_prints_a_summary_without_raw_log_lines() {
    let dir = std::env::temp_dir().join(format!("keeper-simulate-output-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keeper"))
        .args(["simulate", "--minutes", "30"])
        .arg("--report")
        .arg(dir.join("report.json"))
        .arg("--chart")
        .arg(dir.join("chart.svg"))
        .arg("--program-log")
        .arg(dir.join("programs.log"))
        .env_remove("RUST_LOG")
        .output()
        .expect("keeper simulate runs");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for text in [&stdout, &stderr] {
        for raw in ["AnchorError", "Program log", "Error Code", " WARN ", "Left:", "invoke ["] {
            assert!(!text.contains(raw), "a raw log line ({raw}) on the terminal:\n{text}");
        }
    }
    assert!(stdout.contains("invariants_ok: true") && stdout.contains("refused, by reason: "), "{stdout}");
    let log = std::fs::read_to_string(dir.join("programs.log")).unwrap();
    assert!(log.contains("AnchorError"), "the log file holds the programs' refusals");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 35% move over five minutes that stays (`keeper simulate --scenario crash|rally`): the
/// run keeps the invariants, the keeper acts on every leveraged account, and none stays
/// insolvent at the true price more than 5 minutes after the move ends; the insurance fund's
/// loss is reported.
async fn a_genuine_move_is_liquidated_within_five_minutes(scenario: keeper::sim::Scenario, headline: &str) {
    let cfg = keeper::sim::SimConfig { minutes: 90, scenario, ..Default::default() };
    let r = keeper::sim::run(&cfg).await.expect("simulation runs");
    assert!(r.invariants_ok, "{:#?}", r.invariant_failures);
    let (first, last) = r.move_minutes.expect("the move is reported");
    assert_eq!((first, last), (30, 34));
    assert_eq!(r.leveraged.len(), 3);
    for l in &r.leveraged {
        let acted = l.first_action_minute.expect("the keeper acted on it");
        assert!(acted <= last + 5, "{l:?}");
        if let Some(to) = l.last_insolvent_minute {
            assert!(to <= last + 5 && l.worst_equity < 0.0, "insolvent for too long: {l:?}");
        }
    }
    let (start, end) = (r.insurance_fund.start, r.insurance_fund.end);
    assert!(end < start, "the fund paid for the move: {start} -> {end}");
    let summary = r.summary();
    assert!(summary.contains(headline) && summary.contains("insurance fund 10000.00 -> "), "{summary}");
}

#[tokio::test]
async fn a_crash_is_liquidated_within_five_minutes() {
    a_genuine_move_is_liquidated_within_five_minutes(
        keeper::sim::Scenario::Crash,
        "Crash: SOL fell 35% over minutes 30 to 34",
    )
    .await;
}

#[tokio::test]
async fn a_rally_is_liquidated_within_five_minutes() {
    a_genuine_move_is_liquidated_within_five_minutes(
        keeper::sim::Scenario::Rally,
        "Rally: SOL rose 35% over minutes 30 to 34",
    )
    .await;
}

/// A flash spike (`keeper simulate --scenario spike`): SOL's oracle reads 60% higher for one
/// minute while the book keeps the true price. The jump guard never takes it, so the
/// leveraged shorts, healthy at the true price, are never acted on.
#[tokio::test]
async fn a_flash_spike_liquidates_no_account_healthy_at_the_true_price() {
    let cfg = keeper::sim::SimConfig { minutes: 60, scenario: keeper::sim::Scenario::Spike, ..Default::default() };
    let r = keeper::sim::run(&cfg).await.expect("simulation runs");
    assert!(r.invariants_ok, "{:#?}", r.invariant_failures);
    assert_eq!(r.move_minutes, Some((20, 20)));
    assert_eq!(r.leveraged.len(), 3);
    for l in &r.leveraged {
        assert_eq!((l.insolvent_minute, l.first_action_minute), (None, None), "{l:?}");
    }
    assert_eq!((r.liquidations, r.early_deleverages, r.deleverages), (0, 0, 0));
    assert!(r.summary().contains("Spike: SOL read 60% higher for minute 20 only"), "{}", r.summary());
}
