//! Permissionless listing: defaults, the listing deposit, refusals, the open-interest cap,
//! and one account whose health over many markets is checked in one instruction.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::error::BookError;
use perpetual::error::PerpError;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::sdk::ListMarketArgs;
use perpetual::state::Market;
use perpetual::{Fill, MarketStatus, OracleKind, Side};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

const DEPOSIT: u64 = 1_000 * ONE_USDC;

fn list_args(symbol: &str, kind: OracleKind) -> ListMarketArgs {
    ListMarketArgs {
        symbol: sdk::symbol(symbol),
        oracle_kind: kind,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: 1_000_000,
    }
}

/// A wallet with SOL for rent and `tokens` of collateral, and nothing else.
async fn wallet(env: &mut TestEnv, tokens: u64) -> (Keypair, Pubkey) {
    let k = Keypair::new();
    env.airdrop(&k.pubkey(), 10_000_000_000).await;
    let token = env.create_token_account(&k.pubkey(), tokens).await;
    (k, token)
}

/// A Pyth price account (real layout) at `price * 10^-6`, published now.
async fn pyth_account(env: &mut TestEnv, price: i64) -> Pubkey {
    let key = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&key, price, 0, -6, now, PriceStatus::Trading);
    key
}

fn margins(s: &Market) -> (u16, u16, u16, u16) {
    (s.init_margin_long_bps, s.maint_margin_long_bps, s.init_margin_short_bps, s.maint_margin_short_bps)
}

