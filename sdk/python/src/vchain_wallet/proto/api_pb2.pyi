from . import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitTransactionRequest(_message.Message):
    __slots__ = ("transaction", "wait_for_commit", "timeout_ms")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_COMMIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    transaction: _types_pb2.SignedTransaction
    wait_for_commit: bool
    timeout_ms: int
    def __init__(self, transaction: _Optional[_Union[_types_pb2.SignedTransaction, _Mapping]] = ..., wait_for_commit: _Optional[bool] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class SubmitTransactionResponse(_message.Message):
    __slots__ = ("tx_hash", "committed", "height", "result", "pending")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    committed: bool
    height: int
    result: _types_pb2.TxResult
    pending: bool
    def __init__(self, tx_hash: _Optional[bytes] = ..., committed: _Optional[bool] = ..., height: _Optional[int] = ..., result: _Optional[_Union[_types_pb2.TxResult, _Mapping]] = ..., pending: _Optional[bool] = ...) -> None: ...

class SubmitTransactionsRequest(_message.Message):
    __slots__ = ("transactions",)
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[_types_pb2.SignedTransaction]
    def __init__(self, transactions: _Optional[_Iterable[_Union[_types_pb2.SignedTransaction, _Mapping]]] = ...) -> None: ...

class AdmissionOutcome(_message.Message):
    __slots__ = ("tx_hash", "admitted", "code", "message", "committed_height", "result")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    ADMITTED_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    admitted: bool
    code: _types_pb2.ErrorCode
    message: str
    committed_height: int
    result: _types_pb2.TxResult
    def __init__(self, tx_hash: _Optional[bytes] = ..., admitted: _Optional[bool] = ..., code: _Optional[_Union[_types_pb2.ErrorCode, str]] = ..., message: _Optional[str] = ..., committed_height: _Optional[int] = ..., result: _Optional[_Union[_types_pb2.TxResult, _Mapping]] = ...) -> None: ...

class SubmitTransactionsResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[AdmissionOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[AdmissionOutcome, _Mapping]]] = ...) -> None: ...

class GetVoucherRequest(_message.Message):
    __slots__ = ("voucher_id",)
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    def __init__(self, voucher_id: _Optional[str] = ...) -> None: ...

class GetVoucherResponse(_message.Message):
    __slots__ = ("voucher",)
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    voucher: _types_pb2.Voucher
    def __init__(self, voucher: _Optional[_Union[_types_pb2.Voucher, _Mapping]] = ...) -> None: ...

