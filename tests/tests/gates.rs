//! Boundary tests for every risk gate: each gate is exercised at exactly its threshold and
//! one native unit (or the smallest step the gate can see) on each side, so that a gate
//! moved by one unit, or a `<` turned into `<=`, fails a test here.
//!
//! Unless a test says otherwise, markets are the harness defaults: $1 per lot (oracle
//! 1_000_000 at expo -6, lots of 10^6 base units), 10% initial / 5% maintenance margin on
//! both sides, price band 5%, taker fee 500 ppm (rounded up), maker rebate 100 ppm,
//! liquidation discount 1%, insurance fee 1%, buffer 10%. No mark samples are taken and the
//! funding rate stays 0, so the mark is the oracle index (`median(index, index, last)`),
//! the stable price stays at the first index read ($1), and no funding moves. Every margin
//! figure below is an integer (`price * lots * bps / 10_000` with a price that is a
//! multiple of 10_000), so the program's I80F48 health is exactly the integer written.
//!
//! The health formulas used on paper (programs/perpetual/src/math/health.rs and
//! controller/health.rs), for one position of `L` lots, collateral `C`, mark `P`:
//! - equity = C + L * P;
//! - maintenance = C + L * P - |L| * P * 5%, open orders at their worst case: a fill of
//!   `B` bids costs the band, `B * P * 5%`, and the requirement becomes that of `L + B`;
//! - initial = the same at 10%, at the least favourable of index, mark and stable price
//!   (a long: the lowest of them; a flat position: the mark).
//!
//! A long of `L` lots bought at $1 by a taker who deposited `D` has collateral
//! `C = D - L * 1_000_000 - L * 500` (the taker fee 0.05%, rounded up, is exact here).
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::adversarial::{assert_refused, assert_refused_by};
use integration_tests::*;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::math::liquidation::lots_to_restore;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::{Fill, OracleKind, Side};
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot

/// `deposit` into a fresh account that buys `lots` at $1 from `maker` (as taker, through
/// the test trader). Its collateral is then `deposit - lots * 1_000_500`.
async fn long_at_a_dollar(
    env: &mut TestEnv,
    m: &MarketCookie,
    maker: &UserCookie,
    deposit: u64,
    lots: u64,
) -> UserCookie {
    let user = env.funded_user(deposit).await;
    env.trade(&user, maker, m, Side::Bid, lots, PRICE).await.expect("open the long");
    assert_eq!(env.collateral(&user.margin_account).await, deposit as i64 - lots as i64 * 1_000_500);
    user
}

/// Collateral plus position value at `price` (no funding moves in these tests).
async fn equity(env: &mut TestEnv, account: &Pubkey, market: &Pubkey, price: u64) -> i64 {
    let c = env.collateral(account).await;
    c + env.position(account, market).await.base_lots * price as i64
}

fn fill(taker_side: Side, base_lots: u64, price_per_lot: u64) -> Vec<Fill> {
    vec![Fill { maker_index: 0, taker_side, base_lots, price_per_lot }]
}

/// The test trader's settlement of one fill of `taker` against `maker`'s reservation.
async fn settle_ix(
    env: &mut TestEnv,
    taker: &UserCookie,
    m: &MarketCookie,
    maker: &UserCookie,
    side: Side,
    lots: u64,
    price: u64,
) -> Instruction {
    env.settle_ix(taker, m, &[maker.margin_account], fill(side, lots, price), vec![], 0, 0).await
}

async fn liquidate_ix(
    env: &mut TestEnv,
    m: &MarketCookie,
    liquidatee: &UserCookie,
    liquidator: &UserCookie,
    max_lots: u64,
) -> Instruction {
    let lq = env.health_metas(&liquidatee.margin_account, &[m.market]).await;
    let lr = env.health_metas(&liquidator.margin_account, &[m.market]).await;
    sdk::liquidate(
        &env.exchange,
        &m.market,
        &m.oracle,
        &liquidatee.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        max_lots,
        lq,
        lr,
    )
}

// ---------------------------------------------------------------------------------------
// 1. The four rules that no other test pins.
// ---------------------------------------------------------------------------------------

