//! Finding the exchange's accounts with getProgramAccounts filters. Every offset comes from
//! the account structs (`offset_of!` plus Anchor's 8-byte discriminator), never by hand.
use core::mem::offset_of;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use orderbook::state::Book;
use perpetual::state::{MarginAccount, Market, Position, HEADER_LEN, POSITION_LEN};

use crate::chain::{Chain, ChainError, Filter};

const DISC: usize = 8;

fn discriminator<T: Discriminator>() -> Filter {
    Filter::Memcmp { offset: 0, bytes: T::DISCRIMINATOR.to_vec() }
}

fn key_at(offset: usize, key: &Pubkey) -> Filter {
    Filter::Memcmp { offset: DISC + offset, bytes: key.to_bytes().to_vec() }
}

pub fn margin_account_filters(exchange: &Pubkey) -> Vec<Filter> {
    vec![discriminator::<MarginAccount>(), key_at(offset_of!(MarginAccount, exchange), exchange)]
}

pub fn market_filters(exchange: &Pubkey) -> Vec<Filter> {
    vec![discriminator::<Market>(), key_at(offset_of!(Market, exchange), exchange)]
}

pub fn book_filters(market: &Pubkey) -> Vec<Filter> {
    vec![discriminator::<Book>(), key_at(offset_of!(Book, market), market)]
}

/// A decoded margin account.
#[derive(Clone, Debug)]
pub struct MarginView {
    pub key: Pubkey,
    pub header: MarginAccount,
    pub positions: Vec<Position>,
}

/// Reads a margin account's bytes (any alignment).
pub fn decode_margin(key: Pubkey, data: &[u8]) -> Option<MarginView> {
    if data.len() < HEADER_LEN || &data[..DISC] != MarginAccount::DISCRIMINATOR {
        return None;
    }
    let header: MarginAccount = bytemuck::pod_read_unaligned(&data[DISC..HEADER_LEN]);
    let end = HEADER_LEN + header.position_capacity as usize * POSITION_LEN;
    let tail = data.get(HEADER_LEN..end)?;
    let positions = tail.chunks_exact(POSITION_LEN).map(bytemuck::pod_read_unaligned).collect();
    Some(MarginView { key, header, positions })
}

/// Reads a market's bytes (any alignment).
pub fn decode_market(data: &[u8]) -> Option<Market> {
    let end = DISC + core::mem::size_of::<Market>();
    (data.len() >= end && &data[..DISC] == Market::DISCRIMINATOR).then(|| bytemuck::pod_read_unaligned(&data[DISC..end]))
}

pub async fn margin_accounts<C: Chain>(chain: &mut C, exchange: &Pubkey) -> Result<Vec<MarginView>, ChainError> {
    let found = chain.program_accounts(&perpetual::ID, &margin_account_filters(exchange)).await?;
    Ok(found.into_iter().filter_map(|(k, a)| decode_margin(k, &a.data)).collect())
}

pub async fn markets<C: Chain>(chain: &mut C, exchange: &Pubkey) -> Result<Vec<(Pubkey, Market)>, ChainError> {
    let found = chain.program_accounts(&perpetual::ID, &market_filters(exchange)).await?;
    Ok(found.into_iter().filter_map(|(k, a)| decode_market(&a.data).map(|m| (k, m))).collect())
}

/// The market's book account and its bytes, if it has one.
pub async fn book_of<C: Chain>(chain: &mut C, market: &Pubkey) -> Result<Option<(Pubkey, Vec<u8>)>, ChainError> {
    let found = chain.program_accounts(&orderbook::ID, &book_filters(market)).await?;
    Ok(found.into_iter().next().map(|(k, a)| (k, a.data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_the_bytes_the_programs_write() {
        let exchange = Pubkey::new_unique();
        let mut header = MarginAccount { exchange, ..bytemuck::Zeroable::zeroed() };
        header.position_capacity = 1;
        let mut data = MarginAccount::DISCRIMINATOR.to_vec();
        data.extend_from_slice(bytemuck::bytes_of(&header));
        data.extend_from_slice(&[0u8; POSITION_LEN]);
        assert!(margin_account_filters(&exchange).iter().all(|f| f.matches(&data)));
        assert!(!margin_account_filters(&Pubkey::new_unique()).iter().all(|f| f.matches(&data)));
        let view = decode_margin(Pubkey::default(), &data[..]).unwrap();
        assert_eq!((view.header.exchange, view.positions.len()), (exchange, 1));
    }
}
