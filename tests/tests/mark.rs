//! The dual-price mark through the real crank (`orderbook::sample_mark` -> `perpetual::
//! record_mark_sample`): once-a-minute sampling into a 60-entry window, the fallbacks, the
//! market without a spot index, the paper's two manipulation cases and a Mango-style replay.
//!
//! Units: every market here has 1 lot = 1 whole base unit, 6 quote decimals and oracle expo
//! -6, so an oracle price of 1_000_000 is 1_000_000 quote native per lot ($1), and one book
//! tick is 10_000 native per lot (100 ticks = $1).
//!
//! The mark with a spot index is `median(p1, p2, pl)`: `p1 = index * (1 + F)`,
//! `p2 = index + MA(mid - index)`, `pl` the last trade (`pl = p1` before the first trade).
//! Without an index it is `MA(last + mid) / 2`.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::instructions::OrderType;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::math::mark::sample_slot;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::sdk::{ListMarketArgs, UpdateMarketArgs};
use perpetual::state::Market;
use perpetual::{OracleKind, Side};
use solana_signer::Signer;

const USD: i64 = 1_000_000; // $1 per lot, quote native

fn fx(v: i64) -> I80F48 {
    I80F48::from_num(v)
}

/// `|a - b| <= 1/1000` of a native unit: for values divided by 3 or scaled by a binary
/// fraction such as F = 0.004.
fn assert_close(a: I80F48, b: I80F48, what: &str) {
    let tol = fx(1) / fx(1_000);
    assert!((a - b).abs() <= tol, "{what}: {a} != {b}");
}

async fn finish(env: &mut TestEnv) {
    for b in env.books.clone() {
        check_book(env, &b).await;
    }
    invariants::check(env).await;
}

/// Refreshes the oracle at `index` and runs the crank now.
async fn sample_now(env: &mut TestEnv, book: &BookCookie, index: i64) -> Market {
    env.set_price(&book.market, index).await;
    env.sample_mark(book).await.expect("mark sample");
    env.market_state(&book.market.market).await
}

/// One minute later: refreshes the oracle (stale after 60 s) and samples.
async fn next_minute(env: &mut TestEnv, book: &BookCookie, index: i64) -> Market {
    env.warp(60).await;
    sample_now(env, book, index).await
}

/// The sample the last crank wrote.
fn last_sample(m: &Market) -> (I80F48, I80F48, i64) {
    let s = &m.mark_samples[sample_slot(m.mark_last_sample_ts, 0).0];
    (s.value.get(), s.index.get(), s.ts)
}

async fn warp_to(env: &mut TestEnv, ts: i64) {
    let now = env.now().await;
    assert!(ts >= now);
    env.warp(ts - now).await;
}

fn ioc(side: BookSide, ticks: u64, lots: u64) -> orderbook::instructions::PlaceOrderArgs {
    order(side, ticks, lots, OrderType::ImmediateOrCancel)
}

