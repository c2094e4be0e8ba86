//! The persistent ledger on RocksDB: blocks, transaction locations, state, tree nodes, secondary
//! indexes, commit certificates and the chain head, one column family each. A block is committed as one synced write
//! batch, so after a crash the store holds either all of a block or none of it.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use prost::Message;
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, Direction, IteratorMode, Snapshot, WriteBatch, DB,
};
use vchain_proto::v1::{Block, StateProof};

use crate::error::Hex;
use crate::tree::{self, Node, NodePath, NodeStore, TreeUpdate, NODE_LEN, NODE_PATH_LEN};
use crate::{scan_start, Entry, Hash, LedgerError, StateReader, WriteSet, EMPTY_ROOT};
use tree_pages::{page_of, PageCache, StoredPage};

const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_HASHES: &str = "block_hashes";
const CF_TXS: &str = "txs";
const CF_STATE: &str = "state";
/// Tree nodes one per entry: ledger formats up to 2. Emptied by the migration to format 3 and
/// otherwise unused; kept so that such a ledger opens.
const CF_TREE: &str = "tree";
/// Tree nodes in pages of four levels ([`tree_pages`]): ledger format 3 on.
const CF_TREE_PAGES: &str = "tree_pages";
const CF_INDEX: &str = "index";
const CF_META: &str = "meta";
const COLUMN_FAMILIES: [&str; 11] = [
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_TXS,
    CF_STATE,
    CF_TREE,
    CF_TREE_PAGES,
    CF_INDEX,
    CF_META,
    consensus_log::CF_CONSENSUS_LOG,
    consensus_log::CF_CONSENSUS_META,
    certificates::CF_CERTIFICATES,
];
/// Point-read column families, where a bloom filter saves the disk read for absent keys.
const BLOOM_FAMILIES: [&str; 3] = [CF_STATE, CF_TREE_PAGES, CF_TXS];

const HEAD_KEY: &[u8] = b"head";
/// Version of the head record layout, so a future layout is refused rather than misread.
const HEAD_FORMAT: u8 = 1;
/// Head record: format, height (u64 BE), block hash, state root, timestamp (u64 BE).
const HEAD_LEN: usize = 1 + 8 + 32 + 32 + 8;
/// Transaction location: height (u64 BE) then index in the block (u32 BE).
const TX_LOCATION_LEN: usize = 8 + 4;
/// Most transactions a block may hold: a location indexes them with a u32.
pub const BLOCK_TX_MAX: usize = u32::MAX as usize;

/// The committed tip of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Height of the last committed block (genesis = 0).
    pub height: u64,
    /// Its hash.
    pub block_hash: Hash,
    /// The state root after it.
    pub state_root: Hash,
    /// Its timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

impl ChainHead {
    fn encode(&self) -> [u8; HEAD_LEN] {
        let mut bytes = [0u8; HEAD_LEN];
        bytes[0] = HEAD_FORMAT;
        bytes[1..9].copy_from_slice(&self.height.to_be_bytes());
        bytes[9..41].copy_from_slice(&self.block_hash);
        bytes[41..73].copy_from_slice(&self.state_root);
        bytes[73..].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() != HEAD_LEN || bytes[0] != HEAD_FORMAT {
            return Err(LedgerError::corruption(
                "head record",
                format!(
                    "{} bytes with format {:?}, want {HEAD_LEN} bytes with format {HEAD_FORMAT}",
                    bytes.len(),
                    bytes.first()
                ),
            ));
        }
        Ok(ChainHead {
            height: u64_at(bytes, 1),
            block_hash: hash_at(bytes, 9),
            state_root: hash_at(bytes, 41),
            timestamp_ms: u64_at(bytes, 73),
        })
    }
}

/// Where a committed transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Height of its block.
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
}

/// Everything one block commits, written in one atomic batch.
#[derive(Clone, Copy, Debug)]
pub struct BlockCommit<'a> {
    /// Height of the block: the head's height + 1, or 0 for genesis.
    pub height: u64,
    /// Hash of the block (SHA-256 of the encoded header).
    pub block_hash: Hash,
    /// State root after the block, as its header records it.
    pub state_root: Hash,
    /// Block timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The encoded `vchain_proto::v1::Block`, stored as given.
    pub block_bytes: &'a [u8],
    /// Transaction hashes, in block order.
    pub tx_hashes: &'a [Hash],
    /// State writes of the block.
    pub state_writes: &'a WriteSet,
    /// The tree update from [`RocksLedger::prepare_state`] over the same `state_writes`.
    pub tree: &'a TreeUpdate,
    /// Secondary index writes (keys and values chosen by the caller).
    pub index_writes: &'a WriteSet,
    /// The block's encoded `vchain_proto::v1::CommitCertificate`, if it was decided with one
    /// (PBFT), verified by the caller; it must name this height and `block_hash`. Without one,
    /// [`RocksLedger::store_certificate`] attaches it later.
    pub certificate: Option<&'a [u8]>,
}

