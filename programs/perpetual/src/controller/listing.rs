//! Writing a new market, shared by the admin's `create_market` and permissionless listing.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::math::I80F48;
use crate::params;
use crate::state::{CreateMarketArgs, Market, MarketStatus};

/// Checks every parameter against its hard bounds and writes a fresh market.
pub fn write_market(
    m: &mut Market,
    exchange: Pubkey,
    oracle: Pubkey,
    args: &CreateMarketArgs,
    now: i64,
    bump: u8,
    quote_decimals: u8,
) -> Result<()> {
    params::check_symbol(&args.symbol)?;
    require!(args.base_lot_size > 0 && args.base_decimals <= params::MAX_BASE_DECIMALS, PerpError::ParameterOutOfRange);
    params::check_oracle_rails(args.oracle_max_age_secs, args.oracle_max_conf_bps)?;
    params::check_band(args.price_band_bps)?;
    params::check_fees(args.maker_fee_ppm, args.taker_fee_ppm)?;
    params::check_funding_bounds(
        args.max_funding_rate_ppbh,
        args.max_funding_rate_change_ppbh,
        args.funding_window_secs,
    )?;
    let (init_long, maint_long) = params::margins(args.init_margin_long_bps)?;
    let (init_short, maint_short) = params::margins(args.init_margin_short_bps)?;
    m.exchange = exchange;
    m.oracle = oracle;
    m.symbol = args.symbol;
    m.base_lot_size = args.base_lot_size;
    m.oracle_max_age_secs = args.oracle_max_age_secs;
    m.oracle_max_conf_bps = args.oracle_max_conf_bps;
    m.price_band_bps = args.price_band_bps;
    m.init_margin_long_bps = init_long;
    m.maint_margin_long_bps = maint_long;
    m.init_margin_short_bps = init_short;
    m.maint_margin_short_bps = maint_short;
    m.maker_fee_ppm = args.maker_fee_ppm;
    m.taker_fee_ppm = args.taker_fee_ppm;
    m.max_funding_rate_ppbh = args.max_funding_rate_ppbh;
    m.max_funding_rate_change_ppbh = args.max_funding_rate_change_ppbh;
    m.funding_window_secs = args.funding_window_secs;
    m.funding_window_start_ts = now;
    m.funding_index.set(I80F48::ZERO);
    m.funding_last_update_ts = now;
    m.index_jump_bps = params::DEFAULT_INDEX_JUMP_BPS;
    m.liquidation_discount_bps = params::DEFAULT_LIQUIDATION_DISCOUNT_BPS;
    m.liquidation_insurance_fee_bps = params::DEFAULT_LIQUIDATION_INSURANCE_FEE_BPS;
    m.liquidation_buffer_bps = params::DEFAULT_LIQUIDATION_BUFFER_BPS;
    m.created_ts = now;
    m.oracle_kind = args.oracle_kind as u8;
    m.status = MarketStatus::Active as u8;
    m.bump = bump;
    m.base_decimals = args.base_decimals;
    m.quote_decimals = quote_decimals;
    Ok(())
}
