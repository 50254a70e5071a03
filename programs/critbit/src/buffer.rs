//! Carving a tree out of a caller's byte buffer: sizes, alignment and the
//! header checks every view starts with.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

use bytemuck::Pod;

use crate::error::CritbitError;
use crate::node::{Header, Layout, HEADER_SIZE, MAGIC, MAX_CAPACITY, NIL};
use crate::tree::Critbit;

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
    let region = buf.get_mut(..layout.end).ok_or(CritbitError::BufferTooSmall { needed: layout.end, got: 0 })?;
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
        .ok_or(CritbitError::BufferTooSmall { needed: HEADER_SIZE, got: 0 })?
        .copy_from_slice(bytemuck::bytes_of(&header));
    Critbit::load(buf)
}

pub(crate) fn check_buffer(
    ptr: *const u8,
    len: usize,
    capacity: u32,
    value_size: usize,
) -> Result<Layout, CritbitError> {
    if (ptr as usize) & 7 != 0 {
        return Err(CritbitError::Misaligned);
    }
    let layout =
        Layout::new(capacity, value_size).ok_or(CritbitError::BufferTooSmall { needed: usize::MAX, got: len })?;
    if len < layout.end {
        return Err(CritbitError::BufferTooSmall { needed: layout.end, got: len });
    }
    Ok(layout)
}

/// Reads and checks the header, returning it with the region layout.
pub(crate) fn read_header<V: Pod>(buf: &[u8]) -> Result<(Header, Layout), CritbitError> {
    let () = PayloadCheck::<V>::OK;
    if (buf.as_ptr() as usize) & 7 != 0 {
        return Err(CritbitError::Misaligned);
    }
    let head = buf.get(..HEADER_SIZE).ok_or(CritbitError::BufferTooSmall { needed: HEADER_SIZE, got: buf.len() })?;
    let header: Header = *bytemuck::try_from_bytes(head).map_err(|_| CritbitError::Misaligned)?;
    if header.magic != MAGIC {
        return Err(CritbitError::BadMagic);
    }
    if header.value_size as usize != size_of::<V>() {
        return Err(CritbitError::ValueSizeMismatch { stored: header.value_size, expected: size_of::<V>() as u32 });
    }
    if header.capacity > MAX_CAPACITY {
        return Err(CritbitError::CapacityTooLarge);
    }
    let layout = check_buffer(buf.as_ptr(), buf.len(), header.capacity, size_of::<V>())?;
    Ok((header, layout))
}

/// Splits `n` bytes off the front of `rest`. The caller has already checked
/// the total length, so the error arm is unreachable in practice.
pub(crate) fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], CritbitError> {
    if rest.len() < n {
        return Err(CritbitError::BufferTooSmall { needed: n, got: rest.len() });
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

pub(crate) fn take_mut<'a>(rest: &mut &'a mut [u8], n: usize) -> Result<&'a mut [u8], CritbitError> {
    if rest.len() < n {
        return Err(CritbitError::BufferTooSmall { needed: n, got: rest.len() });
    }
    let (head, tail) = core::mem::take(rest).split_at_mut(n);
    *rest = tail;
    Ok(head)
}

pub(crate) fn cast<T: Pod>(bytes: &[u8]) -> Result<&[T], CritbitError> {
    bytemuck::try_cast_slice(bytes).map_err(|_| CritbitError::Misaligned)
}

pub(crate) fn cast_mut<T: Pod>(bytes: &mut [u8]) -> Result<&mut [T], CritbitError> {
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| CritbitError::Misaligned)
}
