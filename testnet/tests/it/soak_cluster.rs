//! The CI-sized soak (issue 11): four Raft node processes with small budgets (a checkpoint per
//! MiB of log, 8 MiB of write-ahead log, memtables and block cache) take tens of MiB of
//! transactions while every node's memory and disk are sampled, periodically and after every
//! committed window (so the count of samples does not depend on the machine's speed). Every
//! sample must stay within the bounds its configuration sets (`vchain_testnet::soak::Allowed`):
//! before issue 11 the write-ahead log kept every file alive and the Raft log grew in memory
//! until a thousand entries had passed, so both would pass them here. Checkpoints must have been
//! taken by bytes (the load is far fewer entries than `snapshot_interval`), and the consensus log
//! must have been compacted to a fraction of what went through it.
//!
//! `scripts/soak.sh` is the long run (30 minutes or more, release build, with the level-off
//! judgement); `VCHAIN_SOAK_WINDOWS=N` makes this one longer.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::load::{admit_all, connect, largest, next_nonce, Auditor};
use common::*;
use vchain_contracts::execute::NONCE_WINDOW;
use vchain_node::config::NodeConfig;
use vchain_proto::v1::*;
use vchain_testnet::soak::{data_dir_bytes, judge, Allowed, Sample};
use vchain_wallet::keystore::Keystore;

const NODES: usize = 4;
/// The loading account: bank A's administrator may sign any operation.
const LOADER: &str = "bank-a-admin";
/// Nonce windows of the largest transactions submitted by default (1 MiB each).
const WINDOWS_DEFAULT: u64 = 24;
/// Longest wait for one window to commit.
const WINDOW_DEADLINE: Duration = Duration::from_secs(60);
/// Between samples of every node.
const SAMPLE_EVERY: Duration = Duration::from_millis(1_500);
/// The overlay: small budgets, so a short load passes each many times over.
const OVERLAY: &str = "snapshot_log_mib = 1\n\n[storage]\nblock_cache_mib = 8\nwrite_buffer_mib = 8\nwal_mib_max = 8\n";
/// A CI run is too short to judge a level; it only refuses memory that doubles from the middle
/// of the run to its end.
const GROWTH_PERCENT_MAX: u64 = 100;

