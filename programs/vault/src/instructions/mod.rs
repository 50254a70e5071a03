//! One file per instruction, each with its account checks beside its handler; the
//! manager's order instructions share [`ManagerOrder`](crate::manager_order::ManagerOrder).
pub mod cancel_order;
pub mod create_vault;
pub mod deposit;
pub mod place_order;
pub mod set_allowance;
pub mod withdraw;

pub use create_vault::*;
pub use deposit::*;
pub use withdraw::*;

pub use crate::manager_order::ManagerOrder;
