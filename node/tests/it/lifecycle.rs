//! A dev node driven over gRPC through a voucher's whole life, then restarted from disk.

use crate::common;

use common::*;
use prost::Message;
use tokio_stream::StreamExt;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_lifecycle_over_grpc_survives_a_restart() {
    let mut node = TestNode::start().await;
    let bank = node.uscc_of("bank-a-finance");
    let carmaker = node.uscc_of("carmaker");

    // Credit line, then issuance to the tier-1 supplier.
    node.ok(
        "bank-a-finance",
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 5_000_000,
        }),
    )
    .await;
    let maturity = node.date_in(30).await;
    let events = node
        .ok(
            "carmaker",
            issue("gearbox", &bank, 1_000_000, &maturity, "INV-2026-0001"),
        )
        .await;
    let root = created_vouchers(&events).pop().expect("issued voucher");
    assert_eq!(
        node.credit_line(&bank, &carmaker).await.outstanding,
        1_000_000
    );

    // Split three levels deep, moving pieces down the supply chain.
    let level1 = created_vouchers(&node.ok("gearbox", split(&root, &[600_000, 400_000])).await);
    node.ok("gearbox", transfer(&level1[0], "castings", None))
        .await;
    let level2 = created_vouchers(
        &node
            .ok("castings", split(&level1[0], &[300_000, 300_000]))
            .await,
    );
    node.ok("castings", transfer(&level2[0], "foundry", None))
        .await;
    let level3 = created_vouchers(
        &node
            .ok("foundry", split(&level2[0], &[100_000, 200_000]))
            .await,
    );
    assert_eq!(node.voucher(&level3[1]).await.depth, 3);

    // Financing: the tier-3 supplier sells a piece to a factor at a discount.
    let events = node
        .ok(
            "foundry",
            transfer(&level3[1], "bank-b-factoring", Some(190_000)),
        )
        .await;
    assert_eq!(events[0].kind(), EventKind::VoucherFinanced);
    assert_eq!(events[0].consideration, 190_000);

    // A double spend of an already transferred voucher is refused with the rule's code.
    let status = node
        .submit("foundry", transfer(&level3[1], "castings", None))
        .await
        .expect_err("no longer the holder");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(error_code(&status), "NOT_HOLDER");

    // Redemption before maturity is refused; at maturity the holder asks and the issuer pays.
    let redeem = Operation::RequestRedemption(RequestRedemption {
        voucher_id: level3[1].clone(),
    });
    let status = node
        .submit("bank-b-factoring", redeem.clone())
        .await
        .expect_err("not matured");
    assert_eq!(error_code(&status), "VOUCHER_NOT_MATURED");
    node.advance_days(30).await;
    node.ok("bank-b-factoring", redeem).await;
    node.ok(
        "carmaker",
        Operation::ConfirmRedemption(ConfirmRedemption {
            voucher_id: level3[1].clone(),
            payment_reference: "PAY-778899".into(),
        }),
    )
    .await;
    assert_eq!(
        node.voucher(&level3[1]).await.status(),
        VoucherStatus::Redeemed
    );
    assert_eq!(
        node.credit_line(&bank, &carmaker).await.outstanding,
        800_000,
        "redemption releases the line"
    );

    // After the grace period the chain destroys every unredeemed piece by itself.
    let grace = u64::from(
        node.status()
            .await
            .params
            .expect("params")
            .redemption_grace_days,
    );
    let height = node.status().await.height;
    node.advance_days(grace).await;
    node.wait_for_height(height + 1).await;
    for id in [&level1[1], &level2[1], &level3[0]] {
        assert_eq!(
            node.voucher(id).await.status(),
            VoucherStatus::Destroyed,
            "{id}"
        );
    }
    assert_eq!(
        node.credit_line(&bank, &carmaker).await.outstanding,
        0,
        "destruction releases the line"
    );

    // Trace from a leaf: the whole lineage, root first, with every event.
    let trace = node
        .api
        .trace_voucher(node.audited(
            TraceVoucherRequest {
                voucher_id: level3[1].clone(),
                ..Default::default()
            },
            "TraceVoucher",
        ))
        .await
        .expect("trace")
        .into_inner();
    assert_eq!(trace.root_id, root);
    let ids: Vec<&str> = trace
        .vouchers
        .iter()
        .map(|v| v.voucher.as_ref().expect("voucher").id.as_str())
        .collect();
    assert_eq!(
        ids,
        [&root, &level1[0], &level2[0], &level3[0], &level3[1], &level2[1], &level1[1]]
            .map(|s| s.as_str())
    );
    let leaf = &trace.vouchers[4];
    let kinds: Vec<EventKind> = leaf.events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherFinanced,
            EventKind::RedemptionRequested,
            EventKind::VoucherRedeemed
        ]
    );
    assert!(leaf
        .events
        .iter()
        .all(|e| e.height > 0 && e.tx_hash.len() == 32 && e.time_ms > 0));
    let destroyed = &trace.vouchers[6].events;
    assert_eq!(
        destroyed.last().expect("event").kind(),
        EventKind::VoucherDestroyed
    );
    assert!(
        destroyed.last().expect("event").tx_hash.is_empty(),
        "the chain destroyed it, not a transaction"
    );

    // The event stream replays the voucher's history from the first block.
    let mut stream = node
        .api
        .subscribe_events(node.audited(
            SubscribeEventsRequest {
                from_height: 1,
                account_id: String::new(),
                voucher_id: level3[1].clone(),
            },
            "SubscribeEvents",
        ))
        .await
        .expect("subscribe")
        .into_inner();
    let mut streamed = Vec::new();
    while streamed.len() < 5 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), stream.next())
            .await
            .expect("event in time")
            .expect("open")
            .expect("ok");
        streamed.push(next.event.expect("event").kind());
    }
    assert_eq!(
        streamed[0],
        EventKind::VoucherSplit,
        "the parent's split names the child"
    );
    assert_eq!(
        &streamed[1..],
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherFinanced,
            EventKind::RedemptionRequested,
            EventKind::VoucherRedeemed
        ]
    );

    // A state entry proves against the state root.
    let proof = node
        .api
        .get_state_proof(node.audited(
            GetStateProofRequest {
                key: format!("v/{}", level3[1]).into_bytes(),
            },
            "GetStateProof",
        ))
        .await
        .expect("proof")
        .into_inner();
    assert!(proof.found);
    let root_hash: [u8; 32] = proof.state_root.as_slice().try_into().expect("32 bytes");
    let decoded = StateProof::decode(proof.proof.as_slice()).expect("proof decodes");
    vchain_ledger::verify_proof(&root_hash, &proof.key, Some(&proof.value), &decoded)
        .expect("proof verifies");

    // Restart from disk: same head, same state root, same vouchers, and the chain goes on.
    let before = node.status().await;
    let mut node = node.restart().await;
    let after = node.status().await;
    assert_eq!(
        (
            after.height,
            after.head_hash.clone(),
            after.state_root.clone()
        ),
        (before.height, before.head_hash, before.state_root)
    );
    assert_eq!(
        node.voucher(&level3[1]).await.status(),
        VoucherStatus::Redeemed
    );
    let maturity = node.date_in(30).await;
    node.ok(
        "carmaker",
        issue("gearbox", &bank, 10_000, &maturity, "INV-2026-0002"),
    )
    .await;
    assert!(node.status().await.height > after.height);
    node.stop().await;
}
