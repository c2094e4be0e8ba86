//! The RFC 6962 (Certificate Transparency) Merkle tree every block root uses: the tree hash of
//! a list, the audit path of one leaf, and the pure check that a leaf is at an index of a tree
//! with a given root.
//!
//! leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), the empty tree is
//! SHA-256 of nothing, and a list of n > 1 leaves splits at k, the largest power of two below
//! n (RFC 6962 §2.1). An audit path lists the sibling subtree hashes from the leaf upwards
//! (§2.1.1); [`verify_inclusion`] is the algorithm of RFC 9162 §2.1.3.2, so an auditor's
//! verifier in another language follows a published text.
//!
//! Must not depend on: anything but SHA-256. Consensus-critical: block roots
//! ([`crate::block`]) are these trees, and offline verifiers (`vchain-bundle`) check proofs
//! against them.

use sha2::{Digest, Sha256};

use crate::tx::Hash;

/// Prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;
/// Most hashes an audit path can have: a tree of at most 2^64 leaves has at most 64 levels.
pub const AUDIT_PATH_MAX: usize = 64;

/// The hash of a leaf holding `data`: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 6962 splits a list.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    n.next_power_of_two() / 2
}

/// RFC 6962 Merkle tree hash of `leaves` (each leaf's data, e.g. a transaction hash).
pub fn merkle_root<L: AsRef<[u8]>>(leaves: &[L]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaf_hash(leaves[0].as_ref()),
        n => {
            let split = split_point(n);
            node_hash(
                &merkle_root(&leaves[..split]),
                &merkle_root(&leaves[split..]),
            )
        }
    }
}

/// The audit path of leaf `index` among `leaves` (RFC 6962 §2.1.1 `PATH(m, D[n])`): the
/// sibling subtree hashes from the leaf up to the root. `None` if `index` is not a leaf.
pub fn audit_path<L: AsRef<[u8]>>(leaves: &[L], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let (mut low, mut high, mut index) = (0, leaves.len(), index);
    // Walk down from the root, collecting the sibling of each subtree that holds the leaf; the
    // path is those siblings from the bottom up, so reverse at the end.
    while high - low > 1 {
        let split = split_point(high - low);
        if index < split {
            path.push(merkle_root(&leaves[low + split..high]));
            high = low + split;
        } else {
            path.push(merkle_root(&leaves[low..low + split]));
            low += split;
            index -= split;
        }
    }
    path.reverse();
    Some(path)
}

/// Why an inclusion proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The index is not a leaf of a tree of that size (this includes the empty tree).
    #[error("leaf index {index} is outside a tree of {tree_size} leaves")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// A path element is not a 32-byte hash.
    #[error("audit path element {position} is {len} bytes, not 32")]
    ElementLength {
        /// Its position in the path (0 = next to the leaf).
        position: usize,
        /// Its length.
        len: usize,
    },
    /// The path is longer or shorter than the tree's shape requires.
    #[error("audit path of {got} hashes does not fit leaf {index} of {tree_size} (a wrong index, size or path)")]
    PathLength {
        /// The index.
        index: u64,
        /// The tree size.
        tree_size: u64,
        /// Hashes in the path.
        got: usize,
    },
    /// The path leads to another root.
    #[error("the audit path leads to root {computed}, not {expected}")]
    RootMismatch {
        /// The root the proof should reach, hex.
        expected: String,
        /// The root it reaches, hex.
        computed: String,
    },
}