/// The persistent ledger. `Send + Sync`: share it through an `Arc` between the block producer
/// (the single writer) and readers. Readers that need several consistent reads take a
/// [`snapshot`](Self::snapshot).
pub struct RocksLedger {
    /// Shared with the thread writing a staged block ([`staged`]).
    db: Arc<DB>,
    /// The writer's state: held by `prepare_state`, `commit_block` and `stage_block`, so a
    /// commit's head check and batch are one step even if two callers break the single-writer
    /// rule, and the tree pages it caches always equal the committed tree with the staged
    /// block's pages, if one is being written, laid over it.
    writer: Mutex<PageCache>,
    /// State values for the block producer's reads ([`RocksLedger::cached_state`]): committed,
    /// or written by the staged block; emptied by a snapshot install.
    state_cache: Mutex<state_cache::StateCache>,
    /// The block whose synced write may be in flight ([`staged`]); taken under the writer lock.
    staged: Mutex<staged::Staged>,
    /// A gate the next staged write waits at (fault injection by tests only:
    /// [`RocksLedger::gate_next_write`]).
    write_gate: Mutex<Option<std::sync::mpsc::Receiver<bool>>>,
    path: PathBuf,
    /// Set when [`RocksLedger::open`] found an interrupted snapshot install and emptied the
    /// ledger.
    emptied_interrupted_install: std::sync::atomic::AtomicBool,
    /// Where archived blocks' segment files are ([`RocksLedger::attach_archive`]).
    archive_dir: std::sync::OnceLock<PathBuf>,
    /// Held by an archive while it writes segments, so two never move the same blocks.
    archiving: Mutex<()>,
}

/// The committed tree as the writer sees it: cached pages from memory, the rest from RocksDB
/// (and then cached). It reads the store alone, so the thread writing a staged block uses it
/// too ([`staged`]).
struct CachedTree<'a> {
    db: &'a DB,
    cache: RefCell<&'a mut PageCache>,
}

impl CachedTree<'_> {
    /// Brings the committed page at `root` into the cache from the store, unless cached.
    fn load(&self, root: &NodePath) -> Result<(), LedgerError> {
        if self.cache.borrow().get(root).is_none() {
            let page = stored_page(self.db, root)?;
            self.cache.borrow_mut().insert(*root, page);
        }
        Ok(())
    }

    /// The pages that apply `update`, to write and then to cache once they are durable. Every
    /// committed page it changes is loaded first (a read for each one neither cached nor
    /// [known absent](Self::known_absent)), so the pages are built from borrowed cache entries.
    fn page_writes(&self, update: &TreeUpdate) -> Result<tree_pages::PagesWritten, LedgerError> {
        let changes = tree_pages::changes_by_page(update);
        for root in tree_pages::roots(&changes) {
            if !self.known_absent(&root) {
                self.load(&root)?;
            }
        }
        let cache = self.cache.borrow();
        Ok(tree_pages::page_writes(&changes, |root| {
            // Not cached: known absent above.
            cache.get(root).and_then(Option::as_ref)
        }))
    }

    /// Whether the committed page at `root` is certainly absent, from cached pages alone: the
    /// position just above it is empty or a leaf, and nothing lies below either (a leaf is
    /// alone in its subtree). A tree update places new nodes below leaves it pushes down; this
    /// spares the store a read for each page such a node starts.
    fn known_absent(&self, root: &NodePath) -> bool {
        if root.depth() == 0 {
            return false;
        }
        let (parent_root, slot) = page_of(&root.ancestor(root.depth() - 1));
        let cache = self.cache.borrow();
        match cache.get(&parent_root) {
            Some(parent) => !matches!(
                parent.as_ref().and_then(|page| page.node(slot)),
                Some(Node::Inner { .. })
            ),
            None => false,
        }
    }
}

impl NodeStore for CachedTree<'_> {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        let (root, slot) = page_of(path);
        // Most reads hit the cache: one lookup, then a load only on a miss.
        if let Some(page) = self.cache.borrow().get(&root) {
            return Ok(page.as_ref().and_then(|page| page.node(slot)));
        }
        self.load(&root)?;
        Ok(self
            .cache
            .borrow()
            .get(&root)
            .and_then(Option::as_ref)
            .and_then(|page| page.node(slot)))
    }

    /// As the default, but a node its cached page knows to match its parent's record is not
    /// re-hashed, and one that matches now is marked so (see [`tree_pages::StoredPage`]).
    fn child(&self, path: NodePath, hash: &Hash) -> Result<Option<Node>, LedgerError> {
        if *hash == EMPTY_ROOT {
            return Ok(None);
        }
        let (root, slot) = page_of(&path);
        if self.cache.borrow().get(&root).is_none() {
            self.load(&root)?;
        }
        let cache = self.cache.borrow();
        let page = cache.get(&root).and_then(Option::as_ref);
        let node = page.and_then(|page| page.node(slot));
        let matched = page.is_some_and(|page| page.matched(slot));
        let checked = tree::check_child(path, hash, node, matched)?;
        if let (Some(page), false) = (page, matched) {
            page.mark_matched(slot);
        }
        Ok(checked)
    }
}

