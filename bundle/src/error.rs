//! Why a bundle does not verify ([`VerifyError`], one variant per check, each with a stable
//! machine code) and why one could not be built ([`BuildError`]).
//!
//! The codes are part of the format: docs/verification.md lists them, scripts and other
//! verifiers match on them, so a code is never renamed or reused.

use vchain_contracts::commit_certificate::{CertificateError, ValidatorsError};
use vchain_contracts::merkle::InclusionError;
use vchain_ledger::{LedgerError, ProofError};

/// Why a bundle does not prove what it claims. [`VerifyError::code`] is stable; the message
/// names what failed (height, key, voucher, transaction).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bundle is larger than a limit allows (checked before any other work).
    #[error("the bundle has {got} {what}, more than the {max} allowed")]
    TooLarge {
        /// What is counted ("bytes", "records", "transactions" ...).
        what: &'static str,
        /// How many the bundle has.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an encoded `TraceBundle`.
    #[error("the bundle does not decode: {why}")]
    Malformed {
        /// The decoder's words.
        why: String,
    },
    /// A format version this verifier does not know.
    #[error("format version {got} is not supported (this verifier reads version {supported})")]
    FormatVersion {
        /// The bundle's version.
        got: u32,
        /// The version this verifier reads.
        supported: u32,
    },
    /// The bundle, or one of its headers, is of another chain than the genesis file.
    #[error("{what} names chain {got:?}, the genesis file chain {genesis:?}")]
    ChainId {
        /// Which part ("the bundle", "header 7", "transaction at 7/0").
        what: String,
        /// The chain it names.
        got: String,
        /// The genesis file's chain id.
        genesis: String,
    },
    /// A field the format requires is absent.
    #[error("{what} is missing")]
    MissingField {
        /// Which field, where.
        what: String,
    },
    /// A repeated field is out of its canonical order or holds a duplicate.
    #[error("{what} are not in strictly ascending order at {at}")]
    Order {
        /// Which field ("records", "headers", "transactions", "validator_changes").
        what: &'static str,
        /// The element where the order breaks.
        at: String,
    },
    /// A header's certificate names another height or block.
    #[error("the certificate of header {height} names block {named_hash} at height {named_height}, but the header hashes to {block_hash}")]
    CertificateMismatch {
        /// The header's height.
        height: u64,
        /// What the header hashes to, hex.
        block_hash: String,
        /// The height the certificate names.
        named_height: u64,
        /// The block hash it names, hex.
        named_hash: String,
    },
    /// A certificate does not verify against the validators of its height.
    #[error("the certificate of block {height} does not verify against the validators of that height: {source}")]
    CertificateInvalid {
        /// The block's height.
        height: u64,
        /// Why.
        source: CertificateError,
    },
    /// The consensus nodes of a height make no validator set.
    #[error("the validators of height {height} make no validator set: {source}")]
    ValidatorSetInvalid {
        /// The first height of the set (1: genesis's).
        height: u64,
        /// Why.
        source: ValidatorsError,
    },
    /// A header needed by a transaction or validator change is not in the bundle.
    #[error("header {height} (needed by {needed_by}) is not in the bundle")]
    HeaderMissing {
        /// The height.
        height: u64,
        /// What refers to it.
        needed_by: String,
    },
    /// A header nothing in the bundle refers to.
    #[error("header {height} is not referred to by any transaction or validator change")]
    HeaderUnreferenced {
        /// Its height.
        height: u64,
    },
    /// A state proof does not verify against the tip's state root.
    #[error(
        "the state proof of {key} does not verify against the state root of block {tip}: {source}"
    )]
    StateProofInvalid {
        /// The key, printable.
        key: String,
        /// The tip's height.
        tip: u64,
        /// Why.
        source: ProofError,
    },
    /// A record that is not part of the lineage's proof.
    #[error("record {key} is not a record of the lineage of {voucher_id}")]
    RecordUnexpected {
        /// The key, printable.
        key: String,
        /// The voucher asked about.
        voucher_id: String,
    },
    /// A record the proof needs is absent.
    #[error("record {key} is missing")]
    RecordMissing {
        /// The key, printable.
        key: String,
    },
    /// A record does not decode, or says something other than its key.
    #[error("record {key} is malformed: {why}")]
    RecordMalformed {
        /// The key, printable.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// The voucher records do not form one lineage.
    #[error("voucher {voucher_id}: {why}")]
    LineageInconsistent {
        /// The voucher at fault.
        voucher_id: String,
        /// What is wrong.
        why: String,
    },
    /// The voucher asked about is not in the lineage proven.
    #[error("voucher {voucher_id} is not in the lineage the bundle proves")]
    VoucherNotInLineage {
        /// The voucher asked about.
        voucher_id: String,
    },
    /// A voucher's proven event count is not the number of its events in the bundle.
    #[error(
        "voucher {voucher_id} has {proven} events by its proven count, the bundle gives {given}"
    )]
    EventCountMismatch {
        /// The voucher.
        voucher_id: String,
        /// The count proven under `ec/{id}`.
        proven: u64,
        /// Distinct events under `e/{id}/` in the bundle.
        given: usize,
    },
    /// An event does not agree with its key or its voucher.
    #[error("event {key}: {why}")]
    EventInconsistent {
        /// The event's key, printable.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// An event names a transaction the bundle does not carry.
    #[error(
        "event {key} names transaction {tx_hash} at {height}/{index}, which is not in the bundle"
    )]
    TransactionMissing {
        /// The event's key, printable.
        key: String,
        /// The transaction hash, hex.
        tx_hash: String,
        /// The block height.
        height: u64,
        /// The transaction index.
        index: u32,
    },
    /// A transaction no event names.
    #[error("transaction at {height}/{index} is not named by any event")]
    TransactionUnreferenced {
        /// Its block height.
        height: u64,
        /// Its index.
        index: u32,
    },
    /// A transaction is not what the events naming it say.
    #[error("transaction at {height}/{index}: {why}")]
    TransactionMismatch {
        /// Its block height.
        height: u64,
        /// Its index.
        index: u32,
        /// What is wrong.
        why: String,
    },
    /// A transaction's signature does not verify under the chain's signature rule.
    #[error("the signature of transaction {tx_hash} at {height}/{index} does not verify")]
    SignatureInvalid {
        /// Its block height.
        height: u64,
        /// Its index.
        index: u32,
        /// Its hash, hex.
        tx_hash: String,
    },
    /// An audit path does not place a transaction or result in its block's root.
    #[error("the {what} at {height}/{index} is not in block {height}'s {root}: {source}")]
    InclusionInvalid {
        /// "transaction" or "result".
        what: &'static str,
        /// The root ("tx_root", "result_root").
        root: &'static str,
        /// The block height.
        height: u64,
        /// The index.
        index: u32,
        /// Why.
        source: InclusionError,
    },
    /// A validator change is not a change, or cannot apply to the set before it.
    #[error("validator change at {height}/{index}: {why}")]
    ValidatorChangeInvalid {
        /// Its block height.
        height: u64,
        /// Its transaction index.
        index: u32,
        /// What is wrong.
        why: String,
    },
    /// The validator changes given are not the ones the tip's consensus record lists.
    #[error("the consensus record at the tip lists validator changes at heights {proven:?}, the bundle gives {given:?}")]
    ValidatorChangesIncomplete {
        /// `change_heights` as proven at the tip.
        proven: Vec<u64>,
        /// The distinct heights of `validator_changes`.
        given: Vec<u64>,
    },
    /// The consensus record at the tip is not the set the walk from genesis arrives at.
    #[error("the consensus record proven at the tip is not the walk from genesis: {why}")]
    ConsensusMismatch {
        /// What differs.
        why: String,
    },
}

