//! The node's chain: the ledger, the mempool, commit notifications, and the block producer that
//! drives the consensus engine.
//!
//! The producer is one OS thread, the only writer of the ledger. Each round it cuts a block from
//! the mempool, executes it, seals it with the new state root, proposes it to the engine, and
//! applies whatever the engine reports committed: persist the block, its state and indexes in one
//! synced batch, then wake waiting clients, stream the events and prune the mempool. A committed
//! block the node did not execute itself (a follower's, later) is re-executed and its state root
//! checked; a mismatch stops the node rather than let it serve a state others do not have.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, oneshot};
use tracing::{debug, error, info, info_span, warn};
use vchain_consensus::raft::{RaftConfig, RaftEngine};
use vchain_consensus::{
    solo::Solo, CommittedEntry, Durable, Engine, LogEntry, MembershipChange, NodeId, Outgoing,
    Persist, SnapshotRecord,
};
use vchain_contracts::block::{
    block_hash, check_body, check_execution, check_header, seal, BlockDraft, BlockField,
    BlockMismatch, Parent,
};
use vchain_contracts::execute::chain_config;
use vchain_contracts::genesis::Genesis;
use vchain_contracts::limits::{BLOCK_BYTES_LIMIT, BLOCK_TX_LIMIT, ENCODED_BLOCK_BYTES_LIMIT};
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::{
    check_tx, execute_block, keys, read_message, BlockContext, BlockOutcome, CheckError,
};
use vchain_ledger::{BlockCommit, ChainHead, ConsensusWrite, RocksLedger, TreeUpdate};

use vchain_proto::v1::{
    Account, Block, BlockHeader, ChainParams, ErrorCode, Event, EventKind, ResourceUsage,
    SignedTransaction, TransactionBody, TxResult,
};

use crate::block_time::{block_time, PeerClocks, CLOCK_SHARE_INTERVAL};
use crate::clock::ChainClock;
use crate::config::NodeConfig;
use crate::incarnation::Incarnations;
use crate::mempool::{Mempool, MempoolError};
use crate::network::{NetworkHandle, PeerId};
use crate::sync::{CheckpointStore, Fetcher, SyncError};

/// How many committed blocks the event channel buffers for slow subscribers.
pub const EVENT_CHANNEL_BLOCKS_MAX: usize = 1_024;
/// Most clients waiting on one transaction's commit.
pub const WAITERS_PER_TX_MAX: usize = 64;

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
pub struct BlockEvents {
    /// Block height.
    pub height: u64,
    /// Events in chain order.
    pub events: Vec<Event>,
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
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Admission check failed.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The mempool refused.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// The node is stopping.
    #[error("node is shutting down")]
    ShuttingDown,
}

/// Certificates expiring within this many days are reported in status and logged.
pub const CERTIFICATE_WARNING_DAYS: u32 = 30;
/// Most expiring certificates one report lists.
pub const CERTIFICATES_REPORTED_MAX: usize = 100;
/// How often (wall time) the producer logs the certificates expiring soon.
const CERTIFICATE_WARNING_INTERVAL: Duration = Duration::from_secs(3600);

/// Shared state of a running node, used by the producer and the API.
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
    pub genesis_hash: Hash,
    /// Consensus engine name.
    pub engine_name: String,
    mempool: Mutex<Mempool>,
    waiters: Mutex<HashMap<Hash, Vec<oneshot::Sender<CommitNotice>>>>,
    events: broadcast::Sender<Arc<BlockEvents>>,
    wake: SyncSender<Wake>,
    stopping: AtomicBool,
    failed: AtomicBool,
    /// Flips to true when the node stops, so long-lived streams end and shutdown can finish.
    stopped: tokio::sync::watch::Sender<bool>,
    /// The network of a networked engine (`None` for solo).
    peers: Option<Peers>,
    /// The leader as the engine last reported it.
    leader: Mutex<Option<NodeId>>,
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
    pub peer_clocks: PeerClocks,
    /// When (real time) this node applied its head block, or started.
    head_applied_at: Mutex<Instant>,
    /// Committed blocks whose time was ahead of this node's clock by more than the
    /// configured skew, since start.
    blocks_ahead_of_clock: std::sync::atomic::AtomicU64,
    /// This node's consensus incarnation and its verdicts on its peers' (networked engines).
    pub incarnations: Option<Incarnations>,
    /// Block proposals the consensus engine refused since start (each retried later).
    proposals_refused: std::sync::atomic::AtomicU64,
    /// Bytes of log entries the consensus engine holds in memory, as it last reported them.
    consensus_log_bytes: std::sync::atomic::AtomicU64,
}

/// The process's resident memory: `VmRSS` of `/proc/self/status` (kB), on Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A message to the producer thread.
#[derive(Debug)]
enum Wake {
    /// Enough transactions wait for a full block.
    BlockFull,
    /// A consensus message from a peer.
    Consensus {
        /// Sending node.
        from: NodeId,
        /// Opaque engine bytes.
        bytes: Vec<u8>,
    },
    /// Finish the current block and stop.
    Shutdown,
}

/// Most messages waiting for the producer thread (peer consensus traffic included); a full
/// queue drops consensus messages, which the protocol tolerates (they are resent).
pub const PRODUCER_QUEUE_MAX: usize = 4_096;
/// Most waiting transactions handed to a new leader at once.
const FORWARD_ON_LEADER_CHANGE_MAX: usize = 16_384;
/// How often a follower hands the leader again what has waited here since the last time: a
/// forward lost with the leader unchanged would otherwise wait for the next leader change.
const REFORWARD_INTERVAL: Duration = Duration::from_secs(3);
/// Transactions per forwarded batch (the network's batch limit is 4096).
const FORWARD_BATCH_MAX: usize = 1_024;
const _: () = assert!(FORWARD_BATCH_MAX <= crate::network::TRANSACTIONS_PER_BATCH_MAX);
/// How long the producer waits before proposing again after the engine refused a proposal,
/// so a refusing engine (a leadership transfer under way) is not fed a block every tick.
const PROPOSAL_RETRY_DELAY: Duration = Duration::from_millis(250);
/// A proposed block that has not committed after this long is given up (its transactions stay
/// in the mempool for the next block).
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The consensus peers of a networked engine: how node ids map to network identities. The
/// map follows the membership recorded on chain (see `Producer::reconcile_membership`).
pub struct Peers {
    /// The network.
    pub network: NetworkHandle,
    /// Node id -> peer id, for every consensus node but this one.
    by_node: std::sync::RwLock<BTreeMap<NodeId, PeerId>>,
}

impl Peers {
    /// Peers named by node id (this node excluded).
    pub fn new(network: NetworkHandle, by_node: BTreeMap<NodeId, PeerId>) -> Self {
        Peers {
            network,
            by_node: std::sync::RwLock::new(by_node),
        }
    }

    /// The network identity of `node`.
    pub fn peer_of(&self, node: &str) -> Option<PeerId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .copied()
    }

    /// The node behind network identity `peer`.
    pub fn node_of(&self, peer: &PeerId) -> Option<NodeId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(_, p)| *p == peer)
            .map(|(node, _)| node.clone())
    }

    /// Every known peer.
    pub fn all(&self) -> BTreeMap<NodeId, PeerId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace(&self, by_node: BTreeMap<NodeId, PeerId>) {
        *self.by_node.write().unwrap_or_else(|p| p.into_inner()) = by_node;
    }
}

