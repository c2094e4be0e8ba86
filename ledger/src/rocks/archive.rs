//! Archiving old blocks to segment files: an operator moves the blocks below a height out of
//! RocksDB into append-only files, and the ledger keeps serving them from there.
//!
//! What stays in RocksDB: every block's hash and its transactions' locations, every commit
//! certificate, the state, and per archived block a pointer (segment, offset, length, SHA-256 of
//! the block's bytes). What moves: the block bytes, the bulk of a ledger's size.
//!
//! Invariants kept here:
//! - genesis (height 0) and the head are never archived; the archived heights are always one
//!   range `1..archived_below`, extended upwards by each archive;
//! - segment files are written, synced and renamed into place before the pointers that name
//!   them are committed (one synced batch that also removes the blocks), so a crash leaves
//!   either the blocks in RocksDB or the pointers and their files, never neither;
//! - a read from a segment is checked against the SHA-256 its pointer records: a damaged or
//!   replaced segment is an error naming the file, never a wrong block.
//!
//! The segment format is documented for tools that read an archive without a node
//! (docs/operations.md, "Archiving old blocks"): the 8-byte magic [`SEGMENT_MAGIC`], then one
//! record per height in order: height (u64 big-endian), block length (u32 big-endian), the
//! encoded block, certificate length (u32 big-endian, 0 if none), the encoded certificate.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rocksdb::WriteBatch;
use sha2::{Digest, Sha256};

use super::{hash_at, u64_at, RocksLedger, CF_BLOCKS, CF_META};
use crate::error::Hex;
use crate::{Hash, LedgerError};

/// First bytes of every segment file (format 1).
pub const SEGMENT_MAGIC: &[u8; 8] = b"VCHSEG01";
/// A segment is closed, and the next one begun, once it holds this many bytes. Bounds a file's
/// size (a block is far smaller: see `BLOCK_BYTES_MAX` in the node), so segments can be copied,
/// checked and moved to other storage one by one.
pub const SEGMENT_BYTES_TARGET: u64 = 256 * 1024 * 1024;
/// Most blocks one archive call moves: the pointers it commits are one write batch
/// (`ARCHIVE_POINTER_LEN` bytes each, about 52 MB at this bound).
pub const ARCHIVE_BLOCKS_MAX: u64 = 1_000_000;

/// Meta key: blocks at heights `1..below` are archived (u64 big-endian); absent if none are.
const ARCHIVED_BELOW_KEY: &[u8] = b"archive/below";
/// Meta key prefix of a segment record: + the segment's first height (u64 big-endian).
const SEGMENT_KEY_PREFIX: &[u8] = b"archive/segment/";
/// Meta key prefix of an archived block's pointer: + its height (u64 big-endian).
const POINTER_KEY_PREFIX: &[u8] = b"archive/block/";
/// Encoded pointer: segment first height, offset of the block bytes, their length, SHA-256.
const ARCHIVE_POINTER_LEN: usize = 8 + 8 + 4 + 32;
/// Encoded segment record: last height, file size, SHA-256 of the whole file.
const SEGMENT_RECORD_LEN: usize = 8 + 8 + 32;

/// One segment file of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSegment {
    /// First height it holds.
    pub first: u64,
    /// Last height it holds.
    pub last: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of the whole file.
    pub sha256: Hash,
}

impl ArchiveSegment {
    /// The segment's file name in the archive directory (heights zero-padded, so names sort by
    /// height).
    pub fn file_name(&self) -> String {
        segment_file_name(self.first, self.last)
    }

    fn encode(&self) -> [u8; SEGMENT_RECORD_LEN] {
        let mut bytes = [0u8; SEGMENT_RECORD_LEN];
        bytes[..8].copy_from_slice(&self.last.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.bytes.to_be_bytes());
        bytes[16..].copy_from_slice(&self.sha256);
        bytes
    }

    fn decode(first: u64, bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() != SEGMENT_RECORD_LEN {
            return Err(LedgerError::corruption(
                format!("archive segment record at height {first}"),
                format!("{} bytes, want {SEGMENT_RECORD_LEN}", bytes.len()),
            ));
        }
        Ok(ArchiveSegment {
            first,
            last: u64_at(bytes, 0),
            bytes: u64_at(bytes, 8),
            sha256: hash_at(bytes, 16),
        })
    }
}

fn segment_file_name(first: u64, last: u64) -> String {
    format!("blocks-{first:012}-{last:012}.vseg")
}

