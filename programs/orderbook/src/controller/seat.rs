//! Seats: each account's ledger at the book (`docs/seats.md`). The book keeps a seat in step
//! with the allowance `perpetual` holds for the account's position: every grant, settlement
//! and revoke goes through here, on both sides at once.
use anchor_lang::prelude::*;
use perpetual::trader_api::{AllowanceChange, SeatAllowanceArgs, SeatPending};

use crate::error::BookError;
use crate::events::{CancelReason, SeatFreed};
use crate::perp_cpi::PerpAccounts;
use crate::state::{Seat, Side};

/// The seat `margin_account` holds: the one at `hint` if it is the account's, else the one
/// a scan finds (seats are unique per account).
pub fn find_seat(seats: &[Seat], hint: u32, margin_account: &Pubkey) -> Option<u32> {
    if seats.get(hint as usize).is_some_and(|s| s.margin_account == *margin_account) {
        return Some(hint);
    }
    seats.iter().position(|s| s.margin_account == *margin_account).map(|i| i as u32)
}

/// The account's seat, claiming the free one at `hint` for it if it has none. `position`:
/// its settled position in the market (it has no seat, so nothing is pending).
pub fn claim_seat(seats: &mut [Seat], hint: u32, margin_account: &Pubkey, position: i64) -> Result<u32> {
    if let Some(i) = find_seat(seats, hint, margin_account) {
        return Ok(i);
    }
    let seat = seats.get_mut(hint as usize).ok_or_else(|| error!(BookError::SeatUnavailable))?;
    require!(seat.is_free(), BookError::SeatUnavailable);
    *seat = Seat { margin_account: *margin_account, position, generation: seat.generation, ..Seat::default() };
    Ok(hint)
}

/// Mirrors what `perpetual` did when it settled `pending` into the account: the lots join
/// the position and leave the allowance.
pub fn settled(seat: &mut Seat, pending: &SeatPending) {
    seat.position = seat.position.saturating_add(pending.bid_lots as i64 - pending.ask_lots as i64);
    seat.allowed_bid_lots = seat.allowed_bid_lots.saturating_sub(pending.bid_lots);
    seat.allowed_ask_lots = seat.allowed_ask_lots.saturating_sub(pending.ask_lots);
    if seat.allowed_bid_lots == 0 {
        seat.bid_limit = 0;
    }
    if seat.allowed_ask_lots == 0 {
        seat.ask_limit = 0;
    }
    seat.clear_pending();
}

/// Frees a seat whose allowance is used up after a settlement (nothing can rest or be
/// pending on it then), so that it no longer has to mirror the account's position.
pub fn free_if_spent(seat: &mut Seat, book: &Pubkey) {
    if !seat.is_free() && seat.allowed_bid_lots == 0 && seat.allowed_ask_lots == 0 && seat.is_idle() {
        free_seat(seat, book, CancelReason::Owner);
    }
}

/// Voids every order of the seat and frees it: its orders stay in the trees until met or
/// pruned, and no longer count (`matching::is_live`).
pub fn free_seat(seat: &mut Seat, book: &Pubkey, reason: CancelReason) {
    let margin_account = seat.margin_account;
    let generation = seat.generation.wrapping_add(1);
    *seat = Seat { generation, ..Seat::default() };
    emit!(SeatFreed { book: *book, margin_account, reason });
}

/// The allowance a seat asks for: lots per side and limits in quote native per lot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance {
    pub bid_lots: u64,
    pub ask_lots: u64,
    pub bid_limit: u64,
    pub ask_limit: u64,
}

impl Allowance {
    /// What the seat holds now.
    pub fn of(seat: &Seat) -> Self {
        Self {
            bid_lots: seat.allowed_bid_lots,
            ask_lots: seat.allowed_ask_lots,
            bid_limit: seat.bid_limit,
            ask_limit: seat.ask_limit,
        }
    }

    /// This allowance grown so that `lots` more rest on `side` at `price_per_lot` on top of
    /// `open` resting lots (pending fills settle with the grant, so they need no room).
    pub fn covering(mut self, side: Side, open: u64, lots: u64, price_per_lot: u64) -> Result<Self> {
        let needed = open.checked_add(lots).ok_or_else(|| error!(BookError::MathOverflow))?;
        match side {
            Side::Bid => {
                self.bid_lots = self.bid_lots.max(needed);
                self.bid_limit = if open > 0 { self.bid_limit.max(price_per_lot) } else { price_per_lot };
            }
            Side::Ask => {
                self.ask_lots = self.ask_lots.max(needed);
                self.ask_limit = if open > 0 { self.ask_limit.min(price_per_lot) } else { price_per_lot };
            }
        }
        Ok(self)
    }
}

