//! When the load generator sends a transaction again, and how long it waits before it does.
//!
//! A submission's answer is one of four things: committed (the node says so), rejected by a
//! rule (committed with a rejection: the status names the transaction's hash, its nonce is
//! spent), refused at admission (a bad transaction: sending it again changes nothing), or
//! unknown: the node died or was cut off mid-call (a transport error), or it answered
//! `pending` (admitted, not committed within the wait). Only the unknown ones are sent again,
//! as the *same signed bytes*, to the next endpoint: a node holding the transaction answers
//! with its status (it waits with the first sender, or gives its committed outcome), so a
//! resend can never apply it twice (its nonce is spent once).
//!
//! Owns: the pure rule [`judge`] and the bounded [`Backoff`]. Must not depend on: the network
//! (the worker loop does the sending).

use std::time::Duration;

use vchain_proto::v1::SubmitTransactionResponse;

/// Attempts per transaction, the first included, before the worker counts it failed and stops.
pub(crate) const SUBMIT_ATTEMPTS_MAX: u32 = 40;
/// Wait before the first resend; doubled per further resend up to [`RETRY_BACKOFF_MAX`].
pub(crate) const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between two attempts of one transaction.
pub(crate) const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long past the run's end a transaction already signed may still be resent: the load
/// stops at the deadline, but what it sent must be settled, not abandoned mid-failover.
pub(crate) const RETRY_GRACE: Duration = Duration::from_secs(60);
/// What a client waits for an answer beyond the node's own commit wait before it gives the
/// attempt up: a paused (SIGSTOP) node keeps its connections open and never answers.
pub(crate) const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// The metadata key a committed rejection carries (the node's `x-vchain-tx-hash`).
pub(crate) const TX_HASH_METADATA: &str = "x-vchain-tx-hash";

/// What a submission's answer means for the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Committed with result OK.
    Committed,
    /// Committed, rejected by a rule: the nonce is spent; never resend.
    Rejected,
    /// The outcome is unknown (transport error, or pending): resend the same bytes elsewhere.
    Resend(ResendCause),
    /// Refused without being committed (admission, a malformed request, a node error):
    /// resending the same bytes would be refused again.
    Refused,
}

/// Why a transaction is sent again, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResendCause {
    /// Admitted, not committed within the wait (no quorum, a leader election, a lagging node).
    Pending,
    /// The call failed on the way (node killed, restarting, paused, or connection reset).
    Transport,
}

/// The rule: what `answer` to a waited submission means. Pure, so every gRPC outcome it
/// distinguishes is pinned by a unit test.
pub(crate) fn judge(answer: &Result<SubmitTransactionResponse, tonic::Status>) -> Verdict {
    match answer {
        Ok(response) if response.committed => Verdict::Committed,
        // A waited submission answers committed or pending; anything else is not an outcome.
        Ok(_) => Verdict::Resend(ResendCause::Pending),
        Err(status) if status.metadata().get(TX_HASH_METADATA).is_some() => Verdict::Rejected,
        Err(status) => match status.code() {
            // Unavailable: connection refused, node stopping or installing a snapshot.
            // Unknown / Cancelled: a connection reset or a stream cut by the peer's death.
            // DeadlineExceeded: this client's own answer timeout (a paused node).
            tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded => Verdict::Resend(ResendCause::Transport),
            _ => Verdict::Refused,
        },
    }
}

/// Waits between the attempts of one transaction: [`RETRY_BACKOFF_MIN`], doubling, at most
/// [`RETRY_BACKOFF_MAX`].
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// A fresh backoff for a new transaction.
    pub(crate) fn new() -> Self {
        Self {
            next: RETRY_BACKOFF_MIN,
        }
    }

    /// The wait before the next resend.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(RETRY_BACKOFF_MAX);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;
    use vchain_proto::v1::TxResult;

    fn status(code: tonic::Code) -> Result<SubmitTransactionResponse, tonic::Status> {
        Err(tonic::Status::new(code, "from the test"))
    }

    #[test]
    fn a_committed_answer_is_final() {
        let answer = Ok(SubmitTransactionResponse {
            committed: true,
            height: 7,
            result: Some(TxResult::default()),
            ..Default::default()
        });
        assert_eq!(judge(&answer), Verdict::Committed);
    }

    #[test]
    fn pending_is_resent_not_failed() {
        let answer = Ok(SubmitTransactionResponse {
            pending: true,
            ..Default::default()
        });
        assert_eq!(judge(&answer), Verdict::Resend(ResendCause::Pending));
        // Neither committed nor pending is no outcome either: find out elsewhere.
        assert_eq!(
            judge(&Ok(SubmitTransactionResponse::default())),
            Verdict::Resend(ResendCause::Pending)
        );
    }

    #[test]
    fn transport_failures_are_resent() {
        for code in [
            tonic::Code::Unavailable,
            tonic::Code::Unknown,
            tonic::Code::Cancelled,
            tonic::Code::DeadlineExceeded,
        ] {
            assert_eq!(
                judge(&status(code)),
                Verdict::Resend(ResendCause::Transport),
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_committed_rejection_is_never_resent() {
        // A rule rejection names the transaction: its nonce is spent, whatever the code.
        for code in [
            tonic::Code::FailedPrecondition,
            tonic::Code::PermissionDenied,
            tonic::Code::Unavailable,
        ] {
            let mut rejected = tonic::Status::new(code, "NOT_HOLDER: not the holder");
            rejected.metadata_mut().insert(
                TX_HASH_METADATA,
                MetadataValue::from_static("00ff00ff00ff00ff00ff00ff00ff00ff"),
            );
            assert_eq!(judge(&Err(rejected)), Verdict::Rejected, "{code:?}");
        }
    }

    #[test]
    fn refusals_without_a_commit_are_not_resent() {
        // Admission refusals (bad nonce, a bad signature ...), a full mempool's neighbours,
        // a node's internal error: the same bytes would get the same answer.
        for code in [
            tonic::Code::InvalidArgument,
            tonic::Code::FailedPrecondition,
            tonic::Code::PermissionDenied,
            tonic::Code::Unauthenticated,
            tonic::Code::AlreadyExists,
            tonic::Code::NotFound,
            tonic::Code::Internal,
            tonic::Code::ResourceExhausted,
        ] {
            assert_eq!(judge(&status(code)), Verdict::Refused, "{code:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..8).map(|_| backoff.next_wait()).collect();
        assert_eq!(waits[0], RETRY_BACKOFF_MIN);
        assert_eq!(waits[1], RETRY_BACKOFF_MIN * 2);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().expect("waits"), RETRY_BACKOFF_MAX);
    }
}
