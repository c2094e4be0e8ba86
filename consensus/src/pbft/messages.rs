//! PBFT's normal-case messages on the wire, and what each replica signs (ADR 0014).
//!
//! Every message carries the sender's ed25519 signature by its consensus key, checked before
//! the vote counts. Signing and checking are injected ([`Crypto`]): the node supplies the
//! chain's signature rule and the replica's key, so this crate needs neither the contracts
//! crate nor I/O. A commit is signed over the commit certificate's statement (built by
//! [`Crypto::commit_statement`], i.e. `vchain_contracts::commit_certificate::statement`), so
//! the commits a replica collects *are* the block's certificate; a pre-prepare and a prepare
//! are signed over [`vote_statement`].

use prost::Message;

use super::votes::{Digest, Phase};

/// Domain of pre-prepare and prepare statements (commits use the certificate's own domain).
pub const VOTE_DOMAIN: &[u8] = b"vchain-pbft-vote/1\n";
/// Largest block a primary proposes (the node's encoded block limit fits under it).
pub const BLOCK_BYTES_MAX: usize = 12 << 20;
/// Room in a message beside its one block: a new-view's view-changes (each a commit and a
/// prepared certificate without blocks) for the largest replica set.
pub const MESSAGE_OVERHEAD_BYTES_MAX: usize = 2 << 20;
/// Largest encoded message a replica decodes: at most one block travels in a message.
pub const MESSAGE_BYTES_MAX: usize = BLOCK_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX;
/// Most replicas a PBFT set has (the chain's consensus node limit).
pub const REPLICAS_MAX: usize = 64;
/// Longest replica id (the chain's node id limit).
pub const REPLICA_ID_BYTES_MAX: usize = 64;
/// An upper bound of one encoded signature entry: id, signature, framing.
const SIGNATURE_ENTRY_BYTES_MAX: usize = REPLICA_ID_BYTES_MAX + SIGNATURE_BYTES + 8;
/// An upper bound of one encoded view-change: its sender, a commit certificate and a prepared
/// certificate (a pre-prepare without its block and the prepares), each of at most
/// [`REPLICAS_MAX`] signatures, with framing.
pub const VIEW_CHANGE_BYTES_MAX: usize =
    REPLICA_ID_BYTES_MAX + 2 * (REPLICAS_MAX * SIGNATURE_ENTRY_BYTES_MAX + 256) + 256;

const _: () = assert!(REPLICAS_MAX * VIEW_CHANGE_BYTES_MAX + 4096 <= MESSAGE_OVERHEAD_BYTES_MAX);
/// Bytes of an ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;

/// Signing with this replica's consensus key and checking peers', under the chain's rule.
pub trait Crypto: Send {
    /// This replica's signature over `statement`.
    fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES];
    /// Whether `signature` by `replica`'s consensus key over `statement` is valid (false for a
    /// replica it does not know).
    fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool;
    /// The statement a commit of `digest` at (`sequence`, `view`) signs: the commit
    /// certificate's.
    fn commit_statement(&self, sequence: u64, view: u64, digest: &Digest) -> Vec<u8>;
    /// The digest replicas vote on for `block` (the node's block hash).
    fn digest(&self, block: &[u8]) -> Digest;
}

/// The statement of a pre-prepare or prepare: [`VOTE_DOMAIN`], the phase (1 byte: 1
/// pre-prepare, 2 prepare), view and sequence (8 bytes each, big-endian) and the digest.
///
/// # Panics
/// For [`Phase::Commit`], whose statement is the certificate's.
pub fn vote_statement(phase: Phase, view: u64, sequence: u64, digest: &Digest) -> Vec<u8> {
    let tag: u8 = match phase {
        Phase::PrePrepare => 1,
        Phase::Prepare => 2,
        Phase::Commit => panic!("a commit signs the certificate statement"),
    };
    let mut bytes = Vec::with_capacity(VOTE_DOMAIN.len() + 1 + 16 + 32);
    bytes.extend_from_slice(VOTE_DOMAIN);
    bytes.push(tag);
    bytes.extend_from_slice(&view.to_be_bytes());
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(digest);
    bytes
}

/// A PBFT vote as it travels (protobuf, so a replica in any language can read it).
#[derive(Clone, PartialEq, Message)]
pub struct WireVote {
    /// 1 pre-prepare, 2 prepare, 3 commit.
    #[prost(uint32, tag = "1")]
    pub phase: u32,
    /// The view.
    #[prost(uint64, tag = "2")]
    pub view: u64,
    /// The sequence (block height).
    #[prost(uint64, tag = "3")]
    pub sequence: u64,
    /// The block's digest, 32 bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub digest: Vec<u8>,
    /// A pre-prepare's block (empty for the other phases).
    #[prost(bytes = "vec", tag = "5")]
    pub block: Vec<u8>,
    /// The sender's signature over the phase's statement.
    #[prost(bytes = "vec", tag = "6")]
    pub signature: Vec<u8>,
}

