//! Unit tests of the state tree: each update case, known answers, proofs and corruption checks.
//! The tree is exercised through its encoded `TreeUpdate`, as a persistent store would apply it.

use std::cell::Cell;
use std::collections::BTreeMap;

use super::*;

/// A node store applying encoded updates, like the persistent store does.
#[derive(Default)]
struct MapStore {
    nodes: BTreeMap<NodePath, Node>,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl NodeStore for MapStore {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        Ok(self.nodes.get(path).copied())
    }
}

impl MapStore {
    fn apply(&mut self, writes: &WriteSet) -> TreeUpdate {
        let update = update(self, writes).expect("update");
        for (path, node) in &update.node_writes {
            let path = *path;
            match node {
                Some(node) => {
                    self.nodes.insert(path, *node);
                }
                None => {
                    assert!(
                        self.nodes.remove(&path).is_some(),
                        "delete of a node that is not stored"
                    );
                }
            }
        }
        for (key, value) in writes {
            match value {
                Some(value) => self.state.insert(key.clone(), value.clone()),
                None => self.state.remove(key),
            };
        }
        assert_eq!(
            update.root,
            root_of(self.state.iter()),
            "incremental root differs from the reference"
        );
        update
    }

    fn root(&self) -> Hash {
        self.nodes
            .get(&NodePath::ROOT)
            .map_or(EMPTY_ROOT, Node::hash)
    }
}

fn put(key: &[u8], value: &[u8]) -> WriteSet {
    WriteSet::from([(key.to_vec(), Some(value.to_vec()))])
}

fn delete(key: &[u8]) -> WriteSet {
    WriteSet::from([(key.to_vec(), None)])
}

/// Two keys whose hashes share at least `bits` leading bits, and a third whose hash differs from
/// the first at bit 0. Found by search so the test does not depend on hard-coded hashes.
fn keys_sharing(bits: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut seen: BTreeMap<Vec<bool>, Vec<u8>> = BTreeMap::new();
    for i in 0u32.. {
        let key = format!("key-{i}").into_bytes();
        let hash = sha256(&key);
        let prefix: Vec<bool> = (0..bits).map(|index| bit(&hash, index as u16)).collect();
        if let Some(first) = seen.get(&prefix) {
            let first_hash = sha256(first);
            let third = (0u32..)
                .map(|j| format!("other-{j}").into_bytes())
                .find(|other| bit(&sha256(other), 0) != bit(&first_hash, 0))
                .expect("a key on the other side");
            return (first.clone(), key, third);
        }
        seen.insert(prefix, key);
    }
    unreachable!("the key space is unbounded")
}

fn leaf_at(store: &MapStore, key: &[u8]) -> Option<u16> {
    let key_hash = sha256(key);
    (0..=DEPTH_MAX).find(|depth| {
        matches!(store.nodes.get(&NodePath::of_key_hash(&key_hash, *depth)), Some(Node::Leaf { key_hash: k, .. }) if *k == key_hash)
    })
}

#[test]
fn empty_tree_has_empty_root_and_no_nodes() {
    let mut store = MapStore::default();
    let update = store.apply(&WriteSet::new());
    assert_eq!(update.root, EMPTY_ROOT);
    assert_eq!(update.prev_root, EMPTY_ROOT);
    assert!(update.node_writes.is_empty());
    assert_eq!(root_of(Vec::<(Vec<u8>, Vec<u8>)>::new()), EMPTY_ROOT);
    let update = store.apply(&delete(b"absent"));
    assert_eq!(update.root, EMPTY_ROOT);
    assert!(
        update.node_writes.is_empty(),
        "deleting from an empty tree writes nothing"
    );
}

