//! State sync between consortium nodes: the checkpoints a node keeps and serves, and fetching
//! another node's state when Raft hands this node a snapshot.
//!
//! Every node compacts its own Raft log (Raft §7). Every `snapshot_interval` applied log entries
//! it writes a [`Checkpoint`] (a consistent RocksDB copy of its ledger, hard links, cheap) and
//! compacts its log through the *previous* checkpoint's index, so the log always keeps at least
//! one interval of entries: a follower that is a little behind catches up from the log, and only
//! one that is further behind than that gets a snapshot. The snapshot's data is a
//! [`SnapshotDescriptor`] naming the state (log index, height, block hash, state root); the
//! state itself travels out of band, on the sync protocol, in bounded chunks the receiver
//! streams straight into its ledger ([`RocksLedger::begin_snapshot_install`]), which rebuilds
//! the state tree and refuses the install unless it reproduces the announced state root.
//!
//! A node serves its last [`CHECKPOINTS_KEPT`] checkpoints, so a transfer survives the server
//! compacting once meanwhile. The receiver prefers exactly the state Raft named; if no peer
//! serves it any more it takes a later one from the leader (any committed state at or after the
//! snapshot's is correct to resume from: the committed blocks that follow and are already in it
//! do not extend its head and are skipped, as on every node).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use prost::Message;
use tracing::{info, warn};
use vchain_contracts::block::block_hash;
use vchain_ledger::{
    ChainHead, LedgerError, RocksLedger, SnapshotChunk, SnapshotPart, StorageBudget,
};
use vchain_proto::v1::{
    sync_request, sync_response, Block, GetBlockChunk, GetCertificate, GetSnapshotChunk, KeyValue,
    ListSnapshots, SnapshotChunkData, SnapshotDescriptor, SnapshotList, SyncRequest, SyncResponse,
};

use crate::network::chunk::{chunk_of, Assembler, Chunk};
use crate::network::{NetworkHandle, PeerId};

/// Checkpoints a node keeps and serves.
pub(crate) const CHECKPOINTS_KEPT: usize = 2;
/// Bytes of keys and values per state chunk asked for (below the network's 4 MiB response
/// limit, leaving room for the framing).
pub(crate) const SNAPSHOT_CHUNK_BYTES: u32 = 2 << 20;
/// Bytes per block chunk.
pub(crate) const BLOCK_CHUNK_BYTES: usize = 2 << 20;

/// Why sync data could not be served or used.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Storage failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Files of the checkpoint directory.
    #[error("checkpoint files in {path}: {why}")]
    Files {
        /// Path.
        path: PathBuf,
        /// Cause.
        why: String,
    },
    /// A request or response that does not decode or makes no sense.
    #[error("sync message: {0}")]
    Invalid(String),
    /// The peer could not serve the request.
    #[error("peer refused: {0}")]
    Refused(String),
}

