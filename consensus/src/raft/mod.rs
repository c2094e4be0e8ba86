//! Raft: a replicated log on tikv raft-rs's `RawNode`, driven as a sans-I/O state machine.
//!
//! # Node ids
//! raft-rs names nodes by `u64`; vchain by the `String` node id from genesis. The raft id is a
//! pure function of the name, [`raft_id`] (64-bit FNV-1a), so every node computes the same id for
//! the same name without carrying a table. The reverse map (needed to address outgoing
//! messages) is learned from: the genesis voters in [`RaftConfig::voters`], the name carried in
//! each membership change's context, the names stored inside snapshots, and the transport's
//! authenticated sender of each incoming message (which must hash to the message's `from`, so a
//! peer cannot speak for another). Two names that hash alike are refused at configuration and
//! when proposing a new voter.
//!
//! # Randomness
//! raft-rs draws each randomized election timeout (Raft §5.2) from `rand::thread_rng()`. To keep
//! the engine deterministic, after every input the engine overwrites the drawn timeout with one
//! from its own PRNG (SplitMix64 seeded by [`RaftConfig::seed`] and the raft id), within the same
//! `[election_tick, 2 * election_tick)` range, whenever raft-rs may have redrawn it (term or role
//! changed, or the value differs from the one the engine set). Randomness is used for election
//! timing only; given the same seed and inputs the engine produces the same outputs.
//!
//! # Persistence and restart
//! See the crate docs for the order the node follows with each [`Ready`]. The engine mirrors what
//! the node made durable (in [`Engine::advance`], after the node says so) and raft-rs reads only
//! that mirror. [`RaftEngine::restart`] rebuilds the engine from what the node stored
//! ([`Durable`]): the hard state, the snapshot record, the entries after it, and the applied index.
//! Committed entries after `applied` are handed out again, so nothing committed is lost; the
//! membership as of `applied` is rebuilt from the snapshot and the conf changes in the log.
//!
//! # Messages
//! Outgoing messages to a peer whose name the engine does not know yet are dropped (Raft
//! tolerates loss). [`Engine::step`] refuses a message whose raft sender is not the transport's
//! authenticated sender, one addressed to another node, and raft-rs's local message types and
//! `MsgPropose` (proposals are forwarded by the node to the leader, never as raft messages).
//! raft-rs logs through `slog`; the engine gives it a discarding logger (no slog-term or
//! env-logger dependencies) and reports what matters through `tracing` itself.
//!
//! # Snapshots
//! The snapshot's data is small: the node's own description of the state (height, block hash,
//! state root) plus the voters' names. A node that receives one in [`Persist::snapshot`]
//! installs the ledger state it describes (fetching it in chunks itself) before applying any
//! later committed entry; its call to [`Engine::advance`] reports the install done. A leader
//! that sent a snapshot and hears nothing for [`SNAPSHOT_ACK_TICKS_MAX`] ticks sends it again
//! (or sooner, if the node calls [`RaftEngine::report_snapshot`]). The node compacts with
//! [`Engine::compact`] once it holds a durable snapshot of its state at an applied index.

mod storage;
mod wire;

use std::collections::{BTreeMap, BTreeSet};

use ::raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message, Snapshot,
};
use ::raft::{RawNode, StateRole};
use tracing::warn;

use self::storage::LogStore;
use crate::{
    Committed, CommittedEntry, ConsensusError, Durable, Engine, LogEntry, MembershipChange, NodeId,
    Outgoing, Persist, Ready, SnapshotRecord,
};

/// Largest proposal accepted, in bytes: the node's largest encoded block
/// (`vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT`, asserted in the node) fits.
pub const PROPOSAL_BYTES_MAX: usize = 12 << 20;
/// Most bytes of entries in one append message (raft-rs `max_size_per_msg`). raft-rs puts at
/// least one entry in a message, so one entry may exceed it, up to [`PROPOSAL_BYTES_MAX`].
pub const MESSAGE_ENTRIES_BYTES_MAX: u64 = 1 << 20;
/// Bytes of an encoded Raft message besides its entries' payloads: the message's own fields,
/// each entry's term, index and framing, a commit or snapshot descriptor. Generous.
pub const MESSAGE_OVERHEAD_BYTES_MAX: usize = 64 << 10;
/// Largest encoded Raft message this engine emits: entries up to the larger of
/// [`MESSAGE_ENTRIES_BYTES_MAX`] and one [`PROPOSAL_BYTES_MAX`] entry, plus the overhead. The
/// node's network frame holds it (asserted there).
pub const MESSAGE_BYTES_MAX: usize = PROPOSAL_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX;
/// Most append messages in flight to one follower (raft-rs `max_inflight_msgs`).
pub const INFLIGHT_MESSAGES_MAX: usize = 256;
/// Most bytes of proposed but uncommitted entries a leader holds (raft-rs
/// `max_uncommitted_size`); past it proposals are dropped.
pub const UNCOMMITTED_BYTES_MAX: u64 = 64 << 20;
// Entries of one message stay within a maximal proposal, so a message is bounded by
// MESSAGE_BYTES_MAX; a leader holds several largest proposals uncommitted before it drops one.
const _: () = assert!(MESSAGE_ENTRIES_BYTES_MAX as usize <= PROPOSAL_BYTES_MAX);
const _: () = assert!(UNCOMMITTED_BYTES_MAX as usize >= 4 * PROPOSAL_BYTES_MAX);
/// Most voters a membership may have.
pub const VOTERS_MAX: usize = 64;
/// Ticks a leader waits for a follower to acknowledge a snapshot before it counts the send as
/// failed and sends again. raft-rs pauses a follower's replication while a snapshot is in flight
/// until the application reports its fate (`RawNode::report_snapshot`); a lost snapshot message
/// would otherwise stall that follower for good.
pub const SNAPSHOT_ACK_TICKS_MAX: u32 = 50;

/// Configuration of a [`RaftEngine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// This node's id.
    pub id: NodeId,
    /// The genesis voters, in the same order on every node (joining nodes pass them too).
    pub voters: Vec<NodeId>,
    /// Ticks without a leader before a follower campaigns (raft-rs `election_tick`); the
    /// actual timeout is drawn in `[election_tick, 2 * election_tick)`.
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats; must be below `election_tick`.
    pub heartbeat_tick: usize,
    /// Seed of the election-timeout PRNG.
    pub seed: u64,
}

impl RaftConfig {
    /// A configuration with the usual timing (election after 10 ticks, heartbeat every 2).
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Self {
        Self {
            id,
            voters,
            election_tick: 10,
            heartbeat_tick: 2,
            seed: 0,
        }
    }

    /// Checks the limits and the genesis membership.
    pub fn validate(&self) -> Result<(), ConsensusError> {
        let invalid = |why: String| Err(ConsensusError::InvalidState { why });
        if self.heartbeat_tick == 0 || self.election_tick <= self.heartbeat_tick {
            return invalid(format!(
                "need 0 < heartbeat_tick ({}) < election_tick ({})",
                self.heartbeat_tick, self.election_tick
            ));
        }
        if self.voters.is_empty() || self.voters.len() > VOTERS_MAX {
            return invalid(format!(
                "{} genesis voters, need 1..={VOTERS_MAX}",
                self.voters.len()
            ));
        }
        let ids: BTreeSet<u64> = self.voters.iter().map(|v| raft_id(v)).collect();
        if ids.len() != self.voters.len() {
            return invalid("genesis voters repeat a name or two names share a raft id".into());
        }
        Ok(())
    }
}

