//! Deleveraging. An underwater account (negative equity) is offset against an account with
//! an opposite position at least as large, at its bankruptcy price, after the insurance fund
//! has paid what it can. Early deleveraging offsets a liquidatable account at the mark when
//! the book is too thin to liquidate it without the insurance fund paying.
use anchor_lang::prelude::*;

use crate::controller::funding::settle_position;
use crate::controller::health::{account_health, AccountHealth, PricedMarket};
use crate::controller::liquidation::{clear_reservations, early_deleverage_fee, transfer_position};
use crate::error::{checked, PerpError};
use crate::events::{Deleveraged, InsuranceChanged, ReservationsCleared, UnderwaterMarked};
use crate::instructions::funding::update_index;
use crate::instructions::trader_auth::check_trader;
use crate::math::fixed_point::{ceil_to_i64, floor_to_i64};
use crate::math::I80F48;
use crate::state::{find_position, release_if_empty, Exchange, MarginAccountMut, Market, MarketStatus, Position};

#[derive(Accounts)]
pub struct CheckAccount<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// The deleveraging authority for `cover_with_insurance`; anyone for `mark_underwater`.
    pub authority: Signer<'info>,
}

fn health_of<'info>(info: &'info AccountInfo<'info>, exchange: &Pubkey, health: &'info [AccountInfo<'info>], now: i64) -> Result<(MarginAccountMut<'info>, AccountHealth)> {
    let account = MarginAccountMut::load(info, exchange)?;
    let h = account_health(account.header(), account.positions(), &[], health, now)?;
    Ok((account, h))
}

/// Anyone: marks an underwater account (starting the time lock after which anyone may
/// deleverage it), or clears the mark of one that has recovered.
/// Remaining accounts: the account's health accounts.
pub fn mark_underwater<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let info: &'info AccountInfo<'info> = ctx.accounts.margin_account.as_ref();
    let (mut account, h) = health_of(info, &ctx.accounts.exchange.key(), ctx.remaining_accounts, now)?;
    let header = account.header_mut();
    if h.equity < 0 {
        if header.underwater_since == 0 {
            header.underwater_since = now;
            emit!(UnderwaterMarked { margin_account: info.key(), since: now });
        }
        return Ok(());
    }
    require!(header.underwater_since != 0, PerpError::NotUnderwater);
    header.underwater_since = 0;
    emit!(UnderwaterMarked { margin_account: info.key(), since: 0 });
    Ok(())
}

/// Deleveraging authority: the insurance fund pays an underwater account's deficit, as far
/// as it can. Remaining accounts: the account's health accounts.
pub fn cover_with_insurance<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &*ctx.accounts;
    let mut exchange = a.exchange.load_mut()?;
    require_keys_eq!(exchange.deleverage_authority, a.authority.key(), PerpError::DeleverageNotAllowed);
    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let (mut account, h) = health_of(info, &a.exchange.key(), ctx.remaining_accounts, now)?;
    require!(h.equity < 0, PerpError::NotUnderwater);
    let deficit = ceil_to_i64(-h.equity)? as u64;
    let paid = deficit.min(exchange.insurance_fund);
    require!(paid > 0, PerpError::InsufficientInsurance);
    exchange.insurance_fund -= paid;
    let header = account.header_mut();
    header.collateral = checked(header.collateral.checked_add(paid as i64))?;
    if paid == deficit {
        header.underwater_since = 0;
    }
    emit!(InsuranceChanged { exchange: a.exchange.key(), delta: -(paid as i64), balance: exchange.insurance_fund, reason: 3 });
    Ok(())
}

#[derive(Accounts)]
pub struct Deleverage<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the underwater account; loaded by `MarginAccountMut`.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: the offsetting account; loaded by `MarginAccountMut`.
    #[account(mut)]
    pub counterparty: UncheckedAccount<'info>,
    /// The deleveraging authority, or anyone once the account's time lock has passed.
    pub authority: Signer<'info>,
}

/// Checks the counterparty holds an opposite position of at least `lots`.
fn check_counterparty(pos: &Position, cp: Option<&Position>, lots: u64) -> Result<()> {
    let cp = cp.ok_or_else(|| error!(PerpError::InvalidCounterparty))?;
    require!(
        cp.base_lots != 0 && (cp.base_lots > 0) != (pos.base_lots > 0) && cp.base_lots.unsigned_abs() >= lots,
        PerpError::InvalidCounterparty
    );
    Ok(())
}

