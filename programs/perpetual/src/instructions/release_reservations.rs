//! Trader-only release of open-order reservations, without the accounts' signatures:
//! a book removing expired or stale orders gives back what they reserved.
use anchor_lang::prelude::*;

use crate::controller::trader_auth::check_trader;
use crate::error::PerpError;
use crate::state::{find_position, release_if_empty, Exchange, MarginAccountMut, Market};
use crate::trader_api::Release;

#[derive(Accounts)]
pub struct ReleaseReservations<'info> {
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: checked by `check_trader`.
    pub approval: UncheckedAccount<'info>,
    pub trader_authority: Signer<'info>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
}

/// Remaining accounts: the margin accounts that `releases[i].maker_index` point at.
/// Decreases saturate at zero; an account without a position here is skipped.
pub fn handler<'info>(ctx: Context<'info, ReleaseReservations<'info>>, releases: Vec<Release>) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let market_key = ctx.accounts.market.key();
    check_trader(&ctx.accounts.approval, &exchange_key, &ctx.accounts.trader_authority)?;
    let mut market = ctx.accounts.market.load_mut()?;
    for release in &releases {
        let info = ctx
            .remaining_accounts
            .get(release.maker_index as usize)
            .ok_or_else(|| error!(PerpError::MakerIndexOutOfRange))?;
        let mut account = MarginAccountMut::load(info, &exchange_key)?;
        let (_, positions) = account.split_mut();
        if let Some(i) = find_position(positions, &market_key) {
            let pos = &mut positions[i];
            pos.open_bid_lots = pos.open_bid_lots.saturating_sub(release.bid_lots);
            pos.open_ask_lots = pos.open_ask_lots.saturating_sub(release.ask_lots);
            release_if_empty(pos, &mut market);
        }
    }
    Ok(())
}
