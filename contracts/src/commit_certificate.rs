//! Commit certificates: the proof, checkable with no node, that a block is final.
//!
//! A validator that commits a block signs the [`statement`] of (chain id, height, view, block
//! hash) with its consensus key (the node key its organisation's CA certified, in
//! `ConsensusConfig`). A certificate holds the signatures of a [`quorum`] of the validators of
//! that height. Any two quorums of the same set share at least `f + 1` validators, so at least
//! one honest validator signed both: with at most `f` faulty validators, no two different blocks
//! of one height can both be certified (Castro & Liskov, "Practical Byzantine Fault Tolerance",
//! OSDI 1999, §4.2 and the quorum intersection argument of §4.5.1).
//!
//! [`verify`] is a pure function of (chain id, validator set, certificate): the CLI, an auditor's
//! offline verifier and a node catching up all call it, and none trusts the peer that sent it.
//!
//! ```
//! use ed25519_dalek::{Signer, SigningKey};
//! use vchain_contracts::commit_certificate::{statement, verify, Validators};
//! use vchain_proto::v1::{CommitCertificate, CommitSignature};
//! let keys: Vec<SigningKey> = (1..=4).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
//! let validators = Validators::new(
//!     keys.iter().enumerate().map(|(i, k)| (format!("node-{i}"), k.verifying_key().to_bytes())),
//! ).expect("distinct validators");
//! let hash = [9u8; 32];
//! let signed = statement("demo", 7, 0, &hash);
//! let certificate = CommitCertificate {
//!     height: 7,
//!     view: 0,
//!     block_hash: hash.to_vec(),
//!     signatures: (0..3)
//!         .map(|i| CommitSignature {
//!             node_id: format!("node-{i}"),
//!             signature: keys[i].sign(&signed).to_bytes().to_vec(),
//!         })
//!         .collect(),
//! };
//! assert!(verify("demo", &validators, &certificate).is_ok());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use vchain_proto::v1::{CommitCertificate, ConsensusConfig};

use crate::signature;

/// Domain of the commit statement: a commit signature can never be mistaken for a transaction,
/// a signed read or a device reading, whose bytes never start with it.
pub const COMMIT_DOMAIN: &[u8] = b"vchain-commit/1\n";
/// Most validators a set may have (the chain's most consensus nodes), and so most signatures a
/// certificate may carry.
pub const VALIDATORS_MAX: usize = crate::CONSENSUS_NODES_MAX;
/// Bytes of a block hash.
pub const BLOCK_HASH_BYTES: usize = 32;
/// Longest chain id a statement takes (longer ones never pass genesis).
pub const CHAIN_ID_BYTES_MAX: usize = 255;

const _: () = assert!(VALIDATORS_MAX >= 1 && VALIDATORS_MAX <= u8::MAX as usize);
const _: () = assert!(CHAIN_ID_BYTES_MAX <= u8::MAX as usize);

/// Why a certificate does not prove its block final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The block hash is not 32 bytes.
    #[error("the block hash is {got} bytes, not {BLOCK_HASH_BYTES}")]
    BlockHashLength {
        /// Its length.
        got: usize,
    },
    /// More signatures than any validator set has.
    #[error("{got} signatures, more than the {VALIDATORS_MAX} validators a set may have")]
    TooManySignatures {
        /// How many it carries.
        got: usize,
    },
    /// A signer that is not a validator of the set.
    #[error("{node_id} is not a validator of this height")]
    UnknownSigner {
        /// The signer named.
        node_id: String,
    },
    /// The signatures are not in strictly ascending node id order (so each signer counts once).
    #[error("signatures are not in ascending node id order, one per validator, at {node_id}")]
    Unordered {
        /// Where the order breaks (a repeat or a step back).
        node_id: String,
    },
    /// A signature that does not verify with the signer's key over the statement.
    #[error("the signature of {node_id} does not verify over height {height}, view {view}")]
    BadSignature {
        /// The signer.
        node_id: String,
        /// The certificate's height.
        height: u64,
        /// The certificate's view.
        view: u64,
    },
    /// Fewer signatures than a quorum of the set.
    #[error("{got} valid signatures of {validators} validators; a quorum is {needed}")]
    NoQuorum {
        /// Valid signatures.
        got: usize,
        /// Signatures a quorum needs.
        needed: usize,
        /// Validators in the set.
        validators: usize,
    },
}

