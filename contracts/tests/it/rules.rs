//! One test per rule and per rejection path of the native contracts. Every rejection is checked
//! for its exact code, a message naming the rule and values, and that it changed nothing but the
//! signer's nonce (or nothing at all when authentication refused it).

use crate::common;
use vchain_contracts::verified::VerifiedSignatures;

use common::ops::*;
use common::*;
use ed25519_dalek::VerifyingKey;
use prost::Message;
use vchain_contracts::execute::{check_tx, verify_signatures, CheckError, NONCE_WINDOW};
use vchain_contracts::genesis::{GenesisError, GenesisIdentity, Params};
use vchain_contracts::keys::{self, EventPosition};
use vchain_contracts::trace;
use vchain_contracts::tx::tx_hash;
use vchain_proto::v1::{
    transaction_body::Operation, AccountStatus, ConfirmRedemption, CreditLineStatus, ErrorCode,
    Event, EventKind, FreezeAccount, Identity, IdentityStatus, IssueVoucher, RegisterIdentity,
    Role, TradeDocument, TransactionBody, TransferVoucher, VoucherStatus,
};

const LIMIT: u64 = 10_000_000;
const FACE: u64 = 1_000_000;

/// A chain where the financier granted the core enterprise a CNY line of [`LIMIT`].
fn chain_with_line() -> TestChain {
    let mut chain = TestChain::new();
    chain.grant_line(LIMIT);
    chain
}

/// A chain with a line and one voucher of [`FACE`] held by `SUP1`, maturing in 30 days.
fn chain_with_voucher() -> (TestChain, String) {
    let mut chain = chain_with_line();
    let id = chain.issue(SUP1, FACE, 30);
    (chain, id)
}

/// The audit log (`l/` entries), in chain order.
fn audit_log(chain: &TestChain) -> Vec<(Vec<u8>, Event)> {
    chain
        .scan(keys::AUDIT_PREFIX)
        .into_iter()
        .map(|(k, v)| (k, Event::decode(v.as_slice()).expect("audit event decodes")))
        .collect()
}

/// Asserts the last block wrote exactly `events` to the audit log at its transaction 0.
fn assert_audited(chain: &TestChain, events: &[Event], kinds: &[EventKind]) {
    assert_eq!(events.iter().map(Event::kind).collect::<Vec<_>>(), kinds);
    for (n, event) in events.iter().enumerate() {
        let position = EventPosition {
            height: chain.height,
            tx_index: 0,
            event_index: u16::try_from(n).expect("small"),
        };
        let stored: Event = chain
            .try_get(&keys::audit_event(position))
            .expect("audit entry stored under l/");
        assert_eq!(&stored, event, "audit entry equals the result's event");
        assert_eq!(stored.height, chain.height);
        assert_eq!(stored.tx_hash.len(), 32);
    }
}

fn expiry_key(chain: &TestChain, id: &str) -> Vec<u8> {
    let voucher = chain.voucher(id);
    keys::expiry(
        voucher.maturity_day + chain.genesis.params.redemption_grace_days,
        id,
    )
}

fn in_expiry_queue(chain: &TestChain, id: &str) -> bool {
    chain.raw(&expiry_key(chain, id)).is_some()
}

/// `code` with its check character replaced: an invalid USCC.
fn corrupt(code: &str) -> String {
    let mut bad = code.to_owned();
    let last = bad.pop().expect("18 characters");
    bad.push(if last == '0' { '1' } else { '0' });
    bad
}

fn body(signer: &str, nonce: u64, operation: Option<Operation>) -> TransactionBody {
    TransactionBody {
        chain_id: CHAIN_ID.into(),
        signer: signer.into(),
        nonce,
        operation,
    }
}

fn weak_key() -> [u8; 32] {
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    identity_point
}

