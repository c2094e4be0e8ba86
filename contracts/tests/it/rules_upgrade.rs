//! Chain rules versions (ADR 0016): scheduling an upgrade by proposal (every acceptance and
//! refusal, at submission and again when it passes), its activation first thing in the block at
//! exactly its height, a chain that never upgrades writing nothing about versions, and the first
//! rule that differs between versions: the lineage depth, a constant under v1, the chain
//! parameter `lineage_depth_max` under v2, and that parameter with a default of 1,024 under v3;
//! and a genesis that starts a chain on a later version.

use crate::common;

use common::ops::*;
use common::*;
use vchain_contracts::execute::execute_block;
use vchain_contracts::genesis::Params;
use vchain_contracts::keys;
use vchain_contracts::limits::LINEAGE_DEPTH_LIMIT;
use vchain_contracts::rules::{
    self, LINEAGE_DEPTH_DEFAULT_V3, LINEAGE_DEPTH_MAX_V1, RULES_ACTIVATION_NOTICE_MAX,
    RULES_ACTIVATION_NOTICE_MIN, RULES_VERSION_MAX,
};
use vchain_contracts::ExecError;
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::{
    ChainParams, ChainRules, ErrorCode, Event, EventKind, ProposalStatus, ScheduleRulesUpgrade,
    SetChainParams,
};

fn schedule(version: u32, activation_height: u64) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::ScheduleRulesUpgrade(ScheduleRulesUpgrade {
        version,
        activation_height,
    }))
}

fn set_params(params: ChainParams) -> vchain_proto::v1::transaction_body::Operation {
    propose(Action::SetChainParams(SetChainParams {
        params: Some(params),
    }))
}

fn params(chain: &TestChain) -> ChainParams {
    chain.try_get(keys::PARAMS).expect("params")
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(Event::kind).collect()
}

fn active(chain: &TestChain) -> ChainRules {
    rules::active_rules(&chain.ledger).expect("reads")
}

fn pending(chain: &TestChain) -> Option<ChainRules> {
    rules::pending_rules(&chain.ledger).expect("reads")
}

/// Empty blocks until the chain's head is `height`.
fn advance_to(chain: &mut TestChain, height: u64) {
    while chain.height < height {
        let outcome = chain.block(Vec::new());
        assert!(
            outcome
                .system_events
                .iter()
                .all(|e| e.kind() != EventKind::RulesUpgradeActivated),
            "an activation in block {} on the way to {height}",
            chain.height
        );
    }
}

/// Bank A proposes v`version` at `activation_height` and bank B approves: passed. Returns the
/// proposal id and the height of the passing block.
fn pass_upgrade(chain: &mut TestChain, version: u32, activation_height: u64) -> (String, u64) {
    let id = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(version, activation_height));
    let events = chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(
        kinds(&events),
        [
            EventKind::ProposalVoted,
            EventKind::RulesUpgradeScheduled,
            EventKind::ProposalPassed
        ]
    );
    assert_eq!(events[1].rules_version, version);
    assert_eq!(events[1].activation_height, activation_height);
    assert!(events[1].detail.is_empty(), "no words from the chain");
    (id, chain.height)
}

/// A chain upgraded to rules v2 (scheduled with the least notice, then crossed).
fn chain_on_v2() -> TestChain {
    let mut chain = TestChain::new();
    let activation = chain.height + 2 + RULES_ACTIVATION_NOTICE_MIN;
    pass_upgrade(&mut chain, 2, activation);
    advance_to(&mut chain, activation - 1);
    let outcome = chain.block(Vec::new());
    assert_eq!(
        kinds(&outcome.system_events),
        [EventKind::RulesUpgradeActivated]
    );
    assert_eq!(active(&chain).version, 2);
    chain
}

/// A chain whose genesis starts it on rules `version`, with `lineage_depth_max` in its
/// parameters.
fn chain_from_genesis_with(version: u32, lineage_depth_max: u32) -> TestChain {
    let mut genesis = common::genesis(Params {
        lineage_depth_max,
        ..Params::default()
    });
    genesis.rules_version = version;
    TestChain::from_genesis(genesis)
}

/// A chain whose genesis starts it on rules `version`.
fn chain_from_genesis_on(version: u32) -> TestChain {
    chain_from_genesis_with(version, 0)
}

// ---------------------------------------------------------------------------------------------
// A chain that never upgrades
// ---------------------------------------------------------------------------------------------