/// Bytes signed as a whole: a view-change or new-view body and its sender's signature over the
/// kind's domain followed by exactly these bytes (so nothing is re-encoded before checking).
#[derive(Clone, PartialEq, Message)]
pub struct SignedBody {
    /// The encoded body.
    #[prost(bytes = "vec", tag = "1")]
    pub body: Vec<u8>,
    /// The signature over domain ‖ body.
    #[prost(bytes = "vec", tag = "2")]
    pub signature: Vec<u8>,
}

/// A replica's report of where it is, unsigned (the transport names the sender): peers behind
/// it ask it for blocks.
#[derive(Clone, PartialEq, Message)]
pub struct WireStatus {
    /// The highest height it committed.
    #[prost(uint64, tag = "1")]
    pub committed: u64,
    /// Its view.
    #[prost(uint64, tag = "2")]
    pub view: u64,
}

/// A lagging replica's request for the certified blocks after `after`.
#[derive(Clone, PartialEq, Message)]
pub struct WireCatchUpRequest {
    /// The requester's committed height.
    #[prost(uint64, tag = "1")]
    pub after: u64,
}

/// A block and the commit certificate that makes it final.
#[derive(Clone, PartialEq, Message)]
pub struct WireCertifiedBlock {
    /// The encoded block.
    #[prost(bytes = "vec", tag = "1")]
    pub block: Vec<u8>,
    /// Its certificate.
    #[prost(message, optional, tag = "2")]
    pub certificate: Option<super::certificates::WireCertificate>,
}

/// Certified blocks for a lagging replica, and the new-view message of the sender's view (so
/// the laggard can join it): every part checks on its own, so one answer from one peer is
/// enough and trusting that peer is not needed.
#[derive(Clone, PartialEq, Message)]
pub struct WireCatchUpResponse {
    /// Consecutive certified blocks, lowest first.
    #[prost(message, repeated, tag = "1")]
    pub blocks: Vec<WireCertifiedBlock>,
    /// The sender's current new-view message, if its view is past 0.
    #[prost(message, optional, tag = "2")]
    pub new_view: Option<SignedBody>,
}

/// Every PBFT message on the wire.
#[derive(Clone, PartialEq, Message)]
pub struct Envelope {
    /// Which message.
    #[prost(oneof = "Kind", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub kind: Option<Kind>,
}

/// A request for the block with `digest` at `sequence` (a re-issued pre-prepare named a block
/// this replica does not hold).
#[derive(Clone, PartialEq, Message)]
pub struct WireBlockRequest {
    /// The sequence.
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    /// The block's digest.
    #[prost(bytes = "vec", tag = "2")]
    pub digest: Vec<u8>,
}

/// A block sent on request: checked by its digest, so any replica may send it.
#[derive(Clone, PartialEq, Message)]
pub struct WireBlock {
    /// The sequence.
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    /// The encoded block.
    #[prost(bytes = "vec", tag = "2")]
    pub block: Vec<u8>,
}

/// The kinds of [`Envelope`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    /// A pre-prepare, prepare or commit.
    #[prost(message, tag = "1")]
    Vote(WireVote),
    /// A view-change ([`super::view_change::WireViewChange`] signed).
    #[prost(message, tag = "2")]
    ViewChange(SignedBody),
    /// A new-view ([`super::view_change::WireNewView`] signed).
    #[prost(message, tag = "3")]
    NewView(SignedBody),
    /// A status report.
    #[prost(message, tag = "4")]
    Status(WireStatus),
    /// A catch-up request.
    #[prost(message, tag = "5")]
    CatchUpRequest(WireCatchUpRequest),
    /// A catch-up answer.
    #[prost(message, tag = "6")]
    CatchUpResponse(WireCatchUpResponse),
    /// A block request.
    #[prost(message, tag = "7")]
    BlockRequest(WireBlockRequest),
    /// A block.
    #[prost(message, tag = "8")]
    Block(WireBlock),
}

impl Envelope {
    /// `kind` in an envelope, encoded.
    pub fn encode_kind(kind: Kind) -> Vec<u8> {
        Envelope { kind: Some(kind) }.encode_to_vec()
    }

    /// Decodes a message no larger than [`MESSAGE_BYTES_MAX`].
    pub fn decode_kind(bytes: &[u8]) -> Result<Kind, MessageError> {
        if bytes.len() > MESSAGE_BYTES_MAX {
            return Err(MessageError::TooLarge { got: bytes.len() });
        }
        Envelope::decode(bytes)
            .map_err(|e| MessageError::Undecodable(e.to_string()))?
            .kind
            .ok_or_else(|| MessageError::Undecodable("an empty envelope".into()))
    }
}

