//! vchain's wallet library: the encrypted keystore shared by the `vchain` command-line tool and
//! the node's dev mode (which writes keystores for its demo accounts in the same format).
//!
//! Owns: the keystore file format ([`keystore`]), signed reads for Rust clients ([`read`]) and
//! the chain-time formatting helpers the CLI prints with ([`time`]).
//! Must not depend on: the node (the node depends on this crate, not the other way round).

pub mod keystore;
pub mod read;
pub mod time;

pub use keystore::{KdfParams, KeyEntry, Keystore, KeystoreError};
