//! The two ways a transaction can fail.
//!
//! A [`Rejection`] is the contract saying no: the transaction is recorded in its block with the
//! [`ErrorCode`] naming the rule and a message saying why, and changes nothing. An [`ExecError`]
//! is the node's storage failing or its state being unreadable: that is not the transaction's
//! fault, so execution stops and the node must not commit the block.

use vchain_ledger::LedgerError;
use vchain_proto::v1::ErrorCode;

/// A transaction rejected by a rule. `code` names the rule; `message` says what failed and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str_name())]
pub struct Rejection {
    /// The rule that failed.
    pub code: ErrorCode,
    /// Human-readable detail, naming the values involved.
    pub message: String,
}

impl Rejection {
    /// A rejection with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert!(code != ErrorCode::Ok, "a rejection needs a failing code");
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for `Err(Rejection::new(code, message))` inside operations.
pub(crate) fn reject<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Rejected(Rejection::new(code, message)))
}

/// Execution could not continue: storage failed or the state holds bytes that do not decode.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Reading the committed state failed.
    #[error("state read failed: {0}")]
    Storage(#[from] LedgerError),
    /// A stored value did not decode as the message its key promises.
    #[error("state is corrupt: key {key} does not decode as {what}: {why}")]
    CorruptState {
        /// The key, printable.
        key: String,
        /// The message type expected.
        what: &'static str,
        /// The decoder's complaint.
        why: String,
    },
    /// The genesis state was never written, so there are no parameters to execute with.
    #[error("state has no {0}: genesis was not applied")]
    MissingGenesis(&'static str),
    /// The block must execute under a chain rules version this build does not implement (the
    /// chain activated it by governance): executing it under other rules would fork. The node
    /// checks this before it executes (`rules::block_rules`) and at start, with the activation
    /// height, and stops; execution's own check is the backstop.
    #[error(
        "this release implements chain rules up to v{implemented}; the chain activates \
         v{version} at height {height}: install a release that implements it and start the \
         node again"
    )]
    RulesUnsupported {
        /// The newest version this build implements.
        implemented: u32,
        /// The version the block needs.
        version: u32,
        /// Where the chain activates (or activated) it; the block's own height in execution's
        /// backstop check.
        height: u64,
    },
}

/// Why an operation stopped: a rule said no, or execution itself failed.
#[derive(Debug)]
pub(crate) enum Failure {
    Rejected(Rejection),
    Fatal(ExecError),
}

impl From<ExecError> for Failure {
    fn from(error: ExecError) -> Self {
        Failure::Fatal(error)
    }
}

impl From<LedgerError> for Failure {
    fn from(error: LedgerError) -> Self {
        Failure::Fatal(ExecError::Storage(error))
    }
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Failure::Rejected(rejection)
    }
}
