//! The block producer's cache of committed state values, in front of RocksDB point reads.
//!
//! Owns: which state values the writer's thread holds in memory, and keeping them equal to the
//! state the next block executes on: the committed state with the staged block's writes
//! ([`super::staged`]) laid over it. Staging a block writes its values into the cache, a
//! snapshot install empties it.
//! Must not depend on: anything but that state. A value is cached only as RocksDB holds it or as
//! the staged block writes it, so a read through the cache returns exactly what a read of the
//! store returns once every staged block is durable, and no block's outcome can depend on the
//! cache.
//!
//! # Why
//! Executing a block reads each transaction's accounts and vouchers, mostly the same few
//! thousand keys block after block. Profiles of a node under load showed those point reads
//! (RocksDB's memtable skip lists and table lookups) at about a sixth of the block producer's
//! time, the one thread every block goes through (issue 16).
//!
//! # Coherence
//! The cache's lock is held across a miss's store read and its insert, and staging a block
//! updates the cache under the same lock. A miss on a key the staged block wrote is answered from
//! the staged writes, never the store (which may not hold them yet); any other key has the same
//! value in the store before and after the staged write lands. So a read that misses either sees
//! the store before a block is staged and inserts that value before staging overwrites it, or
//! sees the state after it: a stale value is never left behind.

use std::collections::HashMap;
use std::sync::MutexGuard;

use super::{RocksLedger, CF_STATE};
use crate::{Entry, LedgerError, StateReader, WriteSet};

/// Bytes of keys and values the cache holds at most: past it, it is emptied at the next commit
/// (the next blocks read again what they use). 64 MiB holds several hundred thousand accounts
/// and vouchers, far beyond what one block reads.
pub const STATE_VALUES_CACHED_BYTES_MAX: usize = 64 * 1024 * 1024;
/// What an entry costs beyond its key and value bytes (the map's slot, two vector headers).
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// Committed values by key (`None`: known absent), and the staged block's writes.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
    /// The writes of the block staged and not yet durable ([`super::staged`]): what a read of a
    /// key the cache does not hold gets instead of the store's older value.
    staged: Option<WriteSet>,
}

fn entry_bytes(key_len: usize, value: &Option<Vec<u8>>) -> usize {
    key_len + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD_BYTES
}

impl StateCache {
    fn get(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.values.get(key)
    }

    fn insert(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let key_len = key.len();
        self.bytes += entry_bytes(key_len, &value);
        if let Some(old) = self.values.insert(key, value) {
            self.bytes -= entry_bytes(key_len, &old);
        }
    }

    /// Brings the cache to a block's committed writes, then keeps it within its bound. Only
    /// keys it holds are updated: a key it does not hold is read from the store when first
    /// asked for, so adding it here would only copy values execution may never read again
    /// (every transfer writes a new history event, which execution never reads).
    pub(crate) fn apply(&mut self, writes: &WriteSet) {
        for (key, value) in writes {
            if let Some(cached) = self.values.get_mut(key.as_slice()) {
                let old_bytes = entry_bytes(key.len(), cached);
                cached.clone_from(value);
                self.bytes = self.bytes - old_bytes + entry_bytes(key.len(), cached);
            }
        }
        if self.bytes > STATE_VALUES_CACHED_BYTES_MAX {
            self.clear();
        }
    }

    /// Brings the cache to a staged block's writes, whose batch may not be durable yet: held
    /// keys are updated as [`apply`](Self::apply) does, and the writes are kept whole until
    /// [`settle`](Self::settle), so a key the cache does not hold reads the staged value rather
    /// than the store's.
    pub(crate) fn stage(&mut self, writes: &WriteSet) {
        debug_assert!(self.staged.is_none(), "one staged block at a time");
        self.apply(writes);
        self.staged = Some(writes.clone());
    }

    /// The staged block is durable: the store now gives what its writes held.
    pub(crate) fn settle(&mut self) {
        self.staged = None;
    }

    /// The staged block's writes of keys under `prefix` after `start_after` (if given), in key
    /// order.
    fn staged_under(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let Some(staged) = &self.staged else {
            return Vec::new();
        };
        staged
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .filter(|(key, _)| start_after.is_none_or(|after| key.as_slice() > after))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The staged block's write of `key`, if it wrote it.
    fn staged_value(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.staged.as_ref()?.get(key)
    }

    /// Forgets every value, staged ones too (the state was replaced, or a staged write failed).
    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.bytes = 0;
        self.staged = None;
    }

    /// Whether `key`'s value (or its absence) is held.
    #[cfg(test)]
    pub(crate) fn holds(&self, key: &[u8]) -> bool {
        self.values.contains_key(key)
    }

    /// Values held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

/// The committed state read through the writer's value cache: for the block producer's
/// execution. Other readers (admission, the API) read the store directly and never wait on it.
#[derive(Debug, Clone, Copy)]
pub struct CachedState<'a> {
    pub(super) ledger: &'a RocksLedger,
}

impl RocksLedger {
    /// The committed state read through the block producer's value cache ([`CachedState`]).
    pub fn cached_state(&self) -> CachedState<'_> {
        CachedState { ledger: self }
    }

    /// The value cache, emptied if a panic left its lock poisoned (it may then differ from the
    /// store; empty, it cannot).
    pub(super) fn lock_state_cache(&self) -> MutexGuard<'_, StateCache> {
        self.state_cache.lock().unwrap_or_else(|poisoned| {
            let mut cache = poisoned.into_inner();
            cache.clear();
            self.state_cache.clear_poison();
            cache
        })
    }
}

impl StateReader for CachedState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let mut cache = self.ledger.lock_state_cache();
        if let Some(value) = cache.get(key) {
            return Ok(value.clone());
        }
        // Not cached, but written by the block still being written: the store has the older
        // value until the write is durable (then `settle` forgets the staged writes).
        if let Some(value) = cache.staged_value(key) {
            return Ok(value.clone());
        }
        let value = self.ledger.view().get(CF_STATE, key)?;
        cache.insert(key.to_vec(), value.clone());
        Ok(value)
    }

    /// The store's entries with the staged block's writes under `prefix` laid over them: a
    /// scan (the chain's own step reads its queues so) must see the state the next block
    /// executes on, as a point read does.
    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        // Read before the store: if the staged block becomes durable in between, the store
        // already holds what is laid over it, and the result is the same.
        let staged = self
            .ledger
            .lock_state_cache()
            .staged_under(prefix, start_after);
        crate::scan_with_writes(self.ledger, prefix, start_after, limit, staged)
    }
}
