//! Arithmetic: no round trip creates value, and at the extremes the answer is a named error,
//! never a panic or a wrap.
//!
//! - Round trips are property tests over seeded pseudo-random cases (proptest is not a
//!   dependency of this crate, so a SplitMix64 stream stands in; every failure message names
//!   the case). `ARITHMETIC_SEED` and `ARITHMETIC_CASES` widen a run:
//!   `ARITHMETIC_SEED=7 ARITHMETIC_CASES=500 cargo test -p integration-tests --test arithmetic`.
//! - Extremes on the chain: u64::MAX / i64::MAX amounts, oracle prices of 1, 0, negative and
//!   i64::MAX, fill sizes and lot sizes at u64::MAX, each refused with a named error that
//!   leaves every account it names unchanged.
//! - The pure math (`math::{fees, fixed_point, funding, health, price, mark, var}` and the
//!   liquidation helpers) called on grids of extreme inputs under `catch_unwind`: an `Err` is
//!   fine, a panic is not.
//!
//! A program panic reaches the test as `ProgramFailedToComplete`; tests marked `#[ignore =
//! "BUG: ..."]` reproduce the panics found, and pass once they are fixed.
use std::panic::{catch_unwind, AssertUnwindSafe};

use anchor_lang::prelude::Pubkey;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::math::health::{self, HealthKind, MarketPrice, PositionInput, RiskParams, SeatAllowance};
use perpetual::math::liquidation;
use perpetual::math::lots as trade;
use perpetual::math::mark::{self, MarkSample, MARK_SAMPLES};
use perpetual::math::{fees, fixed_point, funding, price, var, I80F48};
use perpetual::sdk::CreateMarketArgs;
use perpetual::{sdk, Fill, OracleKind, Side};
use solana_instruction::error::InstructionError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

/// $1.00 per lot with the harness's defaults (expo -6, 6 base decimals, one whole unit a lot).
const PRICE: i64 = 1_000_000;

// ---------------------------------------------------------------------------------------
// Seeded cases.

/// SplitMix64: a tiny, well-mixed stream for reproducible cases.
struct Rng(u64);

