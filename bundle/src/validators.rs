//! The validator-set walk from genesis: the set of height `h` is genesis's consensus
//! configuration with the changes of every block below `h` applied, in chain order. A change
//! is a transaction result carrying CONSENSUS_NODE_ADDED / CONSENSUS_NODE_REMOVED events (the
//! only way the contracts change the voting membership: `ops/consensus.rs`), each naming the
//! node, its organisation and its key, so the walk needs no past state.
//!
//! The walk reproduces the stored `ConsensusConfig` exactly (nodes in joining order, removed
//! ids in removal order, `change_heights`), except the nodes' certificate serials, which the
//! events do not carry and no certificate check uses; [`comparable`] leaves them out.

use vchain_contracts::commit_certificate::Validators;
use vchain_proto::v1::{ConsensusConfig, ConsensusNode, ErrorCode, EventKind, TxResult};

use crate::error::VerifyError;
use crate::lineage::VerifiedChange;

/// The sets of every height from genesis on, as the changes are applied.
#[derive(Debug)]
pub(crate) struct ValidatorWalk {
    /// The configuration after the changes applied so far.
    config: ConsensusConfig,
    /// (first height, set), ascending: each set is in force from its first height until the
    /// next one's.
    sets: Vec<(u64, Validators)>,
    /// The changes applied, for the report.
    changes: Vec<VerifiedChange>,
}

/// `config` without what the walk cannot know (the nodes' certificate serials).
pub(crate) fn comparable(config: &ConsensusConfig) -> ConsensusConfig {
    ConsensusConfig {
        nodes: config
            .nodes
            .iter()
            .map(|node| ConsensusNode {
                certificate_serial: Vec::new(),
                ..node.clone()
            })
            .collect(),
        ..config.clone()
    }
}

impl ValidatorWalk {
    /// Starts from genesis's configuration: the set of height 1.
    pub(crate) fn from_genesis(config: ConsensusConfig) -> Result<Self, VerifyError> {
        let set = Validators::from_config(&config)
            .map_err(|source| VerifyError::ValidatorSetInvalid { height: 1, source })?;
        Ok(Self {
            config: comparable(&config),
            sets: vec![(1, set)],
            changes: Vec::new(),
        })
    }

    /// Applies the membership events of `result`, the result of transaction `index` of block
    /// `height` (already proven in that block's `result_root`). Changes must come in strictly
    /// ascending (height, index) order; the caller checks that.
    pub(crate) fn apply(
        &mut self,
        height: u64,
        index: u32,
        result: &TxResult,
    ) -> Result<(), VerifyError> {
        let bad = |why: String| VerifyError::ValidatorChangeInvalid { height, index, why };
        if result.code != ErrorCode::Ok as i32 {
            return Err(bad(format!(
                "the transaction was rejected (code {}), so it changed nothing",
                result.code
            )));
        }
        let mut change = VerifiedChange {
            height,
            index,
            added: Vec::new(),
            removed: Vec::new(),
        };
        for event in &result.events {
            let kind = event.kind();
            if kind != EventKind::ConsensusNodeAdded && kind != EventKind::ConsensusNodeRemoved {
                continue;
            }
            if event.height != height {
                return Err(bad(format!(
                    "its event about {} says height {}",
                    event.node_id, event.height
                )));
            }
            let node = ConsensusNode {
                node_id: event.node_id.clone(),
                org_id: event.org_id.clone(),
                public_key: event.public_key.clone(),
                certificate_serial: Vec::new(),
            };
            if kind == EventKind::ConsensusNodeAdded {
                if self.config.nodes.iter().any(|n| n.node_id == node.node_id)
                    || self.config.removed_node_ids.contains(&node.node_id)
                {
                    return Err(bad(format!(
                        "it adds node {}, which is or was a member already",
                        node.node_id
                    )));
                }
                change.added.push(node.node_id.clone());
                self.config.nodes.push(node);
            } else {
                let Some(position) = self.config.nodes.iter().position(|n| *n == node) else {
                    return Err(bad(format!(
                        "it removes node {} with key {}, which is not a member with that key",
                        node.node_id,
                        hex::encode(&node.public_key)
                    )));
                };
                self.config.nodes.remove(position);
                self.config.removed_node_ids.push(node.node_id.clone());
                change.removed.push(node.node_id);
            }
        }
        if change.added.is_empty() && change.removed.is_empty() {
            return Err(bad("its result adds or removes no consensus node".into()));
        }
        if self.config.change_heights.last() != Some(&height) {
            self.config.change_heights.push(height);
        }
        let next = height
            .checked_add(1)
            .ok_or_else(|| bad("height overflows".into()))?;
        let set = Validators::from_config(&self.config).map_err(|source| {
            VerifyError::ValidatorSetInvalid {
                height: next,
                source,
            }
        })?;
        match self.sets.last_mut() {
            Some((first, current)) if *first == next => *current = set,
            _ => self.sets.push((next, set)),
        }
        self.changes.push(change);
        Ok(())
    }

    /// The validators of `height`: the set after every change below it.
    pub(crate) fn set_of(&self, height: u64) -> &Validators {
        let position = self.sets.partition_point(|(first, _)| *first <= height);
        // Heights start at 1 and the genesis set's first height is 1.
        &self.sets[position.saturating_sub(1)].1
    }

    /// The configuration the walk arrived at (comparable form).
    pub(crate) fn config(&self) -> &ConsensusConfig {
        &self.config
    }

    /// The changes applied, in order.
    pub(crate) fn into_changes(self) -> Vec<VerifiedChange> {
        self.changes
    }
}
