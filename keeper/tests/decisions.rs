//! The keeper's liquidation, early-deleveraging and funding decisions match the programs'
//! math, on the same numbers: every account and market is read back from the embedded chain,
//! `keeper::risk::decide` chooses, the instruction that choice maps to (as `cranks::risk_scan`
//! builds it) is sent, and the program accepts it; where the keeper chose *not* to do
//! something, the program refuses it. Sizes and collateral moves are recomputed with the
//! program's own functions (`lots_to_restore`, `discounted`, `early_deleverage_fee`) from the
//! bytes the chain holds.
use anchor_lang::prelude::Pubkey;
use client::batch::Limits;
use client::chain::{Chain, ChainError, TxOutput};
use client::discovery;
use client::MarginView;
use keeper::cranks::{self, RiskEventKind};
use keeper::risk::{self, Action, MarketView};
use keeper::sim::world::{Actor, Group, World};
use orderbook::instructions::OrderType;
use orderbook::matching::{close_price, Closing};
use orderbook::state::BookRef;
use orderbook::Side;
use perpetual::error::PerpError;
use perpetual::health::{health_from_priced, AccountHealth, PricedMarket};
use perpetual::math::fixed_point::{ceil_to_i64, floor_to_i64, mul_bps};
use perpetual::math::health::HealthKind;
use perpetual::math::liquidation::{discounted, early_deleverage_fee, lots_to_restore};
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::state::{Exchange, Market};
use solana_signer::Signer;

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// Chain reading and instruction building, the way `cranks::risk_scan` does it.

/// What the risk scan reads: market views (cached index), margin accounts, insurance.
struct Snapshot {
    markets: Vec<MarketView>,
    accounts: Vec<MarginView>,
    insurance: u64,
}

impl Snapshot {
    fn account(&self, key: &Pubkey) -> &MarginView {
        self.accounts.iter().find(|a| a.key == *key).expect("margin account discovered")
    }
    fn market(&self, key: &Pubkey) -> &MarketView {
        self.markets.iter().find(|m| m.key == *key).expect("market discovered")
    }
}

async fn exchange_state(w: &mut World) -> Exchange {
    let data = w.chain.account_data(&w.exchange).await.unwrap();
    bytemuck::pod_read_unaligned(&data[8..8 + core::mem::size_of::<Exchange>()])
}

async fn snapshot(w: &mut World) -> Snapshot {
    let exchange = w.exchange;
    let markets = cranks::market_views(&mut w.chain, &exchange).await.unwrap();
    let accounts = discovery::margin_accounts(&mut w.chain, &exchange).await.unwrap();
    let insurance = exchange_state(w).await.insurance_fund;
    Snapshot { markets, accounts, insurance }
}

async fn market_state(w: &mut World, i: usize) -> Market {
    let key = w.markets[i].market;
    client::decode_market(&w.chain.account_data(&key).await.unwrap()).expect("a market")
}

/// The program's health of an account, recomputed here from the market and margin bytes on
/// chain with the program's own `PricedMarket` and `health_from_priced`.
async fn chain_health(w: &mut World, account: &Pubkey) -> (AccountHealth, Vec<PricedMarket>) {
    let now = w.chain.unix_time().await.unwrap();
    let view = margin(w, account).await;
    let mut priced = vec![];
    for i in 0..w.markets.len() {
        let (key, state) = (w.markets[i].market, market_state(w, i).await);
        if let Ok(p) = PricedMarket::new(key, &state, None, now) {
            priced.push(p);
        }
    }
    (health_from_priced(&view.header, &view.positions, &priced).unwrap(), priced)
}

/// Sends the instruction `action` maps to, as `cranks::risk_scan` builds it.
async fn send_action(w: &mut World, s: &Snapshot, action: &Action, liquidator: &Actor) -> Result<TxOutput, ChainError> {
    let keeper = w.keeper.insecure_clone();
    let k = risk_keeper(w.exchange, &keeper, liquidator, Limits::default());
    let (ix, signer) = cranks::action_instruction(&k, &s.markets, &s.accounts, s.account(&action.account()), action)?;
    let signer = signer.insecure_clone();
    w.chain.send(&[ix], &[&signer]).await
}

// ---------------------------------------------------------------------------------------
// Bringing accounts to a state.

/// A world at SOL $150 where one new account per deposit holds a 10 SOL long bought from
/// maker 0 (who is short all of it). Returns the longs' margin accounts.
async fn world_with_longs(seed: u64, deposits: &[u64]) -> (World, Vec<Pubkey>) {
    let mut w = World::build(seed).await.unwrap();
    w.chain.warp(60).await.unwrap();
    set_price(&mut w, SOL, 150.0).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.05, LOTS * deposits.len() as u64, OrderType::PostOnlySlide)
        .await;
    let maker = w.makers[0].margin;
    let mut longs = vec![];
    for d in deposits {
        let a = w.actor(d * USDC, true).await.unwrap();
        longs.push(a.margin);
        w.leveraged.push(a);
        let idx = w.leveraged.len() - 1;
        place(&mut w, Group::Leveraged, idx, SOL, Side::Bid, 150.05, LOTS, OrderType::ImmediateOrCancel).await;
    }
    for l in &longs {
        assert_eq!(lots_in(&margin(&mut w, l).await, &w.markets[SOL].market), LOTS as i64);
    }
    // The maker's side waits in its seat until the keeper's crank settles it.
    let exchange = w.exchange;
    keeper::cranks::settle_seats(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(
        lots_in(&margin(&mut w, &maker).await, &w.markets[SOL].market),
        -((LOTS * deposits.len() as u64) as i64)
    );
    (w, longs)
}

