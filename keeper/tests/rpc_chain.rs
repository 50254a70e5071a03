//! `RpcChain` against a local stand-in for a cluster's JSON-RPC server: a minimal HTTP/1.1
//! server on 127.0.0.1 (ephemeral port) whose answers each test scripts, and which records
//! every request it receives. Every test is bounded in time and touches no other network.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::Discriminator;
use base64::prelude::{Engine, BASE64_STANDARD};
use client::chain::rpc::{RetryPolicy, RpcChain, RpcSettings};
use client::chain::{Chain, ChainError, Filter};
use perpetual::state::Market;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentLevel;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::error::InstructionError;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Hash, Transaction};
use solana_transaction_error::TransactionError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PRIORITY_FEE: u64 = 12_345;
const LIMIT: Duration = Duration::from_secs(30);

/// The stand-in's answer to one request.
enum Reply {
    Result(Value),
    /// A JSON-RPC error object.
    Error(Value),
    /// An HTTP status with an empty body (e.g. 500).
    Http(u16),
}

/// One request the server received, in order.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    params: Value,
}

type Script = Box<dyn FnMut(&str, &Value) -> Reply + Send>;

struct StandIn {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    async fn start(script: impl FnMut(&str, &Value) -> Reply + Send + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(vec![]));
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Box::new(script)));
        let (log2, script2) = (log.clone(), script.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                tokio::spawn(connection(stream, log2.clone(), script2.clone()));
            }
        });
        StandIn { addr, log, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, method: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method).count()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Keep-alive HTTP/1.1: requests with a Content-Length body, one after another.
