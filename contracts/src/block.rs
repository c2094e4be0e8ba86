//! Block assembly: Merkle roots over transactions and results, headers and block hashes.
//!
//! The transaction root and result root use the RFC 6962 (Certificate Transparency) Merkle tree:
//! leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), the empty tree is
//! SHA-256 of nothing, and a list splits at the largest power of two below its length.

use prost::Message;
use sha2::{Digest, Sha256};
use vchain_proto::v1::{Block, BlockHeader, SignedTransaction, TxResult};

use crate::execute::BlockOutcome;
use crate::tx::{tx_hash, Hash};

/// RFC 6962 Merkle tree hash of `leaves` (each leaf's data, e.g. a transaction hash).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => {
            let mut hasher = Sha256::new();
            hasher.update([0u8]);
            hasher.update(leaves[0]);
            hasher.finalize().into()
        }
        n => {
            let split = n.next_power_of_two() / 2;
            let mut hasher = Sha256::new();
            hasher.update([1u8]);
            hasher.update(merkle_root(&leaves[..split]));
            hasher.update(merkle_root(&leaves[split..]));
            hasher.finalize().into()
        }
    }
}

/// The hash of a block: SHA-256 over its encoded header.
pub fn block_hash(header: &BlockHeader) -> Hash {
    Sha256::digest(header.encode_to_vec()).into()
}

/// The hash committed for a transaction result: SHA-256 over the encoded result.
pub fn result_hash(result: &TxResult) -> Hash {
    Sha256::digest(result.encode_to_vec()).into()
}

/// What the proposer fixes for a block besides its transactions.
#[derive(Debug, Clone)]
pub struct BlockDraft {
    /// Chain id.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// Hash of the previous block.
    pub prev_hash: Hash,
    /// Chain time.
    pub timestamp_ms: u64,
    /// Proposer node id.
    pub proposer: String,
}

/// Assembles the block for `draft`, its transactions, their execution `outcome` and the state
/// root after it. Returns the block and its hash.
pub fn seal(
    draft: BlockDraft,
    transactions: Vec<SignedTransaction>,
    outcome: &BlockOutcome,
    state_root: Hash,
) -> (Block, Hash) {
    assert_eq!(
        transactions.len(),
        outcome.results.len(),
        "one result per transaction"
    );
    let tx_hashes: Vec<Hash> = transactions.iter().map(|tx| tx_hash(&tx.body)).collect();
    let result_hashes: Vec<Hash> = outcome.results.iter().map(result_hash).collect();
    let header = BlockHeader {
        chain_id: draft.chain_id,
        height: draft.height,
        prev_hash: draft.prev_hash.to_vec(),
        timestamp_ms: draft.timestamp_ms,
        proposer: draft.proposer,
        tx_root: merkle_root(&tx_hashes).to_vec(),
        result_root: merkle_root(&result_hashes).to_vec(),
        state_root: state_root.to_vec(),
        tx_count: u32::try_from(transactions.len()).unwrap_or(u32::MAX),
    };
    let hash = block_hash(&header);
    let block = Block {
        header: Some(header),
        transactions,
        results: outcome.results.clone(),
        system_events: outcome.system_events.clone(),
    };
    (block, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(data: &[u8]) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update([0u8]);
        hasher.update(data);
        hasher.finalize().into()
    }

    fn node(left: Hash, right: Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update([1u8]);
        hasher.update(left);
        hasher.update(right);
        hasher.finalize().into()
    }

    #[test]
    fn merkle_root_follows_rfc6962_shape() {
        let [a, b, c] = [[1u8; 32], [2u8; 32], [3u8; 32]];
        assert_eq!(merkle_root(&[]), <[u8; 32]>::from(Sha256::digest([])));
        assert_eq!(merkle_root(&[a]), leaf(&a));
        assert_eq!(merkle_root(&[a, b]), node(leaf(&a), leaf(&b)));
        // Three leaves split 2 + 1.
        assert_eq!(
            merkle_root(&[a, b, c]),
            node(node(leaf(&a), leaf(&b)), leaf(&c))
        );
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]), "order matters");
    }
}
