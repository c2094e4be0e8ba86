//! What the testnet tests share: running the `vchain-testnet` tool and reading its status.
#![allow(dead_code, unreachable_pub)]

pub mod load;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the testnet tool; blocking.
pub fn testnet(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vchain-testnet"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run vchain-testnet");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The tool blocks (`kill` waits for the process to go), so it must not hold a runtime worker
/// that the submitters need.
pub async fn testnet_async(dir: &Path, args: &[&str]) -> (bool, String) {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        testnet(&dir, &args)
    })
    .await
    .expect("testnet task")
}

/// Status rows of running nodes: (node, height, leader, state root).
pub fn rows(status: &str) -> Vec<(String, u64, String, String)> {
    status
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() == 6 && fields[0].starts_with("node-")).then(|| {
                (
                    fields[0].to_owned(),
                    fields[3].parse().unwrap_or(0),
                    fields[4].to_owned(),
                    fields[5].to_owned(),
                )
            })
        })
        .collect()
}

/// Owns the testnet directory and takes the cluster down however the test ends. On a failure
/// (or with `VCHAIN_KEEP_TESTNET` set) the directory is kept, because the node logs in it are
/// the evidence.
pub struct Testnet {
    pub dir: Option<tempfile::TempDir>,
    pub net: PathBuf,
}

impl Drop for Testnet {
    fn drop(&mut self) {
        let (ok, text) = testnet(&self.net, &["down"]);
        if !ok {
            eprintln!("down failed: {text}");
        }
        if std::thread::panicking() || std::env::var_os("VCHAIN_KEEP_TESTNET").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "testnet kept for inspection: {} (node logs in node-N/node.log)",
                    dir.keep().join("net").display()
                );
            }
        }
    }
}