/// A vote whose signature checked: what the vote log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// The phase.
    pub phase: Phase,
    /// The view.
    pub view: u64,
    /// The sequence.
    pub sequence: u64,
    /// The digest voted for.
    pub digest: Digest,
    /// A pre-prepare's block.
    pub block: Vec<u8>,
    /// The signature (a commit's goes into the certificate).
    pub signature: [u8; SIGNATURE_BYTES],
}

/// Why a message was dropped before it counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Larger than [`MESSAGE_BYTES_MAX`].
    #[error("a PBFT message of {got} bytes, more than {MESSAGE_BYTES_MAX}")]
    TooLarge {
        /// Its size.
        got: usize,
    },
    /// Not a PBFT message.
    #[error("not a PBFT message: {0}")]
    Undecodable(String),
    /// A phase number no phase has.
    #[error("unknown PBFT phase {0}")]
    UnknownPhase(u32),
    /// A digest or signature of the wrong length, or a block where none belongs.
    #[error("malformed {phase:?}: {what}")]
    Malformed {
        /// The phase.
        phase: Phase,
        /// What is wrong.
        what: &'static str,
    },
    /// The signature does not verify with the sender's consensus key.
    #[error("{phase:?} from {from} at view {view}, sequence {sequence}: bad signature")]
    BadSignature {
        /// The sender.
        from: String,
        /// The phase.
        phase: Phase,
        /// The view.
        view: u64,
        /// The sequence.
        sequence: u64,
    },
}

impl Vote {
    /// This replica's signed vote of `digest` in `phase` at (`sequence`, `view`).
    pub fn signed(
        crypto: &dyn Crypto,
        phase: Phase,
        view: u64,
        sequence: u64,
        digest: Digest,
        block: Vec<u8>,
    ) -> Self {
        debug_assert!(block.is_empty() || phase == Phase::PrePrepare);
        let statement = statement(crypto, phase, view, sequence, &digest);
        Self {
            phase,
            view,
            sequence,
            digest,
            block,
            signature: crypto.sign(&statement),
        }
    }

    /// The vote as it travels inside other messages.
    pub fn to_wire(&self) -> WireVote {
        WireVote {
            phase: phase_number(self.phase),
            view: self.view,
            sequence: self.sequence,
            digest: self.digest.to_vec(),
            block: self.block.clone(),
            signature: self.signature.to_vec(),
        }
    }

    /// The wire encoding (in an [`Envelope`]).
    pub fn encode(&self) -> Vec<u8> {
        Envelope::encode_kind(Kind::Vote(self.to_wire()))
    }

    /// Decodes `bytes` from `from` (as the transport authenticated it), which must be a vote,
    /// and checks the signature with `from`'s consensus key.
    pub fn decode_verified(
        crypto: &dyn Crypto,
        from: &str,
        bytes: &[u8],
    ) -> Result<Self, MessageError> {
        match Envelope::decode_kind(bytes)? {
            Kind::Vote(wire) => Self::verified(crypto, from, wire),
            _ => Err(MessageError::Undecodable("not a vote".into())),
        }
    }

    /// Checks `wire`'s form and its signature by `from`'s consensus key.
    pub fn verified(crypto: &dyn Crypto, from: &str, wire: WireVote) -> Result<Self, MessageError> {
        let phase = match wire.phase {
            1 => Phase::PrePrepare,
            2 => Phase::Prepare,
            3 => Phase::Commit,
            other => return Err(MessageError::UnknownPhase(other)),
        };
        let malformed = |what| MessageError::Malformed { phase, what };
        let digest: Digest = wire
            .digest
            .as_slice()
            .try_into()
            .map_err(|_| malformed("the digest is not 32 bytes"))?;
        let signature: [u8; SIGNATURE_BYTES] = wire
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| malformed("the signature is not 64 bytes"))?;
        if phase != Phase::PrePrepare && !wire.block.is_empty() {
            return Err(malformed("only a pre-prepare carries a block"));
        }
        let statement = statement(crypto, phase, wire.view, wire.sequence, &digest);
        if !crypto.verify(from, &statement, &signature) {
            return Err(MessageError::BadSignature {
                from: from.to_owned(),
                phase,
                view: wire.view,
                sequence: wire.sequence,
            });
        }
        Ok(Self {
            phase,
            view: wire.view,
            sequence: wire.sequence,
            digest,
            block: wire.block,
            signature,
        })
    }
}

fn phase_number(phase: Phase) -> u32 {
    match phase {
        Phase::PrePrepare => 1,
        Phase::Prepare => 2,
        Phase::Commit => 3,
    }
}

