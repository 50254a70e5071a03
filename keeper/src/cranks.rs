//! The keeper's cranks. Each is idempotent: a second run, or a second keeper racing it,
//! finds nothing left to do or is refused by the program (a second mark sample in the same
//! minute, funding already current, a position already settled) and has no further effect.
use anchor_lang::prelude::Pubkey;
use orderbook::sdk::Venue;
use perpetual::error::PerpError;
use perpetual::health::PricedMarket;
use perpetual::sdk;
use perpetual::state::{Market, OracleSource};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::risk::{self, Action, MarketView};
use client::batch::{self, Limits};
use client::chain::{Chain, ChainError, TxOutput};
use client::discovery;
use client::MarginView;

/// What one crank run did: cranks (instructions) by outcome, and the transactions that
/// carried them (several cranks share one, see [`client::batch`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CrankResult {
    pub sent: u32,
    /// Refused as already done (idempotent no-ops), or found done before sending.
    pub skipped: u32,
    pub failed: u32,
    /// Transactions sent, landed or refused.
    pub transactions: u32,
}

impl CrankResult {
    /// One crank sent alone in its own transaction.
    fn record(&mut self, r: Result<TxOutput, ChainError>, already_done: &[PerpError]) {
        self.transactions += 1;
        self.record_outcome(r.map(|_| ()), already_done);
    }

    fn record_outcome(&mut self, r: Result<(), ChainError>, already_done: &[PerpError]) {
        match r {
            Ok(()) => self.sent += 1,
            Err(e) if already_done.iter().any(|d| e.custom_code() == Some(u32::from(*d))) => self.skipped += 1,
            Err(e) => {
                tracing::warn!(error = %e, "crank refused");
                self.failed += 1;
            }
        }
    }

    /// Cranks sent together by [`batch::send_packed`].
    fn record_packed(&mut self, sent: batch::Sent, already_done: &[PerpError]) {
        self.transactions += sent.transactions;
        for r in sent.outcomes {
            self.record_outcome(r, already_done);
        }
    }

    pub fn add(&mut self, other: CrankResult) {
        self.sent += other.sent;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.transactions += other.transactions;
    }
}

fn settled(m: &Market) -> bool {
    m.is_final_settled()
}

/// A market without a spot index that has not traded has no price yet: funding and mark
/// samples wait for its first trade (the program would refuse them with `NoMarkPrice`).
fn unpriced(m: &Market, now: i64) -> bool {
    !m.has_index() && m.cached_prices(now).is_err()
}

/// Markets of the exchange with their books, priced from their cached index.
pub async fn market_views<C: Chain>(chain: &mut C, exchange: &Pubkey) -> Result<Vec<MarketView>, ChainError> {
    let now = chain.unix_time().await?;
    let markets = discovery::markets(chain, exchange).await?;
    let mut views = views_of(markets, now);
    for view in views.iter_mut() {
        load_book(chain, view).await;
    }
    Ok(views)
}

/// `markets` priced from their cached index at `now` (those that cannot be are left out),
/// without their books (see [`load_book`]).
fn views_of(markets: Vec<(Pubkey, Market)>, now: i64) -> Vec<MarketView> {
    let mut out: Vec<MarketView> = markets
        .into_iter()
        .filter_map(|(key, market)| {
            let priced = PricedMarket::new(key, &market, None, now).ok()?;
            Some(MarketView { key, market, priced, book: None })
        })
        .collect();
    out.sort_by_key(|m| m.key);
    out
}

/// Fetches `view`'s book once (a market without one, or an unreadable one, stays without).
async fn load_book<C: Chain>(chain: &mut C, view: &mut MarketView) {
    if view.book.is_none() && view.market.book != Pubkey::default() {
        view.book = chain.account_data(&view.market.book).await.ok().map(|d| (view.market.book, d));
    }
}

/// `I += T*R*P` on every live market; also refreshes each market's cached index.
pub async fn update_funding<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    let now = chain.unix_time().await?;
    let mut markets = discovery::markets(chain, exchange).await?;
    let mut result = refresh_oracle_sources_of(chain, &markets, limits, now).await;
    if result.sent > 0 {
        markets = discovery::markets(chain, exchange).await?;
    }
    result.add(update_funding_of(chain, &markets, limits, |m| !settled(m) && !unpriced(m, now)).await);
    Ok(result)
}

