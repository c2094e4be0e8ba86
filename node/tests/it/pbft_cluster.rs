//! Four nodes agreeing over PBFT on real libp2p connections (loopback, issue 13): a
//! transaction submitted to a backup commits on every node with one state root and a commit
//! certificate that any auditor can check against genesis; the primary stopped, the others
//! change views and go on; with two of four stopped nothing is acknowledged as committed, and
//! when one returns the chain resumes; a node that was down catches up by certificates; the
//! consortium votes a fifth validator in, which follows the chain until the height after the
//! vote and then certifies blocks with the others, checked against the set of each height; a
//! client's batch sent to a backup reaches every validator at once.

use crate::common;

use std::time::{Duration, Instant};

use vchain_contracts::commit_certificate::{self, Validators};
use vchain_node::NodeHandle;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

use common::cluster::{
    agreed_leader, certificate_checked_by, client, converged, dev_key, get_proposal,
    grant_carmaker_line, next_nonce, proposal_id_of, start_engine_cluster, status, submit, uscc_of,
    voters_are,
};

/// The commit certificate `node` serves for `height`, checked against the validators of
/// genesis (the set has not changed): the function an auditor runs, with no node involved.
async fn checked_certificate(
    node: &NodeHandle,
    genesis: &vchain_contracts::genesis::Genesis,
    height: u64,
) -> CommitCertificate {
    let validators = Validators::from_config(&genesis.consensus_config()).expect("validators");
    let certificate = certificate_checked_by(node, &genesis.chain_id, &validators, height).await;
    assert!(certificate.signatures.len() >= 3, "a quorum of 4 is 3");
    certificate
}

