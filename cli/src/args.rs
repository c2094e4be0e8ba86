//! The command line: clap definitions and the value parsers for amounts and hex digests.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vchain_proto::v1::Role;

use crate::exit::EXIT_CODES_HELP;

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
    /// Dev-mode node controls.
    #[command(subcommand)]
    Dev(DevCmd),
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

/// Roles an identity can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// System administrator.
    Administrator,
    /// Bank or factor.
    Financier,
    /// Core enterprise (issuer).
    CoreEnterprise,
    /// Supplier of any tier.
    Supplier,
    /// Auditor or regulator.
    Regulator,
    /// Warehouse or logistics operator.
    WarehouseOperator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Administrator => Role::Administrator,
            RoleArg::Financier => Role::Financier,
            RoleArg::CoreEnterprise => Role::CoreEnterprise,
            RoleArg::Supplier => Role::Supplier,
            RoleArg::Regulator => Role::Regulator,
            RoleArg::WarehouseOperator => Role::WarehouseOperator,
        }
    }
}

/// `identity ...`
#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCmd {
    /// Register an enterprise identity and its first account (administrator).
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// Unified social credit code (统一社会信用代码).
        #[arg(long)]
        uscc: String,
        /// Registered name.
        #[arg(long)]
        name: String,
        /// Role of the identity.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Legal representative.
        #[arg(long, default_value = "")]
        legal_rep: String,
        /// Id of the identity's first account.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        key: PublicKeySource,
    },
    /// Show an identity.
    Get {
        /// Unified social credit code.
        uscc: String,
    },
}

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

/// `credit-line ...`
#[derive(Debug, Subcommand)]
pub(crate) enum CreditLineCmd {
    /// Grant a core enterprise a credit line (financier).
    Grant {
        #[command(flatten)]
        tx: TxOpts,
        /// USCC of the core enterprise.
        #[arg(long)]
        core: String,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Limit in minor units (fen for CNY).
        #[arg(long, value_parser = parse_amount)]
        limit: u64,
    },
    /// Raise the limit of a line (financier).
    Raise {
        #[command(flatten)]
        tx: TxOpts,
        /// USCC of the core enterprise.
        #[arg(long)]
        core: String,
        /// Amount in minor units.
        #[arg(long, value_parser = parse_amount)]
        amount: u64,
    },
    /// Lower the limit of a line (financier).
    Lower {
        #[command(flatten)]
        tx: TxOpts,
        /// USCC of the core enterprise.
        #[arg(long)]
        core: String,
        /// Amount in minor units.
        #[arg(long, value_parser = parse_amount)]
        amount: u64,
    },
    /// Revoke a line (financier).
    Revoke {
        #[command(flatten)]
        tx: TxOpts,
        /// USCC of the core enterprise.
        #[arg(long)]
        core: String,
        /// Why (recorded on chain).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Show a credit line.
    Get {
        /// USCC of the financier.
        #[arg(long)]
        financier: String,
        /// USCC of the core enterprise.
        #[arg(long)]
        core: String,
    },
}

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
    /// Show a voucher's whole lineage as a tree, with every event.
    Trace {
        /// Voucher id.
        voucher: String,
    },
}

