//! What the PBFT engine needs from the node (ADR 0014): signing with this node's consensus key
//! (the node key its organisation's CA certified, listed in genesis), checking peers'
//! signatures under the chain's one rule, the commit statement of the certificate rule and the
//! block hash as the digest replicas vote on; and the engine built from genesis and this
//! node's stored record.
//!
//! The commit statement is `vchain_contracts::commit_certificate::statement`, so the commits
//! the engine collects are exactly the block's certificate, which `commit_certificate::verify`
//! checks (`quorum_rule` holds the test that the two agree).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prost::Message;
use sha2::{Digest as _, Sha256};
use vchain_consensus::pbft::messages::{Crypto, SIGNATURE_BYTES};
use vchain_consensus::pbft::{PbftEngine, Timing};
use vchain_consensus::{CommitSignatures, Durable};
use vchain_contracts::block::block_hash;
use vchain_contracts::commit_certificate;
use vchain_proto::v1::{Block, CommitCertificate, CommitSignature, ConsensusConfig};

use super::ChainError;
use crate::config::NodeConfig;
use crate::network::NodeKey;

/// Shortest view-change timeout, milliseconds: a backup waits at least this long for the
/// primary to make progress before it asks for a new view (doubled per view change in a row).
const VIEW_CHANGE_MS_MIN: u64 = 2_000;
/// Blocks intervals a backup waits for progress before it suspects the primary.
const VIEW_CHANGE_BLOCK_INTERVALS: u64 = 4;
/// How often a replica reports its height and re-sends its latest votes, milliseconds.
const STATUS_MS: u64 = 500;
/// How often a lagging replica asks for blocks, milliseconds.
const CATCH_UP_MS: u64 = 300;

/// Consensus keys (raw ed25519 public keys) by node id: every validator's this node has known
/// since it started (ids are never reused, so a removed validator's key still checks the
/// certificates it signed). Shared with the producer, which adds the keys of validators the
/// chain adds.
#[derive(Clone, Default)]
pub(super) struct ValidatorKeys(Arc<RwLock<BTreeMap<String, [u8; 32]>>>);

impl ValidatorKeys {
    /// Learns the keys of `config`'s nodes; the validators' ids, sorted.
    pub(super) fn learn(&self, config: &ConsensusConfig) -> Vec<String> {
        let mut keys = self.0.write().unwrap_or_else(|e| e.into_inner());
        let mut ids = Vec::new();
        for node in &config.nodes {
            if let Ok(key) = <[u8; 32]>::try_from(node.public_key.as_slice()) {
                keys.insert(node.node_id.clone(), key);
            }
            ids.push(node.node_id.clone());
        }
        ids.sort();
        ids
    }

    fn get(&self, id: &str) -> Option<[u8; 32]> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied()
    }
}

/// Signing and checking for the PBFT engine.
pub(super) struct ConsensusCrypto {
    chain_id: String,
    key: NodeKey,
    validators: ValidatorKeys,
}

impl Crypto for ConsensusCrypto {
    fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.key.sign(statement)
    }

    fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool {
        self.validators
            .get(replica)
            .is_some_and(|key| vchain_contracts::signature::verify(&key, statement, signature))
    }

    fn commit_statement(&self, sequence: u64, view: u64, digest: &[u8; 32]) -> Vec<u8> {
        commit_certificate::statement(&self.chain_id, sequence, view, digest)
    }

    /// The block hash (SHA-256 of the encoded header): what the certificate names. Bytes that
    /// are not a block get a digest no header has (validation refuses them anyway).
    fn digest(&self, block: &[u8]) -> [u8; 32] {
        match Block::decode(block).ok().and_then(|b| b.header) {
            Some(header) => block_hash(&header),
            None => Sha256::new()
                .chain_update(b"vchain-undecodable-block\n")
                .chain_update(block)
                .finalize()
                .into(),
        }
    }
}

/// The PBFT timing for this node's tick and block interval.
fn timing(config: &NodeConfig) -> Timing {
    let tick_ms = config.network.as_ref().map_or(100, |n| n.tick_ms).max(1);
    let view_change_ms = VIEW_CHANGE_MS_MIN
        .max(VIEW_CHANGE_BLOCK_INTERVALS.saturating_mul(config.block_interval_ms));
    Timing {
        view_change_ticks: view_change_ms.div_ceil(tick_ms).max(1),
        status_ticks: STATUS_MS.div_ceil(tick_ms).max(1),
        catch_up_ticks: CATCH_UP_MS.div_ceil(tick_ms).max(1),
    }
}

/// The PBFT engine of this node: the validators the chain records at its head (they decide
/// the next height), its node key, its stored record (`hard_state`) and the height its ledger
/// applied. A node the chain does not list follows, voting nowhere, until it is added.
pub(super) fn resume(
    config: &NodeConfig,
    chain_id: &str,
    membership: &ConsensusConfig,
    durable: &Durable,
) -> Result<(PbftEngine, ValidatorKeys), ChainError> {
    let setup = |why: String| ChainError::Genesis(why);
    let keys = ValidatorKeys::default();
    let replicas = keys.learn(membership);
    let key = NodeKey::load_or_create(&config.data_dir).map_err(|e| setup(e.to_string()))?;
    if let Some(own) = keys.get(&config.node_id) {
        if own != key.public_key_bytes() {
            return Err(setup(format!(
                "node {} is a PBFT validator under another key ({}) than this node's ({})",
                config.node_id,
                hex::encode(own),
                key.public_key_hex()
            )));
        }
    }
    let crypto = ConsensusCrypto {
        chain_id: chain_id.to_owned(),
        key,
        validators: keys.clone(),
    };
    let engine = PbftEngine::restart(
        config.node_id.clone(),
        replicas,
        Box::new(crypto),
        timing(config),
        durable,
    )
    .map_err(ChainError::Consensus)?;
    Ok((engine, keys))
}

/// The certificate of block `height` with hash `block_hash` as the chain stores and serves it.
pub(super) fn certificate(
    height: u64,
    block_hash: &[u8; 32],
    signatures: &CommitSignatures,
) -> CommitCertificate {
    CommitCertificate {
        height,
        view: signatures.view,
        block_hash: block_hash.to_vec(),
        signatures: signatures
            .signatures
            .iter()
            .map(|(node_id, signature)| CommitSignature {
                node_id: node_id.clone(),
                signature: signature.to_vec(),
            })
            .collect(),
    }
}

/// The engine's form of a stored certificate (for catch-up). `None` if a signature is not 64
/// bytes (a stored certificate always verified, so never).
pub(super) fn signatures(certificate: &CommitCertificate) -> Option<CommitSignatures> {
    let signatures = certificate
        .signatures
        .iter()
        .map(|s| Some((s.node_id.clone(), s.signature.as_slice().try_into().ok()?)))
        .collect::<Option<Vec<_>>>()?;
    Some(CommitSignatures {
        view: certificate.view,
        signatures,
    })
}
