//! Making and verifying certificates: every role verifies, and every way a certificate can be
//! wrong (forged, tampered, out of its validity period, of another organisation, a leaf posing as
//! a CA, not Ed25519, a weak key, ...) is refused with the error that names it.
#![cfg(feature = "make")]

use crate::common;

use common::*;
use vchain_pki::{
    inspect, verify, verify_root, AccountRole, CertError, CertRole, Certificate, RootCa, Validity,
    CERTIFICATE_PEM_LABEL,
};
use x509_cert::der::asn1::{Any, BitString};
use x509_cert::der::oid::db::rfc5280::{ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::Tag;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

fn all_leaf_roles() -> Vec<CertRole> {
    let mut roles = vec![CertRole::Node, CertRole::Device];
    roles.extend(AccountRole::ALL.map(CertRole::Account));
    roles
}

#[test]
fn a_ca_issues_node_account_and_device_certificates_that_verify() {
    let ca = ca("bank-a");
    for (index, role) in all_leaf_roles().into_iter().enumerate() {
        let seed = 10 + index as u8;
        let common_name = format!("{role}-{index}");
        let certificate = ca
            .issue(
                &subject("bank-a", &common_name, role),
                &public(seed),
                year(),
            )
            .expect("issue");
        let certified = verify(certificate.as_der(), ca.certificate().as_der(), NOW_MS)
            .unwrap_or_else(|error| panic!("{role} certificate must verify: {error}"));
        assert_eq!(certified.organisation, "bank-a");
        assert_eq!(certified.common_name, common_name);
        assert_eq!(certified.role, role);
        assert_eq!(certified.public_key, public(seed));
        assert_eq!(certified.not_before_ms, year().not_before_ms);
        assert_eq!(certified.not_after_ms, year().not_after_ms);
        assert_eq!(
            certified.serial.len(),
            16,
            "16 random bytes, positive, no padding"
        );
        assert_eq!(certified.serial[0] & 0xc0, 0x40);
        assert_eq!(inspect(certificate.as_der()), Ok(certified));
    }
}

#[test]
fn the_root_ca_verifies_for_genesis_and_says_who_it_is() {
    let ca = ca("bank-a");
    let certified = verify_root(ca.certificate().as_der(), NOW_MS).expect("a root CA");
    assert_eq!(certified.organisation, "bank-a");
    assert_eq!(certified.common_name, "bank-a root CA");
    assert_eq!(certified.role, CertRole::RootCa);
    assert_eq!(
        certified.public_key,
        ca.signing_key().verifying_key().to_bytes()
    );
    assert_eq!(ca.organisation(), "bank-a");
    assert_eq!(ca.validity(), ca_validity());
}

#[test]
fn serial_numbers_differ() {
    let ca = ca("bank-a");
    let first = inspect(node_certificate(&ca).as_der()).expect("inspect");
    let second = inspect(node_certificate(&ca).as_der()).expect("inspect");
    assert_ne!(first.serial, second.serial);
}

#[test]
fn a_ca_reassembled_from_its_parts_issues_the_same_way() {
    let (certificate, signing_key) = ca("bank-a").into_parts();
    let pem = certificate.to_pem();
    let ca = RootCa::from_parts(Certificate::from_pem(&pem).expect("pem"), signing_key)
        .expect("reassemble");
    let leaf = node_certificate(&ca);
    verify(leaf.as_der(), ca.certificate().as_der(), NOW_MS).expect("verify");
}

#[test]
fn a_ca_with_another_key_is_refused() {
    let (certificate, _) = ca("bank-a").into_parts();
    assert_eq!(
        RootCa::from_parts(certificate, key(99)).map(|_| ()),
        Err(CertError::KeyMismatch)
    );
}

#[test]
fn a_leaf_cannot_be_reassembled_as_a_ca() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    assert!(matches!(
        RootCa::from_parts(leaf, key(1)),
        Err(CertError::NotACa { .. })
    ));
}

