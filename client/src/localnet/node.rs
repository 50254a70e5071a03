//! The chain thread of `localnet`: owns the `solana-program-test` context and answers one
//! request at a time. Everything that depends on the chain is computed here.
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anchor_lang::prelude::Pubkey;
use base64::prelude::{Engine, BASE64_STANDARD};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{json, Value};
use solana_account::{Account, AccountSharedData};
use solana_clock::Clock;
use solana_commitment_config::CommitmentLevel;
use solana_keypair::Keypair;
use solana_message::VersionedMessage;
use solana_program_pack::Pack;
use solana_program_test::{ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Hash, Message, Signature, Transaction};
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{UiReturnDataEncoding, UiTransactionError, UiTransactionReturnData};
use tokio::sync::{mpsc, oneshot};

use super::wire::{self, account_format, internal, invalid_params, with_context, Params};
use super::Call;

/// The `solana-core` version `getVersion` reports (the crates this node is built from).
pub const VERSION: &str = "3.1.12";
/// Blockhashes a transaction may be signed with before it expires (Solana's
/// `MAX_PROCESSING_AGE`); block height = the latest blockhash's last valid height − this.
const MAX_PROCESSING_AGE: u64 = 150;
/// Lamports per signature (the cluster default).
const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// Transactions whose status and logs are kept (the oldest are forgotten first), so a node
/// that runs for days holds a bounded history.
const HISTORY: usize = 200_000;
/// Internal message that stops the chain thread.
pub const SHUTDOWN: &str = "localnet_shutdown";

/// Every method the endpoint serves.
pub const METHODS: &[&str] = &[
    "getHealth",
    "getVersion",
    "getGenesisHash",
    "getIdentity",
    "getSlot",
    "getBlockHeight",
    "getEpochInfo",
    "getLatestBlockhash",
    "isBlockhashValid",
    "getFeeForMessage",
    "getRecentPrioritizationFees",
    "getMinimumBalanceForRentExemption",
    "getBalance",
    "getAccountInfo",
    "getMultipleAccounts",
    "getProgramAccounts",
    "getTokenAccountBalance",
    "sendTransaction",
    "simulateTransaction",
    "getSignatureStatuses",
    "getTransaction",
    "requestAirdrop",
    "localnet_warp",
    "localnet_setAccount",
];

/// A transaction that landed (successfully or not).
struct Landed {
    slot: u64,
    block_time: i64,
    transaction: VersionedTransaction,
    err: Option<TransactionError>,
    logs: Vec<String>,
    units: u64,
    return_data: Option<(Pubkey, Vec<u8>)>,
}

struct Node {
    ctx: ProgramTestContext,
    faucet: Keypair,
    slot: u64,
    /// Seconds added to wall time for the cluster clock (`localnet_warp`).
    offset: i64,
    /// Accounts any transaction, airdrop or `localnet_setAccount` named: the bank is
    /// private, so `getProgramAccounts` filters these.
    known: BTreeSet<Pubkey>,
    landed: HashMap<Signature, Landed>,
    /// `landed`'s signatures, oldest first.
    history: VecDeque<Signature>,
    transaction_count: u64,
    airdrops: u64,
}

type Answer = Result<Value, ErrorObjectOwned>;

/// Where the chain comes from.
pub enum Source {
    /// A new chain from this `ProgramTest`.
    Build(Box<dyn FnOnce() -> ProgramTest + Send>),
    /// A chain already running, and the accounts its transactions named.
    Running(Box<ProgramTestContext>, BTreeSet<Pubkey>),
}

