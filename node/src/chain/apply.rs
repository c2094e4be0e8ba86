//! Applying what the engine reports committed: checking and re-executing a block this node did
//! not prepare, staging it (its synced batch written behind the producer), and, once durable,
//! telling everyone who waits: the clients waiting on its transactions, the event subscribers,
//! the mempool, certification and the consensus log.
//!
//! Invariants kept here:
//! - a block reaches the ledger only from here, and this is called only for an entry the engine
//!   reported committed;
//! - a committed block that does not extend the producer's head (the staged block, else the
//!   durable head) is skipped, the same way on every node (every node sees the same committed
//!   sequence);
//! - a block this node did not prepare is checked field by field (`check_body`, `check_header`,
//!   `check_execution`) and re-executed, against the producer's view (the staged block's writes
//!   over the durable state), before it is stored: a mismatch is a divergence naming the field,
//!   and the node stops rather than store a block it cannot vouch for;
//! - a block, its state, tree and indexes are committed in one synced batch, and nobody is told
//!   of it (clients, subscribers, peers' certification, the consensus log's applied index)
//!   before that batch is durable (`settle_staged`); at most one block is in flight;
//! - a waiting transaction whose nonce another one spent is answered at once (`BAD_NONCE`),
//!   not at its client's timeout.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use tracing::{debug, info, warn};
use vchain_consensus::CommitSignatures;
use vchain_contracts::block::{
    block_hash, check_body, check_execution, check_header, BlockField, BlockMismatch, Parent,
};
use vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT;
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::{execute_block_verified, BlockContext, BlockOutcome};
use vchain_ledger::{BlockCommit, ConsensusWrite};
use vchain_proto::v1::{
    Block, BlockHeader, ErrorCode, Event, EventKind, TransactionBody, TxResult,
};

use super::engine_loop::Producer;
use super::production::Prepared;
use super::{lock, BlockEvents, ChainError, CommitNotice};

/// A block `apply_committed` staged: its synced write runs behind the producer, and everything
/// that tells anyone of it waits here until the write is durable ([`Producer::settle_staged`]).
pub(super) struct StagedBlock {
    /// Its height.
    height: u64,
    /// Its hash.
    hash: Hash,
    /// Its time, for the block-age metric.
    timestamp_ms: u64,
    /// Who proposed it.
    proposer: String,
    /// The state root it committed to.
    state_root: Hash,
    /// Seconds from receiving it to handing its write over (execution, tree, batch).
    apply_seconds: f64,
    /// When its write was handed over: the rest of the time to durable is the disk's.
    staged_at: Instant,
    /// Its transactions' hashes, in block order.
    tx_hashes: Vec<Hash>,
    /// Their signers, for pruning the mempool of what the block superseded.
    signers: Vec<String>,
    /// Its execution's outcome: the waiters take the results over.
    outcome: BlockOutcome,
    /// True if it changed the chain's consensus membership.
    membership_changed: bool,
    /// The consensus log index recorded as applied once the block is durable: recorded before,
    /// a crash would leave the engine believing applied a block the ledger lost.
    pub(super) applied_index: Option<u64>,
}

