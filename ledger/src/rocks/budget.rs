//! How much memory and disk RocksDB may use: the block cache, the memtables, the write-ahead
//! log and RocksDB's own info log, set from the node's configuration and fixed at open.
//!
//! Why each bound exists (issue 11, measured on a 4-node testnet under load):
//! - **Write-ahead log.** A WAL file is deleted only once every column family with writes in it
//!   has flushed them. The Raft log and the head record take a few bytes per block, so their
//!   memtables never fill and, with RocksDB's default (`max_total_wal_size` = 4 × all write
//!   buffers, gigabytes with nine column families), every WAL file stayed alive: 737 MB per node
//!   after two minutes. [`StorageBudget::wal_bytes_max`] makes RocksDB flush the column families
//!   that hold the oldest WAL file alive once the WAL passes it.
//! - **Memtables.** One budget for all column families ([`StorageBudget::write_buffer_bytes`],
//!   RocksDB's write buffer manager), so the total does not scale with the number of families.
//! - **Block cache.** One LRU cache shared by every family, holding data blocks *and* the index
//!   and filter blocks of every table, so table metadata cannot grow outside the budget as the
//!   chain grows.
//! - **Info log.** RocksDB's `LOG` files rotate at [`INFO_LOG_FILE_BYTES_MAX`] and only
//!   [`INFO_LOG_FILES_KEPT`] are kept.
//!
//! What a node holds in memory beyond these (the Raft log between checkpoints, the mempool, the
//! upper levels of the state tree) is bounded by the node's own configuration; `docs/operations.md`
//! adds it all up.

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, DBRecoveryMode, Options};

/// Bytes of the shared block cache unless configured otherwise.
pub const BLOCK_CACHE_BYTES_DEFAULT: usize = 64 << 20;
/// Bytes of all memtables together unless configured otherwise.
pub const WRITE_BUFFER_BYTES_DEFAULT: usize = 64 << 20;
/// Bytes of write-ahead log before the oldest is flushed away, unless configured otherwise.
pub const WAL_BYTES_MAX_DEFAULT: u64 = 64 << 20;
/// Smallest block cache a configuration may set.
pub const BLOCK_CACHE_BYTES_MIN: usize = 8 << 20;
/// Smallest memtable budget a configuration may set (each family's memtable is a quarter).
pub const WRITE_BUFFER_BYTES_MIN: usize = 8 << 20;
/// Smallest WAL bound a configuration may set: one memtable budget, or every write would flush.
pub const WAL_BYTES_MAX_MIN: u64 = WRITE_BUFFER_BYTES_MIN as u64;
/// Memtables a column family may hold (the active one and one being flushed).
const MEMTABLES_PER_FAMILY_MAX: i32 = 2;
/// A family's memtable is this fraction of the budget: several families can fill at once.
const FAMILY_SHARES_OF_BUDGET: usize = 4;
/// Table files kept open; beyond it the least recently used are closed (their index and filter
/// blocks live in the block cache, so reopening one is cheap).
const OPEN_FILES_MAX: i32 = 1_024;
/// Size at which RocksDB's info log (`LOG`) rotates.
pub const INFO_LOG_FILE_BYTES_MAX: usize = 16 << 20;
/// Rotated info logs kept.
pub const INFO_LOG_FILES_KEPT: usize = 4;
/// Bloom filter size; 10 bits per key gives about 1% false positives.
const BLOOM_BITS_PER_KEY: f64 = 10.0;

const _: () = assert!(BLOCK_CACHE_BYTES_DEFAULT >= BLOCK_CACHE_BYTES_MIN);
const _: () = assert!(WRITE_BUFFER_BYTES_DEFAULT >= WRITE_BUFFER_BYTES_MIN);
const _: () = assert!(WAL_BYTES_MAX_DEFAULT >= WAL_BYTES_MAX_MIN);
const _: () = assert!(WRITE_BUFFER_BYTES_MIN / FAMILY_SHARES_OF_BUDGET >= 1 << 20);

