//! The chain clock: wall time plus an offset that only a dev node can move. Block timestamps
//! come from here; execution never reads a clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch, shifted by a dev-only offset.
#[derive(Debug, Default)]
pub struct ChainClock {
    offset_ms: AtomicU64,
}

impl ChainClock {
    /// Current chain time.
    pub fn now_ms(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Moves the clock forward by `ms`; returns the new offset.
    pub fn advance(&self, ms: u64) -> u64 {
        self.offset_ms
            .fetch_add(ms, Ordering::SeqCst)
            .saturating_add(ms)
    }
}
