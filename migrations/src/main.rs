//! `migrate`: initialise an exchange on a cluster from a TOML file (see README.md).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use client::cluster::Commitment;
use migrations::{migrate, Keys, MigrationConfig, Options};

/// Creates (or verifies) the exchange, its authorities, the listing deposit, the trader
/// approvals, the oracles, the markets and their books. Running it twice changes nothing.
#[derive(Parser, Debug)]
#[command(name = "migrate", version)]
struct Cli {
    /// The migration file (see migrations/migrate.example.toml)
    #[arg(long, short, value_name = "PATH", default_value = "migrate.toml")]
    config: PathBuf,
    /// Cluster JSON-RPC URL (overrides [cluster].rpc_url and $KEEPER_RPC_URL)
    #[arg(long, value_name = "URL")]
    rpc_url: Option<String>,
    /// Payer keypair file (overrides [cluster].keypair and $KEEPER_KEYPAIR)
    #[arg(long, value_name = "PATH")]
    keypair: Option<PathBuf>,
    /// processed, confirmed or finalized
    #[arg(long, value_name = "LEVEL")]
    commitment: Option<Commitment>,
    /// Priority fee, micro-lamports per compute unit
    #[arg(long, value_name = "MICRO_LAMPORTS")]
    priority_fee: Option<u64>,
    /// Read and compare only: print what would be done, send nothing
    #[arg(long)]
    dry_run: bool,
    /// Also write the report as JSON
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
}

async fn run(cli: Cli) -> Result<bool, Box<dyn std::error::Error>> {
    let mut config = MigrationConfig::load(&cli.config)?;
    config.cluster.apply_env(&|k| std::env::var(k).ok())?;
    if let Some(v) = cli.rpc_url {
        config.cluster.rpc_url = v;
    }
    if let Some(v) = cli.keypair {
        config.cluster.keypair = v;
    }
    if let Some(v) = cli.commitment {
        config.cluster.commitment = v;
    }
    if let Some(v) = cli.priority_fee {
        config.cluster.priority_fee_micro_lamports = v;
    }
    let mut chain = config.cluster.rpc_chain()?;
    let keys = {
        use client::chain::Chain;
        Keys::load(&config, chain.payer())?
    };
    tracing::info!(url = %config.cluster.rpc_url, dry_run = cli.dry_run, "migrating");
    let report = migrate(&mut chain, &config, &keys, Options { dry_run: cli.dry_run }).await?;
    print!("{}", report.render());
    if let Some(path) = cli.report {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    }
    let conflicts = report.conflicts();
    for c in &conflicts {
        eprintln!("conflict: {} {}: {:?}", c.object, c.address, c.outcome);
    }
    Ok(conflicts.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("migrate: {e}");
            ExitCode::FAILURE
        }
    }
}