impl Rng {
    fn new(label: &str) -> Self {
        let base: u64 = std::env::var("ARITHMETIC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
        // Each test gets its own stream, stable across runs.
        let salt = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        Rng(base ^ salt)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi);
        let span = hi - lo;
        if span == u64::MAX {
            return self.next();
        }
        lo + self.next() % (span + 1)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

fn cases(default: usize) -> usize {
    std::env::var("ARITHMETIC_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// Named errors.

/// The name of a perpetual error code, for messages (`None` when not one listed here).
fn perp_name(c: u32) -> Option<String> {
    // `Debug` of the generated enum is the variant name.
    NAMED.iter().find(|e| code(**e) == c).map(|e| format!("{e:?}"))
}

/// The errors these tests expect, for naming codes in failure messages.
const NAMED: &[PerpError] = &[
    PerpError::MathOverflow,
    PerpError::NonPositiveOraclePrice,
    PerpError::StaleOracle,
    PerpError::OracleConfidenceTooWide,
    PerpError::IndexJumped,
    PerpError::FillPriceOutsideBand,
    PerpError::ZeroFillSize,
    PerpError::ZeroAmount,
    PerpError::InsufficientInitialMargin,
    PerpError::MarginRuleViolated,
    PerpError::NoMarkPrice,
    PerpError::NonPositiveMarkPrice,
    PerpError::NotLiquidatable,
    PerpError::LiquidationWouldBankrupt,
    PerpError::NoPositionInMarket,
    PerpError::HealthAccountsMismatch,
];

/// How a failed transaction reads in a message: its custom code's name, or "a panic".
fn describe(err: &TransactionError) -> String {
    match err {
        TransactionError::InstructionError(_, InstructionError::ProgramFailedToComplete) => {
            format!("{err:?} (the program panicked)")
        }
        _ => match custom_code(err) {
            Some(c) => {
                format!("{err:?} ({})", perp_name(c).unwrap_or_else(|| "not an expected perpetual error".into()))
            }
            None => format!("{err:?}"),
        },
    }
}

/// The transaction failed with one of `allowed`.
#[track_caller]
fn expect_named(r: Result<TxOutput, TransactionError>, allowed: &[PerpError], what: &str) -> PerpError {
    match r {
        Ok(_) => panic!("{what}: accepted, expected one of {allowed:?}"),
        Err(e) => {
            let c = custom_code(&e);
            *allowed
                .iter()
                .find(|a| Some(code(**a)) == c)
                .unwrap_or_else(|| panic!("{what}: expected one of {allowed:?}, got {}", describe(&e)))
        }
    }
}

/// The transaction passed, or failed with one of `allowed` (never a panic or a generic error).
#[track_caller]
fn expect_ok_or_named(r: Result<TxOutput, TransactionError>, allowed: &[PerpError], what: &str) -> Option<PerpError> {
    match r {
        Ok(_) => None,
        Err(e) => {
            let c = custom_code(&e);
            Some(
                *allowed
                    .iter()
                    .find(|a| Some(code(**a)) == c)
                    .unwrap_or_else(|| panic!("{what}: expected success or one of {allowed:?}, got {}", describe(&e))),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures.

fn args(symbol: &str) -> CreateMarketArgs {
    market_args(symbol, OracleKind::SetPrice)
}

async fn deposit_ix(
    env: &TestEnv,
    user: &UserCookie,
    amount: u64,
) -> anchor_lang::solana_program::instruction::Instruction {
    sdk::deposit(&user.key(), &env.exchange, &env.mint, &user.margin_account, &user.token_account, amount)
}

async fn set_rate(env: &mut TestEnv, m: &MarketCookie, rate: i64) -> Result<TxOutput, TransactionError> {
    let auth = env.funding_authority.insecure_clone();
    let ix = sdk::set_funding_rate(&auth.pubkey(), &env.exchange, &m.market, &m.oracle, rate);
    env.process(&[ix], &[&auth]).await
}

async fn update_funding(env: &mut TestEnv, m: &MarketCookie) -> Result<TxOutput, TransactionError> {
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await
}

async fn settle_funding(env: &mut TestEnv, m: &MarketCookie, account: &Pubkey) {
    let ix = sdk::settle_funding(&m.market, &m.oracle, account);
    env.process(&[ix], &[]).await.expect("settle funding");
}

/// A one-fill settle instruction of `taker` against `maker`.
async fn fill_ix(
    env: &mut TestEnv,
    taker: &UserCookie,
    maker: &UserCookie,
    m: &MarketCookie,
    side: Side,
    base_lots: u64,
    price_per_lot: u64,
) -> anchor_lang::solana_program::instruction::Instruction {
    let fill = Fill { maker_index: 0, taker_side: side, base_lots, price_per_lot };
    env.settle_ix(taker, m, &[maker.margin_account], vec![fill], vec![], 0, 0).await
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Bid => Side::Ask,
        Side::Ask => Side::Bid,
    }
}

// ---------------------------------------------------------------------------------------
// Round trips.

/// Deposit then withdraw any amount, in any split: the wallet gets back every unit, the
/// margin account and the vault return to where they started.
#[tokio::test]
async fn deposit_then_withdraw_returns_every_unit() {
    let mut env = TestEnv::new().await;
    let mut rng = Rng::new("deposit");
    let m = env.create_market("RT", PRICE).await;
    // Wallets from one unit to i64::MAX units; one also holds a healthy long.
    let mut users = vec![];
    for tokens in [1u64, 1_000 * ONE_USDC, 10_000 * ONE_USDC, i64::MAX as u64] {
        users.push(env.create_user(tokens).await);
    }
    let long = env.funded_user(10_000 * ONE_USDC).await;
    let short = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 1_000, PRICE as u64).await.unwrap();
    let mint_authority = env.mint_authority.insecure_clone();
    let ix = spl_token_interface::instruction::mint_to(
        &spl_token_interface::ID,
        &env.mint,
        &long.token_account,
        &mint_authority.pubkey(),
        &[],
        5_000 * ONE_USDC,
    )
    .unwrap();
    env.process(&[ix], &[&mint_authority]).await.unwrap();
    users.push(long);

    for case in 0..cases(24) {
        let u = &users[rng.range(0, users.len() as u64 - 1) as usize];
        let vault = env.vault;
        let (tokens0, collateral0, vault0) = (
            env.token_balance(&u.token_account).await,
            env.collateral(&u.margin_account).await,
            env.token_balance(&vault).await,
        );
        // The total: one unit, everything, or anything between; then split in 1..=3 parts
        // each way, independently.
        let total = match rng.range(0, 3) {
            0 => 1,
            1 => tokens0,
            _ => rng.range(1, tokens0),
        };
        let split = |rng: &mut Rng| -> Vec<u64> {
            let parts = rng.range(1, 3.min(total));
            let mut cuts: Vec<u64> = (1..parts).map(|_| rng.range(1, total - 1)).collect();
            cuts.sort();
            cuts.dedup();
            let mut out = vec![];
            let mut last = 0;
            for c in cuts.into_iter().chain([total]) {
                out.push(c - last);
                last = c;
            }
            out
        };
        let (ins, outs) = (split(&mut rng), split(&mut rng));
        let what =
            format!("case {case}: deposit {ins:?} then withdraw {outs:?} (wallet {tokens0}, collateral {collateral0})");
        let mut expected = collateral0;
        for a in &ins {
            env.deposit(u, *a).await.unwrap_or_else(|e| panic!("{what}: deposit {a}: {}", describe(&e)));
            expected += *a as i64;
            assert_eq!(env.collateral(&u.margin_account).await, expected, "{what}: collateral after depositing {a}");
        }
        assert_eq!(env.token_balance(&vault).await, vault0 + total, "{what}: vault after the deposits");
        for a in &outs {
            env.withdraw(u, *a).await.unwrap_or_else(|e| panic!("{what}: withdraw {a}: {}", describe(&e)));
            expected -= *a as i64;
            assert_eq!(env.collateral(&u.margin_account).await, expected, "{what}: collateral after withdrawing {a}");
        }
        assert_eq!(env.token_balance(&u.token_account).await, tokens0, "{what}: the wallet got every unit back");
        assert_eq!(env.collateral(&u.margin_account).await, collateral0, "{what}: collateral back to its start");
        assert_eq!(env.token_balance(&vault).await, vault0, "{what}: vault back to its start");
        // Nothing more comes out than went in: one more unit than the account may take is
        // refused (a flat account's limit is its collateral exactly).
        if env.margin(&u.margin_account).await.1.iter().all(|p| p.is_free()) {
            let ix = env.withdraw_ix(u, collateral0 as u64 + 1).await;
            assert_refused(
                &mut env,
                &[ix],
                &[&u.owner],
                code(PerpError::InsufficientInitialMargin),
                &format!("{what}: one unit more"),
            )
            .await;
        }
    }
    invariants::check(&mut env).await;
}

/// Open then close at one price through `env.trade` (one to three fills to open, one to
/// close): each side's collateral changes by exactly minus its fees, the market's fees grow
/// by their sum, and the pair together never gains.
#[tokio::test]
async fn open_then_close_at_one_price_costs_exactly_the_fees() {
    let mut env = TestEnv::new().await;
    let mut rng = Rng::new("open-close");
    // (maker ppm, taker ppm): default, free, the widest rebate, the highest fees, a paying maker.
    let mut markets = vec![];
    for (i, (maker_ppm, taker_ppm)) in
        [(-100, 500), (0, 0), (-1_000, 1_000), (10_000, 10_000), (300, 0)].into_iter().enumerate()
    {
        let mut a = args(&format!("OC{i}"));
        a.maker_fee_ppm = maker_ppm;
        a.taker_fee_ppm = taker_ppm;
        markets.push(env.create_market_with(a, PRICE).await);
    }
    let mut users = vec![];
    for _ in 0..4 {
        users.push(env.funded_user(100_000 * ONE_USDC).await);
    }
    let (lo, hi) = (PRICE as u64 * 95 / 100, PRICE as u64 * 105 / 100); // the 5% band

    for case in 0..cases(24) {
        let m = markets[rng.range(0, markets.len() as u64 - 1) as usize];
        let t = rng.range(0, 3) as usize;
        let k = (t + rng.range(1, 3) as usize) % 4;
        let (taker, maker) = (&users[t], &users[k]);
        let side = if rng.coin() { Side::Bid } else { Side::Ask };
        let any = rng.range(lo, hi);
        let price = rng.pick(&[lo, hi, PRICE as u64, any]);
        let chunks: Vec<u64> = (0..rng.range(1, 3)).map(|_| rng.range(1, 700)).collect();
        let total: u64 = chunks.iter().sum();
        let what = format!(
            "case {case}: {} taker {side:?} {chunks:?} lots at {price}, closed at the same price",
            m.symbol.iter().map(|b| *b as char).filter(|c| *c != '\0').collect::<String>()
        );

        let state = env.market_state(&m.market).await;
        let (taker0, maker0) =
            (env.collateral(&taker.margin_account).await, env.collateral(&maker.margin_account).await);
        let (fees0, pool0) = (state.fees_accrued, state.funding_pool);
        let (mut taker_fees, mut maker_fees) = (0i64, 0i64);
        for (lots, s) in chunks.iter().map(|l| (*l, side)).chain([(total, opposite(side))]) {
            env.trade(taker, maker, &m, s, lots, price)
                .await
                .unwrap_or_else(|e| panic!("{what}: {s:?} {lots}: {}", describe(&e)));
            let notional = fees::notional(lots, price).unwrap();
            taker_fees += fees::fee(notional, state.taker_fee_ppm).unwrap();
            maker_fees += fees::fee(notional, state.maker_fee_ppm).unwrap();
        }
        let state = env.market_state(&m.market).await;
        let taker_change = env.collateral(&taker.margin_account).await - taker0;
        let maker_change = env.collateral(&maker.margin_account).await - maker0;
        assert_eq!(taker_change, -taker_fees, "{what}: the taker pays exactly its fees");
        assert_eq!(maker_change, -maker_fees, "{what}: the maker pays exactly its fees (a rebate is negative)");
        assert!(taker_change <= 0, "{what}: a taker never gains");
        assert!(taker_change + maker_change <= 0, "{what}: the pair gained {}", taker_change + maker_change);
        assert_eq!(state.fees_accrued - fees0, taker_fees + maker_fees, "{what}: the market holds the fees");
        assert_eq!(state.funding_pool, pool0, "{what}: no funding moved");
        for u in [taker, maker] {
            assert_eq!(env.position(&u.margin_account, &m.market).await.base_lots, 0, "{what}: flat again");
        }
    }
    invariants::check(&mut env).await;
}

/// Funding at +R for T seconds, then -R for T seconds, at one price: neither side gains,
/// the funding pool ends non-negative and holds what they lost (dust, at most a unit per
/// settlement), and the index returns to where it was up to the two deltas' rounding.
#[tokio::test]
async fn funding_there_and_back_never_pays_anyone() {
    let mut env = TestEnv::new().await;
    let mut rng = Rng::new("funding");
    for case in 0..cases(8) {
        let any = rng.range(100_000, 10_000_000) as i64;
        let price = rng.pick(&[1i64, 7, PRICE, any]);
        let m = env.create_market(&format!("FB{case}"), price).await;
        let (long, short) = (env.funded_user(100_000 * ONE_USDC).await, env.funded_user(100_000 * ONE_USDC).await);
        let lots = rng.range(1, 1_000);
        env.trade(&long, &short, &m, Side::Bid, lots, price as u64).await.unwrap();
        // |R| <= 250_000 ppb/h: flipping to -R moves the rate by 2R within the 500_000 limit.
        let r = rng.range(1, 250_000) as i64 * if rng.coin() { 1 } else { -1 };
        let any = rng.range(1, 200_000) as i64;
        let t = rng.pick(&[1i64, 59, 3_600, any]);
        let settle_midway = rng.coin();
        let what = format!(
            "case {case}: {lots} lots at {price}, rate {r} for {t} s then {} (settled midway: {settle_midway})",
            -r
        );

        set_rate(&mut env, &m, r).await.unwrap_or_else(|e| panic!("{what}: +R: {}", describe(&e)));
        let index0 = env.market_state(&m.market).await.funding_index.get();
        let (long0, short0) = (env.collateral(&long.margin_account).await, env.collateral(&short.margin_account).await);
        assert_eq!(env.market_state(&m.market).await.funding_pool, 0);

        env.warp(t).await;
        env.set_price(&m, price).await;
        set_rate(&mut env, &m, -r).await.unwrap_or_else(|e| panic!("{what}: -R: {}", describe(&e)));
        if settle_midway {
            settle_funding(&mut env, &m, &long.margin_account).await;
            settle_funding(&mut env, &m, &short.margin_account).await;
        }
        env.warp(t).await;
        env.set_price(&m, price).await;
        update_funding(&mut env, &m).await.unwrap();
        // Settle in either order.
        let (first, second) = if rng.coin() { (&long, &short) } else { (&short, &long) };
        settle_funding(&mut env, &m, &first.margin_account).await;
        settle_funding(&mut env, &m, &second.margin_account).await;

        let state = env.market_state(&m.market).await;
        let p = I80F48::from_num(price);
        let expected = funding::index_delta(t, r, p).unwrap() + funding::index_delta(t, -r, p).unwrap();
        assert_eq!(state.funding_index.get() - index0, expected, "{what}: the index moved by the two legs exactly");
        let d_long = env.collateral(&long.margin_account).await - long0;
        let d_short = env.collateral(&short.margin_account).await - short0;
        let settlements = if settle_midway { 2 } else { 1 };
        assert!(d_long <= 0 && d_short <= 0, "{what}: long {d_long}, short {d_short}: someone gained");
        assert!(
            d_long >= -settlements && d_short >= -settlements,
            "{what}: long {d_long}, short {d_short}: more than rounding dust"
        );
        assert!(state.funding_pool >= 0, "{what}: funding pool {}", state.funding_pool);
        assert_eq!(state.funding_pool, -(d_long + d_short), "{what}: the pool holds exactly what the accounts lost");
    }
    invariants::check(&mut env).await;
}

// ---------------------------------------------------------------------------------------
// Extremes on the chain.

/// u64::MAX and i64::MAX amounts: collateral fills up to i64::MAX exactly and no further;
/// amounts that do not fit an i64, or that would take collateral past either end, are
/// MathOverflow; a deposit beyond the wallet is the token program's refusal.
#[tokio::test]
async fn deposits_and_withdrawals_at_the_integer_limits() {
    let mut env = TestEnv::new().await;
    let max = i64::MAX as u64;

    // A wallet of i64::MAX + 1 units fills its margin account to i64::MAX.
    let whale = env.create_user(max + 1).await;
    let ix = deposit_ix(&env, &whale, u64::MAX).await;
    assert_refused(&mut env, &[ix], &[&whale.owner], code(PerpError::MathOverflow), "deposit u64::MAX").await;
    let ix = deposit_ix(&env, &whale, max + 1).await;
    assert_refused(&mut env, &[ix], &[&whale.owner], code(PerpError::MathOverflow), "deposit i64::MAX + 1").await;
    env.deposit(&whale, max).await.expect("deposit i64::MAX");
    assert_eq!(env.collateral(&whale.margin_account).await, i64::MAX);
    let ix = deposit_ix(&env, &whale, 1).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&whale.owner],
        code(PerpError::MathOverflow),
        "one unit past i64::MAX collateral",
    )
    .await;
    for amount in [u64::MAX, max + 1] {
        let ix = env.withdraw_ix(&whale, amount).await;
        assert_refused(&mut env, &[ix], &[&whale.owner], code(PerpError::MathOverflow), &format!("withdraw {amount}"))
            .await;
    }
    invariants::check(&mut env).await;
    env.withdraw(&whale, max).await.expect("withdraw i64::MAX");
    assert_eq!(env.collateral(&whale.margin_account).await, 0);
    assert_eq!(env.token_balance(&whale.token_account).await, max + 1);

    // An ordinary wallet: beyond its balance the token program refuses; zero is ZeroAmount.
    let user = env.funded_user(1_000 * ONE_USDC).await;
    let mint_authority = env.mint_authority.insecure_clone();
    let ix = spl_token_interface::instruction::mint_to(
        &spl_token_interface::ID,
        &env.mint,
        &user.token_account,
        &mint_authority.pubkey(),
        &[],
        500 * ONE_USDC,
    )
    .unwrap();
    env.process(&[ix], &[&mint_authority]).await.unwrap();
    // Up to collateral i64::MAX the amount fits and the token program refuses the transfer;
    // past it the collateral would overflow first.
    for amount in [500 * ONE_USDC + 1, max - 1_000 * ONE_USDC] {
        let ix = deposit_ix(&env, &user, amount).await;
        let token_insufficient_funds = spl_token_interface::error::TokenError::InsufficientFunds as u32;
        assert_refused(
            &mut env,
            &[ix],
            &[&user.owner],
            token_insufficient_funds,
            &format!("deposit {amount} beyond the wallet"),
        )
        .await;
    }
    for amount in [max - 1_000 * ONE_USDC + 1, max, u64::MAX] {
        let ix = deposit_ix(&env, &user, amount).await;
        assert_refused(
            &mut env,
            &[ix],
            &[&user.owner],
            code(PerpError::MathOverflow),
            &format!("deposit {amount} onto 1000 USDC"),
        )
        .await;
    }
    let ix = deposit_ix(&env, &user, 0).await;
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::ZeroAmount), "deposit 0").await;
    for (amount, e) in [
        (0, PerpError::ZeroAmount),
        (u64::MAX, PerpError::MathOverflow),
        (max + 1, PerpError::MathOverflow),
        (max, PerpError::InsufficientInitialMargin),
        (1_000 * ONE_USDC + 1, PerpError::InsufficientInitialMargin),
    ] {
        let ix = env.withdraw_ix(&user, amount).await;
        assert_refused(&mut env, &[ix], &[&user.owner], code(e), &format!("withdraw {amount} of 1000 USDC")).await;
    }

    // A levered long's collateral is negative: withdrawing i64::MAX would pass i64::MIN.
    let m = env.create_market("LIM", PRICE).await;
    let long = env.funded_user(100 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&long, &maker, &m, Side::Bid, 500, PRICE as u64).await.unwrap();
    assert!(env.collateral(&long.margin_account).await < -1);
    let ix = env.withdraw_ix(&long, max).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&long.owner],
        code(PerpError::MathOverflow),
        "withdraw i64::MAX from negative collateral",
    )
    .await;
    let ix = env.withdraw_ix(&long, 1_000 * ONE_USDC).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&long.owner],
        code(PerpError::InsufficientInitialMargin),
        "withdraw beyond a levered long's margin",
    )
    .await;
    invariants::check(&mut env).await;
}

