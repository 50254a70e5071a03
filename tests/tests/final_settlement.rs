//! Final settlement with numbers: a permissionlessly listed market with several long and
//! short accounts is settled by the admin, every position is closed one by one at the
//! locked price, and the market and its book are closed, returning rent and the listing
//! deposit. Refusals: settlement outside the band, settling a position twice, trading and
//! placing orders on the settled market, and insurance withdrawals by anyone but the admin.
use anchor_lang::prelude::Pubkey;
use client::Liabilities;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::instructions::OrderType;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::sdk::ListMarketArgs;
use perpetual::state::Market;
use perpetual::{Fill, MarketStatus, OracleKind, Side};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

const PRICE: u64 = 1_000_000; // $1 per lot
const SETTLE: u64 = 1_100_000; // the index at settlement, $1.10 per lot
const DEPOSIT: u64 = 1_000 * ONE_USDC; // the listing deposit

/// The vault equation while a settled market's positions close one by one. Then the
/// positions cannot sum to zero (`invariants::check` asserts that too), and a closed long
/// has been paid before the shorts that owe it have: so every position still open in a
/// settled market counts at its locked value, `lots * price`, next to the collateral.
/// With no position open this is exactly `invariants::check`'s equation.
async fn vault_equation(env: &mut TestEnv) {
    let vault = env.token_balance(&env.vault.clone()).await;
    let e = env.exchange_state().await;
    let mut markets = vec![];
    for m in env.markets.clone() {
        markets.push((m.market, env.market_state(&m.market).await));
    }
    let mut accounts = vec![];
    for a in env.margin_accounts.clone() {
        accounts.push(env.margin(&a).await);
    }
    let mut liabilities =
        Liabilities::of(&e, accounts.iter().map(|(h, _)| h.collateral), markets.iter().map(|(_, s)| s));
    for p in accounts.iter().flat_map(|(_, ps)| ps.iter()).filter(|p| !p.is_free()) {
        if let Some((_, s)) = markets.iter().find(|(k, s)| *k == p.market && s.is_final_settled()) {
            liabilities.add_settled_position(p.base_lots, s.settlement_price.get().to_num::<i128>());
        }
    }
    assert!(
        liabilities.balances(vault),
        "vault equation with open settled positions at their locked value: vault {vault}, {liabilities:?}"
    );
}

/// Sum over `accounts` of their positions in `market`.
async fn open_lots(env: &mut TestEnv, accounts: &[&UserCookie], market: &Pubkey) -> i64 {
    let mut sum = 0;
    for a in accounts {
        sum += env.position(&a.margin_account, market).await.base_lots;
    }
    sum
}

struct Listed {
    lister: Keypair,
    lister_token: Pubkey,
    market: MarketCookie,
    book: BookCookie,
}

/// A market listed by an unprivileged wallet on a Pyth feed at $1, paying the deposit, with
/// its book (created by the lister, paid for by the context payer, who gets its rent back).
async fn listed_market(env: &mut TestEnv) -> Listed {
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, DEPOSIT)], &[&admin]).await.unwrap();
    let lister = Keypair::new();
    env.airdrop(&lister.pubkey(), 10_000_000_000).await;
    let lister_token = env.create_token_account(&lister.pubkey(), DEPOSIT).await;
    let oracle = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&oracle, PRICE as i64, 0, -6, now, PriceStatus::Trading);
    let args = ListMarketArgs {
        symbol: sdk::symbol("SETL"),
        oracle_kind: OracleKind::PythLegacy,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: PRICE,
    };
    let market = env.list_market(&lister, &lister_token, oracle, args).await.expect("permissionless listing");
    assert_eq!(env.token_balance(&lister_token).await, 0, "the deposit is in the vault");
    let state = env.market_state(&market.market).await;
    assert_eq!((state.lister, state.listing_deposit), (lister.pubkey(), DEPOSIT));
    let book = env.create_book_as(&market, book_args(64, 16), &lister).await.expect("the lister creates the book");
    Listed { lister, lister_token, market, book }
}

