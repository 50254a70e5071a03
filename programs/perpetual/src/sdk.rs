//! Client-side helpers (not built for SBF): PDA addresses and one instruction builder
//! per instruction. Tests, the keeper and migrations all build transactions with these.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};

pub use crate::instructions::{
    InitializeExchangeArgs, ListMarketArgs, SetAuthoritiesArgs, SetOracleArgs, UpdateMarketArgs,
};
pub use crate::state::CreateMarketArgs;
use crate::state::*;
use crate::trader_api::TRADER_SEED;
pub use crate::trader_api::{AllowanceChange, BookTakeArgs, SeatAllowanceArgs, SeatPending, SettleFillsArgs};
use crate::{accounts as acc, instruction as ix, MarketStatus, ID};

pub fn symbol(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let bytes = s.as_bytes();
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

pub fn exchange_address(collateral_mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[EXCHANGE_SEED, collateral_mint.as_ref()], &ID).0
}
pub fn vault_address(exchange: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, exchange.as_ref()], &ID).0
}
pub fn market_address(exchange: &Pubkey, symbol: &[u8; 16]) -> Pubkey {
    Pubkey::find_program_address(&[MARKET_SEED, exchange.as_ref(), symbol.as_ref()], &ID).0
}
pub fn margin_account_address(exchange: &Pubkey, owner: &Pubkey, account_num: u16) -> Pubkey {
    Pubkey::find_program_address(&[MARGIN_SEED, exchange.as_ref(), owner.as_ref(), &account_num.to_le_bytes()], &ID).0
}
pub fn approval_address(exchange: &Pubkey, trader_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[TRADER_APPROVAL_SEED, exchange.as_ref(), trader_program.as_ref()], &ID).0
}
pub fn trader_authority_address(trader_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[TRADER_SEED], trader_program).0
}
pub fn price_oracle_address(authority: &Pubkey, symbol: &[u8; 16]) -> Pubkey {
    Pubkey::find_program_address(&[ORACLE_SEED, authority.as_ref(), symbol.as_ref()], &ID).0
}

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

/// Health accounts for `positions`: per non-free slot in slot order, skipping `skip`
/// (markets the instruction already takes), the market and then its oracle. `oracle_of`
/// maps a market to its oracle; returning `None` (or the default pubkey, for a market
/// without an index) leaves the oracle out, and the market is priced from its cached index.
pub fn health_metas(
    positions: &[Position],
    skip: &[Pubkey],
    oracle_of: impl Fn(&Pubkey) -> Option<Pubkey>,
) -> Vec<AccountMeta> {
    let mut out = vec![];
    for p in positions.iter().filter(|p| !p.is_free() && !skip.contains(&p.market)) {
        out.push(AccountMeta::new_readonly(p.market, false));
        if let Some(oracle) = oracle_of(&p.market).filter(|o| *o != Pubkey::default()) {
            out.push(AccountMeta::new_readonly(oracle, false));
        }
    }
    out
}

/// This program's ProgramData account: where the upgradeable loader records its upgrade
/// authority, the only key that may initialise an exchange.
pub fn program_data_address() -> Pubkey {
    let loader = anchor_lang::solana_program::bpf_loader_upgradeable::ID;
    Pubkey::find_program_address(&[crate::ID.as_ref()], &loader).0
}

