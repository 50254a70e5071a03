use anchor_lang::prelude::*;

/// Every refusal the vault itself gives (perpetual's and the order book's own refusals,
/// such as perpetual's initial-margin check on a withdrawal, pass through unchanged).
#[error_code]
pub enum VaultError {
    #[msg("signer is not the vault's manager")]
    NotManager,
    #[msg("the shareholder owns fewer shares than it tries to burn")]
    InsufficientShares,
    #[msg("amount or shares must be positive")]
    ZeroAmount,
    #[msg("the deposit is too small to buy one share")]
    ZeroShares,
    #[msg("the shares are worth less than one native unit")]
    WithdrawalRoundsToZero,
    #[msg("the vault's equity is negative; deposits are refused")]
    VaultUnderwater,
    #[msg("account is not this vault's margin account")]
    WrongMarginAccount,
    #[msg("account is not this vault's exchange")]
    WrongExchange,
    #[msg("account is not this vault's token account")]
    WrongTokenAccount,
    #[msg("account is not this vault's authority")]
    WrongAuthority,
    #[msg("token account or mint is not the exchange's collateral mint")]
    WrongMint,
    #[msg("share record belongs to another vault or owner")]
    WrongShareRecord,
    #[msg("position capacity outside perpetual's bounds")]
    InvalidCapacity,
    #[msg("the order book returned no order result")]
    MissingOrderResult,
    #[msg("arithmetic overflow")]
    MathOverflow,
}
