//! Deploy-and-initialise: from a TOML file, bring a cluster to the configured exchange,
//! authorities, listing deposit, trader approvals, oracles, markets and books.
//!
//! Idempotent: every object is read first. What is missing is created; what the admin may
//! change and differs is updated; what is equal is left alone (no transaction). Fields that
//! cannot change (a market's oracle or lot size, a book's capacities) are reported as
//! conflicts, and margins (the risk authority's, moved by the keeper's margin loop) as drift.
//! So a second run sends nothing and changes no byte.
//!
//! Everything goes through [`keeper::chain::Chain`]: `RpcChain` for a cluster,
//! `EmbeddedChain` in the tests. Deploying the programs themselves is `anchor deploy`'s job.
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use bytemuck::Pod;
use keeper::chain::{Chain, ChainError};
use keeper::config::{pubkey_str, ClusterConfig};
use orderbook::instructions::CreateBookArgs;
use orderbook::state::Book;
use perpetual::instructions::{CreateMarketArgs, InitializeExchangeArgs, SetAuthoritiesArgs, UpdateMarketArgs};
use perpetual::sdk;
use perpetual::state::{Exchange, Market, PriceOracle, TraderApproval, PYTH_PROGRAM_IDS};
use perpetual::OracleKind;
use serde::{Deserialize, Serialize};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("config: {0}")]
    Config(String),
    #[error("{what}: {source}")]
    Chain { what: String, source: ChainError },
    /// The cluster holds something this run cannot reconcile (e.g. another admin).
    #[error("{0}")]
    Conflict(String),
}

fn config_err(msg: impl ToString) -> MigrateError {
    MigrateError::Config(msg.to_string())
}

trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, MigrateError>;
}

impl<T> Context<T> for Result<T, ChainError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, MigrateError> {
        self.map_err(|source| MigrateError::Chain { what: what(), source })
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationConfig {
    /// Same keys as the keeper's `[cluster]` (RPC URL, commitment, payer keypair, fees, retries).
    #[serde(default)]
    pub cluster: ClusterConfig,
    pub exchange: ExchangeSpec,
    #[serde(default)]
    pub markets: Vec<MarketSpec>,
}

fn yes() -> bool {
    true
}

/// `[exchange]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSpec {
    /// The existing collateral mint (the exchange is its PDA).
    #[serde(with = "pubkey_str")]
    pub collateral_mint: Pubkey,
    /// Admin keypair file; absent: the payer (`cluster.keypair`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_keypair: Option<PathBuf>,
    /// Authority of the settable price oracles this tool creates; absent: the admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle_authority_keypair: Option<PathBuf>,
    /// The four authorities; each absent one is the admin.
    #[serde(default, with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub funding_authority: Option<Pubkey>,
    #[serde(default, with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub risk_authority: Option<Pubkey>,
    #[serde(default, with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub pause_guardian: Option<Pubkey>,
    #[serde(default, with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub deleverage_authority: Option<Pubkey>,
    /// Collateral (native units) a permissionless lister deposits per market.
    #[serde(default)]
    pub listing_deposit: u64,
    /// The governance time lock set once everything else is configured (0: leave the
    /// exchange in bootstrap). After it, risky changes need proposals, which this tool
    /// does not queue: it reports them as drift.
    #[serde(default)]
    pub timelock_delay_secs: i64,
    /// Approve the order-book program as a trader (needed for books).
    #[serde(default = "yes")]
    pub approve_orderbook: bool,
    /// Other trader programs to approve.
    #[serde(default, with = "pubkeys", skip_serializing_if = "Vec::is_empty")]
    pub trader_programs: Vec<Pubkey>,
}

mod pubkeys {
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::Pubkey;

    pub fn serialize<S: Serializer>(keys: &[Pubkey], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(keys.iter().map(|k| k.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Pubkey>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|s| Pubkey::from_str(s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))).collect()
    }
}

/// How a market's spot index is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OracleSpec {
    /// A Pyth legacy price account (`pyth_price_account`).
    Pyth,
    /// The program's settable `PriceOracle`, created here for the oracle authority.
    SetPrice,
    /// No spot index.
    None,
}

impl OracleSpec {
    pub fn kind(self) -> OracleKind {
        match self {
            OracleSpec::Pyth => OracleKind::PythLegacy,
            OracleSpec::SetPrice => OracleKind::SetPrice,
            OracleSpec::None => OracleKind::None,
        }
    }
}