#[tokio::test]
async fn once_a_minute_sampling_with_a_sixty_sample_window() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Bid, 100, 10).await;
    env.rest(&maker, &book, BookSide::Ask, 104, 10).await;
    // A trade at 104 ticks: pl = 1_040_000. The book stays bid 100 / ask 104 (9 lots):
    // mid = (100 + 104) / 2 * 10_000 = 1_020_000.
    let p = env.place(&taker, &book, ioc(BookSide::Bid, 104, 1)).await.unwrap();
    assert_eq!(p.filled, 1);

    env.align_to_minute().await;
    let t0 = env.now().await;
    // Sample 0 at index 1_000_000: value = 1_020_000 - 1_000_000 = 20_000.
    // count 1, MA = 20_000, index MA = 1_000_000; F = 0 so p1 = 1_000_000,
    // p2 = 1_020_000, pl = 1_040_000 -> MP = 1_020_000.
    let m = sample_now(&mut env, &book, USD).await;
    assert_eq!(last_sample(&m), (fx(20_000), fx(1_000_000), t0));
    assert_eq!(m.mark_last_sample_ts, t0);
    assert_eq!(m.mark_sample_count, 1);
    assert_eq!((m.mark_ma.get(), m.index_ma.get()), (fx(20_000), fx(1_000_000)));
    assert_eq!(m.mark_price.get(), fx(1_020_000));

    // A second crank in the same minute (30 s later) is a named no-op error.
    env.warp(30).await;
    let ix = orderbook::sdk::sample_mark(&book.venue);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarkSampleTooEarly), "second sample in the minute").await;

    // Minutes k = 1..=61 at index_k = 1_000_000 + 100 k: value_k = 20_000 - 100 k.
    // The window after sample k holds k' = lo..=k with lo = max(0, k - 59) (a sample exactly
    // an hour old is out, and minute k + 60 reuses minute k's slot), so
    //   count = k - lo + 1 (at most 60),
    //   MA    = 20_000 - 100 * (lo + k) / 2 = 20_000 - 50 (lo + k),
    //   index MA = 1_000_000 + 50 (lo + k),
    //   p2    = index_k + MA = 1_020_000 + 100 k - 50 (lo + k),
    // and p1 = index_k < p2 < pl = 1_040_000, so MP = p2.
    for k in 1..=61i64 {
        warp_to(&mut env, t0 + 60 * k).await;
        let index = USD + 100 * k;
        let m = sample_now(&mut env, &book, index).await;
        let lo = (k - 59).max(0);
        assert_eq!(m.mark_sample_count as i64, k - lo + 1, "count after sample {k}");
        assert_eq!(m.mark_ma.get(), fx(20_000 - 50 * (lo + k)), "MA after sample {k}");
        assert_eq!(m.index_ma.get(), fx(1_000_000 + 50 * (lo + k)), "index MA after sample {k}");
        assert_eq!(m.mark_price.get(), fx(1_020_000 + 100 * k - 50 * (lo + k)), "MP after sample {k}");
        assert_eq!(last_sample(&m), (fx(20_000 - 100 * k), fx(index), t0 + 60 * k));
    }
    // Spot checks of the formula: after k = 59 (60 samples) MA = 20_000 - 50 * 59 = 17_050;
    // after k = 61 the window is k = 2..=61: MA = 20_000 - 50 * 63 = 16_850, index MA
    // 1_003_150, MP = 1_006_100 + 16_850 = 1_022_950.
    let m = env.market_state(&book.market.market).await;
    assert_eq!((m.mark_sample_count, m.mark_ma.get(), m.index_ma.get()), (60, fx(16_850), fx(1_003_150)));
    assert_eq!(m.mark_price.get(), fx(1_022_950));

    // More than an hour without a sample: every old sample drops out.
    env.warp(3_601).await;
    // One sample at 1_000_000: count 1, MA 20_000, MP = median(1_000_000, 1_020_000, 1_040_000).
    let m = sample_now(&mut env, &book, USD).await;
    assert_eq!((m.mark_sample_count, m.mark_ma.get(), m.index_ma.get()), (1, fx(20_000), fx(1_000_000)));
    assert_eq!(m.mark_price.get(), fx(1_020_000));

    // Missed minutes just mean fewer samples. Three minutes later at 1_010_000:
    // value 10_000; count 2, MA 15_000, index MA 1_005_000;
    // MP = median(1_010_000, 1_025_000, 1_040_000) = 1_025_000.
    env.warp(180).await;
    let m = sample_now(&mut env, &book, 1_010_000).await;
    assert_eq!((m.mark_sample_count, m.mark_ma.get(), m.index_ma.get()), (2, fx(15_000), fx(1_005_000)));
    assert_eq!(m.mark_price.get(), fx(1_025_000));
    // Ten minutes later at 1_020_000: value 0; count 3, MA 10_000, index MA 1_010_000;
    // MP = median(1_020_000, 1_030_000, 1_040_000) = 1_030_000.
    env.warp(600).await;
    let m = sample_now(&mut env, &book, 1_020_000).await;
    assert_eq!((m.mark_sample_count, m.mark_ma.get(), m.index_ma.get()), (3, fx(10_000), fx(1_010_000)));
    assert_eq!(m.mark_price.get(), fx(1_030_000));
    finish(&mut env).await;
}

