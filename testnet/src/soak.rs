//! Soak runs: every node's resource use sampled over a long load, and the judgement an operator
//! needs from it: does each part stay within what the node's configuration allows, does memory
//! level off, and does disk use stay proportional to the chain's data (issue 11).
//!
//! `vchain-testnet usage --csv` appends one [`Sample`] per running node; `vchain-testnet
//! soak-report FILE` reads them back and prints a [`Report`]; `scripts/soak.sh` runs the whole
//! thing for 30 minutes or more, and `testnet/tests/it/soak_cluster.rs` a short version in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use vchain_node::config::{mib, NodeConfig};
use vchain_proto::v1::ResourceUsage;

/// The CSV header [`Sample::to_csv`] writes under.
pub const CSV_HEADER: &str = "unix_ms,node,height,resident_bytes,consensus_log_bytes,mempool_bytes,memtable_bytes,block_cache_bytes,wal_bytes,table_bytes,block_bytes,data_dir_bytes,checkpoint_log_index";
/// Fewest samples per node a level-off judgement needs (three periods of two).
pub const SAMPLES_MIN: usize = 6;
/// The block limit the consensus log bound allows for the entry being applied.
const BLOCK_SLACK_BYTES: u64 = vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT as u64;

/// One node's resource use at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The node's id.
    pub node: String,
    /// Its height then.
    pub height: u64,
    /// What its status reported.
    pub usage: ResourceUsage,
    /// Bytes of its data directory (each file counted once, however many checkpoints link it).
    pub data_dir_bytes: u64,
}

impl Sample {
    /// The sample as a CSV line under [`CSV_HEADER`].
    pub fn to_csv(&self) -> String {
        let u = &self.usage;
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.at_ms,
            self.node,
            self.height,
            u.resident_bytes,
            u.consensus_log_bytes,
            u.mempool_bytes,
            u.memtable_bytes,
            u.block_cache_bytes,
            u.wal_bytes,
            u.table_bytes,
            u.block_bytes,
            self.data_dir_bytes,
            u.checkpoint_log_index
        )
    }

    /// Parses a line written by [`Sample::to_csv`].
    pub fn from_csv(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.trim().split(',').collect();
        if fields.len() != CSV_HEADER.split(',').count() {
            return Err(format!(
                "{} fields, want {}: {line}",
                fields.len(),
                CSV_HEADER.split(',').count()
            ));
        }
        let number = |i: usize| -> Result<u64, String> {
            fields[i]
                .parse()
                .map_err(|_| format!("field {i} is not a number: {line}"))
        };
        Ok(Sample {
            at_ms: number(0)?,
            node: fields[1].to_owned(),
            height: number(2)?,
            usage: ResourceUsage {
                resident_bytes: number(3)?,
                consensus_log_bytes: number(4)?,
                mempool_bytes: number(5)?,
                memtable_bytes: number(6)?,
                block_cache_bytes: number(7)?,
                wal_bytes: number(8)?,
                table_bytes: number(9)?,
                block_bytes: number(10)?,
                checkpoint_log_index: number(12)?,
            },
            data_dir_bytes: number(11)?,
        })
    }
}

/// Reads every sample of a CSV file (the header and blank lines skipped).
pub fn read_samples(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("unix_ms"))
        .map(Sample::from_csv)
        .collect()
}

/// Bytes of the files under `dir`, each inode counted once (checkpoints hard-link the ledger's
/// tables: they cost the disk nothing until the ledger compacts them away).
pub fn data_dir_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = BTreeSet::new();
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    // Bounded: a data directory holds a ledger and a few checkpoints.
    let mut directories_left = 10_000;
    while let Some(path) = pending.pop() {
        directories_left -= 1;
        if directories_left == 0 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if metadata.is_file() && seen.insert((metadata.dev(), metadata.ino())) {
                total += metadata.len();
            }
        }
    }
    total
}

/// What a node's configuration allows each part to hold. The bounds carry the slack each
/// mechanism needs: the consensus log holds up to two checkpoint periods and the block being
/// applied; the write-ahead log passes its bound until the flush it triggers ends; a memtable
/// being flushed still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// Consensus log in memory.
    pub consensus_log_bytes: u64,
    /// Mempool.
    pub mempool_bytes: u64,
    /// Memtables.
    pub memtable_bytes: u64,
    /// Block cache.
    pub block_cache_bytes: u64,
    /// Write-ahead log.
    pub wal_bytes: u64,
}

