//! Certificate checks: whether a certificate is one the chain accepts for an account, a
//! consensus node or an organisation's root CA, and whether a signer's bound certificate is in
//! force at the block time. Pure functions of the certificate bytes, the CA, the subject and the
//! chain time; the registry they feed (records, expiry queue, revocation list) is
//! `ops::certificate`.
//!
//! Rules:
//! - An organisation with a root CA on chain (genesis or a passed `RotateOrganisationCa`) is a
//!   *certified* organisation: every account it registers must carry an X.509 certificate that
//!   its CA issued, valid at the block time, for O = the organisation, OU = the identity's role
//!   and CN = the account id ([`check_account_certificate`]); a consensus node's, for OU node,
//!   CN = the node id and its network key ([`check_node_certificate`]). An organisation without
//!   a CA registers bare keys (development chains).
//! - A root CA is verified at the block time and must name its organisation
//!   ([`check_root_ca`]).
//! - Every transaction of a certified account is authenticated against its current certificate:
//!   valid at the block time, not revoked ([`check_signer_certificate`], reading only the
//!   account).
//!
//! Owns: these checks and [`CheckedCertificate`], what a passed check binds. Must not depend on:
//! state or the operations (genesis, governance and the registry all use these checks), nor
//! any I/O.

use sha2::{Digest, Sha256};
use vchain_pki::{AccountRole, CertError, CertRole, Certified};
use vchain_proto::v1::{Account, CertificateRecord, CertificateStatus, ErrorCode, Role};

use crate::error::Rejection;

/// Largest certificate (DER or PEM) a transaction may carry.
pub const CERTIFICATE_BYTES_MAX: usize = vchain_pki::PEM_BYTES_MAX;

/// `subject_kind` of an account's certificate record.
pub const SUBJECT_ACCOUNT: &str = "account";
/// `subject_kind` of a consensus node's certificate record.
pub const SUBJECT_NODE: &str = "node";

/// The certificate role that certifies an account of `role`.
pub fn cert_role(role: Role) -> Option<CertRole> {
    let role = match role {
        Role::Administrator => AccountRole::Administrator,
        Role::Financier => AccountRole::Financier,
        Role::CoreEnterprise => AccountRole::CoreEnterprise,
        Role::Supplier => AccountRole::Supplier,
        Role::Regulator => AccountRole::Regulator,
        Role::WarehouseOperator => AccountRole::WarehouseOperator,
        Role::Unspecified => return None,
    };
    Some(CertRole::Account(role))
}

/// DER bytes of a certificate given as DER or as a PEM `CERTIFICATE` block.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, CertError> {
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).map_err(|_| CertError::Malformed {
            what: "certificate",
            reason: "PEM text is not UTF-8".into(),
        })?;
        Ok(vchain_pki::Certificate::from_pem(text)?.into_der())
    } else {
        Ok(vchain_pki::Certificate::from_der(bytes.to_vec())?.into_der())
    }
}

/// The rejection for a certificate the PKI refused, with the code naming what failed.
fn certificate_rejection(what: &str, error: &CertError) -> Rejection {
    let code = match error {
        CertError::Expired { .. } => ErrorCode::CertificateExpired,
        CertError::NotYetValid { .. } => ErrorCode::CertificateNotYetValid,
        _ => ErrorCode::CertificateInvalid,
    };
    Rejection::new(code, format!("{what}: {error}"))
}

/// The DER of certificate `what` given as DER or PEM, refused above [`CERTIFICATE_BYTES_MAX`].
fn bounded_der(what: &str, bytes: &[u8]) -> Result<Vec<u8>, Rejection> {
    if bytes.len() > CERTIFICATE_BYTES_MAX {
        return Err(Rejection::new(
            ErrorCode::CertificateInvalid,
            format!(
                "{what} is {} bytes, more than the {CERTIFICATE_BYTES_MAX} allowed",
                bytes.len()
            ),
        ));
    }
    certificate_der(bytes).map_err(|e| certificate_rejection(what, &e))
}

/// A root CA certificate (DER or PEM) for organisation `org_id`, verified at `at_ms`: its DER.
pub fn check_root_ca(org_id: &str, bytes: &[u8], at_ms: u64) -> Result<Vec<u8>, Rejection> {
    let what = format!("root CA certificate of {org_id}");
    let der = bounded_der(&what, bytes)?;
    let root =
        vchain_pki::verify_root(&der, at_ms).map_err(|e| certificate_rejection(&what, &e))?;
    if root.organisation != org_id {
        return Err(Rejection::new(
            ErrorCode::CertificateMismatch,
            format!(
                "{what} is for organisation {:?}, not {org_id:?}",
                root.organisation
            ),
        ));
    }
    Ok(der)
}

/// A leaf certificate the chain accepted for an account or a consensus node: what it binds and
/// its DER bytes.
#[derive(Debug, Clone)]
pub struct CheckedCertificate {
    /// What the certificate binds.
    pub certified: Certified,
    /// Its DER bytes.
    pub der: Vec<u8>,
    /// [`SUBJECT_ACCOUNT`] or [`SUBJECT_NODE`].
    pub subject_kind: &'static str,
}

impl CheckedCertificate {
    /// Writes the certificate's fields into `account` (key, certificate, validity, not revoked).
    pub fn bind(&self, account: &mut Account) {
        account.public_key = self.certified.public_key.to_vec();
        account.certificate = self.der.clone();
        account.certificate_serial = self.certified.serial.clone();
        account.certificate_not_before_ms = self.certified.not_before_ms;
        account.certificate_not_after_ms = self.certified.not_after_ms;
        account.certificate_revoked = false;
    }

