use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fixed_point::{pow10, I80F48};

/// Converts an oracle price (quote per whole base unit, `price * 10^expo`) into
/// quote native units per base lot.
pub fn price_per_lot(
    price: i64,
    expo: i32,
    base_decimals: u8,
    quote_decimals: u8,
    base_lot_size: u64,
) -> Result<I80F48> {
    if price <= 0 {
        return err!(PerpError::NonPositiveOraclePrice);
    }
    let shift = checked(expo.checked_add(quote_decimals as i32).and_then(|v| v.checked_sub(base_decimals as i32)))?;
    let lots = I80F48::from_num(price).checked_mul(I80F48::from_num(base_lot_size));
    let lots = checked(lots)?;
    if shift >= 0 {
        checked(lots.checked_mul(pow10(shift as u32)?))
    } else {
        checked(lots.checked_div(pow10(shift.unsigned_abs())?))
    }
}

/// True when `conf / price` is wider than `max_conf_bps`.
pub fn confidence_too_wide(price: i64, conf: u64, max_conf_bps: u16) -> bool {
    (conf as i128) * 10_000 > (price as i128) * (max_conf_bps as i128)
}

/// True when `price_per_lot` lies within `band_bps` of `reference` (false on overflow).
pub fn within_band(price_per_lot: u64, reference: I80F48, band_bps: u16) -> bool {
    let Some(p) = I80F48::checked_from_num(price_per_lot) else { return false };
    let band = reference.checked_mul_int(band_bps as i128).and_then(|v| v.checked_div_int(10_000));
    match band.and_then(|b| Some((reference.checked_sub(b)?, reference.checked_add(b)?))) {
        Some((lo, hi)) => p >= lo && p <= hi,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_units() {
        // $25.00 with expo -2 for an asset with 9 decimals, quote 6 decimals, lot 1e6 base native
        // = 25 quote per 1e9 base native -> 25e6 quote native per 1e9 base native
        // -> per lot of 1e6 base native: 25_000 quote native.
        let p = price_per_lot(2500, -2, 9, 6, 1_000_000).unwrap();
        assert_eq!(p, I80F48::from_num(25_000));
        // expo positive path
        let p = price_per_lot(3, 2, 6, 6, 10).unwrap();
        assert_eq!(p, I80F48::from_num(3000));
        assert!(price_per_lot(0, 0, 6, 6, 1).is_err());
        assert!(price_per_lot(-5, 0, 6, 6, 1).is_err());
        assert!(price_per_lot(1, 30, 0, 6, 1).is_err());
    }

    #[test]
    fn confidence_and_band() {
        assert!(!confidence_too_wide(10_000, 100, 100));
        assert!(confidence_too_wide(10_000, 101, 100));
        let reference = I80F48::from_num(1000);
        assert!(within_band(1050, reference, 500));
        assert!(!within_band(1051, reference, 500));
        assert!(within_band(950, reference, 500));
        assert!(!within_band(949, reference, 500));
    }
}
