//! The rules chain parameters must meet, at genesis and in a `SetChainParams` proposal alike:
//! each parameter's range, the size parameters within [`crate::limits`], and the governance
//! parameters' defaults and bounds.
//!
//! Owns: [`validate_chain_params`], [`ParamsError`] and the `PROPOSAL_*` defaults and bounds.
//! Must not depend on: genesis or the operations (both use these rules), nor anything but
//! [`crate::limits`].

use vchain_proto::v1::ChainParams;

use crate::limits::{
    BLOCK_BYTES_LIMIT, BLOCK_TX_LIMIT, DESTROY_PER_BLOCK_LIMIT, LINEAGE_DEPTH_LIMIT,
    TX_BYTES_LIMIT, TX_BYTES_MIN,
};

/// The approval threshold a chain uses when its parameters leave it at 0: with at most
/// 64 members, approvals × 100 > 67 × members holds exactly when approvals are more than two
/// thirds of the members (66 would let exactly two of three pass).
pub const PROPOSAL_APPROVAL_PERCENT_DEFAULT: u32 = 67;
/// Lowest settable threshold: a proposal needs more than half of the members.
pub const PROPOSAL_APPROVAL_PERCENT_MIN: u32 = 50;
/// Highest settable threshold. With the strict "more than" rule, 100 could never pass; 99 means
/// every member for consortia of up to 100 members.
pub const PROPOSAL_APPROVAL_PERCENT_MAX: u32 = 99;
/// How long a proposal stays open when the parameters leave it at 0: seven days.
pub const PROPOSAL_TTL_MS_DEFAULT: u64 = 7 * 86_400_000;
/// Shortest proposal lifetime: one minute.
pub const PROPOSAL_TTL_MS_MIN: u64 = 60_000;
/// Longest proposal lifetime: ninety days.
pub const PROPOSAL_TTL_MS_MAX: u64 = 90 * 86_400_000;

/// Chain parameters that break a rule: the first one, naming the parameter. Displayed as
/// `params: <rule>`, the words genesis and a refused proposal both report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("params: {rule}")]
pub struct ParamsError {
    /// The rule broken, e.g. `block_tx_max must be at least 1`.
    pub rule: &'static str,
}

// The messages of `validate_chain_params` name these values.
const _: () = assert!(
    BLOCK_TX_LIMIT == 10_000
        && TX_BYTES_LIMIT == 65_536
        && TX_BYTES_MIN == 512
        && BLOCK_BYTES_LIMIT == 8_388_608
        && DESTROY_PER_BLOCK_LIMIT == 1_024
        && LINEAGE_DEPTH_LIMIT == 1_024
);

/// Checks chain parameters: the rules genesis applies, and that a `SetChainParams` proposal
/// must meet too. The error names the first parameter out of range. The size parameters are
/// bounded by [`crate::limits`], so a block the chain allows fits every node's limits.
pub fn validate_chain_params(params: &ChainParams) -> Result<(), ParamsError> {
    let percent = params.proposal_approval_percent;
    let ttl_ms = params.proposal_ttl_ms;
    let checks: [(bool, &str); 15] = [
        (
            params.max_tenor_days >= 1,
            "max_tenor_days must be at least 1",
        ),
        (
            params.min_split_amount >= 1,
            "min_split_amount must be at least 1",
        ),
        (
            params.split_fanout_max >= 2,
            "split_fanout_max must be at least 2",
        ),
        (
            (-720..=840).contains(&params.utc_offset_minutes),
            "utc_offset_minutes must be within -12h..+14h",
        ),
        (params.block_tx_max >= 1, "block_tx_max must be at least 1"),
        (
            params.block_tx_max <= BLOCK_TX_LIMIT,
            "block_tx_max must be at most 10000 (BLOCK_TX_LIMIT)",
        ),
        (
            params.tx_bytes_max >= TX_BYTES_MIN,
            "tx_bytes_max must be at least 512",
        ),
        (
            params.tx_bytes_max <= TX_BYTES_LIMIT,
            "tx_bytes_max must be at most 65536 (TX_BYTES_LIMIT)",
        ),
        (
            params.block_bytes_max >= params.tx_bytes_max,
            "block_bytes_max must hold at least one transaction",
        ),
        (
            params.block_bytes_max <= BLOCK_BYTES_LIMIT,
            "block_bytes_max must be at most 8388608 (BLOCK_BYTES_LIMIT)",
        ),
        (
            params.destroy_per_block_max >= 1,
            "destroy_per_block_max must be at least 1",
        ),
        (
            params.destroy_per_block_max <= DESTROY_PER_BLOCK_LIMIT,
            "destroy_per_block_max must be at most 1024 (DESTROY_PER_BLOCK_LIMIT)",
        ),
        (
            percent == 0
                || (PROPOSAL_APPROVAL_PERCENT_MIN..=PROPOSAL_APPROVAL_PERCENT_MAX)
                    .contains(&percent),
            "proposal_approval_percent must be within 50..=99 (or 0 for the default 67)",
        ),
        (
            ttl_ms == 0 || (PROPOSAL_TTL_MS_MIN..=PROPOSAL_TTL_MS_MAX).contains(&ttl_ms),
            "proposal_ttl_ms must be within one minute..=90 days (or 0 for the default 7 days)",
        ),
        // Which rules version may set it is the proposal's check (`ops::governance`): these
        // are the bounds any version keeps.
        (
            params.lineage_depth_max <= LINEAGE_DEPTH_LIMIT,
            "lineage_depth_max must be at most 1024 (LINEAGE_DEPTH_LIMIT), or 0 for the rules version's default",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some(&(_, rule)) => Err(ParamsError { rule }),
        None => Ok(()),
    }
}
