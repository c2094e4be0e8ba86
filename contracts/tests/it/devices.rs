//! IoT devices and sensor-attested collateral: registration, every kind of bad reading refused
//! without a change, every kind of breach flagging the pledge with an alert naming the pledgee.

use crate::common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use sha2::{Digest, Sha256};
use vchain_proto::v1::sensor_reading::Measurement;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    Climate, DeviceKind, ErrorCode, EventKind, HealthCause, PledgeHealth, PledgeMode, Position,
    RegisterDevice, RegisterPledge, RevokeDevice, SensorReading, SubmitReading,
};

fn device_key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[200 + n; 32])
}

/// A chain where the warehouse issued SUP1 a receipt for 100 units at 1,000 (value 100,000) and
/// SUP1 pledged it to the financier in `mode` (dynamic floor 60,000). Returns the receipt id.
fn pledged_lot(mode: PledgeMode) -> (TestChain, String) {
    let mut chain = TestChain::new();
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
    let end = chain.date_in(30);
    chain.ok(
        SUP1,
        Operation::RegisterPledge(RegisterPledge {
            receipt_id: receipt.clone(),
            pledgee: FINANCIER.into(),
            secured_amount: 50_000,
            currency: "CNY".into(),
            period_end_date: end,
            collateral_description: "inventory loan".into(),
            modification_code_hash: Sha256::digest(b"code").to_vec(),
            mode: mode.into(),
            floor_value: if mode == PledgeMode::Dynamic {
                60_000
            } else {
                0
            },
            ..RegisterPledge::default()
        }),
    );
    (chain, receipt)
}

fn register_device(id: &str, n: u8, kind: DeviceKind, receipt: &str) -> Operation {
    Operation::RegisterDevice(RegisterDevice {
        device_id: id.into(),
        public_key: device_key(n).verifying_key().to_bytes().to_vec(),
        kind: kind.into(),
        receipt_id: receipt.into(),
        min_lat_e7: 310_000_000,
        max_lat_e7: 312_000_000,
        min_lon_e7: 1_210_000_000,
        max_lon_e7: 1_212_000_000,
        min_centi_celsius: 200,
        max_centi_celsius: 2_500,
    })
}

/// A reading by device `id` (key `n`) at the chain's next block time.
fn reading(
    chain: &TestChain,
    id: &str,
    n: u8,
    counter: u64,
    measurement: Measurement,
) -> Operation {
    signed_reading(
        chain,
        id,
        &device_key(n),
        counter,
        chain.time_ms,
        measurement,
    )
}

fn signed_reading(
    _chain: &TestChain,
    id: &str,
    key: &SigningKey,
    counter: u64,
    time_ms: u64,
    measurement: Measurement,
) -> Operation {
    let bytes = SensorReading {
        device_id: id.into(),
        counter,
        device_time_ms: time_ms,
        measurement: Some(measurement),
    }
    .encode_to_vec();
    let signature = key.sign(&bytes).to_bytes().to_vec();
    Operation::SubmitReading(SubmitReading {
        reading: bytes,
        device_signature: signature,
    })
}

fn health(chain: &TestChain, receipt: &str) -> (PledgeHealth, HealthCause) {
    let pledge =
        vchain_contracts::active_pledge(&chain.ledger, vchain_contracts::ASSET_RECEIPT, receipt)
            .expect("read")
            .expect("pledged");
    (pledge.health(), pledge.health_cause())
}

fn alert_of(events: &[vchain_proto::v1::Event]) -> &vchain_proto::v1::Event {
    events
        .iter()
        .find(|e| e.kind() == EventKind::PledgeAlert)
        .expect("an alert")
}

