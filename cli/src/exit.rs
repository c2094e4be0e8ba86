//! Exit codes and the errors that choose them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal or unexpected error |
//! | 2 | usage error (bad arguments; clap's default) |
//! | 3 | transaction rejected by the chain: admission or contract rule (gRPC `InvalidArgument`, `FailedPrecondition`, `PermissionDenied`, `AlreadyExists`, `OutOfRange`, `Unauthenticated`, `Aborted`), or a committed result other than OK; for `vchain verify`, a trace bundle that does not verify (the reason's code on stderr) |
//! | 4 | not found (gRPC `NotFound`) |
//! | 5 | node unreachable, unavailable, busy or too slow (connect error, a call broken off by the node's death or a reset connection, `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`, `Cancelled`) |
//! | 6 | keystore error: missing key, wrong passphrase, no passphrase available, key without account, key not bound to its account |
//! | 7 | pending: admitted but not committed within the wait (not rejected); follow it with `vchain tx wait HASH` |
//! | 8 | a commit certificate that does not verify (`vchain block get`; the block is still printed) |

use std::fmt;

use vchain_wallet::{KeystoreError, Refusal};

/// The exit-code table, appended to `vchain --help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  internal or unexpected error
  2  usage error (bad arguments)
  3  transaction rejected by the chain: admission or contract rule (gRPC InvalidArgument,
     FailedPrecondition, PermissionDenied, AlreadyExists, OutOfRange, Unauthenticated, Aborted)
     or a committed result other than OK; for `vchain verify`, a trace bundle that does not
     verify (why, with its code, on stderr)
  4  not found (gRPC NotFound)
  5  node unreachable, unavailable, busy or too slow (connect error, a call broken off by
     the node's death or a reset connection, Unavailable, DeadlineExceeded,
     ResourceExhausted, Cancelled); a transaction's outcome is then unknown: sending it
     again is safe
  6  keystore error: missing key, wrong passphrase, no passphrase available, key without
     account, key not bound to its account on chain
  7  pending: the transaction was admitted but not committed within the wait; it is not
     rejected. Follow it with `vchain tx wait HASH` (sending it again is safe too)
  8  a block's commit certificate does not verify against the validators of its height
     (`vchain block get`; the block is still printed, with why)

Errors are printed to stderr as `error: <what failed>: <why>`. With --json, stdout also gets
one JSON document {\"error\": {...}} carrying the exit code, gRPC code, message and tx hash.
Amounts are integers in minor units (fen for CNY).";

/// What a run of `vchain` ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1.
    Internal = 1,
    /// 2.
    Usage = 2,
    /// 3.
    Rejected = 3,
    /// 4.
    NotFound = 4,
    /// 5.
    Unavailable = 5,
    /// 6.
    Keystore = 6,
    /// 7.
    Pending = 7,
    /// 8.
    Unverified = 8,
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

/// The exit code a gRPC status code maps to.
pub(crate) fn exit_for_grpc(code: tonic::Code) -> Exit {
    use tonic::Code;
    match code {
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::PermissionDenied
        | Code::AlreadyExists
        | Code::OutOfRange
        | Code::Unauthenticated
        | Code::Aborted => Exit::Rejected,
        Code::NotFound => Exit::NotFound,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Cancelled => {
            Exit::Unavailable
        }
        Code::Ok | Code::Unknown | Code::Unimplemented | Code::Internal | Code::DataLoss => {
            Exit::Internal
        }
    }
}

/// A transaction that was committed with a result other than OK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxRejected {
    /// The result code name (e.g. `CREDIT_LINE_EXCEEDED`).
    pub(crate) code: String,
    /// The rule that failed.
    pub(crate) message: String,
    /// Transaction hash, hex.
    pub(crate) tx_hash: String,
    /// Block height.
    pub(crate) height: u64,
}

impl fmt::Display for TxRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (tx {}, height {})",
            self.code, self.message, self.tx_hash, self.height
        )
    }
}

impl std::error::Error for TxRejected {}

/// A transaction admitted but not committed within the wait (exit code 7): not a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxPending {
    /// Transaction hash, hex.
    pub(crate) tx_hash: String,
}

impl fmt::Display for TxPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transaction {} is pending: admitted, not yet committed (not rejected); follow it with `vchain tx wait {}`",
            self.tx_hash, self.tx_hash
        )
    }
}

impl std::error::Error for TxPending {}

/// A problem with the local key material that is not a [`KeystoreError`] (exit code 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyProblem(pub(crate) String);

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyProblem {}

/// A usage problem found after argument parsing (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code for an error: the first cause in its chain that names one.
pub(crate) fn exit_for_error(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Refusal>() {
            if e.broke_off {
                return Exit::Unavailable;
            }
            return exit_for_grpc(e.status);
        }
        if let Some(s) = cause.downcast_ref::<tonic::Status>() {
            return exit_for_grpc(s.code());
        }
        if cause.is::<TxRejected>() {
            return Exit::Rejected;
        }
        if cause.is::<TxPending>() {
            return Exit::Pending;
        }
        if cause.is::<KeystoreError>() || cause.is::<KeyProblem>() {
            return Exit::Keystore;
        }
        if cause.is::<tonic::transport::Error>() {
            return Exit::Unavailable;
        }
        if cause.is::<UsageError>() {
            return Exit::Usage;
        }
    }
    Exit::Internal
}

