//! One file per instruction family; `accounts.rs` holds the accounts every order takes.
#![allow(ambiguous_glob_reexports)]
pub mod accounts;
pub mod cancel;
pub mod create_book;
pub mod place_order;
pub mod prune;
pub mod risk;
pub mod sample_mark;

pub use accounts::*;
pub use cancel::*;
pub use create_book::*;
pub use place_order::*;
pub use prune::*;
pub use risk::*;
pub use sample_mark::*;
