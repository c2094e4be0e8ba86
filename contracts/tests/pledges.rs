//! Pledge registration of vouchers: one active pledge per voucher, the pledged voucher locked,
//! release, enforcement, amendment with the modification code, lapse at the end of the period,
//! every step in the voucher's trace.

mod common;

use common::ops::*;
use common::*;
use sha2::{Digest, Sha256};
use vchain_contracts::{active_pledge, pledge, ASSET_VOUCHER};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    AmendPledge, EnforcePledge, ErrorCode, EventKind, PledgeStatus, RegisterPledge, ReleasePledge,
};

const CODE: &[u8] = b"modification code 7f3a";

fn register(voucher: &str, pledgee: &str, end_date: &str) -> Operation {
    Operation::RegisterPledge(RegisterPledge {
        voucher_id: voucher.into(),
        pledgee: pledgee.into(),
        secured_amount: 800,
        currency: "CNY".into(),
        period_end_date: end_date.into(),
        collateral_description: "loan contract LC-2024-001".into(),
        modification_code_hash: Sha256::digest(CODE).to_vec(),
    })
}

fn release(number: &str) -> Operation {
    Operation::ReleasePledge(ReleasePledge {
        registration_number: number.into(),
        reason: "loan repaid".into(),
    })
}

fn enforce(number: &str) -> Operation {
    Operation::EnforcePledge(EnforcePledge {
        registration_number: number.into(),
        reason: "loan in default".into(),
    })
}

fn amend(number: &str, code: &[u8], end_date: &str) -> Operation {
    Operation::AmendPledge(AmendPledge {
        registration_number: number.into(),
        modification_code: code.to_vec(),
        period_end_date: end_date.into(),
        secured_amount: 0,
    })
}

/// A chain where SUP1 holds a 1,000 voucher maturing in 60 days; returns it.
fn chain_with_voucher() -> (TestChain, String) {
    let mut chain = TestChain::new();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    (chain, voucher)
}

fn registered(chain: &mut TestChain, voucher: &str, days: i64) -> String {
    let end = chain.date_in(days);
    let events = chain.ok(SUP1, register(voucher, FINANCIER, &end));
    assert_eq!(events[0].kind(), EventKind::PledgeRegistered);
    assert_eq!(events[0].voucher_id, voucher);
    events[0].pledge.clone()
}

#[test]
fn a_pledged_voucher_is_locked_and_publicly_noticed_and_cannot_be_pledged_twice() {
    let (mut chain, voucher) = chain_with_voucher();
    let number = registered(&mut chain, &voucher, 30);
    assert_eq!(number, "R000000000001");
    let notice = active_pledge(&chain.ledger, ASSET_VOUCHER, &voucher)
        .expect("read")
        .expect("noticed");
    assert_eq!(notice.pledgor, SUP1);
    assert_eq!(notice.pledgee, FINANCIER);
    assert_eq!(notice.status(), PledgeStatus::Active);
    assert_ne!(
        notice.modification_code_hash, CODE,
        "only the hash is stored"
    );
    assert_eq!(chain.voucher(&voucher).pledge, number);

    let end = chain.date_in(20);
    chain.reject(
        SUP1,
        register(&voucher, FINANCIER, &end),
        ErrorCode::VoucherPledged,
        &["pledged", &number],
    );
    chain.reject(
        SUP1,
        split(&voucher, &[500, 500]),
        ErrorCode::VoucherPledged,
        &["split"],
    );
    chain.reject(
        SUP1,
        transfer(&voucher, SUP2),
        ErrorCode::VoucherPledged,
        &["transfer"],
    );
    chain.reject(
        SUP1,
        request(&voucher),
        ErrorCode::VoucherPledged,
        &["pledged"],
    );
}

#[test]
fn registration_checks_holder_pledgee_amount_period_and_code() {
    let (mut chain, voucher) = chain_with_voucher();
    let end = chain.date_in(30);
    chain.reject(
        SUP2,
        register(&voucher, FINANCIER, &end),
        ErrorCode::NotHolder,
        &["sup-2 does not hold"],
    );
    chain.reject(
        SUP1,
        register(&voucher, SUP2, &end),
        ErrorCode::InvalidRecipient,
        &["the pledgee is a financier"],
    );
    let after_maturity = chain.date_in(61);
    chain.reject(
        SUP1,
        register(&voucher, FINANCIER, &after_maturity),
        ErrorCode::InvalidDate,
        &["the voucher's maturity"],
    );
    let yesterday = chain.date_in(-1);
    chain.reject(
        SUP1,
        register(&voucher, FINANCIER, &yesterday),
        ErrorCode::InvalidDate,
        &["between today"],
    );
    let Operation::RegisterPledge(mut op) = register(&voucher, FINANCIER, &end) else {
        unreachable!()
    };
    op.currency = "USD".into();
    chain.reject(
        SUP1,
        Operation::RegisterPledge(op.clone()),
        ErrorCode::CurrencyMismatch,
        &["USD"],
    );
    op.currency = "CNY".into();
    op.secured_amount = 0;
    chain.reject(
        SUP1,
        Operation::RegisterPledge(op.clone()),
        ErrorCode::InvalidAmount,
        &["secured amount"],
    );
    op.secured_amount = 800;
    op.modification_code_hash = vec![1; 5];
    chain.reject(
        SUP1,
        Operation::RegisterPledge(op),
        ErrorCode::InvalidArgument,
        &["modification code hash"],
    );
}

