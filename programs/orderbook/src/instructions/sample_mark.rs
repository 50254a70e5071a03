//! `sample_mark`: the permissionless mark crank; reports this book's mid to perpetual once a
//! minute.
use anchor_lang::prelude::*;

use crate::perp_cpi::TraderCall;
use crate::state::{price_of, BookMut, Side};

#[derive(Accounts)]
pub struct SampleMark<'info> {
    /// CHECK: loaded by `BookMut`; must be the market's book.
    pub book: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual market (perpetual checks it and writes the sample).
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the market's oracle (perpetual applies the guard rails).
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the book's exchange.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: this program's approval in perpetual.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's `trader` PDA.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, SampleMark<'info>>) -> Result<()> {
    let a = &*ctx.accounts;
    let (mid, trader_bump) = {
        let book_info: &'info AccountInfo<'info> = a.book.as_ref();
        let mut book = BookMut::load(book_info)?;
        let parts = book.parts()?;
        parts.header.check_venue(a.market.key, a.exchange.key)?;
        let bid = parts.bids.min().map(|(_, k)| price_of(Side::Bid, k));
        let ask = parts.asks.min().map(|(_, k)| price_of(Side::Ask, k));
        let mid = match (bid, ask) {
            // Floor of the mid in quote native per lot.
            (Some(b), Some(s)) => (b as u128 + s as u128)
                .checked_mul(parts.header.tick_size as u128)
                .map(|v| v / 2)
                .and_then(|v| u64::try_from(v).ok()),
            _ => None,
        };
        (mid, parts.header.trader_bump)
    };
    TraderCall {
        exchange: a.exchange.as_ref(),
        approval: a.approval.as_ref(),
        trader_authority: a.trader_authority.as_ref(),
        market: a.market.as_ref(),
        trader_bump,
    }
    .record_mark_sample(a.oracle.as_ref(), mid)
}
