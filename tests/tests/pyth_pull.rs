//! Pyth pull oracle: `PriceUpdateV2` accounts of the Pyth Solana Receiver, chosen per market
//! (`OracleKind::PythPull`). Fixtures are serialized by the `pyth-solana-receiver-sdk` crate
//! itself, and one is a real SOL/USD account's bytes, so the program's own parser is held to
//! the real layout. Guard rails: receiver owner, full verification, the market's feed id,
//! then staleness and confidence as for legacy Pyth accounts.
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountSerialize, Discriminator};
use integration_tests::adversarial::{assert_refused, index_of, with_account};
use integration_tests::pyth::{PYTH_RECEIVER_PROGRAM, TEST_FEED_ID};
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::math::I80F48;
use perpetual::sdk;
use perpetual::state::{PythPriceUpdateV2, PythVerificationLevel};
use perpetual::{OracleKind, Side};
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use solana_account::Account;
use solana_signer::Signer;

const PRICE: i64 = 25_000_000; // $25 at expo -6
const ETH_FEED_ID: [u8; 32] = [0xff; 32];

/// A `PriceUpdateV2` account as the receiver writes it, serialized by the sdk crate: Anchor
/// discriminator and borsh, in the receiver's allocation of `PriceUpdateV2::LEN` bytes.
fn update_bytes(feed_id: [u8; 32], price: i64, conf: u64, ts: i64, level: VerificationLevel) -> Vec<u8> {
    let update = PriceUpdateV2 {
        write_authority: Pubkey::new_from_array([7; 32]),
        verification_level: level,
        price_message: PriceFeedMessage {
            feed_id,
            price,
            conf,
            exponent: -6,
            publish_time: ts,
            prev_publish_time: ts - 1,
            ema_price: price + 3,
            ema_conf: conf + 5,
        },
        posted_slot: 42,
    };
    let mut data = Vec::new();
    update.try_serialize(&mut data).expect("serialize");
    assert!(data.len() <= PriceUpdateV2::LEN);
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

fn write_update(env: &mut TestEnv, key: &Pubkey, data: Vec<u8>, owner: Pubkey) {
    let account = Account { lamports: 1_000_000_000, data, owner, executable: false, rent_epoch: 0 };
    env.ctx.set_account(key, &account.into());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Mainnet-beta's SOL/USD price feed account (shard 0 of the Pyth push oracle),
/// `7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE`, owned by the receiver: its 134 bytes as
/// published in anagrambuild/swig-wallet's program tests (base64 there, hex here).
const REAL_SOL_USD: &str = concat!(
    "22f123639d7ef4cd",
    "60314704340deddf371fd42472148f248e9d1a6d1a5eb2ac3acd8b7fd5d6b243",
    "01",
    "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
    "b2e877e603000000",
    "e902780000000000",
    "f8ffffff",
    "959a496800000000",
    "959a496800000000",
    "c0b611e203000000",
    "2cbd800000000000",
    "dc49a11400000000",
    "00",
);

#[test]
fn the_parser_reads_the_sdk_layout() {
    assert_eq!(PriceUpdateV2::DISCRIMINATOR, &PythPriceUpdateV2::DISCRIMINATOR[..]);
    assert_eq!(PriceUpdateV2::LEN, PythPriceUpdateV2::SPACE);
    assert_eq!(pyth_solana_receiver_sdk::ID, PYTH_RECEIVER_PROGRAM);
    for (level, ours) in [
        (VerificationLevel::Full, PythVerificationLevel::Full),
        (VerificationLevel::Partial { num_signatures: 5 }, PythVerificationLevel::Partial { num_signatures: 5 }),
    ] {
        let data = update_bytes(TEST_FEED_ID, -123, 456, 1_700_000_000, level);
        let u = PythPriceUpdateV2::parse(&data).expect("parses");
        assert_eq!(u.write_authority, Pubkey::new_from_array([7; 32]));
        assert_eq!(u.verification_level, ours);
        let m = u.price_message;
        assert_eq!((m.feed_id, m.price, m.conf, m.exponent), (TEST_FEED_ID, -123, 456, -6));
        assert_eq!(
            (m.publish_time, m.prev_publish_time, m.ema_price, m.ema_conf),
            (1_700_000_000, 1_699_999_999, -120, 461)
        );
        assert_eq!(u.posted_slot, 42);
    }
    // The bytes the harness writes for pull markets are the sdk's bytes.
    let real = PriceUpdateV2 {
        write_authority: Pubkey::default(),
        verification_level: VerificationLevel::Full,
        price_message: PriceFeedMessage {
            feed_id: TEST_FEED_ID,
            price: PRICE,
            conf: 9,
            exponent: -6,
            publish_time: 77,
            prev_publish_time: 77,
            ema_price: PRICE,
            ema_conf: 9,
        },
        posted_slot: 0,
    };
    let mut data = Vec::new();
    real.try_serialize(&mut data).unwrap();
    data.resize(PriceUpdateV2::LEN, 0);
    assert_eq!(sdk::pyth_price_update_bytes(TEST_FEED_ID, PRICE, 9, -6, 77, PythVerificationLevel::Full), data);
    // Wrong discriminator, truncated data: refused.
    let mut bad = data.clone();
    bad[0] ^= 1;
    assert!(PythPriceUpdateV2::parse(&bad).is_err());
    assert!(PythPriceUpdateV2::parse(&data[..100]).is_err());
}

#[test]
fn a_real_mainnet_update_parses() {
    let data = hex(REAL_SOL_USD);
    assert_eq!(data.len(), PythPriceUpdateV2::SPACE);
    let ours = PythPriceUpdateV2::parse(&data).expect("parses");
    let theirs =
        <PriceUpdateV2 as anchor_lang::AccountDeserialize>::try_deserialize(&mut &data[..]).expect("sdk parses");
    assert_eq!(ours.write_authority, theirs.write_authority);
    assert_eq!(ours.verification_level, PythVerificationLevel::Full);
    assert_eq!(theirs.verification_level, VerificationLevel::Full);
    let (m, t) = (ours.price_message, theirs.price_message);
    assert_eq!(m.feed_id, TEST_FEED_ID);
    assert_eq!(
        (m.feed_id, m.price, m.conf, m.exponent, m.publish_time, m.prev_publish_time, m.ema_price, m.ema_conf),
        (t.feed_id, t.price, t.conf, t.exponent, t.publish_time, t.prev_publish_time, t.ema_price, t.ema_conf)
    );
    assert_eq!((m.price, m.conf, m.exponent, m.publish_time), (16_751_519_922, 7_865_065, -8, 1_749_654_165));
    assert_eq!((ours.posted_slot, theirs.posted_slot), (346_114_524, 346_114_524));
}

#[tokio::test]
async fn a_market_on_the_real_account_reads_its_price() {
    let mut env = TestEnv::new().await;
    let data = hex(REAL_SOL_USD);
    let publish_time = PythPriceUpdateV2::parse(&data).unwrap().price_message.publish_time;
    let key: Pubkey = "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE".parse().unwrap();
    write_update(&mut env, &key, data, PYTH_RECEIVER_PROGRAM);
    // Back to 5 s after it was published.
    let now = env.now().await;
    env.warp(publish_time + 5 - now).await;
    let admin = env.admin.insecure_clone();
    let args = market_args("SOL", OracleKind::PythPull);
    env.process(&[sdk::create_market(&admin.pubkey(), &env.exchange, &key, args)], &[&admin]).await.expect("create");
    let market = sdk::market_address(&env.exchange, &args.symbol);
    assert_eq!(env.market_state(&market).await.oracle_feed_id, TEST_FEED_ID);
    env.process(&[sdk::update_funding(&market, &key)], &[]).await.expect("fresh real update");
    // $167.51519922 per whole SOL-unit, one unit per lot, 6 quote decimals.
    let index = env.market_state(&market).await.index_price.get();
    assert_eq!(index.to_num::<i64>(), 167_515_199, "{index}");
    // 56 s later it is stale (older than the market's 60 s).
    env.warp(56).await;
    let update = sdk::update_funding(&market, &key);
    assert_refused(&mut env, &[update], &[], code(PerpError::StaleOracle), "real update gone stale").await;
}

#[tokio::test]
async fn creation_pins_a_fully_verified_feed() {
    let mut env = TestEnv::new().await;
    let now = env.now().await;
    let admin = env.admin.insecure_clone();
    let key = Pubkey::new_unique();
    let create = |env: &TestEnv, args| sdk::create_market(&admin.pubkey(), &env.exchange, &key, args);

    write_update(
        &mut env,
        &key,
        update_bytes(TEST_FEED_ID, PRICE, 0, now, VerificationLevel::Partial { num_signatures: 12 }),
        PYTH_RECEIVER_PROGRAM,
    );
    let ix = create(&env, market_args("PULL", OracleKind::PythPull));
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::OracleNotFullyVerified), "partial at creation").await;

    write_update(
        &mut env,
        &key,
        update_bytes(TEST_FEED_ID, PRICE, 0, now, VerificationLevel::Full),
        Pubkey::new_unique(),
    );
    let ix = create(&env, market_args("PULL", OracleKind::PythPull));
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::WrongOwner), "not the receiver's").await;

    write_update(
        &mut env,
        &key,
        update_bytes(TEST_FEED_ID, PRICE, 0, now, VerificationLevel::Full),
        PYTH_RECEIVER_PROGRAM,
    );
    let mut args = market_args("PULL", OracleKind::PythPull);
    args.oracle_feed_id = Some(ETH_FEED_ID);
    let ix = create(&env, args);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::WrongOracleFeed), "account holds another feed").await;
    // A feed id is only for pull markets, and a legacy market refuses a pull account.
    let mut args = market_args("LEG", OracleKind::PythLegacy);
    args.oracle_feed_id = Some(TEST_FEED_ID);
    let ix = create(&env, args);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ParameterOutOfRange), "feed id on a legacy market")
        .await;
    let ix = create(&env, market_args("LEG", OracleKind::PythLegacy));
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::WrongOwner), "pull account, legacy kind").await;

    // The named feed, held by the account: pinned. A stale price is fine at creation.
    env.warp(3_600).await;
    let mut args = market_args("PULL", OracleKind::PythPull);
    args.oracle_feed_id = Some(TEST_FEED_ID);
    env.process(&[create(&env, args)], &[&admin]).await.expect("create");
    let m = env.market_state(&sdk::market_address(&env.exchange, &args.symbol)).await;
    assert_eq!((m.oracle, m.oracle_kind, m.oracle_feed_id), (key, OracleKind::PythPull as u8, TEST_FEED_ID));
}

