//! Every node checks every field of every block it applies (issue 10 §3): each field of a
//! sealed block is tampered with in turn, and the check that covers it names exactly that
//! field. The block is real: executed by the contracts on the harness chain and sealed.

use crate::common;

use common::{ops, TestChain, CORE, FINANCIER, SUP1, SUP2};
use vchain_contracts::block::{
    check_body, check_execution, check_header, seal, BlockDraft, BlockField, Parent,
};
use vchain_contracts::execute::{execute_block, BlockContext, BlockOutcome};
use vchain_contracts::tx::Hash;
use vchain_ledger::MemoryLedger;
use vchain_proto::v1::{Block, ConsensusConfig, ConsensusNode, Event, EventKind};

const PARENT_HASH: [u8; 32] = [0x11; 32];
const PARENT_TIME_MS: u64 = common::GENESIS_TIME_MS;

struct Fixture {
    /// The state the block executes on.
    before: MemoryLedger,
    context: BlockContext,
    block: Block,
    outcome: BlockOutcome,
    state_root: Hash,
}

/// A block with a granted line, an issue and a refused transfer, executed and sealed.
fn fixture() -> Fixture {
    let mut chain = TestChain::new();
    let before = chain.ledger.clone();
    let grant = chain.tx(
        FINANCIER,
        ops::grant(&common::core_uscc(), "CNY", 1_000_000),
    );
    let issue_op = chain.issue_op(SUP1, 500_000, 2);
    let issue = chain.tx(CORE, issue_op);
    let refused = chain.tx(SUP2, ops::transfer("V000000000001", SUP2));
    let transactions = vec![grant, issue, refused];
    let context = chain.next_context();
    let outcome = execute_block(&before, &context, &transactions).expect("executes");
    chain.block(transactions.clone());
    let state_root = chain.ledger.root();
    let (block, _) = seal(
        BlockDraft {
            chain_id: common::CHAIN_ID.into(),
            height: context.height,
            prev_hash: PARENT_HASH,
            timestamp_ms: context.timestamp_ms,
            proposer: "node-a".into(),
        },
        transactions,
        &outcome,
        state_root,
    );
    Fixture {
        before,
        context,
        block,
        outcome,
        state_root,
    }
}

fn membership() -> ConsensusConfig {
    ConsensusConfig {
        engine: "raft".into(),
        nodes: vec![ConsensusNode {
            node_id: "node-a".into(),
            org_id: "bank-a".into(),
            ..ConsensusNode::default()
        }],
        removed_node_ids: vec!["node-old".into()],
        change_heights: vec![],
    }
}

fn parent() -> Parent<'static> {
    Parent {
        chain_id: common::CHAIN_ID,
        height: 0,
        hash: &PARENT_HASH,
        timestamp_ms: PARENT_TIME_MS,
    }
}

/// Runs all three checks as a follower does; the field of the first mismatch.
fn first_mismatch(fixture: &Fixture, block: &Block) -> Option<BlockField> {
    let header = match check_body(block) {
        Ok(header) => header,
        Err(mismatch) => return Some(mismatch.field),
    };
    if let Err(mismatch) = check_header(header, &parent(), &membership()) {
        return Some(mismatch.field);
    }
    // A follower executes the block's own transactions with the header's time.
    let context = BlockContext {
        height: header.height,
        timestamp_ms: header.timestamp_ms,
    };
    let outcome = if block.transactions == fixture.block.transactions && context == fixture.context
    {
        fixture.outcome.clone()
    } else {
        execute_block(&fixture.before, &context, &block.transactions).expect("executes")
    };
    let mut after = fixture.before.clone();
    let root = after.apply(&outcome.state_writes).expect("applies");
    check_execution(block, header, &outcome, &root)
        .err()
        .map(|m| m.field)
}

fn tampered(fixture: &Fixture, change: impl FnOnce(&mut Block)) -> Option<BlockField> {
    let mut block = fixture.block.clone();
    change(&mut block);
    first_mismatch(fixture, &block)
}

/// A change made to a block.
type Tamper = Box<dyn FnOnce(&mut Block)>;

fn header_of(block: &mut Block) -> &mut vchain_proto::v1::BlockHeader {
    block.header.as_mut().expect("header")
}

#[test]
fn an_honest_block_passes_every_check() {
    let fixture = fixture();
    assert_eq!(first_mismatch(&fixture, &fixture.block), None);
    assert_eq!(
        fixture.block.header.as_ref().map(|h| h.state_root.clone()),
        Some(fixture.state_root.to_vec())
    );
}

