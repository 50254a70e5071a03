//! On-chain accounts. Every struct is `#[repr(C)]` zero-copy with explicit padding and
//! reserved bytes, and its size is asserted at compile time.
pub mod exchange;
pub mod margin_account;
pub mod market;
pub mod market_prices;
pub mod oracle;
pub mod proposal;
pub mod trader;

pub use exchange::*;
pub use margin_account::*;
pub use market::*;
pub use market_prices::*;
pub use oracle::*;
pub use proposal::*;
pub use trader::*;

pub const EXCHANGE_SEED: &[u8] = b"exchange";
pub const VAULT_SEED: &[u8] = b"vault";
pub const MARKET_SEED: &[u8] = b"market";
pub const MARGIN_SEED: &[u8] = b"margin";
pub const TRADER_APPROVAL_SEED: &[u8] = b"trader_approval";
pub const ORACLE_SEED: &[u8] = b"oracle";
pub const PROPOSAL_SEED: &[u8] = b"proposal";

/// Anchor's account discriminator length.
pub const DISCRIMINATOR_LEN: usize = 8;
