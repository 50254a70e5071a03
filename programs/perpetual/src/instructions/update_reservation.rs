//! Open-order reservations, written by an approved trader program.
use anchor_lang::prelude::*;

use crate::controller::health::{account_health, require_initial, PricedMarket};
use crate::controller::trade::require_reservation_allowed;
use crate::controller::trader_auth::check_trader;
use crate::error::PerpError;
use crate::math::lots::change_reservation;
use crate::state::{find_or_open_position, find_position, release_if_empty, Exchange, MarginAccountMut, Market};

#[derive(Accounts)]
pub struct UpdateReservation<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    pub trader_authority: Signer<'info>,
    /// Writable only to count position slots; the book's account is locked with it anyway.
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; read only when the reservation grows.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The margin account's owner or delegate.
    pub account_authority: Signer<'info>,
}

/// Changes the account's open bid and ask lots in this market, signed by the owner or
/// delegate. A growth needs a full initial-margin check with open orders at their worst
/// case (remaining accounts: health accounts); a shrink needs no other market.
pub fn handler<'info>(ctx: Context<'info, UpdateReservation<'info>>, bid_delta: i64, ask_delta: i64) -> Result<()> {
    let accounts = &*ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let market_key = accounts.market.key();
    check_trader(&accounts.approval, &exchange_key, &accounts.trader_authority)?;
    let increases = bid_delta > 0 || ask_delta > 0;

    let mut market = accounts.market.load_mut()?;
    let info: &'info AccountInfo<'info> = accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    require!(header.may_trade(accounts.account_authority.key), PerpError::NotOwnerOrDelegate);
    if !increases {
        if let Some(i) = find_position(positions, &market_key) {
            change_reservation(&mut positions[i].open_bid_lots, bid_delta)?;
            change_reservation(&mut positions[i].open_ask_lots, ask_delta)?;
            release_if_empty(&mut positions[i], &mut market);
        }
        return Ok(());
    }

    accounts.exchange.load()?.check_not_paused()?;
    let now = Clock::get()?.unix_timestamp;
    let i = find_or_open_position(positions, &market_key, &mut market)?;
    require_reservation_allowed(&market, positions[i].base_lots, bid_delta, ask_delta)?;
    change_reservation(&mut positions[i].open_bid_lots, bid_delta)?;
    change_reservation(&mut positions[i].open_ask_lots, ask_delta)?;
    let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
    let health = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
    require_initial(&health)
}
