//! Disk faults a bank's operator meets (issue 11), on the real node processes of a four-node
//! testnet: a write-ahead log damaged before its end, a data directory rolled back to an older
//! copy or wiped, and a full disk. Each test damages one follower's disk and checks what that
//! node must do: refuse to start with a message saying what was found and what to do, or carry
//! on without ever voting again, or stop cleanly and resume once space is freed. In every case
//! no node panics, no node continues from a history shorter than what it acknowledged, and the
//! other nodes keep committing.

use crate::common;

use common::load::{submit_waiting, try_connect};

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
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

const NODES: usize = 4;
/// Longest any one wait of these tests lasts (a node starting or stopping, an election, a
/// catch-up).
const WAIT_MAX: Duration = Duration::from_secs(45);
/// What a submission waits for its commit on the node's side.
const COMMIT_WAIT_MS: u32 = 5_000;
/// Attempts per transaction, spread over the nodes given, before the test gives up on it.
const SUBMIT_ATTEMPTS_MAX: usize = 12;
/// The financier whose credit-line raises are the load.
const FINANCIER: &str = "bank-a-finance";
const CORE_ENTERPRISE: &str = "carmaker";
const INITIAL_LIMIT: u64 = 1_000;
/// Size of the tmpfs holding the full-disk node's ledger: room for the ledger of a short run,
/// less than RocksDB's write-ahead-log preallocation (which would hide the full disk from the
/// node's writes until the preallocated space is used up).
const TMPFS_BYTES: u64 = 48 * 1024 * 1024;
/// Longest the full-disk test's background load runs, whatever happens.
const LOAD_MAX: Duration = Duration::from_secs(120);

/// One test at a time: each runs four node processes, and the machine running the suite may
/// have two cores; side by side, elections would time out for want of CPU.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the tests need to sign transactions and reads.
#[derive(Clone)]
struct Client {
    /// gRPC endpoints, node-1 first.
    endpoints: Vec<String>,
    chain_id: String,
    financier: ed25519_dalek::SigningKey,
    /// The regulator (an auditor), who may read every transaction.
    auditor: ed25519_dalek::SigningKey,
    /// The core enterprise's USCC.
    core: String,
}

/// A transaction a node acknowledged as committed.
#[derive(Clone, Debug)]
struct Acked {
    nonce: u64,
    hash: Vec<u8>,
    height: u64,
    /// The node that acknowledged it.
    node: usize,
}

impl Client {
    fn endpoint(&self, node: usize) -> &str {
        &self.endpoints[node - 1]
    }

    fn audited<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        vchain_wallet::read::request_now(
            message,
            &self.chain_id,
            method,
            "regulator",
            &self.auditor,
        )
    }

    /// Submits the financier's transaction `nonce` to the nodes of `via` in turn until one
    /// acknowledges its commit. Sending the same bytes again after an error is safe: a node
    /// answers a known transaction with its status.
    async fn submit(&self, nonce: u64, via: &[usize]) -> Result<Acked, String> {
        let operation = if nonce == 0 {
            Operation::GrantCreditLine(GrantCreditLine {
                core_enterprise: self.core.clone(),
                currency: "CNY".into(),
                limit: INITIAL_LIMIT,
            })
        } else {
            Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: self.core.clone(),
                amount: 1,
            })
        };
        let signed = transaction::sign(
            &transaction::body(&self.chain_id, FINANCIER, nonce, operation),
            &self.financier,
        );
        let hash = tx::tx_hash(&signed.body).to_vec();
        let mut errors = Vec::new();
        for attempt in 0..SUBMIT_ATTEMPTS_MAX {
            let node = via[attempt % via.len()];
            let answer = submit_waiting(
                self.endpoint(node),
                &signed,
                COMMIT_WAIT_MS,
                Duration::from_secs(10),
            )
            .await;
            match answer {
                Ok(response) if response.committed => {
                    return Ok(Acked {
                        nonce,
                        hash,
                        height: response.height,
                        node,
                    })
                }
                Ok(response) => errors.push(format!("node-{node}: not committed: {response:?}")),
                Err(error) => errors.push(format!("node-{node}: {error}")),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!(
            "{FINANCIER}#{nonce} not acknowledged: {}",
            errors.join("; ")
        ))
    }

    /// The node's status, or `None` if it does not answer.
    async fn status(&self, node: usize) -> Option<GetStatusResponse> {
        tokio::time::timeout(Duration::from_secs(3), async {
            connect(self.endpoint(node))
                .await
                .ok()?
                .get_status(GetStatusRequest {})
                .await
                .ok()
                .map(|r| r.into_inner())
        })
        .await
        .ok()
        .flatten()
    }
}

