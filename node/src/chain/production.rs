//! Block production, on the leader: whether a block is due and may be cut, the time it gets,
//! and cutting it: selecting transactions from the mempool, executing them, fitting the encoded
//! block under its limit, sealing it and proposing it to the engine.
//!
//! Invariants kept here:
//! - one proposal in flight at a time, since the next block builds on this one's state; a
//!   proposal that has not committed within `PROPOSAL_TIMEOUT` is given up, its transactions
//!   still in the mempool;
//! - a block's time is never before its parent's + 1 ms, and is bounded by the members' clocks
//!   (`crate::block_time`);
//! - a sealed block is never larger than `ENCODED_BLOCK_BYTES_LIMIT`: its size is bounded
//!   (`encoded_block_len_max`) after execution and asserted after sealing;
//! - a refused proposal never stops the node: it is counted, logged and retried after
//!   `PROPOSAL_RETRY_DELAY`;
//! - nothing here writes the ledger: a proposed block is kept `Prepared` and applied only when
//!   the engine reports it committed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use prost::Message;
use tracing::{info_span, warn};
use vchain_contracts::block::{seal, BlockDraft};
use vchain_contracts::limits::{BLOCK_BYTES_LIMIT, BLOCK_TX_LIMIT, ENCODED_BLOCK_BYTES_LIMIT};
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::{execute_block_verified, BlockContext, BlockOutcome};
use vchain_ledger::{ChainHead, TreeUpdate};
use vchain_proto::v1::SignedTransaction;

use super::admission::next_nonce_in;
use super::engine_loop::Producer;
use super::{lock, Chain, ChainError};
use crate::block_time::block_time;

/// How long the producer waits before proposing again after the engine refused a proposal,
/// so a refusing engine (a leadership transfer under way) is not fed a block every tick.
const PROPOSAL_RETRY_DELAY: Duration = Duration::from_millis(250);
/// A proposed block that has not committed after this long is given up (its transactions stay
/// in the mempool for the next block).
pub(super) const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

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
pub(super) struct Prepared {
    /// The block's hash, to recognise it when it commits.
    pub(super) hash: Hash,
    /// Its execution's outcome.
    pub(super) outcome: BlockOutcome,
    /// The state tree's update for its writes.
    pub(super) tree: TreeUpdate,
}

/// What [`Producer::cut_block`] did.
enum Cut {
    /// It proposed this block (boxed: the other outcomes carry nothing).
    Proposed(Box<Prepared>),
    /// The block could not be proposed (the engine refused it, or its one transaction does
    /// not fit a block): the next try waits `PROPOSAL_RETRY_DELAY`.
    Refused,
    /// Nothing selectable waits and an empty block was not wanted: nothing was proposed.
    Nothing,
}

/// Most often a node warns that its own clock differs from the consortium's.
const CLOCK_WARNING_INTERVAL: Duration = Duration::from_secs(60);

impl Chain {
    /// True if the chain's own step (a destruction, a pledge lapse or a proposal expiry) is due
    /// at chain time `now_ms`, so that a quiet chain still cuts the block that does it. A read
    /// failure counts as not due: the next block's execution reports it.
    fn chain_step_due(&self, now_ms: u64) -> bool {
        vchain_contracts::chain_step_due(&self.producer_state(), now_ms).unwrap_or(false)
    }
}

