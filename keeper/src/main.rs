//! `keeper`: command-line entry points.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "keeper", about = "Keeper bot and embedded-chain runs for the perpetual exchange")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scripted session on the embedded chain and checks the invariants.
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "keeper=info,error".into()))
        .init();
    match Cli::parse().command {
        Command::Demo => match keeper::demo::run().await {
            Ok(report) => {
                for line in &report.lines {
                    println!("{line}");
                }
                println!("invariants_ok: {}", report.invariants_ok);
                if report.invariants_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(e) => {
                eprintln!("demo failed: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
