//! The producer thread and its one conversation with the consensus engine: which engine genesis
//! names and how it resumes from what this node stored (`resume_engine`), the loop that feeds it
//! inputs (peers' messages, ticks, incarnation verdicts), and the carrying out of each `Ready`
//! it hands back (`drain_ready`).
//!
//! This is the only code that sees the engine's `Ready`, `Persist` and `Outgoing`; everything
//! else speaks the `Engine` trait's inputs. A second engine plugs in at `resume_engine`.
//!
//! Invariants kept here:
//! - each `Ready` is carried out in the order the engine requires: `messages` sent, `persist`
//!   written in one synced batch, `persisted_messages` sent only after that write (persist
//!   before speaking of it), committed entries applied in order, the applied index recorded
//!   (once the last applied block is durable: see `apply`), then `advance`;
//! - a block is applied only after the engine reports it committed: `drain_ready` is the only
//!   caller of `apply_committed`;
//! - a snapshot the engine hands over has its state installed before the log records it applied;
//! - verdicts on peers' incarnations reach the engine before any message is stepped;
//! - an error or a panic in one turn stops the producer (`stop_on`): the node is marked failed,
//!   a divergence is reported to a file, every waiter is dropped; reads are never served beside
//!   a dead producer that has not said so.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use sha2::{Digest, Sha256};
use tracing::{debug, error, info, warn};
use vchain_consensus::raft::{RaftConfig, RaftEngine};
use vchain_consensus::{
    solo::Solo, CatchUpRequest, CertifiedBlock, CommittedEntry, Durable, Engine, LogEntry, NodeId,
    Outgoing, Persist, Proposal, SnapshotRecord,
};
use vchain_contracts::genesis::Genesis;
use vchain_ledger::{ChainHead, ConsensusWrite, RocksLedger};

use super::apply::StagedBlock;
use super::membership::MembershipSync;
use super::production::{Prepared, PROPOSAL_TIMEOUT};
use super::snapshot::decode_descriptor;
use super::{lock, Chain, ChainError, CERTIFICATE_WARNING_INTERVAL};
use crate::block_time::CLOCK_SHARE_INTERVAL;
use crate::config::NodeConfig;
use crate::incarnation::Incarnations;

/// A message to the producer thread.
#[derive(Debug)]
pub(super) enum Wake {
    /// Enough transactions wait for a full block.
    BlockFull,
    /// Transactions arrived while the producer, on a busy chain, waited for them
    /// (`Chain::awaiting_transactions`).
    Arrived,
    /// A consensus message from a peer.
    Consensus {
        /// Sending node.
        from: NodeId,
        /// Opaque engine bytes.
        bytes: Vec<u8>,
    },
    /// A member's signature of a block it applied (certification, raft and solo chains).
    Certification {
        /// Sending node.
        from: NodeId,
        /// The notice's bytes (`certification::Notice`).
        bytes: Vec<u8>,
    },
    /// A complete certificate fetched from a peer (checked before it is kept).
    CertificateFetched(vchain_proto::v1::CommitCertificate),
    /// Finish the current block and stop.
    Shutdown,
}

/// Most messages waiting for the producer thread (peer consensus traffic included); a full
/// queue drops consensus messages, which the protocol tolerates (they are resent).
pub(crate) const PRODUCER_QUEUE_MAX: usize = 4_096;