#[test]
fn a_device_key_serves_one_device_for_good() {
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("scale-1", 1, DeviceKind::Scale, &receipt),
    );
    // The same key for another device, of another kind, is refused...
    chain.reject(
        WAREHOUSE,
        register_device("gate-9", 1, DeviceKind::Gate, &receipt),
        ErrorCode::DeviceExists,
        &["already registered for device scale-1"],
    );
    // ...and stays refused once the first device is revoked: its past readings stay its own.
    chain.ok(
        WAREHOUSE,
        Operation::RevokeDevice(RevokeDevice {
            device_id: "scale-1".into(),
            reason: "replaced".into(),
        }),
    );
    chain.reject(
        WAREHOUSE,
        register_device("scale-2", 1, DeviceKind::Scale, &receipt),
        ErrorCode::DeviceExists,
        &["scale-1"],
    );
    chain.ok(
        WAREHOUSE,
        register_device("scale-2", 2, DeviceKind::Scale, &receipt),
    );
}

#[test]
fn bad_readings_are_refused_and_change_nothing() {
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("scale-1", 1, DeviceKind::Scale, &receipt),
    );
    chain.reject(
        WAREHOUSE,
        register_device("scale-1", 2, DeviceKind::Scale, &receipt),
        ErrorCode::DeviceExists,
        &["scale-1"],
    );
    chain.reject(
        SUP1,
        register_device("scale-2", 2, DeviceKind::Scale, &receipt),
        ErrorCode::WrongRole,
        &["registering a device"],
    );

    // Unsigned / signed by another key.
    let Operation::SubmitReading(mut unsigned) =
        reading(&chain, "scale-1", 1, 1, Measurement::Quantity(100))
    else {
        unreachable!()
    };
    unsigned.device_signature.clear();
    chain.reject(
        WAREHOUSE,
        Operation::SubmitReading(unsigned),
        ErrorCode::ReadingSignatureInvalid,
        &["not signed by device scale-1"],
    );
    let forged = signed_reading(
        &chain,
        "scale-1",
        &device_key(9),
        1,
        chain.time_ms,
        Measurement::Quantity(100),
    );
    chain.reject(
        WAREHOUSE,
        forged,
        ErrorCode::ReadingSignatureInvalid,
        &["scale-1"],
    );
    // Unknown device.
    let unknown = reading(&chain, "ghost", 1, 1, Measurement::Quantity(100));
    chain.reject(WAREHOUSE, unknown, ErrorCode::DeviceNotFound, &["ghost"]);
    // Too far from chain time.
    let stale = signed_reading(
        &chain,
        "scale-1",
        &device_key(1),
        1,
        chain.time_ms - 10 * 60 * 1000,
        Measurement::Quantity(100),
    );
    chain.reject(
        WAREHOUSE,
        stale,
        ErrorCode::ReadingStale,
        &["from the block time"],
    );
    // A measurement the kind does not make.
    let wrong = reading(&chain, "scale-1", 1, 1, Measurement::LockOpen(true));
    chain.reject(
        WAREHOUSE,
        wrong,
        ErrorCode::ReadingMismatch,
        &["DEVICE_KIND_SCALE"],
    );
    // Through another identity's account.
    let elsewhere = reading(&chain, "scale-1", 1, 1, Measurement::Quantity(100));
    chain.reject(
        SUP1,
        elsewhere,
        ErrorCode::NotSameOrganisation,
        &["own operator"],
    );

    // Accepted, then the same counter (a replay) and a lower one (out of order) are refused.
    let events = chain.ok(
        WAREHOUSE,
        reading(&chain, "scale-1", 1, 5, Measurement::Quantity(100)),
    );
    assert_eq!(events[0].kind(), EventKind::ReadingRecorded);
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Ok);
    let replay = reading(&chain, "scale-1", 1, 5, Measurement::Quantity(100));
    chain.reject(
        WAREHOUSE,
        replay,
        ErrorCode::ReadingReplayed,
        &["not above its last 5"],
    );
    let earlier = reading(&chain, "scale-1", 1, 4, Measurement::Quantity(100));
    chain.reject(
        WAREHOUSE,
        earlier,
        ErrorCode::ReadingReplayed,
        &["out of order"],
    );
    // Revoked.
    chain.ok(
        WAREHOUSE,
        Operation::RevokeDevice(RevokeDevice {
            device_id: "scale-1".into(),
            reason: "tampered".into(),
        }),
    );
    let revoked = reading(&chain, "scale-1", 1, 6, Measurement::Quantity(100));
    chain.reject(WAREHOUSE, revoked, ErrorCode::DeviceRevoked, &["revoked"]);
}

