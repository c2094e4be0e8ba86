"""Ed25519 signing keys, as the chain uses them: a 32-byte secret (the RFC 8032 seed) and its
32-byte public key. Signatures are plain Ed25519 (RFC 8032), deterministic."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: Bytes of a secret key (seed), a public key and a signature.
SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class SigningKey:
    """An Ed25519 key that signs transactions, reads and certificate requests."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 secret key is {SEED_BYTES} bytes, got {len(seed)}")
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        self._public = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> "SigningKey":
        """A new random key (from the operating system's randomness)."""
        return cls(secrets.token_bytes(SEED_BYTES))

    @classmethod
    def from_hex(cls, seed_hex: str) -> "SigningKey":
        """A key from its 32-byte secret in hex (64 characters)."""
        return cls(bytes.fromhex(seed_hex.strip()))

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._public

    @property
    def public_key_hex(self) -> str:
        """The public key as 64 lowercase hex characters (as the keystore and CLI print it)."""
        return self._public.hex()

    def seed(self) -> bytes:
        """The 32-byte secret. Keep it secret: store it with :class:`vchain_wallet.Keystore`."""
        return self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over ``message``."""
        return self._private.sign(bytes(message))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The key as a ``cryptography`` object (e.g. to build X.509 structures)."""
        return self._private

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key_hex})"
