//! Who may read what, over real gRPC: reads are signed; a supplier reads its own vouchers and
//! their lineage, never another supplier's; auditors read everything; forged, stale, replayed
//! onto another request and revoked reads are refused; every refusal carries its rule's code in
//! `x-vchain-error-code`; the node answers as `vchain_contracts::visibility` decides, so a
//! reader reads every voucher its trace shows and a voucher's event stream shows it the events
//! its trace does.

use crate::common;

use common::*;
use tokio_stream::StreamExt;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

fn voucher_request(id: &str) -> GetVoucherRequest {
    GetVoucherRequest {
        voucher_id: id.into(),
    }
}

/// A dev chain where gearbox was issued a voucher, split it and passed one piece to castings.
/// Returns the node, the root, castings' piece and gearbox's own piece.
async fn supply_chain() -> (TestNode, String, String, String) {
    let mut node = TestNode::start().await;
    let root = node
        .grant_and_issue(5_000_000, 1_000_000, 30, "INV-READ-1")
        .await;
    let pieces = created_vouchers(&node.ok("gearbox", split(&root, &[600_000, 400_000])).await);
    node.ok("gearbox", transfer(&pieces[0], "castings", None))
        .await;
    (node, root, pieces[0].clone(), pieces[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_reads_its_own_vouchers_and_their_lineage_but_no_one_elses() {
    let (mut node, root, castings_piece, gearbox_piece) = supply_chain().await;

    // Castings reads its piece and the lineage it came from, not gearbox's other piece.
    let request = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    let voucher = node.api.get_voucher(request).await.expect("own voucher");
    assert_eq!(
        voucher.into_inner().voucher.expect("voucher").holder,
        "castings"
    );
    let request = read_as(
        &node,
        "castings",
        TraceVoucherRequest {
            voucher_id: castings_piece.clone(),
            ..Default::default()
        },
        "TraceVoucher",
    );
    let trace = node
        .api
        .trace_voucher(request)
        .await
        .expect("trace")
        .into_inner();
    let ids: Vec<String> = trace
        .vouchers
        .iter()
        .filter_map(|t| t.voucher.as_ref().map(|v| v.id.clone()))
        .collect();
    assert_eq!(
        ids,
        [root.clone(), castings_piece.clone()],
        "lineage, not siblings"
    );
    let request = read_as(
        &node,
        "castings",
        voucher_request(&gearbox_piece),
        "GetVoucher",
    );
    let denied = node
        .api
        .get_voucher(request)
        .await
        .expect_err("not castings'");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("may not read voucher"),
        "{denied:?}"
    );
    assert_eq!(error_code(&denied), "NOT_A_PARTY", "{denied:?}");
    let request = read_as(
        &node,
        "castings",
        TraceVoucherRequest {
            voucher_id: gearbox_piece.clone(),
            ..Default::default()
        },
        "TraceVoucher",
    );
    let denied = node
        .api
        .trace_voucher(request)
        .await
        .expect_err("not castings'");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    // Foundry, a supplier of the other bank with no part in it, reads none of it.
    for id in [&root, &castings_piece, &gearbox_piece] {
        let request = read_as(&node, "foundry", voucher_request(id), "GetVoucher");
        let denied = node
            .api
            .get_voucher(request)
            .await
            .expect_err("not foundry's");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    }
    let list = ListVouchersRequest {
        owner: Some(list_vouchers_request::Owner::Holder("gearbox".into())),
        ..Default::default()
    };
    let denied = node
        .api
        .list_vouchers(read_as(&node, "foundry", list.clone(), "ListVouchers"))
        .await
        .expect_err("not foundry's list");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let own = node
        .api
        .list_vouchers(read_as(&node, "gearbox", list, "ListVouchers"))
        .await
        .expect("own list")
        .into_inner();
    assert!(own.vouchers.iter().any(|v| v.id == gearbox_piece));
    let denied = node
        .api
        .get_account(read_as(
            &node,
            "foundry",
            GetAccountRequest {
                account_id: "gearbox".into(),
            },
            "GetAccount",
        ))
        .await
        .expect_err("not foundry's account");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(error_code(&denied), "NOT_A_PARTY", "{denied:?}");
    let denied = node
        .api
        .get_block(read_as(
            &node,
            "gearbox",
            GetBlockRequest { selector: None },
            "GetBlock",
        ))
        .await
        .expect_err("blocks are for auditors");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(error_code(&denied), "WRONG_ROLE", "{denied:?}");

    // The issuer and the financier read the root; the regulator reads everything.
    for reader in ["carmaker", "bank-a-finance", "regulator"] {
        let request = read_as(&node, reader, voucher_request(&gearbox_piece), "GetVoucher");
        node.api
            .get_voucher(request)
            .await
            .unwrap_or_else(|e| panic!("{reader} reads it: {e:?}"));
    }
    let request = read_as(
        &node,
        "regulator",
        TraceVoucherRequest {
            voucher_id: root.clone(),
            ..Default::default()
        },
        "TraceVoucher",
    );
    let trace = node
        .api
        .trace_voucher(request)
        .await
        .expect("trace")
        .into_inner();
    assert_eq!(
        trace.vouchers.len(),
        3,
        "the auditor sees the whole lineage"
    );
    node.api
        .get_block(read_as(
            &node,
            "regulator",
            GetBlockRequest { selector: None },
            "GetBlock",
        ))
        .await
        .expect("the auditor reads blocks");

    // Foundry's event stream carries nothing of gearbox's and castings' business.
    let request = read_as(
        &node,
        "foundry",
        SubscribeEventsRequest {
            from_height: 1,
            ..Default::default()
        },
        "SubscribeEvents",
    );
    let mut stream = node
        .api
        .subscribe_events(request)
        .await
        .expect("stream")
        .into_inner();
    let next = tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await;
    assert!(next.is_err(), "foundry got an event: {next:?}");
    let request = read_as(
        &node,
        "castings",
        SubscribeEventsRequest {
            from_height: 1,
            ..Default::default()
        },
        "SubscribeEvents",
    );
    let mut stream = node
        .api
        .subscribe_events(request)
        .await
        .expect("stream")
        .into_inner();
    let first = stream.next().await.expect("an event").expect("ok");
    let event = first.event.expect("event");
    assert!(
        event.accounts.iter().any(|a| a == "castings") || event.counterparty == "castings",
        "{event:?}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_forged_stale_replayed_and_revoked_reads_are_refused() {
    let (mut node, _root, castings_piece, _gearbox_piece) = supply_chain().await;
    let unauthenticated = |result: Result<tonic::Response<GetVoucherResponse>, tonic::Status>,
                           fragment: &str,
                           code: &str| {
        let status = result.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().contains(fragment),
            "{fragment}: {status:?}"
        );
        assert_eq!(error_code(&status), code, "{status:?}");
    };

    // Unsigned.
    unauthenticated(
        node.api.get_voucher(voucher_request(&castings_piece)).await,
        "x-vchain-reader is missing",
        "READ_UNSIGNED",
    );
    // Signed, without its time.
    let mut untimed = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    untimed
        .metadata_mut()
        .remove(vchain_contracts::read::READ_TIME_HEADER);
    unauthenticated(
        node.api.get_voucher(untimed).await,
        "x-vchain-read-time-ms is missing",
        "READ_UNSIGNED",
    );
    // A time that is not a number, a signature that is not 64 bytes of hex.
    let mut garbled = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    garbled.metadata_mut().insert(
        vchain_contracts::read::READ_TIME_HEADER,
        "soon".parse().expect("ASCII"),
    );
    unauthenticated(
        node.api.get_voucher(garbled).await,
        "is not an integer",
        "READ_MALFORMED",
    );
    let mut garbled = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    garbled.metadata_mut().insert(
        vchain_contracts::read::READ_SIGNATURE_HEADER,
        "abcd".parse().expect("ASCII"),
    );
    unauthenticated(
        node.api.get_voucher(garbled).await,
        "is not 64 bytes of hex",
        "READ_MALFORMED",
    );
    // Signed by another key than the account's.
    let forged = vchain_wallet::read::request_now(
        voucher_request(&castings_piece),
        &node.genesis.chain_id,
        "GetVoucher",
        "castings",
        &node.key("gearbox"),
    );
    unauthenticated(
        node.api.get_voucher(forged).await,
        "does not verify",
        "BAD_SIGNATURE",
    );
    // Too old.
    let stale = vchain_wallet::read::request(
        voucher_request(&castings_piece),
        &node.genesis.chain_id,
        "GetVoucher",
        "castings",
        &node.key("castings"),
        vchain_wallet::time::now_ms() - 10 * 60 * 1000,
    );
    unauthenticated(node.api.get_voucher(stale).await, "apart", "READ_TIME_SKEW");
    // A signature taken from one request and put on another.
    let signed = read_as(
        &node,
        "castings",
        voucher_request("V000000000001"),
        "GetVoucher",
    );
    let mut replayed = tonic::Request::new(voucher_request(&castings_piece));
    *replayed.metadata_mut() = signed.metadata().clone();
    unauthenticated(
        node.api.get_voucher(replayed).await,
        "does not verify",
        "BAD_SIGNATURE",
    );
    // For another method.
    let signed = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetAccount",
    );
    unauthenticated(
        node.api.get_voucher(signed).await,
        "does not verify",
        "BAD_SIGNATURE",
    );
    // An unknown reader.
    let unknown = vchain_wallet::read::request_now(
        voucher_request(&castings_piece),
        &node.genesis.chain_id,
        "GetVoucher",
        "nobody",
        &node.key("castings"),
    );
    unauthenticated(
        node.api.get_voucher(unknown).await,
        "does not exist",
        "UNKNOWN_ACCOUNT",
    );

    // Castings reads its voucher until bank A revokes its certificate.
    let request = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    node.api.get_voucher(request).await.expect("reads");
    node.revoke_certificate_of("bank-a-admin", "castings").await;
    let request = read_as(
        &node,
        "castings",
        voucher_request(&castings_piece),
        "GetVoucher",
    );
    unauthenticated(
        node.api.get_voucher(request).await,
        "revoked",
        "CERTIFICATE_REVOKED",
    );

    // Status stays public, for health checks. Near the end of the dev certificates' five
    // years, it names expiring account certificates only to who may see them.
    node.advance_days(1800).await;
    let public = node
        .api
        .get_status(GetStatusRequest {})
        .await
        .expect("status needs no signature")
        .into_inner();
    assert!(
        public.certificates_expiring.is_empty(),
        "no account is named to an anonymous caller: {:?}",
        public.certificates_expiring
    );
    let own = node
        .api
        .get_status(read_as(&node, "gearbox", GetStatusRequest {}, "GetStatus"))
        .await
        .expect("signed status")
        .into_inner();
    let subjects: Vec<&str> = own
        .certificates_expiring
        .iter()
        .map(|c| c.subject_id.as_str())
        .collect();
    assert_eq!(subjects, ["gearbox"], "a supplier sees its own");
    let audited = node
        .api
        .get_status(node.audited(GetStatusRequest {}, "GetStatus"))
        .await
        .expect("signed status")
        .into_inner();
    assert!(
        audited.certificates_expiring.len() > 5,
        "the auditor sees every account's: {:?}",
        audited.certificates_expiring
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_signature_is_judged_by_the_chains_one_rule() {
    // The reader's own key signs the read statement with a small-order R (a point of order 8)
    // and s = k·a: valid under the chain's rule (ZIP-215, `vchain_contracts::signature`), as it
    // would be for the same account's transactions; `verify_strict` refused it.
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let mut node = TestNode::start().await;
    let reader = "gearbox";
    let key = node.key(reader);
    let message = GetAccountRequest {
        account_id: reader.into(),
    };
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    let text = vchain_contracts::read::statement(
        &node.genesis.chain_id,
        "GetAccount",
        reader,
        time_ms,
        &vchain_contracts::read::request_digest(&prost::Message::encode_to_vec(&message)),
    );
    let public = key.verifying_key().to_bytes();
    let r_bytes = EIGHT_TORSION[1].compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_bytes)
            .chain_update(public)
            .chain_update(&text)
            .finalize()
            .into(),
    );
    let mut signature = r_bytes.to_vec();
    signature.extend_from_slice(&(k * key.to_scalar()).to_bytes());
    assert!(vchain_contracts::signature::verify(
        &public, &text, &signature
    ));
    let mut request = vchain_wallet::read::request(
        message,
        &node.genesis.chain_id,
        "GetAccount",
        reader,
        &key,
        time_ms,
    );
    request.metadata_mut().insert(
        vchain_contracts::read::READ_SIGNATURE_HEADER,
        hex::encode(&signature).parse().expect("ASCII"),
    );
    let account = node
        .api
        .get_account(request)
        .await
        .expect("the rule accepts it")
        .into_inner();
    assert_eq!(account.account.expect("account").account_id, reader);
    node.stop().await;
}

/// A live event stream of `reader` (from the next block on).
async fn live_stream(
    node: &mut TestNode,
    reader: &str,
) -> Result<tonic::Streaming<EventEnvelope>, tonic::Status> {
    let request = read_as(
        node,
        reader,
        SubscribeEventsRequest::default(),
        "SubscribeEvents",
    );
    node.api
        .subscribe_events(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Reads `stream` until it ends with an error; fails if it does not within ten seconds.
async fn ending(stream: &mut tonic::Streaming<EventEnvelope>) -> tonic::Status {
    let deadline = std::time::Duration::from_secs(10);
    loop {
        match tokio::time::timeout(deadline, stream.next()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(status))) => return status,
            Ok(None) => panic!("the stream ended without a status"),
            Err(_) => panic!("the stream is still open"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_and_an_ended_stream_frees_its_slot() {
    let mut node = TestNode::start_with(|config| config.event_subscriptions_max = 2).await;
    let first = live_stream(&mut node, "regulator").await.expect("first");
    let _second = live_stream(&mut node, "gearbox").await.expect("second");
    let refused = live_stream(&mut node, "castings")
        .await
        .expect_err("a third stream is refused");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("at most 2 event streams"),
        "{refused:?}"
    );
    // The client hangs up: its slot frees without waiting for an event.
    drop(first);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match live_stream(&mut node, "castings").await {
            Ok(_) => break,
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the slot was never freed"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_cancelled_reader_s_running_stream_ends() {
    let (mut node, _root, _castings_piece, _gearbox_piece) = supply_chain().await;
    let mut castings = live_stream(&mut node, "castings").await.expect("castings");
    let mut foundry = live_stream(&mut node, "foundry").await.expect("foundry");
    let mut gearbox = live_stream(&mut node, "gearbox").await.expect("gearbox");

    // Bank A revokes castings' certificate: its stream ends after that block.
    node.revoke_certificate_of("bank-a-admin", "castings").await;
    let status = ending(&mut castings).await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("CERTIFICATE_REVOKED"),
        "{status:?}"
    );
    assert_eq!(error_code(&status), "CERTIFICATE_REVOKED", "{status:?}");

    // Bank B cancels foundry (it holds no voucher): its stream ends too.
    node.ok(
        "bank-b-admin",
        Operation::CancelAccount(CancelAccount {
            account_id: "foundry".into(),
            reason: "left the programme".into(),
        }),
    )
    .await;
    let status = ending(&mut foundry).await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("ACCOUNT_CANCELLED"), "{status:?}");
    assert_eq!(error_code(&status), "ACCOUNT_CANCELLED", "{status:?}");

    // A frozen reader keeps reading what names it (a freeze stops acting, not reading).
    node.ok(
        "bank-a-admin",
        Operation::FreezeAccount(FreezeAccount {
            account_id: "gearbox".into(),
            reason: "court order".into(),
        }),
    )
    .await;
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), gearbox.next())
        .await
        .expect("gearbox hears of its freeze")
        .expect("an item")
        .expect("not an error")
        .event
        .expect("event");
    assert_eq!(event.kind(), EventKind::AccountFrozen, "{event:?}");
    node.stop().await;
}

/// Every event `stream` carries until it has been quiet for a second.
async fn drain(stream: &mut tonic::Streaming<EventEnvelope>) -> Vec<Event> {
    let mut events = Vec::new();
    // Bounded: a stream of a finished chain replays a few dozen events.
    for _ in 0..10_000 {
        match tokio::time::timeout(std::time::Duration::from_secs(1), stream.next()).await {
            Ok(Some(Ok(envelope))) => events.push(envelope.event.expect("event")),
            Ok(Some(Err(status))) => panic!("the stream failed: {status:?}"),
            Ok(None) | Err(_) => return events,
        }
    }
    panic!("the stream never went quiet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_reads_every_voucher_its_trace_shows_and_the_same_events_by_voucher() {
    let (mut node, root, castings_piece, gearbox_piece) = supply_chain().await;

    // Castings traces its piece and sees the root above it: it reads the root too (refused
    // PERMISSION_DENIED before, while the trace showed it).
    let trace = node
        .api
        .trace_voucher(read_as(
            &node,
            "castings",
            TraceVoucherRequest {
                voucher_id: castings_piece.clone(),
                ..Default::default()
            },
            "TraceVoucher",
        ))
        .await
        .expect("its own lineage")
        .into_inner();
    for traced in &trace.vouchers {
        let id = &traced.voucher.as_ref().expect("voucher").id;
        node.api
            .get_voucher(read_as(
                &node,
                "castings",
                voucher_request(id),
                "GetVoucher",
            ))
            .await
            .unwrap_or_else(|e| panic!("castings reads {id}, which its trace shows: {e:?}"));
    }
    assert!(trace
        .vouchers
        .iter()
        .any(|t| t.voucher.as_ref().is_some_and(|v| v.id == root)));

    // The events of the root for castings: those of its trace of the root that concern it.
    let trace = node
        .api
        .trace_voucher(read_as(
            &node,
            "castings",
            TraceVoucherRequest {
                voucher_id: root.clone(),
                ..Default::default()
            },
            "TraceVoucher",
        ))
        .await
        .expect("the lineage above castings' piece")
        .into_inner();
    let mut expected: Vec<Vec<u8>> = trace
        .vouchers
        .iter()
        .flat_map(|t| t.events.iter())
        .filter(|e| vchain_contracts::visibility::event_matches(e, "", &root))
        .map(prost::Message::encode_to_vec)
        .collect();
    expected.sort();
    let mut stream = node
        .api
        .subscribe_events(read_as(
            &node,
            "castings",
            SubscribeEventsRequest {
                from_height: 1,
                voucher_id: root.clone(),
                ..Default::default()
            },
            "SubscribeEvents",
        ))
        .await
        .expect("castings may read the root")
        .into_inner();
    let streamed = drain(&mut stream).await;
    assert!(
        streamed
            .iter()
            .any(|e| e.kind() == EventKind::VoucherIssued && !e.accounts.iter().any(|a| a == "castings")),
        "the root's issue, naming gearbox only, is in castings' trace and so in its stream: {streamed:?}"
    );
    let mut streamed: Vec<Vec<u8>> = streamed.iter().map(prost::Message::encode_to_vec).collect();
    streamed.sort();
    assert_eq!(streamed, expected, "the same events as the trace");

    // Gearbox's other piece stays closed to castings, as a stream as in a trace.
    let denied = node
        .api
        .subscribe_events(read_as(
            &node,
            "castings",
            SubscribeEventsRequest {
                from_height: 1,
                voucher_id: gearbox_piece.clone(),
                ..Default::default()
            },
            "SubscribeEvents",
        ))
        .await
        .expect_err("not castings'");
    assert_eq!(
        (denied.code(), error_code(&denied).as_str()),
        (tonic::Code::PermissionDenied, "NOT_A_PARTY"),
        "{denied:?}"
    );
    // The audit log and state proofs are for auditors: WRONG_ROLE, not NOT_A_PARTY.
    let denied = node
        .api
        .list_audit_log(read_as(
            &node,
            "castings",
            ListAuditLogRequest::default(),
            "ListAuditLog",
        ))
        .await
        .expect_err("auditors only");
    assert_eq!(
        (denied.code(), error_code(&denied).as_str()),
        (tonic::Code::PermissionDenied, "WRONG_ROLE"),
        "{denied:?}"
    );
    node.stop().await;
}

/// Every page of `reader`'s trace of `voucher` with `page_size`: the ids of each page.
async fn trace_pages(
    node: &mut TestNode,
    reader: &str,
    voucher: &str,
    page_size: u32,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = read_as(
            node,
            reader,
            TraceVoucherRequest {
                voucher_id: voucher.into(),
                page_size,
                page_token,
            },
            "TraceVoucher",
        );
        let page = node
            .api
            .trace_voucher(request)
            .await
            .expect("a page")
            .into_inner();
        pages.push(
            page.vouchers
                .iter()
                .filter_map(|t| t.voucher.as_ref().map(|v| v.id.clone()))
                .collect(),
        );
        page_token = page.next_page_token;
        if page_token.is_empty() || pages.len() > 16 {
            return pages;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_is_read_a_page_at_a_time_and_each_reader_pages_its_own_share() {
    let (mut node, root, castings_piece, gearbox_piece) = supply_chain().await;
    // The regulator (reads the whole lineage) and the issuer (whose lineage it is) page it all.
    for reader in ["regulator", "carmaker"] {
        assert_eq!(
            trace_pages(&mut node, reader, &castings_piece, 1).await,
            [
                vec![root.clone()],
                vec![castings_piece.clone()],
                vec![gearbox_piece.clone()]
            ],
            "{reader}"
        );
        assert_eq!(
            trace_pages(&mut node, reader, &root, 0).await,
            [vec![
                root.clone(),
                castings_piece.clone(),
                gearbox_piece.clone()
            ]],
            "{reader}, the default page"
        );
    }
    // Castings pages only its share: the root and its piece, never gearbox's.
    assert_eq!(
        trace_pages(&mut node, "castings", &castings_piece, 1).await,
        [vec![root.clone()], vec![castings_piece.clone()]]
    );
    // A token from another lineage, or none at all, is a bad request, not a refusal.
    let bank = node.uscc_of("bank-a-finance");
    let maturity = node.date_in(30).await;
    let other = created_vouchers(
        &node
            .ok(
                "carmaker",
                issue("gearbox", &bank, 1_000, &maturity, "INV-READ-PAGES"),
            )
            .await,
    )
    .pop()
    .expect("issued");
    for (reader, token) in [("regulator", other.as_str()), ("castings", "V-none")] {
        let request = read_as(
            &node,
            reader,
            TraceVoucherRequest {
                voucher_id: castings_piece.clone(),
                page_size: 1,
                page_token: token.into(),
            },
            "TraceVoucher",
        );
        let refused = node
            .api
            .trace_voucher(request)
            .await
            .expect_err("a foreign token");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        assert!(
            refused
                .message()
                .contains("is not a voucher of the lineage of"),
            "{refused:?}"
        );
    }
    node.stop().await;
}
