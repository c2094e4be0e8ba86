"""The vchain keystore: the JSON file the ``vchain`` CLI, dev mode and the testnet write.

The format is ``docs/keystore.md`` (version 1). Each entry's 32-byte secret is sealed with
XChaCha20-Poly1305 under a key stretched from its passphrase with argon2id (the entry's own
parameters and salt), with associated data ``vchain-keystore-v1:`` followed by the raw public
key. Names, accounts and public keys are in clear, so listing needs no passphrase.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "keystore.json"
>>> ks = Keystore.load_or_create(path)
>>> key = SigningKey.generate()
>>> entry = ks.add("acme", key, "correct horse", account_id="acme", kdf=KdfParams.insecure_fast())
>>> ks.save()
>>> Keystore.load(path).unlock("acme", "correct horse").public_key == key.public_key
True
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Optional, Union

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from nacl import bindings as sodium
from nacl.exceptions import CryptoError

from .errors import KeyNotFound, KeystoreError, WrongPassphrase
from .keys import PUBLIC_KEY_BYTES, SEED_BYTES, SigningKey

FORMAT_VERSION = 1
KDF_NAME = "argon2id"
CIPHER_NAME = "xchacha20poly1305"
SALT_BYTES = 16
SALT_BYTES_MIN = 8  # argon2's minimum; entries with shorter salts are refused
NONCE_BYTES = 24
TAG_BYTES = 16
AAD_PREFIX = b"vchain-keystore-v1:"

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class KdfParams:
    """argon2id costs, stored with each entry. The default is the Rust argon2 crate's (and
    OWASP's): 19,456 KiB, 2 passes, 1 lane."""

    m_cost_kib: int = 19_456
    t_cost: int = 2
    p_cost: int = 1

    @classmethod
    def insecure_fast(cls) -> "KdfParams":
        """8 KiB, 1 pass: for tests and throw-away dev keystores only (dev mode uses these)."""
        return cls(m_cost_kib=8, t_cost=1, p_cost=1)


@dataclasses.dataclass
class KeyEntry:
    """One key of the keystore: its public part and its sealed secret."""

    name: str
    public_key: bytes
    account_id: Optional[str]
    created: Optional[str]
    kdf: KdfParams
    salt: bytes = dataclasses.field(repr=False)
    nonce: bytes = dataclasses.field(repr=False)
    ciphertext: bytes = dataclasses.field(repr=False)

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()


