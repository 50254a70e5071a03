//! Liquidation with numbers: takeover in part and in full, through the book, a liquidated
//! account's resting order met by a taker, and the refusals.
//!
//! Every market here is $1 per lot (oracle 1_000_000 at expo -6, lots of 10^6 base units),
//! 10% initial / 5% maintenance, taker fee 0.05%, maker rebate 0.01%, and the default
//! liquidation parameters: discount 1% (the liquidator's share), insurance fee 1%, buffer 10%.
//! No mark samples are taken and the funding rate is 0, so the mark is the oracle index
//! (median of index, index and last trade) and no funding moves.
//!
//! After every scenario: positions sum to 0, the vault equation holds exactly, and the
//! insurance fund's change equals the fees in less the losses covered, both computed by
//! hand. (Events cannot be checked here: natively, Anchor 1.2's `sol_log_data` is a no-op,
//! so `emit!` leaves nothing in the transaction logs.)
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::decode;
use orderbook::instructions::OrderType;
use orderbook::state::{BookRef, Side as BookSide};
use perpetual::error::PerpError;
use perpetual::math::liquidation::lots_to_restore;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::Side;

const PRICE: u64 = 1_000_000; // $1 per lot
const DROP: u64 = 900_000; // $0.90 per lot

/// `deposit` into a fresh account that buys `lots` at $1 from a maker holding $10,000.
/// The buyer's collateral is then `deposit - lots * 1_000_000 - lots * 500` (0.05% fee).
async fn long_at_a_dollar(env: &mut TestEnv, m: &MarketCookie, deposit: u64, lots: u64) -> (UserCookie, UserCookie) {
    let user = env.funded_user(deposit).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.trade(&user, &maker, m, Side::Bid, lots, PRICE).await.expect("open the long");
    assert_eq!(env.collateral(&user.margin_account).await, deposit as i64 - lots as i64 * 1_000_500);
    (user, maker)
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

/// Collateral plus position value at `price` (no funding moves in these tests).
async fn equity(env: &mut TestEnv, account: &Pubkey, market: &Pubkey, price: u64) -> i64 {
    let c = env.collateral(account).await;
    c + env.position(account, market).await.base_lots * price as i64
}

#[tokio::test]
async fn partial_takeover_moves_what_restores_the_buffer() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    // A: $20, long 150 at $1: collateral 20 - 150 - 0.075 = -130.075.
    let (a, _maker) = long_at_a_dollar(&mut env, &m, 20 * ONE_USDC, 150).await;
    let l1 = env.funded_user(1_000 * ONE_USDC).await;
    let l2 = env.funded_user(1_000 * ONE_USDC).await;
    env.set_price(&m, DROP as i64).await;
    let fund0 = env.insurance_fund().await;

    // At $0.90: equity -130.075 + 135 = 4.925, requirement 5% of 135 = 6.75,
    // maintenance health -1.825: liquidatable.
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, DROP).await, 4_925_000);

    // 1. L1 will take at most 30 lots, fewer than needed: exactly 30 move, at
    //    0.90 * 0.99 = 0.891. A receives 30 * 0.891 = 26.73 and pays the 1% fee on the
    //    mark value, 0.27: collateral -130.075 + 26.73 - 0.27 = -103.615, long 120.
    let ix = liquidate_ix(&mut env, &m, &a, &l1, 30).await;
    env.process(&[ix], &[&l1.owner]).await.expect("capped takeover");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 120);
    assert_eq!(env.collateral(&a.margin_account).await, -103_615_000);
    assert_eq!(env.position(&l1.margin_account, &m.market).await.base_lots, 30);
    assert_eq!(env.collateral(&l1.margin_account).await, 1_000_000_000 - 26_730_000);
    // The liquidator's share is the discount: 30 lots worth 27.00 bought for 26.73.
    assert_eq!(equity(&mut env, &l1.margin_account, &m.market, DROP).await, 1_000_000_000 + 270_000);
    assert_eq!(env.insurance_fund().await - fund0, 270_000);

    // Still below maintenance: equity -103.615 + 108 = 4.385, requirement 5.4, health -1.015.
    let (e1, r1) = (4_385_000i64, 5_400_000i64);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, DROP).await, e1);
    // The ratio improved: 4.385 / 5.4 = 0.812 > 4.925 / 6.75 = 0.730.
    assert!(e1 as i128 * 6_750_000 > 4_925_000i128 * r1 as i128);

    // 2. L2 offers to take the whole remaining position (120). Only what restores the
    //    buffer moves: each lot gains 0.90 * (5% - 1% - 1%) = 0.027 of health and frees
    //    0.90 * 5% * 10% = 0.0045 of buffer, so q >= (0.1 * 5.4 + 1.015) / 0.0315 = 49.37,
    //    i.e. 50 lots. The program's formula agrees.
    let formula = lots_to_restore(
        I80F48::from_num(e1 - r1),
        I80F48::from_num(r1),
        I80F48::from_num(DROP),
        500,
        100,
        100,
        1_000,
        120,
    )
    .unwrap();
    assert_eq!(formula, 50);
    let ix = liquidate_ix(&mut env, &m, &a, &l2, 120).await;
    env.process(&[ix], &[&l2.owner]).await.expect("takeover to the buffer");
    assert_eq!(env.position(&l2.margin_account, &m.market).await.base_lots, formula as i64);
    // A: -103.615 + 50 * 0.891 - 0.45 = -59.515, long 70: equity 3.485, requirement 3.15,
    // maintenance health 0.335 >= the buffer 10% * 3.15 = 0.315. (49 lots would leave
    // health 0.308 < 0.3195.)
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 70);
    assert_eq!(env.collateral(&a.margin_account).await, -59_515_000);
    let (e2, r2) = (3_485_000i64, 3_150_000i64);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, DROP).await, e2);
    assert!(e2 - r2 >= r2 / 10, "above maintenance with the buffer");
    assert!(e2 as i128 * r1 as i128 > e1 as i128 * r2 as i128, "ratio improved");
    assert_eq!(env.position(&l2.margin_account, &m.market).await.base_lots, 50);
    assert_eq!(equity(&mut env, &l2.margin_account, &m.market, DROP).await, 1_000_000_000 + 450_000);
    assert_eq!(env.insurance_fund().await - fund0, 270_000 + 450_000);

    // 3. A is healthy now: a further takeover is refused.
    let ix = liquidate_ix(&mut env, &m, &a, &l1, 10).await;
    assert_refused(&mut env, &[ix], &[&l1.owner], code(PerpError::NotLiquidatable), "liquidating a restored account")
        .await;

    // Insurance: fees in 1% of (30 + 50) * 0.90 = 0.72, nothing covered.
    let (fees_in, covered) = (270_000 + 450_000, 0);
    assert_eq!(env.insurance_fund().await as i64 - fund0 as i64, fees_in - covered);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn full_takeover_when_the_whole_position_is_needed() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    // A: $11.86, long 100 at $1: collateral 11.86 - 100.05 = -88.19.
    let (a, _maker) = long_at_a_dollar(&mut env, &m, 11_860_000, 100).await;
    let liquidator = env.funded_user(100 * ONE_USDC).await;
    env.set_price(&m, DROP as i64).await;
    let fund0 = env.insurance_fund().await;

    // At $0.90: equity -88.19 + 90 = 1.81, requirement 4.5, health -2.69.
    // q >= (0.45 + 2.69) / 0.0315 = 99.7: the whole position, 100 lots. Taking it all
    // costs A 2% of 90 = 1.80, which its 1.81 of equity covers.
    let needed = lots_to_restore(
        I80F48::from_num(1_810_000 - 4_500_000),
        I80F48::from_num(4_500_000),
        I80F48::from_num(DROP),
        500,
        100,
        100,
        1_000,
        100,
    )
    .unwrap();
    assert_eq!(needed, 100);
    let ix = liquidate_ix(&mut env, &m, &a, &liquidator, 100).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("full takeover");
    // A: -88.19 + 89.10 - 0.90 = 0.01 and no position left (its slot is released).
    assert_eq!(env.collateral(&a.margin_account).await, 10_000);
    let (_, positions) = env.margin(&a.margin_account).await;
    assert!(positions.iter().all(|p| p.is_free()), "the liquidated account holds nothing");
    // The liquidator paid 89.10 for 100 lots worth 90.00 and still meets initial margin.
    assert_eq!(env.position(&liquidator.margin_account, &m.market).await.base_lots, 100);
    assert_eq!(env.collateral(&liquidator.margin_account).await, 100_000_000 - 89_100_000);
    assert_eq!(equity(&mut env, &liquidator.margin_account, &m.market, DROP).await, 100_000_000 + 900_000);

    // Insurance: fee in 1% of 90 = 0.90, nothing covered.
    assert_eq!(env.insurance_fund().await - fund0, 900_000);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn takeover_refusals_leave_state_untouched() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let (a, maker) = long_at_a_dollar(&mut env, &m, 20 * ONE_USDC, 150).await;
    let rich = env.funded_user(1_000 * ONE_USDC).await;
    let poor = env.funded_user(5 * ONE_USDC).await;
    let fund0 = env.insurance_fund().await;

    // At $1 A is healthy: -130.075 + 150 - 7.5 = 12.425 of maintenance health.
    let ix = liquidate_ix(&mut env, &m, &a, &rich, 150).await;
    assert_refused(&mut env, &[ix], &[&rich.owner], code(PerpError::NotLiquidatable), "healthy account").await;
    // The maker (short 150, richly collateralised) is healthy too.
    let ix = liquidate_ix(&mut env, &m, &maker, &rich, 150).await;
    assert_refused(&mut env, &[ix], &[&rich.owner], code(PerpError::NotLiquidatable), "healthy short").await;

    env.set_price(&m, DROP as i64).await;
    // A liquidator with $5 would take the 80 lots A needs moved (see the partial test) at
    // 0.891: collateral 5 - 71.28 = -66.28, long 80 worth 72, initial requirement 7.2:
    // initial health -1.48.
    let ix = liquidate_ix(&mut env, &m, &a, &poor, u64::MAX).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&poor.owner],
        code(PerpError::InsufficientInitialMargin),
        "liquidator below initial margin",
    )
    .await;

    // An account cannot take over its own position.
    let ix = liquidate_ix(&mut env, &m, &a, &a, 150).await;
    assert_refused(&mut env, &[ix], &[&a.owner], code(PerpError::SelfLiquidation), "self-liquidation").await;

    // Only the liquidator account's owner (or delegate) commits it.
    let mut ix = liquidate_ix(&mut env, &m, &a, &rich, 150).await;
    ix.accounts[5].pubkey = poor.key();
    assert_refused(
        &mut env,
        &[ix],
        &[&poor.owner],
        code(PerpError::NotOwnerOrDelegate),
        "someone else's liquidator account",
    )
    .await;

    // Nothing was charged: the fund is unchanged; the rich liquidator still can.
    assert_eq!(env.insurance_fund().await, fund0);
    let ix = liquidate_ix(&mut env, &m, &a, &rich, u64::MAX).await;
    env.process(&[ix], &[&rich.owner]).await.expect("a well-funded liquidator takes over");
    assert_eq!(env.position(&rich.margin_account, &m.market).await.base_lots, 80);
    assert_eq!(env.insurance_fund().await - fund0, 720_000);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn liquidation_through_the_book_pays_the_fee_into_insurance() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let (a, _maker) = long_at_a_dollar(&mut env, &m, 20 * ONE_USDC, 150).await;
    let bidder = env.funded_user(10_000 * ONE_USDC).await;
    let keeper = env.create_user(0).await;
    env.rest(&bidder, &book, BookSide::Bid, 90, 100).await;
    env.rest(&bidder, &book, BookSide::Bid, 89, 100).await;
    let fund0 = env.insurance_fund().await;
    let fees0 = env.market_state(&m.market).await.fees_accrued;
    // Fees so far: the opening trade's taker fee 0.075 less the maker rebate 0.015.
    assert_eq!(fees0, 60_000);

    // Refused while A is healthy, whoever sends it (the perpetual error surfaces).
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &a.margin_account, 150, 85, health);
    assert_refused(
        &mut env,
        &[ix],
        &[&keeper.owner],
        code(PerpError::NotLiquidatable),
        "book liquidation of a healthy account",
    )
    .await;

    env.set_price(&m, DROP as i64).await;
    // The book's own estimate of closing 150 lots: 100 at 90 ticks and 50 at 89, an
    // average of 89.67 ticks ($0.8967), worse than the mark of $0.90.
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert_eq!(orderbook::matching::estimate_fill(&b.bids, b.seats, BookSide::Bid, 150), (150, 100 * 90 + 50 * 89));

    // A stranger sends the liquidation order: sell 150, no worse than 85 ticks.
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &a.margin_account, 150, 85, health);
    let out = env.process(&[ix], &[&keeper.owner]).await.expect("book liquidation");
    assert_eq!(placed(&out.return_data).filled, 150);
    // Fills: 100 at 0.90 (90.00) and 50 at 0.89 (44.50). A pays the 1% liquidation fee,
    // 0.90 + 0.445, instead of the taker fee: -130.075 + 134.50 - 1.345 = 3.08, flat.
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 3_080_000);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&bidder.margin_account, &m.market).await.base_lots, 150);
    // The bidder pays 134.50 and earns the 0.01% rebate, 0.009 + 0.00445.
    assert_eq!(env.collateral(&bidder.margin_account).await, 10_000_000_000 - 134_500_000 + 13_450);
    let state = env.market_state(&m.market).await;
    assert_eq!(state.insurance_accrued, 1_345_000, "the fee waits in the market for the sweep");
    assert_eq!(state.fees_accrued, fees0 - 13_450);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;

    // The permissionless sweep moves it into the insurance fund.
    assert_eq!(env.insurance_fund().await, fund0, "nothing reaches the fund before the sweep");
    env.process(&[sdk::sweep_fees(&env.exchange, &m.market)], &[]).await.unwrap();
    let state = env.market_state(&m.market).await;
    assert_eq!((state.insurance_accrued, state.fees_accrued), (0, 0));
    // Insurance: fees in 1_345_000, nothing covered.
    assert_eq!(env.insurance_fund().await - fund0, 1_345_000);
    assert_eq!(env.exchange_state().await.fee_balance, (fees0 - 13_450) as u64);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn a_liquidated_accounts_seat_is_revoked_first_and_the_taker_fills_the_next_maker() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let (a, _maker) = long_at_a_dollar(&mut env, &m, 20 * ONE_USDC, 150).await;
    let next = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.funded_user(10_000 * ONE_USDC).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    // A offers 10 of its lots at 1.03; the next maker offers 10 at 1.04.
    env.rest(&a, &book, BookSide::Ask, 103, 10).await;
    env.rest(&next, &book, BookSide::Ask, 104, 10).await;
    let pos = env.position(&a.margin_account, &m.market).await;
    assert_eq!((pos.seat_ask_lots, pos.seat_ask_limit), (10, 1_030_000), "A's seat allowance");
    check_book(&mut env, &book).await;
    env.set_price(&m, DROP as i64).await;
    let fund0 = env.insurance_fund().await;

    // The takeover waits while A holds an allowance: the book revokes it first (anyone may,
    // A is below maintenance), which voids A's order.
    let ix = liquidate_ix(&mut env, &m, &a, &liquidator, u64::MAX).await;
    assert_refused(&mut env, &[ix], &[&liquidator.owner], code(PerpError::SeatAllowanceOpen), "allowance open").await;
    let seat = env.seat_for(&book, &a.margin_account).await;
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let revoke = orderbook::sdk::revoke_seat(&book.venue, &liquidator.key(), &a.margin_account, seat, health);
    env.process(&[revoke], &[&liquidator.owner]).await.expect("revoke A's seat");
    // Then the takeover moves the 80 lots of the partial test.
    let ix = liquidate_ix(&mut env, &m, &a, &liquidator, u64::MAX).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("takeover");
    let pos = env.position(&a.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.seat_ask_lots, pos.open_ask_lots), (70, 0, 0));
    // A's order is still in the book, void (its seat was revoked), and shows in no depth.
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert!(decode::l3(&b, BookSide::Ask).iter().any(|o| !o.live));
    assert_eq!(decode::best(&b, BookSide::Ask), Some((104, 10)));

    // A taker buys 10 up to 1.04: A's void order at 1.03 comes first and is removed, and
    // the taker fills at 1.04 instead.
    let p = env.place(&taker, &book, order(BookSide::Bid, 104, 10, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(p.filled, 10);
    assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 10);
    env.settle_seats(&book).await;
    assert_eq!(env.position(&next.margin_account, &m.market).await.base_lots, -10);
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 70, "A's order never filled");
    // Taker: 10 * 1.04 = 10.40 plus the 0.05% fee 0.0052.
    assert_eq!(env.collateral(&taker.margin_account).await, 10_000_000_000 - 10_400_000 - 5_200);
    let data = env.book_data(&book).await;
    let b = BookRef::parse(&data).unwrap();
    assert!(
        decode::l3(&b, BookSide::Ask).iter().all(|o| o.margin_account != a.margin_account),
        "A's order is cancelled"
    );
    assert_eq!(decode::best(&b, BookSide::Ask), None);

    // Insurance: the takeover's fee, 1% of 80 * 0.90 = 0.72; nothing covered.
    assert_eq!(env.insurance_fund().await - fund0, 720_000);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}
