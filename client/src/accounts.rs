//! Typed decoding of the exchange's accounts from their bytes (any alignment): the
//! exchange, markets, margin accounts with their positions, books, and SPL token accounts.
//! Every reader of account bytes off-chain goes through these.
use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use bytemuck::Pod;
use orderbook::state::Book;
/// Anchor's account discriminator, before every struct.
pub use perpetual::state::DISCRIMINATOR_LEN;
use perpetual::state::{Exchange, MarginAccount, Market, Position, HEADER_LEN, POSITION_LEN};
use solana_program_pack::Pack;

/// Reads a zero-copy account's struct after its discriminator (any alignment); `None` when
/// the bytes are too short or the discriminator is another type's.
pub fn decode<T: Pod + Discriminator>(data: &[u8]) -> Option<T> {
    let end = DISCRIMINATOR_LEN + core::mem::size_of::<T>();
    (data.len() >= end && data[..DISCRIMINATOR_LEN] == *T::DISCRIMINATOR)
        .then(|| bytemuck::pod_read_unaligned(&data[DISCRIMINATOR_LEN..end]))
}

pub fn decode_exchange(data: &[u8]) -> Option<Exchange> {
    decode(data)
}

pub fn decode_market(data: &[u8]) -> Option<Market> {
    decode(data)
}

/// The book's header (its trees and seats follow it: `orderbook::state::BookRef::parse`).
pub fn decode_book(data: &[u8]) -> Option<Book> {
    decode(data)
}

/// A decoded margin account.
#[derive(Clone, Debug)]
pub struct MarginView {
    pub key: Pubkey,
    pub header: MarginAccount,
    pub positions: Vec<Position>,
}

/// Reads a margin account's header and its `position_capacity` position slots.
pub fn decode_margin(key: Pubkey, data: &[u8]) -> Option<MarginView> {
    if data.len() < HEADER_LEN || &data[..DISCRIMINATOR_LEN] != MarginAccount::DISCRIMINATOR {
        return None;
    }
    let header: MarginAccount = bytemuck::pod_read_unaligned(&data[DISCRIMINATOR_LEN..HEADER_LEN]);
    let end = HEADER_LEN + header.position_capacity as usize * POSITION_LEN;
    let tail = data.get(HEADER_LEN..end)?;
    let positions = tail.chunks_exact(POSITION_LEN).map(bytemuck::pod_read_unaligned).collect();
    Some(MarginView { key, header, positions })
}

/// An SPL token account's balance (the vault's, a user's).
pub fn decode_token_amount(data: &[u8]) -> Option<u64> {
    spl_token_interface::state::Account::unpack(data).ok().map(|a| a.amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_check_the_discriminator_and_length() {
        let exchange = Exchange { insurance_fund: 7, ..bytemuck::Zeroable::zeroed() };
        let mut data = Exchange::DISCRIMINATOR.to_vec();
        data.extend_from_slice(bytemuck::bytes_of(&exchange));
        // Any alignment: decode from an odd offset.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&data);
        assert_eq!(decode_exchange(&shifted[1..]).map(|e| e.insurance_fund), Some(7));
        assert!(decode_market(&data).is_none(), "another type's discriminator");
        assert!(decode_exchange(&data[..data.len() - 1]).is_none(), "too short");
    }
}
