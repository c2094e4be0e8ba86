//! Restoring a backup into a stopped node's data directory: every check first, then the copy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tracing::{info, info_span, warn};
use vchain_contracts::block::block_hash;
use vchain_ledger::RocksLedger;

use super::manifest::{
    digest_file, digest_files, sync_dir, FileDigest, Manifest, ARCHIVE_DIR, LEDGER_DIR,
};
use super::{BackupError, RECORDS_KEPT, RESTORED_FROM_RECORD};
use crate::config::NodeConfig;

/// How a backup is restored.
#[derive(Clone, Copy, Debug, Default)]
pub struct RestoreOptions {
    /// Restore under the node id the backup was taken from, as a node that follows the chain
    /// and never votes again (without it, that is refused: see the module doc).
    pub as_follower: bool,
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    /// The backup's manifest (its head is the restored ledger's).
    pub manifest: Manifest,
    /// Time spent checking the backup (digests, the read-only open, the recomputed state root).
    pub checked_in: Duration,
    /// Time spent copying it into place.
    pub copied_in: Duration,
    /// True if the node will run as a follower that never votes (a consortium node restored
    /// under the id the backup was taken from). A solo chain restored under its own id is not a
    /// follower: it produces blocks again from the backup's head.
    pub as_follower: bool,
}

/// Restores the backup in `backup_dir` into the data directory of `config` (whose node must be
/// stopped, and whose data directory must hold no ledger). Checks before it writes anything:
/// see the module doc. Blocking.
pub fn restore(
    config: &NodeConfig,
    backup_dir: &Path,
    options: RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    let span = info_span!("restore", backup = %backup_dir.display(), node_id = %config.node_id);
    let _entered = span.enter();
    let started = Instant::now();
    let manifest = Manifest::read(backup_dir)?;
    let genesis =
        crate::load_genesis(&config.genesis).map_err(|e| BackupError::Config(e.to_string()))?;
    if manifest.chain_id != genesis.chain_id {
        return Err(BackupError::WrongChain(format!(
            "the backup is of chain {}, this node's genesis is of chain {}",
            manifest.chain_id, genesis.chain_id
        )));
    }
    let genesis_hash = hex::encode(
        crate::chain::genesis_hash(&genesis).map_err(|e| BackupError::Config(e.to_string()))?,
    );
    if manifest.genesis_hash != genesis_hash {
        return Err(BackupError::WrongChain(format!(
            "the backup's genesis block is {}, this node's genesis makes {genesis_hash}",
            manifest.genesis_hash
        )));
    }
    if manifest.node_id == config.node_id && !options.as_follower {
        return Err(BackupError::SameIdentity {
            node_id: manifest.node_id.clone(),
        });
    }
    let target = config.ledger_dir();
    for taken in [target.clone(), config.data_dir.join("checkpoints")] {
        if taken.exists() {
            return Err(BackupError::TargetExists(format!(
                "{} exists: restore into a data directory without a ledger (move it away first)",
                taken.display()
            )));
        }
    }

    let source = backup_dir.join(LEDGER_DIR);
    check_files(&manifest.files, &source)?;
    if !manifest.archive.is_empty() {
        check_files(&manifest.archive, &backup_dir.join(ARCHIVE_DIR))?;
    }
    check_ledger(&manifest, &source, &genesis_hash)?;
    check_archive_target(&manifest.archive, &config.archive_dir())?;
    let checked_in = started.elapsed();
    info!(
        height = manifest.height,
        checked_ms = checked_in.as_millis() as u64,
        "backup checked"
    );

    let copying = Instant::now();
    std::fs::create_dir_all(&config.data_dir).map_err(BackupError::io(format!(
        "creating {}",
        config.data_dir.display()
    )))?;
    copy_archive(
        &manifest.archive,
        &backup_dir.join(ARCHIVE_DIR),
        &config.archive_dir(),
    )?;
    let staging = config.data_dir.join("ledger.restoring");
    if staging.exists() {
        // An earlier restore that did not finish: nothing else writes here.
        std::fs::remove_dir_all(&staging)
            .map_err(BackupError::io(format!("removing {}", staging.display())))?;
    }
    std::fs::create_dir(&staging)
        .map_err(BackupError::io(format!("creating {}", staging.display())))?;
    for file in &manifest.files {
        let to = staging.join(&file.name);
        std::fs::copy(source.join(&file.name), &to)
            .and_then(|_| std::fs::File::open(&to)?.sync_all())
            .map_err(BackupError::io(format!(
                "copying {} into {}",
                file.name,
                staging.display()
            )))?;
    }
    sync_dir(&staging)?;
    {
        // The consensus state stays behind: a restored node never votes as it did before.
        let ledger = RocksLedger::open_with(&staging, &config.storage.budget())?;
        ledger.forget_consensus_state(&RECORDS_KEPT)?;
        ledger.put_consensus_record(RESTORED_FROM_RECORD, manifest.node_id.as_bytes())?;
    }
    std::fs::rename(&staging, &target).map_err(BackupError::io(format!(
        "renaming {} to {}",
        staging.display(),
        target.display()
    )))?;
    sync_dir(&config.data_dir)?;
    let copied_in = copying.elapsed();
    let as_follower = manifest.node_id == config.node_id && manifest.engine != "solo";
    if manifest.node_id == config.node_id {
        if as_follower {
            warn!(
                node_id = %config.node_id,
                "restored under the id the backup was taken from: the node will follow the chain and never vote"
            );
        } else {
            warn!(
                node_id = %config.node_id,
                height = manifest.height,
                "a solo chain restored: it produces blocks again from the backup's head; blocks it made after the backup are lost"
            );
        }
    }
    info!(
        height = manifest.height,
        bytes = manifest.total_bytes(),
        copied_ms = copied_in.as_millis() as u64,
        "backup restored"
    );
    Ok(RestoreReport {
        manifest,
        checked_in,
        copied_in,
        as_follower,
    })
}

