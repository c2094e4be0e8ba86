//! The offline verifier: checks a [`TraceBundle`] against nothing but the chain's genesis file.
//!
//! The checks, in the order they run (docs/verification.md states them for other
//! implementations):
//! 1. sizes against the named limits ([`crate::limits`]), before anything else;
//! 2. format version and chain id;
//! 3. canonical order of every repeated field (no duplicates), the tip below no header;
//! 4. the validator walk from genesis over `validator_changes`, each result proven in its
//!    block's `result_root`;
//! 5. every header's certificate (headers and tip) against the validators of its height;
//! 6. every record's state proof against the tip's state root, and every record explained;
//! 7. the tip's `p/consensus` equals the walk's end, its `change_heights` the changes given;
//! 8. the lineage (one root, every child present and pointing back, amounts sum);
//! 9. every voucher's events: each matches its key, their number is the proven count;
//! 10. every transaction an event names: present, hash, signer, its key bound to the signer
//!     (`k/{key hex}`), signature, inclusion; and nothing unreferenced.
//!
//! Must not depend on: any I/O or clock. Total: any input gives `Ok` or a [`VerifyError`],
//! never a panic.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use vchain_contracts::block::{block_hash, result_hash};
use vchain_contracts::commit_certificate;
use vchain_contracts::genesis::Genesis;
use vchain_contracts::keys::{self, EventPosition};
use vchain_contracts::merkle::verify_inclusion;
use vchain_contracts::signature;
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_proto::v1::{
    BlockHeader, CertifiedHeader, CommitCertificate, ConsensusConfig, Event, ProvenEntry,
    ProvenTransaction, TraceBundle, TransactionBody, Voucher,
};

use crate::error::VerifyError;
use crate::limits::{
    EVENTS_MAX, EVENTS_PER_VOUCHER_MAX, FORMAT_VERSION, HEADERS_MAX, RECORDS_MAX, TRANSACTIONS_MAX,
    VALIDATOR_CHANGES_MAX, VOUCHERS_MAX,
};
use crate::lineage::{VerifiedEvent, VerifiedLineage, VerifiedTip, VerifiedVoucher};
use crate::validators::{comparable, ValidatorWalk};

/// Printable form of a state key (ids are text; event positions are binary, shown as hex).
pub(crate) fn printable(key: &[u8]) -> String {
    if let Some((id, position)) = parse_event_key(key) {
        return format!("e/{id}/{}", hex::encode(position.bytes()));
    }
    String::from_utf8(key.to_vec()).unwrap_or_else(|_| format!("0x{}", hex::encode(key)))
}

/// What a state key of a bundle is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RecordKind {
    Voucher(String),
    EventCount(String),
    Event(String, EventPosition),
    KeyBinding(Vec<u8>),
    Consensus,
}

fn parse_event_key(key: &[u8]) -> Option<(String, EventPosition)> {
    let rest = key.strip_prefix(b"e/")?;
    let split = rest.len().checked_sub(EventPosition::LEN + 1)?;
    let (id, tail) = rest.split_at(split);
    let position = EventPosition::from_bytes(tail.strip_prefix(b"/")?)?;
    let id = std::str::from_utf8(id).ok()?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some((id.to_owned(), position))
}

fn id_after(key: &[u8], prefix: &[u8]) -> Option<String> {
    let id = std::str::from_utf8(key.strip_prefix(prefix)?).ok()?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}

fn classify(key: &[u8]) -> Option<RecordKind> {
    if key == keys::CONSENSUS {
        return Some(RecordKind::Consensus);
    }
    if let Some((id, position)) = parse_event_key(key) {
        return Some(RecordKind::Event(id, position));
    }
    if let Some(id) = id_after(key, b"v/") {
        return Some(RecordKind::Voucher(id));
    }
    if let Some(public_key) = key
        .strip_prefix(b"k/")
        .and_then(|hex_key| hex::decode(hex_key).ok())
        .filter(|public_key| keys::key_binding(public_key) == key)
    {
        return Some(RecordKind::KeyBinding(public_key));
    }
    id_after(key, b"ec/").map(RecordKind::EventCount)
}

