//! A market's oracles: the admin sets the primary or the fallback (time-locked), and anyone
//! refreshes which one the market reads (`docs/oracles.md`).
use anchor_lang::prelude::*;

use crate::controller::governance::authorize_change;
use crate::error::PerpError;
use crate::events::{OracleSet, OracleSourceChanged};
use crate::params;
use crate::state::{check_new_oracle, pick_oracle_source, Exchange, GovAction, Market, OracleKind, OracleSlot};

/// A new oracle for one of the market's two slots. The oracle's key is part of the
/// arguments so a proposal names the account exactly.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct SetOracleArgs {
    pub slot: OracleSlot,
    /// Must be the `oracle` account given. The default pubkey with `OracleKind::None`
    /// removes the fallback.
    pub oracle: Pubkey,
    pub kind: OracleKind,
    /// `PythPull` only: the feed to pin (the update account must hold it); `None` pins the
    /// feed the account holds.
    pub feed_id: Option<[u8; 32]>,
    pub max_age_secs: u32,
    pub max_conf_bps: u16,
}

#[derive(Accounts)]
pub struct SetOracle<'info> {
    pub admin: Signer<'info>,
    #[account(constraint = exchange.load()?.admin == admin.key() @ PerpError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = exchange @ PerpError::WrongExchange)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: parsed as a price account of `args.kind` (owner, layout, feed); its price may
    /// be stale.
    pub oracle: UncheckedAccount<'info>,
}

/// Replaces the primary or the fallback oracle with its guard rails. The market then reads
/// the primary until the next refresh. A market without a spot index keeps none.
pub fn set_oracle(ctx: Context<SetOracle>, args: SetOracleArgs) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    authorize_change(&ctx.accounts.exchange, ctx.remaining_accounts, GovAction::SetOracle, &market_key, &args)?;
    require_keys_eq!(ctx.accounts.oracle.key(), args.oracle, PerpError::WrongOracle);
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_final_settled(), PerpError::MarketInFinalSettlement);
    require!(m.has_index(), PerpError::InvalidFallbackOracle);
    let removing = args.slot == OracleSlot::Fallback && args.kind == OracleKind::None;
    if !removing {
        require!(args.kind != OracleKind::None, PerpError::InvalidFallbackOracle);
        params::check_oracle_rails(args.max_age_secs, args.max_conf_bps)?;
    }
    let other = match args.slot {
        OracleSlot::Primary => m.fallback_oracle().map(|f| f.key),
        OracleSlot::Fallback => Some(m.oracle),
    };
    require!(removing || other != Some(args.oracle), PerpError::InvalidFallbackOracle);
    let feed_id = check_new_oracle(args.kind, &ctx.accounts.oracle, args.feed_id)?;
    match args.slot {
        OracleSlot::Primary => {
            m.oracle = args.oracle;
            m.oracle_kind = args.kind as u8;
            m.oracle_feed_id = feed_id;
            m.oracle_max_age_secs = args.max_age_secs;
            m.oracle_max_conf_bps = args.max_conf_bps;
        }
        OracleSlot::Fallback => {
            m.fallback_oracle = args.oracle;
            m.fallback_kind = args.kind as u8;
            m.fallback_feed_id = feed_id;
            m.fallback_max_age_secs = if removing { 0 } else { args.max_age_secs };
            m.fallback_max_conf_bps = if removing { 0 } else { args.max_conf_bps };
        }
    }
    // Whatever was read before, the next reading comes from the primary (a refresh may
    // move to the fallback at once if the primary fails).
    let from = m.oracle_source();
    m.oracle_source = crate::state::OracleSource::Primary as u8;
    m.oracle_source_since_ts = Clock::get()?.unix_timestamp;
    emit!(OracleSet { market: market_key, slot: args.slot, oracle: args.oracle, kind: args.kind });
    if from != m.oracle_source() {
        emit!(OracleSourceChanged { market: market_key, from, to: m.oracle_source(), ts: m.oracle_source_since_ts });
    }
    Ok(())
}

#[derive(Accounts)]
pub struct RefreshOracleSource<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be `market.oracle`; read under its guard rails.
    pub primary: UncheckedAccount<'info>,
    /// CHECK: must be `market.fallback_oracle` when the market has one (any account
    /// otherwise); read under its own guard rails.
    pub fallback: UncheckedAccount<'info>,
}

/// Anyone: reads the primary, and the fallback if the primary fails its guard rails, and
/// records which one the market reads now, or that both failed (the market is then down:
/// only reducing actions, priced from its last good index). Moving nothing is not an
/// error, so racing keepers may both send it.
pub fn refresh_oracle_source(ctx: Context<RefreshOracleSource>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_final_settled(), PerpError::MarketInFinalSettlement);
    let to = pick_oracle_source(&m, &ctx.accounts.primary, &ctx.accounts.fallback, now)?;
    let from = m.oracle_source();
    if to != from {
        m.oracle_source = to as u8;
        m.oracle_source_since_ts = now;
        emit!(OracleSourceChanged { market: ctx.accounts.market.key(), from, to, ts: now });
    }
    Ok(())
}
