//! `vchain-testnet`: a local consortium on loopback. `up --nodes 4` creates keys, a Raft
//! genesis, the demo parties and one config per node under a directory, starts each node as its
//! own process, waits for a leader and prints every node's gRPC endpoint. `status`, `stop N`,
//! `start N`, `kill N` (SIGKILL) and `down` act on the running network; `usage` shows each
//! node's memory and disk by what holds them, and `soak-report` judges a soak run's samples
//! (`scripts/soak.sh`). `init --hosts A,B,C,D` writes the same kind of testnet for nodes that
//! run elsewhere (containers, other machines) and starts nothing (`init.rs`).
//!
//! Each node process is this same binary in its hidden `run-node` mode, so the testnet needs
//! nothing but itself. Logs are in `<dir>/node-N/node.log`, process ids in `<dir>/node-N/pid`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use vchain_node::config::NodeConfig;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::{GetStatusRequest, GetStatusResponse};

mod init;

/// The node program's allocator (`vchain-node` uses jemalloc): each testnet node is this binary
/// in its `run-node` mode, so with glibc's malloc the testnet measured another program than
/// the one users run (glibc's `free` and chunk merging were about a fifth of each block
/// producer's samples under load; issue 16, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Most nodes a local testnet runs.
const NODES_MAX: usize = 16;
/// How long `up` and `start` wait for a leader.
const LEADER_WAIT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(
    name = "vchain-testnet",
    version,
    about = "Run a local vchain consortium on loopback"
)]
struct Cli {
    /// Directory of the testnet.
    #[arg(long, global = true, default_value = ".vchain-testnet")]
    dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a fresh testnet (replacing any in --dir) and start every node.
    Up {
        /// Number of consensus nodes.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// The consensus engine genesis chooses: `raft` (crash faults) or `pbft` (Byzantine
        /// faults: 4 nodes tolerate 1 that lies).
        #[arg(long, default_value = "raft", value_parser = ["raft", "pbft"])]
        consensus: String,
        /// A TOML file whose keys replace those of every node's config (e.g. a `[storage]`
        /// budget); the result is validated before any node starts.
        #[arg(long)]
        config_overlay: Option<PathBuf>,
    },
    /// Write a testnet's files for nodes on other hosts (containers, machines) and start
    /// nothing: keys, certificates, genesis and demo parties as `up` makes them, and per node
    /// a self-contained directory (`config.toml`, `genesis.toml`, `node_key`) whose config
    /// listens on all interfaces and dials its peers at the addresses given.
    Init {
        /// Each node's address as its peers reach it, node 1 first, comma-separated: IPv4
        /// addresses (e.g. fixed container addresses), or DNS names, which must be resolved in
        /// the config before the node starts (its transport dials addresses only; the image's
        /// `vchain-resolve-peers` does it). One node per host.
        #[arg(long, value_delimiter = ',', required = true)]
        hosts: Vec<String>,
        /// The consensus engine genesis chooses: `raft` or `pbft`.
        #[arg(long, default_value = "raft", value_parser = ["raft", "pbft"])]
        consensus: String,
        /// Port of the gRPC API on every node.
        #[arg(long, default_value_t = 7050)]
        grpc_port: u16,
        /// Port of the peer-to-peer network on every node.
        #[arg(long, default_value_t = 7100)]
        p2p_port: u16,
        /// Port of the metrics and health endpoints (`[metrics] listen`) on every node.
        #[arg(long, default_value_t = 9100)]
        metrics_port: u16,
        /// The data directory on the nodes' hosts (absolute).
        #[arg(long, default_value = "/data")]
        data_dir: PathBuf,
    },
    /// Height, leader and state root of every node.
    Status,
    /// Memory and disk use of every running node, by what holds it.
    Usage {
        /// One CSV line per node (no header), for soak runs to append to a file.
        #[arg(long)]
        csv: bool,
    },
    /// Judge a soak run's samples (`usage --csv` lines): every part within its node's
    /// configured bound, memory levelling off, disk proportional to the stored blocks.
    SoakReport {
        /// The samples.
        samples: PathBuf,
        /// Largest rise allowed from the middle third of the run to the last, percent.
        #[arg(long, default_value_t = 10)]
        growth_percent_max: u64,
    },
    /// Stop node N gracefully (SIGTERM).
    Stop {
        /// Node number, from 1.
        node: usize,
    },
    /// Start node N again.
    Start {
        /// Node number, from 1.
        node: usize,
    },
    /// Kill node N at once (SIGKILL), as a crash would.
    Kill {
        /// Node number, from 1.
        node: usize,
    },
    /// Stop every node.
    Down,
    /// Run one node in this process (used by the testnet itself).
    #[command(hide = true)]
    RunNode {
        /// Config file.
        #[arg(long)]
        config: PathBuf,
    },
}