#[test]
fn each_kind_of_breach_flags_the_pledge_and_alerts_the_pledgee() {
    // Goods leaving a dynamic pledge: within the floor nothing; below it BREACHED.
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("gate-1", 1, DeviceKind::Gate, &receipt),
    );
    let events = chain.ok(
        WAREHOUSE,
        reading(&chain, "gate-1", 1, 1, Measurement::UnitsOut(40)),
    );
    assert!(events.iter().all(|e| e.kind() != EventKind::PledgeAlert));
    let events = chain.ok(
        WAREHOUSE,
        reading(&chain, "gate-1", 1, 2, Measurement::UnitsOut(41)),
    );
    let alert = alert_of(&events);
    assert_eq!(alert.counterparty, FINANCIER);
    assert!(
        alert.accounts.contains(&FINANCIER.to_owned()),
        "it reaches the pledgee's stream"
    );
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Breached);
    assert_eq!(health(&chain, &receipt).1, HealthCause::BelowFloor);

    // Goods leaving a static pledge: BREACHED at once.
    let (mut chain, receipt) = pledged_lot(PledgeMode::Static);
    chain.ok(
        WAREHOUSE,
        register_device("gate-1", 1, DeviceKind::Gate, &receipt),
    );
    let events = chain.ok(
        WAREHOUSE,
        reading(&chain, "gate-1", 1, 1, Measurement::UnitsOut(1)),
    );
    let alert = alert_of(&events);
    assert_eq!(
        (alert.health(), alert.health_cause()),
        (PledgeHealth::Breached, HealthCause::StaticGoodsMoved)
    );
    assert!(alert.detail.is_empty(), "the chain writes no words");
    assert_eq!(alert.reading, None, "the reading is on its own event");

    // Temperature out of range: AT_RISK; then the lock opened: BREACHED (health only worsens).
    let (mut chain, receipt) = pledged_lot(PledgeMode::Static);
    chain.ok(
        WAREHOUSE,
        register_device("climate-1", 1, DeviceKind::Climate, &receipt),
    );
    chain.ok(
        WAREHOUSE,
        register_device("lock-1", 2, DeviceKind::Lock, &receipt),
    );
    let inside = Measurement::Climate(Climate {
        centi_celsius: 1_800,
        humidity_permille: 400,
    });
    let events = chain.ok(WAREHOUSE, reading(&chain, "climate-1", 1, 1, inside));
    assert!(events.iter().all(|e| e.kind() != EventKind::PledgeAlert));
    let hot = Measurement::Climate(Climate {
        centi_celsius: 3_100,
        humidity_permille: 400,
    });
    let events = chain.ok(WAREHOUSE, reading(&chain, "climate-1", 1, 2, hot));
    alert_of(&events);
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::AtRisk);
    let closed = chain.ok(
        WAREHOUSE,
        reading(&chain, "lock-1", 2, 1, Measurement::LockOpen(false)),
    );
    assert!(closed.iter().all(|e| e.kind() != EventKind::PledgeAlert));
    let events = chain.ok(
        WAREHOUSE,
        reading(&chain, "lock-1", 2, 2, Measurement::LockOpen(true)),
    );
    alert_of(&events);
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Breached);
    // A later milder finding does not improve it.
    let hot = Measurement::Climate(Climate {
        centi_celsius: 3_200,
        humidity_permille: 400,
    });
    let events = chain.ok(WAREHOUSE, reading(&chain, "climate-1", 1, 3, hot));
    assert!(events.iter().all(|e| e.kind() != EventKind::PledgeAlert));
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Breached);

    // Out of the geofence: BREACHED.
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("gps-1", 1, DeviceKind::Gps, &receipt),
    );
    let home = Measurement::Position(Position {
        lat_e7: 311_000_000,
        lon_e7: 1_211_000_000,
    });
    chain.ok(WAREHOUSE, reading(&chain, "gps-1", 1, 1, home));
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Ok);
    let away = Measurement::Position(Position {
        lat_e7: 399_000_000,
        lon_e7: 1_164_000_000,
    });
    let events = chain.ok(WAREHOUSE, reading(&chain, "gps-1", 1, 2, away));
    assert_eq!(alert_of(&events).health_cause(), HealthCause::OutOfFence);
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Breached);

    // A short count on a dynamic pledge above the floor: AT_RISK; below it: BREACHED.
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("scale-1", 1, DeviceKind::Scale, &receipt),
    );
    chain.ok(
        WAREHOUSE,
        reading(&chain, "scale-1", 1, 1, Measurement::Quantity(90)),
    );
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::AtRisk);
    chain.ok(
        WAREHOUSE,
        reading(&chain, "scale-1", 1, 2, Measurement::Quantity(50)),
    );
    assert_eq!(health(&chain, &receipt).0, PledgeHealth::Breached);
    // The alert is in the lot's history, and enforcement is open to the pledgee.
    let trace_kinds: Vec<EventKind> = chain
        .scan(&vchain_contracts::keys::voucher_events_prefix(&receipt))
        .into_iter()
        .map(|(_, v)| {
            vchain_proto::v1::Event::decode(v.as_slice())
                .expect("event")
                .kind()
        })
        .collect();
    assert!(trace_kinds.contains(&EventKind::PledgeAlert));
    let number =
        vchain_contracts::active_pledge(&chain.ledger, vchain_contracts::ASSET_RECEIPT, &receipt)
            .expect("read")
            .expect("pledged")
            .registration_number;
    chain.ok(
        FINANCIER,
        Operation::EnforcePledge(vchain_proto::v1::EnforcePledge {
            registration_number: number,
            reason: "collateral breached".into(),
        }),
    );
}

