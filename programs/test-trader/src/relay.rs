//! The accounts `settle` and `reserve` relay to `perpetual`, and their signing.
use anchor_lang::prelude::*;
use perpetual::trader_api::TRADER_SEED;

#[derive(Accounts)]
pub struct Relay<'info> {
    /// CHECK: passed through to perpetual.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's PDA; it signs the CPI.
    #[account(seeds = [TRADER_SEED], bump)]
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: passed through (the taker, or the account whose reservation changes).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The user who signs for the margin account (owner or delegate).
    pub user: Signer<'info>,
}

/// Calls `perpetual` through `call` with `accounts`, signed by the `trader` PDA (`bump`),
/// the instruction's remaining accounts passed through.
pub fn relay<'info, A: ToAccountMetas + ToAccountInfos<'info>>(
    bump: u8,
    remaining: &[AccountInfo<'info>],
    accounts: A,
    call: impl FnOnce(CpiContext<'_, '_, '_, 'info, A>) -> Result<()>,
) -> Result<()> {
    let bump = [bump];
    let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
    let signer = &[seeds];
    call(CpiContext::new_with_signer(perpetual::ID, accounts, signer).with_remaining_accounts(remaining.to_vec()))
}
