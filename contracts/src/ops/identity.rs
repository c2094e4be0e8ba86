//! Identities and accounts: administrators register enterprises and their keys under their own
//! organisation, and freeze or unfreeze them. Every change is written to the audit log.

use vchain_proto::v1::{
    Account, AccountStatus, CancelAccount, CertificateRecord, CertificateStatus, ErrorCode,
    EventKind, Identity, IdentityStatus, RegisterAccount, RegisterIdentity, Role,
};

use crate::certificates::CheckedCertificate;
use crate::error::{reject, Failure};
use crate::keys;
use crate::ops::certificate;
use crate::ops::TxContext;
use crate::validate::{self, TEXT_LEN_MAX};

/// Most accounts (keys) one identity may hold.
pub(crate) const ACCOUNTS_PER_IDENTITY_MAX: usize = 16;

/// Checks a new account id and key are well formed and free, and records the key binding.
pub(crate) fn claim_account(
    tx: &mut TxContext<'_, '_>,
    account_id: &str,
    public_key: &[u8],
) -> Result<(), Failure> {
    validate::account_id(account_id)?;
    validate::public_key(public_key)?;
    if tx.overlay.get(&keys::account(account_id))?.is_some() {
        return reject(
            ErrorCode::AccountExists,
            format!("account {account_id} already exists"),
        );
    }
    bind_key(tx, account_id, public_key)
}

/// Binds `public_key` to `account_id` for good, unless some account already has it (a key
/// serves one account, ever).
pub(crate) fn bind_key(
    tx: &mut TxContext<'_, '_>,
    account_id: &str,
    public_key: &[u8],
) -> Result<(), Failure> {
    let binding = keys::key_binding(public_key);
    if let Some(owner) = tx.overlay.get(&binding)? {
        return reject(
            ErrorCode::InvalidPublicKey,
            format!(
                "public key {} is already bound to account {}",
                hex::encode(public_key),
                String::from_utf8_lossy(&owner)
            ),
        );
    }
    tx.overlay.put(binding, account_id.as_bytes().to_vec());
    Ok(())
}

pub(crate) fn register_identity(
    tx: &mut TxContext<'_, '_>,
    op: RegisterIdentity,
) -> Result<(), Failure> {
    tx.require_role(&[Role::Administrator], "registering an identity")?;
    validate::uscc(&op.uscc)?;
    validate::text("identity name", &op.name, true, TEXT_LEN_MAX)?;
    validate::text(
        "legal representative",
        &op.legal_representative,
        false,
        TEXT_LEN_MAX,
    )?;
    let role = Role::try_from(op.role).unwrap_or(Role::Unspecified);
    if role == Role::Unspecified {
        return reject(
            ErrorCode::InvalidArgument,
            format!("role {} is not a vchain role", op.role),
        );
    }
    if tx.overlay.get(&keys::identity(&op.uscc))?.is_some() {
        return reject(
            ErrorCode::IdentityExists,
            format!("identity {} is already registered", op.uscc),
        );
    }
    let org_id = tx.signer.org_id.clone();
    validate::account_id(&op.account_id)?;
    let certified = certificate::certify_account(
        tx,
        &org_id,
        &op.account_id,
        role,
        &op.certificate,
        &op.public_key,
    )?;
    let public_key = key_of(certified.as_ref(), op.public_key);
    claim_account(tx, &op.account_id, &public_key)?;
    let identity = Identity {
        uscc: op.uscc.clone(),
        name: op.name.clone(),
        role: role.into(),
        org_id: org_id.clone(),
        status: IdentityStatus::Active.into(),
        legal_representative: op.legal_representative,
        accounts: vec![op.account_id.clone()],
        registered_height: tx.context.height,
    };
    let account = new_account(&op.account_id, &identity, public_key, certified.as_ref());
    if let Some(certified) = &certified {
        certificate::put_record(tx.overlay, &certified.record(&org_id, tx.context.height));
    }
    tx.overlay.put_message(keys::identity(&op.uscc), &identity);
    tx.overlay
        .put_message(keys::account(&op.account_id), &account);

    let mut event = tx.event(EventKind::IdentityRegistered);
    event.counterparty = op.uscc.clone();
    event.accounts = vec![op.account_id.clone()];
    event.role = role.into();
    event.org_id = org_id.to_owned();
    tx.audit_event(event)?;
    let mut event = tx.event(EventKind::AccountRegistered);
    event.counterparty = op.account_id.clone();
    event.accounts = vec![op.account_id.clone()];
    event.uscc = op.uscc.clone();
    tx.audit_event(event)
}

