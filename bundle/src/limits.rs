//! The named limits of a trace bundle, checked before any work is done: a bundle past one of
//! them is refused by its size alone (`bundle-too-large`), by the builder and the verifier
//! alike. Related to the contracts' limits at compile time, so changing one cannot silently
//! make a valid lineage unbundlable or a bundle unbounded.

use vchain_contracts::limits::{LINEAGE_DEPTH_LIMIT, TX_BYTES_LIMIT};
use vchain_contracts::trace::{
    EVENTS_PER_VOUCHER_MAX as TRACE_EVENTS_PER_VOUCHER_MAX, TRACE_VOUCHERS_MAX,
};

/// Most bytes of an encoded bundle (checked before decoding).
pub const BUNDLE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most vouchers in one lineage. Below the trace's cut ([`TRACE_VOUCHERS_MAX`]), so a lineage
/// the trace would cut is refused as too large instead of bundled incomplete.
pub const VOUCHERS_MAX: usize = 4_096;
/// Most events in one voucher's history: what a trace reads per voucher.
pub const EVENTS_PER_VOUCHER_MAX: usize = TRACE_EVENTS_PER_VOUCHER_MAX;
/// Most events in a bundle, all vouchers together.
pub const EVENTS_MAX: usize = 65_536;
/// Most transactions: each is named by at least one event.
pub const TRANSACTIONS_MAX: usize = EVENTS_MAX;
/// Most validator changes from genesis to the tip.
pub const VALIDATOR_CHANGES_MAX: usize = 4_096;
/// Most certified headers besides the tip: one per transaction and per validator change.
pub const HEADERS_MAX: usize = TRANSACTIONS_MAX + VALIDATOR_CHANGES_MAX;
/// Most proven state entries: a record and a count per voucher, every event, a key binding per
/// transaction at most, `p/consensus`.
pub const RECORDS_MAX: usize = 2 * VOUCHERS_MAX + EVENTS_MAX + TRANSACTIONS_MAX + 1;
/// The only format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const _: () = assert!(VOUCHERS_MAX < TRACE_VOUCHERS_MAX);
// A lineage as deep as any rules version allows, split in two at every level (a supplier paying
// its sub-suppliers one at a time from the same voucher), 2 × depth + 1 vouchers, is bundled
// whole.
const _: () = assert!(2 * (LINEAGE_DEPTH_LIMIT as usize) < VOUCHERS_MAX);
const _: () = assert!(EVENTS_MAX >= EVENTS_PER_VOUCHER_MAX);
const _: () = assert!(TRANSACTIONS_MAX <= EVENTS_MAX);
// A bundle holds at least a few hundred of the largest transactions.
const _: () = assert!(BUNDLE_BYTES_MAX >= 256 * TX_BYTES_LIMIT as usize);
// Every count fits the u32 a verifier in another language may use for it.
const _: () = assert!(RECORDS_MAX <= u32::MAX as usize);
const _: () = assert!(HEADERS_MAX <= u32::MAX as usize);
