//! The harness state, and reading the chain to resolve an op's targets.
use super::model::Intent;
use super::*;
use super::{input::*, names::*};

// ---------------------------------------------------------------------------------------
// The harness state
// ---------------------------------------------------------------------------------------

pub(super) struct Mkt {
    /// Names the oracle the market reads now (instructions take it).
    pub(super) cookie: MarketCookie,
    /// The primary oracle, and the fallback's account if the market has one.
    pub(super) primary: Pubkey,
    pub(super) fallback: Option<Pubkey>,
    /// Whether the primary and the fallback publish, and what each last published.
    pub(super) live: [bool; 2],
    pub(super) published: [i64; 2],
    pub(super) book: Option<BookCookie>,
    /// The registered book's address (kept once the book is closed).
    pub(super) book_key: Pubkey,
    /// The oracle price the harness last published (native quote per lot).
    pub(super) price: i64,
    pub(super) closed: bool,
    /// Lister and its token account (None: the admin created it).
    pub(super) lister: Option<(Keypair, Pubkey)>,
}

pub(super) struct State {
    pub(super) users: Vec<UserCookie>,
    pub(super) markets: Vec<Mkt>,
    /// Accounts a risk op ever cleared the reservations of.
    pub(super) cleared: HashSet<Pubkey>,
    pub(super) admin_token: Pubkey,
    pub(super) listed: u32,
    pub(super) steps_done: u64,
    /// What the current step is meant to do, for its rule check (`model.rs`).
    pub(super) intent: RefCell<Intent>,
    /// Rule checks run so far, by rule.
    pub(super) rule_checks: BTreeMap<&'static str, u64>,
    /// The first rule the current step broke: (rule, what happened).
    pub(super) broken: Option<(&'static str, String)>,
}

impl Mkt {
    pub(super) fn new(
        cookie: MarketCookie,
        book: Option<BookCookie>,
        price: i64,
        lister: Option<(Keypair, Pubkey)>,
    ) -> Self {
        Mkt {
            cookie,
            primary: cookie.oracle,
            fallback: None,
            live: [true, true],
            published: [price, price],
            book_key: book.map(|b| b.venue.book).unwrap_or_default(),
            book,
            price,
            closed: false,
            lister,
        }
    }

