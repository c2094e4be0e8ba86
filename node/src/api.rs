//! The gRPC API (`vchain.v1.VchainApi`, and `DevApi` on dev nodes).
//!
//! Reads go to the ledger (a RocksDB snapshot where one answer needs several reads); writes go
//! to the admission thread, awaited without holding a thread (`Chain::submit_async`, the async
//! face of [`Chain::submit`]). Every refusal is a gRPC status whose code follows the rule that
//! failed and whose message is the contract's, with the rule's name in `x-vchain-error-code`.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use tracing::{debug, warn};
use vchain_contracts::tx::Hash;
use vchain_contracts::visibility::{self, EventView, Record};
use vchain_contracts::{keys, read_message, trace, CheckError, Rejection};
use vchain_ledger::StateReader;
use vchain_proto::v1::dev_api_server::DevApi;
use vchain_proto::v1::vchain_api_server::VchainApi;
use vchain_proto::v1::*;

use crate::chain::{Chain, ChainError, SubmitError};
use crate::mempool::MempoolError;
use crate::read_access::{self, Reader};

/// Largest page of `ListProposals` and the audit log: as `ListVouchers`'.
pub(crate) const PAGE_SIZE_MAX: u32 = crate::listing::PAGE_SIZE_MAX as u32;
/// Default page of `ListProposals` and the audit log: as `ListVouchers`'.
pub(crate) const PAGE_SIZE_DEFAULT: u32 = crate::listing::PAGE_SIZE_DEFAULT as u32;
/// Events buffered per subscriber before the stream applies back-pressure.
pub(crate) const SUBSCRIBER_BUFFER: usize = 256;

/// The gRPC code for a rule failure.
pub(crate) fn grpc_code(code: ErrorCode) -> tonic::Code {
    use tonic::Code;
    use ErrorCode as E;
    match code {
        E::Ok => Code::Ok,
        // The signer's own credential does not authenticate it.
        E::BadSignature
        | E::UnknownAccount
        | E::KeyMismatch
        | E::CertificateRevoked
        | E::CertificateExpired
        | E::CertificateNotYetValid => Code::Unauthenticated,
        // A certificate in the request (registration, rotation, a CA) is refused.
        E::CertificateInvalid | E::CertificateMismatch | E::CertificateRequired => {
            Code::InvalidArgument
        }
        E::CertificateNotFound => Code::NotFound,
        E::CertificateExists => Code::AlreadyExists,
        E::WrongRole
        | E::NotSameOrganisation
        | E::NotHolder
        | E::NotIssuer
        | E::AccountFrozen
        | E::AccountCancelled
        | E::NotPledgee
        | E::BadModificationCode
        | E::IdentityInactive => Code::PermissionDenied,
        E::IdentityNotFound
        | E::AccountNotFound
        | E::VoucherNotFound
        | E::CreditLineNotFound
        | E::ConsensusNodeNotFound
        | E::ProposalNotFound
        | E::PledgeNotFound
        | E::ReceiptNotFound
        | E::DeviceNotFound
        | E::OrganisationNotFound
        | E::TransactionNotFound
        | E::BlockNotFound => Code::NotFound,
        E::IdentityExists
        | E::AccountExists
        | E::CreditLineExists
        | E::DuplicateTradeDocument
        | E::ConsensusNodeExists
        | E::OrganisationExists
        | E::ProposalAlreadyVoted => Code::AlreadyExists,
        E::ConsensusNodeLast | E::ConsensusEngineStatic | E::ConsensusNodesFull => {
            Code::FailedPrecondition
        }
        E::ProposalNotOpen
        | E::ProposalExpired
        | E::ProposalRequired
        | E::OrganisationLast
        | E::OrganisationRunsNodes
        | E::OrganisationsFull
        | E::RulesUpgradePending
        | E::RulesVersionRequired => Code::FailedPrecondition,
        E::RulesVersionInvalid | E::RulesActivationHeightInvalid => Code::InvalidArgument,
        E::InvalidProposal => Code::InvalidArgument,
        E::ArithmeticOverflow => Code::OutOfRange,
        E::Malformed
        | E::WrongChain
        | E::TooLarge
        | E::InvalidArgument
        | E::InvalidUscc
        | E::InvalidAccountId
        | E::InvalidPublicKey
        | E::InvalidAmount
        | E::InvalidCurrency
        | E::InvalidDate
        | E::MaturityNotInFuture
        | E::TenorTooLong
        | E::SplitSumMismatch
        | E::SplitBelowMinimum
        | E::SplitFanout
        | E::InvalidRecipient
        | E::CurrencyMismatch => Code::InvalidArgument,
        E::BadNonce
        | E::CreditLineExceeded
        | E::CreditLineRevoked
        | E::CreditLineBelowOutstanding
        | E::VoucherNotActive
        | E::VoucherFrozen
        | E::VoucherNotFrozen
        | E::VoucherMatured
        | E::VoucherNotMatured
        | E::AccountAlreadyFrozen
        | E::AccountNotFrozen
        | E::RedemptionNotRequested
        | E::LineageTooDeep
        | E::GracePeriodEnded
        | E::AccountHoldsVouchers
        | E::VoucherPledged
        | E::PledgeNotActive
        | E::GoodsLocked
        | E::InsufficientGoods
        | E::DeviceRevoked
        | E::ReadingReplayed
        | E::ReadingStale
        | E::CertificateAlreadyRevoked => Code::FailedPrecondition,
        E::DeviceExists | E::NonceTaken => Code::AlreadyExists,
        E::MempoolFull | E::StreamsFull => Code::ResourceExhausted,
        E::Unsupported => Code::Unimplemented,
        E::NodeUnavailable => Code::Unavailable,
        E::NodeFault => Code::Internal,
        E::StreamLagged => Code::DataLoss,
        E::ReadingSignatureInvalid => Code::Unauthenticated,
        E::ReadingMismatch => Code::InvalidArgument,
        // A signed read that does not authenticate its reader.
        E::ReadUnsigned | E::ReadMalformed | E::ReadTimeSkew => Code::Unauthenticated,
        // An authenticated reader asking for what its identity is not a party to.
        E::NotAParty => Code::PermissionDenied,
    }
}

