//! [`PbftEngine`]: a [`Replica`] behind the node's [`Engine`] interface. The replica's output
//! maps onto [`Ready`] as the crate documents: its durable record is the `hard_state` (written
//! in one synced batch), the messages it signed are `persisted_messages` (sent only after that
//! write), its other messages go at once, blocks to validate are `to_validate`, and committed
//! blocks come with their commit signatures, indexed by height.

use super::certificates::Certificate;
use super::messages::Crypto;
use super::replica::{Dropped, Output, Replica, Send, Timing};
use crate::{
    CatchUpRequest, CertifiedBlock, CommitSignatures, Committed, CommittedEntry, ConsensusError,
    Durable, Engine, NodeId, Outgoing, Persist, Ready,
};

/// A PBFT replica as a consensus engine.
pub struct PbftEngine {
    replica: Replica,
    /// The work handed out by [`Engine::ready`] and not yet acknowledged.
    ready: Option<Ready>,
}

impl PbftEngine {
    /// Replica `id` with `replicas` the validators of the height after `durable.applied` (the
    /// height the node's ledger applied), resumed from `durable.hard_state`.
    pub fn restart(
        id: NodeId,
        replicas: Vec<NodeId>,
        crypto: Box<dyn Crypto>,
        timing: Timing,
        durable: &Durable,
    ) -> Result<Self, ConsensusError> {
        let replica = Replica::restore(
            id,
            replicas,
            crypto,
            timing,
            durable.hard_state.as_deref(),
            durable.applied,
        )?;
        Ok(Self {
            replica,
            ready: None,
        })
    }

    /// Messages dropped, by reason.
    pub fn dropped(&self) -> &Dropped {
        self.replica.dropped()
    }

    /// The replica inside (for its evidence and counters).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    fn outgoing(&self, sends: Vec<Send>) -> Vec<Outgoing> {
        let mut outgoing = Vec::new();
        for send in sends {
            match send {
                Send::Broadcast(bytes) => {
                    for to in self.replica.replicas() {
                        if to != self.replica.id() {
                            outgoing.push(Outgoing {
                                to: to.clone(),
                                bytes: bytes.clone(),
                            });
                        }
                    }
                }
                Send::To(to, bytes) => outgoing.push(Outgoing { to, bytes }),
            }
        }
        outgoing
    }

    fn make_ready(&mut self) -> Ready {
        let Output {
            durable,
            signed,
            plain,
            to_validate,
            committed,
            catch_up,
            equivocations,
        } = self.replica.take_output();
        Ready {
            persist: Persist {
                hard_state: durable,
                ..Persist::default()
            },
            messages: self.outgoing(plain),
            persisted_messages: self.outgoing(signed),
            committed: committed
                .into_iter()
                .map(|c| Committed {
                    index: c.sequence,
                    entry: CommittedEntry::Payload(c.block),
                    certificate: Some(CommitSignatures {
                        view: c.certificate.view,
                        signatures: c.certificate.signatures,
                    }),
                })
                .collect(),
            to_validate,
            catch_up: catch_up
                .into_iter()
                .map(|(peer, after)| CatchUpRequest { peer, after })
                .collect(),
            equivocations,
        }
    }
}

impl Engine for PbftEngine {
    fn id(&self) -> &NodeId {
        self.replica.id()
    }

    fn leader(&self) -> Option<NodeId> {
        self.replica.primary().cloned()
    }

    fn voters(&self) -> Vec<NodeId> {
        self.replica.replicas().to_vec()
    }

    fn tick(&mut self) {
        self.replica.tick();
    }

    fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError> {
        self.replica.propose(payload).map(|_| ())
    }

    fn step(&mut self, from: &NodeId, bytes: &[u8]) -> Result<(), ConsensusError> {
        self.replica
            .step(from, bytes)
            .map_err(|error| ConsensusError::InvalidMessage {
                from: from.clone(),
                why: error.to_string(),
            })
    }

    fn refuse_votes_from(&mut self, nodes: &std::collections::BTreeSet<NodeId>) {
        self.replica.refuse_votes_from(nodes);
    }

    fn forbid_voting(&mut self) {
        self.replica.forbid_voting();
    }

    fn validated(&mut self, sequence: u64, digest: &[u8; 32], valid: bool) {
        self.replica.validated(sequence, digest, valid);
    }

    fn note_pending_work(&mut self, pending: bool) {
        self.replica.set_pending_work(pending);
    }

    fn serve_catch_up(&mut self, peer: &NodeId, blocks: Vec<CertifiedBlock>) {
        let crypto = self.replica.crypto();
        let blocks = blocks
            .into_iter()
            .map(|b| {
                let certificate = Certificate {
                    sequence: b.index,
                    view: b.certificate.view,
                    digest: crypto.digest(&b.block),
                    signatures: b.certificate.signatures,
                };
                (b.block, certificate)
            })
            .collect();
        self.replica.serve_catch_up(peer, blocks, None);
    }

    fn set_validators(&mut self, from: u64, validators: Vec<NodeId>) {
        self.replica.reconfigure(from, validators);
    }

    fn lag(&self) -> Option<(NodeId, u64)> {
        self.replica.lag()
    }

    fn installed(&mut self, height: u64, block_hash: [u8; 32], certificate: CommitSignatures) {
        self.replica.installed(Certificate {
            sequence: height,
            view: certificate.view,
            digest: block_hash,
            signatures: certificate.signatures,
        });
    }

    fn view(&self) -> u64 {
        self.replica.view()
    }

    fn ready(&mut self) -> Ready {
        if let Some(ready) = &self.ready {
            return ready.clone();
        }
        let ready = self.make_ready();
        self.ready = Some(ready.clone());
        ready
    }

    fn advance(&mut self, ready: &Ready) {
        let handed = self.ready.take();
        debug_assert!(
            handed.as_ref().is_none_or(|h| h == ready),
            "advance acknowledges the Ready handed out"
        );
    }
}
