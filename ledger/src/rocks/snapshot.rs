//! State snapshots: how a node too far behind to replay blocks takes over another node's state.
//!
//! The serving node makes a [`checkpoint`](RocksLedger::checkpoint) (a consistent RocksDB copy
//! at its head, cheap: hard links) and serves it in bounded [`SnapshotChunk`]s of state and index
//! entries, in key order. The receiving node [begins an install](RocksLedger::begin_snapshot_install)
//! for the announced head, adds the chunks, and [finishes](SnapshotInstall::finish): the state
//! tree is rebuilt from the received entries and must reproduce the announced state root, so a
//! peer cannot slip in a state the chain never had. Only then are the head block and head written.
//!
//! An install that is interrupted (crash, bad chunk, wrong root) leaves a marker; the next open
//! empties the ledger, so the node starts over from genesis and syncs again instead of serving a
//! half-installed state.

use std::cell::RefCell;
use std::path::Path;
use std::sync::MutexGuard;

use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};

use super::{
    storage, ChainHead, PageCache, RocksLedger, CF_BLOCKS, CF_BLOCK_HASHES, CF_INDEX, CF_META,
    CF_STATE, CF_TREE, CF_TREE_PAGES, CF_TXS, HEAD_KEY,
};
use crate::error::Hex;
use crate::tree;
use crate::{Entry, LedgerError, WriteSet};

/// Meta key present while a snapshot install is under way.
pub(super) const INSTALL_MARKER_KEY: &[u8] = b"snapshot_install";
/// Largest chunk a node serves or accepts, bytes of keys and values.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 4 << 20;
/// Entries per tree-rebuild batch when finishing an install.
const REBUILD_BATCH_ENTRIES: usize = 50_000;
/// Keys deleted per batch when wiping a column family.
const WIPE_BATCH_KEYS: usize = 100_000;

/// Which part of the ledger a chunk carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotPart {
    /// State entries (covered by the state root).
    State,
    /// Secondary-index entries.
    Index,
}

impl SnapshotPart {
    fn cf(self) -> &'static str {
        match self {
            SnapshotPart::State => CF_STATE,
            SnapshotPart::Index => CF_INDEX,
        }
    }
}

/// A run of entries of one part, in ascending key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// Which part.
    pub part: SnapshotPart,
    /// The entries.
    pub entries: Vec<Entry>,
    /// True if entries follow the last one of this chunk.
    pub more: bool,
}

