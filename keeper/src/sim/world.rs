//! The simulated exchange: chain, authorities, markets with their books and oracles, and
//! the actors who trade. Every key comes from the seed, so a seed always builds the same world.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use client::chain::embedded::EmbeddedChain;
use client::chain::{Chain, ChainError};
use orderbook::instructions::{CreateBookArgs, OrderType, PlaceOrderArgs};
use orderbook::sdk::Venue;
use orderbook::{SelfTradeBehavior, Side};
use perpetual::sdk;
use perpetual::sdk::{CreateMarketArgs, InitializeExchangeArgs};
use perpetual::OracleKind;
use pyth_sdk_solana::state::PriceStatus;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;

pub const USDC: u64 = 1_000_000;
/// 2026-01-01T00:00:00Z: every run starts here, so minute boundaries never depend on wall time.
pub const START_TIME: i64 = 1_767_225_600;

/// How a market is priced and quoted.
#[derive(Clone, Debug)]
pub struct SimMarket {
    pub symbol: String,
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub book: Pubkey,
    pub kind: OracleKind,
    /// Quote native units per lot per tick.
    pub tick: u64,
    /// Oracle price exponent and base-unit scaling: price per lot = dollars * per_lot_scale.
    pub expo: i32,
    /// Quote native per lot for one dollar of base price.
    pub lots_per_dollar_scale: f64,
    /// Base units per lot (for reporting sizes).
    pub lot_base: f64,
    pub price: f64,
}

/// How a market's price reaches its oracle.
pub enum PriceUpdate {
    /// The Pyth account's new bytes (a price feed writes them).
    Account(Account),
    /// `set_oracle_price`, signed by the oracle's authority.
    Instruction(Instruction),
}

impl SimMarket {
    /// Its current price for its oracle at `now` (`authority`: the settable oracle's); `None`
    /// for a market without a feed the simulation publishes.
    pub fn price_update(&self, authority: &Pubkey, now: i64) -> Option<PriceUpdate> {
        match self.kind {
            OracleKind::PythLegacy => {
                let price = (self.price * 1e8).round() as i64;
                Some(PriceUpdate::Account(Account {
                    lamports: 1_000_000_000,
                    data: pyth_bytes(price, (price / 5_000) as u64, self.expo, now),
                    owner: perpetual::state::PYTH_PROGRAM_IDS[0],
                    executable: false,
                    rent_epoch: 0,
                }))
            }
            OracleKind::SetPrice => {
                let price = (self.price * 100.0).round() as i64;
                Some(PriceUpdate::Instruction(sdk::set_oracle_price(
                    authority,
                    &self.oracle,
                    price,
                    (price / 5_000) as u64,
                )))
            }
            // The simulation lists no pull-oracle market.
            OracleKind::None | OracleKind::PythPull => None,
        }
    }

    pub fn venue(&self, exchange: &Pubkey) -> Venue {
        Venue { book: self.book, market: self.market, oracle: self.oracle, exchange: *exchange }
    }

    /// The price in ticks for a dollar price.
    pub fn ticks(&self, dollars: f64) -> u64 {
        ((dollars * self.lots_per_dollar_scale) / self.tick as f64).round().max(1.0) as u64
    }

    /// Lots for a size in base units.
    pub fn lots(&self, base: f64) -> u64 {
        (base / self.lot_base).round().max(1.0) as u64
    }
}

pub struct Actor {
    pub wallet: Keypair,
    pub tokens: Pubkey,
    pub margin: Pubkey,
}

pub struct World {
    pub chain: EmbeddedChain,
    pub rng: ChaCha8Rng,
    pub admin: Keypair,
    /// Funding, risk and deleveraging authority: the keeper.
    pub keeper: Keypair,
    pub mint_authority: Keypair,
    pub mint: Pubkey,
    pub exchange: Pubkey,
    pub markets: Vec<SimMarket>,
    pub makers: Vec<Actor>,
    pub takers: Vec<Actor>,
    pub leveraged: Vec<Actor>,
    pub liquidator: Actor,
    pub lister: Actor,
    /// The admin's collateral account (insurance deposit; ETH's closing returns here).
    pub admin_tokens: Pubkey,
}

