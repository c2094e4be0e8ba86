//! `vchain explorer`: unlocks the `--reader` key, connects to the node and serves the web
//! explorer (`crate::explorer`) until Ctrl-C.

use std::io::Write as _;

use anyhow::Context as _;

use serde_json::json;
use vchain_wallet::Signer;

use crate::args::ExplorerArgs;
use crate::exit::UsageError;
use crate::explorer;

use super::{wallet_error, Ctx, Out};

impl Ctx {
    pub(super) async fn explorer(&self, args: ExplorerArgs) -> anyhow::Result<Out> {
        let name = self.reader.as_deref().ok_or_else(|| {
            UsageError(
                "the explorer reads as one account: give --reader KEY (or set VCHAIN_READER); an auditor such as a regulator's key sees everything".into(),
            )
        })?;
        let (key, account) = self.signer(name)?;
        let client = vchain_wallet::Client::with_channel(self.channel().await?)
            .await
            .map_err(wallet_error)?
            .with_call_timeout(self.rpc_timeout.min(explorer::NODE_CALL_TIMEOUT_MAX));
        let genesis = match &args.genesis {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Some(
                    toml::from_str::<vchain_contracts::genesis::Genesis>(&text)
                        .with_context(|| format!("{} is not a genesis file", path.display()))?,
                )
            }
            None => None,
        };
        let server = explorer::Explorer::bind(
            args.listen,
            client,
            Signer::new(account.clone(), key),
            self.endpoint.clone(),
            genesis,
        )
        .await?;
        let address = server.local_addr();
        {
            // Printed at once (a test reads it to find a port chosen with `--listen ...:0`).
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "explorer: serving http://{address}/ for node {} (reads signed as {account}); Ctrl-C stops it",
                self.endpoint
            );
            let _ = out.flush();
        }
        server
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(Out::new(
            json!({ "stopped": "interrupted", "listen": address.to_string() }),
            "explorer: stopped\n",
        ))
    }
}
