//! Checking a block's commit certificate for `vchain block get`: who signed, and whether they
//! make a quorum of the validators of the block's height
//! ([`vchain_contracts::commit_certificate::verify`], the rule every verifier shares).
//!
//! The validators of height `h` are the consensus configuration (`p/consensus`) in the state
//! after block `h - 1`. A node proves state only at its head `H` (`GetStateProof`), so the CLI
//! proves the configuration there and walks back: it takes blocks `h..=H`, checks that each one's
//! body matches its header and that each hashes into the next one's `prev_hash`, that block
//! `H`'s state root is the proof's root, and undoes the membership changes of those blocks
//! (`CONSENSUS_NODE_ADDED` / `CONSENSUS_NODE_REMOVED` events, which carry the node's key), newest
//! first. The one thing taken on the node's word is block `H`'s header; an offline verifier that
//! starts from genesis (issue 14) needs not even that.
//!
//! Must not depend on: the network. The callers fetch (through [`NodeReads`]); this decides, so
//! it is tested with blocks and certificates made in the test.

use std::fmt::Write as _;

use prost::Message;
use serde_json::{json, Value};
use vchain_contracts::block::{block_hash, check_body};
use vchain_contracts::commit_certificate::{verify, CertificateError, Validators, ValidatorsError};
use vchain_contracts::keys;
use vchain_proto::v1::{
    Block, CommitCertificate, ConsensusConfig, ConsensusNode, Event, EventKind,
    GetStateProofResponse, StateProof,
};

/// Most blocks walked from the block to the node's head to learn the validators of its height.
/// Each is a signed read of a whole block; an older block's certificate is shown but not
/// checked (issue 14's offline verifier checks any height from genesis).
pub(crate) const VALIDATOR_WALK_BLOCKS_MAX: u64 = 1_000;

/// Why a certificate does not prove its block final, or the validators of its height could not
/// be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CheckError {
    /// The node served a block hash its header does not hash to.
    #[error("the node serves block hash {served} for a header that hashes to {computed}")]
    ServedHash {
        /// What the node said.
        served: String,
        /// What the header hashes to.
        computed: String,
    },
    /// The certificate names another height or block.
    #[error("the certificate names block {named_hash} at height {named_height}, not this block ({block_hash} at {height})")]
    OtherBlock {
        /// The block's height.
        height: u64,
        /// The block's hash.
        block_hash: String,
        /// The height the certificate names.
        named_height: u64,
        /// The hash the certificate names.
        named_hash: String,
    },
    /// The consensus configuration's proof does not verify, or the record does not decode.
    #[error(
        "the consensus configuration the node proves at height {height} does not check: {why}"
    )]
    Configuration {
        /// The height of the proof.
        height: u64,
        /// What is wrong.
        why: String,
    },
    /// A block of the walk is not what the chain of hashes or its header says.
    #[error("block {height} does not check: {why}")]
    Walk {
        /// The block.
        height: u64,
        /// What is wrong.
        why: String,
    },
    /// The configuration of the height makes no validator set (a solo node has no key).
    #[error("the consensus nodes of height {height} make no validator set: {source}")]
    Validators {
        /// The certificate's height.
        height: u64,
        /// Why.
        source: ValidatorsError,
    },
    /// The certificate does not verify against the validators of its height.
    #[error("{0}")]
    Certificate(#[from] CertificateError),
}

/// The consensus configuration proven against a node's state root at a height.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProvenConfig {
    /// The height whose state it is.
    pub(crate) height: u64,
    /// The state root it is proven against.
    pub(crate) state_root: [u8; 32],
    /// The configuration.
    pub(crate) config: ConsensusConfig,
}

