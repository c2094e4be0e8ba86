//! The ledger's on-disk format version: recorded in the ledger, refused when newer than this
//! release reads, migrated when older.
//!
//! Format history (append a line, and a step to [`RocksLedger::migrate_format`], with every
//! change to how the ledger lays out its column families, keys or records):
//! - 0: ledgers written before the format was recorded (no `format` record);
//! - 1: the same layout, with the `format` record;
//! - 2: blocks may be archived to segment files: `archive/...` meta records point to them and
//!   the archived blocks are gone from the blocks family (`archive.rs`). A release that reads
//!   only format 1 would take an archived block for a missing one, so it must refuse.
//!
//! Invariants kept here: a ledger in a newer format is refused before anything reads or writes
//! it; a migration runs one step at a time, each step's writes and its new format number in one
//! synced batch, so a crash leaves the ledger at one format or the next.

use rocksdb::WriteBatch;

use super::{RocksLedger, CF_META};
use crate::LedgerError;

/// The on-disk format this release writes, and the newest it reads.
pub const LEDGER_FORMAT: u32 = 2;
/// Meta key of the format record (u32 big-endian).
const FORMAT_KEY: &[u8] = b"format";

impl RocksLedger {
    /// The format the ledger records (0 for a ledger older than the record).
    pub fn format(&self) -> Result<u32, LedgerError> {
        match self.view().get(CF_META, FORMAT_KEY)? {
            None => Ok(0),
            Some(bytes) => {
                let bytes: [u8; 4] = bytes.as_slice().try_into().map_err(|_| {
                    LedgerError::corruption(
                        "format record",
                        format!("{} bytes, want 4", bytes.len()),
                    )
                })?;
                Ok(u32::from_be_bytes(bytes))
            }
        }
    }

    /// Refuses a ledger in a format newer than [`LEDGER_FORMAT`].
    pub(super) fn refuse_newer_format(&self) -> Result<u32, LedgerError> {
        let found = self.format()?;
        if found > LEDGER_FORMAT {
            tracing::error!(
                found,
                supported = LEDGER_FORMAT,
                "the ledger's format is newer than this release reads; refusing to start"
            );
            return Err(LedgerError::UnsupportedFormat {
                path: self.path.display().to_string(),
                found,
                supported: LEDGER_FORMAT,
            });
        }
        Ok(found)
    }

    /// Brings the ledger to [`LEDGER_FORMAT`]: a new (empty) ledger is stamped, an older one
    /// migrated step by step.
    pub(super) fn settle_format(&self) -> Result<(), LedgerError> {
        let mut format = self.refuse_newer_format()?;
        if self.view().head()?.is_none() && format == 0 {
            return self.write_format(WriteBatch::default(), LEDGER_FORMAT);
        }
        while format < LEDGER_FORMAT {
            let batch = self.migrate_format(format)?;
            self.write_format(batch, format + 1)?;
            tracing::info!(from = format, to = format + 1, "ledger format migrated");
            format += 1;
        }
        Ok(())
    }

    /// The writes that take a ledger from format `from` to `from + 1`.
    fn migrate_format(&self, from: u32) -> Result<WriteBatch, LedgerError> {
        match from {
            // Format 1 only adds the format record itself.
            0 => Ok(WriteBatch::default()),
            // Format 2 adds records that only an archive writes; a ledger without them is
            // already a format 2 ledger with nothing archived.
            1 => Ok(WriteBatch::default()),
            other => Err(LedgerError::corruption(
                "format record",
                format!("no migration from format {other}"),
            )),
        }
    }

    fn write_format(&self, mut batch: WriteBatch, format: u32) -> Result<(), LedgerError> {
        batch.put_cf(self.cf(CF_META)?, FORMAT_KEY, format.to_be_bytes());
        self.write_synced(batch, "recording the ledger format")
    }

    /// Records `format` as it is (tests of refusal and migration).
    #[cfg(test)]
    pub(super) fn force_format(&self, format: Option<u32>) -> Result<(), LedgerError> {
        let mut batch = WriteBatch::default();
        match format {
            Some(format) => batch.put_cf(self.cf(CF_META)?, FORMAT_KEY, format.to_be_bytes()),
            None => batch.delete_cf(self.cf(CF_META)?, FORMAT_KEY),
        }
        self.write_synced(batch, "forcing the ledger format")
    }
}
