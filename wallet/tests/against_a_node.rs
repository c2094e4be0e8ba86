//! The wallet library against a real dev node over gRPC: what a Rust wallet developer relies on.
//! A supplier lists, splits, transfers and traces its vouchers and follows its events; refusals
//! come back with their rule codes; the wallet recovers its nonce after another wallet of the
//! same account sent transactions.

use std::net::SocketAddr;
use std::time::Duration;

use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    ErrorCode, EventKind, GrantCreditLine, IssueVoucher, SplitVoucher, TradeDocument,
    TransferVoucher,
};
use vchain_wallet::{Client, Keystore, Signer, Wallet, WalletError};

const DAY_MS: u64 = 86_400_000;

struct DevNode {
    node: vchain_node::NodeHandle,
    dir: tempfile::TempDir,
}

impl DevNode {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = vchain_node::clock::ChainClock::default().now_ms();
        let mut config = vchain_devnet::prepare(
            dir.path(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            false,
            now,
        )
        .expect("dev chain");
        config.block_interval_ms = 20;
        let node = vchain_node::start(config).await.expect("node starts");
        Self { node, dir }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.node.grpc_addr)
    }

    /// The wallet of a dev account, over its own connection.
    async fn wallet(&self, account: &str) -> Wallet {
        let key = Keystore::load_or_create(&self.dir.path().join("keystore.json"))
            .expect("keystore")
            .unlock(account, vchain_devnet::DEV_PASSPHRASE)
            .expect("dev key");
        let client = Client::connect(self.endpoint()).await.expect("connect");
        Wallet::open(client, Signer::new(account, key))
            .await
            .expect("wallet opens")
    }
}