#[test]
fn the_pledgee_releases_and_the_voucher_moves_again() {
    let (mut chain, voucher) = chain_with_voucher();
    let number = registered(&mut chain, &voucher, 30);
    chain.reject(
        SUP1,
        release(&number),
        ErrorCode::NotPledgee,
        &["fin's to act on"],
    );
    chain.reject(
        FINANCIER,
        release("R000000000099"),
        ErrorCode::PledgeNotFound,
        &["R000000000099"],
    );
    let events = chain.ok(FINANCIER, release(&number));
    assert_eq!(events[0].kind(), EventKind::PledgeReleased);
    assert!(active_pledge(&chain.ledger, ASSET_VOUCHER, &voucher)
        .expect("read")
        .is_none());
    let record = pledge(&chain.ledger, &number).expect("read").expect("kept");
    assert_eq!(record.status(), PledgeStatus::Released);
    assert_eq!(record.ended_reason, "loan repaid");
    chain.reject(
        FINANCIER,
        release(&number),
        ErrorCode::PledgeNotActive,
        &["already ended"],
    );
    chain.ok(SUP1, transfer(&voucher, SUP2));
    // Released, it can be pledged again, under a new number.
    let end = chain.date_in(10);
    let events = chain.ok(SUP2, register(&voucher, FINANCIER, &end));
    assert_eq!(events[0].pledge, "R000000000002");
}

#[test]
fn enforcement_passes_the_voucher_to_the_pledgee() {
    let (mut chain, voucher) = chain_with_voucher();
    let number = registered(&mut chain, &voucher, 30);
    let events = chain.ok(FINANCIER, enforce(&number));
    assert_eq!(events[0].kind(), EventKind::PledgeEnforced);
    let after = chain.voucher(&voucher);
    assert_eq!(after.holder, FINANCIER);
    assert!(after.pledge.is_empty());
    assert_eq!(chain.account(SUP1).live_vouchers, 0);
    assert_eq!(chain.account(FINANCIER).live_vouchers, 1);
    assert_eq!(chain.indexed_holders(&voucher), [FINANCIER]);
    assert_eq!(
        pledge(&chain.ledger, &number)
            .expect("read")
            .expect("kept")
            .status(),
        PledgeStatus::Enforced
    );
    chain.reject(
        FINANCIER,
        enforce(&number),
        ErrorCode::PledgeNotActive,
        &["ENFORCED"],
    );
}

#[test]
fn a_registration_lapses_after_its_period_and_amendment_needs_the_code() {
    let (mut chain, voucher) = chain_with_voucher();
    let number = registered(&mut chain, &voucher, 10);
    let later = chain.date_in(20);
    chain.reject(
        FINANCIER,
        amend(&number, b"wrong code", &later),
        ErrorCode::BadModificationCode,
        &[&number],
    );
    let events = chain.ok(FINANCIER, amend(&number, CODE, &later));
    assert_eq!(events[0].kind(), EventKind::PledgeAmended);
    assert!(
        events[0].detail.contains("period end"),
        "{}",
        events[0].detail
    );

    // Past the first period, still active; past the amended one, lapsed by the chain.
    chain.advance_days(11);
    let outcome = chain.block(vec![]);
    assert!(outcome.system_events.is_empty());
    assert!(!chain.voucher(&voucher).pledge.is_empty());
    chain.advance_days(10);
    let outcome = chain.block(vec![]);
    let kinds: Vec<EventKind> = outcome.system_events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, [EventKind::PledgeLapsed]);
    assert!(chain.voucher(&voucher).pledge.is_empty());
    assert_eq!(
        pledge(&chain.ledger, &number)
            .expect("read")
            .expect("kept")
            .status(),
        PledgeStatus::Lapsed
    );
    assert!(chain.scan(b"px/").is_empty(), "off the lapse queue");
    chain.ok(SUP1, transfer(&voucher, SUP2));

    // Every step is in the voucher's trace.
    let trace = vchain_contracts::trace::trace(&chain.ledger, &voucher)
        .expect("read")
        .expect("voucher");
    let kinds: Vec<EventKind> = trace.vouchers[0].events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::VoucherIssued,
            EventKind::PledgeRegistered,
            EventKind::PledgeAmended,
            EventKind::PledgeLapsed,
            EventKind::VoucherTransferred,
        ]
    );
}
