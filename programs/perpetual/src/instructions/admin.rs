//! Account checks shared by admin-only instructions.
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::state::Exchange;

#[derive(Accounts)]
pub struct AdminOnly<'info> {
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
}
