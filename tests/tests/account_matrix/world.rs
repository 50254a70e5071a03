//! The prepared world: every account a row may substitute, and one valid instruction per instruction.
use super::*;

// ---------------------------------------------------------------------------------------
// The prepared world
// ---------------------------------------------------------------------------------------

pub(super) struct Base {
    pub(super) key: &'static str,
    pub(super) ix: Instruction,
    pub(super) slots: Vec<String>,
    /// Whether the unmutated instruction must succeed (checked by simulation). Variants that
    /// re-initialise, and direct calls that need a CPI signature, are not.
    pub(super) valid: bool,
    /// Index of the first health account, and the slot of the margin account they price.
    pub(super) health: Option<(usize, &'static str)>,
    /// (market, oracle) the instruction itself takes, for `IncludeOwnMarket`.
    pub(super) own_market: Option<(Pubkey, Pubkey)>,
    /// Rows run in phases; between them the world changes (phase 1: the insurance fund is
    /// emptied, which deleveraging requires).
    pub(super) phase: u8,
    /// A variant whose own slots the coverage check also requires rows for.
    pub(super) cover: bool,
}

impl Base {
    pub(super) fn index(&self, slot: &str) -> usize {
        self.slots
            .iter()
            .position(|s| s == slot)
            .unwrap_or_else(|| panic!("{}: no slot {slot} in {:?}", self.key, self.slots))
    }
}

pub(super) struct World {
    pub(super) env: TestEnv,
    pub(super) sol: MarketCookie,
    pub(super) eth: MarketCookie,
    pub(super) a: UserCookie,
    pub(super) m: UserCookie,
    pub(super) empty: UserCookie,
    pub(super) delegate: Keypair,
    pub(super) pending: Keypair,
    pub(super) mallory: Keypair,
    pub(super) wallet: Keypair,
    pub(super) admin2: Keypair,
    /// `perpetual`'s upgrade authority.
    pub(super) deployer: Keypair,
    pub(super) other_program_data: Pubkey,
    pub(super) mint2: Pubkey,
    pub(super) mint3: Pubkey,
    pub(super) exchange2: Pubkey,
    pub(super) market2: Pubkey,
    pub(super) margin2: Pubkey,
    pub(super) approval2: Pubkey,
    pub(super) approval_other: Pubkey,
    pub(super) token2: Pubkey,
    pub(super) missing: Pubkey,
    /// Clones owned by another program, by original key.
    pub(super) clones: HashMap<Pubkey, Pubkey>,
    /// Fabricated margin accounts, by (original, market replaced, replacement).
    pub(super) fabricated: HashMap<(Pubkey, Pubkey, Pubkey), Pubkey>,
    pub(super) x: Extra,
}

/// The accounts of the instructions added after the first 24.
pub(super) struct Extra {
    /// Maker of the small positions everyone below holds in SOL and ETH.
    pub(super) mk: UserCookie,
    /// The BOOK market's book: `b` rests a bid (key `b_key`, client id 7), `bm` an ask (of
    /// which `bt` took one lot).
    pub(super) bk: BookCookie,
    pub(super) b: UserCookie,
    pub(super) b_key: u128,
    pub(super) bm: UserCookie,
    /// The RSK market ($0.85 after a fall from $1) and its book (`bd` bids 1 lot at 0.85).
    pub(super) rsk: BookCookie,
    /// Long 150 RSK: below maintenance, not underwater.
    pub(super) lq: UserCookie,
    /// Long 100 RSK: underwater.
    pub(super) uw: UserCookie,
    /// Short both: the counterparty.
    pub(super) cp: UserCookie,
    /// A liquidator without positions.
    pub(super) lr: UserCookie,
    pub(super) bd: UserCookie,
    pub(super) keeper: Keypair,
    /// FIN: in final settlement; `fl` is still long (its book is `s.fin_book`).
    pub(super) fin: MarketCookie,
    pub(super) fl: UserCookie,
    /// CLOS: listed by `lister`, settled, empty; its book was paid by `creator`.
    pub(super) clos: BookCookie,
    pub(super) lister: Keypair,
    pub(super) lister_token: Pubkey,
    pub(super) creator: Keypair,
    pub(super) pyth: Pubkey,
    pub(super) pyth_garbage: Pubkey,
    pub(super) admin_token: Pubkey,
    /// A zeroed account the size of a (16, 16) book, owned by the order book.
    pub(super) zero_book: Pubkey,
    /// SEAT: the relay is its registered book. `st` may sell 5 lots at $1 from its seat and
    /// has sold 2 of them to `tk` (pending in the seat); both hold small SOL and ETH positions.
    pub(super) seat: MarketCookie,
    pub(super) st: UserCookie,
    pub(super) tk: UserCookie,
    /// Took one lot of `bm`'s ask in BOOK: pending in `bm`'s seat.
    pub(super) bt: UserCookie,
    /// The seats of the seat instructions (`book_bases.rs`).
    pub(super) s: SeatWorld,
    /// FBK: a market with a fallback oracle (`fbk_fallback`), for the oracle instructions.
    pub(super) fbk: MarketCookie,
    pub(super) fbk_fallback: Pubkey,
}

/// The owner of the foreign-owned clones: another program.
pub(super) const FOREIGN_OWNER: Pubkey = test_trader::ID;

pub(super) async fn create_mint(env: &mut TestEnv) -> Pubkey {
    let mint = Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let rent = env.ctx.banks_client.get_rent().await.unwrap();
    let space = spl_token_interface::state::Mint::LEN;
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer,
            &mint.pubkey(),
            rent.minimum_balance(space),
            space as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_mint2(
            &spl_token_interface::ID,
            &mint.pubkey(),
            &env.mint_authority.pubkey(),
            None,
            COLLATERAL_DECIMALS,
        )
        .unwrap(),
    ];
    env.process(&ixs, &[&mint]).await.expect("create mint");
    mint.pubkey()
}

