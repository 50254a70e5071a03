//! The two views over a tree buffer and the operations on them.
//!
//! Every slot index read from the buffer goes through `slice::get`, so a
//! corrupt link becomes `CritbitError::Corrupt` (or "absent" for read-only
//! queries) instead of a panic, and every walk is bounded by `MAX_WALK` so a
//! corrupt cycle cannot spin forever. Errors from a mutating call that hit
//! corruption may leave the buffer half-updated; on chain the transaction
//! aborts and the account is rolled back, off chain the data was already bad.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

use bytemuck::Pod;

use crate::error::CritbitError;
use crate::iter::Iter;
use crate::node::{
    dir, pack, unpack, Header, Inner, Layout, FREE_CRIT, HEADER_SIZE, LEAF_TAG, LOW_TAG,
    MAGIC, MAX_CAPACITY, NIL,
};

/// A root-to-leaf path crosses at most 128 inner nodes (one per bit), then a
/// leaf. Any walk longer than this is following a corrupt cycle.
pub(crate) const MAX_WALK: usize = 129;

const TOO_DEEP: CritbitError = CritbitError::corrupt("path longer than 128 inner nodes", NIL);

/// Compile-time guard on the payload type: the regions are laid out at 8-byte
/// boundaries, and bytemuck cannot cast to zero-sized slices.
struct PayloadCheck<V>(PhantomData<V>);
impl<V> PayloadCheck<V> {
    const OK: () = assert!(
        align_of::<V>() <= 8 && size_of::<V>() > 0,
        "critbit payload must be non-empty with alignment at most 8"
    );
}

/// Bytes needed for a tree of `capacity` leaves with payload `V`. Always a
/// multiple of 8, so regions placed back to back stay aligned. Saturates to
/// `usize::MAX` if the size does not fit (32-bit hosts only), which `init`
/// then rejects.
pub fn space<V: Pod>(capacity: u32) -> usize {
    let () = PayloadCheck::<V>::OK;
    match Layout::new(capacity, size_of::<V>()) {
        Some(layout) => layout.end,
        None => usize::MAX,
    }
}

/// Writes an empty tree of `capacity` leaves into `buf` (which must be
/// 8-aligned and at least `space::<V>(capacity)` bytes; extra bytes are left
/// alone) and returns a view of it.
pub fn init<V: Pod>(buf: &mut [u8], capacity: u32) -> Result<Critbit<'_, V>, CritbitError> {
    let () = PayloadCheck::<V>::OK;
    if capacity > MAX_CAPACITY {
        return Err(CritbitError::CapacityTooLarge);
    }
    let layout = check_buffer(buf.as_ptr(), buf.len(), capacity, size_of::<V>())?;
    let region = buf
        .get_mut(..layout.end)
        .ok_or(CritbitError::BufferTooSmall {
            needed: layout.end,
            got: 0,
        })?;
    // Zero everything: the live bitmap must start clear, and zeroed slots keep
    // the account deterministic for anyone diffing it.
    region.fill(0);
    let header = Header {
        magic: MAGIC,
        value_size: size_of::<V>() as u32,
        capacity,
        len: 0,
        root: NIL,
        min: NIL,
        max: NIL,
        leaf_free: NIL,
        leaf_bump: 0,
        inner_free: NIL,
        inner_bump: 0,
        _padding: 0,
    };
    region
        .get_mut(..HEADER_SIZE)
        .ok_or(CritbitError::BufferTooSmall {
            needed: HEADER_SIZE,
            got: 0,
        })?
        .copy_from_slice(bytemuck::bytes_of(&header));
    Critbit::load(buf)
}

fn check_buffer(
    ptr: *const u8,
    len: usize,
    capacity: u32,
    value_size: usize,
) -> Result<Layout, CritbitError> {
    if (ptr as usize) % 8 != 0 {
        return Err(CritbitError::Misaligned);
    }
    let layout = Layout::new(capacity, value_size).ok_or(CritbitError::BufferTooSmall {
        needed: usize::MAX,
        got: len,
    })?;
    if len < layout.end {
        return Err(CritbitError::BufferTooSmall {
            needed: layout.end,
            got: len,
        });
    }
    Ok(layout)
}

