//! Test harness for the perpetual exchange on `solana-program-test`: programs run natively
//! with the real SPL Token. Fixtures ("cookies") record every mint, market and user created,
//! so that `invariants::check` can sum over all of them.
pub mod adversarial;
pub mod book;
pub mod env;
pub mod invariants;
pub mod pyth;

pub use book::*;
pub use env::*;
