//! State-changing rules shared by instructions. Crate-private: integrators and the keeper use
//! `math`, `state`, `trader_api`, `sdk` and the health entry points re-exported at the root.
pub(crate) mod funding;
pub(crate) mod governance;
pub mod health;
pub(crate) mod liquidation;
pub(crate) mod listing;
pub(crate) mod margin_rule;
pub(crate) mod risk_opening;
pub(crate) mod seat;
pub(crate) mod trade;
pub(crate) mod trader_auth;
pub(crate) mod vault;
