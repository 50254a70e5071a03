//! The migration file: `[cluster]` (the keeper's keys), `[exchange]` and `[[markets]]`.
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use client::cluster::{pubkey_str, ClusterConfig};
use orderbook::instructions::CreateBookArgs;
use perpetual::sdk;
use perpetual::sdk::CreateMarketArgs;
use perpetual::OracleKind;
use serde::{Deserialize, Serialize};

use crate::{config_err, MigrateError};

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
    /// The `perpetual` program's upgrade authority (the only key that may create an
    /// exchange); absent: the payer, as when the payer deployed the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_authority_keypair: Option<PathBuf>,
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
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| Pubkey::from_str(s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}"))))
            .collect()
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

    /// Reads `path`; relative keypair paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, MigrateError> {
        let text = std::fs::read_to_string(path).map_err(|e| config_err(format!("{}: {e}", path.display())))?;
        let mut config = Self::from_toml_str(&text).map_err(|e| config_err(format!("{}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut std::path::PathBuf| *p = client::cluster::relative_to(dir, p);
        resolve(&mut config.cluster.keypair);
        for p in [
            &mut config.exchange.admin_keypair,
            &mut config.exchange.upgrade_authority_keypair,
            &mut config.exchange.oracle_authority_keypair,
        ]
        .into_iter()
        .flatten()
        {
            resolve(p);
        }
        Ok(config)
    }

    /// What the types cannot check (the program checks every bound again).
    pub fn validate(&self) -> Result<(), MigrateError> {
        use perpetual::params::{MAX_TIMELOCK_SECS, MIN_TIMELOCK_SECS};
        let delay = self.exchange.timelock_delay_secs;
        if delay != 0 && !(MIN_TIMELOCK_SECS..=MAX_TIMELOCK_SECS).contains(&delay) {
            return Err(config_err(format!(
                "exchange.timelock_delay_secs {delay}: 0 (bootstrap) or {MIN_TIMELOCK_SECS} to {MAX_TIMELOCK_SECS}"
            )));
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
                (OracleSpec::Pyth, None) => {
                    return Err(config_err(format!("market {s}: oracle = \"pyth\" needs pyth_price_account")))
                }
                (OracleSpec::SetPrice | OracleSpec::None, Some(_)) => {
                    return Err(config_err(format!("market {s}: pyth_price_account is only for oracle = \"pyth\"")))
                }
                _ => {}
            }
            if m.book.is_some() && !self.exchange.approve_orderbook {
                return Err(config_err(format!(
                    "market {s} has a book, which needs exchange.approve_orderbook = true"
                )));
            }
        }
        Ok(())
    }
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
    fn defaults_and_refusals() {
        let mint = Pubkey::new_unique();
        let base = format!("[exchange]\ncollateral_mint = \"{mint}\"\n");
        let c = MigrationConfig::from_toml_str(&format!(
            "{base}[[markets]]\nsymbol = \"X\"\noracle = \"none\"\nbase_decimals = 6\nbase_lot_size = 1\n"
        ))
        .unwrap();
        let m = &c.markets[0];
        assert_eq!(
            (m.oracle_max_age_secs, m.price_band_bps, m.init_margin_long_bps, m.taker_fee_ppm),
            (60, 500, 1_000, 500)
        );
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
