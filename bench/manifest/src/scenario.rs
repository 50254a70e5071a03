//! The chain, Manifest's market with 1,000 resting orders per side, and the measured
//! operations (see `main.rs`; the workload mirrors `bench/src/scenario.rs`).
use std::collections::VecDeque;
use std::io::Write;

use hypertree::HyperTreeValueIteratorTrait;
use manifest::quantities::WrapperU64;
use manifest::program::batch_update::{CancelOrderParams, PlaceOrderParams};
use manifest::program::{batch_update_instruction, claim_seat_instruction, create_market_instructions, deposit_instruction, get_dynamic_value};
use manifest::state::{MarketValue, OrderType, RestingOrder};
use solana_program::program_pack::Pack;
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_sdk::{
    account::Account, compute_budget::ComputeBudgetInstruction, instruction::Instruction, pubkey::Pubkey, signature::Keypair,
    signer::Signer, transaction::Transaction,
};

use crate::probe::{self, Phase};

pub const LEVELS: u64 = 100;
pub const PER_LEVEL: usize = 10;
/// Base atoms per lot; an order is 10 lots.
pub const LOT: u64 = 1_000;
pub const LOTS: u64 = 10;
pub const BEST_BID: u64 = 999;
pub const BEST_ASK: u64 = 1_001;
/// Price = tick × 10^PRICE_EXP quote atoms per base atom: 10 lots at tick t cost 10·t quote atoms.
pub const PRICE_EXP: i8 = -3;
pub const SWEEPS: [(Phase, usize); 3] = [(Phase::take1, 1), (Phase::take5, 5), (Phase::take10, 10)];
pub const REF_N: u64 = 1_000;
const SETUP_BATCH: usize = 10;

pub struct Config {
    pub ops: usize,
    pub sweeps: usize,
    pub summary: String,
}

enum Expect {
    Rests,
    Fills,
}

struct Step {
    phase: Phase,
    who: usize,
    ix: Instruction,
    expect: Expect,
}

struct Bench {
    ctx: ProgramTestContext,
    market: Pubkey,
    /// makers 0..10, then the taker.
    traders: Vec<Keypair>,
    nonce: u32,
}

const TAKER: usize = PER_LEVEL;

fn bid_tick(level: u64) -> u64 {
    BEST_BID - level
}
fn ask_tick(level: u64) -> u64 {
    BEST_ASK + level
}

fn order(is_bid: bool, tick: u64, lots: u64, order_type: OrderType) -> PlaceOrderParams {
    PlaceOrderParams::new(lots * LOT, tick as u32, PRICE_EXP, is_bid, order_type, 0)
}

fn mint_account(decimals: u8, authority: Pubkey) -> Account {
    let mut a = Account::new(1_000_000_000, spl_token::state::Mint::LEN, &spl_token::id());
    spl_token::state::Mint { mint_authority: Some(authority).into(), supply: u64::MAX / 2, decimals, is_initialized: true, freeze_authority: None.into() }
        .pack_into_slice(&mut a.data);
    a
}

fn token_account(mint: Pubkey, owner: Pubkey, amount: u64) -> Account {
    let mut a = Account::new(1_000_000_000, spl_token::state::Account::LEN, &spl_token::id());
    spl_token::state::Account { mint, owner, amount, state: spl_token::state::AccountState::Initialized, ..Default::default() }
        .pack_into_slice(&mut a.data);
    a
}

