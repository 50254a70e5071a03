#![allow(deprecated)] // solana-program-test 3.x marks its API "unstable"
//! Stateful fuzzing of the whole exchange on the native chain (issue 8, part 1).
//!
//! # Design
//!
//! A case is a `Setup` (3 to 5 users with their deposits, whether a third market exists, an
//! opening insurance fund) and a sequence of 10 to 40 `Op`s, all drawn from one seed by a
//! SplitMix64 generator. Each case runs on its own `TestEnv` (fresh chain, real SPL Token,
//! both programs natively) with two or three admin-created markets with books:
//!
//! - `SOL`: `market_with_book` (settable oracle, 25% band, $1 per lot);
//! - `ETH`: a Pyth legacy feed (real layout), 5% band, $1 per lot, a book of 64 orders a side;
//! - `BTC` (half the cases): settable oracle, 10% band, $2 per lot, a small book (16 orders a
//!   side, 4 per account) so that `BookFull` and `TooManyOrders` are reachable;
//!
//! and up to two more listed permissionlessly during the case (`Op::List`: a Pyth feed or no
//! spot index, with or without a listing deposit), each with a book created by its lister.
//!
//! The ops (`enum Op`) cover every instruction kind of the issue: deposit, withdraw, place
//! (all six order types, reduce-only, the three self-trade behaviours, expiry, client ids),
//! cancel (by key, by client id, all), replace, settlement of taker orders crossing the book
//! and of direct fills through the test trader (`settle_fills`), funding rate and index
//! updates, funding settlement, mark samples, oracle moves (small, crashes and pumps under
//! and over the 20% jump guard, and `Squeeze`: an adverse move against the weakest
//! account), clock warps with or without refreshing the oracles, permissionless listing,
//! liquidation by takeover and through the book, early deleveraging (signed by the
//! deleveraging authority), `mark_underwater`, `cover_with_insurance`, deleveraging (by the
//! authority or a stranger), insurance deposits and withdrawals, final settlement and
//! `settle_final_position`, fee sweeps, exchange and market pauses (guardian or admin),
//! margin changes, and closing books and markets (alone, or as the keeper's final crank).
//!
//! Ops name users and markets by small indices, resolved against the live state when they
//! run (`market` modulo the markets still open, `Who::Auto` = the account the op is meant
//! for: the weakest account and the market of its largest position for liquidations and
//! deleveraging, the largest opposite position as counterparty, a holder for funding and
//! final settlement). The generator is biased toward states where risk instructions bite:
//! most ops hit the first market, trades can size themselves to 3-8x leverage, moves are
//! often cranked at once (so the index follows before the next one), and the ops that stop
//! trading (final settlement, pauses, statuses, margins, closing) mostly come in a
//! sequence's second half.
//!
//! After setup and after EVERY op, `check_all` asserts:
//!
//! - positions sum to zero in every live market, longs equal the open interest, and the
//!   market's `open_slots` counter equals the position slots naming it (every market); no
//!   position slot is allocated and empty, except (as `invariants::check` documents) in
//!   markets a liquidation or deleveraging did not load when it cleared the account's
//!   reservations, for accounts that happened to;
//! - the vault equation exactly (`invariants::check`'s; while a settled market is closing
//!   position by position, its open positions count at their locked value, as in
//!   `final_settlement.rs`); `invariants::check` itself runs whenever every market sums to 0;
//! - funding is zero-sum up to protocol-favouring dust: for every market, the funding pool
//!   after settling every position's pending funding at the market's stored index (computed
//!   with the program's own `math::funding`, read-only) is `>= 0`, and at most 16 units per
//!   op run so far (each settlement rounds by less than a unit, for the protocol);
//! - reservations match the books: reservations are `u64`, so "never negative" holds by type;
//!   every book's critbit trees pass `check_invariants`, every seat's totals equal its orders,
//!   and for every user and every book of a live market `position.open_{bid,ask}_lots ==`
//!   its orders there stamped with the account's current `reservation_epoch`. Liquidation
//!   (takeover or through the book), early deleveraging and deleveraging clear ALL of the
//!   account's reservations and move the epoch on (`controller::liquidation::
//!   clear_reservations`); the older orders stay in the books without a reservation until
//!   met or cancelled. A settled market's positions close with their reservations, so in a
//!   settled or closed market only `reservation <= orders` (per side) is asserted.
//!   `check_book` (the suite's own) runs on every book of a live market.
//!
//! Every refusal is named (`refusal_name`: the innermost failing program from the runtime's
//! log, then its error enum) and checked against the op's allow-list (`allow_list`: the
//! op's own refusals, plus, for ops that read prices or trade, the market-state refusals in
//! `MARKET_STATE`). An error outside the list, a non-custom error (a runtime panic surfaces as
//! one), a panic or an invariant break fails the case; the case is then shrunk (delta
//! debugging over the op list, keeping the same failure signature) and the minimal
//! reproduction is printed as Rust source for `assert_no_failure`. The program bugs this
//! fuzzer found have their reproductions as the `bug_*` tests at the end of this file.
//!
//! Why not proptest: the integration-tests crate does not depend on it, and this file is the
//! only one the fuzzer may add; the seeded generator plus the shrinker here do the same job
//! (a failing seed is printed, and every reproduction replays exactly).
//!
//! # Running
//!
//! - Short run (in `cargo test`, so in `.ci/run`): `cargo test -p integration-tests --test
//!   fuzz` runs `FUZZ_CASES` sequences (default 64, about 10 s in debug) from `FUZZ_SEED`
//!   (default fixed, so CI is deterministic).
//! - Long run: `FUZZ_CASES=10000 FUZZ_THREADS=2 FUZZ_SEED=1 cargo test --release -p
//!   integration-tests --test fuzz -- --nocapture fuzz_sequences > /dev/null` (the programs'
//!   `msg!` lines go to stdout natively; progress and figures go to stderr). It prints a
//!   final `fuzz:` line with sequences, steps, accepted ops, refusals by code, invariant
//!   breaks and unexpected errors. The figures are in SECURITY.md.
//! - `FUZZ_VERBOSE=1` prints every op and its outcome; `FUZZ_SHRINK_RUNS` bounds shrinking.
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use integration_tests::*;
use orderbook::decode;
use orderbook::instructions::OrderType;
use orderbook::state::{BookRef, Side as BookSide};
use orderbook::SelfTradeBehavior;
use perpetual::instructions::ListMarketArgs;
use perpetual::math::funding;
use perpetual::sdk;
use perpetual::state::Position;
use perpetual::{Fill, MarketStatus, OracleKind, Side};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

// ---------------------------------------------------------------------------------------
// The input: setup and operations
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Buy,
    Sell,
}

/// Order types (every `OrderType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Limit,
    PostOnly,
    Slide,
    Ioc,
    Fok,
    MarketOrder,
}

/// Self-trade behaviours (every `SelfTradeBehavior`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stp {
    Decrement,
    CancelResting,
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    Never,
    /// Expires this many seconds from now.
    In(u16),
    /// Already expired on arrival.
    Past,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CancelBy {
    Key,
    ClientId,
    All(u8),
}

/// A user by index, or the account the op is meant for (see `resolve_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    U(u8),
    Auto,
}

/// Final settlement band: around the index (bps each side), or a point off it (bps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SettleBand {
    Around(u16),
    Off(i16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Deposit { user: u8, amount: u64 },
    /// Withdraws `eighths / 8` of the collateral (0: nothing, 9: more than it holds).
    Withdraw { user: u8, eighths: u8 },
    Place { user: u8, market: u8, dir: Dir, offset_bps: i16, lots: u16, kind: Kind, reduce_only: bool, stp: Stp, expiry: Expiry, client_id: u8, all_makers: bool },
    Cancel { user: u8, market: u8, which: u8, by: CancelBy },
    Replace { user: u8, market: u8, which: u8, offset_bps: i16, lots: u16, kind: Kind },
    /// `settle_fills` through the test trader: the maker reserves, the taker fills at a
    /// price `offset_bps` from the index (in or out of the band).
    /// With `leverage > 0`, `lots` is ignored: the taker trades `leverage` times its
    /// collateral (the quickest way to the leveraged accounts risk ops need).
    Trade { taker: u8, maker: u8, market: u8, dir: Dir, lots: u16, leverage: u8, offset_bps: i16 },
    SetFundingRate { market: u8, rate_ppbh: i32 },
    UpdateFunding { market: u8 },
    SettleFunding { market: u8, user: Who },
    SampleMark { market: u8 },
    /// Oracle move (crashes and pumps included), clamped to $0.05..$50 per lot; with
    /// `crank`, the permissionless `update_funding` reads it at once (as the keeper's funding
    /// loop would), so the index follows before the next move.
    MovePrice { market: u8, bps: i16, crank: bool },
    Warp { secs: u32, refresh: bool },
    /// An adverse oracle move of `bps` (cranked at once) in the market of the largest
    /// position of the account with the least margin above maintenance, against it: the
    /// quickest way to liquidatable and underwater accounts.
    Squeeze { bps: u16 },
    List { with_index: bool, deposit_usdc: u16 },
    Liquidate { market: u8, liquidatee: Who, liquidator: u8, max_lots: u16 },
    LiquidateOrder { market: u8, liquidatee: Who, caller: u8, max_lots: u16, limit_offset_bps: i16 },
    EarlyDeleverage { market: u8, account: Who, counterparty: Who, lots: u16 },
    Deleverage { market: u8, account: Who, counterparty: Who, lots: u16, by_authority: bool },
    CoverWithInsurance { account: Who },
    MarkUnderwater { account: Who, caller: u8 },
    DepositInsurance { user: u8, amount: u64 },
    WithdrawInsurance { eighths: u8 },
    FinalSettle { market: u8, band: SettleBand },
    SettleFinalPosition { market: u8, user: Who },
    SweepFees { market: u8 },
    PauseExchange { paused: bool, by_admin: bool },
    SetMarketStatus { market: u8, status: u8, by_admin: bool },
    SetMargins { market: u8, long_bps: u16, short_bps: u16 },
    CloseBook { market: u8 },
    /// With `crank`, the keeper's final-settlement crank first: every remaining position
    /// closed, then the book, then the market.
    CloseMarket { market: u8, crank: bool },
}
use CancelBy::*;
use Dir::*;
use Expiry::*;
use Kind::*;
use Op::*;
use SettleBand::*;
use Stp::*;
use Who::*;

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Deposit { .. } => "deposit",
            Withdraw { .. } => "withdraw",
            Place { .. } => "place",
            Cancel { .. } => "cancel",
            Replace { .. } => "replace",
            Trade { .. } => "settle_fills",
            SetFundingRate { .. } => "set_funding_rate",
            UpdateFunding { .. } => "update_funding",
            SettleFunding { .. } => "settle_funding",
            SampleMark { .. } => "sample_mark",
            MovePrice { .. } | Squeeze { .. } => "oracle_move",
            Warp { .. } => "warp",
            List { .. } => "list_market",
            Liquidate { .. } => "liquidate",
            LiquidateOrder { .. } => "liquidate_order",
            EarlyDeleverage { .. } => "early_deleverage",
            Deleverage { .. } => "deleverage",
            CoverWithInsurance { .. } => "cover_with_insurance",
            MarkUnderwater { .. } => "mark_underwater",
            DepositInsurance { .. } => "deposit_insurance",
            WithdrawInsurance { .. } => "withdraw_insurance",
            FinalSettle { .. } => "final_settle_market",
            SettleFinalPosition { .. } => "settle_final_position",
            SweepFees { .. } => "sweep_fees",
            PauseExchange { .. } => "set_exchange_paused",
            SetMarketStatus { .. } => "set_market_status",
            SetMargins { .. } => "set_margins",
            CloseBook { .. } => "close_book",
            CloseMarket { .. } => "close_market",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Setup {
    users: u8,
    deposits_usdc: [u32; 5],
    third_market: bool,
    insurance_usdc: u32,
}

