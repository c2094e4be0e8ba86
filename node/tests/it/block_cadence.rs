//! When the producer cuts blocks: a chain whose last block carried no transaction waits out
//! `block_interval_ms` (or `block_tx_target` waiting transactions) before it cuts; a busy one,
//! whose last block carried transactions, cuts the next as soon as that block has committed and
//! `block_interval_min_ms` has passed since its cut (group commit).

use std::time::{Duration, Instant};

use crate::common;

use common::*;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

/// The interval of the node under test: long, so that a block cut early is plainly not one cut
/// at the interval.
const INTERVAL_MS: u64 = 6_000;

fn freeze(reason: &str) -> Operation {
    Operation::FreezeAccount(FreezeAccount {
        account_id: "foundry".into(),
        reason: reason.into(),
    })
}

fn unfreeze(reason: &str) -> Operation {
    Operation::UnfreezeAccount(UnfreezeAccount {
        account_id: "foundry".into(),
        reason: reason.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_chain_cuts_block_after_block_and_a_quiet_one_waits_out_the_interval() {
    let mut node = TestNode::start_with(|c| {
        c.block_interval_ms = INTERVAL_MS;
        c.block_interval_min_ms = 10;
    })
    .await;
    let height = node.status().await.height;

    // Quiet: the first transaction waits for the interval.
    let first = node.sign("bank-b-admin", freeze("first")).await;
    let sent = Instant::now();
    let mut api = node.api.clone();
    let waiting = tokio::spawn(async move {
        api.submit_transaction(SubmitTransactionRequest {
            transaction: Some(first),
            wait_for_commit: true,
            timeout_ms: 30_000,
        })
        .await
        .map(|r| r.into_inner())
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let status = node.status().await;
    assert_eq!(
        (status.height, status.mempool_size),
        (height, 1),
        "a quiet chain cut a block before its interval"
    );
    let committed = waiting.await.expect("task").expect("first transaction");
    assert!(committed.committed);
    let waited = sent.elapsed();

    // Busy (the last block carried a transaction): the next is cut once that one committed,
    // long before another interval. The bound is a third of the interval, far above the tens of
    // milliseconds a block takes here, so a slow machine does not fail it.
    for n in 0..3 {
        let sent = Instant::now();
        let response = node
            .submit(
                "bank-b-admin",
                if n % 2 == 0 {
                    unfreeze(&format!("busy {n}"))
                } else {
                    freeze(&format!("busy {n}"))
                },
            )
            .await
            .expect("submitted");
        assert!(response.committed);
        let waited = sent.elapsed();
        assert!(
            waited < Duration::from_millis(INTERVAL_MS / 3),
            "transaction {n} of a busy chain waited {waited:?} for its block"
        );
    }
    assert_eq!(node.status().await.height, height + 4, "one block each");
    eprintln!("quiet: the first transaction waited {waited:?}");
    node.stop().await;
}