def _derive(passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    """The entry's 32-byte sealing key: argon2id v0x13, no secret, no associated data."""
    try:
        return hash_secret_raw(
            secret=passphrase.encode("utf-8"),
            salt=salt,
            time_cost=kdf.t_cost,
            memory_cost=kdf.m_cost_kib,
            parallelism=kdf.p_cost,
            hash_len=32,
            type=Type.ID,
            version=0x13,
        )
    except HashingError as error:
        raise KeystoreError(f"invalid key derivation parameters {kdf}: {error}") from error


def _aad(public_key: bytes) -> bytes:
    return AAD_PREFIX + public_key


def _valid_name(name: str) -> bool:
    # The Rust side: 1-128 characters, each alphanumeric (Unicode) or one of -_.@:
    return (
        0 < len(name) <= 128
        and all(c.isalnum() or c in "-_.@:" for c in name)
    )


class Keystore:
    """A keystore file and its entries; changes stay in memory until :meth:`save`."""

    def __init__(self, path: PathLike, entries: Optional[list[KeyEntry]] = None) -> None:
        self.path = Path(path)
        self._entries: list[KeyEntry] = list(entries or [])

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike) -> "Keystore":
        """Reads the keystore at ``path``; a missing or invalid file is a :class:`KeystoreError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise KeystoreError(f"cannot read keystore {path}: {error}") from error
        return cls(path, _decode_file(path, text))

    @classmethod
    def load_or_create(cls, path: PathLike) -> "Keystore":
        """Reads the keystore at ``path``, or an empty one (written on :meth:`save`) if absent."""
        if not Path(path).exists():
            return cls(path)
        return cls.load(path)

    @property
    def entries(self) -> list[KeyEntry]:
        """The entries, in file order."""
        return list(self._entries)

    def entry(self, name: str) -> KeyEntry:
        """The entry named ``name`` (:class:`KeyNotFound` if none)."""
        for entry in self._entries:
            if entry.name == name:
                return entry
        raise KeyNotFound(f"no key named {name!r} in {self.path}")

    def unlock(self, name: str, passphrase: str) -> SigningKey:
        """Decrypts the key named ``name``.

        A wrong passphrase or an altered entry gives :class:`WrongPassphrase`; a secret that does
        not belong to the entry's public key gives :class:`KeystoreError`.
        """
        entry = self.entry(name)
        key = _derive(passphrase, entry.salt, entry.kdf)
        try:
            seed = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                entry.ciphertext, _aad(entry.public_key), entry.nonce, key
            )
        except CryptoError as error:
            raise WrongPassphrase(
                f"wrong passphrase for key {name!r} (or its encrypted secret is corrupted)"
            ) from error
        if len(seed) != SEED_BYTES:
            raise KeystoreError(f"key {name!r}: the decrypted secret is not {SEED_BYTES} bytes")
        signing_key = SigningKey(seed)
        if signing_key.public_key != entry.public_key:
            raise KeystoreError(
                f"key {name!r}: the decrypted secret does not match the stored public key"
            )
        return signing_key

    # -- writing -------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        key: SigningKey,
        passphrase: str,
        *,
        account_id: Optional[str] = None,
        kdf: KdfParams = KdfParams(),
    ) -> KeyEntry:
        """Seals ``key`` under ``passphrase`` as a new entry (fresh random salt and nonce)."""
        if not _valid_name(name):
            raise KeystoreError(f"invalid key name {name!r}: use 1 to 128 letters, digits or -_.@:")
        if any(entry.name == name for entry in self._entries):
            raise KeystoreError(f"a key named {name!r} already exists in the keystore")
        if not passphrase:
            raise KeystoreError("the passphrase is empty")
        salt = secrets.token_bytes(SALT_BYTES)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            key.seed(), _aad(key.public_key), nonce, _derive(passphrase, salt, kdf)
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        entry = KeyEntry(
            name=name,
            public_key=key.public_key,
            account_id=account_id,
            created=now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            kdf=kdf,
            salt=salt,
            nonce=nonce,
            ciphertext=ciphertext,
        )
        self._entries.append(entry)
        return entry

    def save(self) -> None:
        """Writes the file atomically (a temporary file in the same directory, then a rename),
        mode 0600, creating its directory with mode 0700 if needed."""
        document = {"version": FORMAT_VERSION, "keys": [_encode_entry(e) for e in self._entries]}
        data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.tmp.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(file.fileno(), 0o600)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass  # the rename is done; durability of the directory entry is best effort


def _encode_entry(entry: KeyEntry) -> dict:
    stored: dict = {"name": entry.name}
    if entry.account_id is not None:
        stored["account_id"] = entry.account_id
    stored["public_key"] = entry.public_key.hex()
    if entry.created is not None:
        stored["created"] = entry.created
    stored["crypto"] = {
        "kdf": KDF_NAME,
        "kdf_params": {
            "m_cost_kib": entry.kdf.m_cost_kib,
            "t_cost": entry.kdf.t_cost,
            "p_cost": entry.kdf.p_cost,
            "salt": entry.salt.hex(),
        },
        "cipher": CIPHER_NAME,
        "nonce": entry.nonce.hex(),
        "ciphertext": entry.ciphertext.hex(),
    }
    return stored


def _hex(value: object, what: str, length: Optional[int] = None) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a hex string")
    try:
        data = bytes.fromhex(value)
    except ValueError as error:
        raise ValueError(f"{what} is not hex") from error
    if length is not None and len(data) != length:
        raise ValueError(f"{what} is not {length} bytes of hex")
    return data


def _decode_file(path: Path, text: str) -> list[KeyEntry]:
    def invalid(reason: str) -> KeystoreError:
        return KeystoreError(f"keystore {path} is not valid: {reason}")

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid(str(error)) from error
    if not isinstance(document, dict):
        raise invalid("not a JSON object")
    if document.get("version") != FORMAT_VERSION:
        raise invalid(
            f"unsupported version {document.get('version')!r} (expected {FORMAT_VERSION})"
        )
    entries: list[KeyEntry] = []
    for stored in document.get("keys", []):
        try:
            entry = _decode_entry(stored)
        except (ValueError, KeyError, TypeError) as error:
            raise invalid(str(error)) from error
        if any(e.name == entry.name for e in entries):
            raise invalid(f"key name {entry.name!r} appears twice")
        entries.append(entry)
    return entries


def _decode_entry(stored: dict) -> KeyEntry:
    name = stored["name"]
    if not isinstance(name, str) or not _valid_name(name):
        raise ValueError(f"invalid key name {name!r}")
    what = f"key {name!r}:"
    crypto = stored["crypto"]
    if crypto["kdf"] != KDF_NAME:
        raise ValueError(f"{what} unsupported kdf {crypto['kdf']!r}")
    if crypto["cipher"] != CIPHER_NAME:
        raise ValueError(f"{what} unsupported cipher {crypto['cipher']!r}")
    params = crypto["kdf_params"]
    kdf = KdfParams(int(params["m_cost_kib"]), int(params["t_cost"]), int(params["p_cost"]))
    salt = _hex(params["salt"], f"{what} salt")
    if len(salt) < SALT_BYTES_MIN:
        raise ValueError(f"{what} salt is too short")
    ciphertext = _hex(crypto["ciphertext"], f"{what} ciphertext", SEED_BYTES + TAG_BYTES)
    return KeyEntry(
        name=name,
        public_key=_hex(stored["public_key"], f"{what} public_key", PUBLIC_KEY_BYTES),
        account_id=stored.get("account_id"),
        created=stored.get("created"),
        kdf=kdf,
        salt=salt,
        nonce=_hex(crypto["nonce"], f"{what} nonce", NONCE_BYTES),
        ciphertext=ciphertext,
    )
