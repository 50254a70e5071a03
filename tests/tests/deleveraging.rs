//! Early deleveraging, the insurance fund and deleveraging of underwater accounts, with
//! numbers.
//!
//! Markets are $1 per lot, 10% initial / 5% maintenance, taker fee 0.05%, maker rebate
//! 0.01%, liquidation discount 1% and insurance fee 1%. No mark samples are taken (so the
//! index jump guard is idle and sharp oracle moves are accepted) and the funding rate is 0,
//! so the mark is the oracle index and no funding moves.
//!
//! After every scenario: positions sum to 0, the vault equation holds exactly, and the
//! insurance fund's change equals the fees in less the losses covered, computed by hand.
//! (Events cannot be checked: natively, Anchor 1.2's `sol_log_data` is a no-op.)
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::state::{BookRef, Side as BookSide};
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::Side;
use solana_keypair::Keypair;
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot

/// `deposit` into a fresh account that buys `lots` at $1 from `maker`.
/// The buyer's collateral is then `deposit - lots * 1_000_500` (0.05% taker fee).
async fn long_from(env: &mut TestEnv, m: &MarketCookie, maker: &UserCookie, deposit: u64, lots: u64) -> UserCookie {
    let user = env.funded_user(deposit).await;
    env.trade(&user, maker, m, Side::Bid, lots, PRICE).await.expect("open the long");
    assert_eq!(env.collateral(&user.margin_account).await, deposit as i64 - lots as i64 * 1_000_500);
    user
}

async fn equity(env: &mut TestEnv, account: &Pubkey, market: &Pubkey, price: u64) -> i64 {
    let c = env.collateral(account).await;
    c + env.position(account, market).await.base_lots * price as i64
}

/// Early deleveraging through the book, signed by the deleveraging authority.
async fn early_ix(
    env: &mut TestEnv,
    book: &BookCookie,
    account: &UserCookie,
    counterparty: &UserCookie,
    lots: u64,
) -> Instruction {
    let health = env.health_metas(&account.margin_account, &[book.market.market]).await;
    let authority = env.deleverage_authority.pubkey();
    orderbook::sdk::early_deleverage(
        &book.venue,
        &account.margin_account,
        &counterparty.margin_account,
        &authority,
        lots,
        health,
    )
}

async fn deleverage_ix(
    env: &mut TestEnv,
    m: &MarketCookie,
    account: &UserCookie,
    counterparty: &UserCookie,
    authority: &Pubkey,
    lots: u64,
) -> Instruction {
    let health = env.health_metas(&account.margin_account, &[m.market]).await;
    sdk::deleverage(
        &env.exchange,
        &m.market,
        &m.oracle,
        &account.margin_account,
        &counterparty.margin_account,
        authority,
        lots,
        health,
    )
}

async fn mark_ix(env: &mut TestEnv, account: &UserCookie, caller: &Pubkey) -> Instruction {
    let health = env.health_metas(&account.margin_account, &[]).await;
    sdk::mark_underwater(&env.exchange, &account.margin_account, caller, health)
}

async fn cover_ix(env: &mut TestEnv, account: &UserCookie, authority: &Pubkey) -> Instruction {
    let health = env.health_metas(&account.margin_account, &[]).await;
    sdk::cover_with_insurance(&env.exchange, &account.margin_account, authority, health)
}

async fn deposit_insurance(env: &mut TestEnv, amount: u64) {
    let depositor = env.create_user(amount).await;
    let ix = sdk::deposit_insurance(&depositor.key(), &env.exchange, &env.mint, &depositor.token_account, amount);
    env.process(&[ix], &[&depositor.owner]).await.expect("anyone deposits into the insurance fund");
}

/// A: $20, long 150 at $1 from M (M: $10,000, short 150). A's collateral is
/// 20 - 150.075 = -130.075; at $0.90 its equity is 4.925 against a maintenance requirement
/// of 6.75 (health -1.825): liquidatable, not underwater.
async fn liquidatable_long(env: &mut TestEnv, book: &BookCookie) -> (UserCookie, UserCookie) {
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let a = long_from(env, &book.market, &maker, 20 * ONE_USDC, 150).await;
    (a, maker)
}