#[derive(Clone, Debug)]
struct Case {
    seed: u64,
    setup: Setup,
    ops: Vec<Op>,
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn case_seed(base: u64, i: u64) -> u64 {
    let mut r = Rng::new(base ^ i.wrapping_mul(0xA24B_AED4_963E_E407));
    r.next()
}

fn gen_case(seed: u64) -> Case {
    let mut r = Rng::new(seed);
    let users = r.range(3, 5) as u8;
    let mut deposits_usdc = [0u32; 5];
    for d in deposits_usdc.iter_mut() {
        *d = r.pick(&[20, 50, 200, 1_000, 10_000]);
    }
    let setup = Setup {
        users,
        deposits_usdc,
        third_market: r.pct(50),
        insurance_usdc: if r.pct(50) { 0 } else { r.pick(&[1, 10, 100, 1_000]) },
    };
    let len = r.range(10, 40);
    let ops = (0..len).map(|i| gen_op(&mut r, users, i * 2 < len)).collect();
    Case { seed, setup, ops }
}

fn g_user(r: &mut Rng, users: u8) -> u8 {
    r.below(users as u64) as u8
}
/// Markets resolve modulo the open ones; most ops focus on the first (so that trades,
/// price moves and risk ops meet in the same market).
fn g_market(r: &mut Rng) -> u8 {
    if r.pct(60) {
        0
    } else {
        r.below(8) as u8
    }
}
fn g_who(r: &mut Rng, users: u8) -> Who {
    if r.pct(85) {
        Auto
    } else {
        U(g_user(r, users))
    }
}
fn g_lots(r: &mut Rng) -> u16 {
    let x = r.below(100);
    (if x < 55 {
        r.range(1, 20)
    } else if x < 90 {
        r.range(20, 200)
    } else {
        r.range(200, 3_000)
    }) as u16
}
fn g_offset(r: &mut Rng) -> i16 {
    (if r.pct(85) { r.range(-600, 600) } else { r.range(-3_000, 3_000) }) as i16
}
fn g_dir(r: &mut Rng) -> Dir {
    if r.pct(50) {
        Buy
    } else {
        Sell
    }
}
fn g_kind(r: &mut Rng) -> Kind {
    let x = r.below(100);
    match x {
        0..=29 => Limit,
        30..=54 => PostOnly,
        55..=64 => Slide,
        65..=79 => Ioc,
        80..=89 => Fok,
        _ => MarketOrder,
    }
}
fn g_max_lots(r: &mut Rng) -> u16 {
    r.pick(&[1, 10, 100, u16::MAX, u16::MAX])
}

/// Relative weights of the op kinds.
const WEIGHTS: [u32; 30] = [
    4,  // deposit
    5,  // withdraw
    22, // place
    6,  // cancel
    4,  // replace
    10, // trade (settle_fills)
    3,  // set funding rate
    2,  // update funding
    2,  // settle funding
    4,  // sample mark
    12, // oracle move
    6,  // warp
    1,  // list
    8,  // liquidate
    3,  // liquidate order
    3,  // early deleverage
    4,  // deleverage
    3,  // cover with insurance
    1,  // mark underwater
    2,  // deposit insurance
    1,  // withdraw insurance
    2,  // final settle
    3,  // settle final position
    1,  // sweep fees
    1,  // pause exchange
    2,  // market status
    1,  // set margins
    2,  // close book
    2,  // close market
    8,  // squeeze
];

/// Ops that stop most trading (final settlement, pauses, statuses, margins, closing):
/// mostly drawn in a sequence's second half, so that its first half builds positions.
const DISRUPTIVE: [usize; 6] = [21, 24, 25, 26, 27, 28];

fn gen_op(r: &mut Rng, users: u8, first_half: bool) -> Op {
    let total: u32 = WEIGHTS.iter().sum();
    let mut tag = 0;
    for _ in 0..4 {
        let mut x = r.below(total as u64) as u32;
        for (i, w) in WEIGHTS.iter().enumerate() {
            if x < *w {
                tag = i;
                break;
            }
            x -= w;
        }
        if !(first_half && DISRUPTIVE.contains(&tag)) {
            break;
        }
    }
    match tag {
        0 => Deposit {
            user: g_user(r, users),
            amount: match r.below(100) {
                0..=4 => 0,
                5..=7 => 10_000_000 * ONE_USDC,
                8..=50 => r.range(1, 10) as u64 * ONE_USDC,
                _ => r.range(10, 2_000) as u64 * ONE_USDC + r.below(1_000_000),
            },
        },
        1 => Withdraw { user: g_user(r, users), eighths: r.range(0, 9) as u8 },
        2 => Place {
            user: g_user(r, users),
            market: g_market(r),
            dir: g_dir(r),
            offset_bps: g_offset(r),
            lots: g_lots(r),
            kind: g_kind(r),
            reduce_only: r.pct(10),
            stp: match r.below(10) {
                0..=7 => Decrement,
                8 => CancelResting,
                _ => Abort,
            },
            expiry: match r.below(20) {
                0..=16 => Never,
                17 | 18 => In(r.range(5, 900) as u16),
                _ => Past,
            },
            client_id: r.below(4) as u8,
            all_makers: r.pct(85),
        },
        3 => Cancel {
            user: g_user(r, users),
            market: g_market(r),
            which: r.below(8) as u8,
            by: match r.below(10) {
                0..=6 => Key,
                7 | 8 => ClientId,
                _ => All(r.range(1, 8) as u8),
            },
        },
        4 => Replace { user: g_user(r, users), market: g_market(r), which: r.below(8) as u8, offset_bps: g_offset(r), lots: g_lots(r), kind: g_kind(r) },
        5 => Trade {
            taker: g_user(r, users),
            maker: g_user(r, users),
            market: g_market(r),
            dir: g_dir(r),
            lots: g_lots(r),
            leverage: if r.pct(60) { r.pick(&[3, 5, 7, 8]) } else { 0 },
            offset_bps: match r.below(100) {
                0..=39 => 0,
                40..=89 => r.range(-400, 400) as i16,
                _ => r.range(-3_000, 3_000) as i16,
            },
        },
        6 => SetFundingRate { market: g_market(r), rate_ppbh: r.range(-1_200_000, 1_200_000) as i32 },
        7 => UpdateFunding { market: g_market(r) },
        8 => SettleFunding { market: g_market(r), user: g_who(r, users) },
        9 => SampleMark { market: g_market(r) },
        10 => MovePrice {
            market: g_market(r),
            // Steps under the 20% jump guard move the index; larger ones test the guard.
            bps: match r.below(100) {
                0..=34 => r.range(-300, 300),
                35..=59 => r.pick(&[-1, 1]) * r.range(300, 1_500),
                60..=79 => -r.range(1_500, 1_950),
                80..=89 => r.range(1_500, 1_950),
                90..=94 => -r.range(2_000, 6_000),
                _ => r.range(2_000, 10_000),
            } as i16,
            crank: r.pct(60),
        },
        11 => Warp {
            secs: match r.below(100) {
                0..=19 => r.range(1, 59),
                20..=54 => r.range(60, 120),
                55..=69 => r.range(300, 900),
                70..=89 => r.range(3_600, 3_700),
                _ => r.range(86_400, 90_000),
            } as u32,
            refresh: r.pct(90),
        },
        12 => List { with_index: r.pct(60), deposit_usdc: r.pick(&[0, 0, 100, 1_000]) },
        13 => Liquidate { market: g_market(r), liquidatee: g_who(r, users), liquidator: g_user(r, users), max_lots: g_max_lots(r) },
        14 => LiquidateOrder { market: g_market(r), liquidatee: g_who(r, users), caller: g_user(r, users), max_lots: g_max_lots(r), limit_offset_bps: r.range(-3_000, 3_000) as i16 },
        15 => EarlyDeleverage { market: g_market(r), account: g_who(r, users), counterparty: g_who(r, users), lots: if r.pct(60) { 0 } else { g_lots(r) } },
        16 => Deleverage {
            market: g_market(r),
            account: g_who(r, users),
            counterparty: g_who(r, users),
            lots: if r.pct(60) { 0 } else { g_lots(r) },
            by_authority: r.pct(80),
        },
        17 => CoverWithInsurance { account: g_who(r, users) },
        18 => MarkUnderwater { account: g_who(r, users), caller: g_user(r, users) },
        19 => DepositInsurance {
            user: g_user(r, users),
            amount: if r.pct(5) { 0 } else { r.range(1, 500) as u64 * ONE_USDC },
        },
        20 => WithdrawInsurance { eighths: r.range(0, 9) as u8 },
        21 => FinalSettle {
            market: g_market(r),
            band: if r.pct(80) { Around(r.pick(&[0, 10, 100, 1_000])) } else { Off(r.pick(&[-500, -1, 1, 500])) },
        },
        22 => SettleFinalPosition { market: g_market(r), user: g_who(r, users) },
        23 => SweepFees { market: g_market(r) },
        24 => PauseExchange { paused: r.pct(40), by_admin: r.pct(70) },
        25 => SetMarketStatus { market: g_market(r), status: r.pick(&[0, 0, 0, 1, 2, 3]), by_admin: r.pct(70) },
        26 => SetMargins { market: g_market(r), long_bps: r.pick(&[500, 1_000, 2_000, 5_000, 9_000, 9_500]), short_bps: r.pick(&[1_000, 2_000, 5_000, 9_000]) },
        27 => CloseBook { market: g_market(r) },
        28 => CloseMarket { market: g_market(r), crank: r.pct(50) },
        _ => Squeeze { bps: r.pick(&[300, 600, 900, 1_200, 1_500, 1_900]) },
    }
}

// ---------------------------------------------------------------------------------------
// Allow-lists: the refusals each op may legitimately get
// ---------------------------------------------------------------------------------------

/// Refusals any instruction that reads a market's prices or trades in it may get from the
/// market's state: oracle guard rails (a warp without refresh leaves oracles stale), the
/// jump guard, pauses, reduce-only and settled markets, and a market without an index or
/// a mark yet.
const MARKET_STATE: &[&str] = &[
    "StaleOracle",
    "IndexJumped",
    "ExchangePaused",
    "MarketNotActive",
    "MarketReduceOnly",
    "MarketInFinalSettlement",
    "NoMarkPrice",
];

/// SPL Token's `InsufficientFunds` (a wallet that does not hold the amount).
const TOKEN_INSUFFICIENT_FUNDS: &str = "Token(1)";

fn allow_list(kind: &str) -> (&'static [&'static str], bool) {
    // (specific refusals, whether MARKET_STATE applies)
    match kind {
        "deposit" => (&["ZeroAmount", TOKEN_INSUFFICIENT_FUNDS], false),
        "withdraw" => (&["ZeroAmount", "InsufficientInitialMargin", "StaleOracle", "NoMarkPrice"], false),
        "place" | "replace" => (
            &[
                "OrderNotFound",
                "InvalidPrice",
                "InvalidSize",
                "PriceOutsideBand",
                "PostOnlyWouldCross",
                "FillOrKillNotFilled",
                "ReduceOnlyWouldIncrease",
                "SelfTradeAborted",
                "TooManyOrders",
                "BookFull",
                "AlreadyExpired",
                "InsufficientInitialMargin",
                "MarginRuleViolated",
                "SideDisabled",
                "OpenInterestCapExceeded",
            ],
            true,
        ),
        "cancel" => (&["OrderNotFound"], false),
        "settle_fills" => (
            &["FillPriceOutsideBand", "InsufficientInitialMargin", "MarginRuleViolated", "SideDisabled", "OpenInterestCapExceeded"],
            true,
        ),
        "set_funding_rate" => (&["FundingRateTooLarge", "FundingRateChangeTooLarge"], true),
        "update_funding" | "oracle_move" => (&[], true),
        "settle_funding" => (&["NoPositionInMarket"], true),
        "sample_mark" => (&["MarkSampleTooEarly"], true),
        "list_market" => (&[], true),
        "liquidate" => (
            &["NotLiquidatable", "NoPositionInMarket", "LiquidationWouldBankrupt", "LiquidationWorsensRatio", "InsufficientInitialMargin"],
            true,
        ),
        "liquidate_order" => (&["InvalidSize", "NotLiquidatable", "LiquidationWouldBankrupt", "LiquidationWorsensRatio", "LiquidationMustReduce"], true),
        "early_deleverage" => (
            &["InvalidSize", "NotLiquidatable", "LiquidationMustReduce", "EarlyDeleverageNotNeeded", "InvalidCounterparty", "NoPositionInMarket"],
            true,
        ),
        "deleverage" => (
            &[
                "NoPositionInMarket",
                "NotUnderwater",
                "DeleverageNotAllowed",
                "InsufficientInsurance",
                "InvalidCounterparty",
                "NonPositiveMarkPrice",
                "LiquidationMustReduce",
            ],
            true,
        ),
        "cover_with_insurance" => (&["NotUnderwater", "InsufficientInsurance", "StaleOracle", "NoMarkPrice"], false),
        "mark_underwater" => (&["NotUnderwater", "StaleOracle", "NoMarkPrice"], false),
        "deposit_insurance" => (&["ZeroAmount"], false),
        "withdraw_insurance" => (&["ZeroAmount", "InsufficientInsurance"], false),
        "final_settle_market" => (&["SettlementPriceOutsideBand"], true),
        "settle_final_position" => (&["MarketNotSettled", "NoPositionInMarket"], false),
        "sweep_fees" => (&["InsufficientFees"], false),
        "set_exchange_paused" => (&["NotAdmin"], false),
        "set_market_status" => (&["NotAdmin", "ParameterOutOfRange", "MarketInFinalSettlement"], false),
        "set_margins" => (&["MarginsUpdatedTooRecently", "InvalidMargins"], false),
        "close_book" => (&["MarketNotSettled"], false),
        "close_market" => (&["MarketNotSettled", "MarketNotEmpty"], false),
        // (with `crank`, settle_final_position's and close_book's refusals too: MarketNotSettled)
        _ => (&[], false),
    }
}

