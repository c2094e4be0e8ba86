//! Block assembly and block checking: Merkle roots over transactions, results and system
//! events, headers, block hashes, and the checks every node makes of every block it applies.
//!
//! The three roots use the RFC 6962 (Certificate Transparency) Merkle tree ([`crate::merkle`],
//! which also gives and checks inclusion proofs): leaf =
//! SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), the empty tree is SHA-256 of
//! nothing, and a list splits at the largest power of two below its length.
//!
//! What is hashed is machine-defined only: transaction bodies as signed, results as (hash,
//! [`ErrorCode`](vchain_proto::v1::ErrorCode), events) without their human message, events as
//! codes, ids and integers. `docs/golden-vectors.md` publishes a fixed block with every root.

use prost::Message;
use sha2::{Digest, Sha256};
use vchain_proto::v1::{Block, BlockHeader, ConsensusConfig, Event, SignedTransaction, TxResult};

use crate::execute::BlockOutcome;
pub use crate::merkle::merkle_root;
use crate::tx::{tx_hash, Hash};

/// The hash of a block: SHA-256 over its encoded header.
pub fn block_hash(header: &BlockHeader) -> Hash {
    Sha256::digest(header.encode_to_vec()).into()
}

/// The hash committed for a transaction result: SHA-256 over the encoded result without its
/// human message (which is never consensus data; see [`consensus_result`]).
pub fn result_hash(result: &TxResult) -> Hash {
    if result.message.is_empty() {
        Sha256::digest(result.encode_to_vec()).into()
    } else {
        Sha256::digest(consensus_result(result).encode_to_vec()).into()
    }
}

/// `result` as a block carries it: code and events, no human message.
pub fn consensus_result(result: &TxResult) -> TxResult {
    TxResult {
        message: String::new(),
        ..result.clone()
    }
}

/// Whether `recorded` is `ours` as a block records it ([`consensus_result`]), compared field by
/// field without copying.
fn is_consensus_result_of(recorded: &TxResult, ours: &TxResult) -> bool {
    let TxResult {
        tx_hash,
        code,
        message,
        events,
    } = recorded;
    message.is_empty() && *tx_hash == ours.tx_hash && *code == ours.code && *events == ours.events
}

/// The hash committed for a system event: SHA-256 over the encoded event.
pub fn event_hash(event: &Event) -> Hash {
    Sha256::digest(event.encode_to_vec()).into()
}

/// Merkle root over the transactions' hashes.
pub fn tx_root(transactions: &[SignedTransaction]) -> Hash {
    let hashes: Vec<Hash> = transactions.iter().map(|tx| tx_hash(&tx.body)).collect();
    merkle_root(&hashes)
}

/// Merkle root over the results' hashes.
pub fn result_root(results: &[TxResult]) -> Hash {
    let hashes: Vec<Hash> = results.iter().map(result_hash).collect();
    merkle_root(&hashes)
}

/// Merkle root over the system events' hashes.
pub fn system_event_root(events: &[Event]) -> Hash {
    let hashes: Vec<Hash> = events.iter().map(event_hash).collect();
    merkle_root(&hashes)
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
    let results: Vec<TxResult> = outcome.results.iter().map(consensus_result).collect();
    let header = BlockHeader {
        chain_id: draft.chain_id,
        height: draft.height,
        prev_hash: draft.prev_hash.to_vec(),
        timestamp_ms: draft.timestamp_ms,
        proposer: draft.proposer,
        tx_root: tx_root(&transactions).to_vec(),
        result_root: result_root(&results).to_vec(),
        state_root: state_root.to_vec(),
        tx_count: u32::try_from(transactions.len()).expect("a block's transactions fit u32"),
        system_event_root: system_event_root(&outcome.system_events).to_vec(),
    };
    let hash = block_hash(&header);
    let block = Block {
        header: Some(header),
        transactions,
        results,
        system_events: outcome.system_events.clone(),
    };
    // What every node checks of a block it receives holds for the one sealed here: computed
    // from the same transactions a moment ago, so checked by the crate's tests only (release
    // builds keep debug assertions, and this hashes every transaction twice more).
    if cfg!(test) {
        assert_eq!(check_body(&block).map(|_| ()), Ok(()));
    }
    (block, hash)
}

