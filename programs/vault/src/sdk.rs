//! Client-side helpers (not built for SBF): PDA addresses, one instruction builder per
//! instruction, and account decoding.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use orderbook::instructions::PlaceOrderArgs;
use orderbook::sdk::Venue;
use orderbook::Side;

use crate::state::*;
use crate::{accounts as acc, instruction as ix, ID};

pub fn vault_address(exchange: &Pubkey, manager: &Pubkey, vault_id: u16) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, exchange.as_ref(), manager.as_ref(), &vault_id.to_le_bytes()], &ID).0
}
pub fn authority_address(vault: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[AUTHORITY_SEED, vault.as_ref()], &ID).0
}
pub fn vault_token_address(vault: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[TOKEN_SEED, vault.as_ref()], &ID).0
}
pub fn share_record_address(vault: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SHARES_SEED, vault.as_ref(), owner.as_ref()], &ID).0
}
/// The vault's perpetual margin account (number `MARGIN_ACCOUNT_NUM` of its authority).
pub fn margin_account_address(exchange: &Pubkey, vault: &Pubkey) -> Pubkey {
    perpetual::sdk::margin_account_address(exchange, &authority_address(vault), MARGIN_ACCOUNT_NUM)
}

/// Every address of one vault, derived from (exchange, manager, id).
#[derive(Clone, Copy, Debug)]
pub struct VaultKeys {
    pub exchange: Pubkey,
    pub collateral_mint: Pubkey,
    pub manager: Pubkey,
    pub vault: Pubkey,
    pub authority: Pubkey,
    pub vault_token: Pubkey,
    pub margin_account: Pubkey,
}

impl VaultKeys {
    pub fn new(exchange: &Pubkey, collateral_mint: &Pubkey, manager: &Pubkey, vault_id: u16) -> Self {
        let vault = vault_address(exchange, manager, vault_id);
        Self {
            exchange: *exchange,
            collateral_mint: *collateral_mint,
            manager: *manager,
            vault,
            authority: authority_address(&vault),
            vault_token: vault_token_address(&vault),
            margin_account: margin_account_address(exchange, &vault),
        }
    }
}

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

pub fn create_vault(k: &VaultKeys, vault_id: u16, position_capacity: u16) -> Instruction {
    build(
        acc::CreateVault {
            manager: k.manager,
            exchange: k.exchange,
            vault: k.vault,
            authority: k.authority,
            vault_token: k.vault_token,
            margin_account: k.margin_account,
            collateral_mint: k.collateral_mint,
            perpetual_program: perpetual::ID,
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        ix::CreateVault { vault_id, position_capacity },
    )
}

/// `health`: the vault margin account's health accounts (`perpetual::sdk::health_metas`,
/// no market skipped).
pub fn deposit(
    k: &VaultKeys,
    user: &Pubkey,
    user_token: &Pubkey,
    amount: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::Deposit {
            user: *user,
            vault: k.vault,
            authority: k.authority,
            share_record: share_record_address(&k.vault, user),
            user_token: *user_token,
            vault_token: k.vault_token,
            exchange: k.exchange,
            margin_account: k.margin_account,
            collateral_vault: perpetual::sdk::vault_address(&k.exchange),
            collateral_mint: k.collateral_mint,
            perpetual_program: perpetual::ID,
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        ix::Deposit { amount },
    );
    ix.accounts.extend(health);
    ix
}

/// `health` as for [`deposit`].
pub fn withdraw(
    k: &VaultKeys,
    user: &Pubkey,
    destination: &Pubkey,
    shares: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::Withdraw {
            user: *user,
            vault: k.vault,
            authority: k.authority,
            share_record: share_record_address(&k.vault, user),
            destination: *destination,
            exchange: k.exchange,
            margin_account: k.margin_account,
            collateral_vault: perpetual::sdk::vault_address(&k.exchange),
            collateral_mint: k.collateral_mint,
            perpetual_program: perpetual::ID,
            token_program: anchor_spl::token::ID,
        },
        ix::Withdraw { shares },
    );
    ix.accounts.extend(health);
    ix
}

fn manager_order(k: &VaultKeys, manager: &Pubkey, v: &Venue) -> acc::ManagerOrder {
    acc::ManagerOrder {
        manager: *manager,
        vault: k.vault,
        authority: k.authority,
        margin_account: k.margin_account,
        book: v.book,
        market: v.market,
        oracle: v.oracle,
        exchange: v.exchange,
        approval: v.approval(),
        trader_authority: orderbook::sdk::trader_authority(),
        orderbook_program: orderbook::ID,
        perpetual_program: perpetual::ID,
    }
}

/// `health`: the vault margin account's health accounts skipping `v.market` (as for
/// `orderbook::sdk::place_order`). `manager` is whoever signs; the program refuses anyone
/// but the vault's manager.
pub fn place_order(
    k: &VaultKeys,
    manager: &Pubkey,
    v: &Venue,
    args: PlaceOrderArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(manager_order(k, manager, v), ix::PlaceOrder { args });
    ix.accounts.extend(health);
    ix
}

/// The vault seat's allowance; `health` as for `place_order`.
pub fn set_allowance(
    k: &VaultKeys,
    manager: &Pubkey,
    v: &Venue,
    args: orderbook::instructions::AllowanceArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(manager_order(k, manager, v), ix::SetAllowance { args });
    ix.accounts.extend(health);
    ix
}

pub fn cancel_order(k: &VaultKeys, manager: &Pubkey, v: &Venue, side: Side, order_key: u128) -> Instruction {
    build(manager_order(k, manager, v), ix::CancelOrder { side, order_key })
}

/// Decodes a vault account's bytes.
pub fn parse_vault(data: &[u8]) -> Option<Vault> {
    parse_account(data)
}

/// Decodes a share record's bytes.
pub fn parse_share_record(data: &[u8]) -> Option<ShareRecord> {
    parse_account(data)
}
