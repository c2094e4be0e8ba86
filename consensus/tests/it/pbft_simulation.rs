//! Deterministic simulation of PBFT replicas (ADR 0014, issue 13): 4 or 7 engines in one
//! process, each behind a model node that validates, applies and stores the way the real node
//! does, over a network that drops, delays, duplicates, reorders and partitions from a seed,
//! with crashes and restarts from durable state and Byzantine replicas. After every delivery
//! and tick it checks that no two honest nodes applied different blocks at one height; after
//! the faults heal (at most f Byzantine replicas left), that every honest node reaches the
//! target height and all end with the same chain (the same state root).
//!
//! Any failure names its seed; `VCHAIN_SIM_SEED=N` replays exactly that run, and
//! `VCHAIN_SIM_SEEDS=N` runs N seeds per configuration (`scripts/simulate.sh --seeds N`).
//!
//! Signatures here are keyed SHA-256 (a replica can only make its own), which is what the
//! protocol needs from them; the real ed25519 rule is tested with the certificates and in the
//! node's multi-process tests.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use vchain_consensus::pbft::messages::{Crypto, Envelope, Kind, Vote};
use vchain_consensus::pbft::votes::Phase;
use vchain_consensus::pbft::{quorum, PbftEngine, Timing};
use vchain_consensus::{
    CertifiedBlock, CommitSignatures, CommittedEntry, ConsensusError, Durable, Engine, Proposal,
};

/// Seeds per configuration in a plain `cargo test` (CI); more with `VCHAIN_SIM_SEEDS`.
const SEEDS_DEFAULT: u64 = 500;
/// Blocks every honest node must apply.
const TARGET_HEIGHT: u64 = 12;
/// Ticks with faults (partitions, crashes, drops) before the network heals.
const FAULT_TICKS: u64 = 400;
/// Ticks a run may take in all before a stall counts as a liveness failure.
const TICKS_MAX: u64 = 6_000;
/// Most ticks a message is delayed.
const DELAY_TICKS_MAX: u64 = 3;

/// A seeded xorshift64*: the whole run replays from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Keyed-hash signatures: replica `r`'s secret is `sha256("secret" ‖ r)`.
struct SimCrypto {
    me: String,
}

fn secret(replica: &str) -> [u8; 32] {
    sha256(&[b"secret", replica.as_bytes()])
}

