//! Pyth legacy price accounts in their real layout (`pyth-sdk-solana`'s `SolanaPriceAccount`).
use pyth_sdk_solana::state::PriceStatus;

/// Pyth's mainnet oracle program, which owns real price accounts.
pub const PYTH_PROGRAM: anchor_lang::prelude::Pubkey = perpetual::state::PYTH_PROGRAM_IDS[0];

/// Bytes of a price account with aggregate `price * 10^expo`, confidence `conf` and
/// publish time `ts`.
pub fn price_account_bytes(price: i64, conf: u64, expo: i32, ts: i64, status: PriceStatus) -> Vec<u8> {
    perpetual::sdk::pyth_price_account_bytes(price, conf, expo, ts, status)
}

/// The Pyth Solana Receiver, which owns real pull-oracle `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER_PROGRAM: anchor_lang::prelude::Pubkey = perpetual::state::PYTH_RECEIVER_PROGRAM_ID;
/// Pyth's SOL/USD feed id, which the harness's pull markets pin by default.
pub const TEST_FEED_ID: [u8; 32] = [
    0xef, 0x0d, 0x8b, 0x6f, 0xda, 0x2c, 0xeb, 0xa4, 0x1d, 0xa1, 0x5d, 0x40, 0x95, 0xd1, 0xda, 0x39, 0x2a, 0x0d, 0x2f,
    0x8e, 0xd0, 0xc6, 0xc7, 0xbc, 0x0f, 0x4c, 0xfa, 0xc8, 0xc2, 0x80, 0xb5, 0x6d,
];
pub const FULL: perpetual::state::PythVerificationLevel = perpetual::state::PythVerificationLevel::Full;

/// Bytes of a pull-oracle update account holding `feed_id` at `price * 10^expo` (see
/// `tests/pyth_pull.rs`, which checks them against the `pyth-solana-receiver-sdk` crate).
pub fn price_update_bytes(
    feed_id: [u8; 32],
    price: i64,
    conf: u64,
    expo: i32,
    ts: i64,
    level: perpetual::state::PythVerificationLevel,
) -> Vec<u8> {
    perpetual::sdk::pyth_price_update_bytes(feed_id, price, conf, expo, ts, level)
}
