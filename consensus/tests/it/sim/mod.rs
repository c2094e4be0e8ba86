//! A deterministic simulation of a Raft cluster (in the manner of raft-rs's
//! `harness/src/network.rs` and TigerBeetle's VOPR): N engines, an in-memory disk per node that
//! applies each `Ready`'s `persist`, and a network that drops, delays, reorders, duplicates,
//! partitions and isolates, all driven by one seeded PRNG. A crash drops a node's engine and
//! rebuilds it from its disk. The seed is printed when a test fails.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use vchain_consensus::raft::{RaftConfig, RaftEngine};
use vchain_consensus::{
    CommittedEntry, ConsensusError, Durable, Engine, LogEntry, MembershipChange, Outgoing, Ready,
    SnapshotRecord,
};

/// SplitMix64, the simulation's only randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The application's state: the payloads applied, in order, with their log index.
pub type Applied = Vec<(u64, Vec<u8>)>;

fn describe(applied: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for (index, payload) in applied {
        hash = fnv(&index.to_be_bytes(), hash);
        hash = fnv(payload, hash);
    }
    let mut data = (applied.len() as u64).to_be_bytes().to_vec();
    data.extend_from_slice(&hash.to_be_bytes());
    data
}

/// What survives a crash.
#[derive(Debug, Default, Clone)]
pub struct Disk {
    pub hard_state: Option<Vec<u8>>,
    pub snapshot: Option<SnapshotRecord>,
    pub entries: BTreeMap<u64, Vec<u8>>,
    /// Application state and the applied index, written together (one batch).
    pub applied_index: u64,
    pub applied: Applied,
    pub snapshots_installed: u64,
    /// Membership changes applied, with their log index.
    pub memberships: Vec<(u64, MembershipChange)>,
}

impl Disk {
    fn durable(&self) -> Durable {
        Durable {
            hard_state: self.hard_state.clone(),
            snapshot: self.snapshot.as_ref().map(|s| s.bytes.clone()),
            entries: self
                .entries
                .iter()
                .map(|(index, bytes)| LogEntry {
                    index: *index,
                    bytes: bytes.clone(),
                })
                .collect(),
            applied: self.applied_index,
        }
    }
}

pub struct Node {
    pub name: String,
    pub engine: Option<RaftEngine>,
    pub disk: Disk,
    pub config: RaftConfig,
}

#[derive(Debug, Clone)]
struct Packet {
    from: usize,
    to: usize,
    bytes: Vec<u8>,
    deliver_at: u64,
}

/// Fault settings.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub drop_per_mille: u64,
    pub duplicate_per_mille: u64,
    pub delay_steps_max: u64,
    /// Chance per node per step of a crash in the middle of handling a Ready (after persist).
    pub crash_mid_ready_per_mille: u64,
}

pub struct Sim {
    pub seed: u64,
    pub rng: Rng,
    pub nodes: Vec<Node>,
    pub now: u64,
    packets: Vec<Packet>,
    pub faults: Faults,
    /// Partition side of each node; nodes talk only within one side.
    side: Vec<u32>,
    isolated: BTreeSet<usize>,
    /// Compact when this many entries were applied since the last snapshot (0: never).
    pub compact_every: u64,
    /// The longest committed sequence ever observed, and the highest applied index behind it.
    pub history: Applied,
    history_applied: u64,
    /// Election safety (Raft §5.2): at most one leader per term.
    leaders: BTreeMap<u64, String>,
    /// How many times a leader overwrote a follower's suffix.
    pub truncations: u64,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "simulation failed: seed = {} at step {}",
                self.seed, self.now
            );
        }
    }
}

impl Sim {
    pub fn new(n: usize, seed: u64) -> Self {
        let names: Vec<String> = (1..=n).map(|i| format!("node-{i}")).collect();
        let mut sim = Sim {
            seed,
            rng: Rng::new(seed),
            nodes: Vec::new(),
            now: 0,
            packets: Vec::new(),
            faults: Faults {
                delay_steps_max: 1,
                ..Faults::default()
            },
            side: Vec::new(),
            isolated: BTreeSet::new(),
            compact_every: 0,
            history: Vec::new(),
            history_applied: 0,
            leaders: BTreeMap::new(),
            truncations: 0,
        };
        for name in &names {
            sim.add_node(name, &names);
        }
        sim
    }

