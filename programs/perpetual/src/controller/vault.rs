//! Moving collateral into and out of the exchange's vault.
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, TransferChecked};

use crate::state::{Exchange, EXCHANGE_SEED};

/// Moves `amount` from a token account into the vault, signed by its owner.
pub fn pay_in<'info>(
    from: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &Account<'info, Mint>,
    amount: u64,
) -> Result<()> {
    let accounts = TransferChecked {
        from: from.clone(),
        mint: mint.to_account_info(),
        to: vault.clone(),
        authority: authority.clone(),
    };
    token::transfer_checked(CpiContext::new(token::ID, accounts), amount, mint.decimals)
}

/// Moves `amount` out of the vault, signed by the exchange PDA.
pub fn pay_out<'info>(
    exchange: &AccountLoader<'info, Exchange>,
    vault: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    mint: &Account<'info, Mint>,
    amount: u64,
) -> Result<()> {
    let (collateral_mint, bump) = {
        let e = exchange.load()?;
        (e.collateral_mint, e.bump)
    };
    let seeds: &[&[u8]] = &[EXCHANGE_SEED, collateral_mint.as_ref(), &[bump]];
    let accounts = TransferChecked {
        from: vault.clone(),
        mint: mint.to_account_info(),
        to: to.clone(),
        authority: exchange.to_account_info(),
    };
    token::transfer_checked(CpiContext::new_with_signer(token::ID, accounts, &[seeds]), amount, mint.decimals)
}
