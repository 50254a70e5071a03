//! Return data that also reaches the caller when the program runs natively.
//! (`solana_cpi::set_return_data` is a no-op off SBF; the native runtime's stub is not.)

pub fn set_return_data(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(data);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(data);
}