fn allowed(kind: &str, name: &str) -> bool {
    let (specific, market_state) = allow_list(kind);
    specific.contains(&name) || (market_state && MARKET_STATE.contains(&name))
}

/// `(code, name)` of every variant of an Anchor error enum. A variant missing here only
/// makes its refusal print as `Custom(n)`, which no allow-list accepts.
macro_rules! error_names {
    ($enum:path: $($v:ident),* $(,)?) => {{
        use $enum as E;
        vec![$((u32::from(E::$v), stringify!($v))),*]
    }};
}

fn perp_error_name(code: u32) -> Option<&'static str> {
    let names = error_names!(perpetual::error::PerpError:
        MathOverflow, NotAdmin, NotPendingAdmin, NotFundingAuthority, NotRiskAuthority, NotPauseGuardian,
        NotOracleAuthority, NotOwnerOrDelegate, NotOwner, WrongExchange, WrongAccount, WrongOwner,
        NotMarginAccount, AccountDataInvalid, DuplicateAccount, WrongOracle, StaleOracle,
        OracleConfidenceTooWide, NonPositiveOraclePrice, OracleNotTrading, InvalidOracleAccount,
        ParameterOutOfRange, InvalidMargins, FundingRateTooLarge, FundingRateChangeTooLarge, MarketNotActive,
        MarketReduceOnly, MarketInFinalSettlement, ExchangePaused, PositionCapacityReached, InvalidCapacity,
        InsufficientInitialMargin, MarginRuleViolated, HealthAccountsMismatch, TraderNotApproved,
        WrongTraderAuthority, MakerIndexOutOfRange, ZeroFillSize, FillPriceOutsideBand, SelfTrade,
        TooManyFills, ZeroAmount, InsufficientCollateral, WrongMint, InsufficientFees,
        OracleExponentOutOfRange, ReservationUnderflow, InvalidSymbol, NoPositionInMarket,
        AccountAlreadyInitialized, AccountNotWritable, IndexJumped, NoMarkPrice, MarkSampleTooEarly,
        MarginsUpdatedTooRecently, SideDisabled, OpenInterestCapExceeded, BookAlreadyRegistered,
        NonPositiveMarkPrice, InvalidPriceHistory, NotLiquidatable, SelfLiquidation, LiquidationWorsensRatio,
        LiquidationWouldBankrupt, LiquidationMustReduce, NotUnderwater, InvalidCounterparty,
        DeleverageNotAllowed, EarlyDeleverageNotNeeded, InsufficientInsurance, SettlementPriceOutsideBand,
        MarketNotSettled, MarketNotEmpty,
    );
    names.into_iter().find(|(c, _)| *c == code).map(|(_, n)| n)
}

fn book_error_name(code: u32) -> Option<&'static str> {
    let names = error_names!(orderbook::error::BookError:
        WrongBook, WrongOwner, NotOwnerOrDelegate, NotAdmin, InvalidPrice, InvalidSize, PriceOutsideBand,
        PostOnlyWouldCross, FillOrKillNotFilled, ReduceOnlyWouldIncrease, SelfTradeAborted, TooManyOrders,
        BookFull, SeatUnavailable, OrderNotFound, InvalidBookParams, InvalidBookData, MakerCountOutOfRange,
        InvalidMakerAccount, MissingFillResults, AlreadyExpired, MathOverflow, MarketNotSettled, WrongOracle,
        StaleOracle, OracleConfidenceTooWide, NonPositiveOraclePrice, OracleNotTrading, InvalidOracleAccount,
        IndexJumped, NoMarkPrice, OracleNotFullyVerified, WrongOracleFeed, PriceUnavailable, NotMarginAccount,
        WrongExchange, NotBookCreator,
    );
    names.into_iter().find(|(c, _)| *c == code).map(|(_, n)| n)
}

/// Names a failed transaction's error. Natively, Anchor's `msg!` goes to stdout rather than
/// to the transaction's logs, and both programs number their errors from 6000; so the
/// program that raised the error is read from the runtime's own log: the first
/// `Program <id> failed: custom program error: 0x..` line is the innermost failing program
/// (a `perpetual` error raised inside an order-book CPI fails `perpetual` first). SPL Token's
/// errors are `Token(n)`, anything else `Custom(n)`, a non-custom error its whole value
/// (never allowed: a native panic surfaces as one). The order book maps the perpetual errors
/// it meets while pricing its band to its own (`orderbook::error::from_perp`), so a code is
/// never ambiguous.
fn refusal_name(err: &TransactionError, logs: &[String]) -> String {
    let Some(code) = custom_code(err) else {
        return format!("non-custom error {err:?}");
    };
    let failed = logs.iter().find_map(|l| {
        let rest = l.strip_prefix("Program ")?;
        let (id, tail) = rest.split_once(' ')?;
        tail.starts_with("failed: custom program error").then(|| id.to_string())
    });
    let program = failed.as_deref().and_then(|id| id.parse::<Pubkey>().ok());
    let name = match program {
        Some(p) if p == perpetual::ID => perp_error_name(code),
        Some(p) if p == orderbook::ID => book_error_name(code),
        Some(p) if p == anchor_spl::token::ID => return format!("Token({code})"),
        _ => None,
    };
    name.map(str::to_string).unwrap_or_else(|| format!("Custom({code})"))
}

// ---------------------------------------------------------------------------------------
// The harness state
// ---------------------------------------------------------------------------------------

struct Mkt {
    cookie: MarketCookie,
    book: Option<BookCookie>,
    /// The registered book's address (kept once the book is closed).
    book_key: Pubkey,
    /// The oracle price the harness last published (native quote per lot).
    price: i64,
    closed: bool,
    /// Lister and its token account (None: the admin created it).
    lister: Option<(Keypair, Pubkey)>,
}

struct State {
    users: Vec<UserCookie>,
    markets: Vec<Mkt>,
    /// Accounts a risk op ever cleared the reservations of.
    cleared: HashSet<Pubkey>,
    admin_token: Pubkey,
    listed: u32,
    steps_done: u64,
}

