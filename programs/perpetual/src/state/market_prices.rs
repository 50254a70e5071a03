//! A market's prices: the spot index after its guard rails and jump check, and the
//! dual-price mark. Health values positions at the mark for maintenance (liquidation) and
//! at the less favourable of index and mark for opening risk and withdrawing.
use anchor_lang::prelude::*;

use super::{oracle_price_per_lot, Market};
use crate::error::{checked, PerpError};
use crate::math::fixed_point::mul_bps;
use crate::math::mark::{self, MA_WINDOW_SECS};
use crate::math::I80F48;
use crate::params::{INDEX_JUMP_CONFIRM_SECS, STABLE_PRICE_STEP_BPS};

/// A reading's jump from its reference, as an index update sees it (side: 1 up, -1 down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    /// Within the guard.
    None,
    /// Past the guard, not yet held long enough (or a new jump on the other side).
    Pending(i8),
    /// Held long enough, or following a confirmed move within the guard of its index.
    Confirmed(i8),
    /// Past the guard of an index a confirmed jump set: a new confirmation starts.
    Restarted(i8),
}

#[derive(Clone, Copy, Debug)]
pub struct Prices {
    /// The index a reading passed as, or the last good one if this reading jumped. For a
    /// market without an index: the mark.
    pub index: I80F48,
    /// The raw reading, when the market has an index (recorded by mark samples).
    pub raw_index: Option<I80F48>,
    /// What the reading's jump is, if any (side 1 up, -1 down).
    pub jump: Jump,
    pub mark: I80F48,
    /// The slow price (the index until the first sample).
    pub stable: I80F48,
    /// The market's oracles are down: index and mark are its last good index.
    pub down: bool,
}

impl Prices {
    /// The reading jumped from its reference and the jump is not (yet) confirmed: `index`
    /// is the last good one.
    pub fn jumped(&self) -> bool {
        matches!(self.jump, Jump::Pending(_) | Jump::Restarted(_))
    }
}

impl Market {
    /// Moving averages as of the last sample, if that sample is under an hour old.
    pub fn cached_averages(&self, now: i64) -> (Option<I80F48>, Option<I80F48>) {
        if self.mark_sample_count == 0 || now.saturating_sub(self.mark_last_sample_ts) >= MA_WINDOW_SECS {
            return (None, None);
        }
        (Some(self.mark_ma.get()), Some(self.index_ma.get()))
    }

    pub fn last_trade(&self) -> Option<I80F48> {
        (self.last_trade_price > 0).then(|| I80F48::from_num(self.last_trade_price))
    }

    /// Index and mark from the index cached by the last instruction that read the oracle,
    /// which must be no older than that oracle's own staleness limit; while the oracles are
    /// down, the last good index.
    pub fn cached_prices(&self, now: i64) -> Result<Prices> {
        let (ma, _) = self.cached_averages(now);
        let f = mark::funding_fraction(self.funding_rate_ppbh)?;
        if !self.has_index() {
            return self.prices_without_index(f, ma);
        }
        if self.oracles_down() {
            return self.prices_while_down();
        }
        // As old as the oracle the market reads may be (the fallback has its own limit).
        let max_age = self.reading_oracle().map_or(self.oracle_max_age_secs, |o| o.max_age_secs);
        require!(now.saturating_sub(self.index_ts) <= max_age as i64, PerpError::StaleOracle);
        let index = self.index_price.get();
        let mark = mark::mark_price(Some(index), f, ma, self.last_trade())?;
        Ok(Prices { index, raw_index: None, jump: Jump::None, mark, stable: self.stable_or(index), down: false })
    }

    /// Every oracle failed at the last refresh: the last good index stands for index and
    /// mark (trades and the book move neither while nothing anchors them).
    fn prices_while_down(&self) -> Result<Prices> {
        let last = self.index_price.get();
        require!(last > 0, PerpError::OraclesDown);
        Ok(Prices {
            index: last,
            raw_index: None,
            jump: Jump::None,
            mark: last,
            stable: self.stable_or(last),
            down: true,
        })
    }

    /// Reads the oracle (every guard rail applies) and derives index and mark.
    pub fn prices(&self, oracle: &AccountInfo, now: i64) -> Result<Prices> {
        let (ma, index_ma) = self.cached_averages(now);
        let f = mark::funding_fraction(self.funding_rate_ppbh)?;
        if !self.has_index() {
            return self.prices_without_index(f, ma);
        }
        if self.oracles_down() {
            require!(self.is_oracle_account(oracle.key), PerpError::WrongOracle);
            return self.prices_while_down();
        }
        let (index, raw, jump) = self.read_index(oracle, now, index_ma)?;
        let mark = mark::mark_price(Some(index), f, ma, self.last_trade())?;
        Ok(Prices { index, raw_index: Some(raw), jump, mark, stable: self.stable_or(index), down: false })
    }