fn files(path: &Path) -> impl Fn(std::io::Error) -> SyncError + '_ {
    move |e| SyncError::Files {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

/// The descriptor of a ledger head at a log index.
pub(crate) fn describe(log_index: u64, head: &ChainHead) -> SnapshotDescriptor {
    SnapshotDescriptor {
        log_index,
        height: head.height,
        block_hash: head.block_hash.to_vec(),
        state_root: head.state_root.to_vec(),
        timestamp_ms: head.timestamp_ms,
    }
}

/// The ledger head a descriptor names.
pub(crate) fn head_of(descriptor: &SnapshotDescriptor) -> Result<ChainHead, SyncError> {
    let hash = |bytes: &[u8], what: &str| {
        <[u8; 32]>::try_from(bytes)
            .map_err(|_| SyncError::Invalid(format!("{what} of {} bytes, want 32", bytes.len())))
    };
    Ok(ChainHead {
        height: descriptor.height,
        block_hash: hash(&descriptor.block_hash, "block hash")?,
        state_root: hash(&descriptor.state_root, "state root")?,
        timestamp_ms: descriptor.timestamp_ms,
    })
}

/// One checkpoint: a consistent copy of the ledger at a log index, opened on first use.
pub(crate) struct Checkpoint {
    /// What it holds.
    pub(crate) descriptor: SnapshotDescriptor,
    dir: PathBuf,
    ledger: Mutex<Option<Arc<RocksLedger>>>,
    /// Set when a newer checkpoint replaced it: the files go with the last reference.
    evicted: AtomicBool,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("log_index", &self.descriptor.log_index)
            .field("height", &self.descriptor.height)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Checkpoint {
    fn ledger(&self) -> Result<Arc<RocksLedger>, SyncError> {
        let mut slot = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ledger) = &*slot {
            return Ok(ledger.clone());
        }
        // Only read from: the smallest budget, so serving checkpoints stays a small part of
        // the node's memory.
        let ledger = Arc::new(RocksLedger::open_with(&self.dir, &StorageBudget::MIN)?);
        *slot = Some(ledger.clone());
        Ok(ledger)
    }

    fn descriptor_path(dir: &Path) -> PathBuf {
        dir.with_extension("descriptor")
    }
}

impl Drop for Checkpoint {
    fn drop(&mut self) {
        if !self.evicted.load(Ordering::SeqCst) {
            return;
        }
        // Close the database before its files go.
        drop(self.ledger.lock().unwrap_or_else(|p| p.into_inner()).take());
        for result in [
            std::fs::remove_dir_all(&self.dir),
            std::fs::remove_file(Self::descriptor_path(&self.dir)),
        ] {
            if let Err(error) = result {
                warn!(%error, dir = %self.dir.display(), "could not remove an old checkpoint");
            }
        }
    }
}

/// The checkpoints this node keeps, newest last.
#[derive(Debug)]
pub(crate) struct CheckpointStore {
    dir: PathBuf,
    kept: Mutex<Vec<Arc<Checkpoint>>>,
}

impl CheckpointStore {
    /// Opens `dir` (creating it), keeping the newest [`CHECKPOINTS_KEPT`] complete checkpoints
    /// and removing anything else (older ones, and any a crash left half written).
    pub(crate) fn open(dir: &Path) -> Result<Self, SyncError> {
        std::fs::create_dir_all(dir).map_err(files(dir))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(files(dir))? {
            let path = entry.map_err(files(dir))?.path();
            if !path.is_dir() {
                continue;
            }
            let descriptor = std::fs::read(Checkpoint::descriptor_path(&path))
                .ok()
                .and_then(|bytes| SnapshotDescriptor::decode(bytes.as_slice()).ok());
            let named = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<u64>().ok());
            match (descriptor, named) {
                (Some(descriptor), Some(index)) if descriptor.log_index == index => {
                    found.push(Checkpoint {
                        descriptor,
                        dir: path,
                        ledger: Mutex::new(None),
                        evicted: AtomicBool::new(false),
                    })
                }
                _ => {
                    warn!(dir = %path.display(), "removing an incomplete checkpoint");
                    std::fs::remove_dir_all(&path).map_err(files(&path))?;
                }
            }
        }
        found.sort_by_key(|c| c.descriptor.log_index);
        let excess = found.len().saturating_sub(CHECKPOINTS_KEPT);
        for old in found.drain(..excess) {
            old.evicted.store(true, Ordering::SeqCst);
        }
        Ok(CheckpointStore {
            dir: dir.to_owned(),
            kept: Mutex::new(found.into_iter().map(Arc::new).collect()),
        })
    }

    /// The kept checkpoints, oldest first.
    pub(crate) fn list(&self) -> Vec<Arc<Checkpoint>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The newest checkpoint, if any.
    pub(crate) fn newest(&self) -> Option<Arc<Checkpoint>> {
        self.list().pop()
    }

    /// Writes a checkpoint of `ledger` (whose head is the result of applying the log through
    /// `log_index`), keeps it, and lets the oldest beyond [`CHECKPOINTS_KEPT`] go.
    pub(crate) fn create(
        &self,
        ledger: &RocksLedger,
        log_index: u64,
    ) -> Result<Arc<Checkpoint>, SyncError> {
        let dir = self.dir.join(log_index.to_string());
        let partial = self.dir.join(format!("{log_index}.partial"));
        for stale in [&dir, &partial] {
            if stale.exists() {
                std::fs::remove_dir_all(stale).map_err(files(stale))?;
            }
        }
        let head = ledger.checkpoint(&partial)?;
        let descriptor = describe(log_index, &head);
        let descriptor_path = Checkpoint::descriptor_path(&dir);
        std::fs::write(&descriptor_path, descriptor.encode_to_vec())
            .map_err(files(&descriptor_path))?;
        // The directory appears under its final name only once complete.
        std::fs::rename(&partial, &dir).map_err(files(&dir))?;
        let checkpoint = Arc::new(Checkpoint {
            descriptor,
            dir,
            ledger: Mutex::new(None),
            evicted: AtomicBool::new(false),
        });
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.push(checkpoint.clone());
        let excess = kept.len().saturating_sub(CHECKPOINTS_KEPT);
        for old in kept.drain(..excess) {
            old.evicted.store(true, Ordering::SeqCst);
        }
        info!(
            log_index,
            height = head.height,
            "checkpoint kept for state sync"
        );
        Ok(checkpoint)
    }

    /// Answers a peer's sync request. Every failure is an answer too (`error`), never a panic.
    pub(crate) fn serve(&self, live: &RocksLedger, request: &[u8]) -> Vec<u8> {
        let response = match self.answer(live, request) {
            Ok(response) => response,
            Err(error) => sync_response::Response::Error(error.to_string()),
        };
        SyncResponse {
            response: Some(response),
        }
        .encode_to_vec()
    }

    fn answer(
        &self,
        live: &RocksLedger,
        request: &[u8],
    ) -> Result<sync_response::Response, SyncError> {
        let request = SyncRequest::decode(request)
            .map_err(|e| SyncError::Invalid(format!("request does not decode: {e}")))?;
        match request.request {
            None => Err(SyncError::Invalid("empty request".into())),
            Some(sync_request::Request::ListSnapshots(ListSnapshots {})) => {
                Ok(sync_response::Response::Snapshots(SnapshotList {
                    snapshots: self.list().iter().map(|c| c.descriptor.clone()).collect(),
                }))
            }
            Some(sync_request::Request::SnapshotChunk(ask)) => {
                let checkpoint = self
                    .list()
                    .into_iter()
                    .find(|c| c.descriptor.height == ask.height)
                    .ok_or_else(|| {
                        SyncError::Refused(format!(
                            "no snapshot at height {} is served any more",
                            ask.height
                        ))
                    })?;
                let part = part_of(ask.part)?;
                let bytes_max = (ask.bytes_max.clamp(1, SNAPSHOT_CHUNK_BYTES)) as usize;
                let after = (!ask.from_start).then_some(ask.after.as_slice());
                let chunk = checkpoint
                    .ledger()?
                    .snapshot_chunk(part, after, bytes_max)?;
                Ok(sync_response::Response::SnapshotChunk(SnapshotChunkData {
                    entries: chunk
                        .entries
                        .into_iter()
                        .map(|(key, value)| KeyValue { key, value })
                        .collect(),
                    more: chunk.more,
                }))
            }
            Some(sync_request::Request::BlockChunk(GetBlockChunk { height, chunk })) => {
                // A block may sit in a checkpoint only (a node that itself installed a
                // snapshot holds no older blocks in its live ledger).
                let mut bytes = live.block_bytes(height)?;
                if bytes.is_none() {
                    for checkpoint in self.list() {
                        if checkpoint.descriptor.height == height {
                            bytes = checkpoint.ledger()?.block_bytes(height)?;
                        }
                    }
                }
                let bytes = bytes.ok_or_else(|| {
                    SyncError::Refused(format!("block {height} is not held here"))
                })?;
                let chunk = chunk_of(&bytes, chunk, BLOCK_CHUNK_BYTES)
                    .map_err(|e| SyncError::Invalid(e.to_string()))?;
                Ok(sync_response::Response::BlockChunk(chunk.encode()))
            }
            Some(sync_request::Request::Certificate(GetCertificate { height })) => {
                let mut bytes = live.certificate(height)?;
                if bytes.is_none() {
                    for checkpoint in self.list() {
                        if checkpoint.descriptor.height == height {
                            bytes = checkpoint.ledger()?.certificate(height)?;
                        }
                    }
                }
                Ok(sync_response::Response::Certificate(
                    bytes.unwrap_or_default(),
                ))
            }
        }
    }
}

