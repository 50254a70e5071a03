//! The logic several instructions share: the place flow (place, liquidate, replace) and
//! cancelling an account's own orders (the three cancels, replace).
pub mod cancel;
pub mod place;
