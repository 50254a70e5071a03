//! The dual-price mark from the listings paper.
//!
//! With a spot index: `MP = median(p1, p2, pl)` where
//! - `p1 = index * (1 + F)`, `F` the funding rate over one 8-hour period, bounded to ±4%;
//! - `p2 = index + MA(book - index)`, the index plus the hour's moving average of the book's premium;
//! - `pl` the last trade price.
//!
//! Without a spot index: `MP = 0.5 * MA(last + mid)`.
//!
//! The moving averages take one sample a minute over the last hour, kept in a 60-entry ring of
//! [`MarkSample`]s that a permissionless crank fills. Everything here is pure: no accounts, no floats,
//! every operation checked; no input panics.
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fixed_point::{PodI80F48, BPS_DENOM, I80F48};

/// One sample per minute over one hour.
pub const MARK_SAMPLES: usize = 60;
/// Seconds between samples; a sample belongs to the minute `ts / 60`.
pub const SAMPLE_INTERVAL_SECS: i64 = 60;
/// A sample counts in the moving averages while `now - ts < MA_WINDOW_SECS`.
pub const MA_WINDOW_SECS: i64 = SAMPLE_INTERVAL_SECS * MARK_SAMPLES as i64;
/// `F` in `p1 = index * (1 + F)` is the funding rate over one 8-hour period, bounded to ±4%.
pub const MARK_FUNDING_PERIOD_HOURS: i64 = 8;
/// The bound on `|F|`, in parts per billion (4%).
pub const MAX_FUNDING_FRACTION_PPB: i64 = 40_000_000;
const PPB: i64 = 1_000_000_000;

/// `F = clamp(rate_ppbh * 8 / 1e9, -0.04, 0.04)`; `rate_ppbh` is parts per billion of price per hour.
/// The clamp happens on the integer `rate_ppbh * 8` (saturating), so any `i64` input is accepted.
pub fn funding_fraction(rate_ppbh: i64) -> Result<I80F48> {
    let period_ppb =
        rate_ppbh.saturating_mul(MARK_FUNDING_PERIOD_HOURS).clamp(-MAX_FUNDING_FRACTION_PPB, MAX_FUNDING_FRACTION_PPB);
    checked(I80F48::from_num(period_ppb).checked_div(I80F48::from_num(PPB)))
}

/// The middle one of three values.
pub fn median3(a: I80F48, b: I80F48, c: I80F48) -> I80F48 {
    let lo = a.min(b);
    let hi = a.max(b);
    lo.max(hi.min(c))
}

/// The value a sample records.
///
/// With a spot index: `book - index`, where the book price is the mid (the caller passes `mid = None`
/// unless both sides of the book exist), else the last trade price; with neither there is no sample.
///
/// Without an index: `last + mid`, where a missing mid counts as the last trade (`2 * last`) and a
/// missing last trade as the mid (`2 * mid`); with neither there is no sample.
pub fn sample_value(index: Option<I80F48>, mid: Option<I80F48>, last_trade: Option<I80F48>) -> Result<Option<I80F48>> {
    match index {
        Some(index) => match mid.or(last_trade) {
            Some(book) => Ok(Some(checked(book.checked_sub(index))?)),
            None => Ok(None),
        },
        None => {
            let (a, b) = match (last_trade, mid) {
                (Some(l), Some(m)) => (l, m),
                (Some(l), None) => (l, l),
                (None, Some(m)) => (m, m),
                (None, None) => return Ok(None),
            };
            Ok(Some(checked(a.checked_add(b))?))
        }
    }
}

