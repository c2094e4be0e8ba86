//! Three nodes agreeing over Raft on real libp2p connections (loopback): election, a
//! transaction submitted to a follower committing everywhere with identical state roots, the
//! leader stopped and a new one taking over, and the old leader restarting and catching up.

use crate::common;

use std::time::{Duration, Instant};

use vchain_node::NodeHandle;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

use common::cluster::{
    agreed_leader, carmaker_limit, client, converged, dev_key, get_proposal, proposal_id_of,
    start_cluster, start_cluster_with, status, submit, uscc_of, voters_are,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_elect_commit_everywhere_survive_the_leader_and_catch_up() {
    let (dir, configs, mut nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let raise = || {
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        })
    };

    // Election, then a transaction submitted to a follower commits on every node.
    let leader = agreed_leader(&nodes, None).await;
    let follower = (leader + 1) % 3;
    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 1_000,
    });
    let committed = submit(
        nodes[follower].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant,
    )
    .await;
    assert!(committed.committed);
    let root = converged(&nodes, committed.height).await;
    assert_eq!(
        status(nodes[leader].as_ref().expect("running"))
            .await
            .state_root,
        root
    );
    let block = client(nodes[follower].as_ref().expect("running"))
        .await
        .get_block(common::audited(
            nodes[follower].as_ref().expect("running"),
            GetBlockRequest {
                selector: Some(get_block_request::Selector::Height(committed.height)),
            },
            "GetBlock",
        ))
        .await
        .expect("block")
        .into_inner();
    assert_eq!(
        block.block.expect("block").header.expect("header").proposer,
        format!("node-{}", leader + 1),
        "the leader proposed it"
    );

    // Two conflicting spends of one voucher, signed with the same nonce, sent to two different
    // nodes at once: exactly one commits, the other is refused (promptly, not at a timeout).
    let core_key = dev_key(&keystore, "carmaker");
    let gearbox = dev_key(&keystore, "gearbox");
    let bank = uscc_of(&genesis, "bank-a-finance");
    let head_time = status(nodes[leader].as_ref().expect("running"))
        .await
        .head_time_ms;
    let maturity = vchain_contracts::validate::format_date(
        vchain_contracts::validate::local_day(head_time, 480) + 30,
    );
    let issue = Operation::IssueVoucher(IssueVoucher {
        holder: "gearbox".into(),
        financier: bank.clone(),
        amount: 500,
        currency: "CNY".into(),
        maturity_date: maturity,
        trade_document: Some(TradeDocument {
            kind: "invoice".into(),
            number: "INV-RACE".into(),
            hash: vec![9; 32],
        }),
    });
    let issued = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "carmaker",
        &core_key,
        issue,
    )
    .await;
    let voucher = issued.result.expect("result").events[0].voucher_id.clone();
    converged(&nodes, issued.height).await;
    let spend = |to: &str| {
        Operation::TransferVoucher(TransferVoucher {
            voucher_id: voucher.clone(),
            to: to.into(),
            agreement_hash: vec![7; 32],
            consideration: None,
        })
    };
    let a = transaction::sign(
        &transaction::body(&genesis.chain_id, "gearbox", 0, spend("castings")),
        &gearbox,
    );
    let b = transaction::sign(
        &transaction::body(&genesis.chain_id, "gearbox", 0, spend("foundry")),
        &gearbox,
    );
    let (mut api_a, mut api_b) = (
        client(nodes[leader].as_ref().expect("running")).await,
        client(nodes[follower].as_ref().expect("running")).await,
    );
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        api_a.submit_transaction(SubmitTransactionRequest {
            transaction: Some(a),
            wait_for_commit: true,
            timeout_ms: 20_000
        }),
        api_b.submit_transaction(SubmitTransactionRequest {
            transaction: Some(b),
            wait_for_commit: true,
            timeout_ms: 20_000
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the losing spend was not refused promptly"
    );
    let winners: Vec<&str> = [(&ra, "castings"), (&rb, "foundry")]
        .iter()
        .filter(|(r, _)| r.is_ok())
        .map(|(_, to)| *to)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one conflicting spend commits: {ra:?} / {rb:?}"
    );
    let loser = if ra.is_ok() {
        rb.expect_err("loser")
    } else {
        ra.expect_err("loser")
    };
    // Refused either way, by which the race decides: after the winner committed (its nonce is
    // spent: FAILED_PRECONDITION), or while the winner still waits in the leader's mempool,
    // where the follower forwarded the loser (the same nonce is taken: NONCE_TAKEN).
    let code = loser
        .metadata()
        .get("x-vchain-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        loser.code() == tonic::Code::FailedPrecondition
            || (loser.code() == tonic::Code::AlreadyExists && code == "NONCE_TAKEN"),
        "{loser:?}"
    );
    let height = status(nodes[leader].as_ref().expect("running"))
        .await
        .height;
    converged(&nodes, height).await;
    for node in nodes.iter().flatten() {
        let held = client(node)
            .await
            .get_voucher(common::audited(
                node,
                GetVoucherRequest {
                    voucher_id: voucher.clone(),
                },
                "GetVoucher",
            ))
            .await
            .expect("voucher")
            .into_inner()
            .voucher
            .expect("voucher");
        assert_eq!(
            held.holder, winners[0],
            "every node agrees who holds the voucher"
        );
    }

    // Stop the leader: the other two elect a new one and keep committing.
    nodes[leader]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let new_leader = agreed_leader(&nodes, Some(leader)).await;
    assert_ne!(new_leader, leader);
    let survivor = nodes.iter().position(|n| n.is_some()).expect("a survivor");
    let later = submit(
        nodes[survivor].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise(),
    )
    .await;
    assert!(later.committed && later.height > committed.height);

    // The old leader restarts from its disk and catches up to the same state.
    nodes[leader] = Some(
        vchain_node::start(configs[leader].clone())
            .await
            .expect("restart"),
    );
    let root = converged(&nodes, later.height).await;
    assert_eq!(
        carmaker_limit(
            nodes[leader].as_ref().expect("running"),
            &genesis,
            "bank-a-finance"
        )
        .await,
        1_001,
        "the restarted node has every committed change"
    );
    assert_eq!(
        status(nodes[leader].as_ref().expect("running"))
            .await
            .state_root,
        root
    );

    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_leader_cannot_commit_and_rejoins_without_divergence() {
    let (dir, _configs, nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let admin = dev_key(&keystore, "bank-b-admin");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let leader = agreed_leader(&nodes, None).await;
    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 1_000,
    });
    let first = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant,
    )
    .await;
    converged(&nodes, first.height).await;

    // Partition: the leader alone on one side, the other two on the other.
    partition(&nodes, &[leader]).await;

    // The minority cannot commit: its transaction times out uncommitted.
    let mut isolated = client(nodes[leader].as_ref().expect("running")).await;
    let nonce = isolated
        .get_account(common::audited(
            nodes[leader].as_ref().expect("running"),
            GetAccountRequest {
                account_id: "bank-b-admin".into(),
            },
            "GetAccount",
        ))
        .await
        .expect("account")
        .into_inner()
        .account
        .expect("account")
        .next_nonce;
    let freeze = Operation::FreezeAccount(FreezeAccount {
        account_id: "foundry".into(),
        reason: "minority write".into(),
    });
    let stuck = transaction::sign(
        &transaction::body(&genesis.chain_id, "bank-b-admin", nonce, freeze),
        &admin,
    );
    let minority_height = status(nodes[leader].as_ref().expect("running"))
        .await
        .height;
    let pending = isolated
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(stuck.clone()),
            wait_for_commit: true,
            timeout_ms: 3_000,
        })
        .await
        .expect("admitted, not refused")
        .into_inner();
    assert!(pending.pending && !pending.committed, "{pending:?}");
    // Sent again, it answers with its status (still pending), not a refusal.
    let again = isolated
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(stuck),
            wait_for_commit: false,
            timeout_ms: 0,
        })
        .await
        .expect("its status, not a refusal")
        .into_inner();
    assert_eq!(again.tx_hash, pending.tx_hash);
    assert!(!again.committed);
    assert_eq!(
        status(nodes[leader].as_ref().expect("running"))
            .await
            .height,
        minority_height,
        "the minority committed nothing"
    );

    // The majority elects a new leader and commits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let new_leader = loop {
        let mut named = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            if i != leader {
                named.push(status(node.as_ref().expect("running")).await.leader);
            }
        }
        if named
            .iter()
            .all(|l| !l.is_empty() && *l == named[0] && *l != format!("node-{}", leader + 1))
        {
            break named[0]
                .trim_start_matches("node-")
                .parse::<usize>()
                .expect("node-N")
                - 1;
        }
        assert!(
            Instant::now() < deadline,
            "the majority elected no new leader: {named:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let raise = Operation::RaiseCreditLine(RaiseCreditLine {
        core_enterprise: carmaker.clone(),
        amount: 5,
    });
    let majority_write = submit(
        nodes[new_leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise,
    )
    .await;
    assert!(majority_write.committed);

    // Heal: everyone converges on the majority's history, the old leader included:
    // `converged` saw every node, the old leader too, at one height with one state root. (Its
    // root is not read again afterwards: the stranded write below may commit at any moment once
    // the old leader has learnt of the new one.)
    heal(&nodes).await;
    converged(&nodes, majority_write.height).await;
    for node in nodes.iter().flatten() {
        assert_eq!(
            carmaker_limit(node, &genesis, "bank-a-finance").await,
            1_005,
            "the majority's write is on every node"
        );
    }

    // The write stranded on the minority reaches the new leader once the old one learns of
    // it, and commits everywhere.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut frozen = 0;
        for node in nodes.iter().flatten() {
            let account = client(node)
                .await
                .get_account(common::audited(
                    node,
                    GetAccountRequest {
                        account_id: "foundry".into(),
                    },
                    "GetAccount",
                ))
                .await
                .expect("account")
                .into_inner()
                .account
                .expect("account");
            frozen += usize::from(account.status() == AccountStatus::Frozen);
        }
        if frozen == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stranded write never committed ({frozen} of 3 nodes)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_too_far_behind_installs_a_snapshot_and_matches_the_others() {
    // Checkpoint every 4 applied entries: the log keeps only the last few, so a node that
    // misses 20 blocks cannot catch up from it.
    let (dir, configs, mut nodes) = start_cluster_with(3, |c| c.snapshot_interval = 4).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let leader = agreed_leader(&nodes, None).await;
    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 1_000,
    });
    let first = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant,
    )
    .await;
    converged(&nodes, first.height).await;

    let behind = (leader + 1) % 3;
    nodes[behind]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let mut last = first.height;
    for _ in 0..20 {
        let raised = submit(
            nodes[leader].as_ref().expect("running"),
            &genesis.chain_id,
            "bank-a-finance",
            &finance,
            Operation::RaiseCreditLine(RaiseCreditLine {
                core_enterprise: carmaker.clone(),
                amount: 1,
            }),
        )
        .await;
        assert!(raised.committed);
        last = raised.height;
    }
    let checkpoints = std::fs::read_dir(configs[leader].data_dir.join("checkpoints"))
        .expect("checkpoint dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .count();
    assert!(
        (1..=2).contains(&checkpoints),
        "the leader keeps one or two checkpoints, found {checkpoints}"
    );

    // The stopped node restarts: its log ends before the others' compacted logs begin, so
    // it must take a snapshot, then follow the log again.
    nodes[behind] = Some(
        vchain_node::start(configs[behind].clone())
            .await
            .expect("restart"),
    );
    let root = converged(&nodes, last).await;
    let restarted = nodes[behind].as_ref().expect("running");
    assert!(
        restarted.chain.snapshots_installed() >= 1,
        "the node caught up by a snapshot, not from the log"
    );
    assert_eq!(status(restarted).await.state_root, root);
    assert_eq!(
        carmaker_limit(restarted, &genesis, "bank-a-finance").await,
        1_020,
        "the snapshot carries every committed change"
    );

    // It then fills in the blocks the snapshot skipped, from its peers, each checked against
    // its successor's hash: the first grant's block and transaction become readable there.
    let deadline = Instant::now() + Duration::from_secs(30);
    while restarted.chain.ledger.history_gap().expect("gap").is_some() {
        assert!(Instant::now() < deadline, "history was not filled in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let block_at = |node: &NodeHandle, height: u64| {
        node.chain
            .ledger
            .block(height)
            .expect("read")
            .and_then(|b| b.header)
            .map(|h| vchain_contracts::block::block_hash(&h))
    };
    for height in 1..=last {
        assert_eq!(
            block_at(restarted, height),
            block_at(nodes[leader].as_ref().expect("running"), height),
            "block {height} is the leader's"
        );
    }
    // And every block's commit certificate (ADR 0015): fetched with the blocks it filled in,
    // made for the snapshot's head block and the blocks after it, each verifying.
    let validators =
        vchain_contracts::commit_certificate::Validators::from_config(&genesis.consensus_config())
            .expect("validators");
    let deadline = Instant::now() + Duration::from_secs(30);
    for height in 1..=last {
        let certificate = loop {
            if let Some(bytes) = restarted.chain.ledger.certificate(height).expect("read") {
                break bytes;
            }
            assert!(
                Instant::now() < deadline,
                "block {height} has no certificate on the snapshot-installed node"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let certificate =
            <vchain_proto::v1::CommitCertificate as prost::Message>::decode(certificate.as_slice())
                .expect("decodes");
        vchain_contracts::commit_certificate::verify(&genesis.chain_id, &validators, &certificate)
            .unwrap_or_else(|e| panic!("certificate of {height}: {e}"));
    }
    let found = client(restarted)
        .await
        .get_transaction(common::audited(
            restarted,
            GetTransactionRequest {
                tx_hash: first.tx_hash.clone(),
            },
            "GetTransaction",
        ))
        .await
        .expect("the first grant is found on the snapshot-installed node")
        .into_inner();
    assert_eq!(found.height, first.height);
    // Every transaction of every block it holds is found by hash, the snapshot's head block's
    // included (issue 11: that one was stored without its transactions' locations).
    for height in 1..=last {
        let block = restarted
            .chain
            .ledger
            .block(height)
            .expect("read")
            .expect("held");
        for tx in &block.transactions {
            let hash = vchain_contracts::tx::tx_hash(&tx.body);
            let location = restarted
                .chain
                .ledger
                .tx_location(&hash)
                .expect("read")
                .unwrap_or_else(|| panic!("a transaction of block {height} is not found by hash"));
            assert_eq!(location.height, height);
        }
    }

    // And it keeps applying new blocks from the log after the snapshot.
    let after = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        }),
    )
    .await;
    converged(&nodes, after.height).await;

    // A crash in the middle of a snapshot install leaves a marker; the next open empties the
    // ledger, and the node reinstalls its stored snapshot from peers before anything else.
    let other = (leader + 2) % 3;
    nodes[other]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    {
        let ledger = vchain_ledger::RocksLedger::open(&configs[other].ledger_dir()).expect("open");
        let head = ledger.head().expect("head").expect("a head");
        // Dropped unfinished: exactly what a crash mid-install leaves.
        drop(ledger.begin_snapshot_install(head).expect("begin"));
    }
    nodes[other] = Some(
        vchain_node::start(configs[other].clone())
            .await
            .expect("restart after an interrupted install"),
    );
    let reinstalled = nodes[other].as_ref().expect("running");
    assert!(
        reinstalled.chain.ledger.emptied_interrupted_install(),
        "the interrupted install was found"
    );
    let root = converged(&nodes, after.height).await;
    assert!(reinstalled.chain.snapshots_installed() >= 1);
    assert_eq!(status(reinstalled).await.state_root, root);
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// The id of the proposal a committed `SubmitProposal` opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_vote_consensus_nodes_in_and_out_and_strangers_stay_out() {
    let (dir, _configs, mut nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let finance = dev_key(&keystore, "bank-a-finance");
    let carmaker = uscc_of(&genesis, "carmaker");
    let leader = agreed_leader(&nodes, None).await;
    voters_are(&nodes, &["node-1", "node-2", "node-3"]).await;

    // A node whose key is not in the membership starts, dials everyone, and is refused: it
    // gets no connection and no block.
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let joining =
        vchain_devnet::prepare_joining_node(dir.path(), "node-4", "bank-b", now).expect("node-4");
    let stranger = vchain_node::start(joining.config.clone())
        .await
        .expect("starts");
    let stranger_peer = stranger.chain.network().expect("network").local_peer_id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for node in nodes.iter().flatten() {
        assert!(
            !node
                .chain
                .network()
                .expect("network")
                .connected_peers()
                .contains(&stranger_peer),
            "a member accepted a stranger"
        );
    }
    assert_eq!(
        status(&stranger).await.height,
        0,
        "the stranger got no block"
    );

    // Adding a node is a consortium decision: bank-b proposes it; with two member banks and
    // "more than two thirds" to pass, nothing changes until bank-a approves too.
    let admin_a = dev_key(&keystore, "bank-a-admin");
    let admin_b = dev_key(&keystore, "bank-b-admin");
    let add_node = SubmitProposal {
        action: Some(submit_proposal::Action::AddConsensusNode(
            AddConsensusNode {
                node_id: "node-4".into(),
                org_id: "bank-b".into(),
                public_key: hex::decode(&joining.public_key).expect("hex"),
                certificate: joining.certificate.clone().into_bytes(),
            },
        )),
        title: "bank-b runs a fourth node".into(),
        reason: String::new(),
    };
    let proposed = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-b-admin",
        &admin_b,
        Operation::SubmitProposal(add_node),
    )
    .await;
    assert!(proposed.committed, "{proposed:?}");
    let proposal_id = proposal_id_of(&proposed);
    converged(&nodes, proposed.height).await;
    let open = get_proposal(
        nodes[(leader + 1) % 3].as_ref().expect("running"),
        &proposal_id,
    )
    .await;
    assert_eq!(
        open.proposal.as_ref().expect("proposal").status(),
        ProposalStatus::Open
    );
    voters_are(&nodes, &["node-1", "node-2", "node-3"]).await;

    // bank-a approves on another node: the proposal passes, the chain records the node, Raft
    // makes it a voter, and it catches up.
    let added = submit(
        nodes[(leader + 2) % 3].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-admin",
        &admin_a,
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: proposal_id.clone(),
            approve: true,
        }),
    )
    .await;
    assert!(added.committed, "{added:?}");
    nodes.push(Some(stranger));
    voters_are(&nodes, &["node-1", "node-2", "node-3", "node-4"]).await;
    converged(&nodes, added.height).await;
    let passed = get_proposal(nodes[3].as_ref().expect("running"), &proposal_id).await;
    let kinds: Vec<EventKind> = passed.events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ProposalSubmitted,
            EventKind::ProposalVoted,
            EventKind::ProposalVoted,
            EventKind::ConsensusNodeAdded,
            EventKind::ProposalPassed,
        ],
        "the whole decision is traceable, on the new node too"
    );

    // The new node takes writes like any other and they commit everywhere.
    let grant = submit(
        nodes[3].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    assert!(grant.committed);
    converged(&nodes, grant.height).await;

    // A proposal to remove the leader that the other bank disapproves is rejected and changes
    // nothing. Then the leader's own bank proposes it again and the other approves: the leader
    // hands leadership over, the new leader removes it, and the other three carry on.
    let (proposer, proposer_key, voter, voter_key) = if leader % 2 == 0 {
        ("bank-a-admin", &admin_a, "bank-b-admin", &admin_b)
    } else {
        ("bank-b-admin", &admin_b, "bank-a-admin", &admin_a)
    };
    let removed_id = format!("node-{}", leader + 1);
    let remove_leader = || SubmitProposal {
        action: Some(submit_proposal::Action::RemoveConsensusNode(
            RemoveConsensusNode {
                node_id: removed_id.clone(),
            },
        )),
        title: format!("retire {removed_id}"),
        reason: String::new(),
    };
    let turned_down = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        proposer,
        proposer_key,
        Operation::SubmitProposal(remove_leader()),
    )
    .await;
    let turned_down_id = proposal_id_of(&turned_down);
    let disapproved = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        voter,
        voter_key,
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: turned_down_id.clone(),
            approve: false,
        }),
    )
    .await;
    assert!(disapproved.committed, "{disapproved:?}");
    converged(&nodes, disapproved.height).await;
    let rejected = get_proposal(nodes[leader].as_ref().expect("running"), &turned_down_id).await;
    assert_eq!(
        rejected.proposal.as_ref().expect("proposal").status(),
        ProposalStatus::Rejected
    );
    voters_are(&nodes, &["node-1", "node-2", "node-3", "node-4"]).await;

    let proposed = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        proposer,
        proposer_key,
        Operation::SubmitProposal(remove_leader()),
    )
    .await;
    let removed = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        voter,
        voter_key,
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: proposal_id_of(&proposed),
            approve: true,
        }),
    )
    .await;
    assert!(removed.committed, "{removed:?}");
    let old_leader = nodes[leader].take().expect("running");
    let remaining: Vec<String> = ["node-1", "node-2", "node-3", "node-4"]
        .iter()
        .filter(|n| **n != removed_id)
        .map(|n| n.to_string())
        .collect();
    let remaining: Vec<&str> = remaining.iter().map(String::as_str).collect();
    voters_are(&nodes, &remaining).await;
    old_leader.shutdown().await.expect("clean stop");
    let survivor = nodes.iter().flatten().next().expect("a survivor");
    let raised = submit(
        survivor,
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        }),
    )
    .await;
    assert!(raised.committed);
    converged(&nodes, raised.height).await;
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// Cuts the network in two: nodes in `side` see only each other, the rest only each other.
async fn partition(nodes: &[Option<NodeHandle>], side: &[usize]) {
    let peer = |i: usize| {
        nodes[i]
            .as_ref()
            .expect("running")
            .chain
            .network()
            .expect("network")
            .local_peer_id()
    };
    for (i, node) in nodes.iter().enumerate() {
        let Some(node) = node else { continue };
        let mine = side.contains(&i);
        let members = (0..nodes.len())
            .filter(|j| *j != i && nodes[*j].is_some() && side.contains(j) == mine)
            .map(peer)
            .collect();
        node.chain
            .network()
            .expect("network")
            .set_members(members)
            .await
            .expect("cut");
    }
}

