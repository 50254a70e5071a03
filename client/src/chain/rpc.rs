//! A cluster through JSON-RPC: [`RpcChain`] implements [`Chain`] with
//! `solana_rpc_client`'s nonblocking client.
//!
//! Sending follows one rule: a transaction is re-signed (with a new blockhash, hence a new
//! signature) only after the cluster has moved past its blockhash's last valid block height,
//! the signature has no status and the node says the blockhash is no longer valid. Until then
//! the *same* signed transaction is polled and rebroadcast, which can land at most once. So a
//! send never has two live transactions with different signatures, and never doubles an effect.
//!
//! The policy is the pure state machine [`SendMachine`] (unit-tested without a network);
//! [`RpcChain::send`] only performs the actions it asks for.
use std::future::Future;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use base64::prelude::{Engine, BASE64_STANDARD};
use solana_account::Account;
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig, UiAccountEncoding,
};
use solana_rpc_client_api::filter::{Memcmp, MemcmpEncodedBytes, RpcFilterType};
use solana_rpc_client_api::request::RpcRequest;
use solana_signer::Signer;
use solana_transaction::{Hash, Message, Signature, Transaction};
use solana_transaction_error::TransactionError;

use super::{required_signers, Chain, ChainError, Filter, TxOutput};

/// Retry and expiry limits of one [`Chain::send`] and of every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Signed transactions (one blockhash lifetime each) before `ChainError::Expired`.
    pub max_attempts: u32,
    /// Consecutive transport/RPC errors tolerated before `ChainError::Rpc`.
    pub max_rpc_retries: u32,
    /// First backoff after an RPC error; doubles per consecutive error up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Between two signature-status polls.
    pub poll_interval: Duration,
    /// Rebroadcast the same signed transaction every this many pending polls (0: never).
    pub rebroadcast_every: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_rpc_retries: 5,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            poll_interval: Duration::from_millis(500),
            rebroadcast_every: 4,
        }
    }
}

impl RetryPolicy {
    /// Backoff after the `failures`-th consecutive RPC error (1-based): `initial * 2^(n-1)`,
    /// capped at `backoff_max`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(20);
        self.backoff_initial.saturating_mul(1u32 << shift).min(self.backoff_max)
    }
}

/// What [`SendMachine`] asks the driver to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Fetch a fresh blockhash and sign a new transaction (a new signature).
    Sign,
    /// Broadcast the current signed transaction (the same signature as before).
    Send,
    /// Query the signature's status, and the block height while it is pending.
    Poll,
    /// The block height passed the last valid one: check the status once more and ask the
    /// node whether the blockhash is still valid.
    CheckExpiry,
}

/// The next step: an action after a delay, or the end of the send.
#[derive(Debug)]
pub enum Step {
    Do { action: Action, after: Duration },
    Done(Result<(), ChainError>),
}

/// What the driver observed performing the last action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `Sign` succeeded; the new transaction is valid up to this block height.
    Signed { last_valid_block_height: u64 },
    /// `Send` was accepted (or the node had already processed the signature).
    Sent,
    /// The signature reached the configured commitment without error.
    Confirmed,
    /// A program (or the runtime) refused the transaction: in preflight simulation or in
    /// its landed status.
    Rejected(TransactionError),
    /// No status at the commitment yet; the cluster is at `block_height`.
    Pending { block_height: u64 },
    /// `CheckExpiry`: the transaction may still land (blockhash valid, or landed below the
    /// commitment).
    StillValid,
    /// `CheckExpiry`: no status and the blockhash is no longer valid: it can never land.
    Expired,
    /// A transport or RPC error during the action.
    RpcError(String),
}

/// The retry and expiry policy of one send, as a pure state machine.
#[derive(Debug, Clone)]
pub struct SendMachine {
    policy: RetryPolicy,
    attempt: u32,
    last_valid_block_height: u64,
    rpc_failures: u32,
    polls_since_send: u32,
    broadcast: bool,
    pending: Action,
}