/// `[markets.book]`: the market's order book (`orderbook::create_book`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookSpec {
    /// Quote native units per base lot per tick.
    pub tick_size: u64,
    #[serde(default = "BookSpec::default_min_base_lots")]
    pub min_base_lots: u64,
    #[serde(default = "BookSpec::default_side_capacity")]
    pub side_capacity: u32,
    #[serde(default = "BookSpec::default_seat_capacity")]
    pub seat_capacity: u32,
    #[serde(default = "BookSpec::default_max_orders")]
    pub max_orders_per_account: u16,
}

impl BookSpec {
    fn default_min_base_lots() -> u64 {
        1
    }
    fn default_side_capacity() -> u32 {
        1_024
    }
    fn default_seat_capacity() -> u32 {
        256
    }
    fn default_max_orders() -> u16 {
        32
    }

    pub fn args(&self) -> CreateBookArgs {
        CreateBookArgs {
            tick_size: self.tick_size,
            min_base_lots: self.min_base_lots,
            side_capacity: self.side_capacity,
            seat_capacity: self.seat_capacity,
            max_orders_per_account: self.max_orders_per_account,
        }
    }
}

macro_rules! defaults {
    ($($name:ident: $t:ty = $v:expr;)*) => {
        mod market_defaults {
            $(pub fn $name() -> $t { $v })*
        }
    };
}

defaults! {
    oracle_max_age_secs: u32 = 60;
    oracle_max_conf_bps: u16 = 200;
    price_band_bps: u16 = 500;
    init_margin_bps: u16 = 1_000;
    maker_fee_ppm: i32 = 0;
    taker_fee_ppm: i32 = 500;
    max_funding_rate_ppbh: i64 = 1_000_000;
    max_funding_rate_change_ppbh: i64 = 500_000;
    funding_window_secs: i64 = 3_600;
    oracle_expo: i32 = -6;
}

/// A `[[markets]]` entry: `create_market`'s parameters, its oracle and its book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// At most 16 printable ASCII characters.
    pub symbol: String,
    pub oracle: OracleSpec,
    /// `oracle = "pyth"`: the Pyth price account.
    #[serde(default, with = "pubkey_str::opt", skip_serializing_if = "Option::is_none")]
    pub pyth_price_account: Option<Pubkey>,
    /// `oracle = "set-price"`: the exponent of the oracle created (`price * 10^expo`).
    #[serde(default = "market_defaults::oracle_expo")]
    pub oracle_expo: i32,
    pub base_decimals: u8,
    /// Base native units per lot.
    pub base_lot_size: u64,
    #[serde(default = "market_defaults::oracle_max_age_secs")]
    pub oracle_max_age_secs: u32,
    #[serde(default = "market_defaults::oracle_max_conf_bps")]
    pub oracle_max_conf_bps: u16,
    #[serde(default = "market_defaults::price_band_bps")]
    pub price_band_bps: u16,
    /// Initial margins; maintenance is half of each.
    #[serde(default = "market_defaults::init_margin_bps")]
    pub init_margin_long_bps: u16,
    #[serde(default = "market_defaults::init_margin_bps")]
    pub init_margin_short_bps: u16,
    #[serde(default = "market_defaults::maker_fee_ppm")]
    pub maker_fee_ppm: i32,
    #[serde(default = "market_defaults::taker_fee_ppm")]
    pub taker_fee_ppm: i32,
    #[serde(default = "market_defaults::max_funding_rate_ppbh")]
    pub max_funding_rate_ppbh: i64,
    #[serde(default = "market_defaults::max_funding_rate_change_ppbh")]
    pub max_funding_rate_change_ppbh: i64,
    #[serde(default = "market_defaults::funding_window_secs")]
    pub funding_window_secs: i64,
    /// Absent: no book is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book: Option<BookSpec>,
}

impl MarketSpec {
    pub fn symbol_bytes(&self) -> [u8; 16] {
        sdk::symbol(&self.symbol)
    }

    pub fn create_args(&self) -> CreateMarketArgs {
        CreateMarketArgs {
            symbol: self.symbol_bytes(),
            oracle_kind: self.oracle.kind(),
            base_decimals: self.base_decimals,
            base_lot_size: self.base_lot_size,
            oracle_max_age_secs: self.oracle_max_age_secs,
            oracle_max_conf_bps: self.oracle_max_conf_bps,
            price_band_bps: self.price_band_bps,
            init_margin_long_bps: self.init_margin_long_bps,
            init_margin_short_bps: self.init_margin_short_bps,
            maker_fee_ppm: self.maker_fee_ppm,
            taker_fee_ppm: self.taker_fee_ppm,
            max_funding_rate_ppbh: self.max_funding_rate_ppbh,
            max_funding_rate_change_ppbh: self.max_funding_rate_change_ppbh,
            funding_window_secs: self.funding_window_secs,
            oracle_feed_id: None,
        }
    }
}