/// The chain thread's body: boots the chain, reports readiness, then serves `inbox` and
/// advances a slot every `slot` (when not zero) until told to stop.
pub fn run(
    source: Source,
    slot: Duration,
    mut inbox: mpsc::Receiver<Call>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    runtime.block_on(async move {
        let (ctx, known) = match source {
            Source::Build(program_test) => (program_test().start_with_context().await, BTreeSet::new()),
            Source::Running(ctx, known) => (*ctx, known),
        };
        let mut node = match Node::new(ctx, known).await {
            Ok(n) => n,
            Err(e) => {
                let _ = ready.send(Err(e.message().to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let mut ticker = tokio::time::interval(if slot.is_zero() { Duration::from_secs(3600) } else { slot });
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                call = inbox.recv() => {
                    let Some(call) = call else { break };
                    if call.method == SHUTDOWN {
                        let _ = call.reply.send(Ok(Value::Null));
                        break;
                    }
                    let answer = node.handle(call.method, call.params).await;
                    let _ = call.reply.send(answer);
                }
                _ = ticker.tick(), if !slot.is_zero() => {
                    if let Err(e) = node.next_slot().await {
                        tracing::warn!(error = %e.message(), "localnet: advancing the slot failed");
                    }
                }
            }
        }
    });
}

fn wall_clock() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn banks(e: impl std::fmt::Display) -> ErrorObjectOwned {
    internal(e)
}

impl Node {
    async fn new(ctx: ProgramTestContext, known: BTreeSet<Pubkey>) -> Result<Node, ErrorObjectOwned> {
        let faucet = ctx.payer.insecure_clone();
        // The clock continues from the chain's own time (a served chain may be in the past).
        let clock: Clock = ctx.banks_client.get_sysvar().await.map_err(banks)?;
        let slot = clock.slot;
        let mut node = Node {
            ctx,
            faucet,
            slot,
            offset: clock.unix_timestamp - wall_clock(),
            known,
            landed: HashMap::new(),
            history: VecDeque::new(),
            transaction_count: 0,
            airdrops: 0,
        };
        node.known.insert(node.faucet.pubkey());
        node.next_slot().await?;
        Ok(node)
    }

    /// One slot on: a new bank (and blockhash), the clock at wall time plus the offset.
    async fn next_slot(&mut self) -> Result<(), ErrorObjectOwned> {
        self.ctx.warp_to_slot(self.slot + 1).map_err(|e| internal(format!("{e:?}")))?;
        self.slot += 1;
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(banks)?;
        clock.slot = self.slot;
        // Never backwards: a warp may have put the clock ahead of wall time.
        clock.unix_timestamp = clock.unix_timestamp.max(wall_clock() + self.offset);
        self.ctx.set_sysvar(&clock);
        Ok(())
    }

    async fn now(&mut self) -> Result<i64, ErrorObjectOwned> {
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(banks)?;
        Ok(clock.unix_timestamp)
    }

    async fn latest_blockhash(&mut self) -> Result<(Hash, u64), ErrorObjectOwned> {
        self.ctx
            .banks_client
            .get_latest_blockhash_with_commitment(CommitmentLevel::Processed)
            .await
            .map_err(banks)?
            .ok_or_else(|| internal("no valid blockhash"))
    }

    async fn block_height(&mut self) -> Result<u64, ErrorObjectOwned> {
        Ok(self.latest_blockhash().await?.1.saturating_sub(MAX_PROCESSING_AGE))
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ErrorObjectOwned> {
        self.ctx.banks_client.get_account(*key).await.map_err(banks)
    }

    async fn handle(&mut self, method: &str, params: Value) -> Answer {
        let p = Params::new(params)?;
        match method {
            "getHealth" => Ok(json!("ok")),
            "getVersion" => Ok(json!({ "solana-core": VERSION, "feature-set": 0 })),
            "getGenesisHash" => Ok(json!(self.ctx.genesis_config().hash().to_string())),
            "getIdentity" => Ok(json!({ "identity": self.faucet.pubkey().to_string() })),
            "getSlot" => Ok(json!(self.slot)),
            "getBlockHeight" => Ok(json!(self.block_height().await?)),
            "getEpochInfo" => {
                let schedule = &self.ctx.genesis_config().epoch_schedule;
                let (epoch, index) = schedule.get_epoch_and_slot_index(self.slot);
                let slots = schedule.get_slots_in_epoch(epoch);
                let height = self.block_height().await?;
                Ok(json!({
                    "absoluteSlot": self.slot, "blockHeight": height, "epoch": epoch, "slotIndex": index,
                    "slotsInEpoch": slots, "transactionCount": self.transaction_count,
                }))
            }
            "getLatestBlockhash" => {
                let (hash, last_valid) = self.latest_blockhash().await?;
                Ok(with_context(
                    self.slot,
                    json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid }),
                ))
            }
            "isBlockhashValid" => {
                let text: String = p.get(0, "blockhash")?;
                let hash: Hash = text.parse().map_err(|_| invalid_params(format!("blockhash: {text}")))?;
                let valid = self.blockhash_valid(&hash).await?;
                Ok(with_context(self.slot, json!(valid)))
            }
            "getFeeForMessage" => {
                let text: String = p.get(0, "message")?;
                let bytes = BASE64_STANDARD.decode(&text).map_err(|e| invalid_params(format!("message: {e}")))?;
                let message: VersionedMessage =
                    bincode::deserialize(&bytes).map_err(|e| invalid_params(format!("message: {e}")))?;
                let valid = self.blockhash_valid(message.recent_blockhash()).await?;
                Ok(with_context(self.slot, if valid { json!(fee(&message)) } else { Value::Null }))
            }
            "getRecentPrioritizationFees" => Ok(json!([])),
            "getMinimumBalanceForRentExemption" => {
                let len: usize = p.get(0, "data length")?;
                let rent = self.ctx.banks_client.get_rent().await.map_err(banks)?;
                Ok(json!(rent.minimum_balance(len)))
            }
            "getBalance" => {
                let key = p.pubkey(0, "account")?;
                let lamports = self.account(&key).await?.map(|a| a.lamports).unwrap_or(0);
                Ok(with_context(self.slot, json!(lamports)))
            }
            "getAccountInfo" => {
                let key = p.pubkey(0, "account")?;
                let (encoding, slice) = account_format(&p.config(1)?)?;
                let value = match self.account(&key).await? {
                    Some(a) => wire::ui_account(&a, encoding, slice),
                    None => Value::Null,
                };
                Ok(with_context(self.slot, value))
            }
            "getMultipleAccounts" => {
                let keys: Vec<String> = p.get(0, "accounts")?;
                if keys.len() > 100 {
                    return Err(invalid_params("too many accounts provided; max 100"));
                }
                let (encoding, slice) = account_format(&p.config(1)?)?;
                let mut out = vec![];
                for k in keys {
                    let key: Pubkey = k.parse().map_err(|_| invalid_params(format!("account: {k}")))?;
                    out.push(match self.account(&key).await? {
                        Some(a) => wire::ui_account(&a, encoding, slice),
                        None => Value::Null,
                    });
                }
                Ok(with_context(self.slot, Value::Array(out)))
            }
            "getProgramAccounts" => self.program_accounts(&p).await,
            "getTokenAccountBalance" => {
                let key = p.pubkey(0, "token account")?;
                let account =
                    self.account(&key).await?.ok_or_else(|| invalid_params("Invalid param: could not find account"))?;
                let token = spl_token_interface::state::Account::unpack(&account.data)
                    .map_err(|_| invalid_params("Invalid param: not a Token account"))?;
                let mint = self
                    .account(&token.mint)
                    .await?
                    .ok_or_else(|| invalid_params("Invalid param: could not find mint"))?;
                let decimals = spl_token_interface::state::Mint::unpack(&mint.data)
                    .map_err(|_| invalid_params("Invalid param: not a Token mint"))?
                    .decimals;
                let ui = token.amount as f64 / 10f64.powi(decimals as i32);
                Ok(with_context(
                    self.slot,
                    json!({ "amount": token.amount.to_string(), "decimals": decimals, "uiAmount": ui, "uiAmountString": ui.to_string() }),
                ))
            }
            "sendTransaction" => self.send_transaction(&p).await,
            "simulateTransaction" => self.simulate_transaction(&p).await,
            "getSignatureStatuses" => {
                let sigs: Vec<String> = p.get(0, "signatures")?;
                if sigs.len() > 256 {
                    return Err(invalid_params("too many signatures; max 256"));
                }
                let mut out = vec![];
                for s in sigs {
                    let sig: Signature = s.parse().map_err(|_| invalid_params(format!("signature: {s}")))?;
                    out.push(match self.landed.get(&sig) {
                        Some(t) => {
                            let (err, status) = status_json(&t.err);
                            json!({ "slot": t.slot, "confirmations": null, "err": err, "status": status, "confirmationStatus": "finalized" })
                        }
                        None => Value::Null,
                    });
                }
                Ok(with_context(self.slot, Value::Array(out)))
            }
            "getTransaction" => {
                let s: String = p.get(0, "signature")?;
                let sig: Signature = s.parse().map_err(|_| invalid_params(format!("signature: {s}")))?;
                let cfg = p.config(1)?;
                Ok(match self.landed.get(&sig) {
                    Some(t) => {
                        transaction_json(t, cfg.str("encoding"), cfg.get("maxSupportedTransactionVersion").is_some())
                    }
                    None => Value::Null,
                })
            }
            "requestAirdrop" => {
                let to = p.pubkey(0, "account")?;
                let lamports: u64 = p.get(1, "lamports")?;
                let (hash, _) = self.latest_blockhash().await?;
                // A varying compute limit keeps two equal airdrops in one blockhash distinct.
                self.airdrops += 1;
                let ixs = [
                    solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(
                        200_000 - (self.airdrops % 100_000) as u32,
                    ),
                    solana_system_interface::instruction::transfer(&self.faucet.pubkey(), &to, lamports),
                ];
                let tx = Transaction::new_signed_with_payer(&ixs, Some(&self.faucet.pubkey()), &[&self.faucet], hash);
                let sig = tx.signatures[0];
                match self.execute(tx.into()).await? {
                    None => Ok(json!(sig.to_string())),
                    Some(e) => Err(internal(format!("airdrop failed: {e}"))),
                }
            }
            "localnet_warp" => {
                let secs: i64 = p.get(0, "seconds")?;
                if !(0..=10 * 365 * 86_400).contains(&secs) {
                    return Err(invalid_params("seconds: 0 to ten years"));
                }
                self.offset += secs;
                let before = self.now().await?;
                self.next_slot().await?;
                // The slot's clock moves on by at least `secs`, even if wall time lags it.
                let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(banks)?;
                clock.unix_timestamp = clock.unix_timestamp.max(before + secs);
                self.ctx.set_sysvar(&clock);
                Ok(json!({ "slot": self.slot, "unixTimestamp": clock.unix_timestamp }))
            }
            "localnet_setAccount" => {
                let key = p.pubkey(0, "account")?;
                let spec: Value = p.get(1, "account fields")?;
                let lamports =
                    spec.get("lamports").and_then(Value::as_u64).ok_or_else(|| invalid_params("lamports"))?;
                let owner: Pubkey = spec
                    .get("owner")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| invalid_params("owner"))?;
                let data = match spec.get("data").and_then(Value::as_str) {
                    Some(d) => BASE64_STANDARD.decode(d).map_err(|e| invalid_params(format!("data: {e}")))?,
                    None => vec![],
                };
                let executable = spec.get("executable").and_then(Value::as_bool).unwrap_or(false);
                let account = Account { lamports, data, owner, executable, rent_epoch: 0 };
                self.ctx.set_account(&key, &AccountSharedData::from(account));
                self.known.insert(key);
                Ok(Value::Null)
            }
            other => Err(internal(format!("method {other} is registered but not served"))),
        }
    }

    async fn blockhash_valid(&mut self, hash: &Hash) -> Result<bool, ErrorObjectOwned> {
        let message = Message::new_with_blockhash(&[], Some(&self.faucet.pubkey()), hash);
        Ok(self.ctx.banks_client.get_fee_for_message(message).await.map_err(banks)?.is_some())
    }

    async fn program_accounts(&mut self, p: &Params) -> Answer {
        let program = p.pubkey(0, "program id")?;
        let cfg = p.config(1)?;
        let (encoding, slice) = account_format(&cfg)?;
        let filters = match cfg.get("filters") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(fs)) => fs.iter().map(wire::parse_filter).collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid_params("filters must be an array")),
        };
        if filters.len() > 4 {
            return Err(invalid_params("too many filters provided; max 4"));
        }
        let mut out = vec![];
        for key in self.known.clone() {
            let Some(a) = self.account(&key).await? else { continue };
            if a.owner == program && filters.iter().all(|f| f.matches(&a.data)) {
                out.push(json!({ "pubkey": key.to_string(), "account": wire::ui_account(&a, encoding, slice) }));
            }
        }
        Ok(if cfg.bool("withContext") { with_context(self.slot, Value::Array(out)) } else { Value::Array(out) })
    }

    fn decode(p: &Params) -> Result<VersionedTransaction, ErrorObjectOwned> {
        let text: String = p.get(0, "transaction")?;
        let bytes = wire::decode_transaction(&text, &p.config(1)?)?;
        bincode::deserialize(&bytes)
            .map_err(|e| invalid_params(format!("failed to deserialize VersionedTransaction: {e}")))
    }

    async fn send_transaction(&mut self, p: &Params) -> Answer {
        let tx = Self::decode(p)?;
        let sig = *tx.signatures.first().ok_or_else(|| invalid_params("a transaction needs a signature"))?;
        // A rebroadcast of a transaction that landed: the same signature, nothing applied.
        if self.landed.contains_key(&sig) {
            return Ok(json!(sig.to_string()));
        }
        if tx.verify_with_results().iter().any(|ok| !ok) {
            return Err(wire::signature_failure());
        }
        let cfg = p.config(1)?;
        if !cfg.bool("skipPreflight") {
            let sim = self.simulate(tx.clone()).await?;
            if let Some(e) = &sim.err {
                return Err(ErrorObjectOwned::owned(
                    wire::PREFLIGHT_FAILURE,
                    format!("Transaction simulation failed: {e}"),
                    Some(sim.to_json()),
                ));
            }
        }
        // Like a validator with preflight skipped: the signature comes back either way; a
        // transaction that cannot land (expired blockhash, unfunded payer) has no status.
        self.execute(tx).await?;
        Ok(json!(sig.to_string()))
    }

    /// Processes `tx`; records it when it landed. Returns its error, if any.
    async fn execute(&mut self, tx: VersionedTransaction) -> Result<Option<TransactionError>, ErrorObjectOwned> {
        let sig = tx.signatures[0];
        let res = self.ctx.banks_client.process_transaction_with_metadata(tx.clone()).await.map_err(banks)?;
        let err = res.result.err();
        let landed = matches!(err, None | Some(TransactionError::InstructionError(..)));
        if landed {
            self.known.extend(tx.message.static_account_keys().iter().copied());
            let (logs, units, return_data) = match res.metadata {
                Some(m) => (m.log_messages, m.compute_units_consumed, m.return_data.map(|r| (r.program_id, r.data))),
                None => (vec![], 0, None),
            };
            let block_time = self.now().await?;
            self.transaction_count += 1;
            if self.history.len() == HISTORY {
                if let Some(old) = self.history.pop_front() {
                    self.landed.remove(&old);
                }
            }
            self.history.push_back(sig);
            self.landed.insert(
                sig,
                Landed { slot: self.slot, block_time, transaction: tx, err: err.clone(), logs, units, return_data },
            );
        }
        Ok(err)
    }

    async fn simulate(&mut self, tx: VersionedTransaction) -> Result<Simulated, ErrorObjectOwned> {
        let sim = self.ctx.banks_client.simulate_transaction(tx).await.map_err(banks)?;
        let details = sim.simulation_details;
        Ok(Simulated {
            err: sim.result.and_then(Result::err),
            logs: details.as_ref().map(|d| d.logs.clone()),
            units: details.as_ref().map(|d| d.units_consumed),
            return_data: details.and_then(|d| d.return_data).map(|r| ui_return_data(&r.program_id, &r.data)),
        })
    }

    async fn simulate_transaction(&mut self, p: &Params) -> Answer {
        let mut tx = Self::decode(p)?;
        let cfg = p.config(1)?;
        if cfg.bool("sigVerify") && tx.verify_with_results().iter().any(|ok| !ok) {
            return Err(wire::signature_failure());
        }
        let mut replacement = None;
        if cfg.bool("replaceRecentBlockhash") {
            let (hash, last_valid) = self.latest_blockhash().await?;
            tx.message.set_recent_blockhash(hash);
            replacement = Some(json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid }));
        }
        let mut value = self.simulate(tx).await?.to_json();
        if let Some(r) = replacement {
            value["replacementBlockhash"] = r;
        }
        Ok(with_context(self.slot, value))
    }
}

