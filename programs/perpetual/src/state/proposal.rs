use anchor_lang::prelude::*;

/// Longest action payload a proposal holds: tag, target and borsh arguments.
pub const MAX_PAYLOAD_LEN: usize = 192;

/// A queued risky change. It names one action exactly (`governance::payload`): the risky
/// instruction, sent with this account once the delay has passed, must carry the same
/// payload, and marks the proposal executed. Cancelling closes it.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Proposal {
    pub exchange: Pubkey,
    /// The exchange's `proposal_count` when queued; part of the PDA seeds.
    pub id: u64,
    pub queued_ts: i64,
    /// Earliest execution time, `queued_ts` plus the delay in force then.
    pub eta: i64,
    pub payload_len: u16,
    pub executed: u8,
    pub bump: u8,
    pub _padding: [u8; 4],
    pub payload: [u8; MAX_PAYLOAD_LEN],
    pub reserved: [u8; 32],
}
const _: () = assert!(core::mem::size_of::<Proposal>() == 32 + 3 * 8 + 8 + MAX_PAYLOAD_LEN + 32);

impl Proposal {
    pub const SPACE: usize = 8 + core::mem::size_of::<Proposal>();

    pub fn payload(&self) -> &[u8] {
        &self.payload[..(self.payload_len as usize).min(MAX_PAYLOAD_LEN)]
    }
}