#[test]
fn a_chain_that_never_upgrades_runs_v1_and_stores_nothing_about_versions() {
    let mut chain = TestChain::new();
    assert!(chain.raw(keys::RULES).is_none() && chain.raw(keys::RULES_PENDING).is_none());
    assert_eq!(
        active(&chain),
        ChainRules {
            version: 1,
            activation_height: 0,
            proposal_id: String::new(),
        }
    );
    assert_eq!(pending(&chain), None);
    chain.grant_line(1_000_000);
    chain.issue(SUP1, 1_000, 30);
    advance_to(&mut chain, 40);
    for record in &chain.history {
        assert!(
            !record.outcome.state_writes.contains_key(keys::RULES)
                && !record
                    .outcome
                    .state_writes
                    .contains_key(keys::RULES_PENDING),
            "block {} wrote a rules record",
            record.context.height
        );
    }
    // A genesis file without `rules_version` starts on v1, where `lineage_depth_max` stays 0,
    // and the v1 parameters encode and hash as they did before it existed.
    assert_eq!(Params::default().to_proto().lineage_depth_max, 0);
    let stored = chain.raw(keys::PARAMS).expect("params");
    assert_eq!(params(&chain).lineage_depth_max, 0);
    assert_eq!(
        stored,
        prost::Message::encode_to_vec(&chain.genesis.params.to_proto())
    );
    assert!(rules::block_rules(&chain.ledger, chain.height + 1)
        .expect("reads")
        .activates
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

#[test]
fn a_passed_upgrade_is_recorded_with_its_proposal_and_audited() {
    let mut chain = TestChain::new();
    let activation = 3 + RULES_ACTIVATION_NOTICE_MIN;
    let (id, passed_at) = pass_upgrade(&mut chain, 2, activation);
    assert_eq!(passed_at, 2);
    assert_eq!(
        pending(&chain),
        Some(ChainRules {
            version: 2,
            activation_height: activation,
            proposal_id: id.clone(),
        })
    );
    assert_eq!(
        active(&chain).version,
        1,
        "nothing changes before the height"
    );
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Passed);
    // What a passed proposal changed is in the audit log.
    let audited: Vec<Event> = chain
        .scan(keys::AUDIT_PREFIX)
        .into_iter()
        .map(|(_, v)| prost::Message::decode(v.as_slice()).expect("event"))
        .collect();
    assert!(audited
        .iter()
        .any(|e: &Event| e.kind() == EventKind::RulesUpgradeScheduled && e.proposal_id == id));
}

#[test]
fn the_version_must_be_the_next_one_and_may_be_beyond_this_release() {
    let mut chain = TestChain::new();
    let height = chain.height + 1;
    for version in [0, 1, 3, u32::MAX] {
        chain.reject(
            ADMIN_A,
            schedule(version, height + 100),
            ErrorCode::RulesVersionInvalid,
            &[
                "the chain runs rules v1",
                "names v2",
                &format!("not v{version}"),
            ],
        );
    }
    // Not bounded by what this release implements: an old release records the schedule that
    // a new one will execute (here the chain starts on the newest version, and the one after
    // it is scheduled).
    let mut chain = chain_from_genesis_on(RULES_VERSION_MAX);
    let version = RULES_VERSION_MAX + 1;
    assert_eq!(version, 4);
    let activation = chain.height + 2 + RULES_ACTIVATION_NOTICE_MIN;
    pass_upgrade(&mut chain, version, activation);
    assert_eq!(pending(&chain).map(|p| p.version), Some(version));
    // This release cannot execute the block at that height: a storage-level refusal, never a
    // block under the wrong rules.
    advance_to(&mut chain, activation - 1);
    let error = execute_block(&chain.ledger, &chain.next_context(), &[])
        .expect_err("v3 is not implemented here");
    assert!(
        matches!(
            error,
            ExecError::RulesUnsupported {
                implemented: 3,
                version: 4,
                height,
            } if height == activation
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "this release implements chain rules up to v3; the chain activates v4 at height \
             {activation}: install a release that implements it and start the node again"
        )
    );
}

#[test]
fn the_activation_height_needs_the_minimum_notice_and_at_most_the_maximum() {
    let mut chain = TestChain::new();
    // Checked against the block that executes the submission.
    let height = chain.height + 1;
    chain.reject(
        ADMIN_A,
        schedule(2, height + RULES_ACTIVATION_NOTICE_MIN - 1),
        ErrorCode::RulesActivationHeightInvalid,
        &[&format!("at least {RULES_ACTIVATION_NOTICE_MIN}")],
    );
    let height = chain.height + 1;
    chain.reject(
        ADMIN_A,
        schedule(2, height + RULES_ACTIVATION_NOTICE_MAX + 1),
        ErrorCode::RulesActivationHeightInvalid,
        &[&format!("at most {RULES_ACTIVATION_NOTICE_MAX}")],
    );
    chain.reject(
        ADMIN_A,
        schedule(2, 0),
        ErrorCode::RulesActivationHeightInvalid,
        &[],
    );
    // Both bounds are inclusive.
    let height = chain.height + 1;
    let id = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(2, height + RULES_ACTIVATION_NOTICE_MAX));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    let mut chain = TestChain::new();
    let (_, passed_at) = pass_upgrade(&mut chain, 2, 2 + RULES_ACTIVATION_NOTICE_MIN);
    assert_eq!(
        pending(&chain).map(|p| p.activation_height),
        Some(passed_at + RULES_ACTIVATION_NOTICE_MIN)
    );
}

