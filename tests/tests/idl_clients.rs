//! TypeScript clients through the IDLs: the Rust builders' instructions and real account bytes,
//! checked by `idl/check/check.mjs` with `@coral-xyz/anchor` (pinned in its package-lock.json).
//!
//! This test trades on the native chain, writes `fixture.json` under `<target>/idl-fixtures/`
//! (a deposit, a crossing place_order with a maker as remaining account, and a cancel: their
//! arguments, named accounts, data bytes and metas; a margin account's and a market's bytes
//! with the fields Rust decodes from them), runs `npm ci` in idl/check when its node_modules
//! is missing or stale, then `node idl/check/check.mjs <fixture dir>`, which must exit 0.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AnchorDeserialize, Discriminator};
use integration_tests::*;
use orderbook::instructions::{OrderType, PlaceOrderArgs};
use orderbook::state::Side;
use perpetual::math::PodI80F48;
use perpetual::sdk as perp_sdk;
use perpetual::state::{parse_margin_account, Market, Position, HEADER_LEN, POSITION_LEN};

/// Just enough JSON for the fixture: integers are written as decimal strings.
enum J {
    S(String),
    B(bool),
    A(Vec<J>),
    O(Vec<(&'static str, J)>),
    /// A unit enum variant, as the TS coders take it: `{"Bid": {}}`.
    V(String),
}

impl J {
    fn n(v: impl ToString) -> J {
        J::S(v.to_string())
    }
    fn key(k: &Pubkey) -> J {
        J::S(k.to_string())
    }
    fn bytes(b: &[u8]) -> J {
        J::A(b.iter().map(J::n).collect())
    }
    fn hex(b: &[u8]) -> J {
        J::S(b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        }))
    }
    fn unit(variant: impl std::fmt::Debug) -> J {
        J::V(format!("{variant:?}"))
    }
    fn pod(v: &PodI80F48) -> J {
        J::O(vec![("bits", J::bytes(&v.bits))])
    }
    fn write(&self, out: &mut String) {
        match self {
            J::S(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            J::B(b) => out.push_str(if *b { "true" } else { "false" }),
            J::V(name) => {
                out.push('{');
                J::S(name.clone()).write(out);
                out.push_str(":{}}");
            }
            J::A(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::O(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    J::S(k.to_string()).write(out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn metas(accounts: &[AccountMeta]) -> J {
    J::A(
        accounts
            .iter()
            .map(|m| {
                J::O(vec![
                    ("pubkey", J::key(&m.pubkey)),
                    ("signer", J::B(m.is_signer)),
                    ("writable", J::B(m.is_writable)),
                ])
            })
            .collect(),
    )
}

/// One instruction for the check: `accounts` are the IDL's named accounts (what a client
/// passes to `accountsStrict`); metas past them are remaining accounts.
fn instruction(
    idl: &str,
    name: &str,
    ix: &Instruction,
    args: Vec<(&'static str, J)>,
    accounts: Vec<(&'static str, Pubkey)>,
) -> J {
    for (i, (field, key)) in accounts.iter().enumerate() {
        assert_eq!(ix.accounts[i].pubkey, *key, "{name}: account {i} is {field}");
    }
    J::O(vec![
        ("idl", J::S(idl.into())),
        ("name", J::S(name.into())),
        ("program_id", J::key(&ix.program_id)),
        ("args", J::O(args)),
        ("accounts", J::O(accounts.into_iter().map(|(k, v)| (k, J::key(&v))).collect())),
        ("metas", metas(&ix.accounts)),
        ("data", J::hex(&ix.data)),
    ])
}

fn position_fields(p: &Position) -> J {
    J::O(vec![
        ("market", J::key(&p.market)),
        ("base_lots", J::n(p.base_lots)),
        ("open_bid_lots", J::n(p.open_bid_lots)),
        ("open_ask_lots", J::n(p.open_ask_lots)),
        ("cached_funding_index", J::pod(&p.cached_funding_index)),
        ("reserved", J::bytes(&p.reserved)),
    ])
}

fn margin_account_fixture(data: &[u8]) -> J {
    let (h, positions) = parse_margin_account(data).expect("margin account");
    let used: Vec<&Position> = positions.iter().take_while(|p| !p.is_free()).collect();
    assert!(!used.is_empty(), "the fixture account holds a position");
    J::O(vec![
        ("idl", J::S("perpetual".into())),
        ("account", J::S("MarginAccount".into())),
        ("serialization", J::S("bytemuck".into())),
        ("header_len", J::n(HEADER_LEN)),
        ("data", J::hex(data)),
        (
            "expect",
            J::O(vec![
                ("exchange", J::key(&h.exchange)),
                ("owner", J::key(&h.owner)),
                ("delegate", J::key(&h.delegate)),
                ("collateral", J::n(h.collateral)),
                ("account_num", J::n(h.account_num)),
                ("position_capacity", J::n(h.position_capacity)),
                ("bump", J::n(h.bump)),
                ("flags", J::n(h.flags)),
                ("underwater_since", J::n(h.underwater_since)),
            ]),
        ),
        (
            "trailing",
            J::O(vec![
                ("type", J::S("Position".into())),
                ("len", J::n(POSITION_LEN)),
                // The used slots, then one free slot.
                (
                    "expect",
                    J::A(
                        used.iter()
                            .map(|p| position_fields(p))
                            .chain(positions.get(used.len()).map(position_fields))
                            .collect(),
                    ),
                ),
            ]),
        ),
    ])
}

fn market_fixture(data: &[u8]) -> J {
    let m = load_zero_copy::<Market>(data);
    assert_eq!(&data[..8], Market::DISCRIMINATOR);
    J::O(vec![
        ("idl", J::S("perpetual".into())),
        ("account", J::S("Market".into())),
        ("serialization", J::S("bytemuck".into())),
        ("header_len", J::n(8 + std::mem::size_of::<Market>())),
        ("data", J::hex(data)),
        (
            "expect",
            J::O(vec![
                ("exchange", J::key(&m.exchange)),
                ("oracle", J::key(&m.oracle)),
                ("book", J::key(&m.book)),
                ("lister", J::key(&m.lister)),
                ("symbol", J::bytes(&m.symbol)),
                ("base_lot_size", J::n(m.base_lot_size)),
                ("oracle_max_age_secs", J::n(m.oracle_max_age_secs)),
                ("oracle_max_conf_bps", J::n(m.oracle_max_conf_bps)),
                ("price_band_bps", J::n(m.price_band_bps)),
                ("init_margin_long_bps", J::n(m.init_margin_long_bps)),
                ("maint_margin_long_bps", J::n(m.maint_margin_long_bps)),
                ("init_margin_short_bps", J::n(m.init_margin_short_bps)),
                ("maint_margin_short_bps", J::n(m.maint_margin_short_bps)),
                ("maker_fee_ppm", J::n(m.maker_fee_ppm)),
                ("taker_fee_ppm", J::n(m.taker_fee_ppm)),
                ("funding_rate_ppbh", J::n(m.funding_rate_ppbh)),
                ("max_funding_rate_ppbh", J::n(m.max_funding_rate_ppbh)),
                ("max_funding_rate_change_ppbh", J::n(m.max_funding_rate_change_ppbh)),
                ("funding_window_secs", J::n(m.funding_window_secs)),
                ("funding_window_start_ts", J::n(m.funding_window_start_ts)),
                ("funding_index", J::pod(&m.funding_index)),
                ("funding_last_update_ts", J::n(m.funding_last_update_ts)),
                ("funding_pool", J::n(m.funding_pool)),
                ("fees_accrued", J::n(m.fees_accrued)),
                ("open_interest_lots", J::n(m.open_interest_lots)),
                ("open_interest_cap_lots", J::n(m.open_interest_cap_lots)),
                ("last_trade_price", J::n(m.last_trade_price)),
                ("last_trade_ts", J::n(m.last_trade_ts)),
                ("settlement_price", J::pod(&m.settlement_price)),
                ("index_price", J::pod(&m.index_price)),
                ("index_ts", J::n(m.index_ts)),
                ("mark_price", J::pod(&m.mark_price)),
                ("mark_last_sample_ts", J::n(m.mark_last_sample_ts)),
                ("mark_sample_count", J::n(m.mark_sample_count)),
                ("index_jump_bps", J::n(m.index_jump_bps)),
                ("listing_deposit", J::n(m.listing_deposit)),
                ("created_ts", J::n(m.created_ts)),
                ("total_fills", J::n(m.total_fills)),
                ("oracle_kind", J::n(m.oracle_kind)),
                ("status", J::n(m.status)),
                ("bump", J::n(m.bump)),
                ("base_decimals", J::n(m.base_decimals)),
                ("quote_decimals", J::n(m.quote_decimals)),
                ("liquidation_discount_bps", J::n(m.liquidation_discount_bps)),
                // After the mark-sample ring: offsets past an array of structs.
                ("open_slots", J::n(m.open_slots)),
                ("insurance_accrued", J::n(m.insurance_accrued)),
                ("stable_price", J::pod(&m.stable_price)),
            ]),
        ),
    ])
}

/// `<target>/idl-fixtures/<name>`: this test binary is `<target>/<profile>/deps/<name>`.
fn fixture_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let target = exe.ancestors().nth(3).expect("target directory").to_path_buf();
    target.join("idl-fixtures").join(name)
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: cannot run it ({e}). The IDL client check needs Node.js 18+ with npm on PATH (CI has Node 20).")
    });
    println!(
        "$ {what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `npm ci` unless node_modules was installed from the current package-lock.json.
fn install(check: &Path) {
    // The two tests of this binary may install at once: one `npm ci` at a time.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let lock = std::fs::read(check.join("package-lock.json")).expect("idl/check/package-lock.json");
    let stamp = check.join("node_modules").join(".installed-package-lock.json");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return;
    }
    let out = run(
        Command::new("npm").args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"]).current_dir(check),
        "npm ci (idl/check)",
    );
    assert!(out.status.success(), "npm ci in idl/check failed");
    std::fs::write(&stamp, lock).expect("write install stamp");
}

#[tokio::test]
async fn typescript_clients_encode_and_decode_like_rust() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.create_user(10_000 * ONE_USDC).await;
    let (exchange, mint) = (env.exchange, env.mint);

    // Deposit, with the Rust builder.
    let amount = 2_500 * ONE_USDC + 17;
    let (deposit_ix, deposit) = deposit_fixture(&taker, &exchange, &mint, amount);
    env.process(std::slice::from_ref(&deposit_ix), &[&taker.owner]).await.expect("deposit");

    // A crossing place_order: the maker's margin account follows the named accounts.
    env.rest(&maker, &book, Side::Ask, 101, 5).await;
    let mut args = order(Side::Bid, 101, 3, OrderType::Limit);
    args.client_order_id = 0xC0FFEE;
    args.expiry_ts = env.now().await + 3_600;
    let place = env.place_ix(&taker, &book, args).await;
    let out = env.process(std::slice::from_ref(&place), &[&taker.owner]).await.expect("place order");
    let placed = placed(&out.return_data);
    assert_eq!(placed.filled, 3);
    let place = place_fixture(&place, &taker, &book.venue);

    // Two resting bids; cancel one, so the account keeps a seat allowance and a position.
    let key = env.rest(&taker, &book, Side::Bid, 99, 4).await;
    env.rest(&taker, &book, Side::Bid, 98, 2).await;
    let (cancel_ix, cancel) = cancel_fixture(&taker, &book.venue, key);
    env.process(std::slice::from_ref(&cancel_ix), &[&taker.owner]).await.expect("cancel");

    let margin = env.account_data(&taker.margin_account).await;
    let market = env.account_data(&book.market.market).await;
    let pos = env.position(&taker.margin_account, &book.market.market).await;
    assert_eq!((pos.base_lots, pos.seat_bid_lots), (3, 6), "a long position and the allowance granted to both bids");
    assert!(env.market_state(&book.market.market).await.last_trade_price > 0);

    let fixture = J::O(vec![
        ("instructions", J::A(vec![deposit, place, cancel])),
        ("accounts", J::A(vec![margin_account_fixture(&margin), market_fixture(&market)])),
    ]);
    check_with_node(&fixture, "offline");
}

/// Writes `fixture` under [`fixture_dir`] and runs `node idl/check/check.mjs` on it.
fn check_with_node(fixture: &J, name: &str) {
    let dir = fixture_dir(name);
    std::fs::create_dir_all(&dir).expect("fixture directory");
    let mut text = String::new();
    fixture.write(&mut text);
    std::fs::write(dir.join("fixture.json"), text).expect("write fixture");

    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl/check");
    run(Command::new("node").arg("--version"), "node --version");
    install(&check);
    let out = run(
        Command::new("node").arg(check.join("check.mjs")).arg(&dir).current_dir(&check),
        "node idl/check/check.mjs",
    );
    assert!(out.status.success(), "the TypeScript IDL check failed (fixture in {})", dir.display());
}

/// `user`'s deposit of `amount`, built by the Rust builder, and its fixture entry.
fn deposit_fixture(user: &UserCookie, exchange: &Pubkey, mint: &Pubkey, amount: u64) -> (Instruction, J) {
    let ix = perp_sdk::deposit(&user.key(), exchange, mint, &user.margin_account, &user.token_account, amount);
    let fixture = instruction(
        "perpetual",
        "deposit",
        &ix,
        vec![("amount", J::n(amount))],
        vec![
            ("depositor", user.key()),
            ("exchange", *exchange),
            ("margin_account", user.margin_account),
            ("depositor_token", user.token_account),
            ("vault", perp_sdk::vault_address(exchange)),
            ("collateral_mint", *mint),
            ("token_program", anchor_spl::token::ID),
        ],
    );
    (ix, fixture)
}

/// The accounts every order instruction names, as the IDL calls them.
fn order_accounts(v: &orderbook::sdk::Venue, user: &UserCookie) -> Vec<(&'static str, Pubkey)> {
    vec![
        ("book", v.book),
        ("authority", user.key()),
        ("margin_account", user.margin_account),
        ("market", v.market),
        ("oracle", v.oracle),
        ("exchange", v.exchange),
        ("approval", perp_sdk::approval_address(&v.exchange, &orderbook::ID)),
        ("trader_authority", orderbook::sdk::trader_authority()),
        ("perpetual_program", perpetual::ID),
    ]
}

/// `place`'s fixture entry, with the arguments as sent (the harness sets the seat hint).
fn place_fixture(place: &Instruction, user: &UserCookie, venue: &orderbook::sdk::Venue) -> J {
    let args = PlaceOrderArgs::deserialize(&mut &place.data[8..]).expect("place_order args");
    instruction("orderbook", "place_order", place, place_args(&args), order_accounts(venue, user))
}

/// `user`'s cancel of its bid `key`, built by the Rust builder, and its fixture entry.
fn cancel_fixture(user: &UserCookie, venue: &orderbook::sdk::Venue, key: u128) -> (Instruction, J) {
    let ix = orderbook::sdk::cancel_order(venue, &user.key(), &user.margin_account, Side::Bid, key);
    let fixture = instruction(
        "orderbook",
        "cancel_order",
        &ix,
        vec![("side", J::unit(Side::Bid)), ("order_key", J::n(key))],
        order_accounts(venue, user),
    );
    (ix, fixture)
}

fn place_args(args: &PlaceOrderArgs) -> Vec<(&'static str, J)> {
    vec![(
        "args",
        J::O(vec![
            ("side", J::unit(args.side)),
            ("price_ticks", J::n(args.price_ticks)),
            ("base_lots", J::n(args.base_lots)),
            ("order_type", J::unit(args.order_type)),
            ("reduce_only", J::B(args.reduce_only)),
            ("self_trade", J::unit(args.self_trade)),
            ("client_order_id", J::n(args.client_order_id)),
            ("expiry_ts", J::n(args.expiry_ts)),
            ("seat_hint", J::n(args.seat_hint)),
        ]),
    )]
}

/// A TypeScript client over the wire: the test's chain is served by `localnet` on an
/// ephemeral port, and `check.mjs` builds a deposit, a resting bid and its cancel through
/// `@coral-xyz/anchor`'s `Program.methods`, signs and sends them over HTTP, then fetches the
/// margin account through `Program.account`. Rust reads the same account over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typescript_client_deposits_places_and_cancels_over_http() {
    use client::chain::Chain;
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let user = env.create_user(10_000 * ONE_USDC).await;
    let (exchange, mint) = (env.exchange, env.mint);

    let amount = 1_234 * ONE_USDC + 5;
    let (_, deposit) = deposit_fixture(&user, &exchange, &mint, amount);
    // A resting bid (its key is predicted from the book's sequence number), then its cancel.
    let seq = orderbook::state::BookRef::parse(&env.book_data(&book).await).expect("book").header.seq_num;
    let mut args = order(Side::Bid, 97, 4, OrderType::PostOnly);
    args.client_order_id = 0xBEEF;
    let place = env.place_ix(&user, &book, args).await;
    let place = place_fixture(&place, &user, &book.venue);
    let key = orderbook::state::order_key(Side::Bid, 97, seq);
    let (_, cancel) = cancel_fixture(&user, &book.venue, key);

    let TestEnv { ctx, .. } = env;
    let opts = client::localnet::LocalnetOptions { addr: "127.0.0.1:0".parse().unwrap(), slot_ms: 100 };
    let net = client::localnet::Localnet::serve_context(opts, ctx, Default::default()).await.expect("localnet");
    let out = fixture_dir("live").join("margin-account.json");
    let _ = std::fs::remove_file(&out);
    let fixture = J::O(vec![
        ("instructions", J::A(vec![deposit, place, cancel])),
        ("accounts", J::A(vec![])),
        (
            "live",
            J::O(vec![
                ("url", J::S(net.url())),
                ("signer", J::bytes(&user.owner.to_bytes())),
                ("margin_account", J::key(&user.margin_account)),
                ("out", J::S(out.display().to_string())),
            ]),
        ),
    ]);
    check_with_node(&fixture, "live");

    // What the client did, read over HTTP by Rust: the deposit, and no order left.
    let mut rpc = client::chain::rpc::RpcChain::new(net.rpc_settings(), solana_keypair::Keypair::new());
    let view = client::decode_margin(user.margin_account, &rpc.account_data(&user.margin_account).await.unwrap())
        .expect("margin account");
    assert_eq!(view.header.collateral, amount as i64);
    assert!(view.positions.iter().all(|p| p.base_lots == 0));
    let data = rpc.account_data(&book.venue.book).await.unwrap();
    let b = orderbook::state::BookRef::parse(&data).expect("book");
    assert!(b.bids.iter().all(|(_, k, _)| k != key), "the cancelled bid is gone");
    assert_eq!(b.header.seq_num, seq + 1, "one order was placed");
    // Anchor's decode, fetched over HTTP, says the same.
    let anchor_view: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(anchor_view["collateral"], serde_json::json!(amount.to_string()));
    assert_eq!(anchor_view["owner"], serde_json::json!(user.key().to_string()));
    net.stop().await;
}