/// Settable-oracle prices of 1, 0, negative and i64::MAX, read by update_funding and
/// settle_fills: NonPositiveOraclePrice, MathOverflow (price per lot past I80F48) or
/// FillPriceOutsideBand, each leaving the accounts unchanged; a price of 1 on a live market
/// is a jump the guard absorbs.
#[tokio::test]
async fn oracle_prices_at_the_limits_give_named_errors() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("ORA", PRICE).await;
    let taker = env.funded_user(10_000 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&taker, &maker, &m, Side::Bid, 10, PRICE as u64).await.unwrap();
    env.reserve(&maker, &m, 0, 10).await.unwrap();

    for (price, e) in [
        (0, PerpError::NonPositiveOraclePrice),
        (-1, PerpError::NonPositiveOraclePrice),
        (i64::MIN, PerpError::NonPositiveOraclePrice),
        (i64::MAX, PerpError::MathOverflow),
    ] {
        env.set_price(&m, price).await;
        let ix = sdk::update_funding(&m.market, &m.oracle);
        assert_refused(&mut env, &[ix], &[], code(e), &format!("update_funding at oracle price {price}")).await;
        let ix = fill_ix(&mut env, &taker, &maker, &m, Side::Bid, 1, PRICE as u64).await;
        assert_refused(&mut env, &[ix], &[&taker.owner], code(e), &format!("settle_fills at oracle price {price}"))
            .await;
        let ix = sdk::settle_funding(&m.market, &m.oracle, &taker.margin_account);
        assert_refused(&mut env, &[ix], &[], code(e), &format!("settle_funding at oracle price {price}")).await;
    }
    // A price of 1 (one millionth of the index): the jump guard keeps the last good index.
    env.set_price(&m, 1).await;
    expect_ok_or_named(
        update_funding(&mut env, &m).await,
        &[PerpError::IndexJumped],
        "update_funding at oracle price 1",
    );
    let state = env.market_state(&m.market).await;
    assert_eq!(state.index_price.get(), I80F48::from_num(PRICE), "the jump was not taken as the index");
    env.set_price(&m, PRICE).await;
    update_funding(&mut env, &m).await.unwrap();
    invariants::check(&mut env).await;

    // A market created at i64::MAX: nothing can price it.
    let huge = env.create_market("HUGE", i64::MAX).await;
    let ix = sdk::update_funding(&huge.market, &huge.oracle);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MathOverflow), "update_funding on a market at i64::MAX").await;
    let ix = env.reserve_ix(&maker, &huge, 0, 1).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&maker.owner],
        code(PerpError::MathOverflow),
        "a reservation on a market at i64::MAX",
    )
    .await;
    let ix = fill_ix(&mut env, &taker, &maker, &huge, Side::Bid, 1, u64::MAX).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::MathOverflow), "a fill on a market at i64::MAX")
        .await;

    // A market at one unit per lot trades only at exactly 1.
    let tiny = env.create_market("TINY", 1).await;
    update_funding(&mut env, &tiny).await.unwrap();
    env.reserve(&maker, &tiny, 0, 1_000).await.unwrap();
    for p in [0, 2, u64::MAX] {
        let ix = fill_ix(&mut env, &taker, &maker, &tiny, Side::Bid, 10, p).await;
        assert_refused(
            &mut env,
            &[ix],
            &[&taker.owner],
            code(PerpError::FillPriceOutsideBand),
            &format!("a fill at {p} on a market at 1"),
        )
        .await;
    }
    let (c0, m0) = (env.collateral(&taker.margin_account).await, env.collateral(&maker.margin_account).await);
    env.settle(
        &taker,
        &tiny,
        &[maker.margin_account],
        vec![Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 1_000, price_per_lot: 1 }],
    )
    .await
    .unwrap();
    env.trade(&taker, &maker, &tiny, Side::Ask, 1_000, 1).await.unwrap();
    // Taker fee 500 ppm of 1_000 rounds up to 1 each way; the maker's 100 ppm rebate rounds to 0.
    assert_eq!(env.collateral(&taker.margin_account).await, c0 - 2);
    assert_eq!(env.collateral(&maker.margin_account).await, m0);

    // A lot worth a millionth of a unit: no integer price is within the band.
    let mut a = args("MICRO");
    a.base_lot_size = 1;
    let micro = env.create_market_with(a, 1).await;
    update_funding(&mut env, &micro).await.unwrap();
    env.reserve(&maker, &micro, 0, 1).await.expect("a reservation on a sub-unit market");
    for p in [1, u64::MAX] {
        let ix = fill_ix(&mut env, &taker, &maker, &micro, Side::Bid, 1, p).await;
        assert_refused(
            &mut env,
            &[ix],
            &[&taker.owner],
            code(PerpError::FillPriceOutsideBand),
            &format!("a fill at {p} on a sub-unit market"),
        )
        .await;
    }
    invariants::check(&mut env).await;
}

