//! Node configuration: a TOML file, validated at startup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vchain_ledger::rocks::budget;
use vchain_ledger::StorageBudget;

/// Most transactions the mempool holds.
pub const MEMPOOL_MAX_LIMIT: usize = 1_000_000;
/// MiB of waiting transactions the mempool holds unless its config says otherwise.
pub const MEMPOOL_MIB_MAX_DEFAULT: u64 = 128;
/// Highest `mempool_mib_max` a config may set.
pub const MEMPOOL_MIB_LIMIT: u64 = 16 << 10;
/// MiB of applied log entries between checkpoints unless the config says otherwise.
pub const SNAPSHOT_LOG_MIB_DEFAULT: u64 = 64;
/// Highest `snapshot_log_mib` a config may set.
pub const SNAPSHOT_LOG_MIB_LIMIT: u64 = 16 << 10;
/// Highest MiB any one RocksDB budget (`[storage]`) may set.
pub const STORAGE_MIB_LIMIT: u64 = 64 << 10;
/// Concurrent `SubscribeEvents` streams a node serves unless its config says otherwise.
pub const EVENT_SUBSCRIPTIONS_MAX: usize = 256;
/// Highest `event_subscriptions_max` a config may set (each stream holds a task, a buffer of
/// `api::SUBSCRIBER_BUFFER` events and a place in the block broadcast).
pub const EVENT_SUBSCRIPTIONS_LIMIT: usize = 4_096;

/// A node's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's id; must be a consensus node in genesis.
    pub node_id: String,
    /// Directory holding the ledger (`<data_dir>/ledger`).
    pub data_dir: PathBuf,
    /// Path of the genesis file.
    pub genesis: PathBuf,
    /// Address the gRPC API listens on (port 0 picks a free port).
    #[serde(default = "default_grpc_listen")]
    pub grpc_listen: SocketAddr,
    /// The producer cuts a block at least this often when transactions are waiting.
    #[serde(default = "default_block_interval_ms")]
    pub block_interval_ms: u64,
    /// Under load, the producer cuts the next block as soon as its last one (which carried
    /// transactions) has committed and transactions wait, this long after that last cut at the
    /// earliest: group commit, so a busy chain runs block after block instead of idling out the
    /// interval, and whatever arrived meanwhile goes into one block. 1..=`block_interval_ms`.
    #[serde(default = "default_block_interval_min_ms")]
    pub block_interval_min_ms: u64,
    /// ...or as soon as this many are waiting (capped by the chain's `block_tx_max`).
    #[serde(default = "default_block_tx_target")]
    pub block_tx_target: u32,
    /// Most transactions waiting in the mempool.
    #[serde(default = "default_mempool_max")]
    pub mempool_max: usize,
    /// Most MiB of transactions (encoded) waiting in the mempool: with transactions up to the
    /// chain's 64 KiB ceiling, `mempool_max` alone would allow gigabytes.
    /// 1..=[`MEMPOOL_MIB_LIMIT`].
    #[serde(default = "default_mempool_mib_max")]
    pub mempool_mib_max: u64,
    /// Longest a client may wait for its transaction's commit.
    #[serde(default = "default_submit_timeout_ms")]
    pub submit_timeout_ms: u64,
    /// Serve the DevApi (clock control). Never on a production chain.
    #[serde(default)]
    pub dev_api: bool,
    /// A networked engine checkpoints the ledger every this many applied log entries and
    /// compacts its Raft log through the checkpoint before (so the log keeps at least this
    /// many entries; a follower further behind installs a snapshot instead).
    #[serde(default = "default_snapshot_interval")]
    pub snapshot_interval: u64,
    /// ...or sooner, once the log entries applied since the last checkpoint total this many
    /// MiB. The Raft log is held in memory between compactions, so this bounds it to about twice
    /// this (under load, a thousand full blocks would be gigabytes).
    /// 1..=[`SNAPSHOT_LOG_MIB_LIMIT`].
    #[serde(default = "default_snapshot_log_mib")]
    pub snapshot_log_mib: u64,
    /// What RocksDB may use: block cache, memtables, write-ahead log.
    #[serde(default)]
    pub storage: StorageSection,
    /// Where archived blocks' segment files go (`vchain-node archive`); absent:
    /// `<data_dir>/archive`. A relative path is taken from the config file's directory, as
    /// `data_dir` is. May be on other, cheaper storage, but must stay readable: a node
    /// serves archived blocks (traces, history, catching-up peers) from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_dir: Option<PathBuf>,
    /// Peer-to-peer settings; required when genesis chooses a networked engine (raft).
    #[serde(default)]
    pub network: Option<NetworkSection>,
    /// Most `SubscribeEvents` streams served at once; past it a subscription is refused with
    /// RESOURCE_EXHAUSTED. 1..=[`EVENT_SUBSCRIPTIONS_LIMIT`].
    #[serde(default = "default_event_subscriptions_max")]
    pub event_subscriptions_max: usize,
    /// Prometheus metrics and health endpoints (`/metrics`, `/healthz`, `/readyz`); none when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsSection>,
    /// The newest chain rules version this node executes, for upgrade drills and tests only:
    /// a node set to an older version behaves like the older release (it records an upgrade
    /// to a newer version, warns, and stops at its activation height). Absent: everything this
    /// release implements ([`vchain_contracts::RULES_VERSION_MAX`]); above that is refused.
    /// Production configs leave it out (docs/operations.md, "Upgrades").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_version_max: Option<u32>,
}

