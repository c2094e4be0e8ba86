//! Backups of a running node and their restore (issue 15; docs/operations.md, "Backups").
//!
//! A backup is a directory: `ledger/`, a RocksDB checkpoint of the ledger at its head (taken
//! while the node commits: the writer pauses only for the copy, which is hard links on the same
//! filesystem), and `manifest.json` ([`Manifest`]: the chain, the head's height, block hash and
//! state root, and every file's size and SHA-256). The running node takes it ([`take`], asked
//! through the admin socket, `crate::admin`). A node that archived old blocks
//! (`vchain-node archive`) also has its archive segments in `archive/`, listed with their
//! digests: the ledger copy points into them, so a backup is whole on its own.
//!
//! [`restore`] runs with the node stopped. It checks everything before it writes anything: the
//! manifest's format, the files against their digests (no file missing, none extra), the copy
//! opened read-only against the manifest's head, block 0 against this node's genesis, and the
//! state root recomputed from every state entry. Only then does it copy the files into the data
//! directory (under a temporary name, renamed when complete).
//!
//! A restored node never votes or signs as the identity the backup was taken from: its
//! consensus state (Raft hard state and log, PBFT votes, its incarnation) is not restored, only
//! the chain (blocks, certificates, state, indexes) and what it knew of others (evidence,
//! refused peers). Votes cast after the backup was taken are gone with the disk, so the same
//! node id could vote twice in one term or sign two blocks at one height. So a backup is
//! restored either under a **new node id** that the consortium adds by proposal (the replaced
//! id is removed), which then votes from a fresh consensus state and catches up only what came
//! after the backup, or, with `as_follower`, under the **same** id as a node that follows the
//! chain and serves reads but never votes again (`crate::incarnation`).
//!
//! Owns: the manifest, taking and restoring. Must not depend on: the network or the engine.

mod manifest;
mod restore;
mod take;

pub use manifest::{FileDigest, Manifest, BACKUP_FORMAT, MANIFEST_FILE};
pub use restore::{restore, RestoreOptions, RestoreReport};
pub(crate) use take::take;

/// Consensus records a restore keeps: what this node learned of other nodes (evidence of their
/// equivocations, their incarnations, whom it refuses), none of which its own vote depends on.
pub(crate) const RECORDS_KEPT: [&str; 3] = ["evidence/", "peer/", "refused/"];
/// Consensus record naming the node a restored ledger's backup was taken from.
pub(crate) const RESTORED_FROM_RECORD: &str = "restored_from";

/// Why a backup could not be taken or restored. [`BackupError::code`] is stable for programs.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup directory (to take) exists already, or the data directory (to restore into)
    /// already holds a ledger.
    #[error("{0}")]
    TargetExists(String),
    /// Another admin call (a backup or an archive of old blocks) is running on this node.
    #[error("another backup or archive of this node is running; try again when it ends")]
    InProgress,
    /// `manifest.json` is missing or unreadable.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The manifest is of a format this build does not read.
    #[error("the backup's format is {found}; this build reads format {BACKUP_FORMAT}")]
    Format {
        /// The manifest's format.
        found: u32,
    },
    /// A file is missing, extra, or not what the manifest says.
    #[error("backup file {file}: {why}")]
    File {
        /// The file, relative to the ledger copy.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// The backup is of another chain than this node's genesis.
    #[error("the backup is of another chain: {0}")]
    WrongChain(String),
    /// The ledger copy's head is not the manifest's.
    #[error("the backup's ledger does not match its manifest: {0}")]
    Head(String),
    /// The state recomputed from every entry has another root than the head records.
    #[error("the backup's state does not match its root: the head records {recorded}, the entries give {computed}")]
    StateRoot {
        /// The head's state root (hex).
        recorded: String,
        /// The root of the stored entries (hex).
        computed: String,
    },
    /// Restoring would reuse the consensus identity the backup was taken from.
    #[error("the backup was taken from node {node_id}, the node this config runs: restored under the same id it could vote twice (votes cast after the backup are lost). Restore under a new node id that the consortium adds by proposal (remove {node_id}), or pass --as-follower to run it as a node that follows the chain and never votes")]
    SameIdentity {
        /// The node id.
        node_id: String,
    },
    /// The ledger refused (storage failure, damage).
    #[error("ledger: {0}")]
    Ledger(#[from] vchain_ledger::LedgerError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, and on which path.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
    /// This node's own configuration or genesis could not be read.
    #[error("node configuration: {0}")]
    Config(String),
}

impl BackupError {
    /// A stable code naming the failure, for programs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::TargetExists(_) => "BACKUP_TARGET_EXISTS",
            BackupError::InProgress => "BACKUP_IN_PROGRESS",
            BackupError::Manifest(_) => "BACKUP_MANIFEST_INVALID",
            BackupError::Format { .. } => "BACKUP_FORMAT_UNSUPPORTED",
            BackupError::File { .. } => "BACKUP_FILE_MISMATCH",
            BackupError::WrongChain(_) => "BACKUP_WRONG_CHAIN",
            BackupError::Head(_) => "BACKUP_HEAD_MISMATCH",
            BackupError::StateRoot { .. } => "BACKUP_STATE_ROOT_MISMATCH",
            BackupError::SameIdentity { .. } => "BACKUP_SAME_IDENTITY",
            BackupError::Ledger(_) => "BACKUP_LEDGER_FAILED",
            BackupError::Io { .. } => "BACKUP_IO_FAILED",
            BackupError::Config(_) => "BACKUP_CONFIG_INVALID",
        }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let what = what.into();
        move |source| BackupError::Io { what, source }
    }
}