pub fn keypair(rng: &mut ChaCha8Rng) -> Keypair {
    Keypair::new_from_array(rng.gen())
}

/// A Pyth legacy price account's bytes, in the real layout.
pub fn pyth_bytes(price: i64, conf: u64, expo: i32, ts: i64) -> Vec<u8> {
    sdk::pyth_price_account_bytes(price, conf, expo, ts, PriceStatus::Trading)
}

/// Who creates an exchange on the embedded chain: its admin (also the pause guardian), the
/// keeper (funding, risk and deleveraging authority), the collateral mint's keypair and
/// its authority.
pub struct ExchangeKeys<'k> {
    pub admin: &'k Keypair,
    pub keeper: &'k Keypair,
    pub mint: &'k Keypair,
    pub mint_authority: &'k Keypair,
}

/// Funds the admin, the keeper and `others` with `lamports` each, creates the USDC-like mint
/// (6 decimals), initialises the exchange as the deployment's upgrade authority, approves
/// the order book and sets a 100 USDC listing deposit. Returns the exchange.
pub async fn create_exchange(
    chain: &mut EmbeddedChain,
    keys: &ExchangeKeys<'_>,
    others: &[Pubkey],
    lamports: u64,
) -> Result<Pubkey, ChainError> {
    let (admin, keeper, mint) = (keys.admin, keys.keeper, keys.mint);
    let payer = chain.payer().pubkey();
    for k in [admin.pubkey(), keeper.pubkey()].iter().chain(others) {
        chain.send(&[solana_system_interface::instruction::transfer(&payer, k, lamports)], &[]).await?;
    }
    let rent = chain.minimum_balance(spl_token_interface::state::Mint::LEN).await?;
    let ixs = client::token::create_mint(&payer, &mint.pubkey(), &keys.mint_authority.pubkey(), 6, rent);
    chain.send(&ixs, &[mint]).await?;
    let exchange = sdk::exchange_address(&mint.pubkey());
    let args = InitializeExchangeArgs {
        funding_authority: keeper.pubkey(),
        risk_authority: keeper.pubkey(),
        pause_guardian: admin.pubkey(),
        deleverage_authority: keeper.pubkey(),
    };
    let deployer = client::harness::deployer();
    let ix = sdk::initialize_exchange(&deployer.pubkey(), &admin.pubkey(), &mint.pubkey(), args);
    chain.send(&[ix], &[admin, &deployer]).await?;
    chain.send(&[sdk::approve_trader(&admin.pubkey(), &exchange, &orderbook::ID)], &[admin]).await?;
    chain.send(&[sdk::set_listing_deposit(&admin.pubkey(), &exchange, 100 * USDC)], &[admin]).await?;
    Ok(exchange)
}

impl World {
    /// The world with an insurance fund of 10,000 USDC.
    pub async fn build(seed: u64) -> Result<Self, ChainError> {
        Self::build_with_insurance(seed, 10_000).await
    }

