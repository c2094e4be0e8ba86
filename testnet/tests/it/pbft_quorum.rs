//! A PBFT consortium of four real processes loses its quorum (issue 13): with two nodes killed
//! (SIGKILL), a transaction is admitted but never acknowledged as committed and no block is
//! made; when one node returns the chain resumes and commits it, and when the last returns it
//! catches up by certified blocks until all four are equal.

use crate::common;

use std::time::{Duration, Instant};

use common::load::{next_nonce, submit_waiting, try_connect, Auditor};
use common::*;
use vchain_node::config::NodeConfig;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

/// Waits (bounded) until `expected` nodes run at one height (at least `height`) and one root.
fn equal(net: &std::path::Path, expected: usize, height: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, status) = testnet(net, &["status"]);
        let running = rows(&status);
        if running.len() == expected
            && running[0].1 >= height
            && running
                .iter()
                .all(|r| r.1 == running[0].1 && r.3 == running[0].3)
        {
            return running[0].1;
        }
        assert!(Instant::now() < deadline, "nodes not equal: {status}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_of_four_pbft_nodes_killed_nothing_is_acknowledged_until_one_returns() {
    let dir = tempfile::Builder::new()
        .prefix("pbft-quorum")
        .tempdir()
        .expect("tempdir");
    let net = dir.path().join("net");
    let _guard = Testnet {
        dir: Some(dir),
        net: net.clone(),
    };
    let (ok, text) = testnet_async(&net, &["up", "--nodes", "4", "--consensus", "pbft"]).await;
    assert!(ok, "up failed: {text}");
    assert!(text.contains("testnet of 4 pbft nodes up"), "{text}");
    let endpoint = |n: usize| {
        let config = NodeConfig::load(&net.join(format!("node-{n}")).join("config.toml"))
            .expect("node config");
        format!("http://{}", config.grpc_listen)
    };
    let keystore = Keystore::load_or_create(&net.join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
    let auditor = Auditor {
        chain_id: genesis.chain_id.clone(),
        key: keystore
            .unlock("regulator", vchain_devnet::DEV_PASSPHRASE)
            .expect("regulator"),
    };
    let finance = keystore
        .unlock("bank-a-finance", vchain_devnet::DEV_PASSPHRASE)
        .expect("key");
    let carmaker = genesis
        .identities
        .iter()
        .find(|i| i.accounts.iter().any(|a| a.account_id == "carmaker"))
        .expect("carmaker")
        .uscc
        .clone();
    let mut api = try_connect(&endpoint(1), Duration::from_secs(30))
        .await
        .expect("node-1");
    let nonce = next_nonce(&mut api, &auditor, "bank-a-finance").await;
    let sign = |nonce: u64, operation: Operation| {
        transaction::sign(
            &transaction::body(&genesis.chain_id, "bank-a-finance", nonce, operation),
            &finance,
        )
    };
    let grant = sign(
        nonce,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    );
    let granted = submit_waiting(&endpoint(1), &grant, 20_000, Duration::from_secs(30))
        .await
        .expect("granted");
    assert!(granted.committed, "{granted:?}");
    let height = equal(&net, 4, granted.height);

    // Two of four killed: three are needed.
    for n in ["3", "4"] {
        let (ok, text) = testnet_async(&net, &["kill", n]).await;
        assert!(ok, "kill {n}: {text}");
    }
    let raise = sign(
        nonce + 1,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 5,
        }),
    );
    let waiting = submit_waiting(&endpoint(1), &raise, 5_000, Duration::from_secs(30))
        .await
        .expect("admitted");
    assert!(
        waiting.pending && !waiting.committed,
        "acknowledged without a quorum: {waiting:?}"
    );
    let (_, status) = testnet_async(&net, &["status"]).await;
    assert!(
        rows(&status).iter().all(|r| r.1 == height),
        "a block without a quorum: {status}"
    );

    // One returns: the chain resumes and the waiting transaction commits.
    let (ok, text) = testnet_async(&net, &["start", "3"]).await;
    assert!(ok, "start 3: {text}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let committed = loop {
        let answer = submit_waiting(&endpoint(1), &raise, 5_000, Duration::from_secs(30)).await;
        if let Ok(answer) = answer {
            if answer.committed {
                break answer;
            }
        }
        assert!(Instant::now() < deadline, "the chain did not resume");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(committed.height > height);

    // The last returns and catches up by certified blocks: all four equal.
    let (ok, text) = testnet_async(&net, &["start", "4"]).await;
    assert!(ok, "start 4: {text}");
    tokio::task::spawn_blocking({
        let net = net.clone();
        move || equal(&net, 4, committed.height)
    })
    .await
    .expect("converged");
}
