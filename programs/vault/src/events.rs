//! Events for indexers. Amounts are collateral native units; equity is the vault's margin
//! account equity (see `equity`) at the price the operation used.
use anchor_lang::prelude::*;

#[event]
pub struct VaultCreated {
    pub vault: Pubkey,
    pub manager: Pubkey,
    pub exchange: Pubkey,
    pub margin_account: Pubkey,
}

#[event]
pub struct VaultDeposited {
    pub vault: Pubkey,
    pub user: Pubkey,
    pub amount: u64,
    pub shares: u64,
    pub equity_before: u64,
    pub total_shares_after: u64,
}

#[event]
pub struct VaultWithdrew {
    pub vault: Pubkey,
    pub user: Pubkey,
    pub amount: u64,
    pub shares: u64,
    pub equity_before: u64,
    pub total_shares_after: u64,
}
