//! A bundle built from a real chain verifies against its genesis, and says what happened.

use crate::common;

use common::{story, NEW_NODE};
use vchain_bundle::{build, decode, encode, verify, BuildError};
use vchain_proto::v1::{EventKind, VoucherStatus};

#[test]
fn a_bundle_of_a_real_chain_verifies_against_genesis_alone() {
    let story = story();
    let bundle = build(&story.chain, &story.a1).expect("builds");
    let bytes = encode(&bundle);
    let decoded = decode(&bytes).expect("decodes");
    assert_eq!(decoded, bundle);
    let lineage =
        verify(&decoded, &story.chain.genesis).unwrap_or_else(|e| panic!("{}: {e}", e.code()));

    assert_eq!(lineage.voucher_id, story.a1);
    assert_eq!(lineage.root_id, story.root);
    let ids: Vec<&str> = lineage
        .vouchers
        .iter()
        .map(|v| v.voucher.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [&story.root, &story.a, &story.a1, &story.a2, &story.b].map(String::as_str),
        "depth first from the root, children in split order"
    );
    assert_eq!(lineage.tip.height, story.chain.height());
    assert_eq!(lineage.tip.validators, 5);
    assert_eq!(lineage.tip.quorum, 4);
    assert_eq!(lineage.tip.signers.len(), 4);
    assert_eq!(lineage.validator_changes.len(), 1);
    assert_eq!(lineage.validator_changes[0].added, [NEW_NODE.0]);

    let kinds = |id: &str| -> Vec<EventKind> {
        lineage
            .vouchers
            .iter()
            .find(|v| v.voucher.id == id)
            .expect("voucher")
            .events
            .iter()
            .map(|e| e.event.kind())
            .collect()
    };
    assert_eq!(
        kinds(&story.root),
        [EventKind::VoucherIssued, EventKind::VoucherSplit]
    );
    assert_eq!(
        kinds(&story.a1),
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherTransferred,
            EventKind::VoucherTransferred,
            EventKind::RedemptionRequested,
            EventKind::VoucherRedeemed
        ]
    );
    assert_eq!(
        kinds(&story.a2),
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherFinanced,
            EventKind::VoucherDestroyed
        ]
    );
    assert_eq!(
        kinds(&story.b),
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherDestroyed
        ]
    );
    let destroyed = lineage
        .vouchers
        .iter()
        .find(|v| v.voucher.id == story.b)
        .expect("b");
    assert_eq!(destroyed.voucher.status(), VoucherStatus::Destroyed);
    let last = destroyed.events.last().expect("event");
    assert_eq!(
        (last.tx_index, last.signer.as_deref()),
        (None, None),
        "the chain acted"
    );

    // Printable and serializable for the CLI.
    let text = lineage.to_string();
    assert!(
        text.contains(&story.a1) && text.contains("voucher redeemed"),
        "{text}"
    );
    let json = serde_json::to_value(&lineage).expect("json");
    assert_eq!(json["tip"]["quorum"], 4);

    // Every member of the lineage has the same bundle but for the voucher asked.
    let from_root = build(&story.chain, &story.root).expect("builds");
    assert_eq!(from_root.records, bundle.records);
    assert_eq!(from_root.transactions, bundle.transactions);
}

#[test]
fn the_builder_refuses_what_it_cannot_prove() {
    let mut story = story();
    assert!(matches!(
        build(&story.chain, "V999999999999"),
        Err(BuildError::UnknownVoucher(_))
    ));
    // A block whose certificate this node lacks.
    story.chain.certificates.remove(&2);
    let error = build(&story.chain, &story.a1).expect_err("uncertified");
    assert!(matches!(error, BuildError::Uncertified(2)), "{error}");
    assert_eq!(error.code(), "block-uncertified");
}