#[test]
fn a_schedule_too_soon_by_the_time_it_passes_is_rejected_and_changes_nothing() {
    let mut chain = TestChain::new();
    // Enough notice at submission (block 1), too little by the block that passes it.
    let activation = 1 + RULES_ACTIVATION_NOTICE_MIN;
    let id = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(2, activation));
    chain.block(Vec::new());
    let events = chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(
        kinds(&events),
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    let proposal = chain.proposal(&id);
    assert_eq!(proposal.status(), ProposalStatus::Rejected);
    assert_eq!(
        proposal.rejected_by(),
        ErrorCode::RulesActivationHeightInvalid
    );
    assert_eq!(pending(&chain), None);
    // Nothing activates at that height.
    advance_to(&mut chain, activation + 2);
    assert_eq!(active(&chain).version, 1);
}

#[test]
fn one_upgrade_at_a_time() {
    let mut chain = TestChain::new();
    // Two proposals open together: the first to pass wins, the second is rejected when it
    // passes (re-checked then).
    let first = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(2, 100));
    let second = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(2, 200));
    chain.ok(ADMIN_B, vote(&first, true));
    assert_eq!(pending(&chain).map(|p| p.proposal_id), Some(first.clone()));
    let events = chain.ok(ADMIN_B, vote(&second, true));
    assert_eq!(
        kinds(&events),
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    assert_eq!(
        chain.proposal(&second).rejected_by(),
        ErrorCode::RulesUpgradePending
    );
    assert_eq!(
        pending(&chain).map(|p| (p.version, p.activation_height)),
        Some((2, 100))
    );
    // And a new submission is refused at once, naming the pending one.
    chain.reject(
        ADMIN_B,
        schedule(2, 300),
        ErrorCode::RulesUpgradePending,
        &["v2 are already scheduled to activate at height 100", &first],
    );
    // Once it activated, the next version can be scheduled.
    advance_to(&mut chain, 99);
    let outcome = chain.block(Vec::new());
    assert_eq!(
        kinds(&outcome.system_events),
        [EventKind::RulesUpgradeActivated]
    );
    assert_eq!(active(&chain).version, 2);
    assert_eq!(pending(&chain), None);
    let height = chain.height + 1;
    chain.reject(
        ADMIN_A,
        schedule(2, height + 100),
        ErrorCode::RulesVersionInvalid,
        &["the chain runs rules v2; an upgrade names v3, not v2"],
    );
    let third = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(3, height + 100));
    assert_eq!(chain.proposal(&third).status(), ProposalStatus::Open);
}

#[test]
fn scheduling_is_a_consortium_decision() {
    let mut chain = TestChain::new();
    chain.reject(
        SUP1,
        schedule(2, 100),
        ErrorCode::WrongRole,
        &["scheduling a chain rules upgrade"],
    );
    // One bank of two is not enough: nothing is recorded until the other approves.
    let id = chain.next_proposal_id();
    chain.ok(ADMIN_A, schedule(2, 100));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    assert_eq!(pending(&chain), None);
    let events = chain.ok(ADMIN_B, vote(&id, false));
    assert_eq!(
        kinds(&events),
        [EventKind::ProposalVoted, EventKind::ProposalRejected]
    );
    assert_eq!(pending(&chain), None);
}

// ---------------------------------------------------------------------------------------------
// Activation
// ---------------------------------------------------------------------------------------------

