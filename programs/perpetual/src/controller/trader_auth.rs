//! Proof that an approved trader program is calling.
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::state::{TraderApproval, DISCRIMINATOR_LEN};

/// Checks that `approval` is a live approval on `exchange` whose trader PDA is `authority`,
/// and that `authority` signed (only its program can sign for it, through `invoke_signed`).
pub fn check_trader(approval: &AccountInfo, exchange: &Pubkey, authority: &AccountInfo) -> Result<()> {
    require!(authority.is_signer, PerpError::WrongTraderAuthority);
    let data = approval.try_borrow_data()?;
    require!(
        *approval.owner == crate::ID
            && data.len() >= TraderApproval::SPACE
            && &data[..DISCRIMINATOR_LEN] == TraderApproval::DISCRIMINATOR,
        PerpError::TraderNotApproved
    );
    let a: &TraderApproval = bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..TraderApproval::SPACE])
        .map_err(|_| error!(PerpError::AccountDataInvalid))?;
    require_keys_eq!(a.exchange, *exchange, PerpError::WrongExchange);
    require_keys_eq!(a.trader_authority, *authority.key, PerpError::WrongTraderAuthority);
    require!(a.active == 1, PerpError::TraderNotApproved);
    Ok(())
}