async fn connect(endpoint: &str) -> Result<VchainApiClient<Channel>, String> {
    try_connect(endpoint, Duration::from_secs(8)).await
}

/// A four-node testnet with the financier's credit line granted, and what was acknowledged.
struct Net {
    /// Takes the testnet down however the test ends, and removes its directory.
    _guard: Testnet,
    /// File systems mounted under the testnet: unmounted when the nodes have stopped and
    /// before the directory is removed (see `Drop for Net`).
    mounts: Vec<Tmpfs>,
    net: PathBuf,
    client: Client,
    next_nonce: u64,
    acked: Vec<Acked>,
    started: Instant,
}

impl Drop for Net {
    /// The nodes stop first (a mounted ledger is busy while its node runs), then the mounts
    /// go, then the guard removes the directory (a mount point cannot be removed).
    fn drop(&mut self) {
        if !self.mounts.is_empty() {
            let (ok, text) = testnet(&self.net, &["down"]);
            if !ok {
                eprintln!("down failed: {text}");
            }
            self.mounts.clear();
        }
    }
}

impl Net {
    async fn up(prefix: &str) -> Net {
        Self::up_with(prefix, None).await
    }

    /// A testnet whose nodes' configs take `overlay` (TOML) first.
    async fn up_with(prefix: &str, overlay: Option<&str>) -> Net {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("tempdir");
        let net = dir.path().join("net");
        let guard = Testnet {
            dir: Some(dir),
            net: net.clone(),
        };
        let nodes = NODES.to_string();
        let mut args = vec!["up", "--nodes", &nodes];
        let overlay_path = net.with_extension("overlay.toml");
        let overlay_arg = overlay_path.display().to_string();
        if let Some(overlay) = overlay {
            std::fs::create_dir_all(overlay_path.parent().expect("a parent")).expect("dir");
            std::fs::write(&overlay_path, overlay).expect("overlay");
            args.extend(["--config-overlay", &overlay_arg]);
        }
        let (ok, text) = testnet_async(&net, &args).await;
        assert!(ok, "up failed: {text}");
        let endpoints = (1..=NODES)
            .map(|n| format!("http://{}", config_of(&net, n).grpc_listen))
            .collect();
        let keystore = Keystore::load_or_create(&net.join("keystore.json")).expect("keystore");
        let unlock = |account: &str| {
            keystore
                .unlock(account, vchain_devnet::DEV_PASSPHRASE)
                .expect("dev key")
        };
        let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
        let core = genesis
            .identities
            .iter()
            .find(|i| i.accounts.iter().any(|a| a.account_id == CORE_ENTERPRISE))
            .expect("the core enterprise")
            .uscc
            .clone();
        let client = Client {
            endpoints,
            chain_id: genesis.chain_id.clone(),
            financier: unlock(FINANCIER),
            auditor: unlock("regulator"),
            core,
        };
        let mut net = Net {
            _guard: guard,
            mounts: Vec::new(),
            net,
            client,
            next_nonce: 0,
            acked: Vec::new(),
            started,
        };
        // The grant (nonce 0), so that the raises after it apply.
        net.commit(1, &[1, 2, 3, 4]).await;
        net.say("testnet up, credit line granted");
        net
    }

    fn say(&self, what: &str) {
        eprintln!("[{:6.2}] {what}", self.started.elapsed().as_secs_f64());
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.net.join(format!("node-{node}"))
    }

    fn ledger_dir(&self, node: usize) -> PathBuf {
        config_of(&self.net, node).ledger_dir()
    }

    async fn tool(&self, args: &[&str]) {
        let (ok, text) = testnet_async(&self.net, args).await;
        assert!(ok, "vchain-testnet {args:?} failed: {text}");
    }

    async fn status(&self, node: usize) -> Option<GetStatusResponse> {
        self.client.status(node).await
    }

