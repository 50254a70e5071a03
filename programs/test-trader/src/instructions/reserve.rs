//! `reserve`: relays `perpetual::update_reservation`.
use anchor_lang::prelude::*;
use perpetual::cpi::accounts::UpdateReservation;

use crate::relay::{relay, Relay};

pub fn handler<'info>(ctx: Context<'info, Relay<'info>>, bid_delta: i64, ask_delta: i64) -> Result<()> {
    let a = &*ctx.accounts;
    let accounts = UpdateReservation {
        exchange: a.exchange.to_account_info(),
        approval: a.approval.to_account_info(),
        trader_authority: a.trader_authority.to_account_info(),
        market: a.market.to_account_info(),
        oracle: a.oracle.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        account_authority: a.user.to_account_info(),
    };
    relay(ctx.bumps.trader_authority, ctx.remaining_accounts, accounts, |cpi| {
        perpetual::cpi::update_reservation(cpi, bid_delta, ask_delta)
    })
}
