use anchor_lang::prelude::*;

use super::DISCRIMINATOR_LEN;

use crate::error::{checked, PerpError};
use crate::math::funding;
use crate::math::health::RiskParams;
use crate::math::lots::reservation_reduces;
use crate::math::mark::{MarkSample, MARK_SAMPLES};
use crate::math::var::leverage_disabled;
use crate::math::{PodI80F48, I80F48};

/// The parameters a market is created with (by the admin, or from listing defaults).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct CreateMarketArgs {
    pub symbol: [u8; 16],
    pub oracle_kind: OracleKind,
    pub base_decimals: u8,
    pub base_lot_size: u64,
    pub oracle_max_age_secs: u32,
    pub oracle_max_conf_bps: u16,
    pub price_band_bps: u16,
    /// Maintenance is half of each.
    pub init_margin_long_bps: u16,
    pub init_margin_short_bps: u16,
    pub maker_fee_ppm: i32,
    pub taker_fee_ppm: i32,
    pub max_funding_rate_ppbh: i64,
    pub max_funding_rate_change_ppbh: i64,
    pub funding_window_secs: i64,
    /// `PythPull` only: the Pyth feed id to pin, which the update account must hold now.
    /// `None` pins the feed the update account holds.
    pub oracle_feed_id: Option<[u8; 32]>,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
/// Stored as its variant index (declaration order is the on-chain value).
#[repr(u8)]
pub enum MarketStatus {
    /// Trading and reservations allowed.
    Active,
    /// Only fills that shrink positions; new reservations refused.
    ReduceOnly,
    /// No fills and no new reservations; cancels, deposits and withdrawals still work.
    Paused,
    /// One-way: price and funding index locked.
    FinalSettlement,
}

impl MarketStatus {
    pub fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            0 => Self::Active,
            1 => Self::ReduceOnly,
            2 => Self::Paused,
            3 => Self::FinalSettlement,
            _ => return err!(PerpError::ParameterOutOfRange),
        })
    }
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum OracleKind {
    /// Pyth legacy price account (`pyth-sdk-solana` layout).
    PythLegacy,
    /// This program's `PriceOracle`, written by its authority.
    SetPrice,
    /// No spot index: the mark comes from the book alone, longs are disabled.
    None,
    /// Pyth pull oracle: a `PriceUpdateV2` account of the Pyth Solana Receiver, fully
    /// verified and holding the feed pinned in `Market::oracle_feed_id`.
    PythPull,
}

impl OracleKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        [Self::PythLegacy, Self::SetPrice, Self::None, Self::PythPull].get(v as usize).copied()
    }
}

/// Which oracle a market reads, as `refresh_oracle_source` last found them.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum OracleSource {
    /// The primary passes its guard rails (or was not checked since it last did).
    Primary,
    /// The primary failed and the fallback passed its own guard rails.
    Fallback,
    /// Every oracle failed: the market is priced from its last good index, only reducing
    /// actions work, and withdrawals move that price against the account
    /// (`PricedMarket::conservative`).
    Down,
}

impl OracleSource {
    pub fn from_u8(v: u8) -> Option<Self> {
        [Self::Primary, Self::Fallback, Self::Down].get(v as usize).copied()
    }
}

/// The two oracles a market may name.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum OracleSlot {
    Primary,
    Fallback,
}

/// One oracle of a market with its guard rails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleConfig {
    pub key: Pubkey,
    pub kind: OracleKind,
    /// `PythPull` only: the feed the update account must hold.
    pub feed_id: [u8; 32],
    pub max_age_secs: u32,
    pub max_conf_bps: u16,
}

