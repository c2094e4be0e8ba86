from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_ADMINISTRATOR: _ClassVar[Role]
    ROLE_FINANCIER: _ClassVar[Role]
    ROLE_CORE_ENTERPRISE: _ClassVar[Role]
    ROLE_SUPPLIER: _ClassVar[Role]
    ROLE_REGULATOR: _ClassVar[Role]
    ROLE_WAREHOUSE_OPERATOR: _ClassVar[Role]

class PledgeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLEDGE_MODE_UNSPECIFIED: _ClassVar[PledgeMode]
    PLEDGE_MODE_STATIC: _ClassVar[PledgeMode]
    PLEDGE_MODE_DYNAMIC: _ClassVar[PledgeMode]

class DeviceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_KIND_UNSPECIFIED: _ClassVar[DeviceKind]
    DEVICE_KIND_SCALE: _ClassVar[DeviceKind]
    DEVICE_KIND_GATE: _ClassVar[DeviceKind]
    DEVICE_KIND_CLIMATE: _ClassVar[DeviceKind]
    DEVICE_KIND_GPS: _ClassVar[DeviceKind]
    DEVICE_KIND_LOCK: _ClassVar[DeviceKind]
    DEVICE_KIND_RFID: _ClassVar[DeviceKind]

class DeviceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_STATUS_UNSPECIFIED: _ClassVar[DeviceStatus]
    DEVICE_STATUS_ACTIVE: _ClassVar[DeviceStatus]
    DEVICE_STATUS_REVOKED: _ClassVar[DeviceStatus]

class PledgeHealth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLEDGE_HEALTH_UNSPECIFIED: _ClassVar[PledgeHealth]
    PLEDGE_HEALTH_OK: _ClassVar[PledgeHealth]
    PLEDGE_HEALTH_AT_RISK: _ClassVar[PledgeHealth]
    PLEDGE_HEALTH_BREACHED: _ClassVar[PledgeHealth]

class HealthCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_CAUSE_UNSPECIFIED: _ClassVar[HealthCause]
    HEALTH_CAUSE_GOODS_SHORT: _ClassVar[HealthCause]
    HEALTH_CAUSE_STATIC_GOODS_MOVED: _ClassVar[HealthCause]
    HEALTH_CAUSE_BELOW_FLOOR: _ClassVar[HealthCause]
    HEALTH_CAUSE_TEMPERATURE: _ClassVar[HealthCause]
    HEALTH_CAUSE_OUT_OF_FENCE: _ClassVar[HealthCause]
    HEALTH_CAUSE_LOCK_OPENED: _ClassVar[HealthCause]

class WarehouseReceiptStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WAREHOUSE_RECEIPT_STATUS_UNSPECIFIED: _ClassVar[WarehouseReceiptStatus]
    WAREHOUSE_RECEIPT_STATUS_ACTIVE: _ClassVar[WarehouseReceiptStatus]
    WAREHOUSE_RECEIPT_STATUS_EMPTIED: _ClassVar[WarehouseReceiptStatus]

class PledgeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLEDGE_STATUS_UNSPECIFIED: _ClassVar[PledgeStatus]
    PLEDGE_STATUS_ACTIVE: _ClassVar[PledgeStatus]
    PLEDGE_STATUS_RELEASED: _ClassVar[PledgeStatus]
    PLEDGE_STATUS_ENFORCED: _ClassVar[PledgeStatus]
    PLEDGE_STATUS_LAPSED: _ClassVar[PledgeStatus]

class ProposalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPOSAL_STATUS_UNSPECIFIED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_OPEN: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_PASSED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_REJECTED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_EXPIRED: _ClassVar[ProposalStatus]

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OK: _ClassVar[ErrorCode]
    MALFORMED: _ClassVar[ErrorCode]
    WRONG_CHAIN: _ClassVar[ErrorCode]
    BAD_SIGNATURE: _ClassVar[ErrorCode]
    UNKNOWN_ACCOUNT: _ClassVar[ErrorCode]
    KEY_MISMATCH: _ClassVar[ErrorCode]
    BAD_NONCE: _ClassVar[ErrorCode]
    ACCOUNT_FROZEN: _ClassVar[ErrorCode]
    IDENTITY_INACTIVE: _ClassVar[ErrorCode]
    TOO_LARGE: _ClassVar[ErrorCode]
    ACCOUNT_CANCELLED: _ClassVar[ErrorCode]
    NONCE_TAKEN: _ClassVar[ErrorCode]
    MEMPOOL_FULL: _ClassVar[ErrorCode]
    WRONG_ROLE: _ClassVar[ErrorCode]
    NOT_SAME_ORGANISATION: _ClassVar[ErrorCode]
    NOT_HOLDER: _ClassVar[ErrorCode]
    NOT_ISSUER: _ClassVar[ErrorCode]
    INVALID_ARGUMENT: _ClassVar[ErrorCode]
    INVALID_USCC: _ClassVar[ErrorCode]
    INVALID_ACCOUNT_ID: _ClassVar[ErrorCode]
    INVALID_PUBLIC_KEY: _ClassVar[ErrorCode]
    INVALID_AMOUNT: _ClassVar[ErrorCode]
    INVALID_CURRENCY: _ClassVar[ErrorCode]
    INVALID_DATE: _ClassVar[ErrorCode]
    MATURITY_NOT_IN_FUTURE: _ClassVar[ErrorCode]
    TENOR_TOO_LONG: _ClassVar[ErrorCode]
    IDENTITY_EXISTS: _ClassVar[ErrorCode]
    ACCOUNT_EXISTS: _ClassVar[ErrorCode]
    IDENTITY_NOT_FOUND: _ClassVar[ErrorCode]
    ACCOUNT_NOT_FOUND: _ClassVar[ErrorCode]
    VOUCHER_NOT_FOUND: _ClassVar[ErrorCode]
    CREDIT_LINE_NOT_FOUND: _ClassVar[ErrorCode]
    CREDIT_LINE_EXISTS: _ClassVar[ErrorCode]
    TRANSACTION_NOT_FOUND: _ClassVar[ErrorCode]
    BLOCK_NOT_FOUND: _ClassVar[ErrorCode]
    CREDIT_LINE_EXCEEDED: _ClassVar[ErrorCode]
    CREDIT_LINE_REVOKED: _ClassVar[ErrorCode]
    CREDIT_LINE_BELOW_OUTSTANDING: _ClassVar[ErrorCode]
    CURRENCY_MISMATCH: _ClassVar[ErrorCode]
    DUPLICATE_TRADE_DOCUMENT: _ClassVar[ErrorCode]
    VOUCHER_NOT_ACTIVE: _ClassVar[ErrorCode]
    VOUCHER_FROZEN: _ClassVar[ErrorCode]
    VOUCHER_NOT_FROZEN: _ClassVar[ErrorCode]
    VOUCHER_MATURED: _ClassVar[ErrorCode]
    VOUCHER_NOT_MATURED: _ClassVar[ErrorCode]
    SPLIT_SUM_MISMATCH: _ClassVar[ErrorCode]
    SPLIT_BELOW_MINIMUM: _ClassVar[ErrorCode]
    SPLIT_FANOUT: _ClassVar[ErrorCode]
    INVALID_RECIPIENT: _ClassVar[ErrorCode]
    ACCOUNT_ALREADY_FROZEN: _ClassVar[ErrorCode]
    ACCOUNT_NOT_FROZEN: _ClassVar[ErrorCode]
    REDEMPTION_NOT_REQUESTED: _ClassVar[ErrorCode]
    ARITHMETIC_OVERFLOW: _ClassVar[ErrorCode]
    LINEAGE_TOO_DEEP: _ClassVar[ErrorCode]
    GRACE_PERIOD_ENDED: _ClassVar[ErrorCode]
    CONSENSUS_NODE_EXISTS: _ClassVar[ErrorCode]
    CONSENSUS_NODE_NOT_FOUND: _ClassVar[ErrorCode]
    CONSENSUS_NODE_LAST: _ClassVar[ErrorCode]
    CONSENSUS_ENGINE_STATIC: _ClassVar[ErrorCode]
    CONSENSUS_NODES_FULL: _ClassVar[ErrorCode]
    PROPOSAL_NOT_FOUND: _ClassVar[ErrorCode]
    PROPOSAL_NOT_OPEN: _ClassVar[ErrorCode]
    PROPOSAL_EXPIRED: _ClassVar[ErrorCode]
    PROPOSAL_ALREADY_VOTED: _ClassVar[ErrorCode]
    PROPOSAL_REQUIRED: _ClassVar[ErrorCode]
    INVALID_PROPOSAL: _ClassVar[ErrorCode]
    ORGANISATION_EXISTS: _ClassVar[ErrorCode]
    ORGANISATION_NOT_FOUND: _ClassVar[ErrorCode]
    ORGANISATION_LAST: _ClassVar[ErrorCode]
    ORGANISATION_RUNS_NODES: _ClassVar[ErrorCode]
    ORGANISATIONS_FULL: _ClassVar[ErrorCode]
    RULES_VERSION_INVALID: _ClassVar[ErrorCode]
    RULES_ACTIVATION_HEIGHT_INVALID: _ClassVar[ErrorCode]
    RULES_UPGRADE_PENDING: _ClassVar[ErrorCode]
    RULES_VERSION_REQUIRED: _ClassVar[ErrorCode]
    CERTIFICATE_INVALID: _ClassVar[ErrorCode]
    CERTIFICATE_EXPIRED: _ClassVar[ErrorCode]
    CERTIFICATE_NOT_YET_VALID: _ClassVar[ErrorCode]
    CERTIFICATE_REVOKED: _ClassVar[ErrorCode]
    CERTIFICATE_REQUIRED: _ClassVar[ErrorCode]
    CERTIFICATE_MISMATCH: _ClassVar[ErrorCode]
    CERTIFICATE_NOT_FOUND: _ClassVar[ErrorCode]
    CERTIFICATE_EXISTS: _ClassVar[ErrorCode]
    CERTIFICATE_ALREADY_REVOKED: _ClassVar[ErrorCode]
    ACCOUNT_HOLDS_VOUCHERS: _ClassVar[ErrorCode]
    VOUCHER_PLEDGED: _ClassVar[ErrorCode]
    PLEDGE_NOT_FOUND: _ClassVar[ErrorCode]
    PLEDGE_NOT_ACTIVE: _ClassVar[ErrorCode]
    NOT_PLEDGEE: _ClassVar[ErrorCode]
    BAD_MODIFICATION_CODE: _ClassVar[ErrorCode]
    RECEIPT_NOT_FOUND: _ClassVar[ErrorCode]
    GOODS_LOCKED: _ClassVar[ErrorCode]
    INSUFFICIENT_GOODS: _ClassVar[ErrorCode]
    DEVICE_NOT_FOUND: _ClassVar[ErrorCode]
    DEVICE_REVOKED: _ClassVar[ErrorCode]
    DEVICE_EXISTS: _ClassVar[ErrorCode]
    READING_SIGNATURE_INVALID: _ClassVar[ErrorCode]
    READING_REPLAYED: _ClassVar[ErrorCode]
    READING_STALE: _ClassVar[ErrorCode]
    READING_MISMATCH: _ClassVar[ErrorCode]
    READ_UNSIGNED: _ClassVar[ErrorCode]
    READ_MALFORMED: _ClassVar[ErrorCode]
    READ_TIME_SKEW: _ClassVar[ErrorCode]
    NOT_A_PARTY: _ClassVar[ErrorCode]
    UNSUPPORTED: _ClassVar[ErrorCode]
    NODE_UNAVAILABLE: _ClassVar[ErrorCode]
    NODE_FAULT: _ClassVar[ErrorCode]
    STREAMS_FULL: _ClassVar[ErrorCode]
    STREAM_LAGGED: _ClassVar[ErrorCode]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_ISSUED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_SPLIT: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_CREATED_BY_SPLIT: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_TRANSFERRED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_FINANCED: _ClassVar[EventKind]
    EVENT_KIND_REDEMPTION_REQUESTED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_REDEEMED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_DESTROYED: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_FROZEN: _ClassVar[EventKind]
    EVENT_KIND_VOUCHER_UNFROZEN: _ClassVar[EventKind]
    EVENT_KIND_IDENTITY_REGISTERED: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_REGISTERED: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_FROZEN: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_UNFROZEN: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_CANCELLED: _ClassVar[EventKind]
    EVENT_KIND_CREDIT_LINE_GRANTED: _ClassVar[EventKind]
    EVENT_KIND_CREDIT_LINE_RAISED: _ClassVar[EventKind]
    EVENT_KIND_CREDIT_LINE_LOWERED: _ClassVar[EventKind]
    EVENT_KIND_CREDIT_LINE_REVOKED: _ClassVar[EventKind]
    EVENT_KIND_CONSENSUS_NODE_ADDED: _ClassVar[EventKind]
    EVENT_KIND_CONSENSUS_NODE_REMOVED: _ClassVar[EventKind]
    EVENT_KIND_PROPOSAL_SUBMITTED: _ClassVar[EventKind]
    EVENT_KIND_PROPOSAL_VOTED: _ClassVar[EventKind]
    EVENT_KIND_PROPOSAL_PASSED: _ClassVar[EventKind]
    EVENT_KIND_PROPOSAL_REJECTED: _ClassVar[EventKind]
    EVENT_KIND_PROPOSAL_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_ORGANISATION_ADDED: _ClassVar[EventKind]
    EVENT_KIND_ORGANISATION_REMOVED: _ClassVar[EventKind]
    EVENT_KIND_ORGANISATION_CA_ROTATED: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_KEY_ROTATED: _ClassVar[EventKind]
    EVENT_KIND_CERTIFICATE_REVOKED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_REGISTERED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_AMENDED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_RELEASED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_ENFORCED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_LAPSED: _ClassVar[EventKind]
    EVENT_KIND_RECEIPT_ISSUED: _ClassVar[EventKind]
    EVENT_KIND_RECEIPT_TRANSFERRED: _ClassVar[EventKind]
    EVENT_KIND_GOODS_RELEASED: _ClassVar[EventKind]
    EVENT_KIND_DEVICE_REGISTERED: _ClassVar[EventKind]
    EVENT_KIND_DEVICE_REVOKED: _ClassVar[EventKind]
    EVENT_KIND_READING_RECORDED: _ClassVar[EventKind]
    EVENT_KIND_PLEDGE_ALERT: _ClassVar[EventKind]
    EVENT_KIND_CHAIN_PARAMS_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_RULES_UPGRADE_SCHEDULED: _ClassVar[EventKind]
    EVENT_KIND_RULES_UPGRADE_ACTIVATED: _ClassVar[EventKind]

class IdentityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_STATUS_UNSPECIFIED: _ClassVar[IdentityStatus]
    IDENTITY_STATUS_ACTIVE: _ClassVar[IdentityStatus]
    IDENTITY_STATUS_REVOKED: _ClassVar[IdentityStatus]

class AccountStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATUS_UNSPECIFIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_ACTIVE: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_FROZEN: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_CANCELLED: _ClassVar[AccountStatus]

class CertificateStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_STATUS_UNSPECIFIED: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_ACTIVE: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_REVOKED: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_SUPERSEDED: _ClassVar[CertificateStatus]

class CreditLineStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_LINE_STATUS_UNSPECIFIED: _ClassVar[CreditLineStatus]
    CREDIT_LINE_STATUS_ACTIVE: _ClassVar[CreditLineStatus]
    CREDIT_LINE_STATUS_REVOKED: _ClassVar[CreditLineStatus]

class VoucherStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_STATUS_UNSPECIFIED: _ClassVar[VoucherStatus]
    VOUCHER_STATUS_ACTIVE: _ClassVar[VoucherStatus]
    VOUCHER_STATUS_SPLIT: _ClassVar[VoucherStatus]
    VOUCHER_STATUS_REDEMPTION_REQUESTED: _ClassVar[VoucherStatus]
    VOUCHER_STATUS_REDEEMED: _ClassVar[VoucherStatus]
    VOUCHER_STATUS_DESTROYED: _ClassVar[VoucherStatus]