fn too_large(what: &'static str, got: usize, max: usize) -> Result<(), VerifyError> {
    if got > max {
        return Err(VerifyError::TooLarge { what, got, max });
    }
    Ok(())
}

fn missing(what: impl Into<String>) -> VerifyError {
    VerifyError::MissingField { what: what.into() }
}

fn hash32(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

/// A header with its certificate, both present.
struct Certified<'a> {
    header: &'a BlockHeader,
    certificate: &'a CommitCertificate,
}

fn certified<'a>(entry: &'a CertifiedHeader, what: &str) -> Result<Certified<'a>, VerifyError> {
    Ok(Certified {
        header: entry
            .header
            .as_ref()
            .ok_or_else(|| missing(format!("{what}.header")))?,
        certificate: entry
            .certificate
            .as_ref()
            .ok_or_else(|| missing(format!("{what}.certificate")))?,
    })
}

/// A voucher's checked events: position, printable key, event.
type History = Vec<(EventPosition, String, Event)>;

/// The certified headers of a bundle by height, the tip's included.
struct Headers<'a> {
    tip: &'a BlockHeader,
    others: &'a BTreeMap<u64, Certified<'a>>,
}

impl<'a> Headers<'a> {
    /// The header of `height`, or which header is missing and what needs it.
    fn at(
        &self,
        height: u64,
        needed_by: impl FnOnce() -> String,
    ) -> Result<&'a BlockHeader, VerifyError> {
        if height == self.tip.height {
            return Ok(self.tip);
        }
        self.others
            .get(&height)
            .map(|c| c.header)
            .ok_or_else(|| VerifyError::HeaderMissing {
                height,
                needed_by: needed_by(),
            })
    }
}

