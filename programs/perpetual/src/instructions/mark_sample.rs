//! Mark sampling, once a minute: the order book (an approved trader) reports its mid and
//! `perpetual` records `mid - index` (or `last + mid` without an index) in the market's ring.
use anchor_lang::prelude::*;

use crate::controller::funding::update_index;
use crate::controller::trader_auth::check_trader;
use crate::error::PerpError;
use crate::events::MarkSampled;
use crate::math::mark::{self, MarkSample};
use crate::math::I80F48;
use crate::state::{Exchange, Market};

#[derive(Accounts)]
pub struct RecordMarkSample<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; guard rails apply.
    pub oracle: UncheckedAccount<'info>,
}

/// `mid_per_lot`: the book's mid in quote native per lot, `None` when a side is empty.
/// A second sample in the same minute is refused, so racing keepers sample once.
pub fn handler(ctx: Context<RecordMarkSample>, mid_per_lot: Option<u64>) -> Result<()> {
    let a = &ctx.accounts;
    check_trader(&a.approval, &a.exchange.key(), &a.trader_authority)?;
    let now = Clock::get()?.unix_timestamp;
    let mut m = a.market.load_mut()?;
    require!(!m.is_final_settled(), PerpError::MarketInFinalSettlement);
    // A basis against a frozen index means nothing.
    require!(!m.oracles_down(), PerpError::OraclesDown);
    let (slot, too_early) = mark::sample_slot(now, m.mark_last_sample_ts);
    require!(!too_early, PerpError::MarkSampleTooEarly);

    let prices = update_index(a.market.key(), &mut m, &a.oracle, now)?;
    let mid = mid_per_lot.filter(|p| *p > 0).map(I80F48::from_num);
    // The basis is measured against the accepted index; the raw reading feeds the index's
    // own average, so a jump is refused until that average catches up.
    let index = m.has_index().then_some(prices.index);
    let value = mark::sample_value(index, mid, m.last_trade())?;
    if let Some(value) = value {
        m.mark_samples[slot] = MarkSample {
            value: value.into(),
            index: prices.raw_index.unwrap_or_default().into(),
            ts: now,
            _reserved: [0; 8],
        };
    } else if let Some(raw) = prices.raw_index {
        // No book price: keep the basis of this slot neutral but still track the index.
        m.mark_samples[slot] = MarkSample { value: I80F48::ZERO.into(), index: raw.into(), ts: now, _reserved: [0; 8] };
    }
    m.mark_last_sample_ts = now;
    let (ma, index_ma, count) = mark::moving_averages(&m.mark_samples, now)?;
    m.mark_ma = ma.unwrap_or_default().into();
    m.index_ma = index_ma.unwrap_or_default().into();
    m.mark_sample_count = count;
    let f = mark::funding_fraction(m.funding_rate_ppbh)?;
    let mark_index = m.has_index().then_some(prices.index);
    let mark = mark::mark_price(mark_index, f, ma, m.last_trade()).map_err(|_| error!(PerpError::NoMarkPrice))?;
    m.mark_price = mark.into();
    m.step_stable_price(prices.index)?;
    emit!(MarkSampled {
        market: a.market.key(),
        slot: slot as u8,
        value_bits: value.unwrap_or_default().to_bits(),
        mark_bits: mark.to_bits(),
        index_jumped: prices.jumped(),
        ts: now,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct RegisterBook<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Trader only, once per market: the order-book program names the market's canonical book.
pub fn register_book(ctx: Context<RegisterBook>, book: Pubkey) -> Result<()> {
    check_trader(&ctx.accounts.approval, &ctx.accounts.exchange.key(), &ctx.accounts.trader_authority)?;
    let mut m = ctx.accounts.market.load_mut()?;
    require_keys_eq!(m.book, Pubkey::default(), PerpError::BookAlreadyRegistered);
    m.book = book;
    m.book_trader = ctx.accounts.trader_authority.key();
    Ok(())
}
