//! The making half (feature `make`): root CAs, certificates and CSRs.
//!
//! Uses the operating system's randomness for CA keys and serial numbers; everything else is a
//! function of the arguments. Every certificate made is verified by the verifying half before it
//! is returned, so this half cannot make what the chain would refuse.

use core::fmt;
use core::time::Duration;

use ed25519_dalek::ed25519::signature::Keypair;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::der::asn1::{Any, BitString, GeneralizedTime, SetOfVec};
use x509_cert::der::oid::db::rfc4519;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{DateTime, Decode, Encode, Tag};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::time::Time;
use zeroize::Zeroizing;

use crate::certificate::{pem_decode, pem_encode};
use crate::parse::{
    check_len, check_name_value, decode_canonical, ed25519_public_key, ed25519_signature,
    parse_certificate, require_ed25519, subject_fields, ED25519_OID, WHAT_CA, WHAT_CSR,
};
use crate::verify::check_root;
use crate::{verify, verify_root, CertError, CertRole, Certificate, CSR_BYTES_MAX};

/// PEM label of a certificate signing request (RFC 7468 §7).
pub const CSR_PEM_LABEL: &str = "CERTIFICATE REQUEST";

/// Serial numbers are this many random bytes (RFC 5280 §4.1.2.2 allows up to 20).
const SERIAL_BYTES: usize = 16;

/// A validity period in ms since the Unix epoch, both bounds inclusive.
///
/// X.509 times have one-second resolution: making a certificate drops the sub-second part of
/// both bounds (so `not_after_ms = 1_999` gives a notAfter of 1 s, i.e. 1 000 ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// The first instant the certificate is valid.
    pub not_before_ms: u64,
    /// The last instant the certificate is valid.
    pub not_after_ms: u64,
}

impl Validity {
    /// The bounds as written in a certificate: truncated to whole seconds.
    fn truncated(self) -> Validity {
        Validity {
            not_before_ms: self.not_before_ms - self.not_before_ms % 1000,
            not_after_ms: self.not_after_ms - self.not_after_ms % 1000,
        }
    }

    fn to_x509(self) -> Result<x509_cert::time::Validity, CertError> {
        if self.not_before_ms > self.not_after_ms {
            return Err(CertError::InvalidValidity {
                reason: format!(
                    "not_before_ms {} is after not_after_ms {}",
                    self.not_before_ms, self.not_after_ms
                ),
            });
        }
        Ok(x509_cert::time::Validity {
            not_before: x509_time(self.not_before_ms)?,
            not_after: x509_time(self.not_after_ms)?,
        })
    }
}

/// The subject of a leaf certificate: written as O, OU and CN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// O: the organisation id; must be the issuing CA's.
    pub organisation: String,
    /// CN: the node, account or device id.
    pub common_name: String,
    /// OU: the role granted; anything but [`CertRole::RootCa`].
    pub role: CertRole,
}

/// An organisation's root CA: its self-signed certificate and its Ed25519 signing key.
pub struct RootCa {
    certificate: Certificate,
    signing_key: SigningKey,
    organisation: String,
    subject: Name,
    validity: Validity,
}

