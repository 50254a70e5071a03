//! `early_deleverage`: the book's part in early deleveraging. The book estimates what
//! closing a position through it would cost; perpetual decides.
use anchor_lang::prelude::*;

use crate::error::BookError;
use crate::matching::{close_price, Closing};
use crate::order_accounts::{account_view, Signature};
use crate::perp_cpi::{DeleverageAccounts, TraderCall};
use crate::state::BookMut;

#[derive(Accounts)]
pub struct EarlyDeleverageOrder<'info> {
    /// CHECK: loaded by `BookMut`; must be the market's book.
    pub book: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual market.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the market's oracle.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the book's exchange (perpetual writes its insurance fund).
    #[account(mut)]
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: this program's approval in perpetual.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's `trader` PDA.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the liquidatable margin account.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: the absorbing margin account.
    #[account(mut)]
    pub counterparty: UncheckedAccount<'info>,
    /// The deleveraging authority (perpetual checks it).
    pub authority: Signer<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

/// Estimates the average price of closing `lots` of the account's position through the
/// book and asks perpetual to offset them against the counterparty at the mark instead,
/// which it does only when that price is worse than the mark and the account's equity
/// cannot cover the loss. Remaining accounts: the account's health accounts.
pub fn handler<'info>(ctx: Context<'info, EarlyDeleverageOrder<'info>>, lots: u64) -> Result<()> {
    let a = &*ctx.accounts;
    let (book_price, trader_bump) = {
        let mut book = BookMut::load(a.book.as_ref())?;
        let parts = book.parts()?;
        parts.header.check_venue(a.market.key, a.exchange.key)?;
        let position =
            account_view(a.margin_account.as_ref(), a.exchange.key, a.market.key, Signature::NotChecked)?.base_lots;
        let closing = Closing::of(position).filter(|_| lots > 0).ok_or_else(|| error!(BookError::InvalidSize))?;
        (
            close_price(&parts.bids.as_ref(), &parts.asks.as_ref(), parts.seats, closing, lots, parts.header.tick_size),
            parts.header.trader_bump,
        )
    };
    let trader = TraderCall {
        exchange: a.exchange.as_ref(),
        approval: a.approval.as_ref(),
        trader_authority: a.trader_authority.as_ref(),
        market: a.market.as_ref(),
        trader_bump,
    };
    let accounts = DeleverageAccounts {
        oracle: a.oracle.as_ref(),
        margin_account: a.margin_account.as_ref(),
        counterparty: a.counterparty.as_ref(),
        authority: a.authority.as_ref(),
    };
    trader.early_deleverage(accounts, ctx.remaining_accounts, lots, book_price)
}
