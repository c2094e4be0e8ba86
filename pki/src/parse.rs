//! Pure decoding of certificates and CSRs into the fields this crate's profile allows.
//!
//! Everything here is a deterministic function of its input bytes: no clock, no randomness, no
//! hash-map iteration. Every rule of the profile (crate docs) that can be checked on one object
//! alone is checked here; rules between a leaf and its CA are in `verify.rs`.

use ed25519_dalek::{Signature, VerifyingKey};
use x509_cert::der::asn1::{BitString, PrintableStringRef, Utf8StringRef};
use x509_cert::der::oid::db::rfc4519;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Time;
use x509_cert::Version;

use crate::{CertError, CertRole, CERTIFICATE_BYTES_MAX, NAME_CHARS_MAX};

/// Ed25519, RFC 8410 §3: `id-Ed25519 OBJECT IDENTIFIER ::= { 1 3 101 112 }`.
pub(crate) const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Names for `what` in errors.
pub(crate) const WHAT_CA: &str = "CA certificate";
pub(crate) const WHAT_LEAF: &str = "leaf certificate";
pub(crate) const WHAT_CERTIFICATE: &str = "certificate";
#[cfg(feature = "make")]
pub(crate) const WHAT_CSR: &str = "CSR";

/// The subject attributes this profile uses; any other attribute is refused.
#[derive(Debug, Default)]
pub(crate) struct SubjectFields {
    pub(crate) organisation: Option<String>,
    pub(crate) unit: Option<String>,
    pub(crate) common_name: Option<String>,
}

/// A certificate that passed every single-object rule of the profile. Its signature is NOT
/// checked yet: that needs the issuer's key (`verify.rs`).
#[derive(Debug)]
pub(crate) struct ParsedCertificate {
    /// The exact DER of `tbsCertificate` as it appears in the input (the input is canonical DER,
    /// so re-encoding reproduces it byte for byte; checked in [`parse_certificate`]).
    pub(crate) tbs_der: Vec<u8>,
    pub(crate) signature: Signature,
    pub(crate) public_key: VerifyingKey,
    pub(crate) subject_der: Vec<u8>,
    pub(crate) issuer_der: Vec<u8>,
    pub(crate) subject_text: String,
    pub(crate) issuer_text: String,
    pub(crate) organisation: String,
    pub(crate) common_name: String,
    pub(crate) role: CertRole,
    pub(crate) is_ca: bool,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) serial: Vec<u8>,
    pub(crate) not_before_ms: u64,
    pub(crate) not_after_ms: u64,
}

pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> CertError {
    CertError::Malformed {
        what,
        reason: reason.into(),
    }
}

