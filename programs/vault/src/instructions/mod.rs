//! One file per instruction family, each with its account checks beside its handler.
#![allow(ambiguous_glob_reexports)]
pub mod create_vault;
pub mod deposit;
pub mod orders;
pub mod withdraw;

pub use create_vault::*;
pub use deposit::*;
pub use orders::*;
pub use withdraw::*;