/// The mark price.
///
/// With an index: `median(p1, p2, pl)` with `p1 = index * (1 + F)`, `p2 = index + ma` (no samples:
/// `p2 = index`) and `pl` the last trade (none yet: `pl = p1`, so the median falls to the index side).
///
/// Without an index: `ma / 2` when there are samples (`ma` is the average of `last + mid`), else the
/// last trade. With neither there is no mark price.
///
/// Errors: `NoMarkPrice` when no mark can be formed (no index, no samples, no trade);
/// `NonPositiveMarkPrice` when the result is zero or negative (a mark must be positive);
/// `MathOverflow` on overflow.
pub fn mark_price(
    index: Option<I80F48>,
    funding_fraction: I80F48,
    ma: Option<I80F48>,
    last_trade: Option<I80F48>,
) -> Result<I80F48> {
    let mark = match index {
        Some(index) => {
            let one_plus_f = checked(I80F48::ONE.checked_add(funding_fraction))?;
            let p1 = checked(index.checked_mul(one_plus_f))?;
            let p2 = checked(index.checked_add(ma.unwrap_or(I80F48::ZERO)))?;
            let pl = last_trade.unwrap_or(p1);
            median3(p1, p2, pl)
        }
        None => match (ma, last_trade) {
            (Some(ma), _) => checked(ma.checked_div(I80F48::from_num(2)))?,
            (None, Some(last)) => last,
            (None, None) => return err!(PerpError::NoMarkPrice),
        },
    };
    if mark <= I80F48::ZERO {
        return err!(PerpError::NonPositiveMarkPrice);
    }
    Ok(mark)
}

/// A ring-buffer entry as the program stores it: the sample's value, the raw index reading at that
/// minute (zero for a market without an index) and its unix time (`ts == 0`: empty slot).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct MarkSample {
    pub value: PodI80F48,
    pub index: PodI80F48,
    pub ts: i64,
    pub _reserved: [u8; 8],
}

const _: () = assert!(core::mem::size_of::<MarkSample>() == 48);

impl MarkSample {
    pub const SIZE: usize = 48;

    pub fn is_empty(&self) -> bool {
        self.ts <= 0
    }
}

/// Moving averages over the samples taken within the last hour (`0 <= now - ts < 3600`), each slot
/// counted once. Returns `(ma of value, ma of index readings, count)`; both averages are `None` when
/// no sample counts. Empty slots (`ts <= 0`), samples an hour old or older and samples stamped after
/// `now` are skipped; missed minutes simply mean fewer samples. Averages round toward zero.
pub fn moving_averages(
    samples: &[MarkSample; MARK_SAMPLES],
    now: i64,
) -> Result<(Option<I80F48>, Option<I80F48>, u32)> {
    let mut value_sum = I80F48::ZERO;
    let mut index_sum = I80F48::ZERO;
    let mut count: u32 = 0;
    for s in samples.iter() {
        if s.is_empty() {
            continue;
        }
        let age = match now.checked_sub(s.ts) {
            Some(age) => age,
            None => continue,
        };
        if !(0..MA_WINDOW_SECS).contains(&age) {
            continue;
        }
        value_sum = checked(value_sum.checked_add(s.value.get()))?;
        index_sum = checked(index_sum.checked_add(s.index.get()))?;
        count += 1;
    }
    if count == 0 {
        return Ok((None, None, 0));
    }
    let n = I80F48::from_num(count);
    Ok((Some(checked(value_sum.checked_div(n))?), Some(checked(index_sum.checked_div(n))?), count))
}

/// Where a sample taken at `now` goes: slot `(now / 60) % 60`, and whether it is too early.
/// Too early means the last sample is in the same minute (`last_sample_ts / 60 == now / 60`) or, if
/// the clock ever reads earlier than the last sample, in a later minute. Floor division, so any
/// `i64` is accepted and the slot is always in `0..60`.
pub fn sample_slot(now: i64, last_sample_ts: i64) -> (usize, bool) {
    let minute = now.div_euclid(SAMPLE_INTERVAL_SECS);
    let slot = minute.rem_euclid(MARK_SAMPLES as i64) as usize;
    let too_early = last_sample_ts.div_euclid(SAMPLE_INTERVAL_SECS) >= minute;
    (slot, too_early)
}

