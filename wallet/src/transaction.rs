//! Building and signing transactions: the one place a vchain program signs one.
//!
//! A transaction is signed over the exact encoded bytes of its [`TransactionBody`]; the node never
//! re-encodes a body, so a wallet in any language only has to produce protobuf bytes and an
//! ed25519 signature over them (what the node checks is in `vchain_contracts::signature`).

use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use vchain_proto::v1::{transaction_body::Operation, SignedTransaction, TransactionBody};

/// Encodes `body`, signs the bytes with `key` and returns the transaction a wallet submits.
///
/// ```
/// use vchain_contracts::tx::tx_hash;
/// use vchain_proto::v1::{transaction_body::Operation, RequestRedemption};
/// use vchain_wallet::transaction::{body, sign};
/// let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let redeem = Operation::RequestRedemption(RequestRedemption { voucher_id: "V000000000001".into() });
/// let tx = sign(&body("demo", "acme-treasury", 0, redeem), &key);
/// assert_eq!(tx.public_key, key.verifying_key().to_bytes().to_vec());
/// assert_eq!(tx_hash(&tx.body).len(), 32);
/// ```
pub fn sign(body: &TransactionBody, key: &SigningKey) -> SignedTransaction {
    sign_bytes(body.encode_to_vec(), key)
}

/// Signs already-encoded body bytes as they are (a wallet that wants to send bytes it did not
/// encode itself, e.g. a test of how the node treats a non-canonical encoding).
pub fn sign_bytes(body: Vec<u8>, key: &SigningKey) -> SignedTransaction {
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