/// Creates `collateral_mint`'s exchange with `admin`; signed by the program's upgrade
/// authority (and by the admin, who pays the rent).
pub fn initialize_exchange(
    upgrade_authority: &Pubkey,
    admin: &Pubkey,
    collateral_mint: &Pubkey,
    args: InitializeExchangeArgs,
) -> Instruction {
    let exchange = exchange_address(collateral_mint);
    build(
        acc::InitializeExchange {
            upgrade_authority: *upgrade_authority,
            program_data: program_data_address(),
            admin: *admin,
            exchange,
            collateral_mint: *collateral_mint,
            vault: vault_address(&exchange),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        ix::InitializeExchange { args },
    )
}

/// Queues proposal number `id` (the exchange's `proposal_count`) for `payload`
/// (`governance::payload`).
pub fn queue_proposal(admin: &Pubkey, exchange: &Pubkey, id: u64, payload: Vec<u8>) -> Instruction {
    let proposal = crate::state::proposal_address(exchange, id).0;
    build(
        acc::QueueProposal {
            admin: *admin,
            exchange: *exchange,
            proposal,
            system_program: anchor_lang::system_program::ID,
        },
        ix::QueueProposal { payload },
    )
}

pub fn cancel_proposal(admin: &Pubkey, exchange: &Pubkey, id: u64) -> Instruction {
    let proposal = crate::state::proposal_address(exchange, id).0;
    build(acc::CancelProposal { admin: *admin, exchange: *exchange, proposal }, ix::CancelProposal {})
}

pub fn set_timelock(admin: &Pubkey, exchange: &Pubkey, delay_secs: i64) -> Instruction {
    build(acc::AdminOnly { admin: *admin, exchange: *exchange }, ix::SetTimelock { delay_secs })
}

/// A time-locked instruction carrying its matured proposal (the first remaining account).
pub fn with_proposal(mut ix: Instruction, exchange: &Pubkey, id: u64) -> Instruction {
    let proposal = crate::state::proposal_address(exchange, id).0;
    ix.accounts.push(AccountMeta::new(proposal, false));
    ix
}

pub fn set_authorities(admin: &Pubkey, exchange: &Pubkey, args: SetAuthoritiesArgs) -> Instruction {
    build(acc::AdminOnly { admin: *admin, exchange: *exchange }, ix::SetAuthorities { args })
}

pub fn propose_admin(admin: &Pubkey, exchange: &Pubkey, new_admin: Pubkey) -> Instruction {
    build(acc::AdminOnly { admin: *admin, exchange: *exchange }, ix::ProposeAdmin { new_admin })
}

pub fn accept_admin(new_admin: &Pubkey, exchange: &Pubkey) -> Instruction {
    build(acc::AcceptAdmin { new_admin: *new_admin, exchange: *exchange }, ix::AcceptAdmin {})
}

pub fn set_exchange_paused(authority: &Pubkey, exchange: &Pubkey, paused: bool) -> Instruction {
    build(acc::GuardianAction { authority: *authority, exchange: *exchange }, ix::SetExchangePaused { paused })
}

pub fn approve_trader(admin: &Pubkey, exchange: &Pubkey, trader_program: &Pubkey) -> Instruction {
    build(
        acc::ApproveTrader {
            admin: *admin,
            exchange: *exchange,
            trader_program: *trader_program,
            approval: approval_address(exchange, trader_program),
            system_program: anchor_lang::system_program::ID,
        },
        ix::ApproveTrader {},
    )
}

pub fn revoke_trader(admin: &Pubkey, exchange: &Pubkey, trader_program: &Pubkey) -> Instruction {
    build(
        acc::RevokeTrader { admin: *admin, exchange: *exchange, approval: approval_address(exchange, trader_program) },
        ix::RevokeTrader {},
    )
}

pub fn create_price_oracle(authority: &Pubkey, symbol: [u8; 16], expo: i32) -> Instruction {
    build(
        acc::CreatePriceOracle {
            authority: *authority,
            oracle: price_oracle_address(authority, &symbol),
            system_program: anchor_lang::system_program::ID,
        },
        ix::CreatePriceOracle { symbol, expo },
    )
}

pub fn set_oracle_price(authority: &Pubkey, oracle: &Pubkey, price: i64, conf: u64) -> Instruction {
    build(acc::SetOraclePrice { authority: *authority, oracle: *oracle }, ix::SetOraclePrice { price, conf })
}

pub fn create_market(admin: &Pubkey, exchange: &Pubkey, oracle: &Pubkey, args: CreateMarketArgs) -> Instruction {
    build(
        acc::CreateMarket {
            admin: *admin,
            exchange: *exchange,
            market: market_address(exchange, &args.symbol),
            oracle: *oracle,
            system_program: anchor_lang::system_program::ID,
        },
        ix::CreateMarket { args },
    )
}

/// Permissionless listing. `oracle` is a Pyth price account, or the default pubkey (the
/// system program) for a market without a spot index.
pub fn list_market(
    lister: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    lister_token: &Pubkey,
    oracle: &Pubkey,
    args: ListMarketArgs,
) -> Instruction {
    build(
        acc::ListMarket {
            lister: *lister,
            exchange: *exchange,
            market: market_address(exchange, &args.symbol),
            oracle: *oracle,
            lister_token: *lister_token,
            vault: vault_address(exchange),
            collateral_mint: *collateral_mint,
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        ix::ListMarket { args },
    )
}

pub fn set_listing_deposit(admin: &Pubkey, exchange: &Pubkey, amount: u64) -> Instruction {
    build(acc::AdminOnly { admin: *admin, exchange: *exchange }, ix::SetListingDeposit { amount })
}

pub fn set_open_interest_cap(
    risk_authority: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    cap_lots: u64,
) -> Instruction {
    build(
        acc::SetMargins { risk_authority: *risk_authority, exchange: *exchange, market: *market },
        ix::SetOpenInterestCap { cap_lots },
    )
}

pub fn set_index_jump(risk_authority: &Pubkey, exchange: &Pubkey, market: &Pubkey, jump_bps: u16) -> Instruction {
    build(
        acc::SetMargins { risk_authority: *risk_authority, exchange: *exchange, market: *market },
        ix::SetIndexJump { jump_bps },
    )
}

pub fn update_market(admin: &Pubkey, exchange: &Pubkey, market: &Pubkey, args: UpdateMarketArgs) -> Instruction {
    build(acc::UpdateMarket { admin: *admin, exchange: *exchange, market: *market }, ix::UpdateMarket { args })
}

pub fn set_margins(
    risk_authority: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    init_long_bps: u16,
    init_short_bps: u16,
) -> Instruction {
    build(
        acc::SetMargins { risk_authority: *risk_authority, exchange: *exchange, market: *market },
        ix::SetMargins { init_long_bps, init_short_bps },
    )
}

pub fn set_market_status(authority: &Pubkey, exchange: &Pubkey, market: &Pubkey, status: MarketStatus) -> Instruction {
    build(
        acc::SetMarketStatus { authority: *authority, exchange: *exchange, market: *market },
        ix::SetMarketStatus { status },
    )
}

/// `args.oracle` is the account the instruction names. Time-locked: append the proposal.
pub fn set_oracle(admin: &Pubkey, exchange: &Pubkey, market: &Pubkey, args: SetOracleArgs) -> Instruction {
    build(
        acc::SetOracle { admin: *admin, exchange: *exchange, market: *market, oracle: args.oracle },
        ix::SetOracle { args },
    )
}

/// `fallback`: the market's fallback oracle, or the default pubkey when it has none.
pub fn refresh_oracle_source(market: &Pubkey, primary: &Pubkey, fallback: &Pubkey) -> Instruction {
    build(
        acc::RefreshOracleSource { market: *market, primary: *primary, fallback: *fallback },
        ix::RefreshOracleSource {},
    )
}

pub fn update_funding(market: &Pubkey, oracle: &Pubkey) -> Instruction {
    build(acc::UpdateFunding { market: *market, oracle: *oracle }, ix::UpdateFunding {})
}

pub fn set_funding_rate(
    funding_authority: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    rate_ppbh: i64,
) -> Instruction {
    build(
        acc::SetFundingRate {
            funding_authority: *funding_authority,
            exchange: *exchange,
            market: *market,
            oracle: *oracle,
        },
        ix::SetFundingRate { rate_ppbh },
    )
}

pub fn settle_funding(market: &Pubkey, oracle: &Pubkey, margin_account: &Pubkey) -> Instruction {
    build(
        acc::SettleFunding { market: *market, oracle: *oracle, margin_account: *margin_account },
        ix::SettleFunding {},
    )
}

pub fn sweep_fees(exchange: &Pubkey, market: &Pubkey) -> Instruction {
    build(acc::SweepFees { exchange: *exchange, market: *market }, ix::SweepFees {})
}

pub fn create_margin_account(owner: &Pubkey, exchange: &Pubkey, account_num: u16, capacity: u16) -> Instruction {
    build(
        acc::CreateMarginAccount {
            owner: *owner,
            exchange: *exchange,
            margin_account: margin_account_address(exchange, owner, account_num),
            system_program: anchor_lang::system_program::ID,
        },
        ix::CreateMarginAccount { account_num, capacity },
    )
}

fn owner_action(owner: &Pubkey, exchange: &Pubkey, margin_account: &Pubkey) -> acc::OwnerAction {
    acc::OwnerAction {
        owner: *owner,
        exchange: *exchange,
        margin_account: *margin_account,
        system_program: anchor_lang::system_program::ID,
    }
}

pub fn resize_margin_account(
    owner: &Pubkey,
    exchange: &Pubkey,
    margin_account: &Pubkey,
    new_capacity: u16,
) -> Instruction {
    build(owner_action(owner, exchange, margin_account), ix::ResizeMarginAccount { new_capacity })
}

pub fn set_delegate(owner: &Pubkey, exchange: &Pubkey, margin_account: &Pubkey, delegate: Pubkey) -> Instruction {
    build(owner_action(owner, exchange, margin_account), ix::SetDelegate { delegate })
}

pub fn deposit(
    depositor: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    margin_account: &Pubkey,
    depositor_token: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        acc::Deposit {
            depositor: *depositor,
            exchange: *exchange,
            margin_account: *margin_account,
            depositor_token: *depositor_token,
            vault: vault_address(exchange),
            collateral_mint: *collateral_mint,
            token_program: anchor_spl::token::ID,
        },
        ix::Deposit { amount },
    )
}

/// `health` from [`health_metas`] with no markets skipped.
pub fn withdraw(
    owner: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    margin_account: &Pubkey,
    destination: &Pubkey,
    amount: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::Withdraw {
            owner: *owner,
            exchange: *exchange,
            margin_account: *margin_account,
            vault: vault_address(exchange),
            destination: *destination,
            collateral_mint: *collateral_mint,
            token_program: anchor_spl::token::ID,
        },
        ix::Withdraw { amount },
    );
    ix.accounts.extend(health);
    ix
}

