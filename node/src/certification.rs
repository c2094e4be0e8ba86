//! Certifying a Raft chain's blocks after the fact (issue 14, ADR 0015), as a state machine
//! without I/O: every node signs each block it applies (the commit certificate's statement,
//! view 0), shares the signature, and collects the members' signatures until a majority of the
//! voting members of that height stands behind the block; a member signing two different
//! blocks at one height is kept as evidence.
//!
//! The node's event loop feeds it (`applied` for its own blocks, `received` for peers'
//! signatures) and carries out what it hands back (`take_certified`, `take_evidence`); one test
//! drives many certifiers over a simulated exchange.
//!
//! Invariants kept here:
//! - a signature counts only if it verifies under the chain's rule with the member's key of
//!   that height, and only once per member and height;
//! - a certificate is handed out once per height, with its signatures in ascending member
//!   order, so `commit_certificate::verify` accepts it;
//! - what is held is bounded: [`ROUNDS_MAX`] heights open, [`EARLY_MAX`] signatures for heights
//!   not applied yet, [`EVIDENCE_MAX`] pieces of evidence.
//!
//! The event loop's part (signing, sending, storing, fetching what was missed) is
//! `chain/certify.rs`; this module decides.

use std::collections::BTreeMap;

use vchain_contracts::commit_certificate::{statement, verify, Validators};
use vchain_proto::v1::{CommitCertificate, CommitSignature};

/// Heights whose certification is still open; older ones are given up (certification lag).
pub(crate) const ROUNDS_MAX: usize = 1_024;
/// Signatures kept for heights this node has not applied yet (peers ahead of it).
pub(crate) const EARLY_MAX: usize = 4_096;
/// Conflicting signature pairs kept as evidence.
pub(crate) const EVIDENCE_MAX: usize = 256;

/// A block hash and a member's signature of it.
type Signed = ([u8; 32], [u8; 64]);

/// Bytes of a signature notice on the network: height (u64 big-endian), block hash, signature.
pub(crate) const NOTICE_BYTES: usize = 8 + 32 + 64;
const _: () = assert!(NOTICE_BYTES <= crate::network::CERTIFICATION_NOTICE_BYTES_MAX);

/// A member's signature of the block at a height, as peers send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Notice {
    /// The height.
    pub(crate) height: u64,
    /// The block hash signed.
    pub(crate) block_hash: [u8; 32],
    /// The signature of the commit statement (view 0).
    pub(crate) signature: [u8; 64],
}

impl Notice {
    /// The notice's bytes: [`NOTICE_BYTES`], fields in order, fixed width.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(NOTICE_BYTES);
        bytes.extend_from_slice(&self.height.to_be_bytes());
        bytes.extend_from_slice(&self.block_hash);
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// Parses a notice; `None` unless exactly [`NOTICE_BYTES`] long.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Notice> {
        if bytes.len() != NOTICE_BYTES {
            return None;
        }
        Some(Notice {
            height: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            block_hash: bytes[8..40].try_into().ok()?,
            signature: bytes[40..].try_into().ok()?,
        })
    }
}

/// A member that signed two different blocks at one height: both signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// The member.
    pub(crate) node_id: String,
    /// The height.
    pub(crate) height: u64,
    /// The view both were signed in (0 on raft and solo chains; the PBFT view).
    pub(crate) view: u64,
    /// (block hash, signature) it signed first.
    pub(crate) first: Signed,
    /// (block hash, signature) it signed second.
    pub(crate) second: Signed,
}

/// What a peer's signature did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// Counted towards its height's certificate.
    Counted,
    /// The same signature again, or for a height already certified or given up.
    Ignored,
    /// Kept until this node applies the height.
    Early,
    /// A first signature from this member for a height already certified here: the member
    /// may lack this node's signature (it was down when it went out), so this node answers it
    /// with its own ([`Certifier::own_notice`]).
    Late,
    /// The member signed another block at this height before: evidence.
    Conflict,
    /// Not a member of that height, or a signature that does not verify.
    Refused,
}

struct Round {
    block_hash: [u8; 32],
    validators: Validators,
    need: usize,
    signatures: BTreeMap<String, Signed>,
    /// This node's own signature, to send again while the round is open.
    own: Option<[u8; 64]>,
    done: bool,
}