impl State {
    fn user(&self, u: u8) -> &UserCookie {
        &self.users[u as usize % self.users.len()]
    }
    fn user_index(&self, u: u8) -> usize {
        u as usize % self.users.len()
    }
    /// A market still open, by index modulo their number.
    fn live(&self, m: u8) -> Option<usize> {
        let live: Vec<usize> = (0..self.markets.len()).filter(|i| !self.markets[*i].closed).collect();
        (!live.is_empty()).then(|| live[m as usize % live.len()])
    }
    /// Records that a risk op cleared all of `account`'s reservations.
    fn cleared(&mut self, account: Pubkey) {
        self.cleared.insert(account);
    }
}

enum Out {
    Done,
    Refused(String),
    Skip,
}

async fn send(env: &mut TestEnv, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, String> {
    let (res, logs) = env.process_logged(ixs, signers).await;
    match res {
        Ok(o) => Ok(o),
        Err(e) => Err(refusal_name(&e, &logs)),
    }
}

fn out<T>(r: Result<T, String>) -> Out {
    match r {
        Ok(_) => Out::Done,
        Err(name) => Out::Refused(name),
    }
}

async fn setup(env: &mut TestEnv, s: &Setup) -> State {
    let mut markets = vec![];
    let sol = env.market_with_book("SOL", 64).await;
    markets.push(Mkt { cookie: sol.market, book: Some(sol), book_key: sol.venue.book, price: 1_000_000, closed: false, lister: None });
    let eth = env.create_market_with(market_args("ETH", OracleKind::PythLegacy), 1_000_000).await;
    let eth_book = env.create_book(&eth, book_args(64, 16)).await;
    markets.push(Mkt { cookie: eth, book: Some(eth_book), book_key: eth_book.venue.book, price: 1_000_000, closed: false, lister: None });
    if s.third_market {
        let mut args = market_args("BTC", OracleKind::SetPrice);
        args.price_band_bps = 1_000;
        let btc = env.create_market_with(args, 2_000_000).await;
        let btc_book = env.create_book(&btc, book_args(16, 4)).await;
        markets.push(Mkt { cookie: btc, book: Some(btc_book), book_key: btc_book.venue.book, price: 2_000_000, closed: false, lister: None });
    }
    let mut users = vec![];
    for i in 0..s.users as usize {
        let deposit = s.deposits_usdc[i] as u64 * ONE_USDC;
        let u = env.create_user(deposit + 100_000 * ONE_USDC).await;
        env.deposit(&u, deposit).await.expect("opening deposit");
        users.push(u);
    }
    if s.insurance_usdc > 0 {
        let u = &users[0];
        let ix = sdk::deposit_insurance(&u.key(), &env.exchange, &env.mint, &u.token_account, s.insurance_usdc as u64 * ONE_USDC);
        env.process(&[ix], &[&u.owner]).await.expect("opening insurance");
    }
    let admin = env.admin.pubkey();
    let admin_token = env.create_token_account(&admin, 0).await;
    State { users, markets, cleared: HashSet::new(), admin_token, listed: 0, steps_done: 0 }
}

// ---------------------------------------------------------------------------------------
// Reading state for resolution
// ---------------------------------------------------------------------------------------

/// A market's reference price per lot: the locked price once settled, the harness's oracle
/// price with an index, the mark (or last trade) without one.
async fn ref_price(env: &mut TestEnv, st: &State, mi: usize) -> i64 {
    let m = &st.markets[mi];
    if m.closed {
        return m.price;
    }
    let s = env.market_state(&m.cookie.market).await;
    if s.status == MarketStatus::FinalSettlement as u8 {
        return s.settlement_price.get().to_num::<i64>();
    }
    if m.cookie.kind != OracleKind::None {
        return m.price;
    }
    let mark = s.mark_price.get().to_num::<i64>();
    if mark > 0 {
        mark
    } else {
        s.last_trade_price as i64
    }
}

/// Per user: (equity, equity above maintenance, position in `market`), at reference prices.
async fn user_risk(env: &mut TestEnv, st: &State, market: usize) -> Vec<(i128, i128, i64)> {
    let mut prices = vec![];
    let mut maint = vec![];
    for i in 0..st.markets.len() {
        prices.push(ref_price(env, st, i).await as i128);
        if st.markets[i].closed {
            maint.push((0i128, 0i128));
        } else {
            let s = env.market_state(&st.markets[i].cookie.market).await;
            maint.push((s.maint_margin_long_bps as i128, s.maint_margin_short_bps as i128));
        }
    }
    let mut out = vec![];
    for u in &st.users {
        let (h, ps) = env.margin(&u.margin_account).await;
        let mut equity = h.collateral as i128;
        let mut req = 0i128;
        let mut here = 0;
        for p in ps.iter().filter(|p| !p.is_free()) {
            let Some(i) = st.markets.iter().position(|m| m.cookie.market == p.market) else { continue };
            equity += p.base_lots as i128 * prices[i];
            let bps = if p.base_lots > 0 { maint[i].0 } else { maint[i].1 };
            req += (p.base_lots as i128).abs() * prices[i] * bps / 10_000;
            if i == market {
                here = p.base_lots;
            }
        }
        out.push((equity, equity - req, here));
    }
    out
}

/// The account a risk op targets: `U(i)`, or with `Auto` the user with a position in the
/// market (any position when `market` is None) whose `key` is lowest.
fn pick_weakest(st: &State, who: Who, risk: &[(i128, i128, i64)], by_margin: bool, need_position: bool) -> Option<usize> {
    match who {
        U(i) => Some(st.user_index(i)),
        Auto => (0..risk.len())
            .filter(|i| !need_position || risk[*i].2 != 0)
            .min_by_key(|i| if by_margin { risk[*i].1 } else { risk[*i].0 }),
    }
}

/// The counterparty: `U(i)`, or with `Auto` the largest position opposite `account`'s.
fn pick_counterparty(st: &State, who: Who, risk: &[(i128, i128, i64)], account: usize) -> usize {
    match who {
        U(i) => st.user_index(i),
        Auto => {
            let mine = risk[account].2;
            (0..risk.len())
                .filter(|i| *i != account && risk[*i].2 != 0 && (risk[*i].2 > 0) != (mine > 0))
                .max_by_key(|i| risk[*i].2.unsigned_abs())
                .unwrap_or((account + 1) % risk.len())
        }
    }
}

/// The counterparty of a deleveraging op (never the account itself) and its size: the op's
/// own, or with 0 the smaller of the two positions.
fn pick_offset(st: &State, who: Who, risk: &[(i128, i128, i64)], account: usize, lots: u16) -> (usize, u64) {
    let mut cp = pick_counterparty(st, who, risk, account);
    if cp == account {
        cp = (account + 1) % st.users.len();
    }
    let size = if lots == 0 { risk[account].2.unsigned_abs().min(risk[cp].2.unsigned_abs()).max(1) } else { lots as u64 };
    (cp, size)
}

/// The market a risk op acts in: the op's own for `U(i)`; with `Auto`, the market of the
/// largest position (by notional) of the weakest account holding any (by margin above
/// maintenance, or by equity).
async fn target_market(env: &mut TestEnv, st: &State, market: u8, who: Who, by_margin: bool) -> Option<usize> {
    if let U(_) = who {
        return st.live(market);
    }
    let risk = user_risk(env, st, usize::MAX).await;
    let mut best: Option<(i128, usize)> = None;
    for (ui, u) in st.users.iter().enumerate() {
        let (_, ps) = env.margin(&u.margin_account).await;
        let mut top: Option<(i128, usize)> = None;
        for p in ps.iter().filter(|p| !p.is_free() && p.base_lots != 0) {
            let Some(mi) = st.markets.iter().position(|m| m.cookie.market == p.market && !m.closed) else { continue };
            let notional = (p.base_lots as i128).abs() * ref_price(env, st, mi).await as i128;
            if top.is_none_or(|(n, _)| notional > n) {
                top = Some((notional, mi));
            }
        }
        let score = if by_margin { risk[ui].1 } else { risk[ui].0 };
        if let Some((_, mi)) = top {
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, mi));
            }
        }
    }
    best.map(|(_, mi)| mi).or_else(|| st.live(market))
}

/// For the ops that finish a market (closing positions, the book, the market): among the
/// markets `keep` accepts, the settled (or closed) ones if any, else all; by index modulo
/// their number.
async fn settled_first(env: &mut TestEnv, st: &State, m: u8, keep: impl Fn(&Mkt) -> bool) -> Option<usize> {
    let mut all = vec![];
    let mut settled = vec![];
    for (i, mk) in st.markets.iter().enumerate().filter(|(_, mk)| keep(mk)) {
        all.push(i);
        if mk.closed || env.market_state(&mk.cookie.market).await.status == MarketStatus::FinalSettlement as u8 {
            settled.push(i);
        }
    }
    let pool = if settled.is_empty() { all } else { settled };
    (!pool.is_empty()).then(|| pool[m as usize % pool.len()])
}

/// `U(i)`'s margin account, or with `Auto` the first user holding a position slot in the
/// market (None when nobody does).
async fn holder(env: &mut TestEnv, st: &State, mi: usize, who: Who) -> Option<Pubkey> {
    match who {
        U(i) => Some(st.user(i).margin_account),
        Auto => {
            let market = st.markets[mi].cookie.market;
            for u in &st.users {
                if !env.position(&u.margin_account, &market).await.is_free() {
                    return Some(u.margin_account);
                }
            }
            None
        }
    }
}

/// The user's orders in a book, best first per side (bids then asks).
async fn orders_of(env: &mut TestEnv, book: &BookCookie, account: &Pubkey) -> Vec<decode::L3Order> {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    let mut v = decode::l3(&b, BookSide::Bid);
    v.extend(decode::l3(&b, BookSide::Ask));
    v.retain(|o| o.margin_account == *account);
    v
}

/// Makers a taker on `side` may meet, in the book's priority order (all or the first half).
async fn makers_for(env: &mut TestEnv, book: &BookCookie, taker: &Pubkey, side: BookSide, all: bool) -> Vec<Pubkey> {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    let opposite = match side {
        BookSide::Bid => BookSide::Ask,
        BookSide::Ask => BookSide::Bid,
    };
    let mut out: Vec<Pubkey> = vec![];
    for o in decode::l3(&b, opposite) {
        if o.margin_account != *taker && !out.contains(&o.margin_account) {
            out.push(o.margin_account);
        }
    }
    if !all {
        out.truncate(out.len().div_ceil(2));
    }
    out.truncate(10);
    out
}

fn ticks(price_per_lot: i64, offset_bps: i16) -> u64 {
    let p = price_per_lot as i128 * (10_000 + offset_bps as i128) / 10_000;
    ((p + TICK as i128 / 2) / TICK as i128).max(1) as u64
}

fn book_side(d: Dir) -> BookSide {
    match d {
        Buy => BookSide::Bid,
        Sell => BookSide::Ask,
    }
}