fn part_of(part: i32) -> Result<SnapshotPart, SyncError> {
    match vchain_proto::v1::SnapshotPart::try_from(part) {
        Ok(vchain_proto::v1::SnapshotPart::State) => Ok(SnapshotPart::State),
        Ok(vchain_proto::v1::SnapshotPart::Index) => Ok(SnapshotPart::Index),
        _ => Err(SyncError::Invalid(format!("unknown snapshot part {part}"))),
    }
}

/// Encodes a request.
pub(crate) fn request(request: sync_request::Request) -> Vec<u8> {
    SyncRequest {
        request: Some(request),
    }
    .encode_to_vec()
}

/// Decodes a response, turning the peer's `error` into [`SyncError::Refused`].
pub(crate) fn response(bytes: &[u8]) -> Result<sync_response::Response, SyncError> {
    match SyncResponse::decode(bytes)
        .map_err(|e| SyncError::Invalid(format!("response does not decode: {e}")))?
        .response
    {
        None => Err(SyncError::Invalid("empty response".into())),
        Some(sync_response::Response::Error(why)) => Err(SyncError::Refused(why)),
        Some(response) => Ok(response),
    }
}

/// The request for chunk `index` of block `height`.
pub(crate) fn block_chunk_request(height: u64, index: u32) -> Vec<u8> {
    request(sync_request::Request::BlockChunk(GetBlockChunk {
        height,
        chunk: index,
    }))
}