/// The accounts of `settle_fills` as a trader program must pass them on.
pub struct SettleAccounts {
    pub exchange: Pubkey,
    pub trader_program: Pubkey,
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub taker: Pubkey,
    pub taker_authority: Pubkey,
}

/// Builds `perpetual::settle_fills` directly (a trader program signs for `trader_authority`
/// by CPI; a top-level call can only fail). Remaining: makers, then health accounts.
pub fn settle_fills(
    a: &SettleAccounts,
    args: SettleFillsArgs,
    makers: &[Pubkey],
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::SettleFills {
            exchange: a.exchange,
            approval: approval_address(&a.exchange, &a.trader_program),
            trader_authority: trader_authority_address(&a.trader_program),
            market: a.market,
            oracle: a.oracle,
            taker: a.taker,
            taker_authority: a.taker_authority,
        },
        ix::SettleFills { args },
    );
    ix.accounts.extend(makers.iter().map(|m| AccountMeta::new(*m, false)));
    ix.accounts.extend(health);
    ix
}

/// The accounts of the book's seat calls: a trader program signs for `trader_authority`
/// by CPI, so a top-level call can only fail.
pub struct SeatAccounts {
    pub exchange: Pubkey,
    pub trader_program: Pubkey,
    pub market: Pubkey,
    pub oracle: Pubkey,
}

