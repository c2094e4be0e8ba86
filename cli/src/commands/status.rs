//! `vchain status`: the node's status and the chain parameters.

use vchain_proto::v1::GetStatusRequest;

use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn status(&self) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        // Public; signed when a reader is given, so the expiring certificates of the reader's
        // accounts (or, for an auditor, of everyone) are listed too.
        let request = match self.reader {
            Some(_) => self.read(GetStatusRequest {}, "GetStatus").await?,
            None => tonic::Request::new(GetStatusRequest {}),
        };
        let s = self
            .call("reading the node status", c.get_status(request))
            .await?;
        Ok(Out::new(json::to_json(&s), render::status(&s)))
    }
}