/// A field of a block, as a divergence report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockField {
    /// The block has no header.
    Header,
    /// `header.chain_id`.
    ChainId,
    /// `header.height`.
    Height,
    /// `header.prev_hash`.
    PrevHash,
    /// `header.timestamp_ms`.
    Timestamp,
    /// `header.proposer`.
    Proposer,
    /// `header.tx_count`.
    TxCount,
    /// `header.tx_root`.
    TxRoot,
    /// The results carried in the block body.
    Results,
    /// `header.result_root`.
    ResultRoot,
    /// The system events carried in the block body.
    SystemEvents,
    /// `header.system_event_root`.
    SystemEventRoot,
    /// `header.state_root`.
    StateRoot,
}

impl BlockField {
    /// The field's name in the schema (`tx_root`, `state_root` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            BlockField::Header => "header",
            BlockField::ChainId => "chain_id",
            BlockField::Height => "height",
            BlockField::PrevHash => "prev_hash",
            BlockField::Timestamp => "timestamp_ms",
            BlockField::Proposer => "proposer",
            BlockField::TxCount => "tx_count",
            BlockField::TxRoot => "tx_root",
            BlockField::Results => "results",
            BlockField::ResultRoot => "result_root",
            BlockField::SystemEvents => "system_events",
            BlockField::SystemEventRoot => "system_event_root",
            BlockField::StateRoot => "state_root",
        }
    }
}

impl std::fmt::Display for BlockField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block that does not match what the checking node expects: which field, what the node
/// expected and what the block says (both printable: hex for hashes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height}: {field} is {found}, expected {expected}")]
pub struct BlockMismatch {
    /// Height the block claims (or the height expected when the header is missing).
    pub height: u64,
    /// The field that differs.
    pub field: BlockField,
    /// What the checking node computed or expected.
    pub expected: String,
    /// What the block says.
    pub found: String,
}

fn mismatch(
    height: u64,
    field: BlockField,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> BlockMismatch {
    BlockMismatch {
        height,
        field,
        expected: expected.into(),
        found: found.into(),
    }
}

fn check_hash(
    height: u64,
    field: BlockField,
    expected: &[u8],
    found: &[u8],
) -> Result<(), BlockMismatch> {
    if expected == found {
        Ok(())
    } else {
        Err(mismatch(
            height,
            field,
            hex::encode(expected),
            hex::encode(found),
        ))
    }
}

/// Checks that a block is consistent with itself, needing no state: a header, the transaction
/// count and root over the transactions carried, one result per transaction naming that
/// transaction and carrying no human message, the result root over those results, and the
/// system event root over the system events carried. Returns the header.
///
/// Every node applies it to every block it stores: a follower before it re-executes, a node
/// filling in history from peers (where nothing else vouches for the body: the hash chain
/// vouches only for headers).
pub fn check_body(block: &Block) -> Result<&BlockHeader, BlockMismatch> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| mismatch(0, BlockField::Header, "a header", "none"))?;
    let height = header.height;
    let count = block.transactions.len();
    if u32::try_from(count).ok() != Some(header.tx_count) {
        return Err(mismatch(
            height,
            BlockField::TxCount,
            count.to_string(),
            header.tx_count.to_string(),
        ));
    }
    check_hash(
        height,
        BlockField::TxRoot,
        &tx_root(&block.transactions),
        &header.tx_root,
    )?;
    if block.results.len() != count {
        return Err(mismatch(
            height,
            BlockField::Results,
            format!("{count} results"),
            format!("{} results", block.results.len()),
        ));
    }
    for (index, (transaction, result)) in block.transactions.iter().zip(&block.results).enumerate()
    {
        let hash = tx_hash(&transaction.body);
        if result.tx_hash != hash {
            return Err(mismatch(
                height,
                BlockField::Results,
                format!("result {index} for transaction {}", hex::encode(hash)),
                format!("result {index} for {}", hex::encode(&result.tx_hash)),
            ));
        }
        if !result.message.is_empty() {
            return Err(mismatch(
                height,
                BlockField::Results,
                format!("result {index} without a message"),
                format!("a message of {} bytes", result.message.len()),
            ));
        }
    }
    check_hash(
        height,
        BlockField::ResultRoot,
        &result_root(&block.results),
        &header.result_root,
    )?;
    check_hash(
        height,
        BlockField::SystemEventRoot,
        &system_event_root(&block.system_events),
        &header.system_event_root,
    )?;
    Ok(header)
}

/// The block a new block must follow: its parent as this node committed it.
#[derive(Debug, Clone, Copy)]
pub struct Parent<'a> {
    /// The chain id (from state).
    pub chain_id: &'a str,
    /// The parent's height.
    pub height: u64,
    /// The parent's hash.
    pub hash: &'a [u8],
    /// The parent's timestamp.
    pub timestamp_ms: u64,
}

