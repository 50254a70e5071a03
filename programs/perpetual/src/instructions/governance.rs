//! The governance time lock. Risky changes are queued as proposals, wait at least the
//! exchange's delay, then run as their own instruction with the proposal as the first
//! remaining account. Bounds are checked when the change runs, so a queued change outside
//! them is refused even after the delay.
use anchor_lang::prelude::*;

use crate::controller::governance::authorize_exchange_change;
use crate::error::PerpError;
use crate::events::{ProposalCancelled, ProposalQueued, TimelockChanged};
use crate::params::{MAX_TIMELOCK_SECS, MIN_TIMELOCK_SECS};
use crate::runtime::create_account::create_zero_copy;
use crate::shared_accounts::AdminOnly;
use crate::state::{
    proposal_address, Exchange, GovAction, Proposal, DISCRIMINATOR_LEN, MAX_PAYLOAD_LEN, PROPOSAL_SEED,
};

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
    create_zero_copy::<Proposal>(
        a.admin.as_ref(),
        a.proposal.as_ref(),
        a.system_program.as_ref(),
        Proposal::SPACE,
        seeds,
    )?;
    let now = Clock::get()?.unix_timestamp;
    let eta = now.saturating_add(delay);
    {
        let mut data = a.proposal.try_borrow_mut_data()?;
        let p: &mut Proposal = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..Proposal::SPACE]);
        p.exchange = exchange_key;
        p.id = id;
        p.queued_ts = now;
        p.eta = eta;
        p.payload_len = payload.len() as u16;
        p.bump = bump;
        p.payload[..payload.len()].copy_from_slice(&payload);
    }
    a.exchange.load_mut()?.proposal_count = id.checked_add(1).ok_or_else(|| error!(PerpError::MathOverflow))?;
    emit!(ProposalQueued { exchange: exchange_key, proposal: address, id, action, eta, payload });
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
    emit!(ProposalCancelled {
        exchange: p.exchange,
        proposal: ctx.accounts.proposal.key(),
        id: p.id,
        executed: p.executed != 0
    });
    Ok(())
}

/// Admin, time-locked once set: the delay of risky changes, within the hard bounds.
pub fn set_timelock<'info>(ctx: Context<'info, AdminOnly<'info>>, delay_secs: i64) -> Result<()> {
    require!((MIN_TIMELOCK_SECS..=MAX_TIMELOCK_SECS).contains(&delay_secs), PerpError::ParameterOutOfRange);
    let exchange_key = ctx.accounts.exchange.key();
    let mut exchange =
        authorize_exchange_change(&ctx.accounts.exchange, ctx.remaining_accounts, GovAction::SetTimelock, &delay_secs)?;
    exchange.timelock_delay_secs = delay_secs;
    emit!(TimelockChanged { exchange: exchange_key, delay_secs });
    Ok(())
}
