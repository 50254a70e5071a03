use anchor_lang::prelude::*;

use super::{DISCRIMINATOR_LEN, PROPOSAL_SEED};

/// Longest action payload a proposal holds: tag, target and borsh arguments.
pub const MAX_PAYLOAD_LEN: usize = 192;

/// A queued risky change. It names one action exactly (`payload`): the risky
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
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<Proposal>();

    pub fn payload(&self) -> &[u8] {
        &self.payload[..(self.payload_len as usize).min(MAX_PAYLOAD_LEN)]
    }
}

/// The risky changes, as the first byte of a proposal's payload.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum GovAction {
    /// Target: the exchange. Args: `SetAuthoritiesArgs`.
    SetAuthorities,
    /// Target: the exchange. Args: the new admin.
    ProposeAdmin,
    /// Target: the trader program.
    ApproveTrader,
    /// Target: the approval account.
    RevokeTrader,
    /// Target: the market. Args: `UpdateMarketArgs`.
    UpdateMarket,
    /// Target: the market. Args: the jump in bps.
    SetIndexJump,
    /// Target: the exchange. Args: the deposit.
    SetListingDeposit,
    /// Target: the destination token account. Args: the amount.
    WithdrawInsurance,
    /// Target: the market. Args: (lo, hi) per lot.
    FinalSettleMarket,
    /// Target: the exchange. Args: the new delay.
    SetTimelock,
    /// Target: the market. Args: `SetOracleArgs`.
    SetOracle,
}

impl GovAction {
    pub fn from_u8(v: u8) -> Option<Self> {
        use GovAction::*;
        [
            SetAuthorities,
            ProposeAdmin,
            ApproveTrader,
            RevokeTrader,
            UpdateMarket,
            SetIndexJump,
            SetListingDeposit,
            WithdrawInsurance,
            FinalSettleMarket,
            SetTimelock,
            SetOracle,
        ]
        .get(v as usize)
        .copied()
    }
}

/// The bytes a proposal for `action` on `target` with `args` holds: clients build them
/// with this same function.
pub fn payload<T: AnchorSerialize>(action: GovAction, target: &Pubkey, args: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(action as u8);
    out.extend_from_slice(target.as_ref());
    // Writing into a Vec cannot fail.
    let _ = args.serialize(&mut out);
    out
}

/// The proposal PDA with this id.
pub fn proposal_address(exchange: &Pubkey, id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[PROPOSAL_SEED, exchange.as_ref(), &id.to_le_bytes()], &crate::ID)
}
