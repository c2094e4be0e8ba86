"""A real dev node for the tests that need one.

``vchain-node dev`` makes a data directory with demo identities (banks, a carmaker, three tiers
of suppliers, a regulator), their keys in ``keystore.json`` under the passphrase ``dev``, each
bank's root CA (``bank-a-ca.pem``, key ``bank-a-ca`` in the keystore) and a genesis, and serves
gRPC (with the DevApi that moves the chain clock) on the address it is given. The session starts
one on a free loopback port in a temporary directory and always stops it.

The binaries come from ``$VCHAIN_BIN_DIR``, else ``$CARGO_TARGET_DIR/release``, else
``~/.cache/vchain/target/release`` (``scripts/test-python.sh`` sets ``VCHAIN_BIN_DIR``). A missing
binary fails the node tests: it never skips them.
"""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import grpc
import pytest

from vchain_wallet import Wallet
from vchain_wallet.proto import api_pb2, api_pb2_grpc

#: The dev keystore's passphrase (``devnet/src/lib.rs``, ``DEV_PASSPHRASE``).
DEV_PASSPHRASE = "dev"
#: How long the node may take to answer its first status request.
NODE_START_S = 60.0
#: How long one CLI run may take.
CLI_TIMEOUT_S = 60.0
#: Attempts at starting the node (another process may take the free port first).
NODE_START_ATTEMPTS = 3
DAY_MS = 86_400_000

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_with_check(prefix: str) -> str:
    """A unified social credit code: ``prefix`` (17 characters) and its check character."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(prefix, USCC_WEIGHTS))
    return prefix + USCC_ALPHABET[(31 - total % 31) % 31]


def bin_dir() -> Path:
    """Where the ``vchain-node`` and ``vchain`` binaries are."""
    if os.environ.get("VCHAIN_BIN_DIR"):
        return Path(os.environ["VCHAIN_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache" / "vchain" / "target")
    return Path(target) / "release"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the test process dies, however it dies (Linux).
    libc is loaded beforehand, so the child only makes the one call."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class CliError(AssertionError):
    """A ``vchain`` run that exited non-zero."""

    def __init__(self, args: list[str], code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr
        super().__init__(f"vchain {' '.join(args)} exited {code}\nstdout:\n{stdout}\nstderr:\n{stderr}")


class DevNode:
    """A running ``vchain-node dev`` and helpers to act on its chain."""

    def __init__(self, bins: Path, root: Path) -> None:
        self.bins = bins
        self.root = root
        self.data_dir = root / "dev"
        self.keystore = self.data_dir / "keystore.json"
        self.process: Optional[subprocess.Popen] = None
        self.endpoint = ""
        self._documents = itertools.count(1)
        #: Chain time the last AdvanceClock reported (0: never advanced).
        self.clock_ms = 0
        #: USCC of bank A's financier, whose credit line backs the vouchers issued here.
        self.financier_uscc = ""
        self._start()

    # -- process -------------------------------------------------------------------------------

    def _start(self) -> None:
        for attempt in range(1, NODE_START_ATTEMPTS + 1):
            port = _free_port()
            self.endpoint = f"http://127.0.0.1:{port}"
            self.log = self.root / f"node-{attempt}.log"
            with open(self.log, "wb") as log:
                self.process = subprocess.Popen(
                    [str(self.bins / "vchain-node"), "dev", "--data-dir", str(self.data_dir),
                     "--grpc-listen", f"127.0.0.1:{port}", "--reset"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"the dev node did not start; last log:\n{self.log.read_text(errors='replace')}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + NODE_START_S
        with grpc.insecure_channel(self.endpoint[len("http://"):]) as channel:
            stub = api_pb2_grpc.VchainApiStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    stub.GetStatus(api_pb2.GetStatusRequest(), timeout=2)
                    return True
                except grpc.RpcError:
                    time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stops the node: SIGTERM (it finishes its block and closes the ledger), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    # -- acting on the chain -------------------------------------------------------------------

    def cli(self, *args: str, keystore: Optional[Path] = None, passphrase: str = DEV_PASSPHRASE,
            reader: str = "regulator") -> dict:
        """Runs ``vchain --json ARGS`` against the node; its JSON output (``CliError`` if it
        fails)."""
        env = dict(os.environ)
        env.update(
            VCHAIN_ENDPOINT=self.endpoint,
            VCHAIN_KEYSTORE=str(keystore or self.keystore),
            VCHAIN_PASSPHRASE=passphrase,
            VCHAIN_READER=reader,
        )
        env.pop("VCHAIN_PASSPHRASE_FILE", None)
        argv = [str(self.bins / "vchain"), "--json", *args]
        run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
        if run.returncode != 0:
            raise CliError(list(args), run.returncode, run.stdout, run.stderr)
        return json.loads(run.stdout)

    def wallet(self, name: str) -> Wallet:
        """The Python wallet of dev account ``name``, its key read from the dev keystore."""
        return Wallet.from_keystore(self.endpoint, self.keystore, name, DEV_PASSPHRASE)

    def uscc(self, account: str) -> str:
        return self.cli("account", "get", account)["account"]["uscc"]

    def status(self) -> api_pb2.GetStatusResponse:
        with grpc.insecure_channel(self.endpoint[len("http://"):]) as channel:
            return api_pb2_grpc.VchainApiStub(channel).GetStatus(api_pb2.GetStatusRequest(), timeout=10)

    def chain_date(self, days_ahead: int) -> str:
        """The chain's date (its time zone) ``days_ahead`` days after its clock's today."""
        status = self.status()
        offset_ms = status.params.utc_offset_minutes * 60_000
        chain_ms = max(status.head_time_ms, self.clock_ms)
        day = datetime.datetime.fromtimestamp((chain_ms + offset_ms) / 1000, datetime.timezone.utc)
        return (day + datetime.timedelta(days=days_ahead)).date().isoformat()

    def advance_days(self, days: int) -> None:
        """Moves the dev chain's clock forward."""
        with grpc.insecure_channel(self.endpoint[len("http://"):]) as channel:
            reply = api_pb2_grpc.DevApiStub(channel).AdvanceClock(
                api_pb2.AdvanceClockRequest(milliseconds=days * DAY_MS), timeout=10)
        self.clock_ms = reply.chain_time_ms

    def issue(self, holder: str, amount: int, *, maturity_days: int = 30) -> str:
        """The carmaker issues a CNY voucher of ``amount`` fen to ``holder`` against a fresh
        invoice (through the CLI); returns its id."""
        number = f"INV-PY-{next(self._documents):05d}"
        out = self.cli(
            "voucher", "issue", "--as", "carmaker", "--holder", holder,
            "--financier", self.financier_uscc, "--amount", str(amount),
            "--maturity", self.chain_date(maturity_days), "--doc-kind", "invoice",
            "--doc-number", number, "--doc-hash", hashlib.sha256(number.encode()).hexdigest(),
        )
        issued = [e["voucher_id"] for e in out["result"]["events"] if e["kind"] == "EVENT_KIND_VOUCHER_ISSUED"]
        assert len(issued) == 1, out
        return issued[0]


@pytest.fixture(scope="session")
def dev_node(tmp_path_factory: pytest.TempPathFactory):
    """A dev node with a credit line from bank A to the carmaker, stopped after the session."""
    bins = bin_dir()
    for name in ("vchain-node", "vchain"):
        if not (bins / name).is_file():
            pytest.fail(f"{bins / name} is missing: build the workspace (cargo test --workspace --no-run) "
                        "or set VCHAIN_BIN_DIR", pytrace=False)
    node = DevNode(bins, tmp_path_factory.mktemp("vchain"))
    try:
        node.financier_uscc = node.uscc("bank-a-finance")
        node.cli("credit-line", "grant", "--as", "bank-a-finance", "--core", node.uscc("carmaker"),
                 "--currency", "CNY", "--limit", str(10**12))
        yield node
    finally:
        node.stop()


@pytest.fixture
def gearbox(dev_node: DevNode):
    """The tier-1 supplier's Python wallet (its key from the Rust-written dev keystore)."""
    with dev_node.wallet("gearbox") as wallet:
        yield wallet


@pytest.fixture
def castings(dev_node: DevNode):
    """The tier-2 supplier's Python wallet."""
    with dev_node.wallet("castings") as wallet:
        yield wallet