#[test]
fn one_entry_root_is_the_leaf_hash_known_answer() {
    // Computed by hand from the spec: SHA-256(0x00 || SHA-256(key) || SHA-256(value)).
    let key_hash: [u8; 32] = Sha256::digest(b"account/alice").into();
    let value_hash: [u8; 32] = Sha256::digest(b"balance=10").into();
    let mut preimage = vec![0x00];
    preimage.extend_from_slice(&key_hash);
    preimage.extend_from_slice(&value_hash);
    let expected: [u8; 32] = Sha256::digest(&preimage).into();

    let mut store = MapStore::default();
    let update = store.apply(&put(b"account/alice", b"balance=10"));
    assert_eq!(update.root, expected);
    assert_eq!(root_of([(b"account/alice", b"balance=10")]), expected);
    assert_eq!(store.nodes.len(), 1);
    assert_eq!(
        store.nodes.get(&NodePath::ROOT),
        Some(&Node::Leaf {
            key_hash,
            value_hash
        })
    );
    // Encoded exactly as specified: root path = depth 0 and 32 zero bytes; leaf = 0x00 || kh || vh.
    let (path, node) = update.node_writes.first().expect("one node write");
    assert_eq!(path.encode().as_slice(), [0u8; 34].as_slice());
    let node = node.as_ref().expect("a put").encode();
    assert_eq!(node[0], 0x00);
    assert_eq!(&node[1..33], key_hash.as_slice());
    assert_eq!(&node[33..], value_hash.as_slice());
}

#[test]
fn two_entry_root_is_inner_over_leaves_known_answer() {
    let (a, b, _) = keys_sharing(0);
    let (ha, hb) = (sha256(&a), sha256(&b));
    let leaf = |key_hash: &Hash| leaf_hash(key_hash, &sha256(b"v"));
    // Build the expected root by hand: the chain of inner nodes down to where the hashes differ.
    let split = shared_bits(&ha, &hb);
    let (first, second) = if bit(&ha, split as u16) {
        (leaf(&hb), leaf(&ha))
    } else {
        (leaf(&ha), leaf(&hb))
    };
    let mut expected = inner_hash(&first, &second);
    for depth in (0..split).rev() {
        expected = if bit(&ha, depth as u16) {
            inner_hash(&EMPTY_ROOT, &expected)
        } else {
            inner_hash(&expected, &EMPTY_ROOT)
        };
    }
    let mut store = MapStore::default();
    let mut writes = put(&a, b"v");
    writes.extend(put(&b, b"v"));
    assert_eq!(store.apply(&writes).root, expected);
}

#[test]
fn insert_splits_an_existing_leaf_and_pushes_it_down() {
    let (a, b, _) = keys_sharing(5);
    let shared = shared_bits(&sha256(&a), &sha256(&b));
    assert!(shared >= 5);
    let mut store = MapStore::default();
    store.apply(&put(&a, b"1"));
    assert_eq!(leaf_at(&store, &a), Some(0));

    store.apply(&put(&b, b"2"));
    let leaf_depth = shared as u16 + 1;
    assert_eq!(
        leaf_at(&store, &a),
        Some(leaf_depth),
        "the old leaf moved down to where the keys part"
    );
    assert_eq!(leaf_at(&store, &b), Some(leaf_depth));
    // Inner nodes at depths 0..=shared, then the two leaves.
    assert_eq!(store.nodes.len(), shared + 1 + 2);
    for depth in 0..=shared as u16 {
        assert!(matches!(
            store.nodes.get(&NodePath::of_key_hash(&sha256(&a), depth)),
            Some(Node::Inner { .. })
        ));
    }
}

#[test]
fn insert_into_an_empty_child_of_an_inner_node() {
    let (a, b, c) = keys_sharing(3);
    let mut store = MapStore::default();
    let mut writes = put(&a, b"1");
    writes.extend(put(&b, b"2"));
    store.apply(&writes);
    let before = store.nodes.len();
    // c differs from a at bit 0: the root's other child was empty.
    store.apply(&put(&c, b"3"));
    assert_eq!(leaf_at(&store, &c), Some(1));
    // a and b keep their positions: one leaf is added and the root stays an inner node.
    assert_eq!(store.nodes.len(), before + 1);
}

