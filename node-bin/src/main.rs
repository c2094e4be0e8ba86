//! `vchain-node`: run a vchain node from a config file, or a ready-made dev node.
//!
//! The program is its own crate so that the node library stays free of what only `dev` needs
//! (demo keys, keystores and certificate making, in `vchain-devnet`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// jemalloc, not glibc's malloc: under load glibc spent about a third of the block producer's
/// time in `malloc` and `free` (fragmented arenas searched on every allocation; issue 16,
/// docs/benchmarks.md "jemalloc"). The node allocates per block, per transaction and per
/// message on several threads, the pattern jemalloc's per-thread caches are built for.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Print this node's network key: `public_key=<hex>` (what `vchain ca issue --public-key`
    /// and `vchain consensus add-node --public-key` take) and `peer_id=<libp2p id>`, as shell
    /// assignments (`eval "$(vchain-node node-key --config node.toml)"`). Creates the key, as
    /// the first start would, if the data directory has none yet.
    NodeKey {
        /// Path of the node's TOML config (for its data directory).
        #[arg(long)]
        config: PathBuf,
    },
    /// Archive old blocks of the running node of this config: move them out of its ledger into
    /// segment files in its archive directory (`archive_dir`, or `<data_dir>/archive`), from
    /// which it keeps serving them (traces, history, peers catching up). Full history stays in
    /// the ledger unless this is run. Asks the node through its admin socket.
    Archive {
        /// Path of the node's TOML config (for its data directory).
        #[arg(long)]
        config: PathBuf,
        /// Archive the blocks below this height (genesis and the head are never archived).
        #[arg(
            long,
            conflicts_with = "keep_recent",
            required_unless_present = "keep_recent"
        )]
        below: Option<u64>,
        /// Archive all but the newest this many blocks (at most a million per run: run it
        /// again, e.g. from a timer, for the rest).
        #[arg(long)]
        keep_recent: Option<u64>,
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

/// Exit status of a backup, archive or restore that was refused (a check failed), as opposed to 1 for
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

async fn archive(
    config: &std::path::Path,
    below: Option<u64>,
    keep_recent: Option<u64>,
) -> anyhow::Result<()> {
    let config = vchain_node::config::NodeConfig::load(config)
        .with_context(|| format!("loading {}", config.display()))?;
    let socket = vchain_node::admin::socket_path(&config.data_dir);
    let range = match (below, keep_recent) {
        (Some(height), _) => vchain_node::admin::ArchiveRange::Below(height),
        (None, blocks) => vchain_node::admin::ArchiveRange::KeepRecent(blocks.unwrap_or(0)),
    };
    match vchain_node::admin::request_archive(&socket, range).await {
        Ok(archived) => {
            println!(
                "archived blocks {} to {} ({} bytes of blocks) into {} in {} ms",
                archived.from_height,
                archived.below_height.saturating_sub(1),
                archived.block_bytes,
                archived.archive_dir,
                archived.took_ms
            );
            for segment in &archived.segments {
                println!(
                    "  {} heights {}..={} {} bytes sha256 {}",
                    segment.file_name,
                    segment.first_height,
                    segment.last_height,
                    segment.bytes,
                    hex::encode(&segment.sha256)
                );
            }
            Ok(())
        }
        Err(error) => {
            eprintln!("archive failed: {error}");
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
        Command::NodeKey { config } => {
            let config = vchain_node::config::NodeConfig::load(&config)
                .with_context(|| format!("loading {}", config.display()))?;
            let key = vchain_node::network::NodeKey::load_or_create(&config.data_dir)
                .with_context(|| format!("the node key in {}", config.data_dir.display()))?;
            println!(
                "public_key={}\npeer_id={}",
                key.public_key_hex(),
                key.peer_id()
            );
            return Ok(());
        }
        Command::Archive {
            config,
            below,
            keep_recent,
        } => return archive(&config, below, keep_recent).await,
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