/// Price per lot of SOL at `dollars` (0.01 SOL lots, 6-decimal quote).
fn sol_per_lot(dollars: u64) -> I80F48 {
    I80F48::from_num(dollars * 10_000)
}

// ---------------------------------------------------------------------------------------

/// Healthy, liquidatable with a deep book, liquidatable with a thin book.
#[tokio::test]
async fn liquidation_and_early_deleveraging_decisions_match_the_program() {
    // B and its twin B2 (identical) and C: $200 against a $1,500 long.
    let (mut w, longs) = world_with_longs(11, &[200, 200, 200]).await;
    let (b, b2, c) = (longs[0], longs[1], longs[2]);
    let sol = w.markets[SOL].market;
    let liquidator = Actor {
        wallet: w.liquidator.wallet.insecure_clone(),
        tokens: w.liquidator.tokens,
        margin: w.liquidator.margin,
    };
    let maker0 = w.makers[0].margin;

    // --- A healthy account: the keeper does nothing, and the program refuses a liquidation.
    let s = snapshot(&mut w).await;
    let (h, _) = chain_health(&mut w, &b).await;
    assert!(h.maintenance >= 0, "B starts healthy: {h:?}");
    assert_eq!(
        risk::health(s.account(&b), &s.markets).unwrap().maintenance,
        h.maintenance,
        "the keeper's health is the program's"
    );
    assert_eq!(
        risk::decide(s.account(&b), &s.accounts, &s.markets, s.insurance),
        None,
        "a healthy account is left alone"
    );
    let forced = Action::Liquidate { account: b, market: sol, lots: 100 };
    let before = margin(&mut w, &b).await;
    assert_refused(send_action(&mut w, &s, &forced, &liquidator).await, PerpError::NotLiquidatable);
    assert_eq!(margin(&mut w, &b).await.header.collateral, before.header.collateral);

    // --- SOL falls to $136: B, B2 and C are below maintenance but not underwater.
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 136.0).await;
    // A deep book: maker 1 bids 20 SOL at each of $135.95, $135.90, $135.85.
    for px in [135.95, 135.90, 135.85] {
        place(&mut w, Group::Maker, 1, SOL, Side::Bid, px, 2_000, OrderType::PostOnlySlide).await;
    }
    let s = snapshot(&mut w).await;
    let mv = s.market(&sol);
    assert_eq!(mv.priced.index, sol_per_lot(136), "the cached index is the published price");
    assert_eq!(mv.priced.mark, mv.priced.index, "no samples, no funding: the mark is the index");
    let (h, _) = chain_health(&mut w, &b).await;
    assert!(h.maintenance < 0 && h.equity > 0, "B is liquidatable, not underwater: {h:?}");

    let action = risk::decide(s.account(&b), &s.accounts, &s.markets, s.insurance).expect("B needs action");
    let Action::LiquidateThroughBook { account, market, lots, limit_price_ticks } = action.clone() else {
        panic!("a deep book means a liquidation through it, got {action:?}")
    };
    assert_eq!((account, market), (b, sol));
    // The lots are the program's `lots_to_restore` on the chain's numbers.
    let m = &mv.market;
    let mm = m.risk_params().margin_bps(LOTS as i64, HealthKind::Maintenance);
    let expected = lots_to_restore(
        h.maintenance,
        h.maint_requirement,
        mv.priced.mark,
        mm,
        m.liquidation_discount_bps,
        m.liquidation_insurance_fee_bps,
        m.liquidation_buffer_bps,
        LOTS,
    )
    .unwrap()
    .max(1);
    assert_eq!(lots, expected);
    assert!(lots > 1 && lots < 2_000, "a partial liquidation the best level takes: {lots}");
    let best_bid = w.markets[SOL].ticks(135.95);
    assert_eq!(limit_price_ticks, best_bid, "the best level takes it all");

    // The book closes these lots near the mark and B's equity covers slippage and fee, so
    // the program refuses early deleveraging...
    let book = BookRef::parse(mv.book.as_ref().unwrap().1.as_slice()).unwrap();
    let close = close_price(&book.bids, &book.asks, book.seats, Closing::Long, lots, book.header.tick_size);
    assert!(
        close > 0 && I80F48::from_num(close) < mv.priced.mark,
        "the book fills {lots} lots just under the mark: {close}"
    );
    let fee_bps = m.liquidation_discount_bps + m.liquidation_insurance_fee_bps;
    assert_eq!(early_deleverage_fee(h.equity, mv.priced.mark, close, true, lots, fee_bps).unwrap(), None);
    let edl = Action::EarlyDeleverage { account: b, market: sol, counterparty: maker0, lots };
    let bytes_before = (w.chain.account_data(&b).await.unwrap(), w.chain.account_data(&maker0).await.unwrap());
    assert_refused(send_action(&mut w, &s, &edl, &liquidator).await, PerpError::EarlyDeleverageNotNeeded);
    assert_eq!(bytes_before, (w.chain.account_data(&b).await.unwrap(), w.chain.account_data(&maker0).await.unwrap()));

    // ...while the liquidation through the book the keeper chose goes through: B sells
    // exactly those lots to maker 1 at its bid, less the liquidation fee for the fund, and
    // the keeper's own account takes nothing.
    let lq_before = s.account(&b).header.collateral;
    let lr_before = s.account(&liquidator.margin).clone();
    let accrued_before = market_state(&mut w, SOL).await.insurance_accrued;
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the keeper's book liquidation");
    let after = margin(&mut w, &b).await;
    assert_eq!(lots_in(&after, &sol), (LOTS - lots) as i64);
    let quote = (lots * close) as i64;
    assert_eq!(close, best_bid * book.header.tick_size, "one level");
    let fee = perpetual::math::fees::fee(quote, m.liquidation_insurance_fee_bps as i32 * 100).unwrap();
    assert_eq!(after.header.collateral - lq_before, quote - fee);
    assert_eq!(market_state(&mut w, SOL).await.insurance_accrued - accrued_before, fee);
    let lr_after = margin(&mut w, &liquidator.margin).await;
    assert_eq!(
        (lr_after.header.collateral, lots_in(&lr_after, &sol)),
        (lr_before.header.collateral, lots_in(&lr_before, &sol)),
        "no inventory for the keeper"
    );
    let maker1 = w.makers[1].margin;
    let exchange = w.exchange;
    keeper::cranks::settle_seats(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(lots_in(&margin(&mut w, &maker1).await, &sol), lots as i64, "maker 1 bought them");
    // The lots restored it: the keeper now leaves it alone, the program agrees.
    let s = snapshot(&mut w).await;
    let (h_after, _) = chain_health(&mut w, &b).await;
    assert!(h_after.maintenance >= 0, "restored: {h_after:?}");
    assert_eq!(risk::decide(s.account(&b), &s.accounts, &s.markets, s.insurance), None);
    let again = Action::Liquidate { account: b, market: sol, lots: u64::MAX };
    assert_refused(send_action(&mut w, &s, &again, &liquidator).await, PerpError::NotLiquidatable);

    // B2 is B's twin, and the keeper chooses the same for it. Taken over instead (what the
    // scan falls back to when the book refuses) and left to choose its own size (max lots
    // unbounded), the program moves exactly the lots the keeper chose, at the mark less the
    // discount, the insurance fee going to the fund.
    assert_eq!(s.account(&b2).header.collateral, lq_before);
    assert_eq!(
        risk::decide(s.account(&b2), &s.accounts, &s.markets, s.insurance),
        Some(Action::LiquidateThroughBook { account: b2, market: sol, lots, limit_price_ticks })
    );
    let insurance_before = s.insurance;
    let lr_before = s.account(&liquidator.margin).header.collateral;
    let unbounded = Action::Liquidate { account: b2, market: sol, lots: u64::MAX };
    assert_accepted(send_action(&mut w, &s, &unbounded, &liquidator).await, "B2's takeover");
    let after = margin(&mut w, &b2).await;
    let lr_after = margin(&mut w, &liquidator.margin).await;
    assert_eq!(lots_in(&after, &sol), (LOTS - lots) as i64, "the program's own size is the keeper's");
    assert_eq!(lots_in(&lr_after, &sol), lots as i64);
    let cash = discounted(mv.priced.mark, true, m.liquidation_discount_bps).unwrap() * I80F48::from_num(lots);
    let fee = ceil_to_i64(mul_bps(mv.priced.mark * I80F48::from_num(lots), m.liquidation_insurance_fee_bps).unwrap())
        .unwrap();
    assert_eq!(after.header.collateral - lq_before, floor_to_i64(cash).unwrap() - fee);
    assert_eq!(lr_after.header.collateral - lr_before, -ceil_to_i64(cash).unwrap());
    assert_eq!(exchange_state(&mut w).await.insurance_fund, insurance_before + fee as u64);

    // --- A thin book: maker 1 pulls its bids and leaves one lot at $135.95.
    cancel_all(&mut w, Group::Maker, 1, SOL).await;
    place(&mut w, Group::Maker, 1, SOL, Side::Bid, 135.95, 1, OrderType::PostOnlySlide).await;
    let s = snapshot(&mut w).await;
    let mv = s.market(&sol);
    let (h, _) = chain_health(&mut w, &c).await;
    assert!(h.maintenance < 0 && h.equity > 0, "C is liquidatable, not underwater: {h:?}");
    let action = risk::decide(s.account(&c), &s.accounts, &s.markets, s.insurance).expect("C needs action");
    let Action::EarlyDeleverage { account, market, counterparty, lots } = action.clone() else {
        panic!("a thin book means early deleveraging, got {action:?}")
    };
    assert_eq!((account, market), (c, sol));
    assert_eq!(counterparty, maker0, "the only short absorbs it");
    let expected = lots_to_restore(
        h.maintenance,
        h.maint_requirement,
        mv.priced.mark,
        mm,
        m.liquidation_discount_bps,
        m.liquidation_insurance_fee_bps,
        m.liquidation_buffer_bps,
        LOTS,
    )
    .unwrap()
    .max(1);
    assert_eq!(lots, expected, "the keeper's early-deleverage size is lots_to_restore on the chain's numbers");
    let cp_lots = lots_in(s.account(&maker0), &sol);
    assert!(cp_lots.unsigned_abs() > lots, "the counterparty's size did not cap it");
    let book = BookRef::parse(mv.book.as_ref().unwrap().1.as_slice()).unwrap();
    let close = close_price(&book.bids, &book.asks, book.seats, Closing::Long, lots, book.header.tick_size);
    assert_eq!(close, 0, "the book cannot fill {lots} lots");
    let full_fee = early_deleverage_fee(h.equity, mv.priced.mark, close, true, lots, fee_bps)
        .unwrap()
        .expect("the program's condition holds");

    let (c_before, cp_before, insurance_before) =
        (s.account(&c).header.collateral, s.account(&maker0).header.collateral, s.insurance);
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the keeper's early deleveraging");
    let c_after = margin(&mut w, &c).await;
    let cp_after = margin(&mut w, &maker0).await;
    assert_eq!(lots_in(&c_after, &sol), (LOTS - lots) as i64);
    assert_eq!(lots_in(&cp_after, &sol), cp_lots + lots as i64);
    // At the mark, the fee (capped at the equity) split between counterparty and fund.
    let fee = full_fee.min(floor_to_i64(h.equity.max(I80F48::ZERO)).unwrap());
    let cash = mv.priced.mark * I80F48::from_num(lots);
    let to_cp = fee / 2;
    assert_eq!(c_after.header.collateral - c_before, floor_to_i64(cash).unwrap() - fee);
    assert_eq!(cp_after.header.collateral - cp_before, -ceil_to_i64(cash).unwrap() + to_cp);
    assert_eq!(exchange_state(&mut w).await.insurance_fund, insurance_before + (fee - to_cp) as u64);
    let s = snapshot(&mut w).await;
    assert_eq!(risk::decide(s.account(&c), &s.accounts, &s.markets, s.insurance), None, "restored by the same size");
}

