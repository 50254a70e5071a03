//! A keeper restarted mid-run finishes the job, and does nothing twice.
//!
//! The keeper holds no state between runs: every crank rediscovers what to do from the
//! chain. A stop mid-run is modelled by `stops_after`, a chain that lets the first `n`
//! transactions of a crank land and then loses every later one (the process died: nothing
//! more reaches the cluster). The crank and that chain view are then dropped and a fresh
//! crank runs against the same chain, as a restarted process would.
//!
//! Each restart is checked three ways:
//! - the counts: the restart sends exactly what the stopped run did not, and refuses or
//!   skips what it did;
//! - the bytes (lamports, owner, data) of every account a crank can touch: the accounts the
//!   stopped run finished are not touched again, and the final state equals that of a keeper
//!   which never stopped (a second world built from the same seed);
//! - a further run sends nothing and changes nothing.
use client::batch::Limits;
use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use client::chain::embedded::EmbeddedChain;
use client::chain::{Chain, ChainError};
use keeper::cranks::{self, CrankResult, ScanResult};
use keeper::sim::world::{Actor, Group};
use orderbook::instructions::OrderType;
use orderbook::Side;
use perpetual::state::Market;
use solana_keypair::Keypair;

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// A keeper that stops.

/// A keeper that stops after `budget` transactions: the first `budget` sends land (or are
/// refused) as usual, and every later send is lost before it reaches the chain.
struct Budget {
    budget: usize,
    /// Transactions that reached the chain.
    reached: usize,
    /// Transactions lost after the stop.
    lost: usize,
}

impl BeforeSend for Budget {
    fn before_send(&mut self, _: &mut EmbeddedChain, _: &[Instruction]) -> Result<(), ChainError> {
        if self.reached == self.budget {
            self.lost += 1;
            return Err(ChainError::Rpc("the keeper stopped".into()));
        }
        self.reached += 1;
        Ok(())
    }
}

/// The embedded chain as a keeper that stops after `budget` transactions sees it (reads
/// work as usual).
fn stops_after(chain: &mut EmbeddedChain, budget: usize) -> Hooked<'_, Budget> {
    Hooked { chain, hook: Budget { budget, reached: 0, lost: 0 } }
}

// ---------------------------------------------------------------------------------------
// Account snapshots.

/// A snapshot as it compares across two worlds built from one seed. Two fields are not
/// the seed's: a book records its rent payer, the chain's fee payer (a fresh key per chain),
/// and a Pyth account written by the simulation's publisher carries uninitialised struct
/// padding. Neither is written by a crank, so the book's payer is zeroed and Pyth accounts
/// are left out.
fn across_worlds(b: &Bytes) -> Bytes {
    let creator = 8 + std::mem::offset_of!(orderbook::state::Book, creator);
    b.iter()
        .filter(|(_, a)| !a.as_ref().is_some_and(|(_, owner, _)| perpetual::state::PYTH_PROGRAM_IDS.contains(owner)))
        .map(|(k, a)| {
            let a = a.clone().map(|(lamports, owner, mut data)| {
                if owner == orderbook::ID && data.len() >= creator + 32 {
                    data[creator..creator + 32].fill(0);
                }
                (lamports, owner, data)
            });
            (*k, a)
        })
        .collect()
}

/// The accounts whose bytes differ between two snapshots.
fn changed(before: &Bytes, after: &Bytes) -> BTreeSet<Pubkey> {
    before.keys().chain(after.keys()).filter(|k| before.get(k) != after.get(k)).copied().collect()
}

#[track_caller]
fn assert_same(before: &Bytes, after: &Bytes, what: &str) {
    let c = changed(before, after);
    assert!(c.is_empty(), "{what} changed accounts: {c:?}");
}

// ---------------------------------------------------------------------------------------
// Bringing a world to a state (as in `idempotence.rs`; every key comes from the seed, so
// two worlds from one seed are byte for byte the same).

/// One `cranks::risk_scan` as the world's keeper, over any chain view, one liquidation per
/// transaction (so a stop can fall between any two).
async fn scan<C: Chain>(chain: &mut C, exchange: Pubkey, authority: &Keypair, liquidator: &Actor) -> ScanResult {
    scan_packed(chain, exchange, authority, liquidator, Limits { max_instructions: 1 }).await
}

