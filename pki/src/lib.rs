//! vchain's consortium PKI: X.509 certificates (RFC 5280) with Ed25519 keys (RFC 8410).
//!
//! **Owns:** the certificate profile of the consortium, making certificates (an organisation's
//! root CA, node / account / device certificates, CSRs; feature `make`, on by default) and
//! verifying them (always built).
//!
//! **Must not depend on** any I/O, clock or randomness in its verifying half: the contracts crate
//! verifies certificate chains at block time, so [`verify`], [`verify_root`] and [`inspect`] are
//! pure, deterministic functions of their bytes and of the time passed in (`at_ms`, ms since the
//! Unix epoch; the block's timestamp). With `--no-default-features` this crate depends only on
//! the RustCrypto `x509-cert`/`der`/`spki` crates, `ed25519-dalek` and `thiserror`: no tokio, no
//! ring, no C. Making needs the operating system's randomness (keys, serial numbers) and lives
//! behind the `make` feature.
//!
//! # The profile
//!
//! Every certificate this crate makes, and every certificate it accepts:
//! - is canonical DER (re-encoding gives the same bytes), X.509 v3, at most
//!   [`CERTIFICATE_BYTES_MAX`] bytes, without unique identifiers;
//! - is signed with Ed25519 (`1.3.101.112`, parameters absent), in both signature algorithm
//!   fields, and certifies an Ed25519 key that is a valid point and not of small order
//!   ([`CertError::WeakKey`]); signatures are checked with `verify_strict` over the exact
//!   tbsCertificate bytes;
//! - has a subject of exactly three single-valued RDNs, UTF8String (PrintableString is also
//!   read): `O` = the organisation id (e.g. `bank-a`), `OU` = the role name ([`CertRole::name`]:
//!   `root-ca`, `node`, `device`, `administrator`, `financier`, `core-enterprise`, `supplier`,
//!   `regulator`, `warehouse-operator`), `CN` = the node id, account id or device id. Each value
//!   is 1 to 64 characters, no control characters, no leading or trailing space;
//! - has a positive serial number; this crate makes 16 random bytes (126 random bits);
//! - has a validity period of whole seconds; a certificate is valid at `at_ms` when
//!   `not_before_ms <= at_ms <= not_after_ms` (both bounds inclusive, RFC 5280 §4.1.2.5);
//! - refuses critical extensions other than basicConstraints, keyUsage, subject and authority
//!   key identifier (RFC 5280 §4.2), and any extension twice.
//!
//! A **root CA** has `CN=<org> root CA`, `OU=root-ca`, is self-issued and self-signed,
//! basicConstraints `cA=true` (critical), keyUsage keyCertSign + cRLSign (critical). A **leaf**
//! (node, account, device) has basicConstraints `cA=false`, keyUsage digitalSignature (plus
//! contentCommitment, i.e. non-repudiation, when made here) and never keyCertSign or cRLSign, the
//! CA's subject as issuer, and the CA's organisation as O. There are no intermediate CAs: each
//! organisation's root CA, listed in genesis, certifies its own nodes, accounts and devices.
//!
//! A node's certificate binds its libp2p Ed25519 key; an account's, its transaction signing key
//! and role; a device's, the key that signs its readings. Revocation is the chain's business
//! (a list of revoked serial numbers); this crate does not read CRLs.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "make")]
//! # fn main() -> Result<(), vchain_pki::CertError> {
//! use ed25519_dalek::SigningKey;
//! use vchain_pki::{verify, verify_root, AccountRole, CertRole, RootCa, Subject, Validity};
//!
//! const DAY_MS: u64 = 24 * 60 * 60 * 1000;
//! let start_ms = 1_767_225_600_000; // 2026-01-01T00:00:00Z
//!
//! // `vchain ca init`: an organisation's root CA.
//! let validity = Validity { not_before_ms: start_ms, not_after_ms: start_ms + 3650 * DAY_MS };
//! let ca = RootCa::generate("bank-a", validity)?;
//! let ca_pem = ca.certificate().to_pem(); // goes into genesis
//!
//! // `vchain ca issue`: certify an account's signing key as a supplier for a year.
//! let account_key = SigningKey::from_bytes(&[7; 32]);
//! let subject = Subject {
//!     organisation: "bank-a".into(),
//!     common_name: "acme-parts".into(),
//!     role: CertRole::Account(AccountRole::Supplier),
//! };
//! let year = Validity { not_before_ms: start_ms, not_after_ms: start_ms + 365 * DAY_MS };
//! let leaf = ca.issue(&subject, &account_key.verifying_key().to_bytes(), year)?;
//!
//! // At block time (pure): the block's timestamp is the only clock.
//! let ca_der = vchain_pki::Certificate::from_pem(&ca_pem)?.into_der();
//! verify_root(&ca_der, start_ms + DAY_MS)?;
//! let certified = verify(leaf.as_der(), &ca_der, start_ms + DAY_MS)?;
//! assert_eq!(certified.organisation, "bank-a");
//! assert_eq!(certified.common_name, "acme-parts");
//! assert_eq!(certified.role, CertRole::Account(AccountRole::Supplier));
//! assert_eq!(certified.public_key, account_key.verifying_key().to_bytes());
//!
//! // A year and a day later the certificate has expired; 30 days before, it is expiring soon.
//! assert!(verify(leaf.as_der(), &ca_der, start_ms + 366 * DAY_MS).is_err());
//! assert!(certified.expires_within(start_ms + 340 * DAY_MS, 30 * DAY_MS));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "make"))]
//! # fn main() {}
//! ```

mod certificate;
mod error;
#[cfg(feature = "make")]
mod make;
mod parse;
mod role;
mod verify;

pub use certificate::{Certificate, CERTIFICATE_PEM_LABEL};
pub use error::CertError;
#[cfg(feature = "make")]
pub use make::{make_csr, RootCa, Subject, Validity, CSR_PEM_LABEL};
pub use role::{AccountRole, CertRole};
pub use verify::{inspect, verify, verify_root, Certified};

/// The largest certificate, in DER bytes, this crate reads. Ours are about 400 bytes.
pub const CERTIFICATE_BYTES_MAX: usize = 8 * 1024;

/// The largest certificate signing request, in DER bytes, this crate reads.
pub const CSR_BYTES_MAX: usize = 8 * 1024;

/// The largest PEM text this crate reads.
pub const PEM_BYTES_MAX: usize = 16 * 1024;

/// The most characters in an organisation id or common name (RFC 5280's ub-common-name).
pub const NAME_CHARS_MAX: usize = 64;
