//! The `[cluster]` configuration the keeper and the migrations tool share: where and how
//! transactions go (RPC URL, commitment, payer keypair, priority fee, retries), its
//! `KEEPER_*` environment variables, keypair files, and pubkeys as base58 strings.
//!
//! | variable | key |
//! | --- | --- |
//! | `KEEPER_RPC_URL` | `cluster.rpc_url` |
//! | `KEEPER_COMMITMENT` | `cluster.commitment` (`processed`, `confirmed`, `finalized`) |
//! | `KEEPER_KEYPAIR` | `cluster.keypair` |
//! | `KEEPER_PRIORITY_FEE` | `cluster.priority_fee_micro_lamports` |
//! | `KEEPER_COMPUTE_UNIT_LIMIT` | `cluster.compute_unit_limit` |
//! | `KEEPER_MAX_ATTEMPTS` | `cluster.max_attempts` |
//! | `KEEPER_MAX_RPC_RETRIES` | `cluster.max_rpc_retries` |
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};
use solana_commitment_config::CommitmentLevel;
use solana_keypair::Keypair;

use crate::chain::rpc::{RetryPolicy, RpcChain, RpcSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {source}")]
    Toml { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// A [`ConfigError::Invalid`] for `key`.
pub fn invalid(key: &str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid { key: key.into(), message: message.to_string() }
}

/// `(de)serialize_with` helpers for pubkeys written as base58 strings.
pub mod pubkey_str {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&k.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
        let s = String::deserialize(d)?;
        Pubkey::from_str(&s).map_err(|e| serde::de::Error::custom(format!("{s:?} is not a pubkey: {e}")))
    }

    /// The same for `Option<Pubkey>` (absent or `""`: `None`).
    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(k: &Option<Pubkey>, s: S) -> Result<S::Ok, S::Error> {
            match k {
                Some(k) => s.serialize_str(&k.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pubkey>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) if s.is_empty() => Ok(None),
                Some(s) => Pubkey::from_str(&s)
                    .map(Some)
                    .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a pubkey: {e}"))),
            }
        }
    }
}

/// Confirmation level, as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Commitment {
    Processed,
    #[default]
    Confirmed,
    Finalized,
}

impl FromStr for Commitment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "processed" => Ok(Self::Processed),
            "confirmed" => Ok(Self::Confirmed),
            "finalized" => Ok(Self::Finalized),
            _ => Err(format!("{s:?}: expected processed, confirmed or finalized")),
        }
    }
}

impl From<Commitment> for CommitmentLevel {
    fn from(c: Commitment) -> Self {
        match c {
            Commitment::Processed => CommitmentLevel::Processed,
            Commitment::Confirmed => CommitmentLevel::Confirmed,
            Commitment::Finalized => CommitmentLevel::Finalized,
        }
    }
}

/// `[cluster]`: where and how transactions go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    pub rpc_url: String,
    pub commitment: Commitment,
    /// The payer and signer of every crank (Solana CLI JSON keypair file; `~` expands).
    pub keypair: PathBuf,
    /// Compute-unit price, micro-lamports per compute unit (0: no priority fee).
    pub priority_fee_micro_lamports: u64,
    /// Compute-unit limit per transaction; absent: 200k per instruction, at most 1.4M.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_unit_limit: Option<u32>,
    /// Signed transactions (blockhash lifetimes) per send before giving up.
    pub max_attempts: u32,
    /// Consecutive transport/RPC errors tolerated per call.
    pub max_rpc_retries: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    pub poll_interval_ms: u64,
    /// Rebroadcast the same signed transaction every this many pending polls (0: never).
    pub rebroadcast_every_polls: u32,
    pub request_timeout_secs: u64,
    pub skip_preflight: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Self {
            rpc_url: "http://127.0.0.1:8899".into(),
            commitment: Commitment::Confirmed,
            keypair: PathBuf::from("~/.config/solana/id.json"),
            priority_fee_micro_lamports: 0,
            compute_unit_limit: None,
            max_attempts: retry.max_attempts,
            max_rpc_retries: retry.max_rpc_retries,
            backoff_initial_ms: retry.backoff_initial.as_millis() as u64,
            backoff_max_ms: retry.backoff_max.as_millis() as u64,
            poll_interval_ms: retry.poll_interval.as_millis() as u64,
            rebroadcast_every_polls: retry.rebroadcast_every,
            request_timeout_secs: 30,
            skip_preflight: false,
        }
    }
}

/// Expands a leading `~/` to `$HOME`.
pub fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// `p` relative to `dir` when `p` is relative (and not `~/...`): a path in a config file is
/// relative to that file's directory.
pub fn relative_to(dir: &Path, p: &Path) -> PathBuf {
    if p.is_relative() && !p.starts_with("~") {
        dir.join(p)
    } else {
        p.to_path_buf()
    }
}

