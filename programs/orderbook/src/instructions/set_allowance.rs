//! `set_allowance`: a maker sets what its seat may fill before the next settlement, so
//! that later places and cancels within it need no CPI.
use anchor_lang::prelude::*;

use crate::controller::seat::{claim_seat, free_seat, grant, Allowance};
use crate::error::BookError;
use crate::events::CancelReason;
use crate::order_accounts::OrderAccounts;
use crate::state::BookMut;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowanceArgs {
    /// The account's seat, or a free one to claim.
    pub seat_hint: u32,
    /// Lots that may fill per side before the next settlement (resting lots included).
    pub bid_lots: u64,
    pub ask_lots: u64,
    /// Bids fill at most at this price, asks at least at this one, in ticks.
    pub bid_limit_ticks: u64,
    pub ask_limit_ticks: u64,
}

/// The owner or delegate signs. Settles the seat's pending fills, then sets the allowance in
/// `perpetual` (a larger one needs initial margin with it filled at its worst). An allowance
/// of zero on both sides with nothing resting gives the seat up. Remaining accounts: the
/// account's health accounts.
pub fn handler<'info>(ctx: Context<'info, OrderAccounts<'info>>, args: AllowanceArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    let placer = accounts.check_authority()?;
    let book_info: &'info AccountInfo<'info> = accounts.book.as_ref();
    let mut book = BookMut::load(book_info)?;
    let parts = book.parts()?;
    accounts.check_book(parts.header)?;
    let tick = parts.header.tick_size;
    let perp = accounts.perp(parts.header.trader_bump);
    let key = accounts.margin_account.key();
    let i = claim_seat(parts.seats, args.seat_hint, &key, placer.base_lots)?;
    let overflow = || error!(BookError::MathOverflow);
    let allowance = Allowance {
        bid_lots: args.bid_lots,
        ask_lots: args.ask_lots,
        bid_limit: args.bid_limit_ticks.checked_mul(tick).ok_or_else(overflow)?,
        ask_limit: args.ask_limit_ticks.checked_mul(tick).ok_or_else(overflow)?,
    };
    let seat = &mut parts.seats[i as usize];
    grant(&perp, ctx.remaining_accounts, seat, allowance)?;
    if args.bid_lots == 0 && args.ask_lots == 0 && seat.order_count == 0 {
        free_seat(seat, &book_info.key(), CancelReason::Owner);
    }
    Ok(())
}
