//! Reading a book off-chain (keeper, tests, front ends): best prices, L2 depth, L3 orders,
//! mid price, and the last trade price `perpetual` records on every fill.
use anchor_lang::prelude::Pubkey;
use perpetual::state::Market;

use crate::state::{price_of, BookRef, Side};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub price_ticks: u64,
    pub base_lots: u64,
    pub orders: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L3Order {
    pub key: u128,
    pub side: Side,
    pub price_ticks: u64,
    pub base_lots: u64,
    pub margin_account: Pubkey,
    pub client_order_id: u64,
    pub expiry_ts: i64,
    /// The owner's reservation epoch when it rested; an order whose epoch is behind its
    /// margin account's has no reservation and is cancelled when met.
    pub epoch: u32,
}

/// Best order of a side: (price in ticks, lots at that order).
pub fn best(book: &BookRef, side: Side) -> Option<(u64, u64)> {
    let tree = book.side(side);
    let (handle, key) = tree.min()?;
    Some((price_of(side, key), tree.get(handle)?.base_lots))
}

/// Aggregated levels, best first, at most `depth` of them.
pub fn l2(book: &BookRef, side: Side, depth: usize) -> Vec<Level> {
    let mut out: Vec<Level> = vec![];
    for (_, key, order) in book.side(side).iter() {
        let price = price_of(side, key);
        match out.last_mut() {
            Some(level) if level.price_ticks == price => {
                level.base_lots += order.base_lots;
                level.orders += 1;
            }
            _ => {
                if out.len() == depth {
                    break;
                }
                out.push(Level { price_ticks: price, base_lots: order.base_lots, orders: 1 });
            }
        }
    }
    out
}

/// Every order of a side in priority order.
pub fn l3(book: &BookRef, side: Side) -> Vec<L3Order> {
    book.side(side)
        .iter()
        .map(|(_, key, o)| L3Order {
            key,
            side,
            price_ticks: price_of(side, key),
            base_lots: o.base_lots,
            margin_account: book.seats.get(o.seat as usize).map(|s| s.margin_account).unwrap_or_default(),
            client_order_id: o.client_order_id,
            expiry_ts: o.expiry_ts,
            epoch: o.epoch,
        })
        .collect()
}

/// The `seat_hint` for an order of `margin_account`: its seat, or else the first free one
/// (`None` when the seat table is full).
pub fn seat_hint(book: &BookRef, margin_account: &Pubkey) -> Option<u32> {
    let own = book.seats.iter().position(|s| s.margin_account == *margin_account);
    own.or_else(|| book.seats.iter().position(|s| s.is_free())).map(|i| i as u32)
}

/// Mid price in quote native per lot, when both sides have orders.
pub fn mid_price_per_lot(book: &BookRef) -> Option<f64> {
    let (bid, _) = best(book, Side::Bid)?;
    let (ask, _) = best(book, Side::Ask)?;
    Some((bid + ask) as f64 / 2.0 * book.header.tick_size as f64)
}

/// Last fill price in quote native per lot (0 before the first trade).
pub fn last_trade_price_per_lot(market: &Market) -> u64 {
    market.last_trade_price
}
