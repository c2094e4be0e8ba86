//! The write buffer execution works in: committed state below, the block's writes above it, and
//! the current transaction's writes on top, so a rejected transaction is dropped whole.

use prost::Message;
use vchain_ledger::{Entry, StateReader, WriteSet};

use crate::error::ExecError;

/// Buffered state and index writes over a read-only committed state.
pub(crate) struct Overlay<'a> {
    base: &'a dyn StateReader,
    block_state: WriteSet,
    block_index: WriteSet,
    tx_state: WriteSet,
    tx_index: WriteSet,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(base: &'a dyn StateReader) -> Self {
        Self {
            base,
            block_state: WriteSet::new(),
            block_index: WriteSet::new(),
            tx_state: WriteSet::new(),
            tx_index: WriteSet::new(),
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        if let Some(value) = self.tx_state.get(key) {
            return Ok(value.clone());
        }
        if let Some(value) = self.block_state.get(key) {
            return Ok(value.clone());
        }
        Ok(self.base.get(key)?)
    }

    /// Whether this block (its earlier transactions or the current one) wrote or deleted `key`.
    /// Reads nothing from the committed state.
    pub(crate) fn written_in_block(&self, key: &[u8]) -> bool {
        self.tx_state.contains_key(key) || self.block_state.contains_key(key)
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.tx_state.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.tx_state.insert(key, None);
    }

    pub(crate) fn index_put(&mut self, key: Vec<u8>) {
        self.tx_index.insert(key, Some(Vec::new()));
    }

    /// An index entry with a value (derived data, e.g. a rejection's words).
    pub(crate) fn index_put_value(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.tx_index.insert(key, Some(value));
    }

    pub(crate) fn index_delete(&mut self, key: Vec<u8>) {
        self.tx_index.insert(key, None);
    }

    /// Decodes the message at `key`; a value that does not decode is state corruption.
    pub(crate) fn get_message<M: Message + Default>(
        &self,
        key: &[u8],
        what: &'static str,
    ) -> Result<Option<M>, ExecError> {
        match self.get(key)? {
            None => Ok(None),
            Some(bytes) => {
                M::decode(bytes.as_slice())
                    .map(Some)
                    .map_err(|error| ExecError::CorruptState {
                        key: String::from_utf8_lossy(key).into_owned(),
                        what,
                        why: error.to_string(),
                    })
            }
        }
    }

    /// Entries under `prefix` in key order as the current transaction sees them (committed state
    /// with the block's and then the transaction's writes over it), at most `limit`.
    pub(crate) fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Vec<Entry>, ExecError> {
        let under = |writes: &'_ WriteSet| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
            writes
                .range(prefix.to_vec()..)
                .take_while(|(key, _)| key.starts_with(prefix))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        };
        let mut writes = under(&self.block_state);
        writes.extend(under(&self.tx_state));
        Ok(vchain_ledger::scan_with_writes(
            self.base, prefix, None, limit, writes,
        )?)
    }

    pub(crate) fn put_message<M: Message>(&mut self, key: Vec<u8>, message: &M) {
        self.put(key, message.encode_to_vec());
    }

    /// Keeps the current transaction's writes.
    pub(crate) fn commit_tx(&mut self) {
        // Insert entry by entry: `BTreeMap::append` rebuilds the whole block map, which made a
        // block quadratic in its number of writes.
        for (key, value) in std::mem::take(&mut self.tx_state) {
            self.block_state.insert(key, value);
        }
        for (key, value) in std::mem::take(&mut self.tx_index) {
            self.block_index.insert(key, value);
        }
    }

    /// Drops the current transaction's writes.
    pub(crate) fn rollback_tx(&mut self) {
        self.tx_state.clear();
        self.tx_index.clear();
    }

    /// The block's writes: state, then index.
    pub(crate) fn into_writes(self) -> (WriteSet, WriteSet) {
        debug_assert!(
            self.tx_state.is_empty() && self.tx_index.is_empty(),
            "a transaction was left open"
        );
        (self.block_state, self.block_index)
    }
}

/// Decodes a committed value read outside execution (queries).
pub(crate) fn decode<M: Message + Default>(
    key: &[u8],
    bytes: &[u8],
    what: &'static str,
) -> Result<M, ExecError> {
    M::decode(bytes).map_err(|error| ExecError::CorruptState {
        key: String::from_utf8_lossy(key).into_owned(),
        what,
        why: error.to_string(),
    })
}

/// Reads and decodes the message at `key` from committed state.
pub fn read_message<M: Message + Default>(
    state: &dyn StateReader,
    key: &[u8],
    what: &'static str,
) -> Result<Option<M>, ExecError> {
    match state.get(key)? {
        None => Ok(None),
        Some(bytes) => decode(key, &bytes, what).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_ledger::memory::MemoryLedger;

    #[test]
    fn rollback_drops_only_the_transaction() {
        let mut ledger = MemoryLedger::default();
        ledger
            .apply(&WriteSet::from([(b"k0".to_vec(), Some(b"base".to_vec()))]))
            .expect("apply");
        let mut overlay = Overlay::new(&ledger);
        overlay.put(b"k1".to_vec(), b"kept".to_vec());
        overlay.commit_tx();
        overlay.put(b"k2".to_vec(), b"dropped".to_vec());
        overlay.delete(b"k0".to_vec());
        assert_eq!(
            overlay.get(b"k0").expect("get"),
            None,
            "a transaction sees its own delete"
        );
        overlay.rollback_tx();
        assert_eq!(overlay.get(b"k0").expect("get"), Some(b"base".to_vec()));
        assert_eq!(overlay.get(b"k2").expect("get"), None);
        let (state, index) = overlay.into_writes();
        assert_eq!(
            state,
            WriteSet::from([(b"k1".to_vec(), Some(b"kept".to_vec()))])
        );
        assert!(index.is_empty());
    }

    #[test]
    fn scans_see_buffered_writes_over_the_base() {
        let mut ledger = MemoryLedger::default();
        ledger
            .apply(&WriteSet::from([
                (b"p/1".to_vec(), Some(b"a".to_vec())),
                (b"p/2".to_vec(), Some(b"b".to_vec())),
                (b"p/4".to_vec(), Some(b"d".to_vec())),
                (b"q/1".to_vec(), Some(b"other".to_vec())),
            ]))
            .expect("apply");
        let mut overlay = Overlay::new(&ledger);
        overlay.delete(b"p/1".to_vec());
        overlay.commit_tx();
        overlay.put(b"p/3".to_vec(), b"c".to_vec());
        overlay.put(b"p/2".to_vec(), b"B".to_vec());
        let keys = |entries: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<(String, String)> {
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8(k).expect("utf-8"),
                        String::from_utf8(v).expect("utf-8"),
                    )
                })
                .collect()
        };
        assert_eq!(
            keys(overlay.scan_prefix(b"p/", 10).expect("scan")),
            [("p/2", "B"), ("p/3", "c"), ("p/4", "d")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            keys(overlay.scan_prefix(b"p/", 1).expect("scan")),
            [("p/2".to_owned(), "B".to_owned())]
        );
        overlay.rollback_tx();
    }
}