async fn connection(mut stream: tokio::net::TcpStream, log: Arc<Mutex<Vec<Request>>>, script: Arc<Mutex<Script>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..head_end + len).skip(head_end).collect();
        let request: Value = serde_json::from_slice(&body).unwrap();
        let method = request["method"].as_str().unwrap_or_default().to_string();
        let params = request["params"].clone();
        log.lock().unwrap().push(Request { method: method.clone(), params: params.clone() });
        let reply = (script.lock().unwrap())(&method, &params);
        let (status, body) = match reply {
            Reply::Result(v) => {
                ("200 OK".to_string(), json!({"jsonrpc": "2.0", "id": request["id"], "result": v}).to_string())
            }
            Reply::Error(e) => {
                ("200 OK".to_string(), json!({"jsonrpc": "2.0", "id": request["id"], "error": e}).to_string())
            }
            Reply::Http(code) => (format!("{code} Scripted"), String::new()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ---- JSON the real RPC returns ----

fn with_context(value: Value) -> Value {
    json!({"context": {"slot": 1}, "value": value})
}

fn blockhash_reply(hash: &Hash, last_valid_block_height: u64) -> Reply {
    Reply::Result(with_context(json!({"blockhash": hash.to_string(), "lastValidBlockHeight": last_valid_block_height})))
}

fn status_confirmed(err: Option<&TransactionError>) -> Value {
    let err = err.map(|e| serde_json::to_value(e).unwrap());
    let status = match &err {
        Some(e) => json!({"Err": e}),
        None => json!({"Ok": null}),
    };
    json!({"slot": 10, "confirmations": 1, "status": status, "err": err, "confirmationStatus": "confirmed"})
}

fn statuses(value: Option<Value>) -> Reply {
    Reply::Result(with_context(json!([value])))
}

/// The transaction a `sendTransaction` request carries.
fn sent_transaction(params: &Value) -> Transaction {
    let bytes = BASE64_STANDARD.decode(params[0].as_str().unwrap()).unwrap();
    bincode::deserialize(&bytes).unwrap()
}

fn signature_of(params: &Value) -> String {
    sent_transaction(params).signatures[0].to_string()
}

/// The signature a `getSignatureStatuses` request asks about.
fn queried(params: &Value) -> String {
    params[0][0].as_str().unwrap().to_string()
}

fn hash(n: u8) -> Hash {
    Hash::new_from_array([n; 32])
}

fn settings(url: String, max_attempts: u32) -> RpcSettings {
    RpcSettings {
        url,
        commitment: CommitmentLevel::Confirmed,
        priority_fee_micro_lamports: PRIORITY_FEE,
        compute_unit_limit: Some(300_000),
        retry: RetryPolicy {
            max_attempts,
            max_rpc_retries: 4,
            backoff_initial: Duration::from_millis(5),
            backoff_max: Duration::from_millis(20),
            poll_interval: Duration::from_millis(5),
            rebroadcast_every: 2,
        },
        request_timeout: Duration::from_secs(5),
        skip_preflight: false,
        fetch_output: true,
    }
}

/// A memo-like instruction that an extra signer must sign.
fn instruction(signer: &Pubkey) -> Instruction {
    Instruction {
        program_id: Pubkey::new_unique(),
        accounts: vec![AccountMeta::new_readonly(*signer, true)],
        data: vec![1, 2, 3],
    }
}

fn unknown(method: &str) -> Reply {
    Reply::Error(json!({"code": -32601, "message": format!("stand-in: unexpected {method}")}))
}

#[tokio::test]
async fn transient_errors_are_retried_and_one_transaction_lands() {
    let mut sent: Vec<String> = vec![];
    let (mut blockhash_calls, mut status_calls) = (0, 0);
    let server = StandIn::start(move |method, params| match method {
        "getLatestBlockhash" => {
            blockhash_calls += 1;
            if blockhash_calls == 1 { Reply::Http(500) } else { blockhash_reply(&hash(1), 1_000) }
        }
        "sendTransaction" => {
            let sig = signature_of(params);
            sent.push(sig.clone());
            if sent.len() == 1 {
                Reply::Error(json!({"code": -32005, "message": "Node is behind by 42 slots", "data": {"numSlotsBehind": 42}}))
            } else {
                Reply::Result(json!(sig))
            }
        }
        "getSignatureStatuses" => {
            status_calls += 1;
            match status_calls {
                1 => Reply::Http(503),
                2 => statuses(None),
                _ => statuses(Some(status_confirmed(None))),
            }
        }
        "getBlockHeight" => Reply::Result(json!(900)),
        "getTransaction" => Reply::Result(json!({"slot": 10, "meta": {"err": null, "logMessages": ["Program log: hi"], "returnData": {"programId": Pubkey::default().to_string(), "data": ["BwgJ", "base64"]}}})),
        other => unknown(other),
    })
    .await;

    let signer = Keypair::new();
    let mut chain = RpcChain::new(settings(server.url(), 3), Keypair::new());
    let out = tokio::time::timeout(LIMIT, chain.send(&[instruction(&signer.pubkey())], &[&signer]))
        .await
        .expect("bounded")
        .expect("lands");
    assert_eq!(out.return_data, vec![7, 8, 9]);
    assert_eq!(out.logs, vec!["Program log: hi".to_string()]);

    let requests = server.requests();
    let sends: Vec<&Request> = requests.iter().filter(|r| r.method == "sendTransaction").collect();
    let signatures: BTreeSet<String> = sends.iter().map(|r| signature_of(&r.params)).collect();
    assert!(sends.len() >= 2, "the failed send was retried");
    assert_eq!(signatures.len(), 1, "retries resend the same signed transaction: {signatures:?}");
    assert_eq!(server.count("getLatestBlockhash"), 2, "one failure, one success, no re-sign");
    assert_eq!((chain.transactions, chain.failed_transactions), (1, 0));

    // The transaction: priority fee and limit lead, signed by the payer and the extra signer.
    let tx = sent_transaction(&sends[0].params);
    assert_eq!(tx.message.recent_blockhash, hash(1));
    assert_eq!(tx.signatures.len(), 2);
    tx.verify().expect("valid signatures");
    let keys = &tx.message.account_keys;
    let ix = |i: usize| &tx.message.instructions[i];
    let price = ComputeBudgetInstruction::set_compute_unit_price(PRIORITY_FEE);
    assert_eq!(keys[ix(1).program_id_index as usize], price.program_id);
    assert_eq!(ix(1).data, price.data);
    assert_eq!(keys[ix(0).program_id_index as usize], price.program_id);
    assert_eq!(ix(2).data, vec![1, 2, 3]);
    assert!(keys.contains(&signer.pubkey()));
}

#[tokio::test]
async fn resigns_once_with_a_new_blockhash_only_after_the_old_one_expired() {
    // The cluster advances one block per getBlockHeight; the first transaction never lands.
    let state = Arc::new(Mutex::new((95u64, false))); // (block height, validity answered false yet)
    let st = state.clone();
    let mut first_sig: Option<String> = None;
    let mut blockhash_calls = 0u8;
    let mut validity_calls = 0;
    let server = StandIn::start(move |method, params| match method {
        "getLatestBlockhash" => {
            blockhash_calls += 1;
            blockhash_reply(&hash(blockhash_calls), 100 * blockhash_calls as u64)
        }
        "sendTransaction" => {
            let sig = signature_of(params);
            first_sig.get_or_insert(sig.clone());
            Reply::Result(json!(sig))
        }
        "getSignatureStatuses" => {
            if Some(queried(params)) == first_sig {
                statuses(None)
            } else {
                statuses(Some(status_confirmed(None)))
            }
        }
        "getBlockHeight" => {
            let mut s = st.lock().unwrap();
            s.0 += 1;
            Reply::Result(json!(s.0))
        }
        "isBlockhashValid" => {
            assert_eq!(params[0].as_str().unwrap(), hash(1).to_string(), "only the first blockhash is ever checked");
            validity_calls += 1;
            // A lagging node says "valid" once after the height passed; then it expires.
            let valid = validity_calls == 1;
            if !valid {
                st.lock().unwrap().1 = true;
            }
            Reply::Result(with_context(json!(valid)))
        }
        "getTransaction" => Reply::Result(json!({"slot": 10, "meta": {"err": null, "logMessages": []}})),
        other => unknown(other),
    })
    .await;

    let mut chain = RpcChain::new(settings(server.url(), 3), Keypair::new());
    let ix = instruction(&chain.payer().pubkey());
    tokio::time::timeout(LIMIT, chain.send(&[ix], &[]))
        .await
        .expect("bounded")
        .expect("the re-signed transaction lands");

    let requests = server.requests();
    let sends: Vec<(usize, Transaction)> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "sendTransaction")
        .map(|(i, r)| (i, sent_transaction(&r.params)))
        .collect();
    let signatures: Vec<String> = sends.iter().map(|(_, t)| t.signatures[0].to_string()).collect();
    let distinct: BTreeSet<&String> = signatures.iter().collect();
    assert_eq!(distinct.len(), 2, "exactly one re-sign");
    assert_eq!(server.count("getLatestBlockhash"), 2);

    let first = &signatures[0];
    let resign_at = signatures.iter().position(|s| s != first).unwrap();
    let (resign_index, resigned) = &sends[resign_at];
    assert_eq!(resigned.message.recent_blockhash, hash(2), "the re-sign uses a NEW blockhash");
    assert!(sends[..resign_at].iter().all(|(_, t)| t.message.recent_blockhash == hash(1)));
    assert!(resign_at >= 2, "the first transaction was rebroadcast (same signature) while it could land");
    assert!(signatures[resign_at..].iter().all(|s| s != first), "never back to the old one");

    // Nothing with a different signature was sent before the node said the old blockhash expired.
    let expired_at = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "isBlockhashValid")
        .map(|(i, _)| i)
        .nth(1)
        .expect("validity asked twice: once still valid, once expired");
    assert!(*resign_index > expired_at, "re-signed at request {resign_index}, expiry confirmed at {expired_at}");
    // And the height had passed the first last-valid height (100) before any validity question.
    let first_validity = requests.iter().position(|r| r.method == "isBlockhashValid").unwrap();
    let heights_before = requests[..first_validity].iter().filter(|r| r.method == "getBlockHeight").count() as u64;
    assert!(95 + heights_before > 100);
    assert!(state.lock().unwrap().1);
    assert_eq!((chain.transactions, chain.failed_transactions), (1, 0));
}

