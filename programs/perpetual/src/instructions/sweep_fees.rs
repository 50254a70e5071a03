use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::events::FeesSwept;
use crate::state::{Exchange, Market};

#[derive(Accounts)]
pub struct SweepFees<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Moves a market's accrued fees into the exchange's fee balance. Permissionless:
/// fees accrue per market so that trading never write-locks the exchange.
pub fn handler(ctx: Context<SweepFees>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.fees_accrued >= 0, PerpError::InsufficientFees);
    let amount = market.fees_accrued as u64;
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    exchange.fee_balance = checked(exchange.fee_balance.checked_add(amount))?;
    market.fees_accrued = 0;
    emit!(FeesSwept { market: ctx.accounts.market.key(), amount });
    Ok(())
}
