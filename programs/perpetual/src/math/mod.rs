//! Pure math shared by the program and the keeper (through the `no-entrypoint` feature).
//! Nothing here reads accounts; every operation is checked.
pub mod fees;
pub mod fixed_point;
pub mod funding;
pub mod health;
pub mod liquidation;
pub mod lots;
pub mod mark;
pub mod price;
pub mod var;

pub use fixed_point::{PodI80F48, I80F48};
