//! `migrate` on the embedded chain, through the same `Chain` interface it uses on a cluster:
//! the example config creates everything the first time, and a second run sends nothing and
//! leaves every byte as it was.
use anchor_lang::prelude::Pubkey;
use client::chain::embedded::EmbeddedChain;
use client::chain::Chain;
use client::harness;
use migrations::{decode, migrate, Keys, MigrateError, MigrationConfig, Options, OracleSpec, Outcome, Report};
use orderbook::state::Book;
use perpetual::sdk;
use perpetual::state::{Exchange, PriceOracle, TraderApproval, PYTH_PROGRAM_IDS};
use perpetual::MarketStatus;
use pyth_sdk_solana::state::PriceStatus;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;

const EXAMPLE: &str = include_str!("../migrate.example.toml");

/// A Pyth legacy price account in its real layout, trading at `price * 10^expo`.
fn pyth_price_account(price: i64, conf: u64, expo: i32, ts: i64) -> Vec<u8> {
    perpetual::sdk::pyth_price_account_bytes(price, conf, expo, ts, PriceStatus::Trading)
}

struct Setup {
    chain: EmbeddedChain,
    config: MigrationConfig,
    keys: Keys,
}

/// A chain with the collateral mint, a funded admin and oracle authority, and the example's
/// Pyth price accounts; the example config pointed at that mint.
async fn setup() -> Setup {
    let mut chain = EmbeddedChain::start().await;
    let payer = chain.payer().pubkey();
    let mint = Keypair::new();
    let space = spl_token_interface::state::Mint::LEN;
    let rent = chain.minimum_balance(space).await.unwrap();
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer,
            &mint.pubkey(),
            rent,
            space as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_mint2(&spl_token_interface::ID, &mint.pubkey(), &payer, None, 6)
            .unwrap(),
    ];
    chain.send(&ixs, &[&mint]).await.expect("create mint");

    let (admin, oracle_authority) = (Keypair::new(), Keypair::new());
    for k in [admin.pubkey(), oracle_authority.pubkey()] {
        chain
            .send(&[solana_system_interface::instruction::transfer(&payer, &k, 100_000_000_000)], &[])
            .await
            .expect("fund");
    }

    let mut config = MigrationConfig::from_toml_str(EXAMPLE).expect("example parses");
    config.exchange.collateral_mint = mint.pubkey();
    let now = chain.unix_time().await.unwrap();
    for m in config.markets.iter().filter(|m| m.oracle == OracleSpec::Pyth) {
        let data = pyth_price_account(150_000_000, 50_000, -6, now);
        chain.set_account(
            &m.pyth_price_account.unwrap(),
            Account { lamports: 1_000_000_000, data, owner: PYTH_PROGRAM_IDS[0], executable: false, rent_epoch: 0 },
        );
    }
    Setup {
        chain,
        config,
        keys: Keys { upgrade_authority: harness::deployer(), admin, oracle_authority: Some(oracle_authority) },
    }
}

fn oracle_of(s: &Setup, m: &migrations::MarketSpec) -> Pubkey {
    match m.oracle {
        OracleSpec::Pyth => m.pyth_price_account.unwrap(),
        OracleSpec::SetPrice => sdk::price_oracle_address(&s.keys.oracle_authority().pubkey(), &m.symbol_bytes()),
        OracleSpec::None => Pubkey::default(),
    }
}

/// Every account the migration touches (books found through their markets).
async fn touched(s: &mut Setup) -> Vec<Pubkey> {
    let mint = s.config.exchange.collateral_mint;
    let exchange = sdk::exchange_address(&mint);
    let mut keys =
        vec![mint, exchange, sdk::vault_address(&exchange), sdk::approval_address(&exchange, &orderbook::ID)];
    for m in s.config.markets.clone() {
        let market = sdk::market_address(&exchange, &m.symbol_bytes());
        keys.push(market);
        keys.push(oracle_of(s, &m));
        let data = s.chain.account_data(&market).await.unwrap();
        if let Some(mk) = client::decode_market(&data) {
            keys.push(mk.book);
        }
    }
    keys
}

async fn snapshot(chain: &mut EmbeddedChain, keys: &[Pubkey]) -> Vec<(Pubkey, Option<Account>)> {
    let mut out = vec![];
    for k in keys {
        out.push((*k, chain.account(k).await.unwrap()));
    }
    out
}