#[tokio::test]
async fn fallbacks_no_trade_and_an_empty_side() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Bid, 98, 5).await;
    let ask = env.rest(&maker, &book, BookSide::Ask, 104, 5).await;
    // F = 500_000 ppb/h * 8 h = 0.4%: p1 = 1_004_000 at index 1_000_000.
    let funding = env.funding_authority.insecure_clone();
    let ix = sdk::set_funding_rate(&funding.pubkey(), &env.exchange, &m.market, &m.oracle, 500_000);
    env.process(&[ix], &[&funding]).await.unwrap();
    env.align_to_minute().await;

    // 1. No trade yet. mid = (98 + 104) / 2 * 10_000 = 1_010_000, value 10_000.
    //    p1 = 1_004_000, p2 = 1_010_000, pl missing -> pl = p1, so MP = 1_004_000: the index
    //    side, not the book.
    let s = sample_now(&mut env, &book, USD).await;
    assert_eq!(s.last_trade_price, 0);
    assert_eq!((last_sample(&s).0, s.mark_sample_count), (fx(10_000), 1));
    assert_close(s.mark_price.get(), fx(1_004_000), "no trade: MP = p1");

    // 2. Empty ask side and no trade: the slot records value 0 (a neutral basis) and the
    //    index reading. count 2, MA = (10_000 + 0) / 2 = 5_000;
    //    MP = median(1_004_000, 1_005_000, pl = p1) = 1_004_000.
    env.cancel(&maker, &book, BookSide::Ask, ask).await.unwrap();
    let s = next_minute(&mut env, &book, USD).await;
    let now = env.now().await;
    assert_eq!(last_sample(&s), (fx(0), fx(1_000_000), now));
    assert_eq!((s.mark_sample_count, s.mark_ma.get()), (2, fx(5_000)));
    assert_close(s.mark_price.get(), fx(1_004_000), "empty side, no trade");

    // 3. Empty ask side with a trade: the taker sells 1 lot into the bid at 98 ticks, so
    //    pl = 980_000, and the sample uses it: value = 980_000 - 1_000_000 = -20_000.
    //    count 3, MA = (10_000 + 0 - 20_000) / 3 = -3_333.33;
    //    MP = median(p1 1_004_000, p2 996_666.67, pl 980_000) = 996_666.67.
    let p = env.place(&taker, &book, ioc(BookSide::Ask, 98, 1)).await.unwrap();
    assert_eq!(p.filled, 1);
    let s = next_minute(&mut env, &book, USD).await;
    assert_eq!(s.last_trade_price, 980_000);
    assert_eq!(last_sample(&s).0, fx(-20_000));
    assert_eq!(s.mark_sample_count, 3);
    assert_close(s.mark_ma.get(), fx(-10_000) / fx(3), "MA");
    assert_close(s.mark_price.get(), fx(1_000_000) - fx(10_000) / fx(3), "empty side: last trade");

    // 4. Both sides empty: still the last trade, value -20_000. count 4,
    //    MA = (10_000 + 0 - 20_000 - 20_000) / 4 = -7_500;
    //    MP = median(1_004_000, 992_500, 980_000) = 992_500.
    let ix = orderbook::sdk::cancel_all_orders(&book.venue, &maker.key(), &maker.margin_account, 10);
    env.process(&[ix], &[&maker.owner]).await.unwrap();
    let s = next_minute(&mut env, &book, USD).await;
    assert_eq!((last_sample(&s).0, s.mark_sample_count, s.mark_ma.get()), (fx(-20_000), 4, fx(-7_500)));
    assert_eq!(s.mark_price.get(), fx(992_500));
    finish(&mut env).await;
}

/// A listed market without a spot index, its book created by the lister, long margin
/// lowered by the risk authority so that both sides can trade.
async fn no_index_market(env: &mut TestEnv) -> (BookCookie, solana_keypair::Keypair) {
    let lister = solana_keypair::Keypair::new();
    env.airdrop(&lister.pubkey(), 10_000_000_000).await;
    let token = env.create_token_account(&lister.pubkey(), 0).await;
    let args = ListMarketArgs {
        symbol: sdk::symbol("NOIDX"),
        oracle_kind: OracleKind::None,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: 1_000_000,
    };
    let m = env
        .list_market(&lister, &token, anchor_lang::prelude::Pubkey::default(), args)
        .await
        .expect("list without index");
    let book = env.create_book_as(&m, book_args(64, 16), &lister).await.expect("lister creates the book");
    let risk = env.risk_authority.insecure_clone();
    env.process(&[sdk::set_margins(&risk.pubkey(), &env.exchange, &m.market, 5_000, 8_000)], &[&risk]).await.unwrap();
    (book, lister)
}

#[tokio::test]
// Regression: a no-index market prices itself from the lister's opening price until it trades.
async fn a_market_without_index_gets_its_first_price_from_the_book() {
    let mut env = TestEnv::new().await;
    let (book, _) = no_index_market(&mut env).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    // Expected: the first quotes can rest and the crank prices the market from them.
    let r = env.place(&maker, &book, order(BookSide::Ask, 101, 5, OrderType::PostOnly)).await;
    assert!(r.is_ok(), "first ask on a no-index market: {r:?}");
    env.rest(&maker, &book, BookSide::Bid, 99, 5).await;
    // No trade yet: value = 2 * mid = 2 * 1_000_000; MP = 2_000_000 / 2 = 1_000_000.
    env.align_to_minute().await;
    env.sample_mark(&book).await.expect("first sample");
    let s = env.market_state(&book.market.market).await;
    assert_eq!((last_sample(&s).0, s.mark_price.get()), (fx(2_000_000), fx(1_000_000)));
    finish(&mut env).await;
}

/// Writes `last_trade_price` into the market account, as if a trade had happened. Only used
/// to get past the bootstrap bug above so that the no-index formula can be tested.
async fn seed_last_trade(env: &mut TestEnv, market: &anchor_lang::prelude::Pubkey, price: u64) {
    let mut account = env.account(market).await.expect("market");
    let m: &mut Market = bytemuck::from_bytes_mut(&mut account.data[8..Market::SPACE]);
    m.last_trade_price = price;
    env.ctx.set_account(market, &account.into());
}

