//! Consensus membership: the nodes that vote on blocks, changed only by passed proposals
//! ([`super::governance`]), each an administrator's proposal about its own organisation's node.
//!
//! The membership lives in one record, [`keys::CONSENSUS`], which the node reads after each block
//! to drive its engine's configuration changes and to decide which network keys may connect. So
//! the record is always exactly the current voting membership: a change is one write of the
//! whole record, made only when every rule has passed. Changes are permission changes and go to
//! the audit log.

use vchain_ledger::StateReader;
use vchain_proto::v1::{
    AddConsensusNode, ConsensusConfig, ConsensusNode, ErrorCode, Event, EventKind, Organisation,
    RemoveConsensusNode,
};

use crate::certificates::CheckedCertificate;
use crate::error::{reject, ExecError, Failure};
use crate::keys;
use crate::ops::certificate;
use crate::ops::TxContext;
use crate::state::read_message;
use crate::validate;

/// Most voting nodes a chain may have. Every block needs a quorum of them, so a larger
/// membership slows every commit; 64 is far above any consortium's bank count.
pub const CONSENSUS_NODES_MAX: usize = 64;

/// The engines whose membership can change: Raft (through its own log) and PBFT (the set of
/// each height is the one after the block before it). Solo has one node by definition; an
/// engine this build does not know is treated as fixed rather than guessed at.
const DYNAMIC_ENGINES: [&str; 2] = ["raft", "pbft"];

/// Reads the consensus configuration: the engine, the current voting nodes in the order they
/// joined, and the ids of removed nodes.
///
/// The node calls this after applying each block to learn the membership it must follow.
/// Fails with [`ExecError::MissingGenesis`] before genesis is applied and with
/// [`ExecError::CorruptState`] if the stored record does not decode.
pub fn consensus_config(state: &dyn StateReader) -> Result<ConsensusConfig, ExecError> {
    read_message::<ConsensusConfig>(state, keys::CONSENSUS, "ConsensusConfig")?
        .ok_or(ExecError::MissingGenesis("consensus configuration"))
}

/// The configuration as this transaction sees it (earlier transactions of the block included).
fn load_config(tx: &TxContext<'_, '_>) -> Result<ConsensusConfig, Failure> {
    let config: Option<ConsensusConfig> =
        tx.overlay.get_message(keys::CONSENSUS, "ConsensusConfig")?;
    Ok(config.ok_or(ExecError::MissingGenesis("consensus configuration"))?)
}

/// Rejects unless the chain's engine lets its membership change.
fn require_dynamic(config: &ConsensusConfig) -> Result<(), Failure> {
    if DYNAMIC_ENGINES.contains(&config.engine.as_str()) {
        return Ok(());
    }
    reject(
        ErrorCode::ConsensusEngineStatic,
        format!(
            "consensus engine {:?} has a fixed membership; only raft and pbft nodes can be added or removed",
            config.engine
        ),
    )
}

/// Rejects unless the proposing administrator's organisation is `org_id`: a bank decides only
/// about the nodes it runs itself (the other members then vote on it).
fn require_own_organisation(proposer_org: &str, org_id: &str, what: &str) -> Result<(), Failure> {
    if proposer_org == org_id {
        return Ok(());
    }
    reject(
        ErrorCode::NotSameOrganisation,
        format!("{what} belongs to {org_id}, not to {proposer_org}"),
    )
}