/// Checks a header against its parent and the consensus membership before the block: the
/// chain id, the next height, the parent's hash, a timestamp after the parent's, and a
/// proposer that is or was a consensus node (a leader removed by the block before may still
/// propose one block before it hands over; a node id is never reused, so this names no one
/// else).
pub fn check_header(
    header: &BlockHeader,
    parent: &Parent<'_>,
    consensus: &ConsensusConfig,
) -> Result<(), BlockMismatch> {
    let height = header.height;
    if header.chain_id != parent.chain_id {
        return Err(mismatch(
            height,
            BlockField::ChainId,
            parent.chain_id,
            header.chain_id.as_str(),
        ));
    }
    let next = parent.height.checked_add(1);
    if Some(height) != next {
        return Err(mismatch(
            height,
            BlockField::Height,
            next.map_or_else(|| "none".into(), |n| n.to_string()),
            height.to_string(),
        ));
    }
    check_hash(height, BlockField::PrevHash, parent.hash, &header.prev_hash)?;
    if header.timestamp_ms <= parent.timestamp_ms {
        return Err(mismatch(
            height,
            BlockField::Timestamp,
            format!("after {}", parent.timestamp_ms),
            header.timestamp_ms.to_string(),
        ));
    }
    let known = consensus.nodes.iter().any(|n| n.node_id == header.proposer)
        || consensus.removed_node_ids.contains(&header.proposer);
    if !known {
        return Err(mismatch(
            height,
            BlockField::Proposer,
            "a consensus node",
            header.proposer.as_str(),
        ));
    }
    Ok(())
}

/// Checks a block against this node's own execution of it: the results and system events the
/// block carries are exactly the ones computed, and the header's result, system event and
/// state roots are the computed roots. Call after [`check_body`] and [`check_header`].
pub fn check_execution(
    block: &Block,
    header: &BlockHeader,
    outcome: &BlockOutcome,
    state_root: &Hash,
) -> Result<(), BlockMismatch> {
    let height = header.height;
    // Compared in place, not through `consensus_result` copies of every result and its events.
    let agrees = |ours: Option<&TxResult>, theirs: Option<&TxResult>| match (ours, theirs) {
        (Some(ours), Some(theirs)) => is_consensus_result_of(theirs, ours),
        (None, None) => true,
        _ => false,
    };
    let computed = &outcome.results;
    if let Some(index) = (0..computed.len().max(block.results.len()))
        .find(|&i| !agrees(computed.get(i), block.results.get(i)))
    {
        let describe = |r: Option<&TxResult>| {
            r.map_or_else(
                || "none".to_owned(),
                |r| format!("code {} with {} events", r.code, r.events.len()),
            )
        };
        return Err(mismatch(
            height,
            BlockField::Results,
            format!("result {index}: {}", describe(computed.get(index))),
            describe(block.results.get(index)),
        ));
    }
    // Every block result equals this node's result as the block records it (above).
    check_hash(
        height,
        BlockField::ResultRoot,
        &result_root(&block.results),
        &header.result_root,
    )?;
    if outcome.system_events != block.system_events {
        return Err(mismatch(
            height,
            BlockField::SystemEvents,
            format!("{} system events", outcome.system_events.len()),
            format!("{} system events", block.system_events.len()),
        ));
    }
    check_hash(
        height,
        BlockField::SystemEventRoot,
        &system_event_root(&outcome.system_events),
        &header.system_event_root,
    )?;
    check_hash(
        height,
        BlockField::StateRoot,
        state_root,
        &header.state_root,
    )
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
        assert_eq!(
            merkle_root::<Hash>(&[]),
            <[u8; 32]>::from(Sha256::digest([]))
        );
        assert_eq!(merkle_root(&[a]), leaf(&a));
        assert_eq!(merkle_root(&[a, b]), node(leaf(&a), leaf(&b)));
        // Three leaves split 2 + 1.
        assert_eq!(
            merkle_root(&[a, b, c]),
            node(node(leaf(&a), leaf(&b)), leaf(&c))
        );
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]), "order matters");
    }

    #[test]
    fn a_result_hashes_without_its_message() {
        let result = TxResult {
            tx_hash: vec![7; 32],
            code: 22,
            message: "the holder is someone else".into(),
            events: Vec::new(),
        };
        let reworded = TxResult {
            message: "reworded".into(),
            ..result.clone()
        };
        assert_eq!(result_hash(&result), result_hash(&reworded));
        assert_eq!(
            result_hash(&result),
            result_hash(&consensus_result(&result))
        );
        let other_code = TxResult {
            code: 23,
            ..result.clone()
        };
        assert_ne!(result_hash(&result), result_hash(&other_code));
    }
}
