//! The explorer's one node: every read signed as the `--reader` account, every call bounded by
//! the call timeout, and the committed blocks it has read kept (bounded) for certificate walks.
//!
//! Owns: talking to the node. Must not depend on: HTTP (handlers turn [`ApiError`]s into
//! answers), RocksDB (the explorer is a gRPC client like the rest of the CLI).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use prost::Message as _;
use vchain_contracts::keys;
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::get_pledge_request::Selector as PledgeSelector;
use vchain_proto::v1::list_vouchers_request::Owner;
use vchain_proto::v1::{
    Account, Block, EventEnvelope, ExportTraceBundleRequest, GetAccountRequest, GetBlockRequest,
    GetBlockResponse, GetPledgeRequest, GetProposalRequest, GetProposalResponse,
    GetStateProofRequest, GetStateProofResponse, GetStatusRequest, GetStatusResponse,
    GetTransactionRequest, GetTransactionResponse, GetVoucherRequest, ListProposalsRequest,
    ListProposalsResponse, ListVouchersRequest, ListVouchersResponse, Pledge,
    SubscribeEventsRequest, TraceVoucherRequest, TraceVoucherResponse, Voucher,
};
use vchain_wallet::{Client, Refusal, Signer, WalletError};

use super::error::ApiError;
use super::BLOCK_CACHE_BYTES_MAX;
use crate::certificate::NodeReads;

/// The node, read as one account.
#[derive(Debug)]
pub(crate) struct Node {
    client: Client,
    reader: Signer,
    /// Committed blocks read so far, by height, at most [`BLOCK_CACHE_BYTES_MAX`] encoded bytes.
    /// A committed block never changes, so a walk over the same heights reads them once.
    blocks: Mutex<BlockCache>,
}

impl Node {
    /// The node behind `client`, read as `reader`.
    pub(crate) fn new(client: Client, reader: Signer) -> Self {
        Self {
            client,
            reader,
            blocks: Mutex::new(BlockCache::new(BLOCK_CACHE_BYTES_MAX)),
        }
    }

    /// The account reads are signed as.
    pub(crate) fn reader(&self) -> &str {
        self.reader.account()
    }

    /// The chain the node serves.
    pub(crate) fn chain_id(&self) -> &str {
        self.client.chain_id()
    }

    fn read<T: prost::Message>(&self, method: &str, message: T) -> tonic::Request<T> {
        self.reader.read(self.client.chain_id(), method, message)
    }

