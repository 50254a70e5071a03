//! Seat allowances, book takes and seat settlement in `perpetual` (docs/seats.md), driven
//! directly: the test trader registers itself as a market's book and sends the exact
//! arguments a book would send, through its `act` relay.
//!
//! Markets are the harness defaults: $1 per lot, 10% initial / 5% maintenance margin, taker
//! fee 500 ppm, maker rebate 100 ppm (a rebate costs a seat nothing in its worst case), no
//! funding. Every health figure below is exact on paper.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::math::I80F48;
use perpetual::sdk::{self, SeatAccounts};
use perpetual::{AllowanceChange, BookTakeArgs, SeatAllowanceArgs, SeatPending, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot

fn seat_accounts(env: &TestEnv, m: &MarketCookie) -> SeatAccounts {
    SeatAccounts { exchange: env.exchange, trader_program: test_trader::ID, market: m.market, oracle: m.oracle }
}

/// `ix`, naming the test trader's PDA as its trader, sent through the test trader's `act`.
fn as_test_trader(ix: Instruction) -> Instruction {
    let pda = test_trader::trader_authority().0;
    let mut accounts =
        test_trader::accounts::Act { perpetual_program: perpetual::ID, trader_authority: pda }.to_account_metas(None);
    accounts.extend(ix.accounts.into_iter().map(|m| AccountMeta { is_signer: m.is_signer && m.pubkey != pda, ..m }));
    Instruction { program_id: test_trader::ID, accounts, data: test_trader::instruction::Act { data: ix.data }.data() }
}

fn register_book_ix(env: &TestEnv, m: &MarketCookie) -> Instruction {
    let accounts = perpetual::accounts::RegisterBook {
        exchange: env.exchange,
        approval: sdk::approval_address(&env.exchange, &test_trader::ID),
        trader_authority: test_trader::trader_authority().0,
        market: m.market,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: Pubkey::new_unique() }.data();
    as_test_trader(Instruction { program_id: perpetual::ID, accounts, data })
}

/// A market whose book is the test trader.
async fn seat_market(env: &mut TestEnv, symbol: &str) -> MarketCookie {
    let m = env.create_market(symbol, PRICE as i64).await;
    let ix = register_book_ix(env, &m);
    env.process(&[ix], &[]).await.expect("register the test trader as the book");
    m
}

fn owner_grant(bid_lots: u64, bid_limit: u64, ask_lots: u64, ask_limit: u64) -> SeatAllowanceArgs {
    SeatAllowanceArgs {
        pending: SeatPending::default(),
        change: AllowanceChange::Owner,
        bid_lots,
        ask_lots,
        bid_limit,
        ask_limit,
    }
}

async fn allowance_ix(env: &mut TestEnv, m: &MarketCookie, user: &UserCookie, args: SeatAllowanceArgs) -> Instruction {
    allowance_ix_by(env, m, user, &user.key(), args).await
}

/// The same, signed by `authority` (anyone, for a revoke).
async fn allowance_ix_by(
    env: &mut TestEnv,
    m: &MarketCookie,
    user: &UserCookie,
    authority: &Pubkey,
    args: SeatAllowanceArgs,
) -> Instruction {
    let health = env.health_metas(&user.margin_account, &[m.market]).await;
    as_test_trader(sdk::set_seat_allowance(&seat_accounts(env, m), &user.margin_account, authority, args, health))
}

async fn take_ix(env: &mut TestEnv, m: &MarketCookie, taker: &UserCookie, args: BookTakeArgs) -> Instruction {
    let health = env.health_metas(&taker.margin_account, &[m.market]).await;
    as_test_trader(sdk::settle_book_take(&seat_accounts(env, m), &taker.margin_account, &taker.key(), args, health))
}

fn settle_seats_ix(env: &TestEnv, m: &MarketCookie, accounts: &[Pubkey], pending: Vec<SeatPending>) -> Instruction {
    as_test_trader(sdk::settle_seats(&seat_accounts(env, m), accounts, pending))
}

/// A taker buying `lots` at $1 from seats whose makers go short from flat.
fn buy_at_a_dollar(lots: u64) -> BookTakeArgs {
    BookTakeArgs {
        taker_side: Side::Bid,
        base_lots: lots,
        quote: lots * PRICE,
        maker_fees: -((lots * PRICE / 10_000) as i64), // the 100 ppm rebate, rounded down
        fills: 1,
        min_price: PRICE,
        max_price: PRICE,
        last_price: PRICE,
        makers_long_change: 0,
        liquidation: false,
        taker_pending: SeatPending::default(),
    }
}

/// Initial health of a grant of `B` bid lots at `bid_limit` from $10, flat: the worst corner
/// buys all `B` at the limit, `10e6 - B * (limit - 1e6) - B * 1e5` (10% initial margin).
#[tokio::test]
async fn a_seat_allowance_grows_only_up_to_exactly_zero_initial_health() {
    let mut env = TestEnv::new().await;
    let m = seat_market(&mut env, "SEAT").await;
    let user = env.funded_user(10 * ONE_USDC).await;
    // At a limit of $1.02: 83 lots leave 40_000, 84 lots would leave -80_000.
    let too_many = allowance_ix(&mut env, &m, &user, owner_grant(84, 1_020_000, 0, 0)).await;
    assert_refused(&mut env, &[too_many], &[&user.owner], code(PerpError::InsufficientInitialMargin), "84 lots").await;
    let ix = allowance_ix(&mut env, &m, &user, owner_grant(83, 1_020_000, 0, 0)).await;
    env.process(&[ix], &[&user.owner]).await.expect("83 lots at $1.02");
    let pos = env.position(&user.margin_account, &m.market).await;
    assert_eq!((pos.seat_bid_lots, pos.seat_bid_limit, pos.seat_ask_lots), (83, 1_020_000, 0));
    // At exactly $1 the requirement alone counts: 100 lots leave exactly 0.
    let other = env.funded_user(10 * ONE_USDC).await;
    let ix = allowance_ix(&mut env, &m, &other, owner_grant(100, PRICE, 0, 0)).await;
    env.process(&[ix], &[&other.owner]).await.expect("100 lots at $1: initial health exactly 0");
    let ix = allowance_ix(&mut env, &m, &other, owner_grant(100, PRICE + 1, 0, 0)).await;
    assert_refused(&mut env, &[ix], &[&other.owner], code(PerpError::InsufficientInitialMargin), "one unit above")
        .await;
    // Shrinking needs no margin at all, and a stranger cannot grant.
    let stranger = Keypair::new();
    let health = env.health_metas(&other.margin_account, &[m.market]).await;
    let ix = as_test_trader(sdk::set_seat_allowance(
        &seat_accounts(&env, &m),
        &other.margin_account,
        &stranger.pubkey(),
        owner_grant(1, PRICE, 0, 0),
        health,
    ));
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotOwnerOrDelegate), "a stranger").await;
}