#[test]
fn the_upgrade_activates_first_thing_in_the_block_at_exactly_its_height() {
    let mut chain = TestChain::new();
    chain.grant_line(1_000_000);
    let voucher = chain.issue(SUP1, 10_000, 1);
    let activation = chain.height + 2 + RULES_ACTIVATION_NOTICE_MIN;
    let (id, _) = pass_upgrade(&mut chain, 2, activation);
    advance_to(&mut chain, activation - 2);
    // The block before: still v1, still pending.
    let before = rules::block_rules(&chain.ledger, activation - 1).expect("reads");
    assert_eq!((before.version, before.activates), (1, None));
    chain.block(Vec::new());
    assert_eq!(active(&chain).version, 1);
    assert_eq!(
        pending(&chain).map(|p| p.activation_height),
        Some(activation)
    );
    // The block at the height executes under v2 from its start: the activation is its first
    // system event, before the chain's other steps (here a destruction that falls due at the
    // same block).
    let at = rules::block_rules(&chain.ledger, activation).expect("reads");
    assert_eq!(at.version, 2);
    chain.advance_days(30);
    let outcome = chain.block(Vec::new());
    assert_eq!(
        kinds(&outcome.system_events),
        [
            EventKind::RulesUpgradeActivated,
            EventKind::VoucherDestroyed
        ]
    );
    let activated = &outcome.system_events[0];
    assert_eq!(activated.rules_version, 2);
    assert_eq!(activated.activation_height, activation);
    assert_eq!(activated.height, activation);
    assert_eq!(activated.proposal_id, id);
    assert!(activated.tx_hash.is_empty() && activated.actor.is_empty());
    assert_eq!(outcome.system_events[1].voucher_id, voucher);
    assert_eq!(
        active(&chain),
        ChainRules {
            version: 2,
            activation_height: activation,
            proposal_id: id.clone(),
        }
    );
    assert_eq!(pending(&chain), None);
    // The proposal's history tells the whole story.
    let history = vchain_contracts::proposal_events(&chain.ledger, &id).expect("reads");
    assert_eq!(
        kinds(&history),
        [
            EventKind::ProposalSubmitted,
            EventKind::ProposalVoted,
            EventKind::ProposalVoted,
            EventKind::RulesUpgradeScheduled,
            EventKind::ProposalPassed,
            EventKind::RulesUpgradeActivated,
        ]
    );
    // Later blocks activate nothing more.
    let outcome = chain.block(Vec::new());
    assert!(outcome.system_events.is_empty());
}

#[test]
fn replaying_the_blocks_gives_the_same_roots() {
    let mut chain = chain_on_v2();
    let mut raised = params(&chain);
    raised.lineage_depth_max = 64;
    chain.govern(ADMIN_A, set_params(raised));
    let mut replay = TestChain::new();
    for record in chain.history.clone() {
        let outcome =
            execute_block(&replay.ledger, &record.context, &record.transactions).expect("executes");
        assert_eq!(outcome, record.outcome, "block {}", record.context.height);
        let root = replay.ledger.apply(&outcome.state_writes).expect("apply");
        assert_eq!(root, record.root, "block {}", record.context.height);
    }
}

// ---------------------------------------------------------------------------------------------
// Version 2: the lineage depth is a chain parameter
// ---------------------------------------------------------------------------------------------

/// Splits a 100-unit piece off `id` (held by SUP1) `times` times, each time from the remainder,
/// as a supplier paying its sub-suppliers one by one; returns the deepest remainder.
fn deepen(chain: &mut TestChain, mut id: String, times: u32) -> String {
    for _ in 0..times {
        let amount = chain.voucher(&id).amount;
        let depth = chain.voucher(&id).depth;
        id = chain.split(SUP1, &id, &[100, amount - 100])[1].clone();
        assert_eq!(chain.voucher(&id).depth, depth + 1);
    }
    id
}

#[test]
fn changing_lineage_depth_max_is_refused_under_v1() {
    let mut chain = TestChain::new();
    let current = params(&chain);
    let mut raised = current;
    raised.lineage_depth_max = 1_000;
    chain.reject(
        ADMIN_A,
        set_params(raised),
        ErrorCode::RulesVersionRequired,
        &["lineage_depth_max is a chain rules v2 parameter", "runs v1"],
    );
    // Also when it passes while v1 still runs: a proposal submitted...
    let id = chain.next_proposal_id();
    let other = ChainParams {
        split_fanout_max: current.split_fanout_max + 1,
        ..current
    };
    chain.ok(ADMIN_A, set_params(other));
    assert_eq!(chain.proposal(&id).status(), ProposalStatus::Open);
    // ... explicitly setting the v1 value (32) is a change of the stored parameters too.
    let explicit = ChainParams {
        lineage_depth_max: LINEAGE_DEPTH_MAX_V1,
        ..current
    };
    chain.reject(
        ADMIN_A,
        set_params(explicit),
        ErrorCode::RulesVersionRequired,
        &[],
    );
    // Other parameters change as before.
    chain.ok(ADMIN_B, vote(&id, true));
    assert_eq!(params(&chain), other);
}

