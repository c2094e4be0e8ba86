//! A rolling upgrade of a 4-node raft testnet across a rules activation height, under load
//! (issue 15, "Upgrade"; ADR 0016). Every node starts as the old release (`rules_version_max =
//! 1`); the consortium schedules rules v2 120 blocks ahead (the load paced until then), which
//! the old releases record (and warn of); three nodes are restarted one at a time as the new
//! release while transactions keep committing; the chain crosses the activation height and the three run v2
//! with one state root, and a v2 rule works (`lineage_depth_max` changes, refused under v1).
//! The fourth node, left old, stops at the activation height with the message saying what to
//! install, is not ready, and the others carry on; restarted as the new release it applies the
//! block it stopped at and catches up.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vchain_node::NodeHandle;
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

use common::cluster::{
    client, converged, dev_key, get_proposal, proposal_id_of, start_cluster_from_genesis, status,
    submit, uscc_of,
};

/// Most load transactions, and the longest the load runs: bounded whatever happens.
const LOAD_TX_MAX: u64 = 2_000;
const LOAD_TIME_MAX: Duration = Duration::from_secs(90);
/// Blocks between the block that passes the upgrade and its activation: room for the three
/// restarts at the paced load's few blocks a second, however slow the machine.
const ACTIVATION_AHEAD: u64 = 120;
/// Pause after each load transaction until the activation is released.
const LOAD_PAUSE_BEFORE_RELEASE: Duration = Duration::from_millis(150);
/// Load transactions that commit while each node is down, and again once it is back.
const COMMITS_PER_PHASE: u64 = 3;
/// Longest any one wait of the test lasts.
const WAIT_MAX: Duration = Duration::from_secs(30);

/// What the load loop and the test share.
struct Load {
    /// The gRPC address of each node, `None` while it is down.
    addresses: Mutex<Vec<Option<SocketAddr>>>,
    /// The load sends nothing that could commit at or past this height until `released`
    /// (so the activation is crossed when the test says, not by the load's speed).
    hold_below: AtomicU64,
    released: AtomicBool,
    stop: AtomicBool,
    /// Transactions acknowledged as committed (by hash: a node that has not applied the
    /// latest block yet gives the old nonce, and the same transaction sent again is answered
    /// with its commit), and the highest height seen.
    committed: Mutex<std::collections::BTreeSet<Vec<u8>>>,
    height: AtomicU64,
}

impl Load {
    fn committed(&self) -> u64 {
        self.committed.lock().expect("committed").len() as u64
    }
}

async fn connect(address: SocketAddr) -> Option<VchainApiClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .ok()?;
    Some(VchainApiClient::new(channel))
}

/// Bank A's financier raises its credit line to the carmaker by 1, one transaction at a time,
/// through the nodes in turn (skipping those that are down), until stopped or its bounds.
/// Errors (a node restarting, a commit wait cut short) are expected and retried with the nonce
/// read again.
async fn run_load(
    load: Arc<Load>,
    chain_id: String,
    finance: ed25519_dalek::SigningKey,
    regulator: ed25519_dalek::SigningKey,
    carmaker: String,
) {
    let started = Instant::now();
    let mut turn = 0usize;
    // One connection per node address (a restarted node has a new one).
    let mut clients: std::collections::BTreeMap<SocketAddr, VchainApiClient<Channel>> =
        std::collections::BTreeMap::new();
    for _ in 0..LOAD_TX_MAX * 4 {
        if load.stop.load(Ordering::SeqCst)
            || started.elapsed() > LOAD_TIME_MAX
            || load.committed() >= LOAD_TX_MAX
        {
            return;
        }
        let held = !load.released.load(Ordering::SeqCst)
            && load.height.load(Ordering::SeqCst) + 1 >= load.hold_below.load(Ordering::SeqCst);
        let address = {
            let addresses = load.addresses.lock().expect("addresses");
            turn += 1;
            let live: Vec<SocketAddr> = addresses.iter().flatten().copied().collect();
            live.get(turn % live.len().max(1)).copied()
        };
        let (Some(address), false) = (address, held) else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut api = match clients.get(&address) {
            Some(api) => api.clone(),
            None => match connect(address).await {
                Some(api) => {
                    clients.insert(address, api.clone());
                    api
                }
                None => continue,
            },
        };
        let nonce = match api
            .get_account(vchain_wallet::read::request_now(
                GetAccountRequest {
                    account_id: "bank-a-finance".into(),
                },
                &chain_id,
                "GetAccount",
                "regulator",
                &regulator,
            ))
            .await
        {
            Ok(response) => response.into_inner().account.map_or(0, |a| a.next_nonce),
            Err(_) => continue,
        };
        let raise = Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        });
        let signed = transaction::sign(
            &transaction::body(&chain_id, "bank-a-finance", nonce, raise),
            &finance,
        );
        if let Ok(response) = api
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(signed),
                wait_for_commit: true,
                timeout_ms: 5_000,
            })
            .await
        {
            let response = response.into_inner();
            if response.committed {
                assert_eq!(
                    response.result.as_ref().map(|r| r.code()),
                    Some(ErrorCode::Ok),
                    "{response:?}"
                );
                load.committed
                    .lock()
                    .expect("committed")
                    .insert(response.tx_hash.clone());
                load.height.fetch_max(response.height, Ordering::SeqCst);
            }
        }
        // Until the test releases the activation, keep the chain well below it: each load
        // transaction is a block, and on a busy machine the restarts take long enough for an
        // unpaced load to reach the hold (and an old leader the activation) before the last
        // node is back, which the test would read as lost commits.
        if !load.released.load(Ordering::SeqCst) {
            tokio::time::sleep(LOAD_PAUSE_BEFORE_RELEASE).await;
        }
    }
}

