//! Shared fixtures: a fixed clock, deterministic keys, and surgery on certificates (decode,
//! change one field, re-sign with a chosen key) to make the certificates a careful CA never would.
#![allow(dead_code)]

use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey};
use vchain_pki::{CertRole, Certificate, RootCa, Subject, Validity};
use x509_cert::der::asn1::{BitString, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::name::Name;

pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// 2026-01-01T00:00:00Z.
pub(crate) const START_MS: u64 = 1_767_225_600_000;
/// A time when both the test CAs and the test leaves are valid.
pub(crate) const NOW_MS: u64 = START_MS + 10 * DAY_MS;

/// Ten years from [`START_MS`].
pub(crate) fn ca_validity() -> Validity {
    Validity {
        not_before_ms: START_MS,
        not_after_ms: START_MS + 3650 * DAY_MS,
    }
}

/// One year from [`START_MS`].
pub(crate) fn year() -> Validity {
    Validity {
        not_before_ms: START_MS,
        not_after_ms: START_MS + 365 * DAY_MS,
    }
}

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn public(seed: u8) -> [u8; 32] {
    key(seed).verifying_key().to_bytes()
}

pub(crate) fn ca(organisation: &str) -> RootCa {
    RootCa::generate(organisation, ca_validity()).expect("a root CA")
}

pub(crate) fn subject(organisation: &str, common_name: &str, role: CertRole) -> Subject {
    Subject {
        organisation: organisation.to_owned(),
        common_name: common_name.to_owned(),
        role,
    }
}

/// A node certificate `node-1` of the CA's organisation for [`key`]`(1)`, valid for [`year`].
pub(crate) fn node_certificate(ca: &RootCa) -> Certificate {
    ca.issue(
        &subject(ca.organisation(), "node-1", CertRole::Node),
        &public(1),
        year(),
    )
    .expect("a node certificate")
}

pub(crate) fn decode(der: &[u8]) -> x509_cert::Certificate {
    x509_cert::Certificate::from_der(der).expect("a certificate")
}

pub(crate) fn name(rfc4514: &str) -> Name {
    Name::from_str(rfc4514).expect("an RFC 4514 name")
}

/// Re-signs `certificate`'s (changed) tbsCertificate with `key`: a certificate `key`'s owner
/// really issued, whatever it says.
pub(crate) fn resign(mut certificate: x509_cert::Certificate, key: &SigningKey) -> Vec<u8> {
    let tbs = certificate
        .tbs_certificate
        .to_der()
        .expect("encode tbsCertificate");
    let signature = key.sign(&tbs);
    certificate.signature = BitString::from_bytes(&signature.to_bytes()).expect("a bit string");
    certificate.to_der().expect("encode certificate")
}

/// Replaces the extension `oid` (or appends it) with `value` (DER of the extension's value).
pub(crate) fn set_extension(
    certificate: &mut x509_cert::Certificate,
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) {
    let extension = Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().expect("encode extension"))
            .expect("an octet string"),
    };
    let extensions = certificate
        .tbs_certificate
        .extensions
        .get_or_insert_with(Vec::new);
    extensions.retain(|existing| existing.extn_id != oid);
    extensions.push(extension);
}
