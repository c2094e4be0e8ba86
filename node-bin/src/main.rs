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
    /// Take a consistent backup of the running node of this config, without stopping it, into
    /// a new directory: a copy of the ledger at its head and `manifest.json` (height, block
    /// hash, state root, every file's SHA-256). Asks the node through its admin socket
    /// (`<data_dir>/admin.sock`).
    Backup {
        /// Path of the node's TOML config (for its data directory).
        #[arg(long)]
        config: PathBuf,
        /// The directory to create (on the ledger's filesystem the copy is hard links).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into the data directory of this config (the node stopped, the data
    /// directory without a ledger). Checks the manifest, every file's digest, the head and the
    /// state root before it writes anything. The node's consensus state is never restored:
    /// restore under a new node id the consortium adds, or with --as-follower under the same id.
    Restore {
        /// Path of the node's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// The backup directory (`vchain-node backup --out`).
        #[arg(long)]
        backup: PathBuf,
        /// Restore under the node id the backup was taken from, as a node that follows the
        /// chain and never votes.
        #[arg(long)]
        as_follower: bool,
    },
}

/// Exit status of a backup or restore that was refused (a check failed), as opposed to 1 for
/// anything else.
const EXIT_REFUSED: i32 = 3;

async fn backup(config: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let config = vchain_node::config::NodeConfig::load(config)
        .with_context(|| format!("loading {}", config.display()))?;
    let socket = vchain_node::admin::socket_path(&config.data_dir);
    match vchain_node::admin::request_backup(&socket, out).await {
        Ok(taken) => {
            println!(
                "backup of height {} (block {}, state root {}): {} files, {} bytes, in {} ms\nmanifest: {}",
                taken.height,
                hex::encode(&taken.block_hash),
                hex::encode(&taken.state_root),
                taken.files,
                taken.bytes,
                taken.took_ms,
                taken.manifest_path
            );
            Ok(())
        }
        Err(error) => {
            eprintln!("backup failed: {error}");
            std::process::exit(EXIT_REFUSED);
        }
    }
}

fn restore(
    config: &std::path::Path,
    backup: &std::path::Path,
    as_follower: bool,
) -> anyhow::Result<()> {
    let config = vchain_node::config::NodeConfig::load(config)
        .with_context(|| format!("loading {}", config.display()))?;
    let options = vchain_node::backup::RestoreOptions { as_follower };
    match vchain_node::backup::restore(&config, backup, options) {
        Ok(report) => {
            println!(
                "restored height {} (block {}, state root {}) of chain {} from node {}: checked in {} ms, copied in {} ms{}",
                report.manifest.height,
                report.manifest.block_hash,
                report.manifest.state_root,
                report.manifest.chain_id,
                report.manifest.node_id,
                report.checked_in.as_millis(),
                report.copied_in.as_millis(),
                if report.as_follower {
                    "; this node will follow the chain and never vote"
                } else if report.manifest.node_id == config.node_id {
                    "; this solo chain produces blocks again from the backup's head"
                } else {
                    "; start the node once the consortium has added it"
                }
            );
            Ok(())
        }
        Err(error) => {
            eprintln!("restore refused [{}]: {error}", error.code());
            std::process::exit(EXIT_REFUSED);
        }
    }
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
        Command::Backup { config, out } => return backup(&config, &out).await,
        Command::Restore {
            config,
            backup,
            as_follower,
        } => return tokio::task::block_in_place(|| restore(&config, &backup, as_follower)),
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
