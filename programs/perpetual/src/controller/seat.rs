//! Seats: the market's book keeps each maker's fills until they settle here, within an
//! allowance that health counts at its worst case (`math::health::SeatAllowance`).
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::events::{FundingSettled, SeatSettled};
use crate::math::funding;
use crate::math::I80F48;
use crate::state::{Market, Position};
use crate::trader_api::SeatPending;

/// Only the program that registered the market's book keeps its seats.
pub fn require_book_trader(market: &Market, trader_authority: &Pubkey) -> Result<()> {
    require!(market.book != Pubkey::default() && market.book_trader == *trader_authority, PerpError::NotTheMarketsBook);
    Ok(())
}

/// A position with a seat allowance changes only through its book (the seat tracks it):
/// risk paths and other trader programs wait until the allowance is revoked.
pub fn require_no_seat(pos: &Position) -> Result<()> {
    require!(!pos.has_seat_allowance(), PerpError::SeatAllowanceOpen);
    Ok(())
}

/// The same for every position of an account.
pub fn require_no_seats(positions: &[Position]) -> Result<()> {
    positions.iter().filter(|p| !p.is_free()).try_for_each(require_no_seat)
}

/// Applies a seat's pending fills to the account's position: funding of the position and
/// of the pending lots (each from its own fill's index) settles in one amount rounded
/// against the account, the pending cash and fees move into collateral, the lots into the
/// position, and the allowance shrinks by the lots settled. The market's pending totals
/// and funding pool follow; open interest is unchanged (it already counts pending lots).
pub fn settle_seat(
    account: &Pubkey,
    collateral: &mut i64,
    pos: &mut Position,
    market_key: &Pubkey,
    market: &mut Market,
    pending: &SeatPending,
) -> Result<()> {
    require!(
        pending.bid_lots <= pos.seat_bid_lots && pending.ask_lots <= pos.seat_ask_lots,
        PerpError::SeatAllowanceExceeded
    );
    let bid = checked(i64::try_from(pending.bid_lots).ok())?;
    let ask = checked(i64::try_from(pending.ask_lots).ok())?;
    // Health counted the corner where every bid paid its limit and every ask got its limit;
    // the fills may only have been better for the maker. (Limits only change after a settle.)
    let product = |lots: u64, limit: u64| checked((lots as i128).checked_mul(limit as i128));
    let worst_quote = checked(
        product(pending.ask_lots, pos.seat_ask_limit)?.checked_sub(product(pending.bid_lots, pos.seat_bid_limit)?),
    )?;
    require!(pending.quote as i128 >= worst_quote, PerpError::SeatFillBeyondLimit);
    let net = checked(bid.checked_sub(ask))?;
    let index = market.funding_index.get();
    let owed_position = funding::owed(index, pos.cached_funding_index.get(), pos.base_lots)?;
    let owed_pending = funding::pending_owed(index, net, I80F48::from_bits(pending.funding_weight_bits))?;
    let funding_change = funding::collateral_change(checked(owed_position.checked_add(owed_pending))?)?;
    let cash = checked(pending.quote.checked_sub(pending.fees))?;

    *collateral = checked(collateral.checked_add(funding_change).and_then(|c| c.checked_add(cash)))?;
    market.funding_pool = checked(market.funding_pool.checked_sub(funding_change))?;
    market.pending_seat_cash = checked(market.pending_seat_cash.checked_sub(cash))?;
    market.pending_seat_lots = checked(market.pending_seat_lots.checked_sub(net))?;
    pos.base_lots = checked(pos.base_lots.checked_add(net))?;
    pos.cached_funding_index.set(index);
    pos.seat_bid_lots -= pending.bid_lots;
    pos.seat_ask_lots -= pending.ask_lots;
    // A side with no lots left has no limit (the book mirrors it).
    if pos.seat_bid_lots == 0 {
        pos.seat_bid_limit = 0;
    }
    if pos.seat_ask_lots == 0 {
        pos.seat_ask_limit = 0;
    }
    // Nothing is pending any more: later fills owe funding from now.
    pos.seat_funding_variation = market.funding_variation;
    if funding_change != 0 {
        emit!(FundingSettled { margin_account: *account, market: *market_key, amount: funding_change });
    }
    if !pending.is_empty() {
        emit!(SeatSettled {
            market: *market_key,
            margin_account: *account,
            bid_lots: pending.bid_lots,
            ask_lots: pending.ask_lots,
            cash,
            fees: pending.fees,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn market_at(index: f64) -> Market {
        let mut m = Market::zeroed();
        m.funding_index.set(I80F48::from_num(index));
        m.funding_variation.set(I80F48::from_num(7));
        m
    }

    #[test]
    fn settling_a_seat_moves_lots_cash_fees_and_funding() {
        let key = Pubkey::new_unique();
        let mut m = market_at(2.5);
        // A long of 10 cached at index 2; its seat bought 4 (at index 1.5) and sold 1 (at
        // index 2) for a net quote of -4 * 100 + 1 * 103 = -297, fees 3.
        let mut pos = Position::zeroed();
        pos.base_lots = 10;
        pos.cached_funding_index.set(I80F48::from_num(2));
        (pos.seat_bid_lots, pos.seat_ask_lots) = (6, 1);
        (pos.seat_bid_limit, pos.seat_ask_limit) = (100, 103);
        m.pending_seat_lots = 3;
        m.pending_seat_cash = -300;
        let weight = I80F48::from_num(4) * I80F48::from_num(1.5) - I80F48::from_num(2);
        let pending =
            SeatPending { bid_lots: 4, ask_lots: 1, quote: -297, fees: 3, funding_weight_bits: weight.to_bits() };
        let mut collateral = 1_000i64;
        settle_seat(&key, &mut collateral, &mut pos, &key, &mut m, &pending).unwrap();
        // Funding: the position owes 10 * 0.5 = 5; the pending lots 4 * 1 - 1 * 0.5 = 3.5;
        // together 8.5, paid rounded up: 9.
        assert_eq!(collateral, 1_000 - 9 - 297 - 3);
        assert_eq!(m.funding_pool, 9);
        assert_eq!((pos.base_lots, pos.seat_bid_lots, pos.seat_ask_lots), (13, 2, 0));
        assert_eq!((m.pending_seat_lots, m.pending_seat_cash), (0, 0));
        assert_eq!(pos.cached_funding_index.get(), I80F48::from_num(2.5));
        assert_eq!(pos.seat_funding_variation.get(), I80F48::from_num(7));
    }

    #[test]
    fn a_seat_never_settles_more_than_its_allowance() {
        let key = Pubkey::new_unique();
        let mut m = market_at(0.0);
        let mut pos = Position::zeroed();
        pos.seat_bid_lots = 2;
        let pending = SeatPending { bid_lots: 3, ..SeatPending::default() };
        let mut collateral = 0i64;
        assert_eq!(
            settle_seat(&key, &mut collateral, &mut pos, &key, &mut m, &pending).unwrap_err(),
            PerpError::SeatAllowanceExceeded.into()
        );
        assert_eq!((collateral, pos.base_lots, pos.seat_bid_lots), (0, 0, 2));
        assert!(require_no_seat(&pos).is_err());
    }

    #[test]
    fn a_seat_never_settles_fills_beyond_its_limits() {
        let key = Pubkey::new_unique();
        let mut m = market_at(0.0);
        let mut pos = Position::zeroed();
        (pos.seat_bid_lots, pos.seat_ask_lots) = (2, 2);
        (pos.seat_bid_limit, pos.seat_ask_limit) = (100, 110);
        // Bought 2 at most at 100 and sold 1 at least at 110: the quote is at least -90.
        let at_limit = SeatPending { bid_lots: 2, ask_lots: 1, quote: -90, ..SeatPending::default() };
        let beyond = SeatPending { quote: -91, ..at_limit };
        let mut collateral = 0i64;
        assert_eq!(
            settle_seat(&key, &mut collateral, &mut pos, &key, &mut m, &beyond).unwrap_err(),
            PerpError::SeatFillBeyondLimit.into()
        );
        assert_eq!((collateral, pos.base_lots), (0, 0));
        settle_seat(&key, &mut collateral, &mut pos, &key, &mut m, &at_limit).unwrap();
        assert_eq!((collateral, pos.base_lots), (-90, 1));
        assert!(require_no_seat(&Position::zeroed()).is_ok());
    }
}
