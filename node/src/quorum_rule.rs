//! The PBFT engine (consensus) and the commit certificate rule (contracts) must agree: on the
//! quorum, and on what a commit signs, so that the commits a replica collects are the block's
//! certificate. The node depends on both, so it holds the test.

use ed25519_dalek::{Signer, SigningKey, Verifier};
use vchain_consensus::pbft::messages::{Crypto, Vote, SIGNATURE_BYTES};
use vchain_consensus::pbft::votes::{Digest, Phase};
use vchain_contracts::commit_certificate::{self, Validators};
use vchain_proto::v1::{CommitCertificate, CommitSignature};

const CHAIN: &str = "vchain-unit";

fn key(i: usize) -> SigningKey {
    SigningKey::from_bytes(&[i as u8 + 1; 32])
}

/// A replica's crypto as the node will give it: its key, the chain's statement.
struct NodeCrypto(usize);

impl Crypto for NodeCrypto {
    fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES] {
        key(self.0).sign(statement).to_bytes()
    }
    fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool {
        let index: usize = replica.trim_start_matches('n').parse().expect("n<i>");
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| key(index).verifying_key().verify(statement, &s).is_ok())
    }
    fn commit_statement(&self, sequence: u64, view: u64, digest: &Digest) -> Vec<u8> {
        commit_certificate::statement(CHAIN, sequence, view, digest)
    }
    fn digest(&self, block: &[u8]) -> Digest {
        vchain_contracts::tx::tx_hash(block)
    }
}

#[test]
fn the_engine_and_the_certificate_rule_agree_on_every_quorum() {
    for n in 1..=commit_certificate::VALIDATORS_MAX {
        assert_eq!(
            vchain_consensus::pbft::quorum(n),
            commit_certificate::quorum(n),
            "{n} validators"
        );
    }
}

#[test]
fn the_commits_a_replica_collects_are_the_blocks_certificate() {
    let validators =
        Validators::new((0..4).map(|i| (format!("n{i}"), key(i).verifying_key().to_bytes())))
            .expect("set");
    let digest = [7u8; 32];
    let receiver = NodeCrypto(0);
    let signatures = (1..4)
        .map(|i| {
            let vote = Vote::signed(&NodeCrypto(i), Phase::Commit, 2, 11, digest, Vec::new());
            let checked = Vote::decode_verified(&receiver, &format!("n{i}"), &vote.encode())
                .expect("a peer's commit verifies");
            CommitSignature {
                node_id: format!("n{i}"),
                signature: checked.signature.to_vec(),
            }
        })
        .collect();
    let certificate = CommitCertificate {
        height: 11,
        view: 2,
        block_hash: digest.to_vec(),
        signatures,
    };
    assert_eq!(
        commit_certificate::verify(CHAIN, &validators, &certificate),
        Ok(())
    );
}
