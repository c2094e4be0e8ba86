//! Consensus membership changes: one test per rule and per rejection path of the
//! `AddConsensusNode` and `RemoveConsensusNode` proposal actions, and the reader the node follows.
//! A change takes a proposal that the members pass ([`TestChain::govern`]: the proposer submits,
//! the other banks approve); a proposal whose action breaks a rule is refused at submission.
//! Every rejection is checked for its code, a message naming the values, and that it changed
//! nothing but the signer's nonce.

use crate::common;

use common::ops::*;
use common::*;
use prost::Message;
use vchain_contracts::commit_certificate::{Validators, ValidatorsError};
use vchain_contracts::genesis::{Genesis, GenesisError, Params};
use vchain_contracts::{consensus_config, keys, ExecError, CONSENSUS_NODES_MAX};
use vchain_ledger::MemoryLedger;
use vchain_proto::v1::{
    ConsensusConfig, ConsensusNode, ErrorCode, Event, EventKind, ProposalStatus,
};

/// The one event of `kind` among `events`.
fn only(events: &[Event], kind: EventKind) -> Event {
    let found: Vec<&Event> = events.iter().filter(|e| e.kind() == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} event in {events:?}");
    found[0].clone()
}

/// A chain whose genesis is [`raft_genesis`]: `node-a` (bank A) and `node-b` (bank B).
fn raft_chain() -> TestChain {
    TestChain::from_genesis(raft_genesis(Params::default()))
}

/// A raft chain with the given `(node_id, org_id, key number)` nodes.
fn raft_chain_with(nodes: &[(&str, &str, u8)]) -> TestChain {
    let mut genesis = raft_genesis(Params::default());
    genesis.consensus.nodes = nodes
        .iter()
        .map(|(id, org, n)| raft_node(id, org, *n))
        .collect();
    TestChain::from_genesis(genesis)
}

/// The stored configuration, through the public reader.
fn config(chain: &TestChain) -> ConsensusConfig {
    consensus_config(&chain.ledger).expect("genesis stored a consensus configuration")
}

/// The ids of the current nodes, in stored order.
fn node_ids(chain: &TestChain) -> Vec<String> {
    config(chain).nodes.into_iter().map(|n| n.node_id).collect()
}

/// The audit log's events, in chain order.
fn audit_events(chain: &TestChain) -> Vec<Event> {
    chain
        .scan(keys::AUDIT_PREFIX)
        .into_iter()
        .map(|(_, value)| Event::decode(value.as_slice()).expect("audit entries are events"))
        .collect()
}

fn genesis_error(change: impl FnOnce(&mut Genesis)) -> String {
    let mut genesis = raft_genesis(Params::default());
    change(&mut genesis);
    match genesis.state() {
        Ok(_) => panic!("genesis accepted"),
        Err(GenesisError::Invalid(message)) => message,
    }
}

#[test]
fn the_reader_returns_the_genesis_membership() {
    let chain = raft_chain();
    assert_eq!(
        config(&chain),
        ConsensusConfig {
            engine: "raft".into(),
            nodes: vec![
                ConsensusNode {
                    node_id: "node-a".into(),
                    org_id: "bank-a".into(),
                    public_key: node_key(1).to_vec(),
                    certificate_serial: Vec::new(),
                },
                ConsensusNode {
                    node_id: "node-b".into(),
                    org_id: "bank-b".into(),
                    public_key: node_key(2).to_vec(),
                    certificate_serial: Vec::new(),
                },
            ],
            removed_node_ids: vec![],
            change_heights: vec![],
        }
    );
    assert_eq!(
        chain.raw(keys::CONSENSUS),
        Some(config(&chain).encode_to_vec()),
        "the reader reads the record under p/consensus"
    );
    assert_eq!(keys::CONSENSUS, b"p/consensus");
}

#[test]
fn the_reader_fails_before_genesis() {
    let error = consensus_config(&MemoryLedger::new()).expect_err("no genesis");
    assert!(
        matches!(error, ExecError::MissingGenesis("consensus configuration")),
        "{error}"
    );
}

