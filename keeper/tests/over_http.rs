//! The keeper as an operator runs it, over the wire: the simulation's world (two leveraged
//! longs below maintenance after SOL fell to $136) is served by `localnet` on an ephemeral
//! port, and the `keeper` binary runs `run --config FILE` against it over HTTP
//! (`solana-rpc-client`): it updates funding, samples marks, sets margins from a CSV of
//! daily closes and liquidates both longs, then stops cleanly on SIGTERM. Two keepers at
//! once against one endpoint apply nothing twice and break no invariant.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use client::chain::rpc::RpcChain;
use client::chain::Chain;
use client::localnet::{Localnet, LocalnetOptions};
use client::Liabilities;
use common::*;
use keeper::sim::world::{PriceUpdate, SimMarket, World};
use perpetual::sdk;
use perpetual::state::Market;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A day and a minute: margins may change again, and a mark sample is due.
const LATER: i64 = 86_400 + 61;

struct Served {
    net: Localnet,
    rpc: RpcChain,
    keeper: Keypair,
    exchange: Pubkey,
    mint: Pubkey,
    sol: Pubkey,
    longs: Vec<Pubkey>,
    dir: PathBuf,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keeper-over-http-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Publishes every market's price at the localnet's clock, as the simulation does: the Pyth
/// account written, the settable oracle set by a transaction over HTTP.
async fn publish(net: &Localnet, rpc: &mut RpcChain, admin: &Keypair, markets: &[SimMarket]) {
    let now = rpc.unix_time().await.unwrap();
    for m in markets {
        match m.price_update(&admin.pubkey(), now) {
            Some(PriceUpdate::Account(account)) => net.set_account(&m.oracle, &account).await.unwrap(),
            Some(PriceUpdate::Instruction(ix)) => {
                rpc.send(&[ix], &[admin]).await.expect("set_oracle_price over HTTP");
            }
            None => {}
        }
    }
}

/// The world with its liquidatable longs, the keeper's own margin account funded (it takes
/// positions over), served over HTTP a day later with fresh prices.
async fn serve(seed: u64, name: &str) -> Served {
    let (mut w, longs) = liquidatable_longs(seed, &[200, 200]).await;
    let keeper = w.keeper.insecure_clone();
    let tokens = w.token_account(&keeper.pubkey(), 50_000 * USDC).await.unwrap();
    let account = sdk::margin_account_address(&w.exchange, &keeper.pubkey(), 0);
    let payer = w.chain.payer().pubkey();
    w.chain
        .send(&[solana_system_interface::instruction::transfer(&payer, &keeper.pubkey(), 10_000_000_000)], &[])
        .await
        .unwrap();
    w.chain.send(&[sdk::create_margin_account(&keeper.pubkey(), &w.exchange, 0, 16)], &[&keeper]).await.unwrap();
    let deposit = sdk::deposit(&keeper.pubkey(), &w.exchange, &w.mint, &account, &tokens, 50_000 * USDC);
    w.chain.send(&[deposit], &[&keeper]).await.unwrap();

    let World { chain, admin, exchange, mint, markets, .. } = w;
    let sol = markets[SOL].market;
    let net = Localnet::serve_embedded(LocalnetOptions { addr: "127.0.0.1:0".parse().unwrap(), slot_ms: 100 }, chain)
        .await
        .expect("localnet serves the world");
    let mut rpc = RpcChain::new(net.rpc_settings(), keeper.insecure_clone());
    net.call("localnet_warp", serde_json::json!([LATER])).await.unwrap();
    publish(&net, &mut rpc, &admin, &markets).await;
    Served { net, rpc, keeper, exchange, mint, sol, longs, dir: temp_dir(name) }
}

/// The keeper's files: its keypair (Solana CLI format) and a config naming the endpoint, a
/// CSV of daily closes for SOL-PERP's margins, and one-second loops.
fn write_config(s: &Served) -> PathBuf {
    let keypair = s.dir.join("keeper.json");
    std::fs::write(&keypair, serde_json::to_string(&s.keeper.to_bytes().to_vec()).unwrap()).unwrap();
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sol_usd_daily.csv");
    let config = format!(
        r#"
[cluster]
rpc_url = "{url}"
keypair = "{keypair}"
commitment = "confirmed"
priority_fee_micro_lamports = 0
poll_interval_ms = 20
[exchange]
collateral_mint = "{mint}"
[loops]
funding_secs = 1
mark_secs = 1
margins_secs = 1
risk_secs = 1
final_settlement_secs = 0
listing_secs = 0
[[margins.markets]]
symbol = "SOL-PERP"
csv = "{csv}"
"#,
        url = s.net.url(),
        keypair = keypair.display(),
        mint = s.mint,
        csv = csv.display(),
    );
    let path = s.dir.join("keeper.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn spawn_keeper(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keeper"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "keeper=info,error")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the keeper binary starts")
}

/// SIGTERM, as a service manager stops it; the keeper must exit 0 within a few seconds.
fn stop(mut child: Child, log: &Path) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            assert!(status.success(), "the keeper exits cleanly on SIGTERM ({status}):\n{text}");
            assert!(text.contains("stopping"), "the keeper says it stops:\n{text}");
            return;
        }
        assert!(Instant::now() < deadline, "the keeper did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn market(rpc: &mut RpcChain, key: &Pubkey) -> Market {
    client::decode_market(&rpc.account_data(key).await.unwrap()).expect("market")
}