/// `pledge ...`
#[derive(Debug, Subcommand)]
pub(crate) enum PledgeCmd {
    /// Pledge a voucher or warehouse receipt you hold to a financier; prints the registration
    /// number and the modification code (keep it: only its hash goes on chain).
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// Voucher id (V...) or warehouse receipt id (W...).
        asset: String,
        /// Warehouse receipts: a dynamic pledge with this floor (minor units): goods may leave
        /// while the value left stays at or above it. Without it the pledge is static.
        #[arg(long, value_name = "VALUE")]
        dynamic_floor: Option<u64>,
        /// Account of the pledgee (a financier).
        #[arg(long)]
        pledgee: String,
        /// Secured amount, minor units.
        #[arg(long)]
        amount: u64,
        /// ISO 4217 currency (the voucher's).
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Last day of the registration period, YYYY-MM-DD (at most the voucher's maturity).
        #[arg(long, value_name = "DATE")]
        until: String,
        /// What is pledged under which loan contract.
        #[arg(long)]
        collateral: String,
    },
    /// Amend a registration (pledgee), with the modification code the pledgor gave.
    Amend {
        #[command(flatten)]
        tx: TxOpts,
        /// Registration number, e.g. R000000000001.
        number: String,
        /// The modification code.
        #[arg(long)]
        code: String,
        /// New last day of the period, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// New secured amount, minor units.
        #[arg(long)]
        amount: Option<u64>,
        /// New floor of a dynamic pledge, minor units.
        #[arg(long)]
        floor: Option<u64>,
    },
    /// Release a pledge (pledgee): the loan is repaid, the voucher is unlocked.
    Release {
        #[command(flatten)]
        tx: TxOpts,
        /// Registration number.
        number: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Enforce a pledge on default (pledgee): the voucher passes to you.
    Enforce {
        #[command(flatten)]
        tx: TxOpts,
        /// Registration number.
        number: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show a registration by number, or a voucher's active pledge (public notice).
    Get {
        /// Registration number.
        #[arg(required_unless_present_any = ["voucher", "receipt"])]
        number: Option<String>,
        /// The voucher whose active pledge to show.
        #[arg(long, conflicts_with = "number")]
        voucher: Option<String>,
        /// The warehouse receipt whose active pledge to show.
        #[arg(long, conflicts_with_all = ["number", "voucher"])]
        receipt: Option<String>,
    },
}

/// Kinds of IoT device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeviceKindArg {
    /// Counts or weighs the lot.
    Scale,
    /// In/out movements.
    Gate,
    /// Temperature and humidity.
    Climate,
    /// Position, checked against the geofence.
    Gps,
    /// Smart lock state.
    Lock,
    /// RFID tag scans.
    Rfid,
}

/// `device ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCmd {
    /// Register a device watching one of your lots.
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// What it measures.
        #[arg(long, value_enum)]
        kind: DeviceKindArg,
        /// The warehouse receipt (lot) it watches.
        #[arg(long)]
        receipt: String,
        /// The keystore key the device signs with.
        #[arg(long = "device-key", value_name = "NAME")]
        device_key: String,
        /// GPS: the geofence as MIN_LAT,MAX_LAT,MIN_LON,MAX_LON in 1e-7 degrees.
        #[arg(long, value_delimiter = ',', num_args = 4, value_name = "E7")]
        fence: Vec<i64>,
        /// Climate: the allowed range as MIN,MAX in hundredths of a degree Celsius.
        #[arg(
            long,
            value_delimiter = ',',
            num_args = 2,
            value_name = "CENTI_C",
            allow_negative_numbers = true
        )]
        temperature: Vec<i32>,
    },
    /// Revoke a device: its readings are refused from then on.
    Revoke {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show a device: key, kind, lot, last reading counter, status.
    Get {
        /// Device id.
        device: String,
    },
    /// Sign a reading with the device's key and submit it through your gateway account.
    Read {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// The keystore key the device signs with.
        #[arg(long = "device-key", value_name = "NAME")]
        device_key: String,
        /// The reading's counter (above the device's last).
        #[arg(long)]
        counter: u64,
        /// Scale: units counted.
        #[arg(long, group = "measurement")]
        quantity: Option<u64>,
        /// Gate: units that left.
        #[arg(long, group = "measurement")]
        units_out: Option<u64>,
        /// Climate: temperature in hundredths of a degree Celsius.
        #[arg(long, group = "measurement", allow_negative_numbers = true)]
        centi_celsius: Option<i32>,
        /// GPS: LAT,LON in 1e-7 degrees.
        #[arg(
            long,
            group = "measurement",
            value_delimiter = ',',
            num_args = 2,
            allow_negative_numbers = true
        )]
        position: Option<Vec<i64>>,
        /// Lock: open (true) or closed (false).
        #[arg(long, group = "measurement")]
        lock_open: Option<bool>,
        /// RFID: the tag scanned.
        #[arg(long, group = "measurement")]
        rfid: Option<String>,
    },
}