/// The request for the next chunk of `part` of the snapshot at `height`.
pub(crate) fn snapshot_chunk_request(
    height: u64,
    part: SnapshotPart,
    after: Option<&[u8]>,
) -> Vec<u8> {
    request(sync_request::Request::SnapshotChunk(GetSnapshotChunk {
        height,
        part: match part {
            SnapshotPart::State => vchain_proto::v1::SnapshotPart::State,
            SnapshotPart::Index => vchain_proto::v1::SnapshotPart::Index,
        }
        .into(),
        after: after.map(<[u8]>::to_vec).unwrap_or_default(),
        from_start: after.is_none(),
        bytes_max: SNAPSHOT_CHUNK_BYTES,
    }))
}

/// A received chunk as the ledger takes it.
pub(crate) fn chunk_from(part: SnapshotPart, data: SnapshotChunkData) -> SnapshotChunk {
    SnapshotChunk {
        part,
        entries: data
            .entries
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect(),
        more: data.more,
    }
}

/// Checks that `block_bytes` is the block a snapshot's head names; returns its transactions'
/// hashes in block order (the install indexes them, so they are found by hash).
pub(crate) fn check_head_block(
    block_bytes: &[u8],
    head: &ChainHead,
) -> Result<Vec<vchain_contracts::tx::Hash>, SyncError> {
    let block = Block::decode(block_bytes)
        .map_err(|e| SyncError::Invalid(format!("head block does not decode: {e}")))?;
    let header = vchain_contracts::block::check_body(&block)
        .map_err(|mismatch| SyncError::Invalid(format!("head block: {mismatch}")))?;
    if header.height != head.height
        || block_hash(header) != head.block_hash
        || header.state_root.as_slice() != head.state_root.as_slice()
    {
        return Err(SyncError::Invalid(format!(
            "the block served for height {} is not the snapshot's head block",
            head.height
        )));
    }
    Ok(block
        .transactions
        .iter()
        .map(|tx| vchain_contracts::tx::tx_hash(&tx.body))
        .collect())
}

/// The commit certificate `peer` stores for the block at `height`, if any, asked from inside the
/// async runtime (unchecked: the caller verifies it).
pub(crate) async fn fetch_certificate(
    network: &NetworkHandle,
    peer: PeerId,
    height: u64,
) -> Result<Option<vchain_proto::v1::CommitCertificate>, SyncError> {
    let answer = network
        .request(
            peer,
            request(sync_request::Request::Certificate(GetCertificate {
                height,
            })),
        )
        .await
        .map_err(|e| SyncError::Refused(e.to_string()))?;
    match response(&answer)? {
        sync_response::Response::Certificate(bytes) if bytes.is_empty() => Ok(None),
        sync_response::Response::Certificate(bytes) => {
            vchain_proto::v1::CommitCertificate::decode(bytes.as_slice())
                .map(Some)
                .map_err(|e| SyncError::Invalid(format!("certificate: {e}")))
        }
        other => Err(SyncError::Invalid(format!(
            "asked for a certificate, got {other:?}"
        ))),
    }
}