fn invalid_point() -> [u8; 32] {
    (0u8..=255)
        .map(|b| [b; 32])
        .find(|k| VerifyingKey::from_bytes(k).is_err())
        .expect("some byte pattern is not a curve point")
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_body_is_refused_without_spending_a_nonce() {
    let mut chain = TestChain::new();
    let mut tx = chain.tx(SUP1, request("V000000000001"));
    tx.body = vec![0xff, 0xff, 0xff];
    chain.refuse(tx, ErrorCode::Malformed, &["does not decode"]);
    assert_eq!(chain.nonce(SUP1), 0);
}

#[test]
fn an_empty_body_is_malformed_not_another_chains() {
    // Empty bytes decode as a body with every field at its default, chain id "" included;
    // what is wrong with it is its form, and a wallet reading the code must learn that.
    let mut chain = TestChain::new();
    let mut tx = chain.tx(SUP1, request("V000000000001"));
    tx.body = Vec::new();
    chain.refuse(tx, ErrorCode::Malformed, &["body is empty"]);
    assert_eq!(chain.nonce(SUP1), 0);
}

#[test]
fn body_without_operation_spends_the_nonce_and_does_nothing() {
    let mut chain = TestChain::new();
    let tx = chain.sign_body(SUP1, &body(SUP1, 0, None));
    chain.reject_tx(SUP1, tx, ErrorCode::Malformed, &["no operation"]);
    assert_eq!(chain.nonce(SUP1), 1);
}

#[test]
fn wrong_chain_is_refused() {
    let mut chain = TestChain::new();
    let mut b = body(SUP1, 0, Some(request("V000000000001")));
    b.chain_id = "other-chain".into();
    let tx = chain.sign_body(SUP1, &b);
    chain.refuse(
        tx,
        ErrorCode::WrongChain,
        &["\"other-chain\"", "\"vchain-test\""],
    );
}

#[test]
fn unknown_account_is_refused() {
    let mut chain = TestChain::new();
    chain.add_key("ghost", key(200));
    let tx = chain.sign("ghost", 0, request("V000000000001"));
    chain.refuse(tx, ErrorCode::UnknownAccount, &["\"ghost\" does not exist"]);
}

#[test]
fn key_not_bound_to_the_account_is_refused() {
    let mut chain = TestChain::new();
    let tx =
        vchain_wallet::transaction::sign(&body(SUP1, 0, Some(request("V000000000001"))), &key(7));
    chain.refuse(
        tx,
        ErrorCode::KeyMismatch,
        &[
            "not the key bound to account sup-1",
            &hex::encode(key(7).verifying_key().as_bytes()),
        ],
    );
}

#[test]
fn bad_signature_is_refused() {
    let mut chain = TestChain::new();
    let mut tx = chain.tx(SUP1, request("V000000000001"));
    tx.signature[10] ^= 0x01;
    chain.refuse(tx, ErrorCode::BadSignature, &["signature does not verify"]);
    let mut tx = chain.tx(SUP1, request("V000000000001"));
    tx.signature.truncate(63);
    chain.refuse(tx, ErrorCode::BadSignature, &["signature does not verify"]);
    // A signature over other bytes (the body changed after signing).
    let mut tx = chain.tx(SUP1, request("V000000000001"));
    tx.body = body(SUP1, 0, Some(request("V000000000002"))).encode_to_vec();
    chain.refuse(tx, ErrorCode::BadSignature, &["signature does not verify"]);
    assert_eq!(chain.nonce(SUP1), 0);
}

#[test]
fn replayed_transaction_is_bad_nonce() {
    let (mut chain, id) = chain_with_voucher();
    let tx = chain.tx(SUP1, transfer(&id, SUP2));
    let outcome = chain.block(vec![tx.clone()]);
    assert_ok(&outcome.results[0]);
    chain.refuse(
        tx.clone(),
        ErrorCode::BadNonce,
        &["nonce 0 is not account sup-1's next nonce 1"],
    );
    // The same bytes twice in one block: the second finds its nonce spent.
    let tx = chain.tx(SUP2, transfer(&id, SUP3));
    let outcome = chain.block(vec![tx.clone(), tx]);
    assert_ok(&outcome.results[0]);
    assert_rejection(
        &outcome.results[1],
        ErrorCode::BadNonce,
        &["nonce 0 is not account sup-2's next nonce 1"],
    );
    assert_eq!(chain.voucher(&id).holder, SUP3);
}

#[test]
fn future_nonce_is_refused() {
    let mut chain = TestChain::new();
    let tx = chain.sign(SUP1, 5, request("V000000000001"));
    chain.refuse(
        tx,
        ErrorCode::BadNonce,
        &["nonce 5 is not account sup-1's next nonce 0"],
    );
}

#[test]
fn oversized_transaction_is_refused() {
    let mut chain = TestChain::new();
    let mut op = register_identity(
        &uscc(60),
        Role::Supplier,
        "big-co",
        key(100).verifying_key().as_bytes(),
    );
    if let Operation::RegisterIdentity(inner) = &mut op {
        inner.name = "x".repeat(20_000);
    }
    let tx = chain.tx(ADMIN_A, op);
    let size = tx.encoded_len();
    chain.refuse(
        tx,
        ErrorCode::TooLarge,
        &[&format!(
            "transaction is {size} bytes, more than the 16384 allowed"
        )],
    );
}

#[test]
fn frozen_account_spends_its_nonce_and_does_nothing_until_unfrozen() {
    let (mut chain, id) = chain_with_voucher();
    chain.ok(ADMIN_A, freeze_account(SUP1));
    chain.reject(
        SUP1,
        transfer(&id, SUP2),
        ErrorCode::AccountFrozen,
        &["account sup-1 is frozen"],
    );
    assert_eq!(chain.nonce(SUP1), 1);
    chain.ok(ADMIN_A, unfreeze_account(SUP1));
    chain.ok(SUP1, transfer(&id, SUP2));
    assert_eq!(chain.voucher(&id).holder, SUP2);
    assert_eq!(chain.nonce(SUP1), 2);
}

#[test]
fn inactive_or_missing_identity_cannot_act() {
    // No operation revokes an identity yet, so the state is written directly.
    let (mut chain, id) = chain_with_voucher();
    let identity = Identity {
        status: IdentityStatus::Revoked.into(),
        ..chain.identity(&sup_uscc(1))
    };
    chain.patch(keys::identity(&sup_uscc(1)), &identity);
    chain.reject(
        SUP1,
        transfer(&id, SUP2),
        ErrorCode::IdentityInactive,
        &[&format!("identity {} is not active", sup_uscc(1))],
    );

    let orphan = vchain_proto::v1::Account {
        uscc: uscc(999),
        ..chain.account(SUP2)
    };
    chain.patch(keys::account(SUP2), &orphan);
    chain.reject(
        SUP2,
        request(&id),
        ErrorCode::IdentityInactive,
        &[&format!(
            "identity {} of account sup-2 does not exist",
            uscc(999)
        )],
    );
}

#[test]
fn exhausted_nonce_space_is_an_overflow_that_changes_nothing() {
    let mut chain = TestChain::new();
    let account = vchain_proto::v1::Account {
        next_nonce: u64::MAX,
        ..chain.account(SUP1)
    };
    chain.patch(keys::account(SUP1), &account);
    let tx = chain.sign(SUP1, u64::MAX, request("V000000000001"));
    chain.refuse(
        tx,
        ErrorCode::ArithmeticOverflow,
        &["nonce space exhausted"],
    );
}

// ---------------------------------------------------------------------------------------------
// Identities and accounts
// ---------------------------------------------------------------------------------------------

#[test]
fn register_identity_creates_identity_account_key_binding_and_audit_entries() {
    let mut chain = TestChain::new();
    let new_key = key(100);
    let code = uscc(60);
    let events = chain.ok(
        ADMIN_B,
        register_identity(
            &code,
            Role::Supplier,
            "sup-b",
            new_key.verifying_key().as_bytes(),
        ),
    );
    assert_audited(
        &chain,
        &events,
        &[EventKind::IdentityRegistered, EventKind::AccountRegistered],
    );
    assert_eq!(events[0].counterparty, code);
    assert_eq!(events[0].actor, ADMIN_B);
    assert_eq!(events[1].counterparty, "sup-b");

    let identity = chain.identity(&code);
    assert_eq!(identity.org_id, "bank-b");
    assert_eq!(identity.role(), Role::Supplier);
    assert_eq!(identity.status(), IdentityStatus::Active);
    assert_eq!(identity.accounts, vec!["sup-b".to_owned()]);
    assert_eq!(identity.registered_height, chain.height);
    assert_eq!(identity.legal_representative, "Zhang San");
    let account = chain.account("sup-b");
    assert_eq!(
        (
            account.uscc.as_str(),
            account.org_id.as_str(),
            account.role(),
            account.status(),
            account.next_nonce
        ),
        (
            code.as_str(),
            "bank-b",
            Role::Supplier,
            AccountStatus::Active,
            0
        )
    );
    assert_eq!(
        account.public_key,
        new_key.verifying_key().as_bytes().to_vec()
    );
    assert_eq!(
        chain.raw(&keys::key_binding(new_key.verifying_key().as_bytes())),
        Some(b"sup-b".to_vec())
    );

    // The new account can receive, then act.
    chain.add_key("sup-b", new_key);
    chain.grant_line(LIMIT);
    let id = chain.issue("sup-b", FACE, 30);
    chain.ok("sup-b", transfer(&id, SUP1));
    assert_eq!(chain.voucher(&id).holder, SUP1);
}

#[test]
fn register_identity_rejections() {
    let mut chain = TestChain::new();
    let fresh = key(100);
    let pk = fresh.verifying_key().to_bytes();
    let code = uscc(60);
    chain.reject(
        SUP1,
        register_identity(&code, Role::Supplier, "new-co", &pk),
        ErrorCode::WrongRole,
        &["registering an identity needs role ROLE_ADMINISTRATOR; account sup-1 is ROLE_SUPPLIER"],
    );
    let bad = corrupt(&code);
    chain.reject(
        ADMIN_A,
        register_identity(&bad, Role::Supplier, "new-co", &pk),
        ErrorCode::InvalidUscc,
        &[&bad, "wrong check character"],
    );
    chain.reject(
        ADMIN_A,
        register_identity(&code[..17], Role::Supplier, "new-co", &pk),
        ErrorCode::InvalidUscc,
        &["must have 18 characters"],
    );

    let mut op = register_identity(&code, Role::Supplier, "new-co", &pk);
    if let Operation::RegisterIdentity(inner) = &mut op {
        inner.name = "  ".into();
    }
    chain.reject(
        ADMIN_A,
        op,
        ErrorCode::InvalidArgument,
        &["identity name is required"],
    );
    let mut op = register_identity(&code, Role::Supplier, "new-co", &pk);
    if let Operation::RegisterIdentity(inner) = &mut op {
        inner.legal_representative = "x".repeat(300);
    }
    chain.reject(
        ADMIN_A,
        op,
        ErrorCode::InvalidArgument,
        &["legal representative is 300 bytes, longer than 256"],
    );

    chain.reject(
        ADMIN_A,
        register_identity(&code, Role::Unspecified, "new-co", &pk),
        ErrorCode::InvalidArgument,
        &["role 0 is not a vchain role"],
    );
    let mut op = register_identity(&code, Role::Supplier, "new-co", &pk);
    if let Operation::RegisterIdentity(inner) = &mut op {
        inner.role = 99;
    }
    chain.reject(
        ADMIN_A,
        op,
        ErrorCode::InvalidArgument,
        &["role 99 is not a vchain role"],
    );

    chain.reject(
        ADMIN_A,
        register_identity(&sup_uscc(1), Role::Supplier, "new-co", &pk),
        ErrorCode::IdentityExists,
        &[&format!("identity {} is already registered", sup_uscc(1))],
    );
    // An organisation's own code is its administrator identity.
    chain.reject(
        ADMIN_B,
        register_identity(&uscc(1), Role::Supplier, "new-co", &pk),
        ErrorCode::IdentityExists,
        &[&uscc(1)],
    );

    chain.reject(
        ADMIN_A,
        register_identity(&code, Role::Supplier, SUP1, &pk),
        ErrorCode::AccountExists,
        &["account sup-1 already exists"],
    );
    for bad_id in ["New/Co", "ab", "-co", "New-Co"] {
        chain.reject(
            ADMIN_A,
            register_identity(&code, Role::Supplier, bad_id, &pk),
            ErrorCode::InvalidAccountId,
            &[&format!("account id {bad_id:?}")],
        );
    }
    chain.reject(
        ADMIN_A,
        register_identity(&code, Role::Supplier, "new-co", &weak_key()),
        ErrorCode::InvalidPublicKey,
        &["weak (small-order) key"],
    );
    chain.reject(
        ADMIN_A,
        register_identity(&code, Role::Supplier, "new-co", &pk[..31]),
        ErrorCode::InvalidPublicKey,
        &["must be 32 bytes"],
    );
    chain.reject(
        ADMIN_A,
        register_identity(&code, Role::Supplier, "new-co", &invalid_point()),
        ErrorCode::InvalidPublicKey,
        &["not a valid ed25519 point"],
    );
    chain.reject(
        ADMIN_A,
        register_identity(
            &code,
            Role::Supplier,
            "new-co",
            key(6).verifying_key().as_bytes(),
        ),
        ErrorCode::InvalidPublicKey,
        &["already bound to account sup-1"],
    );
    assert!(chain.try_get::<Identity>(&keys::identity(&code)).is_none());
}

#[test]
fn register_account_adds_a_key_to_an_identity() {
    let mut chain = TestChain::new();
    let new_key = key(101);
    let events = chain.ok(
        ADMIN_A,
        register_account(
            &sup_uscc(1),
            "sup-1-ops",
            new_key.verifying_key().as_bytes(),
        ),
    );
    assert_audited(&chain, &events, &[EventKind::AccountRegistered]);
    assert_eq!(events[0].counterparty, "sup-1-ops");
    assert_eq!(
        chain.identity(&sup_uscc(1)).accounts,
        vec![SUP1.to_owned(), "sup-1-ops".to_owned()]
    );
    let account = chain.account("sup-1-ops");
    assert_eq!(
        (account.role(), account.uscc, account.org_id),
        (Role::Supplier, sup_uscc(1), "bank-a".to_owned())
    );
    assert_eq!(
        chain.raw(&keys::key_binding(new_key.verifying_key().as_bytes())),
        Some(b"sup-1-ops".to_vec())
    );
}

#[test]
fn register_account_rejections() {
    let mut chain = TestChain::new();
    let pk = key(101).verifying_key().to_bytes();
    chain.reject(
        FINANCIER,
        register_account(&sup_uscc(1), "sup-1-ops", &pk),
        ErrorCode::WrongRole,
        &[
            "registering an account needs role ROLE_ADMINISTRATOR",
            "ROLE_FINANCIER",
        ],
    );
    chain.reject(
        ADMIN_A,
        register_account(&uscc(77), "sup-1-ops", &pk),
        ErrorCode::IdentityNotFound,
        &[&format!("identity {:?} does not exist", uscc(77))],
    );
    chain.reject(
        ADMIN_B,
        register_account(&sup_uscc(1), "sup-1-ops", &pk),
        ErrorCode::NotSameOrganisation,
        &[&format!(
            "identity {} belongs to bank-a, not to bank-b",
            sup_uscc(1)
        )],
    );
    chain.reject(
        ADMIN_A,
        register_account(&sup_uscc(1), SUP2, &pk),
        ErrorCode::AccountExists,
        &["account sup-2 already exists"],
    );
    chain.reject(
        ADMIN_A,
        register_account(&sup_uscc(1), "sup 1", &pk),
        ErrorCode::InvalidAccountId,
        &["\"sup 1\""],
    );
    chain.reject(
        ADMIN_A,
        register_account(&sup_uscc(1), "sup-1-ops", key(3).verifying_key().as_bytes()),
        ErrorCode::InvalidPublicKey,
        &["already bound to account fin"],
    );
    chain.reject(
        ADMIN_A,
        register_account(&sup_uscc(1), "sup-1-ops", &weak_key()),
        ErrorCode::InvalidPublicKey,
        &["weak"],
    );

    let revoked = Identity {
        status: IdentityStatus::Revoked.into(),
        ..chain.identity(&sup_uscc(2))
    };
    chain.patch(keys::identity(&sup_uscc(2)), &revoked);
    chain.reject(
        ADMIN_A,
        register_account(&sup_uscc(2), "sup-2-ops", &pk),
        ErrorCode::IdentityInactive,
        &[&format!("identity {} is not active", sup_uscc(2))],
    );
}

#[test]
fn an_identity_holds_at_most_sixteen_accounts() {
    let mut chain = TestChain::new();
    // The core enterprise starts with two accounts.
    for n in 0..14u8 {
        chain.ok(
            ADMIN_A,
            register_account(
                &core_uscc(),
                &format!("core-{n:02}"),
                key(120 + n).verifying_key().as_bytes(),
            ),
        );
    }
    assert_eq!(chain.identity(&core_uscc()).accounts.len(), 16);
    chain.reject(
        ADMIN_A,
        register_account(&core_uscc(), "core-16", key(140).verifying_key().as_bytes()),
        ErrorCode::InvalidArgument,
        &[&format!("identity {} already has 16 accounts", core_uscc())],
    );
}

#[test]
fn freeze_and_unfreeze_accounts_are_audited() {
    let mut chain = TestChain::new();
    let events = chain.ok(ADMIN_A, freeze_account(SUP1));
    assert_audited(&chain, &events, &[EventKind::AccountFrozen]);
    assert_eq!(
        (events[0].counterparty.as_str(), events[0].detail.as_str()),
        (SUP1, "court order 2024-17")
    );
    assert_eq!(chain.account(SUP1).status(), AccountStatus::Frozen);
    let events = chain.ok(ADMIN_A, unfreeze_account(SUP1));
    assert_audited(&chain, &events, &[EventKind::AccountUnfrozen]);
    assert_eq!(events[0].detail, "order lifted");
    assert_eq!(chain.account(SUP1).status(), AccountStatus::Active);
}

#[test]
fn freeze_account_rejections() {
    let mut chain = TestChain::new();
    chain.reject(
        SUP2,
        freeze_account(SUP1),
        ErrorCode::WrongRole,
        &["freezing an account needs role ROLE_ADMINISTRATOR"],
    );
    chain.reject(
        REGULATOR,
        unfreeze_account(SUP1),
        ErrorCode::WrongRole,
        &[
            "unfreezing an account needs role ROLE_ADMINISTRATOR",
            "ROLE_REGULATOR",
        ],
    );
    chain.reject(
        ADMIN_A,
        Operation::FreezeAccount(FreezeAccount {
            account_id: SUP1.into(),
            reason: String::new(),
        }),
        ErrorCode::InvalidArgument,
        &["reason is required"],
    );
    chain.reject(
        ADMIN_A,
        freeze_account("nobody"),
        ErrorCode::AccountNotFound,
        &["account \"nobody\" does not exist"],
    );
    chain.reject(
        ADMIN_B,
        freeze_account(SUP1),
        ErrorCode::NotSameOrganisation,
        &["account sup-1 belongs to bank-a, not to bank-b"],
    );
    chain.reject(
        ADMIN_A,
        freeze_account(ADMIN_A),
        ErrorCode::InvalidArgument,
        &["cannot freeze or unfreeze its own account"],
    );
    chain.reject(
        ADMIN_A,
        unfreeze_account(SUP1),
        ErrorCode::AccountNotFrozen,
        &["account sup-1 is not frozen"],
    );
    chain.ok(ADMIN_A, freeze_account(SUP1));
    chain.reject(
        ADMIN_A,
        freeze_account(SUP1),
        ErrorCode::AccountAlreadyFrozen,
        &["account sup-1 is already frozen"],
    );
    chain.reject(
        ADMIN_B,
        unfreeze_account(SUP1),
        ErrorCode::NotSameOrganisation,
        &["belongs to bank-a"],
    );
}

#[test]
fn audit_log_records_every_permission_change_in_chain_order() {
    let mut chain = TestChain::new();
    chain.ok(
        ADMIN_A,
        register_identity(
            &uscc(61),
            Role::Supplier,
            "sup-new",
            key(100).verifying_key().as_bytes(),
        ),
    );
    chain.ok(
        ADMIN_A,
        register_account(&uscc(61), "sup-new-2", key(101).verifying_key().as_bytes()),
    );
    chain.ok(ADMIN_A, freeze_account("sup-new"));
    chain.ok(ADMIN_A, unfreeze_account("sup-new"));
    chain.ok(FINANCIER, grant(&core_uscc(), "CNY", LIMIT));
    chain.ok(FINANCIER, raise(&core_uscc(), 5));
    chain.ok(FINANCIER, lower(&core_uscc(), 3));
    chain.ok(FINANCIER, revoke(&core_uscc()));
    // Rejections and voucher operations leave no audit entry.
    chain.reject(
        ADMIN_A,
        freeze_account(ADMIN_A),
        ErrorCode::InvalidArgument,
        &[],
    );
    let log = audit_log(&chain);
    let kinds: Vec<EventKind> = log.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::IdentityRegistered,
            EventKind::AccountRegistered,
            EventKind::AccountRegistered,
            EventKind::AccountFrozen,
            EventKind::AccountUnfrozen,
            EventKind::CreditLineGranted,
            EventKind::CreditLineRaised,
            EventKind::CreditLineLowered,
            EventKind::CreditLineRevoked,
        ]
    );
    let heights: Vec<u64> = log.iter().map(|(_, e)| e.height).collect();
    assert_eq!(heights, [1, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (key, event) in &log {
        let record = &chain.history[usize::try_from(event.height - 1).expect("small")];
        assert_eq!(
            event.tx_hash,
            tx_hash(&record.transactions[0].body).to_vec()
        );
        assert!(record.outcome.results[0].events.contains(event));
        assert_eq!(event.time_ms, record.context.timestamp_ms);
        assert!(key.starts_with(keys::AUDIT_PREFIX));
    }
    let actors: Vec<&str> = log.iter().map(|(_, e)| e.actor.as_str()).collect();
    assert_eq!(
        actors,
        [ADMIN_A, ADMIN_A, ADMIN_A, ADMIN_A, ADMIN_A, FINANCIER, FINANCIER, FINANCIER, FINANCIER]
    );
}

// ---------------------------------------------------------------------------------------------
// Credit lines
// ---------------------------------------------------------------------------------------------

#[test]
fn grant_raise_lower_revoke_and_regrant() {
    let mut chain = TestChain::new();
    let events = chain.ok(FINANCIER, grant(&core_uscc(), "CNY", LIMIT));
    assert_audited(&chain, &events, &[EventKind::CreditLineGranted]);
    assert_eq!(
        (
            events[0].amount,
            events[0].currency.as_str(),
            events[0].counterparty.as_str()
        ),
        (LIMIT, "CNY", core_uscc().as_str())
    );
    let line = chain.line();
    assert_eq!(
        (
            line.status(),
            line.financier,
            line.core_enterprise,
            line.currency.as_str(),
            line.limit,
            line.outstanding
        ),
        (
            CreditLineStatus::Active,
            fin_uscc(),
            core_uscc(),
            "CNY",
            LIMIT,
            0
        )
    );

    let events = chain.ok(FINANCIER, raise(&core_uscc(), 500));
    assert_audited(&chain, &events, &[EventKind::CreditLineRaised]);
    assert_eq!((events[0].amount, events[0].limit), (500, 10_000_500));
    assert!(events[0].detail.is_empty(), "no words from the chain");
    assert_eq!(chain.line().limit, LIMIT + 500);

    let id = chain.issue(SUP1, 4_000_000, 30);
    let events = chain.ok(FINANCIER, lower(&core_uscc(), 6_000_000));
    assert_audited(&chain, &events, &[EventKind::CreditLineLowered]);
    assert_eq!(chain.line().limit, 4_000_500);
    // Exactly down to the outstanding value is allowed.
    chain.ok(FINANCIER, lower(&core_uscc(), 500));
    assert_eq!(
        (chain.line().limit, chain.line().outstanding),
        (4_000_000, 4_000_000)
    );

    let events = chain.ok(FINANCIER, revoke(&core_uscc()));
    assert_audited(&chain, &events, &[EventKind::CreditLineRevoked]);
    assert_eq!(
        (events[0].amount, events[0].detail.as_str()),
        (4_000_000, "risk review")
    );
    assert_eq!(chain.line().status(), CreditLineStatus::Revoked);
    assert_eq!(
        chain.line().outstanding,
        4_000_000,
        "outstanding vouchers stay counted"
    );
    // Outstanding vouchers stay valid on a revoked line.
    chain.ok(SUP1, transfer(&id, SUP2));

    // Granting again reopens the line with its outstanding value.
    chain.ok(FINANCIER, grant(&core_uscc(), "CNY", 5_000_000));
    let line = chain.line();
    assert_eq!(
        (line.limit, line.outstanding, line.status()),
        (5_000_000, 4_000_000, CreditLineStatus::Active)
    );
    chain.issue(SUP1, 1_000_000, 30);
    assert_eq!(chain.line().outstanding, 5_000_000);
}

#[test]
fn regrant_after_revoke_keeps_currency_and_outstanding_rules() {
    let mut chain = chain_with_line();
    chain.issue(SUP1, FACE, 30);
    chain.ok(FINANCIER, revoke(&core_uscc()));
    chain.reject(
        FINANCIER,
        grant(&core_uscc(), "USD", LIMIT),
        ErrorCode::CurrencyMismatch,
        &["the revoked line still has 1000000 CNY outstanding; a new grant must be in CNY"],
    );
    chain.reject(
        FINANCIER,
        grant(&core_uscc(), "CNY", FACE - 1),
        ErrorCode::CreditLineBelowOutstanding,
        &["limit 999999 is below the 1000000 still outstanding"],
    );

    // With nothing outstanding a revoked line may come back in another currency.
    let mut chain = chain_with_line();
    chain.ok(FINANCIER, revoke(&core_uscc()));
    chain.ok(FINANCIER, grant(&core_uscc(), "USD", 1_000));
    let line = chain.line();
    assert_eq!(
        (line.currency.as_str(), line.limit, line.status()),
        ("USD", 1_000, CreditLineStatus::Active)
    );
}

#[test]
fn credit_line_rejections() {
    let mut chain = TestChain::new();
    let core = core_uscc();
    chain.reject(CORE, grant(&core, "CNY", LIMIT), ErrorCode::WrongRole, &["granting a credit line needs role ROLE_FINANCIER; account core is ROLE_CORE_ENTERPRISE"]);
    chain.reject(
        ADMIN_A,
        raise(&core, 1),
        ErrorCode::WrongRole,
        &["raising a credit line"],
    );
    chain.reject(
        SUP1,
        lower(&core, 1),
        ErrorCode::WrongRole,
        &["lowering a credit line"],
    );
    chain.reject(
        REGULATOR,
        revoke(&core),
        ErrorCode::WrongRole,
        &["revoking a credit line"],
    );
    chain.reject(
        FINANCIER,
        grant(&sup_uscc(1), "CNY", LIMIT),
        ErrorCode::InvalidRecipient,
        &[
            &sup_uscc(1),
            "ROLE_SUPPLIER",
            "only a core enterprise can hold a credit line",
        ],
    );
    chain.reject(
        FINANCIER,
        grant(&uscc(88), "CNY", LIMIT),
        ErrorCode::IdentityNotFound,
        &[&format!("{:?} does not exist", uscc(88))],
    );
    chain.reject(
        FINANCIER,
        grant(&core, "RMB", LIMIT),
        ErrorCode::InvalidCurrency,
        &["currency \"RMB\" is not an ISO 4217 code"],
    );
    chain.reject(
        FINANCIER,
        grant(&core, "cny", LIMIT),
        ErrorCode::InvalidCurrency,
        &["\"cny\""],
    );
    chain.reject(
        FINANCIER,
        grant(&core, "CNY", 0),
        ErrorCode::InvalidAmount,
        &["credit limit must be a positive number"],
    );
    let no_line = format!(
        "financier {} has granted no credit line to {core}",
        fin_uscc()
    );
    chain.reject(
        FINANCIER,
        raise(&core, 1),
        ErrorCode::CreditLineNotFound,
        &[&no_line],
    );
    chain.reject(
        FINANCIER,
        lower(&core, 1),
        ErrorCode::CreditLineNotFound,
        &[&no_line],
    );
    chain.reject(
        FINANCIER,
        revoke(&core),
        ErrorCode::CreditLineNotFound,
        &[&no_line],
    );

    chain.grant_line(LIMIT);
    chain.reject(
        FINANCIER,
        grant(&core, "CNY", 5),
        ErrorCode::CreditLineExists,
        &[&format!("{} already grants {core} a line", fin_uscc())],
    );
    chain.reject(
        FINANCIER,
        raise(&core, 0),
        ErrorCode::InvalidAmount,
        &["raise must be a positive"],
    );
    chain.reject(
        FINANCIER,
        lower(&core, 0),
        ErrorCode::InvalidAmount,
        &["reduction must be a positive"],
    );
    chain.reject(
        FINANCIER,
        raise(&core, u64::MAX),
        ErrorCode::ArithmeticOverflow,
        &[&format!("limit {LIMIT} plus {} overflows", u64::MAX)],
    );
    chain.reject(
        FINANCIER,
        lower(&core, LIMIT + 1),
        ErrorCode::CreditLineBelowOutstanding,
        &["lowering limit 10000000 by 10000001 would leave it below the 0 outstanding"],
    );
    chain.issue(SUP1, 3_000_000, 30);
    chain.reject(
        FINANCIER,
        lower(&core, 7_000_001),
        ErrorCode::CreditLineBelowOutstanding,
        &["lowering limit 10000000 by 7000001 would leave it below the 3000000 outstanding"],
    );
    let mut op = revoke(&core);
    if let Operation::RevokeCreditLine(inner) = &mut op {
        inner.reason = "r".repeat(257);
    }
    chain.reject(
        FINANCIER,
        op,
        ErrorCode::InvalidArgument,
        &["reason is 257 bytes, longer than 256"],
    );

    chain.ok(FINANCIER, revoke(&core));
    let revoked = format!("the credit line of {} to {core} is revoked", fin_uscc());
    chain.reject(
        FINANCIER,
        raise(&core, 1),
        ErrorCode::CreditLineRevoked,
        &[&revoked],
    );
    chain.reject(
        FINANCIER,
        lower(&core, 1),
        ErrorCode::CreditLineRevoked,
        &[&revoked],
    );
    chain.reject(
        FINANCIER,
        revoke(&core),
        ErrorCode::CreditLineRevoked,
        &[&revoked],
    );
}

// ---------------------------------------------------------------------------------------------
// Issue
// ---------------------------------------------------------------------------------------------

fn issue_with(chain: &mut TestChain, change: impl FnOnce(&mut IssueVoucher)) -> Operation {
    let Operation::IssueVoucher(mut op) = chain.issue_op(SUP1, FACE, 30) else {
        unreachable!("issue_op builds an issue")
    };
    change(&mut op);
    Operation::IssueVoucher(op)
}

#[test]
fn issue_creates_the_voucher_and_draws_on_the_line() {
    let mut chain = chain_with_line();
    let op = chain.issue_op(SUP1, FACE, 30);
    let Operation::IssueVoucher(request_op) = op.clone() else {
        unreachable!()
    };
    let maturity_date = chain.date_in(30);
    let outcome = chain.submit_outcome(CORE, op);
    assert_ok(&outcome.results[0]);
    let id = "V000000000001";
    let voucher = chain.voucher(id);
    assert_eq!(voucher.id, id);
    assert_eq!(
        (
            voucher.issuer.as_str(),
            voucher.holder.as_str(),
            voucher.financier.as_str()
        ),
        (core_uscc().as_str(), SUP1, fin_uscc().as_str())
    );
    assert_eq!(
        (
            voucher.amount,
            voucher.currency.as_str(),
            voucher.maturity_date.as_str()
        ),
        (FACE, "CNY", maturity_date.as_str())
    );
    assert_eq!(
        voucher.maturity_day,
        chain.today() + 30,
        "maturity day is 30 days after the issue block's day"
    );
    assert_eq!(
        (voucher.status(), voucher.frozen, voucher.depth),
        (VoucherStatus::Active, false, 0)
    );
    assert_eq!(
        (voucher.parent_id.as_str(), voucher.root_id.as_str()),
        ("", id)
    );
    assert!(voucher.children.is_empty());
    assert_eq!(voucher.trade_document, request_op.trade_document);
    assert_eq!(
        (voucher.issued_height, voucher.issued_time_ms),
        (
            chain.height,
            chain.history[chain.history.len() - 1].context.timestamp_ms
        )
    );
    assert_eq!(chain.line().outstanding, FACE);

    let document = request_op.trade_document.expect("document");
    assert_eq!(
        chain.raw(&keys::trade_document(&document.kind, &document.number)),
        Some(id.as_bytes().to_vec())
    );
    assert_eq!(
        chain.raw(&keys::trade_document_hash(&document.hash)),
        Some(id.as_bytes().to_vec())
    );
    assert!(in_expiry_queue(&chain, id));
    assert_eq!(
        chain.raw(keys::VOUCHER_SEQ),
        Some(2u64.to_be_bytes().to_vec())
    );
    let index: Vec<String> = printable(&outcome.index_writes);
    assert_eq!(
        index,
        [format!("h/{SUP1}/{id}"), format!("s/{}/{id}", core_uscc())]
    );

    let event = &outcome.results[0].events[0];
    assert_eq!(event.kind(), EventKind::VoucherIssued);
    assert_eq!(
        (
            event.voucher_id.as_str(),
            event.amount,
            event.actor.as_str(),
            event.counterparty.as_str()
        ),
        (id, FACE, CORE, SUP1)
    );
    assert_eq!(event.accounts, vec![CORE.to_owned(), SUP1.to_owned()]);
    let stored: Event = chain
        .try_get(&keys::voucher_event(
            id,
            EventPosition {
                height: chain.height,
                tx_index: 0,
                event_index: 0,
            },
        ))
        .expect("history");
    assert_eq!(&stored, event);

    // The core enterprise's second account issues against the same line; serials continue.
    let op = chain.issue_op(SUP2, 2 * FACE, 10);
    chain.ok(CORE_2, op);
    assert_eq!(chain.voucher("V000000000002").issuer, core_uscc());
    assert_eq!(chain.line().outstanding, 3 * FACE);
}

#[test]
fn issue_rejects_wrong_role_amount_currency_and_dates() {
    let mut chain = chain_with_line();
    let op = chain.issue_op(SUP1, FACE, 30);
    chain.reject(
        SUP1,
        op.clone(),
        ErrorCode::WrongRole,
        &["issuing a voucher needs role ROLE_CORE_ENTERPRISE; account sup-1 is ROLE_SUPPLIER"],
    );
    chain.reject(FINANCIER, op, ErrorCode::WrongRole, &["ROLE_FINANCIER"]);
    let op = issue_with(&mut chain, |op| op.amount = 0);
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidAmount,
        &["face amount must be a positive number of minor units"],
    );
    let op = issue_with(&mut chain, |op| op.currency = "XYZ".into());
    chain.reject(CORE, op, ErrorCode::InvalidCurrency, &["\"XYZ\""]);
    for bad in ["2024-02-30", "2024/03/01", "24-03-01", ""] {
        let op = issue_with(&mut chain, |op| op.maturity_date = bad.into());
        chain.reject(
            CORE,
            op,
            ErrorCode::InvalidDate,
            &[&format!("date {bad:?} is not a valid YYYY-MM-DD date")],
        );
    }
    let today = chain.date_in(0);
    let op = issue_with(&mut chain, |op| op.maturity_date = today.clone());
    chain.reject(
        CORE,
        op,
        ErrorCode::MaturityNotInFuture,
        &[&format!("maturity {today} is not after today {today}")],
    );
    let yesterday = chain.date_in(-1);
    let op = issue_with(&mut chain, |op| op.maturity_date = yesterday.clone());
    chain.reject(
        CORE,
        op,
        ErrorCode::MaturityNotInFuture,
        &[&format!("maturity {yesterday} is not after today")],
    );
    let too_far = chain.date_in(366);
    let op = issue_with(&mut chain, |op| op.maturity_date = too_far);
    chain.reject(
        CORE,
        op,
        ErrorCode::TenorTooLong,
        &["tenor of 366 days exceeds the chain's maximum of 365"],
    );
    // The limits themselves are allowed: tomorrow and exactly the maximum tenor.
    let op = chain.issue_op(SUP1, FACE, 1);
    chain.ok(CORE, op);
    let op = chain.issue_op(SUP1, FACE, 365);
    chain.ok(CORE, op);
}

