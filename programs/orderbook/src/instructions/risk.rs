//! The book's part in risk management: early deleveraging (the book estimates what closing
//! a position through it would cost) and closing the book of a settled market.
use anchor_lang::prelude::*;
use perpetual::cpi::accounts::EarlyDeleverage;
use perpetual::state::{find_position, parse_margin_account, Market, MarketStatus};

use crate::error::BookError;
use crate::matching::close_price_per_lot;
use crate::perp_cpi::TRADER_SEED;
use crate::state::{Book, BookMut};

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
pub fn early_deleverage<'info>(ctx: Context<'info, EarlyDeleverageOrder<'info>>, lots: u64) -> Result<()> {
    let a = &*ctx.accounts;
    let book_info: &'info AccountInfo<'info> = a.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let parts = book.parts()?;
    require_keys_eq!(parts.header.market, a.market.key(), BookError::WrongBook);
    require_keys_eq!(parts.header.exchange, a.exchange.key(), BookError::WrongBook);
    let position = {
        let info: &AccountInfo = a.margin_account.as_ref();
        require_keys_eq!(*info.owner, perpetual::ID, BookError::WrongOwner);
        let data = info.try_borrow_data()?;
        let (header, positions) = parse_margin_account(&data).map_err(|_| error!(BookError::NotMarginAccount))?;
        require_keys_eq!(header.exchange, a.exchange.key(), BookError::WrongExchange);
        find_position(positions, &a.market.key()).map(|i| positions[i].base_lots).unwrap_or(0)
    };
    require!(position != 0 && lots > 0, BookError::InvalidSize);
    let book_price = close_price_per_lot(&parts.bids.as_ref(), &parts.asks.as_ref(), position > 0, lots, parts.header.tick_size);
    let trader_bump = parts.header.trader_bump;
    drop(parts);
    drop(book);
    let bump = [trader_bump];
    let seeds: &[&[u8]] = &[TRADER_SEED, &bump];
    let accounts = EarlyDeleverage {
        exchange: a.exchange.to_account_info(),
        approval: a.approval.to_account_info(),
        trader_authority: a.trader_authority.to_account_info(),
        market: a.market.to_account_info(),
        oracle: a.oracle.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        counterparty: a.counterparty.to_account_info(),
        authority: a.authority.to_account_info(),
    };
    let signer = &[seeds];
    let cpi = CpiContext::new_with_signer(perpetual::ID, accounts, signer).with_remaining_accounts(ctx.remaining_accounts.to_vec());
    perpetual::cpi::early_deleverage(cpi, lots, book_price)
}

#[derive(Accounts)]
pub struct CloseBook<'info> {
    /// Receives the book's rent.
    #[account(mut, address = book.load()?.creator @ BookError::NotBookCreator)]
    pub creator: SystemAccount<'info>,
    #[account(mut, close = creator, constraint = book.load()?.market == market.key() @ BookError::WrongBook)]
    pub book: AccountLoader<'info, Book>,
    /// CHECK: the book's market, in final settlement, or already closed.
    pub market: UncheckedAccount<'info>,
}

/// Anyone, once the market is in final settlement (or already closed): its resting orders
/// can never fill (their reservations are cleared as positions settle), so the book closes
/// and its rent returns, whichever of market and book closes first.
pub fn close_book<'info>(ctx: Context<'info, CloseBook<'info>>) -> Result<()> {
    let market: &'info AccountInfo<'info> = ctx.accounts.market.as_ref();
    if *market.owner == perpetual::ID {
        let loader = AccountLoader::<Market>::try_from(market)?;
        require!(loader.load()?.status == MarketStatus::FinalSettlement as u8, BookError::MarketNotSettled);
    } else {
        // Closed: its lamports are gone and the runtime gave it back to the system program.
        require!(market.lamports() == 0, BookError::MarketNotSettled);
    }
    Ok(())
}
