//! Permissionless listing: anyone lists a market, with a Pyth price account or with no spot
//! index, under conservative defaults. The lister pays the rent and a listing deposit in
//! collateral, returned when the market is closed.
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::controller::listing::write_market;
use crate::controller::vault::pay_in;
use crate::error::{checked, PerpError};
use crate::events::MarketCreated;
use crate::math::var::margins_from_history;
use crate::params;
use crate::runtime::create_account::create_zero_copy;
use crate::state::{
    read_oracle_account, CreateMarketArgs, Exchange, Market, OracleKind, DISCRIMINATOR_LEN, MARKET_SEED,
};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct ListMarketArgs {
    pub symbol: [u8; 16],
    /// `PythLegacy` with a spot feed, or `None` for a market without a spot index.
    pub oracle_kind: OracleKind,
    pub base_decimals: u8,
    pub base_lot_size: u64,
    /// Without a spot index the market has no price until it trades: this opening price
    /// (quote native per lot) stands in as the last trade. Ignored with an index.
    pub initial_price_per_lot: u64,
}

#[derive(Accounts)]
#[instruction(args: ListMarketArgs)]
pub struct ListMarket<'info> {
    #[account(mut)]
    pub lister: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [MARKET_SEED, exchange.key().as_ref(), args.symbol.as_ref()], bump)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: a Pyth price account (owner and layout checked), or the system program for
    /// a market without a spot index.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, constraint = lister_token.mint == collateral_mint.key() @ PerpError::WrongMint)]
    pub lister_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.vault @ PerpError::WrongAccount)]
    pub vault: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint @ PerpError::WrongMint)]
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// The parameters every permissionless market starts with; the risk authority moves them later.
pub fn listing_defaults(args: &ListMarketArgs) -> Result<CreateMarketArgs> {
    let has_index = args.oracle_kind != OracleKind::None;
    let margins = margins_from_history(&[], has_index)?;
    Ok(CreateMarketArgs {
        symbol: args.symbol,
        oracle_kind: args.oracle_kind,
        base_decimals: args.base_decimals,
        base_lot_size: args.base_lot_size,
        oracle_max_age_secs: params::LISTING_ORACLE_MAX_AGE_SECS,
        oracle_max_conf_bps: params::LISTING_ORACLE_MAX_CONF_BPS,
        price_band_bps: params::LISTING_PRICE_BAND_BPS,
        init_margin_long_bps: margins.init_long_bps,
        init_margin_short_bps: margins.init_short_bps,
        maker_fee_ppm: params::LISTING_MAKER_FEE_PPM,
        taker_fee_ppm: params::LISTING_TAKER_FEE_PPM,
        max_funding_rate_ppbh: params::LISTING_MAX_FUNDING_RATE_PPBH,
        max_funding_rate_change_ppbh: params::LISTING_MAX_FUNDING_RATE_CHANGE_PPBH,
        funding_window_secs: params::LISTING_FUNDING_WINDOW_SECS,
        oracle_feed_id: None,
    })
}

pub fn handler(ctx: Context<ListMarket>, args: ListMarketArgs) -> Result<()> {
    // Not `PythPull`: whoever controls a pull update account chooses which verified update
    // it holds and when, so pull markets are listed by the admin only.
    require!(matches!(args.oracle_kind, OracleKind::PythLegacy | OracleKind::None), PerpError::InvalidOracleAccount);
    let a = &ctx.accounts;
    let (deposit, decimals) = {
        let exchange = a.exchange.load()?;
        exchange.check_not_paused()?;
        (exchange.listing_deposit, exchange.collateral_decimals)
    };
    let market_args = listing_defaults(&args)?;
    if args.oracle_kind == OracleKind::None {
        require_keys_eq!(a.oracle.key(), Pubkey::default(), PerpError::WrongOracle);
        require!(args.initial_price_per_lot > 0, PerpError::ParameterOutOfRange);
    } else {
        read_oracle_account(Some(args.oracle_kind), &a.oracle)?;
    }
    let exchange_key = a.exchange.key();
    let seeds: &[&[u8]] = &[MARKET_SEED, exchange_key.as_ref(), args.symbol.as_ref(), &[ctx.bumps.market]];
    create_zero_copy::<Market>(a.lister.as_ref(), a.market.as_ref(), a.system_program.as_ref(), Market::SPACE, seeds)?;
    if deposit > 0 {
        pay_in(a.lister_token.as_ref(), a.lister.as_ref(), a.vault.as_ref(), &a.collateral_mint, deposit)?;
    }
    let now = Clock::get()?.unix_timestamp;
    let mut data = a.market.try_borrow_mut_data()?;
    let m: &mut Market = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..Market::SPACE]);
    write_market(m, exchange_key, a.oracle.key(), &market_args, now, ctx.bumps.market, decimals)?;
    m.lister = a.lister.key();
    m.listing_deposit = checked(Some(deposit))?;
    m.open_interest_cap_lots = params::LISTING_OPEN_INTEREST_CAP_LOTS;
    m.listed_permissionless = 1;
    if args.oracle_kind == OracleKind::None {
        m.last_trade_price = args.initial_price_per_lot;
        m.mark_price.set(crate::math::I80F48::from_num(args.initial_price_per_lot));
    }
    emit!(MarketCreated { exchange: exchange_key, market: a.market.key(), symbol: args.symbol, oracle: m.oracle });
    Ok(())
}