#[test]
fn a_thirty_third_split_is_refused_under_v1_and_allowed_under_v2_once_raised() {
    // v1: 32 levels, whatever the parameter could say.
    let mut chain = TestChain::new();
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 100, 30);
    let deep = deepen(&mut chain, root, 32);
    chain.reject(
        SUP1,
        split(&deep, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &["already 32 splits deep", "under chain rules v1"],
    );

    // v2 with the parameter left at 0: still 32.
    let mut chain = chain_on_v2();
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 100, 30);
    let deep = deepen(&mut chain, root.clone(), 32);
    chain.reject(
        SUP1,
        split(&deep, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &["already 32 splits deep", "lineage_depth_max"],
    );

    // Out of range, refused like any parameter.
    let mut too_deep = params(&chain);
    too_deep.lineage_depth_max = vchain_contracts::limits::LINEAGE_DEPTH_LIMIT + 1;
    chain.reject(
        ADMIN_A,
        set_params(too_deep),
        ErrorCode::InvalidProposal,
        &["lineage_depth_max must be at most 1024"],
    );

    // Raised by the consortium: the 33rd level is allowed, up to the new bound.
    let mut raised = params(&chain);
    raised.lineage_depth_max = 34;
    let events = chain.govern(ADMIN_A, set_params(raised));
    assert!(events
        .iter()
        .any(|e| e.kind() == EventKind::ChainParamsChanged
            && e.params.is_some_and(|p| p.lineage_depth_max == 34)));
    let deeper = deepen(&mut chain, deep, 2);
    assert_eq!(chain.voucher(&deeper).depth, 34);
    chain.reject(
        SUP1,
        split(&deeper, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &["already 34 splits deep", "lineage_depth_max"],
    );
    // The whole lineage still traces from its deepest voucher.
    let traced = vchain_contracts::trace::trace(&chain.ledger, &deeper)
        .expect("trace")
        .expect("voucher exists");
    assert_eq!(traced.root_id, root);
    assert_eq!(traced.vouchers.len(), 1 + 2 * 34);
}

#[test]
fn a_trace_reaches_the_root_of_a_lineage_as_deep_as_any_version_allows() {
    let mut chain = chain_on_v2();
    let mut raised = params(&chain);
    raised.lineage_depth_max = vchain_contracts::limits::LINEAGE_DEPTH_LIMIT;
    chain.govern(ADMIN_A, set_params(raised));
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 2_000, 30);
    // Deep enough to leave every v1 bound far behind, cheap enough for a test: the bound itself
    // is related to the trace's at compile time (`trace.rs`).
    let deep = deepen(&mut chain, root.clone(), 200);
    let traced = vchain_contracts::trace::trace(&chain.ledger, &deep)
        .expect("trace")
        .expect("voucher exists");
    assert_eq!(traced.root_id, root);
    assert_eq!(traced.vouchers.len(), 1 + 2 * 200);
}

#[test]
fn under_v2_the_parameter_can_go_back_to_unset() {
    let mut chain = chain_on_v2();
    let mut raised = params(&chain);
    raised.lineage_depth_max = 40;
    chain.govern(ADMIN_A, set_params(raised));
    let mut unset = params(&chain);
    unset.lineage_depth_max = 0;
    chain.govern(ADMIN_A, set_params(unset));
    assert_eq!(params(&chain).lineage_depth_max, 0);
    assert_eq!(rules::lineage_depth_max(2, &params(&chain)), 32);
}

// ---------------------------------------------------------------------------------------------
// Version 3: a thousand and more splits deep by default; genesis on a later version
// ---------------------------------------------------------------------------------------------

#[test]
fn a_genesis_on_a_later_version_stores_the_rules_record_at_height_zero() {
    let chain = chain_from_genesis_on(RULES_VERSION_MAX);
    assert_eq!(
        active(&chain),
        ChainRules {
            version: RULES_VERSION_MAX,
            activation_height: 0,
            proposal_id: String::new(),
        }
    );
    assert_eq!(pending(&chain), None);
    let rules = rules::block_rules(&chain.ledger, 1).expect("reads");
    assert_eq!((rules.version, rules.activates), (RULES_VERSION_MAX, None));
    // Version 1 named explicitly is the same genesis state as a file without the field.
    let named = chain_from_genesis_on(1);
    let unnamed = TestChain::new();
    assert_eq!(named.ledger.root(), unnamed.ledger.root());
    assert_eq!(named.raw(keys::RULES), None);
}

