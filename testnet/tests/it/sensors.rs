//! The sensor simulator against a real dev node over gRPC: every normal reading is accepted,
//! the scripted breach takes the dynamic pledge below its floor, and the alert reaches the
//! pledgee's event stream.

use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_reports_and_the_scripted_breach_alerts_the_pledgee() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let config = vchain_devnet::prepare(
        dir.path(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        false,
        now,
    )
    .expect("dev data dir");
    let node = vchain_node::start(config).await.expect("node starts");
    let report = vchain_testnet::sensors::run(&vchain_testnet::sensors::Config {
        endpoint: format!("http://{}", node.grpc_addr),
        dir: dir.path().to_owned(),
        devices: 3,
        readings: 3,
        breach_at: Some(1),
        run: 7,
        timeout: Duration::from_secs(60),
    })
    .await
    .expect("simulation");
    assert_eq!(report.accepted, 9, "refused: {:?}", report.refused);
    assert_eq!(
        report.alerts.len(),
        1,
        "one breach, one alert: {:?}",
        report.alerts
    );
    let alert = &report.alerts[0];
    assert_eq!(alert.counterparty, "bank-a-finance");
    assert_eq!(alert.receipt_id, report.receipt_id);
    assert_eq!(
        (alert.health(), alert.health_cause()),
        (
            vchain_proto::v1::PledgeHealth::Breached,
            vchain_proto::v1::HealthCause::BelowFloor
        ),
        "{alert:?}"
    );
    node.shutdown().await.expect("clean stop");
}