class ListVouchersRequest(_message.Message):
    __slots__ = ("holder", "issuer", "live_only", "page_token", "page_size")
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    LIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    holder: str
    issuer: str
    live_only: bool
    page_token: str
    page_size: int
    def __init__(self, holder: _Optional[str] = ..., issuer: _Optional[str] = ..., live_only: _Optional[bool] = ..., page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListVouchersResponse(_message.Message):
    __slots__ = ("vouchers", "next_page_token")
    VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    vouchers: _containers.RepeatedCompositeFieldContainer[_types_pb2.Voucher]
    next_page_token: str
    def __init__(self, vouchers: _Optional[_Iterable[_Union[_types_pb2.Voucher, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TraceVoucherRequest(_message.Message):
    __slots__ = ("voucher_id", "page_size", "page_token")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    page_size: int
    page_token: str
    def __init__(self, voucher_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class TracedVoucher(_message.Message):
    __slots__ = ("voucher", "events", "depth")
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    voucher: _types_pb2.Voucher
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    depth: int
    def __init__(self, voucher: _Optional[_Union[_types_pb2.Voucher, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ..., depth: _Optional[int] = ...) -> None: ...

class TraceVoucherResponse(_message.Message):
    __slots__ = ("voucher_id", "root_id", "vouchers", "height", "next_page_token")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    root_id: str
    vouchers: _containers.RepeatedCompositeFieldContainer[TracedVoucher]
    height: int
    next_page_token: str
    def __init__(self, voucher_id: _Optional[str] = ..., root_id: _Optional[str] = ..., vouchers: _Optional[_Iterable[_Union[TracedVoucher, _Mapping]]] = ..., height: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportTraceBundleRequest(_message.Message):
    __slots__ = ("voucher_id",)
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    def __init__(self, voucher_id: _Optional[str] = ...) -> None: ...

class TraceBundleChunk(_message.Message):
    __slots__ = ("data", "total_bytes")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    total_bytes: int
    def __init__(self, data: _Optional[bytes] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class GetIdentityRequest(_message.Message):
    __slots__ = ("uscc",)
    USCC_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    def __init__(self, uscc: _Optional[str] = ...) -> None: ...

class GetIdentityResponse(_message.Message):
    __slots__ = ("identity",)
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    identity: _types_pb2.Identity
    def __init__(self, identity: _Optional[_Union[_types_pb2.Identity, _Mapping]] = ...) -> None: ...

class GetCreditLineRequest(_message.Message):
    __slots__ = ("financier", "core_enterprise")
    FINANCIER_FIELD_NUMBER: _ClassVar[int]
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    financier: str
    core_enterprise: str
    def __init__(self, financier: _Optional[str] = ..., core_enterprise: _Optional[str] = ...) -> None: ...

class GetCreditLineResponse(_message.Message):
    __slots__ = ("credit_line",)
    CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    credit_line: _types_pb2.CreditLine
    def __init__(self, credit_line: _Optional[_Union[_types_pb2.CreditLine, _Mapping]] = ...) -> None: ...

class GetProposalRequest(_message.Message):
    __slots__ = ("proposal_id",)
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    def __init__(self, proposal_id: _Optional[str] = ...) -> None: ...

class GetProposalResponse(_message.Message):
    __slots__ = ("proposal", "events")
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    proposal: _types_pb2.Proposal
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    def __init__(self, proposal: _Optional[_Union[_types_pb2.Proposal, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ...) -> None: ...

class ListProposalsRequest(_message.Message):
    __slots__ = ("open_only", "page_token", "page_size")
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    open_only: bool
    page_token: str
    page_size: int
    def __init__(self, open_only: _Optional[bool] = ..., page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListProposalsResponse(_message.Message):
    __slots__ = ("proposals", "next_page_token")
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    proposals: _containers.RepeatedCompositeFieldContainer[_types_pb2.Proposal]
    next_page_token: str
    def __init__(self, proposals: _Optional[_Iterable[_Union[_types_pb2.Proposal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ("org_id", "account_id", "from_height", "to_height", "page_token", "page_size")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    account_id: str
    from_height: int
    to_height: int
    page_token: str
    page_size: int
    def __init__(self, org_id: _Optional[str] = ..., account_id: _Optional[str] = ..., from_height: _Optional[int] = ..., to_height: _Optional[int] = ..., page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("height", "tx_index", "event_index", "event")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    height: int
    tx_index: int
    event_index: int
    event: _types_pb2.Event
    def __init__(self, height: _Optional[int] = ..., tx_index: _Optional[int] = ..., event_index: _Optional[int] = ..., event: _Optional[_Union[_types_pb2.Event, _Mapping]] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetPledgeRequest(_message.Message):
    __slots__ = ("registration_number", "voucher_id", "receipt_id")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    voucher_id: str
    receipt_id: str
    def __init__(self, registration_number: _Optional[str] = ..., voucher_id: _Optional[str] = ..., receipt_id: _Optional[str] = ...) -> None: ...

class GetPledgeResponse(_message.Message):
    __slots__ = ("pledge",)
    PLEDGE_FIELD_NUMBER: _ClassVar[int]
    pledge: _types_pb2.Pledge
    def __init__(self, pledge: _Optional[_Union[_types_pb2.Pledge, _Mapping]] = ...) -> None: ...

class GetWarehouseReceiptRequest(_message.Message):
    __slots__ = ("receipt_id",)
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    def __init__(self, receipt_id: _Optional[str] = ...) -> None: ...

class GetWarehouseReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: _types_pb2.WarehouseReceipt
    def __init__(self, receipt: _Optional[_Union[_types_pb2.WarehouseReceipt, _Mapping]] = ...) -> None: ...

class GetDeviceRequest(_message.Message):
    __slots__ = ("device_id",)
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    def __init__(self, device_id: _Optional[str] = ...) -> None: ...

class GetDeviceResponse(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: _types_pb2.Device
    def __init__(self, device: _Optional[_Union[_types_pb2.Device, _Mapping]] = ...) -> None: ...

class GetBlockRequest(_message.Message):
    __slots__ = ("height", "hash")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    height: int
    hash: bytes
    def __init__(self, height: _Optional[int] = ..., hash: _Optional[bytes] = ...) -> None: ...

class GetBlockResponse(_message.Message):
    __slots__ = ("block", "block_hash", "certificate")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    block: _types_pb2.Block
    block_hash: bytes
    certificate: _types_pb2.CommitCertificate
    def __init__(self, block: _Optional[_Union[_types_pb2.Block, _Mapping]] = ..., block_hash: _Optional[bytes] = ..., certificate: _Optional[_Union[_types_pb2.CommitCertificate, _Mapping]] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("tx_hash",)
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    def __init__(self, tx_hash: _Optional[bytes] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("transaction", "result", "height", "index", "block_hash", "time_ms")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    transaction: _types_pb2.SignedTransaction
    result: _types_pb2.TxResult
    height: int
    index: int
    block_hash: bytes
    time_ms: int
    def __init__(self, transaction: _Optional[_Union[_types_pb2.SignedTransaction, _Mapping]] = ..., result: _Optional[_Union[_types_pb2.TxResult, _Mapping]] = ..., height: _Optional[int] = ..., index: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., time_ms: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("chain_id", "node_id", "consensus", "height", "head_hash", "state_root", "head_time_ms", "mempool_size", "genesis_hash", "version", "params", "members", "leader", "voters", "syncing", "snapshots_installed", "certificates_expiring", "certificate_warning_days", "blocks_ahead_of_clock", "votes_refused_from", "voting_forbidden", "consensus_view", "certified_height", "certification_lag", "equivocations", "proposals_refused", "resources", "rules_version", "rules_pending_version", "rules_activation_height", "rules_version_max")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    HEAD_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    MEMPOOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    GENESIS_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    SYNCING_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_INSTALLED_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_EXPIRING_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_WARNING_DAYS_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_AHEAD_OF_CLOCK_FIELD_NUMBER: _ClassVar[int]
    VOTES_REFUSED_FROM_FIELD_NUMBER: _ClassVar[int]
    VOTING_FORBIDDEN_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_VIEW_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATION_LAG_FIELD_NUMBER: _ClassVar[int]
    EQUIVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    PROPOSALS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_PENDING_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_ACTIVATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_MAX_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    node_id: str
    consensus: str
    height: int
    head_hash: bytes
    state_root: bytes
    head_time_ms: int
    mempool_size: int
    genesis_hash: bytes
    version: str
    params: _types_pb2.ChainParams
    members: _containers.RepeatedCompositeFieldContainer[_types_pb2.Organisation]
    leader: str
    voters: _containers.RepeatedScalarFieldContainer[str]
    syncing: bool
    snapshots_installed: int
    certificates_expiring: _containers.RepeatedCompositeFieldContainer[_types_pb2.CertificateRecord]
    certificate_warning_days: int
    blocks_ahead_of_clock: int
    votes_refused_from: _containers.RepeatedScalarFieldContainer[str]
    voting_forbidden: bool
    consensus_view: int
    certified_height: int
    certification_lag: int
    equivocations: _containers.RepeatedCompositeFieldContainer[_types_pb2.EquivocationEvidence]
    proposals_refused: int
    resources: ResourceUsage
    rules_version: int
    rules_pending_version: int
    rules_activation_height: int
    rules_version_max: int
    def __init__(self, chain_id: _Optional[str] = ..., node_id: _Optional[str] = ..., consensus: _Optional[str] = ..., height: _Optional[int] = ..., head_hash: _Optional[bytes] = ..., state_root: _Optional[bytes] = ..., head_time_ms: _Optional[int] = ..., mempool_size: _Optional[int] = ..., genesis_hash: _Optional[bytes] = ..., version: _Optional[str] = ..., params: _Optional[_Union[_types_pb2.ChainParams, _Mapping]] = ..., members: _Optional[_Iterable[_Union[_types_pb2.Organisation, _Mapping]]] = ..., leader: _Optional[str] = ..., voters: _Optional[_Iterable[str]] = ..., syncing: _Optional[bool] = ..., snapshots_installed: _Optional[int] = ..., certificates_expiring: _Optional[_Iterable[_Union[_types_pb2.CertificateRecord, _Mapping]]] = ..., certificate_warning_days: _Optional[int] = ..., blocks_ahead_of_clock: _Optional[int] = ..., votes_refused_from: _Optional[_Iterable[str]] = ..., voting_forbidden: _Optional[bool] = ..., consensus_view: _Optional[int] = ..., certified_height: _Optional[int] = ..., certification_lag: _Optional[int] = ..., equivocations: _Optional[_Iterable[_Union[_types_pb2.EquivocationEvidence, _Mapping]]] = ..., proposals_refused: _Optional[int] = ..., resources: _Optional[_Union[ResourceUsage, _Mapping]] = ..., rules_version: _Optional[int] = ..., rules_pending_version: _Optional[int] = ..., rules_activation_height: _Optional[int] = ..., rules_version_max: _Optional[int] = ...) -> None: ...

class ResourceUsage(_message.Message):
    __slots__ = ("resident_bytes", "consensus_log_bytes", "mempool_bytes", "memtable_bytes", "block_cache_bytes", "wal_bytes", "table_bytes", "checkpoint_log_index", "block_bytes")
    RESIDENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_LOG_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMPOOL_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMTABLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CACHE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    TABLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    BLOCK_BYTES_FIELD_NUMBER: _ClassVar[int]
    resident_bytes: int
    consensus_log_bytes: int
    mempool_bytes: int
    memtable_bytes: int
    block_cache_bytes: int
    wal_bytes: int
    table_bytes: int
    checkpoint_log_index: int
    block_bytes: int
    def __init__(self, resident_bytes: _Optional[int] = ..., consensus_log_bytes: _Optional[int] = ..., mempool_bytes: _Optional[int] = ..., memtable_bytes: _Optional[int] = ..., block_cache_bytes: _Optional[int] = ..., wal_bytes: _Optional[int] = ..., table_bytes: _Optional[int] = ..., checkpoint_log_index: _Optional[int] = ..., block_bytes: _Optional[int] = ...) -> None: ...

class GetStateProofRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    def __init__(self, key: _Optional[bytes] = ...) -> None: ...

class GetStateProofResponse(_message.Message):
    __slots__ = ("key", "value", "found", "proof", "state_root", "height")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    found: bool
    proof: bytes
    state_root: bytes
    height: int
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ..., found: _Optional[bool] = ..., proof: _Optional[bytes] = ..., state_root: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class SubscribeEventsRequest(_message.Message):
    __slots__ = ("from_height", "account_id", "voucher_id")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    account_id: str
    voucher_id: str
    def __init__(self, from_height: _Optional[int] = ..., account_id: _Optional[str] = ..., voucher_id: _Optional[str] = ...) -> None: ...

class EventEnvelope(_message.Message):
    __slots__ = ("event", "alert")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.Event
    alert: NodeAlert
    def __init__(self, event: _Optional[_Union[_types_pb2.Event, _Mapping]] = ..., alert: _Optional[_Union[NodeAlert, _Mapping]] = ...) -> None: ...

class NodeAlert(_message.Message):
    __slots__ = ("equivocation", "rules_upgrade_unsupported")
    EQUIVOCATION_FIELD_NUMBER: _ClassVar[int]
    RULES_UPGRADE_UNSUPPORTED_FIELD_NUMBER: _ClassVar[int]
    equivocation: _types_pb2.EquivocationEvidence
    rules_upgrade_unsupported: RulesUpgradeUnsupported
    def __init__(self, equivocation: _Optional[_Union[_types_pb2.EquivocationEvidence, _Mapping]] = ..., rules_upgrade_unsupported: _Optional[_Union[RulesUpgradeUnsupported, _Mapping]] = ...) -> None: ...

class RulesUpgradeUnsupported(_message.Message):
    __slots__ = ("version", "activation_height", "rules_version_max", "proposal_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_MAX_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    activation_height: int
    rules_version_max: int
    proposal_id: str
    def __init__(self, version: _Optional[int] = ..., activation_height: _Optional[int] = ..., rules_version_max: _Optional[int] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class AdvanceClockRequest(_message.Message):
    __slots__ = ("milliseconds",)
    MILLISECONDS_FIELD_NUMBER: _ClassVar[int]
    milliseconds: int
    def __init__(self, milliseconds: _Optional[int] = ...) -> None: ...

class AdvanceClockResponse(_message.Message):
    __slots__ = ("clock_offset_ms", "chain_time_ms")
    CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    clock_offset_ms: int
    chain_time_ms: int
    def __init__(self, clock_offset_ms: _Optional[int] = ..., chain_time_ms: _Optional[int] = ...) -> None: ...
