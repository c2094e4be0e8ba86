//! `vchain credit-line ...`.

use clap::Subcommand;

use super::{parse_amount, TxOpts};

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
