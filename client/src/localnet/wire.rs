//! The JSON side of `localnet`: parameters in, Solana's response shapes and error objects out.
use anchor_lang::prelude::Pubkey;
use base64::prelude::{Engine, BASE64_STANDARD};
use jsonrpsee::types::ErrorObjectOwned;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use solana_account::Account;
use solana_account_decoder_client_types::{UiAccount, UiAccountData, UiAccountEncoding};

use crate::chain::Filter;

/// JSON-RPC's "invalid params".
pub const INVALID_PARAMS: i32 = -32602;
/// Solana's "Transaction simulation failed" (preflight), with the simulation as data.
pub const PREFLIGHT_FAILURE: i32 = -32002;
/// Solana's "Transaction signature verification failure".
pub const SIGNATURE_FAILURE: i32 = -32003;
/// Solana's "node is unhealthy"; here: the chain thread has stopped.
pub const NODE_UNHEALTHY: i32 = -32005;
/// JSON-RPC's "internal error".
pub const INTERNAL_ERROR: i32 = -32603;

pub fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, format!("Invalid params: {}", msg.into()), None::<()>)
}

pub fn signature_failure() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SIGNATURE_FAILURE, "Transaction signature verification failure", None::<()>)
}

pub fn stopped() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(NODE_UNHEALTHY, "Node is unhealthy: the localnet chain has stopped", None::<()>)
}

pub fn internal(msg: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INTERNAL_ERROR, format!("Internal error: {msg}"), None::<()>)
}

/// Positional parameters: `params` must be an array (or absent).
pub struct Params(Vec<Value>);

impl Params {
    pub fn new(params: Value) -> Result<Params, ErrorObjectOwned> {
        match params {
            Value::Null => Ok(Params(vec![])),
            Value::Array(v) => Ok(Params(v)),
            _ => Err(invalid_params("expected an array of positional parameters")),
        }
    }

    /// The `i`-th parameter, required.
    pub fn get<T: DeserializeOwned>(&self, i: usize, what: &str) -> Result<T, ErrorObjectOwned> {
        let v = self.0.get(i).ok_or_else(|| invalid_params(format!("missing {what}")))?;
        serde_json::from_value(v.clone()).map_err(|e| invalid_params(format!("{what}: {e}")))
    }

    /// The `i`-th parameter as a configuration object (absent or null: empty).
    pub fn config(&self, i: usize) -> Result<Config, ErrorObjectOwned> {
        match self.0.get(i) {
            None | Some(Value::Null) => Ok(Config(serde_json::Map::new())),
            Some(Value::Object(m)) => Ok(Config(m.clone())),
            Some(_) => Err(invalid_params(format!("parameter {i} must be a configuration object"))),
        }
    }

    pub fn pubkey(&self, i: usize, what: &str) -> Result<Pubkey, ErrorObjectOwned> {
        let s: String = self.get(i, what)?;
        s.parse().map_err(|_| invalid_params(format!("{what}: not a base-58 public key: {s}")))
    }
}

pub struct Config(serde_json::Map<String, Value>);

