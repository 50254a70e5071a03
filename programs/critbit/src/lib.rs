//! A zero-copy critbit tree: the order book's sorted index.
//!
//! The tree lives in a caller-provided byte buffer (a region of a Solana
//! account) and never allocates, so the same code runs on chain (SBF) and in
//! the keeper. Keys are `u128`; the book packs `price_ticks << 64 | sequence`
//! and stores `!key` for bids, so [`Critbit::min`] is the best order on either
//! side. The tree itself only orders keys ascending.
//!
//! # Layout
//!
//! `space::<V>(capacity)` bytes, 8-aligned, all `#[repr(C)]` and at most
//! 8-aligned so host and SBF agree:
//!
//! | region       | size                          |
//! |--------------|-------------------------------|
//! | [`Header`]   | 48                            |
//! | keys         | 16 × capacity (`[u64; 2]`)    |
//! | payloads     | `size_of::<V>()` × capacity   |
//! | live bitmap  | 8 × ceil(capacity / 64)       |
//! | [`Inner`]    | 12 × (capacity − 1)           |
//!
//! (plus padding to 8 after the payloads and at the end). A leaf is the
//! pair (key, payload) at one slot index, which is the leaf's handle; inner
//! nodes hold only the critical bit and two child links. A link is a slot
//! index with two tag bits: bit 31 marks a leaf, bit 30 marks the links that
//! cross from nodes splitting on the high 64-bit word into nodes splitting
//! on the low word (see `walk.rs`). With a 32-byte payload a
//! resting order costs 16 + 32 + 12 + 1/8 = 60.125 bytes, plus the 48-byte
//! header shared by the whole tree.
//!
//! # Cost
//!
//! `benches/cycle.rs` runs the book's steady state on 1,000 keys
//! (`price << 64 | seq`, prices 100..200): remove one resting key, insert a
//! new one, read the min. Under callgrind (`benches/callgrind.sh`) that cycle
//! costs about 606 x86 instructions here against about 1,047 for
//! `std::collections::BTreeMap`. `min`/`max` are O(1) from a cache in the
//! header; insert walks once and looks back over the last 8 nodes it passed
//! instead of walking a second time; freed slots are reused through free
//! lists.
//!
//! # Errors, not panics
//!
//! Account data is untrusted: loading checks alignment, size, magic and the
//! payload size, every link read goes through a bounds-checked `get`, and
//! every walk is bounded, so malformed data yields [`CritbitError`] (or an
//! absent result from read-only queries) and never a panic or endless loop.
//! [`CritbitRef::check_invariants`] validates the whole structure.
//!
//! ```
//! let mut buf = vec![0u64; critbit::space::<u64>(4) / 8];
//! let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
//! let mut tree = critbit::init::<u64>(bytes, 4).unwrap();
//! tree.insert(7, 70).unwrap();
//! tree.insert(3, 30).unwrap();
//! assert_eq!(tree.min().map(|(_, k)| k), Some(3));
//! assert_eq!(tree.remove(7), Ok(Some(70)));
//! assert_eq!(tree.iter().map(|(_, k, v)| (k, *v)).collect::<Vec<_>>(), [(3, 30)]);
//! ```
//!
//! A payload must have a size and an alignment of at most 8 (so it packs the
//! same on SBF and x86_64); anything else is rejected at compile time:
//!
//! ```compile_fail
//! let _ = critbit::space::<()>(4);
//! ```
//!
//! ```compile_fail
//! #[repr(C, align(16))]
//! #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
//! struct Wide([u64; 2]);
//! let _ = critbit::space::<Wide>(4);
//! ```

#![no_std]

mod buffer;
mod check;
mod error;
mod iter;
mod node;
mod tree;
mod walk;

pub use buffer::{init, space};
pub use error::CritbitError;
pub use iter::Iter;
pub use node::{Header, Inner, HEADER_SIZE, INNER_SIZE, KEY_SIZE, MAX_CAPACITY};
pub use tree::{Critbit, CritbitRef};
