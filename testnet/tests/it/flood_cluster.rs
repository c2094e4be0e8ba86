//! No input stops a node (issue 10, §1), with real processes: four Raft nodes, and one
//! authenticated identity (bank A's administrator, with the most accounts an identity may have)
//! floods every one of them with transactions of the largest size the chain allows, a nonce
//! window per account at a time, on every node at once (so followers forward them to the
//! leader while the leader admits the same bytes itself). That is 16 MiB waiting, so the leader
//! cuts blocks of the full `block_bytes_max` (8 MiB of transactions), which a 4 MiB network
//! frame could not carry. No node may stop, the chain must keep committing until every flooded
//! transaction is in a block, and every committed block's encoding must fit the largest block
//! the limits allow and the network frame.
//!
//! The default load is one window (1 024 transactions, well under a minute once the cluster is
//! up); `VCHAIN_FLOOD_WINDOWS=N` floods N windows.

use crate::common;

use common::load::{admit_all, connect, largest, next_nonce, Auditor};
use common::*;
use std::time::{Duration, Instant};

use prost::Message as _;
use vchain_contracts::execute::NONCE_WINDOW;
use vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT;
use vchain_node::config::NodeConfig;
use vchain_node::network::FRAME_BYTES_MAX;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

const NODES: usize = 4;
/// The flooding identity's first account (an administrator: it may sign any operation).
const FLOODER: &str = "bank-a-admin";
/// Accounts of the flooding identity: its own and those it registers, up to the most one
/// identity may hold.
const FLOOD_ACCOUNTS: usize = 16;
/// Nonce windows flooded by default.
const FLOOD_WINDOWS_DEFAULT: u64 = 1;
/// The whole flood, however large, stops signing after this.
const FLOOD_WINDOW: Duration = Duration::from_secs(120);
/// Longest wait for one window to commit.
const WINDOW_DEADLINE: Duration = Duration::from_secs(60);
const DAY_MS: u64 = 86_400_000;
/// The nodes' block interval during the flood.
const BLOCK_INTERVAL_MS: u64 = 4_000;
/// The network frame before issue 10: an 8 MiB block did not fit it.
const OLD_FRAME_BYTES: usize = 4 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_largest_transactions_stops_no_node_and_every_block_fits_a_frame() {
    let windows: u64 = std::env::var("VCHAIN_FLOOD_WINDOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FLOOD_WINDOWS_DEFAULT);
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
    // Blocks every few seconds instead of every 100 ms, so the whole flood waits in the
    // leader's mempool when it cuts: blocks of the full 8 MiB of transactions.
    let (ok, text) = testnet_async(&net, &["down"]).await;
    assert!(ok, "down failed: {text}");
    for node in 1..=NODES {
        let path = net.join(format!("node-{node}")).join("config.toml");
        let config = std::fs::read_to_string(&path).expect("node config");
        // Group commit too: once the setup's blocks carried transactions, the leader would
        // otherwise cut the flood into blocks as it arrives.
        let slow = config
            .replace(
                "\nblock_interval_ms = 100\n",
                &format!("\nblock_interval_ms = {BLOCK_INTERVAL_MS}\n"),
            )
            .replace(
                "\nblock_interval_min_ms = 10\n",
                &format!("\nblock_interval_min_ms = {BLOCK_INTERVAL_MS}\n"),
            );
        assert!(
            slow.contains(&format!("\nblock_interval_ms = {BLOCK_INTERVAL_MS}\n"))
                && slow.contains(&format!("\nblock_interval_min_ms = {BLOCK_INTERVAL_MS}\n")),
            "the testnet's block intervals moved: {config}"
        );
        std::fs::write(&path, slow).expect("node config written");
        let (ok, text) = testnet_async(&net, &["start", &node.to_string()]).await;
        assert!(ok, "start failed: {text}");
    }
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
            .unlock("regulator", vchain_devnet::DEV_PASSPHRASE)
            .expect("regulator key"),
    };
    let mut apis = Vec::new();
    for endpoint in &endpoints {
        apis.push(connect(endpoint).await);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let mut leaders = Vec::new();
        for api in &mut apis {
            leaders.push(
                api.get_status(GetStatusRequest {})
                    .await
                    .map(|s| s.into_inner()),
            );
        }
        let first = leaders[0].as_ref().ok().map(|s| s.leader.clone());
        if first.as_ref().is_some_and(|l| !l.is_empty())
            && leaders
                .iter()
                .all(|s| s.as_ref().ok().map(|s| s.leader.clone()) == first)
        {
            break leaders.remove(0).expect("status");
        }
        assert!(Instant::now() < deadline, "no agreed leader: {leaders:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let tx_bytes = status.params.expect("params").tx_bytes_max as usize;

    // The identity's accounts: its administrator account and 15 more, certified by bank A's CA.
    let admin_key = keystore
        .unlock(FLOODER, vchain_devnet::DEV_PASSPHRASE)
        .expect("flooder key");
    let ca_pem = std::fs::read_to_string(vchain_devnet::ca_certificate_path(&net, "bank-a"))
        .expect("bank A's CA certificate");
    let ca = vchain_pki::RootCa::from_parts(
        vchain_pki::Certificate::from_pem(&ca_pem).expect("CA certificate"),
        keystore
            .unlock("bank-a-ca", vchain_devnet::DEV_PASSPHRASE)
            .expect("bank A's CA key"),
    )
    .expect("bank A's CA");
    let uscc = genesis
        .organisations
        .iter()
        .find(|o| o.org_id == "bank-a")
        .expect("bank A")
        .uscc
        .clone();
    let now_ms = vchain_wallet::time::now_ms();
    let mut accounts = vec![(FLOODER.to_owned(), admin_key.clone())];
    let mut registrations = Vec::new();
    let first = next_nonce(&mut apis[0], &auditor, FLOODER).await;
    for i in 1..FLOOD_ACCOUNTS {
        let account_id = format!("bank-a-flood-{i}");
        let key = ed25519_dalek::SigningKey::from_bytes(&[100 + i as u8; 32]);
        let certificate = ca
            .issue(
                &vchain_pki::Subject {
                    organisation: "bank-a".into(),
                    common_name: account_id.clone(),
                    role: vchain_contracts::cert_role(Role::Administrator).expect("a role"),
                },
                key.verifying_key().as_bytes(),
                vchain_pki::Validity {
                    not_before_ms: now_ms - DAY_MS,
                    not_after_ms: now_ms + 30 * DAY_MS,
                },
            )
            .expect("certificate");
        let operation = Operation::RegisterAccount(RegisterAccount {
            uscc: uscc.clone(),
            account_id: account_id.clone(),
            public_key: key.verifying_key().to_bytes().to_vec(),
            certificate: certificate.as_der().to_vec(),
        });
        registrations.push(transaction::sign(
            &transaction::body(&genesis.chain_id, FLOODER, first + i as u64 - 1, operation),
            &admin_key,
        ));
        accounts.push((account_id, key));
    }
    admit_all(&mut apis[0], registrations).await;
    let deadline = Instant::now() + WINDOW_DEADLINE;
    while next_nonce(&mut apis[0], &auditor, FLOODER).await < first + FLOOD_ACCOUNTS as u64 - 1 {
        assert!(
            Instant::now() < deadline,
            "the registrations did not commit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (account, _) in &accounts {
        let mut api = apis[0].clone();
        let found = api
            .get_account(auditor.read(
                GetAccountRequest {
                    account_id: account.clone(),
                },
                "GetAccount",
            ))
            .await;
        assert!(found.is_ok(), "{account} was not registered: {found:?}");
    }
    let start_height = apis[0]
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner()
        .height;
    eprintln!(
        "{FLOOD_ACCOUNTS} accounts of one identity ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The flood: for every account a nonce window of the largest transactions, to every node
    // at once (one request per account and node: 64 transactions, 1 MiB), then the next
    // window once the chain has taken this one.
    let flood_started = Instant::now();
    let mut nonces = Vec::new();
    for (account, _) in &accounts {
        nonces.push(next_nonce(&mut apis[0], &auditor, account).await);
    }
    let mut flooded = 0u64;
    let mut refused_codes = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..windows {
        if flood_started.elapsed() > FLOOD_WINDOW {
            break;
        }
        let mut sends = Vec::new();
        for ((account, key), nonce) in accounts.iter().zip(&nonces) {
            let batch: Vec<SignedTransaction> = (*nonce..nonce + NONCE_WINDOW)
                .map(|n| largest(&genesis.chain_id, account, key, n, tx_bytes))
                .collect();
            assert!(batch
                .iter()
                .all(|t| (tx_bytes - 8..=tx_bytes).contains(&t.encoded_len())));
            flooded += batch.len() as u64;
            for api in &apis {
                let mut api = api.clone();
                let transactions = batch.clone();
                sends.push(tokio::spawn(async move {
                    api.submit_transactions(SubmitTransactionsRequest { transactions })
                        .await
                        .map(tonic::Response::into_inner)
                }));
            }
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
        for ((account, _), nonce) in accounts.iter().zip(nonces.iter_mut()) {
            let window_end = *nonce + NONCE_WINDOW;
            loop {
                let next = next_nonce(&mut apis[0], &auditor, account).await;
                if next >= window_end {
                    *nonce = next;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the chain stopped taking the flood: {account} at nonce {next}, window to \
                     {window_end}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    eprintln!(
        "flooded {flooded} transactions of {tx_bytes} bytes to {NODES} nodes in {:.1} s; \
         refused as duplicates by code: {refused_codes:?}",
        flood_started.elapsed().as_secs_f64()
    );
    assert!(
        flooded > 0,
        "the flood did not start within {FLOOD_WINDOW:?}"
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
    // The point of the flood: blocks that did not fit the old 4 MiB frame were committed.
    assert!(
        largest_block > OLD_FRAME_BYTES,
        "the flood made no block above {OLD_FRAME_BYTES} bytes (largest {largest_block})"
    );
    drop(guard);
}
