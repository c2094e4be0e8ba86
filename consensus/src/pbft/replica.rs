//! One PBFT replica as a state machine without I/O (PBFT §4.2-§4.4, adapted to a chain whose
//! sequence is its height; see [`super::view_change`] for why a replica votes only at the height
//! after its last commit). Inputs: a block to propose ([`Replica::propose`]), a peer's message
//! ([`Replica::step`]), the node's verdict on a block ([`Replica::validated`]), a tick
//! ([`Replica::tick`]) and whether transactions wait ([`Replica::set_pending_work`]). Outputs
//! ([`Replica::take_output`]): the durable record when it changed, messages it signed (to send
//! only after that record is durable), other messages, blocks to validate, and blocks committed
//! in height order with their certificates.
//!
//! Invariants it keeps:
//! - it signs at most one vote per (sequence, view, phase) and one view-change per view, also
//!   across a crash: each is in the durable record before it leaves, and a restarted replica
//!   re-sends exactly what it signed;
//! - it prepares and commits only a block its node validated, and only at the height after its
//!   last commit;
//! - it hands out height `s` only after `s - 1`, each with a quorum's commit signatures, so
//!   every honest replica applies the same blocks in the same order;
//! - what it holds is bounded: votes within the watermarks ([`super::votes::WINDOW`] above its
//!   last commit), blocks for at most [`AHEAD_MAX`] heights, view-changes for at most
//!   [`VIEWS_AHEAD_MAX`] views ahead; committed blocks are the node's, served from its ledger.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

use super::certificates::{Certificate, Prepared};
use super::durable::{WireDurable, WireValidatorSet};
use super::messages::{
    Crypto, Envelope, Kind, MessageError, SignedBody, Vote, WireBlock, WireBlockRequest,
    WireCatchUpRequest, WireCatchUpResponse, WireCertifiedBlock, WireStatus, BLOCK_BYTES_MAX,
    SIGNATURE_BYTES,
};
use super::validators::ValidatorSets;
use super::view_change::{NewView, ViewChange, ViewChangeError};
use super::votes::{Digest, Phase, Recorded, VoteLog};
use crate::{ConsensusError, NodeId, Proposal};

/// Heights above the last commit for which a replica keeps proposed blocks: the next one, and
/// the one after (a primary that committed first proposes before a backup has).
pub const AHEAD_MAX: u64 = 2;
/// Views ahead of its own for which a replica keeps view-changes.
pub const VIEWS_AHEAD_MAX: u64 = 16;
/// Most blocks in one catch-up answer (fewer when they would not fit one message).
pub const CATCH_UP_BLOCKS_MAX: usize = 64;
/// Largest shift of the view-change timeout: it doubles per view change in a row, up to
/// `2^BACKOFF_SHIFT_MAX` times the base.
pub const BACKOFF_SHIFT_MAX: u32 = 4;

/// Timing, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Ticks without progress, while work waits, before a backup suspects the primary; and the
    /// base of the new view's deadline (doubled per view change in a row).
    pub view_change_ticks: u64,
    /// Ticks between status reports (and re-sends of its own latest messages).
    pub status_ticks: u64,
    /// Ticks between catch-up requests.
    pub catch_up_ticks: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            view_change_ticks: 20,
            status_ticks: 5,
            catch_up_ticks: 3,
        }
    }
}

/// A committed block with its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedBlock {
    /// The height.
    pub sequence: u64,
    /// The block.
    pub block: Vec<u8>,
    /// The quorum's commits.
    pub certificate: Certificate,
}

/// A message for peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Send {
    /// To every other replica.
    Broadcast(Vec<u8>),
    /// To one replica.
    To(NodeId, Vec<u8>),
}

/// What the replica asks of its node.
#[derive(Debug, Default)]
pub struct Output {
    /// The new durable record, to write before `signed` leaves.
    pub durable: Option<Vec<u8>>,
    /// Messages it signed: send only after `durable` is written.
    pub signed: Vec<Send>,
    /// Messages that may go at once.
    pub plain: Vec<Send>,
    /// Blocks to validate.
    pub to_validate: Vec<Proposal>,
    /// Committed blocks, in height order.
    pub committed: Vec<CommittedBlock>,
    /// Peers asking for committed blocks: (peer, its committed height).
    pub catch_up: Vec<(NodeId, u64)>,
    /// Validators that signed commits for two blocks at one height in one view, with both
    /// signatures (at most [`EQUIVOCATIONS_REPORTED_MAX`] per output).
    pub equivocations: Vec<crate::SignedEquivocation>,
}

/// Most signed equivocations one output carries (the rest are still counted in
/// [`Dropped::equivocations`] and kept by the vote log).
pub const EQUIVOCATIONS_REPORTED_MAX: usize = 64;

/// Messages dropped, by reason, for the operator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// From a sender that is not a replica.
    pub not_a_replica: u64,
    /// Undecodable, malformed or badly signed.
    pub invalid: u64,
    /// For a height already committed or a view already left.
    pub old: u64,
    /// Beyond the watermarks or too many views ahead.
    pub out_of_window: u64,
    /// Votes refused by the vote log (out of role) and blocks that do not match their digest.
    pub refused: u64,
    /// Equivocations (kept as evidence by the vote log).
    pub equivocations: u64,
    /// Blocks the node found invalid.
    pub invalid_blocks: u64,
}

/// Votes of one phase in one slot: replica -> (digest, signature).
type SignedVotes = BTreeMap<NodeId, (Digest, [u8; SIGNATURE_BYTES])>;

/// One replica.
pub struct Replica {
    id: NodeId,
    /// The validator sets by height; the latest decides the height after the last commit.
    sets: ValidatorSets,
    crypto: Box<dyn Crypto>,
    timing: Timing,
    /// The view it is in, or moving to when `!active`.
    view: u64,
    active: bool,
    /// False after [`Replica::forbid_voting`]: it signs nothing, and follows by certificates.
    voting: bool,
    log: VoteLog,
    /// The highest height handed out as committed.
    committed: u64,
    /// That height's certificate (none before the first, or after a restart from a ledger
    /// that was ahead of this record).
    certificate: Option<Certificate>,
    /// Proposed blocks above `committed`, by (sequence, digest).
    blocks: BTreeMap<(u64, Digest), Vec<u8>>,
    /// The primary's pre-prepare per (sequence, view), without its block.
    pre_prepares: BTreeMap<(u64, u64), Vote>,
    /// Prepare and commit signatures per (sequence, view): replica -> (digest, signature).
    prepares: BTreeMap<(u64, u64), SignedVotes>,
    commits: BTreeMap<(u64, u64), SignedVotes>,
    /// Certificates above `committed` learned from peers (view-changes, catch-up).
    certified: BTreeMap<u64, Certificate>,
    /// Blocks the node validated, and those it was asked about.
    validated: BTreeSet<(u64, Digest)>,
    asked: BTreeSet<(u64, Digest)>,
    /// Blocks asked of peers since the last status tick.
    requested: BTreeSet<(u64, Digest)>,
    /// Votes it signed above `committed`.
    own_votes: BTreeMap<(u64, u64, Phase), Vote>,
    /// Its best prepared certificate for `committed + 1`.
    prepared: Option<Prepared>,
    /// View-changes received, by view, then sender.
    view_changes: BTreeMap<u64, BTreeMap<NodeId, ViewChange>>,
    /// The view-changes it signed, by view, for views above the last it started: what it
    /// re-sends, and hands to peers still gathering a quorum for an earlier view.
    own_view_changes: BTreeMap<u64, ViewChange>,
    /// The new-view that started its current view.
    new_view: Option<NewView>,
    /// Ticks since the view-change timer was armed.
    timer: u64,
    /// View changes in a row without a commit (the backoff's exponent).
    changes_in_a_row: u32,
    pending_work: bool,
    status_timer: u64,
    catch_up_timer: u64,
    /// The highest height a peer claims, and who: whom to ask for blocks.
    ahead: Option<(u64, NodeId)>,
    /// Catch-up requests since the last commit: each goes to the next replica after the one
    /// ahead, so a peer that cannot or will not answer delays catching up by one request.
    catch_up_attempt: usize,
    /// Peers outside the current set that sent votes since the last status report: they get
    /// the next one (bounded by [`super::messages::REPLICAS_MAX`]).
    uninformed: BTreeSet<NodeId>,
    /// Peers whose votes count for nothing (their consensus state went back).
    refused: BTreeSet<NodeId>,
    dirty: bool,
    output: Output,
    dropped: Dropped,
}