#[tokio::test]
async fn early_deleveraging_on_a_thin_book_gives_half_the_fee_to_the_absorbing_account() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let (a, maker) = liquidatable_long(&mut env, &book).await;
    // Two more accounts for the refusals: L long 20 (same side as A), S short 20 (too small).
    let s = env.funded_user(1_000 * ONE_USDC).await;
    let l = long_from(&mut env, &m, &s, 1_000 * ONE_USDC, 20).await;
    // A thin book: 100 lots bid at 0.89 and 50 at 0.80.
    let bidder = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&bidder, &book, BookSide::Bid, 89, 100).await;
    env.rest(&bidder, &book, BookSide::Bid, 80, 50).await;
    let keeper = env.create_user(0).await;
    env.set_price(&m, 900_000).await;
    let fund0 = env.insurance_fund().await;

    // Closing 150 through this book: 100 * 0.89 + 50 * 0.80 = 129, an average of 0.86 < 0.90.
    let data = env.book_data(&book).await;
    assert_eq!(
        {
            let b = BookRef::parse(&data).unwrap();
            orderbook::matching::estimate_fill(&b.bids, b.seats, BookSide::Bid, 150)
        },
        (150, 100 * 89 + 50 * 80)
    );
    // That would lose 150 * 0.04 = 6.00 against the mark plus the 1% fee (1.29), more than
    // A's equity of 4.925: liquidation through the book would bankrupt A.
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &a.margin_account, 150, 80, health);
    assert_refused(
        &mut env,
        &[ix],
        &[&keeper.owner],
        code(PerpError::LiquidationWouldBankrupt),
        "book liquidation into a thin book",
    )
    .await;

    // Refusals: only the deleveraging authority; an opposite account at least as large.
    let mut ix = early_ix(&mut env, &book, &a, &maker, 150).await;
    ix.accounts[8].pubkey = keeper.key();
    assert_refused(
        &mut env,
        &[ix],
        &[&keeper.owner],
        code(PerpError::DeleverageNotAllowed),
        "early deleveraging by a stranger",
    )
    .await;
    let da = env.deleverage_authority.insecure_clone();
    let ix = early_ix(&mut env, &book, &a, &l, 150).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "same-side counterparty").await;
    let ix = early_ix(&mut env, &book, &a, &s, 150).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "counterparty short 20 < 150").await;
    let ix = early_ix(&mut env, &book, &a, &bidder, 150).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "counterparty without a position")
        .await;

    // The keeper's choice, M (short 150), absorbs all 150 lots at the mark, 0.90.
    // The fee is discount + insurance fee = 2% of 135 = 2.70: half (1.35) to M, half to
    // the insurance fund.
    let m_collateral0 = env.collateral(&maker.margin_account).await;
    assert_eq!(m_collateral0, 10_000_000_000 + 150_000_000 + 15_000);
    let ix = early_ix(&mut env, &book, &a, &maker, 150).await;
    env.process(&[ix], &[&da]).await.expect("early deleveraging");
    // A: -130.075 + 135 - 2.70 = 2.225, flat.
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 2_225_000);
    // M: buys back its short at the mark (pays 135) and receives 1.35.
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&maker.margin_account).await - m_collateral0, -135_000_000 + 1_350_000);
    // Insurance: fees in 1.35, nothing covered.
    assert_eq!(env.insurance_fund().await - fund0, 1_350_000);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn early_deleveraging_is_refused_when_the_book_is_deep_enough() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let (a, maker) = liquidatable_long(&mut env, &book).await;
    let bidder = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&bidder, &book, BookSide::Bid, 89, 150).await;
    let keeper = env.create_user(0).await;
    let da = env.deleverage_authority.insecure_clone();

    // At $1 A is not even liquidatable.
    let ix = early_ix(&mut env, &book, &a, &maker, 150).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&da],
        code(PerpError::NotLiquidatable),
        "early deleveraging of a healthy account",
    )
    .await;

    env.set_price(&m, 900_000).await;
    let fund0 = env.insurance_fund().await;
    // 150 lots bid at 0.89: the loss against the mark is 150 * 0.01 = 1.50, plus the fee
    // 2% of 135 = 2.70, is 4.20 <= A's equity 4.925: the book covers it.
    let ix = early_ix(&mut env, &book, &a, &maker, 150).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::EarlyDeleverageNotNeeded), "deep book").await;

    // And indeed liquidation through the book closes A without the fund paying:
    // -130.075 + 150 * 0.89 - 1% of 133.5 = -130.075 + 133.5 - 1.335 = 2.09.
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &a.margin_account, 150, 89, health);
    env.process(&[ix], &[&keeper.owner]).await.expect("book liquidation");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 2_090_000);
    env.process(&[sdk::sweep_fees(&env.exchange, &m.market)], &[]).await.unwrap();
    // Insurance: fees in 1.335, nothing covered.
    assert_eq!(env.insurance_fund().await - fund0, 1_335_000);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// A: $12, long 100 at $1 from M: collateral 12 - 100.05 = -88.05. At $0.85 its equity is
