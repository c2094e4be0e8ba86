//! Governance (议案机制): proposals and votes. One test per rule: the threshold on both sides of
//! its boundary, each action kind, who may propose and vote, one vote per organisation, the
//! deadline and the chain's expiry step, re-checking an action when it passes, every rejection
//! changing nothing but the signer's nonce, traceability, and determinism under random
//! sequences (replaying the blocks gives the same roots).

use crate::common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use common::ops::*;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use vchain_contracts::execute::execute_block;
use vchain_contracts::genesis::{Genesis, GenesisAccount, GenesisOrganisation, Params};
use vchain_contracts::{consensus_config, keys, ROOT_CA_CERTIFICATE_BYTES_MAX};
use vchain_ledger::{MemoryLedger, StateReader};
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::{
    AddOrganisation, AdminAccount, ChainParams, ErrorCode, Event, EventKind, Organisation,
    Proposal, ProposalStatus, RemoveOrganisation, Role, RotateOrganisationCa, SetChainParams,
};

/// Administrator of the third member bank (when a test has one).
const ADMIN_C: &str = "bank-c-admin";
/// Administrator of the fourth member bank.
const ADMIN_D: &str = "bank-d-admin";
/// A minute, the shortest proposal lifetime.
const MINUTE_MS: u64 = 60_000;

/// Key seed, id, USCC number and admin of the extra banks.
const EXTRA_BANKS: [(&str, u32, &str, u8); 2] =
    [("bank-c", 3, ADMIN_C, 11), ("bank-d", 4, ADMIN_D, 12)];

/// The test genesis with `members` banks (2 to 4; bank A and bank B always), `params`, and the
/// raft engine if `raft`.
fn genesis_with(members: usize, params: Params, raft: bool) -> Genesis {
    assert!((1..=4).contains(&members));
    let mut genesis = if raft {
        raft_genesis(params)
    } else {
        common::genesis(params)
    };
    for (org_id, n, admin, seed) in EXTRA_BANKS.iter().take(members.saturating_sub(2)) {
        genesis.organisations.push(GenesisOrganisation {
            org_id: (*org_id).into(),
            name: format!("Bank {org_id}"),
            uscc: uscc(*n),
            admins: vec![GenesisAccount {
                account_id: (*admin).into(),
                public_key: hex::encode(key(*seed).verifying_key().as_bytes()),
                certificate: String::new(),
            }],
            root_ca_certificate: String::new(),
        });
    }
    if members == 1 {
        genesis.organisations.truncate(1);
        genesis.identities.clear();
        genesis.consensus.nodes.truncate(1);
    }
    genesis
}

/// A chain of `members` banks with `params` (solo engine).
fn chain_of(members: usize, params: Params) -> TestChain {
    chain_from(genesis_with(members, params, false))
}

/// A chain from `genesis`, with the extra banks' keys known to the harness.
fn chain_from(genesis: Genesis) -> TestChain {
    let mut chain = TestChain::from_genesis(genesis);
    for (_, _, admin, seed) in EXTRA_BANKS {
        chain.add_key(admin, key(seed));
    }
    chain
}

/// Parameters with the given approval threshold.
fn percent(percent: u32) -> Params {
    Params {
        proposal_approval_percent: percent,
        ..Params::default()
    }
}

/// A fresh root CA certificate (PEM) for `org_id`, valid from a day before genesis for ten
/// years. Each call makes a new key, so two calls never give the same certificate.
fn ca_for(org_id: &str) -> Vec<u8> {
    root_ca(org_id).certificate().to_pem().into_bytes()
}

/// A fresh root CA for `org_id`, valid from a day before genesis for ten years.
fn root_ca(org_id: &str) -> vchain_pki::RootCa {
    vchain_pki::RootCa::generate(
        org_id,
        vchain_pki::Validity {
            not_before_ms: GENESIS_TIME_MS - DAY_MS,
            not_after_ms: GENESIS_TIME_MS + 3650 * DAY_MS,
        },
    )
    .expect("root CA")
}

/// The DER bytes of a PEM certificate, as the chain stores it.
fn der(pem: &[u8]) -> Vec<u8> {
    vchain_contracts::certificate_der(pem).expect("certificate")
}

fn rotate_ca(org_id: &str, certificate: Vec<u8>) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::RotateOrganisationCa(RotateOrganisationCa {
        org_id: org_id.into(),
        root_ca_certificate: certificate,
    }))
}

fn remove_org(org_id: &str) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::RemoveOrganisation(RemoveOrganisation {
        org_id: org_id.into(),
    }))
}

fn add_org(
    org_id: &str,
    n: u32,
    admin: &str,
    seed: u8,
) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::AddOrganisation(AddOrganisation {
        org_id: org_id.into(),
        name: format!("Bank {org_id}"),
        uscc: uscc(n),
        admins: vec![AdminAccount {
            account_id: admin.into(),
            public_key: key(seed).verifying_key().to_bytes().to_vec(),
            certificate: Vec::new(),
        }],
        root_ca_certificate: Vec::new(),
    }))
}

/// [`add_org`] for an organisation that comes with its root CA: the administrator's account is
/// certified by it.
fn add_certified_org(
    ca: &vchain_pki::RootCa,
    n: u32,
    admin: &str,
    seed: u8,
) -> vchain_proto::v1::transaction_body::Operation {
    let org_id = ca.organisation().to_owned();
    let subject = vchain_pki::Subject {
        organisation: org_id.clone(),
        common_name: admin.into(),
        role: vchain_pki::CertRole::Account(vchain_pki::AccountRole::Administrator),
    };
    let certificate = ca
        .issue(
            &subject,
            &key(seed).verifying_key().to_bytes(),
            ca.validity(),
        )
        .expect("certificate");
    propose(Action::AddOrganisation(AddOrganisation {
        org_id: org_id.clone(),
        name: format!("Bank {org_id}"),
        uscc: uscc(n),
        admins: vec![AdminAccount {
            account_id: admin.into(),
            public_key: Vec::new(),
            certificate: certificate.to_pem().into_bytes(),
        }],
        root_ca_certificate: ca.certificate().to_pem().into_bytes(),
    }))
}

