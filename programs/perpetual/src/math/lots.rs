//! Lots and reservations: pure rules on signed position sizes and open-order lots.
use anchor_lang::prelude::*;

use crate::error::checked;

/// The long part of a position: what it adds to open interest.
pub fn long_part(lots: i64) -> u64 {
    lots.max(0) as u64
}

/// True when adding `delta` lots to `lots` moves it toward zero without passing it.
pub fn reduces(lots: i64, delta: i64) -> bool {
    let after = lots.saturating_add(delta);
    after.unsigned_abs() <= lots.unsigned_abs() && (after == 0 || (after > 0) == (lots > 0))
}

/// Applies a signed change to a reservation: increases are checked, decreases saturate.
pub fn change_reservation(value: &mut u64, delta: i64) -> Result<()> {
    if delta >= 0 {
        // Reserved lots must fit a position (i64) once they fill.
        *value = checked(value.checked_add(delta as u64).filter(|v| *v <= i64::MAX as u64))?;
    } else {
        *value = value.saturating_sub(delta.unsigned_abs());
    }
    Ok(())
}

/// In a reduce-only market, a larger reservation is allowed only on the side that
/// closes the position, and no further than closing it.
pub fn reservation_reduces(base_lots: i64, bid_delta: i64, ask_delta: i64) -> bool {
    (bid_delta <= 0 || (base_lots < 0 && bid_delta <= -base_lots))
        && (ask_delta <= 0 || (base_lots > 0 && ask_delta <= base_lots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_detection() {
        assert!(reduces(10, -3));
        assert!(reduces(10, -10));
        assert!(!reduces(10, -11));
        assert!(!reduces(10, 1));
        assert!(reduces(-5, 5));
        assert!(!reduces(0, 1));
    }

    #[test]
    fn long_part_is_the_positive_side() {
        assert_eq!(long_part(7), 7);
        assert_eq!(long_part(0), 0);
        assert_eq!(long_part(-7), 0);
    }

    #[test]
    fn reduce_only_reservations() {
        // Releasing or keeping a reservation is always allowed.
        for base in [-5, 0, 5] {
            assert!(reservation_reduces(base, 0, 0));
            assert!(reservation_reduces(base, -3, -3));
        }
        // A short may bid up to its size, not one lot more, and may not add asks.
        assert!(reservation_reduces(-5, 5, 0));
        assert!(!reservation_reduces(-5, 6, 0));
        assert!(!reservation_reduces(-5, 0, 1));
        // A long may ask up to its size, not one lot more, and may not add bids.
        assert!(reservation_reduces(5, 0, 5));
        assert!(!reservation_reduces(5, 0, 6));
        assert!(!reservation_reduces(5, 1, 0));
        // A flat account may add nothing; one side's release does not pay for the other's growth.
        assert!(!reservation_reduces(0, 1, 0));
        assert!(!reservation_reduces(0, 0, 1));
        assert!(!reservation_reduces(-5, 5, 1));
        assert!(!reservation_reduces(5, 1, 5));
    }

    #[test]
    fn reservation_changes() {
        let mut v = 5u64;
        change_reservation(&mut v, 3).unwrap();
        assert_eq!(v, 8);
        change_reservation(&mut v, -10).unwrap();
        assert_eq!(v, 0);
        let mut m = u64::MAX;
        assert!(change_reservation(&mut m, 1).is_err());
        // Up to i64::MAX lots, and not one more: they must fit a position.
        let mut top = i64::MAX as u64 - 1;
        change_reservation(&mut top, 1).unwrap();
        assert!(change_reservation(&mut top, 1).is_err());
        assert_eq!(top, i64::MAX as u64);
    }
}