/// The raft id of a node name: 64-bit FNV-1a of its UTF-8 bytes (0, raft-rs's "none", maps to 1).
pub fn raft_id(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash.max(1)
}

/// SplitMix64: the engine's only source of randomness, seeded.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A `Ready` handed out and not yet acknowledged.
struct InFlight {
    raw: Option<::raft::Ready>,
    ready: Ready,
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
    hard_state: Option<HardState>,
    committed: Vec<Entry>,
}

/// The Raft engine. See the module docs.
pub struct RaftEngine {
    id: NodeId,
    raw: RawNode<LogStore>,
    /// raft id -> node name.
    names: BTreeMap<u64, NodeId>,
    rng: SplitMix64,
    election_timeout_min: usize,
    election_timeout_max: usize,
    /// (term, role, timeout) when the engine last set the election timeout.
    pinned: (u64, StateRole, usize),
    /// A commit index raft-rs reported after persistence, not yet in a persisted hard state.
    pending_commit: Option<u64>,
    /// Leader messages and committed entries raft-rs produced in `advance` (its `LightReady`).
    carried_messages: Vec<Message>,
    carried_committed: Vec<Entry>,
    in_flight: Option<InFlight>,
    /// Last log index the node applied (acknowledged through `advance`).
    applied: u64,
    /// Leader only: ticks each follower has been waiting in raft-rs's snapshot state.
    snapshot_waits: BTreeMap<u64, u32>,
    /// Raft ids whose votes count for nothing (their consensus state was lost or restored).
    votes_refused: BTreeSet<u64>,
    /// This node neither votes nor campaigns (its own consensus state is not trustworthy).
    voting_forbidden: bool,
    /// Why this node's own log went back, once a leader showed it (see [`Engine::went_back`]).
    went_back: Option<String>,
}

impl std::fmt::Debug for RaftEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftEngine")
            .field("id", &self.id)
            .field("term", &self.raw.raft.term)
            .field("role", &self.raw.raft.state)
            .field("leader", &self.leader())
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

fn encode<M: protobuf::Message>(message: &M) -> Vec<u8> {
    // rust-protobuf 2 fails only on unset proto2 `required` fields; eraftpb is proto3.
    match message.write_to_bytes() {
        Ok(bytes) => bytes,
        Err(error) => panic!("encoding a raft message cannot fail: {error}"),
    }
}

fn invalid_state(why: impl Into<String>) -> ConsensusError {
    ConsensusError::InvalidState { why: why.into() }
}

/// Decodes a snapshot record the node stored (its [`SnapshotRecord::bytes`]), e.g. to learn at
/// restart which state the stored snapshot stands for.
pub fn decode_snapshot_record(bytes: &[u8]) -> Result<SnapshotRecord, ConsensusError> {
    let snapshot =
        wire::snapshot(bytes).map_err(|e| invalid_state(format!("stored snapshot: {e}")))?;
    Ok(RaftEngine::snapshot_record(&snapshot))
}

/// Snapshot data: voter names (u32 count, then u32 length + UTF-8 each), then the node's data.
fn encode_snapshot_data(names: &[NodeId], node_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(node_data.len() + 16 * names.len() + 4);
    out.extend_from_slice(&(names.len() as u32).to_be_bytes());
    for name in names {
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    out.extend_from_slice(node_data);
    out
}

fn decode_snapshot_data(data: &[u8]) -> Result<(Vec<NodeId>, Vec<u8>), ConsensusError> {
    fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], ConsensusError> {
        if data.len() < n {
            return Err(invalid_state("snapshot data is truncated"));
        }
        let (head, tail) = data.split_at(n);
        *data = tail;
        Ok(head)
    }
    fn take_u32(data: &mut &[u8]) -> Result<usize, ConsensusError> {
        let bytes = take(data, 4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    }
    let mut rest = data;
    let count = take_u32(&mut rest)?;
    if count > VOTERS_MAX {
        return Err(invalid_state(format!("snapshot names {count} voters")));
    }
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        let len = take_u32(&mut rest)?;
        let name = std::str::from_utf8(take(&mut rest, len)?)
            .map_err(|e| invalid_state(format!("snapshot voter name: {e}")))?;
        names.push(name.to_owned());
    }
    Ok((names, rest.to_vec()))
}

fn parse_conf_change(entry: &Entry) -> Result<ConfChange, ConsensusError> {
    wire::conf_change(entry.get_data())
        .map_err(|e| invalid_state(format!("conf change at {}: {e}", entry.index)))
}

fn conf_change_name(change: &ConfChange) -> Result<NodeId, ConsensusError> {
    let name = String::from_utf8(change.get_context().to_vec())
        .map_err(|e| invalid_state(format!("conf change context: {e}")))?;
    if raft_id(&name) != change.node_id {
        return Err(invalid_state(format!(
            "conf change names {name} but carries raft id {}",
            change.node_id
        )));
    }
    Ok(name)
}

/// Applies a simple (one voter) conf change to a voter set (Raft §6 with one server at a time).
fn apply_to_voters(voters: &mut Vec<u64>, change: &ConfChange) {
    match change.get_change_type() {
        ConfChangeType::AddNode => {
            if !voters.contains(&change.node_id) {
                voters.push(change.node_id);
            }
        }
        ConfChangeType::RemoveNode => voters.retain(|v| *v != change.node_id),
        ConfChangeType::AddLearnerNode => {}
    }
}

impl RaftEngine {
    /// A fresh engine with an empty log and the genesis voters. A node joining later starts the
    /// same way; it becomes a voter once the change adding it commits and it catches up.
    pub fn new(config: RaftConfig) -> Result<Self, ConsensusError> {
        Self::restart(config, Durable::default())
    }

