//! No input stops a node (issue 10, §1), with real processes: four Raft nodes, and one
//! authenticated identity floods every one of them with transactions of the largest size the
//! chain allows, a nonce window at a time, on every node at once (so followers forward them to
//! the leader while the leader admits the same bytes itself). No node may stop, the chain must
//! keep committing until every flooded transaction is in a block, and every committed block's
//! encoding must fit the largest block the limits allow and the network frame.
//!
//! The default load is small for CI (a few windows, well under a minute once the cluster is up);
//! `VCHAIN_FLOOD_TXS=N` floods N transactions instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use prost::Message as _;
use tonic::transport::Channel;
use vchain_cli::keystore::Keystore;
use vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT;
use vchain_contracts::tx;
use vchain_node::config::NodeConfig;
use vchain_node::network::FRAME_BYTES_MAX;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;

const NODES: usize = 4;
/// The flooding identity's account (an administrator: it may sign any operation).
const FLOODER: &str = "bank-a-admin";
/// Transactions flooded by default (five nonce windows).
const FLOOD_TXS_DEFAULT: u64 = 5 * vchain_contracts::execute::NONCE_WINDOW;
/// The whole flood, however large, stops signing after this.
const FLOOD_WINDOW: Duration = Duration::from_secs(120);
/// Longest wait for one window to commit.
const WINDOW_DEADLINE: Duration = Duration::from_secs(30);

fn testnet(dir: &Path, args: &[&str]) -> (bool, String) {
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

async fn testnet_async(dir: &Path, args: &[&str]) -> (bool, String) {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        testnet(&dir, &args)
    })
    .await
    .expect("testnet task")
}

/// Takes the cluster down however the test ends; keeps the directory (node logs) on failure
/// or with `VCHAIN_KEEP_TESTNET`.
struct Testnet {
    dir: Option<tempfile::TempDir>,
    net: PathBuf,
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
                    "testnet kept for inspection: {}",
                    dir.keep().join("net").display()
                );
            }
        }
    }
}

async fn connect(endpoint: &str) -> VchainApiClient<Channel> {
    let channel = Channel::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{endpoint} is down: {e}"));
    VchainApiClient::new(channel)
        .max_decoding_message_size(vchain_node::GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(vchain_node::GRPC_MESSAGE_BYTES_MAX)
}

struct Auditor {
    chain_id: String,
    key: ed25519_dalek::SigningKey,
}

impl Auditor {
    fn read<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        vchain_cli::read::request_now(message, &self.chain_id, method, "regulator", &self.key)
    }
}

async fn next_nonce(api: &mut VchainApiClient<Channel>, auditor: &Auditor) -> u64 {
    api.get_account(auditor.read(
        GetAccountRequest {
            account_id: FLOODER.into(),
        },
        "GetAccount",
    ))
    .await
    .expect("account")
    .into_inner()
    .account
    .expect("account")
    .next_nonce
}