ROLE_UNSPECIFIED: Role
ROLE_ADMINISTRATOR: Role
ROLE_FINANCIER: Role
ROLE_CORE_ENTERPRISE: Role
ROLE_SUPPLIER: Role
ROLE_REGULATOR: Role
ROLE_WAREHOUSE_OPERATOR: Role
PLEDGE_MODE_UNSPECIFIED: PledgeMode
PLEDGE_MODE_STATIC: PledgeMode
PLEDGE_MODE_DYNAMIC: PledgeMode
DEVICE_KIND_UNSPECIFIED: DeviceKind
DEVICE_KIND_SCALE: DeviceKind
DEVICE_KIND_GATE: DeviceKind
DEVICE_KIND_CLIMATE: DeviceKind
DEVICE_KIND_GPS: DeviceKind
DEVICE_KIND_LOCK: DeviceKind
DEVICE_KIND_RFID: DeviceKind
DEVICE_STATUS_UNSPECIFIED: DeviceStatus
DEVICE_STATUS_ACTIVE: DeviceStatus
DEVICE_STATUS_REVOKED: DeviceStatus
PLEDGE_HEALTH_UNSPECIFIED: PledgeHealth
PLEDGE_HEALTH_OK: PledgeHealth
PLEDGE_HEALTH_AT_RISK: PledgeHealth
PLEDGE_HEALTH_BREACHED: PledgeHealth
HEALTH_CAUSE_UNSPECIFIED: HealthCause
HEALTH_CAUSE_GOODS_SHORT: HealthCause
HEALTH_CAUSE_STATIC_GOODS_MOVED: HealthCause
HEALTH_CAUSE_BELOW_FLOOR: HealthCause
HEALTH_CAUSE_TEMPERATURE: HealthCause
HEALTH_CAUSE_OUT_OF_FENCE: HealthCause
HEALTH_CAUSE_LOCK_OPENED: HealthCause
WAREHOUSE_RECEIPT_STATUS_UNSPECIFIED: WarehouseReceiptStatus
WAREHOUSE_RECEIPT_STATUS_ACTIVE: WarehouseReceiptStatus
WAREHOUSE_RECEIPT_STATUS_EMPTIED: WarehouseReceiptStatus
PLEDGE_STATUS_UNSPECIFIED: PledgeStatus
PLEDGE_STATUS_ACTIVE: PledgeStatus
PLEDGE_STATUS_RELEASED: PledgeStatus
PLEDGE_STATUS_ENFORCED: PledgeStatus
PLEDGE_STATUS_LAPSED: PledgeStatus
PROPOSAL_STATUS_UNSPECIFIED: ProposalStatus
PROPOSAL_STATUS_OPEN: ProposalStatus
PROPOSAL_STATUS_PASSED: ProposalStatus
PROPOSAL_STATUS_REJECTED: ProposalStatus
PROPOSAL_STATUS_EXPIRED: ProposalStatus
OK: ErrorCode
MALFORMED: ErrorCode
WRONG_CHAIN: ErrorCode
BAD_SIGNATURE: ErrorCode
UNKNOWN_ACCOUNT: ErrorCode
KEY_MISMATCH: ErrorCode
BAD_NONCE: ErrorCode
ACCOUNT_FROZEN: ErrorCode
IDENTITY_INACTIVE: ErrorCode
TOO_LARGE: ErrorCode
ACCOUNT_CANCELLED: ErrorCode
NONCE_TAKEN: ErrorCode
MEMPOOL_FULL: ErrorCode
WRONG_ROLE: ErrorCode
NOT_SAME_ORGANISATION: ErrorCode
NOT_HOLDER: ErrorCode
NOT_ISSUER: ErrorCode
INVALID_ARGUMENT: ErrorCode
INVALID_USCC: ErrorCode
INVALID_ACCOUNT_ID: ErrorCode
INVALID_PUBLIC_KEY: ErrorCode
INVALID_AMOUNT: ErrorCode
INVALID_CURRENCY: ErrorCode
INVALID_DATE: ErrorCode
MATURITY_NOT_IN_FUTURE: ErrorCode
TENOR_TOO_LONG: ErrorCode
IDENTITY_EXISTS: ErrorCode
ACCOUNT_EXISTS: ErrorCode
IDENTITY_NOT_FOUND: ErrorCode
ACCOUNT_NOT_FOUND: ErrorCode
VOUCHER_NOT_FOUND: ErrorCode
CREDIT_LINE_NOT_FOUND: ErrorCode
CREDIT_LINE_EXISTS: ErrorCode
TRANSACTION_NOT_FOUND: ErrorCode
BLOCK_NOT_FOUND: ErrorCode
CREDIT_LINE_EXCEEDED: ErrorCode
CREDIT_LINE_REVOKED: ErrorCode
CREDIT_LINE_BELOW_OUTSTANDING: ErrorCode
CURRENCY_MISMATCH: ErrorCode
DUPLICATE_TRADE_DOCUMENT: ErrorCode
VOUCHER_NOT_ACTIVE: ErrorCode
VOUCHER_FROZEN: ErrorCode
VOUCHER_NOT_FROZEN: ErrorCode
VOUCHER_MATURED: ErrorCode
VOUCHER_NOT_MATURED: ErrorCode
SPLIT_SUM_MISMATCH: ErrorCode
SPLIT_BELOW_MINIMUM: ErrorCode
SPLIT_FANOUT: ErrorCode
INVALID_RECIPIENT: ErrorCode
ACCOUNT_ALREADY_FROZEN: ErrorCode
ACCOUNT_NOT_FROZEN: ErrorCode
REDEMPTION_NOT_REQUESTED: ErrorCode
ARITHMETIC_OVERFLOW: ErrorCode
LINEAGE_TOO_DEEP: ErrorCode
GRACE_PERIOD_ENDED: ErrorCode
CONSENSUS_NODE_EXISTS: ErrorCode
CONSENSUS_NODE_NOT_FOUND: ErrorCode
CONSENSUS_NODE_LAST: ErrorCode
CONSENSUS_ENGINE_STATIC: ErrorCode
CONSENSUS_NODES_FULL: ErrorCode
PROPOSAL_NOT_FOUND: ErrorCode
PROPOSAL_NOT_OPEN: ErrorCode
PROPOSAL_EXPIRED: ErrorCode
PROPOSAL_ALREADY_VOTED: ErrorCode
PROPOSAL_REQUIRED: ErrorCode
INVALID_PROPOSAL: ErrorCode
ORGANISATION_EXISTS: ErrorCode
ORGANISATION_NOT_FOUND: ErrorCode
ORGANISATION_LAST: ErrorCode
ORGANISATION_RUNS_NODES: ErrorCode
ORGANISATIONS_FULL: ErrorCode
RULES_VERSION_INVALID: ErrorCode
RULES_ACTIVATION_HEIGHT_INVALID: ErrorCode
RULES_UPGRADE_PENDING: ErrorCode
RULES_VERSION_REQUIRED: ErrorCode
CERTIFICATE_INVALID: ErrorCode
CERTIFICATE_EXPIRED: ErrorCode
CERTIFICATE_NOT_YET_VALID: ErrorCode
CERTIFICATE_REVOKED: ErrorCode
CERTIFICATE_REQUIRED: ErrorCode
CERTIFICATE_MISMATCH: ErrorCode
CERTIFICATE_NOT_FOUND: ErrorCode
CERTIFICATE_EXISTS: ErrorCode
CERTIFICATE_ALREADY_REVOKED: ErrorCode
ACCOUNT_HOLDS_VOUCHERS: ErrorCode
VOUCHER_PLEDGED: ErrorCode
PLEDGE_NOT_FOUND: ErrorCode
PLEDGE_NOT_ACTIVE: ErrorCode
NOT_PLEDGEE: ErrorCode
BAD_MODIFICATION_CODE: ErrorCode
RECEIPT_NOT_FOUND: ErrorCode
GOODS_LOCKED: ErrorCode
INSUFFICIENT_GOODS: ErrorCode
DEVICE_NOT_FOUND: ErrorCode
DEVICE_REVOKED: ErrorCode
DEVICE_EXISTS: ErrorCode
READING_SIGNATURE_INVALID: ErrorCode
READING_REPLAYED: ErrorCode
READING_STALE: ErrorCode
READING_MISMATCH: ErrorCode
READ_UNSIGNED: ErrorCode
READ_MALFORMED: ErrorCode
READ_TIME_SKEW: ErrorCode
NOT_A_PARTY: ErrorCode
UNSUPPORTED: ErrorCode
NODE_UNAVAILABLE: ErrorCode
NODE_FAULT: ErrorCode
STREAMS_FULL: ErrorCode
STREAM_LAGGED: ErrorCode
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_VOUCHER_ISSUED: EventKind
EVENT_KIND_VOUCHER_SPLIT: EventKind
EVENT_KIND_VOUCHER_CREATED_BY_SPLIT: EventKind
EVENT_KIND_VOUCHER_TRANSFERRED: EventKind
EVENT_KIND_VOUCHER_FINANCED: EventKind
EVENT_KIND_REDEMPTION_REQUESTED: EventKind
EVENT_KIND_VOUCHER_REDEEMED: EventKind
EVENT_KIND_VOUCHER_DESTROYED: EventKind
EVENT_KIND_VOUCHER_FROZEN: EventKind
EVENT_KIND_VOUCHER_UNFROZEN: EventKind
EVENT_KIND_IDENTITY_REGISTERED: EventKind
EVENT_KIND_ACCOUNT_REGISTERED: EventKind
EVENT_KIND_ACCOUNT_FROZEN: EventKind
EVENT_KIND_ACCOUNT_UNFROZEN: EventKind
EVENT_KIND_ACCOUNT_CANCELLED: EventKind
EVENT_KIND_CREDIT_LINE_GRANTED: EventKind
EVENT_KIND_CREDIT_LINE_RAISED: EventKind
EVENT_KIND_CREDIT_LINE_LOWERED: EventKind
EVENT_KIND_CREDIT_LINE_REVOKED: EventKind
EVENT_KIND_CONSENSUS_NODE_ADDED: EventKind
EVENT_KIND_CONSENSUS_NODE_REMOVED: EventKind
EVENT_KIND_PROPOSAL_SUBMITTED: EventKind
EVENT_KIND_PROPOSAL_VOTED: EventKind
EVENT_KIND_PROPOSAL_PASSED: EventKind
EVENT_KIND_PROPOSAL_REJECTED: EventKind
EVENT_KIND_PROPOSAL_EXPIRED: EventKind
EVENT_KIND_ORGANISATION_ADDED: EventKind
EVENT_KIND_ORGANISATION_REMOVED: EventKind
EVENT_KIND_ORGANISATION_CA_ROTATED: EventKind
EVENT_KIND_ACCOUNT_KEY_ROTATED: EventKind
EVENT_KIND_CERTIFICATE_REVOKED: EventKind
EVENT_KIND_PLEDGE_REGISTERED: EventKind
EVENT_KIND_PLEDGE_AMENDED: EventKind
EVENT_KIND_PLEDGE_RELEASED: EventKind
EVENT_KIND_PLEDGE_ENFORCED: EventKind
EVENT_KIND_PLEDGE_LAPSED: EventKind
EVENT_KIND_RECEIPT_ISSUED: EventKind
EVENT_KIND_RECEIPT_TRANSFERRED: EventKind
EVENT_KIND_GOODS_RELEASED: EventKind
EVENT_KIND_DEVICE_REGISTERED: EventKind
EVENT_KIND_DEVICE_REVOKED: EventKind
EVENT_KIND_READING_RECORDED: EventKind
EVENT_KIND_PLEDGE_ALERT: EventKind
EVENT_KIND_CHAIN_PARAMS_CHANGED: EventKind
EVENT_KIND_RULES_UPGRADE_SCHEDULED: EventKind
EVENT_KIND_RULES_UPGRADE_ACTIVATED: EventKind
IDENTITY_STATUS_UNSPECIFIED: IdentityStatus
IDENTITY_STATUS_ACTIVE: IdentityStatus
IDENTITY_STATUS_REVOKED: IdentityStatus
ACCOUNT_STATUS_UNSPECIFIED: AccountStatus
ACCOUNT_STATUS_ACTIVE: AccountStatus
ACCOUNT_STATUS_FROZEN: AccountStatus
ACCOUNT_STATUS_CANCELLED: AccountStatus
CERTIFICATE_STATUS_UNSPECIFIED: CertificateStatus
CERTIFICATE_STATUS_ACTIVE: CertificateStatus
CERTIFICATE_STATUS_REVOKED: CertificateStatus
CERTIFICATE_STATUS_SUPERSEDED: CertificateStatus
CREDIT_LINE_STATUS_UNSPECIFIED: CreditLineStatus
CREDIT_LINE_STATUS_ACTIVE: CreditLineStatus
CREDIT_LINE_STATUS_REVOKED: CreditLineStatus
VOUCHER_STATUS_UNSPECIFIED: VoucherStatus
VOUCHER_STATUS_ACTIVE: VoucherStatus
VOUCHER_STATUS_SPLIT: VoucherStatus
VOUCHER_STATUS_REDEMPTION_REQUESTED: VoucherStatus
VOUCHER_STATUS_REDEEMED: VoucherStatus
VOUCHER_STATUS_DESTROYED: VoucherStatus

