//! The vote log of PBFT's normal case (PBFT §4.2): which pre-prepare, prepares and commits a
//! replica holds for each (sequence, view), and when a block is *prepared* and *committed-local*.
//!
//! Invariants it keeps:
//! - one pre-prepare per (sequence, view), and only from that view's primary;
//! - one prepare and one commit per replica per (sequence, view): a second vote for another
//!   digest is an equivocation, kept as evidence and never counted; the first stands;
//! - only sequences within the watermarks `(low, low + WINDOW]` are recorded (PBFT §4.3), so the
//!   log is bounded whatever peers send;
//! - prepared(s, v, d) holds iff the log has the primary's pre-prepare of `d` and prepares of `d`
//!   from `quorum - 1` distinct backups (the pre-prepare stands for the primary's own prepare);
//!   committed-local(s, v, d) iff prepared(s, v, d) and commits of `d` from `quorum` distinct
//!   replicas.

use std::collections::{BTreeMap, BTreeSet};

use crate::NodeId;

/// SHA-256 of a block: what replicas vote on.
pub type Digest = [u8; 32];

/// Sequences a replica accepts ahead of its low watermark (PBFT's log size `L`, §4.3): twice the
/// checkpoint interval, so the primary can keep proposing while a checkpoint stabilises.
pub const WINDOW: u64 = 256;
/// Views kept per sequence: the current one and those a view change may still be settling.
pub const VIEWS_PER_SEQUENCE_MAX: usize = 4;
/// Equivocations kept as evidence; later ones are counted only.
pub const EVIDENCE_MAX: usize = 1_024;
/// Most (sequence, view) slots the log holds.
pub const SLOTS_MAX: usize = WINDOW as usize * VIEWS_PER_SEQUENCE_MAX;

const _: () = assert!(WINDOW >= 2 && SLOTS_MAX >= WINDOW as usize);

/// Which vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The primary's proposal of a block for a sequence.
    PrePrepare,
    /// A backup's agreement to the pre-prepare.
    Prepare,
    /// A replica's vote to commit a prepared block.
    Commit,
}

/// What recording a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// New, and counted.
    Counted,
    /// The same vote again (a retransmission): nothing changed.
    Duplicate,
    /// The sender already voted another digest in this phase of this slot: not counted, kept
    /// as evidence.
    Equivocation,
    /// Not counted: the reason.
    Refused(Refusal),
}

/// Why a vote was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not a replica of this log.
    NotAReplica,
    /// A pre-prepare from a replica that is not the view's primary.
    NotPrimary,
    /// A prepare from the view's primary (its pre-prepare is its prepare).
    PrepareFromPrimary,
    /// The sequence is at or below the low watermark, or beyond the window.
    OutsideWatermarks,
    /// The sequence already holds votes for [`VIEWS_PER_SEQUENCE_MAX`] other views.
    TooManyViews,
}

/// A replica that voted two digests in one phase of one slot: both, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// The replica.
    pub replica: NodeId,
    /// The sequence.
    pub sequence: u64,
    /// The view.
    pub view: u64,
    /// The phase.
    pub phase: Phase,
    /// The digest counted (its first vote).
    pub first: Digest,
    /// The digest refused.
    pub second: Digest,
}

#[derive(Debug, Default, Clone)]
struct Slot {
    pre_prepare: Option<Digest>,
    prepares: BTreeMap<NodeId, Digest>,
    commits: BTreeMap<NodeId, Digest>,
}

/// The votes of one replica set, for sequences within the watermarks.
#[derive(Debug, Clone)]
pub struct VoteLog {
    replicas: Vec<NodeId>,
    low_watermark: u64,
    slots: BTreeMap<(u64, u64), Slot>,
    evidence: Vec<Equivocation>,
    equivocations: u64,
}

impl VoteLog {
    /// An empty log for `replicas` (any order; kept sorted), accepting sequences above
    /// `low_watermark`.
    ///
    /// # Panics
    /// If `replicas` is empty or names a replica twice.
    pub fn new(mut replicas: Vec<NodeId>, low_watermark: u64) -> Self {
        replicas.sort();
        let before = replicas.len();
        replicas.dedup();
        assert!(
            !replicas.is_empty() && replicas.len() == before,
            "replicas are a non-empty set"
        );
        Self {
            replicas,
            low_watermark,
            slots: BTreeMap::new(),
            evidence: Vec::new(),
            equivocations: 0,
        }
    }

