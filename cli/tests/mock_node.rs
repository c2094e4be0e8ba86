//! The `vchain` binary against an in-process mock node: keystore, signing, submission, output
//! and exit codes. (End-to-end runs against a real node live in the testnet crate.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_server::{VchainApi, VchainApiServer};
use vchain_proto::v1::*;

const CHAIN: &str = "mock-chain";

#[derive(Default)]
struct State {
    /// account id -> (public key, next nonce)
    accounts: HashMap<String, (Vec<u8>, u64)>,
    bodies: Vec<TransactionBody>,
}

#[derive(Clone, Default)]
struct Mock(Arc<Mutex<State>>);

fn voucher(id: &str, amount: u64) -> Voucher {
    Voucher {
        id: id.into(),
        issuer: "91310000MA1FL0000X".into(),
        holder: "alice-acc".into(),
        amount,
        currency: "CNY".into(),
        maturity_date: "2030-01-31".into(),
        status: VoucherStatus::Active as i32,
        root_id: id.into(),
        ..Default::default()
    }
}

fn event(kind: EventKind, height: u64, voucher_id: &str) -> Event {
    Event {
        kind: kind as i32,
        height,
        tx_hash: vec![0x5a; 32],
        time_ms: 1_704_067_200_000,
        actor: "alice-acc".into(),
        voucher_id: voucher_id.into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl VchainApi for Mock {
    async fn submit_transaction(
        &self,
        request: Request<SubmitTransactionRequest>,
    ) -> Result<Response<SubmitTransactionResponse>, Status> {
        let req = request.into_inner();
        let tx = req
            .transaction
            .ok_or_else(|| Status::invalid_argument("no transaction"))?;
        let body = TransactionBody::decode(tx.body.as_slice())
            .map_err(|_| Status::invalid_argument("malformed"))?;
        let hash = Sha256::digest(&tx.body).to_vec();
        let mut st = self.0.lock().expect("lock");
        if body.chain_id != CHAIN {
            return Err(Status::invalid_argument("wrong chain"));
        }
        let (key, nonce) = st
            .accounts
            .get(&body.signer)
            .cloned()
            .ok_or_else(|| Status::unauthenticated("unknown account"))?;
        let vk = VerifyingKey::from_bytes(&key.try_into().expect("32")).expect("key");
        let sig = Signature::from_slice(&tx.signature)
            .map_err(|_| Status::unauthenticated("bad signature"))?;
        if tx.public_key != vk.as_bytes() || vk.verify(&tx.body, &sig).is_err() {
            return Err(Status::unauthenticated("bad signature"));
        }
        if body.nonce != nonce {
            return Err(Status::failed_precondition(format!(
                "bad nonce: expected {nonce}"
            )));
        }
        if let Some(a) = st.accounts.get_mut(&body.signer) {
            a.1 += 1;
        }
        st.bodies.push(body.clone());
        let height = 10 + st.bodies.len() as u64;
        let events = match &body.operation {
            Some(Operation::SplitVoucher(s)) if s.amounts.iter().sum::<u64>() != 100_000 => {
                let mut status = Status::failed_precondition(
                    "split sum mismatch: children sum to 30, voucher is 100000",
                );
                status.metadata_mut().insert(
                    "x-vchain-tx-hash",
                    hex::encode(&hash).parse().expect("ascii"),
                );
                status.metadata_mut().insert(
                    "x-vchain-height",
                    height.to_string().parse().expect("ascii"),
                );
                return Err(status);
            }
            Some(Operation::IssueVoucher(_)) => {
                vec![event(EventKind::VoucherIssued, height, "V000000000001")]
            }
            Some(Operation::SplitVoucher(_)) => vec![
                event(EventKind::VoucherSplit, height, "V000000000001"),
                event(EventKind::VoucherCreatedBySplit, height, "V000000000002"),
                event(EventKind::VoucherCreatedBySplit, height, "V000000000003"),
            ],
            Some(Operation::RequestRedemption(_)) => {
                // Committed but rejected by the contract, reported in the response.
                return Ok(Response::new(SubmitTransactionResponse {
                    tx_hash: hash.clone(),
                    committed: true,
                    height,
                    result: Some(TxResult {
                        tx_hash: hash,
                        code: ErrorCode::VoucherNotMatured as i32,
                        message: "voucher V000000000001 matures on 2030-01-31".into(),
                        events: vec![],
                    }),
                }));
            }
            _ => vec![],
        };
        Ok(Response::new(SubmitTransactionResponse {
            tx_hash: hash.clone(),
            committed: req.wait_for_commit,
            height: if req.wait_for_commit { height } else { 0 },
            result: req.wait_for_commit.then(|| TxResult {
                tx_hash: hash,
                code: ErrorCode::Ok as i32,
                message: String::new(),
                events,
            }),
        }))
    }

    async fn get_voucher(
        &self,
        request: Request<GetVoucherRequest>,
    ) -> Result<Response<GetVoucherResponse>, Status> {
        let id = request.into_inner().voucher_id;
        if id == "V000000000001" {
            Ok(Response::new(GetVoucherResponse {
                voucher: Some(voucher(&id, 100_000)),
            }))
        } else {
            Err(Status::not_found(format!("voucher {id} not found")))
        }
    }

    async fn list_vouchers(
        &self,
        request: Request<ListVouchersRequest>,
    ) -> Result<Response<ListVouchersResponse>, Status> {
        let req = request.into_inner();
        let all = ["V000000000001", "V000000000002", "V000000000003"];
        let start = all
            .iter()
            .position(|id| *id > req.page_token.as_str())
            .unwrap_or(all.len());
        let size = if req.page_size == 0 {
            100
        } else {
            req.page_size as usize
        };
        let page: Vec<_> = all[start..]
            .iter()
            .take(size)
            .map(|id| voucher(id, 1))
            .collect();
        let next = if start + page.len() < all.len() {
            page.last().map(|v| v.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListVouchersResponse {
            vouchers: page,
            next_page_token: next,
        }))
    }

    async fn trace_voucher(
        &self,
        request: Request<TraceVoucherRequest>,
    ) -> Result<Response<TraceVoucherResponse>, Status> {
        let id = request.into_inner().voucher_id;
        let traced = |v: Voucher, kind, depth| TracedVoucher {
            events: vec![event(kind, 12, &v.id)],
            voucher: Some(v),
            depth,
        };
        Ok(Response::new(TraceVoucherResponse {
            voucher_id: id,
            root_id: "V000000000001".into(),
            height: 12,
            vouchers: vec![
                traced(
                    voucher("V000000000001", 100_000),
                    EventKind::VoucherIssued,
                    0,
                ),
                traced(
                    voucher("V000000000002", 60_000),
                    EventKind::VoucherCreatedBySplit,
                    1,
                ),
                traced(
                    voucher("V000000000003", 40_000),
                    EventKind::VoucherCreatedBySplit,
                    1,
                ),
            ],
        }))
    }

    async fn get_account(
        &self,
        request: Request<GetAccountRequest>,
    ) -> Result<Response<GetAccountResponse>, Status> {
        let id = request.into_inner().account_id;
        let st = self.0.lock().expect("lock");
        let (key, nonce) = st
            .accounts
            .get(&id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("account {id} not found")))?;
        Ok(Response::new(GetAccountResponse {
            account: Some(Account {
                account_id: id,
                public_key: key,
                next_nonce: nonce,
                status: AccountStatus::Active as i32,
                ..Default::default()
            }),
        }))
    }

    async fn get_identity(
        &self,
        _: Request<GetIdentityRequest>,
    ) -> Result<Response<GetIdentityResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn get_credit_line(
        &self,
        _: Request<GetCreditLineRequest>,
    ) -> Result<Response<GetCreditLineResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn get_block(
        &self,
        _: Request<GetBlockRequest>,
    ) -> Result<Response<GetBlockResponse>, Status> {
        Err(Status::unavailable("mock node is syncing"))
    }

    async fn get_transaction(
        &self,
        _: Request<GetTransactionRequest>,
    ) -> Result<Response<GetTransactionResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn get_status(
        &self,
        _: Request<GetStatusRequest>,
    ) -> Result<Response<GetStatusResponse>, Status> {
        Ok(Response::new(GetStatusResponse {
            chain_id: CHAIN.into(),
            height: 10,
            ..Default::default()
        }))
    }

    async fn get_state_proof(
        &self,
        _: Request<GetStateProofRequest>,
    ) -> Result<Response<GetStateProofResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    type SubscribeEventsStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<EventEnvelope, Status>> + Send>>;

    async fn subscribe_events(
        &self,
        _: Request<SubscribeEventsRequest>,
    ) -> Result<Response<Self::SubscribeEventsStream>, Status> {
        // Five events, then silence (the CLI must stop by --limit or --timeout-secs).
        let events = (1..=5).map(|h| {
            Ok(EventEnvelope {
                event: Some(event(EventKind::VoucherTransferred, h, "V000000000001")),
            })
        });
        let stream = tokio_stream::iter(events).chain(tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

async fn start_mock(mock: Mock) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(VchainApiServer::new(mock))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("serve");
    });
    addr
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn vchain(endpoint: &str, keystore: &Path, passphrase: &str, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_vchain"))
        .args(args)
        .env("VCHAIN_ENDPOINT", endpoint)
        .env("VCHAIN_KEYSTORE", keystore)
        .env("VCHAIN_PASSPHRASE", passphrase)
        .env_remove("VCHAIN_PASSPHRASE_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("run vchain");
    Run {
        code: status.code().expect("exit code"),
        stdout: String::from_utf8(stdout).expect("utf8"),
        stderr: String::from_utf8(stderr).expect("utf8"),
    }
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", run.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_against_mock_node() {
    let mock = Mock::default();
    let addr = start_mock(mock.clone()).await;
    let endpoint = format!("http://{addr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = dir.path().join("keystore.json");
    let run = |args: &[&str]| vchain(&endpoint, &ks, "pw", args);

    // Keys.
    let r = run(&["--json", "key", "new", "alice", "--account", "alice-acc"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let public = json(&r)["public_key"]
        .as_str()
        .expect("public key")
        .to_owned();
    assert_eq!(public.len(), 64);
    let r = run(&["key", "new", "alice"]);
    assert_eq!(r.code, 6, "duplicate name: {}", r.stderr);
    let r = run(&["key", "new", "loose"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["key", "list"]);
    assert!(
        r.stdout.contains(&format!("alice  alice-acc  {public}")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("loose  -  "), "{}", r.stdout);
    mock.0
        .lock()
        .expect("lock")
        .accounts
        .insert("alice-acc".into(), (hex::decode(&public).expect("hex"), 0));

    // Issue: signed, nonce 0, trade document hashed from the file; the new id is printed.
    let doc = dir.path().join("invoice.pdf");
    std::fs::write(&doc, b"invoice 42").expect("write");
    let doc_arg = doc.to_str().expect("utf8 path");
    let r = run(&[
        "--json",
        "voucher",
        "issue",
        "--as",
        "alice",
        "--holder",
        "bob-acc",
        "--financier",
        "F",
        "--amount",
        "100000",
        "--maturity",
        "2030-01-31",
        "--doc-kind",
        "invoice",
        "--doc-number",
        "INV-42",
        "--doc-file",
        doc_arg,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json(&r);
    assert_eq!(out["committed"], true);
    assert_eq!(out["result"]["code"], "OK");
    assert_eq!(out["result"]["events"][0]["voucher_id"], "V000000000001");
    {
        let st = mock.0.lock().expect("lock");
        let body = &st.bodies[0];
        assert_eq!(
            (body.signer.as_str(), body.nonce, body.chain_id.as_str()),
            ("alice-acc", 0, CHAIN)
        );
        let Some(Operation::IssueVoucher(op)) = &body.operation else {
            panic!("not an issue")
        };
        assert_eq!(
            op.trade_document.as_ref().expect("doc").hash,
            Sha256::digest(b"invoice 42").to_vec()
        );
        assert_eq!(op.amount, 100_000);
    }

    // Split: human output shows the new vouchers; nonce advanced.
    let r = run(&[
        "voucher",
        "split",
        "--as",
        "alice",
        "V000000000001",
        "--amounts",
        "60000,40000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("result: OK"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("VOUCHER_CREATED_BY_SPLIT actor=alice-acc voucher=V000000000003"),
        "{}",
        r.stdout
    );
    assert_eq!(mock.0.lock().expect("lock").bodies[1].nonce, 1);

    // Rejected by a rule: exit 3, message and tx hash metadata on stderr, JSON error on stdout.
    let r = run(&[
        "--json",
        "voucher",
        "split",
        "--as",
        "alice",
        "V000000000001",
        "--amounts",
        "10,20",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: submitting split_voucher transaction "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("split sum mismatch"), "{}", r.stderr);
    assert!(
        r.stderr.contains("gRPC FailedPrecondition, tx "),
        "{}",
        r.stderr
    );
    let err = json(&r);
    assert_eq!(err["error"]["exit_code"], 3);
    assert_eq!(err["error"]["height"], "13");

    // Committed with a failing result code: exit 3.
    let r = run(&["voucher", "redeem", "--as", "alice", "V000000000001"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("VOUCHER_NOT_MATURED: voucher V000000000001 matures on 2030-01-31"),
        "{}",
        r.stderr
    );

    // --no-wait.
    let h = "ab".repeat(32);
    let r = run(&[
        "voucher",
        "transfer",
        "--as",
        "alice",
        "V000000000001",
        "--to",
        "bank",
        "--agreement-hash",
        &h,
        "--no-wait",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("not waiting for commit"), "{}", r.stdout);

    // Consideration currency defaults to the voucher's.
    let r = run(&[
        "voucher",
        "transfer",
        "--as",
        "alice",
        "V000000000001",
        "--to",
        "bank",
        "--agreement-hash",
        &h,
        "--consideration",
        "95000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    {
        let st = mock.0.lock().expect("lock");
        let Some(Operation::TransferVoucher(op)) = &st.bodies.last().expect("body").operation
        else {
            panic!("not a transfer")
        };
        let c = op.consideration.as_ref().expect("consideration");
        assert_eq!((c.amount, c.currency.as_str()), (95_000, "CNY"));
    }

    // Keystore failures: exit 6.
    let r = vchain(
        &endpoint,
        &ks,
        "wrong",
        &["voucher", "redeem", "--as", "alice", "V000000000001"],
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    let r = run(&["voucher", "redeem", "--as", "loose", "V000000000001"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("has no account"), "{}", r.stderr);
    let r = run(&["voucher", "redeem", "--as", "nobody", "V000000000001"]);
    assert_eq!(r.code, 6, "{}", r.stderr);

    // Reads.
    let r = run(&["--json", "voucher", "get", "V000000000001"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json(&r)["voucher"]["status"],
        VoucherStatus::Active.as_str_name()
    );
    let r = run(&["voucher", "get", "V000000000009"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("voucher V000000000009 not found"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "--json",
        "voucher",
        "list",
        "--holder",
        "alice-acc",
        "--page-size",
        "2",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["vouchers"].as_array().expect("array").len(), 3);
    let r = run(&["voucher", "trace", "V000000000002"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[1], "V000000000001 100000 CNY holder=alice-acc ACTIVE");
    assert!(
        lines[3].starts_with("├── V000000000002 60000 CNY"),
        "{}",
        r.stdout
    );
    assert!(
        lines[5].starts_with("└── V000000000003 40000 CNY"),
        "{}",
        r.stdout
    );
    let r = run(&["block", "get"]);
    assert_eq!(r.code, 5, "{}", r.stderr);

    // Events stop by limit or timeout.
    let r = run(&["events", "--limit", "3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    let r = run(&["--json", "events", "--timeout-secs", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json(&r);
    assert_eq!(
        (out["count"].as_u64(), out["stopped"].as_str()),
        (Some(5), Some("timeout"))
    );

    // Usage errors: 2. Unreachable node: 5.
    assert_eq!(
        run(&[
            "voucher",
            "split",
            "--as",
            "alice",
            "V1",
            "--amounts",
            "1.5"
        ])
        .code,
        2
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let r = vchain(&dead, &ks, "pw", &["status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: connecting to http://127.0.0.1:"),
        "{}",
        r.stderr
    );
}