pub(super) async fn create_token_account(env: &mut TestEnv, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
    let account = Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let rent = env.ctx.banks_client.get_rent().await.unwrap();
    let space = spl_token_interface::state::Account::LEN;
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer,
            &account.pubkey(),
            rent.minimum_balance(space),
            space as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, &account.pubkey(), mint, owner)
            .unwrap(),
    ];
    env.process(&ixs, &[&account]).await.expect("token account");
    account.pubkey()
}

pub(super) async fn funded(env: &mut TestEnv) -> Keypair {
    let k = Keypair::new();
    env.airdrop(&k.pubkey(), 100_000_000_000).await;
    k
}

pub(super) async fn world() -> World {
    let mut pt = TestEnv::program_test();
    pt.add_program("relay", RELAY_ID, solana_program_test::processor!(relay_entry));
    let mut env = TestEnv::with_program_test(pt).await;
    let sol = env.create_market("SOL", PRICE).await;
    let eth = env.create_market("ETH", PRICE).await;
    let btc = env.create_market("BTC", PRICE).await;
    let a = env.funded_user(1_000 * ONE_USDC).await;
    let m = env.funded_user(10_000 * ONE_USDC).await;
    let empty = env.create_user(0).await;
    // `a` holds positions in SOL, ETH and BTC (slots 0, 1, 2); the maker rests asks in SOL.
    for market in [sol, eth, btc] {
        env.trade(&a, &m, &market, Side::Bid, 10, PRICE as u64).await.expect("trade");
    }
    env.reserve(&m, &sol, 0, 10).await.expect("maker asks");

    // Tokens left in `a`'s wallet for the deposit.
    let mint_authority = env.mint_authority.insecure_clone();
    let ix = spl_token_interface::instruction::mint_to(
        &spl_token_interface::ID,
        &env.mint,
        &a.token_account,
        &mint_authority.pubkey(),
        &[],
        10 * ONE_USDC,
    )
    .unwrap();
    env.process(&[ix], &[&mint_authority]).await.expect("mint to a");

    let delegate = Keypair::new();
    let ix = sdk::set_delegate(&a.key(), &env.exchange, &a.margin_account, delegate.pubkey());
    env.process(&[ix], &[&a.owner]).await.expect("delegate");
    let pending = Keypair::new();
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::propose_admin(&admin.pubkey(), &env.exchange, pending.pubkey())], &[&admin])
        .await
        .expect("propose");
    let mallory = funded(&mut env).await;
    let wallet = funded(&mut env).await;

    // A second exchange (its own mint, admin and authorities) with a market on the same
    // oracle as SOL, a margin account of `a` and the test trader approved.
    let admin2 = funded(&mut env).await;
    let mint2 = create_mint(&mut env).await;
    let args = InitializeExchangeArgs {
        funding_authority: Pubkey::new_unique(),
        risk_authority: Pubkey::new_unique(),
        pause_guardian: Pubkey::new_unique(),
        deleverage_authority: Pubkey::new_unique(),
    };
    let deployer = harness::deployer();
    let ix = sdk::initialize_exchange(&deployer.pubkey(), &admin2.pubkey(), &mint2, args);
    env.process(&[ix], &[&admin2, &deployer]).await.expect("exchange 2");
    // Another program's ProgramData naming mallory: what a stranger who deploys a program
    // of their own holds.
    let (other_program_data, account) = harness::program_data_account(&Pubkey::new_unique(), Some(mallory.pubkey()));
    env.ctx.set_account(&other_program_data, &account.into());
    let exchange2 = sdk::exchange_address(&mint2);
    env.process(&[sdk::approve_trader(&admin2.pubkey(), &exchange2, &test_trader::ID)], &[&admin2])
        .await
        .expect("approve 2");
    let approval2 = sdk::approval_address(&exchange2, &test_trader::ID);
    env.process(
        &[sdk::create_market(&admin2.pubkey(), &exchange2, &sol.oracle, market_args("SOL", OracleKind::SetPrice))],
        &[&admin2],
    )
    .await
    .expect("market 2");
    let market2 = sdk::market_address(&exchange2, &sdk::symbol("SOL"));
    env.process(&[sdk::create_margin_account(&a.key(), &exchange2, 0, 16)], &[&a.owner]).await.expect("margin 2");
    let margin2 = sdk::margin_account_address(&exchange2, &a.key(), 0);
    let token2 = create_token_account(&mut env, &mint2, &a.key()).await;
    // Another executable program approved on the main exchange.
    env.process(&[sdk::approve_trader(&admin.pubkey(), &env.exchange, &spl_token_interface::ID)], &[&admin])
        .await
        .expect("approve other");
    let approval_other = sdk::approval_address(&env.exchange, &spl_token_interface::ID);
    let mint3 = create_mint(&mut env).await;
    // Fresh prices for every market (and, through SOL's oracle, for market 2).
    for market in [sol, eth, btc] {
        env.set_price(&market, PRICE).await;
    }
    let x = extra_world(&mut env, sol, eth).await;
    World {
        env,
        sol,
        eth,
        a,
        m,
        empty,
        delegate,
        pending,
        mallory,
        wallet,
        admin2,
        deployer,
        other_program_data,
        mint2,
        mint3,
        exchange2,
        market2,
        margin2,
        approval2,
        approval_other,
        token2,
        missing: Pubkey::new_unique(),
        clones: HashMap::new(),
        fabricated: HashMap::new(),
        x,
    }
}

