//! The node's chain: the ledger, the mempool, commit notifications, and the block producer that
//! drives the consensus engine.
//!
//! The producer is one OS thread, the only writer of the ledger. Each round it cuts a block from
//! the mempool, executes it, seals it with the new state root, proposes it to the engine, and
//! applies whatever the engine reports committed: persist the block, its state and indexes in one
//! synced batch, then wake waiting clients, stream the events and prune the mempool. A committed
//! block the node did not execute itself (a follower's, later) is re-executed and its state root
//! checked; a mismatch stops the node rather than let it serve a state others do not have.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::{broadcast, oneshot};
use tracing::{error, info, info_span, warn};
use vchain_consensus::{solo::Solo, Engine};
use vchain_contracts::block::{block_hash, merkle_root, result_hash, seal, BlockDraft};
use vchain_contracts::execute::chain_config;
use vchain_contracts::genesis::Genesis;
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::{
    check_tx, execute_block, keys, read_message, BlockContext, BlockOutcome, CheckError,
};
use vchain_ledger::{BlockCommit, ChainHead, RocksLedger, StateReader, TreeUpdate};

use vchain_proto::v1::{
    Account, Block, BlockHeader, ChainParams, Event, SignedTransaction, TxResult,
};

use crate::clock::ChainClock;
use crate::config::NodeConfig;
use crate::mempool::{Mempool, MempoolError};

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
    #[error("divergence at height {height}: {why}")]
    Divergence {
        /// Height.
        height: u64,
        /// What differed.
        why: String,
    },
    /// The consensus engine refused.
    #[error("consensus: {0}")]
    Consensus(#[from] vchain_consensus::ConsensusError),
    /// An invariant assertion failed while producing or applying a block.
    #[error("invariant violated: {0}")]
    Invariant(String),
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
    /// Chain parameters.
    pub params: ChainParams,
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
}