/// `receipt ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ReceiptCmd {
    /// Issue a warehouse receipt for goods you hold (warehouse operator).
    Issue {
        #[command(flatten)]
        tx: TxOpts,
        /// Account of the goods' owner.
        #[arg(long)]
        holder: String,
        /// Stock-keeping unit.
        #[arg(long)]
        sku: String,
        /// Units in the lot.
        #[arg(long)]
        quantity: u64,
        /// Value of one unit, minor units.
        #[arg(long)]
        unit_value: u64,
        /// ISO 4217 currency.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Where the goods are.
        #[arg(long)]
        location: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Transfer a receipt you hold.
    Transfer {
        #[command(flatten)]
        tx: TxOpts,
        /// Receipt id.
        receipt: String,
        /// Recipient account.
        #[arg(long)]
        to: String,
    },
    /// Record goods leaving a lot (the issuing warehouse operator).
    ReleaseGoods {
        #[command(flatten)]
        tx: TxOpts,
        /// Receipt id.
        receipt: String,
        /// Units leaving.
        #[arg(long)]
        quantity: u64,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show a receipt.
    Get {
        /// Receipt id.
        receipt: String,
    },
}

/// `block ...`
#[derive(Debug, Subcommand)]
pub(crate) enum BlockCmd {
    /// Show a block (the latest when neither height nor hash is given).
    Get {
        /// Block height.
        height: Option<u64>,
        /// Block hash as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX", conflicts_with = "height")]
        hash: Option<Hex32>,
    },
}

/// `tx ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TxCmd {
    /// Show a committed transaction with its result.
    Get {
        /// Transaction hash as hex.
        #[arg(value_parser = parse_hex32, value_name = "HASH")]
        hash: Hex32,
    },
    /// Wait for a pending transaction to commit, then show it with its result (exit 7 if it
    /// is still pending when the wait ends).
    Wait {
        /// Transaction hash as hex.
        #[arg(value_parser = parse_hex32, value_name = "HASH")]
        hash: Hex32,
        /// Longest wait, seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout_secs: u64,
    },
}

/// `events`
#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    /// Only events concerning this account.
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// Only events concerning this voucher.
    #[arg(long)]
    pub(crate) voucher: Option<String>,
    /// Replay committed events from this height first (0: only new events).
    #[arg(long, default_value_t = 0)]
    pub(crate) from_height: u64,
    /// Stop after this many events.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    pub(crate) timeout_secs: Option<u64>,
}

/// `audit`: the permission-change audit log (§4.5.1.4), oldest first.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Only entries concerning this organisation (made by, naming, or changing an account of it).
    #[arg(long = "org", value_name = "ORG")]
    pub(crate) org_id: Option<String>,
    /// Only entries naming this account (changed or acting).
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// Lowest block height, inclusive.
    #[arg(long, value_name = "HEIGHT")]
    pub(crate) from_height: Option<u64>,
    /// Highest block height, inclusive.
    #[arg(long, value_name = "HEIGHT")]
    pub(crate) to_height: Option<u64>,
    /// Show at most this many entries; the output names where the next ones start.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: u64,
    /// Continue after this point (the `next` a previous run printed).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) after: Option<String>,
}

/// `consensus ...`: shorthands for `proposal submit add-node | remove-node`. A membership change
/// is a proposal; it takes effect when the member organisations pass it.
#[derive(Debug, Subcommand)]
pub(crate) enum ConsensusCmd {
    /// Propose adding a node run by your organisation to the voting membership (administrator).
    AddNode {
        #[command(flatten)]
        tx: TxOpts,
        /// Id of the new node (never one a current or removed node has had).
        #[arg(long)]
        node_id: String,
        /// Organisation that runs the node; must be the signer's.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// The node's 32-byte ed25519 network public key (its libp2p identity) as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
        public_key: Hex32,
        /// The node's certificate (PEM or DER) from your organisation's CA (`vchain ca issue
        /// --role node`); required when the organisation has a root CA on chain.
        #[arg(long, value_name = "PATH")]
        certificate: Option<PathBuf>,
    },
    /// Propose removing a node run by your organisation from the voting membership, for good
    /// (administrator).
    RemoveNode {
        #[command(flatten)]
        tx: TxOpts,
        /// Id of a current consensus node.
        #[arg(long)]
        node_id: String,
    },
}

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

