//! The two proofs PBFT replicas pass to each other (PBFT §4.2, §4.4): a *commit certificate*
//! (a quorum of commits: the block at this height is final) and a *prepared certificate* (the
//! primary's pre-prepare and a quorum less one of prepares: no other block can commit at this
//! height in this view). Both are checked signature by signature before they count, so a
//! replica accepts them from any peer, honest or not.
//!
//! A prepared certificate travels without its block: the pre-prepare's signature covers the
//! digest, not the bytes, and a block is fetched separately, checked against the digest.

use prost::Message;

use super::messages::{vote_statement, Crypto, MessageError, Vote, WireVote, SIGNATURE_BYTES};
use super::votes::{Digest, Phase};
use crate::NodeId;

/// One replica's signature as it travels.
#[derive(Clone, PartialEq, Message)]
pub struct WireSignature {
    /// The replica.
    #[prost(string, tag = "1")]
    pub replica: String,
    /// Its signature.
    #[prost(bytes = "vec", tag = "2")]
    pub signature: Vec<u8>,
}

/// A commit certificate as it travels.
#[derive(Clone, PartialEq, Message)]
pub struct WireCertificate {
    /// The sequence (height).
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    /// The view the commits were cast in.
    #[prost(uint64, tag = "2")]
    pub view: u64,
    /// The block's digest.
    #[prost(bytes = "vec", tag = "3")]
    pub digest: Vec<u8>,
    /// The commit signatures, in ascending replica order.
    #[prost(message, repeated, tag = "4")]
    pub signatures: Vec<WireSignature>,
}

/// A prepared certificate as it travels.
#[derive(Clone, PartialEq, Message)]
pub struct WirePrepared {
    /// The primary's pre-prepare, without its block.
    #[prost(message, optional, tag = "1")]
    pub pre_prepare: Option<WireVote>,
    /// The backups' prepare signatures, in ascending replica order.
    #[prost(message, repeated, tag = "2")]
    pub prepares: Vec<WireSignature>,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// A field of the wrong form.
    #[error("malformed certificate: {0}")]
    Malformed(&'static str),
    /// A signer that is not a replica, or (prepares) the view's primary.
    #[error("signer {0} may not sign this")]
    UnknownSigner(String),
    /// Signers not in strictly ascending order (a repeat included).
    #[error("signers are not in strictly ascending order at {0}")]
    Unordered(String),
    /// A signature that does not verify.
    #[error("the signature of {0} does not verify")]
    BadSignature(String),
    /// Fewer signatures than the quorum needs.
    #[error("{got} signatures, {need} needed")]
    NoQuorum {
        /// Signatures present.
        got: usize,
        /// Needed.
        need: usize,
    },
    /// The pre-prepare of a prepared certificate was refused.
    #[error("pre-prepare: {0}")]
    PrePrepare(MessageError),
}

/// A commit certificate that checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The sequence (height).
    pub sequence: u64,
    /// The view.
    pub view: u64,
    /// The block's digest.
    pub digest: Digest,
    /// (replica, signature), ascending by replica.
    pub signatures: Vec<(NodeId, [u8; SIGNATURE_BYTES])>,
}

impl Certificate {
    /// The wire form.
    pub fn to_wire(&self) -> WireCertificate {
        WireCertificate {
            sequence: self.sequence,
            view: self.view,
            digest: self.digest.to_vec(),
            signatures: to_wire_signatures(&self.signatures),
        }
    }

    /// Checks `wire` against `replicas` (sorted): a quorum of distinct replicas, in ascending
    /// order, each signing the commit statement.
    pub fn verified(
        crypto: &dyn Crypto,
        replicas: &[NodeId],
        wire: &WireCertificate,
    ) -> Result<Self, CertificateError> {
        let digest: Digest = wire
            .digest
            .as_slice()
            .try_into()
            .map_err(|_| CertificateError::Malformed("the digest is not 32 bytes"))?;
        let statement = crypto.commit_statement(wire.sequence, wire.view, &digest);
        let signatures = checked_signatures(crypto, replicas, None, &statement, &wire.signatures)?;
        let need = super::quorum(replicas.len());
        if signatures.len() < need {
            return Err(CertificateError::NoQuorum {
                got: signatures.len(),
                need,
            });
        }
        Ok(Self {
            sequence: wire.sequence,
            view: wire.view,
            digest,
            signatures,
        })
    }
}