/// A status with gRPC code `grpc` for rule `code`: the message starts with the rule's name, which
/// `x-vchain-error-code` carries too. Mostly `grpc` is [`grpc_code`]`(code)`; a refused read
/// says by its stage whether it is UNAUTHENTICATED or PERMISSION_DENIED
/// ([`crate::read_access::refusal_status`]).
pub(crate) fn coded_status(grpc: tonic::Code, code: ErrorCode, message: &str) -> Status {
    let mut status = Status::new(grpc, format!("{}: {message}", code.as_str_name()));
    if let Ok(value) = MetadataValue::try_from(code.as_str_name()) {
        status
            .metadata_mut()
            .insert(vchain_proto::ERROR_CODE_METADATA, value);
    }
    status
}

fn rule_status(
    code: ErrorCode,
    message: &str,
    tx_hash: Option<&Hash>,
    height: Option<u64>,
) -> Status {
    let mut status = coded_status(grpc_code(code), code, message);
    let metadata = status.metadata_mut();
    if let Some(hash) = tx_hash {
        if let Ok(value) = MetadataValue::try_from(hex::encode(hash)) {
            metadata.insert(vchain_proto::TX_HASH_METADATA, value);
        }
    }
    if let Some(height) = height {
        metadata.insert(vchain_proto::HEIGHT_METADATA, MetadataValue::from(height));
    }
    status
}

fn rejection_status(rejection: &Rejection) -> Status {
    rule_status(rejection.code, &rejection.message, None, None)
}

/// INVALID_ARGUMENT for a query whose arguments cannot be answered (a hash of the wrong length,
/// no owner to list by, a page token this node never handed out ...).
fn invalid_argument(message: impl std::fmt::Display) -> Status {
    refusal(ErrorCode::InvalidArgument, message)
}

/// A ledger read failed: an archived block whose segment file is missing or damaged is
/// NODE_UNAVAILABLE (another bank's node serves it, or this one once its archive directory is
/// restored); anything else is the node's fault.
pub(crate) fn ledger_read_failure(error: vchain_ledger::LedgerError) -> Status {
    match error {
        vchain_ledger::LedgerError::ArchiveUnavailable { .. } => {
            warn!(%error, "an archived block is unavailable");
            refusal(ErrorCode::NodeUnavailable, error)
        }
        error => internal(error),
    }
}

/// The node failed (storage, a task), not the request.
pub(crate) fn internal(error: impl std::fmt::Display) -> Status {
    warn!(%error, "request failed inside the node");
    refusal(ErrorCode::NodeFault, error)
}

/// A refusal of the call itself (not of a transaction's rule): `code`'s status, the code in
/// `x-vchain-error-code` and `message`.
fn refusal(code: ErrorCode, message: impl std::fmt::Display) -> Status {
    rule_status(code, &message.to_string(), None, None)
}

impl From<ChainError> for Status {
    fn from(error: ChainError) -> Self {
        match error {
            ChainError::Syncing(_) => refusal(ErrorCode::NodeUnavailable, error),
            error => internal(error),
        }
    }
}

/// The rule code of a mempool refusal (a transaction sent again is not refused).
fn mempool_code(error: &MempoolError) -> ErrorCode {
    match error {
        MempoolError::Full { .. } => ErrorCode::MempoolFull,
        MempoolError::NonceTaken { .. } | MempoolError::Duplicate(_) => ErrorCode::NonceTaken,
    }
}

fn submit_status(error: SubmitError) -> Status {
    match error {
        SubmitError::Check(CheckError::Rejected(rejection)) => rejection_status(&rejection),
        SubmitError::Check(CheckError::Fatal(error)) => internal(error),
        SubmitError::Mempool(error) => {
            rule_status(mempool_code(&error), &error.to_string(), None, None)
        }
        SubmitError::ShuttingDown => refusal(ErrorCode::NodeUnavailable, "node is shutting down"),
    }
}

fn hash_arg(bytes: &[u8], what: &str) -> Result<Hash, Status> {
    bytes
        .try_into()
        .map_err(|_| invalid_argument(format!("{what} must be 32 bytes, got {}", bytes.len())))
}

/// A query for something this node does not hold: NOT_FOUND with the rule code that says what
/// was missing, so a client can tell a missing voucher from a missing account.
fn not_found(code: ErrorCode, what: &str, id: &str) -> Status {
    debug_assert_eq!(grpc_code(code), tonic::Code::NotFound);
    rule_status(code, &format!("{what} {id:?} does not exist"), None, None)
}

/// The `VchainApi` service.
pub(crate) struct ApiService {
    chain: Arc<Chain>,
    /// One permit per running `SubscribeEvents` stream (`event_subscriptions_max` in the node
    /// config); a stream's task holds its permit until it ends.
    subscriptions: Arc<tokio::sync::Semaphore>,
}

impl ApiService {
    /// Refuses reads and writes while a snapshot installs: the state is incomplete until the
    /// install verifies its root, and must not be served.
    fn serving(&self) -> Result<(), Status> {
        if self.chain.is_syncing() {
            return Err(refusal(
                ErrorCode::NodeUnavailable,
                "this node is installing a state snapshot from its peers; ask another node or retry",
            ));
        }
        Ok(())
    }

    /// A service over `chain`.
    pub(crate) fn new(chain: Arc<Chain>) -> Self {
        let subscriptions = Arc::new(tokio::sync::Semaphore::new(
            chain.config.event_subscriptions_max,
        ));
        Self {
            chain,
            subscriptions,
        }
    }

    /// Serving, and the signed read `request` of `method` authenticates.
    fn reader<T: prost::Message>(
        &self,
        request: &Request<T>,
        method: &str,
    ) -> Result<Reader, Status> {
        self.serving()?;
        read_access::authenticate(&self.chain, request, method)
    }

    fn read<M: prost::Message + Default>(
        &self,
        key: &[u8],
        what: &'static str,
    ) -> Result<Option<M>, Status> {
        read_message(&*self.chain.ledger, key, what).map_err(internal)
    }

    /// The committed result of transaction `hash` and its height, if it is committed.
    fn committed_result(&self, hash: &Hash) -> Result<Option<(u64, TxResult)>, Status> {
        let Some(location) = self.chain.ledger.tx_location(hash).map_err(internal)? else {
            return Ok(None);
        };
        let result = self
            .block_at(location.height)?
            .and_then(|block| block.results.get(location.index as usize).cloned());
        match result {
            Some(result) => Ok(Some((location.height, self.with_message(result)?))),
            None => Ok(None),
        }
    }