    /// The world with an insurance fund of `insurance_usdc` from the admin.
    pub async fn build_with_insurance(seed: u64, insurance_usdc: u64) -> Result<Self, ChainError> {
        let mut chain = EmbeddedChain::start().await;
        chain.set_time(START_TIME).await?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let admin = keypair(&mut rng);
        let keeper = keypair(&mut rng);
        let mint_authority = keypair(&mut rng);
        let mint = keypair(&mut rng);
        let keys = ExchangeKeys { admin: &admin, keeper: &keeper, mint: &mint, mint_authority: &mint_authority };
        let exchange = create_exchange(&mut chain, &keys, &[], 100_000_000_000).await?;

        let mut world = World {
            chain,
            rng,
            admin,
            keeper,
            mint_authority,
            mint: mint.pubkey(),
            exchange,
            markets: vec![],
            makers: vec![],
            takers: vec![],
            leveraged: vec![],
            liquidator: Actor {
                wallet: Keypair::new_from_array([0; 32]),
                tokens: Pubkey::default(),
                margin: Pubkey::default(),
            },
            lister: Actor {
                wallet: Keypair::new_from_array([0; 32]),
                tokens: Pubkey::default(),
                margin: Pubkey::default(),
            },
            admin_tokens: Pubkey::default(),
        };
        world.lister = world.actor(1_000 * USDC, false).await?;
        world.liquidator = world.actor(200_000 * USDC, true).await?;
        for _ in 0..2 {
            let a = world.actor(400_000 * USDC, true).await?;
            world.makers.push(a);
        }
        for _ in 0..4 {
            let a = world.actor(20_000 * USDC, true).await?;
            world.takers.push(a);
        }
        // Leveraged longs that the crash will break: a takeover, an early deleveraging (too
        // big for the thin book) and a gap into negative equity (the insurance fund).
        for deposit in [150, 520, 450] {
            let a = world.actor(deposit * USDC, true).await?;
            world.leveraged.push(a);
        }
        let admin_tokens = world.token_account(&world.admin.pubkey(), 10_000 * USDC).await?;
        world.admin_tokens = admin_tokens;
        let ix =
            sdk::deposit_insurance(&world.admin.pubkey(), &exchange, &world.mint, &admin_tokens, insurance_usdc * USDC);
        let admin = world.admin.insecure_clone();
        world.chain.send(&[ix], &[&admin]).await?;

        world.create_markets().await?;
        Ok(world)
    }

    /// A new token account of the collateral mint for `owner`, holding `amount`.
    pub async fn token_account(&mut self, owner: &Pubkey, amount: u64) -> Result<Pubkey, ChainError> {
        let account = keypair(&mut self.rng);
        let payer = self.chain.payer().pubkey();
        let lamports = self.chain.minimum_balance(spl_token_interface::state::Account::LEN).await?;
        let mint_authority = self.mint_authority.insecure_clone();
        let ixs = client::token::create_funded_account(
            &payer,
            &account.pubkey(),
            &self.mint,
            owner,
            lamports,
            &mint_authority.pubkey(),
            amount,
        );
        self.chain.send(&ixs, &[&account, &mint_authority]).await?;
        Ok(account.pubkey())
    }

    /// A funded wallet with a token account; with `margin`, a margin account holding it all.
    pub async fn actor(&mut self, deposit: u64, margin: bool) -> Result<Actor, ChainError> {
        let wallet = keypair(&mut self.rng);
        let payer = self.chain.payer().pubkey();
        self.chain
            .send(&[solana_system_interface::instruction::transfer(&payer, &wallet.pubkey(), 10_000_000_000)], &[])
            .await?;
        let tokens = self.token_account(&wallet.pubkey(), deposit).await?;
        if !margin {
            return Ok(Actor { wallet, tokens, margin: Pubkey::default() });
        }
        let account = sdk::margin_account_address(&self.exchange, &wallet.pubkey(), 0);
        self.chain.send(&[sdk::create_margin_account(&wallet.pubkey(), &self.exchange, 0, 16)], &[&wallet]).await?;
        self.chain
            .send(&[sdk::deposit(&wallet.pubkey(), &self.exchange, &self.mint, &account, &tokens, deposit)], &[&wallet])
            .await?;
        Ok(Actor { wallet, tokens, margin: account })
    }