/// Fill sizes and lot sizes at the integer limits, through the test trader.
/// - A reservation of i64::MAX lots is the most an account can hold open; one more lot is
///   MathOverflow.
/// - A fill of i64::MAX lots against it would pay the maker past i64::MAX: MathOverflow.
/// - A fill of u64::MAX lots finds no reservation that large: the fill is refused
///   (`MakerReservationMissing`) and nothing moves.
/// - A zero fill is ZeroFillSize.
/// - Lots of u64::MAX base units: a market whose lot is worth 18.4M USDC trades and round-trips
///   exactly; one whose lot is worth u64::MAX per lot overflows the notional (MathOverflow);
///   one whose price per lot passes I80F48 cannot be priced (MathOverflow).
#[tokio::test]
async fn fills_and_lots_at_u64_max_give_named_errors() {
    let mut env = TestEnv::new().await;
    let max = i64::MAX as u64;
    // One unit per lot, so a lot count is also a notional.
    let m = env.create_market("UNIT", 1).await;
    let maker = env.funded_user(2_000_000_000_000_000_000).await;
    let taker = env.funded_user(2_000_000_000_000_000_000).await;
    env.reserve(&maker, &m, 0, i64::MAX).await.expect("i64::MAX lots reserved");
    assert_eq!(env.position(&maker.margin_account, &m.market).await.open_ask_lots, max);
    for delta in [1, i64::MAX] {
        let ix = env.reserve_ix(&maker, &m, 0, delta).await;
        assert_refused(
            &mut env,
            &[ix],
            &[&maker.owner],
            code(PerpError::MathOverflow),
            &format!("{delta} more lots reserved past i64::MAX"),
        )
        .await;
    }

    let ix = fill_ix(&mut env, &taker, &maker, &m, Side::Bid, max, 1).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::MathOverflow), "a fill of i64::MAX lots").await;
    let ix = fill_ix(&mut env, &taker, &maker, &m, Side::Bid, 0, 1).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::ZeroFillSize), "a fill of 0 lots").await;

    let before =
        (env.margin(&taker.margin_account).await.0.collateral, env.margin(&maker.margin_account).await.0.collateral);
    for side in [Side::Bid, Side::Ask] {
        if side == Side::Ask {
            env.reserve(&maker, &m, i64::MAX, 0).await.expect("i64::MAX bids reserved");
        }
        let ix = fill_ix(&mut env, &taker, &maker, &m, side, u64::MAX, 1).await;
        let what = format!("a {side:?} fill of u64::MAX lots");
        let r = env.process(&[ix], &[&taker.owner]).await;
        match r {
            Ok(out) => assert_eq!(
                out.return_data,
                vec![perpetual::FillResult::MakerReservationMissing as u8],
                "{what}: refused per fill"
            ),
            Err(e) => {
                expect_named(Err(e), &[PerpError::MathOverflow, PerpError::ZeroFillSize], &what);
            }
        }
        let after = (
            env.margin(&taker.margin_account).await.0.collateral,
            env.margin(&maker.margin_account).await.0.collateral,
        );
        assert_eq!(before, after, "{what}: no collateral moved");
        assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 0, "{what}: no position");
    }
    invariants::check(&mut env).await;

    // Lots of u64::MAX base units (6 decimals): 18,446,744.07 USDC a lot.
    let mut a = args("BIGLOT");
    a.base_lot_size = u64::MAX;
    let big = env.create_market_with(a, 1).await;
    let big_price = 18_446_744_073_710u64; // the index per lot, rounded up
    let (buyer, seller) = (env.funded_user(10_000_000 * ONE_USDC).await, env.funded_user(10_000_000 * ONE_USDC).await);
    let (b0, s0) = (env.collateral(&buyer.margin_account).await, env.collateral(&seller.margin_account).await);
    env.trade(&buyer, &seller, &big, Side::Bid, 1, big_price).await.expect("one big lot bought");
    env.trade(&buyer, &seller, &big, Side::Ask, 1, big_price).await.expect("and sold back");
    let state = env.market_state(&big.market).await;
    let notional = fees::notional(1, big_price).unwrap();
    let (tf, mf) =
        (fees::fee(notional, state.taker_fee_ppm).unwrap(), fees::fee(notional, state.maker_fee_ppm).unwrap());
    assert_eq!(
        env.collateral(&buyer.margin_account).await - b0,
        -2 * tf,
        "a big lot round trip costs the taker its fees"
    );
    assert_eq!(env.collateral(&seller.margin_account).await - s0, -2 * mf, "and the maker its fees");

    // Lots of u64::MAX whole units (0 decimals) at 1 per unit: u64::MAX per lot.
    let mut a = args("MAXLOT");
    a.base_lot_size = u64::MAX;
    a.base_decimals = 0;
    let maxlot = env.create_market_with(a, 1).await;
    let rich = env.funded_user(3_000_000_000_000_000_000).await;
    env.reserve(&rich, &maxlot, 0, 1).await.expect("one u64::MAX lot reserved");
    let ix = fill_ix(&mut env, &taker, &rich, &maxlot, Side::Bid, 1, u64::MAX).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&taker.owner],
        code(PerpError::MathOverflow),
        "a fill whose notional is u64::MAX",
    )
    .await;
    // ... and at 10^6 per unit the price per lot passes I80F48.
    let mut a = args("OVERLOT");
    a.base_lot_size = u64::MAX;
    a.base_decimals = 0;
    let over = env.create_market_with(a, PRICE).await;
    let ix = sdk::update_funding(&over.market, &over.oracle);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MathOverflow), "update_funding past I80F48 per lot").await;
    let ix = fill_ix(&mut env, &taker, &rich, &over, Side::Bid, 1, u64::MAX).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&taker.owner],
        code(PerpError::MathOverflow),
        "a fill on a market priced past I80F48",
    )
    .await;
    invariants::check(&mut env).await;
}