#[test]
fn a_forged_certificate_signed_by_another_ca_with_the_same_name_is_refused() {
    let real = ca("bank-a");
    let impostor = ca("bank-a");
    let forged = node_certificate(&impostor);
    // Same issuer name, so only the signature tells them apart.
    assert_eq!(
        verify(forged.as_der(), real.certificate().as_der(), NOW_MS),
        Err(CertError::BadSignature {
            what: "leaf certificate",
            signer: "the CA's key",
        })
    );
}

#[test]
fn a_tampered_certificate_is_refused() {
    let ca = ca("bank-a");
    let mut der = node_certificate(&ca).into_der();
    // Rename node-1 to node-2 inside the signed bytes: still a well-formed certificate.
    let at = der
        .windows(6)
        .position(|window| window == b"node-1")
        .expect("the CN is in the DER");
    der[at + 5] = b'2';
    assert_eq!(inspect(&der).expect("still parses").common_name, "node-2");
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::BadSignature { .. })
    ));
}

#[test]
fn a_tampered_root_ca_is_refused() {
    let ca = ca("bank-a");
    let mut der = ca.certificate().as_der().to_vec();
    // Change the serial number: still self-issued, still well-formed, no longer what was signed.
    let serial = inspect(&der).expect("inspect").serial;
    let at = der
        .windows(serial.len())
        .position(|window| window == serial.as_slice())
        .expect("the serial is in the DER");
    der[at + serial.len() - 1] ^= 1;
    assert_eq!(
        verify_root(&der, NOW_MS),
        Err(CertError::BadSignature {
            what: "CA certificate",
            signer: "its own key",
        })
    );
}

#[test]
fn validity_bounds_are_inclusive_and_checked_for_leaf_and_ca() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    let (leaf, ca_der) = (leaf.as_der(), ca.certificate().as_der());
    let Validity {
        not_before_ms,
        not_after_ms,
    } = year();
    assert!(verify(leaf, ca_der, not_before_ms).is_ok());
    assert!(verify(leaf, ca_der, not_after_ms).is_ok());
    assert_eq!(
        verify(leaf, ca_der, not_before_ms - 1),
        Err(CertError::NotYetValid {
            what: "CA certificate",
            not_before_ms,
            at_ms: not_before_ms - 1,
        }),
        "the CA starts at the same time as the leaf, and is checked first"
    );
    assert_eq!(
        verify(leaf, ca_der, not_after_ms + 1),
        Err(CertError::Expired {
            what: "leaf certificate",
            not_after_ms,
            at_ms: not_after_ms + 1,
        })
    );
    let ca_end = ca_validity().not_after_ms;
    assert!(matches!(
        verify_root(ca_der, ca_end + 1),
        Err(CertError::Expired {
            what: "CA certificate",
            ..
        })
    ));
    assert!(verify_root(ca_der, ca_end).is_ok());
}

#[test]
fn a_leaf_that_starts_later_is_not_yet_valid() {
    let ca = ca("bank-a");
    let later = Validity {
        not_before_ms: START_MS + 100 * DAY_MS,
        not_after_ms: START_MS + 200 * DAY_MS,
    };
    let leaf = ca
        .issue(
            &subject("bank-a", "node-1", CertRole::Node),
            &public(1),
            later,
        )
        .expect("issue");
    assert_eq!(
        verify(leaf.as_der(), ca.certificate().as_der(), NOW_MS),
        Err(CertError::NotYetValid {
            what: "leaf certificate",
            not_before_ms: later.not_before_ms,
            at_ms: NOW_MS,
        })
    );
}

#[test]
fn validity_is_truncated_to_seconds_and_times_after_2049_work() {
    let ca = RootCa::generate(
        "bank-a",
        Validity {
            not_before_ms: START_MS + 999,
            // 2100-01-01T00:00:00.500Z: GeneralizedTime, not UTCTime.
            not_after_ms: 4_102_444_800_500,
        },
    )
    .expect("a CA until 2100");
    let certified = verify_root(ca.certificate().as_der(), START_MS).expect("verify");
    assert_eq!(certified.not_before_ms, START_MS);
    assert_eq!(certified.not_after_ms, 4_102_444_800_000);
}

