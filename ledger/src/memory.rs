//! An in-memory ledger: state and tree nodes in `BTreeMap`s. The test double of the execution
//! crates (unit and property tests), with exactly the roots and proofs of the persistent store.

use std::collections::BTreeMap;

use vchain_proto::v1::StateProof;

use crate::error::Hex;
use crate::tree::{self, Node, NodePath, NodeStore, DEPTH_MAX};
use crate::{scan_start, Entry, Hash, LedgerError, StateReader, WriteSet, EMPTY_ROOT};

/// In-memory state with its state tree. Cheap to create and to clone; equal ledgers hold the same
/// state and the same stored nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryLedger {
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    nodes: BTreeMap<NodePath, Node>,
    root: Hash,
}

impl MemoryLedger {
    /// An empty ledger (root [`EMPTY_ROOT`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Number of state entries.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether the state is empty.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// Number of stored tree nodes (a canonical tree of n >= 1 leaves stores 2n - 1 nodes plus one
    /// per level where two leaves still share a bit).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Applies a block's state writes, updating the tree; returns the new root. All or nothing:
    /// on error the ledger is unchanged.
    pub fn apply(&mut self, writes: &WriteSet) -> Result<Hash, LedgerError> {
        let update = tree::update(self, writes)?;
        assert_eq!(
            update.prev_root, self.root,
            "tree update computed against another root than the ledger's"
        );

        for (key, value) in writes {
            match value {
                Some(value) => {
                    self.state.insert(key.clone(), value.clone());
                }
                None => {
                    self.state.remove(key);
                }
            }
        }
        for (path, node) in update.node_writes {
            match node {
                Some(node) => {
                    self.nodes.insert(path, node);
                }
                None => {
                    let removed = self.nodes.remove(&path);
                    assert!(
                        removed.is_some(),
                        "tree update deletes a node that is not stored (depth {})",
                        path.depth()
                    );
                }
            }
        }
        self.root = update.root;

        let stored_root = self
            .nodes
            .get(&NodePath::ROOT)
            .map_or(EMPTY_ROOT, Node::hash);
        assert_eq!(
            stored_root, self.root,
            "stored root node disagrees with the computed root after apply"
        );
        assert_eq!(
            self.nodes.is_empty(),
            self.state.is_empty(),
            "tree and state disagree on emptiness"
        );
        Ok(self.root)
    }

    /// The value at `key` and a proof of it (or of its absence) against [`Self::root`].
    pub fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        let proof = tree::prove(self, key)?;
        Ok((self.state.get(key).cloned(), proof))
    }

    /// Walks the whole tree and checks every invariant: each node hashes to what its parent
    /// records, the shape is canonical (every inner node has two or more leaves below it, every
    /// leaf lies on its key's path), no node is stored that the walk does not reach, and the
    /// leaves are exactly the state entries. For tests; costs a full pass over the state.
    pub fn check_integrity(&self) -> Result<(), LedgerError> {
        let mut leaves = BTreeMap::new();
        let root_node = self.nodes.get(&NodePath::ROOT).copied();
        let root_hash = root_node.as_ref().map_or(EMPTY_ROOT, Node::hash);
        if root_hash != self.root {
            return Err(LedgerError::corruption(
                "memory ledger root",
                format!(
                    "cached root {} but the root node hashes to {}",
                    Hex(&self.root),
                    Hex(&root_hash)
                ),
            ));
        }
        let mut reached = 0usize;
        if let Some(node) = root_node {
            self.walk(NodePath::ROOT, node, &mut leaves, &mut reached)?;
        }
        if reached != self.nodes.len() {
            return Err(LedgerError::corruption(
                "memory ledger tree",
                format!(
                    "{} nodes stored but only {reached} reachable from the root",
                    self.nodes.len()
                ),
            ));
        }
        let expected: BTreeMap<Hash, Hash> = self
            .state
            .iter()
            .map(|(key, value)| (tree::key_hash(key), tree::key_hash(value)))
            .collect();
        if expected != leaves {
            return Err(LedgerError::corruption(
                "memory ledger tree",
                format!(
                    "{} leaves do not match the {} state entries",
                    leaves.len(),
                    self.state.len()
                ),
            ));
        }
        Ok(())
    }

    /// Returns the number of leaves below `node` (stored at `path`), checking it on the way.
    fn walk(
        &self,
        path: NodePath,
        node: Node,
        leaves: &mut BTreeMap<Hash, Hash>,
        reached: &mut usize,
    ) -> Result<usize, LedgerError> {
        *reached += 1;
        let what = || {
            format!(
                "tree node at depth {} path {}",
                path.depth(),
                Hex(path.prefix())
            )
        };
        match node {
            Node::Leaf {
                key_hash,
                value_hash,
            } => {
                if NodePath::of_key_hash(&key_hash, path.depth()) != path {
                    return Err(LedgerError::corruption(what(), "leaf off its key's path"));
                }
                leaves.insert(key_hash, value_hash);
                Ok(1)
            }
            Node::Inner { left, right } => {
                if path.depth() >= DEPTH_MAX {
                    return Err(LedgerError::corruption(
                        what(),
                        "inner node at the last level",
                    ));
                }
                let mut below = 0;
                for (right_turn, hash) in [(false, left), (true, right)] {
                    if hash == EMPTY_ROOT {
                        continue;
                    }
                    let child_path = path.child(right_turn);
                    let child = self
                        .nodes
                        .get(&child_path)
                        .copied()
                        .ok_or_else(|| LedgerError::corruption(what(), "child missing"))?;
                    if child.hash() != hash {
                        return Err(LedgerError::corruption(
                            what(),
                            "child hash differs from the recorded one",
                        ));
                    }
                    below += self.walk(child_path, child, leaves, reached)?;
                }
                if below < 2 {
                    return Err(LedgerError::corruption(
                        what(),
                        format!("inner node with {below} leaves below (not canonical)"),
                    ));
                }
                Ok(below)
            }
        }
    }
}

