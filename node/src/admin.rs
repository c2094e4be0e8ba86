//! The node's administration socket: the `NodeAdmin` gRPC service on a Unix socket in the data
//! directory (`admin.sock`, mode 0600), and its client (`vchain-node backup`).
//!
//! Why a Unix socket and not the API port: what it does (writing a copy of the whole ledger to
//! a path on the node's machine) is for the machine's operator, not for any network client, so
//! the right to use it is the right to the node's files. It is never on the network.
//!
//! Owns: serving and calling `NodeAdmin`. Must not depend on: the engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};
use tracing::{info, warn};
use vchain_proto::v1::node_admin_client::NodeAdminClient;
use vchain_proto::v1::node_admin_server::{NodeAdmin, NodeAdminServer};
use vchain_proto::v1::{
    ArchiveBlocksRequest, ArchiveBlocksResponse, ArchiveSegmentInfo, BackupRequest, BackupResponse,
};

use crate::backup::BackupError;
use crate::chain::Chain;

/// The socket's file name in the data directory.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// Longest socket path Linux accepts (`sun_path` is 108 bytes with its terminating NUL).
const SOCKET_PATH_BYTES_MAX: usize = 107;

/// The socket of the node whose data directory is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADMIN_SOCKET)
}

struct AdminService {
    chain: Arc<Chain>,
    /// Held while a backup or an archive runs: one at a time.
    busy: Arc<tokio::sync::Mutex<()>>,
}

fn refusal(error: BackupError) -> Status {
    let code = match error {
        BackupError::TargetExists(_) => tonic::Code::AlreadyExists,
        BackupError::InProgress => tonic::Code::ResourceExhausted,
        _ => tonic::Code::Internal,
    };
    let mut status = Status::new(code, format!("{}: {error}", error.code()));
    if let Ok(value) = error.code().parse() {
        status.metadata_mut().insert("vchain-backup-code", value);
    }
    status
}

impl AdminService {
    /// Runs `work` on a blocking thread, refused while another admin call (a backup or an
    /// archive) runs: each reads or rewrites much of the ledger.
    async fn exclusive<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Chain) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let guard = self
            .busy
            .clone()
            .try_lock_owned()
            .map_err(|_| refusal(BackupError::InProgress))?;
        let chain = self.chain.clone();
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            work(&chain)
        })
        .await
        .map_err(|e| Status::internal(format!("the {what} task failed: {e}")))
    }
}

#[tonic::async_trait]
impl NodeAdmin for AdminService {
    async fn backup(
        &self,
        request: Request<BackupRequest>,
    ) -> Result<Response<BackupResponse>, Status> {
        let out_dir = PathBuf::from(request.into_inner().out_dir);
        if out_dir.as_os_str().is_empty() {
            return Err(Status::invalid_argument("out_dir is empty"));
        }
        let taken = self
            .exclusive("backup", move |chain| {
                crate::backup::take(chain, &out_dir).map(|taken| (taken, out_dir))
            })
            .await?;
        let ((manifest, took), out_dir) = taken.map_err(refusal)?;
        let decode = |hex_text: &str| hex::decode(hex_text).unwrap_or_default();
        Ok(Response::new(BackupResponse {
            height: manifest.height,
            block_hash: decode(&manifest.block_hash),
            state_root: decode(&manifest.state_root),
            files: manifest.files.len() as u64,
            bytes: manifest.total_bytes(),
            manifest_path: out_dir
                .join(crate::backup::MANIFEST_FILE)
                .display()
                .to_string(),
            took_ms: took.as_millis() as u64,
        }))
    }

    async fn archive_blocks(
        &self,
        request: Request<ArchiveBlocksRequest>,
    ) -> Result<Response<ArchiveBlocksResponse>, Status> {
        let request = request.into_inner();
        let below =
            match (request.below_height, request.keep_recent) {
                (below, 0) => below,
                (0, keep) => self.chain.ledger.archive_below_keeping(keep).map_err(|e| {
                    Status::internal(format!("reading the head and the archive: {e}"))
                })?,
                _ => {
                    return Err(Status::invalid_argument(
                        "give below_height or keep_recent, not both",
                    ))
                }
            };
        let started = std::time::Instant::now();
        let archived = self
            .exclusive("archive", move |chain| chain.ledger.archive_blocks(below))
            .await?;
        let outcome = archived.map_err(|error| match error {
            vchain_ledger::LedgerError::ArchiveRefused { .. } => {
                let mut status = Status::failed_precondition(format!("{ARCHIVE_REFUSED}: {error}"));
                status.metadata_mut().insert(
                    "vchain-archive-code",
                    ARCHIVE_REFUSED.parse().expect("ascii"),
                );
                status
            }
            other => Status::internal(format!("archiving failed: {other}")),
        })?;
        Ok(Response::new(ArchiveBlocksResponse {
            from_height: outcome.from,
            below_height: outcome.below,
            block_bytes: outcome.block_bytes,
            segments: outcome
                .segments
                .iter()
                .map(|segment| ArchiveSegmentInfo {
                    file_name: segment.file_name(),
                    first_height: segment.first,
                    last_height: segment.last,
                    bytes: segment.bytes,
                    sha256: segment.sha256.to_vec(),
                })
                .collect(),
            archive_dir: self.chain.config.archive_dir().display().to_string(),
            took_ms: started.elapsed().as_millis() as u64,
        }))
    }
}

