//! The chain, the book, and the measured operations.
//!
//! Book: a $1 market (25% price band), tick 1,000 quote native per lot (the oracle price is
//! 1,000 ticks), 1,024 orders of capacity per side. Ten makers each rest one 10-lot order
//! at every one of 100 ticks per side (bids 900..=999, asks 1001..=1100), placed maker
//! by maker, so every tick holds 10 orders of 10 different makers in maker order: 1,000
//! resting orders per side, each covered by its maker's seat allowance (docs/seats.md).
//!
//! Measured (each operation is one transaction; its instructions are built before the
//! measured run starts, the transaction is signed just before it is sent because the
//! test validator's blockhashes expire in wall-clock time, which valgrind stretches):
//! - `place`: maker 0 posts a post-only 10-lot order at one of the existing ticks (bids
//!   and asks alternately), and `cancel` removes it again by its key, so the book stays
//!   at 1,000 orders per side; `ops` of each.
//! - `takeN`: a taker's IOC buy of N×10 lots at the best ask (naming no maker): N full
//!   fills into the makers' seats, the taker's side settled into `perpetual` in one CPI.
//!   After each take the filled makers re-post their orders (setup, not measured), so
//!   every take meets the same book; `sweeps` of each N in 1, 5, 10.
//! - `settleN`: after an unmeasured take that fills N makers, one permissionless
//!   `settle_seats` of those N seats (one CPI settling them into their margin accounts);
//!   `sweeps` of each N in 1, 10.
use std::collections::VecDeque;
use std::io::Write;

use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::{check_book, market_args, order, placed, BookCookie, TestEnv, UserCookie, ONE_USDC};
use orderbook::instructions::{CreateBookArgs, OrderType, PlaceOrderArgs};
use orderbook::sdk;
use orderbook::state::{order_key, BookRef, Side};
use solana_program_test::{processor, ProgramTest};
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::probe::{self, Phase};

pub const TICK_SIZE: u64 = 1_000;
pub const ORACLE_PRICE: i64 = 1_000_000; // $1 at expo -6: 1,000 ticks per lot
pub const LEVELS: u64 = 100;
pub const PER_LEVEL: usize = 10;
pub const LOTS: u64 = 10;
pub const SIDE_CAPACITY: u32 = 1_024;
pub const SEAT_CAPACITY: u32 = 64;
pub const BEST_BID: u64 = 999;
pub const BEST_ASK: u64 = 1_001;
pub const SWEEPS: [(Phase, usize); 3] = [(Phase::take1, 1), (Phase::take5, 5), (Phase::take10, 10)];
pub const SETTLES: [(Phase, usize); 2] = [(Phase::settle1, 1), (Phase::settle10, 10)];
/// Iterations of each reference function (log line, event) in the calibration.
pub const REF_N: u64 = 1_000;
const SETUP_BATCH: usize = 8;

pub struct Config {
    pub ops: usize,
    pub sweeps: usize,
    pub summary: String,
}

#[derive(Clone, Copy)]
enum Who {
    Maker(usize),
    Taker,
    /// Only the fee payer signs (a permissionless crank).
    Keeper,
}

enum Expect {
    Rests(u128),
    Fills(u64),
    Succeeds,
}

struct Step {
    phase: Phase,
    who: Who,
    ix: Instruction,
    expect: Expect,
}

struct Bench {
    env: TestEnv,
    book: BookCookie,
    makers: Vec<UserCookie>,
    taker: UserCookie,
}

fn bid_tick(level: u64) -> u64 {
    BEST_BID - level
}
fn ask_tick(level: u64) -> u64 {
    BEST_ASK + level
}

fn post(side: Side, tick: u64, client_order_id: u64, seat: u32) -> PlaceOrderArgs {
    let mut a = order(side, tick, LOTS, OrderType::PostOnly);
    a.client_order_id = client_order_id;
    a.seat_hint = seat;
    a
}

impl Bench {
    async fn new() -> Self {
        let mut pt = ProgramTest::new("perpetual", perpetual::ID, processor!(probe::perpetual_shim));
        // The test trader is not measured: the shared harness's shim.
        client::harness::Program::TestTrader.add_to(&mut pt);
        pt.add_program("orderbook", orderbook::ID, processor!(probe::orderbook_shim));
        client::harness::add_perpetual_deployment(&mut pt);
        pt.prefer_bpf(false);
        let mut env = TestEnv::with_program_test(pt).await;
        probe::install_stub_probe();

        let mut args = market_args("BENCH-PERP", perpetual::OracleKind::SetPrice);
        args.price_band_bps = 2_500;
        let market = env.create_market_with(args, ORACLE_PRICE).await;
        let book_args = CreateBookArgs {
            tick_size: TICK_SIZE,
            min_base_lots: 1,
            side_capacity: SIDE_CAPACITY,
            seat_capacity: SEAT_CAPACITY,
            max_orders_per_account: 512,
        };
        let book = env.create_book(&market, book_args).await;
        let mut makers = vec![];
        for _ in 0..PER_LEVEL {
            makers.push(env.funded_user(10_000 * ONE_USDC).await);
        }
        let taker = env.funded_user(1_000_000 * ONE_USDC).await;
        Bench { env, book, makers, taker }
    }

