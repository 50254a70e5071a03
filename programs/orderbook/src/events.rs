//! Events for indexers. Codes are typed enums, emitted as their variant index.
use anchor_lang::prelude::*;

/// Why an order left the book without trading: `OrderCancelled::reason`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum CancelReason {
    /// Its owner cancelled it (or replaced it).
    Owner,
    SelfTrade,
    /// Its price left the market's band on the side that would gift the taker.
    StalePrice,
    /// Not emitted since seats (kept so that codes stay stable): `perpetual` refused the
    /// fill of a maker whose reservation was gone.
    FillRefused,
    /// Not emitted since seats: the owner's reservations were cleared after it rested.
    ReservationCleared,
    /// Its seat's allowance was revoked or given up after it rested: nothing backs it.
    SeatRevoked,
    /// The market is reduce-only or paused, and its fill would have grown the maker's
    /// position.
    MakerCannotGrow,
    /// Its side was full and a more aggressive order took its place.
    Evicted,
}

impl CancelReason {
    const ALL: [Self; 8] = [
        Self::Owner,
        Self::SelfTrade,
        Self::StalePrice,
        Self::FillRefused,
        Self::ReservationCleared,
        Self::SeatRevoked,
        Self::MakerCannotGrow,
        Self::Evicted,
    ];

    /// The reason of an `OrderCancelled` event's `reason` byte; `None` for an unknown code.
    pub fn from_u8(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}

#[event]
pub struct BookCreated {
    pub book: Pubkey,
    pub market: Pubkey,
    pub tick_size: u64,
    pub side_capacity: u32,
}

#[event]
pub struct OrderPlaced {
    pub book: Pubkey,
    pub order_key: u128,
    pub margin_account: Pubkey,
    pub is_bid: bool,
    pub price_ticks: u64,
    pub base_lots: u64,
    pub client_order_id: u64,
}

#[event]
pub struct OrderFilled {
    pub book: Pubkey,
    pub order_key: u128,
    pub maker: Pubkey,
    pub taker: Pubkey,
    pub taker_is_bid: bool,
    pub price_ticks: u64,
    pub base_lots: u64,
    pub maker_client_order_id: u64,
}

#[event]
pub struct OrderCancelled {
    pub book: Pubkey,
    pub order_key: u128,
    pub margin_account: Pubkey,
    pub base_lots: u64,
    pub reason: CancelReason,
}

impl OrderCancelled {
    /// The event for `base_lots` of order `order_key` of `margin_account` leaving `book`.
    pub fn new(book: Pubkey, order_key: u128, margin_account: Pubkey, base_lots: u64, reason: CancelReason) -> Self {
        Self { book, order_key, margin_account, base_lots, reason }
    }
}

#[event]
pub struct OrderExpired {
    pub book: Pubkey,
    pub order_key: u128,
    pub margin_account: Pubkey,
    pub base_lots: u64,
}

/// A seat was freed: its allowance is zero in `perpetual` and its orders are void.
#[event]
pub struct SeatFreed {
    pub book: Pubkey,
    pub margin_account: Pubkey,
    /// `Owner`: given up or reclaimed while idle; `SeatRevoked`: revoked (below maintenance,
    /// or the market settled).
    pub reason: CancelReason,
}

/// Why the remainder of a resting order type did not rest: `RemainderDropped::reason`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum DropReason {
    /// The take reached `MAX_FILLS_PER_TAKE` while the book still crossed its price.
    FillLimit,
    /// Matching stopped at an order outside the band that still crossed its price.
    Band,
}

/// The unfilled remainder of a limit or post-only order that could not rest because the
/// book still crossed its price; what it filled stands (the return data's filled lots).
#[event]
pub struct RemainderDropped {
    pub book: Pubkey,
    pub margin_account: Pubkey,
    pub base_lots: u64,
    pub reason: DropReason,
}
