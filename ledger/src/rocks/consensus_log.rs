//! Durable storage for a consensus engine's log: entries (index + opaque bytes), its hard state
//! (term, vote, commit) and its latest snapshot metadata, in the ledger's own RocksDB so one
//! synced write covers them ("persist before you speak": the node writes these before sending
//! the messages that depend on them).
//!
//! The bytes are opaque here: the engine (e.g. tikv raft-rs) encodes them.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::{storage, RocksLedger};
use crate::LedgerError;

/// Column family of log entries: index (u64 big-endian) -> entry bytes.
pub(super) const CF_CONSENSUS_LOG: &str = "consensus_log";
/// Column family of the engine's small records (hard state, snapshot metadata).
pub(super) const CF_CONSENSUS_META: &str = "consensus_meta";
const HARD_STATE_KEY: &[u8] = b"hard_state";
const SNAPSHOT_KEY: &[u8] = b"snapshot";
const APPLIED_KEY: &[u8] = b"applied";

/// One durable update of the consensus log, written in one synced batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsensusWrite<'a> {
    /// Delete every stored entry first (a snapshot was installed: it covers the whole log the
    /// node had, Raft §7). Applied before `truncate_from` and `entries`.
    pub clear_log: bool,
    /// Delete every stored entry with an index at or above this first (a new leader replaced
    /// that suffix of the log).
    pub truncate_from: Option<u64>,
    /// Entries to store, ascending and contiguous.
    pub entries: &'a [(u64, Vec<u8>)],
    /// The engine's hard state, replacing the stored one.
    pub hard_state: Option<&'a [u8]>,
    /// The latest snapshot's metadata, replacing the stored one.
    pub snapshot: Option<&'a [u8]>,
    /// The last log index the node applied. It may lag the ledger (written after the block):
    /// a restarted engine then hands out blocks the ledger already has, which the node skips.
    pub applied: Option<u64>,
}

/// What a restarting engine resumes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsensusLog {
    /// Last stored hard state.
    pub hard_state: Option<Vec<u8>>,
    /// Last stored snapshot metadata.
    pub snapshot: Option<Vec<u8>>,
    /// Stored entries in index order.
    pub entries: Vec<(u64, Vec<u8>)>,
    /// Last applied log index recorded (0 if none).
    pub applied: u64,
}

/// Most consensus records one listing returns (one per peer: far more than any membership).
pub(super) const CONSENSUS_RECORDS_MAX: usize = 4_096;

/// Key of a node-level consensus record: apart from the engine's own keys.
pub(super) fn record_key(name: &str) -> Vec<u8> {
    [b"record/".as_slice(), name.as_bytes()].concat()
}

/// Upper bound (exclusive) of every 8-byte index key.
pub(super) const PAST_LAST_INDEX: [u8; 9] = [0xff; 9];

impl RocksLedger {
    /// Makes `write` durable (one synced batch; a write of the applied index alone is not
    /// synced, see [`ConsensusWrite::applied`]). Refuses entries that are not ascending and
    /// contiguous, or that leave a gap after the stored log.
    pub fn consensus_persist(&self, write: &ConsensusWrite<'_>) -> Result<(), LedgerError> {
        let log = self.cf(CF_CONSENSUS_LOG)?;
        let meta = self.cf(CF_CONSENSUS_META)?;
        for pair in write.entries.windows(2) {
            if pair[1].0 != pair[0].0 + 1 {
                return Err(LedgerError::corruption(
                    "consensus entries",
                    format!("index {} follows {}", pair[1].0, pair[0].0),
                ));
            }
        }
        if let (Some(from), Some((first, _))) = (write.truncate_from, write.entries.first()) {
            if *first != from {
                return Err(LedgerError::corruption(
                    "consensus entries",
                    format!("truncating from {from} but the new entries start at {first}"),
                ));
            }
        }
        let mut batch = WriteBatch::default();
        if write.clear_log {
            batch.delete_range_cf(log, &0u64.to_be_bytes()[..], &PAST_LAST_INDEX[..]);
        }
        if let Some(from) = write.truncate_from {
            batch.delete_range_cf(log, &from.to_be_bytes()[..], &PAST_LAST_INDEX[..]);
        }
        for (index, bytes) in write.entries {
            batch.put_cf(log, index.to_be_bytes(), bytes);
        }
        if let Some(hard_state) = write.hard_state {
            batch.put_cf(meta, HARD_STATE_KEY, hard_state);
        }
        if let Some(snapshot) = write.snapshot {
            batch.put_cf(meta, SNAPSHOT_KEY, snapshot);
        }
        if let Some(applied) = write.applied {
            batch.put_cf(meta, APPLIED_KEY, applied.to_be_bytes());
        }
        let only_applied = !write.clear_log
            && write.truncate_from.is_none()
            && write.entries.is_empty()
            && write.hard_state.is_none()
            && write.snapshot.is_none();
        if only_applied {
            // The applied index may lag what the ledger holds (a restart re-applies, and skips,
            // what it already has), so it needs no fsync of its own: it rides with the next
            // synced write. Everything else here is a promise to peers and is synced.
            return self
                .db
                .write(batch)
                .map_err(super::storage("recording the applied index"));
        }
        self.write_synced(batch, "persisting consensus state")
    }

