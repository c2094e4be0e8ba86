//! The engine's in-memory mirror of what the node has persisted, behind raft-rs's `Storage`.
//!
//! raft-rs reads stable entries, terms and the snapshot through `Storage`; the node owns the
//! durable copy. The engine updates this mirror in [`crate::Engine::advance`], i.e. only after
//! the node confirmed the batch is durable, so raft never treats as stable what is not on disk
//! (raft-rs handling protocol: persist, then `advance`).

use ::raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use ::raft::{GetEntriesContext, RaftState, Storage, StorageError};

/// Stable raft state: hard state, applied conf state, last snapshot and the entries after it.
#[derive(Debug, Default)]
pub(crate) struct LogStore {
    pub(crate) hard_state: HardState,
    /// Conf state as of the applied index (what raft-rs's `initial_state` expects).
    pub(crate) conf_state: ConfState,
    /// The last snapshot (metadata and data); index 0 if none.
    pub(crate) snapshot: Snapshot,
    /// `entries[i].index == first_index() + i`.
    pub(crate) entries: Vec<Entry>,
}

impl LogStore {
    pub(crate) fn first_index(&self) -> u64 {
        self.snapshot_metadata().index + 1
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.entries
            .last()
            .map_or(self.snapshot_metadata().index, |e| e.index)
    }

    /// Bytes of the entries' payloads held (the log's share of memory).
    pub(crate) fn entry_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.get_data().len() as u64).sum()
    }

    pub(crate) fn snapshot_metadata(&self) -> &SnapshotMetadata {
        self.snapshot.get_metadata()
    }

    /// Appends `entries`, overwriting any stored suffix from `entries[0].index` on (Raft §5.3).
    pub(crate) fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index < self.first_index() || first.index > self.last_index() + 1 {
            return Err(format!(
                "append at {} outside [{}, {}]",
                first.index,
                self.first_index(),
                self.last_index() + 1
            ));
        }
        let keep = (first.index - self.first_index()) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        debug_assert!(self
            .entries
            .windows(2)
            .all(|w| w[1].index == w[0].index + 1));
        Ok(())
    }

    /// Replaces everything with `snapshot` (Raft §7: discard the entire log).
    pub(crate) fn install_snapshot(&mut self, snapshot: Snapshot) {
        let meta = snapshot.get_metadata();
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.hard_state.commit = self.hard_state.commit.max(meta.index);
        self.conf_state = meta.get_conf_state().clone();
        self.entries.clear();
        self.snapshot = snapshot;
    }

    /// Drops entries through `index` and records `snapshot` (which must be at `index`).
    pub(crate) fn compact(&mut self, snapshot: Snapshot) {
        let index = snapshot.get_metadata().index;
        let drop = index.saturating_sub(self.first_index() - 1) as usize;
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot = snapshot;
    }

    pub(crate) fn entry(&self, index: u64) -> Option<&Entry> {
        if index < self.first_index() {
            return None;
        }
        self.entries.get((index - self.first_index()) as usize)
    }
}

impl Storage for LogStore {
    fn initial_state(&self) -> ::raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> ::raft::Result<Vec<Entry>> {
        if low < self.first_index() {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index() + 1 || low > high {
            return Err(::raft::Error::Store(StorageError::Unavailable));
        }
        let offset = self.first_index();
        let mut entries = self.entries[(low - offset) as usize..(high - offset) as usize].to_vec();
        ::raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, index: u64) -> ::raft::Result<u64> {
        let meta = self.snapshot_metadata();
        if index == meta.index {
            return Ok(meta.term);
        }
        if index < self.first_index() {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        self.entry(index)
            .map(|e| e.term)
            .ok_or(::raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> ::raft::Result<u64> {
        Ok(LogStore::first_index(self))
    }

    fn last_index(&self) -> ::raft::Result<u64> {
        Ok(LogStore::last_index(self))
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> ::raft::Result<Snapshot> {
        // Only a snapshot the node made durable through `compact` is ever sent. If none is
        // recent enough, raft-rs retries later.
        if self.snapshot_metadata().index == 0 || self.snapshot_metadata().index < request_index {
            return Err(::raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}
