//! The accounts every order instruction takes (`OrderAccounts`: place, liquidate, cancel,
//! replace), and the margin-account reads the instructions share.
use anchor_lang::prelude::*;
use perpetual::math::I80F48;
use perpetual::state::{find_position, parse_margin_account, Exchange, MarginAccount, Market, MarketStatus, Position};

use crate::error::{from_perp, BookError};
use crate::matching::{Band, MakersGrow};
use crate::perp_cpi::PerpAccounts;
use crate::state::{Book, BookMut};

/// What matching needs of the market and exchange.
pub struct Venue {
    pub band: Band,
    pub maker_fee_ppm: i32,
    /// Whether makers' fills may grow positions long and short.
    pub makers_grow: MakersGrow,
    /// Why an order that could grow the placer's position is refused now, if it is (every
    /// order, in a settled market).
    pub gate: Option<BookError>,
}

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

    /// The band, the maker fee and whether makers may only reduce, read from the market
    /// (and its oracle, under perpetual's guard rails) and the exchange.
    pub fn venue(&'info self, now: i64, tick_size: u64) -> Result<Venue> {
        let paused = AccountLoader::<Exchange>::try_from(self.exchange.as_ref())?.load()?.paused != 0;
        let loader = AccountLoader::<Market>::try_from(self.market.as_ref())?;
        let market = loader.load()?;
        let status = market.status().map_err(from_perp)?;
        let gate = match status {
            MarketStatus::FinalSettlement => Some(BookError::MarketInFinalSettlement),
            _ if paused => Some(BookError::ExchangePaused),
            MarketStatus::Paused => Some(BookError::MarketNotActive),
            MarketStatus::ReduceOnly => Some(BookError::MarketReduceOnly),
            MarketStatus::Active if market.oracles_down() => Some(BookError::OraclesDown),
            MarketStatus::Active => None,
        };
        Ok(Venue {
            band: Band::new(market.band_reference(&self.oracle, now).map_err(from_perp)?, market.band_bps(), tick_size),
            maker_fee_ppm: market.maker_fee_ppm,
            makers_grow: {
                let (long_off, short_off) = market.leverage_disabled();
                MakersGrow { long: gate.is_none() && !long_off, short: gate.is_none() && !short_off }
            },
            gate,
        })
    }

    /// The market's funding index as it stands (after a CPI moved it).
    pub fn funding_index(&'info self) -> Result<I80F48> {
        let loader = AccountLoader::<Market>::try_from(self.market.as_ref())?;
        let market = loader.load()?;
        Ok(market.funding_index.get())
    }

    /// The margin account's position in the market, without checking who signed (for
    /// liquidation orders, which anyone may send).
    pub fn position(&self) -> Result<AccountView> {
        self.view(Signature::NotChecked)
    }

    /// Checks the signer may trade the margin account; returns its position.
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
    /// Signed settled position in the book's market, in base lots.
    pub base_lots: i64,
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

/// A margin account of `exchange`: its position in `market`, after the `signature` check.
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
        Ok(AccountView { base_lots })
    })
}
