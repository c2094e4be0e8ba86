//! `vchain block ...`.

use clap::Subcommand;

use super::{parse_hex32, Hex32};

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
