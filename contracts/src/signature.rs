//! The chain's one definition of a valid ed25519 signature, used for transactions (admission,
//! execution, replay), device readings and signed reads.
//!
//! Owns: the verification rule and its batched form. Must not depend on: anything but the curve
//! arithmetic and SHA-512 (no I/O, no clock, no OS randomness).
//!
//! # The rule
//! A signature `(R, s)` by key `A` over message `M` is valid when:
//! 1. `A` is 32 bytes and `(R, s)` 64 bytes;
//! 2. ZIP-215 (<https://zips.z.cash/zip-0215>) accepts it: `A` and `R` decode to curve points,
//!    non-canonical encodings included; `s < ℓ`; `k = SHA-512(R ‖ A ‖ M)` over the bytes as
//!    given; and the cofactored equation `[8][s]B = [8]R + [8][k]A` holds;
//! 3. `A` is not of small order: such a key satisfies the equation for every message with
//!    `R = [s]B`, so it authenticates nobody. Registration refuses these keys too
//!    ([`crate::validate::public_key`]); the rule refuses them again for keys that reached
//!    state another way.
//!
//! # Why this rule
//! The cofactored equation is the one a batch checks, so checking a signature alone and in a
//! batch of any neighbours gives the same verdict (ADR 0006). Cofactorless (`verify_strict`)
//! single checks and a cofactorless batch disagree on small-order `R` and mixed-order keys, which
//! made a transaction's validity depend on the block it landed in.
//!
//! ```
//! use ed25519_dalek::{Signer, SigningKey};
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let signature = key.sign(b"reading 42").to_bytes();
//! let public = key.verifying_key().to_bytes();
//! assert!(vchain_contracts::signature::verify(&public, b"reading 42", &signature));
//! assert!(!vchain_contracts::signature::verify(&public, b"reading 43", &signature));
//! ```

use std::convert::Infallible;

use ed25519_zebra::batch;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};
use sha2::{Digest, Sha512};

/// Bytes of an ed25519 public key.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of an ed25519 signature (`R ‖ s`).
pub const SIGNATURE_BYTES: usize = 64;

/// One signature to check: `signature` by `public_key` over `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedMessage<'a> {
    /// The signer's key, as it is bound in state (32 bytes).
    pub public_key: &'a [u8],
    /// The exact bytes that were signed.
    pub message: &'a [u8],
    /// The signature (64 bytes).
    pub signature: &'a [u8],
}

/// A signature's parts, once their lengths and the key's order are checked.
struct Parsed<'a> {
    key: VerificationKeyBytes,
    signature: Signature,
    message: &'a [u8],
}

/// Most keys one thread remembers as decoding to a point of large order (32 bytes each); past
/// it the thread forgets them all and learns again.
pub const STRONG_KEYS_REMEMBERED_MAX: usize = 4_096;

thread_local! {
    /// Keys this thread found to decode to a point of large order (rule 3 passed). An account
    /// signs many transactions with one key, and the check costs a point decompression, about
    /// a third of a batched verification's decompressions. Only the verdict of a pure function
    /// of the key's bytes is remembered, so no verdict depends on what a thread saw before.
    static STRONG_KEYS: std::cell::RefCell<std::collections::HashSet<[u8; PUBLIC_KEY_BYTES]>> =
        std::cell::RefCell::new(std::collections::HashSet::new());
}

/// Whether `key` decodes to a curve point (rule 2 for `A`) that is not of small order (rule 3),
/// remembered per thread for keys that pass.
fn strong_key(key: &[u8; PUBLIC_KEY_BYTES]) -> bool {
    if STRONG_KEYS.with(|keys| keys.borrow().contains(key)) {
        return true;
    }
    // A key that does not decode fails rule 2 anyway; one that decodes to a small-order point
    // fails rule 3. dalek decodes exactly as ZIP-215 does (non-canonical encodings accepted).
    let strong = ed25519_dalek::VerifyingKey::from_bytes(key).is_ok_and(|point| !point.is_weak());
    if strong {
        STRONG_KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            if keys.len() >= STRONG_KEYS_REMEMBERED_MAX {
                keys.clear();
            }
            keys.insert(*key);
        });
    }
    strong
}

fn parse<'a>(item: &SignedMessage<'a>) -> Option<Parsed<'a>> {
    let key: [u8; PUBLIC_KEY_BYTES] = item.public_key.try_into().ok()?;
    let signature: [u8; SIGNATURE_BYTES] = item.signature.try_into().ok()?;
    if !strong_key(&key) {
        return None;
    }
    Some(Parsed {
        key: VerificationKeyBytes::from(key),
        signature: Signature::from_bytes(&signature),
        message: item.message,
    })
}

fn verify_parsed(parsed: &Parsed<'_>) -> bool {
    VerificationKey::try_from(parsed.key)
        .and_then(|key| key.verify(&parsed.signature, parsed.message))
        .is_ok()
}

