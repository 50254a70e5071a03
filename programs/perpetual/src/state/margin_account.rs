use core::cell::RefMut;

use anchor_lang::prelude::*;

use super::DISCRIMINATOR_LEN;
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::math::health::{PositionInput, SeatAllowance};
use crate::math::PodI80F48;
use crate::state::Market;

/// Smallest position capacity an account is created with.
pub const MIN_POSITION_CAPACITY: u16 = 16;
/// Largest capacity; bounded by the accounts one health check can take.
pub const MAX_POSITION_CAPACITY: u16 = 128;

/// Cross-margin account header. `position_capacity` `Position`s follow it in the
/// account data; the account grows by `resize_margin_account`.
#[account(zero_copy)]
#[derive(Debug)]
pub struct MarginAccount {
    pub exchange: Pubkey,
    pub owner: Pubkey,
    /// May trade and cancel, never withdraw. Default pubkey: none.
    pub delegate: Pubkey,
    /// Collateral in native units; negative once an account is underwater.
    pub collateral: i64,
    pub account_num: u16,
    pub position_capacity: u16,
    pub bump: u8,
    pub flags: u8,
    pub _padding: [u8; 2],
    /// When a third party marked this account underwater (0: not marked).
    pub underwater_since: i64,
    /// Bumped whenever the protocol clears the account's reservations (liquidation,
    /// deleveraging): trader programs stamp resting orders with it, and an order from an
    /// older epoch has no reservation behind it and must never fill.
    pub reservation_epoch: u32,
    pub reserved: [u8; 52],
}
const _: () = assert!(core::mem::size_of::<MarginAccount>() == 3 * 32 + 16 + 8 + 4 + 52);

/// One market's position. A slot whose `market` is the default pubkey is free.
#[zero_copy]
#[derive(Debug, Default)]
pub struct Position {
    pub market: Pubkey,
    /// Signed size in base lots.
    pub base_lots: i64,
    /// Open-order reservations reported by the trader program: lots of resting bids and asks.
    pub open_bid_lots: u64,
    pub open_ask_lots: u64,
    /// Funding index at the last settlement.
    pub cached_funding_index: PodI80F48,
    /// The market's book may fill up to these lots per side for this account without
    /// `perpetual` seeing the fills until its seat settles: bids at most at
    /// `seat_bid_limit`, asks at least at `seat_ask_limit` (quote native per lot).
    pub seat_bid_lots: u64,
    pub seat_ask_lots: u64,
    pub seat_bid_limit: u64,
    pub seat_ask_limit: u64,
    /// The market's funding variation when the allowance was granted.
    pub seat_funding_variation: PodI80F48,
    pub reserved: [u8; 8],
}
const _: () = assert!(core::mem::size_of::<Position>() == 128);

pub const HEADER_LEN: usize = DISCRIMINATOR_LEN + core::mem::size_of::<MarginAccount>();
pub const POSITION_LEN: usize = core::mem::size_of::<Position>();

impl MarginAccount {
    pub fn space(capacity: u16) -> usize {
        HEADER_LEN + capacity as usize * POSITION_LEN
    }

    pub fn may_trade(&self, signer: &Pubkey) -> bool {
        *signer == self.owner || (self.delegate != Pubkey::default() && *signer == self.delegate)
    }
}

impl Position {
    pub fn is_free(&self) -> bool {
        self.market == Pubkey::default()
    }

    pub fn is_empty(&self) -> bool {
        self.base_lots == 0 && self.open_bid_lots == 0 && self.open_ask_lots == 0 && !self.has_seat_allowance()
    }

    /// True while the market's book may fill for this account unseen.
    pub fn has_seat_allowance(&self) -> bool {
        self.seat_bid_lots != 0 || self.seat_ask_lots != 0
    }

    pub fn seat_allowance(&self) -> SeatAllowance {
        SeatAllowance {
            bid_lots: self.seat_bid_lots,
            ask_lots: self.seat_ask_lots,
            bid_limit: self.seat_bid_limit,
            ask_limit: self.seat_ask_limit,
            funding_variation: self.seat_funding_variation.get(),
        }
    }

    pub fn as_health_input(&self) -> PositionInput {
        PositionInput {
            base_lots: self.base_lots,
            open_bid_lots: self.open_bid_lots,
            open_ask_lots: self.open_ask_lots,
            cached_index: self.cached_funding_index.get(),
            seat: self.seat_allowance(),
        }
    }
}

