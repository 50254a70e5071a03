//! Market listing by the admin, parameter bounds, margins and fee sweeping.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::sdk::UpdateMarketArgs;
use perpetual::{MarketStatus, OracleKind, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn admin_lists_a_market_with_bounded_parameters() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let s = env.market_state(&m.market).await;
    assert_eq!(s.symbol_str(), "SOL");
    assert_eq!((s.init_margin_long_bps, s.maint_margin_long_bps), (1_000, 500));
    assert_eq!(s.status, MarketStatus::Active as u8);
    assert_eq!(s.quote_decimals, COLLATERAL_DECIMALS);

    // Every bound is enforced at listing.
    let admin = env.admin.insecure_clone();
    let oracle = m.oracle;
    type Case = (&'static str, Box<dyn Fn(&mut perpetual::sdk::CreateMarketArgs)>, PerpError);
    let cases: Vec<Case> = vec![
        ("margin below 10%", Box::new(|a| a.init_margin_long_bps = 999), PerpError::InvalidMargins),
        ("margin above 100%", Box::new(|a| a.init_margin_short_bps = 10_001), PerpError::InvalidMargins),
        ("zero lot", Box::new(|a| a.base_lot_size = 0), PerpError::ParameterOutOfRange),
        ("stale allowance", Box::new(|a| a.oracle_max_age_secs = 3_601), PerpError::ParameterOutOfRange),
        ("confidence", Box::new(|a| a.oracle_max_conf_bps = 0), PerpError::ParameterOutOfRange),
        ("band", Box::new(|a| a.price_band_bps = 2_501), PerpError::ParameterOutOfRange),
        (
            "rebate larger than fee",
            Box::new(|a| {
                a.maker_fee_ppm = -600;
                a.taker_fee_ppm = 500
            }),
            PerpError::ParameterOutOfRange,
        ),
        ("negative taker fee", Box::new(|a| a.taker_fee_ppm = -1), PerpError::ParameterOutOfRange),
        ("funding cap", Box::new(|a| a.max_funding_rate_ppbh = 10_000_001), PerpError::ParameterOutOfRange),
        ("funding window", Box::new(|a| a.funding_window_secs = 59), PerpError::ParameterOutOfRange),
        ("empty symbol", Box::new(|a| a.symbol = [0; 16]), PerpError::InvalidSymbol),
    ];
    for (i, (what, mutate, expected)) in cases.into_iter().enumerate() {
        let mut args = market_args(&format!("BAD{i}"), OracleKind::SetPrice);
        mutate(&mut args);
        let ix = sdk::create_market(&admin.pubkey(), &env.exchange, &oracle, args);
        assert_refused(&mut env, &[ix], &[&admin], code(expected), what).await;
    }
    let stranger = Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let ix = sdk::create_market(&stranger.pubkey(), &env.exchange, &oracle, market_args("MINE", OracleKind::SetPrice));
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotAdmin), "stranger lists").await;
}

#[tokio::test]
async fn admin_updates_and_risk_authority_sets_margins() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let admin = env.admin.insecure_clone();
    let args = UpdateMarketArgs { taker_fee_ppm: Some(700), price_band_bps: Some(300), ..Default::default() };
    env.process(&[sdk::update_market(&admin.pubkey(), &env.exchange, &m.market, args)], &[&admin]).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((s.taker_fee_ppm, s.price_band_bps, s.maker_fee_ppm), (700, 300, -100));
    let bad = UpdateMarketArgs { maker_fee_ppm: Some(-800), ..Default::default() };
    let ix = sdk::update_market(&admin.pubkey(), &env.exchange, &m.market, bad);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ParameterOutOfRange), "rebate too large").await;

    let risk = env.risk_authority.insecure_clone();
    env.process(&[sdk::set_margins(&risk.pubkey(), &env.exchange, &m.market, 2_001, 4_000)], &[&risk]).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((s.init_margin_long_bps, s.maint_margin_long_bps), (2_001, 1_001), "maintenance is half, rounded up");
    assert_eq!((s.init_margin_short_bps, s.maint_margin_short_bps), (4_000, 2_000));
    let ix = sdk::set_margins(&risk.pubkey(), &env.exchange, &m.market, 500, 4_000);
    assert_refused(&mut env, &[ix], &[&risk], code(PerpError::InvalidMargins), "5% initial").await;
    let ix = sdk::set_margins(&admin.pubkey(), &env.exchange, &m.market, 2_000, 2_000);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::NotRiskAuthority), "admin sets margins").await;
}

#[tokio::test]
async fn reduce_only_and_paused_markets() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let short = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 10, 1_000_000).await.unwrap();
    let admin = env.admin.insecure_clone();
    env.process(
        &[sdk::set_market_status(&admin.pubkey(), &env.exchange, &m.market, MarketStatus::ReduceOnly)],
        &[&admin],
    )
    .await
    .unwrap();

    // Growing is refused; reducing passes.
    let ix = env.reserve_ix(&short, &m, 0, 5).await;
    assert_refused(&mut env, &[ix], &[&short.owner], code(PerpError::MarketReduceOnly), "short adds asks").await;
    env.reserve(&short, &m, 4, 0).await.expect("the short may bid to close");
    let ix = env
        .settle_ix(
            &long,
            &m,
            &[short.margin_account],
            vec![perpetual::Fill { maker_index: 0, taker_side: Side::Ask, base_lots: 4, price_per_lot: 1_000_000 }],
            vec![],
            0,
            0,
        )
        .await;
    env.process(&[ix], &[&long.owner]).await.expect("reducing fill");
    assert_eq!(env.position(&long.margin_account, &m.market).await.base_lots, 6);

    env.process(&[sdk::set_market_status(&admin.pubkey(), &env.exchange, &m.market, MarketStatus::Paused)], &[&admin])
        .await
        .unwrap();
    env.reserve(&short, &m, 2, 0).await.unwrap_err();
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn fees_accrue_per_market_and_are_swept() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&taker, &maker, &m, Side::Bid, 100, 1_000_000).await.unwrap();
    // 100 USDC notional: taker 500 ppm = 50_000, maker rebate 100 ppm = 10_000.
    assert_eq!(env.market_state(&m.market).await.fees_accrued, 40_000);
    env.process(&[sdk::sweep_fees(&env.exchange, &m.market)], &[]).await.unwrap();
    assert_eq!(env.market_state(&m.market).await.fees_accrued, 0);
    assert_eq!(env.exchange_state().await.fee_balance, 40_000);
    invariants::check(&mut env).await;
}