#[test]
fn the_reader_reports_a_corrupt_record() {
    let mut chain = raft_chain();
    chain.patch_raw(keys::CONSENSUS.to_vec(), Some(vec![0xff, 0xff, 0xff]));
    let error = consensus_config(&chain.ledger).expect_err("corrupt record");
    assert!(matches!(error, ExecError::CorruptState { .. }), "{error}");
}

#[test]
fn an_administrator_adds_a_node_of_its_own_organisation_at_the_end() {
    let mut chain = raft_chain();
    let audit_before = audit_events(&chain).len();
    let proposal_id = chain.next_proposal_id();
    let events = chain.govern(
        ADMIN_B,
        add_consensus_node("node-c", "bank-b", &node_key(3)),
    );

    // Bank A's approval passed it: its vote, the change, the decision.
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ProposalVoted,
            EventKind::ConsensusNodeAdded,
            EventKind::ProposalPassed
        ]
    );
    let event = &only(&events, EventKind::ConsensusNodeAdded);
    assert_eq!(event.node_id, "node-c");
    assert_eq!(event.actor, ADMIN_A, "signed by the vote that passed it");
    assert_eq!(event.proposal_id, proposal_id);
    let proposal = chain.proposal(&proposal_id);
    assert_eq!(proposal.status(), ProposalStatus::Passed);
    assert_eq!(proposal.proposer, ADMIN_B);
    assert_eq!(event.height, chain.height);
    assert!(!event.tx_hash.is_empty());
    assert_eq!(event.org_id, "bank-b");
    assert_eq!(event.public_key, node_key(3));
    assert!(event.detail.is_empty(), "no words from the chain");
    // A node id is not an account: account filters must not match it.
    assert!(event.accounts.is_empty() && event.counterparty.is_empty());

    let audit = audit_events(&chain);
    assert_eq!(
        audit.len(),
        audit_before + 1,
        "membership changes are audited"
    );
    assert_eq!(audit.last(), Some(event));
    assert!(
        vchain_contracts::proposal_events(&chain.ledger, &proposal_id)
            .expect("reads")
            .contains(event),
        "the change is in the proposal's history"
    );

    assert_eq!(node_ids(&chain), ["node-a", "node-b", "node-c"]);
    assert_eq!(
        config(&chain).nodes[2],
        ConsensusNode {
            node_id: "node-c".into(),
            org_id: "bank-b".into(),
            public_key: node_key(3).to_vec(),
            certificate_serial: Vec::new(),
        }
    );
    assert!(config(&chain).removed_node_ids.is_empty());
    assert_eq!(config(&chain).engine, "raft");
}

#[test]
fn adding_needs_the_administrator_role() {
    let mut chain = raft_chain();
    chain.reject(
        FINANCIER,
        add_consensus_node("node-c", "bank-a", &node_key(3)),
        ErrorCode::WrongRole,
        &["adding a consensus node", "ROLE_ADMINISTRATOR", FINANCIER],
    );
    assert_eq!(node_ids(&chain), ["node-a", "node-b"]);
}

#[test]
fn adding_a_node_for_another_organisation_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-c", "bank-b", &node_key(3)),
        ErrorCode::NotSameOrganisation,
        &["node-c", "bank-b", "bank-a"],
    );
}

#[test]
fn adding_a_node_for_an_unknown_organisation_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-c", "bank-z", &node_key(3)),
        ErrorCode::OrganisationNotFound,
        &["organisation", "bank-z"],
    );
}

#[test]
fn adding_checks_the_node_id_like_account_ids() {
    let mut chain = raft_chain();
    for bad in ["", "nc", "Node-C", "node/c", "-node", &"n".repeat(65)] {
        chain.reject(
            ADMIN_A,
            add_consensus_node(bad, "bank-a", &node_key(3)),
            ErrorCode::InvalidAccountId,
            &[&format!("{bad:?}")],
        );
    }
}

