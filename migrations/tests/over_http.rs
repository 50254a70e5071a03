//! `migrate` over HTTP: a `localnet` on an ephemeral port serves standard JSON-RPC, and the
//! migration talks to it through `RpcChain` (`solana-rpc-client`), exactly as it talks to a
//! cluster. The first run creates the example exchange and its markets; a second run sends
//! nothing and leaves every byte as it was.
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use base64::prelude::{Engine, BASE64_STANDARD};
use client::chain::rpc::RpcChain;
use client::chain::Chain;
use client::harness;
use client::localnet::{Localnet, LocalnetOptions};
use migrations::{migrate, Keys, MigrationConfig, Options, OracleSpec, Outcome};
use perpetual::sdk;
use perpetual::state::PYTH_PROGRAM_IDS;
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_rpc_client_api::request::RpcRequest;
use solana_signer::Signer;

const EXAMPLE: &str = include_str!("../migrate.example.toml");
const SOL: u64 = 1_000_000_000;

/// Airdrops over HTTP and waits for the airdrop's status.
async fn airdrop(chain: &RpcChain, to: &Pubkey, lamports: u64) {
    let sig = chain.client().request_airdrop(to, lamports).await.expect("requestAirdrop");
    for _ in 0..500 {
        if chain.client().get_signature_status(&sig).await.expect("getSignatureStatuses").is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("airdrop {sig} never landed");
}

async fn snapshot(chain: &mut RpcChain, keys: &[Pubkey]) -> Vec<(Pubkey, Option<(u64, Pubkey, Vec<u8>)>)> {
    let mut out = vec![];
    for k in keys {
        out.push((*k, chain.account(k).await.expect("getAccountInfo").map(|a| (a.lamports, a.owner, a.data))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_over_http_creates_the_exchange_then_a_second_run_changes_nothing() {
    let opts = LocalnetOptions { addr: "127.0.0.1:0".parse().unwrap(), slot_ms: 100 };
    let net = Localnet::start(opts, || harness::program_test(harness::EXCHANGE)).await.expect("localnet starts");
    assert!(net.addr().port() != 0 && net.addr().ip().is_loopback());

    let payer = Keypair::new();
    let mut chain = RpcChain::new(net.rpc_settings(), payer.insecure_clone());
    airdrop(&chain, &payer.pubkey(), 1_000 * SOL).await;
    let (admin, oracle_authority, mint) = (Keypair::new(), Keypair::new(), Keypair::new());
    for k in [admin.pubkey(), oracle_authority.pubkey()] {
        airdrop(&chain, &k, 100 * SOL).await;
    }

    // The collateral mint, created by a real transaction over HTTP.
    let space = spl_token_interface::state::Mint::LEN;
    let rent = chain.minimum_balance(space).await.unwrap();
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent,
            space as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_mint2(
            &spl_token_interface::ID,
            &mint.pubkey(),
            &payer.pubkey(),
            None,
            6,
        )
        .unwrap(),
    ];
    chain.send(&ixs, &[&mint]).await.expect("create the mint over HTTP");

    // The example's Pyth markets read real Pyth accounts: published with localnet's
    // development method, as a price feed would write them.
    let mut config = MigrationConfig::from_toml_str(EXAMPLE).expect("example parses");
    config.exchange.collateral_mint = mint.pubkey();
    let now = chain.unix_time().await.unwrap();
    for m in config.markets.iter().filter(|m| m.oracle == OracleSpec::Pyth) {
        let data = sdk::pyth_price_account_bytes(150_000_000, 50_000, -6, now, PriceStatus::Trading);
        let account = serde_json::json!({
            "lamports": SOL, "owner": PYTH_PROGRAM_IDS[0].to_string(), "data": BASE64_STANDARD.encode(data),
        });
        let params = serde_json::json!([m.pyth_price_account.unwrap().to_string(), account]);
        chain
            .client()
            .send::<serde_json::Value>(RpcRequest::Custom { method: "localnet_setAccount" }, params)
            .await
            .expect("localnet_setAccount");
    }
    let keys = Keys { upgrade_authority: harness::deployer(), admin, oracle_authority: Some(oracle_authority) };

    let first = migrate(&mut chain, &config, &keys, Options::default()).await.expect("first run over HTTP");
    println!("{}", first.render());
    assert!(first.conflicts().is_empty());
    assert_eq!(first.entry("exchange").unwrap().outcome, Outcome::Created);
    for m in &config.markets {
        assert_eq!(first.entry(&format!("market {}", m.symbol)).unwrap().outcome, Outcome::Created);
        assert_eq!(first.entry(&format!("book {}", m.symbol)).unwrap().outcome, Outcome::Created);
    }
    assert_eq!(chain.failed_transactions, 0);

    // What the migration made is found by getProgramAccounts over HTTP, as the keeper finds it.
    let exchange = sdk::exchange_address(&mint.pubkey());
    let markets = client::discovery::markets(&mut chain, &exchange).await.expect("getProgramAccounts");
    assert_eq!(markets.len(), config.markets.len());
    let mut touched = vec![mint.pubkey(), exchange, sdk::vault_address(&exchange)];
    for (key, m) in &markets {
        touched.extend([*key, m.book, m.oracle]);
        let (book, _) = client::discovery::book_of(&mut chain, key).await.unwrap().expect("the market's book");
        assert_eq!(book, m.book);
    }

    let before = snapshot(&mut chain, &touched).await;
    let sent = chain.transactions;
    let second = migrate(&mut chain, &config, &keys, Options::default()).await.expect("second run over HTTP");
    println!("{}", second.render());
    assert!(!second.changed(), "{}", second.render());
    assert_eq!((second.transactions, chain.transactions), (0, sent), "nothing sent on the second run");
    assert_eq!(snapshot(&mut chain, &touched).await, before, "every byte as it was");
    net.stop().await;
}