/// controller/margin_rule.rs, `require_margin_rule`: a taker below initial margin may shrink
/// its position without flipping only if its margin ratio (equity / maintenance
/// requirement) strictly improves. The same 2-lot shrink is refused at the sale price that
/// leaves the ratio unchanged and one native unit below it, and accepted one unit above.
#[tokio::test]
async fn margin_rule_shrink_below_initial_needs_the_ratio_to_improve() {
    let mut env = TestEnv::new().await;
    // A 25% band (the maximum), so the shrinking sale can be priced far enough below the
    // mark to worsen the ratio of an account that is above maintenance.
    let mut args = market_args("SOL", OracleKind::SetPrice);
    args.price_band_bps = 2_500;
    let m = env.create_market_with(args, PRICE as i64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    // A: deposits 10.14, buys 100 lots at $1: C = 10_140_000 - 100_050_000 = -89_910_000.
    // Initial health at $1: C + 100M - 10M = 190_000 >= 0, so the opening passes.
    let a = long_at_a_dollar(&mut env, &m, &maker, 10_140_000, 100).await;
    // The mark falls to 0.95: equity E0 = -89_910_000 + 95_000_000 = 5_090_000,
    // maintenance requirement R0 = 100 * 950_000 * 5% = 4_750_000 (maintenance health
    // +340_000: not liquidatable), initial requirement 9_500_000 (initial health
    // -4_410_000: below initial margin, so only the ratio half of the rule can pass it).
    env.set_price(&m, 950_000).await;
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 950_000).await, 5_090_000);
    let (e0, r0) = (5_090_000i128, 4_750_000i128);

    // A sells 2 lots at q (a shrink without a flip) to the maker's bid. Taker fee
    // ceil(2 * q * 500 / 10^6) = ceil(q / 1000) = 900 for q in 899_001..=900_000.
    // After: E1 = E0 - 2 * (950_000 - q) - 900 (sold below the mark, plus the fee),
    //        R1 = 98 * 47_500 = 4_655_000.
    // E1 / R1 == E0 / R0  <=>  E1 * R0 == E0 * R1 = 23_693_950_000_000  <=>  E1 = 4_988_200
    //                     <=>  q = 950_000 - (5_090_000 - 900 - 4_988_200) / 2 = 899_550.
    let r1 = 98 * 47_500i128;
    let e1 = |q: i128| e0 - 2 * (950_000 - q) - (2 * q * 500 + 999_999) / 1_000_000;
    assert_eq!(e1(899_550) * r0, e0 * r1, "899_550 leaves the ratio exactly unchanged");
    assert!(e1(899_549) * r0 < e0 * r1, "one unit lower worsens it");
    assert!(e1(899_551) * r0 > e0 * r1, "one unit higher improves it");
    // Both prices lie inside the band [712_500, 1_187_500] around the 950_000 index.
    env.reserve(&maker, &m, 2, 0).await.expect("the maker bids 2");

    for (q, what) in [(899_549, "a shrink that worsens the ratio"), (899_550, "a shrink that leaves the ratio equal")] {
        let ix = settle_ix(&mut env, &a, &m, &maker, Side::Ask, 2, q).await;
        assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::MarginRuleViolated), what).await;
    }
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 100);
    assert_eq!(env.collateral(&a.margin_account).await, -89_910_000);
    // A call whose only fill the maker refuses (it holds no reservation) changes nothing,
    // so the rule has nothing to judge: it passes though A is below initial margin.
    let stranger = env.funded_user(ONE_USDC).await;
    let ix = settle_ix(&mut env, &a, &m, &stranger, Side::Ask, 2, 899_551).await;
    env.process(&[ix], &[&a.owner]).await.expect("a call with no applied fill is not judged");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 100);
    assert_eq!(env.collateral(&a.margin_account).await, -89_910_000);

    let ix = settle_ix(&mut env, &a, &m, &maker, Side::Ask, 2, 899_551).await;
    env.process(&[ix], &[&a.owner]).await.expect("a shrink that improves the ratio");
    // A: C = -89_910_000 + 2 * 899_551 - 900 = -88_111_798, long 98: equity
    // -88_111_798 + 98 * 950_000 = 4_988_202, still below initial margin (requirement
    // 9_310_000), so the trade passed through the ratio half of the rule.
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 98);
    assert_eq!(env.collateral(&a.margin_account).await, -88_111_798);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 950_000).await as i128, e1(899_551));
    invariants::check(&mut env).await;
}

