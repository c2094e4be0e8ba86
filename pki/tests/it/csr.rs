//! Certificate signing requests: a round trip from `make_csr` to a verified certificate, and the
//! requests a CA must refuse (bad self-signature, another organisation, another role).
#![cfg(feature = "make")]

use crate::common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use vchain_pki::{make_csr, verify, AccountRole, CertError, CertRole, CSR_PEM_LABEL};
use x509_cert::der::asn1::BitString;
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem};
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const ED25519: &str = "1.3.101.112";

/// A CSR for `key` with an arbitrary subject, signed by `signer`.
fn request(key: &SigningKey, subject: &str, signer: &SigningKey) -> Vec<u8> {
    let algorithm = AlgorithmIdentifierOwned {
        oid: ED25519.parse().expect("oid"),
        parameters: None,
    };
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: name(subject),
        public_key: SubjectPublicKeyInfoOwned {
            algorithm: algorithm.clone(),
            subject_public_key: BitString::from_bytes(&key.verifying_key().to_bytes())
                .expect("bit string"),
        },
        attributes: Default::default(),
    };
    let signature = signer.sign(&info.to_der().expect("encode info"));
    CertReq {
        info,
        algorithm,
        signature: BitString::from_bytes(&signature.to_bytes()).expect("bit string"),
    }
    .to_der()
    .expect("encode request")
}

#[test]
fn a_csr_round_trips_to_a_verified_certificate() {
    let ca = ca("bank-a");
    let account_key = key(5);
    let pem = make_csr(&account_key, "acme-parts").expect("csr");
    assert!(pem.starts_with(&format!("-----BEGIN {CSR_PEM_LABEL}-----\n")));
    let role = CertRole::Account(AccountRole::CoreEnterprise);
    let certificate = ca
        .issue_from_csr(pem.as_bytes(), role, year())
        .expect("issue from PEM");
    let certified =
        verify(certificate.as_der(), ca.certificate().as_der(), NOW_MS).expect("verify");
    assert_eq!(certified.organisation, "bank-a");
    assert_eq!(certified.common_name, "acme-parts");
    assert_eq!(certified.role, role);
    assert_eq!(certified.public_key, account_key.verifying_key().to_bytes());

    // DER works too.
    let der = CertReq::from_pem(pem.as_bytes())
        .expect("pem")
        .to_der()
        .expect("der");
    ca.issue_from_csr(&der, CertRole::Device, year())
        .expect("issue from DER");
}

#[test]
fn a_csr_may_name_the_cas_organisation_and_the_role_granted() {
    let ca = ca("bank-a");
    let der = request(&key(6), "CN=node-6,OU=node,O=bank-a", &key(6));
    let certificate = ca
        .issue_from_csr(&der, CertRole::Node, year())
        .expect("issue");
    let certified =
        verify(certificate.as_der(), ca.certificate().as_der(), NOW_MS).expect("verify");
    assert_eq!(certified.common_name, "node-6");
}

#[test]
fn a_csr_with_a_bad_self_signature_is_refused() {
    let ca = ca("bank-a");
    // Signed by someone else's key.
    let der = request(&key(6), "CN=node-6", &key(7));
    assert_eq!(
        ca.issue_from_csr(&der, CertRole::Node, year()).map(|_| ()),
        Err(CertError::BadSignature {
            what: "CSR",
            signer: "its own key",
        })
    );
    // A genuine request whose subject was changed afterwards.
    let pem = make_csr(&key(6), "node-6").expect("csr");
    let mut tampered = CertReq::from_pem(pem.as_bytes()).expect("pem");
    tampered.info.subject = name("CN=node-7");
    let tampered = tampered.to_pem(LineEnding::LF).expect("pem");
    assert!(matches!(
        ca.issue_from_csr(tampered.as_bytes(), CertRole::Node, year()),
        Err(CertError::BadSignature { .. })
    ));
}

#[test]
fn a_csr_for_another_organisation_or_role_is_refused() {
    let ca = ca("bank-a");
    let der = request(&key(6), "CN=node-6,O=bank-b", &key(6));
    assert_eq!(
        ca.issue_from_csr(&der, CertRole::Node, year()).map(|_| ()),
        Err(CertError::OrganisationMismatch {
            what: "CSR",
            found: "bank-b".into(),
            expected: "bank-a".into(),
        })
    );
    let der = request(&key(6), "CN=node-6,OU=administrator", &key(6));
    assert!(matches!(
        ca.issue_from_csr(&der, CertRole::Node, year()),
        Err(CertError::WrongRole { .. })
    ));
    let der = request(&key(6), "OU=node", &key(6));
    assert!(matches!(
        ca.issue_from_csr(&der, CertRole::Node, year()),
        Err(CertError::Malformed { .. })
    ));
    let pem = make_csr(&key(6), "node-6").expect("csr");
    assert!(matches!(
        ca.issue_from_csr(pem.as_bytes(), CertRole::RootCa, year()),
        Err(CertError::WrongRole { .. })
    ));
}

#[test]
fn garbage_csrs_are_refused() {
    let ca = ca("bank-a");
    for input in [
        &b""[..],
        b"\x30\x00",
        b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n",
    ] {
        assert!(ca.issue_from_csr(input, CertRole::Node, year()).is_err());
    }
    let certificate_pem = node_certificate(&ca).to_pem();
    assert!(matches!(
        ca.issue_from_csr(certificate_pem.as_bytes(), CertRole::Node, year()),
        Err(CertError::Pem { .. })
    ));
    let pem = make_csr(&key(6), "node-6").expect("csr");
    let mut der = CertReq::from_pem(pem.as_bytes())
        .expect("pem")
        .to_der()
        .expect("der");
    der.push(0);
    assert!(matches!(
        ca.issue_from_csr(&der, CertRole::Node, year()),
        Err(CertError::Malformed { .. })
    ));
    // Keep the decoder honest about what a good one looks like.
    assert!(CertReq::from_der(&der[..der.len() - 1]).is_ok());
}