#[test]
fn issue_requires_a_valid_unused_trade_document() {
    let mut chain = chain_with_line();
    let op = issue_with(&mut chain, |op| op.trade_document = None);
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["must reference the trade document"],
    );
    let op = issue_with(&mut chain, |op| {
        op.trade_document.as_mut().expect("doc").kind = String::new()
    });
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["trade document kind is required"],
    );
    let op = issue_with(&mut chain, |op| {
        op.trade_document.as_mut().expect("doc").number = " ".into()
    });
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["trade document number is required"],
    );
    let op = issue_with(&mut chain, |op| {
        op.trade_document.as_mut().expect("doc").number = "9".repeat(65)
    });
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["trade document number is 65 bytes, longer than 64"],
    );
    let op = issue_with(&mut chain, |op| {
        op.trade_document.as_mut().expect("doc").kind = "invoice/vat".into()
    });
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["trade document kind cannot contain '/'"],
    );
    let op = issue_with(&mut chain, |op| {
        op.trade_document.as_mut().expect("doc").hash = vec![1; 20]
    });
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidArgument,
        &["trade document hash must be a 32-byte SHA-256 digest, got 20 bytes"],
    );

    let first = TradeDocument {
        kind: "invoice".into(),
        number: "FP-2024-0001".into(),
        hash: vec![0x11; 32],
    };
    let doc = first.clone();
    let op = issue_with(&mut chain, |op| op.trade_document = Some(doc));
    chain.ok(CORE, op);
    // Same kind and number, other hash.
    let doc = TradeDocument {
        hash: vec![0x22; 32],
        ..first.clone()
    };
    let op = issue_with(&mut chain, |op| op.trade_document = Some(doc));
    chain.reject(
        CORE,
        op,
        ErrorCode::DuplicateTradeDocument,
        &["invoice FP-2024-0001 already backs voucher V000000000001"],
    );
    // Same content hash under another number (or kind).
    let doc = TradeDocument {
        number: "FP-2024-0002".into(),
        ..first.clone()
    };
    let op = issue_with(&mut chain, |op| op.trade_document = Some(doc));
    chain.reject(
        CORE,
        op,
        ErrorCode::DuplicateTradeDocument,
        &[
            "content hash",
            "already backs voucher V000000000001 (under another kind or number than invoice FP-2024-0002)",
        ],
    );
    let doc = TradeDocument {
        kind: "contract".into(),
        ..first.clone()
    };
    let op = issue_with(&mut chain, |op| op.trade_document = Some(doc));
    chain.reject(
        CORE,
        op,
        ErrorCode::DuplicateTradeDocument,
        &["already backs voucher V000000000001"],
    );
    // The same number under another kind, with its own hash, is another document.
    let doc = TradeDocument {
        kind: "contract".into(),
        hash: vec![0x33; 32],
        ..first
    };
    let op = issue_with(&mut chain, |op| op.trade_document = Some(doc));
    chain.ok(CORE, op);
    assert_eq!(chain.line().outstanding, 2 * FACE);
}

