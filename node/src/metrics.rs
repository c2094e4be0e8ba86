//! Prometheus metrics and health endpoints (issue 15): an HTTP listener (`[metrics] listen` in
//! the node config) serving `/metrics` (OpenMetrics text, `prometheus-client`), `/healthz`
//! (the process is up and its block producer alive) and `/readyz` (caught up and serving).
//!
//! Two kinds of metric: counters and histograms the chain updates as blocks commit
//! ([`Metrics::block_applied`]), and gauges read from the chain at scrape time
//! ([`Metrics::refresh`]), so a gauge is never stale and nothing is polled between scrapes.
//! Names follow Prometheus conventions (`vchain_` prefix, base units, `_total` counters);
//! docs/operations.md lists them with an alert query each.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::{info, warn};

use crate::chain::Chain;

/// A rejected transaction's rule code (`ErrorCode` name), as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RuleLabel {
    /// The rule, e.g. `NOT_HOLDER`.
    pub(crate) code: String,
}

/// What a network message carried, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    /// `consensus`, `transactions`, `clock`, `incarnations`, `certification` or `sync`.
    pub(crate) kind: String,
}

/// How an admission ended, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabel {
    /// `admitted`, `resent` (already waiting), or the refusal's rule code (`BAD_SIGNATURE`,
    /// `MEMPOOL_FULL`, `NONCE_TAKEN`, `NODE_UNAVAILABLE`, ...).
    pub(crate) outcome: String,
}

/// The node's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    height: Gauge<i64, AtomicI64>,
    certified_height: Gauge<i64, AtomicI64>,
    certification_lag: Gauge<i64, AtomicI64>,
    mempool_transactions: Gauge<i64, AtomicI64>,
    mempool_bytes: Gauge<i64, AtomicI64>,
    consensus_view: Gauge<i64, AtomicI64>,
    consensus_term: Gauge<i64, AtomicI64>,
    leader_known: Gauge<i64, AtomicI64>,
    is_leader: Gauge<i64, AtomicI64>,
    voters: Gauge<i64, AtomicI64>,
    peers_connected: Gauge<i64, AtomicI64>,
    peer_protocol_mismatches: Gauge<i64, AtomicI64>,
    syncing: Gauge<i64, AtomicI64>,
    snapshots_installed: Gauge<i64, AtomicI64>,
    proposals_refused: Gauge<i64, AtomicI64>,
    signatures_verified: Gauge<i64, AtomicI64>,
    signature_verdicts_reused: Gauge<i64, AtomicI64>,
    equivocations: Gauge<i64, AtomicI64>,
    certificates_expiring: Gauge<i64, AtomicI64>,
    resident_bytes: Gauge<i64, AtomicI64>,
    cpu_seconds: Gauge<f64, AtomicU64>,
    rocksdb_table_bytes: Gauge<i64, AtomicI64>,
    rocksdb_wal_bytes: Gauge<i64, AtomicI64>,
    rocksdb_memtable_bytes: Gauge<i64, AtomicI64>,
    rocksdb_write_stopped: Gauge<i64, AtomicI64>,
    rocksdb_delayed_write_rate: Gauge<i64, AtomicI64>,
    history_gap: Gauge<i64, AtomicI64>,
    leader_changes: Counter<u64, AtomicU64>,
    admissions: Family<OutcomeLabel, Counter<u64, AtomicU64>>,
    commit_latency_seconds: Histogram,
    blocks: Counter<u64, AtomicU64>,
    transactions_committed: Counter<u64, AtomicU64>,
    transactions_rejected: Family<RuleLabel, Counter<u64, AtomicU64>>,
    messages_received: Family<KindLabel, Counter<u64, AtomicU64>>,
    block_apply_seconds: Histogram,
    block_interval_seconds: Histogram,
    /// The previous block's chain time, for the interval histogram.
    last_block_ms: Mutex<Option<u64>>,
}

