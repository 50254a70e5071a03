//! `act`: sends `perpetual` any instruction signed by this program's `trader` PDA, so tests
//! can drive the trader-only instructions (seat allowances, book takes, seat settlement)
//! directly, with the exact arguments a book would send.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;
use perpetual::trader_api::TRADER_SEED;

#[derive(Accounts)]
pub struct Act<'info> {
    /// CHECK: the program called.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    /// CHECK: this program's PDA; it signs the CPI as the trader.
    #[account(seeds = [TRADER_SEED], bump)]
    pub trader_authority: UncheckedAccount<'info>,
}

/// Remaining accounts: the instruction's accounts, as they are passed (the trader PDA's
/// meta is marked signer).
pub fn handler<'info>(ctx: Context<'info, Act<'info>>, data: Vec<u8>) -> Result<()> {
    let trader = ctx.accounts.trader_authority.key();
    let accounts = ctx
        .remaining_accounts
        .iter()
        .map(|a| AccountMeta {
            pubkey: a.key(),
            is_signer: a.is_signer || a.key() == trader,
            is_writable: a.is_writable,
        })
        .collect();
    let ix = Instruction { program_id: perpetual::ID, accounts, data };
    let mut infos = ctx.remaining_accounts.to_vec();
    infos.push(ctx.accounts.trader_authority.to_account_info());
    let bump = [ctx.bumps.trader_authority];
    let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
    invoke_signed(&ix, &infos, &[seeds])?;
    Ok(())
}
