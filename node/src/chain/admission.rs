//! Admission: transactions entering this node's mempool (`Chain::submit`,
//! `Chain::submit_async`, `Chain::submit_batch`), the clients waiting on their commit, waking the
//! producer, and handing them to the leader when this node does not lead. Also the nonce the
//! mempool is pruned by.
//!
//! Invariants kept here:
//! - a transaction enters the mempool only after `check_tx` (or `check_txs`) passed it; a
//!   stopping node admits nothing;
//! - a waiter is registered before its transaction is admitted, so its commit cannot be
//!   missed; a refused submission withdraws only its own waiter; at most
//!   `WAITERS_PER_TX_MAX` wait on one transaction;
//! - a transaction sent again while it waits is not refused: its sender waits with the others;
//! - a producer that awaits transactions on a busy chain (`Chain::awaiting_transactions`) is
//!   woken by the first admission, and a full block's worth wakes it in any case;
//! - admitted transactions stay in this node's mempool when forwarded (this node may lead
//!   next); a follower hands the leader again what waited since the last time every
//!   `REFORWARD_INTERVAL`, and all of it to a new leader, in batches of `FORWARD_BATCH_MAX`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::oneshot;
use tracing::debug;
use vchain_consensus::NodeId;
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::{keys, read_message, CheckError, CheckedTx};
use vchain_proto::v1::{Account, SignedTransaction};

use super::admission_batch::Reply;
use super::engine_loop::{Producer, Wake};
use super::{lock, Chain, CommitNotice};
use crate::mempool::MempoolError;

/// Most clients waiting on one transaction's commit.
pub(crate) const WAITERS_PER_TX_MAX: usize = 64;

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

impl SubmitError {
    /// The rule code a client is answered with (`ErrorCode` name), for the admission metric.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            SubmitError::Check(CheckError::Rejected(rejection)) => rejection.code.as_str_name(),
            SubmitError::Check(CheckError::Fatal(_)) => "INTERNAL",
            SubmitError::Mempool(MempoolError::Full { .. }) => "MEMPOOL_FULL",
            SubmitError::Mempool(MempoolError::NonceTaken { .. } | MempoolError::Duplicate(_)) => {
                "NONCE_TAKEN"
            }
            SubmitError::ShuttingDown => "NODE_UNAVAILABLE",
        }
    }
}

/// The admission metric's outcome of an admitted transaction (or one already waiting).
const ADMITTED: &str = "admitted";

/// What a submission gets: the transaction's hash and, when it asked to wait, a receiver that
/// fires when it commits.
pub type Admission = Result<(Hash, Option<oneshot::Receiver<CommitNotice>>), SubmitError>;

/// The admission metric's outcome of `admission`.
pub(super) fn admission_outcome(admission: &Admission) -> &'static str {
    match admission {
        Ok(_) => ADMITTED,
        Err(error) => error.outcome(),
    }
}

/// Most waiting transactions handed to a new leader at once.
const FORWARD_ON_LEADER_CHANGE_MAX: usize = 16_384;
/// How often a follower hands the leader again what has waited here since the last time: a
/// forward lost with the leader unchanged would otherwise wait for the next leader change.
const REFORWARD_INTERVAL: Duration = Duration::from_secs(3);
/// Transactions per forwarded batch (the network's batch limit is 4096).
const FORWARD_BATCH_MAX: usize = 1_024;
const _: () = assert!(FORWARD_BATCH_MAX <= crate::network::TRANSACTIONS_PER_BATCH_MAX);

/// Who handed [`Chain::submit_batch`] its transactions: what it hands them on to depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchOrigin {
    /// A client, through the API (`SubmitTransactions`).
    Client,
    /// A member's node, forwarding or broadcasting what its clients sent.
    Peer,
}

