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
//! blocks, and a proposal is committed the moment it is made; and [`raft::RaftEngine`], a
//! replicated log on tikv raft-rs's `RawNode` (Ongaro & Ousterhout, "In Search of an
//! Understandable Consensus Algorithm", 2014). raft-rs's own types (rust-protobuf 2) never cross
//! this crate's API: log entries, hard state, snapshots and messages leave as opaque bytes.
//!
//! # What the node does with each [`Ready`], in this order
//! 1. Write [`Ready::persist`] in ONE synced batch ([`Persist`] documents its semantics: install
//!    the snapshot, truncate, append, hard state). A failed write is fatal.
//!    Messages in [`Ready::messages`] may be sent before or while this happens (raft-rs sends a
//!    leader's appends concurrently with its own fsync, Raft thesis §10.2.1).
//! 2. Send [`Ready::persisted_messages`] — only now, after the batch is durable (votes and
//!    append acknowledgements promise durability, Raft §5.2/§5.3).
//! 3. Apply [`Ready::committed`] in order, recording the last applied log index durably with
//!    the applied state (it is `applied` at restart).
//! 4. Call [`Engine::advance`] with the same `Ready` — also when it is empty: raft-rs may have
//!    handed out a leadership change with nothing to do, and only `advance` acknowledges it.
//!
//! Then tick, step peers' messages and propose as events arrive, and ask for the next `Ready`.
//! Committed entries are handed out once; after a restart the engine hands out again every
//! committed entry after the `applied` index the node reports in [`Durable`].
//!
//! ```
//! use vchain_consensus::{solo::Solo, Engine};
//! let mut engine = Solo::new("node-1".into());
//! engine.propose(b"block 1".to_vec()).expect("the solo node always leads");
//! let ready = engine.ready();
//! assert_eq!(ready.committed.len(), 1);
//! assert_eq!(ready.committed[0].payload(), Some(&b"block 1"[..]));
//! engine.advance(&ready);
//! assert!(engine.ready().is_empty());
//! ```

pub mod pbft;
pub mod raft;
pub mod solo;

/// Identifies a consensus node (its node id from genesis).
pub type NodeId = String;

/// A change of the voting membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// Make this node a voter.
    AddVoter(NodeId),
    /// Remove this voter.
    RemoveVoter(NodeId),
}

/// What a committed log entry carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommittedEntry {
    /// Proposed bytes (an encoded block).
    Payload(Vec<u8>),
    /// A membership change, already in effect in the engine once [`Engine::advance`] returns.
    Membership(MembershipChange),
}

/// The commit signatures that make a block final under a Byzantine engine: a quorum of the
/// validators' signatures over the commit certificate's statement (chain id, height, `view`,
/// block hash; `vchain_contracts::commit_certificate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSignatures {
    /// The view the block committed in.
    pub view: u64,
    /// (validator, 64-byte ed25519 signature), in ascending validator order.
    pub signatures: Vec<(NodeId, [u8; 64])>,
}

/// A log entry the protocol has committed: every correct node commits the same entries at the
/// same indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Log index. Strictly increasing; Raft may leave gaps (a new leader's empty entry, Raft
    /// §8, is committed but not handed out). Solo's indexes are gapless from 1. PBFT's index
    /// is the block height.
    pub index: u64,
    /// What was committed.
    pub entry: CommittedEntry,
    /// The quorum's commit signatures (PBFT); `None` for engines that make none.
    pub certificate: Option<CommitSignatures>,
}

impl Committed {
    /// The payload, if this entry carries one.
    pub fn payload(&self) -> Option<&[u8]> {
        match &self.entry {
            CommittedEntry::Payload(payload) => Some(payload),
            CommittedEntry::Membership(_) => None,
        }
    }
}

/// A message for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Recipient.
    pub to: NodeId,
    /// Opaque protocol bytes.
    pub bytes: Vec<u8>,
}

/// One log entry to store: its index and its opaque encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Log index.
    pub index: u64,
    /// Opaque encoded entry, handed back unchanged at restart.
    pub bytes: Vec<u8>,
}

/// A snapshot record: what the log was compacted to (or what a leader sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// Last log index the snapshot covers.
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// The node's own description of the state at `index` (height, block hash, state root),
    /// as given to [`Engine::compact`] on the node that made the snapshot.
    pub data: Vec<u8>,
    /// Opaque encoding of the whole record (membership included), handed back at restart.
    pub bytes: Vec<u8>,
}

/// Engine state to make durable, in one synced batch, before [`Ready::persisted_messages`] go.
/// Apply in field order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Persist {
    /// A snapshot received from the leader: the node installs the ledger state `data`
    /// describes (fetching it from peers in chunks), deletes EVERY stored log entry, and stores
    /// this record as its snapshot record (Raft §7, InstallSnapshot).
    pub snapshot: Option<SnapshotRecord>,
    /// Delete every stored entry with index >= this before appending (a new leader overwrote a
    /// conflicting suffix, Raft §5.3). `None`: plain append.
    pub truncate_from: Option<u64>,
    /// Entries to append, contiguous and in index order.
    pub entries: Vec<LogEntry>,
    /// New hard state (term, vote, commit), replacing the stored one.
    pub hard_state: Option<Vec<u8>>,
}