impl MigrationConfig {
    pub fn from_toml_str(text: &str) -> Result<Self, MigrateError> {
        let config: MigrationConfig = toml::from_str(text).map_err(config_err)?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self, MigrateError> {
        let text = std::fs::read_to_string(path).map_err(|e| config_err(format!("{}: {e}", path.display())))?;
        Self::from_toml_str(&text).map_err(|e| config_err(format!("{}: {e}", path.display())))
    }

    /// What the types cannot check (the program checks every bound again).
    pub fn validate(&self) -> Result<(), MigrateError> {
        use perpetual::instructions::governance::{MAX_TIMELOCK_SECS, MIN_TIMELOCK_SECS};
        let delay = self.exchange.timelock_delay_secs;
        if delay != 0 && !(MIN_TIMELOCK_SECS..=MAX_TIMELOCK_SECS).contains(&delay) {
            return Err(config_err(format!("exchange.timelock_delay_secs {delay}: 0 (bootstrap) or {MIN_TIMELOCK_SECS} to {MAX_TIMELOCK_SECS}")));
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.markets {
            let s = &m.symbol;
            if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(config_err(format!("market symbol {s:?}: 1 to 16 printable ASCII characters")));
            }
            if !seen.insert(s.clone()) {
                return Err(config_err(format!("market {s} appears twice")));
            }
            match (m.oracle, m.pyth_price_account) {
                (OracleSpec::Pyth, None) => return Err(config_err(format!("market {s}: oracle = \"pyth\" needs pyth_price_account"))),
                (OracleSpec::SetPrice | OracleSpec::None, Some(_)) => {
                    return Err(config_err(format!("market {s}: pyth_price_account is only for oracle = \"pyth\"")))
                }
                _ => {}
            }
            if m.book.is_some() && !self.exchange.approve_orderbook {
                return Err(config_err(format!("market {s} has a book, which needs exchange.approve_orderbook = true")));
            }
        }
        Ok(())
    }
}

/// The keypairs a run signs with (besides the chain's payer).
pub struct Keys {
    pub admin: Keypair,
    /// Signs `create_price_oracle`; `None`: the admin.
    pub oracle_authority: Option<Keypair>,
}

impl Keys {
    /// From the config's keypair files; absent ones default to `payer`, then the admin.
    pub fn load(config: &MigrationConfig, payer: &Keypair) -> Result<Keys, MigrateError> {
        let read = |p: &PathBuf| keeper::config::read_keypair(p).map_err(config_err);
        let admin = match &config.exchange.admin_keypair {
            Some(p) => read(p)?,
            None => payer.insecure_clone(),
        };
        let oracle_authority = config.exchange.oracle_authority_keypair.as_ref().map(read).transpose()?;
        Ok(Keys { admin, oracle_authority })
    }

