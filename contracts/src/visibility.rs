//! Who may read what (§4.5.1.4 of the standard: sensitive data is readable only by the parties,
//! their auditors and regulators), as a pure function of the state. The node authenticates the
//! reader ([`crate::read::authenticate`]) and asks this module before it answers; the table of
//! every role and record is `docs/visibility.md`.
//!
//! One rule: **a reader reads a record if it is an auditor or administrator, or if its identity
//! (every account of its USCC) is a party to that record**, where
//!
//! - a party to a voucher issued or financed it, holds it, is named in its history (a past
//!   holder, a recipient, a pledgee), or is such a party to a voucher split from it, at any
//!   depth: whoever holds a piece may see where it came from. A trace shows exactly the vouchers
//!   of the lineage the reader may read ([`visible_trace`]), so whoever may trace a lineage may
//!   read every voucher the trace shows, and the trace shows none it may not read;
//! - a party to a warehouse receipt holds it, issued it (its operator) or is named in its
//!   history; a party to a device runs it or is a party to the lot it watches;
//! - a party to an account, identity or credit line is the identity itself (its own accounts,
//!   its own USCC, the lines it granted or received); to a transaction, its signer and the
//!   accounts its events name (a body can carry what no event shows: a pledge's modification
//!   code);
//! - an event is read by whoever may read the record whose history holds it: a voucher's, a
//!   receipt's, a credit line's, a proposal's; any other event (account, identity, certificate,
//!   membership changes) by the accounts it names and the identity it concerns. So an event
//!   stream filtered by a voucher shows a reader exactly the events of that voucher that its
//!   trace shows ([`EventView`]);
//! - proposals and pledge notices are public to every authenticated reader (governance sets the
//!   rules every account lives under; a registration is public notice);
//! - whole blocks, state proofs and the audit log are for auditors and administrators only.
//!
//! A refusal is NOT_A_PARTY, or WRONG_ROLE for what only auditors and administrators read.
//!
//! Owns: these decisions. Must not depend on: any I/O (the node reads the state it passes in and
//! maps a refusal to its transport's status).

use std::collections::{BTreeMap, BTreeSet};

use vchain_ledger::StateReader;
use vchain_proto::v1::{
    CertificateRecord, Device, Event, EventKind, TraceVoucherResponse, Voucher, WarehouseReceipt,
};

use crate::error::ExecError;
use crate::keys;
use crate::read::{ReadError, ReadRefusal, Reader};
use crate::state::read_message;
use crate::trace::{voucher_events, TRACE_VOUCHERS_MAX};

/// Most decisions an [`EventView`] remembers; past it, it starts again (each is cheap to redo).
pub const EVENT_VIEW_DECISIONS_MAX: usize = 4_096;