#[tokio::test]
async fn gives_up_as_expired_after_max_attempts() {
    let mut height = 0u64;
    let mut blockhash_calls = 0u8;
    let server = StandIn::start(move |method, params| match method {
        "getLatestBlockhash" => {
            blockhash_calls += 1;
            blockhash_reply(&hash(blockhash_calls), height + 3)
        }
        "sendTransaction" => Reply::Result(json!(signature_of(params))),
        "getSignatureStatuses" => statuses(None),
        "getBlockHeight" => {
            height += 1;
            Reply::Result(json!(height))
        }
        "isBlockhashValid" => Reply::Result(with_context(json!(false))),
        other => unknown(other),
    })
    .await;
    let mut chain = RpcChain::new(settings(server.url(), 2), Keypair::new());
    let ix = instruction(&chain.payer().pubkey());
    let err = tokio::time::timeout(LIMIT, chain.send(&[ix], &[])).await.expect("bounded").unwrap_err();
    assert!(matches!(err, ChainError::Expired { attempts: 2 }), "{err:?}");
    let signatures: BTreeSet<String> =
        server.requests().iter().filter(|r| r.method == "sendTransaction").map(|r| signature_of(&r.params)).collect();
    assert_eq!(signatures.len(), 2);
    assert_eq!(server.count("getLatestBlockhash"), 2);
    assert_eq!((chain.transactions, chain.failed_transactions), (1, 1));
}

