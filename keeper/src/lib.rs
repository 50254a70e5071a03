//! The keeper library: chain access (RPC or embedded), account discovery, the cranks, the
//! risk decisions, metrics, and the embedded simulation.
#![allow(deprecated)] // solana-program-test 3.x marks its API "unstable"
pub mod chain;
pub mod config;
pub mod cranks;
pub mod discovery;
pub mod metrics;
pub mod prices;
pub mod risk;
pub mod runner;
pub mod sim;
