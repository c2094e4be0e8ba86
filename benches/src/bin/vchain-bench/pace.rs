//! Fixed-rate pacing (`--rate N`): one schedule for the whole load, the k-th send due at
//! `start + k / N`, whoever sends it.
//!
//! Open loop as far as the bench can be: a send's due time does not depend on when earlier
//! sends completed, so a slow chain does not slow the offered load down. It is "ish" because
//! the senders are the accounts' in-flight slots: when every slot is busy waiting for commits,
//! the next due send starts late. The pacer counts those late starts and the report compares
//! the rate actually sent with the one offered, so an offered rate the setup could not hold is
//! reported, never silently turned into a lower one.
//!
//! Owns: the schedule and its lateness count. Must not depend on: what is sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How late a send may start before it counts as late: a block interval's worth of drift is
/// the scheduler's, more is the load's.
pub(crate) const LATE_AFTER: Duration = Duration::from_millis(100);

/// The schedule of `rate` sends per second from `start`.
#[derive(Debug)]
pub(crate) struct Pacer {
    start: Instant,
    rate: u64,
    /// The next send's number in the schedule.
    next: AtomicU64,
    /// Sends that started more than [`LATE_AFTER`] behind their due time.
    late: AtomicU64,
}

/// Offset of the `ticket`-th send from the schedule's start at `rate` per second: evenly
/// spread, exact in nanoseconds (no drift accumulates over a long run).
pub(crate) fn due_offset(ticket: u64, rate: u64) -> Duration {
    assert!(rate > 0, "a schedule needs a positive rate");
    let nanos = u128::from(ticket) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Pacer {
    /// A schedule of `rate` (> 0) sends per second starting at `start`.
    pub(crate) fn new(start: Instant, rate: u64) -> Self {
        assert!(rate > 0, "a schedule needs a positive rate");
        Self {
            start,
            rate,
            next: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    /// Takes the next send of the schedule and its due time.
    pub(crate) fn take(&self) -> Instant {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        self.start + due_offset(ticket, self.rate)
    }

    /// Notes that a send due at `due` starts now; whether it is late.
    pub(crate) fn started(&self, due: Instant) -> bool {
        let late = Instant::now().saturating_duration_since(due) > LATE_AFTER;
        if late {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        late
    }

    /// Sends that started late so far.
    pub(crate) fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    /// The offered rate.
    pub(crate) fn rate(&self) -> u64 {
        self.rate
    }
}

/// Whether `achieved` sends per second held the `offered` rate (within 5%: the schedule's
/// last send and the run's end do not line up exactly).
pub(crate) fn held(offered: u64, achieved: f64) -> bool {
    achieved >= offered as f64 * 0.95
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_spread_evenly_without_drift() {
        assert_eq!(due_offset(0, 1_000), Duration::ZERO);
        assert_eq!(due_offset(1, 1_000), Duration::from_millis(1));
        assert_eq!(due_offset(3, 4), Duration::from_millis(750));
        // A third of a second is not representable in whole nanoseconds; the 3,000,000th send
        // at 3 per second is still exactly a million seconds in.
        assert_eq!(due_offset(1, 3), Duration::from_nanos(333_333_333));
        assert_eq!(due_offset(3_000_000, 3), Duration::from_secs(1_000_000));
        // One second of a schedule holds exactly `rate` sends.
        let rate = 7_919;
        let in_first_second = (0..20_000)
            .take_while(|k| due_offset(*k, rate) < Duration::from_secs(1))
            .count();
        assert_eq!(in_first_second, rate as usize);
    }

    #[test]
    fn tickets_follow_the_schedule_and_late_starts_are_counted() {
        let start = Instant::now();
        let pacer = Pacer::new(start, 10);
        let dues: Vec<Instant> = (0..3).map(|_| pacer.take()).collect();
        assert_eq!(dues[0], start);
        assert_eq!(dues[2] - dues[0], Duration::from_millis(200));
        // Due in the future: on time.
        assert!(!pacer.started(Instant::now() + Duration::from_secs(1)));
        // Due long ago: late.
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("a second ago");
        assert!(pacer.started(long_ago));
        assert_eq!(pacer.late(), 1);
        assert_eq!(pacer.rate(), 10);
    }

    #[test]
    fn an_offered_rate_is_held_within_five_percent() {
        assert!(held(1_000, 990.0));
        assert!(held(1_000, 950.0));
        assert!(!held(1_000, 900.0));
    }
}
