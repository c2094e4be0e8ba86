//! The sensor simulator: a fleet of IoT devices watching a pledged lot, each signing its
//! readings, submitted through a warehouse operator's gateway account to a running dev node or
//! testnet, with an optional scripted breach; the pledgee's alerts are collected from its event
//! stream.
//!
//! Setup, over the chain itself: bank A certifies and registers a warehouse operator, which issues
//! gearbox a receipt for 1,000 units at 100 (value 100,000); gearbox pledges it dynamically to
//! bank A's finance arm with a floor of 50,000; the operator registers the devices (gates,
//! climate sensors and GPS trackers in turn). Then every device sends `readings` normal readings
//! (a unit out, 18 °C, inside the fence); at reading `breach_at` the first gate reports 600 units
//! leaving, which takes the lot below the floor. Bounded: `devices × readings` transactions and
//! `timeout` in all.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use vchain_proto::v1::sensor_reading::Measurement;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

/// Most devices one run drives.
pub const DEVICES_MAX: usize = 64;
/// Most readings per device in one run.
pub const READINGS_MAX: usize = 1_000;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC endpoint of a node.
    pub endpoint: String,
    /// Directory holding the dev keystore (`keystore.json`, passphrase `dev`) and bank A's CA
    /// certificate (`bank-a-ca.pem`): a dev data directory or a testnet directory.
    pub dir: PathBuf,
    /// Devices in the fleet, 1 to [`DEVICES_MAX`].
    pub devices: usize,
    /// Readings per device, 1 to [`READINGS_MAX`].
    pub readings: usize,
    /// The reading (0-based) at which the first gate reports the breach, if any.
    pub breach_at: Option<usize>,
    /// Run identifier, so several runs can share a chain (ids and keys derive from it).
    pub run: u64,
    /// Give up after this long.
    pub timeout: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The warehouse receipt watched.
    pub receipt_id: String,
    /// Readings the chain accepted.
    pub accepted: usize,
    /// Readings it refused, with the reason.
    pub refused: Vec<String>,
    /// PLEDGE_ALERT events the pledgee received on its event stream.
    pub alerts: Vec<Event>,
}

const PLEDGEE: &str = "bank-a-finance";
const OWNER: &str = "gearbox";
const ADMIN: &str = "bank-a-admin";
const FLOOR: u64 = 50_000;

struct Client {
    api: VchainApiClient<Channel>,
    chain_id: String,
}

impl Client {
    async fn nonce(&mut self, account: &str, key: &SigningKey) -> anyhow::Result<u64> {
        let request = vchain_wallet::read::request_now(
            GetAccountRequest {
                account_id: account.into(),
            },
            &self.chain_id,
            "GetAccount",
            account,
            key,
        );
        Ok(self
            .api
            .get_account(request)
            .await
            .with_context(|| format!("reading account {account}"))?
            .into_inner()
            .account
            .ok_or_else(|| anyhow!("no account {account}"))?
            .next_nonce)
    }

    /// Signs and submits `op` as `account`, waits for its block; returns the result.
    async fn submit(
        &mut self,
        account: &str,
        key: &SigningKey,
        nonce: u64,
        op: Operation,
    ) -> anyhow::Result<TxResult> {
        let signed = transaction::sign(&transaction::body(&self.chain_id, account, nonce, op), key);
        let response = self
            .api
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(signed),
                wait_for_commit: true,
                timeout_ms: 20_000,
            })
            .await
            .map(|r| r.into_inner());
        match response {
            Ok(r) => r.result.ok_or_else(|| anyhow!("no result")),
            // A rejected transaction is a gRPC error carrying the rule.
            Err(status) => Ok(TxResult {
                code: ErrorCode::InvalidArgument.into(),
                message: status.message().to_owned(),
                ..TxResult::default()
            }),
        }
    }

    async fn ok(
        &mut self,
        account: &str,
        key: &SigningKey,
        op: Operation,
    ) -> anyhow::Result<Vec<Event>> {
        let nonce = self.nonce(account, key).await?;
        let result = self.submit(account, key, nonce, op).await?;
        if result.code() != ErrorCode::Ok {
            bail!("{account}: {}", result.message);
        }
        Ok(result.events)
    }
}