impl SendMachine {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            attempt: 0,
            last_valid_block_height: 0,
            rpc_failures: 0,
            polls_since_send: 0,
            broadcast: false,
            pending: Action::Sign,
        }
    }

    /// The first step: sign attempt 1.
    pub fn start(&mut self) -> Step {
        self.attempt = 1;
        self.go(Action::Sign, Duration::ZERO)
    }

    /// Signed transactions so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    fn go(&mut self, action: Action, after: Duration) -> Step {
        self.pending = action;
        Step::Do { action, after }
    }

    pub fn on(&mut self, event: Event) -> Step {
        let poll = self.policy.poll_interval;
        match event {
            Event::Signed { last_valid_block_height } => {
                self.last_valid_block_height = last_valid_block_height;
                self.rpc_failures = 0;
                self.broadcast = false;
                self.go(Action::Send, Duration::ZERO)
            }
            Event::Sent => {
                self.rpc_failures = 0;
                self.broadcast = true;
                self.polls_since_send = 0;
                self.go(Action::Poll, poll)
            }
            Event::Confirmed => Step::Done(Ok(())),
            Event::Rejected(e) => Step::Done(Err(ChainError::Transaction(e))),
            Event::Pending { block_height } => {
                self.rpc_failures = 0;
                if block_height > self.last_valid_block_height {
                    return self.go(Action::CheckExpiry, Duration::ZERO);
                }
                self.polls_since_send += 1;
                if self.policy.rebroadcast_every > 0 && self.polls_since_send >= self.policy.rebroadcast_every {
                    self.go(Action::Send, Duration::ZERO)
                } else {
                    self.go(Action::Poll, poll)
                }
            }
            Event::StillValid => {
                self.rpc_failures = 0;
                self.go(Action::Poll, poll)
            }
            Event::Expired => {
                // Only here may a new signature be made: the old one can no longer land.
                if self.attempt >= self.policy.max_attempts {
                    Step::Done(Err(ChainError::Expired { attempts: self.attempt }))
                } else {
                    self.attempt += 1;
                    self.rpc_failures = 0;
                    self.go(Action::Sign, Duration::ZERO)
                }
            }
            Event::RpcError(msg) => {
                self.rpc_failures += 1;
                if self.rpc_failures > self.policy.max_rpc_retries {
                    return Step::Done(Err(ChainError::Rpc(msg)));
                }
                let wait = self.policy.backoff(self.rpc_failures);
                if self.pending == Action::Send && self.broadcast {
                    // A rebroadcast failed; the earlier broadcast may still land: keep polling.
                    self.polls_since_send = 0;
                    return self.go(Action::Poll, wait.max(poll));
                }
                // Retry the same action: the same signed transaction, never a new signature.
                self.go(self.pending, wait)
            }
        }
    }
}

/// Everything [`RpcChain`] needs besides the payer.
#[derive(Debug, Clone)]
pub struct RpcSettings {
    pub url: String,
    /// Confirmation level a send waits for, and the level of every read.
    pub commitment: CommitmentLevel,
    /// Compute-unit price (priority fee), micro-lamports per compute unit. 0: none.
    pub priority_fee_micro_lamports: u64,
    /// Compute-unit limit per transaction; `None`: 200k per instruction, at most 1.4M.
    pub compute_unit_limit: Option<u32>,
    pub retry: RetryPolicy,
    /// HTTP timeout of one RPC request.
    pub request_timeout: Duration,
    /// Skip the node's preflight simulation on the first broadcast (rebroadcasts always skip it).
    pub skip_preflight: bool,
    /// Fetch the logs and return data of each confirmed transaction (`getTransaction`).
    pub fetch_output: bool,
}

