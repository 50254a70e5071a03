//! Finding the exchange's accounts with getProgramAccounts filters. Every offset comes from
//! the account structs (`offset_of!` plus Anchor's 8-byte discriminator), never by hand.
//! The fetchers return the accounts decoded by [`crate::accounts`].
use core::mem::offset_of;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use orderbook::state::Book;
use perpetual::state::{Exchange, MarginAccount, Market};

use crate::accounts::{decode_exchange, decode_margin, decode_market, MarginView, DISCRIMINATOR_LEN};
use crate::chain::{Chain, ChainError, Filter};

fn discriminator<T: Discriminator>() -> Filter {
    Filter::Memcmp { offset: 0, bytes: T::DISCRIMINATOR.to_vec() }
}

fn key_at(offset: usize, key: &Pubkey) -> Filter {
    Filter::Memcmp { offset: DISCRIMINATOR_LEN + offset, bytes: key.to_bytes().to_vec() }
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

/// The exchange account, decoded (an error when it is missing or not an exchange).
pub async fn exchange<C: Chain>(chain: &mut C, exchange: &Pubkey) -> Result<Exchange, ChainError> {
    let data = chain.account_data(exchange).await?;
    decode_exchange(&data).ok_or_else(|| ChainError::Rpc(format!("{exchange} is not an exchange account")))
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
    use perpetual::state::POSITION_LEN;

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
