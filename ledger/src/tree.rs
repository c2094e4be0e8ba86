//! The state tree: a binary sparse Merkle tree over SHA-256 of the state keys.
//!
//! - `key_hash = SHA-256(key)`; the path to a key follows the bits of its key hash, most
//!   significant bit of byte 0 first (0 = left). `value_hash = SHA-256(value)`.
//! - leaf = `SHA-256(0x00 || key_hash || value_hash)`, inner = `SHA-256(0x01 || left || right)`,
//!   empty subtree = 32 zero bytes ([`EMPTY_ROOT`]).
//! - Canonical shape: a subtree holding exactly one leaf *is* that leaf, placed at the shallowest
//!   position where it is alone; an inner node always has at least two leaves below it (one of its
//!   children may be empty when both leaves share the next bit). The root is therefore a pure
//!   function of the set of (key, value) pairs, whatever the order of the writes that built it.
//!
//! Nodes are stored by [`NodePath`] (depth and the path bits); the root is at depth 0 and an
//! absent node is an empty subtree. [`update`] applies a block's writes in one descent that reads
//! only the nodes on the touched paths, so a block costs what it changes, not what the state holds.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use vchain_proto::v1::StateProof;

use crate::error::Hex;
use crate::{Hash, LedgerError, ProofError, WriteSet, EMPTY_ROOT};

/// Levels of the tree: one per bit of a key hash. A leaf sits at depth 1..=256 (or 0 when it is
/// alone in the tree), an inner node at depth 0..=255, and a path has at most this many siblings.
pub const DEPTH_MAX: u16 = 256;

/// Length of an encoded [`NodePath`]: depth (u16, big-endian) then the 32 path bytes.
pub const NODE_PATH_LEN: usize = 2 + 32;

/// Length of an encoded [`Node`]: a tag byte then two hashes.
pub const NODE_LEN: usize = 1 + 32 + 32;

const TAG_LEAF: u8 = 0x00;
/// The first byte of an encoded inner [`Node`].
pub(crate) const TAG_INNER: u8 = 0x01;

/// SHA-256 of `bytes`.
fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Hash of a leaf: `SHA-256(0x00 || key_hash || value_hash)`.
fn leaf_hash(key_hash: &Hash, value_hash: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([TAG_LEAF]);
    hasher.update(key_hash);
    hasher.update(value_hash);
    hasher.finalize().into()
}

/// Hash of an inner node: `SHA-256(0x01 || left || right)`.
fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([TAG_INNER]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Bit `index` of `hash`, most significant bit of byte 0 first.
fn bit(hash: &Hash, index: u16) -> bool {
    assert!(index < DEPTH_MAX, "bit index {index} beyond the key hash");
    let index = usize::from(index);
    (hash[index / 8] >> (7 - index % 8)) & 1 == 1
}

/// Number of leading bits `a` and `b` share (256 when equal).
fn shared_bits(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    usize::from(DEPTH_MAX)
}

/// The position of a node: its depth and the path bits leading to it (bits at and after `depth`
/// are zero, so every position has exactly one encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodePath {
    depth: u16,
    prefix: Hash,
}

impl NodePath {
    /// The root position.
    pub const ROOT: NodePath = NodePath {
        depth: 0,
        prefix: [0; 32],
    };

    /// The position at `depth` on the path of `key_hash`.
    ///
    /// # Panics
    /// If `depth` exceeds [`DEPTH_MAX`].
    pub fn of_key_hash(key_hash: &Hash, depth: u16) -> Self {
        assert!(depth <= DEPTH_MAX, "node depth {depth} beyond {DEPTH_MAX}");
        let mut prefix = *key_hash;
        let depth_bits = usize::from(depth);
        let full_bytes = depth_bits / 8;
        let rest_bits = depth_bits % 8;
        if full_bytes < prefix.len() {
            // Keep the first `rest_bits` bits of the partial byte, clear everything after it.
            prefix[full_bytes] &= !(0xFFu8 >> rest_bits);
            prefix[full_bytes + 1..].fill(0);
        }
        let path = NodePath { depth, prefix };
        assert!(
            path.is_canonical(),
            "of_key_hash produced a path with bits past its depth"
        );
        path
    }

