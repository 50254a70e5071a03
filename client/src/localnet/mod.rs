//! `localnet`: the embedded chain (the programs run natively in `solana-program-test`, with
//! the real SPL Token) behind a standard Solana JSON-RPC endpoint over HTTP, so that
//! `solana-rpc-client`, `@solana/web3.js`, `@coral-xyz/anchor`, the keeper and `migrations`
//! in other processes can use it as they use a cluster.
//!
//! The HTTP and JSON-RPC layers are `jsonrpsee`'s server (envelopes, batches, ids and the
//! standard parse / invalid-request / unknown-method errors). The chain lives on one thread
//! of its own ([`node`]); every request is a message to it, so requests are applied one at a
//! time, in arrival order. Slots advance with wall time (one per `slot_ms`) and the clock is
//! wall time plus an offset that `localnet_warp` moves forward on demand.
//!
//! Methods: `getHealth`, `getVersion`, `getGenesisHash`, `getIdentity`, `getSlot`,
//! `getBlockHeight`, `getEpochInfo`, `getLatestBlockhash`, `isBlockhashValid`,
//! `getFeeForMessage`, `getRecentPrioritizationFees`, `getMinimumBalanceForRentExemption`,
//! `getBalance`, `getAccountInfo`, `getMultipleAccounts`, `getProgramAccounts` (`dataSize`
//! and `memcmp` filters, base58 or base64 bytes), `getTokenAccountBalance`,
//! `sendTransaction`, `simulateTransaction`, `getSignatureStatuses`, `getTransaction`,
//! `requestAirdrop`, and `localnet_warp` (`[seconds]`: moves the clock and the slot on).
//! Over WebSocket on the same port: `signatureSubscribe` (what `@solana/web3.js`'s
//! `confirmTransaction` waits on; point its `wsEndpoint` at the same address).
mod node;
mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use jsonrpsee::server::{RpcModule, Server, ServerConfig, ServerHandle};
use serde_json::Value;
use solana_program_test::ProgramTest;
use tokio::sync::{mpsc, oneshot};

pub use jsonrpsee::types::ErrorObjectOwned;
pub use node::METHODS;

/// How a localnet starts.
#[derive(Debug, Clone)]
pub struct LocalnetOptions {
    /// Where to listen; port 0 picks a free one (see [`Localnet::addr`]).
    pub addr: SocketAddr,
    /// Wall-clock milliseconds per slot (0: slots move only with `localnet_warp` and
    /// transactions).
    pub slot_ms: u64,
}

impl Default for LocalnetOptions {
    fn default() -> Self {
        Self { addr: SocketAddr::from(([127, 0, 0, 1], 8899)), slot_ms: 400 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("the chain thread failed to start: {0}")]
    Chain(String),
    #[error("jsonrpsee: {0}")]
    Rpc(String),
}

/// One request to the chain thread.
pub(crate) struct Call {
    pub method: &'static str,
    pub params: Value,
    pub reply: oneshot::Sender<Result<Value, ErrorObjectOwned>>,
}

/// A running localnet: stop it with [`Localnet::stop`] (dropping it stops it too).
pub struct Localnet {
    addr: SocketAddr,
    server: ServerHandle,
    chain: Option<std::thread::JoinHandle<()>>,
    calls: mpsc::Sender<Call>,
}

impl Localnet {
    /// Boots the chain from `program_test` (on its own thread) and serves it at `opts.addr`.
    pub async fn start<F>(opts: LocalnetOptions, program_test: F) -> Result<Localnet, LocalnetError>
    where
        F: FnOnce() -> ProgramTest + Send + 'static,
    {
        Self::serve(opts, node::Source::Build(Box::new(program_test))).await
    }

    /// Serves a chain that already runs in process (an [`EmbeddedChain`] a test or the
    /// simulation brought to some state): its accounts, clock and history continue. The
    /// chain's banks server keeps running on the runtime that started it.
    ///
    /// [`EmbeddedChain`]: crate::chain::embedded::EmbeddedChain
    pub async fn serve_embedded(
        opts: LocalnetOptions,
        chain: crate::chain::embedded::EmbeddedChain,
    ) -> Result<Localnet, LocalnetError> {
        let (ctx, known) = chain.into_parts();
        Self::serve_context(opts, ctx, known).await
    }

    /// Serves a running `solana-program-test` context (a test's own chain); `known` seeds the
    /// accounts `getProgramAccounts` considers (every transaction served adds its accounts).
    pub async fn serve_context(
        opts: LocalnetOptions,
        ctx: solana_program_test::ProgramTestContext,
        known: std::collections::BTreeSet<anchor_lang::prelude::Pubkey>,
    ) -> Result<Localnet, LocalnetError> {
        Self::serve(opts, node::Source::Running(Box::new(ctx), known)).await
    }