#[test]
fn a_genesis_naming_a_version_this_release_lacks_or_a_v2_parameter_on_v1_is_refused() {
    let mut genesis = common::genesis(Params::default());
    genesis.rules_version = RULES_VERSION_MAX + 1;
    let refused = genesis.state().expect_err("beyond this release");
    assert_eq!(
        refused.to_string(),
        format!(
            "invalid genesis: rules_version {}: this release implements chain rules up to v{}",
            RULES_VERSION_MAX + 1,
            RULES_VERSION_MAX
        )
    );
    for version in [0, 1] {
        let mut genesis = common::genesis(Params {
            lineage_depth_max: 100,
            ..Params::default()
        });
        genesis.rules_version = version;
        let refused = genesis
            .state()
            .expect_err("a v2 parameter on v1")
            .to_string();
        assert!(
            refused.contains("lineage_depth_max is a chain rules v2 parameter"),
            "{refused}"
        );
    }
    let mut genesis = common::genesis(Params {
        lineage_depth_max: LINEAGE_DEPTH_LIMIT + 1,
        ..Params::default()
    });
    genesis.rules_version = RULES_VERSION_MAX;
    let refused = genesis.state().expect_err("out of range").to_string();
    assert!(
        refused.contains("lineage_depth_max must be at most 1024"),
        "{refused}"
    );
}

#[test]
fn a_genesis_on_v2_may_set_the_depth_and_then_enforces_it() {
    let mut chain = chain_from_genesis_with(2, 3);
    assert_eq!(params(&chain).lineage_depth_max, 3);
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 100, 30);
    let deep = deepen(&mut chain, root, 3);
    chain.reject(
        SUP1,
        split(&deep, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &[
            "already 3 splits deep",
            "the chain parameter lineage_depth_max",
        ],
    );
}

#[test]
fn upgrading_to_v3_raises_the_unset_depth_from_32_to_1024() {
    let mut chain = chain_on_v2();
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 100, 30);
    let deep = deepen(&mut chain, root, LINEAGE_DEPTH_MAX_V1);
    chain.reject(
        SUP1,
        split(&deep, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &["already 32 splits deep", "the default of chain rules v2"],
    );
    let activation = chain.height + 2 + RULES_ACTIVATION_NOTICE_MIN;
    pass_upgrade(&mut chain, 3, activation);
    advance_to(&mut chain, activation - 1);
    chain.block(Vec::new());
    assert_eq!(active(&chain).version, 3);
    // The same voucher, the same parameters (still 0): now it splits again.
    assert_eq!(params(&chain).lineage_depth_max, 0);
    let deeper = deepen(&mut chain, deep, 1);
    assert_eq!(chain.voucher(&deeper).depth, 33);
    // A consortium can still lower it below what its vouchers have reached: deeper ones stop.
    let mut lowered = params(&chain);
    lowered.lineage_depth_max = 33;
    chain.govern(ADMIN_A, set_params(lowered));
    chain.reject(
        SUP1,
        split(&deeper, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &[
            "already 33 splits deep",
            "the chain parameter lineage_depth_max",
        ],
    );
}

#[test]
fn on_v3_a_supplier_pays_a_thousand_sub_suppliers_from_one_voucher() {
    let mut chain = chain_from_genesis_on(3);
    chain.grant_line(100_000_000);
    let root = chain.issue(SUP1, 100 * 2_000, 30);
    let deepest = deepen(&mut chain, root.clone(), LINEAGE_DEPTH_DEFAULT_V3);
    assert_eq!(chain.voucher(&deepest).depth, 1_024);
    chain.reject(
        SUP1,
        split(&deepest, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &["already 1024 splits deep", "the default of chain rules v3"],
    );
    // Transfers do not deepen a lineage: the deepest piece still moves.
    chain.ok(SUP1, transfer(&deepest, SUP2));
    let traced = vchain_contracts::trace::trace(&chain.ledger, &deepest)
        .expect("trace")
        .expect("voucher exists");
    assert_eq!(traced.root_id, root);
    assert_eq!(traced.vouchers.len(), 1 + 2 * 1_024);
}