async fn lots(rpc: &mut RpcChain, account: &Pubkey, market: &Pubkey) -> i64 {
    let view = client::decode_margin(*account, &rpc.account_data(account).await.unwrap()).expect("margin account");
    lots_in(&view, market)
}

/// Whether every one of `longs` has been (at least partly) taken over.
async fn all_taken_over(rpc: &mut RpcChain, longs: &[Pubkey], market: &Pubkey) -> bool {
    for a in longs {
        if lots(rpc, a, market).await >= LOTS as i64 {
            return false;
        }
    }
    true
}

/// The vault holds exactly what the exchange owes, read over HTTP.
async fn assert_vault_balances(rpc: &mut RpcChain, exchange: &Pubkey) {
    let ex = client::discovery::exchange(rpc, exchange).await.unwrap();
    let accounts = client::discovery::margin_accounts(rpc, exchange).await.unwrap();
    let markets = client::discovery::markets(rpc, exchange).await.unwrap();
    let l = Liabilities::of(&ex, accounts.iter().map(|a| a.header.collateral), markets.iter().map(|(_, m)| m));
    let vault = client::decode_token_amount(&rpc.account_data(&sdk::vault_address(exchange)).await.unwrap())
        .expect("vault token account");
    assert!(l.balances(vault), "vault {vault} against liabilities {l:?}");
    let net: i64 = markets.iter().map(|(_, m)| m.pending_seat_lots).sum::<i64>()
        + accounts.iter().flat_map(|a| a.positions.iter().map(|p| p.base_lots)).sum::<i64>();
    assert_eq!(net, 0, "longs and shorts balance, pending seat lots included");
}