/// Undoes [`partition`]: every running node admits every other.
async fn heal(nodes: &[Option<NodeHandle>]) {
    partition(nodes, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_nodes_survive_a_minority_partition_and_a_killed_leader() {
    let (dir, configs, mut nodes) = start_cluster(5).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let raise = |amount: u64| {
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount,
        })
    };
    let leader = agreed_leader(&nodes, None).await;
    voters_are(&nodes, &["node-1", "node-2", "node-3", "node-4", "node-5"]).await;
    let first = submit(
        nodes[(leader + 1) % 5].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    converged(&nodes, first.height).await;

    // The leader and one follower on one side, three nodes on the other.
    let minority = [leader, (leader + 1) % 5];
    partition(&nodes, &minority).await;
    let minority_height = status(nodes[leader].as_ref().expect("running"))
        .await
        .height;
    let mut api = client(nodes[leader].as_ref().expect("running")).await;
    let nonce = api
        .get_account(common::audited(
            nodes[leader].as_ref().expect("running"),
            GetAccountRequest {
                account_id: "bank-a-finance".into(),
            },
            "GetAccount",
        ))
        .await
        .expect("account")
        .into_inner()
        .account
        .expect("account")
        .next_nonce;
    let stranded = transaction::sign(
        &transaction::body(&genesis.chain_id, "bank-a-finance", nonce, raise(100)),
        &finance,
    );
    let pending = api
        .submit_transaction(SubmitTransactionRequest {
            transaction: Some(stranded),
            wait_for_commit: true,
            timeout_ms: 3_000,
        })
        .await
        .expect("two of five cannot commit: pending, not refused")
        .into_inner();
    assert!(pending.pending && !pending.committed, "{pending:?}");
    for i in minority {
        assert_eq!(
            status(nodes[i].as_ref().expect("running")).await.height,
            minority_height,
            "the minority committed nothing"
        );
    }

    // The three elect a leader among themselves and commit; the stranded raise (same nonce)
    // may commit there too once forwarded, so the majority writes with the next account.
    let majority: Vec<usize> = (0..5).filter(|i| !minority.contains(i)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let majority_leader = loop {
        let mut named = Vec::new();
        for i in &majority {
            named.push(status(nodes[*i].as_ref().expect("running")).await.leader);
        }
        let candidate = named[0].clone();
        if !candidate.is_empty()
            && named.iter().all(|l| *l == candidate)
            && majority
                .iter()
                .any(|i| format!("node-{}", i + 1) == candidate)
        {
            break candidate
                .trim_start_matches("node-")
                .parse::<usize>()
                .expect("node-N")
                - 1;
        }
        assert!(
            Instant::now() < deadline,
            "the majority elected no leader: {named:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let factoring = dev_key(&keystore, "bank-b-factoring");
    let majority_write = submit(
        nodes[majority_leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-b-factoring",
        &factoring,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 500,
        }),
    )
    .await;
    assert!(majority_write.committed);

    // Heal: all five converge on the majority's history.
    heal(&nodes).await;
    converged(&nodes, majority_write.height).await;

    // Stop the majority's leader: four remain, elect, commit, and the stopped node restarts
    // and catches up.
    nodes[majority_leader]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean stop");
    let next_leader = agreed_leader(&nodes, Some(majority_leader)).await;
    let later = submit(
        nodes[next_leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-b-factoring",
        &factoring,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 5,
        }),
    )
    .await;
    assert!(later.committed);
    nodes[majority_leader] = Some(
        vchain_node::start(configs[majority_leader].clone())
            .await
            .expect("restart"),
    );
    let root = converged(&nodes, later.height).await;
    for node in nodes.iter().flatten() {
        assert_eq!(status(node).await.state_root, root);
        assert_eq!(
            carmaker_limit(node, &genesis, "bank-b-factoring").await,
            505,
            "every node has every majority write"
        );
    }
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// The serial of consensus node `node_id`'s certificate in the dev cluster's genesis.
fn node_certificate_serial(genesis: &vchain_contracts::genesis::Genesis, node_id: &str) -> Vec<u8> {
    let node = genesis
        .consensus
        .nodes
        .iter()
        .find(|n| n.node_id == node_id)
        .expect("a genesis node");
    let der = vchain_contracts::certificate_der(node.certificate.as_bytes()).expect("PEM");
    vchain_pki::inspect(&der).expect("certificate").serial
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_certificate_is_revoked_is_cut_off_and_the_others_carry_on() {
    let (dir, _configs, mut nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let finance = dev_key(&keystore, "bank-a-finance");
    let carmaker = uscc_of(&genesis, "carmaker");
    let leader = agreed_leader(&nodes, None).await;
    voters_are(&nodes, &["node-1", "node-2", "node-3"]).await;

    // Bank B revokes the certificate of its node-2 (say its server was compromised).
    let serial = node_certificate_serial(&genesis, "node-2");
    let admin_b = dev_key(&keystore, "bank-b-admin");
    let entry = if leader == 1 { 0 } else { leader };
    let revoked = submit(
        nodes[entry].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-b-admin",
        &admin_b,
        Operation::RevokeCertificate(RevokeCertificate {
            serial,
            reason: "server compromised".into(),
        }),
    )
    .await;
    assert!(revoked.committed, "{revoked:?}");
    let result = revoked.result.as_ref().expect("result");
    assert_eq!(result.code(), ErrorCode::Ok, "{result:?}");

    // The others drop it from the voters and from the network; it gets nothing more.
    let cut = nodes[1].take().expect("node-2");
    let cut_peer = cut.chain.network().expect("network").local_peer_id();
    voters_are(&nodes, &["node-1", "node-3"]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let still = nodes.iter().flatten().any(|node| {
            node.chain
                .network()
                .expect("network")
                .connected_peers()
                .contains(&cut_peer)
        });
        if !still {
            break;
        }
        assert!(Instant::now() < deadline, "node-2 is still connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cut_height = status(&cut).await.height;
    let survivor = nodes.iter().flatten().next().expect("a survivor");
    let grant = submit(
        survivor,
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker,
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    assert!(grant.committed, "the two remaining nodes commit");
    converged(&nodes, grant.height).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        status(&cut).await.height <= cut_height.max(revoked.height),
        "the revoked node received no block after it was cut off"
    );
    cut.shutdown().await.expect("clean stop");
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("clean stop");
    }
}

/// Issue 10 §4: block time follows the lower median of the members' clocks. A leader whose
/// clock jumps ten years ahead keeps leading, but the blocks it proposes carry the consortium's
/// time: a voucher maturing in a month is not destroyed, and block time stays near real time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_whose_clock_is_ten_years_ahead_destroys_nothing_early() {
    const TEN_YEARS_MS: u64 = 10 * 365 * 86_400_000;
    let (dir, _configs, nodes) = start_cluster(3).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let core_key = dev_key(&keystore, "carmaker");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let leader = agreed_leader(&nodes, None).await;
    let leading = nodes[leader].as_ref().expect("running");

    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 10_000,
    });
    submit(
        leading,
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant,
    )
    .await;
    let head_time = status(leading).await.head_time_ms;
    let issue = Operation::IssueVoucher(IssueVoucher {
        holder: "gearbox".into(),
        financier: uscc_of(&genesis, "bank-a-finance"),
        amount: 500,
        currency: "CNY".into(),
        maturity_date: vchain_contracts::validate::format_date(
            vchain_contracts::validate::local_day(head_time, 480) + 30,
        ),
        trade_document: Some(TradeDocument {
            kind: "invoice".into(),
            number: "INV-CLOCK".into(),
            hash: vec![4; 32],
        }),
    });
    let issued = submit(leading, &genesis.chain_id, "carmaker", &core_key, issue).await;
    let voucher = issued.result.expect("result").events[0].voucher_id.clone();

    // The leader's clock jumps ten years ahead; its peers hear of it within a second.
    leading.chain.clock.advance(TEN_YEARS_MS);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let raise = Operation::RaiseCreditLine(RaiseCreditLine {
        core_enterprise: carmaker.clone(),
        amount: 1,
    });
    // Through a follower: the leader itself, judging certificates by its own clock, would
    // refuse the signed nonce read (every certificate looks expired from ten years ahead).
    let follower = nodes[(leader + 1) % 3].as_ref().expect("running");
    let raised = submit(
        follower,
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise,
    )
    .await;
    assert!(raised.committed);
    converged(&nodes, raised.height).await;
    assert_eq!(
        agreed_leader(&nodes, None).await,
        leader,
        "the node with the wrong clock still leads"
    );
    let real_now = vchain_node::clock::ChainClock::default().now_ms();
    for (index, node) in nodes.iter().enumerate() {
        let node = node.as_ref().expect("running");
        let status = status(node).await;
        assert!(
            status.head_time_ms.abs_diff(real_now) < 60_000,
            "block time {} is not the consortium's time {real_now}",
            status.head_time_ms
        );
        assert_eq!(
            status.blocks_ahead_of_clock, 0,
            "no block was stamped ahead"
        );
        if index == leader {
            continue;
        }
        let found = client(node)
            .await
            .get_voucher(common::audited(
                node,
                GetVoucherRequest {
                    voucher_id: voucher.clone(),
                },
                "GetVoucher",
            ))
            .await
            .expect("voucher")
            .into_inner()
            .voucher
            .expect("voucher");
        assert_eq!(
            found.status(),
            VoucherStatus::Active,
            "a clock ten years ahead destroyed a voucher"
        );
    }
    // The block the wrong clock's node proposed is its own, stamped with the consortium's time.
    let block = client(follower)
        .await
        .get_block(common::audited(
            follower,
            GetBlockRequest {
                selector: Some(get_block_request::Selector::Height(raised.height)),
            },
            "GetBlock",
        ))
        .await
        .expect("block")
        .into_inner()
        .block
        .expect("block")
        .header
        .expect("header");
    assert_eq!(block.proposer, format!("node-{}", leader + 1));
    assert!(block.timestamp_ms.abs_diff(real_now) < 60_000);
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("stops");
    }
}

/// Waits (bounded) until `node`'s status satisfies `ok`.
async fn status_until(node: &NodeHandle, what: &str, ok: impl Fn(&GetStatusResponse) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = status(node).await;
        if ok(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 10 §6: a node never votes twice. A node restarted on a copy of its data directory
/// from an earlier run (its Raft vote forgotten), and one restarted on an empty ledger, are
/// recognised by their peers from their consensus incarnation: their votes count for nothing
/// from then on, they are told so and stop voting, and the consortium carries on committing.
/// Five nodes, so that the three untouched ones remain a quorum of sound logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_consensus_state_went_back_never_votes_again() {
    let (dir, configs, mut nodes) = start_cluster(5).await;
    let keystore = Keystore::load_or_create(&dir.path().join("keystore.json")).expect("keystore");
    let finance = dev_key(&keystore, "bank-a-finance");
    let genesis = vchain_node::load_genesis(&dir.path().join("genesis.toml")).expect("genesis");
    let carmaker = uscc_of(&genesis, "carmaker");
    let grant = Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker.clone(),
        currency: "CNY".into(),
        limit: 10_000,
    });
    let raise = || {
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        })
    };
    let leader = agreed_leader(&nodes, None).await;
    let restored = (leader + 1) % 5;
    let wiped = (leader + 2) % 5;
    let sound = [leader, (leader + 3) % 5, (leader + 4) % 5];
    submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        grant,
    )
    .await;

    // A backup of `restored` now; it runs on (a new generation the peers see), then its
    // directory is restored from the backup and it starts again.
    let backup = dir.path().join("backup-ledger");
    nodes[restored]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("stops");
    common::copy_dir(&configs[restored].ledger_dir(), &backup);
    nodes[restored] = Some(
        vchain_node::start(configs[restored].clone())
            .await
            .expect("starts"),
    );
    let raised = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise(),
    )
    .await;
    converged(&nodes, raised.height).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    nodes[restored]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("stops");
    common::copy_dir(&backup, &configs[restored].ledger_dir());
    nodes[restored] = Some(
        vchain_node::start(configs[restored].clone())
            .await
            .expect("starts"),
    );

    let restored_id = format!("node-{}", restored + 1);
    for peer in sound {
        status_until(
            nodes[peer].as_ref().expect("running"),
            "the peers refuse the restored node's votes",
            |s| s.votes_refused_from.contains(&restored_id),
        )
        .await;
    }
    status_until(
        nodes[restored].as_ref().expect("running"),
        "the restored node learns it may not vote",
        |s| s.voting_forbidden,
    )
    .await;

    // A node restarted on an empty ledger (its disk replaced): a new incarnation, refused too.
    nodes[wiped]
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("stops");
    std::fs::remove_dir_all(configs[wiped].ledger_dir()).expect("wipe");
    nodes[wiped] = Some(
        vchain_node::start(configs[wiped].clone())
            .await
            .expect("starts"),
    );
    let wiped_id = format!("node-{}", wiped + 1);
    status_until(
        nodes[leader].as_ref().expect("running"),
        "the leader refuses the wiped node's votes",
        |s| s.votes_refused_from.contains(&wiped_id),
    )
    .await;

    // The leader still commits (it needs a quorum of log copies, not of votes), and the
    // refusals survive the leader's restart.
    let raised = submit(
        nodes[leader].as_ref().expect("running"),
        &genesis.chain_id,
        "bank-a-finance",
        &finance,
        raise(),
    )
    .await;
    assert!(raised.committed);
    let leading = nodes[leader].take().expect("running");
    leading.shutdown().await.expect("stops");
    nodes[leader] = Some(
        vchain_node::start(configs[leader].clone())
            .await
            .expect("starts"),
    );
    let status = status(nodes[leader].as_ref().expect("running")).await;
    assert!(
        status.votes_refused_from.contains(&restored_id)
            && status.votes_refused_from.contains(&wiped_id),
        "{status:?}"
    );
    assert!(!status.voting_forbidden);
    for node in nodes.into_iter().flatten() {
        node.shutdown().await.expect("stops");
    }
}