    /// Everything stored, for an engine restarting.
    pub fn consensus_load(&self) -> Result<ConsensusLog, LedgerError> {
        let log = self.cf(CF_CONSENSUS_LOG)?;
        let meta = self.cf(CF_CONSENSUS_META)?;
        let get = |key: &[u8]| {
            self.db
                .get_cf(meta, key)
                .map_err(storage("reading consensus metadata"))
        };
        let mut entries = Vec::new();
        for item in self
            .db
            .iterator_cf(log, IteratorMode::From(&[], Direction::Forward))
        {
            let (key, value) = item.map_err(storage("reading the consensus log"))?;
            let index: [u8; 8] = key.as_ref().try_into().map_err(|_| {
                LedgerError::corruption(
                    "consensus log",
                    format!("key of {} bytes, want 8", key.len()),
                )
            })?;
            let index = u64::from_be_bytes(index);
            if let Some((previous, _)) = entries.last() {
                if index != previous + 1 {
                    return Err(LedgerError::corruption(
                        "consensus log",
                        format!("gap between {previous} and {index}"),
                    ));
                }
            }
            entries.push((index, value.to_vec()));
        }
        let applied = match get(APPLIED_KEY)? {
            None => 0,
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                LedgerError::corruption(
                    "consensus applied index",
                    format!("{} bytes, want 8", bytes.len()),
                )
            })?),
        };
        Ok(ConsensusLog {
            hard_state: get(HARD_STATE_KEY)?,
            snapshot: get(SNAPSHOT_KEY)?,
            entries,
            applied,
        })
    }

    /// A node-level consensus record named `name` (the node's incarnation, what it knows of its
    /// peers'), stored beside the engine's hard state so a wiped or restored consensus state
    /// loses or rolls back both together.
    pub fn consensus_record(&self, name: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.db
            .get_cf(self.cf(CF_CONSENSUS_META)?, record_key(name))
            .map_err(storage("reading a consensus record"))
    }

    /// The names of the consensus records starting with `prefix`, without the prefix, in order
    /// (at most `CONSENSUS_RECORDS_MAX`).
    pub fn consensus_record_names(&self, prefix: &str) -> Result<Vec<String>, LedgerError> {
        let start = record_key(prefix);
        let mut names = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_CONSENSUS_META)?,
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (key, _) = item.map_err(storage("listing consensus records"))?;
            let Some(name) = key.strip_prefix(start.as_slice()) else {
                break;
            };
            if names.len() >= CONSENSUS_RECORDS_MAX {
                break;
            }
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        Ok(names)
    }

    /// Stores the consensus record `name` (one synced write: it is a promise to peers).
    pub fn put_consensus_record(&self, name: &str, bytes: &[u8]) -> Result<(), LedgerError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_CONSENSUS_META)?, record_key(name), bytes);
        self.write_synced(batch, "storing a consensus record")
    }

    /// Drops stored entries with an index at or below `up_to` (covered by a durable snapshot).
    pub fn consensus_compact(&self, up_to: u64) -> Result<(), LedgerError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            self.cf(CF_CONSENSUS_LOG)?,
            0u64.to_be_bytes(),
            up_to.saturating_add(1).to_be_bytes(),
        );
        self.write_synced(batch, "compacting the consensus log")
    }
}
