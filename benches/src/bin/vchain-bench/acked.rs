//! The record of what the chain acknowledged, and the check that every node still holds it.
//!
//! `--acked-out FILE` appends the hex hash (SHA-256 of the signed body, as
//! `contracts::tx::tx_hash`) of every transaction a node acknowledged as committed, OK or
//! rejected by a rule, one per line, written as each acknowledgement arrives (so a bench
//! killed mid-run leaves what it had heard). `--verify-acked FILE` asks every endpoint for each
//! listed transaction (`GetTransaction`, a signed read) and reports per endpoint how many were
//! found and missing; it fails if any acknowledged transaction is missing anywhere, any
//! endpoint is unreachable or errs, or two nodes hold one transaction in different blocks.
//!
//! Owns: the file format and the verification. Must not depend on: the load (it runs alone).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use ed25519_dalek::SigningKey;
use tonic::transport::Channel;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::{GetStatusRequest, GetTransactionRequest};

/// Lookups one endpoint answers at a time during a verification.
const LOOKUPS_IN_FLIGHT_MAX: usize = 8;
/// Attempts per lookup (or status call) when the transport fails, before the endpoint counts
/// as erring.
const LOOKUP_ATTEMPTS_MAX: u32 = 3;
/// Wait between those attempts.
const LOOKUP_RETRY_WAIT: Duration = Duration::from_millis(300);
/// Longest one lookup may take before it counts as a transport failure.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Missing hashes listed per endpoint in the report (all are counted).
const MISSING_LISTED_MAX: usize = 10;
/// Most hashes a file may list: a verification is bounded like everything else.
pub(crate) const ACKED_HASHES_MAX: usize = 10_000_000;

/// Appends acknowledged transaction hashes to a file, one hex hash a line.
pub(crate) struct AckedLog {
    file: Mutex<std::fs::File>,
}

impl AckedLog {
    /// Opens `path` for appending (creating it).
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} to record acknowledgements", path.display()))?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Records one acknowledged transaction. One `write` per line, unbuffered, so what was
    /// heard is on disk even if the bench is killed.
    pub(crate) fn record(&self, hash: &[u8]) -> anyhow::Result<()> {
        let line = format!("{}\n", hex::encode(hash));
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .context("recording an acknowledged transaction")
    }
}

/// The distinct hashes listed in an acknowledgement file (blank lines skipped).
pub(crate) fn read_hashes(path: &Path) -> anyhow::Result<Vec<[u8; 32]>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hashes = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let hash: [u8; 32] = hex::decode(line)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .with_context(|| {
                format!(
                    "{} line {}: {line:?} is not a 64-digit hex transaction hash",
                    path.display(),
                    number + 1
                )
            })?;
        hashes.insert(hash);
        if hashes.len() > ACKED_HASHES_MAX {
            bail!(
                "{} lists more than {ACKED_HASHES_MAX} transactions",
                path.display()
            );
        }
    }
    Ok(hashes.into_iter().collect())
}

/// Who signs the verification's reads.
pub(crate) struct Reader {
    /// The account reading (an administrator or auditor may read every transaction).
    pub(crate) account: String,
    /// Its key.
    pub(crate) key: SigningKey,
}

/// Where a node holds a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placement {
    height: u64,
    block_hash: Vec<u8>,
}

/// What one endpoint answered.
enum EndpointReport {
    Unreachable(String),
    Answered {
        node_id: String,
        height: u64,
        found: BTreeMap<[u8; 32], Placement>,
        missing: Vec<[u8; 32]>,
        errors: Vec<String>,
    },
}

fn transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
    )
}

/// `Ok(None)` only for a definite "not committed here".
async fn lookup(
    client: &mut VchainApiClient<Channel>,
    chain_id: &str,
    reader: &Reader,
    hash: &[u8; 32],
) -> Result<Option<Placement>, String> {
    let mut last = String::new();
    for attempt in 1..=LOOKUP_ATTEMPTS_MAX {
        let request = vchain_wallet::read::request_now(
            GetTransactionRequest {
                tx_hash: hash.to_vec(),
            },
            chain_id,
            "GetTransaction",
            &reader.account,
            &reader.key,
        );
        let answer = tokio::time::timeout(LOOKUP_TIMEOUT, client.get_transaction(request))
            .await
            .unwrap_or_else(|_| {
                Err(tonic::Status::deadline_exceeded(format!(
                    "no answer within {} s",
                    LOOKUP_TIMEOUT.as_secs()
                )))
            });
        match answer {
            Ok(response) => {
                let response = response.into_inner();
                return Ok(Some(Placement {
                    height: response.height,
                    block_hash: response.block_hash,
                }));
            }
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => {
                last = format!("{:?}: {}", status.code(), status.message());
                if !transient(&status) || attempt == LOOKUP_ATTEMPTS_MAX {
                    break;
                }
                tokio::time::sleep(LOOKUP_RETRY_WAIT).await;
            }
        }
    }
    Err(last)
}

