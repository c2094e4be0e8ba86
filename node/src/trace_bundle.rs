//! Serving an auditor's trace bundle (issue 14, docs/verification.md): `vchain_bundle::build`
//! over one consistent view of this node's ledger. The bundle proves itself, so nothing here
//! has to be trusted: a node that serves a wrong one only gets a bundle that fails
//! `vchain verify`.
//!
//! The view: the state and proofs come from one RocksDB snapshot taken at the head (the tip);
//! blocks and commit certificates, which never change once stored, are read from the live
//! ledger. On raft and solo chains a block's certificate follows it by a moment, so the export
//! waits for the head's, and for any other the bundle needs (at most [`TIP_CERTIFICATE_WAIT`]
//! in all).

use std::time::{Duration, Instant};

use prost::Message;
use vchain_bundle::BundleSource;
use vchain_ledger::{LedgerError, LedgerSnapshot, RocksLedger, StateReader};
use vchain_proto::v1::{Block, CommitCertificate, StateProof, TraceBundle};

/// Longest wait for the tip block's certificate.
pub(crate) const TIP_CERTIFICATE_WAIT: Duration = Duration::from_secs(10);
/// Bytes of one streamed chunk of a bundle.
pub(crate) const BUNDLE_CHUNK_BYTES: usize = 1 << 20;

/// A bundle source over a snapshot of `ledger`.
struct SnapshotSource<'a> {
    ledger: &'a RocksLedger,
    snapshot: LedgerSnapshot<'a>,
    tip: u64,
}

impl BundleSource for SnapshotSource<'_> {
    fn tip_height(&self) -> Result<u64, LedgerError> {
        Ok(self.tip)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        if height > self.tip {
            return Ok(None);
        }
        self.ledger.block(height)
    }

    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, LedgerError> {
        if height > self.tip {
            return Ok(None);
        }
        // A stored certificate was checked before it was stored; an undecodable one is
        // reported as absent (the bundle would not verify with it anyway).
        Ok(self
            .ledger
            .certificate(height)?
            .and_then(|bytes| CommitCertificate::decode(bytes.as_slice()).ok()))
    }

    fn state(&self) -> &dyn StateReader {
        &self.snapshot
    }

    fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        self.snapshot.prove(key)
    }
}

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// The builder refused (unknown voucher, too large, missing history ...).
    #[error("{0}")]
    Build(#[from] vchain_bundle::BuildError),
    /// Reading the ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The tip block's certificate did not arrive in time.
    #[error("the head block {0} is not certified yet (its members' signatures have not arrived within {TIP_CERTIFICATE_WAIT:?}); retry")]
    TipUncertified(u64),
}

/// Builds the bundle of `voucher_id` at this node's head, waiting (bounded) for the head's
/// certificate first. Blocking: run it off the async threads.
pub(crate) fn export(ledger: &RocksLedger, voucher_id: &str) -> Result<TraceBundle, ExportError> {
    let snapshot = ledger.snapshot();
    let tip = snapshot.head()?.map_or(0, |head| head.height);
    let deadline = Instant::now() + TIP_CERTIFICATE_WAIT;
    while ledger.certificate(tip)?.is_none() {
        if Instant::now() >= deadline {
            return Err(ExportError::TipUncertified(tip));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let source = SnapshotSource {
        ledger,
        snapshot,
        tip,
    };
    // A block this node applied a moment ago (catching up after a restart) may still be
    // collecting its certificate: wait for it within the same bound, then say which is missing.
    loop {
        match vchain_bundle::build(&source, voucher_id) {
            Err(vchain_bundle::BuildError::Uncertified(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            outcome => return Ok(outcome?),
        }
    }
}
