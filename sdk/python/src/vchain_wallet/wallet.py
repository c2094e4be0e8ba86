"""A supplier's wallet: one account, its key, one node.

Reads are signed as the account (:mod:`vchain_wallet.reads`); transactions are built and signed
as the Rust wallet does (:mod:`vchain_wallet.transactions`) with the account's next nonce; every
refusal is an :class:`~vchain_wallet.errors.RpcError` (a :class:`~vchain_wallet.errors.RuleError`
when the node names the rule).

Nonces: the chain's ``Account.next_nonce`` counts committed transactions. A node admits a
transaction up to 64 nonces ahead of it and holds it until the gap fills (``docs/keystore.md``),
so a wallet that sends without waiting can pipeline: this wallet hands out
``max(chain's next nonce, last it handed out + 1)``. A transaction refused at admission for its
nonce (``BAD_NONCE``: spent, e.g. by another wallet of the same account; ``NONCE_TAKEN``: another
waiting transaction holds it) was not admitted, so it is signed again with a fresh nonce, a
bounded number of times; one refused for another reason gives its nonce back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from os import PathLike
from typing import Iterator, Optional, Sequence, Union

import grpc
from google.protobuf.message import Message

from . import reads, transactions
from .csr import make_csr
from .errors import ErrorCode, KeyMismatch, RpcError, RuleError, TransactionPending, VchainError
from .keys import SigningKey
from .keystore import Keystore
from .proto import api_pb2, api_pb2_grpc, types_pb2

#: How long one unary call may take before it is abandoned (DEADLINE_EXCEEDED).
RPC_TIMEOUT_S_DEFAULT = 20.0
#: Default wait for a commit in :meth:`Wallet.wait_for_commit`.
COMMIT_WAIT_S_DEFAULT = 30.0
#: How often :meth:`Wallet.wait_for_commit` asks whether a transaction committed.
COMMIT_POLL_S = 0.1
#: Most times one operation is signed again after a nonce refusal.
NONCE_RETRIES_MAX = 8
#: Most pages :meth:`Wallet.vouchers` reads (of up to 1,000 vouchers each).
PAGES_MAX = 10_000
#: Vouchers asked for per page of a trace: the most a node serves (``TRACE_PAGE_MAX``).
TRACE_PAGE_SIZE = 1024
#: Pages one trace follows at most: a node cuts a whole lineage at 10,000 vouchers.
TRACE_PAGES_MAX = 10
#: Page size :meth:`Wallet.vouchers` asks for (the node's maximum).
PAGE_SIZE = 1_000



def _channel(endpoint: str) -> grpc.Channel:
    """A channel to ``endpoint``: ``host:port``, ``http://host:port`` or ``https://host:port``."""
    if endpoint.startswith("https://"):
        return grpc.secure_channel(endpoint[len("https://"):].rstrip("/"), grpc.ssl_channel_credentials())
    if endpoint.startswith("http://"):
        endpoint = endpoint[len("http://"):]
    return grpc.insecure_channel(endpoint.rstrip("/"))


@dataclasses.dataclass(frozen=True)
class Receipt:
    """What became of a submitted transaction.

    ``committed`` is false only for a transaction sent without waiting (then ``height`` is 0
    and ``result`` is ``None``): follow it with :meth:`Wallet.wait_for_commit`.
    """

    tx_hash: bytes
    committed: bool
    height: int
    result: Optional[types_pb2.TxResult]

    @property
    def events(self) -> list[types_pb2.Event]:
        """The events the transaction caused (empty until committed)."""
        return list(self.result.events) if self.result is not None else []

    @property
    def created_vouchers(self) -> list[str]:
        """Ids of the vouchers the transaction created (a split's children, in order)."""
        created = (types_pb2.EVENT_KIND_VOUCHER_CREATED_BY_SPLIT, types_pb2.EVENT_KIND_VOUCHER_ISSUED)
        return [e.voucher_id for e in self.events if e.kind in created]


