//! What backups need from the ledger beyond [`RocksLedger::checkpoint`] (which takes them): a
//! read-only open of a backup being checked, a state root recomputed from every state entry
//! (the check that does not trust the stored tree), and forgetting the consensus state a
//! restored copy must not resume from.
//!
//! Invariants kept here:
//! - a read-only open writes nothing into the directory it checks (RocksDB's info log goes to
//!   the directory the caller names), so a backup checked twice is byte-for-byte the same;
//! - a recomputed root reads the state column family alone, never the tree;
//! - forgetting the consensus state is one synced batch: a crash leaves all of it or none.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, WriteBatch, DB};

use super::consensus_log::{record_key, CF_CONSENSUS_LOG, CF_CONSENSUS_META};
use super::{storage, PageCache, RocksLedger, BLOOM_FAMILIES, CF_STATE, COLUMN_FAMILIES};
use crate::{Hash, LedgerError, StorageBudget};

impl RocksLedger {
    /// Opens the ledger at `path` read-only (nothing is written there; RocksDB's info log goes
    /// to `log_dir`) and checks, like [`RocksLedger::open_with`], that the head, the stored tree
    /// and the head block agree. A ledger caught in the middle of a snapshot install is refused.
    pub fn open_read_only(path: &Path, log_dir: &Path) -> Result<Self, LedgerError> {
        let budget = StorageBudget::default();
        let cache = budget.block_cache();
        let mut options = budget.db_options();
        options.create_if_missing(false);
        options.create_missing_column_families(false);
        options.set_db_log_dir(log_dir);
        // A ledger of an older format may lack a family added since (it is migrated when a
        // node opens it for writing): open the ones it has.
        let existing = DB::list_cf(&options, path).map_err(storage(format!(
            "listing the column families of the ledger at {}",
            path.display()
        )))?;
        let families = COLUMN_FAMILIES
            .iter()
            .filter(|name| existing.iter().any(|e| e == *name))
            .map(|name| {
                ColumnFamilyDescriptor::new(
                    *name,
                    budget.family_options(&cache, BLOOM_FAMILIES.contains(name)),
                )
            });
        let db =
            DB::open_cf_descriptors_read_only(&options, path, families, false).map_err(storage(
                format!("opening the ledger at {} read-only", path.display()),
            ))?;
        let ledger = RocksLedger {
            db: std::sync::Arc::new(db),
            writer: std::sync::Mutex::new(PageCache::default()),
            state_cache: std::sync::Mutex::default(),
            staged: std::sync::Mutex::default(),
            write_gate: std::sync::Mutex::default(),
            path: path.to_path_buf(),
            emptied_interrupted_install: std::sync::atomic::AtomicBool::new(false),
            archive_dir: std::sync::OnceLock::new(),
            archiving: std::sync::Mutex::new(()),
        };
        if ledger
            .view()
            .get(super::CF_META, super::snapshot::INSTALL_MARKER_KEY)?
            .is_some()
        {
            return Err(LedgerError::corruption(
                "snapshot install",
                "the ledger was copied in the middle of a snapshot install",
            ));
        }
        ledger.refuse_newer_format()?;
        ledger.check_head()?;
        Ok(ledger)
    }

    /// The state root of every entry in the state column family, computed from scratch
    /// ([`crate::root_of`]): it does not read the stored tree, so it catches a tree and a state
    /// that disagree. Reads the whole state: minutes for a large ledger, meant for checks.
    pub fn recompute_state_root(&self) -> Result<Hash, LedgerError> {
        let snapshot = self.db.snapshot();
        let mut entries = Vec::new();
        for item in snapshot.iterator_cf(self.cf(CF_STATE)?, IteratorMode::Start) {
            let (key, value) = item.map_err(storage("reading the state to recompute its root"))?;
            entries.push((key, value));
        }
        Ok(crate::root_of(entries))
    }

    /// Forgets this ledger's consensus state: every log entry, the engine's hard state, its
    /// snapshot record and applied index, and every node-level record except those whose name
    /// starts with one of `keep` (e.g. evidence against other nodes). One synced batch.
    pub fn forget_consensus_state(&self, keep: &[&str]) -> Result<(), LedgerError> {
        let mut batch = WriteBatch::default();
        let log = self.cf(CF_CONSENSUS_LOG)?;
        batch.delete_range_cf(
            log,
            &[0u8; 8][..],
            &super::consensus_log::PAST_LAST_INDEX[..],
        );
        let meta = self.cf(CF_CONSENSUS_META)?;
        let kept: Vec<Vec<u8>> = keep.iter().map(|prefix| record_key(prefix)).collect();
        for item in self.db.iterator_cf(meta, IteratorMode::Start) {
            let (key, _) = item.map_err(storage("listing the consensus state to forget"))?;
            if !kept.iter().any(|prefix| key.starts_with(prefix)) {
                batch.delete_cf(meta, key);
            }
        }
        self.write_synced(batch, "forgetting the consensus state")
    }
}