/// The producer thread's state: the engine and what this node's part in it needs between turns.
pub(super) struct Producer {
    /// The chain it produces for; this thread is its ledger's only writer.
    pub(super) chain: Arc<Chain>,
    /// The consensus engine, driven from this thread only.
    pub(super) engine: Box<dyn Engine>,
    /// Inputs: peers' consensus messages, a full mempool, shutdown.
    pub(super) wake: Receiver<Wake>,
    /// The block this node proposed last, executed, waiting to commit.
    pub(super) prepared: Option<Prepared>,
    /// The block applied last, its write still in flight: announced once durable
    /// (`settle_staged`), at the next block's staging or when the producer would idle.
    pub(super) staged: Option<StagedBlock>,
    /// Height and time of the proposal in flight: one at a time, since the next block builds
    /// on this one's state.
    pub(super) in_flight: Option<(u64, Instant)>,
    /// The last block this node cut carried transactions: the chain is busy, so once that block
    /// has committed the next is cut without waiting out the interval (`block_interval_min_ms`).
    pub(super) last_cut_carried_transactions: bool,
    /// When this node last cut a block that carried transactions.
    pub(super) last_carrying_cut: Instant,
    /// After the engine refused a proposal: no new one before this time.
    pub(super) retry_after: Option<Instant>,
    /// The async runtime the network lives on (to run sync requests from this thread).
    pub(super) runtime: Option<tokio::runtime::Handle>,
    /// A snapshot whose state must be installed before anything else (found at restart).
    pub(super) pending_install: Option<SnapshotRecord>,
    /// Progress of bringing Raft and the network in line with the chain's membership.
    pub(super) membership: MembershipSync,
    /// When transactions were last handed to the leader again, and the mempool's arrival mark
    /// then.
    pub(super) reforward: (Instant, u64),
    /// When this node last told its peers its clock.
    pub(super) last_clock_share: Instant,
    /// When this node last warned that its clock is off.
    pub(super) last_clock_warning: Option<Instant>,
    /// The incarnation verdicts the engine has (see [`Incarnations::version`]).
    pub(super) incarnation_version: u64,
    /// Bytes of the block entries applied since the newest checkpoint (0 at start): past
    /// `snapshot_log_mib` a checkpoint is due, so the Raft log, held in memory, stays bounded.
    pub(super) log_bytes_since_checkpoint: u64,
    /// Proposed blocks the engine asked to validate, waiting for their parent (PBFT).
    pub(super) validations: Vec<Proposal>,
    /// Blocks found valid, executed, kept for applying when one commits (PBFT).
    pub(super) validated: Vec<Prepared>,
    /// The validators' keys the PBFT engine checks with, and the set it was last given.
    pub(super) validator_keys: Option<(super::pbft::ValidatorKeys, Vec<NodeId>)>,
    /// When this node last tried a certified snapshot (PBFT).
    pub(super) last_snapshot_try: Option<Instant>,
    /// Certifying applied blocks (raft and solo; PBFT blocks commit with their certificate).
    pub(super) certification: Option<super::certify::Certification>,
}

/// Rounds of engine work one turn carries out before it listens for input again: validating a
/// block or serving a catch-up hands the engine input that makes more work at once, and PBFT
/// hands out one committed block per round (a catch-up answer's blocks take a round each).
const READY_ROUNDS_MAX: usize = 64;
/// Most blocks read from the ledger for one lagging peer's catch-up request.
const CATCH_UP_BLOCKS_READ_MAX: u64 = 64;

/// Runs one step of the producer, a panic in it turned into an error: an invariant assertion
/// failing inside execution must stop the node, loudly, not leave it serving reads with a dead
/// producer.
fn unwound<T>(step: impl FnOnce() -> Result<T, ChainError>) -> Result<T, ChainError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(ChainError::Invariant(
            why.unwrap_or_else(|| "unknown panic".into()),
        ))
    })
}

/// The consensus engine genesis names, resumed from what this node stored, with what its
/// resumption found.
pub(super) struct ResumedEngine {
    /// The engine, before any wrapper.
    pub(super) engine: Box<dyn Engine>,
    /// A snapshot whose state must be installed before anything else (the ledger is behind the
    /// consensus log: an interrupted snapshot install).
    pub(super) pending_install: Option<SnapshotRecord>,
    /// This node's consensus incarnation (networked engines).
    pub(super) incarnations: Option<Incarnations>,
    /// The validators' keys the PBFT engine checks with (PBFT only).
    pub(super) validator_keys: Option<super::pbft::ValidatorKeys>,
}

