//! Human-readable output: one-line events, the voucher lineage tree and key/value listings.

use std::fmt::Write as _;

use vchain_proto::v1::{
    Account, AccountStatus, Block, CreditLine, CreditLineStatus, DeviceKind, ErrorCode, Event,
    EventKind, GetStatusResponse, GetTransactionResponse, HealthCause, Identity, IdentityStatus,
    PledgeHealth, Proposal, ProposalStatus, Role, SubmitTransactionResponse, TraceVoucherResponse,
    TransactionBody, TxResult, Voucher, VoucherStatus,
};
use vchain_wallet::time::format_utc_ms;

use crate::json;

/// Hex characters of a transaction hash shown in one-line renderings.
const SHORT_HASH: usize = 12;

/// The proto name of an enum value prost keeps as `i32` (`UNKNOWN_<n>` for a value this build
/// does not know), e.g. `enum_name(e.kind, EventKind::as_str_name)`.
pub(crate) fn enum_name<E: TryFrom<i32>>(value: i32, name: fn(&E) -> &'static str) -> String {
    E::try_from(value)
        .map(|known| name(&known).to_owned())
        .unwrap_or_else(|_| format!("UNKNOWN_{value}"))
}

/// `name` without the enum's type prefix (`EVENT_KIND_VOUCHER_ISSUED` -> `VOUCHER_ISSUED`).
fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// Event kind for display.
pub(crate) fn event_kind(kind: i32) -> String {
    short(&enum_name(kind, EventKind::as_str_name), "EVENT_KIND_").to_owned()
}

/// Voucher status for display.
pub(crate) fn voucher_status(status: i32) -> String {
    short(
        &enum_name(status, VoucherStatus::as_str_name),
        "VOUCHER_STATUS_",
    )
    .to_owned()
}

/// Result code for display.
pub(crate) fn result_code(code: i32) -> String {
    short(&enum_name(code, ErrorCode::as_str_name), "ERROR_CODE_").to_owned()
}

/// A sensor reading's measurement as text, e.g. `quantity=40` or `climate=-150c/100`.
fn measurement_text(reading: &vchain_proto::v1::SensorReading) -> String {
    use vchain_proto::v1::sensor_reading::Measurement;
    match &reading.measurement {
        Some(Measurement::Quantity(n)) => format!("quantity={n}"),
        Some(Measurement::UnitsOut(n)) => format!("units_out={n}"),
        Some(Measurement::Climate(c)) => format!("climate={}c/100", c.centi_celsius),
        Some(Measurement::Position(p)) => format!("position={},{}e-7", p.lat_e7, p.lon_e7),
        Some(Measurement::LockOpen(open)) => format!("lock_open={open}"),
        Some(Measurement::RfidTag(tag)) => format!("rfid={tag}"),
        None => "none".to_owned(),
    }
}

