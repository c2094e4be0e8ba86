//! `vchain-bench`: an end-to-end load generator. It drives a running node (a dev node, or any
//! node of a testnet) over gRPC with signed lifecycle transactions and reports committed
//! transactions per second and commit latency percentiles.
//!
//! Setup (over the chain itself, like a real onboarding): the administrator registers `--accounts`
//! supplier identities with fresh keys, the financier grants the core enterprise a credit line,
//! the core enterprise issues each supplier a voucher. Load: every supplier repeats "split my
//! voucher, then transfer the small piece to another supplier", each transaction submitted with
//! `wait_for_commit`, so its latency is submit-to-commit as a wallet sees it. `--rate` caps the
//! total submission rate (transactions/second); 0 runs flat out. The run stops after
//! `--duration-secs` or `--max-txs`, whichever comes first.
//!
//! The administrator, financier and core enterprise keys come from a keystore with the dev
//! account names (`bank-a-admin`, `bank-a-finance`, `carmaker`), e.g. a dev node's. When bank A
//! has a root CA (dev chains and testnets do), the load suppliers are certified with it: the CA
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
mod retry;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use ed25519_dalek::SigningKey;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tonic::transport::Channel;
use vchain_contracts::tx;
use vchain_contracts::validate::{format_date, local_day, uscc_with_check};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

/// Transactions one account may have waiting ahead of its next nonce (the mempool's window).
const NONCE_WINDOW: usize = 64;

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
    /// Supplier accounts generating load (each has one transaction in flight at a time).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Total submission rate cap, transactions per second (0: flat out).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Stop after this many seconds of load.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Stop after this many load transactions.
    #[arg(long, default_value_t = 1_000_000)]
    max_txs: u64,
    /// How long a node waits for a submission's commit before it answers `pending` (the bench
    /// then sends it again to the next endpoint); at most the node's `submit_timeout_ms`.
    #[arg(long, default_value_t = 60_000)]
    commit_wait_ms: u32,
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

struct Shared {
    chain_id: String,
    /// Signs the bench's reads: bank A's administrator, who may read everything.
    auditor: SigningKey,
    clients: Vec<VchainApiClient<Channel>>,
    endpoints: Vec<String>,
    /// The endpoint that answered first at start; setup runs through it.
    setup_endpoint: usize,
    /// What a waited submission asks the node to wait for its commit.
    commit_wait: Duration,
    acked: Option<acked::AckedLog>,
    latencies_us: Mutex<Vec<u64>>,
    committed: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    submitted: AtomicU64,
    /// Retries (sendings after the first), all transactions together.
    retries: AtomicU64,
    /// Transactions sent more than once.
    retried_transactions: AtomicU64,
    /// Pieces each account received and may pass on (transfers do not deepen a lineage).
    inboxes: Vec<Mutex<std::collections::VecDeque<String>>>,
}

/// Splits per account before it only forwards pieces (the chain caps lineages at 32 splits).
const SPLITS_PER_ACCOUNT_MAX: u32 = 28;

fn key_for(run: u64, index: usize) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("vchain-bench {run} {index}")).into())
}

/// Setup's waited submission through one node: pending is an error there (setup is not
/// resent; run it while the nodes are up).
async fn submit_wait(
    client: &mut VchainApiClient<Channel>,
    transaction: SignedTransaction,
    wait: Duration,
) -> Result<SubmitTransactionResponse, tonic::Status> {
    client
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(transaction),
            wait_for_commit: true,
            timeout_ms: wait.as_millis().try_into().unwrap_or(u32::MAX),
        })
        .await
        .and_then(|r| {
            let response = r.into_inner();
            if response.pending {
                Err(tonic::Status::deadline_exceeded(format!(
                    "still pending after {} ms",
                    wait.as_millis()
                )))
            } else {
                Ok(response)
            }
        })
}

/// How one transaction's delivery ended.
enum Delivery {
    /// Committed with result OK.
    Committed(SubmitTransactionResponse),
    /// Committed, rejected by a rule (the status names it).
    Rejected(tonic::Status),
    /// Refused, or out of attempts or time: why.
    Failed(String),
}

/// Retry notices printed (the rest are counted in the summary).
const RETRY_NOTICES_MAX: u64 = 20;

