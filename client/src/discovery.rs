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

/// SPL Token accounts of `mint` owned by `owner`: the size of a token account, and the
/// packed account's leading bytes (mint, then owner) as `Pack` writes them.
pub fn token_account_filters(mint: &Pubkey, owner: &Pubkey) -> Vec<Filter> {
    use solana_program_pack::Pack;
    use spl_token_interface::state::Account;
    let sample = Account { mint: *mint, owner: *owner, ..Account::default() };
    let mut bytes = vec![0u8; Account::LEN];
    Account::pack(sample, &mut bytes).expect("a token account packs into its own length");
    let leading = 2 * core::mem::size_of::<Pubkey>();
    vec![Filter::DataSize(Account::LEN as u64), Filter::Memcmp { offset: 0, bytes: bytes[..leading].to_vec() }]
}

/// `owner`'s initialised token accounts of `mint`, largest balance first (the usual
/// `getTokenAccountsByOwner` choice when an owner has several).
pub async fn token_accounts<C: Chain>(
    chain: &mut C,
    mint: &Pubkey,
    owner: &Pubkey,
) -> Result<Vec<(Pubkey, spl_token_interface::state::Account)>, ChainError> {
    use solana_program_pack::Pack;
    let found = chain.program_accounts(&spl_token_interface::ID, &token_account_filters(mint, owner)).await?;
    let mut out: Vec<_> = found
        .into_iter()
        .filter_map(|(k, a)| spl_token_interface::state::Account::unpack(&a.data).ok().map(|t| (k, t)))
        .filter(|(_, t)| t.mint == *mint && t.owner == *owner)
        .collect();
    out.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.0.cmp(&b.0)));
    Ok(out)
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

/// Every book of `exchange`'s markets with its bytes, in one getProgramAccounts (with
/// thousands of markets, one request rather than one per book).
pub async fn books<C: Chain>(
    chain: &mut C,
    exchange: &Pubkey,
) -> Result<std::collections::BTreeMap<Pubkey, Vec<u8>>, ChainError> {
    let filters = vec![discriminator::<Book>(), key_at(offset_of!(Book, exchange), exchange)];
    let found = chain.program_accounts(&orderbook::ID, &filters).await?;
    Ok(found.into_iter().map(|(k, a)| (k, a.data)).collect())
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

    #[test]
    fn token_filters_match_a_packed_token_account_of_that_mint_and_owner_only() {
        use solana_program_pack::Pack;
        use spl_token_interface::state::{Account, AccountState};
        let (mint, owner) = (Pubkey::new_unique(), Pubkey::new_unique());
        let account = Account { mint, owner, amount: 7, state: AccountState::Initialized, ..Account::default() };
        let mut data = vec![0u8; Account::LEN];
        Account::pack(account, &mut data).unwrap();
        assert!(token_account_filters(&mint, &owner).iter().all(|f| f.matches(&data)));
        assert!(!token_account_filters(&owner, &mint).iter().all(|f| f.matches(&data)));
        assert!(!token_account_filters(&mint, &Pubkey::new_unique()).iter().all(|f| f.matches(&data)));
    }
}
