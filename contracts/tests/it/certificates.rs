//! Certificates on chain: genesis verifies root CAs and account certificates, registration checks
//! them, every transaction is authenticated against a valid, unrevoked certificate, revocation
//! stops an account from its block on, and key rotation keeps the account's vouchers.

use crate::common;
use vchain_contracts::verified::VerifiedSignatures;

use common::ops::*;
use common::*;
use vchain_contracts::genesis::Params;
use vchain_contracts::{certificate_record, certificates_expiring, check_tx, revoked_certificates};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{CertificateStatus, ErrorCode, EventKind, Role};

/// A certified chain (bank A has a root CA, bank B has bare keys) and bank A's CA.
fn certified_chain() -> (TestChain, vchain_pki::RootCa) {
    let ca = bank_a_ca();
    let chain = TestChain::from_genesis(certified_genesis(&ca, Params::default()));
    (chain, ca)
}

fn validity(not_before_ms: u64, not_after_ms: u64) -> vchain_pki::Validity {
    vchain_pki::Validity {
        not_before_ms,
        not_after_ms,
    }
}

fn genesis_error(genesis: &vchain_contracts::genesis::Genesis) -> String {
    genesis
        .state()
        .expect_err("genesis must be refused")
        .to_string()
}

#[test]
fn genesis_binds_every_account_of_a_certified_organisation_to_its_certificate() {
    let (chain, ca) = certified_chain();
    let organisation = chain
        .try_get::<vchain_proto::v1::Organisation>(&vchain_contracts::keys::organisation("bank-a"))
        .expect("bank-a");
    assert_eq!(organisation.root_ca_certificate, ca.certificate().as_der());
    for account_id in [ADMIN_A, FINANCIER, CORE, SUP1, REGULATOR] {
        let account = chain.account(account_id);
        assert!(
            !account.certificate_serial.is_empty(),
            "{account_id} is certified"
        );
        let record = certificate_record(&chain.ledger, "bank-a", &account.certificate_serial)
            .expect("read")
            .expect("registered");
        assert_eq!(record.subject_id, account_id);
        assert_eq!(record.status(), CertificateStatus::Active);
        assert_eq!(record.public_key, account.public_key);
    }
    // Bank B has no CA: its administrator is a bare key.
    assert!(chain.account(ADMIN_B).certificate_serial.is_empty());
}

#[test]
fn genesis_refuses_forged_expired_foreign_and_missing_certificates() {
    let ca = bank_a_ca();
    let good = certified_genesis(&ca, Params::default());
    good.state().expect("the good genesis is valid");

    // The root CA is forged: one bit of its signature flipped.
    let mut forged = good.clone();
    let mut der = ca.certificate().as_der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    forged.organisations[0].root_ca_certificate = vchain_pki::Certificate::from_der(der)
        .expect("still parses")
        .to_pem();
    assert!(
        genesis_error(&forged).contains("signature does not verify"),
        "{}",
        genesis_error(&forged)
    );

    // Another organisation's root under bank-a.
    let mut foreign = good.clone();
    let other = vchain_pki::RootCa::generate("bank-b", ca.validity()).expect("CA");
    foreign.organisations[0].root_ca_certificate = other.certificate().to_pem();
    assert!(genesis_error(&foreign).contains("not \"bank-a\""));

    // An account certificate from a different CA that also calls itself bank-a.
    let mut impostor = good.clone();
    let fake_ca = bank_a_ca();
    let pem = account_certificate(
        &fake_ca,
        ADMIN_A,
        Role::Administrator,
        &key(1).verifying_key().to_bytes(),
    );
    impostor.organisations[0].admins[0].certificate = String::from_utf8(pem).expect("PEM");
    assert!(
        genesis_error(&impostor).contains("signature does not verify with the CA's key"),
        "{}",
        genesis_error(&impostor)
    );

    // A certified organisation's account without a certificate.
    let mut missing = good.clone();
    missing.identities[0].accounts[0].certificate.clear();
    assert!(genesis_error(&missing).contains("needs a certificate"));

    // A certificate that expired before the genesis time.
    let expired = certified_genesis_with(&ca, Params::default(), |account| {
        if account == SUP2 {
            validity(GENESIS_TIME_MS - 10 * DAY_MS, GENESIS_TIME_MS - DAY_MS)
        } else {
            ca.validity()
        }
    });
    assert!(genesis_error(&expired).contains("expired"));

    // A certificate whose key is not the one listed.
    let mut wrong_key = good;
    wrong_key.identities[0].accounts[0].public_key =
        hex::encode(key(99).verifying_key().as_bytes());
    assert!(genesis_error(&wrong_key).contains("it certifies key"));
}

