//! `vchain-bench`: an end-to-end load generator in the manner of Hyperledger Caliper. It drives a
//! running node (a dev node, or any node of a testnet) over gRPC with one named workload and
//! reports committed transactions (or reads) per second, latency percentiles, each node's CPU
//! and memory, and optionally the machine's ceiling beside the figure.
//!
//! **Setup** (over the chain itself, like a real onboarding; `setup.rs`): the administrator
//! registers `--accounts` supplier identities with fresh keys; the financier grants the core
//! enterprise a credit line and the core enterprise issues each supplier a voucher, which the
//! supplier splits into the pieces its workload needs. The `issue` workload registers
//! `--accounts` core enterprises as well, each with its own credit line, and issues nothing in
//! setup. Setup runs through one endpoint; before the load starts, the bench waits until every
//! endpoint has applied it, so no worker meets a node that does not yet know its account. Setup
//! is not measured.
//!
//! **Workloads** (`--workload`, `workload.rs` says exactly what each sends): `issue` (core
//! enterprises issue vouchers to suppliers), `split` (suppliers halve vouchers, lineages kept
//! shallow), `transfer` (suppliers pass vouchers round a ring), `mixed` (the default and the
//! bench's original loop: split a piece off, transfer it on) and `reads` (signed reads:
//! `GetVoucher`, `ListVouchers` paged, `TraceVoucher`, `GetAccount`).
//!
//! **Load** (`load.rs`): each account has `--in-flight` slots (1..=64, the chain's nonce
//! window), each with one transaction submitted with `wait_for_commit` at a time, so latency is
//! submit-to-commit as a wallet sees it; an account's slots use different vouchers and
//! consecutive nonces, so all can commit. Flat out by default; `--rate N` offers N per second in
//! total on one schedule (`pace.rs`) and reports whether that rate was achieved. The first
//! `--warmup-secs` are not counted, then `--duration-secs` are measured (`stats.rs`: a
//! transaction counts if it was sent in the measured window); `--max-txs` bounds the sends.
//!
//! **Report**: a summary on stdout; with `--report-dir DIR`, `report.md` and `report.svg`
//! (`report.rs`). `--metrics-endpoints` reads each node's CPU time and resident memory from its
//! Prometheus metrics through the measured window (`scrape.rs`); the bench reads its own from
//! `/proc`. `--ceiling` measures the machine's ceiling after the load, in the same process
//! (`vchain_benches::ceiling`), and gives the committed rate as a share of the ed25519 batch
//! verification ceiling.
//!
//! The administrator, financier and core enterprise keys come from a keystore with the dev
//! account names (`bank-a-admin`, `bank-a-finance`, `carmaker`), e.g. a dev node's. When bank A
//! has a root CA (dev chains and testnets do), the run's accounts are certified with it: the CA
//! key is the keystore's `bank-a-ca`, its certificate `--ca-cert` (default: `bank-a-ca.pem` next
//! to the keystore).
//!
//! Node failures: a submission whose outcome is unknown (the node died, restarted, paused or
//! reset the connection; or it answered `pending`) is sent again, the same signed bytes, to the
//! next endpoint after a short bounded backoff (`retry.rs` holds the rule and its bounds); a
//! rule rejection is never resent. Channels connect lazily and reconnect, so a node down at
//! start or restarted later takes load again. The summary reports the retries; `failed` counts
//! the transactions that ran out of attempts or were refused. `--acked-out FILE` records every
//! acknowledged transaction, and `--verify-acked FILE` (no load) checks that every endpoint
//! holds them (`acked.rs`).

mod acked;
mod load;
mod pace;
mod report;
mod retry;
mod scrape;
mod setup;
mod stats;
mod submit;
mod workload;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use tokio::sync::watch;
use vchain_contracts::validate::{format_date, local_day};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;

use crate::load::{Account, Load, Plan};
use crate::setup::{
    await_setup_everywhere, fan_out, issue_operation, run_batched, FanOut, Registration,
};
use crate::submit::{clients, first_status, Shared, AUDITOR};
use crate::workload::{Nonces, Piece, Workload, ISSUER_CREDIT_LIMIT, NONCE_WINDOW};

/// Most load accounts one run registers.
const ACCOUNTS_MAX: usize = 100_000;
/// Longest warm-up.
const WARMUP_SECS_MAX: u64 = 3_600;

