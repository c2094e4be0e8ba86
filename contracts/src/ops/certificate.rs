//! The certificate registry on chain: certificate records (`cr/`) and their expiry queue, the
//! revocation list, key rotation and revocation. What makes a certificate acceptable is checked
//! in [`crate::certificates`]; this module adds what needs state (the organisation's CA as the
//! transaction sees it, a serial not yet registered) and writes the results.
//!
//! Rules:
//! - Accounts registered before their organisation's first CA stay bare until an administrator
//!   rotates a certificate in.
//! - A certificate stays valid after its organisation rotates its CA: the chain verified it when
//!   it was bound, and rotating a CA must not stop a network. The new CA is what later
//!   certificates must chain to.
//! - A serial is registered once per organisation ([`certify_account`], [`certify_node`]).
//! - Key rotation ([`rotate_account_key`]) binds a new certificate and key to the same account:
//!   same id, vouchers, nonce. The old certificate is superseded; the old key keeps its binding
//!   so no other account can ever take it.
//! - Revocation ([`revoke_certificate`]) by an administrator of the issuing organisation puts the
//!   serial on the revocation list (`cr/` record with status REVOKED); the account can do nothing
//!   from that block on until an administrator rotates a new certificate in.

use vchain_ledger::StateReader;
use vchain_proto::v1::{
    CertificateRecord, CertificateStatus, ErrorCode, EventKind, Organisation, RevokeCertificate,
    Role, RotateAccountKey,
};

use crate::certificates::{
    check_account_certificate, check_node_certificate, CheckedCertificate, SUBJECT_ACCOUNT,
    SUBJECT_NODE,
};
use crate::error::{reject, ExecError, Failure};
use crate::keys;
use crate::ops::{consensus, TxContext};
use crate::state::{decode, read_message, Overlay};
use crate::validate::{self, TEXT_LEN_MAX};

/// Most certificate records one query returns.
pub const CERTIFICATES_PAGE_MAX: usize = 1_000;

/// The certificate record of organisation `org_id` with `serial`, from committed state.
pub fn certificate_record(
    state: &dyn StateReader,
    org_id: &str,
    serial: &[u8],
) -> Result<Option<CertificateRecord>, ExecError> {
    read_message(
        state,
        &keys::certificate(org_id, serial),
        "CertificateRecord",
    )
}

/// Active certificates whose notAfter is before `before_ms` (already expired included), soonest
/// first, at most `limit` (capped at [`CERTIFICATES_PAGE_MAX`]).
pub fn certificates_expiring(
    state: &dyn StateReader,
    before_ms: u64,
    limit: usize,
) -> Result<Vec<CertificateRecord>, ExecError> {
    let mut records = Vec::new();
    let entries = state.scan_prefix(
        keys::CERTIFICATE_EXPIRY_PREFIX,
        None,
        limit.min(CERTIFICATES_PAGE_MAX),
    )?;
    for (key, _) in entries {
        let Some((not_after_ms, org_id, serial_hex)) = keys::parse_certificate_expiry(&key) else {
            return Err(ExecError::CorruptState {
                key: String::from_utf8_lossy(&key).into_owned(),
                what: "certificate expiry key",
                why: "does not parse".into(),
            });
        };
        if not_after_ms >= before_ms {
            break;
        }
        let record_key = [keys::certificates_prefix(&org_id), serial_hex.into_bytes()].concat();
        let value = state
            .get(&record_key)?
            .ok_or_else(|| ExecError::CorruptState {
                key: String::from_utf8_lossy(&record_key).into_owned(),
                what: "CertificateRecord",
                why: "named by the expiry queue but missing".into(),
            })?;
        records.push(decode(&record_key, &value, "CertificateRecord")?);
    }
    Ok(records)
}