#[test]
fn registration_checks_the_certificate_against_the_organisations_ca() {
    let (mut chain, ca) = certified_chain();
    let new_key = key(60).verifying_key().to_bytes();
    let cert = |account_id: &str, role: Role| account_certificate(&ca, account_id, role, &new_key);
    let uscc_new = uscc(60);

    chain.reject(
        ADMIN_A,
        register_identity(&uscc_new, Role::Supplier, "sup-new", &new_key),
        ErrorCode::CertificateRequired,
        &["bank-a has a root CA", "sup-new"],
    );
    chain.reject(
        ADMIN_A,
        register_certified_identity(&uscc_new, Role::Supplier, "sup-new", b"garbage"),
        ErrorCode::CertificateInvalid,
        &["certificate of account sup-new"],
    );
    let forger = bank_a_ca();
    chain.reject(
        ADMIN_A,
        register_certified_identity(
            &uscc_new,
            Role::Supplier,
            "sup-new",
            &account_certificate(&forger, "sup-new", Role::Supplier, &new_key),
        ),
        ErrorCode::CertificateInvalid,
        &["signature does not verify with the CA's key"],
    );
    chain.reject(
        ADMIN_A,
        register_certified_identity(
            &uscc_new,
            Role::Supplier,
            "sup-new",
            &cert("someone-else", Role::Supplier),
        ),
        ErrorCode::CertificateMismatch,
        &["certifies \"someone-else\" (CN)"],
    );
    chain.reject(
        ADMIN_A,
        register_certified_identity(
            &uscc_new,
            Role::Supplier,
            "sup-new",
            &cert("sup-new", Role::Financier),
        ),
        ErrorCode::CertificateMismatch,
        &["grants role financier", "account is supplier"],
    );
    let Operation::RegisterIdentity(mut other_key) = register_certified_identity(
        &uscc_new,
        Role::Supplier,
        "sup-new",
        &cert("sup-new", Role::Supplier),
    ) else {
        unreachable!()
    };
    other_key.public_key = key(61).verifying_key().to_bytes().to_vec();
    chain.reject(
        ADMIN_A,
        Operation::RegisterIdentity(other_key),
        ErrorCode::CertificateMismatch,
        &["the request names"],
    );
    let stale = account_certificate_valid(
        &ca,
        "sup-new",
        Role::Supplier,
        &new_key,
        validity(GENESIS_TIME_MS - 10 * DAY_MS, GENESIS_TIME_MS - DAY_MS),
    );
    chain.reject(
        ADMIN_A,
        register_certified_identity(&uscc_new, Role::Supplier, "sup-new", &stale),
        ErrorCode::CertificateExpired,
        &["expired"],
    );
    // Bank B has no CA, so it cannot register certificates it cannot vouch for.
    chain.reject(
        ADMIN_B,
        register_certified_identity(
            &uscc_new,
            Role::Supplier,
            "sup-new",
            &cert("sup-new", Role::Supplier),
        ),
        ErrorCode::CertificateInvalid,
        &["bank-b has no root CA"],
    );

    // The right certificate registers the account with the certificate's key, and a second
    // account of the identity needs its own.
    let events = chain.ok(
        ADMIN_A,
        register_certified_identity(
            &uscc_new,
            Role::Supplier,
            "sup-new",
            &cert("sup-new", Role::Supplier),
        ),
    );
    assert_eq!(events[0].kind(), EventKind::IdentityRegistered);
    let account = chain.account("sup-new");
    assert_eq!(account.public_key, new_key);
    chain.add_key("sup-new", key(60));
    let second_key = key(62).verifying_key().to_bytes();
    chain.reject(
        ADMIN_A,
        register_account(&uscc_new, "sup-new-2", &second_key),
        ErrorCode::CertificateRequired,
        &["sup-new-2"],
    );
    let Operation::RegisterAccount(mut op) = register_account(&uscc_new, "sup-new-2", &[]) else {
        unreachable!()
    };
    op.certificate = account_certificate(&ca, "sup-new-2", Role::Supplier, &second_key);
    chain.ok(ADMIN_A, Operation::RegisterAccount(op));
    assert_eq!(chain.account("sup-new-2").public_key, second_key);
}

