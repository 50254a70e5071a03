//! VaR-bounded margins from the listings paper.
//!
//! Initial margin per side is the historical 10-day 99% value-at-risk over the last year of daily
//! closes (longs: the lower tail, shorts: the upper tail), never below 10%; a requirement of 90% or
//! more disables leverage on that side (initial 100%). With under 90 days of data both sides use
//! 40%; without a spot market longs are disabled and shorts need at least 80%. Maintenance is half
//! of initial (computed by the caller).
//!
//! Integer arithmetic only: returns are kept at a 1e9 scale in a heap `Vec<i64>` (not on the stack:
//! SBF's call frame is 4 KiB, see `.ci/stack-frames`) and sorted with `sort_unstable`; the quantile
//! element is then converted to basis points with the rounding that favours the protocol, exactly
//! (see [`historical_var_bps`]).
use anchor_lang::prelude::*;

use crate::error::{checked, PerpError};
use crate::math::fixed_point::BPS_DENOM;
use crate::params::{MAX_MARGIN_BPS, MIN_INIT_MARGIN_BPS, NO_LEVERAGE_BPS};

pub const VAR_HORIZON_DAYS: usize = 10;
pub const VAR_CONFIDENCE_BPS: u32 = 9_900; // 99%
pub const MAX_VAR_HISTORY: usize = 365;
pub const MIN_HISTORY_DAYS: usize = 90;
pub const DEFAULT_INIT_MARGIN_BPS: u16 = 4_000; // < 90 days of data
pub const NO_INDEX_SHORT_INIT_BPS: u16 = 8_000; // no spot market: shorts 80%, longs disabled

const RETURN_SCALE: i128 = 1_000_000_000;
/// Scaled return per basis point: 1e9 / 1e4.
const SCALE_PER_BPS: i64 = 100_000;
const BPS: u64 = BPS_DENOM as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SideMargins {
    pub init_long_bps: u16,
    pub init_short_bps: u16,
}

/// True when a side's initial margin disables leverage (the paper's 90% threshold).
pub fn leverage_disabled(init_bps: u16) -> bool {
    init_bps >= NO_LEVERAGE_BPS
}

/// Refuses zero prices and more than a year of closes.
fn validate_closes(closes: &[u64]) -> Result<()> {
    if closes.len() > MAX_VAR_HISTORY {
        msg!("{} closes given, at most {}", closes.len(), MAX_VAR_HISTORY);
        return err!(PerpError::InvalidPriceHistory);
    }
    if closes.contains(&0) {
        msg!("a daily close is zero");
        return err!(PerpError::InvalidPriceHistory);
    }
    Ok(())
}

/// The 10-day return starting at day `i`, as `(floor(r * 1e9), exact)` where `exact` says whether
/// `r * 1e9` is an integer. The scaled value saturates at `i64::MAX` (a return above 9.2e9 times).
fn scaled_return(closes: &[u64], i: usize) -> Result<(i64, bool)> {
    let from = *checked(closes.get(i))? as i128;
    let to = *checked(closes.get(checked(i.checked_add(VAR_HORIZON_DAYS))?))? as i128;
    if from == 0 {
        return err!(PerpError::InvalidPriceHistory);
    }
    // |to - from| < 2^64 and 1e9 < 2^30, so the product fits an i128.
    let num = checked((to - from).checked_mul(RETURN_SCALE))?;
    let floor = num.div_euclid(from);
    let exact = num.rem_euclid(from) == 0;
    match i64::try_from(floor) {
        Ok(v) => Ok((v, exact)),
        // only the upper end can overflow: r >= -1 since prices are positive
        Err(_) => Ok((i64::MAX, false)),
    }
}