/// Polls until `done` holds (or fails after `secs`).
async fn until<F, Fut>(secs: u64, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_run_cranks_funding_marks_margins_and_liquidations_over_http_then_stops_on_sigterm() {
    let mut s = serve(51, "one").await;
    let before = market(&mut s.rpc, &s.sol).await;
    for a in &s.longs {
        assert_eq!(lots(&mut s.rpc, a, &s.sol).await, LOTS as i64, "{a} holds its long before the keeper runs");
    }
    let config = write_config(&s);
    let log = s.dir.join("keeper.log");
    let child = spawn_keeper(&config, &log);

    let (rpc, sol, longs) = (std::sync::Arc::new(tokio::sync::Mutex::new(s.rpc)), s.sol, s.longs.clone());
    until(90, "funding, a mark sample, margins and both liquidations", || {
        let rpc = rpc.clone();
        let longs = longs.clone();
        async move {
            let mut rpc = rpc.lock().await;
            let m = market(&mut rpc, &sol).await;
            let liquidated = all_taken_over(&mut rpc, &longs, &sol).await;
            m.funding_last_update_ts > before.funding_last_update_ts
                && m.mark_last_sample_ts > before.mark_last_sample_ts
                && m.margins_updated_ts > before.margins_updated_ts
                && liquidated
        }
    })
    .await;
    stop(child, &log);
    let mut rpc = std::sync::Arc::try_unwrap(rpc).ok().expect("one owner").into_inner();
    assert_vault_balances(&mut rpc, &s.exchange).await;
    s.net.stop().await;
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// Two keepers with the same configuration run at once against one endpoint (a redundant
/// deployment). Every crank is guarded on chain, so whichever lands second is refused or
/// finds nothing to do: the longs are taken over exactly as far as one keeper takes them
/// (the same lots as in a run with one keeper from the same world), margins change once,
/// and the vault still balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_keepers_at_once_apply_nothing_twice() {
    let mut results = vec![];
    for keepers in [1usize, 2] {
        let mut s = serve(52, &format!("keepers-{keepers}")).await;
        let before = market(&mut s.rpc, &s.sol).await;
        let config = write_config(&s);
        let children: Vec<(Child, PathBuf)> = (0..keepers)
            .map(|i| {
                let log = s.dir.join(format!("keeper-{i}.log"));
                (spawn_keeper(&config, &log), log)
            })
            .collect();
        let (sol, longs) = (s.sol, s.longs.clone());
        let rpc = std::sync::Arc::new(tokio::sync::Mutex::new(s.rpc));
        until(90, "both liquidations and a margins update", || {
            let (rpc, longs) = (rpc.clone(), longs.clone());
            async move {
                let mut rpc = rpc.lock().await;
                let m = market(&mut rpc, &sol).await;
                all_taken_over(&mut rpc, &longs, &sol).await && m.margins_updated_ts > before.margins_updated_ts
            }
        })
        .await;
        // Let every loop run a few more times: nothing more may happen to the longs.
        tokio::time::sleep(Duration::from_secs(3)).await;
        for (child, log) in children {
            stop(child, &log);
        }
        let mut rpc = std::sync::Arc::try_unwrap(rpc).ok().expect("one owner").into_inner();
        let m = market(&mut rpc, &sol).await;
        let mut left = vec![];
        for a in &longs {
            left.push(lots(&mut rpc, a, &sol).await);
        }
        assert_vault_balances(&mut rpc, &s.exchange).await;
        results.push((left, m.init_margin_long_bps, m.init_margin_short_bps));
        s.net.stop().await;
        let _ = std::fs::remove_dir_all(&s.dir);
    }
    assert_eq!(results[0], results[1], "two keepers leave what one keeper leaves");
}

/// The README's local run, in process on an ephemeral port: `keeper localnet --migrate
/// keeper/localnet/migrate.toml`, then `keeper run --config keeper/localnet/keeper.toml
/// --once`. Both files load, name files that exist and agree on the exchange; the keeper's
/// loops all run without a failed crank, and its margins loop sets the market's margins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_localnet_files_run_as_written() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("localnet");
    let mut cfg = keeper::config::Config::load(Some(&dir.join("keeper.toml"))).expect("keeper.toml loads");
    for f in cfg.history_files() {
        assert!(f.is_file(), "{} exists", f.display());
    }
    let keeper = cfg.cluster.read_keypair().expect("the keeper's keypair file");
    let migrate = migrations::MigrationConfig::load(&dir.join("migrate.toml")).expect("migrate.toml loads");
    assert_eq!(migrate.exchange.collateral_mint, cfg.exchange.collateral_mint.unwrap(), "one exchange");
    assert_eq!(migrate.cluster.read_keypair().unwrap().pubkey(), keeper.pubkey(), "the keeper is the admin");

    let net = keeper::localnet::start("127.0.0.1:0".parse().unwrap(), 100, Some(&dir.join("migrate.toml")))
        .await
        .expect("localnet with the migration");
    cfg.cluster.rpc_url = net.url();
    let mut chain = cfg.cluster.rpc_chain().unwrap();
    let exchange = cfg.exchange_address().unwrap();
    let markets = client::discovery::markets(&mut chain, &exchange).await.unwrap();
    assert_eq!(markets.len(), migrate.markets.len());
    let metrics = keeper::metrics::Metrics::new();
    for name in keeper::runner::LOOPS {
        let r = keeper::runner::run_loop(&mut chain, &cfg, &exchange, &keeper, &metrics, name).await;
        assert_eq!(r.expect(name).failed, 0, "{name}: no failed crank");
    }
    let (key, before) = &markets[0];
    let after = market(&mut chain, key).await;
    assert!(after.margins_updated_ts > before.margins_updated_ts, "the margins loop set PRE-PERP's margins");
    net.stop().await;
}
