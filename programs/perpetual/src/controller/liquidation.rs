//! Moving positions between accounts in liquidation, deleveraging and final settlement.
use anchor_lang::prelude::*;

use crate::controller::funding::settle_position;
use crate::controller::seat::{require_no_seat, require_no_seats};
use crate::error::{checked, PerpError};
use crate::events::ReservationsCleared;
use crate::math::fixed_point::{ceil_to_i64, floor_to_i64};
use crate::math::lots::long_part;
use crate::math::I80F48;
use crate::state::{find_position, MarginAccount, Market, Position};

/// Drops every open-order reservation of the account and starts a new reservation epoch.
/// Its resting orders, stamped with the old epoch, can then never fill: the book cancels
/// them when met, without a release, since nothing backs them any more. A risk path acts on
/// the whole account, so an account still holding a seat allowance (whose pending fills
/// only its book knows) is refused until the book revokes it.
pub fn clear_reservations(account: &Pubkey, header: &mut MarginAccount, positions: &mut [Position]) -> Result<u64> {
    require_no_seats(positions)?;
    header.reservation_epoch = header.reservation_epoch.wrapping_add(1);
    let mut cleared = 0u64;
    for p in positions.iter_mut().filter(|p| !p.is_free()) {
        cleared = cleared.saturating_add(p.open_bid_lots).saturating_add(p.open_ask_lots);
        p.open_bid_lots = 0;
        p.open_ask_lots = 0;
    }
    if cleared > 0 {
        emit!(ReservationsCleared { margin_account: *account, lots: cleared });
    }
    Ok(cleared)
}

/// Moves `lots` of `from`'s position to `to` at `price_per_lot`, shrinking `from` toward
/// zero. Whoever pays pays the amount rounded up and whoever receives gets it rounded down;
/// the remainder goes to the market's fees. Funding of both must already be settled.
pub fn transfer_position(
    market: &mut Market,
    from_collateral: &mut i64,
    from: &mut Position,
    to_collateral: &mut i64,
    to: &mut Position,
    lots: u64,
    price_per_lot: I80F48,
) -> Result<()> {
    require!(lots > 0 && lots <= from.base_lots.unsigned_abs(), PerpError::LiquidationMustReduce);
    let q = checked(i64::try_from(lots).ok())?;
    let cash = checked(price_per_lot.checked_mul(I80F48::from_num(lots)))?;
    let (pay, receive) = (ceil_to_i64(cash)?, floor_to_i64(cash)?);
    let oi_before = long_part(from.base_lots) + long_part(to.base_lots);
    if from.base_lots > 0 {
        // `from` sells its long to `to`.
        from.base_lots -= q;
        to.base_lots = checked(to.base_lots.checked_add(q))?;
        *from_collateral = checked(from_collateral.checked_add(receive))?;
        *to_collateral = checked(to_collateral.checked_sub(pay))?;
    } else {
        // `from` buys back its short from `to`.
        from.base_lots += q;
        to.base_lots = checked(to.base_lots.checked_sub(q))?;
        *from_collateral = checked(from_collateral.checked_sub(pay))?;
        *to_collateral = checked(to_collateral.checked_add(receive))?;
    }
    market.fees_accrued = checked(market.fees_accrued.checked_add(pay - receive))?;
    let oi_after = long_part(from.base_lots) + long_part(to.base_lots);
    market.open_interest_lots =
        checked(market.open_interest_lots.checked_add(oi_after).and_then(|v| v.checked_sub(oi_before)))?;
    Ok(())
}

/// Checks the counterparty holds an opposite position of at least `lots`.
fn check_counterparty(pos: &Position, cp: Option<&Position>, lots: u64) -> Result<()> {
    let cp = cp.ok_or_else(|| error!(PerpError::InvalidCounterparty))?;
    require!(
        cp.base_lots != 0 && (cp.base_lots > 0) != (pos.base_lots > 0) && cp.base_lots.unsigned_abs() >= lots,
        PerpError::InvalidCounterparty
    );
    Ok(())
}

/// Finds the counterparty's position opposite to `pos` (at least `lots` of it), settles its
/// funding in the market and returns its slot.
pub fn settle_counterparty(
    pos: &Position,
    account: &Pubkey,
    header: &mut MarginAccount,
    positions: &mut [Position],
    lots: u64,
    market_key: &Pubkey,
    market: &mut Market,
) -> Result<usize> {
    let j = find_position(positions, market_key);
    check_counterparty(pos, j.map(|j| &positions[j]), lots)?;
    let j = j.ok_or_else(|| error!(PerpError::InvalidCounterparty))?;
    require_no_seat(&positions[j])?;
    settle_position(account, &mut header.collateral, &mut positions[j], market_key, market)?;
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn position(market: Pubkey, base_lots: i64, bids: u64, asks: u64) -> Position {
        let mut p = Position::zeroed();
        p.market = market;
        p.base_lots = base_lots;
        p.open_bid_lots = bids;
        p.open_ask_lots = asks;
        p
    }

    #[test]
    fn clearing_reservations_moves_the_epoch_and_counts_lots() {
        let key = Pubkey::new_unique();
        let mut header = MarginAccount::zeroed();
        let mut ps = [position(key, 1, 2, 3), Position::zeroed(), position(Pubkey::new_unique(), 0, 0, 4)];
        assert_eq!(clear_reservations(&key, &mut header, &mut ps).unwrap(), 9);
        assert_eq!(header.reservation_epoch, 1);
        assert!(ps.iter().all(|p| p.open_bid_lots == 0 && p.open_ask_lots == 0));
        assert_eq!(clear_reservations(&key, &mut header, &mut ps).unwrap(), 0);
        assert_eq!(header.reservation_epoch, 2);
    }

    #[test]
    fn a_transfer_rounds_for_the_protocol_and_keeps_open_interest() {
        let key = Pubkey::new_unique();
        let mut m = Market::zeroed();
        // A long of 10 sells 4 to a long of 5 at 2.5 per lot: open interest stays 15.
        m.open_interest_lots = 15;
        let (mut from, mut to) = (position(key, 10, 0, 0), position(key, 5, 0, 0));
        let (mut fc, mut tc) = (0i64, 0i64);
        let price = I80F48::from_num(2.5);
        transfer_position(&mut m, &mut fc, &mut from, &mut tc, &mut to, 4, price).unwrap();
        assert_eq!(
            (from.base_lots, to.base_lots, fc, tc, m.fees_accrued, m.open_interest_lots),
            (6, 9, 10, -10, 0, 15)
        );
        // A short of 3 buys back 3 at 2.5 from a flat account: it pays 7.5 rounded up, the flat
        // account receives 7 and is short 3 after, the unit left goes to fees. Nobody is long.
        let (mut from, mut to) = (position(key, -3, 0, 0), position(key, 0, 0, 0));
        let (mut fc, mut tc) = (0i64, 0i64);
        m.open_interest_lots = 0;
        transfer_position(&mut m, &mut fc, &mut from, &mut tc, &mut to, 3, price).unwrap();
        assert_eq!((from.base_lots, to.base_lots, fc, tc, m.fees_accrued, m.open_interest_lots), (0, -3, -8, 7, 1, 0));
        // Moving more than the position, or nothing, is refused.
        for lots in [0, 7] {
            let r = transfer_position(&mut m, &mut fc, &mut from, &mut tc, &mut to, lots, price);
            assert_eq!(r.err(), Some(PerpError::LiquidationMustReduce.into()));
        }
    }
}
