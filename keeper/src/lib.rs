//! The keeper library: chain access and the embedded chain used by the demo and tests.
#![allow(deprecated)] // solana-program-test 3.x marks its API "unstable"
pub mod demo;
pub mod embedded;
