//! `vchain explorer`.

use std::net::SocketAddr;

use clap::Args;

/// `explorer`
#[derive(Debug, Args)]
pub(crate) struct ExplorerArgs {
    /// Address to serve the web UI on, e.g. 127.0.0.1:8080 (port 0: any free port, printed at
    /// start). Only this address is bound; anyone who can reach it sees what the `--reader`
    /// key may read, so keep it on loopback unless that is meant.
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    /// The chain's genesis file (TOML): each voucher's mark is then its whole lineage's trace
    /// bundle checked against it, as `vchain verify` does. Without it, the explorer checks the
    /// certificates of the blocks a voucher's history lies in.
    #[arg(long, value_name = "GENESIS")]
    pub(crate) genesis: Option<std::path::PathBuf>,
}
