//! Cost attribution by function name.
//!
//! Every benchmarked operation kind is a *phase*. The entry shims given to
//! `processor!` dispatch on the current phase to a `#[inline(never)]` wrapper whose
//! name is unique to (phase, program), e.g. `book::probe::place::orderbook`. The
//! framework's syscall stubs (the native stand-ins for `sol_invoke_signed`, sysvars and
//! return data) are wrapped the same way, per (phase, calling program), e.g.
//! `book::probe::place::orderbook_cpi`. Callgrind's inclusive cost of each wrapper,
//! divided by the number of operations, is then exactly the cost of that part of one
//! operation, whatever else (setup transactions, signing, the bank) runs in the process.
//!
//! The phase is a process-wide atomic: the driver sets it before it sends a transaction
//! and the transaction has finished executing when the driver resumes.
use std::sync::atomic::{AtomicU8, Ordering};

use anchor_lang::compat::solana_sysvar::program_stubs::{self, SyscallStubs};
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;

static PHASE: AtomicU8 = AtomicU8::new(0);
/// The program that is running now (its stubs are attributed to it): 0 none, 1 orderbook, 2 perpetual.
static PROGRAM: AtomicU8 = AtomicU8::new(0);
const ORDERBOOK: u8 = 1;
const PERPETUAL: u8 = 2;

macro_rules! phases {
    ($($idx:literal $name:ident $label:literal),* $(,)?) => {
        /// The operation kinds, in the order the report prints them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        #[allow(non_camel_case_types)]
        pub enum Phase { $($name = $idx),* }

        pub const PHASES: &[(Phase, &str, &str)] = &[$((Phase::$name, stringify!($name), $label)),*];

        $(
            #[allow(non_snake_case)]
            pub mod $name {
                use super::*;
                // Each body differs (a black-boxed constant unique to the wrapper), so
                // LLVM's function merging cannot fold two wrappers into one symbol.
                #[inline(never)]
                pub fn orderbook<'a>(p: &'a Pubkey, a: &'a [AccountInfo<'a>], d: &'a [u8]) -> ProgramResult {
                    std::hint::black_box($idx * 8);
                    let outer = PROGRAM.swap(ORDERBOOK, Ordering::Relaxed);
                    let r = orderbook::entry(p, a, d);
                    PROGRAM.store(outer, Ordering::Relaxed);
                    r
                }
                #[inline(never)]
                pub fn perpetual<'a>(p: &'a Pubkey, a: &'a [AccountInfo<'a>], d: &'a [u8]) -> ProgramResult {
                    std::hint::black_box($idx * 8 + 1);
                    let outer = PROGRAM.swap(PERPETUAL, Ordering::Relaxed);
                    let r = perpetual::entry(p, a, d);
                    PROGRAM.store(outer, Ordering::Relaxed);
                    r
                }
                #[inline(never)]
                pub fn orderbook_cpi(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 2);
                    f()
                }
                #[inline(never)]
                pub fn orderbook_syscall(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 3);
                    f()
                }
                #[inline(never)]
                pub fn perpetual_cpi(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 4);
                    f()
                }
                #[inline(never)]
                pub fn perpetual_syscall(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 5);
                    f()
                }
            }
        )*

        fn dispatch_entry<'a>(program: u8, p: &'a Pubkey, a: &'a [AccountInfo<'a>], d: &'a [u8]) -> ProgramResult {
            match (PHASE.load(Ordering::Relaxed), program) {
                $(($idx, ORDERBOOK) => $name::orderbook(p, a, d),
                  ($idx, _) => $name::perpetual(p, a, d),)*
                _ => unreachable!("unknown phase"),
            }
        }

        fn dispatch_stub(cpi: bool, f: &mut dyn FnMut()) {
            match (PHASE.load(Ordering::Relaxed), PROGRAM.load(Ordering::Relaxed), cpi) {
                $(($idx, ORDERBOOK, true) => $name::orderbook_cpi(f),
                  ($idx, ORDERBOOK, false) => $name::orderbook_syscall(f),
                  ($idx, _, true) => $name::perpetual_cpi(f),
                  ($idx, _, false) => $name::perpetual_syscall(f),)*
                _ => unreachable!("unknown phase"),
            }
        }
    };
}

phases! {
    0 setup "setup (not reported)",
    1 place "place, post-only, not crossing",
    2 cancel "cancel (by order key)",
    3 take1 "take (IOC), 1 fill",
    4 take5 "take (IOC), 5 fills",
    5 take10 "take (IOC), 10 fills",
    6 settle1 "settle_seats, 1 seat",
    7 settle10 "settle_seats, 10 seats",
}

pub fn set_phase(phase: Phase) {
    PHASE.store(phase as u8, Ordering::SeqCst);
}

// Anchor's `entry` ties its three arguments to one lifetime; `processor!` wants them
// independent. Widening is sound here: the runtime keeps them alive for the call.
// Not `client::harness::entry`'s shims: callgrind's --toggle-collect needs these to
// dispatch to the per-phase named wrappers above (`book::probe::<phase>::<program>`).
pub fn orderbook_shim(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    let a: &[AccountInfo] = unsafe { std::mem::transmute(a) };
    dispatch_entry(ORDERBOOK, p, a, d)
}

pub fn perpetual_shim(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
    let a: &[AccountInfo] = unsafe { std::mem::transmute(a) };
    dispatch_entry(PERPETUAL, p, a, d)
}

