//! Trace (溯源): a voucher's whole lineage, from the issued voucher at its root down to every
//! piece it was split into, each with its full history of events.
//!
//! Two readings: [`trace`] walks the whole lineage at once (what a trace bundle and the
//! visibility rules need, bounded by [`TRACE_VOUCHERS_MAX`]); [`trace_page`] returns one page of
//! the same depth-first order, and costs what the page holds plus at most one walk up the
//! lineage (bounded by `LINEAGE_DEPTH_LIMIT`), not the whole lineage: a lineage a thousand
//! splits deep is read a page at a time.

use vchain_ledger::StateReader;
use vchain_proto::v1::{Event, TraceVoucherResponse, TracedVoucher, Voucher};

use crate::error::ExecError;
use crate::keys;
use crate::limits::LINEAGE_DEPTH_LIMIT;
use crate::state::{decode, read_message};

/// Most vouchers one trace returns (a lineage larger than this is cut, deepest last).
pub const TRACE_VOUCHERS_MAX: usize = 10_000;
/// Most events read per voucher.
pub const EVENTS_PER_VOUCHER_MAX: usize = 4_096;
/// Vouchers in a page of a trace when the request names no size.
pub const TRACE_PAGE_DEFAULT: usize = 256;
/// Most vouchers in a page of a trace.
pub const TRACE_PAGE_MAX: usize = 1_024;

const _: () = assert!(1 <= TRACE_PAGE_DEFAULT && TRACE_PAGE_DEFAULT <= TRACE_PAGE_MAX);
const _: () = assert!(TRACE_PAGE_MAX <= TRACE_VOUCHERS_MAX);

// The deepest lineage any rules version allows is walked whole: the climb to the root below
// is bounded by LINEAGE_DEPTH_LIMIT, and the path from the root to the traced voucher (depth
// + 1 vouchers) with a sibling at every level (a split makes at least two), 2 × depth + 1
// vouchers, fits one trace.
const _: () = assert!(2 * (LINEAGE_DEPTH_LIMIT as usize) < TRACE_VOUCHERS_MAX);

/// The history of one voucher, oldest first.
pub fn voucher_events(state: &dyn StateReader, voucher_id: &str) -> Result<Vec<Event>, ExecError> {
    state
        .scan_prefix(
            &keys::voucher_events_prefix(voucher_id),
            None,
            EVENTS_PER_VOUCHER_MAX,
        )?
        .into_iter()
        .map(|(key, value)| decode(&key, &value, "Event"))
        .collect()
}

/// `voucher` as a trace shows it: with its history and its depth.
fn traced(state: &dyn StateReader, voucher: Voucher) -> Result<TracedVoucher, ExecError> {
    let events = voucher_events(state, &voucher.id)?;
    let depth = voucher.depth;
    Ok(TracedVoucher {
        voucher: Some(voucher),
        events,
        depth,
    })
}

fn load(state: &dyn StateReader, voucher_id: &str) -> Result<Option<Voucher>, ExecError> {
    read_message(state, &keys::voucher(voucher_id), "Voucher")
}

/// Traces `voucher_id`: `None` if there is no such voucher. Read it from one consistent view of
/// the state (a snapshot), so the lineage never straddles a block.
pub fn trace(
    state: &dyn StateReader,
    voucher_id: &str,
) -> Result<Option<TraceVoucherResponse>, ExecError> {
    let Some(start) = load(state, voucher_id)? else {
        return Ok(None);
    };
    // Up to the root: at most LINEAGE_DEPTH_LIMIT parents, whichever rules made the lineage.
    let mut root = start.clone();
    for _ in 0..=LINEAGE_DEPTH_LIMIT {
        if root.parent_id.is_empty() {
            break;
        }
        let parent_id = root.parent_id.clone();
        root = load(state, &parent_id)?.ok_or_else(|| missing(&parent_id))?;
    }
    assert!(
        root.parent_id.is_empty(),
        "lineage of {voucher_id} is deeper than {LINEAGE_DEPTH_LIMIT}"
    );
    assert_eq!(
        root.id, start.root_id,
        "voucher {voucher_id} names root {} but its parents lead to {}",
        start.root_id, root.id
    );

    // Down from the root, depth first, children in split order.
    let mut vouchers = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(voucher) = stack.pop() {
        if vouchers.len() == TRACE_VOUCHERS_MAX {
            break;
        }
        for child_id in voucher.children.iter().rev() {
            stack.push(load(state, child_id)?.ok_or_else(|| missing(child_id))?);
        }
        vouchers.push(traced(state, voucher)?);
    }
    Ok(Some(TraceVoucherResponse {
        voucher_id: voucher_id.to_owned(),
        root_id: root.id,
        vouchers,
        height: 0,
        next_page_token: String::new(),
    }))
}