#[tokio::test]
async fn no_index_mark_is_half_the_average_of_last_plus_mid() {
    let mut env = TestEnv::new().await;
    let (book, _) = no_index_market(&mut env).await;
    let m = book.market;
    // The market cannot get a first price on its own (see the ignored test above): seed a
    // last trade of 1_000_000 so that it has one. No position moves.
    seed_last_trade(&mut env, &m.market, 1_000_000).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    // Listing band 5% around the mark (the last trade while there are no samples): 95..=105.
    env.rest(&maker, &book, BookSide::Bid, 98, 10).await;
    let ask = env.rest(&maker, &book, BookSide::Ask, 104, 10).await;
    env.align_to_minute().await;

    // 1. last 1_000_000 + mid (98 + 104) / 2 * 10_000 = 1_010_000 -> value 2_010_000, no index
    //    reading. MP = MA / 2 = 1_005_000.
    env.sample_mark(&book).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((last_sample(&s).0, last_sample(&s).1), (fx(2_010_000), fx(0)));
    assert_eq!((s.mark_sample_count, s.mark_ma.get(), s.index_ma.get()), (1, fx(2_010_000), fx(0)));
    assert_eq!(s.mark_price.get(), fx(1_005_000));

    // 2. A trade at 104 ticks (inside 5% of the mark 1_005_000): last = 1_040_000; the ask
    //    keeps 8 lots, mid stays 1_010_000 -> value 2_050_000.
    //    MA = (2_010_000 + 2_050_000) / 2 = 2_030_000, MP = 1_015_000.
    let p = env.place(&taker, &book, ioc(BookSide::Bid, 104, 2)).await.unwrap();
    assert_eq!(p.filled, 2);
    env.warp(60).await;
    env.sample_mark(&book).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((last_sample(&s).0, s.mark_ma.get(), s.mark_price.get()), (fx(2_050_000), fx(2_030_000), fx(1_015_000)));

    // 3. Empty ask side: the missing mid counts as the last trade, value = 2 * 1_040_000.
    //    MA = (2_010_000 + 2_050_000 + 2_080_000) / 3 = 2_046_666.67, MP = 1_023_333.33.
    env.cancel(&maker, &book, BookSide::Ask, ask).await.unwrap();
    env.warp(60).await;
    env.sample_mark(&book).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((last_sample(&s).0, s.mark_sample_count), (fx(2_080_000), 3));
    assert_close(s.mark_price.get(), fx(3_070_000) / fx(3), "MP = MA / 2");
    // A second sample in the minute is refused here too.
    let ix = orderbook::sdk::sample_mark(&book.venue);
    assert_refused(&mut env, &[ix], &[], code(PerpError::MarkSampleTooEarly), "second sample").await;
    finish(&mut env).await;
}

/// A $1 market with a 25% band; `maker` quotes bid 99 / ask 101 (mid = index) and the
/// crank has sampled once a minute for an hour, so every MA is flat:
/// MA(mid - index) = 0, index MA = 1_000_000, 60 samples.
async fn calm_hour(env: &mut TestEnv) -> (BookCookie, UserCookie) {
    let book = env.market_with_book("SOL", 64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Bid, 99, 500).await;
    env.rest(&maker, &book, BookSide::Ask, 101, 500).await;
    env.align_to_minute().await;
    sample_now(env, &book, USD).await;
    for _ in 1..60 {
        next_minute(env, &book, USD).await;
    }
    let s = env.market_state(&book.market.market).await;
    assert_eq!((s.mark_sample_count, s.mark_ma.get(), s.index_ma.get()), (60, fx(0), fx(1_000_000)));
    (book, maker)
}

#[tokio::test]
async fn paper_case_1_index_pumped_tenfold_while_book_and_last_trade_stay() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let long = env.funded_user(100 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Bid, 99, 500).await;
    env.rest(&maker, &book, BookSide::Ask, 100, 100).await;
    env.rest(&maker, &book, BookSide::Ask, 101, 500).await;
    // The long buys 100 lots at $1: pl = 1_000_000; it pays 100 USDC + 500 ppm taker fee
    // (0.05): collateral -50_000. The book is left bid 99 / ask 101: mid = 1_000_000.
    env.place(&long, &book, ioc(BookSide::Bid, 100, 100)).await.unwrap();
    assert_eq!(env.collateral(&long.margin_account).await, -50_000);
    env.align_to_minute().await;
    sample_now(&mut env, &book, USD).await;
    for _ in 1..60 {
        next_minute(&mut env, &book, USD).await;
    }
    let before = env.market_state(&m.market).await;
    assert_eq!((before.mark_sample_count, before.mark_ma.get(), before.index_ma.get()), (60, fx(0), fx(1_000_000)));
    assert_eq!((before.index_price.get(), before.mark_price.get()), (fx(1_000_000), fx(1_000_000)));

    // The spot index is pumped 10x. |10_000_000 - 1_000_000| > 20% of the index MA: the
    // reading is refused and the market keeps its last good index.
    let pumped = 10 * USD;
    env.warp(30).await;
    env.set_price(&m, pumped).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.expect("update_funding with a jumped index");
    let s = env.market_state(&m.market).await;
    assert_eq!(s.index_price.get(), fx(1_000_000), "index unchanged");
    assert_eq!(s.index_ts, before.index_ts, "the jumped reading is not recorded as good");

    // The next sample: value = mid - accepted index = 0; the raw reading 10_000_000 feeds the
    // index MA: (59 * 1_000_000 + 10_000_000) / 60 = 1_150_000.
    // MP = median(p1 1_000_000, p2 1_000_000 + 0, pl 1_000_000) = 1_000_000.
    env.warp(30).await;
    let s = sample_now(&mut env, &book, pumped).await;
    assert_eq!(last_sample(&s).0, fx(0));
    assert_eq!(last_sample(&s).1, fx(pumped));
    assert_eq!(s.index_ma.get(), fx(1_150_000));
    let mp = s.mark_price.get();
    assert_eq!(mp, fx(1_000_000));
    assert!(mp <= fx(pumped), "MP is at most the pumped index");
    assert!(mp <= fx(1_050_000), "MP moves far less than the index: {mp}");

    // Through a health path: the long's 100 lots are valued at min(index, mark) = 1_000_000,
    // not at 10_000_000. Withdrawable: -50_000 + 100 * 1_000_000 - 10% * 100_000_000
    // = 89_950_000 exactly (at the pumped price it would be 899_950_000).
    let got = env.withdraw_max(&long).await;
    assert_eq!(got, 89_950_000);
    finish(&mut env).await;
}

