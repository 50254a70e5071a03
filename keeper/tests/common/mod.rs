//! Helpers shared by the keeper's integration tests. Each test binary uses a subset.
#![allow(dead_code)]

use client::batch::Limits;
use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use client::chain::embedded::EmbeddedChain;
use client::chain::{Chain, ChainError, Filter, TxOutput};
use client::discovery;
use client::MarginView;
use keeper::cranks::{self, RiskKeeper, ScanResult};
use keeper::sim::world::{Actor, Group, World};
use orderbook::instructions::OrderType;
use orderbook::Side;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::state::{Market, MarketStatus};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
pub const SOL: usize = 0;
pub const ETH: usize = 1;
/// Every test long buys 10 SOL (1,000 lots of 0.01 SOL) from maker 0's ask at $150.05.
pub const LOTS: u64 = 1_000;
pub const USDC: u64 = keeper::sim::world::USDC;

pub type Bytes = BTreeMap<Pubkey, Option<(u64, Pubkey, Vec<u8>)>>;

/// Sets market `i`'s oracle to `dollars`, publishes it and refreshes every cached index.
pub async fn set_price(w: &mut World, i: usize, dollars: f64) {
    w.markets[i].price = dollars;
    w.publish_prices().await.unwrap();
    let exchange = w.exchange;
    let r = cranks::update_funding(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    assert_eq!(r.failed, 0, "update_funding: {r:?}");
}

#[track_caller]
pub fn assert_accepted(r: Result<TxOutput, ChainError>, what: &str) {
    if let Err(e) = r {
        panic!("the program refused {what}: {e}");
    }
}

#[track_caller]
pub fn assert_refused(r: Result<TxOutput, ChainError>, e: PerpError) {
    match r {
        Err(err) => assert_eq!(err.custom_code(), Some(code(e)), "expected {e:?}, got {err}"),
        Ok(_) => panic!("the program accepted what should be refused with {e:?}"),
    }
}

/// Every account a crank can touch, with its lamports, owner and data (`None`: closed).
pub async fn bytes(w: &mut World) -> Bytes {
    let exchange = w.exchange;
    let mut keys: BTreeSet<Pubkey> =
        [exchange, sdk::vault_address(&exchange), w.admin_tokens, w.lister.tokens].into_iter().collect();
    for m in &w.markets {
        keys.extend([m.market, m.book, m.oracle]);
    }
    keys.extend(w.makers.iter().chain(&w.takers).chain(&w.leveraged).chain([&w.liquidator]).map(|a| a.margin));
    keys.extend(discovery::margin_accounts(&mut w.chain, &exchange).await.unwrap().into_iter().map(|v| v.key));
    keys.remove(&Pubkey::default());
    let mut out = Bytes::new();
    for k in keys {
        let a = w.chain.account(&k).await.unwrap();
        out.insert(k, a.map(|a| (a.lamports, a.owner, a.data)));
    }
    out
}

pub async fn cancel_all(w: &mut World, group: Group, who: usize, i: usize) {
    let venue = w.markets[i].venue(&w.exchange);
    let a = w.actor_ref(group, who);
    let (wallet, margin) = (a.wallet.insecure_clone(), a.margin);
    let ix = orderbook::sdk::cancel_all_orders(&venue, &wallet.pubkey(), &margin, 32);
    assert_accepted(w.chain.send(&[ix], &[&wallet]).await, "cancel_all_orders");
}

/// The keeper's risk scanner acting as `authority`, liquidating with `liquidator`'s account.
pub fn risk_keeper<'k>(
    exchange: Pubkey,
    authority: &'k Keypair,
    liquidator: &'k Actor,
    limits: Limits,
) -> RiskKeeper<'k> {
    RiskKeeper { exchange, authority, liquidator: &liquidator.wallet, liquidator_account: liquidator.margin, limits }
}

/// What runs before each transaction a [`Hooked`] chain sends: it sees the instructions,
/// may change the chain first, and may stop the transaction (which then never reaches it).
pub trait BeforeSend {
    fn before_send(&mut self, chain: &mut EmbeddedChain, ixs: &[Instruction]) -> Result<(), ChainError>;
}

impl<F: FnMut(&mut EmbeddedChain, &[Instruction]) -> Result<(), ChainError>> BeforeSend for F {
    fn before_send(&mut self, chain: &mut EmbeddedChain, ixs: &[Instruction]) -> Result<(), ChainError> {
        self(chain, ixs)
    }
}

/// An embedded chain seen through `hook`.
pub struct Hooked<'c, H> {
    pub chain: &'c mut EmbeddedChain,
    pub hook: H,
}

impl<H: BeforeSend> Chain for Hooked<'_, H> {
    fn payer(&self) -> &Keypair {
        self.chain.payer()
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, ChainError> {
        self.hook.before_send(self.chain, ixs)?;
        self.chain.send(ixs, signers).await
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        self.chain.account(key).await
    }

    async fn program_accounts(
        &mut self,
        program: &Pubkey,
        filters: &[Filter],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        self.chain.program_accounts(program, filters).await
    }

    async fn unix_time(&mut self) -> Result<i64, ChainError> {
        self.chain.unix_time().await
    }

    async fn minimum_balance(&mut self, len: usize) -> Result<u64, ChainError> {
        self.chain.minimum_balance(len).await
    }
}