impl Bench {
    async fn new() -> Self {
        let mut pt = ProgramTest::new("manifest", manifest::ID, processor!(probe::manifest_shim));
        pt.prefer_bpf(false);
        let base_mint = Pubkey::new_unique();
        let quote_mint = Pubkey::new_unique();
        let authority = Pubkey::new_unique();
        pt.add_account(base_mint, mint_account(9, authority));
        pt.add_account(quote_mint, mint_account(6, authority));
        let traders: Vec<Keypair> = (0..=PER_LEVEL).map(|_| Keypair::new()).collect();
        let mut token_accounts = vec![];
        for t in &traders {
            pt.add_account(t.pubkey(), Account::new(1_000 * 1_000_000_000, 0, &solana_sdk::system_program::id()));
            let (b, q) = (Pubkey::new_unique(), Pubkey::new_unique());
            pt.add_account(b, token_account(base_mint, t.pubkey(), 1_000_000_000_000));
            pt.add_account(q, token_account(quote_mint, t.pubkey(), 1_000_000_000_000));
            token_accounts.push((b, q));
        }
        let ctx = pt.start_with_context().await;
        probe::install_stub_probe();
        let market_kp = Keypair::new();
        let mut b = Bench { ctx, market: market_kp.pubkey(), traders, nonce: 0 };

        let creator = b.ctx.payer.insecure_clone();
        let ixs = create_market_instructions(&b.market, &base_mint, &quote_mint, &creator.pubkey()).expect("create market");
        let bh = b.ctx.banks_client.get_latest_blockhash().await.unwrap();
        let tx = Transaction::new_signed_with_payer(&ixs, Some(&creator.pubkey()), &[&creator, &market_kp], bh);
        b.ctx.banks_client.process_transaction(tx).await.expect("create market");

        for i in 0..b.traders.len() {
            let k = b.traders[i].pubkey();
            let (bt, qt) = token_accounts[i];
            let ixs = vec![
                claim_seat_instruction(&b.market, &k),
                deposit_instruction(&b.market, &k, &base_mint, 500_000_000_000, &bt, spl_token::id(), None),
                deposit_instruction(&b.market, &k, &quote_mint, 500_000_000_000, &qt, spl_token::id(), None),
            ];
            b.send(Phase::setup, i, &ixs).await;
        }
        b
    }

    /// Sends one transaction signed by trader `who` (its fee payer), in `phase`; returns
    /// the return data. A varying compute-unit limit keeps repeated instructions unique.
    async fn send(&mut self, phase: Phase, who: usize, ixs: &[Instruction]) -> Vec<u8> {
        self.nonce += 1;
        let signer = self.traders[who].insecure_clone();
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(1_400_000 - self.nonce)];
        all.extend_from_slice(ixs);
        let bh = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let tx = Transaction::new_signed_with_payer(&all, Some(&signer.pubkey()), &[&signer], bh);
        probe::set_phase(phase);
        let res = self.ctx.banks_client.process_transaction_with_metadata(tx).await.expect("banks client");
        probe::set_phase(Phase::setup);
        if let Err(e) = res.result {
            panic!("{phase:?} transaction failed: {e:?}");
        }
        res.metadata.and_then(|m| m.return_data).map(|r| r.data).unwrap_or_default()
    }

    async fn market(&mut self) -> MarketValue {
        let acc = self.ctx.banks_client.get_account(self.market).await.unwrap().expect("market");
        get_dynamic_value(acc.data.as_slice())
    }

    async fn market_len(&mut self) -> usize {
        self.ctx.banks_client.get_account(self.market).await.unwrap().expect("market").data.len()
    }

    async fn book_size(&mut self) -> (usize, usize) {
        let m = self.market().await;
        let bids = m.get_bids().iter::<RestingOrder>().count();
        let asks = m.get_asks().iter::<RestingOrder>().count();
        (bids, asks)
    }

    fn batch(&self, who: usize, trader_index: u32, cancels: Vec<CancelOrderParams>, orders: Vec<PlaceOrderParams>) -> Instruction {
        batch_update_instruction(&self.market, &self.traders[who].pubkey(), Some(trader_index), cancels, orders, None, None, None, None)
    }

    async fn populate(&mut self, seats: &[u32]) {
        for j in 0..PER_LEVEL {
            let mut orders = vec![];
            for level in 0..LEVELS {
                orders.push(order(true, bid_tick(level), LOTS, OrderType::PostOnly));
                orders.push(order(false, ask_tick(level), LOTS, OrderType::PostOnly));
            }
            for chunk in orders.chunks(SETUP_BATCH) {
                let ix = self.batch(j, seats[j], vec![], chunk.to_vec());
                self.send(Phase::setup, j, &[ix]).await;
            }
        }
        let n = LEVELS as usize * PER_LEVEL;
        assert_eq!(self.book_size().await, (n, n), "the book holds 1,000 orders per side");
    }
}

/// `BatchUpdateReturn { orders: Vec<(u64, DataIndex)> }`, borsh: u32 count, then (u64, u32).
fn placed(ret: &[u8]) -> Vec<(u64, u32)> {
    let n = u32::from_le_bytes(ret[0..4].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| {
            let o = 4 + 12 * i;
            (u64::from_le_bytes(ret[o..o + 8].try_into().unwrap()), u32::from_le_bytes(ret[o + 8..o + 12].try_into().unwrap()))
        })
        .collect()
}

fn calibrate() {
    probe::ref_empty_loop(REF_N);
    probe::ref_emit_place_order(REF_N);
    probe::ref_emit_cancel_order(REF_N);
    probe::ref_emit_fill(REF_N);
}