/// Two longs of 100 lots bought at $1 by accounts that deposited 14.55 and 14.55 less one
/// native unit. At $0.90 the first sits at maintenance health exactly 0 and the second at
/// -1: C = D - 100_050_000, maintenance = C + 100 * 900_000 - 100 * 900_000 * 5%
/// = D - 14_550_000. (At $1 both met initial margin: D - 10_050_000 >= 0.)
const AT_ZERO: u64 = 14_550_000;

async fn maintenance_zero_and_minus_one(
    env: &mut TestEnv,
    m: &MarketCookie,
    maker: &UserCookie,
) -> (UserCookie, UserCookie) {
    let zero = long_at_a_dollar(env, m, maker, AT_ZERO, 100).await;
    let minus_one = long_at_a_dollar(env, m, maker, AT_ZERO - 1, 100).await;
    env.set_price(m, 900_000).await;
    // Equity 4_500_000 and 4_499_999 against a maintenance requirement of 4_500_000.
    assert_eq!(equity(env, &zero.margin_account, &m.market, 900_000).await, 4_500_000);
    assert_eq!(equity(env, &minus_one.margin_account, &m.market, 900_000).await, 4_499_999);
    (zero, minus_one)
}

/// instructions/liquidate.rs, `require!(before.maintenance < 0, NotLiquidatable)`: an
/// account at exactly maintenance health 0 cannot be taken over; one native unit below, it
/// can.
#[tokio::test]
async fn takeover_needs_maintenance_health_strictly_below_zero() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let (zero, minus_one) = maintenance_zero_and_minus_one(&mut env, &m, &maker).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    let fund0 = env.insurance_fund().await;

    let ix = liquidate_ix(&mut env, &m, &zero, &liquidator, u64::MAX).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&liquidator.owner],
        code(PerpError::NotLiquidatable),
        "takeover at maintenance health exactly 0",
    )
    .await;
    assert_eq!(env.margin(&zero.margin_account).await.0.reservation_epoch, 0, "nothing was cleared");

    // At -1 the takeover runs. Restoring the buffer: (10% * 4_500_000 + 1) / (900_000 *
    // (5% - 1% - 1% + 10% * 5%)) = 450_001 / 31_500 = 14.3, so 15 lots move at
    // 900_000 * 99% = 891_000, and the fee is 1% of 15 * 900_000 = 135_000.
    let needed = lots_to_restore(
        I80F48::from_num(-1),
        I80F48::from_num(4_500_000),
        I80F48::from_num(900_000),
        500,
        100,
        100,
        1_000,
        100,
    )
    .unwrap();
    assert_eq!(needed, 15);
    let ix = liquidate_ix(&mut env, &m, &minus_one, &liquidator, u64::MAX).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("takeover at maintenance health -1");
    assert_eq!(env.position(&minus_one.margin_account, &m.market).await.base_lots, 85);
    assert_eq!(env.collateral(&minus_one.margin_account).await, -85_500_001 + 15 * 891_000 - 135_000);
    assert_eq!(env.position(&liquidator.margin_account, &m.market).await.base_lots, 15);
    assert_eq!(env.insurance_fund().await - fund0, 135_000);
    invariants::check(&mut env).await;
}