#[test]
fn a_leaf_of_another_organisation_is_refused() {
    let bank_a = ca("bank-a");
    let bank_b = ca("bank-b");
    let leaf_of_a = node_certificate(&bank_a);
    // Presented with the wrong organisation's CA: the issuer names differ.
    assert!(matches!(
        verify(leaf_of_a.as_der(), bank_b.certificate().as_der(), NOW_MS),
        Err(CertError::IssuerMismatch { .. })
    ));
    // A CA asked to certify a subject of another organisation refuses.
    assert_eq!(
        bank_a
            .issue(
                &subject("bank-b", "node-1", CertRole::Node),
                &public(1),
                year()
            )
            .map(|_| ()),
        Err(CertError::OrganisationMismatch {
            what: "subject",
            found: "bank-b".into(),
            expected: "bank-a".into(),
        })
    );
    // A certificate bank A's CA really signed, but naming bank B, is refused.
    let mut certificate = decode(leaf_of_a.as_der());
    certificate.tbs_certificate.subject = name("CN=node-1,OU=node,O=bank-b");
    let der = resign(certificate, bank_a.signing_key());
    assert_eq!(
        verify(&der, bank_a.certificate().as_der(), NOW_MS),
        Err(CertError::OrganisationMismatch {
            what: "leaf certificate",
            found: "bank-b".into(),
            expected: "bank-a".into(),
        })
    );
}

#[test]
fn a_leaf_that_claims_to_be_a_ca_is_refused() {
    let ca = ca("bank-a");
    let mut certificate = decode(node_certificate(&ca).as_der());
    let claim = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    set_extension(&mut certificate, ID_CE_BASIC_CONSTRAINTS, true, &claim);
    let der = resign(certificate, ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::LeafIsCa)
    );
    // Nor can it act as a root CA: it is not self-issued.
    assert!(matches!(
        verify_root(&der, NOW_MS),
        Err(CertError::WrongRole { .. })
    ));
}

#[test]
fn a_leaf_with_the_root_ca_role_or_ca_key_usage_is_refused() {
    let ca = ca("bank-a");
    let mut certificate = decode(node_certificate(&ca).as_der());
    certificate.tbs_certificate.subject = name("CN=node-1,OU=root-ca,O=bank-a");
    let der = resign(certificate, ca.signing_key());
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::WrongRole { .. })
    ));

    let mut certificate = decode(node_certificate(&ca).as_der());
    let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign);
    set_extension(&mut certificate, ID_CE_KEY_USAGE, true, &usage);
    let der = resign(certificate, ca.signing_key());
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::KeyUsage { .. })
    ));

    let mut certificate = decode(node_certificate(&ca).as_der());
    let usage = KeyUsage(KeyUsages::KeyEncipherment.into());
    set_extension(&mut certificate, ID_CE_KEY_USAGE, true, &usage);
    let der = resign(certificate, ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::KeyUsage {
            what: "leaf certificate",
            reason: "lacks digitalSignature",
        })
    );
}

#[test]
fn a_leaf_presented_as_a_root_ca_is_refused() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    assert_eq!(
        verify_root(leaf.as_der(), NOW_MS),
        Err(CertError::NotACa {
            what: "CA certificate",
            reason: "basicConstraints cA is not true",
        })
    );
    // Chaining a leaf under a leaf is refused the same way.
    assert!(matches!(
        verify(leaf.as_der(), leaf.as_der(), NOW_MS),
        Err(CertError::NotACa { .. })
    ));
}