impl Allowed {
    /// The bounds `config` sets.
    pub fn of(config: &NodeConfig) -> Self {
        let storage = config.storage;
        Allowed {
            consensus_log_bytes: 2 * mib(config.snapshot_log_mib) + BLOCK_SLACK_BYTES,
            mempool_bytes: mib(config.mempool_mib_max),
            memtable_bytes: 2 * mib(storage.write_buffer_mib),
            // The LRU cache may pass its capacity by what readers pin at that moment.
            block_cache_bytes: mib(storage.block_cache_mib) + mib(storage.block_cache_mib) / 10,
            wal_bytes: 2 * mib(storage.wal_mib_max),
        }
    }

    /// Every part of `usage` over its bound, named.
    pub fn exceeded_by(&self, usage: &ResourceUsage) -> Vec<String> {
        let mut over = Vec::new();
        for (part, used, allowed) in [
            (
                "consensus log",
                usage.consensus_log_bytes,
                self.consensus_log_bytes,
            ),
            ("mempool", usage.mempool_bytes, self.mempool_bytes),
            ("memtables", usage.memtable_bytes, self.memtable_bytes),
            (
                "block cache",
                usage.block_cache_bytes,
                self.block_cache_bytes,
            ),
            ("write-ahead log", usage.wal_bytes, self.wal_bytes),
        ] {
            if used > allowed {
                over.push(format!("{part} {} MiB > {} MiB", mebi(used), mebi(allowed)));
            }
        }
        over
    }
}

fn mebi(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// The judgement on one node's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport {
    /// The node.
    pub node: String,
    /// Samples judged.
    pub samples: usize,
    /// Height at the first and last sample.
    pub heights: (u64, u64),
    /// Highest resident memory in each third of the run.
    pub resident_max_by_third: [u64; 3],
    /// Highest data directory per stored block byte in each third of the run.
    pub disk_ratio_max_by_third: [f64; 3],
    /// Data directory and stored blocks at the end.
    pub final_disk: (u64, u64),
    /// What failed, if anything.
    pub failures: Vec<String>,
}

/// The judgement on a soak run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One per node, by node id.
    pub nodes: Vec<NodeReport>,
}