/// Historical 10-day 99% VaR per side from up to 365 daily closes (any consistent unit, oldest
/// first). Returns `(long_bps, short_bps)`.
///
/// Method: the overlapping 10-day returns `r_i = close[i+10] / close[i] - 1` for every
/// `i in 0..n`, `n = closes.len() - 10`, sorted ascending into `s[0..n]`.
/// Quantile rule: `q(p) = s[floor(p * (n - 1))]`, computed in integers as
/// `k_lo = (n - 1) * 100 / 10_000` for the 1% lower tail and `k_hi = (n - 1) * 9_900 / 10_000`
/// for the 99% upper tail. With a full year (n = 355): `k_lo = 3`, `k_hi = 350`.
/// - long VaR  = `ceil(max(0, -s[k_lo]) * 10_000)` bps (the loss of a long at the lower tail);
/// - short VaR = `ceil(max(0,  s[k_hi]) * 10_000)` bps (the loss of a short at the upper tail).
///
/// The ceilings are exact, not approximate: returns are sorted as `floor(r * 1e9)` (the floor is
/// monotone, so the sorted floors are the floors of the sorted exact returns) and the conversion
/// accounts for whether the quantile element was an exact multiple of 1e-9. The short VaR
/// saturates at `u32::MAX`; the long VaR is at most 10_000 (a loss of the whole price).
///
/// Errors (`InvalidPriceHistory`): fewer than 11 closes (no 10-day return), more than 365, or a
/// zero close.
pub fn historical_var_bps(closes: &[u64]) -> Result<(u32, u32)> {
    validate_closes(closes)?;
    if closes.len() <= VAR_HORIZON_DAYS {
        msg!("{} closes give no {}-day return", closes.len(), VAR_HORIZON_DAYS);
        return err!(PerpError::InvalidPriceHistory);
    }
    let n = closes.len() - VAR_HORIZON_DAYS;

    // On the heap, not in a `[i64; MAX_VAR_HISTORY]` on the stack (2,920 bytes, which put this
    // function's frame near SBF's 4 KiB limit): one allocation of `n * 8` bytes, at most
    // 355 * 8 = 2,840 bytes, out of SBF's 32 KiB bump heap (never freed within an instruction).
    let mut sorted: Vec<i64> = Vec::with_capacity(n);
    for i in 0..n {
        sorted.push(scaled_return(closes, i)?.0);
    }
    let sorted = sorted.as_mut_slice();
    sorted.sort_unstable();

    let last = (n - 1) as u64;
    let k_lo = (last * (BPS - u64::from(VAR_CONFIDENCE_BPS)) / BPS) as usize;
    let k_hi = (last * u64::from(VAR_CONFIDENCE_BPS) / BPS) as usize;
    let lo = *checked(sorted.get(k_lo))?;
    let hi = *checked(sorted.get(k_hi))?;

    // Long: loss = -r. With r in [lo, lo + 1) / 1e9, the loss * 1e4 lies in (-(lo+1), -lo] / 1e5,
    // an interval that never holds an integer except at its closed end, so ceil = ceil(-lo / 1e5)
    // whether or not r was exact.
    let long = if lo >= 0 {
        0
    } else {
        // lo >= -1e9, so -lo fits and the result is at most 10_000
        let loss = -(lo as i128);
        let bps = (loss + SCALE_PER_BPS as i128 - 1) / SCALE_PER_BPS as i128;
        u32::try_from(bps).unwrap_or(u32::MAX)
    };

    // Short: gain = r in [hi, hi + 1) / 1e9. If r is exactly hi / 1e9, ceil(hi / 1e5); otherwise
    // r * 1e4 lies strictly inside (hi / 1e5, (hi + 1) / 1e5), which holds no integer, so the
    // ceiling is floor(hi / 1e5) + 1.
    let short = if hi < 0 {
        0
    } else {
        let hi_exact = quantile_is_exact(closes, sorted, k_hi)?;
        let h = hi as i128;
        let per = SCALE_PER_BPS as i128;
        let bps = if hi_exact { (h + per - 1) / per } else { h / per + 1 };
        u32::try_from(bps).unwrap_or(u32::MAX)
    };
    Ok((long, short))
}

/// Whether the exact return at sorted position `k` equals `sorted[k] / 1e9` (no remainder).
/// Among the returns whose floor is `v = sorted[k]` (sorted positions `first..`), the exact ones
/// equal `v / 1e9` and are the smallest, so position `k` is exact iff `k - first < exact count`.
fn quantile_is_exact(closes: &[u64], sorted: &[i64], k: usize) -> Result<bool> {
    let v = *checked(sorted.get(k))?;
    let first = sorted.partition_point(|&x| x < v);
    let mut exact_count = 0usize;
    for i in 0..sorted.len() {
        let (floor, exact) = scaled_return(closes, i)?;
        if floor == v && exact && floor != i64::MAX {
            exact_count += 1;
        }
    }
    Ok(checked(k.checked_sub(first))? < exact_count)
}

