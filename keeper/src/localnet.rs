//! `keeper localnet`: the programs on a local JSON-RPC endpoint (the embedded chain behind
//! `client::localnet`), empty or with the exchange and markets of a `migrations` config,
//! for wallets, TypeScript clients, keepers and end-to-end tests.
use std::net::SocketAddr;
use std::path::Path;

use anchor_lang::prelude::Pubkey;
use client::chain::Chain;
use client::harness;
use client::localnet::{Localnet, LocalnetOptions};
use migrations::{migrate, Keys, MigrationConfig, Options};
use solana_account::Account;
use solana_program_pack::Pack;
use solana_signer::Signer;

/// Lamports each key of the migration gets from the faucet.
const AIRDROP: u64 = 1_000_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum LocalnetCommandError {
    #[error(transparent)]
    Localnet(#[from] client::localnet::LocalnetError),
    #[error("migration: {0}")]
    Migrate(#[from] migrations::MigrateError),
    #[error("configuration: {0}")]
    Config(#[from] client::cluster::ConfigError),
    #[error("chain: {0}")]
    Chain(#[from] client::chain::ChainError),
}

/// Starts a localnet at `listen`, `perpetual` deployed by the harness's published key
/// (`harness::deployer`); with `migrate`, deployed by the config's upgrade authority instead,
/// creates the config's collateral mint (its authority is the config's payer) when absent,
/// funds the config's keys and migrates.
pub async fn start(
    listen: SocketAddr,
    slot_ms: u64,
    migrate_config: Option<&Path>,
) -> Result<Localnet, LocalnetCommandError> {
    let net =
        Localnet::start(LocalnetOptions { addr: listen, slot_ms }, || harness::program_test(harness::EXCHANGE)).await?;
    if let Some(path) = migrate_config {
        let mut config = MigrationConfig::load(path)?;
        config.cluster.rpc_url = net.url();
        let mut chain = config.cluster.rpc_chain()?;
        let payer = chain.payer().insecure_clone();
        let keys = Keys::load(&config, &payer)?;
        let mut funded = vec![];
        for key in [payer.pubkey(), keys.admin.pubkey(), keys.oracle_authority().pubkey()] {
            if !funded.contains(&key) {
                net.airdrop(&key, AIRDROP).await.map_err(rpc)?;
                funded.push(key);
            }
        }
        // Deployed by the config's upgrade authority, as `solana program deploy` by that key.
        let (program_data, deployed) =
            harness::program_data_account(&perpetual::ID, Some(keys.upgrade_authority.pubkey()));
        net.set_account(&program_data, &deployed).await.map_err(rpc)?;
        let mint = config.exchange.collateral_mint;
        if chain.account(&mint).await?.is_none() {
            create_mint(&net, &mint, &payer.pubkey()).await?;
        }
        let report = migrate(&mut chain, &config, &keys, Options::default()).await?;
        print!("{}", report.render());
    }
    Ok(net)
}

fn rpc(e: client::localnet::ErrorObjectOwned) -> client::chain::ChainError {
    client::chain::ChainError::Rpc(e.message().to_string())
}

/// Writes an SPL Token mint (6 decimals, `authority` mints) at `mint`, whose keypair a
/// deployment config does not carry.
async fn create_mint(net: &Localnet, mint: &Pubkey, authority: &Pubkey) -> Result<(), LocalnetCommandError> {
    use spl_token_interface::state::Mint;
    let state = Mint {
        mint_authority: Some(*authority).into(),
        supply: 0,
        decimals: 6,
        is_initialized: true,
        freeze_authority: None.into(),
    };
    let mut data = vec![0u8; Mint::LEN];
    Mint::pack(state, &mut data).map_err(|e| client::chain::ChainError::Rpc(e.to_string()))?;
    let account =
        Account { lamports: 1_000_000_000, data, owner: spl_token_interface::ID, executable: false, rent_epoch: 0 };
    net.set_account(mint, &account).await.map_err(rpc)?;
    Ok(())
}
