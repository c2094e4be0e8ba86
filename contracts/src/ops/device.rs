//! IoT devices and sensor-attested collateral (§4.2.8, §4.9).
//!
//! Rules:
//! - A warehouse operator registers a device (id, strong ed25519 key that no other device was
//!   ever registered with, kind, the lot it watches: a receipt the operator issued, a geofence
//!   or temperature range where the kind needs one) and may revoke it.
//! - A reading enters only as a `SubmitReading` transaction from an account of the device's
//!   operator (its gateway), carrying the device's signature over the exact reading bytes. It is
//!   refused (changing nothing) when unsigned or signed by another key, from an unknown or
//!   revoked device, with a counter not above the device's last (replayed or out of order), with
//!   a device time more than [`READING_SKEW_MS_MAX`] from the block time, or with a measurement
//!   the device's kind does not make.
//! - An accepted reading is recorded in the lot's history. If the lot is pledged it updates the
//!   pledge's health, which only gets worse until the pledge ends: goods short of the receipt are
//!   AT_RISK (BREACHED under a static pledge, or below a dynamic pledge's floor); units leaving
//!   under a static pledge, or taking a dynamic one below its floor, a position outside the
//!   geofence, or a lock opened while pledged are BREACHED; a temperature out of range is
//!   AT_RISK. Every change raises a PLEDGE_ALERT event naming the pledgee, so it reaches the
//!   pledgee's event stream.

use ed25519_dalek::VerifyingKey;
use prost::Message;
use vchain_proto::v1::{
    sensor_reading::Measurement, Device, DeviceKind, DeviceStatus, ErrorCode, EventKind,
    HealthCause, Pledge, PledgeHealth, PledgeMode, RegisterDevice, RevokeDevice, Role,
    SensorReading, SubmitReading,
};

use crate::error::{reject, ExecError, Failure};
use crate::keys;
use crate::ops::receipt::{load_receipt, value_of};
use crate::ops::TxContext;
use crate::validate::{self, TEXT_LEN_MAX};

/// How far a reading's device time may be from the block time, either way.
pub const READING_SKEW_MS_MAX: u64 = 5 * 60 * 1000;
/// Largest encoded reading.
pub const READING_BYTES_MAX: usize = 1024;

fn load_device(tx: &TxContext<'_, '_>, device_id: &str) -> Result<Device, Failure> {
    match tx.overlay.get_message(&keys::device(device_id), "Device")? {
        Some(device) => Ok(device),
        None => reject(
            ErrorCode::DeviceNotFound,
            format!("device {device_id:?} is not registered"),
        ),
    }
}

/// `RegisterDevice`.
pub(crate) fn register(tx: &mut TxContext<'_, '_>, op: RegisterDevice) -> Result<(), Failure> {
    tx.require_role(&[Role::WarehouseOperator], "registering a device")?;
    validate::account_id(&op.device_id)?;
    validate::public_key(&op.public_key)?;
    if tx.overlay.get(&keys::device(&op.device_id))?.is_some() {
        return reject(
            ErrorCode::DeviceExists,
            format!("device {} is already registered", op.device_id),
        );
    }
    // One key, one device, for good (like an account's key): a reading signed by a key cannot
    // be claimed by a second device, even after the first was revoked.
    let key_binding = keys::device_key_binding(&op.public_key);
    if let Some(owner) = tx.overlay.get(&key_binding)? {
        return reject(
            ErrorCode::DeviceExists,
            format!(
                "public key {} is already registered for device {}",
                hex::encode(&op.public_key),
                String::from_utf8_lossy(&owner)
            ),
        );
    }
    let kind = op.kind();
    if kind == DeviceKind::Unspecified {
        return reject(ErrorCode::InvalidArgument, "a device needs a kind");
    }
    let receipt = load_receipt(tx, &op.receipt_id)?;
    if receipt.operator_uscc != tx.signer.uscc {
        return reject(
            ErrorCode::NotIssuer,
            format!(
                "receipt {} was issued by another warehouse operator; a device watches its own operator's lots",
                receipt.id
            ),
        );
    }
    if kind == DeviceKind::Gps && (op.min_lat_e7 >= op.max_lat_e7 || op.min_lon_e7 >= op.max_lon_e7)
    {
        return reject(
            ErrorCode::InvalidArgument,
            "a GPS device needs a geofence with min below max in both latitude and longitude",
        );
    }
    if kind == DeviceKind::Climate && op.min_centi_celsius >= op.max_centi_celsius {
        return reject(
            ErrorCode::InvalidArgument,
            "a climate device needs a temperature range with min below max",
        );
    }
    let device = Device {
        device_id: op.device_id.clone(),
        operator: tx.signer.account_id.clone(),
        operator_uscc: tx.signer.uscc.clone(),
        public_key: op.public_key,
        kind: kind.into(),
        receipt_id: op.receipt_id.clone(),
        min_lat_e7: op.min_lat_e7,
        max_lat_e7: op.max_lat_e7,
        min_lon_e7: op.min_lon_e7,
        max_lon_e7: op.max_lon_e7,
        min_centi_celsius: op.min_centi_celsius,
        max_centi_celsius: op.max_centi_celsius,
        last_counter: 0,
        status: DeviceStatus::Active.into(),
        registered_height: tx.context.height,
    };
    tx.overlay
        .put_message(keys::device(&device.device_id), &device);
    tx.overlay
        .put(key_binding, device.device_id.as_bytes().to_vec());
    let mut event = tx.event(EventKind::DeviceRegistered);
    event.device_id = device.device_id.clone();
    event.receipt_id = device.receipt_id.clone();
    event.device_kind = kind.into();
    event.public_key = device.public_key.clone();
    tx.asset_event(&op.receipt_id, event)
}