impl Report {
    /// True if no node failed anything.
    pub fn passed(&self) -> bool {
        self.nodes.iter().all(|n| n.failures.is_empty())
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<8} {:>7} {:>15} {:>32} {:>22} {:>20}",
            "node",
            "samples",
            "height",
            "resident MiB max (1st/2nd/3rd)",
            "disk/blocks (thirds)",
            "final disk/blocks MiB"
        )?;
        for n in &self.nodes {
            writeln!(
                f,
                "{:<8} {:>7} {:>15} {:>32} {:>22} {:>20}",
                n.node,
                n.samples,
                format!("{}..{}", n.heights.0, n.heights.1),
                format!(
                    "{} / {} / {}",
                    mebi(n.resident_max_by_third[0]),
                    mebi(n.resident_max_by_third[1]),
                    mebi(n.resident_max_by_third[2])
                ),
                format!(
                    "{:.2} / {:.2} / {:.2}",
                    n.disk_ratio_max_by_third[0],
                    n.disk_ratio_max_by_third[1],
                    n.disk_ratio_max_by_third[2]
                ),
                format!("{} / {}", mebi(n.final_disk.0), mebi(n.final_disk.1)),
            )?;
            for failure in &n.failures {
                writeln!(f, "  {}: {failure}", n.node)?;
            }
        }
        write!(
            f,
            "verdict: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}

/// Judges `samples`: every sample within `allowed` of its node (when known), resident memory
/// in the last third of the run at most `growth_percent_max` above the middle third's highest
/// (memory levels off), and the data directory per stored block byte likewise (disk stays
/// proportional to the chain's data).
pub fn judge(
    samples: &[Sample],
    allowed: &BTreeMap<String, Allowed>,
    growth_percent_max: u64,
) -> Report {
    let mut by_node: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for sample in samples {
        by_node.entry(&sample.node).or_default().push(sample);
    }
    let grown = |middle: f64, last: f64| last > middle * (1.0 + growth_percent_max as f64 / 100.0);
    let nodes = by_node
        .into_iter()
        .map(|(node, mut series)| {
            series.sort_by_key(|s| s.at_ms);
            let mut failures = Vec::new();
            if let Some(allowed) = allowed.get(node) {
                for sample in &series {
                    for over in allowed.exceeded_by(&sample.usage) {
                        failures.push(format!("at height {}: {over}", sample.height));
                    }
                }
            }
            let third = series.len() / 3;
            let thirds = [
                &series[..third],
                &series[third..2 * third],
                &series[2 * third..],
            ];
            let resident = thirds.map(|t| t.iter().map(|s| s.usage.resident_bytes).max().unwrap_or(0));
            let ratio = |s: &Sample| s.data_dir_bytes as f64 / s.usage.block_bytes.max(1) as f64;
            let disk = thirds.map(|t| t.iter().map(|s| ratio(s)).fold(0.0, f64::max));
            if series.len() < SAMPLES_MIN {
                failures.push(format!(
                    "{} samples; judging a level needs {SAMPLES_MIN}",
                    series.len()
                ));
            } else {
                if grown(resident[1] as f64, resident[2] as f64) {
                    failures.push(format!(
                        "resident memory still rising: {} MiB in the last third, {} MiB in the middle (more than {growth_percent_max}%)",
                        mebi(resident[2]),
                        mebi(resident[1])
                    ));
                }
                if grown(disk[1], disk[2]) {
                    failures.push(format!(
                        "disk per stored block byte still rising: {:.2} in the last third, {:.2} in the middle (more than {growth_percent_max}%)",
                        disk[2], disk[1]
                    ));
                }
            }
            let last = series.last().expect("a node has a sample");
            NodeReport {
                node: node.to_owned(),
                samples: series.len(),
                heights: (series[0].height, last.height),
                resident_max_by_third: resident,
                disk_ratio_max_by_third: disk,
                final_disk: (last.data_dir_bytes, last.usage.block_bytes),
                failures,
            }
        })
        .collect();
    Report { nodes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: u64, resident_mib: u64, dir_mib: u64, blocks_mib: u64) -> Sample {
        Sample {
            at_ms: at,
            node: "node-1".into(),
            height: at,
            usage: ResourceUsage {
                resident_bytes: resident_mib << 20,
                block_bytes: blocks_mib << 20,
                ..ResourceUsage::default()
            },
            data_dir_bytes: dir_mib << 20,
        }
    }

    #[test]
    fn a_sample_survives_its_csv_line() {
        let mut s = sample(7, 100, 30, 10);
        s.usage.wal_bytes = 5;
        s.usage.checkpoint_log_index = 9;
        let line = s.to_csv();
        assert_eq!(line.split(',').count(), CSV_HEADER.split(',').count());
        assert_eq!(Sample::from_csv(&line), Ok(s));
        assert!(Sample::from_csv("1,node-1,2").is_err());
        let text = format!("{CSV_HEADER}\n{line}\n\n{line}\n");
        assert_eq!(read_samples(&text).map(|v| v.len()), Ok(2));
    }

    #[test]
    fn memory_that_levels_off_passes_and_memory_that_keeps_rising_fails() {
        let level: Vec<Sample> = (0..9)
            .map(|i| {
                sample(
                    i,
                    [100, 180, 200, 205, 210, 206, 208, 211, 209][i as usize],
                    3 * (i + 1),
                    i + 1,
                )
            })
            .collect();
        let report = judge(&level, &BTreeMap::new(), 10);
        assert!(report.passed(), "{report}");
        let rising: Vec<Sample> = (0..9)
            .map(|i| sample(i, 100 + 40 * i, 3 * (i + 1), i + 1))
            .collect();
        let report = judge(&rising, &BTreeMap::new(), 10);
        assert!(!report.passed());
        assert!(
            report.nodes[0].failures[0].contains("resident memory still rising"),
            "{report}"
        );
    }

    #[test]
    fn disk_growing_faster_than_the_chain_fails() {
        // The data directory grows with the square of the blocks: not proportional.
        let samples: Vec<Sample> = (0..9)
            .map(|i| sample(i, 100, (i + 1) * (i + 1), i + 1))
            .collect();
        let report = judge(&samples, &BTreeMap::new(), 10);
        assert!(
            report.nodes[0]
                .failures
                .iter()
                .any(|f| f.contains("disk per stored block")),
            "{report}"
        );
    }

    #[test]
    fn too_few_samples_and_a_part_over_its_bound_fail_naming_it() {
        let few = vec![sample(0, 1, 1, 1)];
        assert!(judge(&few, &BTreeMap::new(), 10).nodes[0].failures[0].contains("samples"));
        let mut config: NodeConfig = toml_config();
        config.storage.wal_mib_max = 8;
        let allowed = BTreeMap::from([("node-1".to_owned(), Allowed::of(&config))]);
        let mut over = sample(0, 1, 1, 1);
        over.usage.wal_bytes = 17 << 20;
        let report = judge(&[over], &allowed, 10);
        assert!(
            report.nodes[0]
                .failures
                .iter()
                .any(|f| f.contains("write-ahead log 17.0 MiB > 16.0 MiB")),
            "{report}"
        );
    }

    fn toml_config() -> NodeConfig {
        let text = "node_id = \"node-1\"\ndata_dir = \"d\"\ngenesis = \"g\"\n";
        toml::from_str(text).expect("config")
    }
}
