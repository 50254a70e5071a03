//! The risk scan's decisions, as the listings paper's `update_market` makes them, with the
//! programs' own math: an underwater account's largest position is taken over whole when
//! the insurance fund can pay the shortfall, else the fund covers what it can and the rest
//! is deleveraged against ranked accounts; a liquidatable one is early-deleveraged when the
//! book would close it worse than the mark and its equity cannot cover that, otherwise
//! liquidated through the book when the book takes the whole size (the makers absorb it and
//! the keeper needs no inventory), and taken over at the mark less the discount when it
//! cannot (or when the program refuses the book liquidation). Accounts furthest below
//! maintenance go first (`cranks::risk_scan`).
use anchor_lang::prelude::Pubkey;
use orderbook::matching::{close_price, Closing};
use orderbook::state::{BookRef, Side};
use perpetual::health::{health_from_priced, AccountHealth, PricedMarket};
use perpetual::math::health::HealthKind;
use perpetual::math::liquidation::{early_deleverage_fee, lots_to_restore};
use perpetual::math::I80F48;
use perpetual::state::Market;

use client::MarginView;

/// A market as the keeper sees it: its state, its prices now, and its book's bytes.
pub struct MarketView {
    pub key: Pubkey,
    pub market: Market,
    pub priced: PricedMarket,
    pub book: Option<(Pubkey, Vec<u8>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The keeper's account takes over `lots` at the mark less the discount.
    Liquidate { account: Pubkey, market: Pubkey, lots: u64 },
    /// `lots` closed through the book (`liquidate_order`), crossing to `limit_price_ticks`:
    /// the makers take the position and the insurance fund the fee. Taken over instead when
    /// the program refuses it.
    LiquidateThroughBook { account: Pubkey, market: Pubkey, lots: u64, limit_price_ticks: u64 },
    /// Offset `lots` against `counterparty` at the mark (thin book).
    EarlyDeleverage { account: Pubkey, market: Pubkey, counterparty: Pubkey, lots: u64 },
    /// The insurance fund pays the account's deficit.
    CoverWithInsurance { account: Pubkey },
    /// Offset `lots` against `counterparty` at the bankruptcy price.
    Deleverage { account: Pubkey, market: Pubkey, counterparty: Pubkey, lots: u64 },
}

impl Action {
    /// The account an offset moves the position to (early deleveraging and deleveraging).
    pub fn counterparty(&self) -> Option<Pubkey> {
        match self {
            Action::EarlyDeleverage { counterparty, .. } | Action::Deleverage { counterparty, .. } => {
                Some(*counterparty)
            }
            _ => None,
        }
    }

    /// The account the action is about.
    pub fn account(&self) -> Pubkey {
        match self {
            Action::Liquidate { account, .. }
            | Action::LiquidateThroughBook { account, .. }
            | Action::EarlyDeleverage { account, .. }
            | Action::CoverWithInsurance { account }
            | Action::Deleverage { account, .. } => *account,
        }
    }
}

/// Health of every account that can be priced from `markets`.
pub fn health(account: &MarginView, markets: &[MarketView]) -> Option<AccountHealth> {
    let priced: Vec<PricedMarket> = markets.iter().map(|m| m.priced).collect();
    health_from_priced(&account.header, &account.positions, &priced).ok()
}

/// Accounts holding the opposite of `long` in `market` without a seat allowance there, best
/// absorbers first: ranked by unrealized profit at the mark times leverage, as the paper
/// ranks them.
pub fn rank_counterparties<'a>(
    accounts: &'a [MarginView],
    markets: &[MarketView],
    market: &MarketView,
    long: bool,
    exclude: &Pubkey,
) -> Vec<(&'a MarginView, u64)> {
    let mut ranked: Vec<(I80F48, &MarginView, u64)> = accounts
        .iter()
        .filter(|a| a.key != *exclude)
        .filter_map(|a| {
            let p =
                a.positions.iter().find(|p| p.market == market.key && p.base_lots != 0 && (p.base_lots > 0) != long)?;
            // A position with a seat allowance changes only through its book (whose seat
            // tracks it): perpetual refuses it as a counterparty.
            if p.has_seat_allowance() {
                return None;
            }
            let h = health(a, markets)?;
            if h.equity <= 0 {
                return None;
            }
            // Profit: the position's value at the mark against what it cost (collateral moved).
            let value = market.priced.mark * I80F48::from_num(p.base_lots);
            let leverage = (market.priced.mark * I80F48::from_num(p.base_lots.unsigned_abs())) / h.equity;
            let profit = value.max(-value);
            Some((profit.saturating_mul(leverage), a, p.base_lots.unsigned_abs()))
        })
        .collect();
    ranked.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.key.cmp(&y.1.key)));
    ranked.into_iter().map(|(_, a, lots)| (a, lots)).collect()
}