fn order_type(k: Kind) -> OrderType {
    match k {
        Limit => OrderType::Limit,
        PostOnly => OrderType::PostOnly,
        Slide => OrderType::PostOnlySlide,
        Ioc => OrderType::ImmediateOrCancel,
        Fok => OrderType::FillOrKill,
        MarketOrder => OrderType::Market,
    }
}

// ---------------------------------------------------------------------------------------
// Executing one op
// ---------------------------------------------------------------------------------------

async fn step(env: &mut TestEnv, st: &mut State, op: &Op) -> Out {
    let exchange = env.exchange;
    let mint = env.mint;
    match *op {
        Deposit { user, amount } => {
            let u = st.user(user);
            let ix = sdk::deposit(&u.key(), &exchange, &mint, &u.margin_account, &u.token_account, amount);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Withdraw { user, eighths } => {
            let u = st.user(user);
            let c = env.collateral(&u.margin_account).await.max(0) as u128;
            let amount = if eighths == 0 { 0 } else { ((c * eighths as u128 / 8) as u64).max(1) };
            let health = env.health_metas(&u.margin_account, &[]).await;
            let ix = sdk::withdraw(&u.key(), &exchange, &mint, &u.margin_account, &u.token_account, amount, health);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Place { user, market, dir, offset_bps, lots, kind, reduce_only, stp, expiry, client_id, all_makers } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let price = ref_price(env, st, mi).await;
            let u = st.user(user);
            let side = book_side(dir);
            let mut args = order(side, ticks(price, offset_bps), lots as u64, order_type(kind));
            args.reduce_only = reduce_only;
            args.self_trade = match stp {
                Decrement => SelfTradeBehavior::DecrementTake,
                CancelResting => SelfTradeBehavior::CancelResting,
                Abort => SelfTradeBehavior::AbortTransaction,
            };
            args.client_order_id = client_id as u64;
            let now = env.now().await;
            args.expiry_ts = match expiry {
                Never => 0,
                In(s) => now + s as i64,
                Past => now,
            };
            let makers = makers_for(env, &book, &u.margin_account, side, all_makers).await;
            let ix = env.place_ix(u, &book, args, &makers).await;
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Cancel { user, market, which, by } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let u = st.user(user);
            let ix = match by {
                Key => {
                    let orders = orders_of(env, &book, &u.margin_account).await;
                    if orders.is_empty() {
                        return Out::Skip;
                    }
                    let o = orders[which as usize % orders.len()];
                    orderbook::sdk::cancel_order(&book.venue, &u.key(), &u.margin_account, o.side, o.key)
                }
                ClientId => orderbook::sdk::cancel_order_by_client_id(&book.venue, &u.key(), &u.margin_account, which as u64 % 4),
                All(limit) => orderbook::sdk::cancel_all_orders(&book.venue, &u.key(), &u.margin_account, limit as u16),
            };
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Replace { user, market, which, offset_bps, lots, kind } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let u = st.user(user);
            let orders = orders_of(env, &book, &u.margin_account).await;
            if orders.is_empty() {
                return Out::Skip;
            }
            let o = orders[which as usize % orders.len()];
            let price = ref_price(env, st, mi).await;
            let mut args = order(o.side, ticks(price, offset_bps), lots as u64, order_type(kind));
            args.seat_hint = env.seat_for(&book, &u.margin_account).await;
            let makers = makers_for(env, &book, &u.margin_account, o.side, true).await;
            let health = env.health_for(u, &book).await;
            let ix = orderbook::sdk::replace_order(&book.venue, &u.key(), &u.margin_account, o.side, o.key, args, &makers, health);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Trade { taker, maker, market, dir, lots, leverage, offset_bps } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let cookie = st.markets[mi].cookie;
            let (ti, mut mk) = (st.user_index(taker), st.user_index(maker));
            if mk == ti {
                mk = (mk + 1) % st.users.len();
            }
            let price = ref_price(env, st, mi).await;
            let price = (price as i128 * (10_000 + offset_bps as i128) / 10_000).max(1) as u64;
            let (t, m) = (&st.users[ti], &st.users[mk]);
            let lots = if leverage > 0 {
                let ct = env.collateral(&t.margin_account).await.max(0) as u64;
                let c = ct.min(env.collateral(&m.margin_account).await.max(0) as u64);
                (c * leverage as u64 / price.max(1)).clamp(1, u16::MAX as u64) as u16
            } else {
                lots
            };
            let (bid, ask, taker_side) = match dir {
                Buy => (0, lots as i64, Side::Bid),
                Sell => (lots as i64, 0, Side::Ask),
            };
            let before = env.position(&m.margin_account, &cookie.market).await;
            let ix = env.reserve_ix(m, &cookie, bid, ask).await;
            if let Err(name) = send(env, &[ix], &[&m.owner]).await {
                return Out::Refused(name);
            }
            let fill = Fill { maker_index: 0, taker_side, base_lots: lots as u64, price_per_lot: price };
            let ix = env.settle_ix(t, &cookie, &[m.margin_account], vec![fill], vec![], 0, 0).await;
            let res = send(env, &[ix], &[&t.owner]).await;
            // Give back whatever of the maker's reservation the fill did not consume.
            let after = env.position(&m.margin_account, &cookie.market).await;
            let extra_bid = after.open_bid_lots.saturating_sub(before.open_bid_lots) as i64;
            let extra_ask = after.open_ask_lots.saturating_sub(before.open_ask_lots) as i64;
            if extra_bid > 0 || extra_ask > 0 {
                let ix = env.reserve_ix(m, &cookie, -extra_bid, -extra_ask).await;
                send(env, &[ix], &[&m.owner]).await.expect("releasing a test-trader reservation");
            }
            out(res)
        }
        SetFundingRate { market, rate_ppbh } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let fa = env.funding_authority.insecure_clone();
            let ix = sdk::set_funding_rate(&fa.pubkey(), &exchange, &c.market, &c.oracle, rate_ppbh as i64);
            out(send(env, &[ix], &[&fa]).await)
        }
        UpdateFunding { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await)
        }
        SettleFunding { market, user } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let Some(ma) = holder(env, st, mi, user).await else { return Out::Skip };
            out(send(env, &[sdk::settle_funding(&c.market, &c.oracle, &ma)], &[]).await)
        }
        SampleMark { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            out(send(env, &[orderbook::sdk::sample_mark(&book.venue)], &[]).await)
        }
        MovePrice { market, bps, crank } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            if st.markets[mi].cookie.kind == OracleKind::None {
                return Out::Skip;
            }
            let p = st.markets[mi].price as i128 * (10_000 + bps as i128) / 10_000;
            let p = p.clamp(50_000, 50_000_000) as i64;
            st.markets[mi].price = p;
            let c = st.markets[mi].cookie;
            env.set_price(&c, p).await;
            if crank {
                return out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await);
            }
            Out::Done
        }
        Squeeze { bps } => {
            let Some(mi) = target_market(env, st, 0, Auto, true).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if c.kind == OracleKind::None {
                return Out::Skip;
            }
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, Auto, &risk, true, true) else { return Out::Skip };
            let sign = if risk[a].2 > 0 { -1 } else { 1 };
            let p = st.markets[mi].price as i128 * (10_000 + sign * bps as i128) / 10_000;
            let p = p.clamp(50_000, 50_000_000) as i64;
            st.markets[mi].price = p;
            env.set_price(&c, p).await;
            out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await)
        }
        Warp { secs, refresh } => {
            env.warp(secs as i64).await;
            if refresh {
                refresh_oracles(env, st).await;
            }
            Out::Done
        }
        List { with_index, deposit_usdc } => {
            if st.listed >= 2 {
                return Out::Skip;
            }
            st.listed += 1;
            let admin = env.admin.insecure_clone();
            let deposit = deposit_usdc as u64 * ONE_USDC;
            env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &exchange, deposit)], &[&admin]).await.expect("set listing deposit");
            let lister = Keypair::new();
            env.airdrop(&lister.pubkey(), 10_000_000_000).await;
            let token = env.create_token_account(&lister.pubkey(), deposit + 10 * ONE_USDC).await;
            let (oracle, kind) = if with_index {
                let key = Pubkey::new_unique();
                let now = env.now().await;
                env.write_pyth(&key, 1_000_000, 0, -6, now, PriceStatus::Trading);
                (key, OracleKind::PythLegacy)
            } else {
                (Pubkey::default(), OracleKind::None)
            };
            let symbol = sdk::symbol(&format!("LIST{}", st.listed));
            let args = ListMarketArgs { symbol, oracle_kind: kind, base_decimals: 6, base_lot_size: 1_000_000, initial_price_per_lot: 1_000_000 };
            let ix = sdk::list_market(&lister.pubkey(), &exchange, &mint, &token, &oracle, args);
            if let Err(name) = send(env, &[ix], &[&lister]).await {
                return Out::Refused(name);
            }
            let cookie = MarketCookie { symbol, market: sdk::market_address(&exchange, &symbol), oracle, kind, expo: -6 };
            env.markets.push(cookie);
            let book = env.create_book_as(&cookie, book_args(64, 16), &lister).await.expect("the lister creates the book");
            st.markets.push(Mkt { cookie, book: Some(book), book_key: book.venue.book, price: 1_000_000, closed: false, lister: Some((lister, token)) });
            Out::Done
        }
        Liquidate { market, liquidatee, liquidator, max_lots } => {
            let Some(mi) = target_market(env, st, market, liquidatee, true).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, liquidatee, &risk, true, true) else { return Out::Skip };
            let mut l = st.user_index(liquidator);
            if l == a {
                l = (l + 1) % st.users.len();
            }
            let (lq, lr) = (&st.users[a], &st.users[l]);
            let lqh = env.health_metas(&lq.margin_account, &[c.market]).await;
            let lrh = env.health_metas(&lr.margin_account, &[c.market]).await;
            let max = if max_lots == u16::MAX { u64::MAX } else { max_lots as u64 };
            let ix = sdk::liquidate(&exchange, &c.market, &c.oracle, &lq.margin_account, &lr.margin_account, &lr.key(), max, lqh, lrh);
            let r = send(env, &[ix], &[&lr.owner]).await;
            if r.is_ok() {
                let k = lq.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        LiquidateOrder { market, liquidatee, caller, max_lots, limit_offset_bps } => {
            let Some(mi) = target_market(env, st, market, liquidatee, true).await else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, liquidatee, &risk, true, true) else { return Out::Skip };
            let price = ref_price(env, st, mi).await;
            let (lq, caller) = (&st.users[a], st.user(caller));
            let side = if risk[a].2 >= 0 { BookSide::Ask } else { BookSide::Bid };
            let makers = makers_for(env, &book, &lq.margin_account, side, true).await;
            let health = env.health_metas(&lq.margin_account, &[c.market]).await;
            let max = if max_lots == u16::MAX { u64::MAX } else { max_lots as u64 };
            let ix = orderbook::sdk::liquidate_order(&book.venue, &caller.key(), &lq.margin_account, max, ticks(price, limit_offset_bps), &makers, health);
            let r = send(env, &[ix], &[&caller.owner]).await;
            if r.is_ok() {
                let k = lq.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        EarlyDeleverage { market, account, counterparty, lots } => {
            let Some(mi) = target_market(env, st, market, account, true).await else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, account, &risk, true, true) else { return Out::Skip };
            let (cp, lots) = pick_offset(st, counterparty, &risk, a, lots);
            let (acct, cpu) = (&st.users[a], &st.users[cp]);
            let health = env.health_metas(&acct.margin_account, &[c.market]).await;
            let da = env.deleverage_authority.insecure_clone();
            let ix = orderbook::sdk::early_deleverage(&book.venue, &acct.margin_account, &cpu.margin_account, &da.pubkey(), lots, health);
            let r = send(env, &[ix], &[&da]).await;
            if r.is_ok() {
                let k = acct.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        Deleverage { market, account, counterparty, lots, by_authority } => {
            let Some(mi) = target_market(env, st, market, account, false).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, account, &risk, false, true) else { return Out::Skip };
            let (cp, lots) = pick_offset(st, counterparty, &risk, a, lots);
            let (acct, cpu) = (&st.users[a], &st.users[cp]);
            let health = env.health_metas(&acct.margin_account, &[c.market]).await;
            let signer = if by_authority { env.deleverage_authority.insecure_clone() } else { cpu.owner.insecure_clone() };
            let ix = sdk::deleverage(&exchange, &c.market, &c.oracle, &acct.margin_account, &cpu.margin_account, &signer.pubkey(), lots, health);
            let r = send(env, &[ix], &[&signer]).await;
            if r.is_ok() {
                let k = acct.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        CoverWithInsurance { account } => {
            let risk = user_risk(env, st, usize::MAX).await;
            let Some(a) = pick_weakest(st, account, &risk, false, false) else { return Out::Skip };
            let acct = &st.users[a];
            let health = env.health_metas(&acct.margin_account, &[]).await;
            let da = env.deleverage_authority.insecure_clone();
            let ix = sdk::cover_with_insurance(&exchange, &acct.margin_account, &da.pubkey(), health);
            out(send(env, &[ix], &[&da]).await)
        }
        MarkUnderwater { account, caller } => {
            let risk = user_risk(env, st, usize::MAX).await;
            let Some(a) = pick_weakest(st, account, &risk, false, false) else { return Out::Skip };
            let (acct, caller) = (&st.users[a], st.user(caller));
            let health = env.health_metas(&acct.margin_account, &[]).await;
            let ix = sdk::mark_underwater(&exchange, &acct.margin_account, &caller.key(), health);
            out(send(env, &[ix], &[&caller.owner]).await)
        }
        DepositInsurance { user, amount } => {
            let u = st.user(user);
            let ix = sdk::deposit_insurance(&u.key(), &exchange, &mint, &u.token_account, amount);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        WithdrawInsurance { eighths } => {
            let fund = env.insurance_fund().await as u128;
            let amount = if eighths == 0 { 0 } else { ((fund * eighths as u128 / 8) as u64).max(1) };
            let admin = env.admin.insecure_clone();
            let ix = sdk::withdraw_insurance(&admin.pubkey(), &exchange, &mint, &st.admin_token, amount);
            out(send(env, &[ix], &[&admin]).await)
        }
        FinalSettle { market, band } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let p = ref_price(env, st, mi).await.max(1) as i128;
            let (lo, hi) = match band {
                Around(bps) => (p * (10_000 - bps as i128) / 10_000, p * (10_000 + bps as i128) / 10_000 + 1),
                Off(bps) => {
                    let x = p * (10_000 + bps as i128) / 10_000;
                    (x, x)
                }
            };
            let admin = env.admin.insecure_clone();
            let ix = sdk::final_settle_market(&admin.pubkey(), &exchange, &c.market, &c.oracle, lo.max(0) as u64, hi.max(0) as u64);
            out(send(env, &[ix], &[&admin]).await)
        }
        SettleFinalPosition { market, user } => {
            let Some(mi) = settled_first(env, st, market, |m| !m.closed).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if let U(i) = user {
                let ma = st.user(i).margin_account;
                return out(send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await);
            }
            // Auto: the keeper's final-settlement crank, one transaction per holder.
            let mut result = Out::Skip;
            while let Some(ma) = holder(env, st, mi, Auto).await {
                match send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await {
                    Ok(_) => result = Out::Done,
                    Err(name) => return Out::Refused(name),
                }
            }
            result
        }
        SweepFees { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            out(send(env, &[sdk::sweep_fees(&exchange, &c.market)], &[]).await)
        }
        PauseExchange { paused, by_admin } => {
            let signer = if by_admin { env.admin.insecure_clone() } else { env.guardian.insecure_clone() };
            out(send(env, &[sdk::set_exchange_paused(&signer.pubkey(), &exchange, paused)], &[&signer]).await)
        }
        SetMarketStatus { market, status, by_admin } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let status = match status {
                0 => MarketStatus::Active,
                1 => MarketStatus::ReduceOnly,
                2 => MarketStatus::Paused,
                _ => MarketStatus::FinalSettlement,
            };
            let signer = if by_admin { env.admin.insecure_clone() } else { env.guardian.insecure_clone() };
            out(send(env, &[sdk::set_market_status(&signer.pubkey(), &exchange, &c.market, status)], &[&signer]).await)
        }
        SetMargins { market, long_bps, short_bps } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let ra = env.risk_authority.insecure_clone();
            out(send(env, &[sdk::set_margins(&ra.pubkey(), &exchange, &c.market, long_bps, short_bps)], &[&ra]).await)
        }
        CloseBook { market } => {
            let Some(mi) = settled_first(env, st, market, |m| m.book.is_some()).await else { return Out::Skip };
            let book = st.markets[mi].book.unwrap();
            let creator = env.ctx.payer.pubkey();
            let r = send(env, &[orderbook::sdk::close_book(&creator, &book.venue.book, &book.market.market)], &[]).await;
            if r.is_ok() {
                st.markets[mi].book = None;
                env.books.retain(|b| b.venue.book != book.venue.book);
            }
            out(r)
        }
        CloseMarket { market, crank } => {
            let Some(mi) = settled_first(env, st, market, |m| !m.closed).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if crank {
                while let Some(ma) = holder(env, st, mi, Auto).await {
                    if let Err(name) = send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await {
                        return Out::Refused(name);
                    }
                }
                if let Some(book) = st.markets[mi].book {
                    let creator = env.ctx.payer.pubkey();
                    if let Err(name) = send(env, &[orderbook::sdk::close_book(&creator, &book.venue.book, &book.market.market)], &[]).await {
                        return Out::Refused(name);
                    }
                    st.markets[mi].book = None;
                    env.books.retain(|b| b.venue.book != book.venue.book);
                }
            }
            // The registered book, which must be closed first (MarketNotEmpty otherwise).
            let book = st.markets[mi].book_key;
            let (lister, token) = match &st.markets[mi].lister {
                Some((k, t)) => (k.pubkey(), *t),
                None => (env.admin.pubkey(), st.admin_token),
            };
            let r = send(env, &[sdk::close_market(&lister, &exchange, &c.market, &book, &mint, &token)], &[]).await;
            if r.is_ok() {
                st.markets[mi].closed = true;
                env.markets.retain(|m| m.market != c.market);
            }
            out(r)
        }
    }
}

