//! `settle_seats`: anyone settles seats' pending fills into their margin accounts (the
//! keeper's crank), so that `perpetual` sees every maker's position.
use anchor_lang::prelude::*;

use crate::controller::seat::{free_if_spent, settled};
use crate::error::BookError;
use crate::perp_cpi::TraderCall;
use crate::state::BookMut;

#[derive(Accounts)]
pub struct SettleSeats<'info> {
    /// CHECK: loaded by `BookMut` (owner, type); its market and exchange are checked.
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual market.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual exchange.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: this program's approval in perpetual; perpetual checks it.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's `trader` PDA, which signs the CPI.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

/// Settles the seats at `seats` (indexes into the seat table). Remaining accounts: each
/// seat's margin account, in the same order.
pub fn handler<'info>(ctx: Context<'info, SettleSeats<'info>>, seats: Vec<u32>) -> Result<()> {
    let a = &*ctx.accounts;
    let book_info: &'info AccountInfo<'info> = a.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let parts = book.parts()?;
    parts.header.check_venue(a.market.key, a.exchange.key)?;
    require!(seats.len() == ctx.remaining_accounts.len(), BookError::SeatAccountsMismatch);
    let mut pending = Vec::with_capacity(seats.len());
    for (i, info) in seats.iter().zip(ctx.remaining_accounts) {
        let seat = parts.seats.get(*i as usize).ok_or_else(|| error!(BookError::SeatOutOfRange))?;
        require!(!seat.is_free() && seat.margin_account == *info.key, BookError::SeatUnavailable);
        pending.push(seat.pending());
    }
    let call = TraderCall {
        exchange: a.exchange.as_ref(),
        approval: a.approval.as_ref(),
        trader_authority: a.trader_authority.as_ref(),
        market: a.market.as_ref(),
        trader_bump: parts.header.trader_bump,
    };
    call.settle_seats(ctx.remaining_accounts, pending.clone())?;
    for (i, p) in seats.iter().zip(&pending) {
        let seat = &mut parts.seats[*i as usize];
        settled(seat, p);
        free_if_spent(seat, &book_info.key());
    }
    Ok(())
}
