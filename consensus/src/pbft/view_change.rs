//! View change (PBFT §4.4), adapted to a chain whose sequence is its height: the messages, how
//! each is checked, and which block the new view must re-propose.
//!
//! A replica votes for a block at height `s` only after its node validated it, which needs the
//! block at `s - 1` applied, i.e. committed. So an honest replica holds a prepared certificate
//! only for the height right after its last commit, and its view-change carries exactly two
//! proofs: the commit certificate of its last committed height (PBFT's stable checkpoint: the
//! header's state root makes every certified block a checkpoint of the state) and at most one
//! prepared certificate, for the next height.
//!
//! The new view's primary gathers a quorum of view-changes and [`select`]s: the highest
//! certified height `h` among them, and, for `h + 1`, the prepared block of the highest view.
//! Safety: if a block committed at height `s` in an earlier view, a quorum prepared it, so any
//! quorum of view-changes includes an honest replica that either certified `s` (then `h >= s`:
//! the height is decided, and laggards fetch it by its certificate) or reports it prepared at
//! `s = h + 1`, and the highest-view prepared certificate there carries the same block (PBFT's
//! argument). Backups recompute the selection from the view-changes the new-view carries and
//! accept nothing else.

use prost::Message;

use super::certificates::{Certificate, CertificateError, Prepared, WireCertificate, WirePrepared};
use super::messages::{Crypto, MessageError, SignedBody, Vote, WireVote, SIGNATURE_BYTES};
use super::validators::ValidatorSets;
use super::votes::{Digest, Phase};
use crate::NodeId;

/// Domain of view-change signatures.
pub const VIEW_CHANGE_DOMAIN: &[u8] = b"vchain-pbft-view-change/1\n";
/// Domain of new-view signatures.
pub const NEW_VIEW_DOMAIN: &[u8] = b"vchain-pbft-new-view/1\n";

/// A view-change body as it travels.
#[derive(Clone, PartialEq, Message)]
pub struct WireViewChange {
    /// The sender.
    #[prost(string, tag = "1")]
    pub replica: String,
    /// The view it moves to.
    #[prost(uint64, tag = "2")]
    pub new_view: u64,
    /// The certificate of its last committed height (none before the first).
    #[prost(message, optional, tag = "3")]
    pub committed: Option<WireCertificate>,
    /// Its prepared certificate for the next height, if any.
    #[prost(message, optional, tag = "4")]
    pub prepared: Option<WirePrepared>,
}

/// A new-view body as it travels.
#[derive(Clone, PartialEq, Message)]
pub struct WireNewView {
    /// The view it starts.
    #[prost(uint64, tag = "1")]
    pub view: u64,
    /// A quorum of signed view-changes for `view`, ascending by sender.
    #[prost(message, repeated, tag = "2")]
    pub view_changes: Vec<SignedBody>,
    /// The re-issued pre-prepare of the selected block, if the selection has one (its block
    /// included when the primary holds it).
    #[prost(message, optional, tag = "3")]
    pub pre_prepare: Option<WireVote>,
}

/// Why a view-change or new-view was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewChangeError {
    /// Not decodable, or a field of the wrong form.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The signer is not a replica, or not the one the message must come from.
    #[error("from {0}, who may not send it")]
    WrongSender(String),
    /// The signature does not verify.
    #[error("bad signature by {0}")]
    BadSignature(String),
    /// A certificate inside was refused.
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The prepared certificate is not for the height after the committed one, or not from an
    /// earlier view.
    #[error("a prepared certificate for sequence {sequence} in view {view} does not belong here")]
    MisplacedPrepared {
        /// Its sequence.
        sequence: u64,
        /// Its view.
        view: u64,
    },
    /// A new-view without a quorum of distinct view-changes for its view.
    #[error("{got} view-changes for the view, {need} needed")]
    NoQuorum {
        /// Distinct valid ones.
        got: usize,
        /// Needed.
        need: usize,
    },
    /// The re-issued pre-prepare is not what the selection gives.
    #[error("the re-issued pre-prepare does not match the selection: {0}")]
    WrongPrePrepare(String),
    /// A vote inside was refused.
    #[error("vote: {0}")]
    Vote(#[from] MessageError),
}