#[tokio::test]
async fn a_fresh_update_prices_trades_and_marks() {
    let mut env = TestEnv::new().await;
    let m = env.create_market_with(market_args("PULL", OracleKind::PythPull), PRICE).await;
    assert_eq!(env.market_state(&m.market).await.oracle_feed_id, TEST_FEED_ID);
    let now = env.now().await;
    write_update(
        &mut env,
        &m.oracle,
        update_bytes(TEST_FEED_ID, PRICE, PRICE as u64 / 1_000, now, VerificationLevel::Full),
        PYTH_RECEIVER_PROGRAM,
    );
    env.process(&[sdk::update_funding(&m.market, &m.oracle)], &[]).await.expect("fresh update");
    assert_eq!(env.market_state(&m.market).await.index_price.get(), I80F48::from_num(PRICE));

    // A trade through the approved test trader, health checked against the pull index.
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&taker, &maker, &m, Side::Bid, 10, PRICE as u64).await.expect("trade");
    assert_eq!(env.position(&taker.margin_account, &m.market).await.base_lots, 10);
    assert_eq!(env.position(&maker.margin_account, &m.market).await.base_lots, -10);

    // The mark crank through the order book reads the same account.
    let book = env.create_book(&m, book_args(64, 64)).await;
    env.sample_mark(&book).await.expect("mark sample");
    let s = env.market_state(&m.market).await;
    assert_eq!(s.mark_sample_count, 1);
    assert!(s.mark_price.get() > 0);
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