#[test]
fn issue_checks_the_holder() {
    let mut chain = chain_with_line();
    for holder in [REGULATOR, WAREHOUSE, ADMIN_A, CORE_2, CORE] {
        let op = issue_with(&mut chain, |op| op.holder = holder.into());
        chain.reject(
            CORE,
            op,
            ErrorCode::InvalidRecipient,
            &[
                &format!("account {holder} ("),
                "cannot receive a voucher from its issuer",
            ],
        );
    }
    let op = issue_with(&mut chain, |op| op.holder = "nobody".into());
    chain.reject(
        CORE,
        op,
        ErrorCode::AccountNotFound,
        &["account \"nobody\" does not exist"],
    );
    // A financier may be the first holder.
    let op = issue_with(&mut chain, |op| op.holder = FINANCIER.into());
    chain.ok(CORE, op);
}

#[test]
fn issue_to_a_frozen_account_is_rejected() {
    let mut chain = chain_with_line();
    chain.ok(ADMIN_A, freeze_account(SUP1));
    let op = chain.issue_op(SUP1, FACE, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::InvalidRecipient,
        &["account sup-1 is frozen"],
    );
    chain.ok(ADMIN_A, unfreeze_account(SUP1));
    chain.issue(SUP1, FACE, 30);
}

#[test]
fn issue_is_limited_by_the_credit_line() {
    let mut chain = TestChain::new();
    let no_line = format!(
        "financier {} has granted no credit line to {}",
        fin_uscc(),
        core_uscc()
    );
    let op = chain.issue_op(SUP1, FACE, 30);
    chain.reject(CORE, op, ErrorCode::CreditLineNotFound, &[&no_line]);
    chain.grant_line(LIMIT);
    let op = issue_with(&mut chain, |op| op.financier = sup_uscc(2));
    chain.reject(
        CORE,
        op,
        ErrorCode::CreditLineNotFound,
        &[&format!(
            "financier {} has granted no credit line",
            sup_uscc(2)
        )],
    );
    let op = issue_with(&mut chain, |op| op.currency = "USD".into());
    chain.reject(
        CORE,
        op,
        ErrorCode::CurrencyMismatch,
        &["the credit line is in CNY, the voucher in USD"],
    );
    let op = chain.issue_op(SUP1, LIMIT + 1, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::CreditLineExceeded,
        &["issuing 10000001 would take outstanding 0 above the limit 10000000"],
    );
    chain.issue(SUP1, LIMIT - FACE, 30);
    let op = chain.issue_op(SUP2, FACE + 1, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::CreditLineExceeded,
        &["issuing 1000001 would take outstanding 9000000 above the limit 10000000"],
    );
    let op = chain.issue_op(SUP2, u64::MAX, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::CreditLineExceeded,
        &[&format!(
            "issuing {} would take outstanding 9000000",
            u64::MAX
        )],
    );
    // Exactly up to the limit is allowed.
    chain.issue(SUP2, FACE, 30);
    assert_eq!(chain.line().outstanding, LIMIT);
    chain.ok(FINANCIER, revoke(&core_uscc()));
    let op = chain.issue_op(SUP1, 1, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::CreditLineRevoked,
        &[&format!(
            "the credit line of {} to {} is revoked",
            fin_uscc(),
            core_uscc()
        )],
    );
}

#[test]
fn exhausted_voucher_serials_are_an_overflow() {
    let mut chain = chain_with_line();
    chain.patch_raw(
        keys::VOUCHER_SEQ.to_vec(),
        Some(u64::MAX.to_be_bytes().to_vec()),
    );
    let op = chain.issue_op(SUP1, FACE, 30);
    chain.reject(
        CORE,
        op,
        ErrorCode::ArithmeticOverflow,
        &["voucher serial numbers exhausted"],
    );
}

// ---------------------------------------------------------------------------------------------
// Split
// ---------------------------------------------------------------------------------------------

#[test]
fn split_creates_children_that_sum_to_the_parent() {
    let (mut chain, id) = chain_with_voucher();
    let parent_before = chain.voucher(&id);
    let outcome = chain.submit_outcome(SUP1, split(&id, &[600_000, 300_000, 100_000]));
    assert_ok(&outcome.results[0]);
    let children = ["V000000000002", "V000000000003", "V000000000004"];
    let parent = chain.voucher(&id);
    assert_eq!(parent.status(), VoucherStatus::Split);
    assert_eq!(parent.children, children);
    assert_eq!(
        parent,
        vchain_proto::v1::Voucher {
            status: VoucherStatus::Split.into(),
            children: parent.children.clone(),
            ..parent_before.clone()
        }
    );
    for (child_id, amount) in children.iter().zip([600_000, 300_000, 100_000]) {
        let child = chain.voucher(child_id);
        assert_eq!(child.amount, amount);
        assert_eq!(
            (
                child.parent_id.as_str(),
                child.root_id.as_str(),
                child.depth
            ),
            (id.as_str(), id.as_str(), 1)
        );
        assert_eq!(
            (child.status(), child.frozen, child.holder.as_str()),
            (VoucherStatus::Active, false, SUP1)
        );
        assert_eq!(
            (
                &child.issuer,
                &child.financier,
                &child.maturity_date,
                child.maturity_day
            ),
            (
                &parent.issuer,
                &parent.financier,
                &parent.maturity_date,
                parent.maturity_day
            )
        );
        assert_eq!(
            (
                &child.trade_document,
                child.issued_height,
                child.issued_time_ms
            ),
            (
                &parent.trade_document,
                parent.issued_height,
                parent.issued_time_ms
            )
        );
        assert!(child.children.is_empty());
        assert!(in_expiry_queue(&chain, child_id));
        assert_eq!(chain.indexed_holders(child_id), [SUP1]);
    }
    assert!(
        !in_expiry_queue(&chain, &id),
        "a split voucher leaves the expiry queue"
    );
    let mut expected_index: Vec<String> = children
        .iter()
        .flat_map(|c| [format!("h/{SUP1}/{c}"), format!("s/{}/{c}", core_uscc())])
        .collect();
    expected_index.sort();
    assert_eq!(printable(&outcome.index_writes), expected_index);
    assert_eq!(
        chain.line().outstanding,
        FACE,
        "a split does not change the outstanding value"
    );

    let events = &outcome.results[0].events;
    assert_eq!(
        events.iter().map(Event::kind).collect::<Vec<_>>(),
        [
            EventKind::VoucherSplit,
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherCreatedBySplit
        ]
    );
    assert_eq!(
        (events[0].voucher_id.as_str(), events[0].amount),
        (id.as_str(), FACE)
    );
    assert_eq!(events[0].related_vouchers, children);
    assert_eq!(events[0].amounts, [600_000, 300_000, 100_000]);
    for (event, child) in events[1..].iter().zip(children) {
        assert_eq!(
            (event.voucher_id.as_str(), event.related_vouchers.as_slice()),
            (child, std::slice::from_ref(&id))
        );
    }

    // A child splits again: the lineage deepens, the root stays.
    let grandchildren = chain.split(SUP1, children[0], &[500_000, 100_000]);
    assert_eq!(grandchildren, ["V000000000005", "V000000000006"]);
    let grandchild = chain.voucher(&grandchildren[1]);
    assert_eq!(
        (
            grandchild.parent_id.as_str(),
            grandchild.root_id.as_str(),
            grandchild.depth
        ),
        (children[0], id.as_str(), 2)
    );
}

