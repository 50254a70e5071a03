//! lib-sokoban 0.3.3 `Critbit` on the cycle of `programs/critbit/benches/cycle.rs` (the same
//! workload: a side of 1,000 keys `price << 64 | seq`, 10 per price over 100 prices, then
//! cycles of remove a random resting key, insert a new key at a random price with the next
//! sequence, read the min; the same xorshift64* generator and seed, so the same keys).
//!
//! `sokoban-cycle K` runs K cycles once on sokoban's `Critbit` and once on `std`'s `BTreeMap`
//! (the calibrator shared with our bench: both binaries report it, so the two builds can
//! be checked to agree); under callgrind, Ir per cycle = (Ir at K − Ir at 0) / K with
//! `--toggle-collect='*run_sokoban_cycles*'` (or `'*run_btree_cycles*'`), exactly as
//! `programs/critbit/benches/callgrind.sh` measures our critbit. Our tree cannot be built
//! here (it lives in the main workspace); `bench/compare.sh` runs both scripts.
use std::collections::BTreeMap;
use std::hint::black_box;

use bytemuck::{Pod, Zeroable};
use sokoban::{Critbit, NodeAllocatorMap, OrderedNodeAllocatorMap};

const ORDERS: usize = 1_000;
const PER_PRICE: u64 = 10;
const FIRST_PRICE: u64 = 100;
const PRICES: u64 = 100;
/// Capacity: 1,024 leaves, 2,048 nodes (inner nodes and leaf pointers).
type Tree = Critbit<Order, 2048, 1024>;

/// The same 32-byte payload as our bench.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
struct Order {
    owner_seat: u32,
    _padding: u32,
    size_lots: u64,
    client_order_id: u64,
    expiry: i64,
}

fn order(seq: u64) -> Order {
    Order { owner_seat: seq as u32, _padding: 0, size_lots: seq, client_order_id: seq, expiry: 0 }
}

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
fn run_sokoban_cycles(tree: &mut Tree, ops: &[(u128, u128)]) -> u128 {
    let mut acc = 0;
    for &(old, new) in ops {
        tree.remove(&old).unwrap();
        tree.insert(new, order(new as u64)).unwrap();
        acc ^= tree.get_min().unwrap().0;
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

fn main() {
    let k: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let (initial, ops) = workload(k);
    let mut tree: Box<Tree> = bytemuck::zeroed_box();
    tree.initialize();
    for &key in &initial {
        tree.insert(key, order(key as u64)).unwrap();
    }
    let a = black_box(run_sokoban_cycles(&mut tree, black_box(&ops)));
    let mut map: BTreeMap<u128, Order> = initial.iter().map(|&k| (k, order(k as u64))).collect();
    let b = black_box(run_btree_cycles(&mut map, black_box(&ops)));
    assert_eq!(a, b);
    assert_eq!(tree.len(), ORDERS);
    println!("sokoban_space\t{}\t{}", std::mem::size_of::<Tree>(), 1024);
}
