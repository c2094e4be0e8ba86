//! Applying what the engine reports committed: checking and re-executing a block this node did
//! not prepare, committing it in one synced batch, and telling everyone who waits: the clients
//! waiting on its transactions, the event subscribers, the mempool.
//!
//! Invariants kept here:
//! - a block reaches the ledger only from here, and this is called only for an entry the engine
//!   reported committed;
//! - a committed block that does not extend the head is skipped, the same way on every node
//!   (every node sees the same committed sequence);
//! - a block this node did not prepare is checked field by field (`check_body`, `check_header`,
//!   `check_execution`) and re-executed before it is stored: a mismatch is a divergence naming
//!   the field, and the node stops rather than store a block it cannot vouch for;
//! - a block, its state, tree and indexes are committed in one synced batch before anyone is
//!   told of it;
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
use vchain_ledger::BlockCommit;
use vchain_proto::v1::{
    Block, BlockHeader, ErrorCode, Event, EventKind, TransactionBody, TxResult,
};

use super::engine_loop::Producer;
use super::production::Prepared;
use super::{lock, BlockEvents, ChainError, CommitNotice};

/// A block `apply_committed` applied.
pub(super) struct AppliedBlock {
    /// Its height.
    pub(super) height: u64,
    /// Its hash.
    pub(super) hash: Hash,
    /// True if it changed the chain's consensus membership.
    pub(super) membership_changed: bool,
}

impl Producer {
    /// Persists a committed block, re-executing it unless this node prepared it. A committed
    /// block that does not extend the head (a proposal overtaken by another leader's block at
    /// the same height, or one applied before a restart) is skipped: every node sees the same
    /// committed sequence and head, so every node skips the same blocks.
    pub(super) fn apply_committed(
        &mut self,
        payload: &[u8],
        signatures: Option<&CommitSignatures>,
    ) -> Result<Option<AppliedBlock>, ChainError> {
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
            return Ok(None);
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
            certificate: certificate.as_deref(),
        })?;
        chain.metrics.block_applied(
            header.timestamp_ms,
            started.elapsed().as_secs_f64(),
            outcome.results.iter().map(|r| {
                (r.code != 0).then(|| {
                    vchain_proto::v1::ErrorCode::try_from(r.code)
                        .map_or("UNKNOWN", |code| code.as_str_name())
                })
            }),
        );
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
        let membership_changed = outcome.events().any(|e| {
            matches!(
                e.kind(),
                EventKind::ConsensusNodeAdded | EventKind::ConsensusNodeRemoved
            )
        });
        if membership_changed {
            self.membership.dirty = true;
        }
        if outcome
            .events()
            .any(|e| e.kind() == EventKind::ChainParamsChanged)
        {
            chain.refresh_params()?;
            info!(height = header.height, params = ?chain.params(), "chain parameters changed");
        }
        for event in outcome.events() {
            match event.kind() {
                EventKind::RulesUpgradeScheduled => {
                    info!(
                        height = header.height,
                        version = event.rules_version,
                        activation_height = event.activation_height,
                        proposal = %event.proposal_id,
                        "chain rules upgrade scheduled"
                    );
                    chain.warn_unsupported_rules();
                }
                EventKind::RulesUpgradeActivated => info!(
                    height = header.height,
                    version = event.rules_version,
                    proposal = %event.proposal_id,
                    "chain rules upgraded: this block and every later one execute under the new version"
                ),
                _ => {}
            }
        }
        // Last: the waiters take the results (and their events) over, without copies.
        self.notify(header.height, &tx_hashes, &signers, outcome);
        Ok(Some(AppliedBlock {
            height: header.height,
            hash,
            membership_changed,
        }))
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
        let head = chain.head()?;
        let membership = vchain_contracts::consensus_config(&*chain.ledger)?;
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
            &chain.ledger.cached_state(),
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