/// Reads and checks the header, returning it with the region layout.
fn read_header<V: Pod>(buf: &[u8]) -> Result<(Header, Layout), CritbitError> {
    let () = PayloadCheck::<V>::OK;
    if (buf.as_ptr() as usize) % 8 != 0 {
        return Err(CritbitError::Misaligned);
    }
    let head = buf.get(..HEADER_SIZE).ok_or(CritbitError::BufferTooSmall {
        needed: HEADER_SIZE,
        got: buf.len(),
    })?;
    let header: Header = *bytemuck::try_from_bytes(head).map_err(|_| CritbitError::Misaligned)?;
    if header.magic != MAGIC {
        return Err(CritbitError::BadMagic);
    }
    if header.value_size as usize != size_of::<V>() {
        return Err(CritbitError::ValueSizeMismatch {
            stored: header.value_size,
            expected: size_of::<V>() as u32,
        });
    }
    if header.capacity > MAX_CAPACITY {
        return Err(CritbitError::CapacityTooLarge);
    }
    let layout = check_buffer(buf.as_ptr(), buf.len(), header.capacity, size_of::<V>())?;
    Ok((header, layout))
}

/// Splits `n` bytes off the front of `rest`. The caller has already checked
/// the total length, so the error arm is unreachable in practice.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], CritbitError> {
    if rest.len() < n {
        return Err(CritbitError::BufferTooSmall {
            needed: n,
            got: rest.len(),
        });
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_mut<'a>(rest: &mut &'a mut [u8], n: usize) -> Result<&'a mut [u8], CritbitError> {
    if rest.len() < n {
        return Err(CritbitError::BufferTooSmall {
            needed: n,
            got: rest.len(),
        });
    }
    let (head, tail) = core::mem::take(rest).split_at_mut(n);
    *rest = tail;
    Ok(head)
}

fn cast<T: Pod>(bytes: &[u8]) -> Result<&[T], CritbitError> {
    bytemuck::try_cast_slice(bytes).map_err(|_| CritbitError::Misaligned)
}

fn cast_mut<T: Pod>(bytes: &mut [u8]) -> Result<&mut [T], CritbitError> {
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| CritbitError::Misaligned)
}

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
    header: &'a mut Header,
    keys: &'a mut [[u64; 2]],
    values: &'a mut [V],
    live: &'a mut [u64],
    inners: &'a mut [Inner],
}

impl<'a, V: Pod> CritbitRef<'a, V> {
    /// Views a buffer previously set up by [`init`].
    pub fn load(buf: &'a [u8]) -> Result<Self, CritbitError> {
        let (_, layout) = read_header::<V>(buf)?;
        let mut rest = buf;
        let header = bytemuck::try_from_bytes(take(&mut rest, HEADER_SIZE)?)
            .map_err(|_| CritbitError::Misaligned)?;
        let keys = cast(take(&mut rest, layout.values - layout.keys)?)?;
        let values_bytes = take(&mut rest, layout.live - layout.values)?;
        let values = cast(values_bytes.get(..values_len::<V>(keys))
            .ok_or(CritbitError::Misaligned)?)?;
        let live = cast(take(&mut rest, layout.inners - layout.live)?)?;
        let inner_bytes = take(&mut rest, layout.end - layout.inners)?;
        let inners = cast(inner_bytes.get(..layout.inner_slots * size_of::<Inner>())
            .ok_or(CritbitError::Misaligned)?)?;
        Ok(CritbitRef {
            header,
            keys,
            values,
            live,
            inners,
        })
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

    /// Handle of the leaf holding `key`.
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
        Iter::new(
            self.header.root,
            self.header.len,
            self.inners,
            self.keys,
            self.values,
        )
    }
}

impl<'a, V: Pod> Critbit<'a, V> {
    /// Views a buffer previously set up by [`init`].
    pub fn load(buf: &'a mut [u8]) -> Result<Self, CritbitError> {
        let (_, layout) = read_header::<V>(buf)?;
        let mut rest = buf;
        let header = bytemuck::try_from_bytes_mut(take_mut(&mut rest, HEADER_SIZE)?)
            .map_err(|_| CritbitError::Misaligned)?;
        let keys: &mut [[u64; 2]] = cast_mut(take_mut(&mut rest, layout.values - layout.keys)?)?;
        let values_bytes = take_mut(&mut rest, layout.live - layout.values)?;
        let values = cast_mut(
            values_bytes
                .get_mut(..values_len::<V>(keys))
                .ok_or(CritbitError::Misaligned)?,
        )?;
        let live = cast_mut(take_mut(&mut rest, layout.inners - layout.live)?)?;
        let inner_bytes = take_mut(&mut rest, layout.end - layout.inners)?;
        let inners = cast_mut(
            inner_bytes
                .get_mut(..layout.inner_slots * size_of::<Inner>())
                .ok_or(CritbitError::Misaligned)?,
        )?;
        Ok(Critbit {
            header,
            keys,
            values,
            live,
            inners,
        })
    }

