//! Signed reads from Rust clients: a request with the reader's signature in its metadata (see
//! [`vchain_contracts::read`] for what is signed).

use ed25519_dalek::SigningKey;
use tonic::metadata::MetadataValue;
use vchain_contracts::read::{READER_HEADER, READ_SIGNATURE_HEADER, READ_TIME_HEADER};

/// `message` as a gRPC request of `method` (e.g. `"GetVoucher"`) signed by `reader` with `key`
/// at `time_ms` (the wallet's clock, ms since the Unix epoch) for chain `chain_id`.
///
/// ```
/// use vchain_proto::v1::GetVoucherRequest;
/// let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
/// let request = vchain_cli::read::request(
///     GetVoucherRequest { voucher_id: "V000000000001".into() },
///     "vchain-dev", "GetVoucher", "gearbox", &key, 1_700_000_000_000,
/// );
/// assert_eq!(request.metadata().get("x-vchain-reader").unwrap(), "gearbox");
/// ```
pub fn request<T: prost::Message>(
    message: T,
    chain_id: &str,
    method: &str,
    reader: &str,
    key: &SigningKey,
    time_ms: u64,
) -> tonic::Request<T> {
    let signature = vchain_contracts::read::sign(
        chain_id,
        method,
        reader,
        time_ms,
        &message.encode_to_vec(),
        key,
    );
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    // Account ids are ASCII (validate::account_id); hex and digits always are.
    if let Ok(value) = MetadataValue::try_from(reader) {
        metadata.insert(READER_HEADER, value);
    }
    if let Ok(value) = MetadataValue::try_from(time_ms.to_string()) {
        metadata.insert(READ_TIME_HEADER, value);
    }
    if let Ok(value) = MetadataValue::try_from(signature) {
        metadata.insert(READ_SIGNATURE_HEADER, value);
    }
    request
}

/// [`request`] at the current wall-clock time.
pub fn request_now<T: prost::Message>(
    message: T,
    chain_id: &str,
    method: &str,
    reader: &str,
    key: &SigningKey,
) -> tonic::Request<T> {
    request(
        message,
        chain_id,
        method,
        reader,
        key,
        crate::time::now_ms(),
    )
}