/// One event on one line: height, chain time, kind, actor, then what the event carries.
/// `with_voucher` adds the voucher id (left out under a voucher in a trace).
pub(crate) fn event_line(e: &Event, with_voucher: bool) -> String {
    let mut s = format!(
        "h={} {} {}",
        e.height,
        format_utc_ms(e.time_ms),
        event_kind(e.kind)
    );
    let actor = if e.actor.is_empty() {
        "(chain)"
    } else {
        e.actor.as_str()
    };
    let _ = write!(s, " actor={actor}");
    if with_voucher && !e.voucher_id.is_empty() {
        let _ = write!(s, " voucher={}", e.voucher_id);
    }
    if e.amount > 0 || !e.currency.is_empty() {
        let _ = write!(s, " amount={} {}", e.amount, e.currency);
    }
    if !e.counterparty.is_empty() {
        let _ = write!(s, " counterparty={}", e.counterparty);
    }
    if !e.node_id.is_empty() {
        let _ = write!(s, " node={}", e.node_id);
    }
    if !e.proposal_id.is_empty() {
        let _ = write!(s, " proposal={}", e.proposal_id);
    }
    if !e.org_id.is_empty() {
        let _ = write!(s, " org={}", e.org_id);
    }
    for (label, value) in [
        ("receipt", &e.receipt_id),
        ("pledge", &e.pledge),
        ("device", &e.device_id),
    ] {
        if !value.is_empty() {
            let _ = write!(s, " {label}={value}");
        }
    }
    if !e.related_vouchers.is_empty() {
        let label = if e.kind == EventKind::VoucherSplit as i32 {
            "children"
        } else if e.kind == EventKind::VoucherCreatedBySplit as i32 {
            "parent"
        } else {
            "related"
        };
        let _ = write!(s, " {label}={}", e.related_vouchers.join(","));
    }
    if e.consideration > 0 {
        let _ = write!(s, " consideration={}", e.consideration);
    }
    if !e.previous_holder.is_empty() {
        let _ = write!(s, " from={}", e.previous_holder);
    }
    if !e.uscc.is_empty() {
        let _ = write!(s, " uscc={}", e.uscc);
    }
    if e.role != 0 {
        let _ = write!(
            s,
            " role={}",
            short(&enum_name(e.role, Role::as_str_name), "ROLE_")
        );
    }
    if !e.amounts.is_empty() {
        let amounts: Vec<String> = e.amounts.iter().map(u64::to_string).collect();
        let _ = write!(s, " amounts={}", amounts.join("+"));
    }
    if e.quantity > 0 {
        let _ = write!(s, " quantity={}", e.quantity);
    }
    if e.limit > 0 {
        let _ = write!(s, " limit={}", e.limit);
    }
    if e.rules_version > 0 {
        let _ = write!(s, " rules=v{}", e.rules_version);
    }
    if e.activation_height > 0 {
        let _ = write!(s, " activation_height={}", e.activation_height);
    }
    for (label, bytes) in [
        ("digest", &e.digest),
        ("key", &e.public_key),
        ("serial", &e.certificate_serial),
        ("was_serial", &e.previous_certificate_serial),
    ] {
        if !bytes.is_empty() {
            let _ = write!(s, " {label}={}", hex::encode(bytes));
        }
    }
    if e.kind == EventKind::ProposalVoted as i32 {
        let _ = write!(s, " approve={}", e.approve);
    }
    if e.code != 0 {
        let _ = write!(s, " rule={}", result_code(e.code));
    }
    if e.device_kind != 0 {
        let _ = write!(
            s,
            " device_kind={}",
            enum_name(e.device_kind, DeviceKind::as_str_name)
        );
    }
    if let Some(reading) = &e.reading {
        let _ = write!(
            s,
            " reading=#{}@{}ms:{}",
            reading.counter,
            reading.device_time_ms,
            measurement_text(reading)
        );
    }
    if e.health != 0 {
        let _ = write!(
            s,
            " health={} cause={}",
            enum_name(e.health, PledgeHealth::as_str_name),
            enum_name(e.health_cause, HealthCause::as_str_name)
        );
    }
    if let Some(params) = &e.params {
        let _ = write!(s, " params={}", json::to_json(params));
    }
    if let Some(registration) = &e.registration {
        let _ = write!(
            s,
            " secured={} until={} floor={}",
            registration.secured_amount, registration.period_end_date, registration.floor_value
        );
    }
    if !e.detail.is_empty() {
        let _ = write!(s, " detail={:?}", e.detail);
    }
    if !e.tx_hash.is_empty() {
        let h = hex::encode(&e.tx_hash);
        let _ = write!(s, " tx={}", &h[..h.len().min(SHORT_HASH)]);
    }
    s
}

fn voucher_label(v: &Voucher) -> String {
    let mut s = format!(
        "{} {} {} holder={} {}",
        v.id,
        v.amount,
        v.currency,
        v.holder,
        voucher_status(v.status)
    );
    if v.frozen {
        s.push_str(" frozen");
    }
    s
}

/// The lineage of a voucher as a tree: the issued voucher at the top, split children below it
/// with box-drawing branches, and each voucher's events under it.
///
/// Relies on the response order (depth-first from the root, parents before children) and the
/// `depth` of each voucher.
pub(crate) fn trace_tree(t: &TraceVoucherResponse) -> Vec<String> {
    let mut lines = vec![format!(
        "trace of {} (root {}) at height {}",
        t.voucher_id, t.root_id, t.height
    )];
    let depths: Vec<u32> = t.vouchers.iter().map(|v| v.depth).collect();
    // is_last[i]: no later sibling of voucher i (no later voucher at the same depth before the
    // walk climbs above it).
    let is_last: Vec<bool> = (0..depths.len())
        .map(|i| {
            depths[i + 1..]
                .iter()
                .take_while(|&&d| d >= depths[i])
                .all(|&d| d != depths[i])
        })
        .collect();
    // open[k]: whether the branch line at ancestor level k continues below the current voucher.
    let mut open: Vec<bool> = Vec::new();
    for (i, tv) in t.vouchers.iter().enumerate() {
        let depth = tv.depth as usize;
        open.truncate(depth);
        let mut prefix = String::new();
        for &o in open.iter().skip(1) {
            prefix.push_str(if o { "│   " } else { "    " });
        }
        let label = match &tv.voucher {
            Some(v) => voucher_label(v),
            None => "(voucher missing)".to_owned(),
        };
        let mut child_prefix = prefix.clone();
        if depth == 0 {
            lines.push(label);
        } else {
            lines.push(format!(
                "{prefix}{}{label}",
                if is_last[i] {
                    "└── "
                } else {
                    "├── "
                }
            ));
            child_prefix.push_str(if is_last[i] { "    " } else { "│   " });
        }
        let has_children = depths.get(i + 1).is_some_and(|&d| d as usize > depth);
        let event_prefix = format!(
            "{child_prefix}{}",
            if has_children { "│   " } else { "    " }
        );
        for e in &tv.events {
            lines.push(format!("{event_prefix}{}", event_line(e, false)));
        }
        while open.len() < depth {
            open.push(false);
        }
        open.push(!is_last[i]);
    }
    lines
}