/// instructions/liquidate.rs, "cancelling its orders was enough": an account below
/// maintenance only because of its open-order reservations is liquidatable, but when its
/// maintenance health without them is exactly 0 the takeover only clears them (and moves
/// the reservation epoch on); at -1 a position moves.
#[tokio::test]
async fn takeover_stops_after_clearing_orders_when_that_restores_maintenance_exactly() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let zero = long_at_a_dollar(&mut env, &m, &maker, AT_ZERO, 100).await;
    let minus_one = long_at_a_dollar(&mut env, &m, &maker, AT_ZERO - 1, 100).await;
    // Both reserve 10 more bids at $1: initial health with the bids filled at worst case is
    // C + 100M - band 10 * 1M * 5% - 110 * 1M * 10% = D - 10_050_000 - 1_500_000 >= 0.
    for u in [&zero, &minus_one] {
        env.reserve(u, &m, 10, 0).await.expect("reserve 10 bids");
    }
    env.set_price(&m, 900_000).await;
    // At $0.90, maintenance with the bids at worst case: C + 90M - band 10 * 900_000 * 5%
    // - 110 * 900_000 * 5% = (D - 14_550_000) - 900_000 < 0: both are liquidatable. Without
    // the bids: D - 14_550_000, that is 0 and -1.
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    let fund0 = env.insurance_fund().await;
    let liquidator_collateral0 = env.collateral(&liquidator.margin_account).await;

    let ix = liquidate_ix(&mut env, &m, &zero, &liquidator, u64::MAX).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("clearing the orders is the whole liquidation");
    let (header, _) = env.margin(&zero.margin_account).await;
    let pos = env.position(&zero.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.open_bid_lots, pos.open_ask_lots), (100, 0, 0), "only the orders went");
    assert_eq!(header.reservation_epoch, 1);
    assert_eq!(header.collateral, AT_ZERO as i64 - 100_050_000, "no fee charged");
    assert_eq!(env.position(&liquidator.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&liquidator.margin_account).await, liquidator_collateral0);
    assert_eq!(env.insurance_fund().await, fund0);
    // Now exactly at maintenance: a second takeover is refused.
    let ix = liquidate_ix(&mut env, &m, &zero, &liquidator, u64::MAX).await;
    assert_refused(&mut env, &[ix], &[&liquidator.owner], code(PerpError::NotLiquidatable), "cleared account").await;

    // At -1 after clearing, the takeover goes on and moves the 15 lots of the previous test.
    let ix = liquidate_ix(&mut env, &m, &minus_one, &liquidator, u64::MAX).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("clearing was not enough");
    let pos = env.position(&minus_one.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.open_bid_lots, pos.open_ask_lots), (85, 0, 0));
    assert_eq!(env.position(&liquidator.margin_account, &m.market).await.base_lots, 15);
    assert_eq!(env.insurance_fund().await - fund0, 135_000);
    invariants::check(&mut env).await;
}

/// instructions/settle_fills.rs, liquidation mode (reached through
/// `orderbook::liquidate_order`): refused `NotLiquidatable` at maintenance health exactly 0,
/// accepted at -1.
#[tokio::test]
async fn book_liquidation_needs_maintenance_health_strictly_below_zero() {
    let mut env = TestEnv::new().await;
    // A $1 market (band 25%) with a book; the accounts are those of the takeover test.
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let bidder = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&bidder, &book, BookSide::Bid, 90, 100).await;
    let (zero, minus_one) = maintenance_zero_and_minus_one(&mut env, &m, &maker).await;
    let keeper = env.create_user(0).await;

    // Sell 10 of the 100 lots to the bid at 90 ticks ($0.90, the mark).
    let health = env.health_metas(&zero.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &zero.margin_account, 10, 90, health);
    assert_refused_by(
        &mut env,
        &[ix],
        &[&keeper.owner],
        code(PerpError::NotLiquidatable),
        &perpetual::ID,
        "book liquidation at maintenance health exactly 0",
    )
    .await;

    let health = env.health_metas(&minus_one.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &minus_one.margin_account, 10, 90, health);
    let out = env.process(&[ix], &[&keeper.owner]).await.expect("book liquidation at maintenance health -1");
    assert_eq!(placed(&out.return_data).filled, 10);
    // -85_500_001 + 10 * 900_000 - the 1% liquidation fee 90_000.
    assert_eq!(env.position(&minus_one.margin_account, &m.market).await.base_lots, 90);
    assert_eq!(env.collateral(&minus_one.margin_account).await, -85_500_001 + 9_000_000 - 90_000);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&bidder.margin_account, &m.market).await.base_lots, 10);
    assert_eq!(env.market_state(&m.market).await.insurance_accrued, 90_000);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

// ---------------------------------------------------------------------------------------
// 2. Every other gate.
// ---------------------------------------------------------------------------------------

/// instructions/withdraw.rs, `require_initial`: withdrawing exactly the maximum leaves
/// initial health 0 and passes; one native unit more is refused.
#[tokio::test]
async fn withdraw_up_to_exactly_zero_initial_health() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    // D = 20, long 100 at $1: C = -80_050_000, initial health C + 100M - 10M = 9_950_000.
    let a = long_at_a_dollar(&mut env, &m, &maker, 20 * ONE_USDC, 100).await;
    let max = 9_950_000u64;

    let ix = env.withdraw_ix(&a, max + 1).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "max + 1").await;
    env.withdraw(&a, max - 1).await.expect("max - 1 leaves initial health 1");
    let ix = env.withdraw_ix(&a, 2).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "to health -1").await;
    env.withdraw(&a, 1).await.expect("the last unit leaves initial health exactly 0");
    assert_eq!(env.collateral(&a.margin_account).await, -80_050_000 - max as i64);
    assert_eq!(env.token_balance(&a.token_account).await, max);
    let ix = env.withdraw_ix(&a, 1).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "one unit past 0").await;
    invariants::check(&mut env).await;
}

