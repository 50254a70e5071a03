//! The rule checks: a small reference model of margin, written from first principles (the
//! protocol's rules in DESIGN.md and the README's "Prices"), and the rule each step had to
//! obey, checked against it after the step (accepted or refused).
//!
//! The model reads only account bytes (margin accounts, markets, the exchange) and the
//! oracle price the harness last published; it never calls the programs' health or mark
//! code. Amounts are exact: every value is an `i128` in units of `2^-48 / 10_000` of a
//! native unit (`ONE` per native unit), so prices and funding indexes (48 fractional bits)
//! times lots times basis points stay integers and nothing rounds. The programs compute in
//! `I80F48` and truncate a requirement below 2^-48 of a unit; with these inputs an exact
//! value never lies that close to a boundary, so no tolerance is needed there. Where the
//! protocol rounds on purpose (funding settled: payers round up, receivers down; fees and
//! transfers: pay rounded up, receive rounded down) the model rounds the same way, in the
//! protocol's favour, as the rule says.
use super::state::*;
use super::*;
use fixed::types::I80F48;
use perpetual::state::{MarginAccount, Market, OracleSource};
use std::collections::HashMap;

/// One native unit in model units.
const ONE: i128 = (1i128 << 48) * 10_000;
const BPS: i128 = 10_000;

// ---------------------------------------------------------------------------------------
// What the step was meant to do (recorded by `step`)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Risk {
    /// `perpetual::liquidate`: the other account takes the position over.
    Takeover,
    /// `orderbook::liquidate_order`: the position is closed through the book.
    Order,
    Early,
    Deleverage,
}

#[derive(Clone, Debug, Default)]
pub(super) enum Intent {
    #[default]
    None,
    Withdraw {
        account: Pubkey,
        amount: u64,
    },
    /// A place or replace through the book by `account`.
    Taker {
        account: Pubkey,
        market: Pubkey,
    },
    /// The test trader's reservation for a maker, refused.
    Reserve {
        account: Pubkey,
        market: Pubkey,
        bid: i64,
        ask: i64,
    },
    /// The test trader's single fill (`settle_fills`).
    Fill {
        taker: Pubkey,
        market: Pubkey,
        fill: Fill,
    },
    Risk {
        kind: Risk,
        account: Pubkey,
        /// The liquidator or counterparty (None: a liquidation order).
        other: Option<Pubkey>,
        market: Pubkey,
        lots: u64,
    },
    Underwater {
        account: Pubkey,
        cover: bool,
    },
    FinalSettle {
        market: Pubkey,
        lo: u64,
        hi: u64,
    },
    Sample {
        market: Pubkey,
    },
    /// `settle_funding` of one account's position.
    Funding {
        account: Pubkey,
        market: Pubkey,
    },
    /// `orderbook::revoke_seat` of one account's seat.
    Revoke {
        account: Pubkey,
        market: Pubkey,
    },
}

// ---------------------------------------------------------------------------------------
// The state the model reads
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
pub(super) struct Snap {
    now: i64,
    insurance: u64,
    accounts: HashMap<Pubkey, (MarginAccount, Vec<Position>)>,
    markets: HashMap<Pubkey, Market>,
    /// The oracle reading (quote native per lot) of markets with an index.
    raw: HashMap<Pubkey, i64>,
    /// Lots held pending in a book's seat, by (margin account, market): fills the account's
    /// position does not show until the seat settles.
    pending: HashMap<(Pubkey, Pubkey), i64>,
}

pub(super) async fn snap(env: &mut TestEnv, st: &State) -> Snap {
    let mut accounts = HashMap::new();
    for u in &st.users {
        accounts.insert(u.margin_account, env.margin(&u.margin_account).await);
    }
    let mut markets = HashMap::new();
    let mut raw = HashMap::new();
    for m in st.markets.iter().filter(|m| !m.closed) {
        let state = env.market_state(&m.cookie.market).await;
        if m.cookie.kind != OracleKind::None {
            // 1 lot = 1 base unit, quote and oracle at 6 decimals: what the oracle the market
            // reads last published is already quote native per lot.
            let reading = if state.oracle_source == OracleSource::Fallback as u8 { 1 } else { 0 };
            raw.insert(m.cookie.market, m.published[reading]);
        }
        markets.insert(m.cookie.market, state);
    }
    let mut pending = HashMap::new();
    for m in st.markets.iter().filter(|m| !m.closed) {
        let Some(book) = m.book else { continue };
        let Some(account) = env.account(&book.venue.book).await else { continue };
        let Ok(b) = BookRef::parse(&account.data) else { continue };
        for seat in b.seats.iter().filter(|s| !s.is_free() && s.pending_lots() != 0) {
            pending.insert((seat.margin_account, m.cookie.market), seat.pending_lots());
        }
    }
    let now = env.now().await;
    Snap { now, insurance: env.exchange_state().await.insurance_fund, accounts, markets, raw, pending }
}

// ---------------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------------

/// A market's prices and margins as an instruction sees them at `now`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Px {
    index: I80F48,
    mark: I80F48,
    stable: I80F48,
    /// The funding index moved to now.
    funding: I80F48,
    /// (long, short) basis points.
    init: (u16, u16),
    maint: (u16, u16),
    band: u16,
    /// The market's funding variation moved to now (`sum |delta I|`): a pending seat fill
    /// owes at most its growth since the seat's grant.
    funding_variation: I80F48,
    maker_fee_ppm: i32,
    /// Every oracle of the market failed: (long, short) prices for opening risk and
    /// withdrawals, the last good index moved against the position by its initial margin
    /// and one more 2^-48.
    down: Option<(I80F48, I80F48)>,
}

