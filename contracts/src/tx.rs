//! Building, signing and hashing transactions: what a wallet does.
//!
//! A transaction is signed over the exact encoded bytes of its [`TransactionBody`]; the node never
//! re-encodes a body, so a wallet in any language only has to produce protobuf bytes and an
//! ed25519 signature over them.

use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use sha2::{Digest, Sha256};
use vchain_proto::v1::{transaction_body::Operation, SignedTransaction, TransactionBody};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The transaction hash: SHA-256 over the signed body bytes.
pub fn tx_hash(body: &[u8]) -> Hash {
    Sha256::digest(body).into()
}

/// Encodes `body`, signs the bytes with `key` and returns the transaction a wallet submits.
///
/// ```
/// use vchain_contracts::tx::{sign, tx_hash};
/// use vchain_proto::v1::{transaction_body::Operation, RequestRedemption, TransactionBody};
/// let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let body = TransactionBody {
///     chain_id: "demo".into(),
///     signer: "acme-treasury".into(),
///     nonce: 0,
///     operation: Some(Operation::RequestRedemption(RequestRedemption { voucher_id: "V000000000001".into() })),
/// };
/// let tx = sign(&body, &key);
/// assert_eq!(tx.public_key, key.verifying_key().to_bytes().to_vec());
/// assert_eq!(tx_hash(&tx.body).len(), 32);
/// ```
pub fn sign(body: &TransactionBody, key: &SigningKey) -> SignedTransaction {
    let body = body.encode_to_vec();
    let signature = key.sign(&body);
    SignedTransaction {
        body,
        public_key: key.verifying_key().to_bytes().to_vec(),
        signature: signature.to_bytes().to_vec(),
    }
}

/// Builds a body for `operation` signed by `signer` with `nonce` on `chain_id`.
pub fn body(chain_id: &str, signer: &str, nonce: u64, operation: Operation) -> TransactionBody {
    TransactionBody {
        chain_id: chain_id.to_owned(),
        signer: signer.to_owned(),
        nonce,
        operation: Some(operation),
    }
}