/// Appends `key: value`.
fn kv(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{key}: {value}");
}

/// A voucher as `key: value` lines.
pub(crate) fn voucher(v: &Voucher) -> String {
    let mut o = String::new();
    kv(&mut o, "id", &v.id);
    kv(&mut o, "amount", format!("{} {}", v.amount, v.currency));
    kv(&mut o, "holder", &v.holder);
    kv(&mut o, "issuer", &v.issuer);
    kv(&mut o, "financier", &v.financier);
    kv(&mut o, "maturity", &v.maturity_date);
    kv(
        &mut o,
        "status",
        format!(
            "{}{}",
            voucher_status(v.status),
            if v.frozen { " (frozen)" } else { "" }
        ),
    );
    kv(&mut o, "root", &v.root_id);
    if !v.parent_id.is_empty() {
        kv(&mut o, "parent", &v.parent_id);
    }
    if !v.children.is_empty() {
        kv(&mut o, "children", v.children.join(", "));
    }
    if let Some(d) = &v.trade_document {
        kv(
            &mut o,
            "trade document",
            format!("{} {} sha256={}", d.kind, d.number, hex::encode(&d.hash)),
        );
    }
    kv(
        &mut o,
        "issued",
        format!(
            "height {} at {}",
            v.issued_height,
            format_utc_ms(v.issued_time_ms)
        ),
    );
    o
}

/// One line per voucher, for `voucher list`.
pub(crate) fn voucher_row(v: &Voucher) -> String {
    format!("{}  {}", voucher_label(v), v.maturity_date)
}

/// An identity as `key: value` lines.
pub(crate) fn identity(i: &Identity) -> String {
    let mut o = String::new();
    kv(&mut o, "uscc", &i.uscc);
    kv(&mut o, "name", &i.name);
    kv(
        &mut o,
        "role",
        short(&enum_name(i.role, Role::as_str_name), "ROLE_"),
    );
    kv(
        &mut o,
        "status",
        short(
            &enum_name(i.status, IdentityStatus::as_str_name),
            "IDENTITY_STATUS_",
        ),
    );
    kv(&mut o, "legal representative", &i.legal_representative);
    kv(&mut o, "organisation", &i.org_id);
    kv(&mut o, "accounts", i.accounts.join(", "));
    kv(&mut o, "registered at height", i.registered_height);
    o
}

/// One line per proposal for lists: id, status, approvals, title.
pub(crate) fn proposal_row(p: &Proposal) -> String {
    let approvals = p.votes.iter().filter(|v| v.approve).count();
    let title = p
        .submission
        .as_ref()
        .map(|s| s.title.as_str())
        .unwrap_or_default();
    format!(
        "{}  {:<8}  {approvals}/{} for  {}  by {}",
        p.id,
        short(
            &enum_name(p.status, ProposalStatus::as_str_name),
            "PROPOSAL_STATUS_",
        ),
        p.votes.len(),
        title,
        p.proposer_org
    )
}

/// A proposal as `key: value` lines, one per vote.
pub(crate) fn proposal(p: &Proposal) -> String {
    let mut o = String::new();
    let submission = p.submission.clone().unwrap_or_default();
    kv(&mut o, "id", &p.id);
    kv(&mut o, "title", &submission.title);
    if !submission.reason.is_empty() {
        kv(&mut o, "reason", &submission.reason);
    }
    kv(
        &mut o,
        "action",
        json::to_json(&submission)["action"].to_string(),
    );
    kv(
        &mut o,
        "proposer",
        format!("{} ({})", p.proposer, p.proposer_org),
    );
    kv(
        &mut o,
        "status",
        short(
            &enum_name(p.status, ProposalStatus::as_str_name),
            "PROPOSAL_STATUS_",
        ),
    );
    kv(&mut o, "submitted at height", p.submitted_height);
    kv(&mut o, "deadline ms", p.deadline_ms);
    for v in &p.votes {
        kv(
            &mut o,
            "vote",
            format!(
                "{} {} by {} at height {}",
                v.org_id,
                if v.approve { "approves" } else { "disapproves" },
                v.account,
                v.height
            ),
        );
    }
    if p.decided_height != 0 {
        kv(&mut o, "decided at height", p.decided_height);
    }
    if p.decided_height != 0 {
        kv(
            &mut o,
            "tally",
            format!(
                "{} of {} member organisations approve, {} disapprove; more than {}% needed",
                p.approvals, p.member_count, p.disapprovals, p.approval_percent
            ),
        );
    }
    if p.rejected_by != 0 {
        kv(
            &mut o,
            "outcome",
            format!(
                "approved, but the action no longer applied: {}",
                result_code(p.rejected_by)
            ),
        );
    }
    o
}

