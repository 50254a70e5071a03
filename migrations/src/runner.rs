//! The run: read every object, then create, update or report it (see the crate docs).
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use client::chain::Chain;
use client::decode;
use orderbook::state::Book;
use perpetual::sdk;
use perpetual::sdk::{InitializeExchangeArgs, SetAuthoritiesArgs, UpdateMarketArgs};
use perpetual::state::{Exchange, Market, PriceOracle, TraderApproval, PYTH_PROGRAM_IDS};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::config::{BookSpec, MarketSpec, MigrationConfig, OracleSpec};
use crate::keys::Keys;
use crate::report::{Outcome, Report};
use crate::{Context, MigrateError};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read and compare only; send nothing.
    pub dry_run: bool,
}

struct Run<'a, C: Chain> {
    chain: &'a mut C,
    keys: &'a Keys,
    opts: Options,
    report: Report,
    /// The exchange has a governance delay: risky changes need proposals.
    locked: bool,
}

impl<C: Chain> Run<'_, C> {
    async fn read(&mut self, key: &Pubkey, what: &str) -> Result<Option<solana_account::Account>, MigrateError> {
        self.chain.account(key).await.context(|| format!("reading {what} {key}"))
    }

    /// A time-locked change: sent while the exchange is in bootstrap, otherwise reported
    /// as drift for governance to queue.
    async fn risky(
        &mut self,
        what: &str,
        ix: Instruction,
        object: String,
        address: Pubkey,
        change: String,
    ) -> Result<(), MigrateError> {
        if self.locked {
            self.report.push(object, address, Outcome::Drift(format!("{change} ({what} needs a proposal)")));
            return Ok(());
        }
        let admin = self.keys.admin.insecure_clone();
        self.send(what, &[ix], &[&admin]).await?;
        let outcome = if what == "approve_trader" { Outcome::Created } else { Outcome::Updated(change) };
        self.report.push(object, address, outcome);
        Ok(())
    }

    async fn send(&mut self, what: &str, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), MigrateError> {
        if self.opts.dry_run {
            return Ok(());
        }
        self.report.transactions += 1;
        self.chain.send(ixs, signers).await.context(|| what.to_string())?;
        Ok(())
    }

    async fn exchange(&mut self, config: &MigrationConfig) -> Result<Option<Exchange>, MigrateError> {
        let spec = &config.exchange;
        let admin = self.keys.admin.pubkey();
        let mint = spec.collateral_mint;
        let exchange_key = sdk::exchange_address(&mint);
        let mint_account = self.read(&mint, "collateral mint").await?;
        match mint_account {
            Some(a)
                if a.owner == spl_token_interface::ID
                    && a.data.len() == <spl_token_interface::state::Mint as solana_program_pack::Pack>::LEN => {}
            Some(_) => return Err(MigrateError::Conflict(format!("collateral mint {mint} is not an SPL Token mint"))),
            None => return Err(MigrateError::Conflict(format!("collateral mint {mint} does not exist"))),
        }
        let wanted = InitializeExchangeArgs {
            funding_authority: spec.funding_authority.unwrap_or(admin),
            risk_authority: spec.risk_authority.unwrap_or(admin),
            pause_guardian: spec.pause_guardian.unwrap_or(admin),
            deleverage_authority: spec.deleverage_authority.unwrap_or(admin),
        };
        let admin_kp = self.keys.admin.insecure_clone();
        let deployer = self.keys.upgrade_authority.insecure_clone();
        let existing = self.read(&exchange_key, "exchange").await?;
        let existing = match existing {
            None => {
                let ix = sdk::initialize_exchange(&deployer.pubkey(), &admin, &mint, wanted);
                self.send("initialize_exchange", &[ix], &[&admin_kp, &deployer]).await?;
                self.report.push("exchange", exchange_key, Outcome::Created);
                if self.opts.dry_run {
                    if spec.listing_deposit != 0 {
                        self.report.push(
                            "listing deposit",
                            exchange_key,
                            Outcome::Updated(format!("listing_deposit 0 -> {}", spec.listing_deposit)),
                        );
                    }
                    return Ok(None);
                }
                let data = self.read(&exchange_key, "exchange").await?.map(|a| a.data).unwrap_or_default();
                decode::<Exchange>(&data).ok_or_else(|| {
                    MigrateError::Conflict(format!("exchange {exchange_key} unreadable after creation"))
                })?
            }
            Some(account) => {
                let ex = decode::<Exchange>(&account.data)
                    .ok_or_else(|| MigrateError::Conflict(format!("{exchange_key} is not an exchange account")))?;
                if ex.admin != admin {
                    return Err(MigrateError::Conflict(format!(
                        "exchange {exchange_key} has admin {}, not the configured admin {admin}",
                        ex.admin
                    )));
                }
                self.locked = ex.timelock_delay_secs != 0;
                let mut args = SetAuthoritiesArgs {
                    funding_authority: None,
                    risk_authority: None,
                    pause_guardian: None,
                    deleverage_authority: None,
                };
                let mut changed = vec![];
                let mut diff = |name: &str, have: Pubkey, want: Pubkey, slot: &mut Option<Pubkey>| {
                    if have != want {
                        *slot = Some(want);
                        changed.push(format!("{name} {have} -> {want}"));
                    }
                };
                diff("funding_authority", ex.funding_authority, wanted.funding_authority, &mut args.funding_authority);
                diff("risk_authority", ex.risk_authority, wanted.risk_authority, &mut args.risk_authority);
                diff("pause_guardian", ex.pause_guardian, wanted.pause_guardian, &mut args.pause_guardian);
                diff(
                    "deleverage_authority",
                    ex.deleverage_authority,
                    wanted.deleverage_authority,
                    &mut args.deleverage_authority,
                );
                if changed.is_empty() {
                    self.report.push("exchange", exchange_key, Outcome::Unchanged);
                } else {
                    self.risky(
                        "set_authorities",
                        sdk::set_authorities(&admin, &exchange_key, args),
                        "exchange".into(),
                        exchange_key,
                        changed.join(", "),
                    )
                    .await?;
                }
                ex
            }
        };
        if existing.listing_deposit == spec.listing_deposit {
            self.report.push("listing deposit", exchange_key, Outcome::Unchanged);
        } else {
            let change = format!("listing_deposit {} -> {}", existing.listing_deposit, spec.listing_deposit);
            self.risky(
                "set_listing_deposit",
                sdk::set_listing_deposit(&admin, &exchange_key, spec.listing_deposit),
                "listing deposit".into(),
                exchange_key,
                change,
            )
            .await?;
        }
        Ok(Some(existing))
    }

    /// Turns the time lock on last, so the rest of the run could still configure directly.
    async fn timelock(&mut self, exchange: &Pubkey, wanted: i64) -> Result<(), MigrateError> {
        let have = match self.read(exchange, "exchange").await?.and_then(|a| decode::<Exchange>(&a.data)) {
            Some(e) => e.timelock_delay_secs,
            None => return Ok(()),
        };
        if have == wanted || wanted == 0 {
            self.report.push("time lock", *exchange, Outcome::Unchanged);
        } else if have == 0 {
            let admin_kp = self.keys.admin.insecure_clone();
            self.send("set_timelock", &[sdk::set_timelock(&admin_kp.pubkey(), exchange, wanted)], &[&admin_kp]).await?;
            self.report.push("time lock", *exchange, Outcome::Updated(format!("timelock_delay_secs 0 -> {wanted}")));
        } else {
            self.report.push(
                "time lock",
                *exchange,
                Outcome::Drift(format!("timelock_delay_secs {have}, config {wanted}: needs a proposal")),
            );
        }
        Ok(())
    }

    async fn approval(&mut self, exchange: &Pubkey, program: &Pubkey, name: &str) -> Result<(), MigrateError> {
        let key = sdk::approval_address(exchange, program);
        let object = format!("trader approval {name}");
        match self.read(&key, "trader approval").await? {
            Some(a) => {
                let ok = decode::<TraderApproval>(&a.data)
                    .is_some_and(|t| t.exchange == *exchange && t.trader_program == *program && t.active == 1);
                let outcome = if ok {
                    Outcome::Unchanged
                } else {
                    Outcome::Conflict("approval account unreadable or inactive".into())
                };
                self.report.push(object, key, outcome);
            }
            None => {
                let ix = sdk::approve_trader(&self.keys.admin.pubkey(), exchange, program);
                self.risky("approve_trader", ix, object, key, "not approved".into()).await?;
            }
        }
        Ok(())
    }

    /// The market's oracle address, created when it is a settable oracle that is missing.
    async fn oracle(&mut self, m: &MarketSpec) -> Result<Pubkey, MigrateError> {
        let object = format!("oracle {}", m.symbol);
        match m.oracle {
            OracleSpec::None => Ok(Pubkey::default()),
            OracleSpec::Pyth => {
                let key = m.pyth_price_account.expect("validated");
                let outcome = match self.read(&key, "Pyth price account").await? {
                    Some(a) if PYTH_PROGRAM_IDS.contains(&a.owner) => Outcome::Unchanged,
                    Some(a) => Outcome::Conflict(format!("owned by {}, not a Pyth program", a.owner)),
                    None => Outcome::Conflict("Pyth price account does not exist".into()),
                };
                self.report.push(object, key, outcome);
                Ok(key)
            }
            OracleSpec::SetPrice => {
                let authority = self.keys.oracle_authority().insecure_clone();
                let key = sdk::price_oracle_address(&authority.pubkey(), &m.symbol_bytes());
                match self.read(&key, "price oracle").await? {
                    Some(a) => {
                        let outcome = match decode::<PriceOracle>(&a.data) {
                            Some(o) if o.expo == m.oracle_expo => Outcome::Unchanged,
                            Some(o) => Outcome::Conflict(format!("expo is {}, configured {}", o.expo, m.oracle_expo)),
                            None => Outcome::Conflict("not a price oracle".into()),
                        };
                        self.report.push(object, key, outcome);
                    }
                    None => {
                        let ix = sdk::create_price_oracle(&authority.pubkey(), m.symbol_bytes(), m.oracle_expo);
                        self.send("create_price_oracle", &[ix], &[&authority]).await?;
                        self.report.push(object, key, Outcome::Created);
                    }
                }
                Ok(key)
            }
        }
    }

    async fn market(&mut self, exchange: &Pubkey, m: &MarketSpec) -> Result<(), MigrateError> {
        let oracle = self.oracle(m).await?;
        let key = sdk::market_address(exchange, &m.symbol_bytes());
        let object = format!("market {}", m.symbol);
        let admin = self.keys.admin.insecure_clone();
        let existing = match self.read(&key, "market").await? {
            None => {
                self.send(
                    "create_market",
                    &[sdk::create_market(&admin.pubkey(), exchange, &oracle, m.create_args())],
                    &[&admin],
                )
                .await?;
                self.report.push(object, key, Outcome::Created);
                if self.opts.dry_run {
                    if m.book.is_some() {
                        self.report.push(format!("book {}", m.symbol), Pubkey::default(), Outcome::Created);
                    }
                    return Ok(());
                }
                let data = self.read(&key, "market").await?.map(|a| a.data).unwrap_or_default();
                client::decode_market(&data)
                    .ok_or_else(|| MigrateError::Conflict(format!("market {key} unreadable after creation")))?
            }
            Some(account) => {
                let have = client::decode_market(&account.data)
                    .ok_or_else(|| MigrateError::Conflict(format!("{key} is not a market")))?;
                self.reconcile_market(exchange, &key, &object, &have, m, &oracle, &admin).await?;
                have
            }
        };
        if let Some(book) = &m.book {
            self.book(exchange, &key, &existing, m, book).await?;
        }
        Ok(())
    }
    async fn reconcile_market(
        &mut self,
        exchange: &Pubkey,
        key: &Pubkey,
        object: &str,
        have: &Market,
        m: &MarketSpec,
        oracle: &Pubkey,
        admin: &Keypair,
    ) -> Result<(), MigrateError> {
        // Fixed at creation.
        let mut conflicts = vec![];
        if have.exchange != *exchange {
            conflicts.push(format!("exchange {}", have.exchange));
        }
        if have.oracle != *oracle {
            conflicts.push(format!("oracle {} (configured {oracle})", have.oracle));
        }
        if have.oracle_kind != m.oracle.kind() as u8 {
            conflicts.push(format!("oracle kind {} (configured {:?})", have.oracle_kind, m.oracle.kind()));
        }
        if have.base_decimals != m.base_decimals {
            conflicts.push(format!("base_decimals {} (configured {})", have.base_decimals, m.base_decimals));
        }
        if have.base_lot_size != m.base_lot_size {
            conflicts.push(format!("base_lot_size {} (configured {})", have.base_lot_size, m.base_lot_size));
        }
        if !conflicts.is_empty() {
            self.report.push(object, *key, Outcome::Conflict(conflicts.join(", ")));
            return Ok(());
        }
        // The admin's `update_market` fields.
        let mut args = UpdateMarketArgs::default();
        let mut changed = vec![];
        macro_rules! field {
            ($name:ident) => {
                if have.$name != m.$name {
                    args.$name = Some(m.$name);
                    changed.push(format!("{} {} -> {}", stringify!($name), have.$name, m.$name));
                }
            };
        }
        field!(maker_fee_ppm);
        field!(taker_fee_ppm);
        field!(oracle_max_age_secs);
        field!(oracle_max_conf_bps);
        field!(price_band_bps);
        field!(max_funding_rate_ppbh);
        field!(max_funding_rate_change_ppbh);
        field!(funding_window_secs);
        if changed.is_empty() {
            self.report.push(object, *key, Outcome::Unchanged);
        } else {
            self.risky(
                "update_market",
                sdk::update_market(&admin.pubkey(), exchange, key, args),
                object.to_string(),
                *key,
                changed.join(", "),
            )
            .await?;
        }
        // Margins belong to the risk authority after creation (once a day, from history).
        if (have.init_margin_long_bps, have.init_margin_short_bps) != (m.init_margin_long_bps, m.init_margin_short_bps)
        {
            self.report.push(
                format!("margins {}", m.symbol),
                *key,
                Outcome::Drift(format!(
                    "initial margins long/short {}/{} bps on chain, {}/{} configured (the risk authority sets them)",
                    have.init_margin_long_bps,
                    have.init_margin_short_bps,
                    m.init_margin_long_bps,
                    m.init_margin_short_bps
                )),
            );
        }
        Ok(())
    }

    /// One book per market: perpetual registers it in `Market.book`, so an existing
    /// registration means there is nothing to create.
    async fn book(
        &mut self,
        exchange: &Pubkey,
        market: &Pubkey,
        have: &Market,
        m: &MarketSpec,
        spec: &BookSpec,
    ) -> Result<(), MigrateError> {
        let object = format!("book {}", m.symbol);
        if have.book != Pubkey::default() {
            let outcome = match self
                .read(&have.book, "book")
                .await?
                .and_then(|a| (a.owner == orderbook::ID).then(|| decode::<Book>(&a.data)).flatten())
            {
                None => Outcome::Conflict("registered book is missing or unreadable".into()),
                Some(b) => {
                    let have_args = (
                        b.market,
                        b.tick_size,
                        b.min_base_lots,
                        b.side_capacity,
                        b.seat_capacity,
                        b.max_orders_per_account,
                    );
                    let want = (
                        *market,
                        spec.tick_size,
                        spec.min_base_lots,
                        spec.side_capacity,
                        spec.seat_capacity,
                        spec.max_orders_per_account,
                    );
                    if have_args == want {
                        Outcome::Unchanged
                    } else {
                        Outcome::Conflict(format!(
                            "tick/min lots/side/seats/max orders are {}/{}/{}/{}/{}, configured {}/{}/{}/{}/{}",
                            b.tick_size,
                            b.min_base_lots,
                            b.side_capacity,
                            b.seat_capacity,
                            b.max_orders_per_account,
                            spec.tick_size,
                            spec.min_base_lots,
                            spec.side_capacity,
                            spec.seat_capacity,
                            spec.max_orders_per_account
                        ))
                    }
                }
            };
            self.report.push(object, have.book, outcome);
            return Ok(());
        }
        let book = Keypair::new();
        let space = Book::space(spec.side_capacity, spec.seat_capacity);
        let rent = self.chain.minimum_balance(space).await.context(|| "rent for the book".into())?;
        let admin = self.keys.admin.insecure_clone();
        let payer = self.chain.payer().pubkey();
        let ixs =
            orderbook::sdk::create_book(&payer, &admin.pubkey(), exchange, market, &book.pubkey(), rent, spec.args());
        self.send("create_book", &ixs, &[&admin, &book]).await?;
        // A dry run has no book address yet: it is the keypair a real run makes.
        let address = if self.opts.dry_run { Pubkey::default() } else { book.pubkey() };
        self.report.push(object, address, Outcome::Created);
        Ok(())
    }
}