#[tokio::test]
async fn an_unprivileged_wallet_lists_markets_under_the_listing_defaults() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let (lister, token) = wallet(&mut env, 5_000 * ONE_USDC).await;
    // Only the admin sets the deposit.
    let ix = sdk::set_listing_deposit(&lister.pubkey(), &env.exchange, DEPOSIT);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::NotAdmin), "lister sets the deposit").await;
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, DEPOSIT)], &[&admin]).await.unwrap();
    assert_eq!(env.exchange_state().await.listing_deposit, DEPOSIT);

    // 1. With a Pyth feed at $2.
    let pyth = pyth_account(&mut env, 2_000_000).await;
    let vault = env.vault;
    let (vault_before, lamports_before) =
        (env.token_balance(&vault).await, env.account(&lister.pubkey()).await.unwrap().lamports);
    let m = env
        .list_market(&lister, &token, pyth, list_args("PEPE", OracleKind::PythLegacy))
        .await
        .expect("list with Pyth");
    let s = env.market_state(&m.market).await;
    assert_eq!(s.symbol_str(), "PEPE");
    assert_eq!((s.oracle, s.oracle_kind, s.lister), (pyth, OracleKind::PythLegacy as u8, lister.pubkey()));
    // Under 90 days of history: 40% initial and 20% maintenance on both sides.
    assert_eq!(margins(&s), (4_000, 2_000, 4_000, 2_000));
    assert_eq!((s.listing_deposit, s.listed_permissionless, s.status), (DEPOSIT, 1, MarketStatus::Active as u8));
    assert_eq!(s.open_interest_cap_lots, 10_000, "listing open-interest cap");
    assert_eq!((s.oracle_max_age_secs, s.oracle_max_conf_bps, s.price_band_bps), (60, 200, 500));
    assert_eq!(s.margins_updated_ts, 0, "the risk authority may set margins at once");
    // The deposit moved from the lister into the vault; the lister paid the rent.
    assert_eq!(env.token_balance(&token).await, 4_000 * ONE_USDC);
    assert_eq!(env.token_balance(&vault).await, vault_before + DEPOSIT);
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(Market::SPACE);
    let lamports_after = env.account(&lister.pubkey()).await.unwrap().lamports;
    assert_eq!(lamports_before - lamports_after, rent, "the lister pays exactly the market's rent");
    // The feed is read in its real layout: $2 per lot.
    env.process(&[sdk::update_funding(&m.market, &pyth)], &[]).await.unwrap();
    assert_eq!(env.market_state(&m.market).await.index_price.get(), I80F48::from_num(2_000_000));

    // 2. Without a spot index: longs disabled (100%), shorts 80% (40% maintenance).
    let n = env
        .list_market(&lister, &token, Pubkey::default(), list_args("NOIDX", OracleKind::None))
        .await
        .expect("list without index");
    let s = env.market_state(&n.market).await;
    assert_eq!((s.oracle, s.oracle_kind), (Pubkey::default(), OracleKind::None as u8));
    assert_eq!(margins(&s), (10_000, 5_000, 8_000, 4_000));
    assert_eq!(s.listing_deposit, DEPOSIT);
    assert_eq!(env.token_balance(&token).await, 3_000 * ONE_USDC);
    // Longs are disabled there: a bid may not even rest.
    let trader = env.funded_user(1_000 * ONE_USDC).await;
    let ix = env.reserve_ix(&trader, &n, 1, 0).await;
    assert_refused(&mut env, &[ix], &[&trader.owner], code(PerpError::SideDisabled), "a bid on the no-index market")
        .await;

    // The book is created with it, by the lister; nobody else, and only one.
    let stranger = Keypair::new();
    env.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let r = env.create_book_as(&m, book_args(64, 16), &stranger).await.map(|_| ()).unwrap_err();
    assert_eq!(custom_code(&r), Some(u32::from(BookError::NotAdmin)));
    let book = env.create_book_as(&m, book_args(64, 16), &lister).await.expect("the lister creates the book");
    assert_eq!(env.market_state(&m.market).await.book, book.venue.book);
    let r = env.create_book_as(&m, book_args(64, 16), &lister).await.map(|_| ()).unwrap_err();
    assert_eq!(custom_code(&r), Some(code(PerpError::BookAlreadyRegistered)));
    env.create_book_as(&n, book_args(64, 16), &lister).await.expect("and for the market without index");

    // Refusals, each leaving every account as it was (tokens included).
    let list = |symbol: &str, kind: OracleKind, oracle: Pubkey, env: &TestEnv| {
        sdk::list_market(&lister.pubkey(), &env.exchange, &env.mint, &token, &oracle, list_args(symbol, kind))
    };
    let ix = list("PEPE", OracleKind::PythLegacy, pyth, &env);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::AccountAlreadyInitialized), "duplicate symbol").await;
    let ix = list("PEPE", OracleKind::None, Pubkey::default(), &env);
    assert_refused(
        &mut env,
        &[ix],
        &[&lister],
        code(PerpError::AccountAlreadyInitialized),
        "duplicate symbol, other kind",
    )
    .await;
    let ix = list("FAKE", OracleKind::PythLegacy, token, &env);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::WrongOwner), "not a Pyth account").await;
    let ix = list("FAKE", OracleKind::None, pyth, &env);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::WrongOracle), "no-index market naming an oracle").await;
    let ix = list("FAKE", OracleKind::SetPrice, pyth, &env);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::InvalidOracleAccount), "settable oracle by a lister")
        .await;

    // Paused exchange: refused; unpaused: accepted.
    let guardian = env.guardian.insecure_clone();
    env.process(&[sdk::set_exchange_paused(&guardian.pubkey(), &env.exchange, true)], &[&guardian]).await.unwrap();
    let ix = list("LATER", OracleKind::PythLegacy, pyth, &env);
    assert_refused(&mut env, &[ix], &[&lister], code(PerpError::ExchangePaused), "paused").await;
    env.process(&[sdk::set_exchange_paused(&admin.pubkey(), &env.exchange, false)], &[&admin]).await.unwrap();
    env.list_market(&lister, &token, pyth, list_args("LATER", OracleKind::PythLegacy)).await.expect("after unpausing");
    assert_eq!(env.token_balance(&token).await, 2_000 * ONE_USDC);

    // The vault equation counts the three listing deposits.
    let t = invariants::check(&mut env).await;
    assert_eq!(t.ledger.listing_deposits, 3 * DEPOSIT as i128);
    for b in env.books.clone() {
        check_book(&mut env, &b).await;
    }
}