/// A view-change that checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewChange {
    /// The sender.
    pub replica: NodeId,
    /// The view it moves to.
    pub new_view: u64,
    /// Its last commit's certificate.
    pub committed: Option<Certificate>,
    /// Its prepared certificate for the height after.
    pub prepared: Option<Prepared>,
    /// The signed message, to relay in a new-view.
    pub signed: SignedBody,
}

impl ViewChange {
    /// `replica`'s signed view-change to `new_view`.
    pub fn signed(
        crypto: &dyn Crypto,
        replica: NodeId,
        new_view: u64,
        committed: Option<Certificate>,
        prepared: Option<Prepared>,
    ) -> Self {
        let body = WireViewChange {
            replica: replica.clone(),
            new_view,
            committed: committed.as_ref().map(Certificate::to_wire),
            prepared: prepared.as_ref().map(Prepared::to_wire),
        }
        .encode_to_vec();
        let signature = crypto.sign(&domain_and(VIEW_CHANGE_DOMAIN, &body)).to_vec();
        Self {
            replica,
            new_view,
            committed,
            prepared,
            signed: SignedBody { body, signature },
        }
    }

    /// Checks `signed`: sent by a current validator, signed by it, its certificates by the
    /// sets of their heights, and the prepared one for the height after the committed one,
    /// from a view before `new_view`.
    pub fn verified(
        crypto: &dyn Crypto,
        sets: &ValidatorSets,
        signed: &SignedBody,
    ) -> Result<Self, ViewChangeError> {
        let wire = WireViewChange::decode(signed.body.as_slice())
            .map_err(|e| ViewChangeError::Malformed(e.to_string()))?;
        if sets.latest().binary_search(&wire.replica).is_err() {
            return Err(ViewChangeError::WrongSender(wire.replica));
        }
        check_signature(crypto, &wire.replica, VIEW_CHANGE_DOMAIN, signed)?;
        let committed = wire
            .committed
            .as_ref()
            .map(|c| Certificate::verified(crypto, sets.at(c.sequence), c))
            .transpose()?;
        let prepared = wire
            .prepared
            .as_ref()
            .map(|p| {
                let sequence = p.pre_prepare.as_ref().map_or(0, |v| v.sequence);
                Prepared::verified(crypto, sets.at(sequence), p)
            })
            .transpose()?;
        if let Some(prepared) = &prepared {
            let next = committed.as_ref().map_or(0, |c| c.sequence) + 1;
            if prepared.sequence() != next || prepared.view() >= wire.new_view {
                return Err(ViewChangeError::MisplacedPrepared {
                    sequence: prepared.sequence(),
                    view: prepared.view(),
                });
            }
        }
        Ok(Self {
            replica: wire.replica,
            new_view: wire.new_view,
            committed,
            prepared,
            signed: signed.clone(),
        })
    }

    /// The height this sender has certified (0 before the first).
    pub fn certified_height(&self) -> u64 {
        self.committed.as_ref().map_or(0, |c| c.sequence)
    }
}

/// What a new view starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The highest commit certificate among the view-changes.
    pub certified: Option<Certificate>,
    /// The block the new primary must re-propose at the height after: (sequence, digest).
    pub reissue: Option<(u64, Digest)>,
}

/// The selection a quorum of view-changes gives (deterministic: ties go to the lowest sender,
/// and tied certificates or prepared certificates name the same block by PBFT's safety).
pub fn select(view_changes: &[ViewChange]) -> Selection {
    let mut certified: Option<&Certificate> = None;
    for view_change in view_changes {
        if let Some(c) = &view_change.committed {
            if certified.is_none_or(|best| c.sequence > best.sequence) {
                certified = Some(c);
            }
        }
    }
    let next = certified.map_or(0, |c| c.sequence) + 1;
    let mut reissue: Option<&Prepared> = None;
    for view_change in view_changes {
        if let Some(p) = &view_change.prepared {
            if p.sequence() == next && reissue.is_none_or(|best| p.view() > best.view()) {
                reissue = Some(p);
            }
        }
    }
    Selection {
        certified: certified.cloned(),
        reissue: reissue.map(|p| (p.sequence(), p.digest())),
    }
}