/// The `{"error": ...}` document printed on stdout with `--json` when a command fails.
pub(crate) fn error_json(err: &anyhow::Error) -> serde_json::Value {
    let exit = exit_for_error(err);
    let mut doc = serde_json::json!({
        "exit_code": exit.code(),
        "message": format!("{err:#}"),
    });
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Refusal>() {
            doc["grpc_code"] = format!("{:?}", e.status).into();
            if let Some(code) = e.code {
                doc["error_code"] = code.as_str_name().into();
            }
            doc["grpc_message"] = e.message.clone().into();
            if let Some(h) = &e.tx_hash {
                doc["tx_hash"] = h.clone().into();
            }
            if let Some(h) = e.height {
                // A string, as the node's metadata carries it (scripts read it so).
                doc["height"] = h.to_string().into();
            }
            break;
        }
        if let Some(e) = cause.downcast_ref::<TxPending>() {
            doc["pending"] = true.into();
            doc["tx_hash"] = e.tx_hash.clone().into();
            break;
        }
        if let Some(e) = cause.downcast_ref::<TxRejected>() {
            doc["result_code"] = e.code.clone().into();
            doc["result_message"] = e.message.clone().into();
            doc["tx_hash"] = e.tx_hash.clone().into();
            doc["height"] = e.height.into();
            break;
        }
    }
    serde_json::json!({ "error": doc })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use tonic::Code;

    #[test]
    fn grpc_codes_map_to_documented_exit_codes() {
        let table = [
            (Code::Ok, 1),
            (Code::Cancelled, 5),
            (Code::Unknown, 1),
            (Code::InvalidArgument, 3),
            (Code::DeadlineExceeded, 5),
            (Code::NotFound, 4),
            (Code::AlreadyExists, 3),
            (Code::PermissionDenied, 3),
            (Code::ResourceExhausted, 5),
            (Code::FailedPrecondition, 3),
            (Code::Aborted, 3),
            (Code::OutOfRange, 3),
            (Code::Unimplemented, 1),
            (Code::Internal, 1),
            (Code::Unavailable, 5),
            (Code::DataLoss, 1),
            (Code::Unauthenticated, 3),
        ];
        for (code, exit) in table {
            assert_eq!(exit_for_grpc(code).code(), exit, "{code:?}");
        }
    }

    #[test]
    fn errors_map_through_context() {
        let mut status = tonic::Status::failed_precondition(
            "credit line exceeded: outstanding 900 + 200 > limit 1000",
        );
        status
            .metadata_mut()
            .insert("x-vchain-tx-hash", "abcd".parse().expect("ascii"));
        let err = Err::<(), _>(Refusal::from(status))
            .context("submitting IssueVoucher")
            .expect_err("err");
        assert_eq!(exit_for_error(&err), Exit::Rejected);
        assert_eq!(
            format!("{err:#}"),
            "submitting IssueVoucher: credit line exceeded: outstanding 900 + 200 > limit 1000 \
             (gRPC FailedPrecondition, tx abcd)"
        );
        let doc = error_json(&err);
        assert_eq!(doc["error"]["exit_code"], 3);
        assert_eq!(doc["error"]["grpc_code"], "FailedPrecondition");
        assert_eq!(doc["error"]["tx_hash"], "abcd");

        let err = anyhow::Error::new(Refusal::from(tonic::Status::not_found("no voucher V9")))
            .context("get");
        assert_eq!(exit_for_error(&err), Exit::NotFound);
        // A call broken off by the node's death: tonic's Unknown with the transport error as
        // its source. Unreachable (5), not an internal error; a node's own Unknown stays 1.
        let broken = tonic::Status::from_error(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )));
        assert_eq!(broken.code(), Code::Unknown);
        let err = anyhow::Error::new(Refusal::from(broken)).context("submitting");
        assert_eq!(exit_for_error(&err), Exit::Unavailable);
        let err = anyhow::Error::new(Refusal::from(tonic::Status::unknown("from the node")));
        assert_eq!(exit_for_error(&err), Exit::Internal);
        let err =
            anyhow::Error::new(KeystoreError::WrongPassphrase("a".into())).context("unlocking");
        assert_eq!(exit_for_error(&err), Exit::Keystore);
        let err = anyhow::Error::new(KeyProblem("no account".into()));
        assert_eq!(exit_for_error(&err), Exit::Keystore);
        let err = anyhow::Error::new(UsageError("bad endpoint".into()));
        assert_eq!(exit_for_error(&err), Exit::Usage);
        let err = anyhow::anyhow!("something odd");
        assert_eq!(exit_for_error(&err), Exit::Internal);
        let rejected = TxRejected {
            code: "NOT_HOLDER".into(),
            message: "m".into(),
            tx_hash: "ab".into(),
            height: 3,
        };
        assert_eq!(
            exit_for_error(&anyhow::Error::new(rejected)),
            Exit::Rejected
        );
    }
}
