//! Random operation sequences against `BTreeMap` as the reference model, on
//! small capacities so that `Full` and slot reuse come up in most cases.

use std::collections::BTreeMap;

use critbit::{Critbit, CritbitError};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert(u128),
    /// Insert a key already in the model (index into its keys), if any.
    InsertExisting(usize),
    Remove(u128),
    RemoveExisting(usize),
    RemoveHandle(usize),
    Find(u128),
    Min,
    Max,
}

/// Keys drawn from a few shapes so that collisions, shared prefixes, and both
/// ends of the u128 range all come up often.
fn key() -> impl Strategy<Value = u128> {
    prop_oneof![
        0u128..64,
        (100u64..110, 0u64..8).prop_map(|(p, s)| (u128::from(p) << 64) | u128::from(s)),
        any::<u128>(),
        Just(0u128),
        Just(u128::MAX),
        Just(1u128 << 127),
        (0u32..128).prop_map(|b| 1u128 << b),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => key().prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::InsertExisting),
        2 => key().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::RemoveExisting),
        1 => any::<usize>().prop_map(Op::RemoveHandle),
        1 => key().prop_map(Op::Find),
        1 => Just(Op::Min),
        1 => Just(Op::Max),
    ]
}

/// Keys that make deep, chain-like trees: one or two set bits, or runs of
/// ones, so that paths far longer than insert's 8 remembered levels occur
/// and new branches land high above the leaf.
fn deep_key() -> impl Strategy<Value = u128> {
    prop_oneof![
        (0u32..128).prop_map(|b| 1u128 << b),
        (0u32..128, 0u32..128).prop_map(|(a, b)| (1u128 << a) | (1u128 << b)),
        (0u32..128).prop_map(|b| u128::MAX >> b),
        (0u32..128).prop_map(|b| u128::MAX << b),
        (0u32..128).prop_map(|b| !(1u128 << b)),
    ]
}

fn deep_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => deep_key().prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::InsertExisting),
        1 => deep_key().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::RemoveExisting),
        1 => any::<usize>().prop_map(Op::RemoveHandle),
        1 => deep_key().prop_map(Op::Find),
        1 => Just(Op::Min),
        1 => Just(Op::Max),
    ]
}

fn nth_key(model: &BTreeMap<u128, u64>, i: usize) -> Option<u128> {
    if model.is_empty() {
        None
    } else {
        model.keys().nth(i % model.len()).copied()
    }
}

fn same_contents(t: &Critbit<'_, u64>, model: &BTreeMap<u128, u64>) -> Result<(), TestCaseError> {
    let asc: Vec<(u128, u64)> = t.iter().map(|(_, k, v)| (k, *v)).collect();
    let want: Vec<(u128, u64)> = model.iter().map(|(k, v)| (*k, *v)).collect();
    prop_assert_eq!(&asc, &want);
    let desc: Vec<(u128, u64)> = t.iter().rev().map(|(_, k, v)| (k, *v)).collect();
    let want_desc: Vec<(u128, u64)> = want.iter().rev().copied().collect();
    prop_assert_eq!(desc, want_desc);
    prop_assert_eq!(t.len() as usize, model.len());
    prop_assert_eq!(t.min().map(|(_, k)| k), model.keys().next().copied());
    prop_assert_eq!(t.max().map(|(_, k)| k), model.keys().next_back().copied());
    Ok(())
}