#[tokio::test]
async fn paper_case_2_last_trade_and_mid_pumped_while_index_stays() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let pumper = env.funded_user(1_000 * ONE_USDC).await;
    let accomplice = env.funded_user(1_000 * ONE_USDC).await;
    // The accomplice offers 10 lots at the top of the 25% band (125 ticks = 1_250_000); the
    // pumper sweeps the honest asks at 101 and then these: the last trade is 1_250_000.
    env.rest(&accomplice, &book, BookSide::Ask, 125, 10).await;
    let p = env.place(&pumper, &book, ioc(BookSide::Bid, 125, 510)).await.unwrap();
    assert_eq!(p.filled, 510);
    // The book is quoted at +25%: bid 124 (pumper) / ask 125 (accomplice):
    // mid = (124 + 125) / 2 * 10_000 = 1_245_000.
    env.rest(&pumper, &book, BookSide::Bid, 124, 1).await;
    env.rest(&accomplice, &book, BookSide::Ask, 125, 1).await;
    assert_eq!(env.market_state(&m.market).await.last_trade_price, 1_250_000);

    // Next sample, index still 1_000_000: value = 245_000; MA = 245_000 / 60 = 4_083.33.
    // MP = median(p1 1_000_000, p2 1_004_083.33, pl 1_250_000) = 1_004_083.33.
    let s = next_minute(&mut env, &book, USD).await;
    assert_eq!(last_sample(&s).0, fx(245_000));
    let mp = s.mark_price.get();
    assert_close(mp, fx(1_000_000) + fx(245_000) / fx(60), "MP = p2");
    assert!(mp <= fx(1_250_000), "MP is at most the last price");
    assert!(mp <= fx(1_005_000), "MP stays within 0.5% of the index: {mp}");

    // Even with the funding rate at its bound (F clamped to +4%), p1 caps the mark:
    // rate 10_000_000 ppb/h * 8 h = 8% -> F = 4%, p1 = 1_040_000. Next sample: MA =
    // 2 * 245_000 / 60 = 8_166.67, p2 = 1_008_166.67, pl = 1_250_000 -> MP = 1_040_000.
    let admin = env.admin.insecure_clone();
    let args = UpdateMarketArgs {
        max_funding_rate_ppbh: Some(10_000_000),
        max_funding_rate_change_ppbh: Some(10_000_000),
        ..Default::default()
    };
    env.process(&[sdk::update_market(&admin.pubkey(), &env.exchange, &m.market, args)], &[&admin]).await.unwrap();
    let funding = env.funding_authority.insecure_clone();
    env.set_price(&m, USD).await;
    let ix = sdk::set_funding_rate(&funding.pubkey(), &env.exchange, &m.market, &m.oracle, 10_000_000);
    env.process(&[ix], &[&funding]).await.unwrap();
    let s = next_minute(&mut env, &book, USD).await;
    let mp = s.mark_price.get();
    assert_close(s.mark_ma.get(), fx(490_000) / fx(60), "MA of two pumped samples");
    assert_close(mp, fx(1_040_000), "MP = p1 at F = +4%");
    assert!(mp <= fx(1_250_000) && mp <= fx(1_040_001), "MP within 4% of the index: {mp}");
    finish(&mut env).await;
}

// ---- a Mango-style attack ----

/// What the attacker's two accounts did: one attacker, two margin accounts, each
/// depositing 400 USDC; A buys 1_000 lots from B at the top of the 25% band, $1.25.
struct Attack {
    a: UserCookie,
    b: UserCookie,
    /// An honest user whose 50_000 USDC sit in the vault.
    honest: UserCookie,
    /// The most the attacker can take out of both accounts.
    bound: u64,
}

const DEPOSIT: u64 = 400 * ONE_USDC;
const LOTS: u64 = 1_000;
const TOP_OF_BAND: u64 = 1_250_000;