    fn user(&self, who: Who) -> &UserCookie {
        match who {
            Who::Maker(i) => &self.makers[i],
            Who::Taker | Who::Keeper => &self.taker,
        }
    }

    fn place_ix(&self, who: Who, args: PlaceOrderArgs) -> Instruction {
        let u = self.user(who);
        // No health accounts: nobody has a position outside this market.
        sdk::place_order(&self.book.venue, &u.key(), &u.margin_account, args, vec![])
    }

    /// Sends one transaction with `ixs` signed by `who` (and the payer), in `phase`.
    async fn send(&mut self, phase: Phase, who: Who, ixs: &[Instruction]) -> Vec<u8> {
        let payer = self.env.ctx.payer.insecure_clone();
        let signer = match who {
            Who::Keeper => payer.insecure_clone(),
            _ => self.user(who).owner.insecure_clone(),
        };
        let mut all =
            vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(1_400_000)];
        all.extend_from_slice(ixs);
        let blockhash = self.env.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &[&payer, &signer], blockhash);
        probe::set_phase(phase);
        let res = self.env.ctx.banks_client.process_transaction_with_metadata(tx).await.expect("banks client");
        probe::set_phase(Phase::setup);
        if let Err(e) = res.result {
            panic!("{phase:?} transaction failed: {e:?}");
        }
        res.metadata.and_then(|m| m.return_data).map(|r| r.data).unwrap_or_default()
    }

    async fn run_step(&mut self, s: Step) {
        let out = self.send(s.phase, s.who, &[s.ix]).await;
        let p = placed(&out);
        match s.expect {
            Expect::Rests(key) => {
                assert_eq!((p.key, p.filled), (key, 0), "{:?}: the order rests with the predicted key", s.phase)
            }
            Expect::Fills(lots) => assert_eq!((p.key, p.filled), (0, lots), "{:?}: the take fills in full", s.phase),
            Expect::Succeeds => {}
        }
    }

    async fn book_view<R>(&mut self, f: impl FnOnce(&BookRef) -> R) -> R {
        let data = self.env.book_data(&self.book).await;
        let b = BookRef::parse(&data).expect("book");
        f(&b)
    }

    async fn seat_of(&mut self, maker: usize) -> u32 {
        let m = self.makers[maker].margin_account;
        self.book_view(|b| b.seats.iter().position(|s| s.margin_account == m).expect("maker has a seat") as u32).await
    }

    /// Every maker rests one order at each tick of each side, maker by maker.
    async fn populate(&mut self) {
        let mut client_id = 1_000_000u64;
        for j in 0..PER_LEVEL {
            let seat = self.env.seat_for(&self.book, &self.makers[j].margin_account).await;
            let mut ixs = vec![];
            for level in 0..LEVELS {
                for (side, tick) in [(Side::Bid, bid_tick(level)), (Side::Ask, ask_tick(level))] {
                    client_id += 1;
                    ixs.push(self.place_ix(Who::Maker(j), post(side, tick, client_id, seat)));
                }
            }
            for chunk in ixs.chunks(SETUP_BATCH) {
                self.send(Phase::setup, Who::Maker(j), chunk).await;
            }
        }
        let (bids, asks) = self.book_view(|b| (b.bids.iter().count(), b.asks.iter().count())).await;
        assert_eq!((bids, asks), (LEVELS as usize * PER_LEVEL, LEVELS as usize * PER_LEVEL));
    }

    /// All measured operations (and the setup steps between them), built up front.
    async fn plan(&mut self, cfg: &Config) -> Vec<Step> {
        let mut seats = vec![];
        for j in 0..PER_LEVEL {
            seats.push(self.seat_of(j).await);
        }
        let mut seq = self.book_view(|b| b.header.seq_num).await;
        let mut client_id = 2_000_000u64;
        let mut steps = vec![];

        // Place and cancel: maker 0, spread over the ticks, both sides.
        for i in 0..cfg.ops {
            let side = if i % 2 == 0 { Side::Bid } else { Side::Ask };
            let level = (i as u64 * 37) % LEVELS;
            let tick = if side == Side::Bid { bid_tick(level) } else { ask_tick(level) };
            client_id += 1;
            let key = order_key(side, tick, seq);
            seq += 1;
            steps.push(Step {
                phase: Phase::place,
                who: Who::Maker(0),
                ix: self.place_ix(Who::Maker(0), post(side, tick, client_id, seats[0])),
                expect: Expect::Rests(key),
            });
            let m = &self.makers[0];
            let cancel = sdk::cancel_order(&self.book.venue, &m.key(), &m.margin_account, side, key);
            steps.push(Step { phase: Phase::cancel, who: Who::Maker(0), ix: cancel, expect: Expect::Succeeds });
        }

        // Takes: the queue at the best ask, front first.
        let mut queue: VecDeque<usize> = (0..PER_LEVEL).collect();
        for (phase, fills) in SWEEPS {
            for _ in 0..cfg.sweeps {
                self.take_and_repost(&mut steps, phase, fills, &mut queue, &seats, &mut seq, &mut client_id);
            }
        }

        // Settlement: a take (setup) leaves pending fills in N seats, then one
        // `settle_seats` of those N seats.
        for (phase, n) in SETTLES {
            for _ in 0..cfg.sweeps {
                let hit =
                    self.take_and_repost(&mut steps, Phase::setup, n, &mut queue, &seats, &mut seq, &mut client_id);
                let idx: Vec<u32> = hit.iter().map(|j| seats[*j]).collect();
                let accounts: Vec<_> = hit.iter().map(|j| self.makers[*j].margin_account).collect();
                let ix = sdk::settle_seats(&self.book.venue, idx, &accounts);
                steps.push(Step { phase, who: Who::Keeper, ix, expect: Expect::Succeeds });
            }
        }
        steps
    }

    /// One IOC buy of `fills` full orders at the best ask, then the filled makers re-post
    /// (setup), so the next take meets the same book. Returns the makers it filled.
    #[allow(clippy::too_many_arguments)]
    fn take_and_repost(
        &self,
        steps: &mut Vec<Step>,
        phase: Phase,
        fills: usize,
        queue: &mut VecDeque<usize>,
        seats: &[u32],
        seq: &mut u64,
        client_id: &mut u64,
    ) -> Vec<usize> {
        let hit: Vec<usize> = queue.drain(..fills).collect();
        *client_id += 1;
        let mut args = order(Side::Bid, BEST_ASK, fills as u64 * LOTS, OrderType::ImmediateOrCancel);
        args.client_order_id = *client_id;
        steps.push(Step {
            phase,
            who: Who::Taker,
            ix: self.place_ix(Who::Taker, args),
            expect: Expect::Fills(fills as u64 * LOTS),
        });
        for &j in &hit {
            *client_id += 1;
            let key = order_key(Side::Ask, BEST_ASK, *seq);
            *seq += 1;
            steps.push(Step {
                phase: Phase::setup,
                who: Who::Maker(j),
                ix: self.place_ix(Who::Maker(j), post(Side::Ask, BEST_ASK, *client_id, seats[j])),
                expect: Expect::Rests(key),
            });
            queue.push_back(j);
        }
        hit
    }
}