/// Runs `f` when dropped.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks already stops the node; keep serving what is left.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Opens the ledger, writes genesis on first start (or checks it matches on later ones).
pub fn open_ledger(
    config: &NodeConfig,
    genesis: &Genesis,
) -> Result<(Arc<RocksLedger>, Hash), ChainError> {
    let ledger = RocksLedger::open_with(&config.ledger_dir(), &config.storage.budget())?;
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
    pub fn start(
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
        // A Raft node outside genesis may start: it waits, a non-voter, until the consortium
        // adds it (a passed AddConsensusNode proposal) and the leader replicates the chain to it.
        if genesis.consensus.engine != "raft"
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
        let head = ledger
            .head()?
            .ok_or_else(|| ChainError::Genesis("ledger has no head after genesis".into()))?;
        let mut pending_install = None;
        let mut incarnations = None;
        let engine: Box<dyn Engine> = match genesis.consensus.engine.as_str() {
            "raft" => {
                let voters = genesis
                    .consensus
                    .nodes
                    .iter()
                    .map(|n| n.node_id.clone())
                    .collect();
                let mut raft = RaftConfig::new(config.node_id.clone(), voters);
                // Distinct, reproducible election timing per node.
                raft.seed = u64::from_be_bytes(
                    Sha256::digest(config.node_id.as_bytes())[..8]
                        .try_into()
                        .unwrap_or([0; 8]),
                );
                let log = ledger.consensus_load()?;
                // Before the node says anything: its incarnation (see `incarnation`).
                let state_exists =
                    log.hard_state.is_some() || log.snapshot.is_some() || !log.entries.is_empty();
                incarnations = Some(Incarnations::open(
                    ledger.clone(),
                    &config.node_id,
                    state_exists,
                    head.height > 0,
                )?);
                let stored_snapshot = log
                    .snapshot
                    .as_deref()
                    .map(vchain_consensus::raft::decode_snapshot_record)
                    .transpose()?;
                let mut durable = Durable {
                    hard_state: log.hard_state,
                    snapshot: log.snapshot,
                    entries: log
                        .entries
                        .into_iter()
                        .map(|(index, bytes)| LogEntry { index, bytes })
                        .collect(),
                    applied: log.applied,
                };
                // The ledger lost state the consensus log says was applied (an interrupted
                // snapshot install emptied it): resume from the stored snapshot, reinstalling
                // its state from peers first, and apply everything after it again.
                let snapshot_height = match &stored_snapshot {
                    Some(record) => {
                        crate::sync::head_of(&decode_descriptor(record)?)
                            .map_err(ChainError::Sync)?
                            .height
                    }
                    None => 0,
                };
                if ledger.emptied_interrupted_install() || snapshot_height > head.height {
                    warn!(
                        applied = durable.applied,
                        snapshot_height,
                        head = head.height,
                        "the ledger is behind the consensus log; resyncing from the snapshot"
                    );
                    durable.applied = 0;
                    pending_install = stored_snapshot.filter(|_| snapshot_height > head.height);
                }
                info!(
                    applied = durable.applied,
                    entries = durable.entries.len(),
                    "raft engine resuming"
                );
                Box::new(RaftEngine::restart(raft, durable)?)
            }
            _ => Box::new(Solo::resume(config.node_id.clone(), head.height)),
        };
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
            failed: AtomicBool::new(false),
            stopped: tokio::sync::watch::channel(false).0,
            peers,
            leader: Mutex::new(None),
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
        });
        let producer = Producer {
            chain: chain.clone(),
            engine,
            wake: wake_rx,
            prepared: None,
            in_flight: None,
            retry_after: None,
            runtime: tokio::runtime::Handle::try_current().ok(),
            pending_install,
            membership: MembershipSync::default(),
            reforward: (Instant::now(), 0),
            last_clock_share: Instant::now(),
            last_clock_warning: None,
            incarnation_version,
            log_bytes_since_checkpoint: 0,
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
            .map_err(|e| ChainError::Genesis(format!("cannot spawn the producer thread: {e}")))?;
        Ok((chain, handle))
    }

    /// Answers a peer's state-sync request (see [`crate::sync`]).
    pub fn serve_sync(&self, request: &[u8]) -> Vec<u8> {
        match &self.checkpoints {
            Some(checkpoints) => checkpoints.serve(&self.ledger, request),
            None => Vec::new(),
        }
    }

    /// True while this node installs a state snapshot from a peer.
    pub fn is_syncing(&self) -> bool {
        self.syncing.load(Ordering::SeqCst)
    }

    /// Starts filling in, from peers, the blocks a snapshot install skipped (if any are
    /// missing and no filler runs yet). History is only read, never executed, so this runs
    /// beside the producer.
    fn start_backfill(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        if self.peers.is_none() || self.backfilling.swap(true, Ordering::SeqCst) {
            return;
        }
        let chain = self.clone();
        let runtime = runtime.clone();
        let spawned = std::thread::Builder::new()
            .name("history-backfill".into())
            .spawn(move || {
                let Some(peers) = &chain.peers else { return };
                let fetcher = Fetcher {
                    network: &peers.network,
                    runtime: &runtime,
                };
                // A newer snapshot moves the gap up while this runs: go round until none is left.
                while matches!(chain.ledger.history_gap(), Ok(Some(_))) && !chain.is_stopping() {
                    if let Err(error) = crate::sync::backfill_history(
                        &chain.ledger,
                        &fetcher,
                        || peers.all().into_values().collect(),
                        || chain.is_stopping(),
                    ) {
                        error!(%error, "filling in past blocks failed");
                        break;
                    }
                }
                chain.backfilling.store(false, Ordering::SeqCst);
            });
        if let Err(error) = spawned {
            warn!(%error, "cannot start filling in past blocks");
            self.backfilling.store(false, Ordering::SeqCst);
        }
    }

    /// State snapshots this node installed from peers since it started.
    pub fn snapshots_installed(&self) -> u64 {
        self.snapshots_installed.load(Ordering::SeqCst)
    }

    /// The consensus node behind a network peer.
    pub fn node_of(&self, peer: &PeerId) -> Option<NodeId> {
        self.peers.as_ref()?.node_of(peer)
    }

    /// The network of a networked engine (operators and tests use it to inspect or cut links).
    pub fn network(&self) -> Option<&NetworkHandle> {
        self.peers.as_ref().map(|p| &p.network)
    }

    /// Closes the network, if any.
    pub async fn stop_network(&self) {
        if let Some(peers) = &self.peers {
            let _ = peers.network.shutdown().await;
        }
    }

    /// The leader as last reported by the engine.
    pub fn leader(&self) -> Option<NodeId> {
        lock(&self.leader).clone()
    }

    /// The consensus voters as last reported by the engine (sorted).
    pub fn voters(&self) -> Vec<NodeId> {
        lock(&self.voters).clone()
    }

    /// Hands a peer's consensus message to the producer (dropped if its queue is full: the
    /// protocol resends).
    pub fn deliver_consensus(&self, from: NodeId, bytes: Vec<u8>) {
        if self.wake.try_send(Wake::Consensus { from, bytes }).is_err() {
            debug!("producer queue full; dropping a consensus message");
        }
    }

    /// Forwards admitted transactions to the leader when this node is not it, so they reach a
    /// block wherever they were submitted. They also stay in this node's mempool, in case this
    /// node leads next.
    fn forward_to_leader(&self, transactions: Vec<Vec<u8>>) {
        let (Some(peers), Some(leader)) = (&self.peers, self.leader()) else {
            return;
        };
        if leader == self.config.node_id || transactions.is_empty() {
            return;
        }
        if let Some(peer) = peers.peer_of(&leader) {
            if let Err(error) = peers.network.forward_transactions(peer, transactions) {
                debug!(%error, %leader, "could not forward transactions to the leader");
            }
        }
    }

    /// The committed head.
    pub fn head(&self) -> Result<ChainHead, ChainError> {
        match self.ledger.head()? {
            Some(head) => Ok(head),
            None if self.is_syncing() => Err(ChainError::Syncing("no head yet".into())),
            None => Err(ChainError::Genesis("ledger has no head".into())),
        }
    }

    /// Block proposals the consensus engine refused since start. Each is logged and retried;
    /// none stops the node.
    pub fn proposals_refused(&self) -> u64 {
        self.proposals_refused.load(Ordering::Relaxed)
    }

    /// What this node holds in memory and on disk now, by what holds it.
    pub fn resources(&self) -> Result<ResourceUsage, ChainError> {
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
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BlockEvents>> {
        self.events.subscribe()
    }

    /// Admits `tx` to the mempool. With `wait`, also returns a receiver that fires when it
    /// commits (registered before admission, so the commit cannot be missed).
    pub fn submit(
        &self,
        tx: SignedTransaction,
        wait: bool,
    ) -> Result<(Hash, Option<oneshot::Receiver<CommitNotice>>), SubmitError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(SubmitError::ShuttingDown);
        }
        let checked = check_tx(&*self.ledger, &tx)?;
        let forward = self.peers.as_ref().map(|_| tx.encode_to_vec());
        let receiver = if wait {
            let (sender, receiver) = oneshot::channel();
            let mut waiters = lock(&self.waiters);
            let list = waiters.entry(checked.hash).or_default();
            list.retain(|s| !s.is_closed());
            if list.len() < WAITERS_PER_TX_MAX {
                list.push(sender);
            }
            Some(receiver)
        } else {
            None
        };
        let admitted = {
            let mut mempool = lock(&self.mempool);
            let result = mempool.insert(&checked, tx);
            (result, mempool.len())
        };
        match admitted {
            // Sent again while it waits: not a refusal. The caller waits with the others (or
            // hears it is pending), exactly as if it were the first sending.
            (Err(MempoolError::Duplicate(_)), _) => Ok((checked.hash, receiver)),
            (Ok(()), len) => {
                if len >= self.block_tx_target() {
                    let _ = self.wake.try_send(Wake::BlockFull);
                }
                if let Some(forward) = forward {
                    self.forward_to_leader(vec![forward]);
                }
                Ok((checked.hash, receiver))
            }
            (Err(error), _) => {
                // Withdraw only this caller's waiter: another caller may be waiting on the
                // same transaction (a wallet that resent it here), and must still hear.
                drop(receiver);
                let mut waiters = lock(&self.waiters);
                if let Some(list) = waiters.get_mut(&checked.hash) {
                    list.retain(|sender| !sender.is_closed());
                    if list.is_empty() {
                        waiters.remove(&checked.hash);
                    }
                }
                Err(error.into())
            }
        }
    }

    /// Admits many transactions, verifying their signatures in one batch. One result per
    /// transaction, in order; a transaction already waiting is admitted (sent again, not
    /// refused).
    pub fn submit_batch(
        &self,
        transactions: Vec<SignedTransaction>,
    ) -> Result<Vec<Result<Hash, SubmitError>>, SubmitError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(SubmitError::ShuttingDown);
        }
        // Transactions already waiting (a follower handing them over again) are answered
        // without verifying their signatures a second time.
        let hashes: Vec<Hash> = transactions.iter().map(|tx| tx_hash(&tx.body)).collect();
        let waiting: Vec<bool> = {
            let mempool = lock(&self.mempool);
            hashes.iter().map(|hash| mempool.contains(hash)).collect()
        };
        let fresh: Vec<SignedTransaction> = transactions
            .iter()
            .zip(&waiting)
            .filter(|(_, waiting)| !**waiting)
            .map(|(tx, _)| tx.clone())
            .collect();
        let mut checks = vchain_contracts::check_txs(&*self.ledger, &fresh)
            .map_err(|e| SubmitError::Check(CheckError::Fatal(e)))?
            .results
            .into_iter();
        let mut results = Vec::with_capacity(transactions.len());
        let mut forwards = Vec::new();
        let len = {
            let mut mempool = lock(&self.mempool);
            for ((transaction, hash), waiting) in transactions.into_iter().zip(hashes).zip(waiting)
            {
                // Sent again while it waits: not a refusal (as for a single submission).
                let result = if waiting {
                    Ok(hash)
                } else {
                    // check_txs answers every transaction it is given, in order.
                    match checks.next().expect("check_txs answers every transaction") {
                        Ok(checked) => {
                            let encoded = self.peers.as_ref().map(|_| transaction.encode_to_vec());
                            let inserted = match mempool.insert(&checked, transaction) {
                                // Twice in this batch: the first admitted it.
                                Ok(()) | Err(MempoolError::Duplicate(_)) => Ok(checked.hash),
                                Err(error) => Err(SubmitError::from(error)),
                            };
                            if let (Ok(_), Some(encoded)) = (&inserted, encoded) {
                                forwards.push(encoded);
                            }
                            inserted
                        }
                        Err(error) => Err(SubmitError::from(error)),
                    }
                };
                results.push(result);
            }
            mempool.len()
        };
        if len >= self.block_tx_target() {
            let _ = self.wake.try_send(Wake::BlockFull);
        }
        self.forward_to_leader(forwards);
        Ok(results)
    }

    fn block_tx_target(&self) -> usize {
        self.config.block_tx_target.min(self.params().block_tx_max) as usize
    }

    /// Active certificates on chain that expire within [`CERTIFICATE_WARNING_DAYS`] of the
    /// node's chain time (or already have), soonest first, at most [`CERTIFICATES_REPORTED_MAX`].
    pub fn certificates_expiring(
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
    pub fn warn_expiring_certificates(&self) {
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
    pub fn params(&self) -> ChainParams {
        *lock(&self.params)
    }

    /// Re-reads the chain parameters from committed state (after a block that changed them,
    /// or a snapshot install).
    /// How far ahead of this node's clock a block's time may be before it is flagged.
    pub fn clock_skew_ms_max(&self) -> u64 {
        self.config
            .network
            .as_ref()
            .map_or(crate::config::CLOCK_SKEW_MS_MAX_DEFAULT, |n| {
                n.clock_skew_ms_max
            })
    }

    /// Committed blocks flagged since start for a time ahead of this node's clock.
    pub fn blocks_ahead_of_clock(&self) -> u64 {
        self.blocks_ahead_of_clock.load(Ordering::Relaxed)
    }

    fn refresh_params(&self) -> Result<(), ChainError> {
        let (_, params) = chain_config(&*self.ledger)?;
        *lock(&self.params) = params;
        Ok(())
    }

    /// Asks the producer to finish its block and stop.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stopped.send_replace(true);
        let _ = self.wake.try_send(Wake::Shutdown);
    }

    /// Resolves when the node begins to stop.
    pub fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
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

    fn next_nonce(&self, account: &str) -> u64 {
        match read_message::<Account>(&*self.ledger, &keys::account(account), "Account") {
            Ok(Some(account)) => account.next_nonce,
            _ => 0,
        }
    }

    /// True if the chain's own step (a destruction, a pledge lapse or a proposal expiry) is due
    /// at chain time `now_ms`, so that a quiet chain still cuts the block that does it. A read
    /// failure counts as not due: the next block's execution reports it.
    fn chain_step_due(&self, now_ms: u64) -> bool {
        vchain_contracts::chain_step_due(&*self.ledger, now_ms).unwrap_or(false)
    }
}

