//! The vchain node: mempool, block producer, consensus driver, RocksDB ledger and gRPC API.
//!
//! Owns: every effect (storage, network, clock, threads). Consensus engines and contracts are
//! pure state machines; this crate feeds them inputs and carries out their outputs in order:
//! persist, send, apply, advance.
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

pub mod api;
pub mod chain;
pub mod clock;
pub mod config;
pub mod dev;
pub mod mempool;
pub mod network;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::info;
use vchain_contracts::genesis::Genesis;
use vchain_proto::v1::dev_api_server::DevApiServer;
use vchain_proto::v1::vchain_api_server::VchainApiServer;

use crate::chain::{Chain, ChainError};
use crate::clock::ChainClock;
use crate::config::{ConfigError, NodeConfig};

/// Largest gRPC message the node accepts or sends.
pub const GRPC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

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
    /// The gRPC server failed.
    #[error("gRPC server on {addr}: {why}")]
    Server {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        why: String,
    },
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
    /// The chain, for in-process inspection.
    pub chain: Arc<Chain>,
    stop_server: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    producer: std::thread::JoinHandle<()>,
}

impl NodeHandle {
    /// Stops accepting requests, lets the producer finish its block, and closes the ledger.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        info!("shutting down");
        self.chain.shutdown();
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
        info!("node stopped");
        Ok(())
    }
}

/// Starts a node: opens (or creates) the ledger, starts the producer and serves gRPC.
pub async fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
    config.validate()?;
    let genesis = load_genesis(&config.genesis)?;
    let clock = Arc::new(ChainClock::default());
    if config.dev_api {
        clock.advance(dev::load_clock_offset(&config.data_dir));
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
    let (chain, producer) = tokio::task::block_in_place(|| Chain::start(config, &genesis, clock))?;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vchain_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| NodeError::Server {
            addr: grpc_addr,
            why: format!("reflection: {e}"),
        })?;
    let api = VchainApiServer::new(api::ApiService::new(chain.clone()))
        .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let dev = dev_api.then(|| DevApiServer::new(api::DevService::new(chain.clone())));
    let (stop_server, stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(reflection)
        .add_service(api)
        .add_optional_service(dev)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(server);
    info!(%grpc_addr, node_id = %chain.config.node_id, chain_id = %chain.chain_id, dev_api, "node serving");
    Ok(NodeHandle {
        grpc_addr,
        chain,
        stop_server,
        server,
        producer,
    })
}