/// Why a validator set cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorsError {
    /// No validator at all.
    #[error("a validator set has at least one validator")]
    Empty,
    /// More than [`VALIDATORS_MAX`].
    #[error("{got} validators, more than the {VALIDATORS_MAX} allowed")]
    TooMany {
        /// How many.
        got: usize,
    },
    /// Two validators with one id.
    #[error("validator {0} appears twice")]
    DuplicateId(String),
    /// Two validators with one key: one signer would count twice.
    #[error("validators {0} and {1} share one key")]
    DuplicateKey(String, String),
    /// A consensus node whose key is not 32 bytes (a `solo` node has none).
    #[error("consensus node {node_id} has a {got}-byte key, not a 32-byte ed25519 consensus key")]
    KeyLength {
        /// The node.
        node_id: String,
        /// Its key's length.
        got: usize,
    },
}

/// How many of a set must sign a certificate: the chain's engine decides (ADR 0015).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumRule {
    /// PBFT: [`quorum`], so any two certificates share an honest signer.
    Byzantine,
    /// Raft: a majority of the voting members, what Raft itself commits with (its nodes sign
    /// after applying; ADR 0015).
    Majority,
}

impl QuorumRule {
    /// The rule of the engine a `ConsensusConfig` names (`pbft`: Byzantine; any other:
    /// majority).
    pub fn of_engine(engine: &str) -> Self {
        if engine == "pbft" {
            Self::Byzantine
        } else {
            Self::Majority
        }
    }

    /// Signatures `n` validators' certificate needs under this rule.
    pub fn needed(self, n: usize) -> usize {
        match self {
            Self::Byzantine => quorum(n),
            Self::Majority => n / 2 + 1,
        }
    }
}

/// The validators of one height: node id to ed25519 consensus key, in id order, and the
/// quorum rule of the chain's engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    keys: BTreeMap<String, [u8; 32]>,
    rule: QuorumRule,
}

impl Validators {
    /// A set from (node id, key) pairs; ids and keys must be distinct.
    pub fn new(
        validators: impl IntoIterator<Item = (String, [u8; 32])>,
    ) -> Result<Self, ValidatorsError> {
        let mut keys = BTreeMap::new();
        let mut owners: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for (node_id, key) in validators {
            if let Some(owner) = owners.insert(key, node_id.clone()) {
                return Err(ValidatorsError::DuplicateKey(owner, node_id));
            }
            if keys.insert(node_id.clone(), key).is_some() {
                return Err(ValidatorsError::DuplicateId(node_id));
            }
        }
        if keys.is_empty() {
            return Err(ValidatorsError::Empty);
        }
        if keys.len() > VALIDATORS_MAX {
            return Err(ValidatorsError::TooMany { got: keys.len() });
        }
        Ok(Self {
            keys,
            rule: QuorumRule::Byzantine,
        })
    }

    /// The same set under `rule` (a set made by [`Validators::new`] is Byzantine).
    pub fn with_rule(mut self, rule: QuorumRule) -> Self {
        self.rule = rule;
        self
    }

    /// The validators of a consensus configuration: each node's `public_key` (the key its CA
    /// certified) is its consensus key, and the quorum rule is its engine's. The configuration
    /// in force for height `h` is the one stored under `p/consensus` after block `h - 1`.
    pub fn from_config(config: &ConsensusConfig) -> Result<Self, ValidatorsError> {
        let pairs = config
            .nodes
            .iter()
            .map(|node| {
                let key: [u8; 32] = node.public_key.as_slice().try_into().map_err(|_| {
                    ValidatorsError::KeyLength {
                        node_id: node.node_id.clone(),
                        got: node.public_key.len(),
                    }
                })?;
                Ok((node.node_id.clone(), key))
            })
            .collect::<Result<Vec<_>, ValidatorsError>>()?;
        Ok(Self::new(pairs)?.with_rule(QuorumRule::of_engine(&config.engine)))
    }