/// `scan` with liquidations through the books packed by `limits`.
async fn scan_packed<C: Chain>(
    chain: &mut C,
    exchange: Pubkey,
    authority: &Keypair,
    liquidator: &Actor,
    limits: Limits,
) -> ScanResult {
    cranks::risk_scan(chain, &risk_keeper(exchange, authority, liquidator, limits)).await.unwrap()
}

// ---------------------------------------------------------------------------------------
// Final settlement.

/// The crank's whole job on settled ETH is six transactions: three positions, the book,
/// the fee sweep and the market. The keeper stops after each possible number of them, and a
/// fresh crank finishes: every position is closed exactly once, book and market are
/// closed, the end state is that of a keeper that never stopped, and a further run does
/// nothing.
#[tokio::test]
async fn a_final_settlement_stopped_after_any_transaction_is_finished_by_a_restart() {
    const SEED: u64 = 31;
    // Two seat revokes, two positions, the book, the fee sweep and the market.
    const JOB: usize = 7;

    // The keeper that never stops.
    let (mut reference, holders) = settled_eth(SEED).await;
    let eth = reference.markets[ETH].clone();
    let (exchange, mint) = (reference.exchange, reference.mint);
    let r = cranks::final_settlement(&mut reference.chain, &exchange, &eth.market, &mint).await.unwrap();
    assert_eq!(r, CrankResult { sent: JOB as u32, skipped: 0, failed: 0, transactions: JOB as u32 });
    // What each holder holds once settled (pending seat fills included).
    let mut settled_collateral = BTreeMap::new();
    for h in &holders {
        settled_collateral.insert(*h, margin(&mut reference, h).await.header.collateral);
    }
    let done = bytes(&mut reference).await;
    assert_eq!(done[&eth.market], None, "the market closed");
    assert_eq!(done[&eth.book], None, "the book closed");

    for stop in 0..=JOB {
        let (mut w, _) = settled_eth(SEED).await;
        let s0 = bytes(&mut w).await;
        let sent0 = w.chain.transactions;

        // The first run: `stop` transactions land, the rest are lost with the process. (A
        // run that stops before both seat revokes land also tries maker 1's slot, which
        // then still holds its allowance: one more transaction lost.)
        let tries = if stop < 2 { JOB + 1 } else { JOB };
        let first = {
            let mut dying = stops_after(&mut w.chain, stop);
            let r = cranks::final_settlement(&mut dying, &exchange, &eth.market, &mint).await.unwrap();
            assert_eq!((dying.hook.reached, dying.hook.lost), (stop, tries - stop), "stop after {stop}");
            r
        };
        assert_eq!(
            first,
            CrankResult { sent: stop as u32, skipped: 0, failed: (tries - stop) as u32, transactions: tries as u32 },
            "stop after {stop}"
        );
        assert_eq!(
            w.chain.transactions - sent0,
            stop as u64,
            "stop after {stop}: only {stop} transactions reached the chain"
        );
        let s1 = bytes(&mut w).await;
        // The positions the first run closed or freed (the two seat revokes settle the
        // makers' fills; maker 1's slot held only its allowance), which the restart must not
        // settle again.
        let closed_first: Vec<Pubkey> =
            holders.iter().copied().filter(|h| s1[h] != s0[h] && margin_has_no_eth(&s1, h, &eth.market)).collect();
        assert!(closed_first.len() <= stop, "stop after {stop}: positions closed");

        // The restart: a new crank, nothing carried over but the chain.
        let sent1 = w.chain.transactions;
        let second = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
        assert_eq!(second.failed, 0, "stop after {stop}: {second:?}");
        assert_eq!(second.skipped, 0, "stop after {stop}: a closed position is not even tried again: {second:?}");
        // What is left, plus the fee sweep again when the stop fell between the sweep and
        // the market (a sweep of nothing is accepted and moves nothing); none after the end.
        let expected = match stop {
            JOB => 0,
            s if s == JOB - 1 => 2,
            s => JOB - s,
        };
        assert_eq!(second.sent as usize, expected, "stop after {stop}: {second:?}");
        assert_eq!((w.chain.transactions - sent1) as usize, expected, "stop after {stop}");
        let s2 = bytes(&mut w).await;
        for h in &closed_first {
            assert_eq!(s1[h], s2[h], "stop after {stop}: {h} was settled again by the restart");
        }
        for h in &holders {
            let v = margin(&mut w, h).await;
            assert!(v.positions.iter().all(|p| p.market != eth.market), "stop after {stop}: {h} still holds ETH");
            assert_eq!(v.header.collateral, settled_collateral[h], "stop after {stop}: {h} settled exactly once");
        }
        let c = changed(&across_worlds(&done), &across_worlds(&s2));
        assert!(c.is_empty(), "stop after {stop}: the end state differs from a keeper that never stopped in {c:?}");

        // And once more: nothing to do.
        let sent2 = w.chain.transactions;
        let third = cranks::final_settlement(&mut w.chain, &exchange, &eth.market, &mint).await.unwrap();
        assert_eq!(third, CrankResult::default(), "stop after {stop}");
        assert_eq!(w.chain.transactions, sent2, "stop after {stop}: no transaction at all");
        assert_same(&s2, &bytes(&mut w).await, &format!("stop after {stop}: a third run"));
    }
}

