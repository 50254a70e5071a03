//! The book account: a header, two critbit trees (bids and asks) and a seat table, all in
//! one zero-copy account created by the client and initialised by `create_book`.
pub mod book;
pub mod keys;

pub use book::*;
pub use keys::*;
