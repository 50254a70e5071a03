use critbit::{Critbit, CritbitError, CritbitRef};

/// 8-aligned backing store for a tree of `capacity` u64 payloads.
fn buffer(capacity: u32) -> Vec<u64> {
    vec![0u64; critbit::space::<u64>(capacity) / 8]
}

fn tree(buf: &mut [u64], capacity: u32) -> Critbit<'_, u64> {
    critbit::init::<u64>(bytemuck::cast_slice_mut(buf), capacity).unwrap()
}

fn keys(t: &Critbit<'_, u64>) -> Vec<u128> {
    t.iter().map(|(_, k, _)| k).collect()
}

fn keys_rev(t: &Critbit<'_, u64>) -> Vec<u128> {
    t.iter().rev().map(|(_, k, _)| k).collect()
}

#[test]
fn empty_tree() {
    let mut buf = buffer(8);
    let mut t = tree(&mut buf, 8);
    assert_eq!(t.len(), 0);
    assert!(t.is_empty());
    assert_eq!(t.capacity(), 8);
    assert_eq!(t.min(), None);
    assert_eq!(t.max(), None);
    assert_eq!(t.find(0), None);
    assert_eq!(t.find(u128::MAX), None);
    assert_eq!(t.remove(5), Ok(None));
    assert_eq!(t.remove_handle(0), Ok(None));
    assert_eq!(t.get(0), None);
    assert_eq!(t.get_mut(0), None);
    assert_eq!(t.key(0), None);
    assert_eq!(t.iter().next(), None);
    assert_eq!(t.iter().next_back(), None);
    t.check_invariants().unwrap();
}