#[test]
fn split_rejections() {
    let (mut chain, id) = chain_with_voucher();
    chain.reject(
        SUP1,
        split("V000000000099", &[500_000, 500_000]),
        ErrorCode::VoucherNotFound,
        &["voucher \"V000000000099\" does not exist"],
    );
    chain.reject(
        SUP2,
        split(&id, &[500_000, 500_000]),
        ErrorCode::NotHolder,
        &[&format!(
            "split: account sup-2 does not hold voucher {id}; sup-1 does"
        )],
    );
    chain.reject(
        SUP1,
        split(&id, &[FACE]),
        ErrorCode::SplitFanout,
        &["a split makes 2 to 16 children, not 1"],
    );
    chain.reject(SUP1, split(&id, &[]), ErrorCode::SplitFanout, &["not 0"]);
    let seventeen = [1_000_000 / 17; 17];
    chain.reject(
        SUP1,
        split(&id, &seventeen),
        ErrorCode::SplitFanout,
        &["a split makes 2 to 16 children, not 17"],
    );
    chain.reject(
        SUP1,
        split(&id, &[99, FACE - 99]),
        ErrorCode::SplitBelowMinimum,
        &["child amount 99 is below the minimum split amount 100"],
    );
    chain.reject(
        SUP1,
        split(&id, &[FACE, 0]),
        ErrorCode::SplitBelowMinimum,
        &["child amount 0"],
    );
    chain.reject(
        SUP1,
        split(&id, &[500_000, 500_001]),
        ErrorCode::SplitSumMismatch,
        &[&format!("children sum to 1000001, voucher {id} is 1000000")],
    );
    chain.reject(
        SUP1,
        split(&id, &[400_000, 500_000]),
        ErrorCode::SplitSumMismatch,
        &["children sum to 900000"],
    );
    chain.reject(
        SUP1,
        split(&id, &[u64::MAX, 100, 100]),
        ErrorCode::ArithmeticOverflow,
        &["child amounts overflow"],
    );
    // 16 children at the minimum: allowed.
    let mut sixteen = vec![100u64; 15];
    sixteen.push(FACE - 1_500);
    chain.ok(SUP1, split(&id, &sixteen));
    chain.reject(
        SUP1,
        split(&id, &[500_000, 500_000]),
        ErrorCode::VoucherNotActive,
        &[&format!("split: voucher {id} is VOUCHER_STATUS_SPLIT")],
    );
}

#[test]
fn split_of_frozen_or_matured_voucher_is_rejected() {
    let (mut chain, id) = chain_with_voucher();
    chain.ok(REGULATOR, freeze_voucher(&id));
    chain.reject(
        SUP1,
        split(&id, &[500_000, 500_000]),
        ErrorCode::VoucherFrozen,
        &[&format!("split: voucher {id} is frozen")],
    );
    chain.ok(REGULATOR, unfreeze_voucher(&id));
    chain.advance_days(29);
    let a = chain.split(SUP1, &id, &[500_000, 500_000]);
    chain.advance_days(1);
    let maturity = chain.voucher(&id).maturity_date;
    chain.reject(
        SUP1,
        split(&a[0], &[250_000, 250_000]),
        ErrorCode::VoucherMatured,
        &[&format!(
            "split: voucher {} matured on {maturity} and can no longer move",
            a[0]
        )],
    );
}

#[test]
fn lineage_depth_is_bounded() {
    let mut chain = chain_with_line();
    let mut id = chain.issue(SUP1, 100 * 40, 30);
    for depth in 1..=32u32 {
        let children = chain.split(SUP1, &id, &[100, chain.voucher(&id).amount - 100]);
        id = children[1].clone();
        assert_eq!(chain.voucher(&id).depth, depth);
    }
    chain.reject(
        SUP1,
        split(&id, &[100, 100]),
        ErrorCode::LineageTooDeep,
        &[&format!("voucher {id} is already 32 splits deep")],
    );
    // Trace still reaches the root from the deepest voucher.
    let traced = trace::trace(&chain.ledger, &id)
        .expect("trace")
        .expect("voucher exists");
    assert_eq!(traced.root_id, "V000000000001");
    assert_eq!(traced.vouchers.len(), 1 + 2 * 32);
}

// ---------------------------------------------------------------------------------------------
// Transfer
// ---------------------------------------------------------------------------------------------

#[test]
fn transfer_moves_the_voucher_and_its_index_entry() {
    let (mut chain, id) = chain_with_voucher();
    let outcome = chain.submit_outcome(SUP1, transfer(&id, SUP2));
    assert_ok(&outcome.results[0]);
    assert_eq!(chain.voucher(&id).holder, SUP2);
    assert_eq!(
        outcome.index_writes.get(&keys::holder_index(SUP1, &id)),
        Some(&None)
    );
    assert_eq!(
        outcome.index_writes.get(&keys::holder_index(SUP2, &id)),
        Some(&Some(Vec::new()))
    );
    assert_eq!(outcome.index_writes.len(), 2);
    assert_eq!(chain.indexed_holders(&id), [SUP2]);
    let event = &outcome.results[0].events[0];
    assert_eq!(event.kind(), EventKind::VoucherTransferred);
    assert_eq!(
        (
            event.accounts.as_slice(),
            event.counterparty.as_str(),
            event.consideration
        ),
        (&[SUP1.to_owned(), SUP2.to_owned()][..], SUP2, 0)
    );
    assert_eq!(event.digest, AGREEMENT);
    assert_eq!(event.previous_holder, SUP1);
    assert!(
        in_expiry_queue(&chain, &id),
        "a transfer keeps the voucher in the expiry queue"
    );

    // With a consideration to a supplier: still a transfer.
    let events = chain.ok(SUP2, transfer_for(&id, SUP3, 990_000, "CNY"));
    assert_eq!(
        (events[0].kind(), events[0].consideration),
        (EventKind::VoucherTransferred, 990_000)
    );
    // To a financier without a consideration: a transfer.
    let events = chain.ok(SUP3, transfer(&id, FINANCIER));
    assert_eq!(
        (events[0].kind(), events[0].consideration),
        (EventKind::VoucherTransferred, 0)
    );
    // To a financier with a consideration: a financing. The face amount itself is allowed.
    let events = chain.ok(FINANCIER, transfer(&id, SUP1));
    assert_eq!(events[0].kind(), EventKind::VoucherTransferred);
    let events = chain.ok(SUP1, transfer_for(&id, FINANCIER, FACE, "CNY"));
    assert_eq!(
        (events[0].kind(), events[0].consideration, events[0].amount),
        (EventKind::VoucherFinanced, FACE, FACE)
    );
    assert_eq!(chain.voucher(&id).holder, FINANCIER);
    assert_eq!(
        chain.line().outstanding,
        FACE,
        "transfers do not change the outstanding value"
    );
}

#[test]
fn transfer_rejections() {
    let (mut chain, id) = chain_with_voucher();
    chain.reject(
        SUP2,
        transfer(&id, SUP3),
        ErrorCode::NotHolder,
        &[&format!(
            "transfer: account sup-2 does not hold voucher {id}; sup-1 does"
        )],
    );
    chain.reject(
        SUP1,
        transfer("V000000000077", SUP3),
        ErrorCode::VoucherNotFound,
        &["\"V000000000077\""],
    );
    chain.reject(
        SUP1,
        transfer(&id, SUP1),
        ErrorCode::InvalidRecipient,
        &[&format!("account sup-1 already holds voucher {id}")],
    );
    chain.reject(
        SUP1,
        transfer(&id, "nobody"),
        ErrorCode::AccountNotFound,
        &["account \"nobody\" does not exist"],
    );
    for to in [REGULATOR, WAREHOUSE, CORE, CORE_2, ADMIN_B] {
        chain.reject(
            SUP1,
            transfer(&id, to),
            ErrorCode::InvalidRecipient,
            &[
                &format!("account {to} ("),
                &format!("cannot hold voucher {id}"),
            ],
        );
    }
    let mut op = transfer(&id, SUP2);
    if let Operation::TransferVoucher(inner) = &mut op {
        inner.agreement_hash = vec![0; 16];
    }
    chain.reject(
        SUP1,
        op,
        ErrorCode::InvalidArgument,
        &["agreement hash must be a 32-byte SHA-256 digest, got 16 bytes"],
    );
    let op = Operation::TransferVoucher(TransferVoucher {
        voucher_id: id.clone(),
        to: SUP2.into(),
        agreement_hash: Vec::new(),
        consideration: None,
    });
    chain.reject(SUP1, op, ErrorCode::InvalidArgument, &["got 0 bytes"]);
    chain.reject(
        SUP1,
        transfer_for(&id, FINANCIER, 0, "CNY"),
        ErrorCode::InvalidAmount,
        &["consideration must be a positive number"],
    );
    chain.reject(
        SUP1,
        transfer_for(&id, FINANCIER, 900_000, "USD"),
        ErrorCode::CurrencyMismatch,
        &["consideration in USD for a voucher in CNY"],
    );
    chain.reject(
        SUP1,
        transfer_for(&id, FINANCIER, FACE + 1, "CNY"),
        ErrorCode::InvalidAmount,
        &["consideration 1000001 exceeds the face amount 1000000"],
    );

    chain.ok(ADMIN_A, freeze_account(SUP2));
    chain.reject(
        SUP1,
        transfer(&id, SUP2),
        ErrorCode::InvalidRecipient,
        &["recipient account sup-2 is frozen"],
    );
    chain.ok(ADMIN_A, unfreeze_account(SUP2));

    chain.ok(ADMIN_A, freeze_voucher(&id));
    chain.reject(
        SUP1,
        transfer(&id, SUP2),
        ErrorCode::VoucherFrozen,
        &[&format!("transfer: voucher {id} is frozen")],
    );
    chain.ok(ADMIN_A, unfreeze_voucher(&id));

    chain.advance_days(29);
    chain.ok(SUP1, transfer(&id, SUP2));
    chain.advance_days(1);
    chain.reject(
        SUP2,
        transfer(&id, SUP1),
        ErrorCode::VoucherMatured,
        &[&format!("transfer: voucher {id} matured on")],
    );
    chain.ok(SUP2, request(&id));
    chain.reject(
        SUP2,
        transfer(&id, SUP1),
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_REDEMPTION_REQUESTED"],
    );
}

// ---------------------------------------------------------------------------------------------
// Redemption
// ---------------------------------------------------------------------------------------------

#[test]
fn redemption_request_and_confirmation_release_the_line() {
    let (mut chain, id) = chain_with_voucher();
    chain.issue(SUP2, FACE, 60);
    chain.advance_days(29);
    let maturity = chain.voucher(&id).maturity_date;
    chain.reject(
        SUP1,
        request(&id),
        ErrorCode::VoucherNotMatured,
        &[&format!("voucher {id} matures on {maturity}")],
    );
    chain.advance_days(1);
    chain.reject(
        SUP2,
        request(&id),
        ErrorCode::NotHolder,
        &["redemption request: account sup-2 does not hold"],
    );
    let events = chain.ok(SUP1, request(&id));
    assert_eq!(events[0].kind(), EventKind::RedemptionRequested);
    assert_eq!(events[0].accounts, [SUP1, CORE, CORE_2]);
    assert_eq!(events[0].counterparty, core_uscc());
    assert_eq!(
        chain.voucher(&id).status(),
        VoucherStatus::RedemptionRequested
    );
    assert!(
        !in_expiry_queue(&chain, &id),
        "a voucher awaiting payment is not destroyed"
    );
    assert_eq!(
        chain.line().outstanding,
        2 * FACE,
        "a request does not release the line yet"
    );
    chain.reject(
        SUP1,
        request(&id),
        ErrorCode::VoucherNotActive,
        &[&format!(
            "redemption request: voucher {id} is VOUCHER_STATUS_REDEMPTION_REQUESTED"
        )],
    );

    let events = chain.ok(CORE_2, confirm(&id));
    assert_eq!(events[0].kind(), EventKind::VoucherRedeemed);
    assert_eq!(
        (
            events[0].actor.as_str(),
            events[0].detail.as_str(),
            events[0].amount
        ),
        (CORE_2, "BANK-TX-0001", FACE)
    );
    assert_eq!(events[0].accounts, [SUP1, CORE_2]);
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Redeemed);
    assert_eq!(chain.line().outstanding, FACE);
    chain.reject(
        CORE,
        confirm(&id),
        ErrorCode::RedemptionNotRequested,
        &["VOUCHER_STATUS_REDEEMED"],
    );
    chain.reject(
        SUP1,
        transfer(&id, SUP2),
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_REDEEMED"],
    );
    // Redeemed vouchers are not destroyed later.
    chain.advance_days(30);
    let outcome = chain.block(vec![]);
    assert!(outcome.system_events.iter().all(|e| e.voucher_id != id));
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Redeemed);
}

