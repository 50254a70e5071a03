use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
pub use fixed::types::I80F48;

/// I80F48 stored as little-endian bytes. Alignment 1, so a zero-copy struct has the same
/// layout natively (where i128 aligns to 16) and on SBF (where it aligns to 8).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct PodI80F48 {
    pub bits: [u8; 16],
}

impl PodI80F48 {
    pub const ZERO: Self = Self { bits: [0; 16] };

    #[inline]
    pub fn get(&self) -> I80F48 {
        I80F48::from_bits(i128::from_le_bytes(self.bits))
    }

    #[inline]
    pub fn set(&mut self, value: I80F48) {
        self.bits = value.to_bits().to_le_bytes();
    }
}

impl From<I80F48> for PodI80F48 {
    fn from(value: I80F48) -> Self {
        Self { bits: value.to_bits().to_le_bytes() }
    }
}

pub const BPS_DENOM: i64 = 10_000;

/// Rounds up to a whole native unit: used for what an account pays.
#[track_caller]
pub fn ceil_to_i64(value: I80F48) -> Result<i64> {
    checked(value.checked_ceil().and_then(|v| v.checked_to_num::<i64>()))
}

/// Rounds down to a whole native unit: used for what an account receives.
#[track_caller]
pub fn floor_to_i64(value: I80F48) -> Result<i64> {
    checked(value.checked_floor().and_then(|v| v.checked_to_num::<i64>()))
}

/// `value * bps / 10_000`, checked.
#[track_caller]
pub fn mul_bps(value: I80F48, bps: u16) -> Result<I80F48> {
    // Dividing by the integer is exact-equivalent (both truncate) and far cheaper.
    checked(value.checked_mul(I80F48::from_num(bps)).and_then(|v| v.checked_div_int(BPS_DENOM as i128)))
}

/// The largest power of ten [`pow10`] accepts (10^23 < 2^79, I80F48's integer range).
pub const MAX_POW10: u32 = 23;

/// 10^exp as I80F48, for exp up to [`MAX_POW10`].
pub fn pow10(exp: u32) -> Result<I80F48> {
    if exp > MAX_POW10 {
        return err!(PerpError::OracleExponentOutOfRange);
    }
    let mut out = I80F48::ONE;
    for _ in 0..exp {
        out = checked(out.checked_mul(I80F48::from_num(10)))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_round_trip_keeps_bits() {
        let v = I80F48::from_num(-12345.678);
        assert_eq!(PodI80F48::from(v).get(), v);
        let mut pod = PodI80F48::ZERO;
        pod.set(v);
        assert_eq!(pod.get(), v);
        assert_eq!(core::mem::align_of::<PodI80F48>(), 1);
    }

    #[test]
    fn rounding_directions() {
        let v = I80F48::from_num(2.25);
        assert_eq!(ceil_to_i64(v).unwrap(), 3);
        assert_eq!(floor_to_i64(v).unwrap(), 2);
        assert_eq!(ceil_to_i64(-v).unwrap(), -2);
        assert_eq!(floor_to_i64(-v).unwrap(), -3);
        assert!(ceil_to_i64(I80F48::MAX).is_err());
    }

    #[test]
    fn pow10_bounds() {
        assert_eq!(pow10(6).unwrap(), I80F48::from_num(1_000_000));
        assert_eq!(pow10(23).unwrap(), I80F48::from_num(10u128.pow(23)));
        for exp in [24, 30] {
            assert_eq!(pow10(exp).unwrap_err(), PerpError::OracleExponentOutOfRange.into());
        }
    }
}
