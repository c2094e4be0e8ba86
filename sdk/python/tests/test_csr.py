"""Certificate signing requests as the pki crate reads them (checked against the CLI in
test_dev_node.py)."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from vchain_wallet import SigningKey, make_csr


def parse(pem):
    return x509.load_pem_x509_csr(pem)


def test_csr_names_the_account_and_is_self_signed():
    key = SigningKey.generate()
    pem = make_csr(key, "acme-treasury")
    assert pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n")
    csr = parse(pem)
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=acme-treasury"
    raw = csr.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == key.public_key
    (attribute,) = csr.subject
    assert attribute.value == "acme-treasury"
    assert attribute._type.name == "UTF8String"


def test_organisation_and_role_are_one_attribute_per_rdn():
    csr = parse(make_csr(SigningKey.generate(), "acme", organisation="bank-a", role="supplier"))
    assert [len(rdn) for rdn in csr.subject.rdns] == [1, 1, 1]
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "bank-a"
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "supplier"


@pytest.mark.parametrize("bad", ["", "ab", "Acme", "acme/1", "-acme", "a" * 65, " acme"])
def test_names_the_chain_refuses_are_refused(bad):
    with pytest.raises(ValueError):
        make_csr(SigningKey.generate(), bad)


def test_bad_organisation_is_refused():
    with pytest.raises(ValueError):
        make_csr(SigningKey.generate(), "acme", organisation=" bank-a")
