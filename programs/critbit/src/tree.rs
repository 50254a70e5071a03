//! The two views over a tree buffer and the operations on them.
//!
//! Every slot index read from the buffer goes through `slice::get`, so a
//! corrupt link becomes `CritbitError::Corrupt` (or "absent" for read-only
//! queries) instead of a panic, and every walk is bounded so a corrupt cycle
//! cannot spin forever. Errors from a mutating call that hit
//! corruption may leave the buffer half-updated; on chain the transaction
//! aborts and the account is rolled back, off chain the data was already bad.

use core::mem::size_of;

use bytemuck::Pod;

use crate::buffer::{cast, cast_mut, read_header, take, take_mut};
use crate::error::CritbitError;
use crate::iter::Iter;
use crate::node::{dir, pack, unpack, Header, Inner, FREE_CRIT, HEADER_SIZE, LEAF_TAG, LOW_TAG, NIL};
use crate::walk::{
    bad_inner, bad_leaf, descend, extreme, is_live, link_to, slot, walk, Place, BLOCK, MAX_WALK, NOT_INNER, NO_SLOT,
    ROOT_CRIT,
};

/// Read-only view of a tree buffer, e.g. for a keeper reading account data.
pub struct CritbitRef<'a, V> {
    pub(crate) header: &'a Header,
    pub(crate) keys: &'a [[u64; 2]],
    pub(crate) values: &'a [V],
    pub(crate) live: &'a [u64],
    pub(crate) inners: &'a [Inner],
}

/// Mutable view of a tree buffer.
pub struct Critbit<'a, V> {
    pub(crate) header: &'a mut Header,
    pub(crate) keys: &'a mut [[u64; 2]],
    pub(crate) values: &'a mut [V],
    pub(crate) live: &'a mut [u64],
    pub(crate) inners: &'a mut [Inner],
}

impl<'a, V: Pod> CritbitRef<'a, V> {
    /// Views a buffer previously set up by [`init`](crate::init).
    pub fn load(buf: &'a [u8]) -> Result<Self, CritbitError> {
        let (_, layout) = read_header::<V>(buf)?;
        let mut rest = buf;
        let header = bytemuck::try_from_bytes(take(&mut rest, HEADER_SIZE)?).map_err(|_| CritbitError::Misaligned)?;
        let keys = cast(take(&mut rest, layout.values - layout.keys)?)?;
        let values_bytes = take(&mut rest, layout.live - layout.values)?;
        let values = cast(values_bytes.get(..values_len::<V>(keys)).ok_or(CritbitError::Misaligned)?)?;
        let live = cast(take(&mut rest, layout.inners - layout.live)?)?;
        let inner_bytes = take(&mut rest, layout.end - layout.inners)?;
        let inners = cast(inner_bytes.get(..layout.inner_slots * size_of::<Inner>()).ok_or(CritbitError::Misaligned)?)?;
        Ok(CritbitRef { header, keys, values, live, inners })
    }

    /// Number of keys stored.
    #[inline]
    pub fn len(&self) -> u32 {
        self.header.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// Maximum number of keys, fixed at `init`.
    #[inline]
    pub fn capacity(&self) -> u32 {
        self.header.capacity
    }

    /// Handle of the leaf holding `key`. Like the other queries it reports a
    /// corrupt tree as "absent"; `check_invariants` says what is wrong.
    #[inline]
    pub fn find(&self, key: u128) -> Option<u32> {
        let leaf = descend(self.inners, self.header.root, key).ok()?;
        (unpack(self.keys.get(leaf as usize)?) == key).then_some(leaf)
    }

    /// Handle and key of the smallest key. O(1): read from the header cache.
    #[inline]
    pub fn min(&self) -> Option<(u32, u128)> {
        let h = self.header.min;
        Some((h, unpack(self.keys.get(h as usize)?)))
    }

    /// Handle and key of the largest key. O(1): read from the header cache.
    #[inline]
    pub fn max(&self) -> Option<(u32, u128)> {
        let h = self.header.max;
        Some((h, unpack(self.keys.get(h as usize)?)))
    }

    /// Key stored under a live handle; `None` for a freed or unknown handle.
    #[inline]
    pub fn key(&self, handle: u32) -> Option<u128> {
        if !is_live(self.live, handle) {
            return None;
        }
        Some(unpack(self.keys.get(handle as usize)?))
    }

    /// Payload stored under a live handle; `None` for a freed or unknown handle.
    #[inline]
    pub fn get(&self, handle: u32) -> Option<&'a V> {
        if !is_live(self.live, handle) {
            return None;
        }
        self.values.get(handle as usize)
    }