    /// The position at `depth` (at most this one's) on the path to this one.
    ///
    /// # Panics
    /// If `depth` is deeper than this position.
    pub fn ancestor(&self, depth: u16) -> Self {
        assert!(
            depth <= self.depth,
            "ancestor at depth {depth} below {}",
            self.depth
        );
        Self::of_key_hash(&self.prefix, depth)
    }

    /// Depth of the position (0 = root).
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The path bits (bits at and after `depth` are zero).
    pub fn prefix(&self) -> &Hash {
        &self.prefix
    }

    /// The child position one level down: right when `right`, else left.
    ///
    /// # Panics
    /// If this position is already at [`DEPTH_MAX`].
    pub fn child(&self, right: bool) -> Self {
        assert!(self.depth < DEPTH_MAX, "no child below depth {DEPTH_MAX}");
        let mut prefix = self.prefix;
        if right {
            let index = usize::from(self.depth);
            prefix[index / 8] |= 0x80 >> (index % 8);
        }
        NodePath {
            depth: self.depth + 1,
            prefix,
        }
    }

    /// Storage key: depth (big-endian) then the path bytes.
    pub fn encode(&self) -> [u8; NODE_PATH_LEN] {
        let mut bytes = [0u8; NODE_PATH_LEN];
        bytes[..2].copy_from_slice(&self.depth.to_be_bytes());
        bytes[2..].copy_from_slice(&self.prefix);
        bytes
    }

    /// Parses a storage key, rejecting a wrong length, a depth beyond [`DEPTH_MAX`] or bits set
    /// past the depth.
    pub fn decode(bytes: &[u8]) -> Result<Self, LedgerError> {
        let what = || format!("tree node path {}", Hex(bytes));
        if bytes.len() != NODE_PATH_LEN {
            return Err(LedgerError::corruption(
                what(),
                format!("{} bytes, want {NODE_PATH_LEN}", bytes.len()),
            ));
        }
        let depth = u16::from_be_bytes([bytes[0], bytes[1]]);
        if depth > DEPTH_MAX {
            return Err(LedgerError::corruption(
                what(),
                format!("depth {depth} beyond {DEPTH_MAX}"),
            ));
        }
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&bytes[2..]);
        let path = NodePath { depth, prefix };
        if !path.is_canonical() {
            return Err(LedgerError::corruption(what(), "bits set past the depth"));
        }
        Ok(path)
    }

    /// Whether every bit at and after `depth` is zero.
    fn is_canonical(&self) -> bool {
        if self.depth > DEPTH_MAX {
            return false;
        }
        let depth = usize::from(self.depth);
        let (full_bytes, rest_bits) = (depth / 8, depth % 8);
        if full_bytes == self.prefix.len() {
            return true;
        }
        // Byte by byte (this is on every path decode): the partial byte's low bits, then whole
        // bytes.
        self.prefix[full_bytes] & (0xFFu8 >> rest_bits) == 0
            && self.prefix[full_bytes + 1..].iter().all(|byte| *byte == 0)
    }

    /// Whether `key_hash` lies below this position.
    fn contains(&self, key_hash: &Hash) -> bool {
        shared_bits(&self.prefix, key_hash) >= usize::from(self.depth)
    }
}