    /// Commits `count` more of the financier's transactions, each submitted through the nodes
    /// of `via` in turn, one after another.
    async fn commit(&mut self, count: usize, via: &[usize]) {
        for i in 0..count {
            let nonce = self.next_nonce;
            let mut rotated = via.to_vec();
            rotated.rotate_left(i % via.len());
            let acked = self
                .client
                .submit(nonce, &rotated)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tails()));
            self.next_nonce += 1;
            self.acked.push(acked);
        }
    }

    /// The leader all of `nodes` name, waiting (bounded) through an election.
    async fn leader(&self, nodes: &[usize]) -> usize {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let mut named = Vec::new();
            for node in nodes {
                named.push(self.status(*node).await.map(|s| s.leader));
            }
            if let Some(Some(first)) = named.first() {
                if first.starts_with("node-") && named.iter().all(|l| l.as_ref() == Some(first)) {
                    return first["node-".len()..].parse().expect("node-N");
                }
            }
            assert!(
                Instant::now() < deadline,
                "nodes {nodes:?} agree on no leader: {named:?}\n{}",
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A node that is not the leader.
    async fn follower(&self) -> usize {
        let leader = self.leader(&[1, 2, 3, 4]).await;
        // The next one round, so the tests do not always pick the same.
        leader % NODES + 1
    }

    /// Waits (bounded) until `nodes` hold every acknowledged transaction's block and agree on
    /// height and state root.
    async fn converged(&self, nodes: &[usize]) -> (u64, Vec<u8>) {
        let top = self.acked.iter().map(|a| a.height).max().unwrap_or(0);
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let mut seen = Vec::new();
            for node in nodes {
                seen.push(self.status(*node).await.map(|s| (s.height, s.state_root)));
            }
            if let Some(Some(first)) = seen.first() {
                if first.0 >= top && seen.iter().all(|s| s.as_ref() == Some(first)) {
                    return first.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "nodes {nodes:?} did not converge at height {top} or above: {:?}\n{}",
                seen.iter()
                    .map(|s| s.as_ref().map(|(h, r)| format!("{h} {}", hex::encode(r))))
                    .collect::<Vec<_>>(),
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every acknowledged transaction is on each of `nodes`, at the height it was acknowledged
    /// at, and the credit line holds exactly the acknowledged raises.
    async fn assert_acked_on(&self, nodes: &[usize]) {
        let mut lookups = tokio::task::JoinSet::new();
        for node in nodes {
            for acked in &self.acked {
                let (client, node, acked) = (self.client.clone(), *node, acked.clone());
                lookups.spawn(async move {
                    let found = async {
                        connect(client.endpoint(node))
                            .await?
                            .get_transaction(client.audited(
                                GetTransactionRequest {
                                    tx_hash: acked.hash.clone(),
                                },
                                "GetTransaction",
                            ))
                            .await
                            .map(|r| r.into_inner().height)
                            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
                    }
                    .await;
                    match found {
                        Ok(height) if height == acked.height => None,
                        Ok(height) => Some(format!(
                            "nonce {} (acknowledged by node-{} at {}) is on node-{node} at {height}",
                            acked.nonce, acked.node, acked.height
                        )),
                        Err(error) => Some(format!(
                            "nonce {} (acknowledged by node-{} at {}) on node-{node}: {error}",
                            acked.nonce, acked.node, acked.height
                        )),
                    }
                });
            }
        }
        let mut failures = Vec::new();
        while let Some(outcome) = lookups.join_next().await {
            failures.extend(outcome.expect("lookup task"));
        }
        for node in nodes {
            let line = connect(self.client.endpoint(*node))
                .await
                .expect("connect")
                .get_credit_line(self.client.audited(
                    GetCreditLineRequest {
                        financier: self.financier_uscc(),
                        core_enterprise: self.client.core.clone(),
                    },
                    "GetCreditLine",
                ))
                .await
                .expect("credit line")
                .into_inner()
                .credit_line
                .expect("credit line");
            // Raises are 1 each; the grant is nonce 0.
            let raises = self.acked.len() as u64 - 1;
            if line.limit != INITIAL_LIMIT + raises {
                failures.push(format!(
                    "node-{node}: limit {}, want {INITIAL_LIMIT} + {raises} raises",
                    line.limit
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "acknowledged transactions missing:\n{}",
            failures.join("\n")
        );
    }

    /// True if `node` answers a transaction by `hash`.
    async fn holds(&self, node: usize, hash: &[u8]) -> bool {
        let Ok(mut api) = connect(self.client.endpoint(node)).await else {
            return false;
        };
        api.get_transaction(self.client.audited(
            GetTransactionRequest {
                tx_hash: hash.to_vec(),
            },
            "GetTransaction",
        ))
        .await
        .is_ok()
    }

    fn financier_uscc(&self) -> String {
        let genesis = vchain_node::load_genesis(&self.net.join("genesis.toml")).expect("genesis");
        genesis
            .identities
            .iter()
            .find(|i| i.accounts.iter().any(|a| a.account_id == FINANCIER))
            .expect("the financier")
            .uscc
            .clone()
    }

    fn log(&self, node: usize) -> String {
        std::fs::read_to_string(self.node_dir(node).join("node.log")).unwrap_or_default()
    }

    /// No node panicked, ever (a panic is how raft-rs met a log that went back).
    fn assert_no_panic(&self) {
        for node in 1..=NODES {
            let log = self.log(node);
            assert!(
                !log.contains("panicked at"),
                "node-{node} panicked:\n{}",
                tail(&log, 40)
            );
        }
    }

    fn log_tails(&self) -> String {
        (1..=NODES)
            .map(|node| {
                format!(
                    "--- node-{node} (last 15 lines)\n{}",
                    tail(&self.log(node), 15)
                )
            })
            .collect()
    }

    /// The running process of `node`, from the testnet's pid file.
    fn pid(&self, node: usize) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.node_dir(node).join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit(')').next()?.split_whitespace().next()?;
        (state != "Z").then_some(pid)
    }

    /// Waits (bounded) until `node`'s status shows `what`.
    async fn wait_status(
        &self,
        node: usize,
        what: &str,
        ok: impl Fn(&GetStatusResponse) -> bool,
    ) -> GetStatusResponse {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let status = self.status(node).await;
            if let Some(status) = status.filter(|s| ok(s)) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "node-{node} never showed that {what}\n{}",
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits (bounded) until `node`'s process has exited.
    async fn wait_exit(&self, node: usize) {
        let deadline = Instant::now() + WAIT_MAX;
        while self.pid(node).is_some() {
            assert!(
                Instant::now() < deadline,
                "node-{node} still runs after {} s\n{}",
                WAIT_MAX.as_secs(),
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `node` in the foreground as its operator would start it, its output appended to
    /// its log, until it exits (bounded): the exit status and what it wrote.
    fn run_until_exit(&self, node: usize) -> (ExitStatus, String) {
        let log_path = self.node_dir(node).join("node.log");
        let before = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0) as usize;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("node log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vchain-testnet"))
            .args(["run-node", "--config"])
            .arg(self.node_dir(node).join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the node");
        let deadline = Instant::now() + WAIT_MAX;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the node") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "node-{node} still runs after {} s:\n{}",
                    WAIT_MAX.as_secs(),
                    tail(&self.log(node), 30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = self.log(node).get(before..).unwrap_or_default().to_owned();
        (status, output)
    }
}

fn config_of(net: &Path, node: usize) -> NodeConfig {
    NodeConfig::load(&net.join(format!("node-{node}")).join("config.toml")).expect("node config")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n") + "\n"
}

/// Copies directory `from` to `to` (replacing `to`) with `cp -a`: a backup, or its restore.
fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).expect("remove the old copy");
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// The newest write-ahead log in a RocksDB directory (`NNNNNN.log`, numbered in order).
fn newest_wal(ledger: &Path) -> PathBuf {
    std::fs::read_dir(ledger)
        .expect("list the ledger")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .max_by_key(|path| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
        })
        .expect("a write-ahead log")
}

/// A write-ahead log damaged before its end, as a bad sector or a torn copy leaves it: a
/// follower is killed after some commits, bytes inside an earlier record of its newest
/// write-ahead log are flipped, and it is started again. It must refuse to start (exit with an
/// error) saying what it found and what the operator can do, and never serve from the shorter
/// history RocksDB's default recovery would replay; the other three commit on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_damaged_write_ahead_log_refuses_to_start_and_the_others_commit_on() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("disk-wal").await;
    let all = [1, 2, 3, 4];
    net.commit(12, &all).await;
    let victim = net.follower().await;
    let others: Vec<usize> = all.into_iter().filter(|n| *n != victim).collect();
    let (height, _) = net.converged(&all).await;
    net.tool(&["kill", &victim.to_string()]).await;
    net.say(&format!("node-{victim} killed at height {height}"));

    // The newest write-ahead log: the blocks since the ledger opened (none was flushed yet).
    let ledger = net.ledger_dir(victim);
    let wal = newest_wal(&ledger);
    let mut bytes = std::fs::read(&wal).expect("read the log");
    assert!(
        bytes.len() > 8_192,
        "{} holds the committed blocks: {} bytes",
        wal.display(),
        bytes.len()
    );
    // A third of the way in: intact records before and after the damage.
    let at = bytes.len() / 3;
    for byte in &mut bytes[at..at + 16] {
        *byte ^= 0xa5;
    }
    std::fs::write(&wal, &bytes).expect("damage the log");
    net.say(&format!("damaged {} at byte {at}", wal.display()));

    // Started as its operator would start it (twice: the refusal holds, the first attempt
    // did not "repair" the ledger by cutting it short).
    for attempt in 1..=2 {
        let (status, output) = net.run_until_exit(victim);
        assert!(
            !status.success(),
            "attempt {attempt}: node-{victim} exited successfully on a damaged log:\n{output}"
        );
        for needed in [
            "damaged",
            &ledger.display().to_string(),
            "will not continue from a shortened history",
            "Remove this node by proposal",
            "new node id",
            "restored from a backup under the new id",
        ] {
            assert!(
                output.contains(needed),
                "attempt {attempt}: node-{victim}'s output does not say {needed:?}:\n{output}"
            );
        }
        assert!(
            !output.contains("node serving") && !output.contains("ledger opened"),
            "attempt {attempt}: node-{victim} came up on a damaged log:\n{output}"
        );
        net.say(&format!(
            "attempt {attempt}: node-{victim} refused to start ({status})"
        ));
    }
    assert_eq!(
        std::fs::read(&wal).expect("read the log"),
        bytes,
        "the refused starts left the damaged log as found (the operator's evidence)"
    );

    // The other three commit on, with every acknowledged transaction.
    net.commit(6, &others).await;
    net.converged(&others).await;
    net.assert_acked_on(&others).await;
    net.assert_no_panic();
    net.say("done");
}

/// A data directory rolled back to an older copy, as a restore from backup does: once from a
/// copy taken while the node ran (frozen for the copy, as a file-system snapshot is consistent)
/// in the same run it is restored into, once from a copy taken while it was stopped before an
/// earlier run. Either way the node has forgotten votes it cast and log entries it
/// acknowledged, so it must never vote again: it finds out itself (the leader shows it entries
/// it no longer holds) or from its peers (they saw a later incarnation of it), says so, keeps
/// following the chain, and never panics (raft-rs stops the process when a leader's commit is
/// beyond a follower's log). The other nodes refuse its votes once they can tell, and commit on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_data_directory_restored_from_an_older_copy_never_votes_again() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("disk-restored").await;
    let all = [1, 2, 3, 4];
    net.commit(4, &all).await;
    let victim = net.follower().await;
    let (number, name) = (victim.to_string(), format!("node-{victim}"));
    let others: Vec<usize> = all.into_iter().filter(|n| *n != victim).collect();
    let ledger = net.ledger_dir(victim);
    let backups = net.net.join("backups");
    std::fs::create_dir_all(&backups).expect("backups dir");

    // A copy taken while the node was stopped; it runs again afterwards (a later incarnation
    // its peers see).
    net.tool(&["stop", &number]).await;
    copy_dir(&ledger, &backups.join("stopped"));
    net.tool(&["start", &number]).await;
    net.commit(4, &all).await;
    net.converged(&all).await;
    // A copy taken while it ran.
    let pid = net.pid(victim).expect("the node runs");
    signal(pid, "-STOP");
    copy_dir(&ledger, &backups.join("running"));
    signal(pid, "-CONT");
    net.commit(4, &all).await;
    net.converged(&all).await;
    net.say(&format!("{name} backed up stopped and running"));

    // Restored from the copy of this very run: to its peers it is simply the next run, so
    // only the node itself can tell, from the leader.
    net.tool(&["kill", &number]).await;
    copy_dir(&backups.join("running"), &ledger);
    net.tool(&["start", &number]).await;
    net.wait_status(victim, "it may not vote (restored in its run)", |s| {
        s.voting_forbidden
    })
    .await;
    net.say(&format!(
        "{name} restored from its running copy: it may not vote"
    ));
    // It follows: the leader's next entries bring it up to date.
    net.commit(4, &others).await;
    net.converged(&all).await;
    // Recorded: after a restart, when no leader shows it a gap any more, it still may not vote.
    net.tool(&["stop", &number]).await;
    net.tool(&["start", &number]).await;
    net.wait_status(victim, "it still may not vote after a restart", |s| {
        s.voting_forbidden
    })
    .await;

    // Restored from the copy taken before its last run: its peers tell it, and refuse its
    // votes.
    net.tool(&["kill", &number]).await;
    copy_dir(&backups.join("stopped"), &ledger);
    net.tool(&["start", &number]).await;
    for peer in &others {
        net.wait_status(*peer, &format!("it refuses {name}'s votes"), |s| {
            s.votes_refused_from.contains(&name) && !s.voting_forbidden
        })
        .await;
    }
    net.wait_status(
        victim,
        "it may not vote (restored from a stopped copy)",
        |s| s.voting_forbidden,
    )
    .await;
    net.say(&format!("{name} restored from its stopped copy: refused"));

    // The others commit on (a leader needs a quorum of log copies, which the restored node
    // still gives as it follows), and the restored node holds every acknowledged transaction.
    net.commit(4, &others).await;
    net.converged(&all).await;
    net.assert_acked_on(&all).await;
    net.assert_no_panic();
    let log = net.log(victim);
    for needed in [
        // Restored in its run: found out itself.
        "acknowledged consensus log entries it no longer holds",
        // Restored from an earlier run: told by its peers.
        "peers have seen a later incarnation of this node",
        "will not vote or stand for election",
        "add it again under a new node id",
    ] {
        assert!(
            log.contains(needed),
            "{name} does not tell its operator {needed:?}:\n{}",
            tail(&log, 30)
        );
    }
    for peer in &others {
        let log = net.log(*peer);
        assert!(
            log.contains("its votes count for nothing"),
            "node-{peer} does not say it refuses {name}'s votes:\n{}",
            tail(&log, 30)
        );
    }
    net.say("done");
}

/// A wiped data directory, as a replaced disk leaves it: without its network key the node is
/// not the node genesis lists and refuses to start, saying so; with its key restored from the
/// operator's backup it starts on an empty ledger. Nothing on its disk shows that it ran
/// before, so it learns that from its peers (they saw another incarnation of it) before it can
/// vote: it never votes, its peers refuse its votes, it follows the chain from the start, never
/// panics, and the others commit on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wiped_data_directory_never_votes_again() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("disk-wiped").await;
    let all = [1, 2, 3, 4];
    net.commit(6, &all).await;
    let victim = net.follower().await;
    let (number, name) = (victim.to_string(), format!("node-{victim}"));
    let others: Vec<usize> = all.into_iter().filter(|n| *n != victim).collect();
    let dir = net.node_dir(victim);
    let key_file = dir.join(vchain_node::network::NODE_KEY_FILE);
    let key_backup = std::fs::read(&key_file).expect("the node key");
    net.converged(&all).await;

    net.tool(&["kill", &number]).await;
    // Everything gone but its configuration (and the testnet's log of it).
    for entry in std::fs::read_dir(&dir).expect("list the data directory") {
        let path = entry.expect("entry").path();
        match path.file_name().and_then(|n| n.to_str()) {
            Some("config.toml" | "node.log") => {}
            _ if path.is_dir() => std::fs::remove_dir_all(&path).expect("wipe"),
            _ => std::fs::remove_file(&path).expect("wipe"),
        }
    }
    let (status, output) = net.run_until_exit(victim);
    assert!(
        !status.success() && output.contains("is not the key genesis lists for"),
        "{name} without its key: {status}\n{output}"
    );
    assert!(
        output.contains("restore"),
        "{name} does not say what the operator can do:\n{output}"
    );
    net.say(&format!("{name} refused to start without its key"));

    std::fs::write(&key_file, &key_backup).expect("restore the node key");
    net.tool(&["start", &number]).await;
    for peer in &others {
        net.wait_status(*peer, &format!("it refuses {name}'s votes"), |s| {
            s.votes_refused_from.contains(&name)
        })
        .await;
    }
    net.wait_status(victim, "it may not vote", |s| s.voting_forbidden)
        .await;
    net.say(&format!("{name} wiped: refused, may not vote"));

    net.commit(4, &others).await;
    net.converged(&all).await;
    net.assert_acked_on(&all).await;
    net.assert_no_panic();
    let log = net.log(victim);
    assert!(
        log.contains("will not vote or stand for election")
            && log.contains("add it again under a new node id"),
        "{name} does not tell its operator:\n{}",
        tail(&log, 30)
    );
    net.say("done");
}

/// A tmpfs mounted for a test, unmounted when dropped (after the nodes stopped: see
/// [`Net::mounts`]).
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` at `at`. Needs root (or CAP_SYS_ADMIN): the test fails, and
    /// says so, rather than pass without a full disk.
    fn mount(at: &Path, bytes: u64) -> Tmpfs {
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "the full-disk test mounts a small tmpfs at {} and needs root or CAP_SYS_ADMIN for it: {}",
            at.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs { at: at.to_owned() }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.at)
            .status()
            .is_ok_and(|s| s.success());
        // Still busy (a node process that would not stop): detach it now, freed when the
        // process goes.
        if !unmounted
            && !Command::new("umount")
                .arg("-l")
                .arg(&self.at)
                .status()
                .is_ok_and(|s| s.success())
        {
            eprintln!("could not unmount the tmpfs at {}", self.at.display());
        }
    }
}

/// Bytes of the files in `dir` (not below it).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").metadata().expect("metadata").len())
        .sum()
}

/// Submits the financier's transactions from `first_nonce` on, one after another, each
/// through the next node round, until `stop` is set; what was acknowledged goes to `acked`.
async fn load(
    client: Client,
    first_nonce: u64,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acked: Arc<std::sync::Mutex<Vec<Acked>>>,
) -> Result<u64, String> {
    let deadline = Instant::now() + LOAD_MAX;
    let mut nonce = first_nonce;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
        let mut via: Vec<usize> = (1..=NODES).collect();
        via.rotate_left(nonce as usize % NODES);
        let done = client.submit(nonce, &via).await?;
        acked.lock().unwrap_or_else(|e| e.into_inner()).push(done);
        nonce += 1;
    }
    Ok(nonce)
}

/// A full disk: a follower's ledger lives on a small file system of its own, which fills up
/// while transactions flow through every node. The node must stop cleanly (no panic, an error
/// in its log that names the full disk, and nothing it acknowledged lost), the others commit
/// on, and once space is freed and the node is started again it catches up to the same height
/// and state root, holding every acknowledged transaction. It does not resume by itself: the
/// process exits with an error ("node stopped on an error") and its operator starts it again
/// (here with `vchain-testnet start`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_stops_the_node_cleanly_and_it_resumes_once_space_is_freed() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("disk-full").await;
    let all = [1, 2, 3, 4];
    net.commit(4, &all).await;
    let victim = net.follower().await;
    let (number, name) = (victim.to_string(), format!("node-{victim}"));

    // Its ledger onto a small tmpfs: stopped, moved, started again.
    net.tool(&["stop", &number]).await;
    let ledger = net.ledger_dir(victim);
    let moved = ledger.with_extension("moved");
    std::fs::rename(&ledger, &moved).expect("move the ledger aside");
    std::fs::create_dir(&ledger).expect("mount point");
    net.mounts.push(Tmpfs::mount(&ledger, TMPFS_BYTES));
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", moved.display()))
        .arg(&ledger)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copy the ledger onto the tmpfs");
    std::fs::remove_dir_all(&moved).expect("remove the old ledger");
    net.tool(&["start", &number]).await;
    net.commit(4, &all).await;
    net.converged(&all).await;
    net.say(&format!(
        "{name}'s ledger on a tmpfs of {} MiB ({} KiB used)",
        TMPFS_BYTES >> 20,
        dir_bytes(&ledger) >> 10
    ));

    // RocksDB preallocates its write-ahead log when there is room: the node would then write
    // on into that space after the disk is full, and not meet the full disk for a long time.
    let wal = newest_wal(&ledger);
    let metadata = std::fs::metadata(&wal).expect("the write-ahead log");
    let allocated = std::os::unix::fs::MetadataExt::blocks(&metadata) * 512;
    assert!(
        allocated <= metadata.len() + (1 << 20),
        "{} is preallocated ({allocated} bytes for {}): the tmpfs of {TMPFS_BYTES} bytes must \
         leave less room than RocksDB preallocates (1.1 x the write buffer)",
        wal.display(),
        metadata.len()
    );

    // Load through every node; the disk fills up under it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let loading = tokio::spawn(load(
        net.client.clone(),
        net.next_nonce,
        stop.clone(),
        acked.clone(),
    ));
    let acked_count = || acked.lock().unwrap_or_else(|e| e.into_inner()).len();
    let deadline = Instant::now() + WAIT_MAX;
    while acked_count() < 4 {
        assert!(Instant::now() < deadline, "the load does not commit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let filler = ledger.join("filler");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&filler).expect("create the filler");
        let chunk = vec![0u8; 1 << 20];
        let mut full = false;
        for _ in 0..=(TMPFS_BYTES >> 20) {
            if let Err(error) = file.write_all(&chunk) {
                assert_eq!(error.raw_os_error(), Some(28), "filling: {error}");
                full = true;
                break;
            }
        }
        assert!(full, "the tmpfs never filled up");
    }
    net.say(&format!("{name}'s disk is full"));

    // It stops by itself, cleanly, saying why.
    net.wait_exit(victim).await;
    let stopped_with = acked_count();
    net.say(&format!("{name} stopped"));
    let log = net.log(victim);
    for needed in [
        "No space left on device",
        "stopping the node",
        "the disk holding the ledger is full: free space on it, then start the node again",
        "node stopped on an error",
    ] {
        assert!(
            log.contains(needed),
            "{name}'s log does not say {needed:?}:\n{}",
            tail(&log, 30)
        );
    }
    net.assert_no_panic();

    // The others commit on.
    let deadline = Instant::now() + WAIT_MAX;
    while acked_count() < stopped_with + 4 {
        assert!(
            Instant::now() < deadline,
            "the others do not commit without {name}\n{}",
            net.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Space freed and the node started again: it catches up under the load.
    std::fs::remove_file(&filler).expect("free the space");
    net.tool(&["start", &number]).await;
    let leader = net.leader(&all).await;
    let target = net.status(leader).await.expect("leader status").height;
    net.wait_status(victim, "it caught up", |s| s.height >= target)
        .await;
    net.say(&format!("{name} restarted and caught up to {target}"));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    net.next_nonce = loading
        .await
        .expect("load task")
        .unwrap_or_else(|e| panic!("{e}\n{}", net.log_tails()));
    net.acked
        .extend(acked.lock().unwrap_or_else(|e| e.into_inner()).drain(..));
    assert!(
        net.acked.iter().any(|a| a.node == victim),
        "{name} acknowledged none of the transactions, so none of its could be lost"
    );
    net.converged(&all).await;
    net.assert_acked_on(&all).await;
    net.assert_no_panic();
    net.say("done");
}

/// A node that catches up through a state snapshot finds every transaction by hash: the ones
/// of the snapshot's head block (issue 11: before, NOT_FOUND for good while `GetBlock` held
/// them) and the ones of the blocks it fills in behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_caught_up_by_snapshot_finds_every_transaction_by_hash() {
    let _serial = SERIAL.lock().await;
    // A checkpoint every 4 entries: a node down for a dozen blocks is behind the leader's log.
    let mut net = Net::up_with("disk-snapshot", Some("snapshot_interval = 4\n")).await;
    let all = [1, 2, 3, 4];
    net.commit(2, &all).await;
    let victim = net.follower().await;
    let others: Vec<usize> = all.into_iter().filter(|n| *n != victim).collect();
    net.tool(&["stop", &victim.to_string()]).await;
    net.commit(16, &others).await;
    net.say(&format!("node-{victim} stopped while 16 blocks committed"));
    net.tool(&["start", &victim.to_string()]).await;
    net.wait_status(victim, "installed a state snapshot", |s| {
        s.snapshots_installed > 0
    })
    .await;
    net.converged(&all).await;
    // Blocks behind the snapshot are filled in from peers in the background (from the top
    // down): wait (bounded) until the victim finds every acknowledged transaction, then check
    // every one on every node.
    let deadline = Instant::now() + WAIT_MAX;
    for acked in net.acked.clone() {
        while !net.holds(victim, &acked.hash).await {
            assert!(
                Instant::now() < deadline,
                "node-{victim} never found transaction {} (nonce {}, height {})\n{}",
                hex::encode(&acked.hash),
                acked.nonce,
                acked.height,
                net.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    net.assert_acked_on(&all).await;
    net.assert_no_panic();
}