/// Reference costs measured in the same process: the native stand-ins that the report
/// removes (the per-instruction log line) or reports separately (events).
fn calibrate() {
    let n = REF_N;
    probe::ref_empty_loop(n);
    probe::ref_log_place_order(n);
    probe::ref_log_cancel_order(n);
    probe::ref_log_update_reservation(n);
    probe::ref_log_settle_book_take(n);
    probe::ref_log_settle_seats(n);
    probe::ref_event_order_placed(n);
    probe::ref_event_order_cancelled(n);
    probe::ref_event_order_filled(n);
    probe::ref_event_book_take_settled(n);
    probe::ref_event_seat_settled(n);
}

pub async fn run(cfg: Config) {
    let t0 = std::time::Instant::now();
    let mut b = Bench::new().await;
    b.populate().await;
    eprintln!("book populated: {} orders per side ({:.1?})", LEVELS as usize * PER_LEVEL, t0.elapsed());
    let steps = b.plan(&cfg).await;
    let measured = steps.iter().filter(|s| s.phase != Phase::setup).count();
    eprintln!("running {} transactions ({measured} measured)", steps.len());
    for s in steps {
        b.run_step(s).await;
    }
    let (bids, asks) = b.book_view(|bk| (bk.bids.iter().count(), bk.asks.iter().count())).await;
    assert_eq!(
        (bids, asks),
        (LEVELS as usize * PER_LEVEL, LEVELS as usize * PER_LEVEL),
        "the book is back at its size"
    );
    check_book(&mut b.env, &b.book).await;
    calibrate();
    eprintln!("done ({:.1?})", t0.elapsed());

    let mut f = std::fs::File::create(&cfg.summary).expect("summary file");
    writeln!(f, "ops place {}", cfg.ops).unwrap();
    writeln!(f, "ops cancel {}", cfg.ops).unwrap();
    for (phase, _) in SWEEPS.iter().chain(SETTLES.iter()) {
        writeln!(f, "ops {phase:?} {}", cfg.sweeps).unwrap();
    }
    writeln!(f, "ref_n {REF_N}").unwrap();
}
