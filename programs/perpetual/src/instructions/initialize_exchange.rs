use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::events::ExchangeInitialized;
use crate::state::{Exchange, EXCHANGE_SEED, VAULT_SEED};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitializeExchangeArgs {
    pub funding_authority: Pubkey,
    pub risk_authority: Pubkey,
    pub pause_guardian: Pubkey,
}

#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        init, payer = admin, space = Exchange::SPACE,
        seeds = [EXCHANGE_SEED, collateral_mint.key().as_ref()], bump,
    )]
    pub exchange: AccountLoader<'info, Exchange>,
    pub collateral_mint: Account<'info, Mint>,
    #[account(
        init, payer = admin,
        seeds = [VAULT_SEED, exchange.key().as_ref()], bump,
        token::mint = collateral_mint, token::authority = exchange,
    )]
    pub vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeExchange>, args: InitializeExchangeArgs) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_init()?;
    exchange.admin = ctx.accounts.admin.key();
    exchange.collateral_mint = ctx.accounts.collateral_mint.key();
    exchange.vault = ctx.accounts.vault.key();
    exchange.funding_authority = args.funding_authority;
    exchange.risk_authority = args.risk_authority;
    exchange.pause_guardian = args.pause_guardian;
    exchange.collateral_decimals = ctx.accounts.collateral_mint.decimals;
    exchange.bump = ctx.bumps.exchange;
    exchange.vault_bump = ctx.bumps.vault;
    emit!(ExchangeInitialized {
        exchange: ctx.accounts.exchange.key(),
        admin: exchange.admin,
        collateral_mint: exchange.collateral_mint,
    });
    Ok(())
}
