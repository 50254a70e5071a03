use anchor_lang::prelude::*;

#[error_code]
pub enum BookError {
    #[msg("book does not belong to this market")]
    WrongBook,
    #[msg("account is not owned by the expected program")]
    WrongOwner,
    #[msg("signer is neither the margin account's owner nor its delegate")]
    NotOwnerOrDelegate,
    #[msg("signer is not the exchange admin")]
    NotAdmin,
    #[msg("price is zero or not on the tick grid")]
    InvalidPrice,
    #[msg("size is zero or below the book's minimum")]
    InvalidSize,
    #[msg("limit price is outside the market's price band")]
    PriceOutsideBand,
    #[msg("post-only order would cross the book")]
    PostOnlyWouldCross,
    #[msg("fill-or-kill order could not be filled in full")]
    FillOrKillNotFilled,
    #[msg("reduce-only order would not reduce the position")]
    ReduceOnlyWouldIncrease,
    #[msg("self trade with abort behaviour")]
    SelfTradeAborted,
    #[msg("the account has reached the book's order limit")]
    TooManyOrders,
    #[msg("the book side is full")]
    BookFull,
    #[msg("seat index is out of range or held by another account")]
    SeatUnavailable,
    #[msg("no order with this id belongs to this account")]
    OrderNotFound,
    #[msg("book parameters out of range")]
    InvalidBookParams,
    #[msg("book account data is invalid")]
    InvalidBookData,
    #[msg("maker count exceeds the remaining accounts")]
    MakerCountOutOfRange,
    #[msg("a maker account is not a margin account of this exchange")]
    InvalidMakerAccount,
    #[msg("the settlement returned no per-fill results")]
    MissingFillResults,
    #[msg("expiry is in the past")]
    AlreadyExpired,
    #[msg("arithmetic overflow")]
    MathOverflow,
    #[msg("market is not in final settlement")]
    MarketNotSettled,
    #[msg("oracle account is not the market's oracle")]
    WrongOracle,
    #[msg("oracle price is stale")]
    StaleOracle,
    #[msg("oracle confidence interval too wide")]
    OracleConfidenceTooWide,
    #[msg("oracle price is not positive")]
    NonPositiveOraclePrice,
    #[msg("oracle is not trading")]
    OracleNotTrading,
    #[msg("oracle account data could not be parsed")]
    InvalidOracleAccount,
    #[msg("the index moved too far from its hourly average and no earlier index exists")]
    IndexJumped,
    #[msg("no mark price: the market has neither an index nor a trade yet")]
    NoMarkPrice,
    #[msg("Pyth price update is only partially verified")]
    OracleNotFullyVerified,
    #[msg("Pyth price update holds another feed than the market's")]
    WrongOracleFeed,
    #[msg("perpetual refused to price the market")]
    PriceUnavailable,
    #[msg("the margin account is not a perpetual margin account")]
    NotMarginAccount,
    #[msg("the exchange account is not the margin account's exchange")]
    WrongExchange,
    #[msg("the account is not the book's creator, who receives its rent")]
    NotBookCreator,
    #[msg("an allowance must cover the seat's resting orders, and its limit may only move against the account while orders rest")]
    AllowanceBelowOrders,
    #[msg("a seat may be reclaimed only while idle, and only when no seat is free")]
    SeatNotReclaimable,
    #[msg("the seat index is out of range")]
    SeatOutOfRange,
    #[msg("a book closes only once every seat is settled and revoked")]
    SeatsStillOpen,
    #[msg("the market is in final settlement: no orders")]
    MarketInFinalSettlement,
    #[msg("the market is paused: only orders that shrink the position")]
    MarketNotActive,
    #[msg("the market is reduce-only: only orders that shrink the position")]
    MarketReduceOnly,
    #[msg("the exchange is paused: only orders that shrink the position")]
    ExchangePaused,
    #[msg("settle_seats takes one margin account per seat index")]
    SeatAccountsMismatch,
    #[msg("the market's oracles have all failed: only orders that shrink the position")]
    OraclesDown,
}

/// The order book's own error for one `perpetual` raised while the book runs perpetual's
/// library code (pricing): both programs number errors from 6000, so a perpetual error
/// returned under the book's program id would read as another book error.
pub fn from_perp(e: Error) -> Error {
    use perpetual::error::PerpError as P;
    let Error::AnchorError(a) = &e else { return error!(BookError::PriceUnavailable) };
    let pairs = [
        (P::WrongOracle, BookError::WrongOracle),
        (P::WrongOwner, BookError::WrongOwner),
        (P::StaleOracle, BookError::StaleOracle),
        (P::OracleConfidenceTooWide, BookError::OracleConfidenceTooWide),
        (P::NonPositiveOraclePrice, BookError::NonPositiveOraclePrice),
        (P::OracleNotTrading, BookError::OracleNotTrading),
        (P::InvalidOracleAccount, BookError::InvalidOracleAccount),
        (P::IndexJumped, BookError::IndexJumped),
        (P::NoMarkPrice, BookError::NoMarkPrice),
        (P::OracleNotFullyVerified, BookError::OracleNotFullyVerified),
        (P::WrongOracleFeed, BookError::WrongOracleFeed),
        (P::MathOverflow, BookError::MathOverflow),
        (P::OraclesDown, BookError::OraclesDown),
    ];
    let book = pairs.into_iter().find(|(p, _)| u32::from(*p) == a.error_code_number).map(|(_, b)| b);
    error!(book.unwrap_or(BookError::PriceUnavailable))
}
