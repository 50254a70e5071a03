//! Early deleveraging: a liquidatable account is offset at the mark when the book is too
//! thin to liquidate it without the insurance fund paying.
use anchor_lang::prelude::*;

use crate::controller::health::account_health;
use crate::controller::liquidation::{clear_reservations, settle_counterparty, transfer_position};
use crate::controller::risk_opening::{load_pair, price_live_market, settle_existing_position};
use crate::controller::trader_auth::check_trader;
use crate::error::{checked, PerpError};
use crate::events::{DeleverageKind, Deleveraged, InsuranceChanged, InsuranceReason};
use crate::math::fixed_point::floor_to_i64;
use crate::math::liquidation::early_deleverage_fee;
use crate::math::I80F48;
use crate::state::{release_if_empty, Exchange, Market};

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
pub fn early_deleverage<'info>(
    ctx: Context<'info, EarlyDeleverage<'info>>,
    lots: u64,
    book_price_per_lot: u64,
) -> Result<()> {
    let a = &*ctx.accounts;
    let (exchange_key, market_key) = (a.exchange.key(), a.market.key());
    check_trader(&a.approval, &exchange_key, &a.trader_authority)?;
    require_keys_eq!(a.exchange.load()?.deleverage_authority, a.authority.key(), PerpError::DeleverageNotAllowed);
    require_keys_neq!(a.margin_account.key(), a.counterparty.key(), PerpError::SelfLiquidation);
    let now = Clock::get()?.unix_timestamp;
    let mut market = a.market.load_mut()?;
    let priced = price_live_market(market_key, &mut market, &a.oracle, now)?;

    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let cp_info: &'info AccountInfo<'info> = a.counterparty.as_ref();
    let (mut account, mut counterparty) = load_pair(info, cp_info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    let (cp_header, cp_positions) = counterparty.split_mut();
    let i = settle_existing_position(info.key, header, positions, &market_key, &mut market)?;
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

    let j = settle_counterparty(&positions[i], cp_info.key, cp_header, cp_positions, lots, &market_key, &mut market)?;
    clear_reservations(info.key, header, positions)?;
    transfer_position(
        &mut market,
        &mut header.collateral,
        &mut positions[i],
        &mut cp_header.collateral,
        &mut cp_positions[j],
        lots,
        mark,
    )?;
    let to_counterparty = floor_to_i64(I80F48::from_num(fee) / 2)?;
    header.collateral = checked(header.collateral.checked_sub(fee))?;
    cp_header.collateral = checked(cp_header.collateral.checked_add(to_counterparty))?;
    release_if_empty(&mut positions[i], &mut market);
    release_if_empty(&mut cp_positions[j], &mut market);
    let mut exchange = a.exchange.load_mut()?;
    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add((fee - to_counterparty) as u64))?;
    emit!(InsuranceChanged {
        exchange: exchange_key,
        delta: fee - to_counterparty,
        balance: exchange.insurance_fund,
        reason: InsuranceReason::LiquidationFee
    });
    emit!(Deleveraged {
        market: market_key,
        account: info.key(),
        counterparty: cp_info.key(),
        base_lots: if pos_lots > 0 { lots as i64 } else { -(lots as i64) },
        price_bits: mark.to_bits(),
        kind: DeleverageKind::Early,
        fee_to_counterparty: to_counterparty as u64,
    });
    Ok(())
}