/// Re-publishes every live oracle at the harness's price, stamped now.
async fn refresh_oracles(env: &mut TestEnv, st: &State) {
    for m in st.markets.iter().filter(|m| !m.closed && m.cookie.kind != OracleKind::None) {
        env.set_price(&m.cookie, m.price).await;
    }
}

// ---------------------------------------------------------------------------------------
// Invariants after every step
// ---------------------------------------------------------------------------------------

async fn check_all(env: &mut TestEnv, st: &mut State) {
    let vault_key = env.vault;
    let vault = env.token_balance(&vault_key).await as i128;
    let ex = env.exchange_state().await;
    let mut liabilities = ex.insurance_fund as i128 + ex.fee_balance as i128;
    let mut accounts: Vec<(Pubkey, i64, Vec<Position>)> = vec![];
    for a in env.margin_accounts.clone() {
        let (h, ps) = env.margin(&a).await;
        // A slot may stay allocated and empty only where a risk op cleared the account's
        // reservations in markets it did not load (see `invariants::check`); elsewhere an
        // emptied slot must be released at once.
        for p in &ps {
            assert!(p.is_free() || !p.is_empty() || st.cleared.contains(&a), "account {a} keeps an empty position slot");
        }
        liabilities += h.collateral as i128;
        accounts.push((a, h.collateral, ps));
    }
    let mut every_market_sums_to_zero = true;
    // Each op settles at most a handful of positions per market, each rounding by < 1 unit.
    let dust_bound = 16 * (st.steps_done as i128 + 1);
    for m in st.markets.iter().filter(|m| !m.closed) {
        let s = env.market_state(&m.cookie.market).await;
        let sym = s.symbol_str().to_string();
        liabilities += s.fees_accrued as i128 + s.funding_pool as i128 + s.listing_deposit as i128 + s.insurance_accrued as i128;
        let positions: Vec<&Position> = accounts.iter().flat_map(|(_, _, ps)| ps.iter()).filter(|p| !p.is_free() && p.market == m.cookie.market).collect();
        let sum: i128 = positions.iter().map(|p| p.base_lots as i128).sum();
        let longs: u128 = positions.iter().map(|p| p.base_lots.max(0) as u128).sum();
        assert_eq!(longs, s.open_interest_lots as u128, "open interest of {sym}");
        assert_eq!(positions.len() as u64, s.open_slots, "open position slots of {sym}");
        if s.status == MarketStatus::FinalSettlement as u8 {
            // Closed positions were paid at the locked price; the open ones still owe it.
            liabilities += sum * s.settlement_price.get().to_num::<i128>();
        } else {
            assert_eq!(sum, 0, "positions in {sym} sum to {sum}");
        }
        every_market_sums_to_zero &= sum == 0;
        // Funding: settle everyone at the stored index, read-only.
        let index = s.funding_index.get();
        let mut pending = 0i128;
        for p in &positions {
            let owed = funding::owed(index, p.cached_funding_index.get(), p.base_lots).expect("owed");
            pending += funding::collateral_change(owed).expect("funding change") as i128;
        }
        let pool_after = s.funding_pool as i128 - pending;
        assert!(pool_after >= 0, "funding of {sym} is not zero-sum: pool {} - pending {pending} = {pool_after} < 0", s.funding_pool);
        assert!(pool_after <= dust_bound, "funding pool of {sym} keeps {pool_after} after settling everyone, more than rounding dust ({dust_bound})");
    }
    assert_eq!(vault, liabilities, "vault equation: vault {vault} != liabilities {liabilities}");
    if every_market_sums_to_zero {
        invariants::check(env).await;
    }
    check_books(env, st).await;
}

