//! Full structural validation, for tests, keepers and debugging. It costs
//! O(len * depth) and is not meant for the on-chain hot path.

use bytemuck::Pod;

use crate::error::CritbitError;
use crate::node::{dir, unpack, FREE_CRIT, LEAF_TAG, LOW_TAG, NIL};
use crate::tree::CritbitRef;
use crate::walk::{extreme, is_live};

fn fail<T>(what: &'static str, node: u32) -> Result<T, CritbitError> {
    Err(CritbitError::corrupt(what, node))
}

/// True when `a` and `b` agree on every bit above `crit`.
fn same_prefix(a: u128, b: u128, crit: u32) -> bool {
    ((a ^ b) >> crit) >> 1 == 0
}

impl<V: Pod> CritbitRef<'_, V> {
    /// Checks every structural rule and names the first one broken:
    ///
    /// * header counts and handles are in range;
    /// * crit bits strictly decrease going down (so there are no cycles and
    ///   no path is longer than 128), and exactly the links from the root or a
    ///   node with crit bit >= 64 to one with crit bit < 64 carry the
    ///   low-word tag;
    /// * under each inner node with crit bit `c`, every key agrees above `c`,
    ///   keys on the left have bit `c` clear and keys on the right have it set
    ///   (checked on each side's extremes, which by induction bounds the rest);
    ///   hence keys are strictly ascending in order and each leaf is found by
    ///   following its own bits;
    /// * the leaf and inner counts match `len`, the cached `min`/`max` are the
    ///   real extremes, the live bitmap marks exactly the tree's leaves, and
    ///   the free lists are acyclic, disjoint from the tree and together with
    ///   it cover every slot handed out so far.
    pub fn check_invariants(&self) -> Result<(), CritbitError> {
        let h = self.header;
        let len = h.len;
        if len > h.capacity {
            return fail("len above capacity", len);
        }
        if h.leaf_bump > h.capacity || h.leaf_bump as usize > self.keys.len() {
            return fail("leaf_bump above capacity", h.leaf_bump);
        }
        if h.inner_bump as usize > self.inners.len() {
            return fail("inner_bump above inner slots", h.inner_bump);
        }

        let inner_count = self.check_tree()?;

        // Live bitmap: exactly `len` bits, all below leaf_bump. With every tree
        // leaf live and distinct (distinct keys), this makes the live set equal
        // the tree's leaves.
        let mut live_count: u64 = 0;
        for (w, bits) in self.live.iter().enumerate() {
            live_count += u64::from(bits.count_ones());
            let first = (w * 64) as u64;
            if *bits != 0 && first + 64 - u64::from(bits.leading_zeros()) > u64::from(h.leaf_bump) {
                return fail("live bit set at or above leaf_bump", (w * 64) as u32);
            }
        }
        if live_count != u64::from(len) {
            return fail("live bitmap count differs from len", len);
        }

        // Free leaves: distinct (a repeat would make the walk overrun), not
        // live, and exactly the handed-out slots that are not in the tree.
        let Some(spare) = h.leaf_bump.checked_sub(len) else {
            return fail("len above leaf_bump", len);
        };
        let mut count = 0;
        let mut at = h.leaf_free;
        while at != NIL {
            if count == spare {
                return fail("free leaf list longer than expected or cyclic", at);
            }
            if at >= h.leaf_bump {
                return fail("free leaf at or above leaf_bump", at);
            }
            if is_live(self.live, at) {
                return fail("free leaf is live", at);
            }
            let next = match self.keys.get(at as usize) {
                Some(k) => k[0],
                None => return fail("free leaf out of range", at),
            };
            if next > u64::from(u32::MAX) {
                return fail("free leaf link above u32", at);
            }
            at = next as u32;
            count += 1;
        }
        if count != spare {
            return fail("free leaf list shorter than leaf_bump - len", count);
        }

        // Free inner nodes: distinct, marked FREE_CRIT (a tree node's crit is
        // below 128, so the two sets cannot overlap), covering the rest.
        let Some(spare) = h.inner_bump.checked_sub(inner_count) else {
            return fail("more inner nodes in tree than inner_bump", inner_count);
        };
        let mut count = 0;
        let mut at = h.inner_free;
        while at != NIL {
            if count == spare {
                return fail("free inner list longer than expected or cyclic", at);
            }
            if at >= h.inner_bump {
                return fail("free inner at or above inner_bump", at);
            }
            let n = match self.inners.get(at as usize) {
                Some(n) => n,
                None => return fail("free inner out of range", at),
            };
            if n.crit != FREE_CRIT {
                return fail("free inner node not marked free", at);
            }
            at = n.children[0];
            count += 1;
        }
        if count != spare {
            return fail("free inner list shorter than inner_bump - tree inners", count);
        }
        Ok(())
    }

    /// Walks the tree and returns the number of inner nodes in it.
    fn check_tree(&self) -> Result<u32, CritbitError> {
        let h = self.header;
        if h.root == NIL {
            if h.len != 0 {
                return fail("empty root but len is not zero", h.len);
            }
            if h.min != NIL || h.max != NIL {
                return fail("empty tree caches a min or max", h.min);
            }
            return Ok(0);
        }
        if h.len == 0 {
            return fail("root set but len is zero", h.root);
        }

        let min = self.extreme(h.root, 0)?.0;
        let max = self.extreme(h.root, 1)?.0;
        if h.min != min {
            return fail("cached min is not the leftmost leaf", h.min);
        }
        if h.max != max {
            return fail("cached max is not the rightmost leaf", h.max);
        }

        // Depth-first, each entry (link, crit bit of its parent). The crit bit
        // strictly decreases, so a path has at most 128 inner nodes and the
        // stack at most 129 entries; the counts bound total work even if a
        // node were linked twice.
        let mut stack = [(NIL, 0u32); 130];
        stack[0] = (h.root, 128);
        let mut depth = 1;
        let mut leaves = 0u32;
        let mut inners = 0u32;
        while depth > 0 {
            depth -= 1;
            let (node, above) = stack[depth];
            if node & LEAF_TAG != 0 {
                if node & LOW_TAG != 0 {
                    return fail("leaf link carries the low-word tag", node);
                }
                let leaf = node & !LEAF_TAG;
                leaves += 1;
                if leaves > h.len {
                    return fail("more leaves in tree than len", leaf);
                }
                if leaf >= h.leaf_bump {
                    return fail("tree leaf at or above leaf_bump", leaf);
                }
                if !is_live(self.live, leaf) {
                    return fail("tree leaf not marked live", leaf);
                }
                continue;
            }
            inners += 1;
            let link = node;
            let node = link & !LOW_TAG;
            if inners >= h.len {
                return fail("more inner nodes than len - 1", node);
            }
            if node >= h.inner_bump {
                return fail("tree inner node at or above inner_bump", node);
            }
            let n = match self.inners.get(node as usize) {
                Some(n) => *n,
                None => return fail("tree inner node out of range", node),
            };
            if n.crit >= above {
                return fail("crit bit does not strictly decrease downwards", node);
            }
            if (link & LOW_TAG != 0) != (above >= 64 && n.crit < 64) {
                return fail("low-word tag is not exactly on high-to-low links", node);
            }
            let c = n.crit;
            let (_, min_l) = self.extreme(n.children[0], 0)?;
            let (_, max_l) = self.extreme(n.children[0], 1)?;
            let (_, min_r) = self.extreme(n.children[1], 0)?;
            let (_, max_r) = self.extreme(n.children[1], 1)?;
            if dir(min_l, c) != 0 || dir(max_l, c) != 0 {
                return fail("left subtree key has the crit bit set", node);
            }
            if dir(min_r, c) != 1 || dir(max_r, c) != 1 {
                return fail("right subtree key has the crit bit clear", node);
            }
            if !same_prefix(min_l, max_l, c) || !same_prefix(min_l, min_r, c) || !same_prefix(min_l, max_r, c) {
                return fail("subtree keys differ above the crit bit", node);
            }
            if depth + 2 > stack.len() {
                return fail("tree deeper than 128", node);
            }
            stack[depth] = (n.children[1], c);
            stack[depth + 1] = (n.children[0], c);
            depth += 2;
        }
        if leaves != h.len {
            return fail("tree leaf count differs from len", leaves);
        }
        Ok(inners)
    }

    fn extreme(&self, node: u32, side: usize) -> Result<(u32, u128), CritbitError> {
        let leaf = extreme(self.inners, node, side)?;
        match self.keys.get(leaf as usize) {
            Some(k) => Ok((leaf, unpack(k))),
            None => fail("leaf link out of range", leaf),
        }
    }
}