/// The state a Raft snapshot record stands for.
fn decode_descriptor(
    record: &SnapshotRecord,
) -> Result<vchain_proto::v1::SnapshotDescriptor, ChainError> {
    vchain_proto::v1::SnapshotDescriptor::decode(record.data.as_slice()).map_err(|e| {
        ChainError::Sync(SyncError::Invalid(format!(
            "snapshot at log index {} does not describe a state: {e}",
            record.index
        )))
    })
}

/// Room for an encoded block header (ids of at most 64 characters, a few hashes and integers)
/// with its field framing: generous, so header fields can be added without revisiting it.
const BLOCK_HEADER_BYTES_MAX: usize = 4 * 1024;

/// An upper bound of the encoded `Block` holding `transactions` and `outcome`, before it is
/// sealed: the header's room plus the exact encoding of the repeated fields (tags as in
/// `Block`: transactions 2, results 3, system events 4). Cheap: no hashing, no copies.
fn encoded_block_len_max(transactions: &[SignedTransaction], outcome: &BlockOutcome) -> usize {
    use prost::encoding::message::encoded_len_repeated;
    BLOCK_HEADER_BYTES_MAX
        + encoded_len_repeated(2, transactions)
        + encoded_len_repeated(3, &outcome.results)
        + encoded_len_repeated(4, &outcome.system_events)
}

/// What [`fit_block`] found.
enum Fitted {
    /// Transactions and their outcome whose encoded block fits.
    Block(Vec<SignedTransaction>, BlockOutcome),
    /// A transaction whose block does not fit even alone.
    Unfit(SignedTransaction),
}

/// Selects (`select(tx_max)`) and executes (`execute`) the next block's transactions, halving
/// their number until the encoded block fits `bytes_limit`. Execution adds results and events,
/// so the size is known only afterwards; the state root does not change it.
fn fit_block(
    mut tx_max: usize,
    bytes_limit: usize,
    select: impl Fn(usize) -> Vec<SignedTransaction>,
    mut execute: impl FnMut(&[SignedTransaction]) -> Result<BlockOutcome, ChainError>,
) -> Result<Fitted, ChainError> {
    loop {
        let mut transactions = select(tx_max);
        let outcome = execute(&transactions)?;
        let size = encoded_block_len_max(&transactions, &outcome);
        if size <= bytes_limit {
            return Ok(Fitted::Block(transactions, outcome));
        }
        if transactions.len() <= 1 {
            if let Some(transaction) = transactions.pop() {
                return Ok(Fitted::Unfit(transaction));
            }
            // The chain's own step alone: bounded far below the limit (contracts::limits).
            return Err(ChainError::Invariant(format!(
                "a block without transactions is {size} bytes, above {bytes_limit}"
            )));
        }
        warn!(
            size,
            limit = bytes_limit,
            transactions = transactions.len(),
            "the executed block exceeds the encoded block limit; cutting fewer transactions"
        );
        tx_max = transactions.len() / 2;
    }
}