impl Px {
    /// Opening risk and withdrawals: the least favourable of index, mark and stable price
    /// for the position's side (a flat position at the mark), and of the down price.
    fn conservative(&self, lots: i64) -> I80F48 {
        let (low, high) = self.down.unwrap_or((self.mark, self.mark));
        match lots.signum() {
            1 => self.index.min(self.mark).min(self.stable).min(low),
            -1 => self.index.max(self.mark).max(self.stable).max(high),
            _ => self.mark,
        }
    }
}

fn median(a: I80F48, b: I80F48, c: I80F48) -> I80F48 {
    let mut v = [a, b, c];
    v.sort();
    v[1]
}

/// `F`: the funding rate over 8 hours, within +-4%.
fn funding_fraction(rate_ppbh: i64) -> I80F48 {
    let period = rate_ppbh.saturating_mul(8).clamp(-40_000_000, 40_000_000);
    I80F48::from_num(period) / I80F48::from_num(1_000_000_000)
}

/// The mark from its three inputs (README: `median(index*(1+F), index + MA(mid - index),
/// last)`; no samples: `MA = 0`; no trade yet: `last = index*(1+F)`), or without an index
/// `MA(last + mid) / 2`, else the last trade.
fn mark_of(index: Option<I80F48>, rate_ppbh: i64, ma: Option<I80F48>, last: Option<I80F48>) -> Option<I80F48> {
    match index {
        Some(index) => {
            let p1 = index * (I80F48::ONE + funding_fraction(rate_ppbh));
            let p2 = index + ma.unwrap_or(I80F48::ZERO);
            Some(median(p1, p2, last.unwrap_or(p1)))
        }
        None => ma.map(|ma| ma / I80F48::from_num(2)).or(last),
    }
}

fn last_trade(m: &Market) -> Option<I80F48> {
    (m.last_trade_price > 0).then(|| I80F48::from_num(m.last_trade_price))
}

/// Prices `m` at `now` from its bytes and the oracle's reading `raw`: the reading is the
/// index unless it jumped more than `index_jump_bps` from the hour's average of readings
/// (or, without a fresh average, from the last good index), then the last good index; the
/// averages count while the last sample is under an hour old; the stable price is the
/// index until it is first set. Err: the refusal the program would give.
pub(super) fn price(m: &Market, raw: Option<i64>, now: i64) -> Result<Px, &'static str> {
    let mut px = Px {
        index: I80F48::ZERO,
        mark: I80F48::ZERO,
        stable: I80F48::ZERO,
        funding: m.funding_index.get(),
        init: (m.init_margin_long_bps, m.init_margin_short_bps),
        maint: (m.maint_margin_long_bps, m.maint_margin_short_bps),
        band: m.price_band_bps,
        funding_variation: m.funding_variation.get(),
        maker_fee_ppm: m.maker_fee_ppm,
        down: None,
    };
    if m.is_final_settled() {
        let p = m.settlement_price.get();
        (px.index, px.mark, px.stable) = (p, p, p);
        return Ok(px);
    }
    if m.has_index() && m.oracle_source == OracleSource::Down as u8 {
        // Nothing anchors the book: the last good index is index and mark; the band widens
        // by the larger initial margin (at most 50%) so positions can still be closed.
        let last = m.index_price.get();
        if last <= 0 {
            return Err("OraclesDown");
        }
        let stable = m.stable_price.get();
        (px.index, px.mark, px.stable) = (last, last, if stable > 0 { stable } else { last });
        let widen = m.init_margin_long_bps.max(m.init_margin_short_bps);
        px.band = m.price_band_bps.saturating_add(widen).min(5_000);
        let shift = |bps: u16| (last * I80F48::from_num(bps)).checked_div_int(10_000).expect("no overflow");
        let low = (last - shift(m.init_margin_long_bps) - I80F48::DELTA).max(I80F48::ZERO);
        px.down = Some((low, last + shift(m.init_margin_short_bps) + I80F48::DELTA));
        accrue_funding(&mut px, m, now);
        return Ok(px);
    }
    let fresh = m.mark_sample_count > 0 && now - m.mark_last_sample_ts < 3_600;
    let (ma, index_ma) = if fresh { (Some(m.mark_ma.get()), Some(m.index_ma.get())) } else { (None, None) };
    let index = if m.has_index() {
        let raw = I80F48::from_num(raw.expect("a reading for a market with an index"));
        let last_good = m.index_price.get();
        let reference = index_ma.or((last_good > 0).then_some(last_good));
        // |raw - ref| > ref * jump / 10_000, exactly (on the 48-bit fractions).
        let far = |r: I80F48| (raw - r).abs().to_bits() * BPS > r.to_bits() * m.index_jump_bps as i128;
        let jumped = reference.is_some_and(far);
        // A jump held on one side for the confirmation time becomes the index; once the index
        // took a reading after that time, readings within the guard of it follow, and one
        // past it waits for a new confirmation.
        let side = if reference.is_some_and(|r| raw < r) { -1 } else { 1 };
        let since = m.index_jump_since_ts;
        let tracked = since > 0 && m.index_jump_side == side;
        let confirm_at = since + perpetual::params::INDEX_JUMP_CONFIRM_SECS;
        let held = tracked && if m.index_ts >= confirm_at { !far(last_good) } else { now >= confirm_at };
        let refused = jumped && !held;
        if refused && last_good <= 0 {
            return Err("IndexJumped");
        }
        Some(if refused { last_good } else { raw })
    } else {
        None
    };
    px.mark = mark_of(index, m.funding_rate_ppbh, ma, last_trade(m)).ok_or("NoMarkPrice")?;
    if px.mark <= 0 {
        return Err("NonPositiveMarkPrice");
    }
    px.index = index.unwrap_or(px.mark);
    let stable = m.stable_price.get();
    px.stable = if stable > 0 { stable } else { px.index };
    accrue_funding(&mut px, m, now);
    Ok(px)
}

