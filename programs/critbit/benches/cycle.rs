//! The book's steady-state cycle on a 1,000-order side: remove one resting
//! order, insert one new order, read the best (min) key.
//!
//! Keys are `price << 64 | seq` with prices in 100..200 ticks (10 orders per
//! price to start). The cycles' keys are precomputed so the measured loops
//! contain only the tree work.
//!
//! * `cargo bench -p critbit --bench cycle` prints a wall-clock table.
//! * `cycle-<hash> <K>` runs K cycles once per structure, for callgrind:
//!   `valgrind --tool=callgrind --toggle-collect='*run_critbit_cycles*' \
//!    target/release/deps/cycle-<hash> 1000` (and `'*run_btree_cycles*'`);
//!   Ir per cycle = (Ir at K=1000 − Ir at K=0) / 1000. `benches/callgrind.sh`
//!   does all four runs and prints the table.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use critbit::Critbit;

const ORDERS: usize = 1_000;
const PER_PRICE: u64 = 10;
const FIRST_PRICE: u64 = 100;
const PRICES: u64 = 100;

/// The order book's intended payload: 32 bytes.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Order {
    owner_seat: u32,
    _padding: u32,
    size_lots: u64,
    client_order_id: u64,
    expiry: i64,
}
const _: () = assert!(core::mem::size_of::<Order>() == 32);

fn order(seq: u64) -> Order {
    Order { owner_seat: seq as u32, _padding: 0, size_lots: seq, client_order_id: seq, expiry: 0 }
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn key(price: u64, seq: u64) -> u128 {
    (u128::from(price) << 64) | u128::from(seq)
}

/// Initial keys and `cycles` (remove, insert) pairs: a random resting order
/// leaves, a new order arrives at a random price with the next sequence.
fn workload(cycles: usize) -> (Vec<u128>, Vec<(u128, u128)>) {
    let mut seq = 0;
    let mut initial = Vec::with_capacity(ORDERS);
    for p in 0..PRICES {
        for _ in 0..PER_PRICE {
            initial.push(key(FIRST_PRICE + p, seq));
            seq += 1;
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut live = initial.clone();
    let mut ops = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let i = (rng.next() % live.len() as u64) as usize;
        let old = live.swap_remove(i);
        let new = key(FIRST_PRICE + rng.next() % PRICES, seq);
        seq += 1;
        live.push(new);
        ops.push((old, new));
    }
    (initial, ops)
}

#[inline(never)]
fn run_critbit_cycles(tree: &mut Critbit<'_, Order>, ops: &[(u128, u128)]) -> u128 {
    let mut acc = 0;
    for &(old, new) in ops {
        tree.remove(old).unwrap().unwrap();
        tree.insert(new, order(new as u64)).unwrap();
        acc ^= tree.min().unwrap().1;
    }
    acc
}

#[inline(never)]
fn run_btree_cycles(map: &mut BTreeMap<u128, Order>, ops: &[(u128, u128)]) -> u128 {
    let mut acc = 0;
    for &(old, new) in ops {
        map.remove(&old).unwrap();
        map.insert(new, order(new as u64));
        acc ^= *map.first_key_value().unwrap().0;
    }
    acc
}

fn new_critbit<'a>(buf: &'a mut [u64], initial: &[u128]) -> Critbit<'a, Order> {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(buf);
    let mut tree = critbit::init::<Order>(bytes, ORDERS as u32).unwrap();
    for &k in initial {
        tree.insert(k, order(k as u64)).unwrap();
    }
    tree
}

fn new_btree(initial: &[u128]) -> BTreeMap<u128, Order> {
    initial.iter().map(|&k| (k, order(k as u64))).collect()
}

fn tree_buf() -> Vec<u64> {
    vec![0u64; critbit::space::<Order>(ORDERS as u32) / 8]
}

fn main() {
    let cycles = std::env::args().skip(1).find_map(|a| a.parse::<usize>().ok());
    if let Some(k) = cycles {
        // Callgrind mode: one pass of K cycles per structure, nothing else.
        let (initial, ops) = workload(k);
        let mut buf = tree_buf();
        let mut tree = new_critbit(&mut buf, &initial);
        let a = black_box(run_critbit_cycles(&mut tree, black_box(&ops)));
        let mut map = new_btree(&initial);
        let b = black_box(run_btree_cycles(&mut map, black_box(&ops)));
        assert_eq!(a, b);
        tree.check_invariants().unwrap();
        return;
    }

    const TIMED: usize = 1_000_000;
    let (initial, ops) = workload(TIMED);
    let mut buf = tree_buf();
    let mut tree = new_critbit(&mut buf, &initial);
    let mut map = new_btree(&initial);
    let t = Instant::now();
    let a = black_box(run_critbit_cycles(&mut tree, black_box(&ops)));
    let critbit_ns = t.elapsed().as_nanos() as f64 / TIMED as f64;
    let t = Instant::now();
    let b = black_box(run_btree_cycles(&mut map, black_box(&ops)));
    let btree_ns = t.elapsed().as_nanos() as f64 / TIMED as f64;
    assert_eq!(a, b);
    tree.check_invariants().unwrap();

    println!("cycle = remove + insert + min on {ORDERS} keys, {TIMED} cycles");
    println!("{:<22} {:>10}", "structure", "ns/cycle");
    println!("{:<22} {:>10.1}", "critbit", critbit_ns);
    println!("{:<22} {:>10.1}", "std BTreeMap", btree_ns);
    let bytes = critbit::space::<Order>(ORDERS as u32);
    println!(
        "critbit space: {bytes} bytes for {ORDERS} orders of 32 bytes = {:.2} bytes/order",
        bytes as f64 / ORDERS as f64
    );
    println!("(instruction counts: benches/callgrind.sh)");
}
