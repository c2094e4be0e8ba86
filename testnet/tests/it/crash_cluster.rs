//! Crash safety of a whole consortium of real processes: while two financiers each submit a
//! long run of credit-line raises, the leader is killed with SIGKILL, restarted, then a follower
//! is killed and restarted. Afterwards every transaction a node acknowledged as committed must be
//! on every node, in the same block, and the credit lines must hold exactly the committed
//! raises. In-process tests stop nodes gracefully; only a separate process can be killed
//! between a Raft write and its acknowledgement, which is where an acknowledged write could be
//! lost.

use crate::common;

use common::load::{submit_waiting, try_connect};

use common::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vchain_contracts::tx;
use vchain_node::config::NodeConfig;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

const NODES: usize = 3;
/// Raises per financier; with two financiers and their grants the load is 242 transactions,
/// inside the ~300 budget.
const RAISES_PER_SUBMITTER: u64 = 120;
/// No submitter signs a new transaction after this much load time.
const LOAD_WINDOW: Duration = Duration::from_secs(60);
/// How long one transaction may take, retries included, before its submitter gives up. Longer
/// than an election after a leader crash plus a restarted node's catch-up.
const TX_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on attempts per transaction, so a fast-failing node cannot spin the loop.
const TX_ATTEMPTS_MAX: usize = 80;
/// What a submission waits for its commit on the node's side. Short, so that a submission
/// stuck on a node that lost its leader is retried elsewhere soon.
const COMMIT_WAIT_MS: u32 = 4_000;
const INITIAL_LIMIT: u64 = 1_000;
/// The financiers submitting; each holds its own credit line to the core enterprise, so their
/// raises never conflict and each run of nonces is independent of the other.
const SUBMITTERS: [&str; 2] = ["bank-a-finance", "bank-b-factoring"];
const CORE_ENTERPRISE: &str = "carmaker";
/// Concurrent GetTransaction lookups per node in the final check.
const LOOKUP_TASKS: usize = 8;

/// What the submitters and the fault injector share: which nodes may be tried, and how many
/// transactions have been acknowledged (the injector's clock).
struct Cluster {
    net: PathBuf,
    endpoints: Vec<String>,
    alive: Vec<AtomicBool>,
    /// Submissions each node holds open (waiting for their commit), so a kill can be aimed at
    /// a node that owes an acknowledgement.
    in_flight: Vec<AtomicUsize>,
    acked: AtomicUsize,
    started: Instant,
}

impl Cluster {
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The next node marked alive after `rotation`, so each submitter spreads its
    /// transactions over leader and followers alike.
    fn next_live(&self, rotation: &mut usize) -> usize {
        for _ in 0..NODES {
            *rotation = (*rotation + 1) % NODES;
            if self.alive[*rotation].load(Ordering::SeqCst) {
                return *rotation;
            }
        }
        *rotation
    }
}

async fn connect(endpoint: &str) -> Result<VchainApiClient<Channel>, String> {
    try_connect(endpoint, Duration::from_secs(6)).await
}

async fn get_status(endpoint: &str) -> Result<GetStatusResponse, String> {
    let mut api = connect(endpoint).await?;
    api.get_status(GetStatusRequest {})
        .await
        .map(|r| r.into_inner())
        .map_err(|e| e.to_string())
}

/// The key that signs this test's reads: the testnet's regulator (an auditor), set once the
/// testnet exists.
static AUDITOR: std::sync::OnceLock<(String, ed25519_dalek::SigningKey)> =
    std::sync::OnceLock::new();

/// `message` as a read of `method` signed by [`AUDITOR`].
fn audited<T: prost::Message>(message: T, method: &str) -> tonic::Request<T> {
    let (chain_id, key) = AUDITOR.get().expect("the auditor is set up first");
    vchain_wallet::read::request_now(message, chain_id, method, "regulator", key)
}

/// `Ok(None)` only for a definite "not committed here"; transport trouble is an `Err`.
async fn get_transaction(
    endpoint: &str,
    hash: &[u8],
) -> Result<Option<GetTransactionResponse>, String> {
    let mut api = connect(endpoint).await?;
    match api
        .get_transaction(audited(
            GetTransactionRequest {
                tx_hash: hash.to_vec(),
            },
            "GetTransaction",
        ))
        .await
    {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
        Err(status) => Err(status.to_string()),
    }
}