/// A prepared certificate that checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The primary's pre-prepare (its `block` empty).
    pub pre_prepare: Vote,
    /// (backup, prepare signature), ascending by backup: at least a quorum less one.
    pub prepares: Vec<(NodeId, [u8; SIGNATURE_BYTES])>,
}

impl Prepared {
    /// The sequence.
    pub fn sequence(&self) -> u64 {
        self.pre_prepare.sequence
    }

    /// The view.
    pub fn view(&self) -> u64 {
        self.pre_prepare.view
    }

    /// The digest.
    pub fn digest(&self) -> Digest {
        self.pre_prepare.digest
    }

    /// The wire form (the pre-prepare without its block).
    pub fn to_wire(&self) -> WirePrepared {
        let mut pre_prepare = self.pre_prepare.to_wire();
        pre_prepare.block.clear();
        WirePrepared {
            pre_prepare: Some(pre_prepare),
            prepares: to_wire_signatures(&self.prepares),
        }
    }

    /// Checks `wire` against `replicas` (sorted): the pre-prepare signed by its view's
    /// primary, and prepares of the same (view, sequence, digest) from a quorum less one of
    /// distinct backups, in ascending order.
    pub fn verified(
        crypto: &dyn Crypto,
        replicas: &[NodeId],
        wire: &WirePrepared,
    ) -> Result<Self, CertificateError> {
        let mut pre_prepare = wire
            .pre_prepare
            .clone()
            .ok_or(CertificateError::Malformed("no pre-prepare"))?;
        pre_prepare.block.clear();
        let primary = super::primary(replicas, pre_prepare.view);
        let pre_prepare =
            Vote::verified(crypto, primary, pre_prepare).map_err(CertificateError::PrePrepare)?;
        if pre_prepare.phase != Phase::PrePrepare {
            return Err(CertificateError::Malformed("not a pre-prepare"));
        }
        let statement = vote_statement(
            Phase::Prepare,
            pre_prepare.view,
            pre_prepare.sequence,
            &pre_prepare.digest,
        );
        let prepares =
            checked_signatures(crypto, replicas, Some(primary), &statement, &wire.prepares)?;
        let need = super::quorum(replicas.len()) - 1;
        if prepares.len() < need {
            return Err(CertificateError::NoQuorum {
                got: prepares.len(),
                need,
            });
        }
        Ok(Self {
            pre_prepare,
            prepares,
        })
    }
}

fn to_wire_signatures(signatures: &[(NodeId, [u8; SIGNATURE_BYTES])]) -> Vec<WireSignature> {
    signatures
        .iter()
        .map(|(replica, signature)| WireSignature {
            replica: replica.clone(),
            signature: signature.to_vec(),
        })
        .collect()
}