/// The memory and disk RocksDB may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageBudget {
    /// Bytes of the block cache shared by all column families (data, index and filter blocks).
    pub block_cache_bytes: usize,
    /// Bytes of all memtables together.
    pub write_buffer_bytes: usize,
    /// Bytes of write-ahead log past which the column families holding the oldest file alive
    /// are flushed, so the file can go.
    pub wal_bytes_max: u64,
}

impl Default for StorageBudget {
    fn default() -> Self {
        StorageBudget {
            block_cache_bytes: BLOCK_CACHE_BYTES_DEFAULT,
            write_buffer_bytes: WRITE_BUFFER_BYTES_DEFAULT,
            wal_bytes_max: WAL_BYTES_MAX_DEFAULT,
        }
    }
}

impl StorageBudget {
    /// The smallest budget: for a ledger only read from, such as a checkpoint served to peers.
    pub const MIN: StorageBudget = StorageBudget {
        block_cache_bytes: BLOCK_CACHE_BYTES_MIN,
        write_buffer_bytes: WRITE_BUFFER_BYTES_MIN,
        wal_bytes_max: WAL_BYTES_MAX_MIN,
    };

    /// Checks the budget against the minimums; the node's config calls this at load.
    pub fn check(&self) -> Result<(), String> {
        if self.block_cache_bytes < BLOCK_CACHE_BYTES_MIN {
            return Err(format!(
                "block cache of {} bytes is below the {BLOCK_CACHE_BYTES_MIN} minimum",
                self.block_cache_bytes
            ));
        }
        if self.write_buffer_bytes < WRITE_BUFFER_BYTES_MIN {
            return Err(format!(
                "write buffers of {} bytes are below the {WRITE_BUFFER_BYTES_MIN} minimum",
                self.write_buffer_bytes
            ));
        }
        if self.wal_bytes_max < WAL_BYTES_MAX_MIN {
            return Err(format!(
                "a write-ahead log bound of {} bytes is below the {WAL_BYTES_MAX_MIN} minimum",
                self.wal_bytes_max
            ));
        }
        Ok(())
    }

    /// Options of the database as a whole.
    pub(crate) fn db_options(&self) -> Options {
        debug_assert!(self.check().is_ok(), "checked at configuration");
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(DBCompressionType::None);
        // A record torn by a crash mid-write at the very end of the log was never acknowledged
        // and is dropped; damage anywhere before the end fails the open instead of replaying up
        // to it and silently forgetting every acknowledged write after it (RocksDB's default,
        // point-in-time recovery, does that).
        options.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
        options.set_paranoid_checks(true);
        options.set_max_total_wal_size(self.wal_bytes_max);
        options.set_db_write_buffer_size(self.write_buffer_bytes);
        options.set_max_open_files(OPEN_FILES_MAX);
        options.set_max_log_file_size(INFO_LOG_FILE_BYTES_MAX);
        options.set_keep_log_file_num(INFO_LOG_FILES_KEPT);
        options
    }

    /// Options of one column family; `point_reads` adds a bloom filter, which saves the disk
    /// read for an absent key.
    pub(crate) fn family_options(&self, cache: &Cache, point_reads: bool) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(cache);
        // Index and filter blocks in the cache, inside the budget; level 0's stay pinned because
        // every read consults them.
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        if point_reads {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        }
        let mut options = Options::default();
        options.set_block_based_table_factory(&table);
        // Built without codecs: values are small protobuf records and hashes, which compress poorly.
        options.set_compression_type(DBCompressionType::None);
        options.set_bottommost_compression_type(DBCompressionType::None);
        options.set_write_buffer_size(self.write_buffer_bytes / FAMILY_SHARES_OF_BUDGET);
        options.set_max_write_buffer_number(MEMTABLES_PER_FAMILY_MAX);
        options
    }

    /// The block cache these options share.
    pub(crate) fn block_cache(&self) -> Cache {
        Cache::new_lru_cache(self.block_cache_bytes)
    }
}