/// Where the node serves its metrics and health endpoints (docs/operations.md, "Metrics").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// HTTP listen address, e.g. `127.0.0.1:9100` (port 0: any free port). Anyone who can
    /// reach it reads the node's metrics: keep it on a private network.
    pub listen: SocketAddr,
}

/// The ledger's RocksDB budget (see `vchain_ledger::rocks::budget`; `docs/operations.md` adds up
/// a node's memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// MiB of the block cache shared by every column family (data, index and filter blocks).
    #[serde(default = "default_block_cache_mib")]
    pub block_cache_mib: u64,
    /// MiB of all memtables together.
    #[serde(default = "default_write_buffer_mib")]
    pub write_buffer_mib: u64,
    /// MiB of write-ahead log before the column families holding its oldest file are flushed
    /// (and the file deleted).
    #[serde(default = "default_wal_mib_max")]
    pub wal_mib_max: u64,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            block_cache_mib: default_block_cache_mib(),
            write_buffer_mib: default_write_buffer_mib(),
            wal_mib_max: default_wal_mib_max(),
        }
    }
}

impl StorageSection {
    /// The ledger's budget in bytes.
    pub(crate) fn budget(&self) -> StorageBudget {
        StorageBudget {
            block_cache_bytes: mib(self.block_cache_mib) as usize,
            write_buffer_bytes: mib(self.write_buffer_mib) as usize,
            wal_bytes_max: mib(self.wal_mib_max),
        }
    }
}

/// `value` MiB in bytes, saturating (a value past the limits is refused by `validate`).
pub fn mib(value: u64) -> u64 {
    value.saturating_mul(1 << 20)
}

fn default_block_cache_mib() -> u64 {
    (budget::BLOCK_CACHE_BYTES_DEFAULT >> 20) as u64
}
fn default_write_buffer_mib() -> u64 {
    (budget::WRITE_BUFFER_BYTES_DEFAULT >> 20) as u64
}
fn default_wal_mib_max() -> u64 {
    budget::WAL_BYTES_MAX_DEFAULT >> 20
}
fn default_mempool_mib_max() -> u64 {
    MEMPOOL_MIB_MAX_DEFAULT
}
fn default_snapshot_log_mib() -> u64 {
    SNAPSHOT_LOG_MIB_DEFAULT
}

/// How a node reaches the other consensus nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Multiaddr to listen on, e.g. `/ip4/127.0.0.1/tcp/7100`.
    pub listen: String,
    /// The other consensus nodes, each `<multiaddr>/p2p/<peer id>`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Consensus tick, milliseconds. Raft elects after 10-20 ticks without a leader and a
    /// leader heartbeats every 2.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// A follower flags (logs a warning and counts in status) a committed block whose time is
    /// more than this many milliseconds ahead of its own clock: some member's clock is wrong.
    #[serde(default = "default_clock_skew_ms_max")]
    pub clock_skew_ms_max: u64,
}

fn default_tick_ms() -> u64 {
    100
}
/// The default of [`NetworkSection::clock_skew_ms_max`].
pub const CLOCK_SKEW_MS_MAX_DEFAULT: u64 = 30_000;

fn default_clock_skew_ms_max() -> u64 {
    CLOCK_SKEW_MS_MAX_DEFAULT
}