/// A message to the producer thread.
#[derive(Debug)]
enum Wake {
    /// Enough transactions wait for a full block.
    BlockFull,
    /// Finish the current block and stop.
    Shutdown,
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
    let ledger = RocksLedger::open(&config.ledger_dir())?;
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
    ) -> Result<(Arc<Chain>, std::thread::JoinHandle<()>), ChainError> {
        if !genesis
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
        let (wake, wake_rx) = std::sync::mpsc::sync_channel(16);
        let chain = Arc::new(Chain {
            mempool: Mutex::new(Mempool::new(config.mempool_max)),
            waiters: Mutex::new(HashMap::new()),
            events: broadcast::channel(EVENT_CHANNEL_BLOCKS_MAX).0,
            ledger,
            clock,
            chain_id,
            params,
            genesis_hash,
            engine_name: genesis.consensus.engine.clone(),
            config,
            wake,
            stopping: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            stopped: tokio::sync::watch::channel(false).0,
        });
        let engine = Solo::resume(chain.config.node_id.clone(), head.height);
        let producer = Producer {
            chain: chain.clone(),
            engine: Box::new(engine),
            wake: wake_rx,
        };
        let handle = std::thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || producer.run())
            .map_err(|e| ChainError::Genesis(format!("cannot spawn the producer thread: {e}")))?;
        Ok((chain, handle))
    }

    /// The committed head.
    pub fn head(&self) -> Result<ChainHead, ChainError> {
        self.ledger
            .head()?
            .ok_or_else(|| ChainError::Genesis("ledger has no head".into()))
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
            (Ok(()), len) => {
                if len >= self.block_tx_target() {
                    let _ = self.wake.try_send(Wake::BlockFull);
                }
                Ok((checked.hash, receiver))
            }
            (Err(error), _) => {
                if wait {
                    lock(&self.waiters).remove(&checked.hash);
                }
                Err(error.into())
            }
        }
    }

    /// Admits many transactions, verifying their signatures in one batch. One result per
    /// transaction, in order.
    pub fn submit_batch(
        &self,
        transactions: Vec<SignedTransaction>,
    ) -> Result<Vec<Result<Hash, SubmitError>>, SubmitError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(SubmitError::ShuttingDown);
        }
        let checks = vchain_contracts::check_txs(&*self.ledger, &transactions)
            .map_err(|e| SubmitError::Check(CheckError::Fatal(e)))?;
        let mut results = Vec::with_capacity(transactions.len());
        let len = {
            let mut mempool = lock(&self.mempool);
            for (transaction, check) in transactions.into_iter().zip(checks) {
                results.push(match check {
                    Ok(checked) => mempool
                        .insert(&checked, transaction)
                        .map(|()| checked.hash)
                        .map_err(SubmitError::from),
                    Err(error) => Err(SubmitError::from(error)),
                });
            }
            mempool.len()
        };
        if len >= self.block_tx_target() {
            let _ = self.wake.try_send(Wake::BlockFull);
        }
        Ok(results)
    }

    fn block_tx_target(&self) -> usize {
        self.config.block_tx_target.min(self.params.block_tx_max) as usize
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

    /// True if the first voucher in the expiry queue is due at chain time `now_ms`.
    fn destruction_due(&self, now_ms: u64) -> bool {
        let today = vchain_contracts::validate::local_day(now_ms, self.params.utc_offset_minutes);
        match self.ledger.scan_prefix(keys::EXPIRY_PREFIX, None, 1) {
            Ok(first) => first
                .first()
                .and_then(|(key, _)| keys::parse_expiry(key))
                .is_some_and(|(day, _)| day <= today),
            Err(_) => false,
        }
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
}

impl Producer {
    fn run(mut self) {
        let interval = Duration::from_millis(self.chain.config.block_interval_ms);
        let mut last_block = Instant::now();
        loop {
            let wait = interval.saturating_sub(last_block.elapsed());
            let shutdown = match self.wake.recv_timeout(wait) {
                Ok(Wake::Shutdown) | Err(RecvTimeoutError::Disconnected) => true,
                Ok(Wake::BlockFull) => false,
                Err(RecvTimeoutError::Timeout) => false,
            };
            let full = self.chain.mempool_len() >= self.chain.block_tx_target();
            if shutdown || full || last_block.elapsed() >= interval {
                // An invariant assertion failing inside execution must stop the node, loudly,
                // not leave it serving reads with a dead producer.
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.round()))
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
                    error!(%error, "block production failed; stopping the node");
                    self.chain.failed.store(true, Ordering::SeqCst);
                    self.chain.stopping.store(true, Ordering::SeqCst);
                    self.chain.stopped.send_replace(true);
                    // Dropping the senders tells every waiting client now, not at its timeout.
                    lock(&self.chain.waiters).clear();
                    return;
                }
                last_block = Instant::now();
            }
            if shutdown {
                info!("block producer stopped");
                return;
            }
        }
    }

    /// One round: cut and propose a block if there is work, then apply what is committed.
    fn round(&mut self) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let now = chain.clock.now_ms();
        if self.engine.is_leader() && (chain.mempool_len() > 0 || chain.destruction_due(now)) {
            let prepared = self.cut_block(now)?;
            let mut prepared = Some(prepared);
            self.drain_ready(&mut prepared)?;
        } else {
            self.drain_ready(&mut None)?;
        }
        Ok(())
    }

    fn cut_block(&mut self, now_ms: u64) -> Result<Prepared, ChainError> {
        let chain = &self.chain;
        let head = chain.head()?;
        let height = head.height + 1;
        let timestamp_ms = now_ms.max(head.timestamp_ms + 1);
        let span = info_span!("cut_block", height);
        let _entered = span.enter();
        let transactions = lock(&chain.mempool).select(
            chain.params.block_tx_max as usize,
            chain.params.block_bytes_max as usize,
            |a| chain.next_nonce(a),
        );
        let outcome = execute_block(
            &*chain.ledger,
            &BlockContext {
                height,
                timestamp_ms,
            },
            &transactions,
        )?;
        let tree = chain.ledger.prepare_state(&outcome.state_writes)?;
        let draft = BlockDraft {
            chain_id: chain.chain_id.clone(),
            height,
            prev_hash: head.block_hash,
            timestamp_ms,
            proposer: chain.config.node_id.clone(),
        };
        let (block, hash) = seal(draft, transactions, &outcome, tree.root);
        self.engine.propose(block.encode_to_vec())?;
        Ok(Prepared {
            hash,
            outcome,
            tree,
        })
    }

    fn drain_ready(&mut self, prepared: &mut Option<Prepared>) -> Result<(), ChainError> {
        let ready = self.engine.ready();
        for committed in &ready.committed {
            if let Some(payload) = committed.payload() {
                self.apply_committed(payload, prepared.take())?;
            }
        }
        self.engine.advance(&ready);
        Ok(())
    }

    /// Persists a committed block, re-executing it unless this node prepared it.
    fn apply_committed(
        &mut self,
        payload: &[u8],
        prepared: Option<Prepared>,
    ) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let started = Instant::now();
        let block = Block::decode(payload).map_err(|e| ChainError::Divergence {
            height: 0,
            why: format!("committed block does not decode: {e}"),
        })?;
        let header = block.header.clone().ok_or(ChainError::Divergence {
            height: 0,
            why: "committed block has no header".into(),
        })?;
        let hash = block_hash(&header);
        let head = chain.head()?;
        let diverge = |why: String| ChainError::Divergence {
            height: header.height,
            why,
        };
        if header.height != head.height + 1 || header.prev_hash != head.block_hash {
            return Err(diverge(format!(
                "block does not extend head {} at height {}",
                hex::encode(head.block_hash),
                head.height
            )));
        }
        let Prepared { outcome, tree, .. } = match prepared.filter(|p| p.hash == hash) {
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
            state_root = %hex::encode(tree.root),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "block committed"
        );
        self.notify(header.height, &tx_hashes, &outcome);
        Ok(())
    }

    /// Executes a block someone else proposed and checks it matches its header.
    fn reexecute(&self, block: &Block, header: &BlockHeader) -> Result<Prepared, ChainError> {
        let chain = &self.chain;
        let diverge = |why: String| ChainError::Divergence {
            height: header.height,
            why,
        };
        if block.transactions.len() > chain.params.block_tx_max as usize {
            return Err(diverge(format!(
                "{} transactions exceed block_tx_max",
                block.transactions.len()
            )));
        }
        let outcome = execute_block(
            &*chain.ledger,
            &BlockContext {
                height: header.height,
                timestamp_ms: header.timestamp_ms,
            },
            &block.transactions,
        )?;
        let tree = chain.ledger.prepare_state(&outcome.state_writes)?;
        if tree.root.as_slice() != header.state_root.as_slice() {
            return Err(diverge(format!(
                "state root {} computed, header says {}",
                hex::encode(tree.root),
                hex::encode(&header.state_root)
            )));
        }
        let result_hashes: Vec<Hash> = outcome.results.iter().map(result_hash).collect();
        if merkle_root(&result_hashes).as_slice() != header.result_root.as_slice() {
            return Err(diverge(
                "transaction results differ from the header's result root".into(),
            ));
        }
        Ok(Prepared {
            hash: block_hash(header),
            outcome,
            tree,
        })
    }

    fn notify(&self, height: u64, tx_hashes: &[Hash], outcome: &BlockOutcome) {
        let chain = &self.chain;
        lock(&chain.mempool).remove_committed(tx_hashes, |a| chain.next_nonce(a));
        {
            let mut waiters = lock(&chain.waiters);
            for (hash, result) in tx_hashes.iter().zip(&outcome.results) {
                for sender in waiters.remove(hash).unwrap_or_default() {
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