class SignedTransaction(_message.Message):
    __slots__ = ("body", "public_key", "signature")
    BODY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    public_key: bytes
    signature: bytes
    def __init__(self, body: _Optional[bytes] = ..., public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class TransactionBody(_message.Message):
    __slots__ = ("chain_id", "signer", "nonce", "register_identity", "register_account", "freeze_account", "unfreeze_account", "rotate_account_key", "revoke_certificate", "cancel_account", "grant_credit_line", "raise_credit_line", "lower_credit_line", "revoke_credit_line", "issue_voucher", "split_voucher", "transfer_voucher", "request_redemption", "confirm_redemption", "freeze_voucher", "unfreeze_voucher", "add_consensus_node", "remove_consensus_node", "submit_proposal", "vote_on_proposal", "register_pledge", "amend_pledge", "release_pledge", "enforce_pledge", "issue_warehouse_receipt", "transfer_warehouse_receipt", "release_goods", "register_device", "revoke_device", "submit_reading")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    REGISTER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REGISTER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    FREEZE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    UNFREEZE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ROTATE_ACCOUNT_KEY_FIELD_NUMBER: _ClassVar[int]
    REVOKE_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    GRANT_CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    RAISE_CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    LOWER_CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_VOUCHER_FIELD_NUMBER: _ClassVar[int]
    SPLIT_VOUCHER_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_VOUCHER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    FREEZE_VOUCHER_FIELD_NUMBER: _ClassVar[int]
    UNFREEZE_VOUCHER_FIELD_NUMBER: _ClassVar[int]
    ADD_CONSENSUS_NODE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_CONSENSUS_NODE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    VOTE_ON_PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    REGISTER_PLEDGE_FIELD_NUMBER: _ClassVar[int]
    AMEND_PLEDGE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_PLEDGE_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_PLEDGE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_WAREHOUSE_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_WAREHOUSE_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_GOODS_FIELD_NUMBER: _ClassVar[int]
    REGISTER_DEVICE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_DEVICE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_READING_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    signer: str
    nonce: int
    register_identity: RegisterIdentity
    register_account: RegisterAccount
    freeze_account: FreezeAccount
    unfreeze_account: UnfreezeAccount
    rotate_account_key: RotateAccountKey
    revoke_certificate: RevokeCertificate
    cancel_account: CancelAccount
    grant_credit_line: GrantCreditLine
    raise_credit_line: RaiseCreditLine
    lower_credit_line: LowerCreditLine
    revoke_credit_line: RevokeCreditLine
    issue_voucher: IssueVoucher
    split_voucher: SplitVoucher
    transfer_voucher: TransferVoucher
    request_redemption: RequestRedemption
    confirm_redemption: ConfirmRedemption
    freeze_voucher: FreezeVoucher
    unfreeze_voucher: UnfreezeVoucher
    add_consensus_node: AddConsensusNode
    remove_consensus_node: RemoveConsensusNode
    submit_proposal: SubmitProposal
    vote_on_proposal: VoteOnProposal
    register_pledge: RegisterPledge
    amend_pledge: AmendPledge
    release_pledge: ReleasePledge
    enforce_pledge: EnforcePledge
    issue_warehouse_receipt: IssueWarehouseReceipt
    transfer_warehouse_receipt: TransferWarehouseReceipt
    release_goods: ReleaseGoods
    register_device: RegisterDevice
    revoke_device: RevokeDevice
    submit_reading: SubmitReading
    def __init__(self, chain_id: _Optional[str] = ..., signer: _Optional[str] = ..., nonce: _Optional[int] = ..., register_identity: _Optional[_Union[RegisterIdentity, _Mapping]] = ..., register_account: _Optional[_Union[RegisterAccount, _Mapping]] = ..., freeze_account: _Optional[_Union[FreezeAccount, _Mapping]] = ..., unfreeze_account: _Optional[_Union[UnfreezeAccount, _Mapping]] = ..., rotate_account_key: _Optional[_Union[RotateAccountKey, _Mapping]] = ..., revoke_certificate: _Optional[_Union[RevokeCertificate, _Mapping]] = ..., cancel_account: _Optional[_Union[CancelAccount, _Mapping]] = ..., grant_credit_line: _Optional[_Union[GrantCreditLine, _Mapping]] = ..., raise_credit_line: _Optional[_Union[RaiseCreditLine, _Mapping]] = ..., lower_credit_line: _Optional[_Union[LowerCreditLine, _Mapping]] = ..., revoke_credit_line: _Optional[_Union[RevokeCreditLine, _Mapping]] = ..., issue_voucher: _Optional[_Union[IssueVoucher, _Mapping]] = ..., split_voucher: _Optional[_Union[SplitVoucher, _Mapping]] = ..., transfer_voucher: _Optional[_Union[TransferVoucher, _Mapping]] = ..., request_redemption: _Optional[_Union[RequestRedemption, _Mapping]] = ..., confirm_redemption: _Optional[_Union[ConfirmRedemption, _Mapping]] = ..., freeze_voucher: _Optional[_Union[FreezeVoucher, _Mapping]] = ..., unfreeze_voucher: _Optional[_Union[UnfreezeVoucher, _Mapping]] = ..., add_consensus_node: _Optional[_Union[AddConsensusNode, _Mapping]] = ..., remove_consensus_node: _Optional[_Union[RemoveConsensusNode, _Mapping]] = ..., submit_proposal: _Optional[_Union[SubmitProposal, _Mapping]] = ..., vote_on_proposal: _Optional[_Union[VoteOnProposal, _Mapping]] = ..., register_pledge: _Optional[_Union[RegisterPledge, _Mapping]] = ..., amend_pledge: _Optional[_Union[AmendPledge, _Mapping]] = ..., release_pledge: _Optional[_Union[ReleasePledge, _Mapping]] = ..., enforce_pledge: _Optional[_Union[EnforcePledge, _Mapping]] = ..., issue_warehouse_receipt: _Optional[_Union[IssueWarehouseReceipt, _Mapping]] = ..., transfer_warehouse_receipt: _Optional[_Union[TransferWarehouseReceipt, _Mapping]] = ..., release_goods: _Optional[_Union[ReleaseGoods, _Mapping]] = ..., register_device: _Optional[_Union[RegisterDevice, _Mapping]] = ..., revoke_device: _Optional[_Union[RevokeDevice, _Mapping]] = ..., submit_reading: _Optional[_Union[SubmitReading, _Mapping]] = ...) -> None: ...

class RegisterIdentity(_message.Message):
    __slots__ = ("uscc", "name", "role", "legal_representative", "account_id", "public_key", "certificate")
    USCC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_REPRESENTATIVE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    name: str
    role: Role
    legal_representative: str
    account_id: str
    public_key: bytes
    certificate: bytes
    def __init__(self, uscc: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., legal_representative: _Optional[str] = ..., account_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class RegisterAccount(_message.Message):
    __slots__ = ("uscc", "account_id", "public_key", "certificate")
    USCC_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    account_id: str
    public_key: bytes
    certificate: bytes
    def __init__(self, uscc: _Optional[str] = ..., account_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class CancelAccount(_message.Message):
    __slots__ = ("account_id", "reason")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    reason: str
    def __init__(self, account_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RotateAccountKey(_message.Message):
    __slots__ = ("account_id", "certificate")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    certificate: bytes
    def __init__(self, account_id: _Optional[str] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class RevokeCertificate(_message.Message):
    __slots__ = ("serial", "reason")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    serial: bytes
    reason: str
    def __init__(self, serial: _Optional[bytes] = ..., reason: _Optional[str] = ...) -> None: ...

class FreezeAccount(_message.Message):
    __slots__ = ("account_id", "reason")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    reason: str
    def __init__(self, account_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnfreezeAccount(_message.Message):
    __slots__ = ("account_id", "reason")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    reason: str
    def __init__(self, account_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GrantCreditLine(_message.Message):
    __slots__ = ("core_enterprise", "currency", "limit")
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    core_enterprise: str
    currency: str
    limit: int
    def __init__(self, core_enterprise: _Optional[str] = ..., currency: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class RaiseCreditLine(_message.Message):
    __slots__ = ("core_enterprise", "amount")
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    core_enterprise: str
    amount: int
    def __init__(self, core_enterprise: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class LowerCreditLine(_message.Message):
    __slots__ = ("core_enterprise", "amount")
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    core_enterprise: str
    amount: int
    def __init__(self, core_enterprise: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class RevokeCreditLine(_message.Message):
    __slots__ = ("core_enterprise", "reason")
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    core_enterprise: str
    reason: str
    def __init__(self, core_enterprise: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TradeDocument(_message.Message):
    __slots__ = ("kind", "number", "hash")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    kind: str
    number: str
    hash: bytes
    def __init__(self, kind: _Optional[str] = ..., number: _Optional[str] = ..., hash: _Optional[bytes] = ...) -> None: ...

class IssueVoucher(_message.Message):
    __slots__ = ("holder", "financier", "amount", "currency", "maturity_date", "trade_document")
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    FINANCIER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MATURITY_DATE_FIELD_NUMBER: _ClassVar[int]
    TRADE_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    holder: str
    financier: str
    amount: int
    currency: str
    maturity_date: str
    trade_document: TradeDocument
    def __init__(self, holder: _Optional[str] = ..., financier: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., maturity_date: _Optional[str] = ..., trade_document: _Optional[_Union[TradeDocument, _Mapping]] = ...) -> None: ...

class SplitVoucher(_message.Message):
    __slots__ = ("voucher_id", "amounts")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    amounts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, voucher_id: _Optional[str] = ..., amounts: _Optional[_Iterable[int]] = ...) -> None: ...

class Consideration(_message.Message):
    __slots__ = ("amount", "currency")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    amount: int
    currency: str
    def __init__(self, amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class TransferVoucher(_message.Message):
    __slots__ = ("voucher_id", "to", "agreement_hash", "consideration")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CONSIDERATION_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    to: str
    agreement_hash: bytes
    consideration: Consideration
    def __init__(self, voucher_id: _Optional[str] = ..., to: _Optional[str] = ..., agreement_hash: _Optional[bytes] = ..., consideration: _Optional[_Union[Consideration, _Mapping]] = ...) -> None: ...

class RequestRedemption(_message.Message):
    __slots__ = ("voucher_id",)
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    def __init__(self, voucher_id: _Optional[str] = ...) -> None: ...

class ConfirmRedemption(_message.Message):
    __slots__ = ("voucher_id", "payment_reference")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    payment_reference: str
    def __init__(self, voucher_id: _Optional[str] = ..., payment_reference: _Optional[str] = ...) -> None: ...

class FreezeVoucher(_message.Message):
    __slots__ = ("voucher_id", "reason")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    reason: str
    def __init__(self, voucher_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnfreezeVoucher(_message.Message):
    __slots__ = ("voucher_id", "reason")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    reason: str
    def __init__(self, voucher_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AddConsensusNode(_message.Message):
    __slots__ = ("node_id", "org_id", "public_key", "certificate")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    org_id: str
    public_key: bytes
    certificate: bytes
    def __init__(self, node_id: _Optional[str] = ..., org_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class RemoveConsensusNode(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class RegisterPledge(_message.Message):
    __slots__ = ("voucher_id", "receipt_id", "pledgee", "secured_amount", "currency", "period_end_date", "collateral_description", "modification_code_hash", "mode", "floor_value")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    PLEDGEE_FIELD_NUMBER: _ClassVar[int]
    SECURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DATE_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FLOOR_VALUE_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    receipt_id: str
    pledgee: str
    secured_amount: int
    currency: str
    period_end_date: str
    collateral_description: str
    modification_code_hash: bytes
    mode: PledgeMode
    floor_value: int
    def __init__(self, voucher_id: _Optional[str] = ..., receipt_id: _Optional[str] = ..., pledgee: _Optional[str] = ..., secured_amount: _Optional[int] = ..., currency: _Optional[str] = ..., period_end_date: _Optional[str] = ..., collateral_description: _Optional[str] = ..., modification_code_hash: _Optional[bytes] = ..., mode: _Optional[_Union[PledgeMode, str]] = ..., floor_value: _Optional[int] = ...) -> None: ...

class IssueWarehouseReceipt(_message.Message):
    __slots__ = ("holder", "sku", "quantity", "unit_value", "currency", "location", "description")
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    holder: str
    sku: str
    quantity: int
    unit_value: int
    currency: str
    location: str
    description: str
    def __init__(self, holder: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_value: _Optional[int] = ..., currency: _Optional[str] = ..., location: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class TransferWarehouseReceipt(_message.Message):
    __slots__ = ("receipt_id", "to")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    to: str
    def __init__(self, receipt_id: _Optional[str] = ..., to: _Optional[str] = ...) -> None: ...

class ReleaseGoods(_message.Message):
    __slots__ = ("receipt_id", "quantity", "reason")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    quantity: int
    reason: str
    def __init__(self, receipt_id: _Optional[str] = ..., quantity: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RegisterDevice(_message.Message):
    __slots__ = ("device_id", "public_key", "kind", "receipt_id", "min_lat_e7", "max_lat_e7", "min_lon_e7", "max_lon_e7", "min_centi_celsius", "max_centi_celsius")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_LAT_E7_FIELD_NUMBER: _ClassVar[int]
    MAX_LAT_E7_FIELD_NUMBER: _ClassVar[int]
    MIN_LON_E7_FIELD_NUMBER: _ClassVar[int]
    MAX_LON_E7_FIELD_NUMBER: _ClassVar[int]
    MIN_CENTI_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    MAX_CENTI_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    public_key: bytes
    kind: DeviceKind
    receipt_id: str
    min_lat_e7: int
    max_lat_e7: int
    min_lon_e7: int
    max_lon_e7: int
    min_centi_celsius: int
    max_centi_celsius: int
    def __init__(self, device_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., kind: _Optional[_Union[DeviceKind, str]] = ..., receipt_id: _Optional[str] = ..., min_lat_e7: _Optional[int] = ..., max_lat_e7: _Optional[int] = ..., min_lon_e7: _Optional[int] = ..., max_lon_e7: _Optional[int] = ..., min_centi_celsius: _Optional[int] = ..., max_centi_celsius: _Optional[int] = ...) -> None: ...

class RevokeDevice(_message.Message):
    __slots__ = ("device_id", "reason")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    reason: str
    def __init__(self, device_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Climate(_message.Message):
    __slots__ = ("centi_celsius", "humidity_permille")
    CENTI_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    HUMIDITY_PERMILLE_FIELD_NUMBER: _ClassVar[int]
    centi_celsius: int
    humidity_permille: int
    def __init__(self, centi_celsius: _Optional[int] = ..., humidity_permille: _Optional[int] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("lat_e7", "lon_e7")
    LAT_E7_FIELD_NUMBER: _ClassVar[int]
    LON_E7_FIELD_NUMBER: _ClassVar[int]
    lat_e7: int
    lon_e7: int
    def __init__(self, lat_e7: _Optional[int] = ..., lon_e7: _Optional[int] = ...) -> None: ...

class SensorReading(_message.Message):
    __slots__ = ("device_id", "counter", "device_time_ms", "quantity", "units_out", "climate", "position", "lock_open", "rfid_tag")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNITS_OUT_FIELD_NUMBER: _ClassVar[int]
    CLIMATE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    LOCK_OPEN_FIELD_NUMBER: _ClassVar[int]
    RFID_TAG_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    counter: int
    device_time_ms: int
    quantity: int
    units_out: int
    climate: Climate
    position: Position
    lock_open: bool
    rfid_tag: str
    def __init__(self, device_id: _Optional[str] = ..., counter: _Optional[int] = ..., device_time_ms: _Optional[int] = ..., quantity: _Optional[int] = ..., units_out: _Optional[int] = ..., climate: _Optional[_Union[Climate, _Mapping]] = ..., position: _Optional[_Union[Position, _Mapping]] = ..., lock_open: _Optional[bool] = ..., rfid_tag: _Optional[str] = ...) -> None: ...

class SubmitReading(_message.Message):
    __slots__ = ("reading", "device_signature")
    READING_FIELD_NUMBER: _ClassVar[int]
    DEVICE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    reading: bytes
    device_signature: bytes
    def __init__(self, reading: _Optional[bytes] = ..., device_signature: _Optional[bytes] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("device_id", "operator", "operator_uscc", "public_key", "kind", "receipt_id", "min_lat_e7", "max_lat_e7", "min_lon_e7", "max_lon_e7", "min_centi_celsius", "max_centi_celsius", "last_counter", "status", "registered_height")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_USCC_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_LAT_E7_FIELD_NUMBER: _ClassVar[int]
    MAX_LAT_E7_FIELD_NUMBER: _ClassVar[int]
    MIN_LON_E7_FIELD_NUMBER: _ClassVar[int]
    MAX_LON_E7_FIELD_NUMBER: _ClassVar[int]
    MIN_CENTI_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    MAX_CENTI_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    LAST_COUNTER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    operator: str
    operator_uscc: str
    public_key: bytes
    kind: DeviceKind
    receipt_id: str
    min_lat_e7: int
    max_lat_e7: int
    min_lon_e7: int
    max_lon_e7: int
    min_centi_celsius: int
    max_centi_celsius: int
    last_counter: int
    status: DeviceStatus
    registered_height: int
    def __init__(self, device_id: _Optional[str] = ..., operator: _Optional[str] = ..., operator_uscc: _Optional[str] = ..., public_key: _Optional[bytes] = ..., kind: _Optional[_Union[DeviceKind, str]] = ..., receipt_id: _Optional[str] = ..., min_lat_e7: _Optional[int] = ..., max_lat_e7: _Optional[int] = ..., min_lon_e7: _Optional[int] = ..., max_lon_e7: _Optional[int] = ..., min_centi_celsius: _Optional[int] = ..., max_centi_celsius: _Optional[int] = ..., last_counter: _Optional[int] = ..., status: _Optional[_Union[DeviceStatus, str]] = ..., registered_height: _Optional[int] = ...) -> None: ...

class WarehouseReceipt(_message.Message):
    __slots__ = ("id", "operator", "operator_uscc", "holder", "sku", "quantity", "unit_value", "currency", "location", "description", "status", "pledge", "issued_height")
    ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_USCC_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLEDGE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    id: str
    operator: str
    operator_uscc: str
    holder: str
    sku: str
    quantity: int
    unit_value: int
    currency: str
    location: str
    description: str
    status: WarehouseReceiptStatus
    pledge: str
    issued_height: int
    def __init__(self, id: _Optional[str] = ..., operator: _Optional[str] = ..., operator_uscc: _Optional[str] = ..., holder: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_value: _Optional[int] = ..., currency: _Optional[str] = ..., location: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[_Union[WarehouseReceiptStatus, str]] = ..., pledge: _Optional[str] = ..., issued_height: _Optional[int] = ...) -> None: ...

class AmendPledge(_message.Message):
    __slots__ = ("registration_number", "modification_code", "period_end_date", "secured_amount", "floor_value")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_CODE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DATE_FIELD_NUMBER: _ClassVar[int]
    SECURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FLOOR_VALUE_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    modification_code: bytes
    period_end_date: str
    secured_amount: int
    floor_value: int
    def __init__(self, registration_number: _Optional[str] = ..., modification_code: _Optional[bytes] = ..., period_end_date: _Optional[str] = ..., secured_amount: _Optional[int] = ..., floor_value: _Optional[int] = ...) -> None: ...

class ReleasePledge(_message.Message):
    __slots__ = ("registration_number", "reason")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    reason: str
    def __init__(self, registration_number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EnforcePledge(_message.Message):
    __slots__ = ("registration_number", "reason")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    reason: str
    def __init__(self, registration_number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Pledge(_message.Message):
    __slots__ = ("registration_number", "asset_kind", "asset_id", "pledgor", "pledgee", "secured_amount", "currency", "collateral_description", "period_end_date", "period_end_day", "modification_code_hash", "status", "registered_height", "registered_ms", "ended_height", "ended_reason", "mode", "floor_value", "health", "health_cause")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    PLEDGOR_FIELD_NUMBER: _ClassVar[int]
    PLEDGEE_FIELD_NUMBER: _ClassVar[int]
    SECURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DATE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DAY_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_MS_FIELD_NUMBER: _ClassVar[int]
    ENDED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENDED_REASON_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FLOOR_VALUE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CAUSE_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    asset_kind: str
    asset_id: str
    pledgor: str
    pledgee: str
    secured_amount: int
    currency: str
    collateral_description: str
    period_end_date: str
    period_end_day: int
    modification_code_hash: bytes
    status: PledgeStatus
    registered_height: int
    registered_ms: int
    ended_height: int
    ended_reason: str
    mode: PledgeMode
    floor_value: int
    health: PledgeHealth
    health_cause: HealthCause
    def __init__(self, registration_number: _Optional[str] = ..., asset_kind: _Optional[str] = ..., asset_id: _Optional[str] = ..., pledgor: _Optional[str] = ..., pledgee: _Optional[str] = ..., secured_amount: _Optional[int] = ..., currency: _Optional[str] = ..., collateral_description: _Optional[str] = ..., period_end_date: _Optional[str] = ..., period_end_day: _Optional[int] = ..., modification_code_hash: _Optional[bytes] = ..., status: _Optional[_Union[PledgeStatus, str]] = ..., registered_height: _Optional[int] = ..., registered_ms: _Optional[int] = ..., ended_height: _Optional[int] = ..., ended_reason: _Optional[str] = ..., mode: _Optional[_Union[PledgeMode, str]] = ..., floor_value: _Optional[int] = ..., health: _Optional[_Union[PledgeHealth, str]] = ..., health_cause: _Optional[_Union[HealthCause, str]] = ...) -> None: ...

class SubmitProposal(_message.Message):
    __slots__ = ("add_organisation", "remove_organisation", "add_consensus_node", "remove_consensus_node", "rotate_organisation_ca", "set_chain_params", "schedule_rules_upgrade", "title", "reason")
    ADD_ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    ADD_CONSENSUS_NODE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_CONSENSUS_NODE_FIELD_NUMBER: _ClassVar[int]
    ROTATE_ORGANISATION_CA_FIELD_NUMBER: _ClassVar[int]
    SET_CHAIN_PARAMS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_RULES_UPGRADE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    add_organisation: AddOrganisation
    remove_organisation: RemoveOrganisation
    add_consensus_node: AddConsensusNode
    remove_consensus_node: RemoveConsensusNode
    rotate_organisation_ca: RotateOrganisationCa
    set_chain_params: SetChainParams
    schedule_rules_upgrade: ScheduleRulesUpgrade
    title: str
    reason: str
    def __init__(self, add_organisation: _Optional[_Union[AddOrganisation, _Mapping]] = ..., remove_organisation: _Optional[_Union[RemoveOrganisation, _Mapping]] = ..., add_consensus_node: _Optional[_Union[AddConsensusNode, _Mapping]] = ..., remove_consensus_node: _Optional[_Union[RemoveConsensusNode, _Mapping]] = ..., rotate_organisation_ca: _Optional[_Union[RotateOrganisationCa, _Mapping]] = ..., set_chain_params: _Optional[_Union[SetChainParams, _Mapping]] = ..., schedule_rules_upgrade: _Optional[_Union[ScheduleRulesUpgrade, _Mapping]] = ..., title: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoteOnProposal(_message.Message):
    __slots__ = ("proposal_id", "approve")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    approve: bool
    def __init__(self, proposal_id: _Optional[str] = ..., approve: _Optional[bool] = ...) -> None: ...

class AdminAccount(_message.Message):
    __slots__ = ("account_id", "public_key", "certificate")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    public_key: bytes
    certificate: bytes
    def __init__(self, account_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class AddOrganisation(_message.Message):
    __slots__ = ("org_id", "name", "uscc", "admins", "root_ca_certificate")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    ADMINS_FIELD_NUMBER: _ClassVar[int]
    ROOT_CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    name: str
    uscc: str
    admins: _containers.RepeatedCompositeFieldContainer[AdminAccount]
    root_ca_certificate: bytes
    def __init__(self, org_id: _Optional[str] = ..., name: _Optional[str] = ..., uscc: _Optional[str] = ..., admins: _Optional[_Iterable[_Union[AdminAccount, _Mapping]]] = ..., root_ca_certificate: _Optional[bytes] = ...) -> None: ...

class RemoveOrganisation(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class RotateOrganisationCa(_message.Message):
    __slots__ = ("org_id", "root_ca_certificate")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    root_ca_certificate: bytes
    def __init__(self, org_id: _Optional[str] = ..., root_ca_certificate: _Optional[bytes] = ...) -> None: ...

class SetChainParams(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: ChainParams
    def __init__(self, params: _Optional[_Union[ChainParams, _Mapping]] = ...) -> None: ...

class ScheduleRulesUpgrade(_message.Message):
    __slots__ = ("version", "activation_height")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    version: int
    activation_height: int
    def __init__(self, version: _Optional[int] = ..., activation_height: _Optional[int] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("org_id", "account", "approve", "height", "time_ms", "tx_hash")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    account: str
    approve: bool
    height: int
    time_ms: int
    tx_hash: bytes
    def __init__(self, org_id: _Optional[str] = ..., account: _Optional[str] = ..., approve: _Optional[bool] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("id", "proposer", "proposer_org", "submission", "submitted_height", "submitted_ms", "deadline_ms", "status", "votes", "decided_height", "submitted_tx_hash", "approvals", "disapprovals", "member_count", "approval_percent", "rejected_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_ORG_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_MS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    DECIDED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_TX_HASH_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    DISAPPROVALS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_PERCENT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    proposer: str
    proposer_org: str
    submission: SubmitProposal
    submitted_height: int
    submitted_ms: int
    deadline_ms: int
    status: ProposalStatus
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    decided_height: int
    submitted_tx_hash: bytes
    approvals: int
    disapprovals: int
    member_count: int
    approval_percent: int
    rejected_by: ErrorCode
    def __init__(self, id: _Optional[str] = ..., proposer: _Optional[str] = ..., proposer_org: _Optional[str] = ..., submission: _Optional[_Union[SubmitProposal, _Mapping]] = ..., submitted_height: _Optional[int] = ..., submitted_ms: _Optional[int] = ..., deadline_ms: _Optional[int] = ..., status: _Optional[_Union[ProposalStatus, str]] = ..., votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., decided_height: _Optional[int] = ..., submitted_tx_hash: _Optional[bytes] = ..., approvals: _Optional[int] = ..., disapprovals: _Optional[int] = ..., member_count: _Optional[int] = ..., approval_percent: _Optional[int] = ..., rejected_by: _Optional[_Union[ErrorCode, str]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("kind", "height", "tx_hash", "time_ms", "actor", "voucher_id", "accounts", "amount", "currency", "counterparty", "related_vouchers", "detail", "consideration", "node_id", "proposal_id", "org_id", "pledge", "receipt_id", "device_id", "public_key", "role", "uscc", "amounts", "digest", "previous_holder", "quantity", "certificate_serial", "previous_certificate_serial", "params", "approve", "code", "device_kind", "reading", "health", "health_cause", "registration", "limit", "rules_version", "activation_height")
    KIND_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    RELATED_VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CONSIDERATION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PLEDGE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HOLDER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_SERIAL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CERTIFICATE_SERIAL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_KIND_FIELD_NUMBER: _ClassVar[int]
    READING_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CAUSE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    kind: EventKind
    height: int
    tx_hash: bytes
    time_ms: int
    actor: str
    voucher_id: str
    accounts: _containers.RepeatedScalarFieldContainer[str]
    amount: int
    currency: str
    counterparty: str
    related_vouchers: _containers.RepeatedScalarFieldContainer[str]
    detail: str
    consideration: int
    node_id: str
    proposal_id: str
    org_id: str
    pledge: str
    receipt_id: str
    device_id: str
    public_key: bytes
    role: Role
    uscc: str
    amounts: _containers.RepeatedScalarFieldContainer[int]
    digest: bytes
    previous_holder: str
    quantity: int
    certificate_serial: bytes
    previous_certificate_serial: bytes
    params: ChainParams
    approve: bool
    code: ErrorCode
    device_kind: DeviceKind
    reading: SensorReading
    health: PledgeHealth
    health_cause: HealthCause
    registration: Pledge
    limit: int
    rules_version: int
    activation_height: int
    def __init__(self, kind: _Optional[_Union[EventKind, str]] = ..., height: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., time_ms: _Optional[int] = ..., actor: _Optional[str] = ..., voucher_id: _Optional[str] = ..., accounts: _Optional[_Iterable[str]] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., counterparty: _Optional[str] = ..., related_vouchers: _Optional[_Iterable[str]] = ..., detail: _Optional[str] = ..., consideration: _Optional[int] = ..., node_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., org_id: _Optional[str] = ..., pledge: _Optional[str] = ..., receipt_id: _Optional[str] = ..., device_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., role: _Optional[_Union[Role, str]] = ..., uscc: _Optional[str] = ..., amounts: _Optional[_Iterable[int]] = ..., digest: _Optional[bytes] = ..., previous_holder: _Optional[str] = ..., quantity: _Optional[int] = ..., certificate_serial: _Optional[bytes] = ..., previous_certificate_serial: _Optional[bytes] = ..., params: _Optional[_Union[ChainParams, _Mapping]] = ..., approve: _Optional[bool] = ..., code: _Optional[_Union[ErrorCode, str]] = ..., device_kind: _Optional[_Union[DeviceKind, str]] = ..., reading: _Optional[_Union[SensorReading, _Mapping]] = ..., health: _Optional[_Union[PledgeHealth, str]] = ..., health_cause: _Optional[_Union[HealthCause, str]] = ..., registration: _Optional[_Union[Pledge, _Mapping]] = ..., limit: _Optional[int] = ..., rules_version: _Optional[int] = ..., activation_height: _Optional[int] = ...) -> None: ...

class TxResult(_message.Message):
    __slots__ = ("tx_hash", "code", "message", "events")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    code: ErrorCode
    message: str
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, tx_hash: _Optional[bytes] = ..., code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class BlockHeader(_message.Message):
    __slots__ = ("chain_id", "height", "prev_hash", "timestamp_ms", "proposer", "tx_root", "result_root", "state_root", "tx_count", "system_event_root")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    TX_ROOT_FIELD_NUMBER: _ClassVar[int]
    RESULT_ROOT_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_EVENT_ROOT_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    prev_hash: bytes
    timestamp_ms: int
    proposer: str
    tx_root: bytes
    result_root: bytes
    state_root: bytes
    tx_count: int
    system_event_root: bytes
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., timestamp_ms: _Optional[int] = ..., proposer: _Optional[str] = ..., tx_root: _Optional[bytes] = ..., result_root: _Optional[bytes] = ..., state_root: _Optional[bytes] = ..., tx_count: _Optional[int] = ..., system_event_root: _Optional[bytes] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("header", "transactions", "results", "system_events")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_EVENTS_FIELD_NUMBER: _ClassVar[int]
    header: BlockHeader
    transactions: _containers.RepeatedCompositeFieldContainer[SignedTransaction]
    results: _containers.RepeatedCompositeFieldContainer[TxResult]
    system_events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, header: _Optional[_Union[BlockHeader, _Mapping]] = ..., transactions: _Optional[_Iterable[_Union[SignedTransaction, _Mapping]]] = ..., results: _Optional[_Iterable[_Union[TxResult, _Mapping]]] = ..., system_events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class Identity(_message.Message):
    __slots__ = ("uscc", "name", "role", "org_id", "status", "legal_representative", "accounts", "registered_height")
    USCC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_REPRESENTATIVE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    name: str
    role: Role
    org_id: str
    status: IdentityStatus
    legal_representative: str
    accounts: _containers.RepeatedScalarFieldContainer[str]
    registered_height: int
    def __init__(self, uscc: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., org_id: _Optional[str] = ..., status: _Optional[_Union[IdentityStatus, str]] = ..., legal_representative: _Optional[str] = ..., accounts: _Optional[_Iterable[str]] = ..., registered_height: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("account_id", "uscc", "public_key", "status", "next_nonce", "org_id", "role", "certificate", "certificate_serial", "certificate_not_before_ms", "certificate_not_after_ms", "certificate_revoked", "live_vouchers")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NEXT_NONCE_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_SERIAL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NOT_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NOT_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    LIVE_VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    uscc: str
    public_key: bytes
    status: AccountStatus
    next_nonce: int
    org_id: str
    role: Role
    certificate: bytes
    certificate_serial: bytes
    certificate_not_before_ms: int
    certificate_not_after_ms: int
    certificate_revoked: bool
    live_vouchers: int
    def __init__(self, account_id: _Optional[str] = ..., uscc: _Optional[str] = ..., public_key: _Optional[bytes] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., next_nonce: _Optional[int] = ..., org_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., certificate: _Optional[bytes] = ..., certificate_serial: _Optional[bytes] = ..., certificate_not_before_ms: _Optional[int] = ..., certificate_not_after_ms: _Optional[int] = ..., certificate_revoked: _Optional[bool] = ..., live_vouchers: _Optional[int] = ...) -> None: ...

class CertificateRecord(_message.Message):
    __slots__ = ("org_id", "serial", "subject_kind", "subject_id", "role", "public_key", "not_before_ms", "not_after_ms", "status", "registered_height", "ended_height", "ended_reason", "fingerprint", "superseded_height")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENDED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENDED_REASON_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    serial: bytes
    subject_kind: str
    subject_id: str
    role: str
    public_key: bytes
    not_before_ms: int
    not_after_ms: int
    status: CertificateStatus
    registered_height: int
    ended_height: int
    ended_reason: str
    fingerprint: bytes
    superseded_height: int
    def __init__(self, org_id: _Optional[str] = ..., serial: _Optional[bytes] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., role: _Optional[str] = ..., public_key: _Optional[bytes] = ..., not_before_ms: _Optional[int] = ..., not_after_ms: _Optional[int] = ..., status: _Optional[_Union[CertificateStatus, str]] = ..., registered_height: _Optional[int] = ..., ended_height: _Optional[int] = ..., ended_reason: _Optional[str] = ..., fingerprint: _Optional[bytes] = ..., superseded_height: _Optional[int] = ...) -> None: ...

class CreditLine(_message.Message):
    __slots__ = ("financier", "core_enterprise", "currency", "limit", "outstanding", "status")
    FINANCIER_FIELD_NUMBER: _ClassVar[int]
    CORE_ENTERPRISE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    financier: str
    core_enterprise: str
    currency: str
    limit: int
    outstanding: int
    status: CreditLineStatus
    def __init__(self, financier: _Optional[str] = ..., core_enterprise: _Optional[str] = ..., currency: _Optional[str] = ..., limit: _Optional[int] = ..., outstanding: _Optional[int] = ..., status: _Optional[_Union[CreditLineStatus, str]] = ...) -> None: ...

class Voucher(_message.Message):
    __slots__ = ("id", "issuer", "holder", "financier", "amount", "currency", "maturity_date", "maturity_day", "status", "frozen", "parent_id", "children", "root_id", "trade_document", "issued_height", "issued_time_ms", "depth", "pledge")
    ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    FINANCIER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MATURITY_DATE_FIELD_NUMBER: _ClassVar[int]
    MATURITY_DAY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    ROOT_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    PLEDGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    issuer: str
    holder: str
    financier: str
    amount: int
    currency: str
    maturity_date: str
    maturity_day: int
    status: VoucherStatus
    frozen: bool
    parent_id: str
    children: _containers.RepeatedScalarFieldContainer[str]
    root_id: str
    trade_document: TradeDocument
    issued_height: int
    issued_time_ms: int
    depth: int
    pledge: str
    def __init__(self, id: _Optional[str] = ..., issuer: _Optional[str] = ..., holder: _Optional[str] = ..., financier: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., maturity_date: _Optional[str] = ..., maturity_day: _Optional[int] = ..., status: _Optional[_Union[VoucherStatus, str]] = ..., frozen: _Optional[bool] = ..., parent_id: _Optional[str] = ..., children: _Optional[_Iterable[str]] = ..., root_id: _Optional[str] = ..., trade_document: _Optional[_Union[TradeDocument, _Mapping]] = ..., issued_height: _Optional[int] = ..., issued_time_ms: _Optional[int] = ..., depth: _Optional[int] = ..., pledge: _Optional[str] = ...) -> None: ...

class Organisation(_message.Message):
    __slots__ = ("org_id", "name", "uscc", "root_ca_certificate", "removed", "added_height", "removed_height")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    ROOT_CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    ADDED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    name: str
    uscc: str
    root_ca_certificate: bytes
    removed: bool
    added_height: int
    removed_height: int
    def __init__(self, org_id: _Optional[str] = ..., name: _Optional[str] = ..., uscc: _Optional[str] = ..., root_ca_certificate: _Optional[bytes] = ..., removed: _Optional[bool] = ..., added_height: _Optional[int] = ..., removed_height: _Optional[int] = ...) -> None: ...

class ChainParams(_message.Message):
    __slots__ = ("max_tenor_days", "min_split_amount", "split_fanout_max", "redemption_grace_days", "utc_offset_minutes", "block_tx_max", "block_bytes_max", "tx_bytes_max", "destroy_per_block_max", "proposal_approval_percent", "proposal_ttl_ms", "lineage_depth_max")
    MAX_TENOR_DAYS_FIELD_NUMBER: _ClassVar[int]
    MIN_SPLIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FANOUT_MAX_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_GRACE_DAYS_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TX_MAX_FIELD_NUMBER: _ClassVar[int]
    BLOCK_BYTES_MAX_FIELD_NUMBER: _ClassVar[int]
    TX_BYTES_MAX_FIELD_NUMBER: _ClassVar[int]
    DESTROY_PER_BLOCK_MAX_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_APPROVAL_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_DEPTH_MAX_FIELD_NUMBER: _ClassVar[int]
    max_tenor_days: int
    min_split_amount: int
    split_fanout_max: int
    redemption_grace_days: int
    utc_offset_minutes: int
    block_tx_max: int
    block_bytes_max: int
    tx_bytes_max: int
    destroy_per_block_max: int
    proposal_approval_percent: int
    proposal_ttl_ms: int
    lineage_depth_max: int
    def __init__(self, max_tenor_days: _Optional[int] = ..., min_split_amount: _Optional[int] = ..., split_fanout_max: _Optional[int] = ..., redemption_grace_days: _Optional[int] = ..., utc_offset_minutes: _Optional[int] = ..., block_tx_max: _Optional[int] = ..., block_bytes_max: _Optional[int] = ..., tx_bytes_max: _Optional[int] = ..., destroy_per_block_max: _Optional[int] = ..., proposal_approval_percent: _Optional[int] = ..., proposal_ttl_ms: _Optional[int] = ..., lineage_depth_max: _Optional[int] = ...) -> None: ...

class ChainRules(_message.Message):
    __slots__ = ("version", "activation_height", "proposal_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    activation_height: int
    proposal_id: str
    def __init__(self, version: _Optional[int] = ..., activation_height: _Optional[int] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class StateProof(_message.Message):
    __slots__ = ("siblings", "other_key_hash", "other_value_hash")
    SIBLINGS_FIELD_NUMBER: _ClassVar[int]
    OTHER_KEY_HASH_FIELD_NUMBER: _ClassVar[int]
    OTHER_VALUE_HASH_FIELD_NUMBER: _ClassVar[int]
    siblings: _containers.RepeatedScalarFieldContainer[bytes]
    other_key_hash: bytes
    other_value_hash: bytes
    def __init__(self, siblings: _Optional[_Iterable[bytes]] = ..., other_key_hash: _Optional[bytes] = ..., other_value_hash: _Optional[bytes] = ...) -> None: ...

class ConsensusConfig(_message.Message):
    __slots__ = ("engine", "nodes", "removed_node_ids", "change_heights")
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_HEIGHTS_FIELD_NUMBER: _ClassVar[int]
    engine: str
    nodes: _containers.RepeatedCompositeFieldContainer[ConsensusNode]
    removed_node_ids: _containers.RepeatedScalarFieldContainer[str]
    change_heights: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, engine: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[ConsensusNode, _Mapping]]] = ..., removed_node_ids: _Optional[_Iterable[str]] = ..., change_heights: _Optional[_Iterable[int]] = ...) -> None: ...

class CommitSignature(_message.Message):
    __slots__ = ("node_id", "signature")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    signature: bytes
    def __init__(self, node_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EquivocationEvidence(_message.Message):
    __slots__ = ("node_id", "height", "first_block_hash", "first_signature", "second_block_hash", "second_signature", "view")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FIRST_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    FIRST_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SECOND_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    height: int
    first_block_hash: bytes
    first_signature: bytes
    second_block_hash: bytes
    second_signature: bytes
    view: int
    def __init__(self, node_id: _Optional[str] = ..., height: _Optional[int] = ..., first_block_hash: _Optional[bytes] = ..., first_signature: _Optional[bytes] = ..., second_block_hash: _Optional[bytes] = ..., second_signature: _Optional[bytes] = ..., view: _Optional[int] = ...) -> None: ...

class CommitCertificate(_message.Message):
    __slots__ = ("height", "view", "block_hash", "signatures")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    height: int
    view: int
    block_hash: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[CommitSignature]
    def __init__(self, height: _Optional[int] = ..., view: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[CommitSignature, _Mapping]]] = ...) -> None: ...

class ConsensusNode(_message.Message):
    __slots__ = ("node_id", "org_id", "public_key", "certificate_serial")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_SERIAL_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    org_id: str
    public_key: bytes
    certificate_serial: bytes
    def __init__(self, node_id: _Optional[str] = ..., org_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., certificate_serial: _Optional[bytes] = ...) -> None: ...
