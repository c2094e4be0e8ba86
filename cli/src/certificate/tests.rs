//! A certificate checked against the validators of its height, derived from a proven head
//! state by walking back over membership changes: signed here with ed25519 keys, no node.

use ed25519_dalek::{Signer, SigningKey};
use vchain_contracts::block::{seal, BlockDraft};
use vchain_contracts::commit_certificate::statement;
use vchain_contracts::BlockOutcome;
use vchain_ledger::{MemoryLedger, WriteSet};
use vchain_proto::v1::CommitSignature;

use super::*;

const CHAIN: &str = "vchain-test";

fn key(i: usize) -> SigningKey {
    SigningKey::from_bytes(&[i as u8 + 1; 32])
}

fn node(i: usize) -> ConsensusNode {
    ConsensusNode {
        node_id: format!("n{i}"),
        org_id: "bank-a".into(),
        public_key: key(i).verifying_key().to_bytes().to_vec(),
        certificate_serial: Vec::new(),
    }
}

fn config(nodes: &[usize]) -> ConsensusConfig {
    ConsensusConfig {
        engine: "pbft".into(),
        nodes: nodes.iter().map(|&i| node(i)).collect(),
        removed_node_ids: Vec::new(),
        change_heights: Vec::new(),
    }
}

/// A membership event of `kind` for node `i`.
fn event(kind: EventKind, i: usize) -> Event {
    let mut event = Event {
        kind: kind.into(),
        ..Event::default()
    };
    let node = node(i);
    event.node_id = node.node_id;
    event.org_id = node.org_id;
    event.public_key = node.public_key;
    event
}

/// A sealed block at `height` after `prev_hash` whose system events are `events`.
fn block(height: u64, prev_hash: [u8; 32], events: Vec<Event>) -> (Block, [u8; 32]) {
    let outcome = BlockOutcome {
        system_events: events,
        ..BlockOutcome::default()
    };
    seal(
        BlockDraft {
            chain_id: CHAIN.into(),
            height,
            prev_hash,
            timestamp_ms: 1_700_000_000_000 + height,
            proposer: "n0".into(),
        },
        Vec::new(),
        &outcome,
        [height as u8; 32],
    )
}

/// Blocks 5, 6 (n3 leaves) and 7 (n4 joins): validators of 5 are n0..n3, the head state has
/// n0, n1, n2, n4.
fn chain() -> (Vec<Block>, ProvenConfig) {
    let (b5, h5) = block(5, [4; 32], Vec::new());
    let (b6, h6) = block(6, h5, vec![event(EventKind::ConsensusNodeRemoved, 3)]);
    let (b7, _) = block(7, h6, vec![event(EventKind::ConsensusNodeAdded, 4)]);
    let proven = ProvenConfig {
        height: 7,
        state_root: [7; 32],
        config: config(&[0, 1, 2, 4]),
    };
    (vec![b5, b6, b7], proven)
}

/// A certificate of block `b` signed by `signers` (ascending).
fn certificate(b: &Block, signers: &[usize]) -> CommitCertificate {
    let header = b.header.as_ref().expect("header");
    let hash = block_hash(header);
    let signed = statement(CHAIN, header.height, 1, &hash);
    CommitCertificate {
        height: header.height,
        view: 1,
        block_hash: hash.to_vec(),
        signatures: signers
            .iter()
            .map(|&i| CommitSignature {
                node_id: format!("n{i}"),
                signature: key(i).sign(&signed).to_bytes().to_vec(),
            })
            .collect(),
    }
}

fn walk(blocks: &[Block]) -> Result<MembershipWalk, CheckError> {
    let mut walk = MembershipWalk::start(&blocks[0])?;
    for b in &blocks[1..] {
        walk.push(b)?;
    }
    Ok(walk)
}

fn hash_of(b: &Block) -> Vec<u8> {
    block_hash(b.header.as_ref().expect("header")).to_vec()
}

#[test]
fn a_quorum_of_the_heights_validators_verifies_after_membership_changed() {
    let (blocks, proven) = chain();
    let validators = walk(&blocks)
        .expect("walk")
        .validators(&proven)
        .expect("validators of 5");
    assert_eq!(
        validators.node_ids().collect::<Vec<_>>(),
        ["n0", "n1", "n2", "n3"],
        "n3 (removed later) is back, n4 (added later) is not"
    );
    let certificate = certificate(&blocks[0], &[0, 1, 3]);
    let verified = check(
        &blocks[0],
        &hash_of(&blocks[0]),
        &certificate,
        &validators,
        7,
    )
    .expect("verifies");
    assert_eq!(
        verified,
        Verified {
            signers: vec!["n0".into(), "n1".into(), "n3".into()],
            validators: 4,
            quorum: 3,
            proven_at: 7,
        }
    );
    let outcome = Outcome::Verified(verified);
    let text = render(Some(&certificate), Some(&outcome));
    assert_eq!(
        text,
        "certificate: view 1, signed by n0, n1, n3\n\
         certificate: verified (3 of 4 validators: n0, n1, n3)\n\
         validators: those of height 5, proven against the state root of block 7\n"
    );
    let json = to_json(Some(&outcome));
    assert_eq!(json["verified"], true);
    assert_eq!(json["signers"], serde_json::json!(["n0", "n1", "n3"]));
    assert_eq!(json["quorum"], 3);
    assert_eq!(json["validators_proven_at_height"], 7);
}