#[test]
fn confirm_redemption_rejections() {
    let (mut chain, id) = chain_with_voucher();
    // Another core enterprise, with its own line.
    let other = uscc(21);
    chain.ok(
        ADMIN_A,
        register_identity(
            &other,
            Role::CoreEnterprise,
            "core-b",
            key(102).verifying_key().as_bytes(),
        ),
    );
    chain.add_key("core-b", key(102));

    chain.reject(
        CORE,
        confirm("V000000000404"),
        ErrorCode::VoucherNotFound,
        &["\"V000000000404\""],
    );
    chain.reject(
        SUP1,
        confirm(&id),
        ErrorCode::WrongRole,
        &["confirming a redemption needs role ROLE_CORE_ENTERPRISE"],
    );
    chain.reject(
        CORE,
        Operation::ConfirmRedemption(ConfirmRedemption {
            voucher_id: id.clone(),
            payment_reference: String::new(),
        }),
        ErrorCode::InvalidArgument,
        &["payment reference is required"],
    );
    chain.reject(
        CORE,
        confirm(&id),
        ErrorCode::RedemptionNotRequested,
        &[&format!(
            "voucher {id} is VOUCHER_STATUS_ACTIVE; its holder has not requested redemption"
        )],
    );
    chain.advance_days(30);
    chain.ok(SUP1, request(&id));
    chain.reject(
        "core-b",
        confirm(&id),
        ErrorCode::NotIssuer,
        &[&format!(
            "voucher {id} was issued by {}, not {other}",
            core_uscc()
        )],
    );
    chain.ok(REGULATOR, freeze_voucher(&id));
    chain.reject(
        CORE,
        confirm(&id),
        ErrorCode::VoucherFrozen,
        &[&format!("voucher {id} is frozen")],
    );
    chain.ok(REGULATOR, unfreeze_voucher(&id));
    assert_eq!(
        chain.voucher(&id).status(),
        VoucherStatus::RedemptionRequested
    );
    assert!(
        !in_expiry_queue(&chain, &id),
        "unfreezing a voucher awaiting payment does not queue it"
    );
    chain.ok(CORE, confirm(&id));
    assert_eq!(chain.line().outstanding, 0);
}

#[test]
fn redemption_request_of_frozen_voucher_is_rejected() {
    let (mut chain, id) = chain_with_voucher();
    chain.advance_days(30);
    chain.ok(ADMIN_A, freeze_voucher(&id));
    chain.reject(
        SUP1,
        request(&id),
        ErrorCode::VoucherFrozen,
        &[&format!("redemption request: voucher {id} is frozen")],
    );
    chain.reject(
        SUP1,
        request("V000000000009"),
        ErrorCode::VoucherNotFound,
        &["\"V000000000009\""],
    );
}

// ---------------------------------------------------------------------------------------------
// Destruction
// ---------------------------------------------------------------------------------------------

#[test]
fn unredeemed_vouchers_are_destroyed_after_the_grace_period() {
    let (mut chain, id) = chain_with_voucher();
    let grace = u64::from(chain.genesis.params.redemption_grace_days);
    chain.advance_days(30 + grace - 1);
    let outcome = chain.block(vec![]);
    assert!(
        outcome.system_events.is_empty(),
        "the last day of grace does not destroy"
    );
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Active);
    chain.advance_days(1);
    let outcome = chain.block(vec![]);
    assert_eq!(outcome.system_events.len(), 1);
    let event = &outcome.system_events[0];
    assert_eq!(event.kind(), EventKind::VoucherDestroyed);
    assert_eq!(
        (
            event.voucher_id.as_str(),
            event.amount,
            event.height,
            event.time_ms
        ),
        (
            id.as_str(),
            FACE,
            chain.height,
            chain.history[chain.history.len() - 1].context.timestamp_ms
        )
    );
    assert!(
        event.tx_hash.is_empty() && event.actor.is_empty(),
        "the chain itself acted"
    );
    assert_eq!(event.accounts, [SUP1]);
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Destroyed);
    assert_eq!(chain.line().outstanding, 0, "destruction releases the line");
    assert!(!in_expiry_queue(&chain, &id));
    let stored: Event = chain
        .try_get(&keys::voucher_event(
            &id,
            EventPosition {
                height: chain.height,
                tx_index: u32::MAX,
                event_index: 0,
            },
        ))
        .expect("history");
    assert_eq!(&stored, event);
    chain.reject(
        SUP1,
        request(&id),
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_DESTROYED"],
    );
    chain.reject(
        ADMIN_A,
        freeze_voucher(&id),
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_DESTROYED"],
    );
}

#[test]
fn destruction_runs_before_the_blocks_transactions() {
    let (mut chain, id) = chain_with_voucher();
    chain.advance_days(37);
    let tx = chain.tx(SUP1, request(&id));
    let outcome = chain.block(vec![tx]);
    assert_eq!(outcome.system_events.len(), 1);
    assert_rejection(
        &outcome.results[0],
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_DESTROYED"],
    );
}

#[test]
fn frozen_vouchers_wait_and_are_destroyed_the_block_after_unfreezing() {
    let (mut chain, id) = chain_with_voucher();
    chain.ok(REGULATOR, freeze_voucher(&id));
    assert!(!in_expiry_queue(&chain, &id));
    chain.advance_days(60);
    let outcome = chain.block(vec![]);
    assert!(
        outcome.system_events.is_empty(),
        "a frozen voucher is not destroyed"
    );
    let outcome = chain.submit_outcome(REGULATOR, unfreeze_voucher(&id));
    assert!(
        outcome.system_events.is_empty(),
        "destruction ran before the unfreeze"
    );
    assert_ok(&outcome.results[0]);
    assert!(in_expiry_queue(&chain, &id));
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Active);
    let outcome = chain.block(vec![]);
    assert_eq!(
        outcome
            .system_events
            .iter()
            .map(|e| e.voucher_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Destroyed);
    assert_eq!(chain.line().outstanding, 0);
}

#[test]
fn redemption_requested_vouchers_are_not_destroyed() {
    let (mut chain, id) = chain_with_voucher();
    chain.advance_days(30);
    chain.ok(SUP1, request(&id));
    chain.advance_days(100);
    let outcome = chain.block(vec![]);
    assert!(outcome.system_events.is_empty());
    assert_eq!(
        chain.voucher(&id).status(),
        VoucherStatus::RedemptionRequested
    );
    assert_eq!(chain.line().outstanding, FACE);
}

#[test]
fn destruction_is_capped_per_block_and_the_rest_follow() {
    let mut chain = TestChain::with_params(Params {
        destroy_per_block_max: 2,
        ..Params::default()
    });
    chain.grant_line(LIMIT);
    let ids: Vec<String> = (0..5).map(|_| chain.issue(SUP1, FACE, 10)).collect();
    let late = chain.issue(SUP2, FACE, 11);
    chain.advance_days(17);
    let mut destroyed = Vec::new();
    for expected in [2, 2, 1, 0] {
        let outcome = chain.block(vec![]);
        assert_eq!(outcome.system_events.len(), expected);
        destroyed.extend(outcome.system_events.iter().map(|e| e.voucher_id.clone()));
        assert_eq!(
            chain.line().outstanding,
            FACE * (6 - destroyed.len() as u64)
        );
    }
    assert_eq!(destroyed, ids, "destroyed in queue order: by day, then id");
    assert_eq!(
        chain.voucher(&late).status(),
        VoucherStatus::Active,
        "a voucher due tomorrow is untouched"
    );
    chain.advance_days(1);
    assert_eq!(chain.block(vec![]).system_events.len(), 1);
    assert_eq!(chain.line().outstanding, 0);
}

#[test]
fn redemption_is_refused_once_the_grace_period_is_over() {
    let mut chain = TestChain::with_params(Params {
        destroy_per_block_max: 1,
        ..Params::default()
    });
    chain.grant_line(LIMIT);
    let first = chain.issue(SUP1, FACE, 10);
    let second = chain.issue(SUP1, FACE, 10);
    chain.advance_days(17);
    // The cap destroys `first` in this block; `second` is overdue but still queued.
    let result = chain.submit(SUP1, request(&second));
    assert_eq!(result.code(), ErrorCode::GracePeriodEnded);
    assert!(
        result.message.contains("redemption period ended"),
        "{}",
        result.message
    );
    assert_eq!(chain.voucher(&first).status(), VoucherStatus::Destroyed);
    assert_eq!(chain.voucher(&second).status(), VoucherStatus::Active);
    chain.block(vec![]);
    assert_eq!(chain.voucher(&second).status(), VoucherStatus::Destroyed);
}

// ---------------------------------------------------------------------------------------------
// Voucher freeze
// ---------------------------------------------------------------------------------------------

#[test]
fn voucher_freeze_and_unfreeze() {
    let (mut chain, id) = chain_with_voucher();
    for who in [ADMIN_A, REGULATOR, ADMIN_B] {
        let events = chain.ok(who, freeze_voucher(&id));
        assert_eq!(
            (
                events[0].kind(),
                events[0].actor.as_str(),
                events[0].detail.as_str()
            ),
            (EventKind::VoucherFrozen, who, "court order")
        );
        assert!(chain.voucher(&id).frozen);
        assert!(!in_expiry_queue(&chain, &id));
        let events = chain.ok(who, unfreeze_voucher(&id));
        assert_eq!(events[0].kind(), EventKind::VoucherUnfrozen);
        assert!(!chain.voucher(&id).frozen);
        assert!(in_expiry_queue(&chain, &id));
    }
    assert_eq!(
        chain.scan(&keys::voucher_events_prefix(&id)).len(),
        7,
        "issue + three freezes + three unfreezes"
    );
}

#[test]
fn voucher_freeze_rejections() {
    let (mut chain, id) = chain_with_voucher();
    chain.reject(SUP1, freeze_voucher(&id), ErrorCode::WrongRole, &["freezing a voucher needs role ROLE_ADMINISTRATOR or ROLE_REGULATOR; account sup-1 is ROLE_SUPPLIER"]);
    chain.reject(
        FINANCIER,
        unfreeze_voucher(&id),
        ErrorCode::WrongRole,
        &["unfreezing a voucher"],
    );
    chain.reject(
        CORE,
        freeze_voucher(&id),
        ErrorCode::WrongRole,
        &["ROLE_CORE_ENTERPRISE"],
    );
    let op = Operation::FreezeVoucher(vchain_proto::v1::FreezeVoucher {
        voucher_id: id.clone(),
        reason: String::new(),
    });
    chain.reject(
        REGULATOR,
        op,
        ErrorCode::InvalidArgument,
        &["reason is required"],
    );
    chain.reject(
        REGULATOR,
        freeze_voucher("V000000000123"),
        ErrorCode::VoucherNotFound,
        &["\"V000000000123\""],
    );
    chain.reject(
        REGULATOR,
        unfreeze_voucher(&id),
        ErrorCode::VoucherNotFrozen,
        &[&format!("voucher {id} is not frozen")],
    );
    chain.ok(REGULATOR, freeze_voucher(&id));
    chain.reject(
        ADMIN_A,
        freeze_voucher(&id),
        ErrorCode::VoucherFrozen,
        &[&format!("voucher {id} is already frozen")],
    );
    chain.ok(ADMIN_A, unfreeze_voucher(&id));
    chain.split(SUP1, &id, &[500_000, 500_000]);
    chain.reject(
        REGULATOR,
        freeze_voucher(&id),
        ErrorCode::VoucherNotActive,
        &[&format!("voucher {id} is VOUCHER_STATUS_SPLIT")],
    );
    chain.reject(
        REGULATOR,
        unfreeze_voucher(&id),
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_SPLIT"],
    );
}

#[test]
fn voucher_awaiting_payment_can_be_frozen() {
    let (mut chain, id) = chain_with_voucher();
    chain.advance_days(30);
    chain.ok(SUP1, request(&id));
    chain.ok(REGULATOR, freeze_voucher(&id));
    assert!(chain.voucher(&id).frozen);
    assert!(!in_expiry_queue(&chain, &id));
}

// ---------------------------------------------------------------------------------------------
// Double spending within one block
// ---------------------------------------------------------------------------------------------

