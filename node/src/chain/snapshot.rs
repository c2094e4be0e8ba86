//! State sync: the checkpoints this node takes (compacting the consensus log behind them) and
//! serves to peers, the state snapshots it installs from peers when the engine hands it one,
//! and filling in, beside the producer, the history a snapshot skipped.
//!
//! Invariants kept here:
//! - a snapshot is installed only if it does not contradict a block this node holds at its
//!   height (else divergence); a ledger already at or past it is left as it is;
//! - consensus waits while a snapshot installs (nothing after it can be applied without its
//!   state), retrying peers, the leader first, until one serves it or the node stops;
//! - after an install, the proposal in flight is forgotten, the parameters re-read, and the
//!   clients of transactions whose nonces the skipped blocks spent are released;
//! - a checkpoint is recorded before the log is compacted through the previous one, so a crash
//!   between the two leaves entries the snapshot covers, which a restart skips;
//! - history filled in from peers is only read and checked, never executed, so it never races
//!   the producer's writes to state;
//! - under PBFT no single peer is trusted for a snapshot: its block's commit certificate must
//!   verify against the validators this node knows before the state is fetched, and the
//!   install then checks the block and the state root against the certified header.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tracing::{debug, error, info, info_span, warn};
use vchain_consensus::{NodeId, SnapshotRecord};
use vchain_contracts::block::block_hash;
use vchain_ledger::ConsensusWrite;

use super::engine_loop::Producer;
use super::{lock, Chain, ChainError};
use crate::network::PeerId;
use crate::sync::{Fetcher, SyncError};

/// Under PBFT, how long after a snapshot attempt the next may start.
const PBFT_SNAPSHOT_RETRY: Duration = Duration::from_secs(10);

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

/// The state a Raft snapshot record stands for.
pub(super) fn decode_descriptor(
    record: &SnapshotRecord,
) -> Result<vchain_proto::v1::SnapshotDescriptor, ChainError> {
    vchain_proto::v1::SnapshotDescriptor::decode(record.data.as_slice()).map_err(|e| {
        ChainError::Sync(SyncError::Invalid(format!(
            "snapshot at log index {} does not describe a state: {e}",
            record.index
        )))
    })
}

impl Chain {
    /// Answers a peer's state-sync request (see [`crate::sync`]).
    pub(crate) fn serve_sync(&self, request: &[u8]) -> Vec<u8> {
        match &self.checkpoints {
            Some(checkpoints) => checkpoints.serve(&self.ledger, request),
            None => Vec::new(),
        }
    }

    /// True while this node installs a state snapshot from a peer.
    pub(crate) fn is_syncing(&self) -> bool {
        self.syncing.load(Ordering::SeqCst)
    }

