//! Consensus membership on the node: the consensus peers (which network identity each node id
//! has) and bringing the network's member set and Raft's voters in line with the membership
//! recorded on chain.
//!
//! Invariants kept here:
//! - the chain is the source of truth and Raft follows it: membership changes by passed
//!   proposals, and the leader proposes the matching Raft change afterwards, one at a time
//!   (Raft thesis §4.1), so a leader that crashed in between leaves the work to the next;
//! - the network admits every node on chain, and every Raft voter until Raft drops it (it
//!   still counts towards quorums until then);
//! - a leader never removes itself: it hands leadership over, and the next leader removes it;
//! - the check runs when something changed, and at least every `MEMBERSHIP_CHECK_INTERVAL`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};
use vchain_consensus::{MembershipChange, NodeId};

use super::engine_loop::Producer;
use super::ChainError;
use crate::network::{NetworkHandle, PeerId};

/// The consensus peers of a networked engine: how node ids map to network identities. The
/// map follows the membership recorded on chain (see `Producer::reconcile_membership`).
pub(crate) struct Peers {
    /// The network.
    pub(crate) network: NetworkHandle,
    /// Node id -> peer id, for every consensus node but this one.
    by_node: std::sync::RwLock<BTreeMap<NodeId, PeerId>>,
}

impl Peers {
    /// Peers named by node id (this node excluded).
    pub(crate) fn new(network: NetworkHandle, by_node: BTreeMap<NodeId, PeerId>) -> Self {
        Peers {
            network,
            by_node: std::sync::RwLock::new(by_node),
        }
    }

    /// The network identity of `node`.
    pub(crate) fn peer_of(&self, node: &str) -> Option<PeerId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .copied()
    }

    /// The node behind network identity `peer`.
    pub(crate) fn node_of(&self, peer: &PeerId) -> Option<NodeId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(_, p)| *p == peer)
            .map(|(node, _)| node.clone())
    }

    /// Every known peer.
    pub(crate) fn all(&self) -> BTreeMap<NodeId, PeerId> {
        self.by_node
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace(&self, by_node: BTreeMap<NodeId, PeerId>) {
        *self.by_node.write().unwrap_or_else(|p| p.into_inner()) = by_node;
    }
}

/// How often the producer compares the chain's membership with Raft's and the network's even
/// when nothing says it changed (a leader that crashed mid-change leaves work for the next).
const MEMBERSHIP_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a proposed membership change may stay uncommitted before it is proposed again.
const MEMBERSHIP_PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Progress of bringing Raft and the network in line with the chain's membership.
#[derive(Default)]
pub(super) struct MembershipSync {
    /// Something changed: check now.
    pub(super) dirty: bool,
    /// When the last check ran.
    last_check: Option<Instant>,
    /// The change proposed last, and when.
    pub(super) proposed: Option<(MembershipChange, Instant)>,
    /// The members set last given to the network.
    network_members: Option<std::collections::BTreeSet<PeerId>>,
    /// Logged once: this node is not (or no longer) a voter.
    outside_logged: bool,
}

impl Producer {
    /// Brings the network's member set and (on the leader) Raft's voters in line with the
    /// consensus membership recorded on chain, one Raft change at a time (Raft thesis §4.1).
    /// The chain is the source of truth; Raft follows it, so a leader that crashed between
    /// the transaction and the conf change leaves the work to the next leader.
    pub(super) fn reconcile_membership(&mut self) -> Result<(), ChainError> {
        let chain = self.chain.clone();
        let (Some(peers), Some(runtime)) = (&chain.peers, &self.runtime) else {
            return Ok(());
        };
        let due = self
            .membership
            .last_check
            .is_none_or(|t| t.elapsed() >= MEMBERSHIP_CHECK_INTERVAL);
        if !self.membership.dirty && !due {
            return Ok(());
        }
        self.membership.dirty = false;
        self.membership.last_check = Some(Instant::now());
        let recorded = vchain_contracts::consensus_config(&*chain.ledger)?;
        let me = &chain.config.node_id;
        let voters = self.engine.voters();
        // The network admits every node on chain, and every Raft voter until Raft drops it
        // (it still counts towards quorums until then).
        let mut by_node = BTreeMap::new();
        for node in &recorded.nodes {
            match crate::network::peer_id_from_public_key_hex(&hex::encode(&node.public_key)) {
                Ok(peer) => {
                    by_node.insert(node.node_id.clone(), peer);
                }
                Err(error) => {
                    warn!(%error, node = %node.node_id, "consensus node with an unusable key")
                }
            }
        }
        for (node, peer) in peers.all() {
            if voters.contains(&node) {
                by_node.entry(node).or_insert(peer);
            }
        }
        if let Some(own) = by_node.remove(me) {
            if own != peers.network.local_peer_id() {
                warn!(%me, "the chain records another network key for this node id");
            }
        }
        let members: std::collections::BTreeSet<PeerId> = by_node.values().copied().collect();
        if self.membership.network_members.as_ref() != Some(&members) {
            peers.replace(by_node);
            if let Err(error) = runtime.block_on(peers.network.set_members(members.clone())) {
                warn!(%error, "could not update the network's members");
            } else {
                info!(
                    members = members.len(),
                    "network members follow the chain's membership"
                );
                self.membership.network_members = Some(members);
            }
        }
        let wanted: Vec<&NodeId> = recorded.nodes.iter().map(|n| &n.node_id).collect();
        if !voters.contains(me) && !self.membership.outside_logged {
            self.membership.outside_logged = true;
            if wanted.contains(&me) {
                info!("this node is on chain but not yet a Raft voter; waiting for the leader");
            } else {
                warn!("this node is not a consensus node on chain; it follows no one until added");
            }
        }
        if !self.engine.is_leader() {
            return Ok(());
        }
        if self
            .membership
            .proposed
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < MEMBERSHIP_PROPOSAL_TIMEOUT)
        {
            return Ok(());
        }
        let add = wanted.iter().find(|n| !voters.contains(n));
        let remove = voters.iter().find(|v| !wanted.contains(v));
        let change = match (add, remove) {
            (Some(node), _) => MembershipChange::AddVoter((*node).clone()),
            (None, Some(node)) if node == me => {
                // A leader does not remove itself: it hands over first, and the next leader
                // removes it.
                if let Some(successor) = voters.iter().find(|v| *v != me && wanted.contains(v)) {
                    info!(%successor, "handing leadership over before this node's removal");
                    if let Err(error) = self.engine.transfer_leadership(successor) {
                        warn!(%error, "leadership transfer refused");
                    }
                }
                self.membership.proposed =
                    Some((MembershipChange::RemoveVoter(me.clone()), Instant::now()));
                return Ok(());
            }
            (None, Some(node)) => MembershipChange::RemoveVoter(node.clone()),
            (None, None) => return Ok(()),
        };
        info!(?change, "proposing the chain's membership change to Raft");
        match self.engine.propose_membership(change.clone()) {
            Ok(()) => self.membership.proposed = Some((change, Instant::now())),
            // Another change still pending: the next check proposes this one.
            Err(error @ vchain_consensus::ConsensusError::ProposalDropped { .. }) => {
                debug!(%error, ?change, "membership change waits")
            }
            Err(error) => warn!(%error, ?change, "membership change not proposed"),
        }
        self.drain_ready()
    }
}