    /// The replicas, sorted.
    pub fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    /// Matching votes a decision needs.
    pub fn quorum(&self) -> usize {
        super::quorum(self.replicas.len())
    }

    /// The low watermark: sequences at or below it are decided and forgotten.
    pub fn low_watermark(&self) -> u64 {
        self.low_watermark
    }

    /// Records `from`'s vote of `digest` in `phase` for (`sequence`, `view`).
    pub fn record(
        &mut self,
        phase: Phase,
        sequence: u64,
        view: u64,
        from: &str,
        digest: Digest,
    ) -> Recorded {
        if self
            .replicas
            .binary_search_by(|r| r.as_str().cmp(from))
            .is_err()
        {
            return Recorded::Refused(Refusal::NotAReplica);
        }
        if sequence <= self.low_watermark || sequence > self.low_watermark + WINDOW {
            return Recorded::Refused(Refusal::OutsideWatermarks);
        }
        let primary = super::primary(&self.replicas, view).as_str();
        match phase {
            Phase::PrePrepare if from != primary => return Recorded::Refused(Refusal::NotPrimary),
            Phase::Prepare if from == primary => {
                return Recorded::Refused(Refusal::PrepareFromPrimary)
            }
            _ => {}
        }
        if !self.slots.contains_key(&(sequence, view)) {
            let views = self
                .slots
                .range((sequence, 0)..=(sequence, u64::MAX))
                .count();
            if views >= VIEWS_PER_SEQUENCE_MAX {
                return Recorded::Refused(Refusal::TooManyViews);
            }
        }
        debug_assert!(self.slots.len() < SLOTS_MAX || self.slots.contains_key(&(sequence, view)));
        let slot = self.slots.entry((sequence, view)).or_default();
        let first = match phase {
            Phase::PrePrepare => match slot.pre_prepare {
                None => {
                    slot.pre_prepare = Some(digest);
                    return Recorded::Counted;
                }
                Some(first) => first,
            },
            Phase::Prepare | Phase::Commit => {
                let votes = if phase == Phase::Prepare {
                    &mut slot.prepares
                } else {
                    &mut slot.commits
                };
                match votes.get(from) {
                    None => {
                        votes.insert(from.to_owned(), digest);
                        return Recorded::Counted;
                    }
                    Some(first) => *first,
                }
            }
        };
        if first == digest {
            return Recorded::Duplicate;
        }
        self.equivocations += 1;
        if self.evidence.len() < EVIDENCE_MAX {
            self.evidence.push(Equivocation {
                replica: from.to_owned(),
                sequence,
                view,
                phase,
                first,
                second: digest,
            });
        }
        Recorded::Equivocation
    }

    /// The digest prepared at (`sequence`, `view`), if any: the primary's pre-prepare and
    /// `quorum - 1` matching prepares from distinct backups.
    pub fn prepared(&self, sequence: u64, view: u64) -> Option<Digest> {
        let slot = self.slots.get(&(sequence, view))?;
        let digest = slot.pre_prepare?;
        let backups = slot.prepares.values().filter(|d| **d == digest).count();
        (backups + 1 >= self.quorum()).then_some(digest)
    }

    /// The digest committed-local at (`sequence`, `view`), if any: prepared, and `quorum`
    /// matching commits from distinct replicas.
    pub fn committed_local(&self, sequence: u64, view: u64) -> Option<Digest> {
        let digest = self.prepared(sequence, view)?;
        let commits = self.commit_signers(sequence, view, &digest).len();
        (commits >= self.quorum()).then_some(digest)
    }