/// Waits (bounded) until `more` load transactions commit after `since` had.
async fn load_commits(load: &Load, since: u64, more: u64, what: &str) {
    let deadline = Instant::now() + WAIT_MAX;
    while load.committed() < since + more {
        assert!(
            Instant::now() < deadline,
            "the load committed {} of {more} transactions {what}",
            load.committed() - since
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until `node` reports `ok`.
async fn until(node: &NodeHandle, what: &str, ok: impl Fn(&GetStatusResponse) -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let seen = status(node).await;
        if ok(&seen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never {what}: height {}, rules v{} (pending v{} at {}), stopped {:?}",
            seen.node_id,
            seen.height,
            seen.rules_version,
            seen.rules_pending_version,
            seen.rules_activation_height,
            node.chain.failure()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The highest height any running node reports.
async fn top(nodes: &[Option<NodeHandle>]) -> u64 {
    let mut top = 0;
    for node in nodes.iter().flatten() {
        top = top.max(status(node).await.height);
    }
    top
}

/// Bank A's administrator proposes `action` and bank B's approves; returns the passing
/// response (both banks must approve: more than two thirds of two).
async fn pass(
    node: &NodeHandle,
    chain_id: &str,
    keystore: &Keystore,
    action: Action,
) -> SubmitTransactionResponse {
    let proposed = submit(
        node,
        chain_id,
        "bank-a-admin",
        &dev_key(keystore, "bank-a-admin"),
        Operation::SubmitProposal(SubmitProposal {
            action: Some(action),
            title: "rules test".into(),
            reason: String::new(),
        }),
    )
    .await;
    let id = proposal_id_of(&proposed);
    let voted = submit(
        node,
        chain_id,
        "bank-b-admin",
        &dev_key(keystore, "bank-b-admin"),
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: id.clone(),
            approve: true,
        }),
    )
    .await;
    let proposal = get_proposal(node, &id).await.proposal.expect("proposal");
    assert_eq!(proposal.status(), ProposalStatus::Passed, "{proposal:?}");
    voted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_upgrade_crosses_the_activation_height_under_load() {
    // Every node is the old release: it implements rules v1 only, and the chain starts on v1
    // (the dev tools would start it on the newest).
    let (dir, mut configs, mut nodes) = start_cluster_from_genesis(
        "raft",
        4,
        |genesis| genesis.rules_version = 1,
        |config| config.rules_version_max = Some(1),
    )
    .await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let chain_id = genesis.chain_id.clone();
    let carmaker = uscc_of(&genesis, "carmaker");
    let finance = dev_key(&keystore, "bank-a-finance");
    let first = nodes[0].as_ref().expect("running");
    let granted = submit(
        first,
        &chain_id,
        "bank-a-finance",
        &finance,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    assert!(granted.committed);
    for node in nodes.iter().flatten() {
        let seen = status(node).await;
        assert_eq!(
            (
                seen.rules_version,
                seen.rules_version_max,
                seen.rules_pending_version
            ),
            (1, 1, 0)
        );
    }

    // Under v1 the lineage depth is not a parameter: a proposal to change it is refused.
    let params = status(first).await.params.expect("params");
    let deeper = ChainParams {
        lineage_depth_max: 64,
        ..params
    };
    let nonce = common::cluster::next_nonce(first, "bank-a-admin").await;
    let proposal = transaction::sign(
        &transaction::body(
            &chain_id,
            "bank-a-admin",
            nonce,
            Operation::SubmitProposal(SubmitProposal {
                action: Some(Action::SetChainParams(SetChainParams {
                    params: Some(deeper),
                })),
                title: "deeper lineages".into(),
                reason: String::new(),
            }),
        ),
        &dev_key(&keystore, "bank-a-admin"),
    );
    let refused = client(first)
        .await
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(proposal),
            wait_for_commit: true,
            timeout_ms: 20_000,
        })
        .await
        .expect_err("refused under v1");
    assert_eq!(
        common::error_code(&refused),
        "RULES_VERSION_REQUIRED",
        "{refused:?}"
    );
    assert!(
        refused
            .message()
            .contains("lineage_depth_max is a chain rules v2 parameter"),
        "{refused:?}"
    );

    // Load from here to the end, through every node in turn.
    let load = Arc::new(Load {
        addresses: Mutex::new(nodes.iter().flatten().map(|n| Some(n.grpc_addr)).collect()),
        hold_below: AtomicU64::new(u64::MAX),
        released: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        committed: Mutex::default(),
        height: AtomicU64::new(0),
    });
    let load_task = tokio::spawn(run_load(
        load.clone(),
        chain_id.clone(),
        finance.clone(),
        dev_key(&keystore, "regulator"),
        carmaker.clone(),
    ));

    // The node to be left old listens for its own alerts.
    let old = 3;
    let mut alerts = client(nodes[old].as_ref().expect("running"))
        .await
        .subscribe_events(common::audited(
            nodes[old].as_ref().expect("running"),
            SubscribeEventsRequest::default(),
            "SubscribeEvents",
        ))
        .await
        .expect("subscribed")
        .into_inner();

    // The consortium schedules v2, a version no running release implements: the old releases
    // accept and record it. The activation height is fixed when the proposal is submitted;
    // the vote that passes it comes one block later or so, well within the notice.
    let ahead = status(first).await.height + ACTIVATION_AHEAD;
    // A few blocks of margin: the load may not see every block (votes) or every commit (a wait
    // cut short) at once.
    load.hold_below.store(ahead - 4, Ordering::SeqCst);
    let scheduled = pass(
        first,
        &chain_id,
        &keystore,
        Action::ScheduleRulesUpgrade(ScheduleRulesUpgrade {
            version: 2,
            activation_height: ahead,
        }),
    )
    .await;
    let events = &scheduled.result.as_ref().expect("result").events;
    assert!(
        events
            .iter()
            .any(|e| e.kind() == EventKind::RulesUpgradeScheduled
                && e.rules_version == 2
                && e.activation_height == ahead),
        "{events:?}"
    );
    for node in nodes.iter().flatten() {
        until(node, "recorded the schedule", |s| {
            s.rules_pending_version == 2 && s.rules_activation_height == ahead
        })
        .await;
    }
    // The old node says it must be upgraded, as an alert on its event streams.
    let deadline = Instant::now() + WAIT_MAX;
    let alert = loop {
        let envelope = tokio::time::timeout_at(deadline.into(), alerts.message())
            .await
            .expect("an alert before the deadline")
            .expect("stream")
            .expect("open");
        if let Some(alert) = envelope.alert.and_then(|a| a.rules_upgrade_unsupported) {
            break alert;
        }
    };
    assert_eq!(
        (
            alert.version,
            alert.activation_height,
            alert.rules_version_max
        ),
        (2, ahead, 1)
    );
    drop(alerts);

    // Rolling: one node at a time goes down and comes back as the new release, while the load
    // commits through the others; each catches up before the next goes.
    let started = Instant::now();
    eprintln!(
        "scheduled v2 at {ahead}; restarts begin at height {} with {} load transactions committed",
        top(&nodes).await,
        load.committed()
    );
    for i in 0..old {
        let before = load.committed();
        load.addresses.lock().expect("addresses")[i] = None;
        nodes[i]
            .take()
            .expect("running")
            .shutdown()
            .await
            .expect("clean stop");
        load_commits(
            &load,
            load.committed(),
            COMMITS_PER_PHASE,
            "with a node down",
        )
        .await;
        configs[i].rules_version_max = Some(2);
        let node = vchain_node::start(configs[i].clone())
            .await
            .expect("the new release starts on the old data directory");
        let target = top(&nodes).await;
        until(&node, "caught up", |s| s.height >= target).await;
        load.addresses.lock().expect("addresses")[i] = Some(node.grpc_addr);
        load_commits(&load, load.committed(), COMMITS_PER_PHASE, "with it back").await;
        let target = top(&nodes).await;
        until(&node, "followed the load", |s| s.height >= target).await;
        let seen = status(&node).await;
        assert_eq!(
            (
                seen.rules_version,
                seen.rules_version_max,
                seen.rules_pending_version
            ),
            (1, 2, 2),
            "v1 still runs, and this node is ready for v2"
        );
        nodes[i] = Some(node);
        eprintln!(
            "node-{} restarted as the new release after {:?}: height {target}, {} load \
             transactions committed meanwhile",
            i + 1,
            started.elapsed(),
            load.committed() - before
        );
    }

    // Across the activation height: the upgraded three switch to v2 together; the old one
    // stops before executing the activation block.
    load.released.store(true, Ordering::SeqCst);
    let stopped = nodes[old].take().expect("running");
    load.addresses.lock().expect("addresses")[old] = None;
    for node in nodes.iter().flatten() {
        until(node, "activated v2", |s| {
            s.rules_version == 2 && s.rules_pending_version == 0 && s.height >= ahead
        })
        .await;
    }
    let deadline = Instant::now() + WAIT_MAX;
    while !stopped.chain.has_failed() {
        assert!(Instant::now() < deadline, "the old node did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = status(&stopped).await;
    assert_eq!(
        seen.height,
        ahead - 1,
        "it executed nothing under the wrong rules"
    );
    assert_eq!(seen.rules_version, 1);
    assert_eq!(
        stopped.chain.failure(),
        format!(
            "execution: this release implements chain rules up to v1; the chain activates v2 \
             at height {ahead}: install a release that implements it and start the node again"
        )
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        Channel::from_shared(format!("http://{}", stopped.grpc_addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect"),
    );
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health")
            .into_inner();
        if answer.status() == tonic_health::pb::health_check_response::ServingStatus::NotServing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stopped node still says it serves"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The other three carry on under v2, and a v2 rule works: the lineage depth becomes a
    // chain parameter the consortium sets.
    let live = nodes[0].as_ref().expect("running");
    let params = status(live).await.params.expect("params");
    let passed = pass(
        live,
        &chain_id,
        &keystore,
        Action::SetChainParams(SetChainParams {
            params: Some(ChainParams {
                lineage_depth_max: 64,
                ..params
            }),
        }),
    )
    .await;
    assert!(passed.height > ahead);
    for node in nodes.iter().flatten() {
        until(node, "took the new parameter", |s| {
            s.params.is_some_and(|p| p.lineage_depth_max == 64)
        })
        .await;
    }

    // The old node, restarted as the new release, applies the block it stopped at and catches
    // up; then all four agree.
    stopped
        .shutdown()
        .await
        .expect("the stopped node shuts down");
    configs[old].rules_version_max = Some(2);
    nodes[old] = Some(
        vchain_node::start(configs[old].clone())
            .await
            .expect("the new release starts where the old one stopped"),
    );
    load.addresses.lock().expect("addresses")[old] = nodes[old].as_ref().map(|n| n.grpc_addr);
    let restarted = nodes[old].as_ref().expect("running");
    let target = top(&nodes).await;
    until(restarted, "caught up", |s| {
        s.height >= target && s.rules_version == 2
    })
    .await;

    load.stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(WAIT_MAX, load_task)
        .await
        .expect("the load stops")
        .expect("the load ran without failing an assertion");
    let committed = load.committed();
    let height = top(&nodes).await;
    let root = converged(&nodes, height).await;
    for node in nodes.iter().flatten() {
        let seen = status(node).await;
        assert_eq!((seen.rules_version, seen.rules_pending_version), (2, 0));
        assert_eq!(seen.state_root, root);
        assert!(!node.chain.has_failed());
        // Every acknowledged raise is there (a raise whose wait was cut short may be too).
        let limit = common::cluster::carmaker_limit(node, &genesis, "bank-a-finance").await;
        assert!(limit >= 1_000 + committed, "{limit} < 1000 + {committed}");
    }
    assert!(
        committed >= 20,
        "the load kept committing through the upgrade: {committed}"
    );
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}