/// The span of a block's commit, written on the caller's thread or behind it (staged).
fn commit_span(commit: &BlockCommit<'_>, write_behind: bool) -> tracing::Span {
    tracing::info_span!(
        "commit_block",
        height = commit.height,
        write_behind,
        txs = commit.tx_hashes.len(),
        state_writes = commit.state_writes.len(),
        node_writes = commit.tree.node_writes.len(),
        index_writes = commit.index_writes.len(),
    )
}

impl Drop for RocksLedger {
    /// A staged write still in flight finishes first: the database closes (and its lock is
    /// released for the next open) only once nothing writes to it.
    fn drop(&mut self) {
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        if let Err(error) = self.finish_staged(&mut writer) {
            tracing::error!(%error, "a staged block was not written before the ledger closed");
        }
    }
}

impl fmt::Debug for RocksLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocksLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn storage(what: impl Into<String>) -> impl FnOnce(rocksdb::Error) -> LedgerError {
    let what = what.into();
    move |error| LedgerError::Storage {
        what,
        source: Box::new(error),
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut buffer = [0u8; 8];
    buffer.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(buffer)
}

fn hash_at(bytes: &[u8], at: usize) -> Hash {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[at..at + 32]);
    hash
}

fn decode_height(bytes: &[u8], what: impl Fn() -> String) -> Result<u64, LedgerError> {
    if bytes.len() != 8 {
        return Err(LedgerError::corruption(
            what(),
            format!("height is {} bytes, want 8", bytes.len()),
        ));
    }
    Ok(u64_at(bytes, 0))
}

