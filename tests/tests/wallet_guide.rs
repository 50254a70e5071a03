//! The README's wallet guide, executed: a wallet deposits, places, cancels, closes and
//! withdraws with the Rust builders alone, finding every account from the collateral mint,
//! the market's symbol and the chain's own bytes.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use integration_tests::*;
use orderbook::instructions::{OrderType, PlaceOrderArgs};
use orderbook::sdk::Venue;
use orderbook::state::{BookRef, Side as BookSide};
use orderbook::SelfTradeBehavior;
use perpetual::sdk;
use perpetual::state::{parse_margin_account, Market};
use solana_signer::Signer;

/// What a wallet derives or reads before trading `symbol`.
struct Found {
    exchange: Pubkey,
    margin_account: Pubkey,
    venue: Venue,
}

/// Step 1: every address from the mint, the owner and the symbol; the book and oracle from
/// the market account.
async fn find(env: &mut TestEnv, owner: &Pubkey, symbol: &str) -> Found {
    let exchange = sdk::exchange_address(&env.mint);
    let market = sdk::market_address(&exchange, &sdk::symbol(symbol));
    let m: Market = env.market_state(&market).await;
    Found {
        exchange,
        margin_account: sdk::margin_account_address(&exchange, owner, 0),
        venue: Venue { book: m.book, market, oracle: m.oracle, exchange },
    }
}

/// Health accounts: each open position's market and oracle, skipping `skip`.
async fn health(env: &mut TestEnv, margin_account: &Pubkey, skip: &[Pubkey]) -> Vec<AccountMeta> {
    let data = env.account_data(margin_account).await;
    let (_, positions) = parse_margin_account(&data).expect("margin account");
    let mut oracles = std::collections::HashMap::new();
    for p in positions.iter().filter(|p| !p.is_free()) {
        oracles.insert(p.market, env.market_state(&p.market).await.oracle);
    }
    sdk::health_metas(positions, skip, |m| oracles.get(m).copied())
}

async fn seat(env: &mut TestEnv, venue: &Venue, margin_account: &Pubkey) -> u32 {
    let data = env.account_data(&venue.book).await;
    orderbook::decode::seat_hint(&BookRef::parse(&data).expect("book"), margin_account).expect("a free seat")
}

/// The harness's `order` with what a wallet sets on every order.
fn limit(side: BookSide, price_ticks: u64, base_lots: u64, order_type: OrderType, seat_hint: u32) -> PlaceOrderArgs {
    PlaceOrderArgs {
        self_trade: SelfTradeBehavior::CancelResting,
        client_order_id: 42,
        seat_hint,
        ..order(side, price_ticks, base_lots, order_type)
    }
}

#[tokio::test]
async fn a_wallet_deposits_places_cancels_closes_and_withdraws() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    env.rest(&maker, &book, BookSide::Ask, 101, 50).await;
    env.rest(&maker, &book, BookSide::Bid, 99, 50).await;
    let user = env.create_user(500 * ONE_USDC).await;
    let (me, token) = (user.owner, user.token_account);
    let owner = me.pubkey();
    let f = find(&mut env, &owner, "SOL").await;
    assert_eq!(f.venue.book, book.venue.book, "the market names its canonical book");

    // Deposit (the margin account exists: `sdk::create_margin_account(owner, exchange, 0, 16)`).
    let ix = sdk::deposit(&owner, &f.exchange, &env.mint, &f.margin_account, &token, 500 * ONE_USDC);
    env.process(&[ix], &[&me]).await.expect("deposit");

    // Place a resting bid; its key comes back in the return data.
    let h = health(&mut env, &f.margin_account, &[f.venue.market]).await;
    let hint = seat(&mut env, &f.venue, &f.margin_account).await;
    let ix = orderbook::sdk::place_order(
        &f.venue,
        &owner,
        &f.margin_account,
        limit(BookSide::Bid, 98, 10, OrderType::PostOnly, hint),
        h,
    );
    let out = env.process(&[ix], &[&me]).await.expect("place");
    let key = placed(&out.return_data).key;
    assert_ne!(key, 0);

    // Cancel it by key (a cancel needs no health accounts). The seat keeps the allowance the
    // bid was granted, for the next quote; a wallet that is done quoting gives it up.
    let ix = orderbook::sdk::cancel_order(&f.venue, &owner, &f.margin_account, BookSide::Bid, key);
    env.process(&[ix], &[&me]).await.expect("cancel");
    let h = health(&mut env, &f.margin_account, &[f.venue.market]).await;
    let none = orderbook::instructions::AllowanceArgs {
        seat_hint: hint,
        bid_lots: 0,
        ask_lots: 0,
        bid_limit_ticks: 0,
        ask_limit_ticks: 0,
    };
    let ix = orderbook::sdk::set_allowance(&f.venue, &owner, &f.margin_account, none, h);
    env.process(&[ix], &[&me]).await.expect("give the seat up");

    // Buy 10 lots now: immediate-or-cancel across the ask (the taker names no maker).
    let h = health(&mut env, &f.margin_account, &[f.venue.market]).await;
    let ix = orderbook::sdk::place_order(
        &f.venue,
        &owner,
        &f.margin_account,
        limit(BookSide::Bid, 101, 10, OrderType::ImmediateOrCancel, hint),
        h,
    );
    let out = env.process(&[ix], &[&me]).await.expect("open");
    assert_eq!(placed(&out.return_data).filled, 10);

    // Close: a reduce-only sell into the bids.
    let mut close = limit(BookSide::Ask, 99, 10, OrderType::ImmediateOrCancel, hint);
    close.reduce_only = true;
    let h = health(&mut env, &f.margin_account, &[f.venue.market]).await;
    let ix = orderbook::sdk::place_order(&f.venue, &owner, &f.margin_account, close, h);
    env.process(&[ix], &[&me]).await.expect("close");
    assert_eq!(env.position(&f.margin_account, &f.venue.market).await.base_lots, 0);

    // Withdraw everything that is left (health accounts with no market skipped).
    let left = env.collateral(&f.margin_account).await as u64;
    let h = health(&mut env, &f.margin_account, &[]).await;
    let ix = sdk::withdraw(&owner, &f.exchange, &env.mint, &f.margin_account, &token, left, h);
    env.process(&[ix], &[&me]).await.expect("withdraw");
    assert_eq!(env.collateral(&f.margin_account).await, 0);
    // Round trip: the spread and the taker fees are the only cost.
    let paid = 500 * ONE_USDC - env.token_balance(&token).await;
    assert!(paid > 0 && paid < 5 * ONE_USDC, "cost {paid}");
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}