#[test]
fn adding_refuses_malformed_and_weak_network_keys() {
    let mut chain = raft_chain();
    // The identity point (0, 1) encodes as 1 followed by zeros: small order, so weak.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    for (key, why) in [
        (vec![], "must be 32 bytes"),
        (node_key(3)[..31].to_vec(), "must be 32 bytes"),
        (weak.to_vec(), "weak"),
    ] {
        chain.reject(
            ADMIN_A,
            add_consensus_node("node-c", "bank-a", &key),
            ErrorCode::InvalidPublicKey,
            &[why],
        );
    }
}

#[test]
fn adding_a_current_node_id_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-a", "bank-a", &node_key(3)),
        ErrorCode::ConsensusNodeExists,
        &["node-a", "already exists"],
    );
}

#[test]
fn adding_a_key_a_current_node_uses_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(2)),
        ErrorCode::ConsensusNodeExists,
        &[&hex::encode(node_key(2)), "node-b"],
    );
}

#[test]
fn a_removed_node_id_cannot_be_added_again() {
    let mut chain = raft_chain();
    chain.govern(ADMIN_B, remove_consensus_node("node-b"));
    // Even with a fresh key: Raft derives its numeric id from the name.
    chain.reject(
        ADMIN_B,
        add_consensus_node("node-b", "bank-b", &node_key(9)),
        ErrorCode::ConsensusNodeExists,
        &["node-b", "removed", "cannot be reused"],
    );
    assert_eq!(node_ids(&chain), ["node-a"]);
}

#[test]
fn a_removed_nodes_key_may_serve_a_new_node() {
    // Only ids are retired: the removed node's machine may rejoin under a new id.
    let mut chain = raft_chain();
    chain.govern(ADMIN_B, remove_consensus_node("node-b"));
    chain.govern(
        ADMIN_B,
        add_consensus_node("node-b2", "bank-b", &node_key(2)),
    );
    assert_eq!(node_ids(&chain), ["node-a", "node-b2"]);
    assert_eq!(config(&chain).removed_node_ids, ["node-b"]);
}

#[test]
fn the_membership_is_capped() {
    let nodes: Vec<(String, u8)> = (1..CONSENSUS_NODES_MAX as u8)
        .map(|n| (format!("node-{n:02}"), n))
        .collect();
    let nodes: Vec<(&str, &str, u8)> = nodes
        .iter()
        .map(|(id, n)| (id.as_str(), "bank-a", *n))
        .collect();
    let mut chain = raft_chain_with(&nodes);
    chain.govern(
        ADMIN_A,
        add_consensus_node("node-last", "bank-a", &node_key(100)),
    );
    assert_eq!(config(&chain).nodes.len(), CONSENSUS_NODES_MAX);
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-extra", "bank-a", &node_key(101)),
        ErrorCode::ConsensusNodesFull,
        &["64"],
    );
    assert_eq!(CONSENSUS_NODES_MAX, 64);
}

#[test]
fn a_solo_chain_refuses_membership_changes() {
    let mut chain = TestChain::new();
    assert_eq!(config(&chain).engine, "solo");
    let before = config(&chain);
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(3)),
        ErrorCode::ConsensusEngineStatic,
        &["\"solo\"", "fixed membership"],
    );
    chain.reject(
        ADMIN_A,
        remove_consensus_node("node-a"),
        ErrorCode::ConsensusEngineStatic,
        &["\"solo\""],
    );
    assert_eq!(config(&chain), before);
}