impl RocksLedger {
    /// Opens (creating if missing) the ledger at `path` with the default [`StorageBudget`]; see
    /// [`RocksLedger::open_with`].
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Self::open_with(path, &StorageBudget::default())
    }

    /// Opens (creating if missing) the ledger at `path` within `budget`, then reconciles: the
    /// head's state root must equal the stored tree root, and the head's block must be stored;
    /// otherwise the open is refused with [`LedgerError::Corruption`] naming both. A damaged
    /// write-ahead log is refused with [`LedgerError::Damaged`].
    pub fn open_with(path: &Path, budget: &StorageBudget) -> Result<Self, LedgerError> {
        let span = tracing::info_span!("ledger_open", path = %path.display());
        let _entered = span.enter();
        budget.check().map_err(|why| LedgerError::Storage {
            what: "storage budget".into(),
            source: why.into(),
        })?;
        let cache = budget.block_cache();
        let options = budget.db_options();
        let families = COLUMN_FAMILIES.iter().map(|name| {
            ColumnFamilyDescriptor::new(
                *name,
                budget.family_options(&cache, BLOOM_FAMILIES.contains(name)),
            )
        });
        let db = DB::open_cf_descriptors(&options, path, families).map_err(|error| {
            if error.kind() == rocksdb::ErrorKind::Corruption {
                tracing::error!(path = %path.display(), %error, "the ledger is damaged; refusing to start");
                LedgerError::Damaged {
                    path: path.display().to_string(),
                    found: error.to_string(),
                }
            } else {
                storage(format!("opening the ledger at {}", path.display()))(error)
            }
        })?;
        let ledger = RocksLedger {
            db: Arc::new(db),
            writer: Mutex::new(PageCache::default()),
            state_cache: Mutex::default(),
            staged: Mutex::default(),
            write_gate: Mutex::default(),
            path: path.to_path_buf(),
            emptied_interrupted_install: std::sync::atomic::AtomicBool::new(false),
            archive_dir: std::sync::OnceLock::new(),
            archiving: Mutex::new(()),
        };
        // A newer release's ledger is refused before it is read; an older one is migrated once
        // it is known to be whole.
        ledger.refuse_newer_format()?;
        let head = ledger.reconcile()?;
        ledger.settle_format()?;
        match head {
            Some(head) => {
                tracing::info!(height = head.height, state_root = %Hex(&head.state_root), "ledger opened")
            }
            None => tracing::info!("ledger opened empty (no genesis yet)"),
        }
        Ok(ledger)
    }

    /// Checks that the head, the tree and the blocks agree.
    fn reconcile(&self) -> Result<Option<ChainHead>, LedgerError> {
        if let Some(marker) = self.view().get(CF_META, snapshot::INSTALL_MARKER_KEY)? {
            // A snapshot install never finished: the state is partial. Start over empty, so the
            // node re-syncs rather than serving (or being stuck on) a half-installed state.
            let target = ChainHead::decode(&marker).map(|h| h.height).ok();
            tracing::warn!(
                ?target,
                "an interrupted snapshot install was found; emptying the ledger to sync again"
            );
            self.wipe_all()?;
            self.emptied_interrupted_install
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(None);
        }
        self.check_head()
    }

    /// Checks that the head, the stored tree root and the head block agree; the head.
    fn check_head(&self) -> Result<Option<ChainHead>, LedgerError> {
        let view = self.view();
        let head = view.head()?;
        // A ledger older than format 3 holds its tree one node per entry until it is migrated,
        // which happens only once it is known to be whole.
        let tree_root = if self.format()? < format::TREE_PAGES_FORMAT {
            view.legacy_tree_root()?
        } else {
            view.tree_root()?
        };
        match head {
            None if tree_root != EMPTY_ROOT => Err(LedgerError::corruption(
                "ledger head",
                format!(
                    "no head record, but the stored state tree has root {}",
                    Hex(&tree_root)
                ),
            )),
            None => Ok(None),
            Some(head) => {
                if head.state_root != tree_root {
                    return Err(LedgerError::corruption(
                        "state tree",
                        format!(
                            "the head at height {} records state root {}, but the stored tree root is {}",
                            head.height,
                            Hex(&head.state_root),
                            Hex(&tree_root)
                        ),
                    ));
                }
                if view.block_bytes(head.height)?.is_none() {
                    return Err(LedgerError::corruption(
                        "blocks",
                        format!("the head block at height {} is not stored", head.height),
                    ));
                }
                Ok(Some(head))
            }
        }
    }

    fn view(&self) -> View<'_> {
        View {
            ledger: self,
            snapshot: None,
        }
    }

    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, LedgerError> {
        cf_of(&self.db, name)
    }

    /// True if this open found an interrupted snapshot install and emptied the ledger (blocks
    /// included): whatever the node recorded as applied elsewhere no longer holds.
    pub fn emptied_interrupted_install(&self) -> bool {
        self.emptied_interrupted_install
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The committed head; `None` before genesis is committed.
    pub fn head(&self) -> Result<Option<ChainHead>, LedgerError> {
        self.view().head()
    }

    /// The tree update for `writes` against the committed state, with the staged block's
    /// changes if one is being written ([`stage_block`](Self::stage_block)). The caller (the
    /// single writer) guarantees that no other block is committed or staged between this and the
    /// [`commit_block`](Self::commit_block) or [`stage_block`](Self::stage_block) that uses it;
    /// either refuses an update prepared against another root.
    pub fn prepare_state(&self, writes: &WriteSet) -> Result<TreeUpdate, LedgerError> {
        let mut writer = self.lock_writer()?;
        let store = CachedTree {
            db: &self.db,
            cache: RefCell::new(&mut writer),
        };
        tree::update(&store, writes)
    }

    /// The writer lock, with the tree pages back from the thread writing a staged block if it
    /// took them ([`staged`]): everything that reads or changes them waits for its pages first.
    fn lock_writer(&self) -> Result<MutexGuard<'_, PageCache>, LedgerError> {
        let mut writer = self.writer.lock().map_err(|_| {
            LedgerError::corruption(
                "commit lock",
                "poisoned: an earlier commit panicked, the store may be inconsistent",
            )
        })?;
        self.take_back_pages(&mut writer)?;
        Ok(writer)
    }

    /// Commits one block atomically: the block, its hash, its transaction locations, the state
    /// writes, the tree node writes, the index writes, its commit certificate if any and the new
    /// head, in one synced write batch, written on the caller's thread; returns once it is
    /// durable. Refused, with nothing written, when the height is not the next one, when the tree
    /// update's root is not the block's state root, when the update was prepared against another
    /// root, or when the certificate names another block. [`stage_block`](Self::stage_block)
    /// writes the same batch behind the caller's next block instead.
    pub fn commit_block(&self, commit: &BlockCommit<'_>) -> Result<(), LedgerError> {
        let span = commit_span(commit, false);
        let _entered = span.enter();
        let mut writer = self.lock_writer_settled()?;
        let new_head = self.check_commit(commit)?;
        let pages_written = CachedTree {
            db: &self.db,
            cache: RefCell::new(&mut writer),
        }
        .page_writes(commit.tree)?;
        let pages_bytes = pages_bytes(&pages_written);
        let mut batch = self.block_batch(commit, &new_head, pages_bytes)?;
        put_pages(&mut batch, self.cf(CF_TREE_PAGES)?, &pages_written);
        let mut write_options = rocksdb::WriteOptions::default();
        write_options.set_sync(true);
        self.db
            .write_opt(batch, &write_options)
            .map_err(storage(format!("committing block {}", commit.height)))?;
        // The batch is durable: bring the writer's cached pages to the committed tree, and its
        // cached values to the committed state.
        writer.refresh(pages_written);
        self.lock_state_cache().apply(commit.state_writes);
        self.check_committed(&new_head)
    }

    /// Stages one block for commit: the batch [`commit_block`](Self::commit_block) writes, refused
    /// for the same reasons, its tree pages built and the batch written and synced on a thread
    /// of its own ([`staged`]). Returns once the rest of the batch is built and handed over: the
    /// block producer's caches then hold the block (its tree pages once that thread has built
    /// them: the next [`prepare_state`](Self::prepare_state) waits for them), so the next block
    /// can be executed and prepared on it, but it is durable, and visible to every other reader,
    /// only when [`wait_committed`](Self::wait_committed) (or the next stage or commit, which
    /// waits first) says so.
    pub fn stage_block(&self, commit: &BlockCommit<'_>) -> Result<(), LedgerError> {
        let span = commit_span(commit, true);
        let _entered = span.enter();
        let mut writer = self.lock_writer_settled()?;
        let new_head = self.check_commit(commit)?;
        let batch = self.block_batch(commit, &new_head, estimated_pages_bytes(commit.tree))?;
        // The pages go with the write: building them was most of a block's commit on this
        // thread. An empty cache is left meanwhile (never read: `lock_writer` takes the pages
        // back first); if the thread cannot start, it stays empty, which is still the store's
        // tree, since nothing is staged.
        let (pages_built, pages_back) = std::sync::mpsc::channel();
        let pages = staged::PagesJob {
            cache: std::mem::take(&mut *writer),
            update: commit.tree.clone(),
            built: pages_built,
        };
        let write = staged::write_behind(
            Arc::clone(&self.db),
            batch,
            pages,
            commit.height,
            self.before_write(),
        )?;
        // The producer's state values hold the block from now on (not yet durable: every other
        // reader reads the store); settled once it is.
        self.lock_state_cache().stage(commit.state_writes);
        *self.lock_staged() = staged::Staged::Writing {
            head: new_head,
            pages: Some(pages_back),
            write: Some(write),
        };
        Ok(())
    }

    /// Checks `commit` against the durable head (the caller holds the writer lock, with no
    /// staged write in flight); returns the head the block makes.
    fn check_commit(&self, commit: &BlockCommit<'_>) -> Result<ChainHead, LedgerError> {
        let view = self.view();
        let head = view.head()?;
        let expected_height = match head {
            None => 0,
            Some(head) => head
                .height
                .checked_add(1)
                .ok_or_else(|| LedgerError::corruption("ledger head", "height at u64::MAX"))?,
        };
        if commit.height != expected_height {
            return Err(LedgerError::HeightMismatch {
                expected: expected_height,
                got: commit.height,
            });
        }
        let committed_root = head.map_or(EMPTY_ROOT, |head| head.state_root);
        if commit.tree.prev_root != committed_root {
            return Err(LedgerError::StaleTreeUpdate {
                expected: committed_root,
                got: commit.tree.prev_root,
            });
        }
        if commit.tree.root != commit.state_root {
            return Err(LedgerError::RootMismatch {
                expected: commit.state_root,
                got: commit.tree.root,
            });
        }
        if commit.tx_hashes.len() > BLOCK_TX_MAX {
            return Err(LedgerError::TooManyTransactions {
                count: commit.tx_hashes.len(),
                max: BLOCK_TX_MAX,
            });
        }
        if let Some(height) = view.height_of(&commit.block_hash)? {
            return Err(LedgerError::DuplicateBlock {
                block_hash: commit.block_hash,
                height,
            });
        }
        if let Some(certificate) = commit.certificate {
            Self::check_certificate(certificate, commit.height, &commit.block_hash)?;
        }

        Ok(ChainHead {
            height: commit.height,
            block_hash: commit.block_hash,
            state_root: commit.state_root,
            timestamp_ms: commit.timestamp_ms,
        })
    }

    /// `commit`'s write batch but its tree pages (whoever builds them puts them in), making
    /// `new_head`, with room for `pages_bytes` more.
    fn block_batch(
        &self,
        commit: &BlockCommit<'_>,
        new_head: &ChainHead,
        pages_bytes: usize,
    ) -> Result<WriteBatch, LedgerError> {
        let height_bytes = commit.height.to_be_bytes();
        // Sized up front: a block's batch runs to megabytes, and growing it doubles and copies.
        let mut batch = WriteBatch::with_capacity_bytes(batch_bytes(commit) + pages_bytes);
        batch.put_cf(self.cf(CF_BLOCKS)?, height_bytes, commit.block_bytes);
        batch.put_cf(self.cf(CF_BLOCK_HASHES)?, commit.block_hash, height_bytes);
        self.put_tx_locations(&mut batch, commit.height, commit.tx_hashes)?;
        write_set_into(&mut batch, self.cf(CF_STATE)?, commit.state_writes);
        write_set_into(&mut batch, self.cf(CF_INDEX)?, commit.index_writes);
        if let Some(certificate) = commit.certificate {
            self.put_certificate(&mut batch, commit.height, certificate)?;
        }
        batch.put_cf(self.cf(CF_META)?, HEAD_KEY, new_head.encode());
        Ok(batch)
    }

    /// Reads back, after `head`'s block became durable, what the next commit and every reader
    /// will rely on.
    pub(super) fn check_committed(&self, head: &ChainHead) -> Result<(), LedgerError> {
        let view = self.view();
        let stored_head = view.head()?;
        assert_eq!(
            stored_head,
            Some(*head),
            "head read back after the commit differs from the head written"
        );
        let stored_root = view.tree_root()?;
        assert_eq!(
            stored_root, head.state_root,
            "stored tree root after the commit differs from the block's state root"
        );
        tracing::debug!(height = head.height, state_root = %Hex(&head.state_root), "block committed");
        Ok(())
    }

    /// The encoded block at `height`, as committed.
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        self.view().block_bytes(height)
    }

    /// The block at `height`, decoded.
    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.block_bytes(height)?
            .map(|bytes| {
                Block::decode(bytes.as_slice()).map_err(|source| LedgerError::Decode {
                    what: format!("block at height {height}"),
                    source,
                })
            })
            .transpose()
    }

    /// Height of the block with hash `block_hash`.
    pub fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, LedgerError> {
        self.view().height_of(block_hash)
    }

    /// Where the transaction with hash `tx_hash` was committed.
    pub fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>, LedgerError> {
        let Some(bytes) = self.view().get(CF_TXS, tx_hash)? else {
            return Ok(None);
        };
        if bytes.len() != TX_LOCATION_LEN {
            return Err(LedgerError::corruption(
                format!("location of transaction {}", Hex(tx_hash)),
                format!("{} bytes, want {TX_LOCATION_LEN}", bytes.len()),
            ));
        }
        let mut index = [0u8; 4];
        index.copy_from_slice(&bytes[8..]);
        Ok(Some(TxLocation {
            height: u64_at(&bytes, 0),
            index: u32::from_be_bytes(index),
        }))
    }

    /// Adds to `batch` where each of `tx_hashes` lives: block `height`, its index in the block.
    /// Every path that stores a block (commit, history backfill, a snapshot's head block) goes
    /// through here, so every transaction of every block held is found by hash.
    pub(crate) fn put_tx_locations(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        tx_hashes: &[Hash],
    ) -> Result<(), LedgerError> {
        let txs = self.cf(CF_TXS)?;
        for (index, tx_hash) in tx_hashes.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| LedgerError::TooManyTransactions {
                count: tx_hashes.len(),
                max: BLOCK_TX_MAX,
            })?;
            let mut location = [0u8; TX_LOCATION_LEN];
            location[..8].copy_from_slice(&height.to_be_bytes());
            location[8..].copy_from_slice(&index.to_be_bytes());
            batch.put_cf(txs, tx_hash, location);
        }
        Ok(())
    }

    /// Secondary index entries under `prefix`, strictly after `start_after`, at most `limit`.
    /// Not isolated from commits; use a [`snapshot`](Self::snapshot) to combine with other reads.
    pub fn index_scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        self.view().scan(CF_INDEX, prefix, start_after, limit)
    }

    /// The committed value at `key` and a proof of it (or of its absence) against the head's
    /// state root, both read from one snapshot.
    pub fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        self.snapshot().prove(key)
    }

    /// A consistent read view: every read through it sees the ledger as of this call, whatever
    /// commits happen meanwhile.
    pub fn snapshot(&self) -> LedgerSnapshot<'_> {
        LedgerSnapshot {
            ledger: self,
            snapshot: self.db.snapshot(),
        }
    }
}

