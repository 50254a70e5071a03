//! # perpetual
//!
//! The dYdX perpetual protocol on Solana: one collateral token in a program-owned vault,
//! cross-margin accounts holding positions in many markets, a global funding index per
//! market, and trades that come only from approved trader programs (the order book is one).
//!
//! Public surface, for integrators and the keeper (`no-entrypoint` / `cpi` features):
//! - [`state`]: the zero-copy accounts, their seeds and small methods, and the typed
//!   enums stored in them;
//! - [`math`]: pure fixed-point math (health, funding, fees, mark, VaR, liquidation);
//! - [`params`]: every bound and default the program enforces;
//! - [`trader_api`]: the contract of an approved trader program (fills, results, seeds);
//! - [`health`]: an account's health the way the program computes it;
//! - [`sdk`] (off-chain only): PDAs and one instruction builder per instruction;
//! - [`events`] and [`error`]: what the program emits and refuses with.
//!
//! Inside: `instructions/` pairs each instruction's account checks with its handler and
//! nothing else; `controller/` (crate-private) holds the rules they share (funding, trade,
//! health, the margin rule, liquidation, trader and governance authorisation); `runtime`
//! holds Solana utilities (PDA creation, return data).
//!
//! Governance: the admin may be any key (a multisig, or a governance program's PDA acting
//! by CPI). Risky changes (marked "time-locked" below) need, once the exchange has a
//! delay, a matured proposal as their first remaining account: `queue_proposal`, wait,
//! send the change; `cancel_proposal` while queued. Bounds are checked when it runs. The
//! pause guardian pauses a market or the exchange at once; only the admin unpauses.
//!
//! Health accounts: an instruction that checks a margin account's health takes, as its
//! trailing remaining accounts, one (market, oracle) pair for every non-free position slot
//! in slot order, skipping any market the instruction already takes.

use anchor_lang::prelude::*;

mod controller;
pub mod error;
pub mod events;
pub mod instructions;
pub mod math;
pub mod params;
pub mod runtime;
mod shared_accounts;
pub mod state;
pub mod trader_api;

/// An account's health as the program computes it: from accounts (on-chain), or from
/// markets already priced (the keeper).
pub mod health {
    pub use crate::controller::health::{
        account_health, health_from_priced, require_initial, AccountHealth, PricedMarket,
    };
}

use instructions::*;
pub use shared_accounts::*;
pub use state::{CreateMarketArgs, MarketStatus, OracleKind, OracleSlot, OracleSource};
pub use trader_api::{
    AllowanceChange, BookTakeArgs, Fill, FillResult, Release, SeatAllowanceArgs, SeatPending, SettleFillsArgs, Side,
};

declare_id!("6anbDQNCcVh2f6okexjaX1VGj6tEnizJ1kV5UTBS8Zhi");

#[program]
pub mod perpetual {
    use super::*;

    // ---- exchange governance ----

    /// Upgrade authority: creates the exchange for one collateral mint, with its vault,
    /// admin and authorities (no one else can occupy the mint's exchange address).
    pub fn initialize_exchange(ctx: Context<InitializeExchange>, args: InitializeExchangeArgs) -> Result<()> {
        instructions::initialize_exchange::handler(ctx, args)
    }

    /// Admin: queues a risky change (`governance::payload`); it may run after the delay.
    pub fn queue_proposal(ctx: Context<QueueProposal>, payload: Vec<u8>) -> Result<()> {
        instructions::governance::queue(ctx, payload)
    }

    /// Admin: cancels a queued proposal (or reclaims an executed one's rent).
    pub fn cancel_proposal(ctx: Context<CancelProposal>) -> Result<()> {
        instructions::governance::cancel(ctx)
    }