/// An account as `key: value` lines.
pub(crate) fn account(a: &Account) -> String {
    let mut o = String::new();
    kv(&mut o, "account", &a.account_id);
    kv(&mut o, "uscc", &a.uscc);
    kv(
        &mut o,
        "role",
        short(&enum_name(a.role, Role::as_str_name), "ROLE_"),
    );
    kv(
        &mut o,
        "status",
        short(
            &enum_name(a.status, AccountStatus::as_str_name),
            "ACCOUNT_STATUS_",
        ),
    );
    kv(&mut o, "public key", hex::encode(&a.public_key));
    kv(&mut o, "next nonce", a.next_nonce);
    kv(&mut o, "organisation", &a.org_id);
    kv(&mut o, "live vouchers", a.live_vouchers);
    if !a.certificate_serial.is_empty() {
        kv(
            &mut o,
            "certificate",
            format!(
                "serial {} valid {} .. {}{}",
                hex::encode(&a.certificate_serial),
                format_utc_ms(a.certificate_not_before_ms),
                format_utc_ms(a.certificate_not_after_ms),
                if a.certificate_revoked {
                    " REVOKED"
                } else {
                    ""
                }
            ),
        );
    }
    o
}

/// A credit line as `key: value` lines.
pub(crate) fn credit_line(c: &CreditLine) -> String {
    let mut o = String::new();
    kv(&mut o, "financier", &c.financier);
    kv(&mut o, "core enterprise", &c.core_enterprise);
    kv(&mut o, "limit", format!("{} {}", c.limit, c.currency));
    kv(
        &mut o,
        "outstanding",
        format!("{} {}", c.outstanding, c.currency),
    );
    kv(
        &mut o,
        "available",
        format!("{} {}", c.limit.saturating_sub(c.outstanding), c.currency),
    );
    kv(
        &mut o,
        "status",
        short(
            &enum_name(c.status, CreditLineStatus::as_str_name),
            "CREDIT_LINE_STATUS_",
        ),
    );
    o
}