fn derived_key(run: u64, what: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("vchain-sensors {run} {what}")).into())
}

/// Runs the simulation described by `config`.
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    if !(1..=DEVICES_MAX).contains(&config.devices)
        || !(1..=READINGS_MAX).contains(&config.readings)
    {
        bail!("devices must be 1..={DEVICES_MAX} and readings 1..={READINGS_MAX}");
    }
    let started = Instant::now();
    let channel = Channel::from_shared(config.endpoint.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", config.endpoint))?;
    let mut api = VchainApiClient::new(channel);
    let status = api.get_status(GetStatusRequest {}).await?.into_inner();
    let params = status
        .params
        .ok_or_else(|| anyhow!("status has no params"))?;
    let mut client = Client {
        api,
        chain_id: status.chain_id.clone(),
    };
    let keystore = Keystore::load_or_create(&config.dir.join("keystore.json"))?;
    let unlock = |name: &str| {
        keystore
            .unlock(name, vchain_devnet::DEV_PASSPHRASE)
            .with_context(|| format!("unlocking {name}"))
    };
    let (admin, owner, pledgee) = (unlock(ADMIN)?, unlock(OWNER)?, unlock(PLEDGEE)?);
    let ca_pem = std::fs::read_to_string(vchain_devnet::ca_certificate_path(&config.dir, "bank-a"))
        .context("reading bank A's CA certificate")?;
    let ca = vchain_pki::RootCa::from_parts(
        vchain_pki::Certificate::from_pem(&ca_pem)?,
        unlock("bank-a-ca")?,
    )?;

    // The warehouse operator, certified by bank A.
    let operator = format!("depot-{}", config.run);
    let operator_key = derived_key(config.run, "operator");
    let certificate = ca.issue(
        &vchain_pki::Subject {
            organisation: "bank-a".into(),
            common_name: operator.clone(),
            role: vchain_pki::CertRole::Account(vchain_pki::AccountRole::WarehouseOperator),
        },
        &operator_key.verifying_key().to_bytes(),
        ca.validity(),
    )?;
    let uscc = vchain_contracts::validate::uscc_with_check(&format!(
        "9133{:013}",
        config.run % 10_000_000_000_000
    ))
    .ok_or_else(|| anyhow!("no USCC for run {}", config.run))?;
    client
        .ok(
            ADMIN,
            &admin,
            Operation::RegisterIdentity(RegisterIdentity {
                uscc,
                name: format!("Simulated depot {}", config.run),
                role: Role::WarehouseOperator.into(),
                legal_representative: String::new(),
                account_id: operator.clone(),
                public_key: Vec::new(),
                certificate: certificate.to_pem().into_bytes(),
            }),
        )
        .await?;

    // The lot and its dynamic pledge.
    let events = client
        .ok(
            &operator,
            &operator_key,
            Operation::IssueWarehouseReceipt(IssueWarehouseReceipt {
                holder: OWNER.into(),
                sku: "cold-chain pallets".into(),
                quantity: 1_000,
                unit_value: 100,
                currency: "CNY".into(),
                location: "Simulated depot, bay 1".into(),
                description: String::new(),
            }),
        )
        .await?;
    let receipt_id = events
        .first()
        .map(|e| e.receipt_id.clone())
        .ok_or_else(|| anyhow!("no receipt issued"))?;
    let today =
        vchain_contracts::validate::local_day(status.head_time_ms, params.utc_offset_minutes);
    client
        .ok(
            OWNER,
            &owner,
            Operation::RegisterPledge(RegisterPledge {
                receipt_id: receipt_id.clone(),
                pledgee: PLEDGEE.into(),
                secured_amount: 60_000,
                currency: "CNY".into(),
                period_end_date: vchain_contracts::validate::format_date(today + 30),
                collateral_description: "simulated inventory loan".into(),
                modification_code_hash: Sha256::digest(format!("code {}", config.run)).to_vec(),
                mode: PledgeMode::Dynamic.into(),
                floor_value: FLOOR,
                ..RegisterPledge::default()
            }),
        )
        .await?;

    // The fleet.
    let kinds = [DeviceKind::Gate, DeviceKind::Climate, DeviceKind::Gps];
    let mut fleet = Vec::new();
    for i in 0..config.devices {
        let id = format!("sim-{}-{i}", config.run);
        let key = derived_key(config.run, &format!("device {i}"));
        let kind = kinds[i % kinds.len()];
        client
            .ok(
                &operator,
                &operator_key,
                Operation::RegisterDevice(RegisterDevice {
                    device_id: id.clone(),
                    public_key: key.verifying_key().to_bytes().to_vec(),
                    kind: kind.into(),
                    receipt_id: receipt_id.clone(),
                    min_lat_e7: 310_000_000,
                    max_lat_e7: 312_000_000,
                    min_lon_e7: 1_210_000_000,
                    max_lon_e7: 1_212_000_000,
                    min_centi_celsius: 200,
                    max_centi_celsius: 2_500,
                }),
            )
            .await?;
        fleet.push((id, key, kind));
    }

    // The pledgee listens from here on.
    let from_height = client
        .api
        .get_status(GetStatusRequest {})
        .await?
        .into_inner()
        .height
        + 1;
    let subscription = vchain_wallet::read::request_now(
        SubscribeEventsRequest {
            from_height,
            account_id: PLEDGEE.into(),
            ..Default::default()
        },
        &client.chain_id,
        "SubscribeEvents",
        PLEDGEE,
        &pledgee,
    );
    let mut stream = client
        .api
        .subscribe_events(subscription)
        .await?
        .into_inner();

    let mut report = Report {
        receipt_id,
        ..Report::default()
    };
    let mut nonce = client.nonce(&operator, &operator_key).await?;
    for r in 0..config.readings {
        for (n, (id, key, kind)) in fleet.iter().enumerate() {
            if started.elapsed() > config.timeout {
                bail!(
                    "the simulation ran out of time after {} readings",
                    report.accepted
                );
            }
            let breach = config.breach_at == Some(r) && n == 0;
            let measurement = match kind {
                DeviceKind::Gate if breach => Measurement::UnitsOut(600),
                DeviceKind::Gate => Measurement::UnitsOut(1),
                DeviceKind::Climate => Measurement::Climate(Climate {
                    centi_celsius: 1_800,
                    humidity_permille: 450,
                }),
                _ => Measurement::Position(Position {
                    lat_e7: 311_000_000,
                    lon_e7: 1_211_000_000,
                }),
            };
            let bytes = SensorReading {
                device_id: id.clone(),
                counter: r as u64 + 1,
                device_time_ms: vchain_wallet::time::now_ms(),
                measurement: Some(measurement),
            }
            .encode_to_vec();
            let signature = key.sign(&bytes).to_bytes().to_vec();
            let result = client
                .submit(
                    &operator,
                    &operator_key,
                    nonce,
                    Operation::SubmitReading(SubmitReading {
                        reading: bytes,
                        device_signature: signature,
                    }),
                )
                .await?;
            nonce += 1;
            if result.code() == ErrorCode::Ok {
                report.accepted += 1;
            } else {
                report.refused.push(result.message);
            }
        }
    }

    // Collect the alerts that reached the pledgee (bounded wait).
    let wait = Duration::from_secs(3);
    while let Ok(Some(envelope)) = tokio::time::timeout(wait, stream.next()).await {
        // A node's own alerts (not chain events) ride the same stream.
        let Some(event) = envelope?.event else {
            continue;
        };
        if event.kind() == EventKind::PledgeAlert {
            report.alerts.push(event);
        }
    }
    Ok(report)
}
