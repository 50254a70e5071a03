//! Governance authorisation: the time lock every risky change passes through.
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::events::ProposalExecuted;
use crate::params::PROPOSAL_GRACE_SECS;
use crate::state::{payload, Exchange, GovAction, Proposal, DISCRIMINATOR_LEN};

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
    require!(
        data.len() >= Proposal::SPACE && &data[..DISCRIMINATOR_LEN] == Proposal::DISCRIMINATOR,
        PerpError::ProposalRequired
    );
    let p: &mut Proposal = bytemuck::try_from_bytes_mut(&mut data[DISCRIMINATOR_LEN..Proposal::SPACE])
        .map_err(|_| error!(PerpError::AccountDataInvalid))?;
    require_keys_eq!(p.exchange, *exchange_key, PerpError::WrongExchange);
    require!(p.payload() == payload(action, target, args).as_slice(), PerpError::ProposalMismatch);
    require!(p.executed == 0, PerpError::ProposalAlreadyExecuted);
    let now = Clock::get()?.unix_timestamp;
    // A proposal queued under a shorter delay still waits the delay in force now.
    let ready = p.eta.max(p.queued_ts.saturating_add(timelock_delay_secs));
    require!(now >= ready, PerpError::TimelockNotElapsed);
    require!(now <= ready.saturating_add(PROPOSAL_GRACE_SECS), PerpError::ProposalExpired);
    p.executed = 1;
    emit!(ProposalExecuted { exchange: *exchange_key, proposal: info.key(), id: p.id, action });
    Ok(())
}

/// [`authorize`] for handlers that hold no borrow of the exchange.
pub fn authorize_change<T: AnchorSerialize>(
    exchange: &AccountLoader<Exchange>,
    remaining: &[AccountInfo],
    action: GovAction,
    target: &Pubkey,
    args: &T,
) -> Result<()> {
    let delay = exchange.load()?.timelock_delay_secs;
    authorize(&exchange.key(), delay, remaining, action, target, args)
}

/// [`authorize`] for a change to the exchange itself (the exchange is the target): returns
/// the exchange, loaded for writing, once the change may run.
pub fn authorize_exchange_change<'a, T: AnchorSerialize>(
    exchange: &'a AccountLoader<Exchange>,
    remaining: &[AccountInfo],
    action: GovAction,
    args: &T,
) -> Result<std::cell::RefMut<'a, Exchange>> {
    let key = exchange.key();
    let loaded = exchange.load_mut()?;
    authorize(&key, loaded.timelock_delay_secs, remaining, action, &key, args)?;
    Ok(loaded)
}