/// `node` is the node's number as the testnet names it (node-1 is 1), so that failure
/// messages read like the `status` table and the log directories.
#[derive(Clone, Debug)]
enum Outcome {
    /// A node answered the submission itself with "committed at `height`".
    Acked { height: u64, node: usize },
    /// No acknowledgement reached us (the node died, or a re-submission was refused as a
    /// replay), but a node reports the transaction committed at `height`. Not an
    /// acknowledgement, yet it must be counted in the final limits.
    Found { height: u64, node: usize },
    /// Given up at the deadline; it may still commit later, which the final check looks up.
    Unresolved,
}

#[derive(Clone, Debug)]
struct Record {
    signer: &'static str,
    nonce: u64,
    /// 0 for the grant.
    raise: u64,
    hash: Vec<u8>,
    outcome: Outcome,
    attempts: usize,
    /// Load time (s) at which the outcome was known.
    at: f64,
}

/// Delivers one signed transaction: submits it to live nodes in turn until one acknowledges
/// its commit. Re-sending the same bytes after an error is safe (a second copy is refused as a
/// duplicate or a spent nonce), and after each failure we look the hash up, because the ack of
/// a committed transaction can be lost with the node that was about to send it.
async fn deliver(
    cluster: &Cluster,
    signed: &SignedTransaction,
    hash: &[u8],
    rotation: &mut usize,
    label: &str,
) -> (Outcome, usize) {
    let deadline = Instant::now() + TX_DEADLINE;
    let mut attempts = 0;
    while attempts < TX_ATTEMPTS_MAX && Instant::now() < deadline {
        attempts += 1;
        let node = cluster.next_live(rotation);
        let endpoint = &cluster.endpoints[node];
        cluster.in_flight[node].fetch_add(1, Ordering::SeqCst);
        let submitted =
            submit_waiting(endpoint, signed, COMMIT_WAIT_MS, Duration::from_secs(8)).await;
        cluster.in_flight[node].fetch_sub(1, Ordering::SeqCst);
        match submitted {
            Ok(response) if response.committed => {
                return (
                    Outcome::Acked {
                        height: response.height,
                        node: node + 1,
                    },
                    attempts,
                );
            }
            Ok(response) => {
                eprintln!(
                    "[{:6.2}] {label}: node-{} answered without a commit: {response:?}",
                    cluster.elapsed(),
                    node + 1
                );
            }
            Err(error) => {
                eprintln!(
                    "[{:6.2}] {label}: attempt {attempts} on node-{}: {error}",
                    cluster.elapsed(),
                    node + 1
                );
            }
        }
        if let Ok(Some(found)) = get_transaction(endpoint, hash).await {
            return (
                Outcome::Found {
                    height: found.height,
                    node: node + 1,
                },
                attempts,
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    (Outcome::Unresolved, attempts)
}

/// One financier's run: its grant, then raises with consecutive nonces, one at a time. It
/// stops at the first transaction it cannot resolve, since every later nonce would wait on it.
async fn submitter(
    cluster: Arc<Cluster>,
    chain_id: String,
    signer: &'static str,
    key: ed25519_dalek::SigningKey,
    core: String,
    first_nonce: u64,
    grant_only: bool,
) -> Vec<Record> {
    let mut records = Vec::new();
    let mut rotation = SUBMITTERS
        .iter()
        .position(|s| *s == signer)
        .unwrap_or_default();
    let count = if grant_only { 1 } else { RAISES_PER_SUBMITTER };
    for i in 0..count {
        if cluster.started.elapsed() > LOAD_WINDOW {
            break;
        }
        let nonce = first_nonce + i;
        let (operation, raise) = if grant_only {
            (
                Operation::GrantCreditLine(GrantCreditLine {
                    core_enterprise: core.clone(),
                    currency: "CNY".into(),
                    limit: INITIAL_LIMIT,
                }),
                0,
            )
        } else {
            // Each raise is its own nonce, so a lost raise and a doubled one do not cancel
            // out in the sum as easily as equal amounts would.
            (
                Operation::RaiseCreditLine(RaiseCreditLine {
                    core_enterprise: core.clone(),
                    amount: nonce,
                }),
                nonce,
            )
        };
        let signed = transaction::sign(
            &transaction::body(&chain_id, signer, nonce, operation),
            &key,
        );
        let hash = tx::tx_hash(&signed.body).to_vec();
        let label = format!("{signer}#{nonce}");
        let (outcome, attempts) = deliver(&cluster, &signed, &hash, &mut rotation, &label).await;
        if matches!(outcome, Outcome::Acked { .. }) {
            cluster.acked.fetch_add(1, Ordering::SeqCst);
        }
        let unresolved = matches!(outcome, Outcome::Unresolved);
        records.push(Record {
            signer,
            nonce,
            raise,
            hash,
            outcome,
            attempts,
            at: cluster.elapsed(),
        });
        if unresolved {
            eprintln!(
                "[{:6.2}] {label}: unresolved after {attempts} attempts; {signer} stops",
                cluster.elapsed()
            );
            break;
        }
    }
    records
}

/// The leader every running node names in `status`, waiting (bounded) through an election.
async fn agreed_leader(net: &Path) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = testnet_async(net, &["status"]).await;
        let running = rows(&status);
        if let Some(first) = running.first() {
            let leader = &first.2;
            if leader.starts_with("node-") && running.iter().all(|r| r.2 == *leader) {
                return leader
                    .trim_start_matches("node-")
                    .parse::<usize>()
                    .expect("node-N")
                    - 1;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the running nodes agree on no leader: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until at least `count` transactions are acknowledged and `after` has passed since
/// `since`, or `cap` has passed since `since` if the load stalls (a stall must not stop the
/// schedule, or the killed nodes would never come back).
async fn wait_phase(cluster: &Cluster, count: usize, since: Instant, after: Duration) {
    let cap = Duration::from_secs(15);
    while since.elapsed() < cap
        && (cluster.acked.load(Ordering::SeqCst) < count || since.elapsed() < after)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (at most a second) until `node` holds a submission open. Without this, the kills
/// tend to land just after an acknowledgement (the schedule is paced by them) and so never
/// catch a node between accepting a transaction and acknowledging it.
async fn wait_in_flight(cluster: &Cluster, node: usize) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while cluster.in_flight[node].load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The fault schedule, paced by acknowledgements so the faults land inside the load: kill the
/// leader at a third, restart it at a half, kill a follower at two thirds (one that was not the
/// old leader, so the restarted node must carry the quorum), restart it at five sixths.
/// A node is marked dead only after the kill, as a crash gives clients no warning: requests
/// in flight on it fail and must be retried elsewhere. Returns what it did, for the report.
async fn inject_faults(cluster: Arc<Cluster>, total: usize) -> Vec<String> {
    let mut log = Vec::new();
    let note = |log: &mut Vec<String>, what: String| {
        let line = format!(
            "[{:6.2}] acked {:3}: {what}",
            cluster.elapsed(),
            cluster.acked.load(Ordering::SeqCst)
        );
        eprintln!("{line}");
        log.push(line);
    };
    let gap = Duration::from_secs(2);

    wait_phase(&cluster, total / 3, cluster.started, Duration::ZERO).await;
    let leader = agreed_leader(&cluster.net).await;
    wait_in_flight(&cluster, leader).await;
    let open = cluster.in_flight[leader].load(Ordering::SeqCst);
    let (ok, text) = testnet_async(&cluster.net, &["kill", &(leader + 1).to_string()]).await;
    assert!(ok, "kill leader failed: {text}");
    cluster.alive[leader].store(false, Ordering::SeqCst);
    note(
        &mut log,
        format!(
            "killed leader node-{} ({open} submissions open on it)",
            leader + 1
        ),
    );
    let killed_at = Instant::now();

    wait_phase(&cluster, total / 2, killed_at, gap).await;
    let (ok, text) = testnet_async(&cluster.net, &["start", &(leader + 1).to_string()]).await;
    assert!(ok, "start node-{} failed: {text}", leader + 1);
    cluster.alive[leader].store(true, Ordering::SeqCst);
    note(&mut log, format!("started node-{}", leader + 1));
    let restarted_at = Instant::now();

    wait_phase(&cluster, total * 2 / 3, restarted_at, gap).await;
    let now_leader = agreed_leader(&cluster.net).await;
    let follower = (0..NODES)
        .find(|n| *n != now_leader && *n != leader)
        .or_else(|| (0..NODES).find(|n| *n != now_leader))
        .expect("a follower");
    wait_in_flight(&cluster, follower).await;
    let open = cluster.in_flight[follower].load(Ordering::SeqCst);
    let (ok, text) = testnet_async(&cluster.net, &["kill", &(follower + 1).to_string()]).await;
    assert!(ok, "kill follower failed: {text}");
    cluster.alive[follower].store(false, Ordering::SeqCst);
    note(
        &mut log,
        format!(
            "killed follower node-{} (leader node-{}; {open} submissions open on it)",
            follower + 1,
            now_leader + 1
        ),
    );
    let killed_at = Instant::now();

    wait_phase(&cluster, total * 5 / 6, killed_at, gap).await;
    let (ok, text) = testnet_async(&cluster.net, &["start", &(follower + 1).to_string()]).await;
    assert!(ok, "start node-{} failed: {text}", follower + 1);
    cluster.alive[follower].store(true, Ordering::SeqCst);
    note(&mut log, format!("started node-{}", follower + 1));
    log
}

/// Waits (bounded) until every node reports one height, at least `height`, and one state root.
async fn converged(cluster: &Cluster, height: u64) -> (u64, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut seen = Vec::new();
        for endpoint in &cluster.endpoints {
            seen.push(get_status(endpoint).await.map(|s| (s.height, s.state_root)));
        }
        if let Some(Ok(first)) = seen.first() {
            if first.0 >= height && seen.iter().all(|s| s.as_ref().ok() == Some(first)) {
                return first.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "nodes did not converge at {height} or above: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The last lines of each node's log, for a failure message.
fn log_tails(net: &Path) -> String {
    let mut out = String::new();
    for node in 1..=NODES {
        let path = net.join(format!("node-{node}")).join("node.log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        out.push_str(&format!("--- {} (last 15 lines)\n", path.display()));
        for line in &lines[lines.len().saturating_sub(15)..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn uscc_of(genesis: &vchain_contracts::genesis::Genesis, account: &str) -> String {
    genesis
        .identities
        .iter()
        .find(|i| i.accounts.iter().any(|a| a.account_id == account))
        .expect("dev account")
        .uscc
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_transactions_survive_sigkill_of_leader_and_follower() {
    let test_started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("crash-cluster")
        .tempdir()
        .expect("tempdir");
    let net = dir.path().join("net");
    let guard = Testnet {
        dir: Some(dir),
        net: net.clone(),
    };
    let (ok, text) = testnet_async(&net, &["up", "--nodes", &NODES.to_string()]).await;
    assert!(ok, "up failed: {text}");
    let up_secs = test_started.elapsed().as_secs_f64();
    let first_leader = agreed_leader(&net).await;
    eprintln!("up in {up_secs:.1} s, leader node-{}", first_leader + 1);

    let endpoints = (1..=NODES)
        .map(|n| {
            let config = NodeConfig::load(&net.join(format!("node-{n}")).join("config.toml"))
                .expect("node config");
            format!("http://{}", config.grpc_listen)
        })
        .collect();
    let keystore = Keystore::load_or_create(&net.join("keystore.json")).expect("keystore");
    let regulator = keystore
        .unlock("regulator", vchain_devnet::DEV_PASSPHRASE)
        .expect("regulator key");
    let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
    AUDITOR
        .set((genesis.chain_id.clone(), regulator))
        .expect("one cluster per test binary");
    let core = uscc_of(&genesis, CORE_ENTERPRISE);
    let cluster = Arc::new(Cluster {
        net: net.clone(),
        endpoints,
        alive: (0..NODES).map(|_| AtomicBool::new(true)).collect(),
        in_flight: (0..NODES).map(|_| AtomicUsize::new(0)).collect(),
        acked: AtomicUsize::new(0),
        started: Instant::now(),
    });

    // The grants, before any fault: each financier's line must exist for its raises to apply.
    let mut keys = Vec::new();
    let mut records = Vec::new();
    for signer in SUBMITTERS {
        let key = keystore
            .unlock(signer, vchain_devnet::DEV_PASSPHRASE)
            .expect("dev key");
        let mut api = connect(&cluster.endpoints[first_leader])
            .await
            .expect("connect");
        let nonce = api
            .get_account(audited(
                GetAccountRequest {
                    account_id: signer.into(),
                },
                "GetAccount",
            ))
            .await
            .expect("account")
            .into_inner()
            .account
            .expect("account")
            .next_nonce;
        let granted = submitter(
            cluster.clone(),
            genesis.chain_id.clone(),
            signer,
            key.clone(),
            core.clone(),
            nonce,
            true,
        )
        .await;
        assert!(
            matches!(
                granted.first().map(|r| &r.outcome),
                Some(Outcome::Acked { .. })
            ),
            "grant of {signer} not acknowledged: {granted:?}"
        );
        records.extend(granted);
        keys.push((signer, key, nonce + 1));
    }

    eprintln!("grants committed in {:.1} s", cluster.elapsed());

    // The load and the faults, concurrently.
    let total = SUBMITTERS.len() * RAISES_PER_SUBMITTER as usize + SUBMITTERS.len();
    let load_started = Instant::now();
    let faults = tokio::spawn(inject_faults(cluster.clone(), total));
    let mut runs = Vec::new();
    for (signer, key, nonce) in keys {
        runs.push(tokio::spawn(submitter(
            cluster.clone(),
            genesis.chain_id.clone(),
            signer,
            key,
            core.clone(),
            nonce,
            false,
        )));
    }
    for run in runs {
        records.extend(run.await.expect("submitter"));
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let fault_log = faults.await.expect("fault injector");

    let acked: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Acked { .. }))
        .collect();
    let found = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Found { .. }))
        .count();
    let unresolved: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Unresolved))
        .collect();
    let retried = records.iter().filter(|r| r.attempts > 1).count();
    let mut answered_by = [0usize; NODES];
    for record in &records {
        if let Outcome::Acked { node, .. } | Outcome::Found { node, .. } = record.outcome {
            answered_by[node - 1] += 1;
        }
    }
    let top = records
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Acked { height, .. } | Outcome::Found { height, .. } => Some(height),
            Outcome::Unresolved => None,
        })
        .max()
        .unwrap_or(0);
    eprintln!(
        "load: {} signed, {} acknowledged, {found} found after a lost ack, {} unresolved, \
         {retried} needed retries, in {load_secs:.1} s; answered by node: {answered_by:?}; \
         faults:\n  {}",
        records.len(),
        acked.len(),
        unresolved.len(),
        fault_log.join("\n  ")
    );

    let converge_started = Instant::now();
    let (height, root) = converged(&cluster, top).await;
    let (_, status) = testnet_async(&net, &["status"]).await;
    eprintln!(
        "converged at height {height} (root {}) in {:.1} s\n{status}",
        hex::encode(&root),
        converge_started.elapsed().as_secs_f64()
    );

    // Every transaction we signed, on every node: an acknowledged one must be there at the
    // height it was acknowledged at; any that is there must be in the same block everywhere.
    let verify_started = Instant::now();
    // Several lookups at a time per node: each GetTransaction answer takes ~45 ms on loopback
    // (GetAccount well under 1 ms), so one at a time would make this the slowest phase.
    let mut answers: Vec<Vec<Result<Option<GetTransactionResponse>, String>>> = Vec::new();
    for endpoint in &cluster.endpoints {
        let api = connect(endpoint).await.expect("connect for verification");
        let mut lookups = Vec::new();
        for chunk in records.chunks(records.len().div_ceil(LOOKUP_TASKS)) {
            let mut api = api.clone();
            let hashes: Vec<Vec<u8>> = chunk.iter().map(|r| r.hash.clone()).collect();
            lookups.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for hash in hashes {
                    answers.push(
                        match api
                            .get_transaction(audited(
                                GetTransactionRequest { tx_hash: hash },
                                "GetTransaction",
                            ))
                            .await
                        {
                            Ok(response) => Ok(Some(response.into_inner())),
                            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
                            Err(status) => Err(status.to_string()),
                        },
                    );
                }
                answers
            }));
        }
        let mut node_answers = Vec::new();
        for lookup in lookups {
            node_answers.extend(lookup.await.expect("lookups"));
        }
        answers.push(node_answers);
    }
    let mut failures = Vec::new();
    let mut committed_raise = std::collections::BTreeMap::<&str, (u64, u64)>::new();
    for (i, record) in records.iter().enumerate() {
        let placements: Vec<(usize, &Result<Option<GetTransactionResponse>, String>)> =
            answers.iter().map(|node| &node[i]).enumerate().collect();
        let label = format!(
            "{}#{} {} ({:?}, {} attempts, at {:.2} s)",
            record.signer,
            record.nonce,
            hex::encode(&record.hash),
            record.outcome,
            record.attempts,
            record.at
        );
        let mut present = Vec::new();
        for (node, answer) in &placements {
            match answer {
                Ok(Some(tx)) => present.push((*node, tx)),
                Ok(None) => {
                    if !matches!(record.outcome, Outcome::Unresolved) {
                        failures.push(format!("{label}: missing on node-{}", node + 1));
                    }
                }
                Err(error) => failures.push(format!("{label}: node-{} errs: {error}", node + 1)),
            }
        }
        if let Outcome::Acked { height, .. } | Outcome::Found { height, .. } = record.outcome {
            for (node, tx) in &present {
                if tx.height != height {
                    failures.push(format!(
                        "{label}: on node-{} at height {}, acknowledged at {height}",
                        node + 1,
                        tx.height
                    ));
                }
            }
        }
        if let Some((_, first)) = present.first() {
            for (node, tx) in &present {
                if tx.height != first.height || tx.block_hash != first.block_hash {
                    failures.push(format!(
                        "{label}: node-{} has it in block {} at {}, node-{} in {} at {}",
                        node + 1,
                        hex::encode(&tx.block_hash),
                        tx.height,
                        present[0].0 + 1,
                        hex::encode(&first.block_hash),
                        first.height
                    ));
                }
                let code = tx.result.as_ref().map(|r| r.code()).unwrap_or_default();
                if code != ErrorCode::Ok {
                    failures.push(format!(
                        "{label}: committed on node-{} with result {code:?}",
                        node + 1
                    ));
                }
            }
            if present.len() == NODES && record.raise > 0 {
                let entry = committed_raise.entry(record.signer).or_default();
                entry.0 += record.raise;
                entry.1 = entry.1.max(record.nonce);
            }
        }
    }

    // Nothing lost and nothing applied twice: each line is the grant plus exactly the raises
    // found committed, and each account's next nonce follows its last committed one.
    for signer in SUBMITTERS {
        let (sum, last_nonce) = committed_raise.get(signer).copied().unwrap_or_default();
        let acked_sum: u64 = acked
            .iter()
            .filter(|r| r.signer == signer)
            .map(|r| r.raise)
            .sum();
        assert!(
            acked_sum <= sum,
            "{signer}: acknowledged raises exceed the committed ones"
        );
        for (node, endpoint) in cluster.endpoints.iter().enumerate() {
            let mut api = connect(endpoint).await.expect("connect");
            let line = api
                .get_credit_line(audited(
                    GetCreditLineRequest {
                        financier: uscc_of(&genesis, signer),
                        core_enterprise: core.clone(),
                    },
                    "GetCreditLine",
                ))
                .await
                .expect("credit line")
                .into_inner()
                .credit_line
                .expect("credit line");
            if line.limit != INITIAL_LIMIT + sum {
                failures.push(format!(
                    "{signer} on node-{}: limit {}, expected {INITIAL_LIMIT} + {sum} \
                     (acknowledged raises alone: {acked_sum})",
                    node + 1,
                    line.limit
                ));
            }
            let account = api
                .get_account(audited(
                    GetAccountRequest {
                        account_id: signer.into(),
                    },
                    "GetAccount",
                ))
                .await
                .expect("account")
                .into_inner()
                .account
                .expect("account");
            if account.next_nonce != last_nonce + 1 {
                failures.push(format!(
                    "{signer} on node-{}: next nonce {}, last committed nonce {last_nonce}",
                    node + 1,
                    account.next_nonce
                ));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} inconsistencies after the crashes:\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        log_tails(&net)
    );
    // Safety holds; liveness is checked last so a stall is reported as such, not as a loss.
    assert_eq!(
        fault_log.len(),
        4,
        "every fault was injected: {fault_log:?}"
    );
    assert!(
        unresolved.is_empty(),
        "transactions never acknowledged within {} s: {unresolved:?}\n{}",
        TX_DEADLINE.as_secs(),
        log_tails(&net)
    );
    eprintln!(
        "verified {} transactions on {NODES} nodes in {:.1} s; whole test {:.1} s",
        records.len(),
        verify_started.elapsed().as_secs_f64(),
        test_started.elapsed().as_secs_f64()
    );
    drop(guard);
}