    /// SOL-PERP on a Pyth-format feed, ETH-PERP on the settable oracle (it ends in final
    /// settlement), and MEME-PERP without a spot index, listed permissionlessly.
    async fn create_markets(&mut self) -> Result<(), ChainError> {
        let admin = self.admin.insecure_clone();
        let now = self.chain.unix_time().await?;
        // SOL: $150.00, Pyth expo -8, 9 decimals, lots of 0.01 SOL ($1.50), tick $0.01.
        let sol_oracle = Pubkey::new_from_array(self.rng.gen());
        self.chain.set_account(
            &sol_oracle,
            Account {
                lamports: 1_000_000_000,
                data: pyth_bytes(150 * 100_000_000, 2_000_000, -8, now),
                owner: perpetual::state::PYTH_PROGRAM_IDS[0],
                executable: false,
                rent_epoch: 0,
            },
        );
        let sol = market_args("SOL-PERP", OracleKind::PythLegacy, 9, 10_000_000);
        self.chain.send(&[sdk::create_market(&admin.pubkey(), &self.exchange, &sol_oracle, sol)], &[&admin]).await?;
        self.add_market("SOL-PERP", sol_oracle, OracleKind::PythLegacy, 100, -8, 10_000.0, 0.01, 150.0).await?;

        // ETH: $3,000.00 on the program's settable oracle (expo -2), lots of 0.001 ETH ($3), tick $0.10.
        let eth_symbol = sdk::symbol("ETH-PERP");
        self.chain.send(&[sdk::create_price_oracle(&admin.pubkey(), eth_symbol, -2)], &[&admin]).await?;
        let eth_oracle = sdk::price_oracle_address(&admin.pubkey(), &eth_symbol);
        self.chain.send(&[sdk::set_oracle_price(&admin.pubkey(), &eth_oracle, 300_000, 100)], &[&admin]).await?;
        let eth = market_args("ETH-PERP", OracleKind::SetPrice, 9, 1_000_000);
        self.chain.send(&[sdk::create_market(&admin.pubkey(), &self.exchange, &eth_oracle, eth)], &[&admin]).await?;
        self.add_market("ETH-PERP", eth_oracle, OracleKind::SetPrice, 100, -2, 1_000.0, 0.001, 3_000.0).await?;

        // MEME: no spot index, $0.50 opening price, lots of 1 MEME, tick $0.001; listed by
        // anyone through the keeper's listing loop.
        let lister = self.lister.wallet.insecure_clone();
        let keeper = self.keeper.insecure_clone();
        let meme = crate::cranks::ListingInput {
            symbol: "MEME-PERP".into(),
            pyth_oracle: None,
            base_decimals: 6,
            base_lot_size: 1_000_000,
            initial_price_per_lot: 500_000,
            closes: vec![],
        };
        let (exchange, mint, tokens) = (self.exchange, self.mint, self.lister.tokens);
        crate::cranks::list_assets(&mut self.chain, &exchange, &mint, &lister, &tokens, &keeper, &[meme]).await?;
        self.add_market("MEME-PERP", Pubkey::default(), OracleKind::None, 1_000, 0, 1_000_000.0, 1.0, 0.5).await?;
        Ok(())
    }
    async fn add_market(
        &mut self,
        symbol: &str,
        oracle: Pubkey,
        kind: OracleKind,
        tick: u64,
        expo: i32,
        scale: f64,
        lot_base: f64,
        price: f64,
    ) -> Result<(), ChainError> {
        let market = sdk::market_address(&self.exchange, &sdk::symbol(symbol));
        let book = keypair(&mut self.rng);
        let args = CreateBookArgs {
            tick_size: tick,
            min_base_lots: 1,
            side_capacity: 256,
            seat_capacity: 64,
            max_orders_per_account: 32,
        };
        let space = orderbook::state::Book::space(args.side_capacity, args.seat_capacity);
        let rent = self.chain.minimum_balance(space).await?;
        let authority =
            if kind == OracleKind::None { self.lister.wallet.insecure_clone() } else { self.admin.insecure_clone() };
        let payer = self.chain.payer().insecure_clone();
        let ixs = orderbook::sdk::create_book(
            &payer.pubkey(),
            &authority.pubkey(),
            &self.exchange,
            &market,
            &book.pubkey(),
            rent,
            args,
        );
        self.chain.send(&ixs, &[&authority, &book]).await?;
        self.markets.push(SimMarket {
            symbol: symbol.into(),
            market,
            oracle,
            book: book.pubkey(),
            kind,
            tick,
            expo,
            lots_per_dollar_scale: scale * 1.0,
            lot_base,
            price,
        });
        Ok(())
    }

