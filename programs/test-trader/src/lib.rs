use anchor_lang::prelude::*;
declare_id!("TestTrader111111111111111111111111111111111");
#[program]
pub mod test_trader {
    use super::*;
    pub fn noop(_ctx: Context<Noop>) -> Result<()> { Ok(()) }
}
#[derive(Accounts)]
pub struct Noop {}