/// A block this node executed and proposed, kept so that committing it needs no re-execution.
struct Prepared {
    hash: Hash,
    outcome: BlockOutcome,
    tree: TreeUpdate,
}

struct Producer {
    chain: Arc<Chain>,
    engine: Box<dyn Engine>,
    wake: Receiver<Wake>,
    /// The block this node proposed last, executed, waiting to commit.
    prepared: Option<Prepared>,
    /// Height and time of the proposal in flight: one at a time, since the next block builds
    /// on this one's state.
    in_flight: Option<(u64, Instant)>,
    /// After the engine refused a proposal: no new one before this time.
    retry_after: Option<Instant>,
    /// The async runtime the network lives on (to run sync requests from this thread).
    runtime: Option<tokio::runtime::Handle>,
    /// A snapshot whose state must be installed before anything else (found at restart).
    pending_install: Option<SnapshotRecord>,
    /// Progress of bringing Raft and the network in line with the chain's membership.
    membership: MembershipSync,
    /// When transactions were last handed to the leader again, and the mempool's arrival mark
    /// then.
    reforward: (Instant, u64),
    /// When this node last told its peers its clock.
    last_clock_share: Instant,
    /// When this node last warned that its clock is off.
    last_clock_warning: Option<Instant>,
    /// The incarnation verdicts the engine has (see [`Incarnations::version`]).
    incarnation_version: u64,
    /// Bytes of the block entries applied since the newest checkpoint (0 at start): past
    /// `snapshot_log_mib` a checkpoint is due, so the Raft log, held in memory, stays bounded.
    log_bytes_since_checkpoint: u64,
}

/// Most often a node warns that its own clock differs from the consortium's.
const CLOCK_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// How often the producer compares the chain's membership with Raft's and the network's even
/// when nothing says it changed (a leader that crashed mid-change leaves work for the next).
const MEMBERSHIP_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a proposed membership change may stay uncommitted before it is proposed again.
const MEMBERSHIP_PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct MembershipSync {
    /// Something changed: check now.
    dirty: bool,
    last_check: Option<Instant>,
    /// The change proposed last, and when.
    proposed: Option<(MembershipChange, Instant)>,
    /// The members set last given to the network.
    network_members: Option<std::collections::BTreeSet<PeerId>>,
    /// Logged once: this node is not (or no longer) a voter.
    outside_logged: bool,
}

