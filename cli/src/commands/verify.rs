//! Auditors' trace bundles: `vchain voucher trace V --export FILE` fetches one from a node, and
//! `vchain verify FILE --genesis GENESIS` checks it with no node at all (`vchain_bundle::verify`;
//! the rules: docs/verification.md).

use std::path::Path;

use anyhow::{anyhow, Context as _};
use serde_json::json;
use vchain_contracts::genesis::Genesis;
use vchain_proto::v1::ExportTraceBundleRequest;
use vchain_wallet::Refusal;

use crate::exit::Exit;

use super::{Ctx, Out};

impl Ctx {
    /// Fetches the trace bundle of `voucher` from the node and writes it to `file`.
    pub(super) async fn export_bundle(&self, voucher: &str, file: &Path) -> anyhow::Result<Out> {
        let what = format!("exporting the trace bundle of voucher {voucher}");
        let mut c = self.client().await?;
        let mut stream = self
            .call(
                what.clone(),
                c.export_trace_bundle(
                    self.read(
                        ExportTraceBundleRequest {
                            voucher_id: voucher.to_owned(),
                        },
                        "ExportTraceBundle",
                    )
                    .await?,
                ),
            )
            .await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = tokio::time::timeout(self.rpc_timeout, stream.message())
            .await
            .map_err(|_| {
                anyhow::Error::new(Refusal::no_answer(self.rpc_timeout)).context(what.clone())
            })?
            .map_err(|status| anyhow::Error::new(Refusal::from(status)).context(what.clone()))?
        {
            bytes.extend_from_slice(&chunk.data);
            if bytes.len() > vchain_bundle::limits::BUNDLE_BYTES_MAX {
                return Err(anyhow!(
                    "{what}: the node sent more than the {} bytes a bundle may have",
                    vchain_bundle::limits::BUNDLE_BYTES_MAX
                ));
            }
        }
        // What is written is what a bundle is: it must at least decode.
        let bundle = vchain_bundle::decode(&bytes)
            .map_err(|e| anyhow!("{what}: the node sent bytes that are not a bundle: {e}"))?;
        std::fs::write(file, &bytes).with_context(|| format!("writing {}", file.display()))?;
        let tip = bundle
            .tip
            .as_ref()
            .and_then(|t| t.header.as_ref())
            .map_or(0, |h| h.height);
        Ok(Out::new(
            json!({
                "file": file.display().to_string(),
                "bytes": bytes.len(),
                "voucher_id": voucher,
                "tip_height": tip,
                "transactions": bundle.transactions.len(),
                "headers": bundle.headers.len() + 1,
            }),
            format!(
                "wrote {} ({} bytes): the lineage of {voucher} as of certified height {tip}, {} transactions, {} certified headers\ncheck it with: vchain verify {} --genesis GENESIS\n",
                file.display(),
                bytes.len(),
                bundle.transactions.len(),
                bundle.headers.len() + 1,
                file.display()
            ),
        ))
    }

    /// Checks the bundle in `file` against the genesis in `genesis`, with no node.
    pub(super) fn verify_bundle(&self, file: &Path, genesis: &Path) -> anyhow::Result<Out> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let text = std::fs::read_to_string(genesis)
            .with_context(|| format!("reading {}", genesis.display()))?;
        let genesis: Genesis = toml::from_str(&text)
            .with_context(|| format!("{} is not a genesis file", genesis.display()))?;
        match vchain_bundle::decode(&bytes)
            .and_then(|bundle| vchain_bundle::verify(&bundle, &genesis))
        {
            Ok(lineage) => Ok(Out::new(
                json!({ "verified": true, "lineage": serde_json::to_value(&lineage)? }),
                format!(
                    "VERIFIED against genesis of {}\n{lineage}",
                    genesis.chain_id
                ),
            )),
            Err(error) => Ok(Out::new(
                json!({ "verified": false, "code": error.code(), "reason": error.to_string() }),
                String::new(),
            )
            .failing(
                Exit::Rejected,
                format!(
                    "{} does not verify: {}: {error}",
                    file.display(),
                    error.code()
                ),
            )),
        }
    }
}
