//! `vchain-node`: run a vchain node from a config file, or a ready-made dev node.
//!
//! The program is its own crate so that the node library stays free of what only `dev` needs
//! (demo keys, keystores and certificate making, in `vchain-devnet`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "vchain-node",
    version,
    about = "A vchain node: digital debt vouchers on a permissioned chain"
)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node from its config file.
    Run {
        /// Path of the node's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Create (first time) and run a single dev node with demo identities and clock control.
    Dev {
        /// Data directory for keys, genesis, config and ledger.
        #[arg(long, default_value = ".vchain-dev")]
        data_dir: PathBuf,
        /// gRPC listen address.
        #[arg(long, default_value = "127.0.0.1:7050")]
        grpc_listen: SocketAddr,
        /// Delete the data directory first and start a fresh chain.
        #[arg(long)]
        reset: bool,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: a log file or pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn wait_for_signal() -> anyhow::Result<&'static str> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => { result.context("waiting for ctrl-c")?; Ok("SIGINT") }
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let config = match cli.command {
        Command::Run { config } => vchain_node::config::NodeConfig::load(&config)
            .with_context(|| format!("loading {}", config.display()))?,
        Command::Dev {
            data_dir,
            grpc_listen,
            reset,
        } => {
            let now = vchain_node::clock::ChainClock::default().now_ms();
            let config = vchain_devnet::prepare(&data_dir, grpc_listen, reset, now)?;
            let genesis = vchain_node::load_genesis(&config.genesis)?;
            println!(
                "{}",
                vchain_devnet::describe(&data_dir, &genesis, grpc_listen)
            );
            config
        }
    };
    let node = vchain_node::start(config).await?;
    let chain = node.chain.clone();
    tokio::select! {
        signal = wait_for_signal() => tracing::info!(signal = signal?, "stop requested"),
        _ = async {
            while !chain.is_stopping() {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        } => tracing::error!("the chain stopped itself; see the error above"),
    }
    node.shutdown().await?;
    if chain.has_failed() {
        anyhow::bail!("node stopped on an error: {}", chain.failure());
    }
    Ok(())
}
