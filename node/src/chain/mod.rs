//! The node's chain: the ledger, the mempool, commit notifications, and the block producer that
//! drives the consensus engine.
//!
//! The producer is one OS thread, the only writer of the ledger. Each round it cuts a block from
//! the mempool, executes it, seals it with the new state root, proposes it to the engine, and
//! applies whatever the engine reports committed: persist the block, its state and indexes in one
//! synced batch, written behind the producer (which executes the next block on it meanwhile),
//! then, once that batch is durable, wake waiting clients, stream the events and prune the
//! mempool. The producer reads its own view (`producer_head`, `producer_state`: the block being
//! written included); the API reads only what is durable. A committed
//! block the node did not execute itself (a follower's, later) is re-executed and its state root
//! checked; a mismatch stops the node rather than let it serve a state others do not have.
//!
//! This module owns [`Chain`], the handle the API and the network hold: starting and stopping
//! the node's chain, and what it reports (head, parameters, leader, voters, resources,
//! certificates expiring soon). The work is in its rooms:
//!
//! - `admission`: admitting transactions to the mempool, their waiters, forwarding them to the
//!   leader, the nonces the mempool is pruned by;
//! - `production`: whether a block is due, its time, cutting, executing, fitting and proposing it;
//! - `engine_loop`: the producer thread and the one conversation with the consensus engine
//!   (which engine, resumed how; inputs in; each `Ready` carried out as persist, send, apply,
//!   advance), the only code that sees `Ready`, `Persist` or `Outgoing`;
//! - `apply`: applying what the engine committed: re-execution and its checks, the synced
//!   commit, notifying waiters and subscribers;
//! - `snapshot`: state sync: checkpoints taken and served, snapshots installed, history filled in;
//! - `membership`: the consensus peers, and bringing the network and Raft in line with the
//!   membership recorded on chain.
//!
//! Invariants kept across them: the producer thread is the only writer of the ledger; one
//! proposal is in flight at a time; a block is applied only after the engine reports it
//! committed; a producer stopped by a fatal error says so ([`Chain::has_failed`],
//! [`Chain::is_stopping`]) and drops every waiter.

mod admission;
mod admission_batch;
mod apply;
mod certify;
mod engine_loop;
mod membership;
mod pbft;
mod production;
mod snapshot;
mod validation;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::{broadcast, oneshot};
use tracing::{debug, info, warn};
use vchain_consensus::{Engine, NodeId};
use vchain_contracts::block::{block_hash, seal, BlockDraft};
use vchain_contracts::execute::chain_config;
use vchain_contracts::genesis::Genesis;
use vchain_contracts::limits::BLOCK_TX_LIMIT;
use vchain_contracts::tx::Hash;
use vchain_contracts::verified::VerifiedSignatures;
use vchain_contracts::BlockOutcome;
use vchain_ledger::{BlockCommit, ChainHead, RocksLedger};
use vchain_proto::v1::{ChainParams, Event, NodeAlert, ResourceUsage, TxResult};

use crate::block_time::PeerClocks;
use crate::clock::ChainClock;
use crate::config::NodeConfig;
use crate::incarnation::Incarnations;
use crate::mempool::Mempool;
use crate::network::{NetworkHandle, PeerId};
use crate::sync::{CheckpointStore, SyncError};

pub(crate) use admission::BatchOrigin;
pub use admission::{Admission, SubmitError};
pub(crate) use membership::Peers;

use engine_loop::{resume_engine, Producer, ResumedEngine, Wake, PRODUCER_QUEUE_MAX};
use membership::MembershipSync;

/// How many committed blocks the event channel buffers for slow subscribers.
pub(crate) const EVENT_CHANNEL_BLOCKS_MAX: usize = 1_024;

/// How many alerts the alert channel buffers for slow subscribers.
pub(crate) const ALERT_CHANNEL_MAX: usize = 64;
/// Valid signature verdicts a node keeps beyond one per mempool slot: a few largest blocks'
/// worth, for transactions that arrive in a block without passing this node's admission (a
/// follower's, or a block validated across views) while the mempool is full.
const VERDICTS_BEYOND_MEMPOOL: usize = 4 * BLOCK_TX_LIMIT as usize;