/// The node status as `key: value` lines.
pub(crate) fn status(s: &GetStatusResponse) -> String {
    let mut o = String::new();
    kv(&mut o, "chain", &s.chain_id);
    kv(&mut o, "node", &s.node_id);
    kv(&mut o, "version", &s.version);
    kv(&mut o, "consensus", &s.consensus);
    kv(&mut o, "height", s.height);
    kv(&mut o, "head", hex::encode(&s.head_hash));
    kv(&mut o, "head time", format_utc_ms(s.head_time_ms));
    kv(&mut o, "state root", hex::encode(&s.state_root));
    kv(&mut o, "genesis", hex::encode(&s.genesis_hash));
    kv(&mut o, "mempool", s.mempool_size);
    if s.consensus == "pbft" {
        // A Byzantine chain's leader is its view's primary (the view's number mod the
        // validators); none while the validators change views.
        kv(&mut o, "view", s.consensus_view);
        let primary = if s.leader.is_empty() {
            "none (changing views)"
        } else {
            &s.leader
        };
        kv(&mut o, "primary", primary);
    } else if !s.leader.is_empty() {
        kv(&mut o, "leader", &s.leader);
    }
    if !s.voters.is_empty() {
        kv(&mut o, "voters", s.voters.join(","));
    }
    kv(
        &mut o,
        "certified",
        format!(
            "through height {} ({} behind the head)",
            s.certified_height, s.certification_lag
        ),
    );
    // 0: a node from before rules versions, which says nothing of them.
    if s.rules_version > 0 {
        kv(
            &mut o,
            "rules",
            format!(
                "v{} (this node executes up to v{})",
                s.rules_version, s.rules_version_max
            ),
        );
    }
    if s.rules_pending_version > 0 {
        kv(
            &mut o,
            "rules upgrade",
            format!(
                "v{} activates at height {} ({} blocks after the head)",
                s.rules_pending_version,
                s.rules_activation_height,
                s.rules_activation_height.saturating_sub(s.height)
            ),
        );
        if s.rules_pending_version > s.rules_version_max {
            kv(
                &mut o,
                "RULES UPGRADE NEEDED",
                format!(
                    "this node executes rules up to v{}: upgrade its release before height {}, or it stops there",
                    s.rules_version_max, s.rules_activation_height
                ),
            );
        }
    }
    if s.syncing {
        kv(&mut o, "syncing", "installing a state snapshot from a peer");
    }
    if s.snapshots_installed > 0 {
        kv(&mut o, "snapshots installed", s.snapshots_installed);
    }
    if s.proposals_refused > 0 {
        kv(&mut o, "proposals refused", s.proposals_refused);
    }
    if let Some(r) = &s.resources {
        let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20));
        kv(
            &mut o,
            "memory",
            format!(
                "resident {}, consensus log {}, mempool {}, memtables {}, block cache {}",
                mib(r.resident_bytes),
                mib(r.consensus_log_bytes),
                mib(r.mempool_bytes),
                mib(r.memtable_bytes),
                mib(r.block_cache_bytes)
            ),
        );
        kv(
            &mut o,
            "disk",
            format!(
                "write-ahead log {}, tables {} (blocks {}), newest checkpoint at log index {}",
                mib(r.wal_bytes),
                mib(r.table_bytes),
                mib(r.block_bytes),
                r.checkpoint_log_index
            ),
        );
    }
    // What an operator must act on: see docs/operations.md.
    for e in &s.equivocations {
        kv(
            &mut o,
            "EQUIVOCATION",
            format!(
                "{} signed two blocks at height {}: {} and {} (evidence kept; remove it through governance)",
                e.node_id,
                e.height,
                hex::encode(&e.first_block_hash),
                hex::encode(&e.second_block_hash)
            ),
        );
    }
    if s.voting_forbidden {
        kv(
            &mut o,
            "voting forbidden",
            "this node's consensus state went back; remove it and add the machine under a new node id",
        );
    }
    if !s.votes_refused_from.is_empty() {
        kv(&mut o, "votes refused from", s.votes_refused_from.join(","));
    }
    if s.blocks_ahead_of_clock > 0 {
        kv(&mut o, "blocks ahead of clock", s.blocks_ahead_of_clock);
    }
    if let Some(p) = &s.params {
        kv(&mut o, "max tenor days", p.max_tenor_days);
        kv(&mut o, "min split amount", p.min_split_amount);
        kv(&mut o, "split fanout max", p.split_fanout_max);
        kv(&mut o, "redemption grace days", p.redemption_grace_days);
        kv(&mut o, "utc offset minutes", p.utc_offset_minutes);
        // 0 stands for the chain's built-in default (genesis files from before governance).
        kv(
            &mut o,
            "proposal approval percent",
            match p.proposal_approval_percent {
                0 => "default (more than two thirds)".to_owned(),
                percent => format!("more than {percent}%"),
            },
        );
        kv(
            &mut o,
            "proposal ttl ms",
            match p.proposal_ttl_ms {
                0 => "default (7 days)".to_owned(),
                ttl_ms => ttl_ms.to_string(),
            },
        );
        kv(
            &mut o,
            "lineage depth max",
            match p.lineage_depth_max {
                0 => format!(
                    "default of rules v{} ({})",
                    s.rules_version,
                    vchain_contracts::rules::lineage_depth_default(s.rules_version)
                ),
                depth => depth.to_string(),
            },
        );
    }
    for c in &s.certificates_expiring {
        kv(
            &mut o,
            "certificate expiring",
            format!(
                "{} {} {} (serial {}) on {}",
                c.org_id,
                c.role,
                c.subject_id,
                hex::encode(&c.serial),
                format_utc_ms(c.not_after_ms)
            ),
        );
    }
    for m in &s.members {
        let removed = if m.removed { " removed" } else { "" };
        kv(
            &mut o,
            "member",
            format!("{} {} ({}){removed}", m.org_id, m.name, m.uscc),
        );
    }
    o
}

fn result_lines(o: &mut String, r: &TxResult, indent: &str) {
    if r.message.is_empty() {
        let _ = writeln!(o, "{indent}result: {}", result_code(r.code));
    } else {
        let _ = writeln!(o, "{indent}result: {}: {}", result_code(r.code), r.message);
    }
    for e in &r.events {
        let _ = writeln!(o, "{indent}  {}", event_line(e, true));
    }
}

