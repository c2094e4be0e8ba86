//! Chain rules versions (ADR 0016): which version of the ledger's rules a block executes under,
//! and the switch from one version to the next at a height the consortium decided.
//!
//! A chain starts on version [`RULES_VERSION_GENESIS`] and nothing about versions is stored
//! until an upgrade happens, so a chain that never upgraded has exactly the state it always had.
//! A passed `ScheduleRulesUpgrade` proposal (checked in `ops::governance`) stores the next
//! version and its activation height under [`keys::RULES_PENDING`]; the chain's own step at the
//! start of the block at that height ([`activate_due`]) makes it the active one
//! ([`keys::RULES`]), before anything else of that block executes, and says so with a
//! `RULES_UPGRADE_ACTIVATED` system event. Every rule that differs between versions asks the
//! version of the block it runs in ([`BlockRules::version`]); today that is the lineage depth
//! ([`lineage_depth_max`]).
//!
//! A genesis may start a chain on a later version (`Genesis::rules_version`, which the dev and
//! testnet tools set to [`RULES_VERSION_MAX`]): the genesis state then holds the rules record,
//! activated at height 0 by no proposal. A genesis file without it starts on version 1, so every
//! genesis file written before keeps producing the same genesis state.
//!
//! A release implements versions up to [`RULES_VERSION_MAX`]. Scheduling is deliberately not
//! bounded by it: the point of a rolling upgrade is that the old release accepts and records a
//! schedule for a version only the new one implements. Executing is: [`block_rules`] tells the
//! node which version a block needs before it executes anything, and `execute_block` refuses
//! (an [`ExecError`], never a rejection) to execute a block under a version this crate does not
//! implement.
//!
//! Owns: the version constants and bounds, reading the active and pending versions, the
//! activation step, and the version-dependent parameters. Must not depend on: the operations
//! or block execution (both use this), nor any I/O.

use vchain_ledger::StateReader;
use vchain_proto::v1::{ChainParams, ChainRules, Event, EventKind};

use crate::context::BlockContext;
use crate::error::ExecError;
use crate::keys::{self, EventPosition};
use crate::limits::LINEAGE_DEPTH_LIMIT;
use crate::state::{read_message, Overlay};

/// The rules version every chain starts on, and runs while no upgrade ever activated: the
/// rules of releases before versioning existed.
pub const RULES_VERSION_GENESIS: u32 = 1;
/// The newest rules version this release implements. Version 2: the lineage depth limit is the
/// chain parameter `lineage_depth_max` instead of the constant [`LINEAGE_DEPTH_MAX_V1`].
/// Version 3: left at 0, that parameter means [`LINEAGE_DEPTH_DEFAULT_V3`] (deep lineages are
/// normal use: a supplier paying its sub-suppliers one at a time from the same voucher deepens
/// it by one a payment).
pub const RULES_VERSION_MAX: u32 = 3;
/// Highest version a proposal may name, whatever the releases: far above any release, it only
/// keeps version arithmetic (`active + 1`) trivially in range.
pub const RULES_VERSION_LIMIT: u32 = 65_535;
/// Fewest blocks between the block that passes a `ScheduleRulesUpgrade` and its activation
/// height. Consensus would be safe with one; this is a floor against a typo, not the notice a
/// consortium should give (which is hours or days: docs/operations.md, "Upgrades"), and low
/// enough that upgrade drills and tests can cross an activation in seconds.
pub const RULES_ACTIVATION_NOTICE_MIN: u64 = 16;
/// Most blocks between the passing block and the activation height: only one upgrade can be
/// pending and none can be cancelled, so a schedule far out would block every other one. At
/// 100 blocks a second this is over a day; a quieter chain takes longer to get there.
pub const RULES_ACTIVATION_NOTICE_MAX: u64 = 10_000_000;

