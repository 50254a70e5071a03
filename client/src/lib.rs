//! The exchange's off-chain client, shared by the keeper, the migrations tool, the
//! integration tests and the benchmark:
//!
//! - [`chain`]: one [`chain::Chain`] interface, a cluster through RPC ([`chain::rpc`]) and,
//!   with the `embedded` feature, the embedded `solana-program-test` chain
//!   (`chain::embedded`);
//! - [`batch`]: several independent instructions per transaction, within a transaction's
//!   limits, one refusal costing the others only a resend;
//! - [`discovery`]: finding the exchange's accounts with getProgramAccounts filters;
//! - [`accounts`]: typed decoding of the exchange, markets, margin accounts and books;
//! - [`ledger`]: the vault equation on decoded accounts;
//! - [`cluster`]: the `[cluster]` configuration (RPC URL, commitment, payer keypair, fees,
//!   retries) the keeper and the migrations tool share;
//! - `harness` (feature `embedded`): the programs' native entry shims and the one
//!   `ProgramTest` builder;
//! - `localnet` (feature `localnet`): the embedded chain behind a standard Solana JSON-RPC
//!   endpoint over HTTP.
pub mod accounts;
pub mod batch;
pub mod chain;
pub mod cluster;
pub mod discovery;
#[cfg(feature = "embedded")]
pub mod harness;
pub mod ledger;
#[cfg(feature = "localnet")]
pub mod localnet;
pub mod token;

pub use accounts::{
    decode, decode_book, decode_exchange, decode_margin, decode_market, decode_token_amount, MarginView,
};
pub use chain::{Chain, ChainError, Filter, TxOutput};
pub use ledger::Liabilities;