impl fmt::Debug for RootCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCa")
            .field("organisation", &self.organisation)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// Generates a key and a self-signed root CA certificate for `organisation`: subject
    /// `O=<organisation>, OU=root-ca, CN=<organisation> root CA`, basicConstraints `cA=true`,
    /// keyUsage keyCertSign + cRLSign, a random serial number.
    pub fn generate(organisation: &str, validity: Validity) -> Result<RootCa, CertError> {
        check_name("organisation", organisation)?;
        let common_name = format!("{organisation} root CA");
        check_name("common name", &common_name)?;
        let x509_validity = validity.to_x509()?;
        let signing_key = random_signing_key()?;
        let subject = subject_name(&[
            (rfc4519::ORGANIZATION_NAME, organisation),
            (rfc4519::ORGANIZATIONAL_UNIT_NAME, CertRole::RootCa.name()),
            (rfc4519::COMMON_NAME, &common_name),
        ])?;
        let spki = ed25519_spki(&signing_key.verifying_key().to_bytes())?;
        let built = CertificateBuilder::new(
            Profile::Root,
            random_serial()?,
            x509_validity,
            subject,
            spki,
            &Ed25519Signer(&signing_key),
        )
        .and_then(|builder| builder.build::<BitStringSignature>())
        .map_err(|error| build_error(WHAT_CA, error))?;
        let der = built
            .to_der()
            .map_err(|error| build_error(WHAT_CA, error))?;

        // Check what we made with the verifying half, as the chain will.
        let certified = verify_root(&der, validity.truncated().not_before_ms)?;
        assert_eq!(certified.organisation, organisation);
        assert_eq!(certified.role, CertRole::RootCa);
        RootCa::from_parts(Certificate::from_checked_der(der), signing_key)
    }

    /// Reassembles a CA from its certificate and key (e.g. read back from disk). Checks that the
    /// certificate is a root CA under this crate's profile (not its validity period) and that
    /// the key is the certificate's.
    pub fn from_parts(
        certificate: Certificate,
        signing_key: SigningKey,
    ) -> Result<RootCa, CertError> {
        let parsed = check_root(parse_certificate(WHAT_CA, certificate.as_der())?)?;
        if parsed.public_key.to_bytes() != signing_key.verifying_key().to_bytes() {
            return Err(CertError::KeyMismatch);
        }
        let subject =
            Name::from_der(&parsed.subject_der).map_err(|error| build_error(WHAT_CA, error))?;
        Ok(RootCa {
            certificate,
            signing_key,
            organisation: parsed.organisation,
            subject,
            validity: Validity {
                not_before_ms: parsed.not_before_ms,
                not_after_ms: parsed.not_after_ms,
            },
        })
    }

    /// The CA's self-signed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The CA's organisation id (its O).
    pub fn organisation(&self) -> &str {
        &self.organisation
    }

    /// The CA certificate's validity period (whole seconds).
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// The certificate and the key, e.g. to write them to disk.
    pub fn into_parts(self) -> (Certificate, SigningKey) {
        (self.certificate, self.signing_key)
    }

    /// Certifies `subject_public_key` (an Ed25519 key: a node's libp2p key, an account's signing
    /// key or a device's key) as `subject`: basicConstraints `cA=false`, keyUsage
    /// digitalSignature + contentCommitment, subject and authority key identifiers, a random
    /// serial number.
    ///
    /// Refuses a subject of another organisation, the role [`CertRole::RootCa`], an invalid or
    /// weak key, and a validity period outside the CA's.
    pub fn issue(
        &self,
        subject: &Subject,
        subject_public_key: &[u8; 32],
        validity: Validity,
    ) -> Result<Certificate, CertError> {
        const WHAT: &str = "leaf certificate";
        if subject.organisation != self.organisation {
            return Err(CertError::OrganisationMismatch {
                what: "subject",
                found: subject.organisation.clone(),
                expected: self.organisation.clone(),
            });
        }
        if subject.role == CertRole::RootCa {
            return Err(CertError::WrongRole {
                what: "subject",
                found: subject.role.name().to_owned(),
                expected: "node, device or an account role",
            });
        }
        check_name("common name", &subject.common_name)?;
        let x509_validity = validity.to_x509()?;
        let written = validity.truncated();
        if written.not_before_ms < self.validity.not_before_ms
            || written.not_after_ms > self.validity.not_after_ms
        {
            return Err(CertError::InvalidValidity {
                reason: format!(
                    "{}..={} ms is not within the CA's validity {}..={} ms",
                    written.not_before_ms,
                    written.not_after_ms,
                    self.validity.not_before_ms,
                    self.validity.not_after_ms
                ),
            });
        }
        let spki = ed25519_spki(subject_public_key)?;
        // The same checks the verifying half makes of a certificate's key.
        ed25519_public_key("subject public key", &spki)?;
        let name = subject_name(&[
            (rfc4519::ORGANIZATION_NAME, &subject.organisation),
            (rfc4519::ORGANIZATIONAL_UNIT_NAME, subject.role.name()),
            (rfc4519::COMMON_NAME, &subject.common_name),
        ])?;
        let profile = Profile::Leaf {
            issuer: self.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let built = CertificateBuilder::new(
            profile,
            random_serial()?,
            x509_validity,
            name,
            spki,
            &Ed25519Signer(&self.signing_key),
        )
        .and_then(|builder| builder.build::<BitStringSignature>())
        .map_err(|error| build_error(WHAT, error))?;
        let der = built.to_der().map_err(|error| build_error(WHAT, error))?;

        // Check what we made with the verifying half, as the chain will.
        let certified = verify(&der, self.certificate.as_der(), written.not_before_ms)?;
        assert_eq!(certified.organisation, subject.organisation);
        assert_eq!(certified.common_name, subject.common_name);
        assert_eq!(certified.role, subject.role);
        assert_eq!(&certified.public_key, subject_public_key);
        assert_eq!(certified.not_after_ms, written.not_after_ms);
        Ok(Certificate::from_checked_der(der))
    }

    /// Certifies the key of a certificate signing request (PEM `CERTIFICATE REQUEST` or DER,
    /// e.g. from [`make_csr`]) with `role`, after checking the request's self-signature (strict
    /// Ed25519 over the exact CertificationRequestInfo bytes).
    ///
    /// The request's CN is the certificate's CN. Its O, if present, must be the CA's
    /// organisation (absent, the CA's is used); its OU, if present, must be `role`'s name. Any
    /// other subject attribute is refused; requested extensions are ignored (the CA decides
    /// them).
    pub fn issue_from_csr(
        &self,
        csr: &[u8],
        role: CertRole,
        validity: Validity,
    ) -> Result<Certificate, CertError> {
        let csr_der = csr_der(csr)?;
        let request: CertReq = decode_canonical(WHAT_CSR, &csr_der)?;
        require_ed25519(WHAT_CSR, "signature algorithm", &request.algorithm)?;
        let key = ed25519_public_key(WHAT_CSR, &request.info.public_key)?;
        let signature = ed25519_signature(WHAT_CSR, &request.signature)?;
        let info_der = request
            .info
            .to_der()
            .map_err(|error| crate::parse::malformed(WHAT_CSR, error.to_string()))?;
        key.verify_strict(&info_der, &signature)
            .map_err(|_| CertError::BadSignature {
                what: WHAT_CSR,
                signer: "its own key",
            })?;
        let fields = subject_fields(WHAT_CSR, &request.info.subject)?;
        let common_name = fields
            .common_name
            .ok_or_else(|| crate::parse::malformed(WHAT_CSR, "subject has no CN"))?;
        if let Some(organisation) = fields.organisation {
            if organisation != self.organisation {
                return Err(CertError::OrganisationMismatch {
                    what: WHAT_CSR,
                    found: organisation,
                    expected: self.organisation.clone(),
                });
            }
        }
        if let Some(unit) = fields.unit {
            if unit != role.name() {
                return Err(CertError::WrongRole {
                    what: WHAT_CSR,
                    found: unit,
                    expected: "the role being granted",
                });
            }
        }
        let subject = Subject {
            organisation: self.organisation.clone(),
            common_name,
            role,
        };
        self.issue(&subject, &key.to_bytes(), validity)
    }
}

