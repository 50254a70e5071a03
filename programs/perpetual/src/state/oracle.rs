use anchor_lang::prelude::*;

use super::DISCRIMINATOR_LEN;
use anchor_lang::Discriminator;

use crate::error::PerpError;
use crate::math::price::{confidence_too_wide, price_per_lot};
use crate::math::I80F48;
use crate::state::market::{Market, OracleConfig, OracleKind, OracleSource};

/// Pyth's legacy oracle program on mainnet-beta and on devnet.
pub const PYTH_PROGRAM_IDS: [Pubkey; 2] =
    [pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH"), pubkey!("gSbePebfvPy7tRqimPoVecS2UsBvYv46ynrzWocc92s")];

/// The Pyth Solana Receiver program: it owns the pull oracle's `PriceUpdateV2` accounts
/// (the same id on mainnet-beta and devnet).
pub const PYTH_RECEIVER_PROGRAM_ID: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// How many Wormhole guardian signatures the receiver checked for an update
/// (`pyth_solana_receiver_sdk::price_update::VerificationLevel`, same borsh encoding).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum PythVerificationLevel {
    /// Only `num_signatures` signatures checked: refused by this program.
    Partial { num_signatures: u8 },
    /// Two thirds of the current guardian set.
    Full,
}

/// `pythnet_sdk::messages::PriceFeedMessage`: the price is `price * 10^exponent`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct PythPriceFeedMessage {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub exponent: i32,
    pub publish_time: i64,
    pub prev_publish_time: i64,
    pub ema_price: i64,
    pub ema_conf: u64,
}

/// A pull-oracle price update account, `pyth_solana_receiver_sdk::price_update::PriceUpdateV2`:
/// an Anchor account (8-byte discriminator, then borsh). The receiver allocates
/// [`PythPriceUpdateV2::SPACE`] bytes, sized for `Partial`, so a `Full` update leaves one
/// trailing zero byte.
///
/// Mirrored here rather than taken from `pyth-solana-receiver-sdk`: that crate pulls
/// `pythnet-sdk` (with `solana-program` 2, serde, bincode, sha3 and more) into the program
/// for five fields. The integration tests serialize their fixtures with the sdk crate itself
/// and parse a real SOL/USD account's bytes, so the mirror is held to the real layout.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct PythPriceUpdateV2 {
    /// May close the account or re-post any verified update into it, of any feed.
    pub write_authority: Pubkey,
    pub verification_level: PythVerificationLevel,
    pub price_message: PythPriceFeedMessage,
    pub posted_slot: u64,
}

impl PythPriceUpdateV2 {
    /// `sha256("account:PriceUpdateV2")[..DISCRIMINATOR_LEN]`.
    pub const DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];
    /// The account size the receiver allocates (`PriceUpdateV2::LEN`).
    pub const SPACE: usize = DISCRIMINATOR_LEN + 32 + 2 + 32 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8;

    /// Parses account data: discriminator, then borsh (trailing bytes ignored, as Anchor does).
    pub fn parse(data: &[u8]) -> Result<Self> {
        require!(data.len() > 8 && data[..DISCRIMINATOR_LEN] == Self::DISCRIMINATOR, PerpError::InvalidOracleAccount);
        Self::deserialize(&mut &data[DISCRIMINATOR_LEN..]).map_err(|_| error!(PerpError::InvalidOracleAccount))
    }
}

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
    pub const SPACE: usize = DISCRIMINATOR_LEN + core::mem::size_of::<PriceOracle>();
}

/// A raw oracle reading before guard rails.
#[derive(Clone, Copy, Debug)]
pub struct OracleReading {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_ts: i64,
    /// Pull updates only: the feed the account holds, checked against the market's.
    pub feed_id: Option<[u8; 32]>,
}