/// Deepest lineage under rules version 1 (and under version 2 while `lineage_depth_max` is
/// left at 0): how many times a voucher's descendants can be split in turn.
pub const LINEAGE_DEPTH_MAX_V1: u32 = 32;
/// The first rules version in which `lineage_depth_max` is a chain parameter.
pub const RULES_VERSION_LINEAGE_DEPTH_PARAM: u32 = 2;
/// The first rules version in which `lineage_depth_max` left at 0 means
/// [`LINEAGE_DEPTH_DEFAULT_V3`] rather than [`LINEAGE_DEPTH_MAX_V1`].
pub const RULES_VERSION_DEEP_LINEAGE_DEFAULT: u32 = 3;
/// Deepest lineage from rules version 3 while `lineage_depth_max` is left at 0: the deepest any
/// chain may set, which a trace and a trace bundle still hold whole (`crate::trace`,
/// `vchain_bundle::limits`). A consortium that wants less sets the parameter lower.
pub const LINEAGE_DEPTH_DEFAULT_V3: u32 = LINEAGE_DEPTH_LIMIT;

const _: () = assert!(RULES_VERSION_GENESIS >= 1 && RULES_VERSION_GENESIS <= RULES_VERSION_MAX);
const _: () = assert!(RULES_VERSION_MAX < RULES_VERSION_LIMIT);
const _: () = assert!(RULES_VERSION_LINEAGE_DEPTH_PARAM <= RULES_VERSION_MAX);
const _: () = assert!(RULES_ACTIVATION_NOTICE_MIN >= 1);
const _: () = assert!(RULES_ACTIVATION_NOTICE_MIN < RULES_ACTIVATION_NOTICE_MAX);
const _: () = assert!(LINEAGE_DEPTH_MAX_V1 <= LINEAGE_DEPTH_LIMIT);
const _: () = assert!(RULES_VERSION_LINEAGE_DEPTH_PARAM < RULES_VERSION_DEEP_LINEAGE_DEFAULT);
const _: () = assert!(RULES_VERSION_DEEP_LINEAGE_DEFAULT <= RULES_VERSION_MAX);
// The floor: at least 1,000 splits deep on a chain that sets nothing.
const _: () =
    assert!(LINEAGE_DEPTH_DEFAULT_V3 >= 1_000 && LINEAGE_DEPTH_DEFAULT_V3 <= LINEAGE_DEPTH_LIMIT);

/// The active rules: the stored record, or version [`RULES_VERSION_GENESIS`] since height 0 on
/// a chain that never upgraded.
pub fn active_rules(state: &dyn StateReader) -> Result<ChainRules, ExecError> {
    Ok(
        read_message(state, keys::RULES, "ChainRules")?.unwrap_or(ChainRules {
            version: RULES_VERSION_GENESIS,
            activation_height: 0,
            proposal_id: String::new(),
        }),
    )
}

/// The rules upgrade scheduled and not yet activated, if any.
pub fn pending_rules(state: &dyn StateReader) -> Result<Option<ChainRules>, ExecError> {
    read_message(state, keys::RULES_PENDING, "ChainRules")
}

/// Which rules a block executes under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRules {
    /// The version the whole block executes under (its own step included).
    pub version: u32,
    /// The pending upgrade this block activates, first thing, if it is the block at the
    /// activation height.
    pub activates: Option<ChainRules>,
}

/// The rules the block at `height` on top of committed `state` executes under: the pending
/// version if `height` has reached its activation height, the active one otherwise. A node
/// asks this before it executes (or proposes) a block, to stop rather than execute a version
/// it does not implement.
pub fn block_rules(state: &dyn StateReader, height: u64) -> Result<BlockRules, ExecError> {
    match pending_rules(state)? {
        Some(pending) if pending.activation_height <= height => Ok(BlockRules {
            version: pending.version,
            activates: Some(pending),
        }),
        _ => Ok(BlockRules {
            version: active_rules(state)?.version,
            activates: None,
        }),
    }
}

