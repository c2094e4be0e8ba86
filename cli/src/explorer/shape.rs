//! The JSON documents the explorer's pages read, made from the node's messages: every message
//! through the CLI's JSON mapping (`crate::json`: proto names, bytes as hex, enums by name), with
//! what a page needs computed once here (a transaction's hash, signer and operation; a block's
//! counts; the consensus nodes with their roles) rather than in the browser.
//!
//! Owns: shaping. Must not depend on: the network or HTTP.

use std::collections::BTreeSet;

use prost::Message as _;
use serde_json::{json, Value};
use vchain_proto::v1::{
    ConsensusConfig, ErrorCode, GetBlockResponse, GetStatusResponse, GetTransactionResponse,
    SignedTransaction, TransactionBody, TxResult,
};

use crate::{json, render};

/// A block as a row of a list: height, hash, time, proposer, counts, its certificate's signers.
pub(crate) fn block_summary(response: &GetBlockResponse) -> Value {
    let block = response.block.clone().unwrap_or_default();
    let header = block.header.clone().unwrap_or_default();
    let rejected = block
        .results
        .iter()
        .filter(|r| r.code != ErrorCode::Ok as i32)
        .count();
    let events =
        block.results.iter().map(|r| r.events.len()).sum::<usize>() + block.system_events.len();
    json!({
        "height": header.height,
        "hash": hex::encode(&response.block_hash),
        "prev_hash": hex::encode(&header.prev_hash),
        "time_ms": header.timestamp_ms,
        "proposer": header.proposer,
        "tx_count": block.transactions.len(),
        "rejected": rejected,
        "events": events,
        "system_events": block.system_events.len(),
        "certificate": response.certificate.as_ref().map(|c| json!({
            "view": c.view,
            "signers": c.signatures.iter().map(|s| s.node_id.clone()).collect::<Vec<_>>(),
        })),
    })
}

/// A block's page: its summary and header, transactions `from..from + limit` with their results
/// and events, and the chain's own events.
pub(crate) fn block_detail(response: &GetBlockResponse, from: usize, limit: usize) -> Value {
    let block = response.block.clone().unwrap_or_default();
    let transactions: Vec<Value> = block
        .transactions
        .iter()
        .enumerate()
        .skip(from)
        .take(limit)
        .map(|(index, tx)| transaction_row(index, tx, block.results.get(index)))
        .collect();
    json!({
        "summary": block_summary(response),
        "header": json::to_json(&block.header),
        "transactions": transactions,
        "tx_from": from,
        "tx_total": block.transactions.len(),
        "system_events": json::to_json(&block.system_events),
    })
}

/// The fields of a signed transaction a page shows, decoded from its body.
fn decoded(tx: &SignedTransaction) -> Value {
    let hash = hex::encode(vchain_contracts::tx::tx_hash(&tx.body));
    match TransactionBody::decode(tx.body.as_slice()) {
        Ok(body) => json!({
            "hash": hash,
            "signer": body.signer,
            "nonce": body.nonce,
            "chain_id": body.chain_id,
            "operation": body.operation.as_ref().map_or_else(String::new, json::oneof_name),
            "body": json::to_json(&body),
        }),
        Err(e) => json!({
            "hash": hash,
            "signer": "",
            "nonce": 0,
            "chain_id": "",
            "operation": "",
            "body": Value::Null,
            "undecodable": e.to_string(),
        }),
    }
}

/// The result of a transaction: its code by short name, the node's words, its events.
fn result(result: Option<&TxResult>) -> Value {
    match result {
        Some(r) => json!({
            "code": render::result_code(r.code),
            "ok": r.code == ErrorCode::Ok as i32,
            "message": r.message,
            "events": json::to_json(&r.events),
        }),
        None => Value::Null,
    }
}

/// One transaction of a block.
pub(crate) fn transaction_row(
    index: usize,
    tx: &SignedTransaction,
    tx_result: Option<&TxResult>,
) -> Value {
    let mut row = decoded(tx);
    row["index"] = json!(index);
    row["result"] = result(tx_result);
    row
}

