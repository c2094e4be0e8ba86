//! `vchain-state-fixture`: writes a data directory a real node runs on, holding a ledger whose
//! state already has `--vouchers` vouchers (issued through the node's own block pipeline,
//! `vchain_benches::BenchChain`), with its `genesis.toml`, `config.toml` and a `keystore.json`
//! of the dev account names (`bank-a-admin`, `bank-a-finance`, `carmaker`; passphrase `dev`),
//! so `vchain-bench` can drive the node as it drives a dev node.
//!
//! `scripts/bench-state-memory.sh` uses it to measure a node's resident memory with a million
//! vouchers in its state (issue 16, "Memory"). Building the state through gRPC would take the
//! better part of an hour on two cores; the pipeline writes the same blocks in minutes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use vchain_benches::{BenchChain, ADMINISTRATOR, CORE_ENTERPRISE, FINANCIER};
use vchain_contracts::genesis::Params;
use vchain_wallet::keystore::{KdfParams, Keystore};

#[derive(Parser, Debug)]
#[command(
    name = "vchain-state-fixture",
    about = "Writes a node data directory whose state holds many vouchers"
)]
struct Args {
    /// The data directory to create (must not exist).
    #[arg(long)]
    dir: PathBuf,
    /// Vouchers in the state.
    #[arg(long, default_value_t = 1_000_000)]
    vouchers: u64,
    /// Supplier accounts holding them, round-robin.
    #[arg(long, default_value_t = 1_000)]
    holders: u32,
    /// The node's gRPC address.
    #[arg(long, default_value = "127.0.0.1:7350")]
    grpc_listen: SocketAddr,
    /// The node's metrics address.
    #[arg(long, default_value = "127.0.0.1:9350")]
    metrics_listen: SocketAddr,
}

/// Issuances per block: the default `block_tx_max`.
const BLOCK_ISSUES: usize = 2_000;
/// The keystore's passphrase, as on dev nodes.
const PASSPHRASE: &str = "dev";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        !args.dir.exists(),
        "{} exists: the fixture writes a new data directory",
        args.dir.display()
    );
    anyhow::ensure!(args.holders >= 1, "at least one holder");
    std::fs::create_dir_all(&args.dir).context("creating the data directory")?;
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("clock before 1970")?
            .as_millis(),
    )?;
    // Genesis a day before now: the pipeline's blocks are a second apart, so a thousand blocks
    // stay in the past, and the vouchers (180-day tenor) are far from maturity.
    let mut chain = BenchChain::new_at(
        &args.dir.join("ledger"),
        args.holders,
        Params::default(),
        now_ms - vchain_benches::DAY_MS,
    );
    let started = Instant::now();
    let holders = chain.suppliers.clone();
    let mut issued = 0u64;
    while issued < args.vouchers {
        let count = (args.vouchers - issued).min(BLOCK_ISSUES as u64) as usize;
        let batch: Vec<String> = (0..count)
            .map(|i| holders[(issued as usize + i) % holders.len()].clone())
            .collect();
        issued += chain.issue_to(&batch, 100_000, BLOCK_ISSUES).len() as u64;
        if issued % 100_000 < BLOCK_ISSUES as u64 {
            println!(
                "vchain-state-fixture: {issued} vouchers in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }

    let genesis = toml::to_string_pretty(&chain.genesis).context("genesis as TOML")?;
    std::fs::write(args.dir.join("genesis.toml"), genesis).context("writing genesis.toml")?;
    let mut keystore = Keystore::load_or_create(&args.dir.join("keystore.json"))
        .context("creating the keystore")?
        .with_kdf_params(KdfParams::insecure_fast());
    for account in [ADMINISTRATOR, FINANCIER, CORE_ENTERPRISE] {
        keystore
            .import(account, Some(account), chain.key(account), PASSPHRASE)
            .with_context(|| format!("keystore entry {account}"))?;
    }
    keystore.save().context("saving the keystore")?;
    // The node's defaults but for the addresses and the dev block cadence.
    let config = format!(
        "node_id = \"n1\"\ndata_dir = \".\"\ngenesis = \"genesis.toml\"\ngrpc_listen = \"{}\"\n\
         block_interval_ms = 100\n\n[metrics]\nlisten = \"{}\"\n",
        args.grpc_listen, args.metrics_listen
    );
    std::fs::write(args.dir.join("config.toml"), config).context("writing config.toml")?;
    drop(chain);
    println!(
        "vchain-state-fixture: {} with {issued} vouchers held by {} suppliers in {:.0} s; run \
         vchain-node run --config {}",
        args.dir.display(),
        args.holders,
        started.elapsed().as_secs_f64(),
        args.dir.join("config.toml").display()
    );
    Ok(())
}