    /// An engine resuming from what the node stored. See [`Durable`].
    pub fn restart(config: RaftConfig, durable: Durable) -> Result<Self, ConsensusError> {
        config.validate()?;
        let mut names: BTreeMap<u64, NodeId> = config
            .voters
            .iter()
            .map(|v| (raft_id(v), v.clone()))
            .collect();
        names.insert(raft_id(&config.id), config.id.clone());

        let mut store = LogStore::default();
        // Genesis: the membership "snapshot" at index 0 (never sent: `LogStore::snapshot`
        // serves only real ones).
        let genesis = ConfState {
            voters: config.voters.iter().map(|v| raft_id(v)).collect(),
            ..ConfState::default()
        };
        store.conf_state = genesis.clone();
        store.snapshot.mut_metadata().set_conf_state(genesis);
        if let Some(bytes) = &durable.snapshot {
            let snapshot = wire::snapshot(bytes)
                .map_err(|e| invalid_state(format!("stored snapshot: {e}")))?;
            let (voters, _) = decode_snapshot_data(snapshot.get_data())?;
            for name in voters {
                names.insert(raft_id(&name), name);
            }
            store.install_snapshot(snapshot);
        }
        let snapshot_index = store.snapshot_metadata().index;
        let mut entries = Vec::with_capacity(durable.entries.len());
        for stored in &durable.entries {
            // A crash between storing a compaction's record and deleting the entries it covers
            // leaves older entries behind: they are covered by the snapshot, skip them.
            if stored.index <= snapshot_index {
                continue;
            }
            let entry = wire::entry(&stored.bytes)
                .map_err(|e| invalid_state(format!("stored entry {}: {e}", stored.index)))?;
            if entry.index != stored.index {
                return Err(invalid_state(format!(
                    "entry stored at {} says index {}",
                    stored.index, entry.index
                )));
            }
            entries.push(entry);
        }
        store.append(&entries).map_err(invalid_state)?;
        if let Some(bytes) = &durable.hard_state {
            let hard_state = wire::hard_state(bytes)
                .map_err(|e| invalid_state(format!("stored hard state: {e}")))?;
            store.hard_state.term = store.hard_state.term.max(hard_state.term);
            store.hard_state.vote = hard_state.vote;
            store.hard_state.commit = store.hard_state.commit.max(hard_state.commit);
        }
        let applied = durable.applied.max(snapshot_index);
        if applied > store.last_index() {
            return Err(invalid_state(format!(
                "applied index {applied} is beyond the stored log (last {})",
                store.last_index()
            )));
        }
        // An applied entry was committed even if the hard state carrying that commit index
        // was not yet written (raft-rs requires applied <= committed at start).
        store.hard_state.commit = store.hard_state.commit.max(applied);
        if store.hard_state.commit > store.last_index() {
            return Err(invalid_state(format!(
                "commit index {} is beyond the stored log (last {})",
                store.hard_state.commit,
                store.last_index()
            )));
        }
        // raft-rs's initial conf state is the one as of `applied`; later conf changes are
        // handed out again with the committed entries and applied then.
        let mut voters = store.conf_state.voters.clone();
        for entry in &store.entries {
            if entry.get_entry_type() != EntryType::EntryConfChange {
                continue;
            }
            let change = parse_conf_change(entry)?;
            let name = conf_change_name(&change)?;
            names.insert(change.node_id, name);
            if entry.index <= applied {
                apply_to_voters(&mut voters, &change);
            }
        }
        store.conf_state.voters = voters;

        let id = raft_id(&config.id);
        let raft_config = ::raft::Config {
            id,
            election_tick: config.election_tick,
            heartbeat_tick: config.heartbeat_tick,
            applied,
            max_size_per_msg: MESSAGE_ENTRIES_BYTES_MAX,
            max_inflight_msgs: INFLIGHT_MESSAGES_MAX,
            max_uncommitted_size: UNCOMMITTED_BYTES_MAX,
            // §9.6 of the Raft thesis: a partitioned node rejoining must not depose a healthy
            // leader (pre-vote), and a leader cut off from a quorum steps down (check quorum).
            pre_vote: true,
            check_quorum: true,
            ..::raft::Config::default()
        };
        raft_config
            .validate()
            .map_err(|e| invalid_state(format!("raft config: {e}")))?;
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&raft_config, store, &logger)
            .map_err(|e| invalid_state(format!("raft: {e}")))?;
        let mut engine = Self {
            id: config.id.clone(),
            raw,
            names,
            rng: SplitMix64(config.seed ^ id),
            election_timeout_min: raft_config.min_election_tick(),
            election_timeout_max: raft_config.max_election_tick(),
            pinned: (0, StateRole::Follower, 0),
            pending_commit: None,
            carried_messages: Vec::new(),
            carried_committed: Vec::new(),
            in_flight: None,
            applied,
            snapshot_waits: BTreeMap::new(),
            votes_refused: BTreeSet::new(),
            voting_forbidden: false,
            went_back: None,
        };
        engine.pin_election_timeout(true);
        Ok(engine)
    }

    /// Replaces raft-rs's `thread_rng` election timeout with one from the seeded PRNG
    /// whenever raft-rs may have drawn a new one. See the module docs.
    fn pin_election_timeout(&mut self, force: bool) {
        let raft = &mut self.raw.raft;
        let now = (raft.term, raft.state, raft.randomized_election_timeout());
        if !force && now == self.pinned {
            return;
        }
        let span = (self.election_timeout_max - self.election_timeout_min) as u64;
        let timeout = self.election_timeout_min + (self.rng.next() % span.max(1)) as usize;
        raft.set_randomized_election_timeout(timeout);
        self.pinned = (raft.term, raft.state, timeout);
    }

    /// Counts the ticks each follower spends waiting for a snapshot; past
    /// [`SNAPSHOT_ACK_TICKS_MAX`] reports the send failed so raft-rs probes and resends.
    fn retry_lost_snapshots(&mut self) {
        if self.raw.raft.state != StateRole::Leader {
            self.snapshot_waits.clear();
            return;
        }
        let waiting: Vec<u64> = self
            .raw
            .raft
            .prs()
            .iter()
            .filter(|(_, progress)| progress.state == ::raft::ProgressState::Snapshot)
            .map(|(id, _)| *id)
            .collect();
        self.snapshot_waits.retain(|id, _| waiting.contains(id));
        for id in waiting {
            let ticks = self.snapshot_waits.entry(id).or_insert(0);
            *ticks += 1;
            if *ticks > SNAPSHOT_ACK_TICKS_MAX {
                self.snapshot_waits.remove(&id);
                self.raw
                    .report_snapshot(id, ::raft::SnapshotStatus::Failure);
            }
        }
    }

    /// Reports that the snapshot message to `peer` was delivered (`true`) or lost (`false`),
    /// when the transport knows; without reports the engine retries after
    /// [`SNAPSHOT_ACK_TICKS_MAX`] ticks.
    pub fn report_snapshot(&mut self, peer: &NodeId, delivered: bool) {
        let status = if delivered {
            ::raft::SnapshotStatus::Finish
        } else {
            ::raft::SnapshotStatus::Failure
        };
        self.snapshot_waits.remove(&raft_id(peer));
        self.raw.report_snapshot(raft_id(peer), status);
    }

    /// Reports that `peer` could not be reached (raft-rs then probes it instead of streaming).
    pub fn report_unreachable(&mut self, peer: &NodeId) {
        self.raw.report_unreachable(raft_id(peer));
    }

    /// Current term.
    pub fn term(&self) -> u64 {
        self.raw.raft.term
    }

    /// Last log index the node applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Last index of the log this engine holds (persisted).
    pub fn last_index(&self) -> u64 {
        self.raw.store().last_index()
    }

    /// Index of the snapshot the log starts after (0 if never compacted).
    pub fn snapshot_index(&self) -> u64 {
        self.raw.store().snapshot_metadata().index
    }

    /// Starts an election now (tests and leader hand-over tooling).
    pub fn campaign(&mut self) -> Result<(), ConsensusError> {
        let result = self
            .raw
            .campaign()
            .map_err(|e| invalid_state(format!("campaign: {e}")));
        self.pin_election_timeout(false);
        result
    }

    fn name_of(&self, id: u64) -> Option<NodeId> {
        self.names.get(&id).cloned()
    }

    fn outgoing(&self, messages: Vec<Message>) -> Vec<Outgoing> {
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            match self.name_of(message.to) {
                Some(to) => out.push(Outgoing {
                    to,
                    bytes: encode(&message),
                }),
                // Raft tolerates loss; the peer's name arrives with its first message.
                None => warn!(
                    to = message.to,
                    "dropping a message to a peer of unknown name"
                ),
            }
        }
        out
    }

    fn committed(&self, entries: &[Entry]) -> Vec<Committed> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let committed = match entry.get_entry_type() {
                // A new leader's empty entry (Raft §8) carries nothing for the node.
                EntryType::EntryNormal if entry.get_data().is_empty() => continue,
                EntryType::EntryNormal => CommittedEntry::Payload(entry.get_data().to_vec()),
                EntryType::EntryConfChange => match parse_conf_change(entry)
                    .and_then(|c| Ok((conf_change_name(&c)?, c.get_change_type())))
                {
                    Ok((name, ConfChangeType::AddNode)) => {
                        CommittedEntry::Membership(MembershipChange::AddVoter(name))
                    }
                    Ok((name, ConfChangeType::RemoveNode)) => {
                        CommittedEntry::Membership(MembershipChange::RemoveVoter(name))
                    }
                    Ok((_, ConfChangeType::AddLearnerNode)) => continue,
                    Err(error) => {
                        warn!(%error, index = entry.index, "skipping an undecodable conf change");
                        continue;
                    }
                },
                // Never proposed by this engine (no joint consensus).
                EntryType::EntryConfChangeV2 => continue,
            };
            out.push(Committed {
                index: entry.index,
                entry: committed,
                certificate: None,
            });
        }
        out
    }

    fn snapshot_record(snapshot: &Snapshot) -> SnapshotRecord {
        let meta = snapshot.get_metadata();
        let data = match decode_snapshot_data(snapshot.get_data()) {
            Ok((_, data)) => data,
            Err(error) => {
                warn!(%error, "snapshot data without voter names");
                snapshot.get_data().to_vec()
            }
        };
        SnapshotRecord {
            index: meta.index,
            term: meta.term,
            data,
            bytes: encode(snapshot),
        }
    }

    /// Conf state as of `index` (>= the snapshot index, <= last index).
    fn voters_at(&self, index: u64) -> Result<Vec<u64>, ConsensusError> {
        let store = self.raw.store();
        // Before any compaction the snapshot is the genesis membership at index 0.
        let mut voters = store.snapshot_metadata().get_conf_state().voters.clone();
        for entry in &store.entries {
            if entry.index > index {
                break;
            }
            if entry.get_entry_type() == EntryType::EntryConfChange {
                apply_to_voters(&mut voters, &parse_conf_change(entry)?);
            }
        }
        Ok(voters)
    }
}