impl VerifyError {
    /// The stable machine code of the check that failed (docs/verification.md lists them).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "bundle-too-large",
            Self::Malformed { .. } => "bundle-malformed",
            Self::FormatVersion { .. } => "format-version-unsupported",
            Self::ChainId { .. } => "chain-id-mismatch",
            Self::MissingField { .. } => "field-missing",
            Self::Order { .. } => "order-not-canonical",
            Self::CertificateMismatch { .. } => "certificate-names-other-block",
            Self::CertificateInvalid { .. } => "certificate-invalid",
            Self::ValidatorSetInvalid { .. } => "validator-set-invalid",
            Self::HeaderMissing { .. } => "header-missing",
            Self::HeaderUnreferenced { .. } => "header-unreferenced",
            Self::StateProofInvalid { .. } => "state-proof-invalid",
            Self::RecordUnexpected { .. } => "record-unexpected",
            Self::RecordMissing { .. } => "record-missing",
            Self::RecordMalformed { .. } => "record-malformed",
            Self::LineageInconsistent { .. } => "lineage-inconsistent",
            Self::VoucherNotInLineage { .. } => "voucher-not-in-lineage",
            Self::EventCountMismatch { .. } => "event-count-mismatch",
            Self::EventInconsistent { .. } => "event-inconsistent",
            Self::TransactionMissing { .. } => "transaction-missing",
            Self::TransactionUnreferenced { .. } => "transaction-unreferenced",
            Self::TransactionMismatch { .. } => "transaction-mismatch",
            Self::SignatureInvalid { .. } => "signature-invalid",
            Self::InclusionInvalid { .. } => "inclusion-proof-invalid",
            Self::ValidatorChangeInvalid { .. } => "validator-change-invalid",
            Self::ValidatorChangesIncomplete { .. } => "validator-changes-incomplete",
            Self::ConsensusMismatch { .. } => "consensus-config-mismatch",
        }
    }

    /// Every code [`code`](Self::code) can return, in the order of the checks that give them.
    pub const CODES: [&'static str; 27] = [
        "bundle-too-large",
        "bundle-malformed",
        "format-version-unsupported",
        "chain-id-mismatch",
        "field-missing",
        "order-not-canonical",
        "validator-set-invalid",
        "header-missing",
        "validator-change-invalid",
        "inclusion-proof-invalid",
        "certificate-names-other-block",
        "certificate-invalid",
        "state-proof-invalid",
        "record-unexpected",
        "record-missing",
        "record-malformed",
        "validator-changes-incomplete",
        "consensus-config-mismatch",
        "lineage-inconsistent",
        "voucher-not-in-lineage",
        "event-inconsistent",
        "event-count-mismatch",
        "transaction-missing",
        "transaction-unreferenced",
        "transaction-mismatch",
        "signature-invalid",
        "header-unreferenced",
    ];
}

