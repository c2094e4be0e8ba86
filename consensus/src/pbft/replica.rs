//! One PBFT replica's normal case (PBFT §4.2) as a state machine without I/O: blocks go in at
//! the primary ([`Replica::propose`]), peers' messages go in ([`Replica::step`]), and out come
//! the messages to send ([`Replica::take_outgoing`]) and the blocks committed, in sequence
//! order, each with the commit signatures that certify it ([`Replica::take_committed`]).
//!
//! Invariants it keeps:
//! - it signs at most one message per (sequence, view, phase) (`sent`); the engine will persist
//!   `sent` before its messages leave (ADR 0014), as Raft's votes are;
//! - it prepares a block only after holding the primary's pre-prepare whose block hashes to the
//!   digest (a pre-prepare whose block does not match its digest is dropped and counted);
//! - it hands out sequence `s` only after every sequence below it, so every honest replica
//!   applies the same blocks in the same order.
//!
//! Not yet here (next): view change (§4.4), checkpoints and watermark movement (§4.3),
//! validation of the block by the node before preparing, durability, and the `Engine` trait.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::{Crypto, MessageError, Vote, SIGNATURE_BYTES};
use super::votes::{Digest, Phase, Recorded, VoteLog};
use crate::NodeId;

/// A committed block with its certificate's signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedBlock {
    /// The sequence (height).
    pub sequence: u64,
    /// The view it committed in.
    pub view: u64,
    /// The block.
    pub block: Vec<u8>,
    /// The replicas' commit signatures, in replica order: at least a quorum.
    pub signatures: Vec<(NodeId, [u8; SIGNATURE_BYTES])>,
}

/// What a message did, for the engine's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stepped {
    /// Recorded (or a harmless repeat).
    Recorded(Recorded),
    /// A pre-prepare whose block does not hash to its digest.
    BlockMismatch,
    /// Dropped before it counted.
    Dropped(MessageError),
}

/// A replica of view 0 (view change comes next).
pub struct Replica {
    id: NodeId,
    view: u64,
    log: VoteLog,
    crypto: Box<dyn Crypto>,
    next_sequence: u64,
    committed_through: u64,
    blocks: BTreeMap<(u64, Digest), Vec<u8>>,
    commit_signatures: BTreeMap<(u64, u64), BTreeMap<NodeId, [u8; SIGNATURE_BYTES]>>,
    sent: BTreeSet<(u64, u64, Phase)>,
    outgoing: Vec<Vec<u8>>,
    committed: Vec<CommittedBlock>,
}

impl Replica {
    /// Replica `id` of `replicas`, with nothing committed yet.
    pub fn new(id: NodeId, replicas: Vec<NodeId>, crypto: Box<dyn Crypto>) -> Self {
        let log = VoteLog::new(replicas, 0);
        assert!(log.replicas().contains(&id), "{id} is one of the replicas");
        Self {
            id,
            view: 0,
            log,
            crypto,
            next_sequence: 1,
            committed_through: 0,
            blocks: BTreeMap::new(),
            commit_signatures: BTreeMap::new(),
            sent: BTreeSet::new(),
            outgoing: Vec::new(),
            committed: Vec::new(),
        }
    }

    /// Whether this replica is the primary of its view.
    pub fn is_primary(&self) -> bool {
        super::primary(self.log.replicas(), self.view) == &self.id
    }

    /// The primary assigns `block` the next sequence and sends its pre-prepare. `None` on a
    /// backup (the block belongs to the primary).
    pub fn propose(&mut self, block: Vec<u8>) -> Option<u64> {
        if !self.is_primary() {
            return None;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let digest = self.crypto.digest(&block);
        self.vote(Phase::PrePrepare, sequence, digest, block);
        Some(sequence)
    }

    /// Handles `bytes` from `from` (as the transport authenticated it).
    pub fn step(&mut self, from: &str, bytes: &[u8]) -> Stepped {
        let vote = match Vote::decode_verified(self.crypto.as_ref(), from, bytes) {
            Ok(vote) => vote,
            Err(error) => return Stepped::Dropped(error),
        };
        if vote.phase == Phase::PrePrepare && self.crypto.digest(&vote.block) != vote.digest {
            return Stepped::BlockMismatch;
        }
        let recorded = self.record(from, &vote);
        if recorded == Recorded::Counted {
            self.progress(vote.sequence, vote.view);
        }
        Stepped::Recorded(recorded)
    }

    /// Messages to send to every other replica, oldest first.
    pub fn take_outgoing(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outgoing)
    }