    /// Publishes the simulation's prices: the Pyth account and the settable oracle.
    pub async fn publish_prices(&mut self) -> Result<(), ChainError> {
        let now = self.chain.unix_time().await?;
        let admin = self.admin.insecure_clone();
        for m in self.markets.clone() {
            match m.price_update(&admin.pubkey(), now) {
                Some(PriceUpdate::Account(account)) => self.chain.set_account(&m.oracle, account),
                Some(PriceUpdate::Instruction(ix)) => {
                    self.chain.send(&[ix], &[&admin]).await?;
                }
                None => {}
            }
        }
        Ok(())
    }

    /// The actor's health accounts (markets only: their cached index is refreshed every step).
    pub async fn health(&mut self, margin: &Pubkey, skip: &Pubkey) -> Result<Vec<AccountMeta>, ChainError> {
        let data = self.chain.account_data(margin).await?;
        let Some(view) = client::decode_margin(*margin, &data) else { return Ok(vec![]) };
        Ok(sdk::health_metas(&view.positions, &[*skip], |_| None))
    }

    /// A `place_order` for `actor` in market `i`.
    pub async fn order_ix(
        &mut self,
        actor: usize,
        group: Group,
        i: usize,
        side: Side,
        price_ticks: u64,
        lots: u64,
        order_type: OrderType,
    ) -> Result<(Instruction, Keypair), ChainError> {
        let (wallet, margin) = {
            let a = self.actor_ref(group, actor);
            (a.wallet.insecure_clone(), a.margin)
        };
        let m = self.markets[i].clone();
        let seat = self.seat(&m, &margin).await?;
        let health = self.health(&margin, &m.market).await?;
        let args = order_args(side, price_ticks, lots, order_type, seat);
        Ok((orderbook::sdk::place_order(&m.venue(&self.exchange), &wallet.pubkey(), &margin, args, health), wallet))
    }

    pub fn actor_ref(&self, group: Group, i: usize) -> &Actor {
        match group {
            Group::Maker => &self.makers[i],
            Group::Taker => &self.takers[i],
            Group::Leveraged => &self.leveraged[i],
        }
    }

    /// The account's seat in the book, or the first free one.
    async fn seat(&mut self, m: &SimMarket, margin: &Pubkey) -> Result<u32, ChainError> {
        let data = self.chain.account_data(&m.book).await?;
        let Ok(book) = orderbook::state::BookRef::parse(&data) else { return Ok(0) };
        Ok(orderbook::decode::seat_hint(&book, margin).unwrap_or(0))
    }
}

/// A plain order: not reduce-only, no client id, no expiry; a self-trade cancels the resting
/// order.
pub fn order_args(side: Side, price_ticks: u64, lots: u64, order_type: OrderType, seat_hint: u32) -> PlaceOrderArgs {
    PlaceOrderArgs {
        side,
        price_ticks,
        base_lots: lots,
        order_type,
        reduce_only: false,
        self_trade: SelfTradeBehavior::CancelResting,
        client_order_id: 0,
        expiry_ts: 0,
        seat_hint,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Maker,
    Taker,
    Leveraged,
}

fn market_args(symbol: &str, kind: OracleKind, base_decimals: u8, base_lot_size: u64) -> CreateMarketArgs {
    CreateMarketArgs {
        symbol: sdk::symbol(symbol),
        oracle_kind: kind,
        base_decimals,
        base_lot_size,
        oracle_max_age_secs: 120,
        oracle_max_conf_bps: 100,
        price_band_bps: 500,
        init_margin_long_bps: 1_000,
        init_margin_short_bps: 1_000,
        maker_fee_ppm: -100,
        taker_fee_ppm: 500,
        max_funding_rate_ppbh: 1_000_000,
        max_funding_rate_change_ppbh: 500_000,
        funding_window_secs: 3_600,
        oracle_feed_id: None,
    }
}
