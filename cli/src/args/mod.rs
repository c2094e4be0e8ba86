//! The command line: clap definitions and the value parsers for amounts and hex digests.
//!
//! This module holds the top level (`Cli`, `Command`) and what several groups share (`TxOpts`,
//! `PublicKeySource`, the value parsers); each command group has its own file beside it, as in
//! `commands`.

mod account;
mod audit;
mod block;
mod ca;
mod consensus;
mod credit_line;
mod dev;
mod device;
mod events;
mod explorer;
mod identity;
mod key;
mod pledge;
mod proposal;
mod receipt;
#[cfg(test)]
mod tests;
mod tx;
mod voucher;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

pub(crate) use account::AccountCmd;
pub(crate) use audit::AuditArgs;
pub(crate) use block::BlockCmd;
pub(crate) use ca::{CaCmd, CertRoleArg};
pub(crate) use consensus::ConsensusCmd;
pub(crate) use credit_line::CreditLineCmd;
pub(crate) use dev::DevCmd;
pub(crate) use device::{DeviceCmd, DeviceKindArg};
pub(crate) use events::EventsArgs;
pub(crate) use explorer::ExplorerArgs;
pub(crate) use identity::IdentityCmd;
pub(crate) use key::KeyCmd;
pub(crate) use pledge::PledgeCmd;
pub(crate) use proposal::{ParamChanges, ProposalAction, ProposalCmd, ProposalText};
pub(crate) use receipt::ReceiptCmd;
pub(crate) use tx::TxCmd;
pub(crate) use voucher::{VoucherCmd, VoucherOwner};

const ABOUT: &str = "vchain: wallet and explorer for the digital debt voucher (数字债权凭证) chain";

/// `vchain`: wallet and explorer.
#[derive(Debug, Parser)]
#[command(name = "vchain", version, about = ABOUT, long_about = None, after_long_help = EXIT_CODES_HELP)]
pub(crate) struct Cli {
    /// gRPC endpoint of a vchain node.
    #[arg(
        long,
        global = true,
        env = "VCHAIN_ENDPOINT",
        default_value = "http://127.0.0.1:7050"
    )]
    pub(crate) endpoint: String,
    /// Keystore file [default: ~/.vchain/keystore.json].
    #[arg(long, global = true, env = "VCHAIN_KEYSTORE", value_name = "PATH")]
    pub(crate) keystore: Option<PathBuf>,
    /// Read the key passphrase from this file (first line) instead of VCHAIN_PASSPHRASE or a prompt.
    #[arg(
        long,
        global = true,
        env = "VCHAIN_PASSPHRASE_FILE",
        value_name = "PATH"
    )]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Keystore key that signs reads (every query but `status` is a signed read; the node
    /// answers only what the key's identity may see). Transactions read with their `--as` key.
    #[arg(long, global = true, env = "VCHAIN_READER", value_name = "KEY")]
    pub(crate) reader: Option<String>,
    /// Print one machine-readable JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Give up on a node call after this many seconds (exit code 5).
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS")]
    pub(crate) rpc_timeout_secs: u64,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage keys in the local keystore.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Register and read enterprise identities.
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Register, read, freeze and unfreeze accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Grant, change, revoke and read credit lines.
    #[command(subcommand)]
    CreditLine(CreditLineCmd),
    /// Issue, split, transfer, redeem, freeze, read and trace vouchers.
    #[command(subcommand)]
    Voucher(VoucherCmd),
    /// Register, amend, release, enforce and look up pledges of vouchers (质押登记).
    #[command(subcommand)]
    Pledge(PledgeCmd),
    /// Issue, transfer, release goods from and read warehouse receipts (仓单).
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// Register and revoke IoT devices, and submit their signed readings (warehouse operators).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Propose adding or removing consensus nodes (administrator; raft chains only).
    #[command(subcommand)]
    Consensus(ConsensusCmd),
    /// Submit and vote on governance proposals (administrators of member organisations).
    #[command(subcommand)]
    Proposal(ProposalCmd),
    /// An organisation's certificate authority: create it, certify keys, revoke certificates.
    #[command(subcommand)]
    Ca(CaCmd),
    /// Read blocks.
    #[command(subcommand)]
    Block(BlockCmd),
    /// Read transactions.
    #[command(subcommand)]
    Tx(TxCmd),
    /// Show the node's status and chain parameters.
    Status,
    /// Follow committed events (stops after --limit events or --timeout-secs seconds).
    Events(EventsArgs),
    /// Read the permission-change audit log (regulators and administrators).
    Audit(AuditArgs),
    /// Check a trace bundle (`vchain voucher trace V --export FILE`) with no node: every
    /// signature, proof and certificate back to genesis. Prints the lineage it proved; exit 3
    /// with the exact reason if anything does not check.
    Verify(VerifyArgs),
    /// Serve a web explorer of the chain (status, blocks, accounts, vouchers and their lineage,
    /// pledges, proposals), live, reading as the `--reader` key; runs until Ctrl-C.
    Explorer(ExplorerArgs),
    /// Dev-mode node controls.
    #[command(subcommand)]
    Dev(DevCmd),
}

/// `vchain verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The bundle file.
    pub(crate) file: std::path::PathBuf,
    /// The chain's genesis file (TOML), the one thing the check trusts.
    #[arg(long, value_name = "GENESIS")]
    pub(crate) genesis: std::path::PathBuf,
}

/// The signing key of a transaction and how to submit it.
#[derive(Debug, Args)]
pub(crate) struct TxOpts {
    /// Keystore key that signs; its entry must name the account it signs for.
    #[arg(long = "as", value_name = "KEY")]
    pub(crate) signer: String,
    /// Return once the node admitted the transaction instead of waiting for its block.
    #[arg(long)]
    pub(crate) no_wait: bool,
}

/// An account's key: given directly, taken from a keystore entry, or certified by a certificate
/// (required when the organisation has a root CA on chain; the key is then the certificate's).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub(crate) struct PublicKeySource {
    /// The 32-byte ed25519 public key as hex.
    #[arg(long, value_parser = parse_hex32, value_name = "HEX", conflicts_with = "key")]
    pub(crate) public_key: Option<Hex32>,
    /// Take the public key from this keystore entry.
    #[arg(long = "key", value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// The account's X.509 certificate (PEM or DER) from the organisation's CA (`vchain ca issue`).
    #[arg(long, value_name = "PATH")]
    pub(crate) certificate: Option<PathBuf>,
}

/// 32 bytes given as hex on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hex32(pub(crate) [u8; 32]);

/// A comma-separated list of amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AmountList(pub(crate) Vec<u64>);

/// Parses 64 hex characters (an optional `0x` prefix is allowed).
pub(crate) fn parse_hex32(s: &str) -> Result<Hex32, String> {
    let t = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(t).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "expected 32 bytes (64 hex characters), got {} bytes",
            b.len()
        )
    })?;
    Ok(Hex32(arr))
}

/// Parses an amount in minor units: decimal digits only (no sign, no decimal point).
pub(crate) fn parse_amount(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("empty amount".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{s:?} is not an amount: use an integer number of minor units (fen for CNY), without sign or decimal point"
        ));
    }
    s.parse::<u64>().map_err(|_| format!("{s} is too large"))
}

/// Parses `100,200,300` into amounts; empty lists and empty items are refused.
pub(crate) fn parse_amount_list(s: &str) -> Result<AmountList, String> {
    if s.trim().is_empty() {
        return Err("empty amount list".into());
    }
    s.split(',')
        .map(|part| parse_amount(part.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(AmountList)
}
