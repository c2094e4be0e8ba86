//! JSON renderings of the wire messages (prost types do not derive `Serialize`).
//!
//! Field names are the proto field names; bytes are lowercase hex; enums are their proto names.

use prost::Message;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::AuditEntry;
use vchain_proto::v1::{
    Account, AccountStatus, Block, BlockHeader, ChainParams, Consideration, CreditLine,
    CreditLineStatus, ErrorCode, Event, EventKind, GetStatusResponse, GetTransactionResponse,
    Identity, IdentityStatus, Organisation, Proposal, ProposalStatus, Role, SignedTransaction,
    SubmitTransactionResponse, TraceVoucherResponse, TracedVoucher, TradeDocument, TransactionBody,
    TxResult, Voucher, VoucherStatus,
};

macro_rules! enum_name {
    ($(#[$doc:meta])* $fn:ident, $ty:ty) => {
        $(#[$doc])*
        pub(crate) fn $fn(v: i32) -> String {
            <$ty>::try_from(v).map(|e| e.as_str_name().to_owned()).unwrap_or_else(|_| format!("UNKNOWN_{v}"))
        }
    };
}

enum_name!(
    /// Proto name of a [`Role`] value.
    role_name,
    Role
);
enum_name!(
    /// Proto name of an [`EventKind`] value.
    event_kind_name,
    EventKind
);
enum_name!(
    /// Proto name of an [`ErrorCode`] value.
    error_code_name,
    ErrorCode
);
enum_name!(
    /// Proto name of a [`DeviceKind`](vchain_proto::v1::DeviceKind) value.
    device_kind_name,
    vchain_proto::v1::DeviceKind
);
enum_name!(
    /// Proto name of a [`PledgeHealth`](vchain_proto::v1::PledgeHealth) value.
    pledge_health_name,
    vchain_proto::v1::PledgeHealth
);
enum_name!(
    /// Proto name of a [`HealthCause`](vchain_proto::v1::HealthCause) value.
    health_cause_name,
    vchain_proto::v1::HealthCause
);

/// A sensor reading's measurement as text, e.g. `quantity=40` or `climate=-150c/100`.
pub(crate) fn measurement_text(reading: &vchain_proto::v1::SensorReading) -> String {
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

enum_name!(
    /// Proto name of a [`VoucherStatus`] value.
    voucher_status_name,
    VoucherStatus
);
enum_name!(
    /// Proto name of an [`AccountStatus`] value.
    account_status_name,
    AccountStatus
);
enum_name!(
    /// Proto name of an [`IdentityStatus`] value.
    identity_status_name,
    IdentityStatus
);
enum_name!(
    /// Proto name of a [`CreditLineStatus`] value.
    credit_line_status_name,
    CreditLineStatus
);

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

fn opt<T>(v: Option<&T>, f: impl Fn(&T) -> Value) -> Value {
    v.map(f).unwrap_or(Value::Null)
}

/// A trade document.
pub(crate) fn trade_document(d: &TradeDocument) -> Value {
    json!({ "kind": d.kind, "number": d.number, "hash": hex(&d.hash) })
}

/// A voucher.
pub(crate) fn voucher(v: &Voucher) -> Value {
    json!({
        "id": v.id,
        "issuer": v.issuer,
        "holder": v.holder,
        "financier": v.financier,
        "amount": v.amount,
        "currency": v.currency,
        "maturity_date": v.maturity_date,
        "maturity_day": v.maturity_day,
        "status": voucher_status_name(v.status),
        "frozen": v.frozen,
        "parent_id": v.parent_id,
        "children": v.children,
        "root_id": v.root_id,
        "trade_document": opt(v.trade_document.as_ref(), trade_document),
        "issued_height": v.issued_height,
        "issued_time_ms": v.issued_time_ms,
        "pledge": v.pledge,
    })
}

enum_name!(
    /// Proto name of a [`vchain_proto::v1::PledgeStatus`] value.
    pledge_status_name,
    vchain_proto::v1::PledgeStatus
);

/// A pledge registration (the modification code's hash, never a code).
pub(crate) fn pledge(p: &vchain_proto::v1::Pledge) -> Value {
    json!({
        "registration_number": p.registration_number,
        "asset_kind": p.asset_kind,
        "asset_id": p.asset_id,
        "pledgor": p.pledgor,
        "pledgee": p.pledgee,
        "secured_amount": p.secured_amount,
        "currency": p.currency,
        "collateral_description": p.collateral_description,
        "period_end_date": p.period_end_date,
        "status": pledge_status_name(p.status),
        "registered_height": p.registered_height,
        "registered_ms": p.registered_ms,
        "ended_height": p.ended_height,
        "ended_reason": p.ended_reason,
        "modification_code_hash": hex(&p.modification_code_hash),
        "mode": p.mode,
        "floor_value": p.floor_value,
        "health": p.health,
        "health_cause": health_cause_name(p.health_cause),
    })
}

/// An event.
pub(crate) fn event(e: &Event) -> Value {
    json!({
        "kind": event_kind_name(e.kind),
        "height": e.height,
        "tx_hash": hex(&e.tx_hash),
        "time_ms": e.time_ms,
        "actor": e.actor,
        "voucher_id": e.voucher_id,
        "accounts": e.accounts,
        "amount": e.amount,
        "currency": e.currency,
        "counterparty": e.counterparty,
        "related_vouchers": e.related_vouchers,
        "detail": e.detail,
        "consideration": e.consideration,
        "node_id": e.node_id,
        "pledge": e.pledge,
        "receipt_id": e.receipt_id,
        "device_id": e.device_id,
        "proposal_id": e.proposal_id,
        "public_key": hex(&e.public_key),
        "role": if e.role == 0 { String::new() } else { role_name(e.role) },
        "uscc": e.uscc,
        "amounts": e.amounts,
        "digest": hex(&e.digest),
        "previous_holder": e.previous_holder,
        "quantity": e.quantity,
        "limit": e.limit,
        "certificate_serial": hex(&e.certificate_serial),
        "previous_certificate_serial": hex(&e.previous_certificate_serial),
        "params": e.params.as_ref().map(chain_params),
        "approve": e.approve,
        "code": if e.code == 0 { String::new() } else { error_code_name(e.code) },
        "device_kind": if e.device_kind == 0 { String::new() } else { device_kind_name(e.device_kind) },
        "reading": e.reading.as_ref().map(|r| json!({
            "device_id": r.device_id, "counter": r.counter, "device_time_ms": r.device_time_ms,
            "measurement": measurement_text(r),
        })),
        "health": if e.health == 0 { String::new() } else { pledge_health_name(e.health) },
        "health_cause": if e.health_cause == 0 { String::new() } else { health_cause_name(e.health_cause) },
        "registration": e.registration.as_ref().map(pledge),
        "org_id": e.org_id,
        "certificate_serial": hex(&e.certificate_serial),
    })
}

/// An audit log entry with its place in the chain.
pub(crate) fn audit_entry(e: &AuditEntry) -> Value {
    json!({
        "height": e.height,
        "tx_index": e.tx_index,
        "event_index": e.event_index,
        "event": opt(e.event.as_ref(), event),
    })
}

/// The outcome of a transaction.
pub(crate) fn tx_result(r: &TxResult) -> Value {
    json!({
        "tx_hash": hex(&r.tx_hash),
        "code": error_code_name(r.code),
        "message": r.message,
        "events": r.events.iter().map(event).collect::<Vec<_>>(),
    })
}

/// The answer to a submission.
pub(crate) fn submit_response(r: &SubmitTransactionResponse) -> Value {
    json!({
        "tx_hash": hex(&r.tx_hash),
        "committed": r.committed,
        "pending": r.pending,
        "height": r.height,
        "result": opt(r.result.as_ref(), tx_result),
    })
}

fn consideration(c: &Consideration) -> Value {
    json!({ "amount": c.amount, "currency": c.currency })
}

/// A certificate as its size and SHA-256, or null when absent.
fn certificate_digest(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    json!({ "bytes": bytes.len(), "sha256": hex(&Sha256::digest(bytes)) })
}

/// The snake_case proto name of an operation (the `oneof` field name).
pub(crate) fn operation_name(op: &Operation) -> &'static str {
    match op {
        Operation::RegisterIdentity(_) => "register_identity",
        Operation::RegisterAccount(_) => "register_account",
        Operation::FreezeAccount(_) => "freeze_account",
        Operation::UnfreezeAccount(_) => "unfreeze_account",
        Operation::CancelAccount(_) => "cancel_account",
        Operation::RotateAccountKey(_) => "rotate_account_key",
        Operation::RevokeCertificate(_) => "revoke_certificate",
        Operation::GrantCreditLine(_) => "grant_credit_line",
        Operation::RaiseCreditLine(_) => "raise_credit_line",
        Operation::LowerCreditLine(_) => "lower_credit_line",
        Operation::RevokeCreditLine(_) => "revoke_credit_line",
        Operation::IssueVoucher(_) => "issue_voucher",
        Operation::SplitVoucher(_) => "split_voucher",
        Operation::TransferVoucher(_) => "transfer_voucher",
        Operation::RequestRedemption(_) => "request_redemption",
        Operation::ConfirmRedemption(_) => "confirm_redemption",
        Operation::FreezeVoucher(_) => "freeze_voucher",
        Operation::UnfreezeVoucher(_) => "unfreeze_voucher",
        Operation::AddConsensusNode(_) => "add_consensus_node",
        Operation::RemoveConsensusNode(_) => "remove_consensus_node",
        Operation::RegisterDevice(_) => "register_device",
        Operation::RevokeDevice(_) => "revoke_device",
        Operation::SubmitReading(_) => "submit_reading",
        Operation::IssueWarehouseReceipt(_) => "issue_warehouse_receipt",
        Operation::TransferWarehouseReceipt(_) => "transfer_warehouse_receipt",
        Operation::ReleaseGoods(_) => "release_goods",
        Operation::RegisterPledge(_) => "register_pledge",
        Operation::AmendPledge(_) => "amend_pledge",
        Operation::ReleasePledge(_) => "release_pledge",
        Operation::EnforcePledge(_) => "enforce_pledge",
        Operation::SubmitProposal(_) => "submit_proposal",
        Operation::VoteOnProposal(_) => "vote_on_proposal",
    }
}

/// The snake_case proto name of a proposal action and its fields (certificates as their size and
/// SHA-256, not their bytes).
fn proposal_action(action: &Action) -> (&'static str, Value) {
    let certificate = |bytes: &[u8]| -> Value {
        if bytes.is_empty() {
            return Value::Null;
        }
        json!({ "bytes": bytes.len(), "sha256": hex(&Sha256::digest(bytes)) })
    };
    match action {
        Action::AddOrganisation(a) => (
            "add_organisation",
            json!({
                "org_id": a.org_id, "name": a.name, "uscc": a.uscc,
                "admins": a.admins.iter().map(|x| json!({
                    "account_id": x.account_id, "public_key": hex(&x.public_key),
                })).collect::<Vec<_>>(),
                "root_ca_certificate": certificate(&a.root_ca_certificate),
            }),
        ),
        Action::RemoveOrganisation(a) => ("remove_organisation", json!({ "org_id": a.org_id })),
        Action::AddConsensusNode(o) => (
            "add_consensus_node",
            json!({ "node_id": o.node_id, "org_id": o.org_id, "public_key": hex(&o.public_key) }),
        ),
        Action::RemoveConsensusNode(o) => {
            ("remove_consensus_node", json!({ "node_id": o.node_id }))
        }
        Action::RotateOrganisationCa(a) => (
            "rotate_organisation_ca",
            json!({ "org_id": a.org_id, "root_ca_certificate": certificate(&a.root_ca_certificate) }),
        ),
        Action::SetChainParams(a) => (
            "set_chain_params",
            json!({ "params": a.params.as_ref().map(chain_params) }),
        ),
    }
}

/// The fields of an operation.
pub(crate) fn operation_fields(op: &Operation) -> Value {
    match op {
        Operation::RegisterIdentity(o) => json!({
            "uscc": o.uscc, "name": o.name, "role": role_name(o.role),
            "legal_representative": o.legal_representative, "account_id": o.account_id,
            "public_key": hex(&o.public_key), "certificate": certificate_digest(&o.certificate),
        }),
        Operation::RegisterAccount(o) => json!({
            "uscc": o.uscc, "account_id": o.account_id, "public_key": hex(&o.public_key),
            "certificate": certificate_digest(&o.certificate),
        }),
        Operation::CancelAccount(o) => json!({ "account_id": o.account_id, "reason": o.reason }),
        Operation::RotateAccountKey(o) => json!({
            "account_id": o.account_id, "certificate": certificate_digest(&o.certificate),
        }),
        Operation::RevokeCertificate(o) => {
            json!({ "serial": hex(&o.serial), "reason": o.reason })
        }
        Operation::FreezeAccount(o) => json!({ "account_id": o.account_id, "reason": o.reason }),
        Operation::UnfreezeAccount(o) => json!({ "account_id": o.account_id, "reason": o.reason }),
        Operation::GrantCreditLine(o) => {
            json!({ "core_enterprise": o.core_enterprise, "currency": o.currency, "limit": o.limit })
        }
        Operation::RaiseCreditLine(o) => {
            json!({ "core_enterprise": o.core_enterprise, "amount": o.amount })
        }
        Operation::LowerCreditLine(o) => {
            json!({ "core_enterprise": o.core_enterprise, "amount": o.amount })
        }
        Operation::RevokeCreditLine(o) => {
            json!({ "core_enterprise": o.core_enterprise, "reason": o.reason })
        }
        Operation::IssueVoucher(o) => json!({
            "holder": o.holder, "financier": o.financier, "amount": o.amount, "currency": o.currency,
            "maturity_date": o.maturity_date, "trade_document": opt(o.trade_document.as_ref(), trade_document),
        }),
        Operation::SplitVoucher(o) => json!({ "voucher_id": o.voucher_id, "amounts": o.amounts }),
        Operation::TransferVoucher(o) => json!({
            "voucher_id": o.voucher_id, "to": o.to, "agreement_hash": hex(&o.agreement_hash),
            "consideration": opt(o.consideration.as_ref(), consideration),
        }),
        Operation::RequestRedemption(o) => json!({ "voucher_id": o.voucher_id }),
        Operation::ConfirmRedemption(o) => {
            json!({ "voucher_id": o.voucher_id, "payment_reference": o.payment_reference })
        }
        Operation::FreezeVoucher(o) => json!({ "voucher_id": o.voucher_id, "reason": o.reason }),
        Operation::UnfreezeVoucher(o) => json!({ "voucher_id": o.voucher_id, "reason": o.reason }),
        Operation::AddConsensusNode(o) => json!({
            "node_id": o.node_id, "org_id": o.org_id, "public_key": hex(&o.public_key),
        }),
        Operation::RemoveConsensusNode(o) => json!({ "node_id": o.node_id }),
        Operation::RegisterDevice(o) => json!({
            "device_id": o.device_id, "public_key": hex(&o.public_key), "kind": o.kind,
            "receipt_id": o.receipt_id,
        }),
        Operation::RevokeDevice(o) => json!({ "device_id": o.device_id, "reason": o.reason }),
        Operation::SubmitReading(o) => json!({
            "reading": hex(&o.reading), "device_signature": hex(&o.device_signature),
        }),
        Operation::IssueWarehouseReceipt(o) => json!({
            "holder": o.holder, "sku": o.sku, "quantity": o.quantity, "unit_value": o.unit_value,
            "currency": o.currency, "location": o.location, "description": o.description,
        }),
        Operation::TransferWarehouseReceipt(o) => {
            json!({ "receipt_id": o.receipt_id, "to": o.to })
        }
        Operation::ReleaseGoods(o) => {
            json!({ "receipt_id": o.receipt_id, "quantity": o.quantity, "reason": o.reason })
        }
        Operation::RegisterPledge(o) => json!({
            "receipt_id": o.receipt_id, "mode": o.mode, "floor_value": o.floor_value,
            "voucher_id": o.voucher_id, "pledgee": o.pledgee, "secured_amount": o.secured_amount,
            "currency": o.currency, "period_end_date": o.period_end_date,
            "collateral_description": o.collateral_description,
            "modification_code_hash": hex(&o.modification_code_hash),
        }),
        // The code itself is a secret between pledgor and pledgee: shown as its hash.
        Operation::AmendPledge(o) => json!({
            "registration_number": o.registration_number,
            "modification_code_sha256": hex(&Sha256::digest(&o.modification_code)),
            "period_end_date": o.period_end_date, "secured_amount": o.secured_amount,
        }),
        Operation::ReleasePledge(o) => {
            json!({ "registration_number": o.registration_number, "reason": o.reason })
        }
        Operation::EnforcePledge(o) => {
            json!({ "registration_number": o.registration_number, "reason": o.reason })
        }
        Operation::SubmitProposal(o) => {
            let mut fields = json!({ "title": o.title, "reason": o.reason });
            if let Some((name, action)) = o.action.as_ref().map(proposal_action) {
                fields[name] = action;
            }
            fields
        }
        Operation::VoteOnProposal(o) => {
            json!({ "proposal_id": o.proposal_id, "approve": o.approve })
        }
    }
}

/// A transaction body.
pub(crate) fn body(b: &TransactionBody) -> Value {
    json!({
        "chain_id": b.chain_id,
        "signer": b.signer,
        "nonce": b.nonce,
        "operation": opt(b.operation.as_ref(), |op| json!({ operation_name(op): operation_fields(op) })),
    })
}

/// A signed transaction with its decoded body and its hash.
pub(crate) fn signed_transaction(t: &SignedTransaction) -> Value {
    let decoded = TransactionBody::decode(t.body.as_slice())
        .map(|b| body(&b))
        .unwrap_or(Value::Null);
    json!({
        "hash": hex(&vchain_contracts::tx::tx_hash(&t.body)),
        "body": hex(&t.body),
        "decoded_body": decoded,
        "public_key": hex(&t.public_key),
        "signature": hex(&t.signature),
    })
}

/// A block header.
pub(crate) fn header(h: &BlockHeader) -> Value {
    json!({
        "chain_id": h.chain_id,
        "height": h.height,
        "prev_hash": hex(&h.prev_hash),
        "timestamp_ms": h.timestamp_ms,
        "proposer": h.proposer,
        "tx_root": hex(&h.tx_root),
        "result_root": hex(&h.result_root),
        "state_root": hex(&h.state_root),
        "tx_count": h.tx_count,
    })
}

/// A block and its hash.
pub(crate) fn block(b: Option<&Block>, block_hash: &[u8]) -> Value {
    json!({
        "block": opt(b, |b| json!({
            "header": opt(b.header.as_ref(), header),
            "transactions": b.transactions.iter().map(signed_transaction).collect::<Vec<_>>(),
            "results": b.results.iter().map(tx_result).collect::<Vec<_>>(),
            "system_events": b.system_events.iter().map(event).collect::<Vec<_>>(),
        })),
        "block_hash": hex(block_hash),
    })
}

/// A committed transaction lookup.
pub(crate) fn get_transaction(r: &GetTransactionResponse) -> Value {
    json!({
        "transaction": opt(r.transaction.as_ref(), signed_transaction),
        "result": opt(r.result.as_ref(), tx_result),
        "height": r.height,
        "index": r.index,
        "block_hash": hex(&r.block_hash),
        "time_ms": r.time_ms,
    })
}

enum_name!(
    /// Proto name of a [`ProposalStatus`] value.
    proposal_status_name,
    ProposalStatus
);

/// A proposal with its action, votes and outcome.
pub(crate) fn proposal(p: &Proposal) -> Value {
    let submission = p.submission.clone().unwrap_or_default();
    let mut action = json!({});
    if let Some((name, fields)) = submission.action.as_ref().map(proposal_action) {
        action[name] = fields;
    }
    let votes: Vec<Value> = p
        .votes
        .iter()
        .map(|v| {
            json!({
                "org_id": v.org_id, "account": v.account, "approve": v.approve,
                "height": v.height, "time_ms": v.time_ms, "tx_hash": hex(&v.tx_hash),
            })
        })
        .collect();
    json!({
        "id": p.id,
        "title": submission.title,
        "reason": submission.reason,
        "action": action,
        "proposer": p.proposer,
        "proposer_org": p.proposer_org,
        "status": proposal_status_name(p.status),
        "submitted_height": p.submitted_height,
        "submitted_ms": p.submitted_ms,
        "submitted_tx_hash": hex(&p.submitted_tx_hash),
        "deadline_ms": p.deadline_ms,
        "votes": votes,
        "decided_height": p.decided_height,
        "approvals": p.approvals,
        "disapprovals": p.disapprovals,
        "member_count": p.member_count,
        "approval_percent": p.approval_percent,
        "rejected_by": if p.rejected_by == 0 { String::new() } else { error_code_name(p.rejected_by) },
    })
}

/// An identity.
pub(crate) fn identity(i: &Identity) -> Value {
    json!({
        "uscc": i.uscc,
        "name": i.name,
        "role": role_name(i.role),
        "org_id": i.org_id,
        "status": identity_status_name(i.status),
        "legal_representative": i.legal_representative,
        "accounts": i.accounts,
        "registered_height": i.registered_height,
    })
}

/// An account.
pub(crate) fn account(a: &Account) -> Value {
    json!({
        "account_id": a.account_id,
        "uscc": a.uscc,
        "public_key": hex(&a.public_key),
        "status": account_status_name(a.status),
        "next_nonce": a.next_nonce,
        "org_id": a.org_id,
        "role": role_name(a.role),
        "live_vouchers": a.live_vouchers,
        "certificate": if a.certificate_serial.is_empty() {
            Value::Null
        } else {
            json!({
                "serial": hex(&a.certificate_serial),
                "not_before_ms": a.certificate_not_before_ms,
                "not_after_ms": a.certificate_not_after_ms,
                "revoked": a.certificate_revoked,
                "sha256": hex(&Sha256::digest(&a.certificate)),
            })
        },
    })
}

/// A credit line.
pub(crate) fn credit_line(c: &CreditLine) -> Value {
    json!({
        "financier": c.financier,
        "core_enterprise": c.core_enterprise,
        "currency": c.currency,
        "limit": c.limit,
        "outstanding": c.outstanding,
        "status": credit_line_status_name(c.status),
    })
}

pub(crate) fn chain_params(p: &ChainParams) -> Value {
    json!({
        "max_tenor_days": p.max_tenor_days,
        "min_split_amount": p.min_split_amount,
        "split_fanout_max": p.split_fanout_max,
        "redemption_grace_days": p.redemption_grace_days,
        "utc_offset_minutes": p.utc_offset_minutes,
        "block_tx_max": p.block_tx_max,
        "block_bytes_max": p.block_bytes_max,
        "tx_bytes_max": p.tx_bytes_max,
        "destroy_per_block_max": p.destroy_per_block_max,
        "proposal_approval_percent": p.proposal_approval_percent,
        "proposal_ttl_ms": p.proposal_ttl_ms,
    })
}

fn organisation(o: &Organisation) -> Value {
    let certificate = if o.root_ca_certificate.is_empty() {
        Value::Null
    } else {
        json!({
            "bytes": o.root_ca_certificate.len(),
            "sha256": hex(&Sha256::digest(&o.root_ca_certificate)),
        })
    };
    json!({
        "org_id": o.org_id, "name": o.name, "uscc": o.uscc,
        "root_ca_certificate": certificate, "removed": o.removed,
    })
}

/// The node status.
pub(crate) fn status(s: &GetStatusResponse) -> Value {
    json!({
        "chain_id": s.chain_id,
        "node_id": s.node_id,
        "consensus": s.consensus,
        "height": s.height,
        "head_hash": hex(&s.head_hash),
        "state_root": hex(&s.state_root),
        "head_time_ms": s.head_time_ms,
        "mempool_size": s.mempool_size,
        "leader": s.leader,
        "voters": s.voters,
        "syncing": s.syncing,
        "snapshots_installed": s.snapshots_installed,
        "proposals_refused": s.proposals_refused,
        "resources": opt(s.resources.as_ref(), resources),
        "voting_forbidden": s.voting_forbidden,
        "votes_refused_from": s.votes_refused_from,
        "blocks_ahead_of_clock": s.blocks_ahead_of_clock,
        "genesis_hash": hex(&s.genesis_hash),
        "version": s.version,
        "params": opt(s.params.as_ref(), chain_params),
        "members": s.members.iter().map(organisation).collect::<Vec<_>>(),
        "certificate_warning_days": s.certificate_warning_days,
        "certificates_expiring": s
            .certificates_expiring
            .iter()
            .map(certificate_record)
            .collect::<Vec<_>>(),
    })
}

/// A node's memory and disk use, bytes.
fn resources(r: &vchain_proto::v1::ResourceUsage) -> Value {
    json!({
        "resident_bytes": r.resident_bytes,
        "consensus_log_bytes": r.consensus_log_bytes,
        "mempool_bytes": r.mempool_bytes,
        "memtable_bytes": r.memtable_bytes,
        "block_cache_bytes": r.block_cache_bytes,
        "wal_bytes": r.wal_bytes,
        "table_bytes": r.table_bytes,
        "block_bytes": r.block_bytes,
        "checkpoint_log_index": r.checkpoint_log_index,
    })
}

enum_name!(
    /// Proto name of a [`vchain_proto::v1::CertificateStatus`] value.
    certificate_status_name,
    vchain_proto::v1::CertificateStatus
);

/// A certificate record of the chain's registry.
pub(crate) fn certificate_record(c: &vchain_proto::v1::CertificateRecord) -> Value {
    json!({
        "org_id": c.org_id,
        "serial": hex(&c.serial),
        "subject_kind": c.subject_kind,
        "subject_id": c.subject_id,
        "role": c.role,
        "public_key": hex(&c.public_key),
        "not_before_ms": c.not_before_ms,
        "not_after_ms": c.not_after_ms,
        "status": certificate_status_name(c.status),
        "registered_height": c.registered_height,
        "ended_height": c.ended_height,
        "ended_reason": c.ended_reason,
        "fingerprint": hex(&c.fingerprint),
        "superseded_height": c.superseded_height,
    })
}

fn traced_voucher(t: &TracedVoucher) -> Value {
    json!({
        "voucher": opt(t.voucher.as_ref(), voucher),
        "events": t.events.iter().map(event).collect::<Vec<_>>(),
        "depth": t.depth,
    })
}

/// A voucher's lineage.
pub(crate) fn trace(t: &TraceVoucherResponse) -> Value {
    json!({
        "voucher_id": t.voucher_id,
        "root_id": t.root_id,
        "vouchers": t.vouchers.iter().map(traced_voucher).collect::<Vec<_>>(),
        "height": t.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::SplitVoucher;

    #[test]
    fn status_carries_the_consensus_health_fields() {
        let v = status(&GetStatusResponse {
            voting_forbidden: true,
            votes_refused_from: vec!["node-3".into()],
            blocks_ahead_of_clock: 2,
            ..Default::default()
        });
        assert_eq!(v["voting_forbidden"], true);
        assert_eq!(v["votes_refused_from"], json!(["node-3"]));
        assert_eq!(v["blocks_ahead_of_clock"], 2);
    }

    #[test]
    fn enums_bytes_and_operations() {
        assert_eq!(
            role_name(Role::CoreEnterprise as i32),
            "ROLE_CORE_ENTERPRISE"
        );
        assert_eq!(error_code_name(0), "OK");
        assert_eq!(role_name(99), "UNKNOWN_99");
        let e = Event {
            kind: EventKind::VoucherIssued as i32,
            tx_hash: vec![0xAB, 0x01],
            ..Default::default()
        };
        let v = event(&e);
        assert_eq!(v["tx_hash"], "ab01");
        assert_eq!(v["kind"], EventKind::VoucherIssued.as_str_name());

        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let op = Operation::SplitVoucher(SplitVoucher {
            voucher_id: "V1".into(),
            amounts: vec![1, 2],
        });
        let tx = vchain_wallet::transaction::sign(
            &vchain_wallet::transaction::body("c", "s", 4, op),
            &key,
        );
        let v = signed_transaction(&tx);
        assert_eq!(v["decoded_body"]["nonce"], 4);
        assert_eq!(
            v["decoded_body"]["operation"]["split_voucher"]["amounts"],
            json!([1, 2])
        );
        assert_eq!(
            v["hash"],
            hex::encode(vchain_contracts::tx::tx_hash(&tx.body))
        );

        let op = Operation::AddConsensusNode(vchain_proto::v1::AddConsensusNode {
            node_id: "node-2".into(),
            org_id: "bank-a".into(),
            public_key: vec![0xcd; 32],
            certificate: Vec::new(),
        });
        assert_eq!(
            operation_fields(&op),
            json!({ "node_id": "node-2", "org_id": "bank-a", "public_key": "cd".repeat(32) })
        );
        assert_eq!(operation_name(&op), "add_consensus_node");
        let e = Event {
            kind: EventKind::ConsensusNodeRemoved as i32,
            node_id: "node-2".into(),
            ..Default::default()
        };
        assert_eq!(event(&e)["node_id"], "node-2");

        let op = Operation::SubmitProposal(vchain_proto::v1::SubmitProposal {
            action: Some(Action::RotateOrganisationCa(
                vchain_proto::v1::RotateOrganisationCa {
                    org_id: "bank-b".into(),
                    root_ca_certificate: b"cert".to_vec(),
                },
            )),
            title: "rotate".into(),
            reason: String::new(),
        });
        assert_eq!(operation_name(&op), "submit_proposal");
        assert_eq!(
            operation_fields(&op),
            json!({
                "title": "rotate", "reason": "",
                "rotate_organisation_ca": {
                    "org_id": "bank-b",
                    "root_ca_certificate": { "bytes": 4, "sha256": hex(&Sha256::digest(b"cert")) },
                },
            })
        );
        let op = Operation::VoteOnProposal(vchain_proto::v1::VoteOnProposal {
            proposal_id: "P000000000001".into(),
            approve: false,
        });
        assert_eq!(
            operation_fields(&op),
            json!({ "proposal_id": "P000000000001", "approve": false })
        );
        let e = Event {
            kind: EventKind::ProposalPassed as i32,
            proposal_id: "P000000000001".into(),
            org_id: "bank-a".into(),
            ..Default::default()
        };
        assert_eq!(event(&e)["proposal_id"], "P000000000001");
        assert_eq!(event(&e)["org_id"], "bank-a");
        assert_eq!(event(&e)["kind"], "EVENT_KIND_PROPOSAL_PASSED");
    }
}
