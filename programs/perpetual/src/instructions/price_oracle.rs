//! The program's own settable price oracle.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::events::OraclePriceSet;
use crate::params::check_symbol;
use crate::runtime::create_account::create_zero_copy;
use crate::state::{PriceOracle, DISCRIMINATOR_LEN, ORACLE_SEED};

#[derive(Accounts)]
#[instruction(symbol: [u8; 16])]
pub struct CreatePriceOracle<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [ORACLE_SEED, authority.key().as_ref(), symbol.as_ref()], bump)]
    pub oracle: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn create(ctx: Context<CreatePriceOracle>, symbol: [u8; 16], expo: i32) -> Result<()> {
    check_symbol(&symbol)?;
    require!((-18..=18).contains(&expo), PerpError::OracleExponentOutOfRange);
    let accounts = &ctx.accounts;
    let authority = accounts.authority.key();
    let seeds: &[&[u8]] = &[ORACLE_SEED, authority.as_ref(), symbol.as_ref(), &[ctx.bumps.oracle]];
    create_zero_copy::<PriceOracle>(
        accounts.authority.as_ref(),
        accounts.oracle.as_ref(),
        accounts.system_program.as_ref(),
        PriceOracle::SPACE,
        seeds,
    )?;
    let mut data = accounts.oracle.try_borrow_mut_data()?;
    let oracle: &mut PriceOracle = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..PriceOracle::SPACE]);
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
