//! The embedded chain: `solana-program-test` with the programs loaded natively and the real
//! SPL Token, driven like a cluster (send transactions, read accounts, move the clock).
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use solana_clock::Clock;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("transaction failed: {0}")]
    Transaction(#[from] TransactionError),
    #[error("chain client: {0}")]
    Client(String),
}

// Anchor's `entry` ties its arguments to one lifetime; `processor!` wants them independent.
fn perpetual_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    perpetual::entry(program_id, accounts, data)
}

fn test_trader_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    test_trader::entry(program_id, accounts, data)
}

pub struct EmbeddedChain {
    ctx: ProgramTestContext,
    nonce: u32,
    pub transactions: u64,
    pub failed_transactions: u64,
}

impl EmbeddedChain {
    pub async fn start() -> Self {
        let mut pt = ProgramTest::new("perpetual", perpetual::ID, processor!(perpetual_entry));
        pt.add_program("test_trader", test_trader::ID, processor!(test_trader_entry));
        pt.prefer_bpf(false);
        Self { ctx: pt.start_with_context().await, nonce: 0, transactions: 0, failed_transactions: 0 }
    }

    pub fn payer(&self) -> Keypair {
        self.ctx.payer.insecure_clone()
    }

    /// Sends one transaction, paid by the chain's payer; extra signers are dropped.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), ChainError> {
        self.nonce += 1;
        // A varying compute limit keeps otherwise identical transactions distinct.
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(1_400_000 - self.nonce)];
        all.extend_from_slice(ixs);
        let payer = self.payer();
        let required = |k: &Pubkey| all.iter().any(|ix| ix.accounts.iter().any(|m| m.is_signer && m.pubkey == *k));
        let mut keys: Vec<&Keypair> = vec![&payer];
        keys.extend(signers.iter().copied().filter(|s| s.pubkey() != payer.pubkey() && required(&s.pubkey())));
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.map_err(|e| ChainError::Client(e.to_string()))?;
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        self.transactions += 1;
        let res = self.ctx.banks_client.process_transaction_with_metadata(tx).await.map_err(|e| ChainError::Client(e.to_string()))?;
        if res.result.is_err() {
            self.failed_transactions += 1;
        }
        Ok(res.result?)
    }

    pub async fn account_data(&mut self, key: &Pubkey) -> Result<Vec<u8>, ChainError> {
        let acc = self.ctx.banks_client.get_account(*key).await.map_err(|e| ChainError::Client(e.to_string()))?;
        Ok(acc.map(|a| a.data).unwrap_or_default())
    }

    pub async fn rent_exempt(&mut self, len: usize) -> Result<u64, ChainError> {
        let rent = self.ctx.banks_client.get_rent().await.map_err(|e| ChainError::Client(e.to_string()))?;
        Ok(rent.minimum_balance(len))
    }

    pub async fn clock(&mut self) -> Result<Clock, ChainError> {
        self.ctx.banks_client.get_sysvar::<Clock>().await.map_err(|e| ChainError::Client(e.to_string()))
    }

    /// Moves the cluster clock forward.
    pub async fn warp(&mut self, secs: i64) -> Result<(), ChainError> {
        let mut clock = self.clock().await?;
        clock.unix_timestamp += secs;
        self.ctx.set_sysvar(&clock);
        Ok(())
    }
}

