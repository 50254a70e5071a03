//! The accounts every order instruction takes (`OrderAccounts`: place, liquidate, cancel,
//! replace), and the margin-account reads the instructions share.
use anchor_lang::prelude::*;
use perpetual::state::{find_position, parse_margin_account, MarginAccount, Position};

use crate::error::BookError;
use crate::perp_cpi::PerpAccounts;
use crate::state::{Book, BookMut};

#[derive(Accounts)]
pub struct OrderAccounts<'info> {
    /// CHECK: loaded by `BookMut` (owner, type); its market is checked against `market`.
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
    /// The margin account's owner or delegate.
    pub authority: Signer<'info>,
    /// CHECK: a perpetual margin account; owner program, exchange and authority checked here.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual market.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the market's oracle; perpetual applies the guard rails.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the book's perpetual exchange.
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: this program's approval in perpetual; perpetual checks it.
    pub approval: UncheckedAccount<'info>,
    /// CHECK: this program's `trader` PDA, which signs the CPI.
    pub trader_authority: UncheckedAccount<'info>,
    /// CHECK: the perpetual program.
    #[account(address = perpetual::ID)]
    pub perpetual_program: UncheckedAccount<'info>,
}

impl<'info> OrderAccounts<'info> {
    pub fn perp(&self, trader_bump: u8) -> PerpAccounts<'_, 'info> {
        PerpAccounts {
            perpetual_program: self.perpetual_program.as_ref(),
            exchange: self.exchange.as_ref(),
            approval: self.approval.as_ref(),
            trader_authority: self.trader_authority.as_ref(),
            market: self.market.as_ref(),
            oracle: self.oracle.as_ref(),
            margin_account: self.margin_account.as_ref(),
            authority: self.authority.as_ref(),
            trader_bump,
        }
    }

    /// Loads the book only to check it trades this market on this exchange.
    pub fn check_book_account(&'info self) -> Result<()> {
        let mut book = BookMut::load(self.book.as_ref())?;
        let parts = book.parts()?;
        self.check_book(parts.header)
    }

    /// The book must trade this market on this exchange.
    pub fn check_book(&self, book: &Book) -> Result<()> {
        book.check_venue(self.market.key, self.exchange.key)
    }

    /// The margin account's position in the market and its reservation epoch, without
    /// checking who signed (for liquidation orders, which anyone may send).
    pub fn position(&self) -> Result<AccountView> {
        self.view(Signature::NotChecked)
    }

    /// Checks the signer may trade the margin account; returns its position and epoch.
    pub fn check_authority(&self) -> Result<AccountView> {
        self.view(Signature::OwnerOrDelegate(self.authority.key))
    }

    fn view(&self, signature: Signature) -> Result<AccountView> {
        account_view(self.margin_account.as_ref(), self.exchange.key, self.market.key, signature)
    }
}

/// What the book needs of the placing account.
#[derive(Clone, Copy, Debug)]
pub struct AccountView {
    /// Signed position in the book's market, in base lots.
    pub base_lots: i64,
    pub epoch: u32,
}

/// Whether a margin account read also checks who signed for it.
#[derive(Clone, Copy, Debug)]
pub enum Signature<'a> {
    /// Anyone may act on the account (liquidation, deleveraging).
    NotChecked,
    /// The signer must be the account's owner or delegate.
    OwnerOrDelegate(&'a Pubkey),
}

/// Reads a margin account owned by `perpetual` (`WrongOwner`, `NotMarginAccount` otherwise).
pub fn read_margin_account<T>(
    info: &AccountInfo,
    read: impl FnOnce(&MarginAccount, &[Position]) -> Result<T>,
) -> Result<T> {
    require_keys_eq!(*info.owner, perpetual::ID, BookError::WrongOwner);
    let data = info.try_borrow_data()?;
    let (header, positions) = parse_margin_account(&data).map_err(|_| error!(BookError::NotMarginAccount))?;
    read(header, positions)
}

/// A margin account of `exchange`: its position in `market` and its reservation epoch,
/// after the `signature` check.
pub fn account_view(
    info: &AccountInfo,
    exchange: &Pubkey,
    market: &Pubkey,
    signature: Signature,
) -> Result<AccountView> {
    read_margin_account(info, |header, positions| {
        require_keys_eq!(header.exchange, *exchange, BookError::WrongExchange);
        if let Signature::OwnerOrDelegate(signer) = signature {
            require!(header.may_trade(signer), BookError::NotOwnerOrDelegate);
        }
        let base_lots = find_position(positions, market).map(|i| positions[i].base_lots).unwrap_or(0);
        Ok(AccountView { base_lots, epoch: header.reservation_epoch })
    })
}

/// The reservation epoch of a maker's margin account (already checked to be owned by
/// `perpetual` and writable).
pub fn maker_epoch(info: &AccountInfo, exchange: &Pubkey) -> Result<u32> {
    let data = info.try_borrow_data()?;
    let (header, _) = parse_margin_account(&data).map_err(|_| error!(BookError::InvalidMakerAccount))?;
    require_keys_eq!(header.exchange, *exchange, BookError::InvalidMakerAccount);
    Ok(header.reservation_epoch)
}
