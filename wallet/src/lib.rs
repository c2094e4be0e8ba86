//! vchain's wallet library: what a Rust program needs to hold keys and act on a vchain chain.
//!
//! Owns: the encrypted keystore format ([`keystore`], specified in docs/keystore.md), building
//! and signing transactions ([`transaction`]), signed reads ([`read`]), nonce handling and a
//! typed async client over the gRPC API that maps refusals to rule codes and waits for commits
//! ([`client`], [`error`]). The `vchain` CLI, the testnet, the benchmarks and the dev chain
//! maker use it; no other vchain crate signs.
//! Must not depend on: the node, the CLI (they depend on this crate, not the other way round).
//!
//! A supplier transferring a voucher:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use vchain_proto::v1::{transaction_body::Operation, TransferVoucher};
//! use vchain_wallet::{Client, Keystore, Signer, Wallet};
//! let keystore = Keystore::load_or_create(std::path::Path::new("keystore.json"))?;
//! let key = keystore.unlock("castings", "passphrase")?;
//! let client = Client::connect("http://127.0.0.1:7050").await?;
//! let mut wallet = Wallet::open(client, Signer::new("castings", key)).await?;
//! let held = wallet.held_vouchers(true, "", 100).await?;
//! let voucher = &held.vouchers[0];
//! wallet
//!     .submit(Operation::TransferVoucher(TransferVoucher {
//!         voucher_id: voucher.id.clone(),
//!         to: "foundry".into(),
//!         ..Default::default()
//!     }))
//!     .await?;
//! # Ok(()) }
//! ```

pub mod client;
pub mod error;
pub mod keystore;
pub mod read;
pub mod time;
pub mod trace;
pub mod transaction;

pub use client::{Client, Committed, Signer, Submitted, Wallet};
pub use error::{Refusal, WalletError};
pub use keystore::{KdfParams, KeyEntry, Keystore, KeystoreError};