/// Collects the members' signatures of applied blocks into certificates.
pub(crate) struct Certifier {
    chain_id: String,
    rounds: BTreeMap<u64, Round>,
    early: BTreeMap<(u64, String), Signed>,
    certified: Vec<CommitCertificate>,
    evidence: Vec<Evidence>,
    new_evidence: Vec<Evidence>,
    highest_certified: u64,
}

impl Certifier {
    /// A certifier for chain `chain_id`.
    pub(crate) fn new(chain_id: String) -> Self {
        Self {
            chain_id,
            rounds: BTreeMap::new(),
            early: BTreeMap::new(),
            certified: Vec::new(),
            evidence: Vec::new(),
            new_evidence: Vec::new(),
            highest_certified: 0,
        }
    }

    /// The statement every member signs for block `block_hash` at `height`.
    pub(crate) fn statement(&self, height: u64, block_hash: &[u8; 32]) -> Vec<u8> {
        statement(&self.chain_id, height, 0, block_hash)
    }

    /// This node applied `block_hash` at `height`, whose members are `validators`, of which
    /// `need` must sign; `own` is this node's signature (if it is a member). Signatures that
    /// arrived early are judged now.
    pub(crate) fn applied(
        &mut self,
        height: u64,
        block_hash: [u8; 32],
        validators: Validators,
        need: usize,
        own: Option<(String, [u8; 64])>,
    ) {
        assert!(need >= 1, "a certificate needs at least one signature");
        if self.rounds.contains_key(&height) || height <= self.highest_certified {
            return;
        }
        self.rounds.insert(
            height,
            Round {
                block_hash,
                validators,
                need,
                signatures: BTreeMap::new(),
                own: own.as_ref().map(|(_, signature)| *signature),
                done: false,
            },
        );
        while self.rounds.len() > ROUNDS_MAX {
            self.rounds.pop_first();
        }
        if let Some((me, signature)) = own {
            self.received(&me, height, block_hash, signature);
        }
        let early: Vec<(String, Signed)> = self
            .early
            .range((height, String::new())..(height + 1, String::new()))
            .map(|((_, from), value)| (from.clone(), *value))
            .collect();
        self.early.retain(|(h, _), _| *h != height);
        for (from, (hash, signature)) in early {
            self.received(&from, height, hash, signature);
        }
    }

    /// `from`'s signature of `block_hash` at `height`.
    pub(crate) fn received(
        &mut self,
        from: &str,
        height: u64,
        block_hash: [u8; 32],
        signature: [u8; 64],
    ) -> Received {
        let statement = self.statement(height, &block_hash);
        let Some(round) = self.rounds.get_mut(&height) else {
            if height <= self.highest_certified {
                return Received::Ignored;
            }
            if self.early.len() >= EARLY_MAX {
                return Received::Ignored;
            }
            self.early
                .insert((height, from.to_owned()), (block_hash, signature));
            return Received::Early;
        };
        let Some(key) = round.validators.key(from) else {
            return Received::Refused;
        };
        if !vchain_contracts::signature::verify(key, &statement, &signature) {
            return Received::Refused;
        }
        if let Some((first_hash, first_signature)) = round.signatures.get(from) {
            if *first_hash == block_hash {
                return Received::Ignored;
            }
            let evidence = Evidence {
                node_id: from.to_owned(),
                height,
                view: 0,
                first: (*first_hash, *first_signature),
                second: (block_hash, signature),
            };
            if self.evidence.len() < EVIDENCE_MAX {
                self.evidence.push(evidence.clone());
                self.new_evidence.push(evidence);
            }
            return Received::Conflict;
        }
        round
            .signatures
            .insert(from.to_owned(), (block_hash, signature));
        if round.done {
            return Received::Late;
        }
        let matching: Vec<CommitSignature> = round
            .signatures
            .iter()
            .filter(|(_, (hash, _))| *hash == round.block_hash)
            .map(|(node_id, (_, signature))| CommitSignature {
                node_id: node_id.clone(),
                signature: signature.to_vec(),
            })
            .collect();
        if matching.len() >= round.need {
            round.done = true;
            self.certified.push(CommitCertificate {
                height,
                view: 0,
                block_hash: round.block_hash.to_vec(),
                signatures: matching,
            });
            self.highest_certified = self.highest_certified.max(height);
        }
        Received::Counted
    }