/// `proposal ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ProposalCmd {
    /// Submit a proposal; your organisation's approval counts at once.
    #[command(subcommand)]
    Submit(ProposalAction),
    /// Show a proposal: its change, votes, status and whole history.
    Get {
        /// Proposal id, e.g. P000000000001.
        proposal_id: String,
    },
    /// List proposals in submission order (all pages).
    List {
        /// Only proposals still open for votes.
        #[arg(long)]
        open: bool,
    },
    /// Vote for your organisation on an open proposal (one vote per organisation).
    Vote {
        #[command(flatten)]
        tx: TxOpts,
        /// Proposal id, e.g. P000000000001.
        proposal_id: String,
        /// Approve the proposal.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        /// Disapprove the proposal.
        #[arg(long)]
        reject: bool,
    },
}

/// Title and reason of a proposal.
#[derive(Debug, Args)]
pub(crate) struct ProposalText {
    /// Short title shown to voters [default: one naming the change].
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// Why the change is proposed.
    #[arg(long, default_value = "")]
    pub(crate) reason: String,
}

/// `proposal submit ...`: the change proposed.
#[derive(Debug, Subcommand)]
pub(crate) enum ProposalAction {
    /// Add a consensus node run by your organisation.
    AddNode {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of the new node (never one a current or removed node has had).
        #[arg(long)]
        node_id: String,
        /// Organisation that runs the node; must be the signer's.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// The node's 32-byte ed25519 network public key (its libp2p identity) as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
        public_key: Hex32,
        /// The node's certificate (PEM or DER) from your organisation's CA (`vchain ca issue
        /// --role node`); required when the organisation has a root CA on chain.
        #[arg(long, value_name = "PATH")]
        certificate: Option<PathBuf>,
    },
    /// Remove a consensus node run by your organisation.
    RemoveNode {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current consensus node.
        #[arg(long)]
        node_id: String,
    },
    /// Admit a member organisation with its administrator accounts.
    AddOrganisation {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Short id of the new organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// Legal name.
        #[arg(long)]
        name: String,
        /// Unified social credit code (also the administrator identity's id).
        #[arg(long)]
        uscc: String,
        /// An administrator account as ACCOUNT=PUBLIC_KEY_HEX (repeat for more; at least one
        /// of these or --admin-certificate).
        #[arg(long = "admin", value_parser = parse_admin, value_name = "ACCOUNT=HEX", required_unless_present = "admin_certificates")]
        admins: Vec<(String, Hex32)>,
        /// An administrator account certified by the new organisation's CA (--ca-cert): the
        /// account id and key are the certificate's (repeat for more).
        #[arg(long = "admin-certificate", value_name = "PATH", requires = "ca_cert")]
        admin_certificates: Vec<PathBuf>,
        /// The organisation's root CA certificate file (DER or PEM).
        #[arg(long, value_name = "PATH")]
        ca_cert: Option<PathBuf>,
    },
    /// Remove a member organisation (it must run no consensus node).
    RemoveOrganisation {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current member organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
    },
    /// Replace a member organisation's root CA certificate.
    RotateCa {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current member organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// The new root CA certificate file (DER or PEM).
        #[arg(long, value_name = "PATH")]
        ca_cert: PathBuf,
    },
    /// Change chain parameters: the node's current ones with the given ones replaced.
    SetParams {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        #[command(flatten)]
        params: ParamChanges,
    },
}

