//! Certified history on a Raft chain (issue 14, ADR 0015), three nodes on real libp2p and
//! RocksDB: every block gets a commit certificate that a majority of the voting members signed
//! and that verifies against genesis alone; a node that was down completes the certificates of
//! the blocks it missed; a member that signs a different block at a height it signed already is
//! caught, with both signatures kept as evidence and an alert on the event stream.

use crate::common;

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
    agreed_leader, certificate_checked_by, client, converged, dev_key, start_cluster, status,
    submit, uscc_of,
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
    let validators = Validators::from_config(&genesis.consensus_config()).expect("validators");
    assert_eq!(validators.quorum(), 2, "a majority of three");
    certificate_checked_by(node, &genesis.chain_id, &validators, height).await
}

/// A program speaking with the key of the stopped node `liar` (its machine taken over),
/// connected to `target`: its network, and `target`'s peer id.
async fn impersonate(
    config: &vchain_node::config::NodeConfig,
    target: &NodeHandle,
) -> (
    vchain_node::network::NetworkHandle,
    vchain_node::network::PeerId,
) {
    let target_network = target.chain.network().expect("networked");
    let target_peer = target_network.local_peer_id();
    let mut network_config = NetworkConfig::new(
        NodeKey::load_or_create(&config.data_dir).expect("the liar's key"),
        "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
    );
    network_config.members.insert(target_peer);
    network_config.dial.push(PeerAddress {
        peer_id: target_peer,
        address: target_network.listen_addrs()[0].clone(),
    });
    let (network, mut events) = Network::start(network_config).await.expect("network");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(Duration::from_millis(200), events.recv()).await {
            Ok(Some(NetworkEvent::PeerConnected { .. })) => break,
            _ => assert!(Instant::now() < deadline, "the liar never connected"),
        }
    }
    // Keep draining its events so the network never waits on them.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    (network, target_peer)
}

/// The first node alert on `stream` (bounded wait).
async fn next_alert(stream: &mut tonic::Streaming<EventEnvelope>) -> EquivocationEvidence {
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
    alert.equivocation.expect("equivocation")
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
    let (lying, _) = impersonate(&configs[liar], watcher).await;
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
    let evidence = next_alert(&mut stream).await;
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

/// The PBFT engine's own evidence reaches operators the same way: a validator that signs
/// commits for two blocks at one height in one view is caught by the replica that sees both,
/// and the node keeps and raises it (ADR 0015).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pbft_validator_signing_commits_for_two_blocks_is_caught_with_evidence() {
    use vchain_consensus::pbft::messages::{Crypto, Vote, SIGNATURE_BYTES};
    use vchain_consensus::pbft::votes::Phase;

    /// Signs as the taken-over validator does: its node key over the chain's statements.
    struct KeyCrypto {
        key: NodeKey,
        chain_id: String,
    }
    impl Crypto for KeyCrypto {
        fn sign(&self, statement: &[u8]) -> [u8; SIGNATURE_BYTES] {
            self.key.sign(statement)
        }
        fn verify(&self, _: &str, _: &[u8], _: &[u8]) -> bool {
            false
        }
        fn commit_statement(&self, sequence: u64, view: u64, digest: &[u8; 32]) -> Vec<u8> {
            commit_certificate::statement(&self.chain_id, sequence, view, digest)
        }
        fn digest(&self, block: &[u8]) -> [u8; 32] {
            use sha2::Digest as _;
            sha2::Sha256::digest(block).into()
        }
    }

    let (dir, configs, mut nodes) = common::cluster::start_engine_cluster("pbft", 4, |_| {}).await;
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let primary = agreed_leader(&nodes, None).await;
    // A backup's machine is taken over.
    let liar = (primary + 1) % 4;
    let watcher_index = (primary + 2) % 4;
    let liar_id = configs[liar].node_id.clone();
    nodes[liar]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let watcher = nodes[watcher_index].as_ref().expect("running");
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
    let (lying, watcher_peer) = impersonate(&configs[liar], watcher).await;
    let seen = status(watcher).await;
    let (height, view) = (seen.height + 2, seen.consensus_view);
    let crypto = KeyCrypto {
        key: NodeKey::load_or_create(&configs[liar].data_dir).expect("key"),
        chain_id: genesis.chain_id.clone(),
    };
    let (a, b) = ([0xa1; 32], [0xb2; 32]);
    for digest in [a, b] {
        let vote = Vote::signed(&crypto, Phase::Commit, view, height, digest, Vec::new());
        lying
            .send_consensus(watcher_peer, vote.encode())
            .expect("sent");
    }
    let evidence = next_alert(&mut stream).await;
    assert_eq!(
        (evidence.node_id.as_str(), evidence.height, evidence.view),
        (liar_id.as_str(), height, view)
    );
    assert_eq!(
        (
            evidence.first_block_hash.clone(),
            evidence.second_block_hash.clone()
        ),
        (a.to_vec(), b.to_vec())
    );
    // Both signatures check under the liar's key with the certificate rule: anyone can.
    for (hash, signature) in [
        (&evidence.first_block_hash, &evidence.first_signature),
        (&evidence.second_block_hash, &evidence.second_signature),
    ] {
        let statement = commit_certificate::statement(
            &genesis.chain_id,
            height,
            view,
            hash.as_slice().try_into().expect("32 bytes"),
        );
        assert!(vchain_contracts::signature::verify(
            &crypto.key.public_key_bytes(),
            &statement,
            signature
        ));
    }
    assert_eq!(status(watcher).await.equivocations, vec![evidence]);
    lying.shutdown().await.expect("liar stops");
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}