/// A stored tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// One (key, value) pair, alone in the subtree at its position.
    Leaf {
        /// SHA-256 of the key.
        key_hash: Hash,
        /// SHA-256 of the value.
        value_hash: Hash,
    },
    /// A node with at least two leaves below it.
    Inner {
        /// Hash of the left (bit 0) subtree, [`EMPTY_ROOT`] when empty.
        left: Hash,
        /// Hash of the right (bit 1) subtree, [`EMPTY_ROOT`] when empty.
        right: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf {
                key_hash,
                value_hash,
            } => leaf_hash(key_hash, value_hash),
            Node::Inner { left, right } => inner_hash(left, right),
        }
    }

    /// Storage value: `0x00 || key_hash || value_hash` or `0x01 || left || right`.
    pub fn encode(&self) -> [u8; NODE_LEN] {
        let (tag, a, b) = match self {
            Node::Leaf {
                key_hash,
                value_hash,
            } => (TAG_LEAF, key_hash, value_hash),
            Node::Inner { left, right } => (TAG_INNER, left, right),
        };
        let mut bytes = [0u8; NODE_LEN];
        bytes[0] = tag;
        bytes[1..33].copy_from_slice(a);
        bytes[33..].copy_from_slice(b);
        bytes
    }

    /// Parses a storage value.
    pub fn decode(bytes: &[u8]) -> Result<Self, LedgerError> {
        let what = || format!("tree node {}", Hex(bytes));
        if bytes.len() != NODE_LEN {
            return Err(LedgerError::corruption(
                what(),
                format!("{} bytes, want {NODE_LEN}", bytes.len()),
            ));
        }
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        a.copy_from_slice(&bytes[1..33]);
        b.copy_from_slice(&bytes[33..]);
        match bytes[0] {
            TAG_LEAF => Ok(Node::Leaf {
                key_hash: a,
                value_hash: b,
            }),
            TAG_INNER => Ok(Node::Inner { left: a, right: b }),
            tag => Err(LedgerError::corruption(
                what(),
                format!("unknown tag {tag:#04x}"),
            )),
        }
    }
}

/// Hash of a possibly empty subtree.
fn subtree_hash(node: &Option<Node>) -> Hash {
    node.as_ref().map_or(EMPTY_ROOT, Node::hash)
}

/// Read access to stored tree nodes.
pub trait NodeStore {
    /// The node at `path`; `None` when the subtree there is empty (or the position is below a
    /// leaf).
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError>;

    /// The node at `path` that its parent records as `hash`, checked as `check_child` does:
    /// absent when `hash` is empty, otherwise it must exist, hash to `hash` and (a leaf) lie on
    /// its own path. A store that knows a stored node already matched its parent's record (it
    /// checked it before, or built it from an update) may skip re-hashing it.
    fn child(&self, path: NodePath, hash: &Hash) -> Result<Option<Node>, LedgerError> {
        let node = if *hash == EMPTY_ROOT {
            None
        } else {
            self.node(&path)?
        };
        check_child(path, hash, node, false)
    }
}

impl<T: NodeStore + ?Sized> NodeStore for &T {
    fn node(&self, path: &NodePath) -> Result<Option<Node>, LedgerError> {
        (**self).node(path)
    }

    fn child(&self, path: NodePath, hash: &Hash) -> Result<Option<Node>, LedgerError> {
        (**self).child(path, hash)
    }
}

/// The effect of a block's writes on the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The root the update was computed against; a commit refuses the update when the committed
    /// root has moved since.
    pub prev_root: Hash,
    /// The root after the writes.
    pub root: Hash,
    /// Node changes: the new node at a position, or `None` to delete it. Each position at
    /// most once, in the order the update placed them (children before their parent); a store
    /// applies them in whatever order its layout wants.
    pub node_writes: NodeWrites,
}

/// Node changes, each position at most once (see [`TreeUpdate::node_writes`]).
pub type NodeWrites = Vec<(NodePath, Option<Node>)>;

/// One write, by key hash: `Some(value_hash)` puts, `None` deletes.
#[derive(Clone, Copy, Debug)]
struct Change {
    key_hash: Hash,
    value_hash: Option<Hash>,
}

