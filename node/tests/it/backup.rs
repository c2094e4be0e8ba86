//! Backups and restores (issue 15): a backup of a running node taken through its admin socket
//! while it commits, every way a damaged or foreign backup is refused before anything is
//! written, and a Raft node whose disk is lost coming back from its backup under a new node id
//! while the chain is under load, then converging with the others and voting.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vchain_node::backup::{restore, BackupError, Manifest, RestoreOptions};
use vchain_node::config::NodeConfig;
use vchain_node::NodeHandle;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;

use common::cluster::{
    converged, dev_key, grant_carmaker_line, proposal_id_of, start_cluster, status, submit,
    uscc_of, voters_are,
};
use common::TestNode;

/// `config` with its data directory moved to `data_dir` (the genesis file stays where it is).
fn config_in(config: &NodeConfig, data_dir: &Path) -> NodeConfig {
    let mut moved = config.clone();
    moved.data_dir = data_dir.to_path_buf();
    moved
}

async fn backup_of(node: &NodeHandle, out: &Path) -> BackupResponse {
    let socket = node.admin_socket.as_ref().expect("admin socket");
    vchain_node::admin::request_backup(socket, out)
        .await
        .expect("backup taken")
}

/// Restores `backup` with `options` and expects the refusal `code`, with nothing written.
fn refused(config: &NodeConfig, backup: &Path, options: RestoreOptions, code: &str) -> String {
    let error: BackupError =
        restore(config, backup, options).expect_err("a bad backup must be refused");
    assert_eq!(error.code(), code, "{error}");
    assert!(
        !config.ledger_dir().exists() && !config.data_dir.join("ledger.restoring").exists(),
        "a refused restore wrote a ledger"
    );
    error.to_string()
}

/// A copy of `backup` in `dir/name`, changed by `change` (given the copy's path).
fn tampered(backup: &Path, dir: &Path, name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let copy = dir.join(name);
    common::copy_dir(backup, &copy);
    change(&copy);
    copy
}