impl Replica {
    /// Replica `id` with `validators` deciding the height after `applied` (the node's ledger
    /// height), resuming from its durable record (`None`: a fresh start). A node that is not
    /// one of the validators follows by certificates and votes nowhere until a set it belongs
    /// to is given ([`Replica::reconfigure`]).
    pub fn restore(
        id: NodeId,
        validators: Vec<NodeId>,
        crypto: Box<dyn Crypto>,
        timing: Timing,
        durable: Option<&[u8]>,
        applied: u64,
    ) -> Result<Self, ConsensusError> {
        if validators.is_empty() {
            return Err(ConsensusError::InvalidState {
                why: "a PBFT chain has at least one validator".into(),
            });
        }
        let sets = ValidatorSets::new(applied + 1, validators);
        let mut replica = Self {
            log: VoteLog::new(sets.latest().to_vec(), applied),
            id,
            sets,
            crypto,
            timing,
            view: 0,
            active: true,
            voting: true,
            committed: applied,
            certificate: None,
            blocks: BTreeMap::new(),
            pre_prepares: BTreeMap::new(),
            prepares: BTreeMap::new(),
            commits: BTreeMap::new(),
            certified: BTreeMap::new(),
            validated: BTreeSet::new(),
            asked: BTreeSet::new(),
            requested: BTreeSet::new(),
            own_votes: BTreeMap::new(),
            prepared: None,
            view_changes: BTreeMap::new(),
            own_view_changes: BTreeMap::new(),
            new_view: None,
            catch_up_attempt: 0,
            uninformed: BTreeSet::new(),
            refused: BTreeSet::new(),
            timer: 0,
            changes_in_a_row: 0,
            pending_work: false,
            status_timer: 0,
            catch_up_timer: 0,
            ahead: None,
            dirty: false,
            output: Output::default(),
            dropped: Dropped::default(),
        };
        if let Some(bytes) = durable {
            replica.resume(bytes)?;
        }
        Ok(replica)
    }

    /// Reads the durable record back. Its own disk is trusted for what it signed (a vote
    /// that does not verify with its own key is an error: the record is damaged). Peers'
    /// proofs in it are checked again against the validators now known, and those that no
    /// longer check (made by a set since changed) are left out: they only speed things up.
    fn resume(&mut self, bytes: &[u8]) -> Result<(), ConsensusError> {
        let invalid = |why: String| ConsensusError::InvalidState { why };
        let record = WireDurable::decode(bytes)
            .map_err(|e| invalid(format!("the PBFT record does not decode: {e}")))?;
        self.view = record.view;
        self.active = record.active;
        for set in record.validator_sets {
            self.sets.remember(set.from, set.validators);
        }
        let crypto = self.crypto.as_ref();
        let certificate = record
            .committed
            .as_ref()
            .and_then(|w| Certificate::verified(crypto, self.sets.at(w.sequence), w).ok());
        if let Some(certificate) = certificate {
            if certificate.sequence == self.committed {
                self.certificate = Some(certificate);
            } else if certificate.sequence > self.committed {
                // Committed before the crash, not yet applied: hand it out again if its block
                // is here (the prepared one), else fetch it.
                self.certified.insert(certificate.sequence, certificate);
            }
        }
        let prepared = record.prepared.as_ref().and_then(|w| {
            let sequence = w.pre_prepare.as_ref().map_or(0, |v| v.sequence);
            Prepared::verified(crypto, self.sets.at(sequence), w).ok()
        });
        if let Some(prepared) = prepared {
            if prepared.sequence() > self.committed {
                if crypto.digest(&record.prepared_block) == prepared.digest() {
                    self.blocks.insert(
                        (prepared.sequence(), prepared.digest()),
                        record.prepared_block.clone(),
                    );
                    self.validated
                        .insert((prepared.sequence(), prepared.digest()));
                }
                self.prepared = Some(prepared);
            }
        }
        for wire in record.pre_prepares {
            let primary = super::primary(self.sets.latest(), wire.view).clone();
            if let Ok(pre_prepare) = Vote::verified(self.crypto.as_ref(), &primary, wire) {
                if pre_prepare.sequence > self.committed {
                    self.record(&primary, pre_prepare);
                }
            }
        }
        for wire in record.own_votes {
            let vote = Vote::verified(self.crypto.as_ref(), &self.id.clone(), wire)
                .map_err(|e| invalid(format!("a stored vote: {e}")))?;
            if vote.sequence > self.committed {
                // It voted only for blocks its node validated.
                self.validated.insert((vote.sequence, vote.digest));
                let id = self.id.clone();
                self.record(&id, vote.clone());
                let mut kept = vote;
                kept.block.clear();
                self.own_votes
                    .insert((kept.sequence, kept.view, kept.phase), kept);
            }
        }
        let crypto = self.crypto.as_ref();
        for signed in &record.own_view_changes {
            if let Ok(view_change) = ViewChange::verified(crypto, &self.sets, signed) {
                self.own_view_changes
                    .insert(view_change.new_view, view_change);
            }
        }
        if let Some(signed) = &record.new_view {
            self.new_view = NewView::verified(crypto, &self.sets, signed).ok();
        }
        if !self.active {
            if let Some(own) = self.own_view_changes.get(&self.view).cloned() {
                self.note_view_change(own);
            }
        }
        self.hand_out();
        Ok(())
    }

    /// This replica's id.
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// The current validators, sorted.
    pub fn replicas(&self) -> &[NodeId] {
        self.sets.latest()
    }

    /// Whether this replica is one of the current validators (else it follows, voting
    /// nowhere).
    pub fn is_member(&self) -> bool {
        self.sets.latest().contains(&self.id)
    }

    /// From height `from` (the one after the last commit: the node applied the block that
    /// changed the set) the validators are `validators`. Votes above the last commit were
    /// counted under the old set and are dropped (senders re-send them); certificates of
    /// earlier heights are still checked against the sets that made them.
    pub fn reconfigure(&mut self, from: u64, validators: Vec<NodeId>) {
        if validators.is_empty() || from != self.committed + 1 {
            debug_assert!(false, "a set of validators changes after the last commit");
            return;
        }
        let mut sorted = validators.clone();
        sorted.sort();
        sorted.dedup();
        if sorted == self.sets.latest() {
            return;
        }
        self.sets.change(from, validators);
        self.log = VoteLog::new(self.sets.latest().to_vec(), self.committed);
        self.pre_prepares.clear();
        self.prepares.clear();
        self.commits.clear();
        self.certified.clear();
        self.view_changes.clear();
        self.prepared = None;
        self.timer = 0;
        self.dirty = true;
    }

