//! Table-driven adversarial account matrix.
//!
//! For every instruction of both programs (perpetual and the order book, whose
//! instructions are named `book.*`) one valid instruction is built in a prepared
//! environment (and checked valid by simulation). Each row of `rows()` names an
//! (instruction, account slot, case) and the exact error expected; the mutated instruction
//! is derived mechanically from the valid one and sent with `assert_refused`, which also
//! requires every account the instruction names to be byte-for-byte unchanged. Perpetual
//! and the order book both number their errors from 6000, so a program-defined error is
//! also checked to come from the right program (`assert_refused_by`: a simulation first,
//! whose logs name the first program to fail).
//!
//! Which cases a slot needs is derived from the chain, not from the table: a slot that
//! signs needs "missing signer" and "impostor" rows; a program- or token-owned account
//! (perpetual, order book or SPL token) needs "wrong owner" and "wrong type"; an account
//! that does not exist yet (an `init` target or a PDA) needs "wrong seeds"; an executable
//! account needs "wrong program"; a writable account needs "read-only". Instructions with
//! two writable accounts of one kind need a duplicate row, instructions with health
//! accounts the full set of health mutations, and every `init` instruction a
//! re-initialisation row. The test fails if a required row is missing and is not listed in
//! `EXEMPT` with its reason, and if `INSTRUCTIONS` differs from the `pub fn`s of the two
//! programs' `#[program]` modules.
//!
//! Trader-only perpetual instructions are reached the way a trader reaches them:
//! `settle_fills` / `update_reservation` through the test trader; `record_mark_sample`,
//! `register_book` and `early_deleverage` through the order book instructions that call
//! them (`VIA`: the book instruction's rows cover them); `release_reservations`, which no
//! program of the workspace calls, through a native relay trader defined here; the seat
//! instructions (`settle_book_take`, `set_seat_allowance`, `settle_seats`), which the order
//! book calls, through the relay too, as the registered book of the SEAT market, so that
//! perpetual's own checks of the accounts the book checks first are reached. Each also has
//! `:direct` rows for the trader signature the caller supplies.
//!
//! Rows run in phases (`Base::phase`): deleveraging needs an empty insurance fund, which
//! covering with insurance and withdrawing from it need full, so its rows run last, after
//! the fund is emptied.
//!
//! A row whose `issue` is set documents a known program issue (a refusal with a generic or
//! misleading error): it must still be refused with no account changed, but the error is
//! printed under "known issues" instead of failing the test. None is set at present.
//!
//! Layout: `table.rs` (the vocabulary and `INSTRUCTIONS`), `rows.rs`, `book_rows.rs` and
//! `book_seat_rows.rs` (the rows), `world.rs` (the prepared accounts and perpetual's valid
//! instructions), `seat_rows.rs` (perpetual's seat instructions through the relay: their
//! accounts, valid instructions and rows), `book_bases.rs` (the order book's valid
//! instructions and the accounts that hold seats for them), `mutate.rs` (deriving each
//! mutated instruction) and this file (running, coverage and the regression tests).
//!
//! Set `MATRIX_PROBE=1` to run every row without stopping at the first mismatch and print
//! a table of mismatches instead (rows that unexpectedly succeed are committed then, so
//! later rows may cascade).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountInfo, AccountMeta, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use client::harness;
use integration_tests::adversarial::{assert_refused, assert_refused_by};
use integration_tests::*;
use orderbook::error::BookError;
use orderbook::instructions::{AllowanceArgs, CreateBookArgs, OrderType, PlaceOrderArgs};
use orderbook::state::Side as BookSide;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::sdk::{InitializeExchangeArgs, ListMarketArgs, SetAuthoritiesArgs, SettleFillsArgs, UpdateMarketArgs};
use perpetual::state::{HEADER_LEN, POSITION_LEN};
use perpetual::{
    AllowanceChange, BookTakeArgs, Fill, FillResult, MarketStatus, OracleKind, Release, SeatAllowanceArgs, SeatPending,
    Side,
};
use pyth_sdk_solana::state::PriceStatus;
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

const PRICE: i64 = 1_000_000; // $1 per lot

mod book_bases;
mod book_rows;
mod book_seat_rows;
mod mutate;
mod rows;
mod seat_rows;
mod table;
mod world;

use book_bases::*;
use book_rows::*;
use rows::*;
use seat_rows::*;
use table::*;
use world::*;