pub(super) const ZERO_BOOK_ARGS: CreateBookArgs = CreateBookArgs {
    tick_size: TICK,
    min_base_lots: 1,
    side_capacity: 16,
    seat_capacity: 16,
    max_orders_per_account: 16,
};
pub(super) const LISTING_DEPOSIT: u64 = 5 * ONE_USDC;

/// A book for `market` signed by `authority`, its account paid for by `payer`.
pub(super) async fn book_paid_by(
    env: &mut TestEnv,
    market: &MarketCookie,
    authority: &Keypair,
    payer: &Keypair,
) -> BookCookie {
    let book = Keypair::new();
    let args = book_args(64, 64);
    let space = orderbook::state::Book::space(args.side_capacity, args.seat_capacity);
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
    let ixs = orderbook::sdk::create_book(
        &payer.pubkey(),
        &authority.pubkey(),
        &env.exchange,
        &market.market,
        &book.pubkey(),
        rent,
        args,
    );
    env.process(&ixs, &[authority, payer, &book]).await.expect("create book");
    let cookie = BookCookie {
        venue: orderbook::sdk::Venue {
            book: book.pubkey(),
            market: market.market,
            oracle: market.oracle,
            exchange: env.exchange,
        },
        market: *market,
    };
    env.books.push(cookie);
    cookie
}

pub(super) async fn extra_world(env: &mut TestEnv, sol: MarketCookie, eth: MarketCookie) -> Extra {
    let admin = env.admin.insecure_clone();
    let p = PRICE as u64;
    env.process(&[sdk::approve_trader(&admin.pubkey(), &env.exchange, &RELAY_ID)], &[&admin])
        .await
        .expect("approve the relay");
    let mk = env.funded_user(100_000 * ONE_USDC).await;

    // BOOK: b rests a bid (client id 7), bm an ask.
    let bk = env.market_with_book("BOOK", 64).await;
    let b = env.funded_user(1_000 * ONE_USDC).await;
    for market in [sol, eth] {
        env.trade(&b, &mk, &market, Side::Bid, 1, p).await.expect("b's small positions");
    }
    let mut args = order(BookSide::Bid, 95, 2, OrderType::PostOnly);
    args.client_order_id = 7;
    let b_key = env.place(&b, &bk, args).await.expect("b rests a bid").key;
    assert_ne!(b_key, 0);
    let bm = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&bm, &bk, BookSide::Ask, 105, 5).await;
    let bt = env.funded_user(1_000 * ONE_USDC).await;
    let took = env.place(&bt, &bk, order(BookSide::Bid, 105, 1, OrderType::ImmediateOrCancel)).await;
    assert_eq!(took.expect("bt takes one lot of bm's ask").filled, 1);

    // RSK: lq and uw long against cp at $1, then the price falls to $0.85.
    let creator = funded(env).await;
    let mut margs = market_args("RSK", OracleKind::SetPrice);
    margs.price_band_bps = 2_500;
    let rsk_market = env.create_market_with(margs, PRICE).await;
    let rsk = book_paid_by(env, &rsk_market, &admin, &creator).await;
    let cp = env.funded_user(10_000 * ONE_USDC).await;
    let lq = env.funded_user(25 * ONE_USDC).await;
    let uw = env.funded_user(12 * ONE_USDC).await;
    for u in [&lq, &uw] {
        for market in [sol, eth] {
            env.trade(u, &mk, &market, Side::Bid, 1, p).await.expect("small positions");
        }
    }
    env.trade(&lq, &cp, &rsk_market, Side::Bid, 150, p).await.expect("lq long");
    env.trade(&uw, &cp, &rsk_market, Side::Bid, 100, p).await.expect("uw long");
    let lr = env.funded_user(1_000 * ONE_USDC).await;
    let bd = env.funded_user(1_000 * ONE_USDC).await;
    let keeper = funded(env).await;

    // Insurance: 100 USDC; the admin's token account for withdrawals.
    let insurer = env.create_user(100 * ONE_USDC).await;
    let ix = sdk::deposit_insurance(&insurer.key(), &env.exchange, &env.mint, &insurer.token_account, 100 * ONE_USDC);
    env.process(&[ix], &[&insurer.owner]).await.expect("insurance");
    let admin_token = env.create_token_account(&admin.pubkey(), 0).await;

    // FIN: fl long 1 lot, then final settlement at $1.
    let fin = env.create_market("FIN", PRICE).await;
    let fl = env.funded_user(100 * ONE_USDC).await;
    env.trade(&fl, &mk, &fin, Side::Bid, 1, p).await.expect("fl long");
    let (fin_book, fs, fv) = settle_fin(env, &fin, &creator).await;

    // CLOS: listed on a Pyth feed, its book paid by `creator`, settled with nothing open.
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, LISTING_DEPOSIT)], &[&admin])
        .await
        .expect("deposit");
    // Proposal 0, for cancel_proposal (the exchange stays in bootstrap: no time lock).
    let proposal = governance::payload(governance::GovAction::SetListingDeposit, &env.exchange, &LISTING_DEPOSIT);
    env.process(&[sdk::queue_proposal(&admin.pubkey(), &env.exchange, 0, proposal)], &[&admin])
        .await
        .expect("proposal 0");
    let lister = funded(env).await;
    let lister_token = env.create_token_account(&lister.pubkey(), 2 * LISTING_DEPOSIT).await;
    let pyth = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&pyth, PRICE, 0, -6, now, PriceStatus::Trading);
    let largs = ListMarketArgs {
        symbol: sdk::symbol("CLOS"),
        oracle_kind: OracleKind::PythLegacy,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: p,
    };
    let clos_market = env.list_market(&lister, &lister_token, pyth, largs).await.expect("listing");
    let clos = book_paid_by(env, &clos_market, &lister, &creator).await;
    let ix = sdk::final_settle_market(&admin.pubkey(), &env.exchange, &clos_market.market, &pyth, p, p);
    env.process(&[ix], &[&admin]).await.expect("settle CLOS");
    let pyth_garbage = Pubkey::new_unique();
    let garbage = Account {
        lamports: 1_000_000_000,
        data: vec![7; 3_312],
        owner: integration_tests::pyth::PYTH_PROGRAM,
        executable: false,
        rent_epoch: 0,
    };
    env.ctx.set_account(&pyth_garbage, &garbage.into());

    // A zeroed account for create_book.
    let zero = Keypair::new();
    let space = orderbook::state::Book::space(ZERO_BOOK_ARGS.side_capacity, ZERO_BOOK_ARGS.seat_capacity);
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(space);
    let payer = env.ctx.payer.pubkey();
    let ix = solana_system_interface::instruction::create_account(
        &payer,
        &zero.pubkey(),
        rent,
        space as u64,
        &orderbook::ID,
    );
    env.process(&[ix], &[&zero]).await.expect("zeroed book account");

    let (seat, st, tk) = relay_seat_world(env, &mk, [sol, eth]).await;

    // The fall, then a thin bid in RSK's book.
    let rv = risky_seat(env, &rsk, &mk, &cp, [sol, eth]).await;
    env.set_price(&rsk_market, 850_000).await;
    env.rest(&bd, &rsk, BookSide::Bid, 85, 1).await;
    let (rcl, rc, idle) = idle_books(env, &creator).await;
    let (fbk, fbk_fallback) = market_with_fallback(env).await;
    Extra {
        mk,
        bk,
        b,
        b_key,
        bm,
        rsk,
        lq,
        uw,
        cp,
        lr,
        bd,
        keeper,
        fin,
        fl,
        clos,
        lister,
        lister_token,
        creator,
        pyth,
        pyth_garbage,
        admin_token,
        zero_book: zero.pubkey(),
        seat,
        st,
        tk,
        bt,
        s: SeatWorld { fin_book, fs, fv, rv, rcl, rc, idle },
        fbk,
        fbk_fallback,
    }
}