/// instructions/update_reservation.rs: growing a reservation needs initial health >= 0 with
/// the open orders at their worst case. A flat account's bid of one lot at $1 costs the band
/// 5% plus initial margin 10% of the bought lot: 150_000 of initial health per lot.
#[tokio::test]
async fn reservation_growth_up_to_exactly_zero_initial_health() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    // 100 lots need exactly 15_000_000; this account deposits one unit less.
    let a = env.create_user(15_000_000).await;
    env.deposit(&a, 15_000_000 - 1).await.expect("deposit");

    let ix = env.reserve_ix(&a, &m, 100, 0).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "100 bids, health -1")
        .await;
    env.reserve(&a, &m, 99, 0).await.expect("99 bids: health 149_999");
    env.deposit(&a, 1).await.expect("deposit the last unit");
    env.reserve(&a, &m, 1, 0).await.expect("the 100th bid: health exactly 0");
    assert_eq!(env.position(&a.margin_account, &m.market).await.open_bid_lots, 100);
    let ix = env.reserve_ix(&a, &m, 1, 0).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::InsufficientInitialMargin), "one lot more").await;
    // The same on the ask side, where the filled asks open a short: 100 asks fit exactly
    // into a second account holding 15_000_000.
    let b = env.funded_user(15_000_000).await;
    env.reserve(&b, &m, 0, 100).await.expect("100 asks: health exactly 0");
    let ix = env.reserve_ix(&b, &m, 0, 1).await;
    assert_refused(&mut env, &[ix], &[&b.owner], code(PerpError::InsufficientInitialMargin), "101 asks").await;
    // Shrinking never needs health.
    env.reserve(&b, &m, 0, -1).await.expect("shrinking");
    invariants::check(&mut env).await;
}

/// instructions/settle_fills.rs: a taker's reservation growth sent with its fills (the
/// resting remainder of a crossing order) is held to the same bound as `update_reservation`,
/// on each side: 150_000 of initial health per lot, exactly 0 accepted, one unit below refused
/// by the margin rule.
#[tokio::test]
async fn taker_reservation_growth_in_settle_fills_up_to_exactly_zero_initial_health() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    for (bids, asks) in [(1i64, 0i64), (0, 1)] {
        let a = env.create_user(15_000_000).await;
        env.deposit(&a, 15_000_000 - 1).await.expect("deposit");
        let ix = env.settle_ix(&a, &m, &[], vec![], vec![], 100 * bids, 100 * asks).await;
        let what = "100 lots reserved, health -1";
        assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::MarginRuleViolated), what).await;
        let ix = env.settle_ix(&a, &m, &[], vec![], vec![], 99 * bids, 99 * asks).await;
        env.process(&[ix], &[&a.owner]).await.expect("99 lots: health 149_999");
        env.deposit(&a, 1).await.expect("deposit the last unit");
        let ix = env.settle_ix(&a, &m, &[], vec![], vec![], bids, asks).await;
        env.process(&[ix], &[&a.owner]).await.expect("the 100th lot: health exactly 0");
        let pos = env.position(&a.margin_account, &m.market).await;
        assert_eq!((pos.open_bid_lots, pos.open_ask_lots), (100 * bids as u64, 100 * asks as u64));
        let ix = env.settle_ix(&a, &m, &[], vec![], vec![], bids, asks).await;
        assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::MarginRuleViolated), "one lot more").await;
    }
    invariants::check(&mut env).await;
}

