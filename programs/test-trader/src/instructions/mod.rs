//! One file per instruction.
pub mod govern;
pub mod reserve;
pub mod settle;

pub use govern::*;