/// The key an account is bound to: its certificate's, or the request's for a bare-key account.
fn key_of(certified: Option<&CheckedCertificate>, requested: Vec<u8>) -> Vec<u8> {
    certified.map_or(requested, |c| c.certified.public_key.to_vec())
}

fn new_account(
    account_id: &str,
    identity: &Identity,
    public_key: Vec<u8>,
    certified: Option<&CheckedCertificate>,
) -> Account {
    let mut account = Account {
        account_id: account_id.to_owned(),
        uscc: identity.uscc.clone(),
        public_key,
        status: AccountStatus::Active.into(),
        next_nonce: 0,
        org_id: identity.org_id.clone(),
        role: identity.role,
        ..Account::default()
    };
    if let Some(certified) = certified {
        certified.bind(&mut account);
    }
    account
}

pub(crate) fn register_account(
    tx: &mut TxContext<'_, '_>,
    op: RegisterAccount,
) -> Result<(), Failure> {
    tx.require_role(&[Role::Administrator], "registering an account")?;
    let mut identity = tx.load_identity(&op.uscc)?;
    if identity.org_id != tx.signer.org_id {
        return reject(
            ErrorCode::NotSameOrganisation,
            format!(
                "identity {} belongs to {}, not to {}",
                identity.uscc, identity.org_id, tx.signer.org_id
            ),
        );
    }
    if identity.status() != IdentityStatus::Active {
        return reject(
            ErrorCode::IdentityInactive,
            format!("identity {} is not active", identity.uscc),
        );
    }
    if identity.accounts.len() >= ACCOUNTS_PER_IDENTITY_MAX {
        return reject(
            ErrorCode::InvalidArgument,
            format!(
                "identity {} already has {ACCOUNTS_PER_IDENTITY_MAX} accounts",
                identity.uscc
            ),
        );
    }
    validate::account_id(&op.account_id)?;
    let certified = certificate::certify_account(
        tx,
        &identity.org_id,
        &op.account_id,
        identity.role(),
        &op.certificate,
        &op.public_key,
    )?;
    let public_key = key_of(certified.as_ref(), op.public_key);
    claim_account(tx, &op.account_id, &public_key)?;
    let account = new_account(&op.account_id, &identity, public_key, certified.as_ref());
    if let Some(certified) = &certified {
        certificate::put_record(
            tx.overlay,
            &certified.record(&identity.org_id, tx.context.height),
        );
    }
    identity.accounts.push(op.account_id.clone());
    tx.overlay
        .put_message(keys::identity(&identity.uscc), &identity);
    tx.overlay
        .put_message(keys::account(&op.account_id), &account);
    let mut event = tx.event(EventKind::AccountRegistered);
    event.counterparty = op.account_id.clone();
    event.accounts = vec![op.account_id];
    event.uscc = identity.uscc.clone();
    tx.audit_event(event)
}