/// One perpetual market.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub exchange: Pubkey,
    /// The spot index's price account; the default pubkey when the market has no index.
    pub oracle: Pubkey,
    /// The canonical order book, registered once by the order-book program.
    pub book: Pubkey,
    /// Who listed the market; the listing deposit returns to them when it closes.
    pub lister: Pubkey,
    pub symbol: [u8; 16],

    /// Base native units per lot.
    pub base_lot_size: u64,
    pub oracle_max_age_secs: u32,
    pub oracle_max_conf_bps: u16,
    /// Fills must lie within this distance of the index (or mark without an index).
    pub price_band_bps: u16,

    pub init_margin_long_bps: u16,
    pub maint_margin_long_bps: u16,
    pub init_margin_short_bps: u16,
    pub maint_margin_short_bps: u16,

    /// Parts per million of notional; negative is a rebate.
    pub maker_fee_ppm: i32,
    pub taker_fee_ppm: i32,

    /// Funding rate R, in parts per billion of the index price per hour.
    pub funding_rate_ppbh: i64,
    /// Largest |R| allowed.
    pub max_funding_rate_ppbh: i64,
    /// Largest change of R within one window.
    pub max_funding_rate_change_ppbh: i64,
    pub funding_window_secs: i64,
    pub funding_window_start_ts: i64,
    pub funding_window_start_rate_ppbh: i64,
    /// Global index I, quote native per lot.
    pub funding_index: PodI80F48,
    pub funding_last_update_ts: i64,
    /// Funding paid in minus funding paid out, native units. Rounding leaves it >= 0
    /// once every account has settled.
    pub funding_pool: i64,
    /// Trading fees accrued and not yet swept into the exchange.
    pub fees_accrued: i64,
    /// Sum of long positions, in lots, and the most the risk authority allows.
    pub open_interest_lots: u64,
    pub open_interest_cap_lots: u64,
    /// Last fill price, quote native per lot (0 before the first trade).
    pub last_trade_price: u64,
    pub last_trade_ts: i64,
    /// Price locked by final settlement, quote native per lot.
    pub settlement_price: PodI80F48,
    /// Last index reading that passed every guard rail, and when.
    pub index_price: PodI80F48,
    pub index_ts: i64,
    /// Mark price, moving averages and count as of the last sample.
    pub mark_price: PodI80F48,
    pub mark_ma: PodI80F48,
    pub index_ma: PodI80F48,
    pub mark_last_sample_ts: i64,
    pub mark_sample_count: u32,
    /// A reading this far from `index_ma` is refused until the average catches up.
    pub index_jump_bps: u16,
    pub _padding0: [u8; 2],
    /// When the risk authority last set margins (at most once a day).
    pub margins_updated_ts: i64,
    /// Collateral the lister deposited, held in the vault.
    pub listing_deposit: u64,
    pub created_ts: i64,
    pub total_fills: u64,

    pub oracle_kind: u8,
    pub status: u8,
    pub bump: u8,
    pub base_decimals: u8,
    pub quote_decimals: u8,
    pub listed_permissionless: u8,
    pub _padding1: [u8; 2],
    /// A liquidator takes over at the mark less this (its reward).
    pub liquidation_discount_bps: u16,
    /// Charged to the liquidated account for the insurance fund.
    pub liquidation_insurance_fee_bps: u16,
    /// A partial liquidation leaves the account this far above maintenance.
    pub liquidation_buffer_bps: u16,
    pub _padding2: [u8; 2],
    /// One sample a minute over the last hour, for the mark's moving averages.
    pub mark_samples: [MarkSample; MARK_SAMPLES],
    /// Margin-account position slots that name this market: it can close only at zero.
    pub open_slots: u64,
    /// Liquidation fees collected in this market for the insurance fund, not yet swept.
    pub insurance_accrued: i64,
    /// A slow price: it follows the index by at most `STABLE_PRICE_STEP_BPS` per mark sample.
    /// Opening risk and withdrawals value positions at the least favourable of index, mark
    /// and this, so profit from a pump held for an hour is not withdrawable at the pump.
    pub stable_price: PodI80F48,
    /// `PythPull` markets: the Pyth feed id the update account must hold (zero otherwise).
    pub oracle_feed_id: [u8; 32],
    /// The sum of `|delta I|` over every funding index move: a pending seat fill owes at
    /// most its growth since the seat's grant.
    pub funding_variation: PodI80F48,
    /// Lots and cash (net of maker fees) the book's seats hold from fills not yet settled
    /// into margin accounts: positions sum to minus `pending_seat_lots`, and the vault holds
    /// `pending_seat_cash` for the makers.
    pub pending_seat_lots: i64,
    pub pending_seat_cash: i64,
    /// The trader authority (PDA) of the program that registered `book`: the only one
    /// that may change seat allowances or settle seats in this market.
    pub book_trader: Pubkey,
    /// When an index update first saw the oracle jump from its reference, held on one side
    /// since (0: no jump pending); the move is taken as genuine `INDEX_JUMP_CONFIRM_SECS`
    /// later.
    pub index_jump_since_ts: i64,
    /// The side of that jump: 1 up, -1 down (0: none).
    pub index_jump_side: i8,
    pub _padding3: [u8; 7],
    /// A second price account, read when the primary fails its guard rails (the default
    /// pubkey: none). Set, like the primary, through `set_oracle` (time-locked).
    pub fallback_oracle: Pubkey,
    /// `PythPull` fallbacks: the feed the update account must hold (zero otherwise).
    pub fallback_feed_id: [u8; 32],
    /// When `refresh_oracle_source` last changed `oracle_source`.
    pub oracle_source_since_ts: i64,
    /// The fallback's own guard rails.
    pub fallback_max_age_secs: u32,
    pub fallback_max_conf_bps: u16,
    /// An `OracleKind`; meaningless while `fallback_oracle` is the default pubkey.
    pub fallback_kind: u8,
    /// An `OracleSource`: which oracle the market reads, or that all have failed.
    pub oracle_source: u8,
    pub reserved: [u8; 32],
}
const _: () = assert!(
    core::mem::size_of::<Market>()
        == 4 * 32
            + 16
            + 16
            + 8
            + 8
            + 48
            + 16
            + 3 * 8
            + 4 * 8
            + 16 * 2
            + 8
            + 16 * 3
            + 8
            + 8
            + 8
            + 8
            + 8
            + 8
            + 8
            + 8
            + MARK_SAMPLES * core::mem::size_of::<MarkSample>()
            + 16
            + 16
            + 32
            + 16
            + 2 * 8
            + 32
            + 8
            + 8
            + 32
            + 32
            + 8
            + 8
            + 32
);

