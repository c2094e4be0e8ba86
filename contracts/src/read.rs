//! Signed reads: what a wallet signs to read the ledger (wallets sign it with
//! `vchain_wallet::read`), and how a node tells from it who is asking.
//!
//! Every query (except `GetStatus`) carries three gRPC metadata entries:
//! [`READER_HEADER`] (the account id), [`READ_TIME_HEADER`] (the wallet's clock, ms since the
//! Unix epoch) and [`READ_SIGNATURE_HEADER`] (hex of the ed25519 signature by the account's key
//! over [`statement`]). The statement binds the chain, the method, the reader, the time and the
//! SHA-256 of the request message's protobuf encoding (fields in field-number order, defaults
//! omitted: what every standard encoder writes for these messages), so a signature answers one
//! question, on one chain, for a few minutes. Any language can build it: it is plain text.
//!
//! ```
//! let digest = [0u8; 32];
//! let text = vchain_contracts::read::statement("vchain-dev", "GetVoucher", "gearbox", 1_700_000_000_000, &digest);
//! assert!(text.starts_with(b"vchain-read/1\nvchain-dev\nGetVoucher\ngearbox\n1700000000000\n"));
//! ```
//!
//! Owns: the statement, [`authenticate`] (header values, time, key, signature and the reader's
//! standing, as a pure function of state and the two clocks the node passes in) and the
//! [`Reader`] it yields; the refusals ([`ReadRefusal`]), each with its [`ErrorCode`]. What an
//! authenticated reader may then see is [`crate::visibility`].
//!
//! Must not depend on: the transport (the node reads the headers and maps a refusal to a gRPC
//! status) or the clock (the node passes its wall clock and its chain time).

use sha2::{Digest, Sha256};
use vchain_ledger::{LedgerError, StateReader};
use vchain_proto::v1::{Account, AccountStatus, ErrorCode, Event, Identity, Role};

use crate::error::ExecError;
use crate::keys;
use crate::state::read_message;

/// Metadata entry naming the reading account.
pub const READER_HEADER: &str = "x-vchain-reader";
/// Metadata entry with the wallet's time of the read, ms since the Unix epoch.
pub const READ_TIME_HEADER: &str = "x-vchain-read-time-ms";
/// Metadata entry with the hex ed25519 signature over [`statement`].
pub const READ_SIGNATURE_HEADER: &str = "x-vchain-read-signature";
/// How far a read's time may be from the node's clock, either way.
pub const READ_TIME_SKEW_MS_MAX: u64 = 5 * 60 * 1000;

/// The bytes a reader signs: `vchain-read/1`, chain id, method name (e.g. `GetVoucher`), reader
/// account id, time in ms and the request's SHA-256 in lowercase hex, one per line.
pub fn statement(
    chain_id: &str,
    method: &str,
    reader: &str,
    time_ms: u64,
    request_sha256: &[u8; 32],
) -> Vec<u8> {
    format!(
        "vchain-read/1\n{chain_id}\n{method}\n{reader}\n{time_ms}\n{}",
        hex::encode(request_sha256)
    )
    .into_bytes()
}

/// SHA-256 of a request message's encoding.
pub fn request_digest(request_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(request_bytes).into()
}

/// At which stage a read was refused: the transport answers the first UNAUTHENTICATED and the
/// second PERMISSION_DENIED, whatever the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The read does not establish who asks: headers missing or malformed, time skewed, account
    /// unknown, signature wrong, or the account may no longer read at all (cancelled, its
    /// certificate revoked, expired or not yet valid, its key rotated since a stream began).
    Unauthenticated,
    /// The reader is known and may not see what it asked for.
    Denied,
}

/// A read refused by a rule: the stage, the rule's code (carried in `x-vchain-error-code`) and
/// what failed, naming the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str_name())]
pub struct ReadRefusal {
    /// Unauthenticated or denied.
    pub kind: RefusalKind,
    /// The rule that refused it.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
}

impl ReadRefusal {
    /// The read does not authenticate its reader, by rule `code`.
    pub fn unauthenticated(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert!(code != ErrorCode::Ok, "a refusal needs a failing code");
        Self {
            kind: RefusalKind::Unauthenticated,
            code,
            message: message.into(),
        }
    }

    /// The authenticated reader may not see this, by rule `code`.
    pub fn denied(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert!(code != ErrorCode::Ok, "a refusal needs a failing code");
        Self {
            kind: RefusalKind::Denied,
            code,
            message: message.into(),
        }
    }

