//! Return data that also works when the programs run natively: `solana_cpi`'s functions
//! are no-ops off SBF, while the native runtime's syscall stubs carry the data.
use anchor_lang::prelude::Pubkey;

pub fn set_return_data(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(data);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(data);
}

pub fn get_return_data() -> Option<(Pubkey, Vec<u8>)> {
    #[cfg(target_os = "solana")]
    return anchor_lang::solana_program::program::get_return_data();
    #[cfg(not(target_os = "solana"))]
    return anchor_lang::compat::solana_sysvar::program_stubs::sol_get_return_data();
}