/// The answer to a submission: hash, height, result and events.
pub(crate) fn submit(r: &SubmitTransactionResponse) -> String {
    let mut o = String::new();
    kv(&mut o, "tx", hex::encode(&r.tx_hash));
    if r.committed {
        kv(&mut o, "height", r.height);
        if let Some(res) = &r.result {
            result_lines(&mut o, res, "");
        }
    } else {
        kv(
            &mut o,
            "status",
            "admitted to the mempool (not waiting for commit)",
        );
    }
    o
}

fn operation_lines(o: &mut String, body: &TransactionBody) {
    kv(o, "signer", &body.signer);
    kv(o, "nonce", body.nonce);
    kv(o, "chain", &body.chain_id);
    if let Some(op) = &body.operation {
        // The operation as `{name: fields}`, like its `--json` document.
        let serde_json::Value::Object(operation) = json::to_json(op) else {
            return;
        };
        let Some((name, fields)) = operation.into_iter().next() else {
            return;
        };
        kv(o, "operation", name);
        if let serde_json::Value::Object(fields) = fields {
            for (k, v) in fields {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                let _ = writeln!(o, "  {k}: {text}");
            }
        }
    }
}

/// A committed transaction.
pub(crate) fn transaction(r: &GetTransactionResponse) -> String {
    use prost::Message;
    let mut o = String::new();
    if let Some(t) = &r.transaction {
        kv(
            &mut o,
            "tx",
            hex::encode(vchain_contracts::tx::tx_hash(&t.body)),
        );
    }
    kv(
        &mut o,
        "height",
        format!(
            "{} (index {}, block {})",
            r.height,
            r.index,
            hex::encode(&r.block_hash)
        ),
    );
    kv(&mut o, "time", format_utc_ms(r.time_ms));
    if let Some(t) = &r.transaction {
        kv(&mut o, "public key", hex::encode(&t.public_key));
        match TransactionBody::decode(t.body.as_slice()) {
            Ok(body) => operation_lines(&mut o, &body),
            Err(e) => kv(&mut o, "body", format!("undecodable ({e})")),
        }
    }
    if let Some(res) = &r.result {
        result_lines(&mut o, res, "");
    }
    o
}

