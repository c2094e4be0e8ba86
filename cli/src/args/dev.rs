//! `vchain dev ...`.

use clap::{Args, Subcommand};

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