async fn check_books(env: &mut TestEnv, st: &mut State) {
    for mi in 0..st.markets.len() {
        let Some(book) = st.markets[mi].book else { continue };
        let data = env.book_data(&book).await;
        let b = BookRef::parse(&data).expect("book");
        b.bids.check_invariants().expect("bids tree");
        b.asks.check_invariants().expect("asks tree");
        let mut orders = decode::l3(&b, BookSide::Bid);
        orders.extend(decode::l3(&b, BookSide::Ask));
        for o in &orders {
            assert_ne!(o.margin_account, Pubkey::default(), "order {} sits on a free seat", o.key);
        }
        for (i, seat) in b.seats.iter().enumerate().filter(|(_, s)| !s.is_free()) {
            let mine = orders.iter().filter(|o| o.margin_account == seat.margin_account);
            let (bids, asks, n) = mine.fold((0u64, 0u64, 0usize), |(b, a, n), o| match o.side {
                BookSide::Bid => (b + o.base_lots, a, n + 1),
                BookSide::Ask => (b, a + o.base_lots, n + 1),
            });
            assert_eq!((seat.open_bid_lots, seat.open_ask_lots, seat.order_count as usize), (bids, asks, n), "seat {i} totals");
        }
        drop(b);
        let m = &st.markets[mi];
        let strict_market = !m.closed && env.market_state(&m.cookie.market).await.status != MarketStatus::FinalSettlement as u8;
        for u in &st.users {
            let epoch = env.margin(&u.margin_account).await.0.reservation_epoch;
            let live = orders.iter().filter(|o| o.margin_account == u.margin_account && o.epoch == epoch);
            let (bids, asks) = live.fold((0u64, 0u64), |(b, a), o| match o.side {
                BookSide::Bid => (b + o.base_lots, a),
                BookSide::Ask => (b, a + o.base_lots),
            });
            let pos = env.position(&u.margin_account, &book.market.market).await;
            if strict_market {
                assert_eq!((pos.open_bid_lots, pos.open_ask_lots), (bids, asks), "reservation of {} in {} matches its live orders", u.margin_account, book.venue.book);
            } else {
                assert!(pos.open_bid_lots <= bids && pos.open_ask_lots <= asks, "reservation ({}, {}) of {} exceeds its orders ({bids}, {asks})", pos.open_bid_lots, pos.open_ask_lots, u.margin_account);
            }
        }
        if strict_market {
            check_book(env, &book).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running, statistics, failures and shrinking
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    sequences: u64,
    steps: u64,
    accepted: BTreeMap<&'static str, u64>,
    refused: BTreeMap<String, u64>,
    refused_by_op: BTreeMap<String, u64>,
    skipped: u64,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.sequences += o.sequences;
        self.steps += o.steps;
        self.skipped += o.skipped;
        for (k, v) in o.accepted {
            *self.accepted.entry(k).or_default() += v;
        }
        for (k, v) in o.refused {
            *self.refused.entry(k).or_default() += v;
        }
        for (k, v) in o.refused_by_op {
            *self.refused_by_op.entry(k).or_default() += v;
        }
    }
}

#[derive(Clone, Debug)]
struct Failure {
    /// The op that failed (`usize::MAX`: during setup).
    step: usize,
    /// What must stay the same while shrinking.
    signature: String,
    message: String,
}

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static STEP: Cell<usize> = const { Cell::new(usize::MAX) };
    static PANICS: RefCell<Vec<(String, String)>> = const { RefCell::new(vec![]) };
}

fn verbose() -> bool {
    std::env::var_os("FUZZ_VERBOSE").is_some()
}

/// Records panics of fuzzing threads (message, location) instead of printing them, so that
/// shrinking stays quiet; other threads keep the default hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let fuzzing = FUZZING.try_with(|f| f.get()).unwrap_or(false);
            if !fuzzing || verbose() {
                default(info);
            }
            if fuzzing {
                let msg = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                let _ = PANICS.try_with(|p| p.borrow_mut().push((msg, loc)));
            }
        }));
    });
}

async fn exec(case: &Case, stats: &mut Stats) -> Result<(), Failure> {
    let mut env = TestEnv::new().await;
    let mut st = setup(&mut env, &case.setup).await;
    check_all(&mut env, &mut st).await;
    for (i, op) in case.ops.iter().enumerate() {
        STEP.with(|s| s.set(i));
        let o = step(&mut env, &mut st, op).await;
        let kind = op.kind();
        if verbose() {
            let what = match &o {
                Out::Done => "ok".to_string(),
                Out::Skip => "skipped".to_string(),
                Out::Refused(n) => format!("refused {n}"),
            };
            eprintln!("  [{i}] {op:?} -> {what}");
        }
        match o {
            Out::Done => *stats.accepted.entry(kind).or_default() += 1,
            Out::Skip => stats.skipped += 1,
            Out::Refused(name) => {
                if !allowed(kind, &name) {
                    return Err(Failure {
                        step: i,
                        signature: format!("unexpected {name} from {kind}"),
                        message: format!("step {i} ({op:?}): unexpected refusal {name}"),
                    });
                }
                *stats.refused.entry(name.clone()).or_default() += 1;
                *stats.refused_by_op.entry(format!("{kind}:{name}")).or_default() += 1;
            }
        }
        st.steps_done += 1;
        check_all(&mut env, &mut st).await;
        stats.steps += 1;
    }
    stats.sequences += 1;
    Ok(())
}

/// Runs one case on a fresh runtime and chain; a panic anywhere (an invariant assertion,
/// a harness expectation, the program itself) becomes a failure at the current step.
fn run_case(case: &Case) -> (Stats, Option<Failure>) {
    install_hook();
    PANICS.with(|p| p.borrow_mut().clear());
    STEP.with(|s| s.set(usize::MAX));
    FUZZING.with(|f| f.set(true));
    let mut stats = Stats::default();
    let res = catch_unwind(AssertUnwindSafe(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(exec(case, &mut stats))
    }));
    FUZZING.with(|f| f.set(false));
    let failure = match res {
        Ok(Ok(())) => None,
        Ok(Err(f)) => Some(f),
        Err(payload) => {
            let step = STEP.with(|s| s.get());
            let (msg, loc) = PANICS.with(|p| p.borrow().first().cloned()).unwrap_or_else(|| {
                let msg = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                (msg, String::new())
            });
            Some(Failure { step, signature: format!("panic at {loc}"), message: format!("step {step}: panicked at {loc}: {msg}") })
        }
    };
    (stats, failure)
}

/// Delta debugging over the op list: drops chunks (halves, quarters, ... single ops) while
/// the case still fails with the same signature, within a budget of runs.
fn shrink(case: &Case, failure: &Failure) -> (Case, Failure, usize) {
    let budget: usize = std::env::var("FUZZ_SHRINK_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let mut best = case.clone();
    let mut best_failure = failure.clone();
    if failure.step != usize::MAX {
        best.ops.truncate(failure.step + 1);
    }
    let mut runs = 0;
    let mut n = best.ops.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < best.ops.len() && runs < budget {
            let mut candidate = best.clone();
            let end = (i + n).min(candidate.ops.len());
            candidate.ops.drain(i..end);
            runs += 1;
            match run_case(&candidate).1 {
                Some(f) if f.signature == best_failure.signature => {
                    if f.step != usize::MAX {
                        candidate.ops.truncate(f.step + 1);
                    }
                    best = candidate;
                    best_failure = f;
                }
                _ => i += n,
            }
        }
        if n == 1 || runs >= budget {
            break;
        }
        n = n.div_ceil(2);
    }
    (best, best_failure, runs)
}

fn repro(case: &Case) -> String {
    let mut s = format!("    // seed {:#x}\n    let setup = {:?};\n    let ops = vec![\n", case.seed, case.setup);
    for op in &case.ops {
        s += &format!("        {op:?},\n");
    }
    s += "    ];\n    assert_no_failure(setup, ops);\n";
    s
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| {
        let v = v.trim();
        if let Some(hex) = v.strip_prefix("0x") {
            u64::from_str_radix(hex, 16).ok()
        } else {
            v.parse().ok()
        }
    }).unwrap_or(default)
}

/// Replays a reproduction (used by regression tests) and fails with its message.
#[allow(dead_code)]
fn assert_no_failure(setup: Setup, ops: Vec<Op>) {
    let case = Case { seed: 0, setup, ops };
    if let (_, Some(f)) = run_case(&case) {
        panic!("{}", f.message);
    }
}