    /// Header `name` is missing: READ_UNSIGNED.
    pub fn unsigned(name: &str) -> Self {
        Self::unauthenticated(
            ErrorCode::ReadUnsigned,
            format!("signed read required ({READER_HEADER}, {READ_TIME_HEADER}, {READ_SIGNATURE_HEADER}): {name} is missing"),
        )
    }

    /// Header `name` is there but unusable: READ_MALFORMED.
    pub fn malformed(name: &str, why: &str) -> Self {
        Self::unauthenticated(
            ErrorCode::ReadMalformed,
            format!("signed read required ({READER_HEADER}, {READ_TIME_HEADER}, {READ_SIGNATURE_HEADER}): {name} {why}"),
        )
    }
}

/// Why a read got no answer: a rule refused it, or the state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A rule refused the read.
    #[error(transparent)]
    Refused(#[from] ReadRefusal),
    /// Reading the state failed or found bytes that do not decode: the node's fault, not the
    /// reader's.
    #[error(transparent)]
    State(#[from] ExecError),
}

impl From<LedgerError> for ReadError {
    fn from(error: LedgerError) -> Self {
        ReadError::State(ExecError::Storage(error))
    }
}

/// The three signed-read headers of one request, present and ASCII (the transport refuses a
/// missing one with [`ReadRefusal::unsigned`] and a non-ASCII one with
/// [`ReadRefusal::malformed`] before it gets here).
#[derive(Debug, Clone, Copy)]
pub struct ReadHeaders<'a> {
    /// [`READER_HEADER`]: the account id.
    pub reader: &'a str,
    /// [`READ_TIME_HEADER`]: decimal ms since the Unix epoch.
    pub time_ms: &'a str,
    /// [`READ_SIGNATURE_HEADER`]: 128 hex digits.
    pub signature: &'a str,
}

/// The two clocks a read is judged by, read by the node: time is an input here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadClocks {
    /// The node's wall clock, ms since the Unix epoch: the read's time must be within
    /// [`READ_TIME_SKEW_MS_MAX`] of it.
    pub wall_ms: u64,
    /// The node's chain time (its clock as blocks are stamped, moved by dev nodes), ms: the
    /// reader's certificate must be valid at it.
    pub chain_ms: u64,
}

/// An authenticated reader: its account and identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Reader {
    /// The signing account.
    pub account: Account,
    /// Its identity (every account of which shares what it may read).
    pub identity: Identity,
}

impl Reader {
    /// Regulators (auditors) and administrators read everything.
    pub fn privileged(&self) -> bool {
        matches!(self.account.role(), Role::Regulator | Role::Administrator)
    }

    /// Whether `account_id` is one of the reader's identity's accounts.
    pub fn owns(&self, account_id: &str) -> bool {
        !account_id.is_empty() && self.identity.accounts.iter().any(|a| a == account_id)
    }

    /// Whether `event` names one of the reader's accounts (as the one acting, the counterparty
    /// or an account it concerns).
    pub fn named_in(&self, event: &Event) -> bool {
        self.owns(&event.actor)
            || self.owns(&event.counterparty)
            || event.accounts.iter().any(|a| self.owns(a))
    }

    /// NOT_A_PARTY for reading `what`.
    pub fn not_a_party(&self, what: &str) -> ReadRefusal {
        ReadRefusal::denied(
            ErrorCode::NotAParty,
            format!(
                "account {} ({} of {}) may not read {what}: it reads only what its identity is a party to",
                self.account.account_id,
                self.account.role().as_str_name(),
                self.identity.uscc
            ),
        )
    }

    /// WRONG_ROLE for reading `what`, which only auditors and administrators read.
    pub fn wrong_role(&self, what: &str) -> ReadRefusal {
        ReadRefusal::denied(
            ErrorCode::WrongRole,
            format!(
                "account {} ({} of {}) may not read {what}: regulators (auditors) and administrators only",
                self.account.account_id,
                self.account.role().as_str_name(),
                self.identity.uscc
            ),
        )
    }
}

