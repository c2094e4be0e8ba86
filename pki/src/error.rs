//! The one error type of this crate.

/// Why a certificate, CSR or request to make one was refused.
///
/// `what` names the object that failed: `"CA certificate"`, `"leaf certificate"`, `"CSR"`,
/// `"certificate"` (parsed on its own) or `"subject public key"` (making).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The input is larger than this crate ever reads.
    #[error("{what} is {len} bytes, larger than the {max} bytes allowed")]
    TooLarge {
        /// What was refused.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The input is not PEM with the expected label.
    #[error("{what} is not a PEM `{label}`: {reason}")]
    Pem {
        /// What was refused.
        what: &'static str,
        /// The PEM label expected.
        label: &'static str,
        /// Why decoding failed.
        reason: String,
    },
    /// The input is not canonical DER of the expected structure, or breaks this crate's profile.
    #[error("{what} is malformed: {reason}")]
    Malformed {
        /// What was refused.
        what: &'static str,
        /// Which rule it broke.
        reason: String,
    },
    /// A signature algorithm or a public key is not Ed25519 (OID 1.3.101.112, no parameters).
    #[error("{what}: the {field} is {found}, not Ed25519 (OID 1.3.101.112 without parameters)")]
    NotEd25519 {
        /// What was refused.
        what: &'static str,
        /// `"signature algorithm"` or `"subject public key algorithm"`.
        field: &'static str,
        /// The OID found, with "with parameters" if parameters were present.
        found: String,
    },
    /// The Ed25519 signature does not verify (strictly) over the exact signed bytes.
    #[error("{what}: the signature does not verify with {signer}")]
    BadSignature {
        /// What was refused.
        what: &'static str,
        /// Whose key was used: `"its own key"` or `"the CA's key"`.
        signer: &'static str,
    },
    /// An Ed25519 public key of small order, for which signatures prove nothing.
    #[error("{what}: the Ed25519 public key is weak (small order)")]
    WeakKey {
        /// What was refused.
        what: &'static str,
    },
    /// The leaf's issuer name is not the CA's subject name (byte for byte).
    #[error("leaf certificate: issuer `{issuer}` is not the CA's subject `{ca_subject}`")]
    IssuerMismatch {
        /// The leaf's issuer, RFC 4514 text.
        issuer: String,
        /// The CA's subject, RFC 4514 text.
        ca_subject: String,
    },
    /// The organisation (O) differs from the CA's.
    #[error("{what}: organisation `{found}` is not the CA's organisation `{expected}`")]
    OrganisationMismatch {
        /// What was refused.
        what: &'static str,
        /// The organisation it names.
        found: String,
        /// The CA's organisation.
        expected: String,
    },
    /// Checked before its notBefore.
    #[error("{what} is not yet valid: valid from {not_before_ms} ms, checked at {at_ms} ms")]
    NotYetValid {
        /// What was refused.
        what: &'static str,
        /// Its notBefore, ms since the Unix epoch.
        not_before_ms: u64,
        /// The time of the check, ms since the Unix epoch.
        at_ms: u64,
    },
    /// Checked after its notAfter.
    #[error("{what} has expired: valid until {not_after_ms} ms, checked at {at_ms} ms")]
    Expired {
        /// What was refused.
        what: &'static str,
        /// Its notAfter, ms since the Unix epoch.
        not_after_ms: u64,
        /// The time of the check, ms since the Unix epoch.
        at_ms: u64,
    },
    /// Presented as a CA but is not one.
    #[error("{what} is not a root CA: {reason}")]
    NotACa {
        /// What was refused.
        what: &'static str,
        /// Which property is missing.
        reason: &'static str,
    },
    /// A leaf certificate with basicConstraints `cA=true`.
    #[error("leaf certificate claims to be a CA (basicConstraints cA=true)")]
    LeafIsCa,
    /// The keyUsage extension is missing or grants the wrong usages.
    #[error("{what}: keyUsage {reason}")]
    KeyUsage {
        /// What was refused.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The OU names no role this crate knows.
    #[error(
        "unknown role `{role}`: expected root-ca, node, device, administrator, financier, \
         core-enterprise, supplier, regulator or warehouse-operator"
    )]
    UnknownRole {
        /// The OU found.
        role: String,
    },
    /// A known role in the wrong place: a root CA role on a leaf, a leaf role on a CA.
    #[error("{what}: role `{found}` where {expected} was expected")]
    WrongRole {
        /// What was refused.
        what: &'static str,
        /// The role found.
        found: String,
        /// The role or roles allowed here.
        expected: &'static str,
    },
    /// A critical extension this crate does not understand (RFC 5280 §4.2: must refuse).
    #[error("{what}: unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// What was refused.
        what: &'static str,
        /// The extension's OID.
        oid: String,
    },
    /// Making: the validity period is empty, outside what X.509 encodes, or outside the CA's.
    #[error("invalid validity period: {reason}")]
    InvalidValidity {
        /// Why.
        reason: String,
    },
    /// Making: an organisation id or common name breaks the subject rules.
    #[error("invalid {field} `{value}`: {reason}")]
    InvalidName {
        /// `"organisation"` or `"common name"`.
        field: &'static str,
        /// The value refused.
        value: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// Making: the signing key given is not the CA certificate's key.
    #[error("the signing key does not match the CA certificate's public key")]
    KeyMismatch,
    /// Making: the underlying X.509 builder failed.
    #[error("could not build the {what}: {reason}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// The builder's error.
        reason: String,
    },
    /// Making: the operating system's random number generator failed.
    #[error("operating system randomness failed: {reason}")]
    Randomness {
        /// The generator's error.
        reason: String,
    },
}
