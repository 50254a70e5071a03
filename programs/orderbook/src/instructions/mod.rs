//! One file per instruction: its accounts (unless it takes the shared
//! [`OrderAccounts`](crate::order_accounts::OrderAccounts)) and its handler. Logic several
//! instructions share lives in [`crate::controller`].
pub mod cancel_all_orders;
pub mod cancel_order;
pub mod cancel_order_by_client_id;
pub mod close_book;
pub mod create_book;
pub mod early_deleverage;
pub mod liquidate_order;
pub mod place_order;
pub mod prune_stale_orders;
pub mod replace_order;
pub mod revoke_seat;
pub mod sample_mark;
pub mod set_allowance;
pub mod settle_seats;

pub use close_book::*;
pub use create_book::*;
pub use early_deleverage::*;
pub use prune_stale_orders::*;
pub use sample_mark::*;
pub use set_allowance::AllowanceArgs;
pub use settle_seats::*;

// The order instructions' shared accounts and arguments, at their published paths.
pub use crate::order_accounts::OrderAccounts;
pub use crate::order_args::{OrderType, PlaceOrderArgs};
