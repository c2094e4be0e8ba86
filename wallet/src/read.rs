//! Signed reads: a request with the reader's signature in its metadata (see
//! [`vchain_contracts::read`] for what is signed and why).

use ed25519_dalek::{Signer, SigningKey};
use tonic::metadata::MetadataValue;
use vchain_contracts::read::{
    request_digest, statement, READER_HEADER, READ_SIGNATURE_HEADER, READ_TIME_HEADER,
};

/// Signs the read of `request_bytes` by `method` as `reader` at `time_ms`: the hex signature for
/// [`READ_SIGNATURE_HEADER`].
///
/// ```
/// let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
/// let hex = vchain_wallet::read::signature("vchain-dev", "GetVoucher", "gearbox", 7, b"request", &key);
/// assert_eq!(hex.len(), 128);
/// ```
pub fn signature(
    chain_id: &str,
    method: &str,
    reader: &str,
    time_ms: u64,
    request_bytes: &[u8],
    key: &SigningKey,
) -> String {
    let text = statement(
        chain_id,
        method,
        reader,
        time_ms,
        &request_digest(request_bytes),
    );
    hex::encode(key.sign(&text).to_bytes())
}

/// `message` as a gRPC request of `method` (e.g. `"GetVoucher"`) signed by `reader` with `key`
/// at `time_ms` (the wallet's clock, ms since the Unix epoch) for chain `chain_id`.
///
/// ```
/// use vchain_proto::v1::GetVoucherRequest;
/// let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
/// let request = vchain_wallet::read::request(
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
    let signature = signature(
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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    #[test]
    fn a_signature_covers_every_field_of_the_statement() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let signature = signature("c", "GetVoucher", "r", 7, b"request", &key);
        let bytes: [u8; 64] = hex::decode(&signature)
            .expect("hex")
            .try_into()
            .expect("64 bytes");
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        let digest = request_digest(b"request");
        let verifies = |text: Vec<u8>| key.verifying_key().verify(&text, &signature).is_ok();
        assert!(verifies(statement("c", "GetVoucher", "r", 7, &digest)));
        assert!(!verifies(statement("d", "GetVoucher", "r", 7, &digest)));
        assert!(!verifies(statement("c", "GetAccount", "r", 7, &digest)));
        assert!(!verifies(statement("c", "GetVoucher", "s", 7, &digest)));
        assert!(!verifies(statement("c", "GetVoucher", "r", 8, &digest)));
        assert!(!verifies(statement(
            "c",
            "GetVoucher",
            "r",
            7,
            &request_digest(b"other")
        )));
    }
}