impl Shared {
    /// `message` as a read of `method` signed by the bench's auditor.
    fn read<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        vchain_wallet::read::request_now(message, &self.chain_id, method, AUDITOR, &self.auditor)
    }

    /// Records an acknowledged transaction in `--acked-out`, if given.
    fn record_acked(&self, hash: &[u8]) -> anyhow::Result<()> {
        match &self.acked {
            Some(log) => log.record(hash),
            None => Ok(()),
        }
    }

    /// Delivers `transaction`: submits it through `endpoint` and waits for its commit; when
    /// the outcome is unknown ([`retry::judge`]), sends the same bytes to the next endpoint
    /// (`endpoint` follows) after a backoff, at most [`retry::SUBMIT_ATTEMPTS_MAX`] times and
    /// never after `hard_stop`.
    async fn deliver(
        &self,
        endpoint: &mut usize,
        transaction: &SignedTransaction,
        hard_stop: Instant,
    ) -> Delivery {
        let mut backoff = retry::Backoff::new();
        let answer_wait = self.commit_wait + retry::ANSWER_MARGIN;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = hard_stop.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Delivery::Failed(format!("out of time after {} attempts", attempt - 1));
            }
            let mut client = self.clients[*endpoint].clone();
            let request = SubmitTransactionRequest {
                transaction: Some(transaction.clone()),
                wait_for_commit: true,
                timeout_ms: self.commit_wait.as_millis().try_into().unwrap_or(u32::MAX),
            };
            let wait = answer_wait.min(remaining);
            let answer = tokio::time::timeout(wait, client.submit_transaction(request))
                .await
                .unwrap_or_else(|_| {
                    Err(tonic::Status::deadline_exceeded(format!(
                        "no answer within {} ms",
                        wait.as_millis()
                    )))
                })
                .map(|response| response.into_inner());
            let verdict = retry::judge(&answer);
            let why = match (verdict, answer) {
                (retry::Verdict::Committed, Ok(response)) => return Delivery::Committed(response),
                (retry::Verdict::Rejected, Err(status)) => return Delivery::Rejected(status),
                (retry::Verdict::Refused, Err(status)) => {
                    return Delivery::Failed(format!(
                        "refused by {}: {:?}: {}",
                        self.endpoints[*endpoint],
                        status.code(),
                        status.message()
                    ))
                }
                (retry::Verdict::Resend(retry::ResendCause::Pending), _) => {
                    format!("pending after {} ms", self.commit_wait.as_millis())
                }
                (_, Err(status)) => format!("{:?}: {}", status.code(), status.message()),
                (verdict, Ok(response)) => {
                    return Delivery::Failed(format!(
                        "unexpected answer {response:?} judged {verdict:?}"
                    ))
                }
            };
            let pause = backoff.next_wait();
            if attempt >= retry::SUBMIT_ATTEMPTS_MAX {
                return Delivery::Failed(format!(
                    "{attempt} attempts, the last through {}: {why}",
                    self.endpoints[*endpoint]
                ));
            }
            if Instant::now() + pause >= hard_stop {
                return Delivery::Failed(format!(
                    "out of time after {attempt} attempts, the last through {}: {why}",
                    self.endpoints[*endpoint]
                ));
            }
            if attempt == 1 {
                self.retried_transactions.fetch_add(1, Ordering::Relaxed);
            }
            let from = *endpoint;
            *endpoint = (*endpoint + 1) % self.clients.len();
            if self.retries.fetch_add(1, Ordering::Relaxed) < RETRY_NOTICES_MAX {
                eprintln!(
                    "retry: {} from {}, sending again to {} in {} ms",
                    why,
                    self.endpoints[from],
                    self.endpoints[*endpoint],
                    pause.as_millis()
                );
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// The account whose key signs the bench's reads.
const AUDITOR: &str = "bank-a-admin";

async fn next_nonce(
    shared: &Shared,
    client: &mut VchainApiClient<Channel>,
    account: &str,
) -> anyhow::Result<u64> {
    let account = client
        .get_account(shared.read(
            GetAccountRequest {
                account_id: account.into(),
            },
            "GetAccount",
        ))
        .await?
        .into_inner()
        .account;
    Ok(account.context("account missing")?.next_nonce)
}

/// Submits `operations` signed by `signer`, at most a nonce window at a time, and waits until
/// all committed; returns their results in order.
async fn run_batched(
    shared: &Shared,
    signer: &str,
    key: &SigningKey,
    operations: Vec<Operation>,
) -> anyhow::Result<Vec<TxResult>> {
    let mut client = shared.clients[shared.setup_endpoint].clone();
    let mut results = Vec::with_capacity(operations.len());
    let mut operations = operations.into_iter().peekable();
    while operations.peek().is_some() {
        let nonce = next_nonce(shared, &mut client, signer).await?;
        let window: Vec<SignedTransaction> = operations
            .by_ref()
            .take(NONCE_WINDOW)
            .enumerate()
            .map(|(i, op)| {
                transaction::sign(
                    &transaction::body(&shared.chain_id, signer, nonce + i as u64, op),
                    key,
                )
            })
            .collect();
        let last = window.last().cloned().context("empty window")?;
        let count = window.len();
        let outcomes = client
            .submit_transactions(SubmitTransactionsRequest {
                transactions: window[..count - 1].to_vec(),
            })
            .await?
            .into_inner()
            .outcomes;
        if let Some(refused) = outcomes.iter().find(|o| !o.admitted) {
            bail!(
                "setup transaction refused: {:?} {}",
                refused.code(),
                refused.message
            );
        }
        // The last one waits for its commit, and so for all before it.
        let response = submit_wait(&mut client, last, shared.commit_wait)
            .await
            .map_err(|s| anyhow::anyhow!("setup: {}", s.message()))?;
        let height = response.height;
        // Collect every result of the window from the blocks up to that height.
        let mut found = 0;
        let mut h = height;
        let mut window_results = Vec::new();
        while found < count && h > 0 {
            let block = client
                .get_block(shared.read(
                    GetBlockRequest {
                        selector: Some(get_block_request::Selector::Height(h)),
                    },
                    "GetBlock",
                ))
                .await?
                .into_inner()
                .block
                .context("block")?;
            for (transaction, result) in block.transactions.iter().zip(block.results).rev() {
                let body = TransactionBody::decode(transaction.body.as_slice())?;
                if body.signer == signer && body.nonce >= nonce && body.nonce < nonce + count as u64
                {
                    window_results.push((body.nonce, result));
                    found += 1;
                }
            }
            h -= 1;
        }
        window_results.sort_by_key(|(n, _)| *n);
        for (_, result) in window_results {
            if result.code != 0 {
                bail!(
                    "setup transaction rejected: {:?} {}",
                    result.code(),
                    result.message
                );
            }
            shared.record_acked(&result.tx_hash)?;
            results.push(result);
        }
    }
    Ok(results)
}

struct Worker {
    account: String,
    key: SigningKey,
    voucher: String,
    amount: u64,
    nonce: u64,
    index: usize,
    splits: u32,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1_000.0
}

/// How long connecting to an endpoint may take before the call fails (and is resent).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the first status call at start may take per endpoint.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily connecting client per endpoint: a node down now is connected when it is back, and
/// a connection that broke is made again on the next call.
fn clients(endpoints: &[String]) -> anyhow::Result<Vec<VchainApiClient<Channel>>> {
    endpoints
        .iter()
        .map(|endpoint| {
            let channel = Channel::from_shared(endpoint.clone())
                .with_context(|| format!("endpoint {endpoint}"))?
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_lazy();
            Ok(VchainApiClient::new(channel).max_decoding_message_size(64 << 20))
        })
        .collect()
}

/// The first endpoint that answers `GetStatus`, and its answer.
async fn first_status(
    endpoints: &[String],
    clients: &[VchainApiClient<Channel>],
) -> anyhow::Result<(usize, GetStatusResponse)> {
    let mut errors = Vec::new();
    for (index, client) in clients.iter().enumerate() {
        let mut client = client.clone();
        match tokio::time::timeout(STATUS_TIMEOUT, client.get_status(GetStatusRequest {})).await {
            Ok(Ok(status)) => return Ok((index, status.into_inner())),
            Ok(Err(status)) => errors.push(format!("{}: {}", endpoints[index], status.message())),
            Err(_) => errors.push(format!("{}: no answer", endpoints[index])),
        }
    }
    bail!("no endpoint answers: {}", errors.join("; "))
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
    if args.accounts < 2 {
        bail!("--accounts must be at least 2");
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
        latencies_us: Mutex::new(Vec::new()),
        committed: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        submitted: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        retried_transactions: AtomicU64::new(0),
        inboxes: (0..args.accounts)
            .map(|_| Mutex::new(Default::default()))
            .collect(),
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
    println!(
        "vchain-bench: chain {} at height {}, run {run}, {} accounts, endpoints {:?}",
        status.chain_id, status.height, args.accounts, args.endpoints
    );

    // Setup: identities, a credit line, one voucher each.
    let started = Instant::now();
    let accounts: Vec<String> = (0..args.accounts)
        .map(|i| format!("load-{run}-{i}"))
        .collect();
    let registrations = accounts
        .iter()
        .enumerate()
        .map(|(i, account)| {
            let uscc = uscc_with_check(&format!("9131{run:06}{i:07}")).context("uscc")?;
            let public_key = key_for(run, i).verifying_key().to_bytes();
            let certificate = match &ca {
                Some(ca) => ca
                    .issue(
                        &vchain_pki::Subject {
                            organisation: ca.organisation().to_owned(),
                            common_name: account.clone(),
                            role: vchain_pki::CertRole::Account(vchain_pki::AccountRole::Supplier),
                        },
                        &public_key,
                        ca.validity(),
                    )?
                    .into_der(),
                None => Vec::new(),
            };
            Ok(Operation::RegisterIdentity(RegisterIdentity {
                uscc,
                name: format!("Load supplier {i}"),
                role: Role::Supplier.into(),
                legal_representative: String::new(),
                account_id: account.clone(),
                public_key: public_key.to_vec(),
                certificate,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    run_batched(&shared, "bank-a-admin", &admin, registrations).await?;
    let face: u64 = 1 << 40;
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
    let today = local_day(status.head_time_ms.max(1), params.utc_offset_minutes);
    let maturity = format_date(today + params.max_tenor_days.min(180));
    let issues = accounts
        .iter()
        .map(|account| {
            let number = format!("BENCH-{run}-{account}");
            Operation::IssueVoucher(IssueVoucher {
                holder: account.clone(),
                financier: financier_uscc.clone(),
                amount: face,
                currency: "CNY".into(),
                maturity_date: maturity.clone(),
                trade_document: Some(TradeDocument {
                    kind: "invoice".into(),
                    hash: Sha256::digest(number.as_bytes()).to_vec(),
                    number,
                }),
            })
        })
        .collect();
    let issued = run_batched(&shared, "carmaker", &core, issues).await?;
    let workers: Vec<Worker> = issued
        .iter()
        .zip(&accounts)
        .enumerate()
        .map(|(index, (result, account))| Worker {
            account: account.clone(),
            key: key_for(run, index),
            voucher: result
                .events
                .first()
                .map(|e| e.voucher_id.clone())
                .unwrap_or_default(),
            amount: face,
            nonce: 0,
            index,
            splits: 0,
        })
        .collect();
    println!(
        "setup: {} accounts registered and funded in {:.1} s",
        workers.len(),
        started.elapsed().as_secs_f64()
    );

    // Load.
    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    // A transaction signed before the deadline is settled, not abandoned mid-failover.
    let hard_stop = deadline + retry::RETRY_GRACE;
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(1.0 / args.rate as f64));
    let ticker = Arc::new(Mutex::new(interval.map(tokio::time::interval)));
    let load_started = Instant::now();
    let total = workers.len();
    let mut tasks = Vec::new();
    for mut worker in workers {
        let shared = shared.clone();
        let accounts = accounts.clone();
        let ticker = ticker.clone();
        let max_txs = args.max_txs;
        let min_split = params.min_split_amount.max(1);
        tasks.push(tokio::spawn(async move {
            // Each worker starts on its own endpoint and stays on the one that last answered.
            let mut endpoint = worker.index % shared.clients.len();
            // Split, pass the small piece on, repeat; once the lineage is deep, only pass on
            // pieces received from the previous account.
            let mut split_next = true;
            let mut small = String::new();
            while Instant::now() < deadline && shared.submitted.load(Ordering::Relaxed) < max_txs {
                let splitting = split_next && worker.splits < SPLITS_PER_ACCOUNT_MAX;
                if !splitting && !split_next {
                    // `small` is the piece just split off: pass it on.
                } else if !splitting {
                    match shared.inboxes[worker.index].lock().await.pop_front() {
                        Some(piece) => small = piece,
                        None => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    }
                }
                if let Some(interval) = ticker.lock().await.as_mut() {
                    interval.tick().await;
                }
                let next = (worker.index + 1) % total;
                let operation = if splitting {
                    Operation::SplitVoucher(SplitVoucher {
                        voucher_id: worker.voucher.clone(),
                        amounts: vec![min_split, worker.amount - min_split],
                    })
                } else {
                    Operation::TransferVoucher(TransferVoucher {
                        voucher_id: small.clone(),
                        to: accounts[next].clone(),
                        agreement_hash: Sha256::digest(
                            format!("{small} {}", worker.nonce).as_bytes(),
                        )
                        .to_vec(),
                        consideration: None,
                    })
                };
                let transaction = transaction::sign(
                    &transaction::body(&shared.chain_id, &worker.account, worker.nonce, operation),
                    &worker.key,
                );
                shared.submitted.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let hash = tx::tx_hash(&transaction.body);
                let delivered = shared.deliver(&mut endpoint, &transaction, hard_stop).await;
                if matches!(delivered, Delivery::Committed(_) | Delivery::Rejected(_)) {
                    if let Err(error) = shared.record_acked(&hash) {
                        eprintln!("worker {}: {error:#}", worker.account);
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                match delivered {
                    Delivery::Committed(response) => {
                        shared
                            .latencies_us
                            .lock()
                            .await
                            .push(sent.elapsed().as_micros() as u64);
                        shared.committed.fetch_add(1, Ordering::Relaxed);
                        worker.nonce += 1;
                        if splitting {
                            let children: Vec<String> = response
                                .result
                                .map(|r| {
                                    r.events
                                        .into_iter()
                                        .filter(|e| e.kind() == EventKind::VoucherCreatedBySplit)
                                        .map(|e| e.voucher_id)
                                        .collect()
                                })
                                .unwrap_or_default();
                            if children.len() != 2 {
                                eprintln!(
                                    "worker {}: split {} committed with {} children, not 2",
                                    worker.account,
                                    hex::encode(hash),
                                    children.len()
                                );
                                shared.failed.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                            small = children[0].clone();
                            worker.voucher = children[1].clone();
                            worker.amount -= min_split;
                            worker.splits += 1;
                            split_next = false;
                        } else {
                            shared.inboxes[next].lock().await.push_back(small.clone());
                            split_next = true;
                        }
                    }
                    Delivery::Rejected(status) => {
                        // Committed but rejected by a rule: the nonce is spent.
                        if shared.rejected.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first rejection: {}", status.message());
                        }
                        worker.nonce += 1;
                        split_next = true;
                    }
                    Delivery::Failed(why) => {
                        // Its outcome is unknown, so every later nonce of this account could
                        // wait on it: the worker stops.
                        eprintln!(
                            "worker {}: transaction {} (nonce {}) failed: {why}",
                            worker.account,
                            hex::encode(hash),
                            worker.nonce
                        );
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = load_started.elapsed().as_secs_f64();
    let mut latencies = shared.latencies_us.lock().await.clone();
    latencies.sort_unstable();
    let committed = shared.committed.load(Ordering::Relaxed);
    println!(
        "load: {} submitted, {committed} committed, {} rejected, {} failed, {} retries \
         ({} transactions retried) in {elapsed:.1} s",
        shared.submitted.load(Ordering::Relaxed),
        shared.rejected.load(Ordering::Relaxed),
        shared.failed.load(Ordering::Relaxed),
        shared.retries.load(Ordering::Relaxed),
        shared.retried_transactions.load(Ordering::Relaxed)
    );
    println!(
        "committed tx/s {:.0}   commit latency p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        committed as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    if shared.failed.load(Ordering::Relaxed) > 0 {
        bail!(
            "some workers failed (a transaction refused, out of attempts or time, or a split \
             without two children; see above)"
        );
    }
    Ok(())
}
