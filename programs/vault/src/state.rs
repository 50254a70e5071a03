//! The vault's accounts: zero-copy, `#[repr(C)]`, explicit padding and reserved bytes, sizes
//! asserted at compile time.
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use perpetual::state::DISCRIMINATOR_LEN;

/// Seeds of the vault state: `[VAULT_SEED, exchange, manager, vault_id (u16 LE)]`.
pub const VAULT_SEED: &[u8] = b"vault";
/// Seeds of the PDA that owns the margin account and the token account: `[AUTHORITY_SEED, vault]`.
pub const AUTHORITY_SEED: &[u8] = b"authority";
/// Seeds of the vault's token account: `[TOKEN_SEED, vault]`.
pub const TOKEN_SEED: &[u8] = b"token";
/// Seeds of a shareholder's record: `[SHARES_SEED, vault, owner]`.
pub const SHARES_SEED: &[u8] = b"shares";
/// The vault's margin account is number 0 of its authority.
pub const MARGIN_ACCOUNT_NUM: u16 = 0;

/// One vault. `total_shares` is the sum of every `ShareRecord::shares` of this vault;
/// `total_deposited - total_withdrawn` is the net collateral users moved in, so the
/// difference between that and the margin account's equity is the vault's trading result.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Vault {
    pub exchange: Pubkey,
    pub manager: Pubkey,
    /// PDA `[AUTHORITY_SEED, vault]`: owner of `margin_account` and `vault_token`.
    pub authority: Pubkey,
    /// Perpetual margin account `MARGIN_ACCOUNT_NUM` of `authority`.
    pub margin_account: Pubkey,
    /// PDA token account through which deposits pass (empty between instructions).
    pub vault_token: Pubkey,
    pub collateral_mint: Pubkey,
    pub total_shares: u64,
    /// Cumulative collateral deposited and withdrawn by shareholders, native units.
    pub total_deposited: u64,
    pub total_withdrawn: u64,
    pub vault_id: u16,
    pub bump: u8,
    pub authority_bump: u8,
    pub token_bump: u8,
    pub _padding: [u8; 3],
    pub reserved: [u8; 64],
}
const _: () = assert!(core::mem::size_of::<Vault>() == 6 * 32 + 3 * 8 + 8 + 64);
const _: () = assert!(core::mem::align_of::<Vault>() <= 8);

impl Vault {
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<Vault>();
}

/// A shareholder's shares in one vault.
#[account(zero_copy)]
#[derive(Debug)]
pub struct ShareRecord {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    pub bump: u8,
    pub _padding: [u8; 7],
    pub reserved: [u8; 32],
}
const _: () = assert!(core::mem::size_of::<ShareRecord>() == 2 * 32 + 8 + 8 + 32);
const _: () = assert!(core::mem::align_of::<ShareRecord>() <= 8);

impl ShareRecord {
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<ShareRecord>();
}

/// Runs `f` with the signer seeds of `vault`'s authority PDA (bump `bump`), which signs
/// every CPI as the margin account's owner.
pub fn as_authority<T>(vault: &Pubkey, bump: u8, f: impl FnOnce(&[&[&[u8]]]) -> T) -> T {
    let bump = [bump];
    let seeds: &[&[u8]] = &[AUTHORITY_SEED, vault.as_ref(), &bump];
    f(&[seeds])
}

/// Writes a newly created account's discriminator, then its fields (`init`, on the zeroed
/// struct).
pub fn init_account<T: Discriminator + bytemuck::Pod>(info: &AccountInfo, init: impl FnOnce(&mut T)) -> Result<()> {
    let mut data = info.try_borrow_mut_data()?;
    data[..DISCRIMINATOR_LEN].copy_from_slice(T::DISCRIMINATOR);
    init(bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..DISCRIMINATOR_LEN + core::mem::size_of::<T>()]));
    Ok(())
}

/// Decodes an account of type `T` from its bytes (`None` when too short or another type).
pub fn parse_account<T: Discriminator + bytemuck::Pod>(data: &[u8]) -> Option<T> {
    let end = DISCRIMINATOR_LEN + core::mem::size_of::<T>();
    (data.len() >= end && &data[..DISCRIMINATOR_LEN] == T::DISCRIMINATOR)
        .then(|| bytemuck::pod_read_unaligned(&data[DISCRIMINATOR_LEN..end]))
}