    async fn call<T>(
        &self,
        what: String,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, ApiError> {
        self.client.call(what, call).await.map_err(from_wallet)
    }

    /// The node's status, signed (so the reader's expiring certificates are listed too).
    pub(crate) async fn status(&self) -> Result<GetStatusResponse, ApiError> {
        let mut api = self.client.api();
        self.call(
            "reading the node status".into(),
            api.get_status(self.read("GetStatus", GetStatusRequest {})),
        )
        .await
    }

    /// The node's public status (unsigned: what the live head poll needs).
    pub(crate) async fn public_status(&self) -> Result<GetStatusResponse, ApiError> {
        self.client.status().await.map_err(from_wallet)
    }

    /// The block at `height` with its certificate, as the node serves it now (a certificate
    /// may be attached to a committed block later, so this answer is never cached; its block
    /// is).
    pub(crate) async fn block(&self, height: u64) -> Result<GetBlockResponse, ApiError> {
        let mut api = self.client.api();
        let request = GetBlockRequest {
            selector: Some(Selector::Height(height)),
        };
        let response = self
            .call(
                format!("getting block {height}"),
                api.get_block(self.read("GetBlock", request)),
            )
            .await?;
        if let Some(block) = &response.block {
            self.remember(block);
        }
        Ok(response)
    }

    /// The committed block at `height`, from the cache when it was read before.
    pub(crate) async fn committed_block(&self, height: u64) -> Result<Arc<Block>, ApiError> {
        if let Some(block) = self.cached(height) {
            return Ok(block);
        }
        let response = self.block(height).await?;
        let block = response.block.ok_or_else(|| {
            ApiError::bad_node(format!("getting block {height}: the node returned none"))
        })?;
        Ok(Arc::new(block))
    }

    fn cached(&self, height: u64) -> Option<Arc<Block>> {
        let cache = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(height)
    }

    fn remember(&self, block: &Block) {
        let mut cache = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(block.clone());
    }

    /// A transaction by hash.
    pub(crate) async fn transaction(
        &self,
        hash: Vec<u8>,
    ) -> Result<GetTransactionResponse, ApiError> {
        let mut api = self.client.api();
        let what = format!("getting transaction {}", hex::encode(&hash));
        self.call(
            what,
            api.get_transaction(
                self.read("GetTransaction", GetTransactionRequest { tx_hash: hash }),
            ),
        )
        .await
    }

    /// An account.
    pub(crate) async fn account(&self, account_id: &str) -> Result<Account, ApiError> {
        let mut api = self.client.api();
        let request = GetAccountRequest {
            account_id: account_id.to_owned(),
        };
        self.call(
            format!("getting account {account_id}"),
            api.get_account(self.read("GetAccount", request)),
        )
        .await?
        .account
        .ok_or_else(|| ApiError::bad_node(format!("getting account {account_id}: none returned")))
    }

    /// One page of the vouchers `owner` holds or issued.
    pub(crate) async fn vouchers(
        &self,
        owner: Owner,
        page_token: String,
        page_size: u32,
    ) -> Result<ListVouchersResponse, ApiError> {
        let mut api = self.client.api();
        let what = match &owner {
            Owner::Holder(h) => format!("listing vouchers held by {h}"),
            Owner::Issuer(i) => format!("listing vouchers issued by {i}"),
        };
        let request = ListVouchersRequest {
            owner: Some(owner),
            live_only: false,
            page_token,
            page_size,
        };
        self.call(what, api.list_vouchers(self.read("ListVouchers", request)))
            .await
    }

    /// A voucher.
    pub(crate) async fn voucher(&self, voucher_id: &str) -> Result<Voucher, ApiError> {
        let mut api = self.client.api();
        let request = GetVoucherRequest {
            voucher_id: voucher_id.to_owned(),
        };
        self.call(
            format!("getting voucher {voucher_id}"),
            api.get_voucher(self.read("GetVoucher", request)),
        )
        .await?
        .voucher
        .ok_or_else(|| ApiError::bad_node(format!("getting voucher {voucher_id}: none returned")))
    }

    /// A voucher's whole lineage, read a page at a time.
    pub(crate) async fn trace(&self, voucher_id: &str) -> Result<TraceVoucherResponse, ApiError> {
        vchain_wallet::trace::whole_trace(|page_token| async move {
            let mut api = self.client.api();
            let request = TraceVoucherRequest {
                voucher_id: voucher_id.to_owned(),
                page_size: vchain_wallet::trace::TRACE_PAGE_SIZE,
                page_token,
            };
            self.call(
                format!("tracing voucher {voucher_id}"),
                api.trace_voucher(self.read("TraceVoucher", request)),
            )
            .await
        })
        .await
    }

    /// The encoded trace bundle of a voucher's lineage (`ExportTraceBundle`), at most
    /// `vchain_bundle::limits::BUNDLE_BYTES_MAX` bytes.
    pub(crate) async fn trace_bundle(&self, voucher_id: &str) -> Result<Vec<u8>, ApiError> {
        let mut api = self.client.api();
        let what = format!("exporting the trace bundle of {voucher_id}");
        let request = ExportTraceBundleRequest {
            voucher_id: voucher_id.to_owned(),
        };
        let mut stream = self
            .call(
                what.clone(),
                api.export_trace_bundle(self.read("ExportTraceBundle", request)),
            )
            .await?;
        let mut bytes = Vec::new();
        loop {
            let next = tokio::time::timeout(super::NODE_CALL_TIMEOUT_MAX, stream.message())
                .await
                .map_err(|_| ApiError::node_timeout(what.clone(), super::NODE_CALL_TIMEOUT_MAX))?
                .map_err(|status| ApiError::refused(what.clone(), &Refusal::from(status)))?;
            let Some(chunk) = next else {
                return Ok(bytes);
            };
            bytes.extend_from_slice(&chunk.data);
            if bytes.len() > vchain_bundle::limits::BUNDLE_BYTES_MAX {
                return Err(ApiError::bad_node(format!(
                    "{what}: more than the {} bytes a bundle may have",
                    vchain_bundle::limits::BUNDLE_BYTES_MAX
                )));
            }
        }
    }

    /// A pledge registration, by number or by the voucher it locks.
    pub(crate) async fn pledge(&self, selector: PledgeSelector) -> Result<Pledge, ApiError> {
        let mut api = self.client.api();
        let what = match &selector {
            PledgeSelector::RegistrationNumber(n) => format!("getting pledge {n}"),
            PledgeSelector::VoucherId(v) => format!("getting the pledge of voucher {v}"),
            PledgeSelector::ReceiptId(r) => format!("getting the pledge of receipt {r}"),
        };
        let request = GetPledgeRequest {
            selector: Some(selector),
        };
        self.call(
            what.clone(),
            api.get_pledge(self.read("GetPledge", request)),
        )
        .await?
        .pledge
        .ok_or_else(|| ApiError::bad_node(format!("{what}: none returned")))
    }

    /// One page of proposals.
    pub(crate) async fn proposals(
        &self,
        open_only: bool,
        page_token: String,
        page_size: u32,
    ) -> Result<ListProposalsResponse, ApiError> {
        let mut api = self.client.api();
        let request = ListProposalsRequest {
            open_only,
            page_token,
            page_size,
        };
        self.call(
            "listing proposals".into(),
            api.list_proposals(self.read("ListProposals", request)),
        )
        .await
    }

    /// A proposal with its history.
    pub(crate) async fn proposal(
        &self,
        proposal_id: &str,
    ) -> Result<GetProposalResponse, ApiError> {
        let mut api = self.client.api();
        let request = GetProposalRequest {
            proposal_id: proposal_id.to_owned(),
        };
        self.call(
            format!("getting proposal {proposal_id}"),
            api.get_proposal(self.read("GetProposal", request)),
        )
        .await
    }

    /// The consensus configuration with its proof against the head's state root.
    pub(crate) async fn consensus_proof(&self) -> Result<GetStateProofResponse, ApiError> {
        let mut api = self.client.api();
        let request = GetStateProofRequest {
            key: keys::CONSENSUS.to_vec(),
        };
        self.call(
            "proving the consensus configuration".into(),
            api.get_state_proof(self.read("GetStateProof", request)),
        )
        .await
    }

    /// The committed events from `from_height` on (0: only new ones), as a stream.
    pub(crate) async fn subscribe(
        &self,
        from_height: u64,
    ) -> Result<tonic::Streaming<EventEnvelope>, ApiError> {
        let mut api = self.client.api();
        let request = SubscribeEventsRequest {
            from_height,
            account_id: String::new(),
            voucher_id: String::new(),
        };
        self.call(
            "following events".into(),
            api.subscribe_events(self.read("SubscribeEvents", request)),
        )
        .await
    }
}

/// A certificate check reads through the explorer's node (and its block cache).
impl NodeReads for Node {
    async fn block_at(&self, height: u64) -> anyhow::Result<Block> {
        let block: Arc<Block> = self.committed_block(height).await?;
        Ok(Block::clone(&block))
    }