/// The trade at the manipulated price, through the approved trader (the same
/// `settle_fills` path and band as the book).
///
/// Notional 1_000 * 1.25 = 1_250 USDC: A pays the 500 ppm taker fee (625_000), B gets the
/// 100 ppm maker rebate (125_000); the protocol keeps 500_000. Whatever prices do, the
/// attacker cannot get back more than it put in, less those fees, without taking other
/// users' money: bound = 400 + 400 USDC - 0.5 USDC = 799_500_000.
async fn attacker_trades_with_itself(env: &mut TestEnv, m: &MarketCookie) -> Attack {
    let honest = env.funded_user(50_000 * ONE_USDC).await;
    let a = env.funded_user(DEPOSIT).await;
    let b = env.funded_user(DEPOSIT).await;
    env.trade(&a, &b, m, Side::Bid, LOTS, TOP_OF_BAND).await.expect("A buys from B at the top of the band");
    assert_eq!(env.collateral(&a.margin_account).await, 400_000_000 - 1_250_000_000 - 625_000);
    assert_eq!(env.collateral(&b.margin_account).await, 400_000_000 + 1_250_000_000 + 125_000);
    let bound = 2 * DEPOSIT - (625_000 - 125_000);
    assert_eq!(bound, 799_500_000);
    Attack { a, b, honest, bound }
}

/// Both accounts withdraw all they can; returns the total.
async fn extract(env: &mut TestEnv, at: &Attack) -> (u64, u64) {
    let b = env.withdraw_max(&at.b).await;
    let a = env.withdraw_max(&at.a).await;
    (a, b)
}

async fn assert_honest_untouched(env: &mut TestEnv, at: &Attack) {
    assert_eq!(
        env.collateral(&at.honest.margin_account).await,
        50_000 * ONE_USDC as i64,
        "honest collateral untouched"
    );
    // The attacker leaves no bad debt at the true index ($1): A and B each still cover
    // their position at it.
    let a = env.collateral(&at.a.margin_account).await + LOTS as i64 * USD;
    let b = env.collateral(&at.b.margin_account).await - LOTS as i64 * USD;
    assert!(a >= 0 && b >= 0, "equity at the true index: A {a}, B {b}");
    env.withdraw(&at.honest, 50_000 * ONE_USDC).await.expect("the honest user gets everything back");
}

#[tokio::test]
async fn mango_style_attack_is_bounded_by_the_attackers_own_deposits() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let at = attacker_trades_with_itself(&mut env, &m).await;

    // Before any pump, at index = mark = $1 (MP = median(1, 1 + 0, 1.25) = 1):
    //   A: -850_625_000 + 1_000 * 1_000_000 - 10% * 1_000_000_000 = 49_375_000
    //   B: 1_650_125_000 - 1_000_000_000 - 100_000_000 = 550_125_000
    // The spot index is pumped 10x, then 20x. Both readings jump more than 20% from the
    // index MA (1_000_000): refused, the market keeps $1, and withdrawals value A's long at
    // min(index, mark) = $1.
    let mut total = 0;
    for pump in [10, 20] {
        env.set_price(&m, pump * USD).await;
        env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
        let s = env.market_state(&m.market).await;
        assert_eq!(s.index_price.get(), fx(USD), "the {pump}x index is refused");
        let (a, b) = extract(&mut env, &at).await;
        println!("pump {pump}x: A withdrew {a}, B withdrew {b}");
        if pump == 10 {
            assert_eq!((a, b), (49_375_000, 550_125_000));
        } else {
            assert_eq!((a, b), (0, 0), "nothing more at 20x");
        }
        total += a + b;
        // The crank keeps running during the pump; the mark stays at $1 while the
        // basis samples stay 0 and the index MA has not caught up.
        env.warp(60).await;
        let s = sample_now(&mut env, &book, pump * USD).await;
        assert_eq!(s.mark_price.get(), fx(USD));
    }
    println!("attacker extracted {total} of at most {}", at.bound);
    assert!(total <= at.bound, "extracted {total} > bound {}", at.bound);
    assert_honest_untouched(&mut env, &at).await;
    finish(&mut env).await;
}

#[tokio::test]
// Regression: without an hour-fresh average the jump guard compares against the last good index.
async fn mango_style_attack_when_the_crank_has_not_run_for_an_hour() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Bid, 99, 500).await;
    env.rest(&maker, &book, BookSide::Ask, 101, 500).await;
    // The crank ran once, more than an hour ago.
    env.align_to_minute().await;
    sample_now(&mut env, &book, USD).await;
    env.warp(3_600).await;
    env.set_price(&m, USD).await;
    let at = attacker_trades_with_itself(&mut env, &m).await;
    let b_first = env.withdraw_max(&at.b).await;
    // Pump 10x: with no recent index MA there is nothing to compare against.
    env.set_price(&m, 10 * USD).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
    let s = env.market_state(&m.market).await;
    println!("index after the pump: {}", s.index_price.get());
    let (a, b) = extract(&mut env, &at).await;
    let total = b_first + a + b;
    println!("attacker extracted {total} of at most {}", at.bound);
    assert_eq!(s.index_price.get(), fx(USD), "the pumped index is refused");
    assert!(total <= at.bound, "extracted {total} > bound {}", at.bound);
    assert_honest_untouched(&mut env, &at).await;
    finish(&mut env).await;
}

