//! vchain storage: the authenticated state tree and the block/state store.
//!
//! Owns:
//! - the state tree ([`tree`]): a binary sparse Merkle tree over SHA-256 of the state keys,
//!   updated incrementally per block, with inclusion and absence proofs that auditors verify
//!   offline with [`verify_proof`];
//! - [`MemoryLedger`]: an in-memory state store with the same tree, the test double of the
//!   execution crates;
//! - with the `rocksdb` feature (default), `RocksLedger`: blocks, transaction locations, state,
//!   tree nodes, secondary indexes, commit certificates and the chain head, committed one block
//!   per atomic, synced write batch.
//!
//! Must not depend on: contracts, consensus, the node or any network code. It stores bytes and
//! hashes them; what the bytes mean belongs to the execution crates. Without the `rocksdb`
//! feature the crate is pure (no I/O), so execution can use it in deterministic tests.
//!
//! # Example
//!
//! ```
//! use vchain_ledger::{verify_proof, MemoryLedger, StateReader, WriteSet};
//!
//! let mut ledger = MemoryLedger::new();
//! let mut writes = WriteSet::new();
//! writes.insert(b"voucher/V000000000001".to_vec(), Some(b"held by acme".to_vec()));
//! writes.insert(b"voucher/V000000000002".to_vec(), Some(b"held by bolt".to_vec()));
//! let root = ledger.apply(&writes)?;
//! assert_eq!(ledger.get(b"voucher/V000000000001")?, Some(b"held by acme".to_vec()));
//!
//! // Inclusion: the key holds this value under `root`.
//! let (value, proof) = ledger.prove(b"voucher/V000000000001")?;
//! verify_proof(&root, b"voucher/V000000000001", value.as_deref(), &proof)?;
//!
//! // Absence: the key holds nothing under `root`.
//! let (value, proof) = ledger.prove(b"voucher/V000000000003")?;
//! assert_eq!(value, None);
//! verify_proof(&root, b"voucher/V000000000003", None, &proof)?;
//!
//! // A proof does not verify a value the key does not hold.
//! let (_, proof) = ledger.prove(b"voucher/V000000000002")?;
//! assert!(verify_proof(&root, b"voucher/V000000000002", Some(b"held by acme"), &proof).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

mod error;
pub mod memory;
#[cfg(feature = "rocksdb")]
pub mod rocks;
pub mod tree;

pub use error::{LedgerError, ProofError};
pub use memory::MemoryLedger;
#[cfg(feature = "rocksdb")]
pub use rocks::{
    ArchiveOutcome, ArchiveSegment, BlockCommit, ChainHead, ConsensusLog, ConsensusWrite,
    LedgerSnapshot, RocksLedger, SnapshotChunk, SnapshotInstall, SnapshotPart, StorageBudget,
    TxLocation, CERTIFICATE_BYTES_MAX, LEDGER_FORMAT, SNAPSHOT_CHUNK_BYTES_MAX,
};
pub use tree::{root_of, verify_proof, Node, NodePath, NodeStore, TreeUpdate};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The root of an empty state tree (and the hash of any empty subtree).
pub const EMPTY_ROOT: Hash = [0; 32];

/// State changes of a block: `Some(value)` puts, `None` deletes. A `BTreeMap` so that every
/// iteration (and so every hash computed from it) follows key order.
pub type WriteSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One (key, value) pair returned by a scan.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Read access to committed state (what contracts see).
pub trait StateReader {
    /// The value at `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError>;

    /// Entries whose key starts with `prefix` and sorts strictly after `start_after` (if given),
    /// in ascending key order, at most `limit` of them.
    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        (**self).get(key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        (**self).scan_prefix(prefix, start_after, limit)
    }
}

impl<T: StateReader + ?Sized> StateReader for Box<T> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        (**self).get(key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        (**self).scan_prefix(prefix, start_after, limit)
    }
}

impl<T: StateReader + ?Sized> StateReader for Arc<T> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        (**self).get(key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        (**self).scan_prefix(prefix, start_after, limit)
    }
}

/// A scan of `prefix` (after `start_after`, at most `limit` entries, in key order) of `stored`
/// with `writes` laid over it: how a reader holding writes the store does not have yet (a block
/// being executed, a block being written) scans. `writes` are those under the prefix after
/// `start_after`, in key order of application: a later write of a key wins, `None` deletes.
pub fn scan_with_writes(
    stored: &dyn StateReader,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> Result<Vec<Entry>, LedgerError> {
    if writes.is_empty() {
        return stored.scan_prefix(prefix, start_after, limit);
    }
    // Each buffered delete can hide at most one stored entry, so reading this many more from the
    // store fills `limit` once the writes are laid over it; an entry the store's scan cut off
    // sorts after at least `limit` live ones.
    let mut merged: WriteSet = stored
        .scan_prefix(prefix, start_after, limit.saturating_add(writes.len()))?
        .into_iter()
        .map(|(key, value)| (key, Some(value)))
        .collect();
    merged.extend(writes);
    Ok(merged
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .take(limit)
        .collect())
}

/// Where a prefix scan starts and whether the start key itself is excluded: at `start_after`
/// (excluded) when it sorts at or after `prefix`, else at `prefix` (included). Shared by every
/// store so that all of them agree on the scan contract.
pub(crate) fn scan_start<'a>(prefix: &'a [u8], start_after: Option<&'a [u8]>) -> (&'a [u8], bool) {
    match start_after {
        Some(after) if after >= prefix => (after, true),
        _ => (prefix, false),
    }
}