/// Computes the tree update for `writes` against the tree in `store`, reading only the nodes on
/// the paths of the written keys. Deleting an absent key and rewriting a value unchanged are
/// no-ops. The store is not modified: the caller applies [`TreeUpdate::node_writes`].
pub fn update(store: &dyn NodeStore, writes: &WriteSet) -> Result<TreeUpdate, LedgerError> {
    let old_root = store.node(&NodePath::ROOT)?;
    let prev_root = subtree_hash(&old_root);
    let mut changes: Vec<Change> = writes
        .iter()
        .map(|(key, value)| Change {
            key_hash: sha256(key),
            value_hash: value.as_deref().map(sha256),
        })
        .collect();
    // Key-hash order is tree order: every subtree's changes are then one contiguous run.
    changes.sort_unstable_by_key(|change| change.key_hash);
    for pair in changes.windows(2) {
        // Distinct keys with one SHA-256 would break the tree's meaning; it cannot happen.
        assert!(
            pair[0].key_hash < pair[1].key_hash,
            "two written keys share the key hash {}",
            Hex(&pair[0].key_hash)
        );
    }

    let mut descent = Descent {
        store,
        node_writes: Vec::new(),
    };
    let new_root = if changes.is_empty() {
        old_root
    } else {
        descent.descend(NodePath::ROOT, old_root, &changes)?
    };
    descent.place(NodePath::ROOT, old_root, new_root);
    let root = subtree_hash(&new_root);
    let node_writes = descent.node_writes;
    if changes.is_empty() {
        assert!(node_writes.is_empty(), "an empty write set changed nodes");
        assert_eq!(root, prev_root, "an empty write set changed the root");
    }
    // Left in descent order: a block places tens of thousands of nodes, and the store groups
    // them by its own layout anyway (sorting them by position here as well was about a tenth
    // of a block's commit work). The descent visits each position once; the store's grouping
    // asserts it.
    Ok(TreeUpdate {
        prev_root,
        root,
        node_writes,
    })
}

/// A child of an inner node during the descent.
enum Side {
    /// No change below it: only its hash is known, nothing was read.
    Untouched { path: NodePath, hash: Hash },
    /// Read (and maybe changed): its node before and its canonical top after.
    Known {
        path: NodePath,
        old: Option<Node>,
        new: Option<Node>,
    },
}

impl Side {
    fn new_hash(&self) -> Hash {
        match self {
            Side::Untouched { hash, .. } => *hash,
            Side::Known { new, .. } => subtree_hash(new),
        }
    }

    /// Whether the side is empty after the update.
    fn is_empty(&self) -> bool {
        match self {
            Side::Untouched { hash, .. } => *hash == EMPTY_ROOT,
            Side::Known { new, .. } => new.is_none(),
        }
    }

    /// The single leaf this side holds after the update, if it holds exactly one (an untouched,
    /// non-empty side is never asked: it is resolved first).
    fn single_leaf(&self) -> Option<Node> {
        match self {
            Side::Known {
                new: Some(leaf @ Node::Leaf { .. }),
                ..
            } => Some(*leaf),
            _ => None,
        }
    }
}

/// One batched descent. Contract of `descend(path, ..)` and `build(path, ..)`: they return the
/// canonical top of the subtree at `path` after the update (`None` empty, a `Leaf` when exactly
/// one leaf remains, an `Inner` when two or more do) and record the node writes for every
/// position strictly below `path`. The position `path` itself is placed by the caller, which alone
/// knows whether a single leaf stays there or moves up.
struct Descent<'a> {
    store: &'a dyn NodeStore,
    /// Node changes in the order they were placed.
    node_writes: NodeWrites,
}