    /// Blocks committed since the last call, in sequence order.
    pub fn take_committed(&mut self) -> Vec<CommittedBlock> {
        std::mem::take(&mut self.committed)
    }

    /// The highest sequence handed out as committed.
    pub fn committed_through(&self) -> u64 {
        self.committed_through
    }

    /// Records `vote` from `from` (which may be this replica).
    fn record(&mut self, from: &str, vote: &Vote) -> Recorded {
        let recorded = self
            .log
            .record(vote.phase, vote.sequence, vote.view, from, vote.digest);
        if recorded == Recorded::Counted {
            match vote.phase {
                Phase::PrePrepare => {
                    self.blocks
                        .insert((vote.sequence, vote.digest), vote.block.clone());
                }
                Phase::Commit => {
                    self.commit_signatures
                        .entry((vote.sequence, vote.view))
                        .or_default()
                        .insert(from.to_owned(), vote.signature);
                }
                Phase::Prepare => {}
            }
        }
        recorded
    }

    /// Signs, records and queues this replica's vote, once per (sequence, view, phase).
    fn vote(&mut self, phase: Phase, sequence: u64, digest: Digest, block: Vec<u8>) {
        if !self.sent.insert((sequence, self.view, phase)) {
            return;
        }
        let vote = Vote::signed(
            self.crypto.as_ref(),
            phase,
            self.view,
            sequence,
            digest,
            block,
        );
        let id = self.id.clone();
        let recorded = self.record(&id, &vote);
        debug_assert_eq!(
            recorded,
            Recorded::Counted,
            "a replica's own first vote counts"
        );
        self.outgoing.push(vote.encode());
        self.progress(sequence, self.view);
    }

    /// Takes the next step the votes at (`sequence`, `view`) allow.
    fn progress(&mut self, sequence: u64, view: u64) {
        if view != self.view {
            return;
        }
        // A backup holding the primary's pre-prepare agrees to it.
        if !self.is_primary() {
            if let Some(digest) = self.pre_prepared(sequence) {
                self.vote(Phase::Prepare, sequence, digest, Vec::new());
            }
        }
        if let Some(digest) = self.log.prepared(sequence, view) {
            self.vote(Phase::Commit, sequence, digest, Vec::new());
        }
        self.hand_out();
    }

    /// The digest of the pre-prepare this replica holds for `sequence` in its view.
    fn pre_prepared(&self, sequence: u64) -> Option<Digest> {
        self.blocks
            .range((sequence, [0; 32])..=(sequence, [0xff; 32]))
            .map(|((_, digest), _)| *digest)
            .find(|digest| {
                self.log
                    .prepared(sequence, self.view)
                    .is_none_or(|d| d == *digest)
            })
    }