impl Chain {
    /// Forwards admitted transactions to the leader when this node is not it, so they reach a
    /// block wherever they were submitted. They also stay in this node's mempool, in case this
    /// node leads next.
    fn forward_to_leader(&self, transactions: Vec<Vec<u8>>) {
        if self.broadcasts_transactions() {
            self.forward_to_validators(transactions);
            return;
        }
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

    /// Whether admitted transactions go to every validator, not only the leader: under PBFT
    /// every replica must see each request (PBFT §4.1), so that a primary that leaves it out
    /// is suspected by all of them and replaced (a censoring or silent primary), not by the one
    /// replica that happened to receive it.
    fn broadcasts_transactions(&self) -> bool {
        self.engine_name == "pbft"
    }

    /// Sends `transactions` to every other validator.
    fn forward_to_validators(&self, transactions: Vec<Vec<u8>>) {
        let Some(peers) = &self.peers else {
            return;
        };
        if transactions.is_empty() {
            return;
        }
        for (node, peer) in peers.all() {
            if node == self.config.node_id {
                continue;
            }
            if let Err(error) = peers
                .network
                .forward_transactions(peer, transactions.clone())
            {
                debug!(%error, %node, "could not forward transactions to a validator");
            }
        }
    }

    /// Admits `tx` to the mempool. With `wait`, also returns a receiver that fires when it
    /// commits (registered before admission, so the commit cannot be missed). Checked in a
    /// batch with whatever else arrives meanwhile (`admission_batch`); this thread waits for
    /// the answer.
    pub fn submit(&self, tx: SignedTransaction, wait: bool) -> Admission {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        match self.admission.enqueue(tx, wait, Reply::Blocking(reply)) {
            // The checker answers every job it takes, unless the chain is gone.
            Ok(()) => answer.recv().unwrap_or(Err(SubmitError::ShuttingDown)),
            Err(tx) => self.admit_alone(tx, wait),
        }
    }

    /// [`Chain::submit`] for an async caller: it awaits the admission thread's answer without
    /// holding a thread (the RPC handler's path). When that thread cannot take the job, it is
    /// admitted on a blocking thread instead.
    pub(crate) async fn submit_async(
        self: &Arc<Self>,
        tx: SignedTransaction,
        wait: bool,
    ) -> Result<Admission, tokio::task::JoinError> {
        let (reply, answer) = oneshot::channel();
        match self.admission.enqueue(tx, wait, Reply::Async(reply)) {
            Ok(()) => Ok(answer.await.unwrap_or(Err(SubmitError::ShuttingDown))),
            Err(tx) => {
                let chain = self.clone();
                tokio::task::spawn_blocking(move || chain.admit_alone(tx, wait)).await
            }
        }
    }

    /// Checks and admits `tx` on this thread (the admission thread is not running or its queue
    /// is full).
    fn admit_alone(&self, tx: SignedTransaction, wait: bool) -> Admission {
        let admitted = if self.stopping.load(Ordering::SeqCst) {
            Err(SubmitError::ShuttingDown)
        } else {
            match vchain_contracts::check_tx(&*self.ledger, &tx, &self.verified_signatures) {
                Ok(checked) => {
                    let mut forwards = Vec::new();
                    let admitted = self.admit_checked(checked, tx, wait, &mut forwards);
                    self.after_admitting(forwards);
                    admitted
                }
                Err(error) => Err(error.into()),
            }
        };
        self.metrics.admission(admission_outcome(&admitted));
        admitted
    }

    /// Admits a transaction that passed its admission check: registers its waiter (with
    /// `wait`), then puts it in the mempool. Its encoding goes to `forwards` when this node
    /// has peers to hand it to.
    pub(super) fn admit_checked(
        &self,
        checked: CheckedTx,
        tx: SignedTransaction,
        wait: bool,
        forwards: &mut Vec<Vec<u8>>,
    ) -> Admission {
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
        let inserted = lock(&self.mempool).insert(&checked, tx);
        match inserted {
            // Sent again while it waits: not a refusal. The caller waits with the others (or
            // hears it is pending), exactly as if it were the first sending.
            Err(MempoolError::Duplicate(_)) => Ok((checked.hash, receiver)),
            Ok(()) => {
                forwards.extend(forward);
                Ok((checked.hash, receiver))
            }
            Err(error) => {
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

    /// After admitting some transactions: wakes the producer when a block is full, and hands
    /// the admitted ones (`forwards`) to the leader.
    pub(super) fn after_admitting(&self, forwards: Vec<Vec<u8>>) {
        let len = lock(&self.mempool).len();
        self.wake_producer(len);
        self.forward_to_leader(forwards);
    }

    /// Wakes the producer when `waiting` transactions (the mempool's length after an
    /// admission) make a full block, or when it sleeps awaiting the first of them on a busy
    /// chain (it then cuts the next block at once instead of at its interval).
    fn wake_producer(&self, waiting: usize) {
        if waiting >= self.block_tx_target() {
            let _ = self.wake.try_send(Wake::BlockFull);
        } else if waiting > 0 && self.awaiting_transactions.swap(false, Ordering::SeqCst) {
            let _ = self.wake.try_send(Wake::Arrived);
        }
    }

    /// Admits many transactions, verifying their signatures in one batch. One result per
    /// transaction, in order; a transaction already waiting is admitted (sent again, not
    /// refused). What `origin` sent is handed on as a single submission's would be: a client's
    /// batch to the leader (every validator under PBFT); a peer's to the leader under Raft, and
    /// under PBFT to no one (the validator the client reached sent it to every validator).
    pub(crate) fn submit_batch(
        &self,
        transactions: Vec<SignedTransaction>,
        origin: BatchOrigin,
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
        let mut checks =
            vchain_contracts::check_txs(&*self.ledger, &fresh, &self.verified_signatures)
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
        self.wake_producer(len);
        // Under PBFT the node a client reached sent them to every validator already.
        if origin == BatchOrigin::Client || !self.broadcasts_transactions() {
            self.forward_to_leader(forwards);
        }
        for result in &results {
            self.metrics.admission(match result {
                Ok(_) => ADMITTED,
                Err(error) => error.outcome(),
            });
        }
        Ok(results)
    }

    /// How many waiting transactions make a full block: the node's target, at most the
    /// chain's `block_tx_max`.
    pub(super) fn block_tx_target(&self) -> usize {
        self.config.block_tx_target.min(self.params().block_tx_max) as usize
    }

    /// The next nonce `account` may use as of the durable state (0 when it cannot be read):
    /// what the mempool is pruned by once a block is durable.
    pub(super) fn next_nonce(&self, account: &str) -> u64 {
        next_nonce_in(&*self.ledger, account)
    }
}

/// The next nonce `account` may use in `state` (0 when it cannot be read). The producer selects
/// a block's transactions by its own view (`Chain::producer_state`): the transactions of a
/// block still being written wait in the mempool until it is durable, and are passed over.
pub(super) fn next_nonce_in(state: &dyn vchain_ledger::StateReader, account: &str) -> u64 {
    match read_message::<Account>(state, &keys::account(account), "Account") {
        Ok(Some(account)) => account.next_nonce,
        _ => 0,
    }
}

impl Producer {
    /// On a follower: hands the leader again, every `REFORWARD_INTERVAL`, what arrived here
    /// since the last time (a forward lost with the leader unchanged would otherwise wait for
    /// the next leader change), and a new leader everything waiting.
    pub(super) fn forward_waiting(&mut self, leader: &Option<NodeId>, previous: &Option<NodeId>) {
        let chain = &self.chain;
        if self.reforward.0.elapsed() >= REFORWARD_INTERVAL {
            let mark = lock(&chain.mempool).arrival_mark();
            let handing_over = chain.broadcasts_transactions()
                || (leader == previous
                    && leader.as_ref().is_some_and(|l| *l != chain.config.node_id));
            if handing_over {
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
    }
}