/// A new-view that checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewView {
    /// The view it starts.
    pub view: u64,
    /// The view-changes it rests on.
    pub view_changes: Vec<ViewChange>,
    /// What they select.
    pub selection: Selection,
    /// The re-issued pre-prepare (its block may be empty: fetch it by digest).
    pub pre_prepare: Option<Vote>,
    /// The signed message, to hand to laggards.
    pub signed: SignedBody,
}

impl NewView {
    /// The primary's signed new-view for `view` from `view_changes` (a quorum, distinct
    /// senders), re-issuing the selected block with `block` if it holds it.
    ///
    /// # Panics
    /// If the view-changes are not for `view`.
    pub fn signed(
        crypto: &dyn Crypto,
        view: u64,
        mut view_changes: Vec<ViewChange>,
        block: Option<Vec<u8>>,
    ) -> Self {
        assert!(view_changes.iter().all(|v| v.new_view == view));
        view_changes.sort_by(|a, b| a.replica.cmp(&b.replica));
        let selection = select(&view_changes);
        let pre_prepare = selection.reissue.map(|(sequence, digest)| {
            Vote::signed(
                crypto,
                Phase::PrePrepare,
                view,
                sequence,
                digest,
                block.unwrap_or_default(),
            )
        });
        let body = WireNewView {
            view,
            view_changes: view_changes.iter().map(|v| v.signed.clone()).collect(),
            pre_prepare: pre_prepare.as_ref().map(Vote::to_wire),
        }
        .encode_to_vec();
        let signature = crypto.sign(&domain_and(NEW_VIEW_DOMAIN, &body)).to_vec();
        Self {
            view,
            view_changes,
            selection,
            pre_prepare,
            signed: SignedBody { body, signature },
        }
    }

    /// Checks `signed` against the current validators: signed by the view's primary, a quorum
    /// of valid view-changes for the view from distinct validators, and exactly the
    /// pre-prepare their selection gives.
    pub fn verified(
        crypto: &dyn Crypto,
        sets: &ValidatorSets,
        signed: &SignedBody,
    ) -> Result<Self, ViewChangeError> {
        let replicas = sets.latest();
        let wire = WireNewView::decode(signed.body.as_slice())
            .map_err(|e| ViewChangeError::Malformed(e.to_string()))?;
        let primary = super::primary(replicas, wire.view);
        check_signature(crypto, primary, NEW_VIEW_DOMAIN, signed)?;
        if wire.view_changes.len() > replicas.len() {
            return Err(ViewChangeError::Malformed(
                "more view-changes than replicas".into(),
            ));
        }
        let mut view_changes: Vec<ViewChange> = Vec::with_capacity(wire.view_changes.len());
        for signed in &wire.view_changes {
            let view_change = ViewChange::verified(crypto, sets, signed)?;
            if view_change.new_view != wire.view {
                return Err(ViewChangeError::Malformed(format!(
                    "a view-change to view {} in the new-view of {}",
                    view_change.new_view, wire.view
                )));
            }
            if view_changes
                .last()
                .is_some_and(|last| last.replica >= view_change.replica)
            {
                return Err(ViewChangeError::Malformed(
                    "view-changes not in strictly ascending sender order".into(),
                ));
            }
            view_changes.push(view_change);
        }
        let need = super::quorum(replicas.len());
        if view_changes.len() < need {
            return Err(ViewChangeError::NoQuorum {
                got: view_changes.len(),
                need,
            });
        }
        let selection = select(&view_changes);
        let pre_prepare = match (selection.reissue, wire.pre_prepare) {
            (None, None) => None,
            (Some((sequence, digest)), Some(wire_vote)) => {
                let vote = Vote::verified(crypto, primary, wire_vote)?;
                if vote.phase != Phase::PrePrepare
                    || vote.view != wire.view
                    || vote.sequence != sequence
                    || vote.digest != digest
                {
                    return Err(ViewChangeError::WrongPrePrepare(format!(
                        "sequence {} digest {} in view {}",
                        vote.sequence,
                        hex(&vote.digest),
                        vote.view
                    )));
                }
                if !vote.block.is_empty() && crypto.digest(&vote.block) != digest {
                    return Err(ViewChangeError::WrongPrePrepare(
                        "its block does not hash to its digest".into(),
                    ));
                }
                Some(vote)
            }
            (Some(_), None) => {
                return Err(ViewChangeError::WrongPrePrepare("missing".into()));
            }
            (None, Some(_)) => {
                return Err(ViewChangeError::WrongPrePrepare(
                    "present where nothing is selected".into(),
                ));
            }
        };
        Ok(Self {
            view: wire.view,
            view_changes,
            selection,
            pre_prepare,
            signed: signed.clone(),
        })
    }
}