    /// Admin, time-locked: the governance delay, within `[MIN, MAX]_TIMELOCK_SECS`.
    pub fn set_timelock<'info>(ctx: Context<'info, AdminOnly<'info>>, delay_secs: i64) -> Result<()> {
        instructions::governance::set_timelock(ctx, delay_secs)
    }

    /// Admin, time-locked: replaces any of the funding, risk, pause and deleveraging authorities.
    pub fn set_authorities(ctx: Context<AdminOnly>, args: SetAuthoritiesArgs) -> Result<()> {
        instructions::set_authorities::handler(ctx, args)
    }

    /// Admin, time-locked: proposes a new admin, who must accept.
    pub fn propose_admin(ctx: Context<AdminOnly>, new_admin: Pubkey) -> Result<()> {
        instructions::admin_transfer::propose(ctx, new_admin)
    }

    /// The proposed admin takes over.
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::admin_transfer::accept(ctx)
    }

    /// Guardian or admin pauses the exchange; only the admin unpauses.
    pub fn set_exchange_paused(ctx: Context<GuardianAction>, paused: bool) -> Result<()> {
        instructions::pause::set_exchange_paused(ctx, paused)
    }

    /// Admin, time-locked: approves a trader program (its `trader` PDA may then settle fills).
    pub fn approve_trader(ctx: Context<ApproveTrader>) -> Result<()> {
        instructions::traders::approve(ctx)
    }

    /// Admin, time-locked: revokes a trader program.
    pub fn revoke_trader(ctx: Context<RevokeTrader>) -> Result<()> {
        instructions::traders::revoke(ctx)
    }

    // ---- oracles and markets ----

    /// Creates a settable price oracle owned by its authority.
    pub fn create_price_oracle(ctx: Context<CreatePriceOracle>, symbol: [u8; 16], expo: i32) -> Result<()> {
        instructions::price_oracle::create(ctx, symbol, expo)
    }

    /// The oracle's authority writes a price, stamped with the cluster clock.
    pub fn set_oracle_price(ctx: Context<SetOraclePrice>, price: i64, conf: u64) -> Result<()> {
        instructions::price_oracle::set_price(ctx, price, conf)
    }

    /// Admin, time-locked: replaces the market's primary or fallback oracle (or removes the
    /// fallback), with its guard rails.
    pub fn set_oracle(ctx: Context<SetOracle>, args: SetOracleArgs) -> Result<()> {
        instructions::oracles::set_oracle(ctx, args)
    }

    /// Anyone: records which oracle the market reads now (the primary, the fallback when
    /// the primary fails its guard rails, or none when both fail: the market is then down,
    /// and only reducing actions work there).
    pub fn refresh_oracle_source(ctx: Context<RefreshOracleSource>) -> Result<()> {
        instructions::oracles::refresh_oracle_source(ctx)
    }

    /// Admin: lists a market.
    pub fn create_market(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
        instructions::create_market::handler(ctx, args)
    }

    /// Anyone: lists a market with a Pyth feed or without a spot index, under the
    /// conservative listing defaults, paying rent and the listing deposit.
    pub fn list_market(ctx: Context<ListMarket>, args: ListMarketArgs) -> Result<()> {
        instructions::list_market::handler(ctx, args)
    }

    /// Admin, time-locked: the collateral deposit a permissionless listing requires.
    pub fn set_listing_deposit(ctx: Context<AdminOnly>, amount: u64) -> Result<()> {
        instructions::set_authorities::set_listing_deposit(ctx, amount)
    }

    /// Admin, time-locked: changes fees, oracle guard rails, price band or funding bounds, within hard bounds.
    pub fn update_market(ctx: Context<UpdateMarket>, args: UpdateMarketArgs) -> Result<()> {
        instructions::update_market::handler(ctx, args)
    }

    /// Risk authority: sets initial margins per side; maintenance is half.
    pub fn set_margins(ctx: Context<SetMargins>, init_long_bps: u16, init_short_bps: u16) -> Result<()> {
        instructions::update_market::set_margins(ctx, init_long_bps, init_short_bps)
    }

    /// Risk authority: the market's open-interest cap.
    pub fn set_open_interest_cap(ctx: Context<SetMargins>, cap_lots: u64) -> Result<()> {
        instructions::update_market::set_open_interest_cap(ctx, cap_lots)
    }

    /// Risk authority, time-locked: the index jump guard.
    pub fn set_index_jump(ctx: Context<SetMargins>, jump_bps: u16) -> Result<()> {
        instructions::update_market::set_index_jump(ctx, jump_bps)
    }

    /// Admin (any status) or guardian (pause only).
    pub fn set_market_status(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
        instructions::pause::set_market_status(ctx, status)
    }

    // ---- funding ----

    /// Permissionless: `I += T * R * P`.
    pub fn update_funding(ctx: Context<UpdateFunding>) -> Result<()> {
        instructions::funding::update_funding(ctx)
    }

    /// Funding authority: sets R within the market's bounds.
    pub fn set_funding_rate(ctx: Context<SetFundingRate>, rate_ppbh: i64) -> Result<()> {
        instructions::funding::set_funding_rate(ctx, rate_ppbh)
    }

    /// Permissionless: settles one account's funding in one market.
    pub fn settle_funding<'info>(ctx: Context<'info, SettleFunding<'info>>) -> Result<()> {
        instructions::funding::settle_funding(ctx)
    }

    /// Permissionless: moves a market's fees into the exchange fee balance.
    pub fn sweep_fees(ctx: Context<SweepFees>) -> Result<()> {
        instructions::sweep_fees::handler(ctx)
    }

    // ---- margin accounts ----

    /// Creates the owner's margin account number `account_num` with room for `capacity` positions.
    pub fn create_margin_account(ctx: Context<CreateMarginAccount>, account_num: u16, capacity: u16) -> Result<()> {
        instructions::margin_account::create(ctx, account_num, capacity)
    }

    /// Owner: grows position capacity.
    pub fn resize_margin_account<'info>(ctx: Context<'info, OwnerAction<'info>>, new_capacity: u16) -> Result<()> {
        instructions::margin_account::resize(ctx, new_capacity)
    }

    /// Owner: sets the delegate (trades, never withdraws).
    pub fn set_delegate<'info>(ctx: Context<'info, OwnerAction<'info>>, delegate: Pubkey) -> Result<()> {
        instructions::margin_account::set_delegate(ctx, delegate)
    }

    /// Anyone: moves collateral tokens into the vault for a margin account.
    pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
        instructions::deposit::handler(ctx, amount)
    }

    /// Owner: withdraws to any token account of the mint; refused below initial margin.
    /// Remaining accounts: health accounts.
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, amount: u64) -> Result<()> {
        instructions::withdraw::handler(ctx, amount)
    }

    // ---- insurance, liquidation, deleveraging ----

    /// Anyone: adds collateral to the insurance fund.
    pub fn deposit_insurance(ctx: Context<InsuranceTransfer>, amount: u64) -> Result<()> {
        instructions::insurance::deposit(ctx, amount)
    }

    /// Admin only, time-locked: takes collateral out of the insurance fund.
    pub fn withdraw_insurance(ctx: Context<InsuranceTransfer>, amount: u64) -> Result<()> {
        instructions::insurance::withdraw(ctx, amount)
    }

    /// Anyone: takes over all or part of a position of an account below maintenance, at the
    /// mark less the liquidation discount. Remaining accounts: the liquidatee's health
    /// accounts (`liquidatee_health_count`), then the liquidator's.
    pub fn liquidate<'info>(
        ctx: Context<'info, Liquidate<'info>>,
        max_base_lots: u64,
        liquidatee_health_count: u8,
    ) -> Result<()> {
        instructions::liquidate::handler(ctx, max_base_lots, liquidatee_health_count)
    }

    /// Anyone: marks an underwater account (starting its deleveraging time lock) or clears
    /// the mark once it has recovered. Remaining accounts: its health accounts.
    pub fn mark_underwater<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
        instructions::underwater::mark_underwater(ctx)
    }

    /// Deleveraging authority: the insurance fund pays an underwater account's deficit.
    pub fn cover_with_insurance<'info>(ctx: Context<'info, CheckAccount<'info>>) -> Result<()> {
        instructions::underwater::cover_with_insurance(ctx)
    }

    /// Deleveraging authority (or anyone after the time lock): offsets an underwater
    /// position against an opposite one at the bankruptcy price.
    pub fn deleverage<'info>(ctx: Context<'info, Deleverage<'info>>, lots: u64) -> Result<()> {
        instructions::deleverage::deleverage(ctx, lots)
    }

    /// Trader only (the book, with its estimated execution price): offsets a liquidatable
    /// position at the mark when the book is too thin to liquidate it.
    pub fn early_deleverage<'info>(
        ctx: Context<'info, EarlyDeleverage<'info>>,
        lots: u64,
        book_price_per_lot: u64,
    ) -> Result<()> {
        instructions::early_deleverage::early_deleverage(ctx, lots, book_price_per_lot)
    }

    // ---- final settlement ----

    /// Admin, time-locked: one-way switch locking the market's price (within `[lo, hi]`) and funding.
    pub fn final_settle_market(ctx: Context<FinalSettleMarket>, lo_per_lot: u64, hi_per_lot: u64) -> Result<()> {
        instructions::final_settlement::final_settle(ctx, lo_per_lot, hi_per_lot)
    }

    /// Anyone: closes one account's position in a settled market at the locked price.
    pub fn settle_final_position<'info>(ctx: Context<'info, SettleFinalPosition<'info>>) -> Result<()> {
        instructions::final_settlement::settle_final_position(ctx)
    }

    /// Anyone: closes a settled market nothing refers to (its book closed first); rent and
    /// deposit go to the lister.
    pub fn close_market(ctx: Context<CloseMarket>) -> Result<()> {
        instructions::final_settlement::close_market(ctx)
    }

    // ---- approved traders ----

    /// Trader only: settles a batch of fills; return data holds one `FillResult` byte per fill.
    /// Remaining accounts: makers, then the taker's health accounts.
    pub fn settle_fills<'info>(ctx: Context<'info, SettleFills<'info>>, args: SettleFillsArgs) -> Result<()> {
        instructions::settle_fills::handler(ctx, args)
    }

    /// Trader only: changes an account's open-order reservation in a market.
    /// Remaining accounts (growth only): health accounts.
    pub fn update_reservation<'info>(
        ctx: Context<'info, UpdateReservation<'info>>,
        bid_delta: i64,
        ask_delta: i64,
    ) -> Result<()> {
        instructions::update_reservation::handler(ctx, bid_delta, ask_delta)
    }

    /// Trader only: records this minute's mark sample from the book's mid.
    pub fn record_mark_sample(ctx: Context<RecordMarkSample>, mid_per_lot: Option<u64>) -> Result<()> {
        instructions::mark_sample::handler(ctx, mid_per_lot)
    }

    /// Trader only, once: names the market's canonical order book.
    pub fn register_book(ctx: Context<RegisterBook>, book: Pubkey) -> Result<()> {
        instructions::mark_sample::register_book(ctx, book)
    }

    /// Trader only: releases reservations of orders the book removed without their owners
    /// (expiry, stale prices). Remaining accounts: the margin accounts released.
    pub fn release_reservations<'info>(
        ctx: Context<'info, ReleaseReservations<'info>>,
        releases: Vec<Release>,
    ) -> Result<()> {
        instructions::release_reservations::handler(ctx, releases)
    }

    // ---- the market's book: seats (`docs/seats.md`) ----

    /// The market's book only: the taker's side of fills against seats, summed; the makers'
    /// side stays in their seats. Remaining accounts: the taker's health accounts.
    pub fn settle_book_take<'info>(ctx: Context<'info, SettleBookTake<'info>>, args: BookTakeArgs) -> Result<()> {
        instructions::book_take::handler(ctx, args)
    }

    /// The market's book only: settles a seat's pending fills and sets its allowance (the
    /// owner's change, a revoke before a risk path, or the reclaim of an idle seat).
    /// Remaining accounts: the account's health accounts.
    pub fn set_seat_allowance<'info>(
        ctx: Context<'info, SetSeatAllowance<'info>>,
        args: SeatAllowanceArgs,
    ) -> Result<()> {
        instructions::seats::set_seat_allowance(ctx, args)
    }

    /// The market's book only: settles seats' pending fills into their margin accounts.
    /// Remaining accounts: one margin account per record, in order.
    pub fn settle_seats<'info>(ctx: Context<'info, SettleSeats<'info>>, pending: Vec<SeatPending>) -> Result<()> {
        instructions::seats::settle_seats(ctx, pending)
    }
}

#[cfg(not(target_os = "solana"))]
pub mod sdk;
