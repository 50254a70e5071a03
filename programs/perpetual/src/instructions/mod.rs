//! One file per instruction (or per small family sharing one accounts struct): the account
//! checks beside the handler, nothing else. Shared rules live in `controller/`; no file here
//! imports another. The glob re-exports put the Accounts structs and their generated client
//! modules at the crate root, where `#[program]` looks for them.
pub mod admin_transfer;
pub mod create_market;
pub mod deleverage;
pub mod deposit;
pub mod early_deleverage;
pub mod final_settlement;
pub mod funding;
pub mod governance;
pub mod initialize_exchange;
pub mod insurance;
pub mod liquidate;
pub mod list_market;
pub mod margin_account;
pub mod mark_sample;
pub mod pause;
pub mod price_oracle;
pub mod release_reservations;
pub mod set_authorities;
pub mod settle_fills;
pub mod sweep_fees;
pub mod traders;
pub mod underwater;
pub mod update_market;
pub mod update_reservation;
pub mod withdraw;

pub use admin_transfer::*;
pub use create_market::*;
pub use deleverage::*;
pub use deposit::*;
pub use early_deleverage::*;
pub use final_settlement::*;
pub use funding::*;
pub use governance::*;
pub use initialize_exchange::*;
pub use insurance::*;
pub use liquidate::*;
pub use list_market::*;
pub use margin_account::*;
pub use mark_sample::*;
pub use pause::*;
pub use price_oracle::*;
pub use release_reservations::*;
pub use set_authorities::*;
pub use settle_fills::*;
pub use sweep_fees::*;
pub use traders::*;
pub use underwater::*;
pub use update_market::*;
pub use update_reservation::*;
pub use withdraw::*;
