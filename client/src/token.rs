//! SPL Token instructions the simulation and the tests send to set up collateral.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_program_pack::Pack;
use spl_token_interface::state::{Account, Mint};

// These builders fail only for a token program id other than SPL Token's, which is fixed here.
const TOKEN_ID: &str = "the SPL Token program id";

/// Creates and initialises `mint` (rent `lamports` from `payer`) with `authority` and no
/// freeze authority.
pub fn create_mint(payer: &Pubkey, mint: &Pubkey, authority: &Pubkey, decimals: u8, lamports: u64) -> Vec<Instruction> {
    vec![
        solana_system_interface::instruction::create_account(
            payer,
            mint,
            lamports,
            Mint::LEN as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_mint2(&spl_token_interface::ID, mint, authority, None, decimals)
            .expect(TOKEN_ID),
    ]
}

/// Creates `account` for `owner` (rent `lamports` from `payer`) and mints `amount` into it
/// when it is not 0 (signed by `mint_authority`).
pub fn create_funded_account(
    payer: &Pubkey,
    account: &Pubkey,
    mint: &Pubkey,
    owner: &Pubkey,
    lamports: u64,
    mint_authority: &Pubkey,
    amount: u64,
) -> Vec<Instruction> {
    let mut ixs = vec![
        solana_system_interface::instruction::create_account(
            payer,
            account,
            lamports,
            Account::LEN as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, account, mint, owner)
            .expect(TOKEN_ID),
    ];
    if amount > 0 {
        ixs.push(
            spl_token_interface::instruction::mint_to(
                &spl_token_interface::ID,
                mint,
                account,
                mint_authority,
                &[],
                amount,
            )
            .expect(TOKEN_ID),
        );
    }
    ixs
}