#[test]
fn fuzz_sequences() {
    // The runtime's per-instruction debug log (solana-program-test's default filter) costs
    // more than the programs themselves here.
    if std::env::var_os("RUST_LOG").is_none() && !verbose() {
        std::env::set_var("RUST_LOG", "error");
    }
    let cases = env_u64("FUZZ_CASES", 64);
    let seed = env_u64("FUZZ_SEED", 0x5EED_F022);
    let threads = env_u64("FUZZ_THREADS", 1).max(1);
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let total = Mutex::new(Stats::default());
    let failure: Mutex<Option<(Case, Failure)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    break;
                }
                let case = gen_case(case_seed(seed, i));
                let (stats, f) = run_case(&case);
                let done = {
                    let mut t = total.lock().unwrap();
                    t.merge(stats);
                    t.sequences
                };
                if let Some(f) = f {
                    stop.store(true, Ordering::Relaxed);
                    failure.lock().unwrap().get_or_insert((case, f));
                    break;
                }
                if done % 250 == 0 {
                    let t = total.lock().unwrap();
                    eprintln!("fuzz progress: {done}/{cases} sequences, {} steps, {:.0}s", t.steps, started.elapsed().as_secs_f64());
                }
            });
        }
    });
    let t = total.into_inner().unwrap();
    let accepted: u64 = t.accepted.values().sum();
    let refused: u64 = t.refused.values().sum();
    let by_code: Vec<String> = t.refused.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let by_op: Vec<String> = t.accepted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let failed = failure.into_inner().unwrap();
    eprintln!("fuzz accepted by op: {}", by_op.join(", "));
    eprintln!("fuzz refusals by op:code: {}", t.refused_by_op.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
    eprintln!(
        "fuzz: {} sequences, {} steps ({accepted} accepted, {refused} refused, {} skipped), refusals by code: {}; invariant breaks: {}, unexpected errors: {}; seed {seed:#x}, {} threads, {:.1}s",
        t.sequences,
        t.steps,
        t.skipped,
        by_code.join(", "),
        failed.as_ref().map_or(0, |(_, f)| !f.signature.starts_with("unexpected") as u32),
        failed.as_ref().map_or(0, |(_, f)| f.signature.starts_with("unexpected") as u32),
        threads,
        started.elapsed().as_secs_f64()
    );
    if let Some((case, f)) = failed {
        let (small, sf, runs) = shrink(&case, &f);
        panic!(
            "fuzz case failed (seed {:#x}): {}\n\nminimal reproduction after {runs} shrinking runs ({} of {} ops): {}\n\n{}",
            case.seed,
            f.message,
            small.ops.len(),
            case.ops.len(),
            sf.message,
            repro(&small)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Regression tests for bugs this fuzzer found
// ---------------------------------------------------------------------------------------

/// Found by `fuzz_sequences` (seed 0x8203c72230a76e78, shrunk from 40 ops to 3: a taker
/// sells 179 lots to the maker on the 10%-band market, the taker rests an ask with
/// post-only-slide, a stranger sends a liquidation order for it). Written out by hand here.
///
/// `orderbook::liquidate_order` is permissionless ("anyone signs as caller"), but when the
/// only orders it crosses are the liquidated account's own, matching removes them
/// (self-trade, cancel-resting) and, with no fill in the round, `place_order.rs` shrinks the
/// account's reservation through `perp.reserve` (`perpetual::update_reservation`), which
/// requires the account owner's or delegate's signature: the liquidation order is refused
/// with `PerpError::NotOwnerOrDelegate`. With any fill in the round it goes through
/// `settle_fills` (liquidation mode, no signature needed) and works.
#[tokio::test]
// Regression test for a bug the fuzzer found (now fixed).
async fn bug_liquidation_order_refused_when_only_own_orders_cross() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let a = env.funded_user(20 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let keeper = env.create_user(0).await;
    // A: $20, long 150 at $1 (as in liquidation.rs), and the only bid in the book: 10 at $0.80.
    env.trade(&a, &maker, &m, Side::Bid, 150, 1_000_000).await.expect("A opens the long");
    env.rest(&a, &book, BookSide::Bid, 80, 10).await;
    // At $0.90 A is below maintenance: equity 4.925 < 6.75.
    env.set_price(&m, 900_000).await;
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::liquidate_order(&book.venue, &keeper.key(), &a.margin_account, 150, 75, &[], health);
    let (res, logs) = env.process_logged(&[ix.clone()], &[&keeper.owner]).await;
    let refusal = match &res {
        Ok(_) => None,
        Err(e) => Some(refusal_name(e, &logs)),
    };
    let raised_by = logs.iter().find(|l| l.contains("failed: custom program error")).cloned();
    assert_eq!(refusal, None, "a stranger's liquidation order for A is refused: {res:?}, {raised_by:?}");
    let p = placed(&res.unwrap().return_data);
    assert_eq!(p.filled, 0, "nothing but A's own bid crossed");
    let pos = env.position(&a.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.open_bid_lots), (150, 0), "A's crossing bid is gone");
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// Found while writing the fuzzer's reservation rule. `clear_reservations` documented that
/// a liquidated account's resting orders "can then never fill", but once the account
/// reserved again on the same side (a new order), a taker meeting the stale order first
/// filled it against the NEW order's reservation (`consume_reservation` only checks the
/// side's total), leaving the new order in the book without a reservation. Fixed by the
/// reservation epoch: `clear_reservations` moves the account's `reservation_epoch` on,
/// every resting order carries the epoch it was placed in, and the book cancels an older
/// order when met (and releases nothing for it).
#[tokio::test]
// Regression test for a bug the fuzzer's invariants found (now fixed).
async fn bug_stale_order_of_a_liquidated_account_fills_against_a_later_reservation() {
    let (mut env, book, a, stale) = liquidated_with_a_stale_and_a_new_ask().await;
    let taker = env.funded_user(10_000 * ONE_USDC).await;
    // A taker buys 10 up to $1.03: only the stale ask is within that price.
    let p = env.place(&taker, &book, order(BookSide::Bid, 103, 10, OrderType::ImmediateOrCancel), &[a.margin_account]).await.expect("taker");
    let pos = env.position(&a.margin_account, &book.market.market).await;
    assert_eq!(p.filled, 0, "the stale ask of the liquidated account filled");
    assert_eq!((pos.base_lots, pos.open_ask_lots), (70, 10), "A's new ask keeps its reservation");
    let asks = decode::l3(&BookRef::parse(&env.book_data(&book).await).expect("book"), BookSide::Ask);
    assert!(asks.iter().all(|o| o.key != stale), "the stale ask was cancelled when met");
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// The same stale order cancelled by its owner gives back nothing: the reservation of the
/// newer ask stays whole.
#[tokio::test]
async fn cancelling_a_stale_order_leaves_the_newer_reservation() {
    let (mut env, book, a, stale) = liquidated_with_a_stale_and_a_new_ask().await;
    env.cancel(&a, &book, BookSide::Ask, stale).await.expect("owner cancels the stale ask");
    let pos = env.position(&a.margin_account, &book.market.market).await;
    assert_eq!((pos.base_lots, pos.open_ask_lots), (70, 10), "A's new ask keeps its reservation");
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// Anyone may prune the stale order: it leaves the book (and its seat's totals), the newer
/// ask and its reservation stay, and a second prune finds nothing.
#[tokio::test]
async fn anyone_prunes_a_stale_order_and_only_it() {
    let (mut env, book, a, stale) = liquidated_with_a_stale_and_a_new_ask().await;
    let stranger = env.funded_user(ONE_USDC).await;
    let ix = orderbook::sdk::prune_stale_orders(&book.venue.book, &a.margin_account, 10);
    let out = env.process(&[ix.clone()], &[&stranger.owner]).await.expect("prune");
    assert_eq!(out.return_data, 1u16.to_le_bytes().to_vec(), "one order pruned");
    let asks = decode::l3(&BookRef::parse(&env.book_data(&book).await).expect("book"), BookSide::Ask);
    assert!(asks.iter().all(|o| o.key != stale), "the stale ask is gone");
    assert_eq!(asks.iter().filter(|o| o.margin_account == a.margin_account).count(), 1, "the newer ask stays");
    let pos = env.position(&a.margin_account, &book.market.market).await;
    assert_eq!((pos.base_lots, pos.open_ask_lots), (70, 10), "A's new ask keeps its reservation");
    env.warp(1).await;
    let out = env.process(&[ix], &[&stranger.owner]).await.expect("second prune");
    assert_eq!(out.return_data, 0u16.to_le_bytes().to_vec(), "nothing left to prune");
    check_book(&mut env, &book).await;
    invariants::check(&mut env).await;
}

/// A: $20, long 150 at $1, offering 10 at $1.03. At $0.90 a takeover moves 80 lots and
/// clears A's reservations; A tops up and offers 10 more at $1.10. Returns the stale key.
async fn liquidated_with_a_stale_and_a_new_ask() -> (TestEnv, BookCookie, UserCookie, u128) {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    let a = env.funded_user(20 * ONE_USDC).await;
    let maker = env.funded_user(10_000 * ONE_USDC).await;
    let liquidator = env.funded_user(1_000 * ONE_USDC).await;
    env.trade(&a, &maker, &m, Side::Bid, 150, 1_000_000).await.expect("A opens the long");
    let stale = env.rest(&a, &book, BookSide::Ask, 103, 10).await;
    let epoch = env.margin(&a.margin_account).await.0.reservation_epoch;
    env.set_price(&m, 900_000).await;
    let lq = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = sdk::liquidate(&env.exchange, &m.market, &m.oracle, &a.margin_account, &liquidator.margin_account, &liquidator.key(), u64::MAX, lq, vec![]);
    env.process(&[ix], &[&liquidator.owner]).await.expect("takeover");
    let pos = env.position(&a.margin_account, &m.market).await;
    assert_eq!((pos.base_lots, pos.open_ask_lots), (70, 0));
    assert_eq!(env.margin(&a.margin_account).await.0.reservation_epoch, epoch.wrapping_add(1), "the takeover starts a new epoch");
    let top_up = env.create_token_account(&a.key(), 100 * ONE_USDC).await;
    let ix = sdk::deposit(&a.key(), &env.exchange, &env.mint, &a.margin_account, &top_up, 100 * ONE_USDC);
    env.process(&[ix], &[&a.owner]).await.expect("deposit");
    env.rest(&a, &book, BookSide::Ask, 110, 10).await;
    (env, book, a, stale)
}

/// Found by `fuzz_sequences` (long run, seed 1: case seed 0x9daebf23cf9161da, shrunk from
/// 27 ops to 3: a 7x leveraged trade of 65,535 lots, a 12% adverse move, early
/// deleveraging). When the book cannot absorb a short, `orderbook::matching::
/// close_price_per_lot` reports `u64::MAX` as the price of buying it back, and
/// `perpetual::controller::liquidation::early_deleverage_fee` multiplies the slippage
/// `u64::MAX - mark` by the lots in I80F48 (80 integer bits): above 2^79 / 2^64 = 32,768
/// lots it overflows, and early deleveraging, meant exactly for a book too thin to close the
/// position, is refused with `MathOverflow`. (A long is priced at 0 and never overflows.)
#[tokio::test]
// Regression test for a bug the fuzzer found (now fixed).
async fn bug_early_deleveraging_of_a_large_short_overflows() {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let m = book.market;
    // A: $4,500, short 40,000 lots at $1 to M (taker fee 0.05%: $20). No asks in the book.
    let a = env.funded_user(4_500 * ONE_USDC).await;
    // (M's reservation counts the 25% band's worst case: 40,000 * (10% + 25%) = 14,000.)
    let maker = env.funded_user(20_000 * ONE_USDC).await;
    env.trade(&a, &maker, &m, Side::Ask, 40_000, 1_000_000).await.expect("A opens the short");
    // At $1.06: equity 4,480 - 2,400 = 2,080 < maintenance 5% of 42,400 = 2,120.
    env.set_price(&m, 1_060_000).await;
    let da = env.deleverage_authority.insecure_clone();
    let health = env.health_metas(&a.margin_account, &[m.market]).await;
    let ix = orderbook::sdk::early_deleverage(&book.venue, &a.margin_account, &maker.margin_account, &da.pubkey(), 40_000, health);
    let (res, logs) = env.process_logged(&[ix.clone()], &[&da]).await;
    let refusal = match &res {
        Ok(_) => None,
        Err(e) => Some(refusal_name(e, &logs)),
    };
    let raised_by = logs.iter().find(|l| l.contains("failed: custom program error")).cloned();
    assert_eq!(refusal, None, "early deleveraging of A's 40,000-lot short is refused: {res:?}, {raised_by:?}");
    assert_eq!(env.position(&a.margin_account, &m.market).await.base_lots, 0);
    invariants::check(&mut env).await;
}