pub async fn run(cfg: Config) {
    let t0 = std::time::Instant::now();
    let mut b = Bench::new().await;
    let m = b.market().await;
    let seats: Vec<u32> = b.traders.iter().map(|t| m.get_trader_index(&t.pubkey())).collect();
    b.populate(&seats).await;
    eprintln!("book populated: {} orders per side ({:.1?})", LEVELS as usize * PER_LEVEL, t0.elapsed());

    // Warm-up (setup): the first place after the book is built expands the market by one
    // block (Manifest keeps one free block); after a place + cancel, the measured
    // operations never expand.
    let ix = b.batch(0, seats[0], vec![], vec![order(true, BEST_BID, LOTS, OrderType::PostOnly)]);
    let (seq, idx) = placed(&b.send(Phase::setup, 0, &[ix]).await)[0];
    let ix = b.batch(0, seats[0], vec![CancelOrderParams::new_with_hint(seq, Some(idx))], vec![]);
    b.send(Phase::setup, 0, &[ix]).await;
    let len_before = b.market_len().await;

    // Place and cancel alternate; the cancel needs the place's (sequence number, index),
    // known only from its return data, so each cancel is built right after its place.
    for i in 0..cfg.ops {
        let is_bid = i % 2 == 0;
        let level = (i as u64 * 37) % LEVELS;
        let tick = if is_bid { bid_tick(level) } else { ask_tick(level) };
        let ix = b.batch(0, seats[0], vec![], vec![order(is_bid, tick, LOTS, OrderType::PostOnly)]);
        let out = placed(&b.send(Phase::place, 0, &[ix]).await);
        assert_eq!(out.len(), 1, "place: one order rests");
        let (seq, idx) = out[0];
        let ix = b.batch(0, seats[0], vec![CancelOrderParams::new_with_hint(seq, Some(idx))], vec![]);
        b.send(Phase::cancel, 0, &[ix]).await;
    }

    // Takes: the queue at the best ask, front first; the filled makers re-post at its back.
    let mut steps = vec![];
    let mut queue: VecDeque<usize> = (0..PER_LEVEL).collect();
    for (phase, fills) in SWEEPS {
        for _ in 0..cfg.sweeps {
            let hit: Vec<usize> = queue.drain(..fills).collect();
            let ix = b.batch(TAKER, seats[TAKER], vec![], vec![order(true, BEST_ASK, fills as u64 * LOTS, OrderType::ImmediateOrCancel)]);
            steps.push(Step { phase, who: TAKER, ix, expect: Expect::Fills });
            for j in hit {
                let ix = b.batch(j, seats[j], vec![], vec![order(false, BEST_ASK, LOTS, OrderType::PostOnly)]);
                steps.push(Step { phase: Phase::setup, who: j, ix, expect: Expect::Rests });
                queue.push_back(j);
            }
        }
    }
    let mut taker_base = b.market().await.get_trader_balance(&b.traders[TAKER].pubkey()).0.as_u64();
    for s in steps {
        let out = b.send(s.phase, s.who, &[s.ix]).await;
        match s.expect {
            Expect::Rests => assert_eq!(placed(&out).len(), 1),
            Expect::Fills => {
                let now = b.market().await.get_trader_balance(&b.traders[TAKER].pubkey()).0.as_u64();
                let fills = match s.phase {
                    Phase::take1 => 1,
                    Phase::take5 => 5,
                    _ => 10,
                };
                assert_eq!(now - taker_base, fills * LOTS * LOT, "{:?}: the take fills in full", s.phase);
                taker_base = now;
            }
        }
    }
    let n = LEVELS as usize * PER_LEVEL;
    assert_eq!(b.book_size().await, (n, n), "the book is back at its size");
    assert_eq!(b.market_len().await, len_before, "no measured operation expanded the market");
    calibrate();
    eprintln!("done ({:.1?})", t0.elapsed());

    let mut f = std::fs::File::create(&cfg.summary).expect("summary file");
    writeln!(f, "ops place {}", cfg.ops).unwrap();
    writeln!(f, "ops cancel {}", cfg.ops).unwrap();
    for (phase, _) in SWEEPS {
        writeln!(f, "ops {phase:?} {}", cfg.sweeps).unwrap();
    }
    writeln!(f, "ref_n {REF_N}").unwrap();
    writeln!(f, "market_bytes {len_before}").unwrap();
    writeln!(f, "resting_orders {}", 2 * n).unwrap();
}
