//! The identity hot paths: verifying an account's certificate against its organisation's root CA
//! (once per registration or key rotation, and for every genesis account), and authenticating a
//! signed read (once per query: the read statement and one ed25519 verification under the
//! chain's rule; the account lookup is a single state read on top).
//!
//! `cargo test --workspace --locked --release --bench identity -- --bench` (env: BENCH_ITERATIONS,
//! default 2,000). Bounded: BENCH_ITERATIONS of each.

use std::time::Instant;

use ed25519_dalek::SigningKey;
use vchain_pki::{AccountRole, CertRole, RootCa, Subject, Validity};

fn iterations() -> usize {
    // Without `--bench` (e.g. `cargo test --benches`) this is a smoke run.
    if !std::env::args().any(|a| a == "--bench") {
        return 20;
    }
    std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn report(name: &str, n: usize, started: Instant) {
    let elapsed = started.elapsed();
    println!(
        "{name:<34} n={n:<6} mean={:>8.1} us  per second={:>9.0}",
        elapsed.as_secs_f64() * 1e6 / n as f64,
        n as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let n = iterations();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "machine: {cpu}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let start_ms = 1_767_225_600_000;
    let validity = Validity {
        not_before_ms: start_ms,
        not_after_ms: start_ms + 365 * 86_400_000,
    };
    let ca = RootCa::generate("bank-a", validity).expect("root CA");
    let key = SigningKey::from_bytes(&[7; 32]);
    let subject = Subject {
        organisation: "bank-a".into(),
        common_name: "acme-parts".into(),
        role: CertRole::Account(AccountRole::Supplier),
    };
    let leaf = ca
        .issue(&subject, &key.verifying_key().to_bytes(), validity)
        .expect("leaf");
    let ca_der = ca.certificate().as_der().to_vec();
    let at_ms = start_ms + 86_400_000;

    let started = Instant::now();
    for _ in 0..n {
        let certified = vchain_pki::verify(leaf.as_der(), &ca_der, at_ms).expect("valid");
        std::hint::black_box(certified);
    }
    report("certificate verify (leaf + root)", n, started);

    let pem = leaf.to_pem();
    let started = Instant::now();
    for _ in 0..n {
        let checked = vchain_contracts::check_account_certificate(
            Some(&ca_der),
            "bank-a",
            "acme-parts",
            vchain_proto::v1::Role::Supplier,
            pem.as_bytes(),
            &[],
            at_ms,
        )
        .expect("valid");
        std::hint::black_box(checked);
    }
    report("registration check (PEM, rules)", n, started);

    let request = vchain_proto::v1::GetVoucherRequest {
        voucher_id: "V000000000001".into(),
    };
    let bytes = prost::Message::encode_to_vec(&request);
    let signature_hex = vchain_wallet::read::signature(
        "vchain-dev",
        "GetVoucher",
        "acme-parts",
        at_ms,
        &bytes,
        &key,
    );
    let verifying = key.verifying_key();
    let started = Instant::now();
    for _ in 0..n {
        let digest =
            vchain_contracts::read::request_digest(&prost::Message::encode_to_vec(&request));
        let text = vchain_contracts::read::statement(
            "vchain-dev",
            "GetVoucher",
            "acme-parts",
            at_ms,
            &digest,
        );
        let raw: [u8; 64] = hex::decode(&signature_hex)
            .expect("hex")
            .try_into()
            .expect("64 bytes");
        assert!(vchain_contracts::signature::verify(
            verifying.as_bytes(),
            &text,
            &raw
        ));
    }
    report("signed read authentication", n, started);

    // A device reading as the contract checks it: decode, then one verification of the device's
    // signature over the exact bytes (the chain's rule, `vchain_contracts::signature`).
    let device_key = SigningKey::from_bytes(&[9; 32]);
    let reading = prost::Message::encode_to_vec(&vchain_proto::v1::SensorReading {
        device_id: "gate-1".into(),
        counter: 1,
        device_time_ms: at_ms,
        measurement: Some(vchain_proto::v1::sensor_reading::Measurement::UnitsOut(3)),
    });
    let device_signature = ed25519_dalek::Signer::sign(&device_key, &reading);
    let device_verifying = device_key.verifying_key();
    let started = Instant::now();
    for _ in 0..n {
        let decoded: vchain_proto::v1::SensorReading =
            prost::Message::decode(reading.as_slice()).expect("decodes");
        assert!(vchain_contracts::signature::verify(
            device_verifying.as_bytes(),
            &reading,
            &device_signature.to_bytes()
        ));
        std::hint::black_box(decoded);
    }
    report("sensor reading check (decode, verify)", n, started);
}
