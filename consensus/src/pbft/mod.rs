//! Practical Byzantine Fault Tolerance (Castro & Liskov, OSDI 1999; "PBFT" below), being built
//! as vchain's second engine (ADR 0014). The sequence number is the block height.
//!
//! Built so far: the quorum rule ([`quorum`]) and the per-slot vote log ([`votes::VoteLog`]) that
//! decides when a block is *prepared* and *committed-local* (PBFT §4.2). The engine's message
//! handling, view change (§4.4) and checkpoints (§4.3) come next, on top of these.

pub mod messages;
pub mod replica;
pub mod votes;

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