#[test]
fn an_expired_or_not_yet_valid_certificate_authenticates_nothing() {
    let ca = bank_a_ca();
    let end = GENESIS_TIME_MS + 10 * DAY_MS;
    let genesis = certified_genesis_with(&ca, Params::default(), |account| match account {
        SUP1 => validity(GENESIS_TIME_MS - DAY_MS, end),
        _ => ca.validity(),
    });
    let mut chain = TestChain::from_genesis(genesis);
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    // Issued while SUP1 can still act: an account past its notAfter receives nothing.
    let back = chain.issue(SUP1, 1_000, 60);
    // Valid until the last second of its notAfter.
    chain.time_ms = end;
    chain.ok(SUP1, transfer(&voucher, SUP2));
    chain.time_ms = end + 1;
    let tx = chain.tx(SUP1, transfer(&back, SUP2));
    chain.refuse(tx, ErrorCode::CertificateExpired, &[SUP1, "expired at"]);
    assert_eq!(chain.voucher(&back).holder, SUP1, "nothing moved");

    // A certificate whose period has not begun cannot be bound at all.
    let later = account_certificate_valid(
        &ca,
        SUP3,
        Role::Supplier,
        &key(63).verifying_key().to_bytes(),
        validity(chain.time_ms + 30 * DAY_MS, ca.validity().not_after_ms),
    );
    chain.reject(
        ADMIN_A,
        rotate_key(SUP3, &later),
        ErrorCode::CertificateNotYetValid,
        &["certificate of account sup-3", "not yet valid"],
    );
}

#[test]
fn a_revoked_certificate_stops_its_account_from_the_revoking_block_on() {
    let (mut chain, _ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let serial = chain.account(SUP1).certificate_serial;

    // The revocation and the supplier's transfer in one block: the transfer comes after the
    // revocation and is refused.
    let revoke = chain.tx(ADMIN_A, revoke_certificate(&serial, "key compromise"));
    let spend = chain.tx(SUP1, transfer(&voucher, SUP2));
    let outcome = chain.block(vec![revoke, spend.clone()]);
    assert_ok(&outcome.results[0]);
    let revoked = &outcome.results[0].events[0];
    assert_eq!(revoked.kind(), EventKind::CertificateRevoked);
    assert_eq!(revoked.counterparty, SUP1);
    assert_rejection(
        &outcome.results[1],
        ErrorCode::CertificateRevoked,
        &[SUP1, "revoked"],
    );
    assert_eq!(chain.voucher(&voucher).holder, SUP1);
    assert_eq!(
        chain.nonce(SUP1),
        spend_nonce(&spend),
        "the nonce was not spent"
    );

    // Admission refuses it too, and the registry lists it.
    let next = chain.tx(SUP1, transfer(&voucher, SUP2));
    let refused =
        check_tx(&chain.ledger, &next, &VerifiedSignatures::none()).expect_err("admission refuses");
    assert!(refused.to_string().contains("revoked"), "{refused}");
    let list = revoked_certificates(&chain.ledger, "bank-a", 10).expect("read");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].subject_id, SUP1);
    assert_eq!(list[0].ended_reason, "key compromise");
    assert_eq!(list[0].ended_height, chain.height);
    assert!(
        certificates_expiring(&chain.ledger, u64::MAX, 100)
            .expect("read")
            .iter()
            .all(|r| r.serial != serial),
        "a revoked certificate is off the expiry queue"
    );

    // Revocation is the issuing organisation's alone, once, of a known serial, by an administrator.
    chain.reject(
        ADMIN_A,
        revoke_certificate(&serial, "again"),
        ErrorCode::CertificateAlreadyRevoked,
        &["already on the revocation list"],
    );
    chain.reject(
        ADMIN_A,
        revoke_certificate(&[0x7f; 16], "unknown"),
        ErrorCode::CertificateNotFound,
        &["bank-a registered no certificate"],
    );
    let core_serial = chain.account(CORE).certificate_serial;
    chain.reject(
        ADMIN_B,
        revoke_certificate(&core_serial, "not ours"),
        ErrorCode::CertificateNotFound,
        &["bank-b registered no certificate"],
    );
    chain.reject(
        FINANCIER,
        revoke_certificate(&core_serial, "not an admin"),
        ErrorCode::WrongRole,
        &["revoking a certificate"],
    );
    chain.reject(
        ADMIN_A,
        revoke_certificate(&[], "empty"),
        ErrorCode::InvalidArgument,
        &["1 to 20 bytes"],
    );
}

#[test]
fn a_superseded_certificate_can_still_be_revoked_and_only_once() {
    let (mut chain, ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let old_serial = chain.account(SUP1).certificate_serial;
    let new_key = key(64);
    let new_cert = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &new_key.verifying_key().to_bytes(),
    );
    chain.ok(SUP1, rotate_key(SUP1, &new_cert));
    let rotated_at = chain.height;
    chain.add_key(SUP1, new_key);

    // The old key is found compromised later: the administrator lists its certificate.
    let events = chain.ok(ADMIN_A, revoke_certificate(&old_serial, "old key leaked"));
    assert_eq!(events[0].kind(), EventKind::CertificateRevoked);
    assert_eq!(events[0].accounts, vec![SUP1.to_owned()]);
    assert_eq!(events[0].certificate_serial, old_serial);
    assert_eq!(events[0].detail, "old key leaked");
    let record = certificate_record(&chain.ledger, "bank-a", &old_serial)
        .expect("read")
        .expect("kept");
    assert_eq!(record.status(), CertificateStatus::Revoked);
    assert_eq!(record.ended_height, chain.height);
    assert_eq!(record.superseded_height, rotated_at);
    assert_eq!(record.ended_reason, "old key leaked");
    let list = revoked_certificates(&chain.ledger, "bank-a", 10).expect("read");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].serial, old_serial);

    // The account keeps working with its current certificate.
    assert!(!chain.account(SUP1).certificate_revoked);
    chain.ok(SUP1, transfer(&voucher, SUP2));

    // Listing it a second time is a precondition failure of an authenticated administrator.
    chain.reject(
        ADMIN_A,
        revoke_certificate(&old_serial, "again"),
        ErrorCode::CertificateAlreadyRevoked,
        &["already on the revocation list"],
    );
}