impl Producer {
    fn run(mut self) {
        let interval = Duration::from_millis(self.chain.config.block_interval_ms);
        let tick = Duration::from_millis(
            self.chain
                .config
                .network
                .as_ref()
                .map_or(100, |n| n.tick_ms),
        );
        if let Some(record) = self.pending_install.take() {
            if let Err(error) = self.install_snapshot(&record) {
                self.stop_on(error);
                return;
            }
        }
        // A restart may find history still to fill in after an earlier snapshot install.
        if let Some(runtime) = &self.runtime {
            if matches!(self.chain.ledger.history_gap(), Ok(Some(_))) {
                self.chain.start_backfill(runtime);
            }
        }
        self.membership.dirty = true;
        let mut last_block = Instant::now();
        let mut next_tick = Instant::now() + tick;
        // Expired certificates stopping whole networks is what operators of other consortium
        // chains complain of most: say so at start and every hour, long before.
        let mut next_certificate_warning = Instant::now();
        loop {
            if Instant::now() >= next_certificate_warning && !self.chain.is_syncing() {
                self.chain.warn_expiring_certificates();
                next_certificate_warning = Instant::now() + CERTIFICATE_WARNING_INTERVAL;
            }
            let deadline = next_tick.min(last_block + interval);
            let message = match self
                .wake
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Wake::Shutdown),
            };
            let shutdown = matches!(message, Some(Wake::Shutdown));
            // An invariant assertion failing inside execution must stop the node, loudly, not
            // leave it serving reads with a dead producer.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.iteration(
                    message,
                    &mut next_tick,
                    tick,
                    &mut last_block,
                    interval,
                    shutdown,
                )
            }))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                Err(ChainError::Invariant(
                    why.unwrap_or_else(|| "unknown panic".into()),
                ))
            });
            if let Err(error) = outcome {
                self.stop_on(error);
                return;
            }
            if shutdown {
                info!("block producer stopped");
                return;
            }
        }
    }

    fn stop_on(&self, error: ChainError) {
        if let ChainError::Interrupted(what) = &error {
            info!(%what, "block producer stopped");
        } else {
            error!(%error, "block production failed; stopping the node");
            self.chain.failed.store(true, Ordering::SeqCst);
            // RocksDB reports a full disk as an I/O error whose text carries the OS's words;
            // the operator's remedy is simple, so say it (nothing acknowledged is lost: every
            // block is committed in one synced batch, and the failed one was not acknowledged).
            if error.to_string().contains("No space left on device") {
                error!(
                    ledger = %self.chain.config.ledger_dir().display(),
                    "the disk holding the ledger is full: free space on it, then start the node \
                     again; it resumes from its last committed block and catches up"
                );
            }
        }
        if let ChainError::Divergence { height, field, why } = &error {
            // For the operator and the consortium: which block, which field, what each side
            // says. The node does not start serving again on its own (restart re-applies and
            // stops at the same block).
            let report = serde_json::json!({
                "height": height,
                "field": field,
                "why": why,
                "node_id": self.chain.config.node_id,
                "chain_id": self.chain.chain_id,
            });
            let path = self
                .chain
                .config
                .data_dir
                .join(format!("divergence-{height}.json"));
            match std::fs::write(&path, report.to_string()) {
                Ok(()) => {
                    error!(path = %path.display(), %field, height, "divergence report written")
                }
                Err(write) => warn!(%write, "could not write the divergence report"),
            }
        }
        self.chain.stopping.store(true, Ordering::SeqCst);
        self.chain.stopped.send_replace(true);
        // Dropping the senders tells every waiting client now, not at its timeout.
        lock(&self.chain.waiters).clear();
    }

    /// One turn of the loop: the input, a tick if due, the engine's work, and a new proposal if
    /// this node leads and has work.
    fn iteration(
        &mut self,
        message: Option<Wake>,
        next_tick: &mut Instant,
        tick: Duration,
        last_block: &mut Instant,
        interval: Duration,
        shutdown: bool,
    ) -> Result<(), ChainError> {
        // Verdicts on peers' incarnations reach the engine before any message is stepped.
        if let Some(incarnations) = &self.chain.incarnations {
            let version = incarnations.version();
            if version != self.incarnation_version {
                self.incarnation_version = version;
                self.engine.refuse_votes_from(&incarnations.refused());
                if incarnations.voting_forbidden() {
                    self.engine.forbid_voting();
                }
            }
        }
        if let Some(Wake::Consensus { from, bytes }) = message {
            if let Err(error) = self.engine.step(&from, &bytes) {
                debug!(%error, %from, "consensus message refused");
            }
            // The engine found this node's own log went back (it stopped voting): record it,
            // so that a restart, after which no leader can show it again, keeps it.
            if let (Some(why), Some(incarnations)) =
                (self.engine.went_back(), &self.chain.incarnations)
            {
                if !incarnations.voting_forbidden() {
                    incarnations.forbid_own_voting(why);
                }
            }
        }
        if Instant::now() >= *next_tick {
            self.engine.tick();
            *next_tick = Instant::now() + tick;
        }
        self.drain_ready()?;
        let chain = self.chain.clone();
        let head = chain.head()?;
        if let Some((height, proposed)) = self.in_flight {
            if head.height >= height
                || !self.engine.is_leader()
                || proposed.elapsed() > PROPOSAL_TIMEOUT
            {
                self.in_flight = None;
            }
        }
        let full = chain.mempool_len() >= chain.block_tx_target();
        let due = full || shutdown || last_block.elapsed() >= interval;
        if self.last_clock_share.elapsed() >= CLOCK_SHARE_INTERVAL {
            self.last_clock_share = Instant::now();
            if let Some(peers) = &chain.peers {
                let _ = peers.network.broadcast_clock(chain.clock.now_ms());
                if let Some(incarnations) = &chain.incarnations {
                    let _ = peers.network.announce(incarnations.notice());
                }
            }
        }
        // The block time only when this node may cut a block now (it reads the peers' clocks).
        let may_cut = due
            && self.in_flight.is_none()
            && self.retry_after.is_none_or(|after| Instant::now() >= after)
            && self.engine.is_leader();
        let block_time = may_cut
            .then(|| self.next_block_time(&head))
            .filter(|now| chain.mempool_len() > 0 || chain.chain_step_due(*now));
        if let Some(now) = block_time {
            match self.cut_block(now, &head)? {
                Some(prepared) => {
                    self.in_flight = Some((head.height + 1, Instant::now()));
                    self.prepared = Some(prepared);
                    self.retry_after = None;
                }
                None => self.retry_after = Some(Instant::now() + PROPOSAL_RETRY_DELAY),
            }
            *last_block = Instant::now();
            self.drain_ready()?;
        } else if due {
            *last_block = Instant::now();
        }
        let voters = self.engine.voters();
        if *lock(&chain.voters) != voters {
            *lock(&chain.voters) = voters;
            self.membership.dirty = true;
        }
        self.reconcile_membership()?;
        chain
            .consensus_log_bytes
            .store(self.engine.log_bytes(), Ordering::Relaxed);
        let leader = self.engine.leader();
        let previous = std::mem::replace(&mut *lock(&chain.leader), leader.clone());
        if leader != previous {
            self.membership.dirty = true;
        }
        if self.reforward.0.elapsed() >= REFORWARD_INTERVAL {
            let mark = lock(&chain.mempool).arrival_mark();
            if leader == previous && leader.as_ref().is_some_and(|l| *l != chain.config.node_id) {
                let waiting: Vec<Vec<u8>> = lock(&chain.mempool)
                    .arrived_before(self.reforward.1, FORWARD_ON_LEADER_CHANGE_MAX)
                    .iter()
                    .map(|tx| tx.encode_to_vec())
                    .collect();
                if !waiting.is_empty() {
                    debug!(
                        count = waiting.len(),
                        "handing waiting transactions to the leader again"
                    );
                }
                for batch in waiting.chunks(FORWARD_BATCH_MAX) {
                    chain.forward_to_leader(batch.to_vec());
                }
            }
            self.reforward = (Instant::now(), mark);
        }
        if leader != previous && leader.as_ref().is_some_and(|l| *l != chain.config.node_id) {
            // A new leader may never have seen what waits here (it was partitioned away, or
            // these were submitted while another node led): hand it everything waiting.
            let pending: Vec<Vec<u8>> = lock(&chain.mempool)
                .oldest(FORWARD_ON_LEADER_CHANGE_MAX)
                .iter()
                .map(|tx| tx.encode_to_vec())
                .collect();
            for batch in pending.chunks(FORWARD_BATCH_MAX) {
                chain.forward_to_leader(batch.to_vec());
            }
        }
        Ok(())
    }

    /// The time this node, leading, gives its next block: bounded by the members' clocks,
    /// never before the head (see [`crate::block_time`]). Warns (once a minute at most) when its
    /// own clock is off.
    fn next_block_time(&mut self, head: &ChainHead) -> u64 {
        let chain = self.chain.clone();
        let own_ms = chain.clock.now_ms();
        let voters = self.engine.voters();
        let peer_ms = chain.peer_clocks.now_by(&voters, &chain.config.node_id);
        let since_head = lock(&chain.head_applied_at).elapsed();
        let timestamp_ms = block_time(
            head.timestamp_ms,
            own_ms,
            &peer_ms,
            voters.len(),
            since_head,
        );
        if timestamp_ms.abs_diff(own_ms) > chain.clock_skew_ms_max()
            && self
                .last_clock_warning
                .is_none_or(|at| at.elapsed() >= CLOCK_WARNING_INTERVAL)
        {
            self.last_clock_warning = Some(Instant::now());
            warn!(
                own_clock_ms = own_ms,
                block_time_ms = timestamp_ms,
                peers = peer_ms.len(),
                "this node's clock differs from the consortium's block time; check its clock"
            );
        }
        timestamp_ms
    }

    /// Cuts, executes, seals and proposes the next block. `None` when nothing was proposed:
    /// the engine refused the proposal (logged and counted; the transactions stay in the
    /// mempool for the next round), or no block fits the encoded-block limit.
    fn cut_block(&mut self, now_ms: u64, head: &ChainHead) -> Result<Option<Prepared>, ChainError> {
        let chain = &self.chain;
        let height = head.height + 1;
        // `now_ms` is already the block time `next_block_time` chose; never before the head.
        let timestamp_ms = now_ms.max(head.timestamp_ms + 1);
        let span = info_span!("cut_block", height);
        let _entered = span.enter();
        let params = chain.params();
        let draft = BlockDraft {
            chain_id: chain.chain_id.clone(),
            height,
            prev_hash: head.block_hash,
            timestamp_ms,
            proposer: chain.config.node_id.clone(),
        };
        // Parameters stored before the limits existed may exceed them: the limits win.
        let tx_max = params.block_tx_max.min(BLOCK_TX_LIMIT) as usize;
        let bytes_max = params.block_bytes_max.min(BLOCK_BYTES_LIMIT) as usize;
        let fitted = fit_block(
            tx_max,
            ENCODED_BLOCK_BYTES_LIMIT as usize,
            |tx_max| lock(&chain.mempool).select(tx_max, bytes_max, |a| chain.next_nonce(a)),
            |transactions| {
                Ok(execute_block(
                    &*chain.ledger,
                    &BlockContext {
                        height,
                        timestamp_ms,
                    },
                    transactions,
                )?)
            },
        )?;
        let (transactions, outcome) = match fitted {
            Fitted::Block(transactions, outcome) => (transactions, outcome),
            Fitted::Unfit(transaction) => {
                // Cannot happen within the limits (see `vchain_contracts::limits`); never let
                // one transaction hold the chain up.
                warn!(
                    limit = ENCODED_BLOCK_BYTES_LIMIT,
                    "a block of one transaction exceeds the encoded block limit; dropping it"
                );
                lock(&chain.mempool).remove_committed(&[tx_hash(&transaction.body)], &[], |_| 0);
                return Ok(None);
            }
        };
        let tree = chain.ledger.prepare_state(&outcome.state_writes)?;
        let (block, hash) = seal(draft, transactions, &outcome, tree.root);
        let encoded = block.encode_to_vec();
        let size = encoded.len();
        assert!(
            size <= ENCODED_BLOCK_BYTES_LIMIT as usize,
            "sealed block of {size} bytes exceeds its measured bound"
        );
        if let Err(error) = self.engine.propose(encoded) {
            // Too large, dropped during a leadership transfer, too much uncommitted, a lost
            // leadership: none of it is this node's fault to die of. The transactions are
            // still in the mempool; the next round proposes again.
            let refused = chain.proposals_refused.fetch_add(1, Ordering::Relaxed) + 1;
            warn!(%error, size, transactions = block.transactions.len(), refused, "the consensus engine refused the block proposal; retrying with the next block");
            return Ok(None);
        }
        Ok(Some(Prepared {
            hash,
            outcome,
            tree,
        }))
    }

    /// Does what the engine asks, in the order it requires: send what may go at once, persist
    /// in one synced batch, send what needed the persistence, apply committed entries, record
    /// the applied index, advance.
    fn drain_ready(&mut self) -> Result<(), ChainError> {
        let ready = self.engine.ready();
        if ready.is_empty() {
            self.engine.advance(&ready);
            return Ok(());
        }
        self.send(&ready.messages);
        self.persist(&ready.persist)?;
        self.send(&ready.persisted_messages);
        let mut applied = None;
        for committed in &ready.committed {
            match &committed.entry {
                CommittedEntry::Payload(payload) => {
                    self.apply_committed(payload)?;
                    self.log_bytes_since_checkpoint = self
                        .log_bytes_since_checkpoint
                        .saturating_add(payload.len() as u64);
                }
                CommittedEntry::Membership(change) => {
                    info!(
                        ?change,
                        index = committed.index,
                        "membership change committed"
                    );
                    self.membership.dirty = true;
                    self.membership.proposed = None;
                }
            }
            applied = Some(committed.index);
        }
        if let (Some(index), Some(_)) = (applied, &self.chain.peers) {
            self.chain.ledger.consensus_persist(&ConsensusWrite {
                applied: Some(index),
                ..Default::default()
            })?;
        }
        self.engine.advance(&ready);
        if let Some(index) = applied {
            self.maybe_checkpoint(index)?;
        }
        Ok(())
    }

    fn send(&self, messages: &[Outgoing]) {
        let Some(peers) = &self.chain.peers else {
            return;
        };
        for message in messages {
            match peers.peer_of(&message.to) {
                Some(peer) => {
                    if let Err(error) = peers.network.send_consensus(peer, message.bytes.clone()) {
                        debug!(%error, to = %message.to, "consensus message not sent");
                    }
                }
                None => {
                    warn!(to = %message.to, "consensus message for a node with no known network identity")
                }
            }
        }
    }

    fn persist(&mut self, persist: &Persist) -> Result<(), ChainError> {
        if persist.is_empty() {
            return Ok(());
        }
        if let Some(record) = &persist.snapshot {
            self.install_snapshot(record)?;
        }
        let entries: Vec<(u64, Vec<u8>)> = persist
            .entries
            .iter()
            .map(|e| (e.index, e.bytes.clone()))
            .collect();
        // A snapshot replaces the whole log and counts as applied; its state is installed.
        let snapshot = persist.snapshot.as_ref();
        self.chain.ledger.consensus_persist(&ConsensusWrite {
            clear_log: snapshot.is_some(),
            truncate_from: persist.truncate_from,
            entries: &entries,
            hard_state: persist.hard_state.as_deref(),
            snapshot: snapshot.map(|s| s.bytes.as_slice()),
            applied: snapshot.map(|s| s.index),
        })?;
        Ok(())
    }

    /// Makes the ledger hold the state `record` stands for (or a later committed one): nothing
    /// to do if it already does, else fetched from peers, the leader first, retrying until
    /// one serves it or the node stops. Consensus waits meanwhile: nothing after the snapshot
    /// can be applied without its state.
    fn install_snapshot(&mut self, record: &SnapshotRecord) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let wanted = decode_descriptor(record)?;
        let wanted_head = crate::sync::head_of(&wanted)?;
        let span = info_span!(
            "snapshot_install",
            log_index = record.index,
            height = wanted.height
        );
        let _entered = span.enter();
        if let Some(head) = chain.ledger.head()? {
            let stored = chain
                .ledger
                .block(wanted.height)?
                .and_then(|b| b.header)
                .map(|h| block_hash(&h));
            if stored.is_some_and(|hash| hash != wanted_head.block_hash) {
                return Err(ChainError::Divergence {
                    height: wanted.height,
                    field: "block_hash",
                    why: "the leader's snapshot names a block this node does not hold there".into(),
                });
            }
            if head.height >= wanted.height {
                info!(
                    head = head.height,
                    "the ledger already holds the snapshot's state"
                );
                return Ok(());
            }
        }
        let (Some(peers), Some(runtime)) = (&chain.peers, &self.runtime) else {
            return Err(ChainError::Sync(SyncError::Refused(
                "a snapshot arrived but this node has no network to fetch its state".into(),
            )));
        };
        let fetcher = Fetcher {
            network: &peers.network,
            runtime,
        };
        chain.syncing.store(true, Ordering::SeqCst);
        let _syncing = scopeguard(|| chain.syncing.store(false, Ordering::SeqCst));
        let mut attempt = 0u32;
        loop {
            let leader = self.engine.leader();
            let mut order: Vec<(NodeId, PeerId)> = peers.all().into_iter().collect();
            order.sort_by_key(|(node, _)| Some(node) != leader.as_ref());
            for (node, peer) in order {
                let accept_later = Some(&node) == leader.as_ref();
                let outcome = fetcher.list(peer).and_then(|offers| {
                    match crate::sync::choose(&offers, &wanted, accept_later) {
                        Some(offer) => fetcher.install(peer, &chain.ledger, &offer).map(Some),
                        None => Ok(None),
                    }
                });
                match outcome {
                    Ok(Some(head)) => {
                        self.prepared = None;
                        self.in_flight = None;
                        self.forget_stale_transactions();
                        chain.refresh_params()?;
                        self.membership.dirty = true;
                        chain.snapshots_installed.fetch_add(1, Ordering::SeqCst);
                        chain.start_backfill(runtime);
                        info!(height = head.height, from = %node, "caught up from a snapshot");
                        return Ok(());
                    }
                    Ok(None) => debug!(%node, "peer does not serve the snapshot"),
                    Err(error) => warn!(%error, %node, attempt, "snapshot fetch failed"),
                }
            }
            attempt += 1;
            if chain.is_stopping() {
                return Err(ChainError::Interrupted(format!(
                    "waiting for the snapshot at height {}",
                    wanted.height
                )));
            }
            std::thread::sleep(Duration::from_millis(500).saturating_mul(attempt.min(10)));
        }
    }

    /// After a snapshot install the mempool may hold transactions whose nonces the skipped
    /// blocks spent; their outcome is not known here, so their waiting clients are released.
    fn forget_stale_transactions(&self) {
        let chain = &self.chain;
        let gone = {
            let mut mempool = lock(&chain.mempool);
            let accounts = mempool.accounts();
            mempool.remove_committed(&[], &accounts, |a| chain.next_nonce(a))
        };
        let mut waiters = lock(&chain.waiters);
        for hash in gone {
            waiters.remove(&hash);
        }
    }

    /// Every `snapshot_interval` applied entries, or sooner once they total
    /// `snapshot_log_mib`: checkpoint the ledger, and compact the log through the previous
    /// checkpoint (whose state stays served for followers that need it). The log between two
    /// compactions is what the engine holds in memory.
    fn maybe_checkpoint(&mut self, applied: u64) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let Some(checkpoints) = &chain.checkpoints else {
            return Ok(());
        };
        let previous = checkpoints.newest();
        let since = previous.as_ref().map_or(0, |c| c.descriptor.log_index);
        let entries_due = applied >= since.saturating_add(chain.config.snapshot_interval);
        let bytes_due =
            self.log_bytes_since_checkpoint >= crate::config::mib(chain.config.snapshot_log_mib);
        if !(entries_due || bytes_due) || applied <= since {
            return Ok(());
        }
        checkpoints.create(&chain.ledger, applied)?;
        info!(
            applied,
            log_bytes = self.log_bytes_since_checkpoint,
            by = if entries_due { "entries" } else { "bytes" },
            "checkpoint taken"
        );
        self.log_bytes_since_checkpoint = 0;
        let Some(previous) = previous else {
            return Ok(());
        };
        if let Some(record) = self.engine.compact(
            previous.descriptor.log_index,
            previous.descriptor.encode_to_vec(),
        )? {
            // Record first: a crash between the two writes leaves entries the snapshot
            // covers, which a restart skips.
            chain.ledger.consensus_persist(&ConsensusWrite {
                snapshot: Some(&record.bytes),
                ..Default::default()
            })?;
            chain.ledger.consensus_compact(record.index)?;
            info!(through = record.index, "raft log compacted");
        }
        Ok(())
    }

    /// Persists a committed block, re-executing it unless this node prepared it. A committed
    /// block that does not extend the head (a proposal overtaken by another leader's block at
    /// the same height, or one applied before a restart) is skipped: every node sees the same
    /// committed sequence and head, so every node skips the same blocks.
    fn apply_committed(&mut self, payload: &[u8]) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let started = Instant::now();
        if payload.len() > ENCODED_BLOCK_BYTES_LIMIT as usize {
            return Err(ChainError::Divergence {
                height: 0,
                field: "block",
                why: format!(
                    "committed block is {} bytes, more than the {ENCODED_BLOCK_BYTES_LIMIT} any block may be",
                    payload.len()
                ),
            });
        }
        let block = Block::decode(payload).map_err(|e| ChainError::Divergence {
            height: 0,
            field: "block",
            why: format!("committed block does not decode: {e}"),
        })?;
        let header = block.header.clone().ok_or(ChainError::Divergence {
            height: 0,
            field: BlockField::Header.as_str(),
            why: "committed block has no header".into(),
        })?;
        let hash = block_hash(&header);
        let head = chain.head()?;
        if header.height != head.height + 1 || header.prev_hash != head.block_hash {
            let stored = chain
                .ledger
                .block(header.height)?
                .and_then(|b| b.header)
                .map(|h| block_hash(&h));
            if stored == Some(hash) {
                debug!(height = header.height, "committed block already applied");
            } else {
                info!(
                    height = header.height,
                    head = head.height,
                    "committed block does not extend the head; skipped"
                );
            }
            if self.prepared.as_ref().is_some_and(|p| p.hash == hash) {
                self.prepared = None;
            }
            return Ok(());
        }
        let Prepared { outcome, tree, .. } = match self.prepared.take().filter(|p| p.hash == hash) {
            Some(prepared) => prepared,
            None => self.reexecute(&block, &header)?,
        };
        let tx_hashes: Vec<Hash> = block
            .transactions
            .iter()
            .map(|tx| tx_hash(&tx.body))
            .collect();
        chain.ledger.commit_block(&BlockCommit {
            height: header.height,
            block_hash: hash,
            state_root: tree.root,
            timestamp_ms: header.timestamp_ms,
            block_bytes: payload,
            tx_hashes: &tx_hashes,
            state_writes: &outcome.state_writes,
            tree: &tree,
            index_writes: &outcome.index_writes,
        })?;
        let rejected = outcome.results.iter().filter(|r| r.code != 0).count();
        info!(
            height = header.height,
            txs = tx_hashes.len(),
            rejected,
            proposer = %header.proposer,
            state_root = %hex::encode(tree.root),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "block committed"
        );
        *lock(&chain.head_applied_at) = Instant::now();
        let signers: Vec<String> = block
            .transactions
            .iter()
            .filter_map(|tx| {
                TransactionBody::decode(tx.body.as_slice())
                    .ok()
                    .map(|b| b.signer)
            })
            .collect();
        self.notify(header.height, &tx_hashes, &signers, &outcome);
        if outcome.events().any(|e| {
            matches!(
                e.kind(),
                EventKind::ConsensusNodeAdded | EventKind::ConsensusNodeRemoved
            )
        }) {
            self.membership.dirty = true;
        }
        if outcome
            .events()
            .any(|e| e.kind() == EventKind::ChainParamsChanged)
        {
            chain.refresh_params()?;
            info!(height = header.height, params = ?chain.params(), "chain parameters changed");
        }
        Ok(())
    }

    /// Brings the network's member set and (on the leader) Raft's voters in line with the
    /// consensus membership recorded on chain, one Raft change at a time (Raft thesis §4.1).
    /// The chain is the source of truth; Raft follows it, so a leader that crashed between
    /// the transaction and the conf change leaves the work to the next leader.
    fn reconcile_membership(&mut self) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let (Some(peers), Some(runtime)) = (&chain.peers, &self.runtime) else {
            return Ok(());
        };
        let due = self
            .membership
            .last_check
            .is_none_or(|t| t.elapsed() >= MEMBERSHIP_CHECK_INTERVAL);
        if !self.membership.dirty && !due {
            return Ok(());
        }
        self.membership.dirty = false;
        self.membership.last_check = Some(Instant::now());
        let recorded = vchain_contracts::consensus_config(&*chain.ledger)?;
        let me = &chain.config.node_id;
        let voters = self.engine.voters();
        // The network admits every node on chain, and every Raft voter until Raft drops it
        // (it still counts towards quorums until then).
        let mut by_node = BTreeMap::new();
        for node in &recorded.nodes {
            match crate::network::peer_id_from_public_key_hex(&hex::encode(&node.public_key)) {
                Ok(peer) => {
                    by_node.insert(node.node_id.clone(), peer);
                }
                Err(error) => {
                    warn!(%error, node = %node.node_id, "consensus node with an unusable key")
                }
            }
        }
        for (node, peer) in peers.all() {
            if voters.contains(&node) {
                by_node.entry(node).or_insert(peer);
            }
        }
        if let Some(own) = by_node.remove(me) {
            if own != peers.network.local_peer_id() {
                warn!(%me, "the chain records another network key for this node id");
            }
        }
        let members: std::collections::BTreeSet<PeerId> = by_node.values().copied().collect();
        if self.membership.network_members.as_ref() != Some(&members) {
            peers.replace(by_node);
            if let Err(error) = runtime.block_on(peers.network.set_members(members.clone())) {
                warn!(%error, "could not update the network's members");
            } else {
                info!(
                    members = members.len(),
                    "network members follow the chain's membership"
                );
                self.membership.network_members = Some(members);
            }
        }
        let wanted: Vec<&NodeId> = recorded.nodes.iter().map(|n| &n.node_id).collect();
        if !voters.contains(me) && !self.membership.outside_logged {
            self.membership.outside_logged = true;
            if wanted.contains(&me) {
                info!("this node is on chain but not yet a Raft voter; waiting for the leader");
            } else {
                warn!("this node is not a consensus node on chain; it follows no one until added");
            }
        }
        if !self.engine.is_leader() {
            return Ok(());
        }
        if self
            .membership
            .proposed
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < MEMBERSHIP_PROPOSAL_TIMEOUT)
        {
            return Ok(());
        }
        let add = wanted.iter().find(|n| !voters.contains(n));
        let remove = voters.iter().find(|v| !wanted.contains(v));
        let change = match (add, remove) {
            (Some(node), _) => MembershipChange::AddVoter((*node).clone()),
            (None, Some(node)) if node == me => {
                // A leader does not remove itself: it hands over first, and the next leader
                // removes it.
                if let Some(successor) = voters.iter().find(|v| *v != me && wanted.contains(v)) {
                    info!(%successor, "handing leadership over before this node's removal");
                    if let Err(error) = self.engine.transfer_leadership(successor) {
                        warn!(%error, "leadership transfer refused");
                    }
                }
                self.membership.proposed =
                    Some((MembershipChange::RemoveVoter(me.clone()), Instant::now()));
                return Ok(());
            }
            (None, Some(node)) => MembershipChange::RemoveVoter(node.clone()),
            (None, None) => return Ok(()),
        };
        info!(?change, "proposing the chain's membership change to Raft");
        match self.engine.propose_membership(change.clone()) {
            Ok(()) => self.membership.proposed = Some((change, Instant::now())),
            // Another change still pending: the next check proposes this one.
            Err(error @ vchain_consensus::ConsensusError::ProposalDropped { .. }) => {
                debug!(%error, ?change, "membership change waits")
            }
            Err(error) => warn!(%error, ?change, "membership change not proposed"),
        }
        self.drain_ready()
    }

    /// Checks a block someone else proposed, field by field, executes it and checks the
    /// outcome against the header: the body against its own roots and count
    /// (`block::check_body`), the header against the parent and the membership
    /// (`block::check_header`), then results, system events and every root against this
    /// node's execution (`block::check_execution`). Any mismatch is a divergence naming the
    /// field: the node stops rather than store a block it cannot vouch for.
    fn reexecute(&self, block: &Block, header: &BlockHeader) -> Result<Prepared, ChainError> {
        let chain = &self.chain;
        let diverge = |mismatch: BlockMismatch| ChainError::Divergence {
            height: header.height,
            field: mismatch.field.as_str(),
            why: mismatch.to_string(),
        };
        if block.transactions.len() > chain.params().block_tx_max as usize {
            return Err(ChainError::Divergence {
                height: header.height,
                field: BlockField::TxCount.as_str(),
                why: format!(
                    "{} transactions exceed block_tx_max {}",
                    block.transactions.len(),
                    chain.params().block_tx_max
                ),
            });
        }
        check_body(block).map_err(diverge)?;
        let own_ms = chain.clock.now_ms();
        if header.timestamp_ms > own_ms.saturating_add(chain.clock_skew_ms_max()) {
            let flagged = chain.blocks_ahead_of_clock.fetch_add(1, Ordering::Relaxed) + 1;
            // The 1st, 2nd, 4th, 8th ... such block: loud enough, never a flood.
            if flagged.is_power_of_two() {
                warn!(
                    flagged,
                height = header.height,
                proposer = %header.proposer,
                block_time_ms = header.timestamp_ms,
                own_clock_ms = own_ms,
                skew_ms_max = chain.clock_skew_ms_max(),
                    "committed block's time is ahead of this node's clock: a member's clock is wrong"
                );
            }
        }
        let head = chain.head()?;
        let membership = vchain_contracts::consensus_config(&*chain.ledger)?;
        check_header(
            header,
            &Parent {
                chain_id: &chain.chain_id,
                height: head.height,
                hash: &head.block_hash,
                timestamp_ms: head.timestamp_ms,
            },
            &membership,
        )
        .map_err(diverge)?;
        let outcome = execute_block(
            &*chain.ledger,
            &BlockContext {
                height: header.height,
                timestamp_ms: header.timestamp_ms,
            },
            &block.transactions,
        )?;
        let tree = chain.ledger.prepare_state(&outcome.state_writes)?;
        check_execution(block, header, &outcome, &tree.root).map_err(diverge)?;
        Ok(Prepared {
            hash: block_hash(header),
            outcome,
            tree,
        })
    }

    fn notify(&self, height: u64, tx_hashes: &[Hash], signers: &[String], outcome: &BlockOutcome) {
        let chain = &self.chain;
        let superseded =
            lock(&chain.mempool).remove_committed(tx_hashes, signers, |a| chain.next_nonce(a));
        {
            let mut waiters = lock(&chain.waiters);
            for ((hash, result), message) in tx_hashes
                .iter()
                .zip(&outcome.results)
                .zip(&outcome.messages)
            {
                for sender in waiters.remove(hash).unwrap_or_default() {
                    // The block carries the code; the words are this node's own.
                    let _ = sender.send(CommitNotice {
                        height,
                        result: TxResult {
                            message: message.clone(),
                            ..result.clone()
                        },
                    });
                }
            }
            // A waiting transaction whose nonce another transaction just spent can never run:
            // tell its client now rather than at its timeout.
            for hash in superseded {
                let result = TxResult {
                    tx_hash: hash.to_vec(),
                    code: ErrorCode::BadNonce.into(),
                    message: format!("another transaction with the same nonce committed at height {height}; this one can never execute"),
                    events: Vec::new(),
                };
                for sender in waiters.remove(&hash).unwrap_or_default() {
                    let _ = sender.send(CommitNotice {
                        height,
                        result: result.clone(),
                    });
                }
            }
        }
        // No receiver is fine: subscribers that connect later replay from the ledger.
        let events: Vec<Event> = outcome.events().cloned().collect();
        let _ = chain.events.send(Arc::new(BlockEvents { height, events }));
        if chain.is_stopping() && chain.mempool_len() > 0 {
            warn!(
                waiting = chain.mempool_len(),
                "stopping with transactions still in the mempool"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use vchain_consensus::{ConsensusError, Ready};
    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::FreezeAccount;

    use super::*;

    /// The real engine, refusing its first `refusals` proposals the way Raft does during a
    /// leadership transfer.
    struct Refusing {
        inner: Box<dyn Engine>,
        refusals: u32,
    }

    impl Engine for Refusing {
        fn id(&self) -> &NodeId {
            self.inner.id()
        }
        fn leader(&self) -> Option<NodeId> {
            self.inner.leader()
        }
        fn voters(&self) -> Vec<NodeId> {
            self.inner.voters()
        }
        fn tick(&mut self) {
            self.inner.tick()
        }
        fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError> {
            if self.refusals > 0 {
                self.refusals -= 1;
                return Err(ConsensusError::ProposalDropped {
                    why: "leadership transfer in progress".into(),
                });
            }
            self.inner.propose(payload)
        }
        fn step(&mut self, from: &NodeId, bytes: &[u8]) -> Result<(), ConsensusError> {
            self.inner.step(from, bytes)
        }
        fn ready(&mut self) -> Ready {
            self.inner.ready()
        }
        fn advance(&mut self, ready: &Ready) {
            self.inner.advance(ready)
        }
    }

    #[test]
    fn the_measured_bound_covers_the_sealed_block() {
        let tx = SignedTransaction {
            body: vec![1; 1_000],
            public_key: vec![2; 32],
            signature: vec![3; 64],
        };
        let outcome = BlockOutcome {
            // A result as a block carries it: naming its transaction, without words.
            results: vec![TxResult {
                tx_hash: tx_hash(&tx.body).to_vec(),
                code: 5,
                message: String::new(),
                events: vec![Event {
                    detail: "d".repeat(500),
                    ..Event::default()
                }],
            }],
            system_events: vec![Event::default(); 3],
            ..BlockOutcome::default()
        };
        let draft = BlockDraft {
            chain_id: "c".repeat(64),
            height: u64::MAX,
            prev_hash: [9; 32],
            timestamp_ms: u64::MAX,
            proposer: "p".repeat(64),
        };
        let bound = encoded_block_len_max(std::slice::from_ref(&tx), &outcome);
        let (block, _) = seal(draft, vec![tx], &outcome, [7; 32]);
        assert!(block.encoded_len() <= bound);
        assert!(bound - block.encoded_len() < BLOCK_HEADER_BYTES_MAX);
    }

    #[test]
    fn a_block_over_the_encoded_limit_is_cut_to_fewer_transactions() {
        let pool: Vec<SignedTransaction> = (0..10u8)
            .map(|i| SignedTransaction {
                body: vec![i; 100],
                public_key: vec![i; 32],
                signature: vec![i; 64],
            })
            .collect();
        // Execution adds a 1 000-byte result per transaction: 10 of them are far over a
        // 4 KiB + 3.5 KB limit, 2 fit.
        let execute = |transactions: &[SignedTransaction]| {
            Ok(BlockOutcome {
                results: transactions
                    .iter()
                    .map(|_| TxResult {
                        message: "m".repeat(1_000),
                        ..TxResult::default()
                    })
                    .collect(),
                ..BlockOutcome::default()
            })
        };
        let mut executed = Vec::new();
        let fitted = fit_block(
            10,
            BLOCK_HEADER_BYTES_MAX + 3_500,
            |n| pool[..n.min(pool.len())].to_vec(),
            |transactions| {
                executed.push(transactions.len());
                execute(transactions)
            },
        )
        .expect("no storage error");
        let Fitted::Block(transactions, outcome) = fitted else {
            panic!("two transactions fit");
        };
        assert_eq!(executed, [10, 5, 2], "halved until it fits");
        assert_eq!(transactions, pool[..2]);
        assert!(encoded_block_len_max(&transactions, &outcome) <= BLOCK_HEADER_BYTES_MAX + 3_500);
        // One transaction that cannot fit at all is handed back to be dropped.
        let fitted = fit_block(
            10,
            BLOCK_HEADER_BYTES_MAX + 500,
            |n| pool[..n].to_vec(),
            execute,
        )
        .expect("no storage error");
        assert!(matches!(fitted, Fitted::Unfit(tx) if tx == pool[0]));
    }

    #[test]
    fn a_refused_proposal_is_retried_and_never_stops_the_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = ChainClock::default().now_ms();
        let (mut config, genesis, key) = crate::test_chain::solo(dir.path(), now);
        config.block_interval_ms = 20;
        let (chain, producer) = Chain::start_with_engine(
            config,
            &genesis,
            Arc::new(ChainClock::default()),
            None,
            |engine| {
                Box::new(Refusing {
                    inner: engine,
                    refusals: 3,
                })
            },
        )
        .expect("chain starts");
        let operation = Operation::FreezeAccount(FreezeAccount {
            account_id: crate::test_chain::SECOND_ADMIN.into(),
            reason: "test".into(),
        });
        let tx = crate::test_chain::sign(&chain.chain_id, 0, operation, &key);
        let (hash, receiver) = chain.submit(tx, true).expect("admitted");
        let notice = receiver
            .expect("a waiter")
            .blocking_recv()
            .expect("the transaction commits after the refusals");
        assert_eq!(notice.result.tx_hash, hash.to_vec());
        assert_eq!(chain.proposals_refused(), 3, "every refusal is counted");
        assert!(!chain.has_failed() && !chain.is_stopping());
        assert_eq!(chain.mempool_len(), 0);
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
        assert!(!chain.has_failed());
    }
}