impl Producer {
    /// Stages a committed block, re-executing it unless this node prepared it; its write runs
    /// behind the producer, which can execute the next block on it at once. The block before,
    /// if staged, is made durable and announced first ([`Producer::settle_staged`]). A committed
    /// block that does not extend the producer's head (a proposal overtaken by another
    /// leader's block at the same height, or one applied before a restart) is skipped: every
    /// node sees the same committed sequence and head, so every node skips the same blocks.
    pub(super) fn apply_committed(
        &mut self,
        payload: &[u8],
        signatures: Option<&CommitSignatures>,
    ) -> Result<(), ChainError> {
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
        let head = chain.producer_head()?;
        if header.height != head.height + 1 || header.prev_hash != head.block_hash {
            let stored = chain
                .ledger
                .block(header.height)?
                .and_then(|b| b.header)
                .map(|h| block_hash(&h));
            if stored == Some(hash) || self.staged.as_ref().is_some_and(|s| s.hash == hash) {
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
        // Executed already: as the proposer, or validating it as a PBFT backup.
        let executed = match self.prepared.take().filter(|p| p.hash == hash) {
            Some(prepared) => Some(prepared),
            None => self
                .validated
                .iter()
                .position(|p| p.hash == hash)
                .map(|i| self.validated.swap_remove(i)),
        };
        self.validated.clear();
        let Prepared { outcome, tree, .. } = match executed {
            Some(prepared) => prepared,
            None => self.reexecute(&block, &header)?,
        };
        let certificate =
            signatures.map(|s| super::pbft::certificate(header.height, &hash, s).encode_to_vec());
        let tx_hashes: Vec<Hash> = block
            .transactions
            .iter()
            .map(|tx| tx_hash(&tx.body))
            .collect();
        // The block before is announced while nothing is in flight: pruning the mempool by the
        // durable nonces then sees exactly that block (staging this one first, its write could
        // land meanwhile and make its transactions look superseded).
        self.settle_staged()?;
        chain.ledger.stage_block(&BlockCommit {
            height: header.height,
            block_hash: hash,
            state_root: tree.root,
            timestamp_ms: header.timestamp_ms,
            block_bytes: payload,
            tx_hashes: &tx_hashes,
            state_writes: &outcome.state_writes,
            tree: &tree,
            index_writes: &outcome.index_writes,
            certificate: certificate.as_deref(),
        })?;
        // What the next block is cut and checked under changes now, not once durable.
        *lock(&chain.head_applied_at) = Instant::now();
        if outcome
            .events()
            .any(|e| e.kind() == EventKind::ChainParamsChanged)
        {
            chain.refresh_params()?;
            info!(height = header.height, params = ?chain.params(), "chain parameters changed");
        }
        let signers: Vec<String> = block
            .transactions
            .iter()
            .filter_map(|tx| {
                TransactionBody::decode(tx.body.as_slice())
                    .ok()
                    .map(|b| b.signer)
            })
            .collect();
        let membership_changed = outcome.events().any(|e| {
            matches!(
                e.kind(),
                EventKind::ConsensusNodeAdded | EventKind::ConsensusNodeRemoved
            )
        });
        self.staged = Some(StagedBlock {
            height: header.height,
            hash,
            timestamp_ms: header.timestamp_ms,
            proposer: header.proposer,
            state_root: tree.root,
            apply_seconds: started.elapsed().as_secs_f64(),
            staged_at: Instant::now(),
            tx_hashes,
            signers,
            outcome,
            membership_changed,
            applied_index: None,
        });
        Ok(())
    }

    /// Waits until the staged block, if any, is durable, then tells everyone: metrics and the
    /// log, membership reconciliation, the rules-upgrade notices, the mempool, the waiting
    /// clients and the event subscribers, certification, and the consensus log's applied
    /// index. Nothing is acknowledged before this: a crash while the write is in flight loses
    /// only a block no one was told of, which the node applies again when it restarts.
    pub(super) fn settle_staged(&mut self) -> Result<(), ChainError> {
        let Some(staged) = self.staged.take() else {
            return Ok(());
        };
        let chain = self.chain.clone();
        // Another writer (a certificate, history) may have waited for it already: then the
        // ledger reports nothing in flight, and the block is durable all the same.
        chain.ledger.wait_committed()?;
        let durable_seconds = staged.staged_at.elapsed().as_secs_f64();
        let StagedBlock {
            height,
            hash,
            outcome,
            ..
        } = staged;
        chain.metrics.block_applied(
            staged.timestamp_ms,
            staged.apply_seconds + durable_seconds,
            outcome.results.iter().map(|r| {
                (r.code != 0).then(|| {
                    vchain_proto::v1::ErrorCode::try_from(r.code)
                        .map_or("UNKNOWN", |code| code.as_str_name())
                })
            }),
        );
        let rejected = outcome.results.iter().filter(|r| r.code != 0).count();
        info!(
            height,
            txs = staged.tx_hashes.len(),
            rejected,
            proposer = %staged.proposer,
            state_root = %hex::encode(staged.state_root),
            apply_ms = (staged.apply_seconds * 1e3) as u64,
            durable_after_ms = (durable_seconds * 1e3) as u64,
            "block committed"
        );
        if staged.membership_changed {
            self.membership.dirty = true;
        }
        for event in outcome.events() {
            match event.kind() {
                EventKind::RulesUpgradeScheduled => {
                    info!(
                        height,
                        version = event.rules_version,
                        activation_height = event.activation_height,
                        proposal = %event.proposal_id,
                        "chain rules upgrade scheduled"
                    );
                    chain.warn_unsupported_rules();
                }
                EventKind::RulesUpgradeActivated => info!(
                    height,
                    version = event.rules_version,
                    proposal = %event.proposal_id,
                    "chain rules upgraded: this block and every later one execute under the new version"
                ),
                _ => {}
            }
        }
        // The waiters take the results (and their events) over, without copies.
        self.notify(height, &staged.tx_hashes, &staged.signers, outcome);
        self.certify_applied(height, hash, staged.membership_changed)?;
        if let (Some(index), Some(_)) = (staged.applied_index, &chain.peers) {
            chain.ledger.consensus_persist(&ConsensusWrite {
                applied: Some(index),
                ..Default::default()
            })?;
        }
        Ok(())
    }

    /// Checks a block someone else proposed, field by field, executes it and checks the
    /// outcome against the header: the body against its own roots and count
    /// (`block::check_body`), the header against the parent and the membership
    /// (`block::check_header`), then results, system events and every root against this
    /// node's execution (`block::check_execution`). Any mismatch is a divergence naming the
    /// field: the node stops rather than store a block it cannot vouch for.
    fn reexecute(&self, block: &Block, header: &BlockHeader) -> Result<Prepared, ChainError> {
        let chain = &self.chain;
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
        self.check_and_execute(block, header)?
            .map_err(|mismatch| ChainError::Divergence {
                height: header.height,
                field: mismatch.field.as_str(),
                why: mismatch.to_string(),
            })
    }

    /// Checks `block` against the head and executes it: its size against `block_tx_max`, its
    /// body (`block::check_body`), its header against the parent and the membership
    /// (`block::check_header`), then results, system events and every root against this
    /// node's execution (`block::check_execution`). The outer error is this node's own
    /// (storage); the inner one names the block's field that differs.
    pub(super) fn check_and_execute(
        &self,
        block: &Block,
        header: &BlockHeader,
    ) -> Result<Result<Prepared, BlockMismatch>, ChainError> {
        let chain = &self.chain;
        let tx_max = chain.params().block_tx_max;
        if block.transactions.len() > tx_max as usize {
            return Ok(Err(BlockMismatch {
                height: header.height,
                field: BlockField::TxCount,
                expected: format!("at most {tx_max} transactions"),
                found: block.transactions.len().to_string(),
            }));
        }
        if let Err(mismatch) = check_body(block) {
            return Ok(Err(mismatch));
        }
        let head = chain.producer_head()?;
        let membership = vchain_contracts::consensus_config(&chain.producer_state())?;
        let parent = Parent {
            chain_id: &chain.chain_id,
            height: head.height,
            hash: &head.block_hash,
            timestamp_ms: head.timestamp_ms,
        };
        if let Err(mismatch) = check_header(header, &parent, &membership) {
            return Ok(Err(mismatch));
        }
        // A block under rules this node does not execute stops it (this node's own error, not
        // the block's): it neither stores nor votes for what it cannot check.
        chain.require_rules_for(header.height)?;
        let outcome = execute_block_verified(
            &chain.producer_state(),
            &BlockContext {
                height: header.height,
                timestamp_ms: header.timestamp_ms,
            },
            &block.transactions,
            &chain.verified_signatures,
        )?;
        let tree = chain.ledger.prepare_state(&outcome.state_writes)?;
        if let Err(mismatch) = check_execution(block, header, &outcome, &tree.root) {
            return Ok(Err(mismatch));
        }
        Ok(Ok(Prepared {
            hash: block_hash(header),
            outcome,
            tree,
        }))
    }

    /// Tells everyone block `height` committed: prunes the mempool of its transactions and of
    /// those its transactions superseded, answers their waiting clients, streams its events.
    fn notify(&self, height: u64, tx_hashes: &[Hash], signers: &[String], outcome: BlockOutcome) {
        let chain = &self.chain;
        let (waited, superseded) = {
            let mut mempool = lock(&chain.mempool);
            let waited = mempool.waited(tx_hashes);
            let superseded = mempool.remove_committed(tx_hashes, signers, |a| chain.next_nonce(a));
            (waited, superseded)
        };
        chain.metrics.committed_after(waited.into_iter());
        // The subscribers' copy; the waiters then take the results themselves.
        let events: Vec<Event> = outcome.events().cloned().collect();
        {
            let mut waiters = lock(&chain.waiters);
            for ((hash, result), message) in
                tx_hashes.iter().zip(outcome.results).zip(outcome.messages)
            {
                // The block carries the code; the words are this node's own.
                let result = TxResult { message, ..result };
                let mut senders = waiters.remove(hash).unwrap_or_default();
                // Most transactions have one waiter: the last one takes the result itself.
                let last = senders.pop();
                for sender in senders {
                    let _ = sender.send(CommitNotice {
                        height,
                        result: result.clone(),
                    });
                }
                if let Some(sender) = last {
                    let _ = sender.send(CommitNotice { height, result });
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
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::sync::oneshot::error::TryRecvError;

    use crate::chain::Chain;
    use crate::clock::ChainClock;
    use crate::test_chain::{freeze_second_admin, solo};

    /// Polls `done` every 5 ms for at most 10 s.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A solo chain in `dir` whose next block's write is held at a gate: the chain, its
    /// producer, the gate, the head before, and what restarts it (config, genesis, clock, key).
    struct Held {
        chain: Arc<Chain>,
        producer: std::thread::JoinHandle<()>,
        gate: std::sync::mpsc::Sender<bool>,
        before: vchain_ledger::ChainHead,
        config: crate::config::NodeConfig,
        genesis: vchain_contracts::genesis::Genesis,
        clock: Arc<ChainClock>,
        key: ed25519_dalek::SigningKey,
    }

    fn start_held(dir: &std::path::Path) -> Held {
        let clock = Arc::new(ChainClock::default());
        let (mut config, genesis, key) = solo(dir, clock.now_ms());
        config.block_interval_ms = 20;
        let (chain, producer) =
            Chain::start_with_engine(config.clone(), &genesis, clock.clone(), None, |e| e)
                .expect("starts");
        let before = chain.head().expect("head");
        let gate = chain.ledger.gate_next_write();
        Held {
            chain,
            producer,
            gate,
            before,
            config,
            genesis,
            clock,
            key,
        }
    }

    #[test]
    fn a_client_is_answered_only_once_its_block_is_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Held {
            chain,
            producer,
            gate,
            before,
            key,
            ..
        } = start_held(dir.path());
        let before = before.height;
        let tx = freeze_second_admin(&chain.chain_id, 0, "held", &key);
        let (hash, receiver) = chain.submit(tx, true).expect("admitted");
        let mut receiver = receiver.expect("a waiter");
        eventually("the producer staged the block", || {
            chain.ledger.staged_head().is_some()
        });
        let staged = chain.ledger.staged_head().expect("staged");
        assert_eq!(staged.height, before + 1);
        // The producer builds on it, but while its write is held nobody is told of it.
        assert_eq!(chain.producer_head().expect("producer head"), staged);
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            matches!(receiver.try_recv(), Err(TryRecvError::Empty)),
            "no answer while the block is being written"
        );
        assert_eq!(chain.head().expect("head").height, before, "the API's head");
        assert!(chain.ledger.block(staged.height).expect("read").is_none());
        gate.send(true).expect("the write is held");
        let notice = receiver.blocking_recv().expect("answered once durable");
        assert_eq!(notice.result.tx_hash, hash.to_vec());
        assert_eq!(notice.height, staged.height);
        assert!(
            chain.head().expect("head").height >= staged.height,
            "durable before the answer"
        );
        // Every later answer, written behind without a gate, comes after its block's write too.
        for nonce in 1..=20 {
            let tx = freeze_second_admin(&chain.chain_id, nonce, "behind", &key);
            let (_, receiver) = chain.submit(tx, true).expect("admitted");
            let notice = receiver
                .expect("a waiter")
                .blocking_recv()
                .expect("committed");
            assert!(chain.head().expect("head").height >= notice.height);
        }
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
        assert!(!chain.has_failed());
    }

    #[test]
    fn a_block_whose_write_fails_is_never_acknowledged_and_the_node_restarts_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Held {
            chain,
            producer,
            gate,
            before,
            config,
            genesis,
            clock,
            key,
        } = start_held(dir.path());
        let tx = freeze_second_admin(&chain.chain_id, 0, "lost", &key);
        let (hash, receiver) = chain.submit(tx.clone(), true).expect("admitted");
        eventually("the producer staged the block", || {
            chain.ledger.staged_head().is_some()
        });
        // The disk fails the write (or the node dies before its sync): the same to the store.
        gate.send(false).expect("the write is held");
        assert!(
            receiver.expect("a waiter").blocking_recv().is_err(),
            "its client is dropped, never told it committed"
        );
        producer.join().expect("the producer stops on its own");
        assert!(chain.has_failed());
        assert!(
            chain.failure().contains("writing staged block"),
            "the failure names the lost write: {}",
            chain.failure()
        );
        assert_eq!(chain.head().expect("head"), before);
        chain.shutdown();
        drop(chain);

        // Restarted on the same disk: at the block before, the transaction never applied, and
        // the chain goes on (the same transaction commits, its nonce still free).
        let deadline = Instant::now() + Duration::from_secs(10);
        let (chain, producer) = loop {
            match Chain::start_with_engine(config.clone(), &genesis, clock.clone(), None, |e| e) {
                Ok(started) => break started,
                // The stopped node's last admission thread may still hold the store a moment.
                Err(error) if Instant::now() < deadline => {
                    eprintln!("restart: {error}");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => panic!("the node restarts: {error}"),
            }
        };
        assert_eq!(chain.head().expect("head"), before);
        assert!(chain.ledger.tx_location(&hash).expect("read").is_none());
        let (again, receiver) = chain.submit(tx, true).expect("admitted again");
        assert_eq!(again, hash);
        let notice = receiver
            .expect("a waiter")
            .blocking_recv()
            .expect("committed");
        assert_eq!(notice.result.code, 0, "{}", notice.result.message);
        assert_eq!(notice.height, before.height + 1);
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
        assert!(!chain.has_failed());
    }
}
