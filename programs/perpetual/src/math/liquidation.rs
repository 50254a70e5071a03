//! Liquidation and early-deleveraging math: prices, sizes and fees, nothing stored.
use anchor_lang::prelude::*;

use crate::error::checked;
use crate::math::fixed_point::{ceil_to_i64, mul_bps, BPS_DENOM};
use crate::math::I80F48;

/// `price * (1 - bps)` for a long being taken over, `price * (1 + bps)` for a short: the
/// side that favours the account taking the position.
pub fn discounted(price: I80F48, long: bool, bps: u16) -> Result<I80F48> {
    let d = mul_bps(price, bps)?;
    checked(if long { price.checked_sub(d) } else { price.checked_add(d) })
}

/// Lots a partial liquidation must move so that maintenance health `h0` (negative) reaches
/// `buffer` times the remaining requirement `r0`. Each lot at mark `p` gains
/// `p * (mm - discount - fee)` of health and drops `p * mm` of requirement:
/// `q >= (b*r0 - h0) / (p * (mm - d - f + b*mm))`, all rates as fractions.
pub fn lots_to_restore(
    h0: I80F48,
    r0: I80F48,
    p: I80F48,
    mm_bps: u16,
    discount_bps: u16,
    fee_bps: u16,
    buffer_bps: u16,
    position_lots: u64,
) -> Result<u64> {
    let bps = |v: u16| I80F48::from_num(v) / I80F48::from_num(BPS_DENOM);
    let (mm, d, f, b) = (bps(mm_bps), bps(discount_bps), bps(fee_bps), bps(buffer_bps));
    let gain = mm - d - f;
    if gain <= 0 {
        return Ok(position_lots);
    }
    let need = checked(b.checked_mul(r0).and_then(|v| v.checked_sub(h0)))?;
    if need <= 0 {
        return Ok(0);
    }
    let per_lot = checked(p.checked_mul(gain.checked_add(b * mm).unwrap_or(I80F48::MAX)))?;
    let q = checked(need.checked_div(per_lot).and_then(|v| v.checked_ceil()))?;
    // More lots than fit in u64 means the whole position.
    Ok(q.checked_to_num::<u64>().unwrap_or(u64::MAX).min(position_lots))
}

/// The early-deleveraging condition from the listings paper, for `lots` of a position
/// (`long` or short) closed through a book at `book_price_per_lot` when the mark is `mark`:
/// the book executes worse than the mark, and the account's `equity` cannot cover that loss
/// plus the liquidation fee (`fee_bps` of notional at the mark), so the insurance fund would
/// pay. Returns the fee when both hold.
pub fn early_deleverage_fee(
    equity: I80F48,
    mark: I80F48,
    book_price_per_lot: u64,
    long: bool,
    lots: u64,
    fee_bps: u16,
) -> Result<Option<i64>> {
    let book = I80F48::from_num(book_price_per_lot);
    let slippage = if long { mark - book } else { book - mark };
    if slippage <= 0 {
        return Ok(None);
    }
    let notional = checked(mark.checked_mul(I80F48::from_num(lots)))?;
    let fee = ceil_to_i64(mul_bps(notional, fee_bps)?)?;
    // A book that cannot take the size prices it at 0 or u64::MAX: that loss may not fit, and
    // it only needs to exceed the equity, so it saturates.
    let loss = slippage.saturating_mul(I80F48::from_num(lots)).saturating_add(I80F48::from_num(fee));
    Ok((equity < loss).then_some(fee))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_liquidation_size_restores_the_buffer() {
        // Long 100 lots at mark 100, maintenance 5%: requirement 500. Health -100.
        // gain per lot 100 * (0.05 - 0.01 - 0.01) = 3; requirement drop 100*0.05*0.1 = 0.5 per lot.
        // q >= (0.1*500 + 100) / (100 * (0.03 + 0.005)) = 150 / 3.5 = 42.86 -> 43.
        let q = lots_to_restore(
            I80F48::from_num(-100),
            I80F48::from_num(500),
            I80F48::from_num(100),
            500,
            100,
            100,
            1_000,
            100,
        )
        .unwrap();
        assert_eq!(q, 43);
        // Health after: -100 + 43*3 = 29; requirement 500 - 43*5 = 285; 29 >= 28.5.
        assert!(I80F48::from_num(-100 + 43 * 3) >= I80F48::from_num(285) / 10);
        // A discount as large as the margin: everything goes.
        assert_eq!(
            lots_to_restore(I80F48::from_num(-1), I80F48::from_num(5), I80F48::ONE, 500, 400, 100, 0, 7).unwrap(),
            7
        );
    }

    #[test]
    fn early_deleverage_needs_a_bad_book_and_a_thin_margin() {
        let mark = I80F48::from_num(100);
        // Book at 90 for 10 lots of a long: loss 100 + fee 2% of 1000 = 20 -> 120.
        assert_eq!(early_deleverage_fee(I80F48::from_num(119), mark, 90, true, 10, 200).unwrap(), Some(20));
        assert_eq!(early_deleverage_fee(I80F48::from_num(120), mark, 90, true, 10, 200).unwrap(), None);
        // A book at or better than the mark never triggers it.
        assert_eq!(early_deleverage_fee(I80F48::from_num(-5), mark, 100, true, 10, 200).unwrap(), None);
        assert_eq!(early_deleverage_fee(I80F48::from_num(-5), mark, 110, false, 10, 200).unwrap(), Some(20));
        assert_eq!(early_deleverage_fee(I80F48::from_num(-5), mark, 90, false, 10, 200).unwrap(), None);
        // A short buying back at 110: loss 100 + fee 20, the same threshold as the long's.
        assert_eq!(early_deleverage_fee(I80F48::from_num(119), mark, 110, false, 10, 200).unwrap(), Some(20));
        assert_eq!(early_deleverage_fee(I80F48::from_num(120), mark, 110, false, 10, 200).unwrap(), None);
    }

    #[test]
    fn discount_favours_the_taker() {
        assert_eq!(discounted(I80F48::from_num(100), true, 100).unwrap(), I80F48::from_num(99));
        assert_eq!(discounted(I80F48::from_num(100), false, 100).unwrap(), I80F48::from_num(101));
    }
}