#[test]
fn a_signer_that_joined_later_or_too_few_signers_do_not_verify() {
    let (blocks, proven) = chain();
    let validators = walk(&blocks)
        .expect("walk")
        .validators(&proven)
        .expect("set");
    let joined_later = certificate(&blocks[0], &[0, 1, 4]);
    assert_eq!(
        check(
            &blocks[0],
            &hash_of(&blocks[0]),
            &joined_later,
            &validators,
            7
        ),
        Err(CheckError::Certificate(CertificateError::UnknownSigner {
            node_id: "n4".into()
        }))
    );
    let too_few = certificate(&blocks[0], &[0, 3]);
    let error =
        check(&blocks[0], &hash_of(&blocks[0]), &too_few, &validators, 7).expect_err("no quorum");
    assert_eq!(
        error,
        CheckError::Certificate(CertificateError::NoQuorum {
            got: 2,
            needed: 3,
            validators: 4
        })
    );
    let text = render(Some(&too_few), Some(&Outcome::Failed(error)));
    assert!(
        text.ends_with(
            "certificate: DOES NOT VERIFY: 2 valid signatures of 4 validators; a quorum is 3\n"
        ),
        "{text}"
    );
}

#[test]
fn the_certificate_must_name_the_block_served() {
    let (blocks, proven) = chain();
    let validators = walk(&blocks)
        .expect("walk")
        .validators(&proven)
        .expect("set");
    // A good certificate of block 6, shown with block 5.
    let other = certificate(&blocks[1], &[0, 1, 2]);
    assert!(matches!(
        check(&blocks[0], &hash_of(&blocks[0]), &other, &validators, 7),
        Err(CheckError::OtherBlock {
            height: 5,
            named_height: 6,
            ..
        })
    ));
    // The node names a hash the header does not have.
    let good = certificate(&blocks[0], &[0, 1, 2]);
    assert!(matches!(
        check(&blocks[0], &[9; 32], &good, &validators, 7),
        Err(CheckError::ServedHash { .. })
    ));
}

#[test]
fn a_walk_that_does_not_chain_to_the_proven_state_is_refused() {
    let (blocks, proven) = chain();
    // A block 6 that does not follow block 5.
    let (stray, _) = block(6, [1; 32], Vec::new());
    let mut started = MembershipWalk::start(&blocks[0]).expect("start");
    assert!(matches!(
        started.push(&stray),
        Err(CheckError::Walk { height: 6, .. })
    ));
    // A block whose events were changed after sealing (a removal hidden).
    let mut hidden = blocks[1].clone();
    hidden.system_events.clear();
    assert!(matches!(
        started.push(&hidden),
        Err(CheckError::Walk { height: 6, .. })
    ));
    // Another height than asked for.
    assert!(matches!(
        started.push(&blocks[2]),
        Err(CheckError::Walk { height: 6, .. })
    ));
    // The proof is of another state than the last block's.
    let mut elsewhere = proven.clone();
    elsewhere.state_root = [8; 32];
    assert!(matches!(
        walk(&blocks).expect("walk").validators(&elsewhere),
        Err(CheckError::Configuration { height: 7, .. })
    ));
    let mut later = proven;
    later.height = 8;
    assert!(matches!(
        walk(&blocks).expect("walk").validators(&later),
        Err(CheckError::Configuration { height: 8, .. })
    ));
}

#[test]
fn a_keyless_solo_node_makes_no_validator_set() {
    let (b, _) = block(0, [0; 32], Vec::new());
    let mut solo = config(&[0]);
    solo.engine = "solo".into();
    solo.nodes[0].public_key.clear();
    let proven = ProvenConfig {
        height: 0,
        state_root: [0; 32],
        config: solo,
    };
    assert!(matches!(
        MembershipWalk::start(&b)
            .expect("start")
            .validators(&proven),
        Err(CheckError::Validators {
            height: 0,
            source: ValidatorsError::KeyLength { got: 0, .. }
        })
    ));
}

#[test]
fn the_configuration_is_taken_only_with_a_proof_that_verifies() {
    let mut ledger = MemoryLedger::new();
    let stored = config(&[0, 1, 2, 3]);
    let mut writes = WriteSet::new();
    writes.insert(keys::CONSENSUS.to_vec(), Some(stored.encode_to_vec()));
    writes.insert(b"p/other".to_vec(), Some(b"x".to_vec()));
    let root = ledger.apply(&writes).expect("apply");
    let (value, proof) = ledger.prove(keys::CONSENSUS).expect("prove");
    let answer = GetStateProofResponse {
        key: keys::CONSENSUS.to_vec(),
        found: true,
        value: value.expect("present"),
        proof: proof.encode_to_vec(),
        state_root: root.to_vec(),
        height: 12,
    };
    assert_eq!(
        proven_config(&answer),
        Ok(ProvenConfig {
            height: 12,
            state_root: root,
            config: stored.clone(),
        })
    );
    // A node that serves another membership than its state holds is caught.
    let mut forged = answer.clone();
    forged.value = config(&[0, 1, 2, 4]).encode_to_vec();
    assert!(matches!(
        proven_config(&forged),
        Err(CheckError::Configuration { height: 12, .. })
    ));
    let mut other_root = answer.clone();
    other_root.state_root = vec![3; 32];
    assert!(proven_config(&other_root).is_err());
    let mut other_key = answer;
    other_key.key = b"p/other".to_vec();
    assert!(proven_config(&other_key).is_err());
}

#[test]
fn a_block_without_a_certificate_says_so() {
    assert_eq!(render(None, None), "certificate: none\n");
    assert_eq!(to_json(None), Value::Null);
    let (b, _) = block(3, [2; 32], Vec::new());
    let c = certificate(&b, &[0]);
    let text = render(
        Some(&c),
        Some(&Outcome::NotChecked("too far below the head".into())),
    );
    assert_eq!(
        text,
        "certificate: view 1, signed by n0\ncertificate: not checked: too far below the head\n"
    );
}