impl Persist {
    /// True if there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none()
            && self.truncate_from.is_none()
            && self.entries.is_empty()
            && self.hard_state.is_none()
    }
}

/// What a node stored, handed back to rebuild an engine after a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durable {
    /// Last stored hard state.
    pub hard_state: Option<Vec<u8>>,
    /// Last stored snapshot record's `bytes`.
    pub snapshot: Option<Vec<u8>>,
    /// Stored log entries after the snapshot, contiguous, in index order.
    pub entries: Vec<LogEntry>,
    /// Last log index whose entry the node applied durably (or the snapshot's index).
    pub applied: u64,
}

/// A block the engine wants checked before this replica votes for it (PBFT: a backup prepares
/// only a block its node validated). The node answers with [`Engine::validated`] once its head
/// is at `sequence - 1` (it may have to apply earlier blocks first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The height the block is proposed for.
    pub sequence: u64,
    /// The view it was proposed in.
    pub view: u64,
    /// The block's digest (its hash, as [`Engine`]'s crypto computes it).
    pub digest: [u8; 32],
    /// The encoded block.
    pub block: Vec<u8>,
}

/// A lagging peer's request for the committed blocks after `after` (PBFT): the node answers
/// from its ledger with [`Engine::serve_catch_up`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpRequest {
    /// The peer.
    pub peer: NodeId,
    /// Its committed height.
    pub after: u64,
}

/// A committed block with its certificate, as the node stored them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedBlock {
    /// Its height.
    pub index: u64,
    /// The encoded block.
    pub block: Vec<u8>,
    /// Its commit signatures.
    pub certificate: CommitSignatures,
}

/// A validator that signed commits for two different blocks at one height in one view (PBFT):
/// both signatures, each over the commit statement of its digest, so anyone holding the
/// validator's key can check them. Evidence for the node to keep and raise (ADR 0015).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEquivocation {
    /// The validator.
    pub node: NodeId,
    /// The height (PBFT sequence).
    pub height: u64,
    /// The view both commits were cast in.
    pub view: u64,
    /// The digest (block hash) and signature counted first.
    pub first: ([u8; 32], [u8; 64]),
    /// The other digest and its signature.
    pub second: ([u8; 32], [u8; 64]),
}

/// What the node must do next, in this order: persist `persist` (one synced batch; `messages`
/// may go meanwhile), send `persisted_messages`, apply `committed` in order, then call
/// [`Engine::advance`] with this value. `to_validate` is answered later, through
/// [`Engine::validated`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    /// Engine state to make durable before any of `persisted_messages` leaves.
    pub persist: Persist,
    /// Messages that may be sent at once, even before `persist` is durable.
    pub messages: Vec<Outgoing>,
    /// Messages to send only after `persist` is durable.
    pub persisted_messages: Vec<Outgoing>,
    /// Newly committed entries, in log order.
    pub committed: Vec<Committed>,
    /// Blocks to validate before this replica votes for them (PBFT only).
    pub to_validate: Vec<Proposal>,
    /// Peers' requests for committed blocks, to answer with [`Engine::serve_catch_up`].
    pub catch_up: Vec<CatchUpRequest>,
    /// Validators found signing two blocks at one height (PBFT only): keep and raise them.
    pub equivocations: Vec<SignedEquivocation>,
}