async fn sample_all(
    configs: &[NodeConfig],
    apis: &mut [vchain_proto::v1::vchain_api_client::VchainApiClient<tonic::transport::Channel>],
) -> Vec<Sample> {
    let mut samples = Vec::new();
    for (config, api) in configs.iter().zip(apis.iter_mut()) {
        let Ok(status) = api.get_status(GetStatusRequest {}).await else {
            continue;
        };
        let status = status.into_inner();
        samples.push(Sample {
            at_ms: vchain_wallet::time::now_ms(),
            node: config.node_id.clone(),
            height: status.height,
            usage: status.resources.expect("status reports resources"),
            data_dir_bytes: data_dir_bytes(&config.data_dir),
        });
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_and_disk_stay_within_the_configured_budget_under_load() {
    let windows: u64 = std::env::var("VCHAIN_SOAK_WINDOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WINDOWS_DEFAULT);
    let dir = tempfile::Builder::new()
        .prefix("soak-cluster")
        .tempdir()
        .expect("tempdir");
    let net = dir.path().join("net");
    let overlay = dir.path().join("overlay.toml");
    std::fs::write(&overlay, OVERLAY).expect("overlay");
    let guard = Testnet {
        dir: Some(dir),
        net: net.clone(),
    };
    let overlay_arg = overlay.display().to_string();
    let (ok, text) = testnet_async(
        &net,
        &[
            "up",
            "--nodes",
            &NODES.to_string(),
            "--config-overlay",
            &overlay_arg,
        ],
    )
    .await;
    assert!(ok, "up failed: {text}");
    let configs: Vec<NodeConfig> = (1..=NODES)
        .map(|n| {
            NodeConfig::load(&net.join(format!("node-{n}")).join("config.toml"))
                .expect("node config")
        })
        .collect();
    assert!(
        configs
            .iter()
            .all(|c| c.snapshot_log_mib == 1 && c.storage.wal_mib_max == 8),
        "the overlay reached every node's config"
    );
    let mut apis = Vec::new();
    for config in &configs {
        apis.push(connect(&format!("http://{}", config.grpc_listen)).await);
    }
    let keystore = Keystore::load_or_create(&net.join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
    let auditor = Auditor {
        chain_id: genesis.chain_id.clone(),
        key: keystore
            .unlock("regulator", vchain_devnet::DEV_PASSPHRASE)
            .expect("regulator key"),
    };
    let loader = keystore
        .unlock(LOADER, vchain_devnet::DEV_PASSPHRASE)
        .expect("loader key");
    let params = apis[0]
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner()
        .params
        .expect("params");
    let tx_bytes = (params.tx_bytes_max as usize).min(16 << 10);

    // Sample every node in the background while the load runs.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (samples, sampling, configs, mut apis) = (
            samples.clone(),
            sampling.clone(),
            configs.clone(),
            apis.clone(),
        );
        tokio::spawn(async move {
            // Bounded by the load's own deadlines; one sample round per period.
            let rounds_max =
                2 * (windows as u128 * WINDOW_DEADLINE.as_millis() / SAMPLE_EVERY.as_millis()) + 10;
            for _ in 0..rounds_max {
                if !sampling.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let round = sample_all(&configs, &mut apis).await;
                samples.lock().expect("samples").extend(round);
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        })
    };

    // The load: a window of the largest transactions at a time, round robin over the nodes.
    let mut submitted_bytes = 0u64;
    let mut nonce = next_nonce(&mut apis[0], &auditor, LOADER).await;
    let loaded = Instant::now();
    for window in 0..windows {
        let batch: Vec<SignedTransaction> = (nonce..nonce + NONCE_WINDOW)
            .map(|n| largest(&genesis.chain_id, LOADER, &loader, n, tx_bytes))
            .collect();
        submitted_bytes += batch
            .iter()
            .map(|t| prost::Message::encoded_len(t) as u64)
            .sum::<u64>();
        admit_all(&mut apis[window as usize % NODES], batch).await;
        let deadline = Instant::now() + WINDOW_DEADLINE;
        loop {
            let next = next_nonce(&mut apis[0], &auditor, LOADER).await;
            if next >= nonce + NONCE_WINDOW {
                nonce = next;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "window {window} did not commit: next nonce {next}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A round per committed window as well as per period: a fast machine commits the
        // whole load in a few sampling periods, too few samples to judge a level by time alone.
        let round = sample_all(&configs, &mut apis).await;
        samples.lock().expect("samples").extend(round);
    }
    eprintln!(
        "{windows} windows, {:.1} MiB of transactions committed in {:.1} s",
        submitted_bytes as f64 / (1u64 << 20) as f64,
        loaded.elapsed().as_secs_f64()
    );
    // Two more rounds after the load, then stop sampling.
    tokio::time::sleep(2 * SAMPLE_EVERY).await;
    sampling.store(false, std::sync::atomic::Ordering::SeqCst);
    sampler.await.expect("sampler");
    let samples = samples.lock().expect("samples").clone();

    let allowed: BTreeMap<String, Allowed> = configs
        .iter()
        .map(|c| (c.node_id.clone(), Allowed::of(c)))
        .collect();
    let report = judge(&samples, &allowed, GROWTH_PERCENT_MAX);
    eprintln!("{report}");
    assert!(report.passed(), "a node left its budget:\n{report}");
    let last = sample_all(&configs, &mut apis).await;
    assert_eq!(last.len(), NODES, "every node still answers");
    for sample in &last {
        let usage = &sample.usage;
        assert!(
            usage.checkpoint_log_index > 0,
            "{} took no checkpoint by bytes (the load is far fewer entries than snapshot_interval)",
            sample.node
        );
        assert!(
            usage.consensus_log_bytes < submitted_bytes / 4,
            "{} still holds {} bytes of consensus log of the {submitted_bytes} that went through it",
            sample.node,
            usage.consensus_log_bytes
        );
        assert!(
            usage.block_bytes >= submitted_bytes,
            "{} stores the blocks ({} bytes for {submitted_bytes} submitted)",
            sample.node,
            usage.block_bytes
        );
    }
    let wal_max = samples.iter().map(|s| s.usage.wal_bytes).max().unwrap_or(0);
    assert!(
        wal_max > 0 && submitted_bytes > 2 * wal_max,
        "the load ({submitted_bytes} bytes) must pass the write-ahead log bound ({wal_max} seen) many times to test it"
    );
    drop(guard);
}