/// The revocation list of organisation `org_id`: its revoked certificates in serial order, at
/// most `limit` (capped at [`CERTIFICATES_PAGE_MAX`]) out of the first records scanned.
pub fn revoked_certificates(
    state: &dyn StateReader,
    org_id: &str,
    limit: usize,
) -> Result<Vec<CertificateRecord>, ExecError> {
    let limit = limit.min(CERTIFICATES_PAGE_MAX);
    let prefix = keys::certificates_prefix(org_id);
    let mut revoked = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    // Chunked: revoked records are a minority among the organisation's certificates.
    loop {
        let chunk = state.scan_prefix(&prefix, after.as_deref(), CERTIFICATES_PAGE_MAX)?;
        let exhausted = chunk.len() < CERTIFICATES_PAGE_MAX;
        for (key, value) in chunk {
            let record: CertificateRecord = decode(&key, &value, "CertificateRecord")?;
            after = Some(key);
            if record.status() == CertificateStatus::Revoked {
                revoked.push(record);
                if revoked.len() == limit {
                    return Ok(revoked);
                }
            }
        }
        if exhausted {
            return Ok(revoked);
        }
    }
}

/// The root CA (DER) of organisation `org_id` as this transaction sees it; `None` if the
/// organisation has none or does not exist.
pub(crate) fn organisation_ca(
    overlay: &Overlay<'_>,
    org_id: &str,
) -> Result<Option<Vec<u8>>, Failure> {
    let organisation: Option<Organisation> =
        overlay.get_message(&keys::organisation(org_id), "Organisation")?;
    Ok(organisation
        .map(|o| o.root_ca_certificate)
        .filter(|ca| !ca.is_empty()))
}

/// Checks an account's certificate against its organisation's CA in state and that its serial is
/// new; see [`check_account_certificate`].
pub(crate) fn certify_account(
    tx: &TxContext<'_, '_>,
    org_id: &str,
    account_id: &str,
    role: Role,
    certificate: &[u8],
    public_key: &[u8],
) -> Result<Option<CheckedCertificate>, Failure> {
    let ca = organisation_ca(tx.overlay, org_id)?;
    let checked = check_account_certificate(
        ca.as_deref(),
        org_id,
        account_id,
        role,
        certificate,
        public_key,
        tx.context.timestamp_ms,
    )?;
    require_new_serial(tx, org_id, checked)
}

/// Checks a consensus node's certificate against its organisation's CA in state and that its
/// serial is new; see [`check_node_certificate`].
pub(crate) fn certify_node(
    tx: &TxContext<'_, '_>,
    org_id: &str,
    node_id: &str,
    certificate: &[u8],
    public_key: &[u8],
) -> Result<Option<CheckedCertificate>, Failure> {
    let ca = organisation_ca(tx.overlay, org_id)?;
    let checked = check_node_certificate(
        ca.as_deref(),
        org_id,
        node_id,
        certificate,
        public_key,
        tx.context.timestamp_ms,
    )?;
    require_new_serial(tx, org_id, checked)
}

fn require_new_serial(
    tx: &TxContext<'_, '_>,
    org_id: &str,
    checked: Option<CheckedCertificate>,
) -> Result<Option<CheckedCertificate>, Failure> {
    let Some(checked) = checked else {
        return Ok(None);
    };
    let serial = &checked.certified.serial;
    if tx
        .overlay
        .get(&keys::certificate(org_id, serial))?
        .is_some()
    {
        return reject(
            ErrorCode::CertificateExists,
            format!(
                "a certificate with serial {} of {org_id} is already registered",
                hex::encode(serial)
            ),
        );
    }
    Ok(Some(checked))
}

/// Records an accepted certificate in the registry and the expiry queue.
pub(crate) fn put_record(overlay: &mut Overlay<'_>, record: &CertificateRecord) {
    overlay.put_message(keys::certificate(&record.org_id, &record.serial), record);
    overlay.put(
        keys::certificate_expiry(record.not_after_ms, &record.org_id, &record.serial),
        Vec::new(),
    );
}