/// A live market whose oracle source may need to change: it has a fallback, it is not
/// reading its primary, or its cached index is too old (its primary may have failed).
fn source_may_change(m: &Market, now: i64) -> bool {
    !settled(m)
        && m.has_index()
        && (m.fallback_oracle().is_some() || m.oracle_source() != OracleSource::Primary || stale_index(m, now))
}

/// `refresh_oracle_source` for the markets whose source may change: the program reads the
/// primary, then the fallback, and records which one passes (or that none does). Sent on
/// its own, before the cranks that read the oracle, so a market moving to its fallback
/// misses no funding or mark update.
async fn refresh_oracle_sources_of<C: Chain>(
    chain: &mut C,
    markets: &[(Pubkey, Market)],
    limits: Limits,
    now: i64,
) -> CrankResult {
    let ixs: Vec<_> = markets
        .iter()
        .filter(|(_, m)| source_may_change(m, now))
        .map(|(key, m)| {
            let fallback = m.fallback_oracle().map(|f| f.key).unwrap_or_default();
            sdk::refresh_oracle_source(key, &m.oracle, &fallback)
        })
        .collect();
    let mut result = CrankResult::default();
    result.record_packed(batch::send_packed(chain, &ixs, &[], limits).await, &[]);
    result
}

/// A live market with a spot index whose cached index is too old to price from.
fn stale_index(m: &Market, now: i64) -> bool {
    !settled(m) && m.has_index() && m.cached_prices(now).is_err()
}

/// `update_funding` (which re-reads the oracle) for each of `markets` that `due` selects.
async fn update_funding_of<C: Chain>(
    chain: &mut C,
    markets: &[(Pubkey, Market)],
    limits: Limits,
    due: impl Fn(&Market) -> bool,
) -> CrankResult {
    let ixs: Vec<_> =
        markets.iter().filter(|(_, m)| due(m)).map(|(key, m)| sdk::update_funding(key, &m.active_oracle())).collect();
    let mut result = CrankResult::default();
    result.record_packed(batch::send_packed(chain, &ixs, &[], limits).await, &[]);
    result
}

/// One mark sample per market with a book, through the book's permissionless crank. A
/// market already sampled this minute is skipped without sending.
pub async fn sample_marks<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    let mut result = CrankResult::default();
    let now = chain.unix_time().await?;
    let mut ixs = vec![];
    for (key, m) in discovery::markets(chain, exchange).await? {
        // A basis against a frozen index means nothing: no samples while the oracles are down.
        if settled(&m) || m.book == Pubkey::default() || unpriced(&m, now) || m.oracles_down() {
            continue;
        }
        if perpetual::math::mark::sample_slot(now, m.mark_last_sample_ts).1 {
            result.skipped += 1;
            continue;
        }
        let venue = Venue { book: m.book, market: key, oracle: m.active_oracle(), exchange: *exchange };
        ixs.push(orderbook::sdk::sample_mark(&venue));
    }
    result.record_packed(batch::send_packed(chain, &ixs, &[], limits).await, &[PerpError::MarkSampleTooEarly]);
    Ok(result)
}

/// Prunes void orders (their seat was revoked or given up) and expired ones, so books show
/// only backed depth. Idempotent: a second run finds nothing to prune and sends nothing.
pub async fn prune_stale_orders<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    Ok(book_upkeep(chain, exchange, limits, Upkeep::Prune).await?.1)
}

/// Seats settled per instruction: each names one margin account.
pub const SEATS_PER_SETTLEMENT: usize = 16;

/// Settles every seat holding pending fills into its margin account (`settle_seats`), a few
/// per instruction, so that `perpetual` sees makers' positions. Idempotent: a settled seat
/// holds nothing pending and is not sent again.
pub async fn settle_seats<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    Ok(book_upkeep(chain, exchange, limits, Upkeep::Settle).await?.0)
}

/// Which of the books' cranks [`book_upkeep`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    Settle,
    Prune,
    Both,
}