#[test]
fn an_administrator_removes_a_node_of_its_own_organisation_keeping_the_order() {
    let mut chain = raft_chain_with(&[
        ("node-a", "bank-a", 1),
        ("node-b", "bank-b", 2),
        ("node-a2", "bank-a", 3),
    ]);
    let events = chain.govern(ADMIN_B, remove_consensus_node("node-b"));

    let event = &only(&events, EventKind::ConsensusNodeRemoved);
    assert_eq!(event.node_id, "node-b");
    assert_eq!(event.actor, ADMIN_A, "signed by the vote that passed it");
    assert_eq!(event.org_id, "bank-b");
    assert!(event.accounts.is_empty() && event.counterparty.is_empty());
    assert_eq!(audit_events(&chain).last(), Some(event));

    assert_eq!(node_ids(&chain), ["node-a", "node-a2"]);
    assert_eq!(config(&chain).removed_node_ids, ["node-b"]);
}

#[test]
fn removing_needs_the_administrator_role() {
    let mut chain = raft_chain();
    chain.reject(
        FINANCIER,
        remove_consensus_node("node-a"),
        ErrorCode::WrongRole,
        &["removing a consensus node", "ROLE_ADMINISTRATOR"],
    );
}

#[test]
fn removing_a_node_of_another_organisation_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        remove_consensus_node("node-b"),
        ErrorCode::NotSameOrganisation,
        &["node-b", "bank-b", "bank-a"],
    );
    assert_eq!(node_ids(&chain), ["node-a", "node-b"]);
}

#[test]
fn removing_a_node_that_is_not_current_is_refused() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        remove_consensus_node("node-z"),
        ErrorCode::ConsensusNodeNotFound,
        &["node-z"],
    );
    chain.govern(ADMIN_B, remove_consensus_node("node-b"));
    chain.reject(
        ADMIN_B,
        remove_consensus_node("node-b"),
        ErrorCode::ConsensusNodeNotFound,
        &["node-b", "not a current consensus node"],
    );
    assert_eq!(config(&chain).removed_node_ids, ["node-b"]);
}

#[test]
fn the_last_node_cannot_be_removed() {
    let mut chain = raft_chain();
    chain.govern(ADMIN_B, remove_consensus_node("node-b"));
    chain.reject(
        ADMIN_A,
        remove_consensus_node("node-a"),
        ErrorCode::ConsensusNodeLast,
        &["node-a", "last"],
    );
    assert_eq!(node_ids(&chain), ["node-a"]);
}

#[test]
fn add_then_remove_restores_the_membership_and_retires_the_id() {
    let mut chain = raft_chain();
    let genesis_nodes = config(&chain).nodes;
    chain.govern(
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(3)),
    );
    assert_eq!(node_ids(&chain), ["node-a", "node-b", "node-c"]);
    chain.govern(ADMIN_A, remove_consensus_node("node-c"));
    let after = config(&chain);
    assert_eq!(after.nodes, genesis_nodes);
    assert_eq!(after.removed_node_ids, ["node-c"]);
    let kinds: Vec<EventKind> = audit_events(&chain).iter().map(Event::kind).collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            EventKind::ConsensusNodeAdded,
            EventKind::ConsensusNodeRemoved
        ]
    );
}

#[test]
fn changes_in_one_block_see_the_earlier_ones() {
    let mut chain = raft_chain();
    let (a, b) = (chain.nonce(ADMIN_A), chain.nonce(ADMIN_B));
    let first = chain.next_proposal_id();
    let second = "P000000000002";
    let outcome = chain.block(vec![
        chain.sign(
            ADMIN_A,
            a,
            add_consensus_node("node-c", "bank-a", &node_key(3)),
        ),
        chain.sign(ADMIN_B, b, vote(&first, true)),
        // Checked at submission against the node the vote just added.
        chain.sign(
            ADMIN_A,
            a + 1,
            add_consensus_node("node-c", "bank-a", &node_key(4)),
        ),
        chain.sign(ADMIN_A, a + 2, remove_consensus_node("node-c")),
        chain.sign(ADMIN_B, b + 1, vote(second, true)),
        chain.sign(
            ADMIN_A,
            a + 3,
            add_consensus_node("node-c", "bank-a", &node_key(5)),
        ),
    ]);
    let codes: Vec<ErrorCode> = outcome.results.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::Ok,
            ErrorCode::Ok,
            ErrorCode::ConsensusNodeExists,
            ErrorCode::Ok,
            ErrorCode::Ok,
            ErrorCode::ConsensusNodeExists
        ]
    );
    assert_eq!(chain.proposal(second).status(), ProposalStatus::Passed);
    assert_eq!(node_ids(&chain), ["node-a", "node-b"]);
    assert_eq!(config(&chain).removed_node_ids, ["node-c"]);
}