#[test]
fn insert_find_remove_min_max() {
    let mut buf = buffer(16);
    let mut t = tree(&mut buf, 16);
    let input = [50u128, 20, 80, 10, 30, 70, 90, 60, 40];
    let mut handles = Vec::new();
    for &k in &input {
        handles.push(t.insert(k, k as u64 * 10).unwrap());
        t.check_invariants().unwrap();
    }
    assert_eq!(t.len(), input.len() as u32);
    for (&k, &h) in input.iter().zip(&handles) {
        assert_eq!(t.find(k), Some(h));
        assert_eq!(t.key(h), Some(k));
        assert_eq!(t.get(h), Some(&(k as u64 * 10)));
    }
    assert_eq!(t.find(55), None);
    assert_eq!(t.min().map(|(_, k)| k), Some(10));
    assert_eq!(t.max().map(|(_, k)| k), Some(90));
    assert_eq!(keys(&t), [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert_eq!(keys_rev(&t), [90, 80, 70, 60, 50, 40, 30, 20, 10]);

    // Removing the extremes moves the cached min and max.
    assert_eq!(t.remove(10), Ok(Some(100)));
    assert_eq!(t.remove(90), Ok(Some(900)));
    t.check_invariants().unwrap();
    assert_eq!(t.min().map(|(_, k)| k), Some(20));
    assert_eq!(t.max().map(|(_, k)| k), Some(80));
    assert_eq!(t.remove(10), Ok(None));
    assert_eq!(t.find(10), None);

    // Removal by handle, and stale handles afterwards.
    let h = t.find(50).unwrap();
    assert_eq!(t.remove_handle(h), Ok(Some((50, 500))));
    assert_eq!(t.remove_handle(h), Ok(None));
    assert_eq!(t.get(h), None);
    assert_eq!(t.key(h), None);
    t.check_invariants().unwrap();
    assert_eq!(keys(&t), [20, 30, 40, 60, 70, 80]);

    // Payloads are mutable in place.
    let h = t.find(30).unwrap();
    *t.get_mut(h).unwrap() = 7;
    assert_eq!(t.get(h), Some(&7));

    for k in [20, 30, 40, 60, 70, 80] {
        assert!(t.remove(k).unwrap().is_some());
        t.check_invariants().unwrap();
    }
    assert!(t.is_empty());
    assert_eq!(t.min(), None);
    assert_eq!(t.max(), None);
}

#[test]
fn duplicate_key() {
    let mut buf = buffer(4);
    let mut t = tree(&mut buf, 4);
    t.insert(5, 1).unwrap();
    assert_eq!(t.insert(5, 2), Err(CritbitError::DuplicateKey));
    t.insert(6, 3).unwrap();
    assert_eq!(t.insert(6, 4), Err(CritbitError::DuplicateKey));
    assert_eq!(t.insert(5, 4), Err(CritbitError::DuplicateKey));
    assert_eq!(t.len(), 2);
    assert_eq!(t.get(t.find(5).unwrap()), Some(&1));
    t.check_invariants().unwrap();
}

#[test]
fn full_tree_and_reuse_of_freed_slots() {
    let mut buf = buffer(4);
    let mut t = tree(&mut buf, 4);
    let h: Vec<u32> = (0..4).map(|k| t.insert(k * 3, 0).unwrap()).collect();
    assert_eq!(t.insert(100, 0), Err(CritbitError::Full));
    // Duplicates are still reported as such on a full tree.
    assert_eq!(t.insert(3, 0), Err(CritbitError::DuplicateKey));
    t.check_invariants().unwrap();

    // Free two, refill: the freed handles come back and nothing new is used.
    t.remove(3).unwrap().unwrap();
    t.remove(6).unwrap().unwrap();
    t.check_invariants().unwrap();
    let a = t.insert(1000, 1).unwrap();
    let b = t.insert(1001, 2).unwrap();
    let mut reused = vec![a, b];
    reused.sort();
    assert_eq!(reused, [h[1], h[2]]);
    assert_eq!(t.insert(1002, 3), Err(CritbitError::Full));
    t.check_invariants().unwrap();
    assert_eq!(keys(&t), [0, 9, 1000, 1001]);

    // Many rounds of churn on a full tree never need more slots.
    for round in 0..100u128 {
        let victim = t.min().unwrap().1;
        t.remove(victim).unwrap().unwrap();
        t.insert(2000 + round, 0).unwrap();
        assert_eq!(t.insert(5000 + round, 0), Err(CritbitError::Full));
    }
    t.check_invariants().unwrap();
    assert!(t.iter().all(|(h, _, _)| h < 4));
}

#[test]
fn capacity_one_and_zero() {
    let mut buf = buffer(1);
    let mut t = tree(&mut buf, 1);
    t.insert(9, 9).unwrap();
    assert_eq!(t.insert(10, 10), Err(CritbitError::Full));
    assert_eq!(t.remove(9), Ok(Some(9)));
    t.insert(10, 10).unwrap();
    t.check_invariants().unwrap();

    let mut buf = buffer(0);
    let mut t = tree(&mut buf, 0);
    assert_eq!(t.insert(1, 1), Err(CritbitError::Full));
    t.check_invariants().unwrap();
}

#[test]
fn keys_differing_in_lowest_and_highest_bit() {
    let mut buf = buffer(8);
    let mut t = tree(&mut buf, 8);
    let top = 1u128 << 127;
    for k in [top | 1, top, 1, 0] {
        t.insert(k, 0).unwrap();
        t.check_invariants().unwrap();
    }
    assert_eq!(keys(&t), [0, 1, top, top | 1]);
    assert_eq!(keys_rev(&t), [top | 1, top, 1, 0]);
    for k in [0, 1, top, top | 1] {
        assert!(t.find(k).is_some());
    }
    assert_eq!(t.find(2), None);
    assert_eq!(t.remove(1), Ok(Some(0)));
    assert_eq!(t.remove(top), Ok(Some(0)));
    t.check_invariants().unwrap();
    assert_eq!(keys(&t), [0, top | 1]);
}

#[test]
fn zero_and_max_keys() {
    let mut buf = buffer(8);
    let mut t = tree(&mut buf, 8);
    t.insert(u128::MAX, 1).unwrap();
    t.insert(0, 2).unwrap();
    t.insert(u128::MAX - 1, 3).unwrap();
    t.insert(1u128 << 64, 4).unwrap();
    t.check_invariants().unwrap();
    assert_eq!(t.min().map(|(_, k)| k), Some(0));
    assert_eq!(t.max().map(|(_, k)| k), Some(u128::MAX));
    assert_eq!(keys(&t), [0, 1 << 64, u128::MAX - 1, u128::MAX]);
    assert_eq!(t.remove(u128::MAX), Ok(Some(1)));
    assert_eq!(t.max().map(|(_, k)| k), Some(u128::MAX - 1));
    assert_eq!(t.remove(0), Ok(Some(2)));
    assert_eq!(t.min().map(|(_, k)| k), Some(1 << 64));
    t.check_invariants().unwrap();
}

/// Keys 0 and every power of two make a chain with a path of 128 inner
/// nodes, the deepest a u128 tree can be: walks, iteration and the checker
/// must all handle it without tripping their depth bounds.
#[test]
fn deepest_possible_tree() {
    let mut buf = buffer(129);
    let mut t = tree(&mut buf, 129);
    let mut all: Vec<u128> = (0..128).map(|b| 1u128 << b).collect();
    all.push(0);
    for &k in all.iter().rev() {
        t.insert(k, k as u64).unwrap();
    }
    t.check_invariants().unwrap();
    all.sort();
    for &k in &all {
        assert_eq!(t.key(t.find(k).unwrap()), Some(k));
    }
    assert_eq!(keys(&t), all);
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(keys_rev(&t), rev);
    assert_eq!(t.insert(3, 0), Err(CritbitError::Full));

    // Remove the two deepest leaves and put back keys that branch at the very
    // bottom and the very top of that path.
    assert_eq!(t.remove(0), Ok(Some(0)));
    assert_eq!(t.remove(1), Ok(Some(1)));
    t.check_invariants().unwrap();
    t.insert(3, 3).unwrap();
    t.insert(0, 0).unwrap();
    t.check_invariants().unwrap();
    assert_eq!(t.min().map(|(_, k)| k), Some(0));
    for &k in &all[2..] {
        assert!(t.remove(k).unwrap().is_some());
        t.check_invariants().unwrap();
    }
    assert_eq!(keys(&t), [0, 3]);
}

#[test]
fn book_keys_and_inverted_bids() {
    // Asks ascend by price then sequence; bids stored as !key put the highest
    // price (and within it the earliest sequence... inverted) at min.
    let mut buf = buffer(64);
    let mut t = tree(&mut buf, 64);
    let key = |price: u64, seq: u64| (u128::from(price) << 64) | u128::from(seq);
    for seq in 0..30u64 {
        let price = 100 + seq * 7 % 10;
        t.insert(!key(price, seq), seq).unwrap();
    }
    t.check_invariants().unwrap();
    let (_, best) = t.min().unwrap();
    assert_eq!((!best >> 64) as u64, 109);
    let prices: Vec<u64> = t.iter().map(|(_, k, _)| (!k >> 64) as u64).collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn iterators_meet_in_the_middle() {
    let mut buf = buffer(32);
    let mut t = tree(&mut buf, 32);
    for k in 0..20u128 {
        t.insert(k * k, 0).unwrap();
    }
    let mut it = t.iter();
    let mut got = Vec::new();
    loop {
        match (it.next(), it.next_back()) {
            (Some(a), Some(b)) => {
                got.push(a.1);
                got.push(b.1);
            }
            (Some(a), None) => got.push(a.1),
            (None, _) => break,
        }
    }
    got.sort();
    assert_eq!(got, (0..20u128).map(|k| k * k).collect::<Vec<_>>());
}

#[test]
fn read_only_view_sees_the_same_tree() {
    let mut buf = buffer(8);
    {
        let mut t = tree(&mut buf, 8);
        for k in [3u128, 1, 2] {
            t.insert(k, k as u64).unwrap();
        }
    }
    let r = CritbitRef::<u64>::load(bytemuck::cast_slice(&buf)).unwrap();
    r.check_invariants().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r.iter().map(|(_, k, v)| (k, *v)).collect::<Vec<_>>(), [(1, 1), (2, 2), (3, 3)]);
    let h = r.find(2).unwrap();
    assert_eq!(r.get(h), Some(&2));

    // A mutable view reloaded from the same bytes continues where it left off.
    let mut t = Critbit::<u64>::load(bytemuck::cast_slice_mut(&mut buf)).unwrap();
    t.insert(0, 0).unwrap();
    assert_eq!(t.min().map(|(_, k)| k), Some(0));
    t.check_invariants().unwrap();
}

#[test]
fn bad_buffers_give_named_errors() {
    let need = critbit::space::<u64>(10);
    assert_eq!(need % 8, 0);
    let mut buf = vec![0u64; need / 8 + 1];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);

    // Too small for the capacity, or even for the header.
    assert_eq!(
        critbit::init::<u64>(&mut bytes[..need - 8], 10).err(),
        Some(CritbitError::BufferTooSmall { needed: need, got: need - 8 })
    );
    assert!(matches!(critbit::init::<u64>(&mut bytes[..8], 10).err(), Some(CritbitError::BufferTooSmall { .. })));
    assert!(matches!(Critbit::<u64>::load(&mut bytes[..8]).err(), Some(CritbitError::BufferTooSmall { .. })));

    // Misaligned start.
    assert_eq!(critbit::init::<u64>(&mut bytes[1..need + 1], 10).err(), Some(CritbitError::Misaligned));
    assert_eq!(CritbitRef::<u64>::load(&bytes[4..need + 4]).err(), Some(CritbitError::Misaligned));

    // Capacity too large.
    assert_eq!(critbit::init::<u64>(bytes, critbit::MAX_CAPACITY + 1).err(), Some(CritbitError::CapacityTooLarge));

    // Zeroed (never initialised) space.
    assert_eq!(Critbit::<u64>::load(bytes).err(), Some(CritbitError::BadMagic));

    // A view for another payload type.
    critbit::init::<u64>(bytes, 10).unwrap();
    assert_eq!(
        CritbitRef::<[u64; 2]>::load(bytes).err(),
        Some(CritbitError::ValueSizeMismatch { stored: 8, expected: 16 })
    );

    // An initialised tree truncated afterwards.
    assert!(matches!(CritbitRef::<u64>::load(&bytes[..need - 8]).err(), Some(CritbitError::BufferTooSmall { .. })));
    assert!(CritbitRef::<u64>::load(&bytes[..need]).is_ok());
}

#[test]
fn space_is_within_budget() {
    #[repr(C)]
    #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    struct Order {
        owner_seat: u32,
        _padding: u32,
        size_lots: u64,
        client_order_id: u64,
        expiry: i64,
    }
    for cap in [1u32, 64, 1000, 4096] {
        let per_order = critbit::space::<Order>(cap) as f64 / f64::from(cap);
        assert!(per_order <= 80.0 || cap < 64, "cap {cap}: {per_order} B/order");
    }
    // Per order beyond the header: 16 key + 32 payload + 12 inner + 1/8 bitmap.
    assert_eq!(critbit::space::<Order>(64), 48 + 64 * 16 + 64 * 32 + 8 + 63 * 12 + 4);
}