    /// Adds a running node that knows the genesis `voters` (it joins as a voter only once a
    /// membership change adds it).
    pub fn add_node(&mut self, name: &str, voters: &[String]) -> usize {
        let mut config = RaftConfig::new(name.to_owned(), voters.to_vec());
        config.seed = self.seed;
        let engine = RaftEngine::new(config.clone()).expect("valid config");
        self.nodes.push(Node {
            name: name.to_owned(),
            engine: Some(engine),
            disk: Disk::default(),
            config,
        });
        self.side.push(0);
        self.nodes.len() - 1
    }

    pub fn index_of(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .expect("known node")
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].engine.is_some()
    }

    pub fn engine(&mut self, i: usize) -> &mut RaftEngine {
        self.nodes[i].engine.as_mut().expect("node is up")
    }

    pub fn crash(&mut self, i: usize) {
        self.nodes[i].engine = None;
        self.packets.retain(|p| p.to != i);
    }

    pub fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.engine.is_some() {
            return;
        }
        let engine = RaftEngine::restart(node.config.clone(), node.disk.durable())
            .unwrap_or_else(|e| panic!("seed {}: {} cannot restart: {e}", self.seed, node.name));
        node.engine = Some(engine);
    }

    pub fn isolate(&mut self, i: usize) {
        self.isolated.insert(i);
    }

    /// Splits the cluster: nodes in `minority` on one side, the rest on the other.
    pub fn partition(&mut self, minority: &[usize]) {
        for (i, side) in self.side.iter_mut().enumerate() {
            *side = u32::from(minority.contains(&i));
        }
    }

    pub fn heal(&mut self) {
        self.isolated.clear();
        self.side.iter_mut().for_each(|s| *s = 0);
    }

    fn linked(&self, a: usize, b: usize) -> bool {
        !self.isolated.contains(&a) && !self.isolated.contains(&b) && self.side[a] == self.side[b]
    }

    fn send(&mut self, from: usize, messages: Vec<Outgoing>) {
        for message in messages {
            let Some(to) = self.nodes.iter().position(|n| n.name == message.to) else {
                continue;
            };
            if !self.linked(from, to) || self.rng.chance(self.faults.drop_per_mille) {
                continue;
            }
            let copies = if self.rng.chance(self.faults.duplicate_per_mille) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let delay = self.rng.below(self.faults.delay_steps_max + 1);
                self.packets.push(Packet {
                    from,
                    to,
                    bytes: message.bytes.clone(),
                    deliver_at: self.now + delay,
                });
            }
        }
    }

    /// Handles Readies until the engine has nothing left, in the order the node must follow:
    /// send `messages`, persist (one batch), send `persisted_messages`, apply, advance.
    fn drain(&mut self, i: usize) {
        for _ in 0..64 {
            let Some(engine) = self.nodes[i].engine.as_mut() else {
                return;
            };
            let ready = engine.ready();
            if ready.is_empty() {
                engine.advance(&ready);
                return;
            }
            self.send(i, ready.messages.clone());
            // A crash may strike before the batch is durable (only `messages` left) ...
            if self.rng.chance(self.faults.crash_mid_ready_per_mille) {
                self.crash(i);
                return;
            }
            self.persist(i, &ready);
            // ... or after it, before anything else went out or was applied.
            if self.rng.chance(self.faults.crash_mid_ready_per_mille) {
                self.crash(i);
                return;
            }
            self.send(i, ready.persisted_messages.clone());
            self.apply(i, &ready);
            let engine = self.nodes[i].engine.as_mut().expect("up");
            engine.advance(&ready);
            self.maybe_compact(i);
        }
        panic!("seed {}: node {i} never ran out of work", self.seed);
    }

    fn persist(&mut self, i: usize, ready: &Ready) {
        let persist = &ready.persist;
        if let Some(record) = &persist.snapshot {
            self.install_snapshot(i, record);
        }
        let disk = &mut self.nodes[i].disk;
        if let Some(from) = persist.truncate_from {
            self.truncations += 1;
            disk.entries.retain(|index, _| *index < from);
        }
        for entry in &persist.entries {
            disk.entries.insert(entry.index, entry.bytes.clone());
        }
        if let Some(hard_state) = &persist.hard_state {
            disk.hard_state = Some(hard_state.clone());
        }
    }

    /// The node fetches the state `record` describes from its peers (here: from the observed
    /// history, checking it against the record's description).
    fn install_snapshot(&mut self, i: usize, record: &SnapshotRecord) {
        assert!(
            self.history_applied >= record.index,
            "seed {}: snapshot at {} beyond anything applied ({})",
            self.seed,
            record.index,
            self.history_applied
        );
        let state: Applied = self
            .history
            .iter()
            .filter(|(index, _)| *index <= record.index)
            .cloned()
            .collect();
        assert_eq!(
            describe(&state),
            record.data,
            "seed {}: snapshot at {} does not describe the committed history",
            self.seed,
            record.index
        );
        let disk = &mut self.nodes[i].disk;
        assert!(
            record.index >= disk.applied_index,
            "snapshot goes backwards"
        );
        disk.entries.clear();
        disk.snapshot = Some(record.clone());
        disk.applied = state;
        disk.applied_index = record.index;
        disk.snapshots_installed += 1;
    }

    fn apply(&mut self, i: usize, ready: &Ready) {
        let name = self.nodes[i].name.clone();
        let disk = &mut self.nodes[i].disk;
        for committed in &ready.committed {
            assert!(
                committed.index > disk.applied_index,
                "seed {}: {} applied {} again (applied {})",
                self.seed,
                name,
                committed.index,
                disk.applied_index
            );
            match &committed.entry {
                CommittedEntry::Payload(payload) => {
                    disk.applied.push((committed.index, payload.clone()))
                }
                CommittedEntry::Membership(change) => {
                    disk.memberships.push((committed.index, change.clone()))
                }
            }
            disk.applied_index = committed.index;
        }
    }

    fn maybe_compact(&mut self, i: usize) {
        if self.compact_every == 0 {
            return;
        }
        let node = &mut self.nodes[i];
        let Some(engine) = node.engine.as_mut() else {
            return;
        };
        let applied = node.disk.applied_index;
        if applied < engine.snapshot_index() + self.compact_every {
            return;
        }
        let data = describe(&node.disk.applied);
        let record = engine
            .compact(applied, data)
            .expect("compact through applied")
            .expect("the raft engine keeps a log");
        assert_eq!(record.index, applied);
        node.disk.snapshot = Some(record);
        node.disk.entries.retain(|index, _| *index > applied);
    }

    /// One step: every live node ticks, due packets arrive in random order, every node drains.
    pub fn step(&mut self) {
        self.now += 1;
        for i in 0..self.nodes.len() {
            if let Some(engine) = self.nodes[i].engine.as_mut() {
                engine.tick();
            }
        }
        let mut due = Vec::new();
        let mut later = Vec::new();
        for packet in std::mem::take(&mut self.packets) {
            if packet.deliver_at <= self.now {
                due.push(packet);
            } else {
                later.push(packet);
            }
        }
        self.packets = later;
        // Fisher-Yates: arrival order is the PRNG's.
        for k in (1..due.len()).rev() {
            let j = self.rng.below(k as u64 + 1) as usize;
            due.swap(k, j);
        }
        for packet in due {
            if !self.linked(packet.from, packet.to) {
                continue;
            }
            let from = self.nodes[packet.from].name.clone();
            if let Some(engine) = self.nodes[packet.to].engine.as_mut() {
                // A rejected message (e.g. from a removed peer) is dropped, as the node would.
                let _ = engine.step(&from, &packet.bytes);
            }
        }
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
        self.check_safety();
    }

    /// Every node's committed sequence (durable, including crashed nodes') is a prefix of one
    /// history (State Machine Safety, Raft §5.4.3); at most one leader per term (§5.2).
    pub fn check_safety(&mut self) {
        for i in 0..self.nodes.len() {
            let applied = &self.nodes[i].disk.applied;
            let common = applied.len().min(self.history.len());
            if applied[..common] != self.history[..common] {
                let at = (0..common)
                    .find(|k| applied[*k] != self.history[*k])
                    .unwrap_or(common);
                panic!(
                    "seed {}: step {}: {} diverges at position {at}: {:?} vs history {:?}",
                    self.seed,
                    self.now,
                    self.nodes[i].name,
                    applied.get(at),
                    self.history.get(at)
                );
            }
            if applied.len() > self.history.len() {
                self.history = applied.clone();
            }
            self.history_applied = self.history_applied.max(self.nodes[i].disk.applied_index);
            if let Some(engine) = self.nodes[i].engine.as_ref() {
                // The disk holds exactly the log the engine holds: a restart rebuilds the same.
                let disk = &self.nodes[i].disk;
                let disk_last = disk
                    .entries
                    .keys()
                    .last()
                    .copied()
                    .or(disk.snapshot.as_ref().map(|s| s.index))
                    .unwrap_or(0);
                assert_eq!(
                    disk_last,
                    engine.last_index(),
                    "seed {}: step {}: {} disk and engine logs end apart",
                    self.seed,
                    self.now,
                    self.nodes[i].name
                );
                if engine.is_leader() {
                    let name = self.nodes[i].name.clone();
                    let previous = self.leaders.entry(engine.term()).or_insert(name.clone());
                    assert_eq!(
                        *previous,
                        name,
                        "seed {}: two leaders in term {}",
                        self.seed,
                        engine.term()
                    );
                }
            }
        }
    }

    /// Runs until `done` holds (checked after each step) or `steps_max` steps pass.
    pub fn run_until(&mut self, steps_max: u64, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        for _ in 0..steps_max {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Each node's view, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let view = node
                .engine
                .as_ref()
                .map(|e| format!("{e:?} last={} snap={}", e.last_index(), e.snapshot_index()));
            out.push_str(&format!(
                "\n  {}: {:?} disk applied={} payloads={} entries={:?}..{:?} snap={:?}",
                node.name,
                view,
                node.disk.applied_index,
                node.disk.applied.len(),
                node.disk.entries.keys().next(),
                node.disk.entries.keys().last(),
                node.disk.snapshot.as_ref().map(|s| s.index),
            ));
        }
        out
    }

    pub fn run(&mut self, steps: u64) {
        for _ in 0..steps {
            self.step();
        }
    }

    /// The live leader all live nodes in `among` agree on.
    pub fn agreed_leader(&self, among: &[usize]) -> Option<usize> {
        let leaders: Vec<usize> = among
            .iter()
            .copied()
            .filter(|i| {
                self.nodes[*i]
                    .engine
                    .as_ref()
                    .is_some_and(|e| e.is_leader())
            })
            .collect();
        let [leader] = leaders[..] else {
            return None;
        };
        let name = &self.nodes[leader].name;
        among
            .iter()
            .all(|i| {
                self.nodes[*i]
                    .engine
                    .as_ref()
                    .is_some_and(|e| e.leader().as_ref() == Some(name))
            })
            .then_some(leader)
    }

    pub fn leader(&self) -> Option<usize> {
        let all: Vec<usize> = (0..self.nodes.len()).filter(|i| self.is_up(*i)).collect();
        self.agreed_leader(&all)
    }

    /// Any live node that believes it leads.
    pub fn some_leader(&self) -> Option<usize> {
        (0..self.nodes.len()).find(|i| {
            self.nodes[*i]
                .engine
                .as_ref()
                .is_some_and(|e| e.is_leader())
        })
    }

    pub fn propose(&mut self, i: usize, payload: &[u8]) -> Result<(), ConsensusError> {
        let result = self.engine(i).propose(payload.to_vec());
        self.drain(i);
        result
    }

    pub fn propose_membership(
        &mut self,
        i: usize,
        change: MembershipChange,
    ) -> Result<(), ConsensusError> {
        let result = self.engine(i).propose_membership(change);
        self.drain(i);
        result
    }

    pub fn payloads(&self, i: usize) -> Vec<Vec<u8>> {
        self.nodes[i]
            .disk
            .applied
            .iter()
            .map(|(_, p)| p.clone())
            .collect()
    }

    pub fn has_applied(&self, i: usize, payload: &[u8]) -> bool {
        self.nodes[i].disk.applied.iter().any(|(_, p)| p == payload)
    }

    /// Runs until every node in `among` applied `payload`.
    pub fn commit_on(&mut self, among: &[usize], payload: &[u8], steps_max: u64) -> bool {
        let among = among.to_vec();
        self.run_until(steps_max, |sim| {
            among.iter().all(|i| sim.has_applied(*i, payload))
        })
    }

    /// Elects a leader among `among` (all live nodes agree), or panics.
    pub fn elect(&mut self, among: &[usize], steps_max: u64) -> usize {
        let among = among.to_vec();
        let seed = self.seed;
        assert!(
            self.run_until(steps_max, |sim| sim.agreed_leader(&among).is_some()),
            "seed {seed}: no leader among {among:?} within {steps_max} steps"
        );
        self.agreed_leader(&among).expect("just checked")
    }

    /// Proposes on whichever node leads, retrying until it commits on `among`.
    pub fn commit(&mut self, among: &[usize], payload: &[u8], steps_max: u64) -> bool {
        let among = among.to_vec();
        let mut proposed_in_term = None;
        for _ in 0..steps_max {
            if among.iter().all(|i| self.has_applied(*i, payload)) {
                return true;
            }
            if let Some(leader) = self.agreed_leader(&among) {
                let term = self.engine(leader).term();
                if proposed_in_term != Some(term)
                    && !self.history.iter().any(|(_, p)| p == payload)
                    && self.propose(leader, payload).is_ok()
                {
                    proposed_in_term = Some(term);
                }
            }
            self.step();
        }
        among.iter().all(|i| self.has_applied(*i, payload))
    }
}
