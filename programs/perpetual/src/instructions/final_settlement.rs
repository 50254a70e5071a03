//! Final settlement: a one-way switch per market that locks price and funding index. After
//! it, positions close at the locked price (anyone may close them) and withdrawals work.
//! When nothing refers to the market any more, it closes and the lister gets rent and
//! deposit back.
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::controller::funding::settle_position;
use crate::controller::funding::update_index;
use crate::controller::governance::authorize_change;
use crate::controller::seat::require_no_seat;
use crate::controller::vault::pay_out;
use crate::error::{checked, PerpError};
use crate::events::{
    InsuranceChanged, InsuranceReason, MarketClosed, MarketSettled, PositionSettled, ReservationsCleared,
};
use crate::math::fixed_point::floor_to_i64;
use crate::math::I80F48;
use crate::state::GovAction;
use crate::state::{find_position, release_if_empty, Exchange, MarginAccountMut, Market, MarketStatus};

#[derive(Accounts)]
pub struct FinalSettleMarket<'info> {
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
}

/// Admin: locks the market at the index (the mark without one), which must lie within
/// `[lo, hi]` quote native per lot, so a stale or manipulated reading cannot settle it.
pub fn final_settle(ctx: Context<FinalSettleMarket>, lo_per_lot: u64, hi_per_lot: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let key = ctx.accounts.market.key();
    authorize_change(
        &ctx.accounts.exchange,
        ctx.remaining_accounts,
        GovAction::FinalSettleMarket,
        &key,
        &(lo_per_lot, hi_per_lot),
    )?;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_final_settled(), PerpError::MarketInFinalSettlement);
    let prices = update_index(key, &mut m, &ctx.accounts.oracle, now)?;
    require!(!prices.jumped(), PerpError::IndexJumped);
    // Whole quote units per lot, so every position closes exactly and the closes sum to zero.
    let price = I80F48::from_num(floor_to_i64(prices.index)?);
    require!(
        price >= I80F48::from_num(lo_per_lot) && price <= I80F48::from_num(hi_per_lot),
        PerpError::SettlementPriceOutsideBand
    );
    m.settlement_price.set(price);
    m.status = MarketStatus::FinalSettlement as u8;
    emit!(MarketSettled { market: key, price_bits: price.to_bits() });
    Ok(())
}

#[derive(Accounts)]
pub struct SettleFinalPosition<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
}

/// Anyone: closes an account's position in a settled market at the locked price, once
/// (the slot is released, so a second call finds no position).
pub fn settle_final_position<'info>(ctx: Context<'info, SettleFinalPosition<'info>>) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let mut m = ctx.accounts.market.load_mut()?;
    require!(m.is_final_settled(), PerpError::MarketNotSettled);
    let info: &'info AccountInfo<'info> = ctx.accounts.margin_account.as_ref();
    let mut account = MarginAccountMut::load(info, &m.exchange)?;
    let (header, positions) = account.split_mut();
    let i = find_position(positions, &market_key).ok_or_else(|| error!(PerpError::NoPositionInMarket))?;
    require_no_seat(&positions[i])?;
    settle_position(info.key, &mut header.collateral, &mut positions[i], &market_key, &mut m)?;
    let pos = &mut positions[i];
    let lots = pos.base_lots;
    // The locked price is whole, so the value is exact: longs receive it, shorts pay it.
    let price = checked(m.settlement_price.get().checked_to_num::<i64>())?;
    let change = checked(price.checked_mul(lots))?;
    header.collateral = checked(header.collateral.checked_add(change))?;
    if lots > 0 {
        m.open_interest_lots = m.open_interest_lots.saturating_sub(lots as u64);
    }
    let reserved = pos.open_bid_lots + pos.open_ask_lots;
    if reserved > 0 {
        emit!(ReservationsCleared { margin_account: info.key(), lots: reserved });
    }
    pos.base_lots = 0;
    pos.open_bid_lots = 0;
    pos.open_ask_lots = 0;
    release_if_empty(pos, &mut m);
    emit!(PositionSettled {
        market: market_key,
        margin_account: info.key(),
        base_lots: lots,
        collateral_change: change
    });
    Ok(())
}

#[derive(Accounts)]
pub struct CloseMarket<'info> {
    /// Receives the market's rent.
    #[account(mut, address = market.load()?.lister @ PerpError::WrongAccount)]
    pub lister: SystemAccount<'info>,
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange, close = lister)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: the market's registered book, which must already be closed: a book left open
    /// would still name this address if the symbol were listed again.
    #[account(address = market.load()?.book @ PerpError::WrongAccount)]
    pub book: UncheckedAccount<'info>,
    #[account(mut, address = exchange.load()?.vault @ PerpError::WrongAccount)]
    pub vault: Account<'info, TokenAccount>,
    /// The lister's token account for the deposit.
    #[account(mut, constraint = lister_token.mint == collateral_mint.key() @ PerpError::WrongMint, constraint = lister_token.owner == lister.key() @ PerpError::WrongAccount)]
    pub lister_token: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint @ PerpError::WrongMint)]
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
}

/// Anyone, once a settled market has no position slot left: sweeps its fees and funding
/// dust into the exchange, returns the listing deposit and closes the account (rent to the
/// lister).
pub fn close_market(ctx: Context<CloseMarket>) -> Result<()> {
    let a = &ctx.accounts;
    let (deposit, swept) = {
        let m = a.market.load()?;
        require!(m.is_final_settled(), PerpError::MarketNotSettled);
        require!(
            m.open_slots == 0
                && m.open_interest_lots == 0
                && m.funding_pool >= 0
                && m.fees_accrued >= 0
                && m.insurance_accrued >= 0
                && m.pending_seat_lots == 0
                && m.pending_seat_cash == 0,
            PerpError::MarketNotEmpty
        );
        require!(m.book == Pubkey::default() || a.book.lamports() == 0, PerpError::MarketNotEmpty);
        (m.listing_deposit, (checked(m.fees_accrued.checked_add(m.funding_pool))? as u64, m.insurance_accrued as u64))
    };
    {
        let mut e = a.exchange.load_mut()?;
        e.fee_balance = checked(e.fee_balance.checked_add(swept.0))?;
        e.insurance_fund = checked(e.insurance_fund.checked_add(swept.1))?;
    }
    if deposit > 0 {
        pay_out(&a.exchange, a.vault.as_ref(), a.lister_token.as_ref(), &a.collateral_mint, deposit)?;
    }
    if swept.1 > 0 {
        let balance = a.exchange.load()?.insurance_fund;
        emit!(InsuranceChanged {
            exchange: a.exchange.key(),
            delta: swept.1 as i64,
            balance,
            reason: InsuranceReason::LiquidationFee
        });
    }
    emit!(MarketClosed { market: a.market.key(), deposit_returned: deposit });
    Ok(())
}
