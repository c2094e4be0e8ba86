"""The keystore format of docs/keystore.md: written and read back, refused when wrong."""

import json
import os
import stat

import pytest

from vchain_wallet import KdfParams, KeyNotFound, Keystore, KeystoreError, SigningKey, WrongPassphrase

FAST = KdfParams.insecure_fast()


def make(path, name="alice", passphrase="pw", kdf=FAST, account_id="alice-main"):
    store = Keystore.load_or_create(path)
    key = SigningKey.generate()
    store.add(name, key, passphrase, account_id=account_id, kdf=kdf)
    store.save()
    return key


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "keystore.json"
    alice = make(path)
    bob = SigningKey(bytes([9]) * 32)
    store = Keystore.load(path)
    store.add("bob", bob, "pw-b", kdf=FAST)
    store.save()

    store = Keystore.load(path)
    assert [e.name for e in store.entries] == ["alice", "bob"]
    entry = store.entry("alice")
    assert entry.account_id == "alice-main"
    assert entry.public_key == alice.public_key
    assert entry.kdf == FAST
    assert entry.created and entry.created.endswith("Z")
    assert store.unlock("alice", "pw").seed() == alice.seed()
    assert store.unlock("bob", "pw-b").seed() == bytes([9]) * 32
    assert store.entry("bob").account_id is None


def test_file_layout_and_mode(tmp_path):
    path = tmp_path / "k.json"
    key = make(path)
    document = json.loads(path.read_text())
    assert document["version"] == 1
    (stored,) = document["keys"]
    assert stored["public_key"] == key.public_key_hex
    crypto = stored["crypto"]
    assert crypto["kdf"] == "argon2id" and crypto["cipher"] == "xchacha20poly1305"
    assert len(bytes.fromhex(crypto["kdf_params"]["salt"])) == 16
    assert len(bytes.fromhex(crypto["nonce"])) == 24
    assert len(bytes.fromhex(crypto["ciphertext"])) == 48
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["k.json"]


def test_wrong_passphrase(tmp_path):
    make(tmp_path / "k.json")
    with pytest.raises(WrongPassphrase):
        Keystore.load(tmp_path / "k.json").unlock("alice", "wrong")


def test_tampered_ciphertext_and_swapped_key_fail(tmp_path):
    path = tmp_path / "k.json"
    make(path)
    original = json.loads(path.read_text())

    tampered = json.loads(json.dumps(original))
    ciphertext = bytearray.fromhex(tampered["keys"][0]["crypto"]["ciphertext"])
    ciphertext[3] ^= 1
    tampered["keys"][0]["crypto"]["ciphertext"] = ciphertext.hex()
    path.write_text(json.dumps(tampered))
    with pytest.raises(WrongPassphrase):
        Keystore.load(path).unlock("alice", "pw")

    # The public key is the associated data: replacing it breaks decryption.
    swapped = json.loads(json.dumps(original))
    swapped["keys"][0]["public_key"] = SigningKey(bytes([1]) * 32).public_key_hex
    path.write_text(json.dumps(swapped))
    with pytest.raises(WrongPassphrase):
        Keystore.load(path).unlock("alice", "pw")


def test_default_parameters(tmp_path):
    key = make(tmp_path / "k.json", kdf=KdfParams())
    store = Keystore.load(tmp_path / "k.json")
    assert store.entry("alice").kdf == KdfParams(19_456, 2, 1)
    assert store.unlock("alice", "pw").public_key == key.public_key


def test_refusals(tmp_path):
    path = tmp_path / "k.json"
    make(path)
    store = Keystore.load(path)
    with pytest.raises(KeyNotFound):
        store.unlock("nobody", "pw")
    with pytest.raises(KeystoreError, match="already exists"):
        store.add("alice", SigningKey.generate(), "pw", kdf=FAST)
    with pytest.raises(KeystoreError, match="invalid key name"):
        store.add("a b", SigningKey.generate(), "pw", kdf=FAST)
    with pytest.raises(KeystoreError, match="empty"):
        store.add("carol", SigningKey.generate(), "", kdf=FAST)

    for bad in ("not json", '{"version": 2, "keys": []}',
                '{"version": 1, "keys": [{"name": "x", "public_key": "00", "crypto": {}}]}'):
        path.write_text(bad)
        with pytest.raises(KeystoreError, match="not valid"):
            Keystore.load(path)
    path.write_text('{"version": 1, "keys": []}')
    assert Keystore.load(path).entries == []
    with pytest.raises(KeystoreError):
        Keystore.load(tmp_path / "missing.json")
    assert Keystore.load_or_create(tmp_path / "missing.json").entries == []