fn set_params(params: ChainParams) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::SetChainParams(SetChainParams {
        params: Some(params),
    }))
}

fn organisation(chain: &TestChain, org_id: &str) -> Organisation {
    chain
        .try_get(&keys::organisation(org_id))
        .unwrap_or_else(|| panic!("organisation {org_id} exists"))
}

fn params(chain: &TestChain) -> ChainParams {
    chain.try_get(keys::PARAMS).expect("params")
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(Event::kind).collect()
}

fn history(chain: &TestChain, id: &str) -> Vec<Event> {
    vchain_contracts::proposal_events(&chain.ledger, id).expect("reads")
}

/// Submits `op` by `proposer` and returns the new proposal's id.
fn submit(
    chain: &mut TestChain,
    proposer: &str,
    op: vchain_proto::v1::transaction_body::Operation,
) -> String {
    let id = chain.next_proposal_id();
    chain.ok(proposer, op);
    id
}

/// Whether the deadline queue holds `proposal`.
fn queued(chain: &TestChain, proposal: &Proposal) -> bool {
    chain
        .raw(&keys::proposal_deadline(proposal.deadline_ms, &proposal.id))
        .is_some()
}

// ---------------------------------------------------------------------------------------------
// The threshold
// ---------------------------------------------------------------------------------------------

#[test]
fn two_of_three_pass_at_66_percent() {
    let mut chain = chain_of(3, percent(66));
    let new_ca = ca_for("bank-b");
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-b", new_ca.clone()));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    // 2 × 100 = 200 > 66 × 3 = 198.
    let events = chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(
        kinds(&events),
        [
            EventKind::ProposalVoted,
            EventKind::OrganisationCaRotated,
            EventKind::ProposalPassed
        ]
    );
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
    assert_eq!(
        organisation(&chain, "bank-b").root_ca_certificate,
        der(&new_ca),
        "stored as DER"
    );
}

#[test]
fn two_of_three_do_not_pass_by_default_and_three_do() {
    // The default, 67: 2 × 100 = 200 is not > 67 × 3 = 201, so exactly two thirds is not enough.
    let mut chain = chain_of(3, Params::default());
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-b", ca_for("bank-b")));
    let events = chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(kinds(&events), [EventKind::ProposalVoted]);
    let open = chain.proposal(&id);
    assert_eq!(open.status(), ProposalStatus::Open);
    assert!(queued(&chain, &open));
    assert!(organisation(&chain, "bank-b")
        .root_ca_certificate
        .is_empty());
    chain.ok(ADMIN_C, vote(&id, true));
    let passed = chain.proposal(&id);
    assert_eq!(passed.status(), ProposalStatus::Passed);
    assert_eq!(passed.decided_height, chain.height);
    assert!(
        !queued(&chain, &passed),
        "a decided proposal leaves the queue"
    );
}

#[test]
fn three_of_four_pass_by_default_and_two_do_not() {
    let mut chain = chain_of(4, Params::default());
    let id = submit(&mut chain, ADMIN_B, rotate_ca("bank-b", ca_for("bank-b")));
    chain.ok(ADMIN_A, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open, "2 of 4");
    chain.ok(ADMIN_D, vote(&id, true));
    assert_eq!(
        chain.proposal(&id).status(),
        ProposalStatus::Passed,
        "3 of 4"
    );
}