/// Structural corruption is reported by `check_invariants` and by the
/// operations as named errors, never as panics or endless loops.
#[test]
fn corrupt_data_gives_errors_not_panics() {
    let header = critbit::HEADER_SIZE;
    let cap = 8u32;
    let make = || {
        let mut buf = buffer(cap);
        {
            let mut t = tree(&mut buf, cap);
            for k in [10u128, 20, 30, 40] {
                t.insert(k, 0).unwrap();
            }
        }
        buf
    };
    let inners_at = critbit::space::<u64>(cap) - 4 - 7 * critbit::INNER_SIZE;

    // Point every inner child link at inner slot 0: a cycle.
    let mut buf = make();
    {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
        for slot in 0..7 {
            let at = inners_at + slot * critbit::INNER_SIZE;
            bytes[at..at + 8].fill(0);
        }
        let mut t = Critbit::<u64>::load(bytes).unwrap();
        assert!(matches!(t.check_invariants(), Err(CritbitError::Corrupt { .. })));
        assert_eq!(t.find(10), None);
        assert!(matches!(t.insert(11, 0), Err(CritbitError::Corrupt { .. })));
        assert!(matches!(t.remove(10), Err(CritbitError::Corrupt { .. })));
        assert!(t.iter().count() <= 4);
        assert!(t.iter().rev().count() <= 4);
    }

    // Garbage everywhere after the header (all 0xff, then a byte pattern).
    for fill in [0xffu8, 0x5a, 0x01] {
        let mut buf = make();
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
        let n = bytes.len();
        bytes[header..n].fill(fill);
        let mut t = Critbit::<u64>::load(bytes).unwrap();
        assert!(t.check_invariants().is_err());
        let _ = t.find(10);
        let _ = t.insert(11, 0);
        let _ = t.remove(20);
        let _ = t.remove_handle(1);
        let _ = t.iter().count();
        let _ = t.iter().rev().count();
        let _ = t.check_invariants();
    }

    // Header fields out of range.
    for field in 3..11 {
        for value in [0u32, 1, 7, 8, 100, 0x8000_0000, u32::MAX] {
            let mut buf = make();
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
            bytes[field * 4..field * 4 + 4].copy_from_slice(&value.to_le_bytes());
            let mut t = Critbit::<u64>::load(bytes).unwrap();
            let _ = t.check_invariants();
            let _ = t.min();
            let _ = t.max();
            let _ = t.insert(11, 0);
            let _ = t.insert(12, 0);
            let _ = t.remove(10);
            let _ = t.remove(20);
            let _ = t.iter().count();
            let _ = t.check_invariants();
        }
    }
}
