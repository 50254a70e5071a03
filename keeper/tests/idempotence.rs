//! Each crank run twice, or by two keepers at once, has the effect of one. Every check
//! snapshots the bytes (and lamports and owner) of every account a crank can touch — the
//! exchange and its vault, every market, book and oracle, every margin account and the
//! lister's token account — and compares them after the repeat, at the same clock time.
//!
//! Two distinct keepers cannot both be the funding or deleveraging authority, so the race
//! is modelled on the permissionless cranks (and the liquidation, which any account may
//! take): each keeper reads the chain and builds its instructions from the same snapshot,
//! then their transactions land interleaved.
use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use client::batch::Limits;
use client::chain::Chain;
use client::discovery;
use client::MarginView;
use keeper::cranks::{self, CrankResult, RiskKeeper, ScanResult};
use keeper::risk::{self, Action, MarketView};
use keeper::sim::world::{Actor, Group, World};
use orderbook::instructions::OrderType;
use orderbook::Side;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::state::Exchange;
use solana_signer::Signer;

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// Account snapshots.

/// Names the accounts whose bytes differ, for a readable failure.
#[track_caller]
fn assert_same(before: &Bytes, after: &Bytes, what: &str) {
    let changed: Vec<String> = before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| before.get(k) != after.get(k))
        .map(|k| k.to_string())
        .collect();
    assert!(changed.is_empty(), "{what} changed accounts: {changed:?}");
}

async fn insurance(w: &mut World) -> u64 {
    let data = w.chain.account_data(&w.exchange).await.unwrap();
    bytemuck::pod_read_unaligned::<Exchange>(&data[8..8 + core::mem::size_of::<Exchange>()]).insurance_fund
}

// ---------------------------------------------------------------------------------------
// Bringing the world to a state.

/// One `cranks::risk_scan` as the world's keeper (the deleveraging authority).
async fn scan(w: &mut World, liquidator: &Actor) -> ScanResult {
    let authority = w.keeper.insecure_clone();
    let k = RiskKeeper {
        exchange: w.exchange,
        authority: &authority,
        liquidator: &liquidator.wallet,
        liquidator_account: liquidator.margin,
        limits: Limits::default(),
    };
    cranks::risk_scan(&mut w.chain, &k).await.unwrap()
}

// ---------------------------------------------------------------------------------------
// Each crank twice.

#[tokio::test]
async fn funding_mark_and_rate_cranks_run_twice_change_nothing_the_second_time() {
    let mut w = world(21).await;
    let exchange = w.exchange;
    let keeper = w.keeper.insecure_clone();
    // Quotes above the index, so the rates the keeper sets are not zero.
    place(&mut w, Group::Maker, 0, SOL, Side::Bid, 150.00, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.10, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Bid, 3_005.0, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Ask, 3_010.0, 10, OrderType::PostOnlySlide).await;
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();

    // update_funding: the first run moves every live market's funding index and cached
    // index; the second, in the same second, is accepted and writes the same bytes.
    let s0 = bytes(&mut w).await;
    let r1 = cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r1, CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 1 }, "three cranks, one transaction");
    let s1 = bytes(&mut w).await;
    assert_ne!(s0, s1, "the first update_funding had an effect");
    let r2 = cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r2, CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 1 }, "accepted as a no-op");
    assert_same(&s1, &bytes(&mut w).await, "a second update_funding");

    // sample_marks: one sample per book this minute; the second run finds each market
    // sampled this minute and skips it without sending.
    let r1 = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r1, CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 1 });
    let s1 = bytes(&mut w).await;
    let counts: Vec<u32> = [SOL, ETH].iter().map(|&i| s_count(&s1, &w.markets[i].market)).collect();
    assert_eq!(counts, vec![1, 1]);
    let r2 = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r2, CrankResult { sent: 0, skipped: 3, failed: 0, transactions: 0 });
    assert_same(&s1, &bytes(&mut w).await, "a second sample_marks");

    // set_funding_rates: the first run sets SOL's and ETH's rates from their premium; the
    // second finds them current and sends nothing.
    let r1 = cranks::set_funding_rates(&mut w.chain, &exchange, &keeper, Limits::default()).await.unwrap();
    assert_eq!(r1, CrankResult { sent: 2, skipped: 0, failed: 0, transactions: 1 });
    let s1 = bytes(&mut w).await;
    for i in [SOL, ETH] {
        assert!(market_state(&mut w, i).await.unwrap().funding_rate_ppbh > 0);
    }
    let sent_before = w.chain.transactions;
    let r2 = cranks::set_funding_rates(&mut w.chain, &exchange, &keeper, Limits::default()).await.unwrap();
    assert_eq!(r2, CrankResult { sent: 0, skipped: 2, failed: 0, transactions: 0 });
    assert_eq!(w.chain.transactions, sent_before, "no transaction at all");
    assert_same(&s1, &bytes(&mut w).await, "a second set_funding_rates");

    // Two instances of the funding keeper reading the same market at once both send the
    // same rate: the program accepts the second, and it changes nothing.
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    let now = w.chain.unix_time().await.unwrap();
    let eth = w.markets[ETH].clone();
    let state = market_state(&mut w, ETH).await.unwrap();
    let rate = cranks::funding_rate_ppbh(&state, now);
    let ix = sdk::set_funding_rate(&keeper.pubkey(), &exchange, &eth.market, &eth.oracle, rate);
    assert_accepted(w.chain.send(std::slice::from_ref(&ix), &[&keeper]).await, "instance A's rate");
    let s1 = bytes(&mut w).await;
    assert_accepted(w.chain.send(&[ix], &[&keeper]).await, "instance B's identical rate");
    assert_same(&s1, &bytes(&mut w).await, "the same rate set twice");
}

