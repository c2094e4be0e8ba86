//! Commit certificates (issue 13): a certificate verifies exactly when a quorum of the height's
//! validators signed this block, and any change to it (a flipped byte, a dropped, repeated,
//! foreign or reordered signature, another height, view, hash or chain) makes it fail.

use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use vchain_contracts::commit_certificate::{
    quorum, statement, verify, CertificateError, Validators,
};
use vchain_proto::v1::{CommitCertificate, CommitSignature};

const CHAIN: &str = "vchain-test";

fn key(i: usize) -> SigningKey {
    SigningKey::from_bytes(&[i as u8 + 1; 32])
}

fn node(i: usize) -> String {
    format!("node-{i:02}")
}

fn validators(n: usize) -> Validators {
    Validators::new((0..n).map(|i| (node(i), key(i).verifying_key().to_bytes())))
        .expect("distinct validators")
}

/// A certificate of `signers` (indexes, ascending) over (height, view, hash).
fn certificate(signers: &[usize], height: u64, view: u64, hash: [u8; 32]) -> CommitCertificate {
    let signed = statement(CHAIN, height, view, &hash);
    CommitCertificate {
        height,
        view,
        block_hash: hash.to_vec(),
        signatures: signers
            .iter()
            .map(|&i| CommitSignature {
                node_id: node(i),
                signature: key(i).sign(&signed).to_bytes().to_vec(),
            })
            .collect(),
    }
}

/// A validator count and an ascending subset of signers.
fn set_and_signers() -> impl Strategy<Value = (usize, Vec<usize>)> {
    (1usize..=13).prop_flat_map(|n| {
        (
            Just(n),
            proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn verifies_exactly_when_a_quorum_signed((n, signers) in set_and_signers(), height in 1u64..1_000, view in 0u64..5) {
        let set = validators(n);
        let result = verify(CHAIN, &set, &certificate(&signers, height, view, [7; 32]));
        if signers.len() >= quorum(n) {
            prop_assert_eq!(result, Ok(()));
        } else {
            let no_quorum = matches!(result, Err(CertificateError::NoQuorum { .. }));
            prop_assert!(no_quorum, "{:?}", result);
        }
    }

    #[test]
    fn any_flipped_byte_of_a_signature_or_the_hash_fails(n in 1usize..=10, which in any::<prop::sample::Index>(), bit in 0u8..8) {
        let set = validators(n);
        let signers: Vec<usize> = (0..quorum(n)).collect();
        let good = certificate(&signers, 5, 1, [3; 32]);
        prop_assert_eq!(verify(CHAIN, &set, &good), Ok(()));
        // A byte of some signature.
        let mut bad = good.clone();
        let s = which.index(bad.signatures.len());
        let byte = which.index(64);
        bad.signatures[s].signature[byte] ^= 1 << bit;
        prop_assert!(verify(CHAIN, &set, &bad).is_err());
        // A byte of the block hash.
        let mut bad = good.clone();
        bad.block_hash[which.index(32)] ^= 1 << bit;
        prop_assert!(verify(CHAIN, &set, &bad).is_err());
    }
}

#[test]
fn another_height_view_or_chain_fails() {
    let set = validators(4);
    let good = certificate(&[0, 1, 2], 9, 2, [5; 32]);
    assert_eq!(verify(CHAIN, &set, &good), Ok(()));
    let mut moved = good.clone();
    moved.height = 10;
    assert!(matches!(
        verify(CHAIN, &set, &moved),
        Err(CertificateError::BadSignature { .. })
    ));
    let mut moved = good.clone();
    moved.view = 3;
    assert!(matches!(
        verify(CHAIN, &set, &moved),
        Err(CertificateError::BadSignature { .. })
    ));
    assert!(matches!(
        verify("another-chain", &set, &good),
        Err(CertificateError::BadSignature { .. })
    ));
}

#[test]
fn a_repeated_dropped_foreign_or_reordered_signature_fails() {
    let set = validators(4);
    let good = certificate(&[0, 1, 2], 9, 0, [5; 32]);

    // One validator counted twice.
    let mut repeated = good.clone();
    repeated.signatures[1] = repeated.signatures[0].clone();
    assert!(matches!(
        verify(CHAIN, &set, &repeated),
        Err(CertificateError::Unordered { .. })
    ));

    // Two of four do not make a quorum of 3.
    let mut dropped = good.clone();
    dropped.signatures.pop();
    assert_eq!(
        verify(CHAIN, &set, &dropped),
        Err(CertificateError::NoQuorum {
            got: 2,
            needed: 3,
            validators: 4
        })
    );

    // A signer outside the set: a fifth node, or a removed one.
    let outsider = certificate(&[0, 1, 4], 9, 0, [5; 32]);
    assert_eq!(
        verify(CHAIN, &set, &outsider),
        Err(CertificateError::UnknownSigner { node_id: node(4) })
    );

    // Out of order.
    let mut reordered = good.clone();
    reordered.signatures.swap(0, 2);
    assert!(matches!(
        verify(CHAIN, &set, &reordered),
        Err(CertificateError::Unordered { .. })
    ));

    // A signature moved to another signer's name.
    let mut swapped = good.clone();
    let first = swapped.signatures[0].signature.clone();
    swapped.signatures[0].signature = swapped.signatures[1].signature.clone();
    swapped.signatures[1].signature = first;
    assert!(matches!(
        verify(CHAIN, &set, &swapped),
        Err(CertificateError::BadSignature { .. })
    ));

    // A hash of the wrong length.
    let mut short = good;
    short.block_hash.pop();
    assert_eq!(
        verify(CHAIN, &set, &short),
        Err(CertificateError::BlockHashLength { got: 31 })
    );
}

#[test]
fn a_certificate_of_one_set_does_not_pass_for_another() {
    // Validators 0..4 signed; a set where 2 and 3 were replaced by others refuses them.
    let certificate = certificate(&[0, 1, 2], 9, 0, [5; 32]);
    let rotated = Validators::new(
        [0usize, 1, 5, 6]
            .into_iter()
            .map(|i| (node(i), key(i).verifying_key().to_bytes())),
    )
    .expect("set");
    assert_eq!(
        verify(CHAIN, &rotated, &certificate),
        Err(CertificateError::UnknownSigner { node_id: node(2) })
    );
}
