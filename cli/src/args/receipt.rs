//! `vchain receipt ...`.

use clap::Subcommand;

use super::TxOpts;

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
