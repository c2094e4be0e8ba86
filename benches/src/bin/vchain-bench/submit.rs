//! The bench's side of the gRPC API: a lazily connecting client per endpoint, the delivery of
//! one signed transaction with resends after an unknown outcome (the rule is `retry.rs`), signed
//! reads, and the counters every transaction adds to.
//!
//! Owns: talking to the nodes. Must not depend on: the workloads (they say what to send).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ed25519_dalek::SigningKey;
use tonic::transport::Channel;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;

use crate::{acked, retry};

/// What every load task shares: the clients, the chain, the counters of the whole run.
pub(crate) struct Shared {
    /// The chain every transaction and read names.
    pub(crate) chain_id: String,
    /// Signs the bench's reads: bank A's administrator, who may read everything.
    pub(crate) auditor: SigningKey,
    /// A client per endpoint, in `--endpoints` order.
    pub(crate) clients: Vec<VchainApiClient<Channel>>,
    /// The endpoints, for messages.
    pub(crate) endpoints: Vec<String>,
    /// The endpoint that answered first at start; setup runs through it.
    pub(crate) setup_endpoint: usize,
    /// What a waited submission asks the node to wait for its commit.
    pub(crate) commit_wait: Duration,
    /// `--acked-out`, if given.
    pub(crate) acked: Option<acked::AckedLog>,
    /// Load transactions (or reads) committed OK, warm-up included.
    pub(crate) committed: AtomicU64,
    /// Committed with a rule's rejection.
    pub(crate) rejected: AtomicU64,
    /// Refused, out of attempts or time.
    pub(crate) failed: AtomicU64,
    /// Sent (first sendings), bounded by `--max-txs`.
    pub(crate) submitted: AtomicU64,
    /// Retries (sendings after the first), all transactions together.
    pub(crate) retries: AtomicU64,
    /// Transactions sent more than once.
    pub(crate) retried_transactions: AtomicU64,
}

/// Setup's waited submission through one node: pending is an error there (setup is not
/// resent; run it while the nodes are up).
pub(crate) async fn submit_wait(
    client: &mut VchainApiClient<Channel>,
    transaction: SignedTransaction,
    wait: Duration,
) -> Result<SubmitTransactionResponse, tonic::Status> {
    client
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(transaction),
            wait_for_commit: true,
            timeout_ms: wait.as_millis().try_into().unwrap_or(u32::MAX),
        })
        .await
        .and_then(|r| {
            let response = r.into_inner();
            if response.pending {
                Err(tonic::Status::deadline_exceeded(format!(
                    "still pending after {} ms",
                    wait.as_millis()
                )))
            } else {
                Ok(response)
            }
        })
}

/// How one transaction's delivery ended.
pub(crate) enum Delivery {
    /// Committed with result OK.
    Committed(SubmitTransactionResponse),
    /// Committed, rejected by a rule (the status names it).
    Rejected(tonic::Status),
    /// Refused, or out of attempts or time: why.
    Failed(String),
}

/// Retry notices printed (the rest are counted in the summary).
const RETRY_NOTICES_MAX: u64 = 20;