    /// The replicas that committed `digest` at (`sequence`, `view`), sorted: the signers of its
    /// commit certificate.
    pub fn commit_signers(&self, sequence: u64, view: u64, digest: &Digest) -> Vec<NodeId> {
        self.slots
            .get(&(sequence, view))
            .map(|slot| {
                slot.commits
                    .iter()
                    .filter(|(_, d)| *d == digest)
                    .map(|(replica, _)| replica.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets every sequence at or below `sequence` (a stable checkpoint, PBFT §4.3) and moves
    /// the window up. A lower `sequence` than the watermark changes nothing.
    pub fn advance_low_watermark(&mut self, sequence: u64) {
        if sequence <= self.low_watermark {
            return;
        }
        self.low_watermark = sequence;
        self.slots = self.slots.split_off(&(sequence + 1, 0));
        debug_assert!(self.slots.keys().all(|(s, _)| *s > self.low_watermark));
    }

    /// Forgets every slot of a view below `view` (a later view started: what those views
    /// prepared travels in view-changes, not here), so each sequence has room for the views
    /// still to come.
    pub fn forget_views_below(&mut self, view: u64) {
        self.slots.retain(|(_, v), _| *v >= view);
    }

    /// The equivocations kept as evidence, oldest first (at most [`EVIDENCE_MAX`]).
    pub fn evidence(&self) -> &[Equivocation] {
        &self.evidence
    }

    /// Every equivocation seen, kept or not.
    pub fn equivocations(&self) -> u64 {
        self.equivocations
    }

    /// The replicas that equivocated, for the engine to stop trusting.
    pub fn equivocators(&self) -> BTreeSet<&str> {
        self.evidence.iter().map(|e| e.replica.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Digest = [0xa; 32];
    const B: Digest = [0xb; 32];

    /// Four replicas: "n0" is the primary of view 0, "n1" of view 1.
    fn log() -> VoteLog {
        VoteLog::new(["n3", "n1", "n0", "n2"].map(String::from).to_vec(), 0)
    }

    #[test]
    fn a_block_prepares_with_the_pre_prepare_and_two_backups_and_commits_with_three() {
        let mut log = log();
        assert_eq!(log.quorum(), 3);
        assert_eq!(
            log.record(Phase::PrePrepare, 1, 0, "n0", A),
            Recorded::Counted
        );
        assert_eq!(log.record(Phase::Prepare, 1, 0, "n1", A), Recorded::Counted);
        assert_eq!(log.prepared(1, 0), None, "one backup is not enough");
        assert_eq!(log.record(Phase::Prepare, 1, 0, "n2", A), Recorded::Counted);
        assert_eq!(log.prepared(1, 0), Some(A));
        for replica in ["n3", "n0"] {
            assert_eq!(
                log.record(Phase::Commit, 1, 0, replica, A),
                Recorded::Counted
            );
            assert_eq!(log.committed_local(1, 0), None);
        }
        assert_eq!(log.record(Phase::Commit, 1, 0, "n1", A), Recorded::Counted);
        assert_eq!(log.committed_local(1, 0), Some(A));
        assert_eq!(log.commit_signers(1, 0, &A), ["n0", "n1", "n3"]);
        // Another view of the same sequence is another slot.
        assert_eq!(log.prepared(1, 1), None);
    }

    #[test]
    fn commits_without_a_prepared_block_decide_nothing() {
        let mut log = log();
        for replica in ["n0", "n1", "n2", "n3"] {
            log.record(Phase::Commit, 1, 0, replica, A);
        }
        assert_eq!(
            log.committed_local(1, 0),
            None,
            "no pre-prepare, no prepares"
        );
    }

    #[test]
    fn votes_out_of_role_are_refused() {
        let mut log = log();
        assert_eq!(
            log.record(Phase::PrePrepare, 1, 0, "n1", A),
            Recorded::Refused(Refusal::NotPrimary)
        );
        assert_eq!(
            log.record(Phase::Prepare, 1, 0, "n0", A),
            Recorded::Refused(Refusal::PrepareFromPrimary)
        );
        assert_eq!(
            log.record(Phase::Commit, 1, 0, "intruder", A),
            Recorded::Refused(Refusal::NotAReplica)
        );
        // View 1's primary is n1.
        assert_eq!(
            log.record(Phase::PrePrepare, 1, 1, "n1", A),
            Recorded::Counted
        );
    }

    #[test]
    fn a_backup_voting_two_blocks_is_counted_once_and_kept_as_evidence() {
        let mut log = log();
        log.record(Phase::PrePrepare, 1, 0, "n0", A);
        assert_eq!(log.record(Phase::Prepare, 1, 0, "n1", A), Recorded::Counted);
        assert_eq!(
            log.record(Phase::Prepare, 1, 0, "n1", A),
            Recorded::Duplicate
        );
        assert_eq!(
            log.record(Phase::Prepare, 1, 0, "n1", B),
            Recorded::Equivocation
        );
        assert_eq!(log.prepared(1, 0), None, "n1 counts once");
        assert_eq!(
            log.evidence(),
            [Equivocation {
                replica: "n1".into(),
                sequence: 1,
                view: 0,
                phase: Phase::Prepare,
                first: A,
                second: B,
            }]
        );
        assert_eq!(log.equivocators().into_iter().collect::<Vec<_>>(), ["n1"]);
        log.record(Phase::Prepare, 1, 0, "n2", A);
        assert_eq!(log.prepared(1, 0), Some(A));
    }

    #[test]
    fn an_equivocating_primary_prepares_at_most_its_first_block_here() {
        let mut log = log();
        assert_eq!(
            log.record(Phase::PrePrepare, 1, 0, "n0", A),
            Recorded::Counted
        );
        assert_eq!(
            log.record(Phase::PrePrepare, 1, 0, "n0", B),
            Recorded::Equivocation
        );
        // Every backup prepares B (the primary told them B): this replica holds A's
        // pre-prepare, so nothing prepares here, neither A nor B.
        for replica in ["n1", "n2", "n3"] {
            log.record(Phase::Prepare, 1, 0, replica, B);
        }
        assert_eq!(log.prepared(1, 0), None);
    }

    #[test]
    fn only_sequences_within_the_watermarks_are_kept() {
        let mut log = log();
        assert_eq!(
            log.record(Phase::Commit, 0, 0, "n1", A),
            Recorded::Refused(Refusal::OutsideWatermarks)
        );
        assert_eq!(
            log.record(Phase::Commit, WINDOW + 1, 0, "n1", A),
            Recorded::Refused(Refusal::OutsideWatermarks)
        );
        assert_eq!(
            log.record(Phase::Commit, WINDOW, 0, "n1", A),
            Recorded::Counted
        );
        log.record(Phase::Commit, 5, 0, "n1", A);
        log.advance_low_watermark(5);
        assert!(log.commit_signers(5, 0, &A).is_empty(), "forgotten");
        assert_eq!(log.commit_signers(WINDOW, 0, &A), ["n1"], "kept");
        assert_eq!(
            log.record(Phase::Commit, WINDOW + 5, 0, "n2", A),
            Recorded::Counted,
            "the window moved up"
        );
        log.advance_low_watermark(3);
        assert_eq!(log.low_watermark(), 5, "never down");
    }

    #[test]
    fn a_started_view_frees_the_slots_of_earlier_views() {
        let mut log = log();
        for view in 0..VIEWS_PER_SEQUENCE_MAX as u64 {
            log.record(Phase::Commit, 1, view, "n1", A);
        }
        log.forget_views_below(VIEWS_PER_SEQUENCE_MAX as u64);
        assert!(log.commit_signers(1, 0, &A).is_empty());
        assert_eq!(
            log.record(Phase::Commit, 1, 99, "n1", A),
            Recorded::Counted,
            "room for the new view"
        );
    }

    #[test]
    fn a_sequence_holds_a_bounded_number_of_views() {
        let mut log = log();
        for view in 0..VIEWS_PER_SEQUENCE_MAX as u64 {
            assert_eq!(
                log.record(Phase::Commit, 1, view, "n1", A),
                Recorded::Counted
            );
        }
        assert_eq!(
            log.record(Phase::Commit, 1, 99, "n1", A),
            Recorded::Refused(Refusal::TooManyViews)
        );
        assert_eq!(
            log.record(Phase::Commit, 1, 0, "n2", A),
            Recorded::Counted,
            "a view it holds still takes votes"
        );
    }
}