/// Wraps the framework's syscall stubs so that each call runs inside a named wrapper.
struct Probe {
    inner: Box<dyn SyscallStubs>,
}

/// Installs the probe around the stubs `solana-program-test` installed (call after the
/// chain started).
pub fn install_stub_probe() {
    let inner = program_stubs::set_syscall_stubs(Box::new(Probe { inner: Box::new(Placeholder) }));
    program_stubs::set_syscall_stubs(Box::new(Probe { inner }));
}

struct Placeholder;
impl SyscallStubs for Placeholder {}

fn sys<R>(cpi: bool, f: impl FnOnce() -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    dispatch_stub(cpi, &mut || out = Some((f.take().unwrap())()));
    out.unwrap()
}

impl SyscallStubs for Probe {
    fn sol_log(&self, message: &str) {
        sys(false, || self.inner.sol_log(message))
    }
    fn sol_log_compute_units(&self) {
        sys(false, || self.inner.sol_log_compute_units())
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        sys(false, || self.inner.sol_remaining_compute_units())
    }
    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        sys(true, || self.inner.sol_invoke_signed(instruction, account_infos, signers_seeds))
    }
    fn sol_get_sysvar(&self, sysvar_id_addr: *const u8, var_addr: *mut u8, offset: u64, length: u64) -> u64 {
        sys(false, || self.inner.sol_get_sysvar(sysvar_id_addr, var_addr, offset, length))
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_clock_sysvar(var_addr))
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_epoch_schedule_sysvar(var_addr))
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_fees_sysvar(var_addr))
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_rent_sysvar(var_addr))
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_epoch_rewards_sysvar(var_addr))
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        sys(false, || self.inner.sol_get_last_restart_slot(var_addr))
    }
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        sys(false, || self.inner.sol_get_epoch_stake(vote_address))
    }
    // Memory operations are program work on SBF too (cheap syscalls); leave them unwrapped.
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memcpy(dst, src, n)
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memmove(dst, src, n)
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        self.inner.sol_memcmp(s1, s2, n, result)
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        self.inner.sol_memset(s, c, n)
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        sys(false, || self.inner.sol_get_return_data())
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        sys(false, || self.inner.sol_set_return_data(data))
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        sys(false, || self.inner.sol_log_data(fields))
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        sys(false, || self.inner.sol_get_processed_sibling_instruction(index))
    }
    fn sol_get_stack_height(&self) -> u64 {
        sys(false, || self.inner.sol_get_stack_height())
    }
}

// ---- reference costs measured in the same process (see `calibrate`) ----

/// Anchor's per-instruction `msg!("Instruction: ...")`: natively a `println!` to stdout,
/// on SBF a `sol_log` syscall. One reference function per message a measured program logs.
macro_rules! ref_logs {
    ($($fname:ident => $msg:literal),* $(,)?) => {$(
        #[inline(never)]
        pub fn $fname(n: u64) {
            for i in 0..n {
                std::hint::black_box(i);
                anchor_lang::prelude::msg!($msg);
            }
        }
    )*};
}

ref_logs! {
    ref_log_place_order => "Instruction: PlaceOrder",
    ref_log_cancel_order => "Instruction: CancelOrder",
    ref_log_update_reservation => "Instruction: UpdateReservation",
    ref_log_settle_book_take => "Instruction: SettleBookTake",
    ref_log_settle_seats => "Instruction: SettleSeats",
}

/// One `emit!` natively, per event kind: building the event, its serialization (a heap
/// `Vec`), the black-boxed no-op log and the drop. `n` times in a plain loop.
macro_rules! ref_events {
    ($($fname:ident |$k:ident, $i:ident| $ev:expr),* $(,)?) => {$(
        #[inline(never)]
        pub fn $fname(n: u64) {
            #[allow(unused_imports)]
            use orderbook::events::*;
            #[allow(unused_imports)]
            use perpetual::events::*;
            let $k = std::hint::black_box(Pubkey::new_from_array([7; 32]));
            for $i in 0..n {
                let $i = std::hint::black_box($i);
                anchor_lang::prelude::emit!($ev);
            }
        }
    )*};
}

ref_events! {
    ref_event_order_placed |k, i| OrderPlaced { book: k, order_key: i as u128, margin_account: k, is_bid: true, price_ticks: i, base_lots: i, client_order_id: i },
    ref_event_order_cancelled |k, i| OrderCancelled { book: k, order_key: i as u128, margin_account: k, base_lots: i, reason: orderbook::events::CancelReason::Owner },
    ref_event_order_filled |k, i| OrderFilled { book: k, order_key: i as u128, maker: k, taker: k, taker_is_bid: true, price_ticks: i, base_lots: i, maker_client_order_id: i },
    ref_event_book_take_settled |k, i| BookTakeSettled { market: k, taker: k, taker_is_bid: true, base_lots: i, quote: i, taker_fee: i as i64, maker_fees: -(i as i64), fills: i as u32 },
    ref_event_seat_settled |k, i| SeatSettled { market: k, margin_account: k, bid_lots: i, ask_lots: i, cash: i as i64, fees: i as i64 },
}

/// The loop of the reference functions alone, to subtract.
#[inline(never)]
pub fn ref_empty_loop(n: u64) {
    for i in 0..n {
        std::hint::black_box(i);
    }
}
