"""Signed reads (``contracts/src/read.rs``): every query but ``GetStatus`` names its reader and
carries the reader's signature, so the node answers only what that account may see.

Three metadata entries travel with the request: ``x-vchain-reader`` (the account id),
``x-vchain-read-time-ms`` (the wallet's clock, ms since the Unix epoch; the node refuses a read
more than 5 minutes from its own clock) and ``x-vchain-read-signature``: the hex Ed25519
signature over the statement

    vchain-read/1\\n{chain_id}\\n{Method}\\n{reader}\\n{time_ms}\\n{hex SHA-256 of the request bytes}

where ``Method`` is the RPC's name (``GetVoucher``) and the request bytes are the request
message's standard protobuf encoding (fields in number order, defaults omitted), which is what
the node re-encodes to check it.
"""

from __future__ import annotations

import hashlib
import time
from typing import Optional

from google.protobuf.message import Message

from .keys import SigningKey

READER_HEADER = "x-vchain-reader"
READ_TIME_HEADER = "x-vchain-read-time-ms"
READ_SIGNATURE_HEADER = "x-vchain-read-signature"
#: How far a read's time may be from the node's clock, either way.
READ_TIME_SKEW_MS_MAX = 5 * 60 * 1000


def statement(chain_id: str, method: str, reader: str, time_ms: int, request_sha256: bytes) -> bytes:
    """The bytes a reader signs."""
    return (
        f"vchain-read/1\n{chain_id}\n{method}\n{reader}\n{time_ms}\n{request_sha256.hex()}"
    ).encode("utf-8")


def sign(
    request: Message,
    chain_id: str,
    method: str,
    reader: str,
    key: SigningKey,
    time_ms: Optional[int] = None,
) -> list[tuple[str, str]]:
    """The metadata that makes ``request`` (a call of ``method``) a read signed by ``reader``
    with ``key``, at ``time_ms`` (default: now)."""
    if time_ms is None:
        time_ms = time.time_ns() // 1_000_000
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()
    signature = key.sign(statement(chain_id, method, reader, time_ms, digest))
    return [
        (READER_HEADER, reader),
        (READ_TIME_HEADER, str(time_ms)),
        (READ_SIGNATURE_HEADER, signature.hex()),
    ]