/// The consensus configuration in a `GetStateProof` answer for `p/consensus`, checked against
/// the answer's state root (which [`MembershipWalk::validators`] then binds to a block header).
pub(crate) fn proven_config(answer: &GetStateProofResponse) -> Result<ProvenConfig, CheckError> {
    let bad = |why: String| CheckError::Configuration {
        height: answer.height,
        why,
    };
    if answer.key != keys::CONSENSUS {
        return Err(bad(format!(
            "the proof is of key {:?}",
            String::from_utf8_lossy(&answer.key)
        )));
    }
    if !answer.found {
        return Err(bad("the chain has no consensus configuration".into()));
    }
    let state_root: [u8; 32] = answer
        .state_root
        .as_slice()
        .try_into()
        .map_err(|_| bad(format!("a state root of {} bytes", answer.state_root.len())))?;
    let proof = StateProof::decode(answer.proof.as_slice())
        .map_err(|e| bad(format!("the proof does not decode: {e}")))?;
    vchain_ledger::verify_proof(&state_root, keys::CONSENSUS, Some(&answer.value), &proof)
        .map_err(|e| bad(format!("the proof does not verify: {e}")))?;
    let config = ConsensusConfig::decode(answer.value.as_slice())
        .map_err(|e| bad(format!("the record does not decode: {e}")))?;
    Ok(ProvenConfig {
        height: answer.height,
        state_root,
        config,
    })
}

/// A change of the consensus membership, as a block's events record it.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// The node joined.
    Added(String),
    /// The node left; undoing it puts it back with its key.
    Removed(ConsensusNode),
}

/// The membership changes of `block`, in the order it executed them: its system events first,
/// then each transaction's events (as `vchain_contracts::execute_block` runs them).
fn changes(block: &Block) -> Vec<Change> {
    let events = block
        .system_events
        .iter()
        .chain(block.results.iter().flat_map(|r| r.events.iter()));
    events
        .filter_map(|event: &Event| match event.kind() {
            EventKind::ConsensusNodeAdded => Some(Change::Added(event.node_id.clone())),
            EventKind::ConsensusNodeRemoved => Some(Change::Removed(ConsensusNode {
                node_id: event.node_id.clone(),
                org_id: event.org_id.clone(),
                public_key: event.public_key.clone(),
                certificate_serial: Vec::new(),
            })),
            _ => None,
        })
        .collect()
}

/// Blocks from the certificate's block up to the node's head, checked as they come, with the
/// membership changes they made.
#[derive(Debug)]
pub(crate) struct MembershipWalk {
    /// The certificate's height.
    from: u64,
    /// Height and hash of the last block taken.
    last: (u64, [u8; 32]),
    /// Its state root.
    last_state_root: Vec<u8>,
    /// The changes of every block taken, in chain order.
    changes: Vec<Change>,
}

impl MembershipWalk {
    /// Starts at the certificate's block (its body checked against its header).
    pub(crate) fn start(block: &Block) -> Result<Self, CheckError> {
        let header = check_body(block).map_err(|e| CheckError::Walk {
            height: e.height,
            why: e.to_string(),
        })?;
        Ok(Self {
            from: header.height,
            last: (header.height, block_hash(header)),
            last_state_root: header.state_root.clone(),
            changes: changes(block),
        })
    }

    /// The height of the next block to take.
    pub(crate) fn next_height(&self) -> u64 {
        self.last.0 + 1
    }

    /// Takes the next block: it must be at [`next_height`](Self::next_height), name the last
    /// block's hash as its `prev_hash`, and its body must match its header.
    pub(crate) fn push(&mut self, block: &Block) -> Result<(), CheckError> {
        let height = self.next_height();
        let bad = |why: String| CheckError::Walk { height, why };
        let header = check_body(block).map_err(|e| bad(e.to_string()))?;
        if header.height != height {
            return Err(bad(format!("the node served height {}", header.height)));
        }
        if header.prev_hash.as_slice() != self.last.1.as_slice() {
            return Err(bad(format!(
                "its prev_hash {} is not block {}'s hash {}",
                hex::encode(&header.prev_hash),
                self.last.0,
                hex::encode(self.last.1)
            )));
        }
        self.last = (height, block_hash(header));
        self.last_state_root = header.state_root.clone();
        self.changes.extend(changes(block));
        Ok(())
    }

