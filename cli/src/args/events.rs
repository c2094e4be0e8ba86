//! `vchain events`.

use clap::Args;

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
