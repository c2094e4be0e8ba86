//! `vchain pledge ...`.

use clap::Subcommand;

use super::TxOpts;

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
