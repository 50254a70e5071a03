//! `create_book`: initialises a market's one book and registers it with perpetual.
use anchor_lang::prelude::*;
use perpetual::state::{Exchange, Market};
use perpetual::trader_api::TRADER_SEED;

use crate::error::BookError;
use crate::events::BookCreated;
use crate::perp_cpi::TraderCall;
use crate::state::{Book, BookMut, MAX_SEAT_CAPACITY, MAX_SIDE_CAPACITY, MIN_SIDE_CAPACITY};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct CreateBookArgs {
    /// Quote native units per base lot per tick.
    pub tick_size: u64,
    pub min_base_lots: u64,
    /// Orders per side (at least 16, at most 8192).
    pub side_capacity: u32,
    /// Distinct margin accounts with resting orders at once.
    pub seat_capacity: u32,
    pub max_orders_per_account: u16,
}

#[derive(Accounts)]
pub struct CreateBook<'info> {
    /// The market's lister or the exchange admin.
    pub authority: Signer<'info>,
    /// Paid the book account's rent (created by the client); gets it back at close.
    pub payer: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// Written by perpetual when the book registers.
    #[account(mut, constraint = market.load()?.exchange == exchange.key() @ BookError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// Created by the client with `Book::space(..)` bytes, owned by this program.
    #[account(zero)]
    pub book: AccountLoader<'info, Book>,
    /// CHECK: this program's approval in perpetual; perpetual checks it.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's `trader` PDA, which signs the registration.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

/// Initialises the market's one book and registers it with perpetual (which refuses a second).
pub fn handler<'info>(ctx: Context<'info, CreateBook<'info>>, args: CreateBookArgs) -> Result<()> {
    let accounts = &*ctx.accounts;
    require!(
        args.tick_size > 0
            && args.min_base_lots > 0
            && (MIN_SIDE_CAPACITY..=MAX_SIDE_CAPACITY).contains(&args.side_capacity)
            && (1..=MAX_SEAT_CAPACITY).contains(&args.seat_capacity)
            && args.max_orders_per_account > 0,
        BookError::InvalidBookParams
    );
    require!(
        accounts.book.as_ref().data_len() >= Book::space(args.side_capacity, args.seat_capacity),
        BookError::InvalidBookParams
    );
    let (oracle, lister) = {
        let m = accounts.market.load()?;
        (m.oracle, m.lister)
    };
    let admin = accounts.exchange.load()?.admin;
    require!(accounts.authority.key() == lister || accounts.authority.key() == admin, BookError::NotAdmin);
    let trader_bump = Pubkey::find_program_address(&[TRADER_SEED], &crate::ID).1;
    {
        let mut book = accounts.book.load_init()?;
        book.exchange = accounts.exchange.key();
        book.market = accounts.market.key();
        book.oracle = oracle;
        book.tick_size = args.tick_size;
        book.min_base_lots = args.min_base_lots;
        book.seq_num = 1;
        book.side_capacity = args.side_capacity;
        book.seat_capacity = args.seat_capacity;
        book.max_orders_per_account = args.max_orders_per_account;
        book.trader_bump = trader_bump;
        book.creator = accounts.payer.key();
    }
    let info: &'info AccountInfo<'info> = accounts.book.as_ref();
    {
        // The discriminator is written when the instruction exits; the trees are laid out now.
        let data = info.try_borrow_mut_data()?;
        BookMut::unchecked(data).init(args.side_capacity, args.seat_capacity)?;
    }
    TraderCall {
        exchange: accounts.exchange.as_ref(),
        approval: accounts.approval.as_ref(),
        trader_authority: accounts.trader_authority.as_ref(),
        market: accounts.market.as_ref(),
        trader_bump,
    }
    .register_book(info.key())?;
    emit!(BookCreated {
        book: info.key(),
        market: accounts.market.key(),
        tick_size: args.tick_size,
        side_capacity: args.side_capacity
    });
    Ok(())
}