fn node_dir(dir: &Path, node: usize) -> PathBuf {
    dir.join(format!("node-{node}"))
}

fn node_count(dir: &Path) -> usize {
    (1..=NODES_MAX)
        .take_while(|n| node_dir(dir, *n).join("config.toml").exists())
        .count()
}

fn pid_of(dir: &Path, node: usize) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(node_dir(dir, node).join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // Alive if /proc knows it and it is not a zombie.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit(')').next()?.split_whitespace().next()?;
    (state != "Z").then_some(pid)
}

fn spawn_node(dir: &Path, node: usize) -> anyhow::Result<u32> {
    if let Some(pid) = pid_of(dir, node) {
        bail!("node {node} is already running (pid {pid})");
    }
    let node_dir = node_dir(dir, node);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_dir.join("node.log"))?;
    let child = Command::new(std::env::current_exe()?)
        .args(["run-node", "--config"])
        .arg(node_dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting node {node}"))?;
    std::fs::write(node_dir.join("pid"), child.id().to_string())?;
    Ok(child.id())
}

fn signal(dir: &Path, node: usize, signal: &str) -> anyhow::Result<()> {
    let pid = pid_of(dir, node).with_context(|| format!("node {node} is not running"))?;
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()?;
    if !status.success() {
        bail!("kill {signal} {pid} failed");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while pid_of(dir, node).is_some() {
        if Instant::now() > deadline {
            bail!("node {node} (pid {pid}) did not stop within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(node_dir(dir, node).join("pid"));
    Ok(())
}

fn config_of(dir: &Path, node: usize) -> anyhow::Result<NodeConfig> {
    Ok(NodeConfig::load(&node_dir(dir, node).join("config.toml"))?)
}

async fn node_status(config: &NodeConfig) -> Option<GetStatusResponse> {
    let endpoint = format!("http://{}", config.grpc_listen);
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .ok()?
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await
        .ok()?;
    let mut client = VchainApiClient::new(channel);
    tokio::time::timeout(
        Duration::from_secs(2),
        client.get_status(GetStatusRequest {}),
    )
    .await
    .ok()?
    .ok()
    .map(|r| r.into_inner())
}

/// Waits until every running node names the same leader.
async fn wait_for_leader(dir: &Path) -> anyhow::Result<String> {
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        let mut leaders = Vec::new();
        for node in 1..=node_count(dir) {
            if pid_of(dir, node).is_some() {
                leaders.push(
                    node_status(&config_of(dir, node)?)
                        .await
                        .map(|s| s.leader)
                        .unwrap_or_default(),
                );
            }
        }
        if let Some(first) = leaders.first() {
            if !first.is_empty() && leaders.iter().all(|l| l == first) {
                return Ok(first.clone());
            }
        }
        if Instant::now() > deadline {
            bail!(
                "no leader agreed within {} s (see the node.log files)",
                LEADER_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Merges `overlay` into `base`: tables recursively, any other value replaced.
fn merge_toml(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(overlay)) => {
                merge_toml(base, overlay)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Applies the overlay file to every node's config and validates the result.
fn overlay_configs(dir: &Path, overlay: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(overlay)
        .with_context(|| format!("reading {}", overlay.display()))?;
    let overlay: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", overlay.display()))?;
    for node in 1..=node_count(dir) {
        let path = node_dir(dir, node).join("config.toml");
        let mut config: toml::Table = toml::from_str(&std::fs::read_to_string(&path)?)?;
        merge_toml(&mut config, overlay.clone());
        std::fs::write(&path, toml::to_string_pretty(&config)?)?;
        NodeConfig::load(&path)
            .with_context(|| format!("node {node}'s config with the overlay"))?;
    }
    Ok(())
}

async fn print_usage(dir: &Path, csv: bool) -> anyhow::Result<()> {
    use vchain_testnet::soak::{data_dir_bytes, Sample};
    let mebi = |bytes: u64| format!("{:.1}", bytes as f64 / (1u64 << 20) as f64);
    if !csv {
        println!(
            "{:<8} {:>8} {:>9} {:>9} {:>8} {:>9} {:>8} {:>7} {:>8} {:>8} {:>9} {:>10}",
            "node",
            "height",
            "resident",
            "cons.log",
            "mempool",
            "memtables",
            "cache",
            "wal",
            "tables",
            "blocks",
            "data dir",
            "checkpoint"
        );
    }
    for node in 1..=node_count(dir) {
        let config = config_of(dir, node)?;
        if pid_of(dir, node).is_none() {
            continue;
        }
        let Some(status) = node_status(&config).await else {
            continue;
        };
        let sample = Sample {
            at_ms: vchain_node::clock::ChainClock::default().now_ms(),
            node: config.node_id.clone(),
            height: status.height,
            usage: status.resources.unwrap_or_default(),
            data_dir_bytes: data_dir_bytes(&config.data_dir),
        };
        if csv {
            println!("{}", sample.to_csv());
            continue;
        }
        let u = &sample.usage;
        println!(
            "{:<8} {:>8} {:>9} {:>9} {:>8} {:>9} {:>8} {:>7} {:>8} {:>8} {:>9} {:>10}",
            sample.node,
            sample.height,
            mebi(u.resident_bytes),
            mebi(u.consensus_log_bytes),
            mebi(u.mempool_bytes),
            mebi(u.memtable_bytes),
            mebi(u.block_cache_bytes),
            mebi(u.wal_bytes),
            mebi(u.table_bytes),
            mebi(u.block_bytes),
            mebi(sample.data_dir_bytes),
            u.checkpoint_log_index
        );
    }
    if !csv {
        println!("(MiB; checkpoint = log index of the newest checkpoint)");
    }
    Ok(())
}

fn soak_report(dir: &Path, samples: &Path, growth_percent_max: u64) -> anyhow::Result<bool> {
    use vchain_testnet::soak::{judge, read_samples, Allowed};
    let text = std::fs::read_to_string(samples)
        .with_context(|| format!("reading {}", samples.display()))?;
    let samples = read_samples(&text).map_err(anyhow::Error::msg)?;
    let mut allowed = std::collections::BTreeMap::new();
    for node in 1..=node_count(dir) {
        let config = config_of(dir, node)?;
        allowed.insert(config.node_id.clone(), Allowed::of(&config));
    }
    let report = judge(&samples, &allowed, growth_percent_max);
    println!("{report}");
    Ok(report.passed())
}

async fn print_status(dir: &Path) -> anyhow::Result<()> {
    println!(
        "{:<8} {:<8} {:<22} {:>8} {:<10} state root",
        "node", "pid", "endpoint", "height", "leader"
    );
    for node in 1..=node_count(dir) {
        let config = config_of(dir, node)?;
        let endpoint = format!("http://{}", config.grpc_listen);
        match pid_of(dir, node) {
            None => println!(
                "{:<8} {:<8} {:<22} {:>8}",
                config.node_id, "-", endpoint, "stopped"
            ),
            Some(pid) => match node_status(&config).await {
                Some(s) => println!(
                    "{:<8} {:<8} {:<22} {:>8} {:<10} {}",
                    config.node_id,
                    pid,
                    endpoint,
                    s.height,
                    s.leader,
                    hex::encode(&s.state_root)
                ),
                None => println!(
                    "{:<8} {:<8} {:<22} {:>8}",
                    config.node_id, pid, endpoint, "starting"
                ),
            },
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let dir = cli.dir;
    match cli.command {
        Cmd::RunNode { config } => {
            // The node's log goes to a file: plain text, no terminal colour codes.
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .init();
            let config = NodeConfig::load(&config)?;
            let node = vchain_node::start(config).await?;
            let chain = node.chain.clone();
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
                _ = async { while !chain.is_stopping() { tokio::time::sleep(Duration::from_millis(200)).await } } => {}
            }
            node.shutdown().await?;
            if chain.has_failed() {
                bail!("node stopped on an error");
            }
        }
        Cmd::Up {
            nodes,
            consensus,
            config_overlay,
        } => {
            if !(1..=NODES_MAX).contains(&nodes) {
                bail!("--nodes must be 1 to {NODES_MAX}");
            }
            for node in 1..=node_count(&dir) {
                if pid_of(&dir, node).is_some() {
                    signal(&dir, node, "-TERM")?;
                }
            }
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
            let now = vchain_node::clock::ChainClock::default().now_ms();
            vchain_devnet::prepare_cluster(&dir, nodes, now, &consensus)?;
            if let Some(overlay) = &config_overlay {
                overlay_configs(&dir, overlay)?;
            }
            for node in 1..=nodes {
                spawn_node(&dir, node)?;
            }
            let leader = wait_for_leader(&dir).await?;
            println!(
                "testnet of {nodes} {consensus} nodes up in {}; leader {leader}",
                dir.display()
            );
            println!(
                "keystore {} (passphrase \"dev\")",
                dir.join("keystore.json").display()
            );
            print_status(&dir).await?;
        }
        Cmd::Init {
            hosts,
            consensus,
            grpc_port,
            p2p_port,
            metrics_port,
            data_dir,
        } => {
            if !(1..=NODES_MAX).contains(&hosts.len()) {
                bail!("--hosts names 1 to {NODES_MAX} nodes");
            }
            let hosts = hosts
                .iter()
                .map(|h| init::Host::parse(h))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ports = init::Ports {
                grpc: grpc_port,
                p2p: p2p_port,
                metrics: metrics_port,
            };
            let now = vchain_node::clock::ChainClock::default().now_ms();
            let peers = init::init(&dir, &consensus, &hosts, ports, &data_dir, now)?;
            println!(
                "testnet of {} {consensus} nodes written to {}",
                peers.len(),
                dir.display()
            );
            for (node_id, address) in &peers {
                println!("  {node_id:<8} {address}");
            }
            println!(
                "each node's files are in {}/<node id>/ (config.toml, genesis.toml, node_key); \
                 gRPC on port {grpc_port}, metrics and health on {metrics_port}, data in {}",
                dir.display(),
                data_dir.display()
            );
            println!(
                "keystore {} (passphrase \"dev\")",
                dir.join("keystore.json").display()
            );
            if hosts.iter().any(|h| matches!(h, init::Host::Name(_))) {
                println!(
                    "the configs name hosts: resolve them to addresses before each node starts \
                     (vchain-resolve-peers in the image): the node dials addresses only"
                );
            }
        }
        Cmd::Status => print_status(&dir).await?,
        Cmd::Usage { csv } => print_usage(&dir, csv).await?,
        Cmd::SoakReport {
            samples,
            growth_percent_max,
        } => {
            if !soak_report(&dir, &samples, growth_percent_max)? {
                bail!("the soak run failed its judgement (see above)");
            }
        }
        Cmd::Stop { node } => signal(&dir, node, "-TERM")?,
        Cmd::Kill { node } => signal(&dir, node, "-KILL")?,
        Cmd::Start { node } => {
            if node == 0 || node > node_count(&dir) {
                bail!("no node {node} in {}", dir.display());
            }
            let pid = spawn_node(&dir, node)?;
            println!("node {node} started (pid {pid})");
        }
        Cmd::Down => {
            for node in 1..=node_count(&dir) {
                if pid_of(&dir, node).is_some() {
                    signal(&dir, node, "-TERM")?;
                    println!("node {node} stopped");
                }
            }
        }
    }
    Ok(())
}