    /// The validators of the certificate's height: `proven` (which must be the state of the last
    /// block taken) with the changes of every block taken undone, newest first.
    pub(crate) fn validators(self, proven: &ProvenConfig) -> Result<Validators, CheckError> {
        if proven.height != self.last.0 {
            return Err(CheckError::Configuration {
                height: proven.height,
                why: format!("the walk ended at block {}", self.last.0),
            });
        }
        if proven.state_root.as_slice() != self.last_state_root.as_slice() {
            return Err(CheckError::Configuration {
                height: proven.height,
                why: format!(
                    "it is proven against state root {}, but block {} records {}",
                    hex::encode(proven.state_root),
                    proven.height,
                    hex::encode(&self.last_state_root)
                ),
            });
        }
        let mut config = proven.config.clone();
        for change in self.changes.into_iter().rev() {
            match change {
                Change::Added(node_id) => config.nodes.retain(|n| n.node_id != node_id),
                Change::Removed(node) => config.nodes.push(node),
            }
        }
        Validators::from_config(&config).map_err(|source| CheckError::Validators {
            height: self.from,
            source,
        })
    }
}

/// A certificate that proves its block final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// The signers, ascending.
    pub(crate) signers: Vec<String>,
    /// Validators of the height.
    pub(crate) validators: usize,
    /// Signatures a quorum needs.
    pub(crate) quorum: usize,
    /// The height whose proven state the validators were derived from.
    pub(crate) proven_at: u64,
}

/// Checks that `certificate` names `block` (served with hash `served_hash`) and that it
/// verifies on `block`'s chain against `validators` (those of its height, derived from the state
/// proven at `proven_at`).
pub(crate) fn check(
    block: &Block,
    served_hash: &[u8],
    certificate: &CommitCertificate,
    validators: &Validators,
    proven_at: u64,
) -> Result<Verified, CheckError> {
    let header = block.header.clone().unwrap_or_default();
    let computed = block_hash(&header);
    if served_hash != computed.as_slice() {
        return Err(CheckError::ServedHash {
            served: hex::encode(served_hash),
            computed: hex::encode(computed),
        });
    }
    if certificate.height != header.height || certificate.block_hash != computed.as_slice() {
        return Err(CheckError::OtherBlock {
            height: header.height,
            block_hash: hex::encode(computed),
            named_height: certificate.height,
            named_hash: hex::encode(&certificate.block_hash),
        });
    }
    verify(&header.chain_id, validators, certificate)?;
    Ok(Verified {
        signers: signers(certificate),
        validators: validators.len(),
        quorum: validators.quorum(),
        proven_at,
    })
}

/// What became of a certificate's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It proves its block final.
    Verified(Verified),
    /// It does not (or the validators of its height could not be established from what the
    /// node served): the command fails.
    Failed(CheckError),
    /// Not checked, for the reason given (the block is too far below the head).
    NotChecked(String),
}

/// What checking a certificate reads from a node: blocks by height and the consensus
/// configuration with its proof at the node's head. `vchain block get` and the explorer read
/// them with their own signed reads; [`check_on_node`] decides with what they return.
pub(crate) trait NodeReads {
    /// The committed block at `height`. An error means the node could not be read (not that
    /// the block is wrong: what the node serves is judged by the check).
    async fn block_at(&self, height: u64) -> anyhow::Result<Block>;
    /// The node's `GetStateProof` answer for [`keys::CONSENSUS`] at its head.
    async fn consensus_proof(&self) -> anyhow::Result<GetStateProofResponse>;
}