/// A margin account borrowed mutably from its `AccountInfo`, header and positions split.
pub struct MarginAccountMut<'a> {
    data: RefMut<'a, &'a mut [u8]>,
}

impl<'a> MarginAccountMut<'a> {
    /// Checks owner, discriminator, size and exchange, then borrows the data mutably.
    pub fn load(info: &'a AccountInfo<'a>, exchange: &Pubkey) -> Result<Self> {
        require_keys_eq!(*info.owner, crate::ID, PerpError::WrongOwner);
        require!(info.is_writable, PerpError::AccountNotWritable);
        // Already borrowed means the same account sits in another slot of this instruction.
        let data = info.try_borrow_mut_data().map_err(|_| error!(PerpError::DuplicateAccount))?;
        let this = Self::from_data(data)?;
        require_keys_eq!(this.header().exchange, *exchange, PerpError::WrongExchange);
        Ok(this)
    }

    fn from_data(data: RefMut<'a, &'a mut [u8]>) -> Result<Self> {
        require!(
            data.len() >= HEADER_LEN && &data[..DISCRIMINATOR_LEN] == MarginAccount::DISCRIMINATOR,
            PerpError::NotMarginAccount
        );
        let this = Self { data };
        let needed = MarginAccount::space(this.header().position_capacity);
        require!(this.data.len() >= needed, PerpError::AccountDataInvalid);
        Ok(this)
    }

    pub fn header(&self) -> &MarginAccount {
        bytemuck::from_bytes(&self.data[DISCRIMINATOR_LEN..HEADER_LEN])
    }

    pub fn header_mut(&mut self) -> &mut MarginAccount {
        bytemuck::from_bytes_mut(&mut self.data[DISCRIMINATOR_LEN..HEADER_LEN])
    }

    pub fn positions(&self) -> &[Position] {
        let end = MarginAccount::space(self.header().position_capacity);
        bytemuck::cast_slice(&self.data[HEADER_LEN..end])
    }

    /// Header and positions at once, for code that changes both.
    pub fn split_mut(&mut self) -> (&mut MarginAccount, &mut [Position]) {
        let capacity = self.header().position_capacity;
        let end = MarginAccount::space(capacity);
        let (head, tail) = self.data[DISCRIMINATOR_LEN..end].split_at_mut(HEADER_LEN - DISCRIMINATOR_LEN);
        (bytemuck::from_bytes_mut(head), bytemuck::cast_slice_mut(tail))
    }
}

/// Read-only view of a margin account's bytes (for health checks and off-chain decoding).
pub fn parse_margin_account(data: &[u8]) -> Result<(&MarginAccount, &[Position])> {
    require!(
        data.len() >= HEADER_LEN && &data[..DISCRIMINATOR_LEN] == MarginAccount::DISCRIMINATOR,
        PerpError::NotMarginAccount
    );
    let header: &MarginAccount = bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..HEADER_LEN])
        .map_err(|_| error!(PerpError::AccountDataInvalid))?;
    let end = MarginAccount::space(header.position_capacity);
    require!(data.len() >= end, PerpError::AccountDataInvalid);
    let positions: &[Position] =
        bytemuck::try_cast_slice(&data[HEADER_LEN..end]).map_err(|_| error!(PerpError::AccountDataInvalid))?;
    Ok((header, positions))
}

/// Index of the position in `market`, if any.
pub fn find_position(positions: &[Position], market: &Pubkey) -> Option<usize> {
    positions.iter().position(|p| p.market == *market)
}

/// Index of the position in `market_key`, opening a free slot at the market's funding
/// index (and counting it in the market) if needed.
pub fn find_or_open_position(positions: &mut [Position], market_key: &Pubkey, market: &mut Market) -> Result<usize> {
    if let Some(i) = find_position(positions, market_key) {
        return Ok(i);
    }
    let i = positions.iter().position(|p| p.is_free()).ok_or_else(|| error!(PerpError::PositionCapacityReached))?;
    positions[i] = Position { market: *market_key, cached_funding_index: market.funding_index, ..Position::default() };
    market.open_slots = market.open_slots.saturating_add(1);
    Ok(i)
}

/// Frees the slot when nothing is left in it, and uncounts it from the market.
pub fn release_if_empty(position: &mut Position, market: &mut Market) {
    if !position.is_free() && position.is_empty() {
        *position = Position::default();
        market.open_slots = market.open_slots.saturating_sub(1);
    }
}
