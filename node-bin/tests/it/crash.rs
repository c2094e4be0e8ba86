//! kill -9 in the middle of a stream of commits: the node reopens at its last committed block,
//! with nothing half-applied, and every transaction it acknowledged as committed is still there.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

fn spawn_node(data_dir: &std::path::Path, addr: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vchain-node"))
        .args(["dev", "--data-dir"])
        .arg(data_dir)
        .args(["--grpc-listen", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vchain-node")
}

async fn connect(addr: SocketAddr) -> VchainApiClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
        {
            let mut client = VchainApiClient::new(channel);
            if client.get_status(GetStatusRequest {}).await.is_ok() {
                return client;
            }
        }
        assert!(Instant::now() < deadline, "node on {addr} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_committed_and_leaves_nothing_half_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = free_port();
    let mut child = spawn_node(dir.path(), addr);
    let mut api = connect(addr).await;
    let status = api
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let key = keystore
        .unlock("bank-a-finance", vchain_devnet::DEV_PASSPHRASE)
        .expect("key");
    let carmaker = {
        let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
        genesis
            .identities
            .iter()
            .find(|i| i.accounts.iter().any(|a| a.account_id == "carmaker"))
            .expect("carmaker")
            .uscc
            .clone()
    };
    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 1_000,
    });
    let signed = transaction::sign(
        &transaction::body(&status.chain_id, "bank-a-finance", 0, grant),
        &key,
    );
    api.submit_transaction(SubmitTransactionRequest {
        transaction: Some(signed),
        wait_for_commit: true,
        timeout_ms: 10_000,
    })
    .await
    .expect("grant");

    // Raise the line by 1 per transaction; count what the node acknowledged as committed.
    let mut acknowledged = 0u64;
    let mut nonce = 1;
    let killer = {
        let pid = child.id();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && nonce < 5_000 {
        let raise = Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        });
        let signed = transaction::sign(
            &transaction::body(&status.chain_id, "bank-a-finance", nonce, raise),
            &key,
        );
        match api
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(signed),
                wait_for_commit: true,
                timeout_ms: 5_000,
            })
            .await
        {
            Ok(response) if response.get_ref().committed => acknowledged += 1,
            _ => break,
        }
        nonce += 1;
    }
    killer.await.expect("killer");
    let _ = child.wait();
    assert!(acknowledged > 0, "some raises committed before the kill");

    // Reopen: the ledger checks its head against its state tree before serving.
    let addr = free_port();
    let mut child = spawn_node(dir.path(), addr);
    let mut api = connect(addr).await;
    let line = api
        .get_credit_line(audit_in(
            dir.path(),
            GetCreditLineRequest {
                financier: keystore_uscc(dir.path(), "bank-a-finance"),
                core_enterprise: carmaker.clone(),
            },
            "GetCreditLine",
        ))
        .await
        .expect("line")
        .into_inner()
        .credit_line
        .expect("line");
    let account = api
        .get_account(audit_in(
            dir.path(),
            GetAccountRequest {
                account_id: "bank-a-finance".into(),
            },
            "GetAccount",
        ))
        .await
        .expect("account")
        .into_inner()
        .account
        .expect("account");
    // Every committed raise is in the line, and the line and the nonce moved together (one batch).
    assert!(
        line.limit >= 1_000 + acknowledged,
        "limit {} lost acknowledged raises ({acknowledged})",
        line.limit
    );
    assert_eq!(
        line.limit - 1_000,
        account.next_nonce - 1,
        "credit line and nonce disagree: a block was half applied"
    );
    let head = api
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let block = api
        .get_block(audit_in(
            dir.path(),
            GetBlockRequest { selector: None },
            "GetBlock",
        ))
        .await
        .expect("head block")
        .into_inner();
    assert_eq!(
        block
            .block
            .expect("block")
            .header
            .expect("header")
            .state_root,
        head.state_root
    );
    child.kill().expect("stop node");
    let _ = child.wait();
}

fn keystore_uscc(dir: &std::path::Path, account: &str) -> String {
    let genesis = vchain_node::load_genesis(&dir.join("genesis.toml")).expect("genesis");
    let _ = Keystore::load_or_create(&dir.join("keystore.json"));
    genesis
        .identities
        .iter()
        .find(|i| i.accounts.iter().any(|a| a.account_id == account))
        .expect("identity")
        .uscc
        .clone()
}

/// A read of `method` signed by the dev regulator (an auditor) of the dev chain in `dir`.
fn audit_in<T: prost::Message>(
    dir: &std::path::Path,
    message: T,
    method: &str,
) -> tonic::Request<T> {
    let key = Keystore::load_or_create(&dir.join("keystore.json"))
        .expect("keystore")
        .unlock("regulator", vchain_devnet::DEV_PASSPHRASE)
        .expect("regulator key");
    vchain_wallet::read::request_now(message, "vchain-dev", method, "regulator", &key)
}
