use anchor_lang::prelude::*;

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
    /// 0 owner, 1 self trade, 2 stale price, 3 fill refused.
    pub reason: u8,
}

#[event]
pub struct OrderExpired {
    pub book: Pubkey,
    pub order_key: u128,
    pub margin_account: Pubkey,
    pub base_lots: u64,
}
