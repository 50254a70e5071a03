//! Accounts structs that several instructions take (Anchor needs them at the crate root).
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::state::Exchange;

#[derive(Accounts)]
pub struct AdminOnly<'info> {
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
}