impl RocksLedger {
    /// Writes a consistent copy of this ledger at its head into `dir` (which must not exist) and
    /// returns that head. No commit interleaves: the writer lock is held.
    pub fn checkpoint(&self, dir: &Path) -> Result<ChainHead, LedgerError> {
        let _writer = self.lock_writer_settled()?;
        let head = self.head()?.ok_or_else(|| {
            LedgerError::corruption("checkpoint", "the ledger has no head to copy")
        })?;
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.db)
            .map_err(storage("preparing a checkpoint"))?;
        checkpoint.create_checkpoint(dir).map_err(storage(format!(
            "writing a checkpoint to {}",
            dir.display()
        )))?;
        tracing::info!(height = head.height, dir = %dir.display(), "checkpoint written");
        Ok(head)
    }

    /// Entries of `part` whose keys sort after `after` (all if `None`), in key order, adding
    /// entries while the chunk stays within `bytes_max` (at least one entry, if any is left).
    pub fn snapshot_chunk(
        &self,
        part: SnapshotPart,
        after: Option<&[u8]>,
        bytes_max: usize,
    ) -> Result<SnapshotChunk, LedgerError> {
        let cf = self.cf(part.cf())?;
        let mode = match after {
            Some(key) => IteratorMode::From(key, Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        for item in self.db.iterator_cf(cf, mode) {
            let (key, value) =
                item.map_err(|e| storage(format!("reading a {} snapshot chunk", part.cf()))(e))?;
            if after.is_some_and(|after| *key <= *after) {
                continue;
            }
            let size = key.len() + value.len();
            if !entries.is_empty() && bytes + size > bytes_max {
                more = true;
                break;
            }
            bytes += size;
            entries.push((key.to_vec(), value.to_vec()));
        }
        Ok(SnapshotChunk {
            part,
            entries,
            more,
        })
    }

    /// Starts replacing this ledger's state with the snapshot of `head`: marks the install,
    /// then empties state, tree, index and head. Holds the writer lock until finished or dropped.
    pub fn begin_snapshot_install(
        &self,
        head: ChainHead,
    ) -> Result<SnapshotInstall<'_>, LedgerError> {
        let mut writer = self.lock_writer_settled()?;
        let mut marker = WriteBatch::default();
        marker.put_cf(self.cf(CF_META)?, INSTALL_MARKER_KEY, head.encode());
        self.write_synced(marker, "marking a snapshot install")?;
        for cf in [CF_STATE, CF_TREE_PAGES, CF_INDEX] {
            self.wipe(cf)?;
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_META)?, HEAD_KEY);
        self.write_synced(batch, "removing the head for a snapshot install")?;
        writer.clear();
        self.lock_state_cache().clear();
        tracing::info!(height = head.height, state_root = %Hex(&head.state_root), "snapshot install begun");
        Ok(SnapshotInstall {
            ledger: self,
            head,
            writer,
            last_key: [None, None],
            entries: 0,
        })
    }

    /// Empties every column family (blocks included): the ledger opens as new.
    pub(super) fn wipe_all(&self) -> Result<(), LedgerError> {
        for cf in [
            CF_STATE,
            CF_TREE,
            CF_TREE_PAGES,
            CF_INDEX,
            CF_BLOCKS,
            CF_BLOCK_HASHES,
            CF_TXS,
            super::certificates::CF_CERTIFICATES,
            CF_META,
        ] {
            self.wipe(cf)?;
        }
        Ok(())
    }

    pub(super) fn wipe(&self, cf_name: &'static str) -> Result<(), LedgerError> {
        let cf = self.cf(cf_name)?;
        loop {
            let mut batch = WriteBatch::default();
            let mut count = 0;
            for item in self
                .db
                .iterator_cf(cf, IteratorMode::Start)
                .take(WIPE_BATCH_KEYS)
            {
                let (key, _) = item.map_err(|e| storage(format!("wiping {cf_name}"))(e))?;
                batch.delete_cf(cf, key);
                count += 1;
            }
            if count == 0 {
                return Ok(());
            }
            self.write_synced(batch, "wiping a column family")?;
        }
    }

    pub(super) fn write_synced(&self, batch: WriteBatch, what: &str) -> Result<(), LedgerError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db
            .write_opt(batch, &options)
            .map_err(storage(what.to_owned()))
    }
}

/// A snapshot install under way. Add every chunk, then [`finish`](Self::finish). Dropping it
/// unfinished leaves the marker, so the next open empties the ledger.
pub struct SnapshotInstall<'a> {
    ledger: &'a RocksLedger,
    head: ChainHead,
    writer: MutexGuard<'a, PageCache>,
    /// Last key received per part, to insist on ascending order.
    last_key: [Option<Vec<u8>>; 2],
    entries: u64,
}

impl std::fmt::Debug for SnapshotInstall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotInstall")
            .field("height", &self.head.height)
            .field("entries", &self.entries)
            .finish()
    }
}