#[tokio::test]
async fn a_program_error_in_preflight_is_returned_at_once() {
    let refused = TransactionError::InstructionError(2, InstructionError::Custom(6001));
    let err_json = serde_json::to_value(&refused).unwrap();
    let server = StandIn::start(move |method, _| match method {
        "getLatestBlockhash" => blockhash_reply(&hash(1), 1_000),
        "sendTransaction" => Reply::Error(json!({
            "code": -32002,
            "message": "Transaction simulation failed: Error processing Instruction 2: custom program error: 0x1771",
            "data": {"err": err_json, "logs": ["Program log: refused"], "accounts": null, "unitsConsumed": 1200, "returnData": null}
        })),
        other => unknown(other),
    })
    .await;
    let mut chain = RpcChain::new(settings(server.url(), 3), Keypair::new());
    let ix = instruction(&chain.payer().pubkey());
    let err = tokio::time::timeout(LIMIT, chain.send(&[ix], &[])).await.expect("bounded").unwrap_err();
    assert_eq!(err.custom_code(), Some(6001), "{err:?}");
    // Instruction 2 of the transaction is the caller's first: the chain's two
    // compute-budget instructions lead.
    let caller = TransactionError::InstructionError(0, InstructionError::Custom(6001));
    assert!(matches!(&err, ChainError::Transaction(e) if *e == caller), "{err:?}");
    assert_eq!(err.failed_instruction(), Some(0));
    assert_eq!(server.count("sendTransaction"), 1, "no retry");
    assert_eq!(server.count("getLatestBlockhash"), 1, "no re-sign");
    assert_eq!(server.count("getSignatureStatuses"), 0);
}

#[tokio::test]
async fn a_program_error_in_the_landed_status_is_returned_at_once() {
    let refused = TransactionError::InstructionError(3, InstructionError::Custom(6002));
    let status = status_confirmed(Some(&refused));
    let server = StandIn::start(move |method, params| match method {
        "getLatestBlockhash" => blockhash_reply(&hash(1), 1_000),
        "sendTransaction" => Reply::Result(json!(signature_of(params))),
        "getSignatureStatuses" => statuses(Some(status.clone())),
        other => unknown(other),
    })
    .await;
    let mut settings = settings(server.url(), 3);
    settings.skip_preflight = true;
    let mut chain = RpcChain::new(settings, Keypair::new());
    let ix = instruction(&chain.payer().pubkey());
    let err = tokio::time::timeout(LIMIT, chain.send(&[ix], &[])).await.expect("bounded").unwrap_err();
    assert_eq!(err.custom_code(), Some(6002), "{err:?}");
    assert_eq!(server.count("sendTransaction"), 1);
    assert_eq!(server.count("getLatestBlockhash"), 1);
    assert_eq!(server.count("getSignatureStatuses"), 1);
    let send = server.requests().into_iter().find(|r| r.method == "sendTransaction").unwrap();
    assert_eq!(send.params[1]["skipPreflight"], json!(true));
}