    pub fn oracle_authority(&self) -> &Keypair {
        self.oracle_authority.as_ref().unwrap_or(&self.admin)
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

/// What a run did (or, in a dry run, would do) to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    /// The fields changed.
    Updated(String),
    Unchanged,
    /// Differs from the config where only another authority may change it; left alone.
    Drift(String),
    /// Differs where nothing can change it; the config or the cluster is wrong.
    Conflict(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub object: String,
    #[serde(serialize_with = "pubkey_str::serialize")]
    pub address: Pubkey,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    #[serde(serialize_with = "pubkey_str::serialize")]
    pub exchange: Pubkey,
    pub entries: Vec<Entry>,
    /// Transactions sent by this run.
    pub transactions: u32,
}

impl Report {
    fn push(&mut self, object: impl Into<String>, address: Pubkey, outcome: Outcome) {
        let object = object.into();
        tracing::info!(%object, %address, ?outcome, "migration");
        self.entries.push(Entry { object, address, outcome });
    }

    /// Whether anything was (or would be) created or updated.
    pub fn changed(&self) -> bool {
        self.entries.iter().any(|e| matches!(e.outcome, Outcome::Created | Outcome::Updated(_)))
    }

    pub fn conflicts(&self) -> Vec<&Entry> {
        self.entries.iter().filter(|e| matches!(e.outcome, Outcome::Conflict(_))).collect()
    }

    pub fn entry(&self, object: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.object == object)
    }

    /// A human-readable table.
    pub fn render(&self) -> String {
        let mut out = format!("exchange {}{}\n", self.exchange, if self.dry_run { " (dry run: nothing sent)" } else { "" });
        let width = self.entries.iter().map(|e| e.object.len()).max().unwrap_or(0);
        for e in &self.entries {
            let (verb, detail) = match &e.outcome {
                Outcome::Created => (if self.dry_run { "would create" } else { "created" }, String::new()),
                Outcome::Updated(d) => (if self.dry_run { "would update" } else { "updated" }, d.clone()),
                Outcome::Unchanged => ("unchanged", String::new()),
                Outcome::Drift(d) => ("drift", d.clone()),
                Outcome::Conflict(d) => ("CONFLICT", d.clone()),
            };
            out += &format!("  {:width$}  {:44}  {verb}{}{detail}\n", e.object, e.address.to_string(), if detail.is_empty() { "" } else { ": " });
        }
        out += &format!("{} transaction(s) sent\n", self.transactions);
        out
    }
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read and compare only; send nothing.
    pub dry_run: bool,
}

/// Reads a zero-copy account's struct after its discriminator (any alignment).
pub fn decode<T: Pod + Discriminator>(data: &[u8]) -> Option<T> {
    let end = 8 + core::mem::size_of::<T>();
    (data.len() >= end && data[..8] == *T::DISCRIMINATOR).then(|| bytemuck::pod_read_unaligned(&data[8..end]))
}

struct Run<'a, C: Chain> {
    chain: &'a mut C,
    keys: &'a Keys,
    opts: Options,
    report: Report,
    /// The exchange has a governance delay: risky changes need proposals.
    locked: bool,
}

impl<C: Chain> Run<'_, C> {
    async fn read(&mut self, key: &Pubkey, what: &str) -> Result<Option<solana_account::Account>, MigrateError> {
        self.chain.account(key).await.context(|| format!("reading {what} {key}"))
    }

    /// A time-locked change: sent while the exchange is in bootstrap, otherwise reported
    /// as drift for governance to queue.
    async fn risky(&mut self, what: &str, ix: anchor_lang::solana_program::instruction::Instruction, object: String, address: Pubkey, change: String) -> Result<(), MigrateError> {
        if self.locked {
            self.report.push(object, address, Outcome::Drift(format!("{change} ({what} needs a proposal)")));
            return Ok(());
        }
        let admin = self.keys.admin.insecure_clone();
        self.send(what, &[ix], &[&admin]).await?;
        let outcome = if what == "approve_trader" { Outcome::Created } else { Outcome::Updated(change) };
        self.report.push(object, address, outcome);
        Ok(())
    }

    async fn send(&mut self, what: &str, ixs: &[anchor_lang::solana_program::instruction::Instruction], signers: &[&Keypair]) -> Result<(), MigrateError> {
        if self.opts.dry_run {
            return Ok(());
        }
        self.report.transactions += 1;
        self.chain.send(ixs, signers).await.context(|| what.to_string())?;
        Ok(())
    }

