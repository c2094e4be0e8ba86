//! Signed reads at the gRPC edge: reads the three read headers and the node's two clocks, asks
//! the contracts who is reading ([`vchain_contracts::read::authenticate`]) and turns a refused
//! read into a gRPC status carrying the rule's code in `x-vchain-error-code`.
//!
//! Owns: the transport's part only (metadata, the wall clock, statuses). What a reader may see
//! is [`vchain_contracts::visibility`], a pure function of the state; `api.rs` asks it.
//!
//! A read that does not authenticate its reader is UNAUTHENTICATED (READ_UNSIGNED,
//! READ_MALFORMED, READ_TIME_SKEW, UNKNOWN_ACCOUNT, BAD_SIGNATURE, KEY_MISMATCH,
//! ACCOUNT_CANCELLED or a certificate code); an authenticated reader asking for what it may not
//! see is PERMISSION_DENIED (NOT_A_PARTY, or WRONG_ROLE for what only auditors and
//! administrators read).

use std::time::{SystemTime, UNIX_EPOCH};

use tonic::{Request, Status};
pub(crate) use vchain_contracts::read::Reader;
use vchain_contracts::read::{
    ReadClocks, ReadError, ReadHeaders, ReadRefusal, RefusalKind, READER_HEADER,
    READ_SIGNATURE_HEADER, READ_TIME_HEADER,
};
use vchain_contracts::visibility::{self, Record};

use crate::api::coded_status;
use crate::chain::Chain;

/// The value of header `name`: READ_UNSIGNED when missing, READ_MALFORMED when not ASCII.
fn header<'a, T>(request: &'a Request<T>, name: &str) -> Result<&'a str, ReadRefusal> {
    request
        .metadata()
        .get(name)
        .ok_or_else(|| ReadRefusal::unsigned(name))?
        .to_str()
        .map_err(|_| ReadRefusal::malformed(name, "is not ASCII"))
}

/// The node's wall clock, ms since the Unix epoch (what a read's own time is held against).
fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Authenticates the signed read `request` of `method` (e.g. `"GetVoucher"`).
pub(crate) fn authenticate<T: prost::Message>(
    chain: &Chain,
    request: &Request<T>,
    method: &str,
) -> Result<Reader, Status> {
    let headers = (|| {
        Ok::<_, ReadRefusal>(ReadHeaders {
            reader: header(request, READER_HEADER)?,
            time_ms: header(request, READ_TIME_HEADER)?,
            signature: header(request, READ_SIGNATURE_HEADER)?,
        })
    })()
    .map_err(|refusal| refusal_status(&refusal))?;
    let digest = vchain_contracts::read::request_digest(&request.get_ref().encode_to_vec());
    let clocks = ReadClocks {
        wall_ms: wall_clock_ms(),
        chain_ms: chain.clock.now_ms(),
    };
    vchain_contracts::read::authenticate(
        &*chain.ledger,
        &chain.chain_id,
        method,
        &digest,
        headers,
        clocks,
    )
    .map_err(status)
}

/// `reader` as the chain now knows it, if it may still read: what a running event stream
/// checks after each block (cancelled, revoked, expired, or its key rotated since the
/// subscription was signed ends it, as its next signed read would be refused).
pub(crate) fn recheck(chain: &Chain, reader: &Reader) -> Result<Reader, Status> {
    vchain_contracts::read::recheck(&*chain.ledger, reader, chain.clock.now_ms()).map_err(status)
}

/// Whether `reader` may read `record` in the node's current state; the refusal as a status.
pub(crate) fn may_read(chain: &Chain, reader: &Reader, record: &Record<'_>) -> Result<(), Status> {
    visibility::may_read(&*chain.ledger, reader, record).map_err(status)
}

/// The gRPC status of a read that got no answer.
pub(crate) fn status(error: ReadError) -> Status {
    match error {
        ReadError::Refused(refusal) => refusal_status(&refusal),
        ReadError::State(error) => crate::api::internal(error),
    }
}

/// A refused read: UNAUTHENTICATED or PERMISSION_DENIED by its stage, with its rule's code.
pub(crate) fn refusal_status(refusal: &ReadRefusal) -> Status {
    let code = match refusal.kind {
        RefusalKind::Unauthenticated => tonic::Code::Unauthenticated,
        RefusalKind::Denied => tonic::Code::PermissionDenied,
    };
    coded_status(code, refusal.code, &refusal.message)
}
