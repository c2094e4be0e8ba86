//! What the load measured: one sample per transaction or read, and the figures made of them
//! (counts, latency percentiles, throughput per second of the run).
//!
//! A sample is counted in the figures when it was *sent* inside the measured window (after the
//! warm-up, before the deadline); one sent during the warm-up is not, even if it completes
//! later. Throughput per second is by completion time, so the chart shows when the chain
//! answered. Owns: the samples and the arithmetic. Must not depend on: the network, the clock
//! (times come in as milliseconds since the load started), the report's formats.

use std::sync::Mutex;

/// Most samples kept; past it the load still runs but later samples are only counted as
/// dropped (`--max-txs` keeps a run well below it).
pub(crate) const SAMPLES_MAX: usize = 20_000_000;
/// Seconds of the run listed one by one in figures (a longer run is cut there).
pub(crate) const SECONDS_MAX: usize = 3_600;

/// How one transaction (or read) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Committed with result OK (a read: answered).
    Committed,
    /// Committed, rejected by a rule.
    Rejected,
    /// Refused, out of attempts or time (a read: an error).
    Failed,
}

/// One transaction or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// When it was sent, milliseconds since the load started.
    pub(crate) sent_ms: u64,
    /// Submit to commit (a read: to its answer), microseconds.
    pub(crate) latency_us: u64,
    /// How it ended.
    pub(crate) outcome: Outcome,
}

impl Sample {
    /// When it completed, milliseconds since the load started.
    pub(crate) fn completed_ms(&self) -> u64 {
        self.sent_ms + self.latency_us / 1_000
    }
}

/// Collects samples from every load task.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    samples: Mutex<Vec<Sample>>,
}

impl Recorder {
    /// Keeps `sample` (within [`SAMPLES_MAX`]).
    pub(crate) fn record(&self, sample: Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() < SAMPLES_MAX {
            samples.push(sample);
        }
    }

    /// Every sample kept so far.
    pub(crate) fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One second of the run, by completion time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Second {
    /// Seconds since the load started (the warm-up's seconds come first).
    pub(crate) second: u64,
    /// Completed OK in this second.
    pub(crate) committed: u64,
    /// Failed or rejected in this second.
    pub(crate) not_committed: u64,
    /// 99th percentile latency of what committed in this second, milliseconds (0: none).
    pub(crate) p99_ms: f64,
    /// Whether the second lies in the warm-up.
    pub(crate) warmup: bool,
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// Sent in the measured window.
    pub(crate) sent: u64,
    /// Of those: committed OK (reads: answered).
    pub(crate) committed: u64,
    /// Of those: committed with a rule's rejection.
    pub(crate) rejected: u64,
    /// Of those: refused, out of attempts or time (reads: errors).
    pub(crate) failed: u64,
    /// Seconds the figures are divided by: from the warm-up's end to the later of the deadline
    /// and the last measured completion (what was sent before the deadline is waited for).
    pub(crate) measured_secs: f64,
    /// Committed per second over `measured_secs`.
    pub(crate) committed_per_s: f64,
    /// Latency percentiles of the committed ones, milliseconds.
    pub(crate) p50_ms: f64,
    /// 90th percentile.
    pub(crate) p90_ms: f64,
    /// 95th percentile.
    pub(crate) p95_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// Slowest.
    pub(crate) max_ms: f64,
    /// Every second of the run from the load's start, warm-up included (at most
    /// [`SECONDS_MAX`]).
    pub(crate) seconds: Vec<Second>,
}

/// The `p` quantile (0..=1, nearest rank) of `sorted` microseconds, in milliseconds; 0 for none.
pub(crate) fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted[rank] as f64 / 1_000.0
}

/// The figures of `samples` for a window from `warmup_ms` to `deadline_ms` (milliseconds since
/// the load started).
pub(crate) fn summarize(samples: &[Sample], warmup_ms: u64, deadline_ms: u64) -> Summary {
    let measured: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.sent_ms >= warmup_ms && s.sent_ms < deadline_ms)
        .collect();
    let count = |outcome| measured.iter().filter(|s| s.outcome == outcome).count() as u64;
    let mut latencies: Vec<u64> = measured
        .iter()
        .filter(|s| s.outcome == Outcome::Committed)
        .map(|s| s.latency_us)
        .collect();
    latencies.sort_unstable();
    let end_ms = measured
        .iter()
        .map(|s| s.completed_ms())
        .max()
        .unwrap_or(deadline_ms)
        .max(deadline_ms);
    let measured_secs = end_ms.saturating_sub(warmup_ms).max(1) as f64 / 1_000.0;
    let committed = count(Outcome::Committed);
    Summary {
        sent: measured.len() as u64,
        committed,
        rejected: count(Outcome::Rejected),
        failed: count(Outcome::Failed),
        measured_secs,
        committed_per_s: committed as f64 / measured_secs,
        p50_ms: percentile_ms(&latencies, 0.50),
        p90_ms: percentile_ms(&latencies, 0.90),
        p95_ms: percentile_ms(&latencies, 0.95),
        p99_ms: percentile_ms(&latencies, 0.99),
        max_ms: percentile_ms(&latencies, 1.0),
        seconds: per_second(samples, warmup_ms),
    }
}