/// A transaction's page.
pub(crate) fn transaction(response: &GetTransactionResponse) -> Value {
    let mut page = response
        .transaction
        .as_ref()
        .map_or_else(|| json!({}), decoded);
    page["height"] = json!(response.height);
    page["index"] = json!(response.index);
    page["block_hash"] = json!(hex::encode(&response.block_hash));
    page["time_ms"] = json!(response.time_ms);
    page["public_key"] = json!(response
        .transaction
        .as_ref()
        .map(|t| hex::encode(&t.public_key)));
    page["signature"] = json!(response
        .transaction
        .as_ref()
        .map(|t| hex::encode(&t.signature)));
    page["result"] = result(response.result.as_ref());
    page
}

/// The consensus nodes with what this node knows of each: in the voting membership, the leader
/// (primary), this node itself, refused as a voter. From the proven configuration when the
/// reader may read it; from the status's voters otherwise (without organisations and keys).
pub(crate) fn nodes(status: &GetStatusResponse, config: Option<&ConsensusConfig>) -> Vec<Value> {
    let voters: BTreeSet<&str> = status.voters.iter().map(String::as_str).collect();
    let refused: BTreeSet<&str> = status
        .votes_refused_from
        .iter()
        .map(String::as_str)
        .collect();
    let mut listed: Vec<(String, String, String)> = match config {
        Some(c) => c
            .nodes
            .iter()
            .map(|n| {
                (
                    n.node_id.clone(),
                    n.org_id.clone(),
                    hex::encode(&n.public_key),
                )
            })
            .collect(),
        None => status
            .voters
            .iter()
            .map(|v| (v.clone(), String::new(), String::new()))
            .collect(),
    };
    if !status.node_id.is_empty() && !listed.iter().any(|(id, _, _)| *id == status.node_id) {
        listed.push((status.node_id.clone(), String::new(), String::new()));
    }
    listed
        .into_iter()
        .map(|(id, org, key)| {
            json!({
                "node_id": id,
                "org_id": org,
                "public_key": key,
                "voter": voters.contains(id.as_str()),
                "leader": status.leader == id,
                "this_node": status.node_id == id,
                "votes_refused": refused.contains(id.as_str()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::{
        Block, BlockHeader, CommitCertificate, CommitSignature, ConsensusNode, Event, EventKind,
        SplitVoucher,
    };

    fn signed(nonce: u64) -> SignedTransaction {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let op = Operation::SplitVoucher(SplitVoucher {
            voucher_id: "V000000000001".into(),
            amounts: vec![6, 4],
        });
        vchain_wallet::transaction::sign(
            &vchain_wallet::transaction::body("vchain-dev", "gearbox", nonce, op),
            &key,
        )
    }

    fn block() -> GetBlockResponse {
        let event = Event {
            kind: EventKind::VoucherSplit as i32,
            height: 9,
            ..Default::default()
        };
        GetBlockResponse {
            block: Some(Block {
                header: Some(BlockHeader {
                    height: 9,
                    proposer: "node-1".into(),
                    timestamp_ms: 1_700_000_000_000,
                    ..Default::default()
                }),
                transactions: vec![signed(1), signed(2), signed(3)],
                results: vec![
                    TxResult {
                        events: vec![event.clone(), event],
                        ..Default::default()
                    },
                    TxResult {
                        code: ErrorCode::NotHolder as i32,
                        message: "NOT_HOLDER: castings does not hold it".into(),
                        ..Default::default()
                    },
                    TxResult::default(),
                ],
                system_events: vec![Event::default()],
            }),
            block_hash: vec![0xAB; 32],
            certificate: Some(CommitCertificate {
                height: 9,
                view: 2,
                block_hash: vec![0xAB; 32],
                signatures: vec![CommitSignature {
                    node_id: "n0".into(),
                    signature: vec![1; 64],
                }],
            }),
        }
    }

    #[test]
    fn a_block_row_counts_transactions_rejections_and_events() {
        let s = block_summary(&block());
        assert_eq!(s["height"], 9);
        assert_eq!(s["hash"], "ab".repeat(32));
        assert_eq!(s["tx_count"], 3);
        assert_eq!(s["rejected"], 1);
        assert_eq!(
            s["events"], 3,
            "two of the first transaction and one of the chain"
        );
        assert_eq!(s["certificate"]["signers"], json!(["n0"]));
        assert_eq!(s["certificate"]["view"], 2);
        let bare = block_summary(&GetBlockResponse::default());
        assert_eq!(bare["certificate"], Value::Null);
        assert_eq!(bare["tx_count"], 0);
    }

    #[test]
    fn a_block_page_pages_its_transactions_with_results() {
        let d = block_detail(&block(), 1, 5);
        assert_eq!(d["tx_total"], 3);
        assert_eq!(d["tx_from"], 1);
        let txs = d["transactions"].as_array().expect("list");
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0]["index"], 1);
        assert_eq!(txs[0]["signer"], "gearbox");
        assert_eq!(txs[0]["nonce"], 2);
        assert_eq!(txs[0]["operation"], "split_voucher");
        assert_eq!(txs[0]["result"]["code"], "NOT_HOLDER");
        assert_eq!(txs[0]["result"]["ok"], false);
        assert_eq!(
            txs[0]["hash"],
            hex::encode(vchain_contracts::tx::tx_hash(&signed(2).body))
        );
        assert_eq!(txs[1]["result"]["ok"], true);
        assert_eq!(d["system_events"].as_array().map(Vec::len), Some(1));
        let first = block_detail(&block(), 0, 1);
        assert_eq!(
            first["transactions"][0]["result"]["events"][0]["kind"],
            "EVENT_KIND_VOUCHER_SPLIT"
        );
    }

    #[test]
    fn an_undecodable_body_is_shown_as_such() {
        let tx = SignedTransaction {
            body: vec![0xFF, 0xFF, 0xFF],
            ..Default::default()
        };
        let row = transaction_row(0, &tx, None);
        assert!(row["undecodable"].is_string());
        assert_eq!(row["result"], Value::Null);
        assert_eq!(
            row["hash"],
            hex::encode(vchain_contracts::tx::tx_hash(&tx.body))
        );
    }

    #[test]
    fn a_transaction_page_has_its_place_and_result() {
        let page = transaction(&GetTransactionResponse {
            transaction: Some(signed(4)),
            result: Some(TxResult::default()),
            height: 12,
            index: 3,
            block_hash: vec![1; 32],
            time_ms: 5,
        });
        assert_eq!(page["height"], 12);
        assert_eq!(page["index"], 3);
        assert_eq!(page["signer"], "gearbox");
        assert_eq!(page["result"]["code"], "OK");
        assert_eq!(page["block_hash"], "01".repeat(32));
        assert_eq!(
            page["body"]["operation"]["split_voucher"]["amounts"],
            json!([6, 4])
        );
    }

    #[test]
    fn nodes_carry_their_roles() {
        let status = GetStatusResponse {
            node_id: "n1".into(),
            leader: "n0".into(),
            voters: vec!["n0".into(), "n1".into()],
            votes_refused_from: vec!["n2".into()],
            ..Default::default()
        };
        let config = ConsensusConfig {
            nodes: ["n0", "n1", "n2"]
                .iter()
                .map(|id| ConsensusNode {
                    node_id: (*id).into(),
                    org_id: "bank-a".into(),
                    public_key: vec![2; 32],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let listed = nodes(&status, Some(&config));
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0]["leader"], true);
        assert_eq!(listed[1]["this_node"], true);
        assert_eq!(listed[2]["voter"], false);
        assert_eq!(listed[2]["votes_refused"], true);
        assert_eq!(listed[0]["org_id"], "bank-a");
        // Without the proof: the voters, and this node even when it is not one.
        let solo = GetStatusResponse {
            node_id: "dev".into(),
            ..Default::default()
        };
        let listed = nodes(&solo, None);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["this_node"], true);
        assert_eq!(listed[0]["voter"], false);
    }
}