impl Descent<'_> {
    /// Records the final node at `path` when it differs from the stored one.
    fn place(&mut self, path: NodePath, old: Option<Node>, new: Option<Node>) {
        if old == new {
            return;
        }
        if let Some(Node::Leaf { key_hash, .. }) = &new {
            assert!(
                path.contains(key_hash),
                "placing leaf {} off its path at depth {}",
                Hex(key_hash),
                path.depth
            );
        }
        self.node_writes.push((path, new));
    }

    /// Reads the child at `path` whose parent records `hash`, checking that it matches.
    fn read(&self, path: NodePath, hash: &Hash) -> Result<Option<Node>, LedgerError> {
        self.store.child(path, hash)
    }

    fn descend(
        &mut self,
        path: NodePath,
        old: Option<Node>,
        changes: &[Change],
    ) -> Result<Option<Node>, LedgerError> {
        assert!(!changes.is_empty(), "descending without changes");
        // The changes are in key-hash order (asserted by `update`), and the keys under one path
        // are one contiguous run of that order: the first and the last on the path put every
        // change between them on it too. (Checking each one at every level was a pass over
        // the block's changes per level.)
        assert!(
            changes
                .first()
                .is_some_and(|change| path.contains(&change.key_hash))
                && changes
                    .last()
                    .is_some_and(|change| path.contains(&change.key_hash)),
            "change off the path"
        );
        match old {
            // Nothing is stored below an empty subtree or a leaf: rebuild from the leaves.
            None => {
                let leaves: Vec<(Hash, Hash)> = changes
                    .iter()
                    .filter_map(|change| {
                        change
                            .value_hash
                            .map(|value_hash| (change.key_hash, value_hash))
                    })
                    .collect();
                Ok(self.build(path, &leaves))
            }
            Some(Node::Leaf {
                key_hash,
                value_hash,
            }) => {
                let leaves = merge_leaf(key_hash, value_hash, changes);
                Ok(self.build(path, &leaves))
            }
            Some(Node::Inner { left, right }) => {
                if path.depth >= DEPTH_MAX {
                    return Err(LedgerError::corruption(
                        format!("tree node at depth {}", path.depth),
                        "an inner node at the last level has no room for children",
                    ));
                }
                let split = changes.partition_point(|change| !bit(&change.key_hash, path.depth));
                let (left_changes, right_changes) = changes.split_at(split);
                let left_side = self.side(path.child(false), left, left_changes)?;
                let right_side = self.side(path.child(true), right, right_changes)?;
                self.join(left_side, right_side)
            }
        }
    }

    fn side(
        &mut self,
        path: NodePath,
        hash: Hash,
        changes: &[Change],
    ) -> Result<Side, LedgerError> {
        if changes.is_empty() {
            return Ok(Side::Untouched { path, hash });
        }
        let old = self.read(path, &hash)?;
        let new = self.descend(path, old, changes)?;
        Ok(Side::Known { path, old, new })
    }

    /// Combines the two children of an inner node after their updates.
    fn join(&mut self, left: Side, right: Side) -> Result<Option<Node>, LedgerError> {
        // Whether the node keeps two leaves depends on an untouched side's leaf count only when
        // the other side is now empty; only then is the untouched side read.
        let left = if right.is_empty() {
            self.resolve(left)?
        } else {
            left
        };
        let right = if left.is_empty() {
            self.resolve(right)?
        } else {
            right
        };

        let single = match (left.is_empty(), right.is_empty()) {
            (true, true) => Some(None),
            (true, false) => right.single_leaf().map(Some),
            (false, true) => left.single_leaf().map(Some),
            (false, false) => None,
        };
        match single {
            // At most one leaf left: it moves up to (or above) this node, so nothing stays below.
            Some(top) => {
                for side in [left, right] {
                    if let Side::Known { path, old, .. } = side {
                        self.place(path, old, None);
                    }
                }
                Ok(top)
            }
            None => {
                let node = Node::Inner {
                    left: left.new_hash(),
                    right: right.new_hash(),
                };
                for side in [left, right] {
                    if let Side::Known { path, old, new } = side {
                        self.place(path, old, new);
                    }
                }
                Ok(Some(node))
            }
        }
    }

    /// Reads an untouched side so its leaf count is known.
    fn resolve(&self, side: Side) -> Result<Side, LedgerError> {
        match side {
            Side::Untouched { path, hash } => {
                let node = self.read(path, &hash)?;
                Ok(Side::Known {
                    path,
                    old: node,
                    new: node,
                })
            }
            known @ Side::Known { .. } => Ok(known),
        }
    }

    /// Builds a fresh subtree at `path` (nothing stored below it) from leaves sorted by key hash.
    fn build(&mut self, path: NodePath, leaves: &[(Hash, Hash)]) -> Option<Node> {
        match leaves {
            [] => None,
            [(key_hash, value_hash)] => Some(Node::Leaf {
                key_hash: *key_hash,
                value_hash: *value_hash,
            }),
            _ => {
                // Two distinct key hashes differ before bit 256, so a split always exists.
                assert!(path.depth < DEPTH_MAX, "two leaves with one key hash");
                let split = leaves.partition_point(|(key_hash, _)| !bit(key_hash, path.depth));
                let (left_leaves, right_leaves) = leaves.split_at(split);
                let (left_path, right_path) = (path.child(false), path.child(true));
                let left = self.build(left_path, left_leaves);
                let right = self.build(right_path, right_leaves);
                self.place(left_path, None, left);
                self.place(right_path, None, right);
                Some(Node::Inner {
                    left: subtree_hash(&left),
                    right: subtree_hash(&right),
                })
            }
        }
    }
}

