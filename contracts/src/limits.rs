//! Hard upper bounds of the size parameters a chain may choose, of the chain's own steps in one
//! block, and of the encoded block.
//!
//! Owns: the ceilings genesis and a `SetChainParams` proposal are checked against
//! ([`crate::chain_params::validate_chain_params`]), how many pledge lapses and proposal expiries
//! one block holds, and the largest encoded block a producer may propose. Must not depend on:
//! any other module of the crate (they all may use these bounds), the node, the network or the
//! consensus engine: they relate their own limits (proposal, network frame, sync transfer, gRPC
//! message) to these with compile-time assertions, so that any block the chain allows fits each
//! of them (see ARCHITECTURE.md, "Limits").

/// Largest `tx_bytes_max` a chain may set: one encoded `SignedTransaction`, bytes.
pub const TX_BYTES_LIMIT: u32 = 64 * 1024;
/// Smallest `tx_bytes_max`: room for a signature, a key and a small operation.
pub const TX_BYTES_MIN: u32 = 512;
/// Largest `block_bytes_max` a chain may set: the encoded transactions of one block, bytes.
pub const BLOCK_BYTES_LIMIT: u32 = 8 * 1024 * 1024;
/// Largest `block_tx_max` a chain may set: transactions in one block.
pub const BLOCK_TX_LIMIT: u32 = 10_000;
/// Largest `destroy_per_block_max` a chain may set: vouchers the chain destroys at the start of
/// one block (each adds a system event to the block).
pub const DESTROY_PER_BLOCK_LIMIT: u32 = 1_024;
/// Largest `lineage_depth_max` a chain may set (a parameter from chain rules version 2,
/// `crate::rules`): how many times a voucher's descendants can be split in turn. A trace walks
/// a lineage this deep within its own bounds (`crate::trace` relates them at compile time).
pub const LINEAGE_DEPTH_LIMIT: u32 = 1_024;
/// Most pledge registrations that lapse in one block (the chain's own step, each a system
/// event); the rest follow in the next blocks.
pub const PLEDGE_LAPSES_PER_BLOCK_MAX: usize = 256;
/// Most open proposals the chain expires in one block (the chain's own step, each a system
/// event); the rest follow in the next blocks.
pub const PROPOSAL_EXPIRY_PER_BLOCK_MAX: usize = 64;
/// Bytes of an encoded block besides its transactions' own bytes: the header, each
/// transaction's field framing, results (with their events) and the chain's system events.
/// Execution decides these, so the producer measures the sealed block and cuts fewer
/// transactions when they would not fit (`node::chain::production`, `cut_block`).
pub const BLOCK_OUTCOME_BYTES_MAX: u32 = 4 * 1024 * 1024;
/// Largest encoded `Block` a producer proposes: every transaction the parameters allow plus
/// [`BLOCK_OUTCOME_BYTES_MAX`]. The consensus proposal, the network frame, a sync transfer and
/// a gRPC answer each hold at least this much.
pub const ENCODED_BLOCK_BYTES_LIMIT: u32 = BLOCK_BYTES_LIMIT + BLOCK_OUTCOME_BYTES_MAX;

/// Bytes of protobuf framing per repeated entry of a block (field tag plus a length prefix of
/// up to four bytes for anything below 256 MiB) and of the smallest result (a 32-byte hash
/// and a code).
const PER_TX_FRAMING_BYTES: u32 = 1 + 4 + 1 + 4 + 2 + 32 + 2;
/// Upper bound of one system event (ids of at most 64 characters, a short detail).
const SYSTEM_EVENT_BYTES_MAX: u32 = 1_024;

// One transaction always fits a block, and the smallest allowed transaction is below the cap.
const _: () = assert!(TX_BYTES_MIN <= TX_BYTES_LIMIT);
const _: () = assert!(TX_BYTES_LIMIT <= BLOCK_BYTES_LIMIT);
/// Rules upgrades one block activates (the chain's own step, a system event): one pending at a
/// time.
pub const RULES_ACTIVATIONS_PER_BLOCK_MAX: usize = 1;

// The framing and minimal results of a full block, plus the chain's own steps at their
// largest (a rules activation, destructions, pledge lapses, proposal expiries), leave at least
// half of the outcome room for the transactions' events.
const _: () = assert!(
    BLOCK_TX_LIMIT as usize * PER_TX_FRAMING_BYTES as usize
        + (RULES_ACTIVATIONS_PER_BLOCK_MAX
            + DESTROY_PER_BLOCK_LIMIT as usize
            + PLEDGE_LAPSES_PER_BLOCK_MAX
            + PROPOSAL_EXPIRY_PER_BLOCK_MAX)
            * SYSTEM_EVENT_BYTES_MAX as usize
        <= BLOCK_OUTCOME_BYTES_MAX as usize / 2
);
const _: () = assert!(ENCODED_BLOCK_BYTES_LIMIT as u64 <= u32::MAX as u64);