/// Bytes a RocksDB write batch takes per entry beyond its key and value: a tag, the column
/// family and two lengths, each a varint of at most 5 bytes.
const BATCH_ENTRY_OVERHEAD_BYTES: usize = 16;
/// Room for the head record and the batch header.
const BATCH_FIXED_BYTES: usize = 256;

/// The column family `name` of `db`.
fn cf_of<'d>(db: &'d DB, name: &'static str) -> Result<&'d ColumnFamily, LedgerError> {
    db.cf_handle(name).ok_or_else(|| {
        LedgerError::corruption(
            format!("column family {name}"),
            "missing from the open database",
        )
    })
}

/// The committed page at `root` in the live store (`None`: absent).
fn stored_page(db: &DB, root: &NodePath) -> Result<Option<StoredPage>, LedgerError> {
    let key = root.encode();
    db.get_cf(cf_of(db, CF_TREE_PAGES)?, key)
        .map_err(|error| storage(format!("reading {CF_TREE_PAGES} key {}", Hex(&key)))(error))?
        .map(|bytes| tree_pages::decode_stored(root, &bytes))
        .transpose()
}

/// What `pages` take in a write batch: an estimate from above (pages counted in the full form,
/// which the stored form never exceeds).
fn pages_bytes(pages: &tree_pages::PagesWritten) -> usize {
    pages
        .iter()
        .map(|(_, page)| {
            NODE_PATH_LEN
                + page.as_ref().map_or(0, |p| p.bytes().len())
                + BATCH_ENTRY_OVERHEAD_BYTES
        })
        .sum()
}

