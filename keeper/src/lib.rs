//! The keeper library: configuration, the cranks, the risk decisions, metrics, price
//! history, the loop runner, (feature `simulate`) the embedded simulation and (feature
//! `localnet`) the local JSON-RPC endpoint. Chain access,
//! account discovery and decoding are the shared `client` crate's.
pub mod config;
pub mod cranks;
#[cfg(feature = "localnet")]
pub mod localnet;
pub mod metrics;
pub mod prices;
pub mod risk;
pub mod runner;
#[cfg(feature = "simulate")]
pub mod sim;
