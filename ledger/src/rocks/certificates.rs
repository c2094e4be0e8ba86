//! Commit certificates stored beside their blocks: one encoded `CommitCertificate` per height, in
//! a column family of its own, so that a block's bytes (and so its hash) never change when its
//! certificate arrives after it (Raft chains certify after applying; a node catching up may get
//! a block and its certificate apart).
//!
//! The ledger checks that a certificate names the block it is stored with: its height, and the
//! hash of the block stored at that height. Whether its signatures make a quorum of the height's
//! validators is a contract rule (`vchain_contracts::commit_certificate::verify`): the caller
//! checks it before storing, as it checks a block before committing it.

use prost::Message;
use rocksdb::WriteBatch;
use vchain_proto::v1::CommitCertificate;

use super::RocksLedger;
use crate::{Hash, LedgerError};

/// Column family of certificates: height (u64 big-endian) -> encoded `CommitCertificate`.
pub(super) const CF_CERTIFICATES: &str = "certificates";

/// Largest encoded certificate stored. A certificate of 64 validators (the most a set may have)
/// with 64-byte node ids is under 9 KiB; anything far larger is not a certificate.
pub const CERTIFICATE_BYTES_MAX: usize = 64 * 1024;

impl RocksLedger {
    /// The encoded commit certificate of the block at `height`, if one is stored.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        self.view().get(CF_CERTIFICATES, &height.to_be_bytes())
    }

    /// Attaches `certificate` (an encoded `CommitCertificate`, already verified by the caller)
    /// to the block stored at `height`, replacing any certificate stored for it, in one synced
    /// write. For blocks committed without one: a Raft chain certifies after applying, and a node
    /// catching up or filling in history may get a certificate after its block. Refused, with
    /// nothing written, unless a block is stored at `height` and the certificate names that
    /// height and that block's hash.
    pub fn store_certificate(&self, height: u64, certificate: &[u8]) -> Result<(), LedgerError> {
        // The writer lock orders this against a commit or a snapshot install at the same time.
        let _writer = self.lock_writer_settled()?;
        let view = self.view();
        if view.block_bytes(height)?.is_none() {
            return Err(LedgerError::BlockNotStored { height });
        }
        let named = decode_certificate(certificate, height)?;
        let stored_at = <[u8; 32]>::try_from(named.block_hash.as_slice())
            .ok()
            .map(|hash| view.height_of(&hash))
            .transpose()?
            .flatten();
        if named.height != height || stored_at != Some(height) {
            return Err(LedgerError::CertificateMismatch {
                height,
                certificate_height: named.height,
                certificate_hash: named.block_hash,
            });
        }
        let mut batch = WriteBatch::default();
        self.put_certificate(&mut batch, height, certificate)?;
        self.write_synced(batch, "storing a commit certificate")?;
        debug_assert_eq!(
            self.certificate(height)?.as_deref(),
            Some(certificate),
            "certificate read back differs from the one written"
        );
        tracing::debug!(height, "commit certificate stored");
        Ok(())
    }

    /// Checks that `certificate` names block `block_hash` at `height` (for a block about to be
    /// committed with it), writing nothing.
    pub(super) fn check_certificate(
        certificate: &[u8],
        height: u64,
        block_hash: &Hash,
    ) -> Result<(), LedgerError> {
        let named = decode_certificate(certificate, height)?;
        if named.height != height || named.block_hash.as_slice() != block_hash.as_slice() {
            return Err(LedgerError::CertificateMismatch {
                height,
                certificate_height: named.height,
                certificate_hash: named.block_hash,
            });
        }
        Ok(())
    }

    /// Adds the certificate of block `height` to `batch`.
    pub(super) fn put_certificate(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        certificate: &[u8],
    ) -> Result<(), LedgerError> {
        batch.put_cf(self.cf(CF_CERTIFICATES)?, height.to_be_bytes(), certificate);
        Ok(())
    }
}

/// The certificate in `bytes`, offered for `height`, within [`CERTIFICATE_BYTES_MAX`].
fn decode_certificate(bytes: &[u8], height: u64) -> Result<CommitCertificate, LedgerError> {
    if bytes.len() > CERTIFICATE_BYTES_MAX {
        return Err(LedgerError::CertificateTooLarge {
            height,
            bytes: bytes.len(),
            max: CERTIFICATE_BYTES_MAX,
        });
    }
    CommitCertificate::decode(bytes).map_err(|source| LedgerError::Decode {
        what: format!("commit certificate offered for height {height}"),
        source,
    })
}