#[derive(Parser, Debug)]
#[command(
    name = "vchain-bench",
    about = "End-to-end load generator for a vchain node or testnet"
)]
struct Args {
    /// gRPC endpoints; load is spread over them round-robin.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:7050")]
    endpoints: Vec<String>,
    /// Keystore holding bank-a-admin, bank-a-finance and carmaker.
    #[arg(long)]
    keystore: PathBuf,
    /// Its passphrase.
    #[arg(long, default_value = "dev")]
    passphrase: String,
    /// Bank A's root CA certificate (PEM) [default: bank-a-ca.pem next to the keystore; bare
    /// keys when there is none].
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// What the load sends (see the module documentation).
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    workload: Workload,
    /// Accounts generating load: suppliers (issue: core enterprises, with as many suppliers
    /// to receive the vouchers).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Transactions (or reads) each account keeps in flight at once, 1..=64 (the nonce window).
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Total offered rate, transactions (or reads) per second, on one schedule (0: flat out).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds of load before the measured window; what is sent then is not counted.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Seconds of measured load after the warm-up.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Stop after this many load transactions (or reads), warm-up included.
    #[arg(long, default_value_t = 1_000_000)]
    max_txs: u64,
    /// How long a node waits for a submission's commit before it answers `pending` (the bench
    /// then sends it again to the next endpoint); at most the node's `submit_timeout_ms`.
    #[arg(long, default_value_t = 60_000)]
    commit_wait_ms: u32,
    /// Write report.md and report.svg into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Each node's metrics listener (`[metrics] listen`), e.g. http://127.0.0.1:9100: its CPU
    /// and resident memory are read through the measured window.
    #[arg(long, value_delimiter = ',', value_name = "URLS")]
    metrics_endpoints: Vec<String>,
    /// After the load, measure this machine's ceiling (ed25519, SHA-256, RocksDB synced
    /// writes; about 15 s) and give the committed rate as a share of it.
    #[arg(long)]
    ceiling: bool,
    /// Append the hex hash of every transaction the chain acknowledged as committed (OK or
    /// rejected by a rule) to this file, one per line.
    #[arg(long, value_name = "FILE")]
    acked_out: Option<PathBuf>,
    /// Run no load: check that every endpoint holds every transaction listed in FILE (as
    /// written by --acked-out) and exit non-zero if any is missing or an endpoint is
    /// unreachable.
    #[arg(long, value_name = "FILE")]
    verify_acked: Option<PathBuf>,
}

/// Readings of the nodes and of the bench through the measured window.
struct Readings {
    nodes: Vec<Vec<scrape::Reading>>,
    bench: Vec<scrape::Reading>,
}

