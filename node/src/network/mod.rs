//! The node's peer-to-peer layer: libp2p over TCP + Noise + Yamux, permissioned by PeerId.
//!
//! Owns: the node key file, the libp2p `Swarm` (in one spawned task), the connections to the
//! consortium's other nodes and the bytes that travel on them. Must not depend on: the chain,
//! the ledger or consensus state. Everything it carries is opaque bytes; the node's event loop
//! decides what they mean and answers sync requests.
//!
//! ```no_run
//! # async fn run(data_dir: &std::path::Path, leader: vchain_node::network::PeerAddress)
//! #     -> Result<(), vchain_node::network::NetworkError> {
//! use vchain_node::network::{Network, NetworkConfig, NetworkEvent, NodeKey};
//!
//! let key = NodeKey::load_or_create(data_dir)?; // <data_dir>/node_key, 0600
//! let listen = "/ip4/0.0.0.0/tcp/7100".parse().expect("valid multiaddr");
//! let mut config = NetworkConfig::new(key, listen);
//! config.members.insert(leader.peer_id); // from genesis: peer_id_from_public_key_hex
//! config.dial.push(leader.clone());
//! let (network, mut events) = Network::start(config).await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         NetworkEvent::Consensus { .. } => { /* step the Raft node with (from, bytes) */ }
//!         NetworkEvent::SyncRequest { reply, .. } => { let _ = reply.send(b"...".to_vec()); }
//!         _ => {}
//!     }
//!     network.send_consensus(leader.peer_id, b"raft message".to_vec())?;
//! }
//! network.shutdown().await
//! # }
//! ```
//!
//! # Protocols
//! - `/vchain/msg/1` — one long-lived, ordered stream per (sender, receiver) pair carrying
//!   length-prefixed frames: consensus messages, forwarded transactions, clock readings,
//!   incarnation notices and certification signatures. Fire-and-forget,
//!   in order per peer: a frame that was delivered arrived after every frame queued before it.
//!   (The issue suggests request-response for consensus; request-response opens one substream
//!   per message and so does not preserve order, which Raft's per-peer pipelining assumes.)
//! - `/vchain/sync/1` — request-response for block and state sync; both sides opaque bytes,
//!   bounded by [`SYNC_REQUEST_BYTES_MAX`] and [`SYNC_RESPONSE_BYTES_MAX`], timed out after
//!   [`NetworkConfig::request_timeout`]. A snapshot larger than one response is fetched in
//!   chunks ([`chunk`], [`NetworkHandle::fetch_chunked`]).
//!
//! # Transaction relay
//! Direct forwarding, no gossip: a follower forwards the transactions it admitted to the
//! leader ([`NetworkHandle::forward_transactions`]); only the leader orders them. The
//! consortium is small and fully meshed, so gossipsub's mesh, its 64 KiB default message cap
//! and its duplicate traffic buy nothing.
//!
//! # Permissioning
//! Only peers in the membership set may hold a connection: `allow_block_list` denies any
//! other peer right after the Noise handshake proves its PeerId (logged with its PeerId and
//! address, reported as [`NetworkEvent::ConnectionRefused`]); removing a member closes its
//! connections; and every inbound frame and request is checked against the current set
//! again before it becomes an event, so nothing from a non-member ever reaches the node.
//!
//! # Connections
//! Each configured peer is dialled at start and redialled whenever its last connection
//! closes, with a backoff doubling from [`NetworkConfig::redial_backoff_initial`] to
//! [`NetworkConfig::redial_backoff_max`] (reset only by a connection that lasted 10 s, so a
//! peer that completes the handshake and then refuses us is not hammered). Idle connections
//! close after [`NetworkConfig::idle_connection_timeout`], an hour by default rather than
//! libp2p's 10 s; once a message has been sent, the sender's stream stays open and keeps the
//! connection busy anyway. Connection counts are capped: [`CONNECTIONS_PER_PEER_MAX`],
//! [`CONNECTIONS_MAX`], [`PENDING_INCOMING_CONNECTIONS_MAX`].
//!
//! # Queues
//! Every queue is bounded ([`NetworkConfig::event_queue_max`], [`NetworkConfig::peer_send_queue_max`],
//! [`COMMAND_QUEUE_MAX`]). Senders never block: a full per-peer queue fails fast with
//! [`NetworkError::QueueFull`]. The swarm task never waits for the consumer: if the event queue
//! is full it drops connection notices and sync requests (the requester sees a failure and
//! retries), while inbound consensus frames wait, pushing back on the sender through the stream.

