//! `vchain-bench` against a real testnet whose leader is killed (SIGKILL) mid-run: the workers
//! whose node died, and those whose transactions were left pending by the election, send the
//! same transactions again to the other nodes, so the run ends with retries and no failed
//! worker; afterwards every transaction the chain acknowledged is on every live node
//! (`--verify-acked`), and the check fails when it should (a dead endpoint, an unknown hash).
//! The same under PBFT with four nodes (issue 13): the primary killed -9 under load, the others
//! change views, no acknowledged transaction is lost, and the killed node, restarted, catches
//! up by verifying certificates until all four are equal.
//!
//! The test lives with the bench (its binary is `CARGO_BIN_EXE_vchain-bench`); the testnet tool
//! is another package's binary, found next to it in the same target directory (`cargo test
//! --workspace` builds it; run alone, build it first: `cargo build --workspace --locked --bin
//! vchain-testnet`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RAFT_NODES: usize = 3;
/// PBFT needs 3f + 1 nodes to survive f faults: four survive one.
const PBFT_NODES: usize = 4;
/// Load accounts: two per node, so the killed node had workers on it.
const ACCOUNTS: usize = 6;
/// Seconds of load; the kill lands inside it.
const LOAD_SECS: u64 = 12;
/// Load time before the kill.
const BEFORE_KILL: Duration = Duration::from_secs(3);
/// What a node waits for a commit before answering pending: short, so a pending answer during
/// the election is seen and resent within the run.
const COMMIT_WAIT_MS: &str = "3000";
/// Longest the bench may take to set up (register and fund the accounts).
const SETUP_WAIT: Duration = Duration::from_secs(180);
/// Longest the whole bench run may take: load, plus the bench's own grace for settling what it
/// sent (60 s), plus a margin.
const RUN_WAIT: Duration = Duration::from_secs(LOAD_SECS + 60 + 60);

fn bench_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vchain-bench"))
}

fn testnet_binary() -> PathBuf {
    let path = bench_binary()
        .parent()
        .expect("the bench binary is in a directory")
        .join("vchain-testnet");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --workspace --locked --bin vchain-testnet)",
        path.display()
    );
    path
}

/// Runs the testnet tool on `net`; (success, stdout and stderr).
fn testnet(net: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(testnet_binary())
        .arg("--dir")
        .arg(net)
        .args(args)
        .output()
        .expect("run vchain-testnet");
    (output.status.success(), text(&output))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Running nodes in `status`: (node number, gRPC endpoint, leader).
fn running(status: &str) -> Vec<(usize, String, String)> {
    status
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() == 6 && fields[0].starts_with("node-")).then(|| {
                (
                    fields[0]
                        .trim_start_matches("node-")
                        .parse()
                        .expect("node-N"),
                    fields[2].to_owned(),
                    fields[4].to_owned(),
                )
            })
        })
        .collect()
}

/// Takes the testnet down however the test ends; keeps the directory (node logs) on failure.
struct Guard {
    dir: Option<tempfile::TempDir>,
    net: PathBuf,
    bench: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut bench) = self.bench.take() {
            let _ = bench.kill();
            let _ = bench.wait();
        }
        let (ok, out) = testnet(&self.net, &["down"]);
        if !ok {
            eprintln!("down failed: {out}");
        }
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "testnet kept for inspection: {} (node logs in node-N/node.log)",
                    dir.keep().join("net").display()
                );
            }
        }
    }
}