#[test]
fn overwrite_changes_the_value_hash_in_place() {
    let (a, b, _) = keys_sharing(2);
    let mut store = MapStore::default();
    let mut writes = put(&a, b"1");
    writes.extend(put(&b, b"2"));
    let first = store.apply(&writes);
    let count = store.nodes.len();
    let second = store.apply(&put(&a, b"changed"));
    assert_ne!(first.root, second.root);
    assert_eq!(store.nodes.len(), count, "an overwrite adds no node");
    assert_eq!(
        leaf_at(&store, &a),
        Some(shared_bits(&sha256(&a), &sha256(&b)) as u16 + 1)
    );

    // Writing the same value again changes nothing.
    let third = store.apply(&put(&a, b"changed"));
    assert_eq!(third.root, second.root);
    assert!(
        third.node_writes.is_empty(),
        "an unchanged value writes no node"
    );
}

#[test]
fn delete_collapses_the_survivor_up_several_levels() {
    let (a, b, c) = keys_sharing(6);
    let shared = shared_bits(&sha256(&a), &sha256(&b));
    let mut store = MapStore::default();
    let mut writes = put(&a, b"1");
    writes.extend(put(&b, b"2"));
    writes.extend(put(&c, b"3"));
    store.apply(&writes);
    assert_eq!(leaf_at(&store, &a), Some(shared as u16 + 1));
    // Inner nodes at depths 0..=shared, the leaves of a and b, and c's leaf at depth 1.
    assert_eq!(store.nodes.len(), shared + 4);

    // Deleting b leaves a alone below the root's child: it moves up to depth 1 and every node of
    // the old chain is deleted.
    let update = store.apply(&delete(&b));
    let deletes = update
        .node_writes
        .iter()
        .filter(|(_, node)| node.is_none())
        .count();
    assert_eq!(
        deletes,
        shared + 1,
        "the chain below depth 1 and both old leaf positions, minus the new leaf position"
    );
    assert_eq!(leaf_at(&store, &a), Some(1));
    assert_eq!(leaf_at(&store, &c), Some(1));
    assert_eq!(store.nodes.len(), 3);

    // Deleting c leaves a alone in the tree: it becomes the root.
    store.apply(&delete(&c));
    assert_eq!(leaf_at(&store, &a), Some(0));
    assert_eq!(store.nodes.len(), 1);
    assert_eq!(store.root(), root_of([(a.as_slice(), b"1".as_slice())]));
}

#[test]
fn delete_of_an_absent_key_is_a_no_op() {
    let (a, b, c) = keys_sharing(4);
    let mut store = MapStore::default();
    let mut writes = put(&a, b"1");
    writes.extend(put(&b, b"2"));
    let before = store.apply(&writes).root;
    // c's path ends at the root's empty child; "absent-*" keys end at a leaf or an empty child.
    for key in [
        c.clone(),
        b"absent-1".to_vec(),
        b"absent-2".to_vec(),
        b"absent-3".to_vec(),
    ] {
        let update = store.apply(&delete(&key));
        assert_eq!(update.root, before);
        assert!(
            update.node_writes.is_empty(),
            "deleting an absent key writes nothing"
        );
    }
}

#[test]
fn delete_everything_gives_the_empty_root() {
    let mut store = MapStore::default();
    let writes: WriteSet = (0..50)
        .map(|i| (format!("k{i}").into_bytes(), Some(vec![i as u8])))
        .collect();
    store.apply(&writes);
    assert!(store.nodes.len() >= 99);
    let deletes: WriteSet = writes.keys().map(|key| (key.clone(), None)).collect();
    let update = store.apply(&deletes);
    assert_eq!(update.root, EMPTY_ROOT);
    assert!(store.nodes.is_empty(), "no node survives");
}

#[test]
fn mixed_batch_inserts_deletes_and_overwrites_at_once() {
    let mut store = MapStore::default();
    let writes: WriteSet = (0..40)
        .map(|i| (format!("k{i}").into_bytes(), Some(vec![i as u8])))
        .collect();
    store.apply(&writes);
    let mixed: WriteSet = (20..60)
        .map(|i| {
            let value = if i % 3 == 0 {
                None
            } else {
                Some(vec![i as u8, 1])
            };
            (format!("k{i}").into_bytes(), value)
        })
        .collect();
    store.apply(&mixed); // `apply` checks the root against the reference
    let fresh = {
        let mut fresh = MapStore::default();
        let all: WriteSet = store
            .state
            .iter()
            .map(|(key, value)| (key.clone(), Some(value.clone())))
            .collect();
        fresh.apply(&all);
        fresh
    };
    assert_eq!(
        store.nodes, fresh.nodes,
        "incremental and from-scratch trees store the same nodes"
    );
}

