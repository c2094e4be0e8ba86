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
//! - 3: the state tree is stored in pages of four levels in the `tree_pages` family
//!   (`tree_pages.rs`), not one node per entry in `tree`. The migration writes the pages from the
//!   stored nodes, checks they give the same root, and empties `tree` in the step's batch.
//! - 4: a tree page may be stored compact, without the inner nodes of its upper levels that its
//!   other nodes give (`tree_pages.rs`). Nothing is rewritten: full pages stay readable and a
//!   commit stores each page it changes compact. A release that reads only format 3 would refuse
//!   a compact page as damaged, so it must refuse the ledger.
//!
//! Invariants kept here: a ledger in a newer format is refused before anything reads or writes
//! it; a migration runs one step at a time, each step's writes and its new format number in one
//! synced batch, so a crash leaves the ledger at one format or the next.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::tree_pages::{page_of, Page, StoredPage, PAGE_LEVELS};
use super::{storage, RocksLedger, CF_META, CF_TREE, CF_TREE_PAGES};
use crate::error::Hex;
use crate::tree::{Node, NodePath, DEPTH_MAX};
use crate::LedgerError;

/// The on-disk format this release writes, and the newest it reads.
pub const LEDGER_FORMAT: u32 = 4;
/// The first format that stores the state tree in pages.
pub(super) const TREE_PAGES_FORMAT: u32 = 3;
/// Pages written per batch while migrating a tree to pages (each at most
/// [`super::PAGE_BYTES_MAX`] bytes: about 16 MB a batch).
const MIGRATION_PAGES_PER_BATCH: usize = 16_384;
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
            2 => self.migrate_tree_to_pages(),
            // Format 4 only adds a form of page that commits write from now on.
            3 => Ok(WriteBatch::default()),
            other => Err(LedgerError::corruption(
                "format record",
                format!("no migration from format {other}"),
            )),
        }
    }

    /// Format 2 to 3: writes a page for every page root that holds a stored node, then checks
    /// the pages give the stored root. The pages go in unsynced batches: a crash before the
    /// format record leaves format 2, and the next start empties the pages and writes them
    /// again. The returned batch, written with the format record, empties the node family.
    fn migrate_tree_to_pages(&self) -> Result<WriteBatch, LedgerError> {
        let view = self.view();
        let legacy_root = view.legacy_tree_root()?;
        self.wipe(CF_TREE_PAGES)?;
        let pages_cf = self.cf(CF_TREE_PAGES)?;
        let mut batch = WriteBatch::default();
        let mut written = 0u64;
        let mut stored = Vec::with_capacity(super::PAGE_BYTES_MAX);
        for band in (0..=DEPTH_MAX).step_by(usize::from(PAGE_LEVELS)) {
            // Node keys sort by depth, then path: the nodes of one depth come in path order,
            // hence in page order. A page takes its nodes from four depths, read side by side.
            let mut depths = Vec::new();
            for depth in band..(band + PAGE_LEVELS).min(DEPTH_MAX + 1) {
                depths.push(self.nodes_at(depth)?.peekable());
            }
            loop {
                let mut next: Option<NodePath> = None;
                for nodes in &mut depths {
                    match nodes.peek() {
                        Some(Ok((path, _))) => {
                            let root = page_of(path).0;
                            next = Some(next.map_or(root, |n| n.min(root)));
                        }
                        Some(Err(_)) => {
                            if let Some(Err(error)) = nodes.next() {
                                return Err(error);
                            }
                        }
                        None => {}
                    }
                }
                let Some(root) = next else { break };
                let mut page = Page::default();
                for nodes in &mut depths {
                    while let Some(Ok((path, node))) = nodes.peek() {
                        let (page_root, slot) = page_of(path);
                        if page_root != root {
                            break;
                        }
                        page.set(slot, Some(*node));
                        nodes.next();
                    }
                }
                if let Some(page) = Option::<StoredPage>::from(&page) {
                    page.stored_form(&mut stored);
                    batch.put_cf(pages_cf, root.encode(), &stored);
                }
                written += 1;
                if batch.len() >= MIGRATION_PAGES_PER_BATCH {
                    self.db
                        .write(std::mem::take(&mut batch))
                        .map_err(storage("writing tree pages (format 3 migration)"))?;
                }
            }
        }
        self.db
            .write(batch)
            .map_err(storage("writing tree pages (format 3 migration)"))?;
        let paged_root = view.tree_root()?;
        if paged_root != legacy_root {
            return Err(LedgerError::corruption(
                "state tree (format 3 migration)",
                format!(
                    "the pages give root {}, the stored nodes {}",
                    Hex(&paged_root),
                    Hex(&legacy_root)
                ),
            ));
        }
        tracing::info!(pages = written, "state tree moved into pages");
        let mut empty_nodes = WriteBatch::default();
        // Node keys are a u16 depth of at most 256 then 32 bytes: all below [0x01, 0x01].
        empty_nodes.delete_range_cf(
            self.cf(CF_TREE)?,
            [0x00u8].as_slice(),
            [0x01u8, 0x01].as_slice(),
        );
        Ok(empty_nodes)
    }

    /// The format-2 nodes stored at `depth`, in path order.
    fn nodes_at(
        &self,
        depth: u16,
    ) -> Result<impl Iterator<Item = Result<(NodePath, Node), LedgerError>> + '_, LedgerError> {
        let start = depth.to_be_bytes();
        let nodes = self.cf(CF_TREE)?;
        Ok(self
            .db
            .iterator_cf(nodes, IteratorMode::From(&start, Direction::Forward))
            .map(|item| {
                let (key, value) =
                    item.map_err(storage("reading tree nodes (format 3 migration)"))?;
                let path = NodePath::decode(&key)?;
                let node = Node::decode(&value).map_err(|error| {
                    LedgerError::corruption(format!("tree node {}", Hex(&key)), error.to_string())
                })?;
                Ok((path, node))
            })
            .take_while(move |item| {
                item.as_ref()
                    .map_or(true, |(path, _)| path.depth() == depth)
            }))
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