pub mod chunk;
mod codec;
mod config;
mod key;
mod service;

pub use config::{NetworkConfig, PeerAddress};
pub use key::{peer_id_from_public_key_hex, NodeKey, NODE_KEY_FILE};
pub use libp2p::{Multiaddr, PeerId};
pub use service::{Network, NetworkEvent, NetworkHandle};

use std::path::PathBuf;
use std::time::Duration;

/// Largest consensus message, and largest encoded frame on the message stream: a Raft message
/// carrying the largest block fits (asserted in the node's `limits` module).
pub const FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest certification notice (a member's signature of a block it applied: height, block
/// hash and signature, 104 bytes; see the node's `certification` module).
pub const CERTIFICATION_NOTICE_BYTES_MAX: usize = 256;
/// Most transactions in one forwarded batch.
pub const TRANSACTIONS_PER_BATCH_MAX: usize = 4_096;
/// Largest sync request.
pub const SYNC_REQUEST_BYTES_MAX: usize = 64 * 1024;
/// Largest sync response (one snapshot chunk plus its header fits).
pub const SYNC_RESPONSE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most sync requests a peer may have in flight on one connection, either direction.
pub const SYNC_CONCURRENT_REQUESTS_MAX: usize = 16;
/// Most connections to one peer (two allow a simultaneous dial from both ends).
pub const CONNECTIONS_PER_PEER_MAX: u32 = 2;
/// Most established connections in all.
pub const CONNECTIONS_MAX: u32 = 256;
/// Most inbound connections still in their handshake (before permissioning can judge them).
pub const PENDING_INCOMING_CONNECTIONS_MAX: u32 = 64;
/// Most commands waiting for the swarm task.
pub const COMMAND_QUEUE_MAX: usize = 256;
/// Most inbound message streams one peer may hold open at once.
pub const INBOUND_STREAMS_PER_PEER_MAX: usize = 4;
/// Longest wait for the listener to report its address at start.
pub(crate) const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait to open a message stream to a connected peer.
pub(crate) const STREAM_OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The node key file could not be read or written.
    #[error("node key {path}: {source}")]
    KeyIo {
        /// Key file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The node key file holds no valid ed25519 secret key.
    #[error("node key {path} is not valid: {why}")]
    KeyInvalid {
        /// Key file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A public key (for example from genesis) is not a valid ed25519 key.
    #[error("public key {key} is not a valid ed25519 key: {why}")]
    PublicKeyInvalid {
        /// The key as given.
        key: String,
        /// Why.
        why: String,
    },
    /// A configuration value is out of range.
    #[error("network config value {field} is invalid: {why}")]
    Config {
        /// Field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// A peer address is not `<multiaddr>/p2p/<peer id>`.
    #[error("peer address {address} is not valid: {why}")]
    PeerAddressInvalid {
        /// The address as given.
        address: String,
        /// Why.
        why: String,
    },
    /// The transport could not be built or could not listen.
    #[error("cannot listen on {address}: {why}")]
    Listen {
        /// Listen address.
        address: Multiaddr,
        /// Cause.
        why: String,
    },
    /// The peer is not in the membership set.
    #[error("peer {peer} is not a member")]
    NotMember {
        /// Peer.
        peer: PeerId,
    },
    /// The peer is a member but not connected now.
    #[error("peer {peer} is not connected")]
    NotConnected {
        /// Peer.
        peer: PeerId,
    },
    /// The peer's send queue is full; the message was not queued.
    #[error("send queue to {peer} is full ({queue_max} messages)")]
    QueueFull {
        /// Peer.
        peer: PeerId,
        /// The queue's bound.
        queue_max: usize,
    },
    /// A message or batch is larger than its limit.
    #[error("{what} is too large: {got} > {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Size or count given.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// A sync request failed (timeout, connection lost, remote refused or dropped it).
    #[error("sync request to {peer} failed: {why}")]
    RequestFailed {
        /// Peer asked.
        peer: PeerId,
        /// Cause.
        why: String,
    },
    /// A chunked transfer broke its own framing.
    #[error("chunk {index} is not valid: {why}")]
    ChunkInvalid {
        /// Chunk index.
        index: u32,
        /// Why.
        why: String,
    },
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
}