/// Largest block a node fetches while syncing.
pub(crate) const SYNC_BLOCK_BYTES_MAX: usize = 64 << 20;

/// Fetches state from peers, from a thread outside the async runtime (the block producer):
/// each request is run to completion on `runtime`.
pub(crate) struct Fetcher<'a> {
    /// The network.
    pub(crate) network: &'a NetworkHandle,
    /// The runtime the network lives on.
    pub(crate) runtime: &'a tokio::runtime::Handle,
}

impl Fetcher<'_> {
    fn ask(&self, peer: PeerId, bytes: Vec<u8>) -> Result<sync_response::Response, SyncError> {
        let answer = self
            .runtime
            .block_on(self.network.request(peer, bytes))
            .map_err(|e| SyncError::Refused(e.to_string()))?;
        response(&answer)
    }

    /// The snapshots `peer` serves, oldest first.
    pub(crate) fn list(&self, peer: PeerId) -> Result<Vec<SnapshotDescriptor>, SyncError> {
        match self.ask(
            peer,
            request(sync_request::Request::ListSnapshots(ListSnapshots {})),
        )? {
            sync_response::Response::Snapshots(list) => Ok(list.snapshots),
            other => Err(SyncError::Invalid(format!(
                "asked for snapshots, got {other:?}"
            ))),
        }
    }

    /// The encoded block at `height` from `peer`.
    pub(crate) fn block(&self, peer: PeerId, height: u64) -> Result<Vec<u8>, SyncError> {
        let mut assembler = Assembler::new(SYNC_BLOCK_BYTES_MAX);
        while let Some(index) = assembler.next_index() {
            let bytes = match self.ask(peer, block_chunk_request(height, index))? {
                sync_response::Response::BlockChunk(bytes) => bytes,
                other => {
                    return Err(SyncError::Invalid(format!(
                        "asked for a block chunk, got {other:?}"
                    )))
                }
            };
            let chunk = Chunk::decode(&bytes).map_err(|e| SyncError::Invalid(e.to_string()))?;
            assembler
                .push(chunk)
                .map_err(|e| SyncError::Invalid(e.to_string()))?;
        }
        assembler
            .finish()
            .map_err(|e| SyncError::Invalid(e.to_string()))
    }

    /// The commit certificate `peer` stores for the block at `height`, if any (unchecked: the
    /// caller verifies it).
    pub(crate) fn certificate(
        &self,
        peer: PeerId,
        height: u64,
    ) -> Result<Option<vchain_proto::v1::CommitCertificate>, SyncError> {
        self.runtime
            .block_on(fetch_certificate(self.network, peer, height))
    }

    /// Replaces `ledger`'s state with the snapshot `descriptor` names, fetched from `peer`:
    /// the head block first (it must be the one the descriptor names), then every state and
    /// index chunk, then the install checks the rebuilt state root.
    pub(crate) fn install(
        &self,
        peer: PeerId,
        ledger: &RocksLedger,
        descriptor: &SnapshotDescriptor,
    ) -> Result<ChainHead, SyncError> {
        let head = head_of(descriptor)?;
        let block = self.block(peer, head.height)?;
        let tx_hashes = check_head_block(&block, &head)?;
        let mut install = ledger.begin_snapshot_install(head)?;
        let mut chunks = 0u64;
        for part in [SnapshotPart::State, SnapshotPart::Index] {
            let mut after: Option<Vec<u8>> = None;
            loop {
                let data = match self.ask(
                    peer,
                    snapshot_chunk_request(head.height, part, after.as_deref()),
                )? {
                    sync_response::Response::SnapshotChunk(data) => data,
                    other => {
                        return Err(SyncError::Invalid(format!(
                            "asked for a snapshot chunk, got {other:?}"
                        )))
                    }
                };
                let chunk = chunk_from(part, data);
                if chunk.more && chunk.entries.is_empty() {
                    return Err(SyncError::Invalid(
                        "an empty snapshot chunk claims more follow".into(),
                    ));
                }
                install.add_chunk(&chunk)?;
                chunks += 1;
                if !chunk.more {
                    break;
                }
                after = chunk.entries.last().map(|(key, _)| key.clone());
            }
        }
        let installed = install.finish(&block, &tx_hashes)?;
        info!(height = installed.height, chunks, %peer, "state snapshot fetched and installed");
        Ok(installed)
    }
}