    /// The validators' node ids, ascending.
    pub fn node_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// How many validators.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true: a set has at least one validator.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of `node_id`, if it is a validator.
    pub fn key(&self, node_id: &str) -> Option<&[u8; 32]> {
        self.keys.get(node_id)
    }

    /// How many faulty validators the set tolerates.
    pub fn faults_tolerated(&self) -> usize {
        faults_tolerated(self.len())
    }

    /// Signatures a certificate of this set needs, under its rule.
    pub fn quorum(&self) -> usize {
        self.rule.needed(self.len())
    }

    /// The quorum rule.
    pub fn rule(&self) -> QuorumRule {
        self.rule
    }
}

/// How many faulty validators `n` tolerate: the largest `f` with `3f + 1 <= n`.
pub fn faults_tolerated(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// Signatures a certificate of `n` validators needs: the least `q` such that any two sets of
/// `q` share at least `f + 1` validators (`2q - n >= f + 1`), so that an honest one is in both.
/// For `n = 3f + 1` this is Castro-Liskov's `2f + 1`.
pub fn quorum(n: usize) -> usize {
    let f = faults_tolerated(n);
    (n + f + 2) / 2
}

/// The bytes a validator signs to commit `block_hash` at `height` in `view` on `chain_id`:
/// [`COMMIT_DOMAIN`], the chain id's length (one byte) and UTF-8 bytes, the height and the view
/// (8 bytes each, big-endian) and the 32-byte block hash.
///
/// # Panics
/// If the chain id is longer than [`CHAIN_ID_BYTES_MAX`] (genesis refuses such ids).
pub fn statement(chain_id: &str, height: u64, view: u64, block_hash: &[u8; 32]) -> Vec<u8> {
    assert!(
        chain_id.len() <= CHAIN_ID_BYTES_MAX,
        "chain ids are at most {CHAIN_ID_BYTES_MAX} bytes"
    );
    let mut bytes = Vec::with_capacity(COMMIT_DOMAIN.len() + 1 + chain_id.len() + 8 + 8 + 32);
    bytes.extend_from_slice(COMMIT_DOMAIN);
    bytes.push(chain_id.len() as u8);
    bytes.extend_from_slice(chain_id.as_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&view.to_be_bytes());
    bytes.extend_from_slice(block_hash);
    bytes
}

/// Checks that `certificate` proves its block final on `chain_id` under `validators` (the set of
/// the certificate's height): its signatures are in ascending node id order, one per validator,
/// each verifies under the chain's signature rule ([`crate::signature`]) over the
/// [`statement`], and there are at least the set's quorum of them ([`quorum`] under PBFT, a
/// majority under Raft: [`QuorumRule`]). Any error names the first signature at fault.
pub fn verify(
    chain_id: &str,
    validators: &Validators,
    certificate: &CommitCertificate,
) -> Result<(), CertificateError> {
    let block_hash: [u8; 32] = certificate.block_hash.as_slice().try_into().map_err(|_| {
        CertificateError::BlockHashLength {
            got: certificate.block_hash.len(),
        }
    })?;
    if certificate.signatures.len() > VALIDATORS_MAX {
        return Err(CertificateError::TooManySignatures {
            got: certificate.signatures.len(),
        });
    }
    let signed = statement(chain_id, certificate.height, certificate.view, &block_hash);
    let mut previous: Option<&str> = None;
    let mut signers = BTreeSet::new();
    for commit in &certificate.signatures {
        if previous.is_some_and(|p| p >= commit.node_id.as_str()) {
            return Err(CertificateError::Unordered {
                node_id: commit.node_id.clone(),
            });
        }
        previous = Some(&commit.node_id);
        let key =
            validators
                .key(&commit.node_id)
                .ok_or_else(|| CertificateError::UnknownSigner {
                    node_id: commit.node_id.clone(),
                })?;
        if !signature::verify(key, &signed, &commit.signature) {
            return Err(CertificateError::BadSignature {
                node_id: commit.node_id.clone(),
                height: certificate.height,
                view: certificate.view,
            });
        }
        signers.insert(commit.node_id.as_str());
    }
    debug_assert_eq!(signers.len(), certificate.signatures.len());
    if signers.len() < validators.quorum() {
        return Err(CertificateError::NoQuorum {
            got: signers.len(),
            needed: validators.quorum(),
            validators: validators.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_of_any_size_intersect_in_an_honest_validator() {
        for n in 1..=VALIDATORS_MAX {
            let f = faults_tolerated(n);
            let q = quorum(n);
            assert!(3 * f < n, "n = {n}: f = {f} tolerated");
            assert!(q <= n - f, "n = {n}: a quorum forms without the f faulty");
            assert!(2 * q > n + f, "n = {n}: two quorums share f + 1");
            assert!(
                q == 1 || 2 * (q - 1) <= n + f,
                "n = {n}: {q} is the least such"
            );
        }
        assert_eq!((quorum(4), quorum(7), quorum(1)), (3, 5, 1));
    }

    #[test]
    fn the_quorum_rule_is_the_engines() {
        assert_eq!(QuorumRule::of_engine("pbft"), QuorumRule::Byzantine);
        assert_eq!(QuorumRule::of_engine("raft"), QuorumRule::Majority);
        // 5 validators: PBFT needs 4 (f = 1), a Raft majority 3; they agree at 3 and 4.
        assert_eq!(QuorumRule::Byzantine.needed(5), 4);
        assert_eq!(QuorumRule::Majority.needed(5), 3);
        for n in [3, 4] {
            assert_eq!(
                QuorumRule::Byzantine.needed(n),
                QuorumRule::Majority.needed(n)
            );
        }
        let config = |engine: &str| ConsensusConfig {
            engine: engine.into(),
            nodes: (0..5u8)
                .map(|i| vchain_proto::v1::ConsensusNode {
                    node_id: format!("n{i}"),
                    public_key: vec![i + 1; 32],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let raft = Validators::from_config(&config("raft")).expect("set");
        let pbft = Validators::from_config(&config("pbft")).expect("set");
        assert_eq!((raft.quorum(), pbft.quorum()), (3, 4));
    }

    #[test]
    fn the_statement_binds_every_field_and_the_domain() {
        let hash = [1u8; 32];
        let base = statement("c", 1, 0, &hash);
        assert!(base.starts_with(COMMIT_DOMAIN));
        assert_ne!(base, statement("d", 1, 0, &hash));
        assert_ne!(base, statement("c", 2, 0, &hash));
        assert_ne!(base, statement("c", 1, 1, &hash));
        assert_ne!(base, statement("c", 1, 0, &[2u8; 32]));
        // The length prefix keeps (chain id, height) pairs apart.
        assert_ne!(statement("ab", 1, 0, &hash), statement("a", 1, 0, &hash));
    }

    #[test]
    fn a_validator_set_refuses_shared_ids_and_keys() {
        let k = |b: u8| [b; 32];
        assert_eq!(
            Validators::new([("a".to_owned(), k(1)), ("a".to_owned(), k(2))]),
            Err(ValidatorsError::DuplicateId("a".into()))
        );
        assert_eq!(
            Validators::new([("a".to_owned(), k(1)), ("b".to_owned(), k(1))]),
            Err(ValidatorsError::DuplicateKey("a".into(), "b".into()))
        );
        assert_eq!(Validators::new([]), Err(ValidatorsError::Empty));
    }
}
