//! Events for indexers. Amounts are native units, sizes lots, prices quote native per lot.
use anchor_lang::prelude::*;

#[event]
pub struct ExchangeInitialized {
    pub exchange: Pubkey,
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
}

#[event]
pub struct AuthoritiesSet {
    pub exchange: Pubkey,
    pub funding_authority: Pubkey,
    pub risk_authority: Pubkey,
    pub pause_guardian: Pubkey,
}

#[event]
pub struct AdminProposed {
    pub exchange: Pubkey,
    pub proposed: Pubkey,
}

#[event]
pub struct AdminAccepted {
    pub exchange: Pubkey,
    pub admin: Pubkey,
}

#[event]
pub struct MarketCreated {
    pub exchange: Pubkey,
    pub market: Pubkey,
    pub symbol: [u8; 16],
    pub oracle: Pubkey,
}

#[event]
pub struct MarketParamsChanged {
    pub market: Pubkey,
    pub what: String,
}

#[event]
pub struct MarketStatusChanged {
    pub market: Pubkey,
    pub status: u8,
}

#[event]
pub struct ExchangePauseChanged {
    pub exchange: Pubkey,
    pub paused: bool,
}

#[event]
pub struct TraderApprovalChanged {
    pub exchange: Pubkey,
    pub trader_program: Pubkey,
    pub active: bool,
}

#[event]
pub struct MarginAccountCreated {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
    pub account_num: u16,
    pub capacity: u16,
}

#[event]
pub struct DelegateSet {
    pub margin_account: Pubkey,
    pub delegate: Pubkey,
}

#[event]
pub struct Deposited {
    pub margin_account: Pubkey,
    pub depositor: Pubkey,
    pub amount: u64,
    pub collateral_after: i64,
}

#[event]
pub struct Withdrew {
    pub margin_account: Pubkey,
    pub destination: Pubkey,
    pub amount: u64,
    pub collateral_after: i64,
}

#[event]
pub struct FundingIndexUpdated {
    pub market: Pubkey,
    pub index_bits: i128,
    pub delta_bits: i128,
    pub rate_ppbh: i64,
    pub ts: i64,
}

#[event]
pub struct FundingRateSet {
    pub market: Pubkey,
    pub rate_ppbh: i64,
}

#[event]
pub struct FundingSettled {
    pub margin_account: Pubkey,
    pub market: Pubkey,
    /// Collateral change: negative when the account paid.
    pub amount: i64,
}

#[event]
pub struct FillSettled {
    pub market: Pubkey,
    pub taker: Pubkey,
    pub maker: Pubkey,
    /// true when the taker bought.
    pub taker_is_bid: bool,
    pub base_lots: u64,
    pub price_per_lot: u64,
    pub taker_fee: i64,
    pub maker_fee: i64,
}

#[event]
pub struct FillRefused {
    pub market: Pubkey,
    pub maker: Pubkey,
    pub reason: u8,
}

#[event]
pub struct FeesSwept {
    pub market: Pubkey,
    pub amount: u64,
}

#[event]
pub struct OraclePriceSet {
    pub oracle: Pubkey,
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
}

#[event]
pub struct MarkSampled {
    pub market: Pubkey,
    pub slot: u8,
    pub value_bits: i128,
    pub mark_bits: i128,
    pub index_jumped: bool,
    pub ts: i64,
}