#[tokio::test]
// Regression: a pump held until the index average accepts it is still bounded: withdrawals value
// positions at the least favourable of index, mark and the slow stable price.
async fn mango_style_attack_with_the_pump_held_for_an_hour() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let at = attacker_trades_with_itself(&mut env, &m).await;
    let mut total = env.withdraw_max(&at.b).await + env.withdraw_max(&at.a).await;
    // The attacker holds the spot at 10x while honest keepers sample every minute; after
    // each sample it tries again.
    let mut accepted_at = None;
    for minute in 1..=60 {
        let s = next_minute(&mut env, &book, 10 * USD).await;
        if accepted_at.is_none() && s.index_price.get() != fx(USD) {
            accepted_at = Some(minute);
            println!(
                "minute {minute}: index {} accepted, index MA {}, MP {}",
                s.index_price.get(),
                s.index_ma.get(),
                s.mark_price.get()
            );
        }
        let (a, b) = extract(&mut env, &at).await;
        total += a + b;
        if a + b > 0 {
            println!("minute {minute}: A withdrew {a}, B withdrew {b}, total {total}");
        }
    }
    println!("attacker extracted {total} of at most {}; pumped index accepted at minute {accepted_at:?}", at.bound);
    assert!(total <= at.bound, "extracted {total} > bound {}", at.bound);
    assert_honest_untouched(&mut env, &at).await;
    finish(&mut env).await;
}

/// A genuine move: the spot falls 35% and stays. The first readings jump more than 20% from
/// the index average and are refused, but each index update remembers since when the oracle
/// has been below; once it has held there `INDEX_JUMP_CONFIRM_SECS` (three minutes), the
/// index follows it, and keeps following while it stays there.
#[tokio::test]
async fn a_move_held_for_three_minutes_becomes_the_index() {
    use perpetual::params::INDEX_JUMP_CONFIRM_SECS;
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let fallen = USD * 65 / 100;
    let first = next_minute(&mut env, &book, fallen).await;
    let since = first.mark_last_sample_ts;
    assert_eq!((first.index_price.get(), first.index_jump_since_ts, first.index_jump_side), (fx(USD), since, -1));
    for minute in 1..=5i64 {
        let s = next_minute(&mut env, &book, fallen).await;
        let held = s.mark_last_sample_ts - since;
        assert_eq!(held, 60 * minute);
        let expected = if held >= INDEX_JUMP_CONFIRM_SECS { fallen } else { USD };
        assert_eq!(s.index_price.get(), fx(expected), "{held} s after the move");
        assert_eq!(s.index_jump_since_ts, since, "the move is dated from its first reading");
    }
    // Health and the band price at the new index: a fresh update_funding caches it.
    env.set_price(&m, fallen).await;
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
    let s = env.market_state(&m.market).await;
    assert_eq!((s.index_price.get(), s.index_ts), (fx(fallen), env.now().await));
    finish(&mut env).await;
}

/// A flash spike: the spot jumps 60% for one minute and comes back. The spiked reading is
/// refused, the reading back inside the guard clears the pending move, and a second spike
/// starts the clock again: the index never takes a spike shorter than the confirmation.
#[tokio::test]
async fn a_one_minute_spike_never_becomes_the_index() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let spiked = USD * 160 / 100;
    for _ in 0..3 {
        let s = next_minute(&mut env, &book, spiked).await;
        assert_eq!((s.index_price.get(), s.index_jump_side), (fx(USD), 1), "the spike is refused");
        assert_eq!(s.index_jump_since_ts, s.mark_last_sample_ts, "a new spike starts the clock");
        let s = next_minute(&mut env, &book, USD).await;
        assert_eq!((s.index_price.get(), s.index_jump_since_ts, s.index_jump_side), (fx(USD), 0, 0), "cleared");
    }
    // A move up then down across the guard is two moves: the clock restarts on the new side.
    next_minute(&mut env, &book, spiked).await;
    let s = next_minute(&mut env, &book, USD * 60 / 100).await;
    assert_eq!((s.index_price.get(), s.index_jump_side), (fx(USD), -1));
    assert_eq!(s.index_jump_since_ts, s.mark_last_sample_ts, "restarted on the other side");
    finish(&mut env).await;
}

