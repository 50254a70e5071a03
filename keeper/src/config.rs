//! The keeper's configuration: a TOML file, then environment variables, then command-line
//! flags, each overriding the one before (`file < env < flags`). Every key has a default, so
//! an empty file (or none) is a valid configuration for a local validator.
//!
//! Environment variables:
//!
//! | variable | key |
//! | --- | --- |
//! | `KEEPER_CONFIG` | the file to read when no `--config` is given |
//! | `KEEPER_RPC_URL` | `cluster.rpc_url` |
//! | `KEEPER_COMMITMENT` | `cluster.commitment` (`processed`, `confirmed`, `finalized`) |
//! | `KEEPER_KEYPAIR` | `cluster.keypair` |
//! | `KEEPER_PRIORITY_FEE` | `cluster.priority_fee_micro_lamports` |
//! | `KEEPER_COMPUTE_UNIT_LIMIT` | `cluster.compute_unit_limit` |
//! | `KEEPER_MAX_ATTEMPTS` | `cluster.max_attempts` |
//! | `KEEPER_MAX_RPC_RETRIES` | `cluster.max_rpc_retries` |
//! | `KEEPER_COLLATERAL_MINT` | `exchange.collateral_mint` |
//! | `KEEPER_EXCHANGE` | `exchange.exchange` |
//! | `KEEPER_METRICS` | `metrics.listen` if it parses as `host:port`, else `metrics.file` |
//! | `KEEPER_FUNDING_SECS`, `KEEPER_MARK_SECS`, `KEEPER_MARGINS_SECS`, `KEEPER_RISK_SECS`, `KEEPER_FINAL_SETTLEMENT_SECS` | `loops.*_secs` |
//! | `KEEPER_CRANKS_PER_TRANSACTION` | `loops.cranks_per_transaction` |
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

pub use client::cluster::{expand_home, pubkey_str, read_keypair, ClusterConfig, Commitment, ConfigError};
use client::cluster::{invalid, parse_num, relative_to};

/// `[exchange]`: which exchange the keeper serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// The collateral mint; the exchange is its PDA.
    #[serde(with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub collateral_mint: Option<Pubkey>,
    /// The exchange account, when given directly (must match the mint's PDA if both are set).
    #[serde(with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Pubkey>,
}

impl ExchangeConfig {
    /// The exchange address: `exchange`, or the PDA of `collateral_mint`.
    pub fn exchange_address(&self) -> Option<Pubkey> {
        self.exchange.or_else(|| self.collateral_mint.map(|m| perpetual::sdk::exchange_address(&m)))
    }
}

/// Where the metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsTarget {
    /// Serve Prometheus text on `GET /metrics` at this address.
    Listen(SocketAddr),
    /// Rewrite this file with Prometheus text every `write_interval_secs`.
    File(PathBuf),
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port` to serve `GET /metrics` on. Takes precedence over `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// A file rewritten with the metrics (for node_exporter's textfile collector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    pub write_interval_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { listen: None, file: None, write_interval_secs: 15 }
    }
}

impl MetricsConfig {
    /// `host:port` sets `listen`; anything else is a file path.
    pub fn set_from_str(&mut self, v: &str) {
        if v.parse::<SocketAddr>().is_ok() {
            self.listen = Some(v.to_string());
            self.file = None;
        } else {
            self.listen = None;
            self.file = Some(PathBuf::from(v));
        }
    }

    pub fn target(&self) -> Result<Option<MetricsTarget>, ConfigError> {
        if let Some(l) = &self.listen {
            let addr = l.parse().map_err(|e| invalid("metrics.listen", format!("{l:?}: {e}")))?;
            return Ok(Some(MetricsTarget::Listen(addr)));
        }
        Ok(self.file.clone().map(MetricsTarget::File))
    }
}

/// `[loops]`: how often each crank runs, in seconds (0 disables it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoopsConfig {
    pub funding_secs: u64,
    pub mark_secs: u64,
    pub margins_secs: u64,
    pub risk_secs: u64,
    pub final_settlement_secs: u64,
    pub listing_secs: u64,
    /// Cranks of one kind per transaction (1 to 32), within a transaction's size and
    /// account limits (see `client::batch`).
    pub cranks_per_transaction: u64,
}

