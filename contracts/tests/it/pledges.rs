//! Pledge registration of vouchers: one active pledge per voucher, the pledged voucher locked,
//! release, enforcement, amendment with the modification code, lapse at the end of the period,
//! every step in the voucher's trace.

use crate::common;

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
        ..RegisterPledge::default()
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
        ..AmendPledge::default()
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
    // The event carries the registration as amended.
    assert_eq!(
        events[0]
            .registration
            .as_ref()
            .map(|r| r.period_end_date.clone()),
        Some(later.clone())
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

fn issue_receipt(holder: &str, quantity: u64, unit_value: u64) -> Operation {
    Operation::IssueWarehouseReceipt(vchain_proto::v1::IssueWarehouseReceipt {
        holder: holder.into(),
        sku: "steel coil HRC-2.0".into(),
        quantity,
        unit_value,
        currency: "CNY".into(),
        location: "Warehouse 3, bay 12".into(),
        description: "hot-rolled coil".into(),
    })
}

fn release_goods(receipt: &str, quantity: u64) -> Operation {
    Operation::ReleaseGoods(vchain_proto::v1::ReleaseGoods {
        receipt_id: receipt.into(),
        quantity,
        reason: "delivery to customer".into(),
    })
}

fn pledge_receipt(
    receipt: &str,
    end_date: &str,
    mode: vchain_proto::v1::PledgeMode,
    floor: u64,
) -> Operation {
    Operation::RegisterPledge(RegisterPledge {
        receipt_id: receipt.into(),
        pledgee: FINANCIER.into(),
        secured_amount: 50_000,
        currency: "CNY".into(),
        period_end_date: end_date.into(),
        collateral_description: "inventory loan IL-9".into(),
        modification_code_hash: Sha256::digest(CODE).to_vec(),
        mode: mode.into(),
        floor_value: floor,
        ..RegisterPledge::default()
    })
}

/// A chain where the warehouse issued SUP1 a receipt for 100 units at 1,000; returns it.
fn chain_with_receipt() -> (TestChain, String) {
    let mut chain = TestChain::new();
    let events = chain.ok(WAREHOUSE, issue_receipt(SUP1, 100, 1_000));
    assert_eq!(events[0].kind(), EventKind::ReceiptIssued);
    let id = events[0].receipt_id.clone();
    assert_eq!(id, "W000000000001");
    (chain, id)
}

fn receipt(chain: &TestChain, id: &str) -> vchain_proto::v1::WarehouseReceipt {
    chain
        .try_get(&vchain_contracts::keys::receipt(id))
        .expect("receipt")
}

#[test]
fn warehouse_receipts_are_issued_by_operators_and_transferred_by_holders() {
    let (mut chain, id) = chain_with_receipt();
    chain.reject(
        SUP1,
        issue_receipt(SUP1, 1, 1),
        ErrorCode::WrongRole,
        &["warehouse"],
    );
    chain.reject(
        WAREHOUSE,
        issue_receipt(SUP1, 0, 1_000),
        ErrorCode::InvalidAmount,
        &["quantity"],
    );
    chain.reject(
        WAREHOUSE,
        issue_receipt(CORE, 1, 1_000),
        ErrorCode::InvalidRecipient,
        &["cannot hold"],
    );
    chain.reject(
        WAREHOUSE,
        issue_receipt(SUP1, u64::MAX, 2),
        ErrorCode::ArithmeticOverflow,
        &["overflow"],
    );
    let transfer = |to: &str| {
        Operation::TransferWarehouseReceipt(vchain_proto::v1::TransferWarehouseReceipt {
            receipt_id: id.clone(),
            to: to.into(),
        })
    };
    chain.reject(
        SUP2,
        transfer(SUP3),
        ErrorCode::NotHolder,
        &["sup-2 does not hold"],
    );
    chain.reject(
        SUP1,
        transfer(WAREHOUSE),
        ErrorCode::InvalidRecipient,
        &["issuing warehouse operator"],
    );
    chain.ok(SUP1, transfer(SUP2));
    assert_eq!(receipt(&chain, &id).holder, SUP2);
    // Only the issuing operator releases goods, never more than the lot holds.
    chain.reject(
        SUP2,
        release_goods(&id, 1),
        ErrorCode::WrongRole,
        &["releasing goods"],
    );
    chain.reject(
        WAREHOUSE,
        release_goods(&id, 101),
        ErrorCode::InsufficientGoods,
        &["holds 100 units"],
    );
    chain.ok(WAREHOUSE, release_goods(&id, 100));
    assert_eq!(
        receipt(&chain, &id).status(),
        vchain_proto::v1::WarehouseReceiptStatus::Emptied
    );
}

#[test]
fn under_a_static_pledge_no_goods_leave_and_the_receipt_stays() {
    let (mut chain, id) = chain_with_receipt();
    let end = chain.date_in(30);
    let events = chain.ok(
        SUP1,
        pledge_receipt(&id, &end, vchain_proto::v1::PledgeMode::Static, 0),
    );
    let number = events[0].pledge.clone();
    assert_eq!(events[0].receipt_id, id);
    assert_eq!(receipt(&chain, &id).pledge, number);
    chain.reject(
        WAREHOUSE,
        release_goods(&id, 1),
        ErrorCode::GoodsLocked,
        &["static pledge"],
    );
    chain.reject(
        SUP1,
        Operation::TransferWarehouseReceipt(vchain_proto::v1::TransferWarehouseReceipt {
            receipt_id: id.clone(),
            to: SUP2.into(),
        }),
        ErrorCode::VoucherPledged,
        &["pledged"],
    );
    assert!(
        active_pledge(&chain.ledger, vchain_contracts::ASSET_RECEIPT, &id)
            .expect("read")
            .is_some()
    );
    chain.ok(FINANCIER, release(&number));
    chain.ok(WAREHOUSE, release_goods(&id, 10));
    assert_eq!(receipt(&chain, &id).quantity, 90);
}

#[test]
fn under_a_dynamic_pledge_goods_leave_down_to_the_floor_and_enforcement_takes_the_receipt() {
    let (mut chain, id) = chain_with_receipt();
    let end = chain.date_in(30);
    // Floors out of range, and dynamic vouchers, are refused.
    chain.reject(
        SUP1,
        pledge_receipt(&id, &end, vchain_proto::v1::PledgeMode::Dynamic, 100_001),
        ErrorCode::InvalidAmount,
        &["collateral's value 100000"],
    );
    chain.reject(
        SUP1,
        pledge_receipt(&id, &end, vchain_proto::v1::PledgeMode::Static, 5),
        ErrorCode::InvalidArgument,
        &["static pledge has no floor"],
    );
    let events = chain.ok(
        SUP1,
        pledge_receipt(&id, &end, vchain_proto::v1::PledgeMode::Dynamic, 60_000),
    );
    let number = events[0].pledge.clone();
    // 100 units × 1,000 = 100,000; the floor is 60,000: 40 units may go, not 41.
    chain.ok(WAREHOUSE, release_goods(&id, 30));
    chain.reject(
        WAREHOUSE,
        release_goods(&id, 11),
        ErrorCode::GoodsLocked,
        &["below its floor 60000"],
    );
    chain.ok(WAREHOUSE, release_goods(&id, 10));
    // The pledgee lowers the floor (with the pledgor's code): more may go.
    let Operation::AmendPledge(mut lower) = amend(&number, CODE, "") else {
        unreachable!()
    };
    lower.floor_value = 30_000;
    chain.ok(FINANCIER, Operation::AmendPledge(lower));
    chain.ok(WAREHOUSE, release_goods(&id, 30));
    assert_eq!(receipt(&chain, &id).quantity, 30);
    // On default the receipt passes to the pledgee.
    chain.ok(FINANCIER, enforce(&number));
    let after = receipt(&chain, &id);
    assert_eq!(after.holder, FINANCIER);
    assert!(after.pledge.is_empty());
    let voucher_pledge = {
        let mut chain = TestChain::new();
        chain.grant_line(10_000_000);
        let voucher = chain.issue(SUP1, 1_000, 60);
        let end = chain.date_in(10);
        let Operation::RegisterPledge(mut op) = register(&voucher, FINANCIER, &end) else {
            unreachable!()
        };
        op.mode = vchain_proto::v1::PledgeMode::Dynamic.into();
        op.floor_value = 10;
        chain.reject(
            SUP1,
            Operation::RegisterPledge(op),
            ErrorCode::InvalidArgument,
            &["only warehouse receipts"],
        )
    };
    assert!(voucher_pledge.contains("pledged whole"));
}
