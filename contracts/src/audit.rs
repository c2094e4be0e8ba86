//! The permission-change audit log (§4.5.1.4) read back, a page at a time: by height range, and
//! by organisation or account.
//!
//! Owns: the query over the audit log entries (`l/{position}` in state) and their index entries
//! (`la/{account}/{position}`, `lo/{org}/{position}` in the index column family, written by
//! execution next to each entry). Who may run it is the read policy's
//! ([`crate::visibility`]: auditors and administrators), not this module's.
//!
//! Must not depend on: any I/O; the caller passes the index as a scan function, so the same code
//! serves RocksDB snapshots and test doubles.

use vchain_ledger::{Entry, LedgerError, StateReader};
use vchain_proto::v1::Event;

use crate::error::ExecError;
use crate::keys::{self, EventPosition};
use crate::state::decode;

/// Most entries one page returns.
pub const AUDIT_PAGE_MAX: usize = 1_000;
/// Most keys one page reads (index entries or log entries) before it stops and hands back a
/// token to continue from: with both an organisation and an account filter, many entries of the
/// account may concern other organisations, and a page must stay bounded all the same.
pub const AUDIT_SCAN_MAX: usize = 10_000;
const _: () = assert!(AUDIT_PAGE_MAX < AUDIT_SCAN_MAX);

/// Reads the index column family as [`StateReader::scan_prefix`] reads state: entries under a
/// prefix, strictly after a key, at most a number of them.
pub type IndexScan<'a> =
    dyn Fn(&[u8], Option<&[u8]>, usize) -> Result<Vec<Entry>, LedgerError> + 'a;

/// Which entries to return. Empty strings and zero heights mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries concerning this organisation: made by one of its accounts, naming it, or
    /// changing one of its accounts.
    pub org_id: String,
    /// Only entries naming this account, as the one changed or as the one acting.
    pub account_id: String,
    /// Lowest height, inclusive (0: from the first block).
    pub from_height: u64,
    /// Highest height, inclusive (0: to the head).
    pub to_height: u64,
    /// Continue after this entry (the previous page's `next`).
    pub after: Option<EventPosition>,
    /// Entries wanted, at most [`AUDIT_PAGE_MAX`] (0 counts as 1).
    pub page_size: usize,
}

/// One page of the audit log, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditPage {
    /// The entries with their positions in the chain.
    pub entries: Vec<(EventPosition, Event)>,
    /// Where the next page starts; `None` when the log holds no more matching entries.
    pub next: Option<EventPosition>,
}

/// A page of the audit log matching `query`. `index_scan(prefix, start_after, limit)` reads the
/// index column family as [`StateReader::scan_prefix`] reads state.
pub fn audit_log(
    state: &dyn StateReader,
    index_scan: &IndexScan<'_>,
    query: &AuditQuery,
) -> Result<AuditPage, ExecError> {
    let page_size = query.page_size.clamp(1, AUDIT_PAGE_MAX);
    // The narrowest source: an account's entries, else an organisation's, else the whole log.
    let (prefix, from_index) = if !query.account_id.is_empty() {
        (keys::audit_account_index_prefix(&query.account_id), true)
    } else if !query.org_id.is_empty() {
        (keys::audit_org_index_prefix(&query.org_id), true)
    } else {
        (keys::AUDIT_PREFIX.to_vec(), false)
    };
    // Both filters: the account's entries, kept when the organisation's index has them too.
    let check_org = !query.account_id.is_empty() && !query.org_id.is_empty();
    // A key of `prefix` and a bare height sorts before every entry at that height.
    let mut after = [prefix.as_slice(), &query.from_height.to_be_bytes()].concat();
    if let Some(position) = query.after {
        let token = [prefix.as_slice(), &position.bytes()].concat();
        after = after.max(token);
    }
    let mut page = AuditPage::default();
    let mut scanned = 0usize;
    loop {
        let chunk = (page_size + 1).min(AUDIT_SCAN_MAX - scanned);
        let entries = if from_index {
            index_scan(&prefix, Some(after.as_slice()), chunk)?
        } else {
            state.scan_prefix(&prefix, Some(after.as_slice()), chunk)?
        };
        let exhausted = entries.len() < chunk;
        for (key, value) in entries {
            scanned += 1;
            let position = key
                .get(prefix.len()..)
                .and_then(EventPosition::from_bytes)
                .ok_or_else(|| ExecError::CorruptState {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    what: "audit log key",
                    why: "does not end in an event position".into(),
                })?;
            if query.to_height != 0 && position.height > query.to_height {
                page.next = None;
                return Ok(page);
            }
            after = key;
            if check_org
                && index_scan(&keys::audit_org_index(&query.org_id, position), None, 1)?.is_empty()
            {
                continue;
            }
            if page.entries.len() == page_size {
                // One more matches: the page is full and the next one starts after its last.
                page.next = page.entries.last().map(|(p, _)| *p);
                return Ok(page);
            }
            let log_key = keys::audit_event(position);
            let value = if from_index {
                state
                    .get(&log_key)?
                    .ok_or_else(|| ExecError::CorruptState {
                        key: String::from_utf8_lossy(&log_key).into_owned(),
                        what: "audit log entry",
                        why: "an index entry names it but it is missing".into(),
                    })?
            } else {
                value
            };
            page.entries
                .push((position, decode(&log_key, &value, "Event")?));
        }
        if exhausted {
            return Ok(page);
        }
        if scanned >= AUDIT_SCAN_MAX {
            // Bounded: hand back where the scan stopped, even if this page is short.
            page.next = EventPosition::from_bytes(&after[prefix.len()..]);
            return Ok(page);
        }
    }
}