impl Default for RpcSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8899".into(),
            commitment: CommitmentLevel::Confirmed,
            priority_fee_micro_lamports: 0,
            compute_unit_limit: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            skip_preflight: false,
            fetch_output: true,
        }
    }
}

/// A real cluster.
pub struct RpcChain {
    client: RpcClient,
    payer: Keypair,
    settings: RpcSettings,
    nonce: u32,
    /// `send` calls, and those that returned an error.
    pub transactions: u64,
    pub failed_transactions: u64,
}

/// Runs `f` until it succeeds, retrying RPC errors with the policy's backoff.
async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut f: F) -> Result<T, ChainError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut failures = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                failures += 1;
                if failures > policy.max_rpc_retries {
                    return Err(ChainError::Rpc(e.to_string()));
                }
                tracing::debug!(error = %e, failures, "rpc read failed, retrying");
                tokio::time::sleep(policy.backoff(failures)).await;
            }
        }
    }
}

/// `Filter` as the RPC's filter: memcmp bytes in base64, data size as is.
pub fn rpc_filter(f: &Filter) -> RpcFilterType {
    match f {
        Filter::DataSize(n) => RpcFilterType::DataSize(*n),
        Filter::Memcmp { offset, bytes } => {
            RpcFilterType::Memcmp(Memcmp::new(*offset, MemcmpEncodedBytes::Base64(BASE64_STANDARD.encode(bytes))))
        }
    }
}