impl Default for LoopsConfig {
    fn default() -> Self {
        Self {
            funding_secs: 300,
            mark_secs: 60,
            margins_secs: 86_400,
            risk_secs: 10,
            final_settlement_secs: 60,
            listing_secs: 0,
            cranks_per_transaction: 10,
        }
    }
}

impl LoopsConfig {
    pub fn interval(secs: u64) -> Option<Duration> {
        (secs > 0).then(|| Duration::from_secs(secs))
    }

    /// How the cranks pack their instructions into transactions.
    pub fn limits(&self) -> client::batch::Limits {
        client::batch::Limits { max_instructions: self.cranks_per_transaction as usize }
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// One market's daily price history. Exactly one of `csv` and `coingecko` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PriceHistorySource {
    /// A CSV file of daily closes (a date column and a close column, with a header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
    /// CoinGecko `market_chart` JSON: a file path, or an `http(s)://` URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coingecko: Option<String>,
}

impl PriceHistorySource {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        match (&self.csv, &self.coingecko) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(invalid(key, "set exactly one of `csv` and `coingecko`")),
        }
    }

    /// Whether `coingecko` names a URL rather than a file.
    pub fn coingecko_is_url(&self) -> bool {
        self.coingecko.as_deref().is_some_and(is_url)
    }
}

/// A `[[margins.markets]]` entry: where a market's history comes from (one of `csv` and
/// `coingecko`, as in [`PriceHistorySource`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MarketHistory {
    pub symbol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coingecko: Option<String>,
}

impl MarketHistory {
    pub fn source(&self) -> PriceHistorySource {
        PriceHistorySource { csv: self.csv.clone(), coingecko: self.coingecko.clone() }
    }
}

/// `[margins]`: the VaR margin loop's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarginsConfig {
    /// Daily closes used (most recent).
    pub lookback_days: u32,
    pub markets: Vec<MarketHistory>,
}

impl Default for MarginsConfig {
    fn default() -> Self {
        Self { lookback_days: 365, markets: vec![] }
    }
}

/// A `[[listing.assets]]` entry: a market to list permissionlessly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ListingAsset {
    pub symbol: String,
    /// A Pyth price account; absent for a market without a spot index.
    #[serde(with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub pyth_oracle: Option<Pubkey>,
    pub base_decimals: u8,
    pub base_lot_size: u64,
    /// Opening price, quote native units per lot: required without a spot index (the
    /// market has no other price until it trades).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_price_per_lot: Option<u64>,
    /// Price history for its margins: one of `csv` and `coingecko`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coingecko: Option<String>,
}

impl ListingAsset {
    pub fn source(&self) -> PriceHistorySource {
        PriceHistorySource { csv: self.csv.clone(), coingecko: self.coingecko.clone() }
    }
}

/// `[listing]`: the listing loop's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ListingConfig {
    /// The keeper's collateral token account that pays listing deposits.
    #[serde(with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub lister_token: Option<Pubkey>,
    pub assets: Vec<ListingAsset>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub cluster: ClusterConfig,
    pub exchange: ExchangeConfig,
    pub metrics: MetricsConfig,
    pub loops: LoopsConfig,
    pub margins: MarginsConfig,
    pub listing: ListingConfig,
}

