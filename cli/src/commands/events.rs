//! `vchain events`: following committed events.

use std::io::Write as _;
use std::time::Duration;

use serde_json::json;
use vchain_proto::v1::SubscribeEventsRequest;
use vchain_wallet::Refusal;

use crate::args::EventsArgs;
use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    /// Follows the event stream until `--limit` events, `--timeout-secs`, the end of the stream
    /// or Ctrl-C. Human output is streamed line by line; `--json` prints all events at the end.
    pub(super) async fn events(&self, a: EventsArgs) -> anyhow::Result<Out> {
        let deadline = a
            .timeout_secs
            .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);

        let mut events = Vec::new();
        let request = SubscribeEventsRequest {
            from_height: a.from_height,
            account_id: a.account.unwrap_or_default(),
            voucher_id: a.voucher.unwrap_or_default(),
        };
        let what = "following events";
        let stopped = 'run: {
            let mut client = tokio::select! {
                c = self.client() => c?,
                _ = &mut sleep => break 'run "timeout",
                _ = &mut ctrl_c => break 'run "interrupted",
            };
            let request = self.read(request, "SubscribeEvents").await?;
            let mut stream = tokio::select! {
                r = client.subscribe_events(request) => {
                    r.map_err(|s| anyhow::Error::new(Refusal::from(s)).context(what))?.into_inner()
                }
                _ = &mut sleep => break 'run "timeout",
                _ = &mut ctrl_c => break 'run "interrupted",
            };
            loop {
                if a.limit.is_some_and(|l| events.len() as u64 >= l) {
                    break 'run "limit";
                }
                let next = tokio::select! {
                    m = stream.message() => m.map_err(|s| anyhow::Error::new(Refusal::from(s)).context(what))?,
                    _ = &mut sleep => break 'run "timeout",
                    _ = &mut ctrl_c => break 'run "interrupted",
                };
                let Some(envelope) = next else {
                    break 'run "end of stream";
                };
                let Some(event) = envelope.event else {
                    // A node's own alert (not a chain event): say it, loudly, on stderr.
                    let alert = envelope.alert.unwrap_or_default();
                    if let Some(e) = alert.equivocation {
                        eprintln!(
                            "ALERT: consensus node {} signed two blocks at height {}: {} and {}",
                            e.node_id,
                            e.height,
                            hex::encode(&e.first_block_hash),
                            hex::encode(&e.second_block_hash)
                        );
                    }
                    if let Some(u) = alert.rules_upgrade_unsupported {
                        eprintln!(
                            "ALERT: the chain activates rules v{} at height {} (proposal {}); this node executes rules up to v{}: upgrade its release before then, or it stops there",
                            u.version, u.activation_height, u.proposal_id, u.rules_version_max
                        );
                    }
                    continue;
                };
                if !self.json {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", render::event_line(&event, true));
                    let _ = out.flush();
                }
                events.push(event);
            }
        };
        Ok(Out::new(
            json!({ "events": json::to_json(&events), "count": events.len(), "stopped": stopped }),
            String::new(),
        ))
    }
}