/// `mark_sample_count` of a market in a snapshot.
fn s_count(s: &Bytes, market: &Pubkey) -> u32 {
    let (_, _, data) = s[market].as_ref().unwrap();
    client::decode_market(data).unwrap().mark_sample_count
}

#[tokio::test]
async fn risk_scan_run_twice_acts_once() {
    let (mut w, longs) = liquidatable_longs(22, &[200, 200]).await;
    let (a, b) = (longs[0], longs[1]);
    let sol = w.markets[SOL].market;
    let liquidator = clone_actor(&w.liquidator);

    // A deep book: the scan takes over part of both longs; the second scan finds both
    // restored and sends nothing.
    let r1 = scan(&mut w, &liquidator).await;
    assert_eq!(scan_counts(&r1), [2, 0, 0, 0, 0], "{r1:?}");
    let (la, lb) = (lots_in(&margin(&mut w, &a).await, &sol), lots_in(&margin(&mut w, &b).await, &sol));
    assert!(la > 0 && la < LOTS as i64 && la == lb, "partial takeovers: {la} {lb}");
    let s1 = bytes(&mut w).await;
    let sent_before = w.chain.transactions;
    let r2 = scan(&mut w, &liquidator).await;
    assert_eq!(scan_counts(&r2), [0; 5], "{r2:?}");
    assert_eq!(w.chain.transactions, sent_before, "no transaction at all");
    assert_same(&s1, &bytes(&mut w).await, "a second risk scan");

    // A thin book and a further fall: a new long is early-deleveraged once.
    let (mut w, longs) = liquidatable_longs(23, &[200]).await;
    let c = longs[0];
    cancel_all(&mut w, Group::Maker, 1, SOL).await;
    place(&mut w, Group::Maker, 1, SOL, Side::Bid, 135.95, 1, OrderType::PostOnlySlide).await;
    let liquidator = clone_actor(&w.liquidator);
    let r1 = scan(&mut w, &liquidator).await;
    assert_eq!(scan_counts(&r1), [0, 1, 0, 0, 0], "{r1:?}");
    assert!(lots_in(&margin(&mut w, &c).await, &sol) < LOTS as i64);
    let s1 = bytes(&mut w).await;
    let r2 = scan(&mut w, &liquidator).await;
    assert_eq!(scan_counts(&r2), [0; 5], "{r2:?}");
    assert_same(&s1, &bytes(&mut w).await, "a second risk scan after early deleveraging");
}