/// Chain parameters to change (the time zone cannot change).
#[derive(Debug, Args, Default, Clone, Copy)]
pub(crate) struct ParamChanges {
    /// Longest tenor, days.
    #[arg(long)]
    pub(crate) max_tenor_days: Option<u32>,
    /// Smallest child of a split, minor units.
    #[arg(long)]
    pub(crate) min_split_amount: Option<u64>,
    /// Most children of one split.
    #[arg(long)]
    pub(crate) split_fanout_max: Option<u32>,
    /// Days after maturity before an unredeemed voucher is destroyed.
    #[arg(long)]
    pub(crate) redemption_grace_days: Option<u32>,
    /// Most transactions in a block.
    #[arg(long)]
    pub(crate) block_tx_max: Option<u32>,
    /// Largest block, bytes.
    #[arg(long)]
    pub(crate) block_bytes_max: Option<u32>,
    /// Largest transaction, bytes.
    #[arg(long)]
    pub(crate) tx_bytes_max: Option<u32>,
    /// Most expired vouchers destroyed in one block.
    #[arg(long)]
    pub(crate) destroy_per_block_max: Option<u32>,
    /// Approval threshold: a proposal passes with more than this per cent of members (50..=99).
    #[arg(long)]
    pub(crate) proposal_approval_percent: Option<u32>,
    /// How long a proposal stays open, milliseconds.
    #[arg(long)]
    pub(crate) proposal_ttl_ms: Option<u64>,
}

/// Parses `ACCOUNT=HEX` for `--admin`.
fn parse_admin(s: &str) -> Result<(String, Hex32), String> {
    let (account, key) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ACCOUNT=PUBLIC_KEY_HEX, got {s:?}"))?;
    if account.is_empty() {
        return Err("the account id before '=' is empty".into());
    }
    Ok((account.to_owned(), parse_hex32(key)?))
}

/// `dev ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DevCmd {
    /// Move the dev node's chain clock forward.
    AdvanceClock(AdvanceClockArgs),
}

