"""Building, signing and hashing transactions, exactly as the Rust wallet does
(``contracts/src/tx.rs``).

A transaction is a ``TransactionBody`` (chain id, signer account, nonce, one operation),
encoded with standard protobuf; the signer's Ed25519 key signs *those bytes*, and the
``SignedTransaction`` carries them unchanged with the public key and the signature. The node
never re-encodes a body, so what is signed is what is hashed: the transaction hash is SHA-256
over the body bytes. There is no domain-separation prefix: the body's ``chain_id`` keeps a
transaction from being replayed on another chain and its ``nonce`` from being replayed on this
one.
"""

from __future__ import annotations

import hashlib
from typing import Union

from google.protobuf.message import Message

from .keys import SigningKey
from .proto import types_pb2

#: The ``operation`` oneof of ``TransactionBody``: message type name -> field name.
OPERATION_FIELDS: dict[str, str] = {
    field.message_type.full_name: field.name
    for field in types_pb2.TransactionBody.DESCRIPTOR.oneofs_by_name["operation"].fields
}


def body(chain_id: str, signer: str, nonce: int, operation: Message) -> types_pb2.TransactionBody:
    """The body performing ``operation`` (e.g. a ``types_pb2.SplitVoucher``) signed by account
    ``signer`` with ``nonce`` on chain ``chain_id``."""
    full_name = operation.DESCRIPTOR.full_name
    field = OPERATION_FIELDS.get(full_name)
    if field is None:
        raise TypeError(f"{full_name} is not a transaction operation")
    result = types_pb2.TransactionBody(chain_id=chain_id, signer=signer, nonce=nonce)
    getattr(result, field).CopyFrom(operation)
    return result


def sign(transaction_body: types_pb2.TransactionBody, key: SigningKey) -> types_pb2.SignedTransaction:
    """Encodes ``transaction_body`` and signs those bytes with ``key``."""
    encoded = transaction_body.SerializeToString(deterministic=True)
    return types_pb2.SignedTransaction(
        body=encoded, public_key=key.public_key, signature=key.sign(encoded)
    )


def tx_hash(transaction: Union[types_pb2.SignedTransaction, bytes]) -> bytes:
    """The transaction hash: SHA-256 over the signed body bytes."""
    encoded = transaction.body if isinstance(transaction, types_pb2.SignedTransaction) else transaction
    return hashlib.sha256(encoded).digest()
