//! Every bound and default, once: hard bounds on every parameter (nothing outside them can
//! be set, by anyone), the governance time lock, and the defaults of a listed market.
use anchor_lang::prelude::*;

use crate::error::PerpError;

pub const MIN_INIT_MARGIN_BPS: u16 = 1_000;
pub const MAX_MARGIN_BPS: u16 = 10_000;
pub const MAX_ORACLE_AGE_SECS: u32 = 3_600;
pub const MAX_ORACLE_CONF_BPS: u16 = 1_000;
pub const MAX_PRICE_BAND_BPS: u16 = 2_500;
/// The widest band while a market's oracles are down (its band plus its initial margin).
pub const MAX_DOWN_BAND_BPS: u16 = 5_000;
pub const MIN_MAKER_FEE_PPM: i32 = -1_000;
pub const MAX_FEE_PPM: i32 = 10_000;
/// 1% of the price per hour.
pub const MAX_FUNDING_RATE_PPBH: i64 = 10_000_000;
pub const MIN_FUNDING_WINDOW_SECS: i64 = 60;
pub const MAX_FUNDING_WINDOW_SECS: i64 = 7 * 86_400;
pub const MAX_BASE_DECIMALS: u8 = 18;
/// Largest move of a spot index from its own hourly average before it is refused.
pub const MIN_INDEX_JUMP_BPS: u16 = 500;
pub const DEFAULT_INDEX_JUMP_BPS: u16 = 2_000;
/// A jump held this long on the same side is a genuine move: the index then follows the
/// oracle (a one-minute spike never is; withdrawals and opening risk still use the slow
/// stable price).
pub const INDEX_JUMP_CONFIRM_SECS: i64 = 180;
/// Liquidation: the liquidator's discount and the insurance fund's fee (their sum must stay
/// below the 5% maintenance floor so a liquidation always improves health), and the buffer
/// above maintenance a partial liquidation restores.
pub const DEFAULT_LIQUIDATION_DISCOUNT_BPS: u16 = 100;
pub const DEFAULT_LIQUIDATION_INSURANCE_FEE_BPS: u16 = 100;
pub const DEFAULT_LIQUIDATION_BUFFER_BPS: u16 = 1_000;
pub const DEFAULT_DELEVERAGE_TIMELOCK_SECS: i64 = 3_600;
/// How far the stable price may move toward the index per mark sample (one a minute):
/// 0.1% a minute, about 6% an hour.
pub const STABLE_PRICE_STEP_BPS: u16 = 10;
/// Margins change at most once a day.
pub const MARGIN_UPDATE_INTERVAL_SECS: i64 = 86_400;
/// An initial margin at or above this disables leverage on that side: only reducing trades.
pub const NO_LEVERAGE_BPS: u16 = 9_000;

// The governance time lock.
pub const MIN_TIMELOCK_SECS: i64 = 3_600;
pub const MAX_TIMELOCK_SECS: i64 = 30 * 86_400;
/// A matured proposal must run within this window, or be queued again.
pub const PROPOSAL_GRACE_SECS: i64 = 14 * 86_400;

// Defaults of a permissionlessly listed market.
pub const LISTING_ORACLE_MAX_AGE_SECS: u32 = 60;
pub const LISTING_ORACLE_MAX_CONF_BPS: u16 = 200;
pub const LISTING_PRICE_BAND_BPS: u16 = 500;
pub const LISTING_MAKER_FEE_PPM: i32 = 0;
pub const LISTING_TAKER_FEE_PPM: i32 = 1_000;
pub const LISTING_MAX_FUNDING_RATE_PPBH: i64 = 1_000_000;
pub const LISTING_MAX_FUNDING_RATE_CHANGE_PPBH: i64 = 500_000;
pub const LISTING_FUNDING_WINDOW_SECS: i64 = 3_600;
pub const LISTING_OPEN_INTEREST_CAP_LOTS: u64 = 10_000;
/// Largest listing deposit the admin may require, in collateral native units (100k USDC).
pub const MAX_LISTING_DEPOSIT: u64 = 100_000_000_000;

macro_rules! bound {
    ($cond:expr) => {
        require!($cond, PerpError::ParameterOutOfRange)
    };
}

pub fn check_symbol(symbol: &[u8; 16]) -> Result<()> {
    let len = symbol.iter().position(|b| *b == 0).unwrap_or(16);
    require!(len > 0, PerpError::InvalidSymbol);
    require!(symbol[..len].iter().all(|b| b.is_ascii_graphic()), PerpError::InvalidSymbol);
    require!(symbol[len..].iter().all(|b| *b == 0), PerpError::InvalidSymbol);
    Ok(())
}

/// Maintenance is half the initial margin, rounded up.
pub fn margins(init_bps: u16) -> Result<(u16, u16)> {
    require!((MIN_INIT_MARGIN_BPS..=MAX_MARGIN_BPS).contains(&init_bps), PerpError::InvalidMargins);
    Ok((init_bps, init_bps.div_ceil(2)))
}

pub fn check_oracle_rails(max_age_secs: u32, max_conf_bps: u16) -> Result<()> {
    bound!((1..=MAX_ORACLE_AGE_SECS).contains(&max_age_secs));
    bound!((1..=MAX_ORACLE_CONF_BPS).contains(&max_conf_bps));
    Ok(())
}

pub fn check_band(band_bps: u16) -> Result<()> {
    bound!((1..=MAX_PRICE_BAND_BPS).contains(&band_bps));
    Ok(())
}

pub fn check_fees(maker_ppm: i32, taker_ppm: i32) -> Result<()> {
    bound!((MIN_MAKER_FEE_PPM..=MAX_FEE_PPM).contains(&maker_ppm));
    bound!((0..=MAX_FEE_PPM).contains(&taker_ppm));
    // A rebate never exceeds the taker fee: fees can't drain the fee balance.
    bound!(maker_ppm + taker_ppm >= 0);
    Ok(())
}

pub fn check_funding_bounds(max_rate: i64, max_change: i64, window_secs: i64) -> Result<()> {
    bound!((1..=MAX_FUNDING_RATE_PPBH).contains(&max_rate));
    bound!((1..=max_rate.saturating_mul(2)).contains(&max_change));
    bound!((MIN_FUNDING_WINDOW_SECS..=MAX_FUNDING_WINDOW_SECS).contains(&window_secs));
    Ok(())
}
