//! The input: setup, operations and their seeded generator.
use super::*;

// ---------------------------------------------------------------------------------------
// The input: setup and operations
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dir {
    Buy,
    Sell,
}

/// Order types (every `OrderType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Limit,
    PostOnly,
    Slide,
    Ioc,
    Fok,
    MarketOrder,
}

/// Self-trade behaviours (every `SelfTradeBehavior`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stp {
    Decrement,
    CancelResting,
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    Never,
    /// Expires this many seconds from now.
    In(u16),
    /// Already expired on arrival.
    Past,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CancelBy {
    Key,
    ClientId,
    All(u8),
}

/// A user by index, or the account the op is meant for (see `resolve_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Who {
    U(u8),
    Auto,
    /// As a deleveraging's counterparty: the largest position on the SAME side as the
    /// account's (which the program must refuse); elsewhere as `Auto`.
    Same,
}

/// Final settlement band: around the index (bps each side), or a point off it (bps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SettleBand {
    Around(u16),
    Off(i16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Deposit {
        user: u8,
        amount: u64,
    },
    /// Withdraws `eighths / 8` of the collateral (0: nothing, 9: more than it holds; 10: the
    /// most initial margin allows by the model, leaving the account fully leveraged, and 11:
    /// one unit more).
    Withdraw {
        user: u8,
        eighths: u8,
    },
    Place {
        user: u8,
        market: u8,
        dir: Dir,
        offset_bps: i16,
        lots: u16,
        kind: Kind,
        reduce_only: bool,
        stp: Stp,
        expiry: Expiry,
        client_id: u8,
    },
    Cancel {
        user: u8,
        market: u8,
        which: u8,
        by: CancelBy,
    },
    Replace {
        user: u8,
        market: u8,
        which: u8,
        offset_bps: i16,
        lots: u16,
        kind: Kind,
    },
    /// `settle_fills` through the test trader: the maker reserves, the taker fills at a
    /// price `offset_bps` from the index (in or out of the band).
    /// With `leverage > 0`, `lots` is ignored: the taker trades `leverage` times its
    /// collateral (the quickest way to the leveraged accounts risk ops need).
    /// With `reduce`, `taker`, `dir` and `leverage` are ignored: the account with the least
    /// margin above maintenance that holds a position in the market shrinks it by up to
    /// `lots` without flipping (the dYdX rule's ratio half: a reduction at a price bad
    /// enough to worsen its margin ratio must be refused below initial margin).
    Trade {
        taker: u8,
        maker: u8,
        market: u8,
        dir: Dir,
        lots: u16,
        leverage: u8,
        offset_bps: i16,
        reduce: bool,
    },
    SetFundingRate {
        market: u8,
        rate_ppbh: i32,
    },
    UpdateFunding {
        market: u8,
    },
    SettleFunding {
        market: u8,
        user: Who,
    },
    SampleMark {
        market: u8,
    },
    /// Oracle move (crashes and pumps included), clamped to $0.05..$50 per lot; with
    /// `crank`, the permissionless `update_funding` reads it at once (as the keeper's funding
    /// loop would), so the index follows before the next move.
    MovePrice {
        market: u8,
        bps: i16,
        crank: bool,
    },
    Warp {
        secs: u32,
        refresh: bool,
    },
    /// An adverse oracle move of `bps` (cranked at once) in the market of the largest
    /// position of the account with the least margin above maintenance, against it: the
    /// quickest way to liquidatable and underwater accounts. With `to` 1, 2 or 3 the move
    /// is instead the one that takes that account (at reference prices) just below initial
    /// margin, maintenance margin or zero equity, so the rules at those edges get tested;
    /// every move stays within `bps` and under the 20% jump guard.
    Squeeze {
        bps: u16,
        to: u8,
    },
    List {
        with_index: bool,
        deposit_usdc: u16,
    },
    Liquidate {
        market: u8,
        liquidatee: Who,
        liquidator: u8,
        max_lots: u16,
    },
    LiquidateOrder {
        market: u8,
        liquidatee: Who,
        caller: u8,
        max_lots: u16,
        limit_offset_bps: i16,
    },
    EarlyDeleverage {
        market: u8,
        account: Who,
        counterparty: Who,
        lots: u16,
    },
    Deleverage {
        market: u8,
        account: Who,
        counterparty: Who,
        lots: u16,
        by_authority: bool,
    },
    CoverWithInsurance {
        account: Who,
    },
    MarkUnderwater {
        account: Who,
        caller: u8,
    },
    DepositInsurance {
        user: u8,
        amount: u64,
    },
    WithdrawInsurance {
        eighths: u8,
    },
    FinalSettle {
        market: u8,
        band: SettleBand,
    },
    SettleFinalPosition {
        market: u8,
        user: Who,
    },
    SweepFees {
        market: u8,
    },
    PauseExchange {
        paused: bool,
        by_admin: bool,
    },
    SetMarketStatus {
        market: u8,
        status: u8,
        by_admin: bool,
    },
    SetMargins {
        market: u8,
        long_bps: u16,
        short_bps: u16,
    },
    CloseBook {
        market: u8,
    },
    /// With `crank`, the keeper's final-settlement crank first: every seat revoked, every
    /// remaining position closed, then the book, then the market.
    CloseMarket {
        market: u8,
        crank: bool,
    },
    /// The keeper's crank: every seat of the market's book holding pending fills settles.
    SettleSeats {
        market: u8,
    },
    /// Anyone revokes the seat of an account (`Auto`: the one with the least margin above
    /// maintenance holding a seat): allowed below maintenance or in a settled market.
    RevokeSeat {
        market: u8,
        account: Who,
    },
    /// A user gives its seat up (a zero allowance), refused while its orders rest.
    GiveUpSeat {
        user: u8,
        market: u8,
    },
    /// Which of the market's oracles publish from now on (the fallback only where the
    /// market has one); one that comes back publishes at once. With `refresh`, the
    /// permissionless `refresh_oracle_source` follows at once.
    OracleOutage {
        market: u8,
        primary: bool,
        fallback: bool,
        refresh: bool,
    },
    /// `refresh_oracle_source`: the market moves to its fallback, back to its primary, or
    /// down when every oracle fails.
    RefreshOracle {
        market: u8,
    },
}
pub(super) use CancelBy::*;
pub(super) use Dir::*;
pub(super) use Expiry::*;
pub(super) use Kind::*;
pub(super) use Op::*;
pub(super) use SettleBand::*;
pub(super) use Stp::*;
pub(super) use Who::*;

