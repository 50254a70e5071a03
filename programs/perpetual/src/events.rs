//! Events for indexers. Amounts are native units, sizes lots, prices quote native per lot.
use anchor_lang::prelude::*;

use crate::state::{GovAction, MarketStatus, OracleKind, OracleSlot, OracleSource};
use crate::trader_api::{AllowanceChange, FillResult};

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
    pub deleverage_authority: Pubkey,
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
    pub status: MarketStatus,
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
    pub reason: FillResult,
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

#[event]
pub struct InsuranceChanged {
    pub exchange: Pubkey,
    /// Signed change of the fund, native units.
    pub delta: i64,
    pub balance: u64,
    pub reason: InsuranceReason,
}

#[event]
pub struct ReservationsCleared {
    pub margin_account: Pubkey,
    pub lots: u64,
}

#[event]
pub struct Liquidated {
    pub market: Pubkey,
    pub liquidatee: Pubkey,
    pub liquidator: Pubkey,
    /// Lots moved; positive when the liquidatee was long.
    pub base_lots: i64,
    pub price_bits: i128,
    pub insurance_fee: u64,
}

#[event]
pub struct Deleveraged {
    pub market: Pubkey,
    pub account: Pubkey,
    pub counterparty: Pubkey,
    pub base_lots: i64,
    pub price_bits: i128,
    pub kind: DeleverageKind,
    pub fee_to_counterparty: u64,
}

#[event]
pub struct UnderwaterMarked {
    pub margin_account: Pubkey,
    /// 0 when the mark is cleared.
    pub since: i64,
}

#[event]
pub struct MarketSettled {
    pub market: Pubkey,
    pub price_bits: i128,
}

#[event]
pub struct PositionSettled {
    pub market: Pubkey,
    pub margin_account: Pubkey,
    pub base_lots: i64,
    pub collateral_change: i64,
}

#[event]
pub struct MarketClosed {
    pub market: Pubkey,
    pub deposit_returned: u64,
}

#[event]
pub struct ProposalQueued {
    pub exchange: Pubkey,
    pub proposal: Pubkey,
    pub id: u64,
    pub action: GovAction,
    pub eta: i64,
    pub payload: Vec<u8>,
}

#[event]
pub struct ProposalExecuted {
    pub exchange: Pubkey,
    pub proposal: Pubkey,
    pub id: u64,
    pub action: GovAction,
}

#[event]
pub struct ProposalCancelled {
    pub exchange: Pubkey,
    pub proposal: Pubkey,
    pub id: u64,
    pub executed: bool,
}

#[event]
pub struct TimelockChanged {
    pub exchange: Pubkey,
    pub delay_secs: i64,
}

#[event]
pub struct ListingDepositSet {
    pub exchange: Pubkey,
    pub amount: u64,
}

/// Why the insurance fund changed; emitted as its variant index.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum InsuranceReason {
    /// Anyone topped the fund up.
    Deposit,
    /// The admin withdrew, through the time lock.
    AdminWithdrawal,
    /// Liquidation fees, paid directly or swept from a market's accrued share.
    LiquidationFee,
    /// The fund covered an account's shortfall.
    Shortfall,
}

/// Which deleveraging happened; emitted as its variant index.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum DeleverageKind {
    /// An underwater account, by the deleveraging authority.
    ByAuthority,
    /// An underwater account, by a third party after the account's time lock.
    AfterTimelock,
    /// Early deleveraging of a liquidatable account the book is too thin to close.
    Early,
}

#[event]
pub struct SeatSettled {
    pub market: Pubkey,
    pub margin_account: Pubkey,
    pub bid_lots: u64,
    pub ask_lots: u64,
    /// Quote less maker fees, into collateral.
    pub cash: i64,
    pub fees: i64,
}

#[event]
pub struct SeatAllowanceSet {
    pub market: Pubkey,
    pub margin_account: Pubkey,
    pub change: AllowanceChange,
    pub bid_lots: u64,
    pub ask_lots: u64,
    pub bid_limit: u64,
    pub ask_limit: u64,
}

#[event]
pub struct BookTakeSettled {
    pub market: Pubkey,
    pub taker: Pubkey,
    pub taker_is_bid: bool,
    pub base_lots: u64,
    pub quote: u64,
    pub taker_fee: i64,
    pub maker_fees: i64,
    pub fills: u32,
}

#[event]
pub struct OracleSet {
    pub market: Pubkey,
    pub slot: OracleSlot,
    /// The default pubkey when a fallback is removed.
    pub oracle: Pubkey,
    pub kind: OracleKind,
}

#[event]
pub struct OracleSourceChanged {
    pub market: Pubkey,
    pub from: OracleSource,
    pub to: OracleSource,
    pub ts: i64,
}
