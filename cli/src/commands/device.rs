//! `vchain device ...`: registering and revoking IoT devices, and submitting their signed
//! readings.

use anyhow::{anyhow, Context as _};
use serde_json::json;
use vchain_proto::v1::transaction_body::Operation;

use crate::args::{DeviceCmd, DeviceKindArg};
use crate::exit::UsageError;
use crate::{json, passphrase};

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn device(&self, cmd: DeviceCmd) -> anyhow::Result<Out> {
        use vchain_proto::v1::sensor_reading::Measurement;
        use vchain_proto::v1::{
            Climate, DeviceKind, Position, RegisterDevice, RevokeDevice, SensorReading,
            SubmitReading,
        };
        match cmd {
            DeviceCmd::Register {
                tx,
                device,
                kind,
                receipt,
                device_key,
                fence,
                temperature,
            } => {
                let public_key = self.public_key(None, Some(&device_key))?;
                let kind = match kind {
                    DeviceKindArg::Scale => DeviceKind::Scale,
                    DeviceKindArg::Gate => DeviceKind::Gate,
                    DeviceKindArg::Climate => DeviceKind::Climate,
                    DeviceKindArg::Gps => DeviceKind::Gps,
                    DeviceKindArg::Lock => DeviceKind::Lock,
                    DeviceKindArg::Rfid => DeviceKind::Rfid,
                };
                let fence = if fence.is_empty() { vec![0; 4] } else { fence };
                let temperature = if temperature.is_empty() {
                    vec![0; 2]
                } else {
                    temperature
                };
                let op = Operation::RegisterDevice(RegisterDevice {
                    device_id: device,
                    public_key,
                    kind: kind.into(),
                    receipt_id: receipt,
                    min_lat_e7: fence[0],
                    max_lat_e7: fence[1],
                    min_lon_e7: fence[2],
                    max_lon_e7: fence[3],
                    min_centi_celsius: temperature[0],
                    max_centi_celsius: temperature[1],
                });
                self.submit(&tx, op).await
            }
            DeviceCmd::Get { device } => {
                let what = format!("getting device {device}");
                let mut c = self.client().await?;
                let request = self
                    .read(
                        vchain_proto::v1::GetDeviceRequest {
                            device_id: device.clone(),
                        },
                        "GetDevice",
                    )
                    .await?;
                let d = self
                    .call(what.clone(), c.get_device(request))
                    .await?
                    .device
                    .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
                let text = format!(
                    "device: {}\noperator: {}\nkind: {}\nlot: {}\nkey: {}\nlast counter: {}\nstatus: {}\n",
                    d.device_id,
                    d.operator,
                    d.kind().as_str_name().trim_start_matches("DEVICE_KIND_"),
                    d.receipt_id,
                    hex::encode(&d.public_key),
                    d.last_counter,
                    d.status().as_str_name().trim_start_matches("DEVICE_STATUS_"),
                );
                Ok(Out::new(json!({ "device": json::to_json(&d) }), text))
            }
            DeviceCmd::Revoke { tx, device, reason } => {
                let op = Operation::RevokeDevice(RevokeDevice {
                    device_id: device,
                    reason,
                });
                self.submit(&tx, op).await
            }
            DeviceCmd::Read {
                tx,
                device,
                device_key,
                counter,
                quantity,
                units_out,
                centi_celsius,
                position,
                lock_open,
                rfid,
            } => {
                let measurement = if let Some(q) = quantity {
                    Measurement::Quantity(q)
                } else if let Some(out) = units_out {
                    Measurement::UnitsOut(out)
                } else if let Some(c) = centi_celsius {
                    Measurement::Climate(Climate {
                        centi_celsius: c,
                        humidity_permille: 0,
                    })
                } else if let Some(p) = position {
                    Measurement::Position(Position {
                        lat_e7: p[0],
                        lon_e7: p[1],
                    })
                } else if let Some(open) = lock_open {
                    Measurement::LockOpen(open)
                } else if let Some(tag) = rfid {
                    Measurement::RfidTag(tag)
                } else {
                    return Err(UsageError(
                        "give one measurement: --quantity, --units-out, --centi-celsius, --position, --lock-open or --rfid".into(),
                    )
                    .into());
                };
                let ks = self.open_keystore()?;
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &device_key, false)?;
                let key = ks
                    .unlock(&device_key, &pass)
                    .with_context(|| format!("unlocking device key {device_key:?}"))?;
                let reading = prost::Message::encode_to_vec(&SensorReading {
                    device_id: device,
                    counter,
                    device_time_ms: vchain_wallet::time::now_ms(),
                    measurement: Some(measurement),
                });
                let signature = ed25519_dalek::Signer::sign(&key, &reading)
                    .to_bytes()
                    .to_vec();
                let op = Operation::SubmitReading(SubmitReading {
                    reading,
                    device_signature: signature,
                });
                self.submit(&tx, op).await
            }
        }
    }
}
