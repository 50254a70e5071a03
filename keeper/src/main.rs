//! `keeper`: command-line entry points. `keeper simulate` (feature `simulate`) runs the
//! whole exchange on the embedded chain; the other commands run the keeper's loops against
//! a cluster.
#[cfg(feature = "simulate")]
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "keeper", about = "Keeper bot for the perpetual exchange, and its embedded simulation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the exchange on the embedded chain with every keeper loop and checks the invariants.
    #[cfg(feature = "simulate")]
    Simulate {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated minutes.
        #[arg(long, default_value_t = 180)]
        minutes: u32,
        /// SOL's price path: the default run, a 35% crash or rally over 5 minutes, or a one-minute
        /// 60% spike of the oracle alone.
        #[arg(long, value_enum, default_value_t = keeper::sim::Scenario::Default)]
        scenario: keeper::sim::Scenario,
        /// Where to write the JSON report.
        #[arg(long, default_value = "simulation-report.json")]
        report: PathBuf,
        /// Where to write the SVG chart.
        #[arg(long, default_value = "simulation-chart.svg")]
        chart: PathBuf,
        /// Where the programs' log lines (natively they print to stdout) and the keeper's
        /// own go.
        #[arg(long, default_value = "simulation-programs.log")]
        program_log: PathBuf,
        /// Show those log lines on the terminal instead.
        #[arg(long)]
        verbose: bool,
    },
    /// Without the `simulate` feature: says how to build the simulation.
    #[cfg(not(feature = "simulate"))]
    #[command(hide = true)]
    Simulate {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Serves the programs on a local JSON-RPC endpoint (the embedded chain), empty or with
    /// the exchange and markets of a `migrations` config; stops on Ctrl-C.
    #[cfg(feature = "localnet")]
    Localnet {
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8899")]
        listen: std::net::SocketAddr,
        /// Wall-clock milliseconds per slot (0: slots move only on demand).
        #[arg(long, default_value_t = 400)]
        slot_ms: u64,
        /// A `migrations` config to apply once the endpoint is up (its collateral mint is
        /// created when absent, minted by the config's payer).
        #[arg(long, value_name = "PATH")]
        migrate: Option<std::path::PathBuf>,
    },
    /// Runs the keeper's loops against a cluster (see keeper.example.toml).
    Run {
        #[command(flatten)]
        config: keeper::config::ConfigArgs,
        /// Run each enabled loop once and exit.
        #[arg(long)]
        once: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "keeper=info,error".into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    // The simulation's own log lines (expected refusals) join the programs' in its log file:
    // standard output, which it redirects while it runs. The terminal keeps the progress
    // bar and the summary.
    if logs_with_programs(&cli.command) {
        fmt.with_writer(std::io::stdout).with_ansi(false).init();
    } else {
        fmt.with_writer(std::io::stderr).init();
    }
    match cli.command {
        Command::Run { config, once } => match run_cluster(config, once).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keeper: {e}");
                ExitCode::FAILURE
            }
        },
        #[cfg(feature = "localnet")]
        Command::Localnet { listen, slot_ms, migrate } => {
            match keeper::localnet::start(listen, slot_ms, migrate.as_deref()).await {
                Ok(net) => {
                    println!("localnet: JSON-RPC on {} (Ctrl-C stops it)", net.url());
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = net.stopped() => {}
                    }
                    net.stop().await;
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("keeper localnet: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(not(feature = "simulate"))]
        Command::Simulate { .. } => {
            eprintln!(
                "keeper: built without the simulation; run it with \
                 `cargo run --release --locked -p keeper --features simulate -- simulate`"
            );
            ExitCode::FAILURE
        }
        #[cfg(feature = "simulate")]
        Command::Simulate { seed, minutes, scenario, report, chart, program_log, verbose } => {
            let cfg = keeper::sim::SimConfig { seed, minutes, progress: true, scenario };
            let redirect = if verbose {
                None
            } else {
                match keeper::sim::stdout::Redirect::to(&program_log) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        eprintln!("writing {}: {e}", program_log.display());
                        return ExitCode::FAILURE;
                    }
                }
            };
            let result = keeper::sim::run(&cfg).await;
            drop(redirect);
            if !verbose {
                println!("program logs: {}", program_log.display());
            }
            match result {
                Ok(r) => {
                    print!("{}", r.summary());
                    let json = serde_json::to_string_pretty(&r).expect("report serializes");
                    if let Err(e) = std::fs::write(&report, json + "\n") {
                        eprintln!("writing {}: {e}", report.display());
                        return ExitCode::FAILURE;
                    }
                    if let Err(e) = std::fs::write(&chart, keeper::sim::chart::svg(&r.series, &r.insurance)) {
                        eprintln!("writing {}: {e}", chart.display());
                        return ExitCode::FAILURE;
                    }
                    println!("report: {}\nchart: {}", report.display(), chart.display());
                    if r.invariants_ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("simulation failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(feature = "simulate")]
fn logs_with_programs(command: &Command) -> bool {
    matches!(command, Command::Simulate { verbose: false, .. })
}

#[cfg(not(feature = "simulate"))]
fn logs_with_programs(_: &Command) -> bool {
    false
}

async fn run_cluster(args: keeper::config::ConfigArgs, once: bool) -> Result<(), String> {
    let cfg = args.load().map_err(|e| e.to_string())?;
    let keeper = cfg.cluster.read_keypair().map_err(|e| e.to_string())?;
    let mut chain = cfg.cluster.rpc_chain().map_err(|e| e.to_string())?;
    let metrics = keeper::metrics::Metrics::new();
    let _exporter = match cfg.metrics.target().map_err(|e| e.to_string())? {
        Some(target) => Some(
            metrics
                .export(&target, std::time::Duration::from_secs(cfg.metrics.write_interval_secs))
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    keeper::runner::run_until(&mut chain, &cfg, &keeper, &metrics, once, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C (SIGINT), or SIGTERM (what service managers send). On Unix the handlers are
/// installed now, before the first crank, so a signal that arrives mid-crank does not get
/// the default (killing) action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (int, term) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
