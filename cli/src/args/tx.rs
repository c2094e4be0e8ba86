//! `vchain tx ...`.

use clap::Subcommand;

use super::{parse_hex32, Hex32};

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