impl Config {
    /// Parses TOML (no environment applied).
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Toml { path: origin.to_path_buf(), source: Box::new(e) })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `path` (or `$KEEPER_CONFIG`, or nothing: the defaults), then applies the
    /// environment variables.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(path, &|k| std::env::var(k).ok())
    }

    /// [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(path: Option<&Path>, var: &impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let from_env = var("KEEPER_CONFIG").map(PathBuf::from);
        let mut config = match path.map(Path::to_path_buf).or(from_env) {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Io { path: p.clone(), source })?;
                let mut config = Self::from_toml_str(&text, &p)?;
                config.resolve_files(p.parent().unwrap_or(Path::new("")));
                config
            }
            None => Config::default(),
        };
        config.apply_env(var)?;
        Ok(config)
    }

    /// Applies every `KEEPER_*` variable `var` finds (see the module docs).
    pub fn apply_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.cluster.apply_env(var)?;
        if let Some(v) = var("KEEPER_COLLATERAL_MINT") {
            self.exchange.collateral_mint =
                Some(Pubkey::from_str(&v).map_err(|e| invalid("KEEPER_COLLATERAL_MINT", e))?);
        }
        if let Some(v) = var("KEEPER_EXCHANGE") {
            self.exchange.exchange = Some(Pubkey::from_str(&v).map_err(|e| invalid("KEEPER_EXCHANGE", e))?);
        }
        if let Some(v) = var("KEEPER_METRICS") {
            self.metrics.set_from_str(&v);
        }
        let loops = [
            ("KEEPER_FUNDING_SECS", &mut self.loops.funding_secs),
            ("KEEPER_MARK_SECS", &mut self.loops.mark_secs),
            ("KEEPER_MARGINS_SECS", &mut self.loops.margins_secs),
            ("KEEPER_RISK_SECS", &mut self.loops.risk_secs),
            ("KEEPER_FINAL_SETTLEMENT_SECS", &mut self.loops.final_settlement_secs),
            ("KEEPER_CRANKS_PER_TRANSACTION", &mut self.loops.cranks_per_transaction),
        ];
        for (key, slot) in loops {
            if let Some(v) = var(key) {
                *slot = parse_num(key, &v)?;
            }
        }
        self.validate()
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.metrics.target()?;
        if !(1..=32).contains(&self.loops.cranks_per_transaction) {
            return Err(invalid("loops.cranks_per_transaction", "1 to 32"));
        }
        if let (Some(mint), Some(exchange)) = (self.exchange.collateral_mint, self.exchange.exchange) {
            if perpetual::sdk::exchange_address(&mint) != exchange {
                return Err(invalid("exchange.exchange", "is not the exchange of exchange.collateral_mint"));
            }
        }
        for (i, m) in self.margins.markets.iter().enumerate() {
            m.source().validate(&format!("margins.markets[{i}] ({})", m.symbol))?;
        }
        for (i, a) in self.listing.assets.iter().enumerate() {
            if a.symbol.is_empty() || a.symbol.len() > 16 {
                return Err(invalid(&format!("listing.assets[{i}].symbol"), "1 to 16 characters"));
            }
            a.source().validate(&format!("listing.assets[{i}] ({})", a.symbol))?;
        }
        Ok(())
    }

    pub fn exchange_address(&self) -> Option<Pubkey> {
        self.exchange.exchange_address()
    }

    /// Makes every relative file (the keypair, history files: `csv`, a `coingecko` that is
    /// not a URL, a metrics file) relative to `dir`, the directory of the file that named it.
    pub fn resolve_files(&mut self, dir: &Path) {
        self.cluster.keypair = relative_to(dir, &self.cluster.keypair);
        if let Some(f) = self.metrics.file.as_mut() {
            *f = relative_to(dir, f);
        }
        let sources = self.margins.markets.iter_mut().map(|m| (&mut m.csv, &mut m.coingecko));
        let sources = sources.chain(self.listing.assets.iter_mut().map(|a| (&mut a.csv, &mut a.coingecko)));
        for (csv, coingecko) in sources {
            if let Some(p) = csv.as_mut() {
                *p = relative_to(dir, p);
            }
            if let Some(c) = coingecko.as_mut().filter(|c| !is_url(c)) {
                *c = relative_to(dir, Path::new(c.as_str())).display().to_string();
            }
        }
    }

    /// Every history file the configuration names (URLs left out).
    pub fn history_files(&self) -> Vec<PathBuf> {
        let sources = self.margins.markets.iter().map(MarketHistory::source);
        let sources = sources.chain(self.listing.assets.iter().map(ListingAsset::source));
        sources
            .flat_map(|s| {
                let file = (!s.coingecko_is_url()).then(|| s.coingecko.clone().map(PathBuf::from)).flatten();
                s.csv.into_iter().chain(file)
            })
            .collect()
    }
}

