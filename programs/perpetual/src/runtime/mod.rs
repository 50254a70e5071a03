//! Runtime utilities: creating program accounts at PDAs, and return data that works both
//! on SBF and natively.
pub mod create_account;
pub mod return_data;
