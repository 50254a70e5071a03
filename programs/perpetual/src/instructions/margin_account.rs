//! Creating, growing and delegating margin accounts.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::entrypoint::MAX_PERMITTED_DATA_INCREASE;
use anchor_lang::system_program;

use crate::error::PerpError;
use crate::events::{DelegateSet, MarginAccountCreated};
use crate::runtime::create_account::create_zero_copy;
use crate::state::{
    Exchange, MarginAccount, MarginAccountMut, DISCRIMINATOR_LEN, HEADER_LEN, MARGIN_SEED, MAX_POSITION_CAPACITY,
    MIN_POSITION_CAPACITY,
};

#[derive(Accounts)]
#[instruction(account_num: u16, capacity: u16)]
pub struct CreateMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: created here at this PDA.
    #[account(mut, seeds = [MARGIN_SEED, exchange.key().as_ref(), owner.key().as_ref(), &account_num.to_le_bytes()], bump)]
    pub margin_account: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn create(ctx: Context<CreateMarginAccount>, account_num: u16, capacity: u16) -> Result<()> {
    require!((MIN_POSITION_CAPACITY..=MAX_POSITION_CAPACITY).contains(&capacity), PerpError::InvalidCapacity);
    let accounts = &ctx.accounts;
    let (exchange, owner) = (accounts.exchange.key(), accounts.owner.key());
    let num = account_num.to_le_bytes();
    let seeds: &[&[u8]] = &[MARGIN_SEED, exchange.as_ref(), owner.as_ref(), &num, &[ctx.bumps.margin_account]];
    create_zero_copy::<MarginAccount>(
        accounts.owner.as_ref(),
        accounts.margin_account.as_ref(),
        accounts.system_program.as_ref(),
        MarginAccount::space(capacity),
        seeds,
    )?;
    let mut data = accounts.margin_account.try_borrow_mut_data()?;
    let a: &mut MarginAccount = bytemuck::from_bytes_mut(&mut data[DISCRIMINATOR_LEN..HEADER_LEN]);
    a.exchange = ctx.accounts.exchange.key();
    a.owner = ctx.accounts.owner.key();
    a.account_num = account_num;
    a.position_capacity = capacity;
    a.bump = ctx.bumps.margin_account;
    emit!(MarginAccountCreated {
        margin_account: ctx.accounts.margin_account.key(),
        owner: a.owner,
        account_num,
        capacity,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct OwnerAction<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: loaded by `MarginAccountMut`, which checks owner program, type and exchange.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

fn load_owned<'a>(info: &'a AccountInfo<'a>, exchange: &Pubkey, owner: &Pubkey) -> Result<MarginAccountMut<'a>> {
    let account = MarginAccountMut::load(info, exchange)?;
    require_keys_eq!(account.header().owner, *owner, PerpError::NotOwner);
    Ok(account)
}

/// Grows the position capacity; the owner pays the extra rent.
pub fn resize<'info>(ctx: Context<'info, OwnerAction<'info>>, new_capacity: u16) -> Result<()> {
    let accounts = &*ctx.accounts;
    let info: &'info AccountInfo<'info> = accounts.margin_account.as_ref();
    let old_capacity = {
        let a = load_owned(info, &accounts.exchange.key(), accounts.owner.key)?;
        a.header().position_capacity
    };
    require!(new_capacity > old_capacity && new_capacity <= MAX_POSITION_CAPACITY, PerpError::InvalidCapacity);
    let new_len = MarginAccount::space(new_capacity);
    require!(
        new_len - MarginAccount::space(old_capacity) <= MAX_PERMITTED_DATA_INCREASE,
        PerpError::CapacityStepTooLarge
    );
    let needed = Rent::get()?.minimum_balance(new_len).saturating_sub(info.lamports());
    if needed > 0 {
        system_program::transfer(
            CpiContext::new(
                system_program::ID,
                system_program::Transfer { from: accounts.owner.to_account_info(), to: info.clone() },
            ),
            needed,
        )?;
    }
    info.resize(new_len)?;
    let mut a = MarginAccountMut::load(info, &accounts.exchange.key())?;
    a.header_mut().position_capacity = new_capacity;
    Ok(())
}

/// Sets (or clears, with the default pubkey) the hot key that may trade but not withdraw.
pub fn set_delegate<'info>(ctx: Context<'info, OwnerAction<'info>>, delegate: Pubkey) -> Result<()> {
    let info: &'info AccountInfo<'info> = ctx.accounts.margin_account.as_ref();
    let mut a = load_owned(info, &ctx.accounts.exchange.key(), ctx.accounts.owner.key)?;
    a.header_mut().delegate = delegate;
    emit!(DelegateSet { margin_account: info.key(), delegate });
    Ok(())
}