#[tokio::test]
async fn stale_orders_are_pruned_once() {
    // A long with a resting ask at $155 is liquidated at $136: the first scan revokes its
    // seat (the ask is void from then on), the next one liquidates.
    let mut w = world(26).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.05, LOTS, OrderType::PostOnlySlide).await;
    let a = w.actor(200 * USDC, true).await.unwrap();
    w.leveraged.push(a);
    let idx = w.leveraged.len() - 1;
    place(&mut w, Group::Leveraged, idx, SOL, Side::Bid, 150.05, LOTS, OrderType::ImmediateOrCancel).await;
    place(&mut w, Group::Leveraged, idx, SOL, Side::Ask, 155.0, 3, OrderType::PostOnly).await;
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 136.0).await;
    for px in [135.95, 135.90, 135.85] {
        place(&mut w, Group::Maker, 1, SOL, Side::Bid, px, 2_000, OrderType::PostOnlySlide).await;
    }
    let liquidator = clone_actor(&w.liquidator);
    let r = scan(&mut w, &liquidator).await;
    assert_eq!((r.seat_revokes, r.liquidations + r.early_deleverages), (1, 0), "{r:?}");
    let r = scan(&mut w, &liquidator).await;
    assert!(r.liquidations + r.early_deleverages > 0, "{r:?}");
    let exchange = w.exchange;
    // The first run prunes the ask; a second keeper then finds nothing stale.
    let r1 = cranks::prune_stale_orders(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!((r1.sent, r1.failed), (1, 0), "{r1:?}");
    let book = w.markets[SOL].venue(&exchange).book;
    let data = w.chain.account_data(&book).await.unwrap();
    let parsed = orderbook::state::BookRef::parse(&data).unwrap();
    assert!(orderbook::decode::l3(&parsed, Side::Ask).iter().all(|o| o.live), "the void ask is gone");
    let s1 = bytes(&mut w).await;
    let sent_before = w.chain.transactions;
    let r2 = cranks::prune_stale_orders(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r2, CrankResult::default(), "nothing left to prune");
    assert_eq!(w.chain.transactions, sent_before, "no transaction at all");
    assert_same(&s1, &bytes(&mut w).await, "a second prune");
}

/// The funding loop has not run for longer than the oracle's maximum age: every cached
/// index is stale, so no market could be priced from its cache. The scan refreshes them
/// first and still finds the longs to liquidate.
#[tokio::test]
async fn a_risk_scan_refreshes_stale_cached_indexes_first() {
    let (mut w, longs) = liquidatable_longs(32, &[200, 200]).await;
    let sol = w.markets[SOL].market;
    w.chain.warp(180).await.unwrap();
    w.publish_prices().await.unwrap();
    let exchange = w.exchange;
    let stale = cranks::market_views(&mut w.chain, &exchange).await.unwrap();
    assert!(stale.iter().all(|m| m.key != sol), "SOL cannot be priced from its stale cache");
    let liquidator = clone_actor(&w.liquidator);
    let r = scan(&mut w, &liquidator).await;
    assert!(r.index_refreshes >= 1, "{r:?}");
    assert_eq!(scan_counts(&r), [2, 0, 0, 0, 0], "{r:?}");
    for a in &longs {
        assert!(lots_in(&margin(&mut w, a).await, &sol) < LOTS as i64, "{a} was liquidated");
    }
}

#[tokio::test]
async fn final_settlement_run_twice_settles_once() {
    let (mut w, holders) = settled_eth(24).await;
    let exchange = w.exchange;
    let eth = w.markets[ETH].clone();
    let mint = w.mint;
    let s0 = bytes(&mut w).await;
    // The market was listed by the admin, not by the keeper that cranks it: the crank finds
    // the lister's token account for the deposit on its own.
    let listed = client::decode_market(&w.chain.account_data(&eth.market).await.unwrap()).unwrap();
    assert_ne!(listed.lister, w.chain.payer().pubkey(), "a market someone else listed");
    let token_balance = |data: Vec<u8>| {
        <spl_token_interface::state::Account as solana_program_pack::Pack>::unpack(&data).unwrap().amount
    };
    let deposit_before = token_balance(w.chain.account_data(&w.admin_tokens).await.unwrap());
    let r1 = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
    let deposit_after = token_balance(w.chain.account_data(&w.admin_tokens).await.unwrap());
    assert_eq!(deposit_after - deposit_before, listed.listing_deposit, "the deposit went back to the lister");
    // Two seats (maker 0's asks left, maker 1's bid), the two positions left (maker 1's slot
    // held only its allowance), the book, the fee sweep and the market.
    assert_eq!(r1, CrankResult { sent: 7, skipped: 0, failed: 0, transactions: 7 });
    let s1 = bytes(&mut w).await;
    assert_eq!(s1[&eth.market], None, "the market closed");
    assert_eq!(s1[&eth.book], None, "the book closed");
    for h in &holders {
        assert!(margin(&mut w, h).await.positions.iter().all(|p| p.market != eth.market));
        assert_ne!(s0[h], s1[h], "{h} was settled");
    }
    let sent_before = w.chain.transactions;
    let r2 = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
    assert_eq!(r2, CrankResult::default());
    assert_eq!(w.chain.transactions, sent_before, "no transaction at all");
    assert_same(&s1, &bytes(&mut w).await, "a second final settlement");
}

