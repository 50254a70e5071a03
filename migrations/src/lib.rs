//! Deploy-and-initialise: from a TOML file, bring a cluster to the configured exchange,
//! authorities, listing deposit, trader approvals, oracles, markets and books.
//!
//! Idempotent: every object is read first. What is missing is created; what the admin may
//! change and differs is updated; what is equal is left alone (no transaction). Fields that
//! cannot change (a market's oracle or lot size, a book's capacities) are reported as
//! conflicts, and margins (the risk authority's, moved by the keeper's margin loop) as drift.
//! So a second run sends nothing and changes no byte.
//!
//! Everything goes through [`client::chain::Chain`]: `RpcChain` for a cluster,
//! `EmbeddedChain` in the tests. Deploying the programs themselves is `anchor deploy`'s job.
//!
//! - [`config`]: the migration file (`MigrationConfig`: `[cluster]`, `[exchange]`, `[[markets]]`);
//! - [`keys`]: the keypairs a run signs with;
//! - [`report`]: what a run did to each object, as text and JSON;
//! - [`runner`]: the run itself, [`migrate`].
pub mod config;
pub mod keys;
pub mod report;
pub mod runner;

use client::chain::ChainError;
/// Reads a zero-copy account's struct after its discriminator (any alignment).
pub use client::decode;
pub use config::{BookSpec, ExchangeSpec, MarketSpec, MigrationConfig, OracleSpec};
pub use keys::Keys;
pub use report::{Entry, Outcome, Report};
pub use runner::{migrate, Options};

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

pub(crate) fn config_err(msg: impl ToString) -> MigrateError {
    MigrateError::Config(msg.to_string())
}

pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, MigrateError>;
}

impl<T> Context<T> for Result<T, ChainError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, MigrateError> {
        self.map_err(|source| MigrateError::Chain { what: what(), source })
    }
}