/// A block: header, one line per transaction, system events.
pub(crate) fn block(b: &Block, block_hash: &[u8]) -> String {
    use prost::Message;
    let mut o = String::new();
    if let Some(h) = &b.header {
        kv(&mut o, "height", h.height);
        kv(&mut o, "hash", hex::encode(block_hash));
        kv(&mut o, "prev", hex::encode(&h.prev_hash));
        kv(&mut o, "time", format_utc_ms(h.timestamp_ms));
        kv(&mut o, "proposer", &h.proposer);
        kv(&mut o, "chain", &h.chain_id);
        kv(&mut o, "tx root", hex::encode(&h.tx_root));
        kv(&mut o, "result root", hex::encode(&h.result_root));
        kv(&mut o, "state root", hex::encode(&h.state_root));
    }
    kv(&mut o, "transactions", b.transactions.len());
    for (i, t) in b.transactions.iter().enumerate() {
        let hash = hex::encode(vchain_contracts::tx::tx_hash(&t.body));
        let (signer, op) = match TransactionBody::decode(t.body.as_slice()) {
            Ok(body) => (
                body.signer.clone(),
                body.operation
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), json::oneof_name),
            ),
            Err(_) => (String::from("?"), "(undecodable)".to_owned()),
        };
        let result = b.results.get(i).map_or_else(String::new, |r| {
            if r.message.is_empty() {
                result_code(r.code)
            } else {
                format!("{}: {}", result_code(r.code), r.message)
            }
        });
        let _ = writeln!(o, "  {i} {hash} {signer} {op} -> {result}");
    }
    if !b.system_events.is_empty() {
        kv(&mut o, "system events", b.system_events.len());
        for e in &b.system_events {
            let _ = writeln!(o, "  {}", event_line(e, true));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::{TracedVoucher, VoucherStatus};

    fn v(
        id: &str,
        amount: u64,
        holder: &str,
        status: VoucherStatus,
        frozen: bool,
    ) -> Option<Voucher> {
        Some(Voucher {
            id: id.into(),
            amount,
            currency: "CNY".into(),
            holder: holder.into(),
            status: status as i32,
            frozen,
            ..Default::default()
        })
    }

    fn ev(kind: EventKind, height: u64, actor: &str) -> Event {
        Event {
            kind: kind as i32,
            height,
            tx_hash: vec![0xab; 32],
            time_ms: 1_704_067_200_000 + height * 1000,
            actor: actor.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_pbft_status_shows_the_view_and_its_primary() {
        let pbft = status(&GetStatusResponse {
            consensus: "pbft".into(),
            consensus_view: 5,
            leader: "node-2".into(),
            ..Default::default()
        });
        assert!(pbft.contains("view") && pbft.contains('5'), "{pbft}");
        assert!(
            pbft.contains("primary") && pbft.contains("node-2"),
            "{pbft}"
        );
        let changing = status(&GetStatusResponse {
            consensus: "pbft".into(),
            consensus_view: 6,
            ..Default::default()
        });
        assert!(changing.contains("changing views"), "{changing}");
        let raft = status(&GetStatusResponse {
            consensus: "raft".into(),
            leader: "node-1".into(),
            ..Default::default()
        });
        assert!(
            raft.contains("leader") && !raft.contains("primary"),
            "{raft}"
        );
    }

    #[test]
    fn status_shows_what_an_operator_must_act_on() {
        let quiet = status(&GetStatusResponse::default());
        assert!(!quiet.contains("voting forbidden"), "{quiet}");
        assert!(!quiet.contains("votes refused"), "{quiet}");
        let troubled = status(&GetStatusResponse {
            voting_forbidden: true,
            votes_refused_from: vec!["node-2".into(), "node-4".into()],
            blocks_ahead_of_clock: 3,
            certified_height: 40,
            certification_lag: 2,
            equivocations: vec![vchain_proto::v1::EquivocationEvidence {
                node_id: "node-3".into(),
                height: 17,
                first_block_hash: vec![0xaa; 32],
                second_block_hash: vec![0xbb; 32],
                ..Default::default()
            }],
            ..Default::default()
        });
        assert!(
            troubled.contains("through height 40 (2 behind the head)"),
            "{troubled}"
        );
        assert!(
            troubled.contains("node-3 signed two blocks at height 17"),
            "{troubled}"
        );
        assert!(troubled.contains("voting forbidden"), "{troubled}");
        assert!(
            !troubled.contains("rules"),
            "a node that reports no rules version gets no rules lines: {troubled}"
        );
        let upgrading = status(&GetStatusResponse {
            height: 90,
            rules_version: 1,
            rules_version_max: 1,
            rules_pending_version: 2,
            rules_activation_height: 120,
            ..Default::default()
        });
        assert!(
            upgrading.contains("rules: v1 (this node executes up to v1)\n"),
            "{upgrading}"
        );
        assert!(
            upgrading
                .contains("rules upgrade: v2 activates at height 120 (30 blocks after the head)\n"),
            "{upgrading}"
        );
        assert!(
            upgrading.contains("RULES UPGRADE NEEDED: this node executes rules up to v1: upgrade its release before height 120"),
            "{upgrading}"
        );
        let ready = status(&GetStatusResponse {
            rules_version: 1,
            rules_version_max: 2,
            rules_pending_version: 2,
            rules_activation_height: 120,
            ..Default::default()
        });
        assert!(!ready.contains("NEEDED"), "{ready}");

        assert!(troubled.contains("node-2,node-4"), "{troubled}");
        assert!(troubled.contains("blocks ahead of clock"), "{troubled}");
    }

    #[test]
    fn event_line_fields() {
        let mut e = ev(EventKind::VoucherTransferred, 9, "sup-1");
        e.voucher_id = "V000000000002".into();
        e.counterparty = "bank-1".into();
        e.detail = "agreement 01ab".into();
        e.consideration = 95_000;
        assert_eq!(
            event_line(&e, true),
            "h=9 2024-01-01T00:00:09.000Z VOUCHER_TRANSFERRED actor=sup-1 voucher=V000000000002 \
             counterparty=bank-1 consideration=95000 detail=\"agreement 01ab\" tx=abababababab"
        );
        let mut n = ev(EventKind::ConsensusNodeAdded, 12, "bank-a-admin");
        n.node_id = "node-2".into();
        assert_eq!(
            event_line(&n, false),
            "h=12 2024-01-01T00:00:12.000Z CONSENSUS_NODE_ADDED actor=bank-a-admin node=node-2 \
             tx=abababababab"
        );
        let mut d = ev(EventKind::VoucherDestroyed, 40, "");
        d.tx_hash.clear();
        assert_eq!(
            event_line(&d, false),
            "h=40 2024-01-01T00:00:40.000Z VOUCHER_DESTROYED actor=(chain)"
        );
    }

    #[test]
    fn trace_tree_shape() {
        // V1 split into V2 and V3; V2 split into V4 and V5; V3 transferred and frozen.
        let mut issued = ev(EventKind::VoucherIssued, 3, "core");
        issued.amount = 100_000;
        issued.currency = "CNY".into();
        issued.counterparty = "sup".into();
        let mut split1 = ev(EventKind::VoucherSplit, 5, "sup");
        split1.related_vouchers = vec!["V2".into(), "V3".into()];
        let child = |parent: &str, h: u64| {
            let mut e = ev(EventKind::VoucherCreatedBySplit, h, "sup");
            e.related_vouchers = vec![parent.into()];
            e
        };
        let mut split2 = ev(EventKind::VoucherSplit, 7, "sup");
        split2.related_vouchers = vec!["V4".into(), "V5".into()];
        let mut transfer = ev(EventKind::VoucherTransferred, 8, "sup");
        transfer.counterparty = "bank".into();
        let mut freeze = ev(EventKind::VoucherFrozen, 9, "reg");
        freeze.detail = "court order".into();
        let tv = |voucher, events, depth| TracedVoucher {
            voucher,
            events,
            depth,
        };
        let t = TraceVoucherResponse {
            voucher_id: "V4".into(),
            root_id: "V1".into(),
            height: 12,
            next_page_token: String::new(),
            vouchers: vec![
                tv(
                    v("V1", 100_000, "sup", VoucherStatus::Split, false),
                    vec![issued, split1],
                    0,
                ),
                tv(
                    v("V2", 60_000, "sup", VoucherStatus::Split, false),
                    vec![child("V1", 5), split2],
                    1,
                ),
                tv(
                    v("V4", 10_000, "sup", VoucherStatus::Active, false),
                    vec![child("V2", 7)],
                    2,
                ),
                tv(
                    v("V5", 50_000, "sup", VoucherStatus::Active, false),
                    vec![child("V2", 7)],
                    2,
                ),
                tv(
                    v("V3", 40_000, "bank", VoucherStatus::Active, true),
                    vec![child("V1", 5), transfer, freeze],
                    1,
                ),
            ],
        };
        let expected = [
            "trace of V4 (root V1) at height 12",
            "V1 100000 CNY holder=sup SPLIT",
            "│   h=3 2024-01-01T00:00:03.000Z VOUCHER_ISSUED actor=core amount=100000 CNY counterparty=sup tx=abababababab",
            "│   h=5 2024-01-01T00:00:05.000Z VOUCHER_SPLIT actor=sup children=V2,V3 tx=abababababab",
            "├── V2 60000 CNY holder=sup SPLIT",
            "│   │   h=5 2024-01-01T00:00:05.000Z VOUCHER_CREATED_BY_SPLIT actor=sup parent=V1 tx=abababababab",
            "│   │   h=7 2024-01-01T00:00:07.000Z VOUCHER_SPLIT actor=sup children=V4,V5 tx=abababababab",
            "│   ├── V4 10000 CNY holder=sup ACTIVE",
            "│   │       h=7 2024-01-01T00:00:07.000Z VOUCHER_CREATED_BY_SPLIT actor=sup parent=V2 tx=abababababab",
            "│   └── V5 50000 CNY holder=sup ACTIVE",
            "│           h=7 2024-01-01T00:00:07.000Z VOUCHER_CREATED_BY_SPLIT actor=sup parent=V2 tx=abababababab",
            "└── V3 40000 CNY holder=bank ACTIVE frozen",
            "        h=5 2024-01-01T00:00:05.000Z VOUCHER_CREATED_BY_SPLIT actor=sup parent=V1 tx=abababababab",
            "        h=8 2024-01-01T00:00:08.000Z VOUCHER_TRANSFERRED actor=sup counterparty=bank tx=abababababab",
            "        h=9 2024-01-01T00:00:09.000Z VOUCHER_FROZEN actor=reg detail=\"court order\" tx=abababababab",
        ];
        let got = trace_tree(&t);
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            assert_eq!(g, e, "line {i}");
        }
        assert_eq!(got.len(), expected.len(), "{got:#?}");
    }

    #[test]
    fn trace_of_unsplit_voucher() {
        let t = TraceVoucherResponse {
            voucher_id: "V1".into(),
            root_id: "V1".into(),
            height: 4,
            next_page_token: String::new(),
            vouchers: vec![TracedVoucher {
                voucher: v("V1", 500, "sup", VoucherStatus::Active, false),
                events: vec![ev(EventKind::VoucherIssued, 3, "core")],
                depth: 0,
            }],
        };
        assert_eq!(
            trace_tree(&t),
            vec![
                "trace of V1 (root V1) at height 4".to_owned(),
                "V1 500 CNY holder=sup ACTIVE".to_owned(),
                "    h=3 2024-01-01T00:00:03.000Z VOUCHER_ISSUED actor=core tx=abababababab"
                    .to_owned(),
            ]
        );
    }
}