fn outcome<'a>(r: &'a Report, object: &str) -> &'a Outcome {
    &r.entry(object).unwrap_or_else(|| panic!("no entry {object}: {}", r.render())).outcome
}

/// The chain holds exactly what `config` asks for.
async fn assert_matches_config(s: &mut Setup) {
    let c = s.config.clone();
    let admin = s.keys.admin.pubkey();
    let exchange_key = sdk::exchange_address(&c.exchange.collateral_mint);
    let ex: Exchange = decode(&s.chain.account_data(&exchange_key).await.unwrap()).expect("exchange exists");
    assert_eq!(
        (ex.admin, ex.collateral_mint, ex.vault),
        (admin, c.exchange.collateral_mint, sdk::vault_address(&exchange_key))
    );
    assert_eq!(ex.funding_authority, c.exchange.funding_authority.unwrap_or(admin));
    assert_eq!(ex.risk_authority, c.exchange.risk_authority.unwrap_or(admin));
    assert_eq!(ex.pause_guardian, c.exchange.pause_guardian.unwrap_or(admin));
    assert_eq!(ex.deleverage_authority, c.exchange.deleverage_authority.unwrap_or(admin));
    assert_eq!(ex.listing_deposit, c.exchange.listing_deposit);
    assert_eq!(ex.timelock_delay_secs, c.exchange.timelock_delay_secs);
    assert_eq!(ex.collateral_decimals, 6);

    let approval: TraderApproval =
        decode(&s.chain.account_data(&sdk::approval_address(&exchange_key, &orderbook::ID)).await.unwrap())
            .expect("approval");
    assert_eq!((approval.exchange, approval.trader_program, approval.active), (exchange_key, orderbook::ID, 1));

    for m in &c.markets {
        let key = sdk::market_address(&exchange_key, &m.symbol_bytes());
        let mk = client::decode_market(&s.chain.account_data(&key).await.unwrap())
            .unwrap_or_else(|| panic!("market {}", m.symbol));
        assert_eq!(
            (mk.exchange, mk.oracle, mk.symbol, mk.lister),
            (exchange_key, oracle_of(s, m), m.symbol_bytes(), admin)
        );
        assert_eq!(
            (mk.oracle_kind, mk.base_decimals, mk.base_lot_size),
            (m.oracle.kind() as u8, m.base_decimals, m.base_lot_size)
        );
        assert_eq!(
            (mk.oracle_max_age_secs, mk.oracle_max_conf_bps, mk.price_band_bps),
            (m.oracle_max_age_secs, m.oracle_max_conf_bps, m.price_band_bps)
        );
        assert_eq!(
            (mk.init_margin_long_bps, mk.init_margin_short_bps),
            (m.init_margin_long_bps, m.init_margin_short_bps)
        );
        assert_eq!(
            (mk.maint_margin_long_bps, mk.maint_margin_short_bps),
            (m.init_margin_long_bps.div_ceil(2), m.init_margin_short_bps.div_ceil(2))
        );
        assert_eq!((mk.maker_fee_ppm, mk.taker_fee_ppm), (m.maker_fee_ppm, m.taker_fee_ppm));
        assert_eq!(
            (mk.max_funding_rate_ppbh, mk.max_funding_rate_change_ppbh, mk.funding_window_secs),
            (m.max_funding_rate_ppbh, m.max_funding_rate_change_ppbh, m.funding_window_secs)
        );
        assert_eq!(mk.status, MarketStatus::Active as u8);

        if m.oracle == OracleSpec::SetPrice {
            let o: PriceOracle = decode(&s.chain.account_data(&mk.oracle).await.unwrap()).expect("price oracle");
            assert_eq!(
                (o.authority, o.expo, o.symbol),
                (s.keys.oracle_authority().pubkey(), m.oracle_expo, m.symbol_bytes())
            );
        }

        let spec = m.book.as_ref().expect("every example market has a book");
        assert_ne!(mk.book, Pubkey::default(), "perpetual registered the book of {}", m.symbol);
        let account = s.chain.account(&mk.book).await.unwrap().expect("book account");
        assert_eq!(account.owner, orderbook::ID);
        assert_eq!(account.data.len(), Book::space(spec.side_capacity, spec.seat_capacity));
        let b: Book = decode(&account.data).expect("initialised book");
        assert_eq!((b.exchange, b.market, b.oracle), (exchange_key, key, mk.oracle));
        assert_eq!((b.tick_size, b.min_base_lots), (spec.tick_size, spec.min_base_lots));
        assert_eq!(
            (b.side_capacity, b.seat_capacity, b.max_orders_per_account),
            (spec.side_capacity, spec.seat_capacity, spec.max_orders_per_account)
        );
        assert_eq!(b.creator, s.chain.payer().pubkey());
    }
}