impl Market {
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<Market>();

    pub fn status(&self) -> Result<MarketStatus> {
        MarketStatus::from_u8(self.status)
    }

    /// True once final settlement locked price and index (a one-way switch).
    pub fn is_final_settled(&self) -> bool {
        self.status == MarketStatus::FinalSettlement as u8
    }

    pub fn risk_params(&self) -> RiskParams {
        RiskParams {
            init_long_bps: self.init_margin_long_bps,
            maint_long_bps: self.maint_margin_long_bps,
            init_short_bps: self.init_margin_short_bps,
            maint_short_bps: self.maint_margin_short_bps,
            band_bps: self.band_bps(),
            maker_fee_ppm: self.maker_fee_ppm,
        }
    }

    /// Funding index as it would be at `now`, without writing it.
    pub fn projected_funding_index(&self, price_per_lot: I80F48, now: i64) -> Result<I80F48> {
        let index = self.funding_index.get();
        if self.is_final_settled() || now <= self.funding_last_update_ts {
            return Ok(index);
        }
        let elapsed = now - self.funding_last_update_ts;
        let delta = funding::index_delta(elapsed, self.funding_rate_ppbh, price_per_lot)?;
        checked(index.checked_add(delta))
    }

    /// Funding variation as it would be at `now`, without writing it.
    pub fn projected_funding_variation(&self, price_per_lot: I80F48, now: i64) -> Result<I80F48> {
        let variation = self.funding_variation.get();
        if self.is_final_settled() || now <= self.funding_last_update_ts {
            return Ok(variation);
        }
        let elapsed = now - self.funding_last_update_ts;
        let delta = funding::index_delta(elapsed, self.funding_rate_ppbh, price_per_lot)?;
        checked(variation.checked_add(delta.abs()))
    }

    /// `I += T * R * P`, and the variation by `|T * R * P|`. Returns the index delta applied.
    pub fn update_funding_index(&mut self, price_per_lot: I80F48, now: i64) -> Result<I80F48> {
        if self.is_final_settled() || now <= self.funding_last_update_ts {
            return Ok(I80F48::ZERO);
        }
        let elapsed = now - self.funding_last_update_ts;
        let delta = funding::index_delta(elapsed, self.funding_rate_ppbh, price_per_lot)?;
        self.funding_index.set(checked(self.funding_index.get().checked_add(delta))?);
        self.funding_variation.set(checked(self.funding_variation.get().checked_add(delta.abs()))?);
        self.funding_last_update_ts = now;
        Ok(delta)
    }

    /// The stored oracle kind; `None` for a byte no kind has.
    pub fn oracle_kind(&self) -> Option<OracleKind> {
        OracleKind::from_u8(self.oracle_kind)
    }

    pub fn has_index(&self) -> bool {
        self.oracle_kind() != Some(OracleKind::None)
    }

