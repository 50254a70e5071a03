//! `settle`: relays `perpetual::settle_fills`.
use anchor_lang::prelude::*;
use perpetual::cpi::accounts::SettleFills;
use perpetual::trader_api::SettleFillsArgs;

use crate::relay::{relay, Relay};

pub fn handler<'info>(ctx: Context<'info, Relay<'info>>, args: SettleFillsArgs) -> Result<()> {
    let a = &*ctx.accounts;
    let accounts = SettleFills {
        exchange: a.exchange.to_account_info(),
        approval: a.approval.to_account_info(),
        trader_authority: a.trader_authority.to_account_info(),
        market: a.market.to_account_info(),
        oracle: a.oracle.to_account_info(),
        taker: a.margin_account.to_account_info(),
        taker_authority: a.user.to_account_info(),
    };
    relay(ctx.bumps.trader_authority, ctx.remaining_accounts, accounts, |cpi| perpetual::cpi::settle_fills(cpi, args))
}