/// Builds `perpetual::settle_book_take`. Remaining: the taker's health accounts.
pub fn settle_book_take(
    a: &SeatAccounts,
    taker: &Pubkey,
    taker_authority: &Pubkey,
    args: BookTakeArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::SettleBookTake {
            exchange: a.exchange,
            approval: approval_address(&a.exchange, &a.trader_program),
            trader_authority: trader_authority_address(&a.trader_program),
            market: a.market,
            oracle: a.oracle,
            taker: *taker,
            taker_authority: *taker_authority,
        },
        ix::SettleBookTake { args },
    );
    ix.accounts.extend(health);
    ix
}

/// Builds `perpetual::set_seat_allowance`. Remaining: the account's health accounts.
pub fn set_seat_allowance(
    a: &SeatAccounts,
    margin_account: &Pubkey,
    authority: &Pubkey,
    args: SeatAllowanceArgs,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::SetSeatAllowance {
            exchange: a.exchange,
            approval: approval_address(&a.exchange, &a.trader_program),
            trader_authority: trader_authority_address(&a.trader_program),
            market: a.market,
            oracle: a.oracle,
            margin_account: *margin_account,
            authority: *authority,
        },
        ix::SetSeatAllowance { args },
    );
    ix.accounts.extend(health);
    ix
}

