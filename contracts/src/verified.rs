//! Signatures this node has already found valid, so that each transaction's signature is
//! verified once per node: at admission, and not again when its block is validated, produced or
//! applied.
//!
//! Owns: the bounded record of valid verdicts and the batch check that consults and fills it.
//! Must not depend on: anything but the signature rule ([`crate::signature`]) and SHA-256.
//!
//! # Why it cannot change a result
//! A verdict under the chain's rule is a pure function of exactly three byte strings: the key,
//! the message and the signature ([`crate::signature`]). The record is keyed by a digest over all
//! three, so a hit stands for a verification of those very bytes. A transaction hash does not do:
//! it covers the body only, and the same body under another signature must be checked again.
//! Only valid verdicts are kept: an invalid signature is checked each time (it costs its sender a
//! refusal at admission, and a block holding one is rare). A miss costs one verification, never a
//! different verdict, so the record's size, what it evicted and what another node's record holds
//! change nothing a block commits; the hash set's order is never observed (membership only).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::signature::{self, SignedMessage};

/// A 32-byte digest of (key, signature, message), what the record is keyed by.
type VerdictKey = [u8; 32];

/// Domain separation for [`VerdictKey`], so no other SHA-256 in the chain can collide with it.
const VERDICT_KEY_DOMAIN: &[u8] = b"vchain valid ed25519 signature v1";

/// What [`VerifiedSignatures::verify_all`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdicts {
    /// One verdict per item, in order: exactly [`signature::verify`]'s.
    pub valid: Vec<bool>,
    /// Items whose signature was verified in this call (the rest were known valid).
    pub verified: usize,
}

/// A bounded record of signatures found valid under the chain's rule, shared by the threads of
/// one node (admission in the RPC workers, validation and execution in the producer). When
/// full, the oldest verdict is forgotten first.
/// A kept verdict costs about 80 bytes (its digest in the set and in the queue, with the set's
/// overhead): a node sizes the record from its mempool.
#[derive(Debug)]
pub struct VerifiedSignatures {
    capacity: usize,
    inner: Mutex<Record>,
    /// Signatures verified through this record, since it was made.
    verifications: AtomicU64,
    /// Verdicts taken from the record instead of verified, since it was made.
    reuses: AtomicU64,
}

#[derive(Debug, Default)]
struct Record {
    valid: HashSet<VerdictKey>,
    /// Insertion order, for eviction; holds exactly the keys of `valid`.
    order: VecDeque<VerdictKey>,
}

impl VerifiedSignatures {
    /// A record of at most `capacity` verdicts (0 keeps none: every check verifies).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Record::default()),
            verifications: AtomicU64::new(0),
            reuses: AtomicU64::new(0),
        }
    }

    /// Signatures verified through this record since it was made, and verdicts it supplied
    /// instead (for the node's metrics).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.verifications.load(Ordering::Relaxed),
            self.reuses.load(Ordering::Relaxed),
        )
    }

    fn count(&self, verified: usize, reused: usize) {
        self.verifications
            .fetch_add(verified as u64, Ordering::Relaxed);
        self.reuses.fetch_add(reused as u64, Ordering::Relaxed);
    }

    /// A record that keeps nothing, for callers that check a block once (tools, tests).
    pub fn none() -> Self {
        Self::new(0)
    }

    /// Verdicts currently kept.
    pub fn len(&self) -> usize {
        self.record().valid.len()
    }

    /// Whether no verdict is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`signature::verify_all`] for `items`, verifying only those not already known valid (in
    /// one batch, outside the lock, so admission threads do not wait on each other's curve
    /// arithmetic), and remembering the ones found valid. Each verdict is exactly
    /// [`signature::verify`]'s for that item.
    pub fn verify_all(&self, items: &[SignedMessage<'_>]) -> Verdicts {
        if self.capacity == 0 {
            self.count(items.len(), 0);
            return Verdicts {
                valid: signature::verify_all(items),
                verified: items.len(),
            };
        }
        let keys: Vec<VerdictKey> = items.iter().map(verdict_key).collect();
        let mut verdicts: Vec<bool> = {
            let record = self.record();
            keys.iter().map(|key| record.valid.contains(key)).collect()
        };
        let unknown: Vec<usize> = (0..items.len()).filter(|&i| !verdicts[i]).collect();
        self.count(unknown.len(), items.len() - unknown.len());
        if unknown.is_empty() {
            return Verdicts {
                valid: verdicts,
                verified: 0,
            };
        }
        let checked: Vec<SignedMessage<'_>> = unknown.iter().map(|&i| items[i]).collect();
        let found = signature::verify_all(&checked);
        debug_assert_eq!(found.len(), unknown.len());
        let mut record = self.record();
        for (&index, valid) in unknown.iter().zip(found) {
            verdicts[index] = valid;
            if valid {
                record.remember(keys[index], self.capacity);
            }
        }
        Verdicts {
            valid: verdicts,
            verified: unknown.len(),
        }
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        // The record holds only verdicts, each complete when inserted: a panic elsewhere while
        // the lock was held cannot leave a wrong one, so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Record {
    fn remember(&mut self, key: VerdictKey, capacity: usize) {
        debug_assert!(capacity > 0);
        if !self.valid.insert(key) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.valid.remove(&oldest);
            }
        }
        debug_assert_eq!(self.valid.len(), self.order.len());
        debug_assert!(self.valid.len() <= capacity);
    }
}

