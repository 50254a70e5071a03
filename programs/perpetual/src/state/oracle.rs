use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::math::price::{confidence_too_wide, price_per_lot};
use crate::math::I80F48;
use crate::state::market::{Market, OracleKind};

/// Pyth's legacy oracle program on mainnet-beta and on devnet.
pub const PYTH_PROGRAM_IDS: [Pubkey; 2] = [
    pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH"),
    pubkey!("gSbePebfvPy7tRqimPoVecS2UsBvYv46ynrzWocc92s"),
];

/// A price its authority writes: for tests, simulations and markets without a spot feed.
/// Same fields and meaning as a Pyth price: `price * 10^expo` quote per whole base unit.
#[account(zero_copy)]
#[derive(Debug)]
pub struct PriceOracle {
    pub authority: Pubkey,
    pub symbol: [u8; 16],
    pub price: i64,
    pub conf: u64,
    pub publish_ts: i64,
    pub expo: i32,
    pub bump: u8,
    pub _padding: [u8; 3],
    pub reserved: [u8; 64],
}
const _: () = assert!(core::mem::size_of::<PriceOracle>() == 32 + 16 + 32 + 64);

impl PriceOracle {
    pub const SPACE: usize = 8 + core::mem::size_of::<PriceOracle>();
}

/// A raw oracle reading before guard rails.
#[derive(Clone, Copy, Debug)]
pub struct OracleReading {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_ts: i64,
}

/// Parses an oracle account of the given kind, checking its owner and layout.
pub fn read_oracle_account(kind: u8, info: &AccountInfo) -> Result<OracleReading> {
    let data = info.try_borrow_data()?;
    if kind == OracleKind::PythLegacy as u8 {
        require!(PYTH_PROGRAM_IDS.contains(info.owner), PerpError::WrongOwner);
        let account = pyth_sdk_solana::state::load_price_account::<32, ()>(&data)
            .map_err(|_| error!(PerpError::InvalidOracleAccount))?;
        require!(
            account.agg.status == pyth_sdk_solana::state::PriceStatus::Trading,
            PerpError::OracleNotTrading
        );
        Ok(OracleReading {
            price: account.agg.price,
            conf: account.agg.conf,
            expo: account.expo,
            publish_ts: account.timestamp,
        })
    } else if kind == OracleKind::SetPrice as u8 {
        require_keys_eq!(*info.owner, crate::ID, PerpError::WrongOwner);
        require!(
            data.len() >= PriceOracle::SPACE && &data[..8] == PriceOracle::DISCRIMINATOR,
            PerpError::InvalidOracleAccount
        );
        let oracle: &PriceOracle = bytemuck::try_from_bytes(&data[8..PriceOracle::SPACE])
            .map_err(|_| error!(PerpError::AccountDataInvalid))?;
        Ok(OracleReading { price: oracle.price, conf: oracle.conf, expo: oracle.expo, publish_ts: oracle.publish_ts })
    } else {
        err!(PerpError::InvalidOracleAccount)
    }
}

/// Checks a reading against the market's guard rails.
pub fn check_reading(market: &Market, reading: &OracleReading, now: i64) -> Result<()> {
    require!(reading.price > 0, PerpError::NonPositiveOraclePrice);
    let age = now.saturating_sub(reading.publish_ts);
    require!(age <= market.oracle_max_age_secs as i64, PerpError::StaleOracle);
    require!(
        !confidence_too_wide(reading.price, reading.conf, market.oracle_max_conf_bps),
        PerpError::OracleConfidenceTooWide
    );
    Ok(())
}

/// The market's oracle price in quote native per lot, after every guard rail.
pub fn oracle_price_per_lot(market: &Market, info: &AccountInfo, now: i64) -> Result<I80F48> {
    require_keys_eq!(*info.key, market.oracle, PerpError::WrongOracle);
    let reading = read_oracle_account(market.oracle_kind, info)?;
    check_reading(market, &reading, now)?;
    price_per_lot(reading.price, reading.expo, market.base_decimals, market.quote_decimals, market.base_lot_size)
}