/// Underwater with a fund that can pay the whole takeover's shortfall (the position is taken
/// over whole), with one that can only pay the deficit (the fund covers it), then without
/// (offset against the best short).
#[tokio::test]
async fn underwater_decisions_match_the_program() {
    let (mut w, longs) = world_with_longs(12, &[160, 160, 160]).await;
    let (d, c, e) = (longs[0], longs[1], longs[2]);
    let sol = w.markets[SOL].market;
    let maker0 = w.makers[0].margin;
    let liquidator = Actor {
        wallet: w.liquidator.wallet.insecure_clone(),
        tokens: w.liquidator.tokens,
        margin: w.liquidator.margin,
    };
    let admin = w.admin.insecure_clone();

    // SOL gaps to $130: D, C and E are underwater.
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 130.0).await;
    let s = snapshot(&mut w).await;
    assert!(s.insurance > 0);
    let (h, _) = chain_health(&mut w, &d).await;
    assert!(h.equity < 0, "D is underwater: {h:?}");

    // --- A fund that pays the whole shortfall: D's position is taken over whole, the fund
    // paying the deficit and the discount and taking the insurance fee.
    let action = risk::decide(s.account(&d), &s.accounts, &s.markets, s.insurance).expect("D needs action");
    assert_eq!(action, Action::Liquidate { account: d, market: sol, lots: LOTS });
    let mv = s.market(&sol);
    let predicted = risk::takeover_shortfall(&h, &mv.market, mv.priced.mark, LOTS).expect("a shortfall");
    let fee =
        ceil_to_i64(mul_bps(mv.priced.mark * I80F48::from_num(LOTS), mv.market.liquidation_insurance_fee_bps).unwrap())
            .unwrap() as u64;
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the whole takeover");
    let d_after = margin(&mut w, &d).await;
    assert!(d_after.positions.iter().all(|p| p.is_free()), "D holds nothing");
    assert!((0..=1).contains(&d_after.header.collateral), "D is left at zero: {}", d_after.header.collateral);
    let paid = s.insurance + fee - exchange_state(&mut w).await.insurance_fund;
    assert!(paid <= predicted && paid + 2 >= predicted, "paid {paid}, predicted {predicted}");

    // --- A fund between C's deficit and its takeover's shortfall: it pays the deficit,
    // ceil(-equity), exactly.
    let s = snapshot(&mut w).await;
    let (h, _) = chain_health(&mut w, &c).await;
    let deficit = ceil_to_i64(-h.equity).unwrap() as u64;
    let mv = s.market(&sol);
    let shortfall = risk::takeover_shortfall(&h, &mv.market, mv.priced.mark, LOTS).unwrap();
    assert!(deficit < shortfall);
    let keep = deficit + (shortfall - deficit) / 2;
    let ix = sdk::withdraw_insurance(&admin.pubkey(), &w.exchange, &w.mint, &w.admin_tokens, s.insurance - keep);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "withdraw_insurance");
    let s = snapshot(&mut w).await;
    assert_eq!(s.insurance, keep);
    let action = risk::decide(s.account(&c), &s.accounts, &s.markets, s.insurance).expect("C needs action");
    assert_eq!(action, Action::CoverWithInsurance { account: c });
    let c_before = s.account(&c).header.collateral;
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the insurance cover");
    assert_eq!(margin(&mut w, &c).await.header.collateral, c_before + deficit as i64);
    assert_eq!(exchange_state(&mut w).await.insurance_fund, s.insurance - deficit);
    let (h_after, _) = chain_health(&mut w, &c).await;
    assert!(h_after.equity >= 0 && h_after.equity < 1, "C's equity is back to zero: {h_after:?}");
    // A second cover is refused: it is no longer underwater.
    let s = snapshot(&mut w).await;
    assert_refused(send_action(&mut w, &s, &action, &liquidator).await, PerpError::NotUnderwater);

    // With the fund still holding money, a deleveraging of E is refused.
    let premature = Action::Deleverage { account: e, market: sol, counterparty: maker0, lots: LOTS };
    assert_refused(send_action(&mut w, &s, &premature, &liquidator).await, PerpError::InsufficientInsurance);

    // --- Without insurance: the admin withdraws the fund; E is offset against maker 0 (the
    // only short) at its bankruptcy price, mark - equity / position.
    let ix = sdk::withdraw_insurance(&admin.pubkey(), &w.exchange, &w.mint, &w.admin_tokens, s.insurance);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "withdraw_insurance");
    let s = snapshot(&mut w).await;
    assert_eq!(s.insurance, 0);
    let (h, _) = chain_health(&mut w, &e).await;
    assert!(h.equity < 0, "E is underwater: {h:?}");
    let action = risk::decide(s.account(&e), &s.accounts, &s.markets, s.insurance).expect("E needs action");
    assert_eq!(action, Action::Deleverage { account: e, market: sol, counterparty: maker0, lots: LOTS });
    let ranked = risk::rank_counterparties(&s.accounts, &s.markets, s.market(&sol), true, &e);
    assert_eq!(ranked.first().map(|(a, _)| a.key), Some(maker0));
    let (e_before, cp_before) = (s.account(&e).header.collateral, s.account(&maker0).header.collateral);
    let cp_lots = lots_in(s.account(&maker0), &sol);
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the keeper's deleveraging");
    let e_after = margin(&mut w, &e).await;
    let cp_after = margin(&mut w, &maker0).await;
    assert_eq!(lots_in(&e_after, &sol), 0, "the whole position is offset");
    assert!(e_after.positions.iter().all(|p| p.is_free()), "E's slot is released");
    assert_eq!(lots_in(&cp_after, &sol), cp_lots + LOTS as i64);
    let mark = s.market(&sol).priced.mark;
    let price = mark - h.equity / I80F48::from_num(LOTS as i64);
    let cash = price * I80F48::from_num(LOTS);
    assert_eq!(e_after.header.collateral - e_before, floor_to_i64(cash).unwrap());
    assert_eq!(cp_after.header.collateral - cp_before, -ceil_to_i64(cash).unwrap());
    assert!(
        (-1..=0).contains(&e_after.header.collateral),
        "bankruptcy price leaves E at zero: {}",
        e_after.header.collateral
    );
    // Nothing is left to do about E.
    let s = snapshot(&mut w).await;
    assert_eq!(risk::decide(s.account(&e), &s.accounts, &s.markets, s.insurance), None);
}

