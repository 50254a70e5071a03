//! Client-side builders for every order-book instruction.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};

use crate::instructions::{AllowanceArgs, CreateBookArgs};
use crate::order_args::PlaceOrderArgs;
use crate::state::{Book, Side};
use crate::{accounts as acc, instruction as ix, ID};

pub fn trader_authority() -> Pubkey {
    perpetual::sdk::trader_authority_address(&ID)
}

/// The perpetual accounts every order instruction names.
#[derive(Clone, Copy, Debug)]
pub struct Venue {
    pub book: Pubkey,
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub exchange: Pubkey,
}

impl Venue {
    /// This program's approval on the venue's exchange.
    pub fn approval(&self) -> Pubkey {
        perpetual::sdk::approval_address(&self.exchange, &ID)
    }
}

fn order_accounts(v: &Venue, authority: &Pubkey, margin_account: &Pubkey) -> Vec<AccountMeta> {
    acc::OrderAccounts {
        book: v.book,
        authority: *authority,
        margin_account: *margin_account,
        market: v.market,
        oracle: v.oracle,
        exchange: v.exchange,
        approval: v.approval(),
        trader_authority: trader_authority(),
        perpetual_program: perpetual::ID,
    }
    .to_account_metas(None)
}

fn build(accounts: Vec<AccountMeta>, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ID, accounts, data: data.data() }
}

/// The system instruction that allocates a book account (the client creates it; it is too
/// large to create by CPI) and the instruction that initialises it.
pub fn create_book(
    payer: &Pubkey,
    authority: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    book: &Pubkey,
    rent_lamports: u64,
    args: CreateBookArgs,
) -> [Instruction; 2] {
    let space = Book::space(args.side_capacity, args.seat_capacity);
    let create =
        anchor_lang::solana_program::system_instruction::create_account(payer, book, rent_lamports, space as u64, &ID);
    let accounts = acc::CreateBook {
        authority: *authority,
        payer: *payer,
        exchange: *exchange,
        market: *market,
        book: *book,
        approval: perpetual::sdk::approval_address(exchange, &ID),
        trader_authority: trader_authority(),
        perpetual_program: perpetual::ID,
    };
    [create, build(accounts.to_account_metas(None), ix::CreateBook { args })]
}

/// The permissionless mark crank for `v`'s market.
pub fn sample_mark(v: &Venue) -> Instruction {
    let accounts = acc::SampleMark {
        book: v.book,
        market: v.market,
        oracle: v.oracle,
        exchange: v.exchange,
        approval: v.approval(),
        trader_authority: trader_authority(),
        perpetual_program: perpetual::ID,
    };
    build(accounts.to_account_metas(None), ix::SampleMark {})
}

/// An order instruction for `margin_account`: its accounts, then `health`.
fn order_ix(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    health: Vec<AccountMeta>,
    data: impl InstructionData,
) -> Instruction {
    let mut accounts = order_accounts(v, authority, margin_account);
    accounts.extend(health);
    build(accounts, data)
}

/// `health`: the placer's health accounts (needed when a take or the seat's allowance
/// grows its risk).
pub fn place_order(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    args: PlaceOrderArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    order_ix(v, authority, margin_account, health, ix::PlaceOrder { args })
}

pub fn cancel_order(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    side: Side,
    order_key: u128,
) -> Instruction {
    build(order_accounts(v, authority, margin_account), ix::CancelOrder { side, order_key })
}

pub fn cancel_order_by_client_id(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    client_order_id: u64,
) -> Instruction {
    build(order_accounts(v, authority, margin_account), ix::CancelOrderByClientId { client_order_id })
}

pub fn cancel_all_orders(v: &Venue, authority: &Pubkey, margin_account: &Pubkey, limit: u16) -> Instruction {
    build(order_accounts(v, authority, margin_account), ix::CancelAllOrders { limit })
}

pub fn replace_order(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    side: Side,
    order_key: u128,
    args: PlaceOrderArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    order_ix(v, authority, margin_account, health, ix::ReplaceOrder { side, order_key, args })
}

/// A liquidation order for `liquidatee` (anyone signs as `caller`), with the liquidated
/// account's health accounts.
pub fn liquidate_order(
    v: &Venue,
    caller: &Pubkey,
    liquidatee: &Pubkey,
    max_base_lots: u64,
    limit_price_ticks: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    order_ix(v, caller, liquidatee, health, ix::LiquidateOrder { max_base_lots, limit_price_ticks })
}

/// The seat's allowance for `margin_account` (its owner or delegate signs), with its health
/// accounts.
pub fn set_allowance(
    v: &Venue,
    authority: &Pubkey,
    margin_account: &Pubkey,
    args: AllowanceArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    order_ix(v, authority, margin_account, health, ix::SetAllowance { args })
}

/// Settles the seats at `seats`, whose margin accounts are `accounts` (same order).
pub fn settle_seats(v: &Venue, seats: Vec<u32>, accounts: &[Pubkey]) -> Instruction {
    let mut metas = acc::SettleSeats {
        book: v.book,
        market: v.market,
        exchange: v.exchange,
        approval: v.approval(),
        trader_authority: trader_authority(),
        perpetual_program: perpetual::ID,
    }
    .to_account_metas(None);
    metas.extend(accounts.iter().map(|k| AccountMeta::new(*k, false)));
    build(metas, ix::SettleSeats { seats })
}

/// Revokes the seat of `margin_account` (anyone signs as `caller`), with its health
/// accounts.
pub fn revoke_seat(
    v: &Venue,
    caller: &Pubkey,
    margin_account: &Pubkey,
    seat_hint: u32,
    health: Vec<AccountMeta>,
) -> Instruction {
    order_ix(v, caller, margin_account, health, ix::RevokeSeat { seat_hint })
}

/// Reclaims the idle seat of `margin_account` (anyone signs as `caller`).
pub fn reclaim_seat(v: &Venue, caller: &Pubkey, margin_account: &Pubkey, seat_hint: u32) -> Instruction {
    order_ix(v, caller, margin_account, vec![], ix::ReclaimSeat { seat_hint })
}

/// Early deleveraging of `lots` of `account` against `counterparty`, signed by the
/// deleveraging authority; `health` is the account's, skipping this market.
pub fn early_deleverage(
    v: &Venue,
    account: &Pubkey,
    counterparty: &Pubkey,
    authority: &Pubkey,
    lots: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut accounts = acc::EarlyDeleverageOrder {
        book: v.book,
        market: v.market,
        oracle: v.oracle,
        exchange: v.exchange,
        approval: v.approval(),
        trader_authority: trader_authority(),
        margin_account: *account,
        counterparty: *counterparty,
        authority: *authority,
        perpetual_program: perpetual::ID,
    }
    .to_account_metas(None);
    accounts.extend(health);
    build(accounts, ix::EarlyDeleverage { lots })
}

pub fn prune_stale_orders(book: &Pubkey, limit: u16) -> Instruction {
    build(acc::PruneStaleOrders { book: *book }.to_account_metas(None), ix::PruneStaleOrders { limit })
}

pub fn close_book(creator: &Pubkey, book: &Pubkey, market: &Pubkey) -> Instruction {
    build(acc::CloseBook { creator: *creator, book: *book, market: *market }.to_account_metas(None), ix::CloseBook {})
}