#[test]
fn a_one_member_consortium_passes_at_submission() {
    let mut chain = chain_of(1, Params::default());
    let id = chain.next_proposal_id();
    let events = chain.ok(ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    assert_eq!(
        kinds(&events),
        [
            EventKind::ProposalSubmitted,
            EventKind::ProposalVoted,
            EventKind::OrganisationCaRotated,
            EventKind::ProposalPassed
        ]
    );
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
}

#[test]
fn enough_disapprovals_reject_at_once_and_change_nothing() {
    let mut chain = chain_of(3, Params::default());
    let before = organisation(&chain, "bank-b");
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-b", ca_for("bank-b")));
    // 1 approval, 1 disapproval, 1 undecided: at most 2 of 3, which cannot pass at 67%.
    let events = chain.ok(ADMIN_B, vote(&id, false));
    assert_eq!(
        kinds(&events),
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    let proposal = chain.proposal(&id);
    assert_eq!(proposal.status(), ProposalStatus::Rejected);
    // The tally as integers: 1 approval, 1 disapproval of 3 members, 67% needed; no rule failed.
    assert_eq!(
        (
            proposal.approvals,
            proposal.disapprovals,
            proposal.member_count,
            proposal.approval_percent
        ),
        (1, 1, 3, 67)
    );
    assert_eq!(proposal.rejected_by(), ErrorCode::Ok);
    assert!(!queued(&chain, &proposal));
    assert_eq!(organisation(&chain, "bank-b"), before);
    // A decided proposal takes no more votes.
    chain.reject(
        ADMIN_C,
        vote(&id, true),
        ErrorCode::ProposalNotOpen,
        &[&id, "PROPOSAL_STATUS_REJECTED"],
    );
}

#[test]
fn a_disapproval_that_still_leaves_a_way_to_pass_keeps_it_open() {
    // 4 members at 50%: A approves, B disapproves; C and D could still make 3 of 4.
    let mut chain = chain_of(4, percent(50));
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-b", ca_for("bank-b")));
    chain.ok(ADMIN_B, vote(&id, false));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    chain.ok(ADMIN_C, vote(&id, true));
    assert_eq!(
        chain.proposal(&id).status(),
        ProposalStatus::Open,
        "2 of 4 is not more than half"
    );
    chain.ok(ADMIN_D, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

#[test]
fn adding_a_consensus_node_by_proposal_updates_p_consensus() {
    let mut chain = chain_from(genesis_with(3, Params::default(), true));
    let id = submit(
        &mut chain,
        ADMIN_A,
        add_consensus_node("node-c", "bank-a", &node_key(3)),
    );
    chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(
        consensus_config(&chain.ledger).expect("config").nodes.len(),
        2,
        "2 of 3"
    );
    let events = chain.ok(ADMIN_C, vote(&id, true));
    let added = events
        .iter()
        .find(|e| e.kind() == EventKind::ConsensusNodeAdded)
        .expect("node added");
    assert_eq!(added.proposal_id, id);
    let config = consensus_config(&chain.ledger).expect("config");
    let ids: Vec<&str> = config.nodes.iter().map(|n| n.node_id.as_str()).collect();
    assert_eq!(ids, ["node-a", "node-b", "node-c"]);
}

#[test]
fn an_added_organisation_counts_acts_and_votes() {
    let mut chain = chain_of(2, Params::default());
    let ca = root_ca("bank-c");
    let id = submit(&mut chain, ADMIN_A, add_certified_org(&ca, 3, ADMIN_C, 11));
    let events = chain.ok(ADMIN_B, vote(&id, true));
    let added = events
        .iter()
        .find(|e| e.kind() == EventKind::OrganisationAdded)
        .expect("organisation added");
    assert_eq!(added.org_id, "bank-c");
    assert_eq!(added.accounts, [ADMIN_C]);
    let record = organisation(&chain, "bank-c");
    assert_eq!(record.added_height, chain.height);
    assert_eq!(record.root_ca_certificate, ca.certificate().as_der());
    assert!(!record.removed);
    let admin = chain.account(ADMIN_C);
    assert_eq!(admin.role(), Role::Administrator);
    // Its administrator is certified by its CA, and the certificate is in the registry.
    assert_eq!(admin.public_key, key(11).verifying_key().to_bytes());
    assert!(!admin.certificate_serial.is_empty());
    let cert =
        vchain_contracts::certificate_record(&chain.ledger, "bank-c", &admin.certificate_serial)
            .expect("read")
            .expect("registered");
    assert_eq!(cert.subject_id, ADMIN_C);
    assert_eq!(cert.role, "administrator");
    assert_eq!(admin.org_id, "bank-c");
    assert_eq!(chain.identity(&uscc(3)).accounts, [ADMIN_C]);
    // In the audit log, like every permission change.
    let audit = chain.scan(keys::AUDIT_PREFIX);
    let last = Event::decode(audit.last().expect("audit entries").1.as_slice()).expect("event");
    assert_eq!(last.kind(), EventKind::OrganisationAdded);

    // Its administrator acts at once.
    // It certifies what it registers: a bare key is refused, a certificate from its CA is not.
    chain.reject(
        ADMIN_C,
        register_identity(
            &uscc(60),
            Role::Supplier,
            "sup-c",
            &key(30).verifying_key().to_bytes(),
        ),
        ErrorCode::CertificateRequired,
        &["bank-c has a root CA", "sup-c"],
    );
    let certificate = account_certificate(
        &ca,
        "sup-c",
        Role::Supplier,
        &key(30).verifying_key().to_bytes(),
    );
    chain.ok(
        ADMIN_C,
        register_certified_identity(&uscc(60), Role::Supplier, "sup-c", &certificate),
    );
    assert_eq!(chain.identity(&uscc(60)).org_id, "bank-c");
    assert_eq!(
        chain.account("sup-c").public_key,
        key(30).verifying_key().to_bytes()
    );
    // And three members now need three approvals (2 of 3 is not more than 67%).
    let id = submit(&mut chain, ADMIN_C, rotate_ca("bank-c", ca_for("bank-c")));
    chain.ok(ADMIN_A, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
}

#[test]
fn adding_an_organisation_checks_its_content() {
    let mut chain = chain_of(2, Params::default());
    chain.reject(
        ADMIN_A,
        add_org("bank-b", 3, ADMIN_C, 11),
        ErrorCode::OrganisationExists,
        &["bank-b", "already a member"],
    );
    chain.reject(
        ADMIN_A,
        add_org("bank-c", 1, ADMIN_C, 11),
        ErrorCode::IdentityExists,
        &[&uscc(1)],
    );
    chain.reject(
        ADMIN_A,
        add_org("bank-c", 3, ADMIN_B, 11),
        ErrorCode::AccountExists,
        &[ADMIN_B],
    );
    chain.reject(
        ADMIN_A,
        add_org("bank-c", 3, ADMIN_C, 1),
        ErrorCode::InvalidPublicKey,
        &["already bound", ADMIN_A],
    );
    chain.reject(
        ADMIN_A,
        add_org("Bank C", 3, ADMIN_C, 11),
        ErrorCode::InvalidAccountId,
        &["Bank C"],
    );
    let mut no_admins = AddOrganisation {
        org_id: "bank-c".into(),
        name: "Bank C".into(),
        uscc: uscc(3),
        admins: vec![],
        root_ca_certificate: vec![],
    };
    chain.reject(
        ADMIN_A,
        propose(Action::AddOrganisation(no_admins.clone())),
        ErrorCode::InvalidArgument,
        &["1 to 16 administrator accounts"],
    );
    no_admins.admins = vec![
        AdminAccount {
            account_id: ADMIN_C.into(),
            public_key: key(11).verifying_key().to_bytes().to_vec(),
            certificate: Vec::new(),
        };
        2
    ];
    chain.reject(
        ADMIN_A,
        propose(Action::AddOrganisation(no_admins)),
        ErrorCode::AccountExists,
        &["listed twice"],
    );
}

#[test]
fn removing_an_organisation_stops_its_administrators_and_keeps_its_records() {
    let mut chain = chain_of(3, Params::default());
    let id = submit(&mut chain, ADMIN_A, remove_org("bank-c"));
    chain.ok(ADMIN_B, vote(&id, true));
    assert!(!organisation(&chain, "bank-c").removed, "2 of 3");
    let events = chain.ok(ADMIN_C, vote(&id, true));
    assert!(kinds(&events).contains(&EventKind::OrganisationRemoved));
    let record = organisation(&chain, "bank-c");
    assert!(record.removed);
    assert_eq!(record.removed_height, chain.height);
    // Its administrator can no longer act (the nonce is spent, like any rejected operation).
    chain.reject(
        ADMIN_C,
        rotate_ca("bank-a", ca_for("bank-a")),
        ErrorCode::IdentityInactive,
        &[ADMIN_C, "bank-c", "not a consortium member"],
    );
    // Two members remain: both must approve, and the id is never reused.
    chain.reject(
        ADMIN_A,
        add_org("bank-c", 5, "bank-c-admin-2", 13),
        ErrorCode::OrganisationExists,
        &["bank-c", "cannot be reused"],
    );
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-c", ca_for("bank-c")),
        ErrorCode::OrganisationNotFound,
        &["bank-c", "removed"],
    );
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open, "1 of 2");
}

#[test]
fn the_last_organisation_cannot_be_removed() {
    let mut chain = chain_of(1, Params::default());
    chain.reject(
        ADMIN_A,
        remove_org("bank-a"),
        ErrorCode::OrganisationLast,
        &["bank-a", "last member"],
    );
}

#[test]
fn an_organisation_running_consensus_nodes_cannot_be_removed() {
    let mut chain = chain_from(genesis_with(3, Params::default(), true));
    chain.reject(
        ADMIN_A,
        remove_org("bank-b"),
        ErrorCode::OrganisationRunsNodes,
        &["bank-b", "node-b", "remove them first"],
    );
}

#[test]
fn rotating_a_ca_verifies_it_stores_its_der_and_audits_its_digest() {
    let mut chain = chain_of(2, Params::default());
    let new = ca_for("bank-b");
    let id = submit(&mut chain, ADMIN_B, rotate_ca("bank-b", new.clone()));
    let events = chain.ok(ADMIN_A, vote(&id, true));
    let rotated = events
        .iter()
        .find(|e| e.kind() == EventKind::OrganisationCaRotated)
        .expect("rotated");
    use sha2::Digest;
    assert_eq!(rotated.digest, sha2::Sha256::digest(der(&new)).to_vec());
    assert_eq!(rotated.org_id, "bank-b");
    assert_eq!(
        organisation(&chain, "bank-b").root_ca_certificate,
        der(&new)
    );

    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", vec![]),
        ErrorCode::InvalidArgument,
        &["certificate is required"],
    );
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", vec![b'A'; ROOT_CA_CERTIFICATE_BYTES_MAX + 1]),
        ErrorCode::InvalidArgument,
        &["8193 bytes", "8192"],
    );
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", b"not a certificate".to_vec()),
        ErrorCode::CertificateInvalid,
        &["root CA certificate of bank-b", "malformed"],
    );
    // Forged: one bit of the signature flipped.
    let mut forged = der(&ca_for("bank-b"));
    let last = forged.len() - 1;
    forged[last] ^= 1;
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", forged),
        ErrorCode::CertificateInvalid,
        &["signature does not verify"],
    );
    // Another organisation's root.
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", ca_for("bank-a")),
        ErrorCode::CertificateMismatch,
        &["for organisation \"bank-a\"", "not \"bank-b\""],
    );
    // Expired before this block.
    let expired = vchain_pki::RootCa::generate(
        "bank-b",
        vchain_pki::Validity {
            not_before_ms: GENESIS_TIME_MS - 10 * DAY_MS,
            not_after_ms: GENESIS_TIME_MS - DAY_MS,
        },
    )
    .expect("root CA");
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", expired.certificate().as_der().to_vec()),
        ErrorCode::CertificateExpired,
        &["root CA certificate of bank-b", "expired"],
    );
    // A leaf is not a CA.
    let ca = root_ca("bank-b");
    let leaf = ca
        .issue(
            &vchain_pki::Subject {
                organisation: "bank-b".into(),
                common_name: "node-x".into(),
                role: vchain_pki::CertRole::Node,
            },
            &key(77).verifying_key().to_bytes(),
            ca.validity(),
        )
        .expect("leaf");
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", leaf.to_pem().into_bytes()),
        ErrorCode::CertificateInvalid,
        &["root CA certificate of bank-b"],
    );
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-z", ca_for("bank-z")),
        ErrorCode::OrganisationNotFound,
        &["bank-z"],
    );
    // The same root again, PEM or DER.
    chain.reject(
        ADMIN_A,
        rotate_ca("bank-b", der(&new)),
        ErrorCode::InvalidProposal,
        &["already has this root CA certificate"],
    );
}

