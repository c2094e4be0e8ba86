//! Sensor-attested collateral over real gRPC: a certified warehouse operator issues a receipt,
//! its owner pledges it dynamically, and a device's reading that takes the lot below the floor
//! reaches the pledgee as a PLEDGE_ALERT on its event stream.

use crate::common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_reading_reaches_the_subscribed_pledgee() {
    let mut node = TestNode::start().await;
    // Bank A certifies and registers a warehouse operator; its key joins the dev keystore.
    let operator_key = SigningKey::from_bytes(&[42; 32]);
    let keystore_path = node.data_dir().join("keystore.json");
    let mut keystore = Keystore::load_or_create(&keystore_path).expect("keystore");
    keystore
        .import(
            "depot",
            Some("depot"),
            &operator_key,
            vchain_devnet::DEV_PASSPHRASE,
        )
        .expect("import");
    keystore.save().expect("save");
    let ca_pem = std::fs::read_to_string(vchain_devnet::ca_certificate_path(
        node.data_dir(),
        "bank-a",
    ))
    .expect("dev CA");
    let ca = vchain_pki::RootCa::from_parts(
        vchain_pki::Certificate::from_pem(&ca_pem).expect("PEM"),
        keystore
            .unlock("bank-a-ca", vchain_devnet::DEV_PASSPHRASE)
            .expect("CA key"),
    )
    .expect("CA");
    let certificate = ca
        .issue(
            &vchain_pki::Subject {
                organisation: "bank-a".into(),
                common_name: "depot".into(),
                role: vchain_pki::CertRole::Account(vchain_pki::AccountRole::WarehouseOperator),
            },
            &operator_key.verifying_key().to_bytes(),
            ca.validity(),
        )
        .expect("certificate");
    node.ok(
        "bank-a-admin",
        Operation::RegisterIdentity(RegisterIdentity {
            uscc: vchain_contracts::validate::uscc_with_check("91310000MA1FL5002").expect("uscc"),
            name: "Depot Logistics".into(),
            role: Role::WarehouseOperator.into(),
            legal_representative: String::new(),
            account_id: "depot".into(),
            public_key: Vec::new(),
            certificate: certificate.to_pem().into_bytes(),
        }),
    )
    .await;

    // A lot of 100 units at 1,000, pledged dynamically with a 60,000 floor.
    let events = node
        .ok(
            "depot",
            Operation::IssueWarehouseReceipt(IssueWarehouseReceipt {
                holder: "gearbox".into(),
                sku: "gear blank".into(),
                quantity: 100,
                unit_value: 1_000,
                currency: "CNY".into(),
                location: "Depot 1".into(),
                description: String::new(),
            }),
        )
        .await;
    let receipt = events[0].receipt_id.clone();
    let until = node.date_in(30).await;
    node.ok(
        "gearbox",
        Operation::RegisterPledge(RegisterPledge {
            receipt_id: receipt.clone(),
            pledgee: "bank-a-finance".into(),
            secured_amount: 50_000,
            currency: "CNY".into(),
            period_end_date: until,
            collateral_description: "inventory loan".into(),
            modification_code_hash: Sha256::digest(b"code").to_vec(),
            mode: PledgeMode::Dynamic.into(),
            floor_value: 60_000,
            ..RegisterPledge::default()
        }),
    )
    .await;
    let device_key = SigningKey::from_bytes(&[43; 32]);
    node.ok(
        "depot",
        Operation::RegisterDevice(RegisterDevice {
            device_id: "gate-1".into(),
            public_key: device_key.verifying_key().to_bytes().to_vec(),
            kind: DeviceKind::Gate.into(),
            receipt_id: receipt.clone(),
            ..RegisterDevice::default()
        }),
    )
    .await;

    // The pledgee follows its events; 41 units leave at the gate.
    let height = node.status().await.height;
    let request = vchain_wallet::read::request_now(
        SubscribeEventsRequest {
            from_height: height + 1,
            ..Default::default()
        },
        &node.genesis.chain_id,
        "SubscribeEvents",
        "bank-a-finance",
        &node.key("bank-a-finance"),
    );
    let mut stream = node
        .api
        .subscribe_events(request)
        .await
        .expect("subscribe")
        .into_inner();
    let time_ms = vchain_wallet::time::now_ms();
    let bytes = SensorReading {
        device_id: "gate-1".into(),
        counter: 1,
        device_time_ms: time_ms,
        measurement: Some(sensor_reading::Measurement::UnitsOut(41)),
    }
    .encode_to_vec();
    let signature = device_key.sign(&bytes).to_bytes().to_vec();
    node.ok(
        "depot",
        Operation::SubmitReading(SubmitReading {
            reading: bytes,
            device_signature: signature,
        }),
    )
    .await;
    let alert = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(envelope) = stream.next().await {
            let event = envelope.expect("event").event.expect("event");
            if event.kind() == EventKind::PledgeAlert {
                return event;
            }
        }
        panic!("the stream ended without an alert");
    })
    .await
    .expect("the alert arrives");
    assert_eq!(alert.receipt_id, receipt);
    // The pledgee reads the device that raised it; a stranger to the lot may not.
    let request = device_read(&node, "bank-a-finance");
    let device = node
        .api
        .get_device(request)
        .await
        .expect("the pledgee reads the device")
        .into_inner()
        .device
        .expect("device");
    assert_eq!(device.last_counter, 1);
    let request = device_read(&node, "foundry");
    let denied = node
        .api
        .get_device(request)
        .await
        .expect_err("not foundry's");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(
        (alert.health(), alert.health_cause()),
        (
            vchain_proto::v1::PledgeHealth::Breached,
            vchain_proto::v1::HealthCause::BelowFloor
        ),
        "{alert:?}"
    );
    node.stop().await;
}

/// A signed `GetDevice` read of gate-1 by dev account `reader`.
fn device_read(node: &TestNode, reader: &str) -> tonic::Request<GetDeviceRequest> {
    vchain_wallet::read::request_now(
        GetDeviceRequest {
            device_id: "gate-1".into(),
        },
        &node.genesis.chain_id,
        "GetDevice",
        reader,
        &node.key(reader),
    )
}
