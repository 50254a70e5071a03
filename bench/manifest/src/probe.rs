//! Cost attribution by function name, as in `bench/src/probe.rs`: one `#[inline(never)]`
//! wrapper per (phase, part), selected by a process-wide phase the driver sets around each
//! transaction.
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, instruction::Instruction, program_stubs::SyscallStubs, pubkey::Pubkey,
};

static PHASE: AtomicU8 = AtomicU8::new(0);
/// While set, the `sol_log_data` stub returns at once (reference runs of `emit_stack`).
static LOG_NOOP: AtomicBool = AtomicBool::new(false);

macro_rules! phases {
    ($($idx:literal $name:ident $label:literal),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        #[allow(non_camel_case_types)]
        pub enum Phase { $($name = $idx),* }

        pub const PHASES: &[(Phase, &str, &str)] = &[$((Phase::$name, stringify!($name), $label)),*];

        fn current() -> Phase {
            match PHASE.load(Ordering::Relaxed) { $($idx => Phase::$name,)* _ => unreachable!() }
        }

        $(
            #[allow(non_snake_case)]
            pub mod $name {
                use super::*;
                // Distinct bodies, so LLVM cannot merge two wrappers into one symbol.
                #[inline(never)]
                pub fn manifest(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
                    std::hint::black_box($idx * 8);
                    manifest::process_instruction(p, a, d)
                }
                #[inline(never)]
                pub fn log_data(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 1);
                    f()
                }
                #[inline(never)]
                pub fn cpi(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 2);
                    f()
                }
                #[inline(never)]
                pub fn syscall(f: &mut dyn FnMut()) {
                    std::hint::black_box($idx * 8 + 3);
                    f()
                }
            }
        )*

        /// The entry given to `processor!`.
        pub fn manifest_shim(p: &Pubkey, a: &[AccountInfo], d: &[u8]) -> ProgramResult {
            match current() { $(Phase::$name => $name::manifest(p, a, d),)* }
        }
        fn wrap(kind: u8, f: &mut dyn FnMut()) {
            match (current(), kind) {
                $((Phase::$name, 0) => $name::log_data(f), (Phase::$name, 1) => $name::cpi(f), (Phase::$name, _) => $name::syscall(f),)*
            }
        }
    };
}

phases! {
    0 setup "setup",
    1 place "place, post-only, not crossing",
    2 cancel "cancel (with the order's index)",
    3 take1 "take (IOC), 1 fill",
    4 take5 "take (IOC), 5 fills",
    5 take10 "take (IOC), 10 fills",
}

pub fn set_phase(p: Phase) {
    PHASE.store(p as u8, Ordering::Relaxed);
}

const LOG: u8 = 0;
const CPI: u8 = 1;
const SYS: u8 = 2;

/// Forwards every stub to the framework's, through the per-phase wrappers.
struct Probe(Box<dyn SyscallStubs>);

impl SyscallStubs for Probe {
    fn sol_log(&self, message: &str) {
        self.0.sol_log(message)
    }
    fn sol_log_compute_units(&self) {
        self.0.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.0.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(&self, instruction: &Instruction, account_infos: &[AccountInfo], signers_seeds: &[&[&[u8]]]) -> ProgramResult {
        let mut r = Ok(());
        wrap(CPI, &mut || r = self.0.sol_invoke_signed(instruction, account_infos, signers_seeds));
        r
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_clock_sysvar(var_addr));
        r
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_epoch_schedule_sysvar(var_addr));
        r
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_fees_sysvar(var_addr));
        r
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_rent_sysvar(var_addr));
        r
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_epoch_rewards_sysvar(var_addr));
        r
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        let mut r = 0;
        wrap(SYS, &mut || r = self.0.sol_get_last_restart_slot(var_addr));
        r
    }
    // Memory "syscalls" stay program work, as they are inside our programs.
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.0.sol_memcpy(dst, src, n)
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.0.sol_memmove(dst, src, n)
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        self.0.sol_memcmp(s1, s2, n, result)
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        self.0.sol_memset(s, c, n)
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        let mut r = None;
        wrap(SYS, &mut || r = self.0.sol_get_return_data());
        r
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        wrap(SYS, &mut || self.0.sol_set_return_data(data))
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        if LOG_NOOP.load(Ordering::Relaxed) {
            std::hint::black_box(fields);
            return;
        }
        wrap(LOG, &mut || self.0.sol_log_data(fields))
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.0.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.0.sol_get_stack_height()
    }
}

/// Wraps the framework's stubs; call after the test validator has started (it installs its
/// own stubs once, on start).
pub fn install_stub_probe() {
    struct Nop;
    impl SyscallStubs for Nop {}
    let inner = solana_program::program_stubs::set_syscall_stubs(Box::new(Nop));
    solana_program::program_stubs::set_syscall_stubs(Box::new(Probe(inner)));
}

// ---- reference functions: the cost of building Manifest's events, log stub excluded ----

#[inline(never)]
pub fn ref_empty_loop(n: u64) {
    for i in 0..n {
        std::hint::black_box(i);
    }
}

macro_rules! ref_emit {
    ($name:ident, $ty:ty) => {
        #[inline(never)]
        pub fn $name(n: u64) {
            LOG_NOOP.store(true, Ordering::Relaxed);
            for i in 0..n {
                std::hint::black_box(i);
                let e: $ty = bytemuck::Zeroable::zeroed();
                manifest::logs::emit_stack(std::hint::black_box(e)).unwrap();
            }
            LOG_NOOP.store(false, Ordering::Relaxed);
        }
    };
}
ref_emit!(ref_emit_place_order, manifest::logs::PlaceOrderLog);
ref_emit!(ref_emit_cancel_order, manifest::logs::CancelOrderLog);
ref_emit!(ref_emit_fill, manifest::logs::FillLog);
