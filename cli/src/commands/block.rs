//! `vchain block get`: reading a block.

use anyhow::anyhow;
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::GetBlockRequest;

use crate::args::Hex32;
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
        let mut c = self.client().await?;
        let r = self
            .call(
                what.clone(),
                c.get_block(self.read(GetBlockRequest { selector }, "GetBlock").await?),
            )
            .await?;
        let b = r
            .block
            .as_ref()
            .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
        Ok(Out::new(json::to_json(&r), render::block(b, &r.block_hash)))
    }
}