fn run(capacity: u32, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut buf = vec![0u64; critbit::space::<u64>(capacity) / 8];
    let mut t = critbit::init::<u64>(bytemuck::cast_slice_mut(&mut buf), capacity).unwrap();
    let mut model: BTreeMap<u128, u64> = BTreeMap::new();
    let mut stamp = 0u64;

    for op in ops {
        stamp += 1;
        match op {
            Op::Insert(k) => {
                let got = t.insert(k, stamp);
                if model.contains_key(&k) {
                    prop_assert_eq!(got, Err(CritbitError::DuplicateKey));
                } else if model.len() == capacity as usize {
                    prop_assert_eq!(got, Err(CritbitError::Full));
                } else {
                    let h = got.unwrap();
                    prop_assert!(h < capacity);
                    prop_assert_eq!(t.get(h), Some(&stamp));
                    model.insert(k, stamp);
                }
            }
            Op::InsertExisting(i) => {
                if let Some(k) = nth_key(&model, i) {
                    prop_assert_eq!(t.insert(k, stamp), Err(CritbitError::DuplicateKey));
                }
            }
            Op::Remove(k) => {
                prop_assert_eq!(t.remove(k), Ok(model.remove(&k)));
            }
            Op::RemoveExisting(i) => {
                if let Some(k) = nth_key(&model, i) {
                    prop_assert_eq!(t.remove(k), Ok(model.remove(&k)));
                }
            }
            Op::RemoveHandle(i) => {
                if let Some(k) = nth_key(&model, i) {
                    let h = t.find(k).unwrap();
                    let v = model.remove(&k).unwrap();
                    prop_assert_eq!(t.remove_handle(h), Ok(Some((k, v))));
                    prop_assert_eq!(t.get(h), None);
                }
            }
            Op::Find(k) => {
                let h = t.find(k);
                prop_assert_eq!(h.is_some(), model.contains_key(&k));
                if let Some(h) = h {
                    prop_assert_eq!(t.key(h), Some(k));
                    prop_assert_eq!(t.get(h), model.get(&k));
                }
            }
            Op::Min => {
                let got = t.min().map(|(h, k)| (k, *t.get(h).unwrap()));
                prop_assert_eq!(got, model.iter().next().map(|(k, v)| (*k, *v)));
            }
            Op::Max => {
                let got = t.max().map(|(h, k)| (k, *t.get(h).unwrap()));
                prop_assert_eq!(got, model.iter().next_back().map(|(k, v)| (*k, *v)));
            }
        }
        if let Err(e) = t.check_invariants() {
            return Err(TestCaseError::fail(format!("{e}")));
        }
        same_contents(&t, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn matches_btreemap(capacity in 1u32..24, ops in proptest::collection::vec(op(), 1..200)) {
        run(capacity, ops)?;
    }

    #[test]
    fn deep_trees_match_btreemap(
        capacity in 100u32..300,
        ops in proptest::collection::vec(deep_op(), 1..400),
    ) {
        run(capacity, ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary damage to a valid tree's bytes never panics or hangs: every
    /// operation returns a value or a named error (tests run with overflow
    /// checks on, so arithmetic slips would panic here too).
    #[test]
    fn corrupt_bytes_never_panic(
        keys in proptest::collection::vec(key(), 0..40),
        damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        probes in proptest::collection::vec(key(), 1..8),
    ) {
        let capacity = 32;
        let mut buf = vec![0u64; critbit::space::<u64>(capacity) / 8];
        {
            let mut t = critbit::init::<u64>(bytemuck::cast_slice_mut(&mut buf), capacity).unwrap();
            for k in keys {
                let _ = t.insert(k, 1);
            }
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
        for (at, byte) in damage {
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        if let Ok(r) = critbit::CritbitRef::<u64>::load(bytes) {
            let _ = r.check_invariants();
            let _ = r.iter().count();
            let _ = r.iter().rev().count();
            let _ = (r.min(), r.max());
        }
        if let Ok(mut t) = Critbit::<u64>::load(bytes) {
            for (i, &k) in probes.iter().enumerate() {
                let _ = t.find(k);
                let _ = t.get(i as u32);
                let _ = t.key(i as u32);
                if let Some(v) = t.get_mut(i as u32) {
                    *v = v.wrapping_add(1);
                }
                let _ = t.insert(k, 2);
                let _ = t.remove(k ^ 1);
                let _ = t.remove_handle(i as u32);
                let _ = t.iter().count();
                let _ = t.iter().rev().count();
                let _ = t.check_invariants();
            }
        }
    }
}