// ---------------------------------------------------------------------------------------
// A relay trader program, native, approved on the exchange: it reaches trader-only
// instructions no program of the workspace calls (`release_reservations`: the order book
// keeps its makers' allowances in seats and holds no reservations), and perpetual's own
// checks of accounts the order book checks first.
// ---------------------------------------------------------------------------------------

/// The relay's program id (approved on the exchange in `world`).
const RELAY_ID: Pubkey = Pubkey::new_from_array([0x5e; 32]);

/// Accounts: `[target program, ..accounts of the target instruction]`; data: the target
/// instruction's data. The relay's `trader` PDA is marked as a signer and signs by seeds.
fn relay_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (pda, bump) = Pubkey::find_program_address(&[b"trader"], program_id);
    let metas = accounts[1..]
        .iter()
        .map(|a| AccountMeta { pubkey: *a.key, is_signer: a.is_signer || *a.key == pda, is_writable: a.is_writable })
        .collect();
    let ix = Instruction { program_id: *accounts[0].key, accounts: metas, data: data.to_vec() };
    anchor_lang::solana_program::program::invoke_signed(&ix, accounts, &[&[b"trader", &[bump]]])
}

// ---------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------

type Snapshot = Vec<(Pubkey, Option<(u64, Pubkey, Vec<u8>)>)>;

/// The same snapshot `assert_refused` takes: every named account except the fee payer.
async fn snapshot(env: &mut TestEnv, ix: &Instruction) -> Snapshot {
    let payer = env.ctx.payer.pubkey();
    let mut keys: Vec<Pubkey> = ix.accounts.iter().map(|m| m.pubkey).filter(|k| *k != payer).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let a = env.account(&k).await.map(|a| (a.lamports, a.owner, a.data));
        out.push((k, a));
    }
    out
}

/// Sends without asserting: the error (if any), whether a named account changed, and the
/// logs of a simulation sent first.
async fn probe(
    env: &mut TestEnv,
    ix: &Instruction,
    signers: &[Keypair],
) -> (Result<(), TransactionError>, bool, Vec<String>) {
    let refs: Vec<&Keypair> = signers.iter().collect();
    let (_, logs) = env.simulate_with_logs(std::slice::from_ref(ix), &refs).await;
    let before = snapshot(env, ix).await;
    let res = env.process(std::slice::from_ref(ix), &refs).await.map(|_| ());
    let after = snapshot(env, ix).await;
    (res, before != after, logs)
}

fn program_name(p: &Pubkey) -> String {
    let known = [
        (perpetual::ID, "perpetual"),
        (orderbook::ID, "orderbook"),
        (test_trader::ID, "test_trader"),
        (spl_token_interface::ID, "spl_token"),
        (RELAY_ID, "relay"),
    ];
    known.iter().find(|(id, _)| id == p).map(|(_, n)| n.to_string()).unwrap_or_else(|| p.to_string())
}

fn is_expected(expect: &Expect, err: &TransactionError, logs: &[String]) -> bool {
    match (expect, err) {
        (Expect::Code(c, program), e) => {
            custom_code(e) == Some(*c) && program.is_none_or(|p| failing_program(logs) == Some(p))
        }
        (Expect::Ix(want), TransactionError::InstructionError(_, got)) => want == got,
        _ => false,
    }
}

/// Simulates `ix` and returns its result (state is not committed).
async fn simulate(w: &mut World, ix: &Instruction) -> Result<(), TransactionError> {
    let signers = w.signers(ix);
    let payer = w.env.ctx.payer.insecure_clone();
    let mut keys: Vec<&Keypair> = vec![&payer];
    keys.extend(signers.iter());
    let blockhash = w.env.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(std::slice::from_ref(ix), Some(&payer.pubkey()), &keys, blockhash);
    let sim = w.env.ctx.banks_client.simulate_transaction(tx).await.expect("simulate");
    sim.result.expect("simulation result")
}

/// Per-slot cases the chain says are required.
async fn required_kinds(w: &mut World, b: &Base) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    let health_start = b.health.map(|(s, _)| s).unwrap_or(usize::MAX);
    for (i, meta) in b.ix.accounts.iter().enumerate() {
        if i >= health_start {
            continue; // health accounts: instruction-level health mutations
        }
        let slot = &b.slots[i];
        let account = w.env.account(&meta.pubkey).await.filter(|a| a.lamports > 0);
        if meta.is_signer {
            out.push((slot.clone(), Kind::MissingSigner));
            out.push((slot.clone(), Kind::Impostor));
        }
        match &account {
            // A signer need not exist (an authority that never paid for anything).
            None if meta.is_signer => {}
            None => out.push((slot.clone(), Kind::WrongSeeds)),
            Some(acc) if acc.executable => out.push((slot.clone(), Kind::WrongProgram)),
            Some(acc)
                if acc.owner == perpetual::ID || acc.owner == spl_token_interface::ID || acc.owner == orderbook::ID =>
            {
                out.push((slot.clone(), Kind::WrongOwner));
                out.push((slot.clone(), Kind::WrongType));
            }
            Some(_) => {}
        }
        if meta.is_writable && account.is_some() {
            out.push((slot.clone(), Kind::ReadOnly));
        }
    }
    out
}