#[tokio::test]
async fn program_accounts_carry_the_discovery_filters_and_reads_decode() {
    let exchange = Pubkey::new_unique();
    let market_key = Pubkey::new_unique();
    let mut market: Market = bytemuck::Zeroable::zeroed();
    market.exchange = exchange;
    market.symbol = perpetual::sdk::symbol("SOL-PERP");
    let mut data = Market::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(&market));
    let account = json!({
        "lamports": 5_000_000u64,
        "owner": perpetual::ID.to_string(),
        "data": [BASE64_STANDARD.encode(&data), "base64"],
        "executable": false,
        "rentEpoch": 0,
        "space": data.len(),
    });
    let mut clock = vec![0u8; 40];
    clock[32..40].copy_from_slice(&1_700_000_123i64.to_le_bytes());
    let clock_account = json!({"lamports": 1, "owner": "Sysvar1111111111111111111111111111111111111", "data": [BASE64_STANDARD.encode(&clock), "base64"], "executable": false, "rentEpoch": 0, "space": 40});
    let account2 = account.clone();
    let mut gpa_calls = 0;
    let server = StandIn::start(move |method, params| match method {
        "getProgramAccounts" => {
            gpa_calls += 1;
            if gpa_calls == 1 {
                return Reply::Http(502);
            }
            Reply::Result(json!([{"pubkey": market_key.to_string(), "account": account2}]))
        }
        "getAccountInfo" => match params[0].as_str().unwrap() {
            "SysvarC1ock11111111111111111111111111111111" => Reply::Result(with_context(clock_account.clone())),
            k if k == market_key.to_string() => Reply::Result(with_context(account.clone())),
            _ => Reply::Result(with_context(Value::Null)),
        },
        "getMinimumBalanceForRentExemption" => Reply::Result(json!(890_880 + params[0].as_u64().unwrap())),
        other => unknown(other),
    })
    .await;
    let mut chain = RpcChain::new(settings(server.url(), 3), Keypair::new());

    let found = tokio::time::timeout(LIMIT, client::discovery::markets(&mut chain, &exchange)).await.unwrap().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1.exchange, found[0].1.symbol),
        (market_key, exchange, perpetual::sdk::symbol("SOL-PERP"))
    );

    // The request as the server received it (the 502 was retried with the same request).
    let gpa: Vec<Request> = server.requests().into_iter().filter(|r| r.method == "getProgramAccounts").collect();
    assert_eq!(gpa.len(), 2);
    assert_eq!(gpa[0].params, gpa[1].params);
    let p = &gpa[1].params;
    assert_eq!(p[0], json!(perpetual::ID.to_string()));
    assert_eq!(p[1]["encoding"], json!("base64"));
    assert_eq!(p[1]["commitment"], json!("confirmed"));
    let exchange_offset = 8 + core::mem::offset_of!(Market, exchange);
    assert_eq!(
        p[1]["filters"],
        json!([
            {"memcmp": {"offset": 0, "bytes": BASE64_STANDARD.encode(Market::DISCRIMINATOR), "encoding": "base64"}},
            {"memcmp": {"offset": exchange_offset, "bytes": BASE64_STANDARD.encode(exchange.to_bytes()), "encoding": "base64"}},
        ])
    );

    // A data-size filter, as is.
    let _ = chain.program_accounts(&perpetual::ID, &[Filter::DataSize(data.len() as u64)]).await.unwrap();
    let last = server.requests().into_iter().rfind(|r| r.method == "getProgramAccounts").unwrap();
    assert_eq!(last.params[1]["filters"], json!([{"dataSize": data.len()}]));

    // The other reads.
    let got = chain.account(&market_key).await.unwrap().expect("exists");
    assert_eq!((got.owner, got.lamports, got.data), (perpetual::ID, 5_000_000, data));
    assert!(chain.account(&Pubkey::new_unique()).await.unwrap().is_none());
    assert_eq!(chain.unix_time().await.unwrap(), 1_700_000_123);
    assert_eq!(chain.minimum_balance(100).await.unwrap(), 890_980);
    assert_eq!(chain.transactions, 0);
}