/// Every second from the load's start to the last completion: what completed in it.
fn per_second(samples: &[Sample], warmup_ms: u64) -> Vec<Second> {
    let last = samples.iter().map(|s| s.completed_ms() / 1_000).max();
    let Some(last) = last else {
        return Vec::new();
    };
    let seconds = (last as usize + 1).min(SECONDS_MAX);
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); seconds];
    let mut not_committed = vec![0u64; seconds];
    for sample in samples {
        let second = (sample.completed_ms() / 1_000) as usize;
        if second >= seconds {
            continue;
        }
        match sample.outcome {
            Outcome::Committed => latencies[second].push(sample.latency_us),
            Outcome::Rejected | Outcome::Failed => not_committed[second] += 1,
        }
    }
    latencies
        .into_iter()
        .zip(not_committed)
        .enumerate()
        .map(|(second, (mut latencies, not_committed))| {
            latencies.sort_unstable();
            Second {
                second: second as u64,
                committed: latencies.len() as u64,
                not_committed,
                p99_ms: percentile_ms(&latencies, 0.99),
                // A second that ends after the warm-up's end holds measured completions.
                warmup: (second as u64 + 1) * 1_000 <= warmup_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: u64, latency_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            sent_ms,
            latency_us: latency_ms * 1_000,
            outcome,
        }
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1_000).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 51.0);
        assert_eq!(percentile_ms(&sorted, 0.90), 90.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&sorted, 1.0), 100.0);
        assert_eq!(percentile_ms(&sorted, 0.0), 1.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
        assert_eq!(percentile_ms(&[2_500], 0.5), 2.5);
    }

    #[test]
    fn the_warm_up_is_left_out_of_the_figures_but_charted() {
        let samples = [
            // Warm-up: sent before 1 s, one completing after it.
            sample(100, 50, Outcome::Committed),
            sample(900, 300, Outcome::Committed),
            // Measured.
            sample(1_000, 100, Outcome::Committed),
            sample(1_500, 200, Outcome::Committed),
            sample(2_100, 400, Outcome::Rejected),
            sample(2_900, 600, Outcome::Committed),
            sample(2_950, 10, Outcome::Failed),
            // Sent after the deadline (3 s): not measured.
            sample(3_000, 10, Outcome::Committed),
        ];
        let summary = summarize(&samples, 1_000, 3_000);
        assert_eq!(summary.sent, 5);
        assert_eq!(
            (summary.committed, summary.rejected, summary.failed),
            (3, 1, 1)
        );
        // The last measured completion (3.5 s) is after the deadline: 2.5 s measured.
        assert_eq!(summary.measured_secs, 2.5);
        assert!((summary.committed_per_s - 1.2).abs() < 1e-9);
        assert_eq!(summary.p50_ms, 200.0);
        assert_eq!(summary.max_ms, 600.0);
        let committed: Vec<u64> = summary.seconds.iter().map(|s| s.committed).collect();
        assert_eq!(committed, vec![1, 3, 0, 2]);
        let warmup: Vec<bool> = summary.seconds.iter().map(|s| s.warmup).collect();
        assert_eq!(warmup, vec![true, false, false, false]);
        assert_eq!(summary.seconds[2].not_committed, 2);
        assert_eq!(summary.seconds[3].not_committed, 0);
        assert_eq!(summary.seconds[1].p99_ms, 300.0);
    }

    #[test]
    fn a_run_with_nothing_measured_has_zero_figures() {
        let summary = summarize(&[], 5_000, 10_000);
        assert_eq!(summary.committed, 0);
        assert_eq!(summary.measured_secs, 5.0);
        assert_eq!(summary.p99_ms, 0.0);
        assert!(summary.seconds.is_empty());
    }
}
