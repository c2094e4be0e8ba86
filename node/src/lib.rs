//! The vchain node: mempool, block producer, consensus driver, RocksDB ledger and gRPC API.
//!
//! Owns: every effect (storage, network, clock, threads). Consensus engines and contracts are
//! pure state machines; this crate feeds them inputs and carries out their outputs in order:
//! persist, send, apply, advance.
//!
//! # Public API
//!
//! What a program embedding a node uses (`vchain-node`, `vchain-testnet`, `vchain-devnet`, the
//! tests); everything else is internal to the crate:
//!
//! - [`start`] a node from a [`config::NodeConfig`] (read with [`config::NodeConfig::load`], or
//!   built in code from its sections and defaults); it answers a [`NodeHandle`]: the gRPC
//!   address, [`NodeHandle::shutdown`], and the running [`Chain`] for in-process inspection
//!   (ledger, clock, network, [`Chain::is_stopping`], [`Chain::has_failed`]);
//!   [`Chain::submit`] answers a [`CommitNotice`] or a [`SubmitError`] (perhaps a
//!   [`MempoolError`]);
//! - [`load_genesis`] reads a genesis file; [`NodeError`] says why a node did not start or
//!   stopped badly (perhaps a [`ChainError`], itself perhaps a [`SyncError`]);
//! - [`clock::ChainClock`]: chain time (programs making a dev chain take its `now_ms`);
//! - [`network`]: the node's network key for tooling ([`network::NodeKey`],
//!   [`network::NODE_KEY_FILE`], [`network::peer_id_from_public_key_hex`]) and the
//!   peer-to-peer layer itself;
//! - [`GRPC_MESSAGE_BYTES_MAX`], the largest gRPC message, for clients sizing theirs;
//! - [`backup`]: taking a running node's backup (asked through [`admin`], the node's admin
//!   socket, with [`admin::request_backup`]) and [`backup::restore`] into a stopped node's data
//!   directory.
//!
//! Start a node in-process (tests do this with `grpc_listen = 127.0.0.1:0`):
//!
//! ```no_run
//! # async fn run() -> Result<(), vchain_node::NodeError> {
//! let config = vchain_node::config::NodeConfig::load(std::path::Path::new("node.toml"))?;
//! let node = vchain_node::start(config).await?;
//! println!("serving on {}", node.grpc_addr);
//! node.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod admin;
mod api;
pub mod backup;
mod block_time;
mod certification;
mod chain;
pub mod clock;
pub mod config;
mod dev_clock;
#[cfg(test)]
mod errors_doc;
mod incarnation;
mod limits;
pub mod listing;
mod mempool;
mod metrics;
pub mod network;
#[cfg(test)]
mod quorum_rule;
mod read_access;
mod sync;
#[cfg(test)]
mod test_chain;
mod trace_bundle;
mod transport_refusals;

pub use chain::{Admission, Chain, ChainError, CommitNotice, SubmitError};
pub use mempool::MempoolError;
pub use sync::SyncError;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::info;
use vchain_contracts::genesis::Genesis;
use vchain_proto::v1::dev_api_server::DevApiServer;
use vchain_proto::v1::vchain_api_server::VchainApiServer;

use crate::chain::Peers;
use crate::clock::ChainClock;
use crate::config::{ConfigError, NodeConfig};
use crate::network::{peer_id_from_public_key_hex, Network, NetworkConfig, NetworkEvent, NodeKey};

/// Largest gRPC message the node accepts or sends.
pub const GRPC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Calls one client connection may have in flight at once (HTTP/2 concurrent streams).
pub(crate) const GRPC_CONCURRENT_STREAMS_MAX: u32 = 1_024;
/// Calls a client may open and cancel on one connection before the node reads them, past which
/// the node closes the connection (HTTP/2's rapid-reset defence). A node that was paused, or
/// too busy to read, finds every call its clients gave up on meanwhile; with h2's default of
/// 20 it closed the whole connection, failing the calls still waiting on it (issue 11). The
/// bound lets every concurrent call be cancelled and retried several times over during a
/// pause, and still closes a connection that does nothing but open and cancel.
pub(crate) const GRPC_PENDING_RESETS_MAX: usize = 8 * GRPC_CONCURRENT_STREAMS_MAX as usize;