/// Seat settlements, then prunes, from one read of every book (`discovery::books`): the
/// settlement results, then the prunes'.
pub async fn book_upkeep<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    limits: Limits,
    upkeep: Upkeep,
) -> Result<(CrankResult, CrankResult), ChainError> {
    let now = chain.unix_time().await?;
    let markets = discovery::markets(chain, exchange).await?;
    let books = discovery::books(chain, exchange).await?;
    let (mut settles, mut prunes) = (vec![], vec![]);
    for (key, m) in &markets {
        let Some(book) = books.get(&m.book).and_then(|d| orderbook::state::BookRef::parse(d).ok()) else { continue };
        let venue = Venue { book: m.book, market: *key, oracle: m.active_oracle(), exchange: *exchange };
        for batch in orderbook::decode::seats_with_pending(&book).chunks(SEATS_PER_SETTLEMENT) {
            let seats = batch.iter().map(|(i, _)| *i).collect();
            let accounts: Vec<Pubkey> = batch.iter().map(|(_, k)| *k).collect();
            settles.push(orderbook::sdk::settle_seats(&venue, seats, &accounts));
        }
        let stale = [orderbook::state::Side::Bid, orderbook::state::Side::Ask]
            .into_iter()
            .flat_map(|side| orderbook::decode::l3(&book, side))
            .any(|o| !o.live || (o.expiry_ts != 0 && now >= o.expiry_ts));
        if stale && !settled(m) {
            prunes.push(orderbook::sdk::prune_stale_orders(&m.book, 32));
        }
    }
    let (mut settled_result, mut pruned) = (CrankResult::default(), CrankResult::default());
    if upkeep != Upkeep::Prune {
        settled_result.record_packed(batch::send_packed(chain, &settles, &[], limits).await, &[]);
    }
    if upkeep != Upkeep::Settle {
        pruned.record_packed(batch::send_packed(chain, &prunes, &[], limits).await, &[]);
    }
    Ok((settled_result, pruned))
}

/// The seat revokes an account needs before a risk path may act on it: one per market where
/// its position holds an allowance (each through that market's book).
fn seat_revokes(
    account: &MarginView,
    markets: &[MarketView],
    exchange: &Pubkey,
    caller: &Pubkey,
) -> Vec<anchor_lang::solana_program::instruction::Instruction> {
    account
        .positions
        .iter()
        .filter(|p| p.has_seat_allowance())
        .filter_map(|p| markets.iter().find(|m| m.key == p.market && m.market.book != Pubkey::default()))
        .map(|m| {
            let venue =
                Venue { book: m.market.book, market: m.key, oracle: m.market.active_oracle(), exchange: *exchange };
            let hint = m
                .book
                .as_ref()
                .and_then(|(_, data)| orderbook::state::BookRef::parse(data).ok())
                .and_then(|b| b.seats.iter().position(|s| s.margin_account == account.key))
                .unwrap_or(0) as u32;
            orderbook::sdk::revoke_seat(&venue, caller, &account.key, hint, health_accounts(account, markets, &m.key))
        })
        .collect()
}

/// The funding rate for a market: its averaged premium (the mark's moving average of
/// `mid - index` over the index) paid over one 8-hour period, clamped to the market's
/// bounds and to how far the rate may still move in the current window.
pub fn funding_rate_ppbh(m: &Market, now: i64) -> i64 {
    let index = m.index_price.get();
    let (ma, _) = m.cached_averages(now);
    // ma / index / 8 hours, in parts per billion: multiply first, so a whole premium stays exact.
    let wanted = match (ma, index > 0) {
        (Some(ma), true) => ma
            .checked_mul_int(1_000_000_000)
            .and_then(|v| v.checked_div(index))
            .and_then(|v| v.checked_div_int(8))
            .map(|v| v.saturating_to_num::<i64>())
            .unwrap_or(if ma > 0 { i64::MAX } else { i64::MIN }),
        _ => 0,
    };
    let window_open = now < m.funding_window_start_ts.saturating_add(m.funding_window_secs);
    let base = if window_open { m.funding_window_start_rate_ppbh } else { m.funding_rate_ppbh };
    let max = m.max_funding_rate_ppbh;
    let step = m.max_funding_rate_change_ppbh;
    wanted.clamp(base.saturating_sub(step), base.saturating_add(step)).clamp(-max, max)
}

/// Sets every live market's funding rate from its premium (funding authority).
pub async fn set_funding_rates<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    authority: &Keypair,
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    let mut result = CrankResult::default();
    let now = chain.unix_time().await?;
    let mut ixs = vec![];
    for (key, m) in discovery::markets(chain, exchange).await? {
        if settled(&m) || !m.has_index() {
            continue;
        }
        let rate = funding_rate_ppbh(&m, now);
        if rate == m.funding_rate_ppbh {
            result.skipped += 1;
            continue;
        }
        ixs.push(sdk::set_funding_rate(&authority.pubkey(), exchange, &key, &m.active_oracle(), rate));
    }
    let sent = batch::send_packed(chain, &ixs, &[authority], limits).await;
    result.record_packed(sent, &[PerpError::FundingRateChangeTooLarge]);
    Ok(result)
}

