//! `close_book`: closes the book of a settled market.
use anchor_lang::prelude::*;
use perpetual::state::{Market, MarketStatus};

use crate::error::BookError;
use crate::state::{Book, BookMut};

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

/// Anyone, once the market is in final settlement (or already closed) and every seat is
/// free (settled and revoked, so no maker's fills are lost): its resting orders can never
/// fill, so the book closes and its rent returns, whichever of market and book closes first.
pub fn handler<'info>(ctx: Context<'info, CloseBook<'info>>) -> Result<()> {
    {
        let book_info: &'info AccountInfo<'info> = ctx.accounts.book.as_ref();
        let mut book = BookMut::load(book_info)?;
        let parts = book.parts()?;
        require!(parts.seats.iter().all(|s| s.is_free()), BookError::SeatsStillOpen);
    }
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