    async fn consensus_proof(&self) -> anyhow::Result<GetStateProofResponse> {
        Ok(Node::consensus_proof(self).await?)
    }
}

/// A wallet failure as the explorer answers it: the node's refusal with its rule code.
fn from_wallet(error: WalletError) -> ApiError {
    match error {
        WalletError::Refused { what, refusal } => ApiError::refused(what, &refusal),
        WalletError::Timeout { what, after } => ApiError::node_timeout(what, after),
        other => ApiError::unavailable(other.to_string()),
    }
}

/// Committed blocks by height, evicting the lowest heights past a byte budget (the newest
/// blocks are the ones walks from the head read again).
#[derive(Debug)]
pub(crate) struct BlockCache {
    blocks: BTreeMap<u64, (Arc<Block>, usize)>,
    bytes: usize,
    budget: usize,
}

impl BlockCache {
    /// An empty cache keeping at most `budget` encoded bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            blocks: BTreeMap::new(),
            bytes: 0,
            budget,
        }
    }

    /// The block at `height`, if kept.
    pub(crate) fn get(&self, height: u64) -> Option<Arc<Block>> {
        self.blocks.get(&height).map(|(b, _)| Arc::clone(b))
    }

    /// Keeps `block` (a block alone larger than the budget is not kept).
    pub(crate) fn insert(&mut self, block: Block) {
        let height = block.header.as_ref().map_or(0, |h| h.height);
        let size = block.encoded_len();
        if size > self.budget || self.blocks.contains_key(&height) {
            return;
        }
        self.bytes = self.bytes.saturating_add(size);
        self.blocks.insert(height, (Arc::new(block), size));
        while self.bytes > self.budget {
            let Some((_, (_, evicted))) = self.blocks.pop_first() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(evicted);
        }
    }

    /// The encoded bytes kept.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::BlockHeader;

    fn block(height: u64, padding: usize) -> Block {
        Block {
            header: Some(BlockHeader {
                height,
                proposer: "p".repeat(padding),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_cache_keeps_the_newest_blocks_within_its_budget() {
        let budget = 3_000;
        let mut cache = BlockCache::new(budget);
        for height in 1..=4 {
            cache.insert(block(height, budget / 3 - 20));
        }
        assert!(cache.bytes() <= budget);
        assert!(cache.get(1).is_none(), "the lowest height goes first");
        assert!(cache.get(4).is_some() && cache.get(3).is_some());
        // A block larger than the whole budget is not kept, and evicts nothing.
        cache.insert(block(9, budget + 1));
        assert!(cache.get(9).is_none());
        assert!(cache.get(4).is_some());
    }
}