fn rewrite_manifest(backup: &Path, change: impl FnOnce(&mut Manifest)) {
    let mut manifest = Manifest::read(backup).expect("manifest");
    change(&mut manifest);
    std::fs::write(
        backup.join("manifest.json"),
        serde_json::to_string(&manifest).expect("json"),
    )
    .expect("write manifest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_taken_online_and_a_damaged_or_foreign_one_is_refused_before_any_write() {
    let mut node = TestNode::start().await;
    let created = node.grant_and_issue(10_000, 1_000, 90, "INV-BACKUP").await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let backup = scratch.path().join("backup");
    let taken = backup_of(node.node.as_ref().expect("running"), &backup).await;
    let manifest = Manifest::read(&backup).expect("manifest");
    assert_eq!(manifest.height, taken.height);
    assert_eq!(hex::encode(&taken.state_root), manifest.state_root);
    assert_eq!(manifest.node_id, node.config.node_id);
    assert_eq!(manifest.chain_id, node.genesis.chain_id);
    assert!(
        manifest.files.iter().any(|f| f.name == "CURRENT"),
        "{manifest:?}"
    );
    assert_eq!(taken.files as usize, manifest.files.len());
    // The node kept committing: the head moves on past the backup.
    node.ok("gearbox", common::split(&created, &[400, 600]))
        .await;
    let after = node.status().await;
    assert!(after.height > manifest.height);

    // A backup never overwrites a directory.
    let socket = node
        .node
        .as_ref()
        .and_then(|n| n.admin_socket.clone())
        .expect("socket");
    let again = vchain_node::admin::request_backup(&socket, &backup)
        .await
        .expect_err("the directory exists");
    assert!(
        again.to_string().contains("BACKUP_TARGET_EXISTS"),
        "{again}"
    );

    // Restores into fresh data directories, none of which may end up with a ledger.
    let target = |name: &str| config_in(&node.config, &scratch.path().join(name));
    let as_follower = RestoreOptions { as_follower: true };
    let why = refused(
        &target("same-id"),
        &backup,
        RestoreOptions::default(),
        "BACKUP_SAME_IDENTITY",
    );
    assert!(why.contains("--as-follower"), "{why}");
    let flipped = tampered(&backup, scratch.path(), "flipped", |copy| {
        let table = Manifest::read(copy)
            .expect("manifest")
            .files
            .into_iter()
            .find(|f| f.name.ends_with(".sst"))
            .expect("a table file");
        let path = copy.join("ledger").join(&table.name);
        let mut bytes = std::fs::read(&path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, bytes).expect("write");
    });
    let why = refused(&target("t1"), &flipped, as_follower, "BACKUP_FILE_MISMATCH");
    assert!(why.contains("SHA-256"), "{why}");
    let missing = tampered(&backup, scratch.path(), "missing", |copy| {
        std::fs::remove_file(copy.join("ledger").join("CURRENT")).expect("remove");
    });
    let why = refused(&target("t2"), &missing, as_follower, "BACKUP_FILE_MISMATCH");
    assert!(why.contains("missing"), "{why}");
    let extra = tampered(&backup, scratch.path(), "extra", |copy| {
        std::fs::write(copy.join("ledger").join("000999.sst"), b"not a table").expect("write");
    });
    refused(&target("t3"), &extra, as_follower, "BACKUP_FILE_MISMATCH");
    let lying = tampered(&backup, scratch.path(), "lying", |copy| {
        rewrite_manifest(copy, |m| m.height += 1);
    });
    refused(&target("t4"), &lying, as_follower, "BACKUP_HEAD_MISMATCH");
    let future = tampered(&backup, scratch.path(), "future", |copy| {
        rewrite_manifest(copy, |m| m.format = 2);
    });
    refused(
        &target("t5"),
        &future,
        as_follower,
        "BACKUP_FORMAT_UNSUPPORTED",
    );
    let garbled = tampered(&backup, scratch.path(), "garbled", |copy| {
        std::fs::write(copy.join("manifest.json"), b"{\"format\": 1").expect("write");
    });
    refused(
        &target("t6"),
        &garbled,
        as_follower,
        "BACKUP_MANIFEST_INVALID",
    );
    // Another chain's node: a dev chain made a moment later has another genesis.
    let other = TestNode::start().await;
    let foreign = config_in(&other.config, &scratch.path().join("t7"));
    refused(&foreign, &backup, as_follower, "BACKUP_WRONG_CHAIN");
    other.stop().await;
    // A data directory that holds a ledger is never overwritten.
    let live = restore(&node.config, &backup, as_follower).expect_err("a ledger is there");
    assert_eq!(live.code(), "BACKUP_TARGET_EXISTS", "{live}");

    // The intact backup restores, and a node started on it serves the backup's head and state.
    let restored_config = target("restored");
    let report = restore(&restored_config, &backup, as_follower).expect("restores");
    assert_eq!(report.manifest, manifest);
    assert!(
        !report.as_follower,
        "a solo chain has nobody to follow: it produces again from the backup's head"
    );
    let mut restored_config = restored_config;
    restored_config.grpc_listen = "127.0.0.1:0".parse().expect("address");
    restored_config.dev_api = false;
    let restored = vchain_node::start(restored_config)
        .await
        .expect("starts on the restored ledger");
    let head = restored.chain.ledger.head().expect("head").expect("a head");
    assert!(head.height >= manifest.height);
    let block = restored
        .chain
        .ledger
        .block(manifest.height)
        .expect("read")
        .expect("the backup's head block");
    assert_eq!(
        hex::encode(vchain_contracts::block::block_hash(
            block.header.as_ref().expect("header")
        )),
        manifest.block_hash
    );
    restored.shutdown().await.expect("clean stop");
    node.stop().await;
}

/// Who loads a dev cluster: bank A's finance account raising the carmaker's credit line.
struct Loader {
    /// The cluster's directory (its keystore signs the nonce reads).
    cluster_dir: PathBuf,
    chain_id: String,
    finance: ed25519_dalek::SigningKey,
    carmaker: String,
}

/// Submits credit-line raises through `api` until `stop` is set, at most `count` of them or for
/// `for_at_most`; answers how many committed. The nonce is read before each (a submission that
/// timed out may still commit).
async fn load(
    mut api: vchain_proto::v1::vchain_api_client::VchainApiClient<tonic::transport::Channel>,
    loader: Loader,
    stop: Arc<AtomicBool>,
    count: usize,
    for_at_most: Duration,
) -> usize {
    let Loader {
        cluster_dir,
        chain_id,
        finance,
        carmaker,
    } = loader;
    let deadline = Instant::now() + for_at_most;
    let mut committed = 0;
    for _ in 0..count {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        let read = common::audited_in(
            &cluster_dir,
            &chain_id,
            GetAccountRequest {
                account_id: "bank-a-finance".into(),
            },
            "GetAccount",
        );
        let Ok(account) = api.get_account(read).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let nonce = account.into_inner().account.map_or(0, |a| a.next_nonce);
        let body = vchain_wallet::transaction::body(
            &chain_id,
            "bank-a-finance",
            nonce,
            Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: carmaker.clone(),
                amount: 1,
            }),
        );
        let answer = api
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(vchain_wallet::transaction::sign(&body, &finance)),
                wait_for_commit: true,
                timeout_ms: 5_000,
            })
            .await;
        if answer.is_ok_and(|a| a.into_inner().committed) {
            committed += 1;
        }
    }
    committed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_raft_node_restored_under_load_rejoins_under_a_new_id_votes_and_converges() {
    let (dir, configs, mut nodes) = start_cluster(4).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let finance = dev_key(&keystore, "bank-a-finance");
    let admin_a = dev_key(&keystore, "bank-a-admin");
    let admin_b = dev_key(&keystore, "bank-b-admin");
    grant_carmaker_line(nodes[0].as_ref().expect("running"), &genesis, &finance).await;

    // Load through node 1 for the whole test (bounded in count and time).
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(load(
        common::cluster::client(nodes[0].as_ref().expect("running")).await,
        Loader {
            cluster_dir: dir.path().to_path_buf(),
            chain_id: genesis.chain_id.clone(),
            finance: finance.clone(),
            carmaker: uscc_of(&genesis, "carmaker"),
        },
        stop.clone(),
        2_000,
        Duration::from_secs(120),
    ));
    // node-4 (bank-b) is backed up while the chain commits.
    let scratch = tempfile::tempdir().expect("tempdir");
    let backup = scratch.path().join("node-4-backup");
    let before = status(nodes[3].as_ref().expect("running")).await.height;
    let taken = backup_of(nodes[3].as_ref().expect("running"), &backup).await;
    assert!(
        taken.height >= before,
        "the backup holds the head it was taken at"
    );
    let after = wait_past(nodes[3].as_ref().expect("running"), taken.height + 5).await;
    assert!(
        after > taken.height,
        "the chain kept committing past the backup"
    );

    // Its disk is lost.
    let lost = nodes[3].take().expect("running");
    lost.shutdown().await.expect("clean stop");
    // (The dev config's data_dir ends in "/.", which rmdir refuses: normalise it.)
    let data_dir: PathBuf = configs[3].data_dir.components().collect();
    // Its config lives elsewhere on a real machine (/etc); here it is put back on the new disk.
    let config_text = std::fs::read(data_dir.join("config.toml")).expect("config");
    std::fs::remove_dir_all(&data_dir).expect("wipe");
    std::fs::create_dir(&data_dir).expect("a new, empty disk");
    std::fs::write(data_dir.join("config.toml"), config_text).expect("config");

    // Restoring under node-4's own id is refused: it could vote twice.
    refused(
        &configs[3],
        &backup,
        RestoreOptions::default(),
        "BACKUP_SAME_IDENTITY",
    );

    // The consortium replaces node-4 by node-4b: bank-b proposes each change, bank-a approves.
    let decide = |action: submit_proposal::Action| {
        let nodes = &nodes;
        let genesis = &genesis;
        let (admin_a, admin_b) = (&admin_a, &admin_b);
        async move {
            let node = nodes[0].as_ref().expect("running");
            let proposed = submit(
                node,
                &genesis.chain_id,
                "bank-b-admin",
                admin_b,
                Operation::SubmitProposal(SubmitProposal {
                    action: Some(action),
                    title: "replace node-4".into(),
                    reason: String::new(),
                }),
            )
            .await;
            let approved = submit(
                node,
                &genesis.chain_id,
                "bank-a-admin",
                admin_a,
                Operation::VoteOnProposal(VoteOnProposal {
                    proposal_id: proposal_id_of(&proposed),
                    approve: true,
                }),
            )
            .await;
            assert!(approved.committed, "{approved:?}");
        }
    };
    decide(submit_proposal::Action::RemoveConsensusNode(
        RemoveConsensusNode {
            node_id: "node-4".into(),
        },
    ))
    .await;
    voters_are(&nodes, &["node-1", "node-2", "node-3"]).await;
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let joining =
        vchain_devnet::prepare_joining_node(dir.path(), "node-4b", "bank-b", now).expect("node-4b");
    let report = restore(&joining.config, &backup, RestoreOptions::default())
        .expect("restores under the new id");
    assert_eq!(report.manifest.height, taken.height);
    assert!(!report.as_follower);
    decide(submit_proposal::Action::AddConsensusNode(
        AddConsensusNode {
            node_id: "node-4b".into(),
            org_id: "bank-b".into(),
            public_key: hex::decode(&joining.public_key).expect("hex"),
            certificate: joining.certificate.clone().into_bytes(),
        },
    ))
    .await;
    let mut joined_config = joining.config.clone();
    joined_config.grpc_listen.set_port(0);
    let joined = vchain_node::start(joined_config)
        .await
        .expect("node-4b starts on the restored ledger");
    assert!(
        joined
            .chain
            .ledger
            .head()
            .expect("head")
            .expect("head")
            .height
            >= taken.height,
        "it starts from the backup, not from genesis"
    );
    nodes[3] = Some(joined);
    voters_are(&nodes, &["node-1", "node-2", "node-3", "node-4b"]).await;

    stop.store(true, Ordering::SeqCst);
    let committed = load.await.expect("the load task");
    assert!(committed > 0, "the load committed");
    let height = status(nodes[1].as_ref().expect("running")).await.height;
    converged(&nodes, height).await;
    let joined_status = status(nodes[3].as_ref().expect("running")).await;
    assert!(!joined_status.voting_forbidden, "{joined_status:?}");
    // It counts: with node-1 stopped, the chain can elect a leader and commit only with
    // node-4b's votes (three of four voters are a majority; two are not).
    let first = nodes[0].take().expect("running");
    first.shutdown().await.expect("clean stop");
    let raised = submit(
        nodes[1].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: uscc_of(&genesis, "carmaker"),
            amount: 1,
        }),
    )
    .await;
    assert!(raised.committed, "{raised:?}");
    converged(&nodes, raised.height).await;
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// Waits until `node`'s height reaches `height` (at most 30 s); its height.
async fn wait_past(node: &NodeHandle, height: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = status(node).await.height;
        if now >= height {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "height {now} did not reach {height}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
