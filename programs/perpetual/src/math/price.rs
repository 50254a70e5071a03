use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fixed_point::{pow10, I80F48, MAX_POW10};

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
        // `lots` is a positive integer, so dividing its bits by 10^k is exactly fixed's
        // truncating `lots / pow10(k)`, without the 256-bit intermediate.
        let k = shift.unsigned_abs();
        require!(k <= MAX_POW10, PerpError::OracleExponentOutOfRange);
        Ok(I80F48::from_bits(lots.to_bits() / 10i128.pow(k)))
    }
}

/// True when `conf / price` is wider than `max_conf_bps`.
pub fn confidence_too_wide(price: i64, conf: u64, max_conf_bps: u16) -> bool {
    (conf as i128) * 10_000 > (price as i128) * (max_conf_bps as i128)
}

/// True when `price_per_lot` lies within `band_bps` of `reference` (false on overflow).
pub fn within_band(price_per_lot: u64, reference: I80F48, band_bps: u16) -> bool {
    in_bounds(price_per_lot, band_bounds(reference, band_bps))
}

/// The band's lowest and highest price per lot, inclusive (`None`: it overflows, and no
/// price is within it). Computed once, it serves many [`in_bounds`] tests.
pub fn band_bounds(reference: I80F48, band_bps: u16) -> Option<(I80F48, I80F48)> {
    let band = reference.checked_mul_int(band_bps as i128)?.checked_div_int(10_000)?;
    Some((reference.checked_sub(band)?, reference.checked_add(band)?))
}

/// Whether `price_per_lot` lies within `bounds` from [`band_bounds`].
pub fn in_bounds(price_per_lot: u64, bounds: Option<(I80F48, I80F48)>) -> bool {
    match (I80F48::checked_from_num(price_per_lot), bounds) {
        (Some(p), Some((lo, hi))) => p >= lo && p <= hi,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer division of the negative-shift path equals fixed's `lots / pow10(k)`.
    #[test]
    fn negative_shift_matches_fixed_division() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let price = ((next() >> (next() % 64)) as i64 & i64::MAX).max(1);
            let lot = (next() >> (next() % 64)).max(1);
            let expo = -((next() % 16) as i32);
            let (base, quote) = ((next() % 13) as u8, (next() % 10) as u8);
            let shift = expo + quote as i32 - base as i32;
            let got = price_per_lot(price, expo, base, quote, lot);
            let lots = I80F48::from_num(price).checked_mul(I80F48::from_num(lot));
            let want = if shift >= 0 {
                lots.and_then(|l| l.checked_mul(pow10(shift as u32).ok()?))
            } else {
                lots.and_then(|l| l.checked_div(pow10(shift.unsigned_abs()).ok()?))
            };
            match (got, want) {
                (Ok(g), Some(w)) => assert_eq!(g, w, "{price} {expo} {base} {quote} {lot}"),
                (Err(_), None) => {}
                (g, w) => panic!("{price} {expo} {base} {quote} {lot}: {g:?} vs {w:?}"),
            }
        }
    }

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