impl Crypto for SimCrypto {
    fn sign(&self, statement: &[u8]) -> [u8; 64] {
        let half = sha256(&[&secret(&self.me), statement]);
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&half);
        signature[32..].copy_from_slice(&sha256(&[&half]));
        signature
    }
    fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool {
        SimCrypto {
            me: replica.to_owned(),
        }
        .sign(statement)
            == signature
    }
    fn commit_statement(&self, sequence: u64, view: u64, digest: &[u8; 32]) -> Vec<u8> {
        let mut bytes = b"sim-commit".to_vec();
        bytes.extend_from_slice(&sequence.to_be_bytes());
        bytes.extend_from_slice(&view.to_be_bytes());
        bytes.extend_from_slice(digest);
        bytes
    }
    fn digest(&self, block: &[u8]) -> [u8; 32] {
        sha256(&[block])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A block: `height|parent digest|payload`. Valid when it extends the node's chain and its
/// payload does not start with "INVALID".
fn block(height: u64, parent: &[u8; 32], payload: &str) -> Vec<u8> {
    format!("{height}|{}|{payload}", hex(parent)).into_bytes()
}

fn parse(block: &[u8]) -> Option<(u64, String, String)> {
    let text = std::str::from_utf8(block).ok()?;
    let mut parts = text.splitn(3, '|');
    let height = parts.next()?.parse().ok()?;
    Some((height, parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// What a Byzantine replica does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byzantine {
    /// Sends nothing at all.
    Silent,
    /// As primary, sends half its peers one valid block and half another (two pre-prepares
    /// for one sequence).
    EquivocatingPrimary,
    /// As primary, proposes blocks that fail validation.
    InvalidBlocks,
    /// Garbles the signature of half its messages.
    BadSignatures,
    /// Sends old messages of its own again, at random.
    Replays,
    /// Also votes prepare and commit for a block of its own making.
    ConflictingVotes,
    /// Votes one block to some peers and another to the rest.
    TwoFaced,
    /// As primary, never proposes.
    Censoring,
}

const BEHAVIOURS: [Byzantine; 8] = [
    Byzantine::Silent,
    Byzantine::EquivocatingPrimary,
    Byzantine::InvalidBlocks,
    Byzantine::BadSignatures,
    Byzantine::Replays,
    Byzantine::ConflictingVotes,
    Byzantine::TwoFaced,
    Byzantine::Censoring,
];

/// A model node: the engine, its durable record, its chain, and blocks waiting to validate.
struct Node {
    id: String,
    engine: Option<PbftEngine>,
    /// The last durable record (what survives a crash).
    hard_state: Option<Vec<u8>>,
    /// Applied blocks, height 1 first.
    chain: Vec<Vec<u8>>,
    /// Each applied block's certificate, stored with it.
    certificates: Vec<CommitSignatures>,
    to_validate: Vec<Proposal>,
    byzantine: Option<Byzantine>,
    /// When a crashed node comes back.
    down_until: Option<u64>,
    /// Its own messages sent so far (for replays), bounded.
    history: Vec<Vec<u8>>,
}

impl Node {
    fn tip(&self) -> [u8; 32] {
        self.chain.last().map_or([0; 32], |b| sha256(&[b]))
    }
}

/// A message in flight.
struct Message {
    from: usize,
    to: usize,
    bytes: Vec<u8>,
    at: u64,
}

struct Sim {
    rng: Rng,
    nodes: Vec<Node>,
    ids: Vec<String>,
    network: Vec<Message>,
    now: u64,
    /// Node groups while partitioned: messages between groups are lost.
    partition: Option<(Vec<bool>, u64)>,
    seed: u64,
    timing: Timing,
    /// Percent of messages dropped during the fault period.
    drop_percent: u64,
    crashes: bool,
    stats: Stats,
    /// The validators from genesis, and a change made by block `.0` (effective after it).
    validators: Vec<String>,
    change: Option<(u64, Vec<String>)>,
}

/// What a run went through, summed over runs: a run that exercised nothing proves nothing.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    runs: u64,
    ticks: u64,
    delivered: u64,
    crashes: u64,
    partitions: u64,
    /// Highest view an honest node ended in, summed.
    views: u64,
    /// Runs that ended past view 0.
    runs_with_view_change: u64,
    /// Signed commit equivocations honest nodes handed out (each checked: a Byzantine
    /// replica's, two digests, both signatures valid).
    equivocations_reported: u64,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.runs += other.runs;
        self.ticks += other.ticks;
        self.delivered += other.delivered;
        self.crashes += other.crashes;
        self.partitions += other.partitions;
        self.views += other.views;
        self.runs_with_view_change += other.runs_with_view_change;
        self.equivocations_reported += other.equivocations_reported;
    }
}

fn engine_for(id: &str, ids: &[String], timing: Timing, durable: &Durable) -> PbftEngine {
    PbftEngine::restart(
        id.to_owned(),
        ids.to_vec(),
        Box::new(SimCrypto { me: id.to_owned() }),
        timing,
        durable,
    )
    .expect("the engine starts from its own record")
}

impl Sim {
    fn new(seed: u64, n: usize, byzantine: &[(usize, Byzantine)]) -> Self {
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        Self::with_validators(seed, n, byzantine, ids, None)
    }

    /// `n` nodes of which `validators` start as the validators; `change` = (height, set): the
    /// block at that height changes the set from the next height on.
    fn with_validators(
        seed: u64,
        n: usize,
        byzantine: &[(usize, Byzantine)],
        validators: Vec<String>,
        change: Option<(u64, Vec<String>)>,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let timing = Timing::default();
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Node {
                id: id.clone(),
                engine: Some(engine_for(id, &validators, timing, &Durable::default())),
                hard_state: None,
                chain: Vec::new(),
                certificates: Vec::new(),
                to_validate: Vec::new(),
                byzantine: byzantine.iter().find(|(b, _)| *b == i).map(|(_, k)| *k),
                down_until: None,
                history: Vec::new(),
            })
            .collect();
        let drop_percent = [0, 5, 20][rng.below(3) as usize];
        let crashes = rng.chance(50);
        Self {
            rng,
            nodes,
            ids,
            network: Vec::new(),
            now: 0,
            partition: None,
            seed,
            timing,
            drop_percent,
            crashes,
            stats: Stats::default(),
            validators,
            change,
        }
    }

    /// The validators deciding `height`.
    fn validators_at(&self, height: u64) -> &[String] {
        match &self.change {
            Some((at, set)) if height > *at => set,
            _ => &self.validators,
        }
    }

    fn honest(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.byzantine.is_none())
    }

    fn faulty_period(&self) -> bool {
        self.now < FAULT_TICKS
    }

    /// Safety: honest nodes agree at every height both applied.
    fn check_agreement(&self) {
        let honest: Vec<&Node> = self.honest().collect();
        for a in &honest {
            for b in &honest {
                for (h, (x, y)) in a.chain.iter().zip(&b.chain).enumerate() {
                    assert!(
                        x == y,
                        "seed {}: {} and {} applied different blocks at height {} (tick {})",
                        self.seed,
                        a.id,
                        b.id,
                        h + 1,
                        self.now
                    );
                }
            }
        }
    }

    /// Carries out node `i`'s Ready the way the node's engine loop does; may crash it between
    /// the durable write and applying.
    fn drain(&mut self, i: usize) {
        let Some(engine) = self.nodes[i].engine.as_mut() else {
            return;
        };
        let ready = engine.ready();
        let crash_point = if self.crashes
            && self.now < FAULT_TICKS
            && self.nodes[i].byzantine.is_none()
            && !ready.committed.is_empty()
            && self.rng.chance(3)
        {
            Some(self.rng.below(2))
        } else {
            None
        };
        self.send(i, ready.messages.iter().map(|m| (&m.to, &m.bytes)));
        if let Some(hard_state) = &ready.persist.hard_state {
            self.nodes[i].hard_state = Some(hard_state.clone());
        }
        if crash_point == Some(0) {
            self.crash(i);
            return;
        }
        self.send(
            i,
            ready.persisted_messages.iter().map(|m| (&m.to, &m.bytes)),
        );
        if crash_point == Some(1) {
            self.crash(i);
            return;
        }
        for committed in &ready.committed {
            let CommittedEntry::Payload(block) = &committed.entry else {
                panic!("seed {}: PBFT commits blocks only", self.seed);
            };
            self.apply(i, committed.index, block, committed.certificate.as_ref());
        }
        // Evidence names only a Byzantine replica, and proves itself.
        for equivocation in &ready.equivocations {
            let who = self
                .ids
                .iter()
                .position(|id| *id == equivocation.node)
                .unwrap_or_else(|| panic!("seed {}: evidence names a stranger", self.seed));
            assert!(
                self.nodes[who].byzantine.is_some(),
                "seed {}: honest {} reported as signing two blocks at {}",
                self.seed,
                equivocation.node,
                equivocation.height
            );
            assert_ne!(equivocation.first.0, equivocation.second.0);
            let crypto = SimCrypto { me: String::new() };
            for (digest, signature) in [equivocation.first, equivocation.second] {
                let statement =
                    crypto.commit_statement(equivocation.height, equivocation.view, &digest);
                assert!(
                    crypto.verify(&equivocation.node, &statement, &signature),
                    "seed {}: evidence with a signature that does not verify",
                    self.seed
                );
            }
            self.stats.equivocations_reported += 1;
        }
        self.nodes[i].to_validate.extend(ready.to_validate.clone());
        let node = &mut self.nodes[i];
        let engine = node.engine.as_mut().expect("running");
        engine.advance(&ready);
        // Catch-up requests are served from the stored chain, as the node serves its ledger.
        for request in &ready.catch_up {
            let blocks: Vec<CertifiedBlock> = (request.after as usize..node.chain.len())
                .take(16)
                .map(|h| CertifiedBlock {
                    index: h as u64 + 1,
                    block: node.chain[h].clone(),
                    certificate: node.certificates[h].clone(),
                })
                .collect();
            engine.serve_catch_up(&request.peer, blocks);
        }
        if !ready.catch_up.is_empty() {
            self.drain(i);
            return;
        }
        self.check_agreement();
    }

    /// Applies a committed block after checking its certificate, as the node does.
    fn apply(
        &mut self,
        i: usize,
        height: u64,
        block: &[u8],
        certificate: Option<&CommitSignatures>,
    ) {
        let seed = self.seed;
        let set = self.validators_at(height).to_vec();
        let node = &mut self.nodes[i];
        assert_eq!(
            height,
            node.chain.len() as u64 + 1,
            "seed {seed}: {} is handed height {height} at {}",
            node.id,
            node.chain.len()
        );
        let certificate = certificate.expect("every PBFT commit carries its certificate");
        let crypto = SimCrypto {
            me: node.id.clone(),
        };
        let statement = crypto.commit_statement(height, certificate.view, &crypto.digest(block));
        let signers: Vec<&String> = certificate.signatures.iter().map(|(s, _)| s).collect();
        assert!(
            signers.windows(2).all(|w| w[0] < w[1])
                && signers.len() >= quorum(set.len())
                && signers.iter().all(|s| set.contains(s)),
            "seed {seed}: a quorum of the validators of height {height} signed it"
        );
        for (signer, signature) in &certificate.signatures {
            assert!(
                crypto.verify(signer, &statement, signature),
                "seed {seed}: {signer}'s commit signature at {height} verifies"
            );
        }
        if node.byzantine.is_none() {
            let (h, parent, payload) = parse(block).expect("an honest node applies valid blocks");
            assert_eq!(h, height, "seed {seed}: block height");
            assert_eq!(
                parent,
                hex(&node.tip()),
                "seed {seed}: block extends the chain"
            );
            assert!(
                !payload.starts_with("INVALID"),
                "seed {seed}: {} applied an invalid block at {height}",
                node.id
            );
        }
        node.chain.push(block.to_vec());
        node.certificates.push(certificate.clone());
        // The block that changes the validators: from the next height on, the new set.
        if let Some((at, set)) = &self.change {
            if *at == height {
                let set = set.clone();
                if let Some(engine) = self.nodes[i].engine.as_mut() {
                    engine.set_validators(height + 1, set);
                }
            }
        }
    }

    fn crash(&mut self, i: usize) {
        self.stats.crashes += 1;
        let node = &mut self.nodes[i];
        node.engine = None;
        node.to_validate.clear();
        let downtime = 1 + self.rng.below(60);
        node.down_until = Some(self.now + downtime);
    }

    fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let durable = Durable {
            hard_state: node.hard_state.clone(),
            applied: node.chain.len() as u64,
            ..Durable::default()
        };
        let validators = self.validators_at(durable.applied + 1).to_vec();
        let node = &mut self.nodes[i];
        node.engine = Some(engine_for(&node.id, &validators, self.timing, &durable));
        node.down_until = None;
    }

    /// Queues `i`'s messages, transformed by its Byzantine behaviour if any.
    fn send<'a>(&mut self, i: usize, messages: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) {
        let messages: Vec<(usize, Vec<u8>)> = messages
            .map(|(to, bytes)| {
                let to = self.ids.iter().position(|id| id == to).expect("a replica");
                (to, bytes.clone())
            })
            .collect();
        for (to, bytes) in messages {
            let sent = match self.nodes[i].byzantine {
                None => vec![bytes],
                Some(behaviour) => self.misbehave(i, behaviour, to, bytes),
            };
            for bytes in sent {
                if self.nodes[i].history.len() < 256 {
                    self.nodes[i].history.push(bytes.clone());
                }
                let at = self.now + self.rng.below(DELAY_TICKS_MAX + 1);
                self.network.push(Message {
                    from: i,
                    to,
                    bytes,
                    at,
                });
            }
        }
    }

    /// What Byzantine node `i` sends `to` instead of `bytes`.
    fn misbehave(
        &mut self,
        i: usize,
        behaviour: Byzantine,
        to: usize,
        bytes: Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let crypto = SimCrypto {
            me: self.ids[i].clone(),
        };
        let vote = match Envelope::decode_kind(&bytes) {
            Ok(Kind::Vote(wire)) => Vote::verified(&crypto, &self.ids[i], wire).ok(),
            _ => None,
        };
        let forged_digest = sha256(&[b"forged", &self.seed.to_be_bytes()]);
        match behaviour {
            Byzantine::Silent => Vec::new(),
            Byzantine::EquivocatingPrimary => match vote {
                Some(v) if v.phase == Phase::PrePrepare && to % 2 == 1 => {
                    let Some((height, parent, payload)) = parse(&v.block) else {
                        return vec![bytes];
                    };
                    let other = format!("{height}|{parent}|{payload}-other").into_bytes();
                    let digest = crypto.digest(&other);
                    vec![Vote::signed(
                        &crypto,
                        Phase::PrePrepare,
                        v.view,
                        v.sequence,
                        digest,
                        other,
                    )
                    .encode()]
                }
                _ => vec![bytes],
            },
            Byzantine::BadSignatures => {
                if self.rng.chance(50) {
                    let mut garbled = bytes;
                    let last = garbled.len() - 1;
                    garbled[last] ^= 0x01;
                    vec![garbled]
                } else {
                    vec![bytes]
                }
            }
            Byzantine::Replays => {
                let mut sent = vec![bytes];
                let history = &self.nodes[i].history;
                if !history.is_empty() && self.rng.chance(50) {
                    let old = history[self.rng.below(history.len() as u64) as usize].clone();
                    sent.push(old);
                }
                sent
            }
            Byzantine::ConflictingVotes => {
                let mut sent = vec![bytes];
                if let Some(v) = vote.filter(|v| v.phase != Phase::PrePrepare) {
                    for phase in [Phase::Prepare, Phase::Commit] {
                        sent.push(
                            Vote::signed(
                                &crypto,
                                phase,
                                v.view,
                                v.sequence,
                                forged_digest,
                                Vec::new(),
                            )
                            .encode(),
                        );
                    }
                }
                sent
            }
            Byzantine::TwoFaced => match vote {
                Some(v) if v.phase != Phase::PrePrepare && to.is_multiple_of(2) => {
                    vec![Vote::signed(
                        &crypto,
                        v.phase,
                        v.view,
                        v.sequence,
                        forged_digest,
                        Vec::new(),
                    )
                    .encode()]
                }
                _ => vec![bytes],
            },
            Byzantine::InvalidBlocks | Byzantine::Censoring => vec![bytes],
        }
    }

    /// The primary proposes the next block when work waits.
    fn maybe_propose(&mut self, i: usize) {
        let node = &self.nodes[i];
        let Some(engine) = node.engine.as_ref() else {
            return;
        };
        if !engine.is_leader() || node.chain.len() as u64 >= TARGET_HEIGHT {
            return;
        }
        let payload = match node.byzantine {
            Some(Byzantine::Censoring) => return,
            Some(Byzantine::InvalidBlocks) => format!("INVALID from {}", node.id),
            _ => format!("{} in view {}", node.id, engine.view()),
        };
        let block = block(node.chain.len() as u64 + 1, &node.tip(), &payload);
        let engine = self.nodes[i].engine.as_mut().expect("running");
        match engine.propose(block) {
            Ok(())
            | Err(ConsensusError::ProposalDropped { .. } | ConsensusError::NotLeader { .. }) => {}
            Err(other) => panic!("seed {}: unexpected refusal {other}", self.seed),
        }
        self.drain(i);
    }

    /// Answers the validations node `i` can answer now (its head is just below them).
    fn validate(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.engine.is_none() {
            return;
        }
        let head = node.chain.len() as u64;
        let tip = hex(&node.tip());
        let mut answers = Vec::new();
        node.to_validate.retain(|proposal| {
            if proposal.sequence > head + 1 {
                return true;
            }
            let valid = proposal.sequence == head + 1
                && parse(&proposal.block).is_some_and(|(h, parent, payload)| {
                    h == proposal.sequence && parent == tip && !payload.starts_with("INVALID")
                });
            answers.push((proposal.sequence, proposal.digest, valid));
            false
        });
        let byzantine = node.byzantine.is_some();
        let engine = node.engine.as_mut().expect("running");
        for (sequence, digest, valid) in answers {
            // A Byzantine node vouches for anything.
            engine.validated(sequence, &digest, valid || byzantine);
        }
        self.drain(i);
    }

    fn run(&mut self) -> Stats {
        while self.now < TICKS_MAX {
            self.now += 1;
            let faulty = self.faulty_period();
            // Faults: partitions and crashes come and go during the fault period.
            if faulty && self.partition.is_none() && self.rng.chance(1) {
                let sides: Vec<bool> = (0..self.nodes.len()).map(|_| self.rng.chance(50)).collect();
                let until = self.now + 20 + self.rng.below(100);
                self.partition = Some((sides, until));
                self.stats.partitions += 1;
            }
            if self
                .partition
                .as_ref()
                .is_some_and(|(_, until)| *until <= self.now || !faulty)
            {
                self.partition = None;
            }
            if faulty && self.crashes && self.rng.chance(1) {
                let i = self.rng.below(self.nodes.len() as u64) as usize;
                if self.nodes[i].byzantine.is_none() && self.nodes[i].engine.is_some() {
                    self.crash(i);
                }
            }
            for i in 0..self.nodes.len() {
                let back = self.nodes[i]
                    .down_until
                    .is_some_and(|t| t <= self.now || !faulty);
                if back {
                    self.restart(i);
                    self.drain(i);
                }
            }
            // Deliver what is due, in a random order.
            let mut due: Vec<Message> = Vec::new();
            let mut later: Vec<Message> = Vec::new();
            for message in self.network.drain(..) {
                if message.at <= self.now {
                    due.push(message);
                } else {
                    later.push(message);
                }
            }
            self.network = later;
            while !due.is_empty() {
                let message = due.swap_remove(self.rng.below(due.len() as u64) as usize);
                if faulty && self.rng.chance(self.drop_percent) {
                    continue;
                }
                if let Some((sides, _)) = &self.partition {
                    if sides[message.from] != sides[message.to] {
                        continue;
                    }
                }
                if faulty && self.rng.chance(5) {
                    // Duplicated, and delivered later again.
                    self.network.push(Message {
                        at: self.now + 1 + self.rng.below(DELAY_TICKS_MAX),
                        bytes: message.bytes.clone(),
                        ..message
                    });
                }
                self.stats.delivered += 1;
                let (from, to) = (message.from, message.to);
                let Some(engine) = self.nodes[to].engine.as_mut() else {
                    continue;
                };
                let _ = engine.step(&self.ids[from], &message.bytes);
                self.drain(to);
                self.validate(to);
            }
            for i in 0..self.nodes.len() {
                let pending = (self.nodes[i].chain.len() as u64) < TARGET_HEIGHT;
                if let Some(engine) = self.nodes[i].engine.as_mut() {
                    engine.note_pending_work(pending);
                    engine.tick();
                    self.drain(i);
                    self.validate(i);
                    self.maybe_propose(i);
                }
            }
            if !faulty && self.honest().all(|n| n.chain.len() as u64 >= TARGET_HEIGHT) {
                break;
            }
        }
        let honest: Vec<&Node> = self.honest().collect();
        for node in &honest {
            assert!(
                node.chain.len() as u64 >= TARGET_HEIGHT,
                "seed {}: after healing, {} reached only height {} of {TARGET_HEIGHT} in {TICKS_MAX} ticks \
                 (replicas: {:?})",
                self.seed,
                node.id,
                node.chain.len(),
                self.nodes
                    .iter()
                    .map(|n| (
                        n.chain.len(),
                        n.byzantine,
                        n.engine.as_ref().map(|e| (e.view(), e.replica().is_active(), e.dropped().clone()))
                    ))
                    .collect::<Vec<_>>()
            );
        }
        let roots: BTreeMap<&String, [u8; 32]> = honest
            .iter()
            .map(|n| {
                (
                    &n.id,
                    n.chain[..TARGET_HEIGHT as usize]
                        .last()
                        .map_or([0; 32], |b| sha256(&[b])),
                )
            })
            .collect();
        let first = roots.values().next().copied();
        assert!(
            roots.values().all(|r| Some(*r) == first),
            "seed {}: honest nodes end with different chains: {roots:?}",
            self.seed
        );
        let view = self
            .honest()
            .filter_map(|n| n.engine.as_ref().map(|e| e.view()))
            .max()
            .unwrap_or(0);
        self.stats.runs = 1;
        self.stats.ticks = self.now;
        self.stats.views = view;
        self.stats.runs_with_view_change = u64::from(view > 0);
        self.stats
    }
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("VCHAIN_SIM_SEED") {
        return vec![seed.parse().expect("VCHAIN_SIM_SEED is a number")];
    }
    let count = std::env::var("VCHAIN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEEDS_DEFAULT);
    (0..count).collect()
}