/// Whether the margin account's bytes in `snapshot` hold no position in `market`.
fn margin_has_no_eth(snapshot: &Bytes, key: &Pubkey, market: &Pubkey) -> bool {
    let Some(Some((_, _, data))) = snapshot.get(key) else { return true };
    client::decode_margin(*key, data).is_none_or(|v| v.positions.iter().all(|p| p.is_free() || p.market != *market))
}

// ---------------------------------------------------------------------------------------
// The risk scan.

/// Two liquidatable longs, liquidated through the deep book. The scan stops after 0, 1 or 2
/// liquidations; a restarted scan handles exactly the rest. The account handled before the
/// stop is not touched again, and the end state is that of a scan that never stopped. Packed
/// into one transaction, both are lost or done together, with the same end state.
#[tokio::test]
async fn a_risk_scan_stopped_between_two_liquidations_is_finished_by_a_restart() {
    const SEED: u64 = 32;

    let (mut reference, longs) = liquidatable_longs(SEED, &[200, 200]).await;
    let (exchange, sol) = (reference.exchange, reference.markets[SOL].market);
    let keeper_key = reference.keeper.insecure_clone();
    let liquidator = clone_actor(&reference.liquidator);
    let r = scan(&mut reference.chain, exchange, &keeper_key, &liquidator).await;
    assert_eq!(scan_counts(&r), [2, 0, 0, 0, 0], "{r:?}");
    let done = bytes(&mut reference).await;
    let taken: Vec<i64> = {
        let mut v = vec![];
        for a in &longs {
            v.push(LOTS as i64 - lots_in(&margin(&mut reference, a).await, &sol));
        }
        v
    };
    assert!(taken.iter().all(|t| *t > 0 && *t < LOTS as i64), "partial liquidations: {taken:?}");
    // Through the deep book: the makers take the lots, the keeper's account none.
    assert_eq!(r.book_liquidations, 2, "{r:?}");
    assert_eq!(lots_in(&margin(&mut reference, &liquidator.margin).await, &sol), 0);

    for stop in 0..=2usize {
        let (mut w, _) = liquidatable_longs(SEED, &[200, 200]).await;
        let keeper_key = w.keeper.insecure_clone();
        let liquidator = clone_actor(&w.liquidator);
        let s0 = bytes(&mut w).await;

        let first = {
            let mut dying = stops_after(&mut w.chain, stop);
            let r = scan(&mut dying, exchange, &keeper_key, &liquidator).await;
            assert_eq!((dying.hook.reached, dying.hook.lost), (stop, 2 - stop), "stop after {stop}");
            r
        };
        assert_eq!(scan_counts(&first), [stop as u32, 0, 0, 0, (2 - stop) as u32], "stop after {stop}: {first:?}");
        let s1 = bytes(&mut w).await;
        let handled: Vec<Pubkey> = longs.iter().copied().filter(|a| s0[a] != s1[a]).collect();
        assert_eq!(handled.len(), stop, "stop after {stop}: accounts liquidated before the stop");

        // The restart: a new RiskKeeper, a new scan.
        let keeper_key = w.keeper.insecure_clone();
        let liquidator = clone_actor(&w.liquidator);
        let sent1 = w.chain.transactions;
        let second = scan(&mut w.chain, exchange, &keeper_key, &liquidator).await;
        assert_eq!(scan_counts(&second), [(2 - stop) as u32, 0, 0, 0, 0], "stop after {stop}: {second:?}");
        assert_eq!(
            (w.chain.transactions - sent1) as usize,
            2 - stop,
            "stop after {stop}: one transaction per account left"
        );
        let s2 = bytes(&mut w).await;
        for a in &handled {
            assert_eq!(s1[a], s2[a], "stop after {stop}: {a} was liquidated again by the restart");
        }
        for (a, t) in longs.iter().zip(&taken) {
            assert_eq!(
                lots_in(&margin(&mut w, a).await, &sol),
                LOTS as i64 - t,
                "stop after {stop}: {a} liquidated once"
            );
        }
        let c = changed(&across_worlds(&done), &across_worlds(&s2));
        assert!(c.is_empty(), "stop after {stop}: the end state differs from a scan that never stopped in {c:?}");

        let sent2 = w.chain.transactions;
        let third = scan(&mut w.chain, exchange, &keeper_key, &liquidator).await;
        assert_eq!(scan_counts(&third), [0; 5], "stop after {stop}: {third:?}");
        assert_eq!(w.chain.transactions, sent2, "stop after {stop}: no transaction at all");
        assert_same(&s2, &bytes(&mut w).await, &format!("stop after {stop}: a third scan"));
    }

    // Packed, both liquidations share one transaction: lost together, done together by the
    // restart, and the end state is the same.
    let (mut w, _) = liquidatable_longs(SEED, &[200, 200]).await;
    let (keeper_key, liquidator) = (w.keeper.insecure_clone(), clone_actor(&w.liquidator));
    let s0 = bytes(&mut w).await;
    let first = {
        let mut dying = stops_after(&mut w.chain, 0);
        let r = scan_packed(&mut dying, exchange, &keeper_key, &liquidator, Limits::default()).await;
        assert_eq!((dying.hook.reached, dying.hook.lost), (0, 1), "one transaction for both");
        r
    };
    assert_eq!(scan_counts(&first), [0, 0, 0, 0, 2], "{first:?}");
    assert_same(&s0, &bytes(&mut w).await, "a lost packed transaction");
    let sent = w.chain.transactions;
    let second = scan_packed(&mut w.chain, exchange, &keeper_key, &liquidator, Limits::default()).await;
    assert_eq!((scan_counts(&second), second.book_liquidations), ([2, 0, 0, 0, 0], 2), "{second:?}");
    assert_eq!(w.chain.transactions - sent, 1, "both in one transaction");
    let c = changed(&across_worlds(&done), &across_worlds(&bytes(&mut w).await));
    assert!(c.is_empty(), "packed: the end state differs from one liquidation per transaction in {c:?}");
}