/// A live asset (voucher, warehouse receipt, pledge) is never given to an account that could
/// not act on it: revoked or expired certificate, frozen or cancelled (INVALID_RECIPIENT).
#[test]
fn no_live_asset_goes_to_an_account_that_cannot_act() {
    let ca = bank_a_ca();
    let short = GENESIS_TIME_MS + 10 * DAY_MS;
    let genesis = certified_genesis_with(&ca, Params::default(), |account| match account {
        SUP3 => validity(GENESIS_TIME_MS - DAY_MS, short),
        _ => ca.validity(),
    });
    let mut chain = TestChain::from_genesis(genesis);
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let events = chain.ok(
        WAREHOUSE,
        Operation::IssueWarehouseReceipt(vchain_proto::v1::IssueWarehouseReceipt {
            holder: SUP1.into(),
            sku: "copper cathode".into(),
            quantity: 10,
            unit_value: 1_000,
            currency: "CNY".into(),
            location: "Bonded warehouse 2".into(),
            description: String::new(),
        }),
    );
    let receipt = events[0].receipt_id.clone();
    let issue_receipt_to = |holder: &str| {
        Operation::IssueWarehouseReceipt(vchain_proto::v1::IssueWarehouseReceipt {
            holder: holder.into(),
            sku: "copper cathode".into(),
            quantity: 10,
            unit_value: 1_000,
            currency: "CNY".into(),
            location: "Bonded warehouse 2".into(),
            description: String::new(),
        })
    };
    let transfer_receipt_to = |to: &str| {
        Operation::TransferWarehouseReceipt(vchain_proto::v1::TransferWarehouseReceipt {
            receipt_id: receipt.clone(),
            to: to.into(),
        })
    };

    // SUP2's certificate is revoked: it receives nothing.
    let serial = chain.account(SUP2).certificate_serial;
    chain.ok(ADMIN_A, revoke_certificate(&serial, "key compromise"));
    let op = chain.issue_op(SUP2, 1_000, 60);
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidRecipient,
        &["holder account sup-2", "revoked"],
    );
    chain.reject(
        SUP1,
        transfer(&voucher, SUP2),
        ErrorCode::InvalidRecipient,
        &["recipient account sup-2", "revoked"],
    );
    chain.reject(
        WAREHOUSE,
        issue_receipt_to(SUP2),
        ErrorCode::InvalidRecipient,
        &["holder account sup-2", "revoked"],
    );
    chain.reject(
        SUP1,
        transfer_receipt_to(SUP2),
        ErrorCode::InvalidRecipient,
        &["holder account sup-2", "revoked"],
    );

    // SUP3's certificate has expired at the block time.
    chain.time_ms = short + 1;
    let op = chain.issue_op(SUP3, 1_000, 60);
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidRecipient,
        &["holder account sup-3", "expired"],
    );
    chain.reject(
        SUP1,
        transfer(&voucher, SUP3),
        ErrorCode::InvalidRecipient,
        &["recipient account sup-3", "expired"],
    );

    // A frozen warehouse-receipt holder and a revoked pledgee are refused too.
    chain.ok(ADMIN_A, freeze_account(SUP2));
    chain.reject(
        WAREHOUSE,
        issue_receipt_to(SUP2),
        ErrorCode::InvalidRecipient,
        &["holder account sup-2 is frozen"],
    );
    let serial = chain.account(FINANCIER).certificate_serial;
    chain.ok(ADMIN_A, revoke_certificate(&serial, "key compromise"));
    let end = chain.date_in(30);
    chain.reject(
        SUP1,
        Operation::RegisterPledge(vchain_proto::v1::RegisterPledge {
            voucher_id: voucher.clone(),
            pledgee: FINANCIER.into(),
            secured_amount: 800,
            currency: "CNY".into(),
            period_end_date: end,
            collateral_description: "loan contract LC-2024-001".into(),
            modification_code_hash: vec![7; 32],
            ..vchain_proto::v1::RegisterPledge::default()
        }),
        ErrorCode::InvalidRecipient,
        &["pledgee account fin", "revoked"],
    );
    assert_eq!(chain.voucher(&voucher).holder, SUP1, "nothing moved");
}