#[test]
fn the_direct_operations_are_refused_in_favour_of_proposals() {
    let mut chain = raft_chain();
    chain.reject(
        ADMIN_A,
        direct_add_consensus_node("node-c", "bank-a", &node_key(3)),
        ErrorCode::ProposalRequired,
        &["node-c", "proposal"],
    );
    chain.reject(
        ADMIN_B,
        direct_remove_consensus_node("node-b"),
        ErrorCode::ProposalRequired,
        &["node-b", "proposal"],
    );
    assert_eq!(node_ids(&chain), ["node-a", "node-b"]);
}

#[test]
fn a_proposal_whose_node_was_taken_meanwhile_is_rejected_and_adds_nothing() {
    let mut chain = raft_chain();
    let first = chain.next_proposal_id();
    chain.ok(
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(3)),
    );
    let second = chain.next_proposal_id();
    chain.ok(
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(4)),
    );
    chain.ok(ADMIN_B, vote(&first, true));
    assert_eq!(node_ids(&chain), ["node-a", "node-b", "node-c"]);
    let before = config(&chain);
    let events = chain.ok(ADMIN_B, vote(&second, true));
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    let proposal = chain.proposal(&second);
    assert_eq!(proposal.status(), ProposalStatus::Rejected);
    assert_eq!(proposal.rejected_by(), ErrorCode::ConsensusNodeExists);
    assert_eq!(config(&chain), before, "nothing of the action was applied");
}

#[test]
fn genesis_refuses_two_nodes_with_one_network_key() {
    let message = genesis_error(|g| g.consensus.nodes[1].public_key = hex::encode(node_key(1)));
    assert_eq!(
        message,
        "consensus nodes node-a and node-b have the same network public key"
    );
}

#[test]
fn the_raft_test_genesis_is_valid() {
    assert!(raft_genesis(Params::default()).state().is_ok());
}

/// [`raft_genesis`] under the PBFT engine.
fn pbft_genesis() -> Genesis {
    let mut genesis = raft_genesis(Params::default());
    genesis.consensus.engine = "pbft".into();
    genesis
}

fn pbft_genesis_error(change: impl FnOnce(&mut Genesis)) -> String {
    let mut genesis = pbft_genesis();
    change(&mut genesis);
    match genesis.state() {
        Ok(_) => panic!("genesis accepted"),
        Err(GenesisError::Invalid(message)) => message,
    }
}

#[test]
fn a_pbft_genesis_stores_its_nodes_and_their_keys_are_the_validators() {
    let chain = TestChain::from_genesis(pbft_genesis());
    let stored = config(&chain);
    assert_eq!(stored.engine, "pbft");
    assert_eq!(node_ids(&chain), ["node-a", "node-b"]);
    let validators = Validators::from_config(&stored).expect("32-byte keys");
    assert_eq!(validators.len(), 2);
    assert_eq!(validators.key("node-a"), Some(&node_key(1)));
    assert_eq!(validators.key("node-b"), Some(&node_key(2)));
    assert_eq!(
        validators.node_ids().collect::<Vec<_>>(),
        ["node-a", "node-b"]
    );
    // One node is a valid (if faultless-only) PBFT set.
    let mut one = pbft_genesis();
    one.consensus.nodes.truncate(1);
    assert!(one.state().is_ok());
}

