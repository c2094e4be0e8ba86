//! This machine's ceiling: what its cores and disk do for the primitives every vchain
//! transaction pays for, measured in the same run as a benchmark so that a figure can be given as
//! a share of it and compared across machines (issue 16, "Method").
//!
//! - ed25519 verifications per second on one core, one at a time and in batches, by the chain's
//!   own rule (`vchain_contracts::signature`: ZIP-215, cofactored, the one every node applies);
//! - SHA-256 throughput on one core: bulk (MiB/s) and 64-byte inputs (the state tree's node
//!   hashes) per second;
//! - RocksDB synced write batches per second (a small batch: the cost of making one commit
//!   durable on this disk).
//!
//! Every loop is bounded in count and in time.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use vchain_contracts::signature::{self, SignedMessage};

/// Signatures per batch in the batch measurement (a block's worth).
pub const BATCH_SIGNATURES: usize = 1_000;
/// Longest any one measurement runs in [`Ceiling::measure`].
pub const MEASUREMENT_TIME_MAX: Duration = Duration::from_secs(3);

/// The machine's ceiling for vchain's primitives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ceiling {
    /// ed25519 signatures verified per second on one core, one at a time.
    pub verify_single_per_s: f64,
    /// ed25519 signatures verified per second on one core, in batches of
    /// [`BATCH_SIGNATURES`].
    pub verify_batch_per_s: f64,
    /// SHA-256 of large inputs, MiB per second on one core.
    pub sha256_mib_per_s: f64,
    /// SHA-256 of 64-byte inputs per second on one core.
    pub sha256_small_per_s: f64,
    /// RocksDB write batches (one 128-byte value each) made durable per second.
    pub rocksdb_synced_batches_per_s: f64,
    /// Cores the process may use.
    pub cores: usize,
}

/// Runs `step` (which does `per_step` operations) at least once and then until `steps_max`
/// steps or `time_max`; operations per second.
fn rate(per_step: usize, steps_max: usize, time_max: Duration, mut step: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    let mut steps = 0;
    while steps == 0 || (steps < steps_max && started.elapsed() < time_max) {
        step(steps);
        steps += 1;
    }
    (steps * per_step) as f64 / started.elapsed().as_secs_f64()
}

impl Ceiling {
    /// Measures this machine, using `scratch` (a directory on the disk under test) for the
    /// RocksDB measurement. Takes about fifteen seconds.
    pub fn measure(scratch: &Path) -> anyhow::Result<Ceiling> {
        Self::measure_for(scratch, MEASUREMENT_TIME_MAX)
    }

    /// [`Ceiling::measure`] with each of its five measurements bounded by `time_max`.
    pub fn measure_for(scratch: &Path, time_max: Duration) -> anyhow::Result<Ceiling> {
        let signed: Vec<([u8; 32], Vec<u8>, [u8; 64])> = (0..BATCH_SIGNATURES as u32)
            .map(|i| {
                let mut seed = [0x11u8; 32];
                seed[..4].copy_from_slice(&i.to_le_bytes());
                let key = SigningKey::from_bytes(&seed);
                // About a transaction's size.
                let message = [i.to_le_bytes().as_slice(), &[0x42; 200]].concat();
                let signature = key.sign(&message).to_bytes();
                (key.verifying_key().to_bytes(), message, signature)
            })
            .collect();
        let verify_single_per_s = rate(1, 1_000_000, time_max, |i| {
            let (key, message, signature) = &signed[i % signed.len()];
            assert!(signature::verify(key, message, signature));
        });
        let batch: Vec<SignedMessage<'_>> = signed
            .iter()
            .map(|(key, message, signature)| SignedMessage {
                public_key: key,
                message,
                signature,
            })
            .collect();
        let verify_batch_per_s = rate(batch.len(), 10_000, time_max, |_| {
            assert!(signature::verify_all(&batch).iter().all(|ok| *ok));
        });

        let bulk = vec![0x5au8; 1 << 20];
        let sha256_mib_per_s = rate(1, 100_000, time_max, |_| {
            std::hint::black_box(Sha256::digest(&bulk));
        });
        let sha256_small_per_s = rate(1_000, 1_000_000, time_max, |i| {
            let mut node = [0u8; 64];
            node[..8].copy_from_slice(&(i as u64).to_le_bytes());
            for _ in 0..1_000 {
                let digest: [u8; 32] = Sha256::digest(node).into();
                node[..32].copy_from_slice(&digest);
            }
            std::hint::black_box(node);
        });

        let db = rocksdb::DB::open_default(scratch.join("ceiling-rocksdb"))?;
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        let value = [0x33u8; 128];
        let mut failed = None;
        let rocksdb_synced_batches_per_s = rate(1, 100_000, time_max, |i| {
            let mut batch = rocksdb::WriteBatch::default();
            batch.put((i as u64).to_be_bytes(), value);
            if let Err(error) = db.write_opt(batch, &options) {
                failed = Some(error);
            }
        });
        if let Some(error) = failed {
            return Err(error.into());
        }
        Ok(Ceiling {
            verify_single_per_s,
            verify_batch_per_s,
            sha256_mib_per_s,
            sha256_small_per_s,
            rocksdb_synced_batches_per_s,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
        })
    }

    /// `tx_per_s` as a share of the most transactions per second this machine could verify
    /// signatures for (one signature each, batched, on every core): how far a figure is from
    /// the first wall every transaction meets.
    pub fn share_of_verification(&self, tx_per_s: f64) -> f64 {
        tx_per_s / (self.verify_batch_per_s * self.cores as f64)
    }
}

impl fmt::Display for Ceiling {
    /// A Markdown table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| machine ceiling ({} cores) | per second |", self.cores)?;
        writeln!(f, "|---|---:|")?;
        writeln!(
            f,
            "| ed25519 verify, one at a time, one core | {:.0} |",
            self.verify_single_per_s
        )?;
        writeln!(
            f,
            "| ed25519 verify, batches of {BATCH_SIGNATURES}, one core | {:.0} |",
            self.verify_batch_per_s
        )?;
        writeln!(
            f,
            "| SHA-256, 1 MiB inputs, one core | {:.0} MiB |",
            self.sha256_mib_per_s
        )?;
        writeln!(
            f,
            "| SHA-256, 64-byte inputs, one core | {:.0} |",
            self.sha256_small_per_s
        )?;
        writeln!(
            f,
            "| RocksDB synced write batches | {:.0} |",
            self.rocksdb_synced_batches_per_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_measurement_gives_every_rate_and_a_table() {
        let scratch = tempfile::tempdir().expect("tempdir");
        let ceiling =
            Ceiling::measure_for(scratch.path(), Duration::from_millis(50)).expect("measured");
        for rate in [
            ceiling.verify_single_per_s,
            ceiling.verify_batch_per_s,
            ceiling.sha256_mib_per_s,
            ceiling.sha256_small_per_s,
            ceiling.rocksdb_synced_batches_per_s,
        ] {
            assert!(rate.is_finite() && rate > 0.0, "{ceiling:?}");
        }
        assert!(ceiling.cores >= 1);
        let table = ceiling.to_string();
        assert_eq!(table.lines().count(), 7, "{table}");
        let full = ceiling.verify_batch_per_s * ceiling.cores as f64;
        assert!((ceiling.share_of_verification(full) - 1.0).abs() < 1e-9);
    }
}