pub fn clone_actor(a: &Actor) -> Actor {
    Actor { wallet: a.wallet.insecure_clone(), tokens: a.tokens, margin: a.margin }
}

pub fn code(e: PerpError) -> u32 {
    e.into()
}

/// SOL at $150; one new account per deposit holds a 10 SOL long bought from maker 0. Then
/// SOL falls to $136 (every long below maintenance, none underwater) and maker 1 bids a
/// deep book just under it.
pub async fn liquidatable_longs(seed: u64, deposits: &[u64]) -> (World, Vec<Pubkey>) {
    let mut w = world(seed).await;
    place(&mut w, Group::Maker, 0, SOL, Side::Ask, 150.05, LOTS * deposits.len() as u64, OrderType::PostOnlySlide)
        .await;
    let mut longs = vec![];
    for d in deposits {
        let a = w.actor(d * USDC, true).await.unwrap();
        longs.push(a.margin);
        w.leveraged.push(a);
        let idx = w.leveraged.len() - 1;
        place(&mut w, Group::Leveraged, idx, SOL, Side::Bid, 150.05, LOTS, OrderType::ImmediateOrCancel).await;
    }
    // The keeper's crank settles maker 0's seat: its short shows, and its allowance (all
    // used) is given back, so the short may absorb deleveraging.
    let exchange = w.exchange;
    keeper::cranks::settle_seats(&mut w.chain, &exchange, Limits::default()).await.unwrap();
    w.chain.warp(30).await.unwrap();
    set_price(&mut w, SOL, 136.0).await;
    for px in [135.95, 135.90, 135.85] {
        place(&mut w, Group::Maker, 1, SOL, Side::Bid, px, 2_000, OrderType::PostOnlySlide).await;
    }
    (w, longs)
}

pub fn lots_in(view: &MarginView, market: &Pubkey) -> i64 {
    view.positions.iter().find(|p| !p.is_free() && p.market == *market).map(|p| p.base_lots).unwrap_or(0)
}

pub async fn margin(w: &mut World, key: &Pubkey) -> MarginView {
    let data = w.chain.account_data(key).await.unwrap();
    client::decode_margin(*key, &data).expect("a margin account")
}
pub async fn place(
    w: &mut World,
    group: Group,
    who: usize,
    i: usize,
    side: Side,
    dollars: f64,
    lots: u64,
    order_type: OrderType,
) {
    let ticks = w.markets[i].ticks(dollars);
    let (ix, wallet) = w.order_ix(who, group, i, side, ticks, lots, order_type).await.unwrap();
    assert_accepted(w.chain.send(&[ix], &[&wallet]).await, "an order");
}

pub fn scan_counts(s: &ScanResult) -> [u32; 5] {
    [s.liquidations, s.early_deleverages, s.deleverages, s.insurance_covers, s.failed]
}

/// A fresh world with every cached index current.
pub async fn world(seed: u64) -> World {
    let mut w = World::build(seed).await.unwrap();
    w.chain.warp(60).await.unwrap();
    set_price(&mut w, SOL, 150.0).await;
    w
}

/// ETH traded (taker 0 long 0.1 ETH from maker 0, maker 1 resting a bid) and then settled
/// by the admin at its $3,000 index. Returns the accounts holding a slot in ETH.
pub async fn settled_eth(seed: u64) -> (World, Vec<Pubkey>) {
    let mut w = world(seed).await;
    place(&mut w, Group::Maker, 0, ETH, Side::Ask, 3_001.0, 100, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Maker, 1, ETH, Side::Bid, 2_999.0, 50, OrderType::PostOnlySlide).await;
    place(&mut w, Group::Taker, 0, ETH, Side::Bid, 3_001.0, 100, OrderType::ImmediateOrCancel).await;
    let admin = w.admin.insecure_clone();
    let eth = w.markets[ETH].clone();
    let ix = sdk::final_settle_market(&admin.pubkey(), &w.exchange, &eth.market, &eth.oracle, 2_940_000, 3_060_000);
    assert_accepted(w.chain.send(&[ix], &[&admin]).await, "final_settle_market");
    let state = market_state(&mut w, ETH).await.unwrap();
    assert_eq!(state.status, MarketStatus::FinalSettlement as u8);
    let exchange = w.exchange;
    let holders: Vec<Pubkey> = discovery::margin_accounts(&mut w.chain, &exchange)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.positions.iter().any(|p| p.market == eth.market))
        .map(|v| v.key)
        .collect();
    assert_eq!(holders.len(), 3, "maker 0 (short), maker 1 (a resting bid), taker 0 (long)");
    (w, holders)
}

pub async fn market_state(w: &mut World, i: usize) -> Option<Market> {
    let key = w.markets[i].market;
    client::decode_market(&w.chain.account_data(&key).await.unwrap())
}