    /// The view it is in (or moving to).
    pub fn view(&self) -> u64 {
        self.view
    }

    /// Whether its view has started (false during a view change).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The primary of its view, once that view started.
    pub fn primary(&self) -> Option<&NodeId> {
        self.active
            .then(|| super::primary(self.sets.latest(), self.view))
    }

    /// Whether it is the primary of a started view (and so may propose).
    pub fn is_primary(&self) -> bool {
        self.primary() == Some(&self.id)
    }

    /// The highest height committed.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Its signing and checking.
    pub fn crypto(&self) -> &dyn Crypto {
        self.crypto.as_ref()
    }

    /// Messages dropped, by reason.
    pub fn dropped(&self) -> &Dropped {
        &self.dropped
    }

    /// The equivocations seen, kept as evidence.
    pub fn evidence(&self) -> &[super::votes::Equivocation] {
        self.log.evidence()
    }

    /// Signs nothing from now on (its durable state is missing or older than the chain shows:
    /// it may have signed what it no longer knows); it still follows by certificates.
    pub fn forbid_voting(&mut self) {
        self.voting = false;
    }

    /// From now on nothing `nodes` sign counts (replaces the previous set): their consensus
    /// state went back, so they may sign again what they signed before.
    pub fn refuse_votes_from(&mut self, nodes: &BTreeSet<NodeId>) {
        self.refused = nodes.clone();
    }

    /// A peer ahead of this replica and the height it claims, if any.
    pub fn lag(&self) -> Option<(NodeId, u64)> {
        self.ahead
            .as_ref()
            .filter(|(height, _)| *height > self.committed)
            .map(|(height, peer)| (peer.clone(), *height))
    }

    /// The node installed a state snapshot at `height` (it checked `certificate`, of the
    /// block there, against the validators): everything at or below it is decided, and the
    /// replica goes on from there.
    pub fn installed(&mut self, certificate: Certificate) {
        let height = certificate.sequence;
        if height <= self.committed {
            return;
        }
        self.committed = height;
        self.certificate = Some(certificate);
        self.forget_through(height);
        self.log = VoteLog::new(self.sets.latest().to_vec(), height);
        self.catch_up_attempt = 0;
        self.timer = 0;
        self.dirty = true;
    }

    /// Whether transactions wait at the node (arms the view-change timer on backups).
    pub fn set_pending_work(&mut self, pending: bool) {
        self.pending_work = pending;
    }

    /// Everything to do since the last call.
    pub fn take_output(&mut self) -> Output {
        // The next certified height, now that the node applied the one before.
        self.hand_out();
        if std::mem::take(&mut self.dirty) {
            self.output.durable = Some(self.durable_record());
        }
        std::mem::take(&mut self.output)
    }

    /// The primary proposes `block` at the height after its last commit.
    pub fn propose(&mut self, block: Vec<u8>) -> Result<u64, ConsensusError> {
        if !self.is_primary() || !self.voting {
            return Err(ConsensusError::NotLeader {
                leader: self.primary().cloned(),
            });
        }
        if block.len() > BLOCK_BYTES_MAX {
            return Err(ConsensusError::ProposalTooLarge {
                size: block.len(),
                max: BLOCK_BYTES_MAX,
            });
        }
        let sequence = self.committed + 1;
        if self
            .certified
            .keys()
            .next_back()
            .is_some_and(|s| *s >= sequence)
        {
            return Err(ConsensusError::ProposalDropped {
                why: format!("height {sequence} is already certified; catching up"),
            });
        }
        if self.pre_prepares.contains_key(&(sequence, self.view)) {
            return Err(ConsensusError::ProposalDropped {
                why: format!("a block is already proposed at height {sequence}"),
            });
        }
        let digest = self.crypto.digest(&block);
        self.validated.insert((sequence, digest));
        self.vote(Phase::PrePrepare, sequence, digest, block);
        self.progress();
        Ok(sequence)
    }

    /// The node's verdict on a block it was asked to validate.
    pub fn validated(&mut self, sequence: u64, digest: &Digest, valid: bool) {
        if !self.asked.contains(&(sequence, *digest)) || sequence <= self.committed {
            return;
        }
        if valid {
            self.validated.insert((sequence, *digest));
            self.progress();
            return;
        }
        self.dropped.invalid_blocks += 1;
        // A primary proposing an invalid block is faulty: move on at once.
        let from_primary = self
            .pre_prepares
            .get(&(sequence, self.view))
            .is_some_and(|p| p.digest == *digest);
        if self.active && from_primary {
            self.start_view_change(self.view + 1);
        }
    }

    /// Advances time by one tick.
    pub fn tick(&mut self) {
        // Active, the timer runs while work waits. Changing views, it runs only once a quorum
        // moved to the same view (PBFT §4.5.2): a replica that moved alone waits for the
        // others instead of racing ahead through views no quorum will ever share.
        let armed = if !self.is_member() {
            false // it follows; the validators' timers replace a faulty primary
        } else if self.active {
            self.pending_work
                || self
                    .pre_prepares
                    .contains_key(&(self.committed + 1, self.view))
        } else {
            self.view_changes
                .get(&self.view)
                .is_some_and(|senders| senders.len() >= super::quorum(self.sets.latest().len()))
        };
        if armed {
            self.timer += 1;
        } else {
            self.timer = 0;
        }
        if self.timer >= self.timeout() {
            self.start_view_change(self.view + 1);
        }
        self.status_timer += 1;
        if self.status_timer >= self.timing.status_ticks {
            self.status_timer = 0;
            self.report_status();
        }
        self.catch_up_timer = self.catch_up_timer.saturating_add(1);
        self.maybe_catch_up();
    }

    /// Handles `bytes` from `from`, as the transport authenticated it.
    pub fn step(&mut self, from: &str, bytes: &[u8]) -> Result<(), MessageError> {
        let kind = Envelope::decode_kind(bytes);
        // Votes, view-changes and new-views count only from the current validators; a node
        // following the chain (one being added, or removed) may still ask for blocks.
        let votes_or_views = matches!(
            kind,
            Ok(Kind::Vote(_) | Kind::ViewChange(_) | Kind::NewView(_))
        );
        if votes_or_views && self.refused.contains(from) {
            // Its consensus state went back (a restored or wiped disk): it may have signed
            // before what it no longer knows, so nothing it signs counts.
            self.dropped.not_a_replica += 1;
            return Err(MessageError::Undecodable(format!(
                "{from}'s votes are refused: its consensus state went back"
            )));
        }
        if votes_or_views
            && self
                .sets
                .latest()
                .binary_search_by(|r| r.as_str().cmp(from))
                .is_err()
        {
            self.dropped.not_a_replica += 1;
            // A node the chain removed (or one behind the change) still votes: the next status
            // report goes to it too, so it learns it is behind and catches up.
            if self.uninformed.len() < super::messages::REPLICAS_MAX {
                self.uninformed.insert(from.to_owned());
            }
            return Err(MessageError::Undecodable(format!(
                "{from} is not a validator"
            )));
        }
        let from = from.to_owned();
        let result = match kind {
            Ok(Kind::Vote(wire)) => {
                Vote::verified(self.crypto.as_ref(), &from, wire).map(|v| self.on_vote(&from, v))
            }
            Ok(Kind::ViewChange(signed)) => self.on_view_change(&from, &signed),
            Ok(Kind::NewView(signed)) => self.on_new_view(&signed),
            Ok(Kind::Status(status)) => {
                self.on_status(&from, &status);
                Ok(())
            }
            Ok(Kind::CatchUpRequest(request)) => {
                self.on_catch_up_request(&from, &request);
                Ok(())
            }
            Ok(Kind::CatchUpResponse(response)) => {
                self.on_catch_up_response(&from, response);
                Ok(())
            }
            Ok(Kind::BlockRequest(request)) => {
                self.on_block_request(&from, &request);
                Ok(())
            }
            Ok(Kind::Block(block)) => {
                self.on_block(block);
                Ok(())
            }
            Err(error) => Err(error),
        };
        if result.is_err() {
            self.dropped.invalid += 1;
        }
        result
    }