    /// Entries in ascending key order; `.rev()` gives descending order.
    pub fn iter(&self) -> Iter<'a, V> {
        Iter::new(self.header.root, self.header.len, self.inners, self.keys, self.values)
    }
}

impl<'a, V: Pod> Critbit<'a, V> {
    /// Views a buffer previously set up by [`init`](crate::init).
    pub fn load(buf: &'a mut [u8]) -> Result<Self, CritbitError> {
        let (_, layout) = read_header::<V>(buf)?;
        let mut rest = buf;
        let header =
            bytemuck::try_from_bytes_mut(take_mut(&mut rest, HEADER_SIZE)?).map_err(|_| CritbitError::Misaligned)?;
        let keys: &mut [[u64; 2]] = cast_mut(take_mut(&mut rest, layout.values - layout.keys)?)?;
        let values_bytes = take_mut(&mut rest, layout.live - layout.values)?;
        let values = cast_mut(values_bytes.get_mut(..values_len::<V>(keys)).ok_or(CritbitError::Misaligned)?)?;
        let live = cast_mut(take_mut(&mut rest, layout.inners - layout.live)?)?;
        let inner_bytes = take_mut(&mut rest, layout.end - layout.inners)?;
        let inners =
            cast_mut(inner_bytes.get_mut(..layout.inner_slots * size_of::<Inner>()).ok_or(CritbitError::Misaligned)?)?;
        Ok(Critbit { header, keys, values, live, inners })
    }

