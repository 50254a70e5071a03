//! Reading a book off-chain (keeper, tests, front ends): best prices, L2 depth, L3 orders,
//! mid price, and the last trade price `perpetual` records on every fill.
use anchor_lang::prelude::Pubkey;
use perpetual::state::Market;

use crate::matching::is_live;
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
    /// False for a void order: its seat was revoked or given up after it rested, so it is
    /// removed when met (or pruned) and counts in no depth.
    pub live: bool,
}

/// Best live order of a side: (price in ticks, lots at that order).
pub fn best(book: &BookRef, side: Side) -> Option<(u64, u64)> {
    let (_, key, order) = book.side(side).iter().find(|(_, _, o)| is_live(book.seats, o))?;
    Some((price_of(side, key), order.base_lots))
}

/// Aggregated levels, best first, at most `depth` of them.
pub fn l2(book: &BookRef, side: Side, depth: usize) -> Vec<Level> {
    let mut out: Vec<Level> = vec![];
    for (_, key, order) in book.side(side).iter().filter(|(_, _, o)| is_live(book.seats, o)) {
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
            live: is_live(book.seats, o),
        })
        .collect()
}

/// The `seat_hint` for an order of `margin_account`: its seat, or else the first free one
/// (`None` when the seat table is full).
pub fn seat_hint(book: &BookRef, margin_account: &Pubkey) -> Option<u32> {
    let own = book.seats.iter().position(|s| s.margin_account == *margin_account);
    own.or_else(|| book.seats.iter().position(|s| s.is_free())).map(|i| i as u32)
}

/// The seats accounts hold: (index, margin account).
pub fn held_seats(book: &BookRef) -> Vec<(u32, Pubkey)> {
    book.seats.iter().enumerate().filter(|(_, s)| !s.is_free()).map(|(i, s)| (i as u32, s.margin_account)).collect()
}

/// The seats holding fills not yet settled (what `settle_seats` takes): (index, account).
pub fn seats_with_pending(book: &BookRef) -> Vec<(u32, Pubkey)> {
    book.seats
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_free() && !s.pending().is_empty())
        .map(|(i, s)| (i as u32, s.margin_account))
        .collect()
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
