//! The block context: what the proposer fixes for a block before executing it (its height and
//! chain time). With committed state and the transactions, it is all execution reads; time is
//! never the clock's.
//!
//! Owns: [`BlockContext`]. Must not depend on: any other module of the crate, so that block
//! execution, the operations and the chain's own steps all take it without depending on each
//! other.

/// What the proposer fixes for a block before executing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block being executed.
    pub height: u64,
    /// Chain time of the block, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}
