use anchor_lang::prelude::*;

/// Every refusal the perpetual program can give. Messages say what was wrong.
#[error_code]
pub enum PerpError {
    #[msg("arithmetic overflow or division by zero")]
    MathOverflow,
    #[msg("signer is not the exchange admin")]
    NotAdmin,
    #[msg("signer is not the pending admin")]
    NotPendingAdmin,
    #[msg("signer is not the funding authority")]
    NotFundingAuthority,
    #[msg("signer is not the risk authority")]
    NotRiskAuthority,
    #[msg("signer is not the pause guardian or the admin")]
    NotPauseGuardian,
    #[msg("signer is not this oracle's authority")]
    NotOracleAuthority,
    #[msg("signer is neither the margin account's owner nor its delegate")]
    NotOwnerOrDelegate,
    #[msg("signer is not the margin account's owner")]
    NotOwner,
    #[msg("account belongs to a different exchange")]
    WrongExchange,
    #[msg("account is not the one this market or exchange expects")]
    WrongAccount,
    #[msg("account is not owned by the expected program")]
    WrongOwner,
    #[msg("account data is not a margin account")]
    NotMarginAccount,
    #[msg("account data is too short or misaligned for its type")]
    AccountDataInvalid,
    #[msg("the same account was passed in two writable slots")]
    DuplicateAccount,
    #[msg("oracle account is not this market's oracle")]
    WrongOracle,
    #[msg("oracle price is older than the market allows")]
    StaleOracle,
    #[msg("oracle confidence interval is wider than the market allows")]
    OracleConfidenceTooWide,
    #[msg("oracle price is zero or negative")]
    NonPositiveOraclePrice,
    #[msg("oracle feed is not in trading status")]
    OracleNotTrading,
    #[msg("oracle account data is not a supported price account")]
    InvalidOracleAccount,
    #[msg("parameter is outside its allowed range")]
    ParameterOutOfRange,
    #[msg("margin parameters are invalid: initial must be at least the floor and maintenance half of it")]
    InvalidMargins,
    #[msg("funding rate exceeds the market's maximum")]
    FundingRateTooLarge,
    #[msg("funding rate changes faster than the market allows in this window")]
    FundingRateChangeTooLarge,
    #[msg("market is paused: no new orders and no position-increasing fills")]
    MarketNotActive,
    #[msg("market is reduce-only: this would increase a position")]
    MarketReduceOnly,
    #[msg("market is in final settlement")]
    MarketInFinalSettlement,
    #[msg("exchange is paused: no new orders, position-increasing fills or listings")]
    ExchangePaused,
    #[msg("margin account has no free position slot")]
    PositionCapacityReached,
    #[msg("new capacity must be larger than the current one and within the maximum")]
    InvalidCapacity,
    #[msg("account would be below initial margin")]
    InsufficientInitialMargin,
    #[msg("trade neither meets initial margin nor improves the margin ratio while shrinking the position")]
    MarginRuleViolated,
    #[msg("health accounts are missing or not in position order (market, oracle per position)")]
    HealthAccountsMismatch,
    #[msg("trader program is not approved")]
    TraderNotApproved,
    #[msg("signer is not the approved trader program's authority PDA")]
    WrongTraderAuthority,
    #[msg("fill refers to a maker account index that was not passed")]
    MakerIndexOutOfRange,
    #[msg("fill size must be positive")]
    ZeroFillSize,
    #[msg("fill price is zero or outside the market's price band")]
    FillPriceOutsideBand,
    #[msg("maker and taker are the same margin account")]
    SelfTrade,
    #[msg("too many fills in one batch")]
    TooManyFills,
    #[msg("amount must be positive")]
    ZeroAmount,
    #[msg("collateral balance is insufficient")]
    InsufficientCollateral,
    #[msg("token account does not hold the exchange's collateral mint")]
    WrongMint,
    #[msg("fee balance is negative or the amount is larger than it")]
    InsufficientFees,
    #[msg("oracle exponent is out of the supported range")]
    OracleExponentOutOfRange,
    #[msg("open-order reservation would go below zero")]
    ReservationUnderflow,
    #[msg("symbol must be non-empty ASCII")]
    InvalidSymbol,
    #[msg("margin account holds no position in this market")]
    NoPositionInMarket,
    #[msg("account already exists")]
    AccountAlreadyInitialized,
    #[msg("account must be writable")]
    AccountNotWritable,
    #[msg("spot index jumped from its hourly average and no earlier index is known")]
    IndexJumped,
    #[msg("market has neither a mark sample nor a trade to price it")]
    NoMarkPrice,
    #[msg("a mark sample was already taken this minute")]
    MarkSampleTooEarly,
    #[msg("margins were updated less than a day ago")]
    MarginsUpdatedTooRecently,
    #[msg("initial margin of 90% or more disables leverage on this side: only reducing trades")]
    SideDisabled,
    #[msg("trade would take open interest above the market's cap")]
    OpenInterestCapExceeded,
    #[msg("the market already has a registered order book")]
    BookAlreadyRegistered,
    #[msg("mark price is zero or negative")]
    NonPositiveMarkPrice,
    #[msg("daily closes must be 11 to 365 positive prices")]
    InvalidPriceHistory,
    #[msg("account is not below maintenance margin")]
    NotLiquidatable,
    #[msg("an account cannot liquidate or deleverage itself")]
    SelfLiquidation,
    #[msg("liquidation would leave the account's margin ratio worse")]
    LiquidationWorsensRatio,
    #[msg("liquidation at the discount would bankrupt the account: deleverage instead")]
    LiquidationWouldBankrupt,
    #[msg("liquidation fills must shrink the position without flipping it")]
    LiquidationMustReduce,
    #[msg("account is not underwater (its equity is not negative)")]
    NotUnderwater,
    #[msg("the counterparty's position is not opposite or not large enough")]
    InvalidCounterparty,
    #[msg("signer is not the deleveraging authority, and the time lock has not passed")]
    DeleverageNotAllowed,
    #[msg("early deleveraging conditions do not hold: the book covers this liquidation")]
    EarlyDeleverageNotNeeded,
    #[msg("insurance fund cannot cover this amount")]
    InsufficientInsurance,
    #[msg("oracle price is outside the final settlement band")]
    SettlementPriceOutsideBand,
    #[msg("market is not in final settlement")]
    MarketNotSettled,
    #[msg("market still has open interest, fees or funding to sweep")]
    MarketNotEmpty,
    #[msg("Pyth price update is only partially verified: full verification is required")]
    OracleNotFullyVerified,
    #[msg("Pyth price update holds another feed than the market's")]
    WrongOracleFeed,
    #[msg("the exchange is time-locked: pass a matured proposal for this change as the first remaining account")]
    ProposalRequired,
    #[msg("the proposal queues a different change than this instruction makes")]
    ProposalMismatch,
    #[msg("the proposal has already been executed")]
    ProposalAlreadyExecuted,
    #[msg("the proposal's time lock has not passed yet")]
    TimelockNotElapsed,
    #[msg("the proposal's execution window has passed: queue it again")]
    ProposalExpired,
    #[msg("proposal payload is empty, too long or names an unknown action")]
    InvalidProposal,
    #[msg("proposal account is not at the exchange's next proposal address")]
    WrongProposalAddress,
    #[msg("an account grows by at most 10 KiB an instruction: resize in steps")]
    CapacityStepTooLarge,
    #[msg("only the program that registered the market's book keeps its seats")]
    NotTheMarketsBook,
    #[msg("the account holds a seat allowance: revoke it through the book first")]
    SeatAllowanceOpen,
    #[msg("a seat settled more lots than its allowance")]
    SeatAllowanceExceeded,
    #[msg("a seat allowance may be revoked only from an account below maintenance or in a settled market")]
    SeatNotRevocable,
    #[msg("settle_seats takes one margin account per pending record")]
    SeatAccountsMismatch,
    #[msg("a seat's pending quote is worse for the maker than its limit prices allow")]
    SeatFillBeyondLimit,
    #[msg("only the program's upgrade authority (its ProgramData account) may initialise an exchange")]
    NotUpgradeAuthority,
    #[msg("the market's oracles have all failed: only cancelling, reducing and closing work there")]
    OraclesDown,
    #[msg("a fallback oracle must differ from the primary and have an index to back")]
    InvalidFallbackOracle,
}

/// Unwraps a checked-math result into a named error, logging where the overflow happened.
#[track_caller]
#[inline]
pub fn checked<T>(value: Option<T>) -> Result<T> {
    match value {
        Some(v) => Ok(v),
        None => {
            msg!("math overflow at {}", core::panic::Location::caller());
            Err(error!(PerpError::MathOverflow))
        }
    }
}
