//! The backup manifest: what a backup holds and how to check it, as JSON beside the ledger copy.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;

/// Format of the backup layout and manifest this build writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
/// The manifest's file name in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The ledger copy's directory name in a backup directory.
pub(crate) const LEDGER_DIR: &str = "ledger";
/// The archive segments' directory name in a backup directory (only if blocks are archived).
pub(crate) const ARCHIVE_DIR: &str = "archive";
/// Bytes read at a time while digesting a file.
const DIGEST_READ_BYTES: usize = 1 << 20;
/// Most files a ledger copy may hold (RocksDB keeps far fewer; a bound on what a manifest lists).
pub(crate) const BACKUP_FILES_MAX: usize = 100_000;

/// What a backup holds: written last, so a backup without one is incomplete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`BACKUP_FORMAT`] when written.
    pub format: u32,
    /// The vchain release that took it.
    pub vchain_version: String,
    /// The ledger's on-disk format (`vchain_ledger::LEDGER_FORMAT` of that release): a release
    /// restores formats up to its own, migrating older ones when the node opens the ledger.
    pub ledger_format: u32,
    /// The chain's id.
    pub chain_id: String,
    /// Hash of block 0 (hex): the chain's genesis.
    pub genesis_hash: String,
    /// The consensus engine genesis chose.
    pub engine: String,
    /// The node it was taken from.
    pub node_id: String,
    /// The head it holds: height, block hash and state root (hex), block time.
    pub height: u64,
    /// Hash of the head block (hex).
    pub block_hash: String,
    /// State root after the head block (hex).
    pub state_root: String,
    /// The head block's time, milliseconds since the Unix epoch.
    pub block_time_ms: u64,
    /// When it was taken (the node's wall clock, milliseconds since the Unix epoch; information
    /// for the operator, checked against nothing).
    pub taken_at_ms: u64,
    /// Every file of the ledger copy, by name.
    pub files: Vec<FileDigest>,
    /// Every segment file of the node's block archive (`vchain-node archive`), copied into
    /// `archive/`: the ledger copy points into them for its archived blocks. Empty when no
    /// block is archived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archive: Vec<FileDigest>,
}

/// One file of a ledger copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Its name in `ledger/`.
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of its content (hex).
    pub sha256: String,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| BackupError::Manifest(format!("reading {}: {e}", path.display())))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| BackupError::Manifest(format!("{}: {e}", path.display())))?;
        if manifest.format != BACKUP_FORMAT {
            return Err(BackupError::Format {
                found: manifest.format,
            });
        }
        if manifest.ledger_format > vchain_ledger::LEDGER_FORMAT {
            return Err(BackupError::Manifest(format!(
                "the ledger is in on-disk format {}, written by a newer release; this release reads formats up to {}",
                manifest.ledger_format,
                vchain_ledger::LEDGER_FORMAT
            )));
        }
        if manifest.files.len() + manifest.archive.len() > BACKUP_FILES_MAX {
            return Err(BackupError::Manifest(format!(
                "{} files listed, at most {BACKUP_FILES_MAX}",
                manifest.files.len()
            )));
        }
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` durably: to a temporary file, synced, renamed into place, and
    /// the directory synced, so a crash leaves either no manifest or the whole of it.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| BackupError::Manifest(format!("encoding: {e}")))?;
        let temporary = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let mut file = std::fs::File::create(&temporary)
            .map_err(BackupError::io(format!("creating {}", temporary.display())))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(BackupError::io(format!("writing {}", temporary.display())))?;
        let path = dir.join(MANIFEST_FILE);
        std::fs::rename(&temporary, &path)
            .map_err(BackupError::io(format!("renaming to {}", path.display())))?;
        sync_dir(dir)
    }

    /// The total size of the listed files (ledger and archive).
    pub fn total_bytes(&self) -> u64 {
        self.files
            .iter()
            .chain(&self.archive)
            .map(|f| f.bytes)
            .sum()
    }
}

/// Every regular file in `dir` with its size and digest, by name. A subdirectory, or more than
/// [`BACKUP_FILES_MAX`] files, is refused: a ledger copy has neither.
pub(crate) fn digest_files(dir: &Path) -> Result<Vec<FileDigest>, BackupError> {
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(dir).map_err(BackupError::io(format!("listing {}", dir.display())))?
    {
        let entry = entry.map_err(BackupError::io(format!("listing {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(BackupError::io(format!(
            "reading {}",
            entry.path().display()
        )))?;
        if !kind.is_file() {
            return Err(BackupError::File {
                file: name,
                why: "not a regular file (a ledger copy holds only files)".into(),
            });
        }
        names.push(name);
        if names.len() > BACKUP_FILES_MAX {
            return Err(BackupError::File {
                file: dir.display().to_string(),
                why: format!("more than {BACKUP_FILES_MAX} files"),
            });
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            digest_file(&dir.join(&name)).map(|(bytes, sha256)| FileDigest {
                name,
                bytes,
                sha256,
            })
        })
        .collect()
}

/// A file's size and SHA-256 (hex), read in bounded pieces.
pub(crate) fn digest_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = std::fs::File::open(path)
        .map_err(BackupError::io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; DIGEST_READ_BYTES];
    let mut bytes = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(BackupError::io(format!("reading {}", path.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Syncs a directory, so the names created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(format!("syncing {}", dir.display())))
}