    /// Certificates completed since the last call, to store with their blocks.
    pub(crate) fn take_certified(&mut self) -> Vec<CommitCertificate> {
        std::mem::take(&mut self.certified)
    }

    /// Evidence found since the last call, to raise alerts for.
    pub(crate) fn take_evidence(&mut self) -> Vec<Evidence> {
        std::mem::take(&mut self.new_evidence)
    }

    /// The height up to which every block this certifier was told of is certified: below the
    /// lowest open round, or the highest certified if none is open.
    pub(crate) fn certified_through(&self) -> u64 {
        match self.rounds.iter().find(|(_, round)| !round.done) {
            Some((height, _)) => height - 1,
            None => self.highest_certified,
        }
    }

    /// This node's own signature notice for the block it applied at `height`, if it signed
    /// one and the round is still held.
    pub(crate) fn own_notice(&self, height: u64) -> Option<Notice> {
        let round = self.rounds.get(&height)?;
        Some(Notice {
            height,
            block_hash: round.block_hash,
            signature: round.own?,
        })
    }

    /// Open rounds (not certified yet), lowest first, at most `max`: their heights, block
    /// hashes and this node's own signature if it signed.
    pub(crate) fn open(&self, max: usize) -> Vec<(u64, [u8; 32], Option<[u8; 64]>)> {
        self.rounds
            .iter()
            .filter(|(_, round)| !round.done)
            .take(max)
            .map(|(height, round)| (*height, round.block_hash, round.own))
            .collect()
    }

    /// A whole certificate for an open round, fetched from a peer: accepted (and handed out
    /// by [`take_certified`](Self::take_certified)) only if it names the block this node
    /// applied at that height and verifies against that height's validators. True if
    /// accepted.
    pub(crate) fn offered(&mut self, certificate: &CommitCertificate) -> bool {
        let Some(round) = self.rounds.get_mut(&certificate.height) else {
            return false;
        };
        if round.done
            || certificate.block_hash.as_slice() != round.block_hash
            || certificate.view != 0
            || verify(&self.chain_id, &round.validators, certificate).is_err()
        {
            return false;
        }
        round.done = true;
        self.certified.push(certificate.clone());
        self.highest_certified = self.highest_certified.max(certificate.height);
        true
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};
    use vchain_contracts::commit_certificate::verify;

    use super::*;

    const CHAIN: &str = "vchain-unit";

    fn key(i: usize) -> SigningKey {
        SigningKey::from_bytes(&[i as u8 + 1; 32])
    }

    fn validators(n: usize) -> Validators {
        Validators::new((0..n).map(|i| (format!("n{i}"), key(i).verifying_key().to_bytes())))
            .expect("set")
    }

    fn sign(i: usize, height: u64, hash: [u8; 32]) -> [u8; 64] {
        key(i).sign(&statement(CHAIN, height, 0, &hash)).to_bytes()
    }

    #[test]
    fn a_majority_of_members_certifies_a_block_and_the_certificate_verifies() {
        let mut certifier = Certifier::new(CHAIN.into());
        let hash = [7; 32];
        certifier.applied(
            1,
            hash,
            validators(3),
            2,
            Some(("n0".into(), sign(0, 1, hash))),
        );
        assert!(certifier.take_certified().is_empty(), "one of three");
        assert_eq!(
            certifier.received("n2", 1, hash, sign(2, 1, hash)),
            Received::Counted
        );
        let certified = certifier.take_certified();
        assert_eq!(certified.len(), 1);
        // The verifier's PBFT quorum for 3 is 2, the same as a Raft majority here.
        verify(CHAIN, &validators(3), &certified[0]).expect("verifies");
        assert_eq!(certifier.certified_through(), 1);
        // A late signature changes nothing, but says its signer may lack this node's.
        assert_eq!(
            certifier.received("n1", 1, hash, sign(1, 1, hash)),
            Received::Late
        );
        assert_eq!(
            certifier.own_notice(1),
            Some(Notice {
                height: 1,
                block_hash: hash,
                signature: sign(0, 1, hash),
            })
        );
        // The same again is a duplicate: answered once, so two nodes never ping-pong.
        assert_eq!(
            certifier.received("n1", 1, hash, sign(1, 1, hash)),
            Received::Ignored
        );
        assert!(certifier.take_certified().is_empty(), "handed out once");
    }