/// Fills in the blocks a snapshot install skipped: from the ledger's history gap down to
/// genesis, newest first, each block fetched from `peers()` (tried in turn) and accepted only if
/// it hashes to what its successor names as `prev_hash`; blocks already held are checked the
/// same way. Returns when nothing is missing, when `stop()` says so (the gap stays recorded and
/// a restart resumes), when a newer snapshot moved the gap (call again), or on a broken chain
/// of hashes (an error).
pub(crate) fn backfill_history(
    ledger: &RocksLedger,
    fetcher: &Fetcher<'_>,
    peers: impl Fn() -> Vec<PeerId>,
    stop: impl Fn() -> bool,
    certificates: Option<&CertificateCheck>,
) -> Result<(), SyncError> {
    let Some(below) = ledger.history_gap()? else {
        return Ok(());
    };
    let successor = ledger
        .block(below)?
        .and_then(|b| b.header)
        .ok_or_else(|| SyncError::Invalid(format!("block {below} above the gap is not held")))?;
    let mut expected = successor.prev_hash;
    let mut fetched = 0u64;
    let span = tracing::info_span!("backfill_history", below);
    let _entered = span.enter();
    for height in (0..below).rev() {
        if ledger.history_gap()? != Some(height + 1) {
            return Ok(());
        }
        let header = match ledger.block(height)? {
            Some(block) => {
                let header = block.header.unwrap_or_default();
                if block_hash(&header).as_slice() != expected.as_slice() {
                    return Err(SyncError::Invalid(format!(
                        "block {height} held here does not hash to what block {} names",
                        height + 1
                    )));
                }
                ledger.extend_history(height)?;
                header
            }
            None => {
                let mut attempt = 0u32;
                loop {
                    if stop() {
                        return Ok(());
                    }
                    if let Some((header, bytes, tx_hashes)) =
                        fetch_past_block(fetcher, &peers(), height, &expected)
                    {
                        let hash = block_hash(&header);
                        ledger.store_past_block(height, &hash, &bytes, &tx_hashes)?;
                        if let Some(check) = certificates.filter(|_| height > 0) {
                            if let Some(certificate) =
                                fetch_past_certificate(fetcher, &peers(), height, &hash, check)
                            {
                                ledger.store_certificate(height, &certificate.encode_to_vec())?;
                            }
                        }
                        fetched += 1;
                        break header;
                    }
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(200) * attempt.min(25));
                }
            }
        };
        expected = header.prev_hash;
    }
    info!(fetched, "history complete back to genesis");
    Ok(())
}

/// How a node judges the certificates of past blocks it fills in: the chain id and the
/// validators it knows (those at its head). A certificate made by an earlier set does not
/// verify against them and is not kept: the node then serves that block without one, and a
/// trace bundle needing it is made by another node.
pub(crate) struct CertificateCheck {
    /// The chain id.
    pub(crate) chain_id: String,
    /// The validators the certificates are checked against.
    pub(crate) validators: vchain_contracts::commit_certificate::Validators,
}

/// The certificate of past block `height` (hash `hash`) from the first of `peers` that serves
/// one that names it and verifies.
fn fetch_past_certificate(
    fetcher: &Fetcher<'_>,
    peers: &[PeerId],
    height: u64,
    hash: &[u8; 32],
    check: &CertificateCheck,
) -> Option<vchain_proto::v1::CommitCertificate> {
    for peer in peers {
        match fetcher.certificate(*peer, height) {
            Ok(Some(certificate))
                if certificate.height == height
                    && certificate.block_hash.as_slice() == hash.as_slice()
                    && vchain_contracts::commit_certificate::verify(
                        &check.chain_id,
                        &check.validators,
                        &certificate,
                    )
                    .is_ok() =>
            {
                return Some(certificate);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, height, %peer, "past certificate not fetched");
            }
        }
    }
    None
}

