use anchor_lang::prelude::*;

use crate::controller::governance::authorize_change;
use crate::error::PerpError;
use crate::events::MarketParamsChanged;
use crate::params;
use crate::state::GovAction;
use crate::state::{Exchange, Market};

/// Admin changes; `None` leaves a field as it is. Every value is bounds-checked.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default)]
pub struct UpdateMarketArgs {
    pub maker_fee_ppm: Option<i32>,
    pub taker_fee_ppm: Option<i32>,
    pub oracle_max_age_secs: Option<u32>,
    pub oracle_max_conf_bps: Option<u16>,
    pub price_band_bps: Option<u16>,
    pub max_funding_rate_ppbh: Option<i64>,
    pub max_funding_rate_change_ppbh: Option<i64>,
    pub funding_window_secs: Option<i64>,
}

#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<UpdateMarket>, args: UpdateMarketArgs) -> Result<()> {
    authorize_change(
        &ctx.accounts.exchange,
        ctx.remaining_accounts,
        GovAction::UpdateMarket,
        &ctx.accounts.market.key(),
        &args,
    )?;
    let mut m = ctx.accounts.market.load_mut()?;
    let maker = args.maker_fee_ppm.unwrap_or(m.maker_fee_ppm);
    let taker = args.taker_fee_ppm.unwrap_or(m.taker_fee_ppm);
    params::check_fees(maker, taker)?;
    let age = args.oracle_max_age_secs.unwrap_or(m.oracle_max_age_secs);
    let conf = args.oracle_max_conf_bps.unwrap_or(m.oracle_max_conf_bps);
    params::check_oracle_rails(age, conf)?;
    let band = args.price_band_bps.unwrap_or(m.price_band_bps);
    params::check_band(band)?;
    let max_rate = args.max_funding_rate_ppbh.unwrap_or(m.max_funding_rate_ppbh);
    let max_change = args.max_funding_rate_change_ppbh.unwrap_or(m.max_funding_rate_change_ppbh);
    let window = args.funding_window_secs.unwrap_or(m.funding_window_secs);
    params::check_funding_bounds(max_rate, max_change, window)?;
    require!(m.funding_rate_ppbh.abs() <= max_rate, PerpError::FundingRateTooLarge);

    m.maker_fee_ppm = maker;
    m.taker_fee_ppm = taker;
    m.oracle_max_age_secs = age;
    m.oracle_max_conf_bps = conf;
    m.price_band_bps = band;
    m.max_funding_rate_ppbh = max_rate;
    m.max_funding_rate_change_ppbh = max_change;
    m.funding_window_secs = window;
    emit!(MarketParamsChanged { market: ctx.accounts.market.key(), what: format!("{args:?}") });
    Ok(())
}

#[derive(Accounts)]
pub struct SetMargins<'info> {
    pub risk_authority: Signer<'info>,
    #[account(constraint = exchange.load()?.risk_authority == risk_authority.key() @ PerpError::NotRiskAuthority)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Sets initial margins per side, at most once a day; maintenance follows at half. An
/// initial margin of 90% or more disables leverage on that side.
pub fn set_margins(ctx: Context<SetMargins>, init_long_bps: u16, init_short_bps: u16) -> Result<()> {
    let (il, ml) = params::margins(init_long_bps)?;
    let (is, ms) = params::margins(init_short_bps)?;
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(
        m.margins_updated_ts == 0 || now >= m.margins_updated_ts.saturating_add(params::MARGIN_UPDATE_INTERVAL_SECS),
        PerpError::MarginsUpdatedTooRecently
    );
    m.margins_updated_ts = now;
    m.init_margin_long_bps = il;
    m.maint_margin_long_bps = ml;
    m.init_margin_short_bps = is;
    m.maint_margin_short_bps = ms;
    emit!(MarketParamsChanged {
        market: ctx.accounts.market.key(),
        what: format!("margins long {il}/{ml} short {is}/{ms}"),
    });
    Ok(())
}

/// Risk authority: the most open interest (longs, in lots) the market may carry.
pub fn set_open_interest_cap(ctx: Context<SetMargins>, cap_lots: u64) -> Result<()> {
    let mut m = ctx.accounts.market.load_mut()?;
    m.open_interest_cap_lots = cap_lots;
    emit!(MarketParamsChanged { market: ctx.accounts.market.key(), what: format!("open interest cap {cap_lots}") });
    Ok(())
}

/// Risk authority: how far a spot reading may move from its hourly average before it is refused.
pub fn set_index_jump(ctx: Context<SetMargins>, jump_bps: u16) -> Result<()> {
    require!((params::MIN_INDEX_JUMP_BPS..=10_000).contains(&jump_bps), PerpError::ParameterOutOfRange);
    authorize_change(
        &ctx.accounts.exchange,
        ctx.remaining_accounts,
        GovAction::SetIndexJump,
        &ctx.accounts.market.key(),
        &jump_bps,
    )?;
    let mut m = ctx.accounts.market.load_mut()?;
    m.index_jump_bps = jump_bps;
    emit!(MarketParamsChanged { market: ctx.accounts.market.key(), what: format!("index jump {jump_bps} bps") });
    Ok(())
}