/// Authenticates the read of `method` whose request message encodes to a SHA-256 of
/// `request_sha256`, on chain `chain_id`, from its `headers`: the time within
/// [`READ_TIME_SKEW_MS_MAX`] of the node's wall clock (READ_TIME_SKEW), the account known
/// (UNKNOWN_ACCOUNT), the signature 64 bytes of hex (READ_MALFORMED) that verify under the
/// chain's one signature rule with the account's key (BAD_SIGNATURE), and the account still in
/// standing ([`standing`]).
pub fn authenticate(
    state: &dyn StateReader,
    chain_id: &str,
    method: &str,
    request_sha256: &[u8; 32],
    headers: ReadHeaders<'_>,
    clocks: ReadClocks,
) -> Result<Reader, ReadError> {
    let time_ms: u64 = headers
        .time_ms
        .parse()
        .map_err(|_| ReadRefusal::malformed(READ_TIME_HEADER, "is not an integer"))?;
    if time_ms.abs_diff(clocks.wall_ms) > READ_TIME_SKEW_MS_MAX {
        return Err(ReadRefusal::unauthenticated(
            ErrorCode::ReadTimeSkew,
            format!(
                "the read is timed {time_ms} ms, the node's clock says {} ms: more than {READ_TIME_SKEW_MS_MAX} ms apart",
                clocks.wall_ms
            ),
        )
        .into());
    }
    let reader = headers.reader;
    let account: Account =
        read_message(state, &keys::account(reader), "Account")?.ok_or_else(|| {
            ReadRefusal::unauthenticated(
                ErrorCode::UnknownAccount,
                format!("reader account {reader:?} does not exist"),
            )
        })?;
    let signature = hex::decode(headers.signature)
        .ok()
        .filter(|s| s.len() == crate::signature::SIGNATURE_BYTES)
        .ok_or_else(|| ReadRefusal::malformed(READ_SIGNATURE_HEADER, "is not 64 bytes of hex"))?;
    let text = statement(chain_id, method, reader, time_ms, request_sha256);
    // The chain's one signature rule, the same as for the account's transactions.
    if !crate::signature::verify(&account.public_key, &text, &signature) {
        return Err(ReadRefusal::unauthenticated(
            ErrorCode::BadSignature,
            format!("the signature does not verify with account {reader}'s key over this {method} request"),
        )
        .into());
    }
    standing(state, account, clocks.chain_ms)
}

/// `reader` as the chain now knows it, if it may still read: what a running event stream
/// checks after each block, so a reader cancelled, revoked or whose key was rotated meanwhile
/// (the key that signed the subscription is no longer its key: KEY_MISMATCH) stops receiving,
/// refused as its next signed read would be.
pub fn recheck(
    state: &dyn StateReader,
    reader: &Reader,
    chain_ms: u64,
) -> Result<Reader, ReadError> {
    let account_id = &reader.account.account_id;
    let account: Account =
        read_message(state, &keys::account(account_id), "Account")?.ok_or_else(|| {
            ReadRefusal::unauthenticated(
                ErrorCode::UnknownAccount,
                format!("reader account {account_id:?} does not exist"),
            )
        })?;
    if account.public_key != reader.account.public_key {
        return Err(ReadRefusal::unauthenticated(
            ErrorCode::KeyMismatch,
            format!("the key of account {account_id} changed since the read was signed"),
        )
        .into());
    }
    standing(state, account, chain_ms)
}

/// Checks that an authenticated `account` may still read at chain time `chain_ms` (not
/// cancelled: ACCOUNT_CANCELLED; its certificate, if any, not revoked, expired or not yet
/// valid: the certificate codes) and reads its identity. A frozen account still reads: a freeze
/// stops it acting, and its holder needs to see what was frozen.
pub fn standing(
    state: &dyn StateReader,
    account: Account,
    chain_ms: u64,
) -> Result<Reader, ReadError> {
    let reader = &account.account_id;
    if account.status() == AccountStatus::Cancelled {
        return Err(ReadRefusal::unauthenticated(
            ErrorCode::AccountCancelled,
            format!("account {reader} was cancelled"),
        )
        .into());
    }
    if !account.certificate_serial.is_empty() {
        if account.certificate_revoked {
            return Err(ReadRefusal::unauthenticated(
                ErrorCode::CertificateRevoked,
                format!("the certificate of account {reader} is revoked"),
            )
            .into());
        }
        if chain_ms > account.certificate_not_after_ms {
            return Err(ReadRefusal::unauthenticated(
                ErrorCode::CertificateExpired,
                format!(
                    "the certificate of account {reader} expired at {} ms; the chain time is {chain_ms} ms",
                    account.certificate_not_after_ms
                ),
            )
            .into());
        }
        if chain_ms < account.certificate_not_before_ms {
            return Err(ReadRefusal::unauthenticated(
                ErrorCode::CertificateNotYetValid,
                format!(
                    "the certificate of account {reader} is valid from {} ms",
                    account.certificate_not_before_ms
                ),
            )
            .into());
        }
    }
    let identity: Identity = read_message(state, &keys::identity(&account.uscc), "Identity")?
        .ok_or_else(|| ExecError::CorruptState {
            key: String::from_utf8_lossy(&keys::identity(&account.uscc)).into_owned(),
            what: "Identity of a reading account",
            why: format!("account {reader} names it but it is missing"),
        })?;
    Ok(Reader { account, identity })
}