/// Settles the seat and sets its allowance in `perpetual` (one CPI; the owner or delegate
/// signs), then mirrors it. Resting orders stay covered: the lots cover what rests, and a
/// limit moves only against the account while orders rest on its side.
pub fn grant<'info>(
    perp: &PerpAccounts<'_, 'info>,
    health: &[AccountInfo<'info>],
    seat: &mut Seat,
    allowance: Allowance,
) -> Result<()> {
    require!(
        allowance.bid_lots >= seat.open_bid_lots && allowance.ask_lots >= seat.open_ask_lots,
        BookError::AllowanceBelowOrders
    );
    require!(
        (seat.open_bid_lots == 0 || allowance.bid_limit >= seat.bid_limit)
            && (seat.open_ask_lots == 0 || allowance.ask_limit <= seat.ask_limit),
        BookError::AllowanceBelowOrders
    );
    let pending = seat.pending();
    let args = SeatAllowanceArgs {
        pending,
        change: AllowanceChange::Owner,
        bid_lots: allowance.bid_lots,
        ask_lots: allowance.ask_lots,
        bid_limit: allowance.bid_limit,
        ask_limit: allowance.ask_limit,
    };
    perp.set_allowance(health, args)?;
    settled(seat, &pending);
    seat.allowed_bid_lots = allowance.bid_lots;
    seat.allowed_ask_lots = allowance.ask_lots;
    seat.bid_limit = if allowance.bid_lots > 0 { allowance.bid_limit } else { 0 };
    seat.ask_limit = if allowance.ask_lots > 0 { allowance.ask_limit } else { 0 };
    Ok(())
}

/// Settles the seat and zeroes its allowance in `perpetual` (`Revoke`: the account is below
/// maintenance or the market settled; `Reclaim`: the seat is idle), then frees the seat.
pub fn release<'info>(
    perp: &PerpAccounts<'_, 'info>,
    health: &[AccountInfo<'info>],
    seat: &mut Seat,
    change: AllowanceChange,
    book: &Pubkey,
) -> Result<()> {
    let args =
        SeatAllowanceArgs { pending: seat.pending(), change, bid_lots: 0, ask_lots: 0, bid_limit: 0, ask_limit: 0 };
    perp.set_allowance(health, args)?;
    let reason = match change {
        AllowanceChange::Reclaim => CancelReason::Owner,
        _ => CancelReason::SeatRevoked,
    };
    free_seat(seat, book, reason);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_is_claimed_once_per_account() {
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut seats = vec![Seat::default(); 3];
        assert_eq!(claim_seat(&mut seats, 1, &a, 5).unwrap(), 1);
        assert_eq!(seats[1].position, 5);
        // The account's own seat is found whatever the hint; another account cannot take it.
        assert_eq!(claim_seat(&mut seats, 2, &a, 5).unwrap(), 1);
        assert!(claim_seat(&mut seats, 1, &b, 0).is_err());
        assert_eq!(claim_seat(&mut seats, 0, &b, 0).unwrap(), 0);
        assert!(claim_seat(&mut seats, 9, &Pubkey::new_unique(), 0).is_err());
    }

    #[test]
    fn settling_moves_pending_lots_into_the_position_and_out_of_the_allowance() {
        let mut seat = Seat { position: 3, allowed_bid_lots: 10, allowed_ask_lots: 4, ..Seat::default() };
        seat.pending_bid_lots = 6;
        seat.pending_ask_lots = 1;
        seat.pending_quote = -500;
        let pending = seat.pending();
        settled(&mut seat, &pending);
        assert_eq!((seat.position, seat.allowed_bid_lots, seat.allowed_ask_lots), (8, 4, 3));
        assert!(seat.pending().is_empty());
    }

    #[test]
    fn an_allowance_grows_to_cover_what_rests_and_its_limit_only_moves_against_the_account() {
        let base = Allowance { bid_lots: 5, ask_lots: 0, bid_limit: 100, ask_limit: 0 };
        // Nothing rests: the limit follows the new order.
        assert_eq!(base.covering(Side::Bid, 0, 3, 90).unwrap().bid_limit, 90);
        // Bids rest: a lower price keeps the higher limit, a higher one raises it.
        let grown = base.covering(Side::Bid, 4, 3, 90).unwrap();
        assert_eq!((grown.bid_lots, grown.bid_limit), (7, 100));
        assert_eq!(base.covering(Side::Bid, 4, 1, 120).unwrap().bid_limit, 120);
        let asks = base.covering(Side::Ask, 0, 2, 110).unwrap();
        assert_eq!((asks.ask_lots, asks.ask_limit, asks.bid_lots), (2, 110, 5));
    }
}
