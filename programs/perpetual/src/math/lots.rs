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
        *value = checked(value.checked_add(delta as u64))?;
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
    fn reservation_changes() {
        let mut v = 5u64;
        change_reservation(&mut v, 3).unwrap();
        assert_eq!(v, 8);
        change_reservation(&mut v, -10).unwrap();
        assert_eq!(v, 0);
        let mut m = u64::MAX;
        assert!(change_reservation(&mut m, 1).is_err());
    }
}