/// What RocksDB holds now, by what holds it (for the node's status and its soak runs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Memtables of every column family, including ones waiting to be flushed.
    pub memtable_bytes: u64,
    /// The shared block cache in use.
    pub block_cache_bytes: u64,
    /// Write-ahead log files.
    pub wal_bytes: u64,
    /// Table (SST) files of every column family.
    pub table_bytes: u64,
    /// The stored blocks: the blocks family's tables and memtables.
    pub block_bytes: u64,
}

/// Whether RocksDB is holding the ledger's writes back (compaction behind the writes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStall {
    /// Writes are stopped until compaction catches up.
    pub stopped: bool,
    /// Bytes per second writes are slowed to (0: not slowed).
    pub delayed_write_rate: u64,
}

impl super::RocksLedger {
    /// Whether RocksDB stops or slows the ledger's writes now.
    pub fn write_stall(&self) -> Result<WriteStall, crate::LedgerError> {
        let property = |key: &str| -> Result<u64, crate::LedgerError> {
            Ok(self
                .db
                .property_int_value(key)
                .map_err(super::storage(format!("reading {key}")))?
                .unwrap_or(0))
        };
        Ok(WriteStall {
            stopped: property("rocksdb.is-write-stopped")? != 0,
            delayed_write_rate: property("rocksdb.actual-delayed-write-rate")?,
        })
    }

    /// What this ledger holds in memory and on disk now.
    pub fn usage(&self) -> Result<StorageUsage, crate::LedgerError> {
        let mut usage = StorageUsage::default();
        for name in super::COLUMN_FAMILIES {
            let family = self.cf(name)?;
            let property = |key: &str| -> Result<u64, crate::LedgerError> {
                Ok(self
                    .db
                    .property_int_value_cf(family, key)
                    .map_err(super::storage(format!("reading {key} of {name}")))?
                    .unwrap_or(0))
            };
            let memtables = property("rocksdb.size-all-mem-tables")?;
            let tables = property("rocksdb.total-sst-files-size")?;
            usage.memtable_bytes += memtables;
            usage.table_bytes += tables;
            if name == super::CF_BLOCKS {
                usage.block_bytes = memtables + tables;
            }
        }
        // Every family shares one cache; ask one of them (the database-wide property answers
        // for the `default` family, which has a cache of its own that nothing uses).
        usage.block_cache_bytes = self
            .db
            .property_int_value_cf(self.cf(super::CF_STATE)?, "rocksdb.block-cache-usage")
            .map_err(super::storage("reading the block cache usage"))?
            .unwrap_or(0);
        let entries =
            std::fs::read_dir(&self.path).map_err(|error| crate::LedgerError::Storage {
                what: format!("listing {}", self.path.display()),
                source: Box::new(error),
            })?;
        for entry in entries.flatten() {
            let is_wal = entry.path().extension().is_some_and(|e| e == "log");
            if is_wal {
                usage.wal_bytes += entry.metadata().map_or(0, |m| m.len());
            }
        }
        Ok(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_below_a_minimum_is_refused_naming_it() {
        assert!(StorageBudget::default().check().is_ok());
        assert!(StorageBudget::MIN.check().is_ok());
        let small_cache = StorageBudget {
            block_cache_bytes: BLOCK_CACHE_BYTES_MIN - 1,
            ..StorageBudget::default()
        };
        assert!(small_cache
            .check()
            .expect_err("below the minimum")
            .contains("block cache"));
        let small_buffers = StorageBudget {
            write_buffer_bytes: WRITE_BUFFER_BYTES_MIN - 1,
            ..StorageBudget::default()
        };
        assert!(small_buffers
            .check()
            .expect_err("below the minimum")
            .contains("write buffers"));
        let small_wal = StorageBudget {
            wal_bytes_max: WAL_BYTES_MAX_MIN - 1,
            ..StorageBudget::default()
        };
        assert!(small_wal
            .check()
            .expect_err("below the minimum")
            .contains("write-ahead log"));
    }
}