    /// The view-change deadline now: the base, doubled per view change in a row.
    fn timeout(&self) -> u64 {
        self.timing.view_change_ticks << self.changes_in_a_row.min(BACKOFF_SHIFT_MAX)
    }

    fn on_vote(&mut self, from: &NodeId, vote: Vote) {
        if vote.sequence <= self.committed || vote.view < self.view {
            self.dropped.old += 1;
            return;
        }
        // Votes of a view count only once that view started here: before its new-view, a
        // faulty primary's pre-prepare could take the place of the one the new-view must
        // re-issue. Senders re-send their latest votes each status tick.
        if vote.view > self.view || !self.active {
            self.dropped.out_of_window += 1;
            return;
        }
        if vote.phase == Phase::PrePrepare {
            if vote.sequence > self.committed + AHEAD_MAX {
                self.dropped.out_of_window += 1;
                return;
            }
            if !vote.block.is_empty() && self.crypto.digest(&vote.block) != vote.digest {
                self.dropped.refused += 1;
                return;
            }
        }
        let (sequence, view, phase) = (vote.sequence, vote.view, vote.phase);
        let second = (vote.digest, vote.signature);
        match self.record(from, vote) {
            Recorded::Counted | Recorded::Duplicate => {}
            Recorded::Equivocation => {
                self.dropped.equivocations += 1;
                // Two signed commits for one slot: both signatures are evidence anyone can
                // check (the commit statement names chain, height, view and block).
                if phase == Phase::Commit {
                    let first = self
                        .commits
                        .get(&(sequence, view))
                        .and_then(|commits| commits.get(from))
                        .copied();
                    if let Some(first) = first.filter(|(digest, _)| *digest != second.0) {
                        if self.output.equivocations.len() < EQUIVOCATIONS_REPORTED_MAX {
                            self.output.equivocations.push(crate::SignedEquivocation {
                                node: from.to_owned(),
                                height: sequence,
                                view,
                                first,
                                second,
                            });
                        }
                    }
                }
                // Two pre-prepares for one slot from this view's primary: it is faulty.
                if phase == Phase::PrePrepare && view == self.view && self.active {
                    self.start_view_change(self.view + 1);
                    return;
                }
            }
            Recorded::Refused(_) => {
                self.dropped.refused += 1;
                return;
            }
        }
        if sequence == self.committed + 1 || phase == Phase::Commit {
            self.progress();
        }
    }

    /// Records a checked vote (its sender's or this replica's own) in the log and its maps.
    fn record(&mut self, from: &str, mut vote: Vote) -> Recorded {
        let recorded = self
            .log
            .record(vote.phase, vote.sequence, vote.view, from, vote.digest);
        if recorded == Recorded::Duplicate && vote.phase == Phase::PrePrepare {
            // The same pre-prepare again may now bring the block it lacked.
            if !vote.block.is_empty() {
                self.blocks
                    .entry((vote.sequence, vote.digest))
                    .or_insert(std::mem::take(&mut vote.block));
            }
        }
        if recorded != Recorded::Counted {
            return recorded;
        }
        let slot = (vote.sequence, vote.view);
        match vote.phase {
            Phase::PrePrepare => {
                if !vote.block.is_empty() {
                    self.blocks.insert(
                        (vote.sequence, vote.digest),
                        std::mem::take(&mut vote.block),
                    );
                }
                self.pre_prepares.insert(slot, vote);
            }
            Phase::Prepare => {
                self.prepares
                    .entry(slot)
                    .or_default()
                    .insert(from.to_owned(), (vote.digest, vote.signature));
            }
            Phase::Commit => {
                self.commits
                    .entry(slot)
                    .or_default()
                    .insert(from.to_owned(), (vote.digest, vote.signature));
            }
        }
        recorded
    }

