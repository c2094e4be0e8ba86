//! `vchain ca ...` and the roles a certificate certifies.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use super::{parse_hex32, Hex32, TxOpts};

/// What a certificate certifies (its OU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CertRoleArg {
    /// A consensus node's libp2p key.
    Node,
    /// An IoT device's signing key.
    Device,
    /// An administrator account.
    Administrator,
    /// A financier account.
    Financier,
    /// A core enterprise account.
    CoreEnterprise,
    /// A supplier account.
    Supplier,
    /// A regulator or auditor account.
    Regulator,
    /// A warehouse operator account.
    WarehouseOperator,
}

/// `ca ...`
#[derive(Debug, Subcommand)]
pub(crate) enum CaCmd {
    /// Create an organisation's root CA: its key goes into the keystore (encrypted), its
    /// certificate to a PEM file (for genesis or a rotate-ca proposal).
    Init {
        /// Organisation id (the certificate's O), e.g. bank-a.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// Keystore name of the CA key [default: <ORG>-ca].
        #[arg(long, value_name = "NAME")]
        key_name: Option<String>,
        /// How long the CA is valid, days.
        #[arg(long, default_value_t = 3650)]
        valid_days: u32,
        /// Where to write the CA certificate (PEM).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Certify a node's, account's or device's key: from a CSR, a hex key or a keystore entry.
    Issue {
        /// The CA certificate (PEM), as written by `ca init`.
        #[arg(long, value_name = "PATH")]
        ca_cert: PathBuf,
        /// Keystore name of the CA key [default: <ORG>-ca].
        #[arg(long, value_name = "NAME")]
        ca_key: Option<String>,
        /// The role the certificate grants.
        #[arg(long, value_enum)]
        role: CertRoleArg,
        /// The node, account or device id (the CN); taken from the CSR when one is given.
        #[arg(long, value_name = "ID")]
        name: Option<String>,
        /// A certificate signing request (PEM or DER) to certify.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["public_key", "key"])]
        csr: Option<PathBuf>,
        /// The 32-byte ed25519 public key to certify, as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX", conflicts_with = "key")]
        public_key: Option<Hex32>,
        /// Certify the public key of this keystore entry.
        #[arg(long = "key", value_name = "NAME")]
        key: Option<String>,
        /// How long the certificate is valid, days (capped at the CA's own expiry).
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
        /// Where to write the certificate (PEM).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Put a certificate your organisation's CA issued on the chain's revocation list
    /// (administrator). Its account can do nothing from that block on.
    Revoke {
        #[command(flatten)]
        tx: TxOpts,
        /// The certificate file (PEM or DER) whose serial is revoked.
        #[arg(long, value_name = "PATH", required_unless_present = "serial")]
        certificate: Option<PathBuf>,
        /// The serial number as hex, instead of the certificate file.
        #[arg(long, value_name = "HEX", conflicts_with = "certificate")]
        serial: Option<String>,
        /// Why (recorded on chain): key compromise, employee left, device lost ...
        #[arg(long)]
        reason: String,
    },
    /// Show what a certificate file says: organisation, role, name, key, serial, validity, and
    /// whether it expires soon. Reads the file only; it does not verify the issuer.
    Show {
        /// The certificate (PEM or DER).
        path: PathBuf,
        /// Warn when it expires within this many days.
        #[arg(long, default_value_t = 30)]
        warn_days: u32,
    },
}
