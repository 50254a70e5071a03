//! The keeper library: configuration, the cranks, the risk decisions, metrics, price
//! history, the loop runner and (feature `simulate`) the embedded simulation. Chain access,
//! account discovery and decoding are the shared `client` crate's.
pub mod config;
pub mod cranks;
pub mod metrics;
pub mod prices;
pub mod risk;
pub mod runner;
#[cfg(feature = "simulate")]
pub mod sim;