impl StateReader for MemoryLedger {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.state.get(key).cloned())
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        use std::ops::Bound;
        let (start, exclusive) = scan_start(prefix, start_after);
        let lower = if exclusive {
            Bound::Excluded(start)
        } else {
            Bound::Included(start)
        };
        Ok(self
            .state
            .range::<[u8], _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }
}

impl NodeStore for MemoryLedger {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        Ok(self.nodes.get(path).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger_with(keys: &[&str]) -> MemoryLedger {
        let mut ledger = MemoryLedger::new();
        let writes: WriteSet = keys
            .iter()
            .map(|key| (key.as_bytes().to_vec(), Some(b"v".to_vec())))
            .collect();
        ledger.apply(&writes).expect("apply");
        ledger
    }

    fn keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<String> {
        entries
            .into_iter()
            .map(|(key, _)| String::from_utf8(key).expect("utf8"))
            .collect()
    }

    #[test]
    fn scan_prefix_bounds() {
        let ledger = ledger_with(&["a", "b/1", "b/2", "b/3", "b0", "c"]);
        assert_eq!(
            keys(ledger.scan_prefix(b"b/", None, 10).expect("scan")),
            ["b/1", "b/2", "b/3"]
        );
        assert_eq!(
            keys(ledger.scan_prefix(b"b/", Some(b"b/1"), 10).expect("scan")),
            ["b/2", "b/3"]
        );
        assert_eq!(
            keys(ledger.scan_prefix(b"b/", Some(b"b/15"), 1).expect("scan")),
            ["b/2"]
        );
        assert_eq!(
            keys(ledger.scan_prefix(b"b/", Some(b"a"), 10).expect("scan")),
            ["b/1", "b/2", "b/3"]
        );
        assert!(ledger
            .scan_prefix(b"b/", Some(b"b/3"), 10)
            .expect("scan")
            .is_empty());
        assert!(ledger.scan_prefix(b"b/", None, 0).expect("scan").is_empty());
        assert_eq!(
            keys(ledger.scan_prefix(b"", None, 2).expect("scan")),
            ["a", "b/1"]
        );
    }

    #[test]
    fn apply_writes_state_and_root() {
        let mut ledger = MemoryLedger::new();
        assert_eq!(ledger.root(), EMPTY_ROOT);
        let root = ledger
            .apply(&WriteSet::from([(b"k".to_vec(), Some(b"v".to_vec()))]))
            .expect("apply");
        assert_eq!(root, tree::root_of([(b"k", b"v")]));
        assert_eq!(ledger.get(b"k").expect("get"), Some(b"v".to_vec()));
        let root = ledger
            .apply(&WriteSet::from([(b"k".to_vec(), None)]))
            .expect("apply");
        assert_eq!(root, EMPTY_ROOT);
        assert!(ledger.is_empty());
        assert_eq!(ledger.node_count(), 0);
        ledger.check_integrity().expect("integrity");
    }

    #[test]
    fn check_integrity_detects_garbage_node() {
        let mut ledger = ledger_with(&["a", "b", "c"]);
        ledger.check_integrity().expect("a fresh ledger is sound");
        let stray = NodePath::of_key_hash(&[0xFF; 32], 40);
        ledger.nodes.insert(
            stray,
            Node::Leaf {
                key_hash: [0xFF; 32],
                value_hash: [1; 32],
            },
        );
        assert!(
            ledger.check_integrity().is_err(),
            "an unreachable node must be reported"
        );
    }
}
