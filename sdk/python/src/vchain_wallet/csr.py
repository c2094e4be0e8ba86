"""Certificate signing requests: how a key made outside vchain gets certified.

The key holder makes a PKCS#10 request (RFC 2986) for its Ed25519 key, self-signed, and sends
it to its organisation's CA; the CA certifies it (``vchain ca issue --csr FILE --role ROLE``,
``RootCa::issue_from_csr`` in ``pki/src/make.rs``) and the administrator registers the account
with the certificate. The secret key never leaves its holder.

What the CA accepts (``pki``): an Ed25519 request whose self-signature verifies, whose subject
holds only CN (the account id the certificate will name) and optionally O (which must be the
CA's organisation) and OU (which must be the role being granted), one attribute per RDN, each a
UTF8String or PrintableString of 1 to 64 characters without control characters or surrounding
white space, in canonical DER. Requested extensions are ignored: the CA decides them.
"""

from __future__ import annotations

import re
from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .keys import SigningKey

#: Longest name value the CA accepts, in characters.
NAME_CHARS_MAX = 64
#: What the chain accepts as an account id (``contracts/src/validate.rs``).
ACCOUNT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def _check_name(field: str, value: str) -> None:
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > NAME_CHARS_MAX:
        raise ValueError(f"{field} {value!r} is longer than {NAME_CHARS_MAX} characters")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError(f"{field} {value!r} contains a control character")
    if value.strip() != value:
        raise ValueError(f"{field} {value!r} has leading or trailing white space")


def make_csr(
    key: SigningKey,
    account_id: str,
    *,
    organisation: Optional[str] = None,
    role: Optional[str] = None,
) -> bytes:
    """A PEM ``CERTIFICATE REQUEST`` for ``key`` with subject ``CN=<account_id>``.

    ``organisation`` (the CA's organisation id, e.g. ``bank-a``) and ``role`` (e.g.
    ``supplier``) are optional: when given they are written as O and OU, and the CA refuses the
    request if they are not its organisation and the role it grants.
    """
    if not ACCOUNT_ID.match(account_id):
        raise ValueError(
            f"account id {account_id!r} must be 3-64 characters of a-z, 0-9, '.', '_', '-' "
            "starting with a letter or digit"
        )
    attributes = []
    if organisation is not None:
        _check_name("organisation", organisation)
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if role is not None:
        _check_name("role", role)
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, account_id))
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.RelativeDistinguishedName([a]) for a in attributes]))
        .sign(key.private_key, None)
    )
    return request.public_bytes(serialization.Encoding.PEM)