/// Makes a certificate signing request (PEM `CERTIFICATE REQUEST`, RFC 2986) for
/// `signing_key`'s public key with subject `CN=<common_name>`, self-signed with Ed25519.
pub fn make_csr(signing_key: &SigningKey, common_name: &str) -> Result<String, CertError> {
    check_name("common name", common_name)?;
    let subject = subject_name(&[(rfc4519::COMMON_NAME, common_name)])?;
    let request = RequestBuilder::new(subject, &Ed25519Signer(signing_key))
        .and_then(|builder| builder.build::<BitStringSignature>())
        .map_err(|error| build_error(WHAT_CSR, error))?;
    let der = request
        .to_der()
        .map_err(|error| build_error(WHAT_CSR, error))?;
    Ok(pem_encode(CSR_PEM_LABEL, &der))
}

/// A CSR's DER, from PEM or DER input.
fn csr_der(csr: &[u8]) -> Result<Vec<u8>, CertError> {
    let trimmed = csr.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let text = core::str::from_utf8(csr).map_err(|_| CertError::Pem {
            what: WHAT_CSR,
            label: CSR_PEM_LABEL,
            reason: "not UTF-8".to_owned(),
        })?;
        let der = pem_decode(WHAT_CSR, CSR_PEM_LABEL, text)?;
        check_len(WHAT_CSR, &der, CSR_BYTES_MAX)?;
        return Ok(der);
    }
    check_len(WHAT_CSR, csr, CSR_BYTES_MAX)?;
    Ok(csr.to_vec())
}

