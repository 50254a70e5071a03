//! Pyth legacy price accounts in their real layout (`pyth-sdk-solana`'s `SolanaPriceAccount`).
use pyth_sdk_solana::state::PriceStatus;

/// Pyth's mainnet oracle program, which owns real price accounts.
pub const PYTH_PROGRAM: anchor_lang::prelude::Pubkey = perpetual::state::PYTH_PROGRAM_IDS[0];

/// Bytes of a price account with aggregate `price * 10^expo`, confidence `conf` and
/// publish time `ts`.
pub fn price_account_bytes(price: i64, conf: u64, expo: i32, ts: i64, status: PriceStatus) -> Vec<u8> {
    perpetual::sdk::pyth_price_account_bytes(price, conf, expo, ts, status)
}