/// A simulation's outcome.
struct Simulated {
    err: Option<TransactionError>,
    logs: Option<Vec<String>>,
    units: Option<u64>,
    return_data: Option<UiTransactionReturnData>,
}

impl Simulated {
    /// As Solana reports it: `simulateTransaction`'s value, and a preflight failure's data.
    fn to_json(&self) -> Value {
        json!({
            "err": self.err.clone().map(UiTransactionError::from),
            "logs": self.logs,
            "accounts": null,
            "unitsConsumed": self.units,
            "returnData": self.return_data,
            "innerInstructions": null,
        })
    }
}

/// A landed transaction's `err` and legacy `status` fields.
fn status_json(err: &Option<TransactionError>) -> (Value, Value) {
    let err = err.clone().map(UiTransactionError::from);
    let status = match &err {
        None => json!({ "Ok": null }),
        Some(e) => json!({ "Err": e }),
    };
    (json!(err), status)
}

/// The base fee of a message: lamports per signature it requires.
fn fee(message: &VersionedMessage) -> u64 {
    LAMPORTS_PER_SIGNATURE * message.header().num_required_signatures as u64
}

fn ui_return_data(program: &Pubkey, data: &[u8]) -> UiTransactionReturnData {
    UiTransactionReturnData {
        program_id: program.to_string(),
        data: (BASE64_STANDARD.encode(data), UiReturnDataEncoding::Base64),
    }
}

