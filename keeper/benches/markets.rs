//! Thousands of markets: the keeper's discovery and one full crank loop on an exchange of
//! `markets` permissionlessly listed markets (each with a Pyth-format feed and a book) and
//! `accounts` margin accounts holding `positions` positions each, spread over the markets.
//! Everything is built through the programs' own instructions on the embedded chain.
//!
//! - **discovery**: `discovery::markets` and `discovery::margin_accounts`. Lower bound:
//!   reading each discovered account once by its key (`Chain::account`), measured on the
//!   same chain. (The embedded chain has no account index, so its getProgramAccounts reads
//!   every account it knows; a cluster's node answers from its own index.)
//! - **loop**: the keeper's loops once, as `keeper run` composes them: funding (index and
//!   rate), marks, margins (a year of daily closes per market) and risk (scan, then seat
//!   settlement and pruning from one read of every book), with the keeper's default packing (`Limits::default()`).
//!   Lower bound on transactions: each kind's cranks packed as tightly as the 1,232-byte
//!   and 64-account limits allow, with no cap on instructions per transaction. Lower bound
//!   on time: that many transactions at the chain's own floor per transaction (a plain
//!   transfer on the same chain, best of three runs of 500), plus the discovery bound once
//!   (the loop reads every market and account at least once).
//!
//! `cargo bench --locked -p keeper --bench markets -- [markets] [accounts] [positions]`
//! (defaults 2000 10000 2) prints `key<TAB>...` lines for `bench/compare.sh`.
//! `keeper/tests/markets_smoke.rs` runs the same code at tiny sizes.
#![allow(dead_code)]
use std::time::Instant;

#[path = "support/floor.rs"]
mod floor;
use floor::transfer_floor;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use client::batch::{self, Limits};
use client::chain::embedded::EmbeddedChain;
use client::chain::Chain;
use client::discovery;
use keeper::cranks::{self, CrankResult, RiskKeeper, Upkeep};
use keeper::sim::world::{create_exchange, order_args, pyth_bytes, ExchangeKeys, START_TIME, USDC};
use orderbook::instructions::{CreateBookArgs, OrderType};
use orderbook::sdk::Venue;
use orderbook::Side;
use perpetual::sdk;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;

/// Margin accounts per owner (numbered 0..).
const ACCOUNTS_PER_OWNER: usize = 100;
const DEPOSIT: u64 = 5_000 * USDC;
/// Quote native units per tick: $0.01 on lots of one base unit.
const TICK: u64 = 10_000;

pub struct Listed {
    pub market: Pubkey,
    pub book: Pubkey,
    pub oracle: Pubkey,
    pub dollars: f64,
}

pub struct Exchange {
    pub chain: EmbeddedChain,
    pub exchange: Pubkey,
    pub keeper: Keypair,
    pub markets: Vec<Listed>,
    pub accounts: Vec<Pubkey>,
    /// Seconds and transactions the setup took.
    pub setup_seconds: f64,
    pub setup_transactions: u64,
    /// The exchange account's size before the first listing and after the last.
    pub exchange_bytes: (usize, usize),
}

async fn send(chain: &mut EmbeddedChain, ixs: &[Instruction], signers: &[&Keypair]) {
    chain.send(ixs, signers).await.expect("setup transaction");
}

/// Sends `ixs` packed, every one of which must land.
async fn send_all(chain: &mut EmbeddedChain, ixs: &[Instruction], signers: &[&Keypair]) {
    let sent = batch::send_packed(chain, ixs, signers, Limits::default()).await;
    for r in sent.outcomes {
        r.expect("setup instruction");
    }
}

fn oracle_account(dollars: f64, now: i64) -> Account {
    let price = (dollars * 1e8).round() as i64;
    Account {
        lamports: 1_000_000_000,
        data: pyth_bytes(price, (price / 10_000) as u64, -8, now),
        owner: perpetual::state::PYTH_PROGRAM_IDS[0],
        executable: false,
        rent_epoch: 0,
    }
}

/// Writes every market's feed at the chain's current time.
pub async fn publish(x: &mut Exchange) {
    let now = x.chain.unix_time().await.expect("clock");
    for m in &x.markets {
        x.chain.set_account(&m.oracle, oracle_account(m.dollars, now));
    }
}