#[tokio::test]
async fn creates_everything_once_and_a_second_run_changes_nothing() {
    let mut s = setup().await;
    let before = s.chain.transactions;

    // First run: everything is created.
    let first = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("first run");
    println!("{}", first.render());
    assert!(first.conflicts().is_empty());
    assert_eq!(outcome(&first, "exchange"), &Outcome::Created);
    assert!(matches!(outcome(&first, "listing deposit"), Outcome::Updated(_)));
    assert_eq!(outcome(&first, "trader approval orderbook"), &Outcome::Created);
    assert_eq!(outcome(&first, "oracle SOL-PERP"), &Outcome::Unchanged, "the Pyth account is verified, not created");
    assert_eq!(outcome(&first, "oracle BTC-PERP"), &Outcome::Created);
    for m in &s.config.markets {
        assert_eq!(outcome(&first, &format!("market {}", m.symbol)), &Outcome::Created);
        assert_eq!(outcome(&first, &format!("book {}", m.symbol)), &Outcome::Created);
    }
    // exchange, deposit, approval, BTC oracle, 3 markets, 3 books, the time lock.
    assert!(matches!(outcome(&first, "time lock"), Outcome::Updated(_)));
    assert_eq!(first.transactions, 11);
    assert_eq!(s.chain.transactions - before, 11);
    assert_eq!(s.chain.failed_transactions, 0);
    assert_matches_config(&mut s).await;
    // The report names each book's address, which the market registered.
    let exchange = sdk::exchange_address(&s.config.exchange.collateral_mint);
    for m in &s.config.markets {
        let mk = client::decode_market(
            &s.chain.account_data(&sdk::market_address(&exchange, &m.symbol_bytes())).await.unwrap(),
        )
        .unwrap();
        assert_eq!(first.entry(&format!("book {}", m.symbol)).unwrap().address, mk.book);
    }

    // Second run: nothing to do, nothing sent, every byte the same.
    let keys = touched(&mut s).await;
    let snap = snapshot(&mut s.chain, &keys).await;
    let sent = s.chain.transactions;
    let second = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("second run");
    println!("{}", second.render());
    assert_eq!(second.transactions, 0);
    assert_eq!(s.chain.transactions, sent, "no transaction at all on the second run");
    assert!(!second.changed());
    assert!(second.entries.iter().all(|e| e.outcome == Outcome::Unchanged), "{}", second.render());
    assert_eq!(second.entries.len(), first.entries.len());
    assert_eq!(snapshot(&mut s.chain, &keys).await, snap);
    assert!(snap.iter().all(|(_, a)| a.is_some()));
    assert_matches_config(&mut s).await;
}