/// The number before `word` in the bench's summary line ("..., 0 failed, 12 retries ...").
fn count_before(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let at = words
        .iter()
        .position(|w| *w == word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    words[at - 1]
        .parse()
        .unwrap_or_else(|_| panic!("no count before {word:?} in {line:?}"))
}

fn verify(keystore: &Path, endpoints: &[String], acked: &Path) -> (bool, String) {
    let output = Command::new(bench_binary())
        .arg("--endpoints")
        .arg(endpoints.join(","))
        .arg("--keystore")
        .arg(keystore)
        .arg("--verify-acked")
        .arg(acked)
        .output()
        .expect("run vchain-bench --verify-acked");
    (output.status.success(), text(&output))
}

#[test]
fn bench_workers_resend_through_a_killed_leader_and_every_ack_is_kept() {
    survive_a_killed_leader("raft", RAFT_NODES);
}

#[test]
fn bench_workers_resend_through_a_killed_pbft_primary_and_every_ack_is_kept() {
    survive_a_killed_leader("pbft", PBFT_NODES);
}

/// Waits (bounded) until every node in `status` output runs at one height and state root.
fn all_equal(net: &Path, nodes: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = testnet(net, &["status"]).1;
        let rows: Vec<(String, String)> = status
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.len() == 6 && fields[0].starts_with("node-"))
                    .then(|| (fields[3].to_owned(), fields[5].to_owned()))
            })
            .collect();
        if rows.len() == nodes && rows.iter().all(|r| *r == rows[0]) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not converge:\n{status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn survive_a_killed_leader(consensus: &str, node_count: usize) {
    let dir = tempfile::Builder::new()
        .prefix("bench-faults")
        .tempdir()
        .expect("tempdir");
    let net = dir.path().join("net");
    let acked = dir.path().join("acked.txt");
    let mut guard = Guard {
        dir: Some(dir),
        net: net.clone(),
        bench: None,
    };
    let (ok, out) = testnet(
        &net,
        &[
            "up",
            "--nodes",
            &node_count.to_string(),
            "--consensus",
            consensus,
        ],
    );
    assert!(ok, "up failed: {out}");
    let nodes = running(&testnet(&net, &["status"]).1);
    assert_eq!(nodes.len(), node_count, "every node runs: {nodes:?}");
    let endpoints: Vec<String> = nodes.iter().map(|(_, e, _)| e.clone()).collect();
    let keystore = net.join("keystore.json");

    let mut bench = Command::new(bench_binary())
        .arg("--endpoints")
        .arg(endpoints.join(","))
        .arg("--keystore")
        .arg(&keystore)
        .args(["--accounts", &ACCOUNTS.to_string()])
        .args(["--duration-secs", &LOAD_SECS.to_string()])
        .args(["--commit-wait-ms", COMMIT_WAIT_MS])
        .arg("--acked-out")
        .arg(&acked)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vchain-bench");
    let (lines_in, lines) = mpsc::channel::<String>();
    let stdout = bench.stdout.take().expect("stdout");
    let stderr = bench.stderr.take().expect("stderr");
    let errors_in = lines_in.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_in.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = errors_in.send(format!("stderr: {line}"));
        }
    });
    guard.bench = Some(bench);
    let mut seen = Vec::new();
    let setup_deadline = Instant::now() + SETUP_WAIT;
    while !seen.iter().any(|l: &String| l.starts_with("setup:")) {
        let left = setup_deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "the bench did not finish its setup within {} s:\n{}",
                SETUP_WAIT.as_secs(),
                seen.join("\n")
            ),
        }
    }

    // Kill the leader inside the load: its workers' calls break, the others' wait through an
    // election.
    std::thread::sleep(BEFORE_KILL);
    let status = testnet(&net, &["status"]).1;
    let leader = running(&status)
        .first()
        .map(|(_, _, leader)| leader.clone())
        .filter(|l| l.starts_with("node-"))
        .unwrap_or_else(|| panic!("no leader named: {status}"));
    let killed: usize = leader.trim_start_matches("node-").parse().expect("node-N");
    let (ok, out) = testnet(&net, &["kill", &killed.to_string()]);
    assert!(ok, "kill {leader} failed: {out}");
    eprintln!("killed the leader {leader}");

    let run_deadline = Instant::now() + RUN_WAIT;
    let exit = loop {
        while let Ok(line) = lines.try_recv() {
            seen.push(line);
        }
        let bench = guard.bench.as_mut().expect("the bench runs");
        if let Some(exit) = bench.try_wait().expect("bench status") {
            break exit;
        }
        assert!(
            Instant::now() < run_deadline,
            "the bench did not end within {} s:\n{}",
            RUN_WAIT.as_secs(),
            seen.join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    guard.bench = None;
    // What the reader threads still hold (they end with the pipes).
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        seen.push(line);
    }
    let report = seen.join("\n");
    eprintln!("{report}");
    assert!(exit.success(), "the bench failed ({exit}):\n{report}");
    let summary = seen
        .iter()
        .find(|l| l.starts_with("load:"))
        .unwrap_or_else(|| panic!("no summary line:\n{report}"));
    assert_eq!(count_before(summary, "failed"), 0, "{summary}");
    assert!(
        count_before(summary, "retries") > 0,
        "no retries: {summary}"
    );
    let committed = count_before(summary, "committed");
    assert!(committed > 0, "{summary}");
    let listed = std::fs::read_to_string(&acked).expect("acked file");
    assert!(
        listed.lines().count() as u64 >= committed,
        "every committed load transaction (and the setup) is recorded: {} lines, {committed} committed",
        listed.lines().count()
    );

    // Every acknowledged transaction is on every live node.
    let live: Vec<String> = nodes
        .iter()
        .filter(|(n, _, _)| *n != killed)
        .map(|(_, e, _)| e.clone())
        .collect();
    let (ok, out) = verify(&keystore, &live, &acked);
    assert!(ok, "verify-acked on the live nodes failed:\n{out}");
    assert!(out.contains("verify-acked: OK"), "{out}");

    // And the check can fail: the dead node is unreachable, an unknown hash is missing.
    let (ok, out) = verify(&keystore, &endpoints, &acked);
    assert!(!ok, "a dead endpoint must fail the check:\n{out}");
    assert!(out.contains("UNREACHABLE"), "{out}");
    let with_unknown = acked.with_file_name("acked-and-unknown.txt");
    std::fs::write(&with_unknown, format!("{listed}{}\n", "ab".repeat(32))).expect("write");
    let (ok, out) = verify(&keystore, &live, &with_unknown);
    assert!(!ok, "an unknown hash must fail the check:\n{out}");
    assert!(
        out.contains(&format!("missing {}", "ab".repeat(32))),
        "{out}"
    );

    // The killed node restarts from its disk and catches up: all nodes equal, every
    // acknowledged transaction on it too.
    let (ok, out) = testnet(&net, &["start", &killed.to_string()]);
    assert!(ok, "restart failed: {out}");
    let status = all_equal(&net, node_count);
    eprintln!("{status}");
    let (ok, out) = verify(&keystore, &endpoints, &acked);
    assert!(
        ok,
        "verify-acked on every node after the restart failed:\n{out}"
    );
    drop(guard);
}