/// The leaves of a subtree that held one leaf, after `changes` (sorted by key hash).
fn merge_leaf(key_hash: Hash, value_hash: Hash, changes: &[Change]) -> Vec<(Hash, Hash)> {
    let mut leaves = Vec::with_capacity(changes.len() + 1);
    let mut existing = Some((key_hash, value_hash));
    for change in changes {
        if let Some((existing_key, _)) = existing {
            if existing_key == change.key_hash {
                existing = None; // overwritten or deleted by the change
            } else if existing_key < change.key_hash {
                leaves.extend(existing.take());
            }
        }
        if let Some(value_hash) = change.value_hash {
            leaves.push((change.key_hash, value_hash));
        }
    }
    leaves.extend(existing);
    assert!(
        leaves.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "merged leaves out of order"
    );
    leaves
}

/// Checks `node`, read at `path`, against `hash`, its parent's record of it: absent when `hash`
/// is empty, otherwise it must exist, hash to `hash` (unless `hash_matched`: the caller knows
/// it does), and (for a leaf) lie on its own key's path. `node` is ignored when `hash` is empty.
pub(crate) fn check_child(
    path: NodePath,
    hash: &Hash,
    node: Option<Node>,
    hash_matched: bool,
) -> Result<Option<Node>, LedgerError> {
    if *hash == EMPTY_ROOT {
        return Ok(None);
    }
    let what = || {
        format!(
            "tree node at depth {} path {}",
            path.depth,
            Hex(&path.prefix)
        )
    };
    let node = node.ok_or_else(|| {
        LedgerError::corruption(
            what(),
            format!("missing; its parent records hash {}", Hex(hash)),
        )
    })?;
    if !hash_matched {
        let actual = node.hash();
        if actual != *hash {
            return Err(LedgerError::corruption(
                what(),
                format!(
                    "hashes to {}, its parent records {}",
                    Hex(&actual),
                    Hex(hash)
                ),
            ));
        }
    }
    // Re-hashing here would redo, on every read of every block, the very hash `hash_matched`
    // spares (release builds keep debug assertions): the ledger's own tests check the stores'
    // marks on every read instead.
    if cfg!(test) {
        assert!(
            node.hash() == *hash,
            "a node said to match its parent's record does not"
        );
    }
    if let Node::Leaf { key_hash, .. } = &node {
        if !path.contains(key_hash) {
            return Err(LedgerError::corruption(
                what(),
                format!("holds leaf {} which is off this path", Hex(key_hash)),
            ));
        }
    }
    Ok(Some(node))
}

