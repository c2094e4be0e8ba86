//! The metrics and health listener (issue 15) of a real dev node: `/metrics` in the
//! Prometheus text format counting what the chain did (blocks, transactions by outcome and rule
//! code, certification), `/healthz` and `/readyz`.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use vchain_node::config::MetricsSection;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::SplitVoucher;

use common::TestNode;

/// `GET path` over plain HTTP/1.0: (status code, body).
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the sample `name` (with its labels, as written) in a metrics text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_chain_did_and_health_says_it_serves() {
    let mut node = TestNode::start_with(|config| {
        config.metrics = Some(MetricsSection {
            listen: "127.0.0.1:0".parse().expect("address"),
        });
    })
    .await;
    let address = node
        .node
        .as_ref()
        .expect("running")
        .metrics_addr
        .expect("metrics listener");
    assert_eq!(get(address, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(address, "/readyz"), (200, "ready\n".to_owned()));

    // Two transactions that pass, and one the chain rejects (castings holds nothing).
    let voucher = node
        .grant_and_issue(1_000_000, 500_000, 30, "INV-M-1")
        .await;
    let rejected = node
        .submit(
            "castings",
            Operation::SplitVoucher(SplitVoucher {
                voucher_id: voucher,
                amounts: vec![250_000, 250_000],
            }),
        )
        .await
        .expect_err("rejected");
    // Committed with its rejection (a block holds it): the answer names the rule and height.
    assert_eq!(
        rejected
            .metadata()
            .get("x-vchain-error-code")
            .map(|v| v.to_str().ok()),
        Some(Some("NOT_HOLDER"))
    );
    assert!(rejected.metadata().get("x-vchain-height").is_some());
    // One refused at admission: its signature does not verify. No block holds it.
    let mut forged = node
        .sign(
            "carmaker",
            Operation::SplitVoucher(SplitVoucher {
                voucher_id: "V-NONE".into(),
                amounts: vec![1, 1],
            }),
        )
        .await;
    forged.signature[0] ^= 1;
    let refused = node.submit_tx(forged).await.expect_err("refused");
    assert_eq!(
        refused
            .metadata()
            .get("x-vchain-error-code")
            .map(|v| v.to_str().ok()),
        Some(Some("BAD_SIGNATURE"))
    );
    let height = node.status().await.height;

    // The certificate of the last block follows it by a moment (a set of one, ADR 0015).
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let (status, text) = get(address, "/metrics");
        assert_eq!(status, 200);
        if sample(&text, "vchain_certification_lag_blocks") == Some(0.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "never certified:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        sample(&text, "vchain_height"),
        Some(height as f64),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_certified_height"),
        Some(height as f64)
    );
    assert_eq!(
        sample(&text, "vchain_transactions_committed_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "vchain_transactions_rejected_total{code=\"NOT_HOLDER\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "vchain_blocks_total"), Some(3.0), "{text}");
    // Each signature is verified once on the node: the three in blocks at admission (their
    // blocks took the remembered verdicts) and the forged one, refused at admission.
    assert_eq!(
        sample(&text, "vchain_signatures_verified"),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_signature_verdicts_reused"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_block_apply_seconds_count"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_block_interval_seconds_count"),
        Some(2.0)
    );
    // Admissions by outcome: the three that reached a block, and the forged one.
    assert_eq!(
        sample(&text, "vchain_admissions_total{outcome=\"admitted\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_admissions_total{outcome=\"BAD_SIGNATURE\"}"),
        Some(1.0),
        "{text}"
    );
    // Each admitted transaction's wait from admission to commit, here.
    assert_eq!(
        sample(&text, "vchain_commit_latency_seconds_count"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "vchain_consensus_term"),
        Some(0.0),
        "solo has no term"
    );
    assert_eq!(sample(&text, "vchain_rocksdb_write_stopped"), Some(0.0));
    assert_eq!(
        sample(&text, "vchain_rocksdb_delayed_write_rate_bytes"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "vchain_history_gap_blocks"), Some(0.0));
    assert!(
        sample(&text, "vchain_consensus_leader_changes_total").is_some(),
        "{text}"
    );
    assert_eq!(sample(&text, "vchain_equivocations"), Some(0.0));
    assert_eq!(sample(&text, "vchain_certificates_expiring"), Some(0.0));
    assert_eq!(sample(&text, "vchain_consensus_is_leader"), Some(1.0));
    assert!(sample(&text, "vchain_resident_memory_bytes").is_some_and(|b| b > 0.0));
    assert!(
        text.contains("# TYPE vchain_block_apply_seconds histogram"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text ends with EOF");
    assert_eq!(get(address, "/no-such-page").0, 404);

    // The standard gRPC health service on the API's port says the same.
    let channel = tonic::transport::Channel::from_shared(format!(
        "http://{}",
        node.node.as_ref().expect("running").grpc_addr
    ))
    .expect("uri")
    .connect()
    .await
    .expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["", "vchain.v1.VchainApi"] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }

    node.stop().await;
    // Stopped with the node: nothing answers there any more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the metrics listener outlived the node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