impl Metrics {
    /// Every metric registered, at zero.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("vchain");
        macro_rules! gauge {
            ($name:literal, $help:literal) => {{
                let gauge = Gauge::<i64, AtomicI64>::default();
                registry.register($name, $help, gauge.clone());
                gauge
            }};
        }
        let height = gauge!("height", "Height of the last committed block");
        let certified_height = gauge!(
            "certified_height",
            "Every block up to this height carries a commit certificate on this node"
        );
        let certification_lag = gauge!(
            "certification_lag_blocks",
            "Committed blocks whose commit certificate is not complete yet"
        );
        let mempool_transactions = gauge!(
            "mempool_transactions",
            "Admitted transactions waiting for a block"
        );
        let mempool_bytes = gauge!("mempool_bytes", "Encoded bytes of the waiting transactions");
        let consensus_view = gauge!("consensus_view", "PBFT view (0 under raft and solo)");
        let consensus_term = gauge!("consensus_term", "Raft term (0 under PBFT and solo)");
        let leader_known = gauge!(
            "consensus_leader_known",
            "1 if this node knows a leader (raft) or primary (pbft), else 0"
        );
        let is_leader = gauge!("consensus_is_leader", "1 if this node leads, else 0");
        let voters = gauge!("consensus_voters", "Consensus voters this node has applied");
        let peers_connected = gauge!("peers_connected", "Consensus peers connected now");
        let peer_protocol_mismatches = gauge!(
            "peer_protocol_mismatches",
            "Peer connections since start on which the peer did not speak this node's message protocol version (another release)"
        );
        let syncing = gauge!("syncing", "1 while installing a state snapshot from a peer");
        let snapshots_installed = gauge!(
            "snapshots_installed",
            "State snapshots installed from peers since start"
        );
        let proposals_refused = gauge!(
            "proposals_refused",
            "Block proposals the consensus engine refused since start"
        );
        let signatures_verified = gauge!(
            "signatures_verified",
            "Transaction signatures this node verified since start (admission, validation and execution together)"
        );
        let signature_verdicts_reused = gauge!(
            "signature_verdicts_reused",
            "Transaction signatures found valid earlier on this node and not verified again, since start"
        );
        let equivocations = gauge!(
            "equivocations",
            "Pieces of evidence of a member signing two blocks at one height (alert on any)"
        );
        let certificates_expiring = gauge!(
            "certificates_expiring",
            "Active account and node certificates on chain expiring within 30 days (or expired)"
        );
        let resident_bytes = gauge!("resident_memory_bytes", "Resident memory of the process");
        // A float: whole seconds would hide a benchmark's few seconds of load.
        let cpu_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "cpu_seconds",
            "CPU time the process used since start, user and system together, seconds (its rate is the cores in use)",
            cpu_seconds.clone(),
        );
        let rocksdb_table_bytes = gauge!("rocksdb_table_bytes", "Ledger table (SST) files");
        let rocksdb_wal_bytes = gauge!("rocksdb_wal_bytes", "Ledger write-ahead log files");
        let rocksdb_memtable_bytes = gauge!("rocksdb_memtable_bytes", "Ledger memtables");
        let rocksdb_write_stopped = gauge!(
            "rocksdb_write_stopped",
            "1 while RocksDB stops the ledger's writes (a write stall: compaction is behind)"
        );
        let rocksdb_delayed_write_rate = gauge!(
            "rocksdb_delayed_write_rate_bytes",
            "Bytes per second RocksDB slows the ledger's writes to (0: not delayed)"
        );
        let history_gap = gauge!(
            "history_gap_blocks",
            "Blocks a state snapshot skipped that this node has not filled in from peers yet"
        );
        let leader_changes = Counter::<u64, AtomicU64>::default();
        registry.register(
            "consensus_leader_changes",
            "Times the leader (raft) or primary (pbft) this node knows changed, since start (elections, view changes)",
            leader_changes.clone(),
        );
        let admissions = Family::<OutcomeLabel, Counter<u64, AtomicU64>>::default();
        registry.register(
            "admissions",
            "Transactions offered to this node's mempool, by outcome, since start",
            admissions.clone(),
        );
        // 1 ms .. ~33 s.
        let commit_latency_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "commit_latency_seconds",
            "Time from a transaction's admission on this node to its block's commit here",
            commit_latency_seconds.clone(),
        );
        let blocks = Counter::<u64, AtomicU64>::default();
        registry.register("blocks", "Blocks committed since start", blocks.clone());
        let transactions_committed = Counter::<u64, AtomicU64>::default();
        registry.register(
            "transactions_committed",
            "Transactions committed with result OK since start",
            transactions_committed.clone(),
        );
        let transactions_rejected = Family::<RuleLabel, Counter<u64, AtomicU64>>::default();
        registry.register(
            "transactions_rejected",
            "Transactions committed with a rejection, by rule code, since start",
            transactions_rejected.clone(),
        );
        let messages_received = Family::<KindLabel, Counter<u64, AtomicU64>>::default();
        registry.register(
            "peer_messages_received",
            "Messages received from consensus peers, by kind, since start",
            messages_received.clone(),
        );
        // 1 ms .. ~33 s.
        let block_apply_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "block_apply_seconds",
            "Time to check, execute and durably commit one block",
            block_apply_seconds.clone(),
        );
        // 10 ms .. ~330 s.
        let block_interval_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 16));
        registry.register(
            "block_interval_seconds",
            "Chain time between consecutive blocks",
            block_interval_seconds.clone(),
        );
        Self {
            registry,
            height,
            certified_height,
            certification_lag,
            mempool_transactions,
            mempool_bytes,
            consensus_view,
            consensus_term,
            leader_known,
            is_leader,
            voters,
            peers_connected,
            peer_protocol_mismatches,
            syncing,
            snapshots_installed,
            proposals_refused,
            signatures_verified,
            signature_verdicts_reused,
            equivocations,
            certificates_expiring,
            resident_bytes,
            cpu_seconds,
            rocksdb_table_bytes,
            rocksdb_wal_bytes,
            rocksdb_memtable_bytes,
            rocksdb_write_stopped,
            rocksdb_delayed_write_rate,
            history_gap,
            leader_changes,
            admissions,
            commit_latency_seconds,
            blocks,
            transactions_committed,
            transactions_rejected,
            messages_received,
            block_apply_seconds,
            block_interval_seconds,
            last_block_ms: Mutex::new(None),
        }
    }

    /// A block committed at chain time `time_ms`, applied in `apply_seconds`, with the rule
    /// code of each transaction's result (`None`: OK).
    pub(crate) fn block_applied<'a>(
        &self,
        time_ms: u64,
        apply_seconds: f64,
        rejections: impl Iterator<Item = Option<&'a str>>,
    ) {
        self.blocks.inc();
        self.block_apply_seconds.observe(apply_seconds);
        let mut last = self.last_block_ms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = *last {
            self.block_interval_seconds
                .observe(time_ms.saturating_sub(previous) as f64 / 1_000.0);
        }
        *last = Some(time_ms);
        for code in rejections {
            match code {
                None => {
                    self.transactions_committed.inc();
                }
                Some(code) => {
                    self.transactions_rejected
                        .get_or_create(&RuleLabel {
                            code: code.to_owned(),
                        })
                        .inc();
                }
            }
        }
    }

    /// A transaction offered to the mempool ended with `outcome` (see [`OutcomeLabel`]).
    pub(crate) fn admission(&self, outcome: &str) {
        self.admissions
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Transactions this node admitted committed, each after waiting `waited`.
    pub(crate) fn committed_after(&self, waited: impl Iterator<Item = std::time::Duration>) {
        for waited in waited {
            self.commit_latency_seconds.observe(waited.as_secs_f64());
        }
    }

    /// The leader or primary this node knows changed.
    pub(crate) fn leader_changed(&self) {
        self.leader_changes.inc();
    }

    /// A message of `kind` arrived from a peer.
    pub(crate) fn message_received(&self, kind: &str) {
        self.messages_received
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Reads the gauges from `chain`.
    fn refresh(&self, chain: &Chain) {
        let gauge = |g: &Gauge<i64, AtomicI64>, v: u64| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        let height = chain.head().map_or(0, |h| h.height);
        gauge(&self.height, height);
        let certified = chain.certified_height().unwrap_or(0);
        gauge(&self.certified_height, certified);
        gauge(&self.certification_lag, height.saturating_sub(certified));
        gauge(&self.mempool_transactions, chain.mempool_len() as u64);
        gauge(&self.consensus_view, chain.consensus_view());
        gauge(&self.consensus_term, chain.consensus_term());
        let leader = chain.leader();
        gauge(&self.leader_known, u64::from(leader.is_some()));
        gauge(
            &self.is_leader,
            u64::from(leader.as_deref() == Some(chain.config.node_id.as_str())),
        );
        gauge(&self.voters, chain.voters().len() as u64);
        gauge(
            &self.peers_connected,
            chain
                .network()
                .map_or(0, |network| network.connected_peers().len() as u64),
        );
        gauge(
            &self.peer_protocol_mismatches,
            chain
                .network()
                .map_or(0, |network| network.protocol_mismatches()),
        );
        gauge(&self.syncing, u64::from(chain.is_syncing()));
        gauge(&self.snapshots_installed, chain.snapshots_installed());
        gauge(&self.proposals_refused, chain.proposals_refused());
        let (verified, reused) = chain.verified_signatures.counts();
        gauge(&self.signatures_verified, verified);
        gauge(&self.signature_verdicts_reused, reused);
        gauge(
            &self.equivocations,
            chain.equivocations().map_or(0, |e| e.len() as u64),
        );
        if !chain.is_syncing() {
            gauge(
                &self.certificates_expiring,
                chain.certificates_expiring().map_or(0, |c| c.len() as u64),
            );
        }
        if let Some(seconds) = crate::chain::cpu_seconds() {
            self.cpu_seconds.set(seconds);
        }
        if let Ok(resources) = chain.resources() {
            gauge(&self.resident_bytes, resources.resident_bytes);
            gauge(&self.mempool_bytes, resources.mempool_bytes);
            gauge(&self.rocksdb_table_bytes, resources.table_bytes);
            gauge(&self.rocksdb_wal_bytes, resources.wal_bytes);
            gauge(&self.rocksdb_memtable_bytes, resources.memtable_bytes);
        }
        if let Ok(stall) = chain.ledger.write_stall() {
            gauge(&self.rocksdb_write_stopped, u64::from(stall.stopped));
            gauge(&self.rocksdb_delayed_write_rate, stall.delayed_write_rate);
        }
        if let Ok(gap) = chain.ledger.history_gap() {
            // Blocks 1 .. below may be missing (genesis is always stored).
            gauge(
                &self.history_gap,
                gap.map_or(0, |below| below.saturating_sub(1)),
            );
        }
    }

    /// The OpenMetrics text of every metric, gauges read from `chain` now.
    pub(crate) fn render(&self, chain: &Chain) -> String {
        self.refresh(chain);
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            warn!(%error, "could not encode the metrics");
        }
        text
    }
}