#[tokio::test]
async fn a_settled_market_closes_every_position_at_the_locked_price_then_closes() {
    let mut env = TestEnv::new().await;
    let Listed { lister, lister_token, market: m, book } = listed_market(&mut env).await;
    let admin = env.admin.insecure_clone();

    // Two longs and two shorts: L1 +30 and L2 +20, S1 -40 and S2 -10, all at $1.
    let l1 = env.funded_user(100 * ONE_USDC).await;
    let l2 = env.funded_user(100 * ONE_USDC).await;
    let s1 = env.funded_user(100 * ONE_USDC).await;
    let s2 = env.funded_user(100 * ONE_USDC).await;
    let outsider = env.funded_user(100 * ONE_USDC).await;
    env.trade(&l1, &s1, &m, Side::Bid, 30, PRICE).await.unwrap();
    env.trade(&l2, &s1, &m, Side::Bid, 10, PRICE).await.unwrap();
    env.trade(&l2, &s2, &m, Side::Bid, 10, PRICE).await.unwrap();
    // S2 also rests an ask of 5 at $1.02 in the book.
    env.rest(&s2, &book, BookSide::Ask, 102, 5).await;
    let all = [&l1, &l2, &s1, &s2];
    assert_eq!(open_lots(&mut env, &all, &m.market).await, 0);
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 50);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;

    // Anyone may fund insurance.
    let donor = env.create_user(5 * ONE_USDC).await;
    let ix = sdk::deposit_insurance(&donor.key(), &env.exchange, &env.mint, &donor.token_account, 5 * ONE_USDC);
    env.process(&[ix], &[&donor.owner]).await.unwrap();
    let fund0 = env.insurance_fund().await;

    // The index moves to $1.10.
    env.set_price(&m, SETTLE as i64).await;

    // Refused: not the admin; a band that misses the index on either side.
    let ix = sdk::final_settle_market(&l1.key(), &env.exchange, &m.market, &m.oracle, 1_050_000, 1_150_000);
    assert_refused(&mut env, &[ix], &[&l1.owner], code(PerpError::NotAdmin), "settlement by a user").await;
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, 1_000_000, 1_099_999);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::SettlementPriceOutsideBand), "band below the index")
        .await;
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, 1_100_001, 1_200_000);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::SettlementPriceOutsideBand), "band above the index")
        .await;

    // The admin settles with a band containing it: the price locks at 1.10.
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, 1_050_000, 1_150_000);
    env.process(&[ix], &[&admin]).await.expect("final settlement");
    let state = env.market_state(&m.market).await;
    assert_eq!(state.status, MarketStatus::FinalSettlement as u8);
    assert_eq!(state.settlement_price.get(), I80F48::from_num(SETTLE));
    let funding_index = state.funding_index.get();
    // Once only.
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, 1_050_000, 1_150_000);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::MarketInFinalSettlement), "settling again").await;

    // Nothing trades any more: the test trader's reservation and settlement...
    let ix = env.reserve_ix(&s1, &m, 0, 10).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&s1.owner],
        code(PerpError::MarketInFinalSettlement),
        "reserving on a settled market",
    )
    .await;
    let ix = env
        .settle_ix(
            &l1,
            &m,
            &[s1.margin_account],
            vec![Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 1, price_per_lot: SETTLE }],
            vec![],
            0,
            0,
        )
        .await;
    assert_refused(
        &mut env,
        &[ix],
        &[&l1.owner],
        code(PerpError::MarketInFinalSettlement),
        "trading on a settled market",
    )
    .await;
    assert!(env.trade(&l1, &s1, &m, Side::Bid, 1, SETTLE).await.is_err());
    // ...and the book: a new resting order, and a taker crossing S2's old ask.
    let ix = env.place_ix(&outsider, &book, order(BookSide::Ask, 110, 1, OrderType::PostOnly)).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&outsider.owner],
        u32::from(orderbook::error::BookError::MarketInFinalSettlement),
        "resting an order on a settled market",
    )
    .await;
    let ix = env.place_ix(&outsider, &book, order(BookSide::Bid, 110, 5, OrderType::ImmediateOrCancel)).await;
    assert_refused(
        &mut env,
        &[ix],
        &[&outsider.owner],
        u32::from(orderbook::error::BookError::MarketInFinalSettlement),
        "taking on a settled market",
    )
    .await;
    // ...nor do liquidations.
    let lq = env.health_metas(&l1.margin_account, &[m.market]).await;
    let ix = sdk::liquidate(
        &env.exchange,
        &m.market,
        &m.oracle,
        &l1.margin_account,
        &outsider.margin_account,
        &outsider.key(),
        1,
        lq,
        vec![],
    );
    assert_refused(
        &mut env,
        &[ix],
        &[&outsider.owner],
        code(PerpError::MarketInFinalSettlement),
        "liquidating on a settled market",
    )
    .await;

    // Withdrawals work with a settled position still open: L1 (long 30 at $1, now worth 33)
    // takes out $10.
    let token_before = env.token_balance(&l1.token_account).await;
    env.withdraw(&l1, 10 * ONE_USDC).await.expect("withdraw from a settled position");
    assert_eq!(env.token_balance(&l1.token_account).await, token_before + 10 * ONE_USDC);
    vault_equation(&mut env).await;

    // Seats first: in a settled market anyone revokes them (settling their fills), so the
    // positions behind them can close and the book can close.
    for who in all {
        if env.seat_of(&book, &who.margin_account).await.is_some() {
            let seat = env.seat_for(&book, &who.margin_account).await;
            let ix = orderbook::sdk::revoke_seat(&book.venue, &outsider.key(), &who.margin_account, seat, vec![]);
            env.process(&[ix], &[&outsider.owner]).await.expect("revoke a seat of a settled market");
        }
    }

    // Each position closes once, at the locked price, whoever sends it (here the context
    // payer, no signer at all): longs receive lots * 1.10, shorts pay it.
    let mut closed = 0i64;
    let mut value_moved = 0i64;
    let mut longs_open = 50u64;
    for (who, lots) in [(&l1, 30i64), (&s1, -40), (&l2, 20), (&s2, -10)] {
        let before = env.collateral(&who.margin_account).await;
        assert_eq!(env.position(&who.margin_account, &m.market).await.base_lots, lots);
        env.process(&[sdk::settle_final_position(&m.market, &who.margin_account)], &[])
            .await
            .expect("close at the locked price");
        let change = env.collateral(&who.margin_account).await - before;
        assert_eq!(change, lots * SETTLE as i64, "collateral change of a position of {lots}");
        let pos = env.position(&who.margin_account, &m.market).await;
        assert_eq!((pos.base_lots, pos.open_bid_lots, pos.open_ask_lots), (0, 0, 0));
        closed += lots;
        value_moved += change;
        // Open interest counts the longs still open; closing a short leaves it alone.
        longs_open -= lots.max(0) as u64;
        assert_eq!(env.market_state(&m.market).await.open_interest_lots, longs_open);
        // The open positions and the closed ones together still sum to zero.
        assert_eq!(open_lots(&mut env, &all, &m.market).await + closed, 0);
        vault_equation(&mut env).await;
        // Twice: refused, nothing changes.
        let ix = sdk::settle_final_position(&m.market, &who.margin_account);
        assert_refused(&mut env, &[ix], &[], code(PerpError::NoPositionInMarket), "settling a position twice").await;
    }
    // 30 * 1.10 + 20 * 1.10 received = 40 * 1.10 + 10 * 1.10 paid.
    assert_eq!((closed, value_moved), (0, 0));
    let ix = sdk::settle_final_position(&m.market, &outsider.margin_account);
    assert_refused(&mut env, &[ix], &[], code(PerpError::NoPositionInMarket), "an account that never traded").await;
    let state = env.market_state(&m.market).await;
    assert_eq!((state.open_slots, state.open_interest_lots), (0, 0));
    assert_eq!(state.funding_index.get(), funding_index, "the funding index stays locked");
    invariants::check(&mut env).await;

    // Only the admin withdraws from the insurance fund.
    let thief_token = env.create_token_account(&outsider.key(), 0).await;
    let ix = sdk::withdraw_insurance(&outsider.key(), &env.exchange, &env.mint, &thief_token, ONE_USDC);
    assert_refused(&mut env, &[ix], &[&outsider.owner], code(PerpError::NotAdmin), "insurance withdrawal by a user")
        .await;
    let admin_token = env.create_token_account(&admin.pubkey(), 0).await;
    let ix = sdk::withdraw_insurance(&admin.pubkey(), &env.exchange, &env.mint, &admin_token, 2 * ONE_USDC);
    env.process(&[ix], &[&admin]).await.expect("the admin withdraws");
    assert_eq!(env.token_balance(&admin_token).await, 2 * ONE_USDC);
    // Insurance: 5 deposited before, 2 withdrawn by the admin; no fees in, no losses covered.
    assert_eq!(env.insurance_fund().await as i64 - fund0 as i64, -(2 * ONE_USDC as i64));

    // Everyone withdraws everything.
    for who in [&l1, &l2, &s1, &s2] {
        let c = env.collateral(&who.margin_account).await;
        assert!(c > 0);
        let t = env.token_balance(&who.token_account).await;
        env.withdraw(who, c as u64).await.expect("withdraw everything after settlement");
        assert_eq!(env.collateral(&who.margin_account).await, 0);
        assert_eq!(env.token_balance(&who.token_account).await, t + c as u64);
    }

    // The book closes first (its market must still exist): its rent goes to its creator,
    // the context payer, and a third party pays the transaction fee.
    let fee_payer = Keypair::new();
    env.airdrop(&fee_payer.pubkey(), 1_000_000_000).await;
    let creator = env.ctx.payer.pubkey();
    let (creator_before, book_rent) = (env.lamports(&creator).await, env.lamports(&book.venue.book).await);
    assert!(book_rent > 0);
    let ix = orderbook::sdk::close_book(&creator, &book.venue.book, &m.market);
    env.process_paid_by(&[ix], &fee_payer, &[&fee_payer]).await.expect("close the book");
    assert_eq!(env.lamports(&creator).await, creator_before + book_rent);
    assert!(env.account(&book.venue.book).await.is_none(), "the book is gone");

    // The market: fees swept, then anyone closes it; the lister gets rent and deposit.
    env.process(&[sdk::sweep_fees(&env.exchange, &m.market)], &[]).await.unwrap();
    let market_rent = env.lamports(&m.market).await;
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(Market::SPACE);
    assert_eq!(market_rent, rent);
    let lister_lamports = env.lamports(&lister.pubkey()).await;
    let vault = env.vault;
    let vault_before = env.token_balance(&vault).await;
    let ix = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token);
    env.process_paid_by(&[ix], &fee_payer, &[&fee_payer]).await.expect("close the market");
    assert_eq!(env.lamports(&lister.pubkey()).await, lister_lamports + market_rent);
    assert_eq!(env.token_balance(&lister_token).await, DEPOSIT);
    assert_eq!(env.token_balance(&vault).await, vault_before - DEPOSIT);
    assert!(env.account(&m.market).await.is_none(), "the market is gone");
    // The harness no longer has anything to read there.
    env.markets.retain(|c| c.market != m.market);
    env.books.retain(|b| b.venue.book != book.venue.book);
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn a_market_with_open_positions_cannot_close() {
    let mut env = TestEnv::new().await;
    let Listed { lister, lister_token, market: m, book } = listed_market(&mut env).await;
    let admin = env.admin.insecure_clone();
    let long = env.funded_user(100 * ONE_USDC).await;
    let short = env.funded_user(100 * ONE_USDC).await;
    env.trade(&long, &short, &m, Side::Bid, 10, PRICE).await.unwrap();
    // Shorts pay longs a fraction of a native unit per lot, so the payer's rounding up
    // leaves funding dust in the market's pool, which the close sweeps with the fees.
    let auth = env.funding_authority.insecure_clone();
    let ix = sdk::set_funding_rate(&auth.pubkey(), &env.exchange, &m.market, &m.oracle, -10_000);
    env.process(&[ix], &[&auth]).await.unwrap();
    env.warp(7).await;

    // Neither closes before settlement.
    let ix = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarketNotSettled), "closing an active market").await;
    let ix = orderbook::sdk::close_book(&env.ctx.payer.pubkey(), &book.venue.book, &m.market);
    assert_refused(
        &mut env,
        &[ix],
        &[],
        u32::from(orderbook::error::BookError::MarketNotSettled),
        "closing an active book",
    )
    .await;
    let ix = sdk::settle_final_position(&m.market, &long.margin_account);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarketNotSettled), "closing a position before settlement")
        .await;

    // Settled with one position still open: the market stays.
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, PRICE, PRICE);
    env.process(&[ix], &[&admin]).await.expect("settle at exactly $1");
    env.process(&[sdk::settle_final_position(&m.market, &long.margin_account)], &[]).await.unwrap();
    let ix = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarketNotEmpty), "closing with a short still open").await;
    env.process(&[sdk::settle_final_position(&m.market, &short.margin_account)], &[]).await.unwrap();
    // Long +10 at $1 and short -10 at $1, closed at $1: only the fees moved.
    invariants::check(&mut env).await;
    // The market's book closes first (a book left open would name a re-listed market).
    let ix = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarketNotEmpty), "closing before the book").await;
    env.process(&[orderbook::sdk::close_book(&env.ctx.payer.pubkey(), &book.venue.book, &m.market)], &[])
        .await
        .expect("close book");
    let state = env.market_state(&m.market).await;
    assert!(
        state.fees_accrued > 0 && state.funding_pool > 0,
        "fees {} and funding dust {}",
        state.fees_accrued,
        state.funding_pool
    );
    let fee_balance0 = env.exchange_state().await.fee_balance;
    env.process(
        &[sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token)],
        &[],
    )
    .await
    .expect("close");
    assert_eq!(env.token_balance(&lister_token).await, DEPOSIT);
    assert_eq!(
        env.exchange_state().await.fee_balance - fee_balance0,
        (state.fees_accrued + state.funding_pool) as u64,
        "the close sweeps the fees and the funding dust"
    );
    env.markets.retain(|c| c.market != m.market);
    env.books.retain(|b| b.venue.book != book.venue.book);
    invariants::check(&mut env).await;
}