fn default_grpc_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7050))
}
fn default_block_interval_ms() -> u64 {
    200
}
fn default_block_interval_min_ms() -> u64 {
    10
}
fn default_block_tx_target() -> u32 {
    2_000
}
fn default_mempool_max() -> usize {
    50_000
}
fn default_snapshot_interval() -> u64 {
    1_000
}
fn default_submit_timeout_ms() -> u64 {
    30_000
}
fn default_event_subscriptions_max() -> usize {
    EVENT_SUBSCRIPTIONS_MAX
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a node config.
    #[error("config {path} is not valid: {why}")]
    Parse {
        /// Path.
        path: PathBuf,
        /// Parser message.
        why: String,
    },
    /// A value is out of range.
    #[error("config value {field} is invalid: {why}")]
    Invalid {
        /// Field.
        field: &'static str,
        /// Why.
        why: String,
    },
}

impl NodeConfig {
    /// Reads and validates a config file. Relative paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.data_dir.is_relative() {
            config.data_dir = base.join(&config.data_dir);
        }
        if config.genesis.is_relative() {
            config.genesis = base.join(&config.genesis);
        }
        if let Some(archive) = config.archive_dir.as_mut() {
            if archive.is_relative() {
                *archive = base.join(&*archive);
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every limit.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, why: &str| {
            Err(ConfigError::Invalid {
                field,
                why: why.to_owned(),
            })
        };
        if self.node_id.is_empty() {
            return invalid("node_id", "must not be empty");
        }
        if !(10..=60_000).contains(&self.block_interval_ms) {
            return invalid("block_interval_ms", "must be 10..=60000");
        }
        if !(1..=self.block_interval_ms).contains(&self.block_interval_min_ms) {
            return invalid("block_interval_min_ms", "must be 1..=block_interval_ms");
        }
        if self.block_tx_target == 0 {
            return invalid("block_tx_target", "must be at least 1");
        }
        if !(1..=MEMPOOL_MAX_LIMIT).contains(&self.mempool_max) {
            return invalid("mempool_max", "must be 1..=1000000");
        }
        if !(1..=MEMPOOL_MIB_LIMIT).contains(&self.mempool_mib_max) {
            return invalid(
                "mempool_mib_max",
                &format!("must be 1..={MEMPOOL_MIB_LIMIT}"),
            );
        }
        if !(1..=SNAPSHOT_LOG_MIB_LIMIT).contains(&self.snapshot_log_mib) {
            return invalid(
                "snapshot_log_mib",
                &format!("must be 1..={SNAPSHOT_LOG_MIB_LIMIT}"),
            );
        }
        for (field, value) in [
            ("storage.block_cache_mib", self.storage.block_cache_mib),
            ("storage.write_buffer_mib", self.storage.write_buffer_mib),
            ("storage.wal_mib_max", self.storage.wal_mib_max),
        ] {
            if value > STORAGE_MIB_LIMIT {
                return invalid(field, &format!("must be at most {STORAGE_MIB_LIMIT}"));
            }
        }
        if let Err(why) = self.storage.budget().check() {
            return invalid("storage", &why);
        }
        if !(100..=600_000).contains(&self.submit_timeout_ms) {
            return invalid("submit_timeout_ms", "must be 100..=600000");
        }
        if !(4..=10_000_000).contains(&self.snapshot_interval) {
            return invalid("snapshot_interval", "must be 4..=10000000");
        }
        if !(1..=EVENT_SUBSCRIPTIONS_LIMIT).contains(&self.event_subscriptions_max) {
            return invalid("event_subscriptions_max", "must be 1..=4096");
        }
        if let Some(version) = self.rules_version_max {
            if !(vchain_contracts::rules::RULES_VERSION_GENESIS
                ..=vchain_contracts::RULES_VERSION_MAX)
                .contains(&version)
            {
                return invalid(
                    "rules_version_max",
                    &format!(
                        "must be {}..={}: this release implements chain rules up to v{}",
                        vchain_contracts::rules::RULES_VERSION_GENESIS,
                        vchain_contracts::RULES_VERSION_MAX,
                        vchain_contracts::RULES_VERSION_MAX
                    ),
                );
            }
        }
        if let Some(network) = &self.network {
            if !(10..=10_000).contains(&network.tick_ms) {
                return invalid("network.tick_ms", "must be 10..=10000");
            }
            if !(1_000..=3_600_000).contains(&network.clock_skew_ms_max) {
                return invalid("network.clock_skew_ms_max", "must be 1000..=3600000");
            }
        }
        Ok(())
    }

    /// Where the ledger lives.
    pub fn ledger_dir(&self) -> PathBuf {
        self.data_dir.join("ledger")
    }

    /// Where archived blocks' segment files are: `archive_dir`, or `<data_dir>/archive`.
    pub fn archive_dir(&self) -> PathBuf {
        self.archive_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("archive"))
    }

    /// The newest chain rules version this node executes: `rules_version_max`, or all this
    /// release implements.
    pub fn rules_version_max(&self) -> u32 {
        self.rules_version_max
            .unwrap_or(vchain_contracts::RULES_VERSION_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_taken_from_the_config_files_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        let base = "node_id = \"n1\"\ndata_dir = \"d\"\ngenesis = \"g.toml\"\n";
        std::fs::write(&path, base).expect("write");
        let config = NodeConfig::load(&path).expect("load");
        assert_eq!(config.data_dir, dir.path().join("d"));
        assert_eq!(config.genesis, dir.path().join("g.toml"));
        assert_eq!(config.archive_dir(), dir.path().join("d").join("archive"));
        std::fs::write(&path, format!("{base}archive_dir = \"cold/archive\"\n")).expect("write");
        let config = NodeConfig::load(&path).expect("load");
        assert_eq!(
            config.archive_dir(),
            dir.path().join("cold").join("archive")
        );
        std::fs::write(&path, format!("{base}archive_dir = \"/mnt/cold\"\n")).expect("write");
        let config = NodeConfig::load(&path).expect("load");
        assert_eq!(config.archive_dir(), PathBuf::from("/mnt/cold"));
    }

    #[test]
    fn defaults_fill_in_and_limits_are_checked() {
        let config: NodeConfig =
            toml::from_str("node_id = \"n1\"\ndata_dir = \"d\"\ngenesis = \"g.toml\"\n")
                .expect("parse");
        assert_eq!(config.block_interval_ms, 200);
        assert!(config.validate().is_ok());
        assert_eq!(
            config.rules_version_max(),
            vchain_contracts::RULES_VERSION_MAX,
            "a node executes every rules version its release implements unless told otherwise"
        );
        let drill = NodeConfig {
            rules_version_max: Some(1),
            ..config.clone()
        };
        assert!(drill.validate().is_ok());
        assert_eq!(drill.rules_version_max(), 1);
        let bad = NodeConfig {
            block_interval_ms: 1,
            ..config.clone()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::Invalid {
                field: "block_interval_ms",
                ..
            })
        ));
        assert_eq!(config.storage.budget(), StorageBudget::default());
        assert_eq!(config.block_interval_min_ms, 10, "group commit by default");
        for (bad, field) in [
            (
                NodeConfig {
                    block_interval_min_ms: 0,
                    ..config.clone()
                },
                "block_interval_min_ms",
            ),
            (
                NodeConfig {
                    block_interval_min_ms: config.block_interval_ms + 1,
                    ..config.clone()
                },
                "block_interval_min_ms",
            ),
            (
                NodeConfig {
                    mempool_mib_max: 0,
                    ..config.clone()
                },
                "mempool_mib_max",
            ),
            (
                NodeConfig {
                    snapshot_log_mib: SNAPSHOT_LOG_MIB_LIMIT + 1,
                    ..config.clone()
                },
                "snapshot_log_mib",
            ),
            (
                NodeConfig {
                    storage: StorageSection {
                        block_cache_mib: 1,
                        ..StorageSection::default()
                    },
                    ..config.clone()
                },
                "storage",
            ),
            (
                NodeConfig {
                    storage: StorageSection {
                        wal_mib_max: u64::MAX,
                        ..StorageSection::default()
                    },
                    ..config.clone()
                },
                "storage.wal_mib_max",
            ),
            (
                NodeConfig {
                    rules_version_max: Some(vchain_contracts::RULES_VERSION_MAX + 1),
                    ..config.clone()
                },
                "rules_version_max",
            ),
            (
                NodeConfig {
                    rules_version_max: Some(0),
                    ..config.clone()
                },
                "rules_version_max",
            ),
        ] {
            match bad.validate() {
                Err(ConfigError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let tuned: NodeConfig = toml::from_str(
            "node_id = \"n1\"\ndata_dir = \"d\"\ngenesis = \"g\"\n[storage]\nblock_cache_mib = 256\n",
        )
        .expect("parse");
        assert_eq!(tuned.storage.budget().block_cache_bytes, 256 << 20);
        assert!(
            toml::from_str::<NodeConfig>(
                "node_id = \"n1\"\ndata_dir = \"d\"\ngenesis = \"g\"\nsurprise = 1\n"
            )
            .is_err(),
            "unknown keys are refused"
        );
    }
}