    async fn exchange(&mut self, config: &MigrationConfig) -> Result<Option<Exchange>, MigrateError> {
        let spec = &config.exchange;
        let admin = self.keys.admin.pubkey();
        let mint = spec.collateral_mint;
        let exchange_key = sdk::exchange_address(&mint);
        let mint_account = self.read(&mint, "collateral mint").await?;
        match mint_account {
            Some(a) if a.owner == spl_token_interface::ID && a.data.len() == <spl_token_interface::state::Mint as solana_program_pack::Pack>::LEN => {}
            Some(_) => return Err(MigrateError::Conflict(format!("collateral mint {mint} is not an SPL Token mint"))),
            None => return Err(MigrateError::Conflict(format!("collateral mint {mint} does not exist"))),
        }
        let wanted = InitializeExchangeArgs {
            funding_authority: spec.funding_authority.unwrap_or(admin),
            risk_authority: spec.risk_authority.unwrap_or(admin),
            pause_guardian: spec.pause_guardian.unwrap_or(admin),
            deleverage_authority: spec.deleverage_authority.unwrap_or(admin),
        };
        let admin_kp = self.keys.admin.insecure_clone();
        let existing = self.read(&exchange_key, "exchange").await?;
        let existing = match existing {
            None => {
                self.send("initialize_exchange", &[sdk::initialize_exchange(&admin, &mint, wanted)], &[&admin_kp]).await?;
                self.report.push("exchange", exchange_key, Outcome::Created);
                if self.opts.dry_run {
                    if spec.listing_deposit != 0 {
                        self.report.push("listing deposit", exchange_key, Outcome::Updated(format!("listing_deposit 0 -> {}", spec.listing_deposit)));
                    }
                    return Ok(None);
                }
                let data = self.read(&exchange_key, "exchange").await?.map(|a| a.data).unwrap_or_default();
                decode::<Exchange>(&data).ok_or_else(|| MigrateError::Conflict(format!("exchange {exchange_key} unreadable after creation")))?
            }
            Some(account) => {
                let ex = decode::<Exchange>(&account.data).ok_or_else(|| MigrateError::Conflict(format!("{exchange_key} is not an exchange account")))?;
                if ex.admin != admin {
                    return Err(MigrateError::Conflict(format!("exchange {exchange_key} has admin {}, not the configured admin {admin}", ex.admin)));
                }
                self.locked = ex.timelock_delay_secs != 0;
                let mut args = SetAuthoritiesArgs { funding_authority: None, risk_authority: None, pause_guardian: None, deleverage_authority: None };
                let mut changed = vec![];
                let mut diff = |name: &str, have: Pubkey, want: Pubkey, slot: &mut Option<Pubkey>| {
                    if have != want {
                        *slot = Some(want);
                        changed.push(format!("{name} {have} -> {want}"));
                    }
                };
                diff("funding_authority", ex.funding_authority, wanted.funding_authority, &mut args.funding_authority);
                diff("risk_authority", ex.risk_authority, wanted.risk_authority, &mut args.risk_authority);
                diff("pause_guardian", ex.pause_guardian, wanted.pause_guardian, &mut args.pause_guardian);
                diff("deleverage_authority", ex.deleverage_authority, wanted.deleverage_authority, &mut args.deleverage_authority);
                if changed.is_empty() {
                    self.report.push("exchange", exchange_key, Outcome::Unchanged);
                } else {
                    self.risky("set_authorities", sdk::set_authorities(&admin, &exchange_key, args), "exchange".into(), exchange_key, changed.join(", ")).await?;
                }
                ex
            }
        };
        if existing.listing_deposit == spec.listing_deposit {
            self.report.push("listing deposit", exchange_key, Outcome::Unchanged);
        } else {
            let change = format!("listing_deposit {} -> {}", existing.listing_deposit, spec.listing_deposit);
            self.risky("set_listing_deposit", sdk::set_listing_deposit(&admin, &exchange_key, spec.listing_deposit), "listing deposit".into(), exchange_key, change).await?;
        }
        Ok(Some(existing))
    }

    /// Turns the time lock on last, so the rest of the run could still configure directly.
    async fn timelock(&mut self, exchange: &Pubkey, wanted: i64) -> Result<(), MigrateError> {
        let have = match self.read(exchange, "exchange").await?.and_then(|a| decode::<Exchange>(&a.data)) {
            Some(e) => e.timelock_delay_secs,
            None => return Ok(()),
        };
        if have == wanted || wanted == 0 {
            self.report.push("time lock", *exchange, Outcome::Unchanged);
        } else if have == 0 {
            let admin_kp = self.keys.admin.insecure_clone();
            self.send("set_timelock", &[sdk::set_timelock(&admin_kp.pubkey(), exchange, wanted)], &[&admin_kp]).await?;
            self.report.push("time lock", *exchange, Outcome::Updated(format!("timelock_delay_secs 0 -> {wanted}")));
        } else {
            self.report.push("time lock", *exchange, Outcome::Drift(format!("timelock_delay_secs {have}, config {wanted}: needs a proposal")));
        }
        Ok(())
    }

    async fn approval(&mut self, exchange: &Pubkey, program: &Pubkey, name: &str) -> Result<(), MigrateError> {
        let key = sdk::approval_address(exchange, program);
        let object = format!("trader approval {name}");
        match self.read(&key, "trader approval").await? {
            Some(a) => {
                let ok = decode::<TraderApproval>(&a.data).is_some_and(|t| t.exchange == *exchange && t.trader_program == *program && t.active == 1);
                let outcome = if ok { Outcome::Unchanged } else { Outcome::Conflict("approval account unreadable or inactive".into()) };
                self.report.push(object, key, outcome);
            }
            None => {
                let ix = sdk::approve_trader(&self.keys.admin.pubkey(), exchange, program);
                self.risky("approve_trader", ix, object, key, "not approved".into()).await?;
            }
        }
        Ok(())
    }