    /// Hands out every committed-local sequence right after the last one handed out.
    fn hand_out(&mut self) {
        loop {
            let sequence = self.committed_through + 1;
            let Some(digest) = self.log.committed_local(sequence, self.view) else {
                return;
            };
            let Some(block) = self.blocks.get(&(sequence, digest)).cloned() else {
                return;
            };
            let signers = self.log.commit_signers(sequence, self.view, &digest);
            let signatures_held = self
                .commit_signatures
                .get(&(sequence, self.view))
                .cloned()
                .unwrap_or_default();
            let signatures: Vec<(NodeId, [u8; SIGNATURE_BYTES])> = signers
                .into_iter()
                .filter_map(|s| signatures_held.get(&s).map(|sig| (s, *sig)))
                .collect();
            assert!(
                signatures.len() >= self.log.quorum(),
                "a committed-local block has a quorum of commit signatures"
            );
            self.committed.push(CommittedBlock {
                sequence,
                view: self.view,
                block,
                signatures,
            });
            self.committed_through = sequence;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::super::messages::tests::TestCrypto;
    use super::*;

    const BLOCKS: usize = 12;
    const STEPS_MAX: usize = 200_000;

    /// A seeded xorshift: the whole run replays from its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// What a faulty replica does instead of following the protocol.
    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        /// Sends nothing.
        Silent,
        /// Votes prepare and commit for a block of its own at every sequence it sees.
        VotesAnotherBlock,
        /// As the primary, sends some backups another block than the rest for each sequence.
        EquivocatingPrimary,
    }

    /// Four replicas over a network that delivers in a seeded random order and duplicates some
    /// messages; `faulty` misbehaves. Returns what each replica committed.
    fn run(seed: u64, faulty: Option<(usize, Fault)>) -> Vec<Vec<CommittedBlock>> {
        let ids: Vec<NodeId> = (0..4).map(|i| format!("n{i}")).collect();
        let mut replicas: Vec<Replica> = ids
            .iter()
            .map(|id| Replica::new(id.clone(), ids.clone(), Box::new(TestCrypto::new(id))))
            .collect();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        // (from, to, bytes, already forged by the faulty replica)
        let mut network: VecDeque<(usize, usize, Vec<u8>, bool)> = VecDeque::new();
        let mut committed = vec![Vec::new(); 4];
        for b in 0..BLOCKS {
            replicas[0].propose(format!("block {b}").into_bytes());
        }
        for _ in 0..STEPS_MAX {
            for (from, replica) in replicas.iter_mut().enumerate() {
                let outgoing = replica.take_outgoing();
                committed[from].extend(replica.take_committed());
                if let Some((bad, Fault::Silent)) = faulty {
                    if bad == from {
                        continue;
                    }
                }
                for bytes in outgoing {
                    for to in (0..4).filter(|to| *to != from) {
                        let bytes = match faulty {
                            Some((bad, Fault::EquivocatingPrimary)) if bad == from => {
                                equivocate(&ids[bad], &bytes, seed, to)
                            }
                            _ => bytes.clone(),
                        };
                        network.push_back((from, to, bytes, false));
                    }
                }
            }
            if network.is_empty() {
                break;
            }
            let (from, to, bytes, forged) =
                network.remove(rng.below(network.len())).expect("a message");
            if rng.below(10) == 0 {
                network.push_back((from, to, bytes.clone(), forged));
            }
            if let Some((bad, Fault::VotesAnotherBlock)) = faulty {
                if bad == from && !forged {
                    // Whatever it was sent, it votes its own block at that sequence.
                    let liar = TestCrypto::new(&ids[bad]);
                    if let Ok(vote) = Vote::decode_verified(&liar, &ids[bad], &bytes) {
                        let forged = liar.digest(b"the liar's block");
                        for phase in [Phase::Prepare, Phase::Commit] {
                            let lie = Vote::signed(
                                &liar,
                                phase,
                                vote.view,
                                vote.sequence,
                                forged,
                                Vec::new(),
                            );
                            network.push_back((from, to, lie.encode(), true));
                        }
                        continue;
                    }
                }
            }
            replicas[to].step(&ids[from], &bytes);
        }
        for (i, replica) in replicas.iter_mut().enumerate() {
            committed[i].extend(replica.take_committed());
        }
        committed
    }

    /// The primary's pre-prepare as an equivocating primary sends it to `to`: for some backups
    /// (chosen by the seed and sequence) a pre-prepare of another block at the same sequence.
    fn equivocate(primary: &str, bytes: &[u8], seed: u64, to: usize) -> Vec<u8> {
        let crypto = TestCrypto::new(primary);
        match Vote::decode_verified(&crypto, primary, bytes) {
            Ok(vote) if vote.phase == Phase::PrePrepare => {
                if (seed + vote.sequence + to as u64).is_multiple_of(2) {
                    return bytes.to_vec();
                }
                let other = format!("another block {}", vote.sequence).into_bytes();
                let digest = crypto.digest(&other);
                Vote::signed(
                    &crypto,
                    Phase::PrePrepare,
                    vote.view,
                    vote.sequence,
                    digest,
                    other,
                )
                .encode()
            }
            _ => bytes.to_vec(),
        }
    }

    fn check_agreement(committed: &[Vec<CommittedBlock>], honest: &[usize], seed: u64) {
        let crypto = TestCrypto::new("n0");
        for &i in honest {
            let blocks: Vec<&[u8]> = committed[i].iter().map(|c| c.block.as_slice()).collect();
            let expected: Vec<Vec<u8>> = (0..BLOCKS)
                .map(|b| format!("block {b}").into_bytes())
                .collect();
            assert_eq!(
                blocks, expected,
                "seed {seed}: replica n{i} commits every block in order"
            );
            for block in &committed[i] {
                assert!(
                    block.signatures.len() >= 3,
                    "seed {seed}: a quorum certifies it"
                );
                let digest = crypto.digest(&block.block);
                let statement = crypto.commit_statement(block.sequence, block.view, &digest);
                for (signer, signature) in &block.signatures {
                    assert!(
                        crypto.verify(signer, &statement, signature),
                        "seed {seed}: {signer}'s commit signature verifies"
                    );
                }
            }
        }
    }

    #[test]
    fn every_replica_commits_the_same_blocks_in_order_whatever_the_delivery_order() {
        for seed in 0..64 {
            let committed = run(seed, None);
            check_agreement(&committed, &[0, 1, 2, 3], seed);
        }
    }

    #[test]
    fn a_silent_backup_does_not_stop_the_others() {
        for seed in 0..32 {
            let committed = run(seed, Some((3, Fault::Silent)));
            check_agreement(&committed, &[0, 1, 2], seed);
        }
    }

    #[test]
    fn a_backup_voting_for_another_block_neither_stops_nor_forks_the_others() {
        for seed in 0..32 {
            let committed = run(seed, Some((3, Fault::VotesAnotherBlock)));
            check_agreement(&committed, &[0, 1, 2], seed);
        }
    }

    #[test]
    fn an_equivocating_primary_never_makes_two_honest_replicas_commit_different_blocks() {
        let mut committed_any = 0;
        for seed in 0..32 {
            let committed = run(seed, Some((0, Fault::EquivocatingPrimary)));
            // Safety only: without a view change (not built yet) a sequence whose backups were
            // split may stall, but no two honest replicas commit different blocks at a height.
            for a in 1..4 {
                for b in 1..4 {
                    for (x, y) in committed[a].iter().zip(&committed[b]) {
                        assert_eq!(x.sequence, y.sequence, "seed {seed}: in order");
                        assert_eq!(x.block, y.block, "seed {seed}: n{a} and n{b} agree");
                    }
                }
            }
            committed_any += committed[1..].iter().map(Vec::len).sum::<usize>();
        }
        assert!(
            committed_any > 0,
            "the runs commit blocks where backups were not split"
        );
    }

    #[test]
    fn a_backup_never_proposes_and_a_forged_block_is_dropped() {
        let ids: Vec<NodeId> = (0..4).map(|i| format!("n{i}")).collect();
        let mut backup = Replica::new("n1".into(), ids.clone(), Box::new(TestCrypto::new("n1")));
        assert_eq!(backup.propose(b"mine".to_vec()), None);
        // A pre-prepare whose block does not hash to its digest.
        let primary = TestCrypto::new("n0");
        let lie = Vote::signed(
            &primary,
            Phase::PrePrepare,
            0,
            1,
            primary.digest(b"a"),
            b"b".to_vec(),
        );
        assert_eq!(backup.step("n0", &lie.encode()), Stepped::BlockMismatch);
        assert!(backup.take_outgoing().is_empty(), "nothing prepared");
    }
}