// ---------------------------------------------------------------------------------------
// Mark sampling.

/// One crank per transaction, so a stop can fall between any two samples.
const ONE_PER_TRANSACTION: Limits = Limits { max_instructions: 1 };

/// Three books to sample each minute. The keeper (one sample per transaction) stops after
/// the first sample of a minute and restarts later in the same minute: the sampled market
/// is found done and skipped without sending (its bytes untouched), the other two are
/// sampled in one transaction, and every market holds exactly one sample for the minute. A
/// restart at the minute's last second sends nothing; the next minute samples all three
/// again. A keeper that packs all three into one transaction and stops before it lands
/// loses all three, and its restart samples all three.
#[tokio::test]
async fn mark_sampling_restarted_within_the_minute_samples_each_market_once() {
    let mut w = world(33).await;
    let exchange = w.exchange;
    place(&mut w, Group::Maker, 0, SOL, Side::Bid, 150.00, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.10, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Bid, 3_005.0, 10, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Ask, 3_010.0, 10, OrderType::PostOnlySlide).await;
    // The start of a minute (every run starts on one).
    let now = w.chain.unix_time().await.unwrap();
    w.chain.warp(60 - now.rem_euclid(60)).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    let minute = w.chain.unix_time().await.unwrap() / 60;

    let count = |m: &Market| (m.mark_sample_count, m.mark_samples.iter().filter(|s| s.ts != 0).count());
    let markets: Vec<Pubkey> = w.markets.iter().map(|m| m.market).collect();
    let s0 = bytes(&mut w).await;
    let first = {
        let mut dying = stops_after(&mut w.chain, 1);
        let r = cranks::sample_marks(&mut dying, &exchange, ONE_PER_TRANSACTION).await.unwrap();
        assert_eq!((dying.hook.reached, dying.hook.lost), (1, 2));
        r
    };
    assert_eq!(first, CrankResult { sent: 1, skipped: 0, failed: 2, transactions: 3 });
    let s1 = bytes(&mut w).await;
    let sampled: Vec<Pubkey> = markets.iter().copied().filter(|m| s0[m] != s1[m]).collect();
    assert_eq!(sampled.len(), 1, "one market sampled before the stop");

    // Restart 20 seconds later, the same minute.
    w.chain.warp(20).await.unwrap();
    assert_eq!(w.chain.unix_time().await.unwrap() / 60, minute);
    let second = cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(
        second,
        CrankResult { sent: 2, skipped: 1, failed: 0, transactions: 1 },
        "the sampled market is skipped, the others sampled together"
    );
    let s2 = bytes(&mut w).await;
    assert_eq!(s1[&sampled[0]], s2[&sampled[0]], "the market sampled before the stop is untouched");
    for i in 0..w.markets.len() {
        let m = market_state(&mut w, i).await.unwrap();
        assert_eq!(count(&m), (1, 1), "{}: one sample this minute", m.symbol_str());
        assert_eq!(m.mark_last_sample_ts / 60, minute, "{}", m.symbol_str());
    }

    // A keeper that stopped after everything and restarts at the minute's last second.
    w.chain.warp(39).await.unwrap();
    assert_eq!(w.chain.unix_time().await.unwrap() / 60, minute);
    let sent = w.chain.transactions;
    let third = {
        let mut dying = stops_after(&mut w.chain, 3);
        cranks::sample_marks(&mut dying, &exchange, Limits::default()).await.unwrap()
    };
    assert_eq!(third, CrankResult { sent: 0, skipped: 3, failed: 0, transactions: 0 });
    assert_eq!(w.chain.transactions - sent, 0, "nothing sent");
    assert_same(&s2, &bytes(&mut w).await, "a restart at the minute's last second");

    // The next minute: one more sample each, in one transaction.
    w.chain.warp(1).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    assert_eq!(
        cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap(),
        CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 1 }
    );
    for i in 0..w.markets.len() {
        let m = market_state(&mut w, i).await.unwrap();
        assert_eq!(count(&m), (2, 2), "{}: one sample a minute", m.symbol_str());
    }

    // The minute after: the packed transaction is lost with the process, so is every
    // sample in it; the restart samples all three once.
    w.chain.warp(60).await.unwrap();
    w.publish_prices().await.unwrap();
    assert_eq!(cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap().failed, 0);
    let s3 = bytes(&mut w).await;
    let lost = {
        let mut dying = stops_after(&mut w.chain, 0);
        cranks::sample_marks(&mut dying, &exchange, Limits::default()).await.unwrap()
    };
    assert_eq!(lost, CrankResult { sent: 0, skipped: 0, failed: 3, transactions: 1 });
    assert_same(&s3, &bytes(&mut w).await, "a lost packed transaction");
    assert_eq!(
        cranks::sample_marks(&mut w.chain, &exchange, Limits::default()).await.unwrap(),
        CrankResult { sent: 3, skipped: 0, failed: 0, transactions: 1 }
    );
    for i in 0..w.markets.len() {
        let m = market_state(&mut w, i).await.unwrap();
        assert_eq!(count(&m), (3, 3), "{}: one sample a minute", m.symbol_str());
    }
}
