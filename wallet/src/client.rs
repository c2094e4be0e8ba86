//! A typed async client over the node's gRPC API: a [`Client`] for a node, a [`Signer`] for an
//! account's key, and a [`Wallet`] joining them with the account's nonces.
//!
//! ```no_run
//! # async fn run() -> Result<(), vchain_wallet::WalletError> {
//! use vchain_proto::v1::{transaction_body::Operation, TransferVoucher};
//! use vchain_wallet::{Client, Signer, Wallet};
//! let client = Client::connect("http://127.0.0.1:7050").await?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let mut wallet = Wallet::open(client, Signer::new("castings", key)).await?;
//! let committed = wallet
//!     .submit(Operation::TransferVoucher(TransferVoucher {
//!         voucher_id: "V000000000001".into(),
//!         to: "foundry".into(),
//!         ..Default::default()
//!     }))
//!     .await?;
//! println!("committed at height {}", committed.height);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tonic::transport::{Channel, Endpoint};
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::{
    transaction_body::Operation, Account, ErrorCode, EventEnvelope, GetAccountRequest,
    GetStatusRequest, GetStatusResponse, GetTransactionRequest, GetTransactionResponse,
    GetVoucherRequest, ListVouchersRequest, ListVouchersResponse, SignedTransaction,
    SubmitTransactionRequest, SubscribeEventsRequest, TraceVoucherRequest, TraceVoucherResponse,
    TxResult, Voucher,
};

use crate::error::{Refusal, WalletError};