/// Builds `perpetual::settle_seats` for `accounts[i]` holding `pending[i]`.
pub fn settle_seats(a: &SeatAccounts, accounts: &[Pubkey], pending: Vec<SeatPending>) -> Instruction {
    let mut ix = build(
        acc::SettleSeats {
            exchange: a.exchange,
            approval: approval_address(&a.exchange, &a.trader_program),
            trader_authority: trader_authority_address(&a.trader_program),
            market: a.market,
        },
        ix::SettleSeats { pending },
    );
    ix.accounts.extend(accounts.iter().map(|k| AccountMeta::new(*k, false)));
    ix
}

fn insurance_transfer(
    authority: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    token_account: &Pubkey,
) -> acc::InsuranceTransfer {
    acc::InsuranceTransfer {
        authority: *authority,
        exchange: *exchange,
        vault: vault_address(exchange),
        token_account: *token_account,
        collateral_mint: *collateral_mint,
        token_program: anchor_spl::token::ID,
    }
}

pub fn deposit_insurance(
    depositor: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    source: &Pubkey,
    amount: u64,
) -> Instruction {
    build(insurance_transfer(depositor, exchange, collateral_mint, source), ix::DepositInsurance { amount })
}

pub fn withdraw_insurance(
    admin: &Pubkey,
    exchange: &Pubkey,
    collateral_mint: &Pubkey,
    destination: &Pubkey,
    amount: u64,
) -> Instruction {
    build(insurance_transfer(admin, exchange, collateral_mint, destination), ix::WithdrawInsurance { amount })
}

/// Takeover liquidation. `liquidatee_health` and `liquidator_health` skip this market.
pub fn liquidate(
    exchange: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    liquidatee: &Pubkey,
    liquidator: &Pubkey,
    liquidator_authority: &Pubkey,
    max_base_lots: u64,
    liquidatee_health: Vec<AccountMeta>,
    liquidator_health: Vec<AccountMeta>,
) -> Instruction {
    let count = liquidatee_health.len() as u8;
    let mut ix = build(
        acc::Liquidate {
            exchange: *exchange,
            market: *market,
            oracle: *oracle,
            liquidatee: *liquidatee,
            liquidator: *liquidator,
            liquidator_authority: *liquidator_authority,
        },
        ix::Liquidate { max_base_lots, liquidatee_health_count: count },
    );
    ix.accounts.extend(liquidatee_health);
    ix.accounts.extend(liquidator_health);
    ix
}

/// `mark_underwater` (anyone) with the account's full health accounts.
pub fn mark_underwater(
    exchange: &Pubkey,
    margin_account: &Pubkey,
    caller: &Pubkey,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::CheckAccount { exchange: *exchange, margin_account: *margin_account, authority: *caller },
        ix::MarkUnderwater {},
    );
    ix.accounts.extend(health);
    ix
}

/// `cover_with_insurance` (deleveraging authority) with the account's full health accounts.
pub fn cover_with_insurance(
    exchange: &Pubkey,
    margin_account: &Pubkey,
    authority: &Pubkey,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::CheckAccount { exchange: *exchange, margin_account: *margin_account, authority: *authority },
        ix::CoverWithInsurance {},
    );
    ix.accounts.extend(health);
    ix
}