// ---------------------------------------------------------------------------------------
// Funding.

/// The clamped premium, computed here from the market's fields with exact integers: the
/// average premium `mark_ma / index` paid over 8 hours, in parts per billion per hour,
/// floored, then kept within `step` of the window's starting rate (the current rate once
/// the window has closed, since the program then opens a new one from it) and within `max`.
fn expected_rate(m: &Market, now: i64) -> i64 {
    let fresh = m.mark_sample_count > 0 && now - m.mark_last_sample_ts < 3_600;
    let (ma, index) = (m.mark_ma.get().to_bits(), m.index_price.get().to_bits());
    let wanted = if fresh && index > 0 { (ma * 1_000_000_000).div_euclid(index * 8) } else { 0 } as i64;
    let base = if now < m.funding_window_start_ts + m.funding_window_secs {
        m.funding_window_start_rate_ppbh
    } else {
        m.funding_rate_ppbh
    };
    let (step, max) = (m.max_funding_rate_change_ppbh, m.max_funding_rate_ppbh);
    wanted.max(base - step).min(base + step).max(-max).min(max)
}

/// Maker 0 quotes market `i` with one bid and one ask (replacing its quotes there).
async fn quote(w: &mut World, i: usize, bid: f64, ask: f64, first: bool) {
    if !first {
        cancel_all(w, Group::Maker, 0, i).await;
    }
    place(w, Group::Maker, 0, i, Side::Bid, bid, 10, OrderType::PostOnlySlide).await;
    place(w, Group::Maker, 0, i, Side::Ask, ask, 10, OrderType::PostOnlySlide).await;
}

