//! vchain consensus engines as sans-I/O state machines.
//!
//! Owns: the interface between the node and an ordering protocol, and the engines behind it.
//! Must not depend on: any I/O (no tokio, networking, storage, clock or randomness). An engine
//! takes explicit inputs (a tick, a proposal, a peer's message) and hands back a [`Ready`]: what
//! to persist, what to send (only after persisting) and which payloads are committed, in order.
//! The node performs every effect, in that order, then calls [`Engine::advance`]. This is the
//! shape of tikv raft-rs's `RawNode`, so the Raft engine slots in behind the same trait, and it
//! lets one test drive many engines over a simulated network with seeded faults.
//!
//! This crate ships [`solo::Solo`], the standard's single-orderer engine: one node orders
//! blocks, and a proposal is committed the moment it is made.
//!
//! ```
//! use vchain_consensus::{solo::Solo, Engine};
//! let mut engine = Solo::new("node-1".into());
//! engine.propose(b"block 1".to_vec()).expect("the solo node always leads");
//! let ready = engine.ready();
//! assert_eq!(ready.committed.len(), 1);
//! assert_eq!(ready.committed[0].payload, b"block 1");
//! engine.advance(&ready);
//! assert!(engine.ready().is_empty());
//! ```

pub mod solo;

/// Identifies a consensus node (its node id from genesis).
pub type NodeId = String;

/// A payload the protocol has committed: every correct node commits the same payloads at the
/// same indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Position in the committed sequence, from 1, without gaps.
    pub index: u64,
    /// The proposed bytes (an encoded block).
    pub payload: Vec<u8>,
}

/// A message for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Recipient.
    pub to: NodeId,
    /// Opaque protocol bytes.
    pub bytes: Vec<u8>,
}

/// What the node must do next, in this order: persist `persist`, send `messages`, apply
/// `committed` in order, then call [`Engine::advance`] with this value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    /// Engine state to make durable before any message leaves (opaque to the node).
    pub persist: Vec<Vec<u8>>,
    /// Messages to peers, to send after `persist` is durable.
    pub messages: Vec<Outgoing>,
    /// Newly committed payloads, in order.
    pub committed: Vec<Committed>,
}

impl Ready {
    /// True if there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty() && self.messages.is_empty() && self.committed.is_empty()
    }
}

/// Why an engine refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// Only the leader proposes; the node should forward to `leader` if known.
    #[error("this node is not the leader (leader: {leader:?})")]
    NotLeader {
        /// The current leader, if known.
        leader: Option<NodeId>,
    },
    /// A peer's message could not be decoded or does not belong to this protocol.
    #[error("invalid message from {from}: {why}")]
    InvalidMessage {
        /// Sender.
        from: NodeId,
        /// What was wrong.
        why: String,
    },
    /// A proposal larger than the engine accepts.
    #[error("proposal of {size} bytes exceeds the limit of {max}")]
    ProposalTooLarge {
        /// Size offered.
        size: usize,
        /// Limit.
        max: usize,
    },
}

/// A consensus engine: a deterministic state machine driven by the node's event loop.
pub trait Engine: Send {
    /// This node's id.
    fn id(&self) -> &NodeId;
    /// The leader this node knows of, if any.
    fn leader(&self) -> Option<NodeId>;
    /// True if this node may propose now.
    fn is_leader(&self) -> bool {
        self.leader().as_ref() == Some(self.id())
    }
    /// Advances logical time by one tick (election and heartbeat timers count ticks).
    fn tick(&mut self);
    /// Proposes `payload` for commitment.
    fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError>;
    /// Handles a message from a peer.
    fn step(&mut self, from: &NodeId, bytes: &[u8]) -> Result<(), ConsensusError>;
    /// What the node must do next. Calling it again before [`Engine::advance`] returns the
    /// same work again.
    fn ready(&mut self) -> Ready;
    /// Acknowledges that everything in `ready` was done.
    fn advance(&mut self, ready: &Ready);
}
