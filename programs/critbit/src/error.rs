use core::fmt;

/// Everything that can go wrong. Account data is untrusted input, so every
/// failure is a value of this type rather than a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CritbitError {
    /// Every leaf slot is in use.
    Full,
    /// The key is already in the tree; keys are unique.
    DuplicateKey,
    /// The buffer is shorter than [`space`](crate::space) says it must be.
    BufferTooSmall { needed: usize, got: usize },
    /// The buffer does not start on an 8-byte boundary.
    Misaligned,
    /// The capacity is above [`MAX_CAPACITY`](crate::MAX_CAPACITY).
    CapacityTooLarge,
    /// The header does not carry the magic written by [`init`](crate::init).
    BadMagic,
    /// The tree was created for a payload of a different size.
    ValueSizeMismatch { stored: u32, expected: u32 },
    /// The stored structure is inconsistent. `what` says which rule broke and
    /// `node` names the offending slot (or `u32::MAX` when none applies).
    Corrupt { what: &'static str, node: u32 },
}

impl CritbitError {
    pub(crate) const fn corrupt(what: &'static str, node: u32) -> Self {
        CritbitError::Corrupt { what, node }
    }
}

impl fmt::Display for CritbitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CritbitError::Full => f.write_str("critbit tree is full"),
            CritbitError::DuplicateKey => f.write_str("key already present"),
            CritbitError::BufferTooSmall { needed, got } => {
                write!(f, "buffer too small: need {needed} bytes, got {got}")
            }
            CritbitError::Misaligned => f.write_str("buffer is not 8-byte aligned"),
            CritbitError::CapacityTooLarge => f.write_str("capacity above MAX_CAPACITY"),
            CritbitError::BadMagic => f.write_str("buffer does not hold a critbit tree"),
            CritbitError::ValueSizeMismatch { stored, expected } => {
                write!(f, "payload size mismatch: stored {stored}, expected {expected}")
            }
            CritbitError::Corrupt { what, node } => {
                if node == u32::MAX {
                    write!(f, "corrupt tree: {what}")
                } else {
                    write!(f, "corrupt tree: {what} (slot {node})")
                }
            }
        }
    }
}