/// instructions/deleverage.rs (`h.equity < 0` else `NotUnderwater`) and
/// instructions/underwater.rs `mark_underwater`: equity exactly 0 is not underwater, -1 is.
#[tokio::test]
async fn deleveraging_and_marking_need_equity_strictly_below_zero() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    // Longs of 100 at $1 with D = 15.05 and 15.05 less one unit; at $0.85 equity is
    // D - 100_050_000 + 85_000_000 = D - 15_050_000: exactly 0 and -1. (At $1 both met
    // initial margin: D - 10_050_000 >= 0.)
    let zero = long_at_a_dollar(&mut env, &m, &maker, 15_050_000, 100).await;
    let minus_one = long_at_a_dollar(&mut env, &m, &maker, 15_050_000 - 1, 100).await;
    env.set_price(&m, 850_000).await;
    assert_eq!(equity(&mut env, &zero.margin_account, &m.market, 850_000).await, 0);
    assert_eq!(equity(&mut env, &minus_one.margin_account, &m.market, 850_000).await, -1);
    assert_eq!(env.insurance_fund().await, 0, "the fund is empty, so deleveraging may proceed");
    let da = env.deleverage_authority.insecure_clone();
    let stranger = env.create_user(0).await;

    // Equity 0: neither marked nor deleveraged.
    let health = env.health_metas(&zero.margin_account, &[]).await;
    let ix = sdk::mark_underwater(&env.exchange, &zero.margin_account, &stranger.key(), health);
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::NotUnderwater), "marking at equity 0").await;
    let health = env.health_metas(&zero.margin_account, &[m.market]).await;
    let ix = sdk::deleverage(
        &env.exchange,
        &m.market,
        &m.oracle,
        &zero.margin_account,
        &maker.margin_account,
        &da.pubkey(),
        100,
        health,
    );
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::NotUnderwater), "deleveraging at equity 0").await;

    // Equity -1: marked, then deleveraged by the authority against the maker (short 200)
    // at the bankruptcy price 850_000 + 1/100.
    let health = env.health_metas(&minus_one.margin_account, &[]).await;
    let ix = sdk::mark_underwater(&env.exchange, &minus_one.margin_account, &stranger.key(), health);
    env.process(&[ix], &[&stranger.owner]).await.expect("marking at equity -1");
    let now = env.now().await;
    assert_eq!(env.margin(&minus_one.margin_account).await.0.underwater_since, now);
    let health = env.health_metas(&minus_one.margin_account, &[m.market]).await;
    let ix = sdk::deleverage(
        &env.exchange,
        &m.market,
        &m.oracle,
        &minus_one.margin_account,
        &maker.margin_account,
        &da.pubkey(),
        100,
        health,
    );
    env.process(&[ix], &[&da]).await.expect("deleveraging at equity -1");
    assert_eq!(env.position(&minus_one.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -100);
    // The bankruptcy price spreads the deficit of 1 over 100 lots: the account ends at 0
    // (or -1 when the I80F48 price 850_000.01 rounds below the exact cent).
    let c = env.collateral(&minus_one.margin_account).await;
    assert!((-1..=0).contains(&c), "collateral {c} after deleveraging at the bankruptcy price");
    invariants::check(&mut env).await;
}

/// math/liquidation.rs `early_deleverage_fee` through `orderbook::early_deleverage`: early
/// deleveraging fires only when the account's equity is strictly below the loss of closing
/// through the book (slippage against the mark plus the 2% fee).
#[tokio::test]
async fn early_deleveraging_needs_equity_strictly_below_the_book_loss() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    // Longs of 150 at $1 (C = D - 150_075_000); at $0.90 equity is D - 15_075_000.
    // The book bids 150 lots at 89 ticks ($0.89): closing loses 150 * 10_000 = 1_500_000
    // against the mark, plus the fee (discount + insurance fee, 2%) of 150 * 900_000 =
    // 2_700_000: the loss is 4_200_000. Deposits 19.275 and 19.275 less one unit give equity
    // 4_200_000 (== loss: not needed) and 4_199_999 (< loss). Both are below maintenance
    // (requirement 150 * 900_000 * 5% = 6_750_000). At $1 both met initial margin:
    // D - 150 * 500 - 15_000_000 >= 0.
    let at_loss = long_at_a_dollar(&mut env, &m, &maker, 19_275_000, 150).await;
    let below = long_at_a_dollar(&mut env, &m, &maker, 19_275_000 - 1, 150).await;
    let bidder = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&bidder, &book, BookSide::Bid, 89, 150).await;
    env.set_price(&m, 900_000).await;
    assert_eq!(equity(&mut env, &at_loss.margin_account, &m.market, 900_000).await, 4_200_000);
    assert_eq!(equity(&mut env, &below.margin_account, &m.market, 900_000).await, 4_199_999);
    let da = env.deleverage_authority.insecure_clone();
    let fund0 = env.insurance_fund().await;

    let early = |env: &mut TestEnv, account: &UserCookie, health: Vec<AccountMeta>| {
        orderbook::sdk::early_deleverage(
            &book.venue,
            &account.margin_account,
            &maker.margin_account,
            &env.deleverage_authority.pubkey(),
            150,
            health,
        )
    };
    let health = env.health_metas(&at_loss.margin_account, &[m.market]).await;
    let ix = early(&mut env, &at_loss, health);
    assert_refused_by(
        &mut env,
        &[ix],
        &[&da],
        code(PerpError::EarlyDeleverageNotNeeded),
        &perpetual::ID,
        "equity equal to the book loss",
    )
    .await;

    let health = env.health_metas(&below.margin_account, &[m.market]).await;
    let ix = early(&mut env, &below, health);
    env.process(&[ix], &[&da]).await.expect("equity one unit below the book loss");
    // Offset at the mark: -130_800_001 + 135_000_000 - the fee 2_700_000, flat.
    assert_eq!(env.position(&below.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&below.margin_account).await, -130_800_001 + 135_000_000 - 2_700_000);
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -150);
    assert_eq!(env.insurance_fund().await - fund0, 1_350_000);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// instructions/final_settlement.rs `final_settle(lo, hi)`: the index (1_000_000) must lie
