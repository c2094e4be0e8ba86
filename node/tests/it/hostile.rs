//! Malformed and hostile transactions are refused with typed errors, change nothing, and never
//! stop the node.

use crate::common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_transactions_are_refused_without_harm() {
    let mut node = TestNode::start().await;
    let bank = node.uscc_of("bank-a-finance");
    let carmaker = node.uscc_of("carmaker");
    node.ok(
        "bank-a-finance",
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000_000,
        }),
    )
    .await;
    let maturity = node.date_in(60).await;
    let events = node
        .ok(
            "carmaker",
            issue("gearbox", &bank, 500_000, &maturity, "INV-H-1"),
        )
        .await;
    let voucher = created_vouchers(&events).pop().expect("voucher");
    let before = node.status().await;

    let grant = |limit| {
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: limit,
        })
    };
    let good = node.sign("bank-a-finance", grant(1)).await;

    // Bytes that are not a transaction body.
    let garbage = SignedTransaction {
        body: vec![0xff, 0xff, 0xff, 0x01],
        ..good.clone()
    };
    let status = node.submit_tx(garbage).await.expect_err("garbage");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::InvalidArgument, "MALFORMED")
    );

    // A valid body with a forged signature.
    let mut forged = good.clone();
    forged.signature[0] ^= 0x55;
    let status = node.submit_tx(forged).await.expect_err("forged");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::Unauthenticated, "BAD_SIGNATURE")
    );

    // Someone else's key on the financier's account.
    let intruder = SigningKey::from_bytes(&[42; 32]);
    let stolen = SignedTransaction {
        public_key: intruder.verifying_key().to_bytes().to_vec(),
        signature: intruder.sign(&good.body).to_bytes().to_vec(),
        ..good.clone()
    };
    let status = node.submit_tx(stolen).await.expect_err("wrong key");
    assert_eq!(error_code(&status), "KEY_MISMATCH");

    // An account that does not exist, and a transaction for another chain.
    let mut body = TransactionBody::decode(good.body.as_slice()).expect("body");
    body.signer = "nobody".into();
    let status = node
        .submit_tx(vchain_wallet::transaction::sign(&body, &intruder))
        .await
        .expect_err("unknown");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::Unauthenticated, "UNKNOWN_ACCOUNT")
    );
    let mut body = TransactionBody::decode(good.body.as_slice()).expect("body");
    body.chain_id = "another-chain".into();
    let status = node
        .submit_tx(vchain_wallet::transaction::sign(
            &body,
            &node.key("bank-a-finance"),
        ))
        .await
        .expect_err("wrong chain");
    assert_eq!(error_code(&status), "WRONG_CHAIN");

    // An oversized transaction.
    let huge = Operation::RevokeCreditLine(RevokeCreditLine {
        core_enterprise: carmaker.clone(),
        reason: "x".repeat(64 * 1024),
    });
    let status = node
        .submit("bank-a-finance", huge)
        .await
        .expect_err("too large");
    assert_eq!(error_code(&status), "TOO_LARGE");

    // Nothing above reached a block.
    assert_eq!(node.status().await.height, before.height);
    assert_eq!(node.status().await.state_root, before.state_root);

    // The good transaction commits once; the same bytes again answer with that commit (issue
    // 11: a resend learns its status) and execute nothing a second time.
    let committed = node
        .submit_tx(good.clone())
        .await
        .expect("good transaction");
    let height = node.status().await.height;
    let again = node
        .submit_tx(good)
        .await
        .expect("its status, not a refusal");
    assert!(again.committed && !again.pending, "{again:?}");
    assert_eq!(
        (again.tx_hash, again.height),
        (committed.tx_hash, committed.height)
    );
    assert_eq!(node.status().await.height, height, "nothing ran again");

    // Wrong role: a supplier cannot issue. The rejection is recorded with its code and tx hash.
    let status = node
        .submit(
            "gearbox",
            issue("castings", &bank, 1_000, &maturity, "INV-H-2"),
        )
        .await
        .expect_err("wrong role");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::PermissionDenied, "WRONG_ROLE")
    );
    let tx_hash = hex::decode(
        status
            .metadata()
            .get("x-vchain-tx-hash")
            .expect("tx hash")
            .to_str()
            .expect("ascii"),
    )
    .expect("hex");
    let recorded = node
        .api
        .get_transaction(node.audited(GetTransactionRequest { tx_hash }, "GetTransaction"))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(
        recorded.result.expect("result").code(),
        ErrorCode::WrongRole
    );

    // Two conflicting spends racing into the mempool: exactly one commits.
    let nonce = node.next_nonce("gearbox").await;
    let first = node.sign_with_nonce("gearbox", nonce, transfer(&voucher, "castings", None));
    let second = node.sign_with_nonce("gearbox", nonce + 1, transfer(&voucher, "foundry", None));
    let (mut api_a, mut api_b) = (node.api.clone(), node.api.clone());
    let (a, b) = tokio::join!(
        api_a.submit_transaction(SubmitTransactionRequest {
            transaction: Some(first),
            wait_for_commit: true,
            timeout_ms: 20_000
        }),
        api_b.submit_transaction(SubmitTransactionRequest {
            transaction: Some(second),
            wait_for_commit: true,
            timeout_ms: 20_000
        })
    );
    assert!(a.is_ok(), "{a:?}");
    assert_eq!(error_code(&b.expect_err("second spend")), "NOT_HOLDER");
    assert_eq!(node.voucher(&voucher).await.holder, "castings");

    // Duplicate financing: the same invoice cannot back a second voucher.
    let status = node
        .submit(
            "carmaker",
            issue("gearbox", &bank, 1_000, &maturity, "INV-H-1"),
        )
        .await
        .expect_err("duplicate document");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::AlreadyExists, "DUPLICATE_TRADE_DOCUMENT")
    );

    // The node is still healthy and producing blocks.
    let height = node.status().await.height;
    node.ok("bank-a-finance", grant(1)).await;
    assert!(node.status().await.height > height);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_for_missing_things_are_not_found() {
    let mut node = TestNode::start().await;
    let status = node
        .api
        .get_voucher(node.audited(
            GetVoucherRequest {
                voucher_id: "V999999999999".into(),
            },
            "GetVoucher",
        ))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(error_code(&status), "VOUCHER_NOT_FOUND", "{status:?}");
    let status = node
        .api
        .get_transaction(node.audited(
            GetTransactionRequest {
                tx_hash: vec![1; 32],
            },
            "GetTransaction",
        ))
        .await
        .expect_err("no such transaction");
    assert_eq!(
        (status.code(), error_code(&status).as_str()),
        (tonic::Code::NotFound, "TRANSACTION_NOT_FOUND"),
        "{status:?}"
    );
    let status = node
        .api
        .get_transaction(node.audited(
            GetTransactionRequest {
                tx_hash: vec![1; 31],
            },
            "GetTransaction",
        ))
        .await
        .expect_err("bad hash");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(error_code(&status), "INVALID_ARGUMENT", "{status:?}");
    let status = node
        .api
        .get_block(node.audited(
            GetBlockRequest {
                selector: Some(get_block_request::Selector::Height(1_000_000)),
            },
            "GetBlock",
        ))
        .await
        .expect_err("future block");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(error_code(&status), "BLOCK_NOT_FOUND", "{status:?}");
    let status = node
        .api
        .list_vouchers(node.audited(ListVouchersRequest::default(), "ListVouchers"))
        .await
        .expect_err("no owner");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(error_code(&status), "INVALID_ARGUMENT", "{status:?}");
    let genesis = node
        .api
        .get_block(node.audited(
            GetBlockRequest {
                selector: Some(get_block_request::Selector::Height(0)),
            },
            "GetBlock",
        ))
        .await
        .expect("genesis")
        .into_inner();
    assert_eq!(genesis.block_hash, node.status().await.genesis_hash);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_admits_the_good_and_refuses_exactly_the_bad() {
    let mut node = TestNode::start().await;
    let carmaker = node.uscc_of("carmaker");
    node.ok(
        "bank-a-finance",
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: carmaker.clone(),
            currency: "CNY".into(),
            limit: 1_000,
        }),
    )
    .await;
    let first = node.next_nonce("bank-a-finance").await;
    let mut batch: Vec<SignedTransaction> = (0..20)
        .map(|i| {
            node.sign_with_nonce(
                "bank-a-finance",
                first + i,
                Operation::RaiseCreditLine(RaiseCreditLine {
                    core_enterprise: carmaker.clone(),
                    amount: 1,
                }),
            )
        })
        .collect();
    // One forged signature; another transaction on a nonce already in the batch; and the same
    // transaction twice (sent again: admitted, not refused, and held once).
    batch[7].signature[3] ^= 0x10;
    batch.push(node.sign_with_nonce(
        "bank-a-finance",
        first + 3,
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 2,
        }),
    ));
    batch.push(batch[4].clone());
    let outcomes = node
        .api
        .submit_transactions(SubmitTransactionsRequest {
            transactions: batch,
        })
        .await
        .expect("batch")
        .into_inner()
        .outcomes;
    assert_eq!(outcomes.len(), 22);
    let refused: Vec<(usize, ErrorCode)> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.admitted)
        .map(|(i, o)| (i, o.code()))
        .collect();
    assert_eq!(
        refused,
        [(7, ErrorCode::BadSignature), (20, ErrorCode::NonceTaken)],
        "{outcomes:?}"
    );
    assert!(
        outcomes[20]
            .message
            .contains("already has a waiting transaction with nonce"),
        "{}",
        outcomes[20].message
    );
    assert_eq!(outcomes[21].tx_hash, outcomes[4].tx_hash);
    // Nonces 0..=6 commit; 8.. wait behind the gap the forged nonce 7 left.
    let bank = node.uscc_of("bank-a-finance");
    for _ in 0..100 {
        if node.credit_line(&bank, &carmaker).await.limit == 1_007 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(node.credit_line(&bank, &carmaker).await.limit, 1_007);
    assert_eq!(
        node.status().await.mempool_size,
        12,
        "the transactions after the gap wait for nonce {}",
        first + 7
    );
    // Filling the gap releases them.
    node.ok(
        "bank-a-finance",
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: carmaker.clone(),
            amount: 1,
        }),
    )
    .await;
    for _ in 0..100 {
        if node.status().await.mempool_size == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(node.credit_line(&bank, &carmaker).await.limit, 1_020);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_transaction_does_not_cut_off_the_first_caller() {
    // No block until shutdown, so the resend meets the transaction still waiting.
    let mut node = TestNode::start_with(|c| c.block_interval_ms = 60_000).await;
    let tx = node
        .sign(
            "bank-b-admin",
            Operation::FreezeAccount(FreezeAccount {
                account_id: "foundry".into(),
                reason: "resent".into(),
            }),
        )
        .await;
    let chain = node.node.as_ref().expect("running").chain.clone();
    let (hash, first) = chain.submit(tx.clone(), true).expect("admitted");
    // The resend is not refused (issue 11): it waits with the first caller.
    let (resent_hash, second) = chain.submit(tx, true).expect("the resend waits too");
    assert_eq!(hash, resent_hash);
    assert_eq!(chain.mempool_len(), 1, "one transaction, not two");
    // Shutdown cuts the last block: both callers hear the one commit.
    let (first, second) = (first.expect("a waiter"), second.expect("a waiter"));
    node.stop().await;
    for waiter in [first, second] {
        let notice = waiter
            .await
            .expect("each caller is still waiting and hears the commit");
        assert_eq!(notice.result.code, 0, "{:?}", notice.result);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_again_answers_each_transactions_status_instead_of_refusing_it() {
    let mut node = TestNode::start().await;
    let freeze = |reason: &str| {
        Operation::FreezeAccount(FreezeAccount {
            account_id: "foundry".into(),
            reason: reason.into(),
        })
    };
    // A: committed before the batch.
    let committed_tx = node.sign("bank-b-admin", freeze("committed")).await;
    let committed = node.submit_tx(committed_tx.clone()).await.expect("commits");
    // B: new, and twice in the same batch. C: another body on A's spent nonce.
    let nonce = node.next_nonce("bank-b-admin").await;
    let fresh = node.sign_with_nonce("bank-b-admin", nonce, freeze("fresh"));
    let spent = node.sign_with_nonce("bank-b-admin", nonce - 1, freeze("another body"));
    let batch = |transactions: Vec<SignedTransaction>| {
        let mut api = node.api.clone();
        async move {
            api.submit_transactions(SubmitTransactionsRequest { transactions })
                .await
                .expect("batch answered")
                .into_inner()
                .outcomes
        }
    };
    let outcomes = batch(vec![
        committed_tx.clone(),
        fresh.clone(),
        fresh.clone(),
        spent,
    ])
    .await;
    assert_eq!(outcomes.len(), 4);
    // A: its committed status, not a refusal.
    assert!(outcomes[0].admitted, "{:?}", outcomes[0]);
    assert_eq!(outcomes[0].committed_height, committed.height);
    assert_eq!(
        outcomes[0].result.as_ref().map(|r| r.code),
        Some(ErrorCode::Ok as i32)
    );
    // B twice: admitted both times, one transaction.
    assert!(outcomes[1].admitted && outcomes[2].admitted, "{outcomes:?}");
    assert_eq!(outcomes[1].tx_hash, outcomes[2].tx_hash);
    assert_eq!(outcomes[1].committed_height, 0);
    // C: refused, naming the rule.
    assert!(!outcomes[3].admitted);
    assert_eq!(outcomes[3].code(), ErrorCode::BadNonce);
    // B sent again, waiting or committed by now: admitted either way.
    let again = batch(vec![fresh]).await;
    assert!(again[0].admitted, "{:?}", again[0]);
    assert_eq!(again[0].tx_hash, outcomes[1].tx_hash);
    assert_eq!(
        again[0].committed_height > 0,
        again[0].result.is_some(),
        "a committed height comes with its result"
    );
    node.stop().await;
}

/// The DevApi moves block time: a node refuses to serve it unless genesis declares a
/// development chain, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_genesis_refuses_the_dev_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let mut config = vchain_devnet::prepare(
        dir.path(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        false,
        now,
    )
    .expect("dev data dir");
    // The same genesis, but not a development chain.
    let mut genesis = vchain_node::load_genesis(&config.genesis).expect("genesis");
    assert!(genesis.development, "dev mode writes a development genesis");
    genesis.development = false;
    std::fs::write(
        &config.genesis,
        toml::to_string_pretty(&genesis).expect("genesis as TOML"),
    )
    .expect("write genesis");
    config.dev_api = true;
    let refused = vchain_node::start(config.clone()).await;
    match refused {
        Err(error @ vchain_node::NodeError::DevApiOnProductionChain { .. }) => {
            assert!(
                error.to_string().contains("not a development chain"),
                "{error}"
            );
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a production chain served the DevApi"),
    }
    // Without the DevApi the same chain starts.
    config.dev_api = false;
    let node = vchain_node::start(config).await.expect("node starts");
    node.shutdown().await.expect("stops");
}