/// Resumes the engine genesis names: Raft from its stored log, hard state and snapshot (its
/// incarnation opened first, before the node says anything), Solo from the head. Another
/// engine is chosen here, and only here.
/// Opens this node's consensus incarnation. Missing consensus state on a ledger that shows the
/// chain ran means a vote may have been lost, so the node may not vote; except on the first
/// start after [`crate::backup::restore`] put another node's backup under this node id, whose
/// consensus state is new (the marker is used up here, so a later loss counts again).
fn open_incarnations(
    ledger: &Arc<RocksLedger>,
    config: &NodeConfig,
    state_exists: bool,
    head: &ChainHead,
) -> Result<Incarnations, ChainError> {
    let restored_from = ledger
        .consensus_record(crate::backup::RESTORED_FROM_RECORD)?
        .filter(|from| !from.is_empty());
    let fresh_identity = restored_from
        .as_deref()
        .is_some_and(|from| from != config.node_id.as_bytes());
    let incarnations = Incarnations::open(
        ledger.clone(),
        &config.node_id,
        state_exists,
        head.height > 0 && !fresh_identity,
    )?;
    if let Some(from) = restored_from {
        info!(
            restored_from = %String::from_utf8_lossy(&from),
            fresh_identity,
            "first start after a restore"
        );
        ledger.put_consensus_record(crate::backup::RESTORED_FROM_RECORD, &[])?;
    }
    Ok(incarnations)
}

pub(super) fn resume_engine(
    config: &NodeConfig,
    genesis: &Genesis,
    ledger: &Arc<RocksLedger>,
    head: &ChainHead,
) -> Result<ResumedEngine, ChainError> {
    let mut pending_install = None;
    let mut incarnations = None;
    let mut validator_keys = None;
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
            incarnations = Some(open_incarnations(ledger, config, state_exists, head)?);
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
        "pbft" => {
            let log = ledger.consensus_load()?;
            let state_exists = log.hard_state.is_some();
            // Before the node says anything: its incarnation (see `incarnation`).
            incarnations = Some(open_incarnations(ledger, config, state_exists, head)?);
            let durable = Durable {
                hard_state: log.hard_state,
                // The ledger's head is what this node applied: PBFT's sequence is the height.
                applied: head.height,
                ..Durable::default()
            };
            let membership = vchain_contracts::consensus_config(&**ledger)?;
            info!(
                applied = head.height,
                validators = membership.nodes.len(),
                "pbft engine resuming"
            );
            let (engine, keys) =
                super::pbft::resume(config, &genesis.chain_id, &membership, &durable)?;
            validator_keys = Some(keys);
            Box::new(engine)
        }
        _ => Box::new(Solo::resume(config.node_id.clone(), head.height)),
    };
    Ok(ResumedEngine {
        engine,
        pending_install,
        incarnations,
        validator_keys,
    })
}

impl Producer {
    /// True when the chain is busy and this node may cut its next block: it leads, the last
    /// block it cut carried transactions and has committed (nothing in flight), no refused
    /// proposal's delay runs, and more transactions wait. The next block is then due
    /// `block_interval_min_ms` after the last cut instead of `block_interval_ms`. (A follower
    /// that once led keeps forwarded transactions in its mempool: it must not wake this often.)
    fn busy(&self) -> bool {
        self.may_cut_back_to_back() && self.chain.mempool_len() > 0
    }

    /// [`Producer::busy`] but for the waiting transactions.
    fn may_cut_back_to_back(&self) -> bool {
        self.last_cut_carried_transactions
            && self.in_flight.is_none()
            && self.retry_after.is_none()
            && self.engine.is_leader()
    }

    /// How long the producer may sleep before its next block is due. On a busy chain with
    /// nothing waiting it sleeps the whole interval, but flags that it awaits transactions, so
    /// that the first admission wakes it (`Wake::Arrived`) and the next block is cut at once:
    /// without it, a chain whose clients all wait on the last block sat idle out the interval.
    /// The mempool is read after the flag is raised: a transaction admitted before that is
    /// seen here, one admitted after it finds the flag and wakes the producer.
    fn block_wait(&self, (interval, interval_min): (Duration, Duration)) -> Duration {
        if !self.may_cut_back_to_back() {
            return interval;
        }
        self.chain
            .awaiting_transactions
            .store(true, Ordering::SeqCst);
        if self.chain.mempool_len() > 0 {
            self.chain
                .awaiting_transactions
                .store(false, Ordering::SeqCst);
            interval_min
        } else {
            interval
        }
    }