/// Why a bundle could not be built from a node's view.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No voucher with that id.
    #[error("voucher {0} does not exist")]
    UnknownVoucher(String),
    /// The lineage is larger than a bundle may be.
    #[error("the lineage has more {what} than a bundle holds ({max})")]
    TooLarge {
        /// What overflows.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A block the bundle needs is not stored on this node (history not filled in yet).
    #[error("block {0} is not stored on this node")]
    MissingBlock(u64),
    /// A block the bundle needs has no commit certificate on this node.
    #[error("block {0} has no commit certificate on this node")]
    Uncertified(u64),
    /// The node's state or blocks contradict each other (or the view moved while building).
    #[error("inconsistent ledger: {0}")]
    Inconsistent(String),
    /// Reading the ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The contracts could not read the lineage.
    #[error(transparent)]
    Contracts(#[from] vchain_contracts::ExecError),
}

impl BuildError {
    /// A stable machine code for the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownVoucher(_) => "voucher-not-found",
            Self::TooLarge { .. } => "bundle-too-large",
            Self::MissingBlock(_) => "block-not-stored",
            Self::Uncertified(_) => "block-uncertified",
            Self::Inconsistent(_) => "ledger-inconsistent",
            Self::Ledger(_) => "ledger-error",
            Self::Contracts(_) => "state-error",
        }
    }
}
