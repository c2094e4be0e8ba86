"""Transactions and reads are signed exactly as the Rust side signs them.

The published golden vectors (``docs/golden-vectors.md``) hold real signed transactions of the
contract tests' chain, whose keys come from fixed seeds (``contracts/tests/it/common/mod.rs``).
Rebuilding each from its fields and signing it here must give the very same bytes and hash.
"""

import hashlib
import re
from pathlib import Path

import pytest

from vchain_wallet import SigningKey, reads, transactions, types_pb2

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN = REPO_ROOT / "docs" / "golden-vectors.md"
#: The contract tests' accounts and their key seeds (each key is 32 bytes of the seed).
SEEDS = {"bank-a-admin": 1, "bank-b-admin": 2, "fin": 3, "core": 4, "core-2": 5,
         "sup-1": 6, "sup-2": 7, "sup-3": 8, "regulator": 9, "warehouse": 10}


def golden_transactions():
    """(hash hex, signed bytes) of every transaction in the golden vectors document."""
    text = GOLDEN.read_text(encoding="utf-8")
    found = re.findall(r"Transaction \d+: hash `([0-9a-f]{64})`[^\n]*\n\n```\n([0-9a-f]+)\n```", text)
    assert len(found) >= 4, "the golden vectors document has no transactions any more?"
    return [(h, bytes.fromhex(b)) for h, b in found]


@pytest.mark.parametrize("expected_hash,expected", golden_transactions())
def test_golden_transactions_are_rebuilt_and_signed_identically(expected_hash, expected):
    golden = types_pb2.SignedTransaction.FromString(expected)
    fields = types_pb2.TransactionBody.FromString(golden.body)
    operation = getattr(fields, fields.WhichOneof("operation"))
    key = SigningKey(bytes([SEEDS[fields.signer]]) * 32)

    signed = transactions.sign(
        transactions.body(fields.chain_id, fields.signer, fields.nonce, operation), key
    )

    assert signed.body == golden.body
    assert signed.public_key == golden.public_key
    assert signed.signature == golden.signature
    assert signed.SerializeToString() == expected
    assert transactions.tx_hash(signed).hex() == expected_hash


def test_body_refuses_what_is_not_an_operation():
    with pytest.raises(TypeError):
        transactions.body("c", "a", 0, types_pb2.Voucher(id="V1"))


def test_the_read_statement_is_the_rust_one():
    # contracts/src/read.rs, its doctest.
    text = reads.statement("vchain-dev", "GetVoucher", "gearbox", 1_700_000_000_000, bytes(32))
    assert text == b"vchain-read/1\nvchain-dev\nGetVoucher\ngearbox\n1700000000000\n" + b"0" * 64


def test_a_read_signature_covers_the_request():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from vchain_wallet import api_pb2

    key = SigningKey(bytes([5]) * 32)
    request = api_pb2.ListVouchersRequest(holder="gearbox", live_only=True)
    metadata = dict(reads.sign(request, "c", "ListVouchers", "gearbox", key, time_ms=7))
    assert metadata[reads.READER_HEADER] == "gearbox"
    assert metadata[reads.READ_TIME_HEADER] == "7"
    signature = bytes.fromhex(metadata[reads.READ_SIGNATURE_HEADER])
    digest = hashlib.sha256(request.SerializeToString()).digest()
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    public.verify(signature, reads.statement("c", "ListVouchers", "gearbox", 7, digest))
    other = hashlib.sha256(api_pb2.ListVouchersRequest(holder="castings").SerializeToString()).digest()
    with pytest.raises(Exception):
        public.verify(signature, reads.statement("c", "ListVouchers", "gearbox", 7, other))


def test_request_encoding_is_canonical():
    """What the node re-encodes with prost: fields in number order, defaults left out, a set
    oneof member written even when empty."""
    from vchain_wallet import api_pb2

    assert api_pb2.ListVouchersRequest(holder="ab", live_only=True).SerializeToString() == (
        b"\x0a\x02ab\x18\x01"
    )
    assert api_pb2.GetBlockRequest(height=0).SerializeToString() == b"\x08\x00"
    assert api_pb2.SubscribeEventsRequest(from_height=0, account_id="", voucher_id="").SerializeToString() == b""


def test_keys_from_seeds():
    key = SigningKey(bytes(range(32)))
    assert SigningKey.from_hex(key.seed().hex()).public_key == key.public_key
    assert len(key.sign(b"x")) == 64
    with pytest.raises(ValueError):
        SigningKey(b"short")