#[tokio::test]
// Regressions: the book's rent was once locked by closing the market first; then an orphan
// book could trade a re-listed market of the same symbol. Now the book must close first.
async fn the_market_closes_only_after_its_book() {
    let mut env = TestEnv::new().await;
    let Listed { lister, lister_token, market: m, book } = listed_market(&mut env).await;
    let admin = env.admin.insecure_clone();
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &m.oracle, PRICE, PRICE);
    env.process(&[ix], &[&admin]).await.unwrap();
    let close =
        sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &book.venue.book, &env.mint, &lister_token);
    assert_refused(
        &mut env,
        std::slice::from_ref(&close),
        &[],
        code(PerpError::MarketNotEmpty),
        "the book is still open",
    )
    .await;
    let other_book = Keypair::new().pubkey();
    let wrong = sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &other_book, &env.mint, &lister_token);
    assert_refused(&mut env, &[wrong], &[], code(PerpError::WrongAccount), "not the market's book").await;
    let creator = env.ctx.payer.pubkey();
    let fee_payer = Keypair::new();
    env.airdrop(&fee_payer.pubkey(), 1_000_000_000).await;
    let (creator_before, book_rent) = (env.lamports(&creator).await, env.lamports(&book.venue.book).await);
    let ix = orderbook::sdk::close_book(&creator, &book.venue.book, &m.market);
    env.process_paid_by(&[ix], &fee_payer, &[&fee_payer]).await.expect("the book closes");
    assert_eq!(env.lamports(&creator).await, creator_before + book_rent);
    env.process(&[close], &[]).await.expect("then the market closes");
    assert!(env.account(&m.market).await.is_none());
}