/// What one archive call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveOutcome {
    /// First height archived by this call.
    pub from: u64,
    /// Blocks below this height are now archived (excluding genesis).
    pub below: u64,
    /// Bytes of block data moved out of RocksDB.
    pub block_bytes: u64,
    /// The segments written.
    pub segments: Vec<ArchiveSegment>,
}

/// Where an archived block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BlockPointer {
    segment_first: u64,
    offset: u64,
    len: u32,
    sha256: Hash,
}

impl BlockPointer {
    fn encode(&self) -> [u8; ARCHIVE_POINTER_LEN] {
        let mut bytes = [0u8; ARCHIVE_POINTER_LEN];
        bytes[..8].copy_from_slice(&self.segment_first.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.offset.to_be_bytes());
        bytes[16..20].copy_from_slice(&self.len.to_be_bytes());
        bytes[20..].copy_from_slice(&self.sha256);
        bytes
    }

    fn decode(height: u64, bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() != ARCHIVE_POINTER_LEN {
            return Err(LedgerError::corruption(
                format!("archive pointer of block {height}"),
                format!("{} bytes, want {ARCHIVE_POINTER_LEN}", bytes.len()),
            ));
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[16..20]);
        Ok(BlockPointer {
            segment_first: u64_at(bytes, 0),
            offset: u64_at(bytes, 8),
            len: u32::from_be_bytes(len),
            sha256: hash_at(bytes, 20),
        })
    }
}