/// Checks that a leaf whose data is `leaf` is leaf `index` of a tree of `tree_size` leaves with
/// root `root`, by its audit `path` (sibling hashes from the leaf upwards; RFC 9162
/// §2.1.3.2). Pure and total: every malformed input is an error, never a panic.
pub fn verify_inclusion<P: AsRef<[u8]>>(
    leaf: &[u8],
    index: u64,
    tree_size: u64,
    path: &[P],
    root: &Hash,
) -> Result<(), InclusionError> {
    if index >= tree_size {
        return Err(InclusionError::IndexOutOfRange { index, tree_size });
    }
    let wrong_length = || InclusionError::PathLength {
        index,
        tree_size,
        got: path.len(),
    };
    if path.len() > AUDIT_PATH_MAX {
        return Err(wrong_length());
    }
    let (mut f_n, mut s_n) = (index, tree_size - 1);
    let mut hash = leaf_hash(leaf);
    for (position, element) in path.iter().enumerate() {
        let element = element.as_ref();
        let sibling: Hash = element
            .try_into()
            .map_err(|_| InclusionError::ElementLength {
                position,
                len: element.len(),
            })?;
        if s_n == 0 {
            return Err(wrong_length());
        }
        if f_n & 1 == 1 || f_n == s_n {
            hash = node_hash(&sibling, &hash);
            // A right-most node with no right sibling at this level: climb until it is a right
            // child (or the root of the left part).
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, &sibling);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length());
    }
    if hash != *root {
        return Err(InclusionError::RootMismatch {
            expected: hex::encode(root),
            computed: hex::encode(hash),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 6962's reference leaves (the Certificate Transparency test data).
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    fn unhex(hash: &str) -> Hash {
        hex::decode(hash)
            .expect("hex")
            .try_into()
            .expect("32 bytes")
    }

    /// The audit paths of Certificate Transparency's `merkle_tree_test.cc` (leaf index from 0,
    /// tree size, path) over the reference leaves.
    /// Known answers from RFC 6962's reference test data (the Certificate Transparency logs'
    /// eight-leaf vectors): the root of the first n leaves for n = 0..=8.
    #[test]
    fn merkle_root_matches_the_rfc6962_known_answers() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        for (n, root) in roots.iter().enumerate() {
            assert_eq!(hex::encode(merkle_root(&LEAVES[..n])), *root, "{n} leaves");
        }
    }

    #[test]
    fn audit_paths_match_the_certificate_transparency_known_answers() {
        let cases: [(usize, usize, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, expected) in cases {
            let leaves = &LEAVES[..size];
            let path = audit_path(leaves, index).expect("a leaf");
            let expected: Vec<Hash> = expected.iter().map(|h| unhex(h)).collect();
            assert_eq!(path, expected, "leaf {index} of {size}");
            let root = merkle_root(leaves);
            verify_inclusion(LEAVES[index], index as u64, size as u64, &path, &root)
                .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
        }
        assert_eq!(
            hex::encode(merkle_root(&LEAVES)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    #[test]
    fn every_rejection_is_named() {
        let root = merkle_root(&LEAVES);
        let path = audit_path(&LEAVES, 3).expect("leaf");
        assert_eq!(
            verify_inclusion(LEAVES[3], 8, 8, &path, &root),
            Err(InclusionError::IndexOutOfRange {
                index: 8,
                tree_size: 8
            })
        );
        assert!(matches!(
            verify_inclusion::<Hash>(b"", 0, 0, &[], &root),
            Err(InclusionError::IndexOutOfRange { .. })
        ));
        let mut short = path.iter().map(|h| h.to_vec()).collect::<Vec<_>>();
        short[1].pop();
        assert_eq!(
            verify_inclusion(LEAVES[3], 3, 8, &short, &root),
            Err(InclusionError::ElementLength {
                position: 1,
                len: 31
            })
        );
        assert!(matches!(
            verify_inclusion(LEAVES[3], 3, 8, &path[..2], &root),
            Err(InclusionError::PathLength { got: 2, .. })
        ));
        let mut long = path.clone();
        long.push([0; 32]);
        assert!(matches!(
            verify_inclusion(LEAVES[3], 3, 8, &long, &root),
            Err(InclusionError::PathLength { got: 4, .. })
        ));
        assert!(matches!(
            verify_inclusion(LEAVES[4], 3, 8, &path, &root),
            Err(InclusionError::RootMismatch { .. })
        ));
        let too_long = vec![[0u8; 32]; AUDIT_PATH_MAX + 1];
        assert!(matches!(
            verify_inclusion(b"", 0, u64::MAX, &too_long, &root),
            Err(InclusionError::PathLength { .. })
        ));
    }

    /// Which side the path to leaf `index` of a tree of `size` leaves takes at each level, from
    /// the leaf up (true: the leaf's subtree is the left child), by RFC 6962's recursion: an
    /// independent statement of what the bit arithmetic of [`verify_inclusion`] computes.
    fn shape(index: u64, size: u64) -> Vec<bool> {
        if size <= 1 {
            return Vec::new();
        }
        let split = size.checked_next_power_of_two().map_or(1 << 63, |p| p / 2);
        let (mut below, left) = if index < split {
            (shape(index, split), true)
        } else {
            (shape(index - split, size - split), false)
        };
        below.push(left);
        below
    }

    fn tree() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..70)
    }

    proptest! {
        /// Every leaf of a random tree verifies with its path, and the path has exactly the
        /// tree's depth at that leaf.
        #[test]
        fn every_leaf_of_any_tree_verifies(leaves in tree()) {
            let root = merkle_root(&leaves);
            let size = leaves.len() as u64;
            for (index, leaf) in leaves.iter().enumerate() {
                let path = audit_path(&leaves, index).expect("a leaf");
                prop_assert!(path.len() <= AUDIT_PATH_MAX);
                prop_assert_eq!(verify_inclusion(leaf, index as u64, size, &path, &root), Ok(()));
            }
            prop_assert_eq!(audit_path(&leaves, leaves.len()), None);
        }

        /// Any change to a path element, the index, the size or the leaf fails; so does a
        /// path that is cut or extended.
        #[test]
        fn any_change_fails(
            leaves in tree(),
            pick in any::<prop::sample::Index>(),
            element in any::<prop::sample::Index>(),
            bit in 0..256usize,
            other_index in any::<u64>(),
            other_size in any::<u64>(),
        ) {
            let root = merkle_root(&leaves);
            let size = leaves.len() as u64;
            let index = pick.index(leaves.len());
            let path = audit_path(&leaves, index).expect("a leaf");
            let leaf = &leaves[index];
            if !path.is_empty() {
                let mut changed = path.clone();
                changed[element.index(path.len())][bit / 8] ^= 1 << (bit % 8);
                prop_assert!(verify_inclusion(leaf, index as u64, size, &changed, &root).is_err());
                prop_assert!(verify_inclusion(leaf, index as u64, size, &path[..path.len() - 1], &root).is_err());
            }
            let mut extended = path.clone();
            extended.push(root);
            prop_assert!(verify_inclusion(leaf, index as u64, size, &extended, &root).is_err());
            if other_index != index as u64 {
                prop_assert!(verify_inclusion(leaf, other_index, size, &path, &root).is_err());
            }
            // The size is not bound by the path alone (RFC 9162: the signed tree head binds
            // it; here the certified header's `tx_count`): another size passes exactly when it
            // gives the leaf the same shape of path, and fails otherwise.
            if other_size != size && other_size > index as u64 {
                let same_shape = shape(index as u64, other_size) == shape(index as u64, size);
                let ok = verify_inclusion(leaf, index as u64, other_size, &path, &root).is_ok();
                prop_assert_eq!(ok, same_shape, "size {} for a tree of {}", other_size, size);
            }
            let mut other_leaf = leaf.clone();
            other_leaf.push(0);
            prop_assert!(verify_inclusion(&other_leaf, index as u64, size, &path, &root).is_err());
        }
    }
}
