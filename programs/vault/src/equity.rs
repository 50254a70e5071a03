//! Pricing shares.
//!
//! The vault's equity is its margin account's equity as perpetual values it:
//! `perpetual::health::account_health` with the account's health accounts, i.e.
//! collateral, plus every position at the market's dual-price mark, less funding not yet
//! settled. (Collateral alone would be wrong as soon as the vault holds a position: in the
//! dYdX model buying a long lowers the collateral by what the long is worth.) Open orders add
//! nothing: they are neither an asset nor a liability until they fill.
//!
//! Rounding is always in the vault's favour: a deposit prices shares at the equity rounded
//! up and mints shares rounded down; a withdrawal prices at the equity rounded down and pays
//! an amount rounded down.
//!
//! One virtual share and one virtual unit of equity (`VIRTUAL_*`, as in ERC-4626 vaults)
//! make the first deposit 1:1 and make the "inflation" attack (a first depositor donating
//! to the margin account so that later deposits round to zero shares) cost the attacker
//! what it donates; a deposit worth zero shares is refused outright.
//!
//! What a production vault would add:
//! - price deposits at the least favourable of index, mark and stable price for the vault
//!   and withdrawals likewise (perpetual's `PricedMarket::conservative`), and require the
//!   oracles rather than accept a market's cached index, so that a user cannot pick the
//!   price source;
//! - count estimated exit costs (taker fees, price impact) of the open positions;
//! - management and performance fees in shares, a withdrawal queue or notice period, and
//!   a high-water mark;
//! - risk limits on the manager (see `manager_order`).
use anchor_lang::prelude::*;
use perpetual::health::account_health;
use perpetual::math::I80F48;
use perpetual::state::parse_margin_account;

use crate::error::VaultError;

pub const VIRTUAL_SHARES: u128 = 1;
pub const VIRTUAL_EQUITY: u128 = 1;

/// Shares minted for depositing `amount` into a vault with `total_shares` outstanding and
/// `equity` (rounded up) before the deposit: `amount * (S + 1) / (E + 1)`, rounded down.
pub fn shares_for_deposit(amount: u64, total_shares: u64, equity: u64) -> Option<u64> {
    let num = (amount as u128).checked_mul(total_shares as u128 + VIRTUAL_SHARES)?;
    u64::try_from(num / (equity as u128 + VIRTUAL_EQUITY)).ok()
}

/// Collateral paid for burning `shares` of `total_shares` outstanding with `equity`
/// (rounded down): `shares * (E + 1) / (S + 1)`, rounded down.
pub fn amount_for_shares(shares: u64, total_shares: u64, equity: u64) -> Option<u64> {
    let num = (shares as u128).checked_mul(equity as u128 + VIRTUAL_EQUITY)?;
    u64::try_from(num / (total_shares as u128 + VIRTUAL_SHARES)).ok()
}

/// The margin account's equity, from its data and its health accounts (perpetual's order:
/// every non-free position's market in slot order, each optionally followed by its oracle).
pub fn margin_equity<'info>(
    margin_account: &AccountInfo<'info>,
    health: &'info [AccountInfo<'info>],
) -> Result<I80F48> {
    require_keys_eq!(*margin_account.owner, perpetual::ID, VaultError::WrongMarginAccount);
    let data = margin_account.try_borrow_data()?;
    let (header, positions) = parse_margin_account(&data)?;
    let now = Clock::get()?.unix_timestamp;
    Ok(account_health(header, positions, &[], health, now)?.equity)
}

/// Equity rounded up to native units (`None` when negative: the vault is underwater).
pub fn ceil_units(equity: I80F48) -> Result<Option<u64>> {
    if equity < 0 {
        return Ok(None);
    }
    let up = equity.checked_ceil().ok_or_else(|| error!(VaultError::MathOverflow))?;
    Ok(Some(up.checked_to_num::<u64>().ok_or_else(|| error!(VaultError::MathOverflow))?))
}

/// Equity rounded down to native units, zero when negative.
pub fn floor_units(equity: I80F48) -> Result<u64> {
    if equity < 0 {
        return Ok(0);
    }
    equity.floor().checked_to_num::<u64>().ok_or_else(|| error!(VaultError::MathOverflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_deposit_is_one_to_one_and_round_trips() {
        assert_eq!(shares_for_deposit(1_000, 0, 0), Some(1_000));
        assert_eq!(amount_for_shares(1_000, 1_000, 1_000), Some(1_000));
        assert_eq!(shares_for_deposit(500, 1_000, 1_000), Some(500));
    }

    #[test]
    fn rounding_favours_the_vault() {
        // Equity 1_001 for 1_000 shares: 500 units buy 499.75 shares -> 499.
        assert_eq!(shares_for_deposit(500, 1_000, 1_001), Some(499));
        // 499 shares of 1_499 with equity 1_501: 499 * 1_502 / 1_500 = 499.66 -> 499.
        assert_eq!(amount_for_shares(499, 1_499, 1_501), Some(499));
        // Deposit-then-withdraw never returns more than was put in.
        for (s, e) in [(1_000u64, 1_000u64), (1_000, 1_337), (7, 3), (1_000_000, 999_999)] {
            for a in [1u64, 2, 3, 999, 123_456] {
                let minted = shares_for_deposit(a, s, e).unwrap();
                let back = amount_for_shares(minted, s + minted, e + a).unwrap();
                assert!(back <= a, "s {s} e {e} a {a}: minted {minted} back {back}");
            }
        }
    }

    #[test]
    fn donation_attack_costs_the_attacker() {
        // Attacker holds 1 share of equity 1, donates 1_000_000: a victim's 1_000 buys 0
        // shares (refused by the program), and the attacker's share is worth half the pot.
        assert_eq!(shares_for_deposit(1_000, 1, 1_000_001), Some(0));
        assert_eq!(amount_for_shares(1, 1, 1_000_001), Some(500_001));
    }

    #[test]
    fn rounding_of_equity() {
        let e = I80F48::from_num(10) + I80F48::from_bits(1);
        assert_eq!(ceil_units(e).unwrap(), Some(11));
        assert_eq!(floor_units(e).unwrap(), 10);
        assert_eq!(ceil_units(I80F48::from_num(-1)).unwrap(), None);
        assert_eq!(floor_units(I80F48::from_num(-1)).unwrap(), 0);
    }
}