/// One simulated minute: prices published, indexes refreshed, one mark sample per market.
async fn minute(w: &mut World) {
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();
    let exchange = w.exchange;
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    let r = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert!(r.sent >= 2, "SOL and ETH sampled: {r:?}");
}

#[tokio::test]
async fn funding_rates_are_the_clamped_premium_and_within_the_programs_bounds() {
    let mut w = World::build(13).await.unwrap();
    let exchange = w.exchange;
    let keeper = w.keeper.insecure_clone();
    let eth = w.markets[ETH].market;
    // Every market's cached index fresh (orders price the maker's other markets from it).
    set_price(&mut w, SOL, 150.0).await;
    // SOL quoted $150.00 / $150.10 around a $150 index: premium +$0.05.
    quote(&mut w, SOL, 150.00, 150.10, true).await;
    // ETH around $3,000: mids $3,015, $3,025, $3,005 over three minutes, an average of +$15.
    quote(&mut w, ETH, 3_010.0, 3_020.0, true).await;
    minute(&mut w).await;
    quote(&mut w, ETH, 3_020.0, 3_030.0, false).await;
    minute(&mut w).await;
    quote(&mut w, ETH, 3_000.0, 3_010.0, false).await;
    minute(&mut w).await;

    let now = w.chain.unix_time().await.unwrap();
    let (ms, me) = (market_state(&mut w, SOL).await, market_state(&mut w, ETH).await);
    // The averages are the quotes' premiums, per lot: SOL 0.05 * 10,000; ETH 15 * 1,000.
    assert_eq!(ms.mark_ma.get(), I80F48::from_num(500));
    assert_eq!(me.mark_ma.get(), I80F48::from_num(15_000));
    assert_eq!((ms.mark_sample_count, me.mark_sample_count), (3, 3));
    assert_eq!(
        (ms.index_price.get(), me.index_price.get()),
        (I80F48::from_num(1_500_000), I80F48::from_num(3_000_000))
    );

    // SOL: 0.05 / 150 / 8 * 1e9 = 41,666.67 -> 41,666 ppbh, inside every bound.
    assert_eq!(cranks::funding_rate_ppbh(&ms, now), expected_rate(&ms, now));
    assert_eq!(expected_rate(&ms, now), 41_666);
    // ETH: 15 / 3000 / 8 * 1e9 = 625,000 ppbh, clamped to the window's step of 500,000.
    assert_eq!(cranks::funding_rate_ppbh(&me, now), expected_rate(&me, now));
    assert_eq!(expected_rate(&me, now), me.max_funding_rate_change_ppbh);
    assert_eq!(me.max_funding_rate_change_ppbh, 500_000);

    let r = cranks::set_funding_rates(&mut w.chain, &exchange, &keeper, Limits::default()).await.unwrap();
    assert_eq!((r.sent, r.failed), (2, 0), "both rates accepted, never refused: {r:?}");
    let (ms2, me2) = (market_state(&mut w, SOL).await, market_state(&mut w, ETH).await);
    assert_eq!(ms2.funding_rate_ppbh, 41_666);
    assert_eq!(me2.funding_rate_ppbh, 500_000);
    // The keeper's ETH rate sits exactly on the program's bound: one more is refused.
    let ix = sdk::set_funding_rate(&keeper.pubkey(), &exchange, &eth, &w.markets[ETH].oracle, 500_001);
    assert_refused(w.chain.send(&[ix], &[&keeper]).await, PerpError::FundingRateChangeTooLarge);
    // Still in the window: the keeper asks for the same rates again (and sends nothing).
    let now = w.chain.unix_time().await.unwrap();
    assert_eq!(cranks::funding_rate_ppbh(&me2, now), 500_000);
    assert_eq!(cranks::funding_rate_ppbh(&ms2, now), 41_666);

    // A new window an hour later: the old samples have aged out; one fresh sample at +$15.50
    // and the step now runs from the current 500,000, so the full 645,833 is allowed.
    w.chain.warp(3_600).await.unwrap();
    set_price(&mut w, SOL, 150.0).await;
    quote(&mut w, ETH, 3_010.0, 3_021.0, false).await;
    minute(&mut w).await;
    let now = w.chain.unix_time().await.unwrap();
    let (ms, me) = (market_state(&mut w, SOL).await, market_state(&mut w, ETH).await);
    assert!(now >= me.funding_window_start_ts + me.funding_window_secs, "the window closed");
    assert_eq!(me.mark_sample_count, 1);
    assert_eq!(cranks::funding_rate_ppbh(&me, now), expected_rate(&me, now));
    assert_eq!(me.mark_ma.get(), I80F48::from_num(15_500));
    assert_eq!(expected_rate(&me, now), 645_833);
    assert_eq!(cranks::funding_rate_ppbh(&ms, now), expected_rate(&ms, now));
    let r = cranks::set_funding_rates(&mut w.chain, &exchange, &keeper, Limits::default()).await.unwrap();
    assert_eq!(r.failed, 0, "{r:?}");
    let (ms2, me2) = (market_state(&mut w, SOL).await, market_state(&mut w, ETH).await);
    assert_eq!(me2.funding_rate_ppbh, 645_833);
    assert_eq!(me2.funding_window_start_rate_ppbh, 500_000, "the program opened the window from the old rate");
    assert_eq!(ms2.funding_rate_ppbh, expected_rate(&ms, now));
    for m in [&ms2, &me2] {
        assert!(m.funding_rate_ppbh.abs() <= m.max_funding_rate_ppbh);
        assert!((m.funding_rate_ppbh - m.funding_window_start_rate_ppbh).abs() <= m.max_funding_rate_change_ppbh);
    }
}