/// What the pages `update` changes will take in a write batch, before they are built: an
/// estimate (each changed node in a page of its own with one sibling kept), so that most
/// blocks' batches are sized once.
fn estimated_pages_bytes(update: &TreeUpdate) -> usize {
    update.node_writes.len() * (NODE_PATH_LEN + 2 + 2 * NODE_LEN + BATCH_ENTRY_OVERHEAD_BYTES)
}

/// What `commit`'s write batch holds but its tree pages: an estimate from above, to size it
/// once.
fn batch_bytes(commit: &BlockCommit<'_>) -> usize {
    let entries = |writes: &WriteSet| -> usize {
        writes
            .iter()
            .map(|(key, value)| {
                key.len() + value.as_ref().map_or(0, Vec::len) + BATCH_ENTRY_OVERHEAD_BYTES
            })
            .sum()
    };
    BATCH_FIXED_BYTES
        + commit.block_bytes.len()
        + commit.certificate.map_or(0, <[u8]>::len)
        + 3 * BATCH_ENTRY_OVERHEAD_BYTES
        + commit.tx_hashes.len() * (32 + TX_LOCATION_LEN + BATCH_ENTRY_OVERHEAD_BYTES)
        + entries(commit.state_writes)
        + entries(commit.index_writes)
}

/// Puts `pages` in `batch` in their stored form (compact where it saves anything).
pub(super) fn put_pages(
    batch: &mut WriteBatch,
    cf: &ColumnFamily,
    pages: &tree_pages::PagesWritten,
) {
    let mut stored = Vec::with_capacity(tree_pages::PAGE_BYTES_MAX);
    for (root, page) in pages {
        match page {
            Some(page) => {
                page.stored_form(&mut stored);
                batch.put_cf(cf, root.encode(), &stored);
            }
            None => batch.delete_cf(cf, root.encode()),
        }
    }
}