/// A transaction of exactly `size` encoded bytes: a freeze whose reason fills it (execution
/// refuses the over-long reason, which changes nothing but the nonce; admission and blocks
/// carry the full bytes).
fn largest(
    chain_id: &str,
    key: &ed25519_dalek::SigningKey,
    nonce: u64,
    size: usize,
) -> SignedTransaction {
    let sign = |reason_len: usize| {
        let operation = Operation::FreezeAccount(FreezeAccount {
            account_id: "castings".into(),
            reason: "x".repeat(reason_len),
        });
        tx::sign(&tx::body(chain_id, FLOODER, nonce, operation), key)
    };
    // Length prefixes grow with the reason: step down from above until it fits, then up
    // byte by byte while it still does (a prefix boundary may make `size` itself unreachable).
    let mut reason_len = size;
    let mut signed = sign(reason_len);
    while signed.encoded_len() > size {
        reason_len -= signed.encoded_len() - size;
        signed = sign(reason_len);
    }
    loop {
        let bigger = sign(reason_len + 1);
        if bigger.encoded_len() > size {
            return signed;
        }
        reason_len += 1;
        signed = bigger;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_largest_transactions_stops_no_node_and_every_block_fits_a_frame() {
    let flood_txs: u64 = std::env::var("VCHAIN_FLOOD_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FLOOD_TXS_DEFAULT);
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("flood-cluster")
        .tempdir()
        .expect("tempdir");
    let net = dir.path().join("net");
    let guard = Testnet {
        dir: Some(dir),
        net: net.clone(),
    };
    let (ok, text) = testnet_async(&net, &["up", "--nodes", &NODES.to_string()]).await;
    assert!(ok, "up failed: {text}");
    eprintln!("up in {:.1} s", started.elapsed().as_secs_f64());

    let endpoints: Vec<String> = (1..=NODES)
        .map(|n| {
            let config = NodeConfig::load(&net.join(format!("node-{n}")).join("config.toml"))
                .expect("node config");
            format!("http://{}", config.grpc_listen)
        })
        .collect();
    let keystore = Keystore::load_or_create(&net.join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
    let auditor = Auditor {
        chain_id: genesis.chain_id.clone(),
        key: keystore
            .unlock("regulator", vchain_node::dev::DEV_PASSPHRASE)
            .expect("regulator key"),
    };
    let key = keystore
        .unlock(FLOODER, vchain_node::dev::DEV_PASSPHRASE)
        .expect("flooder key");
    let mut apis = Vec::new();
    for endpoint in &endpoints {
        apis.push(connect(endpoint).await);
    }
    let status = apis[0]
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let tx_bytes = status.params.expect("params").tx_bytes_max as usize;
    let start_height = status.height;

    // The flood: a nonce window of the largest transactions, to every node at once, then the
    // next window once the chain has taken this one.
    let flood_started = Instant::now();
    let mut nonce = next_nonce(&mut apis[0], &auditor).await;
    let last_nonce = nonce + flood_txs - 1;
    let mut refused_codes = std::collections::BTreeMap::<String, usize>::new();
    while nonce <= last_nonce && flood_started.elapsed() < FLOOD_WINDOW {
        let window_end = (nonce + vchain_contracts::execute::NONCE_WINDOW - 1).min(last_nonce);
        let batch: Vec<SignedTransaction> = (nonce..=window_end)
            .map(|n| largest(&genesis.chain_id, &key, n, tx_bytes))
            .collect();
        assert!(batch
            .iter()
            .all(|t| (tx_bytes - 8..=tx_bytes).contains(&t.encoded_len())));
        let mut sends = Vec::new();
        for api in &apis {
            let mut api = api.clone();
            let transactions = batch.clone();
            sends.push(tokio::spawn(async move {
                api.submit_transactions(SubmitTransactionsRequest { transactions })
                    .await
                    .map(tonic::Response::into_inner)
            }));
        }
        for send in sends {
            let answer = send.await.expect("send task").expect("a node answers");
            for outcome in answer.outcomes {
                if !outcome.admitted {
                    *refused_codes
                        .entry(outcome.code().as_str_name().to_owned())
                        .or_default() += 1;
                }
            }
        }
        let deadline = Instant::now() + WINDOW_DEADLINE;
        loop {
            let next = next_nonce(&mut apis[0], &auditor).await;
            if next > window_end {
                nonce = next;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the chain stopped taking the flood at nonce {next} (window to {window_end})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!(
        "flooded {} transactions of {tx_bytes} bytes to {NODES} nodes in {:.1} s; \
         duplicates refused by code: {refused_codes:?}",
        nonce - (last_nonce + 1 - flood_txs),
        flood_started.elapsed().as_secs_f64()
    );
    assert!(
        nonce > last_nonce,
        "the flood did not finish within {FLOOD_WINDOW:?}"
    );

    // Every node still runs, at one height and state root, and no proposal was lost for good.
    let mut heads = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        heads.clear();
        for api in &mut apis {
            let status = api
                .get_status(GetStatusRequest {})
                .await
                .expect("every node still answers")
                .into_inner();
            heads.push((status.height, status.state_root, status.proposals_refused));
        }
        if heads.iter().all(|h| h.0 == heads[0].0 && h.1 == heads[0].1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nodes did not converge: {heads:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let head = heads[0].0;
    assert!(head > start_height, "the chain committed nothing");
    let (_, status_text) = testnet_async(&net, &["status"]).await;
    let running = status_text
        .lines()
        .filter(|l| l.starts_with("node-") && l.split_whitespace().count() == 6)
        .count();
    assert_eq!(running, NODES, "every node is running:\n{status_text}");

    // Every block fits the largest encoded block and the frame that carries it.
    let mut largest_block = 0;
    for height in start_height + 1..=head {
        let block = apis[0]
            .get_block(auditor.read(
                GetBlockRequest {
                    selector: Some(get_block_request::Selector::Height(height)),
                },
                "GetBlock",
            ))
            .await
            .expect("block")
            .into_inner()
            .block
            .expect("block");
        let size = block.encoded_len();
        largest_block = largest_block.max(size);
        assert!(
            size <= ENCODED_BLOCK_BYTES_LIMIT as usize && size < FRAME_BYTES_MAX,
            "block {height} is {size} bytes"
        );
    }
    eprintln!(
        "{} blocks, the largest {largest_block} bytes; proposals refused per node: {:?}; \
         whole test {:.1} s",
        head - start_height,
        heads.iter().map(|h| h.2).collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    drop(guard);
}
