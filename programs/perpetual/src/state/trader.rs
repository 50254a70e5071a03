use anchor_lang::prelude::*;

use super::DISCRIMINATOR_LEN;

/// The admin's approval of one trader program. Settlement requires the signer to be
/// `trader_authority`, the program's `trader` PDA, which is derived once at approval.
#[account(zero_copy)]
#[derive(Debug)]
pub struct TraderApproval {
    pub exchange: Pubkey,
    pub trader_program: Pubkey,
    pub trader_authority: Pubkey,
    pub active: u8,
    pub bump: u8,
    pub authority_bump: u8,
    pub _padding: [u8; 5],
    pub reserved: [u8; 64],
}
const _: () = assert!(core::mem::size_of::<TraderApproval>() == 3 * 32 + 8 + 64);

impl TraderApproval {
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<TraderApproval>();
}