async fn check_endpoint(
    client: VchainApiClient<Channel>,
    chain_id: Arc<String>,
    reader: Arc<Reader>,
    hashes: Arc<Vec<[u8; 32]>>,
) -> EndpointReport {
    let mut status = Err(String::new());
    for attempt in 1..=LOOKUP_ATTEMPTS_MAX {
        let mut client = client.clone();
        status = tokio::time::timeout(LOOKUP_TIMEOUT, client.get_status(GetStatusRequest {}))
            .await
            .map_err(|_| format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs()))
            .and_then(|answer| {
                answer
                    .map(|r| r.into_inner())
                    .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
            });
        if status.is_ok() || attempt == LOOKUP_ATTEMPTS_MAX {
            break;
        }
        tokio::time::sleep(LOOKUP_RETRY_WAIT).await;
    }
    let status = match status {
        Ok(status) => status,
        Err(why) => return EndpointReport::Unreachable(why),
    };
    if status.chain_id != *chain_id {
        return EndpointReport::Unreachable(format!(
            "serves chain {}, not {chain_id}",
            status.chain_id
        ));
    }
    let mut tasks = Vec::new();
    let per_task = hashes.len().div_ceil(LOOKUPS_IN_FLIGHT_MAX).max(1);
    for part in 0..LOOKUPS_IN_FLIGHT_MAX {
        let (mut client, chain_id, reader, hashes) = (
            client.clone(),
            chain_id.clone(),
            reader.clone(),
            hashes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for hash in hashes.iter().skip(part * per_task).take(per_task) {
                answers.push((*hash, lookup(&mut client, &chain_id, &reader, hash).await));
            }
            answers
        }));
    }
    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(answers) => {
                for (hash, answer) in answers {
                    match answer {
                        Ok(Some(placement)) => {
                            found.insert(hash, placement);
                        }
                        Ok(None) => missing.push(hash),
                        Err(why) => errors.push(format!("{}: {why}", hex::encode(hash))),
                    }
                }
            }
            Err(error) => errors.push(format!("a lookup task failed: {error}")),
        }
    }
    EndpointReport::Answered {
        node_id: status.node_id,
        height: status.height,
        found,
        missing,
        errors,
    }
}

/// Checks every hash in `hashes` on every endpoint of `clients` (named by `endpoints`); prints
/// a line per endpoint and a verdict. Fails unless every endpoint answered and holds every
/// transaction, each in the same block everywhere.
pub(crate) async fn verify(
    endpoints: &[String],
    clients: &[VchainApiClient<Channel>],
    chain_id: &str,
    reader: Reader,
    hashes: Vec<[u8; 32]>,
) -> anyhow::Result<()> {
    let (chain_id, reader, hashes) = (
        Arc::new(chain_id.to_owned()),
        Arc::new(reader),
        Arc::new(hashes),
    );
    println!(
        "verify-acked: {} acknowledged transactions on {} endpoints",
        hashes.len(),
        endpoints.len()
    );
    let mut checks = Vec::new();
    for client in clients {
        checks.push(tokio::spawn(check_endpoint(
            client.clone(),
            chain_id.clone(),
            reader.clone(),
            hashes.clone(),
        )));
    }
    let mut problems = Vec::new();
    // The first placement seen of each transaction, and which endpoint reported it.
    let mut placements: BTreeMap<[u8; 32], (Placement, &str)> = BTreeMap::new();
    for (endpoint, check) in endpoints.iter().zip(checks) {
        let report = check
            .await
            .unwrap_or_else(|e| EndpointReport::Unreachable(format!("check failed: {e}")));
        match report {
            EndpointReport::Unreachable(why) => {
                println!("  {endpoint}: UNREACHABLE ({why})");
                problems.push(format!("{endpoint} unreachable"));
            }
            EndpointReport::Answered {
                node_id,
                height,
                found,
                missing,
                errors,
            } => {
                println!(
                    "  {endpoint} ({node_id}, height {height}): {} found, {} missing, {} errors",
                    found.len(),
                    missing.len(),
                    errors.len()
                );
                for hash in missing.iter().take(MISSING_LISTED_MAX) {
                    println!("    missing {}", hex::encode(hash));
                }
                for error in errors.iter().take(MISSING_LISTED_MAX) {
                    println!("    error {error}");
                }
                if !missing.is_empty() {
                    problems.push(format!(
                        "{endpoint} misses {} acknowledged transactions",
                        missing.len()
                    ));
                }
                if !errors.is_empty() {
                    problems.push(format!("{endpoint} erred on {} lookups", errors.len()));
                }
                for (hash, placement) in found {
                    match placements.get(&hash) {
                        None => {
                            placements.insert(hash, (placement, endpoint));
                        }
                        Some((first, first_endpoint)) if *first != placement => {
                            println!(
                                "    {} at height {} in block {} here, at {} in block {} on {first_endpoint}",
                                hex::encode(hash),
                                placement.height,
                                hex::encode(&placement.block_hash),
                                first.height,
                                hex::encode(&first.block_hash)
                            );
                            problems.push(format!(
                                "{} is in different blocks on {endpoint} and {first_endpoint}",
                                hex::encode(hash)
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        println!(
            "verify-acked: OK: every one of {} acknowledged transactions is on every endpoint, in the same block",
            hashes.len()
        );
        return Ok(());
    }
    bail!("verify-acked FAILED: {}", problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_refuses_what_is_not_a_hash() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("acked.txt");
        let log = AckedLog::open(&path).expect("open");
        log.record(&[1; 32]).expect("record");
        log.record(&[2; 32]).expect("record");
        log.record(&[1; 32]).expect("record again");
        drop(log);
        // Appending: a second run adds to the same file.
        AckedLog::open(&path)
            .expect("reopen")
            .record(&[3; 32])
            .expect("record");
        assert_eq!(
            read_hashes(&path).expect("read"),
            vec![[1; 32], [2; 32], [3; 32]]
        );
        std::fs::write(&path, format!("{}\n\nnot-a-hash\n", hex::encode([1; 32]))).expect("write");
        let error = read_hashes(&path)
            .expect_err("a bad line is refused")
            .to_string();
        assert!(error.contains("line 3"), "{error}");
    }
}
