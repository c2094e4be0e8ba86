"""The wallet against a real dev node: a supplier's reads, operations, events and errors, and a
key made here certified by the CLI's CA and transacting.

The core enterprise's part (credit line, issuance) goes through the ``vchain`` CLI, as a core
enterprise would do it; every supplier step is this package's.
"""

from __future__ import annotations

import hashlib

import grpc
import pytest

from conftest import CliError, DevNode, uscc_with_check
from vchain_wallet import (
    ErrorCode,
    KdfParams,
    KeyMismatch,
    Keystore,
    RpcError,
    RuleError,
    SigningKey,
    Wallet,
    api_pb2,
    make_csr,
    types_pb2,
)

MILLION_CNY = 100_000_000  # fen


def kinds(events) -> list[str]:
    return [types_pb2.EventKind.Name(e.kind) for e in events]


def test_reads_the_keystore_rust_wrote(dev_node: DevNode):
    store = Keystore.load(dev_node.keystore)
    entry = store.entry("gearbox")
    assert entry.account_id == "gearbox"
    assert entry.kdf == KdfParams.insecure_fast()
    assert store.unlock("gearbox", "dev").public_key == entry.public_key


def test_lists_its_own_vouchers_and_not_anothers(dev_node: DevNode, gearbox: Wallet):
    voucher_id = dev_node.issue("gearbox", MILLION_CNY)

    mine = {v.id: v for v in gearbox.vouchers()}
    assert voucher_id in mine
    assert mine[voucher_id].holder == "gearbox"
    assert mine[voucher_id].amount == MILLION_CNY
    assert mine[voucher_id].status == types_pb2.VOUCHER_STATUS_ACTIVE
    assert voucher_id in {v.id for v in gearbox.vouchers(live_only=True)}
    assert gearbox.voucher(voucher_id).issuer == dev_node.uscc("carmaker")
    # Any other signed read, by its method name.
    identity = gearbox.read("GetIdentity", api_pb2.GetIdentityRequest(uscc=gearbox.account().uscc)).identity
    assert identity.accounts == ["gearbox"]

    with pytest.raises(RpcError) as refused:
        gearbox.vouchers(holder="castings")
    assert refused.value.status == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.code == ErrorCode.NOT_A_PARTY


def test_split_transfer_and_trace(dev_node: DevNode, gearbox: Wallet, castings: Wallet):
    parent = dev_node.issue("gearbox", MILLION_CNY)

    split = gearbox.split(parent, [60_000_000, 40_000_000])
    assert split.committed and split.height > 0
    first, second = split.created_vouchers
    assert kinds(split.events).count("EVENT_KIND_VOUCHER_CREATED_BY_SPLIT") == 2
    assert gearbox.voucher(parent).status == types_pb2.VOUCHER_STATUS_SPLIT
    assert [gearbox.voucher(v).amount for v in (first, second)] == [60_000_000, 40_000_000]

    agreement = b"debt transfer agreement: gearbox to castings, CNY 600,000.00"
    transfer = gearbox.transfer(first, "castings", agreement=agreement)
    (event,) = [e for e in transfer.events if e.kind == types_pb2.EVENT_KIND_VOUCHER_TRANSFERRED]
    assert event.counterparty == "castings"
    assert event.digest == hashlib.sha256(agreement).digest()
    assert first in {v.id for v in castings.vouchers(live_only=True)}
    assert first not in {v.id for v in gearbox.vouchers(live_only=True)}
    assert second in {v.id for v in gearbox.vouchers(live_only=True)}

    trace = gearbox.trace(second)
    assert trace.root_id == parent
    by_id = {t.voucher.id: t for t in trace.vouchers}
    assert by_id[parent].depth == 0 and by_id[second].depth == 1
    assert kinds(by_id[parent].events) == ["EVENT_KIND_VOUCHER_ISSUED", "EVENT_KIND_VOUCHER_SPLIT"]
    assert kinds(by_id[second].events) == ["EVENT_KIND_VOUCHER_CREATED_BY_SPLIT"]

    # castings sees its piece and where it came from, not gearbox's other piece.
    theirs = castings.trace(first)
    assert theirs.root_id == parent
    assert second not in {t.voucher.id for t in theirs.vouchers}
    with pytest.raises(RpcError) as refused:
        castings.voucher(second)
    assert refused.value.status == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.code == ErrorCode.NOT_A_PARTY