// ---------------------------------------------------------------------------------------
// Two keepers at once.

#[tokio::test]
async fn two_keepers_sampling_in_the_same_minute_record_one_sample() {
    let mut w = world(25).await;
    let exchange = w.exchange;
    place(&mut w, Group::Maker, 0, SOL, Side::Bid, 150.00, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.10, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Bid, 3_005.0, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Ask, 3_010.0, 10, OrderType::PostOnlySlide).await;
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);

    // Both keepers discover the markets and build their sample instructions first.
    let mut plans = vec![];
    for _keeper in 0..2 {
        let mut ixs = vec![];
        for (key, m) in discovery::markets(&mut w.chain, &exchange).await.unwrap() {
            if m.book != Pubkey::default() && !m.is_final_settled() {
                ixs.push(orderbook::sdk::sample_mark(&orderbook::sdk::Venue {
                    book: m.book,
                    market: key,
                    oracle: m.oracle,
                    exchange,
                }));
            }
        }
        plans.push(ixs);
    }
    assert_eq!(plans[0].len(), 3);
    assert_eq!(plans[0], plans[1], "the same snapshot, the same instructions");
    let (mut applied, mut refused) = (0, 0);
    for (k, (ix_a, ix_b)) in plans[0].iter().zip(&plans[1]).enumerate() {
        // Keeper A lands first on even markets, keeper B on odd ones.
        let (first, second) = if k % 2 == 0 { (ix_a, ix_b) } else { (ix_b, ix_a) };
        assert_accepted(w.chain.send(std::slice::from_ref(first), &[]).await, "the first sample");
        applied += 1;
        let s = bytes(&mut w).await;
        assert_refused(w.chain.send(std::slice::from_ref(second), &[]).await, PerpError::MarkSampleTooEarly);
        refused += 1;
        assert_same(&s, &bytes(&mut w).await, "the racing sample");
    }
    assert_eq!((applied, refused), (3, 3));
    for i in [SOL, ETH] {
        let m = market_state(&mut w, i).await.unwrap();
        assert_eq!(m.mark_sample_count, 1, "one sample in {}", m.symbol_str());
        assert_eq!(m.mark_samples.iter().filter(|s| s.ts != 0).count(), 1);
    }
    // And the keepers' own crank, run by either afterwards, is skipped everywhere.
    let r = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r, CrankResult { sent: 0, skipped: 3, failed: 0, transactions: 0 });

    // Batched: the next minute keeper A samples one market alone while keeper B sends its
    // plan for all three in one transaction. B's transaction is refused by that market's
    // sample; B sends again without it, and the other two land once.
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    assert_accepted(w.chain.send(std::slice::from_ref(&plans[0][1]), &[]).await, "keeper A's sample");
    let s = bytes(&mut w).await;
    let sent = client::batch::send_packed(&mut w.chain, &plans[1], &[], Limits::default()).await;
    assert_eq!(sent.transactions, 2, "refused once, then sent without the refused sample");
    assert!(sent.outcomes[0].is_ok() && sent.outcomes[2].is_ok(), "{:?}", sent.outcomes);
    let code = sent.outcomes[1].as_ref().err().and_then(|e| e.custom_code());
    assert_eq!(code, Some(u32::from(PerpError::MarkSampleTooEarly)), "{:?}", sent.outcomes);
    let after = bytes(&mut w).await;
    let key_of = |ix: &anchor_lang::solana_program::instruction::Instruction| ix.accounts[1].pubkey;
    assert_eq!(s[&key_of(&plans[1][1])], after[&key_of(&plans[1][1])], "A's market untouched by B");
    for ix in &plans[1] {
        let m = client::decode_market(&w.chain.account_data(&key_of(ix)).await.unwrap()).unwrap();
        assert_eq!(m.mark_sample_count, 2, "{}: one sample a minute", m.symbol_str());
    }
}

