//! What the builder reads: one consistent view of a node's ledger (a RocksDB snapshot on a
//! node, a [`MemoryLedger`](vchain_ledger::MemoryLedger) chain in tests) at a certified block,
//! the tip. The node implements [`BundleSource`]; this crate never does I/O itself.

use vchain_ledger::{LedgerError, StateReader};
use vchain_proto::v1::{Block, CommitCertificate, StateProof};

/// A consistent view of the chain at its tip: the state after the tip block, proofs against
/// that state's root, and the stored blocks and commit certificates up to the tip.
///
/// Every method must answer from the same view: a block committed while a bundle is being
/// built must not show in it (the builder checks what it can, but a view that moves gives a
/// bundle that does not verify).
pub trait BundleSource {
    /// Height of the tip: the block whose state [`state`](Self::state) and
    /// [`prove`](Self::prove) answer from.
    fn tip_height(&self) -> Result<u64, LedgerError>;

    /// The committed block at `height` (1..=tip), if this node holds it (a node installed from
    /// a snapshot may still be filling in history).
    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError>;

    /// The commit certificate stored for the block at `height`, if any.
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, LedgerError>;

    /// The state after the tip block.
    fn state(&self) -> &dyn StateReader;

    /// The value of `key` in the state after the tip block, with its proof against the tip's
    /// state root (as `GetStateProof` serves it).
    fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError>;
}