/// Waits (bounded) until every running node is in a view of at least `view`.
async fn view_at_least(nodes: &[Option<NodeHandle>], view: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut views = Vec::new();
        for node in nodes.iter().flatten() {
            views.push(status(node).await.consensus_view);
        }
        if views.iter().all(|v| *v >= view) {
            return;
        }
        assert!(Instant::now() < deadline, "views stayed at {views:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_pbft_nodes_commit_with_certificates_survive_a_stopped_primary_and_catch_up() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (dir, configs, mut nodes) = start_engine_cluster("pbft", 4, |_| {}).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");

    // View 0's primary is the first validator; a transaction sent to a backup commits
    // everywhere, certified.
    assert_eq!(agreed_leader(&nodes, None).await, 0, "node-1 leads view 0");
    let granted =
        grant_carmaker_line(nodes[2].as_ref().expect("running"), &genesis, &finance).await;
    assert!(granted.committed);
    converged(&nodes, granted.height).await;
    for node in nodes.iter().flatten() {
        let certificate = checked_certificate(node, &genesis, granted.height).await;
        assert_eq!(certificate.view, 0);
        assert_eq!(status(node).await.consensus_view, 0);
    }

    // The primary stops: the backups, with work waiting, change views and commit.
    nodes[0]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let raise = Operation::RaiseCreditLine(RaiseCreditLine {
        core_enterprise: carmaker.clone(),
        amount: 5,
    });
    let raised = submit(
        nodes[1].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise,
    )
    .await;
    assert!(raised.committed);
    view_at_least(&nodes, 1).await;
    let new_primary = agreed_leader(&nodes, Some(0)).await;
    assert_ne!(new_primary, 0);
    converged(&nodes, raised.height).await;
    let certificate =
        checked_certificate(nodes[1].as_ref().expect("running"), &genesis, raised.height).await;
    assert!(certificate.view >= 1, "committed in a later view");
    assert!(
        certificate.signatures.iter().all(|s| s.node_id != "node-1"),
        "the stopped node signed nothing"
    );

    // The old primary returns and catches up by certificates to the same state.
    nodes[0] = Some(
        vchain_node::start(configs[0].clone())
            .await
            .expect("restarts"),
    );
    let root = converged(&nodes, raised.height).await;
    assert_eq!(
        status(nodes[0].as_ref().expect("running")).await.state_root,
        root
    );
    checked_certificate(nodes[0].as_ref().expect("running"), &genesis, raised.height).await;
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_two_of_four_stopped_nothing_commits_and_one_returning_resumes_the_chain() {
    let (dir, configs, mut nodes) = start_engine_cluster("pbft", 4, |_| {}).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    agreed_leader(&nodes, None).await;
    let granted =
        grant_carmaker_line(nodes[0].as_ref().expect("running"), &genesis, &finance).await;
    converged(&nodes, granted.height).await;

    // Two backups stop: two of four are no quorum (3 are needed).
    for i in [2, 3] {
        nodes[i]
            .take()
            .expect("running")
            .shutdown()
            .await
            .expect("clean stop");
    }
    let mut api = client(nodes[0].as_ref().expect("running")).await;
    let nonce = next_nonce(nodes[0].as_ref().expect("running"), "bank-a-finance").await;
    let signed = transaction::sign(
        &transaction::body(
            &genesis.chain_id,
            "bank-a-finance",
            nonce,
            Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: carmaker.clone(),
                amount: 5,
            }),
        ),
        &finance,
    );
    let waiting = api
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(signed),
            wait_for_commit: true,
            timeout_ms: 4_000,
        })
        .await
        .expect("admitted")
        .into_inner();
    assert!(
        waiting.pending && !waiting.committed,
        "nothing is acknowledged without a quorum: {waiting:?}"
    );
    for node in nodes.iter().flatten() {
        assert_eq!(
            status(node).await.height,
            granted.height,
            "no block without a quorum"
        );
    }

    // One returns: three of four are a quorum; the waiting transaction commits.
    nodes[2] = Some(
        vchain_node::start(configs[2].clone())
            .await
            .expect("restarts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let committed_at = loop {
        let found = client(nodes[0].as_ref().expect("running"))
            .await
            .get_transaction(common::audited(
                nodes[0].as_ref().expect("running"),
                GetTransactionRequest {
                    tx_hash: waiting.tx_hash.clone(),
                },
                "GetTransaction",
            ))
            .await;
        if let Ok(found) = found {
            break found.into_inner().height;
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not resume with a quorum back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    converged(&nodes, committed_at).await;
    checked_certificate(nodes[2].as_ref().expect("running"), &genesis, committed_at).await;
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_consortium_votes_a_fifth_validator_in_and_it_certifies_from_the_next_height() {
    let (dir, _configs, mut nodes) = start_engine_cluster("pbft", 4, |_| {}).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let finance = dev_key(&keystore, "bank-a-finance");
    agreed_leader(&nodes, None).await;
    let four = ["node-1", "node-2", "node-3", "node-4"];
    voters_are(&nodes, &four).await;

    // A fifth node starts outside the set: it is no validator and is refused by the network
    // until the chain lists it.
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let joining =
        vchain_devnet::prepare_joining_node(dir.path(), "node-5", "bank-a", now).expect("node-5");
    let fifth = vchain_node::start(joining.config.clone())
        .await
        .expect("starts outside the set");

    // Both banks vote it in.
    let admin_a = dev_key(&keystore, "bank-a-admin");
    let admin_b = dev_key(&keystore, "bank-b-admin");
    let proposed = submit(
        nodes[0].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-admin",
        &admin_a,
        Operation::SubmitProposal(SubmitProposal {
            action: Some(submit_proposal::Action::AddConsensusNode(
                AddConsensusNode {
                    node_id: "node-5".into(),
                    org_id: "bank-a".into(),
                    public_key: hex::decode(&joining.public_key).expect("hex"),
                    certificate: joining.certificate.clone().into_bytes(),
                },
            )),
            title: "bank-a runs a fifth validator".into(),
            reason: String::new(),
        }),
    )
    .await;
    let proposal_id = proposal_id_of(&proposed);
    let added = submit(
        nodes[1].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-b-admin",
        &admin_b,
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: proposal_id.clone(),
            approve: true,
        }),
    )
    .await;
    assert!(added.committed, "{added:?}");
    // Committed on node 2 first: node 1 applies the same block a moment later.
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(nodes[0].as_ref().expect("running")).await.height < added.height {
        assert!(Instant::now() < deadline, "node 1 never applied the vote");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let passed = get_proposal(nodes[0].as_ref().expect("running"), &proposal_id).await;
    assert_eq!(
        passed.proposal.expect("proposal").status(),
        ProposalStatus::Passed
    );
    nodes.push(Some(fifth));
    let five = ["node-1", "node-2", "node-3", "node-4", "node-5"];
    voters_are(&nodes, &five).await;
    converged(&nodes, added.height).await;

    // The block that added it was certified by the four; every block after it by a quorum of
    // the five (4 of 5), checked against the set the chain records from that height.
    let four_set = Validators::from_config(&genesis.consensus_config()).expect("four");
    certificate_checked_by(
        nodes[4].as_ref().expect("running"),
        &genesis.chain_id,
        &four_set,
        added.height,
    )
    .await;
    let grant = grant_carmaker_line(nodes[4].as_ref().expect("running"), &genesis, &finance).await;
    assert!(grant.committed);
    converged(&nodes, grant.height).await;
    let mut five_config = genesis.consensus_config();
    five_config.nodes.push(ConsensusNode {
        node_id: "node-5".into(),
        org_id: "bank-a".into(),
        public_key: hex::decode(&joining.public_key).expect("hex"),
        ..ConsensusNode::default()
    });
    let five_set = Validators::from_config(&five_config).expect("five");
    for node in nodes.iter().flatten() {
        let certificate =
            certificate_checked_by(node, &genesis.chain_id, &five_set, grant.height).await;
        assert!(certificate.signatures.len() >= 4, "a quorum of 5 is 4");
        assert!(
            commit_certificate::verify(&genesis.chain_id, &four_set, &certificate).is_err()
                || certificate.signatures.iter().all(|s| s.node_id != "node-5"),
            "a certificate naming node-5 is not one of the old set"
        );
    }
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_far_behind_installs_a_snapshot_whose_certificate_it_checked() {
    // Checkpoints every 4 heights: a node more than 8 behind takes a snapshot.
    let (dir, configs, mut nodes) =
        start_engine_cluster("pbft", 4, |c| c.snapshot_interval = 4).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    agreed_leader(&nodes, None).await;
    let granted =
        grant_carmaker_line(nodes[0].as_ref().expect("running"), &genesis, &finance).await;
    converged(&nodes, granted.height).await;
    nodes[3]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let mut last = granted.height;
    for _ in 0..16 {
        let raised = submit(
            nodes[0].as_ref().expect("running"),
            &genesis.chain_id,
            "bank-a-finance",
            &finance,
            Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: carmaker.clone(),
                amount: 1,
            }),
        )
        .await;
        last = raised.height;
    }
    assert!(last >= granted.height + 16);
    nodes[3] = Some(
        vchain_node::start(configs[3].clone())
            .await
            .expect("restarts"),
    );
    let root = converged(&nodes, last).await;
    let back = status(nodes[3].as_ref().expect("running")).await;
    assert_eq!(back.state_root, root);
    assert!(
        back.snapshots_installed >= 1,
        "it installed a snapshot rather than every block: {back:?}"
    );
    // Its head is certified, and it serves the certificate it checked.
    checked_certificate(nodes[3].as_ref().expect("running"), &genesis, back.height).await;
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// A client's batch (`SubmitTransactions`) sent to a backup goes to every validator at once, as
/// a single submission does. It used to reach them only when the backup handed over again what
/// waited there (every `REFORWARD_INTERVAL`, 3 s), so each batch waited 3 to 6 s: the load
/// generator's setup, which sends batches, crawled at 64 transactions per 6 s on PBFT.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_sent_to_a_backup_reaches_every_validator_at_once() {
    let (dir, _configs, nodes) = start_engine_cluster("pbft", 4, |_| {}).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    assert_eq!(agreed_leader(&nodes, None).await, 0, "node-1 leads view 0");
    let backup = nodes[2].as_ref().expect("running");
    let granted = grant_carmaker_line(backup, &genesis, &finance).await;
    assert!(granted.committed);
    converged(&nodes, granted.height).await;

    let nonce = next_nonce(backup, "bank-a-finance").await;
    let batch: Vec<SignedTransaction> = (0..3)
        .map(|i| {
            let raise = Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: carmaker.clone(),
                amount: 1,
            });
            let body = transaction::body(&genesis.chain_id, "bank-a-finance", nonce + i, raise);
            transaction::sign(&body, &finance)
        })
        .collect();
    let last = vchain_contracts::tx::tx_hash(&batch[2].body);
    let admitted = Instant::now();
    let outcomes = client(backup)
        .await
        .submit_transactions(SubmitTransactionsRequest {
            transactions: batch,
        })
        .await
        .expect("submitted")
        .into_inner()
        .outcomes;
    assert!(outcomes.iter().all(|o| o.admitted), "{outcomes:?}");
    // Committed on every node before the backup's first hand-over could have sent the batch.
    let deadline = admitted + Duration::from_millis(2_500);
    for node in nodes.iter().flatten() {
        loop {
            let request = common::audited(
                node,
                GetTransactionRequest {
                    tx_hash: last.to_vec(),
                },
                "GetTransaction",
            );
            if client(node).await.get_transaction(request).await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} has not committed the batch 2.5 s after the backup admitted it",
                node.chain.config.node_id
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}