#[test]
fn a_pbft_genesis_checks_its_nodes_like_raft() {
    assert_eq!(
        pbft_genesis_error(|g| g.consensus.nodes.clear()),
        "pbft consensus needs at least one node"
    );
    assert_eq!(
        pbft_genesis_error(|g| g.consensus.nodes[1].node_id = "node-a".into()),
        "consensus node node-a is listed twice"
    );
    assert_eq!(
        pbft_genesis_error(|g| g.consensus.nodes[1].public_key = hex::encode(node_key(1))),
        "consensus nodes node-a and node-b have the same network public key"
    );
    assert_eq!(
        pbft_genesis_error(|g| g.consensus.nodes[0].public_key = String::new()),
        "consensus node node-a needs its 32-byte network public key in hex"
    );
    assert_eq!(
        pbft_genesis_error(|g| g.consensus.nodes[0].public_key = "ab".repeat(31)),
        "consensus node node-a needs its 32-byte network public key in hex"
    );
    // The identity point: small order, so the signature rule would refuse every commit of it.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let message = pbft_genesis_error(|g| g.consensus.nodes[0].public_key = hex::encode(weak));
    assert!(
        message.starts_with("consensus node node-a: public key 0100")
            && message.ends_with("is a weak (small-order) key"),
        "{message}"
    );
    let message = pbft_genesis_error(|g| {
        g.consensus.nodes = (0..=CONSENSUS_NODES_MAX as u8)
            .map(|n| raft_node(&format!("node-{n:02}"), "bank-a", n))
            .collect();
    });
    assert_eq!(
        message,
        "pbft consensus runs at most 64 nodes, genesis lists 65"
    );
    let mut at_most = pbft_genesis();
    at_most.consensus.nodes = (0..CONSENSUS_NODES_MAX as u8)
        .map(|n| raft_node(&format!("node-{n:02}"), "bank-a", n))
        .collect();
    assert!(at_most.state().is_ok(), "64 nodes fit");
}

#[test]
fn a_keyless_node_makes_no_validator_set() {
    // A solo chain's node has no key: it can sign no certificate.
    let chain = TestChain::new();
    assert_eq!(
        Validators::from_config(&config(&chain)),
        Err(ValidatorsError::KeyLength {
            node_id: chain.genesis.consensus.nodes[0].node_id.clone(),
            got: 0,
        })
    );
    let mut stored = config(&raft_chain());
    stored.nodes[1].public_key.pop();
    assert_eq!(
        Validators::from_config(&stored),
        Err(ValidatorsError::KeyLength {
            node_id: "node-b".into(),
            got: 31,
        })
    );
}

#[test]
fn change_heights_list_every_block_that_changed_the_membership_once() {
    let mut chain = raft_chain();
    assert!(
        config(&chain).change_heights.is_empty(),
        "genesis changed nothing"
    );
    chain.govern(
        ADMIN_B,
        add_consensus_node("node-c", "bank-b", &node_key(3)),
    );
    let first = chain.height;
    assert_eq!(config(&chain).change_heights, [first]);

    // Two proposals pass in one block: the block is listed once.
    let add_d = chain.next_proposal_id();
    chain.ok(
        ADMIN_B,
        add_consensus_node("node-d", "bank-b", &node_key(4)),
    );
    let remove_c = chain.next_proposal_id();
    chain.ok(ADMIN_B, remove_consensus_node("node-c"));
    let nonce = chain.nonce(ADMIN_A);
    let votes = vec![
        chain.sign(ADMIN_A, nonce, vote(&add_d, true)),
        chain.sign(ADMIN_A, nonce + 1, vote(&remove_c, true)),
    ];
    let outcome = chain.block(votes);
    for result in &outcome.results {
        assert_ok(result);
    }
    let second = chain.height;
    assert_eq!(node_ids(&chain), ["node-a", "node-b", "node-d"]);
    assert_eq!(config(&chain).change_heights, [first, second]);

    // A block that changes something else leaves the list alone.
    chain.ok(ADMIN_A, freeze_account(SUP1));
    assert_eq!(config(&chain).change_heights, [first, second]);
}