/// Sets each market's margins from its daily closes (risk authority, at most once a day
/// per market); a market whose margins already match is skipped without sending.
pub async fn update_margins<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    authority: &Keypair,
    histories: &[(Pubkey, &[u64])],
    limits: Limits,
) -> Result<CrankResult, ChainError> {
    let mut result = CrankResult::default();
    let mut ixs = vec![];
    for (market, closes) in histories {
        let Some(m) = client::decode_market(&chain.account_data(market).await?) else { continue };
        let margins = perpetual::math::var::margins_from_history(closes, m.has_index())
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        if (margins.init_long_bps, margins.init_short_bps) == (m.init_margin_long_bps, m.init_margin_short_bps) {
            result.skipped += 1;
            continue;
        }
        ixs.push(sdk::set_margins(
            &authority.pubkey(),
            exchange,
            market,
            margins.init_long_bps,
            margins.init_short_bps,
        ));
    }
    let sent = batch::send_packed(chain, &ixs, &[authority], limits).await;
    result.record_packed(sent, &[PerpError::MarginsUpdatedTooRecently]);
    Ok(result)
}

/// Who the risk scan acts as: the deleveraging authority and a funded liquidator account.
pub struct RiskKeeper<'k> {
    pub exchange: Pubkey,
    pub authority: &'k Keypair,
    pub liquidator: &'k Keypair,
    pub liquidator_account: Pubkey,
    /// For the stale-index refreshes the scan sends first.
    pub limits: Limits,
}

/// A risk action that landed, for charts and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RiskEventKind {
    Liquidation,
    EarlyDeleverage,
    Deleverage,
    /// The insurance fund paid an account's deficit (no market: `Pubkey::default()`).
    InsuranceCover,
}

/// Counts of what the scan did, and the market of each action that landed.
#[derive(Debug, Default, Clone)]
pub struct ScanResult {
    /// (kind, market) of each liquidation and deleveraging that landed, in order.
    pub events: Vec<(RiskEventKind, Pubkey)>,
    /// Liquidations that landed: takeovers and those through the book.
    pub liquidations: u32,
    /// Of which through the book (`liquidate_order`).
    pub book_liquidations: u32,
    /// Book liquidations the program refused, each then taken over.
    pub book_liquidations_refused: u32,
    pub early_deleverages: u32,
    pub deleverages: u32,
    pub insurance_covers: u32,
    /// Seat allowances revoked so that a risk path may act on the account next scan.
    pub seat_revokes: u32,
    /// Stale cached indexes refreshed before the scan.
    pub index_refreshes: u32,
    pub failed: u32,
    /// Transactions sent, landed or refused.
    pub transactions: u32,
    /// The accounts the scan acted on (a risk action or seat revokes), in the order it did:
    /// furthest below maintenance first.
    pub acted_on: Vec<Pubkey>,
    /// The accounts of actions the program refused.
    pub refused: Vec<Pubkey>,
    /// Offsets left to the next round because an earlier one in the pass used the same
    /// counterparty.
    pub deferred: u32,
}

fn health_accounts(view: &MarginView, markets: &[MarketView], skip: &Pubkey) -> Vec<anchor_lang::prelude::AccountMeta> {
    // Markets only: the scan refreshed every cached index first.
    sdk::health_metas(&view.positions, &[*skip], |_| None)
        .into_iter()
        .filter(|m| markets.iter().any(|v| v.key == m.pubkey))
        .collect()
}

/// Most scans a risk loop runs back to back ([`risk_rounds`]).
pub const MAX_RISK_ROUNDS: u32 = 8;

/// Scans again while actions land (at most `max_rounds` scans): a partial deleveraging
/// against one counterparty, a revoked seat or a covered deficit leaves the account to act
/// on again, and in a crash it should not wait for the next loop. An account the program
/// refused is left to the next loop.
pub async fn risk_rounds<C: Chain>(
    chain: &mut C,
    k: &RiskKeeper<'_>,
    max_rounds: u32,
) -> Result<ScanResult, ChainError> {
    let mut total = ScanResult::default();
    let mut refused = std::collections::BTreeSet::new();
    for _ in 0..max_rounds.max(1) {
        let round = risk_pass(chain, k, &refused).await?;
        let landed = round.landed();
        refused.extend(round.refused.iter().copied());
        total.absorb(round);
        if landed == 0 {
            break;
        }
    }
    Ok(total)
}