/// An account whose identity is no longer active cannot be given a voucher either. No operation
/// revokes an identity yet, so the state is written directly.
#[test]
fn no_voucher_goes_to_an_account_of_an_inactive_identity() {
    let (mut chain, _ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let identity = vchain_proto::v1::Identity {
        status: vchain_proto::v1::IdentityStatus::Revoked.into(),
        ..chain.identity(&sup_uscc(2))
    };
    chain.patch(vchain_contracts::keys::identity(&sup_uscc(2)), &identity);
    chain.reject(
        SUP1,
        transfer(&voucher, SUP2),
        ErrorCode::InvalidRecipient,
        &["recipient account sup-2 cannot act", "is not active"],
    );
}

fn spend_nonce(tx: &vchain_proto::v1::SignedTransaction) -> u64 {
    use prost::Message;
    vchain_proto::v1::TransactionBody::decode(tx.body.as_slice())
        .expect("body")
        .nonce
}

#[test]
fn key_rotation_keeps_the_accounts_vouchers_and_retires_the_old_key() {
    let (mut chain, ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let old = chain.account(SUP1);
    let old_key = key(6);
    let new_key = key(64);
    let new_cert = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &new_key.verifying_key().to_bytes(),
    );

    // The account rotates its own key.
    let events = chain.ok(SUP1, rotate_key(SUP1, &new_cert));
    assert_eq!(events[0].kind(), EventKind::AccountKeyRotated);
    let rotated = chain.account(SUP1);
    assert_eq!(rotated.public_key, new_key.verifying_key().to_bytes());
    assert_ne!(rotated.certificate_serial, old.certificate_serial);
    assert_eq!(
        rotated.next_nonce,
        old.next_nonce + 1,
        "the nonce carries on"
    );
    let superseded = certificate_record(&chain.ledger, "bank-a", &old.certificate_serial)
        .expect("read")
        .expect("kept");
    assert_eq!(superseded.status(), CertificateStatus::Superseded);

    // The old key signs for nobody.
    let stale = vchain_wallet::transaction::sign(
        &vchain_wallet::transaction::body(
            CHAIN_ID,
            SUP1,
            chain.nonce(SUP1),
            transfer(&voucher, SUP2),
        ),
        &old_key,
    );
    chain.refuse(
        stale,
        ErrorCode::KeyMismatch,
        &["not the key bound to account sup-1"],
    );

    // The new key moves the voucher it still holds.
    chain.add_key(SUP1, new_key);
    chain.ok(SUP1, transfer(&voucher, SUP2));
    assert_eq!(chain.voucher(&voucher).holder, SUP2);

    // Rotations that must fail.
    let again = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &key(64).verifying_key().to_bytes(),
    );
    chain.reject(
        SUP1,
        rotate_key(SUP1, &again),
        ErrorCode::InvalidPublicKey,
        &["already has"],
    );
    let taken = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &key(7).verifying_key().to_bytes(),
    );
    chain.reject(
        SUP1,
        rotate_key(SUP1, &taken),
        ErrorCode::InvalidPublicKey,
        &["already bound to account sup-2"],
    );
    let old_again = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &old_key.verifying_key().to_bytes(),
    );
    chain.reject(
        SUP1,
        rotate_key(SUP1, &old_again),
        ErrorCode::InvalidPublicKey,
        &["already bound to account sup-1"],
    );
    let for_other = account_certificate(
        &ca,
        SUP2,
        Role::Supplier,
        &key(65).verifying_key().to_bytes(),
    );
    chain.reject(
        SUP1,
        rotate_key(SUP1, &for_other),
        ErrorCode::CertificateMismatch,
        &["certifies \"sup-2\""],
    );
    chain.reject(
        SUP1,
        rotate_key(SUP2, &for_other),
        ErrorCode::WrongRole,
        &["rotating the key of account sup-2"],
    );
    chain.reject(
        ADMIN_B,
        rotate_key(SUP2, &for_other),
        ErrorCode::NotSameOrganisation,
        &["belongs to bank-a"],
    );
}