/// The same formula when the premium is a whole number of ppbh: ETH's average premium
/// +$15 on a $3,000 index (the chain's numbers above: `mark_ma` 15,000 and `index_price`
/// 3,000,000 per lot, one fresh sample, the window closed at a current rate of 500,000) is
/// exactly 15 / 3000 / 8 * 1e9 = 625,000 ppbh.
#[test]
// Regression test for a bug this suite found (now fixed).
fn funding_rate_is_exact_for_a_whole_premium() {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    let now = 1_767_229_440;
    m.mark_ma.set(I80F48::from_num(15_000));
    m.index_price.set(I80F48::from_num(3_000_000));
    m.mark_sample_count = 1;
    m.mark_last_sample_ts = now;
    m.funding_rate_ppbh = 500_000;
    m.funding_window_start_ts = now - 3_840;
    m.funding_window_secs = 3_600;
    m.max_funding_rate_ppbh = 1_000_000;
    m.max_funding_rate_change_ppbh = 500_000;
    assert_eq!(expected_rate(&m, now), 625_000);
    assert_eq!(cranks::funding_rate_ppbh(&m, now), 625_000);
}

/// In a crash the scan acts on the accounts furthest below maintenance first, whatever their
/// keys: here an underwater long (taken over whole, the fund paying its shortfall) before a long
/// that is only liquidatable, although the latter's key comes first.
#[tokio::test]
async fn the_risk_scan_acts_on_the_worst_account_first() {
    // A seed whose better-funded long has the smaller key, so key order would take it first.
    let mut seed = 40;
    let (mut w, better, worse) = loop {
        let (w, longs) = world_with_longs(seed, &[300, 180]).await;
        if longs[0] < longs[1] {
            break (w, longs[0], longs[1]);
        }
        seed += 1;
    };
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 125.0).await;
    let s = snapshot(&mut w).await;
    let h_better = risk::health(s.account(&better), &s.markets).unwrap();
    let h_worse = risk::health(s.account(&worse), &s.markets).unwrap();
    assert!(h_better.maintenance < 0 && h_better.equity > 0, "liquidatable: {h_better:?}");
    assert!(h_worse.equity < 0 && h_worse.maintenance < h_better.maintenance, "underwater: {h_worse:?}");

    let (authority, liquidator) = (w.keeper.insecure_clone(), clone_actor(&w.liquidator));
    let k = risk_keeper(w.exchange, &authority, &liquidator, Limits::default());
    let scan = cranks::risk_scan(&mut w.chain, &k).await.unwrap();
    assert_eq!(scan.acted_on, vec![worse, better], "{scan:?}");
    assert_eq!(scan.events.first(), Some(&(RiskEventKind::Liquidation, w.markets[SOL].market)), "{scan:?}");
    assert_eq!((scan.insurance_covers, scan.failed), (0, 0), "{scan:?}");
}

