//! The verifying half: pure and deterministic, the time of the check is an argument.

use crate::parse::{parse_certificate, ParsedCertificate, WHAT_CA, WHAT_CERTIFICATE, WHAT_LEAF};
use crate::{CertError, CertRole};

/// What a verified certificate binds: an Ed25519 key to an organisation, a name and a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certified {
    /// The subject's O: the organisation id, e.g. `"bank-a"`.
    pub organisation: String,
    /// The subject's CN: the node, account or device id (for a root CA, `"<org> root CA"`).
    pub common_name: String,
    /// The subject's OU, parsed.
    pub role: CertRole,
    /// The subject's Ed25519 public key (never a weak key).
    pub public_key: [u8; 32],
    /// The serial number: the DER INTEGER's content octets (big-endian, positive, minimal).
    pub serial: Vec<u8>,
    /// notBefore in ms since the Unix epoch (whole seconds).
    pub not_before_ms: u64,
    /// notAfter in ms since the Unix epoch (whole seconds).
    pub not_after_ms: u64,
}

impl Certified {
    /// Whether the certificate is valid at `at_ms`: `not_before_ms <= at_ms <= not_after_ms`.
    pub fn is_valid_at(&self, at_ms: u64) -> bool {
        self.not_before_ms <= at_ms && at_ms <= self.not_after_ms
    }

    /// Whether the certificate stops being valid within `window_ms` of `at_ms`, that is
    /// `not_after_ms < at_ms + window_ms` (already expired counts as expiring).
    pub fn expires_within(&self, at_ms: u64, window_ms: u64) -> bool {
        self.not_after_ms < at_ms.saturating_add(window_ms)
    }

    fn from_parsed(parsed: ParsedCertificate) -> Certified {
        Certified {
            organisation: parsed.organisation,
            common_name: parsed.common_name,
            role: parsed.role,
            public_key: parsed.public_key.to_bytes(),
            serial: parsed.serial,
            not_before_ms: parsed.not_before_ms,
            not_after_ms: parsed.not_after_ms,
        }
    }
}

/// Verifies an organisation's root CA certificate (DER) at `at_ms` (ms since the Unix epoch),
/// as genesis does for each member organisation.
///
/// Checks, in order: it parses under this crate's profile (Ed25519 signature algorithm and key,
/// a non-weak key, O/OU/CN subject); basicConstraints `cA=true`; OU `root-ca`; keyUsage has
/// keyCertSign; it is self-issued (issuer = subject) and its signature verifies strictly with its
/// own key over the exact tbsCertificate bytes; `not_before_ms <= at_ms <= not_after_ms`.
pub fn verify_root(ca_der: &[u8], at_ms: u64) -> Result<Certified, CertError> {
    let ca = check_root(parse_certificate(WHAT_CA, ca_der)?)?;
    check_time(WHAT_CA, &ca, at_ms)?;
    Ok(Certified::from_parsed(ca))
}

/// Verifies a node, account or device certificate (`leaf_der`) against its organisation's root
/// CA certificate (`ca_der`) at `at_ms` (ms since the Unix epoch). Returns what the leaf binds.
///
/// Checks everything [`verify_root`] checks of the CA, then of the leaf: it parses under this
/// crate's profile; its issuer is the CA's subject, byte for byte; its signature verifies
/// strictly with the CA's key over the exact tbsCertificate bytes; it is not a CA and its role is
/// not `root-ca`; keyUsage has digitalSignature and neither keyCertSign nor cRLSign; its O is the
/// CA's O; `not_before_ms <= at_ms <= not_after_ms`. Revocation is not checked here: the chain
/// keeps the revoked serial numbers.
pub fn verify(leaf_der: &[u8], ca_der: &[u8], at_ms: u64) -> Result<Certified, CertError> {
    let ca = check_root(parse_certificate(WHAT_CA, ca_der)?)?;
    check_time(WHAT_CA, &ca, at_ms)?;
    let leaf = parse_certificate(WHAT_LEAF, leaf_der)?;
    if leaf.issuer_der != ca.subject_der {
        return Err(CertError::IssuerMismatch {
            issuer: leaf.issuer_text,
            ca_subject: ca.subject_text,
        });
    }
    ca.public_key
        .verify_strict(&leaf.tbs_der, &leaf.signature)
        .map_err(|_| CertError::BadSignature {
            what: WHAT_LEAF,
            signer: "the CA's key",
        })?;
    if leaf.is_ca {
        return Err(CertError::LeafIsCa);
    }
    if leaf.role == CertRole::RootCa {
        return Err(CertError::WrongRole {
            what: WHAT_LEAF,
            found: leaf.role.name().to_owned(),
            expected: "node, device or an account role",
        });
    }
    let Some(key_usage) = leaf.key_usage else {
        return Err(CertError::KeyUsage {
            what: WHAT_LEAF,
            reason: "is missing",
        });
    };
    if !key_usage.digital_signature() {
        return Err(CertError::KeyUsage {
            what: WHAT_LEAF,
            reason: "lacks digitalSignature",
        });
    }
    if key_usage.key_cert_sign() || key_usage.crl_sign() {
        return Err(CertError::KeyUsage {
            what: WHAT_LEAF,
            reason: "grants keyCertSign or cRLSign to a leaf",
        });
    }
    if leaf.organisation != ca.organisation {
        return Err(CertError::OrganisationMismatch {
            what: WHAT_LEAF,
            found: leaf.organisation,
            expected: ca.organisation,
        });
    }
    check_time(WHAT_LEAF, &leaf, at_ms)?;
    Ok(Certified::from_parsed(leaf))
}