#[tokio::test]
async fn two_keepers_settling_one_market_close_each_position_once() {
    let (mut w, holders) = settled_eth(26).await;
    let exchange = w.exchange;
    let eth = w.markets[ETH].clone();
    let state = market_state(&mut w, ETH).await.unwrap();
    let price = state.settlement_price.get().to_num::<i64>();
    assert_eq!(price, 3_000_000, "settled at the $3,000 index, per 0.001 ETH lot");
    // Seats first (as the keeper's crank does): both makers hold one, and
    // revoking settles their pending fills.
    let venue = eth.venue(&exchange);
    let data = w.chain.account_data(&venue.book).await.unwrap();
    let seats = orderbook::decode::held_seats(&orderbook::state::BookRef::parse(&data).unwrap());
    for (i, account) in seats {
        let payer = w.chain.payer().pubkey();
        let ix = orderbook::sdk::revoke_seat(&venue, &payer, &account, i, vec![]);
        assert_accepted(w.chain.send(&[ix], &[]).await, "revoke a seat of the settled market");
    }

    let mut expected = BTreeMap::new();
    for h in &holders {
        let v = margin(&mut w, h).await;
        expected.insert(*h, v.header.collateral + price * lots_in(&v, &eth.market));
    }

    // Both keepers list the positions from the same snapshot, then land interleaved:
    // A, B on the first; B, A on the second.
    let mut plans: Vec<Vec<_>> = vec![];
    for _keeper in 0..2 {
        let views = discovery::margin_accounts(&mut w.chain, &exchange).await.unwrap();
        plans.push(
            views
                .iter()
                .filter(|v| v.positions.iter().any(|p| p.market == eth.market))
                .map(|v| (v.key, sdk::settle_final_position(&eth.market, &v.key)))
                .collect(),
        );
    }
    // Taker 0's long and maker 0's short (maker 1's slot held only its allowance).
    assert_eq!(plans[0].len(), 2);
    let mut closed: BTreeMap<Pubkey, u32> = BTreeMap::new();
    let mut refused = 0;
    for (k, (plan_a, plan_b)) in plans[0].iter().zip(&plans[1]).enumerate() {
        let order = if k % 2 == 0 { [plan_a, plan_b] } else { [plan_b, plan_a] };
        for (n, (key, ix)) in order.into_iter().cloned().enumerate() {
            let s = bytes(&mut w).await;
            let r = w.chain.send(&[ix], &[]).await;
            if n == 0 {
                assert_accepted(r, "the first close of a position");
                *closed.entry(key).or_default() += 1;
            } else {
                assert_refused(r, PerpError::NoPositionInMarket);
                refused += 1;
                assert_same(&s, &bytes(&mut w).await, "the racing close");
            }
        }
    }
    assert_eq!(closed.values().copied().collect::<Vec<_>>(), vec![1, 1], "each position closed once");
    assert_eq!(refused, 2);
    for (h, collateral) in &expected {
        let v = margin(&mut w, h).await;
        assert_eq!(v.header.collateral, *collateral, "{h} settled exactly once");
        assert!(v.positions.iter().all(|p| p.market != eth.market));
    }
    let m = market_state(&mut w, ETH).await.unwrap();
    assert_eq!((m.open_slots, m.open_interest_lots), (0, 0));

    // Then each runs the whole crank: A closes book and market, B finds nothing to do.
    let mint = w.mint;
    let ra = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
    assert_eq!(ra, CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 3 }, "book, fees, market");
    let s = bytes(&mut w).await;
    let rb = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
    assert_eq!(rb, CrankResult::default());
    assert_same(&s, &bytes(&mut w).await, "the second keeper's final settlement");
}

/// What one scanner would send for `action`, built as `cranks::risk_scan` builds it.
fn scanner_ix(
    w: &World,
    markets: &[MarketView],
    accounts: &[MarginView],
    action: &Action,
    liquidator: &Actor,
) -> anchor_lang::solana_program::instruction::Instruction {
    let k = risk_keeper(w.exchange, &w.keeper, liquidator, Limits::default());
    let account = accounts.iter().find(|a| a.key == action.account()).expect("discovered");
    cranks::action_instruction(&k, markets, accounts, account, action).expect("an instruction").0
}