def test_follows_its_own_events(dev_node: DevNode, gearbox: Wallet):
    start = dev_node.status().height
    with gearbox.events(from_height=start, timeout_s=30) as stream:
        parent = dev_node.issue("gearbox", MILLION_CNY)
        not_ours = dev_node.issue("castings", MILLION_CNY)
        children = gearbox.split(parent, [50_000_000, 50_000_000]).created_vouchers
        gearbox.transfer(children[0], "castings", agreement_hash=bytes(32))
        seen = []
        for event in stream:
            assert event.height >= start
            assert "gearbox" in (event.actor, event.counterparty, *event.accounts), event
            assert event.voucher_id != not_ours, event
            if parent in (event.voucher_id, *event.related_vouchers) or event.voucher_id in children:
                seen.append((types_pb2.EventKind.Name(event.kind), event.voucher_id))
            if ("EVENT_KIND_VOUCHER_TRANSFERRED", children[0]) in seen:
                break
    assert ("EVENT_KIND_VOUCHER_ISSUED", parent) in seen
    assert ("EVENT_KIND_VOUCHER_SPLIT", parent) in seen
    assert ("EVENT_KIND_VOUCHER_TRANSFERRED", children[0]) in seen
    assert seen.index(("EVENT_KIND_VOUCHER_ISSUED", parent)) < seen.index(("EVENT_KIND_VOUCHER_SPLIT", parent))


def test_an_event_stream_ends_at_its_timeout(gearbox: Wallet):
    far = gearbox.status().height + 1_000_000
    assert list(gearbox.events(from_height=far, voucher_id="V999999999999", timeout_s=1)) == []


def test_bad_input_carries_the_rule_code(dev_node: DevNode, gearbox: Wallet, castings: Wallet):
    voucher_id = dev_node.issue("gearbox", MILLION_CNY)

    with pytest.raises(RuleError) as error:
        gearbox.split(voucher_id, [1_000, 2_000])
    assert error.value.code == ErrorCode.SPLIT_SUM_MISMATCH
    assert (int(error.value.code), error.value.code.name) == (60, "SPLIT_SUM_MISMATCH")
    assert error.value.status == grpc.StatusCode.INVALID_ARGUMENT
    # Rejected by the contract in a block: the nonce is spent, the hash and height named.
    assert error.value.tx_hash is not None and error.value.height > 0
    assert gearbox.transaction(error.value.tx_hash).result.code == ErrorCode.SPLIT_SUM_MISMATCH

    with pytest.raises(RuleError) as error:
        gearbox.split(voucher_id, [MILLION_CNY - 1, 1])
    assert error.value.code == ErrorCode.SPLIT_BELOW_MINIMUM

    with pytest.raises(RuleError) as error:
        castings.transfer(voucher_id, "castings", agreement_hash=bytes(32))
    assert error.value.code == ErrorCode.NOT_HOLDER
    assert error.value.status == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(RuleError) as error:
        gearbox.request_redemption(voucher_id)
    assert error.value.code == ErrorCode.VOUCHER_NOT_MATURED

    with pytest.raises(RuleError) as error:
        gearbox.voucher("V999999999999")
    assert error.value.code == ErrorCode.VOUCHER_NOT_FOUND
    assert error.value.status == grpc.StatusCode.NOT_FOUND
    assert error.value.tx_hash is None

    with pytest.raises(RuleError) as error:
        gearbox.transaction(bytes(32))
    assert error.value.code == ErrorCode.TRANSACTION_NOT_FOUND

    # Nothing changed, and the wallet's nonces still line up after the rejections.
    assert gearbox.voucher(voucher_id).status == types_pb2.VOUCHER_STATUS_ACTIVE
    assert len(gearbox.split(voucher_id, [MILLION_CNY - 100, 100]).created_vouchers) == 2


def test_a_key_the_chain_does_not_bind_is_refused(dev_node: DevNode):
    with Wallet(dev_node.endpoint, "gearbox", SigningKey.generate()) as impostor:
        with pytest.raises(KeyMismatch):
            impostor.split("V000000000001", [1, 1])
        with pytest.raises(RpcError) as error:
            impostor.vouchers()
        assert error.value.status == grpc.StatusCode.UNAUTHENTICATED
        # The node names the rule of every refused read (docs/errors.md).
        assert error.value.code == ErrorCode.BAD_SIGNATURE


