//! Seat allowances and seat settlement, sent by the market's book (`docs/seats.md`).
use anchor_lang::prelude::*;

use crate::controller::funding::update_index;
use crate::controller::health::{account_health, require_initial, PricedMarket};
use crate::controller::seat::{require_book_trader, settle_seat};
use crate::controller::trade::require_reservation_allowed;
use crate::controller::trader_auth::check_trader;
use crate::error::{checked, PerpError};
use crate::events::SeatAllowanceSet;
use crate::state::{
    find_or_open_position, find_position, release_if_empty, Exchange, MarginAccountMut, Market, Position,
};
use crate::trader_api::{AllowanceChange, SeatAllowanceArgs, SeatPending};

#[derive(Accounts)]
pub struct SetSeatAllowance<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    /// The `trader` PDA of the program that registered the market's book.
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The account's owner or delegate for `AllowanceChange::Owner`; anyone otherwise.
    pub authority: Signer<'info>,
}

/// True when the new allowance lets the book fill more, or at a price worse for the account.
fn grows(pos: &Position, args: &SeatAllowanceArgs) -> (bool, bool) {
    let bid = args.bid_lots > pos.seat_bid_lots || (args.bid_lots > 0 && args.bid_limit > pos.seat_bid_limit);
    let ask = args.ask_lots > pos.seat_ask_lots || (args.ask_lots > 0 && args.ask_limit < pos.seat_ask_limit);
    (bid, ask)
}

/// Settles the seat's pending fills, then sets its allowance. Remaining accounts: the
/// account's health accounts (for a growth or a revoke).
pub fn set_seat_allowance<'info>(ctx: Context<'info, SetSeatAllowance<'info>>, args: SeatAllowanceArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let market_key = accounts.market.key();
    check_trader(&accounts.approval, &exchange_key, &accounts.trader_authority)?;
    let now = Clock::get()?.unix_timestamp;
    let mut market = accounts.market.load_mut()?;
    require_book_trader(&market, accounts.trader_authority.key)?;
    update_index(market_key, &mut market, &accounts.oracle, now)?;

    let info: &'info AccountInfo<'info> = accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    let i = match args.change {
        AllowanceChange::Owner => {
            require!(header.may_trade(accounts.authority.key), PerpError::NotOwnerOrDelegate);
            find_or_open_position(positions, &market_key, &mut market)?
        }
        AllowanceChange::Revoke | AllowanceChange::Reclaim => {
            find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?
        }
    };
    settle_seat(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut market, &args.pending)?;

    let (bid_grows, ask_grows) = grows(&positions[i], &args);
    let (bid_lots, ask_lots) = match args.change {
        AllowanceChange::Owner => (args.bid_lots, args.ask_lots),
        AllowanceChange::Revoke | AllowanceChange::Reclaim => (0, 0),
    };
    let check_growth = args.change == AllowanceChange::Owner && (bid_grows || ask_grows);
    if check_growth {
        accounts.exchange.load()?.check_not_paused()?;
        let base = positions[i].base_lots;
        let bid_delta = if bid_grows { checked(i64::try_from(bid_lots).ok())? } else { 0 };
        let ask_delta = if ask_grows { checked(i64::try_from(ask_lots).ok())? } else { 0 };
        require_reservation_allowed(&market, base, bid_delta, ask_delta)?;
    }
    if args.change == AllowanceChange::Revoke && !market.is_final_settled() {
        // Below maintenance with the allowance still counted, as liquidation requires.
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let health = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
        require!(health.maintenance < 0, PerpError::SeatNotRevocable);
    }

    let pos = &mut positions[i];
    pos.seat_bid_lots = bid_lots;
    pos.seat_ask_lots = ask_lots;
    pos.seat_bid_limit = if bid_lots > 0 { args.bid_limit } else { 0 };
    pos.seat_ask_limit = if ask_lots > 0 { args.ask_limit } else { 0 };
    pos.seat_funding_variation = market.funding_variation;
    if check_growth {
        let priced = PricedMarket::new(market_key, &market, Some(&accounts.oracle), now)?;
        let health = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
        require_initial(&health)?;
    }
    let pos = &mut positions[i];
    emit!(SeatAllowanceSet {
        market: market_key,
        margin_account: *info.key,
        change: args.change,
        bid_lots: pos.seat_bid_lots,
        ask_lots: pos.seat_ask_lots,
        bid_limit: pos.seat_bid_limit,
        ask_limit: pos.seat_ask_limit,
    });
    release_if_empty(pos, &mut market);
    Ok(())
}

#[derive(Accounts)]
pub struct SettleSeats<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    /// The `trader` PDA of the program that registered the market's book.
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Settles seats' pending fills at the market's stored funding index (no oracle needed).
/// Remaining accounts: the margin accounts, one per entry of `pending`, in order.
pub fn settle_seats<'info>(ctx: Context<'info, SettleSeats<'info>>, pending: Vec<SeatPending>) -> Result<()> {
    let accounts = &*ctx.accounts;
    let exchange_key = accounts.exchange.key();
    let market_key = accounts.market.key();
    check_trader(&accounts.approval, &exchange_key, &accounts.trader_authority)?;
    require!(pending.len() == ctx.remaining_accounts.len(), PerpError::SeatAccountsMismatch);
    let mut market = accounts.market.load_mut()?;
    require_book_trader(&market, accounts.trader_authority.key)?;
    for (info, p) in ctx.remaining_accounts.iter().zip(&pending) {
        let mut account = MarginAccountMut::load(info, &exchange_key)?;
        let (header, positions) = account.split_mut();
        let i = find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
        settle_seat(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut market, p)?;
        release_if_empty(&mut positions[i], &mut market);
    }
    Ok(())
}