    /// The market's oracle address, created when it is a settable oracle that is missing.
    async fn oracle(&mut self, m: &MarketSpec) -> Result<Pubkey, MigrateError> {
        let object = format!("oracle {}", m.symbol);
        match m.oracle {
            OracleSpec::None => Ok(Pubkey::default()),
            OracleSpec::Pyth => {
                let key = m.pyth_price_account.expect("validated");
                let outcome = match self.read(&key, "Pyth price account").await? {
                    Some(a) if PYTH_PROGRAM_IDS.contains(&a.owner) => Outcome::Unchanged,
                    Some(a) => Outcome::Conflict(format!("owned by {}, not a Pyth program", a.owner)),
                    None => Outcome::Conflict("Pyth price account does not exist".into()),
                };
                self.report.push(object, key, outcome);
                Ok(key)
            }
            OracleSpec::SetPrice => {
                let authority = self.keys.oracle_authority().insecure_clone();
                let key = sdk::price_oracle_address(&authority.pubkey(), &m.symbol_bytes());
                match self.read(&key, "price oracle").await? {
                    Some(a) => {
                        let outcome = match decode::<PriceOracle>(&a.data) {
                            Some(o) if o.expo == m.oracle_expo => Outcome::Unchanged,
                            Some(o) => Outcome::Conflict(format!("expo is {}, configured {}", o.expo, m.oracle_expo)),
                            None => Outcome::Conflict("not a price oracle".into()),
                        };
                        self.report.push(object, key, outcome);
                    }
                    None => {
                        let ix = sdk::create_price_oracle(&authority.pubkey(), m.symbol_bytes(), m.oracle_expo);
                        self.send("create_price_oracle", &[ix], &[&authority]).await?;
                        self.report.push(object, key, Outcome::Created);
                    }
                }
                Ok(key)
            }
        }
    }