/// A proof for `key` against the tree in `store`: the siblings from the root down to where the
/// key's path ends (its own leaf, an empty subtree, or another key's leaf, named in the proof).
pub fn prove(store: &dyn NodeStore, key: &[u8]) -> Result<StateProof, LedgerError> {
    let key_hash = sha256(key);
    let mut siblings = Vec::new();
    let mut path = NodePath::ROOT;
    let mut node = store.node(&path)?;
    loop {
        match node {
            None => {
                return Ok(StateProof {
                    siblings,
                    other_key_hash: Vec::new(),
                    other_value_hash: Vec::new(),
                })
            }
            Some(Node::Leaf {
                key_hash: leaf_key,
                value_hash,
            }) => {
                let (other_key_hash, other_value_hash) = if leaf_key == key_hash {
                    (Vec::new(), Vec::new())
                } else {
                    (leaf_key.to_vec(), value_hash.to_vec())
                };
                return Ok(StateProof {
                    siblings,
                    other_key_hash,
                    other_value_hash,
                });
            }
            Some(Node::Inner { left, right }) => {
                if path.depth >= DEPTH_MAX {
                    return Err(LedgerError::corruption(
                        format!("tree node at depth {}", path.depth),
                        "an inner node at the last level has no room for children",
                    ));
                }
                let right_turn = bit(&key_hash, path.depth);
                let (next, sibling) = if right_turn {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(sibling.to_vec());
                path = path.child(right_turn);
                node = store.child(path, &next)?;
            }
        }
    }
}

/// Verifies `proof` that `key` holds `value` (`Some`: inclusion) or nothing (`None`: absence)
/// in the tree with root `root`. Pure: auditors run it offline against a root from a block
/// header. Every malformed proof is an error, never a panic.
pub fn verify_proof(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &StateProof,
) -> Result<(), ProofError> {
    let depth_max = usize::from(DEPTH_MAX);
    if proof.siblings.len() > depth_max {
        return Err(ProofError::TooManySiblings {
            count: proof.siblings.len(),
            max: depth_max,
        });
    }
    let mut siblings = Vec::with_capacity(proof.siblings.len());
    for (index, sibling) in proof.siblings.iter().enumerate() {
        let sibling: Hash =
            sibling
                .as_slice()
                .try_into()
                .map_err(|_| ProofError::SiblingLength {
                    index,
                    len: sibling.len(),
                })?;
        siblings.push(sibling);
    }
    let key_hash = sha256(key);
    let other = (
        proof.other_key_hash.as_slice(),
        proof.other_value_hash.as_slice(),
    );

    let mut hash = match value {
        Some(value) => {
            if !other.0.is_empty() || !other.1.is_empty() {
                return Err(ProofError::OtherLeafInInclusion);
            }
            leaf_hash(&key_hash, &sha256(value))
        }
        None => match other {
            ([], []) => EMPTY_ROOT,
            (other_key, other_value) => {
                let (Ok(other_key), Ok(other_value)) =
                    (<Hash>::try_from(other_key), <Hash>::try_from(other_value))
                else {
                    return Err(ProofError::OtherLeafLength {
                        key_hash_len: other_key.len(),
                        value_hash_len: other_value.len(),
                    });
                };
                if other_key == key_hash {
                    return Err(ProofError::OtherLeafIsKey);
                }
                // The other leaf must sit where the key's path ends, or it says nothing about the key.
                let shared = shared_bits(&other_key, &key_hash);
                if shared < siblings.len() {
                    return Err(ProofError::OtherLeafOffPath {
                        shared_bits: shared,
                        needed: siblings.len(),
                    });
                }
                leaf_hash(&other_key, &other_value)
            }
        },
    };

    for (depth, sibling) in siblings.iter().enumerate().rev() {
        let depth = u16::try_from(depth).map_err(|_| ProofError::TooManySiblings {
            count: proof.siblings.len(),
            max: depth_max,
        })?;
        hash = if bit(&key_hash, depth) {
            inner_hash(sibling, &hash)
        } else {
            inner_hash(&hash, sibling)
        };
    }
    if hash != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed: hash,
        });
    }
    Ok(())
}

/// The root of the tree holding exactly `entries`, built from scratch (a later duplicate key
/// replaces an earlier one). The reference for the incremental [`update`], and the way to
/// recompute a root from a full state dump.
pub fn root_of<I, K, V>(entries: I) -> Hash
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let leaves: BTreeMap<Hash, Hash> = entries
        .into_iter()
        .map(|(key, value)| (sha256(key.as_ref()), sha256(value.as_ref())))
        .collect();
    let leaves: Vec<(Hash, Hash)> = leaves.into_iter().collect();
    reference_hash(&leaves, 0)
}

/// Hash of the canonical subtree at `depth` holding `leaves` (sorted, sharing `depth` bits).
fn reference_hash(leaves: &[(Hash, Hash)], depth: u16) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [(key_hash, value_hash)] => leaf_hash(key_hash, value_hash),
        _ => {
            let split = leaves.partition_point(|(key_hash, _)| !bit(key_hash, depth));
            let (left, right) = leaves.split_at(split);
            inner_hash(
                &reference_hash(left, depth + 1),
                &reference_hash(right, depth + 1),
            )
        }
    }
}

/// SHA-256, for the other modules of the crate (state/tree cross-checks).
pub(crate) fn key_hash(bytes: &[u8]) -> Hash {
    sha256(bytes)
}

#[cfg(test)]
mod tests;