    /// The price fills must lie near: `prices(..).index`, without deriving the mark when the
    /// market has an index (the order book's band check).
    pub fn band_reference(&self, oracle: &AccountInfo, now: i64) -> Result<I80F48> {
        if !self.has_index() || self.oracles_down() {
            return Ok(self.prices(oracle, now)?.index);
        }
        Ok(self.read_index(oracle, now, self.cached_averages(now).1)?.0)
    }

    /// (index, raw reading, jump): the oracle after its guard rails and the jump check. A
    /// reading that jumps from its reference is refused (the last good index stands) until
    /// index updates have seen the oracle on that side for `INDEX_JUMP_CONFIRM_SECS`; from
    /// then on the index follows readings on that side that stay within the guard of the
    /// confirmed index. A reading that jumps from the confirmed index starts a new
    /// confirmation: one confirmed move never waves a further one through.
    fn read_index(&self, oracle: &AccountInfo, now: i64, index_ma: Option<I80F48>) -> Result<(I80F48, I80F48, Jump)> {
        let raw = oracle_price_per_lot(self, oracle, now)?;
        // Without an hour-fresh average (a new market, a stalled crank) the reading is checked
        // against the last good index instead, so a pump is never waved through at once.
        let last_good = self.index_price.get();
        let reference = index_ma.or((last_good > 0).then_some(last_good));
        if !mark::index_jumped(raw, reference, self.index_jump_bps) {
            return Ok((raw, raw, Jump::None));
        }
        let side: i8 = if reference.is_some_and(|r| raw < r) { -1 } else { 1 };
        let tracked = self.index_jump_side == side && self.index_jump_since_ts > 0;
        let confirm_ts = self.index_jump_since_ts.saturating_add(INDEX_JUMP_CONFIRM_SECS);
        // The index took a reading at or after the confirmation time: this jump is confirmed.
        let confirmed = tracked && self.index_ts >= confirm_ts;
        let (held, restart) = if confirmed {
            let continues = !mark::index_jumped(raw, Some(last_good), self.index_jump_bps);
            (continues, !continues)
        } else {
            (tracked && now >= confirm_ts, false)
        };
        if held {
            return Ok((raw, raw, Jump::Confirmed(side)));
        }
        require!(last_good > 0, PerpError::IndexJumped);
        Ok((last_good, raw, if restart { Jump::Restarted(side) } else { Jump::Pending(side) }))
    }

    /// Records what an index update saw of a jump: its start on a side, kept while readings
    /// stay there, restarted by a jump from a confirmed index, cleared by a reading within
    /// the guard.
    pub fn track_index_jump(&mut self, jump: Jump, now: i64) {
        match jump {
            Jump::None => {
                self.index_jump_since_ts = 0;
                self.index_jump_side = 0;
            }
            Jump::Pending(side) if self.index_jump_side == side && self.index_jump_since_ts > 0 => {}
            Jump::Confirmed(_) => {}
            Jump::Pending(side) | Jump::Restarted(side) => {
                self.index_jump_since_ts = now;
                self.index_jump_side = side;
            }
        }
    }

    /// A market without a spot index: the mark from the book alone stands for the index.
    fn prices_without_index(&self, f: I80F48, ma: Option<I80F48>) -> Result<Prices> {
        let mark = mark::mark_price(None, f, ma, self.last_trade()).map_err(|_| error!(PerpError::NoMarkPrice))?;
        Ok(Prices { index: mark, raw_index: None, jump: Jump::None, mark, stable: self.stable_or(mark), down: false })
    }

    fn stable_or(&self, fallback: I80F48) -> I80F48 {
        let stable = self.stable_price.get();
        if stable > 0 {
            stable
        } else {
            fallback
        }
    }

    /// Moves the stable price toward `target` by at most `STABLE_PRICE_STEP_BPS`.
    pub fn step_stable_price(&mut self, target: I80F48) -> Result<()> {
        let stable = self.stable_price.get();
        if stable <= 0 {
            self.stable_price.set(target);
            return Ok(());
        }
        let step = mul_bps(stable, STABLE_PRICE_STEP_BPS)?;
        let (lo, hi) = checked(stable.checked_sub(step).zip(stable.checked_add(step)))?;
        self.stable_price.set(target.clamp(lo, hi));
        Ok(())
    }
}