#[test]
fn changed_params_take_effect_from_the_next_block() {
    let mut chain = chain_of(2, Params::default());
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 3_000, 30);
    let mut new = params(&chain);
    new.split_fanout_max = 2;
    new.proposal_approval_percent = 50;
    let id = submit(&mut chain, ADMIN_A, set_params(new));
    // The passing vote and a split into three in the same block: the block runs on the old
    // parameters throughout.
    let nonce_b = chain.nonce(ADMIN_B);
    let nonce_s = chain.nonce(SUP1);
    let outcome = chain.block(vec![
        chain.sign(ADMIN_B, nonce_b, vote(&id, true)),
        chain.sign(SUP1, nonce_s, split(&voucher, &[1_000, 1_000, 1_000])),
    ]);
    assert_ok(&outcome.results[0]);
    assert_ok(&outcome.results[1]);
    let changed = outcome.results[0]
        .events
        .iter()
        .find(|e| e.kind() == EventKind::ChainParamsChanged)
        .expect("changed");
    assert_eq!(
        changed.params.as_ref().map(|p| p.split_fanout_max),
        Some(2),
        "the event carries the new parameters"
    );
    assert_eq!(
        changed.params.as_ref().map(|p| p.proposal_approval_percent),
        Some(50)
    );
    assert!(changed.detail.is_empty(), "no words from the chain");
    assert_eq!(params(&chain), new);
    // From the next block on, the new parameters hold.
    let child = chain.voucher(&voucher).children[0].clone();
    chain.reject(
        SUP1,
        split(&child, &[300, 300, 400]),
        ErrorCode::SplitFanout,
        &[],
    );
}