/// The chain's own step, first in a block: if an upgrade is due at this block's height, makes
/// it the active version, clears the pending record, and records `RULES_UPGRADE_ACTIVATED` in
/// the history of the proposal that scheduled it (system event number `event_index`). The
/// caller read `rules` with [`block_rules`] on the same state.
pub(crate) fn activate_due(
    overlay: &mut Overlay<'_>,
    context: &BlockContext,
    rules: &BlockRules,
    event_index: usize,
) -> Result<Option<Event>, ExecError> {
    let Some(pending) = &rules.activates else {
        return Ok(None);
    };
    let active = overlay
        .get_message::<ChainRules>(keys::RULES, "ChainRules")?
        .map_or(RULES_VERSION_GENESIS, |r| r.version);
    // Scheduling checked both; a stored schedule that breaks them is corruption, not a rule.
    if pending.version != active.saturating_add(1) || pending.activation_height > context.height {
        return Err(ExecError::CorruptState {
            key: "p/rules_pending".into(),
            what: "ChainRules naming the version after the active one",
            why: format!(
                "v{} at height {} on a chain at v{active}, block {}",
                pending.version, pending.activation_height, context.height
            ),
        });
    }
    let record = ChainRules {
        version: pending.version,
        activation_height: context.height,
        proposal_id: pending.proposal_id.clone(),
    };
    overlay.put_message(keys::RULES.to_vec(), &record);
    overlay.delete(keys::RULES_PENDING.to_vec());
    let event = Event {
        kind: EventKind::RulesUpgradeActivated.into(),
        height: context.height,
        time_ms: context.timestamp_ms,
        proposal_id: pending.proposal_id.clone(),
        rules_version: pending.version,
        activation_height: context.height,
        ..Event::default()
    };
    let position = EventPosition {
        height: context.height,
        tx_index: u32::MAX,
        event_index: u16::try_from(event_index).map_err(|_| ExecError::CorruptState {
            key: "p/rules_pending".into(),
            what: "a system event index within u16",
            why: format!("{event_index}"),
        })?,
    };
    if !pending.proposal_id.is_empty() {
        overlay.put_message(keys::proposal_event(&pending.proposal_id, position), &event);
    }
    overlay.commit_tx();
    // Read back what was written: the block executes under exactly this version.
    let stored: Option<ChainRules> = overlay.get_message(keys::RULES, "ChainRules")?;
    assert_eq!(
        stored.map(|r| r.version),
        Some(rules.version),
        "the activated rules version reads back"
    );
    assert!(overlay.get(keys::RULES_PENDING)?.is_none());
    Ok(Some(event))
}

/// The deepest lineage a split may make under rules `version` with `params`: the constant
/// [`LINEAGE_DEPTH_MAX_V1`] under version 1; from version 2 the parameter, 0 meaning that
/// constant under version 2 and [`LINEAGE_DEPTH_DEFAULT_V3`] from version 3.
pub fn lineage_depth_max(version: u32, params: &ChainParams) -> u32 {
    if version < RULES_VERSION_LINEAGE_DEPTH_PARAM {
        LINEAGE_DEPTH_MAX_V1
    } else if params.lineage_depth_max != 0 {
        params.lineage_depth_max
    } else {
        lineage_depth_default(version)
    }
}

/// What `lineage_depth_max` left at 0 means under rules `version`.
pub fn lineage_depth_default(version: u32) -> u32 {
    if version >= RULES_VERSION_DEEP_LINEAGE_DEFAULT {
        LINEAGE_DEPTH_DEFAULT_V3
    } else {
        LINEAGE_DEPTH_MAX_V1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lineage_depth_is_a_parameter_from_version_two_only() {
        let raised = ChainParams {
            lineage_depth_max: 1_000,
            ..ChainParams::default()
        };
        assert_eq!(lineage_depth_max(1, &raised), LINEAGE_DEPTH_MAX_V1);
        assert_eq!(lineage_depth_max(2, &raised), 1_000);
        assert_eq!(
            lineage_depth_max(2, &ChainParams::default()),
            LINEAGE_DEPTH_MAX_V1,
            "0 means the version 1 depth"
        );
        assert_eq!(lineage_depth_max(3, &raised), 1_000);
        assert_eq!(
            lineage_depth_max(3, &ChainParams::default()),
            LINEAGE_DEPTH_DEFAULT_V3,
            "from version 3, 0 means a thousand and more"
        );
        assert_eq!(lineage_depth_max(1, &ChainParams::default()), 32);
        assert_eq!(lineage_depth_default(2), 32);
        assert_eq!(lineage_depth_default(3), 1_024);
    }
}