/// Block `height` from the first of `peers` that serves one hashing to `expected`.
fn fetch_past_block(
    fetcher: &Fetcher<'_>,
    peers: &[PeerId],
    height: u64,
    expected: &[u8],
) -> Option<(
    vchain_proto::v1::BlockHeader,
    Vec<u8>,
    Vec<vchain_contracts::tx::Hash>,
)> {
    for peer in peers {
        let bytes = match fetcher.block(*peer, height) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::debug!(%error, height, %peer, "past block not fetched");
                continue;
            }
        };
        let Ok(block) = Block::decode(bytes.as_slice()) else {
            warn!(height, %peer, "a peer served a past block that does not decode");
            continue;
        };
        let Some(header) = block.header.clone() else {
            continue;
        };
        if header.height != height || block_hash(&header).as_slice() != expected {
            warn!(height, %peer, "a peer served a past block that does not fit the chain");
            continue;
        }
        // The hash chain vouches for the header only: the transactions, results and system
        // events must be the ones its roots commit to.
        if let Err(mismatch) = vchain_contracts::block::check_body(&block) {
            warn!(height, %peer, field = mismatch.field.as_str(), %mismatch, "a peer served a past block whose body does not match its header");
            continue;
        }
        let tx_hashes = block
            .transactions
            .iter()
            .map(|tx| vchain_contracts::tx::tx_hash(&tx.body))
            .collect();
        return Some((header, bytes, tx_hashes));
    }
    None
}