/// What a reader asks to read: one row of the visibility table.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// An account, by id.
    Account(&'a str),
    /// An identity, by USCC.
    Identity(&'a str),
    /// The credit line `financier` (USCC) granted `core_enterprise` (USCC).
    CreditLine {
        /// The financier's USCC.
        financier: &'a str,
        /// The core enterprise's USCC.
        core_enterprise: &'a str,
    },
    /// A voucher (and, alike, its trace: see [`visible_trace`]).
    Voucher(&'a Voucher),
    /// The vouchers an account holds (`ListVouchers` by holder).
    VouchersHeldBy(&'a str),
    /// The vouchers an identity issued (`ListVouchers` by issuer USCC).
    VouchersIssuedBy(&'a str),
    /// A committed transaction: its hash (hex, for the message), its signer and its events.
    Transaction {
        /// Hex of the transaction hash.
        hash: &'a str,
        /// The signing account.
        signer: &'a str,
        /// The events its result carries.
        events: &'a [Event],
    },
    /// One event.
    Event(&'a Event),
    /// A warehouse receipt.
    Receipt(&'a WarehouseReceipt),
    /// An IoT device.
    Device(&'a Device),
    /// A pledge registration (public notice).
    PledgeNotice,
    /// A governance proposal with its history.
    Proposal,
    /// A whole block.
    Block,
    /// A state entry with its Merkle proof.
    StateProof,
    /// The permission-change audit log.
    AuditLog,
}

/// Whether `reader` may read `record`: `Ok`, a [`ReadRefusal`] naming the rule, or the state
/// failing.
pub fn may_read(
    state: &dyn StateReader,
    reader: &Reader,
    record: &Record<'_>,
) -> Result<(), ReadError> {
    if reader.privileged() {
        return Ok(());
    }
    let refuse = |what: String| -> Result<(), ReadError> { Err(reader.not_a_party(&what).into()) };
    match *record {
        Record::Account(id) if !reader.owns(id) => refuse(format!("account {id}")),
        Record::Identity(uscc) if uscc != reader.identity.uscc => {
            refuse(format!("identity {uscc}"))
        }
        Record::CreditLine {
            financier,
            core_enterprise,
        } if financier != reader.identity.uscc && core_enterprise != reader.identity.uscc => {
            refuse(format!(
                "the credit line of {financier} to {core_enterprise}"
            ))
        }
        Record::Voucher(voucher) if !voucher_readable(state, reader, voucher)? => {
            refuse(format!("voucher {}", voucher.id))
        }
        Record::VouchersHeldBy(holder) if !reader.owns(holder) => {
            refuse(format!("the vouchers of account {holder}"))
        }
        Record::VouchersIssuedBy(issuer) if issuer != reader.identity.uscc => {
            refuse(format!("the vouchers issued by {issuer}"))
        }
        Record::Transaction {
            hash,
            signer,
            events,
        } if !reader.owns(signer) && !events.iter().any(|e| reader.named_in(e)) => {
            refuse(format!("transaction {hash}"))
        }
        Record::Event(event) if !event_readable(state, reader, event, &mut Decisions::none())? => {
            refuse(format!(
                "event {} at height {}",
                event.kind().as_str_name(),
                event.height
            ))
        }
        Record::Receipt(receipt) if !receipt_readable(state, reader, receipt)? => {
            refuse(format!("warehouse receipt {}", receipt.id))
        }
        Record::Device(device) if !device_readable(state, reader, device)? => {
            refuse(format!("device {}", device.device_id))
        }
        Record::Block => Err(reader.wrong_role("whole blocks").into()),
        Record::StateProof => Err(reader.wrong_role("state proofs").into()),
        Record::AuditLog => Err(reader.wrong_role("the audit log").into()),
        // Public to every authenticated reader, and everything the arms above let through.
        _ => Ok(()),
    }
}

/// Whether the identity of `reader` is itself a party to `voucher`, whose history (oldest
/// first, as [`voucher_events`] reads it) is `history`: issuer, financier, holder, or named in
/// an event.
fn party_to_voucher(reader: &Reader, voucher: &Voucher, history: &[Event]) -> bool {
    voucher.issuer == reader.identity.uscc
        || voucher.financier == reader.identity.uscc
        || reader.owns(&voucher.holder)
        || history.iter().any(|e| reader.named_in(e))
}

/// Whether `reader` may read `voucher`: a party to it or to a voucher split from it, at any
/// depth. The pieces are searched depth first, at most [`TRACE_VOUCHERS_MAX`] of them (the
/// bound of a trace).
fn voucher_readable(
    state: &dyn StateReader,
    reader: &Reader,
    voucher: &Voucher,
) -> Result<bool, ExecError> {
    if reader.privileged() {
        return Ok(true);
    }
    // Pieces keep their parent's issuer and financier: those two decide the whole subtree.
    if voucher.issuer == reader.identity.uscc || voucher.financier == reader.identity.uscc {
        return Ok(true);
    }
    let mut stack = vec![voucher.clone()];
    let mut visited = 0usize;
    while let Some(piece) = stack.pop() {
        if visited == TRACE_VOUCHERS_MAX {
            break;
        }
        visited += 1;
        if reader.owns(&piece.holder)
            || party_to_voucher(reader, &piece, &voucher_events(state, &piece.id)?)
        {
            return Ok(true);
        }
        for child_id in piece.children.iter().rev() {
            let child: Voucher = read_message(state, &keys::voucher(child_id), "Voucher")?
                .ok_or_else(|| ExecError::CorruptState {
                    key: format!("v/{child_id}"),
                    what: "Voucher split from another",
                    why: format!("voucher {} names it as a piece but it is missing", piece.id),
                })?;
            stack.push(child);
        }
    }
    Ok(false)
}

/// Whether `reader` may read `receipt`: its holder, its operator, or named in its history (a
/// past holder, a pledgee, ...).
fn receipt_readable(
    state: &dyn StateReader,
    reader: &Reader,
    receipt: &WarehouseReceipt,
) -> Result<bool, ExecError> {
    if reader.privileged() || reader.owns(&receipt.holder) || reader.owns(&receipt.operator) {
        return Ok(true);
    }
    // A receipt's history shares the voucher history's keys and bound.
    Ok(voucher_events(state, &receipt.id)?
        .iter()
        .any(|e| reader.named_in(e)))
}

/// Whether `reader` may read `device`: its operator, or a party to the lot it watches (whose
/// history holds the device's registration and readings).
fn device_readable(
    state: &dyn StateReader,
    reader: &Reader,
    device: &Device,
) -> Result<bool, ExecError> {
    if reader.privileged() || reader.owns(&device.operator) {
        return Ok(true);
    }
    let receipt: Option<WarehouseReceipt> = read_message(
        state,
        &keys::receipt(&device.receipt_id),
        "WarehouseReceipt",
    )?;
    match receipt {
        Some(receipt) => receipt_readable(state, reader, &receipt),
        None => Ok(false),
    }
}

/// Remembered answers to "may the reader read asset X" (a voucher or a receipt), so that a
/// stream asks the state once per asset, not once per event.
struct Decisions<'a> {
    known: Option<&'a mut BTreeMap<String, bool>>,
}

impl<'a> Decisions<'a> {
    /// Remembers nothing.
    fn none() -> Self {
        Self { known: None }
    }

    /// The remembered answer for `key`, or `decide`'s, remembered.
    fn get_or(
        &mut self,
        key: String,
        decide: impl FnOnce() -> Result<bool, ExecError>,
    ) -> Result<bool, ExecError> {
        let Some(known) = self.known.as_deref_mut() else {
            return decide();
        };
        if let Some(&answer) = known.get(&key) {
            return Ok(answer);
        }
        let answer = decide()?;
        if known.len() >= EVENT_VIEW_DECISIONS_MAX {
            known.clear();
        }
        known.insert(key, answer);
        Ok(answer)
    }
}

/// Whether `reader` may read the voucher `voucher_id` (false if there is none).
fn voucher_id_readable(
    state: &dyn StateReader,
    reader: &Reader,
    voucher_id: &str,
    decisions: &mut Decisions<'_>,
) -> Result<bool, ExecError> {
    decisions.get_or(format!("v/{voucher_id}"), || {
        match read_message::<Voucher>(state, &keys::voucher(voucher_id), "Voucher")? {
            Some(voucher) => voucher_readable(state, reader, &voucher),
            None => Ok(false),
        }
    })
}

/// Whether `reader` may read `event`: by the rule of the record whose history holds it.
fn event_readable(
    state: &dyn StateReader,
    reader: &Reader,
    event: &Event,
    decisions: &mut Decisions<'_>,
) -> Result<bool, ExecError> {
    if reader.privileged() || reader.named_in(event) {
        return Ok(true);
    }
    if !event.voucher_id.is_empty() {
        // In the voucher's history (issue, split, transfer, pledge, destruction ...).
        return voucher_id_readable(state, reader, &event.voucher_id, decisions);
    }
    if !event.receipt_id.is_empty() {
        // In the receipt's history (issue, transfer, goods, pledge, devices and readings).
        let receipt_id = &event.receipt_id;
        return decisions.get_or(format!("w/{receipt_id}"), || {
            match read_message::<WarehouseReceipt>(
                state,
                &keys::receipt(receipt_id),
                "WarehouseReceipt",
            )? {
                Some(receipt) => receipt_readable(state, reader, &receipt),
                None => Ok(false),
            }
        });
    }
    if !event.proposal_id.is_empty() {
        // In a proposal's history, which every authenticated reader reads.
        return Ok(true);
    }
    let credit_line = matches!(
        event.kind(),
        EventKind::CreditLineGranted
            | EventKind::CreditLineRaised
            | EventKind::CreditLineLowered
            | EventKind::CreditLineRevoked
    );
    if credit_line {
        // The financier acted (named); the core enterprise is the counterparty, by USCC.
        return Ok(event.counterparty == reader.identity.uscc);
    }
    // Identity and account changes name the identity they concern.
    Ok(!event.uscc.is_empty() && event.uscc == reader.identity.uscc)
}

/// Whether `reader` may read every voucher of the lineage `voucher` is in, whatever it holds:
/// an auditor, regulator or administrator, or the lineage's issuer or financier (pieces keep
/// their parent's). Such a reader's trace is read a page at a time
/// ([`crate::trace::trace_page`]); another's share depends on the whole lineage
/// ([`visible_trace`]).
pub fn reads_whole_lineage(reader: &Reader, voucher: &Voucher) -> bool {
    let uscc = reader.identity.uscc.as_str();
    reader.privileged()
        || (!uscc.is_empty() && (voucher.issuer == uscc || voucher.financier == uscc))
}

/// The part of `trace` that `reader` may read: the vouchers of the lineage it is a party to
/// (decided on each voucher's history as the trace carries it) and every voucher above them up
/// to the issued one. Whoever may read a voucher sees it here, and nothing here is a voucher it
/// may not read. NOT_A_PARTY when the traced voucher itself is not among them.
pub fn visible_trace(
    reader: &Reader,
    mut trace: TraceVoucherResponse,
) -> Result<TraceVoucherResponse, ReadRefusal> {
    if reader.privileged() {
        return Ok(trace);
    }
    let parents: BTreeMap<&str, &str> = trace
        .vouchers
        .iter()
        .filter_map(|t| t.voucher.as_ref())
        .map(|v| (v.id.as_str(), v.parent_id.as_str()))
        .collect();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for traced in &trace.vouchers {
        let Some(voucher) = traced.voucher.as_ref() else {
            continue;
        };
        if !party_to_voucher(reader, voucher, &traced.events) {
            continue;
        }
        // Up to the issued voucher: bounded by the lineage depth, and stops at a voucher
        // already kept (its ancestors are kept too).
        let mut next = Some(voucher.id.as_str());
        while let Some(id) = next {
            if !keep.insert(id.to_owned()) {
                break;
            }
            next = parents.get(id).copied().filter(|p| !p.is_empty());
        }
    }
    if !keep.contains(&trace.voucher_id) {
        return Err(reader.not_a_party(&format!("the lineage of voucher {}", trace.voucher_id)));
    }
    trace
        .vouchers
        .retain(|t| t.voucher.as_ref().is_some_and(|v| keep.contains(&v.id)));
    Ok(trace)
}

/// Whether `event` matches a stream's filters: it concerns `account` (acting, as the
/// counterparty or among its accounts) and `voucher` (its own, or a related piece); an empty
/// filter matches everything.
pub fn event_matches(event: &Event, account: &str, voucher: &str) -> bool {
    let account_ok = account.is_empty()
        || event.actor == account
        || event.counterparty == account
        || event.accounts.iter().any(|a| a == account);
    let voucher_ok = voucher.is_empty()
        || event.voucher_id == voucher
        || event.related_vouchers.iter().any(|v| v == voucher);
    account_ok && voucher_ok
}

/// What one event stream (`SubscribeEvents`) shows its reader: the events matching its filters
/// that the reader may read. With no filter at all, a reader other than an auditor or
/// administrator follows its own business: the events naming its accounts. With a voucher
/// filter it sees, of that voucher's events, exactly those its trace of the voucher shows:
/// nothing unless it may read the voucher itself, then each event by the rule of the voucher
/// whose history holds it (the filtered voucher, its parent, a piece split from it).
///
/// It remembers, per voucher or receipt, whether the reader may read it. Call
/// [`EventView::state_changed`] when the state moves on (a block is committed): a reader may
/// have become a party since, never the reverse (histories only grow and issuers never change).
#[derive(Debug, Clone, Default)]
pub struct EventView {
    account: String,
    voucher: String,
    decisions: BTreeMap<String, bool>,
}

impl EventView {
    /// A view with the stream's filters (empty strings: no filter).
    pub fn new(account_filter: &str, voucher_filter: &str) -> Self {
        Self {
            account: account_filter.to_owned(),
            voucher: voucher_filter.to_owned(),
            decisions: BTreeMap::new(),
        }
    }

    /// Whether the stream of `reader` carries `event`, read against `state`.
    pub fn shows(
        &mut self,
        state: &dyn StateReader,
        reader: &Reader,
        event: &Event,
    ) -> Result<bool, ExecError> {
        if !event_matches(event, &self.account, &self.voucher) {
            return Ok(false);
        }
        if reader.privileged() {
            return Ok(true);
        }
        if self.account.is_empty() && self.voucher.is_empty() {
            return Ok(reader.named_in(event));
        }
        let mut decisions = Decisions {
            known: Some(&mut self.decisions),
        };
        if !self.voucher.is_empty()
            && !voucher_id_readable(state, reader, &self.voucher, &mut decisions)?
        {
            return Ok(false);
        }
        event_readable(state, reader, event, &mut decisions)
    }

    /// The state moved on: forgets every "may not", keeps every "may".
    pub fn state_changed(&mut self) {
        self.decisions.retain(|_, may| *may);
    }
}

/// Whether `GetStatus` names `certificate` among those expiring soon to `reader` (`None`: an
/// unsigned caller; status is public for health checks): consensus nodes' to anyone, an
/// account's to its identity, every one to auditors and administrators.
pub fn may_see_expiring_certificate(
    reader: Option<&Reader>,
    certificate: &CertificateRecord,
) -> bool {
    certificate.subject_kind == crate::SUBJECT_NODE
        || reader.is_some_and(|r| r.privileged() || r.owns(&certificate.subject_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::{Account, Identity, Role, TracedVoucher};

    fn reader(account_id: &str, role: Role, uscc: &str) -> Reader {
        Reader {
            account: Account {
                account_id: account_id.into(),
                role: role.into(),
                uscc: uscc.into(),
                ..Account::default()
            },
            identity: Identity {
                uscc: uscc.into(),
                accounts: vec![account_id.into()],
                ..Identity::default()
            },
        }
    }

    fn traced(id: &str, parent: &str, holder: &str, named: &[&str]) -> TracedVoucher {
        TracedVoucher {
            voucher: Some(Voucher {
                id: id.into(),
                parent_id: parent.into(),
                holder: holder.into(),
                issuer: "ISSUER".into(),
                financier: "FINANCIER".into(),
                ..Voucher::default()
            }),
            events: named
                .iter()
                .map(|a| Event {
                    accounts: vec![(*a).into()],
                    ..Event::default()
                })
                .collect(),
            depth: 0,
        }
    }

    /// root → (a → (a1, a2), b); `s` held a and split it, `t` holds a1, `u` holds b.
    fn lineage(traced_id: &str) -> TraceVoucherResponse {
        TraceVoucherResponse {
            voucher_id: traced_id.into(),
            root_id: "root".into(),
            vouchers: vec![
                traced("root", "", "r", &["r"]),
                traced("a", "root", "s", &["r", "s"]),
                traced("a1", "a", "t", &["s", "t"]),
                traced("a2", "a", "s", &["s"]),
                traced("b", "root", "u", &["r", "u"]),
            ],
            height: 0,
            next_page_token: String::new(),
        }
    }

    fn ids(trace: &TraceVoucherResponse) -> Vec<&str> {
        trace
            .vouchers
            .iter()
            .filter_map(|t| t.voucher.as_ref().map(|v| v.id.as_str()))
            .collect()
    }

    #[test]
    fn a_trace_keeps_the_readers_pieces_and_what_is_above_them() {
        let t = reader("t", Role::Supplier, "T");
        let shown = visible_trace(&t, lineage("root")).expect("t holds a piece of it");
        assert_eq!(ids(&shown), ["root", "a", "a1"]);
        let refused = visible_trace(&t, lineage("b")).expect_err("not t's");
        assert_eq!(refused.code, vchain_proto::v1::ErrorCode::NotAParty);
        assert_eq!(refused.kind, crate::read::RefusalKind::Denied);
        // `s`, named in a's history and holding a2, sees a, a1 (named in its history) and a2.
        let s = reader("s", Role::Supplier, "S");
        let shown = visible_trace(&s, lineage("a")).expect("s's");
        assert_eq!(ids(&shown), ["root", "a", "a1", "a2"]);
    }

    #[test]
    fn issuers_financiers_and_auditors_see_the_whole_lineage() {
        for reader in [
            reader("issuer-account", Role::CoreEnterprise, "ISSUER"),
            reader("financier-account", Role::Financier, "FINANCIER"),
            reader("auditor", Role::Regulator, "AUDITOR"),
            reader("admin", Role::Administrator, "BANK"),
        ] {
            let shown = visible_trace(&reader, lineage("b")).expect("theirs");
            assert_eq!(ids(&shown).len(), 5, "{reader:?}");
        }
        let stranger = reader("x", Role::Supplier, "X");
        assert!(visible_trace(&stranger, lineage("root")).is_err());
    }

    #[test]
    fn a_stream_without_filters_follows_the_readers_own_accounts() {
        let state = vchain_ledger::MemoryLedger::new();
        let t = reader("t", Role::Supplier, "T");
        let own = Event {
            accounts: vec!["t".into()],
            ..Event::default()
        };
        let other = Event {
            accounts: vec!["u".into()],
            proposal_id: "P000000000001".into(),
            ..Event::default()
        };
        let mut view = EventView::new("", "");
        assert!(view.shows(&state, &t, &own).expect("reads"));
        assert!(
            !view.shows(&state, &t, &other).expect("reads"),
            "readable, but not the reader's business"
        );
        // Asked for by account, the public proposal event is shown.
        let mut view = EventView::new("u", "");
        assert!(view.shows(&state, &t, &other).expect("reads"));
        let auditor = reader("auditor", Role::Regulator, "A");
        assert!(EventView::new("", "")
            .shows(&state, &auditor, &other)
            .expect("reads"));
    }

    #[test]
    fn expiring_certificates_are_named_to_who_may_see_them() {
        let node = CertificateRecord {
            subject_kind: crate::SUBJECT_NODE.into(),
            subject_id: "node-1".into(),
            ..CertificateRecord::default()
        };
        let account = CertificateRecord {
            subject_kind: crate::SUBJECT_ACCOUNT.into(),
            subject_id: "t".into(),
            ..CertificateRecord::default()
        };
        let t = reader("t", Role::Supplier, "T");
        let u = reader("u", Role::Supplier, "U");
        let auditor = reader("auditor", Role::Regulator, "A");
        assert!(may_see_expiring_certificate(None, &node));
        assert!(!may_see_expiring_certificate(None, &account));
        assert!(may_see_expiring_certificate(Some(&t), &account));
        assert!(!may_see_expiring_certificate(Some(&u), &account));
        assert!(may_see_expiring_certificate(Some(&auditor), &account));
    }
}
