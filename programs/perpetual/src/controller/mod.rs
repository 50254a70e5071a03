//! State-changing logic shared by instructions: funding settlement, health over
//! accounts, and fills.
pub mod create_account;
pub mod funding;
pub mod health;
pub mod liquidation;
pub mod mark;
pub mod return_data;
pub mod trade;