/// Checks `bundle` against `genesis` alone and returns what it proves. No network, no clock:
/// the result says the lineage is what the chain that started from `genesis` holds at the tip,
/// as certified by its validators (docs/verification.md states the trust assumption).
pub fn verify(bundle: &TraceBundle, genesis: &Genesis) -> Result<VerifiedLineage, VerifyError> {
    // 1. Sizes first: nothing below runs on a bundle past a limit.
    too_large("records", bundle.records.len(), RECORDS_MAX)?;
    too_large("transactions", bundle.transactions.len(), TRANSACTIONS_MAX)?;
    too_large("headers", bundle.headers.len(), HEADERS_MAX)?;
    too_large(
        "validator changes",
        bundle.validator_changes.len(),
        VALIDATOR_CHANGES_MAX,
    )?;

    // 2. Format and chain.
    if bundle.format_version != FORMAT_VERSION {
        return Err(VerifyError::FormatVersion {
            got: bundle.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let chain_id = genesis.chain_id.as_str();
    if bundle.chain_id != chain_id {
        return Err(VerifyError::ChainId {
            what: "the bundle".into(),
            got: bundle.chain_id.clone(),
            genesis: chain_id.into(),
        });
    }
    if chain_id.len() > commit_certificate::CHAIN_ID_BYTES_MAX {
        return Err(VerifyError::ChainId {
            what: "the genesis file (too long an id)".into(),
            got: chain_id.into(),
            genesis: chain_id.into(),
        });
    }

    // 3. Structure: every header present and canonical order everywhere.
    let tip = certified(bundle.tip.as_ref().ok_or_else(|| missing("tip"))?, "tip")?;
    let tip_height = tip.header.height;
    let mut headers: BTreeMap<u64, Certified<'_>> = BTreeMap::new();
    for (position, entry) in bundle.headers.iter().enumerate() {
        let entry = certified(entry, &format!("headers[{position}]"))?;
        let height = entry.header.height;
        if headers
            .last_key_value()
            .is_some_and(|(&last, _)| last >= height)
            || height >= tip_height
        {
            return Err(VerifyError::Order {
                what: "headers",
                at: format!("header {height} (the tip is {tip_height})"),
            });
        }
        headers.insert(height, entry);
    }
    let header_at = Headers {
        tip: tip.header,
        others: &headers,
    };
    check_order(
        "records",
        bundle.records.iter().map(|r| r.key.as_slice()),
        printable,
    )?;
    check_order(
        "transactions",
        bundle.transactions.iter().map(|t| (t.height, t.index)),
        |(height, index)| format!("{height}/{index}"),
    )?;
    check_order(
        "validator_changes",
        bundle.validator_changes.iter().map(|c| (c.height, c.index)),
        |(height, index)| format!("{height}/{index}"),
    )?;

    // 4. The validator walk: each change proven in its (not yet certificate-checked) block.
    let mut walk = ValidatorWalk::from_genesis(genesis.consensus_config())?;
    let mut referenced_heights = BTreeSet::new();
    for change in &bundle.validator_changes {
        let (height, index) = (change.height, change.index);
        let where_ = || format!("validator change {height}/{index}");
        let result = change
            .result
            .as_ref()
            .ok_or_else(|| missing(format!("{}.result", where_())))?;
        if height > tip_height {
            return Err(VerifyError::Order {
                what: "validator_changes",
                at: format!("{height}/{index} above the tip {tip_height}"),
            });
        }
        let header = header_at.at(height, where_)?;
        if !result.message.is_empty() {
            return Err(VerifyError::ValidatorChangeInvalid {
                height,
                index,
                why: "its result carries a message; blocks carry none".into(),
            });
        }
        let root = hash32(&header.result_root).unwrap_or_default();
        verify_inclusion(
            &result_hash(result),
            u64::from(index),
            u64::from(header.tx_count),
            &change.path,
            &root,
        )
        .map_err(|source| VerifyError::InclusionInvalid {
            what: "result",
            root: "result_root",
            height,
            index,
            source,
        })?;
        walk.apply(height, index, result)?;
        referenced_heights.insert(height);
    }

    // 5. Certificates, ascending, each against the set of its height.
    let check_certificate = |c: &Certified<'_>| -> Result<(), VerifyError> {
        let height = c.header.height;
        if c.header.chain_id != chain_id {
            return Err(VerifyError::ChainId {
                what: format!("header {height}"),
                got: c.header.chain_id.clone(),
                genesis: chain_id.into(),
            });
        }
        let hash = block_hash(c.header);
        if c.certificate.height != height || c.certificate.block_hash != hash {
            return Err(VerifyError::CertificateMismatch {
                height,
                block_hash: hex::encode(hash),
                named_height: c.certificate.height,
                named_hash: hex::encode(&c.certificate.block_hash),
            });
        }
        commit_certificate::verify(chain_id, walk.set_of(height), c.certificate)
            .map_err(|source| VerifyError::CertificateInvalid { height, source })
    };
    for entry in headers.values() {
        check_certificate(entry)?;
    }
    check_certificate(&tip)?;

    // 6. Every record proven against the tip's state root, and of a kind the bundle may hold.
    let state_root = hash32(&tip.header.state_root).unwrap_or_default();
    let mut vouchers: BTreeMap<String, Voucher> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut events: BTreeMap<String, Vec<(EventPosition, &ProvenEntry)>> = BTreeMap::new();
    let mut consensus: Option<ConsensusConfig> = None;
    let mut bindings: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for record in &bundle.records {
        let key = printable(&record.key);
        let proof = record
            .proof
            .as_ref()
            .ok_or_else(|| missing(format!("the proof of record {key}")))?;
        vchain_ledger::verify_proof(&state_root, &record.key, Some(&record.value), proof).map_err(
            |source| VerifyError::StateProofInvalid {
                key: key.clone(),
                tip: tip_height,
                source,
            },
        )?;
        let malformed = |why: String| VerifyError::RecordMalformed {
            key: key.clone(),
            why,
        };
        match classify(&record.key) {
            None => {
                return Err(VerifyError::RecordUnexpected {
                    key,
                    voucher_id: bundle.voucher_id.clone(),
                })
            }
            Some(RecordKind::Consensus) => {
                consensus = Some(
                    ConsensusConfig::decode(record.value.as_slice())
                        .map_err(|e| malformed(format!("not a ConsensusConfig: {e}")))?,
                );
            }
            Some(RecordKind::Voucher(id)) => {
                let voucher = Voucher::decode(record.value.as_slice())
                    .map_err(|e| malformed(format!("not a Voucher: {e}")))?;
                if voucher.id != id {
                    return Err(malformed(format!(
                        "the record is of voucher {}",
                        voucher.id
                    )));
                }
                vouchers.insert(id, voucher);
            }
            Some(RecordKind::EventCount(id)) => {
                let count = keys::decode_event_count(&record.value).ok_or_else(|| {
                    malformed(format!("{} bytes, not an 8-byte count", record.value.len()))
                })?;
                counts.insert(id, count);
            }
            Some(RecordKind::Event(id, position)) => {
                events.entry(id).or_default().push((position, record));
            }
            Some(RecordKind::KeyBinding(public_key)) => {
                let account = String::from_utf8(record.value.clone())
                    .map_err(|_| malformed("the bound account id is not UTF-8".into()))?;
                bindings.insert(public_key, account);
            }
        }
    }
    too_large("vouchers", vouchers.len(), VOUCHERS_MAX)?;

    // 7. The consensus record at the tip: the walk's end, with exactly the changes given.
    let consensus = consensus.ok_or_else(|| VerifyError::RecordMissing {
        key: printable(keys::CONSENSUS),
    })?;
    let given: Vec<u64> = referenced_heights.iter().copied().collect();
    if consensus.change_heights != given {
        return Err(VerifyError::ValidatorChangesIncomplete {
            proven: consensus.change_heights.clone(),
            given,
        });
    }
    if comparable(&consensus) != *walk.config() {
        return Err(VerifyError::ConsensusMismatch {
            why: describe_config_difference(&comparable(&consensus), walk.config()),
        });
    }

    // 8. The lineage.
    let order = check_lineage(&bundle.voucher_id, &vouchers)?;
    for id in events.keys().chain(counts.keys()) {
        if !vouchers.contains_key(id) {
            let key = if counts.contains_key(id) && !events.contains_key(id) {
                keys::voucher_event_count(id)
            } else {
                keys::voucher_events_prefix(id)
            };
            return Err(VerifyError::RecordUnexpected {
                key: printable(&key),
                voucher_id: bundle.voucher_id.clone(),
            });
        }
    }

    // 9. Events: each agrees with its key, and each voucher has exactly its proven count.
    let mut checked: Vec<(String, History)> = Vec::new();
    let mut total_events = 0usize;
    for id in &order {
        let list = events.get(id).map(Vec::as_slice).unwrap_or_default();
        let proven = *counts.get(id).ok_or_else(|| VerifyError::RecordMissing {
            key: printable(&keys::voucher_event_count(id)),
        })?;
        if u64::try_from(list.len()).ok() != Some(proven) {
            return Err(VerifyError::EventCountMismatch {
                voucher_id: id.clone(),
                proven,
                given: list.len(),
            });
        }
        too_large("events of one voucher", list.len(), EVENTS_PER_VOUCHER_MAX)?;
        total_events = total_events.saturating_add(list.len());
        too_large("events", total_events, EVENTS_MAX)?;
        let mut history = Vec::with_capacity(list.len());
        for (position, record) in list {
            let key = printable(&record.key);
            let event = check_event(id, *position, record, &key, tip_height)?;
            history.push((*position, key, event));
        }
        checked.push((id.clone(), history));
    }

    // 10. Transactions: every one an event names is present and checks; none is unnamed.
    let transactions: BTreeSet<(u64, u32)> = bundle
        .transactions
        .iter()
        .map(|t| (t.height, t.index))
        .collect();
    let mut referenced_transactions: BTreeMap<(u64, u32), Vec<(&Event, &str)>> = BTreeMap::new();
    for (_, history) in &checked {
        for (position, key, event) in history {
            if position.tx_index == u32::MAX {
                continue;
            }
            let at = (position.height, position.tx_index);
            if !transactions.contains(&at) {
                return Err(VerifyError::TransactionMissing {
                    key: key.clone(),
                    tx_hash: hex::encode(&event.tx_hash),
                    height: at.0,
                    index: at.1,
                });
            }
            referenced_transactions
                .entry(at)
                .or_default()
                .push((event, key.as_str()));
        }
    }
    let mut used_bindings: BTreeSet<&[u8]> = BTreeSet::new();
    for transaction in &bundle.transactions {
        let at = (transaction.height, transaction.index);
        let Some(naming) = referenced_transactions.get(&at) else {
            return Err(VerifyError::TransactionUnreferenced {
                height: at.0,
                index: at.1,
            });
        };
        check_transaction(transaction, naming, chain_id, &header_at, &bindings)?;
        referenced_heights.insert(transaction.height);
        if let Some(signed) = &transaction.transaction {
            used_bindings.insert(signed.public_key.as_slice());
        }
    }
    if let Some(unused) = bindings
        .keys()
        .find(|k| !used_bindings.contains(k.as_slice()))
    {
        return Err(VerifyError::RecordUnexpected {
            key: printable(&keys::key_binding(unused)),
            voucher_id: bundle.voucher_id.clone(),
        });
    }
    for &height in headers.keys() {
        if !referenced_heights.contains(&height) {
            return Err(VerifyError::HeaderUnreferenced { height });
        }
    }

    let tip_hash = block_hash(tip.header);
    let tip_set = walk.set_of(tip_height);
    let tip_report = VerifiedTip {
        height: tip_height,
        block_hash: hex::encode(tip_hash),
        timestamp_ms: tip.header.timestamp_ms,
        state_root: hex::encode(state_root),
        signers: tip
            .certificate
            .signatures
            .iter()
            .map(|s| s.node_id.clone())
            .collect(),
        validators: tip_set.len(),
        quorum: tip_set.quorum(),
    };
    let root_id = order.first().cloned().unwrap_or_default();
    let vouchers = checked
        .into_iter()
        .map(|(id, history)| VerifiedVoucher {
            voucher: vouchers[&id].clone(),
            events: history
                .into_iter()
                .map(|(position, _, event)| {
                    let tx_index = (position.tx_index != u32::MAX).then_some(position.tx_index);
                    VerifiedEvent {
                        height: position.height,
                        tx_index,
                        event_index: position.event_index,
                        signer: tx_index.map(|_| event.actor.clone()),
                        event,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(VerifiedLineage {
        chain_id: chain_id.into(),
        voucher_id: bundle.voucher_id.clone(),
        root_id,
        tip: tip_report,
        vouchers,
        validator_changes: walk.into_changes(),
    })
}

/// Checks that `items` are strictly ascending (so also free of duplicates).
fn check_order<T: PartialOrd + Copy>(
    what: &'static str,
    items: impl Iterator<Item = T>,
    show: impl Fn(T) -> String,
) -> Result<(), VerifyError> {
    let mut previous: Option<T> = None;
    for item in items {
        if previous.is_some_and(|p| p >= item) {
            return Err(VerifyError::Order {
                what,
                at: show(item),
            });
        }
        previous = Some(item);
    }
    Ok(())
}

fn describe_config_difference(proven: &ConsensusConfig, walked: &ConsensusConfig) -> String {
    let ids = |c: &ConsensusConfig| -> Vec<String> {
        c.nodes.iter().map(|n| n.node_id.clone()).collect()
    };
    if proven.engine != walked.engine {
        return format!(
            "engine {:?} at the tip, {:?} in genesis",
            proven.engine, walked.engine
        );
    }
    if ids(proven) != ids(walked) {
        return format!(
            "nodes {:?} at the tip, {:?} by the walk",
            ids(proven),
            ids(walked)
        );
    }
    if proven.removed_node_ids != walked.removed_node_ids {
        return format!(
            "removed nodes {:?} at the tip, {:?} by the walk",
            proven.removed_node_ids, walked.removed_node_ids
        );
    }
    "a node's organisation or key differs".into()
}

/// Checks the voucher records form one lineage holding `asked`, and returns the vouchers in
/// trace order (depth first from the root, children in split order).
fn check_lineage(
    asked: &str,
    vouchers: &BTreeMap<String, Voucher>,
) -> Result<Vec<String>, VerifyError> {
    let inconsistent = |voucher_id: &str, why: String| VerifyError::LineageInconsistent {
        voucher_id: voucher_id.into(),
        why,
    };
    if !vouchers.contains_key(asked) {
        return Err(VerifyError::VoucherNotInLineage {
            voucher_id: asked.into(),
        });
    }
    let roots: Vec<&Voucher> = vouchers
        .values()
        .filter(|v| v.parent_id.is_empty())
        .collect();
    let root = match roots.as_slice() {
        [root] => *root,
        [] => {
            return Err(inconsistent(
                asked,
                "the lineage has no root (issued voucher)".into(),
            ))
        }
        [first, second, ..] => {
            return Err(inconsistent(
                &second.id,
                format!("a second root beside {}", first.id),
            ))
        }
    };
    if root.depth != 0 {
        return Err(inconsistent(
            &root.id,
            format!("the root has depth {}", root.depth),
        ));
    }
    let mut order = Vec::with_capacity(vouchers.len());
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(voucher) = stack.pop() {
        if !seen.insert(voucher.id.as_str()) {
            return Err(inconsistent(&voucher.id, "listed as a child twice".into()));
        }
        if voucher.root_id != root.id {
            return Err(inconsistent(
                &voucher.id,
                format!(
                    "names root {}, the lineage's root is {}",
                    voucher.root_id, root.id
                ),
            ));
        }
        order.push(voucher.id.clone());
        let mut sum: u64 = 0;
        for child_id in &voucher.children {
            let child = vouchers
                .get(child_id)
                .ok_or_else(|| VerifyError::RecordMissing {
                    key: printable(&keys::voucher(child_id)),
                })?;
            if child.parent_id != voucher.id {
                return Err(inconsistent(
                    child_id,
                    format!(
                        "is listed by {} but names parent {}",
                        voucher.id, child.parent_id
                    ),
                ));
            }
            if Some(child.depth) != voucher.depth.checked_add(1) {
                return Err(inconsistent(
                    child_id,
                    format!(
                        "depth {} under a parent of depth {}",
                        child.depth, voucher.depth
                    ),
                ));
            }
            if child.currency != voucher.currency {
                return Err(inconsistent(
                    child_id,
                    format!(
                        "currency {} under a parent in {}",
                        child.currency, voucher.currency
                    ),
                ));
            }
            sum = sum.checked_add(child.amount).ok_or_else(|| {
                inconsistent(&voucher.id, "its children's amounts overflow".into())
            })?;
        }
        if !voucher.children.is_empty() && sum != voucher.amount {
            return Err(inconsistent(
                &voucher.id,
                format!(
                    "amount {} split into children summing to {sum}",
                    voucher.amount
                ),
            ));
        }
        for child_id in voucher.children.iter().rev() {
            stack.push(&vouchers[child_id]);
        }
    }
    if let Some(stray) = vouchers.keys().find(|id| !seen.contains(id.as_str())) {
        return Err(inconsistent(
            stray,
            format!("not reachable from the root {} by split", root.id),
        ));
    }
    Ok(order)
}

/// Decodes and checks one event record of voucher `id` at `position`.
fn check_event(
    id: &str,
    position: EventPosition,
    record: &ProvenEntry,
    key: &str,
    tip_height: u64,
) -> Result<Event, VerifyError> {
    let bad = |why: String| VerifyError::EventInconsistent {
        key: key.into(),
        why,
    };
    let event =
        Event::decode(record.value.as_slice()).map_err(|e| bad(format!("not an Event: {e}")))?;
    if event.voucher_id != id {
        return Err(bad(format!("it names voucher {:?}", event.voucher_id)));
    }
    if event.height != position.height {
        return Err(bad(format!("it says height {}", event.height)));
    }
    if position.height == 0 || position.height > tip_height {
        return Err(bad(format!(
            "height {} is not a block up to the tip {tip_height}",
            position.height
        )));
    }
    match (position.tx_index == u32::MAX, event.tx_hash.is_empty()) {
        (true, true) => {
            if !event.actor.is_empty() {
                return Err(bad(format!(
                    "the chain acted, yet it names actor {}",
                    event.actor
                )));
            }
        }
        (false, false) => {
            if event.tx_hash.len() != 32 {
                return Err(bad(format!(
                    "a {}-byte transaction hash",
                    event.tx_hash.len()
                )));
            }
        }
        (true, false) => return Err(bad("a chain step's position names a transaction".into())),
        (false, true) => return Err(bad("a transaction's position names no transaction".into())),
    }
    Ok(event)
}

/// Checks one transaction: its hash is the one the events name, its body is of this chain and
/// signed by the events' actor, its signature verifies, and it is in its block's `tx_root`.
fn check_transaction(
    transaction: &ProvenTransaction,
    naming: &[(&Event, &str)],
    chain_id: &str,
    headers: &Headers<'_>,
    bindings: &BTreeMap<Vec<u8>, String>,
) -> Result<(), VerifyError> {
    let (height, index) = (transaction.height, transaction.index);
    let mismatch = |why: String| VerifyError::TransactionMismatch { height, index, why };
    let signed = transaction
        .transaction
        .as_ref()
        .ok_or_else(|| missing(format!("transaction {height}/{index}.transaction")))?;
    let hash = tx_hash(&signed.body);
    for (event, key) in naming {
        if event.tx_hash != hash {
            return Err(mismatch(format!(
                "it hashes to {}, event {key} names {}",
                hex::encode(hash),
                hex::encode(&event.tx_hash)
            )));
        }
    }
    let body = TransactionBody::decode(signed.body.as_slice())
        .map_err(|e| mismatch(format!("its body does not decode: {e}")))?;
    if body.chain_id != chain_id {
        return Err(VerifyError::ChainId {
            what: format!("transaction {height}/{index}"),
            got: body.chain_id,
            genesis: chain_id.into(),
        });
    }
    for (event, key) in naming {
        if event.actor != body.signer {
            return Err(mismatch(format!(
                "signed by {}, event {key} names actor {}",
                body.signer, event.actor
            )));
        }
    }
    // The block's tx_root binds the body only; the key is tied to the signer by its binding
    // (never removed), so a signature by any other key cannot stand in for the signer's.
    match bindings.get(&signed.public_key) {
        None => {
            return Err(VerifyError::RecordMissing {
                key: printable(&keys::key_binding(&signed.public_key)),
            })
        }
        Some(account) if *account != body.signer => {
            return Err(mismatch(format!(
                "its key is bound to account {account}, its body names signer {}",
                body.signer
            )))
        }
        Some(_) => {}
    }
    if !signature::verify(&signed.public_key, &signed.body, &signed.signature) {
        return Err(VerifyError::SignatureInvalid {
            height,
            index,
            tx_hash: hex::encode(hash),
        });
    }
    let header = headers.at(height, || format!("transaction {height}/{index}"))?;
    let root = hash32(&header.tx_root).unwrap_or_default();
    verify_inclusion(
        &hash,
        u64::from(index),
        u64::from(header.tx_count),
        &transaction.path,
        &root,
    )
    .map_err(|source| VerifyError::InclusionInvalid {
        what: "transaction",
        root: "tx_root",
        height,
        index,
        source,
    })
}