/// What to do about `account`, if anything. `insurance` is the fund's balance.
pub fn decide(account: &MarginView, accounts: &[MarginView], markets: &[MarketView], insurance: u64) -> Option<Action> {
    let h = health(account, markets)?;
    if h.maintenance >= 0 {
        return None;
    }
    // The position to act on: the largest by value.
    let (pos, market) = account
        .positions
        .iter()
        .filter(|p| !p.is_free() && p.base_lots != 0)
        .filter_map(|p| markets.iter().find(|m| m.key == p.market).map(|m| (p, m)))
        // No risk path runs in a market whose oracles are down (the program refuses it).
        .filter(|(_, m)| !m.market.oracles_down())
        .max_by_key(|(p, m)| m.priced.mark * I80F48::from_num(p.base_lots.unsigned_abs()))?;
    let long = pos.base_lots > 0;
    let size = pos.base_lots.unsigned_abs();

    if h.equity < 0 {
        // Covering the deficit alone leaves the position open to lose again (and the fund to
        // pay again) as the price keeps moving: when the fund can pay the whole takeover's
        // shortfall, the account is closed in one step instead.
        let m = &market.market;
        if takeover_shortfall(&h, m, market.priced.mark, size).is_some_and(|s| s <= insurance) {
            return Some(Action::Liquidate { account: account.key, market: market.key, lots: size });
        }
        if insurance > 0 {
            return Some(Action::CoverWithInsurance { account: account.key });
        }
        let (cp, cp_lots) = rank_counterparties(accounts, markets, market, long, &account.key).into_iter().next()?;
        return Some(Action::Deleverage {
            account: account.key,
            market: market.key,
            counterparty: cp.key,
            lots: size.min(cp_lots),
        });
    }

    let m = &market.market;
    let mm = m.risk_params().margin_bps(pos.base_lots, HealthKind::Maintenance);
    let needed = lots_to_restore(
        h.maintenance,
        h.maint_requirement,
        market.priced.mark,
        mm,
        m.liquidation_discount_bps,
        m.liquidation_insurance_fee_bps,
        m.liquidation_buffer_bps,
        size,
    )
    .ok()?
    .max(1);
    if let Some((_, data)) = &market.book {
        if let Ok(book) = BookRef::parse(data) {
            let closing = if long { Closing::Long } else { Closing::Short };
            let price = close_price(&book.bids, &book.asks, book.seats, closing, needed, book.header.tick_size);
            let fee_bps = m.liquidation_discount_bps.saturating_add(m.liquidation_insurance_fee_bps);
            match early_deleverage_fee(h.equity, market.priced.mark, price, long, needed, fee_bps) {
                Ok(Some(_)) => {
                    if let Some((cp, cp_lots)) =
                        rank_counterparties(accounts, markets, market, long, &account.key).into_iter().next()
                    {
                        // The program checks the size it is sent: a counterparty smaller than
                        // the need means fewer lots, whose loss the equity may cover.
                        let lots = needed.min(cp_lots);
                        let price = if lots == needed {
                            price
                        } else {
                            close_price(&book.bids, &book.asks, book.seats, closing, lots, book.header.tick_size)
                        };
                        if let Ok(Some(_)) =
                            early_deleverage_fee(h.equity, market.priced.mark, price, long, lots, fee_bps)
                        {
                            return Some(Action::EarlyDeleverage {
                                account: account.key,
                                market: market.key,
                                counterparty: cp.key,
                                lots,
                            });
                        }
                    }
                }
                // The book takes it all without a loss the equity cannot cover: the makers
                // absorb it, and the keeper needs no inventory, however many accounts fall;
                // unless the program would refuse it (the fill worsens the account's ratio).
                Ok(None) if book_liquidation_passes(&h, m, market.priced.mark, price, long, needed) => {
                    let side = if long { Side::Bid } else { Side::Ask };
                    if let Some(limit_price_ticks) = reach_ticks(&book, side, needed, &account.key) {
                        return Some(Action::LiquidateThroughBook {
                            account: account.key,
                            market: market.key,
                            lots: needed,
                            limit_price_ticks,
                        });
                    }
                }
                Ok(None) | Err(_) => {}
            }
        }
    }
    // The program refuses a takeover whose discount leaves a shortfall the fund cannot pay
    // (`LiquidationWouldBankrupt`): no path is open until the price or the fund moves.
    if takeover_shortfall(&h, m, market.priced.mark, needed).is_some_and(|s| s > insurance) {
        tracing::info!(account = %account.key, "below maintenance, but a takeover would bankrupt it and the fund cannot pay");
        return None;
    }
    Some(Action::Liquidate { account: account.key, market: market.key, lots: needed })
}

