//! `vchain tx ...`: reading a committed transaction, or waiting for one to commit.

use std::time::Duration;

use vchain_proto::v1::GetTransactionRequest;
use vchain_wallet::Refusal;

use crate::args::Hex32;
use crate::exit::TxPending;
use crate::{json, render};

use super::{hex32, Ctx, Out};

/// How often `vchain tx wait` asks whether a pending transaction committed.
const TX_WAIT_POLL: Duration = Duration::from_millis(250);

impl Ctx {
    /// Polls for `hash` until it is committed or `timeout_secs` pass (then exit 7, pending).
    pub(super) async fn tx_wait(&self, hash: Hex32, timeout_secs: u64) -> anyhow::Result<Out> {
        let deadline = std::time::Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            match self.tx_get(hash).await {
                Ok(out) => return Ok(out),
                Err(error)
                    if error
                        .downcast_ref::<Refusal>()
                        .is_some_and(|rpc| rpc.status == tonic::Code::NotFound)
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(TX_WAIT_POLL).await;
                }
                Err(error)
                    if error
                        .downcast_ref::<Refusal>()
                        .is_some_and(|rpc| rpc.status == tonic::Code::NotFound) =>
                {
                    return Err(anyhow::Error::new(TxPending {
                        tx_hash: hex::encode(hash.0),
                    }));
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub(super) async fn tx_get(&self, hash: Hex32) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        let r = self
            .call(
                format!("getting transaction {}", hex::encode(hash.0)),
                c.get_transaction(
                    self.read(
                        GetTransactionRequest {
                            tx_hash: hex32(&hash),
                        },
                        "GetTransaction",
                    )
                    .await?,
                ),
            )
            .await?;
        Ok(Out::new(json::to_json(&r), render::transaction(&r)))
    }
}