/// The Byzantine replicas of a run: up to f of them, which and how chosen by the seed.
fn byzantine_of(seed: u64, n: usize) -> Vec<(usize, Byzantine)> {
    let mut rng = Rng::new(seed ^ 0xb42);
    let f = (n - 1) / 3;
    let count = rng.below(f as u64 + 1) as usize;
    let mut chosen = Vec::new();
    while chosen.len() < count {
        let i = rng.below(n as u64) as usize;
        if chosen.iter().all(|(c, _)| *c != i) {
            let behaviour = BEHAVIOURS[rng.below(BEHAVIOURS.len() as u64) as usize];
            chosen.push((i, behaviour));
        }
    }
    chosen
}

fn simulate(n: usize) -> Stats {
    let mut total = Stats::default();
    for seed in seeds() {
        let byzantine = byzantine_of(seed, n);
        let mut sim = Sim::new(seed, n, &byzantine);
        total.add(&sim.run());
    }
    eprintln!("{n} replicas: {total:?}");
    total
}

/// The runs went through what they claim to: crashes, partitions and view changes.
fn assert_exercised(stats: &Stats) {
    if stats.runs < 50 {
        return; // a replay of one seed
    }
    assert!(
        stats.crashes > stats.runs / 4,
        "crashes happened: {stats:?}"
    );
    assert!(
        stats.partitions > stats.runs / 4,
        "partitions happened: {stats:?}"
    );
    assert!(
        stats.runs_with_view_change > stats.runs / 4,
        "view changes happened: {stats:?}"
    );
}