fn domain_and(domain: &[u8], body: &[u8]) -> Vec<u8> {
    let mut statement = Vec::with_capacity(domain.len() + body.len());
    statement.extend_from_slice(domain);
    statement.extend_from_slice(body);
    statement
}

fn check_signature(
    crypto: &dyn Crypto,
    signer: &str,
    domain: &[u8],
    signed: &SignedBody,
) -> Result<(), ViewChangeError> {
    let ok = signed.signature.len() == SIGNATURE_BYTES
        && crypto.verify(signer, &domain_and(domain, &signed.body), &signed.signature);
    if ok {
        Ok(())
    } else {
        Err(ViewChangeError::BadSignature(signer.to_owned()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::certificates::{WireCertificate, WireSignature};
    use super::super::messages::tests::{ids, TestCrypto};
    use super::super::messages::vote_statement;
    use super::*;

    fn sets() -> ValidatorSets {
        ValidatorSets::new(1, ids())
    }

    fn certificate(sequence: u64, digest: Digest) -> Certificate {
        let signatures = ["n0", "n1", "n2"]
            .iter()
            .map(|r| {
                let c = TestCrypto::new(r);
                WireSignature {
                    replica: (*r).into(),
                    signature: c.sign(&c.commit_statement(sequence, 0, &digest)).to_vec(),
                }
            })
            .collect();
        let wire = WireCertificate {
            sequence,
            view: 0,
            digest: digest.to_vec(),
            signatures,
        };
        Certificate::verified(&TestCrypto::new("n0"), &ids(), &wire).expect("valid")
    }

    /// A prepared certificate for `sequence` in `view` (primary n{view mod 4}).
    fn prepared(sequence: u64, view: u64, digest: Digest) -> Prepared {
        let primary = format!("n{}", view % 4);
        let pre_prepare = Vote::signed(
            &TestCrypto::new(&primary),
            Phase::PrePrepare,
            view,
            sequence,
            digest,
            Vec::new(),
        );
        let prepares = ids()
            .into_iter()
            .filter(|r| *r != primary)
            .take(2)
            .map(|r| {
                let signature = TestCrypto::new(&r).sign(&vote_statement(
                    Phase::Prepare,
                    view,
                    sequence,
                    &digest,
                ));
                (r, signature)
            })
            .collect();
        Prepared {
            pre_prepare,
            prepares,
        }
    }

    fn view_change(
        replica: &str,
        new_view: u64,
        committed: Option<Certificate>,
        prepared: Option<Prepared>,
    ) -> ViewChange {
        ViewChange::signed(
            &TestCrypto::new(replica),
            replica.into(),
            new_view,
            committed,
            prepared,
        )
    }

    #[test]
    fn a_view_change_checks_and_keeps_its_proofs() {
        let vc = view_change(
            "n2",
            3,
            Some(certificate(4, [1; 32])),
            Some(prepared(5, 1, [2; 32])),
        );
        let checked = ViewChange::verified(&TestCrypto::new("n0"), &sets(), &vc.signed)
            .expect("a valid view-change");
        assert_eq!(checked, vc);
        assert_eq!(checked.certified_height(), 4);
        // A prepared certificate for a height other than the one after the committed one.
        let misplaced = view_change(
            "n2",
            3,
            Some(certificate(4, [1; 32])),
            Some(prepared(6, 1, [2; 32])),
        );
        assert!(matches!(
            ViewChange::verified(&TestCrypto::new("n0"), &sets(), &misplaced.signed),
            Err(ViewChangeError::MisplacedPrepared { .. })
        ));
        // Signed by one replica, claiming to be another.
        let mut forged = vc.clone();
        let mut body = WireViewChange::decode(forged.signed.body.as_slice()).expect("decodes");
        body.replica = "n3".into();
        forged.signed.body = body.encode_to_vec();
        assert!(matches!(
            ViewChange::verified(&TestCrypto::new("n0"), &sets(), &forged.signed),
            Err(ViewChangeError::BadSignature(_))
        ));
    }

    #[test]
    fn the_selection_keeps_a_block_prepared_in_the_highest_view() {
        let vcs = vec![
            view_change("n0", 3, Some(certificate(4, [1; 32])), None),
            view_change(
                "n1",
                3,
                Some(certificate(4, [1; 32])),
                Some(prepared(5, 1, [2; 32])),
            ),
            view_change(
                "n2",
                3,
                Some(certificate(4, [1; 32])),
                Some(prepared(5, 2, [3; 32])),
            ),
        ];
        let selection = select(&vcs);
        assert_eq!(selection.certified.map(|c| c.sequence), Some(4));
        assert_eq!(selection.reissue, Some((5, [3; 32])));
        // A higher certificate makes the prepared blocks below it moot.
        let mut ahead = vcs.clone();
        ahead[0] = view_change("n0", 3, Some(certificate(5, [9; 32])), None);
        assert_eq!(select(&ahead).reissue, None);
    }

    #[test]
    fn a_new_view_must_carry_a_quorum_and_exactly_the_selected_pre_prepare() {
        // View 1's primary is n1.
        let vcs: Vec<ViewChange> = ["n0", "n1", "n2"]
            .iter()
            .map(|r| {
                let p = (*r == "n2").then(|| prepared(1, 0, [2; 32]));
                view_change(r, 1, None, p)
            })
            .collect();
        let primary = TestCrypto::new("n1");
        let new_view = NewView::signed(&primary, 1, vcs.clone(), Some(b"block".to_vec()));
        let check = |signed: &SignedBody| NewView::verified(&primary, &sets(), signed);
        // The block does not hash to the digest [2; 32]: refused.
        assert!(matches!(
            check(&new_view.signed),
            Err(ViewChangeError::WrongPrePrepare(_))
        ));
        let new_view = NewView::signed(&primary, 1, vcs.clone(), None);
        let checked = check(&new_view.signed).expect("valid");
        assert_eq!(checked.selection.reissue, Some((1, [2; 32])));
        assert_eq!(checked.pre_prepare.map(|p| p.digest), Some([2; 32]));
        // Too few view-changes.
        let short = NewView::signed(&primary, 1, vcs[..2].to_vec(), None);
        assert!(matches!(
            check(&short.signed),
            Err(ViewChangeError::NoQuorum { got: 2, need: 3 })
        ));
        // Signed by a replica that is not view 1's primary.
        let usurper = NewView::signed(&TestCrypto::new("n2"), 1, vcs.clone(), None);
        assert!(matches!(
            check(&usurper.signed),
            Err(ViewChangeError::BadSignature(_))
        ));
        // Omitting the selected pre-prepare.
        let mut body = WireNewView::decode(new_view.signed.body.as_slice()).expect("decodes");
        body.pre_prepare = None;
        let body = body.encode_to_vec();
        let signature = primary.sign(&domain_and(NEW_VIEW_DOMAIN, &body)).to_vec();
        assert!(matches!(
            check(&SignedBody { body, signature }),
            Err(ViewChangeError::WrongPrePrepare(_))
        ));
    }
}