/// FBK on a settable oracle, with a second settable oracle as its fallback.
async fn market_with_fallback(env: &mut TestEnv) -> (MarketCookie, Pubkey) {
    let fbk = env.create_market("FBK", PRICE).await;
    let auth = env.oracle_authority.insecure_clone();
    let symbol = sdk::symbol("FBK-FB");
    env.process(&[sdk::create_price_oracle(&auth.pubkey(), symbol, -6)], &[&auth]).await.expect("fallback oracle");
    let fallback = sdk::price_oracle_address(&auth.pubkey(), &symbol);
    env.process(&[sdk::set_oracle_price(&auth.pubkey(), &fallback, PRICE, 0)], &[&auth]).await.expect("price");
    let admin = env.admin.insecure_clone();
    let ix = sdk::set_oracle(&admin.pubkey(), &env.exchange, &fbk.market, fallback_args(fallback));
    env.process(&[ix], &[&admin]).await.expect("set the fallback");
    (fbk, fallback)
}

pub(super) fn fallback_args(oracle: Pubkey) -> sdk::SetOracleArgs {
    sdk::SetOracleArgs {
        slot: perpetual::OracleSlot::Fallback,
        oracle,
        kind: OracleKind::SetPrice,
        feed_id: None,
        max_age_secs: 120,
        max_conf_bps: 300,
    }
}

