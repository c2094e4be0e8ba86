//! The `--json` documents of wire messages: each message through its derived `Serialize`
//! (vchain's JSON mapping, `vchain_proto` feature `serde`: proto field names, bytes as lowercase
//! hex, enums by name, a oneof as `{field: value}`; ADR 0013), then one presentation pass.
//!
//! The pass applies the same rules, by field name, to every message, so a new field or message
//! needs no code here:
//! - a certificate (a bytes field whose name ends in `certificate`) is shown as its size and
//!   SHA-256, `null` when absent, with its sibling fields `<name>_<detail>` moved into it as
//!   `<detail>` (an account's `certificate_serial` becomes `certificate.serial`);
//! - a secret (`modification_code`) is shown only as `<name>_sha256`;
//! - a signed transaction (`body`, `public_key`, `signature`) gets its `hash` and its
//!   `decoded_body`.
//!
//! Must not depend on: anything but the messages and their mapping; text for people is
//! `render.rs`.

use prost::Message as _;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use vchain_proto::v1::TransactionBody;

/// Suffix of the bytes fields holding a certificate (DER or PEM), shown by digest.
const CERTIFICATE_SUFFIX: &str = "certificate";
/// Bytes fields that are secrets between parties: shown as `<name>_sha256` only.
const SECRET_FIELDS: &[&str] = &["modification_code"];
/// The fields of a signed transaction (`SignedTransaction`), whose body is shown decoded.
const SIGNED_TRANSACTION_FIELDS: [&str; 3] = ["body", "public_key", "signature"];

/// A message (or a oneof, or a list of them) as its `--json` document.
pub(crate) fn to_json<M: Serialize + ?Sized>(message: &M) -> Value {
    let mut value = serde_json::to_value(message)
        .unwrap_or_else(|e| json!({ "error": format!("cannot encode as JSON: {e}") }));
    present(&mut value);
    value
}

