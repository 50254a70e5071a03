//! Liquidation by takeover, the dYdX way: any account takes over all or part of a position
//! of an account below maintenance, at the mark less a discount.
use anchor_lang::prelude::*;

use crate::controller::funding::settle_position;
use crate::controller::health::{account_health, require_initial};
use crate::controller::liquidation::{clear_reservations, transfer_position};
use crate::controller::risk_opening::{load_pair, price_live_market, settle_existing_position};
use crate::controller::seat::require_no_seat;
use crate::error::{checked, PerpError};
use crate::events::{InsuranceChanged, InsuranceReason, Liquidated};
use crate::math::fixed_point::{ceil_to_i64, mul_bps};
use crate::math::health::HealthKind;
use crate::math::liquidation::{discounted, lots_to_restore};
use crate::math::I80F48;
use crate::state::{find_or_open_position, release_if_empty, Exchange, Market};

#[derive(Accounts)]
pub struct Liquidate<'info> {
    #[account(mut)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub liquidatee: UncheckedAccount<'info>,
    /// CHECK: loaded by `MarginAccountMut` (owner program, type, exchange).
    #[account(mut)]
    pub liquidator: UncheckedAccount<'info>,
    /// The liquidator account's owner or delegate.
    pub liquidator_authority: Signer<'info>,
}

/// Remaining accounts: the liquidatee's health accounts (`liquidatee_health_count` of them),
/// then the liquidator's.
pub fn handler<'info>(
    ctx: Context<'info, Liquidate<'info>>,
    max_base_lots: u64,
    liquidatee_health_count: u8,
) -> Result<()> {
    let a = &*ctx.accounts;
    let (exchange_key, market_key) = (a.exchange.key(), a.market.key());
    require_keys_neq!(a.liquidatee.key(), a.liquidator.key(), PerpError::SelfLiquidation);
    let n = liquidatee_health_count as usize;
    require!(n <= ctx.remaining_accounts.len(), PerpError::HealthAccountsMismatch);
    let (liquidatee_health, liquidator_health) = ctx.remaining_accounts.split_at(n);
    let now = Clock::get()?.unix_timestamp;

    let mut market = a.market.load_mut()?;
    let priced = price_live_market(market_key, &mut market, &a.oracle, now)?;

    let liquidatee_info: &'info AccountInfo<'info> = a.liquidatee.as_ref();
    let liquidator_info: &'info AccountInfo<'info> = a.liquidator.as_ref();
    let (mut liquidatee, mut liquidator) = load_pair(liquidatee_info, liquidator_info, &exchange_key)?;
    require!(liquidator.header().may_trade(a.liquidator_authority.key), PerpError::NotOwnerOrDelegate);
    let (lq_header, lq_positions) = liquidatee.split_mut();
    let (lr_header, lr_positions) = liquidator.split_mut();

    let before = account_health(lq_header, lq_positions, &[priced], liquidatee_health, now)?;
    require!(before.maintenance < 0, PerpError::NotLiquidatable);
    clear_reservations(liquidatee_info.key, lq_header, lq_positions)?;
    let i = settle_existing_position(liquidatee_info.key, lq_header, lq_positions, &market_key, &mut market)?;
    let cleared_health = account_health(lq_header, lq_positions, &[priced], liquidatee_health, now)?;
    if cleared_health.maintenance >= 0 || lq_positions[i].base_lots == 0 {
        // Cancelling its orders was enough.
        release_if_empty(&mut lq_positions[i], &mut market);
        return Ok(());
    }

    let pos_lots = lq_positions[i].base_lots;
    let long = pos_lots > 0;
    let mm = market.risk_params().margin_bps(pos_lots, HealthKind::Maintenance);
    let needed = lots_to_restore(
        cleared_health.maintenance,
        cleared_health.maint_requirement,
        priced.mark,
        mm,
        market.liquidation_discount_bps,
        market.liquidation_insurance_fee_bps,
        market.liquidation_buffer_bps,
        pos_lots.unsigned_abs(),
    )?;
    let lots = needed.min(max_base_lots).max(1).min(pos_lots.unsigned_abs());
    let price = discounted(priced.mark, long, market.liquidation_discount_bps)?;
    let j = find_or_open_position(lr_positions, &market_key, &mut market)?;
    require_no_seat(&lr_positions[j])?;
    settle_position(liquidator_info.key, &mut lr_header.collateral, &mut lr_positions[j], &market_key, &mut market)?;
    transfer_position(
        &mut market,
        &mut lq_header.collateral,
        &mut lq_positions[i],
        &mut lr_header.collateral,
        &mut lr_positions[j],
        lots,
        price,
    )?;
    let notional = checked(priced.mark.checked_mul(I80F48::from_num(lots)))?;
    let fee = ceil_to_i64(mul_bps(notional, market.liquidation_insurance_fee_bps)?)?;
    lq_header.collateral = checked(lq_header.collateral.checked_sub(fee))?;

    let mut after = account_health(lq_header, lq_positions, &[priced], liquidatee_health, now)?;
    // A shortfall the discount leaves is the insurance fund's to pay; if it cannot, the
    // position must be deleveraged instead.
    let mut exchange = a.exchange.load_mut()?;
    let mut covered = 0u64;
    if after.equity < 0 {
        let shortfall = ceil_to_i64(-after.equity)? as u64;
        require!(shortfall <= exchange.insurance_fund, PerpError::LiquidationWouldBankrupt);
        exchange.insurance_fund -= shortfall;
        lq_header.collateral = checked(lq_header.collateral.checked_add(shortfall as i64))?;
        after = account_health(lq_header, lq_positions, &[priced], liquidatee_health, now)?;
        covered = shortfall;
    }
    require!(covered > 0 || after.ratio_not_worse_than(&cleared_health), PerpError::LiquidationWorsensRatio);
    let liquidator_after = account_health(lr_header, lr_positions, &[priced], liquidator_health, now)?;
    require_initial(&liquidator_after)?;
    release_if_empty(&mut lq_positions[i], &mut market);
    release_if_empty(&mut lr_positions[j], &mut market);

    exchange.insurance_fund = checked(exchange.insurance_fund.checked_add(fee as u64))?;
    emit!(InsuranceChanged {
        exchange: exchange_key,
        delta: fee,
        balance: exchange.insurance_fund,
        reason: InsuranceReason::LiquidationFee
    });
    if covered > 0 {
        emit!(InsuranceChanged {
            exchange: exchange_key,
            delta: -(covered as i64),
            balance: exchange.insurance_fund,
            reason: InsuranceReason::Shortfall
        });
    }
    emit!(Liquidated {
        market: market_key,
        liquidatee: liquidatee_info.key(),
        liquidator: liquidator_info.key(),
        base_lots: if long { lots as i64 } else { -(lots as i64) },
        price_bits: price.to_bits(),
        insurance_fee: fee as u64,
    });
    Ok(())
}