fn write_set_into(batch: &mut WriteBatch, cf: &ColumnFamily, writes: &WriteSet) {
    for (key, value) in writes {
        match value {
            Some(value) => batch.put_cf(cf, key, value),
            None => batch.delete_cf(cf, key),
        }
    }
}

impl StateReader for RocksLedger {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        self.view().get(CF_STATE, key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        self.view().scan(CF_STATE, prefix, start_after, limit)
    }
}

impl NodeStore for RocksLedger {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        self.view().node(path)
    }
}

/// A consistent read view of a [`RocksLedger`] (a RocksDB snapshot): a multi-read query, such as
/// a voucher trace, never straddles a commit.
pub struct LedgerSnapshot<'a> {
    ledger: &'a RocksLedger,
    snapshot: Snapshot<'a>,
}

impl fmt::Debug for LedgerSnapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerSnapshot")
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

impl LedgerSnapshot<'_> {
    fn view(&self) -> View<'_> {
        View {
            ledger: self.ledger,
            snapshot: Some(&self.snapshot),
        }
    }

    /// The head as of the snapshot.
    pub fn head(&self) -> Result<Option<ChainHead>, LedgerError> {
        self.view().head()
    }

    /// Secondary index entries as of the snapshot (see [`RocksLedger::index_scan`]).
    pub fn index_scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        self.view().scan(CF_INDEX, prefix, start_after, limit)
    }

    /// The value at `key` and its proof against the snapshot's state root.
    pub fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        let view = self.view();
        let root = view.tree_root()?;
        let proof = tree::prove(self, key)?;
        let value = self.get(key)?;
        // State and tree are written in one batch, so the proof must verify the stored value; if
        // it does not, they have diverged and the proof would mislead an auditor.
        tree::verify_proof(&root, key, value.as_deref(), &proof).map_err(|error| {
            LedgerError::corruption(
                format!("state key {}", Hex(key)),
                format!("the state value disagrees with the state tree: {error}"),
            )
        })?;
        Ok((value, proof))
    }
}

