//! Certificates made by another implementation (OpenSSL 3.0) are read the same way, and a real
//! ECDSA P-256 certificate is refused as not Ed25519.
//!
//! The fixtures in `tests/fixtures/` were made with:
//! ```text
//! openssl req -x509 -newkey ed25519 -keyout ca.key -nodes \
//!   -subj "/O=bank-c/OU=root-ca/CN=bank-c root CA" \
//!   -addext "basicConstraints=critical,CA:TRUE" \
//!   -addext "keyUsage=critical,keyCertSign,cRLSign" -days 3650 -out openssl-ed25519-ca.pem
//! openssl req -new -newkey ed25519 -keyout node.key -nodes \
//!   -subj "/O=bank-c/OU=node/CN=node-9" -out openssl-ed25519-node.csr
//! openssl x509 -req -in openssl-ed25519-node.csr -CA openssl-ed25519-ca.pem -CAkey ca.key \
//!   -CAcreateserial -days 365 -out openssl-ed25519-node.pem -extfile leaf.ext
//!   # leaf.ext: basicConstraints=critical,CA:FALSE / keyUsage=critical,digitalSignature /
//!   #           subjectKeyIdentifier=hash / authorityKeyIdentifier=keyid
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 ... -out openssl-p256-ca.pem
//! ```

use vchain_pki::{inspect, verify, verify_root, CertError, CertRole, Certificate};

const CA_PEM: &str = include_str!("../fixtures/openssl-ed25519-ca.pem");
const NODE_PEM: &str = include_str!("../fixtures/openssl-ed25519-node.pem");
#[cfg(feature = "make")]
const NODE_CSR_PEM: &str = include_str!("../fixtures/openssl-ed25519-node.csr");
const P256_CA_PEM: &str = include_str!("../fixtures/openssl-p256-ca.pem");

fn der(pem: &str) -> Vec<u8> {
    Certificate::from_pem(pem)
        .expect("fixture parses")
        .into_der()
}

#[test]
fn an_openssl_ed25519_chain_verifies() {
    let ca = der(CA_PEM);
    let node = der(NODE_PEM);
    let at_ms = inspect(&node).expect("inspect").not_before_ms + 1000;
    let root = verify_root(&ca, at_ms).expect("openssl root CA");
    assert_eq!(root.organisation, "bank-c");
    assert_eq!(root.common_name, "bank-c root CA");
    let certified = verify(&node, &ca, at_ms).expect("openssl node certificate");
    assert_eq!(certified.organisation, "bank-c");
    assert_eq!(certified.common_name, "node-9");
    assert_eq!(certified.role, CertRole::Node);
    assert_eq!(certified.serial.len(), 20);
}

#[test]
fn a_p256_certificate_is_not_ed25519() {
    // Certificate::from_pem parses under our profile, so read the DER directly.
    let (_, der) = x509_cert::der::pem::decode_vec(P256_CA_PEM.as_bytes()).expect("pem");
    assert_eq!(
        verify_root(&der, 1_800_000_000_000),
        Err(CertError::NotEd25519 {
            what: "CA certificate",
            field: "signature algorithm",
            found: "1.2.840.10045.4.3.2".into(),
        })
    );
    assert!(matches!(
        Certificate::from_pem(P256_CA_PEM),
        Err(CertError::NotEd25519 { .. })
    ));
}

#[cfg(feature = "make")]
#[test]
fn an_openssl_csr_is_accepted() {
    let ca = vchain_pki::RootCa::generate(
        "bank-c",
        vchain_pki::Validity {
            not_before_ms: 1_767_225_600_000,
            not_after_ms: 2_082_758_400_000,
        },
    )
    .expect("ca");
    let validity = vchain_pki::Validity {
        not_before_ms: 1_767_225_600_000,
        not_after_ms: 1_798_761_600_000,
    };
    let certificate = ca
        .issue_from_csr(NODE_CSR_PEM.as_bytes(), CertRole::Node, validity)
        .expect("issue from an openssl CSR");
    let certified = verify(
        certificate.as_der(),
        ca.certificate().as_der(),
        1_767_225_600_000,
    )
    .expect("verify");
    assert_eq!(certified.common_name, "node-9");
    let node = inspect(&der(NODE_PEM)).expect("inspect");
    assert_eq!(certified.public_key, node.public_key, "the CSR's key");
}