/// The exchange, its markets and its accounts with their positions.
pub async fn build(markets: usize, accounts: usize, positions: usize) -> Exchange {
    let t = Instant::now();
    let mut chain = EmbeddedChain::start().await;
    chain.set_time(START_TIME).await.expect("clock");
    let payer = chain.payer().pubkey();
    let (admin, keeper, mint_authority, mint, lister) =
        (Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new());
    let keys = ExchangeKeys { admin: &admin, keeper: &keeper, mint: &mint, mint_authority: &mint_authority };
    let exchange =
        create_exchange(&mut chain, &keys, &[lister.pubkey()], 10_000_000_000_000).await.expect("the exchange");
    let exchange_before = chain.account_data(&exchange).await.expect("exchange").len();

    let token_rent = chain.minimum_balance(spl_token_interface::state::Account::LEN).await.expect("rent");
    let funded = |owner: &Pubkey, account: &Keypair, amount: u64| {
        client::token::create_funded_account(
            &payer,
            &account.pubkey(),
            &mint.pubkey(),
            owner,
            token_rent,
            &mint_authority.pubkey(),
            amount,
        )
    };
    let lister_tokens = Keypair::new();
    let ixs = funded(&lister.pubkey(), &lister_tokens, markets as u64 * 100 * USDC);
    send(&mut chain, &ixs, &[&lister_tokens, &mint_authority]).await;

    // Markets: a feed, the permissionless listing and the book, one transaction each.
    let now = chain.unix_time().await.expect("clock");
    let book_args = CreateBookArgs {
        tick_size: TICK,
        min_base_lots: 1,
        side_capacity: 256,
        seat_capacity: 64,
        max_orders_per_account: 32,
    };
    let book_rent = chain
        .minimum_balance(orderbook::state::Book::space(book_args.side_capacity, book_args.seat_capacity))
        .await
        .expect("rent");
    let mut listed = vec![];
    for i in 0..markets {
        let dollars = 10.0 + (i % 190) as f64 * 0.5;
        let oracle = Pubkey::new_unique();
        chain.set_account(&oracle, oracle_account(dollars, now));
        let args = sdk::ListMarketArgs {
            symbol: sdk::symbol(&format!("M{i:05}-PERP")),
            oracle_kind: perpetual::OracleKind::PythLegacy,
            base_decimals: 6,
            base_lot_size: 1_000_000,
            initial_price_per_lot: 0,
        };
        let market = sdk::market_address(&exchange, &args.symbol);
        let book = Keypair::new();
        let mut ixs =
            vec![sdk::list_market(&lister.pubkey(), &exchange, &mint.pubkey(), &lister_tokens.pubkey(), &oracle, args)];
        ixs.extend(orderbook::sdk::create_book(
            &payer,
            &lister.pubkey(),
            &exchange,
            &market,
            &book.pubkey(),
            book_rent,
            book_args,
        ));
        send(&mut chain, &ixs, &[&lister, &book]).await;
        listed.push(Listed { market, book: book.pubkey(), oracle, dollars });
    }
    let exchange_after = chain.account_data(&exchange).await.expect("exchange").len();
    // Every market's cached index, so orders can price against it.
    let r = cranks::update_funding(&mut chain, &exchange, Limits::default()).await.expect("funding");
    assert_eq!(r.failed, 0, "{r:?}");

    // Accounts: owners of ACCOUNTS_PER_OWNER numbered accounts each, created and funded in
    // packed transactions.
    let mut margin = vec![];
    let mut owners = vec![];
    for o in 0..accounts.div_ceil(ACCOUNTS_PER_OWNER) {
        let owner = Keypair::new();
        let n = ACCOUNTS_PER_OWNER.min(accounts - o * ACCOUNTS_PER_OWNER);
        send(
            &mut chain,
            &[solana_system_interface::instruction::transfer(&payer, &owner.pubkey(), 100_000_000_000)],
            &[],
        )
        .await;
        let tokens = Keypair::new();
        send(&mut chain, &funded(&owner.pubkey(), &tokens, n as u64 * DEPOSIT), &[&tokens, &mint_authority]).await;
        let mut ixs = vec![];
        for num in 0..n as u16 {
            let account = sdk::margin_account_address(&exchange, &owner.pubkey(), num);
            ixs.push(sdk::create_margin_account(
                &owner.pubkey(),
                &exchange,
                num,
                perpetual::state::MIN_POSITION_CAPACITY,
            ));
            ixs.push(sdk::deposit(&owner.pubkey(), &exchange, &mint.pubkey(), &account, &tokens.pubkey(), DEPOSIT));
            margin.push((account, o));
        }
        send_all(&mut chain, &ixs, &[&owner]).await;
        owners.push(owner);
    }

    // Positions: accounts 2k and 2k+1 trade `positions` times, each in its own market; the
    // first rests a post-only order, the second takes it.
    let mut held: Vec<Vec<Pubkey>> = vec![vec![]; margin.len()];
    for k in 0..margin.len() / 2 {
        for j in 0..positions {
            let m = &listed[(k * positions + j) % markets];
            let venue = Venue { book: m.book, market: m.market, oracle: m.oracle, exchange };
            let price_ticks = (m.dollars * 100.0).round() as u64;
            let lots = 1 + (k % 5) as u64;
            let maker_side = if j % 2 == 0 { Side::Bid } else { Side::Ask };
            for (who, side, order_type) in [
                (2 * k, maker_side, OrderType::PostOnly),
                (2 * k + 1, if maker_side == Side::Bid { Side::Ask } else { Side::Bid }, OrderType::ImmediateOrCancel),
            ] {
                let (account, owner) = margin[who];
                let health = held[who]
                    .iter()
                    .filter(|k| **k != m.market)
                    .map(|k| anchor_lang::prelude::AccountMeta::new_readonly(*k, false))
                    .collect();
                // A resting order claims a seat: the account's own, else the first free one.
                let book = chain.account_data(&m.book).await.expect("book");
                let seat_hint = orderbook::state::BookRef::parse(&book)
                    .ok()
                    .and_then(|b| orderbook::decode::seat_hint(&b, &account))
                    .unwrap_or(0);
                let args = order_args(side, price_ticks, lots, order_type, seat_hint);
                let ix = orderbook::sdk::place_order(&venue, &owners[owner].pubkey(), &account, args, health);
                send(&mut chain, &[ix], &[&owners[owner]]).await;
                if !held[who].contains(&m.market) {
                    held[who].push(m.market);
                }
            }
        }
    }
    // The makers' fills into their accounts.
    let r = cranks::settle_seats(&mut chain, &exchange, Limits::default()).await.expect("settle");
    assert_eq!(r.failed, 0, "{r:?}");

    let setup_transactions = chain.transactions;
    Exchange {
        chain,
        exchange,
        keeper,
        markets: listed,
        accounts: margin.into_iter().map(|(a, _)| a).collect(),
        setup_seconds: t.elapsed().as_secs_f64(),
        setup_transactions,
        exchange_bytes: (exchange_before, exchange_after),
    }
}