    /// The cookie `set_price` publishes through for oracle `i` (0: primary, 1: fallback).
    fn oracle_cookie(&self, i: usize) -> Option<MarketCookie> {
        match i {
            0 => Some(MarketCookie { oracle: self.primary, ..self.cookie }),
            _ => self.fallback.map(|f| MarketCookie { oracle: f, kind: OracleKind::SetPrice, ..self.cookie }),
        }
    }
}

/// A settable oracle at the market's price, set as its fallback.
async fn add_fallback(env: &mut TestEnv, m: &MarketCookie) -> Pubkey {
    let auth = env.oracle_authority.insecure_clone();
    let name = String::from_utf8_lossy(&m.symbol).trim_end_matches('\0').to_string();
    let symbol = sdk::symbol(&format!("{name}-FB"));
    env.process(&[sdk::create_price_oracle(&auth.pubkey(), symbol, m.expo)], &[&auth]).await.expect("fallback oracle");
    let fallback = sdk::price_oracle_address(&auth.pubkey(), &symbol);
    env.set_price(&MarketCookie { oracle: fallback, ..*m }, 1_000_000).await;
    let admin = env.admin.insecure_clone();
    let args = sdk::SetOracleArgs {
        slot: perpetual::OracleSlot::Fallback,
        oracle: fallback,
        kind: OracleKind::SetPrice,
        feed_id: None,
        max_age_secs: 120,
        max_conf_bps: 300,
    };
    env.process(&[sdk::set_oracle(&admin.pubkey(), &env.exchange, &m.market, args)], &[&admin])
        .await
        .expect("set the fallback");
    fallback
}

/// Publishes `price` on every oracle of market `mi` that is live, stamped now.
pub(super) async fn publish(env: &mut TestEnv, st: &mut State, mi: usize, price: i64) {
    st.markets[mi].price = price;
    for i in 0..2 {
        let Some(c) = st.markets[mi].oracle_cookie(i) else { continue };
        if st.markets[mi].live[i] && c.kind != OracleKind::None {
            env.set_price(&c, price).await;
            st.markets[mi].published[i] = price;
        }
    }
}

/// Points market `mi`'s cookies (the harness's, the test env's, the book's) at the oracle
/// the market reads now.
pub(super) async fn follow_source(env: &mut TestEnv, st: &mut State, mi: usize) {
    let key = st.markets[mi].cookie.market;
    let active = env.market_state(&key).await.active_oracle();
    st.markets[mi].cookie.oracle = active;
    if let Some(b) = st.markets[mi].book.as_mut() {
        b.venue.oracle = active;
        b.market.oracle = active;
    }
    for c in env.markets.iter_mut().filter(|c| c.market == key) {
        c.oracle = active;
    }
    for b in env.books.iter_mut().filter(|b| b.market.market == key) {
        b.venue.oracle = active;
        b.market.oracle = active;
    }
}

impl State {
    pub(super) fn user(&self, u: u8) -> &UserCookie {
        &self.users[u as usize % self.users.len()]
    }
    pub(super) fn user_index(&self, u: u8) -> usize {
        u as usize % self.users.len()
    }
    /// A market still open, by index modulo their number.
    pub(super) fn live(&self, m: u8) -> Option<usize> {
        let live: Vec<usize> = (0..self.markets.len()).filter(|i| !self.markets[*i].closed).collect();
        (!live.is_empty()).then(|| live[m as usize % live.len()])
    }
    /// Records that a risk op cleared all of `account`'s reservations.
    pub(super) fn cleared(&mut self, account: Pubkey) {
        self.cleared.insert(account);
    }
}

pub(super) enum Out {
    Done,
    Refused(String),
    Skip,
}

pub(super) async fn send(env: &mut TestEnv, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, String> {
    let (res, logs) = env.process_logged(ixs, signers).await;
    match res {
        Ok(o) => Ok(o),
        Err(e) => Err(refusal_name(&e, &logs)),
    }
}

pub(super) fn out<T>(r: Result<T, String>) -> Out {
    match r {
        Ok(_) => Out::Done,
        Err(name) => Out::Refused(name),
    }
}

pub(super) async fn setup(env: &mut TestEnv, s: &Setup) -> State {
    let mut markets = vec![];
    let sol = env.market_with_book("SOL", 64).await;
    // SOL has a fallback oracle (settable, 120 s and 3% rails); the others have none.
    let sol_fallback = add_fallback(env, &sol.market).await;
    markets.push(Mkt { fallback: Some(sol_fallback), ..Mkt::new(sol.market, Some(sol), 1_000_000, None) });
    let eth = env.create_market_with(market_args("ETH", OracleKind::PythLegacy), 1_000_000).await;
    let eth_book = env.create_book(&eth, book_args(64, 16)).await;
    markets.push(Mkt::new(eth, Some(eth_book), 1_000_000, None));
    if s.third_market {
        let mut args = market_args("BTC", OracleKind::SetPrice);
        args.price_band_bps = 1_000;
        let btc = env.create_market_with(args, 2_000_000).await;
        let btc_book = env.create_book(&btc, book_args(16, 4)).await;
        markets.push(Mkt::new(btc, Some(btc_book), 2_000_000, None));
    }
    if s.funding_rate_ppbh != 0 {
        let auth = env.funding_authority.insecure_clone();
        for m in &markets {
            let c = m.cookie;
            let ix =
                sdk::set_funding_rate(&auth.pubkey(), &env.exchange, &c.market, &c.oracle, s.funding_rate_ppbh as i64);
            env.process(&[ix], &[&auth]).await.expect("opening funding rate");
        }
    }
    let mut users = vec![];
    for i in 0..s.users as usize {
        let deposit = s.deposits_usdc[i] as u64 * ONE_USDC;
        let u = env.create_user(deposit + 100_000 * ONE_USDC).await;
        env.deposit(&u, deposit).await.expect("opening deposit");
        users.push(u);
    }
    if s.insurance_usdc > 0 {
        let u = &users[0];
        let ix = sdk::deposit_insurance(
            &u.key(),
            &env.exchange,
            &env.mint,
            &u.token_account,
            s.insurance_usdc as u64 * ONE_USDC,
        );
        env.process(&[ix], &[&u.owner]).await.expect("opening insurance");
    }
    let admin = env.admin.pubkey();
    let admin_token = env.create_token_account(&admin, 0).await;
    State {
        users,
        markets,
        cleared: HashSet::new(),
        admin_token,
        listed: 0,
        steps_done: 0,
        intent: RefCell::new(Intent::None),
        rule_checks: BTreeMap::new(),
        broken: None,
    }
}

// ---------------------------------------------------------------------------------------
// Reading state for resolution
// ---------------------------------------------------------------------------------------

/// A market's reference price per lot: the locked price once settled, the harness's oracle
/// price with an index, the mark (or last trade) without one.
pub(super) async fn ref_price(env: &mut TestEnv, st: &State, mi: usize) -> i64 {
    let m = &st.markets[mi];
    if m.closed {
        return m.price;
    }
    let s = env.market_state(&m.cookie.market).await;
    if s.is_final_settled() {
        return s.settlement_price.get().to_num::<i64>();
    }
    if m.cookie.kind != OracleKind::None {
        return m.price;
    }
    let mark = s.mark_price.get().to_num::<i64>();
    if mark > 0 {
        mark
    } else {
        s.last_trade_price as i64
    }
}

/// Per user: (equity, equity above maintenance, position in `market`), at reference prices.
pub(super) async fn user_risk(env: &mut TestEnv, st: &State, market: usize) -> Vec<(i128, i128, i64)> {
    let mut prices = vec![];
    let mut maint = vec![];
    for i in 0..st.markets.len() {
        prices.push(ref_price(env, st, i).await as i128);
        if st.markets[i].closed {
            maint.push((0i128, 0i128));
        } else {
            let s = env.market_state(&st.markets[i].cookie.market).await;
            maint.push((s.maint_margin_long_bps as i128, s.maint_margin_short_bps as i128));
        }
    }
    let mut out = vec![];
    for u in &st.users {
        let (h, ps) = env.margin(&u.margin_account).await;
        let mut equity = h.collateral as i128;
        let mut req = 0i128;
        let mut here = 0;
        for p in ps.iter().filter(|p| !p.is_free()) {
            let Some(i) = st.markets.iter().position(|m| m.cookie.market == p.market) else { continue };
            equity += p.base_lots as i128 * prices[i];
            let bps = if p.base_lots > 0 { maint[i].0 } else { maint[i].1 };
            req += (p.base_lots as i128).abs() * prices[i] * bps / 10_000;
            if i == market {
                here = p.base_lots;
            }
        }
        out.push((equity, equity - req, here));
    }
    out
}

/// Margin above maintenance per unit of maintenance requirement (parts per million; no
/// requirement: the most), so that the most leveraged account ranks weakest, not the
/// smallest one.
pub(super) fn margin_ratio(r: &(i128, i128, i64)) -> i128 {
    let req = r.0 - r.1;
    if req <= 0 {
        i128::MAX
    } else {
        r.1 * 1_000_000 / req
    }
}

/// The account a risk op targets: `U(i)`, or with `Auto` the user with a position in the
/// market (any position when `market` is None) whose margin ratio (`by_margin`) or equity
/// is lowest.
pub(super) fn pick_weakest(
    st: &State,
    who: Who,
    risk: &[(i128, i128, i64)],
    by_margin: bool,
    need_position: bool,
) -> Option<usize> {
    match who {
        U(i) => Some(st.user_index(i)),
        Auto | Same => (0..risk.len()).filter(|i| !need_position || risk[*i].2 != 0).min_by_key(|i| {
            if by_margin {
                margin_ratio(&risk[*i])
            } else {
                risk[*i].0
            }
        }),
    }
}

/// The counterparty: `U(i)`, or with `Auto` the largest position opposite `account`'s.
pub(super) fn pick_counterparty(st: &State, who: Who, risk: &[(i128, i128, i64)], account: usize) -> usize {
    match who {
        U(i) => st.user_index(i),
        Auto | Same => {
            let mine = risk[account].2;
            let opposite = who == Auto;
            (0..risk.len())
                .filter(|i| *i != account && risk[*i].2 != 0 && ((risk[*i].2 > 0) != (mine > 0)) == opposite)
                .max_by_key(|i| risk[*i].2.unsigned_abs())
                .unwrap_or((account + 1) % risk.len())
        }
    }
}

/// The counterparty of a deleveraging op (never the account itself) and its size: the op's
/// own, or with 0 the smaller of the two positions.
pub(super) fn pick_offset(st: &State, who: Who, risk: &[(i128, i128, i64)], account: usize, lots: u16) -> (usize, u64) {
    let mut cp = pick_counterparty(st, who, risk, account);
    if cp == account {
        cp = (account + 1) % st.users.len();
    }
    let size =
        if lots == 0 { risk[account].2.unsigned_abs().min(risk[cp].2.unsigned_abs()).max(1) } else { lots as u64 };
    (cp, size)
}

/// The market a risk op acts in: the op's own for `U(i)`; with `Auto`, the market of the
/// largest position (by notional) of the weakest account holding any (by margin above
/// maintenance, or by equity).
pub(super) async fn target_market(
    env: &mut TestEnv,
    st: &State,
    market: u8,
    who: Who,
    by_margin: bool,
) -> Option<usize> {
    if let U(_) = who {
        return st.live(market);
    }
    let risk = user_risk(env, st, usize::MAX).await;
    let mut best: Option<(i128, usize)> = None;
    for (ui, u) in st.users.iter().enumerate() {
        let (_, ps) = env.margin(&u.margin_account).await;
        let mut top: Option<(i128, usize)> = None;
        for p in ps.iter().filter(|p| !p.is_free() && p.base_lots != 0) {
            let Some(mi) = st.markets.iter().position(|m| m.cookie.market == p.market && !m.closed) else { continue };
            let notional = (p.base_lots as i128).abs() * ref_price(env, st, mi).await as i128;
            if top.is_none_or(|(n, _)| notional > n) {
                top = Some((notional, mi));
            }
        }
        let score = if by_margin { margin_ratio(&risk[ui]) } else { risk[ui].0 };
        if let Some((_, mi)) = top {
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, mi));
            }
        }
    }
    best.map(|(_, mi)| mi).or_else(|| st.live(market))
}