/// Checks `certificate` of `block` (served with hash `served_hash`) against the validators of
/// its height: the consensus configuration `node` proves at its head, walked back to the
/// block's height (see the module docs). A node that cannot be read is an error; anything it
/// serves that does not check is the outcome [`Outcome::Failed`]; a block more than
/// [`VALIDATOR_WALK_BLOCKS_MAX`] below the head is [`Outcome::NotChecked`].
pub(crate) async fn check_on_node(
    node: &impl NodeReads,
    block: &Block,
    served_hash: &[u8],
    certificate: &CommitCertificate,
) -> anyhow::Result<Outcome> {
    let height = block.header.as_ref().map_or(0, |h| h.height);
    let answer = node.consensus_proof().await?;
    let proven = match proven_config(&answer) {
        Ok(proven) => proven,
        Err(e) => return Ok(Outcome::Failed(e)),
    };
    let Some(below) = proven.height.checked_sub(height) else {
        return Ok(Outcome::Failed(CheckError::Configuration {
            height: proven.height,
            why: format!("it is below block {height}, which the node serves"),
        }));
    };
    if below > VALIDATOR_WALK_BLOCKS_MAX {
        return Ok(Outcome::NotChecked(format!(
            "block {height} is {below} blocks below the node's head; the validators of its height are found by walking at most {VALIDATOR_WALK_BLOCKS_MAX} blocks"
        )));
    }
    let mut walk = match MembershipWalk::start(block) {
        Ok(walk) => walk,
        Err(e) => return Ok(Outcome::Failed(e)),
    };
    while walk.next_height() <= proven.height {
        let next = node.block_at(walk.next_height()).await?;
        if let Err(e) = walk.push(&next) {
            return Ok(Outcome::Failed(e));
        }
    }
    let validators = match walk.validators(&proven) {
        Ok(validators) => validators,
        Err(e) => return Ok(Outcome::Failed(e)),
    };
    Ok(
        match check(block, served_hash, certificate, &validators, proven.height) {
            Ok(verified) => Outcome::Verified(verified),
            Err(e) => Outcome::Failed(e),
        },
    )
}

/// The signers a certificate names, in its order.
fn signers(certificate: &CommitCertificate) -> Vec<String> {
    certificate
        .signatures
        .iter()
        .map(|s| s.node_id.clone())
        .collect()
}

/// The text lines of a certificate and its check, appended to a block's.
pub(crate) fn render(certificate: Option<&CommitCertificate>, outcome: Option<&Outcome>) -> String {
    let mut o = String::new();
    let Some(certificate) = certificate else {
        let _ = writeln!(o, "certificate: none");
        return o;
    };
    let _ = writeln!(
        o,
        "certificate: view {}, signed by {}",
        certificate.view,
        signers(certificate).join(", ")
    );
    match outcome {
        Some(Outcome::Verified(v)) => {
            let _ = writeln!(
                o,
                "certificate: verified ({} of {} validators: {})",
                v.signers.len(),
                v.validators,
                v.signers.join(", ")
            );
            let _ = writeln!(
                o,
                "validators: those of height {}, proven against the state root of block {}",
                certificate.height, v.proven_at
            );
        }
        Some(Outcome::Failed(e)) => {
            let _ = writeln!(o, "certificate: DOES NOT VERIFY: {e}");
        }
        Some(Outcome::NotChecked(why)) => {
            let _ = writeln!(o, "certificate: not checked: {why}");
        }
        None => {}
    }
    o
}

/// The `certificate_check` member of `block get`'s JSON document (`null` without a certificate).
pub(crate) fn to_json(outcome: Option<&Outcome>) -> Value {
    match outcome {
        None => Value::Null,
        Some(Outcome::Verified(v)) => json!({
            "verified": true,
            "signers": v.signers,
            "validators": v.validators,
            "quorum": v.quorum,
            "validators_proven_at_height": v.proven_at,
        }),
        Some(Outcome::Failed(e)) => json!({ "verified": false, "error": e.to_string() }),
        Some(Outcome::NotChecked(why)) => json!({ "verified": false, "not_checked": why }),
    }
}

#[cfg(test)]
mod tests;
