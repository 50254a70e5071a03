//! Admin: creates a market with any parameters within the hard bounds.
use anchor_lang::prelude::*;

use crate::controller::listing::write_market;
use crate::error::PerpError;
use crate::events::MarketCreated;
use crate::runtime::create_account::create_zero_copy;
use crate::state::{check_new_oracle, CreateMarketArgs, Exchange, Market, DISCRIMINATOR_LEN, MARKET_SEED};

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
    create_zero_copy::<Market>(
        accounts.admin.as_ref(),
        accounts.market.as_ref(),
        accounts.system_program.as_ref(),
        Market::SPACE,
        seeds,
    )?;
    let mut data = accounts.market.try_borrow_mut_data()?;
    let m: &mut Market = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..Market::SPACE]);
    write_market(m, exchange_key, accounts.oracle.key(), &args, now, ctx.bumps.market, decimals)?;
    m.lister = accounts.admin.key();
    m.oracle_feed_id = feed_id;
    m.open_interest_cap_lots = u64::MAX;
    emit!(MarketCreated {
        exchange: exchange_key,
        market: accounts.market.key(),
        symbol: args.symbol,
        oracle: m.oracle
    });
    Ok(())
}