// ---------------------------------------------------------------------------------------
// Bugs found: each reproduces a panic, and passes once the program answers a named error.

/// `settle_fills` negates `fill.base_lots as i64` for a taker's ask: 2^63 lots wrap to
/// i64::MIN, whose negation panics (settle_fills.rs:112, `Side::Ask => -(fill.base_lots as i64)`).
#[tokio::test]
// Regression test for a panic this suite found (now a named error).
async fn bug_ask_fill_of_two_to_the_63_lots_panics() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("NEG", PRICE).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&maker, &m, 1, 0).await.unwrap();
    let ix = fill_ix(&mut env, &taker, &maker, &m, Side::Ask, 1u64 << 63, PRICE as u64).await;
    let r = env.process(&[ix], &[&taker.owner]).await;
    expect_named(r, &[PerpError::MathOverflow, PerpError::ZeroFillSize], "an Ask fill of 2^63 lots");
    invariants::check(&mut env).await;
}

/// A market whose price per lot exceeds I80F48::MAX / 10 (about 6.0e22) overflows the
/// stable price's step `stable * STABLE_PRICE_STEP_BPS / 10_000` (controller/mark.rs:89,
/// unchecked I80F48 multiplication) on its first mark sample.
#[tokio::test]
// Regression test for a panic this suite found (now a named error).
async fn bug_mark_sample_on_a_huge_price_per_lot_panics() {
    let mut env = TestEnv::new().await;
    // 0 base decimals, 10^6 units a lot, 10^11 quote units a unit: 10^23 per lot.
    let mut a = args("STEP");
    a.base_decimals = 0;
    let m = env.create_market_with(a, 100_000_000_000_000_000).await;
    update_funding(&mut env, &m).await.expect("the index itself fits");
    let book = env.create_book(&m, book_args(16, 16)).await;
    let r = env.sample_mark(&book).await;
    expect_ok_or_named(r, &[PerpError::MathOverflow], "a mark sample at 1e23 per lot");
    invariants::check(&mut env).await;
}

// ---------------------------------------------------------------------------------------
// The pure math at the extremes.

const I64S: [i64; 9] = [i64::MIN, i64::MIN + 1, -1_000_000, -1, 0, 1, 1_000_000, i64::MAX - 1, i64::MAX];
const U64S: [u64; 8] = [0, 1, 1_000_000, i64::MAX as u64, 1 << 63, u64::MAX - 1, u64::MAX, 3];
const I32S: [i32; 7] = [i32::MIN, -1_000, -1, 0, 1, 1_000, i32::MAX];
const U16S: [u16; 5] = [0, 1, 500, 10_000, u16::MAX];

fn fxs() -> Vec<I80F48> {
    let d = I80F48::DELTA;
    vec![
        I80F48::MIN,
        I80F48::MIN + d,
        I80F48::from_num(i64::MIN),
        I80F48::from_num(-1_000_000_000_000i64),
        -I80F48::ONE,
        -d,
        I80F48::ZERO,
        d,
        I80F48::ONE,
        I80F48::from_num(1_000_000_000_000i64),
        I80F48::from_num(i64::MAX),
        I80F48::MAX - d,
        I80F48::MAX,
    ]
}

/// Collects the calls that panicked and the errors that were not the program's own.
#[derive(Default)]
struct Grid {
    calls: usize,
    errors: usize,
    panics: Vec<String>,
    unnamed: Vec<String>,
}

impl Grid {
    /// Runs `f`, which must return an anchor `Result`, recording a panic or an unnamed error.
    fn call<T>(
        &mut self,
        what: impl FnOnce() -> String,
        f: impl FnOnce() -> anchor_lang::Result<T>,
    ) -> Option<anchor_lang::Result<T>> {
        self.calls += 1;
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => {
                if let Err(e) = &r {
                    self.errors += 1;
                    if !is_named(e) {
                        self.unnamed.push(format!("{}: {e:?}", what()));
                    }
                }
                Some(r)
            }
            Err(_) => {
                self.panics.push(what());
                None
            }
        }
    }

    /// Runs `f`, a total function (no `Result`), recording a panic.
    fn total<T>(&mut self, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> Option<T> {
        self.call(what, || Ok(f())).map(|r| r.unwrap())
    }

    #[track_caller]
    fn assert_clean(&self, what: &str) {
        assert!(
            self.panics.is_empty(),
            "{what}: {} of {} calls panicked, e.g. {:?}",
            self.panics.len(),
            self.calls,
            &self.panics[..self.panics.len().min(10)]
        );
        assert!(
            self.unnamed.is_empty(),
            "{what}: errors that are not the program's own: {:?}",
            &self.unnamed[..self.unnamed.len().min(10)]
        );
    }
}

/// An error the perpetual program names (its own code, not a generic program error).
fn is_named(e: &anchor_lang::error::Error) -> bool {
    match e {
        anchor_lang::error::Error::AnchorError(a) => {
            a.error_code_number >= code(PerpError::MathOverflow)
                && a.error_code_number <= code(PerpError::MarketNotEmpty)
        }
        anchor_lang::error::Error::ProgramError(_) => false,
    }
}

#[track_caller]
fn assert_err_is<T: std::fmt::Debug>(r: anchor_lang::Result<T>, e: PerpError, what: &str) {
    match r {
        Err(anchor_lang::error::Error::AnchorError(a)) if a.error_code_number == code(e) => {}
        other => panic!("{what}: expected {e:?}, got {other:?}"),
    }
}

fn ring(value: I80F48, index: I80F48, ts: &[i64]) -> [MarkSample; MARK_SAMPLES] {
    let mut r = [MarkSample::default(); MARK_SAMPLES];
    for (i, t) in ts.iter().enumerate() {
        r[i % MARK_SAMPLES] = MarkSample { value: value.into(), index: index.into(), ts: *t, _reserved: [0; 8] };
    }
    r
}