/// Why the node is not ready to serve, or `None` if it is: not stopping or failed, not
/// installing a snapshot, and (networked engines) it knows a leader.
pub(crate) fn not_ready(chain: &Chain) -> Option<&'static str> {
    if chain.has_failed() {
        Some("the block producer stopped on a fatal error")
    } else if chain.is_stopping() {
        Some("shutting down")
    } else if chain.is_syncing() {
        Some("installing a state snapshot")
    } else if chain.network().is_some() && chain.leader().is_none() {
        Some("no consensus leader known (an election or view change, or no quorum)")
    } else {
        None
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen` until `stop` resolves; returns the
/// address bound.
pub(crate) async fn serve(
    listen: SocketAddr,
    chain: Arc<Chain>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let metrics_chain = chain.clone();
    let health_chain = chain.clone();
    let ready_chain = chain;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let chain = metrics_chain.clone();
                async move {
                    let text = tokio::task::spawn_blocking(move || chain.metrics.render(&chain))
                        .await
                        .unwrap_or_default();
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let chain = health_chain.clone();
                async move {
                    if chain.has_failed() {
                        (StatusCode::SERVICE_UNAVAILABLE, "block producer stopped\n")
                            .into_response()
                    } else {
                        (StatusCode::OK, "ok\n").into_response()
                    }
                }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let chain = ready_chain.clone();
                async move {
                    match not_ready(&chain) {
                        None => (StatusCode::OK, "ready\n".to_owned()).into_response(),
                        Some(why) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready: {why}\n"),
                        )
                            .into_response(),
                    }
                }
            }),
        );
    info!(%address, "metrics and health listening");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            warn!(%error, "the metrics listener stopped");
        }
    });
    Ok(address)
}