/// Offsets `lots` of the underwater account's position in this market against the
/// counterparty at the bankruptcy price `mark - equity / position`: the price at which the
/// account's deficit is spread over its position, so after offsetting everything its equity
/// is zero and the counterparty absorbs the loss. The insurance fund must be spent first.
/// Remaining accounts: the underwater account's health accounts (skipping this market).
pub fn deleverage<'info>(ctx: Context<'info, Deleverage<'info>>, lots: u64) -> Result<()> {
    let a = &*ctx.accounts;
    let (exchange_key, market_key) = (a.exchange.key(), a.market.key());
    require_keys_neq!(a.margin_account.key(), a.counterparty.key(), PerpError::SelfLiquidation);
    let now = Clock::get()?.unix_timestamp;
    let (authority, timelock, insurance) = {
        let e = a.exchange.load()?;
        (e.deleverage_authority, e.deleverage_timelock_secs, e.insurance_fund)
    };
    let mut market = a.market.load_mut()?;
    require!(market.status != MarketStatus::FinalSettlement as u8, PerpError::MarketInFinalSettlement);
    update_index(market_key, &mut market, &a.oracle, now)?;
    let priced = PricedMarket::new(market_key, &market, Some(&a.oracle), now)?;

    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let cp_info: &'info AccountInfo<'info> = a.counterparty.as_ref();
    let mut account = MarginAccountMut::load(info, &exchange_key)?;
    let mut counterparty = MarginAccountMut::load(cp_info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    let (cp_header, cp_positions) = counterparty.split_mut();
    let i = find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
    settle_position(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut market)?;
    let h = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
    require!(h.equity < 0, PerpError::NotUnderwater);
    let allowed = a.authority.key() == authority
        || (header.underwater_since != 0 && now >= header.underwater_since.saturating_add(timelock));
    require!(allowed, PerpError::DeleverageNotAllowed);
    require!(insurance == 0, PerpError::InsufficientInsurance);

    let j = find_position(cp_positions, &market_key);
    check_counterparty(&positions[i], j.map(|j| &cp_positions[j]), lots)?;
    let j = j.ok_or_else(|| error!(PerpError::InvalidCounterparty))?;
    settle_position(cp_info.key, &mut cp_header.collateral, &mut cp_positions[j], &market_key, &mut market)?;
    let cleared = clear_reservations(header, positions);
    if cleared > 0 {
        emit!(ReservationsCleared { margin_account: info.key(), lots: cleared });
    }
    let pos_lots = positions[i].base_lots;
    // mark - equity / position: above the mark for a long, below it for a short.
    let price = checked(h.equity.checked_div(I80F48::from_num(pos_lots)).and_then(|d| priced.mark.checked_sub(d)))?;
    require!(price > 0, PerpError::NonPositiveMarkPrice);
    transfer_position(&mut market, &mut header.collateral, &mut positions[i], &mut cp_header.collateral, &mut cp_positions[j], lots, price)?;
    release_if_empty(&mut positions[i], &mut market);
    release_if_empty(&mut cp_positions[j], &mut market);
    emit!(Deleveraged {
        market: market_key,
        account: info.key(),
        counterparty: cp_info.key(),
        base_lots: if pos_lots > 0 { lots as i64 } else { -(lots as i64) },
        price_bits: price.to_bits(),
        kind: if a.authority.key() == authority { 0 } else { 1 },
        fee_to_counterparty: 0,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct EarlyDeleverage<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the liquidatable account; loaded by `MarginAccountMut`.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: the absorbing account; loaded by `MarginAccountMut`.
    #[account(mut)]
    pub counterparty: UncheckedAccount<'info>,
    /// The deleveraging authority, whose keeper ranks the absorbing accounts.
    pub authority: Signer<'info>,
}

/// Trader only (the order book, which estimates `book_price_per_lot` by walking itself for
/// `lots`; 0 for a long or `u64::MAX` for a short when the book cannot fill them).
/// Refused unless the account is below maintenance, closing through the book would execute
/// worse than the mark, and the account's equity cannot cover that loss plus the fee. Then
/// `lots` are offset against the counterparty at the mark, and half the liquidation fee
/// (discount plus insurance fee) goes to the counterparty, half to the insurance fund.
/// The mark is chosen, not the bankruptcy price, because the account is not yet bankrupt
/// at the mark: only the thin book would have made it so, and the point of early
/// deleveraging is that nobody pays for that thinness.
pub fn early_deleverage<'info>(ctx: Context<'info, EarlyDeleverage<'info>>, lots: u64, book_price_per_lot: u64) -> Result<()> {
    let a = &*ctx.accounts;
    let (exchange_key, market_key) = (a.exchange.key(), a.market.key());
    check_trader(&a.approval, &exchange_key, &a.trader_authority)?;
    require_keys_eq!(a.exchange.load()?.deleverage_authority, a.authority.key(), PerpError::DeleverageNotAllowed);
    require_keys_neq!(a.margin_account.key(), a.counterparty.key(), PerpError::SelfLiquidation);
    let now = Clock::get()?.unix_timestamp;
    let mut market = a.market.load_mut()?;
    require!(market.status != MarketStatus::FinalSettlement as u8, PerpError::MarketInFinalSettlement);
    update_index(market_key, &mut market, &a.oracle, now)?;
    let priced = PricedMarket::new(market_key, &market, Some(&a.oracle), now)?;

    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let cp_info: &'info AccountInfo<'info> = a.counterparty.as_ref();
    let mut account = MarginAccountMut::load(info, &exchange_key)?;
    let mut counterparty = MarginAccountMut::load(cp_info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    let (cp_header, cp_positions) = counterparty.split_mut();
    let i = find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
    settle_position(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut market)?;
    let h = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
    require!(h.maintenance < 0, PerpError::NotLiquidatable);
    let pos_lots = positions[i].base_lots;
    require!(lots > 0 && lots <= pos_lots.unsigned_abs(), PerpError::LiquidationMustReduce);

    let mark = priced.mark;
    let fee_bps = market.liquidation_discount_bps.saturating_add(market.liquidation_insurance_fee_bps);
    let full_fee = early_deleverage_fee(h.equity, mark, book_price_per_lot, pos_lots > 0, lots, fee_bps)?
        .ok_or_else(|| error!(PerpError::EarlyDeleverageNotNeeded))?;
    // Offsetting at the mark leaves equity as it was; the fee never takes more than that, so
    // nobody else's collateral pays it.
    let fee = full_fee.min(floor_to_i64(h.equity.max(I80F48::ZERO))?);

    let j = find_position(cp_positions, &market_key);
    check_counterparty(&positions[i], j.map(|j| &cp_positions[j]), lots)?;
    let j = j.ok_or_else(|| error!(PerpError::InvalidCounterparty))?;
    settle_position(cp_info.key, &mut cp_header.collateral, &mut cp_positions[j], &market_key, &mut market)?;
    let cleared = clear_reservations(header, positions);
    if cleared > 0 {
        emit!(ReservationsCleared { margin_account: info.key(), lots: cleared });
    }
    transfer_position(&mut market, &mut header.collateral, &mut positions[i], &mut cp_header.collateral, &mut cp_positions[j], lots, mark)?;
    let to_counterparty = floor_to_i64(I80F48::from_num(fee) / 2)?;
    header.collateral = checked(header.collateral.checked_sub(fee))?;
    cp_header.collateral = checked(cp_header.collateral.checked_add(to_counterparty))?;
    release_if_empty(&mut positions[i], &mut market);
    release_if_empty(&mut cp_positions[j], &mut market);
    let mut exchange = a.exchange.load_mut()?;
    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add((fee - to_counterparty) as u64))?;
    emit!(InsuranceChanged { exchange: exchange_key, delta: fee - to_counterparty, balance: exchange.insurance_fund, reason: 2 });
    emit!(Deleveraged {
        market: market_key,
        account: info.key(),
        counterparty: cp_info.key(),
        base_lots: if pos_lots > 0 { lots as i64 } else { -(lots as i64) },
        price_bits: mark.to_bits(),
        kind: 2,
        fee_to_counterparty: to_counterparty as u64,
    });
    Ok(())
}