/// `RevokeDevice`.
pub(crate) fn revoke(tx: &mut TxContext<'_, '_>, op: RevokeDevice) -> Result<(), Failure> {
    tx.require_role(&[Role::WarehouseOperator], "revoking a device")?;
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let mut device = load_device(tx, &op.device_id)?;
    if device.operator_uscc != tx.signer.uscc {
        return reject(
            ErrorCode::NotSameOrganisation,
            format!("device {} belongs to another operator", device.device_id),
        );
    }
    if device.status() == DeviceStatus::Revoked {
        return reject(
            ErrorCode::DeviceRevoked,
            format!("device {} is already revoked", device.device_id),
        );
    }
    device.set_status(DeviceStatus::Revoked);
    tx.overlay
        .put_message(keys::device(&device.device_id), &device);
    let mut event = tx.event(EventKind::DeviceRevoked);
    event.device_id = device.device_id.clone();
    event.receipt_id = device.receipt_id.clone();
    event.detail = op.reason;
    let receipt_id = device.receipt_id.clone();
    tx.asset_event(&receipt_id, event)
}

/// What a reading says about a pledge: the health it implies and its cause, or `None` if
/// nothing is wrong.
fn assess(
    device: &Device,
    measurement: &Measurement,
    pledge: &Pledge,
    quantity: u64,
    unit_value: u64,
) -> Result<Option<(PledgeHealth, HealthCause)>, Failure> {
    let dynamic = pledge.mode() == PledgeMode::Dynamic;
    let below_floor = |units: u64| -> Result<bool, Failure> {
        Ok(value_of(units, unit_value)? < pledge.floor_value)
    };
    Ok(match measurement {
        Measurement::Quantity(counted) if *counted < quantity => {
            if !dynamic {
                Some((PledgeHealth::Breached, HealthCause::StaticGoodsMoved))
            } else if below_floor(*counted)? {
                Some((PledgeHealth::Breached, HealthCause::BelowFloor))
            } else {
                Some((PledgeHealth::AtRisk, HealthCause::GoodsShort))
            }
        }
        Measurement::UnitsOut(out) if *out > 0 => {
            let left = quantity.saturating_sub(*out);
            if !dynamic {
                Some((PledgeHealth::Breached, HealthCause::StaticGoodsMoved))
            } else if below_floor(left)? {
                Some((PledgeHealth::Breached, HealthCause::BelowFloor))
            } else {
                None
            }
        }
        Measurement::Climate(climate)
            if climate.centi_celsius < device.min_centi_celsius
                || climate.centi_celsius > device.max_centi_celsius =>
        {
            Some((PledgeHealth::AtRisk, HealthCause::Temperature))
        }
        Measurement::Position(position)
            if position.lat_e7 < device.min_lat_e7
                || position.lat_e7 > device.max_lat_e7
                || position.lon_e7 < device.min_lon_e7
                || position.lon_e7 > device.max_lon_e7 =>
        {
            Some((PledgeHealth::Breached, HealthCause::OutOfFence))
        }
        Measurement::LockOpen(true) => Some((PledgeHealth::Breached, HealthCause::LockOpened)),
        _ => None,
    })
}

fn severity(health: PledgeHealth) -> u8 {
    match health {
        PledgeHealth::Unspecified | PledgeHealth::Ok => 0,
        PledgeHealth::AtRisk => 1,
        PledgeHealth::Breached => 2,
    }
}