/// The health of every account, and one action for each that needs it.
pub async fn risk_scan<C: Chain>(chain: &mut C, k: &RiskKeeper<'_>) -> Result<ScanResult, ChainError> {
    risk_pass(chain, k, &std::collections::BTreeSet::new()).await
}

/// One scan, leaving out the accounts in `skip`.
async fn risk_pass<C: Chain>(
    chain: &mut C,
    k: &RiskKeeper<'_>,
    skip: &std::collections::BTreeSet<Pubkey>,
) -> Result<ScanResult, ChainError> {
    let mut result = ScanResult::default();
    // Stale cached indexes are refreshed first, so the scan sees every market even when the
    // funding loop runs less often than the oracles' maximum age.
    let now = chain.unix_time().await?;
    let mut listed = discovery::markets(chain, &k.exchange).await?;
    let mut refreshed = refresh_oracle_sources_of(chain, &listed, k.limits, now).await;
    if refreshed.sent > 0 {
        listed = discovery::markets(chain, &k.exchange).await?;
    }
    refreshed.add(update_funding_of(chain, &listed, k.limits, |m| stale_index(m, now)).await);
    result.index_refreshes = refreshed.sent;
    result.failed += refreshed.failed;
    result.transactions += refreshed.transactions;
    if refreshed.sent > 0 {
        listed = discovery::markets(chain, &k.exchange).await?;
    }
    let priced_at = chain.unix_time().await?;
    let mut markets = views_of(listed, priced_at);
    let accounts = discovery::margin_accounts(chain, &k.exchange).await?;
    // Worst first: in a crash, the accounts furthest below maintenance lose the most while
    // they wait (ties by key, so two scanners agree on the order).
    let mut below: Vec<(perpetual::math::I80F48, &MarginView)> = accounts
        .iter()
        .filter(|a| a.key != k.liquidator_account && !skip.contains(&a.key))
        .filter_map(|a| risk::health(a, &markets).filter(|h| h.maintenance < 0).map(|h| (h.maintenance, a)))
        .collect();
    below.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.key.cmp(&y.1.key)));
    // Books only of the markets where an account below maintenance holds a position: with
    // thousands of markets, reading every book each scan would dominate the loop.
    let wanted: std::collections::BTreeSet<Pubkey> =
        below.iter().flat_map(|(_, a)| a.positions.iter().filter(|p| !p.is_free()).map(|p| p.market)).collect();
    for view in markets.iter_mut().filter(|m| wanted.contains(&m.key)) {
        load_book(chain, view).await;
    }
    let exchange = discovery::exchange(chain, &k.exchange).await?;
    let mut insurance = exchange.insurance_fund;
    // Liquidations through the books wait here to share transactions, sent before any other
    // action so the worst-first order holds.
    let mut through_books: Vec<(&MarginView, Action)> = vec![];
    // Counterparties an offset landed against in this pass: their positions in the snapshot
    // are stale, so an account ranked against one of them waits for the next round.
    let mut offset_against: std::collections::BTreeSet<Pubkey> = std::collections::BTreeSet::new();
    for (_, account) in below {
        let Some(action) = risk::decide(account, &accounts, &markets, insurance) else { continue };
        if action.counterparty().is_some_and(|cp| offset_against.contains(&cp)) {
            result.deferred += 1;
            continue;
        }
        result.acted_on.push(account.key);
        // Risk paths wait while the account holds seat allowances: revoke them first (the
        // account is below maintenance with them counted), and act on the next scan, on the
        // health the revoke leaves.
        let revokes = seat_revokes(account, &markets, &k.exchange, &k.liquidator.pubkey());
        if !revokes.is_empty() {
            for ix in revokes {
                result.transactions += 1;
                match chain.send(&[ix], &[k.liquidator]).await {
                    Ok(_) => result.seat_revokes += 1,
                    Err(e) => {
                        tracing::warn!(account = %account.key, error = %e, "seat revoke refused");
                        result.failed += 1;
                        result.refused.push(account.key);
                    }
                }
            }
            continue;
        }
        if matches!(action, Action::LiquidateThroughBook { .. }) {
            through_books.push((account, action));
            continue;
        }
        liquidate_through_books(chain, k, &markets, &accounts, std::mem::take(&mut through_books), &mut result).await;
        result.transactions += 1;
        let mut action = action;
        let mut r = execute(chain, k, &markets, &accounts, account, &action).await;
        if let (Action::Liquidate { .. }, Err(e @ ChainError::Transaction(_))) = (&action, &r) {
            if risk::health(account, &markets).is_some_and(|h| h.equity < 0) {
                // The takeover of an underwater account was refused (the fund fell short of
                // the shortfall, or the liquidator cannot carry it): the fund covers what it
                // can, and deleveraging closes the rest.
                tracing::info!(account = %account.key, error = %e, "takeover refused, covering the deficit");
                result.record(&action, r.map(|_| ()));
                action = Action::CoverWithInsurance { account: account.key };
                result.transactions += 1;
                r = execute(chain, k, &markets, &accounts, account, &action).await;
            }
        }
        if let (Some(cp), Ok(_)) = (action.counterparty(), &r) {
            offset_against.insert(cp);
        }
        if matches!((&action, &r), (Action::CoverWithInsurance { .. } | Action::Liquidate { .. }, Ok(_))) {
            // What the fund holds after paying decides the next account's path.
            insurance = discovery::exchange(chain, &k.exchange).await?.insurance_fund;
        }
        result.record(&action, r.map(|_| ()));
    }
    liquidate_through_books(chain, k, &markets, &accounts, through_books, &mut result).await;
    Ok(result)
}