#[tokio::test]
async fn only_the_markets_registered_book_keeps_seats() {
    let mut env = TestEnv::new().await;
    // A market whose book was never registered, and one registered by the test trader.
    let unregistered = env.create_market("NOBOOK", PRICE as i64).await;
    let user = env.funded_user(10 * ONE_USDC).await;
    let ix = allowance_ix(&mut env, &unregistered, &user, owner_grant(1, PRICE, 0, 0)).await;
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::NotTheMarketsBook), "no book").await;
    let ix = take_ix(&mut env, &unregistered, &user, buy_at_a_dollar(1)).await;
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::NotTheMarketsBook), "take, no book").await;
    // A second registration is refused: the book is named once.
    let m = seat_market(&mut env, "SEAT").await;
    let ix = register_book_ix(&env, &m);
    assert_refused(&mut env, &[ix], &[&user.owner], code(PerpError::BookAlreadyRegistered), "registered twice").await;
}

/// A take moves the taker at once and the makers' side into the market's pending totals;
/// settling the seat moves it into the maker's account. Positions and cash balance at
/// every step: `sum(positions) + pending lots == 0`.
#[tokio::test]
async fn a_take_then_a_seat_settlement_move_lots_cash_and_fees_exactly() {
    let mut env = TestEnv::new().await;
    let m = seat_market(&mut env, "SEAT").await;
    let maker = env.funded_user(10 * ONE_USDC).await;
    let taker = env.funded_user(10 * ONE_USDC).await;
    let ix = allowance_ix(&mut env, &m, &maker, owner_grant(0, 0, 20, PRICE)).await;
    env.process(&[ix], &[&maker.owner]).await.expect("ask allowance");
    let fees_before = env.market_state(&m.market).await.fees_accrued;

    let ix = take_ix(&mut env, &m, &taker, buy_at_a_dollar(10)).await;
    env.process(&[ix], &[&taker.owner]).await.expect("take 10 lots");
    // Taker: paid 10e6 and the 500 ppm fee; long 10.
    assert_eq!(env.collateral(&taker.margin_account).await, 10 * ONE_USDC as i64 - 10_005_000);
    assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 10);
    let market = env.market_state(&m.market).await;
    assert_eq!((market.pending_seat_lots, market.pending_seat_cash), (-10, 10_001_000));
    assert_eq!(market.fees_accrued - fees_before, 5_000 - 1_000);
    assert_eq!(market.open_interest_lots, 10);
    assert_eq!(market.last_trade_price, PRICE);
    integration_tests::invariants::check(&mut env).await;

    // The seat sold 10 at $1 with a rebate of 1_000, funding index unchanged (weight -10 * I).
    let index = market.funding_index.get();
    let weight = (I80F48::from_num(-10) * index).to_bits();
    let pending =
        SeatPending { bid_lots: 0, ask_lots: 10, quote: 10_000_000, fees: -1_000, funding_weight_bits: weight };
    // Settling more than the allowance, or at a price beyond the limit, is refused.
    let over = settle_seats_ix(&env, &m, &[maker.margin_account], vec![SeatPending { ask_lots: 21, ..pending }]);
    assert_refused(&mut env, &[over], &[&taker.owner], code(PerpError::SeatAllowanceExceeded), "over").await;
    let cheap = settle_seats_ix(&env, &m, &[maker.margin_account], vec![SeatPending { quote: 9_999_999, ..pending }]);
    assert_refused(&mut env, &[cheap], &[&taker.owner], code(PerpError::SeatFillBeyondLimit), "below limit").await;
    let mismatch = settle_seats_ix(&env, &m, &[], vec![pending]);
    assert_refused(&mut env, &[mismatch], &[&taker.owner], code(PerpError::SeatAccountsMismatch), "no account").await;

    let ix = settle_seats_ix(&env, &m, &[maker.margin_account], vec![pending]);
    env.process(&[ix], &[&taker.owner]).await.expect("settle the seat");
    assert_eq!(env.collateral(&maker.margin_account).await, 10 * ONE_USDC as i64 + 10_001_000);
    let pos = env.position(&maker.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.seat_ask_lots, pos.seat_ask_limit), (-10, 10, PRICE));
    let market = env.market_state(&m.market).await;
    assert_eq!((market.pending_seat_lots, market.pending_seat_cash), (0, 0));
    assert_eq!(market.open_interest_lots, 10);
    integration_tests::invariants::check(&mut env).await;
}

