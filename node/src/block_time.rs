//! Block time: what chain time a leader gives its next block, bounded by the members' clocks.
//!
//! Chain time decides when vouchers are destroyed, pledges lapse and proposals expire, so one
//! node with a wrong clock must not move it. Every consensus node tells its peers its wall clock
//! once a second (a `Clock` frame on the message stream); a leader stamps its block with the
//! *lower median* of the clocks it knows (its own and each voter's fresh reading), never before
//! the previous block's time + 1 ms. With n members the lower median is a correct clock as long
//! as fewer than half are wrong, in either direction: one clock ten years ahead, leading or not,
//! moves nothing. Until it knows a majority's clocks (the first seconds after a start) a leader
//! moves time no faster than real time since it applied the head, and never past its own clock.
//! A follower flags (logs and counts) a block whose time is ahead of its own clock by more than
//! the configured skew: Raft has already committed it, and refusing it would only split the
//! consortium, but the operator learns that a clock is wrong.
//!
//! Owns: the peer clock readings and the pure rule [`block_time`]. Must not depend on: the
//! network or consensus (the node's event loop feeds it).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a peer's clock reading counts (it is refreshed every [`CLOCK_SHARE_INTERVAL`]).
pub(crate) const PEER_CLOCK_FRESH: Duration = Duration::from_secs(10);
/// How often a node tells its peers its clock.
pub(crate) const CLOCK_SHARE_INTERVAL: Duration = Duration::from_secs(1);
/// Most peers whose clocks a node keeps (the consensus membership is smaller).
pub(crate) const PEER_CLOCKS_MAX: usize = 256;

/// The rule a leader stamps its next block with. Pure, so tests pin it down.
///
/// - `head_ms`: the previous block's time.
/// - `own_ms`: this node's clock.
/// - `peer_ms`: the current time by each voter's fresh clock reading (other than this node).
/// - `voters`: how many voters the consensus has (this node included).
/// - `since_head`: real (monotonic) time since this node applied the head, if it has.
pub(crate) fn block_time(
    head_ms: u64,
    own_ms: u64,
    peer_ms: &[u64],
    voters: usize,
    since_head: Duration,
) -> u64 {
    let floor = head_ms.saturating_add(1);
    let known = peer_ms.len() + 1;
    let stamp = if known * 2 > voters.max(1) {
        let mut clocks: Vec<u64> = peer_ms.to_vec();
        clocks.push(own_ms);
        clocks.sort_unstable();
        clocks[(clocks.len() - 1) / 2]
    } else {
        let real = u64::try_from(since_head.as_millis()).unwrap_or(u64::MAX);
        own_ms.min(head_ms.saturating_add(real))
    };
    stamp.max(floor)
}

/// The latest clock reading from each peer, with when it arrived.
#[derive(Debug, Default)]
pub(crate) struct PeerClocks {
    readings: Mutex<BTreeMap<String, (u64, Instant)>>,
}

impl PeerClocks {
    /// Records `node`'s clock reading `wall_ms`, received now.
    pub(crate) fn record(&self, node: &str, wall_ms: u64) {
        let mut readings = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        if readings.len() >= PEER_CLOCKS_MAX && !readings.contains_key(node) {
            // Membership is far smaller; drop the stalest rather than grow.
            if let Some(stalest) = readings
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| id.clone())
            {
                readings.remove(&stalest);
            }
        }
        readings.insert(node.to_owned(), (wall_ms, Instant::now()));
    }

    /// The current time by each of `voters`' fresh readings (`me` left out): each reading plus
    /// the real time since it arrived.
    pub(crate) fn now_by(&self, voters: &[String], me: &str) -> Vec<u64> {
        let readings = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        voters
            .iter()
            .filter(|v| v.as_str() != me)
            .filter_map(|v| readings.get(v))
            .filter(|(_, at)| at.elapsed() <= PEER_CLOCK_FRESH)
            .map(|(wall_ms, at)| {
                wall_ms.saturating_add(u64::try_from(at.elapsed().as_millis()).unwrap_or(0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const TEN_YEARS_MS: u64 = 10 * 365 * 86_400_000;

    #[test]
    fn one_clock_far_ahead_moves_nothing() {
        // It leads: its own clock is the outlier.
        let t = block_time(
            NOW - 1_000,
            NOW + TEN_YEARS_MS,
            &[NOW, NOW + 5, NOW - 5],
            4,
            Duration::ZERO,
        );
        assert!(t.abs_diff(NOW) <= 5, "{t}");
        // It follows: a peer's clock is the outlier.
        let t = block_time(
            NOW - 1_000,
            NOW,
            &[NOW + TEN_YEARS_MS, NOW + 5, NOW - 5],
            4,
            Duration::ZERO,
        );
        assert!(t.abs_diff(NOW) <= 5, "{t}");
    }

    #[test]
    fn one_clock_far_behind_moves_nothing_either() {
        let t = block_time(
            NOW - 1_000,
            NOW - TEN_YEARS_MS,
            &[NOW, NOW + 5, NOW - 5],
            4,
            Duration::ZERO,
        );
        assert!(t.abs_diff(NOW) <= 5, "{t}");
    }

    #[test]
    fn time_never_goes_back() {
        let t = block_time(NOW + 60_000, NOW, &[NOW, NOW], 3, Duration::ZERO);
        assert_eq!(t, NOW + 60_001);
    }

    #[test]
    fn without_a_majority_of_clocks_time_moves_no_faster_than_real_time() {
        // Only its own clock known of four voters, ten years ahead: real time since the head.
        let t = block_time(NOW, NOW + TEN_YEARS_MS, &[], 4, Duration::from_secs(3));
        assert_eq!(t, NOW + 3_000);
        // And never past its own clock.
        let t = block_time(NOW, NOW + 1_000, &[], 4, Duration::from_secs(3));
        assert_eq!(t, NOW + 1_000);
    }

    #[test]
    fn a_single_node_chain_keeps_its_own_clock() {
        assert_eq!(block_time(NOW - 1, NOW, &[], 1, Duration::ZERO), NOW);
    }

    #[test]
    fn stale_and_foreign_readings_do_not_count() {
        let clocks = PeerClocks::default();
        clocks.record("b", NOW);
        clocks.record("stranger", NOW);
        let voters = vec!["a".to_owned(), "b".to_owned()];
        let now = clocks.now_by(&voters, "a");
        assert_eq!(now.len(), 1, "only voter b, not a stranger nor itself");
        assert!(now[0] >= NOW);
    }
}