/// Parses an oracle account of the given kind, checking its owner and layout (a kind the
/// program does not know is refused as an invalid oracle).
pub fn read_oracle_account(kind: Option<OracleKind>, info: &AccountInfo) -> Result<OracleReading> {
    let data = info.try_borrow_data()?;
    if kind == Some(OracleKind::PythLegacy) {
        require!(PYTH_PROGRAM_IDS.contains(info.owner), PerpError::WrongOwner);
        let account = pyth_sdk_solana::state::load_price_account::<32, ()>(&data)
            .map_err(|_| error!(PerpError::InvalidOracleAccount))?;
        require!(account.agg.status == pyth_sdk_solana::state::PriceStatus::Trading, PerpError::OracleNotTrading);
        Ok(OracleReading {
            price: account.agg.price,
            conf: account.agg.conf,
            expo: account.expo,
            publish_ts: account.timestamp,
            feed_id: None,
        })
    } else if kind == Some(OracleKind::SetPrice) {
        require_keys_eq!(*info.owner, crate::ID, PerpError::WrongOwner);
        require!(
            data.len() >= PriceOracle::SPACE && &data[..DISCRIMINATOR_LEN] == PriceOracle::DISCRIMINATOR,
            PerpError::InvalidOracleAccount
        );
        let oracle: &PriceOracle = bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..PriceOracle::SPACE])
            .map_err(|_| error!(PerpError::AccountDataInvalid))?;
        Ok(OracleReading {
            price: oracle.price,
            conf: oracle.conf,
            expo: oracle.expo,
            publish_ts: oracle.publish_ts,
            feed_id: None,
        })
    } else if kind == Some(OracleKind::PythPull) {
        require_keys_eq!(*info.owner, PYTH_RECEIVER_PROGRAM_ID, PerpError::WrongOwner);
        let update = PythPriceUpdateV2::parse(&data)?;
        require!(update.verification_level == PythVerificationLevel::Full, PerpError::OracleNotFullyVerified);
        let m = update.price_message;
        Ok(OracleReading {
            price: m.price,
            conf: m.conf,
            expo: m.exponent,
            publish_ts: m.publish_time,
            feed_id: Some(m.feed_id),
        })
    } else {
        err!(PerpError::InvalidOracleAccount)
    }
}

/// Checks a reading against one oracle's guard rails.
pub fn check_reading(oracle: &OracleConfig, reading: &OracleReading, now: i64) -> Result<()> {
    // The update account's write authority may re-post any verified feed into it.
    if oracle.kind == OracleKind::PythPull {
        require!(reading.feed_id == Some(oracle.feed_id), PerpError::WrongOracleFeed);
    }
    require!(reading.price > 0, PerpError::NonPositiveOraclePrice);
    let age = now.saturating_sub(reading.publish_ts);
    require!(age <= oracle.max_age_secs as i64, PerpError::StaleOracle);
    require!(
        !confidence_too_wide(reading.price, reading.conf, oracle.max_conf_bps),
        PerpError::OracleConfidenceTooWide
    );
    Ok(())
}

/// `info` read as `oracle`, after its guard rails, in quote native per lot.
pub fn read_price(market: &Market, oracle: &OracleConfig, info: &AccountInfo, now: i64) -> Result<I80F48> {
    require_keys_eq!(*info.key, oracle.key, PerpError::WrongOracle);
    let reading = read_oracle_account(Some(oracle.kind), info)?;
    check_reading(oracle, &reading, now)?;
    price_per_lot(reading.price, reading.expo, market.base_decimals, market.quote_decimals, market.base_lot_size)
}

/// The market's oracle price in quote native per lot, from the oracle it reads now (the
/// primary, or the fallback after `refresh_oracle_source` found the primary failing).
pub fn oracle_price_per_lot(market: &Market, info: &AccountInfo, now: i64) -> Result<I80F48> {
    let oracle = market.reading_oracle().ok_or_else(|| error!(PerpError::OraclesDown))?;
    read_price(market, &oracle, info, now)
}

/// Which source a market should read now: the primary if it passes its rails, else the
/// fallback if it passes its own, else none (`Down`). `fallback` must be the market's
/// fallback account when it has one (any account otherwise).
pub fn pick_oracle_source(
    market: &Market,
    primary: &AccountInfo,
    fallback: &AccountInfo,
    now: i64,
) -> Result<OracleSource> {
    let main = market.primary_oracle().ok_or_else(|| error!(PerpError::InvalidFallbackOracle))?;
    require_keys_eq!(*primary.key, main.key, PerpError::WrongOracle);
    let second = market.fallback_oracle();
    if let Some(second) = &second {
        require_keys_eq!(*fallback.key, second.key, PerpError::WrongOracle);
    }
    if read_price(market, &main, primary, now).is_ok() {
        return Ok(OracleSource::Primary);
    }
    if second.is_some_and(|s| read_price(market, &s, fallback, now).is_ok()) {
        return Ok(OracleSource::Fallback);
    }
    Ok(OracleSource::Down)
}