/// The node's archive directory holds none of the backup's segments, or holds them as they are
/// (a restore on the machine whose archive survived): a different file under a segment's name
/// is refused rather than replaced.
fn check_archive_target(archive: &[FileDigest], target: &Path) -> Result<(), BackupError> {
    for file in archive {
        let path = target.join(&file.name);
        if path.exists() && digest_file(&path)?.1 != file.sha256 {
            return Err(BackupError::TargetExists(format!(
                "{} exists with other content than the backup's segment of that name: move it away first",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Copies the backup's archive segments into the node's archive directory (each under a
/// temporary name, synced, renamed), skipping those already there as they are.
fn copy_archive(archive: &[FileDigest], from: &Path, target: &Path) -> Result<(), BackupError> {
    if archive.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(target)
        .map_err(BackupError::io(format!("creating {}", target.display())))?;
    for file in archive {
        let path = target.join(&file.name);
        if path.exists() {
            continue; // checked: the same content
        }
        let partial = target.join(format!("{}.restoring", file.name));
        std::fs::copy(from.join(&file.name), &partial)
            .and_then(|_| std::fs::File::open(&partial)?.sync_all())
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(BackupError::io(format!(
                "copying archive segment {} into {}",
                file.name,
                target.display()
            )))?;
    }
    sync_dir(target)
}

/// A directory of a backup holds exactly the `listed` files, each of its size and digest.
fn check_files(listed_files: &[FileDigest], source: &Path) -> Result<(), BackupError> {
    let listed: BTreeMap<&str, _> = listed_files.iter().map(|f| (f.name.as_str(), f)).collect();
    if listed.len() != listed_files.len() {
        return Err(BackupError::Manifest("a file is listed twice".into()));
    }
    let found = digest_files(source)?;
    for file in &found {
        match listed.get(file.name.as_str()) {
            None => {
                return Err(BackupError::File {
                    file: file.name.clone(),
                    why: "not in the manifest".into(),
                })
            }
            Some(want) if want.bytes != file.bytes => {
                return Err(BackupError::File {
                    file: file.name.clone(),
                    why: format!("{} bytes, the manifest says {}", file.bytes, want.bytes),
                })
            }
            Some(want) if want.sha256 != file.sha256 => {
                return Err(BackupError::File {
                    file: file.name.clone(),
                    why: format!("SHA-256 {}, the manifest says {}", file.sha256, want.sha256),
                })
            }
            Some(_) => {}
        }
    }
    let present: std::collections::BTreeSet<&str> = found.iter().map(|f| f.name.as_str()).collect();
    if let Some(missing) = listed_files
        .iter()
        .find(|want| !present.contains(want.name.as_str()))
    {
        return Err(BackupError::File {
            file: missing.name.clone(),
            why: "listed in the manifest but missing".into(),
        });
    }
    Ok(())
}

/// The copy, opened read-only, is the manifest's head of this chain, and its state entries give
/// the head's state root.
fn check_ledger(manifest: &Manifest, source: &Path, genesis_hash: &str) -> Result<(), BackupError> {
    // RocksDB's info log of the read-only open goes to a directory of its own, not the backup.
    // Unique per check: two restores in one process (tests run them in parallel) must not
    // share it, since each removes its own when done.
    static CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let check = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log_dir =
        std::env::temp_dir().join(format!("vchain-restore-log-{}-{check}", std::process::id()));
    std::fs::create_dir_all(&log_dir)
        .map_err(BackupError::io(format!("creating {}", log_dir.display())))?;
    let checked = (|| {
        let ledger = RocksLedger::open_read_only(source, &log_dir)?;
        let head = ledger
            .head()?
            .ok_or_else(|| BackupError::Head("the ledger copy has no head".into()))?;
        let found = (
            head.height,
            hex::encode(head.block_hash),
            hex::encode(head.state_root),
        );
        let want = (
            manifest.height,
            manifest.block_hash.clone(),
            manifest.state_root.clone(),
        );
        if found != want {
            return Err(BackupError::Head(format!(
                "the copy's head is height {} block {} state root {}; the manifest says height {} block {} state root {}",
                found.0, found.1, found.2, want.0, want.1, want.2
            )));
        }
        let head_header = ledger.block(head.height)?.and_then(|b| b.header);
        let header_says = head_header
            .as_ref()
            .map(|h| (block_hash(h), h.state_root.as_slice() == head.state_root));
        if header_says != Some((head.block_hash, true)) {
            return Err(BackupError::Head(format!(
                "the copy's block {} does not hash to its head {} with the head's state root",
                head.height, found.1
            )));
        }
        let stored_genesis = ledger
            .block(0)?
            .and_then(|b| b.header)
            .map(|h| hex::encode(block_hash(&h)));
        if stored_genesis.as_deref() != Some(genesis_hash) {
            return Err(BackupError::WrongChain(format!(
                "the copy's block 0 is {}, this node's genesis makes {genesis_hash}",
                stored_genesis.unwrap_or_else(|| "missing".into())
            )));
        }
        // The archived blocks the copy points to are the segments the backup carries.
        let segments: Vec<(String, String)> = ledger
            .archive_segments()?
            .iter()
            .map(|s| (s.file_name(), hex::encode(s.sha256)))
            .collect();
        let carried: Vec<(String, String)> = manifest
            .archive
            .iter()
            .map(|f| (f.name.clone(), f.sha256.clone()))
            .collect();
        if segments != carried {
            return Err(BackupError::File {
                file: ARCHIVE_DIR.into(),
                why: format!(
                    "the ledger copy points into {} archive segments, the backup carries {} that differ",
                    segments.len(),
                    carried.len()
                ),
            });
        }
        let computed = ledger.recompute_state_root()?;
        if computed != head.state_root {
            return Err(BackupError::StateRoot {
                recorded: hex::encode(head.state_root),
                computed: hex::encode(computed),
            });
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&log_dir);
    checked
}
