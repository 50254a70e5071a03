use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::events::{FeesSwept, InsuranceChanged, InsuranceReason};
use crate::state::{Exchange, Market};

#[derive(Accounts)]
pub struct SweepFees<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Moves a market's accrued fees into the exchange's fee balance and its accrued
/// liquidation fees into the insurance fund. Permissionless: both accrue per market so
/// that trading never write-locks the exchange.
pub fn handler(ctx: Context<SweepFees>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.fees_accrued >= 0 && market.insurance_accrued >= 0, PerpError::InsufficientFees);
    let (amount, insurance) = (market.fees_accrued as u64, market.insurance_accrued as u64);
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    exchange.fee_balance = checked(exchange.fee_balance.checked_add(amount))?;
    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add(insurance))?;
    market.fees_accrued = 0;
    market.insurance_accrued = 0;
    emit!(FeesSwept { market: ctx.accounts.market.key(), amount });
    if insurance > 0 {
        emit!(InsuranceChanged {
            exchange: ctx.accounts.exchange.key(),
            delta: insurance as i64,
            balance: exchange.insurance_fund,
            reason: InsuranceReason::LiquidationFee
        });
    }
    Ok(())
}
