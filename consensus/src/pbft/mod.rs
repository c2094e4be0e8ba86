//! Practical Byzantine Fault Tolerance (Castro & Liskov, OSDI 1999; "PBFT" below), vchain's
//! engine for consortia whose members need not trust each other (ADR 0014). The sequence number
//! is the block height.
//!
//! - [`votes`]: the per-slot vote log that decides *prepared* and *committed-local* (§4.2);
//! - [`messages`]: the wire messages and what each replica signs;
//! - [`certificates`]: commit and prepared certificates, checked signature by signature;
//! - [`view_change`]: view-change and new-view (§4.4), and which block a new view re-proposes;
//! - [`durable`]: what a replica keeps on disk so it never signs twice for one slot;
//! - [`validators`]: the validator sets by height (a governance block changes the set from
//!   the height after it);
//! - [`replica`]: one replica as a state machine without I/O;
//! - [`engine`]: that replica behind the node's [`crate::Engine`] interface.
//!
//! Checkpoints (§4.3): the block header carries the state root its execution gives, and a
//! replica validates it before voting, so every commit certificate certifies the state after
//! its block: each certified height is a stable checkpoint, and the watermarks follow the last
//! commit ([`votes::WINDOW`] above it).

pub mod certificates;
pub mod durable;
pub mod engine;
pub mod messages;
pub mod replica;
pub mod validators;
pub mod view_change;
pub mod votes;

pub use engine::PbftEngine;
pub use replica::Timing;

/// How many faulty replicas `n` tolerate: the largest `f` with `3f + 1 <= n` (PBFT §4).
pub fn faults_tolerated(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// Matching votes a decision of `n` replicas needs: the least `q` with `2q - n >= f + 1`, so any
/// two quorums share an honest replica (PBFT §4.5.1's intersection argument). `2f + 1` when
/// `n = 3f + 1`. The same rule as `vchain_contracts::commit_certificate::quorum`, which checks
/// the certificates this engine's commits make (a node test keeps the two equal).
pub fn quorum(n: usize) -> usize {
    (n + faults_tolerated(n) + 2) / 2
}

/// The primary of `view` among `replicas` (sorted ids): `view mod n` (PBFT §4.1).
///
/// # Panics
/// If `replicas` is empty.
pub fn primary(replicas: &[crate::NodeId], view: u64) -> &crate::NodeId {
    assert!(
        !replicas.is_empty(),
        "a view has a primary only among replicas"
    );
    debug_assert!(replicas.windows(2).all(|w| w[0] < w[1]), "replicas sorted");
    let index = (view % replicas.len() as u64) as usize;
    &replicas[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_intersect_in_an_honest_replica_and_form_without_the_faulty() {
        for n in 1..=64 {
            let (f, q) = (faults_tolerated(n), quorum(n));
            assert!(3 * f < n && q <= n - f && 2 * q > n + f, "n = {n}");
        }
        assert_eq!((quorum(4), quorum(7), quorum(5)), (3, 5, 4));
    }

    #[test]
    fn the_primary_rotates_with_the_view() {
        let replicas: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(primary(&replicas, 0), "a");
        assert_eq!(primary(&replicas, 5), "b");
    }
}