impl Op {
    pub(super) fn kind(&self) -> &'static str {
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
            SettleSeats { .. } => "settle_seats",
            RevokeSeat { .. } => "revoke_seat",
            GiveUpSeat { .. } => "give_up_seat",
            OracleOutage { .. } => "oracle_outage",
            RefreshOracle { .. } => "refresh_oracle_source",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Setup {
    pub(super) users: u8,
    pub(super) deposits_usdc: [u32; 5],
    pub(super) third_market: bool,
    pub(super) insurance_usdc: u32,
    /// Every market's opening funding rate, so that funding is owed from the first step.
    pub(super) funding_rate_ppbh: i32,
}

#[derive(Clone, Debug)]
pub(super) struct Case {
    pub(super) seed: u64,
    pub(super) setup: Setup,
    pub(super) ops: Vec<Op>,
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and the same sequence on every platform.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub(super) fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub(super) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

pub(super) fn case_seed(base: u64, i: u64) -> u64 {
    let mut r = Rng::new(base ^ i.wrapping_mul(0xA24B_AED4_963E_E407));
    r.next()
}

pub(super) fn gen_case(seed: u64) -> Case {
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
        // Within the markets' hourly change limit (500,000).
        funding_rate_ppbh: if r.pct(20) { 0 } else { r.range(-400_000, 400_000) as i32 },
    };
    let len = r.range(10, 40);
    let ops = (0..len).map(|i| gen_op(&mut r, users, i * 2 < len)).collect();
    Case { seed, setup, ops }
}

pub(super) fn g_user(r: &mut Rng, users: u8) -> u8 {
    r.below(users as u64) as u8
}
/// Markets resolve modulo the open ones; most ops focus on the first (so that trades,
/// price moves and risk ops meet in the same market).
pub(super) fn g_market(r: &mut Rng) -> u8 {
    if r.pct(60) {
        0
    } else {
        r.below(8) as u8
    }
}
pub(super) fn g_who(r: &mut Rng, users: u8) -> Who {
    if r.pct(85) {
        Auto
    } else {
        U(g_user(r, users))
    }
}
/// The counterparty of a deleveraging: half the time the largest opposite position, else
/// the largest same-side one or a named user (to test that only an opposite position of at
/// least the lots is accepted).
pub(super) fn g_counterparty(r: &mut Rng, users: u8) -> Who {
    match r.below(10) {
        0..=4 => Auto,
        5..=7 => Same,
        _ => U(g_user(r, users)),
    }
}
pub(super) fn g_lots(r: &mut Rng) -> u16 {
    let x = r.below(100);
    (if x < 55 {
        r.range(1, 20)
    } else if x < 90 {
        r.range(20, 200)
    } else {
        r.range(200, 3_000)
    }) as u16
}
pub(super) fn g_offset(r: &mut Rng) -> i16 {
    (if r.pct(85) { r.range(-600, 600) } else { r.range(-3_000, 3_000) }) as i16
}
pub(super) fn g_dir(r: &mut Rng) -> Dir {
    if r.pct(50) {
        Buy
    } else {
        Sell
    }
}
pub(super) fn g_kind(r: &mut Rng) -> Kind {
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
pub(super) fn g_max_lots(r: &mut Rng) -> u16 {
    r.pick(&[1, 10, 100, u16::MAX, u16::MAX])
}

/// Relative weights of the op kinds.
pub(super) const WEIGHTS: [u32; 35] = [
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
    6,  // settle seats
    8,  // revoke seat
    2,  // give up seat
    3,  // oracle outage
    3,  // refresh oracle source
];

/// Ops that stop most trading (final settlement, pauses, statuses, margins, closing):
/// mostly drawn in a sequence's second half, so that its first half builds positions.
pub(super) const DISRUPTIVE: [usize; 6] = [21, 24, 25, 26, 27, 28];

pub(super) fn gen_op(r: &mut Rng, users: u8, first_half: bool) -> Op {
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
        1 => {
            Withdraw { user: g_user(r, users), eighths: if r.pct(30) { r.range(10, 11) } else { r.range(0, 9) } as u8 }
        }
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
        4 => Replace {
            user: g_user(r, users),
            market: g_market(r),
            which: r.below(8) as u8,
            offset_bps: g_offset(r),
            lots: g_lots(r),
            kind: g_kind(r),
        },
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
            reduce: r.pct(35),
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
        13 => Liquidate {
            market: g_market(r),
            liquidatee: g_who(r, users),
            liquidator: g_user(r, users),
            max_lots: g_max_lots(r),
        },
        14 => LiquidateOrder {
            market: g_market(r),
            liquidatee: g_who(r, users),
            caller: g_user(r, users),
            max_lots: g_max_lots(r),
            limit_offset_bps: r.range(-3_000, 3_000) as i16,
        },
        15 => EarlyDeleverage {
            market: g_market(r),
            account: g_who(r, users),
            counterparty: g_counterparty(r, users),
            lots: if r.pct(60) { 0 } else { g_lots(r) },
        },
        16 => Deleverage {
            market: g_market(r),
            account: g_who(r, users),
            counterparty: g_counterparty(r, users),
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
        26 => SetMargins {
            market: g_market(r),
            long_bps: r.pick(&[500, 1_000, 2_000, 5_000, 9_000, 9_500]),
            short_bps: r.pick(&[1_000, 2_000, 5_000, 9_000]),
        },
        27 => CloseBook { market: g_market(r) },
        28 => CloseMarket { market: g_market(r), crank: r.pct(50) },
        30 => SettleSeats { market: g_market(r) },
        31 => RevokeSeat { market: g_market(r), account: g_who(r, users) },
        32 => GiveUpSeat { user: g_user(r, users), market: g_market(r) },
        33 => OracleOutage { market: g_market(r), primary: r.pct(45), fallback: r.pct(60), refresh: r.pct(70) },
        34 => RefreshOracle { market: g_market(r) },
        _ => Squeeze { bps: r.pick(&[300, 600, 900, 1_200, 1_500, 1_900]), to: r.below(4) as u8 },
    }
}