    async fn serve(opts: LocalnetOptions, source: node::Source) -> Result<Localnet, LocalnetError> {
        let config = ServerConfig::builder().max_request_body_size(16 << 20).max_response_body_size(256 << 20).build();
        let server = Server::builder()
            .set_config(config)
            .build(opts.addr)
            .await
            .map_err(|source| LocalnetError::Listen { addr: opts.addr, source })?;
        let addr = server.local_addr().map_err(|source| LocalnetError::Listen { addr: opts.addr, source })?;
        let (calls, inbox) = mpsc::channel::<Call>(1024);
        let (ready_tx, ready) = oneshot::channel::<Result<(), String>>();
        let slot = Duration::from_millis(opts.slot_ms);
        let chain = std::thread::Builder::new()
            .name("localnet-chain".into())
            .spawn(move || node::run(source, slot, inbox, ready_tx))
            .map_err(|e| LocalnetError::Chain(e.to_string()))?;
        ready.await.map_err(|e| LocalnetError::Chain(e.to_string()))?.map_err(LocalnetError::Chain)?;

        let mut module = RpcModule::new(calls.clone());
        for &method in METHODS {
            module
                .register_async_method(method, move |params, calls, _| async move {
                    let params = match params.as_str() {
                        None => Value::Null,
                        Some(raw) => serde_json::from_str(raw).map_err(|e| wire::invalid_params(e.to_string()))?,
                    };
                    ask(&calls, method, params).await
                })
                .map_err(|e| LocalnetError::Rpc(e.to_string()))?;
        }
        module
            .register_subscription(
                "signatureSubscribe",
                "signatureNotification",
                "signatureUnsubscribe",
                |params, pending, calls, _| async move {
                    let sig = params
                        .as_str()
                        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
                        .and_then(|v| v.get(0).and_then(Value::as_str).map(str::to_string));
                    let Some(sig) = sig else {
                        pending.reject(wire::invalid_params("expected [signature, config]")).await;
                        return Ok(());
                    };
                    let sink = pending.accept().await?;
                    signature_notification(&calls, &sink, &sig).await
                },
            )
            .map_err(|e| LocalnetError::Rpc(e.to_string()))?;
        let server = server.start(module);
        tracing::info!(%addr, "localnet serving JSON-RPC");
        Ok(Localnet { addr, server, chain: Some(chain), calls })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Settings for an [`RpcChain`] on this endpoint: confirmed commitment, and status
    /// polls every 20 ms (a transaction lands when it is sent).
    ///
    /// [`RpcChain`]: crate::chain::rpc::RpcChain
    pub fn rpc_settings(&self) -> crate::chain::rpc::RpcSettings {
        use crate::chain::rpc::{RetryPolicy, RpcSettings};
        RpcSettings {
            url: self.url(),
            commitment: solana_commitment_config::CommitmentLevel::Confirmed,
            retry: RetryPolicy { poll_interval: Duration::from_millis(20), ..RetryPolicy::default() },
            ..RpcSettings::default()
        }
    }

    /// Calls a method in-process, as a client over HTTP would (tests, `keeper localnet`).
    pub async fn call(&self, method: &'static str, params: Value) -> Result<Value, ErrorObjectOwned> {
        ask(&self.calls, method, params).await
    }

    /// Funds `to` from the faucet (`requestAirdrop`); it has landed when this returns.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<(), ErrorObjectOwned> {
        self.call("requestAirdrop", serde_json::json!([to.to_string(), lamports])).await.map(drop)
    }

    /// Writes `account` at `key` (`localnet_setAccount`): a price feed, a mint.
    pub async fn set_account(&self, key: &Pubkey, account: &solana_account::Account) -> Result<(), ErrorObjectOwned> {
        use base64::prelude::{Engine, BASE64_STANDARD};
        let fields = serde_json::json!({
            "lamports": account.lamports,
            "owner": account.owner.to_string(),
            "data": BASE64_STANDARD.encode(&account.data),
            "executable": account.executable,
        });
        self.call("localnet_setAccount", serde_json::json!([key.to_string(), fields])).await.map(drop)
    }

    /// Stops serving, then stops the chain.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Resolves when the server has stopped (after [`Localnet::stop`] or a failure).
    pub async fn stopped(&self) {
        self.server.clone().stopped().await
    }

    async fn shutdown(&mut self) {
        let _ = self.server.stop();
        self.server.clone().stopped().await;
        let _ = ask(&self.calls, node::SHUTDOWN, Value::Null).await;
        if let Some(t) = self.chain.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Sends one request to the chain thread and waits for its answer.
async fn ask(calls: &mpsc::Sender<Call>, method: &'static str, params: Value) -> Result<Value, ErrorObjectOwned> {
    let (reply, answer) = oneshot::channel();
    calls.send(Call { method, params, reply }).await.map_err(|_| wire::stopped())?;
    answer.await.map_err(|_| wire::stopped())?
}

/// How long a `signatureSubscribe` waits for its transaction (a blockhash lives ~60 s).
const SIGNATURE_WAIT: Duration = Duration::from_secs(120);

/// Sends one `signatureNotification` when `sig` has a status (as a validator does at the
/// subscription's commitment; every status here is final), then ends the subscription.
async fn signature_notification(
    calls: &mpsc::Sender<Call>,
    sink: &jsonrpsee::core::server::SubscriptionSink,
    sig: &str,
) -> Result<(), jsonrpsee::core::SubscriptionError> {
    let deadline = tokio::time::Instant::now() + SIGNATURE_WAIT;
    while !sink.is_closed() && tokio::time::Instant::now() < deadline {
        let statuses = ask(calls, "getSignatureStatuses", serde_json::json!([[sig]]))
            .await
            .map_err(|e| e.message().to_string())?;
        if let Some(status) = statuses["value"].get(0).filter(|s| !s.is_null()) {
            let value = serde_json::json!({
                "context": { "slot": status["slot"] },
                "value": { "err": status["err"] },
            });
            let raw = jsonrpsee::core::to_json_raw_value(&value).map_err(|e| e.to_string())?;
            sink.send(raw).await.map_err(|e| e.to_string())?;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.server.stop();
        let (reply, _) = oneshot::channel();
        let _ = self.calls.try_send(Call { method: node::SHUTDOWN, params: Value::Null, reply });
    }
}
