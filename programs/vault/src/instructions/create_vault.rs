//! Creating a vault: its state, its token account, and a perpetual margin account owned by
//! its authority PDA (`perpetual::cpi::create_margin_account`).
use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Transfer};
use anchor_spl::token::{self, InitializeAccount3, Mint, Token, TokenAccount};
use perpetual::runtime::create_account::create_pda;
use perpetual::state::{Exchange, MarginAccount, MAX_POSITION_CAPACITY, MIN_POSITION_CAPACITY};

use crate::error::VaultError;
use crate::events::VaultCreated;
use crate::state::{as_authority, init_account, Vault, AUTHORITY_SEED, MARGIN_ACCOUNT_NUM, TOKEN_SEED, VAULT_SEED};

#[derive(Accounts)]
#[instruction(vault_id: u16)]
pub struct CreateVault<'info> {
    /// Pays every rent and becomes the vault's manager.
    #[account(mut)]
    pub manager: Signer<'info>,
    /// CHECK: a perpetual exchange, loaded in the handler (kept out of this program's IDL so
    /// that it does not depend on the exchange's layout); perpetual loads it again.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [VAULT_SEED, exchange.key().as_ref(), manager.key().as_ref(), &vault_id.to_le_bytes()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: a data-less PDA; funded here with the margin account's rent, which it pays
    /// to perpetual as the margin account's owner.
    #[account(mut, seeds = [AUTHORITY_SEED, vault.key().as_ref()], bump)]
    pub authority: UncheckedAccount<'info>,
    /// CHECK: created here at this PDA as a token account of the collateral mint.
    #[account(mut, seeds = [TOKEN_SEED, vault.key().as_ref()], bump)]
    pub vault_token: UncheckedAccount<'info>,
    /// CHECK: perpetual creates it at its PDA `[margin, exchange, authority, 0]` and checks the seeds.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The exchange's collateral mint.
    pub collateral_mint: Account<'info, Mint>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler<'info>(ctx: Context<'info, CreateVault<'info>>, vault_id: u16, position_capacity: u16) -> Result<()> {
    require!((MIN_POSITION_CAPACITY..=MAX_POSITION_CAPACITY).contains(&position_capacity), VaultError::InvalidCapacity);
    let a = &*ctx.accounts;
    {
        let loader = AccountLoader::<Exchange>::try_from(a.exchange.as_ref())?;
        require_keys_eq!(loader.load()?.collateral_mint, a.collateral_mint.key(), VaultError::WrongMint);
    }
    let (exchange, manager, vault) = (a.exchange.key(), a.manager.key(), a.vault.key());
    let id = vault_id.to_le_bytes();
    let vault_bump = [ctx.bumps.vault];
    let token_bump = [ctx.bumps.vault_token];
    let vault_seeds: &[&[u8]] = &[VAULT_SEED, exchange.as_ref(), manager.as_ref(), &id, &vault_bump];
    let token_seeds: &[&[u8]] = &[TOKEN_SEED, vault.as_ref(), &token_bump];
    let system = a.system_program.to_account_info();

    // PDAs are created with perpetual's helper, which also handles an address someone
    // pre-funded (Anchor 1.2's `init` cannot on this runtime).
    create_pda(a.manager.as_ref(), a.vault.as_ref(), &system, &crate::ID, Vault::SPACE, vault_seeds)?;
    create_pda(a.manager.as_ref(), a.vault_token.as_ref(), &system, &token::ID, TokenAccount::LEN, token_seeds)?;
    token::initialize_account3(CpiContext::new(
        token::ID,
        InitializeAccount3 {
            account: a.vault_token.to_account_info(),
            mint: a.collateral_mint.to_account_info(),
            authority: a.authority.to_account_info(),
        },
    ))?;

    // The margin account's owner pays its rent in perpetual, so the authority PDA is funded
    // first with what it lacks (less anything already sent to the margin account address).
    let rent = Rent::get()?.minimum_balance(MarginAccount::space(position_capacity));
    let needed = rent.saturating_sub(a.margin_account.lamports()).saturating_sub(a.authority.lamports());
    if needed > 0 {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                Transfer { from: a.manager.to_account_info(), to: a.authority.to_account_info() },
            ),
            needed,
        )?;
    }
    let accounts = perpetual::cpi::accounts::CreateMarginAccount {
        owner: a.authority.to_account_info(),
        exchange: a.exchange.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        system_program: system.clone(),
    };
    as_authority(&vault, ctx.bumps.authority, |signer| {
        perpetual::cpi::create_margin_account(
            CpiContext::new_with_signer(perpetual::ID, accounts, signer),
            MARGIN_ACCOUNT_NUM,
            position_capacity,
        )
    })?;

    init_account(a.vault.as_ref(), |v: &mut Vault| {
        v.exchange = exchange;
        v.manager = manager;
        v.authority = a.authority.key();
        v.margin_account = a.margin_account.key();
        v.vault_token = a.vault_token.key();
        v.collateral_mint = a.collateral_mint.key();
        v.vault_id = vault_id;
        v.bump = ctx.bumps.vault;
        v.authority_bump = ctx.bumps.authority;
        v.token_bump = ctx.bumps.vault_token;
    })?;
    emit!(VaultCreated { vault, manager, exchange, margin_account: a.margin_account.key() });
    Ok(())
}
