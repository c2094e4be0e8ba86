//! Solo: one node orders every block (the standard's "Solo" consensus). A proposal is committed
//! as soon as it is made; there are no peers, no messages and nothing to persist beyond the
//! blocks the node already stores.

use crate::{Committed, CommittedEntry, ConsensusError, Engine, NodeId, Ready};

/// Most proposals waiting to be taken by [`Engine::ready`].
pub const PENDING_MAX: usize = 1_024;

/// The single-orderer engine.
#[derive(Debug)]
pub struct Solo {
    id: NodeId,
    /// Index of the last committed payload.
    committed_index: u64,
    /// Committed but not yet handed out and acknowledged.
    pending: Vec<Committed>,
}

impl Solo {
    /// An engine for node `id` starting with nothing committed.
    pub fn new(id: NodeId) -> Self {
        Self::resume(id, 0)
    }

    /// An engine for node `id` whose last committed payload had index `committed_index`
    /// (the node's stored height after a restart).
    pub fn resume(id: NodeId, committed_index: u64) -> Self {
        Self {
            id,
            committed_index,
            pending: Vec::new(),
        }
    }

    /// Index of the last committed payload.
    pub fn committed_index(&self) -> u64 {
        self.committed_index
    }
}

impl Engine for Solo {
    fn id(&self) -> &NodeId {
        &self.id
    }

    fn leader(&self) -> Option<NodeId> {
        Some(self.id.clone())
    }

    fn voters(&self) -> Vec<NodeId> {
        vec![self.id.clone()]
    }

    fn tick(&mut self) {}

    fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError> {
        if self.pending.len() >= PENDING_MAX {
            return Err(ConsensusError::ProposalTooLarge {
                size: self.pending.len(),
                max: PENDING_MAX,
            });
        }
        self.committed_index += 1;
        self.pending.push(Committed {
            index: self.committed_index,
            entry: CommittedEntry::Payload(payload),
            certificate: None,
        });
        Ok(())
    }

    fn step(&mut self, from: &NodeId, _bytes: &[u8]) -> Result<(), ConsensusError> {
        Err(ConsensusError::InvalidMessage {
            from: from.clone(),
            why: "a solo node has no peers".into(),
        })
    }

    fn ready(&mut self) -> Ready {
        Ready {
            committed: self.pending.clone(),
            ..Ready::default()
        }
    }

    fn advance(&mut self, ready: &Ready) {
        let done = ready.committed.len();
        assert!(
            done <= self.pending.len(),
            "advance acknowledged more than ready handed out"
        );
        assert_eq!(
            self.pending[..done],
            ready.committed[..],
            "advance acknowledged a different ready"
        );
        self.pending.drain(..done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_commit_in_order_with_gapless_indexes() {
        let mut solo = Solo::resume("n1".into(), 41);
        assert!(solo.is_leader());
        solo.propose(b"a".to_vec()).expect("propose");
        solo.propose(b"b".to_vec()).expect("propose");
        let ready = solo.ready();
        assert_eq!(
            ready.committed.iter().map(|c| c.index).collect::<Vec<_>>(),
            vec![42, 43]
        );
        assert_eq!(solo.ready(), ready, "ready is idempotent until advance");
        solo.advance(&ready);
        assert!(solo.ready().is_empty());
        assert_eq!(solo.committed_index(), 43);
    }

    #[test]
    fn a_solo_node_rejects_peer_messages() {
        let mut solo = Solo::new("n1".into());
        let error = solo
            .step(&"intruder".to_owned(), b"hello")
            .expect_err("no peers");
        assert!(matches!(error, ConsensusError::InvalidMessage { .. }));
        assert!(
            solo.ready().is_empty(),
            "a rejected message changes nothing"
        );
    }

    #[test]
    fn pending_is_bounded() {
        let mut solo = Solo::new("n1".into());
        for _ in 0..PENDING_MAX {
            solo.propose(Vec::new()).expect("within bound");
        }
        assert!(solo.propose(Vec::new()).is_err());
    }
}