    /// A read-only view of the same tree, for the query methods.
    #[inline]
    pub fn as_ref(&self) -> CritbitRef<'_, V> {
        CritbitRef {
            header: self.header,
            keys: self.keys,
            values: self.values,
            live: self.live,
            inners: self.inners,
        }
    }

    #[inline]
    pub fn len(&self) -> u32 {
        self.header.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    #[inline]
    pub fn capacity(&self) -> u32 {
        self.header.capacity
    }

    #[inline]
    pub fn find(&self, key: u128) -> Option<u32> {
        self.as_ref().find(key)
    }

    #[inline]
    pub fn min(&self) -> Option<(u32, u128)> {
        self.as_ref().min()
    }

    #[inline]
    pub fn max(&self) -> Option<(u32, u128)> {
        self.as_ref().max()
    }

    #[inline]
    pub fn key(&self, handle: u32) -> Option<u128> {
        self.as_ref().key(handle)
    }

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

    pub fn iter(&self) -> Iter<'_, V> {
        self.as_ref().iter()
    }

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
        let (parent_slot, below) = 'found: {
            let oldest = depth.saturating_sub(BLOCK);
            let mut below = near | LEAF_TAG;
            for i in (oldest..depth).rev() {
                let p = recent[i % BLOCK];
                let n = self.inners.get(p as usize).ok_or_else(|| bad_inner(p))?;
                if n.crit > crit {
                    break 'found (slot(p, dir(key, n.crit)), below);
                }
                below = inner_link(p, n.crit);
            }
            if oldest == 0 {
                break 'found (NO_SLOT, root);
            }
            self.link_above(root, key, crit)
        };

        let leaf = self.alloc_leaf()?;
        let branch = self.alloc_inner()?;
        let leaf_link = leaf | LEAF_TAG;
        let new_side = dir(key, crit);
        let children = if new_side == 0 {
            [leaf_link, below]
        } else {
            [below, leaf_link]
        };
        *self.inners.get_mut(branch as usize).ok_or_else(|| bad_inner(branch))? =
            Inner { children, crit };
        self.set_link(parent_slot, inner_link(branch, crit))?;
        self.fill_leaf(leaf, key, value)?;

        // A key below its nearest neighbour can only be a new min, one above
        // it only a new max.
        if new_side == 0 {
            let min_key = self.keys.get(self.header.min as usize).map(unpack);
            if min_key.map_or(true, |m| key < m) {
                self.header.min = leaf;
            }
        } else {
            let max_key = self.keys.get(self.header.max as usize).map(unpack);
            if max_key.map_or(true, |m| key > m) {
                self.header.max = leaf;
            }
        }
        Ok(leaf)
    }

    /// Pass 2 of insert, for when the new branch goes higher than the kept
    /// nodes: walk from the root to the first node splitting below `crit`.
    /// Returns the link to replace and the node it points at.
    #[cold]
    fn link_above(&self, root: u32, key: u128, crit: u32) -> (usize, u32) {
        let mut parent_slot = NO_SLOT;
        let mut link = root;
        // Bounded by pass 1, which followed the same bits to a leaf.
        for _ in 0..MAX_WALK {
            let inner = link & !LOW_TAG;
            match self.inners.get(inner as usize) {
                Some(n) if n.crit > crit => {
                    let d = dir(key, n.crit);
                    parent_slot = slot(inner, d);
                    link = n.children[d];
                }
                _ => break,
            }
        }
        (parent_slot, link)
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
            self.set_link(grand_slot, sibling)?;
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

    /// Points the link named by `slot` (or the root, for `NO_SLOT`) at `to`.
    #[inline(always)]
    fn set_link(&mut self, slot: usize, to: u32) -> Result<(), CritbitError> {
        if slot == NO_SLOT {
            self.header.root = to;
        } else {
            let node = (slot >> 1) as u32;
            self.inners.get_mut(node as usize).ok_or_else(|| bad_inner(node))?.children[slot & 1] =
                to;
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
        self.header.len = self.header.len.checked_sub(1).ok_or(CritbitError::corrupt(
            "len is zero but a leaf was reachable",
            leaf,
        ))?;
        Ok(())
    }

    #[inline(always)]
    fn free_inner(&mut self, inner: u32) -> Result<(), CritbitError> {
        *self.inners.get_mut(inner as usize).ok_or_else(|| bad_inner(inner))? = Inner {
            children: [self.header.inner_free, NIL],
            crit: FREE_CRIT,
        };
        self.header.inner_free = inner;
        Ok(())
    }
}

fn values_len<V>(keys: &[[u64; 2]]) -> usize {
    keys.len() * size_of::<V>()
}

#[cold]
fn bad_leaf(leaf: u32) -> CritbitError {
    CritbitError::corrupt("leaf link out of range", leaf)
}

#[cold]
fn bad_inner(inner: u32) -> CritbitError {
    CritbitError::corrupt("inner link out of range", inner)
}

#[inline(always)]
pub(crate) fn is_live(live: &[u64], handle: u32) -> bool {
    let i = handle as usize;
    live.get(i >> 6).is_some_and(|w| (w >> (i & 63)) & 1 == 1)
}

/// A child link named by its owner and side, `inner << 1 | side`: one `lea`
/// per level to track, where separate (node, side) pairs cost two moves.
#[inline(always)]
fn slot(inner: u32, side: usize) -> usize {
    ((inner as usize) << 1) | side
}

/// Stands for the root link in slot-tracking walks.
const NO_SLOT: usize = usize::MAX;

/// A link with neither tag that is out of range is corrupt; one with the
/// leaf tag names a leaf slot.
#[inline(always)]
fn leaf_of(link: u32) -> Result<u32, CritbitError> {
    if link & LEAF_TAG != 0 {
        Ok(link & !LEAF_TAG)
    } else {
        Err(bad_inner(link))
    }
}

/// The link to inner slot `inner`, tagged if it splits on the low word.
#[inline(always)]
pub(crate) fn inner_link(inner: u32, crit: u32) -> u32 {
    if crit < 64 {
        inner | LOW_TAG
    } else {
        inner
    }
}

/// Levels per unrolled block in `walk`, and the number of inner nodes insert
/// remembers from its first walk. On the book's workload the new branch lands
/// one or two levels above the leaf, so 8 covers nearly every insert.
const BLOCK: usize = 8;

/// Follows `key`'s bits from the `root` link to a leaf, calling
/// `visit(depth % BLOCK, inner, side)` at each inner node, and returns the
/// leaf slot and the number of inner nodes passed.
///
/// This is the hot loop of every operation, so it is shaped for the
/// instruction count:
/// * one bounds check per level serves as the leaf test too, since leaf links
///   (`LEAF_TAG`) are never valid indices;
/// * the walk tests bits of the high word until the first low-word link
///   (`LOW_TAG`, also never a valid index, so again found by the bounds
///   check), then of the low word, with the tag masked off from then on
///   (crit bits only fall going down); a level costs one bit test rather than
///   a 128-bit select-and-shift;
/// * levels run in fully unrolled blocks of `BLOCK`, so the bound that stops
///   a corrupt cycle is paid once per block, and `visit` sees a constant
///   position within the block.
#[inline(always)]
pub(crate) fn walk(
    inners: &[Inner],
    root: u32,
    key: u128,
    mut visit: impl FnMut(usize, u32, usize),
) -> Result<(u32, usize), CritbitError> {
    let lo = key as u64;
    let mut word = (key >> 64) as u64;
    // Strips the low-word tag once the walk is in the low word; before that a
    // tagged link must fail the bounds check to trigger the switch.
    let mut mask = u32::MAX;
    let mut node = root;
    let mut depth = 0;
    loop {
        // A valid path has at most 128 inner nodes.
        if depth > 128 {
            return Err(TOO_DEEP);
        }
        for k in 0..BLOCK {
            let mut inner = node & mask;
            let n = match inners.get(inner as usize) {
                Some(n) => n,
                None if node & (LEAF_TAG | LOW_TAG) == LOW_TAG => {
                    // The rest of the path splits on the low word.
                    word = lo;
                    mask = !LOW_TAG;
                    inner = node & mask;
                    inners.get(inner as usize).ok_or_else(|| bad_inner(inner))?
                }
                None => return Ok((leaf_of(node)?, depth + k)),
            };
            // Only the low 6 bits of `crit` matter within the word.
            let side = ((word >> (n.crit & 63)) & 1) as usize;
            visit(k, inner, side);
            node = n.children[side];
        }
        depth += BLOCK;
    }
}

/// Follows `key`'s bits from `root` to a leaf and returns the leaf slot.
#[inline(always)]
pub(crate) fn descend(inners: &[Inner], root: u32, key: u128) -> Result<u32, CritbitError> {
    walk(inners, root, key, |_, _, _| {}).map(|(leaf, _)| leaf)
}

/// Leftmost (`side` 0) or rightmost (`side` 1) leaf slot under `node`.
#[inline(always)]
pub(crate) fn extreme(inners: &[Inner], node: u32, side: usize) -> Result<u32, CritbitError> {
    let mut node = node;
    for _ in 0..MAX_WALK {
        match inners.get((node & !LOW_TAG) as usize) {
            Some(n) => node = n.children[side & 1],
            None => return leaf_of(node),
        }
    }
    Err(TOO_DEEP)
}