/// For the ops that finish a market (closing positions, the book, the market): among the
/// markets `keep` accepts, the settled (or closed) ones if any, else all; by index modulo
/// their number.
pub(super) async fn settled_first(env: &mut TestEnv, st: &State, m: u8, keep: impl Fn(&Mkt) -> bool) -> Option<usize> {
    let mut all = vec![];
    let mut settled = vec![];
    for (i, mk) in st.markets.iter().enumerate().filter(|(_, mk)| keep(mk)) {
        all.push(i);
        if mk.closed || env.market_state(&mk.cookie.market).await.is_final_settled() {
            settled.push(i);
        }
    }
    let pool = if settled.is_empty() { all } else { settled };
    (!pool.is_empty()).then(|| pool[m as usize % pool.len()])
}

/// `U(i)`'s margin account, or with `Auto` the first user holding a position slot in the
/// market (None when nobody does).
pub(super) async fn holder(env: &mut TestEnv, st: &State, mi: usize, who: Who) -> Option<Pubkey> {
    match who {
        U(i) => Some(st.user(i).margin_account),
        Auto | Same => {
            let market = st.markets[mi].cookie.market;
            for u in &st.users {
                if !env.position(&u.margin_account, &market).await.is_free() {
                    return Some(u.margin_account);
                }
            }
            None
        }
    }
}

/// The user's orders in a book, best first per side (bids then asks).
pub(super) async fn orders_of(env: &mut TestEnv, book: &BookCookie, account: &Pubkey) -> Vec<decode::L3Order> {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    let mut v = decode::l3(&b, BookSide::Bid);
    v.extend(decode::l3(&b, BookSide::Ask));
    v.retain(|o| o.margin_account == *account);
    v
}

pub(super) fn ticks(price_per_lot: i64, offset_bps: i16) -> u64 {
    let p = price_per_lot as i128 * (10_000 + offset_bps as i128) / 10_000;
    ((p + TICK as i128 / 2) / TICK as i128).max(1) as u64
}

pub(super) fn book_side(d: Dir) -> BookSide {
    match d {
        Buy => BookSide::Bid,
        Sell => BookSide::Ask,
    }
}

pub(super) fn order_type(k: Kind) -> OrderType {
    match k {
        Limit => OrderType::Limit,
        PostOnly => OrderType::PostOnly,
        Slide => OrderType::PostOnlySlide,
        Ioc => OrderType::ImmediateOrCancel,
        Fok => OrderType::FillOrKill,
        MarketOrder => OrderType::Market,
    }
}
