use anchor_lang::prelude::*;

use crate::events::AuthoritiesSet;
use crate::instructions::admin::AdminOnly;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct SetAuthoritiesArgs {
    pub funding_authority: Option<Pubkey>,
    pub risk_authority: Option<Pubkey>,
    pub pause_guardian: Option<Pubkey>,
}

pub fn handler(ctx: Context<AdminOnly>, args: SetAuthoritiesArgs) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    if let Some(k) = args.funding_authority {
        exchange.funding_authority = k;
    }
    if let Some(k) = args.risk_authority {
        exchange.risk_authority = k;
    }
    if let Some(k) = args.pause_guardian {
        exchange.pause_guardian = k;
    }
    emit!(AuthoritiesSet {
        exchange: ctx.accounts.exchange.key(),
        funding_authority: exchange.funding_authority,
        risk_authority: exchange.risk_authority,
        pause_guardian: exchange.pause_guardian,
    });
    Ok(())
}
