//! The governance time lock. Risky changes are queued as proposals, wait at least the
//! exchange's delay, then run as their own instruction with the proposal as the first
//! remaining account. Bounds are checked when the change runs, so a queued change outside
//! them is refused even after the delay.
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

use crate::controller::create_account::create_zero_copy;
use crate::error::PerpError;
use crate::events::{ProposalCancelled, ProposalExecuted, ProposalQueued, TimelockChanged};
use crate::instructions::admin::AdminOnly;
use crate::state::{Exchange, Proposal, MAX_PAYLOAD_LEN, PROPOSAL_SEED};

pub const MIN_TIMELOCK_SECS: i64 = 3_600;
pub const MAX_TIMELOCK_SECS: i64 = 30 * 86_400;
/// A matured proposal must run within this window, or be queued again.
pub const PROPOSAL_GRACE_SECS: i64 = 14 * 86_400;

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
}

impl GovAction {
    pub fn from_u8(v: u8) -> Option<Self> {
        use GovAction::*;
        [SetAuthorities, ProposeAdmin, ApproveTrader, RevokeTrader, UpdateMarket, SetIndexJump, SetListingDeposit, WithdrawInsurance, FinalSettleMarket, SetTimelock]
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

pub fn proposal_address(exchange: &Pubkey, id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[PROPOSAL_SEED, exchange.as_ref(), &id.to_le_bytes()], &crate::ID)
}

/// Lets a risky change through: directly while the exchange is in bootstrap (no delay
/// set), otherwise only with a matured, unexecuted proposal of exactly this payload as the
/// first remaining account, which is marked executed.
pub fn authorize<T: AnchorSerialize>(
    exchange_key: &Pubkey,
    timelock_delay_secs: i64,
    remaining: &[AccountInfo],
    action: GovAction,
    target: &Pubkey,
    args: &T,
) -> Result<()> {
    if timelock_delay_secs == 0 {
        return Ok(());
    }
    let info = remaining.first().ok_or_else(|| error!(PerpError::ProposalRequired))?;
    require_keys_eq!(*info.owner, crate::ID, PerpError::ProposalRequired);
    require!(info.is_writable, PerpError::AccountNotWritable);
    let mut data = info.try_borrow_mut_data()?;
    require!(data.len() >= Proposal::SPACE && &data[..8] == Proposal::DISCRIMINATOR, PerpError::ProposalRequired);
    let p: &mut Proposal = bytemuck::try_from_bytes_mut(&mut data[8..Proposal::SPACE]).map_err(|_| error!(PerpError::AccountDataInvalid))?;
    require_keys_eq!(p.exchange, *exchange_key, PerpError::WrongExchange);
    require!(p.payload() == payload(action, target, args).as_slice(), PerpError::ProposalMismatch);
    require!(p.executed == 0, PerpError::ProposalAlreadyExecuted);
    let now = Clock::get()?.unix_timestamp;
    // A proposal queued under a shorter delay still waits the delay in force now.
    let ready = p.eta.max(p.queued_ts.saturating_add(timelock_delay_secs));
    require!(now >= ready, PerpError::TimelockNotElapsed);
    require!(now <= ready.saturating_add(PROPOSAL_GRACE_SECS), PerpError::ProposalExpired);
    p.executed = 1;
    emit!(ProposalExecuted { exchange: *exchange_key, proposal: info.key(), id: p.id, action: action as u8 });
    Ok(())
}

/// [`authorize`] for handlers that hold no borrow of the exchange.
pub fn authorize_change<T: AnchorSerialize>(exchange: &AccountLoader<Exchange>, remaining: &[AccountInfo], action: GovAction, target: &Pubkey, args: &T) -> Result<()> {
    let delay = exchange.load()?.timelock_delay_secs;
    authorize(&exchange.key(), delay, remaining, action, target, args)
}

#[derive(Accounts)]
pub struct QueueProposal<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: created here at `proposal_address(exchange, exchange.proposal_count)`.
    #[account(mut)]
    pub proposal: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Admin: queues one risky change (`payload`); it may run after the delay.
pub fn queue(ctx: Context<QueueProposal>, payload: Vec<u8>) -> Result<()> {
    require!((33..=MAX_PAYLOAD_LEN).contains(&payload.len()), PerpError::InvalidProposal);
    let action = GovAction::from_u8(payload[0]).ok_or_else(|| error!(PerpError::InvalidProposal))?;
    let a = &ctx.accounts;
    let exchange_key = a.exchange.key();
    let (id, delay) = {
        let exchange = a.exchange.load()?;
        (exchange.proposal_count, exchange.timelock_delay_secs)
    };
    let (address, bump) = proposal_address(&exchange_key, id);
    require_keys_eq!(a.proposal.key(), address, PerpError::WrongProposalAddress);
    let id_bytes = id.to_le_bytes();
    let seeds: &[&[u8]] = &[PROPOSAL_SEED, exchange_key.as_ref(), &id_bytes, &[bump]];
    create_zero_copy::<Proposal>(a.admin.as_ref(), a.proposal.as_ref(), a.system_program.as_ref(), Proposal::SPACE, seeds)?;
    let now = Clock::get()?.unix_timestamp;
    let eta = now.saturating_add(delay);
    {
        let mut data = a.proposal.try_borrow_mut_data()?;
        let p: &mut Proposal = bytemuck::from_bytes_mut(&mut data[8..Proposal::SPACE]);
        p.exchange = exchange_key;
        p.id = id;
        p.queued_ts = now;
        p.eta = eta;
        p.payload_len = payload.len() as u16;
        p.bump = bump;
        p.payload[..payload.len()].copy_from_slice(&payload);
    }
    a.exchange.load_mut()?.proposal_count = id.checked_add(1).ok_or_else(|| error!(PerpError::MathOverflow))?;
    emit!(ProposalQueued { exchange: exchange_key, proposal: address, id, action: action as u8, eta, payload });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelProposal<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = admin, has_one = exchange @ PerpError::WrongExchange)]
    pub proposal: AccountLoader<'info, Proposal>,
}

/// Admin: closes a proposal. A queued one can then never run; an executed one just
/// returns its rent.
pub fn cancel(ctx: Context<CancelProposal>) -> Result<()> {
    let p = ctx.accounts.proposal.load()?;
    emit!(ProposalCancelled { exchange: p.exchange, proposal: ctx.accounts.proposal.key(), id: p.id, executed: p.executed != 0 });
    Ok(())
}

/// Admin, time-locked once set: the delay of risky changes, within the hard bounds.
pub fn set_timelock<'info>(ctx: Context<'info, AdminOnly<'info>>, delay_secs: i64) -> Result<()> {
    require!((MIN_TIMELOCK_SECS..=MAX_TIMELOCK_SECS).contains(&delay_secs), PerpError::ParameterOutOfRange);
    let exchange_key = ctx.accounts.exchange.key();
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    authorize(&exchange_key, exchange.timelock_delay_secs, ctx.remaining_accounts, GovAction::SetTimelock, &exchange_key, &delay_secs)?;
    exchange.timelock_delay_secs = delay_secs;
    emit!(TimelockChanged { exchange: exchange_key, delay_secs });
    Ok(())
}
