//! What went wrong talking to a node, typed so a program can act on it without reading prose.
//!
//! A node names every refusal's rule in the [`ERROR_CODE_METADATA`] entry of its answer (see
//! docs/errors.md); [`Refusal`] carries it as an [`ErrorCode`], beside the gRPC status.

use std::time::Duration;

use vchain_proto::v1::ErrorCode;
use vchain_proto::{ERROR_CODE_METADATA, HEIGHT_METADATA, TX_HASH_METADATA};

/// A node's refusal of one call, as its answer carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The gRPC status code.
    pub status: tonic::Code,
    /// The rule that refused the call, from [`ERROR_CODE_METADATA`]; `None` when the answer
    /// named none (a transport failure, or a node older than the code).
    pub code: Option<ErrorCode>,
    /// The node's message: what failed and why.
    pub message: String,
    /// The transaction concerned, lowercase hex, when the node named one.
    pub tx_hash: Option<String>,
    /// The height concerned, when the node named one.
    pub height: Option<u64>,
    /// The call broke off on the way (the node died or reset the connection mid-call), so no
    /// answer came and the outcome is unknown. tonic reports this as `Unknown` with the local
    /// transport error as its source; a node's own answers carry no source.
    pub broke_off: bool,
}

impl Refusal {
    /// No answer came within `after`: DEADLINE_EXCEEDED, as gRPC reports a call's deadline.
    pub fn no_answer(after: Duration) -> Self {
        Self {
            status: tonic::Code::DeadlineExceeded,
            code: None,
            message: format!("no answer within {} s", after.as_secs()),
            tx_hash: None,
            height: None,
            broke_off: false,
        }
    }

    /// The rule code the node named, or `None`.
    pub fn code(&self) -> Option<ErrorCode> {
        self.code
    }
}

impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        let metadata = |key: &str| {
            status
                .metadata()
                .get(key)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            status: status.code(),
            code: metadata(ERROR_CODE_METADATA)
                .as_deref()
                .and_then(ErrorCode::from_str_name),
            message: status.message().to_owned(),
            tx_hash: metadata(TX_HASH_METADATA),
            height: metadata(HEIGHT_METADATA).and_then(|h| h.parse().ok()),
            broke_off: status.code() == tonic::Code::Unknown
                && std::error::Error::source(&status).is_some(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status.description())?;
        } else {
            write!(f, "{}", self.message)?;
        }
        write!(f, " (gRPC {:?}", self.status)?;
        // The code is not repeated: a node's message begins with it.
        if let Some(hash) = &self.tx_hash {
            write!(f, ", tx {hash}")?;
        }
        if let Some(height) = self.height {
            write!(f, ", height {height}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for Refusal {}

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The endpoint could not be reached.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        /// The endpoint asked for.
        endpoint: String,
        /// The transport's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The node refused the call (or it broke off: see [`Refusal::broke_off`]).
    #[error("{what}: {refusal}")]
    Refused {
        /// What the wallet was doing.
        what: String,
        /// The node's answer.
        refusal: Refusal,
    },
    /// No answer within the call timeout.
    #[error("{what}: no answer within {after:?}")]
    Timeout {
        /// What the wallet was doing.
        what: String,
        /// The timeout.
        after: Duration,
    },
    /// The transaction was committed, and a rule rejected it: nothing changed but its nonce.
    #[error(
        "transaction {tx_hash} rejected at height {height}: {}: {message}",
        code.map_or_else(|| code_number.to_string(), |c| c.as_str_name().to_owned())
    )]
    Rejected {
        /// The transaction, lowercase hex.
        tx_hash: String,
        /// The block it was committed in.
        height: u64,
        /// The rule that rejected it (`None` for a code newer than this wallet knows).
        code: Option<ErrorCode>,
        /// The rule's number, as the block records it.
        code_number: i32,
        /// The node's explanation.
        message: String,
    },
    /// The transaction was admitted but not committed before the wait ended; it may still
    /// commit. Follow it with [`crate::Client::transaction`], or send it again (not a refusal).
    #[error("transaction {tx_hash} is admitted and waits to be committed")]
    Pending {
        /// The transaction, lowercase hex.
        tx_hash: String,
    },
    /// The key does not sign for the account on this chain.
    #[error("key {public_key} is not the key bound to account {account} on chain (chain has {on_chain})")]
    KeyNotBound {
        /// The account.
        account: String,
        /// The wallet's public key, hex.
        public_key: String,
        /// The account's key on chain, hex.
        on_chain: String,
    },
    /// The node's answer lacks something every answer of its kind carries.
    #[error("the node's answer to {what} is incomplete: {missing}")]
    IncompleteAnswer {
        /// The call.
        what: String,
        /// What was missing.
        missing: &'static str,
    },
}

impl WalletError {
    /// The rule code of a refusal or rejection, if the node named one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused { refusal, .. } => refusal.code,
            Self::Rejected { code, .. } => *code,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_the_rule_code_and_transaction_from_metadata() {
        let mut status = tonic::Status::already_exists("NONCE_TAKEN: nonce 4 is taken");
        let metadata = status.metadata_mut();
        metadata.insert(ERROR_CODE_METADATA, "NONCE_TAKEN".parse().expect("ascii"));
        metadata.insert(TX_HASH_METADATA, "abcd".parse().expect("ascii"));
        metadata.insert(HEIGHT_METADATA, "12".parse().expect("ascii"));
        let refusal = Refusal::from(status);
        assert_eq!(refusal.code, Some(ErrorCode::NonceTaken));
        assert_eq!(refusal.status, tonic::Code::AlreadyExists);
        assert_eq!(refusal.tx_hash.as_deref(), Some("abcd"));
        assert_eq!(refusal.height, Some(12));
        assert!(!refusal.broke_off);
    }

    #[test]
    fn an_unknown_or_missing_code_is_none_not_a_guess() {
        let mut status = tonic::Status::invalid_argument("bad");
        status
            .metadata_mut()
            .insert(ERROR_CODE_METADATA, "NO_SUCH_RULE".parse().expect("ascii"));
        assert_eq!(Refusal::from(status).code, None);
        assert_eq!(Refusal::from(tonic::Status::internal("x")).code, None);
    }
}