/// What a waiting client learns when its transaction commits.
#[derive(Debug, Clone)]
pub struct CommitNotice {
    /// Block height.
    pub height: u64,
    /// The transaction's result.
    pub result: TxResult,
}

/// The events of one committed block.
#[derive(Debug, Clone)]
pub(crate) struct BlockEvents {
    /// Block height.
    pub(crate) height: u64,
    /// Events in chain order.
    pub(crate) events: Vec<Event>,
}

/// Why the node could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Storage failed.
    #[error("ledger: {0}")]
    Ledger(#[from] vchain_ledger::LedgerError),
    /// Execution failed (storage or corrupt state).
    #[error("execution: {0}")]
    Exec(#[from] vchain_contracts::ExecError),
    /// The genesis file is unusable or does not match the stored chain.
    #[error("genesis: {0}")]
    Genesis(String),
    /// A committed block does not match what this node computes: the node must stop.
    #[error("divergence at height {height} in {field}: {why}")]
    Divergence {
        /// Height.
        height: u64,
        /// The block field that differs (`tx_root`, `state_root` ...; see
        /// [`BlockField`](vchain_contracts::block::BlockField)), or `block` when the block
        /// itself is unreadable.
        field: &'static str,
        /// What differed: expected and found.
        why: String,
    },
    /// The consensus engine refused.
    #[error("consensus: {0}")]
    Consensus(#[from] vchain_consensus::ConsensusError),
    /// An invariant assertion failed while producing or applying a block.
    #[error("invariant violated: {0}")]
    Invariant(String),
    /// State sync failed.
    #[error("state sync: {0}")]
    Sync(#[from] SyncError),
    /// The node is installing a state snapshot and has no state to serve yet.
    #[error(
        "this node is installing a state snapshot from its peers ({0}); ask another node or retry"
    )]
    Syncing(String),
    /// The node began to stop while waiting for something it needs (a snapshot from peers).
    #[error("interrupted by shutdown: {0}")]
    Interrupted(String),
    /// The operating system would not start one of the node's threads (its limits on threads
    /// or memory): nothing about the chain is wrong.
    #[error("cannot start the {thread} thread: {why}")]
    ThreadStart {
        /// Which thread (`block-producer`, `admission`).
        thread: &'static str,
        /// The operating system's error.
        why: String,
    },
}

/// Certificates expiring within this many days are reported in status and logged.
pub(crate) const CERTIFICATE_WARNING_DAYS: u32 = 30;
/// Most expiring certificates one report lists.
pub(crate) const CERTIFICATES_REPORTED_MAX: usize = 100;
/// How often (wall time) the producer logs the certificates expiring soon.
const CERTIFICATE_WARNING_INTERVAL: Duration = Duration::from_secs(3600);

/// Shared state of a running node, used by the producer and the API. A program embedding a node
/// reaches it through [`NodeHandle::chain`](crate::NodeHandle::chain) to inspect it in-process.
pub struct Chain {
    /// The ledger.
    pub ledger: Arc<RocksLedger>,
    /// Chain time.
    pub clock: Arc<ChainClock>,
    /// Node config.
    pub config: NodeConfig,
    /// Chain id.
    pub chain_id: String,
    /// Chain parameters as of the last committed block (a passed `SetChainParams` proposal
    /// changes them); read with [`Chain::params`].
    params: Mutex<ChainParams>,
    /// Hash of block 0.
    pub(crate) genesis_hash: Hash,
    /// Consensus engine name.
    pub(crate) engine_name: String,
    mempool: Mutex<Mempool>,
    /// Signatures this node found valid (at admission, mostly), so a block verifies only what
    /// this node has not seen (see [`vchain_contracts::verified`]).
    pub(crate) verified_signatures: VerifiedSignatures,
    /// The queue to the thread that checks single submissions in batches.
    pub(crate) admission: admission_batch::AdmissionBatcher,
    waiters: Mutex<HashMap<Hash, Vec<oneshot::Sender<CommitNotice>>>>,
    events: broadcast::Sender<Arc<BlockEvents>>,
    wake: SyncSender<Wake>,
    stopping: AtomicBool,
    /// The producer sleeps awaiting transactions on a busy chain: the next admission wakes it
    /// (`Wake::Arrived`) and clears this.
    awaiting_transactions: AtomicBool,
    failed: AtomicBool,
    /// Why the producer stopped on a fatal error, for status (empty while it runs).
    failure: Mutex<String>,
    /// Flips to true when the node stops, so long-lived streams end and shutdown can finish.
    stopped: tokio::sync::watch::Sender<bool>,
    /// The network of a networked engine (`None` for solo).
    peers: Option<Peers>,
    /// The leader as the engine last reported it.
    leader: Mutex<Option<NodeId>>,
    /// The PBFT view as the engine last reported it (0 under raft and solo, which have none);
    /// `leader` is then that view's primary.
    pub(crate) consensus_view: std::sync::atomic::AtomicU64,
    /// The Raft term as the engine last reported it (0 under PBFT and solo).
    pub(crate) consensus_term: std::sync::atomic::AtomicU64,
    /// The voters as the engine last reported them.
    voters: Mutex<Vec<NodeId>>,
    /// Checkpoints kept for state sync (networked engines only).
    checkpoints: Option<CheckpointStore>,
    /// True while this node installs a state snapshot from a peer.
    syncing: AtomicBool,
    /// State snapshots installed from peers since start.
    snapshots_installed: std::sync::atomic::AtomicU64,
    /// True while a thread fills in blocks a snapshot install skipped.
    backfilling: AtomicBool,
    /// The consensus members' clocks as they last told them (see [`crate::block_time`]).
    pub(crate) peer_clocks: PeerClocks,
    /// When (real time) this node applied its head block, or started.
    head_applied_at: Mutex<Instant>,
    /// Committed blocks whose time was ahead of this node's clock by more than the
    /// configured skew, since start.
    blocks_ahead_of_clock: std::sync::atomic::AtomicU64,
    /// This node's consensus incarnation and its verdicts on its peers' (networked engines).
    pub(crate) incarnations: Option<Incarnations>,
    /// Block proposals the consensus engine refused since start (each retried later).
    proposals_refused: std::sync::atomic::AtomicU64,
    /// Bytes of log entries the consensus engine holds in memory, as it last reported them.
    consensus_log_bytes: std::sync::atomic::AtomicU64,
    /// Every block up to this height carries a commit certificate here (raft and solo: as far
    /// back as certification looked at start; PBFT: unused, blocks commit certified).
    certified_height: std::sync::atomic::AtomicU64,
    /// Alerts this node raises (not chain events), for event streams.
    alerts: broadcast::Sender<Arc<NodeAlert>>,
    /// Prometheus metrics (served when the config has a `[metrics]` section).
    pub(crate) metrics: crate::metrics::Metrics,
}

/// The process's resident memory: `VmRSS` of `/proc/self/status` (kB), on Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Clock ticks per second of the CPU times in `/proc`: the kernel's `USER_HZ`, which Linux fixes
/// at 100 for user space on the architectures vchain runs on (x86_64, aarch64); it is what
/// `sysconf(_SC_CLK_TCK)` answers there, read as a constant so the node needs no libc binding.
const PROC_TICKS_PER_SECOND: f64 = 100.0;

/// CPU time the process has used since it started, user and system together, in seconds:
/// `utime` + `stime` of `/proc/self/stat`, on Linux. It counts every thread, ended ones too, so
/// its rise over a wall-clock interval is the cores the node kept busy.
pub(crate) fn cpu_seconds() -> Option<f64> {
    cpu_seconds_of(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// [`cpu_seconds`] of one `/proc/<pid>/stat` line.
fn cpu_seconds_of(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses: count
    // the fields from after its last `)`, where field 3 (the state) is the first.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of the line.
    let user: u64 = fields.get(14 - 3)?.parse().ok()?;
    let system: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(user.checked_add(system)? as f64 / PROC_TICKS_PER_SECOND)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks already stops the node; keep serving what is left.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The genesis block `genesis` makes: the block, its hash, its state root and its writes.
fn genesis_block(
    genesis: &Genesis,
) -> Result<(vchain_proto::v1::Block, Hash, Hash, BlockOutcome), ChainError> {
    let state = genesis
        .state()
        .map_err(|e| ChainError::Genesis(e.to_string()))?;
    // The genesis root from an empty tree: the same whether or not the ledger already has it.
    let genesis_root = genesis_root(&state)?;
    let outcome = BlockOutcome {
        state_writes: state,
        ..BlockOutcome::default()
    };
    let draft = BlockDraft {
        chain_id: genesis.chain_id.clone(),
        height: 0,
        prev_hash: [0; 32],
        timestamp_ms: genesis.genesis_time_ms,
        proposer: "genesis".into(),
    };
    let (block, hash) = seal(draft, Vec::new(), &outcome, genesis_root);
    Ok((block, hash, genesis_root, outcome))
}

/// The hash of the genesis block `genesis` makes (block 0 of every ledger of its chain).
pub(crate) fn genesis_hash(genesis: &Genesis) -> Result<Hash, ChainError> {
    Ok(genesis_block(genesis)?.1)
}

/// Opens the ledger, writes genesis on first start (or checks it matches on later ones).
pub(crate) fn open_ledger(
    config: &NodeConfig,
    genesis: &Genesis,
) -> Result<(Arc<RocksLedger>, Hash), ChainError> {
    let ledger = RocksLedger::open_with(&config.ledger_dir(), &config.storage.budget())?;
    ledger.attach_archive(config.archive_dir())?;
    let (block, hash, genesis_root, outcome) = genesis_block(genesis)?;
    match ledger.head()? {
        None => {
            let bytes = block.encode_to_vec();
            ledger.commit_block(&BlockCommit {
                height: 0,
                block_hash: hash,
                state_root: genesis_root,
                timestamp_ms: genesis.genesis_time_ms,
                block_bytes: &bytes,
                tx_hashes: &[],
                state_writes: &outcome.state_writes,
                tree: &ledger.prepare_state(&outcome.state_writes)?,
                index_writes: &outcome.index_writes,
                certificate: None,
            })?;
            info!(chain_id = %genesis.chain_id, genesis_hash = %hex::encode(hash), state_root = %hex::encode(genesis_root), "wrote genesis block");
        }
        Some(head) => {
            let stored = ledger
                .block(0)?
                .and_then(|b| b.header)
                .map(|h| block_hash(&h));
            if stored != Some(hash) {
                return Err(ChainError::Genesis(format!(
                    "the genesis file gives block 0 hash {}, the ledger holds {}",
                    hex::encode(hash),
                    stored
                        .map(hex::encode)
                        .unwrap_or_else(|| "no block 0".into())
                )));
            }
            info!(height = head.height, head = %hex::encode(head.block_hash), state_root = %hex::encode(head.state_root), "reopened ledger");
        }
    }
    Ok((Arc::new(ledger), hash))
}

/// The state root genesis produces, computed on an empty in-memory tree.
fn genesis_root(state: &vchain_ledger::WriteSet) -> Result<Hash, ChainError> {
    Ok(vchain_ledger::MemoryLedger::new().apply(state)?)
}

impl Chain {
    /// Starts the chain: opens the ledger and spawns the producer thread.
    pub(crate) fn start(
        config: NodeConfig,
        genesis: &Genesis,
        clock: Arc<ChainClock>,
        peers: Option<Peers>,
    ) -> Result<(Arc<Chain>, std::thread::JoinHandle<()>), ChainError> {
        Self::start_with_engine(config, genesis, clock, peers, |engine| engine)
    }

    /// [`Chain::start`] with the engine passed through `wrap` first (tests put a faulty engine
    /// around the real one).
    pub(crate) fn start_with_engine(
        config: NodeConfig,
        genesis: &Genesis,
        clock: Arc<ChainClock>,
        peers: Option<Peers>,
        wrap: impl FnOnce(Box<dyn Engine>) -> Box<dyn Engine>,
    ) -> Result<(Arc<Chain>, std::thread::JoinHandle<()>), ChainError> {
        // A Raft or PBFT node outside genesis may start: it waits, voting nowhere, until the
        // consortium adds it (a passed AddConsensusNode proposal), following the chain (Raft:
        // the leader replicates to it; PBFT: it asks the validators for certified blocks).
        if !matches!(genesis.consensus.engine.as_str(), "raft" | "pbft")
            && !genesis
                .consensus
                .nodes
                .iter()
                .any(|n| n.node_id == config.node_id)
        {
            return Err(ChainError::Genesis(format!(
                "node {} is not a consensus node in genesis",
                config.node_id
            )));
        }
        let (ledger, genesis_hash) = open_ledger(&config, genesis)?;
        let (chain_id, params) = chain_config(&*ledger)?;
        // A ledger whose chain already runs rules this node does not execute cannot be served
        // or extended: refuse to start, saying which release is needed.
        let active = vchain_contracts::rules::active_rules(&*ledger)?;
        if active.version > config.rules_version_max() {
            return Err(vchain_contracts::ExecError::RulesUnsupported {
                implemented: config.rules_version_max(),
                version: active.version,
                height: active.activation_height,
            }
            .into());
        }
        let head = ledger
            .head()?
            .ok_or_else(|| ChainError::Genesis("ledger has no head after genesis".into()))?;
        let ResumedEngine {
            engine,
            pending_install,
            incarnations,
            validator_keys,
        } = resume_engine(&config, genesis, &ledger, &head)?;
        let validator_keys = validator_keys.map(|keys| (keys, engine.voters()));
        let mut engine = wrap(engine);
        let incarnation_version = match &incarnations {
            Some(incarnations) => {
                engine.refuse_votes_from(&incarnations.refused());
                if incarnations.voting_forbidden() {
                    engine.forbid_voting();
                }
                incarnations.version()
            }
            None => 0,
        };
        if engine.voters() != [config.node_id.clone()] && peers.is_none() {
            return Err(ChainError::Genesis(
                "a networked engine needs the [network] config section".into(),
            ));
        }
        let checkpoints = match &peers {
            Some(_) => Some(CheckpointStore::open(&config.data_dir.join("checkpoints"))?),
            None => None,
        };
        let (wake, wake_rx) = std::sync::mpsc::sync_channel(PRODUCER_QUEUE_MAX);
        let chain = Arc::new(Chain {
            mempool: Mutex::new(Mempool::new(
                config.mempool_max,
                crate::config::mib(config.mempool_mib_max) as usize,
            )),
            admission: Default::default(),
            verified_signatures: VerifiedSignatures::new(
                config.mempool_max.saturating_add(VERDICTS_BEYOND_MEMPOOL),
            ),
            waiters: Mutex::new(HashMap::new()),
            events: broadcast::channel(EVENT_CHANNEL_BLOCKS_MAX).0,
            ledger,
            clock,
            chain_id,
            params: Mutex::new(params),
            genesis_hash,
            engine_name: genesis.consensus.engine.clone(),
            config,
            wake,
            stopping: AtomicBool::new(false),
            awaiting_transactions: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            failure: Mutex::new(String::new()),
            stopped: tokio::sync::watch::channel(false).0,
            peers,
            leader: Mutex::new(None),
            consensus_view: std::sync::atomic::AtomicU64::new(0),
            consensus_term: std::sync::atomic::AtomicU64::new(0),
            voters: Mutex::new(Vec::new()),
            checkpoints,
            syncing: AtomicBool::new(false),
            snapshots_installed: Default::default(),
            backfilling: AtomicBool::new(false),
            peer_clocks: PeerClocks::default(),
            head_applied_at: Mutex::new(Instant::now()),
            blocks_ahead_of_clock: Default::default(),
            incarnations,
            proposals_refused: Default::default(),
            consensus_log_bytes: Default::default(),
            certified_height: Default::default(),
            alerts: broadcast::channel(ALERT_CHANNEL_MAX).0,
            metrics: crate::metrics::Metrics::new(),
        });
        admission_batch::AdmissionBatcher::start(&chain).map_err(|error| {
            ChainError::ThreadStart {
                thread: "admission",
                why: error.to_string(),
            }
        })?;
        let certification = match chain.engine_name.as_str() {
            "pbft" => None,
            _ => Some(certify::Certification::resume(&chain)?),
        };
        let producer = Producer {
            chain: chain.clone(),
            engine,
            wake: wake_rx,
            prepared: None,
            staged: None,
            in_flight: None,
            last_cut_carried_transactions: false,
            last_carrying_cut: Instant::now(),
            retry_after: None,
            runtime: tokio::runtime::Handle::try_current().ok(),
            pending_install,
            membership: MembershipSync::default(),
            reforward: (Instant::now(), 0),
            last_clock_share: Instant::now(),
            last_clock_warning: None,
            incarnation_version,
            log_bytes_since_checkpoint: 0,
            validations: Vec::new(),
            validated: Vec::new(),
            validator_keys,
            last_snapshot_try: None,
            certification,
        };
        // The incarnation notice goes out first on every message stream: set it before the
        // producer (or anyone) sends a frame.
        if let (Some(peers), Some(incarnations)) = (&chain.peers, &chain.incarnations) {
            if let Err(error) = peers.network.announce(incarnations.notice()) {
                warn!(%error, "could not set the incarnation notice");
            }
        }
        let handle = std::thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || producer.run())
            .map_err(|e| ChainError::ThreadStart {
                thread: "block-producer",
                why: e.to_string(),
            })?;
        Ok((chain, handle))
    }

    /// The consensus node behind a network peer.
    pub(crate) fn node_of(&self, peer: &PeerId) -> Option<NodeId> {
        self.peers.as_ref()?.node_of(peer)
    }

    /// The network of a networked engine (operators and tests use it to inspect or cut links).
    pub fn network(&self) -> Option<&NetworkHandle> {
        self.peers.as_ref().map(|p| &p.network)
    }

    /// Closes the network, if any.
    pub(crate) async fn stop_network(&self) {
        if let Some(peers) = &self.peers {
            let _ = peers.network.shutdown().await;
        }
    }

    /// The leader as last reported by the engine.
    pub(crate) fn leader(&self) -> Option<NodeId> {
        lock(&self.leader).clone()
    }

    /// The PBFT view as last reported by the engine (0 under raft and solo).
    pub(crate) fn consensus_view(&self) -> u64 {
        self.consensus_view.load(Ordering::Relaxed)
    }

    /// The Raft term as the engine last reported it (0 under PBFT and solo).
    pub(crate) fn consensus_term(&self) -> u64 {
        self.consensus_term.load(Ordering::Relaxed)
    }

    /// The consensus voters as last reported by the engine (sorted).
    pub(crate) fn voters(&self) -> Vec<NodeId> {
        lock(&self.voters).clone()
    }

    /// Hands a peer's consensus message to the producer (dropped if its queue is full: the
    /// protocol resends).
    pub(crate) fn deliver_consensus(&self, from: NodeId, bytes: Vec<u8>) {
        if self.wake.try_send(Wake::Consensus { from, bytes }).is_err() {
            debug!("producer queue full; dropping a consensus message");
        }
    }

    /// The block producer's head: the block staged and still being written, if any, else the
    /// durable head. What the producer builds on and checks committed blocks against; never
    /// what the API reports (a staged block is not acknowledged until it is durable).
    pub(super) fn producer_head(&self) -> Result<ChainHead, ChainError> {
        match self.ledger.staged_head() {
            Some(staged) => Ok(staged),
            None => self.head(),
        }
    }

    /// The block producer's view of the state: the durable state with the staged block's
    /// writes over it (`RocksLedger::cached_state`). Everything that decides what the next
    /// block is or whether a committed one is valid reads this; everything that tells anyone
    /// reads the durable store.
    pub(super) fn producer_state(&self) -> vchain_ledger::rocks::CachedState<'_> {
        self.ledger.cached_state()
    }

    /// The durable head: every block up to it is synced to disk and acknowledged.
    pub(crate) fn head(&self) -> Result<ChainHead, ChainError> {
        match self.ledger.head()? {
            Some(head) => Ok(head),
            None if self.is_syncing() => Err(ChainError::Syncing("no head yet".into())),
            None => Err(ChainError::Genesis("ledger has no head".into())),
        }
    }

    /// Block proposals the consensus engine refused since start. Each is logged and retried;
    /// none stops the node.
    pub(crate) fn proposals_refused(&self) -> u64 {
        self.proposals_refused.load(Ordering::Relaxed)
    }

    /// What this node holds in memory and on disk now, by what holds it.
    pub(crate) fn resources(&self) -> Result<ResourceUsage, ChainError> {
        let storage = self.ledger.usage()?;
        Ok(ResourceUsage {
            resident_bytes: resident_bytes().unwrap_or(0),
            consensus_log_bytes: self.consensus_log_bytes.load(Ordering::Relaxed),
            mempool_bytes: lock(&self.mempool).bytes() as u64,
            memtable_bytes: storage.memtable_bytes,
            block_cache_bytes: storage.block_cache_bytes,
            wal_bytes: storage.wal_bytes,
            table_bytes: storage.table_bytes,
            block_bytes: storage.block_bytes,
            checkpoint_log_index: self
                .checkpoints
                .as_ref()
                .and_then(CheckpointStore::newest)
                .map_or(0, |c| c.descriptor.log_index),
        })
    }

    /// Number of waiting transactions.
    pub fn mempool_len(&self) -> usize {
        lock(&self.mempool).len()
    }

    /// Committed-block events, for streaming.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<BlockEvents>> {
        self.events.subscribe()
    }

    /// Alerts this node raises (evidence of a member signing two blocks at one height), for
    /// streaming beside the chain's events.
    pub(crate) fn subscribe_alerts(&self) -> broadcast::Receiver<Arc<NodeAlert>> {
        self.alerts.subscribe()
    }

    /// The height through which every block carries a commit certificate on this node: the
    /// head under PBFT (blocks commit with one), the certifier's progress under raft and solo.
    pub(crate) fn certified_height(&self) -> Result<u64, ChainError> {
        let head = self.head()?.height;
        Ok(match self.engine_name.as_str() {
            "pbft" => head,
            _ => self.certified_height.load(Ordering::Relaxed).min(head),
        })
    }

    /// Active certificates on chain that expire within [`CERTIFICATE_WARNING_DAYS`] of the
    /// node's chain time (or already have), soonest first, at most [`CERTIFICATES_REPORTED_MAX`].
    pub(crate) fn certificates_expiring(
        &self,
    ) -> Result<Vec<vchain_proto::v1::CertificateRecord>, ChainError> {
        let before_ms = self
            .clock
            .now_ms()
            .saturating_add(u64::from(CERTIFICATE_WARNING_DAYS) * 86_400_000);
        Ok(vchain_contracts::certificates_expiring(
            &*self.ledger,
            before_ms,
            CERTIFICATES_REPORTED_MAX,
        )?)
    }

    /// Logs a warning for every certificate expiring soon (see [`Chain::certificates_expiring`]).
    pub(crate) fn warn_expiring_certificates(&self) {
        match self.certificates_expiring() {
            Ok(expiring) => {
                let now_ms = self.clock.now_ms();
                for record in expiring {
                    let expired = record.not_after_ms < now_ms;
                    warn!(
                        org = %record.org_id,
                        subject = %record.subject_id,
                        role = %record.role,
                        serial = %hex::encode(&record.serial),
                        not_after_ms = record.not_after_ms,
                        days_left = record.not_after_ms.saturating_sub(now_ms) / 86_400_000,
                        expired,
                        "certificate expires soon: issue a new one and rotate it in (vchain ca issue, vchain account rotate-key)"
                    );
                }
            }
            Err(error) => warn!(%error, "could not read the certificates expiring soon"),
        }
    }

    /// The chain parameters in force for the next block.
    pub(crate) fn params(&self) -> ChainParams {
        *lock(&self.params)
    }

    /// Refuses to execute block `height` (proposing, re-executing or validating it) under a
    /// chain rules version this node does not execute: a fatal error that stops the producer
    /// before anything of the block runs, as a divergence does. Restarted with a release (or
    /// `rules_version_max`) that implements it, the node applies the same block and goes on.
    pub(crate) fn require_rules_for(&self, height: u64) -> Result<(), ChainError> {
        // The producer's view: the block before `height` may still be being written.
        let state = self.producer_state();
        let rules = vchain_contracts::block_rules(&state, height)?;
        let implemented = self.config.rules_version_max();
        if rules.version <= implemented {
            return Ok(());
        }
        let activation_height = match &rules.activates {
            Some(pending) => pending.activation_height,
            None => vchain_contracts::rules::active_rules(&state)?.activation_height,
        };
        Err(vchain_contracts::ExecError::RulesUnsupported {
            implemented,
            version: rules.version,
            height: activation_height,
        }
        .into())
    }

    /// The active chain rules version and the pending upgrade, if any, as committed.
    pub(crate) fn rules(
        &self,
    ) -> Result<
        (
            vchain_proto::v1::ChainRules,
            Option<vchain_proto::v1::ChainRules>,
        ),
        ChainError,
    > {
        Ok((
            vchain_contracts::rules::active_rules(&*self.ledger)?,
            vchain_contracts::rules::pending_rules(&*self.ledger)?,
        ))
    }

    /// If the chain scheduled a rules version this node does not execute: says so at error
    /// level, naming the height to upgrade before, and sends a [`NodeAlert`] to every event
    /// stream. Called when such a schedule is applied, at start and hourly.
    pub(crate) fn warn_unsupported_rules(&self) {
        let pending = match vchain_contracts::rules::pending_rules(&*self.ledger) {
            Ok(Some(pending)) => pending,
            Ok(None) => return,
            Err(error) => {
                warn!(%error, "could not read the scheduled chain rules upgrade");
                return;
            }
        };
        let rules_version_max = self.config.rules_version_max();
        if pending.version <= rules_version_max {
            return;
        }
        tracing::error!(
            version = pending.version,
            activation_height = pending.activation_height,
            rules_version_max,
            proposal = %pending.proposal_id,
            "the chain activates rules v{} at height {}, and this node implements rules up to \
             v{rules_version_max}: upgrade this node's release before height {}, or it stops there",
            pending.version,
            pending.activation_height,
            pending.activation_height,
        );
        let _ = self.alerts.send(Arc::new(NodeAlert {
            rules_upgrade_unsupported: Some(vchain_proto::v1::RulesUpgradeUnsupported {
                version: pending.version,
                activation_height: pending.activation_height,
                rules_version_max,
                proposal_id: pending.proposal_id,
            }),
            ..NodeAlert::default()
        }));
    }

    /// How far ahead of this node's clock a block's time may be before it is flagged.
    pub(crate) fn clock_skew_ms_max(&self) -> u64 {
        self.config
            .network
            .as_ref()
            .map_or(crate::config::CLOCK_SKEW_MS_MAX_DEFAULT, |n| {
                n.clock_skew_ms_max
            })
    }

    /// Committed blocks flagged since start for a time ahead of this node's clock.
    pub(crate) fn blocks_ahead_of_clock(&self) -> u64 {
        self.blocks_ahead_of_clock.load(Ordering::Relaxed)
    }

    /// Re-reads the chain parameters (after a block that changed them, or a snapshot install)
    /// from the producer's view: the next block is cut and checked under them even while the
    /// block that changed them is still being written.
    fn refresh_params(&self) -> Result<(), ChainError> {
        let (_, params) = chain_config(&self.producer_state())?;
        *lock(&self.params) = params;
        Ok(())
    }

    /// Asks the producer to finish its block and stop.
    pub(crate) fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.admission.stop();
        self.stopped.send_replace(true);
        let _ = self.wake.try_send(Wake::Shutdown);
    }

    /// Resolves when the node begins to stop.
    pub(crate) fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopped.subscribe()
    }

    /// True once shutdown began (or the producer stopped on a fatal error).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// True if the producer stopped on a fatal error (storage failure or divergence).
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Why the producer stopped on a fatal error, in words; empty while it runs.
    pub fn failure(&self) -> String {
        lock(&self.failure).clone()
    }
}

#[cfg(test)]
mod resource_tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_user_plus_system_ticks_counted_after_the_command_name() {
        // A command name with a space and a parenthesis; utime 250 and stime 125 ticks.
        let stat = "4242 (vchain (node) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 250 125 0 0 \
                    20 0 9 0 100 2000000 5000 18446744073709551615";
        assert_eq!(cpu_seconds_of(stat), Some(3.75));
        assert_eq!(cpu_seconds_of("4242 (short) S 1"), None);
        assert_eq!(cpu_seconds_of("no parenthesis"), None);
        let now = cpu_seconds().expect("Linux has /proc/self/stat");
        assert!(now >= 0.0);
    }
}
