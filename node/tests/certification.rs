//! Certified history on a Raft chain (issue 14, ADR 0015), three nodes on real libp2p and
//! RocksDB: every block gets a commit certificate that a majority of the voting members signed
//! and that verifies against genesis alone; a node that was down completes the certificates of
//! the blocks it missed; a member that signs a different block at a height it signed already is
//! caught, with both signatures kept as evidence and an alert on the event stream.

mod common;

use std::time::{Duration, Instant};

use tokio_stream::StreamExt;
use vchain_contracts::commit_certificate::{self, Validators};
use vchain_contracts::genesis::Genesis;
use vchain_node::network::{Network, NetworkConfig, NetworkEvent, NodeKey, PeerAddress};
use vchain_node::NodeHandle;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;

use common::cluster::{
    agreed_leader, client, converged, dev_key, start_cluster, status, submit, uscc_of,
};

/// Waits (bounded) until every running node has certified every block up to `height`.
async fn certified(nodes: &[Option<NodeHandle>], height: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for node in nodes.iter().flatten() {
            let status = status(node).await;
            seen.push((
                status.node_id,
                status.certified_height,
                status.certification_lag,
            ));
        }
        if seen.iter().all(|(_, through, _)| *through >= height) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "blocks up to {height} not certified everywhere: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The block at `height` on `node` and its certificate, which must verify against the genesis
/// validators under the Raft majority rule.
async fn certificate_of(node: &NodeHandle, genesis: &Genesis, height: u64) -> CommitCertificate {
    let response = client(node)
        .await
        .get_block(common::audited(
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
    assert_eq!(
        certificate.block_hash, response.block_hash,
        "names its block"
    );
    let validators = Validators::from_config(&genesis.consensus_config()).expect("validators");
    assert_eq!(validators.quorum(), 2, "a majority of three");
    commit_certificate::verify(&genesis.chain_id, &validators, &certificate)
        .unwrap_or_else(|e| panic!("certificate of {height}: {e}"));
    certificate
}

fn raise(genesis: &Genesis) -> Operation {
    Operation::RaiseCreditLine(RaiseCreditLine {
        core_enterprise: uscc_of(genesis, "carmaker"),
        amount: 1,
    })
}

fn grant(genesis: &Genesis) -> Operation {
    Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: uscc_of(genesis, "carmaker"),
        currency: "CNY".into(),
        limit: 1_000,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raft_blocks_are_certified_by_a_majority_and_a_returning_node_completes_its_certificates() {
    let (dir, configs, mut nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let leader = agreed_leader(&nodes, None).await;

    let first = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant(&genesis),
    )
    .await;
    converged(&nodes, first.height).await;
    certified(&nodes, first.height).await;
    for node in nodes.iter().flatten() {
        for height in 1..=first.height {
            certificate_of(node, &genesis, height).await;
        }
    }

    // A follower stops; the other two still make a majority and keep certifying.
    let down = (leader + 1) % 3;
    nodes[down]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let mut last = first.height;
    for _ in 0..3 {
        let survivor = (leader + 2) % 3;
        last = submit(
            nodes[survivor].as_ref().expect("running"),
            &genesis.chain_id,
            "bank-a-finance",
            &finance,
            raise(&genesis),
        )
        .await
        .height;
    }
    certified(&nodes, last).await;
    for height in first.height + 1..=last {
        let certificate =
            certificate_of(nodes[leader].as_ref().expect("running"), &genesis, height).await;
        assert!(
            certificate
                .signatures
                .iter()
                .all(|s| s.node_id != format!("node-{}", down + 1)),
            "a stopped node signs nothing"
        );
    }

    // It returns, catches up, and completes the certificates of the blocks it missed: the
    // others' signatures went out while it was down, so it fetches the certificates and keeps
    // them only because they verify.
    nodes[down] = Some(
        vchain_node::start(configs[down].clone())
            .await
            .expect("restart"),
    );
    converged(&nodes, last).await;
    certified(&nodes, last).await;
    for height in 1..=last {
        certificate_of(nodes[down].as_ref().expect("running"), &genesis, height).await;
    }
    let returned = status(nodes[down].as_ref().expect("running")).await;
    assert_eq!(returned.certification_lag, 0, "{returned:?}");
    assert!(returned.equivocations.is_empty(), "{returned:?}");

    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_signing_two_blocks_at_one_height_is_caught_with_evidence_and_an_alert() {
    let (dir, configs, mut nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let leader = agreed_leader(&nodes, None).await;
    let committed = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant(&genesis),
    )
    .await;
    converged(&nodes, committed.height).await;
    certified(&nodes, committed.height).await;
    let height = committed.height;
    // node-3's machine is taken over: its key will speak from a program that lies.
    let liar = 2;
    nodes[liar]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let watcher = nodes[0].as_ref().expect("running");
    let real = certificate_of(watcher, &genesis, height).await;
    let real_hash: [u8; 32] = real.block_hash.as_slice().try_into().expect("32 bytes");

    // An operator's stream on node-1, open before anything happens.
    let mut stream = client(watcher)
        .await
        .subscribe_events(common::audited(
            watcher,
            SubscribeEventsRequest::default(),
            "SubscribeEvents",
        ))
        .await
        .expect("stream")
        .into_inner();

    // The liar signs, for a height it already signed, a block that is not the chain's.
    let key = NodeKey::load_or_create(&configs[liar].data_dir).expect("node-3's key");
    let sign = |hash: [u8; 32]| {
        key.sign(&commit_certificate::statement(
            &genesis.chain_id,
            height,
            0,
            &hash,
        ))
    };
    let notice = |hash: [u8; 32], signature: [u8; 64]| {
        let mut bytes = height.to_be_bytes().to_vec();
        bytes.extend_from_slice(&hash);
        bytes.extend_from_slice(&signature);
        bytes
    };
    let forged_hash = [0x66; 32];
    let (honest, forged) = (sign(real_hash), sign(forged_hash));
    let watcher_network = watcher.chain.network().expect("networked");
    let mut config = NetworkConfig::new(
        NodeKey::load_or_create(&configs[liar].data_dir).expect("key"),
        "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
    );
    config.members.insert(watcher_network.local_peer_id());
    config.dial.push(PeerAddress {
        peer_id: watcher_network.local_peer_id(),
        address: watcher_network.listen_addrs()[0].clone(),
    });
    let (lying, mut lying_events) = Network::start(config).await.expect("network");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(Duration::from_millis(200), lying_events.recv()).await {
            Ok(Some(NetworkEvent::PeerConnected { .. })) => break,
            _ => assert!(Instant::now() < deadline, "the liar never connected"),
        }
    }
    // Malformed notices first: dropped, nothing else happens.
    lying.broadcast_certification(vec![1, 2, 3]).expect("sent");
    lying
        .broadcast_certification(notice(forged_hash, [0; 64]))
        .expect("sent");
    // Then the honest signature and a second one for another block at the same height.
    lying
        .broadcast_certification(notice(real_hash, honest))
        .expect("sent");
    lying
        .broadcast_certification(notice(forged_hash, forged))
        .expect("sent");

    // The alert reaches the stream.
    let alert = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(envelope) = stream.next().await {
            if let Some(alert) = envelope.expect("envelope").alert {
                return alert;
            }
        }
        panic!("stream ended without an alert");
    })
    .await
    .expect("an alert within 20 s");
    let evidence = alert.equivocation.expect("equivocation");
    assert_eq!(
        (evidence.node_id.as_str(), evidence.height),
        ("node-3", height)
    );
    assert_eq!(evidence.first_block_hash, real_hash.to_vec());
    assert_eq!(evidence.second_block_hash, forged_hash.to_vec());
    // Both signatures check under node-3's key: evidence anyone can verify.
    for (hash, signature) in [
        (&evidence.first_block_hash, &evidence.first_signature),
        (&evidence.second_block_hash, &evidence.second_signature),
    ] {
        let statement = commit_certificate::statement(
            &genesis.chain_id,
            height,
            0,
            hash.as_slice().try_into().expect("32 bytes"),
        );
        assert!(vchain_contracts::signature::verify(
            &key.public_key_bytes(),
            &statement,
            signature
        ));
    }
    // The forged signature certified nothing: the block's certificate is still the real one.
    let after = certificate_of(watcher, &genesis, height).await;
    assert_eq!(after.block_hash, real_hash.to_vec());
    lying.shutdown().await.expect("liar stops");

    // Status lists the evidence, and keeps it across a restart.
    let listed = status(watcher).await.equivocations;
    assert_eq!(listed, vec![evidence.clone()]);
    nodes[0]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    nodes[0] = Some(
        vchain_node::start(configs[0].clone())
            .await
            .expect("restart"),
    );
    assert_eq!(
        status(nodes[0].as_ref().expect("running"))
            .await
            .equivocations,
        vec![evidence]
    );

    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}
