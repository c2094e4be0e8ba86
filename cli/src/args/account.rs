//! `vchain account ...`.

use std::path::PathBuf;

use clap::Subcommand;

use super::{PublicKeySource, TxOpts};

/// `account ...`
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCmd {
    /// Add an account (key) to an identity (administrator).
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// USCC of the identity.
        #[arg(long)]
        uscc: String,
        /// Id of the new account.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        key: PublicKeySource,
    },
    /// Show an account.
    Get {
        /// Account id.
        account: String,
    },
    /// Cancel an account of your organisation for good (administrator): it can never act or
    /// receive vouchers again and its certificate is revoked. Refused while it holds vouchers.
    Cancel {
        #[command(flatten)]
        tx: TxOpts,
        /// Account id.
        account: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Bind an account to a new key and certificate, keeping its vouchers (the account itself,
    /// or an administrator of its organisation, e.g. after a revocation).
    RotateKey {
        #[command(flatten)]
        tx: TxOpts,
        /// Account id.
        account: String,
        /// The new certificate (PEM or DER) from the organisation's current CA.
        #[arg(long, value_name = "PATH")]
        certificate: PathBuf,
    },
    /// Freeze an account (administrator).
    Freeze {
        #[command(flatten)]
        tx: TxOpts,
        /// Account id.
        account: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Lift an account freeze (administrator).
    Unfreeze {
        #[command(flatten)]
        tx: TxOpts,
        /// Account id.
        account: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
}
