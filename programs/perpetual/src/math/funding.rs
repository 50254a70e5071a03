use anchor_lang::prelude::*;

use crate::error::checked;
use crate::math::fixed_point::{floor_to_i64, I80F48};

/// Funding rates are given in parts per billion of the index price per hour.
pub const RATE_DENOM_PER_SECOND: i64 = 1_000_000_000 * 3_600;

/// `T * R * P`: how much the funding index moves over `elapsed_secs`, in quote native per lot.
pub fn index_delta(elapsed_secs: i64, rate_ppbh: i64, price_per_lot: I80F48) -> Result<I80F48> {
    let rate_time = checked(elapsed_secs.checked_mul(rate_ppbh))?;
    checked(
        price_per_lot
            .checked_mul(I80F48::from_num(rate_time))
            .and_then(|v| v.checked_div(I80F48::from_num(RATE_DENOM_PER_SECOND))),
    )
}

/// Exact funding an account owes since it cached `cached_index`; positive means it pays.
pub fn owed(index_now: I80F48, cached_index: I80F48, base_lots: i64) -> Result<I80F48> {
    checked(index_now.checked_sub(cached_index).and_then(|d| d.checked_mul(I80F48::from_num(base_lots))))
}

/// Exact funding owed by fills held in a book seat since they were made: each signed lot
/// owes `index_now - I_fill`, so the sum is `index_now * net_lots - weight`, where `weight`
/// is `sum(signed lots * I_fill)`. Positive means the seat's owner pays.
pub fn pending_owed(index_now: I80F48, net_lots: i64, weight: I80F48) -> Result<I80F48> {
    checked(index_now.checked_mul(I80F48::from_num(net_lots)).and_then(|v| v.checked_sub(weight)))
}

/// What settling `owed` does to the account's collateral, in native units.
/// A payer pays the amount rounded up; a receiver gets it rounded down. The
/// difference stays in the market's funding pool, on the protocol's side.
/// Both are `floor(-owed)`: a payer's `-ceil(owed)` and a receiver's `floor(|owed|)`.
pub fn collateral_change(owed: I80F48) -> Result<i64> {
    floor_to_i64(checked(owed.checked_neg())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_delta_is_t_r_p() {
        // 36_000 ppb/h = 1e-8 per second; one hour at 1e6 per lot -> 36 per lot.
        let d = index_delta(3600, 36_000, I80F48::from_num(1_000_000)).unwrap();
        assert_eq!(d, I80F48::from_num(36));
        let d = index_delta(3600, -36_000, I80F48::from_num(1_000_000)).unwrap();
        assert_eq!(d, I80F48::from_num(-36));
    }

    #[test]
    fn settlement_rounds_for_protocol() {
        let owed_long = owed(I80F48::from_num(1.5), I80F48::ZERO, 3).unwrap(); // 4.5
        assert_eq!(collateral_change(owed_long).unwrap(), -5);
        let owed_short = owed(I80F48::from_num(1.5), I80F48::ZERO, -3).unwrap(); // -4.5
        assert_eq!(collateral_change(owed_short).unwrap(), 4);
        // pays + receives never creates value
        assert!(collateral_change(owed_long).unwrap() + collateral_change(owed_short).unwrap() <= 0);
    }

    #[test]
    fn pending_fills_owe_from_their_own_index() {
        // Bought 3 at index 1.5 and sold 1 at index 2: at index 2.5 the seat owes
        // 3 * (2.5 - 1.5) - 1 * (2.5 - 2) = 2.5.
        let weight = I80F48::from_num(3) * I80F48::from_num(1.5) - I80F48::from_num(2);
        assert_eq!(pending_owed(I80F48::from_num(2.5), 2, weight).unwrap(), I80F48::from_num(2.5));
        assert!(pending_owed(I80F48::MAX, 2, I80F48::ZERO).is_err());
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(index_delta(i64::MAX, 2, I80F48::ONE).is_err());
        assert!(owed(I80F48::MAX, I80F48::MIN, 1).is_err());
    }
}
