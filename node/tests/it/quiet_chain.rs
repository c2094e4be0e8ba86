//! Time-driven changes on a quiet chain: a pledge past its period lapses, a proposal past its
//! deadline expires and a voucher past maturity + grace is destroyed at their time, each in a
//! block the producer cuts by itself, with no transaction arriving.

use crate::common;

use common::*;
use sha2::{Digest, Sha256};
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

/// Advances the dev clock by `days` and waits for the block the chain cuts by itself; returns
/// that block, checked to hold no transaction.
async fn quiet_block_after(node: &mut TestNode, days: u64) -> Block {
    let height = node.status().await.height;
    node.advance_days(days).await;
    node.wait_for_height(height + 1).await;
    let request = node.audited(
        GetBlockRequest {
            selector: Some(Selector::Height(height + 1)),
        },
        "GetBlock",
    );
    let block = node
        .api
        .get_block(request)
        .await
        .expect("block")
        .into_inner()
        .block
        .expect("block");
    assert!(
        block.transactions.is_empty(),
        "the chain's own block holds no transaction"
    );
    block
}

fn kinds(block: &Block) -> Vec<EventKind> {
    block.system_events.iter().map(|e| e.kind()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapse_expiry_and_destruction_happen_without_transactions() {
    let mut node = TestNode::start().await;
    let voucher = node
        .grant_and_issue(5_000_000, 1_000_000, 30, "INV-QUIET-1")
        .await;

    // A pledge whose period ends in 5 days: it lapses at the start of day 6.
    let period_end = node.date_in(5).await;
    let events = node
        .ok(
            "gearbox",
            Operation::RegisterPledge(RegisterPledge {
                voucher_id: voucher.clone(),
                pledgee: "bank-a-finance".into(),
                secured_amount: 500_000,
                currency: "CNY".into(),
                period_end_date: period_end,
                collateral_description: "working capital loan".into(),
                modification_code_hash: Sha256::digest(b"code").to_vec(),
                ..RegisterPledge::default()
            }),
        )
        .await;
    let registration = events[0].pledge.clone();

    // A proposal one organisation of two approves: open until its 7-day deadline.
    let params = node.status().await.params.expect("params");
    let proposal_id = node.propose_longer_grace().await;

    // Day 6: only the pledge is due.
    let block = quiet_block_after(&mut node, 6).await;
    assert_eq!(kinds(&block), vec![EventKind::PledgeLapsed]);
    let request = node.audited(
        GetPledgeRequest {
            selector: Some(get_pledge_request::Selector::RegistrationNumber(
                registration,
            )),
        },
        "GetPledge",
    );
    let pledge = node
        .api
        .get_pledge(request)
        .await
        .expect("pledge")
        .into_inner()
        .pledge
        .expect("pledge");
    assert_eq!(pledge.status(), PledgeStatus::Lapsed);

    // Day 8: the proposal's deadline has passed.
    let block = quiet_block_after(&mut node, 2).await;
    assert_eq!(kinds(&block), vec![EventKind::ProposalExpired]);
    let request = node.audited(
        GetProposalRequest {
            proposal_id: proposal_id.clone(),
        },
        "GetProposal",
    );
    let proposal = node
        .api
        .get_proposal(request)
        .await
        .expect("proposal")
        .into_inner()
        .proposal
        .expect("proposal");
    assert_eq!(proposal.status(), ProposalStatus::Expired);

    // Maturity + grace: the voucher is destroyed.
    let days = 30 - 8 + u64::from(params.redemption_grace_days);
    let block = quiet_block_after(&mut node, days).await;
    assert_eq!(kinds(&block), vec![EventKind::VoucherDestroyed]);
    assert_eq!(
        node.voucher(&voucher).await.status(),
        VoucherStatus::Destroyed
    );
    node.stop().await;
}