/// Brings the cluster to `config`. See the module docs.
pub async fn migrate<C: Chain>(
    chain: &mut C,
    config: &MigrationConfig,
    keys: &Keys,
    opts: Options,
) -> Result<Report, MigrateError> {
    config.validate()?;
    let exchange = sdk::exchange_address(&config.exchange.collateral_mint);
    let mut run = Run {
        chain,
        keys,
        opts,
        report: Report { dry_run: opts.dry_run, exchange, ..Default::default() },
        locked: false,
    };
    let created = run.exchange(config).await?;
    if created.is_none() {
        // Dry run of a new exchange: everything after it would be created.
        let approvals: Vec<(Pubkey, String)> = approvals(config);
        for (program, name) in approvals {
            run.report.push(
                format!("trader approval {name}"),
                sdk::approval_address(&exchange, &program),
                Outcome::Created,
            );
        }
        for m in &config.markets {
            if m.oracle == OracleSpec::SetPrice {
                let key = sdk::price_oracle_address(&keys.oracle_authority().pubkey(), &m.symbol_bytes());
                run.report.push(format!("oracle {}", m.symbol), key, Outcome::Created);
            }
            run.report.push(
                format!("market {}", m.symbol),
                sdk::market_address(&exchange, &m.symbol_bytes()),
                Outcome::Created,
            );
            if m.book.is_some() {
                run.report.push(format!("book {}", m.symbol), Pubkey::default(), Outcome::Created);
            }
        }
        return Ok(run.report);
    }
    for (program, name) in approvals(config) {
        run.approval(&exchange, &program, &name).await?;
    }
    for m in &config.markets {
        run.market(&exchange, m).await?;
    }
    run.timelock(&exchange, config.exchange.timelock_delay_secs).await?;
    Ok(run.report)
}

fn approvals(config: &MigrationConfig) -> Vec<(Pubkey, String)> {
    let mut out = vec![];
    if config.exchange.approve_orderbook {
        out.push((orderbook::ID, "orderbook".to_string()));
    }
    for p in &config.exchange.trader_programs {
        if *p != orderbook::ID || !config.exchange.approve_orderbook {
            out.push((*p, p.to_string()));
        }
    }
    out
}