pub(super) fn names(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

pub(super) fn health_names(prefix: &[&str], n: usize) -> Vec<String> {
    let mut v = names(prefix);
    v.extend((0..n).map(|i| format!("health[{i}]")));
    v
}

pub(super) fn base(key: &'static str, ix: Instruction, slots: Vec<String>) -> Base {
    Base { key, ix, slots, valid: true, health: None, own_market: None, phase: 0, cover: false }
}

pub(super) async fn bases(w: &mut World) -> Vec<Base> {
    let env = &mut w.env;
    let (exchange, mint) = (env.exchange, env.mint);
    let admin = env.admin.pubkey();
    let guardian = env.guardian.pubkey();
    let risk = env.risk_authority.pubkey();
    let funding = env.funding_authority.pubkey();
    let oracle_auth = env.oracle_authority.pubkey();
    let (sol, a, m) = (w.sol, &w.a, &w.m);
    let owner = a.key();
    let mut v = Vec::new();

    let init_args = InitializeExchangeArgs {
        funding_authority: funding,
        risk_authority: risk,
        pause_guardian: guardian,
        deleverage_authority: Pubkey::new_unique(),
    };
    let init_slots = names(&[
        "upgrade_authority",
        "program_data",
        "admin",
        "exchange",
        "collateral_mint",
        "vault",
        "token_program",
        "system_program",
    ]);
    let deployer = w.deployer.pubkey();
    v.push(base(
        "initialize_exchange",
        sdk::initialize_exchange(&deployer, &w.admin2.pubkey(), &w.mint3, init_args),
        init_slots.clone(),
    ));
    v.push(Base {
        valid: false,
        ..base(
            "initialize_exchange:reinit",
            sdk::initialize_exchange(&deployer, &w.admin2.pubkey(), &mint, init_args),
            init_slots,
        )
    });

    let auth_args = SetAuthoritiesArgs {
        funding_authority: Some(Pubkey::new_unique()),
        risk_authority: None,
        pause_guardian: None,
        deleverage_authority: None,
    };
    let proposal = governance::payload(governance::GovAction::SetListingDeposit, &exchange, &7u64);
    let queue_slots = names(&["admin", "exchange", "proposal", "system_program"]);
    v.push(base("queue_proposal", sdk::queue_proposal(&admin, &exchange, 1, proposal.clone()), queue_slots.clone()));
    // Proposal 0 exists: its address is no longer the next one.
    v.push(Base {
        valid: false,
        ..base("queue_proposal:reinit", sdk::queue_proposal(&admin, &exchange, 0, proposal), queue_slots)
    });
    v.push(base(
        "cancel_proposal",
        sdk::cancel_proposal(&admin, &exchange, 0),
        names(&["admin", "exchange", "proposal"]),
    ));
    v.push(base(
        "set_timelock",
        sdk::set_timelock(&admin, &exchange, governance::MIN_TIMELOCK_SECS),
        names(&["admin", "exchange"]),
    ));
    v.push(base("set_authorities", sdk::set_authorities(&admin, &exchange, auth_args), names(&["admin", "exchange"])));
    v.push(base(
        "propose_admin",
        sdk::propose_admin(&admin, &exchange, Pubkey::new_unique()),
        names(&["admin", "exchange"]),
    ));
    v.push(base("accept_admin", sdk::accept_admin(&w.pending.pubkey(), &exchange), names(&["new_admin", "exchange"])));
    v.push(base(
        "set_exchange_paused",
        sdk::set_exchange_paused(&guardian, &exchange, true),
        names(&["authority", "exchange"]),
    ));
    v.push(base(
        "set_exchange_paused:unpause",
        sdk::set_exchange_paused(&admin, &exchange, false),
        names(&["authority", "exchange"]),
    ));

    let approve_slots = names(&["admin", "exchange", "trader_program", "approval", "system_program"]);
    v.push(base("approve_trader", sdk::approve_trader(&admin, &exchange, &perpetual::ID), approve_slots.clone()));
    v.push(Base {
        valid: false,
        ..base("approve_trader:reinit", sdk::approve_trader(&admin, &exchange, &test_trader::ID), approve_slots)
    });
    v.push(base(
        "revoke_trader",
        sdk::revoke_trader(&admin, &exchange, &test_trader::ID),
        names(&["admin", "exchange", "approval"]),
    ));

    let oracle_slots = names(&["authority", "oracle", "system_program"]);
    v.push(base(
        "create_price_oracle",
        sdk::create_price_oracle(&oracle_auth, sdk::symbol("NEWO"), -6),
        oracle_slots.clone(),
    ));
    v.push(Base {
        valid: false,
        ..base("create_price_oracle:reinit", sdk::create_price_oracle(&oracle_auth, sol.symbol, -6), oracle_slots)
    });
    v.push(base(
        "set_oracle_price",
        sdk::set_oracle_price(&oracle_auth, &sol.oracle, PRICE, 0),
        names(&["authority", "oracle"]),
    ));

    let market_slots = names(&["admin", "exchange", "market", "oracle", "system_program"]);
    v.push(base(
        "create_market",
        sdk::create_market(&admin, &exchange, &sol.oracle, market_args("NEWM", OracleKind::SetPrice)),
        market_slots.clone(),
    ));
    v.push(Base {
        valid: false,
        ..base(
            "create_market:reinit",
            sdk::create_market(&admin, &exchange, &sol.oracle, market_args("SOL", OracleKind::SetPrice)),
            market_slots,
        )
    });
    let update = UpdateMarketArgs { maker_fee_ppm: Some(-50), ..Default::default() };
    v.push(base(
        "update_market",
        sdk::update_market(&admin, &exchange, &sol.market, update),
        names(&["admin", "exchange", "market"]),
    ));
    v.push(base(
        "set_margins",
        sdk::set_margins(&risk, &exchange, &sol.market, 2_000, 2_000),
        names(&["risk_authority", "exchange", "market"]),
    ));
    v.push(base(
        "set_market_status",
        sdk::set_market_status(&guardian, &exchange, &sol.market, MarketStatus::Paused),
        names(&["authority", "exchange", "market"]),
    ));
    v.push(base(
        "set_market_status:activate",
        sdk::set_market_status(&admin, &exchange, &sol.market, MarketStatus::Active),
        names(&["authority", "exchange", "market"]),
    ));

    v.push(base("update_funding", sdk::update_funding(&sol.market, &sol.oracle), names(&["market", "oracle"])));
    v.push(base(
        "set_funding_rate",
        sdk::set_funding_rate(&funding, &exchange, &sol.market, &sol.oracle, 1_000),
        names(&["funding_authority", "exchange", "market", "oracle"]),
    ));
    v.push(base(
        "settle_funding",
        sdk::settle_funding(&sol.market, &sol.oracle, &a.margin_account),
        names(&["market", "oracle", "margin_account"]),
    ));
    v.push(base("sweep_fees", sdk::sweep_fees(&exchange, &sol.market), names(&["exchange", "market"])));

    let margin_slots = names(&["owner", "exchange", "margin_account", "system_program"]);
    v.push(base("create_margin_account", sdk::create_margin_account(&owner, &exchange, 1, 16), margin_slots.clone()));
    v.push(Base {
        valid: false,
        ..base(
            "create_margin_account:reinit",
            sdk::create_margin_account(&owner, &exchange, 0, 16),
            margin_slots.clone(),
        )
    });
    v.push(base(
        "resize_margin_account",
        sdk::resize_margin_account(&owner, &exchange, &a.margin_account, 32),
        margin_slots.clone(),
    ));
    v.push(base(
        "set_delegate",
        sdk::set_delegate(&owner, &exchange, &a.margin_account, Pubkey::new_unique()),
        margin_slots,
    ));

    let deposit = sdk::deposit(&owner, &exchange, &mint, &a.margin_account, &a.token_account, ONE_USDC);
    v.push(base(
        "deposit",
        deposit,
        names(&[
            "depositor",
            "exchange",
            "margin_account",
            "depositor_token",
            "vault",
            "collateral_mint",
            "token_program",
        ]),
    ));
    let health = env.health_metas(&a.margin_account, &[]).await;
    assert_eq!(health.len(), 6, "a holds three positions");
    let withdraw = sdk::withdraw(&owner, &exchange, &mint, &a.margin_account, &a.token_account, ONE_USDC, health);
    let slots = health_names(
        &["owner", "exchange", "margin_account", "vault", "destination", "collateral_mint", "token_program"],
        6,
    );
    v.push(Base { health: Some((7, "margin_account")), ..base("withdraw", withdraw, slots) });

    // settle_fills: `a` takes 2 lots of the maker's asks in SOL; health skips SOL.
    let fills = vec![Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 }];
    let relay = env.settle_ix(a, &sol, &[m.margin_account], fills.clone(), vec![], 0, 0).await;
    let relay_prefix = ["perpetual_program", "exchange", "approval", "trader_authority", "market", "oracle"];
    let mut slots = names(&relay_prefix);
    slots.extend(names(&["taker", "taker_authority", "maker[0]"]));
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base {
        health: Some((9, "taker")),
        own_market: Some((sol.market, sol.oracle)),
        ..base("settle_fills", relay, slots)
    });
    let health = env.health_metas(&a.margin_account, &[sol.market]).await;
    let direct = sdk::settle_fills(
        &sdk::SettleAccounts {
            exchange,
            trader_program: test_trader::ID,
            market: sol.market,
            oracle: sol.oracle,
            taker: a.margin_account,
            taker_authority: owner,
        },
        SettleFillsArgs {
            maker_count: 1,
            fills,
            releases: vec![],
            taker_bid_delta: 0,
            taker_ask_delta: 0,
            liquidation: false,
        },
        &[m.margin_account],
        health.clone(),
    );
    let slots = health_names(
        &["exchange", "approval", "trader_authority", "market", "oracle", "taker", "taker_authority", "maker[0]"],
        4,
    );
    v.push(Base { valid: false, ..base("settle_fills:direct", direct, slots) });

    // update_reservation: `a` rests one more bid lot in SOL (a growth: health needed).
    let relay = env.reserve_ix(a, &sol, 1, 0).await;
    let mut slots = names(&relay_prefix);
    slots.extend(names(&["margin_account", "account_authority"]));
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base {
        health: Some((8, "margin_account")),
        own_market: Some((sol.market, sol.oracle)),
        ..base("update_reservation", relay, slots)
    });
    let mut accounts = perpetual::accounts::UpdateReservation {
        exchange,
        approval: sdk::approval_address(&exchange, &test_trader::ID),
        trader_authority: sdk::trader_authority_address(&test_trader::ID),
        market: sol.market,
        oracle: sol.oracle,
        margin_account: a.margin_account,
        account_authority: owner,
    }
    .to_account_metas(None);
    accounts.extend(health);
    let data = perpetual::instruction::UpdateReservation { bid_delta: 1, ask_delta: 0 }.data();
    let direct = Instruction { program_id: perpetual::ID, accounts, data };
    let slots = health_names(
        &["exchange", "approval", "trader_authority", "market", "oracle", "margin_account", "account_authority"],
        4,
    );
    v.push(Base { valid: false, ..base("update_reservation:direct", direct, slots) });

    v.extend(more_bases(w).await);
    v.extend(seat_bases(w).await);
    v.extend(book_bases(w).await);
    for b in &v {
        assert_eq!(b.slots.len(), b.ix.accounts.len(), "{}: slot names vs accounts", b.key);
    }
    v
}