#[test]
fn two_transfers_of_one_voucher_in_one_block() {
    let (mut chain, id) = chain_with_voucher();
    let first = chain.sign(SUP1, 0, transfer(&id, SUP2));
    let second = chain.sign(SUP1, 1, transfer(&id, SUP3));
    let outcome = chain.block(vec![first, second]);
    assert_ok(&outcome.results[0]);
    assert_rejection(
        &outcome.results[1],
        ErrorCode::NotHolder,
        &[&format!(
            "account sup-1 does not hold voucher {id}; sup-2 does"
        )],
    );
    assert_eq!(chain.voucher(&id).holder, SUP2);
    assert_eq!(chain.indexed_holders(&id), [SUP2]);
    assert_eq!(
        chain.nonce(SUP1),
        2,
        "the rejected transfer spent its nonce"
    );
}

#[test]
fn two_splits_or_split_and_transfer_of_one_voucher_in_one_block() {
    let (mut chain, id) = chain_with_voucher();
    let first = chain.sign(SUP1, 0, split(&id, &[500_000, 500_000]));
    let second = chain.sign(SUP1, 1, split(&id, &[100_000, 900_000]));
    let third = chain.sign(SUP1, 2, transfer(&id, SUP2));
    let outcome = chain.block(vec![first, second, third]);
    assert_ok(&outcome.results[0]);
    assert_rejection(
        &outcome.results[1],
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_SPLIT"],
    );
    assert_rejection(
        &outcome.results[2],
        ErrorCode::VoucherNotActive,
        &["VOUCHER_STATUS_SPLIT"],
    );
    assert_eq!(
        chain.voucher(&id).children,
        ["V000000000002", "V000000000003"]
    );
    assert!(
        chain
            .try_get::<vchain_proto::v1::Voucher>(&keys::voucher("V000000000004"))
            .is_none(),
        "the rejected split made no children"
    );
    assert_eq!(
        chain.raw(keys::VOUCHER_SEQ),
        Some(4u64.to_be_bytes().to_vec())
    );

    // Transfer first, then the split by the old holder.
    let (mut chain, id) = chain_with_voucher();
    let first = chain.sign(SUP1, 0, transfer(&id, SUP2));
    let second = chain.sign(SUP1, 1, split(&id, &[500_000, 500_000]));
    let outcome = chain.block(vec![first, second]);
    assert_ok(&outcome.results[0]);
    assert_rejection(&outcome.results[1], ErrorCode::NotHolder, &["sup-2 does"]);
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Active);
}

#[test]
fn two_issues_against_one_document_in_one_block() {
    let mut chain = chain_with_line();
    let op = chain.issue_op(SUP1, FACE, 30);
    let first = chain.sign(CORE, 0, op.clone());
    let second = chain.sign(CORE_2, 0, op);
    let outcome = chain.block(vec![first, second]);
    assert_ok(&outcome.results[0]);
    assert_rejection(
        &outcome.results[1],
        ErrorCode::DuplicateTradeDocument,
        &["already backs voucher V000000000001"],
    );
    assert_eq!(chain.line().outstanding, FACE);
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

#[test]
fn trace_from_a_leaf_returns_the_whole_lineage_with_histories() {
    let (mut chain, root) = chain_with_voucher();
    let level1 = chain.split(SUP1, &root, &[200_000, 500_000, 300_000]);
    chain.ok(SUP1, transfer(&level1[1], SUP2));
    let level2 = chain.split(SUP2, &level1[1], &[100_000, 400_000]);
    chain.ok(SUP2, transfer_for(&level2[1], SUP3, 390_000, "CNY"));
    let level3 = chain.split(SUP3, &level2[1], &[150_000, 250_000]);
    chain.ok(SUP3, transfer_for(&level3[0], FINANCIER, 140_000, "CNY"));
    chain.ok(REGULATOR, freeze_voucher(&level1[2]));
    let leaf = level3[1].clone();

    let traced = trace::trace(&chain.ledger, &leaf)
        .expect("trace reads")
        .expect("voucher exists");
    assert_eq!(
        (traced.voucher_id.as_str(), traced.root_id.as_str()),
        (leaf.as_str(), root.as_str())
    );
    let order: Vec<(&str, u32)> = traced
        .vouchers
        .iter()
        .map(|t| (t.voucher.as_ref().expect("voucher").id.as_str(), t.depth))
        .collect();
    assert_eq!(
        order,
        [
            (root.as_str(), 0),
            (level1[0].as_str(), 1),
            (level1[1].as_str(), 1),
            (level2[0].as_str(), 2),
            (level2[1].as_str(), 2),
            (level3[0].as_str(), 3),
            (level3[1].as_str(), 3),
            (level1[2].as_str(), 1),
        ],
        "root first, then depth-first in split order"
    );
    for traced_voucher in &traced.vouchers {
        let voucher = traced_voucher.voucher.as_ref().expect("voucher");
        assert_eq!(
            voucher,
            &chain.voucher(&voucher.id),
            "the traced voucher is the stored one"
        );
        assert_eq!(traced_voucher.depth, voucher.depth);
    }
    let kinds = |id: &str| -> Vec<EventKind> {
        traced
            .vouchers
            .iter()
            .find(|t| t.voucher.as_ref().is_some_and(|v| v.id == id))
            .expect("traced")
            .events
            .iter()
            .map(Event::kind)
            .collect()
    };
    assert_eq!(
        kinds(&root),
        [EventKind::VoucherIssued, EventKind::VoucherSplit]
    );
    assert_eq!(
        kinds(&level1[1]),
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherTransferred,
            EventKind::VoucherSplit
        ]
    );
    assert_eq!(
        kinds(&level2[1]),
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::VoucherTransferred,
            EventKind::VoucherSplit
        ]
    );
    assert_eq!(
        kinds(&level3[0]),
        [EventKind::VoucherCreatedBySplit, EventKind::VoucherFinanced]
    );
    assert_eq!(kinds(&level3[1]), [EventKind::VoucherCreatedBySplit]);
    assert_eq!(
        kinds(&level1[2]),
        [EventKind::VoucherCreatedBySplit, EventKind::VoucherFrozen]
    );

    // Every event is a recorded transaction event (height, hash, time), in chain order per voucher,
    // and the trace holds every voucher event the chain recorded.
    let mut traced_events = 0;
    for traced_voucher in &traced.vouchers {
        let mut last = 0;
        for event in &traced_voucher.events {
            assert!(event.height >= last, "events in chain order");
            last = event.height;
            let record = &chain.history[usize::try_from(event.height - 1).expect("small")];
            assert_eq!(event.time_ms, record.context.timestamp_ms);
            let tx = record
                .transactions
                .iter()
                .position(|t| tx_hash(&t.body).to_vec() == event.tx_hash)
                .expect("event names a transaction of its block");
            assert!(record.outcome.results[tx].events.contains(event));
            traced_events += 1;
        }
    }
    let recorded = chain
        .history
        .iter()
        .flat_map(|r| r.outcome.events())
        .filter(|e| !e.voucher_id.is_empty())
        .count();
    assert_eq!(traced_events, recorded);

    // Asked from the root or the middle, the same lineage comes back.
    let from_root = trace::trace(&chain.ledger, &root)
        .expect("trace")
        .expect("exists");
    assert_eq!(from_root.vouchers, traced.vouchers);
    assert_eq!(
        trace::trace(&chain.ledger, "V000000009999").expect("trace"),
        None
    );
}

