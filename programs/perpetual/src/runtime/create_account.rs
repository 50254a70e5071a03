//! Creating program accounts at PDAs.
//!
//! Anyone can send lamports to an address before it exists. The system program's
//! `create_account` then fails, and Anchor 1.2's `init` falls back to an instruction
//! (`CreateAccountAllowPrefund`) that runtimes without SIMD-0312 reject; either way a
//! griefer could block a user's margin account or a market listing for 0.0009 SOL. So PDAs
//! are created here: `create_account` when the address is empty, otherwise top up,
//! `allocate` and `assign`, all signed with the PDA's seeds.
use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::state::DISCRIMINATOR_LEN;

pub fn create_pda<'info>(
    payer: &AccountInfo<'info>,
    target: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    owner: &Pubkey,
    space: usize,
    seeds: &[&[u8]],
) -> Result<()> {
    require!(*target.owner == system_program::ID && target.data_is_empty(), PerpError::AccountAlreadyInitialized);
    let signer = &[seeds];
    let rent = Rent::get()?.minimum_balance(space);
    let funded = target.lamports();
    if funded == 0 {
        let accounts = CreateAccount { from: payer.clone(), to: target.clone() };
        return system_program::create_account(
            CpiContext::new_with_signer(system.key(), accounts, signer),
            rent,
            space as u64,
            owner,
        );
    }
    if rent > funded {
        let accounts = Transfer { from: payer.clone(), to: target.clone() };
        system_program::transfer(CpiContext::new(system.key(), accounts), rent - funded)?;
    }
    let accounts = Allocate { account_to_allocate: target.clone() };
    system_program::allocate(CpiContext::new_with_signer(system.key(), accounts, signer), space as u64)?;
    let accounts = Assign { account_to_assign: target.clone() };
    system_program::assign(CpiContext::new_with_signer(system.key(), accounts, signer), owner)
}

/// Creates a zero-copy account of type `T` at a PDA and writes its discriminator.
pub fn create_zero_copy<'info, T: Discriminator>(
    payer: &AccountInfo<'info>,
    target: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    space: usize,
    seeds: &[&[u8]],
) -> Result<()> {
    create_pda(payer, target, system, &crate::ID, space, seeds)?;
    target.try_borrow_mut_data()?[..DISCRIMINATOR_LEN].copy_from_slice(T::DISCRIMINATOR);
    Ok(())
}
