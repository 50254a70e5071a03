//! The embedded chain: `solana-program-test` with the programs loaded natively and the real
//! SPL Token, driven like a cluster. Its bank is private, so `program_accounts` applies the
//! same filters to every account any transaction has named, from a copy of each that is
//! dropped whenever a transaction names the account writable (only those can change).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_clock::Clock;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_program_test::{ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

use super::{required_signers, Chain, ChainError, Filter, TxOutput};
use crate::harness;

pub struct EmbeddedChain {
    ctx: ProgramTestContext,
    payer: Keypair,
    nonce: u32,
    known: BTreeSet<Pubkey>,
    /// Accounts as last read by `program_accounts`, until a transaction names them writable
    /// or `set_account` writes them.
    copies: HashMap<Pubkey, Option<Account>>,
    pub transactions: u64,
    pub failed_transactions: u64,
    /// Refused transactions by reason: the failing program's error name, else the
    /// transaction error (see `refusal_reason`).
    pub refusals: BTreeMap<String, u64>,
}

impl EmbeddedChain {
    /// Boots a chain with `perpetual` and `orderbook` loaded natively.
    pub async fn start() -> Self {
        Self::start_with(harness::program_test(harness::EXCHANGE)).await
    }

    /// Boots a chain from `pt` (see [`harness::program_test`]).
    pub async fn start_with(pt: ProgramTest) -> Self {
        let ctx = pt.start_with_context().await;
        let payer = ctx.payer.insecure_clone();
        Self {
            ctx,
            payer,
            nonce: 0,
            known: BTreeSet::new(),
            copies: HashMap::new(),
            transactions: 0,
            failed_transactions: 0,
            refusals: BTreeMap::new(),
        }
    }

    /// Sets the cluster clock to `unix_timestamp` (a fixed start makes runs reproducible).
    pub async fn set_time(&mut self, unix_timestamp: i64) -> Result<(), ChainError> {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(|e| ChainError::Rpc(e.to_string()))?;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
        self.copies.remove(&super::CLOCK_SYSVAR);
        Ok(())
    }

    /// Moves the cluster clock forward by `secs`.
    pub async fn warp(&mut self, secs: i64) -> Result<(), ChainError> {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(|e| ChainError::Rpc(e.to_string()))?;
        clock.unix_timestamp += secs;
        self.ctx.set_sysvar(&clock);
        self.copies.remove(&super::CLOCK_SYSVAR);
        Ok(())
    }

    /// The context and the accounts any transaction named (`localnet` serves them on).
    pub fn into_parts(self) -> (ProgramTestContext, BTreeSet<Pubkey>) {
        (self.ctx, self.known)
    }

    /// Writes an account directly (the simulation's Pyth publisher uses this).
    pub fn set_account(&mut self, key: &Pubkey, account: Account) {
        self.known.insert(*key);
        self.copies.remove(key);
        self.ctx.set_account(key, &account.into());
    }
}

impl Chain for EmbeddedChain {
    fn payer(&self) -> &Keypair {
        &self.payer
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, ChainError> {
        self.nonce += 1;
        // A varying compute limit keeps otherwise identical transactions distinct; it leads
        // because every instruction resets return data.
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(1_400_000 - self.nonce % 1_000_000)];
        all.extend_from_slice(ixs);
        for ix in ixs {
            self.known.extend(ix.accounts.iter().map(|m| m.pubkey));
            for m in ix.accounts.iter().filter(|m| m.is_writable) {
                self.copies.remove(&m.pubkey);
            }
        }
        self.copies.remove(&self.payer.pubkey());
        let payer = self.payer.insecure_clone();
        let keys = required_signers(&payer, &all, signers);
        let blockhash =
            self.ctx.banks_client.get_latest_blockhash().await.map_err(|e| ChainError::Rpc(e.to_string()))?;
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        self.transactions += 1;
        let res = self
            .ctx
            .banks_client
            .process_transaction_with_metadata(tx)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        if let Err(e) = res.result {
            self.failed_transactions += 1;
            let logs = res.metadata.as_ref().map(|m| m.log_messages.as_slice()).unwrap_or_default();
            *self.refusals.entry(refusal_reason(&all, logs, &e)).or_default() += 1;
            return Err(ChainError::of_caller_instructions(e, all.len() - ixs.len()));
        }
        Ok(res
            .metadata
            .map(|m| TxOutput { logs: m.log_messages, return_data: m.return_data.map(|r| r.data).unwrap_or_default() })
            .unwrap_or_default())
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        self.ctx.banks_client.get_account(*key).await.map_err(|e| ChainError::Rpc(e.to_string()))
    }