/// Oracle jump guard: true when `|reading - index_ma| > index_ma * jump_bps / 10_000`.
/// No average yet -> never a jump. If the comparison overflows, the reading counts as a jump.
pub fn index_jumped(reading: I80F48, index_ma: Option<I80F48>, jump_bps: u16) -> bool {
    let Some(ma) = index_ma else {
        return false;
    };
    let deviation = match reading.checked_sub(ma).and_then(|d| d.checked_abs()) {
        Some(d) => d,
        None => return true,
    };
    let allowed = ma.checked_mul(I80F48::from_num(jump_bps)).and_then(|v| v.checked_div(I80F48::from_num(BPS_DENOM)));
    match allowed {
        Some(allowed) => deviation > allowed,
        None => true,
    }
}

/// Conservative price for opening risk and withdrawals: a long is valued at `min(index, mark)`,
/// a short at `max(index, mark)`; a flat position at the mark.
pub fn conservative_price(base_lots: i64, index: I80F48, mark: I80F48) -> I80F48 {
    match base_lots {
        n if n > 0 => index.min(mark),
        n if n < 0 => index.max(mark),
        _ => mark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(v: i64) -> I80F48 {
        I80F48::from_num(v)
    }

    /// `num / den` without floats.
    fn ratio(num: i64, den: i64) -> I80F48 {
        fx(num) / fx(den)
    }

    fn sample(value: i64, index: i64, ts: i64) -> MarkSample {
        MarkSample { value: fx(value).into(), index: fx(index).into(), ts, _reserved: [0; 8] }
    }

    #[test]
    fn median_in_every_order() {
        // the six permutations of (1, 2, 3) all give 2
        let (a, b, c) = (fx(1), fx(2), fx(3));
        for (x, y, z) in [(a, b, c), (a, c, b), (b, a, c), (b, c, a), (c, a, b), (c, b, a)] {
            assert_eq!(median3(x, y, z), b);
        }
        // ties: (5, 5, 1) -> 5; (1, 1, 5) -> 1; all equal -> that value
        assert_eq!(median3(fx(5), fx(5), fx(1)), fx(5));
        assert_eq!(median3(fx(1), fx(5), fx(1)), fx(1));
        assert_eq!(median3(fx(7), fx(7), fx(7)), fx(7));
        // negatives and extremes
        assert_eq!(median3(fx(-3), I80F48::MAX, I80F48::MIN), fx(-3));
    }

    #[test]
    fn funding_fraction_is_8h_and_clamped() {
        // 1_000_000 ppb/h * 8 h = 8_000_000 ppb = 0.8%
        let f = funding_fraction(1_000_000).unwrap();
        assert_eq!(f, I80F48::from_num(8_000_000) / I80F48::from_num(PPB));
        assert_eq!(funding_fraction(-1_000_000).unwrap(), -f);
        assert_eq!(funding_fraction(0).unwrap(), I80F48::ZERO);
        // 5_000_000 ppb/h * 8 = exactly 4%: the bound itself
        let four = I80F48::from_num(40_000_000) / I80F48::from_num(PPB);
        assert_eq!(funding_fraction(5_000_000).unwrap(), four);
        // 6_000_000 * 8 = 4.8% -> 4%; -4.8% -> -4%
        assert_eq!(funding_fraction(6_000_000).unwrap(), four);
        assert_eq!(funding_fraction(-6_000_000).unwrap(), -four);
        // no overflow at the extremes
        assert_eq!(funding_fraction(i64::MAX).unwrap(), four);
        assert_eq!(funding_fraction(i64::MIN).unwrap(), -four);
    }

    #[test]
    fn sample_value_with_index() {
        let idx = Some(fx(100));
        // both sides: mid 103 -> 103 - 100 = 3 (the last trade is ignored)
        assert_eq!(sample_value(idx, Some(fx(103)), Some(fx(90))).unwrap(), Some(fx(3)));
        // an empty side (mid None): the last trade 97 -> -3
        assert_eq!(sample_value(idx, None, Some(fx(97))).unwrap(), Some(fx(-3)));
        // mid but no trade yet
        assert_eq!(sample_value(idx, Some(fx(101)), None).unwrap(), Some(fx(1)));
        // neither: no sample
        assert_eq!(sample_value(idx, None, None).unwrap(), None);
        // overflow is an error
        assert!(sample_value(Some(I80F48::MIN), Some(fx(1)), None).is_err());
    }

    #[test]
    fn sample_value_without_index() {
        // last 100 + mid 104 = 204
        assert_eq!(sample_value(None, Some(fx(104)), Some(fx(100))).unwrap(), Some(fx(204)));
        // no mid: 2 * last = 200
        assert_eq!(sample_value(None, None, Some(fx(100))).unwrap(), Some(fx(200)));
        // no trade yet: 2 * mid = 208
        assert_eq!(sample_value(None, Some(fx(104)), None).unwrap(), Some(fx(208)));
        assert_eq!(sample_value(None, None, None).unwrap(), None);
        assert!(sample_value(None, None, Some(I80F48::MAX)).is_err());
    }

    #[test]
    fn mark_p1_p2_pl_combinations() {
        let idx = Some(fx(100));
        let f2 = I80F48::from_num(2) / I80F48::from_num(100); // F = 2%
        let p1 = fx(100) * (I80F48::ONE + f2); // 102
                                               // p1 = 102, p2 = 100 + 5 = 105, pl = 103 -> 103 (pl in the middle)
        assert_eq!(mark_price(idx, f2, Some(fx(5)), Some(fx(103))).unwrap(), fx(103));
        // p1 = 102, p2 = 105, pl = 110 -> 105 (p2 in the middle)
        assert_eq!(mark_price(idx, f2, Some(fx(5)), Some(fx(110))).unwrap(), fx(105));
        // p1 = 102, p2 = 100 - 5 = 95, pl = 110 -> 102 (p1 in the middle)
        assert_eq!(mark_price(idx, f2, Some(fx(-5)), Some(fx(110))).unwrap(), p1);
        // no samples: p2 = index = 100; p1 = 102, pl = 90 -> 100
        assert_eq!(mark_price(idx, f2, None, Some(fx(90))).unwrap(), fx(100));
        // no trade yet: pl = p1 = 102; p2 = 105 -> median(102, 105, 102) = 102
        assert_eq!(mark_price(idx, f2, Some(fx(5)), None).unwrap(), p1);
        // no trade, no samples: median(102, 100, 102) = 102, the index side
        assert_eq!(mark_price(idx, f2, None, None).unwrap(), p1);
        // F = 0, nothing else: the index itself
        assert_eq!(mark_price(idx, I80F48::ZERO, None, None).unwrap(), fx(100));
    }

    #[test]
    fn mark_uses_clamped_funding() {
        // rate 10_000_000 ppb/h would be 8% per period; clamped to 4% -> p1 = 104.
        // p2 = 100 + 50 = 150, pl = 200 -> median = 150; with pl = 101 -> median(104, 150, 101) = 104
        let f = funding_fraction(10_000_000).unwrap();
        let p1 = mark_price(Some(fx(100)), f, Some(fx(50)), Some(fx(101))).unwrap();
        assert!((p1 - fx(104)).abs() < ratio(1, 1_000_000));
        assert!(p1 <= fx(104));
        assert_eq!(mark_price(Some(fx(100)), f, Some(fx(50)), Some(fx(200))).unwrap(), fx(150));
        // -4%: p1 = 96; p2 = 100 - 50 = 50, pl = 10 -> 50
        let f = funding_fraction(-10_000_000).unwrap();
        assert_eq!(mark_price(Some(fx(100)), f, Some(fx(-50)), Some(fx(10))).unwrap(), fx(50));
    }

    #[test]
    fn mark_without_index() {
        // ma of (last + mid) = 204 -> 102
        assert_eq!(mark_price(None, I80F48::ZERO, Some(fx(204)), Some(fx(500))).unwrap(), fx(102));
        // odd: 205 / 2 = 102.5
        assert_eq!(mark_price(None, I80F48::ZERO, Some(fx(205)), None).unwrap(), ratio(205, 2));
        // no samples: the last trade
        assert_eq!(mark_price(None, I80F48::ZERO, None, Some(fx(97))).unwrap(), fx(97));
        // funding fraction plays no part without an index
        assert_eq!(mark_price(None, ratio(4, 100), None, Some(fx(97))).unwrap(), fx(97));
        // nothing: no mark price
        assert_eq!(mark_price(None, I80F48::ZERO, None, None).unwrap_err(), error!(PerpError::NoMarkPrice));
        // a non-positive result is refused
        assert!(mark_price(None, I80F48::ZERO, Some(fx(0)), None).is_err());
        assert!(mark_price(None, I80F48::ZERO, None, Some(fx(-1))).is_err());
        assert!(mark_price(Some(fx(0)), I80F48::ZERO, None, None).is_err());
    }

    #[test]
    fn mark_overflow_is_an_error() {
        assert!(mark_price(Some(I80F48::MAX), ratio(4, 100), None, None).is_err());
        assert!(mark_price(Some(I80F48::MAX), I80F48::ZERO, Some(fx(1)), None).is_err());
    }

    #[test]
    fn moving_averages_full_hour() {
        // 60 samples at ts = 1_000_020 .. stepping back one minute each; values 0..59, index 100
        // ma(value) = (0 + ... + 59) / 60 = 1770 / 60 = 29.5; ma(index) = 100
        let now = 1_000_020;
        let mut ring = [MarkSample::default(); MARK_SAMPLES];
        for k in 0..60i64 {
            let ts = now - 60 * k;
            let (slot, _) = sample_slot(ts, 0);
            ring[slot] = sample(k, 100, ts);
        }
        let (ma, ima, n) = moving_averages(&ring, now).unwrap();
        assert_eq!(n, 60);
        assert_eq!(ma, Some(ratio(59, 2)));
        assert_eq!(ima, Some(fx(100)));
    }

    #[test]
    fn moving_averages_empty_missed_and_stale() {
        let now = 7_200_000;
        let ring = [MarkSample::default(); MARK_SAMPLES];
        // no samples at all
        assert_eq!(moving_averages(&ring, now).unwrap(), (None, None, 0));

        // missed minutes: only 3 slots filled, values 10, 20, 60 -> 90 / 3 = 30;
        // index 99, 100, 104 -> 303 / 3 = 101
        let mut ring = [MarkSample::default(); MARK_SAMPLES];
        ring[0] = sample(10, 99, now - 10);
        ring[7] = sample(20, 100, now - 7 * 60);
        ring[30] = sample(60, 104, now - 30 * 60);
        assert_eq!(moving_averages(&ring, now).unwrap(), (Some(fx(30)), Some(fx(101)), 3));

        // a sample exactly one hour old (now - ts = 3600) and an older one are ignored;
        // one 3599 s old still counts: values 10, 20, 60, 5 -> 95 / 4 = 23.75
        ring[40] = sample(1_000, 1_000, now - 3600);
        ring[41] = sample(1_000, 1_000, now - 100_000);
        ring[42] = sample(5, 101, now - 3599);
        let (ma, ima, n) = moving_averages(&ring, now).unwrap();
        assert_eq!(n, 4);
        assert_eq!(ma, Some(ratio(95, 4)));
        // index (99 + 100 + 104 + 101) / 4 = 101
        assert_eq!(ima, Some(fx(101)));

        // a sample stamped after now does not count
        ring[43] = sample(1_000, 1_000, now + 1);
        assert_eq!(moving_averages(&ring, now).unwrap().2, 4);
    }

    #[test]
    fn moving_averages_overflow_is_an_error() {
        let now = 1_000_000;
        let mut ring = [MarkSample::default(); MARK_SAMPLES];
        ring[0] = MarkSample { value: I80F48::MAX.into(), index: fx(1).into(), ts: now, _reserved: [0; 8] };
        ring[1] = MarkSample { value: I80F48::MAX.into(), index: fx(1).into(), ts: now - 60, _reserved: [0; 8] };
        assert!(moving_averages(&ring, now).is_err());
        // extreme clock values do not panic
        assert_eq!(moving_averages(&[MarkSample::default(); MARK_SAMPLES], i64::MIN).unwrap().2, 0);
        ring[0].ts = i64::MAX;
        ring[1].ts = 1;
        assert!(moving_averages(&ring, i64::MIN).is_ok());
    }

    #[test]
    fn slots_and_too_early_across_minutes() {
        // 3_600_000 s = minute 60_000, 60_000 % 60 = 0
        assert_eq!(sample_slot(3_600_000, 0), (0, false));
        // 3_600_059 is still minute 60_000: slot 0; a last sample at 3_600_000 is the same minute
        assert_eq!(sample_slot(3_600_059, 3_600_000), (0, true));
        // 3_600_060 is minute 60_001: slot 1; last sample at 3_600_059 (minute 60_000) -> not too early,
        // although only one second has passed
        assert_eq!(sample_slot(3_600_060, 3_600_059), (1, false));
        // 3_600_119 with last at 3_600_060: both minute 60_001 -> too early, 59 s apart
        assert_eq!(sample_slot(3_600_119, 3_600_060), (1, true));
        // the ring wraps: minute 60_059 -> slot 59, minute 60_060 -> slot 0
        assert_eq!(sample_slot(3_600_000 + 59 * 60, 0).0, 59);
        assert_eq!(sample_slot(3_600_000 + 60 * 60, 3_600_000 + 59 * 60), (0, false));
        // a last sample in a later minute than now (clock went back) is too early as well
        assert_eq!(sample_slot(3_600_000, 3_600_060), (0, true));
        // negative and extreme times stay in range
        assert_eq!(sample_slot(-1, -61), (59, false));
        assert_eq!(sample_slot(-1, 0), (59, true));
        assert!(sample_slot(i64::MIN, 0).0 < MARK_SAMPLES);
        assert!(sample_slot(i64::MAX, i64::MAX).1);
    }

    #[test]
    fn jump_guard() {
        let ma = Some(fx(100));
        // 20% band: |120 - 100| = 20 is not more than 20; 120.01 is
        assert!(!index_jumped(fx(120), ma, 2000));
        assert!(index_jumped(ratio(12_001, 100), ma, 2000));
        assert!(!index_jumped(fx(80), ma, 2000));
        assert!(index_jumped(ratio(7_999, 100), ma, 2000));
        // no average yet: never a jump
        assert!(!index_jumped(fx(1_000_000), None, 2000));
        // overflow counts as a jump
        assert!(index_jumped(I80F48::MIN, Some(I80F48::MAX), 2000));
        assert!(index_jumped(fx(1), Some(I80F48::MAX), u16::MAX));
    }

    #[test]
    fn conservative_prices() {
        let (index, mark) = (fx(100), fx(105));
        assert_eq!(conservative_price(3, index, mark), fx(100)); // long: min
        assert_eq!(conservative_price(-3, index, mark), fx(105)); // short: max
        assert_eq!(conservative_price(0, index, mark), fx(105)); // flat: mark
        assert_eq!(conservative_price(3, mark, index), fx(100));
        assert_eq!(conservative_price(-3, mark, index), fx(105));
        assert_eq!(conservative_price(0, mark, index), fx(100)); // flat: the mark, even when lower
    }

    #[test]
    fn sample_layout() {
        assert_eq!(core::mem::size_of::<MarkSample>(), MarkSample::SIZE);
        assert_eq!(core::mem::align_of::<MarkSample>(), 8);
        assert!(MarkSample::default().is_empty());
    }

    /// Paper case (a): the spot index is pumped 10x while the book and the last trade stay at 100.
    #[test]
    fn manipulation_index_pumped() {
        let now = 10_000_000;
        // 60 samples of value 0 (book 100 - index 100) with index readings of 100
        let mut ring = [MarkSample::default(); MARK_SAMPLES];
        for k in 0..60 {
            let ts = now - 60 * k;
            ring[sample_slot(ts, 0).0] = sample(0, 100, ts);
        }
        let (ma, index_ma, n) = moving_averages(&ring, now).unwrap();
        assert_eq!((ma, index_ma, n), (Some(fx(0)), Some(fx(100)), 60));

        // A raw reading of 1000: |1000 - 100| = 900 > 100 * 2000 / 10_000 = 20 -> flagged
        let pumped = fx(1000);
        assert!(index_jumped(pumped, index_ma, 2000));

        // The program keeps the last good index, 100. With F at its +4% bound:
        // p1 = 104, p2 = 100 + 0 = 100, pl = 100 -> MP = 100.
        let f = funding_fraction(i64::MAX).unwrap();
        let mp = mark_price(Some(fx(100)), f, ma, Some(fx(100))).unwrap();
        assert_eq!(mp, fx(100));
        assert!(mp <= pumped / fx(5)); // far less than the pumped index

        // Without the guard, using the pumped index directly with the same samples:
        // p1 = 1000 * 1.04 = 1040, p2 = 1000 + 0 = 1000, pl = 100 -> MP = 1000 (with F = 0:
        // median(1000, 1000, 100) = 1000). The hour's samples still say "book = index", so p2
        // follows the pumped index; only as new samples (100 - 1000 = -900 each) replace the old
        // ones would p2 fall, by 900/60 = 15 a minute. Hence the jump guard.
        let unguarded = mark_price(Some(pumped), I80F48::ZERO, ma, Some(fx(100))).unwrap();
        assert_eq!(unguarded, fx(1000));
        let unguarded_f = mark_price(Some(pumped), f, ma, Some(fx(100))).unwrap();
        assert_eq!(unguarded_f, fx(1000));
    }

    /// Paper case (b): the last trade and the mid are pumped to 1000 while the index stays at 100.
    #[test]
    fn manipulation_book_pumped() {
        let now = 10_000_000;
        // 59 samples of value 0, then one new sample of 1000 - 100 = 900
        let mut ring = [MarkSample::default(); MARK_SAMPLES];
        for k in 1..60 {
            let ts = now - 60 * k;
            ring[sample_slot(ts, 0).0] = sample(0, 100, ts);
        }
        let last_ts = now - 60;
        let (slot, too_early) = sample_slot(now, last_ts);
        assert!(!too_early);
        let v = sample_value(Some(fx(100)), Some(fx(1000)), Some(fx(1000))).unwrap().unwrap();
        assert_eq!(v, fx(900));
        ring[slot] = MarkSample { value: v.into(), index: fx(100).into(), ts: now, _reserved: [0; 8] };

        // ma = 900 / 60 = 15; index ma 100, so the index reading is no jump
        let (ma, index_ma, n) = moving_averages(&ring, now).unwrap();
        assert_eq!((ma, index_ma, n), (Some(fx(15)), Some(fx(100)), 60));
        assert!(!index_jumped(fx(100), index_ma, 2000));

        // p1 <= 100 * 1.04 = 104, p2 = 100 + 15 = 115, pl = 1000 -> MP = 115 for any F in ±4%
        for rate in [i64::MIN, -1_000_000, 0, 1_000_000, i64::MAX] {
            let f = funding_fraction(rate).unwrap();
            let mp = mark_price(Some(fx(100)), f, ma, Some(fx(1000))).unwrap();
            assert_eq!(mp, fx(115));
            assert!(mp <= fx(1000)); // at most the last price
            assert!(mp - fx(100) <= fx(15)); // near the index
        }
    }
}
