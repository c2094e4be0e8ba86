//! `vchain-bench --workload transfer --in-flight 4 --report-dir DIR` against a real dev node
//! (`vchain-node dev`) with its metrics listener on: the run commits transactions with four in
//! flight per account and none failed, and the report names them, with the node's CPU and
//! memory read from its metrics, and a chart.
//!
//! The node binary is another package's, found next to the bench's in the same target
//! directory (`cargo test --workspace` builds it). A dev node has no metrics listener unless its
//! config says so: the test starts it once to create its data directory and config, stops it,
//! adds `[metrics] listen` to `config.toml` (which `dev` reuses) and starts it again.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a node may take to listen after it starts.
const NODE_START_WAIT: Duration = Duration::from_secs(60);
/// Longest the bench may take: setup, 1 s of warm-up and 5 s of load, settling.
const BENCH_WAIT: Duration = Duration::from_secs(120);

fn bench_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vchain-bench"))
}

fn node_binary() -> PathBuf {
    let path = bench_binary()
        .parent()
        .expect("the bench binary is in a directory")
        .join("vchain-node");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace --all-targets --locked --release)",
        path.display()
    );
    path
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
}

/// A node process, killed however the test ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_node(dir: &Path, grpc: SocketAddr) -> Node {
    let child = Command::new(node_binary())
        .args(["dev", "--data-dir"])
        .arg(dir)
        .args(["--grpc-listen", &grpc.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vchain-node dev");
    Node(child)
}

fn wait_for_listener(address: SocketAddr) {
    let deadline = Instant::now() + NODE_START_WAIT;
    while TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {address} after {NODE_START_WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The cells of the Markdown table row `offset` lines below the line starting with `header`.
fn row(report: &str, header: &str, offset: usize) -> Vec<String> {
    let lines: Vec<&str> = report.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no {header:?} in:\n{report}"));
    lines[at + offset]
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_owned())
        .collect()
}

#[test]
fn a_transfer_run_with_four_in_flight_writes_a_report_with_commits_and_no_failures() {
    let dir = tempfile::Builder::new()
        .prefix("bench-report")
        .tempdir()
        .expect("tempdir");
    let data = dir.path().join("node");
    let grpc = free_port();
    let metrics = free_port();

    // First start: the dev chain's keys, genesis and config.
    let node = start_node(&data, grpc);
    wait_for_listener(grpc);
    drop(node);
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("config.toml"))
        .expect("the dev config");
    write!(config, "\n[metrics]\nlisten = \"{metrics}\"\n").expect("add the metrics listener");
    drop(config);
    let _node = start_node(&data, grpc);
    wait_for_listener(grpc);
    wait_for_listener(metrics);

    let report_dir = dir.path().join("report");
    let mut bench = Command::new(bench_binary())
        .args(["--endpoints", &format!("http://{grpc}")])
        .arg("--keystore")
        .arg(data.join("keystore.json"))
        .args([
            "--workload",
            "transfer",
            "--in-flight",
            "4",
            "--accounts",
            "8",
        ])
        .args(["--warmup-secs", "1", "--duration-secs", "5"])
        .args(["--metrics-endpoints", &format!("http://{metrics}")])
        .arg("--report-dir")
        .arg(&report_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vchain-bench");
    let deadline = Instant::now() + BENCH_WAIT;
    while bench.try_wait().expect("bench status").is_none() {
        if Instant::now() > deadline {
            let _ = bench.kill();
            panic!("the bench did not end within {BENCH_WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = bench.wait_with_output().expect("bench output");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{printed}");
    assert!(output.status.success(), "the bench failed:\n{printed}");

    let report = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    assert!(
        report.starts_with("# vchain-bench: transfer workload"),
        "{report}"
    );
    assert!(report.contains("| in flight per account | 4 |"), "{report}");
    let figures = row(&report, "| committed transactions/s |", 2);
    let committed: u64 = figures[2].parse().expect("committed");
    let failed: u64 = figures[4].parse().expect("failed");
    assert!(committed > 0, "nothing committed:\n{report}");
    assert_eq!(failed, 0, "failed transactions:\n{report}");
    // The node was read: cores and memory, not dashes.
    let node = row(&report, &format!("| http://{metrics} |"), 0);
    assert_ne!(node[2], "-", "no CPU figure for the node:\n{report}");
    assert!(node[3].ends_with("MiB"), "no memory figure:\n{report}");

    let chart = std::fs::read_to_string(report_dir.join("report.svg")).expect("report.svg");
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert!(chart.contains("<polyline"), "no p99 line in the chart");
}
