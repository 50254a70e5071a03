//! One interface to a chain, with two implementations: a cluster through RPC
//! (`rpc::RpcChain`) and, with the `embedded` feature, the embedded `solana-program-test`
//! chain (`embedded::EmbeddedChain`).
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod rpc;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_transaction_error::TransactionError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    #[error("transaction failed: {0}")]
    Transaction(#[from] TransactionError),
    #[error("rpc: {0}")]
    Rpc(String),
    #[error("transaction not confirmed before its blockhash expired, {attempts} attempts")]
    Expired { attempts: u32 },
}

impl ChainError {
    /// The program's custom error code, when a program refused the transaction.
    pub fn custom_code(&self) -> Option<u32> {
        match self {
            ChainError::Transaction(e) => custom_code(e),
            _ => None,
        }
    }

    /// The index of the refused instruction among those given to [`Chain::send`].
    pub fn failed_instruction(&self) -> Option<usize> {
        match self {
            ChainError::Transaction(TransactionError::InstructionError(i, _)) => Some(usize::from(*i)),
            _ => None,
        }
    }

    /// `e` of a transaction whose first `prefix` instructions the chain added (compute
    /// budget), renumbered to the caller's instructions. A refusal of an added instruction
    /// names none of the caller's.
    pub fn of_caller_instructions(e: TransactionError, prefix: usize) -> ChainError {
        match e {
            TransactionError::InstructionError(i, err) => match usize::from(i).checked_sub(prefix) {
                Some(at) => ChainError::Transaction(TransactionError::InstructionError(at as u8, err)),
                None => ChainError::Rpc(format!("compute-budget instruction {i} refused: {err}")),
            },
            e => ChainError::Transaction(e),
        }
    }
}

/// The custom program error code of a failed transaction, if it has one.
pub fn custom_code(err: &TransactionError) -> Option<u32> {
    match err {
        TransactionError::InstructionError(_, solana_instruction::error::InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// The Clock sysvar's address.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::prelude::pubkey!("SysvarC1ock11111111111111111111111111111111");

/// What a confirmed transaction returned.
#[derive(Debug, Default, Clone)]
pub struct TxOutput {
    pub logs: Vec<String>,
    pub return_data: Vec<u8>,
}

/// A getProgramAccounts filter. Offsets always come from the account structs
/// (`crate::discovery`), never typed by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    DataSize(u64),
    Memcmp { offset: usize, bytes: Vec<u8> },
}

impl Filter {
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            Filter::DataSize(n) => data.len() as u64 == *n,
            Filter::Memcmp { offset, bytes } => data.get(*offset..offset + bytes.len()) == Some(bytes.as_slice()),
        }
    }
}

pub trait Chain {
    /// Pays for every transaction.
    fn payer(&self) -> &Keypair;
    /// Sends one transaction signed by the payer and `signers` (extra signers the message
    /// does not need are dropped) and waits for its confirmation.
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<TxOutput, ChainError>;
    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError>;
    /// Accounts owned by `program` that pass every filter.
    async fn program_accounts(
        &mut self,
        program: &Pubkey,
        filters: &[Filter],
    ) -> Result<Vec<(Pubkey, Account)>, ChainError>;
    /// The cluster's clock, unix seconds.
    async fn unix_time(&mut self) -> Result<i64, ChainError>;
    async fn minimum_balance(&mut self, len: usize) -> Result<u64, ChainError>;

    async fn account_data(&mut self, key: &Pubkey) -> Result<Vec<u8>, ChainError> {
        Ok(self.account(key).await?.map(|a| a.data).unwrap_or_default())
    }
}

/// Keeps the payer plus the signers the instructions ask for, once each.
pub fn required_signers<'a>(payer: &'a Keypair, ixs: &[Instruction], signers: &[&'a Keypair]) -> Vec<&'a Keypair> {
    use solana_signer::Signer;
    let required = |k: &Pubkey| ixs.iter().any(|ix| ix.accounts.iter().any(|m| m.is_signer && m.pubkey == *k));
    let mut keys: Vec<&Keypair> = vec![payer];
    for s in signers {
        if required(&s.pubkey()) && !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
            keys.push(s);
        }
    }
    keys
}