/// I += T * R * P, at the index, R in parts per billion per hour.
fn accrue_funding(px: &mut Px, m: &Market, now: i64) {
    if now > m.funding_last_update_ts {
        let rate_time = (now - m.funding_last_update_ts) * m.funding_rate_ppbh;
        let delta = px.index * I80F48::from_num(rate_time) / I80F48::from_num(3_600_000_000_000i64);
        px.funding += delta;
        px.funding_variation += delta.abs();
    }
}

impl Snap {
    fn effective_lots(&self, account: &Pubkey, market: &Pubkey) -> i64 {
        self.position(account, market).base_lots + self.pending.get(&(*account, *market)).copied().unwrap_or(0)
    }

    fn prices(&self, market: &Pubkey) -> Result<Px, &'static str> {
        let m = self.markets.get(market).ok_or("MarketClosed")?;
        price(m, self.raw.get(market).copied(), self.now)
    }

    fn account(&self, key: &Pubkey) -> Acct {
        let (h, ps) = &self.accounts[key];
        Acct { collateral: h.collateral, positions: ps.iter().filter(|p| !p.is_free()).copied().collect() }
    }

    fn position(&self, account: &Pubkey, market: &Pubkey) -> Position {
        self.account(account).position(market)
    }
}

// ---------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------

/// An account as the model sees it: collateral and its non-free positions.
#[derive(Clone, Debug)]
pub(super) struct Acct {
    collateral: i64,
    positions: Vec<Position>,
}

impl Acct {
    fn position(&self, market: &Pubkey) -> Position {
        self.positions.iter().find(|p| p.market == *market).copied().unwrap_or_default()
    }

    fn position_mut(&mut self, market: &Pubkey) -> &mut Position {
        if let Some(i) = self.positions.iter().position(|p| p.market == *market) {
            return &mut self.positions[i];
        }
        self.positions.push(Position { market: *market, ..Default::default() });
        self.positions.last_mut().unwrap()
    }

    /// Settles the position's funding in `market` at `px.funding`, as every trade and risk
    /// instruction does first: a payer pays the amount rounded up, a receiver gets it
    /// rounded down (the protocol keeps the dust).
    fn settled(mut self, market: &Pubkey, px: &Px) -> Self {
        let p = self.position_mut(market);
        let owed = owed(px, p);
        p.cached_funding_index = px.funding.into();
        self.collateral -= ceil_div(owed, ONE) as i64;
        self
    }
}

/// Exact funding owed since the position's cached index (positive: it pays).
fn owed(px: &Px, p: &Position) -> i128 {
    (px.funding.to_bits() - p.cached_funding_index.get().to_bits()) * p.base_lots as i128 * BPS
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -(-a).div_euclid(b)
}

/// Value of `lots` at `price`.
fn value(price: I80F48, lots: i64) -> i128 {
    price.to_bits() * lots as i128 * BPS
}