#[test]
fn a_reading_signature_is_judged_by_the_chains_one_rule() {
    // The device's key is honest; the reading is signed with a small-order R (a point of order
    // 8) and s = k·a, which the cofactored rule (ZIP-215) accepts and `verify_strict` refused:
    // readings now follow the same rule as transactions (`vchain_contracts::signature`).
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::scalar::Scalar;
    use sha2::Sha512;
    let (mut chain, receipt) = pledged_lot(PledgeMode::Dynamic);
    chain.ok(
        WAREHOUSE,
        register_device("scale-1", 1, DeviceKind::Scale, &receipt),
    );
    let bytes = SensorReading {
        device_id: "scale-1".into(),
        counter: 1,
        device_time_ms: chain.time_ms,
        measurement: Some(Measurement::Quantity(100)),
    }
    .encode_to_vec();
    let key = device_key(1);
    let public = key.verifying_key().to_bytes();
    let r_bytes = EIGHT_TORSION[1].compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_bytes)
            .chain_update(public)
            .chain_update(&bytes)
            .finalize()
            .into(),
    );
    let mut signature = r_bytes.to_vec();
    signature.extend_from_slice(&(k * key.to_scalar()).to_bytes());
    assert!(key
        .verifying_key()
        .verify_strict(
            &bytes,
            &ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes")
        )
        .is_err());
    assert!(vchain_contracts::signature::verify(
        &public, &bytes, &signature
    ));
    let events = chain.ok(
        WAREHOUSE,
        Operation::SubmitReading(SubmitReading {
            reading: bytes,
            device_signature: signature,
        }),
    );
    assert_eq!(events[0].kind(), EventKind::ReadingRecorded);
}
