//! Who may read what (§4.5.1.4 of the standard): every query but `GetStatus` is a signed read
//! ([`vchain_contracts::read`]); the node authenticates the reader and then answers only what
//! the reader may see.
//!
//! - Regulators (auditors) and administrators read everything.
//! - Any other reader reads what its own identity (all accounts of its USCC) is a party to: a
//!   voucher it holds, held, issued, financed or was named in, with the lineage above it; its
//!   own accounts and identity; credit lines it granted or received; transactions it signed;
//!   events naming one of its accounts.
//! - Proposals and pledge notices are readable by every authenticated reader, whatever its role
//!   or organisation (governance sets the rules every account lives under).
//! - The audit log is for regulators and administrators only.
//!
//! A read that cannot be authenticated is UNAUTHENTICATED; an authenticated reader asking for
//! what it may not see gets PERMISSION_DENIED, naming the rule.

use std::time::{SystemTime, UNIX_EPOCH};

use tonic::{Request, Status};
use vchain_contracts::read::{
    statement, READER_HEADER, READ_SIGNATURE_HEADER, READ_TIME_HEADER, READ_TIME_SKEW_MS_MAX,
};
use vchain_contracts::{keys, read_message};
use vchain_ledger::StateReader;
use vchain_proto::v1::{Account, AccountStatus, Event, Identity, Role, Voucher};

use crate::chain::Chain;

/// Most history events read to decide whether a reader was a party to a voucher.
const PARTY_EVENTS_MAX: usize = 4_096;

/// An authenticated reader: its account and identity.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The signing account.
    pub account: Account,
    /// Its identity (every account of which shares what it may read).
    pub identity: Identity,
}

impl Reader {
    /// Regulators and administrators read everything.
    pub fn privileged(&self) -> bool {
        matches!(self.account.role(), Role::Regulator | Role::Administrator)
    }

    /// Whether `account_id` is one of the reader's identity's accounts.
    pub fn owns(&self, account_id: &str) -> bool {
        self.identity.accounts.iter().any(|a| a == account_id)
    }

    /// Whether `event` names one of the reader's accounts.
    pub fn named_in(&self, event: &Event) -> bool {
        self.owns(&event.actor)
            || self.owns(&event.counterparty)
            || event.accounts.iter().any(|a| self.owns(a))
    }

    /// PERMISSION_DENIED for reading `what`.
    pub fn denied(&self, what: &str) -> Status {
        Status::permission_denied(format!(
            "account {} ({} of {}) may not read {what}: it reads only what its identity is a party to",
            self.account.account_id,
            self.account.role().as_str_name(),
            self.identity.uscc
        ))
    }
}

fn unauthenticated(why: impl std::fmt::Display) -> Status {
    Status::unauthenticated(format!(
        "signed read required ({READER_HEADER}, {READ_TIME_HEADER}, {READ_SIGNATURE_HEADER}): {why}"
    ))
}

fn header<'a, T>(request: &'a Request<T>, name: &str) -> Result<&'a str, Status> {
    request
        .metadata()
        .get(name)
        .ok_or_else(|| unauthenticated(format!("{name} is missing")))?
        .to_str()
        .map_err(|_| unauthenticated(format!("{name} is not ASCII")))
}

/// Authenticates the signed read `request` of `method` (e.g. `"GetVoucher"`).
pub fn authenticate<T: prost::Message>(
    chain: &Chain,
    request: &Request<T>,
    method: &str,
) -> Result<Reader, Status> {
    let reader = header(request, READER_HEADER)?;
    let time_ms: u64 = header(request, READ_TIME_HEADER)?
        .parse()
        .map_err(|_| unauthenticated(format!("{READ_TIME_HEADER} is not an integer")))?;
    let signature_hex = header(request, READ_SIGNATURE_HEADER)?;
    let wall_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    if time_ms.abs_diff(wall_ms) > READ_TIME_SKEW_MS_MAX {
        return Err(unauthenticated(format!(
            "the read is timed {time_ms} ms, the node's clock says {wall_ms} ms: more than {READ_TIME_SKEW_MS_MAX} ms apart"
        )));
    }
    let account: Account = read_message(&*chain.ledger, &keys::account(reader), "Account")
        .map_err(|e| Status::internal(e.to_string()))?
        .ok_or_else(|| unauthenticated(format!("reader account {reader:?} does not exist")))?;
    let signature = hex::decode(signature_hex)
        .ok()
        .filter(|s| s.len() == vchain_contracts::signature::SIGNATURE_BYTES)
        .ok_or_else(|| unauthenticated("the signature is not 64 bytes of hex"))?;
    let digest = vchain_contracts::read::request_digest(&request.get_ref().encode_to_vec());
    let text = statement(&chain.chain_id, method, reader, time_ms, &digest);
    // The chain's one signature rule, the same as for the account's transactions.
    if !vchain_contracts::signature::verify(&account.public_key, &text, &signature) {
        return Err(unauthenticated(format!(
            "the signature does not verify with account {reader}'s key over this {method} request"
        )));
    }
    reader_standing(chain, account)
}