#[test]
fn params_are_checked_like_genesis_and_the_time_zone_is_fixed() {
    let mut chain = chain_of(2, Params::default());
    let current = params(&chain);
    for (change, fragment) in [
        (
            ChainParams {
                proposal_approval_percent: 100,
                ..current
            },
            "proposal_approval_percent must be within 50..=99",
        ),
        (
            ChainParams {
                proposal_approval_percent: 49,
                ..current
            },
            "proposal_approval_percent",
        ),
        (
            ChainParams {
                proposal_ttl_ms: MINUTE_MS - 1,
                ..current
            },
            "proposal_ttl_ms must be within one minute..=90 days",
        ),
        (
            ChainParams {
                split_fanout_max: 1,
                ..current
            },
            "split_fanout_max must be at least 2",
        ),
        (
            ChainParams {
                utc_offset_minutes: 0,
                ..current
            },
            "utc_offset_minutes cannot change",
        ),
        (
            ChainParams {
                tx_bytes_max: vchain_contracts::limits::TX_BYTES_LIMIT + 1,
                ..current
            },
            "tx_bytes_max must be at most 65536 (TX_BYTES_LIMIT)",
        ),
        (
            ChainParams {
                block_bytes_max: vchain_contracts::limits::BLOCK_BYTES_LIMIT + 1,
                ..current
            },
            "block_bytes_max must be at most 8388608 (BLOCK_BYTES_LIMIT)",
        ),
        (
            ChainParams {
                block_tx_max: vchain_contracts::limits::BLOCK_TX_LIMIT + 1,
                ..current
            },
            "block_tx_max must be at most 10000 (BLOCK_TX_LIMIT)",
        ),
        (
            ChainParams {
                destroy_per_block_max: vchain_contracts::limits::DESTROY_PER_BLOCK_LIMIT + 1,
                ..current
            },
            "destroy_per_block_max must be at most 1024",
        ),
        (current, "equal the current ones"),
    ] {
        chain.reject(
            ADMIN_A,
            set_params(change),
            ErrorCode::InvalidProposal,
            &[fragment],
        );
    }
    chain.reject(
        ADMIN_A,
        propose(Action::SetChainParams(SetChainParams { params: None })),
        ErrorCode::InvalidProposal,
        &["complete new parameters"],
    );
}

#[test]
fn a_changed_threshold_and_lifetime_apply_to_later_proposals() {
    let mut chain = chain_of(3, Params::default());
    let mut new = params(&chain);
    new.proposal_approval_percent = 50;
    new.proposal_ttl_ms = MINUTE_MS;
    chain.govern(ADMIN_A, set_params(new));
    // 2 of 3 now pass; proposals live a minute.
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    let proposal = chain.proposal(&id);
    assert_eq!(proposal.deadline_ms, proposal.submitted_ms + MINUTE_MS);
    chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
}

// ---------------------------------------------------------------------------------------------
// Who may propose and vote; one vote per organisation
// ---------------------------------------------------------------------------------------------

#[test]
fn only_administrators_propose_and_vote() {
    let mut chain = chain_of(3, Params::default());
    chain.reject(
        FINANCIER,
        rotate_ca("bank-a", ca_for("bank-a")),
        ErrorCode::WrongRole,
        &["submitting a proposal", "ROLE_ADMINISTRATOR", FINANCIER],
    );
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    for account in [FINANCIER, REGULATOR, SUP1] {
        chain.reject(
            account,
            vote(&id, true),
            ErrorCode::WrongRole,
            &["voting on a proposal", "ROLE_ADMINISTRATOR", account],
        );
    }
    assert_eq!(chain.proposal(&id).votes.len(), 1);
}

#[test]
fn an_organisation_votes_once_whichever_administrator_signs() {
    let mut chain = chain_of(3, Params::default());
    // A second administrator account of bank A.
    chain.ok(
        ADMIN_A,
        register_account(
            &uscc(1),
            "bank-a-admin-2",
            &key(13).verifying_key().to_bytes(),
        ),
    );
    chain.add_key("bank-a-admin-2", key(13));
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    for account in [ADMIN_A, "bank-a-admin-2"] {
        chain.reject(
            account,
            vote(&id, false),
            ErrorCode::ProposalAlreadyVoted,
            &["bank-a", &id, ADMIN_A],
        );
    }
    chain.ok(ADMIN_B, vote(&id, false));
    // B's disapproval left at most 2 of 3 approvals, which cannot pass at 67%.
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Rejected);
}

#[test]
fn votes_on_unknown_proposals_are_refused() {
    let mut chain = chain_of(2, Params::default());
    chain.reject(
        ADMIN_A,
        vote("P000000000042", true),
        ErrorCode::ProposalNotFound,
        &["P000000000042"],
    );
}