/// Initial margins from the daily history. Rules, in order:
/// 1. No spot market (`has_index == false`): longs disabled (10_000); shorts 80%, or the VaR-based
///    requirement of rule 3 when there are at least 90 closes and it is higher.
/// 2. Fewer than 90 closes: 40% / 40%.
/// 3. Otherwise, per side: `max(VaR, 10%)`, capped at 10_000; a requirement of 90% or more
///    disables leverage on that side and becomes 10_000.
///
/// Maintenance is half of initial and is not returned here.
/// Errors (`InvalidPriceHistory`): a zero close or more than 365 closes, whatever the rule.
pub fn margins_from_history(closes: &[u64], has_index: bool) -> Result<SideMargins> {
    validate_closes(closes)?;
    let from_var = if closes.len() >= MIN_HISTORY_DAYS {
        let (long, short) = historical_var_bps(closes)?;
        Some(SideMargins { init_long_bps: side_margin(long), init_short_bps: side_margin(short) })
    } else {
        None
    };
    Ok(match (has_index, from_var) {
        (false, var) => SideMargins {
            init_long_bps: MAX_MARGIN_BPS,
            init_short_bps: var.map_or(NO_INDEX_SHORT_INIT_BPS, |m| m.init_short_bps.max(NO_INDEX_SHORT_INIT_BPS)),
        },
        (true, None) => SideMargins { init_long_bps: DEFAULT_INIT_MARGIN_BPS, init_short_bps: DEFAULT_INIT_MARGIN_BPS },
        (true, Some(m)) => m,
    })
}