/// in `[lo, hi]`; a band one unit above or below it is refused, a band ending exactly at it
/// on either side is accepted.
#[tokio::test]
async fn final_settlement_band_includes_both_ends() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let exchange = env.exchange;
    let low_end = env.create_market("SOL", PRICE as i64).await;
    let high_end = env.create_market("ETH", PRICE as i64).await;
    let settle =
        |m: &MarketCookie, lo, hi| sdk::final_settle_market(&admin.pubkey(), &exchange, &m.market, &m.oracle, lo, hi);

    let ix = settle(&low_end, PRICE + 1, PRICE + 100);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::SettlementPriceOutsideBand), "index == lo - 1").await;
    let ix = settle(&low_end, PRICE - 100, PRICE - 1);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::SettlementPriceOutsideBand), "index == hi + 1").await;
    let ix = settle(&low_end, PRICE, PRICE + 100);
    env.process(&[ix], &[&admin]).await.expect("index == lo");
    let ix = settle(&high_end, PRICE - 100, PRICE);
    env.process(&[ix], &[&admin]).await.expect("index == hi");
    for m in [low_end, high_end] {
        let state = env.market_state(&m.market).await;
        assert_eq!(state.status, perpetual::state::MarketStatus::FinalSettlement as u8);
        assert_eq!(state.settlement_price.get(), I80F48::from_num(PRICE));
    }
}