impl ScanResult {
    /// Risk actions and seat revokes that landed.
    pub fn landed(&self) -> u32 {
        self.liquidations + self.early_deleverages + self.deleverages + self.seat_revokes
    }

    /// Adds a later scan's counts and events (accounts acted on again are listed once).
    fn absorb(&mut self, later: ScanResult) {
        self.events.extend(later.events);
        self.liquidations += later.liquidations;
        self.book_liquidations += later.book_liquidations;
        self.book_liquidations_refused += later.book_liquidations_refused;
        self.early_deleverages += later.early_deleverages;
        self.deleverages += later.deleverages;
        self.insurance_covers += later.insurance_covers;
        self.seat_revokes += later.seat_revokes;
        self.index_refreshes += later.index_refreshes;
        self.failed += later.failed;
        self.transactions += later.transactions;
        for a in later.acted_on {
            if !self.acted_on.contains(&a) {
                self.acted_on.push(a);
            }
        }
        self.refused.extend(later.refused);
        self.deferred += later.deferred;
    }

    fn record(&mut self, action: &Action, r: Result<(), ChainError>) {
        match (action, r) {
            (_, Err(e)) => {
                tracing::warn!(?action, error = %e, "risk action refused");
                self.failed += 1;
                self.refused.push(action.account());
            }
            (Action::Liquidate { market, .. }, Ok(())) => {
                self.liquidations += 1;
                self.events.push((RiskEventKind::Liquidation, *market));
            }
            (Action::LiquidateThroughBook { market, .. }, Ok(())) => {
                self.liquidations += 1;
                self.book_liquidations += 1;
                self.events.push((RiskEventKind::Liquidation, *market));
            }
            (Action::EarlyDeleverage { market, .. }, Ok(())) => {
                self.early_deleverages += 1;
                self.events.push((RiskEventKind::EarlyDeleverage, *market));
            }
            (Action::Deleverage { market, .. }, Ok(())) => {
                self.deleverages += 1;
                self.events.push((RiskEventKind::Deleverage, *market));
            }
            (Action::CoverWithInsurance { .. }, Ok(())) => {
                self.insurance_covers += 1;
                self.events.push((RiskEventKind::InsuranceCover, Pubkey::default()));
                self.deleverages += 1;
            }
        }
    }
}

