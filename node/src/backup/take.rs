//! Taking a backup of the running node.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{info, info_span};

use super::manifest::{
    digest_files, sync_dir, FileDigest, Manifest, ARCHIVE_DIR, BACKUP_FORMAT, LEDGER_DIR,
};
use super::BackupError;
use crate::chain::Chain;

/// Takes a backup of `chain` into `out_dir` (which must not exist; its parent must): a
/// checkpoint of the ledger at its head, then the digests of its files, then the manifest,
/// written last. Blocking: the digests read every file. On failure the directory is removed.
pub(crate) fn take(chain: &Chain, out_dir: &Path) -> Result<(Manifest, Duration), BackupError> {
    let span = info_span!("backup", out_dir = %out_dir.display());
    let _entered = span.enter();
    let started = Instant::now();
    if out_dir.exists() {
        return Err(BackupError::TargetExists(format!(
            "{} exists: a backup goes into a new directory",
            out_dir.display()
        )));
    }
    std::fs::create_dir(out_dir)
        .map_err(BackupError::io(format!("creating {}", out_dir.display())))?;
    let taken = write_backup(chain, out_dir);
    if taken.is_err() {
        // Never leave a directory that looks like a backup but is not one.
        let _ = std::fs::remove_dir_all(out_dir);
    }
    let manifest = taken?;
    let took = started.elapsed();
    info!(
        height = manifest.height,
        files = manifest.files.len(),
        bytes = manifest.total_bytes(),
        took_ms = took.as_millis() as u64,
        "backup taken"
    );
    Ok((manifest, took))
}

fn write_backup(chain: &Chain, out_dir: &Path) -> Result<Manifest, BackupError> {
    let ledger_dir = out_dir.join(LEDGER_DIR);
    // The writer is held for the copy only: the head it returns is the copy's.
    let head = chain.ledger.checkpoint(&ledger_dir)?;
    let files = digest_files(&ledger_dir)?;
    let archive = copy_archive(chain, &out_dir.join(ARCHIVE_DIR))?;
    let manifest = Manifest {
        format: BACKUP_FORMAT,
        vchain_version: env!("CARGO_PKG_VERSION").to_owned(),
        ledger_format: chain.ledger.format()?,
        chain_id: chain.chain_id.clone(),
        genesis_hash: hex::encode(chain.genesis_hash),
        engine: chain.engine_name.clone(),
        node_id: chain.config.node_id.clone(),
        height: head.height,
        block_hash: hex::encode(head.block_hash),
        state_root: hex::encode(head.state_root),
        block_time_ms: head.timestamp_ms,
        taken_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        files,
        archive,
    };
    sync_dir(&ledger_dir)?;
    manifest.write(out_dir)?;
    Ok(manifest)
}

/// Copies the node's archive segments into `to` (hard links where the filesystem allows: the
/// segments never change once written) and checks each against the digest the ledger records
/// for it, so a backup never carries a damaged archive. The admin socket runs one backup or
/// archive at a time, so the segments are those the checkpoint's ledger points into.
fn copy_archive(chain: &Chain, to: &Path) -> Result<Vec<FileDigest>, BackupError> {
    let segments = chain.ledger.archive_segments()?;
    if segments.is_empty() {
        return Ok(Vec::new());
    }
    let from = chain.config.archive_dir();
    std::fs::create_dir(to).map_err(BackupError::io(format!("creating {}", to.display())))?;
    for segment in &segments {
        let name = segment.file_name();
        let (source, target) = (from.join(&name), to.join(&name));
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target)
                .and_then(|_| std::fs::File::open(&target)?.sync_all())
                .map_err(BackupError::io(format!("copying {}", source.display())))?;
        }
    }
    let digests = digest_files(to)?;
    for (segment, digest) in segments.iter().zip(&digests) {
        if digest.name != segment.file_name() || digest.sha256 != hex::encode(segment.sha256) {
            return Err(BackupError::File {
                file: from.join(segment.file_name()).display().to_string(),
                why: format!(
                    "the archive segment has SHA-256 {}, the ledger records {}: the archive is damaged",
                    digest.sha256,
                    hex::encode(segment.sha256)
                ),
            });
        }
    }
    sync_dir(to)?;
    Ok(digests)
}