/// Seconds of the keeper's discovery, and of reading each discovered account once by key.
pub async fn discovery(x: &mut Exchange) -> (f64, f64, usize, usize) {
    let t = Instant::now();
    let markets = discovery::markets(&mut x.chain, &x.exchange).await.expect("markets");
    let accounts = discovery::margin_accounts(&mut x.chain, &x.exchange).await.expect("accounts");
    let seconds = t.elapsed().as_secs_f64();
    let keys: Vec<Pubkey> = markets.iter().map(|(k, _)| *k).chain(accounts.iter().map(|a| a.key)).collect();
    let t = Instant::now();
    for k in &keys {
        std::hint::black_box(x.chain.account(k).await.expect("read"));
    }
    (seconds, t.elapsed().as_secs_f64(), markets.len(), accounts.len())
}

/// One part of the loop: its name, seconds, what it did, and the fewest transactions its
/// cranks could have taken.
pub struct Part {
    pub name: &'static str,
    pub seconds: f64,
    pub result: CrankResult,
    pub bound_transactions: u32,
}

/// How many of the instructions `make` builds for distinct markets fit one transaction.
fn fit(payer: &Pubkey, markets: &[Listed], make: impl Fn(&Listed) -> Instruction) -> u32 {
    let ixs: Vec<Instruction> = markets.iter().take(64).map(make).collect();
    let groups = batch::pack(payer, &ixs, Limits { max_instructions: usize::MAX });
    groups.first().map_or(1, |g| g.len() as u32)
}

fn bound(cranks: u32, fit: u32) -> u32 {
    cranks.div_ceil(fit.max(1))
}

impl Part {
    /// A step started at `t` whose landed cranks could have shared transactions `fit` at a time.
    fn packed(name: &'static str, t: Instant, result: CrankResult, fit: u32) -> Part {
        Part { name, seconds: t.elapsed().as_secs_f64(), result, bound_transactions: bound(result.sent, fit) }
    }
}