/// An Ed25519 signature as the X.509 builder wants it: the 64 bytes as a BIT STRING.
struct BitStringSignature(Signature);

impl SignatureBitStringEncoding for BitStringSignature {
    fn to_bitstring(&self) -> x509_cert::der::Result<BitString> {
        BitString::from_bytes(&self.0.to_bytes())
    }
}

/// The signer handed to the X.509 builders. A wrapper rather than trait impls on `SigningKey`
/// itself: a second `Signer` impl on `SigningKey` would make `key.sign(..)` ambiguous in every
/// crate that links this one.
struct Ed25519Signer<'a>(&'a SigningKey);

impl Keypair for Ed25519Signer<'_> {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }
}

impl DynSignatureAlgorithmIdentifier for Ed25519Signer<'_> {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: ED25519_OID,
            parameters: None,
        })
    }
}

impl Signer<BitStringSignature> for Ed25519Signer<'_> {
    fn try_sign(
        &self,
        message: &[u8],
    ) -> Result<BitStringSignature, ed25519_dalek::SignatureError> {
        Signer::<Signature>::try_sign(self.0, message).map(BitStringSignature)
    }
}

fn check_name(field: &'static str, value: &str) -> Result<(), CertError> {
    check_name_value(value).map_err(|reason| CertError::InvalidName {
        field,
        value: value.to_owned(),
        reason,
    })
}

/// One single-valued RDN per attribute, UTF8String values, in the order given.
fn subject_name(attributes: &[(ObjectIdentifier, &str)]) -> Result<Name, CertError> {
    let mut rdns = Vec::with_capacity(attributes.len());
    for (oid, value) in attributes {
        let value = Any::new(Tag::Utf8String, value.as_bytes())
            .map_err(|error| build_error("name", error))?;
        let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid: *oid, value }])
            .map_err(|error| build_error("name", error))?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

fn ed25519_spki(public_key: &[u8; 32]) -> Result<SubjectPublicKeyInfoOwned, CertError> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ED25519_OID,
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(public_key)
            .map_err(|error| build_error("public key", error))?,
    })
}

/// A time as X.509 writes it: the builder turns years up to 2049 into UTCTime (RFC 5280
/// §4.1.2.5); later years stay GeneralizedTime.
fn x509_time(ms: u64) -> Result<Time, CertError> {
    let date = DateTime::from_unix_duration(Duration::from_secs(ms / 1000)).map_err(|error| {
        CertError::InvalidValidity {
            reason: format!("{ms} ms cannot be written as an X.509 time: {error}"),
        }
    })?;
    Ok(Time::GeneralTime(GeneralizedTime::from_date_time(date)))
}

fn random_signing_key() -> Result<SigningKey, CertError> {
    let mut secret = Zeroizing::new([0u8; 32]);
    OsRng
        .try_fill_bytes(secret.as_mut())
        .map_err(|error| CertError::Randomness {
            reason: error.to_string(),
        })?;
    Ok(SigningKey::from_bytes(&secret))
}

/// A random positive serial number of exactly [`SERIAL_BYTES`] bytes: the top bit is cleared
/// (positive) and the next one set (no leading zero byte), leaving 126 random bits.
fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| CertError::Randomness {
            reason: error.to_string(),
        })?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|error| build_error("serial number", error))
}

fn build_error(what: &'static str, error: impl fmt::Display) -> CertError {
    CertError::Build {
        what,
        reason: error.to_string(),
    }
}
