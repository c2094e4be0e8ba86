//! `vchain block get`: reading a block, and checking its commit certificate when it has one
//! (how: `crate::certificate`).

use anyhow::anyhow;
use vchain_contracts::keys;
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::{Block, CommitCertificate, GetBlockRequest, GetStateProofRequest};

use crate::args::Hex32;
use crate::certificate::{self, MembershipWalk, Outcome, VALIDATOR_WALK_BLOCKS_MAX};
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
            Some(c) => Some(self.check_certificate(b, &r.block_hash, c).await?),
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

    /// Checks `certificate` of `block` against the validators of its height: the consensus
    /// configuration the node proves at its head, walked back to the block's height. A node
    /// that cannot be reached fails the command; anything the node serves that does not check
    /// is the outcome `Failed`.
    async fn check_certificate(
        &self,
        block: &Block,
        served_hash: &[u8],
        certificate: &CommitCertificate,
    ) -> anyhow::Result<Outcome> {
        let height = block.header.as_ref().map_or(0, |h| h.height);
        let mut c = self.client().await?;
        let answer = self
            .call(
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
            .await?;
        let proven = match certificate::proven_config(&answer) {
            Ok(proven) => proven,
            Err(e) => return Ok(Outcome::Failed(e)),
        };
        let Some(below) = proven.height.checked_sub(height) else {
            return Ok(Outcome::Failed(certificate::CheckError::Configuration {
                height: proven.height,
                why: format!("it is below block {height}, which the node serves"),
            }));
        };
        if below > VALIDATOR_WALK_BLOCKS_MAX {
            return Ok(Outcome::NotChecked(format!(
                "block {height} is {below} blocks below the node's head; the validators of its height are found by walking at most {VALIDATOR_WALK_BLOCKS_MAX} blocks"
            )));
        }
        let mut walk = match MembershipWalk::start(block) {
            Ok(walk) => walk,
            Err(e) => return Ok(Outcome::Failed(e)),
        };
        while walk.next_height() <= proven.height {
            let next = walk.next_height();
            let r = self
                .get_block(
                    Some(Selector::Height(next)),
                    format!("getting block {next} to find the validators of height {height}"),
                )
                .await?;
            let b = r
                .block
                .ok_or_else(|| anyhow!("getting block {next}: the node returned none"))?;
            if let Err(e) = walk.push(&b) {
                return Ok(Outcome::Failed(e));
            }
        }
        let validators = match walk.validators(&proven) {
            Ok(validators) => validators,
            Err(e) => return Ok(Outcome::Failed(e)),
        };
        Ok(
            match certificate::check(block, served_hash, certificate, &validators, proven.height) {
                Ok(verified) => Outcome::Verified(verified),
                Err(e) => Outcome::Failed(e),
            },
        )
    }
}
