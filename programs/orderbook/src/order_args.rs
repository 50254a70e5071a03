//! The arguments of an order (`place_order`, `replace_order`; `liquidate_order` builds one).
use anchor_lang::prelude::*;

use crate::matching::SelfTradeBehavior;
use crate::state::Side;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrderType {
    /// Matches what crosses, rests the rest.
    Limit,
    /// Refused if it would cross.
    PostOnly,
    /// If it would cross, rests one tick behind the best opposite price instead.
    PostOnlySlide,
    /// Matches what crosses, drops the rest.
    ImmediateOrCancel,
    /// Fills in full or fails.
    FillOrKill,
    /// Immediate-or-cancel up to a worst price (`price_ticks`).
    Market,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct PlaceOrderArgs {
    pub side: Side,
    /// Limit price in ticks (the worst price for a market order).
    pub price_ticks: u64,
    pub base_lots: u64,
    pub order_type: OrderType,
    /// Clamp the size to what closes the position; never rests.
    pub reduce_only: bool,
    pub self_trade: SelfTradeBehavior,
    pub client_order_id: u64,
    /// Unix time after which the order is void; 0 never expires.
    pub expiry_ts: i64,
    /// The account's seat (found by a scan otherwise), or a free one to claim if the order
    /// rests and the account has none.
    pub seat_hint: u32,
}

impl OrderType {
    /// True when the order takes what crosses.
    pub fn matches(self) -> bool {
        !matches!(self, OrderType::PostOnly | OrderType::PostOnlySlide)
    }
    /// True when what is left of the order rests.
    pub fn rests(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::PostOnly | OrderType::PostOnlySlide)
    }
}