/// A fund too thin for the deficit: one risk loop covers what the fund holds, then scans
/// again and deleverages the rest, without waiting for the next loop.
#[tokio::test]
async fn one_risk_loop_covers_then_deleverages() {
    let (mut w, longs) = world_with_longs(12, &[160]).await;
    let d = longs[0];
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 130.0).await;
    let (h, _) = chain_health(&mut w, &d).await;
    let deficit = ceil_to_i64(-h.equity).unwrap() as u64;
    let s = snapshot(&mut w).await;
    let admin = w.admin.insecure_clone();
    let ix = sdk::withdraw_insurance(&admin.pubkey(), &w.exchange, &w.mint, &w.admin_tokens, s.insurance - deficit / 2);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "withdraw_insurance");

    let (authority, liquidator) = (w.keeper.insecure_clone(), clone_actor(&w.liquidator));
    let k = risk_keeper(w.exchange, &authority, &liquidator, Limits::default());
    let scan = cranks::risk_rounds(&mut w.chain, &k, cranks::MAX_RISK_ROUNDS).await.unwrap();
    let kinds: Vec<RiskEventKind> = scan.events.iter().map(|e| e.0).collect();
    assert_eq!(kinds, vec![RiskEventKind::InsuranceCover, RiskEventKind::Deleverage], "{scan:?}");
    assert_eq!((scan.failed, scan.acted_on.clone()), (0, vec![d]), "{scan:?}");
    assert_eq!(exchange_state(&mut w).await.insurance_fund, 0);
    assert!(margin(&mut w, &d).await.positions.iter().all(|p| p.is_free()), "D holds nothing");
    // A single scan would have stopped after the cover.
    let again = cranks::risk_rounds(&mut w.chain, &k, cranks::MAX_RISK_ROUNDS).await.unwrap();
    assert_eq!((again.landed(), again.transactions), (0, 0), "{again:?}");
}

/// A book deep enough but only far under the mark: closing through it would leave the
/// account's ratio of equity to requirement worse, which the program refuses
/// (`LiquidationWorsensRatio`). The keeper predicts that and takes the position over instead.
#[tokio::test]
async fn a_book_fill_that_would_worsen_the_ratio_means_a_takeover() {
    let (mut w, longs) = world_with_longs(12, &[200]).await;
    let b = longs[0];
    let sol = w.markets[SOL].market;
    let liquidator = clone_actor(&w.liquidator);
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 136.0).await;
    // Plenty of depth, at $129.50: within the 5% band, 4.8% under the mark.
    place(&mut w, Group::Maker, 1, SOL, Side::Bid, 129.50, 5_000, OrderType::PostOnlySlide).await;
    let s = snapshot(&mut w).await;
    let (h, _) = chain_health(&mut w, &b).await;
    assert!(h.maintenance < 0 && h.equity > 0, "liquidatable, not underwater: {h:?}");
    let action = risk::decide(s.account(&b), &s.accounts, &s.markets, s.insurance).expect("B needs action");
    let Action::Liquidate { lots, .. } = action else { panic!("a takeover, got {action:?}") };
    // The equity would cover the book's slippage and fee (no early deleveraging)...
    let mv = s.market(&sol);
    let book = BookRef::parse(mv.book.as_ref().unwrap().1.as_slice()).unwrap();
    let close = close_price(&book.bids, &book.asks, book.seats, Closing::Long, lots, book.header.tick_size);
    let m = &mv.market;
    let fee_bps = m.liquidation_discount_bps + m.liquidation_insurance_fee_bps;
    assert_eq!(early_deleverage_fee(h.equity, mv.priced.mark, close, true, lots, fee_bps).unwrap(), None);
    assert!(!risk::book_liquidation_passes(&h, m, mv.priced.mark, close, true, lots));
    // ...but the program refuses the book liquidation, as predicted, and takes the takeover.
    let limit_price_ticks = w.markets[SOL].ticks(129.50);
    let through_book = Action::LiquidateThroughBook { account: b, market: sol, lots, limit_price_ticks };
    let before = w.chain.account_data(&b).await.unwrap();
    assert_refused(send_action(&mut w, &s, &through_book, &liquidator).await, PerpError::LiquidationWorsensRatio);
    assert_eq!(before, w.chain.account_data(&b).await.unwrap());
    assert_accepted(send_action(&mut w, &s, &action, &liquidator).await, "the takeover");
    assert_eq!(lots_in(&margin(&mut w, &b).await, &sol), (LOTS - lots) as i64);
}

