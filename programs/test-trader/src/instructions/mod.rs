//! One file per instruction.
pub mod act;
pub mod govern;
pub mod reserve;
pub mod settle;

pub use act::*;
pub use govern::*;
