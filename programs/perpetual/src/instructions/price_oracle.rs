//! The program's own settable price oracle.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::events::OraclePriceSet;
use crate::instructions::params::check_symbol;
use crate::state::{PriceOracle, ORACLE_SEED};

#[derive(Accounts)]
#[instruction(symbol: [u8; 16])]
pub struct CreatePriceOracle<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(
        init, payer = authority, space = PriceOracle::SPACE,
        seeds = [ORACLE_SEED, authority.key().as_ref(), symbol.as_ref()], bump,
    )]
    pub oracle: AccountLoader<'info, PriceOracle>,
    pub system_program: Program<'info, System>,
}

pub fn create(ctx: Context<CreatePriceOracle>, symbol: [u8; 16], expo: i32) -> Result<()> {
    check_symbol(&symbol)?;
    require!((-18..=18).contains(&expo), PerpError::OracleExponentOutOfRange);
    let mut oracle = ctx.accounts.oracle.load_init()?;
    oracle.authority = ctx.accounts.authority.key();
    oracle.symbol = symbol;
    oracle.expo = expo;
    oracle.bump = ctx.bumps.oracle;
    Ok(())
}

#[derive(Accounts)]
pub struct SetOraclePrice<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::NotOracleAuthority)]
    pub oracle: AccountLoader<'info, PriceOracle>,
}

/// Writes a price stamped with the cluster clock. Guard rails apply when it is read.
pub fn set_price(ctx: Context<SetOraclePrice>, price: i64, conf: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut oracle = ctx.accounts.oracle.load_mut()?;
    oracle.price = price;
    oracle.conf = conf;
    oracle.publish_ts = now;
    emit!(OraclePriceSet { oracle: ctx.accounts.oracle.key(), price, conf, expo: oracle.expo });
    Ok(())
}