/// Counts node reads, to check that an update reads only the touched paths.
struct Counting<'a> {
    inner: &'a MapStore,
    reads: Cell<usize>,
}

impl NodeStore for Counting<'_> {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.node(path)
    }
}

#[test]
fn update_reads_only_the_touched_paths() {
    let mut store = MapStore::default();
    let writes: WriteSet = (0..4096u32)
        .map(|i| (i.to_be_bytes().to_vec(), Some(b"v".to_vec())))
        .collect();
    store.apply(&writes);
    let depth_max = (0..4096u32)
        .filter_map(|i| leaf_at(&store, &i.to_be_bytes()))
        .max()
        .expect("leaves");
    for write in [
        put(b"new-key", b"v"),
        put(&7u32.to_be_bytes(), b"w"),
        delete(&9u32.to_be_bytes()),
    ] {
        let counting = Counting {
            inner: &store,
            reads: Cell::new(0),
        };
        update(&counting, &write).expect("update");
        let reads = counting.reads.get();
        // One path (plus, on a delete, the survivor's sibling): bounded by the depth, not by 4096.
        assert!(
            reads <= usize::from(depth_max) + 3,
            "{reads} reads for one write, tree depth {depth_max}"
        );
    }
}

#[test]
fn update_detects_a_corrupt_child() {
    let (a, b, _) = keys_sharing(1);
    let mut store = MapStore::default();
    let mut writes = put(&a, b"1");
    writes.extend(put(&b, b"2"));
    store.apply(&writes);
    let leaf_path = NodePath::of_key_hash(&sha256(&a), leaf_at(&store, &a).expect("leaf"));
    store.nodes.insert(
        leaf_path,
        Node::Leaf {
            key_hash: sha256(&a),
            value_hash: [9; 32],
        },
    );
    let error = update(&store, &put(&a, b"3"))
        .expect_err("a child that does not hash to its parent's record");
    assert!(matches!(error, LedgerError::Corruption { .. }), "{error}");
    store.nodes.remove(&leaf_path);
    let error = prove(&store, &a).expect_err("a missing child");
    assert!(matches!(error, LedgerError::Corruption { .. }), "{error}");
}

#[test]
fn proofs_verify_for_present_and_absent_keys() {
    let mut store = MapStore::default();
    let writes: WriteSet = (0..64)
        .map(|i| {
            (
                format!("k{i}").into_bytes(),
                Some(format!("v{i}").into_bytes()),
            )
        })
        .collect();
    let root = store.apply(&writes).root;
    let mut saw_other_leaf = false;
    let mut saw_empty_end = false;
    for i in 0..64 {
        let key = format!("k{i}").into_bytes();
        let proof = prove(&store, &key).expect("prove");
        verify_proof(&root, &key, Some(format!("v{i}").as_bytes()), &proof)
            .expect("inclusion verifies");
        assert!(verify_proof(&root, &key, Some(b"wrong"), &proof).is_err());
        assert!(
            verify_proof(&root, &key, None, &proof).is_err(),
            "an inclusion proof is no absence proof"
        );
    }
    for i in 64..256 {
        let key = format!("k{i}").into_bytes();
        let proof = prove(&store, &key).expect("prove");
        verify_proof(&root, &key, None, &proof).expect("absence verifies");
        assert!(verify_proof(&root, &key, Some(b"v"), &proof).is_err());
        if proof.other_key_hash.is_empty() {
            saw_empty_end = true;
        } else {
            saw_other_leaf = true;
        }
    }
    assert!(
        saw_other_leaf && saw_empty_end,
        "both kinds of absence proof were exercised"
    );
}

#[test]
fn empty_tree_absence_proof() {
    let store = MapStore::default();
    let proof = prove(&store, b"anything").expect("prove");
    assert!(proof.siblings.is_empty());
    verify_proof(&EMPTY_ROOT, b"anything", None, &proof).expect("absence in the empty tree");
    assert!(verify_proof(&[1; 32], b"anything", None, &proof).is_err());
}