/// `deleverage`; `health` is the underwater account's, skipping this market.
pub fn deleverage(
    exchange: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    margin_account: &Pubkey,
    counterparty: &Pubkey,
    authority: &Pubkey,
    lots: u64,
    health: Vec<AccountMeta>,
) -> Instruction {
    let mut ix = build(
        acc::Deleverage {
            exchange: *exchange,
            market: *market,
            oracle: *oracle,
            margin_account: *margin_account,
            counterparty: *counterparty,
            authority: *authority,
        },
        ix::Deleverage { lots },
    );
    ix.accounts.extend(health);
    ix
}

pub fn final_settle_market(
    admin: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    lo_per_lot: u64,
    hi_per_lot: u64,
) -> Instruction {
    build(
        acc::FinalSettleMarket { admin: *admin, exchange: *exchange, market: *market, oracle: *oracle },
        ix::FinalSettleMarket { lo_per_lot, hi_per_lot },
    )
}

pub fn settle_final_position(market: &Pubkey, margin_account: &Pubkey) -> Instruction {
    build(acc::SettleFinalPosition { market: *market, margin_account: *margin_account }, ix::SettleFinalPosition {})
}

/// `book` is the market's registered book (closed first), or the default pubkey if it has none.
pub fn close_market(
    lister: &Pubkey,
    exchange: &Pubkey,
    market: &Pubkey,
    book: &Pubkey,
    collateral_mint: &Pubkey,
    lister_token: &Pubkey,
) -> Instruction {
    build(
        acc::CloseMarket {
            lister: *lister,
            exchange: *exchange,
            market: *market,
            book: *book,
            vault: vault_address(exchange),
            lister_token: *lister_token,
            collateral_mint: *collateral_mint,
            token_program: anchor_spl::token::ID,
        },
        ix::CloseMarket {},
    )
}

/// The bytes of a Pyth legacy price account in its real layout (`pyth-sdk-solana`), trading
/// at `price * 10^expo` with confidence `conf`, published at `ts`: for local chains, tests
/// and the simulation's price publisher.
pub fn pyth_price_account_bytes(
    price: i64,
    conf: u64,
    expo: i32,
    ts: i64,
    status: pyth_sdk_solana::state::PriceStatus,
) -> Vec<u8> {
    use pyth_sdk_solana::state::{AccountType, SolanaPriceAccount, MAGIC, VERSION_2};
    // Built in place on the heap: the account is larger than a stack frame should be.
    let size = core::mem::size_of::<SolanaPriceAccount>();
    let mut words = vec![0u64; size.div_ceil(8)];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    // Zeroed is the layout's default (every enum's default variant is 0).
    let a: &mut SolanaPriceAccount = bytemuck::from_bytes_mut(&mut bytes[..size]);
    a.magic = MAGIC;
    a.ver = VERSION_2;
    a.atype = AccountType::Price as u32;
    a.size = size as u32;
    a.expo = expo;
    a.timestamp = ts;
    a.agg.price = price;
    a.agg.conf = conf;
    a.agg.status = status;
    a.prev_price = price;
    a.prev_conf = conf;
    a.prev_timestamp = ts;
    bytes[..size].to_vec()
}

/// The bytes of a Pyth pull-oracle `PriceUpdateV2` account (owned by
/// [`PYTH_RECEIVER_PROGRAM_ID`]) holding `feed_id` at `price * 10^expo` with confidence
/// `conf`, published at `ts`, in the receiver's allocation of [`PythPriceUpdateV2::SPACE`].
pub fn pyth_price_update_bytes(
    feed_id: [u8; 32],
    price: i64,
    conf: u64,
    expo: i32,
    ts: i64,
    verification_level: PythVerificationLevel,
) -> Vec<u8> {
    let update = PythPriceUpdateV2 {
        write_authority: Pubkey::default(),
        verification_level,
        price_message: PythPriceFeedMessage {
            feed_id,
            price,
            conf,
            exponent: expo,
            publish_time: ts,
            prev_publish_time: ts,
            ema_price: price,
            ema_conf: conf,
        },
        posted_slot: 0,
    };
    let mut data = PythPriceUpdateV2::DISCRIMINATOR.to_vec();
    update.serialize(&mut data).expect("serialize to a Vec");
    data.resize(PythPriceUpdateV2::SPACE, 0);
    data
}
