//! Load the process-level tests share: clients that wait for a starting node, signed reads,
//! and transactions of an exact size.

use std::time::{Duration, Instant};

use prost::Message as _;
use tonic::transport::Channel;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::transaction;

/// A client of `endpoint`, waiting (bounded) for a node that is still starting.
pub async fn connect(endpoint: &str) -> VchainApiClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        match Channel::from_shared(endpoint.to_owned())
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(20))
            .connect()
            .await
        {
            Ok(channel) => break channel,
            Err(error) => assert!(Instant::now() < deadline, "{endpoint} is down: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    VchainApiClient::new(channel)
        .max_decoding_message_size(vchain_node::GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(vchain_node::GRPC_MESSAGE_BYTES_MAX)
}

/// Signs reads as the regulator (an auditor who may read everything).
pub struct Auditor {
    /// The chain.
    pub chain_id: String,
    /// The regulator's key.
    pub key: ed25519_dalek::SigningKey,
}

impl Auditor {
    /// `message` as a signed read of `method`.
    pub fn read<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        vchain_wallet::read::request_now(message, &self.chain_id, method, "regulator", &self.key)
    }
}

/// The account's next nonce.
pub async fn next_nonce(
    api: &mut VchainApiClient<Channel>,
    auditor: &Auditor,
    account: &str,
) -> u64 {
    api.get_account(auditor.read(
        GetAccountRequest {
            account_id: account.into(),
        },
        "GetAccount",
    ))
    .await
    .expect("account")
    .into_inner()
    .account
    .expect("account")
    .next_nonce
}

/// A transaction of exactly `size` encoded bytes: a freeze whose reason fills it (execution
/// refuses the over-long reason, which changes nothing but the nonce; admission and blocks
/// carry the full bytes).
pub fn largest(
    chain_id: &str,
    signer: &str,
    key: &ed25519_dalek::SigningKey,
    nonce: u64,
    size: usize,
) -> SignedTransaction {
    let sign = |reason_len: usize| {
        let operation = Operation::FreezeAccount(FreezeAccount {
            account_id: "castings".into(),
            reason: "x".repeat(reason_len),
        });
        transaction::sign(&transaction::body(chain_id, signer, nonce, operation), key)
    };
    // Length prefixes grow with the reason: step down from above until it fits, then up
    // byte by byte while it still does (a prefix boundary may make `size` itself unreachable).
    let mut reason_len = size;
    let mut signed = sign(reason_len);
    while signed.encoded_len() > size {
        reason_len -= signed.encoded_len() - size;
        signed = sign(reason_len);
    }
    loop {
        let bigger = sign(reason_len + 1);
        if bigger.encoded_len() > size {
            return signed;
        }
        reason_len += 1;
        signed = bigger;
    }
}

/// A client of `endpoint` if it answers now (one attempt), its calls bounded by `call_timeout`.
pub async fn try_connect(
    endpoint: &str,
    call_timeout: Duration,
) -> Result<VchainApiClient<Channel>, String> {
    let channel = Channel::from_shared(endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_millis(500))
        .timeout(call_timeout)
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    Ok(VchainApiClient::new(channel))
}

/// Submits `signed` through `endpoint` on a new connection and waits up to `commit_wait_ms`
/// for its commit, all within `call_timeout`; a failure is the gRPC code and message (or the
/// timeout), for retry loops to log.
pub async fn submit_waiting(
    endpoint: &str,
    signed: &SignedTransaction,
    commit_wait_ms: u32,
    call_timeout: Duration,
) -> Result<SubmitTransactionResponse, String> {
    tokio::time::timeout(call_timeout, async {
        try_connect(endpoint, call_timeout)
            .await?
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(signed.clone()),
                wait_for_commit: true,
                timeout_ms: commit_wait_ms,
            })
            .await
            .map(|r| r.into_inner())
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
    })
    .await
    .unwrap_or_else(|_| Err("client timeout".into()))
}

/// Submits `transactions` as one batch and asserts every one was admitted.
pub async fn admit_all(
    api: &mut VchainApiClient<Channel>,
    transactions: Vec<SignedTransaction>,
) -> SubmitTransactionsResponse {
    let answer = api
        .submit_transactions(SubmitTransactionsRequest { transactions })
        .await
        .expect("a node answers the batch")
        .into_inner();
    assert!(
        answer.outcomes.iter().all(|o| o.admitted),
        "a transaction of the batch was refused: {:?}",
        answer.outcomes.iter().find(|o| !o.admitted)
    );
    answer
}