impl Producer {
    /// Cuts and proposes a block when one is `due` and this node may: it leads, no proposal is
    /// in flight, no refusal's delay runs, and there is work (transactions waiting or the
    /// chain's own step due at the block's time). Unless `empty_allowed`, a block that would
    /// carry no transaction (and no chain step) is not cut.
    pub(super) fn propose_if_due(
        &mut self,
        head: &ChainHead,
        due: bool,
        empty_allowed: bool,
        last_block: &mut Instant,
    ) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        // The block time only when this node may cut a block now (it reads the peers' clocks).
        let may_cut = due
            && self.in_flight.is_none()
            && self.retry_after.is_none_or(|after| Instant::now() >= after)
            && self.engine.is_leader();
        let block_time = may_cut
            .then(|| self.next_block_time(head))
            .filter(|now| chain.mempool_len() > 0 || chain.chain_step_due(*now));
        if let Some(now) = block_time {
            // The block before is announced first: its clients would otherwise wait out this
            // block's execution, where its write (a few milliseconds) is all there is to win.
            // Blocks this node re-executes (a follower's, a catch-up) keep their write behind
            // the next block's execution.
            self.settle_staged()?;
            match self.cut_block(now, head, empty_allowed)? {
                Cut::Proposed(prepared) => {
                    self.in_flight = Some((head.height + 1, Instant::now()));
                    self.last_cut_carried_transactions = !prepared.outcome.results.is_empty();
                    if self.last_cut_carried_transactions {
                        self.last_carrying_cut = Instant::now();
                    }
                    self.prepared = Some(*prepared);
                    self.retry_after = None;
                }
                Cut::Refused => self.retry_after = Some(Instant::now() + PROPOSAL_RETRY_DELAY),
                Cut::Nothing => {}
            }
            *last_block = Instant::now();
            self.drain_ready()?;
        } else if due {
            *last_block = Instant::now();
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
    fn cut_block(
        &mut self,
        now_ms: u64,
        head: &ChainHead,
        empty_allowed: bool,
    ) -> Result<Cut, ChainError> {
        let chain = &self.chain;
        let height = head.height + 1;
        // `now_ms` is already the block time `next_block_time` chose; never before the head.
        let timestamp_ms = now_ms.max(head.timestamp_ms + 1);
        let span = info_span!("cut_block", height);
        let _entered = span.enter();
        // Never propose a block under rules this node does not execute (it stops instead).
        chain.require_rules_for(height)?;
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
            |tx_max| {
                let state = chain.producer_state();
                lock(&chain.mempool).select(tx_max, bytes_max, |a| next_nonce_in(&state, a))
            },
            |transactions| {
                Ok(execute_block_verified(
                    &chain.producer_state(),
                    &BlockContext {
                        height,
                        timestamp_ms,
                    },
                    transactions,
                    &chain.verified_signatures,
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
                return Ok(Cut::Refused);
            }
        };
        // The chain's own step is read only for a block that would be empty: most blocks carry
        // transactions, and this is a state read.
        if transactions.is_empty() && !empty_allowed && !chain.chain_step_due(now_ms) {
            return Ok(Cut::Nothing);
        }
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
            return Ok(Cut::Refused);
        }
        Ok(Cut::Proposed(Box::new(Prepared {
            hash,
            outcome,
            tree,
        })))
    }
}

#[cfg(test)]
mod tests {
    use vchain_consensus::{ConsensusError, Engine, NodeId, Ready};
    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::{Event, FreezeAccount, TxResult};

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
        let (chain, producer, key) = crate::test_chain::start_solo(
            dir.path(),
            |config| config.block_interval_ms = 20,
            |engine| {
                Box::new(Refusing {
                    inner: engine,
                    refusals: 3,
                })
            },
        );
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

    #[test]
    fn a_busy_chain_cuts_no_empty_block_while_a_nonce_gap_fills() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No block at the interval while the test runs: one is cut when three transactions
        // wait (a full block), or, the chain busy, back to back.
        let (chain, producer, key) = crate::test_chain::start_solo(
            dir.path(),
            |config| {
                config.block_interval_ms = 60_000;
                config.block_tx_target = 3;
            },
            |engine| engine,
        );
        let freeze = |nonce: u64| {
            crate::test_chain::freeze_second_admin(
                &chain.chain_id,
                nonce,
                &format!("gap {nonce}"),
                &key,
            )
        };
        let height = |receiver: Option<tokio::sync::oneshot::Receiver<crate::CommitNotice>>| {
            receiver
                .expect("a waiter")
                .blocking_recv()
                .expect("committed")
                .height
        };
        let first: Vec<_> = (0..3)
            .map(|nonce| chain.submit(freeze(nonce), true).expect("admitted").1)
            .collect();
        let busy_height = first.into_iter().map(height).max().expect("three");
        // Nonce 4 before 3: nothing is selectable until 3 arrives. An empty block cut meanwhile
        // would end the busy spell, and both would wait out the minute's interval.
        let beyond = chain.submit(freeze(4), true).expect("admitted").1;
        std::thread::sleep(std::time::Duration::from_millis(50));
        let next = chain.submit(freeze(3), true).expect("admitted").1;
        assert_eq!(
            height(next),
            busy_height + 1,
            "the next block, no empty one before it"
        );
        assert_eq!(height(beyond), busy_height + 1);
        assert_eq!(chain.head().expect("head").height, busy_height + 1);
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
    }
}
