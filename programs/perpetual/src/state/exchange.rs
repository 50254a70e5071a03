use anchor_lang::prelude::*;

use super::DISCRIMINATOR_LEN;

use crate::error::PerpError;

/// Global configuration. Read-only on the trading path: fees accrue in each market so
/// that markets never contend for one writable account.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Exchange {
    pub admin: Pubkey,
    /// Set by `propose_admin`; takes over only when it signs `accept_admin`.
    pub pending_admin: Pubkey,
    pub collateral_mint: Pubkey,
    pub vault: Pubkey,
    pub funding_authority: Pubkey,
    pub risk_authority: Pubkey,
    pub pause_guardian: Pubkey,
    /// Offsets underwater accounts: against the insurance fund first, then ranked accounts.
    pub deleverage_authority: Pubkey,
    /// Collateral (native units) that covers liquidation and deleveraging losses.
    pub insurance_fund: u64,
    /// Fees swept in from markets, in native units.
    pub fee_balance: u64,
    /// Collateral a permissionless lister deposits per market.
    pub listing_deposit: u64,
    /// How long after an account is marked underwater anyone may deleverage it.
    pub deleverage_timelock_secs: i64,
    pub collateral_decimals: u8,
    pub bump: u8,
    pub vault_bump: u8,
    /// Nonzero while the pause guardian has paused the whole exchange.
    pub paused: u8,
    pub _padding: [u8; 4],
    /// The governance time lock on risky changes. 0 only while the deployer configures a
    /// new exchange (bootstrap); once set it stays within the hard bounds.
    pub timelock_delay_secs: i64,
    /// Proposals queued so far; the next one's id.
    pub proposal_count: u64,
    pub reserved: [u8; 240],
}
const _: () = assert!(core::mem::size_of::<Exchange>() == 8 * 32 + 32 + 8 + 16 + 240);

impl Exchange {
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<Exchange>();

    pub fn check_not_paused(&self) -> Result<()> {
        require!(self.paused == 0, PerpError::ExchangePaused);
        Ok(())
    }
}
