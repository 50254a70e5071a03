//! Following links: the hot walk shared by find, insert and remove, and the
//! small link helpers around it.

use crate::error::CritbitError;
use crate::node::{Inner, LEAF_TAG, LOW_TAG, NIL};

/// A root-to-leaf path crosses at most 128 inner nodes (one per bit), then a
/// leaf. Any walk longer than this is following a corrupt cycle.
pub(crate) const MAX_WALK: usize = 129;

pub(crate) const TOO_DEEP: CritbitError = CritbitError::corrupt("path longer than 128 inner nodes", NIL);

#[cold]
pub(crate) fn bad_leaf(leaf: u32) -> CritbitError {
    CritbitError::corrupt("leaf link out of range", leaf)
}

#[cold]
pub(crate) fn bad_inner(inner: u32) -> CritbitError {
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
pub(crate) fn slot(inner: u32, side: usize) -> usize {
    ((inner as usize) << 1) | side
}

/// Stands for the root link in slot-tracking walks.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// A link with neither tag that is out of range is corrupt; one with the
/// leaf tag names a leaf slot.
#[inline(always)]
pub(crate) fn leaf_of(link: u32) -> Result<u32, CritbitError> {
    if link & LEAF_TAG != 0 {
        Ok(link & !LEAF_TAG)
    } else {
        Err(bad_inner(link))
    }
}

/// Where insert puts its new branch: the link to replace, the crit bit of
/// the node owning it, and the node it pointed at (untagged) with its crit.
pub(crate) struct Place {
    pub parent_slot: usize,
    pub parent_crit: u32,
    pub below: u32,
    pub below_crit: u32,
}

/// `parent_crit` of the root link: above every real bit, on the high side.
pub(crate) const ROOT_CRIT: u32 = 128;

/// `below_crit` of a leaf: not below 64, so a leaf link is never tagged.
pub(crate) const NOT_INNER: u32 = u32::MAX;

/// The link from a node splitting on `from_crit` to `target` (untagged)
/// splitting on `to_crit`, with `LOW_TAG` exactly when it crosses from the
/// high-word part of the tree (or the root) into the low-word part.
#[inline(always)]
pub(crate) fn link_to(target: u32, from_crit: u32, to_crit: u32) -> u32 {
    if from_crit >= 64 && to_crit < 64 {
        target | LOW_TAG
    } else {
        target
    }
}

/// Levels per unrolled block in `walk`, and the number of inner nodes insert
/// remembers from its first walk. On the book's workload the new branch lands
/// one or two levels above the leaf, so 8 covers nearly every insert.
pub(crate) const BLOCK: usize = 8;

/// Follows `key`'s bits from the `root` link to a leaf, calling
/// `visit(depth % BLOCK, inner, side)` at each inner node, and returns the
/// leaf slot and the number of inner nodes passed.
///
/// This is the hot loop of every operation, so it is shaped for the
/// instruction count:
/// * one bounds check per level serves as the leaf test too, since leaf links
///   (`LEAF_TAG`) are never valid indices;
/// * the walk tests bits of the high word until the link tagged `LOW_TAG`
///   (never a valid index either, so again found by the bounds check) into
///   the part of the tree that splits on the low word, then bits of the low
///   word (crit bits only fall going down); a level costs one bit test
///   rather than a 128-bit select-and-shift;
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
    let mut node = root;
    let mut depth = 0;
    loop {
        // A valid path has at most 128 inner nodes.
        if depth > 128 {
            return Err(TOO_DEEP);
        }
        for k in 0..BLOCK {
            let n = match inners.get(node as usize) {
                Some(n) => n,
                None if node & (LEAF_TAG | LOW_TAG) == LOW_TAG => {
                    // The rest of the path splits on the low word.
                    word = lo;
                    node ^= LOW_TAG;
                    inners.get(node as usize).ok_or_else(|| bad_inner(node))?
                }
                None => return Ok((leaf_of(node)?, depth + k)),
            };
            // Only the low 6 bits of `crit` matter within the word.
            let side = ((word >> (n.crit & 63)) & 1) as usize;
            visit(k, node, side);
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
