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

use prost::Message;
use sha2::{Digest as _, Sha256};
use vchain_consensus::pbft::messages::{Crypto, SIGNATURE_BYTES};
use vchain_consensus::pbft::{PbftEngine, Timing};
use vchain_consensus::{CommitSignatures, Durable};
use vchain_contracts::block::block_hash;
use vchain_contracts::commit_certificate;
use vchain_contracts::genesis::Genesis;
use vchain_proto::v1::{Block, CommitCertificate, CommitSignature};

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

/// Signing and checking for the PBFT engine.
pub(super) struct ConsensusCrypto {
    chain_id: String,
    key: NodeKey,
    /// Validators' consensus keys (raw ed25519 public keys), by node id.
    validators: BTreeMap<String, [u8; 32]>,
}

impl Crypto for ConsensusCrypto {
    fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.key.sign(statement)
    }

    fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool {
        self.validators
            .get(replica)
            .is_some_and(|key| vchain_contracts::signature::verify(key, statement, signature))
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

/// The PBFT engine of this node: the validators of genesis, its node key, its stored record
/// (`hard_state`) and the height its ledger applied.
pub(super) fn resume(
    config: &NodeConfig,
    genesis: &Genesis,
    durable: &Durable,
) -> Result<PbftEngine, ChainError> {
    let setup = |why: String| ChainError::Genesis(why);
    let mut validators = BTreeMap::new();
    for node in &genesis.consensus.nodes {
        let key: [u8; 32] = hex::decode(&node.public_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| {
                setup(format!(
                    "consensus node {}: not a 32-byte key",
                    node.node_id
                ))
            })?;
        validators.insert(node.node_id.clone(), key);
    }
    let key = NodeKey::load_or_create(&config.data_dir).map_err(|e| setup(e.to_string()))?;
    let own = validators.get(&config.node_id).copied();
    if own != Some(key.public_key_bytes()) {
        return Err(setup(format!(
            "node {} is not a PBFT validator under this node key (genesis lists {:?})",
            config.node_id,
            own.map(hex::encode)
        )));
    }
    let replicas = validators.keys().cloned().collect();
    let crypto = ConsensusCrypto {
        chain_id: genesis.chain_id.clone(),
        key,
        validators,
    };
    PbftEngine::restart(
        config.node_id.clone(),
        replicas,
        Box::new(crypto),
        timing(config),
        durable,
    )
    .map_err(ChainError::Consensus)
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