/// The index recovers between the scan and its book liquidation, which the program then
/// refuses: the scan falls back to a takeover, refused as well, and nothing changes.
#[tokio::test]
async fn a_refused_book_liquidation_falls_back_to_a_takeover() {
    use anchor_lang::Discriminator;

    let (mut w, longs) = world_with_longs(13, &[200]).await;
    let b = longs[0];
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 136.0).await;
    for px in [135.95, 135.90] {
        place(&mut w, Group::Maker, 1, SOL, Side::Bid, px, 2_000, OrderType::PostOnlySlide).await;
    }
    let s = snapshot(&mut w).await;
    let action = risk::decide(s.account(&b), &s.accounts, &s.markets, s.insurance).expect("B needs action");
    assert!(matches!(action, Action::LiquidateThroughBook { .. }), "{action:?}");
    // SOL back at $140, where B is healthy, the bids still inside the band.
    let now = w.chain.unix_time().await.unwrap();
    let mut recovered = w.markets[SOL].clone();
    recovered.price = 140.0;
    let Some(keeper::sim::world::PriceUpdate::Account(feed)) = recovered.price_update(&w.admin.pubkey(), now) else {
        panic!("SOL has a Pyth feed")
    };
    let before = w.chain.account_data(&b).await.unwrap();

    let (authority, liquidator) = (w.keeper.insecure_clone(), clone_actor(&w.liquidator));
    let k = risk_keeper(w.exchange, &authority, &liquidator, Limits::default());
    // The feed moves just before the first transaction carrying a `liquidate_order`.
    let mut oracle = Some((w.markets[SOL].oracle, feed));
    let liquidation = orderbook::instruction::LiquidateOrder::DISCRIMINATOR;
    let hook = |chain: &mut client::chain::embedded::EmbeddedChain,
                ixs: &[anchor_lang::solana_program::instruction::Instruction]| {
        if ixs.iter().any(|ix| ix.program_id == orderbook::ID && ix.data.starts_with(liquidation)) {
            if let Some((key, account)) = oracle.take() {
                chain.set_account(&key, account);
            }
        }
        Ok(())
    };
    let scan = cranks::risk_scan(&mut Hooked { chain: &mut w.chain, hook }, &k).await.unwrap();
    assert_eq!(
        (scan.book_liquidations_refused, scan.liquidations, scan.failed, scan.transactions),
        (1, 0, 1, 2),
        "refused through the book, then as a takeover: {scan:?}"
    );
    assert_eq!(scan.acted_on, vec![b]);
    assert_eq!(before, w.chain.account_data(&b).await.unwrap(), "nothing changed");
}

/// Two underwater longs, no fund, one short to offset them against: the first offset makes
/// the snapshot's view of the short stale, so the second waits for the next round (fresh
/// positions) instead of being sent on the old numbers; one loop offsets both.
#[tokio::test]
async fn a_counterparty_used_in_a_pass_is_read_again_before_the_next_offset() {
    let (mut w, longs) = world_with_longs(12, &[160, 160]).await;
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 130.0).await;
    let s = snapshot(&mut w).await;
    let admin = w.admin.insecure_clone();
    let ix = sdk::withdraw_insurance(&admin.pubkey(), &w.exchange, &w.mint, &w.admin_tokens, s.insurance);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "withdraw_insurance");

    let (authority, liquidator) = (w.keeper.insecure_clone(), clone_actor(&w.liquidator));
    let k = risk_keeper(w.exchange, &authority, &liquidator, Limits::default());
    let one = cranks::risk_scan(&mut w.chain, &k).await.unwrap();
    assert_eq!((one.deleverages, one.deferred, one.failed), (1, 1, 0), "{one:?}");
    let rest = cranks::risk_rounds(&mut w.chain, &k, cranks::MAX_RISK_ROUNDS).await.unwrap();
    assert_eq!((rest.deleverages, rest.deferred, rest.failed), (1, 0, 0), "{rest:?}");
    for l in &longs {
        assert!(margin(&mut w, l).await.positions.iter().all(|p| p.is_free()), "{l} holds nothing");
    }
}

#[tokio::test]
async fn the_keeper_moves_a_market_to_its_fallback_without_a_missed_update() {
    let mut w = world(31).await;
    let exchange = w.exchange;
    let admin = w.admin.insecure_clone();
    let eth = w.markets[ETH].clone();
    // A second settable oracle for ETH, published by the same authority, as its fallback.
    let symbol = sdk::symbol("ETH-FALLBACK");
    let ix = sdk::create_price_oracle(&admin.pubkey(), symbol, eth.expo);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "create_price_oracle");
    let fallback = sdk::price_oracle_address(&admin.pubkey(), &symbol);
    let args = sdk::SetOracleArgs {
        slot: perpetual::OracleSlot::Fallback,
        oracle: fallback,
        kind: perpetual::OracleKind::SetPrice,
        feed_id: None,
        max_age_secs: 120,
        max_conf_bps: 300,
    };
    let ix = sdk::set_oracle(&admin.pubkey(), &exchange, &eth.market, args);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "set_oracle");
    quote(&mut w, ETH, 2_999.0, 3_001.0, true).await;

    // Each minute the keeper's funding and mark loops run. From minute 2 the simulation
    // publishes ETH on the fallback only (the primary falls silent); from minute 3 at $3,030.
    let mut sources = vec![];
    for minute in 0..8 {
        w.chain.warp(60).await.unwrap();
        if minute == 2 {
            w.markets[ETH].oracle = fallback;
        }
        if minute == 3 {
            w.markets[ETH].price = 3_030.0;
        }
        w.publish_prices().await.unwrap();
        let now = w.chain.unix_time().await.unwrap();
        let r = cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap();
        assert_eq!(r.failed, 0, "minute {minute}: {r:?}");
        let r = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
        assert_eq!(r.failed, 0, "minute {minute}: {r:?}");
        let m = market_state(&mut w, ETH).await;
        assert_eq!((m.funding_last_update_ts, m.mark_last_sample_ts, m.index_ts), (now, now, now), "minute {minute}");
        sources.push(m.oracle_source());
    }
    // ETH's primary allows 120 s: its last price (minute 1) is too old from minute 4.
    use perpetual::state::OracleSource::{Fallback, Primary};
    assert_eq!(sources, [Primary, Primary, Primary, Primary, Fallback, Fallback, Fallback, Fallback]);
    let m = market_state(&mut w, ETH).await;
    // $3,030 per ETH is 3.03 USDC per lot of 0.001 ETH.
    assert_eq!(m.index_price.get(), I80F48::from_num(3_030_000));
}
