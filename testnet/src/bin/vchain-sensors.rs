//! `vchain-sensors`: runs a simulated fleet of IoT devices against a dev node or testnet (see
//! `vchain_testnet::sensors`), printing each alert the pledgee receives.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "vchain-sensors",
    about = "Simulated IoT devices sending signed readings"
)]
struct Args {
    /// gRPC endpoint of a node.
    #[arg(long, default_value = "http://127.0.0.1:7050")]
    endpoint: String,
    /// Dev data directory or testnet directory (keystore and bank A's CA certificate).
    #[arg(long, default_value = ".vchain-testnet")]
    dir: PathBuf,
    /// Devices in the fleet.
    #[arg(long, default_value_t = 6)]
    devices: usize,
    /// Readings per device.
    #[arg(long, default_value_t = 5)]
    readings: usize,
    /// The reading at which the first gate reports goods leaving below the floor.
    #[arg(long)]
    breach_at: Option<usize>,
    /// Run id (ids and keys derive from it; the default is the clock).
    #[arg(long)]
    run: Option<u64>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = vchain_testnet::sensors::Config {
        endpoint: args.endpoint,
        dir: args.dir,
        devices: args.devices,
        readings: args.readings,
        breach_at: args.breach_at,
        run: args
            .run
            .unwrap_or_else(|| vchain_wallet::time::now_ms() % 1_000_000_000),
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let report = vchain_testnet::sensors::run(&config).await?;
    println!(
        "receipt {}: {} readings accepted, {} refused",
        report.receipt_id,
        report.accepted,
        report.refused.len()
    );
    for reason in &report.refused {
        println!("refused: {reason}");
    }
    for alert in &report.alerts {
        println!(
            "alert to {}: pledge {} device {}: {}",
            alert.counterparty, alert.pledge, alert.device_id, alert.detail
        );
    }
    Ok(())
}
