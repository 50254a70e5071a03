use anchor_lang::prelude::*;

use crate::error::checked;

pub const PPM_DENOM: i128 = 1_000_000;

/// Quote value of a fill: lots times price per lot, exact in native units.
#[track_caller]
pub fn notional(base_lots: u64, price_per_lot: u64) -> Result<i64> {
    let value = checked((base_lots as i128).checked_mul(price_per_lot as i128))?;
    checked(i64::try_from(value).ok())
}

/// Fee for a fill at `rate_ppm` (parts per million of notional).
/// A positive rate is a charge rounded up; a negative rate is a rebate rounded down in
/// magnitude. Either way the rounding keeps the remainder with the protocol.
/// Returns the amount the account pays (negative: it receives).
pub fn fee(notional: i64, rate_ppm: i32) -> Result<i64> {
    let scaled = checked((notional as i128).checked_mul(rate_ppm as i128))?;
    let fee = if scaled >= 0 {
        // ceil for charges
        checked(scaled.checked_add(PPM_DENOM - 1))? / PPM_DENOM
    } else {
        // rebate: -(floor(|scaled| / denom))
        -((-scaled) / PPM_DENOM)
    };
    checked(i64::try_from(fee).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_round_up_rebates_round_down() {
        assert_eq!(fee(1_000_001, 500).unwrap(), 501); // 500.0005 -> 501
        assert_eq!(fee(1_000_001, -200).unwrap(), -200); // 200.0002 -> 200
        assert_eq!(fee(0, 500).unwrap(), 0);
        assert_eq!(fee(999, 1).unwrap(), 1);
        assert_eq!(fee(999, -1).unwrap(), 0);
    }

    #[test]
    fn notional_is_exact_and_checked() {
        assert_eq!(notional(7, 1_000_003).unwrap(), 7_000_021);
        assert!(notional(u64::MAX, u64::MAX).is_err());
    }
}