/// The carmaker, under a credit line from Bank A, issues `amount` to gearbox; the voucher id.
async fn issue_to_gearbox(node: &DevNode, amount: u64) -> String {
    let mut bank = node.wallet("bank-a-finance").await;
    let mut carmaker = node.wallet("carmaker").await;
    let bank_uscc = bank.account(None).await.expect("account").uscc;
    let carmaker_uscc = carmaker.account(None).await.expect("account").uscc;
    bank.submit(Operation::GrantCreditLine(GrantCreditLine {
        core_enterprise: carmaker_uscc,
        currency: "CNY".into(),
        limit: 10 * amount,
    }))
    .await
    .expect("credit line granted");
    let today = carmaker
        .client()
        .status()
        .await
        .expect("status")
        .head_time_ms
        / DAY_MS;
    let issued = carmaker
        .submit(Operation::IssueVoucher(IssueVoucher {
            holder: "gearbox".into(),
            financier: bank_uscc,
            amount,
            currency: "CNY".into(),
            maturity_date: vchain_contracts::validate::format_date(today as u32 + 90),
            trade_document: Some(TradeDocument {
                kind: "invoice".into(),
                number: "INV-WALLET-1".into(),
                hash: vec![7; 32],
            }),
        }))
        .await
        .expect("issued");
    issued
        .result
        .events
        .iter()
        .find(|e| e.kind() == EventKind::VoucherIssued)
        .expect("an issue event")
        .voucher_id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_splits_transfers_traces_and_follows_its_events() {
    let node = DevNode::start().await;
    let voucher = issue_to_gearbox(&node, 1_000_000).await;
    let mut gearbox = node.wallet("gearbox").await;
    let mut events = gearbox.follow_events(1).await.expect("events");

    let held = gearbox.held_vouchers(true, "", 10).await.expect("list");
    assert_eq!(
        held.vouchers
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        [voucher.as_str()]
    );
    let split = gearbox
        .submit(Operation::SplitVoucher(SplitVoucher {
            voucher_id: voucher.clone(),
            amounts: vec![600_000, 400_000],
        }))
        .await
        .expect("split");
    let pieces: Vec<String> = split
        .result
        .events
        .iter()
        .filter(|e| e.kind() == EventKind::VoucherCreatedBySplit)
        .map(|e| e.voucher_id.clone())
        .collect();
    assert_eq!(pieces.len(), 2);
    gearbox
        .submit(Operation::TransferVoucher(TransferVoucher {
            voucher_id: pieces[1].clone(),
            to: "castings".into(),
            agreement_hash: vec![9; 32],
            consideration: None,
        }))
        .await
        .expect("transfer");
    assert_eq!(
        gearbox.voucher(&pieces[1]).await.expect("read").holder,
        "castings"
    );
    let trace = gearbox.trace(&pieces[1]).await.expect("trace");
    assert_eq!(trace.root_id, voucher);
    assert_eq!(trace.vouchers.len(), 3, "the root and both pieces");

    // The stream replays from height 1: the issue to gearbox comes first, every event names it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("an event")
        .event
        .expect("event");
    assert_eq!(first.kind(), EventKind::VoucherIssued);
    assert_eq!(first.voucher_id, voucher);
    node.node.shutdown().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_rule_codes_and_the_wallet_recovers_its_nonce() {
    let node = DevNode::start().await;
    let voucher = issue_to_gearbox(&node, 1_000_000).await;
    let mut gearbox = node.wallet("gearbox").await;

    // A rule rejects it in a block: Rejected, with the code.
    let bad_split = gearbox
        .submit(Operation::SplitVoucher(SplitVoucher {
            voucher_id: voucher.clone(),
            amounts: vec![600_000, 300_000],
        }))
        .await
        .expect_err("the pieces do not add up");
    assert_eq!(
        bad_split.code(),
        Some(ErrorCode::SplitSumMismatch),
        "{bad_split}"
    );
    assert!(
        matches!(bad_split, WalletError::Rejected { height, .. } if height > 0),
        "{bad_split}"
    );
    // Its nonce is spent: the wallet counted it.
    assert_eq!(
        gearbox.next_nonce(),
        gearbox.account(None).await.expect("account").next_nonce
    );

    // A read the node refuses: Refused, with the code.
    let castings = node.wallet("castings").await;
    let denied = castings
        .voucher(&voucher)
        .await
        .expect_err("not castings' voucher");
    assert_eq!(denied.code(), Some(ErrorCode::NotAParty), "{denied}");
    let missing = gearbox
        .voucher("V999999999999")
        .await
        .expect_err("no such voucher");
    assert_eq!(
        missing.code(),
        Some(ErrorCode::VoucherNotFound),
        "{missing}"
    );

    // Another wallet of gearbox spends the next nonce; this one is refused once, re-reads the
    // chain's count, and its next transaction goes through.
    let mut other = node.wallet("gearbox").await;
    let stale = gearbox.next_nonce();
    let split = |amounts: Vec<u64>| {
        Operation::SplitVoucher(SplitVoucher {
            voucher_id: voucher.clone(),
            amounts,
        })
    };
    other
        .submit(split(vec![500_000, 500_000]))
        .await
        .expect("the other wallet's split");
    let refused = gearbox
        .submit(split(vec![300_000, 700_000]))
        .await
        .expect_err("the nonce was spent by the other wallet");
    assert_eq!(refused.code(), Some(ErrorCode::BadNonce), "{refused}");
    assert_eq!(gearbox.next_nonce(), stale + 1, "re-read from the chain");
    let pieces = gearbox.held_vouchers(true, "", 10).await.expect("list");
    let piece = pieces.vouchers[0].id.clone();
    gearbox
        .submit(Operation::TransferVoucher(TransferVoucher {
            voucher_id: piece,
            to: "castings".into(),
            agreement_hash: vec![9; 32],
            consideration: None,
        }))
        .await
        .expect("the wallet's next transaction goes through");
    node.node.shutdown().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_chain_does_not_bind_is_found_when_the_wallet_opens() {
    let node = DevNode::start().await;
    let client = Client::connect(node.endpoint()).await.expect("connect");
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let error = Wallet::open(client, Signer::new("gearbox", stranger))
        .await
        .expect_err("not gearbox's key");
    // The opening read is signed with the stranger's key: the node refuses to authenticate it.
    assert_eq!(error.code(), Some(ErrorCode::BadSignature), "{error}");
    node.node.shutdown().await.expect("clean stop");
}