/// Whether `signature` is a valid signature by `public_key` over `message` under the chain's rule
/// (see the module docs).
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let item = SignedMessage {
        public_key,
        message,
        signature,
    };
    parse(&item).is_some_and(|parsed| verify_parsed(&parsed))
}

/// Fewest signatures worth a batch of their own on another thread: below this a thread's start
/// costs more than the verifications it takes off the caller (a batch verifies about 50 a
/// millisecond on one core).
pub const PARALLEL_BATCH_MIN: usize = 128;
/// Most threads one [`verify_all`] uses, whatever the machine has.
pub const PARALLEL_THREADS_MAX: usize = 16;

/// [`verify`] for each of `items`, in order, checking them in batches (about twice as fast per
/// signature as one by one), one batch per core when there are enough items, and one by one only
/// the items of a batch that fails.
///
/// Each verdict is exactly [`verify`]'s for that item, whatever its neighbours: when every item
/// of a batch is valid, every term of the cofactored batch equation is zero, so the batch passes
/// for any coefficients; when one is not, the batch fails (but with probability below 2⁻¹²⁰ over
/// the coefficients) and each item is then checked alone. The coefficients are derived from the
/// items themselves (SHA-512), never from a clock or the OS, and no one can choose items to make
/// a batch with an invalid signature pass without breaking SHA-512. So how the items are split
/// into batches, and over how many threads (this machine's cores), changes no verdict.
pub fn verify_all(items: &[SignedMessage<'_>]) -> Vec<bool> {
    verify_on_threads(items, cores())
}

/// This machine's cores, asked once: `available_parallelism` reads the cgroup's CPU quota from
/// files, which cost more than the signatures of a small batch when asked per call.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`verify_all`] on at most `threads` threads (fewer when there are too few items to pay for
/// them).
fn verify_on_threads(items: &[SignedMessage<'_>], threads: usize) -> Vec<bool> {
    let threads = threads
        .min(PARALLEL_THREADS_MAX)
        .min(items.len() / PARALLEL_BATCH_MIN)
        .max(1);
    if threads == 1 {
        return verify_batch(items);
    }
    let chunk = items.len().div_ceil(threads);
    let verdicts: Vec<bool> = std::thread::scope(|scope| {
        let mut chunks = items.chunks(chunk);
        // The caller's thread takes the first chunk itself.
        let first = chunks.next().unwrap_or(&[]);
        let others: Vec<_> = chunks
            .map(|part| scope.spawn(move || verify_batch(part)))
            .collect();
        let mut verdicts = verify_batch(first);
        for other in others {
            // A panic in a verifier thread is a bug in the curve code; re-raise it here.
            verdicts.extend(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        verdicts
    });
    assert_eq!(verdicts.len(), items.len(), "one verdict per signature");
    verdicts
}

/// [`verify_all`]'s items checked in one batch on this thread.
fn verify_batch(items: &[SignedMessage<'_>]) -> Vec<bool> {
    let parsed: Vec<Option<Parsed<'_>>> = items.iter().map(parse).collect();
    let candidates: Vec<&Parsed<'_>> = parsed.iter().flatten().collect();
    let batch_passes = candidates.len() > 1 && {
        let mut verifier = batch::Verifier::new();
        for candidate in &candidates {
            verifier.queue((candidate.key, candidate.signature, candidate.message));
        }
        verifier.verify(CoefficientRng::new(&candidates)).is_ok()
    };
    parsed
        .iter()
        .map(|p| p.as_ref().is_some_and(|p| batch_passes || verify_parsed(p)))
        .collect()
}

/// The batch's coefficient source: SHA-512 in counter mode over a digest of every item (key,
/// signature, message). Deterministic, so a node's verdicts never depend on OS randomness, and
/// unpredictable before the items are fixed, which is all the batch equation needs.
struct CoefficientRng {
    seed: [u8; 64],
    counter: u64,
    block: [u8; 64],
    used: usize,
}

impl CoefficientRng {
    fn new(items: &[&Parsed<'_>]) -> Self {
        let mut transcript = Sha512::new();
        transcript.update(b"vchain ed25519 batch coefficients v1");
        transcript.update((items.len() as u64).to_be_bytes());
        for item in items {
            transcript.update(item.key.as_ref());
            transcript.update(item.signature.to_bytes());
            transcript.update(Sha512::digest(item.message));
        }
        Self {
            seed: transcript.finalize().into(),
            counter: 0,
            block: [0; 64],
            used: 64,
        }
    }
}

impl rand_core_batch::TryRng for CoefficientRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            if self.used == self.block.len() {
                let mut next = Sha512::new();
                next.update(self.seed);
                next.update(self.counter.to_be_bytes());
                self.block = next.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

impl rand_core_batch::TryCryptoRng for CoefficientRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, message: &[u8]) -> ([u8; 32], Vec<u8>, [u8; 64]) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (
            key.verifying_key().to_bytes(),
            message.to_vec(),
            key.sign(message).to_bytes(),
        )
    }

    /// `items` as messages to check, and each one's verdict checked alone.
    fn messages_and_single_verdicts(
        items: &[([u8; 32], Vec<u8>, [u8; 64])],
    ) -> (Vec<SignedMessage<'_>>, Vec<bool>) {
        let refs: Vec<SignedMessage<'_>> = items
            .iter()
            .map(|(key, message, signature)| SignedMessage {
                public_key: key,
                message,
                signature,
            })
            .collect();
        let single = refs
            .iter()
            .map(|i| verify(i.public_key, i.message, i.signature))
            .collect();
        (refs, single)
    }

    #[test]
    fn batch_verdicts_are_the_single_verdicts() {
        let mut items: Vec<([u8; 32], Vec<u8>, [u8; 64])> =
            (1..=6).map(|seed| signed(seed, &[seed; 40])).collect();
        items[2].2[0] ^= 1; // R no longer matches
        items[4].1.push(0); // another message
        let (refs, single) = messages_and_single_verdicts(&items);
        assert_eq!(single, vec![true, true, false, true, false, true]);
        assert_eq!(verify_all(&refs), single);
        assert_eq!(verify_all(&refs[..2]), vec![true, true]);
        assert!(verify_all(&[]).is_empty());
    }

    #[test]
    fn verdicts_do_not_depend_on_how_many_threads_check_them() {
        let mut items: Vec<([u8; 32], Vec<u8>, [u8; 64])> = (0..PARALLEL_BATCH_MIN * 4 + 7)
            .map(|n| signed((n % 200) as u8 + 1, &n.to_be_bytes()))
            .collect();
        // Invalid items in the first, a middle and the last batch, whatever the split.
        for n in [3, PARALLEL_BATCH_MIN * 2 + 1, items.len() - 1] {
            items[n].2[40] ^= 1;
        }
        let (refs, single) = messages_and_single_verdicts(&items);
        assert_eq!(single.iter().filter(|valid| !**valid).count(), 3);
        for threads in [1, 2, 3, 4, 64] {
            assert_eq!(
                verify_on_threads(&refs, threads),
                single,
                "{threads} threads"
            );
        }
        assert_eq!(verify_all(&refs), single);
    }

    #[test]
    fn wrong_lengths_and_small_order_keys_are_invalid() {
        let (key, message, signature) = signed(9, b"m");
        assert!(verify(&key, &message, &signature));
        assert!(!verify(&key[..31], &message, &signature));
        assert!(!verify(&key, &message, &signature[..63]));
        // The identity point: small order, it would "verify" s = r over R = [r]B for any message.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let r = SigningKey::from_bytes(&[5; 32]);
        let mut forged = [0u8; 64];
        forged[..32].copy_from_slice(r.verifying_key().as_bytes());
        forged[32..].copy_from_slice(&r.to_scalar().to_bytes());
        let zip215 = VerificationKey::try_from(identity)
            .and_then(|key| key.verify(&Signature::from_bytes(&forged), b"anything"));
        assert!(zip215.is_ok(), "ZIP-215 alone accepts it");
        assert!(!verify(&identity, b"anything", &forged));
    }

    /// Remembering strong keys changes no verdict: a remembered key's bad signature is still
    /// refused, a small-order key is refused every time and never remembered, and a thread
    /// remembers at most `STRONG_KEYS_REMEMBERED_MAX` keys.
    #[test]
    fn remembered_keys_change_no_verdict_and_stay_bounded() {
        let (key, message, signature) = signed(11, b"m");
        assert!(verify(&key, &message, &signature));
        assert!(STRONG_KEYS.with(|keys| keys.borrow().contains(&key)));
        let mut bad = signature;
        bad[40] ^= 1;
        assert!(
            !verify(&key, &message, &bad),
            "a remembered key's bad signature"
        );
        assert!(!verify(&key, b"other", &signature));
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for _ in 0..3 {
            assert!(!strong_key(&identity));
        }
        assert!(!STRONG_KEYS.with(|keys| keys.borrow().contains(&identity)));
        for n in 0..STRONG_KEYS_REMEMBERED_MAX + 10 {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
            let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            assert!(strong_key(&public));
            assert!(STRONG_KEYS.with(|keys| keys.borrow().len()) <= STRONG_KEYS_REMEMBERED_MAX);
        }
        // Forgotten or not, the first key's verdicts are what they were.
        assert!(verify(&key, &message, &signature));
        assert!(!verify(&key, &message, &bad));
    }

    #[test]
    fn coefficients_are_a_function_of_the_items() {
        use rand_core_batch::Rng;
        let (key, message, signature) = signed(3, b"m");
        let parsed = parse(&SignedMessage {
            public_key: &key,
            message: &message,
            signature: &signature,
        })
        .expect("parses");
        let mut a = CoefficientRng::new(&[&parsed]);
        let mut b = CoefficientRng::new(&[&parsed]);
        let (x, y) = (a.next_u64(), b.next_u64());
        assert_eq!(x, y);
        assert_ne!(a.next_u64(), x);
        let mut c = CoefficientRng::new(&[&parsed, &parsed]);
        assert_ne!(c.next_u64(), x);
    }
}