#[tokio::test]
async fn guard_rails_refuse_without_touching_any_account() {
    let mut env = TestEnv::new().await;
    let m = env.create_market_with(market_args("PULL", OracleKind::PythPull), PRICE).await;
    let user = env.funded_user(1_000 * ONE_USDC).await;
    let update = sdk::update_funding(&m.market, &m.oracle);
    let now = env.now().await;
    let fresh = |price: i64, conf: u64| update_bytes(TEST_FEED_ID, price, conf, now, VerificationLevel::Full);

    let cases: Vec<(&str, Vec<u8>, Pubkey, PerpError)> = vec![
        (
            "stale",
            update_bytes(TEST_FEED_ID, PRICE, 0, now - 61, VerificationLevel::Full),
            PYTH_RECEIVER_PROGRAM,
            PerpError::StaleOracle,
        ),
        (
            "partially verified",
            update_bytes(TEST_FEED_ID, PRICE, 0, now, VerificationLevel::Partial { num_signatures: 18 }),
            PYTH_RECEIVER_PROGRAM,
            PerpError::OracleNotFullyVerified,
        ),
        (
            "another feed re-posted",
            update_bytes(ETH_FEED_ID, PRICE, 0, now, VerificationLevel::Full),
            PYTH_RECEIVER_PROGRAM,
            PerpError::WrongOracleFeed,
        ),
        ("not the receiver's", fresh(PRICE, 0), Pubkey::new_unique(), PerpError::WrongOwner),
        ("legacy program's", fresh(PRICE, 0), pyth::PYTH_PROGRAM, PerpError::WrongOwner),
        (
            "confidence over 2%",
            fresh(PRICE, PRICE as u64 / 49),
            PYTH_RECEIVER_PROGRAM,
            PerpError::OracleConfidenceTooWide,
        ),
        ("zero price", fresh(0, 0), PYTH_RECEIVER_PROGRAM, PerpError::NonPositiveOraclePrice),
        (
            "not a price update",
            sdk::pyth_price_account_bytes(PRICE, 0, -6, now, pyth_sdk_solana::state::PriceStatus::Trading),
            PYTH_RECEIVER_PROGRAM,
            PerpError::InvalidOracleAccount,
        ),
    ];
    for (what, data, owner, error) in cases {
        write_update(&mut env, &m.oracle, data, owner);
        assert_refused(&mut env, std::slice::from_ref(&update), &[], code(error), what).await;
        // Opening risk reads the same oracle through the trader program.
        let reserve = env.reserve_ix(&user, &m, 1, 0).await;
        assert_refused(&mut env, &[reserve], &[&user.owner], code(error), what).await;
    }
    // The right feed in another account: not the market's pinned account.
    let other = Pubkey::new_unique();
    write_update(&mut env, &other, fresh(PRICE, 0), PYTH_RECEIVER_PROGRAM);
    let wrong = with_account(&update, index_of(&update, &m.oracle), other);
    assert_refused(&mut env, &[wrong], &[], code(PerpError::WrongOracle), "another account").await;

    // Fresh, fully verified, the market's feed: accepted.
    write_update(&mut env, &m.oracle, fresh(PRICE, 1), PYTH_RECEIVER_PROGRAM);
    env.process(&[update], &[]).await.expect("fresh update");
    env.reserve(&user, &m, 1, 0).await.expect("reserve");
    invariants::check(&mut env).await;
}