/// Command-line overrides, for the binary to `#[command(flatten)]`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct ConfigArgs {
    /// TOML configuration file (default: $KEEPER_CONFIG, else built-in defaults)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Cluster JSON-RPC URL (overrides cluster.rpc_url and $KEEPER_RPC_URL)
    #[arg(long, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Payer keypair file (overrides cluster.keypair and $KEEPER_KEYPAIR)
    #[arg(long, value_name = "PATH")]
    pub keypair: Option<PathBuf>,
    /// Metrics: `host:port` to serve GET /metrics, or a file path to write
    #[arg(long, value_name = "ADDR|PATH")]
    pub metrics: Option<String>,
    /// processed, confirmed or finalized
    #[arg(long, value_name = "LEVEL")]
    pub commitment: Option<Commitment>,
    /// Priority fee, micro-lamports per compute unit
    #[arg(long, value_name = "MICRO_LAMPORTS")]
    pub priority_fee: Option<u64>,
    /// Collateral mint of the exchange to serve
    #[arg(long, value_name = "PUBKEY")]
    pub collateral_mint: Option<Pubkey>,
}

impl ConfigArgs {
    /// File, then environment, then these flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        self.load_with_env(&|k| std::env::var(k).ok())
    }

    pub fn load_with_env(&self, var: &impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::load_with_env(self.config.as_deref(), var)?;
        self.apply(&mut config)?;
        Ok(config)
    }

    /// Applies the flags that were given.
    pub fn apply(&self, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(v) = &self.rpc_url {
            config.cluster.rpc_url = v.clone();
        }
        if let Some(v) = &self.keypair {
            config.cluster.keypair = v.clone();
        }
        if let Some(v) = &self.metrics {
            config.metrics.set_from_str(v);
        }
        if let Some(v) = self.commitment {
            config.cluster.commitment = v;
        }
        if let Some(v) = self.priority_fee {
            config.cluster.priority_fee_micro_lamports = v;
        }
        if let Some(v) = self.collateral_mint {
            config.exchange.collateral_mint = Some(v);
        }
        config.validate()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn write(text: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "keeper-config-{}-{}.toml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, text).unwrap();
        p
    }

    const FILE: &str = r#"
        [cluster]
        rpc_url = "http://file:8899"
        keypair = "/file/id.json"
        priority_fee_micro_lamports = 10
        commitment = "finalized"
        [metrics]
        file = "/tmp/file.prom"
        [loops]
        risk_secs = 30
    "#;

    #[test]
    fn the_example_file_parses_and_sets_every_section() {
        let text = include_str!("../keeper.example.toml");
        let c = Config::from_toml_str(text, Path::new("keeper.example.toml")).expect("example parses");
        assert!(c.exchange.collateral_mint.is_some());
        assert_eq!(c.exchange_address(), c.exchange.collateral_mint.map(|m| perpetual::sdk::exchange_address(&m)));
        assert!(!c.margins.markets.is_empty() && !c.listing.assets.is_empty());
        assert!(c.margins.markets.iter().any(|m| m.source().coingecko_is_url()));
        assert!(c.margins.markets.iter().any(|m| m.csv.is_some()));
        assert!(matches!(c.metrics.target().unwrap(), Some(MetricsTarget::Listen(_))));
        // Every key of the example is a real key, and the example sets every key of Config.
        let round = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml_str(&round, Path::new("round")).unwrap(), c);
    }

    /// The example loads as the README runs it (`--config keeper/keeper.example.toml` or a
    /// copy beside it), and every history file it names is in the repository.
    #[test]
    fn the_example_file_names_only_files_that_exist() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("keeper.example.toml");
        let c = Config::load_with_env(Some(&path), &env(&[])).expect("example loads");
        let files = c.history_files();
        assert!(files.len() >= 3, "{files:?}");
        for f in files {
            assert!(f.is_file(), "{} does not exist", f.display());
            assert!(f.starts_with(env!("CARGO_MANIFEST_DIR")), "{} resolved beside the file", f.display());
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let c = Config::load_with_env(None, &env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.cluster.commitment, Commitment::Confirmed);
        assert_eq!(c.metrics.target().unwrap(), None);
    }

    #[test]
    fn file_then_env_then_flags() {
        let path = write(FILE);
        // File only.
        let c = Config::load_with_env(Some(&path), &env(&[])).unwrap();
        assert_eq!(c.cluster.rpc_url, "http://file:8899");
        assert_eq!(c.cluster.commitment, Commitment::Finalized);
        assert_eq!(c.loops.risk_secs, 30);
        assert_eq!(c.loops.mark_secs, LoopsConfig::default().mark_secs);
        assert_eq!(c.metrics.target().unwrap(), Some(MetricsTarget::File("/tmp/file.prom".into())));

        // Env beats the file.
        let vars = env(&[
            ("KEEPER_RPC_URL", "http://env:8899"),
            ("KEEPER_KEYPAIR", "/env/id.json"),
            ("KEEPER_PRIORITY_FEE", "20"),
            ("KEEPER_METRICS", "127.0.0.1:9100"),
            ("KEEPER_RISK_SECS", "5"),
        ]);
        let c = Config::load_with_env(Some(&path), &vars).unwrap();
        assert_eq!(
            (c.cluster.rpc_url.as_str(), c.cluster.keypair.to_str().unwrap()),
            ("http://env:8899", "/env/id.json")
        );
        assert_eq!((c.cluster.priority_fee_micro_lamports, c.loops.risk_secs), (20, 5));
        assert_eq!(c.metrics.target().unwrap(), Some(MetricsTarget::Listen("127.0.0.1:9100".parse().unwrap())));
        assert_eq!(c.cluster.commitment, Commitment::Finalized, "untouched keys keep the file's value");

        // Flags beat both.
        let args = ConfigArgs {
            config: Some(path.clone()),
            rpc_url: Some("http://flag:8899".into()),
            keypair: None,
            metrics: Some("/tmp/flag.prom".into()),
            commitment: Some(Commitment::Processed),
            ..Default::default()
        };
        let c = args.load_with_env(&vars).unwrap();
        assert_eq!(c.cluster.rpc_url, "http://flag:8899");
        assert_eq!(c.cluster.keypair, PathBuf::from("/env/id.json"), "no flag: env wins");
        assert_eq!(c.metrics.target().unwrap(), Some(MetricsTarget::File("/tmp/flag.prom".into())));
        assert_eq!(c.cluster.commitment, Commitment::Processed);
        assert_eq!(c.cluster.priority_fee_micro_lamports, 20);
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn keeper_config_env_names_the_file() {
        let path = write(FILE);
        let c = Config::load_with_env(None, &env(&[("KEEPER_CONFIG", path.to_str().unwrap())])).unwrap();
        assert_eq!(c.cluster.rpc_url, "http://file:8899");
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn flags_parse_with_clap() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            config: ConfigArgs,
        }
        let mint = Pubkey::new_unique();
        let cli = Cli::try_parse_from([
            "keeper",
            "--rpc-url",
            "http://x",
            "--keypair",
            "k.json",
            "--metrics",
            "0.0.0.0:9000",
            "--commitment",
            "finalized",
            "--priority-fee",
            "7",
            "--collateral-mint",
            &mint.to_string(),
        ])
        .unwrap();
        let mut c = Config::default();
        cli.config.apply(&mut c).unwrap();
        assert_eq!(c.cluster.rpc_url, "http://x");
        assert_eq!(c.cluster.priority_fee_micro_lamports, 7);
        assert_eq!(c.exchange.collateral_mint, Some(mint));
        assert_eq!(c.metrics.listen.as_deref(), Some("0.0.0.0:9000"));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Config::from_toml_str("[cluster]\nbogus = 1", Path::new("x")).is_err(), "unknown keys");
        assert!(Config::from_toml_str("[cluster]\ncommitment = \"max\"", Path::new("x")).is_err());
        assert!(Config::from_toml_str("[exchange]\ncollateral_mint = \"nope\"", Path::new("x")).is_err());
        assert!(Config::from_toml_str("[[margins.markets]]\nsymbol = \"A\"", Path::new("x")).is_err(), "no source");
        assert!(Config::load_with_env(None, &env(&[("KEEPER_PRIORITY_FEE", "lots")])).is_err());
        assert!(Config::load_with_env(None, &env(&[("KEEPER_COMMITMENT", "max")])).is_err());
        let mint = Pubkey::new_unique();
        let text = format!("[exchange]\ncollateral_mint = \"{mint}\"\nexchange = \"{}\"", Pubkey::new_unique());
        assert!(Config::from_toml_str(&text, Path::new("x")).is_err(), "exchange must match the mint");
    }
}