impl Shared {
    /// `message` as a read of `method` signed by the bench's auditor.
    pub(crate) fn read<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        vchain_wallet::read::request_now(message, &self.chain_id, method, AUDITOR, &self.auditor)
    }

    /// Records an acknowledged transaction in `--acked-out`, if given.
    pub(crate) fn record_acked(&self, hash: &[u8]) -> anyhow::Result<()> {
        match &self.acked {
            Some(log) => log.record(hash),
            None => Ok(()),
        }
    }

    /// Delivers `transaction`: submits it through `endpoint` and waits for its commit; when
    /// the outcome is unknown ([`retry::judge`]), sends the same bytes to the next endpoint
    /// (`endpoint` follows) after a backoff, at most [`retry::SUBMIT_ATTEMPTS_MAX`] times and
    /// never after `hard_stop`.
    pub(crate) async fn deliver(
        &self,
        endpoint: &mut usize,
        transaction: &SignedTransaction,
        hard_stop: Instant,
    ) -> Delivery {
        let mut backoff = retry::Backoff::new();
        let answer_wait = self.commit_wait + retry::ANSWER_MARGIN;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = hard_stop.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Delivery::Failed(format!("out of time after {} attempts", attempt - 1));
            }
            let mut client = self.clients[*endpoint].clone();
            let request = SubmitTransactionRequest {
                transaction: Some(transaction.clone()),
                wait_for_commit: true,
                timeout_ms: self.commit_wait.as_millis().try_into().unwrap_or(u32::MAX),
            };
            let wait = answer_wait.min(remaining);
            let answer = tokio::time::timeout(wait, client.submit_transaction(request))
                .await
                .unwrap_or_else(|_| {
                    Err(tonic::Status::deadline_exceeded(format!(
                        "no answer within {} ms",
                        wait.as_millis()
                    )))
                })
                .map(|response| response.into_inner());
            let verdict = retry::judge(&answer);
            let why = match (verdict, answer) {
                (retry::Verdict::Committed, Ok(response)) => return Delivery::Committed(response),
                (retry::Verdict::Rejected, Err(status)) => return Delivery::Rejected(status),
                (retry::Verdict::Refused, Err(status)) => {
                    return Delivery::Failed(format!(
                        "refused by {}: {:?}: {}",
                        self.endpoints[*endpoint],
                        status.code(),
                        status.message()
                    ))
                }
                (retry::Verdict::Resend(retry::ResendCause::Pending), _) => {
                    format!("pending after {} ms", self.commit_wait.as_millis())
                }
                (_, Err(status)) => format!("{:?}: {}", status.code(), status.message()),
                (verdict, Ok(response)) => {
                    return Delivery::Failed(format!(
                        "unexpected answer {response:?} judged {verdict:?}"
                    ))
                }
            };
            let pause = backoff.next_wait();
            if attempt >= retry::SUBMIT_ATTEMPTS_MAX {
                return Delivery::Failed(format!(
                    "{attempt} attempts, the last through {}: {why}",
                    self.endpoints[*endpoint]
                ));
            }
            if Instant::now() + pause >= hard_stop {
                return Delivery::Failed(format!(
                    "out of time after {attempt} attempts, the last through {}: {why}",
                    self.endpoints[*endpoint]
                ));
            }
            if attempt == 1 {
                self.retried_transactions.fetch_add(1, Ordering::Relaxed);
            }
            let from = *endpoint;
            *endpoint = (*endpoint + 1) % self.clients.len();
            if self.retries.fetch_add(1, Ordering::Relaxed) < RETRY_NOTICES_MAX {
                eprintln!(
                    "retry: {} from {}, sending again to {} in {} ms",
                    why,
                    self.endpoints[from],
                    self.endpoints[*endpoint],
                    pause.as_millis()
                );
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// The account whose key signs the bench's reads.
pub(crate) const AUDITOR: &str = "bank-a-admin";

pub(crate) async fn next_nonce(
    shared: &Shared,
    client: &mut VchainApiClient<Channel>,
    account: &str,
) -> anyhow::Result<u64> {
    let account = client
        .get_account(shared.read(
            GetAccountRequest {
                account_id: account.into(),
            },
            "GetAccount",
        ))
        .await?
        .into_inner()
        .account;
    Ok(account.context("account missing")?.next_nonce)
}

/// How long connecting to an endpoint may take before the call fails (and is resent).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the first status call at start may take per endpoint.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily connecting client per endpoint: a node down now is connected when it is back, and
/// a connection that broke is made again on the next call.
pub(crate) fn clients(endpoints: &[String]) -> anyhow::Result<Vec<VchainApiClient<Channel>>> {
    endpoints
        .iter()
        .map(|endpoint| {
            let channel = Channel::from_shared(endpoint.clone())
                .with_context(|| format!("endpoint {endpoint}"))?
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_lazy();
            Ok(VchainApiClient::new(channel).max_decoding_message_size(64 << 20))
        })
        .collect()
}

/// The first endpoint that answers `GetStatus`, and its answer.
pub(crate) async fn first_status(
    endpoints: &[String],
    clients: &[VchainApiClient<Channel>],
) -> anyhow::Result<(usize, GetStatusResponse)> {
    let mut errors = Vec::new();
    for (index, client) in clients.iter().enumerate() {
        let mut client = client.clone();
        match tokio::time::timeout(STATUS_TIMEOUT, client.get_status(GetStatusRequest {})).await {
            Ok(Ok(status)) => return Ok((index, status.into_inner())),
            Ok(Err(status)) => errors.push(format!("{}: {}", endpoints[index], status.message())),
            Err(_) => errors.push(format!("{}: no answer", endpoints[index])),
        }
    }
    bail!("no endpoint answers: {}", errors.join("; "))
}