#[tokio::test]
async fn later_runs_update_what_the_admin_may_change_and_report_the_rest() {
    let mut s = setup().await;
    // In bootstrap (no time lock) the admin's changes are sent directly.
    s.config.exchange.timelock_delay_secs = 0;
    migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("first run");

    // The admin's fields are updated; margins (the risk authority's) are only reported.
    let new_funding = Pubkey::new_unique();
    s.config.exchange.funding_authority = Some(new_funding);
    s.config.markets[1].taker_fee_ppm = 800;
    s.config.markets[1].funding_window_secs = 3_600;
    s.config.markets[0].init_margin_long_bps = 2_000;
    let sent = s.chain.transactions;
    let r = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("update run");
    println!("{}", r.render());
    assert!(matches!(outcome(&r, "exchange"), Outcome::Updated(d) if d.contains("funding_authority")));
    assert!(
        matches!(outcome(&r, "market BTC-PERP"), Outcome::Updated(d) if d.contains("taker_fee_ppm 700 -> 800") && d.contains("funding_window_secs 7200 -> 3600"))
    );
    assert!(matches!(outcome(&r, "margins SOL-PERP"), Outcome::Drift(_)));
    assert_eq!(outcome(&r, "market SOL-PERP"), &Outcome::Unchanged);
    assert_eq!((r.transactions, s.chain.transactions - sent), (2, 2));
    let exchange = sdk::exchange_address(&s.config.exchange.collateral_mint);
    let ex: Exchange = decode(&s.chain.account_data(&exchange).await.unwrap()).unwrap();
    assert_eq!(ex.funding_authority, new_funding);
    let btc = client::decode_market(
        &s.chain.account_data(&sdk::market_address(&exchange, &sdk::symbol("BTC-PERP"))).await.unwrap(),
    )
    .unwrap();
    assert_eq!((btc.taker_fee_ppm, btc.funding_window_secs), (800, 3_600));

    // What can never change is a conflict, and nothing is sent for it.
    s.config.markets[2].base_lot_size += 1;
    s.config.markets[2].book.as_mut().unwrap().tick_size += 1;
    let sent = s.chain.transactions;
    let r = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("conflict run");
    assert!(matches!(outcome(&r, "market PRE-PERP"), Outcome::Conflict(d) if d.contains("base_lot_size")));
    assert!(matches!(outcome(&r, "book PRE-PERP"), Outcome::Conflict(_)));
    assert_eq!(r.conflicts().len(), 2);
    assert_eq!((r.transactions, s.chain.transactions), (0, sent));

    // Another admin cannot take over an existing exchange.
    let stranger = Keys { upgrade_authority: harness::deployer(), admin: Keypair::new(), oracle_authority: None };
    let err = migrate(&mut s.chain, &s.config, &stranger, Options::default()).await.unwrap_err();
    assert!(matches!(err, MigrateError::Conflict(ref m) if m.contains("admin")), "{err}");
    assert_eq!(s.chain.transactions, sent);
}

#[tokio::test]
async fn a_dry_run_sends_nothing() {
    let mut s = setup().await;
    let sent = s.chain.transactions;
    let plan = migrate(&mut s.chain, &s.config, &s.keys, Options { dry_run: true }).await.expect("dry run");
    println!("{}", plan.render());
    assert!(plan.dry_run && plan.changed());
    assert_eq!((plan.transactions, s.chain.transactions), (0, sent));
    assert_eq!(outcome(&plan, "exchange"), &Outcome::Created);
    for m in &s.config.markets {
        assert_eq!(outcome(&plan, &format!("market {}", m.symbol)), &Outcome::Created);
        assert_eq!(outcome(&plan, &format!("book {}", m.symbol)), &Outcome::Created);
    }
    let exchange = sdk::exchange_address(&s.config.exchange.collateral_mint);
    assert!(s.chain.account(&exchange).await.unwrap().is_none());

    migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("real run");
    let sent = s.chain.transactions;
    let plan = migrate(&mut s.chain, &s.config, &s.keys, Options { dry_run: true }).await.expect("dry run after");
    assert!(!plan.changed());
    assert_eq!(s.chain.transactions, sent);
}

#[tokio::test]
async fn a_missing_mint_is_refused_before_anything_is_sent() {
    let mut s = setup().await;
    s.config.exchange.collateral_mint = Pubkey::new_unique();
    let sent = s.chain.transactions;
    let err = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(s.chain.transactions, sent);
}

#[tokio::test]
async fn a_time_locked_exchange_reports_risky_changes_as_drift() {
    let mut s = setup().await;
    migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("first run");
    s.config.exchange.funding_authority = Some(Pubkey::new_unique());
    s.config.exchange.listing_deposit += 1;
    s.config.markets[1].taker_fee_ppm = 800;
    let sent = s.chain.transactions;
    let r = migrate(&mut s.chain, &s.config, &s.keys, Options::default()).await.expect("run on a locked exchange");
    println!("{}", r.render());
    for object in ["exchange", "listing deposit", "market BTC-PERP"] {
        assert!(
            matches!(outcome(&r, object), Outcome::Drift(d) if d.contains("needs a proposal")),
            "{object}: {}",
            r.render()
        );
    }
    assert_eq!(outcome(&r, "time lock"), &Outcome::Unchanged);
    assert_eq!((r.transactions, s.chain.transactions), (0, sent), "nothing sent");
}