/// A take's fill prices must lie in the band, and the taker is held to the margin rule.
#[tokio::test]
async fn a_take_is_held_to_the_band_and_the_takers_margin() {
    let mut env = TestEnv::new().await;
    let m = seat_market(&mut env, "SEAT").await;
    let taker = env.funded_user(ONE_USDC).await;
    // Band 5%: $1.05 is in, $1.050001 is out.
    let out = BookTakeArgs { max_price: 1_050_001, last_price: 1_050_001, ..buy_at_a_dollar(1) };
    let ix = take_ix(&mut env, &m, &taker, out).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::FillPriceOutsideBand), "out of band").await;
    let unordered = BookTakeArgs { min_price: 1_010_000, ..buy_at_a_dollar(1) };
    let ix = take_ix(&mut env, &m, &taker, unordered).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::FillPriceOutsideBand), "min above last").await;
    // $1 of collateral carries 9 lots at 10% initial (0.9 + fees), not 10.
    let ix = take_ix(&mut env, &m, &taker, buy_at_a_dollar(10)).await;
    assert_refused(&mut env, &[ix], &[&taker.owner], code(PerpError::MarginRuleViolated), "10 lots").await;
    let ix = take_ix(&mut env, &m, &taker, buy_at_a_dollar(9)).await;
    env.process(&[ix], &[&taker.owner]).await.expect("9 lots");
}

