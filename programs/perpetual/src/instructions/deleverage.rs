//! Deleveraging. An underwater account (negative equity) is offset against an account with
//! an opposite position at least as large, at its bankruptcy price, after the insurance fund
//! has paid what it can.
use anchor_lang::prelude::*;

use crate::controller::health::account_health;
use crate::controller::liquidation::{clear_reservations, settle_counterparty, transfer_position};
use crate::controller::risk_opening::{load_pair, price_live_market, settle_existing_position};
use crate::error::{checked, PerpError};
use crate::events::{DeleverageKind, Deleveraged};
use crate::math::I80F48;
use crate::state::{release_if_empty, Exchange, Market};

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
    let priced = price_live_market(market_key, &mut market, &a.oracle, now)?;

    let info: &'info AccountInfo<'info> = a.margin_account.as_ref();
    let cp_info: &'info AccountInfo<'info> = a.counterparty.as_ref();
    let (mut account, mut counterparty) = load_pair(info, cp_info, &exchange_key)?;
    let (header, positions) = account.split_mut();
    let (cp_header, cp_positions) = counterparty.split_mut();
    let i = settle_existing_position(info.key, header, positions, &market_key, &mut market)?;
    let h = account_health(header, positions, &[priced], ctx.remaining_accounts, now)?;
    require!(h.equity < 0, PerpError::NotUnderwater);
    let allowed = a.authority.key() == authority
        || (header.underwater_since != 0 && now >= header.underwater_since.saturating_add(timelock));
    require!(allowed, PerpError::DeleverageNotAllowed);
    require!(insurance == 0, PerpError::InsufficientInsurance);

    let j = settle_counterparty(&positions[i], cp_info.key, cp_header, cp_positions, lots, &market_key, &mut market)?;
    clear_reservations(info.key, header, positions)?;
    let pos_lots = positions[i].base_lots;
    // mark - equity / position: above the mark for a long, below it for a short.
    let price = checked(h.equity.checked_div(I80F48::from_num(pos_lots)).and_then(|d| priced.mark.checked_sub(d)))?;
    require!(price > 0, PerpError::NonPositiveMarkPrice);
    transfer_position(
        &mut market,
        &mut header.collateral,
        &mut positions[i],
        &mut cp_header.collateral,
        &mut cp_positions[j],
        lots,
        price,
    )?;
    release_if_empty(&mut positions[i], &mut market);
    release_if_empty(&mut cp_positions[j], &mut market);
    emit!(Deleveraged {
        market: market_key,
        account: info.key(),
        counterparty: cp_info.key(),
        base_lots: if pos_lots > 0 { lots as i64 } else { -(lots as i64) },
        price_bits: price.to_bits(),
        kind: if a.authority.key() == authority { DeleverageKind::ByAuthority } else { DeleverageKind::AfterTimelock },
        fee_to_counterparty: 0,
    });
    Ok(())
}
