//! Multi-node clusters for the consensus tests: a dev cluster on loopback, started in this
//! process, and the reads and waits every cluster test needs.

use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vchain_node::config::NodeConfig;
use vchain_node::NodeHandle;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

pub async fn client(node: &NodeHandle) -> VchainApiClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", node.grpc_addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    VchainApiClient::new(channel)
}

pub async fn status(node: &NodeHandle) -> GetStatusResponse {
    client(node)
        .await
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner()
}

/// Waits (bounded) until every running node names the same leader, other than `not`; returns
/// its index.
pub async fn agreed_leader(nodes: &[Option<NodeHandle>], not: Option<usize>) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut leaders = Vec::new();
        for node in nodes.iter().flatten() {
            leaders.push(status(node).await.leader);
        }
        if let Some(first) = leaders.first() {
            if !first.is_empty() && leaders.iter().all(|l| l == first) {
                let index = first
                    .trim_start_matches("node-")
                    .parse::<usize>()
                    .expect("node-N")
                    - 1;
                if Some(index) != not {
                    return index;
                }
            }
        }
        assert!(Instant::now() < deadline, "no agreed leader: {leaders:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until every running node reports at least `height` with one state root.
pub async fn converged(nodes: &[Option<NodeHandle>], height: u64) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for node in nodes.iter().flatten() {
            let status = status(node).await;
            seen.push((status.height, status.state_root));
        }
        if seen.iter().all(|(h, _)| *h >= height) {
            let top = seen.iter().map(|(h, _)| *h).max().unwrap_or(0);
            if seen.iter().all(|(h, _)| *h == top) {
                let root = seen[0].1.clone();
                assert!(
                    seen.iter().all(|(_, r)| *r == root),
                    "same height, different state roots: {seen:?}"
                );
                return root;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nodes did not converge at {height}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn submit(
    node: &NodeHandle,
    chain_id: &str,
    signer: &str,
    key: &ed25519_dalek::SigningKey,
    operation: Operation,
) -> SubmitTransactionResponse {
    let nonce = next_nonce(node, signer).await;
    let mut api = client(node).await;
    let signed = transaction::sign(&transaction::body(chain_id, signer, nonce, operation), key);
    let response = api
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(signed),
            wait_for_commit: true,
            timeout_ms: 20_000,
        })
        .await
        .expect("committed")
        .into_inner();
    assert!(!response.pending, "not committed within 20 s: {response:?}");
    response
}

/// A fresh dev cluster of `n` raft nodes on loopback, all started.
pub async fn start_cluster(
    n: usize,
) -> (tempfile::TempDir, Vec<NodeConfig>, Vec<Option<NodeHandle>>) {
    start_cluster_with(n, |_| {}).await
}

/// A fresh dev cluster of `n` raft nodes, each config adjusted by `adjust`, all started.
pub async fn start_cluster_with(
    n: usize,
    adjust: impl Fn(&mut NodeConfig),
) -> (tempfile::TempDir, Vec<NodeConfig>, Vec<Option<NodeHandle>>) {
    start_engine_cluster("raft", n, adjust).await
}

/// A fresh dev cluster of `n` nodes of `engine`, each config adjusted by `adjust`, all
/// started.
pub async fn start_engine_cluster(
    engine: &str,
    n: usize,
    adjust: impl Fn(&mut NodeConfig),
) -> (tempfile::TempDir, Vec<NodeConfig>, Vec<Option<NodeHandle>>) {
    start_cluster_from_genesis(engine, n, |_| {}, adjust).await
}

/// A fresh dev cluster of `n` nodes of `engine` whose genesis is first adjusted by
/// `adjust_genesis` (e.g. to start on an older rules version), each config adjusted by
/// `adjust`, all started.
pub async fn start_cluster_from_genesis(
    engine: &str,
    n: usize,
    adjust_genesis: impl FnOnce(&mut vchain_contracts::genesis::Genesis),
    adjust: impl Fn(&mut NodeConfig),
) -> (tempfile::TempDir, Vec<NodeConfig>, Vec<Option<NodeHandle>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let mut configs = vchain_devnet::prepare_cluster(dir.path(), n, now, engine).expect("cluster");
    let genesis_path = dir.path().join("genesis.toml");
    let mut genesis = vchain_node::load_genesis(&genesis_path).expect("genesis");
    adjust_genesis(&mut genesis);
    genesis.state().expect("the adjusted genesis is valid");
    std::fs::write(
        &genesis_path,
        toml::to_string_pretty(&genesis).expect("genesis as TOML"),
    )
    .expect("write genesis");
    // The kernel picks each gRPC port when the node binds it (tests read `grpc_addr`): a port
    // chosen in advance can be taken by a parallel test before the node starts.
    for config in &mut configs {
        config.grpc_listen.set_port(0);
    }
    configs.iter_mut().for_each(adjust);
    let mut nodes = Vec::new();
    for config in &configs {
        nodes.push(Some(
            vchain_node::start(config.clone())
                .await
                .expect("node starts"),
        ));
    }
    (dir, configs, nodes)
}

/// The USCC of the identity owning dev account `account`.
pub fn uscc_of(genesis: &vchain_contracts::genesis::Genesis, account: &str) -> String {
    genesis
        .identities
        .iter()
        .find(|i| i.accounts.iter().any(|a| a.account_id == account))
        .expect("dev account")
        .uscc
        .clone()
}

/// The limit of `financier`'s credit line to the carmaker, as `node` reports it.
pub async fn carmaker_limit(
    node: &NodeHandle,
    genesis: &vchain_contracts::genesis::Genesis,
    financier: &str,
) -> u64 {
    client(node)
        .await
        .get_credit_line(super::audited(
            node,
            GetCreditLineRequest {
                financier: uscc_of(genesis, financier),
                core_enterprise: uscc_of(genesis, "carmaker"),
            },
            "GetCreditLine",
        ))
        .await
        .expect("line")
        .into_inner()
        .credit_line
        .expect("line")
        .limit
}

/// The signing key of dev account `name`.
pub fn dev_key(keystore: &Keystore, name: &str) -> ed25519_dalek::SigningKey {
    keystore
        .unlock(name, vchain_devnet::DEV_PASSPHRASE)
        .expect("dev key")
}

/// The next nonce of `account`, as `node` reports it.
pub async fn next_nonce(node: &NodeHandle, account: &str) -> u64 {
    client(node)
        .await
        .get_account(super::audited(
            node,
            GetAccountRequest {
                account_id: account.into(),
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

/// Bank A's finance account grants the carmaker a credit line of 1,000 CNY through `node`
/// (the dev parties' usual first write), committed.
pub async fn grant_carmaker_line(
    node: &NodeHandle,
    genesis: &vchain_contracts::genesis::Genesis,
    finance: &ed25519_dalek::SigningKey,
) -> SubmitTransactionResponse {
    let granted = submit(
        node,
        &genesis.chain_id,
        "bank-a-finance",
        finance,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: uscc_of(genesis, "carmaker"),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    assert!(granted.committed, "{granted:?}");
    granted
}

/// The proposal a submission opened.
pub fn proposal_id_of(response: &SubmitTransactionResponse) -> String {
    let result = response.result.as_ref().expect("result");
    assert_eq!(result.code(), ErrorCode::Ok, "{result:?}");
    result
        .events
        .iter()
        .find(|e| e.kind() == EventKind::ProposalSubmitted)
        .map(|e| e.proposal_id.clone())
        .expect("a PROPOSAL_SUBMITTED event")
}

pub async fn get_proposal(node: &NodeHandle, proposal_id: &str) -> GetProposalResponse {
    client(node)
        .await
        .get_proposal(super::audited(
            node,
            GetProposalRequest {
                proposal_id: proposal_id.into(),
            },
            "GetProposal",
        ))
        .await
        .expect("proposal")
        .into_inner()
}

/// Waits (bounded) until every running node reports exactly `voters`.
pub async fn voters_are(nodes: &[Option<NodeHandle>], voters: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for node in nodes.iter().flatten() {
            seen.push(status(node).await.voters);
        }
        if seen.iter().all(|v| v == voters) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "voters did not become {voters:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The commit certificate `node` serves for `height`, checked against `validators`.
pub async fn certificate_checked_by(
    node: &NodeHandle,
    chain_id: &str,
    validators: &vchain_contracts::commit_certificate::Validators,
    height: u64,
) -> CommitCertificate {
    let response = client(node)
        .await
        .get_block(super::audited(
            node,
            GetBlockRequest {
                selector: Some(get_block_request::Selector::Height(height)),
            },
            "GetBlock",
        ))
        .await
        .expect("block")
        .into_inner();
    let certificate = response.certificate.unwrap_or_else(|| {
        panic!(
            "block {height} on {} has no certificate",
            node.chain.config.node_id
        )
    });
    assert_eq!(certificate.height, height);
    assert_eq!(certificate.block_hash, response.block_hash);
    vchain_contracts::commit_certificate::verify(chain_id, validators, &certificate)
        .expect("the certificate verifies against the validators of its height");
    certificate
}
