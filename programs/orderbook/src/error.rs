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
}