class EventStream:
    """Committed events as they come: iterate it; :meth:`close` (or leaving a ``with`` block)
    ends it. With a timeout, iteration simply stops when it passes."""

    def __init__(self, call: grpc.Call, has_deadline: bool) -> None:
        self._call = call
        self._has_deadline = has_deadline
        self._closed = False

    def __iter__(self) -> Iterator[types_pb2.Event]:
        return self

    def __next__(self) -> types_pb2.Event:
        while True:
            try:
                envelope = next(self._call)
            except grpc.RpcError as error:
                code = error.code()
                if code == grpc.StatusCode.DEADLINE_EXCEEDED and self._has_deadline:
                    raise StopIteration from None
                if code == grpc.StatusCode.CANCELLED and self._closed:
                    raise StopIteration from None
                raise RpcError.from_grpc(error) from None
            if envelope.HasField("event"):
                return envelope.event

    def close(self) -> None:
        """Ends the stream (the node frees its subscription)."""
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Wallet:
    """Signs for ``account_id`` with ``key`` against the node at ``endpoint``.

    >>> wallet = Wallet.from_keystore("http://127.0.0.1:7050", ".vchain-dev/keystore.json",
    ...                               "gearbox", "dev")           # doctest: +SKIP
    >>> [v.id for v in wallet.vouchers(live_only=True)]           # doctest: +SKIP
    """

    def __init__(
        self,
        endpoint: str,
        account_id: str,
        key: SigningKey,
        *,
        rpc_timeout_s: float = RPC_TIMEOUT_S_DEFAULT,
        channel: Optional[grpc.Channel] = None,
    ) -> None:
        self.endpoint = endpoint
        self.account_id = account_id
        self.key = key
        self.rpc_timeout_s = rpc_timeout_s
        self._channel = channel if channel is not None else _channel(endpoint)
        self._api = api_pb2_grpc.VchainApiStub(self._channel)
        self._chain_id: Optional[str] = None
        self._key_checked = False
        self._nonce_lock = threading.Lock()
        self._next_nonce_local = 0

    @classmethod
    def from_keystore(
        cls,
        endpoint: str,
        keystore: Union[str, "PathLike[str]", Keystore],
        name: str,
        passphrase: str,
        *,
        account_id: Optional[str] = None,
        **options: object,
    ) -> "Wallet":
        """A wallet for the keystore key ``name`` (the account is the entry's ``account_id``
        unless ``account_id`` is given)."""
        store = keystore if isinstance(keystore, Keystore) else Keystore.load(keystore)
        account = account_id or store.entry(name).account_id
        if not account:
            raise VchainError(f"key {name!r} names no account: give account_id")
        return cls(endpoint, account, store.unlock(name, passphrase), **options)  # type: ignore[arg-type]

    def close(self) -> None:
        """Closes the connection."""
        self._channel.close()

    def __enter__(self) -> "Wallet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------------------

    def _call(
        self, method: str, request: Message, *, signed: bool = True, timeout_s: Optional[float] = None
    ) -> Message:
        metadata = self._sign_read(method, request) if signed else None
        timeout = self.rpc_timeout_s if timeout_s is None else timeout_s
        try:
            return getattr(self._api, method)(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise RpcError.from_grpc(error) from None

    def _sign_read(self, method: str, request: Message) -> list[tuple[str, str]]:
        return reads.sign(request, self.chain_id, method, self.account_id, self.key)

    def read(self, method: str, request: Message) -> Message:
        """Any signed read: ``method`` is the RPC's name (``"GetBlock"``), ``request`` its
        request message. The typed methods below cover a supplier's usual reads."""
        return self._call(method, request)

    # -- the node ------------------------------------------------------------------------------

    def status(self) -> api_pb2.GetStatusResponse:
        """The node's public status (not signed)."""
        return self._call("GetStatus", api_pb2.GetStatusRequest(), signed=False)

    @property
    def chain_id(self) -> str:
        """The chain's id, from the node's status (read once)."""
        if self._chain_id is None:
            self._chain_id = self.status().chain_id
        return self._chain_id

    # -- reads ---------------------------------------------------------------------------------

    def account(self, account_id: Optional[str] = None) -> types_pb2.Account:
        """An account (default: this wallet's)."""
        request = api_pb2.GetAccountRequest(account_id=account_id or self.account_id)
        return self._call("GetAccount", request).account

    def next_nonce(self) -> int:
        """The nonce the chain expects of this account's next transaction (committed ones
        counted; transactions still waiting in a mempool are not)."""
        return self.account().next_nonce

    def voucher(self, voucher_id: str) -> types_pb2.Voucher:
        """One voucher (``VOUCHER_NOT_FOUND`` if none has the id; ``PERMISSION_DENIED`` if
        this account is no party to it)."""
        return self._call("GetVoucher", api_pb2.GetVoucherRequest(voucher_id=voucher_id)).voucher

    def vouchers(self, *, live_only: bool = False, holder: Optional[str] = None) -> list[types_pb2.Voucher]:
        """The vouchers ``holder`` (default: this account) holds, in id order, every page.
        ``live_only`` leaves out those that ended (split, redeemed, destroyed)."""
        found: list[types_pb2.Voucher] = []
        token = ""
        for _ in range(PAGES_MAX):
            request = api_pb2.ListVouchersRequest(
                holder=holder or self.account_id,
                live_only=live_only,
                page_token=token,
                page_size=PAGE_SIZE,
            )
            page = self._call("ListVouchers", request)
            found.extend(page.vouchers)
            if not page.next_page_token or page.next_page_token == token:
                return found
            token = page.next_page_token
        raise VchainError(f"more than {PAGES_MAX} pages of vouchers")

    def trace(self, voucher_id: str) -> api_pb2.TraceVoucherResponse:
        """A voucher's lineage, root first, each voucher with its events (only the part this
        account may see). The node answers in pages of at most ``TRACE_PAGE_SIZE`` vouchers;
        this follows them and returns one answer holding every page's vouchers."""
        whole = None
        token = ""
        for _ in range(TRACE_PAGES_MAX):
            page = self._call(
                "TraceVoucher",
                api_pb2.TraceVoucherRequest(
                    voucher_id=voucher_id, page_token=token, page_size=TRACE_PAGE_SIZE
                ),
            )
            if whole is None:
                whole = page
            else:
                whole.vouchers.extend(page.vouchers)
                whole.height = page.height
            whole.next_page_token = page.next_page_token
            if not page.next_page_token or page.next_page_token == token:
                return whole
            token = page.next_page_token
        raise VchainError(f"more than {TRACE_PAGES_MAX} pages of lineage")

    def transaction(self, tx_hash: bytes) -> api_pb2.GetTransactionResponse:
        """A committed transaction with its result, block and time (``TRANSACTION_NOT_FOUND``
        while it is not committed)."""
        return self._call("GetTransaction", api_pb2.GetTransactionRequest(tx_hash=tx_hash))

    def events(
        self,
        *,
        from_height: int = 0,
        voucher_id: str = "",
        account_id: Optional[str] = None,
        timeout_s: Optional[float] = None,
    ) -> EventStream:
        """Follows committed events concerning ``account_id`` (default: this account) and, if
        given, ``voucher_id``; from block ``from_height`` on first (0: only new events). Ends
        after ``timeout_s`` if given."""
        request = api_pb2.SubscribeEventsRequest(
            from_height=from_height,
            account_id=self.account_id if account_id is None else account_id,
            voucher_id=voucher_id,
        )
        metadata = self._sign_read("SubscribeEvents", request)
        call = self._api.SubscribeEvents(request, metadata=metadata, timeout=timeout_s)
        return EventStream(call, has_deadline=timeout_s is not None)

    # -- transactions --------------------------------------------------------------------------

    def check_key(self) -> None:
        """Raises :class:`KeyMismatch` unless the chain binds this wallet's key to its account.
        (Done before the first transaction; a key the chain does not know cannot even sign the
        read, which the node refuses as UNAUTHENTICATED.)"""
        try:
            account = self.account()
        except RpcError as error:
            if error.status == grpc.StatusCode.UNAUTHENTICATED:
                raise KeyMismatch(
                    f"key {self.key.public_key_hex} does not sign for account {self.account_id}: {error.details}"
                ) from error
            raise
        if account.public_key != self.key.public_key:
            raise KeyMismatch(
                f"account {self.account_id} is bound to key {account.public_key.hex()}, "
                f"not {self.key.public_key_hex}"
            )
        self._key_checked = True

    def _take_nonce(self, refresh: bool) -> int:
        chain_next = self.next_nonce()
        with self._nonce_lock:
            nonce = chain_next if refresh else max(chain_next, self._next_nonce_local)
            self._next_nonce_local = nonce + 1
            return nonce

    def _release_nonce(self, nonce: int) -> None:
        """Gives back ``nonce`` after a transaction that was not admitted, unless a later one
        was handed out since (a gap would hold every later transaction in the mempool)."""
        with self._nonce_lock:
            if self._next_nonce_local == nonce + 1:
                self._next_nonce_local = nonce

    def submit(
        self, operation: Message, *, wait: bool = True, timeout_ms: int = 0
    ) -> Receipt:
        """Signs ``operation`` (a ``types_pb2`` operation message) as this account with its
        next nonce and sends it; with ``wait``, until it is committed (``timeout_ms``: how long
        the node waits, at most its own limit; default :data:`COMMIT_WAIT_S_DEFAULT`).

        Raises :class:`RuleError` when the chain refuses or rejects it (committed rejections
        carry ``tx_hash`` and ``height``), :class:`TransactionPending` when the wait ended
        before the commit.
        """
        if not self._key_checked:
            self.check_key()
        if wait and timeout_ms == 0:
            timeout_ms = int(COMMIT_WAIT_S_DEFAULT * 1000)
        # The node answers `pending` when its wait ends: our deadline comes after it.
        deadline_s = self.rpc_timeout_s + (timeout_ms / 1000 if wait else 0)
        refresh = False
        for attempt in range(NONCE_RETRIES_MAX + 1):
            nonce = self._take_nonce(refresh)
            body = transactions.body(self.chain_id, self.account_id, nonce, operation)
            signed = transactions.sign(body, self.key)
            request = api_pb2.SubmitTransactionRequest(
                transaction=signed, wait_for_commit=wait, timeout_ms=timeout_ms
            )
            try:
                response = self._call("SubmitTransaction", request, signed=False, timeout_s=deadline_s)
            except RpcError as error:
                if error.tx_hash is not None:
                    raise  # executed and rejected: its nonce is spent
                retry = attempt < NONCE_RETRIES_MAX
                if retry and error.code_name == "NONCE_TAKEN":
                    continue  # a waiting transaction holds it: take the next one
                if retry and error.code_name == "BAD_NONCE":
                    refresh = True  # spent by another wallet of the account: ask the chain
                    continue
                # Not admitted (or not known to be: sending it again would be refused as
                # NONCE_TAKEN or BAD_NONCE, which the next submission recovers from).
                self._release_nonce(nonce)
                raise
            return self._receipt(response, wait)
        raise AssertionError("unreachable: the last attempt raises or returns")

    def _receipt(self, response: api_pb2.SubmitTransactionResponse, waited: bool) -> Receipt:
        if response.pending:
            raise TransactionPending(response.tx_hash)
        if waited and response.committed and response.result.code != types_pb2.OK:
            # The node answers a rejection with an error status; kept for a node that would not.
            code = types_pb2.ErrorCode.Name(response.result.code)
            raise RuleError(
                grpc.StatusCode.UNKNOWN,
                response.result.message,
                code_name=code,
                tx_hash=response.tx_hash,
                height=response.height,
            )
        return Receipt(
            tx_hash=response.tx_hash,
            committed=response.committed,
            height=response.height,
            result=response.result if response.committed else None,
        )

    def wait_for_commit(self, tx_hash: bytes, timeout_s: float = COMMIT_WAIT_S_DEFAULT) -> Receipt:
        """Waits until transaction ``tx_hash`` (sent with ``wait=False``) is committed.

        Returns its receipt; raises :class:`RuleError` if the chain rejected it (the same error
        as a waited submission: the node is asked for the committed outcome by sending the
        same signed bytes again, which it answers with the outcome) and
        :class:`TransactionPending` if ``timeout_s`` passes first.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                found = self.transaction(tx_hash)
                break
            except RpcError as error:
                if error.code != ErrorCode.TRANSACTION_NOT_FOUND:
                    raise
            if time.monotonic() >= deadline:
                raise TransactionPending(tx_hash)
            time.sleep(COMMIT_POLL_S)
        if found.result.code != types_pb2.OK:
            again = api_pb2.SubmitTransactionRequest(transaction=found.transaction)
            response = self._call("SubmitTransaction", again, signed=False)
            return self._receipt(response, waited=True)
        return Receipt(tx_hash=tx_hash, committed=True, height=found.height, result=found.result)

    # -- a supplier's operations ---------------------------------------------------------------

    def split(self, voucher_id: str, amounts: Sequence[int], *, wait: bool = True) -> Receipt:
        """Splits a voucher this account holds into children of ``amounts`` (minor units; they
        must sum to the voucher's amount). The children's ids are ``receipt.created_vouchers``."""
        operation = types_pb2.SplitVoucher(voucher_id=voucher_id, amounts=list(amounts))
        return self.submit(operation, wait=wait)

    def transfer(
        self,
        voucher_id: str,
        to: str,
        *,
        agreement: Optional[bytes] = None,
        agreement_hash: Optional[bytes] = None,
        consideration: Optional[int] = None,
        currency: Optional[str] = None,
        wait: bool = True,
    ) -> Receipt:
        """Transfers a whole voucher this account holds to account ``to`` under a signed
        debt-transfer agreement: give the agreement's bytes (hashed here with SHA-256) or its
        hash. A ``consideration`` (minor units of ``currency``, default the voucher's) makes a
        transfer to a financier a financing."""
        if (agreement is None) == (agreement_hash is None):
            raise ValueError("give exactly one of agreement (the document) or agreement_hash")
        digest = hashlib.sha256(agreement).digest() if agreement is not None else agreement_hash
        operation = types_pb2.TransferVoucher(voucher_id=voucher_id, to=to, agreement_hash=digest)
        if consideration is not None:
            if currency is None:
                currency = self.voucher(voucher_id).currency
            operation.consideration.CopyFrom(types_pb2.Consideration(amount=consideration, currency=currency))
        return self.submit(operation, wait=wait)

    def request_redemption(self, voucher_id: str, *, wait: bool = True) -> Receipt:
        """Asks the issuer for payment of a voucher this account holds, at or after maturity."""
        return self.submit(types_pb2.RequestRedemption(voucher_id=voucher_id), wait=wait)

    def make_csr(self, *, organisation: Optional[str] = None, role: Optional[str] = None) -> bytes:
        """A PEM certificate signing request for this wallet's key and account (see
        :func:`vchain_wallet.csr.make_csr`)."""
        return make_csr(self.key, self.account_id, organisation=organisation, role=role)
