//! Pausing: the guardian (or admin) may pause; only the admin unpauses.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::events::{ExchangePauseChanged, MarketStatusChanged};
use crate::state::{Exchange, Market, MarketStatus};

#[derive(Accounts)]
pub struct GuardianAction<'info> {
    pub authority: Signer<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
}

fn check_authority(exchange: &Exchange, signer: &Pubkey, pausing: bool) -> Result<()> {
    if *signer == exchange.admin {
        return Ok(());
    }
    if pausing && *signer == exchange.pause_guardian {
        return Ok(());
    }
    if pausing {
        err!(PerpError::NotPauseGuardian)
    } else {
        err!(PerpError::NotAdmin)
    }
}

pub fn set_exchange_paused(ctx: Context<GuardianAction>, paused: bool) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    check_authority(&exchange, ctx.accounts.authority.key, paused)?;
    exchange.paused = paused as u8;
    emit!(ExchangePauseChanged { exchange: ctx.accounts.exchange.key(), paused });
    Ok(())
}

#[derive(Accounts)]
pub struct SetMarketStatus<'info> {
    pub authority: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Active, reduce-only or paused. Final settlement has its own instruction.
pub fn set_market_status(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
    require!(status != MarketStatus::FinalSettlement, PerpError::ParameterOutOfRange);
    let exchange = ctx.accounts.exchange.load()?;
    let mut market = ctx.accounts.market.load_mut()?;
    require!(!market.is_final_settled(), PerpError::MarketInFinalSettlement);
    check_authority(&exchange, ctx.accounts.authority.key, status == MarketStatus::Paused)?;
    market.status = status as u8;
    emit!(MarketStatusChanged { market: ctx.accounts.market.key(), status });
    Ok(())
}