/// Checks signatures over `statement`: each by a replica (not `excluded`), strictly ascending,
/// each valid. At most one per replica, so the count is bounded by the set.
fn checked_signatures(
    crypto: &dyn Crypto,
    replicas: &[NodeId],
    excluded: Option<&NodeId>,
    statement: &[u8],
    wire: &[WireSignature],
) -> Result<Vec<(NodeId, [u8; SIGNATURE_BYTES])>, CertificateError> {
    if wire.len() > replicas.len() {
        return Err(CertificateError::Malformed("more signatures than replicas"));
    }
    let mut checked: Vec<(NodeId, [u8; SIGNATURE_BYTES])> = Vec::with_capacity(wire.len());
    for entry in wire {
        if replicas.binary_search(&entry.replica).is_err() || Some(&entry.replica) == excluded {
            return Err(CertificateError::UnknownSigner(entry.replica.clone()));
        }
        if checked
            .last()
            .is_some_and(|(last, _)| *last >= entry.replica)
        {
            return Err(CertificateError::Unordered(entry.replica.clone()));
        }
        let signature: [u8; SIGNATURE_BYTES] = entry
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| CertificateError::Malformed("a signature is not 64 bytes"))?;
        if !crypto.verify(&entry.replica, statement, &signature) {
            return Err(CertificateError::BadSignature(entry.replica.clone()));
        }
        checked.push((entry.replica.clone(), signature));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::super::messages::tests::{ids, TestCrypto};
    use super::*;

    fn commit(replica: &str, sequence: u64, view: u64, digest: Digest) -> WireSignature {
        let crypto = TestCrypto::new(replica);
        WireSignature {
            replica: replica.into(),
            signature: crypto
                .sign(&crypto.commit_statement(sequence, view, &digest))
                .to_vec(),
        }
    }

    fn prepare(replica: &str, sequence: u64, view: u64, digest: Digest) -> WireSignature {
        let crypto = TestCrypto::new(replica);
        WireSignature {
            replica: replica.into(),
            signature: crypto
                .sign(&vote_statement(Phase::Prepare, view, sequence, &digest))
                .to_vec(),
        }
    }

    #[test]
    fn a_commit_certificate_needs_a_quorum_of_distinct_ordered_valid_signatures() {
        let crypto = TestCrypto::new("n0");
        let good = WireCertificate {
            sequence: 5,
            view: 1,
            digest: vec![7; 32],
            signatures: ["n0", "n2", "n3"]
                .iter()
                .map(|r| commit(r, 5, 1, [7; 32]))
                .collect(),
        };
        let certificate = Certificate::verified(&crypto, &ids(), &good).expect("valid");
        assert_eq!(certificate.to_wire(), good);
        let mut short = good.clone();
        short.signatures.pop();
        assert_eq!(
            Certificate::verified(&crypto, &ids(), &short),
            Err(CertificateError::NoQuorum { got: 2, need: 3 })
        );
        let mut repeated = good.clone();
        repeated.signatures[1] = repeated.signatures[0].clone();
        assert_eq!(
            Certificate::verified(&crypto, &ids(), &repeated),
            Err(CertificateError::Unordered("n0".into()))
        );
        let mut moved = good.clone();
        moved.sequence = 6;
        assert!(matches!(
            Certificate::verified(&crypto, &ids(), &moved),
            Err(CertificateError::BadSignature(_))
        ));
        let mut stranger = good.clone();
        stranger.signatures[2].replica = "n9".into();
        assert_eq!(
            Certificate::verified(&crypto, &ids(), &stranger),
            Err(CertificateError::UnknownSigner("n9".into()))
        );
    }

    #[test]
    fn a_prepared_certificate_needs_the_primarys_pre_prepare_and_distinct_backups() {
        let primary = TestCrypto::new("n1");
        let pre_prepare = Vote::signed(&primary, Phase::PrePrepare, 1, 5, [7; 32], Vec::new());
        let good = WirePrepared {
            pre_prepare: Some(pre_prepare.to_wire()),
            prepares: vec![prepare("n2", 5, 1, [7; 32]), prepare("n3", 5, 1, [7; 32])],
        };
        let prepared = Prepared::verified(&primary, &ids(), &good).expect("valid");
        assert_eq!((prepared.sequence(), prepared.view()), (5, 1));
        assert_eq!(prepared.to_wire(), good);
        // The primary's own prepare does not count: its pre-prepare is its vote.
        let mut with_primary = good.clone();
        with_primary.prepares[0] = prepare("n1", 5, 1, [7; 32]);
        assert_eq!(
            Prepared::verified(&primary, &ids(), &with_primary),
            Err(CertificateError::UnknownSigner("n1".into()))
        );
        // A pre-prepare signed by a backup of that view.
        let backup = TestCrypto::new("n2");
        let mut forged = good.clone();
        forged.pre_prepare =
            Some(Vote::signed(&backup, Phase::PrePrepare, 1, 5, [7; 32], Vec::new()).to_wire());
        assert!(matches!(
            Prepared::verified(&primary, &ids(), &forged),
            Err(CertificateError::PrePrepare(
                MessageError::BadSignature { .. }
            ))
        ));
        let mut short = good;
        short.prepares.pop();
        assert_eq!(
            Prepared::verified(&primary, &ids(), &short),
            Err(CertificateError::NoQuorum { got: 1, need: 2 })
        );
    }
}
