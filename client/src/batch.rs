//! Several independent instructions per transaction (the keeper's cranks): packed greedily
//! under the limits of a legacy transaction, and sent so that one refused instruction costs
//! the others nothing but a resend.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_transaction::Transaction;

use crate::chain::{Chain, ChainError};

/// A legacy transaction's size limit (the packet size less headers).
pub const MAX_TRANSACTION_BYTES: usize = 1_232;
/// Accounts one transaction may lock (program ids included).
pub const MAX_TRANSACTION_ACCOUNTS: usize = 64;

/// How many instructions a transaction may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many instructions per transaction (1: one each). Native runs do not
    /// meter compute units, so this is the operator's bound on a transaction's compute,
    /// set from the cluster's simulated cost of a crank.
    pub max_instructions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_instructions: 10 }
    }
}

/// The transaction `ixs` make with the compute-budget instructions every chain prefixes
/// (limit and price), as serialised: its size in bytes and its number of accounts.
pub fn measure(payer: &Pubkey, ixs: &[Instruction]) -> (usize, usize) {
    let mut all = vec![
        ComputeBudgetInstruction::set_compute_unit_limit(1_400_000),
        ComputeBudgetInstruction::set_compute_unit_price(u64::MAX),
    ];
    all.extend_from_slice(ixs);
    let tx = Transaction::new_with_payer(&all, Some(payer));
    let signers = usize::from(tx.message.header.num_required_signatures);
    // A short-vec length (one byte up to 127 signatures), then 64 bytes per signature.
    (1 + 64 * signers + tx.message_data().len(), tx.message.account_keys.len())
}

/// Groups `ixs`, in order, into transactions within `limits` and the size and account
/// limits of a legacy transaction. An instruction too large even alone gets its own group
/// (the chain refuses it, and only it).
pub fn pack(payer: &Pubkey, ixs: &[Instruction], limits: Limits) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = vec![];
    let mut current: Vec<usize> = vec![];
    for i in 0..ixs.len() {
        if !current.is_empty() && current.len() < limits.max_instructions.max(1) {
            let trial: Vec<Instruction> = current.iter().chain([&i]).map(|&j| ixs[j].clone()).collect();
            let (bytes, accounts) = measure(payer, &trial);
            if bytes <= MAX_TRANSACTION_BYTES && accounts <= MAX_TRANSACTION_ACCOUNTS {
                current.push(i);
                continue;
            }
        }
        if !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// What [`send_packed`] did: each instruction's outcome, in the order given, and the
/// transactions it took.
#[derive(Debug)]
pub struct Sent {
    pub outcomes: Vec<Result<(), ChainError>>,
    pub transactions: u32,
}

/// Sends `ixs` packed by [`pack`]. A transaction refused by one instruction (the chain
/// names it) is sent again without it, so every other instruction still lands once; that
/// instruction's outcome is the refusal. A failure that names no instruction (transport,
/// expiry) is the outcome of every instruction of that transaction.
pub async fn send_packed<C: Chain>(chain: &mut C, ixs: &[Instruction], signers: &[&Keypair], limits: Limits) -> Sent {
    let payer = chain.payer().insecure_clone();
    let mut outcomes: Vec<Option<Result<(), ChainError>>> = ixs.iter().map(|_| None).collect();
    let mut transactions = 0;
    for mut group in pack(&solana_signer::Signer::pubkey(&payer), ixs, limits) {
        while !group.is_empty() {
            let batch: Vec<Instruction> = group.iter().map(|&i| ixs[i].clone()).collect();
            transactions += 1;
            match chain.send(&batch, signers).await {
                Ok(_) => {
                    for &i in &group {
                        outcomes[i] = Some(Ok(()));
                    }
                    group.clear();
                }
                Err(e) => match e.failed_instruction().filter(|&at| at < group.len()) {
                    Some(at) => outcomes[group.remove(at)] = Some(Err(e)),
                    None => {
                        for &i in &group {
                            outcomes[i] = Some(Err(e.clone()));
                        }
                        group.clear();
                    }
                },
            }
        }
    }
    Sent { outcomes: outcomes.into_iter().map(|o| o.expect("every instruction was sent")).collect(), transactions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::AccountMeta;

    fn crank(unique_accounts: usize, shared: &[Pubkey], data: usize) -> Instruction {
        let mut accounts: Vec<AccountMeta> =
            (0..unique_accounts).map(|_| AccountMeta::new(Pubkey::new_unique(), false)).collect();
        accounts.extend(shared.iter().map(|k| AccountMeta::new_readonly(*k, false)));
        Instruction { program_id: perpetual::ID, accounts, data: vec![7; data] }
    }

    #[test]
    fn packs_in_order_and_each_group_is_full_within_the_limits() {
        let payer = Pubkey::new_unique();
        let shared = [Pubkey::new_unique(), Pubkey::new_unique()];
        // Mixed sizes: two to five accounts of their own, some shared.
        let ixs: Vec<Instruction> = (0..300).map(|i| crank(2 + i % 4, &shared[..i % 3], 8 + i % 9)).collect();
        for max in [1, 3, 10, 32] {
            let groups = pack(&payer, &ixs, Limits { max_instructions: max });
            let flat: Vec<usize> = groups.iter().flatten().copied().collect();
            assert_eq!(flat, (0..ixs.len()).collect::<Vec<_>>(), "every instruction once, in order");
            for (g, group) in groups.iter().enumerate() {
                let batch: Vec<Instruction> = group.iter().map(|&i| ixs[i].clone()).collect();
                let (bytes, accounts) = measure(&payer, &batch);
                assert!(group.len() <= max && bytes <= MAX_TRANSACTION_BYTES && accounts <= MAX_TRANSACTION_ACCOUNTS);
                // Full: the next instruction would not have fitted.
                if let Some(&next) = groups.get(g + 1).map(|n| &n[0]) {
                    let mut more = batch.clone();
                    more.push(ixs[next].clone());
                    let (bytes, accounts) = measure(&payer, &more);
                    assert!(
                        more.len() > max || bytes > MAX_TRANSACTION_BYTES || accounts > MAX_TRANSACTION_ACCOUNTS,
                        "group {g} of {max} could have taken instruction {next}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_measure_is_the_signed_transaction_size() {
        use solana_signer::Signer;
        let payer = Keypair::new();
        let ixs = [crank(3, &[], 9), crank(4, &[], 17)];
        let mut all = vec![
            ComputeBudgetInstruction::set_compute_unit_limit(1_400_000),
            ComputeBudgetInstruction::set_compute_unit_price(u64::MAX),
        ];
        all.extend_from_slice(&ixs);
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &[&payer], Default::default());
        let wire = bincode::serialize(&tx).expect("a transaction serialises").len();
        assert_eq!(measure(&payer.pubkey(), &ixs), (wire, tx.message.account_keys.len()));
    }

    #[test]
    fn an_instruction_too_large_alone_gets_its_own_group() {
        let payer = Pubkey::new_unique();
        let ixs = vec![crank(2, &[], 8), crank(40, &[], 8), crank(2, &[], 8)];
        let groups = pack(&payer, &ixs, Limits::default());
        assert_eq!(groups, vec![vec![0], vec![1], vec![2]]);
    }
}