/// Which of a peer's snapshots to take: exactly the one `wanted` names if served, else (when
/// `accept_later`, i.e. the peer is the leader) the newest one after it.
pub(crate) fn choose(
    offers: &[SnapshotDescriptor],
    wanted: &SnapshotDescriptor,
    accept_later: bool,
) -> Option<SnapshotDescriptor> {
    offers
        .iter()
        .find(|o| o.height == wanted.height && o.block_hash == wanted.block_hash)
        .or_else(|| {
            offers
                .iter()
                .filter(|o| accept_later && o.height > wanted.height)
                .max_by_key(|o| o.height)
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_ledger::{BlockCommit, WriteSet};

    /// A ledger with a genesis-like block 0 holding `entries` state entries.
    fn ledger_with(dir: &Path, entries: usize) -> RocksLedger {
        let ledger = RocksLedger::open(dir).expect("open");
        let mut writes = WriteSet::new();
        for i in 0..entries {
            writes.insert(format!("k/{i:06}").into_bytes(), Some(vec![i as u8; 100]));
        }
        let tree = ledger.prepare_state(&writes).expect("prepare");
        // A sealed empty block, so the head block passes every body check.
        let (block, _) = vchain_contracts::block::seal(
            vchain_contracts::block::BlockDraft {
                chain_id: "sync-test".into(),
                height: 0,
                prev_hash: [0; 32],
                timestamp_ms: 1,
                proposer: "genesis".into(),
            },
            Vec::new(),
            &vchain_contracts::BlockOutcome::default(),
            tree.root,
        );
        let header = block.header.clone().expect("header");
        ledger
            .commit_block(&BlockCommit {
                height: 0,
                block_hash: block_hash(&header),
                state_root: tree.root,
                timestamp_ms: 1,
                block_bytes: &block.encode_to_vec(),
                tx_hashes: &[],
                state_writes: &writes,
                tree: &tree,
                index_writes: &WriteSet::new(),
                certificate: None,
            })
            .expect("commit");
        ledger
    }

    fn ask(store: &CheckpointStore, live: &RocksLedger, bytes: &[u8]) -> sync_response::Response {
        SyncResponse::decode(store.serve(live, bytes).as_slice())
            .expect("every answer decodes")
            .response
            .expect("an answer")
    }

    #[test]
    fn keeps_the_newest_checkpoints_and_serves_their_state_in_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = ledger_with(&dir.path().join("live"), 3_000);
        let store = CheckpointStore::open(&dir.path().join("checkpoints")).expect("store");
        for index in [10, 20, 30] {
            store.create(&live, index).expect("checkpoint");
        }
        let kept: Vec<u64> = store
            .list()
            .iter()
            .map(|c| c.descriptor.log_index)
            .collect();
        assert_eq!(kept, vec![20, 30], "the oldest beyond two is dropped");
        assert!(
            !dir.path().join("checkpoints/10").exists(),
            "its files are removed"
        );

        // Reopening finds the same two; a half-written one is removed.
        std::fs::create_dir(dir.path().join("checkpoints/40.partial")).expect("mkdir");
        drop(store);
        let store = CheckpointStore::open(&dir.path().join("checkpoints")).expect("reopen");
        assert_eq!(store.list().len(), 2);
        assert!(!dir.path().join("checkpoints/40.partial").exists());

        // The whole state comes back, chunk by chunk, in key order, into another ledger,
        // whose install checks the root.
        let head = live.head().expect("head").expect("a head");
        let mut received = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            // Small chunks, so the transfer takes many.
            let request = request(sync_request::Request::SnapshotChunk(GetSnapshotChunk {
                height: 0,
                part: vchain_proto::v1::SnapshotPart::State.into(),
                after: after.clone().unwrap_or_default(),
                from_start: after.is_none(),
                bytes_max: 16 << 10,
            }));
            let sync_response::Response::SnapshotChunk(data) = ask(&store, &live, &request) else {
                panic!("a chunk");
            };
            let chunk = chunk_from(SnapshotPart::State, data);
            after = chunk.entries.last().map(|(k, _)| k.clone());
            let more = chunk.more;
            received.push(chunk);
            if !more {
                break;
            }
        }
        assert!(
            received.len() > 10,
            "300 KB in 16 KiB chunks: {}",
            received.len()
        );
        let total: usize = received.iter().map(|c| c.entries.len()).sum();
        assert_eq!(total, 3_000);
        let target = RocksLedger::open(&dir.path().join("target")).expect("open");
        let mut install = target.begin_snapshot_install(head).expect("begin");
        for chunk in &received {
            install.add_chunk(chunk).expect("chunk");
        }
        let sync_response::Response::BlockChunk(bytes) =
            ask(&store, &live, &block_chunk_request(0, 0))
        else {
            panic!("a block chunk");
        };
        let block = Chunk::decode(&bytes).expect("chunk").bytes;
        let tx_hashes = check_head_block(&block, &head).expect("the head block");
        assert_eq!(install.finish(&block, &tx_hashes).expect("finish"), head);
    }

    #[test]
    fn bad_requests_get_typed_answers_not_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = ledger_with(&dir.path().join("live"), 10);
        let store = CheckpointStore::open(&dir.path().join("checkpoints")).expect("store");
        for request in [
            vec![0xff, 0xff, 0xff],
            Vec::new(),
            snapshot_chunk_request(7, SnapshotPart::State, None),
            block_chunk_request(99, 0),
            request(sync_request::Request::SnapshotChunk(GetSnapshotChunk {
                height: 0,
                part: 42,
                ..Default::default()
            })),
        ] {
            assert!(
                matches!(
                    ask(&store, &live, &request),
                    sync_response::Response::Error(_)
                ),
                "{request:?}"
            );
        }
        assert!(matches!(
            response(&store.serve(&live, &block_chunk_request(99, 0))),
            Err(SyncError::Refused(_))
        ));
    }

    #[test]
    fn takes_exactly_the_named_snapshot_or_a_later_one_from_the_leader() {
        let at = |height: u64, hash: u8| SnapshotDescriptor {
            log_index: height * 2,
            height,
            block_hash: vec![hash; 32],
            state_root: vec![0; 32],
            timestamp_ms: 0,
        };
        let wanted = at(10, 1);
        let offers = [at(5, 5), at(10, 1), at(15, 7)];
        assert_eq!(choose(&offers, &wanted, true), Some(at(10, 1)));
        let later = [at(5, 5), at(15, 7), at(12, 3)];
        assert_eq!(choose(&later, &wanted, true), Some(at(15, 7)));
        assert_eq!(
            choose(&later, &wanted, false),
            None,
            "only the leader's later state"
        );
        assert_eq!(
            choose(&[at(10, 9)], &wanted, false),
            None,
            "same height, other block"
        );
    }
}