    /// Starts filling in, from peers, the blocks a snapshot install skipped (if any are
    /// missing and no filler runs yet). History is only read, never executed, so this runs
    /// beside the producer.
    pub(super) fn start_backfill(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
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
                    // Past blocks' certificates are kept when they verify against the
                    // validators at the head (ADR 0015): a bundle can then rest on them.
                    let certificates = vchain_contracts::consensus_config(&*chain.ledger)
                        .ok()
                        .and_then(|config| {
                            vchain_contracts::commit_certificate::Validators::from_config(&config)
                                .ok()
                        })
                        .map(|validators| crate::sync::CertificateCheck {
                            chain_id: chain.chain_id.clone(),
                            validators,
                        });
                    if let Err(error) = crate::sync::backfill_history(
                        &chain.ledger,
                        &fetcher,
                        || peers.all().into_values().collect(),
                        || chain.is_stopping(),
                        certificates.as_ref(),
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
}

impl Producer {
    /// Makes the ledger hold the state `record` stands for (or a later committed one): nothing
    /// to do if it already does, else fetched from peers, the leader first, retrying until
    /// one serves it or the node stops. Consensus waits meanwhile: nothing after the snapshot
    /// can be applied without its state.
    pub(super) fn install_snapshot(&mut self, record: &SnapshotRecord) -> Result<(), ChainError> {
        // The block in flight, if any, is durable and announced before the state is replaced.
        self.settle_staged()?;
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
                        // The snapshot's head block was not applied here: certify it as if it
                        // had been (the set may have changed, so it is read again).
                        self.certify_applied(head.height, head.block_hash, true)?;
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

    /// Under PBFT, when a peer is more than two checkpoint intervals ahead: installs the newest
    /// snapshot a peer serves whose block's commit certificate verifies against the validators
    /// this node knows (those of its head), instead of fetching every block. A certificate
    /// that does not verify (the set may have changed since this node's head) is refused, and
    /// the node goes on catching up by certified blocks, which is always possible.
    pub(super) fn catch_up_by_snapshot(&mut self) -> Result<(), ChainError> {
        let Some((_, claimed)) = self.engine.lag() else {
            return Ok(());
        };
        let chain = self.chain.clone();
        let head = chain.head()?;
        let lag_min = chain.config.snapshot_interval.saturating_mul(2).max(1);
        if claimed <= head.height.saturating_add(lag_min)
            || self
                .last_snapshot_try
                .is_some_and(|at| at.elapsed() < PBFT_SNAPSHOT_RETRY)
        {
            return Ok(());
        }
        self.last_snapshot_try = Some(std::time::Instant::now());
        // The validators below are read from the durable state: nothing may be in flight.
        self.settle_staged()?;
        let (Some(peers), Some(runtime)) = (&chain.peers, &self.runtime) else {
            return Ok(());
        };
        let fetcher = Fetcher {
            network: &peers.network,
            runtime,
        };
        let membership = vchain_contracts::consensus_config(&*chain.ledger)?;
        let validators = vchain_contracts::commit_certificate::Validators::from_config(&membership)
            .map_err(|e| ChainError::Invariant(format!("the chain's validators: {e}")))?;
        let span = info_span!("pbft_snapshot", head = head.height, claimed);
        let _entered = span.enter();
        for (node, peer) in peers.all() {
            if node == chain.config.node_id {
                continue;
            }
            let offer = match fetcher.list(peer) {
                Ok(offers) => offers
                    .into_iter()
                    .filter(|o| o.height > head.height)
                    .max_by_key(|o| o.height),
                Err(error) => {
                    debug!(%error, %node, "no snapshot list");
                    continue;
                }
            };
            let Some(offer) = offer else {
                continue;
            };
            let certificate = match fetcher.certificate(peer, offer.height) {
                Ok(Some(certificate)) => certificate,
                Ok(None) => continue,
                Err(error) => {
                    debug!(%error, %node, "no certificate for its snapshot");
                    continue;
                }
            };
            let names_it =
                certificate.height == offer.height && certificate.block_hash == offer.block_hash;
            let verified = vchain_contracts::commit_certificate::verify(
                &chain.chain_id,
                &validators,
                &certificate,
            );
            if !names_it || verified.is_err() {
                warn!(%node, height = offer.height, ?verified, names_it, "a snapshot whose certificate does not check; catching up by blocks");
                continue;
            }
            let Some(signatures) = super::pbft::signatures(&certificate) else {
                continue;
            };
            chain.syncing.store(true, Ordering::SeqCst);
            let _syncing = scopeguard(|| chain.syncing.store(false, Ordering::SeqCst));
            match fetcher.install(peer, &chain.ledger, &offer) {
                Ok(installed) => {
                    chain
                        .ledger
                        .store_certificate(installed.height, &certificate.encode_to_vec())?;
                    self.engine
                        .installed(installed.height, installed.block_hash, signatures);
                    self.prepared = None;
                    self.in_flight = None;
                    self.validated.clear();
                    self.validations.clear();
                    self.forget_stale_transactions();
                    chain.refresh_params()?;
                    self.membership.dirty = true;
                    chain.snapshots_installed.fetch_add(1, Ordering::SeqCst);
                    chain.start_backfill(runtime);
                    self.follow_validator_changes()?;
                    info!(height = installed.height, from = %node, "caught up from a certified snapshot");
                    return Ok(());
                }
                Err(error) => warn!(%error, %node, "snapshot install failed"),
            }
        }
        Ok(())
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
    pub(super) fn maybe_checkpoint(&mut self, applied: u64) -> Result<(), ChainError> {
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
}
