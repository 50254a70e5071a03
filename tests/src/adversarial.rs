//! Refusal checks: a bad instruction must fail with a named error and leave every
//! account it names byte-for-byte as it was.
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::env::{custom_code, TestEnv};

/// Every account named by `ixs` except the fee payer: (key, lamports, owner, data).
async fn snapshot(env: &mut TestEnv, ixs: &[Instruction]) -> Vec<(Pubkey, Option<(u64, Pubkey, Vec<u8>)>)> {
    let payer = env.ctx.payer.pubkey();
    let mut keys: Vec<Pubkey> = ixs.iter().flat_map(|ix| ix.accounts.iter().map(|m| m.pubkey)).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys.into_iter().filter(|k| *k != payer) {
        let a = env.account(&k).await.map(|a| (a.lamports, a.owner, a.data));
        out.push((k, a));
    }
    out
}

/// Sends `ixs`, expects custom error `expected`, and checks no named account changed.
pub async fn assert_refused(env: &mut TestEnv, ixs: &[Instruction], signers: &[&Keypair], expected: u32, what: &str) {
    let before = snapshot(env, ixs).await;
    let err = match env.process(ixs, signers).await {
        Ok(_) => panic!("{what}: transaction unexpectedly succeeded"),
        Err(e) => e,
    };
    assert_eq!(custom_code(&err), Some(expected), "{what}: wrong error {err:?}");
    let after = snapshot(env, ixs).await;
    assert_eq!(before, after, "{what}: state changed although refused");
}

/// `ix` with the account at `index` replaced by `key` (signer and writable flags kept).
pub fn with_account(ix: &Instruction, index: usize, key: Pubkey) -> Instruction {
    let mut ix = ix.clone();
    ix.accounts[index].pubkey = key;
    ix
}

/// `ix` with the account at `index` no longer marked as a signer.
pub fn unsigned(ix: &Instruction, index: usize) -> Instruction {
    let mut ix = ix.clone();
    ix.accounts[index].is_signer = false;
    ix
}

/// `ix` with extra accounts appended.
pub fn with_extra(ix: &Instruction, extra: Vec<AccountMeta>) -> Instruction {
    let mut ix = ix.clone();
    ix.accounts.extend(extra);
    ix
}

/// Position of the account named `key` in `ix`.
pub fn index_of(ix: &Instruction, key: &Pubkey) -> usize {
    ix.accounts.iter().position(|m| m.pubkey == *key).expect("account in instruction")
}

/// `assert_refused`, after a simulation has shown that `program` raised the error (the
/// first program to fail in the logs): perpetual and the order book number their errors
/// from 6000 alike, so an exact code is exact only with the program that returned it.
pub async fn assert_refused_by(
    env: &mut TestEnv,
    ixs: &[Instruction],
    signers: &[&Keypair],
    expected: u32,
    program: &Pubkey,
    what: &str,
) {
    let (res, logs) = env.simulate_with_logs(ixs, signers).await;
    let err = res.err().unwrap_or_else(|| panic!("{what}: simulation unexpectedly succeeded"));
    assert_eq!(custom_code(&err), Some(expected), "{what}: wrong error {err:?}");
    let raised_by = crate::env::failing_program(&logs);
    assert_eq!(
        raised_by.as_ref(),
        Some(program),
        "{what}: error {expected} raised by another program:\n  {}",
        logs.join("\n  ")
    );
    assert_refused(env, ixs, signers, expected, what).await;
}