/// `max(var, 10%)` capped at 100%, with 90% or more becoming 100% (no leverage).
fn side_margin(var_bps: u32) -> u16 {
    let capped = var_bps.clamp(u32::from(MIN_INIT_MARGIN_BPS), u32::from(MAX_MARGIN_BPS)) as u16;
    if leverage_disabled(capped) {
        MAX_MARGIN_BPS
    } else {
        capped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 365 closes of 1000, with chain-wise level steps: `(day, level)` sets every close on days
    /// `day, day + 10, day + 20, ...` to `level`, so exactly one 10-day return (the one ending on `day`)
    /// changes: `level / previous - 1`.
    fn stepped(steps: &[(usize, u64)]) -> [u64; 365] {
        let mut closes = [1000u64; 365];
        for &(day, level) in steps {
            let mut d = day;
            while d < 365 {
                closes[d] = level;
                d += 10;
            }
        }
        closes
    }

    #[test]
    fn constant_series_hits_the_floor() {
        // every return 0 -> VaR 0 / 0 -> floor 10% on both sides
        let closes = [5_000u64; 365];
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 0));
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 1_000, init_short_bps: 1_000 }
        );
    }

    #[test]
    fn steady_one_percent_a_day() {
        // close[t+1] = floor(close[t] * 1.01) from 1e12: every 10-day return is 1.01^10 - 1
        // = 0.1046221254... (floor rounding moves it by < 1e-11) -> short ceil(1046.22) = 1047 bps,
        // long 0 (no losses). 1e12 * 1.01^364 ~ 3.7e13 fits a u64.
        let mut closes = [0u64; 365];
        closes[0] = 1_000_000_000_000;
        for t in 1..365 {
            closes[t] = closes[t - 1] * 101 / 100;
        }
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 1047));
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 1_000, init_short_bps: 1_047 }
        );
    }

    #[test]
    fn one_crash_is_asymmetric() {
        // 1000 until day 199, 500 from day 200: the 10 returns from days 190..=199 are -50%, the
        // other 345 are 0. Sorted: s[0..10] = -0.5, s[10..355] = 0.
        // k_lo = 354 * 100 / 10_000 = 3 -> -0.5 -> long 5000 bps; k_hi = 350 -> 0 -> short 0.
        let mut closes = [1000u64; 365];
        for c in closes.iter_mut().skip(200) {
            *c = 500;
        }
        assert_eq!(historical_var_bps(&closes).unwrap(), (5_000, 0));
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 5_000, init_short_bps: 1_000 }
        );
    }

    #[test]
    fn skewed_series_with_known_quantiles() {
        // Steps on chains 0..=9 (each changes one return, see `stepped`):
        //   losses: day 50 -> 500 (-50%), 61 -> 600 (-40%), 72 -> 700 (-30%), 83 -> 800 (-20%),
        //           94 -> 900 (-10%), 105 -> 990 (-1%)
        //   gains:  day 106 -> 1010 (+1%), 117 -> 1020, 128 -> 1030, 139 -> 1040 (+4%)
        // n = 355 returns; sorted: -50, -40, -30, -20, -10, -1, 0 x 345, +1, +2, +3, +4 (%).
        // k_lo = floor(0.01 * 354) = 3 -> s[3] = -20% -> long 2000 bps.
        // k_hi = floor(0.99 * 354) = floor(350.46) = 350 -> s[350] = the 345th zero (positions
        // 6..=350 are zeros) -> short 0 -> floor 10%. Heavily skewed: long 2000, short 0.
        let closes = stepped(&[
            (50, 500),
            (61, 600),
            (72, 700),
            (83, 800),
            (94, 900),
            (105, 990),
            (106, 1010),
            (117, 1020),
            (128, 1030),
            (139, 1040),
        ]);
        assert_eq!(historical_var_bps(&closes).unwrap(), (2_000, 0));

        // Shift the upper tail by one: add a fifth gain on chain 0 at day 150 (500 -> 505, +1%)...
        // now s[350] is the smallest of five gains: +1% exactly -> short exactly 100 bps (not 101:
        // 1010/1000 - 1 and 505/500 - 1 are exact at the 1e9 scale).
        let closes = stepped(&[
            (50, 500),
            (61, 600),
            (72, 700),
            (83, 800),
            (94, 900),
            (105, 990),
            (106, 1010),
            (117, 1020),
            (128, 1030),
            (139, 1040),
            (150, 505),
        ]);
        // sorted: 6 losses, 344 zeros (positions 6..=349), gains +1, +1, +2, +3, +4 at 350..=354
        assert_eq!(historical_var_bps(&closes).unwrap(), (2_000, 100));
    }

    #[test]
    fn ceilings_favour_the_protocol() {
        // 11 closes: one return, n = 1, k_lo = k_hi = 0.
        // 3 -> 2: r = -1/3 -> long ceil(3333.33) = 3334; short max(0, r) = 0
        let mut closes = [3u64; 11];
        closes[10] = 2;
        assert_eq!(historical_var_bps(&closes).unwrap(), (3_334, 0));
        // 3 -> 4: r = +1/3 -> short ceil(3333.33) = 3334; long 0
        closes[10] = 4;
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 3_334));
        // 900 -> 1000: r = 0.1111... -> 1112; 1000 -> 900: r = -0.1 exactly -> 1000
        let mut closes = [900u64; 11];
        closes[10] = 1000;
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 1_112));
        let mut closes = [1000u64; 11];
        closes[10] = 900;
        assert_eq!(historical_var_bps(&closes).unwrap(), (1_000, 0));
        // a gain just above a whole bps: 1_000_000_000 -> 1_010_000_001: r = 0.010000001 -> 101
        let mut closes = [1_000_000_000u64; 11];
        closes[10] = 1_010_000_001;
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 101));
        // a gain below 1e-9: floor(r * 1e9) = 0 but inexact -> 1 bps, not 0
        let mut closes = [u64::MAX - 1; 11];
        closes[10] = u64::MAX;
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 1));
        // a loss below 1e-9: floor = -1 -> 1 bps
        closes[10] = u64::MAX - 2;
        assert_eq!(historical_var_bps(&closes).unwrap(), (1, 0));
    }

    #[test]
    fn extreme_prices_saturate_without_panic() {
        // 1 -> u64::MAX: r ~ 1.8e19 -> saturates at u32::MAX bps
        let mut closes = [1u64; 11];
        closes[10] = u64::MAX;
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, u32::MAX));
        // u64::MAX -> 1: a loss of (almost) the whole price -> 10_000
        let mut closes = [u64::MAX; 11];
        closes[10] = 1;
        assert_eq!(historical_var_bps(&closes).unwrap(), (10_000, 0));
        // in margins both saturate to full margin
        let mut closes = [1u64; 365];
        for c in closes.iter_mut().skip(200) {
            *c = u64::MAX;
        }
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 1_000, init_short_bps: 10_000 }
        );
    }

    #[test]
    fn history_under_ninety_days_uses_defaults() {
        // 89 closes with a 50% crash: still 40% / 40% (not enough data)
        let mut closes = [1000u64; 90];
        for c in closes.iter_mut().skip(60) {
            *c = 500;
        }
        assert_eq!(
            margins_from_history(&closes[..89], true).unwrap(),
            SideMargins { init_long_bps: 4_000, init_short_bps: 4_000 }
        );
        // 90 closes: VaR applies. n = 80, k_lo = 79 / 100 = 0 -> -50% -> 5000; k_hi = 78 -> 0 -> floor
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 5_000, init_short_bps: 1_000 }
        );
        // no history at all
        assert_eq!(
            margins_from_history(&[], true).unwrap(),
            SideMargins { init_long_bps: 4_000, init_short_bps: 4_000 }
        );
        // 90 flat closes: VaR 0 -> the 10% floor, below the 40% default
        assert_eq!(
            margins_from_history(&[7u64; 90], true).unwrap(),
            SideMargins { init_long_bps: 1_000, init_short_bps: 1_000 }
        );
    }

    #[test]
    fn no_index_disables_longs() {
        // short history: longs disabled, shorts 80% (the no-index rule beats the 40% default)
        let expected = SideMargins { init_long_bps: 10_000, init_short_bps: 8_000 };
        assert_eq!(margins_from_history(&[], false).unwrap(), expected);
        assert_eq!(margins_from_history(&[1000u64; 89], false).unwrap(), expected);
        // a year of flat history: still 10_000 / 8_000 (VaR 10% < 80%)
        assert_eq!(margins_from_history(&[1000u64; 365], false).unwrap(), expected);
        // a year whose upper tail needs more than 80%: 1000 -> 1850 at day 200, so 10 returns of
        // +85% (k_hi = 350 lands among them) -> 8500 bps > 8000
        let mut closes = [1000u64; 365];
        for c in closes.iter_mut().skip(200) {
            *c = 1850;
        }
        assert_eq!(
            margins_from_history(&closes, false).unwrap(),
            SideMargins { init_long_bps: 10_000, init_short_bps: 8_500 }
        );
        assert!(leverage_disabled(margins_from_history(&closes, false).unwrap().init_long_bps));
    }

    #[test]
    fn ninety_percent_disables_leverage() {
        // crash 1000 -> 110: r = -89% -> 8900 bps, leverage still allowed (1.12x)
        let mut closes = [1000u64; 365];
        for c in closes.iter_mut().skip(200) {
            *c = 110;
        }
        let m = margins_from_history(&closes, true).unwrap();
        assert_eq!(m, SideMargins { init_long_bps: 8_900, init_short_bps: 1_000 });
        assert!(!leverage_disabled(m.init_long_bps));
        // crash 1000 -> 100: r = -90% -> 9000 bps >= 90% -> full margin, no leverage
        for c in closes.iter_mut().skip(200) {
            *c = 100;
        }
        assert_eq!(historical_var_bps(&closes).unwrap(), (9_000, 0));
        let m = margins_from_history(&closes, true).unwrap();
        assert_eq!(m, SideMargins { init_long_bps: 10_000, init_short_bps: 1_000 });
        assert!(leverage_disabled(m.init_long_bps));
        // a rally 1000 -> 3000: r = +200% -> 20_000 bps, capped at 10_000 on the short side
        for c in closes.iter_mut().skip(200) {
            *c = 3000;
        }
        assert_eq!(historical_var_bps(&closes).unwrap(), (0, 20_000));
        assert_eq!(
            margins_from_history(&closes, true).unwrap(),
            SideMargins { init_long_bps: 1_000, init_short_bps: 10_000 }
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        // empty and too short for a 10-day return
        assert!(historical_var_bps(&[]).is_err());
        assert!(historical_var_bps(&[1000u64; 10]).is_err());
        assert!(historical_var_bps(&[1000u64; 11]).is_ok());
        // a zero close anywhere
        let mut closes = [1000u64; 100];
        closes[42] = 0;
        assert!(historical_var_bps(&closes).is_err());
        assert!(margins_from_history(&closes, true).is_err());
        assert!(margins_from_history(&closes[..50], true).is_err()); // even under 90 days
        assert!(margins_from_history(&closes, false).is_err());
        assert!(margins_from_history(&[0u64], true).is_err());
        // more than a year: refused (the caller passes the latest 365), exactly 365 is fine
        let year_and_a_day = [1000u64; 366];
        assert!(historical_var_bps(&year_and_a_day).is_err());
        assert!(margins_from_history(&year_and_a_day, true).is_err());
        assert!(historical_var_bps(&year_and_a_day[1..]).is_ok());
    }
}