/// The digest a verdict is kept under: every byte the verdict depends on, length-prefixed so
/// that no two (key, signature, message) triples share an encoding.
fn verdict_key(item: &SignedMessage<'_>) -> VerdictKey {
    let mut hasher = Sha256::new();
    hasher.update(VERDICT_KEY_DOMAIN);
    for part in [item.public_key, item.signature, item.message] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    struct Owned {
        key: [u8; 32],
        message: Vec<u8>,
        signature: [u8; 64],
    }

    fn signed(seed: u8, message: &[u8]) -> Owned {
        let key = SigningKey::from_bytes(&[seed; 32]);
        Owned {
            key: key.verifying_key().to_bytes(),
            message: message.to_vec(),
            signature: key.sign(message).to_bytes(),
        }
    }

    fn items(owned: &[Owned]) -> Vec<SignedMessage<'_>> {
        owned
            .iter()
            .map(|o| SignedMessage {
                public_key: &o.key,
                message: &o.message,
                signature: &o.signature,
            })
            .collect()
    }

    #[test]
    fn verdicts_are_the_rules_and_only_valid_ones_are_kept() {
        let mut owned: Vec<Owned> = (1..=5).map(|seed| signed(seed, &[seed; 40])).collect();
        owned[1].signature[0] ^= 1;
        owned[3].message.push(0);
        let record = VerifiedSignatures::new(16);
        let expected = vec![true, false, true, false, true];
        assert_eq!(signature::verify_all(&items(&owned)), expected);
        let first = record.verify_all(&items(&owned));
        assert_eq!((first.valid, first.verified), (expected.clone(), 5));
        assert_eq!(record.len(), 3);
        // Asked again, the same verdicts: the valid ones from the record, only the others
        // verified again.
        let again = record.verify_all(&items(&owned));
        assert_eq!((again.valid, again.verified), (expected, 2));
        assert_eq!(record.len(), 3);
        assert_eq!(record.counts(), (7, 3));
    }

    #[test]
    fn a_known_body_under_another_signature_is_verified_again() {
        let good = signed(7, b"pay 100");
        let record = VerifiedSignatures::new(16);
        assert_eq!(
            record.verify_all(&items(std::slice::from_ref(&good))).valid,
            [true]
        );
        let again = record.verify_all(&items(std::slice::from_ref(&good)));
        assert_eq!((again.valid, again.verified), (vec![true], 0));
        // Same key and message, signature bytes changed: not the verified triple.
        let mut forged = signed(7, b"pay 100");
        forged.signature[40] ^= 0x10;
        assert_eq!(record.verify_all(&items(&[forged])).valid, [false]);
        // Same key and signature over another message.
        let mut moved = signed(7, b"pay 100");
        moved.message = b"pay 900".to_vec();
        assert_eq!(record.verify_all(&items(&[moved])).valid, [false]);
        // Another key with the same signature and message.
        let mut rekeyed = signed(7, b"pay 100");
        rekeyed.key = signed(8, b"x").key;
        assert_eq!(record.verify_all(&items(&[rekeyed])).valid, [false]);
    }

    #[test]
    fn the_oldest_verdict_is_forgotten_first_and_the_bound_holds() {
        let owned: Vec<Owned> = (1..=6).map(|seed| signed(seed, &[seed; 8])).collect();
        let record = VerifiedSignatures::new(4);
        for one in &owned {
            assert_eq!(
                record.verify_all(&items(std::slice::from_ref(one))).valid,
                [true]
            );
            assert!(record.len() <= 4);
        }
        assert_eq!(record.len(), 4);
        let kept = record.record();
        assert!(!kept.valid.contains(&verdict_key(&items(&owned[..1])[0])));
        assert!(kept.valid.contains(&verdict_key(&items(&owned[5..])[0])));
    }

    #[test]
    fn a_record_of_nothing_still_verifies() {
        let owned = vec![signed(1, b"a"), signed(2, b"b")];
        let record = VerifiedSignatures::none();
        let verdicts = record.verify_all(&items(&owned));
        assert_eq!((verdicts.valid, verdicts.verified), (vec![true, true], 2));
        let again = record.verify_all(&items(&owned));
        assert_eq!(again.verified, 2);
        assert!(record.is_empty());
    }

    #[test]
    fn verdict_keys_are_length_prefixed() {
        // The same concatenated bytes split differently between the three parts.
        let a = SignedMessage {
            public_key: b"ab",
            signature: b"c",
            message: b"",
        };
        let b = SignedMessage {
            public_key: b"a",
            signature: b"bc",
            message: b"",
        };
        assert_ne!(verdict_key(&a), verdict_key(&b));
    }
}