#[test]
fn malformed_proposals_are_refused() {
    let mut chain = chain_of(2, Params::default());
    chain.reject(
        ADMIN_A,
        vchain_proto::v1::transaction_body::Operation::SubmitProposal(
            vchain_proto::v1::SubmitProposal {
                action: None,
                title: "nothing".into(),
                reason: String::new(),
            },
        ),
        ErrorCode::InvalidProposal,
        &["no action"],
    );
    chain.reject(
        ADMIN_A,
        vchain_proto::v1::transaction_body::Operation::SubmitProposal(
            vchain_proto::v1::SubmitProposal {
                action: Some(Action::RemoveOrganisation(RemoveOrganisation {
                    org_id: "bank-b".into(),
                })),
                title: " ".into(),
                reason: String::new(),
            },
        ),
        ErrorCode::InvalidArgument,
        &["proposal title is required"],
    );
    assert_eq!(chain.next_proposal_id(), "P000000000001", "no id was used");
}

// ---------------------------------------------------------------------------------------------
// Deadline and expiry
// ---------------------------------------------------------------------------------------------

#[test]
fn a_proposal_expires_at_its_deadline_and_changes_nothing() {
    let mut chain = chain_of(
        3,
        Params {
            proposal_ttl_ms: MINUTE_MS,
            ..Params::default()
        },
    );
    let before = organisation(&chain, "bank-a");
    let id = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    let deadline = chain.proposal(&id).deadline_ms;
    // A vote a millisecond before the deadline still counts.
    chain.time_ms = deadline - 1;
    chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    // The first block at the deadline expires it before its transactions run.
    chain.time_ms = deadline;
    let nonce = chain.nonce(ADMIN_C);
    let outcome = chain.block(vec![chain.sign(ADMIN_C, nonce, vote(&id, true))]);
    assert_eq!(kinds(&outcome.system_events), [EventKind::ProposalExpired]);
    let expired = &outcome.system_events[0];
    assert_eq!(expired.proposal_id, id);
    assert!(
        expired.tx_hash.is_empty() && expired.actor.is_empty(),
        "the chain acted"
    );
    assert_rejection(&outcome.results[0], ErrorCode::ProposalExpired, &[&id]);
    let proposal = chain.proposal(&id);
    assert_eq!(proposal.status(), ProposalStatus::Expired);
    assert_eq!(proposal.decided_height, chain.height);
    assert!(!queued(&chain, &proposal));
    assert_eq!(organisation(&chain, "bank-a"), before, "nothing applied");
    assert_eq!(history(&chain, &id).last(), Some(expired));
    // Later votes get the same typed error.
    chain.reject(ADMIN_C, vote(&id, true), ErrorCode::ProposalExpired, &[&id]);
}