#[test]
fn a_certificate_that_is_not_ed25519_is_refused() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    let ec_public_key = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    let ecdsa_with_sha256 = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

    let mut certificate = decode(leaf.as_der());
    certificate
        .tbs_certificate
        .subject_public_key_info
        .algorithm
        .oid = ec_public_key;
    let der = resign(certificate, ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::NotEd25519 {
            what: "leaf certificate",
            field: "subject public key algorithm",
            found: "1.2.840.10045.2.1".into(),
        })
    );

    let mut certificate = decode(leaf.as_der());
    certificate.tbs_certificate.signature.oid = ecdsa_with_sha256;
    certificate.signature_algorithm.oid = ecdsa_with_sha256;
    let der = resign(certificate, ca.signing_key());
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::NotEd25519 {
            field: "signature algorithm",
            ..
        })
    ));

    // RFC 8410 §3: the parameters MUST be absent, not NULL.
    let mut certificate = decode(leaf.as_der());
    certificate
        .tbs_certificate
        .subject_public_key_info
        .algorithm
        .parameters = Some(Any::null());
    let der = resign(certificate, ca.signing_key());
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::NotEd25519 { found, .. }) if found.ends_with("with parameters")
    ));
}

#[test]
fn weak_keys_are_refused_when_issuing_and_when_verifying() {
    let ca = ca("bank-a");
    // The identity point: order 1; any signature "verifies" with it under lax rules.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        ca.issue(
            &subject("bank-a", "node-1", CertRole::Node),
            &identity,
            year()
        )
        .map(|_| ()),
        Err(CertError::WeakKey {
            what: "subject public key"
        })
    );
    let mut certificate = decode(node_certificate(&ca).as_der());
    certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key = BitString::from_bytes(&identity).expect("bit string");
    let der = resign(certificate, ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::WeakKey {
            what: "leaf certificate"
        })
    );
}

#[test]
fn unknown_roles_and_critical_extensions_are_refused() {
    let ca = ca("bank-a");
    let mut certificate = decode(node_certificate(&ca).as_der());
    certificate.tbs_certificate.subject = name("CN=node-1,OU=janitor,O=bank-a");
    let der = resign(certificate, ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::UnknownRole {
            role: "janitor".into()
        })
    );

    let mut certificate = decode(node_certificate(&ca).as_der());
    let private = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
    set_extension(&mut certificate, private, true, &Any::null());
    let der = resign(certificate.clone(), ca.signing_key());
    assert_eq!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::UnsupportedCriticalExtension {
            what: "leaf certificate",
            oid: "1.3.6.1.4.1.99999.1".into(),
        })
    );
    // The same extension, not critical, is ignored.
    set_extension(&mut certificate, private, false, &Any::null());
    let der = resign(certificate, ca.signing_key());
    assert!(verify(&der, ca.certificate().as_der(), NOW_MS).is_ok());
}

#[test]
fn subjects_outside_the_profile_are_refused() {
    // RFC 4514 strings: most specific first.
    let ca = ca("bank-a");
    for bad in [
        "CN=node-1,O=bank-a",
        "CN=node-2,CN=node-1,OU=node,O=bank-a",
        "C=CN,CN=node-1,OU=node,O=bank-a",
        "CN=node-1+OU=node,O=bank-a",
    ] {
        let mut certificate = decode(node_certificate(&ca).as_der());
        certificate.tbs_certificate.subject = name(bad);
        let der = resign(certificate, ca.signing_key());
        assert!(
            matches!(
                verify(&der, ca.certificate().as_der(), NOW_MS),
                Err(CertError::Malformed { .. })
            ),
            "{bad}"
        );
    }
    // A BMPString value is not UTF8String or PrintableString.
    let mut certificate = decode(node_certificate(&ca).as_der());
    let rdn = &mut certificate.tbs_certificate.subject.0[2];
    let mut attribute = rdn.0.as_slice()[0].clone();
    attribute.value = Any::new(Tag::BmpString, [0, b'n']).expect("any");
    rdn.0 = vec![attribute].try_into().expect("set");
    let der = resign(certificate, ca.signing_key());
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::Malformed { .. })
    ));
}