/// While an account holds an allowance, risk paths wait; anyone may revoke it once the
/// account is below maintenance, and not before.
#[tokio::test]
async fn an_allowance_blocks_liquidation_until_it_is_revoked_and_only_below_maintenance() {
    let mut env = TestEnv::new().await;
    let m = seat_market(&mut env, "SEAT").await;
    let maker = env.funded_user(100 * ONE_USDC).await;
    let user = env.funded_user(2 * ONE_USDC).await;
    let liquidator = env.funded_user(100 * ONE_USDC).await;
    // Long 10 at $1 through the test trader's reservation path: collateral 2e6 - 10_005_000.
    env.trade(&user, &maker, &m, Side::Bid, 10, PRICE).await.expect("open the long");
    let ix = allowance_ix(&mut env, &m, &user, owner_grant(0, 0, 1, PRICE)).await;
    env.process(&[ix], &[&user.owner]).await.expect("an ask allowance of 1 lot at $1");

    let revoke = SeatAllowanceArgs { change: AllowanceChange::Revoke, ..owner_grant(0, 0, 0, 0) };
    let ix = allowance_ix_by(&mut env, &m, &user, &liquidator.key(), revoke).await;
    assert_refused(&mut env, &[ix], &[&liquidator.owner], code(PerpError::SeatNotRevocable), "healthy").await;

    // At $0.84: equity 2e6 - 10_005_000 + 8_400_000 = 395_000 against a maintenance
    // requirement of 5% of 8.4e6 = 420_000 (the seat's sale of 1 lot at $1 would be a gain,
    // so the worst corner is no fill): below maintenance, not underwater.
    env.set_price(&m, 840_000).await;
    let liquidatee_health = env.health_metas(&user.margin_account, &[m.market]).await;
    let liquidator_health = env.health_metas(&liquidator.margin_account, &[m.market]).await;
    let liquidate = sdk::liquidate(
        &env.exchange,
        &m.market,
        &m.oracle,
        &user.margin_account,
        &liquidator.margin_account,
        &liquidator.key(),
        10,
        liquidatee_health,
        liquidator_health,
    );
    assert_refused(
        &mut env,
        std::slice::from_ref(&liquidate),
        &[&liquidator.owner],
        code(PerpError::SeatAllowanceOpen),
        "liquidation with an allowance open",
    )
    .await;
    let ix = allowance_ix_by(&mut env, &m, &user, &liquidator.key(), revoke).await;
    env.process(&[ix], &[&liquidator.owner]).await.expect("revoke below maintenance");
    let pos = env.position(&user.margin_account, &m.market).await;
    assert_eq!((pos.seat_bid_lots, pos.seat_ask_lots, pos.seat_ask_limit), (0, 0, 0));
    env.process(&[liquidate], &[&liquidator.owner]).await.expect("liquidation after the revoke");
}