/// Checks the oracle account a market is being given and returns the feed id to pin: zero
/// unless `kind` is `PythPull`. A pull market pins `feed_id` when given, and the update
/// account must hold that feed; otherwise it pins the feed the account holds. The account
/// must parse as `kind` (owner, layout, full verification); its price may be stale.
pub fn check_new_oracle(kind: OracleKind, info: &AccountInfo, feed_id: Option<[u8; 32]>) -> Result<[u8; 32]> {
    require!(feed_id.is_none() || kind == OracleKind::PythPull, PerpError::ParameterOutOfRange);
    if kind == OracleKind::None {
        require_keys_eq!(*info.key, Pubkey::default(), PerpError::WrongOracle);
        return Ok([0; 32]);
    }
    let reading = read_oracle_account(Some(kind), info)?;
    match (reading.feed_id, feed_id) {
        (Some(held), Some(wanted)) => {
            require!(held == wanted, PerpError::WrongOracleFeed);
            Ok(wanted)
        }
        (Some(held), None) => Ok(held),
        (None, _) => Ok([0; 32]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: [u8; 32] = [0xab; 32];

    /// A `PriceUpdateV2` built byte by byte from the receiver's field order, in its 134-byte
    /// allocation: discriminator, write authority, verification level, price message, slot.
    fn hand_built(level: &[u8], feed: [u8; 32], price: i64, publish_time: i64) -> Vec<u8> {
        let mut d = vec![34, 241, 35, 99, 157, 126, 244, 205];
        d.extend([9u8; 32]);
        d.extend(level);
        d.extend(feed);
        d.extend(price.to_le_bytes());
        d.extend(17u64.to_le_bytes());
        d.extend((-8i32).to_le_bytes());
        d.extend(publish_time.to_le_bytes());
        d.extend((publish_time - 2).to_le_bytes());
        d.extend((price - 1).to_le_bytes());
        d.extend(19u64.to_le_bytes());
        d.extend(123_456u64.to_le_bytes());
        d.resize(PythPriceUpdateV2::SPACE, 0);
        d
    }

    #[test]
    fn parses_full_and_partial_updates_by_hand() {
        let full = PythPriceUpdateV2::parse(&hand_built(&[1], FEED, 5_000, 1_000)).unwrap();
        assert_eq!(full.write_authority, Pubkey::new_from_array([9; 32]));
        assert_eq!(full.verification_level, PythVerificationLevel::Full);
        let m = full.price_message;
        assert_eq!((m.feed_id, m.price, m.conf, m.exponent), (FEED, 5_000, 17, -8));
        assert_eq!((m.publish_time, m.prev_publish_time, m.ema_price, m.ema_conf), (1_000, 998, 4_999, 19));
        assert_eq!(full.posted_slot, 123_456);

        let partial = PythPriceUpdateV2::parse(&hand_built(&[0, 3], FEED, 5_000, 1_000)).unwrap();
        assert_eq!(partial.verification_level, PythVerificationLevel::Partial { num_signatures: 3 });
        assert_eq!(partial.price_message, m);
        assert_eq!(partial.posted_slot, 123_456);
        // A partial update fills the allocation exactly.
        assert_eq!(8 + 32 + 2 + 84 + 8, PythPriceUpdateV2::SPACE);
    }

    #[test]
    fn refuses_malformed_updates() {
        let bad_tag = hand_built(&[2], FEED, 5_000, 1_000);
        assert!(PythPriceUpdateV2::parse(&bad_tag).is_err());
        let mut bad_disc = hand_built(&[1], FEED, 5_000, 1_000);
        bad_disc[7] ^= 0xff;
        assert!(PythPriceUpdateV2::parse(&bad_disc).is_err());
        let short = hand_built(&[1], FEED, 5_000, 1_000);
        assert!(PythPriceUpdateV2::parse(&short[..132]).is_err());
        assert!(PythPriceUpdateV2::parse(&short[..DISCRIMINATOR_LEN]).is_err());
    }

    #[test]
    fn a_pull_reading_must_hold_the_market_feed() {
        let market = OracleConfig {
            key: Pubkey::default(),
            kind: OracleKind::PythPull,
            feed_id: FEED,
            max_age_secs: 60,
            max_conf_bps: 200,
        };
        let reading = OracleReading { price: 5_000, conf: 1, expo: -8, publish_ts: 1_000, feed_id: Some(FEED) };
        check_reading(&market, &reading, 1_060).unwrap();
        assert_eq!(check_reading(&market, &reading, 1_061).unwrap_err(), error!(PerpError::StaleOracle));
        let other = OracleReading { feed_id: Some([0xcd; 32]), ..reading };
        assert_eq!(check_reading(&market, &other, 1_000).unwrap_err(), error!(PerpError::WrongOracleFeed));
        let legacy = OracleReading { feed_id: None, ..reading };
        assert_eq!(check_reading(&market, &legacy, 1_000).unwrap_err(), error!(PerpError::WrongOracleFeed));
        let wide = OracleReading { conf: 101, ..reading };
        assert_eq!(check_reading(&market, &wide, 1_000).unwrap_err(), error!(PerpError::OracleConfidenceTooWide));
    }
}
