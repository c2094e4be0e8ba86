//! Property tests of the state tree through `MemoryLedger`: random batches of inserts,
//! overwrites and deletes over a small key space (so keys collide, get deleted and come back)
//! must always give the from-scratch root, a canonical node set without garbage, and proofs
//! that verify (and stop verifying when tampered with).

use std::collections::BTreeMap;

use proptest::prelude::*;
use vchain_ledger::{root_of, verify_proof, MemoryLedger, StateReader, WriteSet, EMPTY_ROOT};

/// Keys are drawn from this many; small, so batches overwrite and delete existing keys.
const KEY_SPACE: u8 = 24;

fn key(index: u8) -> Vec<u8> {
    format!("voucher/{index:03}").into_bytes()
}

/// One batch: key index -> Some(value byte) to put, None to delete.
fn batch() -> impl Strategy<Value = BTreeMap<u8, Option<u8>>> {
    prop::collection::btree_map(
        0..KEY_SPACE,
        prop::option::weighted(0.6, any::<u8>()),
        0..12,
    )
}

fn write_set(batch: &BTreeMap<u8, Option<u8>>) -> WriteSet {
    batch
        .iter()
        .map(|(index, value)| {
            (
                key(*index),
                value.map(|byte| vec![byte; 1 + usize::from(byte % 5)]),
            )
        })
        .collect()
}

fn from_scratch(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> MemoryLedger {
    let mut ledger = MemoryLedger::new();
    let all: WriteSet = model
        .iter()
        .map(|(key, value)| (key.clone(), Some(value.clone())))
        .collect();
    ledger.apply(&all).expect("apply from scratch");
    ledger
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn incremental_batches_match_the_reference(batches in prop::collection::vec(batch(), 1..16)) {
        let mut ledger = MemoryLedger::new();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for batch in &batches {
            let writes = write_set(batch);
            let root = ledger.apply(&writes).expect("apply");
            for (key, value) in &writes {
                match value {
                    Some(value) => { model.insert(key.clone(), value.clone()); }
                    None => { model.remove(key); }
                }
            }
            prop_assert_eq!(root, root_of(model.iter()), "incremental root differs from the reference");
            prop_assert_eq!(root, ledger.root());
            ledger.check_integrity().expect("canonical tree, no garbage, leaves = state");
        }
        // Same state, same stored nodes, whatever the history.
        let scratch = from_scratch(&model);
        prop_assert_eq!(&ledger, &scratch);
        prop_assert_eq!(ledger.node_count(), scratch.node_count());
        if model.is_empty() {
            prop_assert_eq!(ledger.root(), EMPTY_ROOT);
            prop_assert_eq!(ledger.node_count(), 0);
        }
        for index in 0..KEY_SPACE {
            let key = key(index);
            prop_assert_eq!(ledger.get(&key).expect("get"), model.get(&key).cloned());
        }
    }

    #[test]
    fn proofs_verify_and_tampering_fails(
        batches in prop::collection::vec(batch(), 1..6),
        flip in any::<(usize, usize, u8)>(),
    ) {
        let mut ledger = MemoryLedger::new();
        let mut previous_roots = vec![ledger.root()];
        for batch in &batches {
            previous_roots.push(ledger.apply(&write_set(batch)).expect("apply"));
        }
        let root = ledger.root();
        for index in 0..KEY_SPACE {
            let key = key(index);
            let (value, proof) = ledger.prove(&key).expect("prove");
            verify_proof(&root, &key, value.as_deref(), &proof).expect("a fresh proof verifies");

            // The opposite claim fails: absence of a present key, or presence of an absent one.
            match &value {
                Some(value) => {
                    prop_assert!(verify_proof(&root, &key, None, &proof).is_err());
                    let mut other = value.clone();
                    other.push(0);
                    prop_assert!(verify_proof(&root, &key, Some(&other), &proof).is_err());
                }
                None => prop_assert!(verify_proof(&root, &key, Some(b"x"), &proof).is_err()),
            }

            // Against any other root, it fails.
            for other_root in previous_roots.iter().filter(|other| **other != root) {
                prop_assert!(verify_proof(other_root, &key, value.as_deref(), &proof).is_err());
            }

            // One flipped bit anywhere in the proof makes it fail.
            let (which, byte, bit) = flip;
            let mut tampered = proof.clone();
            let mut targets: Vec<&mut Vec<u8>> = tampered.siblings.iter_mut().collect();
            targets.push(&mut tampered.other_key_hash);
            targets.push(&mut tampered.other_value_hash);
            let mut targets: Vec<&mut Vec<u8>> = targets.into_iter().filter(|field| !field.is_empty()).collect();
            if !targets.is_empty() {
                let count = targets.len();
                let target = &mut targets[which % count];
                let at = byte % target.len();
                target[at] ^= 1 << (bit % 8);
                prop_assert!(verify_proof(&root, &key, value.as_deref(), &tampered).is_err(), "a flipped bit still verifies");
            }
        }
    }
}