pub(crate) fn check_len(what: &'static str, bytes: &[u8], max: usize) -> Result<(), CertError> {
    if bytes.len() > max {
        return Err(CertError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    Ok(())
}

/// Decodes `der` as a `T` and requires that re-encoding gives the same bytes, so that every
/// accepted object has exactly one encoding and what was signed is what we re-encode.
pub(crate) fn decode_canonical<'a, T>(what: &'static str, der: &'a [u8]) -> Result<T, CertError>
where
    T: Decode<'a> + Encode,
{
    let value = T::from_der(der).map_err(|error| malformed(what, format!("bad DER: {error}")))?;
    let again = value
        .to_der()
        .map_err(|error| malformed(what, format!("cannot re-encode: {error}")))?;
    if again != der {
        return Err(malformed(what, "not in canonical DER"));
    }
    Ok(value)
}

/// Requires the Ed25519 algorithm identifier with absent parameters (RFC 8410 §3).
pub(crate) fn require_ed25519(
    what: &'static str,
    field: &'static str,
    algorithm: &AlgorithmIdentifierOwned,
) -> Result<(), CertError> {
    if algorithm.oid == ED25519_OID && algorithm.parameters.is_none() {
        return Ok(());
    }
    let found = if algorithm.parameters.is_some() {
        format!("{} with parameters", algorithm.oid)
    } else {
        algorithm.oid.to_string()
    };
    Err(CertError::NotEd25519 { what, field, found })
}

/// The subject's Ed25519 key: right algorithm, 32 bytes, a valid point, not of small order.
pub(crate) fn ed25519_public_key(
    what: &'static str,
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<VerifyingKey, CertError> {
    require_ed25519(what, "subject public key algorithm", &spki.algorithm)?;
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed(what, "public key BIT STRING has unused bits"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
        malformed(
            what,
            format!("Ed25519 public key is {} bytes, not 32", bytes.len()),
        )
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| malformed(what, "public key is not a valid Edwards point"))?;
    if key.is_weak() {
        return Err(CertError::WeakKey { what });
    }
    Ok(key)
}

pub(crate) fn ed25519_signature(
    what: &'static str,
    signature: &BitString,
) -> Result<Signature, CertError> {
    let bytes = signature
        .as_bytes()
        .ok_or_else(|| malformed(what, "signature BIT STRING has unused bits"))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| {
        malformed(
            what,
            format!("Ed25519 signature is {} bytes, not 64", bytes.len()),
        )
    })?;
    Ok(Signature::from_bytes(&bytes))
}

/// The rules for an organisation id or common name, both when making and when parsing.
pub(crate) fn check_name_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("must not be empty");
    }
    if value.chars().count() > NAME_CHARS_MAX {
        return Err("longer than 64 characters");
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if value.trim() != value {
        return Err("has leading or trailing white space");
    }
    Ok(())
}

/// Reads O, OU and CN (each at most once, one attribute per RDN, UTF8String or PrintableString)
/// and refuses every other attribute.
pub(crate) fn subject_fields(what: &'static str, name: &Name) -> Result<SubjectFields, CertError> {
    let mut fields = SubjectFields::default();
    for rdn in name.0.iter() {
        let attributes = rdn.0.as_slice();
        let [attribute] = attributes else {
            return Err(malformed(
                what,
                "a subject RDN must hold exactly one attribute",
            ));
        };
        let (slot, label) = match attribute.oid {
            rfc4519::ORGANIZATION_NAME => (&mut fields.organisation, "O"),
            rfc4519::ORGANIZATIONAL_UNIT_NAME => (&mut fields.unit, "OU"),
            rfc4519::COMMON_NAME => (&mut fields.common_name, "CN"),
            oid => {
                return Err(malformed(
                    what,
                    format!("subject attribute {oid} is not one of O, OU, CN"),
                ))
            }
        };
        if slot.is_some() {
            return Err(malformed(
                what,
                format!("subject has more than one {label}"),
            ));
        }
        let value = &attribute.value;
        let text = match value.tag() {
            Tag::Utf8String => Utf8StringRef::try_from(value).map(|s| s.as_str().to_owned()),
            Tag::PrintableString => {
                PrintableStringRef::try_from(value).map(|s| s.as_str().to_owned())
            }
            tag => {
                return Err(malformed(
                    what,
                    format!("subject {label} is a {tag}, not a UTF8String or PrintableString"),
                ))
            }
        }
        .map_err(|error| malformed(what, format!("subject {label}: {error}")))?;
        check_name_value(&text)
            .map_err(|reason| malformed(what, format!("subject {label} {reason}")))?;
        *slot = Some(text);
    }
    Ok(fields)
}

fn time_ms(what: &'static str, time: Time) -> Result<u64, CertError> {
    time.to_unix_duration()
        .as_secs()
        .checked_mul(1000)
        .ok_or_else(|| malformed(what, "validity time out of range"))
}

/// Decodes a certificate and checks every rule of the profile that concerns it alone.
pub(crate) fn parse_certificate(
    what: &'static str,
    der: &[u8],
) -> Result<ParsedCertificate, CertError> {
    check_len(what, der, CERTIFICATE_BYTES_MAX)?;
    let certificate: x509_cert::Certificate = decode_canonical(what, der)?;
    let tbs = &certificate.tbs_certificate;

    if tbs.version != Version::V3 {
        return Err(malformed(what, "not an X.509 version 3 certificate"));
    }
    if tbs.signature != certificate.signature_algorithm {
        return Err(malformed(
            what,
            "signature algorithm differs between tbsCertificate and certificate",
        ));
    }
    require_ed25519(
        what,
        "signature algorithm",
        &certificate.signature_algorithm,
    )?;
    let signature = ed25519_signature(what, &certificate.signature)?;
    let public_key = ed25519_public_key(what, &tbs.subject_public_key_info)?;
    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        return Err(malformed(what, "unique identifiers are not allowed"));
    }

    let serial = tbs.serial_number.as_bytes().to_vec();
    match serial.first() {
        Some(first) if first & 0x80 != 0 => {
            return Err(malformed(what, "serial number is negative"))
        }
        _ if serial.iter().all(|byte| *byte == 0) => {
            return Err(malformed(what, "serial number is zero"))
        }
        _ => {}
    }

    let fields = subject_fields(what, &tbs.subject)?;
    let organisation = fields
        .organisation
        .ok_or_else(|| malformed(what, "subject has no O (organisation)"))?;
    let common_name = fields
        .common_name
        .ok_or_else(|| malformed(what, "subject has no CN (common name)"))?;
    let unit = fields
        .unit
        .ok_or_else(|| malformed(what, "subject has no OU (role)"))?;
    let role = CertRole::from_name(&unit)?;

    let not_before_ms = time_ms(what, tbs.validity.not_before)?;
    let not_after_ms = time_ms(what, tbs.validity.not_after)?;
    if not_before_ms > not_after_ms {
        return Err(malformed(what, "notBefore is after notAfter"));
    }

    let mut is_ca = false;
    let mut key_usage = None;
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for extension in tbs.extensions.iter().flatten() {
        let oid = extension.extn_id;
        if seen.contains(&oid) {
            return Err(malformed(what, format!("extension {oid} appears twice")));
        }
        seen.push(oid);
        let value = extension.extn_value.as_bytes();
        let bad =
            |error: x509_cert::der::Error| malformed(what, format!("extension {oid}: {error}"));
        if oid == BasicConstraints::OID {
            is_ca = BasicConstraints::from_der(value).map_err(bad)?.ca;
        } else if oid == KeyUsage::OID {
            key_usage = Some(KeyUsage::from_der(value).map_err(bad)?);
        } else if oid == SubjectKeyIdentifier::OID {
            SubjectKeyIdentifier::from_der(value).map_err(bad)?;
        } else if oid == AuthorityKeyIdentifier::OID {
            AuthorityKeyIdentifier::from_der(value).map_err(bad)?;
        } else if extension.critical {
            return Err(CertError::UnsupportedCriticalExtension {
                what,
                oid: oid.to_string(),
            });
        }
    }

    let encode = |name: &Name| {
        name.to_der()
            .map_err(|error| malformed(what, format!("cannot re-encode a name: {error}")))
    };
    let tbs_der = tbs
        .to_der()
        .map_err(|error| malformed(what, format!("cannot re-encode tbsCertificate: {error}")))?;
    // Invariant, checked again: the bytes we verify signatures over are the input's own
    // tbsCertificate, right after the outer SEQUENCE header.
    let outer_header_len = match der.get(1) {
        Some(length) if length & 0x80 == 0 => 2,
        Some(length) => 2 + usize::from(length & 0x7f),
        None => 0,
    };
    if der.get(outer_header_len..outer_header_len + tbs_der.len()) != Some(tbs_der.as_slice()) {
        return Err(malformed(
            what,
            "tbsCertificate is not the input's own bytes",
        ));
    }
    Ok(ParsedCertificate {
        tbs_der,
        signature,
        public_key,
        subject_der: encode(&tbs.subject)?,
        issuer_der: encode(&tbs.issuer)?,
        subject_text: tbs.subject.to_string(),
        issuer_text: tbs.issuer.to_string(),
        organisation,
        common_name,
        role,
        is_ca,
        key_usage,
        serial,
        not_before_ms,
        not_after_ms,
    })
}