#[test]
fn after_a_revocation_the_administrator_rotates_a_new_certificate_in() {
    let (mut chain, ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    let serial = chain.account(SUP1).certificate_serial;
    chain.ok(ADMIN_A, revoke_certificate(&serial, "laptop stolen"));
    // The thief cannot rotate the key away: the revoked certificate authenticates nothing.
    let thief_cert = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &key(66).verifying_key().to_bytes(),
    );
    let tx = chain.tx(SUP1, rotate_key(SUP1, &thief_cert));
    chain.refuse(tx, ErrorCode::CertificateRevoked, &["revoked"]);
    // The administrator binds the owner's new key; the voucher is still the owner's.
    let owner_cert = account_certificate(
        &ca,
        SUP1,
        Role::Supplier,
        &key(67).verifying_key().to_bytes(),
    );
    chain.ok(ADMIN_A, rotate_key(SUP1, &owner_cert));
    chain.add_key(SUP1, key(67));
    assert!(!chain.account(SUP1).certificate_revoked);
    chain.ok(SUP1, transfer(&voucher, SUP3));
    assert_eq!(chain.voucher(&voucher).holder, SUP3);
    // The revoked record stays on the revocation list.
    let record = certificate_record(&chain.ledger, "bank-a", &serial)
        .expect("read")
        .expect("kept");
    assert_eq!(record.status(), CertificateStatus::Revoked);
}

#[test]
fn certificates_stay_valid_across_a_ca_rotation_and_new_ones_need_the_new_ca() {
    let (mut chain, old_ca) = certified_chain();
    let new_ca = bank_a_ca();
    chain.govern(
        ADMIN_A,
        propose(
            vchain_proto::v1::submit_proposal::Action::RotateOrganisationCa(
                vchain_proto::v1::RotateOrganisationCa {
                    org_id: "bank-a".into(),
                    root_ca_certificate: new_ca.certificate().to_pem().into_bytes(),
                },
            ),
        ),
    );
    // Accounts certified by the old CA keep working.
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    chain.ok(SUP1, transfer(&voucher, SUP2));
    // A certificate from the old CA no longer registers anything; one from the new CA does.
    let new_key = key(68).verifying_key().to_bytes();
    chain.reject(
        ADMIN_A,
        register_certified_identity(
            &uscc(68),
            Role::Supplier,
            "sup-68",
            &account_certificate(&old_ca, "sup-68", Role::Supplier, &new_key),
        ),
        ErrorCode::CertificateInvalid,
        &["signature does not verify with the CA's key"],
    );
    chain.ok(
        ADMIN_A,
        register_certified_identity(
            &uscc(68),
            Role::Supplier,
            "sup-68",
            &account_certificate(&new_ca, "sup-68", Role::Supplier, &new_key),
        ),
    );
}

#[test]
fn certificates_expiring_soon_are_listed_soonest_first() {
    let ca = bank_a_ca();
    let soon = GENESIS_TIME_MS + 20 * DAY_MS;
    let sooner = GENESIS_TIME_MS + 10 * DAY_MS;
    let genesis = certified_genesis_with(&ca, Params::default(), |account| match account {
        SUP2 => validity(GENESIS_TIME_MS - DAY_MS, soon),
        SUP3 => validity(GENESIS_TIME_MS - DAY_MS, sooner),
        _ => ca.validity(),
    });
    let chain = TestChain::from_genesis(genesis);
    let within_30_days =
        certificates_expiring(&chain.ledger, GENESIS_TIME_MS + 30 * DAY_MS, 100).expect("read");
    let names: Vec<&str> = within_30_days
        .iter()
        .map(|r| r.subject_id.as_str())
        .collect();
    assert_eq!(names, [SUP3, SUP2]);
    assert!(
        certificates_expiring(&chain.ledger, sooner, 100)
            .expect("read")
            .is_empty(),
        "strictly before"
    );
}

/// A node certificate (PEM) from `ca` for `node_id` with network key `key`.
fn node_certificate(ca: &vchain_pki::RootCa, node_id: &str, key: &[u8; 32]) -> Vec<u8> {
    let subject = vchain_pki::Subject {
        organisation: ca.organisation().to_owned(),
        common_name: node_id.to_owned(),
        role: vchain_pki::CertRole::Node,
    };
    ca.issue(&subject, key, ca.validity())
        .expect("certificate")
        .to_pem()
        .into_bytes()
}

/// A certified raft chain: bank A (certified) runs node-a and node-c, bank B (bare) node-b.
fn certified_raft_chain() -> (TestChain, vchain_pki::RootCa) {
    let ca = bank_a_ca();
    let mut genesis = certified_genesis(&ca, Params::default());
    let mut node_a = raft_node("node-a", "bank-a", 1);
    node_a.certificate =
        String::from_utf8(node_certificate(&ca, "node-a", &node_key(1))).expect("PEM");
    let mut node_c = raft_node("node-c", "bank-a", 3);
    node_c.certificate =
        String::from_utf8(node_certificate(&ca, "node-c", &node_key(3))).expect("PEM");
    genesis.consensus = vchain_contracts::genesis::GenesisConsensus {
        engine: "raft".into(),
        nodes: vec![node_a, raft_node("node-b", "bank-b", 2), node_c],
    };
    (TestChain::from_genesis(genesis), ca)
}

