//! `vchain block get`: reading a block, and checking its commit certificate when it has one
//! (how: `crate::certificate`).

use anyhow::anyhow;
use vchain_contracts::keys;
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::{Block, GetBlockRequest, GetStateProofRequest, GetStateProofResponse};

use crate::args::Hex32;
use crate::certificate::{self, NodeReads, Outcome};
use crate::exit::Exit;
use crate::{json, render};

use super::{hex32, Ctx, Out};

impl Ctx {
    pub(super) async fn block(
        &self,
        height: Option<u64>,
        hash: Option<Hex32>,
    ) -> anyhow::Result<Out> {
        let (selector, what) = match (height, hash) {
            (Some(h), _) => (Some(Selector::Height(h)), format!("getting block {h}")),
            (None, Some(h)) => (
                Some(Selector::Hash(hex32(&h))),
                format!("getting block {}", hex::encode(h.0)),
            ),
            (None, None) => (None, "getting the latest block".to_owned()),
        };
        let r = self.get_block(selector, what.clone()).await?;
        let b = r
            .block
            .as_ref()
            .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
        let outcome = match &r.certificate {
            Some(c) => Some(certificate::check_on_node(self, b, &r.block_hash, c).await?),
            None => None,
        };
        let mut document = json::to_json(&r);
        document["certificate_check"] = certificate::to_json(outcome.as_ref());
        let mut text = render::block(b, &r.block_hash);
        text.push_str(&certificate::render(
            r.certificate.as_ref(),
            outcome.as_ref(),
        ));
        let out = Out::new(document, text);
        Ok(match outcome {
            Some(Outcome::Failed(e)) => out.failing(
                Exit::Unverified,
                format!(
                    "block {}: the commit certificate does not verify: {e}",
                    b.header.as_ref().map_or(0, |h| h.height)
                ),
            ),
            _ => out,
        })
    }

    async fn get_block(
        &self,
        selector: Option<Selector>,
        what: String,
    ) -> anyhow::Result<vchain_proto::v1::GetBlockResponse> {
        let mut c = self.client().await?;
        self.call(
            what,
            c.get_block(self.read(GetBlockRequest { selector }, "GetBlock").await?),
        )
        .await
    }
}

/// The CLI reads what a certificate check needs with the `--reader` key.
impl NodeReads for Ctx {
    async fn block_at(&self, height: u64) -> anyhow::Result<Block> {
        self.get_block(
            Some(Selector::Height(height)),
            format!("getting block {height} to find the validators of a block's height"),
        )
        .await?
        .block
        .ok_or_else(|| anyhow!("getting block {height}: the node returned none"))
    }

    async fn consensus_proof(&self) -> anyhow::Result<GetStateProofResponse> {
        let mut c = self.client().await?;
        self.call(
            "proving the consensus configuration",
            c.get_state_proof(
                self.read(
                    GetStateProofRequest {
                        key: keys::CONSENSUS.to_vec(),
                    },
                    "GetStateProof",
                )
                .await?,
            ),
        )
        .await
    }
}