#[test]
fn making_refuses_bad_names_roles_and_validity_periods() {
    let ca = ca("bank-a");
    let too_long = "x".repeat(65);
    for (common_name, role) in [
        ("", CertRole::Node),
        (too_long.as_str(), CertRole::Node),
        ("line\nbreak", CertRole::Node),
        (" padded", CertRole::Node),
    ] {
        assert!(matches!(
            ca.issue(&subject("bank-a", common_name, role), &public(1), year()),
            Err(CertError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        ca.issue(
            &subject("bank-a", "ca-2", CertRole::RootCa),
            &public(1),
            year()
        ),
        Err(CertError::WrongRole { .. })
    ));
    let inverted = Validity {
        not_before_ms: START_MS + DAY_MS,
        not_after_ms: START_MS,
    };
    let beyond_ca = Validity {
        not_before_ms: START_MS,
        not_after_ms: ca_validity().not_after_ms + 1000,
    };
    let before_ca = Validity {
        not_before_ms: START_MS - 1000,
        not_after_ms: START_MS + DAY_MS,
    };
    for validity in [inverted, beyond_ca, before_ca] {
        assert!(matches!(
            ca.issue(
                &subject("bank-a", "node-1", CertRole::Node),
                &public(1),
                validity
            ),
            Err(CertError::InvalidValidity { .. })
        ));
    }
    assert!(matches!(
        RootCa::generate("", ca_validity()),
        Err(CertError::InvalidName { .. })
    ));
    // "<org> root CA" must itself fit in 64 characters.
    assert!(matches!(
        RootCa::generate(&"o".repeat(60), ca_validity()),
        Err(CertError::InvalidName {
            field: "common name",
            ..
        })
    ));
    assert!(matches!(
        RootCa::generate("bank-a", inverted),
        Err(CertError::InvalidValidity { .. })
    ));
}

#[test]
fn pem_round_trips_and_wrong_labels_are_refused() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    let pem = leaf.to_pem();
    assert!(pem.starts_with(&format!("-----BEGIN {CERTIFICATE_PEM_LABEL}-----\n")));
    assert_eq!(Certificate::from_pem(&pem), Ok(leaf.clone()));
    assert_eq!(
        Certificate::from_der(leaf.as_der().to_vec()),
        Ok(leaf.clone())
    );

    let csr = vchain_pki::make_csr(&key(3), "node-3").expect("csr");
    assert!(matches!(
        Certificate::from_pem(&csr),
        Err(CertError::Pem { .. })
    ));
    assert!(matches!(
        Certificate::from_pem("not pem at all"),
        Err(CertError::Pem { .. })
    ));
    let huge = "A".repeat(vchain_pki::PEM_BYTES_MAX + 1);
    assert!(matches!(
        Certificate::from_pem(&huge),
        Err(CertError::TooLarge { .. })
    ));
}

#[test]
fn non_canonical_or_trailing_bytes_are_refused() {
    let ca = ca("bank-a");
    let mut der = node_certificate(&ca).into_der();
    der.push(0);
    assert!(matches!(
        verify(&der, ca.certificate().as_der(), NOW_MS),
        Err(CertError::Malformed { .. })
    ));
    assert!(matches!(
        Certificate::from_der(der),
        Err(CertError::Malformed { .. })
    ));
    let huge = vec![0x30; vchain_pki::CERTIFICATE_BYTES_MAX + 1];
    assert!(matches!(inspect(&huge), Err(CertError::TooLarge { .. })));
}

#[test]
fn verification_is_deterministic() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca);
    let first = verify(leaf.as_der(), ca.certificate().as_der(), NOW_MS);
    for _ in 0..10 {
        assert_eq!(
            verify(leaf.as_der(), ca.certificate().as_der(), NOW_MS),
            first
        );
    }
}