#[test]
fn malformed_proofs_are_typed_errors() {
    let mut store = MapStore::default();
    let writes: WriteSet = (0..16)
        .map(|i| (format!("k{i}").into_bytes(), Some(b"v".to_vec())))
        .collect();
    let root = store.apply(&writes).root;
    let good = prove(&store, b"k3").expect("prove");
    assert!(!good.siblings.is_empty());

    let mut short = good.clone();
    short.siblings[0].pop();
    assert_eq!(
        verify_proof(&root, b"k3", Some(b"v"), &short),
        Err(ProofError::SiblingLength { index: 0, len: 31 })
    );

    let mut long = good.clone();
    long.siblings = vec![vec![0; 32]; 257];
    assert!(matches!(
        verify_proof(&root, b"k3", Some(b"v"), &long),
        Err(ProofError::TooManySiblings { count: 257, .. })
    ));

    let mut with_other = good.clone();
    with_other.other_key_hash = vec![1; 32];
    with_other.other_value_hash = vec![1; 32];
    assert_eq!(
        verify_proof(&root, b"k3", Some(b"v"), &with_other),
        Err(ProofError::OtherLeafInInclusion)
    );

    let mut own_leaf = good.clone();
    own_leaf.other_key_hash = sha256(b"k3").to_vec();
    own_leaf.other_value_hash = sha256(b"v").to_vec();
    assert_eq!(
        verify_proof(&root, b"k3", None, &own_leaf),
        Err(ProofError::OtherLeafIsKey)
    );

    let mut half = good.clone();
    half.other_key_hash = vec![1; 32];
    assert!(matches!(
        verify_proof(&root, b"k3", None, &half),
        Err(ProofError::OtherLeafLength { .. })
    ));

    // An absence claim with some other key's leaf that is not on k3's path.
    let key_hash = sha256(b"k3");
    let mut off_path = key_hash;
    off_path[0] ^= 0x80;
    let mut off = good.clone();
    off.other_key_hash = off_path.to_vec();
    off.other_value_hash = vec![0; 32];
    assert!(matches!(
        verify_proof(&root, b"k3", None, &off),
        Err(ProofError::OtherLeafOffPath { shared_bits: 0, .. })
    ));
}

#[test]
fn node_path_encoding_round_trips_and_rejects_garbage() {
    let hash = sha256(b"x");
    for depth in [0u16, 1, 7, 8, 9, 255, 256] {
        let path = NodePath::of_key_hash(&hash, depth);
        assert_eq!(NodePath::decode(&path.encode()).expect("decode"), path);
        assert!(path.contains(&hash));
        assert_eq!(path.depth(), depth);
    }
    assert_eq!(NodePath::ROOT.encode(), [0u8; 34]);
    let child = NodePath::ROOT.child(true).child(false).child(true);
    assert_eq!(child.encode()[..3], [0, 3, 0b1010_0000]);
    assert!(NodePath::decode(&[0; 33]).is_err(), "short");
    let mut deep = [0u8; 34];
    deep[..2].copy_from_slice(&257u16.to_be_bytes());
    assert!(NodePath::decode(&deep).is_err(), "beyond the last level");
    let mut stray = [0u8; 34];
    stray[1] = 3;
    stray[2] = 0b0001_0000;
    assert!(NodePath::decode(&stray).is_err(), "a bit past the depth");
}

#[test]
fn node_encoding_round_trips_and_rejects_garbage() {
    for node in [
        Node::Leaf {
            key_hash: [1; 32],
            value_hash: [2; 32],
        },
        Node::Inner {
            left: [3; 32],
            right: EMPTY_ROOT,
        },
    ] {
        assert_eq!(Node::decode(&node.encode()).expect("decode"), node);
    }
    assert!(Node::decode(&[0; 64]).is_err());
    let mut bad_tag = [0u8; 65];
    bad_tag[0] = 2;
    assert!(Node::decode(&bad_tag).is_err());
}