impl Ready {
    /// True if there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.messages.is_empty()
            && self.persisted_messages.is_empty()
            && self.committed.is_empty()
            && self.to_validate.is_empty()
            && self.catch_up.is_empty()
            && self.equivocations.is_empty()
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
    /// The engine dropped the proposal (a leader transfer, a pending membership change, a full
    /// uncommitted log); the node may retry later.
    #[error("proposal dropped: {why}")]
    ProposalDropped {
        /// Why.
        why: String,
    },
    /// This engine does not support the operation.
    #[error("unsupported by this engine: {what}")]
    Unsupported {
        /// The operation.
        what: String,
    },
    /// Configuration or stored state is unusable.
    #[error("invalid configuration or stored state: {why}")]
    InvalidState {
        /// What was wrong.
        why: String,
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
    /// The current voters, as applied (sorted).
    fn voters(&self) -> Vec<NodeId>;
    /// Advances logical time by one tick (election and heartbeat timers count ticks).
    fn tick(&mut self);
    /// Proposes `payload` for commitment. Fails with [`ConsensusError::NotLeader`] on a
    /// follower.
    fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError>;
    /// Proposes a membership change; it takes effect when committed and applied.
    fn propose_membership(&mut self, change: MembershipChange) -> Result<(), ConsensusError> {
        Err(ConsensusError::Unsupported {
            what: format!("membership change {change:?}"),
        })
    }
    /// Asks the leader to hand leadership to voter `to` (Raft thesis §3.10), e.g. before the
    /// leader's own removal. Best effort: the transfer may time out and leave the leader as is.
    fn transfer_leadership(&mut self, to: &NodeId) -> Result<(), ConsensusError> {
        Err(ConsensusError::Unsupported {
            what: format!("leadership transfer to {to}"),
        })
    }
    /// Handles a message from a peer (`from` as authenticated by the transport).
    fn step(&mut self, from: &NodeId, bytes: &[u8]) -> Result<(), ConsensusError>;
    /// From now on, votes of `nodes` count for nothing: their vote requests go unanswered and
    /// their votes are not counted. For nodes whose consensus state was lost or restored from
    /// an old copy: they may already have voted in the current term, and a second vote could
    /// elect two leaders in one term. Replaces the previous set. Engines without elections
    /// ignore it.
    fn refuse_votes_from(&mut self, nodes: &std::collections::BTreeSet<NodeId>) {
        let _ = nodes;
    }
    /// This node neither votes nor stands for election from now on (its own consensus state
    /// is missing or older than the chain shows): it still follows, appends and applies.
    /// Engines without elections ignore it.
    fn forbid_voting(&mut self) {}
    /// Why this node's own consensus state went back, once the engine found it (a leader
    /// showed it log entries it had acknowledged and no longer holds: its data directory was
    /// restored from an older copy or wiped). From then on the engine neither votes nor stands
    /// for election, as after [`Engine::forbid_voting`]; the node records that, so that a
    /// restart keeps it. `None` until then, and always for engines without elections.
    fn went_back(&self) -> Option<&str> {
        None
    }
    /// The node's verdict on a block handed out in [`Ready::to_validate`]: whether it extends
    /// the head, every transaction verifies, its time is acceptable and its state root is what
    /// executing it gives. Engines that ask nothing ignore it.
    fn validated(&mut self, sequence: u64, digest: &[u8; 32], valid: bool) {
        let _ = (sequence, digest, valid);
    }
    /// Whether the node holds transactions waiting to be ordered: a Byzantine engine's backups
    /// then expect the primary to propose, and change views if it does not (a censoring or
    /// silent primary). Engines with other means of liveness ignore it.
    fn note_pending_work(&mut self, pending: bool) {
        let _ = pending;
    }
    /// Answers a [`CatchUpRequest`] of `peer` with consecutive committed blocks from its
    /// ledger, lowest first (as many as fit one message; the engine sends what fits).
    fn serve_catch_up(&mut self, peer: &NodeId, blocks: Vec<CertifiedBlock>) {
        let _ = (peer, blocks);
    }
    /// From height `from` on (the one after the block just applied, which changed the chain's
    /// consensus membership) the validators are `validators`. Engines whose membership changes
    /// through their own log (Raft) ignore it.
    fn set_validators(&mut self, from: u64, validators: Vec<NodeId>) {
        let _ = (from, validators);
    }
    /// A peer this engine knows to be ahead, and the height it claims (PBFT: from status
    /// reports and certificates), so the node may fetch a state snapshot instead of every
    /// block. `None` when not behind, or for engines that hand the node snapshots themselves.
    fn lag(&self) -> Option<(NodeId, u64)> {
        None
    }
    /// The node installed a state snapshot at `height`, whose block (hash `block_hash`)
    /// `certificate` certifies (checked by the node against the validators): the engine goes
    /// on from there.
    fn installed(&mut self, height: u64, block_hash: [u8; 32], certificate: CommitSignatures) {
        let _ = (height, block_hash, certificate);
    }
    /// The engine's view (PBFT) or 0.
    fn view(&self) -> u64 {
        0
    }
    /// The engine's term (Raft) or 0.
    fn term(&self) -> u64 {
        0
    }
    /// What the node must do next. Calling it again before [`Engine::advance`] returns the
    /// same work again.
    fn ready(&mut self) -> Ready;
    /// Acknowledges that everything in `ready` was done (persisted, sent, applied).
    fn advance(&mut self, ready: &Ready);
    /// Bytes of log entries the engine holds in memory (what compaction frees); 0 for an
    /// engine that keeps no log.
    fn log_bytes(&self) -> u64 {
        0
    }
    /// Compacts the log through `index`, which the node has applied and holds a durable
    /// snapshot of, described by `data`. Returns the record the node must store (replacing
    /// its snapshot record) before deleting its stored entries with index <= `index`; `None`
    /// if the engine keeps no log.
    fn compact(
        &mut self,
        index: u64,
        data: Vec<u8>,
    ) -> Result<Option<SnapshotRecord>, ConsensusError> {
        let _ = (index, data);
        Ok(None)
    }
}
