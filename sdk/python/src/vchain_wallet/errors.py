"""Errors of the wallet: one base class, and what the node's refusals carry.

A node refuses a request with a gRPC status whose code follows the rule that failed, and for
refusals by a chain rule it names the rule in the ``x-vchain-error-code`` metadata (e.g.
``NOT_HOLDER``), with ``x-vchain-tx-hash`` and ``x-vchain-height`` when the transaction was
committed and rejected. :class:`RpcError` carries all of it; :attr:`RpcError.code` is the rule as
an :class:`ErrorCode` (the proto enum: numeric value and name), or ``None`` when the refusal
names no rule (an unauthenticated read, a read the reader may not see, the node unreachable).
"""

from __future__ import annotations

import enum
from typing import Optional

import grpc

from .proto import types_pb2

#: The chain's rule codes: the ``vchain.v1.ErrorCode`` enum of the schema, as a Python
#: ``IntEnum`` (``ErrorCode.NOT_HOLDER == 22``, ``ErrorCode(22).name == "NOT_HOLDER"``).
ErrorCode = enum.IntEnum(  # type: ignore[misc]
    "ErrorCode",
    [(value.name, value.number) for value in types_pb2.ErrorCode.DESCRIPTOR.values],
    module=__name__,
)

#: Metadata entry naming the rule that refused a request.
ERROR_CODE_HEADER = "x-vchain-error-code"
#: Metadata entry with the hex hash of a committed, rejected transaction.
TX_HASH_HEADER = "x-vchain-tx-hash"
#: Metadata entry with the height of the block that rejected it.
HEIGHT_HEADER = "x-vchain-height"


class VchainError(Exception):
    """Base class of every error this package raises."""


class KeystoreError(VchainError):
    """A keystore file cannot be read or written, or an entry cannot be used."""


class KeyNotFound(KeystoreError):
    """No key of that name in the keystore."""


class WrongPassphrase(KeystoreError):
    """An entry does not decrypt: the passphrase is wrong, or the entry was altered."""


class KeyMismatch(VchainError):
    """The key is not the one the chain binds to the account it would sign for."""


class RpcError(VchainError):
    """The node refused a request, or could not be reached.

    Attributes:
        status: the gRPC status code (``grpc.StatusCode``).
        details: the node's message (for rule refusals it starts with the rule's name).
        code: the rule that refused it (:class:`ErrorCode`), or ``None`` if none was named.
        code_name: the rule's name as the node sent it (set even for a rule this package's
            schema does not know yet), or ``None``.
        tx_hash: hash of the committed, rejected transaction, if the node named it.
        height: height of the block that rejected it, if the node named it.
    """

    def __init__(
        self,
        status: grpc.StatusCode,
        details: str,
        code_name: Optional[str] = None,
        tx_hash: Optional[bytes] = None,
        height: Optional[int] = None,
    ) -> None:
        self.status = status
        self.details = details
        self.code_name = code_name
        self.code: Optional[ErrorCode] = (
            ErrorCode.__members__.get(code_name) if code_name is not None else None
        )
        self.tx_hash = tx_hash
        self.height = height
        super().__init__(self._text())

    def _text(self) -> str:
        rule = f" [{self.code_name}={int(self.code)}]" if self.code is not None else ""
        if self.code is None and self.code_name:
            rule = f" [{self.code_name}]"
        where = ""
        if self.tx_hash is not None:
            where = f" (tx {self.tx_hash.hex()}, height {self.height})"
        return f"{self.status.name}{rule}: {self.details}{where}"

    @classmethod
    def from_grpc(cls, error: grpc.RpcError) -> "RpcError":
        """The error for a failed gRPC call (its status, details and vchain metadata)."""
        metadata: dict[str, str] = {}
        for getter in ("initial_metadata", "trailing_metadata"):
            try:
                entries = getattr(error, getter)() or ()
            except Exception:  # a call that never reached the node has none
                entries = ()
            for key, value in entries:
                if isinstance(value, bytes):
                    value = value.decode("ascii", "replace")
                metadata[key.lower()] = value
        status = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = (error.details() if hasattr(error, "details") else None) or str(error)
        tx_hash = metadata.get(TX_HASH_HEADER)
        height = metadata.get(HEIGHT_HEADER)
        rule_error = RuleError if ERROR_CODE_HEADER in metadata else cls
        return rule_error(
            status,
            details,
            code_name=metadata.get(ERROR_CODE_HEADER),
            tx_hash=bytes.fromhex(tx_hash) if tx_hash else None,
            height=int(height) if height and height.isdigit() else None,
        )


class RuleError(RpcError):
    """A refusal by a named chain rule: :attr:`code` (or at least :attr:`code_name`) is set.

    Raised both when a transaction is refused at admission (bad nonce, bad signature, a rule
    checked before the mempool) and when it was committed and rejected by the contract (then
    :attr:`tx_hash` and :attr:`height` say where; its nonce is spent).
    """


class TransactionPending(VchainError):
    """A transaction was admitted but not committed within the wait. Not a rejection: follow it
    with :meth:`vchain_wallet.Wallet.wait_for_commit`, or send the same signed bytes again."""

    def __init__(self, tx_hash: bytes) -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash.hex()} admitted, not committed yet")