/// `reader` as the chain now knows it, if it may still read: what a running event stream
/// checks after each block, so a reader cancelled, revoked or whose key was rotated meanwhile
/// (the key that signed the subscription is no longer its key) stops receiving, with
/// UNAUTHENTICATED as its next signed read would get.
pub fn recheck(chain: &Chain, reader: &Reader) -> Result<Reader, Status> {
    let account_id = &reader.account.account_id;
    let account: Account = read_message(&*chain.ledger, &keys::account(account_id), "Account")
        .map_err(|e| Status::internal(e.to_string()))?
        .ok_or_else(|| unauthenticated(format!("reader account {account_id:?} does not exist")))?;
    if account.public_key != reader.account.public_key {
        return Err(unauthenticated(format!(
            "KEY_MISMATCH: the key of account {account_id} changed since the read was signed"
        )));
    }
    reader_standing(chain, account)
}

/// Checks that an authenticated `account` may still read (not cancelled; its certificate, if
/// any, unrevoked and valid at the node's chain time) and reads its identity. A frozen account
/// still reads: a freeze stops it acting, and its holder needs to see what was frozen.
fn reader_standing(chain: &Chain, account: Account) -> Result<Reader, Status> {
    let reader = account.account_id.clone();
    if account.status() == AccountStatus::Cancelled {
        return Err(unauthenticated(format!(
            "ACCOUNT_CANCELLED: account {reader} was cancelled"
        )));
    }
    if !account.certificate_serial.is_empty() {
        let now_ms = chain.clock.now_ms();
        if account.certificate_revoked {
            return Err(unauthenticated(format!(
                "CERTIFICATE_REVOKED: the certificate of account {reader} is revoked"
            )));
        }
        if now_ms > account.certificate_not_after_ms {
            return Err(unauthenticated(format!(
                "CERTIFICATE_EXPIRED: the certificate of account {reader} expired at {} ms; the chain time is {now_ms} ms",
                account.certificate_not_after_ms
            )));
        }
        if now_ms < account.certificate_not_before_ms {
            return Err(unauthenticated(format!(
                "CERTIFICATE_NOT_YET_VALID: the certificate of account {reader} is valid from {} ms",
                account.certificate_not_before_ms
            )));
        }
    }
    let identity: Identity =
        read_message(&*chain.ledger, &keys::identity(&account.uscc), "Identity")
            .map_err(|e| Status::internal(e.to_string()))?
            .ok_or_else(|| Status::internal(format!("identity of account {reader} is missing")))?;
    Ok(Reader { account, identity })
}

/// Whether `reader` may read `voucher`: privileged, or its identity issued or financed it, holds
/// it, or is named in its history (a past holder, a recipient, ...).
pub fn may_read_voucher(
    state: &dyn StateReader,
    reader: &Reader,
    voucher: &Voucher,
) -> Result<bool, Status> {
    if reader.privileged()
        || voucher.issuer == reader.identity.uscc
        || voucher.financier == reader.identity.uscc
        || reader.owns(&voucher.holder)
    {
        return Ok(true);
    }
    named_in_history(state, reader, &voucher.id)
}

/// Whether `reader` is named in the history of asset `asset_id` (a voucher or a warehouse
/// receipt): a past holder, a recipient, a pledgee ...
pub fn named_in_history(
    state: &dyn StateReader,
    reader: &Reader,
    asset_id: &str,
) -> Result<bool, Status> {
    let history = state
        .scan_prefix(
            &keys::voucher_events_prefix(asset_id),
            None,
            PARTY_EVENTS_MAX,
        )
        .map_err(|e| Status::internal(e.to_string()))?;
    for (key, value) in history {
        let event: Event = prost::Message::decode(value.as_slice()).map_err(|e| {
            Status::internal(format!(
                "history entry {} does not decode: {e}",
                String::from_utf8_lossy(&key)
            ))
        })?;
        if reader.named_in(&event) {
            return Ok(true);
        }
    }
    Ok(false)
}