/// Margin requirement of `lots` at `price`, by the side the lots are on (flat: long).
fn requirement(price: I80F48, lots: i64, (long, short): (u16, u16)) -> i128 {
    let bps = if lots >= 0 { long } else { short };
    price.to_bits() * lots.unsigned_abs() as i128 * bps as i128
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Health {
    /// Collateral plus positions at initial margin and conservative prices, open orders at
    /// their worst case.
    initial: i128,
    /// The same at maintenance margin and the mark.
    maintenance: i128,
    /// Collateral plus positions at the mark, less unsettled funding.
    equity: i128,
    /// Maintenance requirement of the positions alone, at the mark.
    maint_req: i128,
}

/// One position's health at `price` and `margins`: the worst of any set of its kinds of
/// open orders filling entirely (reservation bids and asks: each lot costs up to the band;
/// a seat allowance's bids and asks: each lot at its limit price, less a positive maker fee
/// rounded up and the funding variation since the grant), less funding owed.
fn position_health(p: &Position, px: &Px, price: I80F48, margins: (u16, u16)) -> i128 {
    let band_loss = |lots: u64| price.to_bits() * lots as i128 * px.band as i128;
    let fee = |limit: u64| {
        if px.maker_fee_ppm <= 0 {
            I80F48::ZERO
        } else {
            I80F48::from_num(limit) * I80F48::from_num(px.maker_fee_ppm) / I80F48::from_num(1_000_000) + I80F48::ONE
        }
    };
    let slack = (px.funding_variation - p.seat_funding_variation.get()).max(I80F48::ZERO);
    let bid = price - I80F48::from_num(p.seat_bid_limit) - fee(p.seat_bid_limit) - slack;
    let ask = I80F48::from_num(p.seat_ask_limit) - price - fee(p.seat_ask_limit) - slack;
    let kinds: Vec<(i64, i128)> = [
        (p.open_bid_lots as i64, -band_loss(p.open_bid_lots)),
        (-(p.open_ask_lots as i64), -band_loss(p.open_ask_lots)),
        (p.seat_bid_lots as i64, bid.to_bits() * p.seat_bid_lots as i128 * BPS),
        (-(p.seat_ask_lots as i64), ask.to_bits() * p.seat_ask_lots as i128 * BPS),
    ]
    .into_iter()
    .filter(|(lots, _)| *lots != 0)
    .collect();
    let held = value(price, p.base_lots);
    let mut worst = i128::MAX;
    for corner in 0u32..(1 << kinds.len()) {
        let (mut lots, mut v) = (p.base_lots, held);
        for (i, (l, val)) in kinds.iter().enumerate() {
            if corner & (1 << i) != 0 {
                lots += l;
                v += val;
            }
        }
        worst = worst.min(v - requirement(price, lots, margins));
    }
    worst - owed(px, p)
}

/// The account's health with every position priced by `prices` (None: a market the
/// program could not price, so it would have refused).
fn health(a: &Acct, prices: &dyn Fn(&Pubkey) -> Option<Px>) -> Option<Health> {
    let c = a.collateral as i128 * ONE;
    let mut h = Health { initial: c, maintenance: c, equity: c, maint_req: 0 };
    for p in &a.positions {
        let px = prices(&p.market)?;
        h.initial += position_health(p, &px, px.conservative(p.base_lots), px.init);
        h.maintenance += position_health(p, &px, px.mark, px.maint);
        h.equity += value(px.mark, p.base_lots) - owed(&px, p);
        h.maint_req += requirement(px.mark, p.base_lots, px.maint);
    }
    Some(h)
}

/// `a * b` as a sign and 256-bit magnitude (high, low), for comparing ratios exactly.
fn wide(a: i128, b: i128) -> (bool, u128, u128) {
    let (x, y) = (a.unsigned_abs(), b.unsigned_abs());
    let (x1, x0, y1, y0) = (x >> 64, x & u64::MAX as u128, y >> 64, y & u64::MAX as u128);
    let (p00, p01, p10, p11) = (x0 * y0, x0 * y1, x1 * y0, x1 * y1);
    let mid = (p00 >> 64) + (p01 & u64::MAX as u128) + (p10 & u64::MAX as u128);
    let lo = (p00 & u64::MAX as u128) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    ((a < 0) != (b < 0) && (hi, lo) != (0, 0), hi, lo)
}

fn cmp_wide(a: (bool, u128, u128), b: (bool, u128, u128)) -> std::cmp::Ordering {
    match (a.0, b.0) {
        (false, true) => std::cmp::Ordering::Greater,
        (true, false) => std::cmp::Ordering::Less,
        (false, false) => (a.1, a.2).cmp(&(b.1, b.2)),
        (true, true) => (b.1, b.2).cmp(&(a.1, a.2)),
    }
}

/// The margin ratio equity / maintenance requirement, compared exactly: `after` against
/// `before`. A zero requirement is +infinity with equity >= 0, -infinity below.
fn ratio_cmp(after: &Health, before: &Health) -> std::cmp::Ordering {
    let class = |h: &Health| match (h.maint_req > 0, h.equity >= 0) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    };
    match (class(after), class(before)) {
        (1, 1) => cmp_wide(wide(after.equity, before.maint_req), wide(before.equity, after.maint_req)),
        (x, y) => x.cmp(&y),
    }
}

fn shrank_without_flip(before: i64, after: i64) -> bool {
    after.unsigned_abs() < before.unsigned_abs() && (after == 0 || (after > 0) == (before > 0))
}

fn units(v: i128) -> String {
    format!("{:.6}", v as f64 / ONE as f64)
}

// ---------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------

/// What the account may withdraw by the model: its initial health, rounded down.
pub(super) async fn free_collateral(env: &mut TestEnv, st: &State, account: &Pubkey) -> i64 {
    let now = snap(env, st).await;
    health(&now.account(account), &|m| now.prices(m).ok()).map_or(0, |h| h.initial.div_euclid(ONE) as i64)
}

/// The op kinds that have a rule to check (and so a snapshot before they run).
pub(super) fn has_rule(kind: &str) -> bool {
    matches!(
        kind,
        "withdraw"
            | "place"
            | "replace"
            | "settle_fills"
            | "liquidate"
            | "liquidate_order"
            | "early_deleverage"
            | "deleverage"
            | "cover_with_insurance"
            | "mark_underwater"
            | "final_settle_market"
            | "sample_mark"
            | "settle_funding"
            | "revoke_seat"
    )
}

/// Counts a rule checked and fails the case, naming the rule, when it does not hold.
/// The case fails in `finish` (the first broken rule of the step is kept).
fn rule(st: &mut State, name: &'static str, holds: bool, detail: impl FnOnce() -> String) {
    *st.rule_checks.entry(name).or_default() += 1;
    if !holds && st.broken.is_none() {
        st.broken = Some((name, detail()));
    }
}