#[tokio::test]
async fn the_open_interest_cap_is_enforced_and_the_risk_authority_raises_it() {
    let mut env = TestEnv::new().await;
    let (lister, token) = wallet(&mut env, 0).await;
    let pyth = pyth_account(&mut env, 1_000_000).await;
    let m = env.list_market(&lister, &token, pyth, list_args("PEPE", OracleKind::PythLegacy)).await.unwrap();
    let long = env.funded_user(10_000 * ONE_USDC).await;
    let short = env.funded_user(10_000 * ONE_USDC).await;
    let price = 1_000_000;
    // 9_990 lots at $1: 40% initial is 3_996 USDC a side.
    env.trade(&long, &short, &m, Side::Bid, 9_990, price).await.unwrap();
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 9_990);

    // 11 more would make 10_001 longs: refused. 10 make exactly the cap: accepted.
    env.reserve(&short, &m, 0, 11).await.unwrap();
    let fill = |lots| vec![Fill { maker_index: 0, taker_side: Side::Bid, base_lots: lots, price_per_lot: price }];
    let ix = env.settle_ix(&long, &m, &[short.margin_account], fill(11), vec![], 0, 0).await;
    assert_refused(&mut env, &[ix], &[&long.owner], code(PerpError::OpenInterestCapExceeded), "10_001 lots").await;
    let ix = env.settle_ix(&long, &m, &[short.margin_account], fill(10), vec![], 0, 0).await;
    env.process(&[ix], &[&long.owner]).await.expect("exactly the cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 10_000);
    let ix = env.settle_ix(&long, &m, &[short.margin_account], fill(1), vec![], 0, 0).await;
    assert_refused(
        &mut env,
        std::slice::from_ref(&ix),
        &[&long.owner],
        code(PerpError::OpenInterestCapExceeded),
        "one over the cap",
    )
    .await;

    // A trade that lowers open interest passes at the cap.
    env.trade(&long, &short, &m, Side::Ask, 5, price).await.expect("reducing at the cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 9_995);
    env.trade(&long, &short, &m, Side::Bid, 5, price).await.expect("back to the cap");

    // Only the risk authority raises it; then the refused fill passes.
    let ix_cap = sdk::set_open_interest_cap(&lister.pubkey(), &env.exchange, &m.market, 20_000);
    assert_refused(&mut env, &[ix_cap], &[&lister], code(PerpError::NotRiskAuthority), "the lister raises the cap")
        .await;
    let risk = env.risk_authority.insecure_clone();
    env.process(&[sdk::set_open_interest_cap(&risk.pubkey(), &env.exchange, &m.market, 20_000)], &[&risk])
        .await
        .unwrap();
    assert_eq!(env.market_state(&m.market).await.open_interest_cap_lots, 20_000);
    env.process(&[ix], &[&long.owner]).await.expect("under the raised cap");
    assert_eq!(env.market_state(&m.market).await.open_interest_lots, 10_001);
    invariants::check(&mut env).await;
}

fn compute_budget() -> Instruction {
    solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(1_400_000)
}

/// Health accounts without oracles: each market priced from its cached index.
async fn markets_only(env: &mut TestEnv, user: &UserCookie) -> Vec<AccountMeta> {
    let (_, positions) = env.margin(&user.margin_account).await;
    sdk::health_metas(&positions, &[], |_| None)
}

fn withdraw_ix(env: &TestEnv, user: &UserCookie, amount: u64, health: Vec<AccountMeta>) -> Instruction {
    sdk::withdraw(&user.key(), &env.exchange, &env.mint, &user.margin_account, &user.token_account, amount, health)
}

#[tokio::test]
async fn one_withdraw_checks_health_over_many_markets_within_solana_limits() {
    let mut env = TestEnv::new().await;
    let user = env.funded_user(1_000 * ONE_USDC).await;
    let other = env.funded_user(100_000 * ONE_USDC).await;
    for u in [&user, &other] {
        let ix = sdk::resize_margin_account(&u.key(), &env.exchange, &u.margin_account, 64);
        env.process(&[ix], &[&u.owner]).await.unwrap();
    }
    let price = 1_000_000;
    let mut max_positions = 0;
    let mut max_with_budget = 0;
    for n in 1..=64usize {
        // One more market, and one more long position (10 lots at $1, 1 USDC initial margin).
        let m = env.create_market(&format!("M{n:02}"), price as i64).await;
        env.trade_compact(&user, &other, &m, Side::Bid, 10, price).await.unwrap();
        let health = markets_only(&mut env, &user).await;
        assert_eq!(health.len(), n, "one account per position");
        let ix = withdraw_ix(&env, &user, ONE_USDC, health.clone());
        let (size, locked) = env.measure(std::slice::from_ref(&ix), &user.owner).await;
        let (size_b, locked_b) = env.measure(&[compute_budget(), ix.clone()], &user.owner).await;
        let fits = size <= 1_232 && locked <= 64;
        if fits {
            max_positions = n;
        }
        if size_b <= 1_232 && locked_b <= 64 {
            max_with_budget = n;
        }
        if n == 16 {
            println!("16 positions: withdraw is {size} bytes and locks {locked} accounts ({size_b} / {locked_b} with a compute-budget instruction)");
            assert!(size_b <= 1_232 && locked_b <= 64, "16 positions do not fit: {size_b} bytes, {locked_b} accounts");
            // With an oracle per market the same check does not fit.
            let with_oracles = env.health_metas(&user.margin_account, &[]).await;
            assert_eq!(with_oracles.len(), 32);
            let ix_o = withdraw_ix(&env, &user, ONE_USDC, with_oracles);
            let (size_o, _) = env.measure(&[ix_o], &user.owner).await;
            println!("16 positions with oracles: {size_o} bytes");
            assert!(size_o > 1_232);

            // The check is real: every market's cached index must be fresh, ...
            env.warp(61).await;
            assert_refused(
                &mut env,
                std::slice::from_ref(&ix),
                &[&user.owner],
                code(PerpError::StaleOracle),
                "stale cached index",
            )
            .await;
            for c in env.markets.clone() {
                env.set_price(&c, price as i64).await;
                env.process(&[sdk::update_funding(&c.market, &c.oracle)], &[]).await.unwrap();
            }
            // ... and a withdrawal beyond initial margin is refused. Collateral is
            // 1_000 - 160 - fees (500 ppm of 160 = 0.08) = 839.92 USDC, positions worth 160
            // need 16: at most 983.92 USDC may leave.
            let too_much = withdraw_ix(&env, &user, 983_920_001, health.clone());
            assert_refused(
                &mut env,
                &[too_much],
                &[&user.owner],
                code(PerpError::InsufficientInitialMargin),
                "beyond initial margin",
            )
            .await;
            let exact = withdraw_ix(&env, &user, 983_920_000 - 100 * ONE_USDC, health);
            env.process(&[exact], &[&user.owner]).await.expect("16 markets checked in one instruction");
        }
        if !fits {
            break;
        }
    }
    println!("largest number of positions one withdraw checks in a legacy transaction: {max_positions} ({max_with_budget} with a compute-budget instruction)");
    assert!(max_with_budget >= 16 && max_positions >= max_with_budget);

    // And at that size it runs: the account now holds max_positions + 1 positions, so
    // close the last market's position first.
    let last = *env.markets.last().unwrap();
    env.set_price(&last, price as i64).await;
    env.trade_compact(&user, &other, &last, Side::Ask, 10, price).await.unwrap();
    for c in env.markets.clone() {
        env.set_price(&c, price as i64).await;
        env.process(&[sdk::update_funding(&c.market, &c.oracle)], &[]).await.unwrap();
    }
    let health = markets_only(&mut env, &user).await;
    assert_eq!(health.len(), max_positions);
    let ix = withdraw_ix(&env, &user, ONE_USDC, health);
    let (size, locked) = env.measure(std::slice::from_ref(&ix), &user.owner).await;
    assert!(size <= 1_232 && locked <= 64);
    env.process(&[ix], &[&user.owner]).await.expect("the largest health check runs");
    invariants::check(&mut env).await;
}

/// Thousands of markets need every global account to stay the same size: each market (and
/// its book) is its own account. Listing 48 markets, each with a book, leaves the exchange,
/// its vault and the order book's trader approval exactly as large as they were.
#[tokio::test]
async fn no_global_account_grows_with_the_number_of_markets() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, DEPOSIT)], &[&admin]).await.unwrap();
    let globals = [env.exchange, env.vault, sdk::approval_address(&env.exchange, &orderbook::ID)];
    let mut sizes = vec![];
    for k in globals {
        sizes.push(env.account_data(&k).await.len());
    }
    let (lister, token) = wallet(&mut env, 100 * DEPOSIT).await;
    for i in 0..48 {
        let m = env
            .list_market(&lister, &token, Pubkey::default(), list_args(&format!("M{i}"), OracleKind::None))
            .await
            .expect("listed");
        env.create_book(&m, book_args(64, 16)).await;
    }
    for (k, size) in globals.iter().zip(sizes) {
        assert_eq!(env.account_data(k).await.len(), size, "{k} kept its size over 48 markets");
    }
    assert_eq!(env.exchange_state().await.listing_deposit, DEPOSIT);
}