#[test]
fn each_header_field_is_checked_and_named() {
    let f = fixture();
    let cases: Vec<(BlockField, Tamper)> = vec![
        (BlockField::Header, Box::new(|b| b.header = None)),
        (
            BlockField::ChainId,
            Box::new(|b| header_of(b).chain_id = "another-chain".into()),
        ),
        (BlockField::Height, Box::new(|b| header_of(b).height = 2)),
        (
            BlockField::PrevHash,
            Box::new(|b| header_of(b).prev_hash = vec![0x22; 32]),
        ),
        (
            BlockField::Timestamp,
            Box::new(|b| header_of(b).timestamp_ms = PARENT_TIME_MS),
        ),
        (
            BlockField::Proposer,
            Box::new(|b| header_of(b).proposer = "node-stranger".into()),
        ),
        (BlockField::TxCount, Box::new(|b| header_of(b).tx_count = 2)),
        (
            BlockField::TxRoot,
            Box::new(|b| header_of(b).tx_root = vec![0; 32]),
        ),
        (
            BlockField::ResultRoot,
            Box::new(|b| header_of(b).result_root = vec![0; 32]),
        ),
        (
            BlockField::SystemEventRoot,
            Box::new(|b| header_of(b).system_event_root = vec![0; 32]),
        ),
        (
            BlockField::StateRoot,
            Box::new(|b| header_of(b).state_root = vec![0; 32]),
        ),
    ];
    for (field, change) in cases {
        assert_eq!(tampered(&f, change), Some(field), "tampering with {field}");
    }
}

#[test]
fn the_body_must_be_what_the_header_commits_to() {
    let f = fixture();
    // A transaction dropped from the body (count and root no longer match).
    assert_eq!(
        tampered(&f, |b| {
            b.transactions.pop();
        }),
        Some(BlockField::TxCount)
    );
    // A transaction replaced: the count matches, the root does not.
    assert_eq!(
        tampered(&f, |b| b.transactions.swap(0, 1)),
        Some(BlockField::TxRoot)
    );
    // A result dropped, or naming another transaction, or carrying words.
    assert_eq!(
        tampered(&f, |b| {
            b.results.pop();
        }),
        Some(BlockField::Results)
    );
    assert_eq!(
        tampered(&f, |b| b.results.swap(0, 1)),
        Some(BlockField::Results)
    );
    assert_eq!(
        tampered(&f, |b| b.results[2].message = "words".into()),
        Some(BlockField::Results)
    );
    // A result's code changed, and the root recomputed to match: execution catches it.
    assert_eq!(
        tampered(&f, |b| {
            b.results[2].code = 0;
            let root = vchain_contracts::block::result_root(&b.results).to_vec();
            header_of(b).result_root = root;
        }),
        Some(BlockField::Results)
    );
    // A result's events changed (one dropped), the root recomputed: execution catches it.
    assert!(
        !f.block.results[0].events.is_empty(),
        "the fixture's first result has events"
    );
    assert_eq!(
        tampered(&f, |b| {
            b.results[0].events.pop();
            let root = vchain_contracts::block::result_root(&b.results).to_vec();
            header_of(b).result_root = root;
        }),
        Some(BlockField::Results)
    );
    // A system event smuggled in, with its root recomputed: execution catches it.
    assert_eq!(
        tampered(&f, |b| {
            b.system_events.push(Event {
                kind: EventKind::VoucherDestroyed.into(),
                voucher_id: "V000000000001".into(),
                ..Event::default()
            });
            let root = vchain_contracts::block::system_event_root(&b.system_events).to_vec();
            header_of(b).system_event_root = root;
        }),
        Some(BlockField::SystemEvents)
    );
    // The same event without recomputing the root: the body check catches it first.
    assert_eq!(
        tampered(&f, |b| b.system_events.push(Event::default())),
        Some(BlockField::SystemEventRoot)
    );
}

#[test]
fn a_removed_node_may_still_have_proposed_but_a_stranger_never() {
    let f = fixture();
    let header = f.block.header.clone().expect("header");
    let removed = vchain_proto::v1::BlockHeader {
        proposer: "node-old".into(),
        ..header.clone()
    };
    assert_eq!(check_header(&removed, &parent(), &membership()), Ok(()));
    let mismatch = check_header(
        &vchain_proto::v1::BlockHeader {
            proposer: "node-x".into(),
            ..header
        },
        &parent(),
        &membership(),
    )
    .expect_err("a stranger");
    assert_eq!(mismatch.field, BlockField::Proposer);
    assert!(mismatch.to_string().contains("proposer"), "{mismatch}");
    assert!(mismatch.to_string().contains("node-x"), "{mismatch}");
}