/// Fails the case with the step's broken rule, if any. Every margin rule stands on the
/// model's mark, which the programs store only when a mark sample runs; so before blaming
/// the rule, the mark itself is put to the test: the clock moves on a minute, the oracles
/// are refreshed and every live book samples its mark (the case is lost anyway, so the
/// state may change). A stored mark that is not the median of its inputs is the root
/// cause and is reported as `mark-is-median`. (Twice, at moved prices: a single fresh
/// sample often makes two of the three inputs equal, where any order statistic agrees.)
async fn finish(env: &mut TestEnv, st: &mut State) {
    let Some((name, detail)) = st.broken.take() else { return };
    if !matches!(name, "mark-is-median" | "mark-sample-once-a-minute" | "final-settlement-band") {
        // Twice, the index 5% up then down, so that the three inputs differ.
        for step_bps in [500, -500] {
            env.warp(61).await;
            for m in st.markets.iter_mut().filter(|m| !m.closed && m.cookie.kind != OracleKind::None) {
                m.price = m.price * (10_000 + step_bps) / 10_000;
            }
            refresh_oracles(env, st).await;
            for mi in 0..st.markets.len() {
                let Some(book) = st.markets[mi].book.filter(|_| !st.markets[mi].closed) else { continue };
                if send(env, &[orderbook::sdk::sample_mark(&book.venue)], &[]).await.is_err() {
                    continue;
                }
                let m = env.market_state(&book.market.market).await;
                if let Some(bad) = mark_not_median(&m) {
                    panic!(
                        "rule `mark-is-median` broken: {bad} (found checking the mark after `{name}` broke: {detail})"
                    );
                }
            }
        }
    }
    panic!("rule `{name}` broken: {detail}");
}

/// The stored mark against the median of its stored inputs (None: it is the median).
fn mark_not_median(m: &Market) -> Option<String> {
    let ma = (m.mark_sample_count > 0).then(|| m.mark_ma.get());
    let index = m.has_index().then(|| m.index_price.get());
    let want = mark_of(index, m.funding_rate_ppbh, ma, last_trade(m));
    let got = m.mark_price.get();
    (want != Some(got)).then(|| {
        format!(
            "stored mark {got}, but median(index*(1+F), index + MA, last) = {want:?} (index {index:?}, MA {ma:?}, last {}, rate {})",
            m.last_trade_price, m.funding_rate_ppbh
        )
    })
}

/// A growing reservation is covered at its worst case: checked inline by `step` right after
/// the test trader's `reserve` for a maker (the step later gives the rest back).
pub(super) async fn check_reservation(env: &mut TestEnv, st: &mut State, account: &Pubkey) {
    let now = snap(env, st).await;
    let Some(h) = health(&now.account(account), &|m| now.prices(m).ok()) else { return };
    rule(st, "reservation-covered", h.initial >= 0, || {
        format!("{account} grew a reservation to initial health {}", units(h.initial))
    });
    finish(env, st).await;
}