impl Engine for RaftEngine {
    fn id(&self) -> &NodeId {
        &self.id
    }

    fn leader(&self) -> Option<NodeId> {
        match self.raw.raft.leader_id {
            ::raft::INVALID_ID => None,
            id => self.name_of(id),
        }
    }

    fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    fn term(&self) -> u64 {
        self.raw.raft.term
    }

    fn voters(&self) -> Vec<NodeId> {
        let mut voters: Vec<NodeId> = self
            .raw
            .store()
            .conf_state
            .voters
            .iter()
            .map(|id| self.name_of(*id).unwrap_or_else(|| format!("raft-{id}")))
            .collect();
        voters.sort();
        voters
    }

    fn tick(&mut self) {
        // A node that may not vote never times out into an election either.
        if self.voting_forbidden && self.raw.raft.state != StateRole::Leader {
            self.retry_lost_snapshots();
            return;
        }
        self.raw.tick();
        self.retry_lost_snapshots();
        self.pin_election_timeout(false);
    }

    fn propose(&mut self, payload: Vec<u8>) -> Result<(), ConsensusError> {
        if payload.len() > PROPOSAL_BYTES_MAX {
            return Err(ConsensusError::ProposalTooLarge {
                size: payload.len(),
                max: PROPOSAL_BYTES_MAX,
            });
        }
        if payload.is_empty() {
            // An empty normal entry means "leader's no-op" in the committed stream.
            return Err(ConsensusError::ProposalDropped {
                why: "empty payload".into(),
            });
        }
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader {
                leader: self.leader(),
            });
        }
        let result = self
            .raw
            .propose(Vec::new(), payload)
            .map_err(|e| ConsensusError::ProposalDropped { why: e.to_string() });
        self.pin_election_timeout(false);
        result
    }

    fn propose_membership(&mut self, change: MembershipChange) -> Result<(), ConsensusError> {
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader {
                leader: self.leader(),
            });
        }
        // One server at a time (Raft thesis §4.1): the next change waits for this one to apply.
        if self.raw.raft.has_pending_conf() {
            return Err(ConsensusError::ProposalDropped {
                why: "a membership change is still pending".into(),
            });
        }
        let voters = &self.raw.store().conf_state.voters;
        let (change_type, name) = match change {
            MembershipChange::AddVoter(name) => {
                let id = raft_id(&name);
                if let Some(known) = self.names.get(&id).filter(|known| **known != name) {
                    return Err(invalid_state(format!(
                        "{name} has the raft id of {known}; choose another node id"
                    )));
                }
                if voters.contains(&id) {
                    return Err(invalid_state(format!("{name} is already a voter")));
                }
                if voters.len() >= VOTERS_MAX {
                    return Err(invalid_state(format!("already {VOTERS_MAX} voters")));
                }
                (ConfChangeType::AddNode, name)
            }
            MembershipChange::RemoveVoter(name) => {
                let id = raft_id(&name);
                if !voters.contains(&id) {
                    return Err(invalid_state(format!("{name} is not a voter")));
                }
                if voters.len() == 1 {
                    return Err(invalid_state("cannot remove the last voter"));
                }
                (ConfChangeType::RemoveNode, name)
            }
        };
        let mut conf_change = ConfChange::default();
        conf_change.set_change_type(change_type);
        conf_change.node_id = raft_id(&name);
        conf_change.context = name.clone().into_bytes().into();
        self.names.insert(conf_change.node_id, name);
        let result = self
            .raw
            .propose_conf_change(Vec::new(), conf_change)
            .map_err(|e| ConsensusError::ProposalDropped { why: e.to_string() });
        self.pin_election_timeout(false);
        result
    }

    fn transfer_leadership(&mut self, to: &NodeId) -> Result<(), ConsensusError> {
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader {
                leader: self.leader(),
            });
        }
        let id = raft_id(to);
        if !self.raw.store().conf_state.voters.contains(&id) {
            return Err(invalid_state(format!("{to} is not a voter")));
        }
        self.raw.transfer_leader(id);
        self.pin_election_timeout(false);
        Ok(())
    }

    fn refuse_votes_from(&mut self, nodes: &BTreeSet<NodeId>) {
        let refused: BTreeSet<u64> = nodes.iter().map(|n| raft_id(n)).collect();
        // A node refused now lost (part of) its log: what this leader recorded as replicated
        // to it no longer holds. raft-rs takes its rejections of later appends as stale
        // (below `matched`) and, on a quiet chain, sends it nothing; probing from the start
        // sends it what it lacks (or a snapshot) at once, so it does not serve an old height.
        // Lowering `matched` never lowers the commit index, which raft-rs only moves forward.
        for id in refused.difference(&self.votes_refused) {
            if let Some(progress) = self.raw.raft.mut_prs().get_mut(*id) {
                progress.matched = 0;
                progress.become_probe();
            }
        }
        self.votes_refused = refused;
    }

    fn forbid_voting(&mut self) {
        self.voting_forbidden = true;
    }

    fn went_back(&self) -> Option<&str> {
        self.went_back.as_deref()
    }

    fn step(&mut self, from: &NodeId, bytes: &[u8]) -> Result<(), ConsensusError> {
        let invalid = |why: String| ConsensusError::InvalidMessage {
            from: from.clone(),
            why,
        };
        // prost, never rust-protobuf's parser, reads peer bytes (see `wire`).
        let mut message = wire::message(bytes).map_err(|e| invalid(e.to_string()))?;
        if message.from != raft_id(from) {
            return Err(invalid(format!(
                "message claims raft id {}, the sender's is {}",
                message.from,
                raft_id(from)
            )));
        }
        if message.to != self.raw.raft.id {
            return Err(invalid(format!("message is for raft id {}", message.to)));
        }
        {
            use ::raft::eraftpb::MessageType::*;
            let kind = message.get_msg_type();
            let vote = matches!(
                kind,
                MsgRequestVote
                    | MsgRequestPreVote
                    | MsgRequestVoteResponse
                    | MsgRequestPreVoteResponse
            );
            // Votes of a node whose state was lost count for nothing (it may have voted in
            // this term already); a node that may not vote answers no vote request and takes
            // no leadership handed to it.
            if (vote && self.votes_refused.contains(&message.from))
                || (self.voting_forbidden
                    && matches!(kind, MsgRequestVote | MsgRequestPreVote | MsgTimeoutNow))
            {
                return Ok(());
            }
        }
        if ::raft::raw_node::is_local_msg(message.get_msg_type())
            || message.get_msg_type() == ::raft::eraftpb::MessageType::MsgPropose
        {
            return Err(invalid(format!(
                "{:?} may not come from a peer",
                message.get_msg_type()
            )));
        }
        if let Some(known) = self.names.get(&message.from) {
            if known != from {
                return Err(invalid(format!(
                    "raft id {} belongs to {known}",
                    message.from
                )));
            }
        }
        self.names.insert(message.from, from.clone());
        // A heartbeat commits up to what the leader believes this node holds; raft-rs stops
        // the process if that is beyond this node's log, which happens exactly when this
        // node's log went back (wiped or restored) under a leader that remembers more. Clamp:
        // committing less is always safe, and the node then waits, refused, for the operator.
        if message.get_msg_type() == ::raft::eraftpb::MessageType::MsgHeartbeat {
            let last = self.raw.raft.raft_log.last_index();
            if message.commit > last {
                // The commit a heartbeat carries is at most what this node acknowledged
                // holding (raft-rs sends min(match, committed)), and a node never loses what
                // it acknowledged unless its state went back. Restored from a copy of this
                // very run, it is the next run to its peers (its incarnation cannot tell), so
                // this is where the node itself finds out: it may have voted in terms it no
                // longer remembers, and from now on it does not vote (issue 11).
                if self.went_back.is_none() {
                    let why = format!(
                        "the leader {from} commits up to log index {}, which this node \
                         acknowledged, but its log ends at {last}",
                        message.commit
                    );
                    warn!(%why, "this node's log went back: it stops voting");
                    self.went_back = Some(why);
                    self.voting_forbidden = true;
                }
                message.commit = last;
            }
        }
        let result = self.raw.step(message).map_err(|e| invalid(e.to_string()));
        self.pin_election_timeout(false);
        result
    }

    fn ready(&mut self) -> Ready {
        if let Some(in_flight) = &self.in_flight {
            return in_flight.ready.clone();
        }
        let mut messages = std::mem::take(&mut self.carried_messages);
        let mut committed = std::mem::take(&mut self.carried_committed);
        let mut persisted_messages = Vec::new();
        let mut entries = Vec::new();
        let mut hard_state = None;
        let mut snapshot = None;
        let raw = if self.raw.has_ready() {
            let mut rd = self.raw.ready();
            messages.extend(rd.take_messages());
            persisted_messages = rd.take_persisted_messages();
            committed.extend(rd.take_committed_entries());
            entries = rd.take_entries();
            hard_state = rd.hs().cloned();
            if !rd.snapshot().is_empty() {
                snapshot = Some(rd.snapshot().clone());
            }
            Some(rd)
        } else {
            None
        };
        if let Some(commit) = self.pending_commit {
            let hs = hard_state.get_or_insert_with(|| self.raw.store().hard_state.clone());
            hs.commit = hs.commit.max(commit);
        }
        if raw.is_none() && messages.is_empty() && committed.is_empty() && hard_state.is_none() {
            return Ready::default();
        }
        let truncate_from = match entries.first() {
            Some(first) if snapshot.is_none() && first.index <= self.raw.store().last_index() => {
                Some(first.index)
            }
            _ => None,
        };
        let ready = Ready {
            persist: Persist {
                snapshot: snapshot.as_ref().map(Self::snapshot_record),
                truncate_from,
                entries: entries
                    .iter()
                    .map(|e| LogEntry {
                        index: e.index,
                        bytes: encode(e),
                    })
                    .collect(),
                hard_state: hard_state.as_ref().map(encode),
            },
            messages: self.outgoing(messages),
            persisted_messages: self.outgoing(persisted_messages),
            committed: self.committed(&committed),
            to_validate: Vec::new(),
            catch_up: Vec::new(),
            equivocations: Vec::new(),
        };
        self.in_flight = Some(InFlight {
            raw,
            ready: ready.clone(),
            snapshot,
            entries,
            hard_state,
            committed,
        });
        ready
    }

    /// # Panics
    /// If `ready` is not the value [`Engine::ready`] last returned, or if raft-rs hands out
    /// a log that does not fit the stored one (both are bugs, not runtime conditions).
    fn advance(&mut self, ready: &Ready) {
        let Some(in_flight) = self.in_flight.take() else {
            assert!(ready.is_empty(), "advance without a ready handed out");
            return;
        };
        assert!(
            in_flight.ready == *ready,
            "advance acknowledged a different ready"
        );
        // 1. The node made `persist` durable: mirror it so raft-rs reads it as stable.
        if let Some(snapshot) = in_flight.snapshot {
            if let Ok((voters, _)) = decode_snapshot_data(snapshot.get_data()) {
                for name in voters {
                    self.names.insert(raft_id(&name), name);
                }
            }
            self.applied = self.applied.max(snapshot.get_metadata().index);
            self.raw.mut_store().install_snapshot(snapshot);
        }
        if let Err(why) = self.raw.mut_store().append(&in_flight.entries) {
            panic!("raft handed out entries that do not fit the log: {why}");
        }
        if let Some(hard_state) = in_flight.hard_state {
            if self.pending_commit.is_some_and(|c| c <= hard_state.commit) {
                self.pending_commit = None;
            }
            self.raw.mut_store().hard_state = hard_state;
        }
        // 2. The node applied `committed`: apply membership changes in log order (raft-rs
        //    applies a conf change when the application applies its entry, Raft §6).
        for entry in &in_flight.committed {
            if entry.get_entry_type() != EntryType::EntryConfChange {
                continue;
            }
            let change = match parse_conf_change(entry) {
                Ok(change) => change,
                Err(error) => {
                    warn!(%error, "skipping an undecodable conf change");
                    continue;
                }
            };
            if let Ok(name) = conf_change_name(&change) {
                self.names.insert(change.node_id, name);
            }
            match self.raw.apply_conf_change(&change) {
                Ok(conf_state) => self.raw.mut_store().conf_state = conf_state,
                Err(error) => warn!(%error, index = entry.index, "conf change not applied"),
            }
        }
        if let Some(last) = in_flight.committed.last() {
            self.applied = self.applied.max(last.index);
        }
        // 3. Tell raft-rs; what it produces now (a leader's further appends, newly committed
        //    entries: its `LightReady`) goes out with the next `ready`.
        if let Some(raw) = in_flight.raw {
            let mut light = self.raw.advance_append(raw);
            if let Some(commit) = light.commit_index() {
                self.pending_commit = Some(commit);
            }
            self.carried_messages = light.take_messages();
            self.carried_committed = light.take_committed_entries();
        }
        self.raw.advance_apply_to(self.applied);
        self.pin_election_timeout(false);
    }

    fn log_bytes(&self) -> u64 {
        self.raw.store().entry_bytes()
    }

    fn compact(
        &mut self,
        index: u64,
        data: Vec<u8>,
    ) -> Result<Option<SnapshotRecord>, ConsensusError> {
        if index > self.applied {
            return Err(invalid_state(format!(
                "cannot compact through {index}: only {} is applied",
                self.applied
            )));
        }
        if index <= self.snapshot_index() {
            return Ok(None);
        }
        let term = ::raft::Storage::term(self.raw.store(), index)
            .map_err(|e| invalid_state(format!("term of {index}: {e}")))?;
        let voters = self.voters_at(index)?;
        let names: Vec<NodeId> = voters.iter().filter_map(|id| self.name_of(*id)).collect();
        let mut snapshot = Snapshot::default();
        snapshot.set_data(encode_snapshot_data(&names, &data).into());
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.mut_conf_state().voters = voters;
        self.raw.mut_store().compact(snapshot.clone());
        debug_assert_eq!(self.snapshot_index(), index);
        Ok(Some(SnapshotRecord {
            index,
            term,
            data,
            bytes: encode(&snapshot),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one node's Readies to quiescence against an in-memory disk; returns the committed.
    fn drain(engine: &mut RaftEngine, disk: &mut Durable) -> Vec<Committed> {
        let mut committed = Vec::new();
        for _ in 0..16 {
            let ready = engine.ready();
            if ready.is_empty() {
                engine.advance(&ready);
                return committed;
            }
            if let Some(from) = ready.persist.truncate_from {
                disk.entries.retain(|e| e.index < from);
            }
            disk.entries.extend(ready.persist.entries.iter().cloned());
            if let Some(hard_state) = &ready.persist.hard_state {
                disk.hard_state = Some(hard_state.clone());
            }
            if let Some(last) = ready.committed.last() {
                disk.applied = last.index;
            }
            committed.extend(ready.committed.iter().cloned());
            engine.advance(&ready);
        }
        panic!("engine never ran out of work");
    }

    fn single(name: &str) -> RaftConfig {
        RaftConfig::new(name.into(), vec![name.into()])
    }

    /// Three engines on a perfect in-memory network, `rounds` ticks long; returns the engines.
    fn run_three(
        setup: impl Fn(&mut BTreeMap<String, (RaftEngine, Durable)>),
        rounds: usize,
    ) -> BTreeMap<String, (RaftEngine, Durable)> {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|n| (*n).to_owned()).collect();
        let mut nodes: BTreeMap<String, (RaftEngine, Durable)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                // Distinct election timing per node (the engine mixes the seed with its id).
                let mut config = RaftConfig::new(name.clone(), names.clone());
                config.seed = 0x5eed_0000 + i as u64;
                let engine = RaftEngine::new(config).expect("engine");
                (name.clone(), (engine, Durable::default()))
            })
            .collect();
        setup(&mut nodes);
        for _ in 0..rounds {
            let mut mail: Vec<(String, Outgoing)> = Vec::new();
            for (name, (engine, disk)) in nodes.iter_mut() {
                engine.tick();
                for _ in 0..4 {
                    let ready = engine.ready();
                    if ready.is_empty() {
                        engine.advance(&ready);
                        break;
                    }
                    if let Some(hard_state) = &ready.persist.hard_state {
                        disk.hard_state = Some(hard_state.clone());
                    }
                    disk.entries.extend(ready.persist.entries.iter().cloned());
                    for m in ready.messages.iter().chain(&ready.persisted_messages) {
                        mail.push((name.clone(), m.clone()));
                    }
                    engine.advance(&ready);
                }
            }
            for (from, message) in mail {
                if let Some((engine, _)) = nodes.get_mut(&message.to) {
                    let _ = engine.step(&from, &message.bytes);
                }
            }
        }
        nodes
    }

    fn leaders(nodes: &BTreeMap<String, (RaftEngine, Durable)>) -> Vec<String> {
        nodes
            .iter()
            .filter(|(_, (engine, _))| engine.is_leader())
            .map(|(name, _)| name.clone())
            .collect()
    }

    #[test]
    fn three_voters_elect_a_leader_on_the_test_network() {
        let nodes = run_three(|_| {}, 200);
        assert_eq!(leaders(&nodes).len(), 1, "exactly one leader");
    }

    #[test]
    fn a_node_forbidden_to_vote_never_leads_and_its_refused_votes_elect_no_one() {
        // c may not vote; a refuses b's votes and b refuses a's. The only vote a or b could get
        // besides its own is c's, which c never gives: no one reaches a quorum of two.
        let nodes = run_three(
            |nodes| {
                nodes.get_mut("c").expect("c").0.forbid_voting();
                let refuse = |who: &str| BTreeSet::from([who.to_owned()]);
                nodes
                    .get_mut("a")
                    .expect("a")
                    .0
                    .refuse_votes_from(&refuse("b"));
                nodes
                    .get_mut("b")
                    .expect("b")
                    .0
                    .refuse_votes_from(&refuse("a"));
            },
            400,
        );
        assert!(
            leaders(&nodes).is_empty(),
            "no quorum of trusted votes: no leader"
        );
        // c never stood for election and never granted a vote.
        let (c, _) = &nodes["c"];
        assert_eq!(c.raw.raft.vote, ::raft::INVALID_ID);
        assert_ne!(c.raw.raft.state, StateRole::Candidate);
        assert_ne!(c.raw.raft.state, StateRole::PreCandidate);
    }

    #[test]
    fn a_forbidden_node_still_follows_an_elected_leader() {
        // a and b may vote: one of them leads, and c follows without voting.
        let nodes = run_three(
            |nodes| nodes.get_mut("c").expect("c").0.forbid_voting(),
            300,
        );
        let leader = leaders(&nodes);
        assert_eq!(leader.len(), 1);
        assert_ne!(leader[0], "c");
        assert_eq!(nodes["c"].0.leader(), Some(leader[0].clone()));
        // It followed without ever granting a vote: a and b elected each other.
        assert_eq!(nodes["c"].0.raw.raft.vote, ::raft::INVALID_ID);
    }

    #[test]
    fn a_leader_resends_its_log_at_once_to_a_node_refused_for_a_lost_log() {
        // a leads and has replicated three entries to b and c; c then loses its log (wiped).
        let mut nodes = run_three(|_| {}, 200);
        let leader = leaders(&nodes).pop().expect("a leader");
        for block in 0..3u8 {
            nodes
                .get_mut(&leader)
                .expect("leader")
                .0
                .propose(vec![block])
                .expect("leader proposes");
        }
        let mut nodes = step_rounds(nodes, 50);
        let follower = ["a", "b", "c"]
            .into_iter()
            .find(|n| **n != *leader)
            .expect("a follower")
            .to_owned();
        let last = nodes[&leader].0.last_index();
        assert_eq!(nodes[&follower].0.last_index(), last);
        let voters: Vec<NodeId> = ["a", "b", "c"].iter().map(|n| (*n).to_owned()).collect();
        let mut wiped = RaftEngine::new(RaftConfig::new(follower.clone(), voters)).expect("engine");
        wiped.forbid_voting();
        nodes.insert(follower.clone(), (wiped, Durable::default()));
        // Its peers learn it went back (incarnations); no block is proposed meanwhile.
        nodes
            .get_mut(&leader)
            .expect("leader")
            .0
            .refuse_votes_from(&BTreeSet::from([follower.clone()]));
        let nodes = step_rounds(nodes, 50);
        assert_eq!(
            nodes[&follower].0.last_index(),
            last,
            "the wiped node got the log back without waiting for new blocks"
        );
    }

    /// Runs `rounds` more rounds of the test network over `nodes`.
    fn step_rounds(
        nodes: BTreeMap<String, (RaftEngine, Durable)>,
        rounds: usize,
    ) -> BTreeMap<String, (RaftEngine, Durable)> {
        let taken = std::cell::RefCell::new(Some(nodes));
        run_three(
            |fresh| {
                *fresh = taken.borrow_mut().take().expect("nodes");
            },
            rounds,
        )
    }

    /// A heartbeat that commits beyond this node's log means the node lost entries it
    /// acknowledged (its data directory was restored from an older copy or wiped): raft-rs
    /// would stop the process; the engine clamps the commit instead, says why its log went
    /// back, and from then on grants no vote (issue 11).
    #[test]
    fn a_heartbeat_beyond_the_log_shows_the_log_went_back_and_the_node_stops_voting() {
        use ::raft::eraftpb::MessageType;
        let voters: Vec<NodeId> = ["a", "b", "c"].iter().map(|n| (*n).to_owned()).collect();
        let mut b = RaftEngine::new(RaftConfig::new("b".into(), voters)).expect("engine");
        let message = |kind: MessageType, from: &str, term: u64| {
            let mut message = Message::default();
            message.set_msg_type(kind);
            message.from = raft_id(from);
            message.to = raft_id("b");
            message.term = term;
            encode(&message)
        };
        // A heartbeat within the log says nothing.
        b.step(&"a".to_owned(), &message(MessageType::MsgHeartbeat, "a", 2))
            .expect("heartbeat");
        assert!(b.went_back().is_none());
        let mut beyond = wire::message(&message(MessageType::MsgHeartbeat, "a", 2)).expect("wire");
        beyond.commit = 7;
        b.step(&"a".to_owned(), &encode(&beyond))
            .expect("a heartbeat beyond the log is stepped, not a panic");
        let why = b.went_back().expect("the log went back").to_owned();
        assert!(
            why.contains("log index 7") && why.contains("ends at 0"),
            "{why}"
        );
        assert_eq!(b.raw.raft.raft_log.committed, 0);
        // The leader falls silent: a node that may vote would stand for election by now.
        for _ in 0..100 {
            b.tick();
        }
        assert_eq!(b.raw.raft.state, StateRole::Follower);
        let ready = b.ready();
        assert!(
            ready
                .messages
                .iter()
                .chain(&ready.persisted_messages)
                .all(|m| m.to == "a"),
            "b asked for votes: {ready:?}"
        );
    }

    #[test]
    fn raft_ids_are_a_stable_function_of_the_name() {
        assert_eq!(raft_id("node-1"), raft_id("node-1"));
        assert_ne!(raft_id("node-1"), raft_id("node-2"));
        // FNV-1a of the empty string is the offset basis.
        assert_eq!(raft_id(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn config_validation_refuses_bad_limits_and_membership() {
        let mut config = RaftConfig::new("a".into(), vec!["a".into(), "b".into()]);
        assert!(config.validate().is_ok());
        config.heartbeat_tick = config.election_tick;
        assert!(config.validate().is_err());
        let config = RaftConfig::new("a".into(), vec!["a".into(), "a".into()]);
        assert!(config.validate().is_err());
        let config = RaftConfig::new("a".into(), Vec::new());
        assert!(RaftEngine::new(config).is_err());
    }

    #[test]
    fn snapshot_data_round_trips_and_refuses_truncation() {
        let names = vec!["node-1".to_owned(), "node-22".to_owned()];
        let data = encode_snapshot_data(&names, b"height 7");
        assert_eq!(
            decode_snapshot_data(&data).expect("decodes"),
            (names, b"height 7".to_vec())
        );
        assert!(decode_snapshot_data(&data[..6]).is_err());
    }

    #[test]
    fn a_single_voter_commits_and_a_restart_resumes_without_loss_or_replay() {
        let mut disk = Durable::default();
        let mut engine = RaftEngine::new(single("solo")).expect("engine");
        engine.campaign().expect("campaign");
        drain(&mut engine, &mut disk);
        assert!(engine.is_leader());
        assert_eq!(engine.voters(), vec!["solo".to_owned()]);
        engine.propose(b"block-1".to_vec()).expect("leader");
        engine.propose(b"block-2".to_vec()).expect("leader");
        let committed = drain(&mut engine, &mut disk);
        let payloads: Vec<&[u8]> = committed.iter().filter_map(Committed::payload).collect();
        assert_eq!(payloads, vec![&b"block-1"[..], &b"block-2"[..]]);
        assert!(committed.windows(2).all(|w| w[0].index < w[1].index));

        // Restart with everything applied: nothing is handed out again.
        let mut restarted = RaftEngine::restart(single("solo"), disk.clone()).expect("restart");
        assert_eq!(restarted.applied(), disk.applied);
        restarted.campaign().expect("campaign");
        let mut disk_after = disk.clone();
        assert!(drain(&mut restarted, &mut disk_after)
            .iter()
            .all(|c| c.payload().is_none()));

        // Restart having applied less: the rest is handed out again, in order.
        let mut behind = disk.clone();
        behind.applied = committed[0].index;
        let mut restarted = RaftEngine::restart(single("solo"), behind.clone()).expect("restart");
        let again = drain(&mut restarted, &mut behind);
        assert_eq!(
            again
                .iter()
                .filter_map(Committed::payload)
                .collect::<Vec<_>>(),
            vec![&b"block-2"[..]]
        );
    }

    #[test]
    fn restart_refuses_an_applied_index_beyond_the_log() {
        let durable = Durable {
            applied: 5,
            ..Durable::default()
        };
        assert!(matches!(
            RaftEngine::restart(single("solo"), durable),
            Err(ConsensusError::InvalidState { .. })
        ));
    }

    #[test]
    fn a_message_whose_sender_does_not_match_the_transport_is_refused() {
        let config = RaftConfig::new("a".into(), vec!["a".into(), "b".into(), "c".into()]);
        let mut a = RaftEngine::new(config.clone()).expect("engine");
        a.campaign().expect("campaign");
        let mut disk = Durable::default();
        let ready = a.ready();
        let to_b = ready
            .messages
            .iter()
            .chain(&ready.persisted_messages)
            .find(|m| m.to == "b")
            .expect("a asks b for a vote")
            .clone();
        let _ = drain(&mut a, &mut disk);
        let mut b = RaftEngine::new(RaftConfig {
            id: "b".into(),
            ..config
        })
        .expect("engine");
        let error = b.step(&"c".to_owned(), &to_b.bytes).expect_err("spoofed");
        assert!(matches!(error, ConsensusError::InvalidMessage { .. }));
        assert!(b.step(&"a".to_owned(), &to_b.bytes).is_ok());
        assert!(b.step(&"a".to_owned(), b"not protobuf \xff\xff").is_err());
    }

    /// Appends `value` as a protobuf varint.
    fn push_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    /// `depth` unknown fields (number 20) nested inside each other as groups.
    fn nested_groups(depth: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * depth);
        for _ in 0..depth {
            push_varint(&mut out, (20 << 3) | 3); // start group
        }
        for _ in 0..depth {
            push_varint(&mut out, (20 << 3) | 4); // end group
        }
        out
    }

    /// `depth` unknown length-delimited fields (number 20), each holding the next.
    fn nested_length_delimited(depth: usize) -> Vec<u8> {
        let varint_len = |v: usize| (usize::BITS - v.max(1).leading_zeros()).div_ceil(7) as usize;
        // lengths[i]: encoded size of the field at nesting level i from the inside.
        let mut lengths = vec![0usize; depth + 1];
        for i in 1..=depth {
            lengths[i] = 2 + varint_len(lengths[i - 1]) + lengths[i - 1];
        }
        let mut out = Vec::with_capacity(lengths[depth]);
        for i in (1..=depth).rev() {
            push_varint(&mut out, (20 << 3) | 2);
            push_varint(&mut out, lengths[i - 1] as u64);
        }
        assert_eq!(out.len(), lengths[depth]);
        out
    }

    #[test]
    fn a_deeply_nested_message_is_refused_and_the_engine_keeps_working() {
        const DEPTH: usize = 100_000;
        let config = RaftConfig::new("a".into(), vec!["a".into(), "b".into(), "c".into()]);
        let mut a = RaftEngine::new(config.clone()).expect("engine");
        a.campaign().expect("campaign");
        let ready = a.ready();
        let to_b = ready
            .messages
            .iter()
            .chain(&ready.persisted_messages)
            .find(|m| m.to == "b")
            .expect("a asks b for a vote")
            .clone();
        let mut b = RaftEngine::new(RaftConfig {
            id: "b".into(),
            ..config
        })
        .expect("engine");

        // A valid vote request followed by 100k nested groups: refused at prost's recursion
        // limit, an error for this message only (RUSTSEC-2024-0437 is this input).
        let mut groups = to_b.bytes.clone();
        groups.extend(nested_groups(DEPTH));
        let error = b.step(&"a".to_owned(), &groups).expect_err("too deep");
        assert!(
            matches!(&error, ConsensusError::InvalidMessage { why, .. } if why.contains("recursion")),
            "{error:?}"
        );
        // The same nesting inside an entry of an append.
        let mut append = Message::default();
        append.set_msg_type(::raft::eraftpb::MessageType::MsgAppend);
        append.from = raft_id("a");
        append.to = raft_id("b");
        let inner = Entry {
            index: 1,
            ..Entry::default()
        };
        let mut entry_bytes = encode(&inner);
        entry_bytes.extend(nested_groups(DEPTH));
        let mut nested_append = encode(&append);
        push_varint(&mut nested_append, (7 << 3) | 2);
        push_varint(&mut nested_append, entry_bytes.len() as u64);
        nested_append.extend(entry_bytes);
        assert!(matches!(
            b.step(&"a".to_owned(), &nested_append),
            Err(ConsensusError::InvalidMessage { .. })
        ));
        // 100k nested length-delimited unknown fields are skipped whole, never recursed into.
        let mut delimited = to_b.bytes.clone();
        delimited.extend(nested_length_delimited(DEPTH));
        let _ = b.step(&"a".to_owned(), &delimited);

        // The engine still works: the plain request gets b's vote.
        b.step(&"a".to_owned(), &to_b.bytes)
            .expect("a valid message");
        let ready = b.ready();
        assert!(ready
            .messages
            .iter()
            .chain(&ready.persisted_messages)
            .any(|m| m.to == "a"));
    }

    #[test]
    fn fields_a_peer_adds_to_an_entry_do_not_reach_the_log() {
        let config = RaftConfig::new("b".into(), vec!["a".into(), "b".into(), "c".into()]);
        let mut b = RaftEngine::new(config).expect("engine");
        let clean = Entry {
            term: 1,
            index: 1,
            data: b"block".to_vec().into(),
            ..Entry::default()
        };
        // The same entry with 4 KiB of an unknown field (number 20) appended.
        let mut padded = encode(&clean);
        push_varint(&mut padded, (20 << 3) | 2);
        push_varint(&mut padded, 4096);
        padded.extend(std::iter::repeat_n(0xab, 4096));
        let mut append = Message::default();
        append.set_msg_type(::raft::eraftpb::MessageType::MsgAppend);
        append.from = raft_id("a");
        append.to = raft_id("b");
        append.term = 1;
        let mut bytes = encode(&append);
        push_varint(&mut bytes, (7 << 3) | 2);
        push_varint(&mut bytes, padded.len() as u64);
        bytes.extend(padded);
        b.step(&"a".to_owned(), &bytes).expect("a valid append");
        let ready = b.ready();
        let stored: Vec<&LogEntry> = ready.persist.entries.iter().collect();
        assert_eq!(stored.len(), 1);
        let expected = encode(&clean);
        assert!(
            stored[0].bytes == expected,
            "only eraftpb's fields are kept: {} bytes stored, {} expected",
            stored[0].bytes.len(),
            expected.len()
        );
    }

    #[test]
    fn compaction_needs_an_applied_index() {
        let mut disk = Durable::default();
        let mut engine = RaftEngine::new(single("solo")).expect("engine");
        engine.campaign().expect("campaign");
        drain(&mut engine, &mut disk);
        engine.propose(b"block-1".to_vec()).expect("leader");
        drain(&mut engine, &mut disk);
        let applied = engine.applied();
        assert_eq!(
            engine.log_bytes(),
            b"block-1".len() as u64,
            "the log holds the block (and the leader's empty entry)"
        );
        assert!(engine.compact(applied + 1, Vec::new()).is_err());
        let record = engine
            .compact(applied, b"state".to_vec())
            .expect("compact")
            .expect("a record");
        assert_eq!(
            (record.index, record.data.as_slice()),
            (applied, &b"state"[..])
        );
        assert_eq!(engine.snapshot_index(), applied);
        assert_eq!(
            engine.log_bytes(),
            0,
            "compaction frees the entries' memory"
        );
        assert_eq!(engine.compact(applied, Vec::new()), Ok(None));
        // Restart from the record alone (entries through it deleted).
        let durable = Durable {
            snapshot: Some(record.bytes),
            entries: Vec::new(),
            ..disk
        };
        let restarted = RaftEngine::restart(single("solo"), durable).expect("restart");
        assert_eq!(restarted.snapshot_index(), applied);
        assert_eq!(restarted.applied(), applied);
    }
}