/// controller/trade.rs `OpenInterestCapExceeded`: filling exactly to the cap passes, one lot
/// over is refused, and a fill that lowers open interest passes at the cap.
#[tokio::test]
async fn open_interest_fills_exactly_to_the_cap() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let risk = env.risk_authority.insecure_clone();
    env.process(&[sdk::set_open_interest_cap(&risk.pubkey(), &env.exchange, &m.market, 100)], &[&risk])
        .await
        .expect("cap 100 lots");
    let long = env.funded_user(1_000 * ONE_USDC).await;
    let short = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 99, PRICE).await.expect("99 lots, one under the cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 99);

    env.reserve(&short, &m, 0, 3).await.expect("the maker offers 3");
    let ix = settle_ix(&mut env, &long, &m, &short, Side::Bid, 2, PRICE).await;
    assert_refused(&mut env, &[ix], &[&long.owner], code(PerpError::OpenInterestCapExceeded), "101 lots").await;
    let ix = settle_ix(&mut env, &long, &m, &short, Side::Bid, 1, PRICE).await;
    env.process(&[ix], &[&long.owner]).await.expect("exactly the cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 100);
    let ix = settle_ix(&mut env, &long, &m, &short, Side::Bid, 1, PRICE).await;
    assert_refused(&mut env, &[ix], &[&long.owner], code(PerpError::OpenInterestCapExceeded), "one lot over").await;
    assert_eq!(env.position(&long.margin_account, &m.market).await.base_lots, 100);
    // Reducing at the cap passes.
    env.trade(&long, &short, &m, Side::Ask, 1, PRICE).await.expect("reducing at the cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 99);
    invariants::check(&mut env).await;
}

/// instructions/funding.rs `set_funding_rate`: `|R| <= max` (1_000_000 ppbh) and
/// `|R - R_window_start| <= max_change` (500_000 ppbh per 3_600 s window).
#[tokio::test]
async fn funding_rate_bounds_include_the_maximum() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let auth = env.funding_authority.insecure_clone();
    let set = |env: &TestEnv, rate| sdk::set_funding_rate(&auth.pubkey(), &env.exchange, &m.market, &m.oracle, rate);
    let window_start = env.market_state(&m.market).await.funding_window_start_ts;
    assert_eq!(env.market_state(&m.market).await.funding_window_start_rate_ppbh, 0);

    // The first window starts at rate 0: a change of 500_001 is refused, 500_000 passes.
    for rate in [500_001, -500_001] {
        let ix = set(&env, rate);
        assert_refused(&mut env, &[ix], &[&auth], code(PerpError::FundingRateChangeTooLarge), "change max + 1").await;
    }
    env.process(&[set(&env, 500_000)], &[&auth]).await.expect("change exactly max");
    env.process(&[set(&env, -500_000)], &[&auth]).await.expect("change exactly max, negative");
    // |R| is checked first, whatever the window: max + 1 is refused on both sides.
    for rate in [1_000_001, -1_000_001] {
        let ix = set(&env, rate);
        assert_refused(&mut env, &[ix], &[&auth], code(PerpError::FundingRateTooLarge), "|R| = max + 1").await;
    }
    env.process(&[set(&env, 500_000)], &[&auth]).await.expect("back to 500_000");

    // One second before the window ends the start rate is still 0: 1_000_000 changes by too much.
    let now = env.now().await;
    env.warp(window_start + 3_599 - now).await;
    env.set_price(&m, PRICE as i64).await;
    let ix = set(&env, 1_000_000);
    assert_refused(&mut env, &[ix], &[&auth], code(PerpError::FundingRateChangeTooLarge), "same window").await;
    // At the window's end a new one starts from 500_000: |R| = max passes, max + 1 does not.
    env.warp(1).await;
    env.set_price(&m, PRICE as i64).await;
    let ix = set(&env, 1_000_001);
    assert_refused(&mut env, &[ix], &[&auth], code(PerpError::FundingRateTooLarge), "max + 1").await;
    env.process(&[set(&env, 1_000_000)], &[&auth]).await.expect("|R| exactly max");
    let state = env.market_state(&m.market).await;
    assert_eq!(state.funding_rate_ppbh, 1_000_000);
    assert_eq!(state.funding_window_start_ts, window_start + 3_600);
    assert_eq!(state.funding_window_start_rate_ppbh, 500_000);
}

/// instructions/settle_fills.rs `within_band(price, index, band_bps)`: with the index at
/// 1_000_000 and a 5% band the edges are 950_000 and 1_050_000 exactly; a fill at each edge
/// passes and one native unit outside is refused, on both sides.
#[tokio::test]
async fn fill_price_band_includes_both_edges() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&maker, &m, 2, 2).await.expect("the maker bids 2 and offers 2");

    for (side, price, what) in [(Side::Bid, 1_050_001, "one unit above the band"), (Side::Ask, 949_999, "one below")] {
        let ix = settle_ix(&mut env, &taker, &m, &maker, side, 1, price).await;
        assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::FillPriceOutsideBand), what).await;
    }
    assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 0);
    for (side, price) in [(Side::Bid, 1_050_000), (Side::Ask, 950_000), (Side::Ask, 1_050_000), (Side::Bid, 950_000)] {
        let ix = settle_ix(&mut env, &taker, &m, &maker, side, 1, price).await;
        env.process(&[ix], &[&taker.owner]).await.unwrap_or_else(|e| panic!("{side:?} at {price}: {e:?}"));
    }
    // Bought 2 (at 1.05 and 0.95) and sold 2 (at 0.95 and 1.05): flat, paying the fees.
    assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 0);
    let fees: i64 = [1_050_000i64, 950_000, 950_000, 1_050_000].iter().map(|p| (p * 500 + 999_999) / 1_000_000).sum();
    assert_eq!(env.collateral(&taker.margin_account).await, 1_000 * ONE_USDC as i64 - fees);
    invariants::check(&mut env).await;
}