/// Ends a certificate record (revoked or superseded) at `height`, taking it off the expiry queue.
pub(crate) fn end_record(
    overlay: &mut Overlay<'_>,
    mut record: CertificateRecord,
    status: CertificateStatus,
    height: u64,
    reason: &str,
) {
    debug_assert_eq!(record.status(), CertificateStatus::Active);
    overlay.delete(keys::certificate_expiry(
        record.not_after_ms,
        &record.org_id,
        &record.serial,
    ));
    record.set_status(status);
    record.ended_height = height;
    record.ended_reason = reason.to_owned();
    overlay.put_message(keys::certificate(&record.org_id, &record.serial), &record);
}

/// `RotateAccountKey`: the account itself or an administrator of its organisation binds a new
/// certificate and key.
pub(crate) fn rotate_account_key(
    tx: &mut TxContext<'_, '_>,
    op: RotateAccountKey,
) -> Result<(), Failure> {
    let mut account = tx.load_account(&op.account_id)?;
    let own = account.account_id == tx.signer.account_id;
    if !own {
        tx.require_role(
            &[Role::Administrator],
            &format!("rotating the key of account {}", op.account_id),
        )?;
        if account.org_id != tx.signer.org_id {
            return reject(
                ErrorCode::NotSameOrganisation,
                format!(
                    "account {} belongs to {}, not to {}",
                    account.account_id, account.org_id, tx.signer.org_id
                ),
            );
        }
    }
    let role = account.role();
    let org_id = account.org_id.clone();
    let Some(new) = certify_account(tx, &org_id, &account.account_id, role, &op.certificate, &[])?
    else {
        return reject(
            ErrorCode::CertificateInvalid,
            format!(
                "organisation {org_id} has no root CA on chain, so there is nothing to rotate to"
            ),
        );
    };
    let new_key = new.certified.public_key;
    if new_key.as_slice() == account.public_key.as_slice() {
        return reject(
            ErrorCode::InvalidPublicKey,
            format!(
                "the new certificate certifies the key account {} already has; a rotation needs a new key",
                account.account_id
            ),
        );
    }
    validate::public_key(&new_key)?;
    // The old key keeps its binding: no other account may ever take a key that signed for this one.
    super::identity::bind_key(tx, &account.account_id, &new_key)?;
    let old_serial = account.certificate_serial.clone();
    if !old_serial.is_empty() {
        let old: Option<CertificateRecord> = tx.overlay.get_message(
            &keys::certificate(&org_id, &old_serial),
            "CertificateRecord",
        )?;
        if let Some(old) = old.filter(|r| r.status() == CertificateStatus::Active) {
            end_record(
                tx.overlay,
                old,
                CertificateStatus::Superseded,
                tx.context.height,
                // The chain ended it (a rotation): no words; the rotation's audit event names
                // both serials.
                "",
            );
        }
    }
    new.bind(&mut account);
    put_record(tx.overlay, &new.record(&org_id, tx.context.height));
    tx.overlay
        .put_message(keys::account(&account.account_id), &account);
    if own {
        // The signer's record in the context is this account; keep it current for later reads.
        tx.signer = account.clone();
    }

    let mut event = tx.event(EventKind::AccountKeyRotated);
    event.counterparty = account.account_id.clone();
    event.accounts = vec![account.account_id.clone()];
    event.org_id = org_id;
    event.public_key = new_key.to_vec();
    event.certificate_serial = new.certified.serial.clone();
    event.previous_certificate_serial = old_serial;
    tx.audit_event(event)
}

