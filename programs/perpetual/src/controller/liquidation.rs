//! Moving positions between accounts in liquidation, deleveraging and final settlement.
use anchor_lang::prelude::*;

use crate::controller::funding::settle_position;
use crate::error::{checked, PerpError};
use crate::events::ReservationsCleared;
use crate::math::fixed_point::{ceil_to_i64, floor_to_i64};
use crate::math::lots::long_part;
use crate::math::I80F48;
use crate::state::{find_position, MarginAccount, Market, Position};

/// Drops every open-order reservation of the account and starts a new reservation epoch.
/// Its resting orders, stamped with the old epoch, can then never fill: the book cancels
/// them when met, without a release, since nothing backs them any more.
pub fn clear_reservations(account: &Pubkey, header: &mut MarginAccount, positions: &mut [Position]) -> u64 {
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
    cleared
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
    settle_position(account, &mut header.collateral, &mut positions[j], market_key, market)?;
    Ok(j)
}
