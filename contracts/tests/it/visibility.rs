//! Who may read what, decided over a chain built by the real contracts: one test per rule and
//! role, the signed read's authentication with a code for every refusal, and the consistency of
//! the rule: whoever may trace a lineage reads every voucher its trace shows, the trace shows
//! every voucher of the lineage the reader may read and no other, and an event stream for a
//! voucher shows a reader exactly the events of that voucher its trace shows.

use crate::common;

use std::collections::BTreeSet;

use common::ops::*;
use common::*;
use prost::Message;
use vchain_contracts::read::{
    self, ReadClocks, ReadError, ReadHeaders, ReadRefusal, Reader, RefusalKind,
};
use vchain_contracts::trace::trace;
use vchain_contracts::visibility::{event_matches, may_read, visible_trace, EventView, Record};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{CancelAccount, DeviceKind, ErrorCode, Event, EventKind, RegisterDevice};

/// The chain of the tests: CORE issued `root` to SUP1 on the financier's line; SUP1 split it
/// into `a` and `b` and passed `a` to SUP2; SUP2 split `a` into `a1` and `a2` and passed `a1`
/// to SUP3. The warehouse issued SUP1 receipt `receipt`, watched by device `gate-1`.
struct Lineage {
    chain: TestChain,
    root: String,
    a: String,
    b: String,
    a1: String,
    a2: String,
    receipt: String,
}

fn lineage() -> Lineage {
    let mut chain = TestChain::new();
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 1_000_000, 60);
    let [a, b]: [String; 2] = chain
        .split(SUP1, &root, &[600_000, 400_000])
        .try_into()
        .expect("two pieces");
    chain.ok(SUP1, transfer(&a, SUP2));
    let [a1, a2]: [String; 2] = chain
        .split(SUP2, &a, &[200_000, 400_000])
        .try_into()
        .expect("two pieces");
    chain.ok(SUP2, transfer(&a1, SUP3));
    let events = chain.ok(
        WAREHOUSE,
        Operation::IssueWarehouseReceipt(vchain_proto::v1::IssueWarehouseReceipt {
            holder: SUP1.into(),
            sku: "copper cathode".into(),
            quantity: 100,
            unit_value: 1_000,
            currency: "CNY".into(),
            location: "Bonded warehouse 2".into(),
            description: String::new(),
        }),
    );
    let receipt = events[0].receipt_id.clone();
    chain.ok(
        WAREHOUSE,
        Operation::RegisterDevice(RegisterDevice {
            device_id: "gate-1".into(),
            public_key: ed25519_dalek::SigningKey::from_bytes(&[201; 32])
                .verifying_key()
                .to_bytes()
                .to_vec(),
            kind: DeviceKind::Gate.into(),
            receipt_id: receipt.clone(),
            ..RegisterDevice::default()
        }),
    );
    Lineage {
        chain,
        root,
        a,
        b,
        a1,
        a2,
        receipt,
    }
}

impl Lineage {
    fn vouchers(&self) -> [&str; 5] {
        [&self.root, &self.a, &self.b, &self.a1, &self.a2]
    }
}

/// Every genesis account but the second administrator.
const READERS: [&str; 9] = [
    ADMIN_A, FINANCIER, CORE, CORE_2, SUP1, SUP2, SUP3, REGULATOR, WAREHOUSE,
];

/// `account` as an authenticated reader at the chain's time.
fn reader(chain: &TestChain, account: &str) -> Reader {
    read::standing(&chain.ledger, chain.account(account), chain.time_ms).expect("in standing")
}

fn allowed(chain: &TestChain, account: &str, record: &Record<'_>) -> bool {
    match may_read(&chain.ledger, &reader(chain, account), record) {
        Ok(()) => true,
        Err(ReadError::Refused(refusal)) => {
            assert_eq!(refusal.kind, RefusalKind::Denied, "{refusal:?}");
            false
        }
        Err(ReadError::State(error)) => panic!("state: {error}"),
    }
}