/// Checks the rule `st.intent` had to obey, against the state before the step and now.
pub(super) async fn check_step(env: &mut TestEnv, st: &mut State, before: &Snap, out: &Out) {
    let intent = st.intent.take();
    let refused = match out {
        Out::Done => None,
        Out::Refused(name) => Some(name.as_str()),
        Out::Skip => return,
    };
    if matches!(intent, Intent::None) {
        return;
    }
    let after = snap(env, st).await;
    let px_before = |m: &Pubkey| before.prices(m).ok();
    let px_after = |m: &Pubkey| after.prices(m).ok();
    match intent {
        Intent::None => {}
        Intent::Withdraw { account, amount } => match refused {
            None => {
                let Some(h) = health(&after.account(&account), &px_after) else { return };
                rule(st, "withdraw-initial-margin", h.initial >= 0, || {
                    format!("withdrawing {amount} left {account} at initial health {} < 0", units(h.initial))
                });
            }
            Some("InsufficientInitialMargin") => {
                let mut a = before.account(&account);
                a.collateral -= amount as i64;
                let Some(h) = health(&a, &px_before) else { return };
                rule(st, "withdraw-refusal", h.initial < 0, || {
                    format!(
                        "withdrawing {amount} refused, but {account} would keep initial health {}",
                        units(h.initial)
                    )
                });
            }
            _ => {}
        },
        Intent::Taker { account, market } => {
            if refused.is_none() {
                taker_rule(st, before, &after, &account, &market, "place");
                // A seat allowance that grew (more lots, or a limit worse for the account)
                // was granted at initial margin with it filled at its worst.
                let (b, a) = (before.position(&account, &market), after.position(&account, &market));
                let grew = a.seat_bid_lots > b.seat_bid_lots
                    || a.seat_ask_lots > b.seat_ask_lots
                    || (a.seat_bid_lots > 0 && a.seat_bid_limit > b.seat_bid_limit)
                    || (a.seat_ask_lots > 0 && b.seat_ask_lots > 0 && a.seat_ask_limit < b.seat_ask_limit);
                if grew {
                    let Some(h) = health(&after.account(&account), &px_after) else { return };
                    rule(st, "allowance-covered", h.initial >= 0, || {
                        format!("{account}'s seat allowance grew to initial health {}", units(h.initial))
                    });
                }
            }
        }
        Intent::Reserve { account, market, bid, ask } => {
            if refused == Some("InsufficientInitialMargin") {
                let mut a = before.account(&account);
                let p = a.position_mut(&market);
                p.open_bid_lots = (p.open_bid_lots as i64 + bid) as u64;
                p.open_ask_lots = (p.open_ask_lots as i64 + ask) as u64;
                let Some(h) = health(&a, &px_before) else { return };
                rule(st, "reservation-refusal", h.initial < 0, || {
                    format!(
                        "reserving ({bid}, {ask}) refused, but {account} would keep initial health {}",
                        units(h.initial)
                    )
                });
            }
        }
        Intent::Fill { taker, market, fill } => match refused {
            None => taker_rule(st, before, &after, &taker, &market, "settle_fills"),
            Some("MarginRuleViolated") => fill_refusal(st, before, &taker, &market, &fill),
            _ => {}
        },
        Intent::Risk { kind, account, other, market, lots } => {
            risk_rule(st, before, &after, kind, &account, other, &market, lots, refused)
        }
        Intent::Underwater { account, cover } => {
            let Some(h) = health(&before.account(&account), &px_before) else { return };
            let (hb, ha) = (&before.accounts[&account].0, &after.accounts[&account].0);
            match (refused, cover) {
                (None, true) => {
                    let paid = ha.collateral - hb.collateral;
                    let deficit = ceil_div(-h.equity, ONE) as i64;
                    rule(st, "cover-only-underwater", h.equity < 0, || {
                        format!("insurance covered {account} at equity {}", units(h.equity))
                    });
                    rule(
                        st,
                        "cover-pays-the-deficit",
                        paid == deficit.min(before.insurance as i64)
                            && paid as u64 == before.insurance - after.insurance,
                        || format!("insurance paid {paid} of a deficit {deficit} (fund {})", before.insurance),
                    );
                }
                (None, false) => {
                    let holds = if h.equity < 0 {
                        ha.underwater_since != 0
                    } else {
                        hb.underwater_since != 0 && ha.underwater_since == 0
                    };
                    rule(st, "underwater-mark", holds, || {
                        format!("marked {account} since {} at equity {}", ha.underwater_since, units(h.equity))
                    });
                }
                (Some("NotUnderwater"), _) => {
                    let holds = h.equity >= 0 && (cover || hb.underwater_since == 0);
                    rule(st, "not-underwater-refusal", holds, || {
                        format!("{account} refused as not underwater at equity {}", units(h.equity))
                    });
                }
                _ => {}
            }
        }
        Intent::FinalSettle { market, lo, hi } => match refused {
            None => {
                let price = after.markets[&market].settlement_price.get();
                let index = before.prices(&market).map(|p| p.index.floor());
                rule(
                    st,
                    "final-settlement-band",
                    price >= I80F48::from_num(lo) && price <= I80F48::from_num(hi) && index == Ok(price),
                    || format!("settled at {price} with the band [{lo}, {hi}] and the index at {index:?}"),
                );
            }
            Some("SettlementPriceOutsideBand") => {
                let Ok(px) = before.prices(&market) else { return };
                let p = px.index.floor();
                rule(st, "final-settlement-refusal", p < I80F48::from_num(lo) || p > I80F48::from_num(hi), || {
                    format!("settlement refused, but the index {p} lies in [{lo}, {hi}]")
                });
            }
            _ => {}
        },
        Intent::Revoke { account, market } => {
            let settled = before.markets.get(&market).is_some_and(|m| m.is_final_settled());
            let Some(h) = health(&before.account(&account), &px_before) else { return };
            match refused {
                None => rule(st, "revoke-below-maintenance", settled || h.maintenance < 0, || {
                    format!("the seat of {account} was revoked at maintenance health {}", units(h.maintenance))
                }),
                Some("SeatNotRevocable") => rule(st, "revoke-refusal", !settled && h.maintenance >= 0, || {
                    format!("revoking {account}'s seat refused at maintenance health {}", units(h.maintenance))
                }),
                _ => {}
            }
        }
        Intent::Sample { market } => match refused {
            None => {
                let bad = mark_not_median(&after.markets[&market]);
                rule(st, "mark-is-median", bad.is_none(), || bad.unwrap_or_default());
            }
            Some("MarkSampleTooEarly") => {
                let last = before.markets[&market].mark_last_sample_ts;
                rule(st, "mark-sample-once-a-minute", last.div_euclid(60) >= before.now.div_euclid(60), || {
                    format!("sample refused as too early at {}, last sample at {last}", before.now)
                });
            }
            _ => {}
        },
        Intent::Funding { account, market } => {
            let Ok(px) = before.prices(&market) else { return };
            if refused.is_some() {
                return;
            }
            funding_rule(st, before, &after, &account, &market, &px);
        }
    }
    finish(env, st).await;
}

/// An accepted `settle_funding`: the market's funding index moved to now at the model's
/// rate, and the account paid what it owed rounded up (or received it rounded down), with
/// the opposite amount in the market's funding pool and the index cached.
fn funding_rule(st: &mut State, before: &Snap, after: &Snap, account: &Pubkey, market: &Pubkey, px: &Px) {
    let index = after.markets[market].funding_index.get();
    rule(st, "funding-index-at-rate", index == px.funding, || {
        format!("funding index {index}, but the rate and the time since the last update give {}", px.funding)
    });
    let was = before.account(account);
    let got = after.account(account);
    let cached = got.position(market).cached_funding_index.get();
    let paid = got.collateral - was.collateral;
    let want = was.settled(market, px);
    let pool = after.markets[market].funding_pool - before.markets[market].funding_pool;
    rule(st, "funding-settled-exactly", got.collateral == want.collateral && cached == index && pool == -paid, || {
        format!(
            "{account} collateral {} (want {}), cached index {cached} (market {index}), pool moved {pool} for {paid}",
            got.collateral, want.collateral
        )
    });
}

