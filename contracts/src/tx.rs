//! Transaction identity: what a transaction hash is.
//!
//! Wallets build and sign transactions (`vchain_wallet::transaction`); the chain only checks
//! them (`crate::signature`) and names them by the hash of the exact body bytes signed.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The transaction hash: SHA-256 over the signed body bytes.
///
/// ```
/// let hash = vchain_contracts::tx::tx_hash(b"body bytes");
/// assert_eq!(hash.len(), 32);
/// ```
pub fn tx_hash(body: &[u8]) -> Hash {
    Sha256::digest(body).into()
}