/// How far to move the clock.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct AdvanceClockArgs {
    /// Days to advance.
    #[arg(long)]
    pub(crate) days: Option<u64>,
    /// Milliseconds to advance.
    #[arg(long)]
    pub(crate) ms: Option<u64>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Cli {
        let mut argv = vec!["vchain"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn parse_err(args: &[&str]) -> ErrorKind {
        let mut argv = vec!["vchain"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn amount_parsing() {
        assert_eq!(parse_amount("0"), Ok(0));
        assert_eq!(parse_amount("100000"), Ok(100_000));
        assert_eq!(parse_amount("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_amount("18446744073709551616").is_err());
        for bad in ["", "1.5", "-3", "+3", "1e3", " 1", "1_000", "abc"] {
            assert!(parse_amount(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_amount_list("100,200"), Ok(AmountList(vec![100, 200])));
        assert_eq!(
            parse_amount_list("100, 200 ,300"),
            Ok(AmountList(vec![100, 200, 300]))
        );
        assert_eq!(parse_amount_list("5"), Ok(AmountList(vec![5])));
        for bad in [
            "", " ", "1.5", "-3", "100,", ",100", "100,,200", "100,1.5", "100;200",
        ] {
            assert!(parse_amount_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_parsing() {
        let h = "ab".repeat(32);
        assert_eq!(parse_hex32(&h), Ok(Hex32([0xab; 32])));
        assert_eq!(parse_hex32(&format!("0x{h}")), Ok(Hex32([0xab; 32])));
        assert!(parse_hex32("abcd").is_err());
        assert!(parse_hex32(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn globals_and_defaults() {
        let cli = parse(&["status"]);
        assert!(!cli.json);
        assert!(matches!(cli.command, Command::Status));
        let cli = parse(&[
            "voucher",
            "get",
            "V000000000001",
            "--json",
            "--endpoint",
            "http://node:9000",
        ]);
        assert!(cli.json);
        assert_eq!(cli.endpoint, "http://node:9000");
        assert!(
            matches!(cli.command, Command::Voucher(VoucherCmd::Get { ref voucher }) if voucher == "V000000000001")
        );
    }

    #[test]
    fn key_commands() {
        let cli = parse(&[
            "--keystore",
            "/tmp/ks.json",
            "key",
            "new",
            "alice",
            "--account",
            "alice-main",
        ]);
        assert_eq!(cli.keystore, Some(PathBuf::from("/tmp/ks.json")));
        assert!(
            matches!(cli.command, Command::Key(KeyCmd::New { ref name, account: Some(ref a) }) if name == "alice" && a == "alice-main")
        );
        let cli = parse(&["key", "import", "bob", "--secret-hex", &"07".repeat(32)]);
        assert!(
            matches!(cli.command, Command::Key(KeyCmd::Import { secret_hex, account: None, .. }) if secret_hex.0 == [7; 32])
        );
        assert!(matches!(
            parse(&["key", "set-account", "bob", "bob-1"]).command,
            Command::Key(KeyCmd::SetAccount { .. })
        ));
        assert_eq!(
            parse_err(&["key", "import", "bob", "--secret-hex", "00"]),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn identity_register() {
        let cli = parse(&[
            "identity",
            "register",
            "--as",
            "admin",
            "--uscc",
            "91310000MA1FL0000X",
            "--name",
            "Acme",
            "--role",
            "core-enterprise",
            "--account",
            "acme-1",
            "--key",
            "acme",
        ]);
        let Command::Identity(IdentityCmd::Register {
            tx,
            role,
            key,
            legal_rep,
            ..
        }) = cli.command
        else {
            panic!("wrong command")
        };
        assert_eq!(tx.signer, "admin");
        assert!(!tx.no_wait);
        assert_eq!(Role::from(role), Role::CoreEnterprise);
        assert_eq!(key.key.as_deref(), Some("acme"));
        assert_eq!(legal_rep, "");
        // Exactly one of --public-key / --key.
        let base = [
            "identity",
            "register",
            "--as",
            "a",
            "--uscc",
            "U",
            "--name",
            "N",
            "--role",
            "supplier",
            "--account",
            "x",
        ];
        assert_eq!(parse_err(&base), ErrorKind::MissingRequiredArgument);
        let mut both = base.to_vec();
        let pk = "11".repeat(32);
        both.extend(["--key", "k", "--public-key", &pk]);
        assert_eq!(parse_err(&both), ErrorKind::ArgumentConflict);
        let mut bad_role = base.to_vec();
        bad_role[9] = "banker";
        bad_role.extend(["--key", "k"]);
        assert_eq!(parse_err(&bad_role), ErrorKind::InvalidValue);
    }

    #[test]
    fn voucher_commands() {
        let cli = parse(&[
            "voucher",
            "issue",
            "--as",
            "acme",
            "--holder",
            "sup-1",
            "--financier",
            "F",
            "--amount",
            "100000",
            "--maturity",
            "2030-01-31",
            "--doc-kind",
            "invoice",
            "--doc-number",
            "INV-1",
            "--doc-file",
            "/tmp/x.pdf",
            "--no-wait",
        ]);
        let Command::Voucher(VoucherCmd::Issue {
            tx,
            amount,
            currency,
            doc,
            ..
        }) = cli.command
        else {
            panic!("wrong command")
        };
        assert!(tx.no_wait);
        assert_eq!(amount, 100_000);
        assert_eq!(currency, "CNY");
        assert_eq!(doc.doc_file, Some(PathBuf::from("/tmp/x.pdf")));
        assert_eq!(
            parse_err(&[
                "voucher",
                "issue",
                "--as",
                "a",
                "--holder",
                "h",
                "--financier",
                "F",
                "--amount",
                "1.5",
                "--maturity",
                "2030-01-31",
                "--doc-kind",
                "invoice",
                "--doc-number",
                "1",
                "--doc-hash",
                &"00".repeat(32)
            ]),
            ErrorKind::ValueValidation
        );

        let cli = parse(&[
            "voucher",
            "split",
            "--as",
            "sup",
            "V000000000001",
            "--amounts",
            "100,200",
        ]);
        assert!(
            matches!(cli.command, Command::Voucher(VoucherCmd::Split { ref amounts, .. }) if amounts.0 == vec![100, 200])
        );
        assert_eq!(
            parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts=-3"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts", "1.5,2"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts", ""]),
            ErrorKind::ValueValidation
        );

        let h = "ab".repeat(32);
        let cli = parse(&[
            "voucher",
            "transfer",
            "--as",
            "s",
            "V1",
            "--to",
            "bank",
            "--agreement-hash",
            &h,
            "--consideration",
            "9000",
        ]);
        assert!(matches!(
            cli.command,
            Command::Voucher(VoucherCmd::Transfer {
                consideration: Some(9000),
                consideration_currency: None,
                ..
            })
        ));
        assert_eq!(
            parse_err(&[
                "voucher",
                "transfer",
                "--as",
                "s",
                "V1",
                "--to",
                "b",
                "--agreement-hash",
                &h,
                "--consideration-currency",
                "CNY"
            ]),
            ErrorKind::MissingRequiredArgument
        );

        let cli = parse(&[
            "voucher",
            "list",
            "--holder",
            "sup-1",
            "--live",
            "--page-size",
            "10",
        ]);
        assert!(matches!(
            cli.command,
            Command::Voucher(VoucherCmd::List {
                live: true,
                page_size: Some(10),
                ..
            })
        ));
        assert_eq!(
            parse_err(&["voucher", "list"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&["voucher", "list", "--holder", "a", "--issuer", "b"]),
            ErrorKind::ArgumentConflict
        );

        assert!(matches!(
            parse(&["voucher", "trace", "V1"]).command,
            Command::Voucher(VoucherCmd::Trace { .. })
        ));
        assert!(matches!(
            parse(&[
                "voucher",
                "confirm",
                "--as",
                "acme",
                "V1",
                "--payment-ref",
                "P-1"
            ])
            .command,
            Command::Voucher(VoucherCmd::Confirm { .. })
        ));
        assert_eq!(
            parse_err(&["voucher", "freeze", "--as", "reg", "V1"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn chain_commands() {
        assert!(matches!(
            parse(&["block", "get"]).command,
            Command::Block(BlockCmd::Get {
                height: None,
                hash: None
            })
        ));
        assert!(matches!(
            parse(&["block", "get", "7"]).command,
            Command::Block(BlockCmd::Get {
                height: Some(7),
                ..
            })
        ));
        let h = "cd".repeat(32);
        assert_eq!(
            parse_err(&["block", "get", "7", "--hash", &h]),
            ErrorKind::ArgumentConflict
        );
        assert!(
            matches!(parse(&["tx", "get", &h]).command, Command::Tx(TxCmd::Get { hash }) if hash.0 == [0xcd; 32])
        );
        let cli = parse(&[
            "events",
            "--voucher",
            "V1",
            "--limit",
            "3",
            "--timeout-secs",
            "5",
        ]);
        assert!(matches!(
            cli.command,
            Command::Events(EventsArgs {
                limit: Some(3),
                timeout_secs: Some(5),
                ..
            })
        ));
        assert_eq!(
            parse_err(&["events", "--limit", "0"]),
            ErrorKind::ValueValidation
        );
        assert!(matches!(
            parse(&["dev", "advance-clock", "--days", "30"]).command,
            Command::Dev(DevCmd::AdvanceClock(AdvanceClockArgs {
                days: Some(30),
                ms: None
            }))
        ));
        assert_eq!(
            parse_err(&["dev", "advance-clock"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&["dev", "advance-clock", "--days", "1", "--ms", "5"]),
            ErrorKind::ArgumentConflict
        );
        let cli = parse(&[
            "credit-line",
            "grant",
            "--as",
            "bank",
            "--core",
            "C",
            "--limit",
            "100000000",
        ]);
        assert!(matches!(
            cli.command,
            Command::CreditLine(CreditLineCmd::Grant {
                limit: 100_000_000,
                ..
            })
        ));
        assert!(matches!(
            parse(&[
                "account",
                "freeze",
                "--as",
                "admin",
                "acc-1",
                "--reason",
                "court order"
            ])
            .command,
            Command::Account(AccountCmd::Freeze { .. })
        ));
    }

    #[test]
    fn consensus_commands() {
        let key = "ab".repeat(32);
        let cli = parse(&[
            "consensus",
            "add-node",
            "--as",
            "admin",
            "--node-id",
            "node-c",
            "--org",
            "bank-a",
            "--public-key",
            &key,
        ]);
        assert!(matches!(
            cli.command,
            Command::Consensus(ConsensusCmd::AddNode { ref node_id, ref org_id, public_key, .. })
                if node_id == "node-c" && org_id == "bank-a" && public_key.0 == [0xab; 32]
        ));
        assert_eq!(
            parse_err(&[
                "consensus",
                "add-node",
                "--as",
                "admin",
                "--node-id",
                "node-c",
                "--org",
                "bank-a",
                "--public-key",
                "abcd"
            ]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse_err(&[
                "consensus",
                "add-node",
                "--as",
                "admin",
                "--node-id",
                "node-c"
            ]),
            ErrorKind::MissingRequiredArgument
        );
        assert!(matches!(
            parse(&["consensus", "remove-node", "--as", "admin", "--node-id", "node-c"]).command,
            Command::Consensus(ConsensusCmd::RemoveNode { ref node_id, .. }) if node_id == "node-c"
        ));
        assert_eq!(
            parse_err(&["consensus", "remove-node", "--as", "admin"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn proposal_commands() {
        let key = "cd".repeat(32);
        let admin = format!("bank-c-admin={key}");
        assert!(matches!(
            parse(&[
                "proposal", "submit", "add-organisation", "--as", "admin", "--org", "bank-c",
                "--name", "Bank C", "--uscc", "91310000MA1FL00038", "--admin", &admin,
                "--ca-cert", "/tmp/ca.pem", "--title", "admit C"
            ])
            .command,
            Command::Proposal(ProposalCmd::Submit(ProposalAction::AddOrganisation {
                ref org_id, ref admins, ref ca_cert, ref text, ..
            })) if org_id == "bank-c" && admins.len() == 1 && admins[0].0 == "bank-c-admin"
                && admins[0].1 .0 == [0xcd; 32] && ca_cert.is_some()
                && text.title.as_deref() == Some("admit C")
        ));
        assert_eq!(
            parse_err(&[
                "proposal",
                "submit",
                "add-organisation",
                "--as",
                "admin",
                "--org",
                "bank-c",
                "--name",
                "Bank C",
                "--uscc",
                "X"
            ]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&[
                "proposal",
                "submit",
                "add-organisation",
                "--as",
                "admin",
                "--org",
                "bank-c",
                "--name",
                "Bank C",
                "--uscc",
                "X",
                "--admin",
                "no-key"
            ]),
            ErrorKind::ValueValidation
        );
        assert!(matches!(
            parse(&["proposal", "submit", "set-params", "--as", "admin", "--split-fanout-max", "4"])
                .command,
            Command::Proposal(ProposalCmd::Submit(ProposalAction::SetParams { ref params, .. }))
                if params.split_fanout_max == Some(4) && params.max_tenor_days.is_none()
        ));
        assert!(matches!(
            parse(&[
                "proposal",
                "submit",
                "rotate-ca",
                "--as",
                "admin",
                "--org",
                "bank-a",
                "--ca-cert",
                "ca.der"
            ])
            .command,
            Command::Proposal(ProposalCmd::Submit(ProposalAction::RotateCa { .. }))
        ));
        assert!(matches!(
            parse(&["proposal", "vote", "P000000000001", "--as", "admin", "--approve"]).command,
            Command::Proposal(ProposalCmd::Vote { ref proposal_id, approve: true, reject: false, .. })
                if proposal_id == "P000000000001"
        ));
        assert!(matches!(
            parse(&[
                "proposal",
                "vote",
                "P000000000001",
                "--as",
                "admin",
                "--reject"
            ])
            .command,
            Command::Proposal(ProposalCmd::Vote {
                approve: false,
                reject: true,
                ..
            })
        ));
        assert_eq!(
            parse_err(&["proposal", "vote", "P000000000001", "--as", "admin"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&[
                "proposal",
                "vote",
                "P1",
                "--as",
                "admin",
                "--approve",
                "--reject"
            ]),
            ErrorKind::ArgumentConflict
        );
    }
}