/// -88.05 + 85 = -3.05: underwater.
async fn underwater_long(env: &mut TestEnv, m: &MarketCookie) -> (UserCookie, UserCookie) {
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let a = long_from(env, m, &maker, 12 * ONE_USDC, 100).await;
    env.set_price(m, 850_000).await;
    assert_eq!(equity(env, &a.margin_account, &m.market, 850_000).await, -3_050_000);
    (a, maker)
}

#[tokio::test]
async fn the_insurance_fund_pays_first_then_ranked_accounts_absorb_the_rest() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let (a, maker) = underwater_long(&mut env, &m).await;
    deposit_insurance(&mut env, ONE_USDC).await;
    let fund0 = env.insurance_fund().await;
    assert_eq!(fund0, ONE_USDC);
    let da = env.deleverage_authority.insecure_clone();
    let stranger = env.create_user(0).await;

    // While the fund holds anything, ranked accounts are not touched.
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &da.pubkey(), 100).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&da],
        code(PerpError::InsufficientInsurance),
        "deleveraging before the fund is spent",
    )
    .await;
    // Only the deleveraging authority spends the fund.
    let ix = cover_ix(&mut env, &a, &stranger.key()).await;
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::DeleverageNotAllowed), "cover by a stranger")
        .await;

    // The fund pays what it has, 1.00 of the 3.05 deficit; the account stays marked
    // underwater since the time it was marked (a partial cover does not restart the lock).
    let ix = mark_ix(&mut env, &a, &stranger.key()).await;
    env.process(&[ix], &[&stranger.owner]).await.expect("mark");
    let since = env.margin(&a.margin_account).await.0.underwater_since;
    assert!(since > 0);
    let ix = cover_ix(&mut env, &a, &da.pubkey()).await;
    env.process(&[ix], &[&da]).await.expect("cover");
    assert_eq!(env.margin(&a.margin_account).await.0.underwater_since, since, "a partial cover keeps the mark");
    assert_eq!(env.insurance_fund().await, 0);
    assert_eq!(env.collateral(&a.margin_account).await, -88_050_000 + 1_000_000);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 850_000).await, -2_050_000);
    // Nothing left to cover.
    let ix = cover_ix(&mut env, &a, &da.pubkey()).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InsufficientInsurance), "cover from an empty fund").await;

    // The rest: M absorbs A's 100 lots at the bankruptcy price 0.85 + 2.05 / 100 = 0.8705.
    let m_equity0 = equity(&mut env, &maker.margin_account, &m.market, 850_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &da.pubkey(), 100).await;
    env.process(&[ix], &[&da]).await.expect("deleverage");
    // A: -87.05 + 87.05 = 0, flat.
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 0);
    // M loses the remaining deficit against the mark: 100 * (0.8705 - 0.85) = 2.05.
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(equity(&mut env, &maker.margin_account, &m.market, 850_000).await - m_equity0, -2_050_000);

    // Insurance: fees in 0, covered 1.00.
    assert_eq!(env.insurance_fund().await as i64 - fund0 as i64, -1_000_000);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn the_insurance_fund_covers_the_whole_deficit_then_the_account_is_taken_over() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let (a, maker) = underwater_long(&mut env, &m).await;
    deposit_insurance(&mut env, 10 * ONE_USDC).await;
    let fund0 = env.insurance_fund().await;
    let da = env.deleverage_authority.insecure_clone();
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;

    // The fund pays the whole deficit, 3.05: A's equity is 0 with its 100 lots still open,
    // so it is no longer underwater (nothing for ranked accounts to absorb), and its
    // underwater mark is cleared...
    let ix = mark_ix(&mut env, &a, &liquidator.key()).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("mark");
    assert!(env.margin(&a.margin_account).await.0.underwater_since > 0);
    let ix = cover_ix(&mut env, &a, &da.pubkey()).await;
    env.process(&[ix], &[&da]).await.expect("cover");
    assert_eq!(env.margin(&a.margin_account).await.0.underwater_since, 0, "a whole cover clears the mark");
    assert_eq!(env.insurance_fund().await, fund0 - 3_050_000);
    assert_eq!(env.collateral(&a.margin_account).await, -85_000_000);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 850_000).await, 0);
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &da.pubkey(), 100).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::NotUnderwater), "deleveraging a covered account").await;
    let ix = cover_ix(&mut env, &a, &da.pubkey()).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::NotUnderwater), "covering twice").await;

    // ...but still below maintenance (requirement 4.25), so it is liquidated. Restoring
    // the buffer needs (0.425 + 4.25) / (0.85 * 3.5%) = 157 lots: all 100 move at
    // 0.85 * 0.99 = 0.8415. A: -85 + 84.15 - 0.85 (fee) = -1.70, which the fund pays.
    let lq = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &m.market,
        &m.oracle,
        &a.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        u64::MAX,
        lq,
        vec![],
    );
    env.process(&[ix], &[&liquidator.owner]).await.expect("takeover of the covered account");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 0);
    // The liquidator keeps its discount: 100 lots worth 85 for 84.15.
    assert_eq!(env.position(&liquidator.margin_account, &m.market).await.base_lots, 100);
    assert_eq!(equity(&mut env, &liquidator.margin_account, &m.market, 850_000).await, 1_000_000_000 + 850_000);

    // Insurance: fees in 0.85; covered 3.05 + 1.70.
    let (fees_in, covered) = (850_000i64, 3_050_000i64 + 1_700_000);
    assert_eq!(env.insurance_fund().await as i64 - fund0 as i64, fees_in - covered);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn ranked_accounts_absorb_an_underwater_account_when_the_fund_is_empty() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    // S sells 20 to L before A's trade: S short 20, L long 20.
    let s = env.funded_user(1_000 * ONE_USDC).await;
    let l = long_from(&mut env, &m, &s, 1_000 * ONE_USDC, 20).await;
    let (a, maker) = underwater_long(&mut env, &m).await;
    let fund0 = env.insurance_fund().await;
    assert_eq!(fund0, 0);
    let da = env.deleverage_authority.insecure_clone();
    let stranger = env.create_user(0).await;

    // Refusals.
    let ix = deleverage_ix(&mut env, &m, &a, &l, &da.pubkey(), 20).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "same-side counterparty").await;
    let ix = deleverage_ix(&mut env, &m, &a, &s, &da.pubkey(), 100).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "counterparty short 20 < 100").await;
    let ix = deleverage_ix(&mut env, &m, &a, &stranger, &da.pubkey(), 100).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::InvalidCounterparty), "counterparty without a position")
        .await;
    let ix = deleverage_ix(&mut env, &m, &a, &a, &da.pubkey(), 100).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::SelfLiquidation), "against itself").await;
    let ix = deleverage_ix(&mut env, &m, &l, &s, &da.pubkey(), 20).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::NotUnderwater), "L is not underwater").await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&stranger.owner],
        code(PerpError::DeleverageNotAllowed),
        "a stranger without a mark",
    )
    .await;

    // The keeper's ranking: first S for 20 lots, then M for 80. The bankruptcy price is
    // 0.85 + 3.05 / 100 = 0.8805, and stays so as A shrinks (its deficit shrinks with it).
    let s_equity0 = equity(&mut env, &s.margin_account, &m.market, 850_000).await;
    let m_equity0 = equity(&mut env, &maker.margin_account, &m.market, 850_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &s, &da.pubkey(), 20).await;
    env.process(&[ix], &[&da]).await.expect("deleverage against S");
    // A: -88.05 + 20 * 0.8805 = -70.44, long 80: equity -70.44 + 68 = -2.44.
    assert_eq!(env.collateral(&a.margin_account).await, -70_440_000);
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 850_000).await, -2_440_000);
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &da.pubkey(), 80).await;
    env.process(&[ix], &[&da]).await.expect("deleverage against M");
    // A: -70.44 + 80 * 0.8805 = 0, flat.
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 0);
    // The counterparties absorb the 3.05 in proportion: S 20 * 0.0305 = 0.61, M 80 * 0.0305 = 2.44.
    assert_eq!(env.position(&s.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -20);
    assert_eq!(equity(&mut env, &s.margin_account, &m.market, 850_000).await - s_equity0, -610_000);
    assert_eq!(equity(&mut env, &maker.margin_account, &m.market, 850_000).await - m_equity0, -2_440_000);
    // Nothing left to deleverage.
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &da.pubkey(), 1).await;
    assert_refused(&mut env, &[ix], &[&da], code(PerpError::NoPositionInMarket), "A is flat").await;

    // Insurance: untouched (fees in 0, covered 0).
    assert_eq!(env.insurance_fund().await, fund0);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn third_parties_deleverage_after_the_time_lock_and_not_once_recovered() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", PRICE as i64).await;
    let (a, maker) = underwater_long(&mut env, &m).await;
    let fund0 = env.insurance_fund().await;
    let stranger = env.create_user(0).await;
    let other = env.create_user(0).await;
    let timelock = env.exchange_state().await.deleverage_timelock_secs;
    assert_eq!(timelock, 3_600);

    // Anyone marks A; marking again keeps the first time.
    let ix = mark_ix(&mut env, &a, &stranger.key()).await;
    env.process(&[ix], &[&stranger.owner]).await.expect("mark");
    let t0 = env.margin(&a.margin_account).await.0.underwater_since;
    assert_eq!(t0, env.now().await);
    env.warp(100).await;
    env.set_price(&m, 850_000).await;
    let ix = mark_ix(&mut env, &a, &other.key()).await;
    env.process(&[ix], &[&other.owner]).await.expect("mark again");
    assert_eq!(env.margin(&a.margin_account).await.0.underwater_since, t0);

    // Before the time lock: refused.
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::DeleverageNotAllowed), "before the time lock")
        .await;

    // Past the time lock, but the price is back at 0.95: A's equity -88.05 + 95 = 6.95.
    let now = env.now().await;
    env.warp(t0 + timelock - now).await;
    env.set_price(&m, 950_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::NotUnderwater), "recovered").await;
    // Anyone clears the mark of the recovered account; a second clear has nothing to clear.
    let ix = mark_ix(&mut env, &a, &other.key()).await;
    env.process(&[ix], &[&other.owner]).await.expect("clear the mark");
    assert_eq!(env.margin(&a.margin_account).await.0.underwater_since, 0);
    let ix = mark_ix(&mut env, &a, &other.key()).await;
    assert_refused(&mut env, &[ix], &[&other.owner], code(PerpError::NotUnderwater), "nothing to clear").await;

    // Underwater again: the old mark is gone, so the time lock starts over.
    env.set_price(&m, 850_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::DeleverageNotAllowed), "mark cleared").await;
    let ix = mark_ix(&mut env, &a, &stranger.key()).await;
    env.process(&[ix], &[&stranger.owner]).await.expect("mark again");
    let t1 = env.margin(&a.margin_account).await.0.underwater_since;
    assert!(t1 > t0);
    let now = env.now().await;
    env.warp(t1 + timelock - 1 - now).await;
    env.set_price(&m, 850_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    assert_refused(&mut env, &[ix], &[&stranger.owner], code(PerpError::DeleverageNotAllowed), "one second early")
        .await;

    // At the time lock: accepted, at the bankruptcy price 0.85 + 3.05 / 100 = 0.8805.
    env.warp(1).await;
    env.set_price(&m, 850_000).await;
    let m_equity0 = equity(&mut env, &maker.margin_account, &m.market, 850_000).await;
    let ix = deleverage_ix(&mut env, &m, &a, &maker, &stranger.key(), 100).await;
    env.process(&[ix], &[&stranger.owner]).await.expect("third-party deleveraging after the time lock");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    assert_eq!(env.collateral(&a.margin_account).await, 0);
    assert_eq!(equity(&mut env, &maker.margin_account, &m.market, 850_000).await - m_equity0, -3_050_000);

    // Insurance: untouched (fees in 0, covered 0).
    assert_eq!(env.insurance_fund().await, fund0);
    invariants::check(&mut env).await;
}