    /// Signs, keeps and sends this replica's vote, once per (sequence, view, phase).
    fn vote(&mut self, phase: Phase, sequence: u64, digest: Digest, block: Vec<u8>) {
        if !self.voting
            || !self.is_member()
            || self.own_votes.contains_key(&(sequence, self.view, phase))
        {
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
        self.output.signed.push(Send::Broadcast(vote.encode()));
        let id = self.id.clone();
        let recorded = self.record(&id, vote.clone());
        debug_assert_eq!(recorded, Recorded::Counted, "its first vote counts");
        let mut kept = vote;
        // The block is kept once, in `blocks`; the record re-reads it from there.
        kept.block.clear();
        self.own_votes.insert((sequence, self.view, phase), kept);
        self.dirty = true;
    }

    /// Takes every step the held votes allow at the height after the last commit, then hands
    /// out what is committed (and again at the next height, until nothing moves).
    fn progress(&mut self) {
        loop {
            let before = self.committed;
            self.progress_next();
            self.hand_out();
            if self.committed == before {
                return;
            }
        }
    }

    fn progress_next(&mut self) {
        if !self.active {
            return;
        }
        let (sequence, view) = (self.committed + 1, self.view);
        // A height someone certified is fetched, not voted on again.
        if self.certified.contains_key(&sequence) {
            return;
        }
        let Some(pre_prepare) = self.pre_prepares.get(&(sequence, view)) else {
            return;
        };
        let digest = pre_prepare.digest;
        if !self.validated.contains(&(sequence, digest)) {
            self.ask_validation(sequence, view, digest);
            return;
        }
        if !self.is_primary() {
            self.vote(Phase::Prepare, sequence, digest, Vec::new());
        }
        if self.log.prepared(sequence, view) == Some(digest) {
            self.note_prepared(sequence, view, digest);
            self.vote(Phase::Commit, sequence, digest, Vec::new());
        }
    }

    /// Asks the node to validate the block proposed at (`sequence`, `view`), once; or asks
    /// peers for it when only its digest is here.
    fn ask_validation(&mut self, sequence: u64, view: u64, digest: Digest) {
        let Some(block) = self.blocks.get(&(sequence, digest)) else {
            if self.requested.insert((sequence, digest)) {
                let request = Envelope::encode_kind(Kind::BlockRequest(WireBlockRequest {
                    sequence,
                    digest: digest.to_vec(),
                }));
                self.output.plain.push(Send::Broadcast(request));
            }
            return;
        };
        if self.asked.insert((sequence, digest)) {
            self.output.to_validate.push(Proposal {
                sequence,
                view,
                digest,
                block: block.clone(),
            });
        }
    }

    /// Keeps the prepared certificate of (`sequence`, `view`, `digest`) for view changes.
    fn note_prepared(&mut self, sequence: u64, view: u64, digest: Digest) {
        if self
            .prepared
            .as_ref()
            .is_some_and(|p| p.sequence() == sequence && p.view() >= view)
        {
            return;
        }
        let Some(pre_prepare) = self.pre_prepares.get(&(sequence, view)).cloned() else {
            return;
        };
        let primary = super::primary(self.sets.latest(), view).clone();
        let prepares: Vec<(NodeId, [u8; SIGNATURE_BYTES])> = self
            .prepares
            .get(&(sequence, view))
            .map(|votes| {
                votes
                    .iter()
                    .filter(|(replica, (d, _))| *d == digest && **replica != primary)
                    .map(|(replica, (_, signature))| (replica.clone(), *signature))
                    .collect()
            })
            .unwrap_or_default();
        debug_assert!(prepares.len() + 1 >= super::quorum(self.sets.latest().len()));
        self.prepared = Some(Prepared {
            pre_prepare,
            prepares,
        });
        self.dirty = true;
    }

    /// The certificate of `sequence`, if it holds one: learned, or made of a quorum of
    /// matching commits in one view.
    fn certificate_of(&self, sequence: u64) -> Option<Certificate> {
        if let Some(certificate) = self.certified.get(&sequence) {
            return Some(certificate.clone());
        }
        let quorum = super::quorum(self.sets.latest().len());
        let views = self.commits.range((sequence, 0)..=(sequence, u64::MAX));
        for ((_, view), votes) in views {
            let mut by_digest: BTreeMap<Digest, Vec<(NodeId, [u8; SIGNATURE_BYTES])>> =
                BTreeMap::new();
            for (replica, (digest, signature)) in votes {
                by_digest
                    .entry(*digest)
                    .or_default()
                    .push((replica.clone(), *signature));
            }
            if let Some((digest, signatures)) =
                by_digest.into_iter().find(|(_, s)| s.len() >= quorum)
            {
                return Some(Certificate {
                    sequence,
                    view: *view,
                    digest,
                    signatures,
                });
            }
        }
        None
    }

    /// Hands out every height right after the last one that has a certificate and its block.
    ///
    /// One height per output: the node applies it before the next is handed out (the next
    /// `take_output`), so a block that changes the validators is applied, and the engine
    /// reconfigured, before any later height's certificate is judged, against the set that
    /// made it.
    fn hand_out(&mut self) {
        loop {
            if !self.output.committed.is_empty() {
                break;
            }
            let sequence = self.committed + 1;
            let Some(certificate) = self.certificate_of(sequence) else {
                break;
            };
            // A certificate learned before the set of its height was known is checked again
            // against that set now.
            if self.certified.contains_key(&sequence)
                && Certificate::verified(
                    self.crypto.as_ref(),
                    self.sets.at(sequence),
                    &certificate.to_wire(),
                )
                .is_err()
            {
                self.certified.remove(&sequence);
                self.dropped.invalid += 1;
                break;
            }
            let Some(block) = self.blocks.get(&(sequence, certificate.digest)).cloned() else {
                // Certified, its block not here: ask a signer (a quorum signed; one of them
                // holds it, and the block checks against the digest whoever sends it).
                let signer = certificate
                    .signatures
                    .iter()
                    .map(|(r, _)| r)
                    .find(|r| **r != self.id)
                    .cloned();
                if let Some(signer) = signer {
                    if self.ahead.as_ref().is_none_or(|(s, _)| *s < sequence) {
                        self.ahead = Some((sequence, signer));
                    }
                }
                self.certified.insert(sequence, certificate);
                break;
            };
            debug_assert_eq!(self.crypto.digest(&block), certificate.digest);
            self.output.committed.push(CommittedBlock {
                sequence,
                block,
                certificate: certificate.clone(),
            });
            self.committed = sequence;
            self.catch_up_attempt = 0;
            self.certificate = Some(certificate);
            self.forget_through(sequence);
            // Progress: the primary is live, the backoff starts over.
            self.timer = 0;
            self.changes_in_a_row = 0;
            self.dirty = true;
        }
        self.maybe_catch_up();
    }

    /// Drops everything at or below `sequence` (decided): the low watermark moves up.
    fn forget_through(&mut self, sequence: u64) {
        let above = (sequence + 1, 0);
        self.log.advance_low_watermark(sequence);
        self.blocks = self.blocks.split_off(&(sequence + 1, [0; 32]));
        self.pre_prepares = self.pre_prepares.split_off(&above);
        self.prepares = self.prepares.split_off(&above);
        self.commits = self.commits.split_off(&above);
        self.certified = self.certified.split_off(&(sequence + 1));
        self.validated = self.validated.split_off(&(sequence + 1, [0; 32]));
        self.asked = self.asked.split_off(&(sequence + 1, [0; 32]));
        self.own_votes = self
            .own_votes
            .split_off(&(sequence + 1, 0, Phase::PrePrepare));
        if self
            .prepared
            .as_ref()
            .is_some_and(|p| p.sequence() <= sequence)
        {
            self.prepared = None;
        }
    }

    /// Moves to view `new_view`: stops voting in the old one and signs its view-change.
    fn start_view_change(&mut self, new_view: u64) {
        if new_view <= self.view || !self.is_member() {
            return;
        }
        self.view = new_view;
        self.active = false;
        self.timer = 0;
        self.changes_in_a_row = self.changes_in_a_row.saturating_add(1);
        self.dirty = true;
        self.view_changes = self.view_changes.split_off(&new_view);
        if !self.voting {
            return;
        }
        let view_change = ViewChange::signed(
            self.crypto.as_ref(),
            self.id.clone(),
            new_view,
            self.certificate.clone(),
            self.prepared.clone(),
        );
        self.output
            .signed
            .push(Send::Broadcast(Envelope::encode_kind(Kind::ViewChange(
                view_change.signed.clone(),
            ))));
        self.own_view_changes.insert(new_view, view_change.clone());
        while self.own_view_changes.len() > VIEWS_AHEAD_MAX as usize {
            self.own_view_changes.pop_first();
        }
        self.note_view_change(view_change);
    }

    fn on_view_change(&mut self, from: &NodeId, signed: &SignedBody) -> Result<(), MessageError> {
        let view_change = ViewChange::verified(self.crypto.as_ref(), &self.sets, signed)
            .map_err(view_change_error)?;
        if view_change.replica != *from {
            return Err(MessageError::Undecodable(format!(
                "{from} relayed {}'s view-change outside a new-view",
                view_change.replica
            )));
        }
        if view_change.new_view < self.view || (view_change.new_view == self.view && self.active) {
            self.dropped.old += 1;
            self.help_behind(from, view_change.new_view);
            return Ok(());
        }
        if view_change.new_view > self.view + VIEWS_AHEAD_MAX {
            self.dropped.out_of_window += 1;
            return Ok(());
        }
        self.note_view_change(view_change);
        Ok(())
    }

    /// Keeps a checked view-change; joins a view f + 1 replicas moved to; as the new primary
    /// with a quorum, starts the view.
    fn note_view_change(&mut self, view_change: ViewChange) {
        if let Some(certificate) = &view_change.committed {
            self.learn_certificate(certificate.clone(), &view_change.replica);
        }
        self.view_changes
            .entry(view_change.new_view)
            .or_default()
            .entry(view_change.replica.clone())
            .or_insert(view_change);
        // PBFT §4.5.2: f + 1 replicas in later views include an honest one; follow.
        let mut later: BTreeMap<&NodeId, u64> = BTreeMap::new();
        for (view, senders) in self.view_changes.range(self.view + 1..) {
            for sender in senders.keys() {
                later.entry(sender).or_insert(*view);
            }
        }
        if later.len() > super::faults_tolerated(self.sets.latest().len()) {
            if let Some(view) = later.values().min().copied() {
                self.start_view_change(view);
            }
        }
        self.maybe_start_new_view();
    }

    /// As the primary of the view being changed to, with a quorum of view-changes (its own
    /// among them), sends the new-view and starts the view.
    fn maybe_start_new_view(&mut self) {
        if self.active || !self.voting || super::primary(self.sets.latest(), self.view) != &self.id
        {
            return;
        }
        let quorum = super::quorum(self.sets.latest().len());
        let Some(senders) = self.view_changes.get(&self.view) else {
            return;
        };
        if senders.len() < quorum || !senders.contains_key(&self.id) {
            return;
        }
        let mut chosen: Vec<ViewChange> = vec![senders[&self.id].clone()];
        chosen.extend(
            senders
                .iter()
                .filter(|(sender, _)| **sender != self.id)
                .map(|(_, v)| v.clone())
                .take(quorum - 1),
        );
        let selection = super::view_change::select(&chosen);
        let block = selection
            .reissue
            .and_then(|key| self.blocks.get(&key).cloned());
        let new_view = NewView::signed(self.crypto.as_ref(), self.view, chosen, block);
        self.output
            .signed
            .push(Send::Broadcast(Envelope::encode_kind(Kind::NewView(
                new_view.signed.clone(),
            ))));
        self.enter(new_view);
    }

    fn on_new_view(&mut self, signed: &SignedBody) -> Result<(), MessageError> {
        let new_view = NewView::verified(self.crypto.as_ref(), &self.sets, signed)
            .map_err(view_change_error)?;
        if new_view.view < self.view || (new_view.view == self.view && self.active) {
            self.dropped.old += 1;
            return Ok(());
        }
        if new_view.view > self.view + VIEWS_AHEAD_MAX {
            // Far behind in views: a new-view is self-proving, so it may still be joined.
            self.view_changes.clear();
        }
        self.enter(new_view);
        Ok(())
    }

    /// Starts the view `new_view` begins: what it certified is learned, its re-issued
    /// pre-prepare recorded as the primary's.
    fn enter(&mut self, new_view: NewView) {
        self.view = new_view.view;
        self.active = true;
        self.timer = 0;
        self.dirty = true;
        self.view_changes = self.view_changes.split_off(&(self.view + 1));
        self.own_view_changes = self.own_view_changes.split_off(&(self.view + 1));
        // Earlier views' votes are done with: what they prepared is in `prepared` and in the
        // view-changes, and each sequence keeps room for the views to come.
        let view = self.view;
        self.log.forget_views_below(view);
        self.pre_prepares.retain(|(_, v), _| *v >= view);
        self.prepares.retain(|(_, v), _| *v >= view);
        self.commits.retain(|(_, v), _| *v >= view);
        // It never signs in an earlier view again (it votes only in its own).
        self.own_votes.retain(|(_, v, _), _| *v >= view);
        let primary = super::primary(self.sets.latest(), self.view).clone();
        if let Some(certificate) = &new_view.selection.certified {
            let holder = new_view
                .view_changes
                .iter()
                .find(|v| v.committed.as_ref() == Some(certificate))
                .map_or(primary.clone(), |v| v.replica.clone());
            self.learn_certificate(certificate.clone(), &holder);
        }
        if let Some(pre_prepare) = new_view.pre_prepare.clone() {
            if pre_prepare.sequence > self.committed {
                if primary == self.id {
                    let id = self.id.clone();
                    self.record(&id, pre_prepare.clone());
                    let mut kept = pre_prepare;
                    kept.block.clear();
                    self.own_votes
                        .insert((kept.sequence, self.view, Phase::PrePrepare), kept);
                } else {
                    self.record(&primary, pre_prepare);
                }
            }
        }
        self.new_view = Some(new_view);
        self.progress();
    }

    /// Keeps a checked certificate above the last commit; its holder is whom to ask.
    fn learn_certificate(&mut self, certificate: Certificate, holder: &NodeId) {
        let sequence = certificate.sequence;
        if sequence <= self.committed {
            return;
        }
        if self.ahead.as_ref().is_none_or(|(s, _)| *s < sequence) {
            self.ahead = Some((sequence, holder.clone()));
        }
        self.certified.entry(sequence).or_insert(certificate);
        self.hand_out();
    }

    /// The new-view of its view, once durable (a new primary's own is sent first from
    /// `Output::signed`, after its record is written).
    fn durable_new_view(&self) -> Option<SignedBody> {
        if self.dirty {
            return None;
        }
        self.new_view
            .as_ref()
            .filter(|n| n.view == self.view)
            .map(|n| n.signed.clone())
    }

    fn report_status(&mut self) {
        if !self.is_member() && self.ahead.is_none() {
            // Validators report to each other only: a follower asks them, one after another.
            let first = self.sets.latest()[0].clone();
            self.ahead = Some((self.committed, first));
        }
        let status = Envelope::encode_kind(Kind::Status(WireStatus {
            committed: self.committed,
            view: self.view,
        }));
        for peer in std::mem::take(&mut self.uninformed) {
            self.output.plain.push(Send::To(peer, status.clone()));
        }
        self.output.plain.push(Send::Broadcast(status));
        // Blocks still missing are asked for again.
        self.requested.clear();
        self.progress();
        // What it signed goes again only once durable (then it already went once, from
        // `Output::signed`).
        if self.dirty {
            return;
        }
        // Messages may be lost: say again, unchanged, what it signed for the next height in
        // this view, and its view-change while the view has not started.
        let next = self.committed + 1;
        let own: Vec<Vec<u8>> = self
            .own_votes
            .range((next, self.view, Phase::PrePrepare)..=(next, self.view, Phase::Commit))
            .map(|(_, vote)| {
                let mut vote = vote.clone();
                if vote.phase == Phase::PrePrepare {
                    vote.block = self
                        .blocks
                        .get(&(vote.sequence, vote.digest))
                        .cloned()
                        .unwrap_or_default();
                }
                vote.encode()
            })
            .collect();
        for bytes in own {
            self.output.plain.push(Send::Broadcast(bytes));
        }
        if !self.active {
            if let Some(own) = self.own_view_changes.get(&self.view) {
                let bytes = Envelope::encode_kind(Kind::ViewChange(own.signed.clone()));
                self.output.plain.push(Send::Broadcast(bytes));
            }
        }
    }

    /// A peer is moving to `their_view`, behind this replica's view: shows it the way. In a
    /// started view, the new-view (a peer joins a later view by it); while changing views,
    /// this replica's view-change for the peer's view (so the peer's view can gather its
    /// quorum) and for its own (so the peer sees later views, PBFT §4.5.2).
    fn help_behind(&mut self, peer: &NodeId, their_view: u64) {
        if self.dirty {
            return; // not durable yet; a later status tick helps
        }
        if self.active {
            if let Some(signed) = self.durable_new_view() {
                let bytes = Envelope::encode_kind(Kind::NewView(signed));
                self.output.plain.push(Send::To(peer.clone(), bytes));
            }
            return;
        }
        for view in [their_view, self.view] {
            if let Some(own) = self.own_view_changes.get(&view) {
                let bytes = Envelope::encode_kind(Kind::ViewChange(own.signed.clone()));
                self.output.plain.push(Send::To(peer.clone(), bytes));
            }
        }
    }

    fn on_status(&mut self, from: &NodeId, status: &WireStatus) {
        if status.view < self.view {
            self.help_behind(from, status.view);
        }
        let behind = status.committed > self.committed;
        if behind
            && self
                .ahead
                .as_ref()
                .is_none_or(|(s, _)| *s < status.committed)
        {
            self.ahead = Some((status.committed, from.clone()));
        }
        if !behind && status.view > self.view && self.ahead.is_none() {
            self.ahead = Some((self.committed, from.clone()));
        }
        self.maybe_catch_up();
    }

    /// Asks the peer that is ahead for blocks, at most once per `catch_up_ticks`.
    fn maybe_catch_up(&mut self) {
        let Some((height, peer)) = self.ahead.clone() else {
            return;
        };
        if height < self.committed {
            self.ahead = None;
            return;
        }
        if self.catch_up_timer < self.timing.catch_up_ticks {
            return;
        }
        self.catch_up_timer = 0;
        if height == self.committed {
            // Only its view was ahead: one request brings the new-view.
            self.ahead = None;
        }
        let others: Vec<&NodeId> = self
            .sets
            .latest()
            .iter()
            .filter(|r| **r != self.id)
            .collect();
        if others.is_empty() {
            return;
        }
        let start = others.iter().position(|r| **r == peer).unwrap_or(0);
        let peer = others[(start + self.catch_up_attempt) % others.len()].clone();
        self.catch_up_attempt = self.catch_up_attempt.wrapping_add(1);
        let request = Envelope::encode_kind(Kind::CatchUpRequest(WireCatchUpRequest {
            after: self.committed,
        }));
        self.output.plain.push(Send::To(peer, request));
    }

    fn on_catch_up_request(&mut self, from: &NodeId, request: &WireCatchUpRequest) {
        if request.after < self.committed {
            // The node answers from its ledger (`serve_catch_up`).
            self.output.catch_up.push((from.clone(), request.after));
        } else if let Some(new_view) = self.durable_new_view() {
            self.serve_catch_up(from, Vec::new(), Some(new_view));
        }
    }

    /// Sends `peer` the committed blocks the node read for it (consecutive, lowest first; as
    /// many as fit one message) and the new-view of this replica's view.
    pub fn serve_catch_up(
        &mut self,
        peer: &NodeId,
        blocks: Vec<(Vec<u8>, Certificate)>,
        new_view: Option<SignedBody>,
    ) {
        let mut wire = Vec::new();
        let mut bytes = 0usize;
        for (block, certificate) in blocks.into_iter().take(CATCH_UP_BLOCKS_MAX) {
            if !wire.is_empty() && bytes + block.len() > BLOCK_BYTES_MAX {
                break;
            }
            bytes += block.len();
            wire.push(WireCertifiedBlock {
                block,
                certificate: Some(certificate.to_wire()),
            });
        }
        let new_view = new_view.or_else(|| self.durable_new_view());
        if wire.is_empty() && new_view.is_none() {
            return;
        }
        let response = Envelope::encode_kind(Kind::CatchUpResponse(WireCatchUpResponse {
            blocks: wire,
            new_view,
        }));
        self.output.plain.push(Send::To(peer.clone(), response));
    }

    fn on_catch_up_response(&mut self, from: &NodeId, response: WireCatchUpResponse) {
        for certified in response.blocks {
            let Some(wire) = &certified.certificate else {
                self.dropped.invalid += 1;
                return;
            };
            let certificate = match Certificate::verified(
                self.crypto.as_ref(),
                self.sets.at(wire.sequence),
                wire,
            ) {
                Ok(certificate) => certificate,
                Err(_) => {
                    self.dropped.invalid += 1;
                    return;
                }
            };
            if self.crypto.digest(&certified.block) != certificate.digest {
                self.dropped.invalid += 1;
                return;
            }
            if certificate.sequence <= self.committed
                || certificate.sequence > self.committed + super::votes::WINDOW
            {
                continue;
            }
            self.blocks
                .insert((certificate.sequence, certificate.digest), certified.block);
            self.learn_certificate(certificate, from);
        }
        if let Some(signed) = response.new_view {
            if let Ok(new_view) = NewView::verified(self.crypto.as_ref(), &self.sets, &signed) {
                if new_view.view > self.view || (new_view.view == self.view && !self.active) {
                    self.enter(new_view);
                }
            }
        }
        self.hand_out();
    }

    fn on_block_request(&mut self, from: &NodeId, request: &WireBlockRequest) {
        let Ok(digest) = <Digest>::try_from(request.digest.as_slice()) else {
            return;
        };
        if let Some(block) = self.blocks.get(&(request.sequence, digest)) {
            let bytes = Envelope::encode_kind(Kind::Block(WireBlock {
                sequence: request.sequence,
                block: block.clone(),
            }));
            self.output.plain.push(Send::To(from.clone(), bytes));
        }
    }

    fn on_block(&mut self, block: WireBlock) {
        let sequence = block.sequence;
        if sequence <= self.committed || sequence > self.committed + AHEAD_MAX {
            return;
        }
        let digest = self.crypto.digest(&block.block);
        // Only a block a held pre-prepare or certificate names.
        let named = self
            .pre_prepares
            .range((sequence, 0)..=(sequence, u64::MAX))
            .any(|(_, p)| p.digest == digest)
            || self
                .certified
                .get(&sequence)
                .is_some_and(|c| c.digest == digest);
        if !named {
            self.dropped.refused += 1;
            return;
        }
        self.blocks.entry((sequence, digest)).or_insert(block.block);
        self.progress();
    }

    /// The durable record of what it signed and holds.
    fn durable_record(&self) -> Vec<u8> {
        let prepared_block = self
            .prepared
            .as_ref()
            .and_then(|p| self.blocks.get(&(p.sequence(), p.digest())))
            .cloned()
            .unwrap_or_default();
        let own_votes = self
            .own_votes
            .values()
            .map(|vote| {
                let mut wire = vote.to_wire();
                if vote.phase == Phase::PrePrepare {
                    wire.block = self
                        .blocks
                        .get(&(vote.sequence, vote.digest))
                        .cloned()
                        .unwrap_or_default();
                }
                wire
            })
            .collect();
        let pre_prepares = self
            .own_votes
            .keys()
            .filter(|(_, _, phase)| *phase == Phase::Prepare)
            .filter_map(|(sequence, view, _)| self.pre_prepares.get(&(*sequence, *view)))
            .map(Vote::to_wire)
            .collect();
        WireDurable {
            validator_sets: self
                .sets
                .all()
                .map(|(from, validators)| WireValidatorSet {
                    from,
                    validators: validators.to_vec(),
                })
                .collect(),
            pre_prepares,
            view: self.view,
            active: self.active,
            committed: self.certificate.as_ref().map(Certificate::to_wire),
            prepared: self.prepared.as_ref().map(Prepared::to_wire),
            prepared_block,
            own_votes,
            own_view_changes: self
                .own_view_changes
                .values()
                .map(|v| v.signed.clone())
                .collect(),
            new_view: self.new_view.as_ref().map(|n| n.signed.clone()),
        }
        .encode_to_vec()
    }
}

fn view_change_error(error: ViewChangeError) -> MessageError {
    MessageError::Undecodable(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::messages::tests::{ids, TestCrypto};
    use super::*;

    fn replica(id: &str, durable: Option<&[u8]>, applied: u64) -> Replica {
        Replica::restore(
            id.into(),
            ids(),
            Box::new(TestCrypto::new(id)),
            Timing::default(),
            durable,
            applied,
        )
        .expect("starts")
    }

    /// The signed votes of `output`, decoded and checked (all are n1's, the replica tested).
    fn votes(output: &Output) -> Vec<Vote> {
        output
            .signed
            .iter()
            .filter_map(|send| match send {
                Send::Broadcast(bytes) | Send::To(_, bytes) => {
                    Vote::decode_verified(&TestCrypto::new("n1"), "n1", bytes).ok()
                }
            })
            .collect()
    }

    fn pre_prepare(block: &[u8]) -> Vec<u8> {
        let primary = TestCrypto::new("n0");
        Vote::signed(
            &primary,
            Phase::PrePrepare,
            0,
            1,
            primary.digest(block),
            block.to_vec(),
        )
        .encode()
    }

    #[test]
    fn a_backup_votes_only_after_its_node_validated_the_block() {
        let mut backup = replica("n1", None, 0);
        backup.step("n0", &pre_prepare(b"a")).expect("valid");
        let output = backup.take_output();
        assert!(votes(&output).is_empty(), "no vote before validation");
        assert_eq!(output.to_validate.len(), 1);
        let digest = output.to_validate[0].digest;
        backup.validated(1, &digest, true);
        let output = backup.take_output();
        let prepares = votes(&output);
        assert_eq!(prepares.len(), 1);
        assert_eq!(
            (prepares[0].phase, prepares[0].digest),
            (Phase::Prepare, digest)
        );
        assert!(output.durable.is_some(), "what it signed is in the record");
    }

    #[test]
    fn after_a_crash_a_replica_never_signs_another_block_for_a_slot_it_voted() {
        let mut backup = replica("n1", None, 0);
        backup.step("n0", &pre_prepare(b"a")).expect("valid");
        let digest = backup.take_output().to_validate[0].digest;
        backup.validated(1, &digest, true);
        let output = backup.take_output();
        let first = votes(&output);
        let record = output.durable.expect("durable record");
        // Restart from the record: its status tick re-sends exactly what it signed.
        let mut restarted = replica("n1", Some(&record), 0);
        for _ in 0..Timing::default().status_ticks {
            restarted.tick();
        }
        let resent: Vec<Vec<u8>> = restarted
            .take_output()
            .plain
            .into_iter()
            .filter_map(|send| match send {
                Send::Broadcast(bytes) => Some(bytes),
                Send::To(..) => None,
            })
            .collect();
        assert!(
            resent.contains(&first[0].encode()),
            "the same prepare, byte for byte"
        );
        // The primary (faulty) now shows it another block for the same slot, which its node
        // would find valid too: the pre-prepare it agreed to stands, the other is evidence
        // of the primary's fault, and it signs no vote for the other block.
        restarted
            .step("n0", &pre_prepare(b"b"))
            .expect("well formed");
        let output = restarted.take_output();
        assert!(output.to_validate.is_empty() && votes(&output).is_empty());
        assert_eq!(restarted.evidence().len(), 1);
        assert_eq!(restarted.view(), 1, "it asks for a new view");
    }

    #[test]
    fn a_validator_signing_commits_for_two_blocks_at_one_height_is_handed_out_with_both_signatures()
    {
        let mut backup = replica("n1", None, 0);
        let n2 = TestCrypto::new("n2");
        let commit =
            |block: &[u8]| Vote::signed(&n2, Phase::Commit, 0, 1, n2.digest(block), Vec::new());
        let (a, b) = (commit(b"a"), commit(b"b"));
        backup.step("n2", &a.encode()).expect("valid");
        assert!(backup.take_output().equivocations.is_empty(), "one commit");
        backup.step("n2", &b.encode()).expect("well formed");
        let output = backup.take_output();
        assert_eq!(
            output.equivocations,
            vec![crate::SignedEquivocation {
                node: "n2".into(),
                height: 1,
                view: 0,
                first: (a.digest, a.signature),
                second: (b.digest, b.signature),
            }]
        );
        assert_eq!(backup.dropped().equivocations, 1);
        // Prepares for two blocks are counted as evidence in the log but carry no commit
        // signature: not handed out.
        let prepare =
            |block: &[u8]| Vote::signed(&n2, Phase::Prepare, 0, 2, n2.digest(block), Vec::new());
        backup.step("n2", &prepare(b"a").encode()).expect("valid");
        backup
            .step("n2", &prepare(b"b").encode())
            .expect("well formed");
        assert!(backup.take_output().equivocations.is_empty());
        assert_eq!(backup.dropped().equivocations, 2);
    }

    #[test]
    fn an_invalid_block_from_the_primary_starts_a_view_change() {
        let mut backup = replica("n1", None, 0);
        backup.step("n0", &pre_prepare(b"bad")).expect("valid");
        let digest = backup.take_output().to_validate[0].digest;
        backup.validated(1, &digest, false);
        assert_eq!((backup.view(), backup.is_active()), (1, false));
        assert_eq!(backup.dropped().invalid_blocks, 1);
        let output = backup.take_output();
        assert!(output.signed.iter().any(|send| matches!(
            send,
            Send::Broadcast(bytes) if matches!(Envelope::decode_kind(bytes), Ok(Kind::ViewChange(_)))
        )));
    }

    #[test]
    fn strangers_forgeries_and_old_votes_are_dropped_and_counted() {
        let mut backup = replica("n1", None, 3);
        assert!(backup.step("intruder", &pre_prepare(b"a")).is_err());
        assert_eq!(backup.dropped().not_a_replica, 1);
        // Signed by n0, claimed by n2.
        assert!(backup.step("n2", &pre_prepare(b"a")).is_err());
        assert_eq!(backup.dropped().invalid, 1);
        // Height 1 is below its last commit (3).
        backup.step("n0", &pre_prepare(b"a")).expect("well formed");
        assert_eq!(backup.dropped().old, 1);
        assert!(backup.take_output().to_validate.is_empty());
    }

    #[test]
    fn votes_of_a_replica_whose_state_went_back_count_for_nothing() {
        let mut backup = replica("n1", None, 0);
        backup.refuse_votes_from(&BTreeSet::from(["n0".to_owned()]));
        assert!(backup.step("n0", &pre_prepare(b"a")).is_err());
        assert!(backup.take_output().to_validate.is_empty());
        assert_eq!(backup.dropped().not_a_replica, 1);
    }

    #[test]
    fn a_replica_forbidden_to_vote_signs_nothing() {
        let mut backup = replica("n1", None, 0);
        backup.forbid_voting();
        backup.step("n0", &pre_prepare(b"a")).expect("valid");
        let digest = backup.take_output().to_validate[0].digest;
        backup.validated(1, &digest, true);
        for _ in 0..200 {
            backup.tick();
        }
        assert!(backup.take_output().signed.is_empty());
    }

    #[test]
    fn the_primary_proposes_once_per_height_and_a_backup_not_at_all() {
        let mut primary = replica("n0", None, 0);
        assert_eq!(primary.propose(b"a".to_vec()), Ok(1));
        assert!(matches!(
            primary.propose(b"b".to_vec()),
            Err(ConsensusError::ProposalDropped { .. })
        ));
        let mut backup = replica("n1", None, 0);
        assert!(matches!(
            backup.propose(b"a".to_vec()),
            Err(ConsensusError::NotLeader { leader: Some(l) }) if l == "n0"
        ));
        assert!(matches!(
            primary.propose(vec![0; BLOCK_BYTES_MAX + 1]),
            Err(ConsensusError::ProposalTooLarge { .. })
        ));
    }
}