/// The keeper's loops once, a minute after the last, with fresh feeds.
pub async fn crank_loop(x: &mut Exchange) -> Vec<Part> {
    x.chain.warp(60).await.expect("warp");
    publish(x).await;
    let (exchange, limits) = (x.exchange, Limits::default());
    let keeper = x.keeper.insecure_clone();
    let payer = x.chain.payer().pubkey();
    let venue = |m: &Listed| Venue { book: m.book, market: m.market, oracle: m.oracle, exchange };
    let closes: Vec<u64> = (0..365u64).map(|d| 100_000_000 + (d * 7_919 % 23) * 1_000_000).collect();
    let mut parts = vec![];

    let t = Instant::now();
    let r = cranks::update_funding(&mut x.chain, &exchange, limits).await.expect("funding");
    let f = fit(&payer, &x.markets, |m| sdk::update_funding(&m.market, &m.oracle));
    parts.push(Part::packed("funding index", t, r, f));

    let t = Instant::now();
    let r = cranks::set_funding_rates(&mut x.chain, &exchange, &keeper, limits).await.expect("rates");
    let f = fit(&payer, &x.markets, |m| sdk::set_funding_rate(&keeper.pubkey(), &exchange, &m.market, &m.oracle, 1));
    parts.push(Part::packed("funding rates", t, r, f));

    let t = Instant::now();
    let r = cranks::sample_marks(&mut x.chain, &exchange, limits).await.expect("marks");
    let f = fit(&payer, &x.markets, |m| orderbook::sdk::sample_mark(&venue(m)));
    parts.push(Part::packed("marks", t, r, f));

    let t = Instant::now();
    let histories: Vec<(Pubkey, &[u64])> = x.markets.iter().map(|m| (m.market, closes.as_slice())).collect();
    let r = cranks::update_margins(&mut x.chain, &exchange, &keeper, &histories, limits).await.expect("margins");
    let f = fit(&payer, &x.markets, |m| sdk::set_margins(&keeper.pubkey(), &exchange, &m.market, 1_000, 1_000));
    parts.push(Part::packed("margins", t, r, f));

    let t = Instant::now();
    let liquidator_account = sdk::margin_account_address(&exchange, &keeper.pubkey(), 0);
    let k = RiskKeeper { exchange, authority: &keeper, liquidator: &keeper, liquidator_account, limits };
    let s = cranks::risk_scan(&mut x.chain, &k).await.expect("risk scan");
    let acted = s.liquidations + s.early_deleverages + s.deleverages + s.seat_revokes;
    let r = CrankResult { sent: acted + s.index_refreshes, skipped: 0, failed: s.failed, transactions: s.transactions };
    // Risk actions go one per transaction; only the refreshes could share.
    let f = fit(&payer, &x.markets, |m| sdk::update_funding(&m.market, &m.oracle));
    let mut part = Part::packed("risk scan", t, r, f);
    part.bound_transactions = acted + bound(s.index_refreshes, f);
    parts.push(part);

    let t = Instant::now();
    let (mut r, pruned) = cranks::book_upkeep(&mut x.chain, &exchange, limits, Upkeep::Both).await.expect("books");
    r.add(pruned);
    // What each instruction carries varies (up to 16 seats): its bound is its transactions.
    let mut part = Part::packed("seats and pruning", t, r, 1);
    part.bound_transactions = r.transactions;
    parts.push(part);
    parts
}

/// Everything, as `key<TAB>...` lines.
pub async fn run(markets: usize, accounts: usize, positions: usize) -> Vec<String> {
    let mut x = build(markets, accounts, positions).await;
    assert_eq!(x.exchange_bytes.0, x.exchange_bytes.1, "the exchange account grew with the markets");
    let mut out = vec![format!(
        "markets_setup\t{markets}\t{}\t{positions}\t{:.3}\t{}",
        x.accounts.len(),
        x.setup_seconds,
        x.setup_transactions
    )];
    x.chain.warp(60).await.expect("warp");
    publish(&mut x).await;
    let (seconds, bound_seconds, found_markets, found_accounts) = discovery(&mut x).await;
    assert_eq!((found_markets, found_accounts), (markets, x.accounts.len()), "discovery finds everything");
    out.push(format!("discovery\t{seconds:.6}\t{bound_seconds:.6}\t{found_markets}\t{found_accounts}"));
    let before = x.chain.transactions;
    let parts = crank_loop(&mut x).await;
    let mut floor = f64::MAX;
    for _ in 0..3 {
        floor = floor.min(transfer_floor(&mut x.chain, 500).await);
    }
    let mut total = CrankResult::default();
    let (mut seconds, mut bound_tx) = (0.0, 0);
    for p in &parts {
        assert_eq!(p.result.failed, 0, "{}: {:?}", p.name, p.result);
        total.add(p.result);
        seconds += p.seconds;
        bound_tx += p.bound_transactions;
        out.push(format!(
            "loop_part\t{}\t{:.6}\t{}\t{}\t{}\t{}",
            p.name, p.seconds, p.result.sent, p.result.skipped, p.result.transactions, p.bound_transactions
        ));
    }
    assert_eq!(u64::from(total.transactions), x.chain.transactions - before - 3 * 501, "every transaction counted");
    // The loop reads every market and account at least once.
    let bound_seconds_loop = f64::from(bound_tx) * floor + bound_seconds;
    out.push(format!(
        "loop\t{seconds:.6}\t{bound_seconds_loop:.6}\t{}\t{bound_tx}\t{}\t{:.9}",
        total.transactions, total.sent, floor
    ));
    out
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let markets = args.first().copied().unwrap_or(2_000);
    let accounts = args.get(1).copied().unwrap_or(10_000);
    let positions = args.get(2).copied().unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    for line in rt.block_on(run(markets, accounts, positions)) {
        println!("{line}");
    }
}