/// `RevokeCertificate`: an administrator puts a certificate its organisation's CA issued on the
/// revocation list.
pub(crate) fn revoke_certificate(
    tx: &mut TxContext<'_, '_>,
    op: RevokeCertificate,
) -> Result<(), Failure> {
    tx.require_role(&[Role::Administrator], "revoking a certificate")?;
    validate::text("revocation reason", &op.reason, true, TEXT_LEN_MAX)?;
    let org_id = tx.signer.org_id.clone();
    let serial_hex = hex::encode(&op.serial);
    if op.serial.is_empty() || op.serial.len() > 20 {
        return reject(
            ErrorCode::InvalidArgument,
            format!("serial {serial_hex:?} must be 1 to 20 bytes (RFC 5280 §4.1.2.2)"),
        );
    }
    let record: Option<CertificateRecord> = tx
        .overlay
        .get_message(&keys::certificate(&org_id, &op.serial), "CertificateRecord")?;
    let Some(record) = record else {
        return reject(
            ErrorCode::CertificateNotFound,
            format!("organisation {org_id} registered no certificate with serial {serial_hex}"),
        );
    };
    match record.status() {
        CertificateStatus::Active => {}
        // A rotated-out key found compromised later must still be listed: wallets and auditors
        // check signatures made with it against the revocation list. Nothing else changes: the
        // account already uses another certificate.
        CertificateStatus::Superseded => {
            return revoke_superseded(tx, record, &op.reason);
        }
        status => {
            return reject(
                ErrorCode::CertificateAlreadyRevoked,
                format!(
                    "certificate {serial_hex} of {org_id} is already on the revocation list since height {} ({})",
                    record.ended_height,
                    status.as_str_name()
                ),
            );
        }
    }
    let subject = record.subject_id.clone();
    if record.subject_kind == SUBJECT_NODE {
        // A revoked node leaves the voting membership in this block; the network drops it.
        let (config, node) = consensus::check_revoked_node(tx, &subject)?;
        end_record(
            tx.overlay,
            record,
            CertificateStatus::Revoked,
            tx.context.height,
            &op.reason,
        );
        let removed = consensus::apply_remove_node(tx, config, node)?;
        tx.audit_event(removed)?;
        let mut event = tx.event(EventKind::CertificateRevoked);
        event.node_id = subject;
        event.org_id = org_id;
        event.certificate_serial = op.serial.clone();
        event.detail = op.reason;
        return tx.audit_event(event);
    }
    debug_assert_eq!(record.subject_kind, SUBJECT_ACCOUNT);
    end_record(
        tx.overlay,
        record,
        CertificateStatus::Revoked,
        tx.context.height,
        &op.reason,
    );
    let mut account = tx.load_account(&subject)?;
    // The record is active, so it is the account's current certificate.
    assert_eq!(
        account.certificate_serial, op.serial,
        "an active certificate record is its account's current certificate"
    );
    account.certificate_revoked = true;
    tx.overlay.put_message(keys::account(&subject), &account);
    if subject == tx.signer.account_id {
        tx.signer = account;
    }

    let mut event = tx.event(EventKind::CertificateRevoked);
    event.counterparty = subject.clone();
    event.accounts = vec![subject];
    event.org_id = org_id;
    event.certificate_serial = op.serial;
    event.detail = op.reason;
    tx.audit_event(event)
}

/// Puts a certificate that a key rotation superseded on the revocation list. The record keeps the
/// height of the supersession in `superseded_height`; `ended_height` and `ended_reason` become
/// the revocation's. The account is untouched (it authenticates with its current certificate).
fn revoke_superseded(
    tx: &mut TxContext<'_, '_>,
    mut record: CertificateRecord,
    reason: &str,
) -> Result<(), Failure> {
    debug_assert_eq!(record.status(), CertificateStatus::Superseded);
    record.superseded_height = record.ended_height;
    record.set_status(CertificateStatus::Revoked);
    record.ended_height = tx.context.height;
    record.ended_reason = reason.to_owned();
    tx.overlay
        .put_message(keys::certificate(&record.org_id, &record.serial), &record);
    let mut event = tx.event(EventKind::CertificateRevoked);
    if record.subject_kind == SUBJECT_NODE {
        event.node_id = record.subject_id.clone();
    } else {
        event.counterparty = record.subject_id.clone();
        event.accounts = vec![record.subject_id.clone()];
    }
    event.org_id = record.org_id.clone();
    event.certificate_serial = record.serial.clone();
    // The administrator's words, as given; nothing the node writes.
    event.detail = reason.to_owned();
    tx.audit_event(event)
}