/// Logs and return data from a `getTransaction` result (`json` encoding).
pub fn parse_transaction_output(v: &serde_json::Value) -> TxOutput {
    let meta = &v["meta"];
    let logs = meta["logMessages"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let return_data =
        meta["returnData"]["data"][0].as_str().and_then(|s| BASE64_STANDARD.decode(s).ok()).unwrap_or_default();
    TxOutput { logs, return_data }
}

impl RpcChain {
    pub fn new(settings: RpcSettings, payer: Keypair) -> Self {
        let client = RpcClient::new_with_timeout_and_commitment(
            settings.url.clone(),
            settings.request_timeout,
            CommitmentConfig { commitment: settings.commitment },
        );
        Self { client, payer, settings, nonce: 0, transactions: 0, failed_transactions: 0 }
    }

    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    pub fn settings(&self) -> &RpcSettings {
        &self.settings
    }

    fn commitment(&self) -> CommitmentConfig {
        CommitmentConfig { commitment: self.settings.commitment }
    }

    /// Blockhashes, block heights and expiry are judged at least at `confirmed`: a processed
    /// block beyond the last valid height may sit on a fork that is dropped.
    fn expiry_commitment(&self) -> CommitmentConfig {
        match self.settings.commitment {
            CommitmentLevel::Finalized => CommitmentConfig::finalized(),
            _ => CommitmentConfig::confirmed(),
        }
    }

    /// The compute-budget instructions lead (every instruction resets return data). The
    /// limit is lowered by `nonce % 256` units so that two identical sends within one
    /// blockhash lifetime are distinct transactions, as on the embedded chain.
    pub fn budget_instructions(&self, ixs: &[Instruction], nonce: u32) -> Vec<Instruction> {
        let default = (200_000u64 * ixs.len().max(1) as u64).min(1_400_000) as u32;
        let limit = self.settings.compute_unit_limit.unwrap_or(default).saturating_sub(nonce % 256).max(1);
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(limit)];
        if self.settings.priority_fee_micro_lamports > 0 {
            all.push(ComputeBudgetInstruction::set_compute_unit_price(self.settings.priority_fee_micro_lamports));
        }
        all.extend_from_slice(ixs);
        all
    }

    async fn broadcast(&self, tx: &Transaction, first: bool) -> Event {
        let config = RpcSendTransactionConfig {
            skip_preflight: self.settings.skip_preflight || !first,
            preflight_commitment: Some(self.settings.commitment),
            ..Default::default()
        };
        match self.client.send_transaction_with_config(tx, config).await {
            Ok(_) => Event::Sent,
            Err(e) => match e.get_transaction_error() {
                Some(TransactionError::AlreadyProcessed) => Event::Sent,
                // The node is behind the blockhash: transient, the same transaction is retried.
                Some(TransactionError::BlockhashNotFound) => Event::RpcError(e.to_string()),
                Some(err) => Event::Rejected(err),
                None => Event::RpcError(e.to_string()),
            },
        }
    }

    /// `Some(event)` when the signature has a status at the commitment.
    async fn status(&self, sig: &Signature) -> Result<Option<Event>, ClientError> {
        let statuses = self.client.get_signature_statuses(&[*sig]).await?;
        Ok(match statuses.value.into_iter().next().flatten() {
            Some(s) if s.satisfies_commitment(self.commitment()) => Some(match s.err {
                Some(err) => Event::Rejected(err),
                None => Event::Confirmed,
            }),
            Some(_) => Some(Event::StillValid),
            None => None,
        })
    }

    async fn poll(&self, sig: &Signature) -> Event {
        match self.status(sig).await {
            Err(e) => Event::RpcError(e.to_string()),
            Ok(Some(Event::StillValid)) | Ok(None) => {
                match self.client.get_block_height_with_commitment(self.expiry_commitment()).await {
                    Ok(block_height) => Event::Pending { block_height },
                    Err(e) => Event::RpcError(e.to_string()),
                }
            }
            Ok(Some(event)) => event,
        }
    }

    async fn check_expiry(&self, sig: &Signature, blockhash: &Hash) -> Event {
        match self.status(sig).await {
            Err(e) => Event::RpcError(e.to_string()),
            Ok(Some(event)) => event,
            Ok(None) => match self.client.is_blockhash_valid(blockhash, self.expiry_commitment()).await {
                Ok(true) => Event::StillValid,
                Ok(false) => Event::Expired,
                Err(e) => Event::RpcError(e.to_string()),
            },
        }
    }

    /// Logs and return data of a confirmed transaction; empty when the node cannot serve it
    /// (the transaction landed either way, so this never fails the send).
    async fn output(&self, sig: &Signature) -> TxOutput {
        if !self.settings.fetch_output {
            return TxOutput::default();
        }
        let commitment = match self.settings.commitment {
            CommitmentLevel::Finalized => "finalized",
            _ => "confirmed",
        };
        let params = serde_json::json!([sig.to_string(), {"encoding": "json", "commitment": commitment, "maxSupportedTransactionVersion": 0}]);
        let policy = &self.settings.retry;
        for failures in 1..=policy.max_rpc_retries + 1 {
            match self.client.send::<serde_json::Value>(RpcRequest::GetTransaction, params.clone()).await {
                Ok(v) if !v.is_null() => return parse_transaction_output(&v),
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "getTransaction failed"),
            }
            tokio::time::sleep(policy.backoff(failures).max(policy.poll_interval)).await;
        }
        tracing::warn!(%sig, "confirmed, but its logs and return data could not be fetched");
        TxOutput::default()
    }

    async fn send_inner(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, ChainError> {
        self.nonce = self.nonce.wrapping_add(1);
        let all = self.budget_instructions(ixs, self.nonce);
        let payer = self.payer.insecure_clone();
        let keys = required_signers(&payer, &all, signers);
        let message = Message::new(&all, Some(&payer.pubkey()));
        let mut machine = SendMachine::new(self.settings.retry.clone());
        let mut step = machine.start();
        let mut current: Option<(Transaction, Hash)> = None;
        let mut first_broadcast = false;
        loop {
            let (action, after) = match step {
                Step::Done(Ok(())) => {
                    let (tx, _) = current.as_ref().expect("confirmed a signed transaction");
                    return Ok(self.output(&tx.signatures[0]).await);
                }
                Step::Done(Err(ChainError::Transaction(e))) => {
                    return Err(ChainError::of_caller_instructions(e, all.len() - ixs.len()))
                }
                Step::Done(Err(e)) => return Err(e),
                Step::Do { action, after } => (action, after),
            };
            if !after.is_zero() {
                tokio::time::sleep(after).await;
            }
            let event = match action {
                Action::Sign => {
                    match self.client.get_latest_blockhash_with_commitment(self.expiry_commitment()).await {
                        Ok((blockhash, last_valid_block_height)) => {
                            let mut tx = Transaction::new_unsigned(message.clone());
                            tx.try_sign(&keys, blockhash).map_err(|e| ChainError::Rpc(format!("signing: {e}")))?;
                            tracing::debug!(signature = %tx.signatures[0], attempt = machine.attempts(), last_valid_block_height, "signed");
                            current = Some((tx, blockhash));
                            first_broadcast = true;
                            Event::Signed { last_valid_block_height }
                        }
                        Err(e) => Event::RpcError(e.to_string()),
                    }
                }
                Action::Send => {
                    let (tx, _) = current.as_ref().expect("signed before sending");
                    let event = self.broadcast(tx, first_broadcast).await;
                    if event == Event::Sent {
                        first_broadcast = false;
                    }
                    event
                }
                Action::Poll => self.poll(&current.as_ref().expect("signed").0.signatures[0]).await,
                Action::CheckExpiry => {
                    let (tx, blockhash) = current.as_ref().expect("signed");
                    self.check_expiry(&tx.signatures[0], blockhash).await
                }
            };
            if let Event::RpcError(e) = &event {
                tracing::debug!(?action, error = %e, "rpc error");
            }
            step = machine.on(event);
        }
    }
}

