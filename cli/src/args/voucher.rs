//! `vchain voucher ...`, with the digests of trade documents and agreements.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{parse_amount, parse_amount_list, parse_hex32, AmountList, Hex32, TxOpts};

/// A 32-byte digest given as hex or computed (SHA-256) from a file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct DocDigest {
    /// SHA-256 of the trade document, as hex.
    #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
    pub(crate) doc_hash: Option<Hex32>,
    /// Trade document file to hash with SHA-256.
    #[arg(long, value_name = "PATH")]
    pub(crate) doc_file: Option<PathBuf>,
}

/// The agreement of a transfer, as a hash or a file to hash.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct AgreementDigest {
    /// SHA-256 of the signed debt-transfer agreement, as hex.
    #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
    pub(crate) agreement_hash: Option<Hex32>,
    /// Agreement file to hash with SHA-256.
    #[arg(long, value_name = "PATH")]
    pub(crate) agreement_file: Option<PathBuf>,
}

/// Which vouchers to list.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct VoucherOwner {
    /// Vouchers held by this account.
    #[arg(long)]
    pub(crate) holder: Option<String>,
    /// Vouchers issued by this core enterprise (USCC).
    #[arg(long)]
    pub(crate) issuer: Option<String>,
}

/// `voucher ...`
#[derive(Debug, Subcommand)]
pub(crate) enum VoucherCmd {
    /// Issue a voucher against a credit line (core enterprise).
    Issue {
        #[command(flatten)]
        tx: TxOpts,
        /// Account of the first holder.
        #[arg(long)]
        holder: String,
        /// USCC of the financier whose credit line backs the voucher.
        #[arg(long)]
        financier: String,
        /// Face amount in minor units (fen for CNY).
        #[arg(long, value_parser = parse_amount)]
        amount: u64,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Maturity date, YYYY-MM-DD in the chain's time zone.
        #[arg(long, value_name = "YYYY-MM-DD")]
        maturity: String,
        /// Kind of trade document (invoice, contract, ...).
        #[arg(long)]
        doc_kind: String,
        /// Number of the trade document (e.g. the invoice number).
        #[arg(long)]
        doc_number: String,
        #[command(flatten)]
        doc: DocDigest,
    },
    /// Split a voucher into children that sum to it (holder).
    Split {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
        /// Child amounts in minor units, comma separated: 100,200.
        #[arg(long, value_parser = parse_amount_list, value_name = "N,N,...")]
        amounts: AmountList,
    },
    /// Transfer a whole voucher to another account (holder).
    Transfer {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
        /// Recipient account.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        agreement: AgreementDigest,
        /// Consideration paid for the transfer, in minor units (makes it a financing).
        #[arg(long, value_parser = parse_amount)]
        consideration: Option<u64>,
        /// Currency of the consideration [default: the voucher's currency].
        #[arg(long, requires = "consideration")]
        consideration_currency: Option<String>,
    },
    /// Ask the issuer for payment (holder; at or after maturity).
    Redeem {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
    },
    /// Confirm a redemption was paid (issuer).
    Confirm {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
        /// Payment reference (bank transfer id ...).
        #[arg(long)]
        payment_ref: String,
    },
    /// Freeze a voucher (administrator or regulator).
    Freeze {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Lift a voucher freeze (administrator or regulator).
    Unfreeze {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id.
        voucher: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show a voucher.
    Get {
        /// Voucher id.
        voucher: String,
    },
    /// List vouchers by holder or issuer (all pages).
    List {
        #[command(flatten)]
        owner: VoucherOwner,
        /// Only vouchers that have not ended.
        #[arg(long)]
        live: bool,
        /// Vouchers per request (the node's default when absent).
        #[arg(long)]
        page_size: Option<u32>,
    },
    /// Show a voucher's whole lineage as a tree, with every event; or, with --export, write
    /// an auditor's trace bundle of it to check offline with `vchain verify`.
    Trace {
        /// Voucher id.
        voucher: String,
        /// Write the lineage's trace bundle (every transaction, proof, header and certificate
        /// it rests on) to FILE instead of showing it.
        #[arg(long, value_name = "FILE")]
        export: Option<std::path::PathBuf>,
    },
}
