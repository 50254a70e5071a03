//! The pause matrix, action by action, for a paused market and for a paused exchange: a
//! pause stops opening risk (new orders, position-increasing fills, listing) and never
//! stops cancelling, reducing, closing, depositing or withdrawing. Only the admin unpauses.
use anchor_lang::prelude::Pubkey;
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use orderbook::instructions::OrderType;
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::sdk::ListMarketArgs;
use perpetual::{MarketStatus, OracleKind, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pause {
    Market,
    Exchange,
}

impl Pause {
    fn refusal(self) -> u32 {
        match self {
            Pause::Market => code(PerpError::MarketNotActive),
            Pause::Exchange => code(PerpError::ExchangePaused),
        }
    }

    /// The order book refuses an order that could grow a position before it matches.
    fn book_refusal(self) -> u32 {
        match self {
            Pause::Market => u32::from(orderbook::error::BookError::MarketNotActive),
            Pause::Exchange => u32::from(orderbook::error::BookError::ExchangePaused),
        }
    }
}

async fn set_paused(
    env: &mut TestEnv,
    book: &BookCookie,
    how: Pause,
    paused: bool,
    signer: &Keypair,
) -> Result<TxOutput, TransactionError> {
    let ix = match how {
        Pause::Market => {
            let status = if paused { MarketStatus::Paused } else { MarketStatus::Active };
            sdk::set_market_status(&signer.pubkey(), &env.exchange, &book.market.market, status)
        }
        Pause::Exchange => sdk::set_exchange_paused(&signer.pubkey(), &env.exchange, paused),
    };
    env.process(&[ix], &[signer]).await
}

async fn run_matrix(how: Pause) {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let a = env.funded_user(1_000 * ONE_USDC).await;
    let b = env.funded_user(1_000 * ONE_USDC).await;
    let mm = env.funded_user(1_000 * ONE_USDC).await;
    let c = env.funded_user(1_000 * ONE_USDC).await;
    // A long 10, B short 10. B bids to buy its short back (each fill shrinks B), and a market
    // maker quotes both sides (each fill would grow its position).
    env.trade(&a, &b, &m, Side::Bid, 10, 1_000_000).await.expect("A long, B short");
    env.rest(&b, &book, BookSide::Bid, 99, 5).await;
    env.rest(&b, &book, BookSide::Bid, 98, 5).await;
    let mm_ask = env.rest(&mm, &book, BookSide::Ask, 101, 5).await;
    env.rest(&mm, &book, BookSide::Bid, 97, 5).await;

    let guardian = env.guardian.insecure_clone();
    let admin = env.admin.insecure_clone();
    set_paused(&mut env, &book, how, true, &guardian).await.expect("the guardian pauses");
    let mut rows: Vec<(&str, &str)> = vec![];

    // Opening risk: refused, every account unchanged.
    let ix = env.place_ix(&c, &book, order(BookSide::Bid, 95, 5, OrderType::Limit)).await;
    assert_refused(&mut env, &[ix], &[&c.owner], how.book_refusal(), "new resting order").await;
    rows.push(("new resting order", "refused"));
    let ix = env.place_ix(&c, &book, order(BookSide::Bid, 101, 5, OrderType::ImmediateOrCancel)).await;
    assert_refused(&mut env, &[ix], &[&c.owner], how.book_refusal(), "position-increasing fill").await;
    rows.push(("position-increasing fill", "refused"));
    let ix = env.reserve_ix(&c, &m, 3, 0).await;
    assert_refused(&mut env, &[ix], &[&c.owner], how.refusal(), "reservation by another trader program").await;
    rows.push(("reservation growth (any trader)", "refused"));
    if how == Pause::Exchange {
        let lister = Keypair::new();
        env.airdrop(&lister.pubkey(), 10_000_000_000).await;
        let token = env.create_token_account(&lister.pubkey(), 1_000 * ONE_USDC).await;
        let args = ListMarketArgs {
            symbol: sdk::symbol("NEWCO"),
            oracle_kind: OracleKind::None,
            base_decimals: 6,
            base_lot_size: 1_000_000,
            initial_price_per_lot: 1_000_000,
        };
        let ix = sdk::list_market(&lister.pubkey(), &env.exchange, &env.mint, &token, &Pubkey::default(), args);
        assert_refused(&mut env, &[ix], &[&lister], how.refusal(), "listing").await;
        rows.push(("listing", "refused"));
    }

    // Everything else goes on.
    env.cancel(&mm, &book, BookSide::Ask, mm_ask).await.expect("cancel while paused");
    assert_eq!(env.seat_of(&book, &mm.margin_account).await.unwrap().open_ask_lots, 0);
    rows.push(("cancel", "allowed"));
    let mut reduce = order(BookSide::Ask, 99, 5, OrderType::ImmediateOrCancel);
    reduce.reduce_only = true;
    let p = env.place(&a, &book, reduce).await.expect("reduce while paused");
    assert_eq!((p.filled, env.position(&a.margin_account, &m.market).await.base_lots), (5, 5));
    rows.push(("reducing fill (both sides shrink)", "allowed"));
    let close = order(BookSide::Ask, 98, 5, OrderType::ImmediateOrCancel);
    let p = env.place(&a, &book, close).await.expect("close while paused");
    assert_eq!((p.filled, env.position(&a.margin_account, &m.market).await.base_lots), (5, 0));
    env.settle_seats(&book).await;
    assert_eq!(env.position(&b.margin_account, &m.market).await.base_lots, 0, "B closed its short too");
    rows.push(("closing fill", "allowed"));
    env.withdraw(&c, 2 * ONE_USDC).await.expect("withdraw while paused");
    rows.push(("withdraw", "allowed"));
    env.deposit(&c, ONE_USDC).await.expect("deposit while paused");
    rows.push(("deposit", "allowed"));
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;

    // Only the admin unpauses; then opening risk works again.
    let e = set_paused(&mut env, &book, how, false, &guardian).await.expect_err("guardian unpauses");
    assert_eq!(custom_code(&e), Some(code(PerpError::NotAdmin)));
    rows.push(("unpause by the guardian", "refused"));
    set_paused(&mut env, &book, how, false, &admin).await.expect("the admin unpauses");
    rows.push(("unpause by the admin", "allowed"));
    env.rest(&c, &book, BookSide::Bid, 95, 5).await;
    rows.push(("new resting order after unpausing", "allowed"));
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;

    println!("pause matrix, {how:?} paused:");
    for (action, outcome) in rows {
        println!("  {action:<36} {outcome}");
    }
}

#[tokio::test]
async fn market_pause_matrix() {
    run_matrix(Pause::Market).await;
}

#[tokio::test]
async fn exchange_pause_matrix() {
    run_matrix(Pause::Exchange).await;
}