impl Chain for RpcChain {
    fn payer(&self) -> &Keypair {
        &self.payer
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, ChainError> {
        self.transactions += 1;
        let result = self.send_inner(ixs, signers).await;
        if result.is_err() {
            self.failed_transactions += 1;
        }
        result
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        let (client, commitment) = (&self.client, self.commitment());
        with_retries(&self.settings.retry, || client.get_account_with_commitment(key, commitment))
            .await
            .map(|r| r.value)
    }

    async fn program_accounts(
        &mut self,
        program: &Pubkey,
        filters: &[Filter],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let config = RpcProgramAccountsConfig {
            filters: Some(filters.iter().map(rpc_filter).collect()),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.commitment()),
                data_slice: None,
                min_context_slot: None,
            },
            with_context: None,
            sort_results: None,
        };
        let client = &self.client;
        let found =
            with_retries(&self.settings.retry, || client.get_program_ui_accounts_with_config(program, config.clone()))
                .await?;
        found
            .into_iter()
            .map(|(key, ui)| {
                ui.decode::<Account>()
                    .map(|a| (key, a))
                    .ok_or_else(|| ChainError::Rpc(format!("undecodable account {key}")))
            })
            .collect()
    }

    /// The Clock sysvar's `unix_timestamp`.
    async fn unix_time(&mut self) -> Result<i64, ChainError> {
        use solana_clock::Clock;
        let account =
            self.account(&super::CLOCK_SYSVAR).await?.ok_or_else(|| ChainError::Rpc("no Clock sysvar".into()))?;
        // The sysvar is `Clock` serialised field by field (five 8-byte fields, `repr(C)`),
        // so its in-memory offsets are its byte offsets.
        let at = core::mem::offset_of!(Clock, unix_timestamp);
        let bytes = account.data.get(at..at + 8).ok_or_else(|| ChainError::Rpc("short Clock sysvar".into()))?;
        Ok(i64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    async fn minimum_balance(&mut self, len: usize) -> Result<u64, ChainError> {
        let client = &self.client;
        with_retries(&self.settings.retry, || client.get_minimum_balance_for_rent_exemption(len)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_instruction::error::InstructionError;

    fn policy(max_attempts: u32, max_rpc_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            max_rpc_retries,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1_000),
            poll_interval: Duration::from_millis(10),
            rebroadcast_every: 3,
        }
    }

    fn action(step: &Step) -> Action {
        match step {
            Step::Do { action, .. } => *action,
            Step::Done(r) => panic!("unexpected end: {r:?}"),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = policy(3, 5);
        let got: Vec<u64> = (1..=6).map(|n| p.backoff(n).as_millis() as u64).collect();
        assert_eq!(got, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(1_000));
    }

    #[test]
    fn confirms_after_polls() {
        let mut m = SendMachine::new(policy(3, 5));
        assert_eq!(action(&m.start()), Action::Sign);
        assert_eq!(action(&m.on(Event::Signed { last_valid_block_height: 100 })), Action::Send);
        assert_eq!(action(&m.on(Event::Sent)), Action::Poll);
        assert_eq!(action(&m.on(Event::Pending { block_height: 90 })), Action::Poll);
        assert!(matches!(m.on(Event::Confirmed), Step::Done(Ok(()))));
        assert_eq!(m.attempts(), 1);
    }

    #[test]
    fn rebroadcasts_the_same_transaction_while_valid_and_resigns_only_after_expiry() {
        let mut m = SendMachine::new(policy(3, 5));
        m.start();
        m.on(Event::Signed { last_valid_block_height: 100 });
        m.on(Event::Sent);
        let mut actions = vec![];
        for h in [95, 96, 97, 98, 99, 100] {
            let a = action(&m.on(Event::Pending { block_height: h }));
            actions.push(a);
            if a == Action::Send {
                assert_eq!(action(&m.on(Event::Sent)), Action::Poll);
            }
        }
        // Every third pending poll rebroadcasts; never a new signature while height <= 100.
        assert_eq!(actions, [Action::Poll, Action::Poll, Action::Send, Action::Poll, Action::Poll, Action::Send]);
        assert!(!actions.contains(&Action::Sign));
        // Past the last valid height: check expiry first; the node still says valid: keep polling.
        assert_eq!(action(&m.on(Event::Pending { block_height: 101 })), Action::CheckExpiry);
        assert_eq!(action(&m.on(Event::StillValid)), Action::Poll);
        assert_eq!(action(&m.on(Event::Pending { block_height: 102 })), Action::CheckExpiry);
        // Only a confirmed expiry re-signs.
        assert_eq!(action(&m.on(Event::Expired)), Action::Sign);
        assert_eq!(m.attempts(), 2);
    }

    #[test]
    fn expiry_is_bounded() {
        let mut m = SendMachine::new(policy(2, 5));
        m.start();
        for attempt in 1..=2 {
            m.on(Event::Signed { last_valid_block_height: 10 });
            m.on(Event::Sent);
            assert_eq!(action(&m.on(Event::Pending { block_height: 11 })), Action::CheckExpiry);
            let next = m.on(Event::Expired);
            if attempt == 1 {
                assert_eq!(action(&next), Action::Sign);
            } else {
                assert!(matches!(next, Step::Done(Err(ChainError::Expired { attempts: 2 }))));
            }
        }
    }

    #[test]
    fn a_program_error_ends_at_once() {
        let err = TransactionError::InstructionError(1, InstructionError::Custom(6001));
        let mut m = SendMachine::new(policy(3, 5));
        m.start();
        m.on(Event::Signed { last_valid_block_height: 10 });
        match m.on(Event::Rejected(err.clone())) {
            Step::Done(Err(e)) => assert_eq!(e.custom_code(), Some(6001)),
            other => panic!("{other:?}"),
        }
        // Also when it shows in the landed status.
        let mut m = SendMachine::new(policy(3, 5));
        m.start();
        m.on(Event::Signed { last_valid_block_height: 10 });
        m.on(Event::Sent);
        assert!(matches!(m.on(Event::Rejected(err)), Step::Done(Err(ChainError::Transaction(_)))));
    }

    #[test]
    fn rpc_errors_retry_the_same_action_with_backoff_then_give_up() {
        let mut m = SendMachine::new(policy(3, 2));
        m.start();
        // Blockhash fetch fails: fetch again (nothing was signed).
        match m.on(Event::RpcError("503".into())) {
            Step::Do { action: Action::Sign, after } => assert_eq!(after, Duration::from_millis(100)),
            other => panic!("{other:?}"),
        }
        m.on(Event::Signed { last_valid_block_height: 10 });
        // The first broadcast fails: the same transaction is sent again, after backoff.
        match m.on(Event::RpcError("500".into())) {
            Step::Do { action: Action::Send, after } => assert_eq!(after, Duration::from_millis(100)),
            other => panic!("{other:?}"),
        }
        match m.on(Event::RpcError("500".into())) {
            Step::Do { action: Action::Send, after } => assert_eq!(after, Duration::from_millis(200)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(m.on(Event::RpcError("500".into())), Step::Done(Err(ChainError::Rpc(_)))));
        assert_eq!(m.attempts(), 1);
    }

    #[test]
    fn a_failed_rebroadcast_goes_back_to_polling() {
        let mut m = SendMachine::new(policy(3, 5));
        m.start();
        m.on(Event::Signed { last_valid_block_height: 100 });
        m.on(Event::Sent);
        m.on(Event::Pending { block_height: 1 });
        m.on(Event::Pending { block_height: 2 });
        assert_eq!(action(&m.on(Event::Pending { block_height: 3 })), Action::Send);
        assert_eq!(action(&m.on(Event::RpcError("timeout".into()))), Action::Poll);
        // Successes reset the error count.
        assert_eq!(action(&m.on(Event::Pending { block_height: 4 })), Action::Poll);
        assert_eq!(m.rpc_failures, 0);
    }

    #[test]
    fn filters_map_to_base64_memcmp_and_data_size() {
        let f = rpc_filter(&Filter::Memcmp { offset: 8, bytes: vec![1, 2, 3] });
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"memcmp": {"offset": 8, "bytes": "AQID", "encoding": "base64"}})
        );
        assert_eq!(
            serde_json::to_value(rpc_filter(&Filter::DataSize(42))).unwrap(),
            serde_json::json!({"dataSize": 42})
        );
    }

    #[test]
    fn budget_leads_and_varies() {
        let chain =
            RpcChain::new(RpcSettings { priority_fee_micro_lamports: 5_000, ..Default::default() }, Keypair::new());
        let ix = Instruction { program_id: Pubkey::new_unique(), accounts: vec![], data: vec![] };
        let a = chain.budget_instructions(std::slice::from_ref(&ix), 1);
        let b = chain.budget_instructions(std::slice::from_ref(&ix), 2);
        assert_eq!(a.len(), 3);
        assert_eq!(a[1], ComputeBudgetInstruction::set_compute_unit_price(5_000));
        assert_eq!(a[0], ComputeBudgetInstruction::set_compute_unit_limit(199_999));
        assert_ne!(a[0], b[0]);
        assert_eq!(a[2], ix);
        let no_fee =
            RpcChain::new(RpcSettings { compute_unit_limit: Some(300_000), ..Default::default() }, Keypair::new());
        let c = no_fee.budget_instructions(&[ix], 0);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0], ComputeBudgetInstruction::set_compute_unit_limit(300_000));
    }

    #[test]
    fn transaction_output_parses() {
        let v = serde_json::json!({"meta": {"logMessages": ["a", "b"], "returnData": {"programId": "x", "data": ["AQID", "base64"]}}});
        let out = parse_transaction_output(&v);
        assert_eq!((out.logs, out.return_data), (vec!["a".to_string(), "b".to_string()], vec![1, 2, 3]));
    }
}