impl StateReader for LedgerSnapshot<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        self.view().get(CF_STATE, key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        self.view().scan(CF_STATE, prefix, start_after, limit)
    }
}

impl NodeStore for LedgerSnapshot<'_> {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        self.view().node(path)
    }
}

/// Reads either the latest committed data or a snapshot, so both share one implementation.
struct View<'a> {
    ledger: &'a RocksLedger,
    snapshot: Option<&'a Snapshot<'a>>,
}

impl View<'_> {
    fn get(&self, cf_name: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let cf = self.ledger.cf(cf_name)?;
        let result = match self.snapshot {
            Some(snapshot) => snapshot.get_cf(cf, key),
            None => self.ledger.db.get_cf(cf, key),
        };
        // The message is formatted only on failure: this is every read's path.
        result.map_err(|error| storage(format!("reading {cf_name} key {}", Hex(key)))(error))
    }

    fn scan(
        &self,
        cf_name: &'static str,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cf = self.ledger.cf(cf_name)?;
        let (start, exclusive) = scan_start(prefix, start_after);
        let mode = IteratorMode::From(start, Direction::Forward);
        let iterator = match self.snapshot {
            Some(snapshot) => snapshot.iterator_cf(cf, mode),
            None => self.ledger.db.iterator_cf(cf, mode),
        };
        let mut entries = Vec::new();
        for item in iterator {
            let (key, value) =
                item.map_err(|e| storage(format!("scanning {cf_name} under {}", Hex(prefix)))(e))?;
            if exclusive && *key == *start {
                continue;
            }
            if !key.starts_with(prefix) || entries.len() == limit {
                break;
            }
            entries.push((key.into_vec(), value.into_vec()));
        }
        Ok(entries)
    }

    fn head(&self) -> Result<Option<ChainHead>, LedgerError> {
        self.get(CF_META, HEAD_KEY)?
            .map(|bytes| ChainHead::decode(&bytes))
            .transpose()
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        match self.get(CF_BLOCKS, &height.to_be_bytes())? {
            Some(bytes) => Ok(Some(bytes)),
            None => self.archived_block_bytes(height),
        }
    }

    fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, LedgerError> {
        self.get(CF_BLOCK_HASHES, block_hash)?
            .map(|bytes| decode_height(&bytes, || format!("height of block {}", Hex(block_hash))))
            .transpose()
    }

    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        let (root, slot) = page_of(path);
        Ok(self.page(&root)?.and_then(|page| page.node(slot)))
    }

    /// The stored page rooted at `root` (`None`: no node below it in the page's levels).
    fn page(&self, root: &NodePath) -> Result<Option<StoredPage>, LedgerError> {
        self.get(CF_TREE_PAGES, &root.encode())?
            .map(|bytes| tree_pages::decode_stored(root, &bytes))
            .transpose()
    }

    /// The tree root as a format-2 ledger stored it (one node per entry), for the migration.
    fn legacy_tree_root(&self) -> Result<Hash, LedgerError> {
        Ok(self
            .get(CF_TREE, &NodePath::ROOT.encode())?
            .map(|bytes| Node::decode(&bytes))
            .transpose()?
            .map_or(EMPTY_ROOT, |node| node.hash()))
    }

    fn tree_root(&self) -> Result<Hash, LedgerError> {
        Ok(self
            .node(&NodePath::ROOT)?
            .map_or(EMPTY_ROOT, |node| node.hash()))
    }
}

mod archive;
mod backup;
pub mod budget;
mod certificates;
mod consensus_log;
mod format;
mod history;
pub use archive::{
    ArchiveOutcome, ArchiveSegment, ARCHIVE_BLOCKS_MAX, SEGMENT_BYTES_TARGET, SEGMENT_MAGIC,
};
pub use budget::{StorageBudget, WriteStall};
pub use certificates::CERTIFICATE_BYTES_MAX;
pub use consensus_log::{ConsensusLog, ConsensusWrite};
pub use format::LEDGER_FORMAT;
mod snapshot;
mod staged;
mod state_cache;
mod tree_pages;
pub use snapshot::{SnapshotChunk, SnapshotInstall, SnapshotPart, SNAPSHOT_CHUNK_BYTES_MAX};
pub use state_cache::{CachedState, STATE_VALUES_CACHED_BYTES_MAX};
pub use tree_pages::{
    DEEP_PAGES_CACHED_MAX, PAGES_CACHED_DEPTH, PAGE_BYTES_MAX, PAGE_LEVELS, PAGE_SLOTS,
};

#[cfg(test)]
mod tests;
