//! The permission-change audit log read back by account, organisation and height, a page at a
//! time, through the index entries execution writes next to each entry.

use crate::common;

use common::ops::*;
use common::*;
use vchain_contracts::audit::{audit_log, AuditPage, AuditQuery};
use vchain_ledger::{Entry, LedgerError};
use vchain_proto::v1::EventKind;

fn query(chain: &TestChain, query: &AuditQuery) -> AuditPage {
    let index = |prefix: &[u8], after: Option<&[u8]>, limit: usize| {
        Ok::<Vec<Entry>, LedgerError>(
            chain
                .index
                .iter()
                .filter(|key| key.starts_with(prefix) && after.is_none_or(|a| key.as_slice() > a))
                .take(limit)
                .map(|key| (key.clone(), Vec::new()))
                .collect(),
        )
    };
    audit_log(&chain.ledger, &index, query).expect("read")
}

/// (height, kind, first account) of each entry.
fn summary(page: &AuditPage) -> Vec<(u64, EventKind, String)> {
    page.entries
        .iter()
        .map(|(position, event)| {
            (
                position.height,
                event.kind(),
                event.accounts.first().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_audit_log_pages_by_account_organisation_and_height() {
    let mut chain = TestChain::new();
    chain.ok(ADMIN_A, freeze_account(SUP1));
    let first = chain.height;
    chain.ok(ADMIN_A, freeze_account(SUP2));
    let second = chain.height;
    chain.ok(ADMIN_A, unfreeze_account(SUP1));
    let third = chain.height;
    chain.grant_line(1_000_000);
    let granted = chain.height;

    let all = query(
        &chain,
        &AuditQuery {
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(
        summary(&all),
        vec![
            (first, EventKind::AccountFrozen, SUP1.to_owned()),
            (second, EventKind::AccountFrozen, SUP2.to_owned()),
            (third, EventKind::AccountUnfrozen, SUP1.to_owned()),
            (granted, EventKind::CreditLineGranted, String::new()),
        ]
    );
    assert_eq!(all.next, None);

    // By the account changed, and by the account acting.
    let sup1 = query(
        &chain,
        &AuditQuery {
            account_id: SUP1.into(),
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(
        summary(&sup1),
        vec![
            (first, EventKind::AccountFrozen, SUP1.to_owned()),
            (third, EventKind::AccountUnfrozen, SUP1.to_owned()),
        ]
    );
    let by_admin = query(
        &chain,
        &AuditQuery {
            account_id: ADMIN_A.into(),
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(by_admin.entries.len(), 3);
    let by_financier = query(
        &chain,
        &AuditQuery {
            account_id: FINANCIER.into(),
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(summary(&by_financier), summary(&all)[3..].to_vec());

    // By organisation: every genesis identity belongs to bank A; bank B changed nothing.
    let bank_a = query(
        &chain,
        &AuditQuery {
            org_id: "bank-a".into(),
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(summary(&bank_a), summary(&all));
    for (org_id, account_id, expected) in
        [("bank-b", "", 0), ("bank-b", SUP1, 0), ("bank-a", SUP1, 2)]
    {
        let page = query(
            &chain,
            &AuditQuery {
                org_id: org_id.into(),
                account_id: account_id.into(),
                page_size: 100,
                ..AuditQuery::default()
            },
        );
        assert_eq!(page.entries.len(), expected, "{org_id} {account_id}");
    }

    // By height range, inclusive at both ends.
    let middle = query(
        &chain,
        &AuditQuery {
            from_height: second,
            to_height: third,
            page_size: 100,
            ..AuditQuery::default()
        },
    );
    assert_eq!(summary(&middle), summary(&all)[1..3].to_vec());

    // One entry a page: following `next` walks the same log, then ends.
    for filter in [
        AuditQuery::default(),
        AuditQuery {
            account_id: SUP1.into(),
            ..AuditQuery::default()
        },
    ] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = query(
                &chain,
                &AuditQuery {
                    after,
                    page_size: 1,
                    ..filter.clone()
                },
            );
            assert!(page.entries.len() <= 1);
            walked.extend(summary(&page));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let whole = query(
            &chain,
            &AuditQuery {
                page_size: 100,
                ..filter.clone()
            },
        );
        assert_eq!(walked, summary(&whole));
    }
}