#[tokio::test]
async fn two_scanners_on_one_snapshot_act_once() {
    let (mut w, longs) = liquidatable_longs(27, &[200, 200]).await;
    let (a, c) = (longs[0], longs[1]);
    let sol = w.markets[SOL].market;
    let exchange = w.exchange;
    // Scanner A liquidates with the world's liquidator, scanner B with its own account.
    let liq_a = clone_actor(&w.liquidator);
    let liq_b = w.actor(200_000 * USDC, true).await.unwrap();

    // Both read the chain and decide on the same snapshot.
    let mut decisions = vec![];
    for _scanner in 0..2 {
        let markets = cranks::market_views(&mut w.chain, &exchange).await.unwrap();
        let accounts = discovery::margin_accounts(&mut w.chain, &exchange).await.unwrap();
        let ins = insurance(&mut w).await;
        let view = accounts.iter().find(|v| v.key == a).unwrap();
        let action = risk::decide(view, &accounts, &markets, ins).expect("liquidatable");
        decisions.push((markets, accounts, action));
    }
    assert_eq!(decisions[0].2, decisions[1].2, "the same snapshot, the same decision");
    // A deep book: both liquidate through it.
    let Action::LiquidateThroughBook { lots, .. } = decisions[0].2 else { panic!("{:?}", decisions[0].2) };
    let ix_a = scanner_ix(&w, &decisions[0].0, &decisions[0].1, &decisions[0].2, &liq_a);
    let ix_b = scanner_ix(&w, &decisions[1].0, &decisions[1].1, &decisions[1].2, &liq_b);
    let (wa, wb) = (liq_a.wallet.insecure_clone(), liq_b.wallet.insecure_clone());
    let accrued = |m: &perpetual::state::Market| m.insurance_accrued;
    let fee0 = accrued(&market_state(&mut w, SOL).await.unwrap());
    assert_accepted(w.chain.send(&[ix_a], &[&wa]).await, "scanner A's liquidation");
    let s = bytes(&mut w).await;
    assert_refused(w.chain.send(&[ix_b], &[&wb]).await, PerpError::NotLiquidatable);
    assert_same(&s, &bytes(&mut w).await, "scanner B's liquidation");
    assert_eq!(lots_in(&margin(&mut w, &a).await, &sol), (LOTS - lots) as i64, "liquidated once");
    assert_eq!(lots_in(&margin(&mut w, &liq_a.margin).await, &sol), 0, "through the book, no inventory");
    assert_eq!(lots_in(&margin(&mut w, &liq_b.margin).await, &sol), 0);
    assert!(accrued(&market_state(&mut w, SOL).await.unwrap()) > fee0, "one insurance fee");

    // A thin book: both scanners choose early deleveraging for the other long; the
    // deleveraging authority's two instances race, and the second finds it restored.
    cancel_all(&mut w, Group::Maker, 1, SOL).await;
    place(&mut w, Group::Maker, 1, SOL, Side::Bid, 135.95, 1, OrderType::PostOnlySlide).await;
    let mut ixs = vec![];
    for _scanner in 0..2 {
        let markets = cranks::market_views(&mut w.chain, &exchange).await.unwrap();
        let accounts = discovery::margin_accounts(&mut w.chain, &exchange).await.unwrap();
        let ins = insurance(&mut w).await;
        let view = accounts.iter().find(|v| v.key == c).unwrap();
        let action = risk::decide(view, &accounts, &markets, ins).expect("liquidatable");
        assert!(matches!(action, Action::EarlyDeleverage { .. }), "{action:?}");
        ixs.push((scanner_ix(&w, &markets, &accounts, &action, &liq_a), action));
    }
    assert_eq!(ixs[0], ixs[1]);
    let Action::EarlyDeleverage { lots, counterparty, .. } = ixs[0].1 else { unreachable!() };
    let cp_before = lots_in(&margin(&mut w, &counterparty).await, &sol);
    let keeper = w.keeper.insecure_clone();
    assert_accepted(w.chain.send(&[ixs[0].0.clone()], &[&keeper]).await, "the first early deleveraging");
    let s = bytes(&mut w).await;
    assert_refused(w.chain.send(&[ixs[1].0.clone()], &[&keeper]).await, PerpError::NotLiquidatable);
    assert_same(&s, &bytes(&mut w).await, "the racing early deleveraging");
    assert_eq!(lots_in(&margin(&mut w, &c).await, &sol), (LOTS - lots) as i64, "offset once");
    assert_eq!(lots_in(&margin(&mut w, &counterparty).await, &sol), cp_before + lots as i64);
}