    /// The stored source; an unknown byte counts as `Down` (the most restrictive).
    pub fn oracle_source(&self) -> OracleSource {
        OracleSource::from_u8(self.oracle_source).unwrap_or(OracleSource::Down)
    }

    /// True when the market has an index and every oracle failed at the last refresh.
    pub fn oracles_down(&self) -> bool {
        self.has_index() && self.oracle_source() == OracleSource::Down
    }

    /// The primary oracle and its rails (`None` for a market without an index, or a kind
    /// byte the program does not know).
    pub fn primary_oracle(&self) -> Option<OracleConfig> {
        let kind = self.oracle_kind().filter(|k| *k != OracleKind::None)?;
        Some(OracleConfig {
            key: self.oracle,
            kind,
            feed_id: self.oracle_feed_id,
            max_age_secs: self.oracle_max_age_secs,
            max_conf_bps: self.oracle_max_conf_bps,
        })
    }

    /// The fallback oracle and its own rails, if one is set.
    pub fn fallback_oracle(&self) -> Option<OracleConfig> {
        if !self.has_index() || self.fallback_oracle == Pubkey::default() {
            return None;
        }
        let kind = OracleKind::from_u8(self.fallback_kind).filter(|k| *k != OracleKind::None)?;
        Some(OracleConfig {
            key: self.fallback_oracle,
            kind,
            feed_id: self.fallback_feed_id,
            max_age_secs: self.fallback_max_age_secs,
            max_conf_bps: self.fallback_max_conf_bps,
        })
    }

    /// The oracle instructions must be given now: the fallback while the market reads it,
    /// else the primary (which a market whose oracles are down also accepts). The default
    /// pubkey for a market without an index.
    pub fn active_oracle(&self) -> Pubkey {
        match (self.oracle_source(), self.fallback_oracle()) {
            (OracleSource::Fallback, Some(f)) => f.key,
            _ => self.oracle,
        }
    }

    /// The oracle a reading must come from now, with its rails: `None` when the market has
    /// no index or its oracles are down.
    pub fn reading_oracle(&self) -> Option<OracleConfig> {
        match self.oracle_source() {
            OracleSource::Primary => self.primary_oracle(),
            OracleSource::Fallback => self.fallback_oracle(),
            OracleSource::Down => None,
        }
    }

    /// True for either of the market's oracle accounts.
    pub fn is_oracle_account(&self, key: &Pubkey) -> bool {
        self.has_index() && (*key == self.oracle || self.fallback_oracle().is_some_and(|f| f.key == *key))
    }

    /// The band fills must lie within: widened by the larger initial margin while the
    /// oracles are down, so positions can still be closed near where the price may be.
    pub fn band_bps(&self) -> u16 {
        if !self.oracles_down() {
            return self.price_band_bps;
        }
        let widen = self.init_margin_long_bps.max(self.init_margin_short_bps);
        self.price_band_bps.saturating_add(widen).min(crate::params::MAX_DOWN_BAND_BPS)
    }

    /// True when moving from `before` to `after` lots grows a side whose initial margin
    /// disables leverage (90% or more): only reducing trades are allowed there.
    pub fn grows_disabled_side(&self, before: i64, after: i64) -> bool {
        let (long_off, short_off) = self.leverage_disabled();
        (long_off && after > before.max(0)) || (short_off && after < before.min(0))
    }

    /// Whether leverage is disabled on the long and on the short side.
    pub fn leverage_disabled(&self) -> (bool, bool) {
        (leverage_disabled(self.init_margin_long_bps), leverage_disabled(self.init_margin_short_bps))
    }

    /// True when a larger reservation could grow a side whose leverage is disabled: a bid
    /// may only close a short there, an ask only close a long.
    pub fn reservation_grows_disabled_side(&self, base_lots: i64, bid_delta: i64, ask_delta: i64) -> bool {
        let (long_off, short_off) = self.leverage_disabled();
        (long_off && bid_delta > 0 && !reservation_reduces(base_lots, bid_delta, 0))
            || (short_off && ask_delta > 0 && !reservation_reduces(base_lots, 0, ask_delta))
    }

    pub fn symbol_str(&self) -> &str {
        let end = self.symbol.iter().position(|b| *b == 0).unwrap_or(self.symbol.len());
        core::str::from_utf8(&self.symbol[..end]).unwrap_or("?")
    }
}
