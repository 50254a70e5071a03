//! The embedded chain's floor per transaction, shared by the keeper benchmarks.
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use client::chain::embedded::EmbeddedChain;
use client::chain::Chain;
use solana_signer::Signer;

/// Seconds per plain SOL transfer sent through `chain` (`EmbeddedChain::send`, the same
/// path and framework as every other transaction on it).
pub async fn transfer_floor(chain: &mut EmbeddedChain, n: u64) -> f64 {
    let payer = chain.payer().pubkey();
    let to = Pubkey::new_unique();
    chain.send(&[solana_system_interface::instruction::transfer(&payer, &to, 1_000_000)], &[]).await.expect("transfer");
    let t = Instant::now();
    for i in 0..n {
        chain
            .send(&[solana_system_interface::instruction::transfer(&payer, &to, 1_000_000 + i)], &[])
            .await
            .expect("transfer");
    }
    t.elapsed().as_secs_f64() / n.max(1) as f64
}
