//! Past blocks a node did not execute itself: a node that caught up by a state snapshot holds the
//! state, and fills in the blocks before the snapshot afterwards, newest first, each one checked
//! against the hash its successor names (so history is as trustworthy as the head it hangs from).

use rocksdb::WriteBatch;

use super::{RocksLedger, CF_BLOCKS, CF_BLOCK_HASHES, CF_META};
use crate::error::Hex;
use crate::{Hash, LedgerError};

/// Meta key: blocks below this height may be missing (set by a snapshot install).
pub(super) const HISTORY_BELOW_KEY: &[u8] = b"history_below";

impl RocksLedger {
    /// The height below which this ledger may lack blocks (after a snapshot install), if any.
    pub fn history_gap(&self) -> Result<Option<u64>, LedgerError> {
        match self.view().get(CF_META, HISTORY_BELOW_KEY)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(u64::from_be_bytes(
                bytes.as_slice().try_into().map_err(|_| {
                    LedgerError::corruption("history gap", format!("{} bytes, want 8", bytes.len()))
                })?,
            ))),
        }
    }

    /// Stores block `height` (below the head) with its hash and its transactions' locations, and
    /// if history was complete from `height + 1` up, records it complete from `height` up.
    /// Never touches the state or the head. Refused if another block is stored at `height`.
    pub fn store_past_block(
        &self,
        height: u64,
        block_hash: &Hash,
        block_bytes: &[u8],
        tx_hashes: &[Hash],
    ) -> Result<(), LedgerError> {
        // The writer lock orders this against a snapshot install moving the gap.
        let _writer = self.lock_writer_settled()?;
        let head = self
            .head()?
            .ok_or_else(|| LedgerError::corruption("past block", "the ledger has no head"))?;
        if height >= head.height {
            return Err(LedgerError::corruption(
                "past block",
                format!("height {height} is not below the head ({})", head.height),
            ));
        }
        if let Some(stored) = self.view().height_of(block_hash)? {
            if stored != height {
                return Err(LedgerError::DuplicateBlock {
                    block_hash: *block_hash,
                    height: stored,
                });
            }
        }
        let height_bytes = height.to_be_bytes();
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS)?, height_bytes, block_bytes);
        batch.put_cf(self.cf(CF_BLOCK_HASHES)?, block_hash, height_bytes);
        self.put_tx_locations(&mut batch, height, tx_hashes)?;
        if self.history_gap()? == Some(height + 1) {
            self.put_history_gap(&mut batch, Some(height))?;
        }
        self.write_synced(batch, "storing a past block")?;
        tracing::debug!(height, block_hash = %Hex(block_hash), "past block stored");
        Ok(())
    }

    /// Records history complete from `height` up, if it was from `height + 1` up (a block the
    /// ledger already held was checked); at height 0 nothing is missing any more.
    pub fn extend_history(&self, height: u64) -> Result<(), LedgerError> {
        let _writer = self.lock_writer_settled()?;
        if self.history_gap()? != Some(height + 1) {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        self.put_history_gap(&mut batch, (height > 0).then_some(height))?;
        self.write_synced(batch, "recording the history gap")
    }

    pub(super) fn put_history_gap(
        &self,
        batch: &mut WriteBatch,
        missing_below: Option<u64>,
    ) -> Result<(), LedgerError> {
        let meta = self.cf(CF_META)?;
        match missing_below {
            Some(height) => batch.put_cf(meta, HISTORY_BELOW_KEY, height.to_be_bytes()),
            None => batch.delete_cf(meta, HISTORY_BELOW_KEY),
        }
        Ok(())
    }
}
