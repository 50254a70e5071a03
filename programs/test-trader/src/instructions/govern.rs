//! `govern`: sends `perpetual` any instruction signed by the `governor` PDA.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;

use crate::GOVERNOR_SEED;

#[derive(Accounts)]
pub struct Govern<'info> {
    /// CHECK: the program called.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    /// CHECK: this program's PDA; it signs the CPI as the admin.
    #[account(mut, seeds = [GOVERNOR_SEED], bump)]
    pub governor: UncheckedAccount<'info>,
}

/// Remaining accounts: the instruction's accounts, as they are passed (the governor's
/// meta is marked signer).
pub fn handler<'info>(ctx: Context<'info, Govern<'info>>, data: Vec<u8>) -> Result<()> {
    let governor = ctx.accounts.governor.key();
    let accounts = ctx
        .remaining_accounts
        .iter()
        .map(|a| AccountMeta {
            pubkey: a.key(),
            is_signer: a.is_signer || a.key() == governor,
            is_writable: a.is_writable,
        })
        .collect();
    let ix = Instruction { program_id: perpetual::ID, accounts, data };
    let mut infos = ctx.remaining_accounts.to_vec();
    infos.push(ctx.accounts.governor.to_account_info());
    let bump = [ctx.bumps.governor];
    let seeds: &[&[u8]] = &[GOVERNOR_SEED, &bump];
    invoke_signed(&ix, &infos, &[seeds])?;
    Ok(())
}