/// The taker of an accepted trade: a growing reservation is covered at its worst case; a
/// fill leaves the taker at or above initial margin, or shrank its position without
/// flipping while its margin ratio improved (both ratios at the prices after the step, the
/// position before having settled its funding).
fn taker_rule(st: &mut State, before: &Snap, after: &Snap, account: &Pubkey, market: &Pubkey, what: &str) {
    let (p0, p1) = (before.position(account, market), after.position(account, market));
    let grew = p1.open_bid_lots > p0.open_bid_lots || p1.open_ask_lots > p0.open_ask_lots;
    let traded = p1.base_lots != p0.base_lots;
    if !grew && !traded {
        return;
    }
    let prices = |m: &Pubkey| after.prices(m).ok();
    let Some(h1) = health(&after.account(account), &prices) else { return };
    if grew {
        rule(st, "reservation-covered", h1.initial >= 0, || {
            format!("{what}: {account} grew its reservation to initial health {}", units(h1.initial))
        });
        return;
    }
    let Ok(px) = after.prices(market) else { return };
    let Some(h0) = health(&before.account(account).settled(market, &px), &prices) else { return };
    let (l0, l1) = (p0.base_lots, p1.base_lots);
    let holds = h1.initial >= 0 || (shrank_without_flip(l0, l1) && ratio_cmp(&h1, &h0).is_gt());
    if h1.initial < 0 {
        // (counted apart: the fills that passed by the rule's ratio half)
        *st.rule_checks.entry("fill-margin-rule(ratio half)").or_default() += 1;
    }
    rule(st, "fill-margin-rule", holds, || {
        format!(
            "{what}: {account} went from {l0} to {l1} lots at initial health {}; margin ratio {}/{} -> {}/{}",
            units(h1.initial),
            units(h0.equity),
            units(h0.maint_req),
            units(h1.equity),
            units(h1.maint_req)
        )
    });
}

/// A refused single fill: applied in the model (funding settled, position, notional and
/// taker fee, the fill price as the last trade), the margin rule must fail.
fn fill_refusal(st: &mut State, before: &Snap, taker: &Pubkey, market: &Pubkey, fill: &Fill) {
    let Ok(px) = before.prices(market) else { return };
    let mut m = before.markets[market];
    m.last_trade_price = fill.price_per_lot;
    m.funding_index = px.funding.into();
    m.funding_last_update_ts = before.now;
    if !px.index.is_zero() && m.has_index() {
        m.index_price = px.index.into();
    }
    let moved = price(&m, before.raw.get(market).copied(), before.now);
    let prices = |k: &Pubkey| if k == market { moved.ok() } else { before.prices(k).ok() };
    let Some(pxm) = prices(market) else { return };
    let a0 = before.account(taker).settled(market, &pxm);
    let mut a1 = a0.clone();
    let notional = fill.base_lots as i128 * fill.price_per_lot as i128;
    let ppm = m.taker_fee_ppm as i128 * notional;
    let fee = if ppm >= 0 { ceil_div(ppm, 1_000_000) } else { -((-ppm) / 1_000_000) };
    let (dl, dc) = match fill.taker_side {
        Side::Bid => (fill.base_lots as i64, -notional),
        Side::Ask => (-(fill.base_lots as i64), notional),
    };
    a1.position_mut(market).base_lots += dl;
    a1.collateral += (dc - fee) as i64;
    let (Some(h0), Some(h1)) = (health(&a0, &prices), health(&a1, &prices)) else { return };
    let (l0, l1) = (a0.position(market).base_lots, a1.position(market).base_lots);
    let allowed = h1.initial >= 0 || (shrank_without_flip(l0, l1) && ratio_cmp(&h1, &h0).is_gt());
    rule(st, "fill-refusal", !allowed, || {
        format!(
            "a fill from {l0} to {l1} lots refused, but the margin rule allows it (initial {}, ratio {}/{} -> {}/{})",
            units(h1.initial),
            units(h0.equity),
            units(h0.maint_req),
            units(h1.equity),
            units(h1.maint_req)
        )
    });
}