/// `ix` (a perpetual instruction naming the relay's PDA as its trader authority) sent
/// through the relay, and its slot names.
pub(super) fn via_relay(ix: Instruction, slots: &[&str]) -> (Instruction, Vec<String>) {
    let pda = Pubkey::find_program_address(&[b"trader"], &RELAY_ID).0;
    let mut accounts = vec![AccountMeta::new_readonly(ix.program_id, false)];
    accounts.extend(ix.accounts.into_iter().map(|m| AccountMeta { is_signer: m.is_signer && m.pubkey != pda, ..m }));
    let mut names = vec!["perpetual_program".to_string()];
    names.extend(slots.iter().map(|s| s.to_string()));
    (Instruction { program_id: RELAY_ID, accounts, data: ix.data }, names)
}

pub(super) async fn more_bases(w: &mut World) -> Vec<Base> {
    let x = &w.x;
    let env = &mut w.env;
    let (exchange, mint) = (env.exchange, env.mint);
    let admin = env.admin.pubkey();
    let risk = env.risk_authority.pubkey();
    let da = env.deleverage_authority.pubkey();
    let (sol, a, m) = (w.sol, &w.a, &w.m);
    let p = PRICE as u64;
    let mut v = Vec::new();

    v.push(base(
        "set_listing_deposit",
        sdk::set_listing_deposit(&admin, &exchange, ONE_USDC),
        names(&["admin", "exchange"]),
    ));
    // SOL takes FBK's fallback account as its own fallback.
    v.push(base(
        "set_oracle",
        sdk::set_oracle(&admin, &exchange, &sol.market, fallback_args(x.fbk_fallback)),
        names(&["admin", "exchange", "market", "oracle"]),
    ));
    v.push(base(
        "refresh_oracle_source",
        sdk::refresh_oracle_source(&x.fbk.market, &x.fbk.oracle, &x.fbk_fallback),
        names(&["market", "primary", "fallback"]),
    ));
    let list = |symbol: &str| ListMarketArgs {
        symbol: sdk::symbol(symbol),
        oracle_kind: OracleKind::PythLegacy,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: p,
    };
    let list_slots = names(&[
        "lister",
        "exchange",
        "market",
        "oracle",
        "lister_token",
        "vault",
        "collateral_mint",
        "token_program",
        "system_program",
    ]);
    let lister = x.lister.pubkey();
    v.push(base(
        "list_market",
        sdk::list_market(&lister, &exchange, &mint, &x.lister_token, &x.pyth, list("LIST")),
        list_slots.clone(),
    ));
    v.push(Base {
        valid: false,
        ..base(
            "list_market:reinit",
            sdk::list_market(&lister, &exchange, &mint, &x.lister_token, &x.pyth, list("CLOS")),
            list_slots,
        )
    });
    let margin_slots = names(&["risk_authority", "exchange", "market"]);
    v.push(base(
        "set_open_interest_cap",
        sdk::set_open_interest_cap(&risk, &exchange, &sol.market, 1_000_000),
        margin_slots.clone(),
    ));
    v.push(base("set_index_jump", sdk::set_index_jump(&risk, &exchange, &sol.market, 1_000), margin_slots));

    let insurance_slots =
        names(&["authority", "exchange", "vault", "token_account", "collateral_mint", "token_program"]);
    v.push(base(
        "deposit_insurance",
        sdk::deposit_insurance(&a.key(), &exchange, &mint, &a.token_account, ONE_USDC),
        insurance_slots.clone(),
    ));
    v.push(base(
        "withdraw_insurance",
        sdk::withdraw_insurance(&admin, &exchange, &mint, &x.admin_token, ONE_USDC),
        insurance_slots,
    ));

    // Liquidation and deleveraging in RSK ($0.85): lq below maintenance, uw underwater.
    let rsk = x.rsk.market;
    let own = Some((rsk.market, rsk.oracle));
    let lq_health = env.health_metas(&x.lq.margin_account, &[rsk.market]).await;
    assert_eq!(lq_health.len(), 4, "lq holds SOL and ETH besides RSK");
    let ix = sdk::liquidate(
        &exchange,
        &rsk.market,
        &rsk.oracle,
        &x.lq.margin_account,
        &x.lr.margin_account,
        &x.lr.key(),
        u64::MAX,
        lq_health.clone(),
        vec![],
    );
    let slots = health_names(&["exchange", "market", "oracle", "liquidatee", "liquidator", "liquidator_authority"], 4);
    v.push(Base { health: Some((6, "liquidatee")), own_market: own, ..base("liquidate", ix, slots) });
    let uw_full = env.health_metas(&x.uw.margin_account, &[]).await;
    assert_eq!(uw_full.len(), 6);
    let check_slots = health_names(&["exchange", "margin_account", "authority"], 6);
    let ix = sdk::mark_underwater(&exchange, &x.uw.margin_account, &x.keeper.pubkey(), uw_full.clone());
    v.push(Base { health: Some((3, "margin_account")), ..base("mark_underwater", ix, check_slots.clone()) });
    let ix = sdk::cover_with_insurance(&exchange, &x.uw.margin_account, &da, uw_full);
    v.push(Base { health: Some((3, "margin_account")), ..base("cover_with_insurance", ix, check_slots) });
    let uw_health = env.health_metas(&x.uw.margin_account, &[rsk.market]).await;
    let ix = sdk::deleverage(
        &exchange,
        &rsk.market,
        &rsk.oracle,
        &x.uw.margin_account,
        &x.cp.margin_account,
        &da,
        100,
        uw_health,
    );
    let slots = health_names(&["exchange", "market", "oracle", "margin_account", "counterparty", "authority"], 4);
    v.push(Base { health: Some((6, "margin_account")), own_market: own, phase: 1, ..base("deleverage", ix, slots) });

    let book_approval = sdk::approval_address(&exchange, &orderbook::ID);
    let book_pda = orderbook::sdk::trader_authority();
    let mut accounts = perpetual::accounts::EarlyDeleverage {
        exchange,
        approval: book_approval,
        trader_authority: book_pda,
        market: rsk.market,
        oracle: rsk.oracle,
        margin_account: x.lq.margin_account,
        counterparty: x.cp.margin_account,
        authority: da,
    }
    .to_account_metas(None);
    accounts.extend(lq_health.clone());
    let data = perpetual::instruction::EarlyDeleverage { lots: 100, book_price_per_lot: 0 }.data();
    let slots = health_names(
        &[
            "exchange",
            "approval",
            "trader_authority",
            "market",
            "oracle",
            "margin_account",
            "counterparty",
            "authority",
        ],
        4,
    );
    v.push(Base {
        valid: false,
        ..base("early_deleverage:direct", Instruction { program_id: perpetual::ID, accounts, data }, slots)
    });

    v.push(base(
        "final_settle_market",
        sdk::final_settle_market(&admin, &exchange, &sol.market, &sol.oracle, 0, u64::MAX),
        names(&["admin", "exchange", "market", "oracle"]),
    ));
    v.push(base(
        "settle_final_position",
        sdk::settle_final_position(&x.fin.market, &x.fl.margin_account),
        names(&["market", "margin_account"]),
    ));
    let ix = sdk::close_market(&lister, &exchange, &x.clos.market.market, &x.clos.venue.book, &mint, &x.lister_token);
    // CLOS's book stays open for close_book's rows, so this base is itself refused
    // (MarketNotEmpty, checked in the handler); every row below is refused earlier, by
    // account validation.
    let slots =
        names(&["lister", "exchange", "market", "book", "vault", "lister_token", "collateral_mint", "token_program"]);
    v.push(Base { valid: false, ..base("close_market", ix, slots) });

    // Trader-only calls, directly (refused: only the trader program can sign for its PDA).
    let bk = x.bk.market;
    let accounts = perpetual::accounts::RecordMarkSample {
        exchange,
        approval: book_approval,
        trader_authority: book_pda,
        market: bk.market,
        oracle: bk.oracle,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RecordMarkSample { mid_per_lot: None }.data();
    v.push(Base {
        valid: false,
        ..base(
            "record_mark_sample:direct",
            Instruction { program_id: perpetual::ID, accounts, data },
            names(&["exchange", "approval", "trader_authority", "market", "oracle"]),
        )
    });
    let accounts = perpetual::accounts::RegisterBook {
        exchange,
        approval: book_approval,
        trader_authority: book_pda,
        market: sol.market,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: x.zero_book }.data();
    v.push(Base {
        valid: false,
        ..base(
            "register_book:direct",
            Instruction { program_id: perpetual::ID, accounts, data },
            names(&["exchange", "approval", "trader_authority", "market"]),
        )
    });

    // The book's trader-only calls again through the relay, so that perpetual's own checks of
    // the accounts the book checks first are reached too.
    let relay_pda = Pubkey::find_program_address(&[b"trader"], &RELAY_ID).0;
    let relay_approval = sdk::approval_address(&exchange, &RELAY_ID);
    let accounts = perpetual::accounts::RecordMarkSample {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: bk.market,
        oracle: bk.oracle,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RecordMarkSample { mid_per_lot: Some(p) }.data();
    let (ix, slots) = via_relay(
        Instruction { program_id: perpetual::ID, accounts, data },
        &["exchange", "approval", "trader_authority", "market", "oracle"],
    );
    v.push(base("record_mark_sample:relay", ix, slots));
    let accounts = perpetual::accounts::RegisterBook {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: sol.market,
    }
    .to_account_metas(None);
    let data = perpetual::instruction::RegisterBook { book: x.zero_book }.data();
    let (ix, slots) = via_relay(
        Instruction { program_id: perpetual::ID, accounts, data },
        &["exchange", "approval", "trader_authority", "market"],
    );
    v.push(base("register_book:relay", ix, slots));
    let mut accounts = perpetual::accounts::EarlyDeleverage {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: rsk.market,
        oracle: rsk.oracle,
        margin_account: x.lq.margin_account,
        counterparty: x.cp.margin_account,
        authority: da,
    }
    .to_account_metas(None);
    accounts.extend(lq_health.clone());
    // Book price 0: closing the long through the book would fill nothing.
    let data = perpetual::instruction::EarlyDeleverage { lots: 100, book_price_per_lot: 0 }.data();
    let prefix =
        ["exchange", "approval", "trader_authority", "market", "oracle", "margin_account", "counterparty", "authority"];
    let (ix, mut slots) = via_relay(Instruction { program_id: perpetual::ID, accounts, data }, &prefix);
    slots.extend((0..4).map(|i| format!("health[{i}]")));
    v.push(Base { health: Some((9, "margin_account")), own_market: own, ..base("early_deleverage:relay", ix, slots) });

    // release_reservations through the relay: one ask lot of the maker's SOL reservation.
    let data = perpetual::instruction::ReleaseReservations {
        releases: vec![Release { maker_index: 0, bid_lots: 0, ask_lots: 1 }],
    }
    .data();
    let mut accounts = perpetual::accounts::ReleaseReservations {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: sol.market,
    }
    .to_account_metas(None);
    accounts.push(AccountMeta::new(m.margin_account, false));
    let (relay, slots) = via_relay(
        Instruction { program_id: perpetual::ID, accounts, data: data.clone() },
        &["exchange", "approval", "trader_authority", "market", "account[0]"],
    );
    let mut no_account = relay.clone();
    no_account.accounts.pop();
    v.push(base("release_reservations", relay, slots.clone()));
    v.push(Base { valid: false, ..base("release_reservations:no_account", no_account, slots[..5].to_vec()) });
    let mut accounts = perpetual::accounts::ReleaseReservations {
        exchange,
        approval: relay_approval,
        trader_authority: relay_pda,
        market: sol.market,
    }
    .to_account_metas(None);
    accounts.push(AccountMeta::new(m.margin_account, false));
    v.push(Base {
        valid: false,
        ..base(
            "release_reservations:direct",
            Instruction { program_id: perpetual::ID, accounts, data },
            names(&["exchange", "approval", "trader_authority", "market", "account[0]"]),
        )
    });

    v
}
