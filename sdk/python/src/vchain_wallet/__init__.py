"""vchain-wallet: a supplier's wallet for vchain, the digital debt voucher chain.

Loads a key (a raw Ed25519 seed or the vchain keystore), signs transactions and reads exactly
as the Rust wallet does, and talks to a node over gRPC:

>>> from vchain_wallet import Wallet
>>> wallet = Wallet.from_keystore("http://127.0.0.1:7050", ".vchain-dev/keystore.json",
...                               "gearbox", "dev")                       # doctest: +SKIP
>>> receipt = wallet.split("V000000000001", [60_000_000, 40_000_000])     # doctest: +SKIP
>>> receipt.created_vouchers                                              # doctest: +SKIP
['V000000000002', 'V000000000003']
"""

from .csr import make_csr
from .errors import (
    ErrorCode,
    KeyMismatch,
    KeyNotFound,
    KeystoreError,
    RpcError,
    RuleError,
    TransactionPending,
    VchainError,
    WrongPassphrase,
)
from .keys import SigningKey
from .keystore import KdfParams, Keystore
from .proto import api_pb2, types_pb2
from .wallet import EventStream, Receipt, Wallet

__all__ = [
    "ErrorCode",
    "EventStream",
    "KdfParams",
    "KeyMismatch",
    "KeyNotFound",
    "Keystore",
    "KeystoreError",
    "Receipt",
    "RpcError",
    "RuleError",
    "SigningKey",
    "TransactionPending",
    "VchainError",
    "Wallet",
    "WrongPassphrase",
    "api_pb2",
    "make_csr",
    "types_pb2",
]
__version__ = "0.1.0"
