//! Allow-lists (the refusals each op may legitimately get) and naming a refusal.
use super::*;

// ---------------------------------------------------------------------------------------
// Allow-lists: the refusals each op may legitimately get
// ---------------------------------------------------------------------------------------

/// Refusals any instruction that reads a market's prices or trades in it may get from the
/// market's state: oracle guard rails (a warp without refresh leaves oracles stale), the
/// jump guard, pauses, reduce-only and settled markets, and a market without an index or
/// a mark yet.
pub(super) const MARKET_STATE: &[&str] = &[
    "StaleOracle",
    "IndexJumped",
    "ExchangePaused",
    "MarketNotActive",
    "MarketReduceOnly",
    "MarketInFinalSettlement",
    "NoMarkPrice",
    "OraclesDown",
];

/// SPL Token's `InsufficientFunds` (a wallet that does not hold the amount).
pub(super) const TOKEN_INSUFFICIENT_FUNDS: &str = "Token(1)";

pub(super) fn allow_list(kind: &str) -> (&'static [&'static str], bool) {
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
                "SeatUnavailable",
            ],
            true,
        ),
        "cancel" => (&["OrderNotFound"], false),
        "settle_fills" => (
            &[
                "FillPriceOutsideBand",
                "InsufficientInitialMargin",
                "MarginRuleViolated",
                "SideDisabled",
                "OpenInterestCapExceeded",
                "SeatAllowanceOpen",
            ],
            true,
        ),
        "set_funding_rate" => (&["FundingRateTooLarge", "FundingRateChangeTooLarge"], true),
        "update_funding" | "oracle_move" => (&[], true),
        "settle_funding" => (&["NoPositionInMarket"], true),
        "sample_mark" => (&["MarkSampleTooEarly"], true),
        "list_market" => (&[], true),
        "liquidate" => (
            &[
                "NotLiquidatable",
                "NoPositionInMarket",
                "LiquidationWouldBankrupt",
                "LiquidationWorsensRatio",
                "InsufficientInitialMargin",
                "SeatAllowanceOpen",
            ],
            true,
        ),
        "liquidate_order" => (
            &[
                "InvalidSize",
                "NotLiquidatable",
                "LiquidationWouldBankrupt",
                "LiquidationWorsensRatio",
                "LiquidationMustReduce",
                "SeatAllowanceOpen",
                "SeatNotRevocable",
            ],
            true,
        ),
        "early_deleverage" => (
            &[
                "InvalidSize",
                "NotLiquidatable",
                "LiquidationMustReduce",
                "EarlyDeleverageNotNeeded",
                "InvalidCounterparty",
                "NoPositionInMarket",
                "SeatAllowanceOpen",
            ],
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
                "SeatAllowanceOpen",
            ],
            true,
        ),
        "cover_with_insurance" => (&["NotUnderwater", "InsufficientInsurance", "StaleOracle", "NoMarkPrice"], false),
        "mark_underwater" => (&["NotUnderwater", "StaleOracle", "NoMarkPrice"], false),
        "deposit_insurance" => (&["ZeroAmount"], false),
        "withdraw_insurance" => (&["ZeroAmount", "InsufficientInsurance"], false),
        "final_settle_market" => (&["SettlementPriceOutsideBand"], true),
        "settle_final_position" => (&["MarketNotSettled", "NoPositionInMarket", "SeatAllowanceOpen"], false),
        "settle_seats" => (&[], true),
        "revoke_seat" => (&["SeatUnavailable", "SeatNotRevocable", "NoPositionInMarket"], true),
        "give_up_seat" => (&["SeatUnavailable", "AllowanceBelowOrders"], true),
        "oracle_outage" | "refresh_oracle_source" => (&[], true),
        "sweep_fees" => (&["InsufficientFees"], false),
        "set_exchange_paused" => (&["NotAdmin"], false),
        "set_market_status" => (&["NotAdmin", "ParameterOutOfRange", "MarketInFinalSettlement"], false),
        "set_margins" => (&["MarginsUpdatedTooRecently", "InvalidMargins"], false),
        "close_book" => (&["MarketNotSettled", "SeatsStillOpen"], false),
        "close_market" => (&["MarketNotSettled", "MarketNotEmpty"], false),
        // (with `crank`, settle_final_position's and close_book's refusals too: MarketNotSettled)
        _ => (&[], false),
    }
}

pub(super) fn allowed(kind: &str, name: &str) -> bool {
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

pub(super) fn perp_error_name(code: u32) -> Option<&'static str> {
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
        MarketNotSettled, MarketNotEmpty, OracleNotFullyVerified, WrongOracleFeed, ProposalRequired,
        ProposalMismatch, ProposalAlreadyExecuted, TimelockNotElapsed, ProposalExpired, InvalidProposal,
        WrongProposalAddress, CapacityStepTooLarge, NotTheMarketsBook, SeatAllowanceOpen, SeatAllowanceExceeded,
        SeatNotRevocable, SeatAccountsMismatch, SeatFillBeyondLimit, NotUpgradeAuthority, OraclesDown,
        InvalidFallbackOracle,
    );
    names.into_iter().find(|(c, _)| *c == code).map(|(_, n)| n)
}

pub(super) fn book_error_name(code: u32) -> Option<&'static str> {
    let names = error_names!(orderbook::error::BookError:
        WrongBook, WrongOwner, NotOwnerOrDelegate, NotAdmin, InvalidPrice, InvalidSize, PriceOutsideBand,
        PostOnlyWouldCross, FillOrKillNotFilled, ReduceOnlyWouldIncrease, SelfTradeAborted, TooManyOrders,
        BookFull, SeatUnavailable, OrderNotFound, InvalidBookParams, InvalidBookData, MakerCountOutOfRange,
        InvalidMakerAccount, MissingFillResults, AlreadyExpired, MathOverflow, MarketNotSettled, WrongOracle,
        StaleOracle, OracleConfidenceTooWide, NonPositiveOraclePrice, OracleNotTrading, InvalidOracleAccount,
        IndexJumped, NoMarkPrice, OracleNotFullyVerified, WrongOracleFeed, PriceUnavailable, NotMarginAccount,
        WrongExchange, NotBookCreator, AllowanceBelowOrders, SeatNotReclaimable, SeatOutOfRange, SeatsStillOpen,
        MarketInFinalSettlement, MarketNotActive, MarketReduceOnly, ExchangePaused, SeatAccountsMismatch,
        OraclesDown,
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
pub(super) fn refusal_name(err: &TransactionError, logs: &[String]) -> String {
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