fn keyed(prefix: &[u8], height: u64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

/// A segment being written: a temporary file, renamed into place when finished.
struct SegmentWriter {
    first: u64,
    last: u64,
    temporary: PathBuf,
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl SegmentWriter {
    fn begin(dir: &Path, first: u64) -> Result<Self, LedgerError> {
        let temporary = dir.join(format!("{}.partial", segment_file_name(first, first)));
        let file = File::create(&temporary).map_err(archive_io(&temporary, "creating"))?;
        let mut writer = SegmentWriter {
            first,
            last: first,
            temporary,
            file: BufWriter::new(file),
            hasher: Sha256::new(),
            bytes: 0,
        };
        writer.write(SEGMENT_MAGIC)?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LedgerError> {
        self.file
            .write_all(bytes)
            .map_err(archive_io(&self.temporary, "writing"))?;
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Appends block `height`; returns where its bytes start.
    fn append(
        &mut self,
        height: u64,
        block: &[u8],
        certificate: Option<&[u8]>,
    ) -> Result<u64, LedgerError> {
        let block_len = u32::try_from(block.len()).map_err(|_| {
            LedgerError::corruption(
                format!("block {height}"),
                format!("{} bytes, more than a segment record holds", block.len()),
            )
        })?;
        let certificate = certificate.unwrap_or_default();
        // Certificates are bounded by CERTIFICATE_BYTES_MAX, far below u32::MAX.
        let certificate_len = u32::try_from(certificate.len()).expect("certificate length fits");
        self.write(&height.to_be_bytes())?;
        self.write(&block_len.to_be_bytes())?;
        let offset = self.bytes;
        self.write(block)?;
        self.write(&certificate_len.to_be_bytes())?;
        self.write(certificate)?;
        self.last = height;
        Ok(offset)
    }

    /// Syncs the file and renames it to its final name.
    fn finish(self, dir: &Path) -> Result<ArchiveSegment, LedgerError> {
        let file = self
            .file
            .into_inner()
            .map_err(|error| archive_io(&self.temporary, "flushing")(error.into_error()))?;
        file.sync_all()
            .map_err(archive_io(&self.temporary, "syncing"))?;
        let segment = ArchiveSegment {
            first: self.first,
            last: self.last,
            bytes: self.bytes,
            sha256: self.hasher.finalize().into(),
        };
        let path = dir.join(segment.file_name());
        std::fs::rename(&self.temporary, &path).map_err(archive_io(&path, "renaming into"))?;
        Ok(segment)
    }
}

fn archive_io(path: &Path, doing: &'static str) -> impl FnOnce(std::io::Error) -> LedgerError {
    let path = path.display().to_string();
    move |error| LedgerError::Storage {
        what: format!("{doing} archive segment {path}"),
        source: Box::new(error),
    }
}

impl RocksLedger {
    /// Attaches the directory that holds (or will hold) this ledger's archive segments. Reads of
    /// archived blocks, and [`archive_blocks`](Self::archive_blocks), need it; attached once.
    pub fn attach_archive(&self, dir: PathBuf) -> Result<(), LedgerError> {
        self.archive_dir.set(dir).map_err(|dir| {
            LedgerError::corruption(
                "archive directory",
                format!("already attached; refusing to attach {} too", dir.display()),
            )
        })
    }

    /// The attached archive directory, if any.
    pub fn archive_dir(&self) -> Option<&Path> {
        self.archive_dir.get().map(PathBuf::as_path)
    }

    /// Blocks at heights `1..below` are archived; `None` if none are.
    pub fn archived_below(&self) -> Result<Option<u64>, LedgerError> {
        self.view()
            .get(CF_META, ARCHIVED_BELOW_KEY)?
            .map(|bytes| super::decode_height(&bytes, || "archived height".to_owned()))
            .transpose()
    }

    /// The `below` an archive keeping the newest `keep_recent` blocks in RocksDB passes to
    /// [`archive_blocks`](Self::archive_blocks): at most [`ARCHIVE_BLOCKS_MAX`] blocks above
    /// what is archived already (a scheduled job calls again for the rest).
    pub fn archive_below_keeping(&self, keep_recent: u64) -> Result<u64, LedgerError> {
        let head = self.head()?.map_or(0, |head| head.height);
        let from = self.archived_below()?.unwrap_or(1);
        Ok(head
            .saturating_sub(keep_recent)
            .min(from.saturating_add(ARCHIVE_BLOCKS_MAX)))
    }

    /// The segment files this ledger's archived blocks are in, lowest first.
    pub fn archive_segments(&self) -> Result<Vec<ArchiveSegment>, LedgerError> {
        let mut segments = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .view()
                .scan(CF_META, SEGMENT_KEY_PREFIX, after.as_deref(), 1024)?;
            let Some((last_key, _)) = page.last() else {
                return Ok(segments);
            };
            after = Some(last_key.clone());
            for (key, value) in &page {
                let first = super::decode_height(&key[SEGMENT_KEY_PREFIX.len()..], || {
                    "archive segment key".to_owned()
                })?;
                segments.push(ArchiveSegment::decode(first, value)?);
            }
        }
    }

    /// Moves the blocks from the lowest one not yet archived (height 1 at first) up to
    /// `below - 1` into new segment files in the attached archive directory, then, in one synced
    /// batch, replaces them in RocksDB by pointers. Commits go on meanwhile: only that last batch
    /// holds the writer lock. Refused, with nothing changed, when no directory is attached, when
    /// `below` would archive the head or nothing, when more than [`ARCHIVE_BLOCKS_MAX`] blocks
    /// would move, or when the ledger lacks some of those blocks (history not yet filled in
    /// after a snapshot).
    pub fn archive_blocks(&self, below: u64) -> Result<ArchiveOutcome, LedgerError> {
        let _archiving = self.archiving.lock().map_err(|_| {
            LedgerError::corruption("archive lock", "poisoned: an earlier archive panicked")
        })?;
        let span = tracing::info_span!("archive_blocks", below);
        let _entered = span.enter();
        let refused = |why: String| Err(LedgerError::ArchiveRefused { why });
        let Some(dir) = self.archive_dir() else {
            return refused("no archive directory is attached to this ledger".into());
        };
        let from = self.archived_below()?.unwrap_or(1);
        let Some(head) = self.head()? else {
            return refused("the ledger has no blocks yet".into());
        };
        if below > head.height {
            return refused(format!(
                "blocks below {below} include the head ({}); the head is never archived",
                head.height
            ));
        }
        if below <= from {
            return refused(format!(
                "blocks below {from} are archived already; nothing below {below} is left"
            ));
        }
        if below - from > ARCHIVE_BLOCKS_MAX {
            return refused(format!(
                "{} blocks from {from} to {below} are more than the {ARCHIVE_BLOCKS_MAX} one \
                 archive moves; archive below {} first",
                below - from,
                from + ARCHIVE_BLOCKS_MAX
            ));
        }
        if let Some(gap) = self.history_gap()? {
            if from < gap {
                return refused(format!(
                    "blocks below {gap} are not all held yet (the node started from a \
                     snapshot and is still filling in history)"
                ));
            }
        }
        std::fs::create_dir_all(dir).map_err(archive_io(dir, "creating the directory of"))?;

        let mut pointers = Vec::with_capacity((below - from) as usize);
        let mut segments = Vec::new();
        let mut block_bytes = 0u64;
        let mut writer: Option<SegmentWriter> = None;
        for height in from..below {
            let Some(block) = self.view().get(CF_BLOCKS, &height.to_be_bytes())? else {
                return Err(LedgerError::corruption(
                    format!("block {height}"),
                    "not stored, though below the head and above any history gap",
                ));
            };
            let certificate = self.certificate(height)?;
            let segment = match writer.as_mut() {
                Some(segment) => segment,
                None => writer.insert(SegmentWriter::begin(dir, height)?),
            };
            let offset = segment.append(height, &block, certificate.as_deref())?;
            pointers.push((
                height,
                BlockPointer {
                    segment_first: segment.first,
                    offset,
                    len: block.len() as u32,
                    sha256: Sha256::digest(&block).into(),
                },
            ));
            block_bytes += block.len() as u64;
            if segment.bytes >= SEGMENT_BYTES_TARGET {
                segments.push(writer.take().expect("a segment is open").finish(dir)?);
            }
        }
        if let Some(segment) = writer.take() {
            segments.push(segment.finish(dir)?);
        }
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(archive_io(dir, "syncing the directory of"))?;

        let mut batch = WriteBatch::default();
        let meta = self.cf(CF_META)?;
        let blocks = self.cf(CF_BLOCKS)?;
        for segment in &segments {
            batch.put_cf(
                meta,
                keyed(SEGMENT_KEY_PREFIX, segment.first),
                segment.encode(),
            );
        }
        for (height, pointer) in &pointers {
            batch.put_cf(meta, keyed(POINTER_KEY_PREFIX, *height), pointer.encode());
            batch.delete_cf(blocks, height.to_be_bytes());
        }
        batch.put_cf(meta, ARCHIVED_BELOW_KEY, below.to_be_bytes());
        {
            // Ordered against a snapshot install or a wipe, which rewrite what this batch names.
            let _writer = self.lock_writer_settled()?;
            if self.archived_below()?.unwrap_or(1) != from {
                return Err(LedgerError::corruption(
                    "archive",
                    "the archived range moved while this archive was written",
                ));
            }
            self.write_synced(batch, "archiving blocks")?;
        }
        // Reclaim the blocks' space now rather than at RocksDB's next compaction of them.
        self.db
            .compact_range_cf(blocks, Some(from.to_be_bytes()), Some(below.to_be_bytes()));
        tracing::info!(
            from,
            below,
            blocks = below - from,
            block_bytes,
            segments = segments.len(),
            dir = %dir.display(),
            "blocks archived"
        );
        Ok(ArchiveOutcome {
            from,
            below,
            block_bytes,
            segments,
        })
    }
}

impl super::View<'_> {
    /// The bytes of archived block `height`, read from its segment and checked against the
    /// digest its pointer records; `None` if the block is not archived.
    pub(super) fn archived_block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        let Some(pointer) = self.get(CF_META, &keyed(POINTER_KEY_PREFIX, height))? else {
            return Ok(None);
        };
        let pointer = BlockPointer::decode(height, &pointer)?;
        let segment = self
            .get(CF_META, &keyed(SEGMENT_KEY_PREFIX, pointer.segment_first))?
            .ok_or_else(|| {
                LedgerError::corruption(
                    format!("archive pointer of block {height}"),
                    format!("names segment {} with no record", pointer.segment_first),
                )
            })?;
        let segment = ArchiveSegment::decode(pointer.segment_first, &segment)?;
        let unavailable =
            |file: String, why: String| LedgerError::ArchiveUnavailable { height, file, why };
        let Some(dir) = self.ledger.archive_dir() else {
            return Err(unavailable(
                segment.file_name(),
                "no archive directory is attached".into(),
            ));
        };
        let path = dir.join(segment.file_name());
        let file = File::open(&path)
            .map_err(|error| unavailable(path.display().to_string(), error.to_string()))?;
        let mut bytes = vec![0u8; pointer.len as usize];
        file.read_exact_at(&mut bytes, pointer.offset)
            .map_err(|error| unavailable(path.display().to_string(), error.to_string()))?;
        let digest: Hash = Sha256::digest(&bytes).into();
        if digest != pointer.sha256 {
            tracing::error!(height, file = %path.display(), "an archived block does not match its digest");
            return Err(unavailable(
                path.display().to_string(),
                format!(
                    "the bytes read hash to {}, the pointer records {}: the segment is damaged \
                     or replaced",
                    Hex(&digest),
                    Hex(&pointer.sha256)
                ),
            ));
        }
        Ok(Some(bytes))
    }
}