    async fn program_accounts(
        &mut self,
        program: &Pubkey,
        filters: &[Filter],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let mut out = vec![];
        for key in self.known.clone() {
            if !self.copies.contains_key(&key) {
                let read = self.account(&key).await?;
                self.copies.insert(key, read);
            }
            if let Some(Some(account)) = self.copies.get(&key) {
                if account.owner == *program && filters.iter().all(|f| f.matches(&account.data)) {
                    out.push((key, account.clone()));
                }
            }
        }
        Ok(out)
    }

    async fn unix_time(&mut self) -> Result<i64, ChainError> {
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.map_err(|e| ChainError::Rpc(e.to_string()))?;
        Ok(clock.unix_timestamp)
    }

    async fn minimum_balance(&mut self, len: usize) -> Result<u64, ChainError> {
        let rent = self.ctx.banks_client.get_rent().await.map_err(|e| ChainError::Rpc(e.to_string()))?;
        Ok(rent.minimum_balance(len))
    }
}

/// A refused transaction's reason: the failing program's error name (from the IDLs, the
/// programs' published interface), else the transaction error's variant. The program is
/// the innermost that failed (the runtime's `Program X failed: custom program error: 0x..`
/// log line: an error raised inside a CPI surfaces unchanged at the outer instruction), else
/// the outer instruction's.
fn refusal_reason(ixs: &[Instruction], logs: &[String], e: &solana_transaction_error::TransactionError) -> String {
    use solana_instruction::error::InstructionError;
    use solana_transaction_error::TransactionError;
    if let TransactionError::InstructionError(i, InstructionError::Custom(code)) = e {
        let failed = format!(" failed: custom program error: {code:#x}");
        let inner = logs.iter().find_map(|l| l.strip_prefix("Program ")?.strip_suffix(&failed)?.parse::<Pubkey>().ok());
        if let Some(program) = inner.or_else(|| ixs.get(*i as usize).map(|ix| ix.program_id)) {
            return error_name(&program, *code);
        }
    }
    format!("{e:?}").split(['(', ' ', '{']).next().unwrap_or("Unknown").to_string()
}

/// `program`'s error `code` by name, from `idl/`.
fn error_name(program: &Pubkey, code: u32) -> String {
    use std::sync::OnceLock;
    static NAMES: OnceLock<BTreeMap<(String, u32), String>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut out = BTreeMap::new();
        for idl in [include_str!("../../../idl/perpetual.json"), include_str!("../../../idl/orderbook.json")] {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(idl) else { continue };
            let address = v["address"].as_str().unwrap_or_default().to_string();
            for err in v["errors"].as_array().into_iter().flatten() {
                if let (Some(c), Some(n)) = (err["code"].as_u64(), err["name"].as_str()) {
                    out.insert((address.clone(), c as u32), n.to_string());
                }
            }
        }
        out
    });
    names.get(&(program.to_string(), code)).cloned().unwrap_or_else(|| format!("{program} error {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_by_the_failing_program() {
        use solana_instruction::error::InstructionError;
        use solana_transaction_error::TransactionError;
        let ix = |p: Pubkey| Instruction { program_id: p, accounts: vec![], data: vec![] };
        let ixs = [ix(Pubkey::default()), ix(perpetual::ID), ix(orderbook::ID)];
        let custom = |i, c| TransactionError::InstructionError(i, InstructionError::Custom(c));
        let no_mark = u32::from(perpetual::error::PerpError::NoMarkPrice);
        assert_eq!(refusal_reason(&ixs, &[], &custom(1, no_mark)), "NoMarkPrice");
        let band = u32::from(orderbook::error::BookError::PriceOutsideBand);
        assert_eq!(refusal_reason(&ixs, &[], &custom(2, band)), "PriceOutsideBand");
        // Raised by perpetual inside the book's CPI: named by the program that failed.
        let logs = [format!("Program {} failed: custom program error: {no_mark:#x}", perpetual::ID)];
        assert_eq!(refusal_reason(&ixs, &logs, &custom(2, no_mark)), "NoMarkPrice");
        assert_eq!(refusal_reason(&ixs, &[], &TransactionError::BlockhashNotFound), "BlockhashNotFound");
    }
}
