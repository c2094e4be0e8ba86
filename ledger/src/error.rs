//! Errors of the ledger (storage, corruption, refused commits) and of proof verification.

use std::fmt;

use crate::Hash;

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The storage engine failed (I/O, a full disk, a lock held by another process ...).
    #[error("storage failure while {what}: {source}")]
    Storage {
        /// What the ledger was doing.
        what: String,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data breaks an invariant of the ledger; continuing would spread the damage.
    #[error("ledger corrupt: {what}: {why}")]
    Corruption {
        /// The record or structure that is wrong.
        what: String,
        /// How it is wrong.
        why: String,
    },
    /// A stored block does not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// The record that failed to decode.
        what: String,
        /// The protobuf error.
        #[source]
        source: prost::DecodeError,
    },
    /// A block was committed out of order.
    #[error("block height mismatch: the next block must be at height {expected}, got {got}")]
    HeightMismatch {
        /// The height the ledger expects next.
        expected: u64,
        /// The height of the block offered.
        got: u64,
    },
    /// A block's state root is not what its state writes produce.
    #[error("state root mismatch: the block records {}, the tree update computes {}", Hex(.expected), Hex(.got))]
    RootMismatch {
        /// The root the block records.
        expected: Hash,
        /// The root the tree update computes.
        got: Hash,
    },
    /// A tree update was computed against another state than the committed one (a commit
    /// happened between `prepare_state` and `commit_block`, breaking the single-writer rule).
    #[error("stale tree update: prepared against root {}, but the committed root is {}", Hex(.got), Hex(.expected))]
    StaleTreeUpdate {
        /// The committed state root.
        expected: Hash,
        /// The root the update was prepared against.
        got: Hash,
    },
    /// The write-ahead log (or another file RocksDB replays at open) is damaged before its
    /// end: opening would continue from a silently shortened history, dropping writes the node
    /// acknowledged. The node refuses to start and says what the operator can do.
    #[error(
        "the ledger at {path} is damaged ({found}); the node will not continue from a shortened history. Remove this node by proposal and add the machine again under a new node id, with an empty data directory or one restored from a backup under the new id (`vchain-node restore`; docs/operations.md, \"Backups\")"
    )]
    Damaged {
        /// The ledger directory.
        path: String,
        /// What RocksDB found.
        found: String,
    },
    /// The ledger was written in an on-disk format this release does not read (a newer
    /// release wrote it).
    #[error(
        "the ledger at {path} is in on-disk format {found}, written by a newer vchain release; this release reads formats up to {supported}: run the release that wrote it or a newer one"
    )]
    UnsupportedFormat {
        /// The ledger directory.
        path: String,
        /// The format the ledger records.
        found: u32,
        /// The newest format this release reads (and writes).
        supported: u32,
    },
    /// An archive of old blocks was refused; nothing was changed.
    #[error("archive refused: {why}")]
    ArchiveRefused {
        /// Why (which blocks, which limit).
        why: String,
    },
    /// An archived block could not be read from its segment file: the file is missing,
    /// unreadable or damaged. The node keeps running; the archive directory needs restoring.
    #[error("archived block {height} is unavailable from {file}: {why}")]
    ArchiveUnavailable {
        /// The block's height.
        height: u64,
        /// The segment file it is in.
        file: String,
        /// What failed.
        why: String,
    },
    /// A block with the same hash is already committed.
    #[error("block {} is already committed at height {height}", Hex(.block_hash))]
    DuplicateBlock {
        /// The block hash offered again.
        block_hash: Hash,
        /// Where it was committed.
        height: u64,
    },
    /// A commit certificate offered for a height at which no block is stored.
    #[error("no block is stored at height {height} to attach a commit certificate to")]
    BlockNotStored {
        /// The height.
        height: u64,
    },
    /// A commit certificate offered with a block it does not name (another height or hash).
    #[error("the commit certificate offered for height {height} names block {} at height {certificate_height}, not the block stored with it", Hex(.certificate_hash))]
    CertificateMismatch {
        /// The height it was offered for.
        height: u64,
        /// The height it names.
        certificate_height: u64,
        /// The block hash it names.
        certificate_hash: Vec<u8>,
    },
    /// A commit certificate larger than any validator set signs.
    #[error(
        "the commit certificate offered for height {height} is {bytes} bytes, more than {max}"
    )]
    CertificateTooLarge {
        /// The height it was offered for.
        height: u64,
        /// Its size.
        bytes: usize,
        /// The most stored.
        max: usize,
    },
    /// The write of a staged block failed (RocksDB refused it or the disk failed): the store
    /// holds the block before it, and the ledger refuses further commits until it is reopened.
    #[error("writing staged block {height} failed: {why}; the ledger holds the block before it and refuses further commits until it is reopened")]
    StagedWriteFailed {
        /// The block's height.
        height: u64,
        /// What RocksDB said.
        why: String,
    },
    /// A block holds more transactions than a transaction location can index.
    #[error("block holds {count} transactions, more than the {max} a location can index")]
    TooManyTransactions {
        /// Transactions in the block.
        count: usize,
        /// The most a block may hold.
        max: usize,
    },
}

/// Why a state proof does not verify. Every malformed input maps to one of these, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// More siblings than the tree has levels.
    #[error("proof has {count} siblings, more than the {max} levels of the tree")]
    TooManySiblings {
        /// Siblings in the proof.
        count: usize,
        /// Levels of the tree.
        max: usize,
    },
    /// A sibling is not a 32-byte hash.
    #[error("sibling {index} is {len} bytes, not 32")]
    SiblingLength {
        /// Position of the sibling, from the root.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The other leaf of an absence proof is not two 32-byte hashes.
    #[error("other leaf is malformed: key hash {key_hash_len} bytes, value hash {value_hash_len} bytes (want 32 and 32, or both empty)")]
    OtherLeafLength {
        /// Length of `other_key_hash`.
        key_hash_len: usize,
        /// Length of `other_value_hash`.
        value_hash_len: usize,
    },
    /// An inclusion proof names another leaf: the path cannot end at the key's own leaf then.
    #[error("inclusion proof names another leaf")]
    OtherLeafInInclusion,
    /// An absence proof ends at the key's own leaf: the key is present.
    #[error("absence proof ends at the key's own leaf")]
    OtherLeafIsKey,
    /// The other leaf of an absence proof does not lie on the key's path, so it proves nothing
    /// about the key.
    #[error(
        "other leaf shares {shared_bits} leading bits with the key hash, the path needs {needed}"
    )]
    OtherLeafOffPath {
        /// Leading bits the other key hash shares with the key hash.
        shared_bits: usize,
        /// Length of the path (number of siblings).
        needed: usize,
    },
    /// The proof recomputes another root.
    #[error("proof recomputes root {}, expected {}", Hex(.computed), Hex(.expected))]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
}

/// Lower-case hex of a byte string, for messages.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl LedgerError {
    pub(crate) fn corruption(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Corruption {
            what: what.into(),
            why: why.into(),
        }
    }
}
