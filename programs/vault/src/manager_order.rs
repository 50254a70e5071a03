//! The manager trades the vault's margin account on the order book: `orderbook::cpi::
//! place_order` and `orderbook::cpi::cancel_order`, with the vault's authority PDA signing
//! as the margin account's owner. The order book checks the owner's signature, and passes
//! it on to perpetual when it settles fills and reservations.
//!
//! The manager can lose the vault's money by trading, within perpetual's margin rules and
//! the book's price band. A production vault would add limits on the manager: allowed
//! markets, maximum leverage and position size, reduce-only after a drawdown or during
//! wind-down, a way for shareholders to replace the manager, and a delegate key for hot
//! trading instead of the manager's own key.
use anchor_lang::prelude::*;

use crate::error::VaultError;
use crate::state::{as_authority, Vault};

/// The accounts of `orderbook`'s order instructions (`OrderAccounts`), behind the vault and
/// its manager.
#[derive(Accounts)]
pub struct ManagerOrder<'info> {
    pub manager: Signer<'info>,
    #[account(
        has_one = manager @ VaultError::NotManager,
        has_one = authority @ VaultError::WrongAuthority,
        has_one = margin_account @ VaultError::WrongMarginAccount,
        has_one = exchange @ VaultError::WrongExchange,
    )]
    pub vault: AccountLoader<'info, Vault>,
    /// CHECK: the vault's authority PDA (checked against the vault); signs the CPI.
    pub authority: UncheckedAccount<'info>,
    /// CHECK: the vault's margin account; the order book and perpetual load it.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: the order book checks it trades `market`.
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual market.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the vault's exchange.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: the order book's approval in perpetual.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: the order book's `trader` PDA.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the order book program.
    #[account(address = orderbook::ID)]
    pub orderbook_program: UncheckedAccount<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

impl<'info> ManagerOrder<'info> {
    /// Calls the order book through `call` with its `OrderAccounts`, the vault's authority
    /// PDA signing as the margin account's owner, `remaining` passed through.
    pub fn call_book<T>(
        &self,
        remaining: &[AccountInfo<'info>],
        call: impl FnOnce(CpiContext<'_, '_, '_, 'info, orderbook::cpi::accounts::OrderAccounts<'info>>) -> Result<T>,
    ) -> Result<T> {
        let bump = self.vault.load()?.authority_bump;
        as_authority(&self.vault.key(), bump, |signer| {
            call(
                CpiContext::new_with_signer(orderbook::ID, self.order_accounts(), signer)
                    .with_remaining_accounts(remaining.to_vec()),
            )
        })
    }

    fn order_accounts(&self) -> orderbook::cpi::accounts::OrderAccounts<'info> {
        orderbook::cpi::accounts::OrderAccounts {
            book: self.book.to_account_info(),
            authority: self.authority.to_account_info(),
            margin_account: self.margin_account.to_account_info(),
            market: self.market.to_account_info(),
            oracle: self.oracle.to_account_info(),
            exchange: self.exchange.to_account_info(),
            approval: self.approval.to_account_info(),
            trader_authority: self.trader_authority.to_account_info(),
            perpetual_program: self.perpetual_program.to_account_info(),
        }
    }
}
