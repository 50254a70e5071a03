use anchor_lang::prelude::*;
use anchor_spl::token::{self, InitializeAccount3, Mint, Token};

use crate::error::PerpError;
use crate::events::ExchangeInitialized;
use crate::runtime::create_account::{create_pda, create_zero_copy};
use crate::state::{Exchange, DISCRIMINATOR_LEN, EXCHANGE_SEED, VAULT_SEED};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitializeExchangeArgs {
    pub funding_authority: Pubkey,
    pub risk_authority: Pubkey,
    pub pause_guardian: Pubkey,
    pub deleverage_authority: Pubkey,
}

#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    /// The program's upgrade authority: the one party a deployment names, so no stranger can
    /// occupy a mint's exchange address before it.
    pub upgrade_authority: Signer<'info>,
    /// This program's ProgramData account (the upgradeable loader's record of who may
    /// upgrade it).
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(upgrade_authority.key())
            @ PerpError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    /// The exchange's admin; pays the rent of the exchange and its vault.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [EXCHANGE_SEED, collateral_mint.key().as_ref()], bump)]
    pub exchange: UncheckedAccount<'info>,
    pub collateral_mint: Account<'info, Mint>,
    /// CHECK: created here at this PDA as a token account of the mint owned by the exchange.
    #[account(mut, seeds = [VAULT_SEED, exchange.key().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeExchange>, args: InitializeExchangeArgs) -> Result<()> {
    let a = &ctx.accounts;
    let (mint, exchange_key) = (a.collateral_mint.key(), a.exchange.key());
    let exchange_seeds: &[&[u8]] = &[EXCHANGE_SEED, mint.as_ref(), &[ctx.bumps.exchange]];
    create_zero_copy::<Exchange>(
        a.admin.as_ref(),
        a.exchange.as_ref(),
        a.system_program.as_ref(),
        Exchange::SPACE,
        exchange_seeds,
    )?;
    let vault_seeds: &[&[u8]] = &[VAULT_SEED, exchange_key.as_ref(), &[ctx.bumps.vault]];
    let vault_space = anchor_spl::token::TokenAccount::LEN;
    create_pda(a.admin.as_ref(), a.vault.as_ref(), a.system_program.as_ref(), &token::ID, vault_space, vault_seeds)?;
    token::initialize_account3(CpiContext::new(
        token::ID,
        InitializeAccount3 {
            account: a.vault.to_account_info(),
            mint: a.collateral_mint.to_account_info(),
            authority: a.exchange.to_account_info(),
        },
    ))?;

    let mut data = a.exchange.try_borrow_mut_data()?;
    let exchange: &mut Exchange = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..Exchange::SPACE]);
    exchange.admin = a.admin.key();
    exchange.collateral_mint = mint;
    exchange.vault = a.vault.key();
    exchange.funding_authority = args.funding_authority;
    exchange.risk_authority = args.risk_authority;
    exchange.pause_guardian = args.pause_guardian;
    exchange.deleverage_authority = args.deleverage_authority;
    exchange.deleverage_timelock_secs = crate::params::DEFAULT_DELEVERAGE_TIMELOCK_SECS;
    exchange.collateral_decimals = a.collateral_mint.decimals;
    exchange.bump = ctx.bumps.exchange;
    exchange.vault_bump = ctx.bumps.vault;
    emit!(ExchangeInitialized { exchange: exchange_key, admin: exchange.admin, collateral_mint: mint });
    Ok(())
}
