//! On-buffer layout: the header, the inner node, and where each region sits.
//!
//! Everything is `#[repr(C)]` with alignment at most 8 so that x86_64 (host
//! tests, keeper) and SBF (on-chain) agree byte for byte. Keys are stored as
//! `[u64; 2]` (low word first) because `u128` is 16-aligned on x86_64 but
//! 8-aligned on SBF.

use bytemuck::{Pod, Zeroable};

/// "CBT1" little-endian: tells an initialised region from zeroed account space.
pub(crate) const MAGIC: u32 = u32::from_le_bytes(*b"CBT1");

/// Marks "no node" in child, root, min/max and free-list links.
pub(crate) const NIL: u32 = u32::MAX;

/// Child links with this bit set point at a leaf slot, otherwise at an inner
/// slot. One tag bit keeps inner nodes at 12 bytes instead of spending a byte
/// (padded to 4) on a kind field.
pub(crate) const LEAF_TAG: u32 = 1 << 31;

/// Marks the links that cross from the part of the tree splitting on the
/// high 64-bit word (or from the root pointer) into a node splitting on the
/// low word; no other link carries it. A tagged index is never in range, so
/// a walk notices the crossing inside the bounds check it pays anyway and
/// from then on tests bits of the low word only, instead of selecting the
/// word at every level.
pub(crate) const LOW_TAG: u32 = 1 << 30;

/// A free inner slot carries this in `crit`, which a live one (0..=127) never
/// does: it is what lets `check_invariants` prove the free list and the tree
/// are disjoint.
pub(crate) const FREE_CRIT: u32 = u32::MAX;

/// Largest accepted capacity. Slot indices must stay below both tag bits
/// (`LOW_TAG` is bit 30); it also keeps `space` far from overflowing.
pub const MAX_CAPACITY: u32 = 1 << 30;

/// Size in bytes of [`Header`].
pub const HEADER_SIZE: usize = 48;

/// Size in bytes of [`Inner`].
pub const INNER_SIZE: usize = 12;

/// Size in bytes of one stored key.
pub const KEY_SIZE: usize = 16;

/// Fixed-size head of a tree region. Counts and handles only; the nodes follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Header {
    pub magic: u32,
    /// `size_of::<V>()` at `init`, checked on every load so a view cannot
    /// reinterpret a tree built for another payload type.
    pub value_size: u32,
    pub capacity: u32,
    pub len: u32,
    /// Link to the root (leaf or inner, tagged like a child link), `NIL`
    /// when empty.
    pub root: u32,
    /// Leaf slot of the smallest / largest key, `NIL` when empty. Cached so the
    /// book reads its best order in O(1).
    pub min: u32,
    pub max: u32,
    /// Head of the free leaf list, linked through the low key word.
    pub leaf_free: u32,
    /// Leaf slots `0..leaf_bump` have been handed out at least once; slots
    /// above it are untouched and need no free-list entry.
    pub leaf_bump: u32,
    /// Head of the free inner list, linked through `children[0]`.
    pub inner_free: u32,
    pub inner_bump: u32,
    pub _padding: u32,
}
const _: () = assert!(core::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(core::mem::align_of::<Header>() <= 8);

/// A branch: the highest bit in which the two subtrees differ and the two
/// child links (`children[b]` holds the keys whose bit `crit` is `b`). A link
/// is a slot index plus the `LEAF_TAG` and `LOW_TAG` bits. It stores no key,
/// so insert finds the critical bit against a leaf first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Inner {
    pub children: [u32; 2],
    /// Bit index, 0 = least significant. Strictly decreases going down.
    pub crit: u32,
}
const _: () = assert!(core::mem::size_of::<Inner>() == INNER_SIZE);
const _: () = assert!(core::mem::align_of::<Inner>() <= 8);

const _: () = assert!(core::mem::size_of::<[u64; 2]>() == KEY_SIZE);

#[inline(always)]
pub(crate) fn pack(key: u128) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

#[inline(always)]
pub(crate) fn unpack(words: &[u64; 2]) -> u128 {
    ((words[1] as u128) << 64) | words[0] as u128
}

/// Which child `key` belongs under at bit `crit`. Selecting the 64-bit word
/// first and shifting within it is two instructions cheaper per level on x86
/// than a u128 shift; masking with 63 also keeps a corrupt `crit` from
/// tripping the shift-overflow check (the walk bound and `check_invariants`
/// catch such data instead).
#[inline(always)]
pub(crate) fn dir(key: u128, crit: u32) -> usize {
    let word = if crit & 64 != 0 { (key >> 64) as u64 } else { key as u64 };
    ((word >> (crit & 63)) & 1) as usize
}

/// Byte offsets of each region inside a tree buffer.
///
/// Order: header | keys | values | live bitmap | inner nodes. Keys and
/// values are split (struct of arrays) so the search path only touches the
/// 16-byte keys; every region starts 8-aligned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub keys: usize,
    pub values: usize,
    pub live: usize,
    pub inners: usize,
    pub end: usize,
    pub inner_slots: usize,
}

impl Layout {
    /// `None` when the sizes overflow `usize` (only possible on 32-bit hosts).
    pub(crate) fn new(capacity: u32, value_size: usize) -> Option<Layout> {
        let cap = capacity as usize;
        let inner_slots = cap.saturating_sub(1);
        let keys = HEADER_SIZE;
        let values = keys.checked_add(cap.checked_mul(KEY_SIZE)?)?;
        let live = round8(values.checked_add(cap.checked_mul(value_size)?)?)?;
        let inners = live.checked_add(cap.div_ceil(64).checked_mul(8)?)?;
        let end = round8(inners.checked_add(inner_slots.checked_mul(INNER_SIZE)?)?)?;
        Some(Layout { keys, values, live, inners, end, inner_slots })
    }
}

fn round8(n: usize) -> Option<usize> {
    Some(n.checked_add(7)? & !7)
}