/// The code of a refused archive (in the status message and the `vchain-archive-code`
/// metadata): the request would archive the head or nothing, or more than one call moves, or
/// the node lacks some of those blocks.
pub const ARCHIVE_REFUSED: &str = "ARCHIVE_REFUSED";

/// Serves `NodeAdmin` on the data directory's socket until `stopped` resolves. A stale socket
/// file (from a node that did not stop cleanly) is replaced: the ledger's lock, taken before,
/// proves no other node runs on this directory. Returns the socket's path, or `None` (with a
/// warning) if it cannot be bound: the node runs on without it.
pub(crate) fn serve(
    chain: Arc<Chain>,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> Option<PathBuf> {
    let path = socket_path(&chain.config.data_dir);
    if path.as_os_str().len() > SOCKET_PATH_BYTES_MAX {
        warn!(path = %path.display(), "the data directory's path is too long for a Unix socket: no admin socket (backups need a shorter data_dir)");
        return None;
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(error) => {
            warn!(path = %path.display(), %error, "cannot bind the admin socket: no backups through it");
            return None;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(error) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        {
            warn!(path = %path.display(), %error, "cannot restrict the admin socket to its owner; closing it");
            let _ = std::fs::remove_file(&path);
            return None;
        }
    }
    let service = AdminService {
        chain,
        busy: Arc::new(tokio::sync::Mutex::new(())),
    };
    let served = path.clone();
    tokio::spawn(async move {
        let result = tonic::transport::Server::builder()
            .add_service(NodeAdminServer::new(service))
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), stopped)
            .await;
        if let Err(error) = result {
            warn!(%error, "the admin socket stopped");
        }
        let _ = std::fs::remove_file(&served);
    });
    info!(path = %path.display(), "admin socket serving");
    Some(path)
}

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No node answers on the socket.
    #[error("no node answers on {path} (is it running, with this data directory?): {why}")]
    Unreachable {
        /// The socket.
        path: String,
        /// The connection failure.
        why: String,
    },
    /// The node refused or failed the call.
    #[error("{0}")]
    Refused(String),
}

/// Connects to the admin socket `socket`.
async fn connect(socket: &Path) -> Result<NodeAdminClient<tonic::transport::Channel>, AdminError> {
    let unreachable = |why: String| AdminError::Unreachable {
        path: socket.display().to_string(),
        why,
    };
    let target = socket.to_path_buf();
    // The URI is required by the HTTP/2 layer and ignored: the connector dials the socket.
    let channel = tonic::transport::Endpoint::from_static("http://admin.sock")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let target = target.clone();
            async move {
                UnixStream::connect(target)
                    .await
                    .map(hyper_util::rt::TokioIo::new)
            }
        }))
        .await
        .map_err(|e| unreachable(format!("{e}")))?;
    Ok(NodeAdminClient::new(channel))
}

/// Asks the node whose socket is `socket` to take a backup into `out_dir`.
pub async fn request_backup(socket: &Path, out_dir: &Path) -> Result<BackupResponse, AdminError> {
    let out_dir = std::path::absolute(out_dir)
        .map_err(|e| AdminError::Refused(format!("{}: {e}", out_dir.display())))?;
    connect(socket)
        .await?
        .backup(BackupRequest {
            out_dir: out_dir.display().to_string(),
        })
        .await
        .map(Response::into_inner)
        .map_err(|status| AdminError::Refused(status.message().to_owned()))
}

/// Which old blocks an archive moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveRange {
    /// The blocks below this height.
    Below(u64),
    /// All but the newest this many blocks (at most as many as one call moves).
    KeepRecent(u64),
}

/// Asks the node whose socket is `socket` to archive its old blocks in `range`.
pub async fn request_archive(
    socket: &Path,
    range: ArchiveRange,
) -> Result<ArchiveBlocksResponse, AdminError> {
    let request = match range {
        ArchiveRange::Below(height) => ArchiveBlocksRequest {
            below_height: height,
            keep_recent: 0,
        },
        ArchiveRange::KeepRecent(blocks) => ArchiveBlocksRequest {
            below_height: 0,
            keep_recent: blocks,
        },
    };
    connect(socket)
        .await?
        .archive_blocks(request)
        .await
        .map(Response::into_inner)
        .map_err(|status| AdminError::Refused(status.message().to_owned()))
}
