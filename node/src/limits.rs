//! How the node's size limits relate to the chain's: compile-time assertions only.
//!
//! Owns: the proofs that any block the chain's parameters allow (bounded by
//! [`vchain_contracts::limits`]) fits a consensus proposal, a network frame, a sync transfer and
//! a gRPC answer, and that one transaction of the largest allowed size travels everywhere a
//! transaction goes. Changing one limit without the others fails the build here. Must not
//! depend on: anything at run time. ARCHITECTURE.md ("Limits") draws the same chain.

use vchain_consensus::pbft::messages::{
    BLOCK_BYTES_MAX as PBFT_BLOCK_BYTES_MAX, MESSAGE_BYTES_MAX as PBFT_MESSAGE_BYTES_MAX,
    REPLICAS_MAX as PBFT_REPLICAS_MAX, REPLICA_ID_BYTES_MAX as PBFT_REPLICA_ID_BYTES_MAX,
};
use vchain_consensus::raft::{MESSAGE_BYTES_MAX, PROPOSAL_BYTES_MAX, UNCOMMITTED_BYTES_MAX};
use vchain_contracts::commit_certificate::VALIDATORS_MAX;
use vchain_contracts::execute::CHECK_BATCH_MAX;
use vchain_contracts::limits::{ENCODED_BLOCK_BYTES_LIMIT, TX_BYTES_LIMIT};

use crate::network::chunk::{CHUNKS_PER_TRANSFER_MAX, CHUNK_BYTES_MAX};
use crate::network::{FRAME_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX, TRANSACTIONS_PER_BATCH_MAX};
use crate::sync::{BLOCK_CHUNK_BYTES, SNAPSHOT_CHUNK_BYTES, SYNC_BLOCK_BYTES_MAX};
use crate::trace_bundle::BUNDLE_CHUNK_BYTES;
use crate::{GRPC_CONCURRENT_STREAMS_MAX, GRPC_MESSAGE_BYTES_MAX, GRPC_PENDING_RESETS_MAX};

// A trace bundle's chunk and its wrapper fit one gRPC message; a whole bundle is at most a
// bounded number of chunks.
const _: () = assert!(BUNDLE_CHUNK_BYTES + WRAPPER_BYTES_MAX <= GRPC_MESSAGE_BYTES_MAX);
const _: () = assert!(vchain_bundle::limits::BUNDLE_BYTES_MAX / BUNDLE_CHUNK_BYTES <= 1_024);

/// Bytes a protobuf wrapper adds around one embedded message or byte string (field tag and a
/// length prefix, with room for a second level and small sibling fields such as a hash).
pub(crate) const WRAPPER_BYTES_MAX: usize = 64 * 1024;

const ENCODED_BLOCK: usize = ENCODED_BLOCK_BYTES_LIMIT as usize;
const TX: usize = TX_BYTES_LIMIT as usize;

// The producer proposes at most ENCODED_BLOCK bytes: the engine accepts it, and holds a few
// such proposals uncommitted before it drops one.
const _: () = assert!(ENCODED_BLOCK <= PROPOSAL_BYTES_MAX);
const _: () = assert!(UNCOMMITTED_BYTES_MAX as usize >= 2 * ENCODED_BLOCK);
/// A frame's kind byte.
const FRAME_KIND_BYTES: usize = 1;
/// A transactions frame's count, and each transaction's length prefix.
const FRAME_LENGTH_BYTES: usize = 4;

// A Raft message carrying the largest proposal fits one frame (a kind byte before it).
const _: () = assert!(FRAME_KIND_BYTES + MESSAGE_BYTES_MAX <= FRAME_BYTES_MAX);
// PBFT: the largest block is a proposal the engine takes, any PBFT message (at most one block
// beside certificates) fits one frame, and the engine's replica bounds cover the chain's
// validator set and node ids (its message sizes are proven for those bounds).
const _: () = assert!(ENCODED_BLOCK <= PBFT_BLOCK_BYTES_MAX);
const _: () = assert!(FRAME_KIND_BYTES + PBFT_MESSAGE_BYTES_MAX <= FRAME_BYTES_MAX);
const _: () = assert!(VALIDATORS_MAX <= PBFT_REPLICAS_MAX);
const _: () = assert!(vchain_contracts::validate::ID_LEN_MAX <= PBFT_REPLICA_ID_BYTES_MAX);
// One largest transaction fits a forwarded-transactions frame (kind, count, length prefix).
const _: () = assert!(FRAME_KIND_BYTES + 2 * FRAME_LENGTH_BYTES + TX <= FRAME_BYTES_MAX);
// A block travels to a syncing node in chunks: each chunk with its header and the sync
// response around it fits one response, and enough chunks cover the largest block.
const _: () = assert!(BLOCK_CHUNK_BYTES + WRAPPER_BYTES_MAX <= CHUNK_BYTES_MAX);
const _: () = assert!(ENCODED_BLOCK <= SYNC_BLOCK_BYTES_MAX);
const _: () = assert!(SYNC_BLOCK_BYTES_MAX <= CHUNKS_PER_TRANSFER_MAX as usize * BLOCK_CHUNK_BYTES);
// A state chunk's keys and values, with per-entry framing, fit one sync response.
const _: () = assert!(2 * SNAPSHOT_CHUNK_BYTES as usize <= SYNC_RESPONSE_BYTES_MAX);
// `GetBlock` answers the largest block; one largest transaction can be submitted.
const _: () = assert!(ENCODED_BLOCK + WRAPPER_BYTES_MAX <= GRPC_MESSAGE_BYTES_MAX);
const _: () = assert!(TX + WRAPPER_BYTES_MAX <= GRPC_MESSAGE_BYTES_MAX);
// A paused node's clients may cancel every call they had in flight (and more): the reset
// defence never closes a connection for that alone.
const _: () = assert!(GRPC_PENDING_RESETS_MAX >= 4 * GRPC_CONCURRENT_STREAMS_MAX as usize);
// What one `SubmitTransactions` call admits, a follower forwards to the leader by count in
// one frame's count limit (bytes are split across frames, `network::codec::frame_batches`).
const _: () = assert!(CHECK_BATCH_MAX <= TRANSACTIONS_PER_BATCH_MAX);