/// After a confirmed move the index follows readings within the guard of the confirmed
/// index; a further jump from it waits for a confirmation of its own.
#[tokio::test]
async fn a_jump_after_a_confirmed_move_needs_its_own_confirmation() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let fallen = USD * 65 / 100;
    for _ in 0..4 {
        next_minute(&mut env, &book, fallen).await;
    }
    let s = next_minute(&mut env, &book, fallen * 95 / 100).await;
    assert_eq!(s.index_price.get(), fx(fallen * 95 / 100), "a step within the guard of the confirmed index");
    let crashed = fallen / 2;
    let s = next_minute(&mut env, &book, crashed).await;
    assert_eq!(s.index_price.get(), fx(fallen * 95 / 100), "a second jump is refused");
    assert_eq!((s.index_jump_since_ts, s.index_jump_side), (s.mark_last_sample_ts, -1), "its clock starts");
    for _ in 0..2 {
        assert_eq!(next_minute(&mut env, &book, crashed).await.index_price.get(), fx(fallen * 95 / 100));
    }
    assert_eq!(next_minute(&mut env, &book, crashed).await.index_price.get(), fx(crashed), "held three minutes");
    finish(&mut env).await;
}

/// A slow pump: the attacker lifts the spot 4% a minute for 40 minutes, each reading within
/// the jump guard of the last, so every step becomes the index (4.8x in all). With the mark
/// crank stalled (only index updates run) and with it running, the attacker cannot take out
/// more than it put in, the honest user is untouched, and neither attacker account is left
/// with bad debt at the true price.
async fn slow_pump(crank_running: bool) {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let at = attacker_trades_with_itself(&mut env, &m).await;
    let mut total = env.withdraw_max(&at.b).await + env.withdraw_max(&at.a).await;
    let mut price = USD;
    for _ in 0..40 {
        price = price * 104 / 100;
        if crank_running {
            next_minute(&mut env, &book, price).await;
        } else {
            env.warp(60).await;
            env.set_price(&m, price).await;
            env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.unwrap();
        }
        let (a, b) = extract(&mut env, &at).await;
        total += a + b;
    }
    let s = env.market_state(&m.market).await;
    assert_eq!(s.index_price.get(), fx(price), "every 4% step became the index");
    println!("slow pump (crank running: {crank_running}): extracted {total} of at most {}", at.bound);
    assert!(total <= at.bound, "extracted {total} > bound {}", at.bound);
    assert_honest_untouched(&mut env, &at).await;
    finish(&mut env).await;
}

#[tokio::test]
async fn a_slow_pump_with_the_mark_crank_stalled_is_bounded() {
    slow_pump(false).await;
}

#[tokio::test]
async fn a_slow_pump_with_the_mark_crank_running_is_bounded() {
    slow_pump(true).await;
}

/// The crash with the attacker present: after A bought from B at the top of the band, SOL
/// falls 35% over five minutes and stays. A diligent liquidator acts every minute on what
/// the program lets it (the index takes the first 20% at once, the rest after the
/// confirmation), the insurance fund pays what A cannot, and both attacker accounts
/// withdraw all they can every minute.
#[tokio::test]
async fn a_genuine_crash_with_the_attacker_present() {
    let mut env = TestEnv::new().await;
    let (book, _maker) = calm_hour(&mut env).await;
    let m = book.market;
    let at = attacker_trades_with_itself(&mut env, &m).await;
    let funder = env.create_user(10_000 * ONE_USDC).await;
    let ix = sdk::deposit_insurance(&funder.key(), &env.exchange, &env.mint, &funder.token_account, 10_000 * ONE_USDC);
    env.process(&[ix], &[&funder.owner]).await.expect("deposit_insurance");
    let liquidator = env.funded_user(20_000 * ONE_USDC).await;
    let insurance_before = env.insurance_fund().await;
    let mut total = env.withdraw_max(&at.b).await + env.withdraw_max(&at.a).await;
    let mut price = USD as f64;
    let mut liquidated = 0;
    for minute in 0..15 {
        if minute < 5 {
            price *= 0.65f64.powf(0.2);
        }
        next_minute(&mut env, &book, price as i64).await;
        let lq = env.health_metas(&at.a.margin_account, &[m.market]).await;
        let lr = env.health_metas(&liquidator.margin_account, &[m.market]).await;
        let ix = sdk::liquidate(
            &env.exchange,
            &m.market,
            &m.oracle,
            &at.a.margin_account,
            &liquidator.margin_account,
            &liquidator.key(),
            u64::MAX,
            lq,
            lr,
        );
        if env.process(&[ix], &[&liquidator.owner]).await.is_ok() {
            liquidated += 1;
        }
        let (a, b) = extract(&mut env, &at).await;
        total += a + b;
    }
    let paid = insurance_before as i64 - env.insurance_fund().await as i64;
    println!(
        "crash with the attacker: extracted {total} of at most {}; {liquidated} liquidations; the fund paid {paid}",
        at.bound
    );
    assert!(liquidated > 0, "A was liquidated");
    assert!(total <= at.bound, "extracted {total} > bound {}", at.bound);
    // A was liquidated while the index still took the fall (its first 20%): the fund paid
    // no deficit, and the honest user's money is where it was.
    assert!(paid <= 0, "the fund paid {paid}");
    assert_eq!(env.collateral(&at.honest.margin_account).await, 50_000 * ONE_USDC as i64);
    env.withdraw(&at.honest, 50_000 * ONE_USDC).await.expect("the honest user gets everything back");
    finish(&mut env).await;
}