#[test]
fn four_replicas_agree_and_progress_under_seeded_faults() {
    assert_exercised(&simulate(4));
}

#[test]
fn seven_replicas_agree_and_progress_under_seeded_faults() {
    assert_exercised(&simulate(7));
}

/// Every behaviour meets every position once, without other faults' noise: each Byzantine
/// behaviour alone neither forks nor stops four replicas.
#[test]
fn each_byzantine_behaviour_alone_neither_forks_nor_stops_the_others() {
    for (b, behaviour) in BEHAVIOURS.iter().enumerate() {
        for position in 0..4 {
            let seed = 10_000 + (b * 4 + position) as u64;
            let mut sim = Sim::new(seed, 4, &[(position, *behaviour)]);
            sim.drop_percent = 0;
            sim.crashes = false;
            let stats = sim.run();
            // Conflicting commits reach every honest replica: each hands out the evidence.
            if *behaviour == Byzantine::ConflictingVotes {
                assert!(
                    stats.equivocations_reported > 0,
                    "{behaviour:?} at {position}: no evidence handed out"
                );
            }
            if matches!(
                behaviour,
                Byzantine::Silent | Byzantine::Censoring | Byzantine::InvalidBlocks
            ) && position == 0
            {
                assert!(
                    stats.views > 0,
                    "{behaviour:?} as the first primary forces a view change"
                );
            }
        }
    }
}

/// A validator joins (the block at height 3 adds n4 from height 4) or leaves (removes n4):
/// under the same seeded faults, no fork, every node (the one following, too) reaches the
/// target, and the certificates after the change are made by the new set (checked at apply).
#[test]
fn validators_joining_and_leaving_at_a_height_neither_fork_nor_stop_the_chain() {
    let four: Vec<String> = (0..4).map(|i| format!("n{i}")).collect();
    let five: Vec<String> = (0..5).map(|i| format!("n{i}")).collect();
    let count = seeds().len() as u64 / 5 + 1;
    let mut total = Stats::default();
    for seed in seeds().into_iter().take(count as usize) {
        let joins = Sim::with_validators(seed, 5, &[], four.clone(), Some((3, five.clone()))).run();
        let leaves =
            Sim::with_validators(seed, 5, &[], five.clone(), Some((3, four.clone()))).run();
        total.add(&joins);
        total.add(&leaves);
    }
    eprintln!("membership changes: {total:?}");
}