/// Reads a Solana CLI keypair file (a JSON array of 64 bytes).
pub fn read_keypair(path: &Path) -> Result<Keypair, ConfigError> {
    let path = expand_home(path);
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .map_err(|e| invalid(&path.display().to_string(), format!("not a keypair file: {e}")))?;
    Keypair::try_from(bytes.as_slice()).map_err(|e| invalid(&path.display().to_string(), format!("not a keypair: {e}")))
}

impl ClusterConfig {
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            max_rpc_retries: self.max_rpc_retries,
            backoff_initial: Duration::from_millis(self.backoff_initial_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms.max(self.backoff_initial_ms)),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            rebroadcast_every: self.rebroadcast_every_polls,
        }
    }

    pub fn rpc_settings(&self) -> RpcSettings {
        RpcSettings {
            url: self.rpc_url.clone(),
            commitment: self.commitment.into(),
            priority_fee_micro_lamports: self.priority_fee_micro_lamports,
            compute_unit_limit: self.compute_unit_limit,
            retry: self.retry_policy(),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            skip_preflight: self.skip_preflight,
            fetch_output: true,
        }
    }

    pub fn read_keypair(&self) -> Result<Keypair, ConfigError> {
        read_keypair(&self.keypair)
    }

    /// An [`RpcChain`] for this cluster, paid by `keypair`.
    pub fn rpc_chain(&self) -> Result<RpcChain, ConfigError> {
        Ok(RpcChain::new(self.rpc_settings(), self.read_keypair()?))
    }

    /// Applies the `KEEPER_*` cluster variables found by `var`.
    pub fn apply_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("KEEPER_RPC_URL") {
            self.rpc_url = v;
        }
        if let Some(v) = var("KEEPER_COMMITMENT") {
            self.commitment = v.parse().map_err(|e| invalid("KEEPER_COMMITMENT", e))?;
        }
        if let Some(v) = var("KEEPER_KEYPAIR") {
            self.keypair = v.into();
        }
        if let Some(v) = var("KEEPER_PRIORITY_FEE") {
            self.priority_fee_micro_lamports = parse_num("KEEPER_PRIORITY_FEE", &v)?;
        }
        if let Some(v) = var("KEEPER_COMPUTE_UNIT_LIMIT") {
            self.compute_unit_limit = Some(parse_num("KEEPER_COMPUTE_UNIT_LIMIT", &v)?);
        }
        if let Some(v) = var("KEEPER_MAX_ATTEMPTS") {
            self.max_attempts = parse_num("KEEPER_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = var("KEEPER_MAX_RPC_RETRIES") {
            self.max_rpc_retries = parse_num("KEEPER_MAX_RPC_RETRIES", &v)?;
        }
        Ok(())
    }
}

/// Parses a number from a variable or flag, naming `key` when it fails.
pub fn parse_num<T: FromStr>(key: &str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e| invalid(key, format!("{v:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_settings_and_keypair_file() {
        let kp = Keypair::new();
        let path = std::env::temp_dir().join(format!("client-cluster-{}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_string(&kp.to_bytes().to_vec()).unwrap()).unwrap();
        let cluster = ClusterConfig {
            keypair: path.clone(),
            max_attempts: 0,
            priority_fee_micro_lamports: 3,
            ..Default::default()
        };
        use solana_signer::Signer;
        assert_eq!(cluster.read_keypair().unwrap().pubkey(), kp.pubkey());
        let s = cluster.rpc_settings();
        assert_eq!(
            (s.retry.max_attempts, s.priority_fee_micro_lamports, s.commitment),
            (1, 3, CommitmentLevel::Confirmed)
        );
        std::fs::remove_file(path).ok();
        assert!(read_keypair(Path::new("/nonexistent/id.json")).is_err());
    }

    #[test]
    fn cluster_env() {
        let vars = |k: &str| match k {
            "KEEPER_RPC_URL" => Some("http://env:8899".to_string()),
            "KEEPER_COMMITMENT" => Some("finalized".to_string()),
            "KEEPER_MAX_ATTEMPTS" => Some("9".to_string()),
            _ => None,
        };
        let mut c = ClusterConfig::default();
        c.apply_env(&vars).unwrap();
        assert_eq!((c.rpc_url.as_str(), c.commitment, c.max_attempts), ("http://env:8899", Commitment::Finalized, 9));
        assert!(ClusterConfig::default()
            .apply_env(&|k: &str| (k == "KEEPER_PRIORITY_FEE").then(|| "lots".to_string()))
            .is_err());
    }
}