/// What the insurance fund pays when the liquidator takes over `lots` of an underwater
/// account's position at the mark less the discount (`liquidate`): the deficit, the
/// discount and the insurance fee, rounded up; `None` when the account is not underwater
/// after it.
pub fn takeover_shortfall(h: &AccountHealth, m: &Market, mark: I80F48, lots: u64) -> Option<u64> {
    let notional = mark.checked_mul(I80F48::from_num(lots))?;
    let bps = m.liquidation_discount_bps.saturating_add(m.liquidation_insurance_fee_bps);
    let cost = perpetual::math::fixed_point::mul_bps(notional, bps).ok()?;
    let after = h.equity.checked_sub(cost)?;
    // One unit per rounding the program does (the fee and the shortfall round up).
    if after >= 0 {
        return None;
    }
    Some(after.checked_neg()?.ceil().checked_to_num::<u64>()?.saturating_add(2))
}

/// Whether closing `lots` of a position (`long` or short) through the book at an average
/// `price` per lot passes the program's gates for a liquidation through the book: the
/// account's equity stays non-negative after the fill and the liquidation fee, and its ratio
/// of equity to maintenance requirement does not fall (`book_take`'s checks, predicted from
/// `h` at the mark).
pub fn book_liquidation_passes(h: &AccountHealth, m: &Market, mark: I80F48, price: u64, long: bool, lots: u64) -> bool {
    let predict = || -> Option<bool> {
        let quote = i64::try_from(u128::from(price).checked_mul(u128::from(lots))?).ok()?;
        let fee = perpetual::math::fees::fee(quote, i32::from(m.liquidation_insurance_fee_bps) * 100).ok()?;
        let at_mark = mark.checked_mul(I80F48::from_num(lots))?;
        let proceeds = I80F48::from_num(quote);
        let pnl = if long { proceeds.checked_sub(at_mark)? } else { at_mark.checked_sub(proceeds)? };
        let equity = h.equity.checked_add(pnl)?.checked_sub(I80F48::from_num(fee))?;
        let mm = m.risk_params().margin_bps(if long { 1 } else { -1 }, HealthKind::Maintenance);
        let released = perpetual::math::fixed_point::mul_bps(at_mark, mm).ok()?;
        let requirement = h.maint_requirement.checked_sub(released)?.max(I80F48::ZERO);
        let worse = perpetual::math::health::ratio_improved(equity, requirement, h.equity, h.maint_requirement);
        Some(equity >= 0 && !worse)
    };
    predict().unwrap_or(false)
}

/// The worst price, in ticks, an order closing `lots` must cross to on `side` (best first,
/// live orders of other accounts only); `None` when the side cannot take them all.
pub fn reach_ticks(book: &BookRef, side: Side, lots: u64, own: &Pubkey) -> Option<u64> {
    let mut left = lots;
    for o in orderbook::decode::l3(book, side).into_iter().filter(|o| o.live && o.margin_account != *own) {
        left = left.saturating_sub(o.base_lots);
        if left == 0 {
            return Some(o.price_ticks);
        }
    }
    None
}
