//! Pyth legacy price accounts in their real layout (`pyth-sdk-solana`'s `SolanaPriceAccount`).
use pyth_sdk_solana::state::{AccountType, PriceStatus, SolanaPriceAccount, MAGIC, VERSION_2};

/// Pyth's mainnet oracle program, which owns real price accounts.
pub const PYTH_PROGRAM: anchor_lang::prelude::Pubkey = perpetual::state::PYTH_PROGRAM_IDS[0];

/// Bytes of a price account with aggregate `price * 10^expo`, confidence `conf` and
/// publish time `ts`.
pub fn price_account_bytes(price: i64, conf: u64, expo: i32, ts: i64, status: PriceStatus) -> Vec<u8> {
    let mut account = SolanaPriceAccount {
        magic: MAGIC,
        ver: VERSION_2,
        atype: AccountType::Price as u32,
        size: core::mem::size_of::<SolanaPriceAccount>() as u32,
        expo,
        timestamp: ts,
        ..Default::default()
    };
    account.agg.price = price;
    account.agg.conf = conf;
    account.agg.status = status;
    account.prev_price = price;
    account.prev_conf = conf;
    account.prev_timestamp = ts;
    bytemuck::bytes_of(&account).to_vec()
}