    /// Forgets the proposal in flight once it committed (the head reached it), this node no
    /// longer leads, or it timed out.
    fn settle_in_flight(&mut self, head: &ChainHead) {
        if let Some((height, proposed)) = self.in_flight {
            if head.height >= height
                || !self.engine.is_leader()
                || proposed.elapsed() > PROPOSAL_TIMEOUT
            {
                self.in_flight = None;
            }
        }
    }

    /// Runs the producer until shutdown or a fatal error: a snapshot install left over from
    /// before a restart first, then one turn per input, tick or block interval.
    pub(super) fn run(mut self) {
        let interval = Duration::from_millis(self.chain.config.block_interval_ms);
        let interval_min = Duration::from_millis(self.chain.config.block_interval_min_ms);
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
                // And a rules upgrade this node cannot execute: at start and every hour, until
                // the release is upgraded or the node stops at the activation height.
                self.chain.warn_unsupported_rules();
                next_certificate_warning = Instant::now() + CERTIFICATE_WARNING_INTERVAL;
            }
            let wait = self.block_wait((interval, interval_min));
            let deadline = next_tick.min(last_block + wait);
            let message = match unwound(|| self.next_input(deadline)) {
                Ok(message) => message,
                Err(error) => {
                    self.stop_on(error);
                    return;
                }
            };
            self.chain
                .awaiting_transactions
                .store(false, Ordering::SeqCst);
            let shutdown = matches!(message, Some(Wake::Shutdown));
            let outcome = unwound(|| {
                self.iteration(
                    message,
                    &mut next_tick,
                    tick,
                    &mut last_block,
                    (interval, interval_min),
                    shutdown,
                )
            });
            if let Err(error) = outcome {
                self.stop_on(error);
                return;
            }
            if shutdown {
                // The last block is announced before the producer ends: its clients are
                // answered, not dropped.
                if let Err(error) = unwound(|| self.settle_staged()) {
                    self.stop_on(error);
                    return;
                }
                info!("block producer stopped");
                return;
            }
        }
    }

    /// The next input, waiting for it until `deadline`; `None` at the deadline. A staged block
    /// is announced (`settle_staged`) as soon as its write is done, and before the producer
    /// waits, so its clients are not kept waiting by an idle producer; while its write runs and
    /// input is queued, the producer goes on, and the write overlaps that work.
    fn next_input(&mut self, deadline: Instant) -> Result<Option<Wake>, ChainError> {
        if self.staged.is_some() && self.chain.ledger.staged_write_done() {
            self.settle_staged()?;
        }
        if self.staged.is_some() {
            match self.wake.try_recv() {
                Ok(message) => return Ok(Some(message)),
                Err(TryRecvError::Disconnected) => return Ok(Some(Wake::Shutdown)),
                Err(TryRecvError::Empty) => {}
            }
            if Instant::now() < deadline {
                self.settle_staged()?;
            }
        }
        Ok(
            match self
                .wake
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Wake::Shutdown),
            },
        )
    }

    /// Stops the producer on `error`: logged, the node marked failed (a shutdown's
    /// interruption is not a failure), a divergence written to a report, waiters dropped.
    fn stop_on(&self, error: ChainError) {
        if let ChainError::Interrupted(what) = &error {
            info!(%what, "block producer stopped");
        } else {
            error!(%error, "block production failed; stopping the node");
            *lock(&self.chain.failure) = error.to_string();
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
    /// this node leads and has work; then what the engine reports (voters, leader, log size)
    /// is published, membership reconciled and waiting transactions handed to the leader.
    fn iteration(
        &mut self,
        message: Option<Wake>,
        next_tick: &mut Instant,
        tick: Duration,
        last_block: &mut Instant,
        (interval, interval_min): (Duration, Duration),
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
        self.engine.note_pending_work(self.chain.mempool_len() > 0);
        match message {
            Some(Wake::Consensus { from, bytes }) => {
                if let Err(error) = self.engine.step(&from, &bytes) {
                    debug!(%error, %from, "consensus message refused");
                }
                // The engine found this node's own log went back (it stopped voting): record
                // it, so that a restart, after which no leader can show it again, keeps it.
                if let (Some(why), Some(incarnations)) =
                    (self.engine.went_back(), &self.chain.incarnations)
                {
                    if !incarnations.voting_forbidden() {
                        incarnations.forbid_own_voting(why);
                    }
                }
            }
            Some(wake @ (Wake::Certification { .. } | Wake::CertificateFetched(_))) => {
                self.certification_input(wake)?;
            }
            _ => {}
        }
        if Instant::now() >= *next_tick {
            self.engine.tick();
            *next_tick = Instant::now() + tick;
        }
        self.drain_ready()?;
        self.certification_tick()?;
        self.catch_up_by_snapshot()?;
        let chain = self.chain.clone();
        let head = chain.producer_head()?;
        self.settle_in_flight(&head);
        let full = chain.mempool_len() >= chain.block_tx_target();
        let since_cut = last_block.elapsed();
        let back_to_back = self.busy() && since_cut >= interval_min;
        let due = full || shutdown || back_to_back || since_cut >= interval;
        // Cut back to back, a block carries transactions or is not cut: what waits may not be
        // selectable yet (a wallet's next nonce arriving after the one beyond it), and an empty
        // block would end the busy spell and idle the chain out the interval. The producer looks
        // again after `block_interval_min_ms`, until an interval has passed since the last block
        // that carried transactions.
        let empty_allowed = full
            || shutdown
            || since_cut >= interval
            || self.last_carrying_cut.elapsed() >= interval;
        if self.last_clock_share.elapsed() >= CLOCK_SHARE_INTERVAL {
            self.last_clock_share = Instant::now();
            if let Some(peers) = &chain.peers {
                let _ = peers.network.broadcast_clock(chain.clock.now_ms());
                if let Some(incarnations) = &chain.incarnations {
                    let _ = peers.network.announce(incarnations.notice());
                }
            }
        }
        self.propose_if_due(&head, due, empty_allowed, last_block)?;
        // A solo block commits within the proposal: see it now, so that a busy chain's next
        // block is timed from `block_interval_min_ms`.
        if self.in_flight.is_some() {
            self.settle_in_flight(&chain.producer_head()?);
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
        chain
            .consensus_view
            .store(self.engine.view(), Ordering::Relaxed);
        chain
            .consensus_term
            .store(self.engine.term(), Ordering::Relaxed);
        let leader = self.engine.leader();
        let previous = std::mem::replace(&mut *lock(&chain.leader), leader.clone());
        if leader != previous {
            self.membership.dirty = true;
            if leader.is_some() {
                chain.metrics.leader_changed();
            }
        }
        self.forward_waiting(&leader, &previous);
        Ok(())
    }

    /// Does what the engine asks, in the order it requires: send what may go at once, persist
    /// in one synced batch, send what needed the persistence, apply committed entries, record
    /// the applied index, advance.
    pub(super) fn drain_ready(&mut self) -> Result<(), ChainError> {
        for _ in 0..READY_ROUNDS_MAX {
            if !self.drain_ready_once()? {
                break;
            }
        }
        Ok(())
    }

    /// One [`Ready`]; false if there was nothing to do.
    fn drain_ready_once(&mut self) -> Result<bool, ChainError> {
        let ready = self.engine.ready();
        if ready.is_empty() {
            self.engine.advance(&ready);
            return Ok(false);
        }
        self.send(&ready.messages);
        self.persist(&ready.persist)?;
        self.send(&ready.persisted_messages);
        // A validator signing commits for two blocks at one height (PBFT): kept and raised
        // like a raft member's conflicting certification signatures.
        for equivocation in &ready.equivocations {
            self.chain
                .raise_equivocation(&crate::certification::Evidence {
                    node_id: equivocation.node.clone(),
                    height: equivocation.height,
                    view: equivocation.view,
                    first: equivocation.first,
                    second: equivocation.second,
                });
        }
        let mut applied = None;
        for committed in &ready.committed {
            match &committed.entry {
                CommittedEntry::Payload(payload) => {
                    self.apply_committed(payload, committed.certificate.as_ref())?;
                    self.follow_validator_changes()?;
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
            match &mut self.staged {
                // Recorded once the staged block is durable (`settle_staged`).
                Some(staged) => staged.applied_index = Some(index),
                None => self.chain.ledger.consensus_persist(&ConsensusWrite {
                    applied: Some(index),
                    ..Default::default()
                })?,
            }
        }
        self.engine.advance(&ready);
        if let Some(index) = applied {
            self.maybe_checkpoint(index)?;
        }
        // After applying: a block proposed on top of one just committed can be judged now.
        self.validate_proposals(&ready.to_validate)?;
        for request in &ready.catch_up {
            self.serve_catch_up(request)?;
        }
        Ok(true)
    }

    /// Under PBFT, after a block is applied: if it changed the chain's consensus membership,
    /// the engine's validators change from the next height on (and their keys are learned)
    /// before any later height is handed out.
    pub(super) fn follow_validator_changes(&mut self) -> Result<(), ChainError> {
        let Some((keys, current)) = &mut self.validator_keys else {
            return Ok(());
        };
        // The producer's view: the block that changed them may still be being written.
        let membership = vchain_contracts::consensus_config(&self.chain.producer_state())?;
        let validators = keys.learn(&membership);
        if validators != *current {
            let from = self.chain.producer_head()?.height + 1;
            info!(from, validators = ?validators, "the validators change");
            *current = validators.clone();
            self.engine.set_validators(from, validators);
        }
        Ok(())
    }

    /// Answers a lagging peer with the blocks after its height and their certificates, from
    /// the ledger (the engine sends as many as fit one message).
    fn serve_catch_up(&mut self, request: &CatchUpRequest) -> Result<(), ChainError> {
        let head = self.chain.head()?;
        let last = head
            .height
            .min(request.after.saturating_add(CATCH_UP_BLOCKS_READ_MAX));
        let mut blocks = Vec::new();
        for height in request.after.saturating_add(1)..=last {
            let block = match self.chain.ledger.block_bytes(height) {
                Ok(block) => block,
                // An archived block whose segment is missing or damaged: the peer asks another
                // node; this one keeps running (the error is logged, and the operator alerted
                // by the log, where the archive directory needs restoring).
                Err(error @ vchain_ledger::LedgerError::ArchiveUnavailable { .. }) => {
                    warn!(%error, peer = %request.peer, "cannot serve an archived block to a catching-up peer");
                    break;
                }
                Err(error) => return Err(error.into()),
            };
            let (Some(block), Some(certificate)) = (block, self.chain.ledger.certificate(height)?)
            else {
                break; // history not here (an installed snapshot) or a block without one
            };
            let Some(signatures) =
                vchain_proto::v1::CommitCertificate::decode(certificate.as_slice())
                    .ok()
                    .as_ref()
                    .and_then(super::pbft::signatures)
            else {
                break;
            };
            blocks.push(CertifiedBlock {
                index: height,
                block,
                certificate: signatures,
            });
        }
        debug!(peer = %request.peer, after = request.after, blocks = blocks.len(), "serving a catch-up request");
        self.engine.serve_catch_up(&request.peer, blocks);
        Ok(())
    }

    /// Sends the engine's messages to their nodes' network identities (best effort: the
    /// protocol resends what is lost).
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

    /// Writes what the engine asks to persist in one synced batch, after installing the state
    /// of a snapshot it hands over.
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
}
