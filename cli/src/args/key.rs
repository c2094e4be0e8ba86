//! `vchain key ...`: the local keystore.

use std::path::PathBuf;

use clap::Subcommand;

use super::{parse_hex32, Hex32};

/// `key ...`
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCmd {
    /// Generate a new key and print its public key.
    New {
        /// Name of the key in the keystore.
        name: String,
        /// On-chain account the key signs for.
        #[arg(long)]
        account: Option<String>,
    },
    /// List the keys (no passphrase needed).
    List,
    /// Show one key.
    Show {
        /// Name of the key.
        name: String,
    },
    /// Record the on-chain account a key signs for.
    SetAccount {
        /// Name of the key.
        name: String,
        /// Account id.
        account: String,
    },
    /// Import an existing ed25519 secret key.
    Import {
        /// Name of the key in the keystore.
        name: String,
        /// The 32-byte secret key as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
        secret_hex: Hex32,
        /// On-chain account the key signs for.
        #[arg(long)]
        account: Option<String>,
    },
    /// Write a certificate signing request (PEM, RFC 2986) for a key, to hand to the
    /// organisation's CA (`vchain ca issue --csr`); the secret key never leaves the keystore.
    Csr {
        /// Name of the key.
        name: String,
        /// The id to certify (the CN): the account, node or device id [default: the key's
        /// account].
        #[arg(long = "id", value_name = "ID")]
        common_name: Option<String>,
        /// Where to write the CSR.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
}
