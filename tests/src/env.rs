//! The test environment: chain, authorities, collateral mint, exchange, and fixtures.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{Discriminator, InstructionData, ToAccountMetas};
use client::chain::required_signers;
use client::harness;
use perpetual::sdk;
use perpetual::sdk::{CreateMarketArgs, InitializeExchangeArgs, SettleFillsArgs};
use perpetual::state::{Exchange, MarginAccount, Market, Position};
use perpetual::{Fill, OracleKind, Release};
use pyth_sdk_solana::state::PriceStatus;
use solana_account::Account;
use solana_clock::Clock;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_program_test::{ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::pyth;

pub const COLLATERAL_DECIMALS: u8 = 6;
pub const ONE_USDC: u64 = 1_000_000;

/// A market created by the harness.
#[derive(Clone, Copy, Debug)]
pub struct MarketCookie {
    pub symbol: [u8; 16],
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub kind: OracleKind,
    /// Pyth-format price expo (both oracle kinds use `price * 10^expo`).
    pub expo: i32,
}

/// A user created by the harness: wallet, token account and margin account 0.
pub struct UserCookie {
    pub owner: Keypair,
    pub token_account: Pubkey,
    pub margin_account: Pubkey,
}

impl UserCookie {
    pub fn key(&self) -> Pubkey {
        self.owner.pubkey()
    }
}

/// What a transaction returned: logs and return data of the last program that set it.
pub use client::chain::TxOutput;

pub struct TestEnv {
    pub ctx: ProgramTestContext,
    pub admin: Keypair,
    pub funding_authority: Keypair,
    pub risk_authority: Keypair,
    pub guardian: Keypair,
    pub deleverage_authority: Keypair,
    pub oracle_authority: Keypair,
    pub mint_authority: Keypair,
    pub mint: Pubkey,
    pub exchange: Pubkey,
    pub vault: Pubkey,
    pub markets: Vec<MarketCookie>,
    pub margin_accounts: Vec<Pubkey>,
    pub books: Vec<crate::book::BookCookie>,
    nonce: u32,
}

/// Default market parameters: 10% / 5% margins, 5% band, 1 lot = 1 base unit of 6 decimals.
pub fn market_args(symbol: &str, kind: OracleKind) -> CreateMarketArgs {
    CreateMarketArgs {
        symbol: sdk::symbol(symbol),
        oracle_kind: kind,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        oracle_max_age_secs: 60,
        oracle_max_conf_bps: 200,
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

impl TestEnv {
    /// The shared harness's chain: perpetual, the test trader, the order book and the
    /// integrator example (programs/vault), all loaded natively.
    pub fn program_test() -> ProgramTest {
        harness::program_test(harness::ALL)
    }

    /// Chain with the collateral mint, the exchange and the test trader approved.
    pub async fn new() -> Self {
        Self::with_program_test(Self::program_test()).await
    }

    pub async fn with_program_test(pt: ProgramTest) -> Self {
        let ctx = pt.start_with_context().await;
        let mut env = TestEnv {
            ctx,
            admin: Keypair::new(),
            funding_authority: Keypair::new(),
            risk_authority: Keypair::new(),
            guardian: Keypair::new(),
            deleverage_authority: Keypair::new(),
            oracle_authority: Keypair::new(),
            mint_authority: Keypair::new(),
            mint: Pubkey::default(),
            exchange: Pubkey::default(),
            vault: Pubkey::default(),
            markets: vec![],
            margin_accounts: vec![],
            books: vec![],
            nonce: 0,
        };
        for k in [env.admin.pubkey(), env.oracle_authority.pubkey()] {
            env.airdrop(&k, 10_000_000_000).await;
        }
        env.mint = env.create_mint().await;
        env.exchange = sdk::exchange_address(&env.mint);
        env.vault = sdk::vault_address(&env.exchange);
        let args = InitializeExchangeArgs {
            funding_authority: env.funding_authority.pubkey(),
            risk_authority: env.risk_authority.pubkey(),
            pause_guardian: env.guardian.pubkey(),
            deleverage_authority: env.deleverage_authority.pubkey(),
        };
        let deployer = client::harness::deployer();
        let ix = sdk::initialize_exchange(&deployer.pubkey(), &env.admin.pubkey(), &env.mint, args);
        env.process(&[ix], &[&env.admin.insecure_clone(), &deployer]).await.expect("initialize exchange");
        let ix = sdk::approve_trader(&env.admin.pubkey(), &env.exchange, &test_trader::ID);
        env.process(&[ix], &[&env.admin.insecure_clone()]).await.expect("approve test trader");
        let ix = sdk::approve_trader(&env.admin.pubkey(), &env.exchange, &orderbook::ID);
        env.process(&[ix], &[&env.admin.insecure_clone()]).await.expect("approve order book");
        env
    }

    // ---- transactions ----

    /// Sends one transaction paid by the context payer.
    pub async fn process(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, TransactionError> {
        self.process_logged(ixs, signers).await.0
    }

    /// The transaction every helper sends: a leading compute-budget instruction makes it
    /// unique (it must lead: every instruction resets return data), then `ixs`, paid by
    /// `fee_payer`. Signers the message does not ask for are dropped, so fixtures can pass
    /// extras.
    async fn signed_tx(&mut self, ixs: &[Instruction], fee_payer: &Keypair, signers: &[&Keypair]) -> Transaction {
        self.nonce += 1;
        let mut all = vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(
            1_400_000 - self.nonce,
        )];
        all.extend_from_slice(ixs);
        let keys = required_signers(fee_payer, &all, signers);
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        Transaction::new_signed_with_payer(&all, Some(&fee_payer.pubkey()), &keys, blockhash)
    }

    /// Sends the transaction and returns its result with its logs.
    async fn send_paid_by(
        &mut self,
        ixs: &[Instruction],
        fee_payer: &Keypair,
        signers: &[&Keypair],
    ) -> (Result<TxOutput, TransactionError>, Vec<String>) {
        let tx = self.signed_tx(ixs, fee_payer, signers).await;
        let res = self.ctx.banks_client.process_transaction_with_metadata(tx).await.expect("banks client");
        let meta = res.metadata.unwrap_or_default_meta();
        let logs = meta.logs.clone();
        (res.result.map(|_| meta), logs)
    }

    /// A signed legacy transaction of `ixs` paid by the context payer and signed by `owner`,
    /// not sent: (serialized bytes, accounts locked), to hold against 1,232 bytes and 64.
    pub async fn measure(&mut self, ixs: &[Instruction], owner: &Keypair) -> (usize, usize) {
        let payer = self.ctx.payer.insecure_clone();
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &[&payer, owner], blockhash);
        (bincode::serialize(&tx).expect("serialize").len(), tx.message.account_keys.len())
    }

    /// Sends and expects failure with a custom program error code.
    pub async fn process_err(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> u32 {
        match self.process(ixs, signers).await {
            Ok(_) => panic!("transaction unexpectedly succeeded"),
            Err(e) => custom_code(&e).unwrap_or_else(|| panic!("expected a custom error, got {e:?}")),
        }
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let payer = self.ctx.payer.insecure_clone();
        let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), to, lamports);
        self.process(&[ix], &[]).await.expect("airdrop");
    }

    // ---- clock ----

    pub async fn clock(&mut self) -> Clock {
        self.ctx.banks_client.get_sysvar::<Clock>().await.expect("clock")
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    /// Moves the cluster clock forward by `secs` seconds.
    pub async fn warp(&mut self, secs: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp += secs;
        self.ctx.set_sysvar(&clock);
    }

    // ---- tokens ----

    pub async fn create_mint(&mut self) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let lamports = rent.minimum_balance(spl_token_interface::state::Mint::LEN);
        let ixs = client::token::create_mint(
            &self.ctx.payer.pubkey(),
            &mint.pubkey(),
            &self.mint_authority.pubkey(),
            COLLATERAL_DECIMALS,
            lamports,
        );
        self.process(&ixs, &[&mint]).await.expect("create mint");
        mint.pubkey()
    }

    /// A token account of the collateral mint owned by `owner`, holding `amount`.
    pub async fn create_token_account(&mut self, owner: &Pubkey, amount: u64) -> Pubkey {
        let account = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let lamports = rent.minimum_balance(spl_token_interface::state::Account::LEN);
        let mint_authority = self.mint_authority.insecure_clone();
        let ixs = client::token::create_funded_account(
            &self.ctx.payer.pubkey(),
            &account.pubkey(),
            &self.mint,
            owner,
            lamports,
            &mint_authority.pubkey(),
            amount,
        );
        self.process(&ixs, &[&account, &mint_authority]).await.expect("token account");
        account.pubkey()
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let data = self.account_data(account).await;
        let state = spl_token_interface::state::Account::unpack(&data).expect("token account");
        state.amount
    }

    // ---- fixtures ----

    /// A funded wallet with a token account holding `tokens` and an empty margin account 0.
    pub async fn create_user(&mut self, tokens: u64) -> UserCookie {
        let owner = Keypair::new();
        self.airdrop(&owner.pubkey(), 1_000_000_000).await;
        let token_account = self.create_token_account(&owner.pubkey(), tokens).await;
        let ix = sdk::create_margin_account(&owner.pubkey(), &self.exchange, 0, 16);
        self.process(&[ix], &[&owner]).await.expect("create margin account");
        let margin_account = sdk::margin_account_address(&self.exchange, &owner.pubkey(), 0);
        self.margin_accounts.push(margin_account);
        UserCookie { owner, token_account, margin_account }
    }

    /// A user who has deposited `amount` into its margin account.
    pub async fn funded_user(&mut self, amount: u64) -> UserCookie {
        let user = self.create_user(amount).await;
        self.deposit(&user, amount).await.expect("deposit");
        user
    }

    pub async fn deposit(&mut self, user: &UserCookie, amount: u64) -> Result<TxOutput, TransactionError> {
        let ix =
            sdk::deposit(&user.key(), &self.exchange, &self.mint, &user.margin_account, &user.token_account, amount);
        self.process(&[ix], &[&user.owner]).await
    }

    pub async fn withdraw(&mut self, user: &UserCookie, amount: u64) -> Result<TxOutput, TransactionError> {
        let ix = self.withdraw_ix(user, amount).await;
        self.process(&[ix], &[&user.owner]).await
    }

    /// `withdraw` for `user`'s margin account 0 with its health accounts.
    pub async fn withdraw_ix(&mut self, user: &UserCookie, amount: u64) -> Instruction {
        let health = self.health_metas(&user.margin_account, &[]).await;
        sdk::withdraw(
            &user.key(),
            &self.exchange,
            &self.mint,
            &user.margin_account,
            &user.token_account,
            amount,
            health,
        )
    }

    /// A market on the program's settable oracle at `price * 10^expo` (expo -6).
    pub async fn create_market(&mut self, symbol: &str, price: i64) -> MarketCookie {
        self.create_market_with(market_args(symbol, OracleKind::SetPrice), price).await
    }

    pub async fn create_market_with(&mut self, args: CreateMarketArgs, price: i64) -> MarketCookie {
        let expo = -6;
        let oracle = match args.oracle_kind {
            OracleKind::SetPrice => {
                let auth = self.oracle_authority.insecure_clone();
                let ix = sdk::create_price_oracle(&auth.pubkey(), args.symbol, expo);
                self.process(&[ix], &[&auth]).await.expect("create oracle");
                sdk::price_oracle_address(&auth.pubkey(), &args.symbol)
            }
            OracleKind::PythLegacy => {
                let key = Pubkey::new_unique();
                let now = self.now().await;
                self.write_pyth(&key, price, 0, expo, now, PriceStatus::Trading);
                key
            }
            OracleKind::PythPull => {
                let key = Pubkey::new_unique();
                let now = self.now().await;
                let feed = args.oracle_feed_id.unwrap_or(pyth::TEST_FEED_ID);
                self.write_pull(&key, &pyth::price_update_bytes(feed, price, 0, expo, now, pyth::FULL));
                key
            }
            OracleKind::None => Pubkey::default(),
        };
        let cookie = MarketCookie {
            symbol: args.symbol,
            market: sdk::market_address(&self.exchange, &args.symbol),
            oracle,
            kind: args.oracle_kind,
            expo,
        };
        self.set_price(&cookie, price).await;
        let admin = self.admin.insecure_clone();
        let ix = sdk::create_market(&admin.pubkey(), &self.exchange, &oracle, args);
        self.process(&[ix], &[&admin]).await.expect("create market");
        self.markets.push(cookie);
        cookie
    }

    /// Writes a fresh oracle price (stamped now), whatever the oracle kind.
    pub async fn set_price(&mut self, market: &MarketCookie, price: i64) {
        match market.kind {
            OracleKind::SetPrice => {
                let auth = self.oracle_authority.insecure_clone();
                let ix = sdk::set_oracle_price(&auth.pubkey(), &market.oracle, price, 0);
                self.process(&[ix], &[&auth]).await.expect("set price");
            }
            OracleKind::PythLegacy => {
                let now = self.now().await;
                self.write_pyth(&market.oracle, price, 0, market.expo, now, PriceStatus::Trading);
            }
            OracleKind::PythPull => {
                let now = self.now().await;
                // Keeps the feed the account holds (the market pins it).
                let held = self.account_data(&market.oracle).await;
                let feed =
                    perpetual::state::PythPriceUpdateV2::parse(&held).expect("a price update").price_message.feed_id;
                self.write_pull(
                    &market.oracle,
                    &pyth::price_update_bytes(feed, price, 0, market.expo, now, pyth::FULL),
                );
            }
            // No spot index: the book alone prices the market.
            OracleKind::None => {}
        }
    }

    /// Overwrites a Pyth price account with the given fields.
    pub fn write_pyth(&mut self, key: &Pubkey, price: i64, conf: u64, expo: i32, ts: i64, status: PriceStatus) {
        let data = pyth::price_account_bytes(price, conf, expo, ts, status);
        let account =
            Account { lamports: 1_000_000_000, data, owner: pyth::PYTH_PROGRAM, executable: false, rent_epoch: 0 };
        self.ctx.set_account(key, &account.into());
    }

    /// Overwrites a Pyth pull-oracle update account (receiver-owned) with `data`.
    pub fn write_pull(&mut self, key: &Pubkey, data: &[u8]) {
        let account = Account {
            lamports: 1_000_000_000,
            data: data.to_vec(),
            owner: pyth::PYTH_RECEIVER_PROGRAM,
            executable: false,
            rent_epoch: 0,
        };
        self.ctx.set_account(key, &account.into());
    }

    pub fn oracle_of(&self, market: &Pubkey) -> Pubkey {
        self.markets.iter().find(|m| m.market == *market).map(|m| m.oracle).unwrap_or_default()
    }

    /// Health accounts for a margin account as it is now, skipping `skip`.
    pub async fn health_metas(&mut self, margin_account: &Pubkey, skip: &[Pubkey]) -> Vec<AccountMeta> {
        let (_, positions) = self.margin(margin_account).await;
        let markets = self.markets.clone();
        sdk::health_metas(&positions, skip, |m| markets.iter().find(|c| c.market == *m).map(|c| c.oracle))
    }

    // ---- the test trader ----

    fn relay_accounts(&self, market: &MarketCookie, margin_account: &Pubkey, user: &Pubkey) -> Vec<AccountMeta> {
        test_trader::accounts::Relay {
            perpetual_program: perpetual::ID,
            exchange: self.exchange,
            approval: sdk::approval_address(&self.exchange, &test_trader::ID),
            trader_authority: test_trader::trader_authority().0,
            market: market.market,
            oracle: market.oracle,
            margin_account: *margin_account,
            user: *user,
        }
        .to_account_metas(None)
    }

    /// The test trader's `reserve` for `user`'s margin account, with health accounts.
    pub async fn reserve_ix(
        &mut self,
        user: &UserCookie,
        market: &MarketCookie,
        bid_delta: i64,
        ask_delta: i64,
    ) -> Instruction {
        let mut accounts = self.relay_accounts(market, &user.margin_account, &user.key());
        if bid_delta > 0 || ask_delta > 0 {
            accounts.extend(self.health_metas(&user.margin_account, &[market.market]).await);
        }
        Instruction {
            program_id: test_trader::ID,
            accounts,
            data: test_trader::instruction::Reserve { bid_delta, ask_delta }.data(),
        }
    }

    pub async fn reserve(
        &mut self,
        user: &UserCookie,
        market: &MarketCookie,
        bid_delta: i64,
        ask_delta: i64,
    ) -> Result<TxOutput, TransactionError> {
        let ix = self.reserve_ix(user, market, bid_delta, ask_delta).await;
        self.process(&[ix], &[&user.owner]).await
    }

    /// The test trader's `settle` with `taker` against `makers` (remaining accounts in that order).
    pub async fn settle_ix(
        &mut self,
        taker: &UserCookie,
        market: &MarketCookie,
        makers: &[Pubkey],
        fills: Vec<Fill>,
        releases: Vec<Release>,
        bid_delta: i64,
        ask_delta: i64,
    ) -> Instruction {
        let mut accounts = self.relay_accounts(market, &taker.margin_account, &taker.key());
        accounts.extend(makers.iter().map(|m| AccountMeta::new(*m, false)));
        // The taker may open this market now; health skips it either way.
        accounts.extend(self.health_metas(&taker.margin_account, &[market.market]).await);
        let args = SettleFillsArgs {
            maker_count: makers.len() as u8,
            fills,
            releases,
            taker_bid_delta: bid_delta,
            taker_ask_delta: ask_delta,
            liquidation: false,
        };
        Instruction { program_id: test_trader::ID, accounts, data: test_trader::instruction::Settle { args }.data() }
    }

    pub async fn settle(
        &mut self,
        taker: &UserCookie,
        market: &MarketCookie,
        makers: &[Pubkey],
        fills: Vec<Fill>,
    ) -> Result<TxOutput, TransactionError> {
        let ix = self.settle_ix(taker, market, makers, fills, vec![], 0, 0).await;
        self.process(&[ix], &[&taker.owner]).await
    }

    /// A maker reserves `lots` on the side opposite `taker_side`, then the taker fills it at `price`.
    pub async fn trade(
        &mut self,
        taker: &UserCookie,
        maker: &UserCookie,
        market: &MarketCookie,
        taker_side: perpetual::Side,
        lots: u64,
        price_per_lot: u64,
    ) -> Result<TxOutput, TransactionError> {
        let (bid, ask) = match taker_side {
            perpetual::Side::Bid => (0, lots as i64),
            perpetual::Side::Ask => (lots as i64, 0),
        };
        self.reserve(maker, market, bid, ask).await?;
        let fill = Fill { maker_index: 0, taker_side, base_lots: lots, price_per_lot };
        self.settle(taker, market, &[maker.margin_account], vec![fill]).await
    }

    // ---- account reads ----

    pub async fn account(&mut self, key: &Pubkey) -> Option<Account> {
        self.ctx.banks_client.get_account(*key).await.expect("get account")
    }

    pub async fn account_data(&mut self, key: &Pubkey) -> Vec<u8> {
        self.account(key).await.map(|a| a.data).unwrap_or_default()
    }

    pub async fn exchange_state(&mut self) -> Exchange {
        let key = self.exchange;
        load_zero_copy::<Exchange>(&self.account_data(&key).await)
    }

    pub async fn market_state(&mut self, market: &Pubkey) -> Market {
        load_zero_copy::<Market>(&self.account_data(market).await)
    }

    pub async fn margin(&mut self, margin_account: &Pubkey) -> (MarginAccount, Vec<Position>) {
        let data = self.account_data(margin_account).await;
        let view = client::decode_margin(*margin_account, &data).expect("margin account");
        (view.header, view.positions)
    }

    pub async fn collateral(&mut self, margin_account: &Pubkey) -> i64 {
        self.margin(margin_account).await.0.collateral
    }

    /// The account's position in `market` (zeros when it has none).
    pub async fn position(&mut self, margin_account: &Pubkey, market: &Pubkey) -> Position {
        let (_, positions) = self.margin(margin_account).await;
        positions.into_iter().find(|p| p.market == *market).unwrap_or_default()
    }
}

/// Copies a zero-copy account out of its bytes ([`client::decode`]); panics when they are
/// too short or carry another type's discriminator.
pub fn load_zero_copy<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> T {
    client::decode(data)
        .unwrap_or_else(|| panic!("not a {} account: too small or wrong discriminator", std::any::type_name::<T>()))
}

/// The custom program error code of a failed transaction, if it has one.
pub use client::chain::custom_code;

/// The code `perpetual` returns for `e`.
pub fn code(e: perpetual::error::PerpError) -> u32 {
    u32::from(e)
}

/// The code Anchor itself returns for `e` (account validation).
pub fn anchor_code(e: anchor_lang::error::ErrorCode) -> u32 {
    e.into()
}

trait MetaExt {
    fn unwrap_or_default_meta(self) -> TxOutput;
}

impl MetaExt for Option<solana_banks_interface::TransactionMetadata> {
    fn unwrap_or_default_meta(self) -> TxOutput {
        match self {
            Some(m) => {
                TxOutput { logs: m.log_messages, return_data: m.return_data.map(|r| r.data).unwrap_or_default() }
            }
            None => TxOutput::default(),
        }
    }
}

// ---- risk-mechanics helpers (mark, listing, margins tests) ----

impl TestEnv {
    /// Permissionless `list_market` signed by `lister`, paying the listing deposit from
    /// `lister_token`; on success the market is recorded for the invariants.
    pub async fn list_market(
        &mut self,
        lister: &Keypair,
        lister_token: &Pubkey,
        oracle: Pubkey,
        args: perpetual::sdk::ListMarketArgs,
    ) -> Result<MarketCookie, TransactionError> {
        let ix = sdk::list_market(&lister.pubkey(), &self.exchange, &self.mint, lister_token, &oracle, args);
        self.process(&[ix], &[lister]).await?;
        let cookie = MarketCookie {
            symbol: args.symbol,
            market: sdk::market_address(&self.exchange, &args.symbol),
            oracle,
            kind: args.oracle_kind,
            expo: -6,
        };
        self.markets.push(cookie);
        Ok(cookie)
    }

    /// Withdraws as much as the program lets `user` take: tries every power of two from
    /// the vault's balance down, keeping each withdrawal that passes. Health is monotone
    /// in the amount, so the total is the largest withdrawable amount (to the unit).
    pub async fn withdraw_max(&mut self, user: &UserCookie) -> u64 {
        let vault = self.vault;
        let cap = self.token_balance(&vault).await.max(1);
        let mut total = 0u64;
        for bit in (0..64 - cap.leading_zeros()).rev() {
            if self.withdraw(user, 1u64 << bit).await.is_ok() {
                total += 1u64 << bit;
            }
        }
        total
    }

    /// Moves the clock to 5 seconds past the start of the next minute, so that a test's
    /// mark samples land in known minutes.
    pub async fn align_to_minute(&mut self) {
        let now = self.now().await;
        self.warp(60 - now.rem_euclid(60) + 5).await;
    }
}

// ---- liquidation, deleveraging and final-settlement helpers ----

impl TestEnv {
    /// Sends one transaction whose fee `fee_payer` pays instead of the context payer (so
    /// that the context payer's lamports change only by what the instructions move).
    pub async fn process_paid_by(
        &mut self,
        ixs: &[Instruction],
        fee_payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<TxOutput, TransactionError> {
        self.send_paid_by(ixs, fee_payer, signers).await.0
    }

    /// The exchange's insurance fund, native units.
    pub async fn insurance_fund(&mut self) -> u64 {
        self.exchange_state().await.insurance_fund
    }

    /// The account's lamports (0 when it does not exist).
    pub async fn lamports(&mut self, key: &Pubkey) -> u64 {
        self.account(key).await.map(|a| a.lamports).unwrap_or(0)
    }
}

// ---- fuzzing helpers (tests/tests/fuzz/) ----

impl TestEnv {
    /// Like [`TestEnv::process`], but also returns the transaction's logs when it fails, so
    /// that a refusal can be named by the program that raised it (`perpetual` and
    /// `orderbook` both number their errors from 6000).
    pub async fn process_logged(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> (Result<TxOutput, TransactionError>, Vec<String>) {
        let payer = self.ctx.payer.insecure_clone();
        self.send_paid_by(ixs, &payer, signers).await
    }
}

// ---- refusal diagnostics (the account matrix) ----

impl TestEnv {
    /// Simulates one transaction built as `process` builds it (nothing is committed) and
    /// returns its result with its log messages, so that a refusal can be checked against
    /// the program that raised it (see [`failing_program`]).
    pub async fn simulate_with_logs(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> (Result<(), TransactionError>, Vec<String>) {
        let payer = self.ctx.payer.insecure_clone();
        let tx = self.signed_tx(ixs, &payer, signers).await;
        let sim = self.ctx.banks_client.simulate_transaction(tx).await.expect("simulate");
        let logs = sim.simulation_details.map(|d| d.logs).unwrap_or_default();
        (sim.result.expect("simulation result"), logs)
    }
}

/// The program that raised a transaction's custom error: the first "Program <id> failed:
/// custom program error" line of its logs (a callee fails before the callers it fails).
/// Perpetual and the order book both number their errors from 6000, so the code alone does
/// not say which of them refused. (Natively, Anchor's own "Error Code: <name>" lines go to
/// stdout, not to the transaction's logs, so the name cannot be read back.)
pub fn failing_program(logs: &[String]) -> Option<Pubkey> {
    logs.iter().find_map(|l| {
        let rest = l.strip_prefix("Program ")?;
        let (id, tail) = rest.split_once(' ')?;
        tail.starts_with("failed: custom program error").then(|| id.parse().ok()).flatten()
    })
}

impl TestEnv {
    /// Like [`TestEnv::trade`], with health accounts of markets only (priced from their cached
    /// index): transactions stay within Solana's size limits however many positions the
    /// taker holds.
    pub async fn trade_compact(
        &mut self,
        taker: &UserCookie,
        maker: &UserCookie,
        market: &MarketCookie,
        taker_side: perpetual::Side,
        lots: u64,
        price_per_lot: u64,
    ) -> Result<TxOutput, TransactionError> {
        let (bid, ask) = match taker_side {
            perpetual::Side::Bid => (0, lots as i64),
            perpetual::Side::Ask => (lots as i64, 0),
        };
        let mut reserve = self.reserve_ix(maker, market, 0, 0).await;
        reserve.data = test_trader::instruction::Reserve { bid_delta: bid, ask_delta: ask }.data();
        let (_, maker_positions) = self.margin(&maker.margin_account).await;
        reserve.accounts.extend(sdk::health_metas(&maker_positions, &[market.market], |_| None));
        self.process(&[reserve], &[&maker.owner]).await?;
        let mut settle = self
            .settle_ix(
                taker,
                market,
                &[maker.margin_account],
                vec![Fill { maker_index: 0, taker_side, base_lots: lots, price_per_lot }],
                vec![],
                0,
                0,
            )
            .await;
        let (_, taker_positions) = self.margin(&taker.margin_account).await;
        let relay_and_maker =
            settle.accounts.len() - self.health_metas(&taker.margin_account, &[market.market]).await.len();
        settle.accounts.truncate(relay_and_maker);
        settle.accounts.extend(sdk::health_metas(&taker_positions, &[market.market], |_| None));
        self.process(&[settle], &[&taker.owner]).await
    }
}