/// Checks that `op`, proposed by an administrator of `proposer_org`, applies to the state as this
/// transaction sees it, and returns the configuration with the node appended and the node.
/// Writes nothing, so governance can run it at submission and again when the proposal passes.
pub(crate) fn check_add_node(
    tx: &TxContext<'_, '_>,
    op: &AddConsensusNode,
    proposer_org: &str,
) -> Result<(ConsensusConfig, ConsensusNode, Option<CheckedCertificate>), Failure> {
    let mut config = load_config(tx)?;
    require_dynamic(&config)?;
    validate::account_id(&op.node_id)?;
    let organisation: Option<Organisation> = tx
        .overlay
        .get_message(&keys::organisation(&op.org_id), "Organisation")?;
    if organisation.is_none_or(|o| o.removed) {
        return reject(
            ErrorCode::OrganisationNotFound,
            format!("organisation {:?} is not a consortium member", op.org_id),
        );
    }
    require_own_organisation(proposer_org, &op.org_id, &format!("node {}", op.node_id))?;
    let certified =
        certificate::certify_node(tx, &op.org_id, &op.node_id, &op.certificate, &op.public_key)?;
    let public_key = certified
        .as_ref()
        .map_or(op.public_key.clone(), |c| c.certified.public_key.to_vec());
    validate::public_key(&public_key)?;
    if config.nodes.iter().any(|n| n.node_id == op.node_id) {
        return reject(
            ErrorCode::ConsensusNodeExists,
            format!("consensus node {} already exists", op.node_id),
        );
    }
    if config.removed_node_ids.contains(&op.node_id) {
        return reject(
            ErrorCode::ConsensusNodeExists,
            format!(
                "consensus node id {} was used by a removed node and cannot be reused",
                op.node_id
            ),
        );
    }
    if let Some(holder) = config.nodes.iter().find(|n| n.public_key == public_key) {
        return reject(
            ErrorCode::ConsensusNodeExists,
            format!(
                "network key {} is already the key of consensus node {}",
                hex::encode(&public_key),
                holder.node_id
            ),
        );
    }
    if config.nodes.len() >= CONSENSUS_NODES_MAX {
        return reject(
            ErrorCode::ConsensusNodesFull,
            format!(
                "the chain already has {CONSENSUS_NODES_MAX} consensus nodes, the most allowed"
            ),
        );
    }
    let added = ConsensusNode {
        node_id: op.node_id.clone(),
        org_id: op.org_id.clone(),
        public_key,
        certificate_serial: certified
            .as_ref()
            .map(|c| c.certified.serial.clone())
            .unwrap_or_default(),
    };
    config.nodes.push(added.clone());
    Ok((config, added, certified))
}

/// Writes the configuration [`check_add_node`] built and returns the event saying so (the
/// caller records it).
pub(crate) fn apply_add_node(
    tx: &mut TxContext<'_, '_>,
    config: ConsensusConfig,
    added: ConsensusNode,
    certified: Option<CheckedCertificate>,
) -> Event {
    debug_assert!(config.nodes.last() == Some(&added));
    let mut config = config;
    record_change_height(&mut config, tx.context.height);
    tx.overlay.put_message(keys::CONSENSUS.to_vec(), &config);
    if let Some(certified) = certified {
        certificate::put_record(
            tx.overlay,
            &certified.record(&added.org_id, tx.context.height),
        );
    }
    let mut event = tx.event(EventKind::ConsensusNodeAdded);
    event.org_id = added.org_id;
    event.public_key = added.public_key;
    event.node_id = added.node_id;
    event
}

/// Checks that the node `op` names can be removed, on a proposal of an administrator of
/// `proposer_org`; returns the configuration without it and the removed node. Writes nothing.
pub(crate) fn check_remove_node(
    tx: &TxContext<'_, '_>,
    op: &RemoveConsensusNode,
    proposer_org: &str,
) -> Result<(ConsensusConfig, ConsensusNode), Failure> {
    let mut config = load_config(tx)?;
    require_dynamic(&config)?;
    let Some(position) = config.nodes.iter().position(|n| n.node_id == op.node_id) else {
        return reject(
            ErrorCode::ConsensusNodeNotFound,
            format!("{:?} is not a current consensus node", op.node_id),
        );
    };
    require_own_organisation(
        proposer_org,
        &config.nodes[position].org_id,
        &format!("node {}", op.node_id),
    )?;
    if config.nodes.len() == 1 {
        return reject(
            ErrorCode::ConsensusNodeLast,
            format!(
                "node {} is the last consensus node; the chain cannot run without one",
                op.node_id
            ),
        );
    }
    // `remove`, not `swap_remove`: the order of the others is part of the stored record, which
    // must come out byte-identical on every node.
    let removed = config.nodes.remove(position);
    config.removed_node_ids.push(removed.node_id.clone());
    Ok((config, removed))
}

