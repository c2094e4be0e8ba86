//! `vchain audit`: reading the permission-change audit log.

use anyhow::anyhow;
use serde_json::json;
use vchain_proto::v1::{AuditEntry, ListAuditLogRequest};

use crate::args::AuditArgs;
use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    /// `audit`: pages of the audit log until `--limit` entries or the end.
    pub(super) async fn audit(&self, args: AuditArgs) -> anyhow::Result<Out> {
        let what = "reading the audit log".to_owned();
        let mut c = self.client().await?;
        let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut token = args.after.unwrap_or_default();
        let next = loop {
            let wanted = (limit - entries.len()).min(vchain_contracts::audit::AUDIT_PAGE_MAX);
            let req = ListAuditLogRequest {
                org_id: args.org_id.clone().unwrap_or_default(),
                account_id: args.account.clone().unwrap_or_default(),
                from_height: args.from_height.unwrap_or(0),
                to_height: args.to_height.unwrap_or(0),
                page_token: token.clone(),
                page_size: u32::try_from(wanted).unwrap_or(u32::MAX),
            };
            let page = self
                .call(
                    what.clone(),
                    c.list_audit_log(self.read(req, "ListAuditLog").await?),
                )
                .await?;
            entries.extend(page.entries);
            if page.next_page_token.is_empty() {
                break String::new();
            }
            if page.next_page_token == token {
                return Err(anyhow!(
                    "{what}: the node returned the same page token twice"
                ));
            }
            token = page.next_page_token;
            if entries.len() >= limit {
                break token;
            }
        };
        let mut text: String = entries
            .iter()
            .filter_map(|e| e.event.as_ref())
            .map(|e| render::event_line(e, true) + "\n")
            .collect();
        text.push_str(&format!("{} audit log entr(ies)\n", entries.len()));
        if !next.is_empty() {
            text.push_str(&format!("more: --after {next}\n"));
        }
        Ok(Out::new(
            json!({ "entries": json::to_json(&entries), "next_page_token": next }),
            text,
        ))
    }
}
