use anchor_lang::prelude::*;

use crate::controller::create_account::create_zero_copy;
use crate::error::PerpError;
use crate::events::MarketCreated;
use crate::instructions::params;
use crate::math::I80F48;
use crate::state::{check_new_oracle, Exchange, Market, MarketStatus, OracleKind, MARKET_SEED};

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

#[derive(Accounts)]
#[instruction(args: CreateMarketArgs)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [MARKET_SEED, exchange.key().as_ref(), args.symbol.as_ref()], bump)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: parsed as a price account of `args.oracle_kind`, owner checked (for `PythPull`
    /// a fully verified `PriceUpdateV2`, whose feed the market pins).
    pub oracle: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
    // The oracle must parse as the declared kind; its price may still be unset.
    let feed_id = check_new_oracle(args.oracle_kind, &ctx.accounts.oracle, args.oracle_feed_id)?;
    let now = Clock::get()?.unix_timestamp;
    let accounts = &ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let decimals = accounts.exchange.load()?.collateral_decimals;
    let seeds: &[&[u8]] = &[MARKET_SEED, exchange_key.as_ref(), args.symbol.as_ref(), &[ctx.bumps.market]];
    create_zero_copy::<Market>(accounts.admin.as_ref(), accounts.market.as_ref(), accounts.system_program.as_ref(), Market::SPACE, seeds)?;
    let mut data = accounts.market.try_borrow_mut_data()?;
    let m: &mut Market = bytemuck::from_bytes_mut(&mut data[8..Market::SPACE]);
    write_market(m, exchange_key, accounts.oracle.key(), &args, now, ctx.bumps.market, decimals)?;
    m.lister = accounts.admin.key();
    m.oracle_feed_id = feed_id;
    m.open_interest_cap_lots = u64::MAX;
    emit!(MarketCreated { exchange: exchange_key, market: accounts.market.key(), symbol: args.symbol, oracle: m.oracle });
    Ok(())
}

/// Checks every parameter against its hard bounds and writes a fresh market.
pub fn write_market(m: &mut Market, exchange: Pubkey, oracle: Pubkey, args: &CreateMarketArgs, now: i64, bump: u8, quote_decimals: u8) -> Result<()> {
    params::check_symbol(&args.symbol)?;
    require!(args.base_lot_size > 0 && args.base_decimals <= params::MAX_BASE_DECIMALS, PerpError::ParameterOutOfRange);
    params::check_oracle_rails(args.oracle_max_age_secs, args.oracle_max_conf_bps)?;
    params::check_band(args.price_band_bps)?;
    params::check_fees(args.maker_fee_ppm, args.taker_fee_ppm)?;
    params::check_funding_bounds(args.max_funding_rate_ppbh, args.max_funding_rate_change_ppbh, args.funding_window_secs)?;
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