/// The refusal of `record` to `account`, asserting it is one.
fn refusal(chain: &TestChain, account: &str, record: &Record<'_>) -> ReadRefusal {
    match may_read(&chain.ledger, &reader(chain, account), record) {
        Err(ReadError::Refused(refusal)) => refusal,
        other => panic!("{account} was not refused: {other:?}"),
    }
}

/// Which of `accounts` may read `record`.
fn who_reads(chain: &TestChain, record: &Record<'_>) -> Vec<&'static str> {
    READERS
        .into_iter()
        .filter(|account| allowed(chain, account, record))
        .collect()
}

fn ids(trace: &vchain_proto::v1::TraceVoucherResponse) -> BTreeSet<String> {
    trace
        .vouchers
        .iter()
        .filter_map(|t| t.voucher.as_ref().map(|v| v.id.clone()))
        .collect()
}

/// The trace of `voucher` as `account` sees it, or its refusal.
fn traced(
    chain: &TestChain,
    account: &str,
    voucher: &str,
) -> Result<vchain_proto::v1::TraceVoucherResponse, ReadRefusal> {
    let whole = trace(&chain.ledger, voucher)
        .expect("reads")
        .expect("exists");
    visible_trace(&reader(chain, account), whole)
}

/// Every event the chain committed, in order.
fn all_events(chain: &TestChain) -> Vec<Event> {
    chain
        .history
        .iter()
        .flat_map(|block| {
            block
                .outcome
                .system_events
                .iter()
                .chain(block.outcome.results.iter().flat_map(|r| r.events.iter()))
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Events as comparable bytes.
fn encoded<'a>(events: impl IntoIterator<Item = &'a Event>) -> BTreeSet<Vec<u8>> {
    events.into_iter().map(Message::encode_to_vec).collect()
}

#[test]
fn a_voucher_is_read_by_its_parties_and_by_the_parties_of_its_pieces() {
    let l = lineage();
    let chain = &l.chain;
    let voucher = |id: &str| chain.voucher(id);
    let auditors = [ADMIN_A, REGULATOR];
    let everyone_on_it = |also: &[&'static str]| {
        let mut readers: Vec<&str> = vec![ADMIN_A, FINANCIER, CORE, CORE_2];
        readers.extend_from_slice(also);
        readers.push(REGULATOR);
        readers.sort_by_key(|r| READERS.iter().position(|x| x == r));
        readers
    };
    // The issuer (both its accounts), the financier and the auditors read every piece; a
    // supplier reads what it holds or held and everything above it.
    assert_eq!(
        who_reads(chain, &Record::Voucher(&voucher(&l.root))),
        everyone_on_it(&[SUP1, SUP2, SUP3])
    );
    assert_eq!(
        who_reads(chain, &Record::Voucher(&voucher(&l.a))),
        everyone_on_it(&[SUP1, SUP2, SUP3])
    );
    assert_eq!(
        who_reads(chain, &Record::Voucher(&voucher(&l.b))),
        everyone_on_it(&[SUP1])
    );
    assert_eq!(
        who_reads(chain, &Record::Voucher(&voucher(&l.a1))),
        everyone_on_it(&[SUP2, SUP3])
    );
    assert_eq!(
        who_reads(chain, &Record::Voucher(&voucher(&l.a2))),
        everyone_on_it(&[SUP2])
    );
    // Before, SUP3 could trace a1 and see root and a in it, yet reading either was refused.
    assert!(allowed(chain, SUP3, &Record::Voucher(&voucher(&l.root))));
    // A sibling's piece stays closed.
    let refused = refusal(chain, SUP3, &Record::Voucher(&voucher(&l.a2)));
    assert_eq!(refused.code, ErrorCode::NotAParty, "{refused:?}");
    assert!(
        refused
            .message
            .contains(&format!("may not read voucher {}", l.a2)),
        "{refused:?}"
    );
    for auditor in auditors {
        assert!(allowed(chain, auditor, &Record::Voucher(&voucher(&l.a2))));
    }
    assert!(!allowed(
        chain,
        WAREHOUSE,
        &Record::Voucher(&voucher(&l.root))
    ));
}

#[test]
fn whoever_may_trace_a_lineage_reads_exactly_the_vouchers_its_trace_shows() {
    let l = lineage();
    let chain = &l.chain;
    let lineage: BTreeSet<String> = l.vouchers().iter().map(|v| (*v).to_owned()).collect();
    for account in READERS {
        let readable: BTreeSet<String> = lineage
            .iter()
            .filter(|id| allowed(chain, account, &Record::Voucher(&chain.voucher(id))))
            .cloned()
            .collect();
        for id in &lineage {
            match traced(chain, account, id) {
                Ok(shown) => {
                    assert!(
                        readable.contains(id),
                        "{account} traces {id} it may not read"
                    );
                    // No more than it may read, and every one of those.
                    assert_eq!(ids(&shown), readable, "{account} tracing {id}");
                }
                Err(refusal) => {
                    assert!(
                        !readable.contains(id),
                        "{account} reads {id} but may not trace it"
                    );
                    assert_eq!(refusal.code, ErrorCode::NotAParty);
                }
            }
        }
    }
    // The lineage above SUP3's piece, not its siblings.
    let shown = traced(chain, SUP3, &l.a1).expect("SUP3's piece");
    assert_eq!(
        ids(&shown),
        BTreeSet::from([l.root.clone(), l.a.clone(), l.a1.clone()])
    );
}

#[test]
fn events_by_voucher_show_a_reader_the_events_its_trace_shows() {
    let mut l = lineage();
    // A freeze and an unfreeze by the regulator in a history too: events naming no supplier.
    l.chain.ok(REGULATOR, freeze_voucher(&l.a2));
    l.chain.ok(REGULATOR, unfreeze_voucher(&l.a2));
    let chain = &l.chain;
    let events = all_events(chain);
    for account in READERS {
        let reader = reader(chain, account);
        for id in l.vouchers() {
            let mut view = EventView::new("", id);
            let streamed = encoded(
                events
                    .iter()
                    .filter(|e| view.shows(&chain.ledger, &reader, e).expect("reads")),
            );
            let expected = match traced(chain, account, id) {
                Ok(shown) => encoded(
                    shown
                        .vouchers
                        .iter()
                        .flat_map(|t| t.events.iter())
                        .filter(|e| event_matches(e, "", id)),
                ),
                Err(_) => BTreeSet::new(),
            };
            assert_eq!(streamed, expected, "{account}, events of {id}");
        }
    }
    // What would have failed before: SUP3 sees the issue of the root it traces, which names
    // neither of its accounts.
    let reader = reader(chain, SUP3);
    let issued = events
        .iter()
        .find(|e| e.kind() == EventKind::VoucherIssued && e.voucher_id == l.root)
        .expect("issued");
    assert!(!reader.named_in(issued));
    assert!(EventView::new("", &l.root)
        .shows(&chain.ledger, &reader, issued)
        .expect("reads"));
    // Its unfiltered stream follows its own accounts only.
    assert!(!EventView::new("", "")
        .shows(&chain.ledger, &reader, issued)
        .expect("reads"));
}

#[test]
fn an_event_is_read_by_who_may_read_the_record_whose_history_holds_it() {
    let l = lineage();
    let chain = &l.chain;
    let events = all_events(chain);
    let find = |kind: EventKind| {
        events
            .iter()
            .find(|e| e.kind() == kind)
            .unwrap_or_else(|| panic!("a {kind:?} event"))
            .clone()
    };
    // A voucher's event: by the voucher's rule.
    let issued = find(EventKind::VoucherIssued);
    assert_eq!(
        who_reads(chain, &Record::Event(&issued)),
        who_reads(chain, &Record::Voucher(&chain.voucher(&l.root)))
    );
    // A credit line's event: the financier (acting) and the core enterprise (both accounts).
    let granted = find(EventKind::CreditLineGranted);
    assert_eq!(
        who_reads(chain, &Record::Event(&granted)),
        [ADMIN_A, FINANCIER, CORE, CORE_2, REGULATOR]
    );
    // A receipt's event: its holder and operator.
    let receipt_issued = find(EventKind::ReceiptIssued);
    assert_eq!(
        who_reads(chain, &Record::Event(&receipt_issued)),
        [ADMIN_A, SUP1, REGULATOR, WAREHOUSE]
    );
    // A proposal's event: everyone.
    let proposed = Event {
        kind: EventKind::ProposalSubmitted.into(),
        proposal_id: "P000000000001".into(),
        actor: ADMIN_B.into(),
        ..Event::default()
    };
    assert_eq!(who_reads(chain, &Record::Event(&proposed)), READERS);
    // An account change: the accounts it names and the identity it concerns.
    let frozen = Event {
        kind: EventKind::AccountFrozen.into(),
        actor: ADMIN_A.into(),
        accounts: vec![CORE_2.into()],
        ..Event::default()
    };
    assert_eq!(
        who_reads(chain, &Record::Event(&frozen)),
        [ADMIN_A, CORE, CORE_2, REGULATOR]
    );
    let registered = Event {
        kind: EventKind::IdentityRegistered.into(),
        actor: ADMIN_B.into(),
        uscc: sup_uscc(2),
        ..Event::default()
    };
    assert_eq!(
        who_reads(chain, &Record::Event(&registered)),
        [ADMIN_A, SUP2, REGULATOR]
    );
    let refused = refusal(chain, SUP1, &Record::Event(&registered));
    assert_eq!(refused.code, ErrorCode::NotAParty);
}

#[test]
fn accounts_identities_credit_lines_and_lists_are_the_identitys_own() {
    let l = lineage();
    let chain = &l.chain;
    // Accounts: the identity's own (the core enterprise has two), and the auditors.
    assert_eq!(
        who_reads(chain, &Record::Account(CORE_2)),
        [ADMIN_A, CORE, CORE_2, REGULATOR]
    );
    let refused = refusal(chain, SUP1, &Record::Account(SUP2));
    assert_eq!(refused.code, ErrorCode::NotAParty);
    assert!(
        refused.message.contains("may not read account sup-2"),
        "{refused:?}"
    );
    // Identities.
    assert_eq!(
        who_reads(chain, &Record::Identity(&core_uscc())),
        [ADMIN_A, CORE, CORE_2, REGULATOR]
    );
    // Credit lines: the financier and the core enterprise.
    let fin = fin_uscc();
    let core = core_uscc();
    let line = Record::CreditLine {
        financier: &fin,
        core_enterprise: &core,
    };
    assert_eq!(
        who_reads(chain, &line),
        [ADMIN_A, FINANCIER, CORE, CORE_2, REGULATOR]
    );
    // Lists: an account's holdings to its identity, an issuer's vouchers to the issuer.
    assert_eq!(
        who_reads(chain, &Record::VouchersHeldBy(SUP2)),
        [ADMIN_A, SUP2, REGULATOR]
    );
    assert_eq!(
        who_reads(chain, &Record::VouchersIssuedBy(&core)),
        [ADMIN_A, CORE, CORE_2, REGULATOR]
    );
}

#[test]
fn a_transaction_is_read_by_its_signer_and_the_accounts_its_events_name() {
    let l = lineage();
    let chain = &l.chain;
    // The transfer of a1 from SUP2 to SUP3.
    let block = chain
        .history
        .iter()
        .find(|b| {
            b.outcome.results.iter().any(|r| {
                r.events
                    .iter()
                    .any(|e| e.kind() == EventKind::VoucherTransferred && e.voucher_id == l.a1)
            })
        })
        .expect("the transfer");
    let events = &block.outcome.results[0].events;
    let record = Record::Transaction {
        hash: "transfer",
        signer: SUP2,
        events,
    };
    assert_eq!(who_reads(chain, &record), [ADMIN_A, SUP2, SUP3, REGULATOR]);
    // The issuer reads the voucher and the event, not the body: it did not sign it and no
    // event names it.
    let refused = refusal(chain, CORE, &record);
    assert_eq!(refused.code, ErrorCode::NotAParty);
    assert!(allowed(chain, CORE, &Record::Event(&events[0])));
}

#[test]
fn receipts_and_their_devices_are_read_by_the_parties_to_the_lot() {
    let l = lineage();
    let chain = &l.chain;
    let receipt: vchain_proto::v1::WarehouseReceipt = chain
        .try_get(&vchain_contracts::keys::receipt(&l.receipt))
        .expect("receipt");
    let device: vchain_proto::v1::Device = chain
        .try_get(&vchain_contracts::keys::device("gate-1"))
        .expect("device");
    let parties = [ADMIN_A, SUP1, REGULATOR, WAREHOUSE];
    assert_eq!(who_reads(chain, &Record::Receipt(&receipt)), parties);
    assert_eq!(who_reads(chain, &Record::Device(&device)), parties);
    assert_eq!(
        refusal(chain, SUP2, &Record::Device(&device)).code,
        ErrorCode::NotAParty
    );
}

#[test]
fn notices_and_proposals_are_public_and_whole_chain_records_are_for_auditors() {
    let l = lineage();
    let chain = &l.chain;
    for record in [Record::PledgeNotice, Record::Proposal] {
        assert_eq!(who_reads(chain, &record), READERS, "{record:?}");
    }
    for (record, what) in [
        (Record::Block, "whole blocks"),
        (Record::StateProof, "state proofs"),
        (Record::AuditLog, "the audit log"),
    ] {
        assert_eq!(
            who_reads(chain, &record),
            [ADMIN_A, REGULATOR],
            "{record:?}"
        );
        for account in [FINANCIER, CORE, SUP1, WAREHOUSE] {
            let refused = refusal(chain, account, &record);
            assert_eq!(refused.code, ErrorCode::WrongRole, "{record:?}");
            assert!(refused.message.contains(what), "{refused:?}");
        }
    }
}

/// The headers of a read of `request_bytes` by `method` signed by `signer`'s key as `reader`.
struct SignedRead {
    reader: String,
    time_ms: String,
    signature: String,
}

impl SignedRead {
    fn new(chain: &TestChain, reader: &str, signer: &str, time_ms: u64) -> Self {
        Self {
            reader: reader.into(),
            time_ms: time_ms.to_string(),
            signature: vchain_wallet::read::signature(
                CHAIN_ID,
                "GetVoucher",
                reader,
                time_ms,
                b"request",
                chain.key_of(signer),
            ),
        }
    }

    fn headers(&self) -> ReadHeaders<'_> {
        ReadHeaders {
            reader: &self.reader,
            time_ms: &self.time_ms,
            signature: &self.signature,
        }
    }
}

/// Authenticates `read` at wall clock `wall_ms` and the chain's time: the reader's account id,
/// or the refusal's kind and code.
fn authenticate(
    chain: &TestChain,
    read: &SignedRead,
    wall_ms: u64,
) -> Result<String, (RefusalKind, ErrorCode)> {
    read::authenticate(
        &chain.ledger,
        CHAIN_ID,
        "GetVoucher",
        &read::request_digest(b"request"),
        read.headers(),
        ReadClocks {
            wall_ms,
            chain_ms: chain.time_ms,
        },
    )
    .map(|reader| reader.account.account_id)
    .map_err(|error| match error {
        ReadError::Refused(refusal) => (refusal.kind, refusal.code),
        ReadError::State(error) => panic!("state: {error}"),
    })
}

#[test]
fn every_refused_read_says_why_with_its_own_code() {
    let mut chain = TestChain::new();
    let now = GENESIS_TIME_MS;
    let unauthenticated = |code| Err((RefusalKind::Unauthenticated, code));
    let good = SignedRead::new(&chain, SUP1, SUP1, now);
    assert_eq!(authenticate(&chain, &good, now), Ok(SUP1.to_owned()));
    // The time, against the node's wall clock.
    let stale = SignedRead::new(&chain, SUP1, SUP1, now - read::READ_TIME_SKEW_MS_MAX - 1);
    assert_eq!(
        authenticate(&chain, &stale, now),
        unauthenticated(ErrorCode::ReadTimeSkew)
    );
    let mut malformed = SignedRead::new(&chain, SUP1, SUP1, now);
    malformed.time_ms = "soon".into();
    assert_eq!(
        authenticate(&chain, &malformed, now),
        unauthenticated(ErrorCode::ReadMalformed)
    );
    let mut malformed = SignedRead::new(&chain, SUP1, SUP1, now);
    malformed.signature.truncate(100);
    assert_eq!(
        authenticate(&chain, &malformed, now),
        unauthenticated(ErrorCode::ReadMalformed)
    );
    // Who, and the signature.
    let unknown = SignedRead::new(&chain, "nobody", SUP1, now);
    assert_eq!(
        authenticate(&chain, &unknown, now),
        unauthenticated(ErrorCode::UnknownAccount)
    );
    let forged = SignedRead::new(&chain, SUP1, SUP2, now);
    assert_eq!(
        authenticate(&chain, &forged, now),
        unauthenticated(ErrorCode::BadSignature)
    );
    // The reader's standing: a cancelled account reads nothing; a revoked, expired or not yet
    // valid certificate neither (written into state: the certified paths are tested end to end
    // in the node's tests).
    let warehouse = SignedRead::new(&chain, WAREHOUSE, WAREHOUSE, now);
    assert_eq!(
        authenticate(&chain, &warehouse, now),
        Ok(WAREHOUSE.to_owned())
    );
    chain.ok(
        ADMIN_A,
        Operation::CancelAccount(CancelAccount {
            account_id: WAREHOUSE.into(),
            reason: "left".into(),
        }),
    );
    assert_eq!(
        authenticate(&chain, &warehouse, now),
        unauthenticated(ErrorCode::AccountCancelled)
    );
    let certified =
        |chain: &mut TestChain, revoked: bool, not_before_ms: u64, not_after_ms: u64| {
            let mut account = chain.account(SUP2);
            account.certificate_serial = vec![1];
            account.certificate_revoked = revoked;
            account.certificate_not_before_ms = not_before_ms;
            account.certificate_not_after_ms = not_after_ms;
            chain.patch(vchain_contracts::keys::account(SUP2), &account);
        };
    let sup2 = SignedRead::new(&chain, SUP2, SUP2, now);
    let time = chain.time_ms;
    certified(&mut chain, false, time - 1, time + 1);
    assert_eq!(authenticate(&chain, &sup2, now), Ok(SUP2.to_owned()));
    certified(&mut chain, true, time - 1, time + 1);
    assert_eq!(
        authenticate(&chain, &sup2, now),
        unauthenticated(ErrorCode::CertificateRevoked)
    );
    certified(&mut chain, false, time - 2, time - 1);
    assert_eq!(
        authenticate(&chain, &sup2, now),
        unauthenticated(ErrorCode::CertificateExpired)
    );
    certified(&mut chain, false, time + 1, time + 2);
    assert_eq!(
        authenticate(&chain, &sup2, now),
        unauthenticated(ErrorCode::CertificateNotYetValid)
    );
    // The transport's own refusals, for missing or non-ASCII headers.
    assert_eq!(
        ReadRefusal::unsigned(read::READER_HEADER).code,
        ErrorCode::ReadUnsigned
    );
    assert_eq!(
        ReadRefusal::malformed(read::READ_SIGNATURE_HEADER, "is not ASCII").code,
        ErrorCode::ReadMalformed
    );
}

#[test]
fn a_stream_ends_when_its_readers_key_changes() {
    let mut chain = TestChain::new();
    let before = reader(&chain, SUP1);
    let again = read::recheck(&chain.ledger, &before, chain.time_ms).expect("unchanged");
    assert_eq!(again, before);
    let mut account = chain.account(SUP1);
    account.public_key = chain.key_of(SUP2).verifying_key().to_bytes().to_vec();
    chain.patch(vchain_contracts::keys::account(SUP1), &account);
    match read::recheck(&chain.ledger, &before, chain.time_ms) {
        Err(ReadError::Refused(refusal)) => {
            assert_eq!(
                (refusal.kind, refusal.code),
                (RefusalKind::Unauthenticated, ErrorCode::KeyMismatch)
            );
        }
        other => panic!("not refused: {other:?}"),
    }
}