/// Why a node could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The chain could not open or run.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Setting up files failed.
    #[error("setup failed: {0}")]
    Setup(String),
    /// The configuration asks for the DevApi (which moves the node's clock, and so block time)
    /// on a chain whose genesis is not a development chain.
    #[error(
        "dev_api = true, but chain {chain_id} is not a development chain (its genesis has no \
         `development = true`): the DevApi moves block time and is refused on production chains; \
         remove dev_api from the node's configuration"
    )]
    DevApiOnProductionChain {
        /// The chain's id.
        chain_id: String,
    },
    /// The gRPC server failed.
    #[error("gRPC server on {addr}: {why}")]
    Server {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        why: String,
    },
}

/// Starts the network for a networked engine: this node's key must be the one genesis lists
/// for it, if genesis lists it (a node the consortium adds later joins under its own key); the
/// members start as genesis's consensus nodes, and follow the chain's membership once the
/// producer runs; the config's peers are dialled.
async fn start_network(
    config: &NodeConfig,
    genesis: &Genesis,
) -> Result<Option<(Peers, tokio::sync::mpsc::Receiver<NetworkEvent>)>, NodeError> {
    if genesis.consensus.engine == "solo" {
        return Ok(None);
    }
    let setup = |why: String| NodeError::Setup(why);
    let section = config.network.as_ref().ok_or_else(|| {
        setup(format!(
            "genesis chooses {} consensus: the config needs a [network] section",
            genesis.consensus.engine
        ))
    })?;
    let key = NodeKey::load_or_create(&config.data_dir).map_err(|e| setup(e.to_string()))?;
    let mut by_node = std::collections::BTreeMap::new();
    let mut members = std::collections::BTreeSet::new();
    for node in &genesis.consensus.nodes {
        let peer = peer_id_from_public_key_hex(&node.public_key)
            .map_err(|e| setup(format!("genesis node {}: {e}", node.node_id)))?;
        if node.node_id == config.node_id {
            if peer != key.peer_id() {
                // Met after a lost or replaced data directory (a new key is made when the file
                // is missing): say what the operator can do, not only what differs.
                return Err(setup(format!(
                    "this node's key ({}, in {}) is not the key genesis lists for {} ({}): \
                     restore this node's key file from its backup, or add the machine under a \
                     new node id through governance",
                    key.public_key_hex(),
                    config
                        .data_dir
                        .join(crate::network::NODE_KEY_FILE)
                        .display(),
                    node.node_id,
                    node.public_key
                )));
            }
            continue;
        }
        members.insert(peer);
        by_node.insert(node.node_id.clone(), peer);
    }
    let listen = section
        .listen
        .parse()
        .map_err(|e| setup(format!("network.listen {:?}: {e}", section.listen)))?;
    let mut network_config = NetworkConfig::new(key, listen);
    network_config.members = members;
    for peer in &section.peers {
        network_config.dial.push(
            peer.parse()
                .map_err(|e| setup(format!("network.peers {peer:?}: {e}")))?,
        );
    }
    let (network, events) = Network::start(network_config)
        .await
        .map_err(|e| setup(format!("network: {e}")))?;
    info!(peer_id = %network.local_peer_id(), listen = ?network.listen_addrs(), "network started");
    Ok(Some((Peers::new(network, by_node), events)))
}

/// Carries network events into the chain: consensus messages to the producer, forwarded
/// transactions into the mempool (admitted like any submission).
async fn bridge_network(chain: Arc<Chain>, mut events: tokio::sync::mpsc::Receiver<NetworkEvent>) {
    while let Some(event) = events.recv().await {
        let kind = match &event {
            NetworkEvent::Consensus { .. } => Some("consensus"),
            NetworkEvent::Transactions { .. } => Some("transactions"),
            NetworkEvent::Clock { .. } => Some("clock"),
            NetworkEvent::Incarnations { .. } => Some("incarnations"),
            NetworkEvent::Certification { .. } => Some("certification"),
            NetworkEvent::SyncRequest { .. } => Some("sync"),
            _ => None,
        };
        if let Some(kind) = kind {
            chain.metrics.message_received(kind);
        }
        match event {
            NetworkEvent::Consensus { from, bytes } => match chain.node_of(&from) {
                Some(node) => chain.deliver_consensus(node, bytes),
                None => {
                    tracing::warn!(%from, "consensus message from a peer that is not a consensus node")
                }
            },
            NetworkEvent::Incarnations { from, bytes } => {
                if let (Some(node), Some(incarnations)) =
                    (chain.node_of(&from), chain.incarnations.as_ref())
                {
                    // In order with the peer's consensus messages (its votes are judged by
                    // what this says); the records it writes are small and rare.
                    tokio::task::block_in_place(|| incarnations.receive(&node, &bytes));
                }
            }
            NetworkEvent::Certification { from, bytes } => {
                if let Some(node) = chain.node_of(&from) {
                    chain.deliver_certification(node, bytes);
                }
            }
            NetworkEvent::Clock { from, wall_ms } => {
                if let Some(node) = chain.node_of(&from) {
                    chain.peer_clocks.record(&node, wall_ms);
                }
            }
            NetworkEvent::Transactions { from, txs } => {
                let decoded: Vec<_> = txs
                    .iter()
                    .filter_map(|tx| {
                        <vchain_proto::v1::SignedTransaction as prost::Message>::decode(
                            tx.as_slice(),
                        )
                        .ok()
                    })
                    .collect();
                let chain = chain.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(error) = chain.submit_batch(decoded, crate::chain::BatchOrigin::Peer)
                    {
                        tracing::debug!(%error, %from, "forwarded transactions not admitted");
                    }
                })
                .await;
            }
            NetworkEvent::SyncRequest { from, bytes, reply } => {
                // Reading chunks touches RocksDB: off the async threads, and not awaited, so
                // consensus traffic keeps flowing while a snapshot is served.
                let chain = chain.clone();
                tokio::task::spawn_blocking(move || {
                    let response = chain.serve_sync(&bytes);
                    tracing::debug!(%from, bytes = response.len(), "sync request served");
                    let _ = reply.send(response);
                });
            }
            other => tracing::debug!(?other, "network event"),
        }
        if chain.is_stopping() {
            break;
        }
    }
}