def test_sends_without_waiting_then_waits(dev_node: DevNode, gearbox: Wallet):
    a = dev_node.issue("gearbox", MILLION_CNY)
    b = dev_node.issue("gearbox", MILLION_CNY)
    before = gearbox.next_nonce()

    # Pipelined: the second goes out before the first commits, with the next nonce.
    sent_a = gearbox.split(a, [MILLION_CNY // 2] * 2, wait=False)
    sent_b = gearbox.split(b, [MILLION_CNY // 4] * 4, wait=False)
    assert not sent_a.committed and sent_a.result is None
    done_a = gearbox.wait_for_commit(sent_a.tx_hash)
    done_b = gearbox.wait_for_commit(sent_b.tx_hash)
    assert done_a.committed and done_a.height > 0
    assert len(done_a.created_vouchers) == 2 and len(done_b.created_vouchers) == 4
    assert gearbox.next_nonce() == before + 2
    bodies = [types_pb2.TransactionBody.FromString(gearbox.transaction(r.tx_hash).transaction.body)
              for r in (sent_a, sent_b)]
    assert [body.nonce for body in bodies] == [before, before + 1]

    # A double spend: both admitted, the second rejected when executed after the first.
    c = dev_node.issue("gearbox", MILLION_CNY)
    first = gearbox.transfer(c, "castings", agreement_hash=bytes(32), wait=False)
    second = gearbox.split(c, [MILLION_CNY // 2] * 2, wait=False)
    assert gearbox.wait_for_commit(first.tx_hash).committed
    with pytest.raises(RuleError) as error:
        gearbox.wait_for_commit(second.tx_hash)
    # The same error as a waited submission: the rule, its gRPC status, where it was rejected.
    assert error.value.code == ErrorCode.NOT_HOLDER
    assert error.value.status == grpc.StatusCode.PERMISSION_DENIED
    assert error.value.tx_hash == second.tx_hash and error.value.height > 0


def test_requests_redemption_at_maturity(dev_node: DevNode, gearbox: Wallet):
    voucher_id = dev_node.issue("gearbox", MILLION_CNY, maturity_days=2)
    dev_node.advance_days(3)

    receipt = gearbox.request_redemption(voucher_id)
    assert kinds(receipt.events) == ["EVENT_KIND_REDEMPTION_REQUESTED"]
    assert gearbox.voucher(voucher_id).status == types_pb2.VOUCHER_STATUS_REDEMPTION_REQUESTED
    dev_node.cli("voucher", "confirm", voucher_id, "--as", "carmaker", "--payment-ref", "PAY-PY-1")
    assert gearbox.voucher(voucher_id).status == types_pb2.VOUCHER_STATUS_REDEEMED


def test_a_key_made_here_is_certified_from_its_csr_and_transacts(dev_node: DevNode, gearbox: Wallet, tmp_path):
    # The supplier makes its key and a CSR; the secret never leaves this process.
    key = SigningKey.generate()
    csr_file = tmp_path / "acme.csr"
    csr_file.write_bytes(make_csr(key, "acme-py"))

    # Bank A's CA certifies it, and bank A's administrator registers the identity.
    certificate = tmp_path / "acme.pem"
    issued = dev_node.cli("ca", "issue", "--ca-cert", str(dev_node.data_dir / "bank-a-ca.pem"),
                          "--role", "supplier", "--csr", str(csr_file), "--out", str(certificate))
    assert issued["common_name"] == "acme-py"
    assert issued["public_key"] == key.public_key_hex
    assert (issued["organisation"], issued["role"]) == ("bank-a", "supplier")
    dev_node.cli("identity", "register", "--as", "bank-a-admin", "--uscc", uscc_with_check("91310000MA1FL3901"),
                 "--name", "Acme Python Parts Co., Ltd.", "--role", "supplier", "--account", "acme-py",
                 "--certificate", str(certificate))

    # The key goes into a keystore written here, which the Rust CLI reads and unlocks.
    keystore = tmp_path / "wallet" / "keystore.json"
    store = Keystore.load_or_create(keystore)
    store.add("acme-py", key, "acme passphrase", account_id="acme-py")
    store.save()
    seen_by_cli = dev_node.cli("account", "get", "acme-py", keystore=keystore,
                               passphrase="acme passphrase", reader="acme-py")
    assert seen_by_cli["account"]["public_key"] == key.public_key_hex

    # The new identity receives a voucher and acts on it.
    voucher_id = dev_node.issue("gearbox", MILLION_CNY)
    gearbox.transfer(voucher_id, "acme-py", agreement=b"gearbox pays acme")
    with Wallet.from_keystore(dev_node.endpoint, keystore, "acme-py", "acme passphrase") as acme:
        assert [v.id for v in acme.vouchers(live_only=True)] == [voucher_id]
        pieces = acme.split(voucher_id, [70_000_000, 30_000_000]).created_vouchers
        acme.transfer(pieces[1], "castings", agreement=b"acme pays castings")
        assert sorted(v.id for v in acme.vouchers(live_only=True)) == [pieces[0]]


def test_the_ca_checks_the_csr_subject(dev_node: DevNode, tmp_path):
    ca = str(dev_node.data_dir / "bank-a-ca.pem")
    good = tmp_path / "good.csr"
    good.write_bytes(make_csr(SigningKey.generate(), "acme-ou", organisation="bank-a", role="supplier"))
    issued = dev_node.cli("ca", "issue", "--ca-cert", ca, "--role", "supplier", "--csr", str(good),
                          "--out", str(tmp_path / "good.pem"))
    assert issued["common_name"] == "acme-ou"

    wrong_role = tmp_path / "wrong.csr"
    wrong_role.write_bytes(make_csr(SigningKey.generate(), "acme-ou2", organisation="bank-a", role="financier"))
    with pytest.raises(CliError) as refused:
        dev_node.cli("ca", "issue", "--ca-cert", ca, "--role", "supplier", "--csr", str(wrong_role),
                     "--out", str(tmp_path / "wrong.pem"))
    assert "financier" in refused.value.stderr
    assert not (tmp_path / "wrong.pem").exists()
