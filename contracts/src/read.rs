//! Signed reads: what a wallet signs to read the ledger, so a node can tell who is asking
//! (wallets sign it with `vchain_wallet::read`; the node checks it).
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

use sha2::{Digest, Sha256};

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