    /// The registry record of this certificate, active from `height`.
    pub fn record(&self, org_id: &str, height: u64) -> CertificateRecord {
        CertificateRecord {
            org_id: org_id.to_owned(),
            serial: self.certified.serial.clone(),
            subject_kind: self.subject_kind.to_owned(),
            subject_id: self.certified.common_name.clone(),
            role: self.certified.role.name().to_owned(),
            public_key: self.certified.public_key.to_vec(),
            not_before_ms: self.certified.not_before_ms,
            not_after_ms: self.certified.not_after_ms,
            status: CertificateStatus::Active.into(),
            registered_height: height,
            ended_height: 0,
            ended_reason: String::new(),
            fingerprint: Sha256::digest(&self.der).to_vec(),
            superseded_height: 0,
        }
    }
}

/// Checks the certificate an account is registered (or rotated) with, as a pure function of its
/// inputs: `ca_der` is the organisation's root CA (None: the organisation has none), `role` the
/// identity's role, `public_key` the key the request names (empty: take the certificate's).
/// Returns `None` for a bare-key account of an organisation without a CA.
pub fn check_account_certificate(
    ca_der: Option<&[u8]>,
    org_id: &str,
    account_id: &str,
    role: Role,
    certificate: &[u8],
    public_key: &[u8],
    at_ms: u64,
) -> Result<Option<CheckedCertificate>, Rejection> {
    let expected = cert_role(role).ok_or_else(|| {
        Rejection::new(
            ErrorCode::CertificateMismatch,
            format!("role {} cannot be certified", role.as_str_name()),
        )
    })?;
    let subject = Subject {
        kind: SUBJECT_ACCOUNT,
        id: account_id,
        role: expected,
    };
    check_certificate(ca_der, org_id, &subject, certificate, public_key, at_ms)
}

/// Checks a consensus node's certificate: OU node, CN = `node_id`, the network key
/// `public_key` (empty: take the certificate's). See [`check_account_certificate`].
pub fn check_node_certificate(
    ca_der: Option<&[u8]>,
    org_id: &str,
    node_id: &str,
    certificate: &[u8],
    public_key: &[u8],
    at_ms: u64,
) -> Result<Option<CheckedCertificate>, Rejection> {
    let subject = Subject {
        kind: SUBJECT_NODE,
        id: node_id,
        role: CertRole::Node,
    };
    check_certificate(ca_der, org_id, &subject, certificate, public_key, at_ms)
}

/// Who a certificate must certify.
struct Subject<'a> {
    kind: &'static str,
    id: &'a str,
    role: CertRole,
}

fn check_certificate(
    ca_der: Option<&[u8]>,
    org_id: &str,
    subject: &Subject<'_>,
    certificate: &[u8],
    public_key: &[u8],
    at_ms: u64,
) -> Result<Option<CheckedCertificate>, Rejection> {
    let account_id = subject.id;
    let kind = subject.kind;
    let what = format!("certificate of {kind} {account_id}");
    let Some(ca_der) = ca_der else {
        if certificate.is_empty() {
            return Ok(None);
        }
        return Err(Rejection::new(
            ErrorCode::CertificateInvalid,
            format!("{what}: organisation {org_id} has no root CA on chain to verify it against"),
        ));
    };
    if certificate.is_empty() {
        return Err(Rejection::new(
            ErrorCode::CertificateRequired,
            format!(
                "organisation {org_id} has a root CA, so {kind} {account_id} needs a certificate it issued"
            ),
        ));
    }
    let der = bounded_der(&what, certificate)?;
    let certified =
        vchain_pki::verify(&der, ca_der, at_ms).map_err(|e| certificate_rejection(&what, &e))?;
    // pki::verify checked O against the CA's; the CA is this organisation's, so O is too.
    debug_assert_eq!(certified.organisation, org_id);
    let mismatch =
        |why: String| Rejection::new(ErrorCode::CertificateMismatch, format!("{what}: {why}"));
    if certified.common_name != account_id {
        return Err(mismatch(format!(
            "it certifies {:?} (CN), not {account_id:?}",
            certified.common_name
        )));
    }
    if certified.role != subject.role {
        return Err(mismatch(format!(
            "it grants role {} (OU), the {kind} is {}",
            certified.role,
            subject.role.name()
        )));
    }
    if !public_key.is_empty() && public_key != certified.public_key {
        return Err(mismatch(format!(
            "it certifies key {}, the request names {}",
            hex::encode(certified.public_key),
            hex::encode(public_key)
        )));
    }
    Ok(Some(CheckedCertificate {
        certified,
        der,
        subject_kind: kind,
    }))
}

/// Rejects a signer whose certificate is revoked, expired or not yet valid at `at_ms`. Reads only
/// the account; a bare-key account (no certificate) passes.
pub(crate) fn check_signer_certificate(account: &Account, at_ms: u64) -> Result<(), Rejection> {
    if account.certificate_serial.is_empty() {
        return Ok(());
    }
    let serial = hex::encode(&account.certificate_serial);
    if account.certificate_revoked {
        return Err(Rejection::new(
            ErrorCode::CertificateRevoked,
            format!(
                "the certificate (serial {serial}) of account {} is revoked",
                account.account_id
            ),
        ));
    }
    if at_ms > account.certificate_not_after_ms {
        return Err(Rejection::new(
            ErrorCode::CertificateExpired,
            format!(
                "the certificate (serial {serial}) of account {} expired at {} ms; the block time is {at_ms} ms",
                account.account_id, account.certificate_not_after_ms
            ),
        ));
    }
    if at_ms < account.certificate_not_before_ms {
        return Err(Rejection::new(
            ErrorCode::CertificateNotYetValid,
            format!(
                "the certificate (serial {serial}) of account {} is valid from {} ms; the block time is {at_ms} ms",
                account.account_id, account.certificate_not_before_ms
            ),
        ));
    }
    Ok(())
}
