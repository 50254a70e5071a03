//! Ordered iteration without allocation.

use crate::node::{unpack, Inner, LEAF_TAG, LOW_TAG, NIL};

/// Pending subtrees per direction. A path has at most 128 inner nodes and each
/// leaves at most one pending sibling, so 128 slots always suffice for a
/// well-formed tree; overflowing them means the data is corrupt.
const STACK: usize = 128;

/// One direction's walk: subtrees still to visit, the next one on top.
struct Walk {
    stack: [u32; STACK],
    depth: usize,
}

impl Walk {
    fn new(root: u32) -> Walk {
        let mut stack = [NIL; STACK];
        stack[0] = root;
        Walk { stack, depth: usize::from(root != NIL) }
    }

    /// Next leaf slot going towards `side` first (0 ascending, 1 descending),
    /// `None` when done or when the links are corrupt.
    fn next(&mut self, inners: &[Inner], side: usize) -> Option<u32> {
        self.depth = self.depth.checked_sub(1)?;
        let mut node = *self.stack.get(self.depth)?;
        while node & LEAF_TAG == 0 {
            let n = inners.get((node & !LOW_TAG) as usize)?;
            *self.stack.get_mut(self.depth)? = n.children[side ^ 1];
            self.depth += 1;
            node = n.children[side];
        }
        Some(node & !LEAF_TAG)
    }
}

/// Entries `(handle, key, &payload)` in ascending key order; also a
/// `DoubleEndedIterator`, so `.rev()` walks descending. It holds two fixed
/// 512-byte stacks (about 1 KiB in all) and never allocates.
///
/// On a corrupt tree it stops early rather than panicking;
/// `check_invariants` is the tool that reports why.
pub struct Iter<'a, V> {
    inners: &'a [Inner],
    keys: &'a [[u64; 2]],
    values: &'a [V],
    remaining: u32,
    front: Walk,
    back: Walk,
}

impl<'a, V> Iter<'a, V> {
    pub(crate) fn new(root: u32, len: u32, inners: &'a [Inner], keys: &'a [[u64; 2]], values: &'a [V]) -> Self {
        Iter {
            inners,
            keys,
            values,
            remaining: if root == NIL { 0 } else { len },
            front: Walk::new(root),
            back: Walk::new(root),
        }
    }

    fn item(&mut self, leaf: Option<u32>) -> Option<(u32, u128, &'a V)> {
        let found = leaf.and_then(|leaf| {
            let key = unpack(self.keys.get(leaf as usize)?);
            Some((leaf, key, self.values.get(leaf as usize)?))
        });
        // Counting down from `len` is what stops the two ends from crossing.
        self.remaining = if found.is_some() { self.remaining - 1 } else { 0 };
        found
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (u32, u128, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let leaf = self.front.next(self.inners, 0);
        self.item(leaf)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let leaf = self.back.next(self.inners, 1);
        self.item(leaf)
    }
}