/// Reads every node's metrics (and the bench's own `/proc`) once a second from `from` until
/// `stop` says so, and once more then.
fn spawn_sampler(
    endpoints: Vec<String>,
    from: Instant,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Readings> {
    tokio::spawn(async move {
        let mut readings = Readings {
            nodes: vec![Vec::new(); endpoints.len()],
            bench: Vec::new(),
        };
        let warned: Vec<AtomicBool> = endpoints.iter().map(|_| AtomicBool::new(false)).collect();
        tokio::select! {
            _ = tokio::time::sleep_until(from.into()) => {}
            _ = stop.changed() => {}
        }
        // Bounded like every loop: an hour of readings is far more than a run takes.
        for _ in 0..3_600 * 24 {
            let last = *stop.borrow();
            readings.bench.push(scrape::own_reading());
            for (index, endpoint) in endpoints.iter().enumerate() {
                match scrape::scrape(endpoint).await {
                    Ok(reading) => readings.nodes[index].push(reading),
                    Err(error) => {
                        if !warned[index].swap(true, Ordering::Relaxed) {
                            eprintln!("metrics: {error:#}");
                        }
                    }
                }
            }
            if last {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(scrape::SCRAPE_INTERVAL) => {}
                _ = stop.changed() => {}
            }
        }
        readings
    })
}

/// The processor model and cores, for the report.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown processor".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{model}, {cores} cores (node and bench share them when on one machine)")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.endpoints.is_empty() {
        bail!("--endpoints names no endpoint");
    }
    let clients = clients(&args.endpoints)?;
    let (setup_endpoint, status) = first_status(&args.endpoints, &clients).await?;
    if let Some(file) = &args.verify_acked {
        let keystore = Keystore::load_or_create(&args.keystore)?;
        let key = keystore
            .unlock(AUDITOR, &args.passphrase)
            .with_context(|| format!("unlocking {AUDITOR}"))?;
        let hashes = acked::read_hashes(file)?;
        return acked::verify(
            &args.endpoints,
            &clients,
            &status.chain_id,
            acked::Reader {
                account: AUDITOR.into(),
                key,
            },
            hashes,
        )
        .await;
    }
    if !(2..=ACCOUNTS_MAX).contains(&args.accounts) {
        bail!("--accounts must be 2..={ACCOUNTS_MAX}");
    }
    if !(1..=NONCE_WINDOW).contains(&args.in_flight) {
        bail!("--in-flight must be 1..={NONCE_WINDOW} (the chain's nonce window)");
    }
    if args.warmup_secs > WARMUP_SECS_MAX {
        bail!("--warmup-secs must be at most {WARMUP_SECS_MAX}");
    }
    for endpoint in &args.metrics_endpoints {
        scrape::split_endpoint(endpoint)?;
    }
    let params = status.params.context("status has no params")?;
    let keystore = Keystore::load_or_create(&args.keystore)?;
    let unlock = |name: &str| {
        keystore
            .unlock(name, &args.passphrase)
            .with_context(|| format!("unlocking {name}"))
    };
    let (admin, financier, core) = (
        unlock("bank-a-admin")?,
        unlock("bank-a-finance")?,
        unlock("carmaker")?,
    );
    let ca_cert = args.ca_cert.clone().unwrap_or_else(|| {
        args.keystore
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join("bank-a-ca.pem")
    });
    let ca = if ca_cert.exists() {
        let pem = std::fs::read_to_string(&ca_cert)
            .with_context(|| format!("reading {}", ca_cert.display()))?;
        let certificate = vchain_pki::Certificate::from_pem(&pem)?;
        Some(vchain_pki::RootCa::from_parts(
            certificate,
            unlock("bank-a-ca")?,
        )?)
    } else {
        None
    };
    let acked = match &args.acked_out {
        Some(path) => Some(acked::AckedLog::open(path)?),
        None => None,
    };
    let shared = Arc::new(Shared {
        chain_id: status.chain_id.clone(),
        auditor: admin.clone(),
        clients,
        endpoints: args.endpoints.clone(),
        setup_endpoint,
        commit_wait: Duration::from_millis(args.commit_wait_ms.into()),
        acked,
        committed: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        submitted: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        retried_transactions: AtomicU64::new(0),
    });
    let mut client = shared.clients[setup_endpoint].clone();
    let account_of = |name: &str| {
        let mut client = shared.clients[setup_endpoint].clone();
        let request = shared.read(
            GetAccountRequest {
                account_id: name.to_owned(),
            },
            "GetAccount",
        );
        async move {
            client
                .get_account(request)
                .await
                .map(|r| r.into_inner().account.unwrap_or_default())
        }
    };
    let (financier_uscc, core_uscc) = (
        account_of("bank-a-finance").await?.uscc,
        account_of("carmaker").await?.uscc,
    );
    let run = (status.height * 7 + status.head_time_ms / 1_000) % 1_000_000;
    let workload = args.workload;
    println!(
        "vchain-bench: chain {} at height {}, run {run}, workload {}, {} accounts x {} in flight, endpoints {:?}",
        status.chain_id,
        status.height,
        workload.name(),
        args.accounts,
        args.in_flight,
        args.endpoints
    );

    // Setup: identities, credit lines, vouchers.
    let started = Instant::now();
    let suppliers: Vec<Registration> = (0..args.accounts)
        .map(|i| Registration::supplier(run, i))
        .collect::<anyhow::Result<_>>()?;
    let issuers: Vec<Registration> = match workload {
        Workload::Issue => (0..args.accounts)
            .map(|i| Registration::issuer(run, i))
            .collect::<anyhow::Result<_>>()?,
        _ => Vec::new(),
    };
    let registrations = suppliers
        .iter()
        .chain(&issuers)
        .map(|r| r.operation(ca.as_ref()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    run_batched(&shared, "bank-a-admin", &admin, registrations).await?;
    let today = local_day(status.head_time_ms.max(1), params.utc_offset_minutes);
    let maturity = format_date(today + params.max_tenor_days.min(180));
    let face: u64 = 1 << 40;
    let mut held: Vec<(std::collections::VecDeque<Piece>, u64)> =
        vec![(Default::default(), 0); suppliers.len()];
    if workload == Workload::Issue {
        let grants = issuers
            .iter()
            .map(|issuer| {
                Operation::GrantCreditLine(GrantCreditLine {
                    core_enterprise: issuer.uscc.clone(),
                    currency: "CNY".into(),
                    limit: ISSUER_CREDIT_LIMIT,
                })
            })
            .collect();
        run_batched(&shared, "bank-a-finance", &financier, grants).await?;
    } else {
        let grant = match client
            .get_credit_line(shared.read(
                GetCreditLineRequest {
                    financier: financier_uscc.clone(),
                    core_enterprise: core_uscc.clone(),
                },
                "GetCreditLine",
            ))
            .await
        {
            Ok(_) => Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: core_uscc.clone(),
                amount: face * args.accounts as u64,
            }),
            Err(_) => Operation::GrantCreditLine(GrantCreditLine {
                core_enterprise: core_uscc.clone(),
                currency: "CNY".into(),
                limit: face * args.accounts as u64,
            }),
        };
        run_batched(&shared, "bank-a-finance", &financier, vec![grant]).await?;
        let issues = suppliers
            .iter()
            .map(|supplier| {
                issue_operation(
                    &supplier.account,
                    &financier_uscc,
                    face,
                    &maturity,
                    format!("BENCH-{run}-{}", supplier.account),
                )
            })
            .collect();
        let issued = run_batched(&shared, "carmaker", &core, issues).await?;
        // Each supplier splits its voucher into the pieces the workload needs, all at once.
        let plan = FanOut {
            target: workload.pieces_per_supplier(args.in_flight),
            fanout_max: (params.split_fanout_max as usize).max(2),
            min_split: params.min_split_amount.max(1),
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (result, supplier)) in issued.iter().zip(&suppliers).enumerate() {
            let root = Piece {
                id: result
                    .events
                    .first()
                    .map(|e| e.voucher_id.clone())
                    .context("an issue without its voucher")?,
                amount: face,
                depth: 0,
            };
            let shared = shared.clone();
            let (account, key) = (supplier.account.clone(), supplier.key.clone());
            tasks.spawn(async move {
                let pieces = fan_out(&shared, &account, &key, 0, root, plan).await;
                (index, pieces)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (index, pieces) = done?;
            held[index] = pieces?;
        }
    }
    await_setup_everywhere(&shared).await?;
    println!(
        "setup: {} accounts registered and funded in {:.1} s",
        suppliers.len() + issuers.len(),
        started.elapsed().as_secs_f64()
    );
    let setup_secs = started.elapsed().as_secs_f64();

    // The load's accounts: the issuers, or the suppliers with the pieces they hold.
    let holders: Vec<String> = suppliers.iter().map(|s| s.account.clone()).collect();
    let load_accounts: Vec<Account> = match workload {
        Workload::Issue => issuers
            .into_iter()
            .enumerate()
            .map(|(index, issuer)| Account {
                index,
                name: issuer.account,
                key: issuer.key,
                nonces: Mutex::new(Nonces::new(0, args.in_flight)),
                pieces: Mutex::new(Default::default()),
                inbox: Mutex::new(Default::default()),
                stopped: AtomicBool::new(false),
            })
            .collect(),
        _ => suppliers
            .into_iter()
            .zip(held)
            .enumerate()
            .map(|(index, (supplier, (pieces, nonce)))| Account {
                index,
                name: supplier.account,
                key: supplier.key,
                nonces: Mutex::new(Nonces::new(nonce, args.in_flight)),
                pieces: Mutex::new(pieces),
                inbox: Mutex::new(Default::default()),
                stopped: AtomicBool::new(false),
            })
            .collect(),
    };

    // Load: warm-up, then the measured window.
    let load_started = Instant::now();
    let warmup_end = load_started + Duration::from_secs(args.warmup_secs);
    let deadline = warmup_end + Duration::from_secs(args.duration_secs);
    let plan = Plan {
        workload,
        in_flight: args.in_flight,
        started: load_started,
        deadline,
        // A transaction signed before the deadline is settled, not abandoned mid-failover.
        hard_stop: deadline + retry::RETRY_GRACE,
        max_sends: args.max_txs,
        min_split: params.min_split_amount.max(1),
        pacer: (args.rate > 0).then(|| pace::Pacer::new(load_started, args.rate)),
        financier_uscc: financier_uscc.clone(),
        maturity,
        run,
    };
    let (stop_sampling, sampling) = watch::channel(false);
    let sampler = spawn_sampler(args.metrics_endpoints.clone(), warmup_end, sampling);
    let load = Arc::new(Load::new(shared.clone(), plan, load_accounts, holders));
    load.run().await?;
    let _ = stop_sampling.send(true);
    let readings = sampler.await?;
    let load_secs = load_started.elapsed().as_secs_f64();

    let samples = load.recorder.samples();
    let to_ms = |at: Instant| at.saturating_duration_since(load_started).as_millis() as u64;
    let summary = stats::summarize(&samples, to_ms(warmup_end), to_ms(deadline));
    let unit = workload.unit();
    println!(
        "load: {} submitted, {} committed, {} rejected, {} failed, {} retries \
         ({} transactions retried) in {load_secs:.1} s (warm-up included)",
        shared.submitted.load(Ordering::Relaxed),
        shared.committed.load(Ordering::Relaxed),
        shared.rejected.load(Ordering::Relaxed),
        shared.failed.load(Ordering::Relaxed),
        shared.retries.load(Ordering::Relaxed),
        shared.retried_transactions.load(Ordering::Relaxed)
    );
    println!(
        "measured {:.1} s: {} sent, {} committed, {} rejected, {} failed",
        summary.measured_secs, summary.sent, summary.committed, summary.rejected, summary.failed
    );
    println!(
        "committed {unit}/s {:.0}   latency p50 {:.1} ms  p90 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        summary.committed_per_s,
        summary.p50_ms,
        summary.p90_ms,
        summary.p95_ms,
        summary.p99_ms,
        summary.max_ms
    );
    let mode = match &load.plan.pacer {
        None => report::Mode::FlatOut,
        Some(pacer) => {
            let offered = pacer.rate();
            let sent_per_s = summary.sent as f64 / args.duration_secs.max(1) as f64;
            let late = pacer.late();
            println!(
                "rate: offered {offered}/s, sent {sent_per_s:.0}/s in the measured window, {late} sends late{}",
                if pace::held(offered, sent_per_s) {
                    ""
                } else {
                    "; the offered rate was NOT achieved"
                }
            );
            report::Mode::FixedRate {
                offered,
                sent_per_s,
                late,
            }
        }
    };
    let nodes: Vec<scrape::Usage> = args
        .metrics_endpoints
        .iter()
        .zip(&readings.nodes)
        .map(|(endpoint, readings)| scrape::usage(endpoint, readings))
        .collect();
    let bench = scrape::usage("vchain-bench", &readings.bench);
    for usage in nodes.iter().chain(std::iter::once(&bench)) {
        println!(
            "cpu {}: {} cores, resident peak {:.1} MiB",
            usage.name,
            usage.cores.map_or("-".into(), |c| format!("{c:.2}")),
            usage.resident_peak_bytes.unwrap_or(0.0) / (1024.0 * 1024.0)
        );
    }
    let height = client
        .get_status(GetStatusRequest {})
        .await
        .ok()
        .map(|s| s.into_inner().height);

    let ceiling = if args.ceiling {
        println!("ceiling: measuring this machine (about 15 s)");
        let scratch = tempfile::tempdir().context("a scratch directory for the ceiling")?;
        let ceiling = tokio::task::spawn_blocking(move || {
            vchain_benches::ceiling::Ceiling::measure(scratch.path())
        })
        .await??;
        print!("{ceiling}");
        println!(
            "committed {unit}/s as a share of the ed25519 batch ceiling on every core: {:.1}%",
            ceiling.share_of_verification(summary.committed_per_s) * 100.0
        );
        Some(ceiling)
    } else {
        None
    };

    if let Some(dir) = &args.report_dir {
        let report = report::Report {
            workload: workload.name().into(),
            unit,
            description: workload.description().into(),
            mode,
            endpoints: args.endpoints.clone(),
            accounts: args.accounts,
            in_flight: args.in_flight,
            duration_secs: args.duration_secs,
            warmup_secs: args.warmup_secs,
            setup_secs,
            retries: shared.retries.load(Ordering::Relaxed),
            height,
            summary,
            nodes,
            bench,
            ceiling,
            machine: machine(),
        };
        report::write(dir, &report)?;
        println!("report: {}", dir.join("report.md").display());
    }
    if shared.failed.load(Ordering::Relaxed) > 0 {
        bail!(
            "some {unit} failed (refused, out of attempts or time, or a split without its \
             children; see above)"
        );
    }
    Ok(())
}
