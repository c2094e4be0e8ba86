//! `vchain audit`.

use clap::Args;

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
