//! Order keys: price in ticks in the high 64 bits and a sequence number in the low 64.
//! Bids store the price inverted, so `min()` is the best order on both sides, and
//! within a price the earlier sequence number comes first.
pub use perpetual::Side;

pub fn order_key(side: Side, price_ticks: u64, seq: u64) -> u128 {
    let price = match side {
        Side::Bid => !price_ticks,
        Side::Ask => price_ticks,
    };
    ((price as u128) << 64) | seq as u128
}

pub fn price_of(side: Side, key: u128) -> u64 {
    let high = (key >> 64) as u64;
    match side {
        Side::Bid => !high,
        Side::Ask => high,
    }
}

pub fn seq_of(key: u128) -> u64 {
    key as u64
}

pub fn opposite(side: Side) -> Side {
    match side {
        Side::Bid => Side::Ask,
        Side::Ask => Side::Bid,
    }
}

/// True when a `taker` order at `limit_ticks` trades with a resting order at `resting_ticks`.
pub fn crosses(taker: Side, limit_ticks: u64, resting_ticks: u64) -> bool {
    match taker {
        Side::Bid => resting_ticks <= limit_ticks,
        Side::Ask => resting_ticks >= limit_ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_time_priority_in_key_order() {
        // Asks: lower price first, then earlier.
        assert!(order_key(Side::Ask, 100, 5) < order_key(Side::Ask, 101, 1));
        assert!(order_key(Side::Ask, 100, 1) < order_key(Side::Ask, 100, 2));
        // Bids: higher price first, then earlier.
        assert!(order_key(Side::Bid, 101, 9) < order_key(Side::Bid, 100, 1));
        assert!(order_key(Side::Bid, 100, 1) < order_key(Side::Bid, 100, 2));
        assert_eq!(price_of(Side::Bid, order_key(Side::Bid, 77, 3)), 77);
        assert_eq!(price_of(Side::Ask, order_key(Side::Ask, 77, 3)), 77);
        assert_eq!(seq_of(order_key(Side::Bid, 77, 3)), 3);
    }
}