/// A page of a trace that cannot be read: the request was wrong, or the state is.
#[derive(Debug, thiserror::Error)]
pub enum TracePageError {
    /// The page token names no voucher of this lineage (it is the id of the last voucher of
    /// the previous page).
    #[error("page token {token:?} is not a voucher of the lineage of {voucher_id}")]
    BadPageToken {
        /// The token as given.
        token: String,
        /// The voucher being traced.
        voucher_id: String,
    },
    /// The state could not be read, or is inconsistent.
    #[error(transparent)]
    State(#[from] ExecError),
}

/// One page of the trace of `voucher_id`: at most `page_size` (1..=[`TRACE_PAGE_MAX`]) vouchers
/// of its lineage in the order [`trace`] gives them, starting after the voucher `page_token`
/// names (empty: from the root), with `next_page_token` set when more follow. `None` if there
/// is no such voucher. Reads the page's vouchers and their histories, the voucher after the
/// page, and at most one walk up the lineage per step between siblings: never the whole
/// lineage.
pub fn trace_page(
    state: &dyn StateReader,
    voucher_id: &str,
    page_token: &str,
    page_size: usize,
) -> Result<Option<TraceVoucherResponse>, TracePageError> {
    assert!(
        (1..=TRACE_PAGE_MAX).contains(&page_size),
        "a trace page holds 1..={TRACE_PAGE_MAX} vouchers, not {page_size}"
    );
    let Some(start) = load(state, voucher_id)? else {
        return Ok(None);
    };
    let root_id = lineage_root_id(&start);
    let mut next = if page_token.is_empty() {
        let root = load(state, &root_id)?.ok_or_else(|| missing(&root_id))?;
        if !root.parent_id.is_empty() {
            return Err(ExecError::CorruptState {
                key: format!("v/{voucher_id}"),
                what: "Voucher naming the issued voucher at its lineage's root",
                why: format!("its root {root_id} has a parent"),
            }
            .into());
        }
        Some(root)
    } else {
        let after = load(state, page_token)?
            .filter(|v| lineage_root_id(v) == root_id)
            .ok_or_else(|| TracePageError::BadPageToken {
                token: page_token.to_owned(),
                voucher_id: voucher_id.to_owned(),
            })?;
        next_in_lineage(state, &after)?
    };
    let mut vouchers = Vec::with_capacity(page_size.min(64));
    while let Some(voucher) = next.take() {
        if vouchers.len() == page_size {
            next = Some(voucher);
            break;
        }
        next = next_in_lineage(state, &voucher)?;
        vouchers.push(traced(state, voucher)?);
    }
    let next_page_token = match next {
        Some(_) => vouchers
            .last()
            .and_then(|t| t.voucher.as_ref())
            .map(|v| v.id.clone())
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(Some(TraceVoucherResponse {
        voucher_id: voucher_id.to_owned(),
        root_id,
        vouchers,
        height: 0,
        next_page_token,
    }))
}

/// The issued voucher at the root of `voucher`'s lineage: itself when it has no parent.
fn lineage_root_id(voucher: &Voucher) -> String {
    if voucher.parent_id.is_empty() {
        voucher.id.clone()
    } else {
        voucher.root_id.clone()
    }
}

fn missing(id: &str) -> ExecError {
    ExecError::CorruptState {
        key: format!("v/{id}"),
        what: "Voucher in a lineage",
        why: "missing".into(),
    }
}

/// The voucher after `voucher` in the lineage's depth-first order (children in split order):
/// its first piece, else the next piece of the nearest voucher above it that has one. The walk
/// up is bounded by the deepest lineage any rules version allows.
fn next_in_lineage(
    state: &dyn StateReader,
    voucher: &Voucher,
) -> Result<Option<Voucher>, ExecError> {
    if let Some(first) = voucher.children.first() {
        return Ok(Some(load(state, first)?.ok_or_else(|| missing(first))?));
    }
    let mut piece_id = voucher.id.clone();
    let mut parent_id = voucher.parent_id.clone();
    for _ in 0..=LINEAGE_DEPTH_LIMIT {
        if parent_id.is_empty() {
            return Ok(None);
        }
        let parent = load(state, &parent_id)?.ok_or_else(|| missing(&parent_id))?;
        let position = parent
            .children
            .iter()
            .position(|c| *c == piece_id)
            .ok_or_else(|| ExecError::CorruptState {
                key: format!("v/{parent_id}"),
                what: "Voucher listing each piece split from it",
                why: format!("{piece_id} names it as its parent but is not listed"),
            })?;
        if let Some(sibling) = parent.children.get(position + 1) {
            return Ok(Some(load(state, sibling)?.ok_or_else(|| missing(sibling))?));
        }
        piece_id = parent.id;
        parent_id = parent.parent_id;
    }
    // A read, not execution: corrupt state is reported, not asserted.
    Err(ExecError::CorruptState {
        key: format!("v/{}", voucher.id),
        what: "Voucher in a lineage at most LINEAGE_DEPTH_LIMIT deep",
        why: format!("more than {LINEAGE_DEPTH_LIMIT} vouchers above it"),
    })
}

/// The page of an already-read lineage `whole` (from [`trace`], after any filtering) that
/// starts after the voucher `page_token` names (empty: the first), at most `page_size`
/// (1..=[`TRACE_PAGE_MAX`]) vouchers, with `next_page_token` set when more follow. For readers
/// whose share of a lineage depends on all of it (`crate::visibility::visible_trace`).
pub fn page_of(
    mut whole: TraceVoucherResponse,
    page_token: &str,
    page_size: usize,
) -> Result<TraceVoucherResponse, TracePageError> {
    assert!(
        (1..=TRACE_PAGE_MAX).contains(&page_size),
        "a trace page holds 1..={TRACE_PAGE_MAX} vouchers, not {page_size}"
    );
    let start = if page_token.is_empty() {
        0
    } else {
        whole
            .vouchers
            .iter()
            .position(|t| t.voucher.as_ref().is_some_and(|v| v.id == page_token))
            .map(|at| at + 1)
            .ok_or_else(|| TracePageError::BadPageToken {
                token: page_token.to_owned(),
                voucher_id: whole.voucher_id.clone(),
            })?
    };
    let end = start.saturating_add(page_size).min(whole.vouchers.len());
    whole.next_page_token = if end < whole.vouchers.len() {
        whole.vouchers[end - 1]
            .voucher
            .as_ref()
            .map(|v| v.id.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    whole.vouchers.truncate(end);
    whole.vouchers.drain(..start);
    Ok(whole)
}