/// `math::fees` and `math::fixed_point`: exact where the answer fits an i64, MathOverflow
/// (never a panic or a wrap) where it does not.
#[test]
fn fees_and_fixed_point_never_panic() {
    let mut g = Grid::default();
    for a in U64S {
        for b in U64S {
            let r = g.call(|| format!("notional({a}, {b})"), || fees::notional(a, b));
            let exact = (a as u128).checked_mul(b as u128).and_then(|x| i64::try_from(x).ok()).ok_or(());
            match (r, exact) {
                (Some(Ok(v)), Ok(x)) => assert_eq!(v, x, "notional({a}, {b})"),
                (Some(Err(_)), Err(_)) | (None, _) => {}
                (r, x) => panic!("notional({a}, {b}) = {r:?}, exact {x:?}"),
            }
        }
    }
    for n in I64S {
        for rate in I32S {
            let r = g.call(|| format!("fee({n}, {rate})"), || fees::fee(n, rate));
            let scaled = n as i128 * rate as i128;
            let exact = if scaled >= 0 { (scaled + 999_999) / 1_000_000 } else { -((-scaled) / 1_000_000) };
            match (r, i64::try_from(exact)) {
                (Some(Ok(v)), Ok(x)) => assert_eq!(v, x, "fee({n}, {rate}) rounds for the protocol"),
                (Some(Err(_)), Err(_)) | (None, _) => {}
                (r, x) => panic!("fee({n}, {rate}) = {r:?}, exact {x:?}"),
            }
        }
    }
    for v in fxs() {
        g.call(|| format!("ceil_to_i64({v})"), || fixed_point::ceil_to_i64(v));
        g.call(|| format!("floor_to_i64({v})"), || fixed_point::floor_to_i64(v));
        for bps in U16S {
            g.call(|| format!("mul_bps({v}, {bps})"), || fixed_point::mul_bps(v, bps));
        }
    }
    for e in [0, 23, 24, 100, u32::MAX] {
        g.call(|| format!("pow10({e})"), || fixed_point::pow10(e));
    }
    g.assert_clean("fees and fixed point");
    assert_err_is(fees::notional(u64::MAX, u64::MAX), PerpError::MathOverflow, "notional(u64::MAX, u64::MAX)");
    assert_err_is(fees::notional(1, 1 << 63), PerpError::MathOverflow, "a notional of 2^63");
    assert_err_is(fees::fee(i64::MAX, i32::MAX), PerpError::MathOverflow, "fee(i64::MAX, i32::MAX)");
    assert_err_is(fees::fee(i64::MIN, i32::MAX), PerpError::MathOverflow, "fee(i64::MIN, i32::MAX)");
    assert_err_is(fixed_point::ceil_to_i64(I80F48::MAX), PerpError::MathOverflow, "ceil_to_i64(MAX)");
    assert_err_is(fixed_point::floor_to_i64(I80F48::MIN), PerpError::MathOverflow, "floor_to_i64(MIN)");
    assert_err_is(fixed_point::mul_bps(I80F48::MAX, u16::MAX), PerpError::MathOverflow, "mul_bps(MAX, u16::MAX)");
    assert_err_is(fixed_point::pow10(u32::MAX), PerpError::OracleExponentOutOfRange, "pow10(u32::MAX)");
}

/// `math::funding`: index deltas, amounts owed and their settlement at the limits.
#[test]
fn funding_math_never_panics() {
    let mut g = Grid::default();
    let fx = fxs();
    for t in I64S {
        for r in I64S {
            for p in &fx {
                g.call(|| format!("index_delta({t}, {r}, {p})"), || funding::index_delta(t, r, *p));
            }
        }
    }
    for a in &fx {
        for b in &fx {
            for lots in I64S {
                g.call(|| format!("owed({a}, {b}, {lots})"), || funding::owed(*a, *b, lots));
            }
        }
    }
    // `collateral_change(I80F48::MIN)` is the known panic (see the ignored test below).
    for o in fx.iter().filter(|o| **o != I80F48::MIN) {
        let r = g.call(|| format!("collateral_change({o})"), || funding::collateral_change(*o));
        if let Some(Ok(c)) = r {
            // Payers pay rounded up, receivers get rounded down: never more than owed.
            assert!(I80F48::from_num(c) <= -*o, "collateral_change({o}) = {c} favours the account");
        }
    }
    g.assert_clean("funding");
    assert_err_is(
        funding::index_delta(i64::MAX, 2, I80F48::ONE),
        PerpError::MathOverflow,
        "index_delta(i64::MAX s, 2 ppb/h)",
    );
    assert_err_is(
        funding::index_delta(3_600, i64::MAX, I80F48::MAX),
        PerpError::MathOverflow,
        "index_delta at MAX price",
    );
    assert_err_is(funding::owed(I80F48::MAX, I80F48::MIN, 1), PerpError::MathOverflow, "owed(MAX - MIN)");
    assert_err_is(
        funding::owed(I80F48::ONE, I80F48::ZERO, i64::MAX)
            .and_then(|o| funding::collateral_change(o * I80F48::from_num(2))),
        PerpError::MathOverflow,
        "settling twice i64::MAX",
    );
    assert_err_is(funding::collateral_change(I80F48::MAX), PerpError::MathOverflow, "collateral_change(MAX)");
}