fn voters(chain: &TestChain) -> Vec<String> {
    vchain_contracts::consensus_config(&chain.ledger)
        .expect("config")
        .nodes
        .into_iter()
        .map(|n| n.node_id)
        .collect()
}

#[test]
fn genesis_nodes_of_a_certified_organisation_need_a_node_certificate_for_their_key() {
    let (chain, _ca) = certified_raft_chain();
    let config = vchain_contracts::consensus_config(&chain.ledger).expect("config");
    let node_a = &config.nodes[0];
    assert!(!node_a.certificate_serial.is_empty());
    let record = certificate_record(&chain.ledger, "bank-a", &node_a.certificate_serial)
        .expect("read")
        .expect("registered");
    assert_eq!(record.subject_kind, vchain_contracts::SUBJECT_NODE);
    assert_eq!(record.subject_id, "node-a");
    assert!(
        config.nodes[1].certificate_serial.is_empty(),
        "bank B is bare"
    );

    let ca = bank_a_ca();
    let base = {
        let mut genesis = certified_genesis(&ca, Params::default());
        genesis.consensus = vchain_contracts::genesis::GenesisConsensus {
            engine: "raft".into(),
            nodes: vec![raft_node("node-a", "bank-a", 1)],
        };
        genesis
    };
    assert!(genesis_error(&base).contains("node node-a needs a certificate"));
    let mut wrong_key = base.clone();
    wrong_key.consensus.nodes[0].certificate =
        String::from_utf8(node_certificate(&ca, "node-a", &node_key(9))).expect("PEM");
    assert!(genesis_error(&wrong_key).contains("it certifies key"));
    let mut account_cert = base;
    account_cert.consensus.nodes[0].certificate = String::from_utf8(account_certificate(
        &ca,
        "node-a",
        Role::Supplier,
        &node_key(1),
    ))
    .expect("PEM");
    assert!(genesis_error(&account_cert).contains("grants role supplier"));
}

#[test]
fn a_certified_organisation_adds_nodes_only_with_a_node_certificate() {
    let (mut chain, ca) = certified_raft_chain();
    chain.reject(
        ADMIN_A,
        add_consensus_node("node-d", "bank-a", &node_key(4)),
        ErrorCode::CertificateRequired,
        &["node node-d needs a certificate"],
    );
    let Operation::SubmitProposal(mut proposal) = add_consensus_node("node-d", "bank-a", &[])
    else {
        unreachable!()
    };
    let Some(vchain_proto::v1::submit_proposal::Action::AddConsensusNode(add)) =
        proposal.action.as_mut()
    else {
        unreachable!()
    };
    add.certificate = node_certificate(&ca, "node-d", &node_key(4));
    let events = chain.govern(ADMIN_A, Operation::SubmitProposal(proposal));
    assert!(events
        .iter()
        .any(|e| e.kind() == EventKind::ConsensusNodeAdded));
    let config = vchain_contracts::consensus_config(&chain.ledger).expect("config");
    let node_d = config.nodes.last().expect("node-d");
    assert_eq!(node_d.node_id, "node-d");
    assert_eq!(
        node_d.public_key,
        node_key(4),
        "the key is the certificate's"
    );
    let record = certificate_record(&chain.ledger, "bank-a", &node_d.certificate_serial)
        .expect("read")
        .expect("registered");
    assert_eq!(record.subject_id, "node-d");
}

#[test]
fn revoking_a_node_certificate_removes_the_node_from_the_membership_at_once() {
    let (mut chain, _ca) = certified_raft_chain();
    let serial = vchain_contracts::consensus_config(&chain.ledger)
        .expect("config")
        .nodes[2]
        .certificate_serial
        .clone();
    let events = chain.ok(ADMIN_A, revoke_certificate(&serial, "server compromised"));
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ConsensusNodeRemoved,
            EventKind::CertificateRevoked
        ]
    );
    assert_eq!(events[1].node_id, "node-c");
    assert_eq!(voters(&chain), ["node-a", "node-b"]);
    let config = vchain_contracts::consensus_config(&chain.ledger).expect("config");
    assert!(config.removed_node_ids.contains(&"node-c".to_owned()));
    let revoked = revoked_certificates(&chain.ledger, "bank-a", 10).expect("read");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].subject_id, "node-c");
}