#[tokio::test]
// Regression test for a bug this suite found (now fixed).
async fn early_deleveraging_never_charges_more_than_the_accounts_equity() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let (a, maker) = liquidatable_long(&mut env, &book).await;
    // An empty book and the price at 0.87: A's equity is -130.075 + 130.5 = 0.425 (requirement
    // 6.525). The fee of early deleveraging, 2% of 130.5 = 2.61, is more than A has.
    env.set_price(&m, 870_000).await;
    assert_eq!(equity(&mut env, &a.margin_account, &m.market, 870_000).await, 425_000);
    let fund0 = env.insurance_fund().await;
    let m_collateral0 = env.collateral(&maker.margin_account).await;
    let da: Keypair = env.deleverage_authority.insecure_clone();
    let ix = early_ix(&mut env, &book, &a, &maker, 150).await;
    env.process(&[ix], &[&da]).await.expect("early deleveraging");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    // Expected: A pays at most what it has; it must not end with a deficit that nobody can
    // deleverage any more (it holds no position).
    let a_after = env.collateral(&a.margin_account).await;
    assert!(a_after >= 0, "A ends with collateral {a_after} after early deleveraging");
    // What M and the fund receive beyond the trade at the mark is exactly what A paid.
    let m_bonus = env.collateral(&maker.margin_account).await - m_collateral0 + 150 * 870_000;
    let fund_in = env.insurance_fund().await as i64 - fund0 as i64;
    assert_eq!(m_bonus + fund_in, 425_000 - a_after);
    invariants::check(&mut env).await;
}