    /// A committed result with its words filled in: blocks carry only the code, so the words
    /// are this node's own (its index keeps what its execution said), or the rule's name when
    /// this node did not execute the block (history fetched from peers).
    fn with_message(&self, mut result: TxResult) -> Result<TxResult, Status> {
        if result.code == ErrorCode::Ok as i32 {
            return Ok(result);
        }
        if let Ok(hash) = <[u8; 32]>::try_from(result.tx_hash.as_slice()) {
            let key = keys::rejection_message(&hash);
            let found = self
                .chain
                .ledger
                .index_scan(&key, None, 1)
                .map_err(internal)?;
            if let Some((_, words)) = found.into_iter().find(|(k, _)| *k == key) {
                result.message = String::from_utf8_lossy(&words).into_owned();
                return Ok(result);
            }
        }
        result.message = format!(
            "rejected by rule {}",
            ErrorCode::try_from(result.code).map_or("UNKNOWN", |code| code.as_str_name())
        );
        Ok(result)
    }

    fn block_at(&self, height: u64) -> Result<Option<Block>, Status> {
        self.chain.ledger.block(height).map_err(ledger_read_failure)
    }
}

/// A committed transaction's answer: the response for OK, else the rule's status (with the
/// transaction's hash and height in the metadata).
fn committed_answer(
    hash: Hash,
    height: u64,
    result: TxResult,
) -> Result<Response<SubmitTransactionResponse>, Status> {
    let code = result.code();
    if code != ErrorCode::Ok {
        return Err(rule_status(
            code,
            &result.message,
            Some(&hash),
            Some(height),
        ));
    }
    Ok(Response::new(SubmitTransactionResponse {
        tx_hash: hash.to_vec(),
        committed: true,
        height,
        result: Some(result),
        pending: false,
    }))
}

