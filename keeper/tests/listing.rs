//! The listing loop: lists each asset once (permissionlessly, with the deposit) and sets its
//! margins from its price history; a second run changes nothing.
use client::chain::Chain;
use keeper::cranks::{self, ListingInput};
use keeper::sim::world::{pyth_bytes, World};
use solana_account::Account;
use solana_signer::Signer;

#[tokio::test]
async fn assets_are_listed_once_with_margins_from_their_history() {
    let mut w = World::build(3).await.expect("world");
    let now = w.chain.unix_time().await.unwrap();
    let oracle = anchor_lang::prelude::Pubkey::new_unique();
    // AVAX at $25.00 (Pyth expo -8), 9 decimals, lots of 0.1 AVAX.
    let data = pyth_bytes(25 * 100_000_000, 10_000, -8, now);
    w.chain.set_account(
        &oracle,
        Account {
            lamports: 1_000_000_000,
            data,
            owner: perpetual::state::PYTH_PROGRAM_IDS[0],
            executable: false,
            rent_epoch: 0,
        },
    );
    let closes = keeper::prices::load(&keeper::prices::sample_path("sol_usd_daily.csv")).await.unwrap();
    let expected = perpetual::math::var::margins_from_history(&closes, true).unwrap();
    let asset = ListingInput {
        symbol: "AVAX-PERP".into(),
        pyth_oracle: Some(oracle),
        base_decimals: 9,
        base_lot_size: 100_000_000,
        initial_price_per_lot: 0,
        closes,
    };
    let (exchange, mint) = (w.exchange, w.mint);
    let (lister, keeper) = (w.lister.wallet.insecure_clone(), w.keeper.insecure_clone());
    let tokens = w.lister.tokens;

    let first =
        cranks::list_assets(&mut w.chain, &exchange, &mint, &lister, &tokens, &keeper, std::slice::from_ref(&asset))
            .await
            .unwrap();
    assert_eq!((first.sent, first.failed), (2, 0), "listed, then margins set: {first:?}");
    let market = perpetual::sdk::market_address(&exchange, &perpetual::sdk::symbol("AVAX-PERP"));
    let m = client::decode_market(&w.chain.account_data(&market).await.unwrap()).unwrap();
    assert_eq!((m.init_margin_long_bps, m.init_margin_short_bps), (expected.init_long_bps, expected.init_short_bps));
    assert_eq!(m.lister, lister.pubkey());
    assert_eq!(m.listing_deposit, 100 * keeper::sim::world::USDC);

    let before = w.chain.account_data(&market).await.unwrap();
    let second =
        cranks::list_assets(&mut w.chain, &exchange, &mint, &lister, &tokens, &keeper, &[asset]).await.unwrap();
    assert_eq!(second.sent, 0, "nothing to do the second time: {second:?}");
    assert_eq!(w.chain.account_data(&market).await.unwrap(), before);
}