#[test]
fn expiry_is_bounded_per_block_and_votes_past_the_deadline_are_refused_meanwhile() {
    let max = vchain_contracts::PROPOSAL_EXPIRY_PER_BLOCK_MAX;
    let mut chain = chain_of(
        2,
        Params {
            proposal_ttl_ms: MINUTE_MS,
            ..Params::default()
        },
    );
    let first = chain.next_proposal_id();
    let nonce = chain.nonce(ADMIN_A);
    let transactions = (0..=max as u64)
        .map(|i| chain.sign(ADMIN_A, nonce + i, rotate_ca("bank-a", ca_for("bank-a"))))
        .collect();
    let outcome = chain.block(transactions);
    assert!(outcome.results.iter().all(|r| r.code() == ErrorCode::Ok));
    let last = format!("P{:012}", max + 1);
    assert_eq!(chain.proposal(&last).status(), ProposalStatus::Open);

    chain.time_ms += MINUTE_MS;
    let nonce = chain.nonce(ADMIN_B);
    let outcome = chain.block(vec![chain.sign(ADMIN_B, nonce, vote(&last, true))]);
    assert_eq!(outcome.system_events.len(), max);
    assert_eq!(chain.proposal(&first).status(), ProposalStatus::Expired);
    // Past its deadline but not yet expired by the chain: still refused.
    assert_rejection(
        &outcome.results[0],
        ErrorCode::ProposalExpired,
        &[&last, "the block time is"],
    );
    assert_eq!(chain.proposal(&last).status(), ProposalStatus::Open);
    let outcome = chain.block(vec![]);
    assert_eq!(kinds(&outcome.system_events), [EventKind::ProposalExpired]);
    assert_eq!(chain.proposal(&last).status(), ProposalStatus::Expired);
    assert!(chain.scan(keys::PROPOSAL_DEADLINE_PREFIX).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Checked again when it passes
// ---------------------------------------------------------------------------------------------

#[test]
fn an_action_that_no_longer_applies_is_rejected_with_nothing_applied() {
    let mut chain = chain_of(2, Params::default());
    // Both name the same new administrator account; each is valid alone.
    let first = submit(&mut chain, ADMIN_A, add_org("bank-c", 3, ADMIN_C, 11));
    let second = submit(&mut chain, ADMIN_A, add_org("bank-d", 4, ADMIN_C, 12));
    chain.ok(ADMIN_B, vote(&first, true));
    // Bank C is a member now: the second proposal needs its approval too (2 of 3 is not enough).
    chain.ok(ADMIN_B, vote(&second, true));
    assert_eq!(chain.proposal(&second).status(), ProposalStatus::Open);
    let root = chain.ledger.root();
    let outcome = chain.submit_outcome(ADMIN_C, vote(&second, true));
    assert_eq!(
        kinds(&outcome.results[0].events),
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    let proposal = chain.proposal(&second);
    assert_eq!(proposal.status(), ProposalStatus::Rejected);
    assert_eq!(proposal.rejected_by(), ErrorCode::AccountExists);
    assert_eq!((proposal.approvals, proposal.member_count), (3, 3));
    let decided = outcome.results[0].events.last().expect("decision event");
    assert_eq!(decided.code(), ErrorCode::AccountExists);
    assert!(chain
        .try_get::<Organisation>(&keys::organisation("bank-d"))
        .is_none());
    assert!(chain.raw(&keys::identity(&uscc(4))).is_none());
    // Only the vote's bookkeeping was written: the nonce, the proposal, its history, the queue.
    for key in outcome.state_writes.keys() {
        let key = String::from_utf8_lossy(key);
        assert!(
            key == String::from_utf8_lossy(&keys::account(ADMIN_C))
                || key.starts_with("g/")
                || key.starts_with("ge/")
                || key.starts_with("gx/"),
            "unexpected write {key}"
        );
    }
    assert_ne!(chain.ledger.root(), root);
}

// ---------------------------------------------------------------------------------------------
// Traceability
// ---------------------------------------------------------------------------------------------

#[test]
fn every_proposal_and_vote_is_traceable() {
    let mut chain = chain_of(3, percent(50));
    let id = submit(&mut chain, ADMIN_B, rotate_ca("bank-b", ca_for("bank-b")));
    chain.ok(ADMIN_A, vote(&id, false));
    chain.ok(ADMIN_C, vote(&id, true));
    let proposal = chain.proposal(&id);
    assert_eq!(proposal.id, "P000000000001");
    assert_eq!(proposal.proposer, ADMIN_B);
    assert_eq!(proposal.proposer_org, "bank-b");
    let votes: Vec<(&str, &str, bool)> = proposal
        .votes
        .iter()
        .map(|v| (v.org_id.as_str(), v.account.as_str(), v.approve))
        .collect();
    assert_eq!(
        votes,
        [
            ("bank-b", ADMIN_B, true),
            ("bank-a", ADMIN_A, false),
            ("bank-c", ADMIN_C, true)
        ]
    );
    assert!(proposal
        .votes
        .iter()
        .all(|v| v.tx_hash.len() == 32 && v.height > 0));
    assert_eq!(
        proposal.submission.as_ref().map(|s| s.title.as_str()),
        Some("test proposal")
    );
    let events = history(&chain, &id);
    assert_eq!(
        kinds(&events),
        [
            EventKind::ProposalSubmitted,
            EventKind::ProposalVoted,
            EventKind::ProposalVoted,
            EventKind::ProposalVoted,
            EventKind::OrganisationCaRotated,
            EventKind::ProposalPassed
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.proposal_id == id && !e.tx_hash.is_empty()));
    assert!(events.windows(2).all(|w| w[0].height <= w[1].height));
    // The listing reader pages in submission order.
    let second = submit(&mut chain, ADMIN_A, rotate_ca("bank-a", ca_for("bank-a")));
    let all = vchain_contracts::proposals(&chain.ledger, None, 10).expect("reads");
    let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [id.as_str(), second.as_str()]);
    let after = vchain_contracts::proposals(&chain.ledger, Some(&id), 10).expect("reads");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, second);
    assert!(vchain_contracts::proposal(&chain.ledger, "P000000000099")
        .expect("reads")
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------------------------

#[test]
fn genesis_files_without_governance_params_keep_their_genesis_state() {
    // 0 stands for the defaults, and proto3 leaves zero fields out: the stored parameters, and
    // so the genesis block of an existing chain, are the bytes they were before governance.
    let stored = Params::default().to_proto().encode_to_vec();
    let without = ChainParams {
        proposal_approval_percent: 0,
        proposal_ttl_ms: 0,
        ..Params::default().to_proto()
    };
    assert_eq!(stored, without.encode_to_vec());
    assert_eq!(vchain_contracts::approval_percent(&without), 67);
    assert_eq!(vchain_contracts::proposal_ttl_ms(&without), 7 * DAY_MS);
    let mut genesis = genesis_with(2, Params::default(), false);
    genesis.params.proposal_approval_percent = 100;
    assert!(genesis.state().is_err());
    genesis.params.proposal_approval_percent = 99;
    genesis.params.proposal_ttl_ms = 91 * DAY_MS;
    assert!(genesis.state().is_err());
    genesis.params.proposal_ttl_ms = 90 * DAY_MS;
    assert!(genesis.state().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Determinism and invariants under random sequences
// ---------------------------------------------------------------------------------------------

/// One random governance step.
#[derive(Debug, Clone)]
enum Step {
    /// A proposal by signer `signer` (index into SIGNERS) of kind `kind`.
    Submit { signer: usize, kind: u8, n: u8 },
    /// A vote by `signer` on the `which`-th proposal so far.
    Vote {
        signer: usize,
        which: usize,
        approve: bool,
    },
    /// Time passes (in seconds, up to a few minutes against a 2-minute lifetime).
    Wait { seconds: u64 },
    /// Close the block.
    Seal,
}

const SIGNERS: [&str; 5] = [ADMIN_A, ADMIN_B, ADMIN_C, ADMIN_D, FINANCIER];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..SIGNERS.len(), 0u8..5, 0u8..6).prop_map(|(signer, kind, n)| Step::Submit { signer, kind, n }),
        5 => (0..SIGNERS.len(), 0usize..12, any::<bool>()).prop_map(|(signer, which, approve)| Step::Vote { signer, which, approve }),
        1 => (1u64..200).prop_map(|seconds| Step::Wait { seconds }),
        2 => Just(Step::Seal),
    ]
}

fn random_action(
    chain: &TestChain,
    kind: u8,
    n: u8,
) -> vchain_proto::v1::transaction_body::Operation {
    let orgs = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "bank-f"];
    let org = orgs[usize::from(n) % orgs.len()];
    match kind {
        0 => rotate_ca(org, ca_for(org)),
        1 => remove_org(org),
        2 => add_org(
            orgs[4 + usize::from(n) % 2],
            70 + u32::from(n),
            &format!("new-admin-{}", n % 3),
            40 + n % 3,
        ),
        3 => {
            let mut params = params(chain);
            params.split_fanout_max = 2 + u32::from(n);
            params.proposal_approval_percent = [0, 50, 60, 75, 99, 67][usize::from(n)];
            set_params(params)
        }
        _ => add_consensus_node(&format!("node-{}", n % 3), org, &node_key(10 + n % 3)),
    }
}

fn check_invariants(chain: &TestChain) {
    let members: Vec<String> = chain.member_admins().into_keys().collect();
    assert!(!members.is_empty(), "a consortium keeps a member");
    let queue: Vec<(u64, String)> = chain
        .scan(keys::PROPOSAL_DEADLINE_PREFIX)
        .into_iter()
        .map(|(k, _)| keys::parse_proposal_deadline(&k).expect("queue key"))
        .collect();
    let proposals = vchain_contracts::proposals(&chain.ledger, None, 1_000).expect("reads");
    let open: Vec<(u64, String)> = proposals
        .iter()
        .filter(|p| p.status() == ProposalStatus::Open)
        .map(|p| (p.deadline_ms, p.id.clone()))
        .collect();
    let mut sorted = open.clone();
    sorted.sort();
    assert_eq!(
        queue, sorted,
        "the deadline queue holds exactly the open proposals"
    );
    for proposal in &proposals {
        let mut orgs: Vec<&str> = proposal.votes.iter().map(|v| v.org_id.as_str()).collect();
        let count = orgs.len();
        orgs.sort();
        orgs.dedup();
        assert_eq!(
            orgs.len(),
            count,
            "one vote per organisation in {}",
            proposal.id
        );
        assert_eq!(
            proposal.votes.first().map(|v| v.org_id.as_str()),
            Some(proposal.proposer_org.as_str())
        );
        assert_eq!(
            proposal.status() == ProposalStatus::Open,
            proposal.decided_height == 0,
            "{}",
            proposal.id
        );
    }
}

fn run_governance(steps: &[Step], seen: &mut BTreeMap<String, u32>) {
    let mut genesis = genesis_with(
        4,
        Params {
            proposal_ttl_ms: 2 * MINUTE_MS,
            ..Params::default()
        },
        true,
    );
    genesis.consensus.nodes.truncate(1);
    let mut chain = chain_from(genesis);
    for n in 0..3u8 {
        chain.add_key(&format!("new-admin-{n}"), key(40 + n));
    }
    let mut pending = Vec::new();
    let mut nonces: BTreeMap<&str, u64> = BTreeMap::new();
    let mut submitted = 0usize;
    let flush = |chain: &mut TestChain, pending: &mut Vec<_>, seen: &mut BTreeMap<String, u32>| {
        let outcome = chain.block(std::mem::take(pending));
        for result in &outcome.results {
            *seen
                .entry(result.code().as_str_name().to_owned())
                .or_default() += 1;
        }
        for event in outcome.events() {
            *seen
                .entry(event.kind().as_str_name().to_owned())
                .or_default() += 1;
        }
        check_invariants(chain);
    };
    for step in steps {
        match step {
            Step::Submit { signer, kind, n } => {
                let signer = SIGNERS[*signer];
                let nonce = *nonces.entry(signer).or_insert_with(|| chain.nonce(signer));
                nonces.insert(signer, nonce + 1);
                let op = random_action(&chain, *kind, *n);
                pending.push(chain.sign(signer, nonce, op));
                submitted += 1;
            }
            Step::Vote {
                signer,
                which,
                approve,
            } => {
                let signer = SIGNERS[*signer];
                let nonce = *nonces.entry(signer).or_insert_with(|| chain.nonce(signer));
                nonces.insert(signer, nonce + 1);
                let id = format!("P{:012}", 1 + which % submitted.max(1));
                pending.push(chain.sign(signer, nonce, vote(&id, *approve)));
            }
            Step::Wait { seconds } => chain.time_ms += seconds * 1_000,
            Step::Seal => {
                flush(&mut chain, &mut pending, seen);
                nonces.clear();
            }
        }
    }
    flush(&mut chain, &mut pending, seen);

    // The same blocks on a fresh ledger give the same outcomes and roots.
    let mut fresh = MemoryLedger::new();
    fresh
        .apply(&chain.genesis.state().expect("valid genesis"))
        .expect("apply genesis");
    for record in &chain.history {
        let outcome =
            execute_block(&fresh, &record.context, &record.transactions).expect("replay executes");
        assert_eq!(
            outcome, record.outcome,
            "replayed block {} differs",
            record.context.height
        );
        assert_eq!(
            fresh.apply(&outcome.state_writes).expect("apply"),
            record.root,
            "state root after block {}",
            record.context.height
        );
    }
    assert_eq!(fresh, chain.ledger);
    assert!(fresh.get(keys::PARAMS).expect("reads").is_some());
}

#[test]
fn random_governance_sequences_keep_the_invariants_and_replay_to_the_same_roots() {
    let seen = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(step(), 1..60), |steps| {
        run_governance(&steps, &mut seen.borrow_mut());
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let seen = seen.into_inner();
    for needed in [
        "EVENT_KIND_PROPOSAL_SUBMITTED",
        "EVENT_KIND_PROPOSAL_PASSED",
        "EVENT_KIND_PROPOSAL_REJECTED",
        "EVENT_KIND_PROPOSAL_EXPIRED",
        "PROPOSAL_ALREADY_VOTED",
        "WRONG_ROLE",
    ] {
        assert!(
            seen.get(needed).copied().unwrap_or(0) > 0,
            "no {needed} in the random cases: {seen:?}"
        );
    }
}