impl Config {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
    pub fn bool(&self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// `{"context": {"slot": ..}, "value": ..}`.
pub fn with_context(slot: u64, value: Value) -> Value {
    json!({ "context": { "slot": slot, "apiVersion": crate::localnet::node::VERSION }, "value": value })
}

/// How account data is encoded in a response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DataEncoding {
    /// No encoding asked (or "binary"): a bare base-58 string, as Solana's legacy default.
    LegacyBase58,
    Base58,
    /// "base64", and also the answer to "base64+zstd" and "jsonParsed": clients decode by
    /// the encoding the response names.
    Base64,
}

/// A byte range of the data (`dataSlice`).
#[derive(Clone, Copy)]
pub struct Slice {
    pub offset: usize,
    pub length: usize,
}

/// The encoding and data slice of an account-reading configuration.
pub fn account_format(cfg: &Config) -> Result<(DataEncoding, Option<Slice>), ErrorObjectOwned> {
    let encoding = match cfg.str("encoding") {
        None | Some("binary") => DataEncoding::LegacyBase58,
        Some("base58") => DataEncoding::Base58,
        Some("base64" | "base64+zstd" | "jsonParsed") => DataEncoding::Base64,
        Some(other) => return Err(invalid_params(format!("unknown encoding {other}"))),
    };
    let slice = match cfg.get("dataSlice") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let offset = v.get("offset").and_then(Value::as_u64);
            let length = v.get("length").and_then(Value::as_u64);
            match (offset, length) {
                (Some(o), Some(l)) => Some(Slice { offset: o as usize, length: l as usize }),
                _ => return Err(invalid_params("dataSlice needs offset and length")),
            }
        }
    };
    Ok((encoding, slice))
}

pub fn ui_account(account: &Account, encoding: DataEncoding, slice: Option<Slice>) -> Value {
    let data = match slice {
        Some(s) => {
            let start = s.offset.min(account.data.len());
            let end = s.offset.saturating_add(s.length).min(account.data.len());
            &account.data[start..end]
        }
        None => &account.data[..],
    };
    let data = match encoding {
        DataEncoding::LegacyBase58 => UiAccountData::LegacyBinary(bs58::encode(data).into_string()),
        DataEncoding::Base58 => UiAccountData::Binary(bs58::encode(data).into_string(), UiAccountEncoding::Base58),
        DataEncoding::Base64 => UiAccountData::Binary(BASE64_STANDARD.encode(data), UiAccountEncoding::Base64),
    };
    let ui = UiAccount {
        lamports: account.lamports,
        data,
        owner: account.owner.to_string(),
        executable: account.executable,
        rent_epoch: account.rent_epoch,
        space: Some(account.data.len() as u64),
    };
    serde_json::to_value(ui).unwrap_or(Value::Null)
}

/// A `getProgramAccounts` filter (`dataSize`, or `memcmp` with base-58 or base-64 bytes) as
/// the client's own [`Filter`], which then matches account data.
pub fn parse_filter(v: &Value) -> Result<Filter, ErrorObjectOwned> {
    if let Some(n) = v.get("dataSize") {
        return n.as_u64().map(Filter::DataSize).ok_or_else(|| invalid_params("dataSize must be a number"));
    }
    let Some(m) = v.get("memcmp") else { return Err(invalid_params("filters: only dataSize and memcmp")) };
    let offset = m.get("offset").and_then(Value::as_u64).ok_or_else(|| invalid_params("memcmp.offset"))?;
    let text = m.get("bytes").and_then(Value::as_str).ok_or_else(|| invalid_params("memcmp.bytes"))?;
    let bytes = match m.get("encoding").and_then(Value::as_str) {
        None | Some("base58") => bs58::decode(text).into_vec().map_err(|e| invalid_params(format!("memcmp: {e}")))?,
        Some("base64") => BASE64_STANDARD.decode(text).map_err(|e| invalid_params(format!("memcmp: {e}")))?,
        Some(other) => return Err(invalid_params(format!("memcmp: unknown encoding {other}"))),
    };
    Ok(Filter::Memcmp { offset: offset as usize, bytes })
}

/// A wire transaction: base-58 by default, base-64 when asked.
pub fn decode_transaction(text: &str, cfg: &Config) -> Result<Vec<u8>, ErrorObjectOwned> {
    match cfg.str("encoding") {
        None | Some("base58") => {
            bs58::decode(text).into_vec().map_err(|e| invalid_params(format!("invalid base58 encoding: {e}")))
        }
        Some("base64") => {
            BASE64_STANDARD.decode(text).map_err(|e| invalid_params(format!("invalid base64 encoding: {e}")))
        }
        Some(other) => Err(invalid_params(format!("unsupported encoding: {other}"))),
    }
}