fn statement(
    crypto: &dyn Crypto,
    phase: Phase,
    view: u64,
    sequence: u64,
    digest: &Digest,
) -> Vec<u8> {
    match phase {
        Phase::Commit => crypto.commit_statement(sequence, view, digest),
        phase => vote_statement(phase, view, sequence, digest),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use ed25519_dalek::{Signer, SigningKey, Verifier};

    use super::*;

    /// Replicas "n0".."n3" with fixed keys; signs as `me`.
    pub(crate) struct TestCrypto {
        me: String,
        keys: BTreeMap<String, SigningKey>,
    }

    impl TestCrypto {
        pub(crate) fn new(me: &str) -> Self {
            let keys = (0..4u8)
                .map(|i| (format!("n{i}"), SigningKey::from_bytes(&[i + 1; 32])))
                .collect();
            Self {
                me: me.to_owned(),
                keys,
            }
        }
    }

    impl Crypto for TestCrypto {
        fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES] {
            self.keys[&self.me].sign(statement).to_bytes()
        }
        fn verify(&self, replica: &str, statement: &[u8], signature: &[u8]) -> bool {
            let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
                return false;
            };
            self.keys
                .get(replica)
                .is_some_and(|k| k.verifying_key().verify(statement, &signature).is_ok())
        }
        fn commit_statement(&self, sequence: u64, view: u64, digest: &Digest) -> Vec<u8> {
            let mut bytes = b"commit".to_vec();
            bytes.extend_from_slice(&sequence.to_be_bytes());
            bytes.extend_from_slice(&view.to_be_bytes());
            bytes.extend_from_slice(digest);
            bytes
        }
        fn digest(&self, block: &[u8]) -> Digest {
            use sha2::Digest as _;
            sha2::Sha256::digest(block).into()
        }
    }

    /// Replicas "n0".."n3" as ids, sorted.
    pub(crate) fn ids() -> Vec<String> {
        (0..4).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn a_signed_vote_travels_and_checks_with_its_senders_key() {
        let n1 = TestCrypto::new("n1");
        let n2 = TestCrypto::new("n2");
        for phase in [Phase::PrePrepare, Phase::Prepare, Phase::Commit] {
            let block = if phase == Phase::PrePrepare {
                b"block".to_vec()
            } else {
                Vec::new()
            };
            let vote = Vote::signed(&n1, phase, 2, 7, [5; 32], block);
            assert_eq!(
                Vote::decode_verified(&n2, "n1", &vote.encode()),
                Ok(vote.clone())
            );
            // The same bytes claimed by another replica do not verify.
            assert!(matches!(
                Vote::decode_verified(&n2, "n3", &vote.encode()),
                Err(MessageError::BadSignature { .. })
            ));
        }
    }

    #[test]
    fn a_vote_moved_to_another_slot_or_phase_does_not_verify() {
        let n1 = TestCrypto::new("n1");
        let vote = Vote::signed(&n1, Phase::Prepare, 2, 7, [5; 32], Vec::new());
        let wire = vote.to_wire();
        let changed = [
            WireVote {
                view: 3,
                ..wire.clone()
            },
            WireVote {
                sequence: 8,
                ..wire.clone()
            },
            WireVote {
                digest: vec![6; 32],
                ..wire.clone()
            },
            WireVote {
                phase: 3,
                ..wire.clone()
            },
            WireVote {
                phase: 1,
                ..wire.clone()
            },
        ];
        for moved in changed {
            assert!(
                matches!(
                    Vote::verified(&n1, "n1", moved.clone()),
                    Err(MessageError::BadSignature { .. })
                ),
                "{moved:?}"
            );
        }
    }

    #[test]
    fn malformed_messages_are_refused_with_their_reason() {
        let n1 = TestCrypto::new("n1");
        let good = Vote::signed(&n1, Phase::Prepare, 0, 1, [5; 32], Vec::new()).to_wire();
        let check = |wire: WireVote| Vote::verified(&n1, "n1", wire);
        assert_eq!(
            check(WireVote {
                phase: 9,
                ..good.clone()
            }),
            Err(MessageError::UnknownPhase(9))
        );
        assert!(matches!(
            check(WireVote {
                digest: vec![5; 31],
                ..good.clone()
            }),
            Err(MessageError::Malformed { .. })
        ));
        assert!(matches!(
            check(WireVote {
                signature: vec![0; 63],
                ..good.clone()
            }),
            Err(MessageError::Malformed { .. })
        ));
        assert!(matches!(
            check(WireVote {
                block: b"smuggled".to_vec(),
                ..good
            }),
            Err(MessageError::Malformed { .. })
        ));
        assert!(matches!(
            Vote::decode_verified(&n1, "n1", &[0xff, 0xff, 0xff]),
            Err(MessageError::Undecodable(_))
        ));
        assert!(matches!(
            Vote::decode_verified(&n1, "n1", &vec![0; MESSAGE_BYTES_MAX + 1]),
            Err(MessageError::TooLarge { .. })
        ));
    }
}