    #[test]
    fn strangers_and_bad_signatures_do_not_count() {
        let mut certifier = Certifier::new(CHAIN.into());
        let hash = [7; 32];
        certifier.applied(1, hash, validators(3), 2, None);
        assert_eq!(
            certifier.received("n9", 1, hash, sign(0, 1, hash)),
            Received::Refused
        );
        assert_eq!(
            certifier.received("n1", 1, hash, sign(2, 1, hash)),
            Received::Refused,
            "n2's signature claimed by n1"
        );
        assert_eq!(
            certifier.received("n1", 1, hash, sign(1, 2, hash)),
            Received::Refused,
            "a signature for another height"
        );
        assert!(certifier.take_certified().is_empty());
    }

    #[test]
    fn a_member_signing_two_blocks_at_one_height_is_kept_as_evidence() {
        let mut certifier = Certifier::new(CHAIN.into());
        let (ours, other) = ([7; 32], [8; 32]);
        certifier.applied(1, ours, validators(4), 3, None);
        assert_eq!(
            certifier.received("n1", 1, other, sign(1, 1, other)),
            Received::Counted
        );
        assert_eq!(
            certifier.received("n1", 1, ours, sign(1, 1, ours)),
            Received::Conflict
        );
        let evidence = certifier.take_evidence();
        assert_eq!(evidence.len(), 1);
        assert_eq!(
            (evidence[0].node_id.as_str(), evidence[0].height),
            ("n1", 1)
        );
        assert_eq!((evidence[0].first.0, evidence[0].second.0), (other, ours));
        // Signatures for another block never make this node's block certified.
        for i in [2, 3] {
            certifier.received(&format!("n{i}"), 1, other, sign(i, 1, other));
        }
        assert!(certifier.take_certified().is_empty());
    }

    #[test]
    fn notices_round_trip_and_other_lengths_are_refused() {
        let notice = Notice {
            height: 9,
            block_hash: [1; 32],
            signature: [2; 64],
        };
        assert_eq!(Notice::decode(&notice.encode()), Some(notice));
        assert_eq!(notice.encode().len(), NOTICE_BYTES);
        assert_eq!(Notice::decode(&notice.encode()[1..]), None);
        let mut longer = notice.encode();
        longer.push(0);
        assert_eq!(Notice::decode(&longer), None);
    }

    #[test]
    fn a_fetched_certificate_closes_a_round_only_if_it_verifies_for_the_applied_block() {
        let mut certifier = Certifier::new(CHAIN.into());
        let (ours, other) = ([7; 32], [8; 32]);
        let own = sign(0, 3, ours);
        certifier.applied(3, ours, validators(3), 2, Some(("n0".into(), own)));
        assert_eq!(certifier.open(10), vec![(3, ours, Some(own))]);
        assert_eq!(certifier.certified_through(), 2);
        let certificate = |hash: [u8; 32], signers: &[usize]| CommitCertificate {
            height: 3,
            view: 0,
            block_hash: hash.to_vec(),
            signatures: signers
                .iter()
                .map(|&i| CommitSignature {
                    node_id: format!("n{i}"),
                    signature: sign(i, 3, hash).to_vec(),
                })
                .collect(),
        };
        assert!(!certifier.offered(&certificate(ours, &[1])), "one of three");
        assert!(
            !certifier.offered(&certificate(other, &[1, 2])),
            "another block"
        );
        let mut forged = certificate(ours, &[1, 2]);
        forged.signatures[1].signature[0] ^= 1;
        assert!(!certifier.offered(&forged), "a forged signature");
        assert!(certifier.offered(&certificate(ours, &[1, 2])));
        assert_eq!(certifier.take_certified().len(), 1);
        assert!(certifier.open(10).is_empty());
        assert_eq!(certifier.certified_through(), 3);
        assert!(!certifier.offered(&certificate(ours, &[1, 2])), "once");
    }

    #[test]
    fn signatures_from_peers_ahead_wait_until_the_height_is_applied() {
        let mut certifier = Certifier::new(CHAIN.into());
        let hash = [7; 32];
        for i in [1, 2] {
            assert_eq!(
                certifier.received(&format!("n{i}"), 5, hash, sign(i, 5, hash)),
                Received::Early
            );
        }
        certifier.applied(5, hash, validators(3), 2, None);
        assert_eq!(certifier.take_certified().len(), 1, "judged once applied");
    }
}