/// How often the gRPC health status is brought up to date with the node's readiness.
const HEALTH_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps the gRPC health service's statuses equal to the node's readiness (`/readyz`'s rule,
/// [`metrics::not_ready`]); NOT_SERVING once the node stops.
async fn report_health(chain: Arc<Chain>, reporter: tonic_health::server::HealthReporter) {
    use tonic::server::NamedService;
    use tonic_health::ServingStatus;
    let names = ["", <VchainApiServer<api::ApiService> as NamedService>::NAME];
    let mut stop = chain.stop_signal();
    let mut serving = None;
    loop {
        let stopping = *stop.borrow_and_update();
        let ready = !stopping && metrics::not_ready(&chain).is_none();
        if serving != Some(ready) {
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            for name in names {
                reporter.set_service_status(name, status).await;
            }
            serving = Some(ready);
        }
        if stopping {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(HEALTH_REFRESH) => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

/// Reads a genesis file.
pub fn load_genesis(path: &std::path::Path) -> Result<Genesis, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Setup(format!("reading genesis {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| NodeError::Setup(format!("genesis {} is not valid: {e}", path.display())))
}

/// A running node.
pub struct NodeHandle {
    /// Where the gRPC API listens.
    pub grpc_addr: SocketAddr,
    /// Where the metrics and health endpoints listen (when configured).
    pub metrics_addr: Option<SocketAddr>,
    /// The admin socket (`NodeAdmin`: backups), if it could be bound.
    pub admin_socket: Option<std::path::PathBuf>,
    /// The chain, for in-process inspection.
    pub chain: Arc<Chain>,
    stop_server: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    producer: std::thread::JoinHandle<()>,
    /// Carries network events into the chain; ends when the network stops.
    bridge: Option<tokio::task::JoinHandle<()>>,
}

/// Longest shutdown waits for the network bridge to let go of the chain.
const BRIDGE_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most a shutdown waits, after the producer stopped, for every other holder of the chain to let
/// go of it (and so of the ledger). Short: a client's open gRPC connection can hold the API
/// service (and so the chain) until the client goes, and a node process exits anyway.
const CHAIN_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl NodeHandle {
    /// Stops accepting requests, lets the producer finish its block, and closes the ledger.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        info!("shutting down");
        self.chain.shutdown();
        self.chain.stop_network().await;
        // The bridge holds the chain (and so the ledger) until its event channel closes: wait
        // for it, so a stopped node has let go of its data directory.
        if let Some(bridge) = self.bridge {
            if tokio::time::timeout(BRIDGE_STOP_WAIT, bridge)
                .await
                .is_err()
            {
                tracing::warn!("the network bridge did not stop in time");
            }
        }
        let _ = self.stop_server.send(());
        let served = self.server.await.map_err(|e| NodeError::Server {
            addr: self.grpc_addr,
            why: e.to_string(),
        })?;
        let producer = self.producer;
        tokio::task::spawn_blocking(move || producer.join())
            .await
            .map_err(|e| NodeError::Setup(e.to_string()))?
            .map_err(|_| NodeError::Setup("block producer panicked".into()))?;
        served.map_err(|e| NodeError::Server {
            addr: self.grpc_addr,
            why: e.to_string(),
        })?;
        // The tasks that hold the chain (the health and metrics reporters, a request still being
        // answered, an admission check) end on the stop signal; wait for them, bounded, so that a
        // stopped node has let go of its ledger (RocksDB's lock) when this returns, and the same
        // data directory can be opened again at once.
        let released_by = std::time::Instant::now() + CHAIN_RELEASE_WAIT;
        while Arc::strong_count(&self.chain) > 1 && std::time::Instant::now() < released_by {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let holders = Arc::strong_count(&self.chain) - 1;
        if holders > 0 {
            info!(
                holders,
                "the chain is still held after shutdown (a client's open connection); its ledger \
                 closes when the last holder ends"
            );
        }
        info!("node stopped");
        Ok(())
    }
}

/// Starts a node: opens (or creates) the ledger, starts the producer and serves gRPC.
pub async fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
    config.validate()?;
    let genesis = load_genesis(&config.genesis)?;
    if config.dev_api && !genesis.development {
        return Err(NodeError::DevApiOnProductionChain {
            chain_id: genesis.chain_id.clone(),
        });
    }
    let clock = Arc::new(ChainClock::default());
    if config.dev_api {
        clock.advance(dev_clock::load_clock_offset(&config.data_dir));
    }
    let listener = tokio::net::TcpListener::bind(config.grpc_listen)
        .await
        .map_err(|e| NodeError::Server {
            addr: config.grpc_listen,
            why: e.to_string(),
        })?;
    let grpc_addr = listener.local_addr().map_err(|e| NodeError::Server {
        addr: config.grpc_listen,
        why: e.to_string(),
    })?;
    let dev_api = config.dev_api;
    let (peers, network_events) = match start_network(&config, &genesis).await? {
        Some((peers, events)) => (Some(peers), Some(events)),
        None => (None, None),
    };
    let (chain, producer) =
        tokio::task::block_in_place(|| Chain::start(config, &genesis, clock, peers))?;
    let bridge = network_events.map(|events| tokio::spawn(bridge_network(chain.clone(), events)));
    // Server reflection in both versions: many clients (grpcio's among them) still ask
    // `grpc.reflection.v1alpha` only.
    let reflection_error = |e: tonic_reflection::server::Error| NodeError::Server {
        addr: grpc_addr,
        why: format!("reflection: {e}"),
    };
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(vchain_proto::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1().map_err(reflection_error)?;
    let reflection_v1alpha = reflection_builder()
        .build_v1alpha()
        .map_err(reflection_error)?;
    let api = VchainApiServer::new(api::ApiService::new(chain.clone()))
        .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let dev = dev_api.then(|| DevApiServer::new(api::DevService::new(chain.clone())));
    // The standard gRPC health service (grpc.health.v1): the node's readiness for the whole
    // server ("") and for the API, kept current by a task that ends with the node.
    let (health_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(report_health(chain.clone(), health_reporter));
    let (stop_server, stopped) = oneshot::channel::<()>();
    // Small answers must not wait for a delayed ACK (Nagle): ~40 ms per call otherwise.
    let incoming = tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |accepted| {
        accepted.inspect(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY on a gRPC connection");
            }
        })
    });
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(GRPC_CONCURRENT_STREAMS_MAX)
        .http2_max_pending_accept_reset_streams(Some(GRPC_PENDING_RESETS_MAX))
        .layer(tower::util::MapResponseLayer::new(
            transport_refusals::code_transport_refusal::<tonic::body::Body>,
        ))
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(api)
        .add_service(health)
        .add_optional_service(dev)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(server);
    let metrics_addr = match chain.config.metrics.as_ref().map(|m| m.listen) {
        Some(listen) => {
            let mut stop = chain.stop_signal();
            let stopped = async move {
                while !*stop.borrow_and_update() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            Some(
                metrics::serve(listen, chain.clone(), stopped)
                    .await
                    .map_err(|e| NodeError::Server {
                        addr: listen,
                        why: format!("metrics: {e}"),
                    })?,
            )
        }
        None => None,
    };
    let admin_socket = {
        let mut stop = chain.stop_signal();
        admin::serve(chain.clone(), async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        })
    };
    info!(%grpc_addr, node_id = %chain.config.node_id, chain_id = %chain.chain_id, dev_api, "node serving");
    Ok(NodeHandle {
        grpc_addr,
        metrics_addr,
        admin_socket,
        chain,
        stop_server,
        server,
        producer,
        bridge,
    })
}