/// Reads what a certificate says WITHOUT verifying its signature, issuer or validity period:
/// for listings and "expiring soon" reports only, never to decide what a key may do.
/// The certificate must still parse under this crate's profile.
pub fn inspect(der: &[u8]) -> Result<Certified, CertError> {
    parse_certificate(WHAT_CERTIFICATE, der).map(Certified::from_parsed)
}

/// The root CA rules that do not depend on time (also used when making certificates).
pub(crate) fn check_root(ca: ParsedCertificate) -> Result<ParsedCertificate, CertError> {
    if !ca.is_ca {
        return Err(CertError::NotACa {
            what: WHAT_CA,
            reason: "basicConstraints cA is not true",
        });
    }
    if ca.role != CertRole::RootCa {
        return Err(CertError::WrongRole {
            what: WHAT_CA,
            found: ca.role.name().to_owned(),
            expected: "root-ca",
        });
    }
    match &ca.key_usage {
        Some(key_usage) if key_usage.key_cert_sign() => {}
        Some(_) => {
            return Err(CertError::KeyUsage {
                what: WHAT_CA,
                reason: "lacks keyCertSign",
            })
        }
        None => {
            return Err(CertError::KeyUsage {
                what: WHAT_CA,
                reason: "is missing",
            })
        }
    }
    if ca.issuer_der != ca.subject_der {
        return Err(CertError::NotACa {
            what: WHAT_CA,
            reason: "it is not self-issued (issuer differs from subject)",
        });
    }
    ca.public_key
        .verify_strict(&ca.tbs_der, &ca.signature)
        .map_err(|_| CertError::BadSignature {
            what: WHAT_CA,
            signer: "its own key",
        })?;
    Ok(ca)
}

fn check_time(what: &'static str, parsed: &ParsedCertificate, at_ms: u64) -> Result<(), CertError> {
    if at_ms < parsed.not_before_ms {
        return Err(CertError::NotYetValid {
            what,
            not_before_ms: parsed.not_before_ms,
            at_ms,
        });
    }
    if at_ms > parsed.not_after_ms {
        return Err(CertError::Expired {
            what,
            not_after_ms: parsed.not_after_ms,
            at_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certified(not_before_ms: u64, not_after_ms: u64) -> Certified {
        Certified {
            organisation: "bank-a".into(),
            common_name: "node-1".into(),
            role: CertRole::Node,
            public_key: [0; 32],
            serial: vec![1],
            not_before_ms,
            not_after_ms,
        }
    }

    #[test]
    fn validity_bounds_are_inclusive() {
        let c = certified(1_000, 2_000);
        assert!(!c.is_valid_at(999));
        assert!(c.is_valid_at(1_000));
        assert!(c.is_valid_at(2_000));
        assert!(!c.is_valid_at(2_001));
    }

    #[test]
    fn expires_within_counts_expired_and_saturates() {
        let c = certified(0, 10_000);
        assert!(!c.expires_within(0, 10_000));
        assert!(c.expires_within(1, 10_000));
        assert!(c.expires_within(20_000, 0));
        assert!(c.expires_within(u64::MAX, u64::MAX));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for input in [&[][..], &[0x30], &[0x30, 0x00], &[0xff; 40]] {
            assert!(matches!(inspect(input), Err(CertError::Malformed { .. })));
            assert!(verify(input, input, 0).is_err());
        }
    }
}