type EventStream = Pin<Box<dyn Stream<Item = Result<EventEnvelope, Status>> + Send + 'static>>;
type BundleStream = Pin<Box<dyn Stream<Item = Result<TraceBundleChunk, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl VchainApi for ApiService {
    async fn submit_transaction(
        &self,
        request: Request<SubmitTransactionRequest>,
    ) -> Result<Response<SubmitTransactionResponse>, Status> {
        self.serving()?;
        let request = request.into_inner();
        let tx = request
            .transaction
            .ok_or_else(|| refusal(ErrorCode::Malformed, "transaction is required"))?;
        let wait = request.wait_for_commit;
        let hash = vchain_contracts::tx::tx_hash(&tx.body);
        let submitted = self.chain.submit_async(tx, wait).await.map_err(internal)?;
        let (hash, receiver) = match submitted {
            Ok(admitted) => admitted,
            // Its nonce is spent: if by this very transaction (a wallet sending it again), the
            // answer is its committed outcome, as the waited sending was answered. Looked up
            // only here, off the admission path.
            Err(SubmitError::Check(CheckError::Rejected(rejection)))
                if rejection.code == ErrorCode::BadNonce =>
            {
                if let Some((height, result)) = self.committed_result(&hash)? {
                    return committed_answer(hash, height, result);
                }
                return Err(rejection_status(&rejection));
            }
            Err(error) => return Err(submit_status(error)),
        };
        debug!(tx = %hex::encode(hash), wait, "transaction admitted");
        let Some(receiver) = receiver else {
            return Ok(Response::new(SubmitTransactionResponse {
                tx_hash: hash.to_vec(),
                ..Default::default()
            }));
        };
        let timeout_ms = match request.timeout_ms {
            0 => self.chain.config.submit_timeout_ms,
            ms => u64::from(ms).min(self.chain.config.submit_timeout_ms),
        };
        let notice = match tokio::time::timeout(Duration::from_millis(timeout_ms), receiver).await {
            Ok(Ok(notice)) => notice,
            Ok(Err(_)) => {
                return Err(refusal(
                    ErrorCode::NodeUnavailable,
                    "node stopped before the transaction committed",
                ))
            }
            Err(_) => {
                // Not a rejection: it was admitted and waits in the mempool.
                debug!(tx = %hex::encode(hash), timeout_ms, "transaction still pending");
                return Ok(Response::new(SubmitTransactionResponse {
                    tx_hash: hash.to_vec(),
                    pending: true,
                    ..Default::default()
                }));
            }
        };
        committed_answer(hash, notice.height, notice.result)
    }

    async fn submit_transactions(
        &self,
        request: Request<SubmitTransactionsRequest>,
    ) -> Result<Response<SubmitTransactionsResponse>, Status> {
        self.serving()?;
        let transactions = request.into_inner().transactions;
        if transactions.len() > vchain_contracts::execute::CHECK_BATCH_MAX {
            return Err(refusal(
                ErrorCode::TooLarge,
                format!(
                    "a batch holds at most {} transactions",
                    vchain_contracts::execute::CHECK_BATCH_MAX
                ),
            ));
        }
        let hashes: Vec<Hash> = transactions
            .iter()
            .map(|tx| vchain_contracts::tx::tx_hash(&tx.body))
            .collect();
        let chain = self.chain.clone();
        let results = tokio::task::spawn_blocking(move || {
            chain.submit_batch(transactions, crate::chain::BatchOrigin::Client)
        })
        .await
        .map_err(internal)?
        .map_err(submit_status)?;
        let refused = |hash: Hash, code: ErrorCode, message: String| AdmissionOutcome {
            tx_hash: hash.to_vec(),
            admitted: false,
            code: code.into(),
            message,
            ..Default::default()
        };
        let mut outcomes = Vec::with_capacity(hashes.len());
        for (hash, result) in hashes.into_iter().zip(results) {
            let outcome = match result {
                Ok(_) => AdmissionOutcome {
                    tx_hash: hash.to_vec(),
                    admitted: true,
                    code: ErrorCode::Ok.into(),
                    ..Default::default()
                },
                // Its nonce is spent: if by this very transaction (sent again), the answer is
                // how it ended, as for a single submission.
                Err(SubmitError::Check(CheckError::Rejected(rejection)))
                    if rejection.code == ErrorCode::BadNonce =>
                {
                    match self.committed_result(&hash)? {
                        Some((height, result)) => AdmissionOutcome {
                            tx_hash: hash.to_vec(),
                            admitted: true,
                            code: ErrorCode::Ok.into(),
                            committed_height: height,
                            result: Some(result),
                            ..Default::default()
                        },
                        None => refused(hash, rejection.code, rejection.message),
                    }
                }
                Err(SubmitError::Check(CheckError::Rejected(rejection))) => {
                    refused(hash, rejection.code, rejection.message)
                }
                Err(SubmitError::Mempool(error)) => {
                    refused(hash, mempool_code(&error), error.to_string())
                }
                Err(other) => refused(hash, ErrorCode::InvalidArgument, other.to_string()),
            };
            outcomes.push(outcome);
        }
        Ok(Response::new(SubmitTransactionsResponse { outcomes }))
    }

    async fn get_voucher(
        &self,
        request: Request<GetVoucherRequest>,
    ) -> Result<Response<GetVoucherResponse>, Status> {
        let reader = self.reader(&request, "GetVoucher")?;
        let id = request.into_inner().voucher_id;
        let chain = self.chain.clone();
        // Deciding may read the pieces split from it (bounded as a trace is): off the async
        // threads, and from one snapshot so that the voucher and its pieces agree.
        let voucher = tokio::task::spawn_blocking(move || -> Result<Voucher, Status> {
            let snapshot = chain.ledger.snapshot();
            let voucher = read_message::<Voucher>(&snapshot, &keys::voucher(&id), "Voucher")
                .map_err(internal)?
                .ok_or_else(|| not_found(ErrorCode::VoucherNotFound, "voucher", &id))?;
            visibility::may_read(&snapshot, &reader, &Record::Voucher(&voucher))
                .map_err(read_access::status)?;
            Ok(voucher)
        })
        .await
        .map_err(internal)??;
        Ok(Response::new(GetVoucherResponse {
            voucher: Some(voucher),
        }))
    }

    async fn list_vouchers(
        &self,
        request: Request<ListVouchersRequest>,
    ) -> Result<Response<ListVouchersResponse>, Status> {
        let reader = self.reader(&request, "ListVouchers")?;
        let request = request.into_inner();
        let prefix = match &request.owner {
            Some(list_vouchers_request::Owner::Holder(holder)) if !holder.is_empty() => {
                read_access::may_read(&self.chain, &reader, &Record::VouchersHeldBy(holder))?;
                keys::holder_index_prefix(holder)
            }
            Some(list_vouchers_request::Owner::Issuer(issuer)) if !issuer.is_empty() => {
                read_access::may_read(&self.chain, &reader, &Record::VouchersIssuedBy(issuer))?;
                keys::issuer_index_prefix(issuer)
            }
            _ => return Err(invalid_argument("give a holder account or an issuer USCC")),
        };
        let page_size = match request.page_size {
            0 => crate::listing::PAGE_SIZE_DEFAULT,
            n => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(crate::listing::PAGE_SIZE_MAX),
        };
        let chain = self.chain.clone();
        let response =
            tokio::task::spawn_blocking(move || -> Result<ListVouchersResponse, Status> {
                let snapshot = chain.ledger.snapshot();
                crate::listing::vouchers_page(
                    &snapshot,
                    &prefix,
                    &request.page_token,
                    page_size,
                    request.live_only,
                )
                .map_err(internal)
            })
            .await
            .map_err(internal)??;
        Ok(Response::new(response))
    }

    async fn trace_voucher(
        &self,
        request: Request<TraceVoucherRequest>,
    ) -> Result<Response<TraceVoucherResponse>, Status> {
        let reader = self.reader(&request, "TraceVoucher")?;
        let request = request.into_inner();
        let id = request.voucher_id;
        let page_token = request.page_token;
        let page_size = match request.page_size {
            0 => trace::TRACE_PAGE_DEFAULT,
            n => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(trace::TRACE_PAGE_MAX),
        };
        let chain = self.chain.clone();
        let response =
            tokio::task::spawn_blocking(move || -> Result<TraceVoucherResponse, Status> {
                let snapshot = chain.ledger.snapshot();
                let height = snapshot
                    .head()
                    .map_err(internal)?
                    .map(|h| h.height)
                    .unwrap_or(0);
                let voucher: Voucher = read_message(&snapshot, &keys::voucher(&id), "Voucher")
                    .map_err(internal)?
                    .ok_or_else(|| not_found(ErrorCode::VoucherNotFound, "voucher", &id))?;
                let page_error = |error: trace::TracePageError| match error {
                    trace::TracePageError::BadPageToken { .. } => invalid_argument(&error),
                    trace::TracePageError::State(error) => internal(error),
                };
                // A reader who may read the whole lineage gets it a page at a time, at the
                // cost of the page; another's share depends on all of it (a piece deep down
                // makes its ancestors readable), so it is decided on the whole lineage first.
                let mut page = if visibility::reads_whole_lineage(&reader, &voucher) {
                    trace::trace_page(&snapshot, &id, &page_token, page_size)
                        .map_err(page_error)?
                        .ok_or_else(|| not_found(ErrorCode::VoucherNotFound, "voucher", &id))?
                } else {
                    let whole = trace::trace(&snapshot, &id)
                        .map_err(internal)?
                        .ok_or_else(|| not_found(ErrorCode::VoucherNotFound, "voucher", &id))?;
                    let visible = visibility::visible_trace(&reader, whole)
                        .map_err(|refusal| read_access::refusal_status(&refusal))?;
                    trace::page_of(visible, &page_token, page_size).map_err(page_error)?
                };
                page.height = height;
                Ok(page)
            })
            .await
            .map_err(internal)??;
        Ok(Response::new(response))
    }

    type ExportTraceBundleStream = BundleStream;

    async fn export_trace_bundle(
        &self,
        request: Request<ExportTraceBundleRequest>,
    ) -> Result<Response<Self::ExportTraceBundleStream>, Status> {
        let reader = self.reader(&request, "ExportTraceBundle")?;
        let id = request.into_inner().voucher_id;
        let chain = self.chain.clone();
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Status> {
            // A bundle holds the whole lineage (the verifier demands it complete): only a
            // reader who may read all of it gets one.
            let snapshot = chain.ledger.snapshot();
            let lineage = trace::trace(&snapshot, &id)
                .map_err(internal)?
                .ok_or_else(|| not_found(ErrorCode::VoucherNotFound, "voucher", &id))?;
            let all = lineage.vouchers.len();
            let visible = visibility::visible_trace(&reader, lineage)
                .map_err(|refusal| read_access::refusal_status(&refusal))?;
            if visible.vouchers.len() != all {
                return Err(read_access::refusal_status(&reader.not_a_party(&format!(
                    "the whole lineage of voucher {id} (a trace bundle holds all of it; this reader is a party to {} of its {all} vouchers)",
                    visible.vouchers.len()
                ))));
            }
            drop(snapshot);
            let bundle = crate::trace_bundle::export(&chain.ledger, &id).map_err(|error| {
                use crate::trace_bundle::ExportError;
                use vchain_bundle::BuildError;
                match &error {
                    ExportError::Build(BuildError::UnknownVoucher(_)) => {
                        not_found(ErrorCode::VoucherNotFound, "voucher", &id)
                    }
                    ExportError::Build(BuildError::TooLarge { .. }) => {
                        refusal(ErrorCode::TooLarge, &error)
                    }
                    // Another node may hold the history, or this one in a moment.
                    ExportError::Build(BuildError::MissingBlock(_) | BuildError::Uncertified(_))
                    | ExportError::TipUncertified(_)
                    | ExportError::Ledger(vchain_ledger::LedgerError::ArchiveUnavailable { .. })
                    | ExportError::Build(BuildError::Ledger(
                        vchain_ledger::LedgerError::ArchiveUnavailable { .. },
                    )) => refusal(ErrorCode::NodeUnavailable, &error),
                    _ => internal(&error),
                }
            })?;
            Ok(vchain_bundle::encode(&bundle))
        })
        .await
        .map_err(internal)??;
        let total_bytes = bytes.len() as u64;
        let chunks: Vec<Result<TraceBundleChunk, Status>> = bytes
            .chunks(crate::trace_bundle::BUNDLE_CHUNK_BYTES)
            .map(|data| {
                Ok(TraceBundleChunk {
                    data: data.to_vec(),
                    total_bytes,
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn get_account(
        &self,
        request: Request<GetAccountRequest>,
    ) -> Result<Response<GetAccountResponse>, Status> {
        let reader = self.reader(&request, "GetAccount")?;
        let id = request.into_inner().account_id;
        read_access::may_read(&self.chain, &reader, &Record::Account(&id))?;
        let account = self
            .read::<Account>(&keys::account(&id), "Account")?
            .ok_or_else(|| not_found(ErrorCode::AccountNotFound, "account", &id))?;
        Ok(Response::new(GetAccountResponse {
            account: Some(account),
        }))
    }

    async fn get_identity(
        &self,
        request: Request<GetIdentityRequest>,
    ) -> Result<Response<GetIdentityResponse>, Status> {
        let reader = self.reader(&request, "GetIdentity")?;
        let uscc = request.into_inner().uscc;
        read_access::may_read(&self.chain, &reader, &Record::Identity(&uscc))?;
        let identity = self
            .read::<Identity>(&keys::identity(&uscc), "Identity")?
            .ok_or_else(|| not_found(ErrorCode::IdentityNotFound, "identity", &uscc))?;
        Ok(Response::new(GetIdentityResponse {
            identity: Some(identity),
        }))
    }

    async fn get_credit_line(
        &self,
        request: Request<GetCreditLineRequest>,
    ) -> Result<Response<GetCreditLineResponse>, Status> {
        let reader = self.reader(&request, "GetCreditLine")?;
        let request = request.into_inner();
        read_access::may_read(
            &self.chain,
            &reader,
            &Record::CreditLine {
                financier: &request.financier,
                core_enterprise: &request.core_enterprise,
            },
        )?;
        let line = self
            .read::<CreditLine>(
                &keys::credit_line(&request.financier, &request.core_enterprise),
                "CreditLine",
            )?
            .ok_or_else(|| {
                rule_status(
                    ErrorCode::CreditLineNotFound,
                    &format!(
                        "{} has granted no credit line to {}",
                        request.financier, request.core_enterprise
                    ),
                    None,
                    None,
                )
            })?;
        Ok(Response::new(GetCreditLineResponse {
            credit_line: Some(line),
        }))
    }

    async fn get_proposal(
        &self,
        request: Request<GetProposalRequest>,
    ) -> Result<Response<GetProposalResponse>, Status> {
        // Governance is open to every authenticated reader, whatever its role or organisation.
        let reader = self.reader(&request, "GetProposal")?;
        read_access::may_read(&self.chain, &reader, &Record::Proposal)?;
        let id = request.into_inner().proposal_id;
        let chain = self.chain.clone();
        let response =
            tokio::task::spawn_blocking(move || -> Result<GetProposalResponse, Status> {
                // One snapshot, so the record and its history agree.
                let snapshot = chain.ledger.snapshot();
                let proposal = vchain_contracts::proposal(&snapshot, &id)
                    .map_err(internal)?
                    .ok_or_else(|| not_found(ErrorCode::ProposalNotFound, "proposal", &id))?;
                let events = vchain_contracts::proposal_events(&snapshot, &id).map_err(internal)?;
                Ok(GetProposalResponse {
                    proposal: Some(proposal),
                    events,
                })
            })
            .await
            .map_err(internal)??;
        Ok(Response::new(response))
    }

    async fn list_proposals(
        &self,
        request: Request<ListProposalsRequest>,
    ) -> Result<Response<ListProposalsResponse>, Status> {
        let reader = self.reader(&request, "ListProposals")?;
        read_access::may_read(&self.chain, &reader, &Record::Proposal)?;
        let request = request.into_inner();
        let page_size = match request.page_size {
            0 => PAGE_SIZE_DEFAULT,
            n => n.min(PAGE_SIZE_MAX),
        } as usize;
        let chain = self.chain.clone();
        let response =
            tokio::task::spawn_blocking(move || -> Result<ListProposalsResponse, Status> {
                let snapshot = chain.ledger.snapshot();
                let mut proposals = Vec::with_capacity(page_size);
                let mut after = (!request.page_token.is_empty()).then_some(request.page_token);
                // Chunked, so that `open_only` skips decided proposals without one huge read.
                loop {
                    let chunk =
                        vchain_contracts::proposals(&snapshot, after.as_deref(), page_size + 1)
                            .map_err(internal)?;
                    let exhausted = chunk.len() <= page_size;
                    for proposal in chunk {
                        after = Some(proposal.id.clone());
                        if request.open_only && proposal.status() != ProposalStatus::Open {
                            continue;
                        }
                        if proposals.len() == page_size {
                            let next_page_token = proposals
                                .last()
                                .map(|p: &Proposal| p.id.clone())
                                .unwrap_or_default();
                            return Ok(ListProposalsResponse {
                                proposals,
                                next_page_token,
                            });
                        }
                        proposals.push(proposal);
                    }
                    if exhausted {
                        return Ok(ListProposalsResponse {
                            proposals,
                            next_page_token: String::new(),
                        });
                    }
                }
            })
            .await
            .map_err(internal)??;
        Ok(Response::new(response))
    }

    async fn list_audit_log(
        &self,
        request: Request<ListAuditLogRequest>,
    ) -> Result<Response<ListAuditLogResponse>, Status> {
        let reader = self.reader(&request, "ListAuditLog")?;
        read_access::may_read(&self.chain, &reader, &Record::AuditLog)?;
        let request = request.into_inner();
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|bytes| keys::EventPosition::from_bytes(&bytes))
                    .ok_or_else(|| {
                        invalid_argument(format!(
                            "page token {token:?} is not one this node handed out"
                        ))
                    })?,
            ),
        };
        if request.to_height != 0 && request.from_height > request.to_height {
            return Err(invalid_argument(format!(
                "from_height {} is above to_height {}",
                request.from_height, request.to_height
            )));
        }
        let query = vchain_contracts::audit::AuditQuery {
            org_id: request.org_id,
            account_id: request.account_id,
            from_height: request.from_height,
            to_height: request.to_height,
            after,
            page_size: match request.page_size {
                0 => PAGE_SIZE_DEFAULT,
                n => n.min(PAGE_SIZE_MAX),
            } as usize,
        };
        let chain = self.chain.clone();
        let page = tokio::task::spawn_blocking(move || {
            let snapshot = chain.ledger.snapshot();
            let index = |prefix: &[u8], start_after: Option<&[u8]>, limit: usize| {
                snapshot.index_scan(prefix, start_after, limit)
            };
            vchain_contracts::audit::audit_log(&snapshot, &index, &query).map_err(internal)
        })
        .await
        .map_err(internal)??;
        Ok(Response::new(ListAuditLogResponse {
            entries: page
                .entries
                .into_iter()
                .map(|(position, event)| AuditEntry {
                    height: position.height,
                    tx_index: position.tx_index,
                    event_index: u32::from(position.event_index),
                    event: Some(event),
                })
                .collect(),
            next_page_token: page
                .next
                .map(|position| hex::encode(position.bytes()))
                .unwrap_or_default(),
        }))
    }

    async fn get_device(
        &self,
        request: Request<GetDeviceRequest>,
    ) -> Result<Response<GetDeviceResponse>, Status> {
        let reader = self.reader(&request, "GetDevice")?;
        let id = request.into_inner().device_id;
        let device = self
            .read::<Device>(&keys::device(&id), "Device")?
            .ok_or_else(|| not_found(ErrorCode::DeviceNotFound, "device", &id))?;
        read_access::may_read(&self.chain, &reader, &Record::Device(&device))?;
        Ok(Response::new(GetDeviceResponse {
            device: Some(device),
        }))
    }

    async fn get_warehouse_receipt(
        &self,
        request: Request<GetWarehouseReceiptRequest>,
    ) -> Result<Response<GetWarehouseReceiptResponse>, Status> {
        let reader = self.reader(&request, "GetWarehouseReceipt")?;
        let id = request.into_inner().receipt_id;
        let receipt = self
            .read::<WarehouseReceipt>(&keys::receipt(&id), "WarehouseReceipt")?
            .ok_or_else(|| not_found(ErrorCode::ReceiptNotFound, "warehouse receipt", &id))?;
        read_access::may_read(&self.chain, &reader, &Record::Receipt(&receipt))?;
        Ok(Response::new(GetWarehouseReceiptResponse {
            receipt: Some(receipt),
        }))
    }

    async fn get_pledge(
        &self,
        request: Request<GetPledgeRequest>,
    ) -> Result<Response<GetPledgeResponse>, Status> {
        // Public notice: any authenticated reader, whatever its role.
        let reader = self.reader(&request, "GetPledge")?;
        read_access::may_read(&self.chain, &reader, &Record::PledgeNotice)?;
        let pledge = match request.into_inner().selector {
            Some(get_pledge_request::Selector::RegistrationNumber(number)) => {
                vchain_contracts::pledge(&*self.chain.ledger, &number)
                    .map_err(internal)?
                    .ok_or_else(|| {
                        not_found(ErrorCode::PledgeNotFound, "pledge registration", &number)
                    })?
            }
            Some(get_pledge_request::Selector::VoucherId(id)) => vchain_contracts::active_pledge(
                &*self.chain.ledger,
                vchain_contracts::ASSET_VOUCHER,
                &id,
            )
            .map_err(internal)?
            .ok_or_else(|| {
                rule_status(
                    ErrorCode::PledgeNotFound,
                    &format!("voucher {id} has no active pledge"),
                    None,
                    None,
                )
            })?,
            Some(get_pledge_request::Selector::ReceiptId(id)) => vchain_contracts::active_pledge(
                &*self.chain.ledger,
                vchain_contracts::ASSET_RECEIPT,
                &id,
            )
            .map_err(internal)?
            .ok_or_else(|| {
                rule_status(
                    ErrorCode::PledgeNotFound,
                    &format!("receipt {id} has no active pledge"),
                    None,
                    None,
                )
            })?,
            None => {
                return Err(invalid_argument(
                    "give a registration number, a voucher id or a receipt id",
                ))
            }
        };
        Ok(Response::new(GetPledgeResponse {
            pledge: Some(pledge),
        }))
    }

    async fn get_block(
        &self,
        request: Request<GetBlockRequest>,
    ) -> Result<Response<GetBlockResponse>, Status> {
        // A block holds every party's transactions: for auditors and administrators.
        let reader = self.reader(&request, "GetBlock")?;
        read_access::may_read(&self.chain, &reader, &Record::Block)?;
        let height = match request.into_inner().selector {
            Some(get_block_request::Selector::Height(height)) => height,
            Some(get_block_request::Selector::Hash(hash)) => {
                let hash = hash_arg(&hash, "block hash")?;
                self.chain
                    .ledger
                    .height_of(&hash)
                    .map_err(internal)?
                    .ok_or_else(|| {
                        not_found(ErrorCode::BlockNotFound, "block", &hex::encode(hash))
                    })?
            }
            None => self.chain.head()?.height,
        };
        let block = self.block_at(height)?.ok_or_else(|| {
            not_found(
                ErrorCode::BlockNotFound,
                "block at height",
                &height.to_string(),
            )
        })?;
        let block_hash = block
            .header
            .as_ref()
            .map(vchain_contracts::block::block_hash)
            .unwrap_or_default();
        // Served as stored: the reader verifies it (the ledger checked it names this block).
        let certificate = self
            .chain
            .ledger
            .certificate(height)
            .map_err(internal)?
            .map(|bytes| {
                CommitCertificate::decode(bytes.as_slice()).map_err(|e| {
                    internal(format!("the certificate stored for block {height}: {e}"))
                })
            })
            .transpose()?;
        Ok(Response::new(GetBlockResponse {
            block: Some(block),
            block_hash: block_hash.to_vec(),
            certificate,
        }))
    }

    async fn get_transaction(
        &self,
        request: Request<GetTransactionRequest>,
    ) -> Result<Response<GetTransactionResponse>, Status> {
        let reader = self.reader(&request, "GetTransaction")?;
        let hash = hash_arg(&request.into_inner().tx_hash, "transaction hash")?;
        let location = self
            .chain
            .ledger
            .tx_location(&hash)
            .map_err(internal)?
            .ok_or_else(|| {
                not_found(
                    ErrorCode::TransactionNotFound,
                    "committed transaction",
                    &hex::encode(hash),
                )
            })?;
        let block = self.block_at(location.height)?.ok_or_else(|| {
            internal(format!(
                "transaction index points at missing block {}",
                location.height
            ))
        })?;
        let index = location.index as usize;
        let header = block.header.clone().unwrap_or_default();
        let signer = block
            .transactions
            .get(index)
            .and_then(|tx| TransactionBody::decode(tx.body.as_slice()).ok())
            .map(|body| body.signer)
            .unwrap_or_default();
        read_access::may_read(
            &self.chain,
            &reader,
            &Record::Transaction {
                hash: &hex::encode(hash),
                signer: &signer,
                events: block
                    .results
                    .get(index)
                    .map_or(&[][..], |r| r.events.as_slice()),
            },
        )?;
        let result = block
            .results
            .get(index)
            .cloned()
            .map(|result| self.with_message(result))
            .transpose()?;
        Ok(Response::new(GetTransactionResponse {
            transaction: block.transactions.get(index).cloned(),
            result,
            height: location.height,
            index: location.index,
            block_hash: vchain_contracts::block::block_hash(&header).to_vec(),
            time_ms: header.timestamp_ms,
        }))
    }

    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<GetStatusResponse>, Status> {
        // While a snapshot installs there is no head yet: report that, not an error.
        let head = match self.chain.head() {
            Err(ChainError::Syncing(_)) => vchain_ledger::ChainHead {
                height: 0,
                block_hash: [0; 32],
                state_root: [0; 32],
                timestamp_ms: 0,
            },
            other => other?,
        };
        let members = self
            .chain
            .ledger
            .scan_prefix(b"o/", None, 1_000)
            .map_err(internal)?
            .into_iter()
            .filter_map(|(_, value)| {
                <Organisation as prost::Message>::decode(value.as_slice()).ok()
            })
            .collect();
        // Committed state, like the head: a snapshot being installed has none yet.
        let (rules, pending) = if self.chain.is_syncing() {
            (ChainRules::default(), None)
        } else {
            self.chain.rules().map_err(internal)?
        };
        let pending = pending.unwrap_or_default();
        Ok(Response::new(GetStatusResponse {
            rules_version: rules.version,
            rules_pending_version: pending.version,
            rules_activation_height: pending.activation_height,
            rules_version_max: self.chain.config.rules_version_max(),
            chain_id: self.chain.chain_id.clone(),
            node_id: self.chain.config.node_id.clone(),
            consensus: self.chain.engine_name.clone(),
            height: head.height,
            head_hash: head.block_hash.to_vec(),
            state_root: head.state_root.to_vec(),
            head_time_ms: head.timestamp_ms,
            mempool_size: u32::try_from(self.chain.mempool_len()).unwrap_or(u32::MAX),
            genesis_hash: self.chain.genesis_hash.to_vec(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            params: Some(self.chain.params()),
            members,
            leader: self.chain.leader().unwrap_or_default(),
            voters: self.chain.voters(),
            syncing: self.chain.is_syncing(),
            snapshots_installed: self.chain.snapshots_installed(),
            proposals_refused: self.chain.proposals_refused(),
            resources: Some(self.chain.resources().map_err(internal)?),
            certificates_expiring: if self.chain.is_syncing() {
                Vec::new()
            } else {
                // Status is public; which certificates it names depends on who asks: consensus
                // nodes to anyone, accounts to a signed reader of their identity, everything
                // to auditors and administrators.
                let reader = request
                    .metadata()
                    .contains_key(vchain_contracts::read::READER_HEADER)
                    .then(|| read_access::authenticate(&self.chain, &request, "GetStatus"))
                    .transpose()?;
                self.chain
                    .certificates_expiring()?
                    .into_iter()
                    .filter(|c| visibility::may_see_expiring_certificate(reader.as_ref(), c))
                    .collect()
            },
            certificate_warning_days: crate::chain::CERTIFICATE_WARNING_DAYS,
            blocks_ahead_of_clock: self.chain.blocks_ahead_of_clock(),
            votes_refused_from: self
                .chain
                .incarnations
                .as_ref()
                .map(|i| i.refused().into_iter().collect())
                .unwrap_or_default(),
            voting_forbidden: self
                .chain
                .incarnations
                .as_ref()
                .is_some_and(|i| i.voting_forbidden()),
            certified_height: if self.chain.is_syncing() {
                0
            } else {
                self.chain.certified_height().map_err(internal)?
            },
            certification_lag: if self.chain.is_syncing() {
                0
            } else {
                head.height
                    .saturating_sub(self.chain.certified_height().map_err(internal)?)
            },
            equivocations: self
                .chain
                .equivocations()
                .map_err(internal)?
                .into_iter()
                .take(crate::certification::EVIDENCE_MAX)
                .collect(),
            consensus_view: self
                .chain
                .consensus_view
                .load(std::sync::atomic::Ordering::Relaxed),
        }))
    }

    async fn get_state_proof(
        &self,
        request: Request<GetStateProofRequest>,
    ) -> Result<Response<GetStateProofResponse>, Status> {
        // Proofs of arbitrary state are for auditors (and administrators).
        let reader = self.reader(&request, "GetStateProof")?;
        read_access::may_read(&self.chain, &reader, &Record::StateProof)?;
        let key = request.into_inner().key;
        // The proof and the root must come from the same state: retry if a block lands between.
        for _ in 0..8 {
            let before = self.chain.head()?;
            let (value, proof) = self.chain.ledger.prove(&key).map_err(internal)?;
            let after = self.chain.head()?;
            if before.height == after.height {
                return Ok(Response::new(GetStateProofResponse {
                    key,
                    found: value.is_some(),
                    value: value.unwrap_or_default(),
                    proof: prost::Message::encode_to_vec(&proof),
                    state_root: after.state_root.to_vec(),
                    height: after.height,
                }));
            }
        }
        Err(refusal(
            ErrorCode::NodeUnavailable,
            "the chain moved on during every attempt; retry",
        ))
    }

    type SubscribeEventsStream = EventStream;

    async fn subscribe_events(
        &self,
        request: Request<SubscribeEventsRequest>,
    ) -> Result<Response<Self::SubscribeEventsStream>, Status> {
        let mut reader = self.reader(&request, "SubscribeEvents")?;
        let request = request.into_inner();
        // Held by the stream's task: the slot frees when the stream ends for any reason.
        let permit = self
            .subscriptions
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                refusal(ErrorCode::StreamsFull, format!(
                    "this node serves at most {} event streams at once; retry later or ask another node",
                    self.chain.config.event_subscriptions_max
                ))
            })?;
        // A stream for one voucher is refused, as its trace is, to a reader who may not read
        // the voucher (one that does not exist yet may still come to be the reader's).
        if !request.voucher_id.is_empty() {
            if let Some(voucher) =
                self.read::<Voucher>(&keys::voucher(&request.voucher_id), "Voucher")?
            {
                read_access::may_read(&self.chain, &reader, &Record::Voucher(&voucher))?;
            }
        }
        // What the stream shows: the events matching its filters that the reader may read
        // (with no filter, a party's stream follows its own accounts).
        let mut view = EventView::new(&request.account_id, &request.voucher_id);
        // Subscribe before reading the head, so no block falls between replay and live.
        let mut live = self.chain.subscribe();
        let mut alerts = self.chain.subscribe_alerts();
        let mut stop = self.chain.stop_signal();
        let chain = self.chain.clone();
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BUFFER);
        tokio::spawn(async move {
            let _permit = permit;
            let send = |event: Event| {
                let sender = sender.clone();
                async move {
                    sender
                        .send(Ok(EventEnvelope {
                            event: Some(event),
                            alert: None,
                        }))
                        .await
                        .is_ok()
                }
            };
            let mut replayed_to = 0;
            if request.from_height > 0 {
                let head = match chain.head() {
                    Ok(head) => head.height,
                    Err(error) => {
                        let _ = sender.send(Err(internal(error))).await;
                        return;
                    }
                };
                for height in request.from_height..=head {
                    let block = match chain.ledger.block(height) {
                        Ok(Some(block)) => block,
                        Ok(None) => break,
                        Err(error) => {
                            let _ = sender.send(Err(ledger_read_failure(error))).await;
                            return;
                        }
                    };
                    let events = block
                        .system_events
                        .into_iter()
                        .chain(block.results.into_iter().flat_map(|r| r.events));
                    for event in events {
                        match view.shows(&*chain.ledger, &reader, &event) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(error) => {
                                let _ = sender.send(Err(internal(error))).await;
                                return;
                            }
                        }
                        if !send(event).await {
                            return;
                        }
                    }
                    replayed_to = height;
                }
            }
            loop {
                let received = tokio::select! {
                    received = live.recv() => received,
                    Ok(alert) = alerts.recv() => {
                        // A node's own alert, not a chain event: every stream gets it.
                        let envelope = EventEnvelope { event: None, alert: Some((*alert).clone()) };
                        if sender.send(Ok(envelope)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    _ = stopped(&mut stop) => {
                        let _ = sender
                            .send(Err(refusal(ErrorCode::NodeUnavailable, "node is shutting down")))
                            .await;
                        return;
                    }
                    // A client that went away frees its slot now, not at the next event.
                    _ = sender.closed() => return,
                };
                match received {
                    Ok(block) if block.height > replayed_to => {
                        // The block may have cancelled or revoked the reader: its rights as of
                        // the committed state decide whether it sees this block at all.
                        reader = match read_access::recheck(&chain, &reader) {
                            Ok(reader) => reader,
                            Err(status) => {
                                debug!(reader = %reader.account.account_id, height = block.height, %status, "event stream ended: the reader may no longer read");
                                let _ = sender.send(Err(status)).await;
                                return;
                            }
                        };
                        // The block may have made the reader a party to more.
                        view.state_changed();
                        for event in block.events.iter() {
                            match view.shows(&*chain.ledger, &reader, event) {
                                Ok(true) => {}
                                Ok(false) => continue,
                                Err(error) => {
                                    let _ = sender.send(Err(internal(error))).await;
                                    return;
                                }
                            }
                            if !send(event.clone()).await {
                                return;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let _ = sender
                            .send(Err(refusal(ErrorCode::StreamLagged, format!("subscriber fell {missed} blocks behind; resubscribe with from_height"))))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// Resolves once the node's stop signal is raised (or its sender is gone).
async fn stopped(signal: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *signal.borrow_and_update() {
            return;
        }
        if signal.changed().await.is_err() {
            return;
        }
    }
}

/// The `DevApi` service: clock control for dev nodes.
pub(crate) struct DevService {
    chain: Arc<Chain>,
}

impl DevService {
    /// A service over `chain`.
    pub(crate) fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }
}

#[tonic::async_trait]
impl DevApi for DevService {
    async fn advance_clock(
        &self,
        request: Request<AdvanceClockRequest>,
    ) -> Result<Response<AdvanceClockResponse>, Status> {
        let ms = request.into_inner().milliseconds;
        if ms > 10 * 365 * 86_400_000 {
            return Err(refusal(
                ErrorCode::InvalidArgument,
                "advance at most ten years at a time",
            ));
        }
        let offset = self.chain.clock.advance(ms);
        crate::dev_clock::save_clock_offset(&self.chain.config.data_dir, offset)
            .map_err(internal)?;
        Ok(Response::new(AdvanceClockResponse {
            clock_offset_ms: offset,
            chain_time_ms: self.chain.clock.now_ms(),
        }))
    }
}