pub(crate) fn set_account_frozen(
    tx: &mut TxContext<'_, '_>,
    account_id: &str,
    reason: &str,
    frozen: bool,
) -> Result<(), Failure> {
    let action = if frozen {
        "freezing an account"
    } else {
        "unfreezing an account"
    };
    tx.require_role(&[Role::Administrator], action)?;
    validate::text("reason", reason, true, TEXT_LEN_MAX)?;
    let mut account = tx.load_account(account_id)?;
    if account.org_id != tx.signer.org_id {
        return reject(
            ErrorCode::NotSameOrganisation,
            format!(
                "account {account_id} belongs to {}, not to {}",
                account.org_id, tx.signer.org_id
            ),
        );
    }
    if account.account_id == tx.signer.account_id {
        return reject(
            ErrorCode::InvalidArgument,
            "an administrator cannot freeze or unfreeze its own account",
        );
    }
    if account.status() == AccountStatus::Cancelled {
        return reject(
            ErrorCode::AccountCancelled,
            format!("account {account_id} was cancelled"),
        );
    }
    let is_frozen = account.status() == AccountStatus::Frozen;
    match (frozen, is_frozen) {
        (true, true) => {
            return reject(
                ErrorCode::AccountAlreadyFrozen,
                format!("account {account_id} is already frozen"),
            )
        }
        (false, false) => {
            return reject(
                ErrorCode::AccountNotFrozen,
                format!("account {account_id} is not frozen"),
            )
        }
        _ => {}
    }
    account.set_status(if frozen {
        AccountStatus::Frozen
    } else {
        AccountStatus::Active
    });
    tx.overlay.put_message(keys::account(account_id), &account);
    let mut event = tx.event(if frozen {
        EventKind::AccountFrozen
    } else {
        EventKind::AccountUnfrozen
    });
    event.counterparty = account_id.to_owned();
    event.accounts = vec![account_id.to_owned()];
    event.detail = reason.to_owned();
    tx.audit_event(event)
}

/// `CancelAccount`: an administrator of the account's organisation cancels it for good.
pub(crate) fn cancel_account(tx: &mut TxContext<'_, '_>, op: CancelAccount) -> Result<(), Failure> {
    tx.require_role(&[Role::Administrator], "cancelling an account")?;
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let mut account = tx.load_account(&op.account_id)?;
    if account.org_id != tx.signer.org_id {
        return reject(
            ErrorCode::NotSameOrganisation,
            format!(
                "account {} belongs to {}, not to {}",
                account.account_id, account.org_id, tx.signer.org_id
            ),
        );
    }
    if account.account_id == tx.signer.account_id {
        return reject(
            ErrorCode::InvalidArgument,
            "an administrator cannot cancel its own account",
        );
    }
    if account.status() == AccountStatus::Cancelled {
        return reject(
            ErrorCode::AccountCancelled,
            format!("account {} was already cancelled", account.account_id),
        );
    }
    // Its vouchers would be stranded: nobody could split, transfer or redeem them.
    if account.live_vouchers > 0 {
        return reject(
            ErrorCode::AccountHoldsVouchers,
            format!(
                "account {} still holds {} voucher(s) that have not ended; transfer or redeem them first",
                account.account_id, account.live_vouchers
            ),
        );
    }
    account.set_status(AccountStatus::Cancelled);
    if !account.certificate_serial.is_empty() && !account.certificate_revoked {
        let record: Option<CertificateRecord> = tx.overlay.get_message(
            &keys::certificate(&account.org_id, &account.certificate_serial),
            "CertificateRecord",
        )?;
        if let Some(record) = record.filter(|r| r.status() == CertificateStatus::Active) {
            certificate::end_record(
                tx.overlay,
                record,
                CertificateStatus::Revoked,
                tx.context.height,
                &op.reason,
            );
        }
        account.certificate_revoked = true;
    }
    // The key binding stays: a key that signed for this account never signs for another.
    tx.overlay
        .put_message(keys::account(&account.account_id), &account);
    let mut event = tx.event(EventKind::AccountCancelled);
    event.counterparty = account.account_id.clone();
    event.accounts = vec![account.account_id.clone()];
    event.org_id = account.org_id.clone();
    event.detail = op.reason;
    tx.audit_event(event)
}