    /// A read-only view of the same tree, for the query methods.
    #[inline]
    pub fn as_ref(&self) -> CritbitRef<'_, V> {
        CritbitRef { header: self.header, keys: self.keys, values: self.values, live: self.live, inners: self.inners }
    }

    /// See [`CritbitRef::len`].
    #[inline]
    pub fn len(&self) -> u32 {
        self.as_ref().len()
    }

    /// See [`CritbitRef::is_empty`].
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.as_ref().is_empty()
    }

    /// See [`CritbitRef::capacity`].
    #[inline]
    pub fn capacity(&self) -> u32 {
        self.as_ref().capacity()
    }

    /// See [`CritbitRef::find`].
    #[inline]
    pub fn find(&self, key: u128) -> Option<u32> {
        self.as_ref().find(key)
    }

    /// See [`CritbitRef::min`].
    #[inline]
    pub fn min(&self) -> Option<(u32, u128)> {
        self.as_ref().min()
    }

    /// See [`CritbitRef::max`].
    #[inline]
    pub fn max(&self) -> Option<(u32, u128)> {
        self.as_ref().max()
    }

    /// See [`CritbitRef::key`].
    #[inline]
    pub fn key(&self, handle: u32) -> Option<u128> {
        self.as_ref().key(handle)
    }

    /// See [`CritbitRef::get`].
    #[inline]
    pub fn get(&self, handle: u32) -> Option<&V> {
        self.as_ref().get(handle)
    }

    /// Mutable payload under a live handle (e.g. to shrink a partly filled
    /// order in place). The key cannot change this way, so order is kept.
    #[inline]
    pub fn get_mut(&mut self, handle: u32) -> Option<&mut V> {
        if !is_live(self.live, handle) {
            return None;
        }
        self.values.get_mut(handle as usize)
    }

    /// See [`CritbitRef::iter`].
    pub fn iter(&self) -> Iter<'_, V> {
        self.as_ref().iter()
    }

    /// See [`CritbitRef::check_invariants`].
    pub fn check_invariants(&self) -> Result<(), CritbitError> {
        self.as_ref().check_invariants()
    }

    /// Inserts `key` with its payload and returns the new leaf's handle, which
    /// stays valid until that key is removed.
    #[inline]
    pub fn insert(&mut self, key: u128, value: V) -> Result<u32, CritbitError> {
        let root = self.header.root;
        if root == NIL {
            if self.header.len >= self.header.capacity {
                return Err(CritbitError::Full);
            }
            let leaf = self.alloc_leaf()?;
            self.fill_leaf(leaf, key, value)?;
            self.header.root = leaf | LEAF_TAG;
            self.header.min = leaf;
            self.header.max = leaf;
            return Ok(leaf);
        }

        // Pass 1: the leaf reached by following `key`'s bits shares the
        // longest prefix with `key` of any leaf, so it yields the critical
        // bit. The last few inner nodes passed are kept because the new
        // branch almost always goes just above that leaf.
        let mut recent = [NIL; BLOCK];
        let (near, depth) = walk(self.inners, root, key, |k, inner, _| recent[k] = inner)?;
        let near_key = unpack(self.keys.get(near as usize).ok_or_else(|| bad_leaf(near))?);
        let diff = key ^ near_key;
        if diff == 0 {
            return Err(CritbitError::DuplicateKey);
        }
        if self.header.len >= self.header.capacity {
            return Err(CritbitError::Full);
        }
        let crit = 127 - diff.leading_zeros();

        // The new branch replaces the link into the first node on that path
        // that splits on a lower bit than `crit` (or into the leaf). Crit bits
        // fall going down, so look upwards from the leaf through the kept
        // nodes, and only walk again from the root if they all split lower.
        let place = 'found: {
            let oldest = depth.saturating_sub(BLOCK);
            let mut below = near | LEAF_TAG;
            let mut below_crit = NOT_INNER;
            for i in (oldest..depth).rev() {
                let p = recent[i % BLOCK];
                let n = self.inners.get(p as usize).ok_or_else(|| bad_inner(p))?;
                if n.crit > crit {
                    break 'found Place {
                        parent_slot: slot(p, dir(key, n.crit)),
                        parent_crit: n.crit,
                        below,
                        below_crit,
                    };
                }
                below = p;
                below_crit = n.crit;
            }
            if oldest == 0 {
                break 'found Place { parent_slot: NO_SLOT, parent_crit: ROOT_CRIT, below, below_crit };
            }
            self.link_above(root, key, crit)
        };

        let leaf = self.alloc_leaf()?;
        let branch = self.alloc_inner()?;
        let leaf_link = leaf | LEAF_TAG;
        let below_link = link_to(place.below, crit, place.below_crit);
        let new_side = dir(key, crit);
        let children = if new_side == 0 { [leaf_link, below_link] } else { [below_link, leaf_link] };
        *self.inners.get_mut(branch as usize).ok_or_else(|| bad_inner(branch))? = Inner { children, crit };
        self.set_link(place.parent_slot, link_to(branch, place.parent_crit, crit))?;
        self.fill_leaf(leaf, key, value)?;

        // A key below its nearest neighbour can only be a new min, one above
        // it only a new max.
        if new_side == 0 {
            let min_key = self.keys.get(self.header.min as usize).map(unpack);
            if !matches!(min_key, Some(m) if m < key) {
                self.header.min = leaf;
            }
        } else {
            let max_key = self.keys.get(self.header.max as usize).map(unpack);
            if !matches!(max_key, Some(m) if m > key) {
                self.header.max = leaf;
            }
        }
        Ok(leaf)
    }

    /// Pass 2 of insert, for when the new branch goes higher than the kept
    /// nodes: walk from the root to the first node splitting below `crit`.
    #[cold]
    fn link_above(&self, root: u32, key: u128, crit: u32) -> Place {
        let mut parent_slot = NO_SLOT;
        let mut parent_crit = ROOT_CRIT;
        let mut link = root;
        // Bounded by pass 1, which followed the same bits to a leaf.
        for _ in 0..MAX_WALK {
            let inner = link & !LOW_TAG;
            match self.inners.get(inner as usize) {
                Some(n) if n.crit > crit => {
                    let d = dir(key, n.crit);
                    parent_slot = slot(inner, d);
                    parent_crit = n.crit;
                    link = n.children[d];
                }
                Some(n) => return Place { parent_slot, parent_crit, below: inner, below_crit: n.crit },
                None => break,
            }
        }
        Place { parent_slot, parent_crit, below: link & !LOW_TAG, below_crit: NOT_INNER }
    }

    /// Removes `key`, returning its payload, or `Ok(None)` if it is absent.
    #[inline]
    pub fn remove(&mut self, key: u128) -> Result<Option<V>, CritbitError> {
        let node = self.header.root;
        if node == NIL {
            return Ok(None);
        }
        let mut grand_slot = NO_SLOT;
        let mut parent_slot = NO_SLOT;
        let (leaf, _) = walk(self.inners, node, key, |_, inner, side| {
            grand_slot = parent_slot;
            parent_slot = slot(inner, side);
        })?;
        let stored = self.keys.get(leaf as usize).ok_or_else(|| bad_leaf(leaf))?;
        if unpack(stored) != key {
            return Ok(None);
        }
        let value = *self.values.get(leaf as usize).ok_or_else(|| bad_leaf(leaf))?;

        if parent_slot == NO_SLOT {
            self.header.root = NIL;
            self.header.min = NIL;
            self.header.max = NIL;
        } else {
            // The sibling subtree takes the parent's place.
            let parent = (parent_slot >> 1) as u32;
            let p = self.inners.get(parent as usize).ok_or_else(|| bad_inner(parent))?;
            let sibling = p.children[(parent_slot & 1) ^ 1];
            // Tags mark links from the high-word part of the tree into the
            // low-word part. If the parent splits on the high word, the link
            // into it is untagged and the sibling's link already says whether
            // it crosses; if on the low word, the sibling link is untagged
            // and the link into the parent says whether the grandparent is on
            // the high side. So the moved link carries either tag.
            let moved = if sibling & LEAF_TAG != 0 { sibling } else { sibling | (self.link_at(grand_slot)? & LOW_TAG) };
            self.set_link(grand_slot, moved)?;
            self.free_inner(parent)?;
            // The removed extreme's sibling subtree holds its neighbours in
            // key order, so the new extreme is that subtree's own extreme.
            if self.header.min == leaf {
                self.header.min = extreme(self.inners, sibling, 0)?;
            }
            if self.header.max == leaf {
                self.header.max = extreme(self.inners, sibling, 1)?;
            }
        }
        self.free_leaf(leaf)?;
        Ok(Some(value))
    }

    /// Removes the entry under a live handle, returning its key and payload,
    /// or `Ok(None)` for a freed or unknown handle.
    pub fn remove_handle(&mut self, handle: u32) -> Result<Option<(u128, V)>, CritbitError> {
        let Some(key) = self.key(handle) else {
            return Ok(None);
        };
        match self.remove(key)? {
            Some(value) => Ok(Some((key, value))),
            // A live handle whose key does not lead back to it.
            None => Err(CritbitError::corrupt("live leaf not reachable by its key", handle)),
        }
    }

    /// The link named by `slot` (or the root, for `NO_SLOT`).
    #[inline(always)]
    fn link_at(&self, slot: usize) -> Result<u32, CritbitError> {
        if slot == NO_SLOT {
            return Ok(self.header.root);
        }
        let node = (slot >> 1) as u32;
        Ok(self.inners.get(node as usize).ok_or_else(|| bad_inner(node))?.children[slot & 1])
    }

    /// Points the link named by `slot` (or the root, for `NO_SLOT`) at `to`.
    #[inline(always)]
    fn set_link(&mut self, slot: usize, to: u32) -> Result<(), CritbitError> {
        if slot == NO_SLOT {
            self.header.root = to;
        } else {
            let node = (slot >> 1) as u32;
            self.inners.get_mut(node as usize).ok_or_else(|| bad_inner(node))?.children[slot & 1] = to;
        }
        Ok(())
    }

    #[inline(always)]
    fn fill_leaf(&mut self, leaf: u32, key: u128, value: V) -> Result<(), CritbitError> {
        let i = leaf as usize;
        *self.keys.get_mut(i).ok_or_else(|| bad_leaf(leaf))? = pack(key);
        *self.values.get_mut(i).ok_or_else(|| bad_leaf(leaf))? = value;
        *self.live.get_mut(i >> 6).ok_or_else(|| bad_leaf(leaf))? |= 1 << (i & 63);
        // Callers checked len < capacity <= MAX_CAPACITY, so this cannot wrap.
        self.header.len = self.header.len.wrapping_add(1);
        Ok(())
    }

    #[inline(always)]
    fn alloc_leaf(&mut self) -> Result<u32, CritbitError> {
        let h = &mut *self.header;
        if h.leaf_free != NIL {
            let leaf = h.leaf_free;
            let next = self.keys.get(leaf as usize).ok_or_else(|| bad_leaf(leaf))?[0];
            h.leaf_free = next as u32;
            return Ok(leaf);
        }
        if h.leaf_bump < h.capacity {
            // Cannot wrap: capacity <= MAX_CAPACITY.
            let leaf = h.leaf_bump;
            h.leaf_bump = leaf.wrapping_add(1);
            return Ok(leaf);
        }
        Err(CritbitError::corrupt("no free leaf although len < capacity", NIL))
    }

    #[inline(always)]
    fn alloc_inner(&mut self) -> Result<u32, CritbitError> {
        let h = &mut *self.header;
        if h.inner_free != NIL {
            let inner = h.inner_free;
            let next = self.inners.get(inner as usize).ok_or_else(|| bad_inner(inner))?.children[0];
            h.inner_free = next;
            return Ok(inner);
        }
        if (h.inner_bump as usize) < self.inners.len() {
            // Cannot wrap: inner slots < MAX_CAPACITY.
            let inner = h.inner_bump;
            h.inner_bump = inner.wrapping_add(1);
            return Ok(inner);
        }
        Err(CritbitError::corrupt("no free inner node although len < capacity", NIL))
    }

    #[inline(always)]
    fn free_leaf(&mut self, leaf: u32) -> Result<(), CritbitError> {
        let i = leaf as usize;
        // The free list is linked through the low key word.
        *self.keys.get_mut(i).ok_or_else(|| bad_leaf(leaf))? = [self.header.leaf_free as u64, 0];
        *self.live.get_mut(i >> 6).ok_or_else(|| bad_leaf(leaf))? &= !(1 << (i & 63));
        self.header.leaf_free = leaf;
        self.header.len = self
            .header
            .len
            .checked_sub(1)
            .ok_or(CritbitError::corrupt("len is zero but a leaf was reachable", leaf))?;
        Ok(())
    }

    #[inline(always)]
    fn free_inner(&mut self, inner: u32) -> Result<(), CritbitError> {
        *self.inners.get_mut(inner as usize).ok_or_else(|| bad_inner(inner))? =
            Inner { children: [self.header.inner_free, NIL], crit: FREE_CRIT };
        self.header.inner_free = inner;
        Ok(())
    }
}

fn values_len<V>(keys: &[[u64; 2]]) -> usize {
    keys.len() * size_of::<V>()
}