#[test]
fn trace_includes_destruction_events() {
    let (mut chain, root) = chain_with_voucher();
    let children = chain.split(SUP1, &root, &[400_000, 600_000]);
    chain.advance_days(30);
    chain.ok(SUP1, request(&children[0]));
    chain.ok(CORE, confirm(&children[0]));
    chain.advance_days(7);
    let outcome = chain.block(vec![]);
    assert_eq!(outcome.system_events.len(), 1);
    let traced = trace::trace(&chain.ledger, &children[0])
        .expect("trace")
        .expect("exists");
    let destroyed = traced
        .vouchers
        .iter()
        .find(|t| t.voucher.as_ref().is_some_and(|v| v.id == children[1]))
        .expect("sibling traced");
    let last = destroyed.events.last().expect("events");
    assert_eq!(
        (last.kind(), last.height, last.tx_hash.is_empty()),
        (EventKind::VoucherDestroyed, chain.height, true)
    );
    let redeemed = traced
        .vouchers
        .iter()
        .find(|t| t.voucher.as_ref().is_some_and(|v| v.id == children[0]))
        .expect("traced");
    let kinds: Vec<EventKind> = redeemed.events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::VoucherCreatedBySplit,
            EventKind::RedemptionRequested,
            EventKind::VoucherRedeemed
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Admission (check_tx) and signature batches
// ---------------------------------------------------------------------------------------------

fn check_code(chain: &TestChain, tx: &vchain_proto::v1::SignedTransaction) -> (ErrorCode, String) {
    match check_tx(&chain.ledger, tx, &VerifiedSignatures::none()) {
        Ok(checked) => panic!("admitted {checked:?}"),
        Err(CheckError::Rejected(rejection)) => (rejection.code, rejection.message),
        Err(CheckError::Fatal(error)) => panic!("check_tx failed: {error}"),
    }
}

#[test]
fn check_tx_admission() {
    let (mut chain, id) = chain_with_voucher();
    let tx = chain.tx(SUP1, transfer(&id, SUP2));
    let checked = check_tx(&chain.ledger, &tx, &VerifiedSignatures::none())
        .expect("a good transaction is admitted");
    assert_eq!(
        (checked.hash, checked.signer.as_str(), checked.nonce),
        (tx_hash(&tx.body), SUP1, 0)
    );
    let ahead = chain.sign(SUP1, NONCE_WINDOW - 1, transfer(&id, SUP2));
    assert_eq!(
        check_tx(&chain.ledger, &ahead, &VerifiedSignatures::none())
            .expect("within the window")
            .nonce,
        NONCE_WINDOW - 1
    );
    let beyond = chain.sign(SUP1, NONCE_WINDOW, transfer(&id, SUP2));
    let (code, message) = check_code(&chain, &beyond);
    assert_eq!(code, ErrorCode::BadNonce);
    assert!(
        message.contains("nonce 64 is more than 64 ahead of account sup-1's next nonce 0"),
        "{message}"
    );

    chain.block(vec![tx.clone()]);
    let (code, message) = check_code(&chain, &tx);
    assert_eq!(code, ErrorCode::BadNonce);
    assert!(
        message.contains("nonce 0 was already used; account sup-1's next nonce is 1"),
        "{message}"
    );

    let mut bad = chain.tx(SUP2, transfer(&id, SUP3));
    bad.signature[0] ^= 0x80;
    assert_eq!(check_code(&chain, &bad).0, ErrorCode::BadSignature);

    chain.add_key("ghost", key(201));
    let ghost = chain.sign("ghost", 0, request(&id));
    assert_eq!(check_code(&chain, &ghost).0, ErrorCode::UnknownAccount);

    let mut other_chain = body(SUP2, 0, Some(request(&id)));
    other_chain.chain_id = "elsewhere".into();
    let other_chain = chain.sign_body(SUP2, &other_chain);
    assert_eq!(check_code(&chain, &other_chain).0, ErrorCode::WrongChain);

    let empty = chain.sign_body(SUP2, &body(SUP2, 0, None));
    assert_eq!(check_code(&chain, &empty).0, ErrorCode::Malformed);

    chain.ok(ADMIN_A, freeze_account(SUP2));
    let frozen = chain.tx(SUP2, transfer(&id, SUP3));
    let (code, message) = check_code(&chain, &frozen);
    assert_eq!(
        (code, message.as_str()),
        (ErrorCode::AccountFrozen, "account sup-2 is frozen")
    );
    // A frozen account's future nonce within the window is refused too.
    let frozen_ahead = chain.sign(SUP2, 3, transfer(&id, SUP3));
    assert_eq!(
        check_code(&chain, &frozen_ahead).0,
        ErrorCode::AccountFrozen
    );

    // An account of an identity that is no longer active is refused at admission too.
    let identity = Identity {
        status: IdentityStatus::Revoked.into(),
        ..chain.identity(&sup_uscc(3))
    };
    chain.patch(keys::identity(&sup_uscc(3)), &identity);
    let revoked = chain.tx(SUP3, request(&id));
    let (code, message) = check_code(&chain, &revoked);
    assert_eq!(code, ErrorCode::IdentityInactive);
    assert!(message.contains("is not active"), "{message}");
}

#[test]
fn unknown_signers_are_refused_before_any_signature_is_verified() {
    let (mut chain, id) = chain_with_voucher();
    // A flood from accounts the chain does not know, and from a known account with a key that
    // is not its own: each refused with its rule's code, none costing a verification.
    let mut batch = Vec::new();
    for i in 0..64u8 {
        let ghost = format!("ghost-{i}");
        chain.add_key(&ghost, key(100 + i));
        batch.push(chain.sign(&ghost, 0, request(&id)));
    }
    chain.add_key("impostor", key(250));
    let impostor = chain.sign_body("impostor", &body(SUP1, 0, Some(request(&id))));
    batch.push(impostor);
    let good = chain.tx(SUP2, request(&id));
    batch.push(good.clone());
    let checked = vchain_contracts::check_txs(&chain.ledger, &batch, &VerifiedSignatures::none())
        .expect("storage works");
    let codes: Vec<ErrorCode> = checked
        .results
        .iter()
        .map(|result| match result {
            Ok(_) => ErrorCode::Ok,
            Err(CheckError::Rejected(rejection)) => rejection.code,
            Err(CheckError::Fatal(error)) => panic!("check_txs failed: {error}"),
        })
        .collect();
    assert_eq!(&codes[..64], [ErrorCode::UnknownAccount; 64]);
    assert_eq!(codes[64], ErrorCode::KeyMismatch);
    assert_eq!(codes[65], ErrorCode::Ok);
    assert_eq!(
        checked.signatures_verified, 1,
        "only the known signer's signature is verified"
    );
    // The single admission path refuses them the same way.
    assert_eq!(check_code(&chain, &batch[0]).0, ErrorCode::UnknownAccount);
    // A node remembers the valid verdict: the same batch again verifies nothing, and answers
    // the same.
    let record = VerifiedSignatures::new(16);
    let first = vchain_contracts::check_txs(&chain.ledger, &batch, &record).expect("storage works");
    let again = vchain_contracts::check_txs(&chain.ledger, &batch, &record).expect("storage works");
    assert_eq!(
        (first.signatures_verified, again.signatures_verified),
        (1, 0)
    );
    assert_eq!(
        format!("{:?}", first.results),
        format!("{:?}", again.results)
    );
}

#[test]
fn verify_signatures_marks_exactly_the_bad_ones() {
    let chain = TestChain::new();
    let mut txs: Vec<_> = [SUP1, SUP2, SUP3, FINANCIER, CORE]
        .iter()
        .map(|s| chain.tx(s, request("V000000000001")))
        .collect();
    assert_eq!(verify_signatures(&txs), [true; 5]);
    txs[2].signature[5] ^= 0x04;
    assert_eq!(verify_signatures(&txs), [true, true, false, true, true]);
    txs[4].public_key = weak_key().to_vec();
    txs[0].signature.pop();
    assert_eq!(verify_signatures(&txs), [false, true, false, true, false]);
    assert!(verify_signatures(&[]).is_empty());
    // In a block, only the bad one is refused.
    let mut chain = TestChain::new();
    let mut txs: Vec<_> = [SUP1, SUP2, SUP3]
        .iter()
        .map(|s| chain.tx(s, request("V000000000001")))
        .collect();
    txs[1].signature[5] ^= 0x04;
    let outcome = chain.block(txs);
    let codes: Vec<ErrorCode> = outcome.results.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::VoucherNotFound,
            ErrorCode::BadSignature,
            ErrorCode::VoucherNotFound
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------------------------

fn genesis_error(change: impl FnOnce(&mut vchain_contracts::genesis::Genesis)) -> String {
    let mut genesis = genesis(Params::default());
    change(&mut genesis);
    match genesis.state() {
        Ok(_) => panic!("genesis accepted"),
        Err(GenesisError::Invalid(message)) => message,
    }
}

#[test]
fn the_test_genesis_is_valid_and_complete() {
    let chain = TestChain::new();
    assert_eq!(chain.identity(&core_uscc()).accounts, [CORE, CORE_2]);
    assert_eq!(chain.account(ADMIN_B).org_id, "bank-b");
    assert_eq!(chain.account(ADMIN_B).role(), Role::Administrator);
    assert_eq!(chain.account(WAREHOUSE).role(), Role::WarehouseOperator);
    assert_eq!(chain.identity(&uscc(1)).role(), Role::Administrator);
    chain.ledger.check_integrity().expect("sound tree");
}

#[test]
fn genesis_validation_errors() {
    // identities: [financier, core, sup-1, sup-2, sup-3, regulator, warehouse]
    let sup1_key = key(6).verifying_key().to_bytes();
    let message = genesis_error(|g| {
        let duplicate = g.identities[2].accounts[0].clone();
        g.identities[3].accounts.push(duplicate);
    });
    assert_eq!(
        message,
        format!("k/{} is defined twice", hex::encode(sup1_key))
    );
    let message = genesis_error(|g| {
        let mut copy = g.identities[2].accounts[0].clone();
        copy.public_key = hex::encode(key(222).verifying_key().as_bytes());
        g.identities[3].accounts.push(copy);
    });
    assert_eq!(message, "a/sup-1 is defined twice");
    let message = genesis_error(|g| {
        let again = g.identities[2].clone();
        g.identities.push(again);
    });
    assert_eq!(message, format!("i/{} is defined twice", sup_uscc(1)));
    let message = genesis_error(|g| {
        g.identities.push(GenesisIdentity {
            uscc: uscc(70),
            accounts: vec![],
            ..g.identities[2].clone()
        })
    });
    assert_eq!(message, format!("identity {} has no account", uscc(70)));

    let bad = corrupt(&fin_uscc());
    let message = genesis_error(|g| g.identities[0].uscc = bad.clone());
    assert_eq!(
        message,
        format!("unified social credit code {bad:?} has a wrong check character")
    );
    let message = genesis_error(|g| g.organisations[1].uscc = "BAD".into());
    assert_eq!(
        message,
        "unified social credit code \"BAD\" must have 18 characters"
    );
    let message = genesis_error(|g| g.identities[0].org_id = "bank-z".into());
    assert_eq!(
        message,
        format!(
            "identity {} is under unknown organisation bank-z",
            fin_uscc()
        )
    );
    let message = genesis_error(|g| g.consensus.nodes[0].org_id = "bank-z".into());
    assert_eq!(
        message,
        "node node-a belongs to unknown organisation bank-z"
    );
    let message = genesis_error(|g| g.params.split_fanout_max = 1);
    assert_eq!(message, "params: split_fanout_max must be at least 2");
    let message = genesis_error(|g| g.params.destroy_per_block_max = 0);
    assert_eq!(message, "params: destroy_per_block_max must be at least 1");
    let message = genesis_error(|g| g.params.utc_offset_minutes = 900);
    assert_eq!(
        message,
        "params: utc_offset_minutes must be within -12h..+14h"
    );
    let message = genesis_error(|g| g.params.tx_bytes_max = 100);
    assert_eq!(message, "params: tx_bytes_max must be at least 512");
    // Above the hard limits, so a block the chain allows always fits the nodes' proposal,
    // frame, sync and gRPC limits.
    let message = genesis_error(|g| g.params.tx_bytes_max = 65_537);
    assert_eq!(
        message,
        "params: tx_bytes_max must be at most 65536 (TX_BYTES_LIMIT)"
    );
    let message = genesis_error(|g| g.params.block_bytes_max = 8 * 1024 * 1024 + 1);
    assert_eq!(
        message,
        "params: block_bytes_max must be at most 8388608 (BLOCK_BYTES_LIMIT)"
    );
    let message = genesis_error(|g| g.params.block_tx_max = 10_001);
    assert_eq!(
        message,
        "params: block_tx_max must be at most 10000 (BLOCK_TX_LIMIT)"
    );
    let message = genesis_error(|g| g.params.destroy_per_block_max = 1_025);
    assert_eq!(
        message,
        "params: destroy_per_block_max must be at most 1024 (DESTROY_PER_BLOCK_LIMIT)"
    );
    let message = genesis_error(|g| g.params.max_tenor_days = 0);
    assert_eq!(message, "params: max_tenor_days must be at least 1");
    let message = genesis_error(|g| g.consensus.engine = "tendermint".into());
    assert_eq!(
        message,
        "consensus engine \"tendermint\" is not available (this build has: solo, raft, pbft)"
    );
    let message = genesis_error(|g| g.consensus.engine = "raft".into());
    assert_eq!(
        message,
        "consensus node node-a needs its 32-byte network public key in hex"
    );
    let message = genesis_error(|g| g.consensus.nodes.clear());
    assert_eq!(
        message,
        "solo consensus runs exactly one node, genesis lists 0"
    );
    let message = genesis_error(|g| g.identities[0].role = "banker".into());
    assert_eq!(
        message,
        format!("identity {}: unknown role \"banker\"", fin_uscc())
    );
    let message = genesis_error(|g| g.organisations[0].admins.clear());
    assert_eq!(message, "organisation bank-a has no administrator");
    let message = genesis_error(|g| g.identities[0].accounts[0].public_key = "zz".into());
    assert!(
        message.starts_with("account fin: public key is not hex"),
        "{message}"
    );
    let message =
        genesis_error(|g| g.identities[0].accounts[0].public_key = hex::encode(weak_key()));
    assert!(
        message.starts_with("account fin: public key")
            && message.ends_with("is a weak (small-order) key"),
        "{message}"
    );
    let message = genesis_error(|g| g.chain_id = "Bad Chain".into());
    assert!(
        message.starts_with("chain_id: account id \"Bad Chain\""),
        "{message}"
    );
    let message = genesis_error(|g| g.organisations.clear());
    assert_eq!(
        message,
        "a consortium needs at least one member organisation"
    );
}

// ---------------------------------------------------------------------------------------------
// Misc rules
// ---------------------------------------------------------------------------------------------

#[test]
fn execute_requires_genesis() {
    let ledger = vchain_ledger::MemoryLedger::new();
    let error = vchain_contracts::execute_block(
        &ledger,
        &vchain_contracts::BlockContext {
            height: 1,
            timestamp_ms: GENESIS_TIME_MS,
        },
        &[],
    )
    .expect_err("no genesis");
    assert!(
        error.to_string().contains("genesis was not applied"),
        "{error}"
    );
}

#[test]
fn a_rejection_after_writes_rolls_the_operation_back() {
    // The split draws a serial for its first child, writes it, then runs out of serials on the
    // second: everything it wrote goes, only the nonce stays spent (checked by `reject`).
    let (mut chain, id) = chain_with_voucher();
    chain.patch_raw(
        keys::VOUCHER_SEQ.to_vec(),
        Some((u64::MAX - 1).to_be_bytes().to_vec()),
    );
    chain.reject(
        SUP1,
        split(&id, &[500_000, 500_000]),
        ErrorCode::ArithmeticOverflow,
        &["voucher serial numbers exhausted"],
    );
    assert_eq!(chain.voucher(&id).status(), VoucherStatus::Active);
    assert!(in_expiry_queue(&chain, &id));
}

#[test]
fn the_nonce_is_spent_by_every_authenticated_transaction() {
    let mut chain = TestChain::new();
    chain.reject(
        SUP1,
        request("V000000000001"),
        ErrorCode::VoucherNotFound,
        &[],
    );
    chain.reject(
        SUP1,
        request("V000000000001"),
        ErrorCode::VoucherNotFound,
        &[],
    );
    assert_eq!(chain.nonce(SUP1), 2);
    // Several transactions of one account in one block, in nonce order.
    let txs = (2..5)
        .map(|n| chain.sign(SUP1, n, request("V000000000001")))
        .collect();
    let outcome = chain.block(txs);
    assert!(outcome
        .results
        .iter()
        .all(|r| r.code() == ErrorCode::VoucherNotFound));
    assert_eq!(chain.nonce(SUP1), 5);
}

#[test]
fn the_identity_and_role_of_new_accounts_follow_their_identity() {
    let mut chain = chain_with_line();
    chain.ok(
        ADMIN_A,
        register_account(
            &core_uscc(),
            "core-ops",
            key(150).verifying_key().as_bytes(),
        ),
    );
    chain.add_key("core-ops", key(150));
    // The new account acts for the core enterprise: it issues on the same line.
    let op = chain.issue_op(SUP1, FACE, 30);
    chain.ok("core-ops", op);
    assert_eq!(chain.line().outstanding, FACE);
    // A new identity registered by an administrator cannot act beyond its role.
    let op = Operation::RegisterIdentity(RegisterIdentity {
        uscc: uscc(62),
        name: "Regulator B".into(),
        role: Role::Regulator.into(),
        legal_representative: String::new(),
        account_id: "reg-b".into(),
        public_key: key(151).verifying_key().to_bytes().to_vec(),
        certificate: Vec::new(),
    });
    chain.ok(ADMIN_B, op);
    chain.add_key("reg-b", key(151));
    chain.reject(
        "reg-b",
        grant(&core_uscc(), "CNY", 1),
        ErrorCode::WrongRole,
        &["account reg-b is ROLE_REGULATOR"],
    );
    chain.ok("reg-b", freeze_voucher("V000000000001"));
}
