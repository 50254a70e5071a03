//! The keypairs a run signs with, besides the chain's payer.
use std::path::PathBuf;

use solana_keypair::Keypair;

use crate::{config_err, MigrateError, MigrationConfig};

/// The keypairs a run signs with (besides the chain's payer).
pub struct Keys {
    /// Signs `initialize_exchange`: the `perpetual` program's upgrade authority.
    pub upgrade_authority: Keypair,
    pub admin: Keypair,
    /// Signs `create_price_oracle`; `None`: the admin.
    pub oracle_authority: Option<Keypair>,
}

impl Keys {
    /// From the config's keypair files; absent ones default to `payer`, then the admin.
    pub fn load(config: &MigrationConfig, payer: &Keypair) -> Result<Keys, MigrateError> {
        let read = |p: &PathBuf| client::cluster::read_keypair(p).map_err(config_err);
        let admin = match &config.exchange.admin_keypair {
            Some(p) => read(p)?,
            None => payer.insecure_clone(),
        };
        let upgrade_authority = match &config.exchange.upgrade_authority_keypair {
            Some(p) => read(p)?,
            None => payer.insecure_clone(),
        };
        let oracle_authority = config.exchange.oracle_authority_keypair.as_ref().map(read).transpose()?;
        Ok(Keys { upgrade_authority, admin, oracle_authority })
    }

    pub fn oracle_authority(&self) -> &Keypair {
        self.oracle_authority.as_ref().unwrap_or(&self.admin)
    }
}
