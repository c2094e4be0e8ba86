//! Trace (溯源): a voucher's whole lineage, from the issued voucher at its root down to every
//! piece it was split into, each with its full history of events.

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
    let missing = |id: &str| ExecError::CorruptState {
        key: format!("v/{id}"),
        what: "Voucher in a lineage",
        why: "missing".into(),
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
        let events = voucher_events(state, &voucher.id)?;
        let depth = voucher.depth;
        vouchers.push(TracedVoucher {
            voucher: Some(voucher),
            events,
            depth,
        });
    }
    Ok(Some(TraceVoucherResponse {
        voucher_id: voucher_id.to_owned(),
        root_id: root.id,
        vouchers,
        height: 0,
    }))
}