/// Liquidation, early deleveraging and deleveraging.
fn risk_rule(
    st: &mut State,
    before: &Snap,
    after: &Snap,
    kind: Risk,
    account: &Pubkey,
    other: Option<Pubkey>,
    market: &Pubkey,
    lots: u64,
    refused: Option<&str>,
) {
    // Every risk instruction prices the market once its index has moved to now, before
    // acting: the state before the step at this time. A takeover checks the account before
    // settling its funding, the others after.
    let Ok(px) = before.prices(market) else { return };
    let prices = |m: &Pubkey| before.prices(m).ok();
    let a0 = before.account(account);
    let a0 = if kind == Risk::Takeover { a0 } else { a0.settled(market, &px) };
    let Some(h0) = health(&a0, &prices) else { return };
    // Positions with the lots pending in the account's seat: a liquidation order revokes the
    // seat first, and that settles them.
    let (l0, l1) = (before.effective_lots(account, market), after.effective_lots(account, market));
    let cp = |s: &Snap| other.map(|o| s.position(&o, market).base_lots).unwrap_or(0);
    let opposite = cp(before) != 0 && (cp(before) > 0) != (l0 > 0) && cp(before).unsigned_abs() >= lots;
    let deleverage = matches!(kind, Risk::Early | Risk::Deleverage);
    match refused {
        None => {
            // A liquidation order that met nothing never reached perpetual: nothing happened.
            let epoch = |s: &Snap| s.accounts[account].0.reservation_epoch;
            if kind == Risk::Order && l0 == l1 && epoch(before) == epoch(after) {
                return;
            }
            if kind == Risk::Deleverage {
                rule(st, "deleverage-only-underwater", h0.equity < 0 && before.insurance == 0, || {
                    format!("deleveraged {account} at equity {}, insurance {}", units(h0.equity), before.insurance)
                });
            } else {
                rule(st, "liquidation-only-below-maintenance", h0.maintenance < 0, || {
                    format!("{kind:?} of {account} at maintenance health {}", units(h0.maintenance))
                });
            }
            let reduced = l1.unsigned_abs() <= l0.unsigned_abs() && (l1 == 0 || (l1 > 0) == (l0 > 0));
            let exact = !deleverage || l0.unsigned_abs() - l1.unsigned_abs() == lots;
            rule(st, "risk-reduces-the-position", reduced && exact, || {
                format!("{kind:?} of {account} moved it from {l0} to {l1} lots (asked {lots})")
            });
            if deleverage {
                rule(st, "deleverage-counterparty-opposite", opposite, || {
                    format!(
                        "{kind:?} of {account} ({l0} lots) against a counterparty holding {} lots for {lots}",
                        cp(before)
                    )
                });
            }
            match kind {
                Risk::Takeover => takeover_rule(st, before, after, account, other, market, &px, &a0, l0, l1),
                Risk::Order => {
                    let Some(h1) = health(&after.account(account), &|m| after.prices(m).ok()) else { return };
                    rule(st, "liquidation-order-ratio", h1.equity >= 0 && ratio_cmp(&h1, &h0).is_ge(), || {
                        format!(
                            "liquidation order left {account} at equity {}, ratio {}/{} -> {}/{}",
                            units(h1.equity),
                            units(h0.equity),
                            units(h0.maint_req),
                            units(h1.equity),
                            units(h1.maint_req)
                        )
                    });
                }
                Risk::Early => {
                    // The fee: discount plus insurance fee on the notional at the mark
                    // (rounded up), at most the account's equity (rounded down); half of it
                    // (rounded down) to the counterparty, the rest to the insurance fund.
                    let m = &before.markets[market];
                    let bps = (m.liquidation_discount_bps + m.liquidation_insurance_fee_bps) as i128;
                    let full = ceil_div(px.mark.to_bits() * lots as i128 * bps, ONE);
                    let fee = full.min(h0.equity.max(0).div_euclid(ONE));
                    let to_fund = (fee - fee / 2) as u64;
                    rule(st, "early-deleverage-fee", after.insurance == before.insurance + to_fund, || {
                        format!(
                            "insurance went {} -> {}, fee {fee} (half {})",
                            before.insurance,
                            after.insurance,
                            fee / 2
                        )
                    });
                }
                Risk::Deleverage => {}
            }
        }
        Some("NotLiquidatable") => {
            rule(st, "not-liquidatable-refusal", h0.maintenance >= 0, || {
                format!("{kind:?} of {account} refused, but its maintenance health is {}", units(h0.maintenance))
            });
        }
        Some("NotUnderwater") if kind == Risk::Deleverage => {
            rule(st, "not-underwater-refusal", h0.equity >= 0, || {
                format!("deleveraging {account} refused, but its equity is {}", units(h0.equity))
            });
        }
        Some("InvalidCounterparty") => {
            rule(st, "counterparty-refusal", !opposite, || {
                format!("counterparty holding {} lots refused against {l0} lots for {lots}", cp(before))
            });
        }
        _ => {}
    }
}

/// A takeover: the liquidator ends at or above initial margin; the account paid the
/// insurance fee (`liquidation_insurance_fee_bps` of the notional at the mark, rounded up)
/// and received (or paid) the discounted mark for the lots, the fund covering only a
/// shortfall; without a shortfall its margin ratio is no worse than with its orders cancelled.
fn takeover_rule(
    st: &mut State,
    before: &Snap,
    after: &Snap,
    account: &Pubkey,
    other: Option<Pubkey>,
    market: &Pubkey,
    px: &Px,
    a0: &Acct,
    l0: i64,
    l1: i64,
) {
    let prices = |m: &Pubkey| after.prices(m).ok();
    let q = (l0.unsigned_abs() - l1.unsigned_abs()) as i128;
    let Some(liquidator) = other else { return };
    if q > 0 {
        if let Some(h) = health(&after.account(&liquidator), &prices) {
            rule(st, "liquidator-initial-margin", h.initial >= 0, || {
                format!("liquidator {liquidator} left at initial health {}", units(h.initial))
            });
        }
    }
    let m = &before.markets[market];
    let mut cleared = a0.clone().settled(market, px);
    for p in cleared.positions.iter_mut() {
        (p.open_bid_lots, p.open_ask_lots) = (0, 0);
    }
    let (Some(h_cleared), Some(h1)) = (health(&cleared, &prices), health(&after.account(account), &prices)) else {
        return;
    };
    let fee = ceil_div(px.mark.to_bits() * q * m.liquidation_insurance_fee_bps as i128, ONE);
    // mark * (1 - d) for a long sold, mark * (1 + d) for a short bought back.
    let d = m.liquidation_discount_bps as i128;
    let cash = px.mark.to_bits() * q * if l0 > 0 { BPS - d } else { BPS + d };
    let transfer = if l0 > 0 { cash.div_euclid(ONE) } else { -ceil_div(cash, ONE) };
    let covered = (after.accounts[account].0.collateral - cleared.collateral) as i128 - transfer + fee;
    let fund = after.insurance as i128 - before.insurance as i128;
    rule(st, "liquidation-fee", covered >= 0 && fund == fee - covered, || {
        format!("takeover of {q} lots: fee {fee}, shortfall covered {covered}, insurance moved {fund}")
    });
    rule(st, "liquidation-ratio", covered > 0 || ratio_cmp(&h1, &h_cleared).is_ge(), || {
        format!(
            "takeover left {account} at ratio {}/{} from {}/{}",
            units(h1.equity),
            units(h1.maint_req),
            units(h_cleared.equity),
            units(h_cleared.maint_req)
        )
    });
}