#[test]
fn a_node_removed_by_proposal_has_its_certificate_revoked() {
    let (mut chain, _ca) = certified_raft_chain();
    let serial = vchain_contracts::consensus_config(&chain.ledger)
        .expect("config")
        .nodes[0]
        .certificate_serial
        .clone();
    chain.govern(ADMIN_A, remove_consensus_node("node-a"));
    assert_eq!(voters(&chain), ["node-b", "node-c"]);
    let record = certificate_record(&chain.ledger, "bank-a", &serial)
        .expect("read")
        .expect("kept");
    assert_eq!(record.status(), CertificateStatus::Revoked);
    // The chain ended it: no words; the audit log's NODE_REMOVED event says why.
    assert_eq!(record.ended_height, chain.height);
    assert!(record.ended_reason.is_empty(), "{}", record.ended_reason);
    // Revoking bank A's other node leaves bank B's node-b running the chain.
    let serial_c = vchain_contracts::consensus_config(&chain.ledger)
        .expect("config")
        .nodes[1]
        .certificate_serial
        .clone();
    chain.ok(ADMIN_A, revoke_certificate(&serial_c, "retired"));
    assert_eq!(voters(&chain), ["node-b"]);
}

#[test]
fn the_last_consensus_node_certificate_cannot_be_revoked() {
    let ca = bank_a_ca();
    let mut genesis = certified_genesis(&ca, Params::default());
    let mut node_a = raft_node("node-a", "bank-a", 1);
    node_a.certificate =
        String::from_utf8(node_certificate(&ca, "node-a", &node_key(1))).expect("PEM");
    genesis.consensus = vchain_contracts::genesis::GenesisConsensus {
        engine: "raft".into(),
        nodes: vec![node_a],
    };
    let mut chain = TestChain::from_genesis(genesis);
    let serial = vchain_contracts::consensus_config(&chain.ledger)
        .expect("config")
        .nodes[0]
        .certificate_serial
        .clone();
    chain.reject(
        ADMIN_A,
        revoke_certificate(&serial, "oops"),
        ErrorCode::ConsensusNodeLast,
        &["last consensus node", "add another node first"],
    );
    assert_eq!(voters(&chain), ["node-a"]);
}

#[test]
fn an_account_is_cancelled_only_once_it_holds_no_live_voucher_and_then_does_nothing() {
    let (mut chain, _ca) = certified_chain();
    chain.grant_line(10_000_000);
    let voucher = chain.issue(SUP1, 1_000, 60);
    assert_eq!(chain.account(SUP1).live_vouchers, 1);
    let cancel = |account: &str| {
        Operation::CancelAccount(vchain_proto::v1::CancelAccount {
            account_id: account.into(),
            reason: "supplier closed its account".into(),
        })
    };
    chain.reject(
        ADMIN_A,
        cancel(SUP1),
        ErrorCode::AccountHoldsVouchers,
        &[
            "sup-1 still holds 1 voucher",
            "transfer or redeem them first",
        ],
    );
    chain.reject(
        FINANCIER,
        cancel(SUP1),
        ErrorCode::WrongRole,
        &["cancelling an account"],
    );
    chain.reject(
        ADMIN_B,
        cancel(SUP1),
        ErrorCode::NotSameOrganisation,
        &["belongs to bank-a"],
    );
    chain.reject(
        ADMIN_A,
        cancel(ADMIN_A),
        ErrorCode::InvalidArgument,
        &["its own account"],
    );
    chain.ok(SUP1, transfer(&voucher, SUP2));
    assert_eq!(chain.account(SUP1).live_vouchers, 0);
    assert_eq!(chain.account(SUP2).live_vouchers, 1);

    let serial = chain.account(SUP1).certificate_serial;
    let events = chain.ok(ADMIN_A, cancel(SUP1));
    assert_eq!(events[0].kind(), EventKind::AccountCancelled);
    let account = chain.account(SUP1);
    assert_eq!(account.status(), vchain_proto::v1::AccountStatus::Cancelled);
    let record = certificate_record(&chain.ledger, "bank-a", &serial)
        .expect("read")
        .expect("kept");
    assert_eq!(record.status(), CertificateStatus::Revoked);
    // The administrator's reason, verbatim (the status says it was revoked).
    assert_eq!(record.ended_reason, "supplier closed its account");

    // It can do nothing and receive nothing; cancelling again or unfreezing is refused.
    chain.reject(
        ADMIN_A,
        cancel(SUP1),
        ErrorCode::AccountCancelled,
        &["already cancelled"],
    );
    chain.reject(
        ADMIN_A,
        unfreeze_account(SUP1),
        ErrorCode::AccountCancelled,
        &["sup-1 was cancelled"],
    );
    chain.reject(
        SUP2,
        transfer(&voucher, SUP1),
        ErrorCode::InvalidRecipient,
        &["recipient account sup-1 is cancelled"],
    );
    let tx = chain.tx(SUP1, rotate_key(SUP1, b""));
    let refused =
        check_tx(&chain.ledger, &tx, &VerifiedSignatures::none()).expect_err("admission refuses");
    assert!(refused.to_string().contains("revoked"), "{refused}");
}