/// How long one call may take before the client gives up on it, unless set otherwise. A submit
/// that waits for its commit is bounded by the node's own wait, which ends before this.
pub const CALL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Largest gRPC message the client accepts (a node's, `GRPC_MESSAGE_BYTES_MAX`, is the same).
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// A connection to one node of one chain.
#[derive(Debug, Clone)]
pub struct Client {
    api: VchainApiClient<Channel>,
    chain_id: String,
    call_timeout: Duration,
}

impl Client {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:7050`) and reads the chain's id from the
    /// node's public status.
    pub async fn connect(endpoint: impl Into<String>) -> Result<Self, WalletError> {
        let endpoint = endpoint.into();
        let connect_error = |source| WalletError::Connect {
            endpoint: endpoint.clone(),
            source,
        };
        let channel = Endpoint::from_shared(endpoint.clone())
            .map_err(connect_error)?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(connect_error)?;
        Self::with_channel(channel).await
    }

    /// A client over an existing channel (shared by many clients, or configured by the caller).
    pub async fn with_channel(channel: Channel) -> Result<Self, WalletError> {
        let api = VchainApiClient::new(channel)
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX);
        let mut client = Self {
            api,
            chain_id: String::new(),
            call_timeout: CALL_TIMEOUT_DEFAULT,
        };
        client.chain_id = client.status().await?.chain_id;
        Ok(client)
    }

    /// The same client with another per-call timeout.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The chain this node serves.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The generated gRPC client, for calls this type has no method for (sign their requests
    /// with [`Signer::read`]).
    pub fn api(&self) -> VchainApiClient<Channel> {
        self.api.clone()
    }

    /// Awaits one call within the timeout; a refusal keeps the node's rule code.
    pub async fn call<T>(
        &self,
        what: impl Into<String>,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, WalletError> {
        let what = what.into();
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(WalletError::Refused {
                what,
                refusal: Refusal::from(status),
            }),
            Err(_) => Err(WalletError::Timeout {
                what,
                after: self.call_timeout,
            }),
        }
    }

    /// The node's public status (the one unsigned read).
    pub async fn status(&self) -> Result<GetStatusResponse, WalletError> {
        let mut api = self.api();
        self.call(
            "reading the node status",
            api.get_status(GetStatusRequest {}),
        )
        .await
    }

    /// Sends a signed transaction. With `wait_for_commit` the answer comes once it is
    /// committed (or the node's wait ends: [`WalletError::Pending`]).
    pub async fn submit(
        &self,
        transaction: SignedTransaction,
        wait_for_commit: bool,
    ) -> Result<Submitted, WalletError> {
        let hash = tx_hash(&transaction.body);
        let hex = hex::encode(hash);
        let mut api = self.api();
        let response = match self
            .call(
                format!("submitting transaction {hex}"),
                api.submit_transaction(SubmitTransactionRequest {
                    transaction: Some(transaction),
                    wait_for_commit,
                    timeout_ms: 0,
                }),
            )
            .await
        {
            // A waited-for transaction a rule rejected in its block comes back as a refusal
            // naming the block's height: committed, its nonce spent.
            Err(WalletError::Refused { refusal, .. }) if refusal.height.is_some() => {
                let code_number = refusal.code.map_or(0, |code| code as i32);
                return Err(WalletError::Rejected {
                    tx_hash: hex,
                    height: refusal.height.unwrap_or_default(),
                    code: refusal.code,
                    code_number,
                    message: refusal.message,
                });
            }
            other => other?,
        };
        if wait_for_commit && response.pending {
            return Err(WalletError::Pending { tx_hash: hex });
        }
        if !response.committed {
            return Ok(Submitted::Admitted { tx_hash: hash });
        }
        let result = response.result.ok_or(WalletError::IncompleteAnswer {
            what: format!("submitting transaction {hex}"),
            missing: "the committed transaction's result",
        })?;
        if result.code != ErrorCode::Ok as i32 {
            return Err(WalletError::Rejected {
                tx_hash: hex,
                height: response.height,
                code: ErrorCode::try_from(result.code).ok(),
                code_number: result.code,
                message: result.message,
            });
        }
        Ok(Submitted::Committed(Committed {
            tx_hash: hash,
            height: response.height,
            result,
        }))
    }

    /// A committed transaction by hash, read as `reader`.
    pub async fn transaction(
        &self,
        reader: &Signer,
        tx_hash: Hash,
    ) -> Result<GetTransactionResponse, WalletError> {
        let request = reader.read(
            &self.chain_id,
            "GetTransaction",
            GetTransactionRequest {
                tx_hash: tx_hash.to_vec(),
            },
        );
        let mut api = self.api();
        self.call(
            format!("reading transaction {}", hex::encode(tx_hash)),
            api.get_transaction(request),
        )
        .await
    }
}

/// What became of a sent transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Admitted to the mempool (not waited for).
    Admitted {
        /// The transaction's hash.
        tx_hash: Hash,
    },
    /// Committed, and every rule passed.
    Committed(Committed),
}

/// A committed, accepted transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// The height of its block.
    pub height: u64,
    /// Its result: the events it caused (vouchers made, moved, ended).
    pub result: TxResult,
}

/// An account's key: signs its transactions and its reads.
#[derive(Clone)]
pub struct Signer {
    account: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Signer")
            .field("account", &self.account)
            .field(
                "public_key",
                &hex::encode(self.key.verifying_key().as_bytes()),
            )
            .finish()
    }
}

impl Signer {
    /// `key` signing for `account`.
    pub fn new(account: impl Into<String>, key: SigningKey) -> Self {
        Self {
            account: account.into(),
            key,
        }
    }

    /// The account signed for.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// `operation` as the account's transaction number `nonce` on `chain_id`, signed.
    pub fn transaction(
        &self,
        chain_id: &str,
        nonce: u64,
        operation: Operation,
    ) -> SignedTransaction {
        crate::transaction::sign(
            &crate::transaction::body(chain_id, &self.account, nonce, operation),
            &self.key,
        )
    }

    /// `message` as a read of `method` (e.g. `"GetVoucher"`) signed by the account now.
    pub fn read<T: prost::Message>(
        &self,
        chain_id: &str,
        method: &str,
        message: T,
    ) -> tonic::Request<T> {
        crate::read::request_now(message, chain_id, method, &self.account, &self.key)
    }
}

/// An account's wallet on one node: signs with the account's key and numbers its transactions.
///
/// Nonces: the chain takes an account's transactions in nonce order, each nonce once, and admits
/// a nonce at most `NONCE_WINDOW` ahead of the committed one (docs/keystore.md). The wallet
/// starts from the account's `next_nonce` on chain and counts up from it; a transaction the node
/// refuses before admitting it gives its nonce back, and a nonce refusal (`BAD_NONCE`,
/// `NONCE_TAKEN`: another wallet of the account sent meanwhile) re-reads the chain's count.
#[derive(Debug)]
pub struct Wallet {
    client: Client,
    signer: Signer,
    next_nonce: u64,
}

impl Wallet {
    /// Opens the wallet of `signer`'s account: reads the account (a read signed with the same
    /// key, so a key the chain does not bind to the account is found here) and its next nonce.
    pub async fn open(client: Client, signer: Signer) -> Result<Self, WalletError> {
        let mut wallet = Self {
            client,
            signer,
            next_nonce: 0,
        };
        let account = wallet.account(None).await?;
        if account.public_key != wallet.signer.public_key() {
            return Err(WalletError::KeyNotBound {
                account: wallet.signer.account.clone(),
                public_key: hex::encode(wallet.signer.public_key()),
                on_chain: hex::encode(&account.public_key),
            });
        }
        wallet.next_nonce = account.next_nonce;
        Ok(wallet)
    }

    /// The node connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The account's key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The nonce the next transaction gets.
    pub fn next_nonce(&self) -> u64 {
        self.next_nonce
    }

    /// Re-reads the account's next nonce from the chain (after another wallet of the same
    /// account sent transactions).
    pub async fn resync_nonce(&mut self) -> Result<u64, WalletError> {
        self.next_nonce = self.account(None).await?.next_nonce;
        Ok(self.next_nonce)
    }

    /// Signs `operation` with the next nonce and takes the nonce.
    pub fn sign(&mut self, operation: Operation) -> SignedTransaction {
        let transaction =
            self.signer
                .transaction(&self.client.chain_id, self.next_nonce, operation);
        self.next_nonce += 1;
        transaction
    }

    /// Signs `operation`, sends it and waits for its commit.
    pub async fn submit(&mut self, operation: Operation) -> Result<Committed, WalletError> {
        match self.send(operation, true).await? {
            Submitted::Committed(committed) => Ok(committed),
            // A waited-for submit answers committed, pending or refused; anything else is a
            // node that does not keep the API's contract.
            Submitted::Admitted { tx_hash } => Err(WalletError::IncompleteAnswer {
                what: format!("submitting transaction {}", hex::encode(tx_hash)),
                missing: "the commit the wallet waited for",
            }),
        }
    }

    /// Signs `operation` and sends it, waiting for its commit or not.
    pub async fn send(
        &mut self,
        operation: Operation,
        wait_for_commit: bool,
    ) -> Result<Submitted, WalletError> {
        let nonce = self.next_nonce;
        let transaction = self.sign(operation);
        match self.client.submit(transaction, wait_for_commit).await {
            Err(WalletError::Refused { what, refusal }) if !refusal.broke_off => {
                // Refused before admission (a rejection in a block is `Rejected`): the nonce
                // was not used.
                self.next_nonce = nonce;
                if matches!(
                    refusal.code,
                    Some(ErrorCode::BadNonce | ErrorCode::NonceTaken)
                ) {
                    self.resync_nonce().await?;
                }
                Err(WalletError::Refused { what, refusal })
            }
            other => other,
        }
    }

    /// `message` as a read of `method` signed by this account, for calls without a method here.
    pub fn read<T: prost::Message>(&self, method: &str, message: T) -> tonic::Request<T> {
        self.signer.read(&self.client.chain_id, method, message)
    }

    /// An account (this wallet's own with `None`).
    pub async fn account(&self, account_id: Option<&str>) -> Result<Account, WalletError> {
        let account_id = account_id.unwrap_or(&self.signer.account).to_owned();
        let what = format!("reading account {account_id}");
        let request = self.read("GetAccount", GetAccountRequest { account_id });
        let mut api = self.client.api();
        self.client
            .call(what.clone(), api.get_account(request))
            .await?
            .account
            .ok_or(WalletError::IncompleteAnswer {
                what,
                missing: "the account",
            })
    }

    /// One voucher.
    pub async fn voucher(&self, voucher_id: &str) -> Result<Voucher, WalletError> {
        let what = format!("reading voucher {voucher_id}");
        let request = self.read(
            "GetVoucher",
            GetVoucherRequest {
                voucher_id: voucher_id.to_owned(),
            },
        );
        let mut api = self.client.api();
        self.client
            .call(what.clone(), api.get_voucher(request))
            .await?
            .voucher
            .ok_or(WalletError::IncompleteAnswer {
                what,
                missing: "the voucher",
            })
    }

    /// One page of the vouchers this account holds (`live_only`: not yet ended), continuing
    /// after `page_token` (empty for the first page).
    pub async fn held_vouchers(
        &self,
        live_only: bool,
        page_token: &str,
        page_size: u32,
    ) -> Result<ListVouchersResponse, WalletError> {
        let request = self.read(
            "ListVouchers",
            ListVouchersRequest {
                owner: Some(vchain_proto::v1::list_vouchers_request::Owner::Holder(
                    self.signer.account.clone(),
                )),
                live_only,
                page_token: page_token.to_owned(),
                page_size,
            },
        );
        let mut api = self.client.api();
        self.client
            .call(
                format!("listing the vouchers {} holds", self.signer.account),
                api.list_vouchers(request),
            )
            .await
    }

    /// A voucher's whole lineage with the history of each voucher in it, read a page at a
    /// time ([`crate::trace::whole_trace`]).
    pub async fn trace(&self, voucher_id: &str) -> Result<TraceVoucherResponse, WalletError> {
        crate::trace::whole_trace(|page_token| {
            self.trace_page(voucher_id, page_token, crate::trace::TRACE_PAGE_SIZE)
        })
        .await
    }

    /// One page of a voucher's lineage: at most `page_size` vouchers (0: the node's default)
    /// after the voucher `page_token` names (empty: from the root).
    pub async fn trace_page(
        &self,
        voucher_id: &str,
        page_token: String,
        page_size: u32,
    ) -> Result<TraceVoucherResponse, WalletError> {
        let request = self.read(
            "TraceVoucher",
            TraceVoucherRequest {
                voucher_id: voucher_id.to_owned(),
                page_size,
                page_token,
            },
        );
        let mut api = self.client.api();
        self.client
            .call(
                format!("tracing voucher {voucher_id}"),
                api.trace_voucher(request),
            )
            .await
    }

    /// The events naming this account, from `from_height` (0: only new ones) as they commit.
    pub async fn follow_events(
        &self,
        from_height: u64,
    ) -> Result<tonic::Streaming<EventEnvelope>, WalletError> {
        let request = self.read(
            "SubscribeEvents",
            SubscribeEventsRequest {
                from_height,
                account_id: self.signer.account.clone(),
                voucher_id: String::new(),
            },
        );
        let mut api = self.client.api();
        self.client
            .call(
                format!("following the events of {}", self.signer.account),
                api.subscribe_events(request),
            )
            .await
    }
}