/// Whether the instruction takes two writable, non-signing accounts of one kind.
async fn has_same_kind_writables(w: &mut World, b: &Base) -> bool {
    let health_start = b.health.map(|(s, _)| s).unwrap_or(usize::MAX);
    let mut seen = BTreeSet::new();
    for (i, meta) in b.ix.accounts.iter().enumerate() {
        if i >= health_start || !meta.is_writable || meta.is_signer {
            continue;
        }
        if let Some(acc) = w.env.account(&meta.pubkey).await {
            let tag = if acc.owner == perpetual::ID || acc.owner == orderbook::ID {
                acc.data[..8].to_vec()
            } else {
                acc.data.len().to_le_bytes().to_vec()
            };
            if !seen.insert((acc.owner, tag)) {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn account_matrix() {
    let probe_all = std::env::var("MATRIX_PROBE").is_ok();
    let mut w = world().await;
    let bases = bases(&mut w).await;
    let rows = rows();
    let by_key: HashMap<&str, &Base> = bases.iter().map(|b| (b.key, b)).collect();
    let prefix = |key: &str| key.split(':').next().unwrap().to_string();

    // The table names every instruction of both programs, and nothing else.
    let mut declared: Vec<String> = program_instructions();
    declared.sort();
    let mut listed: Vec<String> = INSTRUCTIONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(declared, listed, "INSTRUCTIONS must list every instruction of perpetual and the order book");

    // Coverage: per slot from the chain, per instruction for duplicates, health and re-init.
    // A perpetual instruction in `VIA` is covered by the rows of the book instruction that
    // calls it, plus `:direct` rows for the trader signature.
    let mut missing = Vec::new();
    let covered = |ix: &str, slot: &str, kind: Kind| {
        rows.iter().any(|r| prefix(r.base) == ix && r.slot == slot && r.case.kind() == kind)
    };
    for name in INSTRUCTIONS {
        let group = VIA.iter().find(|(n, _)| *n == name).map(|(_, g)| *g).unwrap_or(name);
        assert!(by_key.contains_key(group), "no base for {group}");
        assert!(rows.iter().any(|r| prefix(r.base) == name), "{name}: no rows");
        if group != name {
            for kind in [Kind::MissingSigner, Kind::Impostor] {
                if !covered(name, "trader_authority", kind) {
                    missing.push(format!("{name} trader_authority {kind:?} (direct)"));
                }
            }
        }
        let checked: Vec<&Base> =
            bases.iter().filter(|b| prefix(b.key) == group && (b.key == group || b.cover)).collect();
        for b in checked {
            for (slot, kind) in required_kinds(&mut w, b).await {
                let exempt = EXEMPT.iter().any(|(i, s, k, _)| *i == group && *s == slot && *k == kind);
                if !exempt && !covered(group, &slot, kind) {
                    missing.push(format!("{} {slot} {kind:?}", b.key));
                }
            }
            if has_same_kind_writables(&mut w, b).await
                && !rows.iter().any(|r| prefix(r.base) == group && r.case.kind() == Kind::Duplicate)
            {
                missing.push(format!("{} Duplicate", b.key));
            }
            if b.health.is_some() {
                for h in HEALTH_MUTS {
                    if h == HealthMut::IncludeOwnMarket && b.own_market.is_none() {
                        continue;
                    }
                    if !rows.iter().any(|r| prefix(r.base) == group && matches!(r.case, Case::Health(x) if x == h)) {
                        missing.push(format!("{} health {h:?}", b.key));
                    }
                }
            }
            // An instruction that creates an account (a writable slot that does not exist yet)
            // needs a re-initialisation row.
            let mut creates = false;
            for (i, meta) in b.ix.accounts.iter().enumerate() {
                if meta.is_writable && !meta.is_signer && w.env.account(&meta.pubkey).await.is_none() {
                    creates |= !b.slots[i].contains("trader_authority");
                }
            }
            if creates && !rows.iter().any(|r| prefix(r.base) == group && r.case.kind() == Kind::Reinit) {
                missing.push(format!("{} Reinit", b.key));
            }
        }
    }
    assert!(missing.is_empty(), "matrix rows missing for:\n  {}", missing.join("\n  "));

    // Run every row, phase by phase; every valid base of a phase must succeed as is first.
    let mut mismatches = Vec::new();
    let mut known = Vec::new();
    let last_phase = bases.iter().map(|b| b.phase).max().unwrap_or(0);
    for phase in 0..=last_phase {
        w.enter_phase(phase).await;
        for b in bases.iter().filter(|b| b.valid && b.phase == phase) {
            let res = simulate(&mut w, &b.ix).await;
            assert!(res.is_ok(), "base {} must succeed unmutated: {res:?}", b.key);
        }
        for (n, row) in rows.iter().enumerate() {
            let b = by_key.get(row.base).unwrap_or_else(|| panic!("row {n}: no base {}", row.base));
            if b.phase != phase {
                continue;
            }
            let ix = w.mutate(b, row).await;
            let signers = w.signers(&ix);
            let what = format!("#{n} {} {} {:?}", row.base, row.slot, row.case);
            if let (Expect::Code(c, program), None, false) = (&row.expect, row.issue, probe_all) {
                let refs: Vec<&Keypair> = signers.iter().collect();
                match program {
                    Some(program) => assert_refused_by(&mut w.env, &[ix], &refs, *c, program, &what).await,
                    None => assert_refused(&mut w.env, &[ix], &refs, *c, &what).await,
                }
                continue;
            }
            let (res, changed, logs) = probe(&mut w.env, &ix, &signers).await;
            let ok = matches!(&res, Err(e) if is_expected(&row.expect, e, &logs)) && !changed;
            let raised_by = failing_program(&logs).map(|p| program_name(&p)).unwrap_or_default();
            let observed = format!("{res:?} [{raised_by}]{}", if changed { " (STATE CHANGED)" } else { "" });
            if let Some(issue) = row.issue {
                assert!(
                    res.is_err() && !changed,
                    "{what} (known issue): must still be refused with no state change: {observed}"
                );
                known.push(format!("{what}: {issue}; expected {:?}, observed {observed}", row.expect));
            } else if !ok {
                if probe_all {
                    mismatches.push(format!("{what}: expected {:?}, observed {observed}", row.expect));
                } else {
                    panic!("{what}: expected {:?}, observed {observed}", row.expect);
                }
            }
        }
    }

    // Coverage report.
    let mut per_ix: BTreeMap<usize, (usize, BTreeSet<&str>, BTreeSet<Kind>)> = BTreeMap::new();
    for row in &rows {
        let name = prefix(row.base);
        let i = INSTRUCTIONS
            .iter()
            .position(|x| *x == name)
            .unwrap_or_else(|| panic!("row base {} names no instruction", row.base));
        let e = per_ix.entry(i).or_default();
        e.0 += 1;
        e.1.insert(row.slot);
        e.2.insert(row.case.kind());
    }
    let slots: usize = per_ix.values().map(|e| e.1.len()).sum();
    let perp = per_ix.keys().filter(|i| !INSTRUCTIONS[**i].starts_with("book.")).count();
    println!(
        "matrix: {} instructions, {} slots, {} cases ({} perpetual + {} order book instructions)",
        per_ix.len(),
        slots,
        rows.len(),
        perp,
        per_ix.len() - perp
    );
    for (i, (n, s, k)) in &per_ix {
        let via = VIA.iter().find(|(name, _)| name == &INSTRUCTIONS[*i]).map(|(_, g)| {
            let shared = rows.iter().filter(|r| prefix(r.base) == *g).count();
            format!(" (+{shared} rows through {g})")
        });
        println!(
            "  {:<30} {:>3} rows, {:>2} slots, kinds {:?}{}",
            INSTRUCTIONS[*i],
            n,
            s.len(),
            k,
            via.unwrap_or_default()
        );
    }
    let noted: Vec<String> = rows
        .iter()
        .filter(|r| !r.note.is_empty())
        .map(|r| format!("{} {} {:?}: {}", r.base, r.slot, r.case, r.note))
        .collect();
    println!("rows refused outside perpetual or with a non-custom error ({}):", noted.len());
    for n in &noted {
        println!("  {n}");
    }
    println!("exempt:");
    for (i, s, k, why) in EXEMPT {
        println!("  {i} {s} {k:?}: {why}");
    }
    println!("not applicable:");
    for n in NOT_APPLICABLE {
        println!("  {n}");
    }
    println!("known issues ({}):", known.len());
    for k in &known {
        println!("  {k}");
    }
    assert_eq!(per_ix.len(), INSTRUCTIONS.len(), "every instruction has rows");
    assert!(mismatches.is_empty(), "{} mismatches:\n  {}", mismatches.len(), mismatches.join("\n  "));
}

/// The instruction names declared in both programs' `lib.rs` (`pub fn` inside `#[program]`),
/// the order book's prefixed `book.`.
fn program_instructions() -> Vec<String> {
    let parse = |src: &str, prefix: &str| -> Vec<String> {
        let body = &src[src.find("#[program]").expect("#[program]")..];
        body.lines()
            .filter_map(|l| l.trim_start().strip_prefix("pub fn "))
            .map(|rest| format!("{prefix}{}", rest.split(['(', '<']).next().unwrap()))
            .collect()
    };
    let mut v = parse(include_str!("../../../programs/perpetual/src/lib.rs"), "");
    v.extend(parse(include_str!("../../../programs/orderbook/src/lib.rs"), "book."));
    v
}

impl World {
    /// Changes the world between phases of rows.
    async fn enter_phase(&mut self, phase: u8) {
        if phase == 1 {
            // Deleveraging requires an empty insurance fund.
            let fund = self.env.insurance_fund().await;
            let admin = self.env.admin.insecure_clone();
            let ix =
                sdk::withdraw_insurance(&admin.pubkey(), &self.env.exchange, &self.env.mint, &self.x.admin_token, fund);
            self.env.process(&[ix], &[&admin]).await.expect("empty the insurance fund");
        }
    }
}

/// A maker passed twice (two fills against the same account at different indices) is
/// accepted and applied as two fills against one account.
#[tokio::test]
async fn maker_passed_twice_is_two_fills_against_one_account() {
    let mut env = TestEnv::new().await;
    let sol = env.create_market("SOL", PRICE).await;
    let taker = env.funded_user(1_000 * ONE_USDC).await;
    let maker = env.funded_user(1_000 * ONE_USDC).await;
    env.reserve(&maker, &sol, 0, 10).await.unwrap();
    let fills = vec![
        Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 3, price_per_lot: PRICE as u64 },
        Fill { maker_index: 1, taker_side: Side::Bid, base_lots: 4, price_per_lot: PRICE as u64 },
    ];
    let ix = env.settle_ix(&taker, &sol, &[maker.margin_account, maker.margin_account], fills, vec![], 0, 0).await;
    let out = env.process(&[ix], &[&taker.owner]).await.expect("same maker twice");
    assert_eq!(out.return_data, vec![FillResult::Applied as u8; 2]);
    let mp = env.position(&maker.margin_account, &sol.market).await;
    assert_eq!((mp.base_lots, mp.open_ask_lots), (-7, 3));
    assert_eq!(env.position(&taker.margin_account, &sol.market).await.base_lots, 7);
    // Two fills beyond the reservation: the second is refused per fill, the first applies.
    let fills = vec![
        Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 },
        Fill { maker_index: 1, taker_side: Side::Bid, base_lots: 2, price_per_lot: PRICE as u64 },
    ];
    let ix = env.settle_ix(&taker, &sol, &[maker.margin_account, maker.margin_account], fills, vec![], 0, 0).await;
    let out = env.process(&[ix], &[&taker.owner]).await.expect("second fill refused per fill");
    assert_eq!(out.return_data, vec![FillResult::Applied as u8, FillResult::MakerReservationMissing as u8]);
    let mp = env.position(&maker.margin_account, &sol.market).await;
    assert_eq!((mp.base_lots, mp.open_ask_lots), (-9, 1));
    invariants::check(&mut env).await;
}

/// Regression: Anchor 1.2's `init` creates a PDA that already holds lamports with the
/// system program's `CreateAccountAllowPrefund` (SIMD-0312), which this runtime lacks, so
/// anyone could block a predictable PDA (a user's margin account, a market symbol) by sending
/// it the rent minimum first. The program now creates PDAs itself (`create_pda`).
#[tokio::test]
async fn a_prefunded_pda_is_still_created() {
    let mut env = TestEnv::new().await;
    let user = env.create_user(0).await;
    let admin = env.admin.insecure_clone();
    let oracle = env.create_market("SOL", PRICE).await.oracle;
    let rent = env.ctx.banks_client.get_rent().await.unwrap().minimum_balance(0);
    let cases = [
        (
            "create_margin_account",
            sdk::margin_account_address(&env.exchange, &user.key(), 1),
            sdk::create_margin_account(&user.key(), &env.exchange, 1, 16),
            user.owner.insecure_clone(),
        ),
        (
            "create_market",
            sdk::market_address(&env.exchange, &sdk::symbol("GRIEF")),
            sdk::create_market(&admin.pubkey(), &env.exchange, &oracle, market_args("GRIEF", OracleKind::SetPrice)),
            admin.insecure_clone(),
        ),
    ];
    for (name, pda, ix, signer) in cases {
        env.airdrop(&pda, rent).await; // the grief: one transfer of ~0.0009 SOL
        let (res, _, _) = probe(&mut env, &ix, &[signer]).await;
        assert!(res.is_ok(), "{name}: a prefunded PDA must still be created: {res:?}");
        let account = env.account(&pda).await.expect("created");
        assert_eq!(account.owner, perpetual::ID, "{name}");
    }
}

/// Program issue found by the matrix (the `book` slot of the order instructions): a market
/// that is closed and listed again under the same symbol gets the same address, and the
/// book of the old market, if nobody closed it, still names that address. Nothing ties an
/// order-book instruction to the market's registered book (`Market::book` is written by
/// `register_book` and never read): perpetual's `record_mark_sample`, `settle_fills` and
/// `update_reservation` accept any book of the approved program, and the book checks only
/// its own `market` field. So the stale book's resting orders (whose reservations final
/// settlement cleared) set the new market's mark through `sample_mark`, and new orders rest
/// on it with real reservations, beside the new market's registered book.
#[tokio::test]
// Regression: the market can no longer close while its book is open, so no orphan book can
// name a re-listed market.
async fn a_stale_book_of_a_relisted_market_is_refused() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let p = PRICE as u64;
    env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &env.exchange, LISTING_DEPOSIT)], &[&admin]).await.unwrap();
    let lister = funded(&mut env).await;
    let lister_token = env.create_token_account(&lister.pubkey(), 2 * LISTING_DEPOSIT).await;
    let pyth = Pubkey::new_unique();
    let now = env.now().await;
    env.write_pyth(&pyth, PRICE, 0, -6, now, PriceStatus::Trading);
    let args = ListMarketArgs {
        symbol: sdk::symbol("GHST"),
        oracle_kind: OracleKind::PythLegacy,
        base_decimals: 6,
        base_lot_size: 1_000_000,
        initial_price_per_lot: p,
    };
    let m = env.list_market(&lister, &lister_token, pyth, args).await.expect("listing");
    let stale = env.create_book_as(&m, book_args(64, 16), &lister).await.expect("book");
    let u = env.funded_user(1_000 * ONE_USDC).await;
    env.rest(&u, &stale, BookSide::Bid, 97, 1).await;
    env.rest(&u, &stale, BookSide::Ask, 103, 1).await;
    // Final settlement and the last position released; closing the market is refused while
    // its book is open.
    env.process(&[sdk::final_settle_market(&admin.pubkey(), &env.exchange, &m.market, &pyth, p, p)], &[&admin])
        .await
        .expect("settle");
    // `u`'s seat holds an allowance, which final settlement waits for: anyone revokes it in
    // a final-settled market. Nothing filled, so the revoke leaves the position empty and
    // releases its slot (what settling the final position did before seats).
    let seat = env.seat_for(&stale, &u.margin_account).await;
    let payer = env.ctx.payer.pubkey();
    let revoke = orderbook::sdk::revoke_seat(&stale.venue, &payer, &u.margin_account, seat, vec![]);
    env.process(&[revoke], &[]).await.expect("revoke u's seat");
    let (_, positions) = env.margin(&u.margin_account).await;
    assert!(positions.iter().all(|p| p.market != m.market), "the revoke released u's position");
    let state = env.market_state(&m.market).await;
    assert_eq!((state.open_slots, state.open_interest_lots), (0, 0), "only the book keeps the market open");
    let close =
        sdk::close_market(&lister.pubkey(), &env.exchange, &m.market, &stale.venue.book, &env.mint, &lister_token);
    assert_refused(&mut env, &[close], &[], code(PerpError::MarketNotEmpty), "closing with its book open").await;
}

/// The governance names the matrix uses, from perpetual's public surface.
mod governance {
    pub use perpetual::params::MIN_TIMELOCK_SECS;
    pub use perpetual::state::{payload, GovAction};
}