/// `SubmitReading`: a gateway of the device's operator submits a device-signed reading.
pub(crate) fn submit(tx: &mut TxContext<'_, '_>, op: SubmitReading) -> Result<(), Failure> {
    if op.reading.len() > READING_BYTES_MAX {
        return reject(
            ErrorCode::TooLarge,
            format!("a reading is at most {READING_BYTES_MAX} bytes"),
        );
    }
    let reading = SensorReading::decode(op.reading.as_slice()).map_err(|e| {
        crate::error::Rejection::new(
            ErrorCode::Malformed,
            format!("the reading does not decode: {e}"),
        )
    })?;
    let mut device = load_device(tx, &reading.device_id)?;
    if device.status() != DeviceStatus::Active {
        return reject(
            ErrorCode::DeviceRevoked,
            format!("device {} is revoked", device.device_id),
        );
    }
    if device.operator_uscc != tx.signer.uscc {
        return reject(
            ErrorCode::NotSameOrganisation,
            format!(
                "device {} reports through its own operator's accounts, not {}",
                device.device_id, tx.signer.account_id
            ),
        );
    }
    let key_bytes: [u8; 32] =
        device
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| ExecError::CorruptState {
                key: format!("dv/{}", device.device_id),
                what: "a 32-byte device key",
                why: format!("{} bytes", device.public_key.len()),
            })?;
    VerifyingKey::from_bytes(&key_bytes).map_err(|_| ExecError::CorruptState {
        key: format!("dv/{}", device.device_id),
        what: "a valid device key",
        why: "not a curve point".into(),
    })?;
    // The chain's one signature rule (`crate::signature`), as for transactions.
    let signed = crate::signature::verify(&key_bytes, &op.reading, &op.device_signature);
    if !signed {
        return reject(
            ErrorCode::ReadingSignatureInvalid,
            format!(
                "the reading is not signed by device {}'s key",
                device.device_id
            ),
        );
    }
    if reading.counter <= device.last_counter {
        return reject(
            ErrorCode::ReadingReplayed,
            format!(
                "reading counter {} of device {} is not above its last {}: replayed or out of order",
                reading.counter, device.device_id, device.last_counter
            ),
        );
    }
    if reading.device_time_ms.abs_diff(tx.context.timestamp_ms) > READING_SKEW_MS_MAX {
        return reject(
            ErrorCode::ReadingStale,
            format!(
                "the device's time {} ms is more than {READING_SKEW_MS_MAX} ms from the block time {} ms",
                reading.device_time_ms, tx.context.timestamp_ms
            ),
        );
    }
    let Some(measurement) = reading.measurement.clone() else {
        return reject(ErrorCode::Malformed, "the reading carries no measurement");
    };
    let fits = matches!(
        (device.kind(), &measurement),
        (DeviceKind::Scale, Measurement::Quantity(_))
            | (DeviceKind::Gate, Measurement::UnitsOut(_))
            | (DeviceKind::Climate, Measurement::Climate(_))
            | (DeviceKind::Gps, Measurement::Position(_))
            | (DeviceKind::Lock, Measurement::LockOpen(_))
            | (DeviceKind::Rfid, Measurement::RfidTag(_))
    );
    if !fits {
        return reject(
            ErrorCode::ReadingMismatch,
            format!(
                "a {} device does not report this measurement",
                device.kind().as_str_name()
            ),
        );
    }

    device.last_counter = reading.counter;
    tx.overlay
        .put_message(keys::device(&device.device_id), &device);
    let receipt = load_receipt(tx, &device.receipt_id)?;
    let mut event = tx.event(EventKind::ReadingRecorded);
    event.device_id = device.device_id.clone();
    event.receipt_id = receipt.id.clone();
    // The reading as decoded (prost re-encodes it canonically): counter, device time and
    // measurement as data, never as text.
    event.reading = Some(reading.clone());
    tx.asset_event(&receipt.id, event)?;

    if receipt.pledge.is_empty() {
        return Ok(());
    }
    let mut pledge: Pledge = tx
        .overlay
        .get_message(&keys::pledge(&receipt.pledge), "Pledge")?
        .ok_or_else(|| ExecError::CorruptState {
            key: format!("pl/{}", receipt.pledge),
            what: "Pledge locking a receipt",
            why: "missing".into(),
        })?;
    let Some((health, cause)) = assess(
        &device,
        &measurement,
        &pledge,
        receipt.quantity,
        receipt.unit_value,
    )?
    else {
        return Ok(());
    };
    if severity(health) <= severity(pledge.health()) {
        return Ok(());
    }
    pledge.set_health(health);
    pledge.set_health_cause(cause);
    tx.overlay
        .put_message(keys::pledge(&pledge.registration_number), &pledge);
    let mut alert = tx.event(EventKind::PledgeAlert);
    alert.receipt_id = receipt.id.clone();
    alert.device_id = device.device_id.clone();
    alert.pledge = pledge.registration_number.clone();
    alert.accounts = vec![pledge.pledgee.clone(), pledge.pledgor.clone()];
    alert.counterparty = pledge.pledgee.clone();
    alert.health = health.into();
    alert.health_cause = cause.into();
    tx.asset_event(&receipt.id, alert)
}