/// Checks that the node whose certificate is being revoked can leave the membership (it is a
/// current node of a networked engine and not the last one); returns the configuration without
/// it. Writes nothing.
pub(crate) fn check_revoked_node(
    tx: &TxContext<'_, '_>,
    node_id: &str,
) -> Result<(ConsensusConfig, ConsensusNode), Failure> {
    let mut config = load_config(tx)?;
    require_dynamic(&config)?;
    let Some(position) = config.nodes.iter().position(|n| n.node_id == node_id) else {
        // An active node certificate always names a current node (removal ends the record).
        return Err(ExecError::CorruptState {
            key: "p/consensus".into(),
            what: "the node of an active node certificate",
            why: format!("{node_id} is not a current consensus node"),
        }
        .into());
    };
    if config.nodes.len() == 1 {
        return reject(
            ErrorCode::ConsensusNodeLast,
            format!(
                "node {node_id} is the last consensus node; revoking its certificate would stop the chain (add another node first)"
            ),
        );
    }
    let removed = config.nodes.remove(position);
    config.removed_node_ids.push(removed.node_id.clone());
    Ok((config, removed))
}

/// Writes the configuration [`check_remove_node`] built, retiring the node's id, and returns the
/// event saying so (the caller records it).
pub(crate) fn apply_remove_node(
    tx: &mut TxContext<'_, '_>,
    config: ConsensusConfig,
    removed: ConsensusNode,
) -> Result<Event, Failure> {
    debug_assert!(config.removed_node_ids.last() == Some(&removed.node_id));
    let mut config = config;
    record_change_height(&mut config, tx.context.height);
    tx.overlay.put_message(keys::CONSENSUS.to_vec(), &config);
    // A removed node's certificate certifies nothing any more: it goes on the revocation list.
    if !removed.certificate_serial.is_empty() {
        let record: Option<vchain_proto::v1::CertificateRecord> = tx.overlay.get_message(
            &keys::certificate(&removed.org_id, &removed.certificate_serial),
            "CertificateRecord",
        )?;
        if let Some(record) =
            record.filter(|r| r.status() == vchain_proto::v1::CertificateStatus::Active)
        {
            certificate::end_record(
                tx.overlay,
                record,
                vchain_proto::v1::CertificateStatus::Revoked,
                tx.context.height,
                // The chain ended it (the node left): no words, the audit log says why.
                "",
            );
        }
    }
    let mut event = tx.event(EventKind::ConsensusNodeRemoved);
    event.org_id = removed.org_id;
    event.public_key = removed.public_key;
    event.node_id = removed.node_id;
    Ok(event)
}

/// Notes that the block at `height` changed the voting membership: appended to
/// `change_heights` once per block (a second change in the same block finds it there already).
/// Heights only grow, so the list stays ascending; an offline verifier relies on both.
fn record_change_height(config: &mut ConsensusConfig, height: u64) {
    match config.change_heights.last() {
        Some(&last) if last == height => {}
        last => {
            assert!(
                last.is_none_or(|&last| last < height),
                "membership changed at height {height} after a change recorded at {last:?}"
            );
            config.change_heights.push(height);
        }
    }
}

/// The nodes `org_id` runs, in membership order.
pub(crate) fn nodes_of(config: &ConsensusConfig, org_id: &str) -> Vec<String> {
    config
        .nodes
        .iter()
        .filter(|n| n.org_id == org_id)
        .map(|n| n.node_id.clone())
        .collect()
}

/// The configuration as this transaction sees it, for governance checks.
pub(crate) fn current_config(tx: &TxContext<'_, '_>) -> Result<ConsensusConfig, Failure> {
    load_config(tx)
}
