//! No change to a valid certificate's bytes makes it verify, and no input makes verifying panic.
#![cfg(feature = "make")]

use crate::common;

use common::*;
use proptest::prelude::*;
use vchain_pki::{inspect, verify, verify_root};

/// Every single-byte change (four masks per byte) of the leaf and of the CA is refused.
#[test]
fn every_single_byte_flip_of_leaf_or_ca_is_refused() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca).into_der();
    let ca_der = ca.certificate().as_der().to_vec();
    assert!(verify(&leaf, &ca_der, NOW_MS).is_ok());
    for mask in [0x01u8, 0x10, 0x80, 0xff] {
        for index in 0..leaf.len() {
            let mut mutated = leaf.clone();
            mutated[index] ^= mask;
            assert!(
                verify(&mutated, &ca_der, NOW_MS).is_err(),
                "leaf byte {index} ^ {mask:#04x} verified"
            );
        }
        for index in 0..ca_der.len() {
            let mut mutated = ca_der.clone();
            mutated[index] ^= mask;
            assert!(
                verify(&leaf, &mutated, NOW_MS).is_err(),
                "CA byte {index} ^ {mask:#04x} verified"
            );
            assert!(
                verify_root(&mutated, NOW_MS).is_err(),
                "CA byte {index} ^ {mask:#04x} verified as a root"
            );
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let ca = ca("bank-a");
    let leaf = node_certificate(&ca).into_der();
    for length in 0..leaf.len() {
        assert!(verify(&leaf[..length], ca.certificate().as_der(), NOW_MS).is_err());
        assert!(inspect(&leaf[..length]).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Several random byte changes, then maybe a truncation or an extension: never verifies.
    #[test]
    fn random_edits_never_verify(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        tail in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let ca = fixed_ca();
        let (leaf, ca_der) = (&ca.0, &ca.1);
        let mut mutated = leaf.clone();
        for (index, mask) in &edits {
            let at = index.index(mutated.len());
            mutated[at] ^= mask;
        }
        if let Some(cut) = cut {
            mutated.truncate(cut.index(mutated.len()));
        }
        mutated.extend_from_slice(&tail);
        prop_assume!(&mutated != leaf);
        prop_assert!(verify(&mutated, ca_der, NOW_MS).is_err());
    }

    /// Arbitrary bytes never panic any entry point.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ca = fixed_ca();
        let _ = verify(&bytes, &ca.1, NOW_MS);
        let _ = verify(&ca.0, &bytes, NOW_MS);
        let _ = verify_root(&bytes, NOW_MS);
        let _ = inspect(&bytes);
        let _ = vchain_pki::Certificate::from_der(bytes.clone());
        let _ = vchain_pki::Certificate::from_pem(&String::from_utf8_lossy(&bytes));
    }
}

/// One CA and leaf for all proptest cases: (leaf DER, CA DER).
fn fixed_ca() -> &'static (Vec<u8>, Vec<u8>) {
    static FIXED: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    FIXED.get_or_init(|| {
        let ca = ca("bank-a");
        let leaf = node_certificate(&ca).into_der();
        (leaf, ca.certificate().as_der().to_vec())
    })
}