/// Sends `pending` liquidations through the books, several per transaction (`k.limits`,
/// within a transaction's size and account limits: they need no liquidator inventory, so
/// none depends on another's health accounts). One the program refuses (the book moved, or
/// the fill would worsen the account) is taken over instead; not one lost to a transport
/// error, which may have landed.
async fn liquidate_through_books<C: Chain>(
    chain: &mut C,
    k: &RiskKeeper<'_>,
    markets: &[MarketView],
    accounts: &[MarginView],
    pending: Vec<(&MarginView, Action)>,
    result: &mut ScanResult,
) {
    let mut built = vec![];
    let mut ixs = vec![];
    for (account, action) in pending {
        match action_instruction(k, markets, accounts, account, &action) {
            Ok((ix, _)) => {
                ixs.push(ix);
                built.push((account, action));
            }
            Err(e) => result.record(&action, Err(e)),
        }
    }
    let sent = batch::send_packed(chain, &ixs, &[k.liquidator], k.limits).await;
    result.transactions += sent.transactions;
    for ((account, action), outcome) in built.into_iter().zip(sent.outcomes) {
        match (&action, outcome) {
            (Action::LiquidateThroughBook { account: a, market, lots, .. }, Err(e @ ChainError::Transaction(_))) => {
                tracing::info!(account = %a, error = %e, "book liquidation refused, taking the position over");
                result.book_liquidations_refused += 1;
                let takeover = Action::Liquidate { account: *a, market: *market, lots: *lots };
                result.transactions += 1;
                let r = execute(chain, k, markets, accounts, account, &takeover).await;
                result.record(&takeover, r.map(|_| ()));
            }
            (_, outcome) => result.record(&action, outcome),
        }
    }
}

async fn execute<C: Chain>(
    chain: &mut C,
    k: &RiskKeeper<'_>,
    markets: &[MarketView],
    accounts: &[MarginView],
    account: &MarginView,
    action: &Action,
) -> Result<TxOutput, ChainError> {
    let (ix, signer) = action_instruction(k, markets, accounts, account, action)?;
    chain.send(&[ix], &[signer]).await
}

/// The instruction that carries out `action` on `account` for the keeper `k`, and the key
/// that signs it (the liquidator for liquidations, else the deleveraging authority).
pub fn action_instruction<'k>(
    k: &RiskKeeper<'k>,
    markets: &[MarketView],
    accounts: &[MarginView],
    account: &MarginView,
    action: &Action,
) -> Result<(anchor_lang::solana_program::instruction::Instruction, &'k Keypair), ChainError> {
    let view = |key: &Pubkey| markets.iter().find(|m| m.key == *key).ok_or(ChainError::Rpc("market gone".into()));
    let venue = |m: &MarketView| Venue {
        book: m.market.book,
        market: m.key,
        oracle: m.market.active_oracle(),
        exchange: k.exchange,
    };
    Ok(match action {
        Action::Liquidate { market, lots, .. } => {
            let m = view(market)?;
            let liquidator = accounts
                .iter()
                .find(|a| a.key == k.liquidator_account)
                .ok_or(ChainError::Rpc("no liquidator account".into()))?;
            let ix = sdk::liquidate(
                &k.exchange,
                market,
                &m.market.active_oracle(),
                &account.key,
                &k.liquidator_account,
                &k.liquidator.pubkey(),
                *lots,
                health_accounts(account, markets, market),
                health_accounts(liquidator, markets, market),
            );
            (ix, k.liquidator)
        }
        Action::LiquidateThroughBook { market, lots, limit_price_ticks, .. } => {
            let ix = orderbook::sdk::liquidate_order(
                &venue(view(market)?),
                &k.liquidator.pubkey(),
                &account.key,
                *lots,
                *limit_price_ticks,
                health_accounts(account, markets, market),
            );
            (ix, k.liquidator)
        }
        Action::EarlyDeleverage { market, counterparty, lots, .. } => {
            let ix = orderbook::sdk::early_deleverage(
                &venue(view(market)?),
                &account.key,
                counterparty,
                &k.authority.pubkey(),
                *lots,
                health_accounts(account, markets, market),
            );
            (ix, k.authority)
        }
        Action::CoverWithInsurance { .. } => {
            let health = health_accounts(account, markets, &Pubkey::default());
            (sdk::cover_with_insurance(&k.exchange, &account.key, &k.authority.pubkey(), health), k.authority)
        }
        Action::Deleverage { market, counterparty, lots, .. } => {
            let ix = sdk::deleverage(
                &k.exchange,
                market,
                &view(market)?.market.active_oracle(),
                &account.key,
                counterparty,
                &k.authority.pubkey(),
                *lots,
                health_accounts(account, markets, market),
            );
            (ix, k.authority)
        }
    })
}