/// `getTransaction`'s answer in the "json" encoding (or the wire bytes for "base64" and
/// "base58"), with the meta fields clients read.
fn transaction_json(t: &Landed, encoding: Option<&str>, versioned: bool) -> Value {
    let message = &t.transaction.message;
    let transaction = match encoding {
        Some("base64") => {
            json!([BASE64_STANDARD.encode(bincode::serialize(&t.transaction).unwrap_or_default()), "base64"])
        }
        Some("base58") => {
            json!([bs58::encode(bincode::serialize(&t.transaction).unwrap_or_default()).into_string(), "base58"])
        }
        _ => {
            let h = message.header();
            let instructions: Vec<Value> = message
                .instructions()
                .iter()
                .map(|ix| {
                    json!({
                        "programIdIndex": ix.program_id_index,
                        "accounts": ix.accounts,
                        "data": bs58::encode(&ix.data).into_string(),
                        "stackHeight": null,
                    })
                })
                .collect();
            json!({
                "signatures": t.transaction.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "message": {
                    "header": {
                        "numRequiredSignatures": h.num_required_signatures,
                        "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
                        "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
                    },
                    "accountKeys": message.static_account_keys().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "recentBlockhash": message.recent_blockhash().to_string(),
                    "instructions": instructions,
                },
            })
        }
    };
    let (err, status) = status_json(&t.err);
    let fee = fee(message);
    let mut out = json!({
        "slot": t.slot,
        "blockTime": t.block_time,
        "transaction": transaction,
        "meta": {
            "err": err,
            "status": status,
            "fee": fee,
            "preBalances": [],
            "postBalances": [],
            "innerInstructions": [],
            "logMessages": t.logs,
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": { "writable": [], "readonly": [] },
            "returnData": t.return_data.as_ref().map(|(p, d)| ui_return_data(p, d)),
            "computeUnitsConsumed": t.units,
        },
    });
    if versioned {
        out["version"] = match message {
            VersionedMessage::Legacy(_) => json!("legacy"),
            VersionedMessage::V0(_) => json!(0),
        };
    }
    out
}