impl SnapshotInstall<'_> {
    /// Stores one chunk. Keys must ascend within each part across chunks.
    pub fn add_chunk(&mut self, chunk: &SnapshotChunk) -> Result<(), LedgerError> {
        let bytes: usize = chunk.entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        if bytes
            > SNAPSHOT_CHUNK_BYTES_MAX
                .max(chunk.entries.first().map_or(0, |(k, v)| k.len() + v.len()))
        {
            return Err(LedgerError::corruption(
                "snapshot chunk",
                format!("{bytes} bytes exceeds {SNAPSHOT_CHUNK_BYTES_MAX}"),
            ));
        }
        let slot = match chunk.part {
            SnapshotPart::State => 0,
            SnapshotPart::Index => 1,
        };
        let cf = self.ledger.cf(chunk.part.cf())?;
        let mut batch = WriteBatch::default();
        for (key, value) in &chunk.entries {
            if self.last_key[slot].as_ref().is_some_and(|last| key <= last) {
                return Err(LedgerError::corruption(
                    "snapshot chunk",
                    format!("{} key {} does not ascend", chunk.part.cf(), Hex(key)),
                ));
            }
            batch.put_cf(cf, key, value);
            self.last_key[slot] = Some(key.clone());
        }
        self.ledger
            .db
            .write(batch)
            .map_err(storage("storing a snapshot chunk"))?;
        self.entries += chunk.entries.len() as u64;
        Ok(())
    }

    /// Rebuilds the state tree from the received state, checks it reproduces the head's state
    /// root, then stores `head_block` (the encoded block at the head's height) with where each
    /// of its transactions (`tx_hashes`, in block order) lives, and the head.
    pub fn finish(
        mut self,
        head_block: &[u8],
        tx_hashes: &[crate::Hash],
    ) -> Result<ChainHead, LedgerError> {
        let ledger = self.ledger;
        let state = ledger.cf(CF_STATE)?;
        let pages_cf = ledger.cf(CF_TREE_PAGES)?;
        let mut after: Option<Vec<u8>> = None;
        let mut root = crate::EMPTY_ROOT;
        loop {
            let mode = match &after {
                Some(key) => IteratorMode::From(key, Direction::Forward),
                None => IteratorMode::Start,
            };
            let mut writes = WriteSet::new();
            for item in ledger.db.iterator_cf(state, mode) {
                let (key, value) = item.map_err(storage("reading installed state"))?;
                if after.as_deref().is_some_and(|a| *key <= *a) {
                    continue;
                }
                if writes.len() == REBUILD_BATCH_ENTRIES {
                    break;
                }
                writes.insert(key.to_vec(), Some(value.to_vec()));
            }
            let Some((last, _)) = writes.last_key_value() else {
                break;
            };
            after = Some(last.clone());
            let store = super::CachedTree {
                db: &ledger.db,
                cache: RefCell::new(&mut self.writer),
            };
            let update = tree::update(&store, &writes)?;
            let pages_written = store.page_writes(&update)?;
            let mut batch = WriteBatch::default();
            super::put_pages(&mut batch, pages_cf, &pages_written);
            ledger
                .db
                .write(batch)
                .map_err(storage("writing the rebuilt tree"))?;
            self.writer.refresh(pages_written);
            root = update.root;
        }
        if root != self.head.state_root {
            return Err(LedgerError::RootMismatch {
                expected: self.head.state_root,
                got: root,
            });
        }
        let mut batch = WriteBatch::default();
        let height = self.head.height.to_be_bytes();
        batch.put_cf(ledger.cf(CF_BLOCKS)?, height, head_block);
        batch.put_cf(ledger.cf(CF_BLOCK_HASHES)?, self.head.block_hash, height);
        ledger.put_tx_locations(&mut batch, self.head.height, tx_hashes)?;
        batch.put_cf(ledger.cf(CF_META)?, HEAD_KEY, self.head.encode());
        batch.delete_cf(ledger.cf(CF_META)?, INSTALL_MARKER_KEY);
        // Blocks before the head may be missing until the node fills them in.
        ledger.put_history_gap(&mut batch, Some(self.head.height))?;
        ledger.write_synced(batch, "completing a snapshot install")?;
        // A cached read made while the chunks came in may have found a key not yet written.
        ledger.lock_state_cache().clear();
        let stored = ledger.view().tree_root()?;
        assert_eq!(
            stored, self.head.state_root,
            "installed tree root read back differs from the snapshot's"
        );
        tracing::info!(height = self.head.height, entries = self.entries, state_root = %Hex(&root), "snapshot installed");
        Ok(self.head)
    }
}