/// Closes every position of a market in final settlement, then its book and the market.
/// The market's lister receives its rent and its deposit (into the lister's largest token
/// account of the collateral mint, whoever listed it), the book's creator the book's rent.
pub async fn final_settlement<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    market: &Pubkey,
    mint: &Pubkey,
) -> Result<CrankResult, ChainError> {
    let mut result = CrankResult::default();
    let Some(m) = client::decode_market(&chain.account_data(market).await?) else { return Ok(result) };
    if !settled(&m) {
        return Ok(result);
    }
    // Seats first: each settles its pending fills and gives its allowance up, so positions
    // can close and the book can close.
    if m.book != Pubkey::default() && chain.account(&m.book).await?.is_some() {
        let seats = match orderbook::state::BookRef::parse(&chain.account_data(&m.book).await?) {
            Ok(b) => orderbook::decode::held_seats(&b),
            Err(_) => vec![],
        };
        let venue = Venue { book: m.book, market: *market, oracle: m.active_oracle(), exchange: *exchange };
        let payer = chain.payer().pubkey();
        for (i, account) in seats {
            let r = chain.send(&[orderbook::sdk::revoke_seat(&venue, &payer, &account, i, vec![])], &[]).await;
            result.record(r, &[]);
        }
    }
    for view in discovery::margin_accounts(chain, exchange).await? {
        if view.positions.iter().any(|p| p.market == *market) {
            let r = chain.send(&[sdk::settle_final_position(market, &view.key)], &[]).await;
            result.record(r, &[PerpError::NoPositionInMarket]);
        }
    }
    if m.book != Pubkey::default() && chain.account(&m.book).await?.is_some() {
        let creator = orderbook::state::BookRef::parse(&chain.account_data(&m.book).await?)
            .map(|b| b.header.creator)
            .unwrap_or_default();
        let r = chain.send(&[orderbook::sdk::close_book(&creator, &m.book, market)], &[]).await;
        result.record(r, &[]);
    }
    let r = chain.send(&[sdk::sweep_fees(exchange, market)], &[]).await;
    result.record(r, &[]);
    let Some((lister_token, _)) = discovery::token_accounts(chain, mint, &m.lister).await?.into_iter().next() else {
        // The deposit has nowhere to go until the lister opens a token account of the mint.
        tracing::warn!(%market, lister = %m.lister, "the lister holds no token account of the collateral mint");
        result.failed += 1;
        return Ok(result);
    };
    let r = chain.send(&[sdk::close_market(&m.lister, exchange, market, &m.book, mint, &lister_token)], &[]).await;
    result.record(r, &[]);
    Ok(result)
}

/// One asset to list: what `list_market` needs, and the daily closes for its margins.
pub struct ListingInput {
    pub symbol: String,
    pub pyth_oracle: Option<Pubkey>,
    pub base_decimals: u8,
    pub base_lot_size: u64,
    pub initial_price_per_lot: u64,
    pub closes: Vec<u64>,
}

/// Lists each asset not yet listed (permissionless, paying the listing deposit from
/// `lister_token`), then sets its margins from its history as the risk authority.
pub async fn list_assets<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
    mint: &Pubkey,
    lister: &Keypair,
    lister_token: &Pubkey,
    risk_authority: &Keypair,
    assets: &[ListingInput],
) -> Result<CrankResult, ChainError> {
    let mut result = CrankResult::default();
    for asset in assets {
        let symbol = sdk::symbol(&asset.symbol);
        let market = sdk::market_address(exchange, &symbol);
        if chain.account(&market).await?.is_none() {
            let args = perpetual::sdk::ListMarketArgs {
                symbol,
                oracle_kind: if asset.pyth_oracle.is_some() {
                    perpetual::OracleKind::PythLegacy
                } else {
                    perpetual::OracleKind::None
                },
                base_decimals: asset.base_decimals,
                base_lot_size: asset.base_lot_size,
                initial_price_per_lot: asset.initial_price_per_lot,
            };
            let oracle = asset.pyth_oracle.unwrap_or_default();
            let r = chain
                .send(&[sdk::list_market(&lister.pubkey(), exchange, mint, lister_token, &oracle, args)], &[lister])
                .await;
            result.record(r, &[PerpError::AccountAlreadyInitialized]);
        } else {
            result.skipped += 1;
        }
        if !asset.closes.is_empty() {
            let history = [(market, asset.closes.as_slice())];
            result.add(update_margins(chain, exchange, risk_authority, &history, Limits::default()).await?);
        }
    }
    Ok(result)
}