    async fn market(&mut self, exchange: &Pubkey, m: &MarketSpec) -> Result<(), MigrateError> {
        let oracle = self.oracle(m).await?;
        let key = sdk::market_address(exchange, &m.symbol_bytes());
        let object = format!("market {}", m.symbol);
        let admin = self.keys.admin.insecure_clone();
        let existing = match self.read(&key, "market").await? {
            None => {
                self.send("create_market", &[sdk::create_market(&admin.pubkey(), exchange, &oracle, m.create_args())], &[&admin]).await?;
                self.report.push(object, key, Outcome::Created);
                if self.opts.dry_run {
                    if m.book.is_some() {
                        self.report.push(format!("book {}", m.symbol), Pubkey::default(), Outcome::Created);
                    }
                    return Ok(());
                }
                let data = self.read(&key, "market").await?.map(|a| a.data).unwrap_or_default();
                keeper::discovery::decode_market(&data).ok_or_else(|| MigrateError::Conflict(format!("market {key} unreadable after creation")))?
            }
            Some(account) => {
                let have = keeper::discovery::decode_market(&account.data).ok_or_else(|| MigrateError::Conflict(format!("{key} is not a market")))?;
                self.reconcile_market(exchange, &key, &object, &have, m, &oracle, &admin).await?;
                have
            }
        };
        if let Some(book) = &m.book {
            self.book(exchange, &key, &existing, m, book).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_market(&mut self, exchange: &Pubkey, key: &Pubkey, object: &str, have: &Market, m: &MarketSpec, oracle: &Pubkey, admin: &Keypair) -> Result<(), MigrateError> {
        // Fixed at creation.
        let mut conflicts = vec![];
        if have.exchange != *exchange {
            conflicts.push(format!("exchange {}", have.exchange));
        }
        if have.oracle != *oracle {
            conflicts.push(format!("oracle {} (configured {oracle})", have.oracle));
        }
        if have.oracle_kind != m.oracle.kind() as u8 {
            conflicts.push(format!("oracle kind {} (configured {:?})", have.oracle_kind, m.oracle.kind()));
        }
        if have.base_decimals != m.base_decimals {
            conflicts.push(format!("base_decimals {} (configured {})", have.base_decimals, m.base_decimals));
        }
        if have.base_lot_size != m.base_lot_size {
            conflicts.push(format!("base_lot_size {} (configured {})", have.base_lot_size, m.base_lot_size));
        }
        if !conflicts.is_empty() {
            self.report.push(object, *key, Outcome::Conflict(conflicts.join(", ")));
            return Ok(());
        }
        // The admin's `update_market` fields.
        let mut args = UpdateMarketArgs::default();
        let mut changed = vec![];
        macro_rules! field {
            ($name:ident) => {
                if have.$name != m.$name {
                    args.$name = Some(m.$name);
                    changed.push(format!("{} {} -> {}", stringify!($name), have.$name, m.$name));
                }
            };
        }
        field!(maker_fee_ppm);
        field!(taker_fee_ppm);
        field!(oracle_max_age_secs);
        field!(oracle_max_conf_bps);
        field!(price_band_bps);
        field!(max_funding_rate_ppbh);
        field!(max_funding_rate_change_ppbh);
        field!(funding_window_secs);
        if changed.is_empty() {
            self.report.push(object, *key, Outcome::Unchanged);
        } else {
            self.risky("update_market", sdk::update_market(&admin.pubkey(), exchange, key, args), object.to_string(), *key, changed.join(", ")).await?;
        }
        // Margins belong to the risk authority after creation (once a day, from history).
        if (have.init_margin_long_bps, have.init_margin_short_bps) != (m.init_margin_long_bps, m.init_margin_short_bps) {
            self.report.push(
                format!("margins {}", m.symbol),
                *key,
                Outcome::Drift(format!(
                    "initial margins long/short {}/{} bps on chain, {}/{} configured (the risk authority sets them)",
                    have.init_margin_long_bps, have.init_margin_short_bps, m.init_margin_long_bps, m.init_margin_short_bps
                )),
            );
        }
        Ok(())
    }

    /// One book per market: perpetual registers it in `Market.book`, so an existing
    /// registration means there is nothing to create.
    async fn book(&mut self, exchange: &Pubkey, market: &Pubkey, have: &Market, m: &MarketSpec, spec: &BookSpec) -> Result<(), MigrateError> {
        let object = format!("book {}", m.symbol);
        if have.book != Pubkey::default() {
            let outcome = match self.read(&have.book, "book").await?.and_then(|a| (a.owner == orderbook::ID).then(|| decode::<Book>(&a.data)).flatten()) {
                None => Outcome::Conflict("registered book is missing or unreadable".into()),
                Some(b) => {
                    let have_args = (b.market, b.tick_size, b.min_base_lots, b.side_capacity, b.seat_capacity, b.max_orders_per_account);
                    let want = (*market, spec.tick_size, spec.min_base_lots, spec.side_capacity, spec.seat_capacity, spec.max_orders_per_account);
                    if have_args == want {
                        Outcome::Unchanged
                    } else {
                        Outcome::Conflict(format!(
                            "tick/min lots/side/seats/max orders are {}/{}/{}/{}/{}, configured {}/{}/{}/{}/{}",
                            b.tick_size, b.min_base_lots, b.side_capacity, b.seat_capacity, b.max_orders_per_account,
                            spec.tick_size, spec.min_base_lots, spec.side_capacity, spec.seat_capacity, spec.max_orders_per_account
                        ))
                    }
                }
            };
            self.report.push(object, have.book, outcome);
            return Ok(());
        }
        let book = Keypair::new();
        let space = Book::space(spec.side_capacity, spec.seat_capacity);
        let rent = self.chain.minimum_balance(space).await.context(|| "rent for the book".into())?;
        let admin = self.keys.admin.insecure_clone();
        let payer = self.chain.payer().pubkey();
        let ixs = orderbook::sdk::create_book(&payer, &admin.pubkey(), exchange, market, &book.pubkey(), rent, spec.args());
        self.send("create_book", &ixs, &[&admin, &book]).await?;
        // A dry run has no book address yet: it is the keypair a real run makes.
        let address = if self.opts.dry_run { Pubkey::default() } else { book.pubkey() };
        self.report.push(object, address, Outcome::Created);
        Ok(())
    }
}

/// Brings the cluster to `config`. See the module docs.
pub async fn migrate<C: Chain>(chain: &mut C, config: &MigrationConfig, keys: &Keys, opts: Options) -> Result<Report, MigrateError> {
    config.validate()?;
    let exchange = sdk::exchange_address(&config.exchange.collateral_mint);
    let mut run = Run { chain, keys, opts, report: Report { dry_run: opts.dry_run, exchange, ..Default::default() }, locked: false };
    let created = run.exchange(config).await?;
    if created.is_none() {
        // Dry run of a new exchange: everything after it would be created.
        let approvals: Vec<(Pubkey, String)> = approvals(config);
        for (program, name) in approvals {
            run.report.push(format!("trader approval {name}"), sdk::approval_address(&exchange, &program), Outcome::Created);
        }
        for m in &config.markets {
            if m.oracle == OracleSpec::SetPrice {
                let key = sdk::price_oracle_address(&keys.oracle_authority().pubkey(), &m.symbol_bytes());
                run.report.push(format!("oracle {}", m.symbol), key, Outcome::Created);
            }
            run.report.push(format!("market {}", m.symbol), sdk::market_address(&exchange, &m.symbol_bytes()), Outcome::Created);
            if m.book.is_some() {
                run.report.push(format!("book {}", m.symbol), Pubkey::default(), Outcome::Created);
            }
        }
        return Ok(run.report);
    }
    for (program, name) in approvals(config) {
        run.approval(&exchange, &program, &name).await?;
    }
    for m in &config.markets {
        run.market(&exchange, m).await?;
    }
    run.timelock(&exchange, config.exchange.timelock_delay_secs).await?;
    Ok(run.report)
}

fn approvals(config: &MigrationConfig) -> Vec<(Pubkey, String)> {
    let mut out = vec![];
    if config.exchange.approve_orderbook {
        out.push((orderbook::ID, "orderbook".to_string()));
    }
    for p in &config.exchange.trader_programs {
        if *p != orderbook::ID || !config.exchange.approve_orderbook {
            out.push((*p, p.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let c = MigrationConfig::from_toml_str(include_str!("../migrate.example.toml")).expect("example parses");
        assert_eq!(c.markets.len(), 3);
        let kinds: Vec<OracleSpec> = c.markets.iter().map(|m| m.oracle).collect();
        assert_eq!(kinds, [OracleSpec::Pyth, OracleSpec::SetPrice, OracleSpec::None]);
        assert!(c.markets.iter().all(|m| m.book.is_some()));
        assert!(c.exchange.listing_deposit > 0 && c.exchange.approve_orderbook);
        // Serialising and parsing again gives the same config.
        let again = MigrationConfig::from_toml_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn report_as_json_and_text() {
        let mut r = Report { exchange: Pubkey::new_unique(), ..Default::default() };
        let k = Pubkey::new_unique();
        r.push("market A", k, Outcome::Updated("taker_fee_ppm 1 -> 2".into()));
        r.push("book A", k, Outcome::Unchanged);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["entries"][0], serde_json::json!({"object": "market A", "address": k.to_string(), "outcome": "updated", "detail": "taker_fee_ppm 1 -> 2"}));
        assert_eq!(v["entries"][1]["outcome"], "unchanged");
        assert!(r.changed() && r.conflicts().is_empty());
        assert!(r.render().contains("updated: taker_fee_ppm 1 -> 2"));
    }

    #[test]
    fn defaults_and_refusals() {
        let mint = Pubkey::new_unique();
        let base = format!("[exchange]\ncollateral_mint = \"{mint}\"\n");
        let c = MigrationConfig::from_toml_str(&format!("{base}[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n")).unwrap();
        let m = &c.markets[0];
        assert_eq!((m.oracle_max_age_secs, m.price_band_bps, m.init_margin_long_bps, m.taker_fee_ppm), (60, 500, 1_000, 500));
        assert!(c.exchange.approve_orderbook && c.exchange.admin_keypair.is_none());
        assert_eq!(m.create_args().oracle_kind, OracleKind::None);

        let bad = [
            "[[markets]]\nsymbol = \"X\"\noracle = \"pyth\"\nbase_decimals = 6\nbase_lot_size = 1\n",
            "[[markets]]\nsymbol = \"THIS-SYMBOL-IS-TOO-LONG\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n",
            "[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n",
            "[[markets]]\nsymbol = \"X\"\noracle = \"oracle\"\nbase_decimals = 6\nbase_lot_size = 1\n",
            "[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\nbogus = 3\n",
        ];
        for tail in bad {
            assert!(MigrationConfig::from_toml_str(&format!("{base}{tail}")).is_err(), "{tail}");
        }
        let no_approval = format!("{base}approve_orderbook = false\n[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n[markets.book]\ntick_size = 1\n");
        assert!(MigrationConfig::from_toml_str(&no_approval).is_err());
    }
}
