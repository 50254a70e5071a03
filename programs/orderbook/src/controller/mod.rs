//! The logic several instructions share: the place flow (place, liquidate, replace),
//! cancelling an account's own orders (the three cancels, replace) and keeping seats in step
//! with `perpetual` (place, the seat instructions, liquidation).
pub mod cancel;
pub mod place;
pub mod seat;