/// The proto name of the field set in a oneof, e.g. `split_voucher` for an operation.
pub(crate) fn oneof_name<T: Serialize + ?Sized>(oneof: &T) -> String {
    match serde_json::to_value(oneof) {
        Ok(Value::Object(fields)) => fields.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The presentation rules (see the module docs), depth first: a message's fields are presented
/// before the message.
fn present(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(present),
        Value::Object(fields) => {
            fields.values_mut().for_each(present);
            summarise_certificates(fields);
            hide_secrets(fields);
            decode_signed_transaction(fields);
        }
        _ => {}
    }
}

/// The bytes of a hex field, or `None` when `value` is not one.
fn hex_bytes(value: Option<&Value>) -> Option<Vec<u8>> {
    value
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
}

fn summarise_certificates(fields: &mut Map<String, Value>) {
    let names: Vec<String> = fields
        .keys()
        .filter(|name| name.ends_with(CERTIFICATE_SUFFIX))
        .cloned()
        .collect();
    for name in names {
        let Some(certificate) = hex_bytes(fields.get(&name)) else {
            continue;
        };
        let prefix = format!("{name}_");
        let detail_names: Vec<String> = fields
            .keys()
            .filter(|key| key.starts_with(&prefix))
            .cloned()
            .collect();
        let mut summary = json!({
            "bytes": certificate.len(),
            "sha256": hex::encode(Sha256::digest(&certificate)),
        });
        for detail in detail_names {
            if let Some(value) = fields.remove(&detail) {
                summary[&detail[prefix.len()..]] = value;
            }
        }
        // An absent certificate has no details worth showing (they are the defaults).
        if certificate.is_empty() {
            summary = Value::Null;
        }
        fields.insert(name, summary);
    }
}

fn hide_secrets(fields: &mut Map<String, Value>) {
    for &name in SECRET_FIELDS {
        if let Some(secret) = hex_bytes(fields.get(name)) {
            fields.remove(name);
            fields.insert(
                format!("{name}_sha256"),
                json!(hex::encode(Sha256::digest(&secret))),
            );
        }
    }
}

fn decode_signed_transaction(fields: &mut Map<String, Value>) {
    if !SIGNED_TRANSACTION_FIELDS
        .iter()
        .all(|name| fields.contains_key(*name))
    {
        return;
    }
    let Some(body) = hex_bytes(fields.get("body")) else {
        return;
    };
    let decoded = TransactionBody::decode(body.as_slice())
        .map(|b| to_json(&b))
        .unwrap_or(Value::Null);
    fields.insert(
        "hash".to_owned(),
        json!(hex::encode(vchain_contracts::tx::tx_hash(&body))),
    );
    fields.insert("decoded_body".to_owned(), decoded);
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::submit_proposal::Action;
    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::{
        Account, AmendPledge, Event, EventKind, GetStatusResponse, Pledge, PledgeHealth, Role,
        SplitVoucher,
    };

    #[test]
    fn status_carries_the_consensus_health_fields() {
        let v = to_json(&GetStatusResponse {
            voting_forbidden: true,
            votes_refused_from: vec!["node-3".into()],
            blocks_ahead_of_clock: 2,
            ..Default::default()
        });
        assert_eq!(v["voting_forbidden"], true);
        assert_eq!(v["votes_refused_from"], json!(["node-3"]));
        assert_eq!(v["blocks_ahead_of_clock"], 2);
    }

    #[test]
    fn enums_by_name_bytes_as_hex_integers_as_numbers() {
        let e = Event {
            kind: EventKind::VoucherIssued as i32,
            tx_hash: vec![0xAB, 0x01],
            role: Role::CoreEnterprise as i32,
            height: 7,
            ..Default::default()
        };
        let v = to_json(&e);
        assert_eq!(v["tx_hash"], "ab01");
        assert_eq!(v["kind"], "EVENT_KIND_VOUCHER_ISSUED");
        assert_eq!(v["role"], "ROLE_CORE_ENTERPRISE");
        assert_eq!(v["height"], 7);
        let unknown = to_json(&Event {
            role: 99,
            ..Default::default()
        });
        assert_eq!(unknown["role"], "UNKNOWN_99");
        // The one enum kept a number, because scripts read it so.
        let p = to_json(&Pledge {
            health: PledgeHealth::Breached as i32,
            ..Default::default()
        });
        assert_eq!(p["health"], 3);
        assert_eq!(p["status"], "PLEDGE_STATUS_UNSPECIFIED");
    }

    #[test]
    fn a_signed_transaction_shows_its_hash_and_decoded_body() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let op = Operation::SplitVoucher(SplitVoucher {
            voucher_id: "V1".into(),
            amounts: vec![1, 2],
        });
        assert_eq!(oneof_name(&op), "split_voucher");
        let tx = vchain_wallet::transaction::sign(
            &vchain_wallet::transaction::body("c", "s", 4, op),
            &key,
        );
        let v = to_json(&tx);
        assert_eq!(v["decoded_body"]["nonce"], 4);
        assert_eq!(
            v["decoded_body"]["operation"]["split_voucher"]["amounts"],
            json!([1, 2])
        );
        assert_eq!(
            v["hash"],
            hex::encode(vchain_contracts::tx::tx_hash(&tx.body))
        );
        assert_eq!(v["body"], hex::encode(&tx.body));
    }

    #[test]
    fn certificates_by_digest_secrets_by_hash() {
        let op = Operation::SubmitProposal(vchain_proto::v1::SubmitProposal {
            action: Some(Action::RotateOrganisationCa(
                vchain_proto::v1::RotateOrganisationCa {
                    org_id: "bank-b".into(),
                    root_ca_certificate: b"cert".to_vec(),
                },
            )),
            title: "rotate".into(),
            reason: String::new(),
        });
        assert_eq!(
            to_json(&op),
            json!({ "submit_proposal": {
                "title": "rotate", "reason": "",
                "action": { "rotate_organisation_ca": {
                    "org_id": "bank-b",
                    "root_ca_certificate": { "bytes": 4, "sha256": hex::encode(Sha256::digest(b"cert")) },
                }},
            }})
        );

        let without = to_json(&Account::default());
        assert_eq!(without["certificate"], Value::Null);
        assert!(without.get("certificate_serial").is_none(), "{without}");
        let with = to_json(&Account {
            certificate: b"der".to_vec(),
            certificate_serial: vec![0x01, 0x02],
            certificate_not_after_ms: 5,
            certificate_revoked: true,
            ..Default::default()
        });
        assert_eq!(
            with["certificate"],
            json!({
                "bytes": 3, "sha256": hex::encode(Sha256::digest(b"der")),
                "serial": "0102", "not_before_ms": 0, "not_after_ms": 5, "revoked": true,
            })
        );

        let amend = to_json(&AmendPledge {
            registration_number: "R1".into(),
            modification_code: b"secret".to_vec(),
            ..Default::default()
        });
        assert!(amend.get("modification_code").is_none(), "{amend}");
        assert_eq!(
            amend["modification_code_sha256"],
            hex::encode(Sha256::digest(b"secret"))
        );
    }
}