/// `math::health`: requirements, equity and position health with positions, open orders
/// and prices at the limits.
#[test]
fn health_math_never_panics() {
    let mut g = Grid::default();
    let fx = fxs();
    let risks = [
        RiskParams {
            init_long_bps: 1_000,
            maint_long_bps: 500,
            init_short_bps: 1_000,
            maint_short_bps: 500,
            band_bps: 500,
            maker_fee_ppm: 200,
        },
        RiskParams {
            init_long_bps: u16::MAX,
            maint_long_bps: u16::MAX,
            init_short_bps: u16::MAX,
            maint_short_bps: u16::MAX,
            band_bps: u16::MAX,
            maker_fee_ppm: i32::MAX,
        },
        RiskParams::default(),
    ];
    let opens = [0u64, 1, i64::MAX as u64, 1 << 63, u64::MAX];
    for risk in &risks {
        for p in &fx {
            for fi in [I80F48::ZERO, I80F48::MAX, I80F48::MIN] {
                let price = MarketPrice { price_per_lot: *p, funding_index: fi, funding_variation: fi };
                for lots in I64S {
                    for kind in [HealthKind::Initial, HealthKind::Maintenance] {
                        g.call(
                            || format!("requirement({lots}, {risk:?}, {p}, {kind:?})"),
                            || health::requirement(lots, risk, &price, kind),
                        );
                    }
                    for cached in [I80F48::ZERO, I80F48::MIN, I80F48::MAX] {
                        for bid in opens {
                            for ask in opens {
                                let pos = PositionInput {
                                    base_lots: lots,
                                    open_bid_lots: bid,
                                    open_ask_lots: ask,
                                    cached_index: cached,
                                    seat: SeatAllowance::default(),
                                };
                                g.call(|| format!("equity({pos:?}, {price:?})"), || health::equity(&pos, &price));
                                g.call(
                                    || format!("position_health({pos:?}, {risk:?}, {price:?})"),
                                    || health::position_health(&pos, risk, &price, HealthKind::Initial),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // Seat allowances at the limits: lots, limit prices and the funding variation since
    // the grant, with and without a reservation beside them.
    let limits = [0u64, 1, 1_000_000, u64::MAX];
    for risk in &risks {
        for p in [I80F48::ZERO, I80F48::ONE, I80F48::from_num(1_000_000), I80F48::MAX] {
            for v in [I80F48::ZERO, I80F48::MAX, I80F48::MIN] {
                let price = MarketPrice { price_per_lot: p, funding_index: I80F48::ZERO, funding_variation: v };
                for lots in [0i64, 1, -1, i64::MAX, i64::MIN] {
                    for seat_lots in opens {
                        for limit in limits {
                            for granted in [I80F48::ZERO, I80F48::MAX, I80F48::MIN] {
                                let seat = SeatAllowance {
                                    bid_lots: seat_lots,
                                    ask_lots: seat_lots / 2,
                                    bid_limit: limit,
                                    ask_limit: limit / 2,
                                    funding_variation: granted,
                                };
                                for open in [0u64, 1, u64::MAX] {
                                    let pos = PositionInput {
                                        base_lots: lots,
                                        open_bid_lots: open,
                                        open_ask_lots: open,
                                        cached_index: I80F48::ZERO,
                                        seat,
                                    };
                                    g.call(
                                        || format!("position_health({pos:?}, {risk:?}, {price:?})"),
                                        || health::position_health(&pos, risk, &price, HealthKind::Maintenance),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for a in &fx {
        for b in &fx {
            for c in [I80F48::MIN, I80F48::ZERO, I80F48::ONE, I80F48::MAX] {
                for d in [I80F48::MIN, -I80F48::DELTA, I80F48::ZERO, I80F48::DELTA, I80F48::MAX] {
                    g.total(|| format!("ratio_improved({a}, {b}, {c}, {d})"), || health::ratio_improved(*a, *b, c, d));
                }
            }
        }
    }
    for a in I64S {
        for b in I64S {
            g.total(|| format!("shrank_without_flip({a}, {b})"), || health::shrank_without_flip(a, b));
        }
    }
    g.assert_clean("health");
    let price =
        MarketPrice { price_per_lot: I80F48::MAX, funding_index: I80F48::ZERO, funding_variation: I80F48::ZERO };
    let risk = risks[0];
    assert_err_is(
        health::requirement(i64::MIN, &risk, &price, HealthKind::Initial),
        PerpError::MathOverflow,
        "requirement(i64::MIN at MAX)",
    );
    let pos = PositionInput { base_lots: 0, open_bid_lots: u64::MAX, ..PositionInput::default() };
    let unit = MarketPrice { price_per_lot: I80F48::ONE, funding_index: I80F48::ZERO, funding_variation: I80F48::ZERO };
    assert_err_is(
        health::position_health(&pos, &risk, &unit, HealthKind::Initial),
        PerpError::MathOverflow,
        "u64::MAX open bids",
    );
}

/// `math::price` and `math::mark`: conversions, bands, the mark and its moving averages.
#[test]
fn price_and_mark_math_never_panic() {
    let mut g = Grid::default();
    let fx = fxs();
    let expos = [i32::MIN, -30, -18, -6, 0, 6, 18, 23, 30, i32::MAX];
    for p in I64S {
        for expo in expos {
            for bd in [0u8, 6, 18, u8::MAX] {
                for qd in [0u8, 6, u8::MAX] {
                    for lot in U64S {
                        g.call(
                            || format!("price_per_lot({p}, {expo}, {bd}, {qd}, {lot})"),
                            || price::price_per_lot(p, expo, bd, qd, lot),
                        );
                    }
                }
            }
        }
        for conf in U64S {
            for bps in U16S {
                g.total(
                    || format!("confidence_too_wide({p}, {conf}, {bps})"),
                    || price::confidence_too_wide(p, conf, bps),
                );
            }
        }
    }
    for p in U64S {
        for r in &fx {
            for bps in U16S {
                g.total(|| format!("within_band({p}, {r}, {bps})"), || price::within_band(p, *r, bps));
            }
        }
    }
    for r in I64S {
        g.call(|| format!("funding_fraction({r})"), || mark::funding_fraction(r));
    }
    let opt: Vec<Option<I80F48>> = std::iter::once(None).chain(fx.iter().copied().map(Some)).collect();
    for a in &opt {
        for b in &opt {
            for c in &opt {
                g.call(|| format!("sample_value({a:?}, {b:?}, {c:?})"), || mark::sample_value(*a, *b, *c));
            }
        }
    }
    let fractions = [I80F48::MIN, -I80F48::ONE, I80F48::ZERO, mark::funding_fraction(i64::MAX).unwrap(), I80F48::MAX];
    for index in &opt {
        for f in fractions {
            for ma in &opt {
                for last in [
                    None,
                    Some(I80F48::MIN),
                    Some(-I80F48::ONE),
                    Some(I80F48::ZERO),
                    Some(I80F48::ONE),
                    Some(I80F48::MAX),
                ] {
                    g.call(
                        || format!("mark_price({index:?}, {f}, {ma:?}, {last:?})"),
                        || mark::mark_price(*index, f, *ma, last),
                    );
                }
            }
        }
    }
    for v in &fx {
        for now in I64S {
            for ts in [
                vec![],
                vec![now],
                vec![now; 60],
                vec![i64::MIN, i64::MAX, 0, -1, 1],
                (0..60).map(|k| now.saturating_sub(60 * k)).collect(),
            ] {
                let r = ring(*v, *v, &ts);
                g.call(
                    || format!("moving_averages(value {v}, ts {ts:?}, now {now})"),
                    || mark::moving_averages(&r, now),
                );
            }
        }
        for ma in &opt {
            for bps in U16S {
                g.total(|| format!("index_jumped({v}, {ma:?}, {bps})"), || mark::index_jumped(*v, *ma, bps));
            }
        }
        for w in &fx {
            for lots in I64S {
                g.total(|| format!("conservative_price({lots}, {v}, {w})"), || mark::conservative_price(lots, *v, *w));
            }
            g.total(|| format!("median3({v}, {w})"), || mark::median3(*v, *w, I80F48::ZERO));
        }
    }
    for now in I64S {
        for last in I64S {
            let s = g.total(|| format!("sample_slot({now}, {last})"), || mark::sample_slot(now, last));
            if let Some((slot, _)) = s {
                assert!(slot < MARK_SAMPLES, "sample_slot({now}, {last}) = {slot}");
            }
        }
    }
    g.assert_clean("price and mark");
    assert_err_is(price::price_per_lot(0, -6, 6, 6, 1), PerpError::NonPositiveOraclePrice, "a zero price");
    assert_err_is(price::price_per_lot(i64::MIN, -6, 6, 6, 1), PerpError::NonPositiveOraclePrice, "i64::MIN");
    assert_err_is(
        price::price_per_lot(i64::MAX, -6, 6, 6, 1_000_000),
        PerpError::MathOverflow,
        "i64::MAX per unit, 1e6 a lot",
    );
    assert_err_is(price::price_per_lot(1, i32::MAX, 0, 6, 1), PerpError::MathOverflow, "expo i32::MAX");
    assert_err_is(price::price_per_lot(1, 30, 0, 6, 1), PerpError::OracleExponentOutOfRange, "expo 30");
    assert_err_is(
        mark::mark_price(Some(I80F48::MAX), mark::funding_fraction(i64::MAX).unwrap(), None, None),
        PerpError::MathOverflow,
        "the mark at MAX with +4%",
    );
    assert_err_is(mark::mark_price(None, I80F48::ZERO, None, None), PerpError::NoMarkPrice, "no mark");
    assert_err_is(
        mark::mark_price(Some(I80F48::ONE), -I80F48::ONE, None, None),
        PerpError::NonPositiveMarkPrice,
        "a mark of zero",
    );
    let r = ring(I80F48::MAX, I80F48::ONE, &[100, 40]);
    assert_err_is(mark::moving_averages(&r, 100), PerpError::MathOverflow, "two MAX samples");
}

/// `math::var` and the liquidation helpers on histories and amounts at the limits.
#[test]
fn var_and_liquidation_math_never_panic() {
    let mut g = Grid::default();
    let alternating: Vec<u64> = (0..365).map(|i| if i % 2 == 0 { 1 } else { u64::MAX }).collect();
    let doubling: Vec<u64> = (0..365).map(|i| 1u64 << (i % 64)).collect();
    let histories: Vec<Vec<u64>> = vec![
        vec![],
        vec![1; 10],
        vec![1; 11],
        vec![u64::MAX; 11],
        vec![u64::MAX; 365],
        vec![1; 365],
        vec![1; 366],
        alternating.clone(),
        alternating.iter().map(|v| if *v == 1 { u64::MAX } else { 1 }).collect(),
        doubling,
        (1..=365).collect(),
        (1..=365).rev().collect(),
        (0..365).map(|i| if i == 200 { 0 } else { 1_000 }).collect(),
        (0..365).map(|i| if i < 100 { u64::MAX } else { 1 }).collect(),
    ];
    for h in &histories {
        let what = || format!("{} closes from {:?}", h.len(), &h[..h.len().min(3)]);
        g.call(|| format!("historical_var_bps({})", what()), || var::historical_var_bps(h));
        for has_index in [true, false] {
            if let Some(Ok(m)) = g.call(
                || format!("margins_from_history({}, {has_index})", what()),
                || var::margins_from_history(h, has_index),
            ) {
                assert!(
                    (1_000..=10_000).contains(&m.init_long_bps) && (1_000..=10_000).contains(&m.init_short_bps),
                    "{}: {m:?}",
                    what()
                );
            }
        }
    }
    assert_err_is(var::historical_var_bps(&[1; 366]), PerpError::InvalidPriceHistory, "366 closes");
    assert_err_is(var::historical_var_bps(&[1; 10]), PerpError::InvalidPriceHistory, "10 closes");

    let fx = fxs();
    for p in &fx {
        for long in [true, false] {
            for bps in U16S {
                g.call(|| format!("discounted({p}, {long}, {bps})"), || liquidation::discounted(*p, long, bps));
            }
        }
    }
    let small = [I80F48::MIN, -I80F48::ONE, I80F48::ZERO, I80F48::ONE, I80F48::MAX];
    for equity in small {
        for mark_p in [I80F48::DELTA, I80F48::ONE, I80F48::from_num(u64::MAX), I80F48::MAX] {
            for book in [0u64, 1, u64::MAX] {
                for lots in [1u64, i64::MAX as u64, u64::MAX] {
                    for long in [true, false] {
                        g.call(
                            || format!("early_deleverage_fee({equity}, {mark_p}, {book}, {long}, {lots})"),
                            || liquidation::early_deleverage_fee(equity, mark_p, book, long, lots, 100),
                        );
                    }
                }
            }
        }
    }
    // `lots_to_restore` where the lots needed fit a u64 (beyond, it panics: the ignored tests below).
    for h0 in [I80F48::from_num(-1), I80F48::from_num(-1_000_000_000_000i64)] {
        for r0 in [I80F48::ZERO, I80F48::ONE, I80F48::from_num(1_000_000_000_000i64)] {
            for p in [I80F48::ONE, I80F48::from_num(1_000_000), I80F48::MAX] {
                for lots in [1u64, u64::MAX] {
                    g.call(
                        || format!("lots_to_restore({h0}, {r0}, {p}, .., {lots})"),
                        || liquidation::lots_to_restore(h0, r0, p, 500, 100, 100, 1_000, lots),
                    );
                }
            }
        }
    }
    for lots in I64S {
        for delta in I64S {
            g.total(|| format!("reduces({lots}, {delta})"), || trade::reduces(lots, delta));
        }
    }
    for v in U64S {
        for d in I64S {
            let mut x = v;
            g.call(|| format!("change_reservation({v}, {d})"), || trade::change_reservation(&mut x, d));
        }
    }
    g.assert_clean("var and liquidation");
}

/// `funding::collateral_change` negates a negative amount owed before rounding it down:
/// `-I80F48::MIN` overflows (math/funding.rs:35, `floor_to_i64(-owed)`).
#[test]
// Regression test for a panic this suite found (now a named error).
fn bug_collateral_change_of_i80f48_min_panics() {
    let r = catch_unwind(|| funding::collateral_change(I80F48::MIN));
    assert!(r.is_ok(), "collateral_change(I80F48::MIN) panicked");
    assert_err_is(r.unwrap(), PerpError::MathOverflow, "collateral_change(MIN)");
}

/// `lots_to_restore` converts its ceiling with `to_num::<u64>()`, which panics when the
/// lots needed exceed u64::MAX (controller/liquidation.rs:86), before the `min` with the
/// position could bound it.
#[test]
// Regression test for a panic this suite found (now a named error).
fn bug_lots_to_restore_beyond_u64_panics() {
    let r = catch_unwind(|| {
        liquidation::lots_to_restore(I80F48::from_num(i64::MIN), I80F48::ZERO, I80F48::ONE, 500, 100, 100, 1_000, 10)
    });
    assert!(r.is_ok(), "lots_to_restore panicked");
    let r = r.unwrap();
    assert!(matches!(r, Ok(10)) || r.is_err(), "{r:?}");
}

/// The same panic on the chain: `liquidate` passes the account-wide maintenance health and
/// requirement with this market's mark, so a deep deficit elsewhere and a low price per lot
/// here ask for more than u64::MAX lots. X holds 7e12 lots long at 1.00 (7e18 native, two
/// fills) on 7.2e17 of collateral and one lot of a market at one unit per lot; the first
/// market falls 19%. Liquidating the one-lot position then needs
/// `(0.1 * 2.8e17 + 9.0e17) / (1 * 0.035) = 2.6e19` lots.
#[tokio::test]
// Regression test for a panic this suite found (now a named error).
async fn bug_liquidating_a_small_position_of_a_deep_deficit_account_panics() {
    let mut env = TestEnv::new().await;
    let deep = env.create_market("DEEP", PRICE).await;
    let penny = env.create_market("PENNY", 1).await;
    let x = env.funded_user(720_000_000_000_000_000).await;
    let maker = env.funded_user(1_100_000_000_000_000_000).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    for _ in 0..2 {
        env.trade(&x, &maker, &deep, Side::Bid, 3_500_000_000_000, PRICE as u64).await.expect("3.5e12 lots at 1.00");
    }
    env.trade(&x, &maker, &penny, Side::Bid, 1, 1).await.expect("one lot at one unit");
    env.set_price(&deep, PRICE * 81 / 100).await;
    let lq = env.health_metas(&x.margin_account, &[penny.market]).await;
    let lr = env.health_metas(&liquidator.margin_account, &[penny.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &penny.market,
        &penny.oracle,
        &x.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        1,
        lq,
        lr,
    );
    let r = env.process(&[ix], &[&liquidator.owner]).await;
    expect_ok_or_named(
        r,
        &[PerpError::LiquidationWouldBankrupt, PerpError::MathOverflow, PerpError::InsufficientInsurance],
        "liquidating one lot of a deep-deficit account",
    );
    invariants::check(&mut env).await;
}

/// `clear_reservations` sums every position's open lots in a u64 unchecked
/// (controller/liquidation.rs:14). Each side of a reservation is at most i64::MAX (health
/// refuses more), so one position can hold 2^64 - 2 and a second one more lot overflows.
/// U reserves i64::MAX bids and asks at one unit per lot (1.38e18 of margin on 1.5e18) and 2
/// bids elsewhere; the risk authority raises the first market's margins to 50%, U falls
/// below maintenance, and any liquidation clears its reservations first.
#[tokio::test]
// Regression test for a panic this suite found (now a named error).
async fn bug_clearing_reservations_past_u64_panics() {
    let mut env = TestEnv::new().await;
    let unit = env.create_market("RSV", 1).await;
    let other = env.create_market("RSV2", PRICE).await;
    let u = env.funded_user(1_500_000_000_000_000_000).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&u, &unit, i64::MAX, i64::MAX).await.expect("i64::MAX lots each side");
    env.reserve(&u, &other, 2, 0).await.expect("two more lots");
    let risk = env.risk_authority.insecure_clone();
    let ix = sdk::set_margins(&risk.pubkey(), &env.exchange, &unit.market, 5_000, 5_000);
    env.process(&[ix], &[&risk]).await.expect("margins to 50%");
    let lq = env.health_metas(&u.margin_account, &[other.market]).await;
    let lr = env.health_metas(&liquidator.margin_account, &[other.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &other.market,
        &other.oracle,
        &u.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        1,
        lq,
        lr,
    );
    let r = env.process(&[ix], &[&liquidator.owner]).await;
    expect_ok_or_named(
        r,
        &[PerpError::MathOverflow, PerpError::NoPositionInMarket],
        "liquidating an account with 2^64 lots reserved",
    );
    invariants::check(&mut env).await;
}

/// `settle_fills` measures a shrinking trade's equity with `collateral_after -
/// collateral_before` unchecked (settle_fills.rs:211). Each side is an i64 but their
/// difference need not be: a short holding 8.5e18 of collateral buys back 95% of its 7e12
/// lots after a 44% rise, paying 9.58e18 over two fills, and stays below initial margin, so
/// the dYdX-rule branch runs and the subtraction overflows.
#[tokio::test]
// Regression test for a panic this suite found (now a named error).
async fn bug_shrinking_trade_moving_more_than_i64_max_panics() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SQUEEZE", PRICE).await;
    let short = env.funded_user(1_500_000_000_000_000_000).await;
    let buyer = env.funded_user(1_100_000_000_000_000_000).await;
    let (s1, s2) = (env.funded_user(1_000_000_000_000_000_000).await, env.funded_user(1_000_000_000_000_000_000).await);
    env.trade(&short, &buyer, &m, Side::Ask, 7_000_000_000_000, PRICE as u64).await.expect("short 7e12 lots at 1.00");
    for p in [PRICE * 120 / 100, PRICE * 144 / 100] {
        env.set_price(&m, p).await;
        update_funding(&mut env, &m).await.expect("a 20% step is not a jump");
    }
    let lots = 3_325_000_000_000u64; // 2 x 3.325e12 = 95% of the short
    for s in [&s1, &s2] {
        env.reserve(s, &m, 0, lots as i64).await.expect("asks at 1.44");
    }
    let fills = (0..2)
        .map(|i| Fill { maker_index: i, taker_side: Side::Bid, base_lots: lots, price_per_lot: 1_440_000 })
        .collect();
    let r = env.settle(&short, &m, &[s1.margin_account, s2.margin_account], fills).await;
    expect_ok_or_named(
        r,
        &[PerpError::MathOverflow, PerpError::MarginRuleViolated],
        "buying back 9.58e18 of a short in one settlement",
    );
    invariants::check(&mut env).await;
}
